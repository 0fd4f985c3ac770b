"""Releasing raw API objects after normalization changes no verdict.

Unless a selected check declares `uses_raw`, the engine empties every raw object in place
once it is normalized (`engine._release_raw`): the parsed snapshot is most of a large
scan's memory. That is only safe while no resource *property* is a top-level raw object
(emptying it would empty the property too). These tests hold every normalizer to that, on
every bundled estate, and compare whole scans with raw objects kept and released.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner import engine, snapshot
from scanner.profile import load as load_profile
from scanner.registry import load_checks, load_providers
from tests.helpers import ROOT

SNAPSHOTS = sorted(p for p in (ROOT / "fixtures").rglob("*.json")
                   if p.read_bytes()[:4096].count(b'"posture-snapshot"'))


def test_every_bundled_snapshot_is_covered() -> None:
    names = {p.name for p in SNAPSHOTS}
    assert {"seed002-hetzner.json", "seed002-aws.json", "seed000-azure.json",
            "seed001-azure.json", "seed003-aws.json", "seed004-azure.json",
            "seed004-hetzner.json"} <= names


def _values(value: Any, depth: int = 0) -> Iterator[Any]:
    yield value
    if depth < 8:
        if isinstance(value, dict):
            for item in value.values():
                yield from _values(item, depth + 1)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from _values(item, depth + 1)


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_no_resource_property_is_a_raw_object_the_engine_would_empty(path: Path) -> None:
    snap = snapshot.load(path)
    providers = load_providers()
    profile = load_profile("default")
    raw_ids = {id(obj) for s in snap.sections for name, regions in s.collections.items()
               if name != engine.NOT_ASSESSED for objs in regions.values() for obj in objs}
    inventories = engine.normalize(snap.sections, providers, profile, keep_raw=True)
    resources = [r for inv in inventories for r in inv.resources]
    assert resources
    shared = [(r.id, key) for r in resources for key, value in r.properties.items()
              if any(id(v) in raw_ids for v in _values(value)
                     if isinstance(v, dict))]
    assert shared == []


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_a_scan_gives_the_same_findings_with_raw_objects_kept_and_released(
        path: Path) -> None:
    providers = load_providers()
    profile = load_profile("default")
    checks = engine.select_checks(load_checks([]), profile, None)
    results = []
    for keep in (True, False):
        snap = snapshot.load(path)
        inventories = engine.normalize(snap.sections, providers, profile, keep_raw=keep)
        graph = engine.build_graph(inventories)
        findings = engine.run_checks(checks, graph, profile, engine.as_of(snap.sections))
        results.append(sorted((f.id, str(f.status), f.message, repr(f.evidence))
                              for f in findings))
    kept, released = results
    assert kept and released == kept
