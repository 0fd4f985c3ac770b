"""Canary secrets planted in the emulated clouds never appear in any output.

Each cloud's local server serves its bundled estate with canaries planted where secrets
really hide (labels and tags named like passwords, values that look like credentials, VM
custom data and user data, web app settings and connection strings, a private key where a
certificate belongs, credentials in URLs), and one collection fails with an error body that
quotes a canary and the very token the scan uses. Then the real CLI runs in a child process
at -vv (in-process runs do not capture logging): a live scan recording a snapshot and
writing every report format, `verify --json` of the snapshot, `report` of the saved results
in every format, and a replay of the snapshot. Every output is searched for every canary (as
planted, and base64 where it was planted base64) and for the credentials:

- the snapshot (the record), every report file, stdout and stderr of every run;
- the recorded error message of the failed collection, which must still be there (scrubbed).

The AWS planter builds the moto estate of tests/aws_estate.py (behind the recording proxy
of tests/aws_proxy.py) and plants: EC2 user data (plain, base64 as AWS returns it, and
gzip-compressed cloud-init), Lambda environment variables (named like secrets and not),
tags named like passwords on an instance, a bucket and an IAM user, an access key in a tag
value, a tag key that is itself a secret, a password in a security group's description, an
RDS master password and credentials in a bucket policy. The scan's own credentials (access
key id, secret key, session token) are needles too, and a denied call quotes a canary and
the secret key.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scanner.reports import FORMATS
from tests import aws_estate
from tests.aws_proxy import AwsProxy, start_moto
from tests.azure_arm_server import ArmServer, sections_of
from tests.hcloud_server import HcloudServer
from tests.helpers import ROOT, SEED002, run


@dataclass
class Planted:
    cloud: str
    source: str
    env: dict[str, str]
    canaries: dict[str, str]  # where -> the canary as it must never appear
    credentials: dict[str, str]  # what -> the token the scan authenticates with
    failed: str  # the collection whose error body quotes a canary and the token
    server: Any = None
    args: tuple[str, ...] = ()
    encoded: dict[str, str] = field(default_factory=dict)  # where -> planted base64 form


def canary(tag: str) -> str:
    return f"CANARY{tag}x7f3e9c41"


# --- Hetzner --------------------------------------------------------------------------------

HCLOUD_TOKEN = "hc1oudT0kenCanary0123456789abcdef0123456789abcdef0123456789abcd"


@contextmanager
def hetzner() -> Iterator[Planted]:
    doc = json.loads(SEED002.read_text())
    data = {k: v["global"] for k, v in doc["sections"][0]["collections"].items()}
    c = {
        "label named like a password": canary("HzLabelPw"),
        "password= in a label value": canary("HzLabelValue"),
        "credentials in a URL label": canary("HzUrl"),
        "AWS key in a label": "AKIA" + "CANARYHZ7F3E9C41",
        "load balancer token label": canary("HzLbToken"),
        "private key in a certificate": canary("HzPrivKey"),
        "secret: in a firewall rule description": canary("HzFwDesc"),
        "pwd= in a volume name": canary("HzVolName"),
        "a label key that is itself a secret": canary("HzLabelKey"),
        "error body": canary("HzErrorBody"),
        "error details": canary("HzErrorDetails"),
    }
    servers = data["servers"]
    servers[0]["labels"]["db_password"] = c["label named like a password"]
    servers[1]["labels"]["note"] = f"password={c['password= in a label value']}"
    servers[2]["labels"]["backup"] = f"s3://svc:{c['credentials in a URL label']}@b.example.com"
    servers[3]["labels"]["aws"] = c["AWS key in a label"]
    servers[4]["labels"][f"password={c['a label key that is itself a secret']}"] = "set"
    data["load_balancers"][0]["labels"]["api_token"] = c["load balancer token label"]
    data["certificates"][0]["certificate"] = (
        f"-----BEGIN PRIVATE KEY-----\n{c['private key in a certificate']}\n"
        "-----END PRIVATE KEY-----\n")
    data["firewalls"][0]["rules"][0]["description"] = (
        f"deploy access, secret: {c['secret: in a firewall rule description']}")
    data["volumes"][0]["name"] = f"scratch pwd={c['pwd= in a volume name']}"
    with HcloudServer(data, token=HCLOUD_TOKEN) as api:
        api.fail("primary_ips", 403, "forbidden",
                 message=f"insufficient permissions (password={c['error body']}, token "
                         f"{HCLOUD_TOKEN})",
                 details={"secret": c["error details"]})
        yield Planted("hetzner", "hetzner",
                      {"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": HCLOUD_TOKEN,
                       "POSTURE_HETZNER_PROJECT": "ohallo-prod"},
                      c, {"HCLOUD_TOKEN": HCLOUD_TOKEN}, "primary_ips", api)


# --- Azure ----------------------------------------------------------------------------------

AZURE_TOKEN = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiJhenVyZS10b2tlbiJ9."
               "Q0FOQVJZdG9rZW5zaWduYXR1cmU")
SEED000 = ROOT / "fixtures" / "azure" / "seed000-azure.json"
SUB0 = "0b1f6471-1bf0-4dda-aec3-000000000000"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@contextmanager
def azure() -> Iterator[Planted]:
    cols = sections_of(SEED000)[SUB0]
    c = {
        "VM customData with a password": canary("AzCustomDataPw"),
        "VM customData, plain script": canary("AzCustomDataPlain"),
        "VM userData": canary("AzUserData"),
        "VM tag named like a password": canary("AzTagPw"),
        "storage AccountKey in a tag": "Q0FOQVJZQXpBY2NvdW50S2V5N2YzZTljNDE=",
        "web app setting named like a password": canary("AzAppSettingPw"),
        "web app setting URL with credentials": canary("AzAppSettingUrl"),
        "web app connection string": canary("AzConnString"),
        "site config appSettings (siteConfig)": canary("AzSiteConfig"),
        "key vault tag named like a secret": canary("AzKvTag"),
        "key vault property with URL credentials": canary("AzKvUri"),
        "SQL administrator password": canary("AzSqlPw"),
        "error body": canary("AzErrorBody"),
    }
    encoded: dict[str, str] = {}
    vms = cols["Microsoft.Compute/virtualMachines"]
    script = ("#cloud-config\nchpasswd:\n  list: |\n"
              f"    root:password={c['VM customData with a password']}\n")
    encoded["VM customData with a password"] = b64(script)
    vms[0]["properties"].setdefault("osProfile", {})["customData"] = b64(script)
    plain = f"#!/bin/sh\necho {c['VM customData, plain script']} > /etc/motd\n"
    encoded["VM customData, plain script"] = b64(plain)
    vms[1]["properties"].setdefault("osProfile", {})["customData"] = b64(plain)
    encoded["VM userData"] = b64(f"DB_PASSWORD={c['VM userData']}")
    vms[0]["properties"]["userData"] = encoded["VM userData"]
    vms[1].setdefault("tags", {})["admin_password"] = c["VM tag named like a password"]
    storage = cols["Microsoft.Storage/storageAccounts"][0]
    storage.setdefault("tags", {})["backup-target"] = (
        "DefaultEndpointsProtocol=https;AccountName=stbackup;AccountKey="
        f"{c['storage AccountKey in a tag']};EndpointSuffix=core.windows.net")
    config = cols["Microsoft.Web/sites/config"][0]["properties"]
    config["appSettings"] = [
        {"name": "DB_PASSWORD", "value": c["web app setting named like a password"]},
        {"name": "UPSTREAM", "value":
         f"https://svc:{c['web app setting URL with credentials']}@api.example.com/"},
        {"name": "KV_BACKED_PASSWORD", "value": "@Microsoft.KeyVault(SecretUri=https://kv-prod"
                                                "-eu.vault.azure.net/secrets/db/)"},
    ]
    config["connectionStrings"] = [
        {"name": "Main", "type": "SQLAzure", "connectionString":
         f"Server=tcp:sql.example.net;User ID=app;Password={c['web app connection string']}"}]
    site = cols["Microsoft.Web/sites"][0]["properties"]
    site["siteConfig"] = {"appSettings": [
        {"name": "API_SECRET", "value": c["site config appSettings (siteConfig)"]}]}
    vault = cols["Microsoft.KeyVault/vaults"][0]
    vault.setdefault("tags", {})["client_secret"] = c["key vault tag named like a secret"]
    vault["properties"]["vaultUri"] = (
        f"https://admin:{c['key vault property with URL credentials']}@kv-prod-eu.vault.azure"
        ".net/")
    sql = cols["Microsoft.Sql/servers"][0]
    sql["properties"]["administratorLoginPassword"] = c["SQL administrator password"]
    with ArmServer({SUB0: cols}, token=AZURE_TOKEN) as arm:
        arm.fail("microsoft.dbformysql/flexibleservers", 403, "AuthorizationFailed",
                 message=f"The client is not authorized (password={c['error body']}; "
                         f"Authorization: Bearer {AZURE_TOKEN})")
        yield Planted("azure", "azure",
                      {"POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN":
                       AZURE_TOKEN, "REQUESTS_CA_BUNDLE": arm.ca_file},
                      c, {"POSTURE_AZURE_ACCESS_TOKEN": AZURE_TOKEN},
                      "Microsoft.DBforMySQL/flexibleServers", arm,
                      ("--subscription", SUB0), encoded)


# --- AWS ------------------------------------------------------------------------------------

AWS_KEY_ID = "AKIA" + "CANARYAWSKEY7F3E"  # the scan's credentials: never in any output
AWS_SECRET = "CanarySecretAccessKey7f3e9c41/abcdefghijk"
AWS_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////CanarySessionToken7f3e9c41" + "x" * 40


@contextmanager
def aws() -> Iterator[Planted]:
    moto, url = start_moto()
    try:
        ids = aws_estate.build(url)
        c = {
            "EC2 user data with a password": canary("AwsUserDataPw"),
            "EC2 user data, plain script": canary("AwsUserDataPlain"),
            "EC2 user data, gzip cloud-init": canary("AwsUserDataGzip"),
            "Lambda variable named like a password": canary("AwsLambdaPw"),
            "Lambda variable with URL credentials": canary("AwsLambdaUrl"),
            "Lambda variable with an innocent name": canary("AwsLambdaPlain"),
            "instance tag named like a password": canary("AwsTagPw"),
            "bucket tag named like a token": canary("AwsBucketTag"),
            "IAM user tag named like a secret": canary("AwsIamTag"),
            "AWS key in a tag value": "AKIA" + "CANARYAWSTAG7F3E",
            "a tag key that is itself a secret": canary("AwsTagKey"),
            "password= in a security group description": canary("AwsSgDesc"),
            "secret: in a security group rule description": canary("AwsSgRule"),
            "RDS master password": canary("AwsRdsPw"),
            "credentials in a URL in a bucket policy": canary("AwsPolicyUrl"),
            "error body": canary("AwsErrorBody"),
        }
        encoded: dict[str, str] = {}
        ec2 = aws_estate.client(url, "ec2")
        vpc = ids["vpc"]
        group = ec2.create_security_group(
            GroupName="canary", VpcId=vpc,
            Description=f"ops access password={c['password= in a security group description']}"
        )["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "IpRanges": [{
                "CidrIp": "198.51.100.0/24", "Description":
                f"vendor, secret: {c['secret: in a security group rule description']}"}]}])
        scripts = {
            "EC2 user data with a password":
                f"#!/bin/sh\nexport DB_PASSWORD={c['EC2 user data with a password']}\n",
            "EC2 user data, plain script":
                f"#!/bin/sh\necho {c['EC2 user data, plain script']} > /etc/motd\n",
        }
        for n, (what, script) in enumerate(scripts.items()):
            encoded[what] = base64.b64encode(script.encode()).decode()  # as AWS returns it
            ec2.run_instances(
                ImageId=aws_estate.AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                SubnetId=ids["subnets"]["private"], UserData=script,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [
                    {"Key": "Name", "Value": f"canary-{n}"},
                    {"Key": "db_password", "Value": c["instance tag named like a password"]},
                    {"Key": "backup-key", "Value": c["AWS key in a tag value"]},
                    {"Key": f"password={c['a tag key that is itself a secret']}",
                     "Value": "set"}]}])
        cloud_init = gzip.compress(
            f"#cloud-config\npassword: {c['EC2 user data, gzip cloud-init']}\n".encode(),
            mtime=0)
        encoded["EC2 user data, gzip cloud-init"] = base64.b64encode(cloud_init).decode()
        ec2.run_instances(ImageId=aws_estate.AMI, MinCount=1, MaxCount=1,
                          InstanceType="t3.micro", SubnetId=ids["subnets"]["private"],
                          UserData=cloud_init, TagSpecifications=aws_estate._name("canary-gz"))
        aws_estate.client(url, "lambda").create_function(
            FunctionName="canary-fn", Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/lambda", Handler="index.handler",
            Code={"ZipFile": aws_estate._zip()}, Environment={"Variables": {
                "DB_PASSWORD": c["Lambda variable named like a password"],
                "UPSTREAM": "https://svc:" + c["Lambda variable with URL credentials"]
                            + "@api.example.com/",
                "FEATURE_SEED": c["Lambda variable with an innocent name"]}})
        s3 = aws_estate.client(url, "s3")
        s3.put_bucket_tagging(Bucket="posture-plain-eu", Tagging={"TagSet": [
            {"Key": "api_token", "Value": c["bucket tag named like a token"]}]})
        s3.put_bucket_policy(Bucket="posture-plain-eu", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Sid": "Mirror", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::posture-plain-eu/*", "Condition": {"StringLike": {
                    "aws:Referer": "https://mirror:" + c["credentials in a URL in a bucket "
                                                         "policy"] + "@cdn.example.com/*"}}}]}))
        aws_estate.client(url, "iam", "us-east-1").tag_user(UserName="ci", Tags=[
            {"Key": "github_secret", "Value": c["IAM user tag named like a secret"]}])
        aws_estate.client(url, "rds").create_db_instance(
            DBInstanceIdentifier="db-canary", DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="app", MasterUserPassword=c["RDS master password"],
            AllocatedStorage=20, DBSubnetGroupName="private", PubliclyAccessible=False)
        with AwsProxy(moto, url) as proxy:
            proxy.fail(lambda call: call.service == "rds"
                       and call.operation == "DescribeDBClusters", "AccessDenied", 403,
                       message=f"User: arn:aws:iam::123456789012:user/ci is not authorized "
                               f"(password={c['error body']}, signed with {AWS_SECRET})")
            yield Planted(
                "aws", "aws",
                {"AWS_ENDPOINT_URL": proxy.url, "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
                 "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_SESSION_TOKEN": AWS_SESSION_TOKEN,
                 "AWS_DEFAULT_REGION": "eu-central-1", "AWS_EC2_METADATA_DISABLED": "true",
                 "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE":
                 "/nonexistent", "AWS_RETRY_MODE": "standard"},
                c, {"AWS_ACCESS_KEY_ID": AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                    "AWS_SESSION_TOKEN": AWS_SESSION_TOKEN},
                "rds.describe_db_clusters", proxy, ("--regions", "eu-central-1,eu-west-1"),
                encoded)
    finally:
        moto.stop()


PLANTERS: dict[str, Callable[[], Any]] = {"hetzner": hetzner, "azure": azure, "aws": aws}


@pytest.fixture(params=sorted(PLANTERS))
def planted(request: pytest.FixtureRequest) -> Iterator[Planted]:
    with PLANTERS[request.param]() as p:
        yield p


# --- running the CLI and searching its outputs ------------------------------------------------

RETRY_ENV = {"POSTURE_RETRY_BASE_SECONDS": "0.01", "POSTURE_MAX_RETRIES": "1"}


def posture(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process at -vv: logging reaches stderr only in a real process."""
    return subprocess.run(
        [sys.executable, "-m", "scanner.cli", "-vv", *args], cwd=cwd, text=True,
        capture_output=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), **RETRY_ENV, **env})


