"""Structure-aware mutation fuzzing of every bundled input, through the real CLI.

Mutants (tests/fuzz_mutations.py) of the bundled snapshots (versions 1 and 2, re-sealed so the
mutation reaches the normalizers), Terraform plans and states, results files, config files,
profiles, suppressions files, key files, history stores and `*.tf` folders are run through the
real `posture` command in-process; a sample also in a child process. Each run must exit 0, 1,
2 or 3; exit 2 is exactly one `posture: ` line on stderr; no traceback; a time bound. And the
verdicts must stay safe: a field given a value of another type (unreadable) never turns a
finding that failed on the original into a pass.

Hypothesis runs derandomized with a bounded example count (the CI budget). Set
POSTURE_FUZZ_EXAMPLES=N (e.g. 5000) for a longer exploration: N examples per test.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_mutations import (
    HOSTILE_TEXT,
    Mutant,
    dumps,
    get_at,
    key_paths,
    mutants,
    outcome,
    sealed_text,
    semantic_paths,
    statuses,
    trimmed,
    unsafe_flips,
)
from tests.helpers import ROOT, SEED002, run

EXAMPLES = int(os.environ.get("POSTURE_FUZZ_EXAMPLES", "0") or 0)
TRIED: Counter[str] = Counter()

SNAPSHOTS = sorted(p for p in (ROOT / "fixtures").rglob("*.json")
                   if b'"posture-snapshot"' in p.read_bytes()[:4096]
                   or json.loads(p.read_bytes()).get("format") == "posture-snapshot")
MINIMAL = ROOT / "docs" / "examples" / "snapshots" / "minimal-hetzner.json"
PLANS = sorted([*(ROOT / "fixtures" / "terraform").glob("*.json"),
                *(ROOT / "tests" / "data" / "plans").glob("*.json")])


def budget(default: int) -> Any:
    return settings(max_examples=EXAMPLES or default, derandomize=True, database=None,
                    deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
    print(f"\nmutants tried: {sum(TRIED.values())} {dict(sorted(TRIED.items()))}")


def read_json(path: Path) -> Any:
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return json.loads(data.decode("utf-16"))
    return json.loads(data)


# --- snapshots ------------------------------------------------------------------------------


@cache
def snapshot_bases() -> tuple[dict[str, Any], ...]:
    return tuple(trimmed(read_json(p)) for p in [MINIMAL, *SNAPSHOTS])


@cache
def snapshot_paths(b: int, semantic: bool) -> list[Any]:
    base = snapshot_bases()[b]
    raw = [p for p in key_paths(base) if len(p) > 5 and p[2] == "collections"]
    if semantic:
        return [p for p in semantic_paths(base) if p in set(raw)] or raw
    return raw


SCAN = ("scan", "--format", "json", "--no-timestamps")


@cache
def base_statuses(tmp: Path, b: int, version: int) -> dict[tuple[str, str], str]:
    path = tmp / f"base-{b}-v{version}.json"
    path.write_bytes(sealed_text(snapshot_bases()[b], version))
    result = outcome((SCAN[0], str(path), *SCAN[1:]), f"base {b} v{version}", ok=(0, 1, 3))
    assert result.code != 2, result.stderr
    return statuses(result.stdout)


def check_snapshot_mutant(tmp: Path, b: int, mutant: Mutant, version: int, fmt: str) -> None:
    path = tmp / f"m-v{version}.json"
    path.write_bytes(sealed_text(mutant.doc, version))
    label = f"snapshot base {b} v{version}: {mutant.label}"
    TRIED[f"snapshot-{mutant.kind}"] += 1
    if fmt == "verify":
        outcome(("verify", str(path)), label)
        return
    args = ("scan", str(path), "--format", fmt, "--no-timestamps")
    result = outcome(args, label, terminal_text=fmt == "table")
    if mutant.kind == "type" and len(mutant.path) > 6 and fmt != "verify":
        # a field of a raw object of another type: that object's verdicts are errors, the
        # scan goes on (scanner/quarantine.py)
        assert result.code != 2, f"{label}: the whole scan refused: {result.stderr[-300:]}"
    if fmt == "json" and result.code != 2 and mutant.kind == "type":
        flips = unsafe_flips(base_statuses(tmp, b, version), statuses(result.stdout))
        assert not flips, f"{label}: fail or error -> pass for {flips}"


@budget(30)
@given(data=st.data())
def test_snapshot_mutants_fail_cleanly_and_never_turn_a_fail_into_a_pass(
        tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    tmp = tmp_path_factory.getbasetemp()
    b = data.draw(st.integers(0, len(snapshot_bases()) - 1), label="base")
    semantic = data.draw(st.booleans(), label="semantic")
    seed = data.draw(st.integers(0, 2**32), label="seed")
    mutant = next(mutants(snapshot_bases()[b], random.Random(seed), snapshot_paths(b, semantic),
                          heavy=data.draw(st.integers(0, 9), label="heavy") == 0))
    version = data.draw(st.sampled_from([1, 2]), label="version")
    fmt = data.draw(st.sampled_from(["json", "json", "json", "table", "verify"]), label="fmt")
    check_snapshot_mutant(tmp, b, mutant, version, fmt)


# --- Terraform plans and states --------------------------------------------------------------


@cache
def plan_bases() -> tuple[Any, ...]:
    return tuple(read_json(p) for p in PLANS)


@cache
def plan_paths(b: int, semantic: bool) -> list[Any]:
    base = plan_bases()[b]
    paths = key_paths(base)
    return (semantic_paths(base) or paths) if semantic else paths


@cache
def plan_statuses(tmp: Path, b: int) -> dict[tuple[str, str], str]:
    path = tmp / f"plan-base-{b}.json"
    path.write_text(json.dumps(plan_bases()[b]))
    result = outcome(("scan", str(path), *SCAN[1:]), f"plan base {b}", ok=(0, 1, 3))
    return statuses(result.stdout)


@budget(30)
@given(data=st.data())
def test_plan_mutants_fail_cleanly_and_never_turn_a_fail_into_a_pass(
        tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    tmp = tmp_path_factory.getbasetemp()
    b = data.draw(st.integers(0, len(plan_bases()) - 1), label="base")
    semantic = data.draw(st.booleans(), label="semantic")
    seed = data.draw(st.integers(0, 2**32), label="seed")
    mutant = next(mutants(plan_bases()[b], random.Random(seed), plan_paths(b, semantic),
                          heavy=data.draw(st.integers(0, 9), label="heavy") == 0))
    fmt = data.draw(st.sampled_from(["json", "json", "table"]), label="fmt")
    path = tmp / "plan-m.json"
    path.write_bytes(dumps(mutant.doc).encode("utf-8", "surrogatepass"))
    label = f"plan {PLANS[b].name}: {mutant.label}"
    TRIED[f"plan-{mutant.kind}"] += 1
    result = outcome(("scan", str(path), "--format", fmt, "--no-timestamps"), label,
                     terminal_text=fmt == "table")
    if fmt == "json" and result.code != 2 and mutant.kind == "type":
        flips = unsafe_flips(plan_statuses(tmp, b), statuses(result.stdout))
        assert not flips, f"{label}: fail -> pass for {flips}"


# --- results files ---------------------------------------------------------------------------


@cache
def results_base(tmp: Path) -> Any:
    result = run("scan", str(MINIMAL), "--format", "json")
    return json.loads(result.stdout)


REPORT_FORMATS = ("table", "json", "markdown", "html", "csv", "sarif", "junit", "ocsf")


@budget(20)
@given(data=st.data())
def test_results_mutants_fail_cleanly(tmp_path_factory: pytest.TempPathFactory,
                                      data: Any) -> None:
    tmp = tmp_path_factory.getbasetemp()
    base = results_base(tmp)
    seed = data.draw(st.integers(0, 2**32), label="seed")
    mutant = next(mutants(base, random.Random(seed),
                          heavy=data.draw(st.integers(0, 9), label="heavy") == 0))
    fmt = data.draw(st.sampled_from(REPORT_FORMATS), label="fmt")
    path = tmp / "results-m.json"
    path.write_bytes(dumps(mutant.doc).encode("utf-8", "surrogatepass"))
    TRIED[f"results-{mutant.kind}"] += 1
    outcome(("report", str(path), "--format", fmt, "--no-timestamps"),
            f"results: {mutant.label} ({fmt})", terminal_text=fmt == "table")


# --- TOML: config, profiles, suppressions ----------------------------------------------------


def toml_str(s: str) -> str:
    out = []
    for ch in s:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v).replace("inf", "inf").replace("nan", "nan")
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_str(str(k))} = {toml_value(x)}"
                               for k, x in v.items() if x is not None) + "}"
    return toml_str(str(v))


def toml_doc(doc: dict[str, Any]) -> str:
    return "".join(f"{toml_str(str(k))} = {toml_value(v)}\n" for k, v in doc.items()
                   if v is not None)


TOML_VALUES = (True, 0, -1, 2**63, 10**30, 1.5, float("nan"), float("inf"), "", "x",
               *HOSTILE_TEXT[:2], *HOSTILE_TEXT[4:], [], {}, [1], ["x"], {"a": 1},
               "10.0.0.0/33", "-1", "none", "../../etc/passwd", "/dev/zero")


CONFIG_BASE = {
    "format": "json", "no-timestamps": True,
    "scan": {"profile": "seed-002", "fail-on": "high", "checks": "NET-01,NET-02",
             "allow-partial": False, "limit": 5},
    "report": {"format": "table"},
}


@budget(20)
@given(data=st.data())
def test_config_mutants_fail_cleanly_and_never_weaken_the_gate_by_discovery(
        tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    tmp = tmp_path_factory.getbasetemp() / "config"
    tmp.mkdir(exist_ok=True)
    paths = key_paths(CONFIG_BASE)
    path = data.draw(st.sampled_from(paths), label="path")
    import copy
    doc: Any = copy.deepcopy(CONFIG_BASE)
    if data.draw(st.booleans(), label="delete"):
        del get_at(doc, path[:-1])[path[-1]]
    else:
        get_at(doc, path[:-1])[path[-1]] = data.draw(st.sampled_from(TOML_VALUES), label="v")
    text = toml_doc(doc)
    cfg = tmp / "posture.toml"
    cfg.write_text(text, encoding="utf-8")
    TRIED["config"] += 1
    outcome(("--config", str(cfg), "scan", str(SEED002), "--no-timestamps"),
            f"config {path}: {text[:300]!r}", terminal_text=True)


# --- key files, stores, tf folders -----------------------------------------------------------


def byte_mutants(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(max(1, len(buf)))
        op = rng.randrange(6)
        if op == 0 and buf:
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            del buf[i:]
        elif op == 2:
            buf[i:i] = rng.choice((b"\x00", b"\x1b[2J", b"\xff\xfe", b"\n" * 3, b"A" * 5000,
                                   b"{", b'"', b"${", b"}}}", b"\\", b"\xed\xa0\x80"))
        elif op == 3:
            del buf[i:i + rng.randint(1, 40)]
        elif op == 4:
            buf[i:i] = rng.randbytes(rng.randint(1, 16))
        else:
            buf[i:i] = buf[i:i + rng.randint(1, 200)]
    return bytes(buf)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("keys")
    result = run("keygen", str(tmp / "k"))
    assert result.exit_code == 0, result.stderr
    key = next(p for p in tmp.iterdir() if not p.name.endswith(".pub"))
    snap = tmp / "s.json"
    result = run("scan", str(MINIMAL), "--record", str(snap), "--sign", str(key),
                 "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return snap, key


@budget(15)
@given(seed=st.integers(0, 2**32))
def test_key_file_mutants_fail_cleanly_and_never_verify(
        tmp_path_factory: pytest.TempPathFactory, signed: tuple[Path, Path], seed: int) -> None:
    snap, key = signed
    rng = random.Random(seed)
    tmp = tmp_path_factory.getbasetemp()
    which = rng.choice((key, Path(str(key) + ".pub")))
    original = which.read_bytes()
    mutated = byte_mutants(original, rng)
    path = tmp / ("k.pub" if which.name.endswith(".pub") else "k")
    path.write_bytes(mutated)
    TRIED["key"] += 1
    if path.name.endswith(".pub"):
        result = outcome(("verify", str(snap), "--key", str(path)), f"pub key seed {seed}")
        if result.code == 0 and mutated.strip() != original.strip():
            # a changed public key may only verify if it still names the same key
            assert "valid" in result.stdout, result.stdout
    else:
        outcome(("scan", str(MINIMAL), "--record", str(tmp / "r.json"), "--sign", str(path),
                 "--format", "json"), f"private key seed {seed}")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("store")
    db = tmp / "h.db"
    for src in (MINIMAL, MINIMAL):
        result = run("scan", str(src), "--store", str(db), "--format", "json")
        assert result.exit_code in (0, 1), result.stderr
    return db


@budget(8)
@given(seed=st.integers(0, 2**32))
def test_store_mutants_fail_cleanly(tmp_path_factory: pytest.TempPathFactory, store: Path,
                                    seed: int) -> None:
    rng = random.Random(seed)
    tmp = tmp_path_factory.getbasetemp()
    db = tmp / f"m{seed}.db"
    if rng.random() < 0.5:
        db.write_bytes(byte_mutants(store.read_bytes(), rng))
    else:  # a structurally valid database with hostile cell values
        db.write_bytes(store.read_bytes())
        with contextlib.closing(sqlite3.connect(db)) as con:
            tables = [r[0] for r in con.execute(
                "select name from sqlite_master where type='table'")]
            table = rng.choice(tables)
            cols = [r[1] for r in con.execute(f"pragma table_info({table})")]
            col = rng.choice(cols)
            value = rng.choice((None, -1, 2**62, 1.5, "", "x", "{", "[]", '{"a":1}',
                                "\x1b[2J", "null", "1e400", "NaN", b"\xff\xfe", "[" * 10000))
            with contextlib.suppress(sqlite3.Error):  # a column that refuses the type
                con.execute(f"update {table} set {col} = ?", (value,))
                con.commit()
    TRIED["store"] += 1
    for args in (("history", "--store", str(db)), ("diff", "--store", str(db)),
                 ("scan", str(MINIMAL), "--store", str(db), "--format", "json")):
        outcome(args, f"store seed {seed} {args[0]}", terminal_text=args[0] == "history")


TF_DIR = ROOT / "fixtures" / "terraform" / "tf-aws"
TF_PLAN = ROOT / "fixtures" / "terraform" / "aws-modules.plan.json"


@budget(10)
@given(seed=st.integers(0, 2**32))
def test_tf_dir_mutants_fail_cleanly(tmp_path_factory: pytest.TempPathFactory,
                                     seed: int) -> None:
    import shutil
    rng = random.Random(seed)
    tmp = tmp_path_factory.getbasetemp() / f"tf-{seed}"
    shutil.copytree(TF_DIR, tmp)
    files = sorted(tmp.rglob("*.tf"))
    victim = rng.choice(files)
    victim.write_bytes(byte_mutants(victim.read_bytes(), rng))
    TRIED["tf-dir"] += 1
    try:
        outcome(("scan", str(TF_PLAN), "--tf-dir", str(tmp), "--format",
                 rng.choice(("json", "sarif")), "--no-timestamps"), f"tf-dir seed {seed}")
    finally:
        shutil.rmtree(tmp)


# --- a sample in a child process (real stdio, real exit status) -------------------------------


def test_a_sample_of_mutants_in_a_child_process_exits_cleanly(tmp_path: Path) -> None:
    rng = random.Random("child")
    cases: list[tuple[Path, str]] = []
    for i, mutant in zip(range(2), mutants(snapshot_bases()[0], rng, snapshot_paths(0, False),
                                           heavy=False), strict=False):
        path = tmp_path / f"c{i}.json"
        path.write_bytes(sealed_text(mutant.doc, 1 + i % 2))
        cases.append((path, mutant.label))
    for path, label in cases:
        done = subprocess.run([sys.executable, "-m", "scanner.cli", "scan", str(path),
                               "--format", "table"], capture_output=True, text=True,
                              timeout=60, cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        assert done.returncode in (0, 1, 2, 3), (label, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout, (label, done.stderr)
        if done.returncode == 2:
            assert len(done.stderr.strip().splitlines()) == 1, (label, done.stderr)


# --- regressions: each shape the fuzzing found, named ----------------------------------------

SERVERS = ("sections", 0, "collections", "servers", "global")
FIREWALLS = ("sections", 0, "collections", "firewalls", "global")


def minimal_mutant(tmp: Path, path: tuple[Any, ...], value: Any, version: int = 2) -> Path:
    from tests.fuzz_mutations import delete_at, set_at
    doc = json.loads(MINIMAL.read_text())
    doc = delete_at(doc, path) if value is DELETE else set_at(doc, path, value)
    out = tmp / "mutant.json"
    out.write_bytes(sealed_text(doc, version))
    return out


DELETE = object()


def isolated(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str],
             touched: tuple[str, ...]) -> list[str]:
    """What is wrong with `after` for a mutation of the objects `touched` names (substrings
    of resource ids): a verdict that was fail or error and is pass, a verdict of another
    resource that changed, or none of the touched resources' verdicts turned `error`."""
    problems = [f"{k}: {s} -> pass" for k, s in before.items()
                if s in ("fail", "error") and after.get(k) == "pass"]
    mine = [k for k in before if any(t in k[1] for t in touched)]
    problems += [f"{k}: {s} -> {after.get(k)} (not a touched resource)"
                 for k, s in before.items() if k not in mine and after.get(k) != s]
    if not any(after.get(k) == "error" for k in mine):
        problems.append(f"no verdict of {touched} is error")
    return problems


