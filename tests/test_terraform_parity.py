"""Plan verdicts agree with the live reading where the plan holds the answer: a bucket
without a planned policy accepts plain HTTP (TLS-02), Azure's "no minimum TLS" settings
admit TLS 1.0 (TLS-01), an NSG rule whose source ports are known only after apply is read
in its most exposed world (NET-07)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fixtures.terraform.build_plans import plan, ref, res
from tests.helpers import PLAN_AWS as AWS
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, scan_json
from tests.helpers import write_plan as write

AZURERM = {"azurerm": {"name": "azurerm", "expressions": {}}}


def verdicts(path: Path, checks: str) -> dict[tuple[str, str], str]:
    _, doc = scan_json(str(path), "--checks", checks)
    return {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
            for f in findings_of(doc)}


def _https_only_policy(bucket: str) -> str:
    """The policy AWS documents ("Restrict access to only HTTPS requests")."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "HttpsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def _bucket(address: str, name: str, *, actions: tuple[str, ...] = ("create",),
            **values: Any) -> dict[str, Any]:
    new = actions != ("no-op",)
    return res(address, {"bucket": name, "force_destroy": False, "tags": {}, **values},
               actions=actions, unknown={"id": True, "arn": True, "policy": True}
               if new and "policy" not in values else {"id": True, "arn": True} if new
               else {})


def test_a_bucket_without_a_policy_accepts_plain_http_as_live(tmp_path: Path) -> None:
    """The live scan fails a bucket whose policy does not deny aws:SecureTransport=false
    (none at all included); the plan judged no bucket for TLS-02 (no public endpoint),
    whatever its policy."""
    rs = [
        _bucket("aws_s3_bucket.bare", "acme-bare"),
        _bucket("aws_s3_bucket.guarded", "acme-guarded"),
        res("aws_s3_bucket_policy.guarded", {"bucket": "acme-guarded",
                                             "policy": _https_only_policy("acme-guarded")},
            unknown={"id": True},
            expressions={"bucket": ref("aws_s3_bucket.guarded.id")}),
        # a deny on another bucket's objects refuses nothing here (the live reading)
        _bucket("aws_s3_bucket.misaimed", "acme-misaimed"),
        res("aws_s3_bucket_policy.misaimed", {"bucket": "acme-misaimed",
                                              "policy": _https_only_policy("acme-other")},
            unknown={"id": True},
            expressions={"bucket": ref("aws_s3_bucket.misaimed.id")}),
        # existing buckets: the policy Terraform refreshed, managed outside the plan
        _bucket("aws_s3_bucket.old_guarded", "acme-old-guarded", actions=("no-op",),
                id="acme-old-guarded", arn="arn:aws:s3:::acme-old-guarded",
                policy=_https_only_policy("acme-old-guarded")),
        _bucket("aws_s3_bucket.old_bare", "acme-old-bare", actions=("no-op",),
                id="acme-old-bare", arn="arn:aws:s3:::acme-old-bare", policy=""),
        # a policy set in the configuration to a value known only after apply
        res("aws_s3_bucket.later", {"bucket": "acme-later", "force_destroy": False,
                                    "tags": {}},
            unknown={"id": True, "arn": True, "policy": True},
            expressions={"policy": ref("data.aws_iam_policy_document.later.json")}),
    ]
    got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)), "TLS-02")
    assert got[("TLS-02", "aws_s3_bucket.bare")] == "fail"  # before: no finding
    assert got[("TLS-02", "aws_s3_bucket.guarded")] == "pass"  # before: no finding
    assert got[("TLS-02", "aws_s3_bucket.misaimed")] == "fail"
    assert got[("TLS-02", "aws_s3_bucket.old_guarded")] == "pass"
    assert got[("TLS-02", "aws_s3_bucket.old_bare")] == "fail"
    assert got[("TLS-02", "aws_s3_bucket.later")] == "error"


def test_a_bucket_policy_whose_bucket_is_unknown_may_be_any_buckets(tmp_path: Path) -> None:
    """A planned aws_s3_bucket_policy whose `bucket` is known only after apply and matches
    no planned bucket (a module output, a data source) may be the policy of any bucket in
    the plan: not a fail, not a pass."""
    rs = [
        _bucket("aws_s3_bucket.bare", "acme-bare"),
        res("aws_s3_bucket_policy.somewhere", {"policy": _https_only_policy("acme-bare")},
            unknown={"id": True, "bucket": True},
            expressions={"bucket": ref("data.aws_s3_bucket.somewhere.id")}),
    ]
    got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)), "TLS-02")
    assert got[("TLS-02", "aws_s3_bucket.bare")] == "error"


