"""SARIF 2.1.0: one run, a rule per check that ran, a result per finding that needs a look.

Shape (docs/output-formats.md#sarif), validated in tests against the official OASIS schema:

- `fail` findings are results of kind `fail`, level from the severity (critical/high
  `error`, medium `warning`, low/info `note`);
- `error` findings (could not tell) are results of kind `review`: SARIF (3.27.10) requires
  level `none` for every kind but `fail`, so they carry level `none`; the run's invocation
  says `executionSuccessful: false` and lists every recorded failed call as a
  `toolExecutionNotification` of level `error`;
- `suppressed` findings are results with a `suppressions` entry (kind `external`, the
  suppression's reason as justification);
- `pass` and `skip` findings are not results (SARIF reads an absent result as "no problem").

Every result has `partialFingerprints["postureFindingId/v1"]` = the finding id
(`check|resource`, stable across scans), a logical location (the resource id and kind) and a
physical location: the finding's `evidence.file`/`evidence.line` when it has them (Terraform
plans), otherwise the resource id as a relative path (`hetzner/ohallo-prod/server/104`),
because GitHub code scanning rejects a whole upload when one result has no physical location.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from scanner.check import Check
from scanner.display import json_visible
from scanner.findings import EvidenceLevel, Finding, Severity, Status
from scanner.registry import load_checks
from scanner.result import ScanResult

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/posture-scanner/posture"
DOCS_URI = INFORMATION_URI + "/blob/main/docs"
FINGERPRINT = "postureFindingId/v1"
BUILTIN_MODULES = ("checks.",)  # documented in docs/controls.md

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SECURITY_SEVERITY = {  # GitHub code scanning's scale: >9 critical, 7-8.9 high, 4-6.9 medium
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
# How sure a verdict is, by the evidence it rests on; a rule gets its weakest verdict's.
PRECISION = {
    EvidenceLevel.CONFIG: "very-high",
    EvidenceLevel.PROVIDER: "very-high",
    EvidenceLevel.PROBE: "high",
    EvidenceLevel.ATTESTED: "medium",
    EvidenceLevel.NONE: "low",
}
_PRECISION_ORDER = ["low", "medium", "high", "very-high"]
REPORTED = (Status.FAIL, Status.ERROR, Status.SUPPRESSED)
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def control_uri(check: Check) -> str | None:
    """The check's section of posture's control catalogue; None for a plugin's check."""
    if not check.module.startswith(BUILTIN_MODULES):
        return None
    return f"{DOCS_URI}/controls.md#{check.id.lower()}"


def reference_tags(references: Mapping[str, Iterable[str]]) -> list[str]:
    """`{"ISO27001": ["A.8.20"]}` -> `["ISO27001 A.8.20"]`, frameworks sorted."""
    return [f"{fw} {ref}" for fw, refs in sorted(references.items()) for ref in refs]


def _pascal(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words)


def _rule(check_id: str, check: Check | None, findings: list[Finding]) -> dict[str, Any]:
    judged = [f for f in findings if f.status in (Status.PASS, Status.FAIL, Status.SUPPRESSED)]
    precision = min((PRECISION[f.evidence_level] for f in judged), default="very-high",
                    key=_PRECISION_ORDER.index)
    if check is None:  # a results file from a plugin that is not installed here
        severity = max((f.severity for f in findings), default=Severity.MEDIUM,
                       key=lambda s: s.rank)
        text = f"{check_id} (check not installed: no description)"
        return {
            "id": check_id,
            "name": check_id,
            "shortDescription": {"text": text},
            "fullDescription": {"text": text},
            "defaultConfiguration": {"level": LEVEL[severity]},
            "properties": {"tags": ["security"], "security-severity": SECURITY_SEVERITY[severity],
                           "precision": precision, "severity": str(severity)},
        }
    uri = control_uri(check)
    refs = sorted(check.references.items())
    ref_text = "; ".join(f"{fw} {', '.join(ids)}" for fw, ids in refs)
    reads = [f"Reads on {p}: {what}" for p, what in sorted(check.evidence.items())]
    plain = [check.remediation or check.title]
    markdown = [f"**Fix:** {check.remediation or check.title}"]
    if ref_text:
        plain.append(f"References: {ref_text}")
        markdown.append("**References:**\n\n" + "\n".join(f"- {fw}: {', '.join(ids)}"
                                                         for fw, ids in refs))
    if reads:
        plain.append("\n".join(reads))
        markdown.append("\n".join(f"- {r}" for r in reads))
    if uri:
        plain.append(f"Documentation: {uri}")
        markdown.append(f"[{check.id} in posture's control catalogue]({uri})")
    rule: dict[str, Any] = {
        "id": check.id,
        "name": _pascal(check.title) or check.id,
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.rationale or check.title},
        "help": {"text": "\n\n".join(plain), "markdown": "\n\n".join(markdown)},
        "defaultConfiguration": {"level": LEVEL[check.severity]},
        "properties": {
            "tags": ["security", *reference_tags(check.references)],
            "security-severity": SECURITY_SEVERITY[check.severity],
            "precision": precision,
            "severity": str(check.severity),
        },
    }
    if uri:
        rule["helpUri"] = uri
    return rule