@pytest.mark.parametrize(("path", "value", "server"), [
    ((*SERVERS, 0, "public_net"), [], "server/1"),  # a list where the object is
    ((*SERVERS, 0, "public_net"), 0, "server/1"),
    ((*SERVERS, 0, "public_net", "ipv4"), "203.0.113.10", "server/1"),  # no object
    ((*SERVERS, 0, "public_net", "firewalls"), {}, "server/1"),
    ((*SERVERS, 1, "backup_window"), 0, "server/2"),  # a number where "22-02" or null is
    ((*SERVERS, 1, "backup_window"), [], "server/2"),
    ((*SERVERS, 0, "private_net"), {"ip": "10.0.0.2"}, "server/1"),
])
def test_a_hetzner_server_field_of_another_type_makes_errors_of_that_server_only(
        tmp_path: Path, path: tuple[Any, ...], value: Any, server: str) -> None:
    """Was exit 2 for the whole scan: now the server is still judged, its verdicts are
    `error` (never a pass from a fail), every other verdict stands, and one warning line
    names the field and the type found (here in the error findings)."""
    before = statuses(outcome(("scan", str(MINIMAL), *SCAN[1:]), "minimal").stdout)
    result = outcome(("scan", str(minimal_mutant(tmp_path, path, value)), *SCAN[1:]),
                     f"{path} = {value!r}", ok=(0, 1, 3))
    assert not isolated(before, statuses(result.stdout), (server,))
    assert f"{path[-1]} (" in result.stdout  # the error findings name the field


