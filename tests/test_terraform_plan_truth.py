"""Real plan files as `terraform show -json` writes them, read truthfully: what Terraform's
JSON output format documents (https://developer.hashicorp.com/terraform/internals/json-format)
and what its writer (internal/command/jsonplan/plan.go) really emits, where it decides a
verdict. Unknown or sensitive values never read as a pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.terraform.build_plans import const, plan, ref, res
from tests.helpers import PLAN_AWS as AWS
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import SEED002, findings_of, scan_json
from tests.helpers import write_plan as write


def verdicts(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
            for f in findings_of(doc)}


def _db(**values: Any) -> dict[str, Any]:
    return {"identifier": "orders", "engine": "postgres", "port": 5432,
            "backup_retention_period": 7, "vpc_security_group_ids": [],
            "kms_key_id": "", **values}


def _deposed(rc: dict[str, Any], key: str) -> dict[str, Any]:
    """The entry Terraform writes for a deposed object of the same address (an earlier
    create_before_destroy replacement that failed half-way): sorted right after the current
    instance's (jsonplan sorts by address, then by deposed key, "" first), action delete,
    `after` null, `after_unknown` {}, `after_sensitive` false."""
    return {**{k: v for k, v in rc.items() if k != "change"}, "deposed": key,
            "change": {"actions": ["delete"], "before": rc["change"]["after"], "after": None,
                       "after_unknown": {}, "before_sensitive": {},
                       "after_sensitive": False}}


def test_a_deposed_object_does_not_hide_the_current_instances_unknowns(tmp_path: Path) -> None:
    rs = [
        res("aws_db_instance.orders", _db(storage_encrypted=True),
            actions=("create", "delete"), unknown={"publicly_accessible": True, "id": True},
            expressions={"publicly_accessible": ref("var.public")}),
        res("aws_security_group.ssh", {"name": "ssh", "ingress": [
            {"protocol": "tcp", "from_port": 22, "to_port": 22, "ipv6_cidr_blocks": [],
             "prefix_list_ids": [], "security_groups": [], "self": False}]},
            unknown={"ingress": [{"cidr_blocks": True}], "id": True},
            expressions={"ingress": {"references": ["var.office"]}}),
    ]
    doc = plan(rs, provider_config=AWS, timestamp=STAMP)
    changes = doc["resource_changes"]
    doc["resource_changes"] = [c for rc in changes for c in (rc, _deposed(rc, "7e1c2a9f"))]
    code, out = scan_json(str(write(tmp_path, doc)), "--checks", "NET-01,NET-07")
    got = verdicts(out)
    # before: the deposed entry replaced the current one: no unknowns, both "pass"
    assert got[("NET-01", "aws_db_instance.orders")] == "error"
    assert got[("NET-07", "aws_security_group.ssh")] == "error"
    assert code == 3


def test_sensitive_values_are_unknown_never_the_markers_text(tmp_path: Path) -> None:
    """A value derived from a `sensitive = true` variable is written in the plan and marked
    in `after_sensitive` (Terraform 0.14+); posture redacts it, and must then not judge the
    marker: a redacted CIDR list is no source, a redacted `storage_encrypted` is no truth."""
    office = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"],
              "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
              "self": False, "description": ""}
    rs = [
        res("aws_security_group.office", {"name": "office", "ingress": [office]},
            unknown={"id": True}, sensitive={"ingress": [{"cidr_blocks": True}]},
            expressions={"ingress": {"references": ["var.office_cidrs"]}}),
        res("aws_db_instance.ledger", _db(storage_encrypted=False, publicly_accessible=False),
            unknown={"id": True}, sensitive={"storage_encrypted": True}),
        res("hcloud_firewall.admin", {"name": "admin", "labels": {}, "apply_to": [],
                                      "rule": [{"direction": "in", "protocol": "tcp",
                                                "port": "22", "source_ips": ["0.0.0.0/0"],
                                                "destination_ips": [], "description": ""}]},
            unknown={"id": True}, sensitive={"rule": True}),
    ]
    path = write(tmp_path, plan(rs, provider_config={
        **AWS, "hcloud": {"name": "hcloud", "expressions": {}}}, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-07,ENC-01")
    got = verdicts(out)
    # before: "pass", "pass" (the marker is truthy), "pass" (no rule read)
    assert got[("NET-07", "aws_security_group.office")] == "error"
    assert got[("ENC-01", "aws_db_instance.ledger")] == "error"
    assert got[("NET-07", "hcloud_firewall.admin")] == "error"
    assert code == 3


def test_rule_blocks_known_only_after_apply_may_open_anything(tmp_path: Path) -> None:
    """`dynamic "rule"` / `dynamic "ingress"` over a value known after apply: Terraform writes
    the whole block set, or one element of it, as `true` in after_unknown and leaves it out
    of the planned values."""
    rs = [
        res("hcloud_firewall.dyn", {"name": "dyn", "labels": {}, "apply_to": []},
            unknown={"id": True, "rule": True},
            expressions={"name": const("dyn")}),
        res("hcloud_firewall.one", {"name": "one", "labels": {}, "apply_to": [], "rule": [
            {"direction": "in", "protocol": "icmp", "source_ips": ["10.0.0.0/8"],
             "destination_ips": [], "description": ""}, None]},
            unknown={"id": True, "rule": [False, True]}),
        res("aws_security_group.one", {"name": "one", "ingress": [None]},
            unknown={"id": True, "ingress": [True]}),
        res("azurerm_network_security_group.one", {
            "name": "one", "location": "westeurope", "resource_group_name": "rg",
            "security_rule": [None]}, unknown={"id": True, "security_rule": [True]}),
    ]
    path = write(tmp_path, plan(rs, provider_config={
        **AWS, "hcloud": {"name": "hcloud", "expressions": {}},
        "azurerm": {"name": "azurerm", "expressions": {}}}, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-07")
    got = {k[1]: v for k, v in verdicts(out).items() if k[0] == "NET-07"}
    # before: every one "pass" (no rule read)
    assert got == {"hcloud_firewall.dyn": "error", "hcloud_firewall.one": "error",
                   "aws_security_group.one": "error",
                   "azurerm_network_security_group.one": "error"}
    assert code == 3


def _v3_bucket(name: str, replication: Any) -> dict[str, Any]:
    """An aws_s3_bucket as AWS provider 3.x plans it: encryption, replication and policy
    inline (split into separate resources in provider 4)."""
    return {"bucket": name, "acl": "private", "force_destroy": False, "policy": None,
            "server_side_encryption_configuration": [], "replication_configuration":
            replication, "versioning": [{"enabled": True, "mfa_delete": False}],
            "tags": None}


def test_a_v3_buckets_inline_replication_is_read(tmp_path: Path) -> None:
    rule = {"id": "dr", "priority": 0, "prefix": "", "status": "Enabled", "filter": [],
            "source_selection_criteria": [], "delete_marker_replication_status": "",
            "destination": [{"bucket": "arn:aws:s3:::orders-dr", "storage_class": "STANDARD",
                             "account_id": "", "replica_kms_key_id": "",
                             "access_control_translation": [], "metrics": [],
                             "replication_time": []}]}
    rs = [
        res("aws_s3_bucket.orders", _v3_bucket("orders", [{"role": "arn:aws:iam::1:role/r",
                                                           "rules": [rule]}]),
            unknown={"id": True, "arn": True}),
        res("aws_s3_bucket.orders_dr", {**_v3_bucket("orders-dr", []),
                                        "arn": "arn:aws:s3:::orders-dr"},
            unknown={"id": True}, provider_key="aws.us"),
        # the destination only known after apply: may be anywhere, in the same region too
        res("aws_s3_bucket.logs", _v3_bucket("logs", [{"role": "arn:aws:iam::1:role/r",
                                                       "rules": [None]}]),
            unknown={"id": True, "arn": True,
                     "replication_configuration": [{"rules": [True]}]}),
        # provider 4+: a separate resource replicating to a bucket outside the plan (its
        # region is not in the plan: a copy, but perhaps in the same region)
        res("aws_s3_bucket.media", {"bucket": "media"}, unknown={"id": True, "arn": True}),
        res("aws_s3_bucket_replication_configuration.media", {
            "bucket": "media", "role": "arn:aws:iam::1:role/r", "rule": [{
                "id": "all", "status": "Enabled", "destination": [{
                    "bucket": "arn:aws:s3:::media-copy", "storage_class": "STANDARD"}]}]},
            unknown={"id": True}, expressions={"bucket": ref("aws_s3_bucket.media.id")}),
    ]
    doc = plan(rs, provider_config={**AWS, "aws.us": {
        "name": "aws", "alias": "us", "expressions": {"region": const("us-east-1")}}},
        timestamp=STAMP)
    doc["format_version"], doc["terraform_version"] = "0.2", "1.0.11"
    code, out = scan_json(str(write(tmp_path, doc)), "--checks", "RES-02,BAK-01")
    got = verdicts(out)
    # before: RES-02 "pass" ("no copies outside its own region") for both
    assert got[("RES-02", "aws_s3_bucket.orders")] == "fail"  # copies in us-east-1
    assert got[("RES-02", "aws_s3_bucket.logs")] == "error"
    assert got[("BAK-01", "aws_s3_bucket.orders")] == "pass"
    assert got[("BAK-01", "aws_s3_bucket.logs")] == "error"  # before: "fail" (zone)
    assert got[("RES-02", "aws_s3_bucket.media")] == "error"
    assert got[("BAK-01", "aws_s3_bucket.media")] == "error"  # before: "pass" (geo)
    assert code == 1


def _nsg(name: str, port: str) -> dict[str, Any]:
    return {"name": name, "location": "westeurope", "resource_group_name": "rg", "tags": {},
            "security_rule": [{
                "name": f"in-{port}", "priority": 100, "direction": "Inbound",
                "access": "Allow", "protocol": "Tcp", "source_port_range": "*",
                "destination_port_range": port, "source_address_prefix": "Internet",
                "destination_address_prefix": "*", "source_address_prefixes": [],
                "destination_address_prefixes": [], "destination_port_ranges": [],
                "source_port_ranges": [], "description": ""}]}


def test_every_nic_of_a_vm_with_a_public_ip_is_an_entry_path(tmp_path: Path) -> None:
    """A VM with two NICs, each with a Standard public IP: the first NIC's NSG admits only
    443, the second's 22 from the internet. SSH is reachable (as the live path judges every
    IP configuration: providers/azure/normalize/compute.py)."""
    rs: list[dict[str, Any]] = [
        res("azurerm_network_security_group.web", _nsg("nsg-web", "443"), unknown={"id": True}),
        res("azurerm_network_security_group.mgmt", _nsg("nsg-mgmt", "22"),
            unknown={"id": True})]
    for nic in ("web", "mgmt"):
        rs += [
            res(f"azurerm_public_ip.{nic}", {"name": f"pip-{nic}", "location": "westeurope",
                                             "resource_group_name": "rg", "sku": "Standard",
                                             "allocation_method": "Static", "tags": {}},
                unknown={"id": True, "ip_address": True}),
            res(f"azurerm_network_interface.{nic}", {
                "name": f"nic-{nic}", "location": "westeurope", "resource_group_name": "rg",
                "ip_configuration": [{"name": "ipconfig", "primary": True,
                                      "private_ip_address_allocation": "Dynamic"}]},
                unknown={"id": True, "ip_configuration": [{
                    "subnet_id": True, "public_ip_address_id": True,
                    "private_ip_address": True}]},
                expressions={"ip_configuration": [{"public_ip_address_id": ref(
                    f"azurerm_public_ip.{nic}.id")}]}),
            res(f"azurerm_network_interface_security_group_association.{nic}", {},
                unknown={"id": True, "network_interface_id": True,
                         "network_security_group_id": True},
                expressions={"network_interface_id": ref(f"azurerm_network_interface.{nic}.id"),
                             "network_security_group_id": ref(
                                 f"azurerm_network_security_group.{nic}.id")}),
        ]
    rs.append(res("azurerm_linux_virtual_machine.app", {
        "name": "vm-app", "location": "westeurope", "resource_group_name": "rg",
        "size": "Standard_B2s", "admin_username": "azureuser",
        "disable_password_authentication": True, "tags": {},
        "source_image_reference": [{"publisher": "Canonical", "offer": "ubuntu-24_04-lts",
                                    "sku": "server", "version": "latest"}],
        "os_disk": [{"caching": "ReadWrite", "storage_account_type": "Premium_LRS"}]},
        unknown={"id": True, "network_interface_ids": True},
        expressions={"network_interface_ids": ref("azurerm_network_interface.web.id",
                                                  "azurerm_network_interface.mgmt.id")}))
    path = write(tmp_path, plan(rs, provider_config={
        "azurerm": {"name": "azurerm", "expressions": {}}}, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-02")
    # before: "pass" (only the first NIC's NSG was read)
    assert verdicts(out)[("NET-02", "azurerm_linux_virtual_machine.app")] == "fail"
    assert code == 1


def test_azure_arguments_known_only_after_apply_are_not_their_defaults(tmp_path: Path) -> None:
    """A default applies where an argument is not set, never where it is set to a value
    known only after apply (a variable from another module's output, a `try()` over a
    resource attribute): then retention, backup storage and geo-redundancy are unknown."""
    rs = [
        res("azurerm_mssql_server.main", {
            "name": "sql-acme", "location": "westeurope", "resource_group_name": "rg",
            "version": "12.0", "minimum_tls_version": "1.2", "administrator_login": "sa",
            "public_network_access_enabled": False, "tags": {}},
            unknown={"id": True, "fully_qualified_domain_name": True}),
        res("azurerm_mssql_database.app", {"name": "app", "tags": {},
                                           "transparent_data_encryption_enabled": True},
            unknown={"id": True, "server_id": True, "storage_account_type": True,
                     "short_term_retention_policy": True},
            expressions={"server_id": ref("azurerm_mssql_server.main.id"),
                         "storage_account_type": ref("var.backup_storage"),
                         "short_term_retention_policy": [{"retention_days": ref(
                             "module.policy.retention_days")}]}),
        res("azurerm_postgresql_flexible_server.pg", {
            "name": "pg-acme", "location": "westeurope", "resource_group_name": "rg",
            "version": "16", "sku_name": "GP_Standard_D2s_v3", "delegated_subnet_id": None,
            "public_network_access_enabled": False, "tags": {}},
            unknown={"id": True, "fqdn": True, "backup_retention_days": True,
                     "geo_redundant_backup_enabled": True},
            expressions={"backup_retention_days": ref("var.retention"),
                         "geo_redundant_backup_enabled": ref("var.geo")}),
        res("azurerm_storage_account.data", {
            "name": "acmedata", "resource_group_name": "rg", "location": "West Europe",
            "account_tier": "Standard", "min_tls_version": "TLS1_2",
            "https_traffic_only_enabled": True, "public_network_access_enabled": False,
            "tags": {}},
            unknown={"id": True, "account_replication_type": True},
            expressions={"account_replication_type": ref("var.replication")}),
    ]
    path = write(tmp_path, plan(rs, provider_config={
        "azurerm": {"name": "azurerm", "expressions": {}}}, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "BAK-01,BAK-02,RES-02")
    got = verdicts(out)
    # before: BAK-01 "pass" (Geo by default) and BAK-02 "pass" (7 days by default) for the
    # database, BAK-02 "pass" for the server, RES-02 "pass" ("no copies") for all three
    assert got[("BAK-01", "azurerm_mssql_database.app")] == "error"
    assert got[("BAK-02", "azurerm_mssql_database.app")] == "error"
    assert got[("BAK-02", "azurerm_postgresql_flexible_server.pg")] == "error"
    for address in ("azurerm_mssql_database.app", "azurerm_postgresql_flexible_server.pg",
                    "azurerm_storage_account.data"):
        assert got[("RES-02", address)] == "error", address
    assert code == 3


def test_iac_a_deposed_object_does_not_replace_the_current_instance(tmp_path: Path) -> None:
    """--iac with a plan whose state holds a deposed object of hcloud_server.app (a failed
    create_before_destroy): prior_state lists it after the current instance with
    `deposed_key`, resource_changes after the current change with `deposed`. The live
    server/101 is managed (the current instance), not "unmanaged"."""
    def server(sid: str) -> dict[str, Any]:
        return {"address": "hcloud_server.app", "mode": "managed", "type": "hcloud_server",
                "name": "app", "provider_name": "registry.terraform.io/hetznercloud/hcloud",
                "values": {"id": sid, "name": "app-1", "location": "fsn1"},
                "sensitive_values": {}}
    current, old = server("101"), {**server("999"), "deposed_key": "00000001"}
    keys = ("address", "mode", "type", "name", "provider_name")
    doc = {
        "format_version": "1.2", "terraform_version": "1.9.8", "complete": True,
        "errored": False,
        "prior_state": {"format_version": "1.0", "values": {"root_module": {
            "resources": [current, old]}}},
        "planned_values": {"root_module": {"resources": [current]}},
        "resource_changes": [
            {**{k: current[k] for k in keys}, "change": {
                "actions": ["no-op"], "before": current["values"],
                "after": current["values"], "after_unknown": {}}},
            {**{k: current[k] for k in keys}, "deposed": "00000001", "change": {
                "actions": ["delete"], "before": old["values"], "after": None,
                "after_unknown": {}}}]}
    path = write(tmp_path, doc)
    _, out = scan_json(str(SEED002), "--iac", str(path), "--checks", "INV-01")
    found = {f["resource"]: f for f in findings_of(out)}
    # before: server/101 "fail" (unmanaged: the deposed object's id 999 replaced its own)
    assert found["hetzner:ohallo-prod/server/101"]["status"] == "pass"
    assert not any("999" in rid for rid in found)


def test_an_aws_region_argument_known_only_after_apply_is_not_the_providers(
        tmp_path: Path) -> None:
    """AWS provider 6: a resource's own `region` overrides its provider configuration's; set
    to a value known only after apply (here another module's output), the resource's
    region is not known, never the provider's eu-central-1."""
    rs = [res("aws_ebs_volume.data", {"availability_zone": None, "size": 20,
                                      "encrypted": True, "tags": None},
              unknown={"id": True, "arn": True, "region": True, "availability_zone": True},
              expressions={"region": ref("module.dr.region"), "size": const(20),
                           "encrypted": const(True)})]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "RES-01")
    # before: "pass" (in eu-central-1, the provider's region)
    assert verdicts(out)[("RES-01", "aws_ebs_volume.data")] == "error"
    assert code == 3


