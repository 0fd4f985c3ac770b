"""Wrong-type sweep: every raw field of each snapshot fixture (one object per collection)
given a falsy value of another type ({} or 0 for an array, [] or 0 for an object, 0 or []
for a string, ...), re-sealed and scanned; prints FLIP (a fail turned pass) and CRASH lines
as they are found.

    python -m tests.fuzz_sweep_types [FIXTURE-NAME-SUBSTRING...]
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
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
    unsafe_flips,
)
from tests.helpers import ROOT


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


def main() -> None:
    logging.disable(logging.CRITICAL)
    only = sys.argv[1:]
    files = [ROOT / "docs" / "examples" / "snapshots" / "minimal-hetzner.json",
             *sorted(p for p in (ROOT / "fixtures").rglob("*.json")
                     if b"posture-snapshot" in p.read_bytes()[:2000])]
    tmp = Path(tempfile.mkdtemp(prefix="posture-sweep-"))
    scan = ("--format", "json", "--no-timestamps")
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
                path.write_bytes(sealed_text(set_at(base, key_path, value), 1))
                try:
                    result = outcome(("scan", str(path), *scan), f"{key_path}={value!r}")
                except BadOutcome as exc:
                    print("CRASH", f.name, key_path, repr(value), str(exc)[:300], flush=True)
                    continue
                if result.code != 2:
                    flips = unsafe_flips(before, statuses(result.stdout))
                    if flips:
                        print("FLIP", f.name, key_path[3], key_path[6:], repr(value),
                              flips[:3], flush=True)


if __name__ == "__main__":
    main()
