"""Terraform plans judged with the live estate's checks: the bundled plans give exactly the
findings fixtures/terraform/README.md lists (modules with for_each, provider aliases in two
regions, unknown values, deleted resources, uncovered types), --changed-only, --tf-dir and
SARIF locations, --record and replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from providers.terraform import PROVIDER, plan
from scanner import snapshot
from scanner.model import PROPERTIES
from tests.helpers import ROOT, findings_of, run, scan_json

TF = ROOT / "fixtures" / "terraform"
GATE = TF / "hcloud-gate.plan.json"
AWS = TF / "aws-modules.plan.json"
AZURE = TF / "azure.plan.json"
SEED = TF / "hcloud-seed002.plan.json"
CHECKS = "NET-01,NET-02,NET-03,NET-04,RES-01,RES-02,ENC-01,ENC-03,BAK-01,BAK-02,TLS-01," \
         "TLS-02,TLS-03,IAM-03"


def address(f: dict[str, Any]) -> str:
    """A plan resource's Terraform address (its id is `<cloud>:<plan>/<address>`); the id
    of anything else (not-assessed groups, account-level skips)."""
    rid = str(f["resource"])
    if f["check"] == "NOT-ASSESSED" or rid.startswith("terraform:") or "/" not in rid:
        return rid
    return rid.split("/", 1)[1]


def triples(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(check, terraform address or resource id, status) of every finding."""
    return {(f["check"], address(f), f["status"]) for f in findings_of(doc)}


