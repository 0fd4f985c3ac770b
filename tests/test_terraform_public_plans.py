"""Public plans of Terraform's, infracost's and terraform-compliance's test suites
(tests/data/plans/README.md names each source and licence): what their shapes taught.

- Terraform 0.12 to 1.1 wrote a module resource's `provider_config_key` with the module
  call's last name only (`instances:aws`), `provider_config` with the module's full path
  (`module.instances:aws`): a module's own provider region is its resources' region.
- A plan whose `planned_values` lack instances its `resource_changes` create or keep (cut
  by hand or a filter) loses none of them.
- The log of hashicorp/setup-terraform's wrapper around the JSON is refused in one line
  that says how to get the plan.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.helpers import ROOT, findings_of, run, scan_json

DATA = ROOT / "tests" / "data" / "plans"
MODULES = DATA / "infracost-modules-0.1.plan.json"  # Terraform 0.14.11, format 0.1
NO_PLANNED = DATA / "terraform-compliance-567-0.2.plan.json"  # Terraform 1.0.2, format 0.2
ROOT_VM = "aws_instance.instance_1"
MODULE_VM = "module.instances.aws_instance.module_instance_1"
NESTED_DB = "module.db.module.db_1.module.db_instance.aws_db_instance.this[0]"


def modules_plan() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(MODULES.read_text())
    return doc


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    return path


def verdicts(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
            for f in findings_of(doc) if f["check"] != "NOT-ASSESSED"}


def region_verdicts(tmp_path: Path, doc: dict[str, Any]) -> dict[str, str]:
    _, out = scan_json(str(write(tmp_path, doc)), "--checks", "RES-01")
    return {addr: status for (_, addr), status in verdicts(out).items()
            if "/" not in addr}


def test_a_modules_own_provider_region_is_its_resources_region_in_a_pre_1_2_plan(
        tmp_path: Path) -> None:
    doc = modules_plan()
    configs = doc["configuration"]["provider_config"]
    # the public plan configures us-east-1 everywhere: the root moved to the EU tells
    # the root's configuration from the modules' own (module.instances, module.db)
    configs["aws"]["expressions"]["region"] = {"constant_value": "eu-central-1"}
    assert configs["module.instances:aws"]["expressions"]["region"] == \
        {"constant_value": "us-east-1"}
    got = region_verdicts(tmp_path, doc)
    assert got[ROOT_VM] == "pass"
    # read as the root's (eu-central-1), both passed RES-01 while planned in us-east-1
    assert got[MODULE_VM] == "fail"
    # module.db.module.db_1.module.db_instance has no provider block of its own (nor
    # db_1): it inherits module.db's us-east-1
    assert got[NESTED_DB] == "fail"


def test_a_module_that_may_be_passed_an_aliased_provider_has_no_known_region(
        tmp_path: Path) -> None:
    doc = modules_plan()
    configs = doc["configuration"]["provider_config"]
    configs["aws"]["expressions"]["region"] = {"constant_value": "eu-central-1"}
    del configs["module.instances:aws"]  # the module configures no provider itself...
    # ...and the root has an aliased configuration its call may pass (`providers = {aws =
    # aws.us}`, which these formats do not write)
    configs["aws.us"] = {"name": "aws", "alias": "us",
                         "expressions": {"region": {"constant_value": "us-east-1"}}}
    got = region_verdicts(tmp_path, doc)
    assert got[MODULE_VM] == "error"  # was pass: the root's default region assumed
    assert got[ROOT_VM] == "pass"


def test_instances_missing_from_planned_values_are_judged_from_their_change(
        tmp_path: Path) -> None:
    full = modules_plan()
    cut = copy.deepcopy(full)
    cut["planned_values"] = {"root_module": {}}
    _, whole = scan_json(str(write(tmp_path, full)))
    (tmp_path / "cut").mkdir()
    _, without = scan_json(str(write(tmp_path / "cut", cut)))
    assert verdicts(without) == verdicts(whole)
    assert ("NET-01", NESTED_DB) in verdicts(without)


def test_a_change_without_planned_values_is_named_not_dropped() -> None:
    # terraform-compliance's plan for its issue 567: ten datadog monitors updated in
    # resource_changes, an empty root module in planned_values
    doc = json.loads(NO_PLANNED.read_text())
    changed = {rc["address"] for rc in doc["resource_changes"]}
    assert len(changed) == 10 and not doc["planned_values"]["root_module"]["resources"]
    _, out = scan_json(str(NO_PLANNED))
    named = {i for f in findings_of(out) if f["check"] == "NOT-ASSESSED"
             for i in f["evidence"]["ids"]}
    assert named == changed


def test_setup_terraforms_wrapper_log_is_refused_with_the_way_out(tmp_path: Path) -> None:
    body = json.dumps(modules_plan(), separators=(",", ":"))
    log = tmp_path / "plan.json"
    # the shape of infracost's cmd/infracost/testdata/plan_with_terraform_wrapper.json
    log.write_text(f"[command]/tmp/x/terraform-bin show -json plan.tfplan\n{body}\n"
                   "::debug::Terraform exited with code 0.\n"
                   f"::debug::stdout: {body[:60]}%0A\n::set-output name=exitcode::0\n")
    proc = run("scan", str(log), "--format", "json")
    assert proc.exit_code == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "setup-terraform" in lines[0] and \
        "terraform_wrapper: false" in lines[0]
    assert "Traceback" not in proc.stderr


def test_a_deferred_change_is_named_not_dropped(tmp_path: Path) -> None:
    # Terraform 1.8+ `-allow-deferral`: what it cannot plan yet is only in deferred_changes
    # (internal/command/jsonplan/resource.go, DeferredResourceChange), the plan incomplete
    doc = modules_plan()
    doc.update(format_version="1.2", terraform_version="1.9.0", complete=False)
    moved = next(rc for rc in doc["resource_changes"] if rc["address"] == MODULE_VM)
    doc["resource_changes"].remove(moved)
    doc["planned_values"]["root_module"]["child_modules"] = [
        m for m in doc["planned_values"]["root_module"]["child_modules"]
        if m["address"] != "module.instances"]
    doc["deferred_changes"] = [{"reason": "provider_config_unknown",
                                "resource_change": moved}]
    _, out = scan_json(str(write(tmp_path, doc)))
    hits = [f for f in findings_of(out) if f["check"] == "NOT-ASSESSED"
            and MODULE_VM in f["evidence"]["ids"]]
    assert len(hits) == 1 and hits[0]["evidence"]["reason"] == "deferred"
    assert out["summary"]["unassessed"] >= 1


def test_an_empty_state_is_refused_as_empty_not_as_something_else(tmp_path: Path) -> None:
    # what `terraform show -json` writes with no state (Terraform's
    # internal/command/testdata/show-json-state/empty/output.json)
    path = tmp_path / "state.json"
    path.write_text('{\n    "format_version": "1.0"\n}')
    result = run("scan", str(path), "--format", "json")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "empty Terraform state" in lines[0]


def test_a_change_without_planned_or_after_values_is_unknown_never_pass(tmp_path: Path) -> None:
    doc = modules_plan()
    db = next(rc for rc in doc["resource_changes"] if rc["address"] == NESTED_DB)
    db["change"]["after"] = None  # nothing planned to read, and no planned_values either
    doc["planned_values"]["root_module"]["child_modules"] = [
        m for m in doc["planned_values"]["root_module"]["child_modules"]
        if m["address"] != "module.db"]
    _, out = scan_json(str(write(tmp_path, doc)))
    got = {check: status for (check, addr), status in verdicts(out).items()
           if addr == NESTED_DB}
    assert got["ENC-01"] == "error" and got["NET-01"] != "pass"
    assert "pass" not in {got[c] for c in ("BAK-02", "BAK-03") if c in got}


def test_hcp_terraforms_redacted_plan_is_refused_with_the_way_out(tmp_path: Path) -> None:
    # the shape of HCP Terraform's `json-output-redacted` (plan_format_version, changes only)
    path = tmp_path / "plan-redacted.json"
    path.write_text(json.dumps({
        "plan_format_version": "1.1", "resource_drift": [], "relevant_attributes": [],
        "output_changes": {}, "provider_format_version": "1.0", "provider_schemas": {},
        "resource_changes": [{"address": "aws_instance.web", "mode": "managed",
                              "type": "aws_instance", "name": "web",
                              "provider_name": "registry.terraform.io/hashicorp/aws",
                              "change": {"actions": ["create"], "before": None,
                                         "after": {}, "after_unknown": {"id": True}}}]}))
    result = run("scan", str(path), "--format", "json")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HCP Terraform's redacted plan" in lines[0]
