"""JSON: the stable, documented shape (docs/output-formats.md). Keys sorted, findings in
(check, resource) order, indented by two spaces: the same snapshot and profile give the
same bytes."""

from __future__ import annotations

import io
import uuid
from typing import BinaryIO

from scanner import fastjson
from scanner.gcpause import gc_paused
from scanner.result import ScanResult

_BATCH = 4096  # findings encoded at a time
_HEAD, _TAIL = len(b'{\n  "f": ['), len(b'\n  ]\n}\n')


def render(result: ScanResult, timestamps: bool = True) -> str:
    out = io.BytesIO()
    write(result, out, timestamps)
    return out.getvalue().decode()


def write(result: ScanResult, out: BinaryIO, timestamps: bool = True) -> None:
    """Write the report as UTF-8, the findings a batch at a time: the same bytes as
    encoding `result.to_json()` whole, without a dict per finding and the whole text in
    memory at once (hundreds of MB for a large estate)."""
    # Millions of objects and no cycles: the cyclic collector would only slow this down.
    with gc_paused():
        doc = result.to_json(timestamps=timestamps, findings=False)
        marker = f"posture-findings-{uuid.uuid4().hex}"  # stands in for the findings array
        doc["findings"] = marker
        head, tail = fastjson.dumps_indented(doc).split(b'"' + marker.encode() + b'"')
        out.write(head)
        findings = result.findings
        if not findings:
            out.write(b"[]")
        for i in range(0, len(findings), _BATCH):
            # encoded one level down, where they stand in the report: b'{\n  "f": [' +
            # b'\n    {...},\n    {...}' + b'\n  ]\n}\n', the middle written as it is
            batch = fastjson.dumps_indented({"f": [f.to_json() for f in findings[i:i + _BATCH]]})
            out.write(b"[" if i == 0 else b",")
            out.write(memoryview(batch)[_HEAD:-_TAIL])
        if findings:
            out.write(b"\n  ]")
        out.write(tail)
