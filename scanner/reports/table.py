"""Terminal table: findings that need attention grouped by severity, then a summary line.

Every text from the estate (resource names, regions, messages quoting them, the profile's
name) is shown through `scanner.display.visible`: a control character, an ESC sequence or a
bidi override in a name is printed as a visible escape (`\x1b[31m`, `\u202e`), so it can
neither drive the terminal nor break the table's rows. Cells are never parsed as numbers (a
resource named `007` or `1e5` is shown as it is named).

On a terminal (`width` given) the table fits it: long resource names and messages wrap onto
more lines of their cell, never cut. Elsewhere (a pipe, a file, CI logs) every text is shown
in full on one line.
"""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from scanner.display import visible
from scanner.findings import Finding, Severity, Status
from scanner.reports.changes import headline
from scanner.reports.view import View
from scanner.result import ScanResult

SHOWN = (Status.FAIL, Status.ERROR)
HEADERS = ["status", "check", "resource", "region", "finding"]
MIN_FINDING_WIDTH = 24  # narrower terminals still get readable messages (and wider rows)


def _wrap(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text, width, break_long_words=True,
                                   break_on_hyphens=False)) or text


MAX_CELL = 2000  # characters of one cell: every real name and message fits; a hostile 16 MiB
# name would otherwise be padded into every row of its column


def _bounded(text: str) -> str:
    text = visible(text)
    if len(text) <= MAX_CELL:
        return text
    return f"{text[:MAX_CELL]}… ({len(text) - MAX_CELL} more characters)"


def _cells(findings: list[Finding]) -> list[list[str]]:
    return [[str(f.status).upper(), _bounded(f.check), _bounded(f.resource_name or f.resource),
             _bounded(f.region or ""), _bounded(f.message)] for f in findings]


def _table(findings: list[Finding], width: int | None) -> str:
    """The rows of one severity as a table; on a terminal of `width` columns, resource names
    get up to a third of what the fixed columns leave and messages the rest, both wrapped."""
    cells = _cells(findings)

    def draw(name_width: int | None, message_width: int | None) -> str:
        rows = [[r[0], r[1], _wrap(r[2], name_width), r[3], _wrap(r[4], message_width)]
                for r in cells]
        return tabulate(rows, headers=HEADERS, tablefmt="simple", disable_numparse=True)

    text = draw(None, None)
    longest = max(len(line) for line in text.splitlines())
    if width is None or longest <= width:
        return text
    longest_name = max(len(HEADERS[2]), *(len(r[2]) for r in cells))
    longest_message = max(len(HEADERS[4]), *(len(r[4]) for r in cells))
    free = longest_name + longest_message - (longest - width)  # what the two may take
    name_width = max(len(HEADERS[2]) + 2, min(longest_name, free // 3))
    message_width = max(MIN_FINDING_WIDTH, free - name_width)
    return draw(name_width, message_width)


def render(result: ScanResult, timestamps: bool = True, width: int | None = None,
           view: View | None = None) -> str:
    """The table; `width`: the terminal's columns (None: not a terminal, nothing wrapped);
    `view`: which findings are rows (default: failed and unreadable ones)."""
    view = view or View()
    new_since = headline(result)
    lines: list[str] = [new_since] if new_since else []
    if new_since and result.findings:
        lines.append("")
    for severity in Severity:
        shown = [f for f in result.findings
                 if f.severity is severity and view.shows(f, SHOWN)]
        if not shown:
            continue
        lines.append(f"{severity.value.upper()} ({len(shown)})")
        lines.append(_table(shown, width))
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
            + (f"; {summary['unassessed']} not assessed" if summary["unassessed"] else "")
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
    if view.active:
        lines.append(view.describe())
    for entry in result.expired_suppressions:
        lines.append(visible(
            f"EXPIRED suppression of {entry.get('check')} on {entry.get('resource')} "
            f"(expired {entry.get('expires')}, owner {entry.get('owner')}): "
            f"{len(entry.get('findings', []))} finding(s) count again"))
    if not summary["complete"]:
        lines.append("INCOMPLETE: some scopes could not be read; their checks report errors.")
    return "\n".join(lines) + "\n"
