"""Output formats. Each renders the one `ScanResult`; the registry maps --format names.

`FORMATS[name](result, timestamps)` renders any format. The formats that describe the checks
(title, rationale, remediation, references: sarif, junit, ocsf, csv, and the claim reports
markdown and html, which summarise by compliance framework) take the check
catalogue as a third argument and load the registered checks when it is not given; `render`
passes it along, so checks loaded with --checks-dir are described too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import BinaryIO

from scanner.check import Check
from scanner.reports import csv_report, html, json_report, junit, markdown, ocsf, sarif, table
from scanner.reports.view import View
from scanner.result import ScanResult

Renderer = Callable[[ScanResult, bool], str]
CatalogueRenderer = Callable[[ScanResult, bool, Mapping[str, Check] | None], str]

DESCRIBING: dict[str, CatalogueRenderer] = {
    "sarif": sarif.render,
    "junit": junit.render,
    "ocsf": ocsf.render,
    "csv": csv_report.render,
    "markdown": markdown.render,
    "html": html.render,
}

FORMATS: dict[str, Renderer] = {
    "table": table.render,
    "json": json_report.render,
    "markdown": markdown.render,
    "html": html.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "ocsf": ocsf.render,
    "csv": csv_report.render,
}


def render(name: str, result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None, *, width: int | None = None,
           view: View | None = None) -> str:
    """Render `result` in format `name`; `checks` describes the checks (default: registry);
    `width`: the terminal's columns for the table (None: full text); `view`: the findings
    the human reports (table, markdown, html) show."""
    if name == "table":
        return table.render(result, timestamps, width, view)
    if name == "markdown":
        return markdown.render(result, timestamps, checks, view)
    if name == "html":
        return html.render(result, timestamps, checks, view)
    describing = DESCRIBING.get(name)
    if describing is not None:
        return describing(result, timestamps, checks)
    return FORMATS[name](result, timestamps)


# Formats that are bytes, not text: written by `write` only (`pdf` needs the extra).
BINARY = ("pdf",)
NAMES = tuple(sorted([*FORMATS, *BINARY]))


def write(name: str, result: ScanResult, out: BinaryIO, timestamps: bool = True,
          checks: Mapping[str, Check] | None = None, *, width: int | None = None,
          view: View | None = None) -> None:
    """Write `render(...)` to a binary stream as UTF-8 (the JSON report is streamed: a
    large estate's report is never one string in memory); `pdf` as PDF bytes."""
    if name == "pdf":
        from scanner.reports import pdf  # WeasyPrint: only when asked for

        out.write(pdf.render(result, timestamps, checks, view))
    elif name == "json":
        json_report.write(result, out, timestamps)
    else:
        # a lone surrogate (a v2 snapshot's "\\ud800" in a name) as its escape `\\ud800`:
        # the JSON escape in SARIF/OCSF, a visible one elsewhere; never an encoding crash
        text = render(name, result, timestamps, checks, width=width, view=view)
        out.write(text.encode("utf-8", "backslashreplace"))
