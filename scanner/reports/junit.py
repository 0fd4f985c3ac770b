"""JUnit XML: a test suite per check, a test case per (check, resource).

`pass` is a passing test case; `fail` has a `<failure>`, `error` an `<error>`, `skip` and
`suppressed` a `<skipped>`. Written with xml.etree, so any text (resource names, messages,
evidence) is escaped; characters XML 1.0 cannot carry at all are replaced by U+FFFD.
Read by GitLab (`artifacts:reports:junit`), Azure Pipelines (`PublishTestResults@2`),
Jenkins and the like (docs/output-formats.md#junit).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from scanner.check import Check
from scanner.display import xml_chars, xml_visible
from scanner.findings import Finding, Status
from scanner.registry import load_checks
from scanner.result import ScanResult


def _x(text: Any) -> str:
    return xml_chars(str(text))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _x(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _x(text)
    return el


def _details(f: Finding, check: Check | None) -> str:
    lines = [f.message, f"resource: {f.resource}"]
    if f.region:
        lines.append(f"region: {f.region}")
    lines.append(f"evidence level: {f.evidence_level}")
    if f.reason:
        lines.append(f"reason: {f.reason}")
    if f.evidence:
        lines.append("evidence: " + json.dumps(f.evidence, sort_keys=True, ensure_ascii=False))
    if check is not None and check.remediation and f.status is Status.FAIL:
        lines.append(f"fix: {check.remediation}")
    return "\n".join(lines)


def _case(suite: ET.Element, f: Finding, check: Check | None) -> None:
    name = f"{f.resource_name} ({f.resource})" if f.resource_name else f.resource
    case = _sub(suite, "testcase", classname=f.check, name=name)
    props = _sub(case, "properties")
    _sub(props, "property", name="evidence_level", value=str(f.evidence_level))
    _sub(props, "property", name="severity", value=str(f.severity))
    _sub(props, "property", name="status", value=str(f.status))
    if f.status is Status.FAIL:
        _sub(case, "failure", _details(f, check), message=f.message, type=str(f.severity))
    elif f.status is Status.ERROR:
        _sub(case, "error", _details(f, check), message=f.message, type=f.reason or "error")
    elif f.status is Status.SKIP:
        _sub(case, "skipped", message=f.message)
    elif f.status is Status.SUPPRESSED:
        supp = f.evidence.get("suppression")
        supp = supp if isinstance(supp, Mapping) else {}
        why = f"suppressed: {supp.get('reason') or 'no reason given'}"
        if supp.get("owner"):
            why += f" (owner {supp['owner']}, expires {supp.get('expires', '?')})"
        _sub(case, "skipped", _details(f, check), message=why)


def _counts(findings: list[Finding]) -> dict[str, str]:
    n = {s: sum(1 for f in findings if f.status is s) for s in Status}
    return {"tests": str(len(findings)), "failures": str(n[Status.FAIL]),
            "errors": str(n[Status.ERROR]),
            "skipped": str(n[Status.SKIP] + n[Status.SUPPRESSED])}


def render(result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None) -> str:
    catalogue = load_checks() if checks is None else checks
    by_check: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_check.setdefault(f.check, []).append(f)
    root = ET.Element("testsuites", {"name": "posture", **_counts(result.findings)})
    for cid in sorted(set(result.checks) | set(by_check)):
        findings = by_check.get(cid, [])
        check = catalogue.get(cid)
        attrs = {"name": cid, **_counts(findings)}
        if timestamps and result.finished_at:
            attrs["timestamp"] = result.finished_at.removesuffix("Z")
        suite = _sub(root, "testsuite", **attrs)
        props = _sub(suite, "properties")
        if check is not None:
            _sub(props, "property", name="title", value=check.title)
            _sub(props, "property", name="severity", value=str(check.severity))
            for fw, refs in sorted(check.references.items()):
                _sub(props, "property", name=f"reference.{fw}", value=", ".join(refs))
        _sub(props, "property", name="profile", value=str(result.profile.get("name", "")))
        _sub(props, "property", name="posture_version", value=result.tool_version)
        for f in findings:
            _case(suite, f, check)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return xml_visible(data.decode("utf-8")) + "\n"
