"""Recovery Services: vaults, protected VMs and their policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.azure.normalize.common import REDUNDANCY, VAULT_DOC, _loc, _obj, _pair, _props, lid
from providers.azure.normalize.context import Build
from scanner.model import Kind, Unread

ITEMS = "Microsoft.RecoveryServices/vaults/backupProtectedItems"
POLICIES = "Microsoft.RecoveryServices/vaults/backupPolicies"
# Protected item states in which no scheduled backup runs (ProtectedItemState, a
# case-insensitive enum): "ProtectionStopped: protection was disabled", "BackupsSuspended:
# stop backup with retain data as per policy", and ProtectionPaused
# (https://learn.microsoft.com/dotnet/api/microsoft.azure.commands.recoveryservices.backup.
# cmdlets.models.itemprotectionstate; the REST enum in azure-rest-api-specs
# recoveryservicesbackup bms.json: Invalid, IRPending, Protected, ProtectionError,
# ProtectionStopped, ProtectionPaused, BackupsSuspended). Their recovery points remain,
# but the VM is no longer backed up daily.
NOT_BACKING_UP = frozenset({"protectionstopped", "protectionpaused", "backupssuspended"})
BACKUP_PROPS = ("backup_enabled", "backup_frequency_hours", "backup_retention_days",
                "backup_redundancy", "replica_regions")


def mark_backup_reads(b: Build, vm_id: str, protected: bool) -> None:
    """A vault whose protected items could not be read may protect this VM: an unprotected
    VM's `backup_enabled` false could be wrong (a fail is unsafe; a protected one stands).
    A protecting vault whose policies could not be read leaves its schedule unknown."""
    # a Recovery Services vault protects VMs of its own region only
    errors = b.errors_in(ITEMS, _loc(b.objects.get(vm_id) or {}))
    if not protected and errors:
        vaults = sorted({lid(e.get("resource")) or f"in {e.get('region')}" for e in errors})
        b.mark(vm_id, BACKUP_PROPS, Unread(
            f"protected items of vault(s) {', '.join(vaults)} could not be read", "unknown",
            opens=False, closes=True))
    vault = b.protected_vault.get(vm_id)
    if protected and vault and (unread := b.unread(POLICIES, vault, "its backup policy")):
        b.mark(vm_id, ("backup_frequency_hours", "backup_retention_days"), unread)


def protected_vms(b: Build) -> dict[str, tuple[int | None, int | None]] | None:
    """VM id -> (frequency hours, retention days) of its Azure Backup protection; None
    when protected items were not collected."""
    b.protected_vault = {}
    name = "Microsoft.RecoveryServices/vaults/backupProtectedItems"
    if not b.collected(name):
        return None
    policies = b.by_id["Microsoft.RecoveryServices/vaults/backupPolicies"]
    out: dict[str, tuple[int | None, int | None]] = {}
    for item in b.items(name):
        p = _props(item)
        source = lid(p.get("sourceResourceId") or p.get("virtualMachineId"))
        if not source or lid(p.get("protectionState")) in NOT_BACKING_UP:
            continue
        policy = policies.get(lid(p.get("policyId")))
        out[source] = _policy_schedule(policy)
        b.protected_vault[source] = lid(item.get("id")).split("/backupfabrics/")[0]
    return out


def vault_redundancy(b: Build, vault_id: str) -> tuple[str | None, list[str]]:
    vault = b.get("Microsoft.RecoveryServices/vaults", vault_id)
    if vault is None:
        return None, []
    return _vault_redundancy(vault)


def backup_vaults(b: Build) -> None:
    for vault in b.items("Microsoft.RecoveryServices/vaults"):
        red, replicas = _vault_redundancy(vault)
        b.add(Kind.BACKUP_VAULT, vault, {
            "encrypted": True,
            "encryption_evidence": "provider",
            "encryption_reference": VAULT_DOC,
            "backup_redundancy": red,
            "replica_regions": replicas,
        })


def _vault_redundancy(vault: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    p = _props(vault)
    settings = p.get("redundancySettings")
    if settings is None:
        settings = {}
    # another type than the API documents is refused, never read as unset (which passes)
    if not isinstance(settings, Mapping):
        raise TypeError(f"redundancySettings: expected an object, got {type(settings).__name__}")
    setting = settings.get("standardTierStorageRedundancy")
    if setting is not None and not isinstance(setting, str):
        raise TypeError("redundancySettings.standardTierStorageRedundancy: expected a string, "
                        f"got {type(setting).__name__}")
    red = REDUNDANCY.get(lid(setting)) if setting else None
    replicas = [pr] if red == "geo" and (pr := _pair(_loc(vault))) else []
    return red, replicas


def _policy_schedule(policy: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    if policy is None:
        return None, None
    p = _props(policy)
    schedule = _obj(p.get("schedulePolicy"), "schedulePolicy")
    freq = lid(schedule.get("scheduleRunFrequency"))
    hours = {"daily": 24, "weekly": 168}.get(freq)
    if freq == "hourly":
        hours = int(_obj(schedule.get("hourlySchedule"), "hourlySchedule").get("interval") or 24)
    daily = _obj(_obj(p.get("retentionPolicy"), "retentionPolicy").get("dailySchedule"),
                 "dailySchedule")
    duration = _obj(daily.get("retentionDuration"), "retentionDuration")
    days = int(duration["count"]) if lid(duration.get("durationType")) == "days" and \
        duration.get("count") is not None else None
    return hours, days
