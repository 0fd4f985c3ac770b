"""Results files that amplify through their claims or their format (helper hostile8b): the
amplification bound counted format 2's findings only, so a claim naming one finding over
and over (the HTML report writes each named finding out again under its claim), a claim's
index into a finding of a huge resource id (an id string made per reference), and format 1
files (never measured at all) got past it."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from scanner import result
from scanner.reports import html
from tests.helpers import ROOT, SEED002, as_format_1, run


def _scan(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "scan.json"
    assert run("scan", str(SEED002), "--format", f"json:{out}").exit_code == 1
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def _claim_naming_one_finding_200_times(tmp_path: Path) -> dict[str, Any]:
    """One finding with 20 kB of evidence (the others' untouched), named 200 times by one
    claim: 21 kB more on disk, 4 MB more of HTML."""
    doc = _scan(tmp_path)
    doc["evidence"].append({"blob": "A" * 20_000})
    doc["findings"][0][4] = len(doc["evidence"]) - 1
    doc["claims"][0]["findings"] = [0] * 200
    return doc


def test_the_html_report_rows_under_claims_count_in_the_amplification_bound(
        tmp_path: Path) -> None:
    # before: spelled out to ~0.3 MB (the finding once), under the 2 MiB limit, and the
    # HTML report wrote that finding's evidence 200 times (4 MB)
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(_claim_naming_one_finding_200_times(tmp_path)))
    out = tmp_path / "report.html"
    got = run("report", str(path), "--format", f"html:{out}",
              env={"POSTURE_MAX_RESULTS_BYTES": str(2 * 1024**2)})
    assert got.exit_code == 2, got.stderr
    line = got.stderr.strip()
    assert "\n" not in line and "refused as an amplification" in line, line
    assert not out.exists()


def test_format_1_results_are_held_to_the_amplification_bound(tmp_path: Path) -> None:
    # format 1 was never measured: the same claim (ids instead of indices), and evidence
    # 900 levels deep (6 kB compact, 1.6 MB indented: 85 findings made an 82 MB HTML
    # report in format 2 before the bound, and still did in format 1)
    flat = as_format_1(_claim_naming_one_finding_200_times(tmp_path))
    assert flat["version"] == 1 and len(set(flat["claims"][0]["findings"])) == 1
    path = tmp_path / "flat-claims.json"
    path.write_text(json.dumps(flat))
    out = tmp_path / "report.html"
    got = run("report", str(path), "--format", f"html:{out}",
              env={"POSTURE_MAX_RESULTS_BYTES": str(2 * 1024**2)})
    assert got.exit_code == 2 and "refused as an amplification" in got.stderr, got.stderr
    deep: object = "x"
    for _ in range(900):
        deep = {"k": deep}
    flat = as_format_1(_scan(tmp_path))
    for f in flat["findings"]:
        f["evidence"] = {**f["evidence"], "deep": deep}
    path = tmp_path / "flat-deep.json"
    path.write_text(json.dumps(flat))
    got = run("report", str(path), "--format", f"html:{out}")
    assert got.exit_code == 2 and "refused as an amplification" in got.stderr, got.stderr
    assert not out.exists()
    # a format 1 file as posture wrote it still reads
    path.write_text(json.dumps(as_format_1(_scan(tmp_path))))
    assert run("report", str(path), "--format", f"html:{out}").exit_code == 0


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024**2, 1536 * 1024**2))


def test_claims_indexing_a_finding_of_a_huge_resource_id_do_not_copy_it_per_reference(
        tmp_path: Path) -> None:
    """A 1 MB resource id, its finding named 3,000 times by index (6 kB): each index became
    its own 1 MB id string, 3 GB of memory before any check (a MemoryError under 1.5 GB).
    Now one string, and the claim's 200 HTML rows of it are 200 MB: refused, one line."""
    doc = _scan(tmp_path)
    doc["resources"][doc["findings"][0][0]][0] = "R" * 1_000_000
    doc["claims"][0]["findings"] = [0] * 3000
    path = tmp_path / "huge-id.json"
    path.write_text(json.dumps(doc))
    got = subprocess.run(
        [sys.executable, "-m", "scanner.cli", "report", str(path), "--format",
         f"csv:{tmp_path / 'out.csv'}"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=120, check=False, preexec_fn=_limit_memory)
    assert got.returncode == 2, got.stderr
    line = got.stderr.strip()
    assert "\n" not in line and "refused as an amplification" in line, line


def test_the_bound_counts_as_many_claim_rows_as_the_html_report_writes() -> None:
    assert result.CLAIM_ROWS == html.MAX_FINDINGS
