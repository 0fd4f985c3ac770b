"""Benchmark: exposure analysis of one firewall with many rules (target: 100k rules < 2 s).

    python bench/bench_rules.py [--rules 100000] [--seed 7] [--runs 1]
    python bench/bench_rules.py --code /tmp/old-posture --runs 3   # old vs new, interleaved

Builds one firewall whose rules each open one port or a small port range to a /32, a /24 or
an IPv6 /64 (the shape of a firewall grown by automation: one rule per customer or per
service), plus three rules that open every port to the operators' ranges, and times
`scanner.rules.admitted()` on it as a Hetzner firewall (UNION layer), as an Azure NSG
(ORDERED, priorities, some denies) and as both stacked
(an NSG in front of a security group). Prints CPU seconds per shape (median over --runs,
every cache of scanner/rules.py emptied before each run, so the CIDRs are parsed and
formatted each time); exit 1 when one exceeds the target. Issue 15 measured the former
cell-by-cell evaluation at 1k rules 4.4 s, 2k 12 s, 4k 38 s, 8k 160 s.

With `--scan`, the same 100k rules (as Hetzner writes them: "any" for the operators' all-port
rules, tcp for `*`) are put into the firewall of one server with a public IP in the bundled
Hetzner estate (fixtures/hetzner/seed002-hetzner.json, re-sealed into a temporary
directory), and `posture scan SNAPSHOT --format json --no-timestamps -o /dev/null` is timed
as a child process (wall and CPU seconds; with `--code DIR`, DIR's scan too, alternating):
the whole path, reading the rules from JSON and the normalizer included.

With `--code DIR`, DIR/scanner/rules.py (another checkout: the code before a change) is
timed too, on the same rules, each run alternating between the two (old, then new), and the
table gives both and their ratio: on a shared machine only a ratio measured in one run means
something. The exit status still judges this checkout only. `--pause-gc` pauses the
garbage collector around each call, as `posture scan` does for the whole scan: the old
code's time under the scan's conditions (scanner/rules.py now pauses it itself).

The time is proportionate to the rules plus the result: the result lists, per port range,
every source admitted there, so rules that open *every* port to thousands of distinct
sources make every port range's entry that long (a result quadratic in the rules, whatever
the algorithm); the operators' three all-port rules here are the realistic share.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner import rules

TARGET_SECONDS = 2.0


def make_rules(n: int, seed: int, ordered: bool, module: ModuleType = rules) -> tuple[Any, ...]:
    """The benchmark's firewall: n rules of `module` (scanner.rules, or another checkout's)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        shape = rnd.random()
        if i < 3:  # the operators' ranges: every port
            ports = module.ALL_PORTS
        elif shape < 0.8:
            port = rnd.randrange(1, 65536)
            ports = module.PortRange(port, port)
        else:
            lo = rnd.randrange(1, 65000)
            ports = module.PortRange(lo, lo + rnd.randrange(1, 20))
        kind = rnd.random()
        if kind < 0.6:
            source = f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}." \
                     f"{rnd.randrange(256)}/32"
        elif kind < 0.9:
            source = f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.0/24"
        else:
            source = f"2001:db8:{rnd.randrange(65536):x}:{rnd.randrange(65536):x}::/64"
        action = module.Action.DENY if ordered and rnd.random() < 0.2 else module.Action.ALLOW
        out.append(module.Rule(action, rnd.choice(("tcp", "tcp", "udp", "*")), ports,
                               (source,), priority=100 + i if ordered else 0,
                               origin=f"fw#{i}"))
    return tuple(out)


def shapes(n: int, seed: int, module: ModuleType) -> dict[str, tuple[Any, ...]]:
    union = module.RuleLayer("hetzner firewall", module.LayerMode.UNION,
                             make_rules(n, seed, ordered=False, module=module))
    nsg = module.RuleLayer("azure nsg", module.LayerMode.ORDERED,
                           make_rules(n, seed + 1, ordered=True, module=module))
    return {"union (Hetzner firewall)": (union,), "ordered (Azure NSG)": (nsg,),
            "ordered + union (NSG, then SG)": (nsg, union)}


def clear_caches(module: ModuleType) -> None:
    for value in vars(module).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def timed(module: ModuleType, layers: tuple[Any, ...], pause_gc: bool = False
          ) -> tuple[float, tuple[Any, ...]]:
    clear_caches(module)
    if pause_gc:
        gc.disable()
    try:
        start = time.process_time()  # CPU seconds: the machine may be shared
        exposures = module.admitted(layers)
        return time.process_time() - start, exposures
    finally:
        gc.enable()


ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "hetzner" / "seed002-hetzner.json"


