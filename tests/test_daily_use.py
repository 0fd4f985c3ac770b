"""Daily use as a newcomer meets it (issue 17): the nightly cron's first night, quiet nights,
one-line usage errors, suppressions that match nothing or expired, what a check reads on
every provider."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, SEED002, claims_of, findings_of, run
from tests.test_workflows_cli import next_day_snapshot

# --- the nightly cron ------------------------------------------------------------------


def test_first_since_last_on_an_empty_store_is_the_baseline(tmp_path: Path) -> None:
    store = str(tmp_path / "h.sqlite")
    first = run("scan", str(SEED002), "--since", "last", "--store", store, "--format", "json")
    assert first.exit_code == 1  # --fail-on low as usual: the estate has failures
    doc = json.loads(first.stdout)
    problems = [f for f in findings_of(doc) if f["status"] in ("fail", "error")]
    assert doc["changes"]["counts"]["new"] == len(problems) > 0
    assert doc["changes"]["before"] == "an empty store"
    assert [line for line in first.stderr.splitlines() if line] == [
        f"posture: {store} held no scan: this scan is the baseline, its {len(problems)} "
        "failed or unreadable finding(s) are all new"]
    # saved: the second night compares with the first, nothing new
    second = run("scan", str(SEED002), "--since", "last", "--only-new", "--store", store,
                 "--format", "json")
    assert second.exit_code == 0
    assert json.loads(second.stdout)["changes"]["before"].startswith("scan #1 of ")
    assert "1" in run("history", "--store", store).stdout


def test_baseline_exit_code_follows_fail_on(tmp_path: Path) -> None:
    store = str(tmp_path / "h.sqlite")
    result = run("scan", str(SEED002), "--since", "last", "--only-new", "--store", store,
                 "--fail-on", "none")
    assert result.exit_code == 0
    assert result.stdout.startswith("36 new since an empty store")


def test_an_unknown_scan_id_is_still_an_error_on_an_empty_store(tmp_path: Path) -> None:
    result = run("scan", str(SEED002), "--since", "7", "--store", str(tmp_path / "h.sqlite"))
    assert result.exit_code == 2 and "no scan #7" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "markdown", "html"])
def test_a_quiet_night_is_a_short_report_that_says_so_first(tmp_path: Path, fmt: str) -> None:
    store = str(tmp_path / "h.sqlite")
    run("scan", str(SEED002), "--store", store)
    result = run("scan", str(SEED002), "--since", "last", "--only-new", "--store", store,
                 "--format", fmt)
    assert result.exit_code == 0
    assert "0 new since scan #1 of 20" in result.stdout.replace("\\#", "#")
    assert len(result.stdout) < 8000  # the full claim report is ~20 KB
    if fmt == "table":
        assert result.stdout.splitlines()[0].startswith("0 new since scan #1 of ")
        assert len(result.stdout.splitlines()) == 1
    if fmt == "markdown":
        assert "Compliance frameworks" not in result.stdout and "###" not in result.stdout


def test_only_new_shows_only_new_findings_and_the_claims_they_decide(tmp_path: Path) -> None:
    store = str(tmp_path / "h.sqlite")
    run("scan", str(SEED002), "--store", store)
    day2 = next_day_snapshot(tmp_path)
    table = run("scan", str(day2), "--since", "last", "--only-new", "--store", store,
                "--no-save")
    assert table.exit_code == 1
    assert table.stdout.startswith("3 new since scan #1 of ")
    assert "app-1" in table.stdout and "db-2" not in table.stdout
    assert "0 passed" not in table.stdout  # no whole-scan counts beside the new ones
    doc = json.loads(run("scan", str(day2), "--since", "last", "--only-new", "--store", store,
                         "--no-save", "--format", "json").stdout)
    new_ids = {f["id"] for f in findings_of(doc)}
    assert claims_of(doc) and all(new_ids & set(c["findings"]) for c in claims_of(doc))
    md = run("scan", str(day2), "--since", "last", "--only-new", "--store", store,
             "--no-save", "--format", "markdown").stdout
    assert "**3 new since scan \\#1 of " in md and "app-1" in md


# --- usage errors ----------------------------------------------------------------------

BAD_INVOCATIONS = [
    ["scan", str(SEED002), "--format", "nonsense"],
    ["scan", str(SEED002), "--fail-on", "bogus"],
    ["scan", str(SEED002), "--format", "sarif:"],
    ["scan", str(SEED002), "--format", "json", "--format", "csv"],
    ["verify", "--key", "/tmp", str(SEED002)],
    ["scan"],
    ["scan", str(SEED002), "--no-such-flag"],
    ["scan", str(SEED002), "--timeout", "0"],
    ["scan", str(SEED002), "--timeout", "nan"],
    ["scan", str(SEED002), "--max-retries", "x"],
    ["scan", str(SEED002), "--only-new"],
    ["scan", str(SEED002), "--sign", "k"],
    ["scan", str(SEED002), "--azure-cloud", "mars"],
    ["scan", str(SEED002), "--profile"],
    ["report"],
    ["diff", "--format", "xml", "a"],
    ["history", "--limit", "0"],
    ["checks", "NET-01", "--framework", "iso27001"],
    ["profiles", "seed-002", "extra"],
    ["permissions"],
    ["nosuchcommand"],
    ["--nosuchoption", "scan"],
    ["--config"],
]


@pytest.mark.parametrize("args", BAD_INVOCATIONS, ids=lambda a: " ".join(a)[-40:])
def test_every_usage_error_is_one_line_and_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("posture: "), result.stderr
    assert "Usage:" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_usage_error_names_the_bad_value_and_where_to_look() -> None:
    line = run("scan", str(SEED002), "--format", "nonsense").stderr.strip()
    assert "'nonsense'" in line and "(see 'posture scan --help')" in line


def test_help_and_version_are_not_errors() -> None:
    assert run("--version").exit_code == 0
    assert run("scan", "--help").stdout.startswith("Usage:")


# --- suppressions ----------------------------------------------------------------------


def write_rules(path: Path, *entries: tuple[str, str, date]) -> Path:
    path.write_text("\n".join(
        f'[[suppress]]\ncheck = "{check}"\nresource = "{resource}"\nreason = "r"\n'
        f'owner = "o@example.com"\nexpires = {expires.isoformat()}\n'
        for check, resource, expires in entries))
    return path


def test_a_suppression_matching_nothing_warns_and_strict_makes_it_an_error(
        tmp_path: Path) -> None:
    later = date.today() + timedelta(days=30)
    rules = write_rules(tmp_path / "s.toml", ("NET-02", "app-2", later),
                        ("NET-02", "no-such-server", later), ("NET-99", "*", later))
    result = run("scan", str(SEED002), "--suppressions", str(rules), "--format", "json")
    assert result.exit_code == 1
    warnings = result.stderr.splitlines()
    assert warnings == [
        f"posture: warning: {rules}: the suppression of NET-02 on no-such-server matches no "
        "failed or unreadable finding",
        f"posture: warning: {rules}: the suppression of NET-99 on * names no known check"]
    strict = run("scan", str(SEED002), "--suppressions", str(rules), "--strict-suppressions")
    assert strict.exit_code == 2 and len(strict.stderr.splitlines()) == 1
    assert "no-such-server" in strict.stderr and "--strict-suppressions" in strict.stderr


def test_a_suppression_for_a_check_that_did_not_run_is_not_judged(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "s.toml",
                        ("NET-02", "no-such-server", date.today() + timedelta(days=3)))
    result = run("scan", str(SEED002), "--checks", "TLS-02", "--suppressions", str(rules),
                 "--strict-suppressions")
    assert "suppression" not in result.stderr and result.exit_code in (0, 1)


def test_expired_suppressions_show_in_the_table_and_on_stderr(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "s.toml", ("NET-02", "app-2", date(2026, 1, 31)))
    result = run("scan", str(SEED002), "--suppressions", str(rules))
    assert ("posture: warning: the suppression of NET-02 on app-2 expired 2026-01-31: its 1 "
            "finding(s) count again") in result.stderr.splitlines()
    assert ("EXPIRED suppression of NET-02 on app-2 (expired 2026-01-31, owner "
            "o@example.com): 1 finding(s) count again") in result.stdout.splitlines()


# --- what a check reads ----------------------------------------------------------------


def test_checks_explain_what_every_provider_reads() -> None:
    out = run("checks", "NET-01").stdout
    for provider in ("aws", "azure", "hetzner", "terraform"):
        assert f"Reads on {provider}: " in out
    assert "rds.describe_db_instances" in out and "Microsoft.Sql/servers" in out
    tls = run("checks", "TLS-03").stdout
    assert "Reads on hetzner: certificates" in tls and "acm.list_certificates" in tls
    log = run("checks", "LOG-01").stdout
    assert "Not visible on hetzner: Hetzner Cloud has no audit log API" in log


# --- live scans that cannot start ------------------------------------------------------


def posture(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """The real command in a child process (its own logging set-up, its own start-up)."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("AZURE_", "HCLOUD_", "POSTURE_", "IDENTITY_", "MSI_"))}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "scanner.cli", *args], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120)
    return done, time.monotonic() - started


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_hetzner_api_is_one_line_exit_3_within_seconds() -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}/v1"
    done, took = posture("scan", "hetzner", env={"HCLOUD_ENDPOINT": endpoint,
                                                 "HCLOUD_TOKEN": "t0ken"})
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines() == [
        f"posture: hetzner: cannot reach the API at {endpoint} (connection refused)"]
    assert done.stdout == "" and took < 15  # it retried for 168 s and printed 54 errors


