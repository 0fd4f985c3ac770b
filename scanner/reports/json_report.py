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
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import BinaryIO

from scanner import fastjson
from scanner.display import json_visible_bytes
from scanner.findings import Finding
from scanner.gcpause import gc_paused
from scanner.result import RESULT_VERSION, ScanResult
from scanner.result_tables import TABLES, Tables, compact

_CHECK = attrgetter("check")
_RESOURCE = attrgetter("resource")


class _FindingIndex:
    """Where each finding id ("check|resource", `Finding.id`) is in the findings table (the
    last such finding, if one is there twice).

    Kept per check, keyed by resource: a report's findings come check by check (sorted),
    so each check's are one run of the table, indexed in C without making an id string or
    a (check, resource) pair per finding. An id is split at its first "|", which finds the
    same finding while no check id holds a "|"; otherwise (and for findings not grouped by
    check) the plain index of ids."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        checks = list(map(_CHECK, findings))
        counts = Counter(checks)
        self.by_id: dict[str, int] | None = None
        self.by_check: dict[str, dict[str, int]] = {}
        if any("|" in c for c in counts):
            self.by_id = {f.id: i for i, f in enumerate(findings)}
            return
        n = len(checks)
        first = dict(zip(reversed(checks), range(n - 1, -1, -1), strict=True))
        last = dict(zip(checks, range(n), strict=True))
        resources = list(map(_RESOURCE, findings))
        if all(last[c] - first[c] + 1 == k for c, k in counts.items()):  # one run each
            self.by_check = {c: dict(zip(resources[first[c]:last[c] + 1],
                                         range(first[c], last[c] + 1), strict=True))
                             for c in counts}
        else:
            for i, (c, r) in enumerate(zip(checks, resources, strict=True)):
                self.by_check.setdefault(c, {})[r] = i

    def positions(self, ids: Iterable[str]) -> list[int | str]:
        """Each id's index; an id that is no finding of the report (--only-new) stays."""
        if self.by_id is not None:
            return list(map(self.by_id.get, ids, ids))
        out: list[int | str] = []
        append, by_check, none = out.append, self.by_check, _NONE
        for ref in ids:
            check, bar, resource = ref.partition("|")
            got = by_check.get(check, none).get(resource) if bar else None
            append(ref if got is None else got)
        return out


_NONE: dict[str, int] = {}


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
        doc = result.to_json(timestamps=timestamps, findings=False)
        doc["version"] = RESULT_VERSION
        del doc["findings"]
        # stands in for what is written apart: no string of the results can be it
        marker = f"posture-table-{uuid.uuid4().hex}-"
        marked = re.compile(b'"' + re.escape(marker.encode()) + rb'([a-z_0-9]+)"')
        inline: dict[str, bytes] = {}
        if any(c.findings for c in result.claims):
            # each claim's finding ids as indices into the findings table; the index is
            # freed before the tables are built (a 1M-resource scan: millions of entries)
            index = _FindingIndex(result.findings)
            for j, claim in enumerate(doc["claims"]):
                inline[f"claim{j}"] = compact(index.positions(claim["findings"]))
                claim["findings"] = f"{marker}claim{j}"
            del index
        tables = Tables()
        tables.add(result.findings)
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
