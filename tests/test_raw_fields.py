"""Decoding only the raw fields the normalizers read changes no resource and no verdict.

A scan that keeps no raw object decodes a version 2 snapshot's big Hetzner collections into
the types of providers/hetzner/raw_fields.py (scanner/snapshot_fields.py): every field not
listed is skipped unread. These tests hold that to the whole decoding: the same normalized
inventory and findings on every bundled snapshot (written as version 2) and on a generated
estate; the same outcome (inventory, or the same one-line error) when any listed field of
any listed collection holds a value of another type, is missing, or a nested object lacks a
field; and a file the whole decoder refuses for what lies in a skipped field (not UTF-8, a
number Python does not convert) is still refused with the same message.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from providers.hetzner.raw_fields import RAW_FIELDS
from scanner import engine, snapshot, snapshot_fields
from scanner.errors import PostureError
from scanner.profile import load as load_profile
from scanner.registry import load_checks, load_providers
from tests.helpers import ROOT, SEED002, run

SNAPSHOTS = sorted(p for p in (ROOT / "fixtures").rglob("*.json")
                   if p.read_bytes()[:4096].count(b'"posture-snapshot"'))
PROVIDERS = load_providers()
FIELDS = engine._raw_fields(PROVIDERS)


def as_v2(path: Path, out: Path) -> Path:
    snapshot.write(snapshot.load(path), out)
    return out


def outcome(path: Path, partial: bool) -> Any:
    """What a scan makes of the file: its normalized inventories and findings (raw objects
    aside), or the one-line error it stops with."""
    profile = load_profile("default")
    try:
        snap = snapshot.load(path, fields=FIELDS if partial else None)
        inventories = engine.normalize(snap.sections, PROVIDERS, profile, keep_raw=False)
        graph = engine.build_graph(inventories)
    except PostureError as exc:
        return str(exc)
    checks = engine.select_checks(load_checks([]), profile, None)
    findings = engine.run_checks(checks, graph, profile, engine.as_of(snap.sections))
    return ([(inv.provider, inv.account, inv.relations, inv.errors, inv.collected,
              [(r.id, r.kind, r.name, r.region, r.labels, r.native_type, repr(r.properties),
                r.unknown) for r in inv.resources]) for inv in inventories],
            sorted((f.id, str(f.status), f.message, repr(f.evidence)) for f in findings))


def test_every_bundled_hetzner_snapshot_is_covered() -> None:
    names = {p.name for p in SNAPSHOTS}
    assert {"seed002-hetzner.json", "seed004-hetzner.json"} <= names


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_partial_decoding_gives_the_same_inventory_and_findings_on_every_bundled_snapshot(
        path: Path, tmp_path: Path) -> None:
    v2 = as_v2(path, tmp_path / "v2.json")
    assert snapshot_fields.decode(v2.read_bytes(), FIELDS) is not None  # the partial path
    partial = outcome(v2, True)
    assert not isinstance(partial, str) and partial[1]
    assert partial == outcome(v2, False)


def test_partial_decoding_gives_the_same_inventory_on_a_generated_estate(
        tmp_path: Path) -> None:
    out = tmp_path / "estate.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_hetzner_snapshot.py"), "2000",
                    str(out), "--seed", "3"], check=True, capture_output=True, timeout=300)
    assert snapshot_fields.decode(out.read_bytes(), FIELDS) is not None
    partial = outcome(out, True)
    assert not isinstance(partial, str) and len(partial[0][0][5]) == 2001
    assert partial == outcome(out, False)


def test_the_fields_no_normalizer_reads_are_not_decoded(tmp_path: Path) -> None:
    v2 = as_v2(SEED002, tmp_path / "v2.json")
    whole = snapshot.load(v2).sections[0]
    partial = snapshot.load(v2, fields=FIELDS).sections[0]
    server, full = partial.items("servers")[0], whole.items("servers")[0]
    assert "server_type" in full and "server_type" not in server
    assert set(server) < set(full)
    assert server["image"] == {k: full["image"][k] for k in (
        "name", "description", "deprecated", "type", "os_flavor", "os_version")}
    # collections no type lists (and every other member of the file) are decoded whole
    assert partial.items("firewalls") == whole.items("firewalls")
    assert partial.errors == whole.errors and partial.locations == whole.locations


def test_a_scan_that_records_or_reads_raw_objects_decodes_them_whole(
        tmp_path: Path) -> None:
    v2 = as_v2(SEED002, tmp_path / "v2.json")
    out = tmp_path / "again.json"
    result = run("scan", str(v2), "--record", str(out), "--format", "json", "-o",
                 str(tmp_path / "r.json"))
    assert result.exit_code == 1, result.stderr
    again = snapshot.load(out).sections[0]
    assert again.collections == snapshot.load(v2).sections[0].collections


# --- hostile values ----------------------------------------------------------------------

WRONG: tuple[Any, ...] = (None, True, 0, 1.5, "", "x", [], {}, [None], {"": None}, 10**30)


def _paths(shape: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every listed field of a raw object type, nested ones too."""
    out = []
    for name, hint in get_type_hints(shape).items():
        out.append((*prefix, name))
        for arg in getattr(hint, "__args__", ()) or ():
            inner = getattr(arg, "__args__", (arg,))[0] if arg is not type(None) else None
            if isinstance(inner, type) and hasattr(inner, "__annotations__"):
                out.extend(_paths(inner, (*prefix, name)))
    return out