def test_an_unknown_api_host_is_not_retried() -> None:
    done, took = posture("scan", "hetzner", "--max-retries", "5",
                         env={"HCLOUD_ENDPOINT": "http://posture-test.invalid/v1",
                              "HCLOUD_TOKEN": "t0ken"})
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().endswith("(no such host)") and took < 30


def test_transient_failures_are_still_retried() -> None:
    import requests

    from providers.hetzner.collect import _transient, unreachable

    refused = requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    assert unreachable(refused) == "connection refused" and not _transient(refused)
    assert _transient(requests.ConnectTimeout("slow")) and _transient(requests.ReadTimeout())
    reset = requests.ConnectionError(ConnectionResetError(104, "reset"))
    assert unreachable(reset) is None and _transient(reset)


def test_a_subscription_that_is_not_a_guid_is_refused_first() -> None:
    done, _ = posture("scan", "azure", "--subscription", "prod-subscription", env={})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "posture: azure: --subscription 'prod-subscription' is not a subscription id (a GUID "
        "such as 00000000-0000-0000-0000-000000000000)"]


def test_azure_without_any_credential_fails_fast_in_one_line(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PATH": str(tmp_path),  # no az, azd or pwsh
           "AZURE_CONFIG_DIR": str(tmp_path / "az")}
    done, took = posture("scan", "azure", "--subscription",
                         "00000000-0000-0000-0000-000000000000", env=env)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("posture: azure: no usable credential ("), \
        done.stderr
    assert "\\n" not in done.stderr  # azure-identity's own multi-line warning stays below -v
    assert took < 6, took  # 13-16 s before; ~1.5 s of it is this machine's start-up
    verbose, _ = posture("-v", "scan", "azure", "--subscription",
                         "00000000-0000-0000-0000-000000000000", env=env)
    assert "azure.identity" in verbose.stderr


