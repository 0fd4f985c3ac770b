"""Snapshots of hostile size are refused quickly, with a clear message, in bounded memory.

- JSON nested far deeper than any API answer: refused ("nested too deeply") wherever it sits,
  including the depths just under the interpreter's recursion limit, where parsing succeeds
  and only hashing or rendering would run out of stack.
- a gzip bomb (10 GiB of zeros in about 10 MB): refused by the decompression limit, counted
  without being kept, so the child process stays far under 600 MB of peak RSS.
- a file over the limit (a sparse 2 GiB + 1 byte file, no disk cost): refused from its size
  before a byte is read.
- huge single strings (16 MiB in one label or name): read and judged in bounded time.
- the limit is configurable: POSTURE_MAX_SNAPSHOT_BYTES.

Peak RSS is the CLI process's own ru_maxrss from wait4(), started from a small launcher (a
process forked from the test process would count the test process's memory too).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from scanner import snapshot
from tests.helpers import ROOT, SEED002, run

GiB = 1024**3
RSS_CEILING_MIB = 600


# Runs the command given in argv and reports its exit code, stderr, time and peak RSS. A
# child's ru_maxrss counts the memory of the process it was forked from (Linux keeps the
# high-water mark across exec), so the command is started from this small launcher, never
# directly from the (large) test process.
LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = proc.stderr.read()
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps({"code": proc.returncode, "stderr": err.decode("utf-8", "replace"),
                  "seconds": time.perf_counter() - started, "rss_kib": usage.ru_maxrss}))
"""


