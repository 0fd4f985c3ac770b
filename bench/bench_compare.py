"""Compare two posture installs on the same snapshot, runs interleaved.

    python bench/bench_compare.py --baseline /tmp/old-venv/bin/posture            # 100k
    python bench/bench_compare.py --baseline OLD --sizes 10k,100k --runs 5

On a noisy machine two benchmarks run one after the other measure the machine as much as
the code; here each run of the candidate (the `posture` beside this interpreter, unless
--candidate says otherwise) is followed by a run of the baseline on the same file, and a
bare `json.load` of the file is interleaved too, so the ratios compare like with like.
Both must produce the same JSON report (compared byte for byte with --no-timestamps):
an optimisation that changes a finding is a bug, not a speed-up.

Results: a table on stdout and bench/out/compare.json (medians, every run, ratios).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from bench.bench_scan import (  # noqa: E402
    JSON_LOAD,
    OUT,
    SUCCESS,
    ensure_snapshot,
    label,
    parse_size,
    posture_cmd,
    run_measured,
)


def scan_cmd(posture: list[str], path: Path, report: Path) -> list[str]:
    return [*posture, "scan", str(path), "--format", "json", "-o", str(report),
            "--profile", "default", "--no-timestamps"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="the other install's posture script")
    ap.add_argument("--candidate", help="posture script to measure (default: beside python)")
    ap.add_argument("--sizes", default="100k", help="comma-separated sizes (default 100k)")
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs of each (default 3)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    candidate = [args.candidate] if args.candidate else posture_cmd()
    baseline = [args.baseline]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (parse_size(s) for s in args.sizes.split(",")):
            path, _ = ensure_snapshot(n, args.seed, regen=False)
            runs: dict[str, list[dict[str, Any]]] = {"json_load": [], "candidate": [],
                                                     "baseline": []}
            for i in range(args.runs):
                for what, cmd in (
                        ("json_load", [sys.executable, "-c", JSON_LOAD, str(path)]),
                        ("candidate", scan_cmd(candidate, path, Path(tmp, f"c{i}.json"))),
                        ("baseline", scan_cmd(baseline, path, Path(tmp, f"b{i}.json")))):
                    got = run_measured(cmd)
                    if got["exit"] not in SUCCESS:
                        sys.exit(f"{what} failed (exit {got['exit']}): {got['stderr']}")
                    runs[what].append(got)
            same = all(Path(tmp, f"c{i}.json").read_bytes() == Path(tmp, f"b{i}.json")
                       .read_bytes() for i in range(args.runs))
            med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
            rss = {k: max(r["rss_mib"] for r in v) for k, v in runs.items()}
            rows.append({"size": label(n), "resources": n, "same_report": same,
                         "median_seconds": med, "peak_rss_mib": rss, "runs": runs,
                         "candidate_over_baseline": med["candidate"] / med["baseline"],
                         "candidate_over_json_load": med["candidate"] / med["json_load"],
                         "baseline_over_json_load": med["baseline"] / med["json_load"]})
    print("| size | json.load s | baseline s | candidate s | candidate/baseline "
          "| baseline/json.load | candidate/json.load | RSS MiB base/cand | same report |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        m, rss = r["median_seconds"], r["peak_rss_mib"]
        print(f"| {r['size']} | {m['json_load']:.2f} | {m['baseline']:.2f} | "
              f"{m['candidate']:.2f} | {r['candidate_over_baseline']:.2f} | "
              f"{r['baseline_over_json_load']:.2f}x | {r['candidate_over_json_load']:.2f}x | "
              f"{rss['baseline']:.0f}/{rss['candidate']:.0f} | {r['same_report']} |")
    OUT.mkdir(exist_ok=True)
    (OUT / "compare.json").write_text(json.dumps(
        {"date": datetime.now(UTC).isoformat(timespec="seconds"), "runs_each": args.runs,
         "baseline": args.baseline, "candidate": candidate, "results": rows}, indent=2) + "\n")
    return 0 if all(r["same_report"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
