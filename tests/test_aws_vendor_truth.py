"""Verdicts on AWS data in the shapes AWS documents: bucket policies as the S3 User Guide
writes them (and the ways real ones differ: a deny for some principals or some actions,
BoolIfExists), timestamps as the JSON protocols send them (epoch seconds, as the AWS CLI
prints them), AWS Backup tag conditions with the `aws:ResourceTag/` key. Sources:
tests/data/aws/README.md."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from providers.aws.normalize.storage import denies_plain_http
from scanner.model import Kind
from scanner.snapshot import GLOBAL, Section
from tests.aws_proxy import BACKUP_REGION_SETTINGS
from tests.test_aws_vendor_bodies import ACCOUNT, REGION, body, findings, normalize, section

DOCS = body("aws-docs-examples.json")
BUCKET = "amzn-s3-demo-bucket"


def https_policy(**change: Any) -> str:
    """The S3 User Guide's "Restrict access to only HTTPS requests" policy, one statement
    element changed (None: removed), as GetBucketPolicy returns it (a JSON string)."""
    doc = copy.deepcopy(DOCS["s3-user-guide.RestrictToTLSRequestsOnly"])
    st = doc["Statement"][0]
    for key, value in change.items():
        if value is None:
            st.pop(key, None)
        else:
            st[key] = value
    return json.dumps(doc)


POLICIES = {
    # name: (policy, https_only)
    "as-documented": (https_policy(), True),
    "principal-aws-star-action-star": (https_policy(Principal={"AWS": "*"}, Action="*"), True),
    "bool-if-exists": (https_policy(Condition={"BoolIfExists": {
        "aws:SecureTransport": "false"}}), True),
    "value-as-list": (https_policy(Condition={"Bool": {"aws:SecureTransport": ["false"]}}),
                      True),
    "one-role-only": (https_policy(Principal={
        "AWS": "arn:aws:iam::111122223333:role/uploader"}), False),
    "all-but-one-role": (https_policy(Principal=None, NotPrincipal={
        "AWS": "arn:aws:iam::111122223333:role/legacy"}), False),
    "writes-only": (https_policy(Action="s3:PutObject"), False),
    "bucket-not-objects": (https_policy(Resource=f"arn:aws:s3:::{BUCKET}"), False),
    "another-bucket's-objects": (https_policy(Resource=[
        f"arn:aws:s3:::{BUCKET}", "arn:aws:s3:::amzn-s3-demo-bucket1/*"]), False),
    "empty-values": (https_policy(Condition={"Bool": {"aws:SecureTransport": []}}), False),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_bucket_policy_refuses_plain_http_only_to_everyone_for_objects(name: str) -> None:
    policy, expected = POLICIES[name]
    assert denies_plain_http(policy, BUCKET) is expected


def test_s3_user_guide_policy_variants_decide_tls02_for_each_bucket(tmp_path: Path) -> None:
    names = ["as-documented", "bool-if-exists", "one-role-only", "writes-only"]
    s = section({
        "s3.list_buckets": [{"Name": f"{BUCKET}-{n}"} for n in names],
        "s3.get_bucket_policy": [
            {"request": {"Bucket": f"{BUCKET}-{n}"},
             "response": {"Policy": POLICIES[n][0].replace(BUCKET, f"{BUCKET}-{n}")}}
            for n in names],
    }, {"s3.list_buckets": GLOBAL, "s3.get_bucket_policy": GLOBAL})
    verdicts = {f["resource_name"]: f["status"] for f in findings(s, tmp_path, "TLS-02")
                if f["resource_kind"] == "bucket"}
    assert verdicts == {f"{BUCKET}-as-documented": "pass", f"{BUCKET}-bool-if-exists": "pass",
                        f"{BUCKET}-one-role-only": "fail", f"{BUCKET}-writes-only": "fail"}


def acm_behind_https_listener() -> dict[str, list[dict[str, Any]]]:
    """botocore's internet-facing ALB with its HTTPS CreateListener example, the listener's
    certificate the ACM certificate of aws-cli's describe-certificate example."""
    ex = body("botocore-examples.json")
    lb = ex["elbv2.DescribeLoadBalancers"]["LoadBalancers"][0]
    cert = copy.deepcopy(DOCS["aws-cli.acm.describe-certificate"]["Certificate"])
    listener = copy.deepcopy(DOCS["elbv2.CreateListener"]["Listeners"][0])
    listener["Certificates"] = [{"CertificateArn": cert["CertificateArn"]}]
    return {
        "elbv2.describe_load_balancers": [lb],
        "elbv2.describe_listeners": [{"request": {"LoadBalancerArn": lb["LoadBalancerArn"]},
                                      "response": {"Listeners": [listener]}}],
        # DescribeListenerCertificates: the default certificate, no certificate list
        "elbv2.describe_listener_certificates": [
            {"request": {"ListenerArn": listener["ListenerArn"]},
             "response": {"Certificates": [{"CertificateArn": cert["CertificateArn"],
                                            "IsDefault": True}]}}],
        "acm.list_certificates": [{"CertificateArn": cert["CertificateArn"],
                                   "DomainName": cert["DomainName"]}],
        "acm.describe_certificate": [{"request": {"CertificateArn": cert["CertificateArn"]},
                                      "response": {"Certificate": cert}}],
    }


