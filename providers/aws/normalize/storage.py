"""Object storage: S3 buckets."""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from providers.aws.apis import BY_NAME
from providers.aws.normalize.common import (
    PARTITIONS,
    _arr,
    _obj,
    listify,
    partition,
    policy_document,
    replica_redundancy,
    tags,
)
from providers.aws.normalize.context import Build
from scanner.model import Kind, RelationType, Unread

# What a request for an object over plain HTTP is: the object reads and writes a deny must
# cover for the bucket to serve no plaintext (TLS-02).
PLAIN_HTTP_ACTIONS = ("s3:GetObject", "s3:PutObject")


def _matches(patterns: Any, value: str) -> bool:
    """An IAM policy element (a string or a list) matching `value`. IAM: "You can use
    wildcards (* or ?)"; action names are case-insensitive (IAM User Guide, "IAM JSON policy
    elements: Action"), and so are the ARNs' service parts compared here."""
    return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in listify(patterns))


def _covers(st: Mapping[str, Any], element: str, value: str) -> bool:
    """Does the statement's `element` (Action/Resource) or its Not- form apply to `value`?"""
    if element in st:
        return _matches(st[element], value)
    if f"Not{element}" in st:
        return not _matches(st[f"Not{element}"], value)
    return False


def _everyone(st: Mapping[str, Any]) -> bool:
    """Principal `*` or {"AWS": "*"} (IAM User Guide, "AWS JSON policy elements: Principal",
    anonymous users: the two are equivalent); a deny naming some principals, or excepting
    some (NotPrincipal), leaves every other caller free to use plain HTTP."""
    if "NotPrincipal" in st:
        return False
    principal = st.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and "*" in [str(p) for p in listify(
        principal.get("AWS"))]


def _denies_insecure(st: Mapping[str, Any]) -> bool:
    """A condition true for every plain-HTTP request: `Bool` (or `BoolIfExists`: the key is
    always present, IAM global condition keys, aws:SecureTransport) on aws:SecureTransport
    with `false` among its values (several values of one key are ORed: IAM User Guide,
    "Creating a condition with multiple keys or values"). Operator and key names are
    case-insensitive; the value is a string or a JSON boolean."""
    for op, cond in _obj(st.get("Condition"), "Condition").items():
        if str(op).lower() not in ("bool", "boolifexists") or not isinstance(cond, Mapping):
            continue
        for key, val in cond.items():
            if str(key).lower() == "aws:securetransport" and any(
                    str(v).lower() == "false" for v in listify(val)):
                return True
    return False


def denies_plain_http(policy: Any, bucket: str | None = None) -> bool:
    """Does the bucket policy refuse plain HTTP to everyone, for reading and writing the
    bucket's objects? The form AWS documents ("Restrict access to only HTTPS requests",
    Amazon S3 User Guide, bucket policy examples; AWS Config rule s3-bucket-ssl-requests-
    only): Effect Deny, Principal "*", Action "s3:*", Resource the bucket and `bucket/*`,
    Condition {"Bool": {"aws:SecureTransport": "false"}}. A deny scoped to some principals,
    to some actions (s3:PutObject only still serves GetObject in plain HTTP) or to
    resources that are not the objects refuses nothing to the others. Every statement
    counts, each value of a condition key too. `bucket` None (a plan's policy whose bucket
    name is not known): any object resource (`.../*`) counts."""
    doc = policy_document(policy)
    if not doc:
        return False
    objects = f"arn:aws:s3:::{bucket}/any-object-key" if bucket else None
    needed = set(PLAIN_HTTP_ACTIONS)
    for st in listify(doc.get("Statement")):
        if not isinstance(st, Mapping) or st.get("Effect") != "Deny" or not _everyone(st) \
                or not _denies_insecure(st):
            continue
        if objects is not None:
            # any partition: arn:aws, arn:aws-cn, arn:aws-us-gov name the same bucket
            on_objects = any(_covers(st, "Resource", objects.replace("arn:aws:", f"arn:{p}:"))
                             for p in ("aws", *(name for _, name in PARTITIONS)))
        else:
            on_objects = any(str(r) == "*" or str(r).endswith("/*")
                             for r in listify(st.get("Resource")))
        if on_objects:
            needed -= {a for a in needed if _covers(st, "Action", a)}
    return not needed


PER_BUCKET = ("s3.get_bucket_location", "s3.get_bucket_encryption",
              "s3.get_bucket_replication", "s3.get_public_access_block",
              "s3.get_bucket_policy", "s3.get_bucket_tagging")


