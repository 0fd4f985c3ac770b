"""posture's own CPU time on a small live Azure scan, against the local ARM server.

    python bench/bench_azure_cpu.py                          # this checkout, 3 runs a case
    python bench/bench_azure_cpu.py --baseline /work/main    # and another one, interleaved
    python bench/bench_azure_cpu.py --importtime             # + the heaviest imports

Children run with compiled bytecode (PYTHONDONTWRITEBYTECODE unset, a bytecode cache of the
bench's own, written by one warm-up run per checkout), as an installed posture runs.
The estate is the bundled fixture seed000 (one subscription, a dozen resources), served by
tests/azure_arm_server.py over HTTPS on loopback in this process; the real CLI (`posture scan
azure ... --format json`) runs as a child process and its CPU (user + sys, from
os.wait4's rusage of that child alone) is posture's own: the server's CPU is not in it.
Cases: `--checks RES-01` and `--profile default`. With --baseline, every case runs in both
checkouts alternately (baseline, this, baseline, this, ...) so both see the same load; the
ratio is baseline / this, per case, from the medians. The load average is printed beside the
figures; the reports of the two checkouts must judge the same or the bench says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.azure_arm_server import ArmServer, sections_of  # noqa: E402
from tests.helpers import claims_of, findings_of  # noqa: E402

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.bench-token"
SEED = ROOT / "fixtures" / "azure" / "seed000-azure.json"
CASES = {"RES-01": ["--checks", "RES-01"], "default": ["--profile", "default"]}
TARGET_CPU = 2.0  # issue 19 item 2: a small scan under 2 s of posture's own CPU


def run(checkout: Path, arm: ArmServer, args: list[str], out: Path, cache: Path,
        importtime: bool = False) -> dict[str, Any]:
    env = {**os.environ, "POSTURE_AZURE_ARM_ENDPOINT": arm.url, "PYTHONPATH": str(checkout),
           "POSTURE_AZURE_ACCESS_TOKEN": TOKEN, "REQUESTS_CA_BUNDLE": arm.ca_file,
           # compiled bytecode, as an installed posture has it (a first run writes it, to a
           # cache of the bench's own: nothing is written into the checkouts)
           "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    arm.requests.clear()
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "scanner.cli",
           "scan", "azure", *args, "--format", "json", "--no-timestamps", "-o", str(out)]
    proc = _Popen(cmd, cwd=checkout, env=env, stdout=subprocess.DEVNULL,
                  stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"scan {args} in {checkout} failed: {err.strip()[-500:]}")
    cpu = float(proc.rusage.ru_utime + proc.rusage.ru_stime)
    return {"cpu": cpu, "calls": len(arm.requests), "stderr": err,
            "report": _judged(json.loads(out.read_text()))}


class _Popen(subprocess.Popen[str]):
    """A Popen that keeps the reaped child's own resource usage (os.wait4): the CPU of
    that process alone, not of this one's other children."""

    rusage: Any = None

    def _try_wait(self, wait_flags: int) -> tuple[int, int]:
        pid, status, usage = os.wait4(self.pid, wait_flags)
        if pid:
            self.rusage = usage
        return pid, status


def _judged(doc: dict[str, Any]) -> Any:
    findings = [{k: ({e: x for e, x in v.items() if e != "as_of"} if k == "evidence"
                     and isinstance(v, dict) else v) for k, v in f.items()}
                for f in findings_of(doc)]
    return findings, claims_of(doc), doc["errors"]


def heaviest_imports(stderr: str, top: int = 12) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the imports made at the top of the import tree
    (not on behalf of another module being imported), heaviest first, from `python -X
    importtime`'s report."""
    out: list[tuple[int, str]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level
            out.append((int(cumulative), name.strip()))
    return sorted(out, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case and checkout")
    parser.add_argument("--importtime", action="store_true",
                        help="also print the heaviest imports of each case (one extra run)")
    args = parser.parse_args()
    checkouts = [("this", ROOT)] + ([("baseline", args.baseline.resolve())]
                                    if args.baseline else [])
    load = os.getloadavg()
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with ArmServer(sections_of(SEED), token=TOKEN) as arm, \
            tempfile.TemporaryDirectory() as tmp:
        caches = {label: Path(tmp) / f"pycache-{label}" for label, _ in checkouts}
        for label, checkout in checkouts:  # warm-up: writes the bytecode caches
            run(checkout, arm, CASES["default"], Path(tmp) / "warm.json", caches[label])
        for n in range(args.repeat):
            for case, cargs in CASES.items():
                for label, checkout in reversed(checkouts):
                    got = run(checkout, arm, cargs, Path(tmp) / f"{label}-{case}-{n}.json",
                              caches[label])
                    rows.setdefault((case, label), []).append(got)
        if args.importtime:
            for case, cargs in CASES.items():
                got = run(ROOT, arm, cargs, Path(tmp) / "imports.json", caches["this"],
                          importtime=True)
                print(f"heaviest imports, {case} (cumulative ms):")
                for us, name in heaviest_imports(got["stderr"]):
                    print(f"  {us / 1000:8.1f}  {name}")
    load_after = os.getloadavg()
    print(f"load average {load[0]:.2f} (start), {load_after[0]:.2f} (end); "
          f"{args.repeat} runs per case; CPU = user+sys of the posture process")
    print(f"{'case':<9} {'checkout':<9} {'CPU s (median)':>15} {'calls':>6}  target < "
          f"{TARGET_CPU:.0f} s")
    result: dict[str, Any] = {"load": [load[0], load_after[0]], "cases": {}}
    for case in CASES:
        medians = {}
        for label, _ in checkouts:
            got = rows[case, label]
            cpu = statistics.median(r["cpu"] for r in got)
            medians[label] = cpu
            verdict = "met" if cpu < TARGET_CPU else "missed"
            print(f"{case:<9} {label:<9} {cpu:>15.2f} {got[0]['calls']:>6}  "
                  f"{verdict if label == 'this' else ''}")
            result["cases"].setdefault(case, {})[label] = {
                "cpu_median": cpu, "cpu": [r["cpu"] for r in got], "calls": got[0]["calls"]}
        if args.baseline:
            same = rows[case, "this"][0]["report"] == rows[case, "baseline"][0]["report"]
            print(f"{case:<9} baseline/this CPU ratio {medians['baseline'] / medians['this']:.2f}"
                  f"; same findings: {'yes' if same else 'NO'}")
            result["cases"][case]["same_findings"] = same
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "azure_cpu.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