def test_every_nic_of_a_scale_set_with_public_ips_is_an_entry_path(tmp_path: Path) -> None:
    """A scale set whose primary NIC (NSG: 443) and second NIC (NSG: 22 from the internet)
    both give instances a public IP (azurerm docs, linux_virtual_machine_scale_set:
    `network_interface` blocks, each with `network_security_group_id` and
    `ip_configuration.public_ip_address`)."""
    def nic(name: str, primary: bool) -> dict[str, Any]:
        return {"name": name, "primary": primary, "network_security_group_id": None,
                "ip_configuration": [{"name": "ipconfig", "primary": True, "subnet_id": None,
                                      "public_ip_address": [{"name": f"pip-{name}"}]}]}
    rs = [
        res("azurerm_network_security_group.web", _nsg("nsg-web", "443"), unknown={"id": True}),
        res("azurerm_network_security_group.mgmt", _nsg("nsg-mgmt", "22"),
            unknown={"id": True}),
        res("azurerm_linux_virtual_machine_scale_set.app", {
            "name": "vmss-app", "location": "westeurope", "resource_group_name": "rg",
            "disable_password_authentication": True, "tags": {},
            "network_interface": [nic("web", True), nic("mgmt", False)]},
            unknown={"id": True, "network_interface": [
                {"network_security_group_id": True, "ip_configuration": [{"subnet_id": True}]},
                {"network_security_group_id": True,
                 "ip_configuration": [{"subnet_id": True}]}]},
            expressions={"network_interface": [
                {"network_security_group_id": ref("azurerm_network_security_group.web.id")},
                {"network_security_group_id": ref(
                    "azurerm_network_security_group.mgmt.id")}]}),
    ]
    path = write(tmp_path, plan(rs, provider_config={
        "azurerm": {"name": "azurerm", "expressions": {}}}, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-02")
    # before: "pass" (only the primary NIC's NSG was read)
    assert verdicts(out)[("NET-02", "azurerm_linux_virtual_machine_scale_set.app")] == "fail"
    assert code == 1


def test_a_listener_protocol_known_only_after_apply_is_not_a_guess(tmp_path: Path) -> None:
    """A Classic ELB listener's required `lb_protocol`, or an ALB listener's `protocol`, set
    from a value known only after apply: plain HTTP at worst, HTTPS at best (TLS-02 error),
    never "TCP pass-through" (skip) or a certain plain-HTTP fail."""
    rs = [
        res("aws_elb.legacy", {"name": "legacy", "internal": False, "listener": [
            {"lb_port": 80, "instance_port": 8080, "instance_protocol": "http",
             "ssl_certificate_id": ""}], "subnets": ["subnet-1"], "security_groups": []},
            unknown={"id": True, "arn": True, "listener": [{"lb_protocol": True}]},
            expressions={"listener": [{"lb_protocol": ref("module.edge.protocol")}]}),
        res("aws_lb.web", {"name": "web", "internal": False, "load_balancer_type": "application",
                           "security_groups": [], "subnets": ["subnet-1"]},
            unknown={"id": True, "arn": True}),
        res("aws_lb_listener.web", {"port": 80, "default_action": [
            {"type": "fixed-response", "order": 1, "fixed_response": [
                {"content_type": "text/plain", "message_body": "ok", "status_code": "200"}]}]},
            unknown={"id": True, "arn": True, "load_balancer_arn": True, "protocol": True},
            expressions={"load_balancer_arn": ref("aws_lb.web.arn"),
                         "protocol": ref("module.edge.protocol")}),
    ]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "TLS-02")
    got = verdicts(out)
    # before: "skip" (TCP pass-through) and "fail" (plain HTTP)
    assert got[("TLS-02", "aws_elb.legacy/listener/0")] == "error"
    assert got[("TLS-02", "aws_lb_listener.web")] == "error"
    assert code == 3


def test_azure_names_and_ids_match_whatever_their_case(tmp_path: Path) -> None:
    """ARM names, resource group names and resource ids are case-insensitive: a separate
    rule naming its NSG `nsg-web` in `rg-app` belongs to `NSG-Web` in `RG-App`, and an
    association naming a NIC by a lower-cased id attaches the NSG to that NIC."""
    sub = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/RG-App"
    nsg_id = f"{sub}/providers/Microsoft.Network/networkSecurityGroups/NSG-Web"
    nic_id = f"{sub}/providers/Microsoft.Network/networkInterfaces/NIC-App"
    pip_id = f"{sub}/providers/Microsoft.Network/publicIPAddresses/PIP-App"
    rs = [
        res("azurerm_network_security_group.web", {**_nsg("NSG-Web", "443"), "id": nsg_id,
                                                   "resource_group_name": "RG-App"},
            actions=("no-op",)),
        res("azurerm_network_security_rule.ssh", {
            "name": "ssh", "priority": 110, "direction": "Inbound", "access": "Allow",
            "protocol": "Tcp", "source_port_range": "*", "destination_port_range": "22",
            "source_address_prefix": "Internet", "destination_address_prefix": "*",
            "resource_group_name": "rg-app", "network_security_group_name": "nsg-web"},
            unknown={"id": True}),
        res("azurerm_public_ip.app", {"name": "PIP-App", "id": pip_id, "sku": "Standard",
                                      "location": "westeurope", "ip_address": "20.1.2.3",
                                      "allocation_method": "Static"}, actions=("no-op",)),
        res("azurerm_network_interface.app", {
            "name": "NIC-App", "id": nic_id, "location": "westeurope",
            "ip_configuration": [{"name": "ipconfig", "private_ip_address": "10.0.0.4",
                                  "public_ip_address_id": pip_id.lower(),
                                  "subnet_id": None}]}, actions=("no-op",)),
        res("azurerm_network_interface_security_group_association.app", {
            "network_interface_id": nic_id.lower(), "network_security_group_id": nsg_id.lower(),
            "id": "assoc"}, actions=("no-op",)),
        res("azurerm_linux_virtual_machine.app", {
            "name": "vm-app", "location": "westeurope", "resource_group_name": "RG-App",
            "network_interface_ids": [nic_id.lower()], "disable_password_authentication": True,
            "os_disk": [{"caching": "ReadWrite", "storage_account_type": "Premium_LRS"}]},
            actions=("no-op",)),
    ]
    path = write(tmp_path, plan(rs, provider_config={
        "azurerm": {"name": "azurerm", "expressions": {}}}, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-02,NET-07")
    got = verdicts(out)
    # before: NET-07 "pass" for the NSG (the rule was judged apart, as of an NSG not in the
    # plan) and NET-02 "error" for the VM (its NIC, named by a lower-cased id, "not in the
    # plan"; the NIC and the association NOT-ASSESSED as of no owner)
    assert got[("NET-07", "azurerm_network_security_group.web")] == "fail"
    assert got[("NET-02", "azurerm_linux_virtual_machine.app")] == "fail"
    assert code == 1


def test_an_instances_elastic_ip_association_and_ipv6_addresses_are_public(
        tmp_path: Path) -> None:
    """An instance launched without a public IPv4 address gets one from an
    aws_eip_association, and an IPv6 address (ipv6_address_count) is public too."""
    ssh = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"],
           "ipv6_cidr_blocks": ["::/0"], "prefix_list_ids": [], "security_groups": [],
           "self": False, "description": ""}

    def instance(address: str, **values: Any) -> dict[str, Any]:
        return res(address, {"ami": "ami-0abc", "instance_type": "t3.micro",
                             "associate_public_ip_address": False, "key_name": "ops",
                             "vpc_security_group_ids": [None], **values},
                   unknown={"id": True, "arn": True, "public_ip": True, "private_ip": True,
                            "vpc_security_group_ids": [True], "ipv6_addresses": True},
                   expressions={"vpc_security_group_ids": ref("aws_security_group.ssh.id"),
                                "associate_public_ip_address": const(False),
                                **({"ipv6_address_count": const(1)}
                                   if "ipv6_address_count" in values else {})})
    rs = [
        res("aws_security_group.ssh", {"name": "ssh", "ingress": [ssh]}, unknown={"id": True}),
        instance("aws_instance.bastion"),
        res("aws_eip.bastion", {"domain": "vpc"},
            unknown={"id": True, "public_ip": True, "allocation_id": True}),
        res("aws_eip_association.bastion", {}, unknown={
            "id": True, "instance_id": True, "allocation_id": True},
            expressions={"instance_id": ref("aws_instance.bastion.id"),
                         "allocation_id": ref("aws_eip.bastion.id")}),
        instance("aws_instance.v6", ipv6_address_count=1),
    ]
    rs += [
        res("aws_subnet.private", {"cidr_block": "10.0.2.0/24",
                                   "map_public_ip_on_launch": False}, unknown={"id": True}),
        res("aws_launch_template.v6", {
            "name": "v6", "image_id": "ami-1", "key_name": "ops",
            "network_interfaces": [{"device_index": 0, "associate_public_ip_address": "false",
                                    "ipv6_address_count": 1, "ipv6_addresses": [],
                                    "security_groups": [None]}]},
            unknown={"id": True, "network_interfaces": [{"security_groups": [True]}]},
            expressions={"network_interfaces": [{"security_groups": ref(
                "aws_security_group.ssh.id")}]}),
        res("aws_autoscaling_group.v6", {"name": "v6", "max_size": 3, "min_size": 1,
                                         "launch_template": [{"version": "$Latest"}]},
            unknown={"launch_template": [{"id": True}], "vpc_zone_identifier": True},
            expressions={"launch_template": [{"id": ref("aws_launch_template.v6.id")}],
                         "vpc_zone_identifier": ref("aws_subnet.private.id")}),
    ]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-02")
    got = verdicts(out)
    assert got[("NET-02", "aws_autoscaling_group.v6")] == "fail"  # before: no finding
    # before: no NET-02 finding for either (not reachable: "no public IP"), exit 0, the
    # association NOT-ASSESSED and the elastic IP "no owner"
    assert got[("NET-02", "aws_instance.bastion")] == "fail"
    assert got[("NET-02", "aws_instance.v6")] == "fail"
    assert not [f for f in findings_of(out) if f["check"] == "NOT-ASSESSED"]
    assert code == 1


def test_a_reference_to_one_for_each_instance_is_that_instance_only(tmp_path: Path) -> None:
    """`vpc_security_group_ids = [aws_security_group.web["https"].id]`: Terraform 1.x lists
    the references `aws_security_group.web["https"].id`, `aws_security_group.web["https"]`
    and then `aws_security_group.web` (the resource without the key): the instance uses the
    "https" group only, not the "ssh" one."""
    def group(key: str, port: int) -> dict[str, Any]:
        return res(f'aws_security_group.web["{key}"]', {"name": f"web-{key}", "ingress": [{
            "protocol": "tcp", "from_port": port, "to_port": port,
            "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": [], "prefix_list_ids": [],
            "security_groups": [], "self": False, "description": ""}]},
            unknown={"id": True}, index=key)
    web = 'aws_security_group.web["https"]'
    rs = [group("https", 443), group("ssh", 22),
          res("aws_instance.app", {"ami": "ami-0abc", "instance_type": "t3.micro",
                                   "associate_public_ip_address": True, "key_name": "ops",
                                   "vpc_security_group_ids": [None]},
              unknown={"id": True, "public_ip": True, "vpc_security_group_ids": [True]},
              expressions={"vpc_security_group_ids": {"references": [
                  f"{web}.id", web, "aws_security_group.web"]}})]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-02")
    # before: "fail" (port 22 of the "ssh" group, which the instance does not use)
    assert verdicts(out)[("NET-02", "aws_instance.app")] == "pass"
    assert code == 0


def test_rds_copies_in_other_regions_are_read(tmp_path: Path) -> None:
    """A DB instance's automated backups replicated to us-east-1
    (aws_db_instance_automated_backups_replication under a us-east-1 provider) and another
    instance's cross-region read replica (`replicate_source_db` = its ARN): copies outside
    the EU, as the live path reads DBInstanceAutomatedBackupsReplications and read
    replicas."""
    arn = "arn:aws:rds:eu-central-1:111122223333:db:ledger"
    rs = [
        res("aws_db_instance.orders", _db(storage_encrypted=True),
            unknown={"id": True, "arn": True}),
        res("aws_db_instance_automated_backups_replication.orders", {
            "retention_period": 7, "kms_key_id": None},
            unknown={"id": True, "source_db_instance_arn": True},
            expressions={"source_db_instance_arn": ref("aws_db_instance.orders.arn")},
            provider_key="aws.us"),
        res("aws_db_instance.ledger", _db(identifier="ledger", arn=arn,
                                          storage_encrypted=True), actions=("no-op",)),
        res("aws_db_instance.ledger_us", _db(identifier="ledger-us", replicate_source_db=arn,
                                             storage_encrypted=True, backup_retention_period=0),
            unknown={"id": True, "arn": True}, provider_key="aws.us"),
    ]
    doc = plan(rs, provider_config={**AWS, "aws.us": {
        "name": "aws", "alias": "us", "expressions": {"region": const("us-east-1")}}},
        timestamp=STAMP)
    code, out = scan_json(str(write(tmp_path, doc)), "--checks", "RES-02,BAK-01")
    got = verdicts(out)
    # before: RES-02 "pass" ("no copies outside its own region") for both, BAK-01 "fail"
    # (zone-redundant only) for orders, the replication NOT-ASSESSED
    assert got[("RES-02", "aws_db_instance.orders")] == "fail"
    assert got[("RES-02", "aws_db_instance.ledger")] == "fail"
    assert got[("BAK-01", "aws_db_instance.orders")] == "pass"
    assert not [f for f in findings_of(out) if f["check"] == "NOT-ASSESSED"]
    assert code == 1


def test_a_vm_behind_a_load_balancer_the_plan_does_not_map_is_not_unreachable(
        tmp_path: Path) -> None:
    """A VM without a public IP whose NIC is in an azurerm_lb backend pool
    (azurerm_network_interface_backend_address_pool_association): the load balancer may
    forward 22 from the internet. Not "no path from the internet" (the live path marks a
    VM fronted by a load balancer it did not read the same way)."""
    rs = [
        res("azurerm_network_security_group.app", _nsg("nsg-app", "22"), unknown={"id": True}),
        res("azurerm_network_interface.app", {
            "name": "nic-app", "location": "westeurope", "resource_group_name": "rg",
            "ip_configuration": [{"name": "ipconfig", "private_ip_address_allocation":
                                  "Dynamic", "public_ip_address_id": None}]},
            unknown={"id": True, "ip_configuration": [{"subnet_id": True,
                                                       "private_ip_address": True}]}),
        res("azurerm_network_interface_security_group_association.app", {},
            unknown={"id": True, "network_interface_id": True,
                     "network_security_group_id": True},
            expressions={"network_interface_id": ref("azurerm_network_interface.app.id"),
                         "network_security_group_id": ref(
                             "azurerm_network_security_group.app.id")}),
        res("azurerm_lb.front", {"name": "lb-front", "location": "westeurope", "sku": "Standard",
                                 "resource_group_name": "rg"}, unknown={"id": True}),
        res("azurerm_lb_backend_address_pool.app", {"name": "app"},
            unknown={"id": True, "loadbalancer_id": True},
            expressions={"loadbalancer_id": ref("azurerm_lb.front.id")}),
        res("azurerm_network_interface_backend_address_pool_association.app", {
            "ip_configuration_name": "ipconfig"},
            unknown={"id": True, "network_interface_id": True,
                     "backend_address_pool_id": True},
            expressions={"network_interface_id": ref("azurerm_network_interface.app.id"),
                         "backend_address_pool_id": ref(
                             "azurerm_lb_backend_address_pool.app.id")}),
        res("azurerm_linux_virtual_machine.app", {
            "name": "vm-app", "location": "westeurope", "resource_group_name": "rg",
            "disable_password_authentication": True, "tags": {},
            "os_disk": [{"caching": "ReadWrite", "storage_account_type": "Premium_LRS"}]},
            unknown={"id": True, "network_interface_ids": True},
            expressions={"network_interface_ids": ref("azurerm_network_interface.app.id")}),
    ]
    path = write(tmp_path, plan(rs, provider_config={
        "azurerm": {"name": "azurerm", "expressions": {}}}, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-02")
    # before: no NET-02 finding (judged unreachable), exit 0
    assert verdicts(out)[("NET-02", "azurerm_linux_virtual_machine.app")] == "error"
    assert code == 3


def test_what_a_load_balancer_forwards_reaches_its_targets(tmp_path: Path) -> None:
    """An NLB listener on 22 whose default action forwards with a weighted `forward` block
    (no `target_group_arn`) to the bastion's target group: SSH reaches the bastion. An
    instance registered in a target group no planned listener forwards to (its load
    balancer is outside the plan) is not "unreachable"; one a listener rule forwards to is
    reached through that listener, as live."""
    sg = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"],
          "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
          "self": False, "description": ""}

    def instance(name: str) -> dict[str, Any]:
        return res(f"aws_instance.{name}", {
            "ami": "ami-0abc", "instance_type": "t3.micro", "key_name": "ops",
            "associate_public_ip_address": False, "vpc_security_group_ids": [None]},
            unknown={"id": True, "private_ip": True, "vpc_security_group_ids": [True]},
            expressions={"vpc_security_group_ids": ref("aws_security_group.ssh.id"),
                         "associate_public_ip_address": const(False)})

    def group(name: str) -> list[dict[str, Any]]:
        return [res(f"aws_lb_target_group.{name}", {"name": name, "port": 22,
                                                    "protocol": "TCP"},
                    unknown={"id": True, "arn": True}),
                res(f"aws_lb_target_group_attachment.{name}", {"port": 22},
                    unknown={"id": True, "target_group_arn": True, "target_id": True},
                    expressions={"target_group_arn": ref(f"aws_lb_target_group.{name}.arn"),
                                 "target_id": ref(f"aws_instance.{name}.id")})]
    rs = [
        res("aws_security_group.ssh", {"name": "ssh", "ingress": [sg]}, unknown={"id": True}),
        instance("bastion"), instance("legacy"), *group("bastion"), *group("legacy"),
        instance("ruled"), *group("ruled"),
        res("aws_lb_listener_rule.ruled", {"priority": 10, "action": [
            {"type": "forward", "order": 1, "target_group_arn": None}]},
            unknown={"id": True, "arn": True, "listener_arn": True,
                     "action": [{"target_group_arn": True}]},
            expressions={"listener_arn": ref("aws_lb_listener.ssh.arn"),
                         "action": [{"target_group_arn": ref(
                             "aws_lb_target_group.ruled.arn")}]}),
        res("aws_lb.edge", {"name": "edge", "internal": False, "load_balancer_type": "network",
                            "subnets": ["subnet-1"]}, unknown={"id": True, "arn": True}),
        res("aws_lb_listener.ssh", {"port": 22, "protocol": "TCP", "default_action": [{
            "type": "forward", "order": 1, "target_group_arn": None, "forward": [{
                "target_group": [{"arn": None, "weight": 1}], "stickiness": []}]}]},
            unknown={"id": True, "arn": True, "load_balancer_arn": True, "default_action": [{
                "forward": [{"target_group": [{"arn": True}]}]}]},
            expressions={"load_balancer_arn": ref("aws_lb.edge.arn"),
                         "default_action": [{"forward": [{"target_group": [{"arn": ref(
                             "aws_lb_target_group.bastion.arn")}]}]}]}),
    ]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-02")
    got = verdicts(out)
    # before: no NET-02 finding for either (neither reachable; the NLB itself fails)
    assert got[("NET-02", "aws_instance.bastion")] == "fail"
    assert got[("NET-02", "aws_instance.legacy")] == "error"
    assert got[("NET-02", "aws_instance.ruled")] == "fail"  # a listener rule's group
    assert code == 1


def test_an_autoscaling_groups_target_groups_are_load_balancer_paths(tmp_path: Path) -> None:
    """An autoscaling group registers its instances in the target groups of
    `target_group_arns` (or an aws_autoscaling_attachment's `lb_target_group_arn`): an NLB
    forwarding 22 to one reaches the instances; one no planned listener forwards to leaves
    what reaches them unknown."""
    ssh = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"],
           "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
           "self": False, "description": ""}

    def asg(name: str, **extra: Any) -> list[dict[str, Any]]:
        return [
            res(f"aws_launch_template.{name}", {"name": name, "image_id": "ami-1",
                                                "key_name": "ops",
                                                "vpc_security_group_ids": [None]},
                unknown={"id": True, "vpc_security_group_ids": [True]},
                expressions={"vpc_security_group_ids": ref("aws_security_group.ssh.id")}),
            res(f"aws_autoscaling_group.{name}", {
                "name": name, "max_size": 2, "min_size": 1,
                "launch_template": [{"version": "$Latest"}],
                **({"target_group_arns": [None]} if extra else {})},
                unknown={"launch_template": [{"id": True}], "vpc_zone_identifier": True,
                         **({"target_group_arns": [True]} if extra else {})},
                expressions={"launch_template": [{"id": ref(f"aws_launch_template.{name}.id")}],
                             "vpc_zone_identifier": ref("aws_subnet.private.id"), **extra}),
            res(f"aws_lb_target_group.{name}", {"name": name, "port": 22, "protocol": "TCP"},
                unknown={"id": True, "arn": True})]
    rs = [
        res("aws_security_group.ssh", {"name": "ssh", "ingress": [ssh]}, unknown={"id": True}),
        res("aws_subnet.private", {"cidr_block": "10.0.2.0/24",
                                   "map_public_ip_on_launch": False}, unknown={"id": True}),
        *asg("bastion", target_group_arns=ref("aws_lb_target_group.bastion.arn")),
        *asg("workers"),
        res("aws_autoscaling_attachment.workers", {},
            unknown={"id": True, "autoscaling_group_name": True, "lb_target_group_arn": True},
            expressions={"autoscaling_group_name": ref("aws_autoscaling_group.workers.id"),
                         "lb_target_group_arn": ref("aws_lb_target_group.workers.arn")}),
        res("aws_lb.edge", {"name": "edge", "internal": False, "load_balancer_type": "network",
                            "subnets": ["subnet-1"]}, unknown={"id": True, "arn": True}),
        res("aws_lb_listener.ssh", {"port": 22, "protocol": "TCP", "default_action": [{
            "type": "forward", "order": 1, "target_group_arn": None}]},
            unknown={"id": True, "arn": True, "load_balancer_arn": True,
                     "default_action": [{"target_group_arn": True}]},
            expressions={"load_balancer_arn": ref("aws_lb.edge.arn"),
                         "default_action": [{"target_group_arn": ref(
                             "aws_lb_target_group.bastion.arn")}]}),
    ]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    code, out = scan_json(str(path), "--checks", "NET-02")
    got = verdicts(out)
    # before: no NET-02 finding for either group (no public IP: unreachable)
    assert got[("NET-02", "aws_autoscaling_group.bastion")] == "fail"
    assert got[("NET-02", "aws_autoscaling_group.workers")] == "error"
    assert not [f for f in findings_of(out) if f["check"] == "NOT-ASSESSED"]
    assert code == 1


@pytest.mark.parametrize("listener, carried", [
    ("UDP", {"udp"}),  # before: {"tcp"}, a TCP path that does not exist, the UDP one missed
    ("TCP_UDP", {"tcp", "udp"}),  # TCP and UDP on one port; before: {"tcp"}
    ("QUIC", {"udp"}),  # QUIC runs over UDP (RFC 9000); before: {"tcp"}
    ("TCP", {"tcp"}),
])
def test_an_nlb_listener_admits_and_forwards_the_transport_it_carries(
        tmp_path: Path, listener: str, carried: set[str]) -> None:
    """An internet-facing NLB listener on 3389 (RDP runs over TCP and UDP) forwarding to an
    instance open to anything: the listener carries UDP for `UDP` and `QUIC`, both for
    `TCP_UDP`, TCP for `TCP` (the live reading's LISTENER_TRANSPORT, from the AWS NLB
    listener docs), both at the load balancer and at its target."""
    rule = {"protocol": "-1", "from_port": 0, "to_port": 0,
            "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": [], "prefix_list_ids": [],
            "security_groups": [], "self": False, "description": ""}
    rs = [
        res("aws_security_group.any", {"name": "any", "ingress": [rule]}, unknown={"id": True}),
        res("aws_instance.desk", {
            "ami": "ami-0abc", "instance_type": "t3.micro", "key_name": "ops",
            "associate_public_ip_address": False, "vpc_security_group_ids": [None]},
            unknown={"id": True, "private_ip": True, "vpc_security_group_ids": [True]},
            expressions={"vpc_security_group_ids": ref("aws_security_group.any.id"),
                         "associate_public_ip_address": const(False)}),
        res("aws_lb_target_group.desk", {"name": "desk", "port": 3389, "protocol": listener},
            unknown={"id": True, "arn": True}),
        res("aws_lb_target_group_attachment.desk", {"port": 3389},
            unknown={"id": True, "target_group_arn": True, "target_id": True},
            expressions={"target_group_arn": ref("aws_lb_target_group.desk.arn"),
                         "target_id": ref("aws_instance.desk.id")}),
        res("aws_lb.edge", {"name": "edge", "internal": False, "load_balancer_type": "network",
                            "subnets": ["subnet-1"]}, unknown={"id": True, "arn": True}),
        res("aws_lb_listener.rdp", {"port": 3389, "protocol": listener, "default_action": [{
            "type": "forward", "order": 1, "target_group_arn": None}]},
            unknown={"id": True, "arn": True, "load_balancer_arn": True,
                     "default_action": [{"target_group_arn": True}]},
            expressions={"load_balancer_arn": ref("aws_lb.edge.arn"),
                         "default_action": [{"target_group_arn": ref(
                             "aws_lb_target_group.desk.arn")}]}),
    ]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    _, out = scan_json(str(path), "--checks", "NET-02")
    protocols = {str(f["resource_name"]): {v["protocol"] for v in f["evidence"]["violations"]}
                 for f in findings_of(out) if f["check"] == "NET-02" and f["status"] == "fail"}
    assert protocols == {"aws_instance.desk": carried, "edge": carried}


@pytest.mark.parametrize(("stype", "param"), [
    ("azurerm_postgresql_flexible_server", "ssl_min_protocol_version"),
    ("azurerm_mysql_flexible_server", "tls_version")])
def test_a_flexible_server_that_does_not_require_secure_transport_accepts_plaintext(
        tmp_path: Path, stype: str, param: str) -> None:
    """`require_secure_transport` OFF: the server accepts unencrypted connections whatever
    its minimum TLS version (it was TLS 1.2, a TLS-01 pass: the parameter was not read);
    ON, or not set (ON by default), the TLS parameter decides; known only after apply:
    unknown."""
    rs = []
    for name, secure in (("off", "OFF"), ("on", "ON"), ("unset", None), ("later", ...)):
        rs.append(res(f"{stype}.{name}", {
            "name": f"db-{name}", "location": "westeurope", "resource_group_name": "rg",
            "version": "16", "sku_name": "GP_Standard_D2s_v3", "delegated_subnet_id": None,
            "public_network_access_enabled": True, "tags": {}},
            unknown={"id": True, "fqdn": True}))
        rs.append(res(f"{stype}_configuration.{name}_tls", {
            "name": param, "value": "TLSv1.2"}, unknown={"id": True, "server_id": True},
            expressions={"server_id": ref(f"{stype}.{name}.id")}))
        if secure is None:
            continue
        rs.append(res(f"{stype}_configuration.{name}_secure", {
            "name": "require_secure_transport",
            **({"value": secure} if secure is not ... else {})},
            unknown={"id": True, "server_id": True, **({"value": True} if secure is ...
                                                      else {})},
            expressions={"server_id": ref(f"{stype}.{name}.id"),
                         **({"value": ref("var.secure")} if secure is ... else {})}))
    path = write(tmp_path, plan(rs, provider_config={
        "azurerm": {"name": "azurerm", "expressions": {}}}, timestamp=STAMP))
    _code, out = scan_json(str(path), "--checks", "TLS-01")
    got = verdicts(out)
    assert got[("TLS-01", f"{stype}.off")] == "fail"
    assert got[("TLS-01", f"{stype}.on")] == "pass"
    assert got[("TLS-01", f"{stype}.unset")] == "pass"
    assert got[("TLS-01", f"{stype}.later")] == "error"


def test_a_weighted_forward_reaches_each_groups_targets_on_its_own_port(tmp_path: Path
                                                                        ) -> None:
    """An ALB listener on 80 whose default action forwards, weighted, to `web` (port 8080)
    and `ops` (port 22): the listener forwarded to the first group's port only, so SSH from
    the internet to ops's instance was missed (a NET-02 pass); each port now reaches its
    own group's targets (web's instance is not reached on 22)."""
    def instance(name: str) -> dict[str, Any]:
        return res(f"aws_instance.{name}", {
            "ami": "ami-0abc", "instance_type": "t3.micro", "key_name": "ops",
            "associate_public_ip_address": False, "vpc_security_group_ids": []},
            unknown={"id": True, "private_ip": True},
            expressions={"associate_public_ip_address": const(False)})

    def group(name: str, port: int) -> list[dict[str, Any]]:
        return [res(f"aws_lb_target_group.{name}", {"name": name, "port": port,
                                                    "protocol": "HTTP"},
                    unknown={"id": True, "arn": True}),
                res(f"aws_lb_target_group_attachment.{name}", {"port": port},
                    unknown={"id": True, "target_group_arn": True, "target_id": True},
                    expressions={"target_group_arn": ref(f"aws_lb_target_group.{name}.arn"),
                                 "target_id": ref(f"aws_instance.{name}.id")})]
    rs = [
        instance("web"), instance("ops"), *group("web", 8080), *group("ops", 22),
        res("aws_lb.edge", {"name": "edge", "internal": False,
                            "load_balancer_type": "application", "subnets": ["subnet-1"],
                            "security_groups": []}, unknown={"id": True, "arn": True}),
        res("aws_lb_listener.http", {"port": 80, "protocol": "HTTP", "default_action": [{
            "type": "forward", "order": 1, "target_group_arn": None, "forward": [{
                "target_group": [{"arn": None, "weight": 90}, {"arn": None, "weight": 10}],
                "stickiness": []}]}]},
            unknown={"id": True, "arn": True, "load_balancer_arn": True, "default_action": [{
                "forward": [{"target_group": [{"arn": True}, {"arn": True}]}]}]},
            expressions={"load_balancer_arn": ref("aws_lb.edge.arn"),
                         "default_action": [{"forward": [{"target_group": [
                             {"arn": ref("aws_lb_target_group.web.arn")},
                             {"arn": ref("aws_lb_target_group.ops.arn")}]}]}]}),
    ]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    _code, out = scan_json(str(path), "--checks", "NET-02")
    got = verdicts(out)
    assert got[("NET-02", "aws_instance.ops")] == "fail"
    assert got[("NET-02", "aws_instance.web")] == "pass"
