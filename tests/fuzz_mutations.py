"""Structure-aware mutations of posture's inputs, and the outcome every mutant must have.

A mutant is a JSON document (a snapshot, a Terraform plan, a results file) or a TOML document
(config, profile, suppressions) changed at one key path: a value of another type, a deleted
key, a duplicated key, a huge integer, NaN/Infinity/1e400, deep nesting, a very long string,
hostile Unicode (lone surrogates, NUL, bidi overrides, terminal escapes), an empty array or
object, and the semantic shapes of the things posture judges: ids colliding across resources,
references to a missing or to the same resource, negative ports, reversed port ranges,
malformed or non-canonical CIDRs, malformed label selectors.

Values that `json.dumps` cannot write (1e400, duplicate keys, 10k levels of nesting) are
`Raw` JSON text spliced in by `dumps`. Snapshots are re-sealed after the mutation (version 1:
the digest of the canonical content; version 2: the file written as posture writes it, digest
of its bytes) so the mutation reaches the normalizers and checks, not only the digest check.

`outcome(...)` runs the real CLI in-process and checks: exit in {0, 1, 2, 3}; exit 2 is one
`posture: ` line on stderr; no traceback anywhere; a time bound. `unsafe_flips(...)` compares
per-finding statuses: a mutation that makes a field unreadable (another type) must not turn a
`fail` (or an `error`) into a `pass`.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import math
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import findings_of, run

KeyPath = tuple[Any, ...]


@dataclass(frozen=True)
class Raw:
    """JSON text written as is by `dumps` (what json.dumps cannot write)."""
    text: str


@dataclass(frozen=True)
class Dup:
    """An object written with a key twice: `dumps` writes `pairs` in order."""
    pairs: tuple[tuple[str, Any], ...]


def dumps(value: Any) -> str:
    """JSON text of `value` with `Raw` and `Dup` spliced in; NaN/Infinity as json writes
    them (the tokens Python's json reads and strict JSON does not)."""
    parts: list[str] = []
    _dump(value, parts)
    return "".join(parts)


def _dump(value: Any, out: list[str]) -> None:
    stack: list[tuple[str, Any]] = [("v", value)]
    while stack:
        kind, item = stack.pop()
        if kind == "t":
            out.append(item)
            continue
        if isinstance(item, Raw):
            out.append(item.text)
        elif isinstance(item, Dup):
            stack.append(("t", "}"))
            for i, (k, v) in reversed(list(enumerate(item.pairs))):
                stack.append(("v", v))
                stack.append(("t", ("," if i else "") + json.dumps(k) + ":"))
            stack.append(("t", "{"))
        elif isinstance(item, dict):
            stack.append(("t", "}"))
            for i, (k, v) in reversed(list(enumerate(item.items()))):
                stack.append(("v", v))
                stack.append(("t", ("," if i else "") + json.dumps(str(k)) + ":"))
            stack.append(("t", "{"))
        elif isinstance(item, list):
            stack.append(("t", "]"))
            for i, v in reversed(list(enumerate(item))):
                stack.append(("v", v))
                if i:
                    stack.append(("t", ","))
            stack.append(("t", "["))
        else:
            out.append(json.dumps(item))


def key_paths(doc: Any, prefix: KeyPath = ()) -> list[KeyPath]:
    """Every path to a value in `doc` (dict keys and list indexes), parents first."""
    out: list[KeyPath] = []
    stack: list[tuple[KeyPath, Any]] = [(prefix, doc)]
    while stack:
        path, value = stack.pop()
        if path:
            out.append(path)
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))
    return out


