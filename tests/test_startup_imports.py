"""Start-up (issue 19 target 3): `posture checks` imports only what listing the checks needs.

What a command does not use (the scan engine, the renderers, snapshots' signatures and
cryptography, results files, diffs, the history store, the cloud SDKs) is imported by the
commands that use it. Timing belongs to bench/bench_startup.py; this test pins the cause,
which does not depend on how busy the machine is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NOT_AT_START = (
    "scanner.engine", "scanner.signing", "scanner.result", "scanner.diff", "scanner.history",
    "scanner.suppressions", "scanner.reports.html", "scanner.reports.junit",
    "scanner.reports.sarif", "scanner.reports.json_report", "scanner.reports.csv_report",
    "scanner.reports.ocsf", "scanner.reports.markdown", "scanner.reports.table",
    "cryptography", "jsonschema", "sqlalchemy", "boto3", "botocore", "azure", "hcloud",
    "networkx", "weasyprint", "celery", "redis", "jinja2", "xml.etree.ElementTree",
    "scanner.snapshot", "msgspec", "orjson",
)

PROGRAM = """
import json, sys
from scanner.cli import main
sys.argv = ["posture", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
sys.__stderr__.write(json.dumps(sorted(sys.modules)))
"""


def modules_after(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROGRAM, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def heavy(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded
                  if any(m == name or m.startswith(name + ".") for name in NOT_AT_START))


def test_listing_the_checks_imports_no_engine_renderer_crypto_or_sdk() -> None:
    loaded = modules_after("checks")
    assert "checks.network" in loaded  # the checks were loaded and listed
    assert heavy(loaded) == []


def test_help_imports_no_engine_renderer_crypto_or_sdk() -> None:
    assert heavy(modules_after("--help")) == []


def test_a_scan_still_imports_what_it_uses() -> None:
    """The other side: the lazy imports happen (a scan renders through the registry)."""
    loaded = modules_after("scan", "fixtures/hetzner/seed002-hetzner.json", "--format", "sarif",
                           "-o", "/dev/null")
    assert {"scanner.engine", "scanner.reports.sarif", "scanner.result"} <= loaded
