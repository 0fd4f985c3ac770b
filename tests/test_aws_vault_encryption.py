"""ENC-02 of an AWS Backup vault reads what it holds: a backup of a resource type AWS Backup
does not fully manage (EBS, RDS...) keeps its source's encryption, none for an unencrypted
source, whatever the vault's key; ListRecoveryPointsByBackupVault answers `IsEncrypted` for
each recovery point. Before, every vault passed ENC-02 without a look at its contents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.model import ErrorReason
from tests.helpers import findings_of, run
from tests.test_aws_vendor_bodies import ACCOUNT, REGION, findings, section

VAULT = "Default"
VAULT_ARN = f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{VAULT}"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def point(resource: str, encrypted: bool | None) -> dict[str, Any]:
    """A RecoveryPointByBackupVault as the AWS Backup API Reference describes it."""
    rp: dict[str, Any] = {
        "RecoveryPointArn": f"arn:aws:ec2:{REGION}::snapshot/snap-{len(resource):017x}",
        "BackupVaultName": VAULT, "BackupVaultArn": VAULT_ARN,
        "ResourceArn": resource, "ResourceType": "EBS", "Status": "COMPLETED",
        "CreationDate": "2026-11-30T05:00:00Z", "EncryptionKeyArn": KEY}
    if encrypted is not None:
        rp["IsEncrypted"] = encrypted
    return rp


def vault_section(points: list[dict[str, Any]] | None, failed: bool = False) -> Any:
    cols: dict[str, list[dict[str, Any]]] = {"backup.list_backup_vaults": [{
        "BackupVaultName": VAULT, "BackupVaultArn": VAULT_ARN, "EncryptionKeyArn": KEY,
        "NumberOfRecoveryPoints": len(points or [])}]}
    if points is not None:
        cols["backup.list_recovery_points_by_backup_vault"] = [{
            "request": {"BackupVaultName": VAULT}, "response": {"RecoveryPoints": points}}]
    elif failed:
        cols["backup.list_recovery_points_by_backup_vault"] = []
    s = section(cols)
    if failed:
        s.fail("backup.list_recovery_points_by_backup_vault", REGION, ErrorReason.DENIED,
               "AccessDeniedException: not authorized", resource=VAULT_ARN)
    return s


def enc02(tmp_path: Path, s: Any) -> dict[str, Any]:
    [f] = [f for f in findings(s, tmp_path, "ENC-02") if f.get("resource_name") == VAULT]
    return f


VOLUME = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0123456789abcdef0"


@pytest.mark.parametrize("points,status", [
    ([point(VOLUME, True)], "pass"),
    ([point(VOLUME, True), point(VOLUME + "1", False)], "fail"),  # an unencrypted volume's
    ([point(VOLUME, None)], "error"),  # the answer does not say
    ([], "pass"),  # holds nothing
])
def test_vault_holding_an_unencrypted_recovery_point_fails_enc02(
        tmp_path: Path, points: list[dict[str, Any]], status: str) -> None:
    f = enc02(tmp_path, vault_section(points))
    assert f["status"] == status
    if status == "fail":
        assert VOLUME not in f["evidence"]["reference"].split(": ", 1)[1].split(", ")
        assert "1 recovery point(s) not encrypted" in f["evidence"]["reference"]


@pytest.mark.parametrize("failed", [True, False])
def test_recovery_points_not_read_make_the_vault_an_error_never_a_pass(
        tmp_path: Path, failed: bool) -> None:
    """Denied for this vault, or a snapshot recorded before the recovery points were read."""
    assert enc02(tmp_path, vault_section(None, failed))["status"] == "error"


def test_collector_reads_each_vaults_recovery_points(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over moto (which lacks ListRecoveryPointsByBackupVault: the proxy answers in the API's
    shape, one unencrypted EBS backup)."""
    from tests import aws_estate
    from tests.aws_proxy import AwsProxy, start_moto
    from tests.test_aws_collector import env

    moto, url = start_moto()
    try:
        aws_estate.client(url, "backup", "eu-central-1").create_backup_vault(
            BackupVaultName="posture-vault")
        with AwsProxy(moto, url) as proxy:
            proxy.reset()
            proxy.faults.clear()  # instead of the default answer (no recovery points)
            proxy.stub(lambda c: c.service == "backup" and "/recovery-points" in c.path,
                       lambda c: {"RecoveryPoints": [dict(point(VOLUME, False),
                                                          BackupVaultName="posture-vault")]})
            for k, v in env(proxy).items():
                monkeypatch.setenv(k, v)
            result = run("scan", "aws", "--regions", "eu-central-1", "--checks", "ENC-02",
                         "--format", "json", "--no-timestamps")
            asked = [c.path for c in proxy.calls if "/recovery-points" in c.path]
    finally:
        moto.stop()
    assert result.exit_code in (1, 3), result.stderr
    got = {f["resource_name"]: f["status"] for f in findings_of(json.loads(result.stdout))
           if f["check"] == "ENC-02"}
    assert got["posture-vault"] == "fail"
    assert asked == ["/backup-vaults/posture-vault/recovery-points/"]


@pytest.mark.parametrize("response", [None, {}, {"RecoveryPoints": None},
                                      {"RecoveryPoints": {"0": "x"}}])
def test_a_recorded_answer_without_its_recovery_point_list_is_an_error_not_a_pass(
        tmp_path: Path, response: Any) -> None:
    """An edited snapshot: the vault's answer (which held an unencrypted backup: fail) has
    no RecoveryPoints list; the collector always stores one, so it is no answer (was:
    read as an empty vault, pass)."""
    s = vault_section([point(VOLUME, False)])
    s.collections["backup.list_recovery_points_by_backup_vault"][REGION][0][
        "response"] = response
    assert enc02(tmp_path, s)["status"] == "error"
