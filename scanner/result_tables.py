"""Results format 2: findings as compact rows that share what they share.

A finding of format 1 repeats its resource's id, name, kind, provider, account and region,
its check's severity and evidence level, and its whole evidence object (700 bytes and more a
finding). Format 2 stores each of those once, in a table, and a finding is one row of
indices into them (docs/output-formats.md#json):

- `resources`: `[resource, resource_name, resource_kind, provider, account, region]`, once
  per distinct combination (a resource judged by ten checks: one row);
- `check_fields`: `[check, severity, evidence_level]`, once per distinct combination;
- `evidence`: each distinct evidence object once (compared as sorted, compact JSON);
- `texts`: each distinct message and reason once;
- `findings`: `[resource, check_field, status, message, evidence, reason]`, the indices into
  those tables, `status` a string, `reason` null or a text index; in report order.

`Tables.add` builds them; `decode` turns a document's tables back into the findings they
were built from, checking every row (types, index ranges) as it goes: a results file is
untrusted input, and a bad row is a one-line error naming it, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import attrgetter
from typing import Any

import orjson

from scanner.display import json_visible_bytes
from scanner.errors import PostureError
from scanner.findings import EvidenceLevel, Finding, Severity, Status

TABLES = ("check_fields", "evidence", "findings", "resources", "texts")
RESOURCE_COLUMNS = ("resource", "resource_name", "resource_kind", "provider", "account",
                    "region")
CHECK_COLUMNS = ("check", "severity", "evidence_level")
FINDING_COLUMNS = ("resource", "check_field", "status", "message", "evidence", "reason")

_STATUSES = {s._value_: s for s in Status}
_STATUS_TEXT = {s: s._value_ for s in Status}  # plain words: no JSON escaping
_SEVERITIES = {s._value_: s for s in Severity}
_LEVELS = {level._value_: level for level in EvidenceLevel}


def compact(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON, keys sorted: what orjson writes (NaN and Infinity as
    null, as the format 1 writer did), json where orjson refuses (integers beyond 64 bits);
    the characters a terminal acts on that JSON leaves raw (the C1 CSI, bidi overrides, the
    line separator) as `\\uXXXX` escapes (`display.json_visible`), the same values."""
    try:
        # copied to a bytes object of its own size: what orjson returns keeps about 4 KiB
        # of memory alive however short it is (100k table entries: 393 MiB against 13 MiB;
        # most of the memory a 1M-resource scan added while writing its report)
        return json_visible_bytes(
            bytes(memoryview(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))))
    except (orjson.JSONEncodeError, TypeError):
        # lone surrogates (only inside strings: orjson refuses them) as their JSON escape
        # `\ud800`, the same value (scanner/fastjson.py does the same for the indented form)
        return json_visible_bytes(json.dumps(value, sort_keys=True, separators=(",", ":"),
                                             ensure_ascii=False).encode("utf-8",
                                                                        "backslashreplace"))


