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
from typing import Any

import orjson

from scanner.errors import PostureError
from scanner.findings import EvidenceLevel, Finding, Severity, Status

TABLES = ("check_fields", "evidence", "findings", "resources", "texts")
RESOURCE_COLUMNS = ("resource", "resource_name", "resource_kind", "provider", "account",
                    "region")
CHECK_COLUMNS = ("check", "severity", "evidence_level")
FINDING_COLUMNS = ("resource", "check_field", "status", "message", "evidence", "reason")

_STATUSES = {s._value_: s for s in Status}
_STATUS_BYTES = {s: s._value_.encode() for s in Status}  # plain words: no JSON escaping
_SEVERITIES = {s._value_: s for s in Severity}
_LEVELS = {level._value_: level for level in EvidenceLevel}


def compact(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON, keys sorted: what orjson writes (NaN and Infinity as
    null, as the format 1 writer did), json where orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        # lone surrogates (only inside strings: orjson refuses them) as their JSON escape
        # `\ud800`, the same value (scanner/fastjson.py does the same for the indented form)
        return json.dumps(value, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8", "backslashreplace")


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
    _check_ids: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _evidence_ids: dict[bytes, int] = field(default_factory=dict)
    _text_ids: dict[str, int] = field(default_factory=dict)

    def add(self, findings: Sequence[Finding]) -> None:
        resource_ids, check_ids = self._resource_ids, self._check_ids
        evidence_ids, text_ids = self._evidence_ids, self._text_ids
        append = self.findings.append
        # evidence objects findings share (check.SharedParts) encoded once: id -> (the
        # object, kept alive so that its id is not reused during this call, its index)
        seen: dict[int, tuple[Any, int]] = {}
        for f in findings:
            rkey = (f.resource, f.resource_name, f.resource_kind, f.provider, f.account,
                    f.region)
            r = resource_ids.get(rkey)
            if r is None:
                r = resource_ids[rkey] = len(self.resources)
                self.resources.append(compact(list(rkey)))
            ckey = (f.check, f.severity._value_, f.evidence_level._value_)
            c = check_ids.get(ckey)
            if c is None:
                c = check_ids[ckey] = len(self.check_fields)
                self.check_fields.append(compact(list(ckey)))
            evidence = f.evidence
            known = seen.get(id(evidence))
            if known is not None and known[0] is evidence:
                e = known[1]
            else:
                blob = compact(evidence if type(evidence) is dict else dict(evidence))
                e = evidence_ids.get(blob)
                if e is None:
                    e = evidence_ids[blob] = len(self.evidence)
                    self.evidence.append(blob)
                seen[id(evidence)] = (evidence, e)
            m = text_ids.get(f.message)
            if m is None:
                m = text_ids[f.message] = len(self.texts)
                self.texts.append(compact(f.message))
            if f.reason is None:
                append(b'[%d,%d,"%s",%d,%d,null]' % (r, c, _STATUS_BYTES[f.status], m, e))
                continue
            reason = text_ids.get(f.reason)
            if reason is None:
                reason = text_ids[f.reason] = len(self.texts)
                self.texts.append(compact(f.reason))
            append(b'[%d,%d,"%s",%d,%d,%d]' % (r, c, _STATUS_BYTES[f.status], m, e, reason))


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
    for j, claim in enumerate(claims):
        refs = claim.get("findings") if isinstance(claim, dict) else None
        if isinstance(refs, list) and any(type(r) is not str for r in refs):
            ids = []
            for ref in refs:
                if type(ref) is not str:
                    ref = findings[_index(ref, len(findings), origin, f"claims/{j}/findings",
                                          "findings")].id
                ids.append(ref)
            claim = {**claim, "findings": ids}
        out.append(claim)
    return out
