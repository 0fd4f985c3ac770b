"""The AWS normalizer over response bodies written by AWS (botocore's examples) and recorded
by Cloud Custodian (its placebo data), for shapes moto does not produce: clusters recorded
without DBClusterArn, an ENI naming a security group that was not listed, a prefix list
whose entries were not read. tests/data/aws/README.md names each source and its licence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from providers.aws import PROVIDER
from scanner import snapshot
from scanner.model import Inventory, Kind, RelationType
from scanner.snapshot import GLOBAL, Section, Snapshot
from tests.helpers import findings_of, run

DATA = Path(__file__).parent / "data" / "aws"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def body(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / name).read_text())
    return loaded


def section(collections: dict[str, list[dict[str, Any]]],
            regions: dict[str, str] | None = None) -> Section:
    s = Section(provider="aws", account=ACCOUNT, collected_at="2026-12-01T00:00:00Z")
    for name, objs in collections.items():
        s.add(name, (regions or {}).get(name, REGION), objs)
    s.locations = [REGION]
    return s


def normalize(s: Section) -> Inventory:
    return PROVIDER.normalize(s)


def findings(s: Section, tmp_path: Path, checks: str) -> list[dict[str, Any]]:
    path = tmp_path / "vendor.json"
    snapshot.write(Snapshot(sections=[s]), path)
    result = run("scan", str(path), "--checks", checks, "--format", "json", "--no-timestamps")
    assert result.exit_code in (0, 1, 3), result.stderr
    found: list[dict[str, Any]] = findings_of(json.loads(result.stdout))
    return found


def alb_rules(with_rules: bool = True) -> Section:
    rec = body("custodian-appelb-listener-rules.json")
    lbs = rec["elasticloadbalancing.DescribeLoadBalancers_1.json"]["LoadBalancers"]
    listeners = rec["elasticloadbalancing.DescribeListeners_1.json"]["Listeners"]
    collections: dict[str, list[dict[str, Any]]] = {
        "elbv2.describe_load_balancers": lbs,
        "elbv2.describe_listeners": [{"request": {"LoadBalancerArn": lbs[0]["LoadBalancerArn"]},
                                      "response": {"Listeners": listeners}}],
    }
    if with_rules:
        collections["elbv2.describe_rules"] = [{
            "request": {"ListenerArn": listeners[0]["ListenerArn"]},
            "response": rec["elasticloadbalancing.DescribeRules_1.json"]}]
    return section(collections)


def test_custodian_listener_that_redirects_by_default_but_forwards_api_is_plaintext(
        tmp_path: Path) -> None:
    s = alb_rules()
    listener = next(r for r in normalize(s).resources if r.kind is Kind.LISTENER)
    assert listener.prop("protocol") == "http"
    assert listener.prop("redirects_to_https") is False  # /api/* is forwarded in plain HTTP
    tls02 = [f for f in findings(s, tmp_path, "TLS-02") if f["resource_kind"] == "listener"]
    assert [f["status"] for f in tls02] == ["fail"]


def test_listener_whose_rules_were_not_read_is_unknown_not_a_redirect(tmp_path: Path) -> None:
    s = alb_rules(with_rules=False)
    listener = next(r for r in normalize(s).resources if r.kind is Kind.LISTENER)
    assert listener.prop("redirects_to_https") is True  # what the default action says
    unread = listener.unknown["redirects_to_https"]
    assert unread.opens and not unread.closes
    tls02 = [f for f in findings(s, tmp_path, "TLS-02") if f["resource_kind"] == "listener"]
    assert [f["status"] for f in tls02] == ["error"]


def test_botocore_rule_forwards_to_the_target_group_and_its_targets() -> None:
    ex = body("botocore-examples.json")
    lb = ex["elbv2.DescribeLoadBalancers"]["LoadBalancers"][0]
    listeners = ex["elbv2.DescribeListeners"]["Listeners"]
    group = ex["elbv2.DescribeTargetGroups"]["TargetGroups"][0]
    inv = normalize(section({
        "elbv2.describe_load_balancers": [lb],
        "elbv2.describe_listeners": [{"request": {"LoadBalancerArn": lb["LoadBalancerArn"]},
                                      "response": {"Listeners": listeners}}],
        "elbv2.describe_rules": [{"request": {"ListenerArn": listeners[0]["ListenerArn"]},
                                  "response": ex["elbv2.DescribeRules"]}],
        "elbv2.describe_target_groups": [group],
        "elbv2.describe_target_health": [{
            "request": {"TargetGroupArn": group["TargetGroupArn"]},
            "response": ex["elbv2.DescribeTargetHealth"]}],
    }, {"elbv2.describe_load_balancers": "us-west-2", "elbv2.describe_listeners": "us-west-2",
        "elbv2.describe_rules": "us-west-2", "elbv2.describe_target_groups": "us-west-2",
        "elbv2.describe_target_health": "us-west-2"}))
    listener = next(r for r in inv.resources if r.kind is Kind.LISTENER)
    assert (listener.prop("target_port"), listener.prop("redirects_to_https")) == (80, False)
    targets = {rel.target for rel in inv.relations if rel.type is RelationType.TARGETS}
    assert targets == {f"arn:aws:ec2:us-west-2:{ACCOUNT}:instance/i-0f76fade"}


def test_custodian_clusters_recorded_without_arn_stay_two_resources() -> None:
    clusters = body("custodian-rdscluster-simple.json")["rds.DescribeDBClusters_1.json"][
        "DBClusters"]
    assert len(clusters) == 2 and not any("DBClusterArn" in c for c in clusters)
    inv = normalize(section({"rds.describe_db_clusters": clusters}))
    ids = sorted(r.id for r in inv.resources if r.kind is Kind.DATABASE)
    assert ids == [f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:aaa",
                   f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:bbb"]


def test_custodian_instances_with_two_enis_keep_both_interfaces() -> None:
    rec = body("custodian-multi-enis.json")
    inv = normalize(section({
        "ec2.describe_instances": rec["ec2.DescribeInstances_1.json"]["Reservations"],
        "ec2.describe_security_groups": rec["ec2.DescribeSecurityGroups_1.json"][
            "SecurityGroups"]}))
    inst = next(r for r in inv.resources if r.id.endswith("i-0a3bdbed1708220a1"))
    assert len(inst.prop("private_ips")) == 2
    groups = {rel.target.rsplit("/", 1)[-1] for rel in inv.relations
              if rel.source == inst.id and rel.type is RelationType.PROTECTED_BY}
    assert groups >= {"sg-09dd9760660103a06", "sg-08866faa10e9a51ef"}
    assert "ingress" not in inst.unknown  # no public address: nothing rests on the layers


def test_botocore_second_eni_naming_an_unlisted_group_is_unknown_not_firewalled(
        tmp_path: Path) -> None:
    eni = body("botocore-examples.json")["ec2.DescribeNetworkInterfaces"][
        "NetworkInterfaces"][0]
    assert eni["Attachment"]["DeviceIndex"] == 1
    groups = body("custodian-multi-enis.json")["ec2.DescribeSecurityGroups_1.json"][
        "SecurityGroups"]  # sg-8637d3e3 is not among them
    s = section({
        "ec2.describe_instances": [{"Instances": [{
            "InstanceId": eni["Attachment"]["InstanceId"], "State": {"Name": "running"},
            "KeyName": "ops", "NetworkInterfaces": [eni]}]}],
        "ec2.describe_security_groups": groups,
        "ec2.describe_subnets": [], "ec2.describe_route_tables": [],
        "ec2.describe_network_acls": []})
    inst = next(r for r in normalize(s).resources if r.kind is Kind.COMPUTE)
    assert inst.prop("public_ips") == ["203.0.113.12"]
    unread = inst.unknown["ingress"]
    assert "sg-8637d3e3" in unread.why and unread.opens
    verdicts = {f["status"] for f in findings(s, tmp_path, "NET-01,NET-02")
                if f["resource_kind"] == "compute"}
    assert "pass" not in verdicts  # never "behind a firewall" on a group nobody read


def test_custodian_rule_whose_prefix_list_was_not_read_is_kept_with_unknown_sources() -> None:
    groups = body("custodian-sg-prefix-list.json")["ec2.DescribeSecurityGroups_1.json"][
        "SecurityGroups"]
    inv = normalize(section({"ec2.describe_security_groups": groups,
                             "ec2.describe_managed_prefix_lists": []}))
    group = next(r for r in inv.resources if r.kind is Kind.FIREWALL)
    rule = next(r for r in group.prop("firewall_rules") if r["ports"] == "80")
    assert rule["sources"] == ["192.168.0.1/31"]
    assert rule["unresolved_prefix_lists"] == ["pl-63a5400b"]
    assert "pl-63a5400b" in group.unknown["firewall_rules"].why


def test_vendor_bucket_policies_that_do_not_deny_plain_http_fail_tls02(tmp_path: Path) -> None:
    policies = {
        "custodian-test-data": body("custodian-s3-policy.json")["s3.GetBucketPolicy_1.json"],
        "policytest1": body("botocore-examples.json")["s3.GetBucketPolicy"],
    }
    s = section({
        "s3.list_buckets": [{"Name": n} for n in policies],
        "s3.get_bucket_policy": [{"request": {"Bucket": n}, "response": p}
                                 for n, p in policies.items()],
    }, {"s3.list_buckets": GLOBAL, "s3.get_bucket_policy": GLOBAL})
    buckets = [r for r in normalize(s).resources if r.kind is Kind.BUCKET]
    assert {(r.name, r.prop("public_endpoint"), r.prop("https_only")) for r in buckets} == {
        ("custodian-test-data", True, False), ("policytest1", True, False)}
    assert {f["status"] for f in findings(s, tmp_path, "TLS-02")
            if f["resource_kind"] == "bucket"} == {"fail"}
