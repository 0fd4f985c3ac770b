"""Output formats. Each renders the one `ScanResult`; the registry maps --format names."""

from __future__ import annotations

from collections.abc import Callable

from scanner.reports import json_report, markdown, table
from scanner.result import ScanResult

Renderer = Callable[[ScanResult, bool], str]

FORMATS: dict[str, Renderer] = {
    "table": table.render,
    "json": json_report.render,
    "markdown": markdown.render,
}
