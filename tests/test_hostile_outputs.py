"""Outputs that hostile input must not abuse (helper hostile8): a `graph -o` over the
snapshot it reads, a small results file whose findings all name one large evidence object
(rendered a thousand times over), and control characters a terminal acts on left raw in
the JUnit and JSON Lines reports."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

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


RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
HOSTILE = "over\rwrite csi\x9b2J evil\u202egnp.exe line\u2028sep del\x7f"


def _hostile_results(tmp_path: Path) -> Path:
    """A real scan's results with every message and resource name hostile: a results file
    from elsewhere is as untrusted as a snapshot."""
    out = tmp_path / "scan.json"
    assert run("scan", str(SEED002), "--format", f"json:{out}").exit_code == 1
    doc = json.loads(out.read_text())
    doc["texts"] = [f"{t} {HOSTILE}" for t in doc["texts"]]
    for row in doc["resources"]:
        row[1] = f"{row[1]} {HOSTILE}"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc))
    return path


def test_junit_carries_no_raw_carriage_return_from_a_message(tmp_path: Path) -> None:
    """ElementTree escapes a carriage return in attribute values only: in a failure's text
    (the message) it was written raw, and `cat report.xml` overwrote the line with what
    followed it. Now `&#xd;`, which an XML parser reads back as the carriage return."""
    import xml.etree.ElementTree as ET

    path = _hostile_results(tmp_path)
    out = tmp_path / "report.xml"
    assert run("report", str(path), "--format", f"junit:{out}").exit_code == 0
    data = out.read_bytes().decode("utf-8")
    assert RAW.findall(data.replace("\n", "")) == []
    texts = [el.text or "" for el in ET.fromstring(data).iter("failure")]
    assert texts and all(HOSTILE in t for t in texts)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_reports_carry_no_raw_c1_or_bidi_character_and_keep_the_values(
        tmp_path: Path, fmt: str) -> None:
    """The JSON encoders leave the C1 CSI (U+009B), DEL, bidi overrides and the line
    separator raw: `posture report --format json` on a terminal (its default output)
    printed them. Now JSON escapes of the same values, as SARIF and OCSF write them."""
    path = _hostile_results(tmp_path)
    result = run("report", str(path), "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert RAW.findall(result.stdout.replace("\n", "")) == [], fmt
    docs = ([json.loads(result.stdout)] if fmt == "json"
            else [json.loads(line) for line in result.stdout.splitlines()])
    messages = docs[0]["texts"] if fmt == "json" else [d["message"] for d in docs]
    assert messages and all(m.endswith(HOSTILE) for m in messages)  # the same values
    if fmt == "json":  # read back, the report is the same results
        again = tmp_path / "again.json"
        again.write_text(result.stdout)
        assert run("report", str(again), "--format", "json").stdout == result.stdout


@pytest.mark.parametrize("key", ['format = ["json:out/keep"]', 'output = "out/keep"'])
def test_a_discovered_config_cannot_write_outside_its_folder_through_a_symlinked_folder(
        tmp_path: Path, key: str) -> None:
    """A pull request's checkout holds `out -> ../victim` (or `-> /home/ci/.ssh`) and a
    posture.toml naming `out/keep`: no `..`, not absolute, and the report overwrote a file
    outside the checkout. Refused, exit 2, the file untouched."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("precious")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    os.symlink("../victim", checkout / "out")
    (checkout / "posture.toml").write_text(key + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "scanner.cli", "scan", str(SEED002)], cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=300, check=False)
    assert result.returncode == 2, result.stderr
    assert "may only name files below that folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert (victim / "keep").read_text() == "precious"
    (checkout / "posture.toml").write_text(key.replace("out/", "sub/") + "\n")
    (checkout / "sub").mkdir()  # a real folder below it: written as before
    assert subprocess.run(
        [sys.executable, "-m", "scanner.cli", "scan", str(SEED002)], cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=300, check=False).returncode == 1
    assert (checkout / "sub" / "keep").stat().st_size > 0


def test_results_with_deeply_nested_evidence_are_refused_before_the_reports_indent_it(
        tmp_path: Path) -> None:
    """Evidence 900 levels deep is 6 kB of `{"k":` but 1.6 MB indented (the HTML report's
    evidence JSON, SARIF, the PDF): 85 findings of a 270 kB file made an 82 MB HTML report,
    and the PDF did not finish in minutes. The amplification bound counts evidence as it is
    indented."""
    out = tmp_path / "scan.json"
    assert run("scan", str(SEED002), "--format", f"json:{out}").exit_code == 1
    doc = json.loads(out.read_text())
    deep: object = "x"
    for _ in range(900):
        deep = {"k": deep}
    doc["evidence"] = [{**e, "deep": deep} for e in doc["evidence"]]
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(doc))
    report = tmp_path / "report.html"
    result = run("report", str(path), "--format", f"html:{report}")
    assert result.exit_code == 2, result.stderr
    assert "refused as an amplification" in result.stderr
    assert not report.exists()


