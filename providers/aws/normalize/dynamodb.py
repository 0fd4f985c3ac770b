"""DynamoDB tables: encryption, point-in-time recovery, global table replicas, AWS Backup.

What AWS documents, and how a table is read from it:
- Every table is encrypted at rest: "DynamoDB encryption at rest ... encrypts all your data
  at rest" with an AWS owned key by default, or an AWS managed or customer managed KMS key
  (DynamoDB Developer Guide, "DynamoDB encryption at rest"). DescribeTable answers
  `SSEDescription` only for a KMS key (SSEType KMS, KMSMasterKeyArn): without it the table
  is encrypted with the AWS owned key, guaranteed by the provider (evidence `provider`).
- Point-in-time recovery is off unless turned on; when on, a table can be restored to any
  second of the last `RecoveryPeriodInDays` (1 to 35, 35 by default), up to
  `LatestRestorableDateTime` ("typically 5 minutes before the current time")
  (DynamoDB API Reference, PointInTimeRecoveryDescription). Continuous backups of that
  period are judged as a backup schedule (BAK-02) beside the AWS Backup plans covering the
  table, as RDS's automated backups are.
- A global table (version 2019.11.21) names its replicas in DescribeTable's `Replicas`
  (RegionName); a legacy one (version 2017.11.29) does not, its replication group is
  ListGlobalTables' (which "lists only version 2017.11.29 (Legacy)" tables). Both are
  copies of the data in other regions (RES-02, and BAK-01 as S3 replication is). Either
  not read leaves them unknown.
- A table is reached only through the DynamoDB API endpoint of its region, signed by IAM: it
  has no address, subnet or security group of its own (`api_only`: NET-01 does not judge it,
  as CONTROLS.md maps no DynamoDB setting there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.aws.normalize.backup import backup_of
from providers.aws.normalize.common import _arr, _obj, parse_time, tags
from providers.aws.normalize.context import Build
from scanner.model import Kind, RelationType, Unread

ENCRYPTION_DOC = ("https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                  "EncryptionAtRest.html (every DynamoDB table is encrypted at rest; without "
                  "SSEDescription, with an AWS owned key)")
PITR_DAYS = 35  # PointInTimeRecoveryDescription.RecoveryPeriodInDays when not answered
CONTINUOUS_HOURS = 1  # continuous backups: judged as AWS Backup's continuous rules are
# What an unread per-table answer leaves unknown, and in which direction (opens, closes):
# unread recovery settings could turn BAK-03 either way, but could only add a backup
# schedule to those AWS Backup gives (BAK-02: a fail is unsafe, a pass stands); unread
# replicas could only add copies (RES-02: a pass is unsafe; BAK-01: a fail is unsafe).
UNREAD_BY: dict[str, tuple[tuple[tuple[str, ...], bool, bool], ...]] = {
    "dynamodb.describe_table": ((("replica_regions",), True, False),
                                (("backup_redundancy",), False, True)),
    "dynamodb.describe_continuous_backups": (
        (("pitr_enabled", "pitr_lag_minutes"), True, True),
        (("backup_enabled", "backup_frequency_hours", "backup_retention_days"), False, True)),
    "dynamodb.list_tags_of_resource": ((("labels",), True, True),),
}


def _answers(ctx: Build, name: str, key: str) -> dict[tuple[str, str], Mapping[str, Any]]:
    """Per-table envelopes of `name` by (region, table name): the answer, or {} for a
    table whose request was recorded without an answer."""
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for region, env in ctx.regional(name):
        table = str(_obj(env.get("request"), "request").get(key) or "")
        if key == "ResourceArn":
            table = table.rsplit("table/", 1)[-1]
        out[(region, table)] = _obj(env.get("response"), "response")
    return out


def _failures(ctx: Build, name: str) -> dict[tuple[str, str], str]:
    """Why `name` was not read, by (region, table name); (region, "") for the whole region."""
    out: dict[tuple[str, str], str] = {}
    for err in ctx.s.errors:
        if err.get("collection") == name:
            out.setdefault((str(err.get("region")), str(err.get("resource") or "")),
                           f"{name} could not be read: {err.get('message')}")
    return out


LEGACY = "dynamodb.list_global_tables"


def legacy_groups(ctx: Build) -> tuple[dict[tuple[str, str], set[str]], dict[str, str]]:
    """The regions of each legacy global table's replication group, by (region, table); and
    why a region's list cannot be read (an entry without its name, or a replica without
    its region: whose replicas they are, or where, is not known)."""
    out: dict[tuple[str, str], set[str]] = {}
    bad: dict[str, str] = {}
    for region, gt in ctx.regional(LEGACY):
        name = gt.get("GlobalTableName")
        group = _arr(gt.get("ReplicationGroup"), "ReplicationGroup")
        regions = [_obj(r, "ReplicationGroup[]").get("RegionName") for r in group]
        if not isinstance(name, str) or not all(isinstance(r, str) and r for r in regions):
            bad.setdefault(region, f"{LEGACY} has an entry without its GlobalTableName or a "
                                   f"replica without its RegionName in {region}")
            continue
        out.setdefault((region, name), set()).update(str(r) for r in regions)
    return out, bad


def tables(ctx: Build) -> None:
    legacy, legacy_bad = legacy_groups(ctx)
    described = _answers(ctx, "dynamodb.describe_table", "TableName")
    backups = _answers(ctx, "dynamodb.describe_continuous_backups", "TableName")
    tagged = _answers(ctx, "dynamodb.list_tags_of_resource", "ResourceArn")
    failed = {name: _failures(ctx, name) for name in (
        "dynamodb.describe_table", "dynamodb.describe_continuous_backups",
        "dynamodb.list_tags_of_resource")}

    def unread(name: str, region: str, table: str) -> str | None:
        """Why the per-table read `name` of this table is not known (None: read)."""
        if (region, table) in {"dynamodb.describe_table": described,
                               "dynamodb.describe_continuous_backups": backups,
                               "dynamodb.list_tags_of_resource": tagged}[name]:
            return None
        if name not in ctx.attempted:
            return f"{name} was not collected"
        return failed[name].get((region, table)) or failed[name].get((region, "")) or \
            f"{name} has no answer for table {table}"

    for region, listed in ctx.regional("dynamodb.list_tables"):
        name = str(listed.get("TableName") or "")
        if not name:
            continue
        desc = _obj(described.get((region, name), {}).get("Table"), "Table")
        arn = str(desc.get("TableArn") or ctx.arn("dynamodb", region, f"table/{name}"))
        labels = tags(tagged.get((region, name), {}))
        sse = _obj(desc.get("SSEDescription"), "SSEDescription")
        if str(sse.get("Status") or "ENABLED").upper() in ("DISABLING", "DISABLED"):
            sse = {}  # going back to (or back on) the AWS owned key (SSEDescription.Status)
        props: dict[str, Any] = {
            "api_only": True,
            "public_ips": [],
            "encrypted": True,
            # a KMS key the account chose is configuration; the AWS owned key, the default
            "encryption_evidence": "config" if sse.get("SSEType") == "KMS" else "provider",
        }
        if not sse:
            props["encryption_reference"] = ENCRYPTION_DOC
        if sse.get("KMSMasterKeyArn"):
            ctx.relate(arn, str(sse["KMSMasterKeyArn"]), RelationType.ENCRYPTED_WITH)
        replicas = sorted(({str(r.get("RegionName")) for r in _arr(desc.get("Replicas"),
                                                                    "Replicas")
                            if r.get("RegionName")} | legacy.get((region, name), set()))
                          - {region})
        why_legacy = ctx.list_unread(LEGACY, region) or (
            None if region in ctx.s.collections.get(LEGACY, {}) else
            f"{LEGACY} was not collected in {region}") or legacy_bad.get(region)
        if why_legacy is not None:  # a legacy global table's replicas are not known
            ctx.mark(arn, ("replica_regions",), Unread(why_legacy, opens=True, closes=False))
            ctx.mark(arn, ("backup_redundancy",), Unread(why_legacy, opens=False,
                                                         closes=True))
        own: tuple[tuple[int, int], ...] = ()
        pitr = _obj(_obj(backups.get((region, name), {}).get("ContinuousBackupsDescription"),
                         "ContinuousBackupsDescription").get("PointInTimeRecoveryDescription"),
                    "PointInTimeRecoveryDescription")
        enabled = str(pitr.get("PointInTimeRecoveryStatus") or "").upper() == "ENABLED"
        latest = parse_time(pitr.get("LatestRestorableDateTime"))
        if enabled:
            own = ((CONTINUOUS_HOURS, int(pitr.get("RecoveryPeriodInDays") or PITR_DAYS)),)
            if latest is None:
                # "LatestRestorableDateTime is typically 5 minutes before the current time"
                # (API Reference): an answer without it does not show how recent it is
                ctx.mark(arn, ("pitr_lag_minutes",), Unread(
                    f"{arn}: LatestRestorableDateTime "
                    f"{pitr.get('LatestRestorableDateTime')!r} not a time",
                    opens=True, closes=False))
        props.update({
            "pitr_enabled": enabled,
            "pitr_lag_minutes": max(0.0, round((ctx.collected_at - latest).total_seconds()
                                               / 60, 2)) if enabled and latest else None,
            "backup_enabled": enabled,
            "backup_frequency_hours": own[0][0] if own else None,
            "backup_retention_days": own[0][1] if own else None,
        })
        backup = backup_of(ctx, arn, region, labels, "DynamoDB", own)
        copies = set(replicas)
        if backup is not None:
            props["backup_enabled"] = True
            props["backup_frequency_hours"] = backup["backup_frequency_hours"]
            props["backup_retention_days"] = backup["backup_retention_days"]
            copies |= set(backup["replica_regions"])
        props["replica_regions"] = sorted(copies)
        props["backup_redundancy"] = "geo" if copies else "zone"
        for call, marks in UNREAD_BY.items():
            why = unread(call, region, name)
            for affected, opens, closes in marks if why is not None else ():
                ctx.mark(arn, affected, Unread(str(why), opens=opens, closes=closes))
        ctx.add(Kind.DATABASE, arn, "dynamodb_table", {**listed, **desc}, props, region,
                name, labels)
