"""What a check is: a plain function with metadata, registered through entry points.

Writing one::

    from checks import check
    from scanner.model import Kind

    @check(id="NET-01", title="Databases hold no public IP", severity="critical",
           kinds={Kind.COMPUTE, Kind.DATABASE, Kind.FIREWALL}, rationale="...",
           remediation="...", references={"ISO27001": ("A.8.20",)})
    def databases_not_public(ctx):
        for db in ctx.graph.with_role("database"):
            if db.prop("public_ips"):
                yield ctx.fail(db, "has a public IP", {"public_ips": db.prop("public_ips")})
            else:
                yield ctx.passed(db, "no public IP")

Every check gets a `CheckContext` with the estate graph and the profile parameters, and
yields `Finding`s. It never needs to handle failed collections itself: the engine turns
findings in a scope whose inputs could not be read into `error` (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scanner.findings import EvidenceLevel, Finding, Severity, Status
from scanner.model import Kind, Resource

if TYPE_CHECKING:
    from scanner.graph import EstateGraph
    from scanner.profile import Parameters


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: Severity
    kinds: frozenset[Kind]
    func: Callable[[CheckContext], Iterable[Finding]] = field(repr=False, compare=False)
    rationale: str = ""
    remediation: str = ""
    references: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    evidence: Mapping[str, str] = field(default_factory=dict)  # provider -> what it reads
    parameters: tuple[str, ...] = ()  # profile parameters it uses
    module: str = ""
    uses_raw: bool = False  # reads `Resource.raw` (the engine otherwise releases it)
    # The model properties its verdicts read (of the judged resource and of the resources
    # on its exposure paths); None: any property. The fail-closed rule touches a verdict
    # only when a property it reads could not be read.
    reads: frozenset[str] | None = None

    def run(self, ctx: CheckContext) -> list[Finding]:
        return list(self.func(ctx))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": str(self.severity),
            "kinds": sorted(str(k) for k in self.kinds),
            "rationale": self.rationale,
            "remediation": self.remediation,
            "references": {k: list(v) for k, v in sorted(self.references.items())},
            "evidence": dict(sorted(self.evidence.items())),
            "parameters": list(self.parameters),
        }


def check(
    *,
    id: str,
    title: str,
    severity: str,
    kinds: Iterable[Kind],
    rationale: str = "",
    remediation: str = "",
    references: Mapping[str, Iterable[str]] | None = None,
    evidence: Mapping[str, str] | None = None,
    parameters: Iterable[str] = (),
    uses_raw: bool = False,
    reads: Iterable[str] | None = None,
) -> Callable[[Callable[[CheckContext], Iterable[Finding]]], Check]:
    """Decorator turning a function into a `Check` (the module is then an entry point)."""

    def wrap(func: Callable[[CheckContext], Iterable[Finding]]) -> Check:
        return Check(
            id=id,
            title=title,
            severity=Severity(severity),
            kinds=frozenset(kinds),
            func=func,
            rationale=rationale,
            remediation=remediation,
            references={k: tuple(v) for k, v in (references or {}).items()},
            evidence=dict(evidence or {}),
            parameters=tuple(parameters),
            module=func.__module__,
            uses_raw=uses_raw,
            reads=None if reads is None else frozenset(reads),
        )

    return wrap


_EMPTY: Mapping[str, Any] = {}


class SharedParts:
    """One object for each distinct message and evidence of a scan's findings.

    A large scan makes millions of findings from a few thousand distinct messages and
    evidence objects (100k resources: 402k findings, 477 messages, 10k evidence objects), and
    each finding held its own copy: most of the memory of a 1M-resource scan. Findings of
    one scan share equal parts instead: an evidence object is shared when its compact JSON
    (orjson, keys in their order) and its Python value are both equal (so `1` and `1.0`, a tuple and
    a list, NaN and null never merge), and the results writer encodes each shared evidence
    once (`result_tables.Tables.add`). Findings are values (nothing changes one in place), so
    sharing is invisible; evidence that orjson cannot encode is kept as its own copy."""

    __slots__ = ("_dumps", "_refused", "evidence", "texts")

    def __init__(self) -> None:
        import orjson  # here: listing the checks (start-up) imports this module, not orjson

        self._dumps = orjson.dumps
        self._refused = (orjson.JSONEncodeError, TypeError)
        self.texts: dict[str, str] = {}
        self.evidence: dict[bytes, dict[str, Any]] = {}

    def text(self, value: str) -> str:
        return self.texts.setdefault(value, value)

    def of(self, evidence: Mapping[str, Any]) -> dict[str, Any]:
        try:
            key = self._dumps(evidence)  # keys in their order: the order other formats
            # show them in is kept (and no sort per finding)
        except self._refused:  # e.g. a lone surrogate, a set
            return dict(evidence)
        got = self.evidence.get(key)
        if got is None:  # the key kept as a copy of its own size (result_tables.compact)
            got = self.evidence[bytes(memoryview(key))] = dict(evidence)
        elif got != evidence:  # NaN (never equal to itself) or equal text, other types
            return dict(evidence)
        return got


@dataclass
class CheckContext:
    """What a running check sees, plus helpers that fill in the finding's boilerplate."""

    check: Check
    graph: EstateGraph
    params: Parameters
    as_of: datetime  # when the estate was collected: time-based verdicts use this, not now()
    # the scan's distinct messages and evidence (the engine passes one to every check)
    shared: SharedParts = field(default_factory=SharedParts)

    def finding(
        self,
        resource: Resource,
        status: Status,
        message: str,
        evidence: Mapping[str, Any] | None = None,
        level: EvidenceLevel = EvidenceLevel.CONFIG,
        reason: str | None = None,
    ) -> Finding:
        # positional, and the kind's `_value_` (not the `value` property): this runs once
        # per finding, hundreds of thousands of times in a large scan (`shared.text` inlined)
        shared, check = self.shared, self.check
        return Finding(check.id, resource.id, status, check.severity,
                       shared.texts.setdefault(message, message),
                       shared.of(_EMPTY if evidence is None else evidence), level, resource.name,
                       resource.kind._value_, resource.provider, resource.account,
                       resource.region, reason)

    def passed(self, resource: Resource, message: str, evidence: Mapping[str, Any] | None = None,
               level: EvidenceLevel = EvidenceLevel.CONFIG) -> Finding:
        return self.finding(resource, Status.PASS, message, evidence, level)

    def fail(self, resource: Resource, message: str, evidence: Mapping[str, Any] | None = None,
             level: EvidenceLevel = EvidenceLevel.CONFIG) -> Finding:
        return self.finding(resource, Status.FAIL, message, evidence, level)

    def error(self, resource: Resource, message: str, reason: str,
              evidence: Mapping[str, Any] | None = None) -> Finding:
        return self.finding(resource, Status.ERROR, message, evidence, reason=reason)

    def skip(self, resource: Resource, message: str, evidence: Mapping[str, Any] | None = None,
             level: EvidenceLevel = EvidenceLevel.CONFIG) -> Finding:
        return self.finding(resource, Status.SKIP, message, evidence, level)
