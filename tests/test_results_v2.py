"""Results format 2 (issue 15 item 14): findings share what they share, `report` reads what
`scan` writes (format 2, and format 1 of older files and history stores), every other format
rendered from saved results is byte for byte the scan's own, hostile files are one line."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scanner import fastjson
from scanner.reports import NAMES
from scanner.result import ScanResult
from tests.helpers import ROOT, SEED002, claims_of, findings_of, run

ESTATES = [
    "fixtures/hetzner/seed002-hetzner.json",
    "fixtures/aws/seed002-aws.json",
    "fixtures/azure/seed000-azure.json",
    "fixtures/azure/seed001-azure.json",
    "fixtures/generic/seed003/seed003-aws.json",
    "fixtures/generic/seed004/seed004-azure.json",
    "fixtures/generic/seed004/seed004-hetzner.json",
    "fixtures/terraform/hcloud-gate.plan.json",
    "fixtures/terraform/hcloud-seed002.plan.json",
    "fixtures/terraform/aws-modules.plan.json",
    "fixtures/terraform/azure.plan.json",
]


def _pdf_available() -> bool:
    try:
        import weasyprint  # noqa: F401
    except Exception:  # missing, or its native libraries are
        return False
    return True


FORMATS = [n for n in NAMES if n != "pdf"]  # pdf: the HTML printed (one estate, below)


def v1_bytes(doc: dict[str, Any]) -> bytes:
    """Format 1 as posture wrote it before format 2: the flat document, indented by two."""
    return fastjson.dumps_indented(ScanResult.from_json(doc).to_json(
        timestamps="started_at" in doc))


@pytest.mark.parametrize("estate", ESTATES)
def test_every_format_from_saved_results_is_byte_identical_to_the_scan(
        tmp_path: Path, estate: str) -> None:
    """One scan writes every format and the results; `report` of the results (format 2),
    and of the same results in format 1, writes every format again: the same bytes."""
    extra = ["--profile", "seed-002"] if estate.endswith("seed002-hetzner.json") else []
    scanned = tmp_path / "scan"
    scanned.mkdir()
    specs = [a for n in FORMATS for a in ("--format", f"{n}:{scanned / n}")]
    done = run("scan", str(ROOT / estate), *extra, *specs)
    assert done.exit_code in (0, 1, 3), done.stderr
    results = scanned / "json"
    doc = json.loads(results.read_bytes())
    assert doc["version"] == 2 and isinstance(doc["findings"][0], list)
    old = tmp_path / "v1.json"
    old.write_bytes(v1_bytes(doc))
    for saved in (results, old):
        again = tmp_path / f"again-{saved.name}"
        again.mkdir()
        specs = [a for n in FORMATS for a in ("--format", f"{n}:{again / n}")]
        shown = run("report", str(saved), *specs)
        assert shown.exit_code == 0, shown.stderr
        for name in FORMATS:
            assert (again / name).read_bytes() == (scanned / name).read_bytes(), \
                (estate, saved.name, name)


@pytest.mark.skipif(not _pdf_available(), reason="WeasyPrint or its libraries missing")
def test_the_pdf_from_saved_results_is_byte_identical_to_the_scan(tmp_path: Path) -> None:
    done = run("scan", str(SEED002), "--profile", "seed-002", "--format",
               f"pdf:{tmp_path / 'a.pdf'}", "--format", f"json:{tmp_path / 'r.json'}")
    assert done.exit_code == 1, done.stderr
    shown = run("report", str(tmp_path / "r.json"), "--format", f"pdf:{tmp_path / 'b.pdf'}")
    assert shown.exit_code == 0, shown.stderr
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_format_1_of_the_same_results_has_the_same_findings(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run("scan", str(SEED002), "--format", "json", "-o", str(out))
    doc = json.loads(out.read_bytes())
    flat = json.loads(v1_bytes(doc))
    assert flat["version"] == 1 and findings_of(doc) == flat["findings"]
    assert claims_of(doc) == flat["claims"]
    assert isinstance(doc["claims"][0]["findings"][0], int)  # an index into the findings
    # every other member is format 1's, unchanged
    tables = {"check_fields", "evidence", "findings", "resources", "texts", "version",
              "claims"}
    assert {k: v for k, v in doc.items() if k not in tables} == \
        {k: v for k, v in flat.items() if k not in tables}


def test_each_table_entry_is_one_line_and_shared_entries_are_written_once(
        tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run("scan", str(SEED002), "--format", "json", "-o", str(out))
    text = out.read_text()
    doc = json.loads(text)
    for name in ("check_fields", "evidence", "findings", "resources", "texts"):
        for entry in doc[name]:
            line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False,
                              sort_keys=True)
            assert f"\n{line},\n" in text or f"\n{line}\n" in text, (name, line)
    for name in ("check_fields", "evidence", "resources", "texts"):
        encoded = [json.dumps(e, sort_keys=True) for e in doc[name]]
        assert len(encoded) == len(set(encoded)), name
    flat = findings_of(doc)
    assert len(doc["resources"]) < len(flat)  # a resource judged by several checks: one row
    assert len(doc["evidence"]) < len(flat)


def test_the_history_store_keeps_format_2_and_still_reads_format_1_scans(
        tmp_path: Path) -> None:
    store = tmp_path / "h.db"
    first = run("scan", str(SEED002), "--store", str(store), "--format", "json")
    assert first.exit_code == 1, first.stderr
    with sqlite3.connect(store) as db:
        (blob,) = db.execute("select result from posture_scans").fetchone()
        assert json.loads(blob)["version"] == 2
        # a store written by an earlier posture holds format 1
        db.execute("update posture_scans set result = ?",
                   (json.dumps(json.loads(v1_bytes(json.loads(blob)))),))
    again = run("scan", str(SEED002), "--store", str(store), "--since", "last",
                "--format", "json", "--no-timestamps")
    assert again.exit_code == 1, again.stderr
    changes = json.loads(again.stdout)["changes"]
    assert changes["counts"] == {"changed": 0, "new": 0, "resolved": 0, "unchanged":
                                 len(findings_of(json.loads(first.stdout)))}


def test_jsonl_is_one_flat_finding_a_line(tmp_path: Path) -> None:
    done = run("scan", str(SEED002), "--format", "jsonl", "--format", f"json:{tmp_path / 'r'}")
    lines = done.stdout.splitlines()
    assert [json.loads(line) for line in lines] == \
        findings_of(json.loads((tmp_path / "r").read_bytes()))
    assert all(line.startswith('{"account":') for line in lines)


# ------------------------------------------------------------------ size, proportionate

def test_results_are_a_fraction_of_format_1_on_a_generated_estate(tmp_path: Path) -> None:
    snap = tmp_path / "estate.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_hetzner_snapshot.py"), "3000",
                    str(snap)], check=True, capture_output=True)
    out = tmp_path / "r.json"
    run("scan", str(snap), "--format", "json", "-o", str(out), "--no-timestamps")
    doc = json.loads(out.read_bytes())
    n = len(doc["findings"])
    v2, v1 = out.stat().st_size, len(v1_bytes(doc))
    assert n > 3000
    assert v2 < 0.25 * v1, (v2 / n, v1 / n)
    assert v2 / n < 200, v2 / n  # bytes a finding, tables included


# ------------------------------------------------------------------ hostile files

def _seed_doc(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "seed.json"
    run("scan", str(SEED002), "--format", "json", "-o", str(out))
    loaded: dict[str, Any] = json.loads(out.read_bytes())
    return loaded


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split("/")
    target: Any = doc
    for p in parents:
        target = target[int(p)] if isinstance(target, list) else target[p]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


# The last finding row lies beyond what the JSON Schema samples (seed002 has 85 findings):
# posture's own row checks name it; the first rows of a table the schema sees too.
HOSTILE = [
    ("findings/-1/0", 10 ** 6, "findings/84: resources index 1000000 out of range"),
    ("findings/-1/0", -1, "findings/84: resources index -1 out of range"),
    ("findings/-1/0", True, "findings/84: resources index True is not an integer"),
    ("findings/-1/0", "0", "findings/84: resources index '0' is not an integer"),
    ("findings/-1/0", 0.0, "findings/84: resources index 0.0 is not an integer"),
    ("findings/-1/1", 10 ** 30, "findings/84: check_fields index"),
    ("findings/-1/3", 99999, "findings/84: texts index 99999 out of range"),
    ("findings/-1/4", [], "findings/84: evidence index [] is not an integer"),
    ("findings/-1/5", 10 ** 9, "findings/84: texts index 1000000000 out of range"),
    ("findings/-1/2", "pwned", "findings/84: status 'pwned' is not one of"),
    ("findings/-1/2", ["fail"], "findings/84: status ['fail'] is not one of"),
    ("findings/-1", [0, 0, "fail"], "findings/84: expected [resource, check_field"),
    ("findings/-1", {"check": "x"}, "findings/84: expected [resource, check_field"),
    ("findings/0/0", 10 ** 30, "malformed results file at findings/0/0"),
    ("findings/0/2", "pwned", "malformed results file at findings/0/2"),
    ("findings", {}, "malformed results file at findings"),
    ("resources/0", ["a", "b"], "malformed results file at resources/0"),
    ("resources/0/5", 7, "malformed results file at resources/0"),
    ("check_fields/0/1", "apocalyptic", "malformed results file at check_fields/0"),
    ("check_fields/0/2", ["config"], "malformed results file at check_fields/0"),
    ("evidence/0", "rm -rf /", "malformed results file at evidence/0"),
    ("texts/0", None, "malformed results file at texts/0"),
    ("texts", None, "malformed results file at texts"),
    ("claims/0/findings/0", 10 ** 6, "claims/0/findings: findings index 1000000 out of range"),
    ("claims/0/findings/0", 1.5, "malformed results file at claims/0/findings/0"),
    ("summary/resources", 10 ** 30, "malformed results file at summary/resources"),
    ("claims/0/counts/fail", 10 ** 20, "malformed results file at claims/0/counts/fail"),
    ("version", 3, "results version 3 not supported"),
    ("version", True, "results version True not supported"),
]


@pytest.mark.parametrize(("path", "value", "needle"), HOSTILE,
                         ids=[f"{p}={v!r}"[:40] for p, v, _ in HOSTILE])
def test_a_hostile_results_file_is_one_line_and_exit_2(
        tmp_path: Path, path: str, value: Any, needle: str) -> None:
    doc = _seed_doc(tmp_path)
    _set(doc, path, value)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    for fmt in ("sarif", "table"):
        result = run("report", str(bad), "--format", fmt)
        assert result.exit_code == 2, (result.stdout, result.stderr)
        assert needle in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("posture: ")
        assert str(bad) in result.stderr
        assert result.stdout == ""


def test_a_missing_table_is_named(tmp_path: Path) -> None:
    doc = _seed_doc(tmp_path)
    for name in ("resources", "check_fields", "evidence", "texts", "findings"):
        broken = {k: v for k, v in doc.items() if k != name}
        bad = tmp_path / f"no-{name}.json"
        bad.write_text(json.dumps(broken))
        result = run("report", str(bad), "--format", "csv")
        assert result.exit_code == 2 and name in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1
