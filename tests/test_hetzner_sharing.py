"""The Hetzner normalizer makes one object per distinct value a large estate repeats (label
sets, the ids relations name, regions), so a 1M-resource scan fits its memory budget
(bench/README.md, "Session 9"); sharing is invisible because resources are values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scanner import engine, snapshot
from scanner.profile import load as load_profile
from scanner.registry import load_providers
from tests.helpers import ROOT


def test_equal_labels_regions_and_relation_ids_are_one_object_each(tmp_path: Path) -> None:
    out = tmp_path / "estate.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_hetzner_snapshot.py"), "2000",
                    str(out), "--seed", "3"], check=True, capture_output=True, timeout=300)
    providers = load_providers()
    snap = snapshot.load(out, fields=engine._raw_fields(providers))
    (inv,) = engine.normalize(snap.sections, providers, load_profile("default"),
                              keep_raw=False)
    servers = [r for r in inv.resources if r.native_type == "server"]
    labels = {tuple(r.labels.items()) for r in servers}
    assert len({id(r.labels) for r in servers}) == len(labels) < len(servers) / 2
    regions = {r.region for r in inv.resources if r.region}
    assert len({id(r.region) for r in inv.resources if r.region}) == len(regions)
    server_ids = {r.id: r.id for r in servers}
    named = [rel for rel in inv.relations if rel.source in server_ids]
    assert named and all(rel.source is server_ids[rel.source] for rel in named)
    targets = [rel.target for rel in inv.relations if rel.target in server_ids]
    assert targets and all(t is server_ids[t] for t in targets)
    assert all(r.unknown == {} for r in servers if not r.unknown)
