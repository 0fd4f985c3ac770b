"""Which findings the human reports (table, Markdown, HTML) show: `--status` and
`--min-severity`. The summaries keep counting the whole scan; only the rows are filtered."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.findings import Finding, Severity, Status

FILTERED_FORMATS = ("table", "markdown", "html", "pdf")


@dataclass(frozen=True, slots=True)
class View:
    statuses: frozenset[Status] | None = None  # None: the format's own default
    min_severity: Severity | None = None

    def shows(self, f: Finding, default: tuple[Status, ...] | None = None) -> bool:
        statuses = self.statuses if self.statuses is not None else default
        if statuses is not None and f.status not in statuses:
            return False
        return self.min_severity is None or f.severity.rank >= self.min_severity.rank

    @property
    def active(self) -> bool:
        return self.statuses is not None or self.min_severity is not None

    def describe(self) -> str:
        """`shown: status fail, error; severity high or above`, or "" without a filter."""
        parts = []
        if self.statuses is not None:
            parts.append("status " + ", ".join(s.value for s in Status if s in self.statuses))
        if self.min_severity is not None:
            parts.append(f"severity {self.min_severity.value} or above")
        return ("shown: " + "; ".join(parts)) if parts else ""


def parse_statuses(value: str) -> frozenset[Status]:
    """`fail,error` -> {FAIL, ERROR}; ValueError naming an unknown status."""
    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    if not names:
        raise ValueError("give at least one status")
    known = {s.value: s for s in Status}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r} (choose from {', '.join(known)})")
    return frozenset(known[n] for n in names)
