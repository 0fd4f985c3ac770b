"""AWS shapes that used to give a false PASS, and reads that fail precisely (issue 14).

The collector reads a moto server through the recording proxy (tests/aws_proxy.py), through
the real CLI, as in tests/test_aws_collector.py; this module builds its own small estate:
- `multi-1`: eth0 (closed security group, public IP) and eth1 (SSH open to the internet,
  an elastic IP); `single-1`: eth0 only, closed;
- `pl-1`: SSH open to an AWS-managed prefix list (com.amazonaws.<region>.s3);
- the `api` ALB: HTTP:80 redirects to HTTPS by default, a rule forwards /api/* in plain HTTP
  (group `api`, port 8080: single-1), another /ops/* (group `ops`, port 22: ops-1);
  HTTPS:443 presents the uploaded certificate api.example.com by default and
  sni.example.com from its certificate list (SNI);
- buckets `plain-bucket` (no policy) and `tls-bucket` (denies aws:SecureTransport=false);
  `replicated-bucket` replicates to another account's bucket.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.aws import PROVIDER
from scanner import snapshot
from tests import aws_estate
from tests.aws_proxy import AwsProxy, Call, Fault, serving, start_moto
from tests.helpers import findings_of, run
from tests.test_aws_collector import env

REGION = aws_estate.REGION
PROFILE = """
[profile]
name = "aws-shapes"
[parameters]
jurisdictions = ["DE"]
operator_cidrs = ["198.51.100.0/24"]
min_tls = "1.2"
"""


def build(url: str) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    ec2 = aws_estate.client(url, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24",
                                 AvailabilityZone=REGION + az)["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for sn in subnets:
        ec2.associate_route_table(RouteTableId=rt, SubnetId=sn)

    def sg(name: str, rules: list[dict[str, Any]]) -> str:
        gid = str(ec2.create_security_group(GroupName=name, Description=name,
                                            VpcId=vpc)["GroupId"])
        if rules:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=rules)
        return gid

    s3_list = next(p["PrefixListId"] for p in ec2.describe_managed_prefix_lists()["PrefixLists"]
                   if p["PrefixListName"] == f"com.amazonaws.{REGION}.s3")
    ids["prefix_list"] = s3_list
    closed = sg("closed", [])
    ssh = sg("ssh-open", [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                           "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    via_pl = sg("ssh-prefix-list", [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                     "PrefixListIds": [{"PrefixListId": s3_list}]}])
    web = sg("web", [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                      "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    def run_instance(name: str, group: str) -> str:
        return str(ec2.run_instances(
            ImageId=aws_estate.AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
            KeyName="ops", TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "Name", "Value": name}]}],
            NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnets[0], "Groups": [group],
                                "AssociatePublicIpAddress": True}])["Instances"][0]["InstanceId"])

    ec2.create_key_pair(KeyName="ops")
    multi = run_instance("multi-1", closed)
    eni = ec2.create_network_interface(SubnetId=subnets[0], Groups=[ssh])[
        "NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=multi, DeviceIndex=1)
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=alloc, NetworkInterfaceId=eni)
    ids["multi-1"] = multi
    ids["single-1"] = run_instance("single-1", closed)
    ids["pl-1"] = run_instance("pl-1", via_pl)

    elb = aws_estate.client(url, "elbv2")
    lb = elb.create_load_balancer(Name="api", Subnets=subnets, SecurityGroups=[web],
                                  Scheme="internet-facing",
                                  Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elb.create_target_group(Name="api", Protocol="HTTP", Port=8080, VpcId=vpc,
                                 TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": ids["single-1"]}])
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                "StatusCode": "HTTP_301"}}])["Listeners"][0]
    elb.create_rule(ListenerArn=listener["ListenerArn"], Priority=10,
                    Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                    Actions=[{"Type": "forward", "TargetGroupArn": tg}])

    # a second rule of HTTP:80 forwards /ops/* to a group on port 22 whose one target,
    # ops-1, is in no other group
    ids["ops-1"] = run_instance("ops-1", closed)
    ops = elb.create_target_group(Name="ops", Protocol="HTTP", Port=22, VpcId=vpc,
                                  TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=ops, Targets=[{"Id": ids["ops-1"]}])
    elb.create_rule(ListenerArn=listener["ListenerArn"], Priority=20,
                    Conditions=[{"Field": "path-pattern", "Values": ["/ops/*"]}],
                    Actions=[{"Type": "forward", "TargetGroupArn": ops}])

    # an HTTPS listener presenting two uploaded certificates: its default one and, in its
    # certificate list (SNI), a second one only DescribeListenerCertificates names
    acm = aws_estate.client(url, "acm")
    uploaded = {}
    for domain in ("api.example.com", "sni.example.com"):
        cert_pem, key_pem = aws_estate.self_signed(domain)
        uploaded[domain] = acm.import_certificate(Certificate=cert_pem,
                                                  PrivateKey=key_pem)["CertificateArn"]
    https = elb.create_listener(
        LoadBalancerArn=lb, Protocol="HTTPS", Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": uploaded["api.example.com"]}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]
    elb.add_listener_certificates(ListenerArn=https["ListenerArn"], Certificates=[
        {"CertificateArn": uploaded["sni.example.com"]}])

    s3 = aws_estate.client(url, "s3")
    for bucket in ("plain-bucket", "tls-bucket"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    # replicated to a bucket of another account, whose region this account cannot see
    s3.create_bucket(Bucket="replicated-bucket",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="replicated-bucket",
                             VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket="replicated-bucket", ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/replication", "Rules": [{
            "ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": "arn:aws:s3:::bucket-of-another-account",
                            "Account": "210987654321"}}]})
    s3.put_bucket_policy(Bucket="tls-bucket", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::tls-bucket", "arn:aws:s3:::tls-bucket/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    return ids


@pytest.fixture(scope="module")
def estate() -> Iterator[tuple[AwsProxy, dict[str, Any]]]:
    moto, url = start_moto()
    ids = build(url)
    with serving(moto, url) as proxy:
        yield proxy, ids


@pytest.fixture
def aws(estate: tuple[AwsProxy, dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Iterator[tuple[AwsProxy, dict[str, Any], Path]]:
    proxy, ids = estate
    proxy.reset()
    for k, v in env(proxy).items():
        monkeypatch.setenv(k, v)
    profile = tmp_path / "aws-shapes.toml"
    profile.write_text(PROFILE)
    yield proxy, ids, profile
    proxy.reset()


def scan(profile: Path, checks: str, *args: str) -> dict[str, Any]:
    result = run("scan", "aws", "--regions", REGION, "--profile", str(profile), "--checks",
                 checks, "--format", "json", "--no-timestamps", *args)
    assert result.exit_code in (0, 1, 3), result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def status(doc: dict[str, Any], check: str, name: str) -> str:
    found = [f["status"] for f in findings_of(doc)
             if f["check"] == check and f["resource_name"] == name]
    assert len(found) == 1, (check, name, found)
    return str(found[0])


def test_second_interface_public_address_is_judged_by_its_own_security_groups(aws: Any
                                                                               ) -> None:
    _proxy, _ids, profile = aws
    doc = scan(profile, "NET-02")
    # eth0's group admits nothing; eth1's admits SSH from anywhere on its elastic IP
    assert status(doc, "NET-02", "multi-1") == "fail"
    assert status(doc, "NET-02", "single-1") == "pass"


def test_every_interface_and_public_address_is_kept(aws: Any, tmp_path: Path) -> None:
    _proxy, ids, _profile = aws
    out = tmp_path / "s.json"
    assert run("record", "aws", "--regions", REGION, "-o", str(out)).exit_code == 0
    inv = PROVIDER.normalize(snapshot.load(out).sections[0])
    multi = next(r for r in inv.resources if r.name == "multi-1")
    assert len(multi.prop("public_ips")) == 2 and len(multi.prop("private_ips")) == 2
    protected = {rel.target.rsplit("/", 1)[-1] for rel in inv.relations
                 if rel.source == multi.id and rel.type.value == "protected_by"}
    assert len([g for g in protected if g.startswith("sg-")]) == 2
    assert ids["multi-1"] in multi.id


def test_security_group_rule_with_an_aws_managed_prefix_list_is_resolved(aws: Any) -> None:
    _proxy, _ids, profile = aws
    doc = scan(profile, "NET-02")
    finding = next(f for f in findings_of(doc) if f["check"] == "NET-02"
                   and f["resource_name"] == "pl-1")
    # the S3 prefix list's public ranges reach SSH: outside the operator ranges
    assert finding["status"] == "fail"


def test_a_prefix_list_that_cannot_be_read_leaves_the_rule_unknown(aws: Any,
                                                                    tmp_path: Path) -> None:
    proxy, ids, profile = aws
    proxy.fail(lambda c: c.action == "GetManagedPrefixListEntries", "UnauthorizedOperation")
    doc = scan(profile, "NET-02")
    assert status(doc, "NET-02", "pl-1") == "error"  # never "pass": the rule is not dropped
    assert status(doc, "NET-02", "single-1") == "pass"  # its groups name no prefix list
    assert status(doc, "NET-02", "multi-1") == "fail"
    out = tmp_path / "s.json"
    run("record", "aws", "--regions", REGION, "-o", str(out))
    inv = PROVIDER.normalize(snapshot.load(out).sections[0])
    group = next(r for r in inv.resources if r.name == "ssh-prefix-list")
    [rule] = group.prop("firewall_rules")
    assert rule["unresolved_prefix_lists"] == [ids["prefix_list"]]
    assert "firewall_rules" in group.unknown
    pl1 = next(r for r in inv.resources if r.name == "pl-1")
    assert pl1.unknown["ingress"].opens and not pl1.unknown["ingress"].closes


def test_plain_http_listener_that_forwards_in_a_rule_fails_tls02(aws: Any) -> None:
    proxy, _ids, profile = aws
    doc = scan(profile, "TLS-02")
    assert status(doc, "TLS-02", "api:80/http") == "fail"
    assert [c for c in proxy.calls if c.action == "DescribeRules"]


def test_every_port_a_listener_forwards_to_reaches_that_groups_targets_only(aws: Any
                                                                            ) -> None:
    """HTTP:80 forwards /api/* to port 8080 (single-1) and /ops/* to port 22 (ops-1). The
    listener forwarded to its first rule's port only: SSH from the internet to ops-1 through
    the load balancer was missed (a NET-02 pass). Each port reaches its own group's
    targets: single-1 is not reached on 22."""
    _proxy, _ids, profile = aws
    doc = scan(profile, "NET-02")
    assert status(doc, "NET-02", "ops-1") == "fail"
    assert status(doc, "NET-02", "single-1") == "pass"


def test_listener_whose_rules_cannot_be_read_is_not_a_pass(aws: Any) -> None:
    proxy, _ids, profile = aws
    proxy.fail(lambda c: c.action == "DescribeRules", "AccessDenied")
    doc = scan(profile, "TLS-02")
    assert status(doc, "TLS-02", "api:80/http") == "error"


def default_certificate_only(body: bytes) -> bytes:
    """DescribeListeners as AWS answers it: a listener's `Certificates` is "the default
    certificate for the listener" (ELBv2 API Reference, Listener), the certificate list is
    DescribeListenerCertificates' alone. moto also lists the SNI certificates there."""
    return re.sub(rb"<Certificates>\s*(<member>.*?</member>).*?</Certificates>",
                  rb"<Certificates>\1</Certificates>", body, flags=re.S)


def test_a_certificate_a_public_listener_presents_by_sni_is_judged_by_tls03(aws: Any) -> None:
    """DescribeListeners names a listener's default certificate only; the certificate list
    (SNI) is DescribeListenerCertificates'. An uploaded certificate served by SNI on a public
    listener was "not used by any public listener" (a TLS-03 skip): it fails as the default
    one does (nobody renews it)."""
    proxy, _ids, profile = aws
    proxy.rewrite(lambda c: c.action == "DescribeListeners", default_certificate_only)
    doc = scan(profile, "TLS-03")
    assert status(doc, "TLS-03", "api.example.com") == "fail"
    assert status(doc, "TLS-03", "sni.example.com") == "fail"
    assert [c for c in proxy.calls if c.action == "DescribeListenerCertificates"]


def test_listener_certificates_that_cannot_be_read_leave_unused_certificates_unknown(
        aws: Any) -> None:
    """The certificate list denied: whether sni.example.com is presented is not known, so
    its "not used" skip is unsafe (error); the default certificate's fail stands."""
    proxy, _ids, profile = aws
    proxy.rewrite(lambda c: c.action == "DescribeListeners", default_certificate_only)
    proxy.fail(lambda c: c.action == "DescribeListenerCertificates", "AccessDenied")
    doc = scan(profile, "TLS-03")
    assert status(doc, "TLS-03", "api.example.com") == "fail"
    assert status(doc, "TLS-03", "sni.example.com") == "error"


def test_bucket_whose_policy_does_not_deny_plain_http_fails_tls02(aws: Any) -> None:
    _proxy, _ids, profile = aws
    doc = scan(profile, "TLS-02")
    assert status(doc, "TLS-02", "plain-bucket") == "fail"
    assert status(doc, "TLS-02", "tls-bucket") == "pass"


def test_replication_to_a_bucket_whose_region_is_unknown_is_not_geo_redundant(aws: Any
                                                                               ) -> None:
    """S3 replication to another account's bucket: its region is not known (GetBucketLocation
    is the owner's), so the copy may be in the bucket's own region. It was read as a second
    region (a BAK-01 pass); the plan reading already said unknown."""
    _proxy, _ids, profile = aws
    doc = scan(profile, "BAK-01")
    assert status(doc, "BAK-01", "replicated-bucket") == "error"
    assert status(doc, "BAK-01", "plain-bucket") == "fail"


def _bucket_call(operation: str, bucket: str) -> Any:
    def match(c: Call) -> bool:
        return c.operation == operation and bucket in c.path
    return match


def test_a_denied_bucket_policy_read_errors_only_that_buckets_verdicts(
        aws: Any, tmp_path: Path) -> None:
    proxy, _ids, profile = aws
    proxy.fail(_bucket_call("GetBucketPolicy", "tls-bucket"), "AccessDenied")
    out = tmp_path / "s.json"
    doc = scan(profile, "TLS-02,ENC-01,RES-01", "--record", str(out))
    assert status(doc, "TLS-02", "tls-bucket") == "error"
    assert status(doc, "TLS-02", "plain-bucket") == "fail"
    assert status(doc, "ENC-01", "tls-bucket") in ("pass", "fail")  # not read by ENC-01
    assert status(doc, "RES-01", "tls-bucket") == "pass"
    section = snapshot.load(out).sections[0]
    assert [e.get("resource") for e in section.errors
            if e["collection"] == "s3.get_bucket_policy"] == ["tls-bucket"]


def test_bedrock_not_offered_in_a_region_leaves_bucket_residency_alone(aws: Any) -> None:
    proxy, _ids, profile = aws
    # before the proxy's recorded Bedrock answer (moto has no Bedrock inference profiles)
    proxy.faults.insert(0, Fault(lambda c: c.service == "bedrock", "UnknownOperationException",
                                 404))
    doc = scan(profile, "RES-01")
    assert status(doc, "RES-01", "plain-bucket") == "pass"
    assert status(doc, "RES-01", "multi-1") == "pass"
    assert any(f["status"] == "error" and "bedrock" in f["resource"] for f in findings_of(doc))


def test_unread_route_tables_turn_only_fails_into_errors(aws: Any, tmp_path: Path) -> None:
    proxy, _ids, profile = aws
    proxy.fail(lambda c: c.action == "DescribeRouteTables", "UnauthorizedOperation")
    doc = scan(profile, "NET-02")
    # a route table could only close the path: the fail is unknown, the pass stands
    assert status(doc, "NET-02", "multi-1") == "error"
    assert status(doc, "NET-02", "single-1") == "pass"
