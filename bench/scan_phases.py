"""Where one scan spends its time: the phases of `posture scan SNAPSHOT`, timed in process.

    python bench/scan_phases.py bench/out/hetzner-100k-s7.json [--profile default] [--runs 2]

The same steps as `scanner.engine.scan` (collector paused, as there), each timed on its
own: read, parse (only the raw fields the normalizers read, as the CLI does: the envelope
split, the digest, then the raw objects with the file's bytes freed; `--whole`: every
field, digest after), validate, digest, normalize (with role classification), graph and
exposure analysis, checks, fail closed, sort, claims, JSON report (to /dev/null). Start-up
and imports are not included (`bench_scan.py` measures the whole CLI). Seconds per phase,
one line per run; the phases are what to optimise, the CLI's wall time is what to report.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from scanner import engine, snapshot  # noqa: E402
from scanner.findings import ORDER  # noqa: E402
from scanner.gcpause import gc_paused  # noqa: E402
from scanner.profile import load as load_profile  # noqa: E402
from scanner.registry import load_checks, load_providers  # noqa: E402
from scanner.reports import write as write_report  # noqa: E402
from scanner.result import ScanResult, evaluate_claim, group_by_check  # noqa: E402


def phases(path: Path, profile_name: str, whole: bool = False, cpu: bool = False,
           rss: bool = False) -> dict[str, float]:
    times: dict[str, float] = {}
    peaks: dict[str, float] = {}
    current: dict[str, float] = {}
    clock = time.process_time if cpu else time.perf_counter
    last = clock()

    def mark(name: str) -> None:
        nonlocal last
        now = clock()
        times[name] = now - last
        if rss:  # the process's peak so far (ru_maxrss: KiB on Linux) and its RSS now
            peaks[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            with open("/proc/self/statm") as statm:
                current[name] = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        last = clock()

    profile = load_profile(profile_name)
    providers = load_providers()
    checks = engine.select_checks(load_checks([]), profile, None)
    mark("setup")
    data = snapshot.read_bytes(path)
    mark("read")
    keep_raw = any(c.uses_raw for c in checks)
    doc = None
    envelope = None
    if not whole and not keep_raw:  # as `posture scan` reads it (snapshot._parse_fields):
        from scanner import snapshot_fields  # the digest first, the file's bytes freed

        envelope = snapshot_fields.split(data)  # before the raw objects are built
    if envelope is not None:
        mark("split")
        snapshot.digest_v2(data, snapshot_fields.members(envelope), str(path))
        mark("digest")
        snapshot_fields.detach(envelope)
        del data
        doc = snapshot_fields.fill(envelope, engine._raw_fields(providers))
        del envelope
        mark("parse")
        assert doc is not None, "the partial decoder refused this file"
        snapshot.validate(doc, str(path))
        mark("validate")
    else:
        doc, finite, floats_checked = snapshot._parse_fast(data, str(path))
        mark("parse")
        snapshot.validate(doc, str(path))
        mark("validate")
        if doc["version"] == 1:
            snapshot._digest_or_refuse(doc, str(path), finite, floats_checked)
        else:
            snapshot.digest_v2(data, doc, str(path))
        del data
        mark("digest")
    sections = [snapshot.Section.from_json(s) for s in doc["sections"]]
    inventories = engine.normalize(sections, providers, profile, keep_raw=keep_raw)
    mark("normalize")
    graph = engine.build_graph(inventories)
    mark("graph")
    findings = engine.run_checks(checks, graph, profile, engine.as_of(sections))
    mark("checks")
    findings = engine.fail_closed(findings, checks, sections, providers, graph)
    mark("fail_closed")
    findings.sort(key=ORDER)
    mark("sort")
    by_check = group_by_check(findings)
    ran = {c.id for c in checks}
    claims = [evaluate_claim(claim, by_check, ran, graph.resources) for claim in profile.claims]
    mark("claims")
    result = ScanResult(tool_version="bench", profile={"name": profile.name, "title": "",
                                                       "source": ""},
                        sources=[], checks=sorted(ran), findings=findings, claims=claims,
                        resource_count=len(graph))
    with open(os.devnull, "wb") as out:
        write_report("json", result, out, True, None)
    mark("report")
    times["findings"] = len(findings)
    if rss:
        print("peak RSS MiB after:", " ".join(f"{k}={v:.0f}" for k, v in peaks.items()))
        print("RSS MiB after:", " ".join(f"{k}={v:.0f}" for k, v in current.items()))
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("snapshot", type=Path)
    ap.add_argument("--profile", default="default")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--whole", action="store_true",
                    help="decode every raw field (as before issue 19 item 4), not only those "
                         "the normalizers read")
    ap.add_argument("--rss", action="store_true",
                    help="also print the peak RSS (MiB) reached by the end of each phase, and the "
                         "RSS then (Linux)")
    ap.add_argument("--cpu", action="store_true",
                    help="CPU seconds of this process (time.process_time), not wall time: "
                         "the figure a shared machine disturbs least")
    args = ap.parse_args()
    for _ in range(args.runs):
        with gc_paused():
            got = phases(args.snapshot, args.profile, args.whole, args.cpu, args.rss)
        count = int(got.pop("findings"))
        print(" ".join(f"{k}={v:.2f}" for k, v in got.items()),
              f"total={sum(got.values()):.2f}", f"findings={count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
