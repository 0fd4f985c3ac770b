"""The CI formats (SARIF, JUnit, OCSF, CSV), repeatable --format and `posture report`.

SARIF is validated against the official OASIS SARIF 2.1.0 schema (tests/schemas/, see its
README); OCSF with Prowler's `py-ocsf-models` (OCSF 1.5.0) plus the Detection Finding class's
required attributes; JUnit by parsing it with xml.etree; CSV with the csv module.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import shlex
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from pydantic import BaseModel

from scanner.findings import EvidenceLevel, Finding, Severity, Status
from scanner.reports import FORMATS, render
from scanner.reports.csv_report import COLUMNS
from scanner.result import ScanResult
from tests.helpers import ROOT, SEED002, as_format_1, run
from tests.test_fixture_seed002 import EXPECTED_FAILS

SCHEMA = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
EXAMPLES = ROOT / "docs" / "examples"
SEED = (str(SEED002), "--profile", "seed-002")
CI_FORMATS = ("sarif", "junit", "ocsf", "csv")
P = "hetzner:ohallo-prod/"


# ---------------------------------------------------------------------------- helpers


def _formats() -> jsonschema.FormatChecker:
    """Draft 4's format checks, plus `uri` (absolute) and `uri-reference`, which jsonschema
    only checks with an optional package."""
    checker = jsonschema.FormatChecker()

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme) and " " not in value

    @checker.checks("uri-reference")
    def is_uri_reference(value: object) -> bool:
        return not isinstance(value, str) or (" " not in value and "\\" not in value)

    return checker


def assert_valid_sarif(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=_formats())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    return doc


def scan(tmp_path: Path, fmt: str, *extra: str) -> str:
    out = tmp_path / f"out.{fmt}"
    result = run("scan", *SEED, "--format", f"{fmt}:{out}", "--no-timestamps", *extra)
    assert result.exit_code == 1, result.stderr
    return out.read_text(encoding="utf-8")


def seed_json(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "results.json"
    run("scan", *SEED, "--format", f"json:{out}", "--no-timestamps")
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def seed_result(tmp_path: Path) -> ScanResult:
    return ScanResult.from_json(seed_json(tmp_path))


def with_error_and_suppression(tmp_path: Path) -> Path:
    """The seed 002 results with NET-04 on server/106 turned into an error (firewalls could
    not be read), ENC-01 on volume/403 suppressed, RES-01 on server/106 given a file/line (as
    a Terraform plan finding will have), and the failed call recorded."""
    doc = as_format_1(seed_json(tmp_path))  # flat findings, edited in place
    for f in doc["findings"]:
        if f["id"] == "NET-04|" + P + "server/106":
            f.update(status="error", reason="denied", message="could not tell (firewalls "
                     "could not be read: forbidden (forbidden))")
        if f["id"] == "ENC-01|" + P + "volume/403":
            f["status"] = "suppressed"
            f["evidence"] = {**f["evidence"], "suppressed_status": "fail", "suppression": {
                "check": "ENC-01", "resource": "*volume/403", "reason": "scratch volume, "
                "no customer data", "owner": "ops@example.com", "expires": "2027-01-31"}}
        if f["id"] == "RES-01|" + P + "server/106":
            f["evidence"] = {**f["evidence"], "file": "infra/main.tf", "line": 42}
    doc["errors"] = [{"provider": "hetzner", "account": "ohallo-prod", "collection": "firewalls",
                      "region": None, "reason": "denied", "message": "forbidden (forbidden)"}]
    doc["summary"] = ScanResult.from_json(doc).summary()  # keeps summary.resources
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=True))
    return path


def report(path: Path, fmt: str, *extra: str) -> str:
    result = run("report", str(path), "--format", fmt, *extra)
    assert result.exit_code == 0, result.stderr
    return result.stdout


# ------------------------------------------------------------------------------ SARIF


def test_sarif_passes_the_official_schema_with_rules_help_and_references(tmp_path: Path) -> None:
    doc = assert_valid_sarif(scan(tmp_path, "sarif"))
    assert doc["version"] == "2.1.0"
    assert len(doc["runs"]) == 1
    run_ = doc["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "posture" and driver["version"]
    assert urlsplit(driver["informationUri"]).scheme == "https"
    rules = {r["id"]: r for r in driver["rules"]}
    # every check the profile binds, those with only skips too (INV-01: no --iac given;
    # TLS-04: not probed)
    assert sorted(rules) == ["BAK-02", "ENC-01", "ENC-02", "IAM-03", "INV-01", "INV-02",
                             "LOG-01", "NET-01", "NET-02", "NET-03", "NET-04", "NET-07",
                             "RES-01", "RES-03", "TLS-01", "TLS-02", "TLS-03", "TLS-04", "VUL-01"]
    net01 = rules["NET-01"]
    assert net01["shortDescription"]["text"].startswith("Databases hold no public IP")
    assert net01["fullDescription"]["text"]  # the rationale
    assert "Remove the public IP" in net01["help"]["text"]
    assert "ISO27001 A.8.20, A.8.22" in net01["help"]["text"]
    assert "**Fix:**" in net01["help"]["markdown"]
    assert net01["helpUri"].endswith("docs/controls.md#net-01")
    props = net01["properties"]
    assert {"security", "ISO27001 A.8.20", "GDPR Art. 32(1)(b)", "C5 KOS-01"} <= set(props["tags"])
    assert props["security-severity"] == "9.5" and props["precision"] == "very-high"
    assert rules["TLS-03"]["properties"]["security-severity"] == "5.5"
    assert rules["ENC-01"]["properties"]["precision"] == "medium"  # an attested verdict
    for result in run_["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert run_["invocations"] == [{"executionSuccessful": True}]


def test_sarif_results_are_exactly_the_20_failures_with_levels_and_locations(
        tmp_path: Path) -> None:
    results = assert_valid_sarif(scan(tmp_path, "sarif"))["runs"][0]["results"]
    got = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"])
           for r in results}
    assert got == EXPECTED_FAILS and len(results) == 20
    assert all(r["kind"] == "fail" and "suppressions" not in r for r in results)
    level = {r["ruleId"]: r["level"] for r in results}
    assert level["NET-01"] == "error" and level["ENC-01"] == "error"
    assert level["TLS-03"] == "warning"
    db2 = next(r for r in results if r["ruleId"] == "NET-01")
    loc = db2["locations"][0]
    assert loc["logicalLocations"] == [{"fullyQualifiedName": P + "server/104",
                                        "kind": "compute", "name": "db-2"}]
    assert loc["physicalLocation"] == {
        "artifactLocation": {"uri": "hetzner/ohallo-prod/server/104"}}
    assert db2["message"]["text"].startswith("db-2 (fsn1): holds public IP(s) 203.0.113.22")
    assert db2["partialFingerprints"] == {"postureFindingId/v1": "NET-01|" + P + "server/104"}
    assert db2["properties"]["evidence"]["public_ips"] == ["203.0.113.22"]


def test_sarif_errors_suppressions_and_file_locations(tmp_path: Path) -> None:
    doc = assert_valid_sarif(report(with_error_and_suppression(tmp_path), "sarif"))
    run_ = doc["runs"][0]
    by_id = {r["partialFingerprints"]["postureFindingId/v1"]: r for r in run_["results"]}
    error = by_id["NET-04|" + P + "server/106"]
    assert error["kind"] == "review" and error["level"] == "none"  # SARIF 3.27.10
    assert error["message"]["text"].startswith("staging-worker (ash): could not tell")
    suppressed = by_id["ENC-01|" + P + "volume/403"]
    assert suppressed["kind"] == "fail"
    assert suppressed["suppressions"] == [{
        "kind": "external", "status": "accepted",
        "justification": "scratch volume, no customer data",
        "properties": {"check": "ENC-01", "expires": "2027-01-31", "owner": "ops@example.com",
                       "resource": "*volume/403"}}]
    planned = by_id["RES-01|" + P + "server/106"]["locations"][0]["physicalLocation"]
    assert planned == {"artifactLocation": {"uri": "infra/main.tf"},
                       "region": {"startLine": 42}}
    unsuppressed_fails = [r for r in run_["results"]
                          if r["kind"] == "fail" and "suppressions" not in r]
    assert len(unsuppressed_fails) == 18  # 20 - the suppressed one - the one now an error
    invocation = run_["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert notes[0]["level"] == "error"
    assert notes[0]["message"]["text"] == ("hetzner/ohallo-prod/firewalls: forbidden "
                                           "(forbidden) (denied)")
    assert notes[-1]["descriptor"]["id"] == "incomplete-scan"


def test_sarif_fingerprints_are_stable_and_output_byte_identical(tmp_path: Path) -> None:
    for fmt in CI_FORMATS:
        a = scan(tmp_path, fmt)
        b = scan(tmp_path, fmt)
        assert a == b, fmt
    first = json.loads(scan(tmp_path, "sarif"))
    second = json.loads(scan(tmp_path, "sarif", "--checks", "NET-01,ENC-01,TLS-03"))

    def prints(doc: dict[str, Any]) -> dict[str, str]:
        return {r["partialFingerprints"]["postureFindingId/v1"]: r["ruleId"]
                for r in doc["runs"][0]["results"]}

    # the same finding has the same fingerprint whatever else ran
    assert prints(second).items() <= prints(first).items()


def test_sarif_timestamps_only_without_no_timestamps(tmp_path: Path) -> None:
    out = tmp_path / "t.sarif"
    run("scan", *SEED, "--format", f"sarif:{out}")
    invocation = assert_valid_sarif(out.read_text())["runs"][0]["invocations"][0]
    assert invocation["startTimeUtc"].endswith("Z") and invocation["endTimeUtc"].endswith("Z")
    assert "startTimeUtc" not in scan(tmp_path, "sarif")


def test_sarif_of_a_check_that_is_not_installed_still_renders(tmp_path: Path) -> None:
    doc = as_format_1(seed_json(tmp_path))  # flat findings, one added
    plugin = dict(doc["findings"][0], check="ACME-7", id="ACME-7|" + P + "server/101",
                  resource=P + "server/101", status="fail", severity="critical")
    doc["findings"].append(plugin)
    doc["checks"].append("ACME-7")
    path = tmp_path / "plugin.json"
    path.write_text(json.dumps(doc))
    sarif = assert_valid_sarif(report(path, "sarif"))
    rule = next(r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "ACME-7")
    assert rule["shortDescription"]["text"] == "ACME-7 (check not installed: no description)"
    assert rule["properties"]["security-severity"] == "9.5"
    for fmt in ("junit", "ocsf", "csv", "table", "markdown"):
        assert "ACME-7" in report(path, fmt), fmt


def test_checks_dir_checks_are_described_and_report_reproduces_them(tmp_path: Path) -> None:
    local = str(EXAMPLES / "checks")
    sarif, saved = tmp_path / "local.sarif", tmp_path / "local.json"
    result = run("scan", str(SEED002), "--checks-dir", local, "--checks", "ACME-01",
                 "--format", f"sarif:{sarif}", "--format", f"json:{saved}", "--no-timestamps")
    assert result.exit_code == 1, result.stderr
    doc = assert_valid_sarif(sarif.read_text())
    [rule] = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rule["shortDescription"]["text"] == "Every server carries an owner label"
    assert "helpUri" not in rule  # not in posture's control catalogue
    assert report(saved, "sarif", "--checks-dir", local) == sarif.read_text()
    out = tmp_path / "o.sarif"
    assert run("report", str(saved), "--format", "sarif", "-o", str(out)).stdout == ""
    assert "check not installed" in out.read_text()


# ------------------------------------------------------------------------------ JUnit


def junit_counts(el: ET.Element) -> tuple[int, int, int, int]:
    return (int(el.get("tests", -1)), int(el.get("failures", -1)), int(el.get("errors", -1)),
            int(el.get("skipped", -1)))


def test_junit_parses_and_counts_match_the_json_summary(tmp_path: Path) -> None:
    root = ET.fromstring(scan(tmp_path, "junit").encode("utf-8"))
    summary = seed_json(tmp_path)["summary"]
    st_ = summary["by_status"]
    expected = (summary["findings"], st_["fail"], st_["error"], st_["skip"] + st_["suppressed"])
    # skipped: the 7 of the fixture README, INV-01's one for the project (no --iac) and
    # TLS-04's three not-probed endpoints
    assert root.tag == "testsuites" and junit_counts(root) == expected == (79, 20, 0, 11)
    suites = root.findall("testsuite")
    assert len(suites) == 19
    assert tuple(map(sum, zip(*(junit_counts(s) for s in suites), strict=True))) == expected
    for suite in suites:
        cases = suite.findall("testcase")
        assert junit_counts(suite) == (
            len(cases), sum(c.find("failure") is not None for c in cases),
            sum(c.find("error") is not None for c in cases),
            sum(c.find("skipped") is not None for c in cases))
        assert all(c.get("classname") == suite.get("name") for c in cases)
    failed = {(c.get("classname"), c.get("name", "")) for c in root.iter("testcase")
              if c.find("failure") is not None}
    assert {(check, name.rsplit("(", 1)[1].rstrip(")")) for check, name in failed} \
        == EXPECTED_FAILS
    assert ("NET-01", "db-2 (" + P + "server/104)") in failed
    db2 = next(c for c in root.iter("testcase") if c.get("name") == "db-2 (" + P + "server/104)"
               and c.get("classname") == "NET-01")
    failure = db2.find("failure")
    assert failure is not None and failure.get("type") == "critical"
    assert "203.0.113.22" in (failure.text or "")
    props = {p.get("name"): p.get("value") for p in db2.iter("property")}
    assert props["evidence_level"] == "config" and props["status"] == "fail"


def test_junit_errors_and_suppressions(tmp_path: Path) -> None:
    root = ET.fromstring(report(with_error_and_suppression(tmp_path), "junit").encode())
    assert junit_counts(root) == (79, 18, 1, 12)
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    error = cases[("NET-04", "staging-worker (" + P + "server/106)")].find("error")
    assert error is not None and error.get("type") == "denied"
    skipped = cases[("ENC-01", "scratch (" + P + "volume/403)")].find("skipped")
    assert skipped is not None
    assert skipped.get("message", "").startswith("suppressed: scratch volume")


# ------------------------------------------------------------------------------- OCSF


def assert_known_attributes(model: type[BaseModel], data: Any, path: str = "") -> None:
    """Every attribute written is one the OCSF model defines (pydantic ignores the rest)."""
    if not isinstance(data, dict):
        return
    fields = model.model_fields
    for key, value in data.items():
        assert key in fields, f"{path}{key}: not an attribute of {model.__name__}"
        annotation = fields[key].annotation
        for arg in (*getattr(annotation, "__args__", ()), annotation):
            for inner in (*getattr(arg, "__args__", ()), arg):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    for item in value if isinstance(value, list) else [value]:
                        assert_known_attributes(inner, item, f"{path}{key}.")


def test_ocsf_is_valid_detection_finding_1_5(tmp_path: Path) -> None:
    events = json.loads(scan(tmp_path, "ocsf"))
    assert isinstance(events, list) and len(events) == 79
    for event in events:
        DetectionFinding.model_validate(event)
        assert_known_attributes(DetectionFinding, event)
        # OCSF 1.5.0 Detection Finding: required attributes and constants
        for required in ("activity_id", "category_uid", "class_uid", "finding_info", "metadata",
                         "severity_id", "time", "type_uid", "cloud"):
            assert required in event, required
        assert (event["class_uid"], event["category_uid"], event["activity_id"],
                event["type_uid"]) == (2004, 2, 1, 200401)
        assert event["metadata"]["version"] == "1.5.0"
        assert event["metadata"]["product"]["name"] == "posture"
        assert event["metadata"]["product"]["vendor_name"]
        assert event["finding_info"]["uid"] and event["finding_info"]["title"]
        assert event["cloud"]["provider"] == "hetzner"
        assert event["cloud"]["account"]["uid"] == "ohallo-prod"
        assert event["status_id"] == 1 and event["status"] == "New"
    fails = {(e["metadata"]["event_code"], e["resources"][0]["uid"]) for e in events
             if e["status_code"] == "FAIL"}
    assert fails == EXPECTED_FAILS
    assert {e["status_code"] for e in events} == {"PASS", "FAIL", "SKIP"}
    db2 = next(e for e in events if e["finding_info"]["uid"] == "NET-01|" + P + "server/104")
    assert (db2["severity_id"], db2["severity"]) == (5, "Critical")
    assert db2["resources"] == [{"name": "db-2", "region": "fsn1", "type": "compute",
                                 "uid": P + "server/104"}]
    assert db2["unmapped"]["compliance"]["ISO27001"] == ["A.8.20", "A.8.22"]
    assert db2["unmapped"]["evidence"]["public_ips"] == ["203.0.113.22"]
    assert db2["remediation"]["desc"].startswith("Remove the public IP")
    assert db2["time"] == 0 and "time_dt" not in db2  # --no-timestamps


def test_ocsf_errors_suppressions_and_time(tmp_path: Path) -> None:
    events = {e["finding_info"]["uid"]: e
              for e in json.loads(report(with_error_and_suppression(tmp_path), "ocsf"))}
    for event in events.values():
        DetectionFinding.model_validate(event)
    error = events["NET-04|" + P + "server/106"]
    assert error["status_code"] == "ERROR" and error["unmapped"]["reason"] == "denied"
    suppressed = events["ENC-01|" + P + "volume/403"]
    assert (suppressed["status_id"], suppressed["status"], suppressed["status_code"]) \
        == (3, "Suppressed", "FAIL")
    out = tmp_path / "t.ocsf"
    run("scan", *SEED, "--format", f"ocsf:{out}")
    timed = json.loads(out.read_text())[0]
    DetectionFinding.model_validate(timed)
    assert timed["time"] > 1_700_000_000_000 and timed["time_dt"].endswith("Z")


# -------------------------------------------------------------------------------- CSV


def test_csv_one_row_per_finding_in_a_stable_column_order(tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(scan(tmp_path, "csv"))))
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 79
    assert {(r["check"], r["resource"]) for r in rows if r["status"] == "fail"} == EXPECTED_FAILS
    db2 = next(r for r in rows if r["finding_id"] == "NET-01|" + P + "server/104")
    assert db2["severity"] == "critical" and db2["resource_name"] == "db-2"
    assert "ISO27001 A.8.20" in db2["references"]
    assert json.loads(db2["evidence"])["public_ips"] == ["203.0.113.22"]


def test_csv_neutralises_formulas_in_names_and_messages(tmp_path: Path) -> None:
    result = seed_result(tmp_path)
    result.findings[0] = replace(result.findings[0], resource_name="=HYPERLINK(\"x\")",
                                 message="+1 open port")
    rows = list(csv.DictReader(io.StringIO(FORMATS["csv"](result, False))))
    assert rows[0]["resource_name"] == "'=HYPERLINK(\"x\")"
    assert rows[0]["message"] == "'+1 open port"


# ------------------------------------------------------------- any text, any format


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=TEXT, message=TEXT, key=TEXT, value=TEXT)
def test_any_text_gives_well_formed_output(name: str, message: str, key: str,
                                           value: str) -> None:
    finding = Finding(check="NET-01", resource="hetzner:p/server/" + name, status=Status.FAIL,
                      severity=Severity.HIGH, message=message, evidence={key: value},
                      evidence_level=EvidenceLevel.CONFIG, resource_name=name,
                      resource_kind="compute", provider="hetzner", account="p", region="fsn1")
    result = ScanResult(tool_version="0.1.0", profile={"name": "t"}, sources=[],
                        checks=["NET-01"], findings=[finding], claims=[])
    checks: dict[str, Any] = {}
    assert_valid_sarif(render("sarif", result, False, checks))
    case = ET.fromstring(render("junit", result, False, checks).encode()).find(".//testcase")
    assert case is not None and case.find("failure") is not None
    row = next(csv.DictReader(io.StringIO(render("csv", result, False, checks))))
    # cells that a spreadsheet would run as a formula get a leading quote, and control
    # characters are visible escapes (a terminal showing the file obeys none); nothing else
    from scanner.display import visible
    from scanner.reports.csv_report import _safe
    assert row["resource_name"] == _safe(visible(name))
    assert row["message"] == _safe(visible(message))
    assert json.loads(render("ocsf", result, False, checks))[0]["status_detail"] == message


# ----------------------------------------------------- --format FMT:FILE and report


def test_repeatable_format_writes_every_file_and_one_format_to_stdout(tmp_path: Path) -> None:
    files = {fmt: tmp_path / f"posture.{fmt}" for fmt in (*CI_FORMATS, "json", "markdown")}
    args = [a for fmt, path in files.items() for a in ("--format", f"{fmt}:{path}")]
    result = run("scan", *SEED, "--format", "table", *args, "--no-timestamps")
    assert result.exit_code == 1, result.stderr
    assert "20 failed" in result.stdout and result.stdout.startswith("CRITICAL")
    for fmt, path in files.items():
        assert path.read_text(encoding="utf-8") == scan(tmp_path, fmt), fmt


def test_single_format_and_dash_o_still_work(tmp_path: Path) -> None:
    out = tmp_path / "r.sarif"
    assert run("scan", *SEED, "--format", "sarif", "-o", str(out), "--no-timestamps").stdout == ""
    assert out.read_text() == scan(tmp_path, "sarif")
    stdout = run("scan", *SEED, "--format", "junit", "--no-timestamps").stdout
    assert stdout == scan(tmp_path, "junit")
    only_files = run("scan", *SEED, "--format", f"csv:{tmp_path / 'x.csv'}")
    assert only_files.exit_code == 1 and only_files.stdout == ""


@pytest.mark.parametrize(("args", "needle"), [
    (("--format", "sarif2"), "'sarif2': unknown format 'sarif2'"),
    (("--format", "yaml:out.yml"), "'yaml:out.yml': unknown format 'yaml'"),
    (("--format", "sarif:"), "'sarif:': no file after ':'"),
    (("--format", "sarif", "--format", "table"), "'table': only one format can go to stdout"),
    (("--format", "sarif:a", "--format", "csv:a"), "a: named as the output of two formats"),
    (("--format", "sarif:a", "-o", "b"), "-o/--output is for a --format without a file"),
])
def test_bad_format_values_are_usage_errors_naming_the_value(
        tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    for command in (("scan", *SEED), ("report", str(tmp_path / "r.json"))):
        result = run(*command, *args)
        assert result.exit_code == 2, result.stdout
        assert needle in result.stderr and "Usage:" not in result.stderr
        assert result.stderr.startswith("posture: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "a").exists()


def test_report_of_saved_json_gives_byte_identical_output(tmp_path: Path) -> None:
    # one scan writes the results and every CI format; report re-renders them, times included
    direct = {fmt: tmp_path / f"direct.{fmt}" for fmt in (*CI_FORMATS, "json", "markdown")}
    run("scan", *SEED, *[a for fmt, p in direct.items() for a in ("--format", f"{fmt}:{p}")])
    saved = direct["json"]
    assert json.loads(saved.read_text())["finished_at"]
    for fmt, path in direct.items():
        assert report(saved, fmt) == path.read_text(encoding="utf-8"), fmt
    # and without times: report --no-timestamps of any results == scan --no-timestamps
    assert report(saved, "sarif", "--no-timestamps") == scan(tmp_path, "sarif")
    again = tmp_path / "again.sarif"
    result = run("report", str(saved), "--format", f"sarif:{again}", "--format", "table")
    assert result.exit_code == 0 and "20 failed" in result.stdout
    assert again.read_text() == direct["sarif"].read_text()


def test_report_reads_gzip_results(tmp_path: Path) -> None:
    import gzip

    saved = tmp_path / "r.json.gz"
    saved.write_bytes(gzip.compress(json.dumps(seed_json(tmp_path)).encode()))
    assert report(saved, "sarif", "--no-timestamps") == scan(tmp_path, "sarif")


@pytest.mark.parametrize(("content", "needle"), [
    (None, "no such results file"),
    (b"{", "not valid JSON"),
    (b"\xff\xfe\x00", "not UTF-8"),
    (b"\x1f\x8b\x08\x00garbage", "not a valid gzip file"),
    (b"[1, 2]", "not a posture results file"),
    (b'{"format": "posture-snapshot", "version": 1}', "not a posture results file"),
    (b'{"format": "posture-result", "version": 99}', "results version 99 not supported"),
    (b'{"format": "posture-result", "version": 1}', "malformed results file"),
    (b'{"format": "posture-result", "version": 1, "tool_version": "x", "profile": {}, '
     b'"sources": [], "checks": [], "findings": [{"check": 1}], "claims": []}',
     "malformed results file"),
    (b'{"format": "posture-result", "version": 1, "tool_version": "x", "profile": {}, '
     b'"sources": [], "checks": [], "findings": [], "claims": [], "summary": []}',
     "malformed results file"),
])
def test_bad_results_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes | None,
                                                  needle: str) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_bytes(content)
    result = run("report", str(path), "--format", "sarif")
    assert result.exit_code == 2, result.stdout
    assert needle in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("posture: ")
    assert result.stdout == ""


# --------------------------------------------------------------------- CI examples


def load_example(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return loaded


def test_github_actions_example_uploads_sarif_and_handles_exit_codes() -> None:
    text = (EXAMPLES / "github-actions.yml").read_text()
    wf = load_example("github-actions.yml")
    job = next(iter(wf["jobs"].values()))
    assert job["permissions"]["security-events"] == "write"
    steps = job["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith(
        "github/codeql-action/upload-sarif@"))
    assert upload["if"].startswith("always()")
    scan_step = next(s for s in steps if "posture scan" in s.get("run", ""))
    assert "--format sarif:" in scan_step["run"] and "secrets." in text
    assert "exit 3" in text or "3)" in text
    sarif_file = upload["with"]["sarif_file"]
    assert f"sarif:{sarif_file}" in scan_step["run"]


def test_gitlab_example_publishes_a_junit_report() -> None:
    ci = load_example("gitlab-ci.yml")
    job = next(v for v in ci.values() if isinstance(v, dict) and "script" in v)
    junit = job["artifacts"]["reports"]["junit"]
    assert any(f"junit:{junit}" in line for line in job["script"])
    assert job["artifacts"]["when"] == "always"


def test_azure_example_publishes_junit_test_results() -> None:
    pipeline = load_example("azure-pipelines.yml")
    steps = pipeline["steps"]
    publish = next(s for s in steps if s.get("task") == "PublishTestResults@2")
    assert publish["inputs"]["testResultsFormat"] == "JUnit"
    assert publish["condition"] == "succeededOrFailed()"
    script = next(s["script"] for s in steps if "posture scan" in s.get("script", ""))
    assert f"junit:{publish['inputs']['testResultsFiles']}" in script


def example_command(name: str) -> list[str]:
    """The arguments of the `posture scan` line of a CI example."""
    text = (EXAMPLES / name).read_text()
    line = next(line.strip().removeprefix("- ") for line in text.splitlines()
                if line.strip().removeprefix("- ").startswith("posture scan "))
    return shlex.split(line)[2:]


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml", "azure-pipelines.yml"])
def test_example_posture_command_runs_on_the_bundled_snapshot(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each example's own command line, with the bundled snapshot as source and the seed
    profile, writes every report it names and exits 1 (the snapshot has violations)."""
    args = example_command(name)
    args[0] = str(SEED002)  # "$POSTURE_SOURCE"
    args[args.index("--profile") + 1] = "seed-002"
    args[args.index("--fail-on") + 1] = "high"
    monkeypatch.chdir(tmp_path)
    result = run("scan", *args)
    assert result.exit_code == 1, result.stderr
    assert "20 failed" in result.stdout
    files = {v.split(":", 1)[0]: tmp_path / v.split(":", 1)[1]
             for k, v in itertools.pairwise(args) if k == "--format" and ":" in v}
    assert {"sarif", "junit"} <= set(files)
    assert_valid_sarif(files["sarif"].read_text())
    assert junit_counts(ET.parse(files["junit"]).getroot())[1] == 20
