"""Data residency: RES-01, RES-02, RES-03."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scanner import regions
from scanner.check import CheckContext, check
from scanner.findings import Finding, Status
from scanner.model import Kind

DATA_KINDS = (Kind.COMPUTE, Kind.DATABASE, Kind.VOLUME, Kind.BUCKET, Kind.LOAD_BALANCER,
              Kind.BACKUP_VAULT, Kind.KEY_STORE, Kind.LOG_TRAIL, Kind.APP_SERVICE,
              Kind.MODEL_DEPLOYMENT)
REFS_RESIDENCY = {"GDPR": ("Art. 28(3)(a)", "Art. 44"), "ISO27001": ("A.5.34",),
                  "C5": ("PSS-12", "BC-01")}


def outside(provider: str, codes: Iterable[str], allowed: Iterable[str]
            ) -> tuple[list[str], list[str]]:
    """(codes outside the allowed jurisdictions, codes not in the region catalogue)."""
    allowed = set(allowed)
    out, unknown = [], []
    for code in codes:
        found = regions.find_region(provider, code)
        if found is None:
            unknown.append(code)
        elif not found.jurisdictions & allowed:
            out.append(code)
    return out, unknown


@check(
    id="RES-01",
    reads=("region",),
    title="Every resource that stores or processes data is in an allowed jurisdiction",
    severity="high",
    kinds=set(DATA_KINDS),
    rationale="Transfers outside the promised area break the security page and, outside the "
              "EEA, GDPR Chapter V unless safeguards are in place.",
    remediation="Move the resource to a region of the allowed jurisdictions, or change the "
                "published promise.",
    references=REFS_RESIDENCY,
    evidence={"hetzner": "location of servers, volumes and load balancers",
              "aws": "region of every regional resource; S3 bucket location",
              "azure": "location of every resource"},
    parameters=("jurisdictions",),
)
def resources_in_jurisdiction(ctx: CheckContext) -> Iterator[Finding]:
    allowed = ctx.params.jurisdictions
    # the verdict of each (provider, region), worked out once: estates have few regions
    # and many resources (the finding copies the evidence)
    verdicts: dict[tuple[str, str], tuple[Status, str, dict[str, object]]] = {}
    for r in ctx.graph.of_kind(*DATA_KINDS):
        if r.region is None:
            yield ctx.error(r, "the resource's location is not known", "unknown")
            continue
        verdict = verdicts.get((r.provider, r.region))
        if verdict is None:
            verdict = verdicts[(r.provider, r.region)] = _region_verdict(
                r.provider, r.region, allowed)
        status, message, evidence = verdict
        if status is Status.ERROR:
            yield ctx.error(r, message, "unknown", evidence)
        else:
            yield ctx.finding(r, status, message, evidence)


def _region_verdict(provider: str, region: str, allowed: tuple[str, ...]
                    ) -> tuple[Status, str, dict[str, object]]:
    found = regions.find_region(provider, region)
    if found is None:
        return (Status.ERROR, f"region {region!r} is not in posture's region catalogue",
                {"region": region})
    evidence: dict[str, object] = {
        "region": region, "country": found.country,
        "jurisdictions": sorted(found.jurisdictions), "allowed": list(allowed)}
    if found.jurisdictions & set(allowed):
        return Status.PASS, f"in {found.name} ({found.country})", evidence
    return (Status.FAIL, f"in {found.name} ({found.country}), outside {', '.join(allowed)}",
            evidence)


@check(
    id="RES-02",
    reads=("region", "replica_regions"),
    title="Replicas and backup copies stay in allowed jurisdictions",
    severity="high",
    kinds={Kind.DATABASE, Kind.BUCKET, Kind.BACKUP_VAULT, Kind.SNAPSHOT, Kind.VOLUME,
           Kind.COMPUTE},
    rationale="A geo-redundant copy is still the data: a copy in another jurisdiction is a "
              "transfer, whatever the primary's location.",
    remediation="Replicate only to regions of the allowed jurisdictions (pick a storage "
                "redundancy whose pair stays inside, e.g. uksouth/ukwest for UK-only).",
    references=REFS_RESIDENCY,
    evidence={"aws": "S3 replication destinations, RDS cross-region automated backups, AWS "
                     "Backup copy actions",
              "azure": "GRS/RA-GRS/GZRS secondary (the region pair), SQL geo-replicas"},
    parameters=("jurisdictions",),
)
def replicas_in_jurisdiction(ctx: CheckContext) -> Iterator[Finding]:
    allowed = ctx.params.jurisdictions
    for r in ctx.graph.of_kind(Kind.DATABASE, Kind.BUCKET, Kind.BACKUP_VAULT, Kind.SNAPSHOT,
                               Kind.VOLUME, Kind.COMPUTE):
        if not r.has_prop("replica_regions"):
            continue
        copies = list(r.prop("replica_regions") or [])
        bad, unknown = outside(r.provider, copies, allowed)
        evidence = {"replica_regions": copies, "allowed": list(allowed)}
        if bad:
            yield ctx.fail(r, f"copies in {', '.join(bad)}, outside {', '.join(allowed)}",
                           evidence)
        elif unknown:
            yield ctx.error(r, f"replica region(s) {', '.join(unknown)} not in the catalogue",
                            "unknown", evidence)
        elif copies:
            yield ctx.passed(r, f"copies in {', '.join(copies)}", evidence)
        else:
            yield ctx.passed(r, "no copies outside its own region", evidence)


def _zone_allowed(zone: str, allowed: Iterable[str]) -> bool:
    allowed = {a.upper() for a in allowed}
    return zone.upper() in allowed or (zone.upper() == "EU" and "EEA" in allowed)


@check(
    id="RES-03",
    reads=("region", "processing_scope", "data_zone"),
    title="Model inference stays in the allowed area: no deployment processes data elsewhere",
    severity="high",
    kinds={Kind.MODEL_DEPLOYMENT},
    rationale="A global deployment type routes prompts, and the personal data in them, to "
              "any region of the provider.",
    remediation="Use regional or data-zone deployments whose zone lies inside the allowed "
                "jurisdictions (Azure OpenAI DataZoneStandard in an EU region, not "
                "GlobalStandard; Bedrock EU inference profiles).",
    references=REFS_RESIDENCY,
    evidence={"azure": "Cognitive Services OpenAI deployment SKU",
              "aws": "Bedrock cross-region inference profiles"},
    parameters=("jurisdictions",),
)
def inference_in_region(ctx: CheckContext) -> Iterator[Finding]:
    allowed = ctx.params.jurisdictions
    for d in ctx.graph.of_kind(Kind.MODEL_DEPLOYMENT):
        scope, zone = d.prop("processing_scope"), d.prop("data_zone")
        evidence = {"processing_scope": scope, "data_zone": zone, "region": d.region,
                    "allowed": list(allowed)}
        if scope == "global":
            yield ctx.fail(d, "global deployment: requests may be processed in any region",
                           evidence)
        elif scope == "data_zone" and zone:
            if _zone_allowed(zone, allowed):
                yield ctx.passed(d, f"processed within the {zone} data zone", evidence)
            else:
                yield ctx.fail(d, f"processed anywhere in the {zone} data zone, outside "
                                  f"{', '.join(allowed)}", evidence)
        elif scope == "regional" and d.region:
            bad, unknown = outside(d.provider, [d.region], allowed)
            if unknown:
                yield ctx.error(d, f"region {d.region} not in the catalogue", "unknown",
                                evidence)
            elif bad:
                yield ctx.fail(d, f"processed in {d.region}, outside {', '.join(allowed)}",
                               evidence)
            else:
                yield ctx.passed(d, f"processed in {d.region} only", evidence)
        else:
            yield ctx.error(d, "where requests are processed is not known", "unknown",
                            evidence)
