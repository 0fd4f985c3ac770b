"""JSON: the results file (docs/output-formats.md#json), format version 2. Keys sorted, two
spaces of indent, except the five shared tables of `scanner.result_tables` (`check_fields`,
`evidence`, `findings`, `resources`, `texts`), whose entries are compact JSON, one a line:
a finding is one short row of indices, its resource, check fields, evidence and message each
written once however many findings share them. Findings in (check, resource) order: the
same snapshot and profile give the same bytes."""

from __future__ import annotations

import io
import uuid
from typing import BinaryIO

from scanner import fastjson
from scanner.gcpause import gc_paused
from scanner.result import RESULT_VERSION, ScanResult
from scanner.result_tables import TABLES, Tables


def render(result: ScanResult, timestamps: bool = True) -> str:
    out = io.BytesIO()
    write(result, out, timestamps)
    return out.getvalue().decode()


def write(result: ScanResult, out: BinaryIO, timestamps: bool = True) -> None:
    """Write the report as UTF-8: the indented document around the tables, each table's
    entries one a line (never the whole text in memory as one string)."""
    # Millions of objects and no cycles: the cyclic collector would only slow this down.
    with gc_paused():
        tables = Tables()
        tables.add(result.findings)
        doc = result.to_json(timestamps=timestamps, findings=False)
        doc["version"] = RESULT_VERSION
        del doc["findings"]
        marker = f"posture-table-{uuid.uuid4().hex}-"  # stands in for each table
        for name in TABLES:
            doc[name] = marker + name
        text = fastjson.dumps_indented(doc)
        for name in TABLES:  # keys are sorted: the tables come in TABLES' order
            head, text = text.split(b'"' + (marker + name).encode() + b'"', 1)
            out.write(head)
            rows: list[bytes] = getattr(tables, name)
            if not rows:
                out.write(b"[]")
                continue
            out.write(b"[\n")
            for i in range(0, len(rows), 65536):
                if i:
                    out.write(b",\n")
                out.write(b",\n".join(rows[i:i + 65536]))
            out.write(b"\n  ]")
        out.write(text)
