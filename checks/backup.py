"""Backup and recovery: BAK-01, BAK-02, BAK-03."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.check import CheckContext, check
from scanner.findings import Finding
from scanner.model import Kind, Resource

REFS_BACKUP = {"GDPR": ("Art. 32(1)(c)",), "ISO27001": ("A.8.13", "A.8.14"),
               "C5": ("OPS-06", "OPS-07")}


def stateful(ctx: CheckContext) -> list[Resource]:
    roles = set(ctx.params.stateful_roles)
    return [r for r in ctx.graph.of_kind(Kind.COMPUTE, Kind.DATABASE)
            if r.kind is Kind.DATABASE or r.roles & roles or r.prop("stateful")]


@check(
    id="BAK-01",
    reads=("backup_redundancy", "replica_regions", "region"),
    title="Backups are geo-redundant: a copy in a second region",
    severity="medium",
    kinds={Kind.DATABASE, Kind.BUCKET, Kind.BACKUP_VAULT, Kind.COMPUTE},
    rationale="A backup in the same site as the data is lost with the site.",
    remediation="Use geo-redundant backup storage (Azure GRS/GZRS, SQL backup redundancy Geo, "
                "PostgreSQL/MySQL geoRedundantBackup; AWS RDS cross-region automated backups, "
                "AWS Backup copy actions, S3 cross-region replication).",
    references={**REFS_BACKUP, "C5": ("OPS-06", "OPS-09")},
    evidence={"aws": "RDS automated backup replication, AWS Backup copy actions, S3 CRR",
              "azure": "storage SKU, SQL backupStorageRedundancy, flexible servers "
                       "geoRedundantBackup, Recovery Services vault storage type"},
)
def geo_redundant_backups(ctx: CheckContext) -> Iterator[Finding]:
    for r in ctx.graph.of_kind(Kind.DATABASE, Kind.BUCKET, Kind.BACKUP_VAULT, Kind.COMPUTE):
        if not r.has_prop("backup_redundancy"):
            continue
        redundancy = r.prop("backup_redundancy")
        evidence = {"backup_redundancy": redundancy,
                    "replica_regions": list(r.prop("replica_regions") or [])}
        if redundancy == "geo":
            yield ctx.passed(r, "backups are copied to a second region", evidence)
        elif redundancy in ("local", "zone"):
            yield ctx.fail(r, f"backups are {redundancy}-redundant only: no second region",
                           evidence)
        else:
            yield ctx.error(r, "backup redundancy not known", "unknown", evidence)


@check(
    id="BAK-02",
    reads=("backup_enabled", "backup_frequency_hours", "backup_retention_days", "stateful"),
    title="Daily backups of every stateful resource",
    severity="high",
    kinds={Kind.COMPUTE, Kind.DATABASE, Kind.VOLUME},
    rationale="Without automatic backups a deletion, ransomware or a failed migration loses "
              "data for good.",
    remediation="Enable automatic backups (Hetzner: server backups; AWS: BackupRetentionPeriod "
                "or an AWS Backup plan; Azure: backup retention / Recovery Services).",
    references=REFS_BACKUP,
    evidence={"hetzner": "backup_window of servers that hold data (database role or attached "
                         "volumes); Hetzner backs up daily and keeps 7",
              "aws": "RDS BackupRetentionPeriod; AWS Backup plans covering EC2/EBS",
              "azure": "SQL/PostgreSQL retention; VM backup protection"},
    parameters=("stateful_roles", "backup_retention_days", "backup_frequency_hours"),
)
def daily_backups(ctx: CheckContext) -> Iterator[Finding]:
    for r in stateful(ctx):
        enabled = r.prop("backup_enabled")
        evidence = {"backup_enabled": enabled,
                    "frequency_hours": r.prop("backup_frequency_hours"),
                    "retention_days": r.prop("backup_retention_days")}
        if enabled is None:
            yield ctx.error(r, "whether backups are on is not known", "unknown", evidence)
        elif not enabled:
            yield ctx.fail(r, "stateful and has no automatic backups", evidence)
        elif (r.prop("backup_frequency_hours") or 0) > ctx.params.backup_frequency_hours:
            yield ctx.fail(r, f"backed up every {r.prop('backup_frequency_hours')} hours, not "
                              f"every {ctx.params.backup_frequency_hours}", evidence)
        elif (r.prop("backup_retention_days") or 0) < ctx.params.backup_retention_days:
            yield ctx.fail(r, f"backups kept {r.prop('backup_retention_days')} days, fewer "
                              f"than {ctx.params.backup_retention_days}", evidence)
        else:
            yield ctx.passed(r, "automatic daily backups", evidence)


@check(
    id="BAK-03",
    reads=("pitr_enabled", "pitr_lag_minutes"),
    title="Point-in-time recovery is available within the profile's window",
    severity="medium",
    kinds={Kind.DATABASE},
    rationale="Daily backups lose up to a day of data; point-in-time recovery bounds the loss "
              "to minutes.",
    remediation="Enable PITR (RDS automated backups, DynamoDB PITR, Azure SQL/PostgreSQL "
                "built-in PITR) and watch its lag.",
    references=REFS_BACKUP,
    evidence={"aws": "RDS LatestRestorableTime relative to collection time; DynamoDB PITR",
              "azure": "SQL/PostgreSQL earliest restore point and retention"},
    parameters=("pitr_max_lag_minutes",),
)
def point_in_time_recovery(ctx: CheckContext) -> Iterator[Finding]:
    limit = ctx.params.pitr_max_lag_minutes
    for db in ctx.graph.of_kind(Kind.DATABASE):
        if not db.has_prop("pitr_enabled"):
            continue
        enabled, lag = db.prop("pitr_enabled"), db.prop("pitr_lag_minutes")
        evidence = {"pitr_enabled": enabled, "lag_minutes": lag, "limit_minutes": limit}
        if enabled is None:
            yield ctx.error(db, "whether point-in-time recovery is on is not known", "unknown",
                            evidence)
        elif not enabled:
            yield ctx.fail(db, "no point-in-time recovery", evidence)
        elif lag is not None and lag > limit:
            yield ctx.fail(db, f"latest restorable point is {lag:.0f} minutes old (limit "
                               f"{limit})", evidence)
        else:
            yield ctx.passed(db, "point-in-time recovery available", evidence)
