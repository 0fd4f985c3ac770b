"""Constants and small pure helpers every family module of the AWS normalizer shares."""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from scanner.raw_types import array, mapping

PROVIDER = "aws"
DEFAULT_CERT_DOC = (
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-"
    "supported-viewer-protocols-ciphers.html (the default *.cloudfront.net certificate "
    "accepts TLSv1)")
FOREVER_DAYS = 36500  # AWS Backup rule without DeleteAfterDays: kept until deleted
PROTO = {"-1": "*", "all": "*", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp",
         "icmp": "icmp", "1": "icmp", "icmpv6": "icmp", "58": "icmp"}
TLS = {"SSLv3": "0.3", "TLSv1": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}
CF_TLS = {"SSLv3": "0.3", "TLSv1": "1.0", "TLSv1_2016": "1.0", "TLSv1.1_2016": "1.1",
          "TLSv1.2_2018": "1.2", "TLSv1.2_2019": "1.2", "TLSv1.2_2021": "1.2",
          "TLSv1.2_2025": "1.2", "TLSv1.3_2025": "1.3"}
# ELBv2 ProtocolEnum (botocore elbv2 service model): HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP,
# GENEVE, QUIC, TCP_QUIC. QUIC is always encrypted with TLS 1.3 or later (RFC 9001, 4.2:
# "Clients MUST NOT offer TLS versions older than 1.3"): a `tls` listener whose range the
# RFC states (QUIC_TLS). A TCP_QUIC listener also passes plain TCP through. A protocol not
# listed here (one AWS adds later) is read as an opaque pass-through ("tcp": whether it is
# encrypted is not visible), never as an encrypted listener.
LISTENER_PROTO = {"HTTP": "http", "HTTPS": "https", "TCP": "tcp", "TLS": "tls",
                  "UDP": "tcp", "TCP_UDP": "tcp", "GENEVE": "tcp", "QUIC": "tls",
                  "TCP_QUIC": "tcp"}
# The transport protocols of the listeners that do not carry TCP alone (the listener's
# `transport`; the others carry TCP): UDP and QUIC (RFC 9000, over UDP) listeners forward
# UDP, TCP_UDP and TCP_QUIC both ("To support both TCP and UDP on the same port, create a
# TCP_UDP listener", https://docs.aws.amazon.com/elasticloadbalancing/latest/network/
# load-balancer-listeners.html).
LISTENER_TRANSPORT = {"UDP": ["udp"], "QUIC": ["udp"], "TCP_UDP": ["tcp", "udp"],
                      "TCP_QUIC": ["tcp", "udp"]}


def replica_redundancy(region: str | None, dests: list[str]) -> str | None:
    """The redundancy of a bucket whose replication copies to `dests` (regions, "unknown"
    where a destination's is not known): a copy in a region known to differ is geo; a copy
    whose region (or the bucket's) is unknown may be in the same region: not known, never
    geo; no copy: zone (S3 stores across availability zones)."""
    known = [d for d in dests if d != "unknown"]
    if region and any(d != region for d in known):
        return "geo"
    if dests and (not region or len(known) < len(dests)):
        return None
    return "zone"


def listener_transports(protocol: object) -> list[str]:
    """The transport protocols a listener of this protocol carries: LISTENER_TRANSPORT's,
    TCP for every other (and for a protocol not given)."""
    return list(LISTENER_TRANSPORT.get(str(protocol).upper(), ["tcp"]))
QUIC_TLS = ("1.3", "https://www.rfc-editor.org/rfc/rfc9001#section-4.2 (QUIC uses TLS 1.3 "
            "or later)")
ZONES = {"eu": "EU", "us": "US", "apac": "APAC", "us-gov": "US", "jp": "JP", "au": "AU",
         "ca": "CA"}
ADMIN_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")


# --- small helpers -----------------------------------------------------------------------


# Region name prefix -> ARN partition, most specific first (botocore data/partitions.json,
# `regionRegex` of each partition: aws-cn ^cn-, aws-us-gov ^us-gov-, aws-iso ^us-iso-,
# aws-iso-b ^us-isob-, aws-iso-e ^eu-isoe-, aws-iso-f ^us-isof-, aws-eusc ^eusc-(de)-, the
# AWS European Sovereign Cloud). Every other region is in `aws`.
PARTITIONS = (("us-isob-", "aws-iso-b"), ("us-isof-", "aws-iso-f"), ("us-iso-", "aws-iso"),
              ("eu-isoe-", "aws-iso-e"), ("us-gov-", "aws-us-gov"), ("cn-", "aws-cn"),
              ("eusc-", "aws-eusc"))


