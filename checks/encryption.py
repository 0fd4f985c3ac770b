"""Encryption at rest and keys: ENC-01, ENC-02, ENC-03."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.check import CheckContext, check
from scanner.findings import EvidenceLevel, Finding
from scanner.model import Kind, Resource

REFS_AT_REST = {"GDPR": ("Art. 32(1)(a)",), "ISO27001": ("A.8.24",), "C5": ("KRY-03",)}


# an evidence level by its name: a dict lookup, not the enum's call (0.3 us), once per
# resource judged
_LEVELS = {level.value: level for level in EvidenceLevel}


def encryption_verdict(ctx: CheckContext, r: Resource) -> Finding:
    """One resource's `encrypted` fact, or the operator's attestation, as a finding."""
    attestation = ctx.params.attestation()
    encrypted = r.prop("encrypted")
    said = r.prop("encryption_evidence", "config")
    level = _LEVELS.get(said) if type(said) is str else None
    if level is None:  # anything else as the enum reads it (its error for a bad value)
        level = EvidenceLevel(said)
    evidence = {"encrypted": encrypted, "basis": str(level)}
    if r.prop("encryption_reference"):
        evidence["reference"] = r.prop("encryption_reference")
    if encrypted:
        return ctx.passed(r, "encrypted at rest", evidence, level)
    if attestation and r.labels.get(attestation[0]) == attestation[1]:
        evidence["label"] = f"{attestation[0]}={attestation[1]}"
        return ctx.passed(r, f"the operator attests encryption ({evidence['label']})",
                          evidence, EvidenceLevel.ATTESTED)
    if level is EvidenceLevel.NONE:
        return ctx.skip(r, "no API of the provider shows whether it is encrypted"
                        + (f"; label it {attestation[0]}={attestation[1]} to attest it"
                           if attestation else ""), evidence, EvidenceLevel.NONE)
    if encrypted is None:
        return ctx.error(r, "the API does not say whether it is encrypted", "unknown", evidence)
    hint = f" and carries no {attestation[0]}={attestation[1]} label" if attestation else ""
    return ctx.fail(r, f"not encrypted at rest{hint}", evidence, level)


@check(
    id="ENC-01",
    reads=("encrypted", "encryption_evidence", "encryption_reference"),
    title="Persistent storage is encrypted at rest",
    severity="high",
    kinds={Kind.VOLUME, Kind.DATABASE, Kind.BUCKET, Kind.COMPUTE},
    rationale="Unencrypted disks leak data through snapshots, decommissioned hardware and "
              "mis-attached volumes.",
    remediation="Enable provider encryption (EBS/RDS/S3 encryption, Azure SSE); on Hetzner, "
                "encrypt inside the server (LUKS) and label the resource with the profile's "
                "attestation label.",
    references=REFS_AT_REST,
    evidence={"hetzner": "volumes and server disks are not encrypted by Hetzner: fail unless "
                         "the profile's attestation label is set (evidence: attested)",
              "aws": "EBS Encrypted, RDS StorageEncrypted, S3 default encryption",
              "azure": "managed disks (provider: always AES-256), storage accounts, SQL TDE"},
    parameters=("encryption_attestation_label",),
)
def storage_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    for r in ctx.graph.of_kind(Kind.VOLUME, Kind.DATABASE, Kind.BUCKET, Kind.COMPUTE):
        if r.has_prop("encrypted"):
            yield encryption_verdict(ctx, r)


@check(
    id="ENC-02",
    reads=("encrypted", "encryption_evidence", "encryption_reference"),
    title="Backups and snapshots are encrypted",
    severity="high",
    kinds={Kind.SNAPSHOT, Kind.BACKUP_VAULT},
    rationale="A backup is a full copy of the data: unencrypted, it is the easiest copy to "
              "steal.",
    remediation="Encrypt snapshots and backup vaults (EBS/RDS snapshot encryption follows the "
                "source; AWS Backup vault KMS key; Recovery Services vault encryption).",
    references={**REFS_AT_REST, "ISO27001": ("A.8.24", "A.8.13")},
    evidence={"hetzner": "snapshots and backups: not shown by the API (none) unless attested",
              "aws": "EBS and RDS snapshots Encrypted, AWS Backup vaults",
              "azure": "Recovery Services vaults"},
    parameters=("encryption_attestation_label",),
)
def backups_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    for r in ctx.graph.of_kind(Kind.SNAPSHOT, Kind.BACKUP_VAULT):
        if r.has_prop("encrypted"):
            yield encryption_verdict(ctx, r)


@check(
    id="ENC-03",
    reads=("customer_managed", "rotation_enabled", "soft_delete", "purge_protection"),
    title="Customer-managed keys are rotated; key stores are protected from purge",
    severity="medium",
    kinds={Kind.KEY, Kind.KEY_STORE},
    rationale="Unrotated keys widen what one leaked key decrypts; a purged key store makes "
              "every dependent encrypted copy unreadable.",
    remediation="Enable automatic rotation (KMS EnableKeyRotation, Key Vault rotation policy); "
                "turn on soft delete and purge protection on key vaults.",
    references={"GDPR": ("Art. 32(1)(a)",), "ISO27001": ("A.8.24",),
                "C5": ("KRY-01", "KRY-04")},
    evidence={"aws": "KMS KeyRotationEnabled of customer-managed keys",
              "azure": "Key Vault enableSoftDelete, enablePurgeProtection; key rotation policy"},
)
def keys_rotated(ctx: CheckContext) -> Iterator[Finding]:
    for key in ctx.graph.of_kind(Kind.KEY):
        if not key.prop("customer_managed"):
            continue
        rotation = key.prop("rotation_enabled")
        evidence = {"rotation_enabled": rotation}
        if rotation is None:
            yield ctx.error(key, "whether the key rotates is not known", "unknown", evidence)
        elif rotation:
            yield ctx.passed(key, "rotated automatically", evidence)
        else:
            yield ctx.fail(key, "customer-managed key without automatic rotation", evidence)
    for store in ctx.graph.of_kind(Kind.KEY_STORE):
        soft, purge = store.prop("soft_delete"), store.prop("purge_protection")
        evidence = {"soft_delete": soft, "purge_protection": purge}
        if soft is False or purge is False:
            missing = [n for n, v in (("soft delete", soft), ("purge protection", purge))
                       if v is False]
            yield ctx.fail(store, f"no {' and no '.join(missing)}", evidence)
        elif soft is None or purge is None:
            yield ctx.error(store, "soft delete / purge protection not known", "unknown",
                            evidence)
        else:
            yield ctx.passed(store, "soft delete and purge protection on", evidence)
