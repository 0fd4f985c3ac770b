"""Suppressions: accepted findings, each with a reason, an owner and an expiry date.

    [[suppress]]
    check = "NET-02"                                  # a check id
    resource = "hetzner:acme/server/105"              # resource id or name; globs allowed
    reason = "WireGuard host: SSH from the office"    # required
    owner = "ops@example.com"                         # required
    expires = 2026-12-31                              # required, a TOML date

A suppressed finding stays in every report with status `suppressed` and the suppression in its
evidence; exit codes count only unsuppressed findings. From its expiry date on, a suppression
no longer applies: the finding is back, and the report names the expired suppression.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from scanner import inputs
from scanner.errors import PostureError
from scanner.findings import Finding, Status

SUPPRESSIBLE = (Status.FAIL, Status.ERROR)


class SuppressionError(PostureError):
    pass


@dataclass(frozen=True, slots=True)
class Suppression:
    check: str
    resource: str
    reason: str
    owner: str
    expires: date

    def matches(self, f: Finding) -> bool:
        if not fnmatch.fnmatchcase(f.check, self.check.upper()):
            return False
        return any(fnmatch.fnmatchcase(value, self.resource)
                   for value in (f.resource, f.resource_name) if value)

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "resource": self.resource, "reason": self.reason,
                "owner": self.owner, "expires": self.expires.isoformat()}


def load(path: Path) -> list[Suppression]:
    data = inputs.read_toml(path, f"{path}: no such suppressions file", SuppressionError)
    unknown = sorted(set(data) - {"suppress"})
    if unknown:
        raise SuppressionError(f"{path}: unknown key {unknown[0]} (expected [[suppress]] tables)")
    entries = data.get("suppress", [])
    if not isinstance(entries, list):
        raise SuppressionError(f"{path}: suppress must be an array of tables ([[suppress]])")
    return [_entry(path, i, raw) for i, raw in enumerate(entries)]


def _entry(path: Path, i: int, raw: Any) -> Suppression:
    where = f"{path}: suppress[{i}]"
    if not isinstance(raw, dict):
        raise SuppressionError(f"{where} must be a table")
    allowed = {"check", "resource", "reason", "owner", "expires"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise SuppressionError(f"{where}: unknown key {extra[0]}")
    for key in ("check", "resource", "reason", "owner"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise SuppressionError(f"{where}: {key} is required (a non-empty string)")
    expires = raw.get("expires")
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            raise SuppressionError(f"{where}: expires {expires!r} is not a date") from None
    if not isinstance(expires, date):
        raise SuppressionError(f"{where}: expires is required (a date such as 2026-12-31): "
                               "a suppression without an end is a silent exception")
    return Suppression(raw["check"].strip(), raw["resource"].strip(), raw["reason"].strip(),
                       raw["owner"].strip(), expires)


def apply(findings: Iterable[Finding], suppressions: list[Suppression], today: date
          ) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Suppress what active suppressions cover; return the findings and the expired ones
    that matched a finding (so the report can say they came back)."""
    out: list[Finding] = []
    expired: dict[int, dict[str, Any]] = {}
    for f in findings:
        if f.status not in SUPPRESSIBLE:
            out.append(f)
            continue
        active = next((s for s in suppressions if s.matches(f) and today < s.expires), None)
        if active is not None:
            out.append(replace(f, status=Status.SUPPRESSED,
                               evidence={**f.evidence, "suppression": active.to_json(),
                                         "suppressed_status": str(f.status)}))
            continue
        lapsed = next((s for s in suppressions if s.matches(f)), None)
        if lapsed is not None:
            f = replace(f, evidence={**f.evidence, "expired_suppression": lapsed.to_json()})
            entry = expired.setdefault(id(lapsed), {**lapsed.to_json(), "findings": []})
            entry["findings"].append(f.id)
        out.append(f)
    return out, list(expired.values())


def unused(suppressions: list[Suppression], findings: Iterable[Finding], ran: Iterable[str],
           known: Iterable[str]) -> list[tuple[Suppression, str]]:
    """The suppressions that match nothing, each with why: its check pattern names no known
    check, or its check ran and no failed, unreadable or suppressed finding matched it (the
    resource was renamed, fixed or mistyped). A suppression for a check that did not run
    (--checks) is not judged."""
    problems = [f for f in findings if f.status in (*SUPPRESSIBLE, Status.SUPPRESSED)]
    known, ran = list(known), list(ran)
    out: list[tuple[Suppression, str]] = []
    for s in suppressions:
        pattern = s.check.upper()
        if not any(fnmatch.fnmatchcase(c, pattern) for c in known):
            out.append((s, "names no known check"))
        elif (any(fnmatch.fnmatchcase(c, pattern) for c in ran)
              and not any(s.matches(f) for f in problems)):
            out.append((s, "matches no failed or unreadable finding"))
    return out
