"""JSON: the stable, documented shape (docs/output-formats.md). Keys sorted, findings in
(check, resource) order: the same snapshot and profile give the same bytes."""

from __future__ import annotations

import json

from scanner.result import ScanResult


def render(result: ScanResult, timestamps: bool = True) -> str:
    return json.dumps(result.to_json(timestamps=timestamps), indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n"
