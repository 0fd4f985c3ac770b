"""An emulated AWS account of about N resources in three regions, for bench/bench_prowler.py.

Built with boto3 directly against a moto server (not through the counting proxy), so that
the proxy's record holds only the scanners' calls. Every region gets the same mix, scaled
from a 4,000-resource account:

- a VPC with an internet gateway, two public and two private subnets, a network ACL that
  denies RDP from anywhere on the public subnets;
- security groups: web (80/443 from anywhere), admin (22 and 3389 from anywhere), operator
  (22 from one range), database (5432 from anywhere), everything (all TCP from anywhere),
  internal (from the web group);
- EC2 instances, each with its root EBS volume (every other batch encrypted, every third in
  a public subnet with a public IP), plus data volumes and some snapshots of them;
- KMS keys (every other one rotated), S3 buckets (default encryption on most, a policy
  denying plain HTTP on every third, versioning on every fourth, a lifecycle rule on every
  fifth), RDS PostgreSQL instances (every fourth publicly accessible, every other one
  encrypted, every third without backups), internet-facing ALBs with an HTTP listener
  (every other one redirecting to HTTPS) and an HTTPS listener (every other one on the TLS
  1.0 policy ELBSecurityPolicy-2016-08) with an ACM certificate;

and once: a multi-region CloudTrail trail (log validation on, its bucket expiring logs
after 90 days), GuardDuty in the first region, IAM users (every other one with a console
password, every third with an access key) and an admin policy attached to one of them.

moto adds its own default VPC, subnets and security groups in every region it is asked
about; both scanners see them alike. moto's built-in images (and the ~1,350 snapshots it makes
for them in every region, owned by the account) are left out: `MOTO_EC2_LOAD_DEFAULT_AMIS`
must be "false" in the moto process before its EC2 backend starts (`no_default_images`);
the instances run a registered image of the account (one per region).
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.aws_estate import client, self_signed

REGIONS = ("eu-central-1", "eu-west-1", "eu-north-1")
OPERATOR = "198.51.100.0/24"
ACCOUNT = "123456789012"  # moto's default account


@dataclass(frozen=True)
class Mix:
    """Resources per region (users: per account)."""

    instances: int
    groups: int
    volumes: int
    snapshots: int
    keys: int
    buckets: int
    databases: int
    balancers: int
    users: int

    def expected(self) -> int:
        """Resources this mix creates (the fixed VPC parts and the trail included)."""
        per_region = (self.instances * 2  # instance + root volume
                      + self.groups + self.volumes + self.snapshots + self.keys
                      + self.buckets + self.databases + self.balancers * 3  # LB + 2 listeners
                      + 1 + 4 + 1 + 1 + 1 + 1)  # VPC, subnets, IGW, NACL, ACM cert, image
        return per_region * len(REGIONS) + self.users + 2  # trail, its bucket


# About 4,000 resources (see Mix.expected); smaller and larger accounts scale every count.
BASE = Mix(instances=470, groups=60, volumes=60, snapshots=20, keys=40, buckets=120,
           databases=20, balancers=10, users=60)


def _scaled(f: float) -> Mix:
    def n(v: int, least: int = 1) -> int:
        return max(least, math.floor(v * f + 0.5))

    return Mix(instances=n(BASE.instances), groups=n(BASE.groups, 6), volumes=n(BASE.volumes),
               snapshots=n(BASE.snapshots), keys=n(BASE.keys), buckets=n(BASE.buckets),
               databases=n(BASE.databases), balancers=n(BASE.balancers),
               users=n(BASE.users, 2))


def mix_for(size: int) -> Mix:
    """The mix whose size is nearest `size` (at least one of everything and six security
    groups: 79 resources)."""
    lo, hi = 0.0, max(1.0, 2 * size / BASE.expected())
    for _ in range(40):  # the largest scale whose mix is not larger than `size`
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _scaled(mid).expected() <= size else (lo, mid)
    return min((_scaled(lo), _scaled(hi)), key=lambda m: abs(m.expected() - size))


def no_default_images() -> None:
    """Keep moto's built-in images out of the next estate (call before `start_moto`)."""
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"


def _tcp(lo: int, hi: int, cidr: str = "0.0.0.0/0") -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": lo, "ToPort": hi, "IpRanges": [{"CidrIp": cidr}]}


def build(url: str, mix: Mix) -> Counter[str]:
    """Create the account; returns the resources created, by kind."""
    made: Counter[str] = Counter()
    for region in REGIONS:
        _region(url, region, mix, made)
    _global(url, mix, made)
    return made


