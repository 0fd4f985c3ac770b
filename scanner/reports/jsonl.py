"""JSON Lines: one finding a line, each the flat object of results format 1 (every field of
the finding spelled out, keys sorted, compact), in report order. For `grep` and `jq -c`
one-liners; not a results file (`posture report` reads the `json` format)."""

from __future__ import annotations

from scanner.result import ScanResult
from scanner.result_tables import compact


def render(result: ScanResult, timestamps: bool = True) -> str:
    del timestamps  # a finding has no time
    return "".join(compact(f.to_json()).decode() + "\n" for f in result.findings)