@dataclass
class Tables:
    """The tables of format 2 as they are built: each entry encoded (compact JSON, one line)
    in the order of first use, and an index of what is in it already."""

    resources: list[bytes] = field(default_factory=list)
    check_fields: list[bytes] = field(default_factory=list)
    evidence: list[bytes] = field(default_factory=list)
    texts: list[bytes] = field(default_factory=list)
    findings: list[bytes] = field(default_factory=list)
    _resource_ids: dict[tuple[str, str, str, str, str, str | None], int] = \
        field(default_factory=dict)
    # (check, Severity, EvidenceLevel): the members are strings, written as their values
    _check_ids: dict[tuple[str, Severity, EvidenceLevel], int] = field(default_factory=dict)
    _evidence_ids: dict[bytes, int] = field(default_factory=dict)
    _text_ids: dict[str, int] = field(default_factory=dict)

    def add(self, findings: Sequence[Finding]) -> None:
        """Append `findings` (in order) as rows, adding what they name to the tables in the
        order of first use. Column by column (`attrgetter` maps, `setdefault` in
        comprehensions): the per-finding work stays in C, which matters at millions of
        findings; the rows are the same as one finding at a time would give. In chunks, so
        that the columns of a chunk are all that is held besides the tables."""
        for i in range(0, len(findings), _CHUNK):
            self._add(findings[i:i + _CHUNK])

    def _add(self, findings: Sequence[Finding]) -> None:
        # resources and check fields: (values) -> index, assigned in order of first use
        resource_ids, check_ids = self._resource_ids, self._check_ids
        new_from = len(resource_ids)
        # (most resources are new to a chunk: one setdefault each, no _indices)
        r_of = [resource_ids.setdefault(k, len(resource_ids)) for k in map(_RESOURCE_KEY,
                                                                                findings)]
        self.resources.extend(compact(list(k)) for k in _added(resource_ids, new_from))
        new_from = len(check_ids)
        c_of = _indices(check_ids, list(map(_CHECK_KEY, findings)))
        self.check_fields.extend(compact(list(k)) for k in _added(check_ids, new_from))
        # evidence: each distinct object (findings share them: check.SharedParts) encoded
        # once, in order of first use; equal encodings share one entry
        evidences = list(map(_EVIDENCE, findings))
        ids = list(map(id, evidences))
        # id -> object, keys in order of first use (a later equal key keeps its place; it is
        # the same object: all are alive); then each id's slot in that order. In C.
        first: dict[int, Any] = dict(zip(ids, evidences, strict=True))
        slot: dict[int, int] = dict(zip(first, range(len(first)), strict=True))
        s_of = list(map(slot.__getitem__, ids))
        evidence_ids, table = self._evidence_ids, self.evidence
        slot_index = []
        for ev in first.values():  # slot order = order of first use
            blob = compact(ev if type(ev) is dict else dict(ev))
            e = evidence_ids.get(blob)
            if e is None:
                e = evidence_ids[blob] = len(table)
                table.append(blob)
            slot_index.append(e)
        e_of = list(map(slot_index.__getitem__, s_of))
        del evidences, ids, first, slot, s_of
        # texts: each message, then its reason (if any), in finding order
        text_ids, texts = self._text_ids, self.texts
        new_from = len(text_ids)
        reasons = list(map(_REASON, findings))
        if reasons.count(None) == len(reasons):
            m_of = _indices(text_ids, list(map(_MESSAGE, findings)))
            x_of: list[int | None] = reasons
        else:
            m_of, x_of = [], []
            for m, x in zip(map(_MESSAGE, findings), reasons, strict=True):
                m_of.append(text_ids.setdefault(m, len(text_ids)))
                x_of.append(None if x is None else text_ids.setdefault(x, len(text_ids)))
        texts.extend(compact(t) for t in _added(text_ids, new_from))
        statuses = map(_STATUS_TEXT.__getitem__, map(_STATUS, findings))
        # f-strings of ints, then UTF-8 (ASCII here): the same bytes as b"%d" formatting
        # at 0.55x its cost
        self.findings.extend([
            f'[{r},{c},"{st}",{m},{e},null]'.encode() if x is None
            else f'[{r},{c},"{st}",{m},{e},{x}]'.encode()
            for r, c, st, m, e, x in zip(r_of, c_of, statuses, m_of, e_of, x_of, strict=True)])


_CHUNK = 65536


def _indices(ids: dict[Any, int], keys: list[Any]) -> list[int]:
    """Each key's index in `ids`, a key not in it yet added with the next index, in order of
    first use: `[ids.setdefault(k, len(ids)) for k in keys]`, with the per-key work in C
    (a Python step only per distinct key: for columns of few distinct values)."""
    for k in dict.fromkeys(keys):
        if k not in ids:
            ids[k] = len(ids)
    return list(map(ids.__getitem__, keys))


def _added(ids: dict[Any, int], before: int) -> list[Any]:
    """The keys added to `ids` since it held `before` (from its end: a chunk's new keys
    without walking the whole table)."""
    return list(islice(reversed(ids), len(ids) - before))[::-1]


_RESOURCE_KEY = attrgetter(*RESOURCE_COLUMNS)
_CHECK_KEY = attrgetter(*CHECK_COLUMNS)
_EVIDENCE = attrgetter("evidence")
_MESSAGE = attrgetter("message")
_REASON = attrgetter("reason")
_STATUS = attrgetter("status")


def _bad(origin: str, where: str, what: str) -> PostureError:
    return PostureError(f"{origin}: malformed results file at {where}: {what}")


def _table(doc: Mapping[str, Any], name: str, origin: str) -> list[Any]:
    table = doc.get(name)
    if not isinstance(table, list):
        raise _bad(origin, name, f"expected an array, not {type(table).__name__}")
    return table