def posture_child(*args: str, env: dict[str, str] | None = None, timeout: float = 120
                  ) -> tuple[int, str, float, float]:
    """(exit code, stderr, seconds, peak RSS MiB) of `python -m scanner.cli ARGS`."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, "-m", "scanner.cli",
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          check=True)
    got = json.loads(done.stdout)
    return got["code"], got["stderr"], got["seconds"], got["rss_kib"] / 1024  # Linux: KiB


def assert_refused(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("posture: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    for needle in needles:
        assert needle in err, err


def seed_doc() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SEED002.read_text())
    return loaded


def sealed(doc: dict[str, Any], path: Path) -> Path:
    doc["digest"]["value"] = snapshot.digest_of(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# --- deep nesting -----------------------------------------------------------------------------


def test_deeply_nested_json_is_refused_fast_in_a_child_process(tmp_path: Path) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    top = tmp_path / "top.json"
    top.write_text(deep)
    inner = tmp_path / "inner.json"
    inner.write_text(SEED002.read_text().replace('"labels": {', f'"deep": {deep}, "labels": {{',
                                                  1))
    for path in (top, inner):
        code, err, seconds, rss = posture_child("verify", str(path))
        assert_refused(code, err, "nested too deeply")
        assert seconds < 10 and rss < RSS_CEILING_MIB, (seconds, rss)


def test_nesting_just_under_the_recursion_limit_is_refused_or_read_never_a_crash(
        tmp_path: Path) -> None:
    """Depths where json.loads still succeeds but hashing the snapshot (deeper in the stack)
    would not: every one is either read or refused as nested too deeply."""
    text = SEED002.read_text()
    outcomes = set()
    for depth in range(880, 1000, 4):
        deep = "[" * depth + "]" * depth
        path = tmp_path / f"d{depth}.json"
        path.write_text(text.replace('"labels": {', f'"deep": {deep}, "labels": {{', 1))
        sealed_run = run("seal", str(path), "-o", str(path))
        for result in (sealed_run, run("verify", str(path)),
                       run("scan", str(path), "--format", "json", "--no-timestamps")):
            out = result.stdout + result.stderr
            assert "internal error" not in out and "Traceback" not in out, (depth, out)
            assert result.exit_code in (0, 1, 2), (depth, out)
            if result.exit_code == 2:
                assert result.stderr.strip().count("\n") == 0, (depth, out)
            outcomes.add(result.exit_code)
    assert outcomes >= {0, 2}  # the sweep crosses from readable to refused


# --- gzip bomb --------------------------------------------------------------------------------


def gzip_bomb(path: Path, gib: int = 10) -> int:
    """`gib` GiB of zeros as gzip, written without ever holding them: one member of 16 MiB of
    zeros, compressed once, repeated (gzip allows concatenated members)."""
    member = gzip.compress(bytes(16 * 1024**2), compresslevel=9, mtime=0)
    with path.open("wb") as fh:
        for _ in range(gib * 64):
            fh.write(member)
    return path.stat().st_size


def test_gzip_bomb_is_refused_by_the_decompression_limit_in_bounded_memory(
        tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"
    size = gzip_bomb(bomb)
    assert size < 30 * 1024**2  # ~10 GiB of zeros in ~10-20 MB
    code, err, seconds, rss = posture_child("verify", str(bomb))
    assert_refused(code, err, "decompresses to more than the 2147483648 byte limit")
    print(f"\ngzip bomb: {size / 1024**2:.1f} MiB -> 10 GiB; refused in {seconds:.1f} s, "
          f"peak RSS {rss:.0f} MiB")
    assert rss < RSS_CEILING_MIB, rss
    assert seconds < 60, seconds
    # with a lower limit, sooner; and as a results file (`posture report`)
    lower = {"POSTURE_MAX_SNAPSHOT_BYTES": "100000000"}
    code, err, seconds, _ = posture_child("verify", str(bomb), env=lower)
    assert_refused(code, err, "decompresses to more than the 100000000 byte limit")
    assert seconds < 15
    code, err, _, rss = posture_child("report", str(bomb), env=lower)
    assert_refused(code, err, "decompresses to more than")
    assert rss < RSS_CEILING_MIB, rss


def test_a_single_stream_bomb_is_refused_too(tmp_path: Path) -> None:
    """One deflate stream (not concatenated members): 512 MiB of zeros, limit 100 MB."""
    bomb = tmp_path / "one-stream.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    block = bytes(64 * 1024**2)
    with bomb.open("wb") as fh:
        for _ in range(8):
            fh.write(packer.compress(block))
        fh.write(packer.flush())
    code, err, _, rss = posture_child("verify", str(bomb),
                                      env={"POSTURE_MAX_SNAPSHOT_BYTES": "100000000"})
    assert_refused(code, err, "decompresses to more than")
    assert rss < RSS_CEILING_MIB, rss


# --- files over the limit ---------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as fh:
        fh.truncate(2 * GiB + 1)  # sparse: no disk blocks
    code, err, seconds, rss = posture_child("verify", str(big))
    assert_refused(code, err, "2147483649 bytes, larger than the 2147483648 byte limit",
                   "POSTURE_MAX_SNAPSHOT_BYTES")
    print(f"\n2 GiB + 1 sparse file: refused in {seconds:.2f} s, peak RSS {rss:.0f} MiB")
    assert rss < 200 and seconds < 10, (rss, seconds)  # nothing of it was read
    for args in (("scan", str(big)), ("seal", str(big))):
        result = run(*args)  # in-process: refused from the size, so nothing is allocated
        assert_refused(result.exit_code, result.stderr, "larger than the 2147483648 byte limit")
    # results files: four times the snapshot limit, so `report` reads what `scan` writes
    huge = tmp_path / "huge.json"
    with huge.open("wb") as fh:
        fh.truncate(8 * GiB + 1)
    result = run("report", str(huge))
    assert_refused(result.exit_code, result.stderr, "larger than the 8589934592 byte limit")
    assert "POSTURE_MAX_RESULTS_BYTES" in result.stderr


def test_the_limit_is_configurable(tmp_path: Path) -> None:
    packed = tmp_path / "seed.json.gz"
    packed.write_bytes(gzip.compress(SEED002.read_bytes()))
    small = {"POSTURE_MAX_SNAPSHOT_BYTES": "10000"}
    result = run("verify", str(SEED002), env=small)
    assert result.exit_code == 2 and "larger than the 10000 byte limit" in result.stderr
    result = run("verify", str(packed), env=small)  # < 10000 bytes packed, ~38 KB inside
    assert result.exit_code == 2 and "decompresses to more than the 10000" in result.stderr
    assert run("verify", str(packed), env={"POSTURE_MAX_SNAPSHOT_BYTES": "1000000"}
               ).exit_code == 0
    for bad in ("0", "-5", "2GB", "lots"):
        result = run("verify", str(SEED002), env={"POSTURE_MAX_SNAPSHOT_BYTES": bad})
        assert result.exit_code == 2, bad
        assert "POSTURE_MAX_SNAPSHOT_BYTES" in result.stderr and "positive number" in (
            result.stderr)


# --- huge strings -----------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "fmt"), [("label value", "json"), ("label key", "json"),
                                           ("name", "table")])
def test_huge_single_strings_are_read_in_bounded_time(tmp_path: Path, where: str,
                                                      fmt: str) -> None:
    huge = "x" * (16 * 1024**2)
    doc = seed_doc()
    server = doc["sections"][0]["collections"]["servers"]["global"][0]
    if where == "label value":
        server["labels"]["note"] = huge
    elif where == "label key":
        server["labels"][huge] = "1"
    else:
        server["name"] = huge
    path = sealed(doc, tmp_path / "huge.json")
    code, err, seconds, rss = posture_child("scan", str(path), "--format", fmt,
                                            "--no-timestamps", timeout=180)
    assert code == 1, err
    assert seconds < 60, seconds
    assert rss < 1024, rss  # a few copies of 16 MiB, not a blow-up


def test_a_huge_number_is_refused_not_a_crash(tmp_path: Path) -> None:
    """Python refuses integers of more than 4300 digits (a ValueError json does not wrap)."""
    text = SEED002.read_text().replace('"id": 101', '"id": ' + "9" * 5000, 1)
    path = tmp_path / "number.json"
    path.write_text(text)
    result = run("verify", str(path))
    assert result.exit_code == 2 and "not valid JSON" in result.stderr, result.stderr
    results = tmp_path / "results.json"
    results.write_text('{"format": "posture-result", "version": ' + "1" * 5000 + "}")
    result = run("report", str(results))
    assert result.exit_code == 2 and "not valid JSON" in result.stderr, result.stderr


@pytest.mark.parametrize("name", ["POSTURE_AWS_WORKERS", "POSTURE_AWS_PAGE_SIZE"])
@pytest.mark.parametrize("value", ["abc", "0", "-3", "2.5"])
def test_a_bad_aws_count_setting_is_one_line_before_any_call(name: str, value: str) -> None:
    """$POSTURE_AWS_WORKERS went through int(): 'abc' was an internal ValueError and 0 a
    pool that cannot start; $POSTURE_AWS_PAGE_SIZE failed every paged call later. Now one
    line and exit 2, before any call is made (the endpoint here answers nothing)."""
    env = {name: value, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "example", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    result = run("scan", "aws", "--regions", "eu-central-1", env=env)
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"posture: {name} must be a whole number of at least 1, "
                                     f"not {value!r}")


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf"])
def test_a_bad_fleet_retry_backoff_is_a_usage_error_not_a_crash(value: str) -> None:
    """$POSTURE_FLEET_RETRY_BACKOFF went through float(): 'abc' was an internal ValueError,
    and nan or -1 a backoff no worker can wait."""
    import click

    from scanner.fleet.commands import _backoff
    with pytest.raises(click.UsageError, match="POSTURE_FLEET_RETRY_BACKOFF must be a number"):
        _backoff(value)
    assert _backoff(None) == 2.0 and _backoff("0.5") == 0.5
