"""Plans written by older or newer provider versions: an argument renamed, moved or not yet
defaulted by the version that planned it is read under each of its names, and one posture
cannot read never stands for its safe default (unknown: `error`, never `pass`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fixtures.terraform.build_plans import PROVIDERS, const, plan, ref, res
from tests.helpers import PLAN_AWS as AWS
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, scan_json
from tests.helpers import write_plan as write

AZURERM = {"azurerm": {"name": "azurerm", "expressions": {}}}


def _verdicts(path: Path, checks: str) -> dict[tuple[str, str], str]:
    _, out = scan_json(str(path), "--checks", checks)
    return {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
            for f in findings_of(out)}


def _account(name: str, **values: Any) -> dict[str, Any]:
    return {"name": name, "resource_group_name": "rg", "location": "westeurope",
            "account_tier": "Standard", "account_replication_type": "LRS",
            "min_tls_version": "TLS1_2", "public_network_access_enabled": True,
            "tags": {}, **values}


def test_storage_https_only_disagreeing_names_read_the_configured_one(tmp_path: Path) -> None:
    """The last azurerm 3.x releases hold `enable_https_traffic_only` (deprecated) and
    `https_traffic_only_enabled` (its 4.0 name) side by side, both Optional and Computed:
    an update that sets the old name to false keeps the new name's refreshed `true` in the
    plan. The configured name decides; neither configured and the two disagree: unknown."""
    rs = [
        res("azurerm_storage_account.old_name_off", _account(
            "oldoff", enable_https_traffic_only=False, https_traffic_only_enabled=True),
            actions=("update",),
            expressions={"name": const("oldoff"), "enable_https_traffic_only": const(False)}),
        res("azurerm_storage_account.new_name_on", _account(
            "newon", enable_https_traffic_only=False, https_traffic_only_enabled=True),
            actions=("update",),
            expressions={"name": const("newon"), "https_traffic_only_enabled": const(True)}),
        res("azurerm_storage_account.v2", _account("vtwo", enable_https_traffic_only=False),
            expressions={"name": const("vtwo")}),
    ]
    path = write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP))
    got = _verdicts(path, "TLS-02")
    # before: "pass" for old_name_off (the refreshed new name read first)
    assert got[("TLS-02", "azurerm_storage_account.old_name_off")] == "fail"
    assert got[("TLS-02", "azurerm_storage_account.new_name_on")] == "pass"
    # a 2.x/3.x plan holds the old name only
    assert got[("TLS-02", "azurerm_storage_account.v2")] == "fail"


def test_storage_https_only_disagreeing_names_without_configuration_are_unknown(
        tmp_path: Path) -> None:
    rs = [res("azurerm_storage_account.acct", _account(
        "acct", enable_https_traffic_only=False, https_traffic_only_enabled=True),
        actions=("update",))]
    doc = plan(rs, provider_config=AZURERM, timestamp=STAMP)
    doc.pop("configuration", None)
    path = write(tmp_path, doc)
    got = _verdicts(path, "TLS-02")
    # before: "pass"
    assert got[("TLS-02", "azurerm_storage_account.acct")] == "error"


def _mssql(**values: Any) -> dict[str, Any]:
    return {"name": "sql-acme", "location": "westeurope", "resource_group_name": "rg",
            "version": "12.0", "administrator_login": "sa",
            "public_network_access_enabled": True, "tags": {}, **values}


def test_an_mssql_server_planned_without_a_minimum_tls_default_is_unknown(
        tmp_path: Path) -> None:
    """azurerm 2.x's `minimum_tls_version` had no default (3.0 made it 1.2): a 2.x plan holds
    it as null when the block does not set it, and the server then keeps what Azure gives
    it, not 1.2. An attribute the plan does not hold at all (a hand-written plan) keeps the
    current default."""
    rs = [
        res("azurerm_mssql_server.v2", _mssql(name="sql-v2", minimum_tls_version=None)),
        res("azurerm_mssql_server.v4", _mssql(name="sql-v4", minimum_tls_version="1.2")),
        res("azurerm_mssql_server.bare", _mssql(name="sql-bare")),
    ]
    path = write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP))
    got = _verdicts(path, "TLS-01")
    # before: "pass" (read as the 3.x default 1.2)
    assert got[("TLS-01", "azurerm_mssql_server.v2")] == "error"
    assert got[("TLS-01", "azurerm_mssql_server.v4")] == "pass"
    assert got[("TLS-01", "azurerm_mssql_server.bare")] == "pass"


def _single(**values: Any) -> dict[str, Any]:
    return {"name": "pg-old", "location": "westeurope", "resource_group_name": "rg",
            "sku_name": "GP_Gen5_2", "version": "11", "administrator_login": "pg",
            "tags": {}, **values}


def test_a_single_server_of_azurerm_1x_is_read_by_its_1x_names(tmp_path: Path) -> None:
    """azurerm 1.x: `ssl_enforcement` ("Enabled"/"Disabled", required; 2.x: deprecated,
    exactly one of it and `ssl_enforcement_enabled` set), no
    `ssl_minimal_tls_version_enforced` (Azure then enforces none: TLSEnforcementDisabled),
    retention and geo-redundancy in `storage_profile` (2.0 moved them to the top level)."""
    rs = [
        res("azurerm_postgresql_server.plain", _single(
            name="pg-plain", ssl_enforcement="Disabled",
            storage_profile=[{"storage_mb": 5120, "backup_retention_days": 7,
                              "geo_redundant_backup": "Disabled"}])),
        res("azurerm_postgresql_server.tls", _single(
            name="pg-tls", ssl_enforcement="Enabled",
            storage_profile=[{"storage_mb": 5120, "backup_retention_days": 3,
                              "geo_redundant_backup": "Enabled"}])),
        # azurerm 2.x: the deprecated name set, the new one null, TLS1_2 named
        res("azurerm_mysql_server.v2", _single(
            name="my-v2", ssl_enforcement="Disabled", ssl_enforcement_enabled=None,
            ssl_minimal_tls_version_enforced="TLS1_2", backup_retention_days=7,
            geo_redundant_backup_enabled=False),
            expressions={"ssl_enforcement": const("Disabled")}),
        res("azurerm_mysql_server.v3", _single(
            name="my-v3", ssl_enforcement_enabled=True,
            ssl_minimal_tls_version_enforced="TLS1_2")),
    ]
    path = write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP))
    _, out = scan_json(str(path), "--checks", "TLS-01")
    got = {(f["check"], str(f["resource"]).split("/", 1)[-1]): f for f in findings_of(out)}
    # before: "pass" for both (ssl_enforcement_enabled and the TLS1_2 default assumed)
    assert got[("TLS-01", "azurerm_postgresql_server.plain")]["status"] == "fail"
    assert got[("TLS-01", "azurerm_postgresql_server.tls")]["status"] == "fail"
    assert got[("TLS-01", "azurerm_mysql_server.v2")]["status"] == "fail"
    assert got[("TLS-01", "azurerm_mysql_server.v3")]["status"] == "pass"


def test_a_single_servers_1x_storage_profile_decides_its_retention(tmp_path: Path) -> None:
    """azurerm 1.x held retention and geo-redundant backup in `storage_profile` only (2.0
    moved them to `backup_retention_days` and `geo_redundant_backup_enabled`): a 1.x plan's
    3-day retention is not the 7-day default of the top-level argument."""
    rs = [
        res("azurerm_mysql_server.short", _single(
            name="my-short", ssl_enforcement="Enabled",
            ssl_minimal_tls_version_enforced="TLS1_2",
            storage_profile=[{"storage_mb": 5120, "backup_retention_days": 3,
                              "geo_redundant_backup": "Enabled"}])),
        res("azurerm_mysql_server.long", _single(
            name="my-long", ssl_enforcement="Enabled",
            storage_profile=[{"storage_mb": 5120, "backup_retention_days": 35,
                              "geo_redundant_backup": "Disabled"}])),
    ]
    path = write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP))
    got = _verdicts(path, "BAK-02,RES-02")
    # before: "pass" (read as the top-level default of 7 days)
    assert got[("BAK-02", "azurerm_mysql_server.short")] == "fail"
    assert got[("BAK-02", "azurerm_mysql_server.long")] == "pass"
    # before: "fail" (geo-redundant backup read as the top-level default, off)
    assert got[("RES-02", "azurerm_mysql_server.short")] == "pass"


def test_a_bucket_policy_the_plan_deletes_is_not_read_from_the_refreshed_bucket(
        tmp_path: Path) -> None:
    """AWS provider 4+: an existing bucket's `policy` is Computed, refreshed from S3 (the
    policy an aws_s3_bucket_policy wrote). A plan deleting that aws_s3_bucket_policy still
    shows it on the bucket: after apply the bucket has none. The deleted change's bucket is
    not kept (deleted instances are not judged), so a bucket whose verdict rests on its
    refreshed policy cannot be told: error, never pass."""
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "HttpsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::acme-logs", "arn:aws:s3:::acme-logs/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    rs = [res("aws_s3_bucket.logs", {
        "bucket": "acme-logs", "id": "acme-logs", "arn": "arn:aws:s3:::acme-logs",
        "force_destroy": False, "tags": {}, "policy": policy}, actions=("no-op",))]
    deleted = [{"address": "aws_s3_bucket_policy.logs", "type": "aws_s3_bucket_policy",
                "name": "logs", "provider": PROVIDERS["aws"],
                "values": {"id": "acme-logs", "bucket": "acme-logs", "policy": policy}}]
    kept = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP), "kept.json")
    gone = write(tmp_path, plan(rs, deleted=deleted, provider_config=AWS, timestamp=STAMP),
                 "gone.json")
    assert _verdicts(kept, "TLS-02")[("TLS-02", "aws_s3_bucket.logs")] == "pass"
    # before: "pass" (the policy about to be deleted read from the bucket)
    assert _verdicts(gone, "TLS-02")[("TLS-02", "aws_s3_bucket.logs")] == "error"


def test_a_replication_configuration_the_plan_deletes_is_not_read_from_the_bucket(
        tmp_path: Path) -> None:
    """The same for replication: AWS provider 4+ refreshes the rules an
    aws_s3_bucket_replication_configuration wrote into the bucket's Computed
    `replication_configuration`; a plan deleting that resource still shows them. The copy
    in another region that made the bucket geo-redundant is about to go: not known."""
    rule = {"id": "dr", "priority": 0, "prefix": "", "status": "Enabled", "filter": [],
            "destination": [{"bucket": "arn:aws:s3:::orders-dr", "storage_class": "STANDARD"}]}
    rs = [
        res("aws_s3_bucket.orders", {
            "bucket": "orders", "id": "orders", "arn": "arn:aws:s3:::orders",
            "force_destroy": False, "tags": {}, "policy": "",
            "replication_configuration": [{"role": "arn:aws:iam::1:role/r",
                                           "rules": [rule]}]}, actions=("no-op",)),
        res("aws_s3_bucket.orders_dr", {
            "bucket": "orders-dr", "id": "orders-dr", "arn": "arn:aws:s3:::orders-dr",
            "force_destroy": False, "tags": {}, "policy": ""}, actions=("no-op",),
            provider_key="aws.us"),
    ]
    deleted = [{"address": "aws_s3_bucket_replication_configuration.orders",
                "type": "aws_s3_bucket_replication_configuration", "name": "orders",
                "provider": PROVIDERS["aws"], "values": {"id": "orders", "bucket": "orders"}}]
    config = {**AWS, "aws.us": {"name": "aws", "alias": "us",
                                "expressions": {"region": const("us-east-1")}}}
    kept = write(tmp_path, plan(rs, provider_config=config, timestamp=STAMP), "kept.json")
    gone = write(tmp_path, plan(rs, deleted=deleted, provider_config=config, timestamp=STAMP),
                 "gone.json")
    assert _verdicts(kept, "BAK-01")[("BAK-01", "aws_s3_bucket.orders")] == "pass"
    # before: "pass" (geo-redundant by the replication about to be deleted)
    assert _verdicts(gone, "BAK-01")[("BAK-01", "aws_s3_bucket.orders")] == "error"


HCLOUD = {"hcloud": {"name": "hcloud", "expressions": {}}}


def test_a_firewall_attachment_the_plan_deletes_is_not_read_from_the_servers_firewall_ids(
        tmp_path: Path) -> None:
    """hcloud_server `firewall_ids` is Optional and Computed: refreshed, it lists every
    firewall applied to the server, those an hcloud_firewall_attachment applied included.
    A plan deleting that attachment still shows the firewall there, and after apply the
    server has none: not protected for sure. A firewall another planned attachment applies
    stays certain, and then losing the other one opens nothing (firewalls add up)."""
    rs = [
        res("hcloud_server.web", {
            "id": "101", "name": "web", "server_type": "cx22", "image": "debian-12",
            "location": "fsn1", "labels": {}, "backups": False, "firewall_ids": [42],
            "ipv4_address": "203.0.113.10", "ipv6_network": "2001:db8::/64",
            "public_net": [{"ipv4_enabled": True, "ipv6_enabled": True, "ipv4": 1,
                            "ipv6": 2}]}, actions=("no-op",),
            expressions={"name": const("web")}),
        res("hcloud_firewall.web", {
            "id": "42", "name": "web", "labels": {}, "apply_to": [],
            "rule": [{"direction": "in", "protocol": "tcp", "port": "443",
                      "source_ips": ["0.0.0.0/0", "::/0"], "destination_ips": [],
                      "description": ""}]}, actions=("no-op",)),
    ]
    deleted = [{"address": "hcloud_firewall_attachment.web",
                "type": "hcloud_firewall_attachment", "name": "web",
                "provider": PROVIDERS["hcloud"],
                "values": {"id": "42", "firewall_id": 42, "server_ids": [101]}}]
    kept = write(tmp_path, plan(rs, provider_config=HCLOUD, timestamp=STAMP), "kept.json")
    gone = write(tmp_path, plan(rs, deleted=deleted, provider_config=HCLOUD,
                                timestamp=STAMP), "gone.json")
    before = _verdicts(kept, "NET-02,NET-04")
    assert before[("NET-02", "hcloud_server.web")] == "pass"
    assert before[("NET-04", "hcloud_server.web")] == "pass"
    after = _verdicts(gone, "NET-02,NET-04")
    # before: "pass" for both (the firewall the deleted attachment applied read as applied)
    assert after[("NET-02", "hcloud_server.web")] == "error"
    assert after[("NET-04", "hcloud_server.web")] == "error"
    # another firewall applied for sure by a planned attachment: losing one opens nothing
    rs.append(res("hcloud_firewall_attachment.ssh_off", {
        "id": "42", "firewall_id": 42, "server_ids": [101], "label_selectors": []},
        actions=("no-op",)))
    sure = write(tmp_path, plan(rs, deleted=[{**deleted[0], "address":
                                              "hcloud_firewall_attachment.old"}],
                                provider_config=HCLOUD, timestamp=STAMP), "sure.json")
    assert _verdicts(sure, "NET-02")[("NET-02", "hcloud_server.web")] == "pass"


def _nsg_rule(name: str, priority: int, access: str) -> dict[str, Any]:
    return {"name": name, "priority": priority, "direction": "Inbound", "access": access,
            "protocol": "Tcp", "source_port_range": "*", "source_port_ranges": [],
            "destination_port_range": "22", "destination_port_ranges": [],
            "source_address_prefix": "*", "source_address_prefixes": [],
            "destination_address_prefix": "*", "destination_address_prefixes": [],
            "source_application_security_group_ids": [],
            "destination_application_security_group_ids": [], "description": ""}


def test_an_nsgs_refreshed_rules_yield_to_its_separate_rule_resources(tmp_path: Path) -> None:
    """azurerm_network_security_group `security_rule` is Optional and Computed: refreshed, it
    lists the rules separate azurerm_network_security_rule resources wrote, as they are
    before the plan. A separate rule the plan changes is read as planned (the separate
    resource wins over its refreshed copy), and one it deletes (not kept) may be any of the
    refreshed rules no planned separate rule names: a deny among them may be about to go."""
    nsg_values = {"name": "nsg-web", "location": "westeurope", "resource_group_name": "rg",
                  "tags": {}, "security_rule": [_nsg_rule("deny-ssh", 100, "Deny"),
                                                _nsg_rule("allow-ssh", 200, "Allow")]}
    base = [
        res("azurerm_network_security_group.web", nsg_values, actions=("no-op",),
            expressions={"name": const("nsg-web")}),
        res("azurerm_network_security_rule.allow_ssh", {
            **_nsg_rule("allow-ssh", 200, "Allow"), "resource_group_name": "rg",
            "network_security_group_name": "nsg-web"}, actions=("no-op",)),
    ]
    changed = [*base, res("azurerm_network_security_rule.deny_ssh", {
        **_nsg_rule("deny-ssh", 100, "Allow"), "resource_group_name": "rg",
        "network_security_group_name": "nsg-web"}, actions=("update",))]
    deleted = [{"address": "azurerm_network_security_rule.deny_ssh",
                "type": "azurerm_network_security_rule", "name": "deny_ssh",
                "provider": PROVIDERS["azurerm"],
                "values": {**_nsg_rule("deny-ssh", 100, "Deny"), "resource_group_name": "rg",
                           "network_security_group_name": "nsg-web"}}]
    kept = [*base, res("azurerm_network_security_rule.deny_ssh", {
        **_nsg_rule("deny-ssh", 100, "Deny"), "resource_group_name": "rg",
        "network_security_group_name": "nsg-web"}, actions=("no-op",))]
    key = ("NET-07", "azurerm_network_security_group.web")
    assert _verdicts(write(tmp_path, plan(kept, provider_config=AZURERM, timestamp=STAMP),
                           "kept.json"), "NET-07")[key] == "pass"
    # before: "pass" (the refreshed Deny read next to the planned Allow of the same name)
    assert _verdicts(write(tmp_path, plan(changed, provider_config=AZURERM,
                                          timestamp=STAMP), "changed.json"),
                     "NET-07")[key] == "fail"
    # before: "pass" (the refreshed copy of the deleted Deny read as the NSG's rule)
    assert _verdicts(write(tmp_path, plan(base, deleted=deleted, provider_config=AZURERM,
                                          timestamp=STAMP), "gone.json"),
                     "NET-07")[key] == "error"


def _acl_entry(number: int, action: str) -> dict[str, Any]:
    return {"rule_no": number, "action": action, "protocol": "6", "from_port": 22,
            "to_port": 22, "cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "",
            "icmp_code": 0, "icmp_type": 0}


def _acl_rule(number: int, action: str) -> dict[str, Any]:
    return {"network_acl_id": "acl-0a1", "rule_number": number, "egress": False,
            "rule_action": action, "protocol": "6", "from_port": 22, "to_port": 22,
            "cidr_block": "0.0.0.0/0"}


def test_a_network_acls_refreshed_entries_yield_to_its_separate_rules(tmp_path: Path) -> None:
    """aws_network_acl `ingress` is Optional and Computed: refreshed, it lists the entries
    separate aws_network_acl_rule resources wrote, as they are before the plan. The
    separate rule of the same number wins; while the plan deletes one (its values not
    kept), a refreshed deny may be about to go."""
    base = [
        res("aws_network_acl.edge", {
            "id": "acl-0a1", "vpc_id": "vpc-1", "tags": {}, "tags_all": {}, "egress": [],
            "ingress": [_acl_entry(100, "deny"), _acl_entry(200, "allow")]},
            actions=("no-op",), expressions={"vpc_id": const("vpc-1")}),
        res("aws_network_acl_rule.allow_ssh", _acl_rule(200, "allow"), actions=("no-op",)),
    ]
    kept = [*base, res("aws_network_acl_rule.deny_ssh", _acl_rule(100, "deny"),
                       actions=("no-op",))]
    changed = [*base, res("aws_network_acl_rule.deny_ssh", _acl_rule(100, "allow"),
                          actions=("update",))]
    deleted = [{"address": "aws_network_acl_rule.deny_ssh", "type": "aws_network_acl_rule",
                "name": "deny_ssh", "provider": PROVIDERS["aws"],
                "values": _acl_rule(100, "deny")}]
    key = ("NET-07", "aws_network_acl.edge")
    assert _verdicts(write(tmp_path, plan(kept, provider_config=AWS, timestamp=STAMP),
                           "kept.json"), "NET-07")[key] == "pass"
    # before: "pass" (the refreshed deny 100 read next to the planned allow 100)
    assert _verdicts(write(tmp_path, plan(changed, provider_config=AWS, timestamp=STAMP),
                           "changed.json"), "NET-07")[key] == "fail"
    # before: "pass" (the refreshed copy of the deleted deny read as kept)
    assert _verdicts(write(tmp_path, plan(base, deleted=deleted, provider_config=AWS,
                                          timestamp=STAMP), "gone.json"),
                     "NET-07")[key] == "error"


def test_a_launch_templates_unset_ebs_encrypted_is_unknown_not_false(tmp_path: Path) -> None:
    """aws_launch_template `block_device_mappings.ebs.encrypted` is a string, "" when the
    block does not set it: the volume is then encrypted as its snapshot or the account's
    EBS encryption by default decides, which the plan does not show (unless it manages
    aws_ebs_encryption_by_default)."""
    def template(name: str, encrypted: str) -> dict[str, Any]:
        return res(f"aws_launch_template.{name}", {
            "name": name, "image_id": "ami-1", "key_name": "ops", "network_interfaces": [],
            "vpc_security_group_ids": [], "block_device_mappings": [{
                "device_name": "/dev/xvda", "ebs": [{"encrypted": encrypted,
                                                     "volume_size": 20}]}]},
            unknown={"id": True})

    def group(name: str) -> dict[str, Any]:
        return res(f"aws_autoscaling_group.{name}", {
            "name": name, "max_size": 2, "min_size": 1, "vpc_zone_identifier": [],
            "launch_template": [{"version": "$Latest"}]},
            unknown={"launch_template": [{"id": True}]},
            expressions={"launch_template": [{"id": ref(
                f"aws_launch_template.{name}.id")}]})

    rs = [template("unset", ""), group("unset"), template("off", "false"), group("off"),
          template("on", "true"), group("on")]
    got = _verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)),
                    "ENC-01")
    volume = "aws_autoscaling_group.{}/volume/0"
    # before: "fail" (read as false)
    assert got[("ENC-01", volume.format("unset"))] == "error"
    assert got[("ENC-01", volume.format("off"))] == "fail"
    assert got[("ENC-01", volume.format("on"))] == "pass"
