"""Data residency: RES-01."""

from __future__ import annotations

from collections.abc import Iterator

from scanner import regions
from scanner.check import CheckContext, check
from scanner.findings import Finding
from scanner.model import Kind

DATA_KINDS = (Kind.COMPUTE, Kind.DATABASE, Kind.VOLUME, Kind.BUCKET, Kind.LOAD_BALANCER,
              Kind.BACKUP_VAULT, Kind.KEY_STORE, Kind.LOG_TRAIL)


@check(
    id="RES-01",
    title="Every resource that stores or processes data is in an allowed jurisdiction",
    severity="high",
    kinds=set(DATA_KINDS),
    rationale="Transfers outside the promised area break the security page and, outside the "
              "EEA, GDPR Chapter V unless safeguards are in place.",
    remediation="Move the resource to a region of the allowed jurisdictions, or change the "
                "published promise.",
    references={"GDPR": ("Art. 28(3)(a)", "Art. 44"), "ISO27001": ("A.5.34",),
                "C5": ("PSS-12", "BC-01")},
    evidence={"hetzner": "location of servers, volumes and load balancers"},
    parameters=("jurisdictions",),
)
def resources_in_jurisdiction(ctx: CheckContext) -> Iterator[Finding]:
    allowed = ctx.params.jurisdictions
    for r in ctx.graph.of_kind(*DATA_KINDS):
        if r.region is None:
            yield ctx.error(r, "the resource's location is not known", "unknown")
            continue
        found = regions.find_region(r.provider, r.region)
        if found is None:
            yield ctx.error(r, f"region {r.region!r} is not in posture's region catalogue",
                            "unknown", {"region": r.region})
            continue
        evidence = {"region": r.region, "country": found.country,
                    "jurisdictions": sorted(found.jurisdictions), "allowed": list(allowed)}
        if found.jurisdictions & set(allowed):
            yield ctx.passed(r, f"in {found.name} ({found.country})", evidence)
        else:
            yield ctx.fail(r, f"in {found.name} ({found.country}), outside "
                              f"{', '.join(allowed)}", evidence)
