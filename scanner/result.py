"""The one result object every output format is rendered from."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import chain, compress, repeat
from operator import attrgetter, is_
from typing import Any

import orjson

from scanner import result_tables
from scanner.errors import PostureError
from scanner.findings import EvidenceLevel, Finding, Severity, Status
from scanner.gcpause import gc_paused
from scanner.model import Kind, Resource
from scanner.profile import Claim, Profile, Scope, parse_scope

RESULT_FORMAT = "posture-result"
RESULT_VERSION = 2  # what `scan --format json` writes: findings as rows of shared tables
FLAT_VERSION = 1  # findings as flat objects: `ScanResult.to_json`, older files, the history
# store's earlier scans; `posture report` reads both
VERSIONS = (FLAT_VERSION, RESULT_VERSION)


class ClaimStatus(StrEnum):
    VERIFIED = "verified"
    CONTRADICTED = "contradicted"
    UNKNOWN = "unknown"  # something it depends on could not be read, or nothing was assessed
    NOT_VERIFIABLE = "not_verifiable"
    NOT_ASSESSED = "not_assessed"  # its checks were not run (--checks)


@dataclass(frozen=True, slots=True)
class ClaimResult:
    claim: Claim
    status: ClaimStatus
    reason: str
    counts: Mapping[str, int]
    findings: tuple[str, ...]  # finding ids that decided it (fails, or errors, or passes)
    evidence_levels: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.claim.id,
            "section": self.claim.section,
            "quote": self.claim.quote,
            "checks": list(self.claim.checks),
            "status": str(self.status),
            "reason": self.reason,
            "counts": dict(sorted(self.counts.items())),
            "findings": list(self.findings),
            "evidence_levels": list(self.evidence_levels),
            **({"scope": self.claim.scope.to_json()} if self.claim.scope else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClaimResult:
        claim = Claim(
            id=data["id"],
            quote=data["quote"],
            checks=tuple(data.get("checks", ())),
            section=data.get("section", ""),
            verifiable=data["status"] != ClaimStatus.NOT_VERIFIABLE or bool(data.get("checks")),
            reason=data.get("reason", ""),
            scope=parse_scope(data.get("scope") or {}, "results", "claim.scope"),
        )
        return cls(
            claim=claim,
            status=ClaimStatus(data["status"]),
            reason=data.get("reason", ""),
            counts=data.get("counts", {}),
            findings=tuple(data.get("findings", ())),
            evidence_levels=tuple(data.get("evidence_levels", ())),
        )


def in_scope(scope: Scope, f: Finding, resources: Mapping[str, Resource]) -> bool:
    """Is the finding about a resource the claim's scope speaks of? A finding on no resource
    of the estate (an unread scope, a control the provider cannot show) or on a whole
    account (its audit trail, its threat detection) is in scope unless its provider is
    excluded: it speaks of every resource of the account."""
    r = resources.get(f.resource)
    if r is None or r.kind is Kind.ACCOUNT:
        return scope.matches_scope_of(f.provider)
    return scope.matches(r)


def evaluate_claim(claim: Claim, by_check: Mapping[str, list[Finding]], ran: set[str],
                   resources: Mapping[str, Resource] | None = None) -> ClaimResult:
    """verified: something was assessed and all of it passed; contradicted: any failure;
    unknown: anything could not be read, or nothing was in scope; not verifiable: the page's
    sentence (or every check on every provider in scope) cannot be shown by any API.
    Findings outside the claim's scope do not count; `counts["out_of_scope"]` says how many."""
    if not claim.verifiable:
        return ClaimResult(claim, ClaimStatus.NOT_VERIFIABLE, claim.reason, {}, ())
    if not set(claim.checks) <= ran:
        missing = ", ".join(sorted(set(claim.checks) - ran))
        return ClaimResult(claim, ClaimStatus.NOT_ASSESSED, f"checks not run: {missing}", {}, ())
    findings = [f for c in claim.checks for f in by_check.get(c, [])]
    out_of_scope = 0
    if claim.scope and resources is not None:
        kept = [f for f in findings if in_scope(claim.scope, f, resources)]
        out_of_scope = len(findings) - len(kept)
        findings = kept
    by_status: dict[Status, list[Finding]] = {}  # one pass; statuses in order of first sight
    for f in findings:
        by_status.setdefault(f.status, []).append(f)
    counts = Counter({str(status): len(fs) for status, fs in by_status.items()})
    if out_of_scope:
        counts["out_of_scope"] = out_of_scope
    judged = by_status.get(Status.PASS, []) + by_status.get(Status.FAIL, [])
    levels = tuple(sorted({str(level) for level in set(map(_LEVEL, judged))}))  # str() per
    # distinct level, not per finding
    fails = [f.id for f in by_status.get(Status.FAIL, ())]
    errors = [f.id for f in by_status.get(Status.ERROR, ())]
    passes = by_status.get(Status.PASS, [])
    if fails:
        return ClaimResult(claim, ClaimStatus.CONTRADICTED,
                           f"{len(fails)} resource(s) contradict it", counts, tuple(fails), levels)
    if errors:
        return ClaimResult(claim, ClaimStatus.UNKNOWN,
                           f"{len(errors)} scope(s) could not be read", counts, tuple(errors),
                           levels)
    none_level = [f for f in findings if f.evidence_level is EvidenceLevel.NONE]
    if passes and none_level:
        return ClaimResult(claim, ClaimStatus.UNKNOWN,
                           f"{len(passes)} resource(s) comply, {len(none_level)} cannot be "
                           "verified from the provider's API", counts,
                           tuple(f.id for f in none_level), levels)
    if passes:
        return ClaimResult(claim, ClaimStatus.VERIFIED, f"{len(passes)} resource(s) comply",
                           counts, tuple(f.id for f in passes), levels)
    if findings and len(none_level) == len(findings):
        return ClaimResult(claim, ClaimStatus.NOT_VERIFIABLE, none_level[0].message, counts,
                           tuple(f.id for f in none_level), (str(EvidenceLevel.NONE),))
    where = f" (scope: {claim.scope.describe()})" if claim.scope else ""
    return ClaimResult(claim, ClaimStatus.UNKNOWN, f"no resource in scope{where} was assessed",
                       counts, (), levels)


