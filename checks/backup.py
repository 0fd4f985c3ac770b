"""Backup and recovery: BAK-02."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.check import CheckContext, check
from scanner.findings import Finding
from scanner.model import Kind, Resource


def stateful(ctx: CheckContext) -> list[Resource]:
    roles = set(ctx.params.stateful_roles)
    return [r for r in ctx.graph.of_kind(Kind.COMPUTE, Kind.DATABASE)
            if r.kind is Kind.DATABASE or r.roles & roles or r.prop("stateful")]


@check(
    id="BAK-02",
    title="Daily backups of every stateful resource",
    severity="high",
    kinds={Kind.COMPUTE, Kind.DATABASE, Kind.VOLUME},
    rationale="Without automatic backups a deletion, ransomware or a failed migration loses "
              "data for good.",
    remediation="Enable automatic backups (Hetzner: server backups; AWS: BackupRetentionPeriod "
                "or an AWS Backup plan; Azure: backup retention / Recovery Services).",
    references={"GDPR": ("Art. 32(1)(c)",), "ISO27001": ("A.8.13",), "C5": ("OPS-06",)},
    evidence={"hetzner": "backup_window of servers that hold data (database role or attached "
                         "volumes); Hetzner backs up daily and keeps 7"},
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
