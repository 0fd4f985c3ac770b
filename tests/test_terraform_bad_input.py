"""Bad Terraform input: one clear line and exit 2, never a traceback; uncovered providers
and resource types are listed as not assessed, never silently skipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, findings_of, run, scan_json

GATE = ROOT / "fixtures" / "terraform" / "hcloud-gate.plan.json"


def write(tmp_path: Path, doc: Any, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def fails_cleanly(path: Path, *words: str) -> str:
    result = run("scan", str(path))
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


def test_json_that_is_not_a_plan(tmp_path: Path) -> None:
    schemas = {"format_version": "1.0", "provider_schemas": {}}
    fails_cleanly(write(tmp_path, schemas), "not a Terraform plan or state",
                  "terraform providers schema -json")
    version = {"terraform_version": "1.9.8", "platform": "linux_amd64",
               "provider_selections": {}, "terraform_outdated": False}
    fails_cleanly(write(tmp_path, version, "v.json"), "no format_version",
                  "terraform version -json")


def test_json_that_is_nothing_posture_reads(tmp_path: Path) -> None:
    fails_cleanly(write(tmp_path, {"resources": []}), "not a posture snapshot")


def test_unknown_format_version_major(tmp_path: Path) -> None:
    doc = json.loads(GATE.read_text())
    doc["format_version"] = "2.0"
    fails_cleanly(write(tmp_path, doc), "format_version '2.0' is not supported",
                  "newer than this posture knows", "formats 0.1, 0.2 and 1.x")
    doc["format_version"] = "0.3"  # never written by Terraform or OpenTofu
    fails_cleanly(write(tmp_path, doc), "format_version '0.3' is not supported")


def test_a_newer_minor_format_version_is_read(tmp_path: Path) -> None:
    doc = json.loads(GATE.read_text())
    doc["format_version"] = "1.9"
    code, _ = scan_json(str(write(tmp_path, doc)), "--checks", "NET-01")
    assert code == 1


def test_an_errored_plan_is_refused(tmp_path: Path) -> None:
    doc = json.loads(GATE.read_text())
    doc["errored"] = True
    fails_cleanly(write(tmp_path, doc), "the plan errored")


@pytest.mark.parametrize("mutation", [
    lambda d: d.update(resource_changes=[{"address": "x", "change": []}]),
    lambda d: d.update(planned_values={"root_module": {"resources": [
        {"address": "hcloud_server.x", "type": "hcloud_server", "values": [1, 2]}]}}),
    lambda d: d.update(configuration={"provider_config": [], "root_module": {}}),
    lambda d: d.update(planned_values=[]),
], ids=["change-not-object", "values-not-object", "provider-config-list", "planned-list"])
def test_malformed_plans_are_named_not_crashed_on(tmp_path: Path,
                                                  mutation: Any) -> None:
    doc = json.loads(GATE.read_text())
    mutation(doc)
    result = run("scan", str(write(tmp_path, doc)))
    assert result.exit_code in (0, 1, 2, 3)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_truncated_plan(tmp_path: Path) -> None:
    fails_cleanly(write(tmp_path, GATE.read_text()[:5000]), "not valid JSON")


def test_plan_of_an_uncovered_provider_lists_its_resources_as_not_assessed(
        tmp_path: Path) -> None:
    doc = {"format_version": "1.2", "terraform_version": "1.9.8",
           "planned_values": {"root_module": {"resources": [
               {"address": "google_sql_database_instance.db", "mode": "managed",
                "type": "google_sql_database_instance", "name": "db",
                "provider_name": "registry.terraform.io/hashicorp/google",
                "values": {"name": "db", "region": "europe-west3"}}]}},
           "resource_changes": [{"address": "google_sql_database_instance.db",
                                 "mode": "managed", "type": "google_sql_database_instance",
                                 "name": "db",
                                 "provider_name": "registry.terraform.io/hashicorp/google",
                                 "change": {"actions": ["create"], "after_unknown": {}}}]}
    code, result = scan_json(str(write(tmp_path, doc)), "--checks", "NET-01")
    assert code == 0
    [finding] = [f for f in findings_of(result) if f["check"] == "NOT-ASSESSED"]
    assert finding["status"] == "skip" and finding["evidence_level"] == "none"
    assert finding["message"] == ("1 google_sql_database_instance resource(s) not assessed: "
                                  "posture does not cover provider google")
    assert finding["evidence"]["ids"] == ["google_sql_database_instance.db"]
    table = run("scan", str(tmp_path / "plan.json"), "--checks", "NET-01").stdout
    assert "1 skipped" in table


def test_an_incomplete_plan_is_an_incomplete_scan(tmp_path: Path) -> None:
    doc = json.loads(GATE.read_text())
    doc["complete"] = False
    code, result = scan_json(str(write(tmp_path, doc)), "--checks", "RES-01",
                             "--fail-on", "none")
    assert code == 3
    assert any(f["status"] == "error" and f["reason"] == "invalid"
               for f in findings_of(result))
    assert "incomplete" in result["errors"][0]["message"]


def test_terraform_is_not_a_live_source() -> None:
    result = run("scan", "terraform")
    assert result.exit_code == 2
    assert "terraform show -json" in result.stderr
