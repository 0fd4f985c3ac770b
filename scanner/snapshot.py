"""Snapshot files: the raw inventory a scan collected, as the provider APIs returned it.

Format (documented in docs/snapshot-format.md, JSON Schema in scanner/schema/):

    {"format": "posture-snapshot", "version": 1, "tool_version": ..., "created_at": ...,
     "sections": [{"provider", "account", "collected_at", "tool_version", "locations",
                   "collections": {NAME: {REGION|"global": [raw objects...]}},
                   "errors": [{"collection", "region", "reason", "message"}],
                   "redacted": ["servers[].labels.db_password", ...]}],
     "digest": {"algorithm": "sha256", "value": HEX}}

Version 2 (written since issue 19): the digest is SHA-256 over the file's bytes as stored
(after gzip decompression), from the first byte up to the members left out of it
(`digest`, then `signature` if any), which end the top-level object exactly as `_trailer`
writes them. Nothing is re-encoded to verify it; the file is parsed by msgspec.

Version 1 (still read and verified): the digest is SHA-256 over the canonical form of the
document without its `digest` and `signature` members: UTF-8 JSON with keys sorted, no
insignificant white space, non-ASCII characters unescaped
(`json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`).
Plain or gzip JSON; gzip is recognised by its magic bytes, not the file name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import os
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner import __version__, fastjson, inputs, outputs
from scanner.errors import SnapshotError
from scanner.model import CollectionError, ErrorReason

if TYPE_CHECKING:  # signing (cryptography) is imported where a signature is made or read
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from scanner import signing

FORMAT = "posture-snapshot"
VERSION = 2  # the version written; every version in VERSIONS is read and verified
VERSIONS = (1, 2)
GLOBAL = "global"
MAX_BYTES = 2 * 1024**3  # refuse larger inputs, compressed or not
LIMIT_ENV = "POSTURE_MAX_SNAPSHOT_BYTES"  # overrides MAX_BYTES (a number of bytes)


@dataclass
class Section:
    """One provider account's raw collections, as collected or replayed."""

    provider: str
    account: str
    collected_at: str
    tool_version: str = __version__
    locations: list[str] = field(default_factory=list)
    collections: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    redacted: list[str] = field(default_factory=list)
    # Set when this section was read from a snapshot file rather than collected live: one
    # entry per replay, newest first: {"digest": the source snapshot's sha256, "created_at",
    # "signature": {"status", "key_id"}} (signing.SignatureStatus as the replay saw it).
    replayed_from: list[dict[str, Any]] = field(default_factory=list)

    def items(self, collection: str) -> list[dict[str, Any]]:
        """All raw objects of a collection, every region, in recorded order."""
        return [obj for objs in self.collections.get(collection, {}).values() for obj in objs]

    def add(self, collection: str, region: str, objects: list[dict[str, Any]]) -> None:
        self.collections.setdefault(collection, {})[region] = objects

    def fail(self, collection: str, region: str, reason: ErrorReason, message: str,
             resource: str | None = None) -> None:
        """Record a failed read. `resource`: the parent object a per-resource read was made
        for (its id as the API gave it), so that only that resource's verdicts are touched."""
        error = {"collection": collection, "region": region, "reason": str(reason),
                 "message": message}
        if resource is not None:
            error["resource"] = resource
        self.errors.append(error)

    def attempted(self) -> set[str]:
        return set(self.collections) | {e["collection"] for e in self.errors}

    def collection_errors(self) -> list[CollectionError]:
        return [
            CollectionError(
                provider=self.provider,
                account=self.account,
                collection=e["collection"],
                region=e["region"],
                reason=ErrorReason(e["reason"]),
                message=e["message"],
                resource=e.get("resource"),
            )
            for e in self.errors
        ]

    def to_json(self) -> dict[str, Any]:
        out = {
            "provider": self.provider,
            "account": self.account,
            "collected_at": self.collected_at,
            "tool_version": self.tool_version,
            "locations": sorted(self.locations),
            "collections": self.collections,
            "errors": self.errors,
            "redacted": sorted(set(self.redacted)),
        }
        if self.replayed_from:  # absent for a live collection (older files: unchanged)
            out["replayed_from"] = self.replayed_from
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Section:
        return cls(
            provider=data["provider"],
            account=data["account"],
            collected_at=data["collected_at"],
            tool_version=data["tool_version"],
            locations=list(data.get("locations", [])),
            collections=data["collections"],
            errors=list(data.get("errors", [])),
            redacted=list(data.get("redacted", [])),
            replayed_from=list(data.get("replayed_from", [])),
        )


