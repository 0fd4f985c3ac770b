"""A long mutation-fuzzing run that keeps going after a failure and groups what it found.

    python -m tests.fuzz_explore [N] [KIND...]
    (KIND: snapshot plan results semantic; default the first three)

N mutants per kind and base (default 300), every mutation class, fixed seeds; `semantic`:
every key path of every snapshot where a port, address, id or selector is, each given one
hostile value of its own type (rotating; N is ignored). Each failing
mutant is printed once per distinct symptom (the last lines of the traceback or the stderr),
with the mutation that caused it; the exit status is the number of distinct symptoms (0: none).
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from tests.fuzz_mutations import (
    BadOutcome,
    Mutant,
    collect_ids,
    dumps,
    get_at,
    mutants,
    outcome,
    sealed_text,
    semantic_paths,
    semantic_values,
    set_at,
    statuses,
    trimmed,
    unsafe_flips,
)
from tests.helpers import ROOT, run

MINIMAL = ROOT / "docs" / "examples" / "snapshots" / "minimal-hetzner.json"


def load(path: Path) -> object:
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return json.loads(data.decode("utf-16"))
    return json.loads(data)


def symptom(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    frames = [ln for ln in lines if ln.startswith("File ")]
    where = re.sub(r"line \d+", "", frames[-1]) if frames else ""
    last = lines[-1] if lines else ""
    if "fail -> pass" in text:
        return "fail->pass " + text.split("fail -> pass for")[-1][:80]
    first = lines[0].split(":", 1)[-1] if lines else ""
    return (where + " | " + re.sub(r"\d+", "N", last[:120])) if frames else first[:160]


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    kinds = sys.argv[2:] or ["snapshot", "plan", "results"]
    logging.disable(logging.CRITICAL)
    found: dict[str, list[str]] = defaultdict(list)
    tmp = Path(tempfile.mkdtemp(prefix="posture-fuzz-"))
    total = 0
    start = time.time()
    bases: list[tuple[str, object, int]] = []
    if "snapshot" in kinds or "semantic" in kinds:
        snaps = [MINIMAL, *sorted(p for p in (ROOT / "fixtures").rglob("*.json")
                                  if b"posture-snapshot" in p.read_bytes()[:2000])]
        kind = "snapshot" if "snapshot" in kinds else "semantic"
        bases += [(f"{kind}:{p.name}", trimmed(load(p), 1), v)  # type: ignore[arg-type]
                  for p in snaps for v in ((1, 2) if kind == "snapshot" else (1,))]
    if "plan" in kinds:
        plans = [*(ROOT / "fixtures" / "terraform").glob("*.json"),
                 *(ROOT / "tests" / "data" / "plans").glob("*.json")]
        bases += [(f"plan:{p.name}", load(p), 0) for p in sorted(plans)]
    if "results" in kinds:
        bases.append(("results", json.loads(run("scan", str(MINIMAL), "--format",
                                                 "json").stdout), 0))
    for name, base, version in bases:
        kind = name.split(":")[0]
        path = tmp / "m.json"
        if kind in ("snapshot", "semantic"):
            path.write_bytes(sealed_text(base, version))
        else:
            path.write_bytes(dumps(base).encode())
        verb = "report" if kind == "results" else "scan"
        before = statuses(outcome((verb, str(path), "--format", "json", "--no-timestamps"),
                                  name).stdout)
        rng = random.Random(f"{name}-{version}")
        stream = semantic_stream(base) if kind == "semantic" else mutants(
            base, rng, heavy=i_heavy(rng))
        for i, mutant in zip(range(n if kind != "semantic" else 10**9), stream, strict=False):
            del i
            total += 1
            if kind in ("snapshot", "semantic"):
                path.write_bytes(sealed_text(mutant.doc, version))
            else:
                path.write_bytes(dumps(mutant.doc).encode("utf-8", "surrogatepass"))
            fmt = rng.choice(("json", "json", "table", "markdown", "html", "csv", "sarif"))
            label = f"{name} v{version}: {mutant.label}"[:300]
            try:
                res = outcome((verb, str(path), "--format", fmt, "--no-timestamps"), label,
                              terminal_text=fmt == "table")
                if fmt == "json" and res.code != 2 and mutant.kind == "type":  # unreadable
                    flips = unsafe_flips(before, statuses(res.stdout))
                    if flips:
                        raise BadOutcome(f"{label}: fail -> pass for {flips}")
            except BadOutcome as exc:
                key = symptom(str(exc).split("\n", 1)[-1] + "\n" + str(exc))
                if "fail -> pass" in str(exc) or "raw terminal" in str(exc) \
                        or "took" in str(exc).split("\n")[0]:
                    key = str(exc).split("\n")[0].split(": ")[-1][:100] + " " + key[:60]
                if key not in found:  # as soon as seen: a long run may be cut short
                    print(f"--- new symptom: {key}\n{str(exc)[:1500]}", flush=True)
                found[key].append(str(exc)[:4000])
    print(f"{total} mutants in {time.time() - start:.0f}s; {len(found)} distinct symptoms")
    for key, cases in sorted(found.items(), key=lambda kv: -len(kv[1])):
        print(f"\n=== {len(cases)}x {key}\n{cases[0]}")
    return min(len(found), 100)


def semantic_stream(base: object) -> list[Mutant]:
    ids = collect_ids(base)
    out = []
    for i, path in enumerate(p for p in semantic_paths(base) if len(p) > 5):
        values = semantic_values(base, path, get_at(base, path), ids)
        value = values[i % len(values)]
        out.append(Mutant(set_at(base, path, value), f"{path} = {str(value)[:40]!r}",
                          "semantic", path))
    return out


def i_heavy(rng: random.Random) -> bool:
    return rng.random() < 0.5


if __name__ == "__main__":
    sys.exit(main())
