"""The fast paths that keep large scans within time and memory write exactly what the slow
ones write: the snapshot digest (orjson where it equals json), the streamed JSON report,
and raw API objects released after normalization unless a check reads them."""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import fastjson, snapshot
from scanner.findings import Finding, Severity, Status
from scanner.reports import json_report
from scanner.result import ScanResult
from tests.helpers import SEED002, findings_of, run, scan_json


def exact(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def outcome(fn: Any, value: Any) -> tuple[str, bytes | None]:
    try:
        return "ok", fn(value)
    except Exception as exc:  # the same refusal is as good as the same bytes
        return type(exc).__name__, None


# Floats where orjson and json write different text: exponents both ways, the 1e-5..1e-4
# band json writes in exponent form, and the extremes.
AWKWARD_FLOATS = [1e-5, 1.5e-05, 9.99e-05, 1e-4, 1e-7, 5e-324, 2.2250738585072014e-308,
                  1e15, 1e16, 1.2345e16, 1e22, 1.7976931348623157e308, -0.0, 0.1, 123.456,
                  -3.0e-6]
AWKWARD_INTS = [2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**30]

json_scalars = (st.none() | st.booleans() | st.text()
                | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.sampled_from(AWKWARD_FLOATS + AWKWARD_INTS))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=500)
@given(json_values)
def test_canonical_bytes_equal_json_dumps_for_any_parsed_value(value: Any) -> None:
    assert outcome(lambda v: fastjson.canonical_bytes(v, finite=True), value) == \
        outcome(exact, value)


@pytest.mark.parametrize("number", AWKWARD_FLOATS + AWKWARD_INTS)
def test_canonical_bytes_write_awkward_numbers_as_json_does(number: float | int) -> None:
    for value in ([number], {"k": number, "a": [number, "x"]}, [{"n": number}] * 3):
        assert fastjson.canonical_bytes(value, finite=True) == exact(value)


def test_canonical_bytes_do_not_take_orjson_for_nan_unless_vouched_finite() -> None:
    value = [math.nan, math.inf, None]
    assert fastjson.canonical_bytes(value, finite=False) == b"[NaN,Infinity,null]"


def test_canonical_bytes_refuse_lone_surrogates_as_json_does() -> None:
    with pytest.raises(UnicodeEncodeError):
        fastjson.canonical_bytes(["\ud800"], finite=True)