@dataclass
class Snapshot:
    sections: list[Section]
    created_at: str = ""
    tool_version: str = __version__
    digest: str = ""
    path: str = ""
    signature: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        """The snapshot as JSON, without its digest."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "tool_version": self.tool_version,
            "created_at": self.created_at,
            "sections": [s.to_json() for s in self.sections],
        }


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


UNHASHED = ("digest", "signature")  # members outside the canonical content


def canonical(document: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k not in UNHASHED}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(document: Mapping[str, Any], *, finite: bool = False,
              floats_checked: bool = False) -> str:
    """SHA-256 of `canonical(document)`, hashed as it is encoded: the same bytes, without
    holding the canonical form of a large snapshot (twice: text, then UTF-8) in memory.

    `finite`: the document is what `json.loads` made of text without NaN/Infinity, so the
    raw objects can be encoded by orjson where it writes json's bytes (scanner.fastjson);
    `floats_checked`: and orjson writes each of its floats as json does (`_parse` says)."""
    body = {k: v for k, v in document.items() if k not in UNHASHED}
    h = hashlib.sha256()
    try:
        for chunk in _canonical_chunks(body, set(), finite, floats_checked):
            h.update(chunk)
    except UnicodeEncodeError:  # lone surrogates: fail exactly as canonical() does
        return hashlib.sha256(canonical(document)).hexdigest()
    return h.hexdigest()


_CANONICAL_BATCH = 512  # raw objects per encoder call when hashing
_RAW_DEPTH = 5  # body > sections > section > collections > regions > [raw objects]


def _dumps_canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _canonical_chunks(value: Any, active: set[int], finite: bool, floats_checked: bool,
                      depth: int = 0) -> Iterator[bytes]:
    """`canonical(value)` in pieces whose concatenation is exactly those bytes.

    The snapshot's own levels (plain dicts with string keys, plain lists) are opened here,
    written as the C encoder writes them (keys sorted, "," and ":" between tokens); lists of
    raw objects are encoded in batches (`[a,b]` without its brackets is `a,b`) by
    `fastjson.canonical_bytes`; anything else goes to json.dumps whole, so every unusual
    value is encoded, or refused, by json itself."""
    if depth < _RAW_DEPTH and type(value) is dict and value and all(
            type(k) is str for k in value):
        if id(value) in active:
            raise ValueError("Circular reference detected")
        active.add(id(value))
        sep = b"{"
        for key, item in sorted(value.items()):
            yield sep + _dumps_canonical(key) + b":"
            sep = b","
            yield from _canonical_chunks(item, active, finite, floats_checked, depth + 1)
        yield b"}"
        active.discard(id(value))
    elif depth <= _RAW_DEPTH and type(value) is list and value:
        if id(value) in active:
            raise ValueError("Circular reference detected")
        active.add(id(value))
        if depth == _RAW_DEPTH:
            for i in range(0, len(value), _CANONICAL_BATCH):
                batch = fastjson.canonical_bytes(value[i:i + _CANONICAL_BATCH],
                                                 finite=finite, floats_checked=floats_checked)
                yield (b"[" if i == 0 else b",") + batch[1:-1]
            yield b"]"
        else:
            sep = b"["
            for item in value:
                yield sep
                sep = b","
                yield from _canonical_chunks(item, active, finite, floats_checked, depth + 1)
            yield b"]"
        active.discard(id(value))
    else:
        yield _dumps_canonical(value)


@cache
def schema() -> dict[str, Any]:
    text = resources.files("scanner").joinpath("schema/snapshot.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def write(snapshot: Snapshot, path: Path, key: Ed25519PrivateKey | None = None) -> str:
    """Write a snapshot (gzip when the name ends in .gz), signed when a key is given;
    returns its digest."""
    from scanner import signing

    snapshot.created_at = snapshot.created_at or now()
    doc = snapshot.document()
    body = _layout(doc)  # "{...}": the members covered by the digest
    covered = body[:-2] if body.endswith(b"\n}") else body[:-1]  # without the final "}"
    digest = hashlib.sha256(covered).hexdigest()
    unhashed: dict[str, Any] = {"digest": {"algorithm": "sha256", "value": digest}}
    if key is not None:
        unhashed["signature"] = signing.sign(digest, key)
    data = covered + _trailer(unhashed)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    try:
        outputs.write_atomic(path, data)
    except OSError as exc:
        raise SnapshotError(f"cannot write snapshot {path}: {exc.strerror}") from exc
    snapshot.digest = digest
    return digest


def _trailer(doc: Mapping[str, Any]) -> bytes:
    """The end of a version 2 file: the members the digest leaves out, in UNHASHED order,
    one line each (`json.dumps` with sorted keys and ASCII escapes), then the top level's
    closing brace. The writer appends it to the covered bytes; the reader writes it again
    from the parsed values and requires the file to end with exactly these bytes."""
    parts = [b',\n "' + name.encode() + b'": '
             + json.dumps(doc[name], sort_keys=True).encode()
             for name in UNHASHED if name in doc]
    return b"".join(parts) + b"\n}"


def digest_v2(data: bytes, doc: Mapping[str, Any], origin: str) -> str:
    """The version 2 digest of a file's (decompressed) bytes, given its parsed document:
    SHA-256 of everything before the trailer. A file that does not end with the trailer its
    own values give (re-indented, keys re-ordered, a member added after `digest`) is refused
    as modified: version 2 covers the bytes as stored."""
    trailer = _trailer(doc)
    end = len(data)
    while end and data[end - 1] in b" \t\r\n":  # white space after the JSON is not content
        end -= 1
    if end <= len(trailer) or data[end - len(trailer):end] != trailer:
        raise SnapshotError(
            f"{origin}: digest mismatch, the snapshot was modified after it was recorded "
            "(format version 2: the digest covers the file's bytes up to its digest member, "
            "which must end the file as posture wrote it; re-seal an edited file with "
            "`posture seal`)")
    return hashlib.sha256(memoryview(data)[:end - len(trailer)]).hexdigest()


def _layout(doc: dict[str, Any]) -> bytes:
    """A version 2 file's body: the snapshot's own levels indented by one space with keys
    sorted (as `json.dumps(indent=1, sort_keys=True)` writes them), each raw object on one
    line of its own, compact and with sorted keys, encoded by json's C encoder. The same
    values as `_pretty`, several times faster than json's pure-Python indenting encoder and
    about a third smaller; one raw object per line also diffs and greps well."""
    out = io.BytesIO()
    try:
        for chunk in _layout_chunks(doc, 0):
            out.write(chunk)
    except UnicodeEncodeError:  # lone surrogates: fail exactly as json.dumps(...).encode()
        return _pretty(doc)
    return out.getvalue()


_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _compact(value: Any) -> bytes:
    """`json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, UTF-8
    (one encoder for every object: json.dumps builds a new one per call)."""
    return _COMPACT.encode(value).encode()


def _layout_chunks(value: Any, depth: int) -> Iterator[bytes]:
    pad = b"\n" + b" " * (depth + 1)
    if depth < _RAW_DEPTH and type(value) is dict and value and all(
            type(k) is str for k in value):
        sep = b"{"
        for key in sorted(value):
            yield sep + pad + json.dumps(key, ensure_ascii=False).encode() + b": "
            sep = b","
            yield from _layout_chunks(value[key], depth + 1)
        yield b"\n" + b" " * depth + b"}"
    elif depth <= _RAW_DEPTH and type(value) is list and value:
        sep = b"["
        for item in value:
            yield sep + pad
            sep = b","
            if depth == _RAW_DEPTH:  # sections > section > collections > regions > objects
                yield _compact(item)
            else:
                yield from _layout_chunks(item, depth + 1)
        yield b"\n" + b" " * depth + b"]"
    else:
        yield json.dumps(value, sort_keys=True, ensure_ascii=False).encode()


def _pretty(doc: dict[str, Any]) -> bytes:
    """`json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True).encode()`, the same
    bytes, built from the encoder's chunks in batches: json.dumps with an indent keeps every
    small chunk in one list before joining, several times the size of the text itself."""
    encoder = json.JSONEncoder(indent=1, ensure_ascii=False, sort_keys=True)
    out = io.BytesIO()
    pending: list[str] = []
    try:
        for chunk in encoder.iterencode(doc):
            pending.append(chunk)
            if len(pending) >= 100_000:
                out.write("".join(pending).encode())
                pending.clear()
        out.write("".join(pending).encode())
    except UnicodeEncodeError:  # lone surrogates: fail exactly as json.dumps(...).encode()
        return json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True).encode()
    return out.getvalue()


def size_limit() -> int:
    """The input size limit: $POSTURE_MAX_SNAPSHOT_BYTES (bytes), else MAX_BYTES (2 GiB)."""
    return _bytes_from_env(LIMIT_ENV) or MAX_BYTES


RESULTS_LIMIT_ENV = "POSTURE_MAX_RESULTS_BYTES"
RESULTS_FACTOR = 4  # a results file (format 2) is 0.2x (100k synthetic Hetzner resources:
# 139 MB snapshot, 26 MB results) to 2.1x (100k minimal servers: 37 MB, 80 MB) the snapshot
# it judged (bench/README.md): four times the snapshot limit reads what scan writes


def results_limit() -> int:
    """The size limit of a results file (`posture report`, `posture diff`):
    $POSTURE_MAX_RESULTS_BYTES, else four times the snapshot limit, so that `report` reads
    every results file `scan` writes from a snapshot it accepted."""
    return _bytes_from_env(RESULTS_LIMIT_ENV) or RESULTS_FACTOR * size_limit()


def results_limit_from_env() -> int | None:
    """$POSTURE_MAX_RESULTS_BYTES when it is set (a positive number of bytes), else None."""
    return _bytes_from_env(RESULTS_LIMIT_ENV)


def _bytes_from_env(name: str) -> int | None:
    """A positive number of bytes from the environment variable `name`; None when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise SnapshotError(f"{name}={raw!r}: give a positive number of bytes")
    return value


def read_bytes(path: Path, max_bytes: int | None = None, *, what: str = "snapshot") -> bytes:
    """Read a plain or gzip file, refusing more than `max_bytes` (default: `size_limit()`)
    either way: a larger file from its size, before reading it; gzip content by decompressing
    it once without keeping it (bounded memory, so a gzip bomb costs time, not memory) and
    only then for real."""
    limit = size_limit() if max_bytes is None else max_bytes
    try:
        data = inputs.read_regular(path, limit)
    except FileNotFoundError as exc:
        raise SnapshotError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise SnapshotError(f"{path}: is a directory, not a {what} file") from exc
    except inputs.TooLarge as exc:
        raise SnapshotError(
            f"{path}: {exc.size} bytes, larger than the {limit} byte limit (refused unread; "
            f"raise it with {RESULTS_LIMIT_ENV if what == 'results' else LIMIT_ENV})"
        ) from exc
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read: {exc.strerror}") from exc
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        for keep in (False, True):
            out = io.BytesIO()
            size = 0
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                while chunk := gz.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        env = RESULTS_LIMIT_ENV if what == "results" else LIMIT_ENV
                        raise SnapshotError(
                            f"{path}: decompresses to more than the {limit} byte limit "
                            f"(gzip of {len(data)} bytes; raise it with {env})")
                    if keep:
                        out.write(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        raise SnapshotError(f"{path}: gzip data is truncated or corrupt ({exc})") from exc
    return out.getvalue()


_FLOATS_REMEMBERED = 1 << 16  # distinct float texts kept while parsing (API objects repeat
# the same few: CPU counts, prices, sizes)


def parse(data: bytes, origin: str) -> dict[str, Any]:
    return _parse_fast(data, origin)[0]


def decode_fast(data: bytes) -> Any:
    """`data` decoded by msgspec, or None where msgspec refuses it (bad JSON, bad UTF-8, lone
    surrogates, NaN/Infinity, numbers beyond 64 bits or a double's range, deep nesting):
    the caller then takes json's path, whose verdicts and messages stand. (A document that
    is just `null` gives None too; json's path reads it the same.)"""
    import msgspec  # here, not at start-up

    try:
        return msgspec.json.decode(data)
    except (msgspec.MsgspecError, RecursionError):
        return None


def _parse_fast(data: bytes, origin: str) -> tuple[dict[str, Any], bool, bool]:
    """`_parse`, by msgspec where it can: about twice json's speed and less memory (no
    decoded copy of the text). msgspec refuses what json accepts and the format allows
    (NaN and Infinity, numbers beyond 64 bits or a double's range) and what the format
    refuses (invalid UTF-8, lone surrogate escapes, bad JSON); each of those takes json's
    path, whose verdicts and one-line messages are the format's. A document msgspec
    parsed is finite; its floats are not checked (`digest_of` searches when it must)."""
    doc = decode_fast(data)
    if doc is None:
        return _parse(data, origin)
    if not isinstance(doc, dict):
        raise SnapshotError(f"{origin}: not a posture snapshot (top level is not an object)")
    return doc, True, False


def _parse(data: bytes, origin: str) -> tuple[dict[str, Any], bool, bool]:
    """The document; whether it is finite (no NaN/Infinity, see `digest_of`); and whether
    orjson writes each of its floats as json does (checked as each float is parsed)."""
    constants: list[str] = []
    odd_floats: list[str] = []

    def constant(name: str) -> float:
        constants.append(name)
        return float(name)

    seen: dict[str, float] = {}  # a float's text -> its value: one look per distinct text

    def number(text: str) -> float:  # json's own float(), plus a look at how it is written
        value = seen.get(text)
        if value is None:
            value = float(text)
            if math.isinf(value):  # 1e400: json writes Infinity, like the constant
                constants.append(text)
            elif not fastjson.writes_float_as_json(value):
                odd_floats.append(text)
            if len(seen) < _FLOATS_REMEMBERED:
                seen[text] = value
        return value

    try:
        text = data.decode("utf-8")  # the format is UTF-8; no encoding guessing
        del data  # the caller passed its only reference: keep text or bytes, not both
        doc = json.loads(text, parse_constant=constant, parse_float=number)
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{origin}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{origin}: not valid JSON, truncated or corrupt? ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise SnapshotError(f"{origin}: JSON nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise SnapshotError(f"{origin}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise SnapshotError(f"{origin}: not a posture snapshot (top level is not an object)")
    return doc, not constants, not constants and not odd_floats


def validate(doc: dict[str, Any], origin: str) -> None:
    """Format, version and schema checks (the schema is checked on a skeleton of the
    document whose raw object lists are cut to their first element; every element is then
    checked to be an object, which is all the format promises about raw objects)."""
    if doc.get("format") != FORMAT:
        raise SnapshotError(f"{origin}: not a posture snapshot (format is {doc.get('format')!r})")
    if doc.get("version") not in VERSIONS or type(doc.get("version")) is not int:
        raise SnapshotError(
            f"{origin}: snapshot format version {doc.get('version')!r} is not supported "
            f"(this posture reads versions {' and '.join(map(str, VERSIONS))})"
        )
    skeleton = dict(doc)
    sections = doc.get("sections")
    if isinstance(sections, list):
        skeleton["sections"] = [_skeleton_section(s) for s in sections]
    if not _plainly_valid(skeleton):  # else the schema says what is wrong, and where
        import jsonschema  # here: only a snapshot that is not plainly valid needs it

        try:
            jsonschema.validate(skeleton, schema())
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
            raise SnapshotError(f"{origin}: invalid snapshot at {where}: {exc.message}"
                                ) from exc
    for i, section in enumerate(doc["sections"]):
        for name, regions in section["collections"].items():
            for region, objs in regions.items():
                if not all(map(isinstance, objs, repeat(dict))):  # in C: 100k+ objects
                    raise SnapshotError(
                        f"{origin}: invalid snapshot at sections/{i}/collections/{name}/"
                        f"{region}: every raw object must be a JSON object"
                    )


# snapshot.schema.json's patterns and enums, for `_plainly_valid` (jsonschema matches a
# pattern with `re.search`, as here)
_TIMESTAMP = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEY_ID = re.compile(r"^ed25519:[0-9a-f]{16}$")
_PROVIDER = re.compile(r"^[a-z][a-z0-9_-]*$")
_TOP = frozenset(("format", "version", "tool_version", "created_at", "sections", "digest"))
_SECTION = frozenset(("provider", "account", "collected_at", "tool_version", "collections",
                      "errors"))
_SECTION_MAY = frozenset(("locations", "redacted", "replayed_from"))
_ERROR = frozenset(("collection", "region", "reason", "message"))
_REASONS = frozenset(("denied", "unauthenticated", "throttled", "unreachable", "not_found",
                      "invalid", "bug"))
_SIGNATURE = frozenset(("algorithm", "key_id", "public_key", "value"))
_SIGNED = frozenset(("valid", "invalid", "not checked", "absent"))


def _plainly_valid(doc: Any) -> bool:
    """True only for a document snapshot.schema.json accepts, told by plain Python for the
    shapes posture writes (exact types, every field as the schema has it); False for
    anything else, which jsonschema then judges and names (importing jsonschema and
    checking the schema cost a scan about 0.05 s of CPU). tests/test_snapshot_schema_fast.py
    holds this against jsonschema on the bundled snapshots and their mutations."""
    def text(v: Any, pattern: re.Pattern[str] | None = None) -> bool:
        return type(v) is str and (pattern is None or pattern.search(v) is not None)

    def strings(v: Any) -> bool:
        return type(v) is list and all(type(x) is str for x in v)

    if type(doc) is not dict or not _TOP <= doc.keys() <= _TOP | {"signature"}:
        return False
    digest, signature = doc["digest"], doc.get("signature")
    if not (type(doc["format"]) is str and doc["format"] == FORMAT
            and type(doc["version"]) is int and doc["version"] in (1, 2)
            and text(doc["tool_version"]) and doc["tool_version"]
            and text(doc["created_at"], _TIMESTAMP)
            and type(digest) is dict and digest.keys() == {"algorithm", "value"}
            and text(digest["algorithm"]) and digest["algorithm"] == "sha256"
            and text(digest["value"], _HEX64)):
        return False
    if "signature" in doc and not (
            type(signature) is dict and signature.keys() == _SIGNATURE
            and text(signature["algorithm"]) and signature["algorithm"] == "ed25519"
            and text(signature["key_id"], _KEY_ID) and text(signature["public_key"])
            and text(signature["value"])):
        return False
    sections = doc["sections"]
    if type(sections) is not list or not sections:
        return False
    for section in sections:
        if type(section) is not dict or not _SECTION <= section.keys() <= _SECTION | _SECTION_MAY:
            return False
        if not (text(section["provider"], _PROVIDER) and text(section["account"])
                and section["account"] and text(section["collected_at"], _TIMESTAMP)
                and text(section["tool_version"])
                and ("locations" not in section or strings(section["locations"]))
                and ("redacted" not in section or strings(section["redacted"]))
                and type(section["collections"]) is dict
                and type(section["errors"]) is list):
            return False
        for regions in section["collections"].values():
            if type(regions) is not dict or not all(
                    type(objs) is list and all(type(o) is dict for o in objs)
                    for objs in regions.values()):
                return False
        for err in section["errors"]:
            if not (type(err) is dict and _ERROR <= err.keys() <= _ERROR | {"resource"}
                    and text(err["collection"]) and text(err["region"])
                    and text(err["reason"]) and err["reason"] in _REASONS
                    and text(err["message"])
                    and ("resource" not in err or text(err["resource"]))):
                return False
        if type(section.get("replayed_from", [])) is not list:
            return False
        for hop in section.get("replayed_from", ()):
            if not (type(hop) is dict and {"digest", "signature"} <= hop.keys()
                    <= {"digest", "signature", "created_at"}
                    and text(hop["digest"], _HEX64)
                    and ("created_at" not in hop or text(hop["created_at"]))
                    and type(hop["signature"]) is dict
                    and hop["signature"].keys() == {"status", "key_id"}
                    and text(hop["signature"]["status"])
                    and hop["signature"]["status"] in _SIGNED
                    and (hop["signature"]["key_id"] is None
                         or text(hop["signature"]["key_id"]))):
                return False
    return True


def _skeleton_section(section: Any) -> Any:
    if not isinstance(section, dict) or not isinstance(section.get("collections"), dict):
        return section
    cols = {
        name: (
            {r: objs[:1] if isinstance(objs, list) else objs for r, objs in regions.items()}
            if isinstance(regions, dict)
            else regions
        )
        for name, regions in section["collections"].items()
    }
    return {**section, "collections": cols}


def load(path: Path, verify_digest: bool = True,
         fields: Callable[[str], Mapping[str, Any]] | None = None) -> Snapshot:
    """Read, validate and verify a snapshot. Every problem is a `SnapshotError` naming it.

    `fields` (provider name -> collection -> msgspec type of one raw object): a version 2
    file's raw objects are decoded with only the fields those types list, for a scan that
    keeps no raw object (scanner/snapshot_fields.py); anything else is decoded whole."""
    origin = str(path)
    held = [read_bytes(path)]  # in a list: `_parse_fields` may free the bytes early
    doc, actual = _parse_fields(path, held, fields, verify_digest) if fields is not None \
        else (None, None)
    if doc is None:
        doc, finite, floats_checked = _parse_fast(held[0], origin)
        validate(doc, origin)
    else:
        finite = floats_checked = True  # version 2: the digest is over the bytes
    recorded = doc["digest"]["value"]
    if doc["version"] == 1:
        held.clear()  # version 1 hashes the parsed values; the bytes are no longer needed
    if verify_digest:
        if actual is None:
            if doc["version"] == 1:
                actual = _digest_or_refuse(doc, origin, finite, floats_checked)
            else:
                actual = digest_v2(held[0], doc, origin)
        if actual != recorded:
            raise SnapshotError(
                f"{origin}: digest mismatch, the snapshot was modified after it was recorded "
                f"(recorded sha256 {recorded[:16]}..., content hashes to {actual[:16]}...)"
            )
    return Snapshot(
        sections=[Section.from_json(s) for s in doc["sections"]],
        created_at=doc["created_at"],
        tool_version=doc["tool_version"],
        digest=recorded,
        path=origin,
        signature=doc.get("signature"),
    )


def _parse_fields(path: Path, held: list[bytes], fields: Callable[[str], Mapping[str, Any]],
                  verify_digest: bool) -> tuple[dict[str, Any] | None, str | None]:
    """The version 2 document in `held[0]` with only the listed raw fields, validated, and
    its digest when verified here (else None); (None, None) where the whole decoder must read
    the file (it does not fit exactly, or it is not valid: the whole decoder's path then
    gives the message, as for any file).

    The digest is taken first and each region's bytes copied out, so the file's bytes are
    freed (`held` emptied) before the raw objects are built: a large scan never holds both
    (bench/README.md, "Session 9"). Should the whole decoder be needed after all, the file
    is read again into `held`; what that decoder parses, its own digest check covers."""
    from scanner import snapshot_fields  # msgspec: here, not at start-up

    origin = str(path)
    envelope = snapshot_fields.split(held[0])
    if envelope is None:
        return None, None
    actual = None
    if verify_digest:
        try:
            actual = digest_v2(held[0], snapshot_fields.members(envelope), origin)
        except SnapshotError:  # the whole decoder's path gives the messages, in its order
            return None, None
        snapshot_fields.detach(envelope)
        held.clear()
    doc = snapshot_fields.fill(envelope, fields)
    del envelope
    if doc is not None:
        try:
            validate(doc, origin)
        except SnapshotError:
            doc = None
    if doc is None:
        if not held:
            held.append(read_bytes(path))
        return None, None
    return doc, actual


def _digest_or_refuse(doc: Mapping[str, Any], origin: str, finite: bool = False,
                      floats_checked: bool = False) -> str:
    """`digest_of(doc)`, or a SnapshotError for content no canonical form exists for."""
    try:
        return digest_of(doc, finite=finite, floats_checked=floats_checked)
    except UnicodeEncodeError as exc:  # "\\ud800" escapes decode to lone surrogates
        raise SnapshotError(
            f"{origin}: a string holds an unpaired UTF-16 surrogate escape "
            f"({exc.object[exc.start:exc.end].encode('unicode_escape').decode()}): not "
            "valid Unicode text") from exc
    except RecursionError as exc:
        raise SnapshotError(f"{origin}: JSON nested too deeply") from exc


def check_signature(snap: Snapshot, keys: list[Ed25519PublicKey] | tuple[()] = (),
                    origin: str = "") -> signing.SignatureStatus:
    """The snapshot's signature status for a scan: with trusted `keys` (`scan --key`) it must
    be signed by one of them (SnapshotError otherwise: unsigned, another signer, edited);
    without, a signature that does not verify even with the key it carries is refused (the
    snapshot was edited after signing and re-sealed) and any other is `not checked`."""
    from scanner import signing

    origin = origin or snap.path
    if keys:
        signer = signing.verify_any(snap.digest, snap.signature, keys, origin)
        return signing.SignatureStatus("valid", signer)
    found = signing.status(snap.digest, snap.signature)
    if found.status == "invalid":
        raise SnapshotError(f"{origin}: the signature does not verify: the snapshot was "
                            "modified after it was signed (give the signer's --key to check "
                            "who signed it)")
    return found


def mark_replayed(snap: Snapshot, signature: signing.SignatureStatus) -> None:
    """Record in each section that it was read from this snapshot file (so that a snapshot
    written from it, even re-signed, says it is a replay and of what)."""
    hop = {"digest": snap.digest, "created_at": snap.created_at,
           "signature": signature.to_json()}
    for section in snap.sections:
        section.replayed_from = [hop, *section.replayed_from]


def manifest(snap: Snapshot, signature: signing.SignatureStatus | None = None
             ) -> dict[str, Any]:
    """What the snapshot holds: its signature's status (`signing.status`, checked against
    the public key it carries unless `signature` says more), per section where and when it
    was collected (or of which snapshot it is a replay), by which version, how many objects
    per collection and region, which calls failed and which fields were redacted (names
    only)."""
    from scanner import signing

    sig = signature or signing.status(snap.digest, snap.signature)
    return {
        "digest": snap.digest,
        "created_at": snap.created_at,
        "tool_version": snap.tool_version,
        "signature": sig.to_json(),
        "sections": [
            {
                "provider": s.provider,
                "account": s.account,
                "collected_at": s.collected_at,
                "tool_version": s.tool_version,
                "locations": sorted(s.locations),
                "collections": {name: {region: len(objs) for region, objs in regions.items()}
                                for name, regions in sorted(s.collections.items())},
                "failed_calls": s.errors,
                "redacted_fields": sorted(set(s.redacted)),
                "replayed_from": s.replayed_from,
            }
            for s in snap.sections
        ],
    }


def seal(path: Path, out: Path) -> str:
    """Compute and write the digest of a hand-written snapshot (validated first)."""
    origin = str(path)
    doc = parse(read_bytes(path), origin)
    doc.setdefault("digest", {"algorithm": "sha256", "value": "0" * 64})
    validate(doc, origin)
    _digest_or_refuse(doc, origin)  # content no canonical form exists for is refused
    snap = Snapshot(
        sections=[Section.from_json(s) for s in doc["sections"]],
        created_at=doc["created_at"],
        tool_version=doc["tool_version"],
    )
    return write(snap, out)