def apply_scopes(findings: list[Finding], profile: Profile,
                 resources: Mapping[str, Resource]) -> list[Finding]:
    """A finding of a check that the profile binds only to scoped claims, and that is in
    none of their scopes, speaks of a resource the page does not: it becomes `skip` (reason
    `out_of_scope`, its verdict kept in the evidence), shown but never failing the scan."""
    scopes: dict[str, list[tuple[str, Scope]]] = {}
    for claim in profile.claims:
        for cid in claim.checks:
            scopes.setdefault(cid, []).append((claim.id, claim.scope))
    scoped = {cid: pairs for cid, pairs in scopes.items() if all(s for _, s in pairs)}
    if not scoped:
        return findings
    out = []
    for f in findings:
        pairs = scoped.get(f.check)
        if pairs and f.status is not Status.SKIP and \
                not any(in_scope(s, f, resources) for _, s in pairs):
            what = "; ".join(f"{cid}: {s.describe()}" for cid, s in pairs)
            f = replace(f, status=Status.SKIP, reason="out_of_scope",
                        message=f"outside the scope of the claims that use {f.check} ({what}); "
                                f"{f.status} on its own: {f.message}",
                        evidence={**f.evidence, "verdict_out_of_scope": str(f.status)})
        out.append(f)
    return out


_STATUS = attrgetter("status")
_SEVERITY = attrgetter("severity")
_LEVEL = attrgetter("evidence_level")


