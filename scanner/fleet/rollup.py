"""The roll-up of a fleet run: every account's claim statuses and the fleet's.

A claim is verified for the fleet only if it is verified in every account; contradicted if
any account contradicts it; otherwise unknown (or not verifiable / not assessed when every
account says so). An account whose unit failed, or never finished, is `error`: its claims
are unknown and every check of the run gets an `error` finding for it, never a silent gap.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scanner import __version__
from scanner.findings import EvidenceLevel, Finding, Severity, Status
from scanner.fleet.store import FleetStore, Run
from scanner.fleet.units import Outcome, Unit
from scanner.result import ClaimResult, ClaimStatus, ScanResult


@dataclass
class AccountView:
    unit: Unit
    status: str  # ok | error | missing
    message: str
    duration: float
    attempts: int
    scan_id: int | None
    result: ScanResult | None

    def counts(self) -> dict[str, int]:
        if self.result is None:
            return {}
        return dict(Counter(str(f.status) for f in self.result.findings))

    def claim(self, claim_id: str) -> ClaimResult | None:
        if self.result is None:
            return None
        return next((c for c in self.result.claims if c.claim.id == claim_id), None)


@dataclass
class FleetClaim:
    claim: ClaimResult  # the fleet's status, reason and counts
    accounts: dict[str, str] = field(default_factory=dict)  # unit key -> status


@dataclass
class FleetResult:
    run: Run
    accounts: list[AccountView]
    claims: list[FleetClaim]
    merged: ScanResult  # every account's findings, with the fleet's claims

    def exit_code(self, fail_on: str, allow_partial: bool) -> int:
        return self.merged.exit_code(fail_on, allow_partial)


def _fleet_claim(template: ClaimResult, per_account: dict[str, ClaimResult | None]
                 ) -> FleetClaim:
    statuses = {key: (c.status if c is not None else ClaimStatus.UNKNOWN)
                for key, c in per_account.items()}
    counts: Counter[str] = Counter()
    findings: list[str] = []
    for c in per_account.values():
        if c is not None:
            counts.update(c.counts)
            findings.extend(c.findings)

    def named(status: ClaimStatus) -> list[str]:
        return sorted(k for k, s in statuses.items() if s is status)

    total = len(statuses)
    if named(ClaimStatus.CONTRADICTED):
        keys = named(ClaimStatus.CONTRADICTED)
        status, reason = ClaimStatus.CONTRADICTED, (
            f"contradicted in {len(keys)} of {total} account(s): {', '.join(keys[:10])}")
    elif statuses and all(s is ClaimStatus.VERIFIED for s in statuses.values()):
        status, reason = ClaimStatus.VERIFIED, f"verified in all {total} account(s)"
    elif statuses and all(s is ClaimStatus.NOT_VERIFIABLE for s in statuses.values()):
        status, reason = ClaimStatus.NOT_VERIFIABLE, template.reason
    elif statuses and all(s is ClaimStatus.NOT_ASSESSED for s in statuses.values()):
        status, reason = ClaimStatus.NOT_ASSESSED, template.reason
    else:
        others = sorted(k for k, s in statuses.items() if s is not ClaimStatus.VERIFIED)
        status, reason = ClaimStatus.UNKNOWN, (
            f"verified in {total - len(others)} of {total} account(s); not in: "
            f"{', '.join(f'{k} ({statuses[k]})' for k in others[:10])}"
            + (" ..." if len(others) > 10 else ""))
    result = ClaimResult(template.claim, status, reason, dict(counts), tuple(findings),
                         template.evidence_levels)
    return FleetClaim(result, {k: str(s) for k, s in statuses.items()})


def _unit_errors(view: AccountView, checks: list[str], severities: dict[str, Severity]
                 ) -> list[Finding]:
    """The failed account's `error` findings: one per check of the run."""
    return [Finding(
        check=check, resource=f"{view.unit.key}/fleet-unit", status=Status.ERROR,
        severity=severities.get(check, Severity.HIGH),
        message=f"could not tell: the account could not be scanned: {view.message}",
        resource_name=view.unit.name or view.unit.account, resource_kind="account",
        provider=view.unit.provider, account=view.unit.account, reason="unknown",
        evidence_level=EvidenceLevel.NONE) for check in checks]


def build(store: FleetStore, ref: str | int) -> FleetResult:
    from scanner.fleet.task import load_profile
    from scanner.registry import load_checks

    run = store.run(ref)
    outcomes: dict[str, Outcome] = store.outcomes(run.id)
    accounts: list[AccountView] = []
    for unit in run.units:
        got = outcomes.get(unit.key)
        if got is None:
            accounts.append(AccountView(unit, "error", "the unit did not finish", 0.0, 0, None,
                                        None))
            continue
        result = store.scan_result(got.scan_id) if got.scan_id is not None else None
        status = "ok" if result is not None else "error"
        accounts.append(AccountView(unit, status, got.message or ("" if result else
                                    "no result stored"), got.duration, got.attempts,
                                    got.scan_id, result))
    results = [a.result for a in accounts if a.result is not None]
    registry = load_checks()
    profile = load_profile(run.request)
    checks = sorted(set(results[0].checks)) if results else sorted(
        run.request.get("checks") or profile.check_ids() or registry)
    severities = {cid: c.severity for cid, c in registry.items()}
    # the claims: from a scanned account, or evaluated on nothing (every account failed)
    templates: list[ClaimResult] = list(results[0].claims) if results else [
        ClaimResult(c, ClaimStatus.UNKNOWN if c.verifiable else ClaimStatus.NOT_VERIFIABLE,
                    c.reason, {}, ()) for c in profile.claims]
    claims = [_fleet_claim(t, {a.unit.key: a.claim(t.claim.id) for a in accounts})
              for t in templates]
    findings: list[Finding] = []
    errors: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    resources = 0
    for a in accounts:
        if a.result is None:
            findings.extend(_unit_errors(a, checks, severities))
            errors.append({"provider": a.unit.provider, "account": a.unit.account,
                           "collection": "fleet-unit", "region": "global",
                           "reason": "unknown", "message": a.message})
            continue
        findings.extend(a.result.findings)
        errors.extend(a.result.errors)
        sources.extend(a.result.sources)
        resources += a.result.resource_count
    from scanner.findings import ORDER

    findings.sort(key=ORDER)
    merged = ScanResult(
        tool_version=__version__,
        profile=dict(results[0].profile) if results else {"name": profile.name,
                                                          "title": profile.title},
        sources=sources, checks=checks, findings=findings, claims=[c.claim for c in claims],
        errors=errors, started_at=run.started_at, finished_at=run.finished_at or "",
        resource_count=resources)
    return FleetResult(run, accounts, claims, merged)