def _region(url: str, region: str, mix: Mix, made: Counter[str]) -> None:
    ec2 = client(url, "ec2", region)
    image = ec2.register_image(
        Name="bench-base", RootDeviceName="/dev/sda1", Architecture="x86_64",
        VirtualizationType="hvm",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                 AvailabilityZone=region + "ab"[i % 2])["Subnet"]["SubnetId"]
               for i in range(4)]
    public, private = subnets[:2], subnets[2:]
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for s in public:
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=s)
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6",
                                 RuleAction="deny", Egress=False, CidrBlock="0.0.0.0/0",
                                 PortRange={"From": 3389, "To": 3389})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=200, Protocol="-1",
                                 RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0")
    made.update(image=1, vpc=1, subnet=4, internet_gateway=1, network_acl=1)

    kinds: list[list[dict[str, Any]]] = [
        [_tcp(80, 80), _tcp(443, 443)],  # web
        [_tcp(22, 22), _tcp(3389, 3389)],  # admin, open
        [_tcp(22, 22, OPERATOR)],  # operator only
        [_tcp(5432, 5432)],  # database port, open
        [_tcp(0, 65535)],  # everything
        [],  # internal (rule added below)
    ]
    groups: list[str] = []
    for i in range(mix.groups):
        gid = str(ec2.create_security_group(GroupName=f"sg-{i}", Description="bench",
                                            VpcId=vpc)["GroupId"])
        rules = kinds[i % len(kinds)]
        if not rules and groups:
            rules = [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                      "UserIdGroupPairs": [{"GroupId": groups[0]}]}]
        if rules:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=rules)
        groups.append(gid)
    made["security_group"] += mix.groups

    left, batch = mix.instances, 0
    while left > 0:
        count = min(10, left)
        exposed = batch % 3 == 0
        ec2.run_instances(
            ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.micro",
            NetworkInterfaces=[{"DeviceIndex": 0,
                                "SubnetId": (public if exposed else private)[batch % 2],
                                "Groups": [groups[batch % len(groups)]],
                                "AssociatePublicIpAddress": exposed}],
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1",
                                  "Ebs": {"VolumeSize": 8, "Encrypted": batch % 2 == 0}}],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "Name", "Value": f"app-{region}-{batch}"}]}])
        left -= count
        batch += 1
    made.update(instance=mix.instances, volume=mix.instances)
    volumes = [ec2.create_volume(Size=20, AvailabilityZone=region + "a",
                                 Encrypted=i % 2 == 0)["VolumeId"] for i in range(mix.volumes)]
    for i in range(mix.snapshots):
        ec2.create_snapshot(VolumeId=volumes[i % len(volumes)], Description=f"nightly-{i}")
    made.update(volume=mix.volumes, snapshot=mix.snapshots)

    kms = client(url, "kms", region)
    for i in range(mix.keys):
        key = kms.create_key(Description=f"bench-{i}")["KeyMetadata"]["KeyId"]
        if i % 2 == 0:
            kms.enable_key_rotation(KeyId=key)
    made["kms_key"] += mix.keys

    s3 = client(url, "s3", region)
    for i in range(mix.buckets):
        name = f"bench-{region}-{i}"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if i % 7:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms" if i % 2 else "AES256"}}]})
        if i % 3 == 0:
            s3.put_bucket_policy(Bucket=name, Policy=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        if i % 4 == 0:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if i % 5 == 0:
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
                "Rules": [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""},
                           "Expiration": {"Days": 365}}]})
    made["bucket"] += mix.buckets

    rds = client(url, "rds", region)
    rds.create_db_subnet_group(DBSubnetGroupName="public", DBSubnetGroupDescription="public",
                               SubnetIds=public)
    rds.create_db_subnet_group(DBSubnetGroupName="private", DBSubnetGroupDescription="private",
                               SubnetIds=private)
    db_group = groups[3 % len(groups)]
    for i in range(mix.databases):
        exposed = i % 4 == 0
        rds.create_db_instance(
            DBInstanceIdentifier=f"db-{i}", DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="app", MasterUserPassword="not-a-real-password-1",
            AllocatedStorage=20, DBSubnetGroupName="public" if exposed else "private",
            VpcSecurityGroupIds=[db_group], PubliclyAccessible=exposed,
            StorageEncrypted=i % 2 == 1, BackupRetentionPeriod=0 if i % 3 == 0 else 7,
            Port=5432)
    made["database"] += mix.databases

    cert_pem, key_pem = self_signed(f"{region}.example.com")
    cert = client(url, "acm", region).import_certificate(
        Certificate=cert_pem, PrivateKey=key_pem)["CertificateArn"]
    made["certificate"] += 1
    elb = client(url, "elbv2", region)
    web = groups[0]
    for i in range(mix.balancers):
        lb = elb.create_load_balancer(Name=f"web-{i}", Subnets=public, SecurityGroups=[web],
                                      Scheme="internet-facing",
                                      Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
        tg = elb.create_target_group(Name=f"tg-{i}", Protocol="HTTP", Port=8080, VpcId=vpc,
                                     TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        forward = [{"Type": "forward", "TargetGroupArn": tg}]
        redirect = [{"Type": "redirect", "RedirectConfig": {
            "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
        elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                            DefaultActions=redirect if i % 2 == 0 else forward)
        elb.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443,
                            SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06" if i % 2 == 0
                            else "ELBSecurityPolicy-2016-08",
                            Certificates=[{"CertificateArn": cert}], DefaultActions=forward)
    made.update(load_balancer=mix.balancers, listener=2 * mix.balancers)


def _global(url: str, mix: Mix, made: Counter[str]) -> None:
    first = REGIONS[0]
    s3 = client(url, "s3", first)
    trail_bucket = "bench-trail-logs"
    s3.create_bucket(Bucket=trail_bucket, CreateBucketConfiguration={"LocationConstraint": first})
    s3.put_bucket_lifecycle_configuration(Bucket=trail_bucket, LifecycleConfiguration={
        "Rules": [{"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
                   "Expiration": {"Days": 90}}]})
    ct = client(url, "cloudtrail", first)
    ct.create_trail(Name="org-audit", S3BucketName=trail_bucket, IsMultiRegionTrail=True,
                    EnableLogFileValidation=True)
    ct.start_logging(Name="org-audit")
    made.update(bucket=1, trail=1)
    client(url, "guardduty", first).create_detector(Enable=True)

    iam = client(url, "iam", "us-east-1")
    iam.create_policy(PolicyName="everything", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    for i in range(mix.users):
        user = f"user-{i}"
        iam.create_user(UserName=user)
        if i % 2 == 0:
            iam.create_login_profile(UserName=user, Password="Not-a-real-pw-123!")
        if i % 3 == 0:
            iam.create_access_key(UserName=user)
    iam.attach_user_policy(UserName="user-0",
                           PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/everything")
    made["user"] += mix.users
