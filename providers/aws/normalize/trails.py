"""Audit logs: CloudTrail trails and how long their logs are kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.aws.normalize.common import _arr, _obj
from providers.aws.normalize.context import Build
from scanner.model import Kind


def trails(ctx: Build) -> None:
    status = {}
    for _, env in ctx.regional("cloudtrail.get_trail_status"):
        if "response" in env:
            status[str(_obj(env.get("request"), "request").get("Name"))] = env["response"]
    for region, t in ctx.regional("cloudtrail.describe_trails"):
        arn = str(t.get("TrailARN") or ctx.arn("cloudtrail", region, f"trail/{t['Name']}"))
        st = status.get(arn) or status.get(str(t.get("Name")))
        ctx.add(Kind.LOG_TRAIL, arn, "cloudtrail_trail", t, {
            "multi_region": bool(t.get("IsMultiRegionTrail")),
            "logging_enabled": bool(st.get("IsLogging")) if st else None,
            "integrity_validation": bool(t.get("LogFileValidationEnabled")),
            "retention_days": trail_retention(ctx, t),
        }, t.get("HomeRegion") or region, str(t.get("Name")))


def trail_retention(ctx: Build, trail: Mapping[str, Any]) -> int | None:
    """How long a trail's logs are kept (0: forever; None: unknown). A trail always
    writes to its S3 bucket and may also deliver to a CloudWatch Logs group: the logs
    are kept as long as the longest-lived of these copies.
    - S3: objects under the trail's prefix expire after the fewest `Expiration.Days` of
      the enabled lifecycle rules that can apply to them; no such rule (or no lifecycle
      configuration at all) keeps them forever. A bucket this account does not list
      (e.g. an organization's central log bucket), or a rule expiring on a fixed date:
      unknown.
    - CloudWatch Logs: the group's `retentionInDays`; none set is "never expire"."""
    kept: list[int | None] = [bucket_retention(ctx, trail)]
    group_arn = str(trail.get("CloudWatchLogsLogGroupArn") or "")
    if group_arn:
        kept.append(log_group_retention(ctx, group_arn))
    if 0 in kept:
        return 0
    if None in kept:
        return None
    return max(k for k in kept if k is not None)


def bucket_retention(ctx: Build, trail: Mapping[str, Any]) -> int | None:
    bucket = str(trail.get("S3BucketName") or "")
    envs = [e for _, e in ctx.regional("s3.get_bucket_lifecycle_configuration")
            if _obj(e.get("request"), "request").get("Bucket") == bucket]
    if not bucket or not envs:
        return None
    env = envs[0]
    if "error" in env:  # NoSuchLifecycleConfiguration: nothing ever expires
        return 0
    prefix = str(trail.get("S3KeyPrefix") or "").strip("/")
    logs = f"{prefix}/AWSLogs/" if prefix else "AWSLogs/"
    days: list[int] = []
    for rule in _arr(_obj(env.get("response"), "response").get("Rules"), "Rules"):
        if str(rule.get("Status")) != "Enabled":
            continue
        flt = _obj(rule.get("Filter"), "Filter")
        if flt.get("Tag") or _arr(_obj(flt.get("And"), "And").get("Tags"), "Tags"):
            # A tag filter selects only objects carrying that tag (S3 User Guide, lifecycle
            # configuration elements, Filter); CloudTrail writes its log files untagged.
            continue
        rule_prefix = str(flt.get("Prefix") or _obj(flt.get("And"), "And").get("Prefix")
                          or rule.get("Prefix") or "")
        if not (logs.startswith(rule_prefix) or rule_prefix.startswith(logs)):
            continue  # the rule applies to other objects of the bucket
        expiration = _obj(rule.get("Expiration"), "Expiration")
        if expiration.get("Date"):
            return None
        if expiration.get("Days") is not None:
            days.append(int(expiration["Days"]))
    return min(days) if days else 0


def log_group_retention(ctx: Build, group_arn: str) -> int | None:
    wanted = group_arn.removesuffix(":*")
    for _, group in ctx.regional("logs.describe_log_groups"):
        if str(group.get("arn") or "").removesuffix(":*") == wanted:
            days = group.get("retentionInDays")
            return int(days) if days is not None else 0
    return None
