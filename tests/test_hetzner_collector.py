"""The Hetzner collector, with the real hcloud client against a local Hetzner API server.

The server (tests/hcloud_server.py) speaks the Hetzner Cloud API over HTTP on 127.0.0.1:
pagination through meta.pagination, bearer auth, error bodies, 401/403/429/5xx faults.
Nothing in hcloud or the collector is patched: the CLI gets HCLOUD_ENDPOINT and a token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanner import snapshot
from tests.hcloud_server import HcloudServer
from tests.helpers import SEED002, findings_of, run, verdicts

TOKEN = "hcloud-test-token-0123456789abcdef0123456789abcdef0123456789abcd"


def seed_collections() -> dict[str, list[dict[str, Any]]]:
    doc = json.loads(SEED002.read_text())
    section = doc["sections"][0]
    return {name: regions["global"] for name, regions in section["collections"].items()}


@pytest.fixture
def api() -> Iterator[HcloudServer]:
    with HcloudServer(seed_collections(), token=TOKEN) as server:
        yield server


def env(api: HcloudServer, token: str = TOKEN) -> dict[str, str]:
    return {"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": token,
            "POSTURE_HETZNER_PROJECT": "ohallo-prod"}


def live_scan(api: HcloudServer, *args: str, token: str = TOKEN) -> tuple[int, dict[str, Any]]:
    result = run("scan", "hetzner", "--format", "json", "--no-timestamps", *args,
                 env=env(api, token))
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}


def test_live_scan_gives_the_same_verdicts_as_the_recorded_fixture(api: HcloudServer) -> None:
    code, live = live_scan(api, "--profile", "seed-002")
    replay = json.loads(run("scan", str(SEED002), "--profile", "seed-002", "--format", "json",
                            "--no-timestamps").stdout)
    assert verdicts(live) == verdicts(replay)
    assert code == 1


def test_record_then_replay_gives_identical_results(api: HcloudServer, tmp_path: Path) -> None:
    snap = tmp_path / "estate.json.gz"
    code, live = live_scan(api, "--profile", "seed-002", "--record", str(snap))
    assert code == 1
    replay = run("scan", str(snap), "--profile", "seed-002", "--format", "json",
                 "--no-timestamps")
    replayed = json.loads(replay.stdout)
    assert findings_of(replayed) == findings_of(live)
    assert replayed["claims"] == live["claims"]
    assert run("verify", str(snap)).exit_code == 0


def test_collector_makes_only_get_requests_and_follows_pagination(api: HcloudServer) -> None:
    # 120 servers: with per_page=50 the collector must read pages 1, 2 and 3.
    base = api.data["servers"][0]
    api.data["servers"] = [dict(base, id=1000 + i, name=f"app-{i}") for i in range(120)]
    code, doc = live_scan(api, "--checks", "RES-01")
    assert code == 0
    servers = {f["resource"] for f in findings_of(doc) if "/server/" in f["resource"]}
    assert len(servers) == 120
    methods = {method for method, _ in api.requests}
    assert methods == {"GET"}
    server_pages = [path for _, path in api.requests if path.startswith("/v1/servers?")]
    assert any("page=3" in p for p in server_pages)
    assert len(server_pages) == 3


def test_checks_option_collects_only_what_the_checks_read(api: HcloudServer) -> None:
    live_scan(api, "--checks", "TLS-03")
    collections = {path.split("?")[0].removeprefix("/v1/") for _, path in api.requests}
    assert collections == {"load_balancers", "certificates", "locations"}


def test_invalid_token_is_one_line_and_exit_2(api: HcloudServer) -> None:
    result = run("scan", "hetzner", env=env(api, token="wrong"))
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "token was rejected" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_token_is_a_clear_error(api: HcloudServer) -> None:
    result = run("scan", "hetzner", env={"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": ""})
    assert result.exit_code == 2
    assert "no API token" in result.stderr


def test_token_file_is_read_and_the_token_never_appears_in_output(
        api: HcloudServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    snap = tmp_path / "s.json"
    result = run("-vv", "scan", "hetzner", "--hetzner-token-file", str(token_file),
                 "--record", str(snap), "--format", "json",
                 env={"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": ""})
    assert result.exit_code == 1
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN not in snap.read_text()


def test_denied_collection_is_an_error_for_its_scope_and_exit_3(api: HcloudServer) -> None:
    api.fail("volumes", 403, "forbidden")
    code, doc = live_scan(api, "--checks", "ENC-01,NET-01")
    assert code == 1  # db-2's public IP is a certain violation: it outranks the errors
    statuses = {(f["check"], f["resource"]): f for f in findings_of(doc)}
    scope = statuses[("ENC-01", "hetzner:ohallo-prod/global/volumes")]
    assert scope["status"] == "error" and scope["reason"] == "denied"
    # ENC-01 reads volumes: none of its verdicts may pass on what was left.
    assert not [f for f in findings_of(doc) if f["check"] == "ENC-01" and f["status"] == "pass"]
    # NET-01 does not read volumes: it still judges.
    assert statuses[("NET-01", "hetzner:ohallo-prod/server/104")]["status"] == "fail"
    # Hetzner server disks are unencrypted whatever the volume list holds: those ENC-01
    # fails were read completely and stand (fail closed, precisely), so still exit 1
    code, doc = live_scan(api, "--checks", "ENC-01")
    servers = [f for f in findings_of(doc) if f["resource_kind"] == "compute"]
    assert servers and {f["status"] for f in servers} == {"fail"}
    assert code == 1


def test_allow_partial_turns_an_incomplete_clean_scan_into_exit_0(api: HcloudServer) -> None:
    api.fail("certificates", 403, "forbidden")
    code, doc = live_scan(api, "--checks", "TLS-03", "--allow-partial")
    assert code == 0
    assert doc["summary"]["complete"] is False


def test_throttling_and_server_errors_are_retried_until_the_scan_completes(
        api: HcloudServer) -> None:
    api.fail("servers", 429, "rate_limit_exceeded", times=2, retry_after=0)
    api.fail("firewalls", 503, "unavailable", times=1)
    api.fail("load_balancers", 502, "bad_gateway", times=1)
    result = run("scan", "hetzner", "--format", "json", "--no-timestamps", "--profile",
                 "seed-002", env={**env(api), "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    replay = json.loads(run("scan", str(SEED002), "--profile", "seed-002", "--format", "json",
                            "--no-timestamps").stdout)
    assert verdicts(json.loads(result.stdout)) == verdicts(replay)
    assert len([p for _, p in api.requests if p.startswith("/v1/servers")]) == 3


def test_a_service_that_stays_down_is_an_error_never_a_pass(api: HcloudServer) -> None:
    api.fail("firewalls", 503, "unavailable")
    result = run("scan", "hetzner", "--format", "json", "--checks", "NET-04",
                 env={**env(api), "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    doc = json.loads(result.stdout)
    assert result.exit_code in (1, 3)
    assert not [f for f in findings_of(doc) if f["status"] == "pass"]
    assert any(f["reason"] == "unreachable" for f in findings_of(doc))


def test_unreachable_endpoint_is_one_line_exit_3_not_a_report_of_errors(tmp_path: Path
                                                                        ) -> None:
    """Nothing answers on the first call: no report of error findings (issue 17), one line."""
    result = run("scan", "hetzner", "--format", "json", "--checks", "RES-01",
                 env={"HCLOUD_ENDPOINT": "http://127.0.0.1:9/v1", "HCLOUD_TOKEN": TOKEN,
                      "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert result.exit_code == 3
    assert result.stdout == "" and "(connection refused)" in result.stderr


def test_snapshot_section_records_the_project_locations_and_tool_version(
        api: HcloudServer, tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    result = run("record", "hetzner", "-o", str(out), env=env(api))
    assert result.exit_code == 0, result.stderr
    snap = snapshot.load(out)
    section = snap.sections[0]
    assert section.provider == "hetzner" and section.account == "ohallo-prod"
    assert section.locations == ["ash", "fsn1", "hel1", "nbg1"]
    assert len(section.items("servers")) == 6
    assert section.errors == []


# --- Retry-After -----------------------------------------------------------------------------


def retry_gap(api: HcloudServer, collection: str) -> float:
    """Seconds between the first and the second request for `collection` (the retry)."""
    times = [t for (_, path), t in zip(api.requests, api.request_times, strict=True)
             if path.startswith(f"/v1/{collection}")]
    assert len(times) == 2, times
    return times[1] - times[0]


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limit_exceeded"),
                                              (503, "maintenance")])
def test_a_retry_waits_what_retry_after_asks_not_the_short_backoff(
        api: HcloudServer, status: int, code: str) -> None:
    """Retry-After: 1 on a 429 (or a 503 for maintenance): the retry comes after a second
    though the backoff alone (--retry-base-seconds 0.01) would retry within 10 ms; then the
    scan completes with nothing missing."""
    api.fail("servers", status, code, times=1, retry_after=1)
    result = run("scan", "hetzner", "--checks", "NET-03", "--format", "json",
                 env={**env(api), "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert json.loads(result.stdout)["errors"] == []
    assert 1.0 <= retry_gap(api, "servers") < 1.6


def test_retry_after_as_an_http_date_is_honoured(api: HcloudServer) -> None:
    from email.utils import format_datetime

    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    api.fail("servers", 429, "rate_limit_exceeded", times=1,
             retry_after=format_datetime(when, usegmt=True))
    result = run("scan", "hetzner", "--checks", "NET-03", "--format", "json",
                 env={**env(api), "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert json.loads(result.stdout)["errors"] == []
    # the retry comes when the date says, however long posture took to start (the gap from
    # the first request depends on that): compare on the wall clock
    retry_gap(api, "servers")  # exactly one retry
    _, retried = [t for (_, path), t in zip(api.requests, api.request_times, strict=True)
                  if path.startswith("/v1/servers")]
    wall = retried + (time.time() - time.monotonic())
    assert when.timestamp() - 0.05 <= wall < when.timestamp() + 1.5


def test_a_retry_after_beyond_the_cap_waits_only_the_cap(
        api: HcloudServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """More than the cap asked for (30 s): the collector waits MAX_WAIT_SECONDS (60 s; 0.5
    here) and retries."""
    from providers.hetzner import collect

    monkeypatch.setattr(collect, "MAX_WAIT_SECONDS", 0.5)
    api.fail("servers", 429, "rate_limit_exceeded", times=1, retry_after=30)
    result = run("scan", "hetzner", "--checks", "NET-03", "--format", "json",
                 env={**env(api), "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert json.loads(result.stdout)["errors"] == []
    assert 0.5 <= retry_gap(api, "servers") < 1.2


def test_throttling_that_outlasts_the_retries_is_a_throttled_error(
        api: HcloudServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.hetzner import collect

    monkeypatch.setattr(collect, "MAX_WAIT_SECONDS", 0.2)
    api.fail("servers", 429, "rate_limit_exceeded", retry_after=3600)
    result = run("scan", "hetzner", "--checks", "NET-03", "--format", "json",
                 env={**env(api), "POSTURE_RETRY_BASE_SECONDS": "0.01",
                      "POSTURE_MAX_RETRIES": "2"})
    doc = json.loads(result.stdout)
    assert [(e["collection"], e["reason"]) for e in doc["errors"]] == [("servers", "throttled")]
    assert len([p for _, p in api.requests if p.startswith("/v1/servers")]) == 3
    assert result.exit_code == 3


@pytest.mark.parametrize(("header", "seconds"), [
    ("7", 7.0), (" 0 ", 0.0), ("-3", None), ("1.5", None), ("soon", None), ("", None),
    (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ("Sun, 01 Jan 2040 00:00:10 GMT", 10.0)])
def test_retry_after_parsing(header: str | None, seconds: float | None) -> None:
    from providers.hetzner.collect import parse_retry_after

    now = datetime(2040, 1, 1, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == seconds
