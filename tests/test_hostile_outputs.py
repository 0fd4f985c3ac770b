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


def _amplifying_results(tmp_path: Path) -> Path:
    """A results file (format 2) of a real scan whose 5,000 findings all name one evidence
    object of 200 kB: 360 kB on disk, a gigabyte in every report that spells findings out."""
    out = tmp_path / "scan.json"
    assert run("scan", str(SEED002), "--format", f"json:{out}").exit_code == 1
    doc = json.loads(out.read_text())
    doc["evidence"] = [{"blob": "A" * 200_000}]
    n_res, n_chk = len(doc["resources"]), len(doc["check_fields"])
    doc["findings"] = [[i % n_res, i % n_chk, "fail", 0, 0, None] for i in range(5000)]
    for claim in doc["claims"]:
        claim["findings"] = []
    path = tmp_path / "amplifying.json"
    path.write_text(json.dumps(doc))
    return path


def test_results_whose_findings_share_one_huge_evidence_object_are_refused(
        tmp_path: Path) -> None:
    # before: `report --format csv` wrote 1 GB (2 GB of memory; junit 4 GB) from this file
    path = _amplifying_results(tmp_path)
    for fmt in ("csv", "sarif", "junit", "ocsf", "jsonl", "markdown"):
        out = tmp_path / f"out.{fmt}"
        result = run("report", str(path), "--format", f"{fmt}:{out}")
        assert result.exit_code == 2, (fmt, result.stderr)
        line = result.stderr.strip()
        assert "\n" not in line and "refused as an amplification" in line, line
        assert "spell out to" in line and "POSTURE_MAX_RESULTS_BYTES" in line
        assert not out.exists()
    diffed = run("diff", str(path), str(path))
    assert diffed.exit_code == 2 and "amplification" in diffed.stderr


def test_the_amplification_bound_follows_an_explicit_results_limit(tmp_path: Path) -> None:
    path = _amplifying_results(tmp_path)
    out = tmp_path / "out.csv"
    small = run("report", str(path), "--format", f"csv:{out}",
                env={"POSTURE_MAX_RESULTS_BYTES": str(2 * 1024**2)})
    assert small.exit_code == 2 and "limit of 2097152 bytes" in small.stderr
    # a results file as `scan` writes it is well within the bound: rendered as before
    scanned = tmp_path / "scan.json"
    assert run("report", str(scanned), "--format", f"csv:{out}").exit_code == 0
    assert out.read_text().startswith("finding_id,check,")