def get_at(doc: Any, path: KeyPath) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def set_at(doc: Any, path: KeyPath, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    holder = get_at(doc, path[:-1])
    holder[path[-1]] = value
    return doc


def delete_at(doc: Any, path: KeyPath) -> Any:
    doc = copy.deepcopy(doc)
    holder = get_at(doc, path[:-1])
    del holder[path[-1]]
    return doc


def duplicate_key_at(doc: Any, path: KeyPath, value: Any) -> Any:
    """The object holding `path` written with its last key twice: the original, then
    `value` (Python's json keeps the last)."""
    doc = copy.deepcopy(doc)
    holder_path, key = path[:-1], path[-1]
    holder = get_at(doc, holder_path)
    pairs = (*holder.items(), (key, value))
    if not holder_path:
        return Dup(tuple(pairs))
    parent = get_at(doc, holder_path[:-1])
    parent[holder_path[-1]] = Dup(tuple(pairs))
    return doc


# --- values --------------------------------------------------------------------------------

HOSTILE_TEXT = (
    "\x1b[2J\x1b[31mred", "\x00nul", "\ud800", "\udfff lone", "evil\u202egnp.exe",
    "a\nb\r\nc", "csi\x9b2J", "line\u2028sep", "\ufeffbom", "e\u0301", "\U0001f600",
    "=cmd|' /C calc'!A0", "<script>alert(1)</script>", "../../etc/passwd", "%s%n{0}",
)
HUGE = (2**70, -(2**70), 2**63, -(2**63) - 1, 10**400)
FLOATS = (Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e400"), Raw("-1e400"),
          Raw("1e-400"), Raw("-0.0"), 1.5)
DEEP = Raw("[" * 10_000 + "]" * 10_000)
DEEP_OBJ = Raw('{"a":' * 10_000 + "1" + "}" * 10_000)
LONG = "A" * (10 * 1024 * 1024)
WRONG_TYPES: tuple[Any, ...] = (None, True, False, 0, -1, 1.5, "", "x", [], {}, [None],
                                {"": None}, ["x"], {"id": 1})


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), "other")


def wrong_types(original: Any) -> list[Any]:
    """Values of another JSON type than `original` (a number stays a number's type: 1 vs
    1.5 is not a type change for JSON)."""
    return [v for v in WRONG_TYPES if json_type(v) != json_type(original)]


PORTS = ("-1", "-22", "0", "65536", "99999999999999999999", "443-22", "22-", "-", "1-2-3",
         "x", " 22", "22 ", "0x16", "1e3", "२२", "22\x00", "", "*", "any", "-1--5")
PORT_INTS = (-1, -22, 0, 65536, 2**70, -(2**70))
CIDRS = ("10.0.0.0/33", "::/129", "1.2.3.4/8", "0.0.0.0/-1", "0.0.0.0/", "/0", "0.0.0.0/0 ",
         " 0.0.0.0/0", "0.0.0.0/00", "0.0.0.0/0/0", "256.0.0.0/8", "1.2.3", "::ffff:0.0.0.0/96",
         "0:0:0:0:0:0:0:0/0", "0.0.0.0/0\n", "10.0.0.0/8,0.0.0.0/0", "*", "any", "Internet",
         "0.0.0.0/0\x00", "fe80::1%eth0/64", "2001:db8::/32x", "1.2.3.4/255.0.0.0",
         "1.2.3.4/0.0.0.255", "")
SELECTORS = ("", "=", "!", "a=", "=b", "a==b==c", "a in (", "a in ()", "a notin (x",
             "a=b,", ",", "a=b,,c=d", "!!a", "a!=", "role=web\x00", "a" * 70000, "a b",
             "a=b)", "a in (x,y", "k8s.io/=x", "-a=b", "a=\ud800")


