"""Fuzz and property tests: bad input through the real CLI gives a clean outcome, never a crash.

Every input file the CLI reads (snapshots, profile TOML, suppressions TOML, results JSON) is
mutated, in bytes (bit flips, truncations, spliced bytes, gzip of the mutant) and in structure
(random JSON/TOML values spliced in at every key path of a valid document, keys removed and
added, a wrong type at every key path), and fed to `verify`, `scan`, `scan --profile`,
`scan --suppressions`, `report` and `diff` through `run(...)` (the real click command,
in-process). Each outcome must be one of:

- exit 0, 1 or 3 with valid output (the report parses in its format), or
- exit 2 with exactly one line on stderr, starting "posture: ", and no traceback and no
  "internal error" anywhere.

Mutated snapshots are also re-sealed (their digest recomputed) so that the mutation reaches
schema validation, the normalizers and the checks instead of stopping at the digest.

Reproducible: hypothesis runs derandomized (no example database) and the byte mutators use
fixed seeds. The default budget is about two thousand inputs (under a minute on 2 cores); set
POSTURE_FUZZ_EXHAUSTIVE=1 for the slow variant (every wrong type at every key path of every
bundled fixture, and ten times the random budget).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import gzip
import json
import logging
import math
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.reports import FORMATS
from scanner.snapshot import digest_of
from tests.helpers import ROOT, SEED002, as_format_1, findings_of, run

EXHAUSTIVE = os.environ.get("POSTURE_FUZZ_EXHAUSTIVE") == "1"
SCALE = 10 if EXHAUSTIVE else 1
FIXTURES = sorted(p for p in (ROOT / "fixtures").glob("*/*.json")
                  if json.loads(p.read_text()).get("format") == "posture-snapshot")
MINIMAL = ROOT / "docs" / "examples" / "snapshots" / "minimal-hetzner.json"
ACME = ROOT / "docs" / "examples" / "profiles" / "acme.toml"
BUILTIN_PROFILES = sorted((ROOT / "scanner" / "profiles").glob("*.toml"))
TRIED: Counter[str] = Counter()  # inputs tried, per kind (printed at the end with -s)


def fuzz_settings(examples: int) -> Any:
    return settings(max_examples=examples * SCALE, derandomize=True, database=None,
                    deadline=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
def _count() -> Iterator[None]:
    """Counts the inputs; logging is off meanwhile (the outcomes are read from stdout and
    stderr; thousands of runs' captured log records would only fill memory)."""
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
    print(f"\nfuzz inputs tried: {sum(TRIED.values())} {dict(sorted(TRIED.items()))}")


# --- the outcome every input must have --------------------------------------------------------


def check_output(fmt: str, text: str) -> None:
    """The report on stdout is valid in its format."""
    if fmt in ("json", "sarif", "ocsf", "diff-json"):
        doc = json.loads(text)
        if fmt == "json":
            assert doc["format"] == "posture-result"
        if fmt == "sarif":
            assert doc["version"] == "2.1.0"
    elif fmt == "junit":
        ET.fromstring(text)
    else:
        assert text.strip(), f"empty {fmt} report"


FAILURES = Path(tempfile.gettempdir()) / "posture-fuzz-failures"


def assert_clean(result: Any, ok: tuple[int, ...], fmt: str | None = None,
                 label: str = "", keep: tuple[Path, ...] = ()) -> int:
    """Exit in `ok` with valid output, or exit 2 with one `posture: ` line on stderr. A bad
    outcome keeps the input files `keep` in FAILURES (named in the message) to replay."""
    out, err = result.stdout, result.stderr
    lines = err.strip().splitlines()
    if result.exit_code == 2:
        good = len(lines) == 1 and lines[0].startswith("posture: ")
    else:
        good = result.exit_code in ok
        if good and fmt is not None:
            try:
                check_output(fmt, out)
            except Exception as exc:
                err += f"\n(invalid {fmt} output: {exc!r})"
                good = False
    good = good and "Traceback" not in out + err and "internal error" not in err
    if not good:
        FAILURES.mkdir(exist_ok=True)
        kept = []
        for path in keep:
            target = FAILURES / f"{len(list(FAILURES.iterdir()))}-{path.name}"
            shutil.copyfile(path, target)
            kept.append(str(target))
        raise AssertionError(f"{label}: exit {result.exit_code}\nstderr: {err[:2000]}\n"
                             f"input kept: {', '.join(kept) or '-'}")
    return int(result.exit_code)


# --- mutation helpers -------------------------------------------------------------------------

Path_ = tuple[Any, ...]


def key_paths(doc: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path to a value in `doc` (dict keys and list indexes), parents first."""
    out: list[Path_] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.append((*prefix, key))
            out.extend(key_paths(value, (*prefix, key)))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out.append((*prefix, i))
            out.extend(key_paths(value, (*prefix, i)))
    return out


def set_at(doc: Any, path: Path_, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    holder = doc
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return doc


def delete_at(doc: Any, path: Path_) -> Any:
    doc = copy.deepcopy(doc)
    holder = doc
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return doc


def insert_at(doc: Any, path: Path_, key: str, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    holder = doc
    for k in path:
        holder = holder[k]
    if isinstance(holder, dict):
        holder[key] = value
    elif isinstance(holder, list):
        holder.append(value)
    return doc


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One or a few byte-level mutations: bit flips, truncation, deletion, duplication,
    splicing in random or structural bytes."""
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if not buf:
            buf.extend(rng.randbytes(rng.randint(1, 8)))
            continue
        op = rng.randrange(7)
        i = rng.randrange(len(buf))
        if op == 0:  # bit flip
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # truncation
            del buf[i:]
        elif op == 2:  # delete a span
            del buf[i:i + rng.randint(1, 64)]
        elif op == 3:  # duplicate a span
            j = min(len(buf), i + rng.randint(1, 64))
            buf[i:i] = buf[i:j]
        elif op == 4:  # random bytes
            buf[i:i] = rng.randbytes(rng.randint(1, 16))
        elif op == 5:  # a structural character
            buf[i] = ord(rng.choice('{}[]",:\\0-e.tfn \n'))
        else:  # interesting tokens
            token = rng.choice((b"null", b"true", b"-1", b"1e999", b"NaN", b"-Infinity",
                                b'"\\ud800"', b'"\\u0000"', b"9" * 5000, b"[" * 5000,
                                b"\xff\xfe", b"\xc3", b'""', b"{}", b"[]"))
            buf[i:i] = token
    return bytes(buf)


INTERESTING_STRINGS = (
    "", " ", "0", "-1", "1.5", "true", "null", "0.0.0.0/0", "::/0", "10.0.0.0/33", "fsn1",
    "eu-central", "westeurope", "22", "1-65535", "65536", "-5", "2026-13-45T99:99:99Z",
    "2026-01-01T00:00:00Z", "Tls1_0", "TLS1_3", "\x00", "\ud800", "é", "\U0001d4ca", "a" * 5000,
    "../../etc/passwd", "%s%n", "{0}", "<script>", "Enabled", "Disabled", "*", "Internet",
    "/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/z",
)
scalars = (st.none() | st.booleans()
           | st.integers() | st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30])
           | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | st.sampled_from(INTERESTING_STRINGS))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=6) | st.sampled_from(["id", "name", "labels", "properties", "type",
                                               "location", "value", "tags", "status"]),
        inner, max_size=4),
    max_leaves=12,
)
WRONG_TYPES: tuple[Any, ...] = (None, True, 0, -1, 1.5, "", "x", [], {}, [None], {"": None},
                                10**30, float("nan"))