def test_azure_no_minimum_tls_admits_tls_1_0_as_live(tmp_path: Path) -> None:
    """mssql `minimum_tls_version = "Disabled"` is ARM's minimalTlsVersion "None", which the
    live path reads as TLS 1.0 admitted (TLS-01 fail); the single servers'
    `TLSEnforcementDisabled` enforces no minimum either. The plan read both as "not known"
    (TLS-01 error)."""
    rs = [
        res("azurerm_mssql_server.open", {
            "name": "sql-open", "location": "westeurope", "resource_group_name": "rg",
            "version": "12.0", "minimum_tls_version": "Disabled", "administrator_login": "sa",
            "public_network_access_enabled": True, "tags": {}},
            unknown={"id": True, "fully_qualified_domain_name": True}),
        res("azurerm_postgresql_server.legacy", {
            "name": "pg-legacy", "location": "westeurope", "resource_group_name": "rg",
            "version": "11", "sku_name": "GP_Gen5_2", "ssl_enforcement_enabled": True,
            "ssl_minimal_tls_version_enforced": "TLSEnforcementDisabled",
            "public_network_access_enabled": True, "tags": {}},
            unknown={"id": True, "fqdn": True}),
        res("azurerm_mssql_server.strict", {
            "name": "sql-strict", "location": "westeurope", "resource_group_name": "rg",
            "version": "12.0", "minimum_tls_version": "1.2", "administrator_login": "sa",
            "public_network_access_enabled": True, "tags": {}},
            unknown={"id": True, "fully_qualified_domain_name": True}),
    ]
    got = verdicts(write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP)),
                   "TLS-01")
    assert got[("TLS-01", "azurerm_mssql_server.open")] == "fail"  # before: error
    assert got[("TLS-01", "azurerm_postgresql_server.legacy")] == "fail"  # before: error
    assert got[("TLS-01", "azurerm_mssql_server.strict")] == "pass"


def _rule(name: str, priority: int, access: str, source: str,
          source_port: str | None = "*") -> dict[str, Any]:
    return {"name": name, "priority": priority, "direction": "Inbound", "access": access,
            "protocol": "Tcp", "source_port_range": source_port,
            "destination_port_range": "22", "source_address_prefix": source,
            "destination_address_prefix": "*", "source_address_prefixes": [],
            "destination_address_prefixes": [], "destination_port_ranges": [],
            "source_port_ranges": [], "description": ""}


def test_a_deny_whose_source_ports_are_unknown_is_read_in_both_worlds(tmp_path: Path) -> None:
    """A deny rule limited to some source ports closes nothing (the live reading,
    providers/azure/normalize/nsg.py _every_source_port); one whose `source_port_range` is
    known only after apply may be such a rule (most exposed: SSH open) or a deny on every
    port (least: closed): NET-07 error, never pass. Inline and separate rules alike."""
    base = {"location": "westeurope", "resource_group_name": "rg", "tags": {}}
    rs = [
        res("azurerm_network_security_group.inline", {**base, "name": "nsg-inline",
                                                       "security_rule": [
            _rule("deny-ssh", 100, "Deny", "*", None), _rule("ssh", 200, "Allow", "Internet")]},
            unknown={"id": True, "security_rule": [{"source_port_range": True}, {}]}),
        res("azurerm_network_security_group.split", {**base, "name": "nsg-split",
                                                      "security_rule": []},
            unknown={"id": True}),
        res("azurerm_network_security_rule.deny", {
            **_rule("deny-ssh", 100, "Deny", "*", None), "resource_group_name": "rg",
            "network_security_group_name": "nsg-split"},
            unknown={"id": True, "source_port_range": True},
            expressions={"network_security_group_name": ref(
                "azurerm_network_security_group.split.name"),
                "source_port_range": ref("var.client_ports")}),
        res("azurerm_network_security_rule.ssh", {
            **_rule("ssh", 200, "Allow", "Internet"), "resource_group_name": "rg",
            "network_security_group_name": "nsg-split"},
            unknown={"id": True},
            expressions={"network_security_group_name": ref(
                "azurerm_network_security_group.split.name")}),
    ]
    got = verdicts(write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP)),
                   "NET-07")
    assert got[("NET-07", "azurerm_network_security_group.inline")] == "error"
    assert got[("NET-07", "azurerm_network_security_group.split")] == "error"