def _artifact_uri(resource: str) -> str:
    """`hetzner:ohallo-prod/server/104` -> `hetzner/ohallo-prod/server/104` (a relative URI;
    dot segments that an account or resource name brings are removed)."""
    return quote(_without_dot_segments(resource.replace(":", "/", 1)), safe="/-._~")


def _without_dot_segments(path: str) -> str:
    """The path without `.`, `..` or empty segments (RFC 3986 section 5.2.4 would let `..`
    climb out of the source root: a name chosen by whoever named the account); an absolute
    path stays absolute."""
    root = "/" if path.startswith("/") else ""
    return root + "/".join(p for p in path.split("/") if p not in ("", ".", ".."))


def _location(f: Finding) -> dict[str, Any]:
    physical: dict[str, Any]
    file = f.evidence.get("file")
    if isinstance(file, str) and file:
        # ":" percent-encoded too: a relative reference whose first segment holds one is
        # read as a scheme (RFC 3986 section 4.2), and a results file of elsewhere can name
        # `javascript:alert(1)` as a finding's file
        physical = {"artifactLocation": {"uri": quote(_without_dot_segments(file),
                                                       safe="/-._~")}}
        line = f.evidence.get("line")
        if isinstance(line, int) and not isinstance(line, bool) and line >= 1:
            physical["region"] = {"startLine": line}
    else:
        physical = {"artifactLocation": {"uri": _artifact_uri(f.resource)}}
    logical: dict[str, Any] = {"fullyQualifiedName": f.resource}
    if f.resource_name:
        logical["name"] = f.resource_name
    if f.resource_kind:
        logical["kind"] = f.resource_kind
    return {"physicalLocation": physical, "logicalLocations": [logical]}


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    underlying = f.status
    if f.status is Status.SUPPRESSED:
        underlying = Status.ERROR if f.evidence.get("suppressed_status") == "error" \
            else Status.FAIL
    where = f.resource_name or f.resource
    if f.region:
        where += f" ({f.region})"
    prefix = "could not tell: " if underlying is Status.ERROR \
        and not f.message.startswith("could not tell") else ""
    res: dict[str, Any] = {
        "ruleId": f.check,
        "ruleIndex": rule_index,
        "kind": "fail" if underlying is Status.FAIL else "review",
        "level": LEVEL[f.severity] if underlying is Status.FAIL else "none",
        "message": {"text": f"{where}: {prefix}{f.message}"},
        "locations": [_location(f)],
        "partialFingerprints": {FINGERPRINT: f.id},
        "properties": {
            "status": str(f.status),
            "severity": str(f.severity),
            "evidenceLevel": str(f.evidence_level),
            "provider": f.provider,
            "account": f.account,
            "region": f.region,
            "reason": f.reason,
            "evidence": dict(f.evidence),
        },
    }
    if f.status is Status.SUPPRESSED:
        supp = f.evidence.get("suppression")
        supp = supp if isinstance(supp, Mapping) else {}
        entry: dict[str, Any] = {"kind": "external", "status": "accepted",
                                 "justification": str(supp.get("reason") or "suppressed")}
        props = {k: supp[k] for k in ("owner", "expires", "check", "resource") if k in supp}
        if props:
            entry["properties"] = props
        res["suppressions"] = [entry]
    return res


def _notifications(result: ScanResult, errors: list[Finding]) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    for e in result.errors:
        if not isinstance(e, Mapping):
            continue
        where = "/".join(str(e[k]) for k in ("provider", "account", "region", "collection")
                         if e.get(k))
        text = f"{where}: {e.get('message', 'failed')}"
        if e.get("reason"):
            text += f" ({e['reason']})"
        notes.append({"level": "error", "message": {"text": text},
                      "descriptor": {"id": "collection-error"},
                      "properties": {k: e[k] for k in sorted(e)}})
    if errors:
        notes.append({"level": "error", "descriptor": {"id": "incomplete-scan"},
                      "message": {"text": f"incomplete scan: {len(errors)} finding(s) could "
                                          "not be decided (results of kind 'review')"}})
    return notes


def render(result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None) -> str:
    catalogue = load_checks() if checks is None else checks
    by_check: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_check.setdefault(f.check, []).append(f)
    rule_ids = sorted(set(result.checks) | set(by_check))
    index = {cid: i for i, cid in enumerate(rule_ids)}
    rules = [_rule(cid, catalogue.get(cid), by_check.get(cid, [])) for cid in rule_ids]
    results = [_result(f, index[f.check]) for f in result.findings if f.status in REPORTED]
    errors = [f for f in result.findings if f.status is Status.ERROR]
    invocation: dict[str, Any] = {"executionSuccessful": not errors}
    notes = _notifications(result, errors)
    if notes:
        invocation["toolExecutionNotifications"] = notes
    if timestamps and result.started_at:
        invocation["startTimeUtc"] = result.started_at
    if timestamps and result.finished_at:
        invocation["endTimeUtc"] = result.finished_at
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "posture",
            "version": result.tool_version,
            "informationUri": INFORMATION_URI,
            "rules": rules,
        }},
        "invocations": [invocation],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "profile": dict(result.profile),
            "sources": result.sources,
            "summary": result.summary(),
            "unassessed": result.unassessed(),
        },
    }
    if _SEMVER.match(result.tool_version):
        run["tool"]["driver"]["semanticVersion"] = result.tool_version
    doc = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)
    return json_visible(text) + "\n"
