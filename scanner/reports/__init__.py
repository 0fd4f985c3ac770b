"""Output formats. Each renders the one `ScanResult`; the registry maps --format names.

`FORMATS[name](result, timestamps)` renders any format. The formats that describe the checks
(title, rationale, remediation, references: sarif, junit, ocsf, csv, and the claim reports
markdown and html, which summarise by compliance framework) take the check
catalogue as a third argument and load the registered checks when it is not given; `render`
passes it along, so checks loaded with --checks-dir are described too.

A format's module is imported when it is first used (`render`, `write`, `FORMATS`,
`DESCRIBING`): the command line lists the names without paying for every renderer's
imports at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from scanner.check import Check
    from scanner.reports.view import View
    from scanner.result import ScanResult

# name -> module under scanner.reports whose `render` writes it
MODULES: dict[str, str] = {
    "table": "table",
    "json": "json_report",
    "jsonl": "jsonl",
    "markdown": "markdown",
    "html": "html",
    "sarif": "sarif",
    "junit": "junit",
    "ocsf": "ocsf",
    "csv": "csv_report",
}
# the formats whose renderer takes the check catalogue
DESCRIBING_NAMES = frozenset({"sarif", "junit", "ocsf", "csv", "markdown", "html"})
# Formats that are bytes, not text: written by `write` only (`pdf` needs the extra).
BINARY = ("pdf",)
NAMES = tuple(sorted([*MODULES, *BINARY]))


def _module(name: str) -> Any:
    return import_module(f"scanner.reports.{MODULES[name]}")


def __getattr__(attr: str) -> Any:
    """`FORMATS` and `DESCRIBING`: every renderer by name (imports them all)."""
    if attr == "FORMATS":
        return {name: _module(name).render for name in MODULES}
    if attr == "DESCRIBING":
        return {name: _module(name).render for name in MODULES if name in DESCRIBING_NAMES}
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def render(name: str, result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None, *, width: int | None = None,
           view: View | None = None) -> str:
    """Render `result` in format `name`; `checks` describes the checks (default: registry);
    `width`: the terminal's columns for the table (None: full text); `view`: the findings
    the human reports (table, markdown, html) show."""
    module = _module(name)
    if name == "table":
        return str(module.render(result, timestamps, width, view))
    if name in ("markdown", "html"):
        return str(module.render(result, timestamps, checks, view))
    if name in DESCRIBING_NAMES:
        return str(module.render(result, timestamps, checks))
    return str(module.render(result, timestamps))


def write(name: str, result: ScanResult, out: BinaryIO, timestamps: bool = True,
          checks: Mapping[str, Check] | None = None, *, width: int | None = None,
          view: View | None = None) -> None:
    """Write `render(...)` to a binary stream as UTF-8 (the JSON report is streamed: a
    large estate's report is never one string in memory); `pdf` as PDF bytes."""
    if name == "pdf":
        from scanner.reports import pdf  # WeasyPrint: only when asked for

        out.write(pdf.render(result, timestamps, checks, view))
    elif name == "json":
        from scanner.reports import json_report

        json_report.write(result, out, timestamps)
    else:
        # a lone surrogate (a v2 snapshot's "\\ud800" in a name) as its escape `\\ud800`:
        # the JSON escape in SARIF/OCSF, a visible one elsewhere; never an encoding crash
        text = render(name, result, timestamps, checks, width=width, view=view)
        out.write(text.encode("utf-8", "backslashreplace"))
