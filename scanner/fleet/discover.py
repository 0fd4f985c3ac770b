"""Discovery: a fleet file -> its units, one per account, subscription or project."""

from __future__ import annotations

from typing import Any

from scanner.errors import PostureError
from scanner.fleet import discover_aws, discover_azure, discover_hetzner
from scanner.fleet.spec import FleetFile
from scanner.fleet.units import Unit

PERMISSIONS: dict[str, dict[str, list[str]]] = {
    "aws": discover_aws.PERMISSIONS,
    "azure": discover_azure.PERMISSIONS,
    "hetzner": discover_hetzner.PERMISSIONS,
}


def units(fleet: FleetFile) -> list[Unit]:
    """Every unit of the fleet, each account once (two sources naming the same account are
    one unit: the first source's)."""
    found: list[Unit] = []
    for aws in fleet.aws:
        found.extend(discover_aws.discover(aws))
    for azure in fleet.azure:
        found.extend(discover_azure.discover(azure))
    for hetzner in fleet.hetzner:
        found.extend(discover_hetzner.discover(hetzner))
    seen: dict[str, Unit] = {}
    for unit in found:
        seen.setdefault(unit.key, unit)
    if not seen:
        raise PostureError("fleet: discovery found no account to scan")
    return list(seen.values())


def permissions(provider: str) -> dict[str, Any]:
    if provider not in PERMISSIONS:
        raise PostureError(f"fleet discovery: unknown provider {provider!r} "
                           f"(known: {', '.join(PERMISSIONS)})")
    return {"provider": provider, "discovery": PERMISSIONS[provider]}
