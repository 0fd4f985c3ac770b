"""Snapshot format version 2: the digest covers the file's bytes as stored.

A recorded snapshot's digest is SHA-256 of its (decompressed) bytes up to the `digest`
member that ends it; nothing is re-encoded to verify it. Version 1 files (the bundled
fixtures) still read and verify. What msgspec refuses but the format allows (NaN, integers
beyond 64 bits) is read by json's path, so the file still verifies.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from scanner import snapshot
from scanner.errors import SnapshotError
from tests.helpers import SEED002, run


def record(tmp_path: Path, name: str = "estate.json") -> Path:
    path = tmp_path / name
    result = run("scan", str(SEED002), "--record", str(path), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return path


def covered_bytes(data: bytes) -> bytes:
    """What an auditor hashes: everything before the `,\\n "digest": ` that ends the file."""
    cut = data.rindex(b',\n "digest": ')
    return data[:cut]


def test_a_recorded_snapshot_is_version_2_and_its_digest_is_sha256_of_its_bytes(
        tmp_path: Path) -> None:
    path = record(tmp_path)
    data = path.read_bytes()
    doc = json.loads(data)
    assert doc["version"] == 2
    assert data.endswith(b'"}\n}')  # the digest member ends the file
    assert doc["digest"]["value"] == hashlib.sha256(covered_bytes(data)).hexdigest()
    verified = run("verify", str(path))
    assert verified.exit_code == 0, verified.output
    assert doc["digest"]["value"] in verified.stdout


def test_version_2_refuses_any_change_of_the_stored_bytes_even_a_re_indentation(
        tmp_path: Path) -> None:
    path = record(tmp_path)
    data = path.read_bytes()
    doc = json.loads(data)
    cases = {
        "value": data.replace(b'"ohallo-prod"', b'"ohallo-prox"', 1),
        "white space": data.replace(b'\n "format"', b'\n  "format"', 1),
        "re-encoded": json.dumps(doc, indent=1, sort_keys=True).encode(),
        # a later duplicate would override a covered value: nothing may follow the digest
        "member after digest": data[:-2] + b',\n "tool_version": "forged"\n}',
    }
    for what, changed in cases.items():
        bad = tmp_path / f"bad-{what}.json"
        bad.write_bytes(changed)
        result = run("verify", str(bad))
        assert result.exit_code == 2, what
        assert "digest mismatch" in result.stderr, (what, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    trailing = tmp_path / "newline.json"  # white space after the JSON is no content
    trailing.write_bytes(data + b"\n")
    assert run("verify", str(trailing)).exit_code == 0


def test_version_1_fixtures_still_read_and_verify_and_reseal_as_version_2(
        tmp_path: Path) -> None:
    assert json.loads(SEED002.read_text())["version"] == 1
    snap = snapshot.load(SEED002)
    assert snap.digest == json.loads(SEED002.read_text())["digest"]["value"]
    out = tmp_path / "resealed.json"
    assert run("seal", str(SEED002), "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text())["version"] == 2
    assert snapshot.load(out).sections[0].collections == snap.sections[0].collections


def test_a_gzip_version_2_snapshot_hashes_its_decompressed_bytes(tmp_path: Path) -> None:
    path = record(tmp_path, "estate.json.gz")
    data = gzip.decompress(path.read_bytes())
    assert snapshot.load(path).digest == hashlib.sha256(covered_bytes(data)).hexdigest()


@pytest.mark.parametrize("literal", ["NaN", "123456789012345678901234567890", "1e400"])
def test_values_msgspec_refuses_take_jsons_path_and_still_verify(
        tmp_path: Path, literal: str) -> None:
    doc = json.loads(SEED002.read_text())
    doc["sections"][0]["collections"]["servers"]["global"][0]["odd"] = "ODD"
    hand = tmp_path / "hand.json"
    hand.write_text(json.dumps(doc).replace('"ODD"', literal))
    assert run("seal", str(hand)).exit_code == 0
    written = json.dumps(json.loads(literal))  # NaN, the integer, Infinity: as json writes
    assert written.encode() in hand.read_bytes()
    snap = snapshot.load(hand)
    assert json.dumps(snap.sections[0].collections["servers"]["global"][0]["odd"]) == written


def test_a_version_the_reader_does_not_know_is_refused_in_one_line(tmp_path: Path) -> None:
    path = record(tmp_path)
    path.write_bytes(path.read_bytes().replace(b'"version": 2', b'"version": 3'))
    with pytest.raises(SnapshotError, match="version 3 is not supported"):
        snapshot.load(path)