def wrong_value(original: Any, i: int) -> Any:
    """A value of another JSON type than `original` (rotating through WRONG_TYPES)."""
    candidates = [v for v in WRONG_TYPES if type(v) is not type(original)]
    return candidates[i % len(candidates)]


# --- snapshots --------------------------------------------------------------------------------


def trimmed(doc: dict[str, Any], keep: int = 2) -> dict[str, Any]:
    """The fixture with at most `keep` raw objects per collection and region (faster)."""
    doc = copy.deepcopy(doc)
    for section in doc["sections"]:
        for regions in section["collections"].values():
            for region, objs in regions.items():
                regions[region] = objs[:keep]
    return doc


@cache
def snapshot_bases() -> tuple[dict[str, Any], ...]:
    return tuple(trimmed(json.loads(p.read_text())) for p in [MINIMAL, *FIXTURES])


def sealed(doc: Any) -> Any:
    """`doc` with its digest recomputed (when it is still shaped enough to have one)."""
    if isinstance(doc, dict) and isinstance(doc.get("digest"), dict):
        # lone surrogates and the like: no digest can be computed; the loader must say so
        with contextlib.suppress(UnicodeEncodeError, RecursionError, ValueError, TypeError):
            doc = {**doc, "digest": {**doc["digest"], "value": digest_of(doc)}}
    return doc