def partition(region: str | None) -> str:
    """The ARN partition of a region: resources AWS names in another partition than `aws`
    carry it in their ARNs (arn:aws-eusc:ec2:eusc-de-east-1:...), and ARNs built here must
    be the same strings (AWS Backup selections, Terraform state ARNs match them)."""
    for prefix, name in PARTITIONS:
        if region and region.startswith(prefix):
            return name
    return "aws"


def parse_time(value: Any) -> datetime | None:
    """A timestamp as AWS gives it: ISO 8601 (the query and REST protocols, and what the
    collector records) or epoch seconds, the wire format of the JSON protocols (botocore
    service models: `timestampFormat` unixTimestamp) that the AWS CLI prints as given
    (aws-cli awscli/examples/acm/describe-certificate.rst: "NotAfter": 1478433600.0)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, Mapping) and value.get("__class__") == "datetime":
        # Cloud Custodian's placebo recordings (tests/data/placebo/**) keep botocore's
        # datetimes as {"__class__": "datetime", "year": ..., "microsecond": ...}, in UTC.
        try:
            year, month, day, hour, minute, second, micro = (int(value.get(k, 0)) for k in (
                "year", "month", "day", "hour", "minute", "second", "microsecond"))
            return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
        except (TypeError, ValueError):
            return None
    if not value:
        return None
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def iso(value: Any) -> str | None:
    t = parse_time(value)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


_arr = array  # the typed readers shared by every provider (scanner/raw_types.py)
_obj = mapping


def tags(obj: Mapping[str, Any], key: str = "Tags") -> dict[str, str]:
    raw = obj.get(key) or obj.get("TagList") or obj.get("TagSet") or []
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(t.get("Key")): str(t.get("Value", "")) for t in raw if isinstance(t, Mapping)}


def host_cidr(ip: str) -> str:
    return ip if "/" in ip else (f"{ip}/128" if ":" in ip else f"{ip}/32")


def region_of_arn(arn: str) -> str | None:
    parts = str(arn).split(":")
    return parts[3] or None if len(parts) > 3 else None


def listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def policy_document(doc: Any) -> dict[str, Any] | None:
    """A policy document (JSON text, URL-encoded or not, or an object); None when it cannot
    be read: not JSON, or nested deeper than the decoder goes (IAM caps a policy at a few
    kilobytes; a document that is not a policy is not read as "no statement")."""
    if isinstance(doc, str):
        try:
            loaded = json.loads(urllib.parse.unquote(doc))
        except (ValueError, RecursionError):
            return None
        return loaded if isinstance(loaded, dict) else None
    return dict(doc) if isinstance(doc, Mapping) else None


def _all_of_iam(pattern: Any) -> bool:
    """Whether an action pattern covers every IAM action: `*`, `*:*`, `iam:*` in any case
    ("The prefix and the action name are case insensitive. For example, iam:ListAccessKeys
    is the same as IAM:listaccesskeys": IAM User Guide, "IAM JSON policy elements:
    Action")."""
    service, sep, action = str(pattern).strip().lower().partition(":")
    if not sep:
        return service != "" and set(service) == {"*"}
    return fnmatch.fnmatchcase("iam", service) and action != "" and set(action) == {"*"}


def _every_resource(pattern: Any) -> bool:
    """Whether a Resource pattern matches every resource: `*`, or an ARN whose every
    element after `arn:` is a wildcard (`arn:aws:*:*:*:*`, `arn:aws:*`: `*` matches any
    run of characters, colons included: IAM User Guide, "IAM JSON policy elements:
    Resource", wildcards in ARNs)."""
    parts = str(pattern).strip().split(":")
    if len(parts) == 1:
        return parts[0] != "" and set(parts[0]) == {"*"}
    return len(parts) >= 3 and parts[0] == "arn" and parts[1] != "" and all(
        p != "" and set(p) == {"*"} for p in parts[2:])


def grants_admin(doc: Any) -> bool | None:
    """Whether a policy document holds a wildcard admin grant (IAM-02), None when it cannot
    be read: `admin_statement`'s verdict."""
    return admin_statement(doc)[0]


def admin_statement(doc: Any) -> tuple[bool | None, str]:
    """(whether a policy document holds a wildcard admin grant (IAM-02), None when it cannot
    be read (a document that is not JSON: GetAccountAuthorizationDetails returns them
    URL-encoded JSON, RFC 3986); the first statement that makes it one, described). A grant
    is an Allow on every resource (`Resource: *` or an ARN of wildcards only, or
    `NotResource` not excepting every resource) of
    - every action (`*`, `*:*`), or every IAM action (`iam:*`, in any case): IAM's own
      actions let the holder attach AdministratorAccess to itself, so full IAM is admin;
    - everything but some actions (`NotAction` with Allow: "allows all actions ... except
      the actions specified", IAM User Guide, "NotAction with Allow"), unless IAM as a
      whole is among the exceptions (the AWS managed PowerUserAccess excepts iam:*).
    A `Condition` (MFA present, source IP) narrows when the grant applies, not what it
    grants: still a wildcard admin grant."""
    parsed = policy_document(doc)
    if parsed is None:
        return None, ""
    statements = parsed.get("Statement")
    if not isinstance(statements, Mapping | list):  # "Statement": an object or an array
        return None, ""
    for i, st in enumerate(listify(statements), 1):
        if not isinstance(st, Mapping) or st.get("Effect") != "Allow":
            continue
        # NotResource: every resource but those listed (IAM User Guide, "IAM JSON policy
        # elements: NotResource"): all actions on all but one bucket is still `*:*`.
        if not (any(_every_resource(r) for r in listify(st.get("Resource")))
                or ("NotResource" in st
                    and not any(_every_resource(r) for r in listify(st.get("NotResource"))))):
            continue
        sid = f" ({st['Sid']})" if isinstance(st.get("Sid"), str) and st["Sid"] else ""
        where = ("Resource " + json.dumps(st["Resource"], default=str) if "Resource" in st
                 else "NotResource " + json.dumps(st.get("NotResource"), default=str))
        if any(_all_of_iam(a) for a in listify(st.get("Action"))):
            return True, (f"statement {i}{sid}: Allow Action "
                          f"{json.dumps(st.get('Action'), default=str)} on {where}")
        if "NotAction" in st and not any(_all_of_iam(a) for a in listify(st.get("NotAction"))):
            return True, (f"statement {i}{sid}: Allow NotAction "
                          f"{json.dumps(st.get('NotAction'), default=str)} on {where}")
    return False, ""


def implicit(native_type: str, obj: Mapping[str, Any], account: str) -> str | None:
    """Why a resource exists without a declaration of its own (the `implicit` property, read
    by INV-01), or None: AWS creates a default VPC in every region with default subnets, and
    a default security group and network ACL with every VPC (Terraform adopts them with
    aws_default_*, it never creates them); AWS-managed KMS keys (alias/aws/...) appear when
    a service first uses them; AWS Backup creates its `Default` vault; a volume whose
    attachment is DeleteOnTermination was created by its instance's block device mapping
    (aws_instance's root_block_device/ebs_block_device); an organization trail belongs to
    the management account that manages it."""
    if native_type == "vpc" and obj.get("IsDefault"):
        return "the default VPC AWS creates in every region"
    if native_type == "subnet" and obj.get("DefaultForAz"):
        return "a default subnet AWS creates in the default VPC"
    if native_type == "security_group" and obj.get("GroupName") == "default":
        return f"the default security group AWS creates with VPC {obj.get('VpcId')}"
    if native_type == "network_acl" and obj.get("IsDefault"):
        return f"the default network ACL AWS creates with VPC {obj.get('VpcId')}"
    if native_type == "kms_key" and obj.get("KeyManager") == "AWS":
        return "an AWS-managed key: AWS creates it when a service first uses it"
    if native_type == "backup_vault" and obj.get("BackupVaultName") in (
            "Default", "aws/efs/automatic-backup-vault"):
        return "a vault AWS Backup creates itself"
    if native_type == "ebs_volume":
        launched = [a.get("InstanceId") for a in _arr(obj.get("Attachments"), "Attachments")
                    if isinstance(a, Mapping) and a.get("DeleteOnTermination")]
        if launched:
            return (f"created with instance {launched[0]} by its block device mapping "
                    "(deleted with it)")
    if native_type == "cloudtrail_trail":
        owner = str(obj.get("TrailARN") or "").split(":")
        if len(owner) > 4 and owner[4] and owner[4] != account:
            return f"an organization trail of account {owner[4]}, managed there"
    return None

