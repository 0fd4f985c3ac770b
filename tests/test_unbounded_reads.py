"""Issue 15 item 5: every path a user names goes through scanner.inputs (regular files only,
size-limited): a key, a token file or a *.tf that is /dev/zero or a FIFO is one line and
exit 2, never unbounded memory or a hang. Run as a subprocess with a timeout: the old code
hangs on a FIFO."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, SEED002

PLAN = ROOT / "fixtures" / "terraform" / "hcloud-gate.plan.json"


def posture(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full.pop("HCLOUD_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "scanner.cli", *args], env=full,
                          capture_output=True, text=True, timeout=120, check=False)


def fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def one_line_exit_2(result: subprocess.CompletedProcess[str], needle: str = "") -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_verify_key_is_a_regular_file(tmp_path: Path, kind: str) -> None:
    key = fifo(tmp_path, "k.pub") if kind == "fifo" else Path("/dev/zero")
    one_line_exit_2(posture("verify", str(SEED002), "--key", str(key)), str(key))


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_sign_key_is_a_regular_file(tmp_path: Path, kind: str) -> None:
    key = fifo(tmp_path, "k") if kind == "fifo" else Path("/dev/zero")
    result = posture("record", str(SEED002), "-o", str(tmp_path / "o.json"), "--sign", str(key))
    one_line_exit_2(result, str(key))


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_hetzner_token_file_is_a_regular_file(tmp_path: Path, kind: str) -> None:
    token = fifo(tmp_path, "token") if kind == "fifo" else Path("/dev/zero")
    result = posture("scan", "hetzner", "--hetzner-token-file", str(token),
                     env={"HCLOUD_ENDPOINT": "http://127.0.0.1:9"})
    one_line_exit_2(result, "--hetzner-token-file")


def test_a_fifo_named_tf_in_a_configuration_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "tf"
    folder.mkdir()
    fifo(folder, "main.tf")
    one_line_exit_2(posture("scan", str(folder)), "main.tf")


def test_a_fifo_named_tf_under_tf_dir_does_not_hang(tmp_path: Path) -> None:
    folder = tmp_path / "tf"
    folder.mkdir()
    fifo(folder, "main.tf")
    result = posture("scan", str(PLAN), "--tf-dir", str(folder), "--format", "json")
    assert result.returncode in (0, 1, 2), result.stderr  # no hang: file locations are
    assert "Traceback" not in result.stderr  # optional, the unreadable file is skipped


def test_a_huge_size_limit_in_the_environment_is_not_an_allocation(tmp_path: Path) -> None:
    """POSTURE_MAX_RESULTS_BYTES / POSTURE_MAX_SNAPSHOT_BYTES of 2**40: a limit, not a buffer
    (the reader once asked for limit + 1 bytes at once: MemoryError, a traceback)."""
    huge = {"POSTURE_MAX_RESULTS_BYTES": str(2**40), "POSTURE_MAX_SNAPSHOT_BYTES": str(2**40)}
    results = tmp_path / "r.json"
    scanned = posture("scan", str(SEED002), "--format", f"json:{results}", env=huge)
    assert scanned.returncode == 1, scanned.stderr
    again = posture("report", str(results), "--format", "sarif", env=huge)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr


def test_a_file_is_read_whole_and_a_file_over_the_limit_refused(tmp_path: Path) -> None:
    from scanner.inputs import TooLarge, read_regular

    path = tmp_path / "f"
    for size in (0, 1, 4096, 3 * 1024**2 + 7):
        data = os.urandom(size)
        path.write_bytes(data)
        assert read_regular(path, size) == data
        assert read_regular(path, 2**40) == data
        if size:
            with pytest.raises(TooLarge):
                read_regular(path, size - 1)