def write_json(path: Path, doc: Any, rng: random.Random | None = None) -> Path:
    text = json.dumps(doc, indent=1) if rng is None or rng.random() < 0.7 else json.dumps(doc)
    data = text.encode("utf-8")
    if rng is not None and rng.random() < 0.15:
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


SNAPSHOT_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("verify",), ("verify", "--json"), ("scan", "--format", "json", "--no-timestamps"),
    ("scan", "--format", "sarif", "--no-timestamps", "--allow-partial"),
    ("scan", "--format", "table"), ("scan", "--format", "csv", "--fail-on", "none"),
)


def run_snapshot(path: Path, command: tuple[str, ...], label: str) -> int:
    verb, *rest = command
    result = run(verb, str(path), *rest)
    fmt = rest[rest.index("--format") + 1] if "--format" in rest else None
    TRIED[f"snapshot-{verb}"] += 1
    return assert_clean(result, (0,) if verb == "verify" else (0, 1, 3), fmt, label, (path,))


@pytest.mark.parametrize("chunk", range(4))
def test_snapshot_byte_mutations(tmp_path: Path, chunk: int) -> None:
    rng = random.Random(f"snapshot-bytes-{chunk}")
    bases = [p.read_bytes() for p in [MINIMAL, *FIXTURES]]
    bases += [gzip.compress(b, mtime=0) for b in bases[:2]]
    for i in range(100 * SCALE):
        data = mutate_bytes(rng.choice(bases), rng)
        if rng.random() < 0.1:
            data = gzip.compress(data, mtime=0)
        path = tmp_path / f"m{i}.json"
        path.write_bytes(data)
        run_snapshot(path, rng.choice(SNAPSHOT_COMMANDS[:3]), f"chunk {chunk} #{i}")


@fuzz_settings(175)
@given(data=st.data())
def test_snapshot_values_spliced_at_random_paths(tmp_path: Path, data: Any) -> None:
    base = data.draw(st.sampled_from(snapshot_bases()), label="base")
    paths = key_paths(base)
    path = data.draw(st.sampled_from(paths), label="path")
    action = data.draw(st.sampled_from(["replace", "replace", "delete", "insert"]))
    if action == "replace":
        doc = set_at(base, path, data.draw(json_values, label="value"))
    elif action == "delete":
        doc = delete_at(base, path)
    else:
        key = data.draw(st.text(max_size=8) | st.sampled_from(["id", "name", "x"]), label="key")
        doc = insert_at(base, path[:-1], key, data.draw(json_values, label="value"))
    if data.draw(st.sampled_from([True] * 6 + [False]), label="reseal"):
        doc = sealed(doc)
    target = write_json(tmp_path / "s.json", doc)
    command = data.draw(st.sampled_from(SNAPSHOT_COMMANDS), label="command")
    run_snapshot(target, command, f"{action} at {path}")


def wrong_type_cases(bases: tuple[Any, ...], every_type: bool, sample: int | None = None
                     ) -> list[tuple[int, Path_, Any]]:
    """(base, key path, value of another type) for every key path of every base; with
    `sample`, that many of them (a fixed choice, every path of the first base kept)."""
    cases = []
    for b, base in enumerate(bases):
        for i, path in enumerate(key_paths(base)):
            holder = base
            for key in path:
                holder = holder[key]
            if every_type:
                cases.extend((b, path, v) for v in WRONG_TYPES if type(v) is not type(holder))
            else:
                cases.append((b, path, wrong_value(holder, i)))
    if sample is not None and len(cases) > sample:
        first = [c for c in cases if c[0] == 0]
        rest = [c for c in cases if c[0] != 0]
        cases = first + random.Random("sample").sample(rest, max(0, sample - len(first)))
    return cases


