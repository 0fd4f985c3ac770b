"""Results file benchmark: format 1 (a flat object per finding) against format 2 (rows of
shared tables), in one run, interleaved.

    python bench/bench_report.py                      # 10k and 100k resources
    python bench/bench_report.py --sizes 10k,100k,1M  # 1M: minutes and several GB
    python bench/bench_report.py --snapshot FILE      # any snapshot, e.g. one already made

For each size it generates (or reuses, from bench/out/) a synthetic Hetzner snapshot with
bench/make_hetzner_snapshot.py and scans it once in-process (`posture scan FILE --format
json`, the default profile). From that one result it writes, --rounds times, alternately:

  (v1) format 1 as posture wrote it before format 2 (the streamed, indented flat document:
       `_write_v1` below is that writer, kept here to compare against);
  (v2) format 2 (`scanner.reports.json_report.write`, what `scan --format json` writes);

and reads each file back as `posture report` does (`scanner.cli._load_results`: read, parse,
validate, build the findings), in the same alternation. Prints bytes per finding, the size
ratio, the best write and read times of each and their ratios, and the load average at the
start and the end (the machine is shared: ratios measured in one run are what to compare,
never the seconds alone).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import BinaryIO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scanner import fastjson  # noqa: E402
from scanner.gcpause import gc_paused  # noqa: E402
from scanner.reports import json_report  # noqa: E402
from scanner.result import ScanResult  # noqa: E402

_BATCH = 4096
_HEAD, _TAIL = len(b'{\n  "f": ['), len(b'\n  ]\n}\n')


def _write_v1(result: ScanResult, out: BinaryIO, timestamps: bool = True) -> None:
    """The format 1 writer as it was (scanner/reports/json_report.py before format 2)."""
    with gc_paused():
        doc = result.to_json(timestamps=timestamps, findings=False)
        marker = f"posture-findings-{uuid.uuid4().hex}"
        doc["findings"] = marker
        head, tail = fastjson.dumps_indented(doc).split(b'"' + marker.encode() + b'"')
        out.write(head)
        findings = result.findings
        if not findings:
            out.write(b"[]")
        for i in range(0, len(findings), _BATCH):
            batch = fastjson.dumps_indented({"f": [f.to_json() for f in findings[i:i + _BATCH]]})
            out.write(b"[" if i == 0 else b",")
            out.write(memoryview(batch)[_HEAD:-_TAIL])
        if findings:
            out.write(b"\n  ]")
        out.write(tail)


def _size(text: str) -> int:
    text = text.strip().lower()
    for suffix, factor in (("m", 1_000_000), ("k", 1_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def _snapshot(n: int) -> Path:
    path = OUT / f"hetzner-{n}-s7.json"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "make_hetzner_snapshot.py"), str(n),
                        str(path)], check=True)
    return path


def _scan(snapshot: Path) -> ScanResult:
    from scanner.cli import _load_results, main

    tmp = OUT / f"bench-report-{os.getpid()}.json"
    with contextlib.suppress(SystemExit):  # exit 1: the estate has violations
        main(["scan", str(snapshot), "--format", f"json:{tmp}"], standalone_mode=False)
    try:
        return _load_results(tmp)
    finally:
        tmp.unlink(missing_ok=True)


def _timed_write(write: object, result: ScanResult, path: Path) -> float:
    start = time.perf_counter()
    with path.open("wb") as fh:
        write(result, fh)  # type: ignore[operator]
    return time.perf_counter() - start


def _timed_read(path: Path) -> float:
    from scanner.cli import _load_results

    start = time.perf_counter()
    _load_results(path)
    return time.perf_counter() - start


def bench(snapshot: Path, rounds: int, max_v1_read: int) -> dict[str, float]:
    result = _scan(snapshot)
    n = len(result.findings)
    v1, v2 = OUT / "bench-report-v1.json", OUT / "bench-report-v2.json"
    times: dict[str, list[float]] = {"w1": [], "w2": [], "r1": [], "r2": []}
    for _ in range(rounds):
        times["w1"].append(_timed_write(_write_v1, result, v1))
        times["w2"].append(_timed_write(json_report.write, result, v2))
    from scanner import snapshot as snapshots

    if v1.stat().st_size > snapshots.results_limit():  # format 1 at 1M: let it be read
        os.environ["POSTURE_MAX_RESULTS_BYTES"] = str(v1.stat().st_size)
    for _ in range(rounds):
        if v1.stat().st_size <= max_v1_read:  # format 1 validates every finding: minutes
            times["r1"].append(_timed_read(v1))
        times["r2"].append(_timed_read(v2))
    s1, s2 = v1.stat().st_size, v2.stat().st_size
    v1.unlink()
    v2.unlink()
    best = {k: min(v) if v else float("nan") for k, v in times.items()}
    return {"resources": result.resource_count, "findings": n, "v1_bytes": s1, "v2_bytes": s2,
            **best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k")
    parser.add_argument("--snapshot", type=Path, action="append", default=[])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-v1-read-mb", type=int, default=100,
                        help="read format 1 back only up to this size (default: 100)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    snapshots = args.snapshot or [_snapshot(_size(s)) for s in args.sizes.split(",")]
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'snapshot':<28} {'findings':>9} {'v1 B/f':>7} {'v2 B/f':>7} {'v2/v1':>6} "
          f"{'write v1':>9} {'write v2':>9} {'ratio':>6} {'read v1':>9} {'read v2':>9} "
          f"{'ratio':>6}")
    for snap in snapshots:
        r = bench(snap, args.rounds, args.max_v1_read_mb * 1_000_000)
        n = r["findings"] or 1
        print(f"{snap.name[:28]:<28} {int(r['findings']):>9} {r['v1_bytes'] / n:>7.0f} "
              f"{r['v2_bytes'] / n:>7.0f} {r['v2_bytes'] / r['v1_bytes']:>6.3f} "
              f"{r['w1']:>8.2f}s {r['w2']:>8.2f}s {r['w2'] / r['w1']:>6.2f} "
              f"{r['r1']:>8.2f}s {r['r2']:>8.2f}s {r['r2'] / r['r1']:>6.2f}", flush=True)
        print(f"  sizes: v1 {r['v1_bytes']:,} B, v2 {r['v2_bytes']:,} B; "
              f"{int(r['resources']):,} resources", flush=True)
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
