"""OCSF 1.5.0 Detection Finding (class_uid 2004, category_uid 2): a JSON array, one event
per finding, shaped as Prowler writes its `json-ocsf` output (and as Security Hub and the
tools that read Prowler's output expect it).

- `status_code` is the verdict (`PASS`, `FAIL`, `ERROR`, `SKIP`; a suppressed finding keeps
  the verdict it had, `FAIL` or `ERROR`), `status_detail` the message;
- `status_id`/`status` is the finding's workflow state: 1 `New`, or 3 `Suppressed`;
- `compliance` (framework -> control ids) is under `unmapped`, as Prowler does: the OCSF
  `compliance` object belongs to the Compliance Finding class (2003), not to Detection
  Finding; so are the evidence, its level and the error reason.

One event per line inside the array: a valid JSON document that `grep` and `diff` can read.
`time` is the end of the scan in milliseconds since the epoch, 0 with --no-timestamps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scanner.check import Check
from scanner.display import json_visible
from scanner.findings import EvidenceLevel, Finding, Severity, Status
from scanner.registry import load_checks
from scanner.reports.sarif import control_uri
from scanner.result import ScanResult

OCSF_VERSION = "1.5.0"
CLASS_UID, CATEGORY_UID, ACTIVITY_CREATE = 2004, 2, 1

SEVERITY_ID = {
    Severity.INFO: (1, "Informational"),
    Severity.LOW: (2, "Low"),
    Severity.MEDIUM: (3, "Medium"),
    Severity.HIGH: (4, "High"),
    Severity.CRITICAL: (5, "Critical"),
}
CONFIDENCE_ID = {  # how sure the verdict is, from the evidence level
    EvidenceLevel.CONFIG: (3, "High"),
    EvidenceLevel.PROVIDER: (3, "High"),
    EvidenceLevel.PROBE: (3, "High"),
    EvidenceLevel.ATTESTED: (1, "Low"),
    EvidenceLevel.NONE: (0, "Unknown"),
}
ACCOUNT_TYPE = {"aws": (10, "AWS Account"), "azure": (6, "Azure AD Account"),
                "gcp": (5, "GCP Account")}
_ARN = re.compile(r"arn:(aws[a-z-]*):")


def _epoch_ms(stamp: str) -> int:
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


def _event(f: Finding, check: Check | None, result: ScanResult, time_ms: int,
           time_dt: str | None) -> dict[str, Any]:
    verdict = f.status
    suppressed = f.status is Status.SUPPRESSED
    if suppressed:
        verdict = Status.ERROR if f.evidence.get("suppressed_status") == "error" else Status.FAIL
    severity_id, severity = SEVERITY_ID[f.severity]
    confidence_id, confidence = CONFIDENCE_ID[f.evidence_level]
    title = check.title if check is not None else f.check
    info: dict[str, Any] = {
        "uid": f.id,
        "title": title,
        "desc": (check.rationale or check.title) if check is not None else f.message,
        "types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
    }
    uri = control_uri(check) if check is not None else None
    if uri:
        info["src_url"] = uri
    resource: dict[str, Any] = {"uid": f.resource, "name": f.resource_name or f.resource}
    if f.resource_kind:
        resource["type"] = f.resource_kind
    if f.region:
        resource["region"] = f.region
    partition = _ARN.search(f.resource)
    if partition:
        resource["cloud_partition"] = partition.group(1)
    account_type_id, account_type = ACCOUNT_TYPE.get(f.provider, (99, "Other"))
    event: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 3 if suppressed else 1,
        "status": "Suppressed" if suppressed else "New",
        "status_code": str(verdict).upper(),
        "status_detail": f.message,
        "message": f.message,
        "confidence_id": confidence_id,
        "confidence": confidence,
        "time": time_ms,
        "finding_info": info,
        "resources": [resource],
        "cloud": {
            "provider": f.provider or "posture",
            "account": {"uid": f.account or "", "name": f.account or "",
                        "type_id": account_type_id, "type": account_type},
        },
        "metadata": {
            "version": OCSF_VERSION,
            "uid": f.id,
            "event_code": f.check,
            "product": {"name": "posture", "uid": "posture", "vendor_name": "posture",
                        "version": result.tool_version},
            "profiles": ["cloud", "datetime"] if time_dt else ["cloud"],
        },
        "unmapped": {
            "evidence": dict(f.evidence),
            "evidence_level": str(f.evidence_level),
            "reason": f.reason,
            "profile": result.profile.get("name", ""),
        },
    }
    if f.region:
        event["cloud"]["region"] = f.region
    if time_dt:
        event["time_dt"] = time_dt
    if check is not None:
        if check.remediation:
            event["remediation"] = {"desc": check.remediation}
            if uri:
                event["remediation"]["references"] = [uri]
        if check.rationale:
            event["risk_details"] = check.rationale
        if check.references:
            event["unmapped"]["compliance"] = {fw: list(ids) for fw, ids
                                               in sorted(check.references.items())}
    if suppressed and isinstance(f.evidence.get("suppression"), Mapping):
        event["unmapped"]["suppression"] = dict(f.evidence["suppression"])
    return event


def render(result: ScanResult, timestamps: bool = True,
           checks: Mapping[str, Check] | None = None) -> str:
    catalogue = load_checks() if checks is None else checks
    stamp = result.finished_at if timestamps else ""
    time_ms = _epoch_ms(stamp) if stamp else 0
    events = [_event(f, catalogue.get(f.check), result, time_ms, stamp or None)
              for f in result.findings]
    if not events:
        return "[]\n"
    lines = [json_visible(json.dumps(e, sort_keys=True, ensure_ascii=False))
             for e in events]
    return "[\n" + ",\n".join(lines) + "\n]\n"
