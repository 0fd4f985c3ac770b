"""Organisations for the fleet tests, on the local emulators:

- AWS: an Organization seeded in moto through the real Organizations API (OUs, member
  accounts), a bucket in each member account created through a role assumed into it (moto
  keeps a backend per account id);
- Azure: the local ARM server with the seed subscriptions and a management group
  (`descendants`, paged like ARM);
- Hetzner: two projects with two tokens on one local endpoint, each token seeing its own
  project (as on the real API, where a token belongs to one project).
"""

from __future__ import annotations

import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field, replace
from http.server import ThreadingHTTPServer
from typing import Any

import boto3

from tests.aws_proxy import AwsProxy, Call
from tests.azure_arm_server import ArmServer
from tests.hcloud_server import HcloudServer, _Handler

MANAGEMENT = "123456789012"  # moto's default account: the credentials "testing"
ROLE = "PostureReadOnly"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "eu-central-1", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
           "AWS_RETRY_MODE": "standard"}

# A profile whose one verifiable claim is data residency (RES-01): each account's bucket
# decides it, so the fleet's status shows the roll-up rule.
PROFILE = """
[profile]
name = "fleet-test"
[parameters]
jurisdictions = ["DE"]
[[claims]]
id = "residency"
quote = "All customer data is stored in Germany."
checks = ["RES-01"]
"""


@dataclass
class AwsOrg:
    url: str
    root: str
    ous: dict[str, str]  # name -> OU id
    accounts: dict[str, str]  # name -> account id
    suspended: str = ""
    buckets: dict[str, str] = field(default_factory=dict)  # account id -> region


def client(url: str, service: str, region: str = "us-east-1", **creds: str) -> Any:
    keys = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, region_name=region, endpoint_url=url, **keys)


def assumed(url: str, account: str, service: str, region: str) -> Any:
    creds = client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seed")["Credentials"]
    return client(url, service, region, aws_access_key_id=creds["AccessKeyId"],
                  aws_secret_access_key=creds["SecretAccessKey"],
                  aws_session_token=creds["SessionToken"])


def build_org(url: str, buckets: dict[str, str]) -> AwsOrg:
    """An Organization: OUs prod and sandbox, members prod-a, prod-b (prod), sandbox-a
    (sandbox), closed-a (closed: suspended); `buckets`: member name -> bucket region."""
    org = client(url, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ous = {name: org.create_organizational_unit(ParentId=root, Name=name)
           ["OrganizationalUnit"]["Id"] for name in ("prod", "sandbox")}
    accounts: dict[str, str] = {}
    for name, ou in (("prod-a", "prod"), ("prod-b", "prod"), ("sandbox-a", "sandbox"),
                     ("closed-a", "sandbox")):
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")
        ident = status["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=ident, SourceParentId=root, DestinationParentId=ous[ou])
        accounts[name] = ident
    org.close_account(AccountId=accounts["closed-a"])
    made = AwsOrg(url, root, ous, accounts, suspended=accounts["closed-a"])
    for name, region in buckets.items():
        s3 = assumed(url, accounts[name], "s3", region)
        config = {} if region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=f"data-{name}", **config)
        made.buckets[accounts[name]] = region
    return made


class ArmWithGroups(ArmServer):
    """The local ARM server plus `managementGroups/{id}/descendants` (api-version 2020-05-01
    response shape: subscriptions with type `/subscriptions` and their id as `name`)."""

    def __init__(self, sections: Any, groups: dict[str, list[str]], **kw: Any) -> None:
        super().__init__(sections, **kw)
        self.groups = groups  # group id -> subscription ids below it (any depth)

    def route(self, path: str) -> tuple[int, Any]:
        parts = path.rstrip("/").split("/")
        if (len(parts) == 6 and parts[1].lower() == "providers"
                and parts[2].lower() == "microsoft.management"
                and parts[5].lower() == "descendants"):
            group = parts[4]
            if group not in self.groups:
                return 404, {"error": {"code": "NotFound",
                                       "message": f"'{group}' not found"}}
            items: list[dict[str, Any]] = [{
                "id": f"/providers/Microsoft.Management/managementGroups/{group}-child",
                "type": "Microsoft.Management/managementGroups", "name": f"{group}-child",
                "properties": {"displayName": "child group", "parent": {
                    "id": f"/providers/Microsoft.Management/managementGroups/{group}"}}}]
            items += [{"id": f"/subscriptions/{sub}", "type": "/subscriptions", "name": sub,
                       "properties": {"displayName": f"sub {sub[:8]}", "parent": {
                           "id": f"/providers/Microsoft.Management/managementGroups/{group}"}}}
                      for sub in self.groups[group]]
            return 200, {"list": items}
        return super().route(path)


class HetznerProjects:
    """Several projects on one endpoint: the request's token picks the project."""

    def __init__(self, projects: dict[str, tuple[str, dict[str, list[dict[str, Any]]]]]):
        self.servers = {token: HcloudServer(data, token=token)
                        for token, data in projects.values()}
        self.delay: dict[str, float] = {}  # token -> seconds added to each of its requests
        servers, delay = self.servers, self.delay

        class Router(_Handler):
            def _handle(self) -> None:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                self.api = servers.get(token) or next(iter(servers.values()))
                time.sleep(delay.get(token, 0.0))
                super()._handle()

            do_GET = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Router)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> HetznerProjects:
        import threading

        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_redis(port: int, folder: str | None = None) -> subprocess.Popen[bytes]:
    """Debian's redis-server on loopback; with `folder`, persistent (append-only file, each
    write synced): what it held survives a restart."""
    persist = (["--appendonly", "yes", "--appendfsync", "always", "--dir", folder]
               if folder else ["--appendonly", "no"])
    proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                             "--save", "", *persist],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket

    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


class OrgProxy(AwsProxy):
    """The recording AWS proxy, whose calls also name the role an AssumeRole asks for (so a
    test can refuse one account's role)."""

    def describe(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Call:
        call = super().describe(method, path, headers, body)
        if call.action == "AssumeRole" and body:
            role = urllib.parse.parse_qs(body.decode()).get("RoleArn", [""])[0]
            return replace(call, path=f"{call.path}#{role}")
        return call
