"""Logging and monitoring: LOG-01, LOG-02, LOG-03."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.check import CheckContext, check
from scanner.findings import Finding
from scanner.model import Kind, Resource

REFS_LOG = {"GDPR": ("Art. 32(1)(d)",), "ISO27001": ("A.8.15", "A.8.16"),
            "C5": ("OPS-10", "OPS-12")}


def trails_of(ctx: CheckContext, account: Resource) -> list[Resource]:
    return [t for t in ctx.graph.of_kind(Kind.LOG_TRAIL)
            if t.provider == account.provider and t.account == account.account]


def _records(t: Resource) -> bool | None:
    """Does the trail record every control-plane change (None: not known)? What an AWS
    trail records is read from its event selectors and IncludeGlobalServiceEvents
    (providers/aws/normalize/trails.py); a trail without these properties (an Azure
    activity-log export) records the control plane by definition."""
    if t.has_prop("global_service_events") and t.prop("global_service_events") is False:
        return False
    if not t.has_prop("management_writes"):
        return True
    writes = t.prop("management_writes")
    if writes is None or (t.has_prop("global_service_events")
                          and t.prop("global_service_events") is None):
        return None
    return bool(writes)


def _state(t: Resource) -> dict[str, object]:
    state: dict[str, object] = {
        "trail": t.id, "multi_region": t.prop("multi_region"),
        "logging": t.prop("logging_enabled"),
        "integrity_validation": t.prop("integrity_validation")}
    # named when it records less than every management event, or is not known to
    if t.has_prop("management_writes") and (t.prop("management_writes") is not True
                                            or t.prop("excluded_event_sources")):
        state["management_writes"] = t.prop("management_writes")
        state["management_events"] = t.prop("management_events")
        if t.prop("excluded_event_sources"):
            state["excluded_event_sources"] = t.prop("excluded_event_sources")
    if t.prop("multi_region") and t.has_prop("global_service_events") \
            and t.prop("global_service_events") is not True:
        state["global_service_events"] = t.prop("global_service_events")
    return state


@check(
    id="LOG-01",
    reads=("multi_region", "logging_enabled", "integrity_validation", "regions",
           "management_writes", "management_events", "excluded_event_sources",
           "global_service_events"),
    title="An audit log records all control-plane changes, in every region",
    severity="high",
    kinds={Kind.ACCOUNT, Kind.LOG_TRAIL},
    rationale="Without an audit trail, an incident cannot be reconstructed and the GDPR "
              "Art. 33 notification cannot say what happened.",
    remediation="AWS: a multi-region CloudTrail trail, logging, with log file validation, "
                "including global service events and recording management write events "
                "(no event selectors, or a selector with management events Write or All, "
                "AWS KMS events not excluded); "
                "Azure: a diagnostic setting exporting the subscription activity log.",
    references={**REFS_LOG, "ISO27001": ("A.8.15",), "C5": ("OPS-10", "OPS-15")},
    evidence={"aws": "CloudTrail trails: IsMultiRegionTrail, IsLogging, "
                     "LogFileValidationEnabled, IncludeGlobalServiceEvents, event selectors "
                     "(management write events)",
              "azure": "subscription activity-log diagnostic settings"},
)
def audit_log_everywhere(ctx: CheckContext) -> Iterator[Finding]:
    for account in ctx.graph.of_kind(Kind.ACCOUNT):
        trails = trails_of(ctx, account)
        states = [_state(t) for t in trails]
        # every region, logging, validated: what is left to know is what the trail records
        candidates = [t for t in trails if t.prop("multi_region") and t.prop("logging_enabled")
                      and t.prop("integrity_validation") is not False]
        good = [t for t in candidates if _records(t)]
        if good:
            yield ctx.passed(account, f"audit log by {good[0].name}", {"trails": states})
        elif any(t.prop("multi_region") is None or t.prop("logging_enabled") is None
                 for t in trails) or any(_records(t) is None for t in candidates):
            yield ctx.error(account, "audit log state not known", "unknown", {"trails": states})
        elif candidates:
            yield ctx.fail(account, f"{candidates[0].name} does not record every control-plane "
                                    "change (management write events or global service "
                                    "events left out)", {"trails": states})
        elif trails:
            yield ctx.fail(account, "no audit log covers every region with logging and "
                                    "integrity validation on", {"trails": states})
        else:
            yield ctx.fail(account, "no audit log at all", {"trails": []})


@check(
    id="LOG-02",
    reads=("retention_days",),
    title="Logs are retained for the profile's period",
    severity="medium",
    kinds={Kind.LOG_TRAIL},
    rationale="Breaches are found months after they start; logs deleted before then cannot "
              "show their extent.",
    remediation="Set the log destination's retention (bucket lifecycle, CloudWatch retention, "
                "Log Analytics retention) to at least log_retention_days.",
    references={**REFS_LOG, "ISO27001": ("A.8.15",), "C5": ("OPS-12", "OPS-14")},
    evidence={"aws": "each trail's S3 bucket lifecycle expiration for its log prefix and its "
                     "CloudWatch Logs group retention: the longest-lived copy",
              "azure": "Log Analytics retention"},
    parameters=("log_retention_days",),
)
def logs_retained(ctx: CheckContext) -> Iterator[Finding]:
    wanted = ctx.params.log_retention_days
    for trail in ctx.graph.of_kind(Kind.LOG_TRAIL):
        if not trail.has_prop("retention_days"):
            continue
        days = trail.prop("retention_days")
        evidence = {"retention_days": days, "required_days": wanted}
        if days is None:
            yield ctx.error(trail, "retention not known", "unknown", evidence)
        elif days == 0 or days >= wanted:
            yield ctx.passed(trail, "kept forever" if days == 0 else f"kept {days} days",
                             evidence)
        else:
            yield ctx.fail(trail, f"kept {days} days, fewer than {wanted}", evidence)


@check(
    id="LOG-03",
    reads=("threat_detection_regions", "regions"),
    title="Threat detection and anomaly alerts are on",
    severity="medium",
    kinds={Kind.ACCOUNT},
    rationale="Compromised credentials and crypto-miners are found by anomaly detection, not "
              "by configuration review.",
    remediation="AWS: enable GuardDuty in every enabled region; Azure: Defender for Cloud "
                "Standard plans.",
    references={**REFS_LOG, "ISO27001": ("A.8.16",), "C5": ("OPS-13",)},
    evidence={"aws": "GuardDuty detectors per region", "azure": "Defender for Cloud pricings"},
)
def threat_detection_on(ctx: CheckContext) -> Iterator[Finding]:
    for account in ctx.graph.of_kind(Kind.ACCOUNT):
        if not account.has_prop("threat_detection_regions"):
            continue
        covered = account.prop("threat_detection_regions")
        wanted = list(account.prop("regions") or [])
        evidence = {"enabled_in": covered, "regions": wanted}
        if covered is None:
            yield ctx.error(account, "threat detection state not known", "unknown", evidence)
            continue
        missing = [] if "global" in covered else sorted(set(wanted) - set(covered))
        if not covered:
            yield ctx.fail(account, "threat detection is off", evidence)
        elif missing:
            yield ctx.fail(account, f"threat detection off in {', '.join(missing)}",
                           {**evidence, "missing": missing})
        else:
            yield ctx.passed(account, "threat detection on everywhere", evidence)