@dataclass
class ScanResult:
    tool_version: str
    profile: Mapping[str, str]
    sources: list[dict[str, Any]]
    checks: list[str]
    findings: list[Finding]
    claims: list[ClaimResult]
    errors: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""
    resource_count: int = 0
    expired_suppressions: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, Any] | None = None  # set by --since: the diff against an earlier scan

    def summary(self) -> dict[str, Any]:
        # counted in C (by member, then named): this runs over every finding of a scan
        status = {str(k): n for k, n in Counter(map(_STATUS, self.findings)).items()}
        failed = {str(k): n for k, n in Counter(compress(
            map(_SEVERITY, self.findings),
            map(is_, map(_STATUS, self.findings), repeat(Status.FAIL)))).items()}
        claims = Counter(str(c.status) for c in self.claims)
        return {
            "resources": self.resource_count,
            "findings": len(self.findings),
            "by_status": {s.value: status.get(s.value, 0) for s in Status},
            "failed_by_severity": {s.value: failed.get(s.value, 0) for s in Severity},
            "claims": {s.value: claims.get(s.value, 0) for s in ClaimStatus},
            "complete": status.get(Status.ERROR.value, 0) == 0,
            "unassessed": self.unassessed(),
        }

    def unassessed(self) -> int:
        """Objects of the sources posture cannot judge (a plan's resource types without a
        mapping, providers it does not cover); not what a plan deletes or forgets."""
        return sum(int(f.evidence.get("count") or 0) for f in self.findings
                   if f.check == "NOT-ASSESSED" and f.status is Status.SKIP
                   and f.evidence.get("reason") not in ("deleted", "forgotten"))

    def exit_code(self, fail_on: str = "low", allow_partial: bool = False,
                  fail_on_unassessed: bool = False) -> int:
        """0 clean; 1 a failure at or above `fail_on`; 3 errors (incomplete) unless allowed,
        or (`fail_on_unassessed`) anything posture could not judge. A certain violation
        outranks an incomplete view: the build fails either way."""
        if fail_on != "none":
            threshold = Severity(fail_on).rank
            if any(f.status is Status.FAIL and f.severity.rank >= threshold
                   for f in self.findings):
                return 1
        if not allow_partial and any(f.status is Status.ERROR for f in self.findings):
            return 3
        if fail_on_unassessed and self.unassessed():
            return 3
        return 0

    def to_json(self, timestamps: bool = True, findings: bool = True) -> dict[str, Any]:
        """The results document in format 1, each finding a flat object (`findings=False`:
        its findings list left empty, for a writer that writes them its own way). The `json`
        report writes format 2 (scanner/reports/json_report.py)."""
        doc: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "version": FLAT_VERSION,
            "tool_version": self.tool_version,
            "profile": dict(self.profile),
            "sources": self.sources,
            "checks": self.checks,
            "summary": self.summary(),
            "claims": [c.to_json() for c in self.claims],
            "findings": [f.to_json() for f in self.findings] if findings else [],
            "errors": self.errors,
            "expired_suppressions": self.expired_suppressions,
        }
        if self.changes is not None:
            doc["changes"] = self.changes
        if timestamps:
            doc["started_at"] = self.started_at
            doc["finished_at"] = self.finished_at
        return doc

    @classmethod
    def from_json(cls, data: Mapping[str, Any], origin: str = "results") -> ScanResult:
        """A results document of format 1 or 2 (format 2's tables checked row by row)."""
        _check_version(data, origin)
        try:
            claims = data["claims"]
            if data["version"] == FLAT_VERSION:
                findings = [Finding.from_json(f) for f in data["findings"]]
            else:
                findings = result_tables.decode(data, origin)
                claims = result_tables.claims_by_id(claims, findings, origin)
            _check_counts(findings, origin)
            return cls(
                tool_version=data["tool_version"],
                profile=data["profile"],
                sources=list(data["sources"]),
                checks=list(data["checks"]),
                findings=findings,
                claims=[ClaimResult.from_json(c) for c in claims],
                errors=list(data.get("errors", [])),
                started_at=data.get("started_at", ""),
                finished_at=data.get("finished_at", ""),
                resource_count=data.get("summary", {}).get("resources", 0),
                expired_suppressions=list(data.get("expired_suppressions", [])),
                changes=data.get("changes"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PostureError(f"{origin}: malformed results file ({exc!r})") from exc


def _check_counts(findings: list[Finding], origin: str) -> None:
    """A NOT-ASSESSED finding's `count` (how many objects posture could not judge, summed by
    `unassessed` into every report's summary) must be a whole number: a results file is
    untrusted, and "abc" or Infinity there was an internal error in every format."""
    for i, f in enumerate(findings):
        if f.check == "NOT-ASSESSED":
            count = f.evidence.get("count")
            if count is not None and (type(count) is not int or count < 0):
                raise PostureError(f"{origin}: malformed results file at findings/{i} "
                                   f"(NOT-ASSESSED on {f.resource}): its evidence count "
                                   f"{count!r} is not a whole number")


def _check_version(data: Any, origin: str) -> None:
    if not isinstance(data, Mapping) or data.get("format") != RESULT_FORMAT:
        raise PostureError(f"{origin}: not a posture results file")
    version = data.get("version")
    if type(version) is not int or version not in VERSIONS:
        raise PostureError(f"{origin}: results version {version!r} not supported "
                           f"(this posture reads versions {FLAT_VERSION} and {RESULT_VERSION})")


EXPANSION_FACTOR = 64  # a format 2 file's findings spelled out (format 1's size) may be
# this many times the file: posture's writer shares up to ~19x (1M minimal servers: 800 MB
# against 14.8 GB in format 1, bench/README.md), so this leaves room to spare
EXPANSION_FLOOR = 64 * 1024**2  # and always this much (small files of large evidence)


_SPELLED = attrgetter("check", "resource", "resource_name", "resource_kind", "provider",
                      "account", "message")
_OPTIONAL = attrgetter("region", "reason")


def _indented_size(evidence: Any) -> int:
    """The size of `evidence` as the HTML report (and SARIF, OCSF) write it, indented by two
    spaces a level: its size grows with the square of its depth (900 levels of `{"k":` are
    6 kB compact, 1.6 MB indented)."""
    try:
        return len(orjson.dumps(evidence, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    except (orjson.JSONEncodeError, TypeError):  # deeper than orjson goes, lone surrogates,
        pass  # integers beyond 64 bits: json's compact form (its C encoder: json's indenting
        # one is pure Python, 0.5 s for a 1.6 MB object), plus the indentation, counted
    size = len(json.dumps(evidence, separators=(",", ":"), default=str))
    stack: list[tuple[Any, int]] = [(evidence, 0)]
    while stack:  # a new line and two spaces a level before each item and closing bracket
        value, depth = stack.pop()
        items = list(value.values()) if isinstance(value, Mapping) else \
            value if isinstance(value, list) else None
        if items:
            size += len(items) * (2 * depth + 3) + 2 * depth + 1
            if isinstance(value, Mapping):
                size += len(items)  # ": " after each key
            stack.extend((item, depth + 1) for item in items)
    return size


CLAIM_ROWS = 200  # findings the HTML report writes out in full under each claim
# (scanner/reports/html.py MAX_FINDINGS, checked by a test)


def spelled_out_size(findings: Iterable[Finding], claims: Iterable[ClaimResult] = ()) -> int:
    """About the size of `findings` with each one's evidence (indented, as the HTML report
    shows it), texts, resource and check fields written out in full: what every report but
    `json` and `table` writes, and holds in memory several times over. Each distinct
    evidence object (format 2's findings share them) is encoded once. Plus, per claim, the
    first CLAIM_ROWS findings it names, which the HTML report writes out again under it: a
    claim naming one finding 200 times is 1 kB in either format and 200 copies of that
    finding's evidence."""
    findings = list(findings)
    evidences = list(map(attrgetter("evidence"), findings))
    ids = list(map(id, evidences))
    sizes = {i: _indented_size(ev) for i, ev in dict(zip(ids, evidences, strict=True)).items()}
    total = sum(map(sizes.__getitem__, ids))
    del evidences, ids
    # strings: the texts and table entries findings share are the same objects
    total += sum(map(len, chain.from_iterable(map(_SPELLED, findings))))
    total += sum(map(len, filter(None, chain.from_iterable(map(_OPTIONAL, findings)))))
    claims = list(claims)
    named = {ref for c in claims for ref in c.findings if type(ref) is str}
    if named:
        by_id = {f.id: f for f in findings if f.id in named}
        for claim in claims:
            shown = [by_id[ref] for ref in claim.findings
                     if type(ref) is str and ref in by_id][:CLAIM_ROWS]
            total += sum(sizes[id(f.evidence)] + sum(map(len, _SPELLED(f))) for f in shown)
    return total


def refuse_amplification(result: ScanResult, file_size: int, origin: str) -> None:
    """A format 2 file is rows of indices into shared tables: a few hundred kilobytes whose
    findings all name one large evidence object (or text, or resource name) spell out to
    gigabytes in every report that writes each finding in full (CSV, SARIF, JUnit, OCSF,
    JSON Lines), and several times that in memory. Refused (PostureError) when its findings
    spell out to more than EXPANSION_FACTOR times the file (at least EXPANSION_FLOOR), or,
    when $POSTURE_MAX_RESULTS_BYTES is set, to more than that."""
    from scanner import snapshot

    explicit = snapshot.results_limit_from_env()
    limit = explicit or max(EXPANSION_FLOOR, EXPANSION_FACTOR * file_size)
    with gc_paused():  # millions of short-lived tuples, no cycles
        size = spelled_out_size(result.findings, result.claims)
    if size > limit:
        why = ("POSTURE_MAX_RESULTS_BYTES" if explicit else
               f"{EXPANSION_FACTOR} times the file's {file_size} bytes, at least "
               f"{EXPANSION_FLOOR}")
        raise PostureError(
            f"{origin}: its {len(result.findings)} findings spell out to {size} bytes "
            f"(evidence and texts shared by index, written out in full by the reports), "
            f"more than the limit of {limit} bytes ({why}): refused as an amplification "
            "(raise it with POSTURE_MAX_RESULTS_BYTES)")


SCHEMAS = {FLAT_VERSION: "result.schema.json", RESULT_VERSION: "result-2.schema.json"}
_SAMPLE = 64  # rows of each format 2 table the JSON Schema sees; `result_tables.decode`
# checks every row itself (jsonschema over a million rows would take minutes)


@cache
def schema(version: int = FLAT_VERSION) -> dict[str, Any]:
    text = resources.files("scanner").joinpath("schema", SCHEMAS[version]).read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(data: Any, origin: str) -> None:
    """Refuse a results document that is not shaped as the `json` report writes it, or as
    format 1 was (a PostureError naming where), before anything renders it: every format
    reads these fields."""
    _check_version(data, origin)
    try:
        orjson.dumps(data)  # refuses lone surrogates, deep nesting, huge integers: then json
    except (orjson.JSONEncodeError, TypeError):  # says which (a huge integer is valid)
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise PostureError(f"{origin}: a string holds an unpaired UTF-16 surrogate "
                               "escape: not valid Unicode text") from None
        except (ValueError, RecursionError):
            raise PostureError(f"{origin}: nested too deeply, not a posture results file"
                               ) from None
    import jsonschema  # here, not at start-up: only reading a results file needs it

    version = data["version"]
    if version == RESULT_VERSION:  # the tables sampled; decode checks every row
        data = {k: v[:_SAMPLE] if k in result_tables.TABLES and isinstance(v, list) else v
                for k, v in data.items()}
        if isinstance(data.get("claims"), list):  # a claim may name a million findings
            data["claims"] = [{**c, "findings": c["findings"][:_SAMPLE]}
                              if isinstance(c, dict) and isinstance(c.get("findings"), list)
                              else c for c in data["claims"]]
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema(version)).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        raise PostureError(f"{origin}: malformed results file at {where}: {message}")


def group_by_check(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.check, []).append(f)
    return out