def looks_like_cidr(value: Any) -> bool:
    if not isinstance(value, str) or "/" not in value or len(value) > 50:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def looks_like_ip(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 50:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


PORT_KEY = re.compile(r"port", re.I)
ID_KEY = re.compile(r"(^|_)id$|Id$|^ID$|^arn$|^Arn$|^address$", re.I)
SELECTOR_KEY = re.compile(r"selector", re.I)


# --- the mutation catalogue ----------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    doc: Any
    label: str
    kind: str  # "type" (unreadable: another type), "delete", "value", "semantic", "text"
    path: KeyPath


def semantic_values(doc: Any, path: KeyPath, value: Any, ids: list[Any]) -> list[Any]:
    """Values that are of the right JSON type but mean something hostile at `path`."""
    key = path[-1] if path else ""
    out: list[Any] = []
    if isinstance(key, str) and PORT_KEY.search(key):
        out.extend(PORTS if isinstance(value, str) else PORT_INTS)
        if isinstance(value, int):
            out.extend(PORTS[:6])
    if looks_like_cidr(value) or looks_like_ip(value):
        out.extend(CIDRS)
    if isinstance(key, str) and SELECTOR_KEY.search(key) and isinstance(value, str):
        out.extend(SELECTORS)
    if isinstance(key, str) and ID_KEY.search(key):
        same = [i for i in ids if json_type(i) == json_type(value) and i != value]
        out.extend(same[:4])  # collide with another resource's id
        out.extend(["missing-" + str(value), 987654321] if isinstance(value, str)
                   else [987654321, -1, 0])
        # a reference that names its holder: the id of the enclosing object, if it has one
        for depth in range(len(path) - 1, 0, -1):
            holder = get_at(doc, path[:depth])
            if isinstance(holder, dict) and "id" in holder and path[depth:] != ("id",):
                out.append(holder["id"])
                break
    return out


def collect_ids(doc: Any) -> list[Any]:
    ids: list[Any] = []
    for path in key_paths(doc):
        if path and isinstance(path[-1], str) and ID_KEY.search(path[-1]):
            value = get_at(doc, path)
            if isinstance(value, str | int) and not isinstance(value, bool):
                ids.append(value)
    return list(dict.fromkeys(ids))[:200]


OPS = ("type", "type", "type", "delete", "dup", "huge", "float", "nest", "text", "empty",
       "semantic", "semantic", "semantic")


def mutants(doc: Any, rng: random.Random, paths: list[KeyPath] | None = None,
            heavy: bool = True, ops: tuple[str, ...] = OPS) -> Iterator[Mutant]:
    """An endless stream of mutants of `doc`, each one change at one key path (chosen by
    `rng` from `paths`, default every path) by one of `ops`. `heavy`: also 10 MB strings
    and 10k-level nesting (slow to write and read; use few)."""
    paths = paths if paths is not None else key_paths(doc)
    ids = collect_ids(doc)
    while True:
        path = rng.choice(paths)
        value = get_at(doc, path)
        op = rng.choice(ops)
        if op == "type":
            new = rng.choice(wrong_types(value))
            yield Mutant(set_at(doc, path, new), f"{path} = {new!r} (was {json_type(value)})",
                         "type", path)
        elif op == "delete":
            yield Mutant(delete_at(doc, path), f"del {path}", "delete", path)
        elif op == "dup" and isinstance(path[-1], str):
            new = rng.choice([*wrong_types(value), value])
            yield Mutant(duplicate_key_at(doc, path, new), f"dup key {path} = {new!r}",
                         "dup", path)
        elif op == "huge":
            new = rng.choice(HUGE)
            yield Mutant(set_at(doc, path, new), f"{path} = huge {str(new)[:20]}", "value",
                         path)
        elif op == "float":
            new = rng.choice(FLOATS)
            yield Mutant(set_at(doc, path, new), f"{path} = {new!r}", "value", path)
        elif op == "nest" and heavy:
            new = rng.choice((DEEP, DEEP_OBJ))
            yield Mutant(set_at(doc, path, new), f"{path} = 10k nesting", "value", path)
        elif op == "text":
            if heavy and rng.random() < 0.1:
                new_text = LONG
            else:
                new_text = rng.choice(HOSTILE_TEXT)
                if isinstance(value, str) and rng.random() < 0.5:
                    new_text = value + new_text
            yield Mutant(set_at(doc, path, new_text),
                         f"{path} = {new_text[:30]!r} ({len(new_text)} chars)", "text", path)
        elif op == "empty":
            new = [] if isinstance(value, list) else {} if isinstance(value, dict) else ""
            yield Mutant(set_at(doc, path, new), f"{path} = empty {new!r}", "value", path)
        elif op == "semantic":
            options = semantic_values(doc, path, value, ids)
            if options:
                new = rng.choice(options)
                yield Mutant(set_at(doc, path, new), f"{path} = {str(new)[:40]!r} (semantic)",
                             "semantic", path)


def semantic_paths(doc: Any) -> list[KeyPath]:
    """Key paths where a semantic mutation applies (ports, addresses, ids, selectors)."""
    ids = collect_ids(doc)
    return [p for p in key_paths(doc) if semantic_values(doc, p, get_at(doc, p), ids)]


# --- snapshots: trimming and sealing -------------------------------------------------------


def trimmed(doc: dict[str, Any], keep: int = 2) -> dict[str, Any]:
    """The snapshot with at most `keep` raw objects per collection and region."""
    doc = copy.deepcopy(doc)
    for section in doc["sections"]:
        for regions in section["collections"].values():
            for region, objs in regions.items():
                regions[region] = objs[:keep]
    return doc


def _plain(value: Any) -> Any:
    """`value` as Python data (Raw parsed where it can be, Dup's last value kept): what the
    reader will see, to compute the digest over."""
    if isinstance(value, Raw):
        return json.loads(value.text)
    if isinstance(value, Dup):
        return {k: _plain(v) for k, v in value.pairs}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def sealed_text(doc: Any, version: int) -> bytes:
    """The mutant as a snapshot file, its digest computed so it verifies (where it still can
    have one): version 1 over the canonical content, version 2 over the bytes."""
    from scanner import snapshot
    if not (isinstance(doc, dict) and isinstance(doc.get("digest"), dict)):
        return dumps(doc).encode("utf-8", "surrogatepass")
    body = {k: v for k, v in doc.items() if k not in ("digest", "signature")}
    if version == 2:
        body["version"] = 2
        text = dumps(body)
        covered = text[:-1].encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(covered).hexdigest()
        return covered + snapshot._trailer(
            {"digest": {"algorithm": "sha256", "value": digest}})
    try:
        plain = _plain(body)
        value = snapshot.digest_of(plain)
    except (ValueError, RecursionError, UnicodeEncodeError, TypeError):
        value = doc["digest"].get("value", "0" * 64)
    out = dict(body)
    out["digest"] = {"algorithm": "sha256", "value": value}
    return dumps(out).encode("utf-8", "surrogatepass")


# --- the outcome ---------------------------------------------------------------------------

ANSI = re.compile("\x1b\\[|\x9b|\x1b\\]")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float


class BadOutcome(AssertionError):
    pass


def outcome(args: tuple[str, ...], label: str, ok: tuple[int, ...] = (0, 1, 2, 3),
            seconds: float = 60.0, terminal_text: bool = False) -> Outcome:
    """The real CLI on `args`, in-process; raises BadOutcome naming `label` when the exit is
    not in `ok`, exit 2 is not exactly one `posture: ` line, a traceback or "internal error"
    shows, it took longer than `seconds`, or (`terminal_text`) stdout or stderr carries a raw
    terminal escape."""
    start = time.perf_counter()
    try:
        result = run(*args)
    except Exception as exc:  # an exception out of the CLI is a crash
        import traceback
        raise BadOutcome(f"{label}: crashed: {''.join(traceback.format_exception(exc))[-3000:]}"
                         ) from exc
    took = time.perf_counter() - start
    out, err = result.stdout, result.stderr
    problems = []
    if result.exit_code not in ok:
        problems.append(f"exit {result.exit_code}")
    if result.exit_code == 2:
        lines = err.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("posture: "):
            problems.append(f"exit 2 with {len(lines)} stderr lines")
    if "Traceback" in out + err or "internal error" in err:
        problems.append("traceback")
    if took > seconds:
        problems.append(f"took {took:.1f}s")
    if terminal_text and ANSI.search(out + err):
        problems.append("raw terminal escape in output")
    if problems:
        raise BadOutcome(f"{label}: {', '.join(problems)}\nargs: {args}\n"
                         f"stderr: {err[-2000:]}\nstdout: {out[:500]}")
    return Outcome(int(result.exit_code), out, err, took)


def statuses(report_json: str) -> dict[tuple[str, str], str]:
    doc = json.loads(report_json)
    return {(f["check"], f["resource"]): f["status"] for f in findings_of(doc)}


def unsafe_flips(before: dict[tuple[str, str], str],
                 after: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """Findings that were `fail` or `error` and are `pass` now."""
    return [k for k, s in before.items() if s in ("fail", "error") and after.get(k) == "pass"]


def finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))


Runner = Callable[[Path, str], Outcome]