@pytest.mark.parametrize("value", [None, DELETE])
def test_hetzner_firewall_rules_null_or_missing_never_close_an_open_server(
        tmp_path: Path, value: Any) -> None:
    """The API always lists a firewall's rules: null or missing was read as no rules (a
    firewall that denies everything), turning web-1's NET-02/NET-03 fails into passes."""
    path = minimal_mutant(tmp_path, (*FIREWALLS, 0, "rules"), value)
    before = statuses(outcome(("scan", str(MINIMAL), *SCAN[1:]), "minimal").stdout)
    after = statuses(outcome(("scan", str(path), *SCAN[1:]), "rules null").stdout)
    assert before[("NET-02", "hetzner:acme-demo/server/1")] == "fail"
    assert not unsafe_flips(before, after)


def test_a_config_command_key_that_is_not_a_table_is_one_line(tmp_path: Path) -> None:
    """`scan = true` (a key named after a command, not a [scan] table) crashed with a
    TypeError; `tool = 1` in a pyproject.toml too."""
    cfg = tmp_path / "posture.toml"
    cfg.write_text("scan = true\n")
    result = outcome(("--config", str(cfg), "scan", str(MINIMAL)), "scan = true")
    assert result.code == 2 and "'scan' must be a table" in result.stderr
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("tool = 1\n")
    result = outcome(("--config", str(pyproject), "scan", str(MINIMAL)), "tool = 1")
    assert result.code in (0, 1, 2)


