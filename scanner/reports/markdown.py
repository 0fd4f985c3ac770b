"""Markdown claim report: the security page, claim by claim, with the evidence."""

from __future__ import annotations

from collections.abc import Mapping

from scanner.check import Check
from scanner.findings import Finding, Status
from scanner.reports.html import FRAMEWORKS, framework_summary
from scanner.result import ClaimStatus, ScanResult

BADGE = {
    ClaimStatus.VERIFIED: "✅ verified",
    ClaimStatus.CONTRADICTED: "❌ contradicted",
    ClaimStatus.UNKNOWN: "❔ unknown",
    ClaimStatus.NOT_VERIFIABLE: "⊘ not verifiable",
    ClaimStatus.NOT_ASSESSED: "⏸ not assessed",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None) -> str:
    by_id: dict[str, Finding] = {f.id: f for f in result.findings}
    profile = result.profile
    out = [f"# {profile.get('title') or profile.get('name')}: claim report", ""]
    if profile.get("source"):
        out += [f"Source: {profile['source']}", ""]
    sources = ", ".join(
        f"{s['name']}" + (f" (sha256 {s['digest'][:12]}…)" if s.get("digest") else "")
        for s in result.sources
    )
    out += [f"Estate: {sources}; {result.resource_count} resources; posture "
            f"{result.tool_version}" + (f"; scanned {result.finished_at}" if timestamps else ""),
            ""]
    summary = result.summary()
    out += ["| status | claims |", "|---|---|"]
    out += [f"| {BADGE[ClaimStatus(k)]} | {v} |" for k, v in summary["claims"].items() if v]
    if not summary["complete"]:
        out += ["", "> **Incomplete scan**: some scopes could not be read; claims that depend "
                "on them are *unknown*."]
    out.append("")
    section = None
    for claim in result.claims:
        if claim.claim.section and claim.claim.section != section:
            section = claim.claim.section
            out += [f"## {section}", ""]
        out.append(f"### {BADGE[claim.status]}: “{claim.claim.quote}”")
        out.append("")
        meta = [f"checks: {', '.join(claim.claim.checks)}"] if claim.claim.checks else []
        if claim.evidence_levels:
            meta.append(f"evidence: {', '.join(claim.evidence_levels)}")
        if claim.reason:
            meta.append(claim.reason)
        out.append("*" + "; ".join(meta) + "*")
        shown = [by_id[i] for i in claim.findings if i in by_id]
        if shown and claim.status is not ClaimStatus.VERIFIED:
            out += ["", "| resource | check | status | finding | evidence |",
                    "|---|---|---|---|---|"]
            for f in shown[:50]:
                out.append(f"| {_cell(f.resource_name or f.resource)} | {f.check} | "
                           f"{f.status} | {_cell(f.message)} | {f.evidence_level} |")
            if len(shown) > 50:
                out.append(f"| … {len(shown) - 50} more | | | | |")
        out.append("")
    unclaimed = [f for f in result.findings if f.status is Status.FAIL
                 and not any(f.check in c.claim.checks for c in result.claims)]
    if unclaimed:
        out += ["## Other failures", "", "| resource | check | finding |", "|---|---|---|"]
        out += [f"| {_cell(f.resource_name or f.resource)} | {f.check} | {_cell(f.message)} |"
                for f in unclaimed]
        out.append("")
    if checks is None:
        from scanner.registry import load_checks

        checks = load_checks()
    frameworks = framework_summary(result, checks)
    if frameworks:
        out += ["## Compliance frameworks", ""]
    for framework, rows in frameworks.items():
        out += [f"### {FRAMEWORKS.get(framework, framework)}", "",
                "| control | checks | verdict | pass | fail | error |", "|---|---|---|---|---|---|"]
        out += [f"| {_cell(r.control)} | {', '.join(r.checks)} | {r.verdict} | "
                f"{r.counts.get('pass', 0)} | "
                f"{r.counts.get('fail', 0) + r.counts.get('suppressed', 0)} | "
                f"{r.counts.get('error', 0)} |" for r in rows]
        out.append("")
    return "\n".join(out)
