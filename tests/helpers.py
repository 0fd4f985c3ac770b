"""Shared test helpers: run the real CLI in-process, paths of the bundled fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from scanner.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEED002 = ROOT / "fixtures" / "hetzner" / "seed002-hetzner.json"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """The real `posture` command, in-process; exceptions are not swallowed by the runner."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def scan_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("scan", *args, "--format", "json", "--no-timestamps")
    return result.exit_code, json.loads(result.stdout)


def verdicts(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["check"], f["resource"], f["status"]) for f in doc["findings"]}

