"""Wall time of the TLS probe (`--probe-tls`) for healthy endpoints and silent ones.

    python bench/bench_probe.py                          # 10 healthy + 1 silent, timeout 5 s
    python bench/bench_probe.py --code /tmp/old-posture  # the same, with another checkout's
                                                         # scanner/probe.py (before/after)
    python bench/bench_probe.py --healthy 10 --silent 1 --timeout 2 --runs 3

The endpoints are real servers on 127.0.0.1 (tests/tls_servers.py): healthy ones alternate
between one accepting TLS 1.0-1.3 and one accepting TLS 1.2-1.3; a silent one accepts TCP
and never answers (an intrusion-prevention system dropping the scanner, a stuck backend).
`scanner.probe.probe` runs in this process with the shipped budget and concurrency; the
table gives the wall time of each run, each endpoint kind's recorded `seconds` and status.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from tests.tls_servers import LEGACY, MODERN, SilentServer, TlsServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", type=Path, help="checkout whose scanner/ to measure "
                    "(default: this one)")
    ap.add_argument("--healthy", type=int, default=10)
    ap.add_argument("--silent", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=5, help="--probe-timeout (default 5)")
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args(argv)
    if args.code:  # before anything imports scanner
        sys.path.insert(0, str(args.code.resolve()))
    from scanner import probe

    print(f"scanner.probe from {Path(probe.__file__).resolve()}")
    walls: list[float] = []
    with ExitStack() as stack:
        servers: list[tuple[str, Any]] = [
            ("healthy", stack.enter_context(TlsServer(LEGACY if i % 2 else MODERN)))
            for i in range(args.healthy)]
        servers += [("silent", stack.enter_context(SilentServer()))
                    for _ in range(args.silent)]
        found = [probe.Endpoint(f"{kind}-{i}", "127.0.0.1", server.port, "https")
                 for i, (kind, server) in enumerate(servers)]
        for run in range(args.runs):
            started = time.monotonic()
            results = probe.probe(found, args.timeout, args.concurrency)
            wall = time.monotonic() - started
            walls.append(wall)
            by_kind: dict[str, list[dict[str, Any]]] = {}
            for (kind, _), result in zip(servers, results, strict=True):
                by_kind.setdefault(kind, []).append(result)
            for kind, rs in by_kind.items():
                outcomes = Counter(r["status"] if r["status"] == "completed"
                                   else f"error/{r['error']['reason']}" for r in rs)
                seconds = [r["seconds"] for r in rs]
                print(f"run {run + 1}: {kind:8} x{len(rs):<3} seconds {min(seconds):6.2f} .. "
                      f"{max(seconds):6.2f}  {dict(outcomes)}")
            print(f"run {run + 1}: wall {wall:.2f} s")
    print(f"{args.healthy} healthy + {args.silent} silent, timeout {args.timeout} s, "
          f"concurrency {args.concurrency}: wall median {statistics.median(walls):.2f} s "
          f"over {len(walls)} run(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
