"""JSON: the results file (docs/output-formats.md#json), format version 2. Keys sorted, two
spaces of indent, except the five shared tables of `scanner.result_tables` (`check_fields`,
`evidence`, `findings`, `resources`, `texts`), whose entries are compact JSON, one a line:
a finding is one short row of indices, its resource, check fields, evidence and message each
written once however many findings share them. Findings in (check, resource) order: the
same snapshot and profile give the same bytes."""

from __future__ import annotations

import io
import re
import uuid
from operator import attrgetter, methodcaller
from typing import Any, BinaryIO

from scanner import fastjson
from scanner.display import json_visible_bytes
from scanner.gcpause import gc_paused
from scanner.result import RESULT_VERSION, ScanResult
from scanner.result_tables import TABLES, Tables, compact

_CHECK_RESOURCE = attrgetter("check", "resource")
_CHECK = attrgetter("check")
_SPLIT = methodcaller("split", "|", 1)


def render(result: ScanResult, timestamps: bool = True) -> str:
    out = io.BytesIO()
    write(result, out, timestamps)
    return out.getvalue().decode()


def write(result: ScanResult, out: BinaryIO, timestamps: bool = True) -> None:
    """Write the report as UTF-8: the indented document around the tables, each table's
    entries one a line, each claim's `findings` one line of indices into the findings table
    (never the whole text in memory as one string)."""
    # Millions of objects and no cycles: the cyclic collector would only slow this down.
    with gc_paused():
        tables = Tables()
        tables.add(result.findings)
        doc = result.to_json(timestamps=timestamps, findings=False)
        doc["version"] = RESULT_VERSION
        del doc["findings"]
        # stands in for what is written apart: no string of the results can be it
        marker = f"posture-table-{uuid.uuid4().hex}-"
        marked = re.compile(b'"' + re.escape(marker.encode()) + rb'([a-z_0-9]+)"')
        inline: dict[str, bytes] = {}
        if any(c.findings for c in result.claims):
            # a finding's id is "check|resource" (`Finding.id`): the index is keyed by the
            # pair (built in C, no property call per finding) and a claim's id is split at
            # its first "|", which finds the same finding while no check id holds a "|"
            index: dict[Any, int] = dict(zip(map(_CHECK_RESOURCE, result.findings),
                                             range(len(result.findings)), strict=True))
            split = not any("|" in c for c in set(map(_CHECK, result.findings)))
            if not split:
                index = {f.id: i for i, f in enumerate(result.findings)}
            for j, claim in enumerate(doc["claims"]):
                # an id that is no finding of the report (--only-new) stays a string
                refs = claim["findings"]
                inline[f"claim{j}"] = compact(  # index.get(key, id) per id, in C
                    list(map(index.get, map(tuple, map(_SPLIT, refs)), refs)) if split
                    else list(map(index.get, refs, refs)))
                claim["findings"] = f"{marker}claim{j}"
        for name in TABLES:
            doc[name] = marker + name
        pieces = marked.split(json_visible_bytes(fastjson.dumps_indented(doc)))
        for k, piece in enumerate(pieces):
            if k % 2 == 0:
                out.write(piece)
                continue
            name = piece.decode()
            if name in inline:
                out.write(inline[name])
                continue
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