def test_snapshot_wrong_type_at_every_key_path(tmp_path: Path) -> None:
    """Key paths of the minimal snapshot and of every fixture (one raw object per collection)
    get a value of another type, re-sealed, then verified or scanned: every path of the
    minimal snapshot and a fixed sample of the others; the slow variant: every wrong type at
    every path of every fixture."""
    bases = snapshot_bases() if EXHAUSTIVE else tuple(trimmed(b, 1) for b in snapshot_bases())
    cases = wrong_type_cases(bases, EXHAUSTIVE, None if EXHAUSTIVE else 250)
    rng = random.Random("wrong-types")
    for n, (b, path, value) in enumerate(cases):
        doc = sealed(set_at(bases[b], path, value))
        target = write_json(tmp_path / f"w{n % 50}.json", doc)
        verb = ("scan", "--format", "json", "--no-timestamps") if rng.random() < 0.6 else (
            "verify",)
        run_snapshot(target, verb, f"base {b} path {path} = {value!r}")


# --- TOML (profiles, suppressions) ------------------------------------------------------------


def toml_str(s: str) -> str:
    out = []
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}" if code < 0xD800 else "\\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        text = repr(v)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_str(str(k))} = {toml_value(x)}"
                               for k, x in v.items() if x is not None) + "}"
    raise TypeError(type(v))


def toml_doc(doc: dict[str, Any]) -> str:
    """A TOML document for `doc` (every nested table inline; None values left out)."""
    return "".join(f"{toml_str(str(k))} = {toml_value(v)}\n"
                   for k, v in doc.items() if v is not None)


toml_scalars = (st.booleans() | st.integers() | st.sampled_from([2**63, 10**30, -1, 0, 65536])
                | st.floats(allow_nan=True, allow_infinity=True)
                | st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
                | st.sampled_from([s for s in INTERESTING_STRINGS if s != "\ud800"])
                | st.dates() | st.datetimes() | st.times())
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)
        | st.sampled_from(["name", "labels", "names", "checks", "quote", "check", "expires"]),
        inner, max_size=4),
    max_leaves=10,
)


def suppressions_base() -> dict[str, Any]:
    return {"suppress": [
        {"check": "NET-02", "resource": "hetzner:acme-demo/*", "reason": "accepted",
         "owner": "ops@example.com", "expires": dt.date(2999, 12, 31)},
        {"check": "NET-*", "resource": "web-*", "reason": "lapsed", "owner": "ops",
         "expires": dt.date(2000, 1, 1)},
        {"check": "RES-01", "resource": "*", "reason": "string date", "owner": "ops",
         "expires": "2999-01-01"},
    ]}


@cache
def profile_bases() -> tuple[dict[str, Any], ...]:
    texts = [ACME.read_text(), *(p.read_text() for p in BUILTIN_PROFILES)]
    docs = [tomllib.loads(t) for t in texts]
    # acme binds a local check (ACME-01); without --checks-dir it is refused: bind NET-01.
    docs[0]["claims"][0]["checks"] = ["NET-01"]
    return tuple(docs)


def run_profile(path: Path, label: str) -> int:
    TRIED["profile"] += 1
    result = run("scan", str(MINIMAL), "--profile", str(path), "--format", "json",
                 "--no-timestamps")
    return assert_clean(result, (0, 1, 3), "json", label, (path,))


def run_suppressions(path: Path, label: str) -> int:
    TRIED["suppressions"] += 1
    result = run("scan", str(MINIMAL), "--suppressions", str(path), "--format", "json",
                 "--no-timestamps")
    return assert_clean(result, (0, 1, 3), "json", label, (path,))


