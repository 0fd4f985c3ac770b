"""What changed between two scans: new, resolved and changed findings, by stable identity.

A finding's identity is `check|resource`, the same across scans. A *problem* is a finding
that fails or could not be judged (`fail`, `error`):
- new: a problem now that was not a problem before (absent, passed, skipped, suppressed);
- resolved: a problem before that is not one now;
- changed: a problem in both scans whose status, severity or message differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.display import visible
from scanner.findings import Finding, Severity, Status
from scanner.result import ScanResult

PROBLEMS = (Status.FAIL, Status.ERROR)


@dataclass
class Diff:
    before: str
    after: str
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    changed: list[tuple[Finding, Finding]] = field(default_factory=list)
    unchanged: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "counts": {"new": len(self.new), "resolved": len(self.resolved),
                       "changed": len(self.changed), "unchanged": self.unchanged},
            "new": [f.to_json() for f in self.new],
            "resolved": [f.to_json() for f in self.resolved],
            "changed": [{"before": a.to_json(), "after": b.to_json()} for a, b in self.changed],
        }

    def exit_code(self, fail_on: str = "low") -> int:
        """1 when a new failure reaches `fail_on`, else 0."""
        if fail_on == "none":
            return 0
        threshold = Severity(fail_on).rank
        return int(any(f.status is Status.FAIL and f.severity.rank >= threshold
                       for f in self.new))

    def render(self) -> str:
        """Plain text for a terminal: one line per finding, the estate's texts (names,
        messages) with control characters shown as escapes (scanner.display.visible)."""
        lines = [f"{self.before} -> {self.after}: {len(self.new)} new, {len(self.resolved)} "
                 f"resolved, {len(self.changed)} changed, {self.unchanged} unchanged"]
        for label, items in (("NEW", self.new), ("RESOLVED", self.resolved)):
            for f in items:
                lines.append(f"  {label:9} {f.status:6} {f.check:7} "
                             f"{f.resource_name or f.resource}: {f.message}")
        for a, b in self.changed:
            lines.append(f"  CHANGED   {a.status}->{b.status} {b.check:7} "
                         f"{b.resource_name or b.resource}: {b.message}")
        return "\n".join(visible(line) for line in lines) + "\n"


def diff(before: ScanResult, after: ScanResult, before_label: str = "before",
         after_label: str = "after") -> Diff:
    old = {f.id: f for f in before.findings}
    new = {f.id: f for f in after.findings}
    out = Diff(before_label, after_label)
    for fid in sorted(set(old) | set(new)):
        a, b = old.get(fid), new.get(fid)
        a_bad = a is not None and a.status in PROBLEMS
        b_bad = b is not None and b.status in PROBLEMS
        if b_bad and not a_bad:
            out.new.append(b)  # type: ignore[arg-type]
        elif a_bad and not b_bad:
            out.resolved.append(a)  # type: ignore[arg-type]
        elif a_bad and b_bad and a is not None and b is not None and (
                a.status, a.severity, a.message) != (b.status, b.severity, b.message):
            out.changed.append((a, b))
        else:
            out.unchanged += 1
    return out
