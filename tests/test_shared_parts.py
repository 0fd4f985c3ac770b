"""Findings of one scan share their equal messages and evidence (check.SharedParts: the
memory of a large scan), never merging values that only encode alike, and the results writer
(result_tables.Tables, column by column) writes the same tables and rows as one finding at a
time: each entry once, in the order of first use, a message before its reason."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scanner import result_tables
from scanner.check import CheckContext, SharedParts, check
from scanner.findings import EvidenceLevel, Finding, Severity, Status
from scanner.graph import EstateGraph
from scanner.model import Kind, Resource
from scanner.profile import Parameters
from scanner.result_tables import Tables, compact


def _ctx(shared: SharedParts) -> CheckContext:
    @check(id="TST-01", title="a test check", severity="low", kinds=[Kind.COMPUTE])
    def tst(ctx: CheckContext) -> list[Finding]:
        return []

    return CheckContext(check=tst, graph=EstateGraph([]), params=Parameters(),
                        as_of=datetime(2026, 1, 1, tzinfo=UTC), shared=shared)


def _res(n: int) -> Resource:
    return Resource(id=f"p:a/server/{n}", kind=Kind.COMPUTE, provider="p", account="a",
                    name=f"s{n}")


def test_equal_messages_and_evidence_are_one_object_across_checks_of_a_scan() -> None:
    shared = SharedParts()
    one, two = _ctx(shared), _ctx(shared)
    a = one.fail(_res(1), "port " + str(22) + " open", {"ports": [22], "why": "open"})
    b = two.fail(_res(2), "port 22 open", {"ports": [22], "why": "open"})
    assert a.message == b.message and a.message is b.message
    assert a.evidence == b.evidence and a.evidence is b.evidence
    assert one.passed(_res(3), "ok").evidence is two.passed(_res(4), "ok").evidence


def test_evidence_that_only_encodes_alike_is_never_merged() -> None:
    """1 and 1.0, a tuple and a list, NaN and null (orjson writes both as null), two NaNs
    that are different objects: each finding keeps its own value."""
    ctx = _ctx(SharedParts())
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"n": 1}, {"n": 1.0}),
        ({"v": [1]}, {"v": (1,)}),
        ({"x": float("nan")}, {"x": None}),
        ({"x": float("nan")}, {"x": float("nan")}),
    ]
    for i, (first, second) in enumerate(pairs):
        a = ctx.fail(_res(2 * i), "m", first).evidence
        b = ctx.fail(_res(2 * i + 1), "m", second).evidence
        assert a is not b
        assert type(b["n" if "n" in b else "v" if "v" in b else "x"]) is type(
            second[next(iter(second))])
    nan = ctx.fail(_res(99), "m", {"x": float("nan")}).evidence
    assert math.isnan(nan["x"])


def test_evidence_orjson_cannot_encode_is_kept_as_a_copy() -> None:
    ctx = _ctx(SharedParts())
    for value in ({"big": 2**70}, {"s": "\ud800"}, {"set": {1}}):
        a, b = ctx.fail(_res(1), "m", value).evidence, ctx.fail(_res(2), "m", value).evidence
        assert a == value == b and a is not value and a is not b


def _finding(i: int, evidence: dict[str, Any], message: str, reason: str | None,
             status: Status = Status.FAIL) -> Finding:
    return Finding(f"C-{i % 2}", f"r{i % 3}", status, Severity.HIGH, message, evidence,
                   EvidenceLevel.CONFIG if i % 2 else EvidenceLevel.NONE, f"n{i % 3}",
                   "compute", "p", "a", None if i % 3 else "eu", reason)


def _one_at_a_time(findings: list[Finding]) -> dict[str, list[bytes]]:
    """The tables as their definition builds them: finding by finding."""
    out: dict[str, list[bytes]] = {t: [] for t in ("resources", "check_fields", "evidence",
                                                   "texts", "findings")}
    ids: dict[str, dict[Any, int]] = {t: {} for t in out}

    def index(table: str, key: Any, entry: Any) -> int:
        if key not in ids[table]:
            ids[table][key] = len(out[table])
            out[table].append(compact(entry))
        return ids[table][key]

    for f in findings:
        rkey = (f.resource, f.resource_name, f.resource_kind, f.provider, f.account, f.region)
        r = index("resources", rkey, list(rkey))
        ckey = (f.check, f.severity.value, f.evidence_level.value)
        c = index("check_fields", ckey, list(ckey))
        blob = compact(dict(f.evidence))
        e = index("evidence", blob, dict(f.evidence))
        m = index("texts", f.message, f.message)
        x = "null" if f.reason is None else str(index("texts", f.reason, f.reason))
        out["findings"].append(f'[{r},{c},"{f.status.value}",{m},{e},{x}]'.encode())
    return out


@pytest.mark.parametrize("chunk", [65536, 2])
def test_tables_are_those_of_one_finding_at_a_time_in_first_use_order(
        monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(result_tables, "_CHUNK", chunk)
    shared = {"a": [1, 2]}
    nan = {"x": float("nan")}
    findings = [
        _finding(0, shared, "first", None),
        _finding(1, {"a": [1, 2]}, "second", "denied", Status.ERROR),  # equal, not shared
        _finding(2, shared, "denied", None),  # a message that was a reason before
        _finding(3, nan, "third", "second", Status.ERROR),  # a reason that was a message
        _finding(4, {"x": None}, "first", None, Status.PASS),
        _finding(5, nan, "fourth", None),
        _finding(6, {}, "first", None, Status.SKIP),
    ]
    for split in range(len(findings) + 1):  # added in one call or two
        tables = Tables()
        tables.add(findings[:split])
        tables.add(findings[split:])
        want = _one_at_a_time(findings)
        for name, rows in want.items():
            assert getattr(tables, name) == rows, (split, name)
    # NaN is written as null (as format 1 did): one entry for both, as one at a time
    assert tables.evidence == [b'{"a":[1,2]}', b'{"x":null}', b"{}"]


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="RSS read from /proc")
def test_table_entries_hold_about_their_own_size_of_memory() -> None:
    """What orjson returns keeps about 4 KiB alive however short it is: kept for every
    resource of a 1M-resource scan, that was gigabytes. 20,000 kept entries of ~80 bytes
    must not cost 80 MB."""
    def rss() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    before = rss()
    kept = [compact([f"hetzner:p/server/{i}", f"name-{i}", "compute", "hetzner", "p", "fsn1"])
            for i in range(20_000)]
    grown = rss() - before
    assert len(kept) == 20_000
    assert grown < 20 * 2**20, f"{grown / 2**20:.0f} MiB for 20,000 entries"


def test_evidence_with_its_keys_in_another_order_keeps_its_order() -> None:
    """Other formats show evidence in its own order: equal dicts in another key order are
    not merged."""
    ctx = _ctx(SharedParts())
    ctx.fail(_res(1), "m", {"a": 1, "b": 2})
    assert list(ctx.fail(_res(2), "m", {"b": 2, "a": 1}).evidence) == ["b", "a"]