# --- text that is the product's ----------------------------------------------------------


def test_bundled_profiles_name_their_page_not_a_path_outside_the_repository() -> None:
    from scanner import profile

    for name in profile.builtin_names():
        source = profile.load(name).source
        assert "shared/" not in source and not source.endswith(".txt"), (name, source)
        if name.startswith("seed-"):
            assert source.endswith("a bundled example page") and source.startswith('"')


def test_the_azure_custom_role_carries_no_placeholder() -> None:
    role = json.loads((ROOT / "providers" / "azure" / "role.json").read_text())
    assert "..." not in role["Description"]
    assert "https://github.com/posture-scanner/posture" in role["Description"]


def test_a_reader_that_goes_away_is_not_an_internal_error() -> None:
    child = subprocess.Popen([sys.executable, "-m", "scanner.cli", "scan", str(SEED002),
                              "--format", "json"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.read(10)
    child.stdout.close()  # `posture scan ... | head -c 10`, of a report larger than a pipe
    assert "internal error" not in child.stderr.read().decode()
    child.wait(timeout=60)


# --- the terminal table and the report filters -------------------------------------------


def seed002_result() -> Any:
    from scanner.result import ScanResult

    doc = json.loads(run("scan", str(SEED002), "--format", "json").stdout)
    return ScanResult.from_json(doc)


@pytest.mark.parametrize("width", [80, 120, 200])
def test_the_table_fits_the_terminal_and_wraps_without_cutting(width: int) -> None:
    from scanner.reports import table

    result = seed002_result()
    text = table.render(result, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    flat = " ".join(text.split())
    for f in result.findings:
        if f.status.value in ("fail", "error"):
            assert " ".join(f.message.split()) in flat.replace("\n", " ") or all(
                word in flat for word in f.message.split()), f.message
    if width == 200:  # the width is used: the longest NET-02 message fills its row
        longest = max((f.message for f in result.findings if f.check == "NET-02"), key=len)
        assert any(longest[:140] in line for line in text.splitlines())


def test_the_table_off_a_terminal_shows_every_text_in_full() -> None:
    out = run("scan", str(SEED002)).stdout  # CliRunner: stdout is not a terminal
    assert "…" not in out
    assert ("administrative port(s) 22, 1433, 1521, 2375-2376, 2379-2380, 3306, 3389, 5432, "
            "5984, 5985-5986, 6379, 6443, 9042, 9200, 10250, 11211, 27017 reachable from "
            "outside the operator ranges") in out


def test_the_cli_table_fits_a_real_terminal(tmp_path: Path) -> None:
    import pty

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["COLUMNS"] = "80"
    leader, follower = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "scanner.cli", "scan", str(SEED002)],
                             cwd=ROOT, stdout=follower, stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    child.wait(timeout=120)
    lines = b"".join(chunks).decode().replace("\r", "").splitlines()
    assert lines and max(len(line) for line in lines) <= 80


@pytest.mark.parametrize("fmt", ["table", "markdown", "html"])
def test_status_and_min_severity_filter_the_human_reports(fmt: str) -> None:
    full = run("scan", str(SEED002), "--format", fmt).stdout
    filtered = run("scan", str(SEED002), "--format", fmt, "--status", "fail",
                   "--min-severity", "high").stdout
    assert "shown: status fail; severity high or above" in filtered
    # INV-02 fails are low: in the full report, not in the filtered one
    assert "missing label(s)" in full and "missing label(s)" not in filtered
    assert "administrative port(s)" in filtered  # NET-02, high


def test_status_filter_can_show_passes_in_the_table() -> None:
    out = run("scan", str(SEED002), "--checks", "NET-01", "--status", "pass").stdout
    assert "PASS" in out and "FAIL " not in out


def test_report_takes_the_filters_too(tmp_path: Path) -> None:
    results = tmp_path / "r.json"
    results.write_text(run("scan", str(SEED002), "--format", "json").stdout)
    out = run("report", str(results), "--min-severity", "critical").stdout
    assert out.startswith("CRITICAL (") and "HIGH (" not in out
