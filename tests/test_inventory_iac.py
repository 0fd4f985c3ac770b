"""INV-01: the live estate against the infrastructure-as-code given with --iac (drift both
ways), or against the profile's managed-by tag; bad --iac files; record and replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from providers.aws.normalize import implicit as aws_implicit
from providers.terraform import declared
from scanner import snapshot
from scanner.check import CheckContext
from scanner.graph import EstateGraph
from scanner.model import Declaration, Inventory, Kind, Resource
from scanner.profile import Parameters
from scanner.registry import load_checks
from tests.helpers import ROOT, SEED002, findings_of, run, scan_json

TF = ROOT / "fixtures" / "terraform"
STATE = TF / "seed002-hetzner.tfstate"
AZURE = ROOT / "fixtures" / "azure" / "seed000-azure.json"
AZURE_STATE = TF / "seed000-azure.state.json"
AWS = ROOT / "fixtures" / "aws" / "seed002-aws.json"
P = "hetzner:ohallo-prod/"
SRC = "fixtures/terraform/seed002-hetzner.tfstate"


def inv01(*args: str) -> tuple[int, dict[str, Any], dict[str, dict[str, Any]]]:
    code, doc = scan_json(*args, "--checks", "INV-01")
    return code, doc, {f["resource"]: f for f in findings_of(doc)}


def statuses(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {rid: f["status"] for rid, f in found.items()}


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # --iac paths as given name the declarations: keep them short


# --- the bundled state: drift both ways ------------------------------------------------------

HETZNER_EXPECTED = {
    # declared and live
    **{f"{P}server/{i}": "pass" for i in (101, 102, 103, 104, 105)},
    **{f"{P}firewall/{i}": "pass" for i in (201, 202, 203)},
    **{f"{P}volume/{i}": "pass" for i in (401, 402)},
    f"{P}network/4711": "pass", f"{P}subnet/4711/10.0.1.0/24": "pass",
    f"{P}load_balancer/301": "pass", f"{P}load_balancer/302": "pass",
    f"{P}load_balancer/301/service/443": "pass",
    **{f"{P}load_balancer/302/service/{port}": "pass" for port in (8080, 443, 2222)},
    f"{P}certificate/501": "pass", f"{P}certificate/502": "pass",
    f"{P}floating_ip/601": "pass",
    # created by hand: unmanaged
    f"{P}server/106": "fail", f"{P}volume/403": "fail", f"{P}firewall/204": "fail",
    # part of something declared, or created with its server: not asked to be declared
    f"{P}load_balancer/301/service/80": "skip",
    **{f"{P}primary_ip/{i}": "skip" for i in (1020, 1040, 1050, 1060)},
    # deleted by hand: declared, not live
    f"iac:{SRC}/hcloud_server.cache": "fail",
    f"iac:{SRC}/hcloud_volume.cache_data": "fail",
    # types with no live counterpart: listed, not compared
    **{f"iac:{SRC}/not_compared/{t}": "skip" for t in (
        "hcloud_ssh_key", "hcloud_server_network", "hcloud_firewall_attachment",
        "hcloud_load_balancer_target")},
}


def test_seed002_state_finds_exactly_the_drift_both_ways() -> None:
    code, doc, found = inv01(relative(SEED002), "--iac", SRC)
    assert code == 1
    assert statuses(found) == HETZNER_EXPECTED
    assert doc["sources"][1] == {
        "type": "iac", "name": "seed002-hetzner.tfstate", "format": "terraform-state",
        "accounts": [f"iac:{SRC}"], "declared": 30,
        "digest": doc["sources"][1]["digest"]}


def test_a_pass_names_the_declaring_address_and_a_drift_names_what_is_missing() -> None:
    _, _, found = inv01(relative(SEED002), "--iac", SRC)
    db1 = found[f"{P}server/103"]
    assert (db1["message"], db1["evidence"], db1["evidence_level"]) == (
        f'declared in {SRC} as hcloud_server.db["db-1"]',
        {"address": 'hcloud_server.db["db-1"]', "iac": SRC}, "config")
    assert found[f"{P}load_balancer/302/service/2222"]["evidence"]["address"] == \
        'module.edge.hcloud_load_balancer_service.admin["ssh"]'
    worker = found[f"{P}server/106"]
    assert worker["message"] == f"unmanaged: not declared in {SRC}"
    cache = found[f"iac:{SRC}/hcloud_server.cache"]
    assert (cache["provider"], cache["account"], cache["region"], cache["resource_kind"],
            cache["resource_name"], cache["message"]) == (
        "hetzner", "ohallo-prod", "fsn1", "compute", "hcloud_server.cache",
        "declared but not live: no compute with id server/107")
    assert cache["evidence"] == {"address": "hcloud_server.cache", "iac": SRC,
                                 "native_id": "server/107"}
    redirect = found[f"{P}load_balancer/301/service/80"]
    assert redirect["evidence"] == {"implicit": "the port-80 redirect of https service 443 "
                                                "(its http.redirect_http setting)"}
    targets = found[f"iac:{SRC}/not_compared/hcloud_load_balancer_target"]
    assert targets["evidence"]["addresses"] == [
        "module.edge.hcloud_load_balancer_target.admin_app_2",
        "module.edge.hcloud_load_balancer_target.web[0]",
        "module.edge.hcloud_load_balancer_target.web[1]"]


def test_recorded_with_iac_the_snapshot_replays_the_same_findings_without_secrets(
        tmp_path: Path) -> None:
    recorded = tmp_path / "estate.json"
    _, first, _ = inv01(relative(SEED002), "--iac", SRC, "--record", str(recorded))
    _, again, _ = inv01(str(recorded))
    assert findings_of(again) == findings_of(first)
    snap = snapshot.load(recorded)
    [section] = [s for s in snap.sections if s.provider == "iac"]
    assert section.account == SRC
    assert section.collected_at == "2026-11-20T02:00:00Z"  # the estate's: as-of unchanged
    [source] = section.items("source")
    assert (source["format"], source["serial"], source["terraform_version"]) == (
        "terraform-state", 42, "1.9.8")
    text = recorded.read_text()
    assert "CANARY" not in text and "PRIVATE KEY" not in text  # sensitive attribute
    assert "ssh-ed25519" not in text  # attributes of types posture does not map


# --- without infrastructure-as-code --------------------------------------------------------

def claim_profile(tmp_path: Path, parameters: str = "") -> Path:
    path = tmp_path / "page.toml"
    path.write_text(f"""
