"""Every object the AWS collector read becomes a resource, or is named in a NOT-ASSESSED
finding saying why it was not judged (issue 14): counted over the bundled AWS snapshots.

Collections are of two sorts. Those whose objects are resources (instances, buckets,
security groups...) are counted here object by object. The others are context: their
objects decide properties of resources and are not judged on their own (route tables and
network ACL associations decide `ingress`, prefix list entries a rule's sources, target
groups what a listener forwards to, per-resource envelopes a property of their parent).
A collection of neither sort fails the test, so a new collection must say which it is."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from providers.aws import PROVIDER
from providers.aws.apis import APIS
from scanner import snapshot
from scanner.engine import NOT_ASSESSED
from scanner.model import Resource
from tests.helpers import findings_of

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = [ROOT / "fixtures" / "aws" / "seed002-aws.json",
             ROOT / "fixtures" / "generic" / "seed003" / "seed003-aws.json"]


def one(key: str) -> Callable[[dict[str, Any]], list[str]]:
    return lambda o: [str(o[key])] if o.get(key) else []


RESOURCES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "ec2.describe_vpcs": one("VpcId"),
    "ec2.describe_subnets": one("SubnetId"),
    "ec2.describe_security_groups": one("GroupId"),
    "ec2.describe_network_acls": one("NetworkAclId"),
    "ec2.describe_addresses": lambda o: [str(o.get("AllocationId") or o.get("PublicIp"))],
    "ec2.describe_instances": lambda o: [str(i["InstanceId"]) for i in o.get("Instances") or []],
    "ec2.describe_volumes": one("VolumeId"),
    "ec2.describe_snapshots": one("SnapshotId"),
    "rds.describe_db_instances": one("DBInstanceIdentifier"),
    "rds.describe_db_clusters": one("DBClusterIdentifier"),
    "rds.describe_db_snapshots": one("DBSnapshotIdentifier"),
    "rds.describe_db_cluster_snapshots": one("DBClusterSnapshotIdentifier"),
    "dynamodb.list_tables": one("TableName"),
    "elbv2.describe_load_balancers": one("LoadBalancerArn"),
    "elbv2.describe_listeners": lambda env: [str(li["ListenerArn"]) for li in (
        env.get("response") or {}).get("Listeners") or []],
    "acm.list_certificates": one("CertificateArn"),
    "iam.list_server_certificates": one("Arn"),
    "kms.list_keys": one("KeyId"),
    "cloudtrail.describe_trails": lambda o: [str(o.get("TrailARN") or o.get("Name"))],
    "backup.list_backup_vaults": one("BackupVaultName"),
    "lambda.list_functions": one("FunctionArn"),
    "ecs.list_task_definitions": one("taskDefinitionArn"),
    "bedrock.list_inference_profiles": one("inferenceProfileArn"),
    "s3.list_buckets": one("Name"),
    "cloudfront.list_distributions": one("Id"),
    "iam.get_account_summary": lambda o: ["root"],
    "iam.get_account_authorization_details": lambda o: [
        str(x["Arn"]) for key in ("UserDetailList", "RoleDetailList") for x in o.get(key) or []],
}
CONTEXT = {
    "ec2.describe_regions": "the regions scanned (the account's `regions`)",
    "ec2.describe_route_tables": "routes of subnets: instances' `ingress` and `public_ips`",
    "ec2.describe_internet_gateways": "read for completeness; routes name the gateways",
    "ec2.describe_vpc_peering_connections": "`peered_with` relations between VPCs",
    "ec2.describe_managed_prefix_lists": "prefix lists: sources of security group rules",
    "ec2.get_managed_prefix_list_entries": "prefix list entries: sources of rules",
    "ec2.describe_network_interfaces": "addresses of load balancers, members of groups",
    "ec2.describe_instance_attribute": "user data of an instance: `plaintext_secrets`",
    "ec2.describe_images": "the AMI of an instance: `image`, `image_deprecated`",
    "rds.describe_db_instance_automated_backups": "a database's `replica_regions`",
    "dynamodb.describe_table": "a table's ARN, key and global table `replica_regions`",
    "dynamodb.describe_continuous_backups": "a table's `pitr_enabled` and backups",
    "dynamodb.list_tags_of_resource": "table labels",
    "dynamodb.list_global_tables": "legacy global tables' replicas: `replica_regions`",
    "elbv2.describe_tags": "load balancer labels",
    "elbv2.describe_rules": "what a listener forwards",
    "elbv2.describe_listener_certificates": "the certificates a listener presents (SNI)",
    "elbv2.describe_ssl_policies": "a listener's `min_tls`",
    "elbv2.describe_target_groups": "a listener's `target_port`, `targets` relations",
    "elbv2.describe_target_health": "`targets` relations",
    "wafv2.get_web_acl_for_resource": "a load balancer's `waf`",
    "wafv2.get_web_acl": "a distribution's `waf_rate_limit`",
    "acm.describe_certificate": "a certificate's renewal and expiry",
    "kms.list_aliases": "key names",
    "kms.describe_key": "a key's manager and spec",
    "kms.get_key_rotation_status": "a key's `rotation_enabled`",
    "cloudtrail.get_trail_status": "a trail's `logging_enabled`",
    "cloudtrail.get_event_selectors": "what a trail records: `management_writes`",
    "logs.describe_log_groups": "a trail's `retention_days`",
    "guardduty.list_detectors": "the account's `threat_detection_regions`",
    "guardduty.get_detector": "the account's `threat_detection_regions`",
    "backup.list_tags": "vault labels",
    "backup.list_recovery_points_by_backup_vault": "a vault's `encrypted` (its recovery points)",
    "backup.list_backup_plans": "backup coverage of instances, volumes, databases",
    "backup.get_backup_plan": "backup coverage",
    "backup.list_backup_selections": "backup coverage",
    "backup.get_backup_selection": "backup coverage",
    "backup.describe_region_settings": "which types tag selections protect: backup coverage",
    "lambda.list_tags": "function labels",
    "lambda.list_versions_by_function": "a function's `plaintext_secrets` (its versions)",
    "ecs.describe_task_definition": "a task definition's `plaintext_secrets` and labels",
    "s3.get_bucket_location": "a bucket's region",
    "s3.get_bucket_encryption": "a bucket's `encrypted`",
    "s3.get_bucket_replication": "a bucket's `replica_regions`",
    "s3.get_public_access_block": "read for the bucket's evidence",
    "s3.get_bucket_policy": "a bucket's `https_only`",
    "s3.get_bucket_tagging": "bucket labels",
    "s3.get_bucket_lifecycle_configuration": "a trail's `retention_days`",
    "iam.list_policies": "AWS-managed policies: `admin_grant`",
    "iam.get_policy_version": "policy documents: `admin_grant`",
    "iam.get_login_profile": "a user's `console_access`",
    "iam.list_mfa_devices": "a user's `mfa`",
    "iam.list_access_keys": "a user's `credentials`",
    "iam.get_access_key_last_used": "a user's `credentials`",
    NOT_ASSESSED: "objects named as not judged",
}


def test_every_collection_is_either_resources_or_context() -> None:
    declared = {a.name for a in APIS}
    assert declared == (set(RESOURCES) | set(CONTEXT)) - {NOT_ASSESSED}
    assert not set(RESOURCES) & set(CONTEXT)


def _names(r: Resource, native: str) -> bool:
    rid = r.native_id
    return rid == native or rid.endswith(("/" + native, ":" + native)) or r.name == native


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_every_object_read_becomes_a_resource_or_a_named_skip(path: Path) -> None:
    for section in snapshot.load(path).sections:
        inv = PROVIDER.normalize(section)
        skipped = {str(o.get("id")) for o in section.items(NOT_ASSESSED)}
        assert set(section.collections) <= set(RESOURCES) | set(CONTEXT), \
            set(section.collections) - set(RESOURCES) - set(CONTEXT)
        counted_in = counted_out = 0
        for name, extract in RESOURCES.items():
            natives = {n for obj in section.items(name) for n in extract(obj)}
            counted_in += len(natives)
            for native in natives:
                found = native in skipped or any(_names(r, native) for r in inv.resources)
                assert found, f"{path.name} {section.account}: {name} {native} vanished"
                counted_out += 1
        assert counted_in == counted_out > 0


def test_recorded_shapes_that_used_to_vanish_are_counted(tmp_path: Path) -> None:
    """Two clusters recorded without DBClusterArn (Cloud Custodian's placebo data) and a
    terminated instance: two resources and one named skip, never one "None" resource."""
    from tests.helpers import run
    from tests.test_aws_vendor_bodies import body, section

    rec = body("custodian-multi-enis.json")["ec2.DescribeInstances_1.json"]["Reservations"]
    gone = {**rec[0], "Instances": [{**rec[0]["Instances"][0],
                                     "State": {"Code": 48, "Name": "terminated"}}]}
    s = section({"rds.describe_db_clusters": body("custodian-rdscluster-simple.json")[
        "rds.DescribeDBClusters_1.json"]["DBClusters"], "ec2.describe_instances": [gone]})
    inv = PROVIDER.normalize(s)
    assert len([r for r in inv.resources if r.native_type == "rds_cluster"]) == 2
    [skip] = s.items(NOT_ASSESSED)
    assert skip["id"] == gone["Instances"][0]["InstanceId"] and skip["reason"] == "terminated"
    path = tmp_path / "s.json"
    snapshot.write(snapshot.Snapshot(sections=[s]), path)
    result = run("scan", str(path), "--checks", "NET-03", "--format", "json", "--no-timestamps")
    named = [f for f in findings_of(json.loads(result.stdout))
             if f["check"] == "NOT-ASSESSED"]
    assert [f["evidence"]["ids"] for f in named] == [[skip["id"]]]