def test_acm_expiry_in_epoch_seconds_is_read_and_the_expired_certificate_fails(
        tmp_path: Path) -> None:
    s = section(acm_behind_https_listener())
    cert = next(r for r in normalize(s).resources if r.kind is Kind.CERTIFICATE)
    assert cert.prop("not_after") == "2016-11-06T12:00:00Z"  # 1478433600.0
    assert cert.prop("managed_renewal") is False  # no Type in the example: not AMAZON_ISSUED
    tls03 = [f for f in findings(s, tmp_path, "TLS-03") if f["resource_kind"] == "certificate"]
    assert [f["status"] for f in tls03] == ["fail"]
    assert "expired on 2016-11-06" in tls03[0]["message"]


def alice_with_a_key(created: str, last_used: str | None = None) -> Section:
    """IAM user Alice with one active access key (botocore's ListAccessKeys example) created
    at `created`, and its GetAccessKeyLastUsed answer when `last_used` is given."""
    keys = {"AccessKeyMetadata": [{"AccessKeyId": "AKIA111111111EXAMPLE", "CreateDate": created,
                                   "Status": "Active", "UserName": "Alice"}]}
    user = {"UserName": "Alice", "UserId": "AIDAEXAMPLE",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/Alice", "GroupList": [],
            "AttachedManagedPolicies": [], "UserPolicyList": []}
    collections: dict[str, list[dict[str, Any]]] = {
        "iam.get_account_authorization_details": [{"UserDetailList": [user]}],
        "iam.list_access_keys": [{"request": {"UserName": "Alice"}, "response": keys}],
    }
    if last_used is not None:
        collections["iam.get_access_key_last_used"] = [{
            "request": {"AccessKeyId": "AKIA111111111EXAMPLE"},
            "response": {"UserName": "Alice", "AccessKeyLastUsed": {
                "LastUsedDate": last_used, "Region": "N/A", "ServiceName": "N/A"}}}]
    return section(collections, dict.fromkeys(collections, GLOBAL))


def test_access_key_whose_age_cannot_be_read_is_not_fresh(tmp_path: Path) -> None:
    s = alice_with_a_key("yesterday")  # the date garbled
    alice = next(r for r in normalize(s).resources if r.name == "Alice")
    assert alice.unknown["credentials"].opens
    assert {f["status"] for f in findings(s, tmp_path, "IAM-04")
            if f["resource_name"] == "Alice"} == {"error"}