def scan_plan(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    return scan_json(str(path), "--checks", CHECKS, *args)


GATE_EXPECTED = {
    ("BAK-02", "hcloud_server.db", "pass"),
    ("ENC-01", "hcloud_server.bastion", "fail"),
    ("ENC-01", "hcloud_server.db", "fail"),
    ("ENC-01", "hcloud_server.web", "fail"),
    ("ENC-01", "hcloud_volume.db", "fail"),
    ("NET-01", "hcloud_server.db", "fail"),
    ("NET-02", "hcloud_load_balancer.site", "pass"),
    ("NET-02", "hcloud_server.bastion", "error"),
    ("NET-02", "hcloud_server.db", "error"),
    ("NET-02", "hcloud_server.web", "fail"),
    ("NET-03", "hcloud_server.bastion", "skip"),
    ("NET-03", "hcloud_server.web", "fail"),
    ("NET-04", "hcloud_server.bastion", "pass"),
    ("NET-04", "hcloud_server.db", "pass"),
    ("NET-04", "hcloud_server.web", "fail"),
    ("NOT-ASSESSED", "terraform:hcloud-gate/not_assessed/hcloud_server/deleted", "skip"),
    ("NOT-ASSESSED", "terraform:hcloud-gate/not_assessed/hcloud_ssh_key/type_not_covered",
     "skip"),
    ("RES-01", "hcloud_load_balancer.site", "pass"),
    ("RES-01", "hcloud_server.bastion", "pass"),
    ("RES-01", "hcloud_server.db", "pass"),
    ("RES-01", "hcloud_server.web", "pass"),
    ("RES-01", "hcloud_volume.db", "pass"),
    ("TLS-01", "hcloud_load_balancer_service.site_https", "pass"),
    ("TLS-02", "hcloud_load_balancer_service.site_https", "pass"),
    ("TLS-02", "hcloud_load_balancer_service.site_https/redirect_http", "pass"),
    ("TLS-03", "hcloud_managed_certificate.site", "pass"),  # requested: issued at apply
}

AWS_EXPECTED = {
    ("BAK-01", "aws_s3_bucket.logs", "pass"),
    ("BAK-01", "aws_s3_bucket.replica", "fail"),
    ("BAK-01", "module.dr.aws_db_instance.db", "fail"),
    ("BAK-01", 'module.net["prod"].aws_db_instance.db', "fail"),
    ("BAK-01", 'module.net["staging"].aws_db_instance.db', "error"),
    ("BAK-02", "module.dr.aws_db_instance.db", "pass"),
    ("BAK-02", 'module.net["prod"].aws_db_instance.db', "pass"),
    ("BAK-02", 'module.net["staging"].aws_db_instance.db', "fail"),
    ("ENC-01", "aws_instance.web/root_block_device/0", "pass"),
    ("ENC-01", "aws_instance.worker/root_block_device/0", "error"),
    ("ENC-01", "aws_s3_bucket.logs", "pass"),
    ("ENC-01", "aws_s3_bucket.replica", "pass"),
    ("ENC-01", "module.dr.aws_db_instance.db", "pass"),
    ("ENC-01", 'module.net["prod"].aws_db_instance.db', "pass"),
    ("ENC-01", 'module.net["staging"].aws_db_instance.db', "fail"),
    ("ENC-03", "aws_kms_key.main", "fail"),
    ("IAM-03", "aws_instance.web", "pass"),
    ("IAM-03", "aws_instance.worker", "fail"),
    ("NET-01", "module.dr.aws_db_instance.db", "pass"),
    ("NET-01", 'module.net["prod"].aws_db_instance.db', "pass"),
    ("NET-01", 'module.net["staging"].aws_db_instance.db', "fail"),
    ("NET-02", "aws_instance.web", "fail"),
    ("NET-02", "aws_instance.worker", "error"),
    ("NET-02", "aws_lb.web", "pass"),
    ("NET-02", 'module.net["staging"].aws_db_instance.db', "error"),
    ("NET-03", "aws_instance.web", "fail"),
    ("NET-03", "aws_instance.worker", "error"),
    ("NET-04", "aws_instance.web", "pass"),
    ("NET-04", "aws_instance.worker", "pass"),
    ("NOT-ASSESSED", "terraform:aws-modules/not_assessed/aws_instance/deleted", "skip"),
    ("NOT-ASSESSED", "terraform:aws-modules/not_assessed/random_password/provider_not_covered",
     "skip"),
    ("RES-01", "aws_instance.web", "pass"),
    ("RES-01", "aws_instance.web/root_block_device/0", "pass"),
    ("RES-01", "aws_instance.worker", "pass"),
    ("RES-01", "aws_instance.worker/root_block_device/0", "pass"),
    ("RES-01", "aws_lb.web", "pass"),
    ("RES-01", "aws_s3_bucket.logs", "fail"),
    ("RES-01", "aws_s3_bucket.replica", "pass"),
    ("RES-01", "module.dr.aws_db_instance.db", "fail"),
    ("RES-01", 'module.net["prod"].aws_db_instance.db', "pass"),
    ("RES-01", 'module.net["staging"].aws_db_instance.db', "pass"),
    ("RES-02", "aws_s3_bucket.logs", "pass"),
    ("RES-02", "aws_s3_bucket.replica", "pass"),
    ("RES-02", "module.dr.aws_db_instance.db", "pass"),
    ("RES-02", 'module.net["prod"].aws_db_instance.db', "pass"),
    ("RES-02", 'module.net["staging"].aws_db_instance.db', "pass"),
    ("TLS-01", "aws_lb_listener.https", "fail"),
    ("TLS-02", "aws_lb_listener.http", "pass"),
    ("TLS-02", "aws_lb_listener.https", "pass"),
    # no bucket policy planned: plain HTTP accepted, as the live scan reads a bucket
    ("TLS-02", "aws_s3_bucket.logs", "fail"),
    ("TLS-02", "aws_s3_bucket.replica", "fail"),
}

AZURE_EXPECTED = {
    ("BAK-01", "azurerm_mssql_database.app", "fail"),
    ("BAK-01", "azurerm_postgresql_flexible_server.main", "fail"),
    ("BAK-01", "azurerm_storage_account.data", "pass"),
    ("BAK-02", "azurerm_mssql_database.app", "pass"),
    ("BAK-02", "azurerm_postgresql_flexible_server.main", "pass"),
    ("ENC-01", "azurerm_linux_virtual_machine.app/os_disk", "pass"),
    ("ENC-01", "azurerm_mssql_database.app", "pass"),
    ("ENC-01", "azurerm_postgresql_flexible_server.main", "pass"),
    ("ENC-01", "azurerm_storage_account.data", "pass"),
    ("ENC-03", "azurerm_key_vault.main", "fail"),
    ("IAM-03", "azurerm_linux_virtual_machine.app", "fail"),
    ("NET-01", "azurerm_mssql_database.app", "fail"),
    ("NET-01", "azurerm_postgresql_flexible_server.main", "pass"),
    ("NET-02", "azurerm_linux_virtual_machine.app", "fail"),
    ("NET-02", "azurerm_mssql_database.app", "fail"),
    ("NET-03", "azurerm_linux_virtual_machine.app", "fail"),
    ("NET-04", "azurerm_linux_virtual_machine.app", "pass"),
    ("NOT-ASSESSED", "terraform:azure/not_assessed/google_storage_bucket/provider_not_covered",
     "skip"),
    ("RES-01", "azurerm_key_vault.main", "pass"),
    ("RES-01", "azurerm_linux_virtual_machine.app", "pass"),
    ("RES-01", "azurerm_linux_virtual_machine.app/os_disk", "pass"),
    ("RES-01", "azurerm_mssql_database.app", "pass"),
    ("RES-01", "azurerm_postgresql_flexible_server.main", "pass"),
    ("RES-01", "azurerm_storage_account.data", "pass"),
    ("RES-02", "azurerm_mssql_database.app", "pass"),
    ("RES-02", "azurerm_postgresql_flexible_server.main", "pass"),
    ("RES-02", "azurerm_storage_account.data", "pass"),
    ("TLS-01", "azurerm_mssql_database.app", "pass"),
    ("TLS-01", "azurerm_storage_account.data", "fail"),
    ("TLS-02", "azurerm_storage_account.data", "pass"),
}


@pytest.mark.parametrize(("path", "expected"), [(GATE, GATE_EXPECTED), (AWS, AWS_EXPECTED),
                                                (AZURE, AZURE_EXPECTED)],
                         ids=["hcloud", "aws", "azure"])
def test_plan_gives_exactly_the_documented_findings(path: Path,
                                                    expected: set[tuple[str, str, str]]) -> None:
    code, doc = scan_plan(path)
    assert triples(doc) == expected
    assert code == 1  # violations at or above low
    assert doc["sources"][0]["type"] == "terraform-plan"


def test_the_database_the_plan_puts_on_the_internet_fails_and_stops_the_deploy() -> None:
    code, doc = scan_json(str(GATE), "--checks", "NET-01", "--fail-on", "critical")
    db = next(f for f in findings_of(doc) if f["check"] == "NET-01")
    assert db["status"] == "fail" and db["provider"] == "hetzner"
    assert db["evidence"]["public_ips"] == ["ipv4 of hcloud_server.db (known after apply)"]
    assert code == 1


def test_a_verdict_resting_on_an_unknown_value_is_error_unknown_until_apply() -> None:
    _, doc = scan_json(str(GATE), "--checks", "NET-02")
    db = next(f for f in findings_of(doc) if address(f) == "hcloud_server.db")
    assert db["status"] == "error" and db["reason"] == "unknown"
    assert db["message"].startswith("unknown until apply (ingress)")
    assert db["evidence"]["verdict_most_exposed"] == "fail"
    assert db["evidence"]["verdict_least_exposed"] == "pass"
    # the public address of the bastion is known to exist only after apply
    bastion = next(f for f in findings_of(doc)
                   if address(f) == "hcloud_server.bastion")
    assert bastion["status"] == "error"
    assert bastion["evidence"]["unknown_until_apply"] == ["public_ips"]


def test_unknown_values_never_pass(tmp_path: Path) -> None:
    """The same plan with the unknown source replaced by the operator range would pass:
    with it unknown, nothing about the database's admin ports passes."""
    doc = json.loads(GATE.read_text())
    _, result = scan_json(str(GATE), "--checks", "NET-02", "--profile", "seed-002")
    before = {address(f): f["status"] for f in findings_of(result)}
    assert before["hcloud_server.db"] == "error"
    for rc in doc["resource_changes"]:
        if rc["address"] == "hcloud_firewall.db":
            rc["change"]["after_unknown"] = {"id": True}
            rc["change"]["after"]["rule"][0]["source_ips"] = ["198.51.100.0/24"]
    for r in doc["planned_values"]["root_module"]["resources"]:
        if r["address"] == "hcloud_firewall.db":
            r["values"]["rule"][0]["source_ips"] = ["198.51.100.0/24"]
    known = tmp_path / "known.json"
    known.write_text(json.dumps(doc))
    _, result = scan_json(str(known), "--checks", "NET-02", "--profile", "seed-002")
    after = {address(f): f["status"] for f in findings_of(result)}
    assert after["hcloud_server.db"] == "pass"


def test_module_instances_keep_their_full_addresses_and_aliases_their_regions() -> None:
    _, doc = scan_json(str(AWS), "--checks", "RES-01")
    regions = {address(f): f["region"] for f in findings_of(doc)
               if f["check"] == "RES-01"}
    assert regions['module.net["prod"].aws_db_instance.db'] == "eu-central-1"
    assert regions['module.net["staging"].aws_db_instance.db'] == "eu-central-1"
    assert regions["module.dr.aws_db_instance.db"] == "us-east-1"  # providers = aws.us
    assert regions["aws_s3_bucket.logs"] == "us-east-1"  # provider = aws.us, var.us_region
    ids = {f["resource"] for f in findings_of(doc)}
    assert 'aws:aws-modules/module.net["staging"].aws_db_instance.db' in ids


def test_deleted_and_uncovered_resources_are_listed_not_judged() -> None:
    _, doc = scan_json(str(AWS), "--checks", "NET-03")
    skipped = {f["resource"]: f for f in findings_of(doc) if f["check"] == "NOT-ASSESSED"}
    deleted = skipped["terraform:aws-modules/not_assessed/aws_instance/deleted"]
    assert deleted["evidence"]["ids"] == ["aws_instance.legacy"]
    assert deleted["evidence_level"] == "none" and deleted["status"] == "skip"
    assert not any("legacy" in f["resource"] for f in findings_of(doc)
                   if f["check"] != "NOT-ASSESSED")
    random = skipped["terraform:aws-modules/not_assessed/random_password/provider_not_covered"]
    assert "posture does not cover provider random" in random["message"]


def test_changed_only_judges_what_the_plan_changes_and_what_depends_on_it(
        tmp_path: Path) -> None:
    doc = json.loads(SEED.read_text())
    for rc in doc["resource_changes"]:
        if rc["address"] == "hcloud_firewall.db":
            rc["change"]["actions"] = ["update"]
    changed = tmp_path / "plan.json"
    changed.write_text(json.dumps(doc))
    _, everything = scan_json(str(changed), "--profile", "seed-002")
    _, only = scan_json(str(changed), "--profile", "seed-002", "--changed-only")
    judged = {address(f) for f in findings_of(only) if f["resource_kind"] != "account"}
    # fw-db reaches db-1 and db-2 by label selector: their verdicts depend on the change;
    # the changed firewall itself is judged by its rules (NET-07)
    assert judged == {"hcloud_firewall.db", "hcloud_server.db_1", "hcloud_server.db_2"}
    # what a plan cannot show (LOG-01, VUL-01 of the page) is stated once for the plan, and
    # so is INV-01 (a plan is the declared side: it is compared with a live estate, --iac)
    assert {(f["check"], f["resource"], f["status"]) for f in findings_of(only)
            if f["resource_kind"] == "account"} == {
        ("LOG-01", "terraform:plan", "skip"), ("VUL-01", "terraform:plan", "skip"),
        ("INV-01", "terraform:plan", "skip")}
    assert len(findings_of(everything)) > len(findings_of(only))
    assert only["sources"][0]["changed_only"] is True


def test_tf_dir_points_findings_and_sarif_results_at_the_resource_block() -> None:
    out = run("scan", str(AWS), "--checks", "NET-01,NET-02", "--tf-dir",
              str(TF / "tf-aws"), "--format", "sarif", "--no-timestamps")
    sarif = json.loads(out.stdout)
    where = {r["properties"]["evidence"]["address"]: r["locations"][0]["physicalLocation"]
             for r in sarif["runs"][0]["results"]}
    web = where["aws_instance.web"]
    assert web["artifactLocation"]["uri"].endswith("fixtures/terraform/tf-aws/main.tf")
    assert web["region"]["startLine"] == 41
    db = where['module.net["staging"].aws_db_instance.db']
    assert db["artifactLocation"]["uri"].endswith("tf-aws/modules/net/main.tf")
    assert db["region"]["startLine"] == 22
    assert out.exit_code == 1


def test_a_recorded_plan_replays_to_the_same_findings(tmp_path: Path) -> None:
    snap = tmp_path / "plan-snapshot.json"
    _, direct = scan_json(str(AWS), "--checks", CHECKS, "--record", str(snap))
    _, replay = scan_json(str(snap), "--checks", CHECKS)
    assert triples(direct) == triples(replay)
    loaded = snapshot.load(snap)
    assert [s.provider for s in loaded.sections] == ["terraform"]
    secret = tmp_path / "azure-snapshot.json"
    scan_json(str(AZURE), "--checks", "NET-01", "--record", str(secret))
    assert "azurerm_mssql_server.main.administrator_login_password" in \
        snapshot.load(secret).sections[0].redacted  # sensitive: never recorded
    assert "Hunter2-Secret!" not in secret.read_text()


def test_state_files_are_read_too(tmp_path: Path) -> None:
    plan_doc = json.loads(SEED.read_text())
    state = {"format_version": "1.0", "terraform_version": "1.9.8",
             "values": {"root_module": plan_doc["planned_values"]["root_module"]}}
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    _, from_state = scan_json(str(path), "--profile", "seed-002")
    _, from_plan = scan_json(str(SEED), "--profile", "seed-002")
    # account-level skips (controls a plan cannot show) name their source file
    def resources(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
        return {(c, a, s) for c, a, s in triples(doc)
                if c != "NOT-ASSESSED" and not a.startswith("terraform:")}

    def account_skips(doc: dict[str, Any]) -> set[tuple[str, str]]:
        return {(f["check"], f["status"]) for f in findings_of(doc)
                if str(f["resource"]).startswith("terraform:")}

    assert resources(from_state) == resources(from_plan)
    assert account_skips(from_state) == account_skips(from_plan) == {
        ("LOG-01", "skip"), ("VUL-01", "skip"), ("INV-01", "skip")}
    assert from_state["sources"][0]["type"] == "terraform-state"


@pytest.mark.parametrize("path", [GATE, AWS, AZURE, SEED], ids=lambda p: p.name)
def test_plan_resources_use_only_the_documented_vocabulary(path: Path) -> None:
    sections, _ = PROVIDER.read_file(path, {})
    inv = PROVIDER.normalize(sections[0])
    assert inv.resources
    for r in inv.resources:
        assert set(r.properties) <= set(PROPERTIES), r.id
        for name in r.properties:
            assert r.kind in PROPERTIES[name].kinds, (r.id, name)
        assert r.provider in ("aws", "azure", "hetzner")
    ids = [r.id for r in inv.resources]
    assert len(ids) == len(set(ids))


def test_plans_are_recognised_by_content_not_by_name(tmp_path: Path) -> None:
    odd = tmp_path / "whatever.txt"
    odd.write_bytes(GATE.read_bytes())
    assert plan.sniff(odd)
    assert not plan.sniff(ROOT / "fixtures" / "hetzner" / "seed002-hetzner.json")
    code, doc = scan_json(str(odd), "--checks", "NET-01")
    assert code == 1 and doc["sources"][0]["accounts"] == ["terraform:whatever.txt"]
