"""A scan that keeps no raw object frees the snapshot file's bytes before it builds the raw
objects (scanner/snapshot.py `_parse_fields`): a large scan never holds both (bench/README.md,
"Session 9"). Where the whole decoder must read the file after all, the file is read again
and every message stays the whole decoder's."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from scanner import engine, snapshot, snapshot_fields
from scanner.errors import PostureError
from scanner.registry import load_providers
from tests.helpers import SEED002

FIELDS = engine._raw_fields(load_providers())


def _v2(tmp_path: Path, change: Any = None) -> Path:
    doc = json.loads(snapshot.read_bytes(SEED002))
    if change is not None:
        change(doc)
    snap = snapshot.Snapshot(sections=[snapshot.Section.from_json(s) for s in doc["sections"]],
                             created_at=doc["created_at"])
    out = tmp_path / "v2.json"
    snapshot.write(snap, out)
    return out


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    got: list[bytes] = []
    read = snapshot.read_bytes

    def counted(path: Path, *args: Any, **kwargs: Any) -> bytes:
        got.append(read(path, *args, **kwargs))
        return got[-1]

    monkeypatch.setattr(snapshot, "read_bytes", counted)
    return got


def test_the_file_bytes_are_freed_before_the_raw_objects_are_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _v2(tmp_path)
    got = _reads(monkeypatch)
    refs: list[int] = []
    fill = snapshot_fields.fill

    def watched(*args: Any) -> Any:
        refs.append(sys.getrefcount(got[0]))  # `got` and the call's argument: nobody else
        return fill(*args)

    monkeypatch.setattr(snapshot_fields, "fill", watched)
    snap = snapshot.load(path, fields=FIELDS)
    assert refs == [2] and len(got) == 1
    assert snap.sections[0].items("servers") and snap.digest == snapshot.load(path).digest


def test_a_raw_list_the_schema_refuses_is_read_again_and_refused_as_the_whole_decoder_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def bad(doc: dict[str, Any]) -> None:
        doc["sections"][0]["collections"]["servers"]["global"].append(5)

    path = _v2(tmp_path, bad)
    with pytest.raises(PostureError) as whole:
        snapshot.load(path)
    got = _reads(monkeypatch)
    with pytest.raises(PostureError) as partial:
        snapshot.load(path, fields=FIELDS)
    assert str(partial.value) == str(whole.value) and len(got) == 2


def test_a_modified_file_is_refused_with_the_same_message_either_way(tmp_path: Path) -> None:
    path = _v2(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"ohallo-prod"', b'"ohallo-prog"', 1))
    with pytest.raises(PostureError) as whole:
        snapshot.load(path)
    with pytest.raises(PostureError) as partial:
        snapshot.load(path, fields=FIELDS)
    assert "digest mismatch" in str(whole.value) and str(partial.value) == str(whole.value)