def fixture_mutant(tmp: Path, fixture: str, path: tuple[Any, ...], value: Any) -> Path:
    from tests.fuzz_mutations import set_at
    doc = json.loads((ROOT / "fixtures" / fixture).read_text())
    out = tmp / "mutant.json"
    out.write_bytes(sealed_text(set_at(doc, path, value), 1))
    return out


def nsg_rules_path(name: str = "nsg-jump") -> tuple[Any, ...]:
    doc = json.loads((ROOT / "fixtures" / "azure" / "seed000-azure.json").read_text())
    nsgs = doc["sections"][0]["collections"]["Microsoft.Network/networkSecurityGroups"]
    for region, objs in nsgs.items():
        for i, nsg in enumerate(objs):
            if nsg["name"] == name and nsg["properties"].get("securityRules"):
                return ("sections", 0, "collections", "Microsoft.Network/networkSecurityGroups",
                        region, i, "properties", "securityRules")
    raise AssertionError(f"no NSG {name} with rules in seed 000")


@pytest.mark.parametrize("value", [{}, 0, "", False])
def test_an_azure_nsg_whose_security_rules_are_not_an_array_makes_errors_of_what_it_guards(
        tmp_path: Path, value: Any) -> None:
    """`securityRules: {}` (or 0, "", false) was read as no rules (vm-jump's NET-02/NET-03
    fails became passes), then refused the whole scan: now nsg-jump and vm-jump behind it
    are `error`, every other verdict stands."""
    before = base_fixture_statuses(tmp_path, "azure/seed000-azure.json")
    path = fixture_mutant(tmp_path, "azure/seed000-azure.json", nsg_rules_path(), value)
    result = outcome(("scan", str(path), *SCAN[1:]), f"securityRules = {value!r}",
                     ok=(0, 1, 3))
    after = statuses(result.stdout)
    assert not isolated(before, after, ("nsg-jump", "vm-jump"))
    jump = next(k for k in before if k[0] == "NET-02" and k[1].endswith("vm-jump"))
    assert before[jump] == "fail" and after[jump] == "error"


