"""Findings: what a check says about one resource, and how sure it is."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # could not tell: denied, throttled, unreachable, unknown, bug
    SKIP = "skip"  # not applicable, or not verifiable on this provider (evidence_level none)
    SUPPRESSED = "suppressed"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


def severity_names() -> list[str]:
    """critical, high, medium, low, info: the --fail-on and --min-severity choices."""
    return [s.value for s in Severity]


class EvidenceLevel(StrEnum):
    CONFIG = "config"  # read from the provider's API
    PROBE = "probe"  # observed by connecting to the endpoint
    PROVIDER = "provider"  # guaranteed by the provider for every resource of the type
    ATTESTED = "attested"  # only a label/tag the operator set says so
    NONE = "none"  # no API of the provider can show it


@dataclass(slots=True)
class Finding:
    """One verdict of one check on one resource (or on a scope it could not read).

    Its identity (`check` + `resource`) is stable across scans, so two scans can be diffed.

    A value: nothing changes a finding once made; `dataclasses.replace` makes the changed
    copy (fail closed, suppressions). Not `frozen=True` only because a frozen dataclass's
    `__init__` sets each field through `object.__setattr__`, three times the cost of a
    plain one, and a large scan makes hundreds of thousands of findings
    (bench/README.md)."""

    check: str
    resource: str
    status: Status
    severity: Severity
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    evidence_level: EvidenceLevel = EvidenceLevel.CONFIG
    resource_name: str = ""
    resource_kind: str = ""
    provider: str = ""
    account: str = ""
    region: str | None = None
    reason: str | None = None  # for errors: denied, throttled, unreachable, unknown, bug

    @property
    def id(self) -> str:
        return f"{self.check}|{self.resource}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "check": self.check,
            "resource": self.resource,
            "resource_name": self.resource_name,
            "resource_kind": self.resource_kind,
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "status": self.status._value_,  # str(): a call per member, per finding
            "severity": self.severity._value_,
            "message": self.message,
            "evidence": dict(self.evidence),
            "evidence_level": self.evidence_level._value_,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            check=data["check"],
            resource=data["resource"],
            status=Status(data["status"]),
            severity=Severity(data["severity"]),
            message=data["message"],
            evidence=data.get("evidence") or {},
            evidence_level=EvidenceLevel(data.get("evidence_level", "config")),
            resource_name=data.get("resource_name", ""),
            resource_kind=data.get("resource_kind", ""),
            provider=data.get("provider", ""),
            account=data.get("account", ""),
            region=data.get("region"),
            reason=data.get("reason"),
        )


# Reports list findings in this order (check, then resource): a key function at C speed.
ORDER: Callable[[Finding], tuple[str, str]] = attrgetter("check", "resource")