def _mutants() -> list[tuple[str, tuple[str, ...], Any]]:
    out = []
    for collection, shape in RAW_FIELDS.items():
        for i, path in enumerate(_paths(shape)):
            for j in range(3):
                out.append((collection, path, WRONG[(i * 3 + j) % len(WRONG)]))
            out.append((collection, path, "<missing>"))
    return out


def test_every_listed_field_is_mutated() -> None:
    fields = {(c, p) for c, p, _ in _mutants()}
    assert ("servers", ("image", "name")) in fields
    assert ("servers", ("public_net", "firewalls")) in fields
    assert ("floating_ips", ("home_location", "name")) in fields


def _set(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> bool:
    for key in path[:-1]:
        obj = obj.get(key)  # type: ignore[assignment]
        if isinstance(obj, list):
            obj = obj[0] if obj else None
        if not isinstance(obj, dict):
            return False
    if value == "<missing>":
        obj.pop(path[-1], None)
    else:
        obj[path[-1]] = value
    return True


@pytest.fixture(scope="module")
def seed_doc() -> dict[str, Any]:
    data = snapshot.read_bytes(SEED002)
    doc: dict[str, Any] = json.loads(data)
    return doc


@pytest.mark.parametrize("collection,path,value", _mutants(),
                         ids=lambda v: ".".join(v) if isinstance(v, tuple) else repr(v)[:12])
def test_a_listed_field_of_another_type_gives_the_same_outcome_both_ways(
        seed_doc: dict[str, Any], collection: str, path: tuple[str, ...], value: Any,
        tmp_path: Path) -> None:
    doc = copy.deepcopy(seed_doc)
    objs = doc["sections"][0]["collections"][collection]["global"]
    changed = [_set(obj, path, value) for obj in objs[:2]]
    if not any(changed):
        pytest.skip(f"no {collection} object has {'.'.join(path[:-1])}")
    snap = snapshot.Snapshot(sections=[snapshot.Section.from_json(doc["sections"][0])],
                             created_at=doc["created_at"])
    path_out = tmp_path / "mutant.json"
    snapshot.write(snap, path_out)
    assert outcome(path_out, True) == outcome(path_out, False)


def test_a_location_without_a_name_reads_as_the_whole_object_does(
        seed_doc: dict[str, Any], tmp_path: Path) -> None:
    """`location or home_location`: a location object lacking `name` is truthy as a whole;
    decoded partially it would be empty (and fall through to home_location)."""
    doc = copy.deepcopy(seed_doc)
    for fip in doc["sections"][0]["collections"]["floating_ips"]["global"]:
        fip["location"] = {"city": "Falkenstein"}
    for vol in doc["sections"][0]["collections"]["volumes"]["global"]:
        vol["location"] = {}
        vol["home_location"] = {"name": "hel1"}
    snap = snapshot.Snapshot(sections=[snapshot.Section.from_json(doc["sections"][0])],
                             created_at=doc["created_at"])
    out = tmp_path / "loc.json"
    snapshot.write(snap, out)
    assert outcome(out, True) == outcome(out, False)


def _sealed(data: bytes) -> bytes:
    """A version 2 file with its digest recomputed over its (edited) bytes."""
    cut = data.rindex(b',\n "digest": ')
    digest = hashlib.sha256(data[:cut]).hexdigest()
    return data[:cut] + snapshot._trailer({"digest": {"algorithm": "sha256",
                                                      "value": digest}})


@pytest.mark.parametrize("token,message", [
    (b'"\xff\xfe"', "not UTF-8 text"),
    (b"9" * 5000, "not valid JSON"),
], ids=["not-utf8", "long-integer"])
def test_what_the_whole_decoder_refuses_in_a_skipped_field_is_still_refused(
        tmp_path: Path, token: bytes, message: str) -> None:
    v2 = as_v2(SEED002, tmp_path / "v2.json").read_bytes()
    assert v2.count(b'"cpu_type":"shared"') >= 1  # inside server_type: never read
    bad = tmp_path / "bad.json"
    bad.write_bytes(_sealed(v2.replace(b'"cpu_type":"shared"', b'"cpu_type":' + token, 1)))
    partial, whole = outcome(bad, True), outcome(bad, False)
    assert isinstance(partial, str) and message in partial
    assert partial == whole
    result = run("scan", str(bad), "--format", "json")
    assert result.exit_code == 2 and message in result.stderr
