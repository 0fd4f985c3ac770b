"""DynamoDB tables are databases: point-in-time recovery (BAK-03), backups (BAK-02), global
table replicas (RES-02, BAK-01), encryption at rest (ENC-01), region (RES-01) and tags
(INV-02), read live from moto through the real collector, and from recorded snapshots.
Before, posture read no DynamoDB call at all: a table without point-in-time recovery was
never judged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.model import ErrorReason
from scanner.snapshot import GLOBAL
from tests.aws_proxy import AwsProxy, serving, start_moto
from tests.helpers import findings_of, run
from tests.test_aws_vendor_bodies import ACCOUNT, REGION, findings, section

FRA = "eu-central-1"
PROFILE = '[profile]\nname = "dynamodb"\n[parameters]\njurisdictions = ["EU"]\n'
KEY_ARN = f"arn:aws:kms:{FRA}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _table(client: Any, name: str, **extra: Any) -> None:
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST", **extra)


def _with_replica(body: bytes) -> bytes:
    """DescribeTable of `orders` as a global table (version 2019.11.21) with a replica in
    us-east-1, in the shape of the DynamoDB API Reference (TableDescription.Replicas:
    ReplicaDescription RegionName, ReplicaStatus); moto keeps no replicas."""
    doc = json.loads(body)
    if doc.get("Table", {}).get("TableName") == "orders":
        doc["Table"]["GlobalTableVersion"] = "2019.11.21"
        doc["Table"]["Replicas"] = [{"RegionName": FRA, "ReplicaStatus": "ACTIVE"},
                                    {"RegionName": "us-east-1", "ReplicaStatus": "ACTIVE"}]
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def dynamo() -> Iterator[AwsProxy]:
    from tests import aws_estate

    moto, url = start_moto()
    client = aws_estate.client(url, "dynamodb", FRA)
    _table(client, "orders", Tags=[{"Key": "data-classification", "Value": "confidential"}])
    client.update_continuous_backups(TableName="orders", PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})
    _table(client, "sessions")  # no point-in-time recovery: DynamoDB's default
    _table(client, "ledger", SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                "KMSMasterKeyId": KEY_ARN})
    with serving(moto, url) as proxy:
        yield proxy


def _scan(proxy: AwsProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, checks: str
          ) -> dict[tuple[str, str], dict[str, Any]]:
    from tests.test_aws_collector import env

    for k, v in env(proxy).items():
        monkeypatch.setenv(k, v)
    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE)
    result = run("scan", "aws", "--regions", FRA, "--profile", str(profile), "--checks", checks,
                 "--format", "json", "--no-timestamps")
    assert result.exit_code in (0, 1, 3), result.stderr
    return {(f["check"], f["resource_name"]): f for f in findings_of(json.loads(result.stdout))
            if f.get("resource_kind") == "database"}


def test_table_without_point_in_time_recovery_fails_bak03_and_bak02(
        dynamo: AwsProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dynamo.reset()
    got = _scan(dynamo, monkeypatch, tmp_path, "BAK-02,BAK-03")
    assert got[("BAK-03", "sessions")]["status"] == "fail"
    assert got[("BAK-02", "sessions")]["status"] == "fail"
    # PITR on: restorable to any second of the last 35 days, judged as continuous backups
    assert got[("BAK-03", "orders")]["status"] == "pass"
    assert got[("BAK-02", "orders")]["status"] == "pass"
    assert got[("BAK-02", "orders")]["evidence"]["retention_days"] == 35


def test_table_encryption_key_region_and_tags_are_judged(
        dynamo: AwsProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dynamo.reset()
    got = _scan(dynamo, monkeypatch, tmp_path, "ENC-01,RES-01,INV-02,NET-01")
    # every table is encrypted at rest: the AWS owned key by default (provider), or the KMS
    # key the account chose (config)
    assert got[("ENC-01", "sessions")]["status"] == "pass"
    assert got[("ENC-01", "sessions")]["evidence_level"] == "provider"
    assert got[("ENC-01", "ledger")]["evidence_level"] == "config"
    assert got[("RES-01", "orders")]["status"] == "pass"
    assert got[("INV-02", "orders")]["message"] != got[("INV-02", "sessions")]["message"]
    assert got[("NET-01", "orders")]["status"] == "skip"


def test_global_table_replica_outside_the_jurisdiction_fails_res02(
        dynamo: AwsProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dynamo.reset()
    dynamo.rewrite(lambda c: c.service == "dynamodb" and c.action == "DescribeTable",
                   _with_replica)
    got = _scan(dynamo, monkeypatch, tmp_path, "RES-02,BAK-01")
    assert got[("RES-02", "orders")]["status"] == "fail"
    assert got[("RES-02", "orders")]["evidence"]["replica_regions"] == ["us-east-1"]
    assert got[("BAK-01", "orders")]["status"] == "pass"
    assert got[("RES-02", "sessions")]["status"] == "pass"
    assert got[("BAK-01", "sessions")]["status"] == "fail"


def test_legacy_global_table_replica_read_from_every_page_of_list_global_tables(
        dynamo: AwsProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A version 2017.11.29 global table's replicas are not in DescribeTable: its
    replication group is ListGlobalTables' (which moto lacks: answered in the API
    Reference's shape, two pages, `orders` on the second)."""
    pages = iter([
        {"GlobalTables": [{"GlobalTableName": "archive", "ReplicationGroup": [
            {"RegionName": FRA}]}], "LastEvaluatedGlobalTableName": "archive"},
        {"GlobalTables": [{"GlobalTableName": "orders", "ReplicationGroup": [
            {"RegionName": FRA}, {"RegionName": "us-east-1"}]}]}])
    dynamo.reset()
    dynamo.faults.clear()  # the default answer: no legacy global tables
    dynamo.stub(lambda c: c.service == "dynamodb" and c.action == "ListGlobalTables",
                lambda c: next(pages))
    got = _scan(dynamo, monkeypatch, tmp_path, "RES-02")
    assert got[("RES-02", "orders")]["status"] == "fail"
    assert got[("RES-02", "sessions")]["status"] == "pass"


