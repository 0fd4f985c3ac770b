"""Terminal table: findings that need attention grouped by severity, then a summary line.

Every text from the estate (resource names, regions, messages quoting them, the profile's
name) is shown through `scanner.display.visible`: a control character, an ESC sequence or a
bidi override in a name is printed as a visible escape (`\x1b[31m`, `\u202e`), so it can
neither drive the terminal nor break the table's rows. Cells are never parsed as numbers (a
resource named `007` or `1e5` is shown as it is named).
"""

from __future__ import annotations

from tabulate import tabulate

from scanner.display import visible
from scanner.findings import Severity, Status
from scanner.reports.changes import headline
from scanner.result import ScanResult

SHOWN = (Status.FAIL, Status.ERROR)


def _short(text: str, width: int = 70) -> str:
    text = visible(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(result: ScanResult, timestamps: bool = True) -> str:
    new_since = headline(result)
    lines: list[str] = [new_since] if new_since else []
    if new_since and result.findings:
        lines.append("")
    for severity in Severity:
        rows = [
            [str(f.status).upper(), visible(f.check), _short(f.resource_name or f.resource, 40),
             visible(f.region or ""), _short(f.message)]
            for f in result.findings
            if f.severity is severity and f.status in SHOWN
        ]
        if not rows:
            continue
        lines.append(f"{severity.value.upper()} ({len(rows)})")
        lines.append(tabulate(rows, headers=["status", "check", "resource", "region", "finding"],
                              tablefmt="simple", disable_numparse=True))
        lines.append("")
    summary = result.summary()
    st = summary["by_status"]
    claims = summary["claims"]
    if new_since is None:
        lines.append(
            f"{summary['resources']} resources, {len(result.checks)} "
            f"check{'s' if len(result.checks) != 1 else ''}: "
            f"{st['fail']} failed, {st['error']} errors, {st['pass']} passed, "
            f"{st['skip']} skipped"
            + (f", {st['suppressed']} suppressed" if st["suppressed"] else "")
        )
    if result.claims:
        lines.append(
            f"claims of {visible(str(result.profile.get('name')))}"
            + (" decided by a new finding" if new_since else "") + ": "
            f"{claims['verified']} verified, "
            f"{claims['contradicted']} contradicted, {claims['unknown']} unknown, "
            f"{claims['not_verifiable']} not verifiable"
            + (f", {claims['not_assessed']} not assessed" if claims["not_assessed"] else "")
        )
    for entry in result.expired_suppressions:
        lines.append(visible(
            f"EXPIRED suppression of {entry.get('check')} on {entry.get('resource')} "
            f"(expired {entry.get('expires')}, owner {entry.get('owner')}): "
            f"{len(entry.get('findings', []))} finding(s) count again"))
    if not summary["complete"]:
        lines.append("INCOMPLETE: some scopes could not be read; their checks report errors.")
    return "\n".join(lines) + "\n"