@pytest.mark.parametrize("value", [5, ["22"], None])
def test_an_azure_nsg_rule_port_of_another_type_makes_errors_of_the_vm_behind_it(
        tmp_path: Path, value: Any) -> None:
    """`destinationPortRange: 5` was read as the text "5"; `[...]` as its repr: the
    NSG's and its VM's verdicts are `error` now; `null` is simply absent (no change)."""
    before = base_fixture_statuses(tmp_path, "azure/seed000-azure.json")
    rule = (*nsg_rules_path(), 0, "properties", "destinationPortRange")
    path = fixture_mutant(tmp_path, "azure/seed000-azure.json", rule, value)
    after = statuses(outcome(("scan", str(path), *SCAN[1:]), f"port = {value!r}",
                             ok=(0, 1, 3)).stdout)
    if value is None:
        assert not [k for k, v in before.items() if after.get(k) == "pass" != v]
    else:
        assert not isolated(before, after, ("nsg-jump", "vm-jump"))


def test_an_nsg_in_front_of_a_gateway_makes_errors_of_the_gateway_and_its_backends(
        tmp_path: Path) -> None:
    """nsg-agw guards application gateway agw-web, which forwards to vm-app-1: with the
    NSG's rules unreadable both the gateway's and the backend's exposure verdicts are
    `error` (vm-app-1's NET-02 pass rested on the gateway's path; read as no rules it
    vanished), every other verdict stands."""
    before = base_fixture_statuses(tmp_path, "azure/seed000-azure.json")
    path = fixture_mutant(tmp_path, "azure/seed000-azure.json", nsg_rules_path("nsg-agw"), {})
    after = statuses(outcome(("scan", str(path), *SCAN[1:]), "nsg-agw rules {}",
                             ok=(0, 1, 3)).stdout)
    assert not isolated(before, after, ("nsg-agw", "agw-web", "vm-app-1"))
    app = next(k for k in before if k[0] == "NET-02" and k[1].endswith("vm-app-1"))
    assert before[app] == "pass" and after[app] == "error"


@cache
def fixture_statuses(fixture: str) -> dict[tuple[str, str], str]:
    """The statuses of a bundled fixture as it is (the snapshot itself, scanned once)."""
    path = MINIMAL if fixture == "minimal" else ROOT / "fixtures" / fixture
    return statuses(outcome(("scan", str(path), *SCAN[1:]), fixture, ok=(0, 1, 3)).stdout)


def assert_judged_with_errors(fixture: str, result: Any, field: str) -> None:
    """A wrong-typed field no longer refuses the scan (it did: exit 2): the scan goes on,
    the error findings name the field, some verdict became `error`, and no verdict that
    was fail or error is pass (scanner/quarantine.py)."""
    assert result.code != 2, result.stderr[-500:]
    assert f"{field} (" in result.stdout, f"{field} not named in the findings"
    before, after = fixture_statuses(fixture), statuses(result.stdout)
    assert not unsafe_flips(before, after)
    assert any(after.get(k) == "error" != s for k, s in before.items()) or any(
        s == "error" and k not in before for k, s in after.items())


