"""Fault benchmark: live scans against the local cloud servers with seeded faults.

    python bench/bench_faults.py                        # 10 seeds per cloud, 30% of calls
    python bench/bench_faults.py --runs 25 --rate 0.4 --clouds hetzner
    python bench/bench_faults.py --hetzner-copies 20    # 120 servers: 3 list pages

For each cloud (Hetzner: tests/hcloud_server.py; Azure: the HTTPS ARM server of
tests/azure_arm_server.py; AWS: moto with the estate of tests/aws_estate.py behind the
fault-injecting proxy of tests/aws_proxy.py) and each seed 1..N, a clean live scan and the
same scan with the server's fault mode on (a seeded fraction of calls answers throttling:
429 with Retry-After, or on AWS the service's own throttling error in its protocol's shape;
a 5xx; an answer slower than the client's timeout; or drops the connection; a call is
faulted at most twice): the scan must complete with the clean scan's findings. Then, per
cloud, the "stays down" scenarios (one collection, or on AWS one operation or a whole
service, 503 or 403 on every call, with transient faults on the rest): exit 3 (where the
clean scan exits 0), errors for exactly that scope with the right reason, no pass on what
could not be read.

Reported per cloud and scenario: scans, calls made, calls retried, faults injected by kind,
scans completed, scans with the clean findings, false passes (must be 0), wall time. The
real CLI runs in-process with --retry-base-seconds 0.01 --max-retries 3 and --timeout 1
(AWS: 4; botocore's standard retry mode keeps its own backoff) (the harness is
tests/fault_harness.py, shared with tests/test_faults.py). Results: a table on stdout and
bench/out/faults.json; the exit code is 1 when any false pass, incomplete scan, error
outside the scope or missing error was seen.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import platform
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fault_harness import (  # noqa: E402
    CLOUDS,
    DOWN,
    Cloud,
    Outcome,
    down,
    hetzner_server,
    transient,
)


def aggregate(cloud: str, scenario: str, outcomes: list[Outcome]) -> dict[str, Any]:
    faults: Counter[str] = Counter()
    for o in outcomes:
        faults.update(o.faults)
    return {
        "cloud": cloud,
        "scenario": scenario,
        "scans": len(outcomes),
        "calls": sum(o.calls for o in outcomes),
        "retried": sum(o.retried for o in outcomes),
        "faults": dict(sorted(faults.items())),
        "completed": sum(o.completed for o in outcomes),
        "identical": sum(o.identical for o in outcomes) if scenario == "transient" else None,
        "exit_3": sum(o.exit_code == 3 for o in outcomes) if scenario != "transient" else None,
        "false_passes": sum(len(o.false_passes) for o in outcomes),
        "wrong_scope": sum(len(o.unexpected_errors) + len(o.changed_outside_scope)
                           + len(o.missing_errors) for o in outcomes),
        "seconds": round(sum(o.seconds for o in outcomes), 2),
    }


def bench(cloud: Cloud, runs: int, rate: float) -> tuple[list[dict[str, Any]], list[Outcome]]:
    rows: list[dict[str, Any]] = []
    every: list[Outcome] = []
    outcomes: list[Outcome] = []
    for seed in range(1, runs + 1):
        outcomes.append(transient(cloud, seed, rate))
        print(f"  {cloud.name} transient seed {seed}: {outcomes[-1].faults}", file=sys.stderr)
    rows.append(aggregate(cloud.name, "transient", outcomes))
    every += outcomes
    for collection, how in DOWN.get(cloud.name, ()):
        outcomes = [down(cloud, collection, how, seed=seed, rate=rate / 2)
                    for seed in range(1, max(2, runs // 3) + 1)]
        print(f"  {cloud.name} {how} {collection}: {[o.exit_code for o in outcomes]}",
              file=sys.stderr)
        rows.append(aggregate(cloud.name, f"{how} {collection}", outcomes))
        every += outcomes
    return rows, every


def table(rows: list[dict[str, Any]]) -> str:
    head = ("cloud", "scenario", "scans", "calls", "retried", "faults", "completed",
            "same findings", "exit 3", "false passes", "wrong scope", "s")
    lines = [head]
    for r in rows:
        faults = ", ".join(f"{k} {v}" for k, v in r["faults"].items()) or "-"
        lines.append((r["cloud"], r["scenario"], str(r["scans"]), str(r["calls"]),
                      str(r["retried"]), faults, str(r["completed"]),
                      "-" if r["identical"] is None else str(r["identical"]),
                      "-" if r["exit_3"] is None else str(r["exit_3"]),
                      str(r["false_passes"]), str(r["wrong_scope"]), str(r["seconds"])))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                     for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="seeds per cloud (default 10)")
    parser.add_argument("--rate", type=float, default=0.3,
                        help="fraction of calls faulted (default 0.3)")
    parser.add_argument("--clouds", default=",".join(CLOUDS),
                        help=f"comma-separated (default {','.join(CLOUDS)})")
    parser.add_argument("--hetzner-copies", type=int, default=1,
                        help="copies of each seed server (more list pages; default 1)")
    args = parser.parse_args()
    clouds = [c.strip() for c in args.clouds.split(",") if c.strip()]
    unknown = [c for c in clouds if c not in CLOUDS]
    if unknown:
        parser.error(f"no fault harness for {', '.join(unknown)} (known: {', '.join(CLOUDS)};"
                     " add a Cloud to tests/fault_harness.CLOUDS)")
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    outcomes: list[Outcome] = []
    for name in clouds:
        cloud = CLOUDS[name]
        if name == "hetzner" and args.hetzner_copies > 1:
            cloud = dataclasses.replace(
                cloud, start=functools.partial(hetzner_server, args.hetzner_copies))
        got_rows, got = bench(cloud, args.runs, args.rate)
        rows += got_rows
        outcomes += got
    print(table(rows))
    bad = [o for o in outcomes if o.false_passes or not o.completed or o.unexpected_errors
           or o.changed_outside_scope or o.missing_errors
           or (o.scenario == "transient" and not o.identical)
           or (o.scenario != "transient" and (o.exit_code != 3 or o.clean_exit_code != 0))]
    print(f"\n{len(outcomes)} scans in {time.perf_counter() - started:.0f} s; "
          f"{sum(len(o.false_passes) for o in outcomes)} false passes; "
          f"{len(bad)} scan(s) not as required")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "faults.json").write_text(json.dumps({
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "runs": args.runs, "rate": args.rate, "hetzner_copies": args.hetzner_copies,
        "rows": rows, "scans": [o.row() for o in outcomes],
    }, indent=1) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
