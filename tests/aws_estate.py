"""The AWS estate the collector tests scan, built with boto3 calls against a moto server.

eu-central-1 (Frankfurt) holds the estate, one bucket lives in us-east-1 and its replica in
eu-west-1. What each resource is there to show (the verdicts tests/test_aws_collector.py
asserts):

- VPC 10.0.0.0/16 with an internet gateway; public subnets `public-a` (its network ACL
  denies TCP 3389 from anywhere, rule 100, before allowing everything, rule 200) and
  `public-b` (default ACL), both routed 0.0.0.0/0 -> igw; `private` has no route to the igw.
- `app-1`: private subnet, no public IP, target of the ALB on 8080.
- `app-2`: public-a, public IP, SG opens 22 and 3389 to the world: the NACL blocks 3389, so
  only 22 is exposed (NET-02 fail on 22 only, NET-03 fail, NET-04 pass).
- `vpn-1`: public-a, public IP, SSH from the operator range only (NET-02 pass, NET-03 exempt).
- `open-1`: public-b, public IP, SG admits every TCP port from anywhere (NET-04 fail); its
  root volume is not encrypted (ENC-01 fail).
- `hidden-1`: a public IP in the private subnet, SG wide open: not reachable (no igw route),
  so it has no public IP in the model (NET-03 pass); it carries a data volume and no AWS
  Backup plan covers it (BAK-02 fail); its user data holds a password (plaintext_secrets).
- RDS `db-public`: PubliclyAccessible in the public subnets, SG 5432 from anywhere,
  unencrypted, no backups (NET-01, NET-02, ENC-01, BAK-02 fail). `db-private`: private,
  encrypted with a KMS key, 7 days of backups (pass).
- S3 `posture-data-eu` (SSE-KMS, replicated to `posture-replica-west` in eu-west-1),
  `posture-plain-eu` (no default encryption: ENC-01 fail), `posture-logs-us` (us-east-1:
  RES-01 fail); the replica in eu-west-1 is outside DE (RES-01 fail).
- ALB `web` (internet-facing): 443 HTTPS with an ACM certificate and a TLS 1.2 policy
  (TLS-01/02/03 pass), 80 redirects to HTTPS (TLS-02 pass), 8080 plain HTTP forwarding to
  app-1 (TLS-02 fail), 8443 HTTPS with ELBSecurityPolicy-2016-08 (TLS 1.0: TLS-01 fail) and
  an imported certificate (TLS-03 fail).
- KMS keys with and without rotation; a multi-region trail that logs; GuardDuty in
  eu-central-1 only; IAM users alice (console, MFA, admin policy), bob (console, no MFA),
  ci (access key, no console).
- The trail's bucket expires `AWSLogs/` after 90 days, but the trail also delivers to the
  CloudWatch Logs group `trail-audit`, kept 400 days: its logs are kept 400 days (LOG-02
  pass against 365). Lambda `mailer` is tagged owner/environment/data-classification (INV-02
  pass: tags read with lambda:ListTags); backup vault `posture-vault` only
  data-classification (INV-02 fail: tags read with backup:ListTags).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REGION = "eu-central-1"
OPERATOR = "198.51.100.0/24"
AMI = "ami-1e749f67"  # one of moto's built-in images (Ubuntu)


def client(url: str, service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def self_signed(domain: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=200))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def _name(name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]},
            {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": f"{name}-root"}]}]


def build(url: str) -> dict[str, Any]:
    """Create the estate; returns the ids tests refer to."""
    ids: dict[str, Any] = {}
    ec2 = client(url, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids["vpc"] = vpc
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    subnets = {}
    for name, cidr, az in (("public-a", "10.0.1.0/24", "a"), ("public-b", "10.0.2.0/24", "b"),
                           ("private", "10.0.3.0/24", "a"), ("private-b", "10.0.4.0/24", "b")):
        subnets[name] = ec2.create_subnet(
            VpcId=vpc, CidrBlock=cidr, AvailabilityZone=REGION + az,
            TagSpecifications=[{"ResourceType": "subnet",
                                "Tags": [{"Key": "Name", "Value": name}]}])["Subnet"]["SubnetId"]
    ids["subnets"] = subnets
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    for name in ("public-a", "public-b"):
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=subnets[name])
    for name in ("private", "private-b"):
        ec2.associate_route_table(RouteTableId=private_rt, SubnetId=subnets[name])
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6",
                                 RuleAction="deny", Egress=False, CidrBlock="0.0.0.0/0",
                                 PortRange={"From": 3389, "To": 3389})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=200, Protocol="-1",
                                 RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0")
    current = ec2.describe_network_acls(Filters=[
        {"Name": "association.subnet-id", "Values": [subnets["public-a"]]}])["NetworkAcls"][0]
    assoc = next(a["NetworkAclAssociationId"] for a in current["Associations"]
                 if a["SubnetId"] == subnets["public-a"])
    ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=acl)
    ids["nacl"] = acl

    def sg(name: str, rules: list[dict[str, Any]]) -> str:
        gid = str(ec2.create_security_group(GroupName=name, Description=name,
                                            VpcId=vpc)["GroupId"])
        if rules:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=rules)
        return gid

    def tcp(lo: int, hi: int, cidr: str = "0.0.0.0/0") -> dict[str, Any]:
        return {"IpProtocol": "tcp", "FromPort": lo, "ToPort": hi,
                "IpRanges": [{"CidrIp": cidr}]}

    web = sg("web", [tcp(80, 80), tcp(443, 443), tcp(8080, 8080), tcp(8443, 8443)])
    app = sg("app", [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                      "UserIdGroupPairs": [{"GroupId": web}]}])
    admin = sg("admin-open", [tcp(22, 22), tcp(3389, 3389)])
    vpn = sg("vpn", [tcp(22, 22, OPERATOR), {"IpProtocol": "udp", "FromPort": 1194,
                                              "ToPort": 1194,
                                              "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    everything = sg("everything", [tcp(0, 65535)])
    db = sg("db", [tcp(5432, 5432)])
    ids["sgs"] = {"web": web, "app": app, "admin": admin, "vpn": vpn, "everything": everything,
                  "db": db}

    def run(name: str, subnet: str, groups: list[str], public: bool, encrypted: bool = True,
            key: str | None = "ops", user_data: str = "") -> str:
        params: dict[str, Any] = dict(
            ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
            TagSpecifications=_name(name),
            NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnets[subnet],
                                "Groups": groups, "AssociatePublicIpAddress": public}],
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1",
                                  "Ebs": {"VolumeSize": 8, "Encrypted": encrypted}}])
        if key:
            params["KeyName"] = key
        if user_data:
            params["UserData"] = user_data
        return str(ec2.run_instances(**params)["Instances"][0]["InstanceId"])

    ec2.create_key_pair(KeyName="ops")
    ids["instances"] = {
        "app-1": run("app-1", "private", [app], False),
        "app-2": run("app-2", "public-a", [admin], True),
        "vpn-1": run("vpn-1", "public-a", [vpn], True),
        "open-1": run("open-1", "public-b", [everything], True, encrypted=False, key=None),
        "hidden-1": run("hidden-1", "private", [everything], True,
                        user_data="#!/bin/sh\nexport DB_PASSWORD=hunter2-not-real\n"
                                  "export LOG_LEVEL=info\n"),
    }
    data = ec2.create_volume(Size=20, AvailabilityZone=REGION + "a", Encrypted=True,
                             TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                 {"Key": "Name", "Value": "hidden-1-data"}]}])["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=ids["instances"]["hidden-1"], Device="/dev/sdf")
    ids["data_volume"] = data
    ec2.create_snapshot(VolumeId=data, Description="nightly")

    kms = client(url, "kms")
    rotated = kms.create_key(Description="db key")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=rotated["KeyId"])
    kms.create_alias(AliasName="alias/db", TargetKeyId=rotated["KeyId"])
    stale = kms.create_key(Description="legacy")["KeyMetadata"]
    ids["keys"] = {"rotated": rotated["Arn"], "stale": stale["Arn"]}

    rds = client(url, "rds")
    rds.create_db_subnet_group(DBSubnetGroupName="public", DBSubnetGroupDescription="public",
                               SubnetIds=[subnets["public-a"], subnets["public-b"]])
    rds.create_db_subnet_group(DBSubnetGroupName="private", DBSubnetGroupDescription="private",
                               SubnetIds=[subnets["private"], subnets["private-b"]])
    rds.create_db_instance(DBInstanceIdentifier="db-public", DBInstanceClass="db.t3.micro",
                           Engine="postgres", MasterUsername="app",
                           MasterUserPassword="not-a-real-password-1", AllocatedStorage=20,
                           DBSubnetGroupName="public", VpcSecurityGroupIds=[db],
                           PubliclyAccessible=True, StorageEncrypted=False,
                           BackupRetentionPeriod=0, Port=5432)
    rds.create_db_instance(DBInstanceIdentifier="db-private", DBInstanceClass="db.t3.micro",
                           Engine="postgres", MasterUsername="app",
                           MasterUserPassword="not-a-real-password-2", AllocatedStorage=20,
                           DBSubnetGroupName="private", VpcSecurityGroupIds=[db],
                           PubliclyAccessible=False, StorageEncrypted=True,
                           KmsKeyId=rotated["Arn"], BackupRetentionPeriod=7, Port=5432)

    s3 = client(url, "s3")
    s3.create_bucket(Bucket="posture-data-eu",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(Bucket="posture-data-eu", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": rotated["Arn"]}}]})
    s3.put_bucket_versioning(Bucket="posture-data-eu",
                             VersioningConfiguration={"Status": "Enabled"})
    west = client(url, "s3", "eu-west-1")
    west.create_bucket(Bucket="posture-replica-west",
                       CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    west.put_bucket_encryption(Bucket="posture-replica-west", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    west.put_bucket_versioning(Bucket="posture-replica-west",
                               VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket="posture-data-eu", ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/replication",
        "Rules": [{"ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": "arn:aws:s3:::posture-replica-west"}}]})
    s3.put_bucket_policy(Bucket="posture-data-eu", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::posture-data-eu", "arn:aws:s3:::posture-data-eu/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    s3.put_bucket_tagging(Bucket="posture-data-eu", Tagging={"TagSet": [
        {"Key": "environment", "Value": "production"},
        {"Key": "db_password", "Value": "tag-secret-value"}]})
    s3.create_bucket(Bucket="posture-plain-eu",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    us = client(url, "s3", "us-east-1")
    us.create_bucket(Bucket="posture-logs-us")
    us.put_bucket_encryption(Bucket="posture-logs-us", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})

    acm = client(url, "acm")
    managed = acm.request_certificate(DomainName="app.example.com",
                                      ValidationMethod="DNS")["CertificateArn"]
    cert_pem, key_pem = self_signed("legacy.example.com")
    imported = acm.import_certificate(Certificate=cert_pem, PrivateKey=key_pem)["CertificateArn"]
    ids["certs"] = {"managed": managed, "imported": imported}

    elb = client(url, "elbv2")
    lb = elb.create_load_balancer(Name="web", Subnets=[subnets["public-a"], subnets["public-b"]],
                                  SecurityGroups=[web], Scheme="internet-facing",
                                  Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elb.create_target_group(Name="app", Protocol="HTTP", Port=8080, VpcId=vpc,
                                 TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": ids["instances"]["app-1"]}])
    forward = [{"Type": "forward", "TargetGroupArn": tg}]
    listeners = {
        443: elb.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443,
                                 SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                                 Certificates=[{"CertificateArn": managed}],
                                 DefaultActions=forward),
        80: elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
            {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                    "StatusCode": "HTTP_301"}}]),
        8080: elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8080,
                                  DefaultActions=forward),
        8443: elb.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=8443,
                                  SslPolicy="ELBSecurityPolicy-2016-08",
                                  Certificates=[{"CertificateArn": imported}],
                                  DefaultActions=forward),
    }
    ids["lb"] = lb
    ids["listeners"] = {p: v["Listeners"][0]["ListenerArn"] for p, v in listeners.items()}
    waf = client(url, "wafv2")
    acl_arn = waf.create_web_acl(
        Name="web-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False,
                          "MetricName": "web"},
        Rules=[{"Name": "rate", "Priority": 1, "Action": {"Block": {}},
                "Statement": {"RateBasedStatement": {"Limit": 1000,
                                                     "AggregateKeyType": "IP"}},
                "VisibilityConfig": {"SampledRequestsEnabled": False,
                                     "CloudWatchMetricsEnabled": False,
                                     "MetricName": "rate"}}])["Summary"]["ARN"]
    waf.associate_web_acl(WebACLArn=acl_arn, ResourceArn=lb)

    trail_bucket = "posture-trail-eu"
    s3.create_bucket(Bucket=trail_bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(Bucket=trail_bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_lifecycle_configuration(Bucket=trail_bucket, LifecycleConfiguration={
        "Rules": [{"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
                   "Expiration": {"Days": 90}}]})
    logs = client(url, "logs")
    logs.create_log_group(logGroupName="trail-audit")
    logs.put_retention_policy(logGroupName="trail-audit", retentionInDays=400)
    group_arn = next(g["arn"] for g in logs.describe_log_groups()["logGroups"]
                     if g["logGroupName"] == "trail-audit")
    ct = client(url, "cloudtrail")
    ct.create_trail(Name="org-audit", S3BucketName=trail_bucket, IsMultiRegionTrail=True,
                    EnableLogFileValidation=True, CloudWatchLogsLogGroupArn=group_arn,
                    CloudWatchLogsRoleArn="arn:aws:iam::123456789012:role/trail-to-logs")
    ct.start_logging(Name="org-audit")
    client(url, "guardduty").create_detector(Enable=True)

    iam = client(url, "iam", "us-east-1")
    iam.create_policy(PolicyName="everything", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    for user in ("alice", "bob", "ci"):
        iam.create_user(UserName=user)
    iam.create_login_profile(UserName="alice", Password="Not-a-real-pw-123!")
    iam.create_login_profile(UserName="bob", Password="Not-a-real-pw-456!")
    iam.attach_user_policy(UserName="alice",
                           PolicyArn="arn:aws:iam::123456789012:policy/everything")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    iam.enable_mfa_device(UserName="alice", SerialNumber=device["SerialNumber"],
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    iam.create_access_key(UserName="ci")
    lam = client(url, "lambda")
    role = iam.create_role(RoleName="lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}
                                                }]}))["Role"]["Arn"]
    lam.create_function(FunctionName="mailer", Runtime="python3.12", Role=role,
                        Handler="index.handler", Code={"ZipFile": _zip()},
                        Environment={"Variables": {"SMTP_PASSWORD": "smtp-not-real",
                                                   "SMTP_HOST": "email-smtp.eu-central-1"}},
                        Tags={"owner": "mail-team", "environment": "production",
                              "data-classification": "confidential"})
    client(url, "backup").create_backup_vault(
        BackupVaultName="posture-vault", BackupVaultTags={"data-classification": "internal"})
    return ids


def _zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def user_data_b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