def _index(value: Any, size: int, origin: str, where: str, table: str) -> int:
    if type(value) is not int:  # bool is an int subclass and no index
        raise _bad(origin, where, f"{table} index {value!r} is not an integer")
    if not 0 <= value < size:
        raise _bad(origin, where, f"{table} index {value} out of range ({size} entries)")
    return value


def decode(doc: Mapping[str, Any], origin: str) -> list[Finding]:
    """The findings of a format 2 document, every row and index checked."""
    resources: list[tuple[str, str, str, str, str, str | None]] = []
    for i, row in enumerate(_table(doc, "resources", origin)):
        if not (isinstance(row, list) and len(row) == 6
                and all(type(v) is str for v in row[:5])
                and (row[5] is None or type(row[5]) is str)):
            raise _bad(origin, f"resources/{i}", "expected [resource, resource_name, "
                       "resource_kind, provider, account, region] (strings; region null or "
                       "a string)")
        resources.append((row[0], row[1], row[2], row[3], row[4], row[5]))
    checks: list[tuple[str, Severity, EvidenceLevel]] = []
    for i, row in enumerate(_table(doc, "check_fields", origin)):
        if not (isinstance(row, list) and len(row) == 3
                and all(type(v) is str for v in row)
                and row[1] in _SEVERITIES and row[2] in _LEVELS):
            raise _bad(origin, f"check_fields/{i}", "expected [check, severity, "
                       "evidence_level] (a string, a severity, an evidence level)")
        checks.append((row[0], _SEVERITIES[row[1]], _LEVELS[row[2]]))
    evidence = _table(doc, "evidence", origin)
    for i, item in enumerate(evidence):
        if not isinstance(item, dict):
            raise _bad(origin, f"evidence/{i}", f"expected an object, not "
                       f"{type(item).__name__}")
    texts = _table(doc, "texts", origin)
    for i, text in enumerate(texts):
        if type(text) is not str:
            raise _bad(origin, f"texts/{i}", f"expected a string, not {type(text).__name__}")
    n_res, n_chk, n_evi, n_txt = len(resources), len(checks), len(evidence), len(texts)
    out: list[Finding] = []
    append = out.append
    for i, row in enumerate(_table(doc, "findings", origin)):
        if not (isinstance(row, list) and len(row) == 6):
            raise _bad(origin, f"findings/{i}", "expected [resource, check_field, status, "
                       "message, evidence, reason]")
        r, c, status, m, e, reason = row
        if not (type(r) is int and 0 <= r < n_res and type(c) is int and 0 <= c < n_chk
                and type(m) is int and 0 <= m < n_txt and type(e) is int and 0 <= e < n_evi
                and (reason is None or (type(reason) is int and 0 <= reason < n_txt))
                and type(status) is str and status in _STATUSES):
            where = f"findings/{i}"
            _index(r, n_res, origin, where, "resources")
            _index(c, n_chk, origin, where, "check_fields")
            _index(m, n_txt, origin, where, "texts")
            _index(e, n_evi, origin, where, "evidence")
            if reason is not None:
                _index(reason, n_txt, origin, where, "texts")
            raise _bad(origin, where, f"status {status!r} is not one of "
                       f"{', '.join(_STATUSES)}")
        res, chk = resources[r], checks[c]
        append(Finding(chk[0], res[0], _STATUSES[status], chk[1], texts[m], evidence[e],
                       chk[2], res[1], res[2], res[3], res[4], res[5],
                       None if reason is None else texts[reason]))
    return out


def claims_by_id(claims: Any, findings: Sequence[Finding], origin: str) -> Any:
    """Format 2's claims as format 1 has them: each claim's `findings` entry that is an index
    into the findings table (what the writer makes of every id that is a finding of the
    report) becomes that finding's id; a string stays as it is."""
    if not isinstance(claims, list):
        return claims  # the caller's checks name it
    out = []
    id_of: dict[int, str] = {}  # one id string per finding, however often it is named: a
    # claim naming a finding of a 1 MB resource id 3,000 times made 3 GB of copies
    for j, claim in enumerate(claims):
        refs = claim.get("findings") if isinstance(claim, dict) else None
        if isinstance(refs, list) and any(type(r) is not str for r in refs):
            ids = []
            for ref in refs:
                if type(ref) is not str:
                    i = _index(ref, len(findings), origin, f"claims/{j}/findings", "findings")
                    ref = id_of.get(i)
                    if ref is None:
                        ref = id_of[i] = findings[i].id
                ids.append(ref)
            claim = {**claim, "findings": ids}
        out.append(claim)
    return out
