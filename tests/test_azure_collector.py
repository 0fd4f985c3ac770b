"""The Azure collector: the real azure-mgmt clients against a local HTTPS ARM server.

Nothing in the SDK or the collector is patched: the CLI gets the server's URL
(POSTURE_AZURE_ARM_ENDPOINT), a static bearer token (POSTURE_AZURE_ACCESS_TOKEN) and the
trustme CA (REQUESTS_CA_BUNDLE), exactly as a user would configure them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner import snapshot
from tests.azure_arm_server import ArmServer, sections_of
from tests.helpers import ROOT, findings_of, run, verdicts

SEED000 = ROOT / "fixtures" / "azure" / "seed000-azure.json"
SEED001 = ROOT / "fixtures" / "azure" / "seed001-azure.json"
SUB0 = "0b1f6471-1bf0-4dda-aec3-000000000000"
SUB1 = "5d2f8c71-7a3e-4c1b-9d0e-000000000001"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-test-token"


@pytest.fixture
def arm() -> Iterator[ArmServer]:
    with ArmServer({**sections_of(SEED000), **sections_of(SEED001)}, token=TOKEN) as server:
        yield server


def env(arm: ArmServer, token: str = TOKEN) -> dict[str, str]:
    return {"POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": token,
            "REQUESTS_CA_BUNDLE": arm.ca_file, "POSTURE_RETRY_BASE_SECONDS": "0.01"}


def live(arm: ArmServer, *args: str, token: str = TOKEN) -> tuple[int, dict[str, Any], str]:
    result = run("scan", "azure", "--format", "json", "--no-timestamps", *args,
                 env=env(arm, token))
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}, result.stderr


def replay(path: Path, *args: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(run("scan", str(path), "--format", "json",
                                         "--no-timestamps", *args).stdout)
    return doc


def test_live_scan_of_one_subscription_gives_the_fixture_verdicts(arm: ArmServer) -> None:
    code, doc, _ = live(arm, "--subscription", SUB0, "--profile", "seed-000")
    assert code == 1
    assert doc["errors"] == []
    assert verdicts(doc) == verdicts(replay(SEED000, "--profile", "seed-000"))


def test_record_then_replay_gives_identical_findings(arm: ArmServer, tmp_path: Path) -> None:
    snap = tmp_path / "azure.json.gz"
    code, doc, _ = live(arm, "--profile", "seed-001", "--record", str(snap))
    assert code == 1
    again = replay(snap, "--profile", "seed-001")
    assert findings_of(again) == findings_of(doc)
    assert again["claims"] == doc["claims"]
    loaded = snapshot.load(snap)
    assert sorted(s.account for s in loaded.sections) == sorted([SUB0, SUB1])


def test_only_get_requests_and_next_links_are_followed(arm: ArmServer) -> None:
    code, doc, _ = live(arm, "--subscription", SUB0, "--checks", "IAM-03")
    assert code == 1
    assert {m for m, _ in arm.requests} == {"GET"}
    vm_pages = [p for _, p in arm.requests if p.lower().split("?")[0] ==
                f"/subscriptions/{SUB0}/providers/microsoft.compute/virtualmachines"]
    assert len(vm_pages) == 2  # 4 VMs, 2 per page: the server's own absolute nextLink
    assert any("$skiptoken=2" in p for p in vm_pages)
    vms = {f["resource"] for f in findings_of(doc) if "/virtualmachines/" in f["resource"]}
    assert len(vms) == 4  # vm-app-1, vm-jump, vm-batch, vm-worker


def test_checks_option_collects_only_what_they_read(arm: ArmServer) -> None:
    live(arm, "--subscription", SUB0, "--checks", "RES-03")
    paths = {p.split("?")[0].lower() for _, p in arm.requests}
    assert not [p for p in paths if "microsoft.network" in p or "microsoft.compute" in p]
    assert any("/deployments" in p for p in paths)


def test_throttling_with_retry_after_is_retried(arm: ArmServer) -> None:
    arm.fail("microsoft.network/networksecuritygroups", 429, "TooManyRequests", times=2,
             retry_after=0)
    arm.fail("microsoft.storage/storageaccounts", 503, "ServiceUnavailable", times=1)
    code, doc, _ = live(arm, "--subscription", SUB0, "--checks", "NET-02,NET-04,BAK-01")
    assert doc["errors"] == []
    assert verdicts(doc) == verdicts(replay(SEED000, "--checks", "NET-02,NET-04,BAK-01"))
    nsg_calls = [p for _, p in arm.requests if "networksecuritygroups" in p.lower()]
    assert len(nsg_calls) >= 3
    assert code == 1


def test_throttling_that_persists_is_a_throttled_error(arm: ArmServer) -> None:
    arm.fail("microsoft.network/networksecuritygroups", 429, "TooManyRequests", retry_after=0)
    code, doc, _ = live(arm, "--subscription", SUB0, "--checks", "NET-04",
                        "--max-retries", "1")
    errors = [e for e in doc["errors"]]
    assert [(e["collection"], e["reason"]) for e in errors] == [
        ("Microsoft.Network/networkSecurityGroups", "throttled")]
    # Every VM that names an NSG cannot pass; one whose NIC and subnet name none was
    # decided by its public IP's SKU alone (vm-worker: Standard, closed), which was read.
    passed = [f for f in findings_of(doc) if f["status"] == "pass"]
    assert [f["resource"].rsplit("/", 1)[-1] for f in passed] == ["vm-worker"]
    assert passed[0]["evidence"]["layers"] == ["no NSG (Standard public IP: closed by default)"]
    assert any(f["status"] == "error" for f in findings_of(doc))
    assert code in (1, 3)


def test_a_denied_provider_namespace_is_an_error_for_exactly_that_scope(arm: ArmServer) -> None:
    arm.deny_namespace(SUB1, "Microsoft.Sql")
    code, doc, _ = live(arm, "--checks", "ENC-01")
    errors = {(e["account"], e["collection"], e["reason"]) for e in doc["errors"]}
    # the denied list call, and its child collections that could not be read because of it
    assert errors == {(SUB1, name, "denied") for name in (
        "Microsoft.Sql/servers", "Microsoft.Sql/servers/firewallRules",
        "Microsoft.Sql/servers/databases",
        "Microsoft.Sql/servers/databases/transparentDataEncryption",
        "Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies",
        "Microsoft.Sql/servers/databases/replicationLinks")}
    assert {e["region"] for e in doc["errors"]} == {"global"}
    sub1 = [f for f in findings_of(doc) if f["account"] == SUB1]
    sub0 = [f for f in findings_of(doc) if f["account"] == SUB0]
    # the unread scope has its own error finding; what was read in sub 1 stands as in a
    # clean scan (SQL servers hold no property of the other resources)
    assert [f for f in sub1 if f["status"] == "error"]
    assert all("Microsoft.Sql" in f["resource"] for f in sub1 if f["status"] == "error")
    clean = replay(SEED001, "--checks", "ENC-01")
    assert {v for v in verdicts({"findings": sub1}) if v[2] != "error"} == {
        v for v in verdicts(clean) if "/microsoft.sql/" not in v[1]}
    assert {f["status"] for f in sub0} == {"pass", "fail"}  # the other subscription judges
    assert code == 1  # sub 0's failures outrank; alone, the errors give 3
    code, _, _ = live(arm, "--subscription", SUB1, "--checks", "ENC-01")
    assert code == 3


def test_no_credential_is_one_line_and_exit_2(arm: ArmServer) -> None:
    result = run("scan", "azure", env={
        "POSTURE_AZURE_ARM_ENDPOINT": arm.url, "REQUESTS_CA_BUNDLE": arm.ca_file,
        "POSTURE_AZURE_ACCESS_TOKEN": "", "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
        "PATH": "/nonexistent"})
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no usable credential" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert arm.requests == []


def test_a_token_for_another_tenant_is_one_line_and_exit_2(arm: ArmServer) -> None:
    result = run("scan", "azure", env=env(arm, token=arm.wrong_token))
    assert result.exit_code == 2
    assert "InvalidAuthenticationTokenTenant" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_unknown_subscription_is_an_error_never_a_pass(arm: ArmServer) -> None:
    code, doc, _ = live(arm, "--subscription", "00000000-0000-0000-0000-00000000dead",
                        "--checks", "RES-01")
    assert code == 3
    assert {f["status"] for f in findings_of(doc)} == {"error"}
    assert {e["reason"] for e in doc["errors"]} == {"not_found"}


def test_sovereign_cloud_and_custom_endpoint_options_are_accepted(arm: ArmServer) -> None:
    result = run("scan", "azure", "--azure-cloud", "china", "--azure-arm-endpoint", arm.url,
                 "--subscription", SUB1, "--checks", "RES-01", "--format", "json",
                 env={**env(arm), "POSTURE_AZURE_ARM_ENDPOINT": ""})
    assert result.exit_code == 1, result.stderr
    plain = run("scan", "azure", "--azure-arm-endpoint", "http://127.0.0.1:1",
                env=env(arm))
    assert plain.exit_code == 2 and "https://" in plain.stderr


def test_permissions_print_a_custom_role_definition() -> None:
    result = run("permissions", "azure")
    doc = json.loads(result.stdout)
    role = doc["role_definition"]
    assert doc["builtin_role"] == "Reader"
    assert all(a.endswith("/read") for a in role["Actions"])
    assert not [a for a in role["Actions"] if "listkeys" in a.lower()]
    assert role["DataActions"] == []


def test_vm_image_versions_and_vault_keys_are_read_live_as_recorded(arm: ArmServer) -> None:
    code, doc, _ = live(arm, "--subscription", SUB0, "--checks", "VUL-01,ENC-03")
    assert code == 1 and doc["errors"] == []
    assert verdicts(doc) == verdicts(replay(SEED000, "--checks", "VUL-01,ENC-03"))
    paths = [p.split("?")[0].lower() for _, p in arm.requests]
    images = [p for p in paths if "/artifacttypes/vmimage/" in p]
    assert len(images) == 3  # 4 VMs, one GET per distinct (location, image version)
    assert sum(p.endswith("/offers/ubuntuserver/skus/18.04-lts/versions/18.04.202306070")
               for p in images) == 1
    # each vault's keys are listed, then each key is read in full (its rotation policy)
    assert sorted(p.rsplit("/", 1)[-1] for p in paths if "/keys/" in p) == [
        "cmk-sandbox", "cmk-storage"]
    assert sum(p.endswith("/keys") for p in paths) == 2


def test_a_key_that_cannot_be_read_leaves_rotation_unknown_never_passed(arm: ArmServer) -> None:
    arm.fail("/keys/cmk-storage", 403, "AuthorizationFailed")
    code, doc, _ = live(arm, "--subscription", SUB0, "--checks", "ENC-03")
    assert [(e["collection"], e["region"], e["reason"]) for e in doc["errors"]] == [
        ("Microsoft.KeyVault/vaults/keys", "westeurope", "denied")]
    enc03 = [f for f in findings_of(doc) if f["check"] == "ENC-03"]
    # the vault's keys are not judged (the scope's error finding says so); the vault's own
    # soft delete and purge protection were read and stand
    assert enc03 and not [f for f in enc03 if f["status"] == "pass" and "/keys/" in f["resource"]]
    assert [f for f in enc03 if f["status"] == "error" and "vaults/keys" in f["resource"]]
    assert code == 1  # kv-sandbox-eu's purge protection is off: read, a certain fail


def test_retry_after_is_waited_for_but_never_longer_than_the_cap(
        arm: ArmServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """azure-core waits what Retry-After asks (1 s here, though the backoff alone would be
    milliseconds); posture caps that wait at MAX_WAIT_SECONDS (60 s; 0.5 here), so an answer
    asking for 20 s costs half a second and the scan still completes."""
    import time

    from providers.azure import collect

    checks = ("--subscription", SUB0, "--checks", "NET-04", "--retry-base-seconds", "0.01")
    arm.fail("microsoft.network/networksecuritygroups", 429, "TooManyRequests", times=1,
             retry_after=1)
    started = time.monotonic()
    _, doc, _ = live(arm, *checks)
    assert doc["errors"] == [] and time.monotonic() - started >= 1.0
    monkeypatch.setattr(collect, "MAX_WAIT_SECONDS", 0.5)
    arm.fail("microsoft.network/networksecuritygroups", 429, "TooManyRequests", times=1,
             retry_after=20)
    started = time.monotonic()
    _, doc, _ = live(arm, *checks)
    assert doc["errors"] == []
    assert 0.5 <= time.monotonic() - started < 8
