"""NET-07: a firewall rule that admits an administrative or database port from the whole
internet is a finding on the firewall, attached to anything or not. Over the real protocols:
the hcloud client against the local Hetzner API, boto3 against moto, the azure-mgmt clients
against the local HTTPS ARM server, and the bundled Terraform plans.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aws_proxy import start_moto
from tests.azure_arm_server import ArmServer, sections_of
from tests.hcloud_server import HcloudServer, example_estate
from tests.helpers import ROOT, findings_of, run

OFFICE = "198.51.100.0/24"


def findings(doc: dict[str, Any], check: str = "NET-07") -> dict[str, dict[str, Any]]:
    return {f["resource_name"]: f for f in findings_of(doc) if f["check"] == check}


def scan(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run("scan", *args, "--checks", "NET-07", "--format", "json", "--no-timestamps",
                 env=env)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


# --- Hetzner ---------------------------------------------------------------------------------

HTOKEN = "hcloud-test-token-0123456789abcdef0123456789abcdef0123456789abcd"


def hetzner_firewall(fw_id: int, name: str, rules: list[dict[str, Any]],
                     applied_to: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"applied_to": applied_to or [], "created": "2025-03-10T09:10:00Z", "id": fw_id,
            "labels": {}, "name": name,
            "rules": [{"description": None, "destination_ips": [], "direction": "in", **r}
                      for r in rules]}


def test_hetzner_firewall_applied_to_nothing_that_admits_ssh_from_anywhere_fails() -> None:
    data = example_estate()
    data["firewalls"] += [
        hetzner_firewall(51, "ssh-anywhere-v6", [
            {"protocol": "TCP", "port": "20-25", "source_ips": ["::/0"]}]),
        hetzner_firewall(52, "db-office", [
            {"protocol": "tcp", "port": "5432", "source_ips": [OFFICE]}]),
        hetzner_firewall(53, "web-anywhere", [
            {"protocol": "tcp", "port": "443", "source_ips": ["0.0.0.0/0", "::/0"]},
            {"protocol": "udp", "port": "51820", "source_ips": ["0.0.0.0/0"]}]),
        hetzner_firewall(54, "mysql-anywhere", [
            {"protocol": "tcp", "port": "any", "source_ips": ["0.0.0.0/0"]}]),
    ]
    with HcloudServer(data, token=HTOKEN) as api:
        doc = scan("hetzner", env={"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": HTOKEN,
                                   "POSTURE_HETZNER_PROJECT": "net07"})
    got = findings(doc)
    assert got["ssh-anywhere-v6"]["status"] == "fail"
    [violation] = got["ssh-anywhere-v6"]["evidence"]["violations"]
    assert violation == {"rule": "hetzner:net07/firewall/51#0", "protocol": "tcp",
                         "ports": "22", "sources": ["::/0"]}
    assert got["mysql-anywhere"]["status"] == "fail"
    assert "3306" in got["mysql-anywhere"]["message"]
    assert got["db-office"]["status"] == "pass"
    assert got["web-anywhere"]["status"] == "pass"
    assert got["web-firewall"]["status"] == "pass"  # 22 from the office only
    assert got["ssh-anywhere-v6"]["severity"] == "high"


# --- AWS (moto) ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server, url = start_moto()
    try:
        yield url
    finally:
        server.stop()


def test_aws_security_group_nothing_uses_and_nacl_entries_in_rule_order(
        moto_url: str) -> None:
    import boto3

    ec2 = boto3.client("ec2", region_name="eu-central-1", endpoint_url=moto_url,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]

    def group(name: str, port: int, cidr: str) -> None:
        gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": cidr}]}])

    group("rdp-anywhere", 3389, "0.0.0.0/0")  # no instance uses it
    group("ssh-office", 22, OFFICE)
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_tags(Resources=[acl], Tags=[{"Key": "Name", "Value": "acl-deny-admin"}])
    for number, action, lo, hi in ((50, "deny", 0, 1023), (60, "deny", 1024, 65535),
                                   (100, "allow", 0, 65535)):
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=number, Protocol="6",
                                     RuleAction=action, Egress=False, CidrBlock="0.0.0.0/0",
                                     PortRange={"From": lo, "To": hi})
    env = {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-central-1",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    got = findings(scan("aws", "--regions", "eu-central-1", env=env))
    assert got["rdp-anywhere"]["status"] == "fail"
    assert [v["ports"] for v in got["rdp-anywhere"]["evidence"]["violations"]] == ["3389"]
    assert got["ssh-office"]["status"] == "pass"
    # every TCP port is denied from 0.0.0.0/0 before the allow entry: nothing gets through
    assert got["acl-deny-admin"]["status"] == "pass"


# --- Azure (local ARM server) ----------------------------------------------------------------

SUB0 = "0b1f6471-1bf0-4dda-aec3-000000000000"
ATOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-test-token"


def nsg(template: dict[str, Any], name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    base = template["id"].rsplit("/", 1)[0]
    out["id"], out["name"] = f"{base}/{name}", name
    out["properties"]["securityRules"] = [{
        "id": f"{base}/{name}/securityRules/{r['name']}", "name": r["name"],
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": {"direction": "Inbound", "sourcePortRange": "*",
                       "destinationAddressPrefix": "*", "provisioningState": "Succeeded",
                       **{k: v for k, v in r.items() if k != "name"}}} for r in rules]
    for key in ("networkInterfaces", "subnets"):
        out["properties"].pop(key, None)
    return out


def test_azure_nsg_with_source_internet_and_a_port_range_covering_ssh() -> None:
    sections = sections_of(ROOT / "fixtures" / "azure" / "seed000-azure.json")
    nsgs = sections[SUB0]["Microsoft.Network/networkSecurityGroups"]
    nsgs += [
        nsg(nsgs[0], "nsg-net07-open", [
            {"name": "ftp-to-smtp", "access": "Allow", "priority": 100, "protocol": "Tcp",
             "sourceAddressPrefix": "Internet", "destinationPortRange": "20-25"}]),
        nsg(nsgs[0], "nsg-net07-denied-first", [
            {"name": "deny-admin", "access": "Deny", "priority": 100, "protocol": "*",
             "sourceAddressPrefix": "*", "destinationPortRanges": ["0-1024", "1025-65535"]},
            {"name": "allow-all", "access": "Allow", "priority": 200, "protocol": "*",
             "sourceAddressPrefix": "*", "destinationPortRange": "*"}]),
    ]
    with ArmServer(sections, token=ATOKEN) as arm:
        doc = scan("azure", "--subscription", SUB0, env={
            "POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": ATOKEN,
            "REQUESTS_CA_BUNDLE": arm.ca_file})
    got = findings(doc)
    assert got["nsg-net07-open"]["status"] == "fail"
    assert {(v["ports"], v["protocol"]) for v in got["nsg-net07-open"]["evidence"]
            ["violations"]} == {("22", "tcp")}
    assert got["nsg-net07-open"]["evidence"]["violations"][0]["rule"].endswith(
        "/networksecuritygroups/nsg-net07-open#0")  # rules in priority order
    assert got["nsg-net07-denied-first"]["status"] == "pass"


# --- Terraform plans -------------------------------------------------------------------------


@pytest.mark.parametrize("plan,failing,passing", [
    ("hcloud-seed002.plan.json", {"hcloud_firewall.db", "hcloud_firewall.ssh_anywhere"},
     {"hcloud_firewall.web", "hcloud_firewall.vpn"}),
    ("azure.plan.json", {"azurerm_network_security_group.vm"}, set()),
    ("aws-modules.plan.json", {"aws_security_group.web"}, set()),
])
def test_terraform_plans_judge_the_firewalls_they_create(plan: str, failing: set[str],
                                                          passing: set[str]) -> None:
    doc = scan(str(ROOT / "fixtures" / "terraform" / plan))
    status = {f["resource"].split("/", 1)[1]: f["status"] for f in findings_of(doc)
              if f["check"] == "NET-07" and f["resource_kind"] == "firewall"}
    assert {a for a, s in status.items() if s == "fail"} >= failing
    assert {a for a, s in status.items() if s == "pass"} >= passing
