""""Open to the internet" is decided by address coverage, not by spelling: sources that
together cover an address family (`0.0.0.0/1` + `128.0.0.0/1`, `::/1` + `8000::/1`, pieces in
one rule or spread over several allow rules) are the whole IPv4 / IPv6 internet, exactly as
`0.0.0.0/0` / `::/0` are. Over the real hcloud client against the local Hetzner API.
"""

from __future__ import annotations

import json
from typing import Any

from scanner.rules import Exposure, PortRange, wide_open
from tests.hcloud_server import HcloudServer, example_estate
from tests.helpers import findings_of, run

HTOKEN = "hcloud-test-token-0123456789abcdef0123456789abcdef0123456789abcd"


def _firewall(fw_id: int, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"applied_to": [], "created": "2025-03-10T09:10:00Z", "id": fw_id, "labels": {},
            "name": name,
            "rules": [{"description": None, "destination_ips": [], "direction": "in",
                       "protocol": "tcp", **r} for r in rules]}


def _net07(firewalls: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    data = example_estate()
    data["firewalls"] += firewalls
    with HcloudServer(data, token=HTOKEN) as api:
        result = run("scan", "hetzner", "--checks", "NET-07", "--format", "json",
                     "--no-timestamps",
                     env={"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": HTOKEN,
                          "POSTURE_HETZNER_PROJECT": "cover"})
    doc = json.loads(result.stdout)
    return {f["resource_name"]: f for f in findings_of(doc) if f["check"] == "NET-07"}


def test_net07_sources_covering_a_family_in_halves_or_pieces_are_the_whole_internet() -> None:
    got = _net07([
        _firewall(61, "v4-halves", [{"port": "22", "source_ips": ["0.0.0.0/1", "128.0.0.0/1"]}]),
        _firewall(62, "v6-halves", [{"port": "3389", "source_ips": ["::/1", "8000::/1"]}]),
        _firewall(63, "v4-quarters", [{"port": "5432", "source_ips": [
            "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/3"]}]),
        _firewall(64, "v4-one-half", [{"port": "22", "source_ips": ["0.0.0.0/1"]}]),
        _firewall(65, "v4-gap", [{"port": "22", "source_ips": [
            "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/3"]}]),
    ])
    assert got["v4-halves"]["status"] == "fail"
    assert got["v4-halves"]["evidence"]["violations"] == [
        {"rule": "hetzner:cover/firewall/61#0", "protocol": "tcp", "ports": "22",
         "sources": ["0.0.0.0/0"]}]
    assert got["v6-halves"]["status"] == "fail"
    assert got["v6-halves"]["evidence"]["violations"][0]["sources"] == ["::/0"]
    assert got["v4-quarters"]["status"] == "fail"
    assert "5432" in got["v4-quarters"]["message"]
    assert got["v4-one-half"]["status"] == "pass"  # half the internet is not all of it
    assert got["v4-gap"]["status"] == "pass"  # 224.0.0.0/3 is missing


def test_net07_allow_rules_that_together_cover_the_internet_on_an_admin_port_fail() -> None:
    got = _net07([
        _firewall(71, "split-rules", [
            {"port": "22", "source_ips": ["0.0.0.0/1"]},
            {"port": "20-23", "source_ips": ["128.0.0.0/1"]},
            {"port": "443", "source_ips": ["0.0.0.0/0", "::/0"]}]),
        _firewall(72, "split-ports", [  # halves on different ports: no port open to all
            {"port": "22", "source_ips": ["0.0.0.0/1"]},
            {"port": "3389", "source_ips": ["128.0.0.0/1"]}]),
    ])
    assert got["split-rules"]["status"] == "fail"
    violations = got["split-rules"]["evidence"]["violations"]
    assert {v["rule"] for v in violations} == {"hetzner:cover/firewall/71#0",
                                               "hetzner:cover/firewall/71#1"}
    assert {(v["ports"], tuple(v["sources"])) for v in violations} == {("22", ("0.0.0.0/0",))}
    assert got["split-ports"]["status"] == "pass"


def test_wide_open_reads_exposures_built_from_cidrs_by_coverage() -> None:
    """An exposure built from CIDR strings (as unpickling rebuilds one, `Exposure.__reduce__`)
    whose sources cover a family on every TCP port is wide open, as one from `admitted()` is."""
    every = PortRange(0, 65535)
    assert wide_open([Exposure("tcp", every, ("0.0.0.0/1", "128.0.0.0/1"))])
    assert wide_open([Exposure("tcp", every, ("198.51.100.0/24", "::/1", "8000::/1"))])
    assert wide_open([Exposure("tcp", PortRange(0, 1023), ("0.0.0.0/1", "128.0.0.0/1")),
                      Exposure("tcp", PortRange(1024, 65535), ("0.0.0.0/0",))])
    assert not wide_open([Exposure("tcp", every, ("0.0.0.0/1",))])
    assert not wide_open([Exposure("udp", every, ("0.0.0.0/1", "128.0.0.0/1"))])
    assert not wide_open([Exposure("tcp", every, ())])


def test_net07_nacl_entries_that_together_cover_the_internet_in_rule_order() -> None:
    """AWS network ACL entries (ordered, first match wins) through moto: two allow entries
    for SSH from the two IPv4 halves admit everyone; a deny for a quarter numbered between
    them leaves a hole, and the firewall does not admit SSH from the whole internet."""
    import boto3

    from tests.aws_proxy import start_moto

    server, url = start_moto()
    try:
        ec2 = boto3.client("ec2", region_name="eu-central-1", endpoint_url=url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        for name, entries in (
                ("acl-halves", [(100, "allow", "0.0.0.0/1"), (110, "allow", "128.0.0.0/1")]),
                ("acl-hole", [(100, "allow", "0.0.0.0/1"), (105, "deny", "128.0.0.0/2"),
                              (110, "allow", "128.0.0.0/1")])):
            acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
            ec2.create_tags(Resources=[acl], Tags=[{"Key": "Name", "Value": name}])
            for number, action, cidr in entries:
                ec2.create_network_acl_entry(
                    NetworkAclId=acl, RuleNumber=number, Protocol="6", RuleAction=action,
                    Egress=False, CidrBlock=cidr, PortRange={"From": 22, "To": 22})
        env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-central-1",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
               "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
        result = run("scan", "aws", "--regions", "eu-central-1", "--checks", "NET-07",
                     "--format", "json", "--no-timestamps", env=env)
    finally:
        server.stop()
    got = {f["resource_name"]: f for f in findings_of(json.loads(result.stdout))
           if f["check"] == "NET-07"}
    assert got["acl-halves"]["status"] == "fail"
    assert {(v["ports"], tuple(v["sources"])) for v in
            got["acl-halves"]["evidence"]["violations"]} == {("22", ("0.0.0.0/0",))}
    assert got["acl-hole"]["status"] == "pass"
