"""Issue 15 items 9-13: the history store under concurrency and damage, store passwords in
messages, output failures, CSV formula cells and SARIF URIs from hostile names."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.findings import EvidenceLevel, Finding, Severity, Status
from scanner.history import HistoryStore, safe_store
from scanner.reports import render
from scanner.result import ScanResult
from tests.helpers import ROOT, SEED002, run


def _result() -> ScanResult:
    return ScanResult(tool_version="0.1.0", profile={"name": "t"}, sources=[],
                      checks=["NET-01"], findings=[], claims=[],
                      started_at="2026-12-06T00:00:00Z", finished_at="2026-12-06T00:00:01Z")


def _create_and_save(path: str, barrier: multiprocessing.synchronize.Barrier,
                     failures: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        barrier.wait()
        HistoryStore(path).save(_result())
    except Exception as exc:
        failures.put(f"{type(exc).__name__}: {exc}")


def test_first_creation_by_many_scans_at_once_loses_none(tmp_path: Path) -> None:
    path = str(tmp_path / "h.sqlite")
    ctx = multiprocessing.get_context("fork")
    n = 24
    barrier = ctx.Barrier(n)
    failures: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_create_and_save, args=(path, barrier, failures))
             for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    errors = []
    while not failures.empty():
        errors.append(failures.get())
    assert errors == []
    assert len(HistoryStore(path).scans(100)) == n


def posture(*args: str, stdout: object = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "scanner.cli", *args], env=env,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=300,
                          check=False)


def one_line(result: subprocess.CompletedProcess[str], needle: str = "") -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr and needle in result.stderr


def test_query_string_password_is_never_echoed() -> None:
    url = "postgresql://127.0.0.1:1/db?password=S3cret&sslmode=disable"
    assert "S3cret" not in safe_store(url)
    result = posture("history", "--store", url)
    one_line(result)
    assert "S3cret" not in result.stderr


@pytest.mark.parametrize("url", ["postgresql://h:notaport/db", "nosuchdialect://x/y",
                                 "sqlite:///"])
def test_malformed_store_url_is_one_line(url: str) -> None:
    result = posture("history", "--store", url)
    if url == "sqlite:///":  # an in-memory store: empty, not an error
        assert result.returncode == 0
        return
    one_line(result, "history store")


def test_report_to_a_full_stdout_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        result = posture("scan", str(SEED002), "--format", "json", stdout=full)
    one_line(result, "stdout")


def _stored(tmp_path: Path) -> Path:
    path = tmp_path / "h.sqlite"
    HistoryStore(str(path)).save(_result())
    return path


def test_store_missing_its_table_is_one_line_without_sql(tmp_path: Path) -> None:
    path = _stored(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE posture_findings")
        db.execute("DROP TABLE posture_scans")
    result = posture("history", "--store", str(path))
    one_line(result, "posture_scans")
    assert "SELECT" not in result.stderr and "[parameters" not in result.stderr
    saved = posture("scan", str(SEED002), "--store", str(path), "--format", "json")
    one_line(saved, "history store")
    assert "INSERT" not in saved.stderr


def test_corrupt_summary_in_the_store_is_one_line(tmp_path: Path) -> None:
    path = _stored(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE posture_scans SET summary = 'not json'")
    one_line(posture("history", "--store", str(path)), "corrupt")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE posture_scans SET summary = '{\"by_status\": 3}', result = '[1'")
    one_line(posture("history", "--store", str(path)), "corrupt")
    one_line(posture("diff", "last", "last", "--store", str(path)), "corrupt")


def _finding(account: str, region: str) -> Finding:
    return Finding(check="NET-01", resource=f"hetzner:{account}/server/1", status=Status.FAIL,
                   severity=Severity.HIGH, message="m", evidence={},
                   evidence_level=EvidenceLevel.CONFIG, resource_name="web",
                   resource_kind="compute", provider="hetzner", account=account, region=region)


def test_csv_account_and_region_cells_are_formula_escaped() -> None:
    result = ScanResult(tool_version="0.1.0", profile={"name": "t"}, sources=[],
                        checks=["NET-01"], findings=[_finding("=HYPERLINK(1)", "+fsn1")],
                        claims=[])
    row = next(csv.DictReader(io.StringIO(render("csv", result, False, {}))))
    assert row["account"] == "'=HYPERLINK(1)" and row["region"] == "'+fsn1"


def test_sarif_uri_has_no_dot_segments_from_an_account_name(tmp_path: Path) -> None:
    result = ScanResult(tool_version="0.1.0", profile={"name": "t"}, sources=[],
                        checks=["NET-01"], findings=[_finding("../../../etc", "fsn1")],
                        claims=[])
    doc = json.loads(render("sarif", result, False, {}))
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
        "artifactLocation"]["uri"]
    assert ".." not in uri.split("/") and uri == "hetzner/etc/server/1"
    # end to end: a snapshot whose account is named to climb out of the source root
    snap = json.loads(SEED002.read_text())
    snap["sections"][0]["account"] = "../../.github"
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(snap))
    run("seal", str(path))
    out = run("scan", str(path), "--format", "sarif").stdout
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(out)["runs"][0]["results"] for loc in r["locations"]]
    assert uris and not any(".." in u.split("/") for u in uris)
