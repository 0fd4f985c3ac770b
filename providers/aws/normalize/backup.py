"""AWS Backup: which resources plans cover, how often, how long, where copies go; vaults."""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from providers.aws.normalize.common import FOREVER_DAYS, _arr, _obj, region_of_arn
from providers.aws.normalize.context import Build
from scanner.model import Kind, Unread

DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # 1..7 in AWS cron
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
               "DEC")


def cron_hours(expression: str | None) -> int | None:
    """The longest wait in hours between two runs of an AWS Backup schedule, cron(...) or
    rate(...); None when not understood. AWS Backup schedules are cron expressions of six
    fields, "cron(Minutes Hours Day-of-month Month Day-of-week Year)" (AWS Backup Developer
    Guide, "Backup plan options and configuration": its cron expression table), with `,`
    lists, `-` ranges, `*`, `?` and `/` increments. The longest gap, not the average: two
    runs at 00:00 and 06:00 leave 18 hours without a backup, weekdays only 72."""
    if not expression:
        return None
    expr = expression.strip()
    m = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expr)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return max(1, n // 60) if unit.startswith("minute") else n * (24 if unit.startswith(
            "day") else 1)
    m = re.fullmatch(r"cron\((.+)\)", expr)
    if not m:
        return None
    fields = m.group(1).split()
    if len(fields) not in (5, 6):
        return None
    _minute, hour, dom, month, dow = fields[:5]
    hours = cron_values(hour, 0, 23)
    months = cron_values(month, 1, 12, MONTH_NAMES)
    if hours is None or months is None:
        return None
    if dom not in ("*", "?") and dow not in ("*", "?"):
        return None  # AWS cron: one of the two must be `?`
    if dom in ("*", "?") and dow in ("*", "?"):
        day_gap = 1
    elif dom not in ("*", "?"):
        days = cron_values(dom, 1, 31)  # a 31-day month: the longest wait across its end
        if days is None:
            # L (last day), W (nearest weekday), or another form: about monthly at best
            return 24 * 31 if re.fullmatch(r"L|LW|\d{1,2}W|L-\d{1,2}", dom) else None
        day_gap = longest_gap(days, 31)
    else:
        weekdays = cron_values(dow, 1, 7, DAY_NAMES)
        if weekdays is None:  # 2#1 (first Monday), 6L (last Friday): monthly
            return 24 * 35 if re.fullmatch(r"[1-7A-Z]{1,3}(#[1-5]|L)", dow.upper()) else None
        day_gap = longest_gap(weekdays, 7)
    if len(months) < 12:  # runs in some months only: the months between wait
        day_gap = max(day_gap, 28 * (longest_gap(months, 12) - 1) + 1)
    ordered = sorted(hours)
    if day_gap == 1:
        return longest_gap(hours, 24)
    return 24 * day_gap - ordered[-1] + ordered[0]


def cron_values(field: str, low: int, high: int, names: tuple[str, ...] = ()
                ) -> set[int] | None:
    """The values a cron field names (`*`, `?`, lists, ranges, `/` increments, names);
    None for anything else."""
    out: set[int] = set()

    def one(token: str) -> int | None:
        if token in names:
            return names.index(token) + 1
        return int(token) if token.isdigit() and low <= int(token) <= high else None

    for part in field.upper().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            return None
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            a, b = (one(t) for t in base.split("-", 1))
            if a is None or b is None:
                return None
            first, last = a, b if b >= a else b + (high - low + 1)  # FRI-MON wraps
        else:
            a = one(base)
            if a is None:
                return None
            first, last = a, high if step else a
        out.update(low + (v - low) % (high - low + 1)
                   for v in range(first, last + 1, step or 1))
    return out or None


def longest_gap(values: set[int], period: int) -> int:
    """The longest distance between consecutive values on a circle of `period`."""
    ordered = sorted(values)
    return max(b - a for a, b in zip(ordered, [*ordered[1:], ordered[0] + period],
                                     strict=True))


def tag_value(labels: Mapping[str, str], key: Any) -> str | None:
    """The resource's value of the tag a selection condition names (with or without the
    `aws:ResourceTag/` prefix; the prefix is matched case-insensitively, as IAM condition
    key names are)."""
    name = str(key or "")
    if name.lower().startswith("aws:resourcetag/"):
        name = name[len("aws:resourcetag/"):]
    return labels.get(name)