def base_fixture_statuses(tmp: Path, fixture: str) -> dict[tuple[str, str], str]:
    doc = json.loads((ROOT / "fixtures" / fixture).read_text())
    out = tmp / "base.json"
    out.write_bytes(sealed_text(doc, 1))
    return statuses(outcome(("scan", str(out), *SCAN[1:]), fixture, ok=(0, 1, 3)).stdout)


def test_an_azure_allow_rule_with_an_unreadable_port_range_is_read_as_every_port() -> None:
    from providers.azure.normalize.nsg import _ports
    from scanner.rules import PortRange
    props = {"destinationPortRange": "443-22"}  # reversed: PortRange.parse refuses it
    assert _ports(props, "tcp", allow=True) == [PortRange(0, 65535)]
    assert _ports(props, "tcp", allow=False) == []


@pytest.mark.parametrize(("key", "value"), [("CidrBlock", 0), ("CidrBlock", []),
                                            ("Egress", "x"), ("Protocol", 0),
                                            ("RuleAction", [])])
def test_an_aws_network_acl_entry_of_another_type_makes_errors_of_what_it_filters(
        tmp_path: Path, key: str, value: Any) -> None:
    """An allow-all NACL entry whose CidrBlock, Egress, Protocol or RuleAction had another
    type was dropped (NET-07's fail on acl-...0001 became a pass), then refused the whole
    scan: now the NACL's verdicts and those of the resources in its subnets (their
    ingress) are `error`; nothing else changes."""
    entry = ("sections", 0, "collections", "ec2.describe_network_acls", "eu-central-1", 0,
             "Entries", 0)
    doc = json.loads((ROOT / "fixtures" / "aws" / "seed002-aws.json").read_text())
    assert get_at(doc, entry)["RuleAction"] == "allow"
    before = base_fixture_statuses(tmp_path, "aws/seed002-aws.json")
    path = fixture_mutant(tmp_path, "aws/seed002-aws.json", (*entry, key), value)
    result = outcome(("scan", str(path), *SCAN[1:]), f"{key} = {value!r}", ok=(0, 1, 3))
    after = statuses(result.stdout)
    nacl = ("NET-07", "arn:aws:ec2:eu-central-1:210987654321:network-acl/acl-0a1b2c3d4e5f60001")
    assert before[nacl] == "fail" and after[nacl] == "error"
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    assert all(new == "error" for _, new in changed.values()), changed
    assert all(":eu-central-1:" in k[1] for k in changed), changed  # its region only
    assert f"Entries[0].{key} (" in result.stdout


@pytest.mark.parametrize(("leaf", "value"), [(True, False), (True, 0), (True, []),
                                             (False, []), (False, "GeoRedundant")])
def test_an_azure_vault_redundancy_of_another_type_makes_errors_of_that_vault_only(
        tmp_path: Path, leaf: bool, value: Any) -> None:
    """`standardTierStorageRedundancy: false` was read as unset (rsv-chatty-uk's RES-02
    fail became a pass), then refused the whole scan: now that vault's verdicts are
    `error` and every other verdict stands."""
    path: tuple[Any, ...] = ("sections", 0, "collections", "Microsoft.RecoveryServices/vaults",
                             "uksouth", 0, "properties", "redundancySettings")
    if leaf:
        path = (*path, "standardTierStorageRedundancy")
    before = base_fixture_statuses(tmp_path, "azure/seed001-azure.json")
    mutant = fixture_mutant(tmp_path, "azure/seed001-azure.json", path, value)
    result = outcome(("scan", str(mutant), *SCAN[1:]), f"{path[-1]} = {value!r}",
                     ok=(0, 1, 3))
    assert not isolated(before, statuses(result.stdout), ("rsv-chatty-uk",))
    assert "redundancySettings" in result.stdout


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
def test_a_lone_surrogate_in_a_v2_snapshot_reaches_every_format_escaped(
        tmp_path: Path, fmt: str) -> None:
    """Version 2 digests the bytes, so `"\\ud800"` in a name passes the digest and reached
    the reports, where UTF-8 encoding crashed ("internal error: UnicodeEncodeError")."""
    path = minimal_mutant(tmp_path, (*SERVERS, 0, "public_net", "ipv4", "ip"),
                          "203.0.113.10\ud800", version=2)
    result = outcome(("scan", str(path), "--format", fmt, "--no-timestamps"), fmt,
                     ok=(0, 1))
    if fmt == "json":
        assert "\ud800" in json.dumps(json.loads(result.stdout), ensure_ascii=False)


@pytest.mark.parametrize("value", [[], 0, "x"])
def test_an_azure_properties_member_of_another_type_makes_errors_not_an_empty_vm(
        tmp_path: Path, value: Any) -> None:
    """`properties: []` on a VM was read as no properties (no network interfaces): vm-batch's
    NET-03 fail became a pass; a role assignment's or image version's the same class. Then
    the whole scan was refused; now that VM's verdicts are errors."""
    doc = json.loads((ROOT / "fixtures" / "azure" / "seed000-azure.json").read_text())
    vms = doc["sections"][0]["collections"]["Microsoft.Compute/virtualMachines"]
    region = next(r for r, objs in vms.items() if objs)
    path = ("sections", 0, "collections", "Microsoft.Compute/virtualMachines", region, 0,
            "properties")
    mutant = fixture_mutant(tmp_path, "azure/seed000-azure.json", path, value)
    result = outcome(("scan", str(mutant), *SCAN[1:]), f"properties = {value!r}",
                     ok=(0, 1, 3))
    assert_judged_with_errors("azure/seed000-azure.json", result, "properties")


