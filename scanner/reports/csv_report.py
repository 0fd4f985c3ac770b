"""CSV: one row per finding, in (check, resource) order, a fixed column order (COLUMNS).

RFC 4180: the csv module's quoting, CRLF line ends; UTF-8. `evidence` is compact JSON with
sorted keys; `references` is `ISO27001 A.8.20; GDPR Art. 32(1)(b)`. Any cell (an account,
a region, a resource name, a message: whoever names a cloud account or resource chooses
most of them) that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
leading `'`, so a spreadsheet shows it as text instead of running it as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping

from scanner.check import Check
from scanner.display import visible
from scanner.findings import Finding
from scanner.registry import load_checks
from scanner.reports.sarif import reference_tags
from scanner.result import ScanResult

COLUMNS = (
    "finding_id", "check", "check_title", "severity", "status", "provider", "account",
    "region", "resource", "resource_name", "resource_kind", "message", "evidence_level",
    "reason", "references", "evidence",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA) else value


def _row(f: Finding, check: Check | None) -> list[str]:
    row = {
        "finding_id": f.id,
        "check": f.check,
        "check_title": check.title if check is not None else "",
        "severity": str(f.severity),
        "status": str(f.status),
        "provider": f.provider,
        "account": f.account,
        "region": f.region or "",
        "resource": f.resource,
        "resource_name": f.resource_name,
        "resource_kind": f.resource_kind,
        "message": f.message,
        "evidence_level": str(f.evidence_level),
        "reason": f.reason or "",
        "references": "; ".join(reference_tags(check.references)) if check is not None else "",
        "evidence": json.dumps(f.evidence, sort_keys=True, ensure_ascii=False,
                               separators=(",", ":")),
    }
    # every column: the class, not a list; no control character reaches a terminal that
    # shows the file (`cat`): visible escapes, as the table report shows them
    return [_safe(visible(row[c])) for c in COLUMNS]


def render(result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None) -> str:
    catalogue = load_checks() if checks is None else checks
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # so a lone CR in a value is quoted
    writer.writerow(COLUMNS)
    for f in result.findings:
        writer.writerow(_row(f, catalogue.get(f.check)))
    return out.getvalue()