def outputs(p: Planted, tmp_path: Path) -> dict[str, str]:
    """Every output of a live scan, its snapshot, a replay and a re-render, by name."""
    snap = tmp_path / "snapshot.json"
    files = {fmt: tmp_path / f"report.{fmt}" for fmt in sorted(FORMATS)}
    specs = [a for fmt, path in files.items() for a in ("--format", f"{fmt}:{path}")]
    texts: dict[str, str] = {}
    scan = posture("scan", p.source, *p.args, "--profile", "default", "--record", str(snap),
                   "--format", "table", *specs, env=p.env, cwd=tmp_path)
    assert scan.returncode in (1, 3), scan.stderr[-3000:]
    texts |= {"scan stdout": scan.stdout, "scan stderr (-vv)": scan.stderr}
    assert "INFO posture" in scan.stderr  # logging reached stderr: the search means something
    texts |= {f"report file {fmt}": path.read_text() for fmt, path in files.items()}
    texts["snapshot"] = snap.read_text()
    results = files["json"]
    for name, args in (("verify --json", ("verify", "--json", str(snap))),
                       ("replay", ("scan", str(snap), "--profile", "default", "--format",
                                   "sarif")),
                       *((f"report {fmt}", ("report", str(results), "--format", fmt))
                         for fmt in sorted(FORMATS))):
        done = posture(*args, env={}, cwd=tmp_path)
        assert done.returncode in (0, 1, 3), (name, done.stderr[-2000:])
        texts[f"{name} stdout"] = done.stdout
        texts[f"{name} stderr (-vv)"] = done.stderr
    return texts


