"""Audit logs: CloudTrail trails, what they record (event selectors) and how long their
logs are kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.aws.normalize.common import _arr, _obj
from providers.aws.normalize.context import Build
from scanner.model import Kind

SELECTORS = "cloudtrail.get_event_selectors"


def trails(ctx: Build) -> None:
    status = {}
    for _, env in ctx.regional("cloudtrail.get_trail_status"):
        if "response" in env:
            status[str(_obj(env.get("request"), "request").get("Name"))] = env["response"]
    # one answer per trail, read once (from its home region; the collector's
    # _after_cloudtrail_describe_trails): found by the ARN or name it was asked for
    selectors = {}
    for _, env in ctx.regional(SELECTORS):
        if "response" in env:
            selectors[str(_obj(env.get("request"), "request").get("TrailName"))] = \
                _obj(env["response"], "response")
    for region, t in ctx.regional("cloudtrail.describe_trails"):
        arn = str(t.get("TrailARN") or ctx.arn("cloudtrail", region, f"trail/{t['Name']}"))
        st = status.get(arn) or status.get(str(t.get("Name")))
        answer = selectors.get(arn) or selectors.get(str(t.get("Name")))
        if answer is not None:
            writes = management_writes(answer.get("EventSelectors"),
                                       answer.get("AdvancedEventSelectors"))
        elif SELECTORS not in ctx.attempted:
            # a snapshot recorded by an older posture, or a scan that did not read them:
            # what the trail records is unknown (LOG-01 cannot pass on it)
            writes = ManagementWrites(None, f"{SELECTORS} was not collected")
        else:
            writes = ManagementWrites(None, "its event selectors could not be read")
        ctx.add(Kind.LOG_TRAIL, arn, "cloudtrail_trail", t, {
            "multi_region": bool(t.get("IsMultiRegionTrail")),
            "logging_enabled": bool(st.get("IsLogging")) if st else None,
            "integrity_validation": bool(t.get("LogFileValidationEnabled")),
            # CloudTrail User Guide, "Enabling and disabling global service event logging":
            # IAM, STS and CloudFront events are recorded in us-east-1 only for trails
            # that include global service events (DescribeTrails always answers the flag;
            # CreateTrail's default is true)
            "global_service_events": t.get("IncludeGlobalServiceEvents") is not False,
            **management_props(writes),
            "retention_days": trail_retention(ctx, t),
        }, t.get("HomeRegion") or region, str(t.get("Name")))


def management_props(writes: ManagementWrites) -> dict[str, Any]:
    """The LOG_TRAIL properties of what a trail records (LOG-01), shared with the
    Terraform plan reading (providers/terraform/aws.py)."""
    return {"management_writes": writes.recorded, "management_events": writes.why,
            "excluded_event_sources": list(writes.excluded)}


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


# --- what a trail records: its event selectors (cloudtrail.get_event_selectors) ---------
# AWS CloudTrail API Reference, EventSelector: "By default, trails created without specific
# event selectors will be configured to log all read and write management events, and no
# data events. [...] For each trail, if the event matches any event selector, the trail
# processes and logs the event." `ReadWriteType` defaults to All, `IncludeManagementEvents`
# to true. "You cannot apply both event selectors and advanced event selectors to a trail."
# Management events are the control-plane operations ("Logging management events", CloudTrail
# User Guide); a write event is one that modifies (or may modify) resources, so a trail
# records control-plane changes only when some selector includes management write events.
READ_WRITE_TYPES = frozenset({"All", "WriteOnly", "ReadOnly"})
# The only event sources a trail can leave out of its management events
# (EventSelector.ExcludeManagementEventSources: "the list can be empty (disables the filter),
# or it can filter out AWS Key Management Service or Amazon RDS Data API events";
# AdvancedFieldSelector eventSource: "NotEquals kms.amazonaws.com or NotEquals
# rdsdata.amazonaws.com"). KMS: CloudTrail logs "operations that manage KMS keys, such as
# CreateKey and PutKeyPolicy" as kms.amazonaws.com events (KMS Developer Guide, "Logging AWS
# KMS API calls with AWS CloudTrail"): a trail leaving them out misses control-plane changes
# (key policies, key deletion) and LOG-01 fails. The RDS Data API runs SQL statements on a
# database (data plane, not a change to the account's resources): a trail leaving it out
# still records every control-plane change; the exclusion is named in the evidence. (AWS
# Config's multi-region-cloudtrail-enabled rule is stricter and rejects either exclusion.)
CONTROL_PLANE_SOURCES = frozenset({"kms.amazonaws.com"})
DATA_PLANE_SOURCES = frozenset({"rdsdata.amazonaws.com"})
# AdvancedFieldSelector operators (CloudTrail API Reference); the conditions of one field
# selector, and the field selectors of one advanced event selector, must all match.
OPERATORS = ("Equals", "NotEquals", "StartsWith", "NotStartsWith", "EndsWith", "NotEndsWith")
# AdvancedEventSelector: "Supported CloudTrail event record fields for management events:
# eventCategory (required), eventSource, readOnly"
MANAGEMENT_FIELDS = frozenset({"eventCategory", "readOnly", "eventSource"})


@dataclass(frozen=True, slots=True)
class ManagementWrites:
    """Whether a trail records every control-plane change (None: not known) and why."""

    recorded: bool | None
    why: str
    excluded: tuple[str, ...] = ()  # event sources left out of its management events


class Unreadable(ValueError):
    """A selector posture cannot interpret: what it records is unknown, never a pass."""


def management_writes(basic: Any, advanced: Any) -> ManagementWrites:
    """What a trail's GetEventSelectors answer says of its management write events."""
    try:
        basic_list = _selector_list(basic, "EventSelectors")
        advanced_list = _selector_list(advanced, "AdvancedEventSelectors")
        if basic_list and advanced_list:
            raise Unreadable("both event selectors and advanced event selectors, which AWS "
                             "does not allow on one trail")
        if not basic_list and not advanced_list:
            return ManagementWrites(True, "no event selectors: all read and write management "
                                          "events (AWS's documented default)")
        if basic_list:
            covering = [c for c in map(_basic_covers, basic_list) if c is not None]
        else:
            covering = [c for c in map(_advanced_covers, advanced_list) if c is not None]
    except Unreadable as exc:
        return ManagementWrites(None, f"event selectors not understood: {exc}")
    if not covering:
        return ManagementWrites(False, "no event selector includes management write events")
    # selectors are alternatives: a source is left out only when every covering one leaves
    # it out
    excluded = tuple(sorted(frozenset.intersection(*covering)))
    lost = sorted(set(excluded) & CONTROL_PLANE_SOURCES)
    if lost:
        return ManagementWrites(False, "management events of " + ", ".join(lost)
                                + " excluded (control-plane changes not recorded)", excluded)
    return ManagementWrites(True, "management write events recorded" + (
        " (excluded: " + ", ".join(excluded) + ", data plane)" if excluded else ""), excluded)


