"""Shared test helpers: run the real CLI in-process, paths of the bundled fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from scanner.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEED002 = ROOT / "fixtures" / "hetzner" / "seed002-hetzner.json"

# Plans built in tests (fixtures/terraform/build_plans.py): the AWS provider configuration
# and the timestamp they share
PLAN_AWS = {"aws": {"name": "aws", "expressions": {"region": {"constant_value": "eu-central-1"}}}}
PLAN_STAMP = "2026-12-06T12:00:00Z"


def write_plan(tmp_path: Path, doc: dict[str, Any], name: str = "plan.json") -> Path:
    """`doc` written as a plan file in `tmp_path`."""
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """The real `posture` command, in-process; exceptions are not swallowed by the runner."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def scan_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("scan", *args, "--format", "json", "--no-timestamps")
    return result.exit_code, json.loads(result.stdout)


def findings_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of a results document as flat objects (format 1's shape): format 2's
    rows resolved through its tables (docs/output-formats.md#json); anything else (format 1,
    fleet JSON's `result`) as it is."""
    if doc.get("version") != 2:
        found: list[dict[str, Any]] = doc["findings"]
        return found
    from scanner.result_tables import decode

    return [f.to_json() for f in decode(doc, "results")]


def as_format_1(doc: dict[str, Any]) -> dict[str, Any]:
    """A results document in format 1 (flat findings), as posture wrote it before format 2."""
    from scanner.result import ScanResult

    flat: dict[str, Any] = ScanResult.from_json(doc).to_json(timestamps="started_at" in doc)
    return json.loads(json.dumps(flat))  # type: ignore[no-any-return]


def claims_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims of a results document with their `findings` as ids (format 2 names the
    findings of the report by index into its findings table)."""
    if doc.get("version") != 2:
        found: list[dict[str, Any]] = doc["claims"]
        return found
    from scanner.result_tables import claims_by_id, decode

    resolved: list[dict[str, Any]] = claims_by_id(doc["claims"], decode(doc, "results"),
                                                  "results")
    return resolved


def verdicts(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["check"], f["resource"], f["status"]) for f in findings_of(doc)}



CALLS_START, CALLS_END = "<!-- calls-per-check: start -->", "<!-- calls-per-check: end -->"


def assert_doc_table(doc: Path, table: str) -> None:
    """The generated table between the calls-per-check markers of `doc` is `table`
    (POSTURE_WRITE_DOCS=1 rewrites it)."""
    import os
    text = doc.read_text()
    head, rest = text.split(CALLS_START + "\n", 1)
    _, tail = rest.split(CALLS_END, 1)
    wanted = f"{head}{CALLS_START}\n{table}\n{CALLS_END}{tail}"
    if os.environ.get("POSTURE_WRITE_DOCS") == "1":
        doc.write_text(wanted)
    assert text == wanted