def hetzner_snapshot(n: int, seed: int, out: Path) -> Path:
    """The bundled Hetzner estate with `n` bench rules in the firewall of server 102 (public
    IPv4 203.0.113.12), sealed by `posture seal`."""
    doc = json.loads(FIXTURE.read_text())
    raw_rules = []
    for rule in make_rules(n, seed, ordered=False):
        ports = rule.ports
        raw_rules.append({
            "description": None, "destination_ips": [], "direction": "in",
            "port": "any" if ports == rules.ALL_PORTS else str(ports),
            "protocol": "tcp" if rule.protocol == "*" else rule.protocol,
            "source_ips": list(rule.sources)})
    firewalls = doc["sections"][0]["collections"]["firewalls"]["global"]
    (web,) = [fw for fw in firewalls if fw["id"] == 201]  # applied to server 102
    web["rules"] = raw_rules
    path = out / f"hetzner-{n}-rules.json"
    path.write_text(json.dumps(doc))
    subprocess.run([sys.executable, "-m", "scanner.cli", "seal", str(path)], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    return path


def timed_scan(code: Path, snap: Path) -> tuple[float, float, int]:
    """(wall, CPU seconds, exit status) of `posture scan` run from the checkout `code`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "scanner.cli", "scan", str(snap), "--format", "json",
         "--no-timestamps", "-o", os.devnull], cwd=code,
        env={**os.environ, "PYTHONPATH": str(code)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"bench_rules: scan from {code} failed: {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), \
        done.returncode


def bench_scan(n: int, seed: int, runs: int, old: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        snap = hetzner_snapshot(n, seed, Path(tmp))
        new_times: list[tuple[float, float]] = []
        old_times: list[tuple[float, float]] = []
        for _ in range(runs):
            if old:
                wall, cpu, status = timed_scan(old, snap)
                old_times.append((wall, cpu))
            wall, cpu, status = timed_scan(ROOT, snap)
            new_times.append((wall, cpu))
        line = (f"posture scan, {n} rules in one Hetzner firewall (exit {status}): "
                f"{statistics.median(w for w, _ in new_times):.2f} s wall, "
                f"{statistics.median(c for _, c in new_times):.2f} s CPU")
        if old:
            old_cpu = statistics.median(c for _, c in old_times)
            new_cpu = statistics.median(c for _, c in new_times)
            line += (f"; {old}: {statistics.median(w for w, _ in old_times):.2f} s wall, "
                     f"{old_cpu:.2f} s CPU, ratio {old_cpu / new_cpu:.1f}x")
        print(line, flush=True)


def load(code: Path) -> ModuleType:
    path = code / "scanner" / "rules.py"
    spec = importlib.util.spec_from_file_location("old_scanner_rules", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise SystemExit(f"bench_rules: no scanner/rules.py under {code}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pause-gc", action="store_true", help="pause the garbage "
                        "collector around each call, as `posture scan` does for the whole "
                        "scan (scanner/rules.py pauses it itself since issue 15)")
    parser.add_argument("--code", type=Path, help="another checkout whose scanner/rules.py "
                        "to time too, interleaved (e.g. the code before a change)")
    parser.add_argument("--scan", action="store_true", help="time `posture scan` of the "
                        "bundled Hetzner estate with the rules in one server's firewall "
                        "instead of admitted() alone")
    args = parser.parse_args(argv)
    if args.scan:
        bench_scan(args.rules, args.seed, args.runs, args.code)
        return 0
    old = load(args.code) if args.code else None
    new_shapes = shapes(args.rules, args.seed, rules)
    old_shapes = shapes(args.rules, args.seed, old) if old else {}
    slow = False
    for name, layers in new_shapes.items():
        new_times: list[float] = []
        old_times: list[float] = []
        for _ in range(args.runs):
            if old:
                seconds, old_result = timed(old, old_shapes[name], args.pause_gc)
                old_times.append(seconds)
            seconds, result = timed(rules, layers, args.pause_gc)
            new_times.append(seconds)
            if old and [(e.protocol, str(e.ports), e.sources) for e in old_result] != [
                    (e.protocol, str(e.ports), e.sources) for e in result]:
                print(f"{name}: the two checkouts' results differ", file=sys.stderr)
                return 2
        new_s = statistics.median(new_times)
        slow |= new_s > TARGET_SECONDS
        line = f"{args.rules} rules, {name}: {new_s:.2f} s CPU, {len(result)} exposures"
        if old:
            old_s = statistics.median(old_times)
            line += f"; {args.code}: {old_s:.2f} s, ratio {old_s / new_s:.1f}x"
        print(line, flush=True)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
