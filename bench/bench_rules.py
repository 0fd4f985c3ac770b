"""Benchmark: exposure analysis of one firewall with many rules (target: 100k rules < 2 s).

    python bench/bench_rules.py [--rules 100000] [--seed 7]

Builds one firewall whose rules each open one port or a small port range to a /32, a /24 or
an IPv6 /64 (the shape of a firewall grown by automation: one rule per customer or per
service), plus three rules that open every port to the operators' ranges, and times
`scanner.rules.admitted()` on it as a Hetzner firewall (UNION layer), as an Azure NSG
(ORDERED, priorities, some denies) and as both stacked
(an NSG in front of a security group). Prints seconds per shape; exit 1 when one exceeds
the target. Issue 15 measured the former cell-by-cell evaluation at 1k rules 4.4 s, 2k
12 s, 4k 38 s, 8k 160 s.

The time is proportionate to the rules plus the result: the result lists, per port range,
every source admitted there, so rules that open *every* port to thousands of distinct
sources make every port range's entry that long (a result quadratic in the rules, whatever
the algorithm); the operators' three all-port rules here are the realistic share.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner import rules
from scanner.rules import Action, LayerMode, PortRange, Rule, RuleLayer

TARGET_SECONDS = 2.0


def make_rules(n: int, seed: int, ordered: bool) -> tuple[Rule, ...]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        shape = rnd.random()
        if i < 3:  # the operators' ranges: every port
            ports = rules.ALL_PORTS
        elif shape < 0.8:
            port = rnd.randrange(1, 65536)
            ports = PortRange(port, port)
        else:
            lo = rnd.randrange(1, 65000)
            ports = PortRange(lo, lo + rnd.randrange(1, 20))
        kind = rnd.random()
        if kind < 0.6:
            source = f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}." \
                     f"{rnd.randrange(256)}/32"
        elif kind < 0.9:
            source = f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.0/24"
        else:
            source = f"2001:db8:{rnd.randrange(65536):x}:{rnd.randrange(65536):x}::/64"
        action = Action.DENY if ordered and rnd.random() < 0.2 else Action.ALLOW
        out.append(Rule(action, rnd.choice(("tcp", "tcp", "udp", "*")), ports, (source,),
                        priority=100 + i if ordered else 0, origin=f"fw#{i}"))
    return tuple(out)


def timed(layers: tuple[RuleLayer, ...]) -> tuple[float, int]:
    rules._admitted.cache_clear()
    start = time.process_time()  # CPU seconds: the machine may be shared
    exposures = rules.admitted(layers)
    return time.process_time() - start, len(exposures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    union = RuleLayer("hetzner firewall", LayerMode.UNION,
                      make_rules(args.rules, args.seed, ordered=False))
    nsg = RuleLayer("azure nsg", LayerMode.ORDERED,
                    make_rules(args.rules, args.seed + 1, ordered=True))
    shapes = {"union (Hetzner firewall)": (union,), "ordered (Azure NSG)": (nsg,),
              "ordered + union (NSG, then SG)": (nsg, union)}
    slow = False
    for name, layers in shapes.items():
        seconds, count = timed(layers)
        slow |= seconds > TARGET_SECONDS
        print(f"{args.rules} rules, {name}: {seconds:.2f} s CPU, {count} exposures")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
