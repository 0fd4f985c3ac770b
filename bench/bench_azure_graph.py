"""Azure Resource Graph fast path benchmark: calls and wall time of a live scan of many
subscriptions, with and without `--azure-resource-graph`, on the local ARM server.

    python bench/bench_azure_graph.py                      # 20 subscriptions, 1 run each
    python bench/bench_azure_graph.py --latency-ms 40      # a round trip per call
    python bench/bench_azure_graph.py --subscriptions 50 --repeat 3

The estate: `--subscriptions` copies of the bundled fixtures seed000 and seed001 (every
resource of each re-homed into a subscription of its own: tests/azure_arm_server.copies),
served by tests/azure_arm_server.py over HTTPS on loopback; lists are paged 100 objects a
page (ARM's usual), Resource Graph 1,000 rows. The real CLI (`posture scan azure
--profile default --format json`) runs as a child process, with the fast path off and on
interleaved (off, on, off, on, ...), so that both see the same machine load; the server's
request log gives the calls. The two reports must judge the same (findings, claims, errors)
or the bench fails. Prints a table with the load average and writes
bench/out/azure_graph.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.azure_arm_server import ArmServer, copies, sections_of  # noqa: E402
from tests.helpers import claims_of, findings_of  # noqa: E402  (results format 1 or 2)

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.bench-token"
SEEDS = (ROOT / "fixtures" / "azure" / "seed000-azure.json",
         ROOT / "fixtures" / "azure" / "seed001-azure.json")


def judged(doc: dict[str, Any]) -> Any:
    findings = [{k: ({e: x for e, x in v.items() if e != "as_of"} if k == "evidence"
                     and isinstance(v, dict) else v) for k, v in f.items()}
                for f in findings_of(doc)]
    return findings, claims_of(doc), doc["errors"]


def one_run(arm: ArmServer, mode: str, out: Path) -> dict[str, Any]:
    arm.requests.clear()
    env = {**os.environ, "POSTURE_AZURE_ARM_ENDPOINT": arm.url,
           "POSTURE_AZURE_ACCESS_TOKEN": TOKEN, "REQUESTS_CA_BUNDLE": arm.ca_file}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "scanner.cli", "scan", "azure", "--profile",
                           "default", "--format", "json", "--no-timestamps", "-o", str(out),
                           "--azure-resource-graph", mode], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"scan ({mode}) failed: {proc.stderr.strip()}")
    methods = Counter(m for m, _ in arm.requests)
    return {"mode": mode, "wall": wall, "calls": sum(methods.values()),
            "get": methods["GET"], "post": methods["POST"],
            "report": judged(json.loads(out.read_text()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=20,
                        help="copies of the two fixture subscriptions, halved (default 20)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="milliseconds added to every answer (default 0)")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved runs per mode")
    args = parser.parse_args()
    base = {}
    for seed in SEEDS:
        base.update(sections_of(seed))
    estate = copies(base, max(1, args.subscriptions // len(base)))
    objects = sum(len(o) for cols in estate.values() for o in cols.values())
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    with ArmServer(estate, token=TOKEN, page_size=100, graph_page_size=1000) as arm, \
            tempfile.TemporaryDirectory() as tmp:
        arm.latency = args.latency_ms / 1000
        for i in range(args.repeat):
            for mode in ("off", "on"):
                runs.append(one_run(arm, mode, Path(tmp) / f"{mode}-{i}.json"))
    load_after = os.getloadavg()
    reports = {json.dumps(r.pop("report"), sort_keys=True) for r in runs}
    if len(reports) != 1:
        raise SystemExit("the fast path changed the report: findings, claims or errors differ")
    table = {}
    for mode in ("off", "on"):
        mine = [r for r in runs if r["mode"] == mode]
        table[mode] = {"wall_median": statistics.median(r["wall"] for r in mine),
                       "calls": mine[0]["calls"], "get": mine[0]["get"],
                       "post": mine[0]["post"], "walls": [r["wall"] for r in mine]}
    ratio_wall = table["off"]["wall_median"] / table["on"]["wall_median"]
    ratio_calls = table["off"]["calls"] / max(1, table["on"]["calls"])
    print(f"{len(estate)} subscriptions, {objects} objects, latency {args.latency_ms:g} ms, "
          f"{args.repeat} interleaved run(s) per mode")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print("| Resource Graph | calls (GET + POST) | wall (median) |")
    print("|---|---|---|")
    for mode in ("off", "on"):
        row = table[mode]
        print(f"| {mode} | {row['calls']} ({row['get']} + {row['post']}) | "
              f"{row['wall_median']:.1f} s |")
    print(f"off/on: {ratio_calls:.1f}x the calls, {ratio_wall:.2f}x the wall time; "
          "reports judge the same")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "azure_graph.json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "subscriptions": len(estate), "objects": objects, "latency_ms": args.latency_ms,
        "load_before": load_before, "load_after": load_after, "modes": table,
        "ratio_calls": ratio_calls, "ratio_wall": ratio_wall}, indent=2) + "\n")


if __name__ == "__main__":
    main()
