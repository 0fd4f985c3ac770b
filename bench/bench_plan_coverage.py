"""Coverage: the share of resource instances posture maps, over a folder of plans.

    python bench/bench_plan_coverage.py FOLDER [FOLDER...] [--per-type 20] [--json]

Reads every .json file in the folders (recursively; and any other file posture recognises
as a Terraform JSON plan or state) exactly as `posture scan` does
(providers.terraform.plan.read), and counts
its managed resource instances that the plan keeps (deleted and forgotten ones aside):

- mapped: the type has a mapping to the model (judged by the checks, or a type without a
  security property: mapped without checks);
- not covered: a type of a covered provider (aws, azurerm, hcloud) posture has no mapping
  for, or a provider posture does not cover (google, random, null...).

Prints, per file and in total, the mapped share over all instances and over the covered
providers' instances, the files refused (with posture's one-line reason; their instances
count as not mapped in "all files"), and the most frequent unmapped types. No network.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from providers.terraform import plan  # noqa: E402
from providers.terraform.normalize import COVERED_PROVIDERS, MAPPED  # noqa: E402
from scanner.errors import PostureError  # noqa: E402


def _count_raw(path: Path) -> int:
    """Managed instances of a file posture refuses (best effort, for the 'all files' share)."""
    try:
        doc = json.loads(plan.decode(path.read_bytes()))
    except (OSError, ValueError):
        return 0
    if not isinstance(doc, dict):
        return 0
    return sum(1 for rc in doc.get("resource_changes") or []
               if isinstance(rc, dict) and rc.get("mode", "managed") == "managed"
               and "delete" not in ((rc.get("change") or {}).get("actions") or []))


def measure(path: Path) -> dict[str, Any]:
    if not plan.sniff(path):
        return {"file": str(path), "refused": "not recognised as a Terraform plan",
                "instances": _count_raw(path), "mapped": 0, "covered": 0,
                "covered_mapped": 0, "unmapped": {}}
    try:
        sections, _ = plan.read(path, {}, MAPPED, COVERED_PROVIDERS)
    except PostureError as exc:
        return {"file": str(path), "refused": str(exc).split(": ", 1)[-1][:100],
                "instances": _count_raw(path), "mapped": 0, "covered": 0,
                "covered_mapped": 0, "unmapped": {}}
    section = sections[0]
    mapped = [r for r in section.items("resources")]
    missing = [o for o in section.items("not_assessed")
               if o.get("reason") in ("type_not_covered", "provider_not_covered")]
    covered_missing = [o for o in missing if o.get("reason") == "type_not_covered"]
    return {"file": str(path), "refused": None, "instances": len(mapped) + len(missing),
            "mapped": len(mapped), "covered": len(mapped) + len(covered_missing),
            "covered_mapped": len(mapped),
            "unmapped": dict(Counter(str(o.get("type")) for o in missing))}


def share(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f} %" if b else "    - "


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--per-type", type=int, default=20, help="unmapped types to list")
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = ap.parse_args(argv)
    files = sorted(p for f in args.folders for p in ([f] if f.is_file() else f.rglob("*"))
                   if p.is_file() and (p.suffix in (".json", ".gz") or plan.sniff(p)))
    rows = [measure(p) for p in files]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    total = Counter[str]()
    unmapped = Counter[str]()
    for r in rows:
        for k in ("instances", "mapped", "covered", "covered_mapped"):
            total[k] += r[k]
        if r["refused"] is None:
            total["read_instances"] += r["instances"]
        unmapped.update(r["unmapped"])
        status = f"refused: {r['refused']}" if r["refused"] else \
            f"{r['mapped']:4}/{r['instances']:<4} {share(r['mapped'], r['instances'])}"
        print(f"{Path(r['file']).name[:70]:70}  {status}")
    refused = sum(1 for r in rows if r["refused"])
    print()
    print(f"files: {len(rows)} recognised, {refused} refused")
    print(f"mapped share, all instances of all files: {share(total['mapped'], total['instances'])}"
          f" ({total['mapped']}/{total['instances']})")
    print(f"mapped share, instances of files read:     "
          f"{share(total['mapped'], total['read_instances'])}")
    print(f"mapped share, aws/azurerm/hcloud instances: "
          f"{share(total['covered_mapped'], total['covered'])} "
          f"({total['covered_mapped']}/{total['covered']})")
    if unmapped and args.per_type:
        print("\nmost frequent unmapped types:")
        for t, n in unmapped.most_common(args.per_type):
            print(f"  {n:5}  {t}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
