"""What `scan --since SCAN --only-new` reports say first: "N new since scan #ID of DATE"."""

from __future__ import annotations

from scanner.display import visible
from scanner.result import ScanResult


def only_new(result: ScanResult) -> bool:
    """The result holds only what is new since an earlier scan (`--only-new`)."""
    return bool(result.changes and result.changes.get("only_new"))


def headline(result: ScanResult) -> str | None:
    """`3 new since scan #12 of 2026-12-05T02:00:00Z (2 resolved, 0 changed)`, or None when
    the result is not an --only-new one. The earlier scan's label is shown escaped."""
    if not only_new(result):
        return None
    changes = result.changes or {}
    counts = changes.get("counts", {})
    return visible(f"{counts.get('new', 0)} new since {changes.get('before', 'the last scan')} "
                   f"({counts.get('resolved', 0)} resolved, {counts.get('changed', 0)} "
                   "changed)")


def quiet(result: ScanResult) -> bool:
    """An --only-new result with nothing new: every format writes a short report."""
    return only_new(result) and not result.findings and not result.claims
