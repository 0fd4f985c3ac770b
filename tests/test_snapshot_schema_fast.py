"""`snapshot._plainly_valid`: the check that lets a scan skip jsonschema says "valid" only
for documents snapshot.schema.json accepts, and does say it for the snapshots posture
writes (else every scan would still import and run jsonschema)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scanner import snapshot
from scanner.errors import SnapshotError

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted(p for p in ROOT.glob("fixtures/**/*.json")
                 if b'"posture-snapshot"' in p.read_bytes()[:4096])

# what a field may be replaced by: other types, empty and edge values, near-misses of the
# schema's patterns (re.search: "$" also matches before a final newline)
VALUES: list[Any] = [
    None, 0, 1, 2, 3, True, False, 1.0, 2.0, "", "x", "posture-snapshot", "sha256", "ed25519",
    "2026-11-20T02:00:00Z", "2026-11-20T02:00:00Z\n", "2026-11-20 02:00:00Z",
    "2026-11-20T02:00:00.5+01:00", "0" * 64, "0" * 64 + "\n", "A" * 64, "0" * 63,
    "ed25519:0123456789abcdef", "ed25519:0123456789ABCDEF", "hetzner", "Hetzner", "-x",
    "denied", "bug", "valid", "not checked", "other", [], [{}], ["x"], [1], {}, {"x": 1},
    {"global": []}, {"global": [{}]}, {"global": [1]}, {"global": {}},
]


def _base() -> dict[str, Any]:
    """A skeleton with every optional member the schema knows."""
    return {
        "format": "posture-snapshot", "version": 2, "tool_version": "0.1.0",
        "created_at": "2026-11-20T02:00:00Z",
        "digest": {"algorithm": "sha256", "value": "0" * 64},
        "signature": {"algorithm": "ed25519", "key_id": "ed25519:0123456789abcdef",
                      "public_key": "AAAA", "value": "BBBB"},
        "sections": [{
            "provider": "hetzner", "account": "acct", "collected_at": "2026-11-20T02:00:00Z",
            "tool_version": "0.1.0", "locations": ["fsn1"], "redacted": ["a.b"],
            "collections": {"servers": {"global": [{"id": 1}]}, "volumes": {}},
            "errors": [{"collection": "servers", "region": "global", "reason": "denied",
                        "message": "no", "resource": "1"}],
            "replayed_from": [{"digest": "0" * 64, "created_at": "x",
                               "signature": {"status": "valid", "key_id": None}}],
        }],
    }


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*path, i))


def _mutations(doc: dict[str, Any]) -> Iterator[Any]:
    for path in _paths(doc):
        if not path:
            continue
        for value in [*VALUES, "delete", "extra"]:
            m = copy.deepcopy(doc)
            parent = m
            for step in path[:-1]:
                parent = parent[step]
            if value == "delete":
                del parent[path[-1]]
            elif value == "extra":
                target = parent[path[-1]]
                if not isinstance(target, dict):
                    continue
                target["unexpected"] = "x"
            else:
                parent[path[-1]] = value
            yield m
    yield {**doc, "unexpected": 1}
    yield []


SCHEMA = jsonschema.Draft202012Validator(snapshot.schema())  # what jsonschema.validate picks


def _schema_accepts(doc: Any) -> bool:
    return bool(SCHEMA.is_valid(doc))


def test_a_mutated_snapshot_is_plainly_valid_only_when_the_schema_accepts_it() -> None:
    told = kept = 0
    for m in _mutations(_base()):
        if snapshot._plainly_valid(m):
            kept += 1
            assert _schema_accepts(m), json.dumps(m)[:400]
        else:
            told += 1
    assert kept > 50 and told > 500  # both sides exercised


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_a_bundled_snapshot_is_plainly_valid(path: Path) -> None:
    doc = json.loads(path.read_bytes())
    skeleton = {**doc, "sections": [snapshot._skeleton_section(s) for s in doc["sections"]]}
    assert _schema_accepts(skeleton)
    assert snapshot._plainly_valid(skeleton)


def test_a_scan_of_a_plainly_valid_snapshot_does_not_run_jsonschema(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("jsonschema ran")

    monkeypatch.setattr(jsonschema, "validate", refuse)
    snapshot.load(ROOT / "fixtures/hetzner/seed002-hetzner.json")


def test_an_invalid_snapshot_still_gets_the_schemas_message(tmp_path: Path) -> None:
    doc = json.loads((ROOT / "fixtures/hetzner/seed002-hetzner.json").read_bytes())
    doc["sections"][0]["errors"] = [{"collection": "servers", "region": "global",
                                     "reason": "eaten", "message": "x"}]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(SnapshotError, match=r"invalid snapshot at "
                       r"sections/0/errors/0/reason: 'eaten' is not one of"):
        snapshot.load(bad, verify_digest=False)