[profile]
name = "page"

[parameters]
{parameters}

[[claims]]
id = "iac"
quote = "Production configuration is managed through version-controlled infrastructure-as-code."
checks = ["INV-01"]
""")
    return path


def test_without_iac_or_managed_by_tag_the_claim_is_not_verifiable_never_verified(
        tmp_path: Path) -> None:
    code, doc, found = inv01(relative(SEED002), "--profile", str(claim_profile(tmp_path)))
    assert code == 0
    assert statuses(found) == {"hetzner:ohallo-prod": "skip"}
    assert found["hetzner:ohallo-prod"]["evidence_level"] == "none"
    [claim] = doc["claims"]
    assert claim["status"] == "not_verifiable"
    assert "no infrastructure-as-code to compare with" in claim["reason"]


def tagged_snapshot(tmp_path: Path) -> Path:
    """The seed 002 project with a managed-by label on some resources."""
    doc = json.loads(SEED002.read_text())
    collections = doc["sections"][0]["collections"]
    marks = {("servers", 101): "terraform", ("servers", 102): "Terraform",
             ("servers", 106): "clickops", ("volumes", 403): "terraform"}
    for (name, oid), value in marks.items():
        [obj] = [o for o in collections[name]["global"] if o["id"] == oid]
        obj["labels"]["managed-by"] = value
    path = tmp_path / "tagged.json"
    path.write_text(json.dumps(doc))
    snapshot.seal(path, path)
    return path


def test_managed_by_tag_passes_attested_and_fails_other_values(tmp_path: Path) -> None:
    profile = claim_profile(tmp_path, 'managed_by_tag = "managed-by"')
    code, doc, found = inv01(str(tagged_snapshot(tmp_path)), "--profile", str(profile))
    assert code == 1
    got = {rid: (f["status"], f["evidence_level"]) for rid, f in found.items()}
    assert got[f"{P}server/101"] == ("pass", "attested")
    assert got[f"{P}server/102"] == ("pass", "attested")  # values compared case-insensitively
    assert got[f"{P}volume/403"] == ("pass", "attested")
    assert found[f"{P}server/106"]["evidence"]["tag"] == "managed-by=clickops"
    assert found[f"{P}server/106"]["message"] == "unmanaged: not tagged managed-by=terraform"
    assert got[f"{P}server/103"] == ("fail", "config")
    assert got[f"{P}primary_ip/1020"] == ("skip", "config")
    # only the tag: the declared side is not compared, and says so
    assert got["hetzner:ohallo-prod"] == ("skip", "config")
    assert "not compared" in found["hetzner:ohallo-prod"]["message"]
    assert doc["claims"][0]["status"] == "contradicted"


def test_iac_and_managed_by_tag_together_either_one_suffices(tmp_path: Path) -> None:
    profile = claim_profile(tmp_path, 'managed_by_tag = "managed-by"\n'
                                      'managed_by_values = ["terraform", "pulumi"]')
    _, _, found = inv01(str(tagged_snapshot(tmp_path)), "--iac", SRC, "--profile",
                        str(profile))
    got = {rid: (f["status"], f["evidence_level"]) for rid, f in found.items()}
    assert got[f"{P}server/101"] == ("pass", "config")  # declared: the state says so
    assert got[f"{P}volume/403"] == ("pass", "attested")  # only its tag says so
    assert got[f"{P}server/106"] == ("fail", "config")
    assert found[f"{P}server/106"]["message"] == (
        f"unmanaged: not declared in {SRC} or not tagged managed-by=terraform|pulumi")
    assert got[f"iac:{SRC}/hcloud_server.cache"] == ("fail", "config")
    assert "hetzner:ohallo-prod" not in got


@pytest.mark.parametrize(("parameters", "words"), [
    ('managed_by_tag = ""', "parameters.managed_by_tag: must name a tag/label key"),
    ("managed_by_values = []", "parameters.managed_by_values: must list at least one"),
    ('managed_by_values = "terraform"', "parameters.managed_by_values must be a list"),
])
def test_bad_managed_by_parameters_are_named(tmp_path: Path, parameters: str,
                                             words: str) -> None:
    result = run("scan", relative(SEED002), "--profile", str(claim_profile(tmp_path, parameters)))
    assert result.exit_code == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


# --- fail closed ---------------------------------------------------------------------------

def test_a_failed_collection_makes_errors_never_declared_but_not_live(tmp_path: Path) -> None:
    doc = json.loads(SEED002.read_text())
    section = doc["sections"][0]
    del section["collections"]["volumes"]
    section["errors"].append({"collection": "volumes", "region": "global", "reason": "denied",
                              "message": "insufficient permissions for this request"})
    denied = tmp_path / "denied.json"
    denied.write_text(json.dumps(doc))
    snapshot.seal(denied, denied)
    _, _, full = inv01(str(SEED002), "--iac", SRC)
    code, _, found = inv01(str(denied), "--iac", SRC)
    # a declared volume is "not live" only if the volume list says so: it was not read
    volume = found[f"iac:{SRC}/hcloud_volume.cache_data"]
    assert (volume["status"], volume["reason"]) == ("error", "denied")
    assert volume["evidence"]["verdict_on_partial_data"] == "fail"
    assert found[f"{P}global/volumes"]["status"] == "error"
    # every other verdict was read completely and stands (fail closed, precisely): the
    # declared server that is not live is a certain violation, so the exit code is 1
    assert found[f"iac:{SRC}/hcloud_server.cache"]["status"] == "fail"
    assert found[f"{P}server/101"]["status"] == full[f"{P}server/101"]["status"]
    changed = {rid for rid, f in found.items()
               if rid in full and f["status"] != full[rid]["status"]}
    assert all(found[rid]["resource_kind"] == "volume" for rid in changed), changed
    assert code == 1


# --- plans -----------------------------------------------------------------------------------

def hcloud(address: str, values: dict[str, Any]) -> dict[str, Any]:
    rtype, name = address.split(".")
    return {"address": address, "mode": "managed", "type": rtype, "name": name,
            "provider_name": "registry.terraform.io/hetznercloud/hcloud", "values": values,
            "sensitive_values": {}}


def test_a_plan_declares_its_prior_state_and_what_it_creates_is_not_live(
        tmp_path: Path) -> None:
    app = hcloud("hcloud_server.app", {"id": "101", "name": "app-1", "location": "fsn1"})
    worker = hcloud("hcloud_server.worker", {"id": "106", "name": "staging-worker",
                                             "location": "ash"})
    new = hcloud("hcloud_server.new", {"name": "app-3", "location": "fsn1"})
    plan = {
        "format_version": "1.2", "terraform_version": "1.9.8", "complete": True,
        "errored": False,
        "prior_state": {"format_version": "1.0", "values": {"root_module": {
            "resources": [app, worker]}}},
        "planned_values": {"root_module": {"resources": [app, new]}},
        "resource_changes": [
            {**{k: app[k] for k in ("address", "mode", "type", "name", "provider_name")},
             "change": {"actions": ["no-op"], "before": app["values"],
                        "after": app["values"]}},
            {**{k: worker[k] for k in ("address", "mode", "type", "name", "provider_name")},
             "change": {"actions": ["delete"], "before": worker["values"], "after": None}},
            {**{k: new[k] for k in ("address", "mode", "type", "name", "provider_name")},
             "change": {"actions": ["create"], "before": None, "after": new["values"],
                        "after_unknown": {"id": True}}}]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    _, doc, found = inv01(relative(SEED002), "--iac", str(tmp_path / "plan.json"))
    src = str(tmp_path / "plan.json")
    assert doc["sources"][1]["format"] == "terraform-plan"
    assert found[f"{P}server/101"]["status"] == "pass"
    gone = found[f"{P}server/106"]
    assert (gone["status"], gone["evidence"]["actions"]) == ("pass", ["delete"])
    created = found[f"iac:{src}/hcloud_server.new"]
    assert (created["status"], created["message"], created["region"]) == (
        "fail", "declared but not live: the plan creates it", "fsn1")
    assert found[f"{P}server/102"]["status"] == "fail"  # not in this plan


def test_a_plan_scanned_as_a_source_says_inv01_needs_the_live_estate() -> None:
    code, _, found = inv01(relative(TF / "hcloud-seed002.plan.json"))
    assert code == 0
    [(rid, only)] = found.items()
    assert (rid, only["status"], only["evidence_level"]) == (
        "terraform:hcloud-seed002", "skip", "none")
    assert "--iac plan.json" in only["message"]


# --- Azure and AWS ---------------------------------------------------------------------------

AZ = "/subscriptions/0b1f6471-1bf0-4dda-aec3-000000000000/resourcegroups/"


def test_azure_ids_match_case_insensitively_with_os_disks_and_inline_subnets() -> None:
    code, _, found = inv01(relative(AZURE), "--iac", relative(AZURE_STATE))
    assert code == 1
    src = relative(AZURE_STATE)
    got = statuses(found)
    expected = {
        # mixed-case ids in the state, "West Europe": matched
        f"{AZ}rg-prod/providers/microsoft.compute/virtualmachines/vm-app-1": "pass",
        f"{AZ}rg-prod/providers/microsoft.network/virtualnetworks/vnet-prod": "pass",
        f"{AZ}rg-prod/providers/microsoft.network/virtualnetworks/vnet-prod/subnets/snet-db":
            "pass",
        f"{AZ}rg-prod/providers/microsoft.compute/disks/vm-app-1-os": "pass",
        f"{AZ}rg-prod/providers/microsoft.compute/disks/vm-app-1-data": "pass",
        f"{AZ}rg-prod/providers/microsoft.keyvault/vaults/kv-prod-eu/keys/cmk-storage": "pass",
        "/subscriptions/0b1f6471-1bf0-4dda-aec3-000000000000/providers/microsoft.insights/"
        "diagnosticsettings/activity-to-law": "pass",
        f"{AZ}rg-prod/providers/microsoft.network/applicationgateways/agw-web": "pass",
        # inside the application gateway, or created with an unmanaged VM: not on their own
        f"{AZ}rg-prod/providers/microsoft.network/applicationgateways/agw-web/httplisteners/"
        "https": "skip",
        f"{AZ}rg-prod/providers/microsoft.network/applicationgateways/agw-web/sslcertificates/"
        "app-example-eu": "skip",
        f"{AZ}rg-data/providers/microsoft.compute/disks/vm-worker-os": "skip",
        # made by hand
        f"{AZ}rg-data/providers/microsoft.compute/virtualmachines/vm-worker": "fail",
        f"{AZ}rg-prod/providers/microsoft.storage/storageaccounts/stsallytmp": "fail",
        # deleted by hand
        f"iac:{src}/azurerm_storage_account.archive": "fail",
        # the staging subscription is in the file, not in the scan; resource diagnostics
        f"iac:{src}/not_compared/azure/7c3e9a10-5b2d-4e8f-9a1b-000000000077": "skip",
        f"iac:{src}/not_compared/azurerm_monitor_diagnostic_setting": "skip",
        f"iac:{src}/not_compared/azurerm_mssql_server": "skip",
    }
    assert {rid: got.get(rid) for rid in expected} == expected
    # every other live resource is either declared, or fails, or is implicit: none is lost
    assert set(got.values()) <= {"pass", "fail", "skip"}
    assert all(f["evidence"].get("implicit") or f["resource"].startswith("iac:")
               for f in found.values() if f["status"] == "skip")


ARN = "arn:aws:{service}:{region}:210987654321:{resource}"


def arn(service: str, resource: str, region: str = "eu-central-1") -> str:
    return ARN.format(service=service, region=region, resource=resource)


def state_v4(*resources: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {"version": 4, "terraform_version": "1.9.8", "serial": 7, "lineage": "aws-test",
            "resources": [{
                "mode": "managed", "type": address.split(".")[0], "name": address.split(".")[1],
                "provider": provider, "instances": [{"schema_version": 1,
                                                     "attributes": attributes}]}
                for address, provider, attributes in resources]}


AWS_PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'


def test_aws_arns_root_volumes_defaults_and_the_scanned_scope(tmp_path: Path) -> None:
    worker = "i-0a1b2c3d4e5f60001"
    main = state_v4(
        ("aws_instance.mail_worker", AWS_PROVIDER, {
            "id": worker, "arn": arn("ec2", f"instance/{worker}"),
            "root_block_device": [{"volume_id": "vol-0a1b2c3d4e5f60001", "encrypted": True}],
            "ebs_block_device": [], "user_data": "c2VjcmV0"}),
        ("aws_ebs_volume.spool", AWS_PROVIDER, {
            "id": "vol-0a1b2c3d4e5f60002", "arn": arn("ec2", "volume/vol-0a1b2c3d4e5f60002")}),
        # an older provider's EIP without an ARN: built from allocation id, region, account
        ("aws_eip.smtp_in", AWS_PROVIDER, {
            "id": "eipalloc-0a1b2c3d4e5f60002", "allocation_id": "eipalloc-0a1b2c3d4e5f60002",
            "network_border_group": "eu-central-1", "public_ip": "3.120.30.30"}),
        ("aws_s3_bucket.recordings", AWS_PROVIDER, {
            "id": "ohallo-recordings", "bucket": "ohallo-recordings",
            "arn": "arn:aws:s3:::ohallo-recordings", "region": "eu-central-1"}),
        ("aws_kms_key.recordings", AWS_PROVIDER, {
            "id": "1f1e1d1c-0000-4000-8000-000000000001",
            "arn": arn("kms", "key/1f1e1d1c-0000-4000-8000-000000000001")}),
        ("aws_instance.legacy_mta", AWS_PROVIDER, {
            "id": "i-0a1b2c3d4e5f60009", "arn": arn("ec2", "instance/i-0a1b2c3d4e5f60009")}),
        ("aws_instance.us", AWS_PROVIDER, {
            "id": "i-0a1b2c3d4e5f600aa",
            "arn": arn("ec2", "instance/i-0a1b2c3d4e5f600aa", "us-east-1")}),
        ("aws_iam_role.bedrock_invoke", AWS_PROVIDER, {
            "id": "bedrock-invoke", "arn": "arn:aws:iam::210987654321:role/bedrock-invoke"}),
        ("aws_route_table.private", AWS_PROVIDER, {"id": "rtb-0a1b2c3d4e5f60002"}))
    other = state_v4(("aws_instance.sandbox", AWS_PROVIDER, {
        "id": "i-0ffffffffffff0001",
        "arn": "arn:aws:ec2:eu-central-1:999999999999:instance/i-0ffffffffffff0001"}))
    (tmp_path / "aws.tfstate").write_text(json.dumps(main))
    (tmp_path / "other.tfstate").write_text(json.dumps(other))
    src, src2 = str(tmp_path / "aws.tfstate"), str(tmp_path / "other.tfstate")
    _, _, found = inv01(relative(AWS), "--iac", src, "--iac", src2)
    got = statuses(found)
    expected = {
        arn("ec2", f"instance/{worker}"): "pass",
        arn("ec2", "volume/vol-0a1b2c3d4e5f60001"): "pass",  # its root_block_device
        arn("ec2", "volume/vol-0a1b2c3d4e5f60002"): "pass",
        arn("ec2", "elastic-ip/eipalloc-0a1b2c3d4e5f60002"): "pass",
        "arn:aws:s3:::ohallo-recordings": "pass",
        arn("kms", "key/1f1e1d1c-0000-4000-8000-000000000001"): "pass",
        # made by hand
        arn("ec2", "instance/i-0a1b2c3d4e5f60002"): "fail",
        arn("ec2", "elastic-ip/eipalloc-0a1b2c3d4e5f60001"): "fail",
        "arn:aws:s3:::ohallo-exports": "fail",
        arn("kms", "key/1f1e1d1c-0000-4000-8000-000000000002"): "fail",
        # what AWS creates itself: the bastion's launch volume, the default NACL, aws/ebs
        arn("ec2", "volume/vol-0a1b2c3d4e5f60003"): "skip",
        arn("ec2", "network-acl/acl-0a1b2c3d4e5f60001"): "skip",
        arn("kms", "key/1f1e1d1c-0000-4000-8000-000000000003"): "skip",
        # deleted by hand; outside the scan: another region, another account
        f"iac:{src}/aws_instance.legacy_mta": "fail",
        f"iac:{src}/not_compared/aws/210987654321/us-east-1": "skip",
        f"iac:{src2}/not_compared/aws/999999999999": "skip",
        f"iac:{src}/not_compared/aws_iam_role": "skip",
        f"iac:{src}/not_compared/aws_route_table": "skip",
    }
    assert {rid: got.get(rid) for rid in expected} == expected
    assert found[arn("ec2", "volume/vol-0a1b2c3d4e5f60001")]["evidence"]["address"] == \
        "aws_instance.mail_worker#root_block_device[0]"


def test_aws_resources_aws_creates_itself_are_implicit() -> None:
    account = "210987654321"
    assert aws_implicit("vpc", {"VpcId": "vpc-1", "IsDefault": True}, account)
    assert aws_implicit("vpc", {"VpcId": "vpc-2", "IsDefault": False}, account) is None
    assert aws_implicit("subnet", {"DefaultForAz": True}, account)
    assert aws_implicit("security_group", {"GroupName": "default", "VpcId": "vpc-2"},
                        account) == "the default security group AWS creates with VPC vpc-2"
    assert aws_implicit("security_group", {"GroupName": "web"}, account) is None
    assert aws_implicit("backup_vault", {"BackupVaultName": "Default"}, account)
    assert aws_implicit("ebs_volume", {"Attachments": [
        {"InstanceId": "i-1", "DeleteOnTermination": False}]}, account) is None
    org = {"TrailARN": "arn:aws:cloudtrail:eu-central-1:111111111111:trail/org"}
    assert aws_implicit("cloudtrail_trail", org, account) == \
        "an organization trail of account 111111111111, managed there"
    assert aws_implicit("cloudtrail_trail", org, "111111111111") is None


# --- the check on hand-built estates -------------------------------------------------------

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def judge(resources: list[Resource], decls: list[Declaration], **params: Any
          ) -> dict[str, tuple[str, str]]:
    graph = EstateGraph([Inventory("hetzner", "a", tuple(resources), ()),
                         Inventory("iac", "s.tfstate", (), (), declarations=tuple(decls))])
    check = load_checks()["INV-01"]
    ctx = CheckContext(check=check, graph=graph, params=Parameters(**params), as_of=AS_OF)
    return {f.resource: (str(f.status), f.message) for f in check.run(ctx)}


def project(name: str, regions: list[str]) -> Resource:
    return Resource(id=f"hetzner:{name}", kind=Kind.ACCOUNT, provider="hetzner", account=name,
                    name=name, properties={"regions": regions})


def decl(address: str, native: str | None, region: str | None = "fsn1",
         account: str | None = None, actions: tuple[str, ...] = ()) -> Declaration:
    return Declaration("s.tfstate", address, "hcloud_server", "hetzner", Kind.COMPUTE, native,
                       account, region, actions)


def test_a_declaration_no_scanned_account_can_be_told_is_an_error_not_a_guess() -> None:
    got = judge([project("a", ["fsn1"]), project("b", ["fsn1"])],
                [decl("hcloud_server.x", "server/9")])
    assert got["iac:s.tfstate/hcloud_server.x"][0] == "error"
    assert "does not say which one" in got["iac:s.tfstate/hcloud_server.x"][1]


def test_declarations_outside_the_scanned_regions_are_listed_not_judged() -> None:
    got = judge([project("a", ["fsn1"])], [decl("hcloud_server.x", "server/9", "hel1"),
                                           decl("hcloud_server.y", "server/8")])
    assert got == {
        "iac:s.tfstate/not_compared/hetzner/a/hel1": (
            "skip", "1 declared resource(s) not compared: region hel1 of hetzner account a "
                    "was not scanned"),
        "iac:s.tfstate/hcloud_server.y": (
            "fail", "declared but not live: no compute with id server/8")}


def test_a_declaration_whose_id_the_file_does_not_hold_is_not_called_missing() -> None:
    got = judge([project("a", ["fsn1"])], [decl("hcloud_server.x", None)])
    assert got == {"iac:s.tfstate/not_compared/hcloud_server": (
        "skip", "1 declared resource(s) not compared: hcloud_server: no cloud id")}


def test_declarations_map_each_cloud_to_the_live_native_id() -> None:
    got = declared.declarations("f", [
        {"address": "hcloud_network_subnet.a", "type": "hcloud_network_subnet",
         "provider_name": "registry.terraform.io/hetznercloud/hcloud",
         "values": {"id": "4711-10.0.1.0/24"}},
        {"address": "hcloud_primary_ip.a", "type": "hcloud_primary_ip",
         "provider_name": "registry.opentofu.org/hetznercloud/hcloud",
         "values": {"id": "9", "datacenter": "hel1-dc2"}},
        {"address": "aws_s3_bucket.b", "type": "aws_s3_bucket", "provider_name": "",
         "values": {"bucket": "b", "region": "eu-west-1"}},
        {"address": "google_storage_bucket.g", "type": "google_storage_bucket",
         "provider_name": "registry.terraform.io/hashicorp/google", "values": {}}])
    assert [(d.provider, d.kind, d.native_id, d.region, d.note) for d in got] == [
        ("hetzner", Kind.SUBNET, "subnet/4711/10.0.1.0/24", None, ""),
        ("hetzner", Kind.PUBLIC_IP, "primary_ip/9", "hel1", ""),
        ("aws", Kind.BUCKET, "arn:aws:s3:::b", "eu-west-1", ""),
        ("", None, None, None, "posture does not cover provider google")]


# --- bad --iac files: one line, exit 2 --------------------------------------------------------

BAD: list[tuple[str, Any, str]] = [
    ("array.json", [1, 2], "not a Terraform state or plan (the top level is not a JSON object)"),
    ("empty.json", {}, "not a Terraform state or plan (neither the `version`"),
    ("v3.tfstate", {"version": 3, "serial": 1, "lineage": "x", "modules": []},
     "Terraform state version 3 is not supported"),
    ("v5.tfstate", {"version": 5, "serial": 1, "lineage": "x", "resources": []},
     "Terraform state version 5 is not supported"),
    ("fv2.json", {"format_version": "2.0", "values": {}},
     "format_version '2.0' is not supported"),
    ("enc.tfstate", {"serial": 1, "lineage": "x", "encrypted_data": "AAAA",
                     "meta": {"key_provider.pbkdf2.main": "e30="}},
     "an encrypted state (OpenTofu state encryption)"),
    ("shape.tfstate", {"version": 4, "serial": 1, "lineage": "x", "resources": {"a": 1}},
     "not a Terraform state (resources is not a list)"),
    ("inst.tfstate", {"version": 4, "serial": 1, "lineage": "x", "resources": [
        {"mode": "managed", "type": "hcloud_server", "name": "a", "provider": "p",
         "instances": [{"attributes": "nope"}]}]},
     "resources[0].instances[0].attributes is not an object"),
    ("errored.json", {"format_version": "1.2", "planned_values": {}, "errored": True},
     "the plan errored"),
    ("schemas.json", {"format_version": "1.0", "provider_schemas": {}},
     "it looks like `terraform providers schema -json` output"),
    ("module.json", {"format_version": "1.0", "values": {"root_module": {
        "resources": ["not an object"]}}}, "not shaped as Terraform writes a state or plan"),
    ("text.tfstate", "resource \"hcloud_server\" \"a\" {}", "not valid JSON"),
    ("truncated.tfstate", '{"version": 4, "resources": [', "not valid JSON, truncated?"),
]


@pytest.mark.parametrize(("name", "content", "words"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_iac_file_is_one_line_naming_it_and_exit_2(tmp_path: Path, name: str,
                                                         content: Any, words: str) -> None:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    result = run("scan", relative(SEED002), "--iac", str(path), "--checks", "INV-01")
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"posture: --iac {path}: "), err
    assert words in err, err


def test_missing_folder_snapshot_and_binary_iac_inputs_are_named(tmp_path: Path) -> None:
    gz = tmp_path / "state.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00broken")
    cases = [(tmp_path / "nope.tfstate", "no such file"),
             (tmp_path, "is a directory"),
             (SEED002, "a posture snapshot, not infrastructure-as-code"),
             (gz, "gzip")]
    (tmp_path / "latin1.tfstate").write_bytes(b'{"version": 4, "lineage": "\xe9"}')
    cases.append((tmp_path / "latin1.tfstate", "not UTF-8 text"))
    for path, words in cases:
        result = run("scan", relative(SEED002), "--iac", str(path), "--checks", "INV-01")
        assert result.exit_code == 2, (path, result.output)
        err = result.stderr
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert f"--iac {path}" in err and words in err, err


def test_iac_is_not_a_live_source_and_one_file_is_read_once() -> None:
    result = run("scan", "iac")
    assert result.exit_code == 2 and "give infrastructure-as-code with --iac FILE" in \
        result.stderr
    twice = run("scan", relative(SEED002), "--iac", SRC, "--iac", SRC, "--checks", "INV-01")
    assert twice.exit_code == 2 and "is already read from --iac" in twice.stderr


def test_a_state_given_as_a_source_points_at_iac() -> None:
    result = run("scan", SRC)
    assert result.exit_code == 2 and "give it with --iac" in result.stderr


def test_checks_command_explains_inv01() -> None:
    out = run("checks", "INV-01").stdout
    assert out.startswith("INV-01: Every live resource is managed by infrastructure-as-code")
    assert "Reads on aws:" in out and "Reads on azure:" in out and "Reads on hetzner:" in out
    assert "Profile parameters: managed_by_tag, managed_by_values" in out
    assert "ISO27001: A.5.9, A.8.9, A.8.32" in out