def test_an_allow_whose_source_ports_are_unknown_admits_in_both_worlds(tmp_path: Path
                                                                         ) -> None:
    """Clients pick their source ports: an allow rule admits from the internet whatever
    source ports it names (the live reading counts them only on deny rules). One whose
    `source_port_range` is known only after apply was dropped from the least exposed world:
    NET-07 error where the live scan fails SSH open to the internet."""
    base = {"location": "westeurope", "resource_group_name": "rg", "tags": {}}
    rs = [
        res("azurerm_network_security_group.inline", {**base, "name": "nsg-inline",
                                                       "security_rule": [
            _rule("ssh", 200, "Allow", "Internet", None)]},
            unknown={"id": True, "security_rule": [{"source_port_range": True}]}),
        res("azurerm_network_security_group.split", {**base, "name": "nsg-split",
                                                      "security_rule": []},
            unknown={"id": True}),
        res("azurerm_network_security_rule.ssh", {
            **_rule("ssh", 200, "Allow", "Internet", None), "resource_group_name": "rg",
            "network_security_group_name": "nsg-split"},
            unknown={"id": True, "source_port_range": True},
            expressions={"network_security_group_name": ref(
                "azurerm_network_security_group.split.name"),
                "source_port_range": ref("var.client_ports")}),
    ]
    got = verdicts(write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP)),
                   "NET-07")
    assert got[("NET-07", "azurerm_network_security_group.inline")] == "fail"  # was error
    assert got[("NET-07", "azurerm_network_security_group.split")] == "fail"  # was error


def test_defender_cspm_alone_is_never_threat_detection_in_a_plan(tmp_path: Path) -> None:
    """Defender CSPM (`CloudPosture`) detects no threats (the live reading,
    providers/azure/normalize/subscription.py). A plan holds no subscription: LOG-03 is
    judged live and the pricing is named NOT-ASSESSED, never a pass. (A guard: see the
    report.)"""
    rs = [res("azurerm_security_center_subscription_pricing.cspm",
              {"tier": "Standard", "resource_type": "CloudPosture"}, unknown={"id": True})]
    got = verdicts(write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP)),
                   "LOG-03")
    assert [s for (check, _), s in got.items() if check == "LOG-03"] == ["skip"]
    assert ("NOT-ASSESSED", "not_assessed/azurerm_security_center_subscription_pricing/"
            "type_not_covered") in got


def test_plain_configuration_buckets_and_unexpanded_modules(tmp_path: Path) -> None:
    """Plain .tf: a bucket with no policy fails TLS-02 as live; once a module call is
    present (not expanded: it may attach a policy to the root's bucket), error."""
    (tmp_path / "main.tf").write_text('''
provider "aws" {
  region = "eu-central-1"
}

resource "aws_s3_bucket" "data" {
  bucket = "acme-data"
}
''')
    assert verdicts(tmp_path, "TLS-02")[("TLS-02", "aws_s3_bucket.data")] == "fail"
    (tmp_path / "policies.tf").write_text('''
module "policies" {
  source = "./modules/policies"
  bucket = aws_s3_bucket.data.id
}
''')
    assert verdicts(tmp_path, "TLS-02")[("TLS-02", "aws_s3_bucket.data")] == "error"


def test_a_rule_resource_whose_group_is_not_in_the_plan_is_named_in_the_net07_message(
        tmp_path: Path) -> None:
    """An aws_security_group_rule for a group made elsewhere is a firewall of its own; its
    NET-07 message named its rules relative to itself, which left "rule(s)  admit" (as in
    terraform-compliance's public issue-190 plan)."""
    rule = res("aws_security_group_rule.elb_ingress_ssh", {
        "type": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22,
        "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": None, "prefix_list_ids": None,
        "security_group_id": "sg-0123456789abcdef0", "self": False,
        "source_security_group_id": None}, unknown={"id": True})
    path = write(tmp_path, plan([rule], provider_config=AWS, timestamp=STAMP))
    _, doc = scan_json(str(path), "--checks", "NET-07")
    [finding] = [f for f in findings_of(doc) if f["check"] == "NET-07"]
    assert finding["status"] == "fail"
    assert finding["message"].startswith("rule(s) aws_security_group_rule.elb_ingress_ssh ")
    assert "admit administrative port(s) 22 from the whole internet" in finding["message"]