def buckets(ctx: Build) -> None:
    per: dict[str, dict[str, tuple[str, dict[str, Any]]]] = defaultdict(dict)
    failed: dict[str, set[str]] = defaultdict(set)  # call -> buckets whose read failed
    for e in ctx.s.errors:
        if e.get("resource"):
            failed[str(e["collection"])].add(str(e["resource"]))
    for name in PER_BUCKET:
        for where, env in ctx.regional(name):
            bucket = str(_obj(env.get("request"), "request").get("Bucket"))
            per[bucket][name] = (where, env)
    from providers.aws.collect import s3_region

    location: dict[str, str] = {}
    for bucket, calls in per.items():
        env = calls.get("s3.get_bucket_location", ("", {}))[1]
        if "response" in env:
            location[bucket] = s3_region(env["response"].get("LocationConstraint"))
    for _, b in ctx.regional("s3.list_buckets"):
        name = str(b["Name"])
        calls = per.get(name, {})
        region = location.get(name) or str(b.get("BucketRegion") or "") or None
        arn = f"arn:{partition(region)}:s3:::{name}"
        tag_env = calls.get("s3.get_bucket_tagging", ("", {}))[1]
        labels = tags(_obj(tag_env.get("response"), "response"), "TagSet")
        props: dict[str, Any] = {}
        enc = calls.get("s3.get_bucket_encryption")
        if enc is not None:
            config = _obj(_obj(enc[1].get("response"), "response").get(
                "ServerSideEncryptionConfiguration"), "ServerSideEncryptionConfiguration")
            rules = _arr(config.get("Rules"), "Rules")
            algos = [_obj(r.get("ApplyServerSideEncryptionByDefault"),
                          "ApplyServerSideEncryptionByDefault").get("SSEAlgorithm") for r in rules]
            props["encrypted"] = bool([a for a in algos if a])
            props["encryption_evidence"] = "config"
            for r in rules:
                key = _obj(r.get("ApplyServerSideEncryptionByDefault"),
                           "ApplyServerSideEncryptionByDefault").get("KMSMasterKeyID")
                if key and str(key).startswith("arn:"):
                    ctx.relate(arn, str(key), RelationType.ENCRYPTED_WITH)
        elif "s3.get_bucket_encryption" in ctx.attempted:
            props["encrypted"] = None
            props["encryption_evidence"] = "config"
        rep = calls.get("s3.get_bucket_replication")
        if rep is not None:
            dests: list[str] = []
            rules = _arr(_obj(_obj(rep[1].get("response"), "response").get(
                "ReplicationConfiguration"), "ReplicationConfiguration").get("Rules"), "Rules")
            for rule in rules:
                if rule.get("Status") != "Enabled":
                    continue
                dest = str(_obj(rule.get("Destination"), "Destination").get("Bucket", ""))
                dest_name = dest.split(":::")[-1]
                dest_region = location.get(dest_name) or "unknown"
                dests.append(dest_region)
                ctx.relate(arn, f"arn:{partition(region)}:s3:::{dest_name}",
                           RelationType.REPLICATES_TO, region=dest_region)
            props["replica_regions"] = sorted(set(dests))
            # a destination bucket of another account is not located: its copy may be in
            # this bucket's region (as a plan's replication is read)
            props["backup_redundancy"] = replica_redundancy(region, dests)
        elif "s3.get_bucket_replication" in ctx.attempted:
            props["backup_redundancy"] = None  # not read for this bucket: unknown
        # Every bucket answers on its public S3 endpoint (https:// and http://); whether a
        # request is allowed is the bucket policy's and the access block's business. Plain
        # HTTP is refused only by a policy denying aws:SecureTransport=false (AWS: "Enforce
        # encryption of data in transit", S3 security best practices). No policy: accepted.
        props["public_endpoint"] = True
        pol = calls.get("s3.get_bucket_policy")
        if pol is not None:
            policy = _obj(pol[1].get("response"), "response").get("Policy")
            if policy is not None and policy_document(policy) is None:  # not read as none
                raise TypeError(f"Policy: expected a JSON policy document, got "
                                f"{type(policy).__name__}")
            props["https_only"] = denies_plain_http(policy, name)
        elif "s3.get_bucket_policy" in ctx.attempted:
            props["https_only"] = None  # the policy could not be read
        # A per-bucket read with no answer and no error for this bucket (a snapshot that
        # lacks it) leaves what it decides unknown, never "not configured".
        for call in PER_BUCKET:
            if call in ctx.attempted and call not in calls and name not in failed.get(call, ()):
                api = BY_NAME[call]
                ctx.mark(arn, sorted(api.affects.get(Kind.BUCKET, ())), Unread(
                    f"{call} for bucket {name}: no answer recorded", opens=api.opens,
                    closes=api.closes))
        ctx.add(Kind.BUCKET, arn, "s3_bucket", b, props, region, name, labels)