def test_legacy_global_tables_unread_make_res02_an_error_never_a_pass(
        dynamo: AwsProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dynamo.reset()
    dynamo.faults.clear()
    dynamo.fail(lambda c: c.service == "dynamodb" and c.action == "ListGlobalTables",
                "AccessDeniedException", 400)
    got = _scan(dynamo, monkeypatch, tmp_path, "RES-02")
    assert {got[("RES-02", t)]["status"] for t in ("orders", "sessions")} == {"error"}


@pytest.mark.parametrize("tokens,pages", [(["archive"] * 2, 2),
                                          (["archive", "orders", "archive"], 3)])
def test_list_global_tables_whose_page_token_repeats_is_unread_not_complete(
        dynamo: AwsProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        tokens: list[str], pages: int) -> None:
    """ListGlobalTables answering a page token it gave before (the same, or a cycle): the
    pages after it are never reached, so the list is not complete; it was read as complete
    (RES-02 pass) and is now unread (error), after a bounded number of calls."""
    calls = iter(tokens)
    seen: list[str] = []

    def page(call: Any) -> dict[str, Any]:
        seen.append(call.action)
        return {"GlobalTables": [], "LastEvaluatedGlobalTableName": next(calls, "archive")}
    dynamo.reset()
    dynamo.faults.clear()
    dynamo.stub(lambda c: c.service == "dynamodb" and c.action == "ListGlobalTables", page)
    got = _scan(dynamo, monkeypatch, tmp_path, "RES-02")
    assert {got[("RES-02", t)]["status"] for t in ("orders", "sessions")} == {"error"}
    assert len(seen) == pages


def test_a_paginated_list_whose_page_tokens_cycle_is_unread_after_one_round(
        dynamo: AwsProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """ListTables answering page 1 again for page 2's token (A, B, A, B...): botocore's
    paginator stops only on a token repeated twice in a row, so the scan never ended (here
    the stub ends the cycle after 40 pages); now the third page, a repeat, makes the
    region's list unread (BAK-03 of the tables listed: error, not read as complete)."""
    answers = [{"TableNames": ["orders"], "LastEvaluatedTableName": "orders"},
               {"TableNames": ["sessions"], "LastEvaluatedTableName": "sessions"}]
    calls: list[str] = []

    def page(call: Any) -> dict[str, Any]:
        calls.append(call.action)
        return answers[(len(calls) - 1) % 2] if len(calls) < 40 else {"TableNames": []}
    dynamo.reset()
    dynamo.faults.clear()
    dynamo.stub(lambda c: c.service == "dynamodb" and c.action == "ListTables", page)
    from tests.test_aws_collector import env

    for k, v in env(dynamo).items():
        monkeypatch.setenv(k, v)
    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE)
    result = run("scan", "aws", "--regions", FRA, "--profile", str(profile), "--checks",
                 "BAK-03", "--format", "json", "--no-timestamps")
    assert len(calls) == 3
    assert result.exit_code == 3, result.stderr
    errors = [f for f in findings_of(json.loads(result.stdout)) if f["status"] == "error"]
    assert any("dynamodb.list_tables" in json.dumps(f) for f in errors)


def test_recovery_settings_denied_make_bak03_an_error_never_a_pass(
        dynamo: AwsProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dynamo.reset()
    dynamo.fail(lambda c: c.service == "dynamodb" and c.action == "DescribeContinuousBackups",
                "AccessDeniedException", 400)
    got = _scan(dynamo, monkeypatch, tmp_path, "BAK-03")
    assert {got[("BAK-03", t)]["status"] for t in ("orders", "sessions", "ledger")} == {"error"}


# --- recorded snapshots --------------------------------------------------------------------

def _env(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return {"request": request, "response": response}


def _pitr(status: str, latest: str | None = "2026-11-30T23:55:00Z") -> dict[str, Any]:
    """DescribeContinuousBackups in the DynamoDB API Reference's shape."""
    desc: dict[str, Any] = {"PointInTimeRecoveryStatus": status}
    if status == "ENABLED":
        desc["RecoveryPeriodInDays"] = 35
        desc["EarliestRestorableDateTime"] = "2026-10-27T00:00:00Z"
        if latest is not None:
            desc["LatestRestorableDateTime"] = latest
    return {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": status,
                                             "PointInTimeRecoveryDescription": desc}}


def _tables(names: list[str], pitr: dict[str, dict[str, Any]],
            errors: list[dict[str, str]] | None = None) -> Any:
    s = section({
        "dynamodb.list_tables": [{"TableName": n} for n in names],
        "dynamodb.describe_table": [_env({"TableName": n}, {"Table": {
            "TableName": n, "TableStatus": "ACTIVE",
            "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{n}"}}) for n in names],
        "dynamodb.describe_continuous_backups": [_env({"TableName": n}, pitr[n])
                                                 for n in names if n in pitr],
        "dynamodb.list_tags_of_resource": [_env(
            {"ResourceArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{n}"}, {"Tags": []})
            for n in names],
    })
    for err in errors or []:
        s.fail("dynamodb.describe_continuous_backups", REGION, ErrorReason.DENIED, err["message"],
               resource=err["table"])
    return s


@pytest.mark.parametrize("sse,level", [
    ({"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": KEY_ARN}, "config"),
    ({"Status": "DISABLED", "SSEType": "KMS", "KMSMasterKeyArn": KEY_ARN}, "provider"),
    (None, "provider"),  # no SSEDescription: the AWS owned key
])
def test_recorded_table_encryption_evidence_follows_its_sse_description(
        tmp_path: Path, sse: dict[str, str] | None, level: str) -> None:
    s = _tables(["orders"], {"orders": _pitr("DISABLED")})
    if sse is not None:
        s.collections["dynamodb.describe_table"][REGION][0]["response"]["Table"][
            "SSEDescription"] = sse
    [f] = [f for f in findings(s, tmp_path, "ENC-01") if f["resource_name"] == "orders"]
    assert (f["status"], f["evidence_level"]) == ("pass", level)


@pytest.mark.parametrize("latest,status", [
    ("2026-11-30T23:55:00Z", "pass"),  # 5 minutes behind the collection
    ("2026-11-30T20:00:00Z", "fail"),  # 4 hours behind, the limit is 15 minutes
    (None, "error"),  # enabled, but the answer does not say how recent
])
def test_pitr_lag_of_a_recorded_table_is_judged_like_rds(
        tmp_path: Path, latest: str | None, status: str) -> None:
    s = _tables(["orders"], {"orders": _pitr("ENABLED", latest)})
    assert {f["status"] for f in findings(s, tmp_path, "BAK-03")
            if f["resource_name"] == "orders"} == {status}


def test_one_tables_denied_recovery_read_errors_that_table_only(tmp_path: Path) -> None:
    s = _tables(["orders", "sessions"], {"sessions": _pitr("DISABLED")},
                [{"table": "orders", "message": "AccessDeniedException: not authorized"}])
    got = {f["resource_name"]: f["status"] for f in findings(s, tmp_path, "BAK-03")
           if f.get("resource_kind") == "database"}
    assert got == {"orders": "error", "sessions": "fail"}


def test_snapshot_recorded_before_dynamodb_was_read_is_an_error_for_bak03(
        tmp_path: Path) -> None:
    """An older snapshot has no DynamoDB collections: its tables are unknown, so BAK-03
    names the missing read as an error (docs/snapshot-format.md); the RDS verdict stands."""
    from tests.test_aws_vendor_bodies import body

    db = dict(body("custodian-rds-tags.json")["rds.DescribeDBInstances_1.json"][
        "DBInstances"][0], BackupRetentionPeriod=7, LatestRestorableTime="2026-11-30T23:55:00Z")
    s = section({"rds.describe_db_instances": [db], "ec2.describe_regions": []},
                {"ec2.describe_regions": GLOBAL})
    got = findings(s, tmp_path, "BAK-03")
    missing = {f["resource"] for f in got if f["status"] == "error"}
    assert f"aws:{ACCOUNT}/global/dynamodb.list_tables" in missing
    assert {f["status"] for f in got if f.get("resource_kind") == "database"} == {"pass"}


# --- Terraform plans -----------------------------------------------------------------------

def _planned_table(name: str, **values: Any) -> Any:
    from fixtures.terraform.build_plans import res

    # aws_dynamodb_table as the AWS provider (5.x, 6.x) plans it: nested blocks are lists
    return res(f"aws_dynamodb_table.{name}", {
        "name": name, "hash_key": "id", "billing_mode": "PAY_PER_REQUEST",
        "attribute": [{"name": "id", "type": "S"}], "tags": {}, **values})


def test_planned_table_is_judged_on_its_recovery_encryption_and_replicas(
        tmp_path: Path) -> None:
    from fixtures.terraform.build_plans import plan
    from tests.helpers import PLAN_AWS, PLAN_STAMP, scan_json, write_plan

    doc = plan([
        _planned_table("sessions"),  # no point_in_time_recovery block: off
        _planned_table("orders", point_in_time_recovery=[{"enabled": True}],
                       server_side_encryption=[{"enabled": True, "kms_key_arn": KEY_ARN}],
                       replica=[{"region_name": "us-east-1"}]),
    ], provider_config=PLAN_AWS, timestamp=PLAN_STAMP)
    _, out = scan_json(str(write_plan(tmp_path, doc)), "--checks",
                       "BAK-02,BAK-03,ENC-01,RES-02,NET-01")
    got = {(f["check"], str(f["resource"]).split("/", 1)[-1]): f for f in findings_of(out)}
    sessions, orders = "aws_dynamodb_table.sessions", "aws_dynamodb_table.orders"
    assert got[("BAK-03", sessions)]["status"] == "fail"
    assert got[("BAK-02", sessions)]["status"] == "fail"
    assert got[("BAK-03", orders)]["status"] == "pass"
    assert got[("BAK-02", orders)]["status"] == "pass"
    assert got[("RES-02", orders)]["status"] == "fail"  # a replica in us-east-1
    assert (got[("ENC-01", sessions)]["evidence_level"],
            got[("ENC-01", orders)]["evidence_level"]) == ("provider", "config")
    assert got[("NET-01", orders)]["status"] == "skip"


@pytest.mark.parametrize("entry", [
    {"GlobalTableName": None, "ReplicationGroup": [{"RegionName": "us-east-1"}]},
    {"GlobalTableName": ["orders"], "ReplicationGroup": [{"RegionName": "us-east-1"}]},
    {"GlobalTableName": "orders", "ReplicationGroup": [{"RegionName": REGION}, {}]},
    {"GlobalTableName": "orders", "ReplicationGroup": [{"RegionName": ["us-east-1"]}]},
])
def test_a_legacy_global_table_entry_without_its_name_or_replica_regions_is_unread(
        tmp_path: Path, entry: dict[str, Any]) -> None:
    """An edited snapshot whose ListGlobalTables entry lost its table name or a replica's
    region: whose replicas, or where, is not known (was: no replica, RES-02 pass)."""
    def res02(entry: dict[str, Any]) -> list[tuple[str, str]]:
        s = _tables(["orders"], {"orders": _pitr("ENABLED")})
        for name in ("dynamodb.list_global_tables", "backup.list_backup_plans",
                     "backup.get_backup_plan", "backup.list_backup_selections",
                     "backup.get_backup_selection", "backup.list_backup_vaults",
                     "rds.describe_db_instance_automated_backups"):
            s.collections.setdefault(name, {})[REGION] = []
        s.collections["dynamodb.list_global_tables"][REGION] = [entry]
        return [(f["status"], f["message"]) for f in findings(s, tmp_path, "RES-02")
                if f.get("resource_name") == "orders"]
    # the same entry, whole: read (a replica in the table's own region only)
    assert res02({"GlobalTableName": "orders", "ReplicationGroup": [
        {"RegionName": REGION}]})[0][0] == "pass"
    [(status, message)] = res02(entry)
    assert status == "error" and "dynamodb.list_global_tables has an entry" in message

