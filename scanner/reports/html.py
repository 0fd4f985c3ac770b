"""HTML claim report: the security page, claim by claim, in one self-contained file.

Everything is inline (CSS and a few lines of optional script); the file makes no request:
no fonts, images, stylesheets or scripts from anywhere, and a Content-Security-Policy that
forbids them. It reads without JavaScript (each claim is a `<details>` element), prints with
every claim expanded and without backgrounds, and with `--no-timestamps` the same results give
the same bytes. Every text from the scan (quotes, resource names, messages, evidence) goes
through `html.escape`, after `scanner.display.visible` has made control characters and bidi
overrides visible escapes (a name must read as what it is).

This module also holds the compliance-framework helpers the claim reports and
`posture checks --framework` share: which checks map to which GDPR article, ISO/IEC
27001:2022 Annex A control and BSI C5:2020 criterion, and the verdict per control.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from scanner.check import Check
from scanner.display import visible
from scanner.findings import Finding, Status
from scanner.reports.changes import headline, only_new
from scanner.reports.exposure_svg import exposure_svg
from scanner.reports.view import View
from scanner.result import ClaimResult, ClaimStatus, ScanResult

# --- compliance frameworks ------------------------------------------------------------------

FRAMEWORKS: dict[str, str] = {
    "GDPR": "GDPR (Regulation (EU) 2016/679)",
    "ISO27001": "ISO/IEC 27001:2022 Annex A",
    "C5": "BSI C5:2020",
}
_ALIASES = {"gdpr": "GDPR", "dsgvo": "GDPR", "iso27001": "ISO27001", "iso": "ISO27001",
            "iso-27001": "ISO27001", "iso/iec27001": "ISO27001", "c5": "C5", "bsic5": "C5",
            "bsi-c5": "C5"}


def framework_key(name: str) -> str | None:
    """`iso27001`, `ISO27001`, `c5`, `gdpr` ... -> the key used in check references."""
    compact = re.sub(r"[\s_:]", "", name).lower()
    if compact in _ALIASES:
        return _ALIASES[compact]
    return next((k for k in FRAMEWORKS if k.lower() == compact), None)


def natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """Sort `A.5.9` before `A.5.12` and `Art. 28` before `Art. 32`."""
    return tuple((int(part), "") if part.isdigit() else (-1, part)
                 for part in re.split(r"(\d+)", text) if part)


def controls_by_framework(checks: Iterable[Check]) -> dict[str, dict[str, list[str]]]:
    """{framework: {control: [check ids]}}, frameworks in FRAMEWORKS order (others after,
    sorted), controls in natural order, check ids sorted."""
    index: dict[str, dict[str, set[str]]] = {}
    for c in checks:
        for framework, refs in c.references.items():
            for ref in refs:
                index.setdefault(framework, {}).setdefault(ref, set()).add(c.id)
    order = [k for k in FRAMEWORKS if k in index] + sorted(k for k in index
                                                          if k not in FRAMEWORKS)
    return {fw: {ctl: sorted(index[fw][ctl]) for ctl in sorted(index[fw], key=natural_key)}
            for fw in order}


@dataclass(frozen=True)
class ControlRow:
    """One framework control in a scan: its checks that ran and what they found."""

    control: str
    checks: tuple[str, ...]
    counts: Mapping[str, int]
    verdict: str  # contradicted, unknown, verified, not verifiable, nothing assessed


def control_verdict(findings: Iterable[Finding]) -> tuple[Counter[str], str]:
    found = list(findings)
    counts = Counter(str(f.status) for f in found)
    none_only = all(f.evidence_level.value == "none" for f in found)
    if counts[Status.FAIL.value] or counts[Status.SUPPRESSED.value]:
        return counts, "contradicted"
    if counts[Status.ERROR.value]:
        return counts, "unknown"
    if counts[Status.PASS.value]:
        return counts, "verified"
    if counts and none_only:
        return counts, "not verifiable"
    return counts, "nothing assessed"


def framework_summary(result: ScanResult, checks: Mapping[str, Check]
                      ) -> dict[str, list[ControlRow]]:
    """Per framework, the controls the scan's checks map to, with their verdicts.

    A control is contradicted when any finding of its checks failed (an accepted, suppressed
    failure still counts), unknown when something could not be read, verified when its
    checks assessed something and all of it passed."""
    ran = [checks[c] for c in result.checks if c in checks]
    by_check: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_check.setdefault(f.check, []).append(f)
    out: dict[str, list[ControlRow]] = {}
    for framework, controls in controls_by_framework(ran).items():
        rows = []
        for control, ids in controls.items():
            counts, verdict = control_verdict(f for i in ids for f in by_check.get(i, []))
            rows.append(ControlRow(control, tuple(ids), dict(counts), verdict))
        out[framework] = rows
    return out


# --- rendering --------------------------------------------------------------------------------

STATUS_LABEL = {
    ClaimStatus.VERIFIED: "verified",
    ClaimStatus.CONTRADICTED: "contradicted",
    ClaimStatus.UNKNOWN: "unknown",
    ClaimStatus.NOT_VERIFIABLE: "not verifiable",
    ClaimStatus.NOT_ASSESSED: "not assessed",
}
STATUS_MARK = {
    ClaimStatus.VERIFIED: "✔",
    ClaimStatus.CONTRADICTED: "✘",
    ClaimStatus.UNKNOWN: "?",
    ClaimStatus.NOT_VERIFIABLE: "⊘",
    ClaimStatus.NOT_ASSESSED: "\u2013",
}
MAX_FINDINGS = 200  # per claim; the JSON results hold them all
OPEN_BY_DEFAULT = (ClaimStatus.CONTRADICTED, ClaimStatus.UNKNOWN)

CSS = """
:root{--fg:#1b1f23;--muted:#586069;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;
--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--na:#57606a;--info:#0969da}
*{box-sizing:border-box}
body{margin:0 auto;max-width:72rem;padding:1.5rem;font:15px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin:2rem 0 .6rem;
border-bottom:1px solid var(--line);padding-bottom:.2rem}h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
.muted{color:var(--muted)}code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,
monospace}
pre{background:var(--soft);border:1px solid var(--line);padding:.5rem;overflow:auto;
white-space:pre-wrap;word-break:break-word;margin:.3rem 0}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border:1px solid var(--line);padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:var(--soft)}td.n{text-align:right;font-variant-numeric:tabular-nums}
.banner{border:2px solid var(--warn);background:#fff8c5;padding:.6rem .8rem;margin:1rem 0;
font-weight:600}
.counts{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0}
.count{border:1px solid var(--line);border-left-width:6px;padding:.3rem .7rem;min-width:9rem}
.count b{font-size:1.3rem;display:block}
.count.s-verified,.claim.s-verified{border-left-color:var(--ok)}
.count.s-contradicted,.claim.s-contradicted{border-left-color:var(--bad)}
.count.s-unknown,.claim.s-unknown{border-left-color:var(--warn)}
.count.s-not_verifiable,.claim.s-not_verifiable{border-left-color:var(--na)}
.count.s-not_assessed,.claim.s-not_assessed{border-left-color:var(--line)}
.badge{display:inline-block;min-width:8.5rem;font-weight:600;font-size:.85rem;
padding:0 .4rem;border:1px solid currentColor;border-radius:3px;margin-right:.5rem}
.b-verified{color:var(--ok)}.b-contradicted{color:var(--bad)}.b-unknown{color:var(--warn)}
.b-not_verifiable,.b-not_assessed{color:var(--na)}
details.claim{border:1px solid var(--line);border-left-width:6px;margin:.45rem 0;
padding:.35rem .6rem}
details.claim>summary{cursor:pointer;list-style-position:outside}
details.claim .body{margin:.4rem 0 .2rem}
q.quote{quotes:"\\201C" "\\201D"}
.meta{font-size:.85rem;color:var(--muted)}
details.json>summary{cursor:pointer;color:var(--info);font-size:.85rem}
.tools{float:right}.tools button{font:inherit;font-size:.85rem;margin-left:.3rem}
#status-filter{border:1px solid var(--line);padding:.3rem .6rem;margin:.6rem 0}
#status-filter label{margin-right:1rem;white-space:nowrap}
#estate-facts{overflow-wrap:anywhere}
svg.exposure{display:block;max-width:100%;height:auto;margin:.3rem 0;font-size:11px}
svg.exposure rect{fill:var(--soft);stroke:var(--muted)}svg.exposure .n-internet{stroke:var(--bad)}
svg.exposure line{stroke:var(--bad);stroke-width:1.5}svg.exposure polygon{fill:var(--bad)}
svg.exposure text{fill:var(--fg)}svg.exposure text.edge{fill:var(--bad)}
.st-fail,.st-suppressed{color:var(--bad);font-weight:600}.st-error{color:var(--warn);
font-weight:600}.st-pass{color:var(--ok)}
.v-contradicted{color:var(--bad);font-weight:600}.v-unknown{color:var(--warn);font-weight:600}
.v-verified{color:var(--ok)}.v-not-verifiable,.v-nothing-assessed{color:var(--na)}
nav ul{columns:2;margin:.3rem 0}
footer{margin-top:2.5rem;font-size:.85rem;color:var(--muted)}
code{overflow-wrap:anywhere}
@media screen and (max-width:48rem){
body{padding:.6rem}table{display:block;overflow-x:auto}nav ul{columns:1}
.badge{min-width:0}.count{min-width:6.5rem}.tools{float:none}
}
@media print{
body{max-width:none;padding:0;font-size:11pt}
*,*::before,*::after{background:none!important;box-shadow:none!important}
.tools,nav,#status-filter{display:none}
details::details-content{content-visibility:visible;display:block}
details>summary{list-style:none}details>summary::-webkit-details-marker{display:none}
details.claim{break-inside:avoid-page}
pre{white-space:pre-wrap}a{color:inherit;text-decoration:none}
.banner{border-width:3px}
}
"""

SCRIPT = """
(function(){
function all(open){document.querySelectorAll('details').forEach(function(d){d.open=open;});}
var b=document.getElementById('expand-all'),c=document.getElementById('collapse-all');
if(b){b.hidden=false;b.addEventListener('click',function(){all(true);});}
if(c){c.hidden=false;c.addEventListener('click',function(){all(false);});}
window.addEventListener('beforeprint',function(){all(true);});
var f=document.getElementById('status-filter');
if(f){f.hidden=false;f.addEventListener('change',function(){var on={};
f.querySelectorAll('input').forEach(function(i){on[i.value]=i.checked;});
document.querySelectorAll('details.claim').forEach(function(d){
d.hidden=!on[d.getAttribute('data-status')];});});}
})();
"""

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src 'none'; font-src 'none'; connect-src 'none'; form-action 'none'; "
       "base-uri 'none'")


def _e(value: Any) -> str:
    """Text from the scan as HTML text: escaped, and with control characters and bidi
    overrides (a name that reads reversed) shown as visible escapes (scanner.display)."""
    return escape(visible(str(value), keep="\n\t"), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "x"


def _evidence_json(evidence: Mapping[str, Any]) -> str:
    return json.dumps(evidence, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _finding_rows(findings: list[Finding], names: Mapping[str, str] | None = None
                  ) -> list[str]:
    out = ['<table class="findings"><thead><tr><th>resource</th><th>check</th>'
           "<th>status</th><th>finding</th><th>evidence level</th></tr></thead><tbody>"]
    for f in findings[:MAX_FINDINGS]:
        where = " · ".join(p for p in (f.provider, f.account, f.region or "") if p)
        evidence = ""
        if f.evidence:
            evidence = ('<details class="json"><summary>evidence JSON</summary><pre>'
                        f"{_e(_evidence_json(f.evidence))}</pre></details>")
        reason = f' <span class="meta">({_e(f.reason)})</span>' if f.reason else ""
        out.append(
            f'<tr class="finding" data-finding-id="{_e(f.id)}">'
            f"<td>{_e(f.resource_name or f.resource)}"
            f'<div class="meta"><code>{_e(f.resource)}</code>'
            + (f"<br>{_e(where)}" if where else "") + "</div></td>"
            f"<td><code>{_e(f.check)}</code></td>"
            f'<td class="st-{_e(f.status)}">{_e(f.status)}{reason}</td>'
            f"<td>{_e(f.message)}{exposure_svg(f, names or {})}{evidence}</td>"
            f"<td>{_e(f.evidence_level)}</td></tr>")
    out.append("</tbody></table>")
    if len(findings) > MAX_FINDINGS:
        out.append(f'<p class="meta">… {len(findings) - MAX_FINDINGS} more in the JSON '
                   "results.</p>")
    return out


def _claim(index: int, cr: ClaimResult, by_id: Mapping[str, Finding],
           names: Mapping[str, str] | None = None) -> list[str]:
    status = cr.status
    cid = f"claim-{index}-{_slug(cr.claim.id)}"
    meta = []
    if cr.claim.checks:
        meta.append("checks: " + ", ".join(f"<code>{_e(c)}</code>" for c in cr.claim.checks))
    if cr.evidence_levels:
        meta.append("evidence: " + _e(", ".join(cr.evidence_levels)))
    counts = ", ".join(f"{_e(v)} {_e(k)}" for k, v in sorted(cr.counts.items()) if v)
    if counts:
        meta.append("findings: " + counts)
    # what needs reading is open from the start: contradicted and unknown claims
    opened = " open" if status in OPEN_BY_DEFAULT else ""
    out = [f'<details class="claim s-{_e(status)}" id="{_e(cid)}" '
           f'data-claim-id="{_e(cr.claim.id)}" data-status="{_e(status)}"{opened}>',
           f'<summary><span class="badge b-{_e(status)}">{STATUS_MARK[status]} '
           f"{_e(STATUS_LABEL[status])}</span>"
           f'<q class="quote">{_e(cr.claim.quote)}</q></summary>',
           '<div class="body">']
    if cr.reason:
        out.append(f'<p class="reason">{_e(cr.reason)}</p>')
    if meta:
        out.append(f'<p class="meta">{"; ".join(meta)}</p>')
    shown = [by_id[i] for i in cr.findings if i in by_id]
    if shown:
        label = {ClaimStatus.CONTRADICTED: "Resources that contradict it",
                 ClaimStatus.UNKNOWN: "What could not be read or shown",
                 ClaimStatus.VERIFIED: "Resources that comply",
                 ClaimStatus.NOT_VERIFIABLE: "Why no API can show it"}.get(status, "Findings")
        out.append(f"<h4>{_e(label)}</h4>")
        out += _finding_rows(shown, names)
    elif status is ClaimStatus.NOT_VERIFIABLE and not cr.claim.checks:
        out.append('<p class="meta">Not bound to any check: no cloud API can show this '
                   "sentence.</p>")
    out += [f'<p class="meta">claim id <code>{_e(cr.claim.id)}</code></p>', "</div>",
            "</details>"]
    return out


def _estate_facts(result: ScanResult) -> list[str]:
    """When the estate was read and who signed it, per source, for the header: an auditor
    sees what the verdicts stand on (a scan of today may judge a snapshot of last month)."""
    facts = []
    for s in result.sources:
        when = ", ".join(str(t) for t in s.get("collected_at") or []) or "time not recorded"
        text = f"{_e(s.get('name', ''))}: collected {_e(when)}"
        if s.get("type") == "snapshot":  # the signature as checked (scan --key) or not
            said = [f for f in provenance(s) if not f.startswith("collected ")]
            text += "; " + _e("; ".join(said) or "not signed")
        facts.append(text)
    if not facts:
        return []
    return [f'<p class="muted" id="estate-facts">Estate: {"; ".join(facts)}</p>']


def _summary(result: ScanResult, timestamps: bool) -> list[str]:
    summary = result.summary()
    out = ['<section id="summary"><h2>Summary</h2>']
    if not summary["complete"]:
        unread = summary["by_status"]["error"]
        out.append(f'<div class="banner" id="incomplete" role="alert">Incomplete scan: '
                   f"{unread} finding(s) could not be decided because something could not be "
                   "read. Claims that depend on them are <em>unknown</em>, never verified."
                   "</div>")
    out.append('<div class="counts" id="claim-counts">')
    for status in ClaimStatus:
        n = summary["claims"][status.value]
        out.append(f'<div class="count s-{status.value}" data-status="{status.value}">'
                   f'<b class="n" data-count="{status.value}">{n}</b>'
                   f"{_e(STATUS_LABEL[status])}</div>")
    out.append("</div>")
    st = summary["by_status"]
    out.append(f'<p id="finding-counts">{summary["resources"]} resources, '
               f"{len(result.checks)} checks, {summary['findings']} findings: "
               + ", ".join(f'<span data-finding-status="{_e(k)}">{_e(v)} {_e(k)}</span>'
                           for k, v in st.items()) + "</p>")
    out.append("<h3>Estate</h3>")
    out.append('<table id="sources"><thead><tr><th>source</th><th>type</th><th>accounts</th>'
               "<th>SHA-256</th><th>signature and collection</th></tr></thead><tbody>")
    for s in result.sources:
        accounts = ", ".join(str(a) for a in s.get("accounts", []))
        digest = s.get("digest") or ""
        out.append(f"<tr><td>{_e(s.get('name', ''))}</td><td>{_e(s.get('type', ''))}</td>"
                   f"<td>{_e(accounts)}</td><td><code>{_e(digest)}</code></td>"
                   f"<td>{_e('; '.join(provenance(s)))}</td></tr>")
    out.append("</tbody></table>")
    facts = [f"posture {_e(result.tool_version)}",
             f"checks run: {_e(', '.join(result.checks))}"]
    if timestamps and result.finished_at:
        facts.insert(1, f"scanned {_e(result.started_at)} to {_e(result.finished_at)}")
    out.append(f'<p class="meta">{"; ".join(facts)}</p>')
    if result.errors:
        out.append("<h3>Calls that failed</h3><ul>")
        for err in result.errors:
            text = " ".join(f"{k}={v}" for k, v in sorted(err.items()) if v not in (None, ""))
            out.append(f"<li><code>{_e(text)}</code></li>")
        out.append("</ul>")
    if result.expired_suppressions:
        out.append(f'<p class="meta">{len(result.expired_suppressions)} suppression(s) have '
                   "expired: their findings count again.</p>")
    out.append("</section>")
    return out


def _frameworks(result: ScanResult, checks: Mapping[str, Check]) -> list[str]:
    summary = framework_summary(result, checks)
    out = ['<section id="frameworks"><h2>Compliance frameworks</h2>',
           '<p class="meta">The controls the checks of this scan map to. A control is '
           "contradicted when any finding of its checks failed, unknown when something could "
           "not be read, verified when everything assessed passed.</p>"]
    if not summary:
        out.append('<p class="meta">No check of this scan carries framework references.</p>')
    for framework, rows in summary.items():
        verdicts = Counter(r.verdict for r in rows)
        out.append(f'<h3 id="framework-{_e(_slug(framework))}">'
                   f"{_e(FRAMEWORKS.get(framework, framework))}</h3>")
        out.append('<p class="meta">' + ", ".join(
            f"{n} {_e(v)}" for v, n in sorted(verdicts.items())) + "</p>")
        out.append(f'<table class="framework" data-framework="{_e(framework)}"><thead><tr>'
                   "<th>control</th><th>checks</th><th>verdict</th><th>pass</th><th>fail</th>"
                   "<th>error</th></tr></thead><tbody>")
        for r in rows:
            fails = r.counts.get("fail", 0) + r.counts.get("suppressed", 0)
            out.append(f'<tr><td>{_e(r.control)}</td><td>{_e(", ".join(r.checks))}</td>'
                       f'<td class="v-{_e(_slug(r.verdict))}">{_e(r.verdict)}</td>'
                       f'<td class="n">{r.counts.get("pass", 0)}</td><td class="n">{fails}</td>'
                       f'<td class="n">{r.counts.get("error", 0)}</td></tr>')
        out.append("</tbody></table>")
    out.append("</section>")
    return out


def provenance(source: Mapping[str, Any]) -> list[str]:
    """Who signed a source and when it was collected, in words (empty for sources that say
    neither, e.g. a live scan or a plan)."""
    facts: list[str] = []
    sig = source.get("signature")
    if isinstance(sig, Mapping):
        status, key = sig.get("status"), sig.get("key_id")
        facts.append({"valid": f"signed by {key} (verified)",
                      "not checked": f"signature by {key} NOT checked (no --key)",
                      "absent": "not signed",
                      "invalid": f"signature by {key} INVALID"}.get(str(status),
                                                                     f"signature {status}"))
    when = source.get("collected_at")
    if when:  # one time, or the sorted times of the source's sections
        facts.append("collected " + (", ".join(map(str, when)) if isinstance(when, list)
                                     else str(when)))
    return facts


def render(result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None, view: View | None = None) -> str:
    if checks is None:
        from scanner.registry import load_checks

        checks = load_checks()
    profile = result.profile
    title = f"{profile.get('title') or profile.get('name') or 'posture'}: claim report"
    view = view or View()
    by_id = {f.id: f for f in result.findings if view.shows(f)}
    names = {f.resource: f.resource_name for f in result.findings if f.resource_name}
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<meta name="generator" content="posture">',
           f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
           "<header>",
           '<div class="tools"><button type="button" id="expand-all" hidden>Expand all'
           '</button><button type="button" id="collapse-all" hidden>Collapse all</button>'
           "</div>",
           f"<h1>{_e(title)}</h1>"]
    if profile.get("source"):
        out.append(f'<p class="muted">Source: {_e(profile["source"])}</p>')
    out += _estate_facts(result)
    new_since = headline(result)
    if new_since:
        out.append(f'<p id="new-since"><strong>{_e(new_since)}</strong></p>')
    if view.active:
        out.append(f'<p class="muted" id="view-filter">{_e(view.describe())}</p>')
    out.append(f'<p class="muted">Profile <code>{_e(profile.get("name", ""))}</code>: the '
               "page's sentences, each verified, contradicted (with the resources that "
               "contradict it), unknown (what could not be read) or not verifiable (why).</p>")
    out.append("</header>")
    out += _summary(result, timestamps)
    sections: list[tuple[str, list[tuple[int, ClaimResult]]]] = []
    for i, cr in enumerate(result.claims):
        name = cr.claim.section or "Claims"
        if not sections or sections[-1][0] != name:
            sections.append((name, []))
        sections[-1][1].append((i, cr))
    if sections:
        out.append('<nav aria-label="sections"><h2>Sections</h2><ul>')
        for n, (name, items) in enumerate(sections):
            counts = Counter(cr.status for _, cr in items)
            detail = ", ".join(f"{counts[s]} {STATUS_LABEL[s]}" for s in ClaimStatus
                               if counts[s])
            out.append(f'<li><a href="#section-{n}">{_e(name)}</a> '
                       f'<span class="meta">({_e(detail)})</span></li>')
        out.append("</ul></nav>")
    out.append('<fieldset id="status-filter" hidden><legend>Show claims</legend>'
               + "".join(f'<label><input type="checkbox" value="{st.value}" checked> '
                         f"{_e(STATUS_LABEL[st])}</label>" for st in ClaimStatus
                         if any(cr.status is st for cr in result.claims))
               + "</fieldset>")
    out.append('<main id="claims">')
    for n, (name, items) in enumerate(sections):
        out.append(f'<section class="page-section" id="section-{n}"><h2>{_e(name)}</h2>')
        for i, cr in items:
            out += _claim(i, cr, by_id, names)
        out.append("</section>")
    claimed = {c for cr in result.claims for c in cr.claim.checks}
    unclaimed = [f for f in result.findings if f.status is Status.FAIL and f.check not in claimed
                 and view.shows(f)]
    if unclaimed:
        out.append('<section id="other-failures"><h2>Other failures</h2><p class="meta">'
                   "Failures of checks that no claim of the page is bound to.</p>")
        out += _finding_rows(unclaimed, names)
        out.append("</section>")
    if not only_new(result):  # new findings alone say nothing about a control
        out += _frameworks(result, checks)
    out.append("</main>")
    out.append(f"<footer>Generated by posture {_e(result.tool_version)} from "
               f"{len(result.findings)} findings. This file is self-contained: it loads "
               "nothing from anywhere.</footer>")
    out += [f"<script>{SCRIPT}</script>", "</body>", "</html>", ""]
    return "\n".join(out)
