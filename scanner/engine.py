"""The scan: sources -> raw sections -> normalize -> graph -> checks -> result.

Live sources and snapshot files go through the very same normalizers. Checks run on the graph;
then the engine applies the fail-closed rule: in a scope (provider, account, region) where a
collection a check reads failed or was not collected, that check's verdicts become `error`,
and the scope itself gets an `error` finding, so nothing passes on missing data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanner import __version__, probe, quarantine, snapshot
from scanner.check import Check, CheckContext, SharedParts
from scanner.errors import PostureError
from scanner.findings import ORDER, EvidenceLevel, Finding, Severity, Status
from scanner.gcpause import gc_paused
from scanner.graph import EstateGraph
from scanner.model import ANY_PROPERTY, Inventory, Kind, RelationType, Resource
from scanner.profile import Profile, classifier
from scanner.provider import Provider
from scanner.registry import LOCAL_PREFIX, load_checks, load_providers
from scanner.result import ScanResult, apply_scopes, evaluate_claim, group_by_check
from scanner.snapshot import Section, Snapshot

log = logging.getLogger("posture")


@dataclass
class ScanRequest:
    sources: list[str]
    profile: Profile
    check_ids: list[str] | None = None  # None: the profile's checks (all, for `default`)
    checks_dirs: list[Path] = field(default_factory=list)
    options: Mapping[str, Any] = field(default_factory=dict)  # provider options from the CLI
    record: Path | None = None
    sign: Ed25519PrivateKey | None = None  # sign the recorded snapshot


def select_checks(registry: Mapping[str, Check], profile: Profile,
                  check_ids: Iterable[str] | None) -> list[Check]:
    unknown = sorted(profile.check_ids() - set(registry))
    if unknown:
        raise PostureError(
            f"{profile.path or profile.name}: names unknown check(s) {', '.join(unknown)} "
            f"(known: {', '.join(registry)})"
        )
    if check_ids is None:
        # the profile's checks (every check for a profile without claims), plus every check
        # loaded from --checks-dir: loading a local check means wanting it run
        local = {cid for cid, c in registry.items() if c.module.startswith(LOCAL_PREFIX)}
        wanted = (profile.check_ids() or set(registry)) | local
    else:
        wanted = set(check_ids)
        missing = sorted(wanted - set(registry))
        if missing:
            raise PostureError(f"--checks: unknown check(s) {', '.join(missing)}")
    return [registry[c] for c in sorted(wanted)]


def gather(sources: Iterable[str], providers: Mapping[str, Provider], checks: list[Check],
           options: Mapping[str, Any], *, partial: bool = False
           ) -> tuple[list[Section], list[dict[str, Any]]]:
    """Collect live providers and read snapshot files into raw sections.

    `partial`: the raw objects are only normalized (no check reads them, nothing records
    them): a snapshot's are decoded with only the fields its providers' normalizers read
    (`Provider.raw_fields`)."""
    probe_tls = bool(options.get("probe_tls")) and any(c.id in probe.JUDGED_BY for c in checks)
    if options.get("probe_tls") and not probe_tls:
        log.warning("--probe-tls: no check that judges TLS probes (%s) runs with this profile "
                    "and --checks: nothing is probed", ", ".join(sorted(probe.JUDGED_BY)))
    sections: list[Section] = []
    described: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], str] = {}

    def claim_scope(s: Section, origin: str) -> None:
        key = (s.provider, s.account)
        if key in seen:
            raise PostureError(
                f"{origin}: {s.provider} account {s.account!r} is already read from "
                f"{seen[key]}; one estate holds each account once"
            )
        seen[key] = origin

    for source in sources:
        if source in providers:
            provider = providers[source]
            only = provider.collections_for_checks(checks)
            log.info("collecting %s live: %s", source, ", ".join(sorted(only)))
            got = provider.collect(options, only=only)
            if probe_tls:  # live endpoints only: TLS handshakes, recorded
                probe.probe_sections(got, provider, options)
            for s in got:
                claim_scope(s, source)
            sections.extend(got)
            described.append({"type": "live", "name": source,
                              "accounts": [f"{s.provider}:{s.account}" for s in got],
                              "collected_at": sorted({s.collected_at for s in got})})
            continue
        path = Path(source)
        if not path.exists():
            raise PostureError(
                f"unknown source {source!r}: not a provider ({', '.join(sorted(providers))}) "
                "and no such file"
            )
        if probe_tls:
            log.warning("--probe-tls: %s is not a live source, its endpoints are not probed "
                        "(TLS-04 uses the probe results recorded in it, if any)", source)
        reader = _file_reader(path, providers)
        if reader is not None and options.get("trusted_keys"):
            raise PostureError(f"--key: {source} is not a snapshot and carries no signature; "
                               "with --key every file source must be signed")
        if reader is not None:  # e.g. a Terraform plan: recognised by content
            got, about = reader.read_file(path, options)
            for s in got:
                claim_scope(s, source)
            sections.extend(got)
            described.append(about)
            continue
        snap = snapshot.load(path, fields=_raw_fields(providers) if partial else None)
        signature = snapshot.check_signature(snap, options.get("trusted_keys") or (), source)
        snapshot.mark_replayed(snap, signature)  # a snapshot recorded from it says so
        for s in snap.sections:
            claim_scope(s, source)
            if s.provider not in providers:
                raise PostureError(
                    f"{source}: section for provider {s.provider!r}, which this posture does "
                    f"not have (installed: {', '.join(sorted(providers))})"
                )
        sections.extend(snap.sections)
        described.append({"type": "snapshot", "name": path.name, "digest": snap.digest,
                          "accounts": [f"{s.provider}:{s.account}" for s in snap.sections],
                          # for the reports' header: when the estate was read, who signed it
                          # (the signature's status: `valid` only against a --key given)
                          "collected_at": sorted({s.collected_at for s in snap.sections}),
                          "signature": signature.to_json(),
                          **({"signed_by": str(signature.key_id)}
                             if signature.status == "valid" else {})})
    # --iac FILE: the declared inventory (INV-01), one section each, read as of the estate
    for iac in options.get("iac") or ():
        read_iac = getattr(providers.get("iac"), "read_file", None)
        if read_iac is None:
            raise PostureError("--iac: the iac provider is not installed")
        when = as_of(sections).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if sections \
            else None
        got, about = read_iac(Path(iac), {"collected_at": when})
        for s in got:
            claim_scope(s, f"--iac {iac}")
        sections.extend(got)
        described.append(about)
    return sections, described


def _raw_fields(providers: Mapping[str, Provider]) -> Callable[[str], Mapping[str, Any]]:
    def fields(name: str) -> Mapping[str, Any]:
        provider = providers.get(name)
        return provider.raw_fields if provider is not None else {}
    return fields


def _file_reader(path: Path, providers: Mapping[str, Provider]) -> Any:
    """The provider that reads this file itself (it has `reads_file(path)` and
    `read_file(path, options) -> (sections, source description)`), or None: a snapshot."""
    if not (path.is_file() or path.is_dir()):  # a FIFO or device: snapshot.load refuses
        return None  # it (a provider's sniffing would block on a FIFO); a folder may be
        # Terraform configuration
    for provider in providers.values():
        recognises = getattr(provider, "reads_file", None)
        if callable(recognises) and recognises(path):
            return provider
    return None


def normalize(sections: Iterable[Section], providers: Mapping[str, Provider],
              profile: Profile, keep_raw: bool = True) -> list[Inventory]:
    """Every section's inventory, its resources given their profile roles.

    `keep_raw=False` (no selected check reads `Resource.raw`): the raw API objects are
    emptied once normalized (the parsed snapshot is most of a large scan's memory)."""
    inventories = []
    assign_roles = classifier(profile.parameters)
    for section in sections:
        try:  # a malformed raw object: errors for what it feeds, not the whole scan
            provider = providers[section.provider]
            got = quarantine.normalize_isolated(section, provider.normalize,
                                                getattr(provider, "collections", None))
            inv = probe.attach(got.inventory, section)
            if not keep_raw:  # before the roles: the copies they make reuse the memory
                _release_raw(section)  # the raw objects held (where a large scan peaks)
            resources = tuple(map(assign_roles, inv.resources))
        except MALFORMED as exc:
            raise PostureError(
                f"{section.provider} account {section.account!r}: a raw object is not shaped "
                f"as the {section.provider} API returns it ({type(exc).__name__}: {exc})"
            ) from exc
        inventories.append(replace(inv, resources=resources))
    return inventories


def _release_raw(section: Section) -> None:
    """Empty the section's raw objects in place, so that the resources holding them as
    `raw` hold empty dicts and the parsed snapshot is freed (what posture does not assess
    stays: `not_assessed` lists it)."""
    for name, regions in section.collections.items():
        if name != NOT_ASSESSED:
            for objs in regions.values():
                for obj in objs:
                    obj.clear()


MALFORMED = quarantine.MALFORMED  # what a raw value of the wrong type raises


def build_graph(inventories: list[Inventory]) -> EstateGraph:
    """The estate graph; a resource whose properties it cannot use (a wrong-typed value a
    normalizer passed on) is judged `error`, not the whole scan (scanner/quarantine.py);
    what names no resource is bad input (exit 2, named), not a crash."""
    try:
        graph: EstateGraph = quarantine.graph_isolated(inventories, EstateGraph)[0]
        return graph
    except MALFORMED as exc:
        log.debug("graph of malformed input", exc_info=True)
        raise PostureError(
            "a raw object holds a value of the wrong type or shape for the API it comes from "
            f"({type(exc).__name__}: {exc})") from exc


def as_of(sections: Iterable[Section]) -> datetime:
    """The collection time of the newest section: time-based checks judge as of then, so a
    replayed snapshot gives the same verdicts whenever it is replayed."""
    times = [datetime.fromisoformat(s.collected_at.replace("Z", "+00:00")) for s in sections]
    return max(times) if times else datetime.now(UTC)


def run_checks(checks: Iterable[Check], graph: EstateGraph, profile: Profile,
               when: datetime) -> list[Finding]:
    findings: list[Finding] = []
    shared = SharedParts()  # one object per distinct message and evidence
    for c in checks:
        ctx = CheckContext(check=c, graph=graph, params=profile.parameters, as_of=when,
                           shared=shared)
        try:
            findings.extend(c.run(ctx))
        except Exception as exc:  # a broken check is an error finding, never a pass
            # one line at default verbosity; the traceback only with -vv (debug)
            log.error("check %s crashed: %s: %s (an error finding; -vv shows the traceback)",
                      c.id, type(exc).__name__, exc)
            log.debug("check %s traceback", c.id, exc_info=True)
            findings.append(Finding(
                check=c.id, resource=f"posture:check/{c.id}", status=Status.ERROR,
                severity=c.severity, message=f"the check crashed: {type(exc).__name__}: {exc}",
                reason="bug", evidence_level=EvidenceLevel.NONE,
            ))
    return findings


def not_visible(checks: Iterable[Check], sections: Iterable[Section],
                providers: Mapping[str, Provider]) -> list[Finding]:
    """One `skip`/`none` finding per account of a provider that cannot show a control."""
    out = []
    for c in checks:
        for section in sections:
            why = providers[section.provider].not_visible.get(c.id)
            if why:
                out.append(Finding(
                    check=c.id, resource=f"{section.provider}:{section.account}",
                    status=Status.SKIP, severity=c.severity,
                    message=f"not verifiable on {section.provider}: {why}",
                    resource_name=section.account, resource_kind="account",
                    provider=section.provider, account=section.account,
                    evidence_level=EvidenceLevel.NONE,
                ))
    return out


@dataclass(frozen=True, slots=True)
class _Blind:
    """One failed or missing read of a collection a check needs, in one scope."""

    provider: str
    account: str
    region: str  # snapshot.GLOBAL: every region of the account
    collection: str
    why: str
    reason: str
    resource: str | None  # the parent a per-resource read was made for
    affects: Mapping[Kind, frozenset[str]] | None  # None: anything in the scope
    opens: bool
    closes: bool
    lists: frozenset[Kind]  # the kinds whose resources the collection itself lists

    def covers(self, r: Resource, reads: frozenset[str] | None, absent: bool = False) -> bool:
        """Could this missing read have changed what a check reading `reads` saw of `r`?
        `absent`: the verdict is about something the estate does not hold (a declaration
        that is "not live"): a list of its kind that could not be read could hold it."""
        if r.provider != self.provider or r.account != self.account:
            return False
        if self.region != snapshot.GLOBAL and _region_key(r.region) != _region_key(self.region):
            return False
        if self.affects is None or (absent and r.kind in self.lists):
            return self.resource is None or _names(r, self.resource)
        if absent:  # what other collections tell of present resources cannot matter
            return False
        props = self.affects.get(r.kind)
        if not props or not (ANY_PROPERTY in props or reads is None or props & reads):
            return False
        return self.resource is None or _names(r, self.resource)


def _region_key(region: str | None) -> str:
    return (region or "").replace(" ", "").lower()


def _names(r: Resource, parent: str) -> bool:
    """Is `parent` (an id as an API gave it: an ARM id, a bucket name, `server/7`...) the
    resource `r`? Matched case-insensitively on the native id or its last segments; a loose
    match only widens what becomes `error`."""
    parent = parent.lower().strip("/")
    native = r.native_id.lower()
    return native == parent or native.endswith(("/" + parent, ":" + parent)) \
        or r.name.lower() == parent


def _blind_scopes(check: Check, sections: list[Section],
                  providers: Mapping[str, Provider]) -> list[_Blind]:
    blind: list[_Blind] = []
    for section in sections:
        provider = providers[section.provider]
        if check.id in provider.not_visible:
            continue
        needed = provider.needed_in(check, section)
        if not needed:
            continue

        def scope(name: str, region: str, why: str, reason: str, parent: str | None,
                  provider: Provider = provider, section: Section = section) -> _Blind:
            col = provider.collections[name]
            return _Blind(section.provider, section.account, region, name, why, reason,
                          parent, col.affects, col.opens, col.closes, col.kinds)

        for err in section.collection_errors():
            if err.collection in needed:
                blind.append(scope(err.collection, err.region,
                                   f"{err.collection} could not be read: {err.message}",
                                   str(err.reason), err.resource))
        attempted = section.attempted()
        for name in sorted(needed - attempted):
            blind.append(scope(name, snapshot.GLOBAL, f"{name} was not collected",
                               "not_collected", None))
        for name in sorted(needed & attempted):
            if provider.collections[name].per_region:
                failed = {e["region"] for e in section.errors if e["collection"] == name}
                read = section.collections.get(name, {})
                for region in sorted(set(section.locations) - set(read) - failed):
                    blind.append(scope(name, region, f"{name} was not collected in {region}",
                                       "not_collected", None))
    return blind


def _scope_finding(check: Check, b: _Blind) -> Finding:
    where = b.collection if b.resource is None else f"{b.collection}/{b.resource}"
    return Finding(
        check=check.id, resource=f"{b.provider}:{b.account}/{b.region}/{where}",
        status=Status.ERROR, severity=check.severity, message=f"could not tell: {b.why}",
        provider=b.provider, account=b.account,
        region=None if b.region == snapshot.GLOBAL else b.region, reason=b.reason,
        evidence_level=EvidenceLevel.NONE,
    )


def verdict_inputs(graph: EstateGraph, rid: str) -> list[Resource]:
    """The resources whose data a verdict on `rid` reads: the resource itself, the load
    balancers and listeners on its exposure paths, and what it is a member of or attached to
    (a listener's load balancer, a volume's machine)."""
    r = graph.resources.get(rid)
    if r is None:
        return []
    out = [r]
    seen = {rid}
    for reach in graph.reaches(rid):
        for hop in (reach.via, reach.listener):
            if hop and hop not in seen and hop in graph.resources:
                seen.add(hop)
                out.append(graph.resources[hop])
    for rtype in (RelationType.MEMBER_OF, RelationType.ATTACHED_TO):
        for other in graph.related(rid, rtype):
            if other.id not in seen:
                seen.add(other.id)
                out.append(other)
    return out


def _stand_in(f: Finding) -> Resource:
    kind = Kind(f.resource_kind) if f.resource_kind in Kind.__members__.values() \
        else Kind.ACCOUNT
    return Resource(id=f.resource, kind=kind, provider=f.provider, account=f.account,
                    name=f.resource_name, region=f.region)


def _unsafe(status: Status, opens: bool, closes: bool) -> bool:
    """Is a verdict of this status unsafe when data that could open/close is missing? A
    `skip` ("not used by any public listener") is as unsafe as a pass: the missing data
    could make the resource applicable, and failing."""
    if status is Status.FAIL:
        return closes
    return opens and (status is Status.PASS or status is Status.SKIP)


def _unknown_hit(check: Check, f: Finding, inputs: list[Resource]) -> tuple[str, str] | None:
    """(why, reason) when a property the check reads is unknown on an input, in the
    direction that makes this verdict unsafe."""
    for r in inputs:
        for prop, u in r.unknown.items():
            if (prop == ANY_PROPERTY or check.reads is None or prop in check.reads) \
                    and _unsafe(f.status, u.opens, u.closes):
                what = "" if r.id == f.resource else f" of {r.name or r.id}"
                label = "" if prop == ANY_PROPERTY else f"{prop}{what}: "
                return f"{label}{u.why}", u.reason
    return None


def _partial(f: Finding, why: str, reason: str) -> Finding:
    return replace(f, status=Status.ERROR, reason=reason,
                   message=f"could not tell ({why}); with what was read: {f.message}",
                   evidence={**f.evidence, "verdict_on_partial_data": str(f.status)})


def fail_closed(findings: list[Finding], checks: Iterable[Check], sections: Iterable[Section],
                providers: Mapping[str, Provider], graph: EstateGraph | None = None
                ) -> list[Finding]:
    """Turn into `error` exactly the verdicts whose inputs could not be read, and name
    each unread scope (docs/model.md, "Fail closed").

    A `pass`, `skip` or `fail` of check C on resource R becomes `error` when, for R or a resource
    on its path (`verdict_inputs`):
    - a property C reads is in that resource's `unknown` (a dangling reference, a failed
      per-resource read), and the missing data could move the verdict (`Unread.opens`
      makes a pass or a skip unsafe, `Unread.closes` a fail); or
    - a collection C needs failed or was not collected in R's account and region (or
      account-wide), its `Collection.affects` names R's kind and a property C reads, the
      direction makes the verdict unsafe, and (a per-resource read) it was R's read.
    Every failed or missing read of a collection C needs also gets its own `error` finding.
    Every other verdict stands."""
    by_check = group_by_check(findings)
    out: list[Finding] = []
    sections = list(sections)
    has_unknown = graph is not None and any(r.unknown for r in graph.resources.values())
    inputs_of: dict[str, list[Resource]] = {}

    def inputs(f: Finding) -> list[Resource]:
        got = inputs_of.get(f.resource)
        if got is None:
            got = verdict_inputs(graph, f.resource) if graph is not None else []
            if not got:  # not a resource of the estate (a declaration, a scope): the
                got = [_stand_in(f)]  # finding's own provider, account and region
            inputs_of[f.resource] = got
        return got

    for c in checks:
        own = by_check.pop(c.id, [])
        blind = _blind_scopes(c, sections, providers)
        out.extend(_scope_finding(c, b) for b in blind)
        if not blind and not has_unknown:  # the usual case: every input was read
            out.extend(own)
            continue
        for f in own:
            if f.status is not Status.ERROR:
                ins = inputs(f)
                hit = _unknown_hit(c, f, ins) if has_unknown else None
                if hit is None:
                    absent = f.resource not in graph.resources if graph is not None else True
                    for b in blind:
                        # a verdict on something absent (a declaration not live) rests on
                        # every list of its kind, in both directions
                        if (absent or _unsafe(f.status, b.opens, b.closes)) and \
                                any(b.covers(r, c.reads, absent) for r in ins):
                            hit = (b.why, b.reason)
                            break
                if hit is not None:
                    f = _partial(f, *hit)
            out.append(f)
    for rest in by_check.values():
        out.extend(rest)
    return out


# --- infrastructure as code: the `iac` property (Terraform plans) ------------------------

NOT_ASSESSED = "not_assessed"  # a section collection: objects posture has no mapping for


def least_exposed(inventories: list[Inventory]) -> list[Inventory] | None:
    """The estate with every value unknown until apply at its least exposed (each
    resource's `iac.unknown` over its properties); None when nothing is unknown."""
    if not any((r.properties.get("iac") or {}).get("unknown")
               for inv in inventories for r in inv.resources):
        return None
    out = []
    for inv in inventories:
        resources = []
        for r in inv.resources:
            unknown = (r.properties.get("iac") or {}).get("unknown")
            if unknown:
                r = replace(r, properties={**r.properties, **unknown})
            resources.append(r)
        out.append(replace(inv, resources=tuple(resources)))
    return out


def settle_unknowns(most: list[Finding], least: list[Finding], graph: EstateGraph
                    ) -> list[Finding]:
    """A verdict that differs between the most and the least exposed estate rests on a
    value unknown until apply: `error`, never pass or fail. A pass, skip or error found in
    one estate only stands (the other has nothing to object to); a fail does not."""
    other = {f.id: f for f in least}
    out: list[Finding] = []
    for f in most:
        alt = other.pop(f.id, None)
        if not _settled(f, alt):
            out.append(_unknown_until_apply(f, alt, graph))
        elif alt is not None and alt.status is f.status is Status.FAIL:
            # a fail in both worlds: what the least exposed one finds is certain (the ports
            # open whatever the unknowns turn out to be), the most exposed one's is not
            out.append(alt)
        else:
            out.append(f)  # a pass in the most exposed world holds in every world
    for f in other.values():
        out.append(f if _settled(f, None) else _unknown_until_apply(f, None, graph))
    return out


def _settled(f: Finding, alt: Finding | None) -> bool:
    if alt is None:
        return f.status is not Status.FAIL
    return alt.status is f.status or f.status not in (Status.PASS, Status.FAIL)


def _unknown_until_apply(f: Finding, alt: Finding | None, graph: EstateGraph) -> Finding:
    r = graph.resources.get(f.resource)
    unknown = sorted(((r.properties.get("iac") or {}).get("unknown") or {}) if r else ())
    what = ", ".join(unknown) if unknown else "values of related resources"
    otherwise = f"{alt.status}" if alt is not None else "not judged"
    return replace(f, status=Status.ERROR, reason="unknown",
                   message=f"unknown until apply ({what}): {f.status} at the most exposed "
                           f"values, {otherwise} at the least; {f.message}",
                   evidence={**f.evidence, "unknown_until_apply": unknown,
                             "verdict_most_exposed": str(f.status),
                             "verdict_least_exposed": otherwise})


def iac_findings(findings: list[Finding], graph: EstateGraph) -> list[Finding]:
    """Drop the findings of resources that are context only (`iac.judged` false, from
    --changed-only); point the others at their source (`iac.file`/`line`, `address`)."""
    if not any("iac" in r.properties for r in graph.resources.values()):
        return findings  # no infrastructure-as-code source in this scan
    out = []
    for f in findings:
        r = graph.resources.get(f.resource)
        iac = r.properties.get("iac") if r is not None else None
        if not iac:
            out.append(f)
            continue
        if iac.get("judged") is False:
            continue
        if iac.get("file"):
            where = {k: iac[k] for k in ("address", "file", "line") if iac.get(k) is not None}
            f = replace(f, evidence={**f.evidence, **where})
        out.append(f)
    return out


def _from_iac(f: Finding, graph: EstateGraph) -> bool:
    r = graph.resources.get(f.resource)
    return r is not None and "iac" in r.properties


def not_assessed(sections: Iterable[Section]) -> list[Finding]:
    """Objects a source holds that posture cannot judge (a resource type it has no mapping
    for, a resource the plan deletes): one `skip` finding (evidence level none) per source,
    type and reason, listing them; never silently dropped."""
    groups: dict[tuple[str, str, str, str], tuple[str, list[str]]] = {}
    for s in sections:
        for obj in s.items(NOT_ASSESSED):
            why = str(obj.get("reason"))
            key = (s.provider, s.account, str(obj.get("type")), why)
            groups.setdefault(key, (str(obj.get("message") or why), []))[1].append(
                str(obj.get("id")))
    return [Finding(
        check="NOT-ASSESSED", resource=f"{provider}:{account}/{NOT_ASSESSED}/{rtype}/{why}",
        status=Status.SKIP, severity=Severity.INFO,
        message=f"{len(ids)} {rtype} resource(s) not assessed: {text}",
        evidence={"type": rtype, "reason": why, "count": len(ids), "ids": ids[:50]},
        resource_name=rtype, resource_kind="not_assessed", provider=provider, account=account,
        evidence_level=EvidenceLevel.NONE,
    ) for (provider, account, rtype, why), (text, ids) in sorted(groups.items())]


def scan(request: ScanRequest) -> ScanResult:
    with gc_paused():
        return _scan(request)


def _scan(request: ScanRequest) -> ScanResult:
    started = snapshot.now()
    registry = load_checks(request.checks_dirs)
    providers = load_providers()
    checks = select_checks(registry, request.profile, request.check_ids)
    keep_raw = any(c.uses_raw for c in checks)
    sections, described = gather(request.sources, providers, checks, request.options,
                                 partial=not keep_raw and request.record is None)
    if request.record is not None:
        digest = snapshot.write(Snapshot(sections=sections), request.record, key=request.sign)
        log.info("recorded snapshot %s (sha256 %s)", request.record, digest)
    inventories = normalize(sections, providers, request.profile, keep_raw=keep_raw)
    graph = build_graph(inventories)
    hidden = {(c.id, name) for c in checks for name, p in providers.items()
              if c.id in p.not_visible}
    findings = run_checks(checks, graph, request.profile, as_of(sections))
    least = least_exposed(inventories)
    if least is not None:  # values unknown until apply: judge their other extreme too
        other = run_checks(checks, build_graph(least), request.profile, as_of(sections))
        findings = settle_unknowns(findings, other, graph)
    shown = frozenset(c for p in providers.values() for c in p.shows)
    findings = [f for f in iac_findings(findings, graph)  # the provider cannot show it...
                if (f.check, f.provider) not in hidden
                or (f.check in shown and _from_iac(f, graph))]  # ...but a plan does
    findings = fail_closed(findings, checks, sections, providers, graph)
    if any(r.unknown for r in graph.resources.values()):  # else nothing is unjudged
        findings.extend(quarantine.unjudged(checks, graph.resources, findings))
    findings.extend(not_visible(checks, sections, providers))
    findings.extend(not_assessed(sections))
    findings = apply_scopes(findings, request.profile, graph.resources)
    findings.sort(key=ORDER)
    by_check = group_by_check(findings)
    ran = {c.id for c in checks}
    claims = [evaluate_claim(claim, by_check, ran, graph.resources)
              for claim in request.profile.claims]
    errors = [e for s in sections for e in
              ({"provider": s.provider, "account": s.account, **err} for err in s.errors)]
    return ScanResult(
        tool_version=__version__,
        profile={"name": request.profile.name, "title": request.profile.title,
                 "source": request.profile.source},
        sources=described,
        checks=[c.id for c in checks],
        findings=findings,
        claims=claims,
        errors=errors,
        started_at=started,
        finished_at=snapshot.now(),
        resource_count=len(graph),
    )


