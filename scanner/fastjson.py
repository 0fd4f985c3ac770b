"""JSON encoding at C speed with orjson, where orjson writes exactly what json writes.

Two uses, both hot at 100k+ resources:

- `canonical_bytes`: the snapshot digest's canonical form, which is *defined* by json
  (`json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`). orjson
  writes the same bytes for what `json.loads` returns, except for numbers: floats in
  exponent form ("1e-7" for json's "1e-07", "1e16" for "1e+16"), floats in
  1e-5 <= |x| < 1e-4 ("0.00001" for "1e-05"), NaN and Infinity (null), integers outside
  64 bits (refused). orjson's output is searched for the first two (a match inside a string
  only costs the exact path), the caller vouches for the third, orjson refuses the fourth;
  any doubt falls back to json itself. tests/test_fastjson.py compares the two on
  generated documents.
- `dumps_indented`: the JSON report, indented by two spaces, keys sorted.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# Values json would refuse or write differently go to `default` (none given: TypeError),
# so that json decides about them.
_STRICT = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
           | orjson.OPT_PASSTHROUGH_SUBCLASS)
_EXPONENT = re.compile(rb"e[-+]?[0-9]+(?:[,}\]]|\Z)")  # a number token with an exponent
_SMALL = b"0.0000"  # 1e-5 <= |x| < 1e-4, which json writes in exponent form


def writes_float_as_json(value: float) -> bool:
    """Whether orjson writes this float with exactly the text json writes (`repr`)."""
    return orjson.dumps(value) == float.__repr__(value).encode()


def canonical_bytes(value: Any, *, finite: bool, floats_checked: bool = False) -> bytes:
    """`json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
    encoded as UTF-8: the same bytes, from orjson when that is provably the same.

    `finite`: the caller guarantees `value` is what `json.loads` returns for text without
    NaN/Infinity (plain dicts with str keys, lists, str, int, float, bool, None), the only
    shape orjson is used for. `floats_checked`: the caller also guarantees that
    `writes_float_as_json` holds for every float in it (`snapshot` checks each float as it
    parses the file), so orjson's output needs no search for numbers json writes
    otherwise (a search over the whole output cost as much as encoding it)."""
    if finite:
        try:
            out = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | _STRICT)
        except (orjson.JSONEncodeError, TypeError):
            out = None  # integers beyond 64 bits, lone surrogates, unusual types
        if out is not None and (floats_checked or (
                _SMALL not in out and _EXPONENT.search(out) is None)):
            return out
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def dumps_indented(value: Any) -> bytes:
    """`value` as UTF-8 JSON, indented by two spaces, keys sorted, ending in a newline.
    NaN and Infinity become null (valid JSON); what orjson refuses (integers beyond 64 bits,
    keys that are not strings) is written by json."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
        # lone surrogates (only inside strings) as their JSON escape `\\ud800`: same value
        return text.encode("utf-8", "backslashreplace") + b"\n"