def names_type(pattern: str) -> bool:
    """Does an ARN pattern of a selection's Resources name a resource type (its service
    field is written out: `arn:aws:ec2:*:*:volume/*`), rather than every resource (`*`)?"""
    parts = pattern.split(":")
    return len(parts) > 2 and bool(parts[2]) and not any(c in parts[2] for c in "*?[")


def selected(selection: Mapping[str, Any], arn: str, labels: Mapping[str, str]) -> bool:
    return selection_match(selection, arn, labels) is not None


def selection_match(selection: Mapping[str, Any], arn: str, labels: Mapping[str, str]
                    ) -> str | None:
    """How a selection picks the resource: "type" (an ARN pattern of its Resources names
    the resource's type and matches it), "tags" (its tags, or a selection of every
    resource), None (not at all). The region's service opt-in applies to "tags" only: "If
    resource assignments are only based on tags, then service opt-in settings are applied.
    If a resource type is explicitly assigned to a backup plan ... it will be included in
    the backup even if the opt-in is not enabled" (AWS Backup API Reference,
    UpdateRegionSettings)."""
    resources = [str(r) for r in _arr(selection.get("Resources"), "Resources")]
    if any(fnmatch.fnmatchcase(arn, p) for p in _arr(selection.get("NotResources"),
                                                     "NotResources")):
        return None
    tag_lists = _arr(selection.get("ListOfTags"), "ListOfTags")
    named = any(names_type(p) and fnmatch.fnmatchcase(arn, p) for p in resources)
    # Neither resources nor tags named: "Backup attempts to select all supported and
    # opted-in storage resources" (AWS Backup API Reference, BackupSelection), which the
    # selection's Conditions then narrow (a selection "only based on tags").
    by_arn = named or any(fnmatch.fnmatchcase(arn, p) for p in resources) or not (
        resources or tag_lists)
    # ListOfTags keys come bare ("backup") or as the condition key AWS Backup's API reference
    # gives for them ("aws:ResourceTag/CreatedByCryo", BackupSelection.ListOfTags): both name
    # the tag key after the prefix.
    by_tag = any(str(t.get("ConditionType", "STRINGEQUALS")).upper() == "STRINGEQUALS"
                 and tag_value(labels, t.get("ConditionKey")) == str(t.get("ConditionValue"))
                 for t in tag_lists)
    if not (by_arn or by_tag):
        return None
    cond = _obj(selection.get("Conditions"), "Conditions")

    def value(c: Mapping[str, Any]) -> str | None:
        return tag_value(labels, c.get("ConditionKey"))

    def like(c: Mapping[str, Any]) -> bool:
        # A resource without the tag matches no StringLike, whatever the pattern ("*"
        # included), and so every StringNotLike: selections' "Boolean arithmetic is
        # similar to that in IAM policies" (AWS Backup Developer Guide, "Assign resources
        # with AWS CLI"), where a condition key absent from the context matches no
        # condition operator but the negated ones (IAM User Guide, "IAM JSON policy
        # elements: Condition operators").
        found = value(c)
        return found is not None and fnmatch.fnmatchcase(found, str(c.get("ConditionValue")))

    if (all(value(c) == c.get("ConditionValue") for c in _arr(cond.get("StringEquals"),
                                                              "StringEquals"))
            and all(value(c) != c.get("ConditionValue")
                    for c in _arr(cond.get("StringNotEquals"), "StringNotEquals"))
            and all(like(c) for c in _arr(cond.get("StringLike"), "StringLike"))
            and all(not like(c) for c in _arr(cond.get("StringNotLike"), "StringNotLike"))):
        return "type" if named else "tags"
    return None


REGION_SETTINGS = "backup.describe_region_settings"


def opted_in(ctx: Build, region: str | None, rtype: str) -> bool | str:
    """Does AWS Backup protect resources of `rtype` (its resource type name: EC2, EBS, RDS,
    Aurora, DynamoDB...) picked by tags in `region` (DescribeRegionSettings'
    ResourceTypeOptInPreference: "If service opt-in is enabled for a service, AWS Backup
    tries to protect that service's resources in this Region ... Otherwise, AWS Backup does
    not try to protect that service's resources")? Why not known, as a string."""
    answers = [obj for where, obj in ctx.regional(REGION_SETTINGS) if where == region]
    if not answers:
        return ctx.list_unread(REGION_SETTINGS, region) or \
            f"{REGION_SETTINGS} has no answer for {region}"
    value = _obj(answers[0].get("ResourceTypeOptInPreference"),
                 "ResourceTypeOptInPreference").get(rtype)
    if isinstance(value, bool):
        return value
    return f"{REGION_SETTINGS} in {region} does not say whether {rtype} is opted in"


