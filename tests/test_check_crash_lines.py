"""Issue 15 item 8: a date-only certificate expiry is read (not a crash), and a check that
does crash is an `error` finding and one line on stderr; the traceback only with -vv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner import snapshot
from scanner.instants import instant
from tests.helpers import ROOT, SEED002, findings_of


def posture(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "scanner.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def with_expiry(tmp_path: Path, value: str) -> Path:
    doc = json.loads(SEED002.read_text())
    certs = doc["sections"][0]["collections"]["certificates"]["global"]
    for cert in certs:
        cert["not_valid_after"] = value
    path = tmp_path / "dated.json"
    path.write_text(json.dumps(doc))
    snapshot.seal(path, path)
    return path


def test_date_only_certificate_expiry_is_judged_not_crashed(tmp_path: Path) -> None:
    snap = with_expiry(tmp_path, "2027-01-01")
    result = posture("scan", str(snap), "--checks", "TLS-03", "--format", "json")
    assert "Traceback" not in result.stderr and result.stderr == ""
    findings = [f for f in findings_of(json.loads(result.stdout)) if f["check"] == "TLS-03"]
    assert findings and all(f["status"] in ("pass", "fail") for f in findings)
    assert not any("crashed" in f["message"] for f in findings)


def test_unreadable_expiry_is_an_error_finding_not_a_crash(tmp_path: Path) -> None:
    snap = with_expiry(tmp_path, "next tuesday")
    result = posture("scan", str(snap), "--checks", "TLS-03", "--format", "json")
    findings = [f for f in findings_of(json.loads(result.stdout)) if f["check"] == "TLS-03"
                and f["status"] == "error"]
    assert findings and all("unreadable expiry" in f["message"] for f in findings)


@pytest.mark.parametrize("text, expected", [
    ("2027-01-01", datetime(2027, 1, 1, tzinfo=UTC)),
    ("2027-01-01T10:00:00", datetime(2027, 1, 1, 10, tzinfo=UTC)),
    ("2027-01-01T10:00:00Z", datetime(2027, 1, 1, 10, tzinfo=UTC)),
    ("nonsense", None), (None, None), (12, None),
])
def test_instants_are_always_aware(text: object, expected: datetime | None) -> None:
    assert instant(text) == expected


CRASHING = '''
from scanner.check import check
from scanner.model import Kind


@check(id="LOCAL-99", title="crashes", severity="low", kinds={Kind.COMPUTE},
       rationale="r", remediation="r")
def crashes(ctx):
    raise RuntimeError("boom")
    yield
'''


def test_a_crashing_check_is_one_line_and_a_traceback_only_with_vv(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "crash.py").write_text(CRASHING)
    quiet = posture("scan", str(SEED002), "--checks-dir", str(folder), "--checks", "LOCAL-99",
                    "--format", "json")
    lines = quiet.stderr.strip().splitlines()
    assert len(lines) == 1 and "LOCAL-99" in lines[0] and "boom" in lines[0], quiet.stderr
    doc = json.loads(quiet.stdout)
    assert [f["status"] for f in findings_of(doc) if f["check"] == "LOCAL-99"] == ["error"]
    loud = posture("-vv", "scan", str(SEED002), "--checks-dir", str(folder), "--checks",
                   "LOCAL-99", "--format", "json")
    assert "Traceback" in loud.stderr
