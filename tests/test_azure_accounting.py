"""Every object the Azure collector read becomes a resource, is folded into one, or is
named in a NOT-ASSESSED skip finding that says why: nothing read vanishes in silence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers.azure import PROVIDER
from providers.azure.normalize import FOLDED, NOT_ASSESSED
from scanner import snapshot
from scanner.engine import not_assessed
from scanner.snapshot import Section
from tests.azure_shapes import estate, nic
from tests.helpers import ROOT

ESTATES = [ROOT / "fixtures" / "azure" / "seed000-azure.json",
           ROOT / "fixtures" / "azure" / "seed001-azure.json",
           ROOT / "fixtures" / "generic" / "seed004" / "seed004-azure.json"]


def unaccounted(sections: list[Section]) -> tuple[int, list[tuple[str, str]]]:
    """(objects read, those neither a resource, part of one, referenced by one, folded
    wholesale nor named in a skip finding)."""
    missing: list[tuple[str, str]] = []
    count = 0
    for section in sections:
        if section.provider != "azure":
            continue
        inv = PROVIDER.normalize(section)
        ids = {r.id for r in inv.resources}
        raws = "\n".join(json.dumps(r.raw).lower() for r in inv.resources)
        named = {i for f in not_assessed([section]) for i in f.evidence.get("ids") or []}
        for name, regions in section.collections.items():
            if name == NOT_ASSESSED:
                continue
            for obj in (o for objs in regions.values() for o in objs):
                count += 1
                oid = str(obj.get("id") or "").lower()
                if name in FOLDED or oid in ids or oid in named:
                    continue
                if any(r == a or r.startswith(a + "/") for a in _ancestors(oid) for r in ids):
                    continue  # part of a resource or of the parent of resources
                if f'"{oid}"' in raws:
                    continue  # referenced by a resource (a VM's NIC, a gateway's policy)
                missing.append((name, oid))
    return count, missing


def _ancestors(oid: str) -> list[str]:
    """An ARM id and its parent resources' ids (a firewall rule's server), never a
    resource group or namespace."""
    head, sep, rest = oid.partition("/providers/")
    if not sep:
        return [oid]
    segments = rest.split("/")  # namespace, type, name, child type, child name, ...
    return [f"{head}/providers/{'/'.join(segments[:k])}" for k in range(3, len(segments) + 1, 2)]


@pytest.mark.parametrize("path", ESTATES, ids=lambda p: p.name)
def test_every_object_read_is_a_resource_part_of_one_or_a_named_skip(path: Path) -> None:
    count, missing = unaccounted(snapshot.load(path).sections)
    assert count > 20
    assert missing == []


def test_microsofts_example_shapes_are_all_accounted_for() -> None:
    """Accounts without deployments, a SQL server without databases, a NIC of no VM (the
    application gateway example's unused WAF policy...): each a resource or a named skip."""
    sections = []
    for sub, collections in estate().items():
        section = Section(provider="azure", account=sub, collected_at="2026-12-06T00:00:00Z")
        for name, objs in collections.items():
            section.add(name, "global", objs)
        sections.append(section)
    orphan = nic("nic-orphan", private="172.20.2.99")
    sections[0].collections["Microsoft.Network/networkInterfaces"]["global"].append(orphan)
    count, missing = unaccounted(sections)
    assert count > 20
    assert missing == []
    skipped = not_assessed(sections)
    assert [(f.evidence["type"], f.evidence["ids"]) for f in skipped] == [
        ("Microsoft.Network/networkInterfaces", [orphan["id"].lower()])]
