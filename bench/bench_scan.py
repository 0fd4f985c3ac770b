"""Scan benchmark: how `posture scan` scales with the size of a Hetzner snapshot.

    python bench/bench_scan.py                     # 10k, 100k and 1M resources
    python bench/bench_scan.py --sizes 10k,100k    # a subset (any N: 250k, 2000, ...)

For each size it generates (or reuses, from bench/out/) a synthetic snapshot with
bench/make_hetzner_snapshot.py, then runs, each in a fresh process:

  (a) json.load   `python -c "json.load(open(FILE, 'rb'))"`: the floor any scan pays;
  (b) scan        `posture scan FILE --format json -o /dev/null --profile default`: the real
                  CLI path (read, verify digest, validate, normalize, graph, exposure,
                  checks, JSON report).

Wall time is measured around the child; peak RSS is the child's ru_maxrss from wait4(). A
scan exits 1 when it finds violations (the synthetic estate has plenty), so exit codes 0, 1
and 3 count as success. Results: a table on stdout and bench/out/results.json.

Snapshots larger than posture's input limit (2 GiB unless $POSTURE_MAX_SNAPSHOT_BYTES says
otherwise) are refused by the CLI; the benchmark records that refusal, then measures the same
CLI with the limit raised to the file's size through that variable (marked `*` in the table
and `limit_raised` in results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
GENERATOR = HERE / "make_hetzner_snapshot.py"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.make_hetzner_snapshot import GENERATOR_VERSION  # noqa: E402
from scanner import snapshot  # noqa: E402

DEFAULT_SIZES = "10k,100k,1M"
SUCCESS = {0, 1, 3}  # clean, violations found, incomplete
JSON_LOAD = "import json, sys\nwith open(sys.argv[1], 'rb') as fh:\n    json.load(fh)\n"
LIMIT_ENV = getattr(snapshot, "LIMIT_ENV", "POSTURE_MAX_SNAPSHOT_BYTES")


def input_limit() -> int:
    """The size above which `posture scan` refuses a snapshot, in this environment."""
    limit = getattr(snapshot, "size_limit", None)
    return int(limit()) if callable(limit) else int(snapshot.MAX_BYTES)


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 10k, 100k, 1M, 2500)")
    scale = {"": 1, "k": 1000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `cmd` in a fresh process: wall seconds, peak RSS (MiB), exit code, stderr tail."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                            env=None if env is None else {**os.environ, **env})
    assert proc.stderr is not None
    err = b""
    # stderr is small (a scan logs nothing at the default level); drain it, then reap the
    # child ourselves so that its own rusage (not every child's) is ours to read.
    while chunk := proc.stderr.read(65536):
        err = (err + chunk)[-4000:]
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return {"seconds": round(wall, 3), "rss_mib": round(rss, 1), "exit": proc.returncode,
            "stderr": err.decode(errors="replace").strip()[-1000:]}


def posture_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("posture")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("posture")
    if found:
        return [found]
    return [sys.executable, "-m", "scanner.cli"]


def ensure_snapshot(n: int, seed: int, regen: bool) -> tuple[Path, dict[str, Any]]:
    path = OUT / f"hetzner-{label(n)}-s{seed}.json"
    meta_path = Path(f"{path}.meta.json")
    if not regen and path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if (meta.get("generator_version") == GENERATOR_VERSION and meta.get("n") == n
                and meta.get("seed") == seed and meta.get("bytes") == path.stat().st_size):
            return path, meta
    print(f"generating {path.name} ...", file=sys.stderr, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    gen = run_measured([sys.executable, str(GENERATOR), str(n), str(path), "--seed", str(seed)])
    if gen["exit"] != 0:
        raise SystemExit(f"generator failed for {n}: {gen['stderr']}")
    meta = json.loads(meta_path.read_text())
    meta["generate"] = {"seconds": gen["seconds"], "rss_mib": gen["rss_mib"]}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return path, meta


def bench_one(n: int, seed: int, regen: bool, repeat: int) -> dict[str, Any]:
    path, meta = ensure_snapshot(n, seed, regen)
    size = path.stat().st_size
    row: dict[str, Any] = {"n": n, "label": label(n), "file": str(path.relative_to(ROOT)),
                           "resources": meta["resources"], "bytes": size,
                           "file_mib": round(size / 2**20, 1), "counts": meta["counts"]}
    scan_args = ["scan", str(path), "--format", "json", "-o", os.devnull,
                 "--profile", "default"]
    scan_env: dict[str, str] | None = None
    row["limit_raised"] = size > input_limit()
    if row["limit_raised"]:
        refused = run_measured([*posture_cmd(), *scan_args])
        row["cli_refused"] = {"exit": refused["exit"], "message": refused["stderr"]}
        scan_env = {LIMIT_ENV: str(size)}
    for what, cmd, env in (("json_load", [sys.executable, "-c", JSON_LOAD, str(path)], None),
                           ("scan", [*posture_cmd(), *scan_args], scan_env)):
        runs = []
        for _ in range(repeat):
            print(f"{label(n)}: {what} ...", file=sys.stderr, flush=True)
            runs.append(run_measured(cmd, env))
            ok = runs[-1]["exit"] == 0 if what == "json_load" else runs[-1]["exit"] in SUCCESS
            if not ok:
                raise SystemExit(f"{what} of {path} failed (exit {runs[-1]['exit']}): "
                                 f"{runs[-1]['stderr']}")
        best = min(runs, key=lambda r: r["seconds"])
        row[what] = {"seconds": best["seconds"], "rss_mib": max(r["rss_mib"] for r in runs),
                     "exit": best["exit"], "runs": [r["seconds"] for r in runs]}
    row["scan_over_json_load"] = round(row["scan"]["seconds"] / row["json_load"]["seconds"], 2)
    return row


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                      .splitlines() if line.startswith("MemTotal"))
        mem = round(mem_kb / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": mem,
            "python": platform.python_version(), "platform": platform.platform()}


def table(rows: list[dict[str, Any]]) -> str:
    head = ["size", "resources", "file MB", "json.load s", "json.load RSS MiB", "scan s",
            "scan RSS MiB", "scan/json.load"]
    lines = [head]
    for r in rows:
        mark = "*" if r["limit_raised"] else ""
        lines.append([r["label"] + mark, f"{r['resources']:,}", f"{r['bytes'] / 1e6:,.0f}",
                      f"{r['json_load']['seconds']:.2f}", f"{r['json_load']['rss_mib']:,.0f}",
                      f"{r['scan']['seconds']:.2f}", f"{r['scan']['rss_mib']:,.0f}",
                      f"{r['scan_over_json_load']:.1f}x"])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
           for row in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES,
                    help=f"comma-separated resource counts (default {DEFAULT_SIZES})")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per measurement; the fastest is reported (default 1)")
    ap.add_argument("--regen", action="store_true", help="regenerate cached snapshots")
    ap.add_argument("--results", type=Path, default=OUT / "results.json")
    args = ap.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    rows = [bench_one(n, args.seed, args.regen, max(1, args.repeat)) for n in sizes]
    by_n = {r["n"]: r for r in rows}
    ratios = {}
    if 1_000_000 in by_n and 100_000 in by_n:
        ratios["scan_1M_over_100k"] = round(
            by_n[1_000_000]["scan"]["seconds"] / by_n[100_000]["scan"]["seconds"], 2)
    targets = {}
    if 100_000 in by_n:
        r = by_n[100_000]["scan"]
        targets["100k_scan_le_5s"] = r["seconds"] <= 5
        targets["100k_scan_le_1GiB"] = r["rss_mib"] <= 1024
    if "scan_1M_over_100k" in ratios:
        targets["1M_over_100k_le_12"] = ratios["scan_1M_over_100k"] <= 12
    result = {"date": datetime.now(UTC).replace(microsecond=0).isoformat(),
              "machine": machine(), "seed": args.seed, "repeat": args.repeat,
              "sizes": rows, "ratios": ratios, "targets": targets}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(table(rows))
    for r in rows:
        if r["limit_raised"]:
            print(f"* {r['label']}: {r['bytes']:,} bytes is over posture's "
                  f"{input_limit():,}-byte input limit; the CLI refuses it "
                  f"(exit {r['cli_refused']['exit']}: {r['cli_refused']['message']}); "
                  f"measured with {LIMIT_ENV}={r['bytes']}")
    for name, value in ratios.items():
        print(f"{name.replace('_', ' ')}: {value}x")
    for name, ok in targets.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    print(f"results: {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