def backup_coverage(ctx: Build) -> None:
    """AWS Backup plans and selections -> which resources are backed up, how often, how
    long, and which regions hold copies."""
    ctx.backup_known = all(n in ctx.attempted for n in (
        "backup.list_backup_plans", "backup.get_backup_plan",
        "backup.list_backup_selections", "backup.get_backup_selection"))
    ctx.vault_copies = defaultdict(set)
    plans: dict[tuple[str, str], Mapping[str, Any]] = {}
    for region, env in ctx.regional("backup.get_backup_plan"):
        resp = _obj(env.get("response"), "response")
        plans[(region, str(resp.get("BackupPlanId") or _obj(env.get("request"), "request").get(
            "BackupPlanId")))] = resp
    ctx.selections = []
    for region, env in ctx.regional("backup.get_backup_selection"):
        resp = _obj(env.get("response"), "response")
        plan = plans.get((region, str(resp.get("BackupPlanId") or (
            _obj(env.get("request"), "request")).get("BackupPlanId"))))
        if plan is not None:
            ctx.selections.append((region, _obj(resp.get("BackupSelection"), "BackupSelection"),
                                   plan))
    for (region, _), plan in plans.items():
        for rule in _arr(_obj(plan.get("BackupPlan"), "BackupPlan").get("Rules"), "Rules"):
            for copy in _arr(rule.get("CopyActions"), "CopyActions"):
                dest = region_of_arn(str(copy.get("DestinationBackupVaultArn", "")))
                if dest:
                    ctx.vault_copies[(region, str(rule.get("TargetBackupVaultName")))].add(
                        dest)


DAILY_HOURS = 24  # BAK-02, "Daily backups of every stateful resource"


def strongest(schedules: list[tuple[int, int]]) -> tuple[int, int]:
    """The one schedule (hours between backups, days kept) a resource's backups are judged
    by: the longest-kept of those at least daily, else the most frequent. Frequency and
    retention come from the same rule: an hourly rule kept one day beside a monthly rule
    kept a year keeps no daily backup for a year (BAK-02 checks both of one schedule)."""
    daily = [s for s in schedules if s[0] <= DAILY_HOURS]
    if daily:
        return max(daily, key=lambda s: (s[1], -s[0]))
    return min(schedules, key=lambda s: (s[0], -s[1]))


def backup_of(ctx: Build, arn: str, region: str | None, labels: Mapping[str, str],
              rtype: str, own: tuple[tuple[int, int], ...] = ()) -> dict[str, Any] | None:
    """Backup properties from AWS Backup for one resource of AWS Backup resource type
    `rtype` (None: not covered); `own`: the resource's own automatic backups (hours, days),
    judged with the plans' rules. A selection that picks it by tags covers it only when the
    region opts its type in; when that is not known, what the selection adds is unknown."""
    schedules = list(own)
    unscheduled: list[str] = []
    covered = False
    doubt: str | None = None
    copies: set[str] = set()
    for sel_region, sel, plan in ctx.selections:
        if sel_region != region:
            continue
        how = selection_match(sel, arn, labels)
        if how is None:
            continue
        if how == "tags":
            opted = opted_in(ctx, region, rtype)
            if opted is False:
                continue
            if opted is not True:
                doubt = doubt or str(opted)
        covered = True
        for rule in _arr(_obj(plan.get("BackupPlan"), "BackupPlan").get("Rules"), "Rules"):
            hours = cron_hours(rule.get("ScheduleExpression"))
            if hours is None and rule.get("EnableContinuousBackup"):
                hours = 1
            days = _obj(rule.get("Lifecycle"), "Lifecycle").get("DeleteAfterDays")
            if hours is None:
                unscheduled.append(str(rule.get("ScheduleExpression")))
            else:
                schedules.append((hours, int(days) if days is not None else FOREVER_DAYS))
            for copy in _arr(rule.get("CopyActions"), "CopyActions"):
                dest = region_of_arn(str(copy.get("DestinationBackupVaultArn", "")))
                if dest and dest != region:
                    copies.add(dest)
    if not covered:
        return None
    if doubt is not None:
        # the selection may protect nothing here: the backups it adds could be absent
        # (BAK-02, BAK-01: a pass is unsafe), and so could its copies (RES-02: a fail is)
        why = f"whether AWS Backup protects {rtype} resources picked by tags: {doubt}"
        ctx.mark(arn, ("backup_enabled", "backup_frequency_hours", "backup_retention_days",
                       "backup_redundancy"), Unread(why, opens=True, closes=False))
        ctx.mark(arn, ("replica_regions",), Unread(why, opens=False, closes=True))
    if unscheduled:
        # A schedule not understood is not "as often as needed": it could decide either way.
        ctx.mark(arn, ("backup_frequency_hours", "backup_retention_days"), Unread(
            f"AWS Backup schedule {unscheduled[0]!r} not understood",
            opens=not schedules, closes=True))
    hours, days = strongest(schedules) if schedules else (None, None)
    return {
        "backup_enabled": True,
        "backup_frequency_hours": hours,
        "backup_retention_days": days,
        "backup_redundancy": "geo" if copies else "zone",
        "replica_regions": sorted(copies),
    }


