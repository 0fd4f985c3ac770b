"""Wrong-type sweep: every raw field of each snapshot fixture (one object per collection)
given a falsy value of another type ({} or 0 for an array, [] or 0 for an object, 0 or []
for a string, ...), re-sealed and scanned; prints FLIP (a fail or error turned pass), CRASH
(a traceback, a bad exit) and REFUSED (exit 2: the whole scan refused) lines as they are
found, and a summary line at the end.

    python -m tests.fuzz_sweep_types [FIXTURE-NAME-SUBSTRING...]

POSTURE_SWEEP_STRIDE=N runs every Nth mutation only (a sample across every fixture: the
whole sweep is about 8,700 scans), from POSTURE_SWEEP_OFFSET (default 0).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from tests.fuzz_mutations import (
    BadOutcome,
    get_at,
    key_paths,
    outcome,
    sealed_text,
    set_at,
    statuses,
    trimmed,
)
from tests.helpers import ROOT

STRIDE = max(1, int(os.environ.get("POSTURE_SWEEP_STRIDE", "1") or 1))
OFFSET = int(os.environ.get("POSTURE_SWEEP_OFFSET", "0") or 0)


def object_name(obj: Any, index: int) -> str:
    """How scanner.quarantine names a raw object (its id), to tell its resources' findings
    from the others' (by substring: a rough cut, it only reports)."""
    from scanner.quarantine import object_name as name
    return name(obj, index)


def candidates(value: Any) -> list[Any]:
    if isinstance(value, list) and value:
        return [{}, 0]
    if isinstance(value, dict) and value:
        return [[], 0]
    if isinstance(value, str) and value:
        return [0, []]
    if isinstance(value, bool):
        return [""] if value else ["x"]
    if isinstance(value, int | float):
        return [""]
    return []


def unsafe(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]
           ) -> list[tuple[str, str]]:
    """Findings that were `fail` or `error` and are `pass` now."""
    return [k for k, s in before.items() if s in ("fail", "error") and after.get(k) == "pass"]


def main() -> None:
    logging.disable(logging.CRITICAL)
    only = sys.argv[1:]
    files = [ROOT / "docs" / "examples" / "snapshots" / "minimal-hetzner.json",
             *sorted(p for p in (ROOT / "fixtures").rglob("*.json")
                     if b"posture-snapshot" in p.read_bytes()[:2000])]
    tmp = Path(tempfile.mkdtemp(prefix="posture-sweep-"))
    scan = ("--format", "json", "--no-timestamps")
    count: Counter[str] = Counter()
    seen = -1
    for f in files:
        if only and not any(o in f.name for o in only):
            continue
        base = trimmed(json.loads(f.read_text()), 1)
        path = tmp / "b.json"
        path.write_bytes(sealed_text(base, 1))
        before = statuses(outcome(("scan", str(path), *scan), f.name).stdout)
        for key_path in key_paths(base):
            if len(key_path) < 7 or key_path[2] != "collections":
                continue
            for value in candidates(get_at(base, key_path)):
                seen += 1
                if (seen - OFFSET) % STRIDE:
                    continue
                count["mutations"] += 1
                path.write_bytes(sealed_text(set_at(base, key_path, value), 1))
                try:
                    result = outcome(("scan", str(path), *scan), f"{key_path}={value!r}")
                except BadOutcome as exc:
                    count["crash"] += 1
                    print("CRASH", f.name, key_path, repr(value), str(exc)[:300], flush=True)
                    continue
                if result.code == 2:
                    count["refused"] += 1
                    print("REFUSED", f.name, key_path[3], key_path[6:], repr(value),
                          result.stderr.strip()[:200], flush=True)
                    continue
                after = statuses(result.stdout)
                flips = unsafe(before, after)
                name = object_name(get_at(base, key_path[:6]), 0).lower()
                # another resource's verdict that changed other than to `error` (what a
                # malformed object feeds is `error`: fail closed)
                others = [k for k, v in before.items() if after.get(k) not in (v, "error")
                          and name not in k[1].lower()]
                if others:
                    count["collateral"] += 1
                    print("OTHERS", f.name, key_path[3], key_path[6:], repr(value),
                          [(k, before[k], after.get(k)) for k in others[:3]], flush=True)
                if flips:
                    count["flip"] += 1
                    print("FLIP", f.name, key_path[3], key_path[6:], repr(value),
                          flips[:3], flush=True)
    print(f"SUMMARY mutations={count['mutations']} traceback={count['crash']} "
          f"refused_exit2={count['refused']} pass_from_fail_or_error={count['flip']} "
          f"another_resource_verdict_changed_not_to_error={count['collateral']}",
          flush=True)


if __name__ == "__main__":
    main()
