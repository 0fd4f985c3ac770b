"""Start-up time: `posture checks` (the lightest command that loads every check), wall.

    python bench/bench_startup.py                 # 10 runs, budget 0.3 s
    python bench/bench_startup.py --runs 20 --importtime
    python bench/bench_startup.py --code /tmp/old-checkout      # the same for older code

Each run is a fresh process (`posture checks > /dev/null`), timed around the child; a bare
`python -c pass` is interleaved so a busy machine shows as a slower floor. The verdict uses
the fastest run (the machine at its quietest): start-up is a property of the code, the
rest is other load. `--importtime` prints the modules whose import took longest
(`python -X importtime`, cumulative microseconds), the evidence for what start-up costs.
CPU time (user + system of the child, from wait4) is printed beside the wall time: on a
machine shared with other load it is the better estimate of the quiet wall time. Exit 1 if
the fastest `posture checks` is over the budget.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET = 0.3  # seconds (issue 19, target 3)


def _posture() -> list[str]:
    beside = Path(sys.executable).with_name("posture")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("posture")
    return [found] if found else [sys.executable, "-m", "scanner.cli"]


def _wall(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: the child's user + system time)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def importtime(top: int) -> list[tuple[int, str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import sys; from scanner.cli import main; sys.argv = "
                           "['posture', 'checks']; main()"],
                          capture_output=True, text=True, env={**os.environ}, check=False)
    rows: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--budget", type=float, default=BUDGET)
    ap.add_argument("--importtime", action="store_true")
    ap.add_argument("--code", type=Path, help="measure another checkout's code (its scanner/, "
                    "checks/, providers/ first on sys.path) with this environment")
    args = ap.parse_args(argv)
    posture = [*_posture(), "checks"]
    if args.code:
        posture = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(args.code)!r}); "
                   "sys.argv = ['posture', 'checks']; from scanner.cli import main; main()"]
    _wall(posture)  # warm the file cache and the bytecode
    floor: list[tuple[float, float]] = []
    checks: list[tuple[float, float]] = []
    for _ in range(args.runs):
        floor.append(_wall([sys.executable, "-c", "pass"]))
        checks.append(_wall(posture))
    for name, runs in (("python -c pass", floor), ("posture checks", checks)):
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(f"{name}: wall min {min(walls):.3f} s, median {statistics.median(walls):.3f} s;"
              f" CPU min {min(cpus):.3f} s, median {statistics.median(cpus):.3f} s")
    print(f"({args.runs} runs each; budget {args.budget} s for the fastest posture checks)")
    if args.importtime:
        print("slowest imports (cumulative us, python -X importtime):")
        for us, name in importtime(25):
            print(f"{us:>10}  {name}")
    ok = min(w for w, _ in checks) <= args.budget
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
