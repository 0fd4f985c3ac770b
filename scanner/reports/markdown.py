"""Markdown claim report: the security page, claim by claim, with the evidence.

The report is rendered where Markdown is (a pull request comment, a CI job summary, a wiki),
and much of its text comes from the estate: a resource named `a | b` must not open a table
cell, one named `[login](https://evil.example)` must not become a link, `<img src=...>` not
an image, `**x**` not bold. So:
- a resource name is a code span (`md_code`): shown as it is named, in a fence longer than
  any run of backticks it holds, with `|` escaped as GitHub's tables require;
- every other text (messages, quotes, titles, check ids, controls) goes through `md_text`:
  every character Markdown gives a meaning to is backslash-escaped, and what GitHub would
  turn into a link by itself (`http://...`, `www.`..., an e-mail address) is broken up or
  put in a code span;
- both first pass through `scanner.display.visible`: control characters (a new line would
  end the table row), ESC sequences and bidi overrides become visible escapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from scanner.check import Check
from scanner.display import visible
from scanner.findings import Finding, Status
from scanner.reports.changes import headline, only_new, quiet
from scanner.reports.html import FRAMEWORKS, framework_summary, provenance
from scanner.reports.view import View
from scanner.result import ClaimStatus, ScanResult

BADGE = {
    ClaimStatus.VERIFIED: "✅ verified",
    ClaimStatus.CONTRADICTED: "❌ contradicted",
    ClaimStatus.UNKNOWN: "❔ unknown",
    ClaimStatus.NOT_VERIFIABLE: "⊘ not verifiable",
    ClaimStatus.NOT_ASSESSED: "⏸ not assessed",
}


_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&!#])")  # what CommonMark and GFM give a meaning to
_EMAILISH = re.compile(r"([^\s@]*@[^\s@]+)")  # GFM links e-mail addresses whatever escapes


def _escape(m: re.Match[str]) -> str:
    """A backslash before a special character; not before an underscore between two letters
    or digits (`db_password`), which CommonMark never reads as emphasis."""
    at, text = m.start(), m.string
    if (m.group() == "_" and 0 < at < len(text) - 1 and text[at - 1].isalnum()
            and text[at + 1].isalnum()):
        return "_"
    return "\\" + m.group()


def md_code(text: str) -> str:
    """`text` as an inline code span for a table cell: shown as it is, links and emphasis
    inert; "" for an empty text."""
    text = visible(text).replace("|", "\\|")
    if not text:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text[0] in "` " or text[-1] in "` ":  # one space each side is dropped when rendered
        return f"{fence} {text} {fence}"
    return f"{fence}{text}{fence}"


def md_text(text: str) -> str:
    """`text` as inline Markdown that renders as the very same characters: no link (GFM's
    bare `http://` and `www.` links included), image, HTML, emphasis or table cell break."""
    out = []
    for i, part in enumerate(_EMAILISH.split(visible(text))):
        if i % 2:
            out.append(md_code(part))
            continue
        part = _SPECIAL.sub(_escape, part)
        part = re.sub(r":(?=//)", r"\\:", part)  # http:// is no longer a link
        part = re.sub(r"(?i)\b(www)\.", r"\1\\.", part)  # nor is www.
        out.append(part)
    return "".join(out)


def _source(text: str) -> str:
    """The profile's source: a link when it is a plain web address, else escaped text."""
    if re.fullmatch(r"https?://[^\s<>`]+", text):
        return f"<{text}>"
    return md_text(text)


def render(result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None, view: View | None = None) -> str:
    view = view or View()
    by_id: dict[str, Finding] = {f.id: f for f in result.findings if view.shows(f)}
    profile = result.profile
    out = [f"# {md_text(str(profile.get('title') or profile.get('name')))}: claim report", ""]
    if profile.get("source"):
        out += [f"Source: {_source(str(profile['source']))}", ""]
    new_since = headline(result)
    if new_since:
        out += [f"**{md_text(new_since)}**", ""]
        if quiet(result):
            return "\n".join(out)
    sources = ", ".join(
        md_text(str(s["name"])) + (f" (sha256 {md_text(str(s['digest'])[:12])}…)"
                                   if s.get("digest") else "")
        + "".join(f"; {md_text(fact)}" for fact in provenance(s))
        for s in result.sources
    )
    out += [f"Estate: {sources}; {result.resource_count} resources; posture "
            f"{md_text(str(result.tool_version))}"
            + (f"; scanned {md_text(str(result.finished_at))}" if timestamps else ""), ""]
    summary = result.summary()
    out += ["| status | claims |", "|---|---|"]
    out += [f"| {BADGE[ClaimStatus(k)]} | {v} |" for k, v in summary["claims"].items() if v]
    if view.active:
        out += ["", f"*{md_text(view.describe())}*"]
    if not summary["complete"]:
        out += ["", "> **Incomplete scan**: some scopes could not be read; claims that depend "
                "on them are *unknown*."]
    out.append("")
    section = None
    for claim in result.claims:
        if claim.claim.section and claim.claim.section != section:
            section = claim.claim.section
            out += [f"## {md_text(section)}", ""]
        out.append(f"### {BADGE[claim.status]}: “{md_text(claim.claim.quote)}”")
        out.append("")
        meta = [f"checks: {md_text(', '.join(claim.claim.checks))}"] if claim.claim.checks \
            else []
        if claim.claim.scope:
            meta.append(f"scope: {md_text(claim.claim.scope.describe())}")
        if claim.evidence_levels:
            meta.append(f"evidence: {md_text(', '.join(claim.evidence_levels))}")
        if claim.reason:
            meta.append(md_text(claim.reason))
        out.append("*" + "; ".join(meta) + "*")
        shown = [by_id[i] for i in claim.findings if i in by_id]
        if shown and claim.status is not ClaimStatus.VERIFIED:
            out += ["", "| resource | check | status | finding | evidence |",
                    "|---|---|---|---|---|"]
            for f in shown[:50]:
                out.append(f"| {md_code(f.resource_name or f.resource)} | {md_text(f.check)} | "
                           f"{f.status} | {md_text(f.message)} | {f.evidence_level} |")
            if len(shown) > 50:
                out.append(f"| … {len(shown) - 50} more | | | | |")
        out.append("")
    unclaimed = [f for f in result.findings if f.status is Status.FAIL and view.shows(f)
                 and not any(f.check in c.claim.checks for c in result.claims)]
    if unclaimed:
        out += ["## Other failures", "", "| resource | check | finding |", "|---|---|---|"]
        out += [f"| {md_code(f.resource_name or f.resource)} | {md_text(f.check)} | "
                f"{md_text(f.message)} |" for f in unclaimed]
        out.append("")
    if checks is None:
        from scanner.registry import load_checks

        checks = load_checks()
    # new findings alone say nothing about a control: no framework summary for --only-new
    frameworks = {} if only_new(result) else framework_summary(result, checks)
    if frameworks:
        out += ["## Compliance frameworks", ""]
    for framework, rows in frameworks.items():
        out += [f"### {FRAMEWORKS.get(framework, framework)}", "",
                "| control | checks | verdict | pass | fail | error |", "|---|---|---|---|---|---|"]
        out += [f"| {md_text(r.control)} | {md_text(', '.join(r.checks))} | {r.verdict} | "
                f"{r.counts.get('pass', 0)} | "
                f"{r.counts.get('fail', 0) + r.counts.get('suppressed', 0)} | "
                f"{r.counts.get('error', 0)} |" for r in rows]
        out.append("")
    return "\n".join(out)