def leaks(texts: dict[str, str], needles: dict[str, str]) -> list[str]:
    return [f"{what!r} in {where}" for what, needle in needles.items()
            for where, text in texts.items() if needle in text]


def test_no_canary_and_no_credential_in_any_output(planted: Planted, tmp_path: Path) -> None:
    texts = outputs(planted, tmp_path)
    needles = {**planted.canaries, **{f"{k} (base64)": v for k, v in planted.encoded.items()},
               **planted.credentials}
    found = leaks(texts, needles)
    assert found == [], "\n".join(found)
    # the scan did meet the secrets and the failure (so the search above is not vacuous)
    snap = json.loads(texts["snapshot"])
    section = snap["sections"][0]
    assert len(section["redacted"]) >= 5, section["redacted"]
    errors = {e["collection"]: e for e in section["errors"]}
    assert errors[planted.failed]["reason"] == "denied"
    assert "<redacted>" in errors[planted.failed]["message"], errors[planted.failed]
    results = json.loads(texts["report file json"])
    assert [e for e in results["errors"] if e["collection"] == planted.failed]


def test_a_rejected_token_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    """An API that quotes the token it rejects: the one-line error names the rejection, not
    the token."""
    with HcloudServer({}, token=HCLOUD_TOKEN) as api:
        api.fail("servers", 401, "unauthorized", message=f"token {HCLOUD_TOKEN} is not valid")
        result = run("scan", "hetzner", env={"HCLOUD_ENDPOINT": api.url,
                                             "HCLOUD_TOKEN": HCLOUD_TOKEN})
    assert result.exit_code == 2 and "token was rejected" in result.stderr, result.stderr
    assert HCLOUD_TOKEN not in result.stderr + result.stdout
    with ArmServer({SUB0: {}}, token=AZURE_TOKEN) as arm:
        arm.fail(f"/subscriptions/{SUB0}", 401, "InvalidAuthenticationToken",
                 message=f"The access token {AZURE_TOKEN} is invalid.")
        result = run("scan", "azure", "--subscription", SUB0, env={
            "POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": AZURE_TOKEN,
            "REQUESTS_CA_BUNDLE": arm.ca_file, **RETRY_ENV})
    assert result.exit_code == 2 and "rejected the token" in result.stderr, result.stderr
    assert AZURE_TOKEN not in result.stderr + result.stdout
    assert AZURE_TOKEN.split(".")[1] not in result.stderr
