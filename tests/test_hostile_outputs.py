"""Outputs that hostile input must not abuse (helper hostile8): a `graph -o` over the
snapshot it reads, a small results file whose findings all name one large evidence object
(rendered a thousand times over), and control characters a terminal acts on left raw in
the JUnit and JSON Lines reports."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.helpers import SEED002, run


def test_graph_output_over_its_own_snapshot_is_refused(tmp_path: Path) -> None:
    snap = tmp_path / "estate.json"
    shutil.copy(SEED002, snap)
    before = snap.read_bytes()
    result = run("graph", str(snap), "-o", str(snap))
    assert result.exit_code == 2, result.output
    assert "same file" in result.stderr and "Traceback" not in result.stderr
    assert snap.read_bytes() == before  # the evidence is still there


def test_graph_output_replaces_a_planted_symlink_instead_of_writing_through_it(
        tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "graph.json"
    os.symlink(victim, out)
    result = run("graph", str(SEED002), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert victim.read_text() == "keep me"
    assert not out.is_symlink()
    assert json.loads(out.read_text())["format"] == "posture-graph"
