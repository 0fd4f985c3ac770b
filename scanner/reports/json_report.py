"""JSON: the stable, documented shape (docs/output-formats.md). Keys sorted, findings in
(check, resource) order: the same snapshot and profile give the same bytes."""

from __future__ import annotations

import gc
import json
from json.encoder import encode_basestring
from typing import Any

from scanner.result import ScanResult

_INDENT = "  "
_FLUSH = 1 << 16  # pieces kept before they are joined into one string


def render(result: ScanResult, timestamps: bool = True) -> str:
    # Building and encoding a large report makes millions of objects and no cycles: pause
    # the cyclic garbage collector meanwhile (see scanner.engine.gc_paused).
    enabled = gc.isenabled()
    gc.disable()
    try:
        doc = result.to_json(timestamps=timestamps)
        try:
            return _dumps(doc) + "\n"
        except (_Unusual, RecursionError):
            pass  # a value the fast path does not take: json writes it (or refuses it) itself
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    finally:
        if enabled:
            gc.enable()


class _Unusual(Exception):
    """A value the fast encoder leaves to json.dumps."""


def _float(o: float) -> str:
    if o != o:
        return "NaN"
    if o == float("inf"):
        return "Infinity"
    if o == -float("inf"):
        return "-Infinity"
    return float.__repr__(o)


def _dumps(doc: Any) -> str:
    """`json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)`, the same text.

    json.dumps with an indent runs the pure-Python encoder, a chain of generators that yields
    every token through every level above it; a report with hundreds of thousands of
    findings spends most of its time there. This is the same algorithm (type tests in
    json's order, keys sorted, ",\\n" + indent between items, ": " after keys, `[]`/`{}` when
    empty) written as plain recursion into one list, with each key's text kept once per
    level. Dict subclasses, keys that are not str, circular references and types json would
    pass to `default` raise `_Unusual`/RecursionError, and the caller hands the document to
    json.dumps instead, which writes it or raises what it raises."""
    out: list[str] = []
    chunks: list[str] = []
    newlines: list[str] = ["\n"]
    key_memo: list[dict[str, str]] = []  # per level: key -> ",\n<indent>" + '"key": '
    append = out.append
    esc = encode_basestring
    int_repr = int.__repr__

    def nl(level: int) -> str:
        while len(newlines) <= level:
            newlines.append("\n" + _INDENT * len(newlines))
            key_memo.append({})
        return newlines[level]

    def value(o: Any, level: int) -> None:
        # json's order of tests (str, None, True, False, int, float, list/tuple, dict)
        if isinstance(o, str):
            append(esc(o))
        elif o is None:
            append("null")
        elif o is True:
            append("true")
        elif o is False:
            append("false")
        elif isinstance(o, int):
            append(int_repr(o))
        elif isinstance(o, float):
            append(_float(o))
        elif isinstance(o, list | tuple):
            array(o, level)
        elif isinstance(o, dict):
            obj(o, level)
        else:
            raise _Unusual(type(o).__name__)

    def item(o: Any, level: int) -> None:
        t = type(o)  # exact types first, the rest in json's order
        if t is str:
            append(esc(o))
        elif t is dict:
            obj(o, level)
        elif t is int:
            append(int_repr(o))
        elif o is None:
            append("null")
        elif t is list:
            array(o, level)
        else:
            value(o, level)

    def array(lst: list[Any] | tuple[Any, ...], level: int) -> None:
        if not lst:
            append("[]")
            return
        inner = nl(level + 1)
        sep = "[" + inner
        comma = "," + inner
        for o in lst:
            append(sep)
            sep = comma
            item(o, level + 1)
            if len(out) > _FLUSH:
                chunks.append("".join(out))
                out.clear()
        append(nl(level) + "]")

    def obj(dct: dict[Any, Any], level: int) -> None:
        if not dct:
            append("{}")
            return
        if type(dct) is not dict:
            raise _Unusual("dict subclass")
        inner = nl(level + 1)
        memo = key_memo[level]
        first = True
        for key in sorted(dct):
            k = memo.get(key)
            if k is None:
                if not isinstance(key, str):
                    raise _Unusual("key")
                k = memo[key] = "," + inner + esc(key) + ": "
            if first:
                append("{" + k[1:])
                first = False
            else:
                append(k)
            item(dct[key], level + 1)
        append(nl(level) + "}")

    nl(1)
    item(doc, 0)
    chunks.append("".join(out))
    return "".join(chunks)