def test_an_output_linked_to_stdout_redirected_to_a_file_is_written_through_the_link(
        tmp_path: Path) -> None:
    """`-o /dev/stdout > report.json`: /dev/stdout is a link to /proc/self/fd/1, the regular
    file the shell opened. The report was renamed over the link (as root: over /dev/stdout
    itself, for every process after it) and report.json stayed empty. A link of our own to
    /proc/self/fd/1 stands for /dev/stdout here (the system's must not be touched)."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    link = tmp_path / "stdout"
    os.symlink("/proc/self/fd/1", link)
    redirected = tmp_path / "report.json"
    with redirected.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "scanner.cli", "scan", str(SEED002), "--format", "json",
             "-o", str(link)], stdout=out, stderr=subprocess.PIPE, timeout=300, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1, done.stderr
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
    assert json.loads(redirected.read_text())["format"] == "posture-result"


def test_graph_files_stay_well_formed_and_inert_whatever_the_names(tmp_path: Path) -> None:
    """A server named with a backspace made `graph --format graphml` a file no XML reader
    opens (XML 1.0 cannot carry U+0008), and the JSON graph carried the C1 CSI and the bidi
    override raw to the terminal it prints on by default."""
    import xml.etree.ElementTree as ET

    from scanner import snapshot
    from scanner.snapshot import Snapshot

    snap = snapshot.load(SEED002)
    for server in snap.sections[0].collections["servers"]["global"]:
        server["name"] = f"back\x08space csi\x9b2J evil\u202egnp over\rwrite {server['id']}"
    path = tmp_path / "hostile.json"
    snapshot.write(Snapshot(sections=snap.sections), path)
    graphml = run("graph", str(path), "--format", "graphml")
    assert graphml.exit_code == 0, graphml.stderr
    names = [d.text or "" for d in ET.fromstring(graphml.stdout).iter(
        "{http://graphml.graphdrawing.org/xmlns}data") if "space csi" in (d.text or "")]
    assert names and all("back\ufffdspace csi\x9b2J evil\u202egnp over" in n for n in names)
    assert RAW.findall(graphml.stdout.replace("\n", "")) == []
    as_json = run("graph", str(path), "--format", "json")
    assert RAW.findall(as_json.stdout.replace("\n", "")) == []
    assert any(n.get("name", "").startswith("back\x08space csi\x9b2J evil\u202egnp")
               for n in json.loads(as_json.stdout)["nodes"])


def _scan_results(tmp_path: Path, source: Path = SEED002, *args: str) -> dict[str, Any]:
    out = tmp_path / "scan.json"
    assert run("scan", str(source), *args, "--format", f"json:{out}").exit_code in (0, 1, 3)
    return json.loads(out.read_text())


@pytest.mark.parametrize("evidence", [
    {"reaches": [{"exposures": [{"sources": 5}]}]},
    {"reaches": [{"exposures": [{"sources": {"a": 1}}]}]},
    {"reaches": 5},
    {"violations": [{"ports": "22", "sources": 7}]},
])
def test_exposure_evidence_of_another_shape_does_not_break_the_html_report(
        tmp_path: Path, evidence: dict[str, Any]) -> None:
    """The HTML report draws a finding's exposure paths from its evidence; in a results file
    of elsewhere `sources` a number or `reaches` not a list was an internal error
    (TypeError). The picture leaves them out; the evidence JSON shows them as they are."""
    doc = _scan_results(tmp_path)
    doc["evidence"] = [evidence for _ in doc["evidence"]]
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "report.html"
    result = run("report", str(path), "--format", f"html:{out}")
    assert result.exit_code == 0, result.stderr
    assert "evidence JSON" in out.read_text()


@pytest.mark.parametrize("count", ["abc", [1], 1e400, {"a": 1}, -3])
def test_a_not_assessed_count_that_is_no_whole_number_is_one_line(
        tmp_path: Path, count: object) -> None:
    """Every report sums the NOT-ASSESSED counts (`unassessed`): "abc", a list or Infinity
    there was an internal error (ValueError, TypeError, OverflowError)."""
    from tests.helpers import ROOT

    doc = _scan_results(tmp_path, ROOT / "fixtures" / "terraform" / "aws-modules.plan.json",
                        "--profile", "default")
    check = [c[0] for c in doc["check_fields"]].index("NOT-ASSESSED")
    row = next(f for f in doc["findings"] if f[1] == check
               and doc["evidence"][f[4]].get("reason") == "provider_not_covered")
    doc["evidence"][row[4]] = {**doc["evidence"][row[4]], "count": count}
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    for fmt in ("table", "json"):
        result = run("report", str(path), "--format", fmt)
        assert result.exit_code == 2, result.stderr
        assert "is not a whole number" in result.stderr and "internal" not in result.stderr


@pytest.mark.parametrize("file", ["javascript:alert(1)", "https://evil.example/x.tf",
                                  "file:///etc/passwd"])
def test_a_sarif_artifact_uri_from_a_results_file_never_carries_a_scheme(
        tmp_path: Path, file: str) -> None:
    """A finding's `file` evidence (a Terraform block's file, with --tf-dir) becomes its SARIF
    artifact URI. From a results file of elsewhere it can be anything: `javascript:...` was
    written as it is (":" was left unencoded), an absolute URI with a scheme for a viewer to
    open. Now every ":" is percent-encoded: a relative reference, whatever the file."""
    doc = _scan_results(tmp_path)
    doc["evidence"] = [{**e, "file": file, "line": 3} for e in doc["evidence"]]
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    result = run("report", str(path), "--format", "sarif")
    assert result.exit_code == 0, result.stderr
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(result.stdout)["runs"][0]["results"] for loc in r["locations"]}
    assert uris and not any(":" in u for u in uris), uris