def _selector_list(value: Any, name: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise Unreadable(f"{name} is not a list of selectors")
    return value


def _sources(values: Any, what: str) -> frozenset[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise Unreadable(f"{what} is not a list of event sources")
    unknown = set(values) - CONTROL_PLANE_SOURCES - DATA_PLANE_SOURCES
    if unknown:  # a few of them: 200,000 names made a 1.5 MB message in every output
        named = sorted(unknown)
        raise Unreadable(f"{what} names {_clip(', '.join(named[:3]))}"
                         + (f" and {len(named) - 3} more" if len(named) > 3 else ""))
    return frozenset(values)


def _basic_covers(sel: Mapping[str, Any]) -> frozenset[str] | None:
    """The event sources a basic selector leaves out of the management write events it
    includes; None: it includes none."""
    rw = sel.get("ReadWriteType", "All")
    include = sel.get("IncludeManagementEvents", True)
    if not isinstance(rw, str) or rw not in READ_WRITE_TYPES or not isinstance(include, bool):
        raise Unreadable(f"ReadWriteType {_shown(rw)}, IncludeManagementEvents "
                         f"{_shown(include)}")
    if not include or rw == "ReadOnly":
        return None
    return _sources(sel.get("ExcludeManagementEventSources") or [],
                    "ExcludeManagementEventSources")


def _advanced_covers(sel: Mapping[str, Any]) -> frozenset[str] | None:
    """The same for an advanced selector: it includes management write events when its
    eventCategory admits Management and its readOnly (absent: both, per
    AdvancedFieldSelector) admits false."""
    fields = sel.get("FieldSelectors")
    if not isinstance(fields, list) or not fields or \
            not all(isinstance(f, Mapping) for f in fields):
        raise Unreadable("an advanced event selector without field selectors")
    by_field: dict[str, list[Mapping[str, Any]]] = {}
    for f in fields:
        by_field.setdefault(str(f.get("Field")), []).append(f)
    if "eventCategory" not in by_field:
        raise Unreadable("an advanced event selector without eventCategory (required)")
    if not _admits(by_field["eventCategory"], "Management"):
        return None  # data, network activity or other events: not management events
    other = sorted(set(by_field) - MANAGEMENT_FIELDS)
    if other:
        raise Unreadable(f"field {_clip(other[0])} on management events")
    if not _admits(by_field.get("readOnly", []), "false"):
        return None
    excluded: set[str] = set()
    for f in by_field.get("eventSource", []):
        ops = [op for op in OPERATORS if op in f]
        if ops != ["NotEquals"]:
            # AdvancedFieldSelector: for management events eventSource "can be set to
            # NotEquals kms.amazonaws.com or NotEquals rdsdata.amazonaws.com"
            raise Unreadable("eventSource on management events with " + ", ".join(ops))
        excluded |= _sources(f["NotEquals"], "eventSource NotEquals")
    return frozenset(excluded)


def _admits(conditions: list[Mapping[str, Any]], value: str) -> bool:
    """Do all these field selectors' conditions match `value`?"""
    for f in conditions:
        unknown = sorted(set(f) - {"Field", *OPERATORS})
        ops = [op for op in OPERATORS if op in f]
        if unknown or not ops:
            raise Unreadable(f"field {_clip(str(f.get('Field')))} with "
                             f"{_clip(', '.join(unknown)) or 'no operator'}")
        for op in ops:
            vals = f[op]
            if not isinstance(vals, list) or not all(isinstance(v, str) for v in vals):
                raise Unreadable(f"field {_clip(str(f.get('Field')))} {op} is not a list of "
                                 "strings")
            hit = {"Equals": value in vals, "NotEquals": value not in vals,
                   "StartsWith": any(value.startswith(v) for v in vals),
                   "NotStartsWith": not any(value.startswith(v) for v in vals),
                   "EndsWith": any(value.endswith(v) for v in vals),
                   "NotEndsWith": not any(value.endswith(v) for v in vals)}[op]
            if not hit:
                return False
    return True


def _clip(text: str, limit: int = 200) -> str:
    """`text` of a selector named in a message, at most `limit` characters (a snapshot's
    selector values are untrusted: the message goes into every report)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _shown(value: Any) -> str:
    """A scalar as its (clipped) repr, anything else by its type: never a whole list."""
    return _clip(repr(value)) if isinstance(value, str | bool | int | float) or value is None \
        else f"a {type(value).__name__}"