@pytest.mark.parametrize(("member", "value"), [("GroupList", {}), ("GroupList", 0),
                                               ("AttachedManagedPolicies", {})])
def test_an_aws_iam_list_of_another_type_makes_errors_not_an_empty_list(
        tmp_path: Path, member: str, value: Any) -> None:
    """`GroupList: {}` (or a group's AttachedManagedPolicies) was read as empty: ops-alice's
    admin group vanished and IAM-02 failed -> passed. Then the whole scan was refused; now
    the verdicts it feeds are errors."""
    doc = json.loads((ROOT / "fixtures" / "generic" / "seed003" / "seed003-aws.json")
                     .read_text())
    regions = doc["sections"][0]["collections"]["iam.get_account_authorization_details"]
    region = next(r for r, objs in regions.items() if objs)
    details = "UserDetailList" if member == "GroupList" else "GroupDetailList"
    path = ("sections", 0, "collections", "iam.get_account_authorization_details", region, 0,
            details, 0, member)
    mutant = fixture_mutant(tmp_path, "generic/seed003/seed003-aws.json", path, value)
    result = outcome(("scan", str(mutant), *SCAN[1:]), f"{member} = {value!r}",
                     ok=(0, 1, 3))
    assert_judged_with_errors("generic/seed003/seed003-aws.json", result, member)


AZURE_VM = ("sections", 0, "collections", "Microsoft.Compute/virtualMachines", "northeurope", 0,
            "properties")
AZURE_NIC = ("sections", 0, "collections", "Microsoft.Network/networkInterfaces",
             "northeurope", 0, "properties")
AZURE_IMAGE = ("sections", 0, "collections",
               "Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions",
               "northeurope", 0, "properties", "imageDeprecationStatus")
AZURE_WRONG_TYPES = [  # (path under seed 000, value, the field the refusal names)
    ((*AZURE_VM, "networkProfile"), [], "networkProfile: expected an object"),
    ((*AZURE_VM, "networkProfile", "networkInterfaces"), {}, "networkInterfaces: expected an"),
    ((*AZURE_VM, "networkProfile", "networkInterfaces"), 0, "networkInterfaces: expected an"),
    ((*AZURE_NIC, "ipConfigurations"), {}, "ipConfigurations: expected an array"),
    ((*AZURE_NIC, "ipConfigurations", 0, "properties", "publicIPAddress"), 0,
     "publicIPAddress: expected an object"),
    ((*AZURE_NIC, "ipConfigurations", 0, "properties", "publicIPAddress", "id"), [],
     "publicIPAddress.id: expected a string"),
    (("sections", 0, "collections", "Microsoft.Network/publicIPAddresses", "northeurope", 0,
      "properties", "ipAddress"), 0, "ipAddress: expected a string"),
    (("sections", 0, "collections", "Microsoft.Authorization/roleAssignments", "global", 0,
      "properties", "scope"), [], "scope: expected a string"),
    (AZURE_IMAGE, [], "imageDeprecationStatus: expected an object"),
    ((*AZURE_IMAGE, "imageState"), 0, "imageState: expected a string"),
    (("sections", 0, "collections", "Microsoft.Storage/storageAccounts", "eastus", 0, "sku",
      "name"), [], "sku.name: expected a string"),
    (("sections", 0, "collections", "Microsoft.Storage/storageAccounts", "eastus", 0,
      "location"), 0, "location: expected a string"),
]


@pytest.mark.parametrize(("path", "value", "named"), AZURE_WRONG_TYPES,
                         ids=[f"{p[-1]}={v!r}" for p, v, _ in AZURE_WRONG_TYPES])
def test_an_azure_array_object_or_string_of_another_type_makes_errors_not_empty(
        tmp_path: Path, path: tuple[Any, ...], value: Any, named: str) -> None:
    """The `x.get(...) or []` / `or {}` / `lid(x.get(...))` class: a VM's `networkProfile: []`,
    its `networkInterfaces: {}`, a NIC's `ipConfigurations: {}`, `publicIPAddress: 0`, an
    address's `ipAddress: 0` were read as no public address (vm-batch's NET-03 fail ->
    pass); a role assignment's `scope: []` as no scope (IAM-02), an image's
    `imageDeprecationStatus: []` / `imageState: 0` as active (VUL-01), a storage account's
    `sku.name: []` as no redundancy (RES-02). Then exit 2 for the whole scan; now the
    object's verdicts (and what it feeds) are errors, the field named."""
    doc = json.loads((ROOT / "fixtures" / "azure" / "seed000-azure.json").read_text())
    get_at(doc, path)  # the path exists in the fixture
    mutant = fixture_mutant(tmp_path, "azure/seed000-azure.json", path, value)
    result = outcome(("scan", str(mutant), *SCAN[1:]), f"{path[-1]} = {value!r}",
                     ok=(0, 1, 3))
    assert_judged_with_errors("azure/seed000-azure.json", result,
                              named.split(":")[0].split(".")[-1])


@pytest.mark.parametrize("path", [p for p, _, _ in AZURE_WRONG_TYPES[::3]],
                         ids=[p[-1] for p, _, _ in AZURE_WRONG_TYPES[::3]])