def backup_section(list_of_tags: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """botocore's DescribeVolumes volume, attached to an instance whose root device is
    another one (so the instance holds data: BAK-02 judges it), both tagged for the
    selection."""
    vol = copy.deepcopy(DOCS["ec2.DescribeVolumes"]["Volumes"][0])
    vol["Tags"] = [{"Key": "CreatedByCryo", "Value": "true"}]
    instance = {"InstanceId": vol["Attachments"][0]["InstanceId"], "State": {"Name": "running"},
                "RootDeviceName": "/dev/xvda", "KeyName": "ops", "Tags": vol["Tags"]}
    plan_id = "plan-1"
    return {
        "ec2.describe_volumes": [vol],
        "ec2.describe_instances": [{"Instances": [instance]}],
        "backup.list_backup_plans": [{"BackupPlanId": plan_id, "BackupPlanName": "daily"}],
        "backup.get_backup_plan": [{"request": {"BackupPlanId": plan_id}, "response": {
            "BackupPlanId": plan_id, "BackupPlan": {"BackupPlanName": "daily", "Rules": [{
                "RuleName": "daily", "TargetBackupVaultName": "Default",
                "ScheduleExpression": "cron(0 5 ? * * *)",
                "Lifecycle": {"DeleteAfterDays": 35}}]}}}],
        "backup.list_backup_selections": [{"SelectionId": "sel-1", "BackupPlanId": plan_id}],
        "backup.get_backup_selection": [{"request": {"BackupPlanId": plan_id,
                                                     "SelectionId": "sel-1"}, "response": {
            "BackupPlanId": plan_id, "SelectionId": "sel-1", "BackupSelection": {
                "SelectionName": "cryo", "IamRoleArn":
                    f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole",
                "Resources": [], "ListOfTags": list_of_tags}}}],
        # the region protects these types when a selection picks them by tags
        "backup.describe_region_settings": [BACKUP_REGION_SETTINGS],
    }




@pytest.mark.parametrize("key", ["aws:ResourceTag/CreatedByCryo", "CreatedByCryo"])
def test_backup_list_of_tags_with_or_without_the_resource_tag_prefix_selects_the_volume(
        key: str, tmp_path: Path) -> None:
    tags = copy.deepcopy(DOCS["backup-api.BackupSelection.ListOfTags"])
    tags[0]["ConditionKey"] = key
    s = section(backup_section(tags))
    vol = next(r for r in normalize(s).resources if r.kind is Kind.VOLUME)
    assert vol.prop("backup_enabled") is True
    assert {f["status"] for f in findings(s, tmp_path, "BAK-02")
            if f["resource_kind"] == "compute"} == {"pass"}



def kms_section(metadata: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    meta = metadata["KeyMetadata"]
    return {"kms.list_keys": [{"KeyId": meta["KeyId"], "KeyArn": meta["Arn"]}],
            "kms.describe_key": [{"request": {"KeyId": meta["KeyId"]}, "response": metadata}],
            "kms.get_key_rotation_status": []}


@pytest.mark.parametrize("case", ["hmac", "pending-deletion"])
def test_kms_key_that_cannot_rotate_fails_enc03_instead_of_erroring(case: str,
                                                                    tmp_path: Path) -> None:
    """botocore's HMAC key (CustomerMasterKeySpec only: automatic rotation is for symmetric
    encryption keys alone) and its symmetric key pending deletion ("its key rotation status
    is false"): neither rotates, and the collector rightly does not ask."""
    keys = DOCS["kms.DescribeKey"]
    metadata = copy.deepcopy(keys["hmac" if case == "hmac" else "symmetric"])
    if case == "pending-deletion":
        metadata["KeyMetadata"]["KeyState"] = "PendingDeletion"
    s = section(kms_section(metadata))
    key = next(r for r in normalize(s).resources if r.kind is Kind.KEY)
    assert key.prop("rotation_enabled") is False
    assert [f["status"] for f in findings(s, tmp_path, "ENC-03")
            if f["resource_kind"] == "key"] == ["fail"]


def test_instance_whose_ami_is_no_longer_returned_is_an_error_of_vul01(tmp_path: Path) -> None:
    """DescribeImages (botocore's example answer) does not return the AMI an instance was
    launched from once it is deregistered: its deprecation is unknown, never left out."""
    images = DOCS["ec2.DescribeImages"]["Images"]
    s = section({
        "ec2.describe_instances": [{"Instances": [
            {"InstanceId": "i-0aaa", "ImageId": images[0]["ImageId"], "KeyName": "ops",
             "State": {"Name": "running"}},
            {"InstanceId": "i-0bbb", "ImageId": "ami-0deregistered", "KeyName": "ops",
             "State": {"Name": "running"}}]}],
        "ec2.describe_images": images})
    verdicts = {f["resource_name"]: f["status"] for f in findings(s, tmp_path, "VUL-01")
                if f["resource_kind"] == "compute"}
    assert verdicts == {"i-0aaa": "pass", "i-0bbb": "error"}


@pytest.mark.parametrize(("protocol", "tls01", "tls02"), [
    ("QUIC", "pass", "pass"), ("TCP_QUIC", "skip", "skip"), ("SCTP", "skip", "skip")])
def test_nlb_listener_protocols_added_to_the_enum_are_not_read_as_encrypted(
        protocol: str, tls01: str, tls02: str, tmp_path: Path) -> None:
    """ELBv2 ProtocolEnum gained QUIC and TCP_QUIC (botocore elbv2 model): QUIC is TLS 1.3
    by definition (RFC 9001); TCP_QUIC also passes plain TCP; a protocol AWS adds later
    (here a made-up SCTP) is opaque, never an encrypted listener."""
    ex = body("botocore-examples.json")
    lb = {**ex["elbv2.DescribeLoadBalancers"]["LoadBalancers"][0], "Type": "network"}
    listener = {**DOCS["elbv2.CreateListener"]["Listeners"][0], "Protocol": protocol,
                "Port": 443}
    listener.pop("SslPolicy")
    listener.pop("Certificates")
    s = section({
        "elbv2.describe_load_balancers": [lb],
        "elbv2.describe_listeners": [{"request": {"LoadBalancerArn": lb["LoadBalancerArn"]},
                                      "response": {"Listeners": [listener]}}],
        "ec2.describe_network_interfaces": [], "elbv2.describe_ssl_policies": []})
    got = {f["check"]: f["status"] for f in findings(s, tmp_path, "TLS-01,TLS-02")
           if f["resource_kind"] == "listener"}
    assert got == {"TLS-01": tls01, "TLS-02": tls02}


@pytest.mark.parametrize("answered", [True, False])
def test_rds_instance_answered_without_publicly_accessible_is_not_private(answered: bool
                                                                          ) -> None:
    """Cloud Custodian's recorded DB instance (PubliclyAccessible false) is private; the
    same answer without the key (a hand-written or truncated body) says nothing: its
    exposure is unknown in the opening direction, never "not public"."""
    db = copy.deepcopy(body("custodian-rds-tags.json")["rds.DescribeDBInstances_1.json"][
        "DBInstances"][0])
    if not answered:
        del db["PubliclyAccessible"]
    inv = normalize(section({"rds.describe_db_instances": [db]}))
    rds = next(r for r in inv.resources if r.kind is Kind.DATABASE)
    assert rds.prop("public_endpoint") is False
    unknown = rds.unknown.get("public_endpoint")
    assert (unknown is not None and unknown.opens) is not answered


@pytest.mark.parametrize(("tagged", "verdict"), [(False, "fail"), (True, "pass")])
def test_lifecycle_rule_filtered_by_tag_does_not_expire_untagged_trail_logs(
        tagged: bool, verdict: str, tmp_path: Path) -> None:
    """aws-cli's Trail2 writes under my-prefix/AWSLogs/ of my-bucket; botocore's lifecycle
    rule there, set to expire after 30 days, either for the logs' prefix or (S3 User Guide
    filter) only for objects tagged key1=value1, which CloudTrail's log files never are."""
    trail = DOCS["cloudtrail.DescribeTrails"]["trailList"][1]
    rule = copy.deepcopy(DOCS["s3.PutBucketLifecycleConfiguration"]["Rules"][0])
    rule["Expiration"] = {"Days": 30}
    rule["Filter"] = (DOCS["s3-user-guide.lifecycle-tag-filter"] if tagged
                      else {"Prefix": "my-prefix/AWSLogs/"})
    s = section({
        "cloudtrail.describe_trails": [trail],
        "s3.get_bucket_lifecycle_configuration": [
            {"request": {"Bucket": trail["S3BucketName"]}, "response": {"Rules": [rule]}}],
        "logs.describe_log_groups": [],
    }, {"s3.get_bucket_lifecycle_configuration": GLOBAL})
    log = next(r for r in normalize(s).resources if r.kind is Kind.LOG_TRAIL)
    assert log.prop("retention_days") == (0 if tagged else 30)
    assert [f["status"] for f in findings(s, tmp_path, "LOG-02")
            if f["resource_kind"] == "log_trail"] == [verdict]


@pytest.mark.parametrize(("action", "limited"), [("Block", True), ("Count", False)])
def test_rate_based_rule_that_only_counts_is_not_rate_limiting(action: str,
                                                               limited: bool) -> None:
    """aws-cli's web ACL with its rule's statement the WAF guide's rate-based statement:
    with Action Count, WAF only counts the requests over the limit."""
    ex = body("botocore-examples.json")
    lb = ex["elbv2.DescribeLoadBalancers"]["LoadBalancers"][0]
    answer = copy.deepcopy(DOCS["aws-cli.wafv2.get-web-acl-for-resource"])
    rule = answer["WebACL"]["Rules"][0]
    rule["Statement"], rule["Action"] = DOCS["waf-guide.rate-based-statement"], {action: {}}
    inv = normalize(section({
        "elbv2.describe_load_balancers": [lb],
        "wafv2.get_web_acl_for_resource": [{"request": {"ResourceArn": lb["LoadBalancerArn"]},
                                            "response": answer}]}))
    alb = next(r for r in inv.resources if r.kind is Kind.LOAD_BALANCER)
    assert (alb.prop("waf"), alb.prop("waf_rate_limit")) == (True, limited)


@pytest.mark.parametrize("eligibility", ["ELIGIBLE", "INELIGIBLE"])
def test_amazon_issued_certificate_is_managed_whatever_its_renewal_eligibility(
        eligibility: str, tmp_path: Path) -> None:
    """aws-cli's describe-certificate answer as ACM gives it today (Type AMAZON_ISSUED,
    RenewalEligibility, which concerns the RenewCertificate command for exported private
    certificates only) and valid until 2030: ACM renews it (managed renewal)."""
    collections = acm_behind_https_listener()
    cert = collections["acm.describe_certificate"][0]["response"]["Certificate"]
    cert.update({"Type": "AMAZON_ISSUED", "RenewalEligibility": eligibility,
                 "NotAfter": 1893456000.0})
    s = section(collections)
    tls03 = [f["status"] for f in findings(s, tmp_path, "TLS-03")
             if f["resource_kind"] == "certificate"]
    assert tls03 == ["pass"]


def test_resources_in_the_european_sovereign_cloud_carry_its_partition(tmp_path: Path
                                                                       ) -> None:
    """eusc-de-east-1 is in partition aws-eusc (botocore partitions.json): an AWS Backup
    selection naming arn:aws-eusc:ec2:*:*:instance/* covers the instance, whose ARN must be
    built in that partition too (it was arn:aws:..., so BAK-02 failed)."""
    eusc = "eusc-de-east-1"
    collections = backup_section([])
    selection = collections["backup.get_backup_selection"][0]["response"]["BackupSelection"]
    selection["Resources"] = ["arn:aws-eusc:ec2:*:*:instance/*"]
    s = section(collections, dict.fromkeys(collections, eusc))
    s.locations = [eusc]
    inst = next(r for r in normalize(s).resources if r.kind is Kind.COMPUTE)
    assert inst.id == f"arn:aws-eusc:ec2:{eusc}:{ACCOUNT}:instance/i-1234567890abcdef0"
    assert [f["status"] for f in findings(s, tmp_path, "BAK-02")
            if f["resource_kind"] == "compute"] == ["pass"]


def test_timestamps_in_every_shape_vendors_record_them() -> None:
    """ISO 8601 (query protocols), epoch seconds (JSON protocols, botocore's KMS example
    CreationDate), placebo's datetime object (Cloud Custodian's RDS recording)."""
    from providers.aws.normalize.common import iso

    kms = DOCS["kms.DescribeKey"]["hmac"]["KeyMetadata"]["CreationDate"]
    placebo = body("custodian-rds-tags.json")["rds.DescribeDBInstances_1.json"][
        "DBInstances"][0]["InstanceCreateTime"]
    assert iso("2016-12-01T22:19:58Z") == "2016-12-01T22:19:58Z"
    assert iso(kms) == "2019-08-18T20:32:42Z"
    assert iso(placebo) == "2017-09-15T14:57:51Z"
    assert iso(True) is None and iso({"__class__": "datetime", "year": "x"}) is None


def test_listener_rules_answered_in_two_pages_are_all_read(tmp_path: Path) -> None:
    """Cloud Custodian's DescribeRules answer split as DescribeRules pages it (PageSize 1):
    the /api/* forward on page one, the default redirect on page two. The last page alone
    read the listener as redirect-only (TLS-02 pass)."""
    from tests.test_aws_vendor_bodies import alb_rules

    s = alb_rules()
    env = s.collections["elbv2.describe_rules"][REGION][0]
    first, default = env["response"]["Rules"]
    s.collections["elbv2.describe_rules"][REGION] = [
        {"request": env["request"], "response": {"Rules": [first], "NextMarker": "2"}},
        {"request": env["request"], "response": {"Rules": [default]}}]
    tls02 = [f["status"] for f in findings(s, tmp_path, "TLS-02")
             if f["resource_kind"] == "listener"]
    assert tls02 == ["fail"]


def test_prefix_list_entries_answered_in_two_pages_are_all_sources() -> None:
    """Cloud Custodian's group whose port-80 rule names pl-63a5400b, the list's entries in
    two GetManagedPrefixListEntries pages (the API's Entries/NextToken shape): the first
    page's 0.0.0.0/0 is a source of the rule too, not only the last page's."""
    groups = body("custodian-sg-prefix-list.json")["ec2.DescribeSecurityGroups_1.json"][
        "SecurityGroups"]
    pages = [{"Entries": [{"Cidr": "0.0.0.0/0", "Description": "anyone"}], "NextToken": "2"},
             {"Entries": [{"Cidr": "10.0.0.0/8", "Description": "office"}]}]
    inv = normalize(section({
        "ec2.describe_security_groups": groups,
        "ec2.describe_managed_prefix_lists": [{"PrefixListId": "pl-63a5400b"}],
        "ec2.get_managed_prefix_list_entries": [
            {"request": {"PrefixListId": "pl-63a5400b"}, "response": p} for p in pages]}))
    group = next(r for r in inv.resources if r.kind is Kind.FIREWALL)
    rule = next(r for r in group.prop("firewall_rules") if r["ports"] == "80")
    assert set(rule["sources"]) == {"192.168.0.1/31", "0.0.0.0/0", "10.0.0.0/8"}


def test_certificate_a_cloudfront_distribution_serves_is_judged_by_tls03(tmp_path: Path
                                                                         ) -> None:
    """aws-cli's distribution, serving aws-cli's expired ACM certificate (us-east-1, where
    CloudFront takes its certificates from): a certificate on a public endpoint, not one
    "used by no public listener"."""
    cert = copy.deepcopy(DOCS["aws-cli.acm.describe-certificate"]["Certificate"])
    dist = copy.deepcopy(DOCS["aws-cli.cloudfront.list-distributions"])
    dist["ViewerCertificate"] = {"ACMCertificateArn": cert["CertificateArn"],
                                 "SSLSupportMethod": "sni-only",
                                 "MinimumProtocolVersion": "TLSv1.2_2021"}
    s = section({
        "cloudfront.list_distributions": [dist],
        "acm.list_certificates": [{"CertificateArn": cert["CertificateArn"],
                                   "DomainName": cert["DomainName"]}],
        "acm.describe_certificate": [{"request": {"CertificateArn": cert["CertificateArn"]},
                                      "response": {"Certificate": cert}}],
    }, {"cloudfront.list_distributions": GLOBAL})
    tls03 = [f for f in findings(s, tmp_path, "TLS-03") if f["resource_kind"] == "certificate"]
    assert [f["status"] for f in tls03] == ["fail"]


def test_allow_everything_but_one_resource_is_an_admin_grant() -> None:
    """AdministratorAccess's statement (Action *, Resource *) and the same with the IAM
    User Guide's NotResource element instead: all actions on every resource but one bucket
    is still a wildcard admin grant."""
    from providers.aws.normalize.common import grants_admin

    admin = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    but_one = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "*",
        "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"]}]}
    narrow = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::HRBucket/*"}]}
    assert grants_admin(admin) and grants_admin(but_one) and not grants_admin(narrow)


@pytest.mark.parametrize("created", ["2026-12-01T00:00:00.700000+00:00",
                                     "2026-12-01T00:00:03+00:00"])
def test_access_key_created_in_the_collection_second_is_zero_days_old_not_minus_one(
        tmp_path: Path, created: str) -> None:
    """The collection time is kept to the second (2026-12-01T00:00:00Z here); a key created
    later in that second, or seconds later by AWS's clock, was -1 days old: the same estate's
    evidence then differed between scans (a flaky IAM-04 in CI)."""
    s = alice_with_a_key(created, last_used=created)
    alice = next(r for r in normalize(s).resources if r.name == "Alice")
    [cred] = alice.prop("credentials")
    assert (cred["age_days"], cred["last_used_days"]) == (0, 0)
