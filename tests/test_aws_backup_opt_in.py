"""AWS Backup's service opt-in (DescribeRegionSettings): a selection that picks resources
by tags, or picks every resource, protects only the resource types the region opts in; a
selection that names a resource type protects it whatever the opt-in says (AWS Backup API
Reference, DescribeRegionSettings and UpdateRegionSettings). Before, posture did not read
the opt-in: an instance tagged for a plan in a region that opts EC2 out passed BAK-02."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from scanner import snapshot
from tests.aws_proxy import BACKUP_REGION_SETTINGS
from tests.helpers import run
from tests.test_aws_control_truth import DAILY_35, backup_estate
from tests.test_aws_vendor_bodies import findings, section


def _opted(**types: bool) -> dict[str, Any]:
    settings = copy.deepcopy(BACKUP_REGION_SETTINGS)
    settings["ResourceTypeOptInPreference"].update(types)
    return settings


def _bak02(tmp_path: Path, estate: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    return {f["resource_kind"]: f["status"] for f in findings(section(estate), tmp_path,
                                                              "BAK-02")
            if f.get("resource_kind") in ("compute", "database")}


@pytest.mark.parametrize("selection,ec2,status", [
    (None, False, "fail"),  # picked by its tag, EC2 not opted in: not protected
    (None, True, "pass"),
    ({"Resources": ["*"]}, False, "fail"),  # every resource: the opt-in applies
    ({"Resources": ["arn:aws:ec2:*:*:instance/*"]}, False, "pass"),  # the type is named
])
def test_tag_selection_protects_only_the_types_the_region_opts_in(
        tmp_path: Path, selection: dict[str, Any] | None, ec2: bool, status: str) -> None:
    estate = backup_estate([DAILY_35], selection)
    estate["backup.describe_region_settings"] = [_opted(EC2=ec2)]
    assert _bak02(tmp_path, estate)["compute"] == status


def test_opt_in_not_read_makes_a_tag_selected_pass_an_error_and_leaves_the_rest(
        tmp_path: Path) -> None:
    """A snapshot recorded before the opt-in was read: the instance the plan picks by its
    tag may not be protected (error, never pass); the RDS instance's own 7 days of automated
    backups, which no selection picks, pass as before."""
    estate = backup_estate([DAILY_35], rds={"BackupRetentionPeriod": 7, "TagList": []})
    del estate["backup.describe_region_settings"]
    got = _bak02(tmp_path, estate)
    assert got == {"compute": "error", "database": "pass"}


def test_the_collector_reads_the_region_settings_once_per_region(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.aws_proxy import AwsProxy, start_moto
    from tests.test_aws_collector import env

    moto, url = start_moto()
    try:
        with AwsProxy(moto, url) as proxy:
            proxy.reset()
            for k, v in env(proxy).items():
                monkeypatch.setenv(k, v)
            out = tmp_path / "s.json"
            result = run("record", "aws", "--regions", "eu-central-1,eu-west-1", "--checks",
                         "BAK-02", "-o", str(out))
            assert result.exit_code in (0, 1, 3), result.stderr
            calls = [c.region for c in proxy.calls if c.service == "backup"
                     and c.path.startswith("/account-settings")]
    finally:
        moto.stop()
    assert sorted(calls) == ["eu-central-1", "eu-west-1"]
    recorded = snapshot.load(out).sections[0].collections["backup.describe_region_settings"]
    assert recorded == {"eu-central-1": [BACKUP_REGION_SETTINGS],
                        "eu-west-1": [BACKUP_REGION_SETTINGS]}
