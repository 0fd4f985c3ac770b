"""Issue 15 item 1: a config file found in the working directory (an untrusted checkout) may
set output options only; what runs code or weakens the gate comes from --config or flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner import config
from scanner.errors import PostureError
from tests.helpers import ROOT, SEED002, findings_of, run

EVIL_CHECK = '''
from pathlib import Path
Path(__file__).with_name("PWNED").write_text("code from the checkout ran")
'''


def hostile_checkout(tmp_path: Path, table: str, pyproject: bool = False) -> Path:
    """A pull request's checkout: a checks folder and a config file that uses it."""
    checkout = tmp_path / "checkout"
    (checkout / "evil").mkdir(parents=True)
    (checkout / "evil" / "evil.py").write_text(EVIL_CHECK)
    if pyproject:
        (checkout / "pyproject.toml").write_text(f'[project]\nname = "x"\n[tool.posture]\n{table}')
    else:
        (checkout / "posture.toml").write_text(table)
    return checkout


def posture(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "scanner.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("pyproject", [False, True])
def test_discovered_config_cannot_run_code_or_open_the_gate(tmp_path: Path,
                                                            pyproject: bool) -> None:
    checkout = hostile_checkout(
        tmp_path, 'checks-dir = ["evil"]\nfail-on = "none"\n', pyproject)
    result = posture("scan", str(SEED002), "--format", "json", cwd=checkout)
    assert not (checkout / "evil" / "PWNED").exists()
    assert result.returncode == 2, result.stderr  # refused, never exit 0
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "may set output options only" in result.stderr
    assert "--config" in result.stderr


@pytest.mark.parametrize("table", [
    'fail-on = "none"\n', "allow-partial = true\n", 'suppressions = "accepted.toml"\n',
    'checks = "TLS-02"\n', 'profile = "lenient.toml"\n', 'key = "attacker.pub"\n',
    'store = "postgresql://attacker.example/db"\n', "[scan]\nonly-new = true\n",
    'azure-arm-endpoint = "https://attacker.example"\n', 'hetzner-token-file = "t"\n',
])
def test_discovered_config_may_not_weaken_a_verdict(tmp_path: Path, table: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = hostile_checkout(tmp_path, table)
    monkeypatch.chdir(checkout)
    result = run("scan", str(SEED002), "--format", "json")
    assert result.exit_code == 2
    assert "may set output options only" in result.stderr


def test_discovered_config_sets_output_options_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = hostile_checkout(tmp_path, 'format = ["json", "sarif:out/posture.sarif"]\n'
                                          "no-timestamps = true\n")
    (checkout / "out").mkdir()
    monkeypatch.chdir(checkout)
    result = run("scan", str(SEED002))
    assert result.exit_code == 1  # the default gate
    assert findings_of(json.loads(result.stdout))
    assert (checkout / "out" / "posture.sarif").stat().st_size > 0
    lines = [line for line in result.stderr.splitlines() if "config" in line]
    assert len(lines) == 1 and lines[0].startswith("posture: config ")
    assert lines[0].endswith("posture.toml (found in the working directory: output options "
                             "only)")


@pytest.mark.parametrize("target", ["/tmp/x.sarif", "../outside.sarif", "~/.bashrc"])
def test_discovered_config_writes_only_below_its_folder(tmp_path: Path, target: str) -> None:
    checkout = hostile_checkout(tmp_path, f'format = ["sarif:{target}"]\n')
    with pytest.raises(PostureError, match="may only name files below that folder"):
        config.find(cwd=checkout)
    checkout2 = hostile_checkout(tmp_path / "2", f'output = "{target}"\n')
    with pytest.raises(PostureError, match="may only name files below that folder"):
        config.find(cwd=checkout2)


def test_explicit_config_is_trusted_and_named(tmp_path: Path) -> None:
    checkout = hostile_checkout(tmp_path, 'fail-on = "none"\n')
    result = run("--config", str(checkout / "posture.toml"), "scan", str(SEED002),
                 "--format", "json")
    assert result.exit_code == 0  # the operator chose to trust it
    assert f"posture: config {checkout / 'posture.toml'}" in result.stderr


def test_no_config_ignores_a_discovered_file(tmp_path: Path) -> None:
    checkout = hostile_checkout(tmp_path, 'checks-dir = ["evil"]\nfail-on = "none"\n')
    result = posture("--no-config", "scan", str(SEED002), "--format", "json", cwd=checkout)
    assert result.returncode == 1, result.stderr  # defaults: the gate closes
    assert "config" not in result.stderr
    assert not (checkout / "evil" / "PWNED").exists()
    both = posture("--no-config", "--config", "posture.toml", "checks", cwd=checkout)
    assert both.returncode == 2