def test_the_toml_bases_are_valid(tmp_path: Path) -> None:
    for i, doc in enumerate(profile_bases()):
        path = tmp_path / f"p{i}.toml"
        path.write_text(toml_doc(doc))
        assert run_profile(path, f"profile base {i}") in (0, 1, 3)
    path = tmp_path / "s.toml"
    path.write_text(toml_doc(suppressions_base()))
    result = run("scan", str(MINIMAL), "--suppressions", str(path), "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    statuses = {f["status"] for f in findings_of(json.loads(result.stdout))}
    assert "suppressed" in statuses


@pytest.mark.parametrize("kind", ["profile", "suppressions"])
def test_toml_byte_mutations(tmp_path: Path, kind: str) -> None:
    rng = random.Random(f"toml-bytes-{kind}")
    if kind == "profile":
        bases = [ACME.read_bytes(), *(p.read_bytes() for p in BUILTIN_PROFILES)]
        runner: Callable[[Path, str], int] = run_profile
    else:
        bases = [toml_doc(suppressions_base()).encode()]
        runner = run_suppressions
    for i in range(250 * SCALE):
        path = tmp_path / f"m{i}.toml"
        path.write_bytes(mutate_bytes(rng.choice(bases), rng))
        runner(path, f"{kind} #{i}")


@fuzz_settings(200)
@given(data=st.data())
def test_profile_values_spliced_at_random_paths(tmp_path: Path, data: Any) -> None:
    base = data.draw(st.sampled_from(profile_bases()), label="base")
    path = data.draw(st.sampled_from(key_paths(base)), label="path")
    action = data.draw(st.sampled_from(["replace", "replace", "delete", "insert"]))
    if action == "replace":
        doc = set_at(base, path, data.draw(toml_values, label="value"))
    elif action == "delete":
        doc = delete_at(base, path)
    else:
        key = data.draw(st.sampled_from(["name", "extra", "labels", "checks", "x"]))
        doc = insert_at(base, path[:-1], key, data.draw(toml_values, label="value"))
    target = tmp_path / "p.toml"
    target.write_text(toml_doc(doc), encoding="utf-8")
    run_profile(target, f"{action} at {path}")


@fuzz_settings(200)
@given(data=st.data())
def test_suppressions_values_spliced_at_random_paths(tmp_path: Path, data: Any) -> None:
    base = suppressions_base()
    path = data.draw(st.sampled_from(key_paths(base)), label="path")
    if data.draw(st.booleans(), label="delete"):
        doc = delete_at(base, path)
    else:
        doc = set_at(base, path, data.draw(toml_values, label="value"))
    target = tmp_path / "s.toml"
    target.write_text(toml_doc(doc), encoding="utf-8")
    run_suppressions(target, f"at {path}")


def test_toml_wrong_type_at_every_key_path(tmp_path: Path) -> None:
    """Key paths of the profiles and of the suppressions file get a value of another type
    (rotating, a fixed sample of 400; the slow variant: every other type at every path)."""
    toml_wrong = (True, 0, -1, 1.5, "", "x", [], {}, [1], {"a": 1}, dt.date(2026, 1, 1),
                  10**30, float("inf"))
    cases: list[tuple[str, dict[str, Any], Path_, Any]] = []
    for kind, bases in (("profile", profile_bases()), ("suppressions", (suppressions_base(),))):
        for base in bases:
            for i, path in enumerate(key_paths(base)):
                holder: Any = base
                for key in path:
                    holder = holder[key]
                others = [v for v in toml_wrong if type(v) is not type(holder)]
                chosen = others if EXHAUSTIVE else [others[i % len(others)]]
                cases.extend((kind, base, path, v) for v in chosen)
    if not EXHAUSTIVE:  # a fixed sample: the built-in profiles have long claim lists
        keep = sorted(random.Random("toml-sample").sample(range(len(cases)), 400))
        cases = [cases[i] for i in keep]
    for n, (kind, base, path, value) in enumerate(cases):
        target = tmp_path / f"w{n % 20}.toml"
        target.write_text(toml_doc(set_at(base, path, value)), encoding="utf-8")
        runner = run_profile if kind == "profile" else run_suppressions
        runner(target, f"{kind} {path} = {value!r}")


# --- results files (report, diff) -------------------------------------------------------------


@pytest.fixture(scope="module")
def results_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("results")
    result = run("scan", str(SEED002), "--profile", "seed-002", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    path = folder / "base.json"
    path.write_text(result.stdout)
    return path, doc


def trimmed_results(doc: dict[str, Any]) -> dict[str, Any]:
    doc = as_format_1(doc)  # flat findings, to trim (report reads format 1 too)
    by_status: dict[str, list[Any]] = {}
    for f in doc["findings"]:
        by_status.setdefault(f["status"], []).append(f)
    doc["findings"] = [f for fs in by_status.values() for f in fs[:3]]
    doc["claims"] = doc["claims"][:4]
    return doc


REPORT_FORMATS = sorted(FORMATS)


def run_results(base: Path, target: Path, rng_pick: int, label: str) -> None:
    """`report` in one format (rotating), and every third input also `diff` both ways."""
    fmt = REPORT_FORMATS[rng_pick % len(REPORT_FORMATS)]
    TRIED["results-report"] += 1
    assert_clean(run("report", str(target), "--format", fmt, "--no-timestamps"), (0,), fmt,
                 f"{label} (report --format {fmt})", (target,))
    if rng_pick % 3 == 0:
        TRIED["results-diff"] += 1
        store = str(target.with_suffix(".db"))
        dfmt = "json" if rng_pick % 2 else "text"
        assert_clean(run("diff", str(base), str(target), "--store", store, "--format", dfmt),
                     (0, 1), "diff-json" if dfmt == "json" else None, f"{label} (diff)",
                     (target,))


def test_results_byte_mutations(tmp_path: Path,
                                results_base: tuple[Path, dict[str, Any]]) -> None:
    base_path, doc = results_base
    rng = random.Random("results-bytes")
    bases = [json.dumps(trimmed_results(doc), indent=1).encode(), base_path.read_bytes()]
    bases.append(gzip.compress(bases[0], mtime=0))
    for i in range(150 * SCALE):
        data = mutate_bytes(rng.choice(bases), rng)
        if rng.random() < 0.1:
            data = gzip.compress(data, mtime=0)
        path = tmp_path / f"r{i}.json"
        path.write_bytes(data)
        run_results(base_path, path, rng.randrange(1000), f"results bytes #{i}")


@fuzz_settings(175)
@given(data=st.data())
def test_results_values_spliced_at_random_paths(
        tmp_path: Path, results_base: tuple[Path, dict[str, Any]], data: Any) -> None:
    base_path, full = results_base
    base = trimmed_results(full)
    path = data.draw(st.sampled_from(key_paths(base)), label="path")
    action = data.draw(st.sampled_from(["replace", "replace", "delete", "insert"]))
    if action == "replace":
        doc = set_at(base, path, data.draw(json_values, label="value"))
    elif action == "delete":
        doc = delete_at(base, path)
    else:
        doc = insert_at(base, path[:-1], data.draw(st.sampled_from(["x", "status", "id"])),
                        data.draw(json_values, label="value"))
    target = tmp_path / "r.json"
    target.write_text(json.dumps(doc))
    run_results(base_path, target, data.draw(st.integers(0, 999), label="pick"),
                f"{action} at {path}")


def test_results_wrong_type_at_every_key_path(
        tmp_path: Path, results_base: tuple[Path, dict[str, Any]]) -> None:
    base_path, full = results_base
    base = trimmed_results(full)
    for n, (_, path, value) in enumerate(wrong_type_cases((base,), EXHAUSTIVE)):
        target = tmp_path / f"w{n % 20}.json"
        target.write_text(json.dumps(set_at(base, path, value)))
        run_results(base_path, target, n, f"{path} = {value!r}")


# --- the command line given nonsense ----------------------------------------------------------


def usage_error(result: Any) -> None:
    """Exit 2, no traceback, one `posture: ` line (click's usage errors too)."""
    out = result.stdout + result.stderr
    assert result.exit_code == 2, out
    assert "Traceback" not in out and "internal error" not in out, out
    lines = result.stderr.strip().splitlines()
    assert lines, out
    assert len(lines) == 1 and lines[0].startswith("posture: "), out


@pytest.mark.parametrize("args", [
    ("--frobnicate",), ("scan",), ("scan", "--format"), ("scan", str(SEED002), "--format"),
    ("scan", str(SEED002), "--format", "pdf2"), ("scan", str(SEED002), "--format", "json:"),
    ("scan", str(SEED002), "--format", "json", "--format", "sarif"),
    ("scan", str(SEED002), "--fail-on", "catastrophic"), ("scan", str(SEED002), "--timeout", "0"),
    ("scan", str(SEED002), "--max-retries", "-1"), ("scan", str(SEED002), "--max-retries", "x"),
    ("scan", str(SEED002), "--retry-base-seconds", "nan"), ("scan", str(SEED002), "--only-new"),
    ("scan", str(SEED002), "--sign", "k"), ("scan", str(SEED002), "--checks", ",,"),
    ("scan", str(SEED002), "--checks", "NOPE-1"), ("scan", str(SEED002), "--azure-cloud", "mars"),
    ("scan", "nonexistent.json"), ("scan", ""), ("scan", "\x00"), ("verify",),
    ("verify", "a", "b"), ("verify", ""), ("verify", "nonexistent.json"), ("report",),
    ("report", "nonexistent.json"), ("report", str(SEED002)), ("diff",), ("record",),
    ("record", "hetzner"), ("checks", "NOPE-1"), ("profiles", "nope"), ("permissions",),
    ("permissions", "gcp"), ("seal",), ("history", "--limit", "0"), ("keygen",),
    ("--config", "nonexistent.toml", "checks"), ("scan", str(SEED002), "-o", "/"),
    ("scan", str(SEED002), "--checks-dir", str(SEED002)),
    ("scan", str(SEED002), "--profile", ""), ("scan", str(SEED002), "--suppressions", "nope"),
])
def test_nonsense_arguments_are_usage_errors(args: tuple[str, ...], tmp_path: Path) -> None:
    TRIED["cli-args"] += 1
    usage_error(run(*args, env={"HCLOUD_TOKEN": "", "POSTURE_AZURE_ACCESS_TOKEN": ""}))


def special_paths(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "a-directory"
    folder.mkdir()
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    return {"directory": folder, "devnull": Path("/dev/null"), "fifo": fifo, "empty": empty,
            "devzero": Path("/dev/zero")}


CHILD = """
import json, sys
from click.testing import CliRunner
from scanner.cli import main
out = []
for args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    out.append({"exit_code": r.exit_code, "stdout": r.stdout, "stderr": r.stderr})
print(json.dumps(out))
"""


def in_child(cases: list[tuple[str, ...]], cwd: Path, timeout: float = 60) -> list[Any]:
    """The CLI run for each case in one child process: a FIFO or /dev/zero must neither hang
    nor eat memory, and the timeout fails the test instead of hanging the suite."""
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cases)], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    return [SimpleNamespace(**r) for r in json.loads(done.stdout)]


@pytest.mark.parametrize("special", ["directory", "devnull", "fifo", "empty", "devzero"])
def test_directories_devices_and_fifos_as_input_files_are_refused(
        tmp_path: Path, special: str) -> None:
    """Every file argument given a directory, /dev/null, /dev/zero, an empty file or a FIFO
    (nothing ever writes to it): one `posture: ` line (or click's usage error) and exit 2, at
    once. An empty suppressions or config file is valid (nothing in it). The FIFO and
    /dev/zero cases run in a child process, under a timeout."""
    path = str(special_paths(tmp_path)[special])
    cases = [
        ("verify", path), ("scan", path), ("seal", path, "-o", str(tmp_path / "out.json")),
        ("scan", str(MINIMAL), "--profile", path),
        ("scan", str(MINIMAL), "--suppressions", path),
        ("report", path), ("diff", path, path, "--store", str(tmp_path / "h.db")),
        ("--config", path, "checks"),
    ]
    if special in ("fifo", "devzero"):
        results = in_child(cases, tmp_path)
    else:
        results = [run(*args) for args in cases]
    for args, result in zip(cases, results, strict=True):
        TRIED["cli-special-files"] += 1
        out = result.stdout + result.stderr
        if special == "empty" and ("--suppressions" in args or "--config" in args):
            assert result.exit_code in (0, 1) and not result.stderr, (args, out)
            continue
        assert result.exit_code == 2, (args, out)
        assert "Traceback" not in out and "internal error" not in out, (args, out)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("posture: "), (args, out)
    if special == "fifo":
        assert stat.S_ISFIFO(os.stat(path).st_mode)