RECOVERY_POINTS = "backup.list_recovery_points_by_backup_vault"
LISTED = 5  # recovery points named in a vault's evidence


def vault_encryption(ctx: Build, region: str, name: str, arn: str) -> dict[str, Any]:
    """A vault's `encrypted`: whether every recovery point it holds is. A vault has a KMS
    key, but only backups of the resource types AWS Backup fully manages are encrypted with
    it; the others keep their source's encryption, none for an unencrypted EBS volume or
    RDS database (AWS Backup Developer Guide, "Encryption for backups in AWS Backup"), and
    ListRecoveryPointsByBackupVault says so of each: `IsEncrypted` "TRUE if the specified
    recovery point is encrypted, or FALSE if the recovery point is not encrypted" (API
    Reference, RecoveryPointByBackupVault). Not read for this vault: unknown (a failed read
    is marked from the error, mark_child_failures; a missing one here)."""
    given = [env.get("response") for where, env in ctx.regional(
        RECOVERY_POINTS) if where == region and _obj(env.get("request"), "request").get(
        "BackupVaultName") == name]
    # the collector stores the merged pages' RecoveryPoints list, empty or not: an answer
    # without one is no answer
    answers: list[dict[str, Any]] = [a for a in given if isinstance(a, dict)
                                     and isinstance(a.get("RecoveryPoints"), list)]
    if len(answers) < len(given):
        ctx.mark(arn, ("encrypted",), Unread(
            f"{RECOVERY_POINTS} answered vault {name} without a RecoveryPoints list",
            closes=False))
        if not answers:
            return {"encrypted": True, "encryption_evidence": "config"}
    props: dict[str, Any] = {"encrypted": True, "encryption_evidence": "config"}
    if not answers:
        # a failed read (this vault's, or the region's) is the engine's to report
        failed = any(e.get("collection") == RECOVERY_POINTS and e.get("region") == region
                     and e.get("resource") in (None, "", name, arn) for e in ctx.s.errors)
        if RECOVERY_POINTS in ctx.attempted and not failed:
            ctx.mark(arn, ("encrypted",), Unread(
                f"{RECOVERY_POINTS} has no answer for vault {name}", closes=False))
        return props
    points = [_obj(p, "RecoveryPoints[]") for a in answers
              for p in _arr(a.get("RecoveryPoints"), "RecoveryPoints")]
    plain = sorted(str(p.get("RecoveryPointArn")) for p in points
                   if p.get("IsEncrypted") is False)
    unsure = [p for p in points if not isinstance(p.get("IsEncrypted"), bool)]
    if plain:
        props["encrypted"] = False
        props["encryption_reference"] = (
            f"{len(plain)} recovery point(s) not encrypted: " + ", ".join(plain[:LISTED])
            + (f" and {len(plain) - LISTED} more" if len(plain) > LISTED else ""))
    elif unsure:
        ctx.mark(arn, ("encrypted",), Unread(
            f"{len(unsure)} recovery point(s) of vault {name} without IsEncrypted",
            closes=False))
    return props


def vaults(ctx: Build) -> None:
    vault_tags = ctx.tags_of("backup.list_tags", "ResourceArn")
    for region, v in ctx.regional("backup.list_backup_vaults"):
        arn = str(v.get("BackupVaultArn") or ctx.arn(
            "backup", region, f"backup-vault:{v.get('BackupVaultName')}"))
        copies = sorted(ctx.vault_copies.get((region, str(v.get("BackupVaultName"))), set()))
        ctx.add(Kind.BACKUP_VAULT, arn, "backup_vault", v, {
            **vault_encryption(ctx, region, str(v.get("BackupVaultName")), arn),
            "replica_regions": copies,
            "backup_redundancy": "geo" if any(c != region for c in copies) else "zone",
        }, region, str(v.get("BackupVaultName")), vault_tags.get(arn))