def test_an_azure_array_object_or_string_that_is_null_keeps_its_meaning(
        tmp_path: Path, path: tuple[Any, ...]) -> None:
    """Null (ARM omits or nulls optional members) is still read as absent, never refused."""
    mutant = fixture_mutant(tmp_path, "azure/seed000-azure.json", path, None)
    outcome(("scan", str(mutant), *SCAN[1:]), f"{path[-1]} = null", ok=(0, 1))


AWS_COLLECTIONS = ("sections", 0, "collections")
AWS_WRONG_TYPES = [  # (path under seed 002's eu-central-1, value, the field the refusal names)
    (("lambda.list_functions", 0, "PostureFlaggedFields"), {}, "PostureFlaggedFields"),
    (("ec2.describe_security_groups", 2, "IpPermissions"), {}, "IpPermissions"),
    (("ec2.describe_security_groups", 2, "IpPermissions", 0, "IpRanges"), 0, "IpRanges"),
    (("ec2.describe_instances", 0, "Instances"), {}, "Instances"),
    (("s3.get_bucket_encryption", 0, "response", "ServerSideEncryptionConfiguration"), [],
     "ServerSideEncryptionConfiguration"),
    (("s3.get_bucket_encryption", 0, "response", "ServerSideEncryptionConfiguration",
      "Rules"), {}, "Rules"),
]


@pytest.mark.parametrize(("where", "value", "named"), AWS_WRONG_TYPES,
                         ids=[f"{w[-1]}={v!r}" for w, v, _ in AWS_WRONG_TYPES])
def test_an_aws_array_or_structure_of_another_type_makes_errors_not_empty(
        tmp_path: Path, where: tuple[Any, ...], value: Any, named: str) -> None:
    """The `x.get(...) or []` / `or {}` class in the AWS normalizer: a function's
    `PostureFlaggedFields: {}` was read as no secrets (SEC-01 fail -> pass), a security
    group's `IpPermissions: {}` (or a permission's `IpRanges: 0`) as no open port, a
    reservation's `Instances: {}` as no instance, a bucket's encryption configuration of
    another type as no rule. Then exit 2 for the whole scan; now errors, naming the
    field."""
    path = (*AWS_COLLECTIONS, where[0], "eu-central-1", *where[1:])
    doc = json.loads((ROOT / "fixtures" / "aws" / "seed002-aws.json").read_text())
    get_at(doc, path)  # the path exists in the fixture
    mutant = fixture_mutant(tmp_path, "aws/seed002-aws.json", path, value)
    result = outcome(("scan", str(mutant), *SCAN[1:]), f"{where[-1]} = {value!r}",
                     ok=(0, 1, 3))
    assert_judged_with_errors("aws/seed002-aws.json", result, named)


@pytest.mark.parametrize("where", [w for w, _, _ in AWS_WRONG_TYPES],
                         ids=[w[-1] for w, _, _ in AWS_WRONG_TYPES])
def test_an_aws_array_or_structure_that_is_null_keeps_its_meaning(
        tmp_path: Path, where: tuple[Any, ...]) -> None:
    """Null (botocore leaves out, some bodies null, an optional member) is still read as
    absent, never refused."""
    path = (*AWS_COLLECTIONS, where[0], "eu-central-1", *where[1:])
    mutant = fixture_mutant(tmp_path, "aws/seed002-aws.json", path, None)
    outcome(("scan", str(mutant), *SCAN[1:]), f"{where[-1]} = null", ok=(0, 1))


@pytest.mark.parametrize("value", [0, []])
def test_a_hetzner_public_address_that_is_not_a_string_makes_errors_not_dropped(
        tmp_path: Path, value: Any) -> None:
    """`public_net.ipv4.ip: 0` (or []) was read as no address: web-1's NET-02 fail became a
    pass. Then exit 2 for the whole scan; now web-1's verdicts are errors."""
    path = minimal_mutant(tmp_path, (*SERVERS, 0, "public_net", "ipv4", "ip"), value)
    result = outcome(("scan", str(path), *SCAN[1:]), f"ipv4.ip = {value!r}", ok=(0, 1, 3))
    assert_judged_with_errors("minimal", result, "ip")


@pytest.mark.parametrize("value", [0, "0"])
def test_a_hetzner_firewall_port_zero_is_read_as_every_port_not_as_port_zero(
        tmp_path: Path, value: Any) -> None:
    """Hetzner ports are 1-65535: a rule's `port: 0` was read as port 0 alone, which closed
    the port 22 that rule opens (web-1's NET-02 fail -> pass). Now, as any port that is not
    one, it is read as every port with a doubt."""
    doc = json.loads(MINIMAL.read_text())
    path = (*FIREWALLS, 0, "rules", 1, "port")
    assert get_at(doc, path) == "22"
    before = statuses(outcome(("scan", str(MINIMAL), *SCAN[1:]), "minimal").stdout)
    after = statuses(outcome(("scan", str(minimal_mutant(tmp_path, path, value)), *SCAN[1:]),
                             f"port = {value!r}", ok=(0, 1)).stdout)
    assert before[("NET-02", "hetzner:acme-demo/server/1")] == "fail"
    assert not unsafe_flips(before, after)