def snapshot_document(objects: list[Any]) -> dict[str, Any]:
    return {"format": "posture-snapshot", "version": 1, "tool_version": "t",
            "created_at": "2026-01-01T00:00:00Z",
            "sections": [{"provider": "hetzner", "account": "p", "collections": {
                "servers": {"global": objects[: len(objects) // 2]},
                "volumes": {"fsn1": objects[len(objects) // 2:]}}}]}


@settings(max_examples=100)
@given(st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=1200))
def test_snapshot_digest_fast_path_equals_the_documented_canonical_form(
        objects: list[dict[str, Any]]) -> None:
    doc = snapshot_document(objects)
    expected = hashlib.sha256(snapshot.canonical(doc)).hexdigest()
    assert snapshot.digest_of(doc, finite=True) == expected
    assert snapshot.digest_of(doc) == expected


def test_a_snapshot_holding_nan_verifies_through_the_exact_path(tmp_path: Path) -> None:
    doc = json.loads(SEED002.read_text())
    doc["sections"][0]["collections"]["servers"]["global"][0]["labels"]["x"] = math.nan
    doc["digest"]["value"] = snapshot.digest_of(doc)  # json's NaN, as the format defines
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(doc))
    assert snapshot.load(path).digest == doc["digest"]["value"]


def result_with(findings: int) -> ScanResult:
    return ScanResult(
        tool_version="t", profile={"name": "p", "title": "P", "source": "s"},
        sources=[], checks=["X-01"], claims=[], errors=[], started_at="", finished_at="",
        resource_count=findings,
        findings=[Finding(check="X-01", resource=f"r{i:06d}", status=Status.FAIL,
                          severity=Severity.HIGH, message=f"résumé {i} \u2028 \"quoted\"",
                          evidence={"n": i, "f": i / 7, "list": [i, {"deep": None}]})
                  for i in range(findings)])


@pytest.mark.parametrize("count", [0, 1, 65535, 65536, 65537])
def test_json_report_reads_back_as_the_whole_document_encoded_at_once(count: int) -> None:
    """The results file (format 2, written a table batch at a time) holds exactly the
    document format 1 encodes whole: read back, the same findings, floats and text."""
    result = result_with(count)
    out = io.BytesIO()
    json_report.write(result, out, timestamps=False)
    doc = json.loads(out.getvalue())
    assert ScanResult.from_json(doc).to_json(timestamps=False) == \
        json.loads(fastjson.dumps_indented(result.to_json(timestamps=False)))
    assert len(findings_of(doc)) == count


def test_json_report_of_a_real_scan_is_its_document_with_one_line_per_table_entry(
        tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run("scan", str(SEED002), "--format", "json", "-o", str(out), "--no-timestamps")
    doc = json.loads(out.read_bytes())
    lines = out.read_bytes().splitlines()
    assert findings_of(doc) and len(lines) > len(doc["findings"]) + len(doc["resources"])
    assert json.loads(b"\n".join(lines)) == doc


RAW_READING_CHECK = '''
from checks import check
from scanner.model import Kind

@check(id="LOCAL-RAW", title="servers say their raw status", severity="low",
       kinds={Kind.COMPUTE}, uses_raw=True)
def raw_status(ctx):
    for server in ctx.graph.of_kind(Kind.COMPUTE):
        yield ctx.passed(server, "read", {"status": server.raw["status"]})
'''


def test_a_check_declaring_uses_raw_still_reads_the_raw_api_object(tmp_path: Path) -> None:
    (tmp_path / "raw.py").write_text(RAW_READING_CHECK)
    code, doc = scan_json(str(SEED002), "--checks-dir", str(tmp_path), "--checks", "LOCAL-RAW")
    assert code == 0
    assert findings_of(doc) and {f["evidence"]["status"] for f in findings_of(doc)} <= {
        "running", "off", "initializing", "starting", "stopping", "migrating", "rebuilding",
        "deleting", "unknown"}


def test_without_a_raw_reading_check_resources_release_their_raw_objects(tmp_path: Path) -> None:
    # The same check without the declaration finds the raw objects released: it crashes,
    # which the engine reports as an error finding (never a pass).
    (tmp_path / "raw.py").write_text(RAW_READING_CHECK.replace(", uses_raw=True", ""))
    code, doc = scan_json(str(SEED002), "--checks-dir", str(tmp_path), "--checks", "LOCAL-RAW")
    assert code == 3
    assert [(f["status"], f["reason"]) for f in findings_of(doc)] == [("error", "bug")]


checked_floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    fastjson.writes_float_as_json)
checked_values = st.recursive(
    st.none() | st.booleans() | st.text() | checked_floats
    | st.integers(min_value=-(2**70), max_value=2**70),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=500)
@given(checked_values)
def test_canonical_bytes_without_the_number_search_equal_json_when_floats_are_checked(
        value: Any) -> None:
    assert outcome(lambda v: fastjson.canonical_bytes(v, finite=True, floats_checked=True),
                   value) == outcome(exact, value)


@pytest.mark.parametrize("number", AWKWARD_FLOATS)
def test_parsing_flags_each_float_orjson_would_write_otherwise(number: float) -> None:
    text = json.dumps({"a": [1.5, number]}).encode()
    _doc, finite, floats_checked = snapshot._parse(text, "t")
    assert finite
    assert floats_checked is fastjson.writes_float_as_json(number)
    assert floats_checked is (json.dumps(number).encode() == orjson.dumps(number))


def test_plain_floats_and_integers_leave_a_parsed_document_checked() -> None:
    doc, finite, floats_checked = snapshot._parse(b'{"a": [0.5, 12.25, -3, 1e2]}', "t")
    assert (doc, finite, floats_checked) == ({"a": [0.5, 12.25, -3, 100.0]}, True, True)


@pytest.mark.parametrize("number", [1e16, 1e-05, 1e-07, 1.5e300, -2.5e-5])
def test_a_snapshot_with_floats_orjson_writes_otherwise_verifies_and_tampering_is_caught(
        tmp_path: Path, number: float) -> None:
    doc = json.loads(SEED002.read_text())
    server = doc["sections"][0]["collections"]["servers"]["global"][0]
    server["x_metric"] = number
    doc["digest"]["value"] = hashlib.sha256(snapshot.canonical(doc)).hexdigest()
    path = tmp_path / "floats.json"
    path.write_text(json.dumps(doc, indent=1))
    assert snapshot.load(path).digest == doc["digest"]["value"]
    server["x_metric"] = number * 2  # one float changed, the digest left as it was
    path.write_text(json.dumps(doc, indent=1))
    with pytest.raises(snapshot.SnapshotError, match="digest mismatch"):
        snapshot.load(path)


@pytest.mark.parametrize("literal", ["1e400", "-1e400"])
def test_a_snapshot_whose_float_overflows_to_infinity_verifies_as_json_defines_it(
        tmp_path: Path, literal: str) -> None:
    # json parses 1e400 as inf and writes it back as Infinity; orjson would write null, so
    # the digest must not take orjson's bytes for such a file (it once did: a false
    # "modified after it was recorded")
    doc = json.loads(SEED002.read_text())
    doc["sections"][0]["collections"]["servers"]["global"][0]["x_metric"] = 424242
    text = json.dumps(doc).replace('"x_metric": 424242', f'"x_metric": {literal}')
    digest = hashlib.sha256(snapshot.canonical(json.loads(text))).hexdigest()
    path = tmp_path / "inf.json"
    path.write_text(text.replace(doc["digest"]["value"], digest))
    assert snapshot.load(path).digest == digest
    path.write_text(text.replace(doc["digest"]["value"], digest).replace(literal, "null"))
    with pytest.raises(snapshot.SnapshotError, match="digest mismatch"):
        snapshot.load(path)
