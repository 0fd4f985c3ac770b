"""The posture half of bench/bench_prowler.py at a tiny size (no Prowler install here: the
Prowler half needs PyPI and minutes; run the script itself for it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import bench_prowler, prowler_estate
from scanner.registry import load_checks
from tests.aws_proxy import AwsProxy, ReplayCache, replay_key, start_moto


def test_every_mapped_control_is_a_posture_check_and_every_prowler_id_is_distinct() -> None:
    known = set(load_checks())
    assert set(bench_prowler.CHECKS) <= known
    ids = [p for ps in bench_prowler.CHECKS.values() for p in ps]
    assert len(ids) == len(set(ids)) == len(bench_prowler.prowler_checks())


def test_estate_mix_scales_to_the_requested_size() -> None:
    for size in (87, 4000, 10000):
        got = prowler_estate.mix_for(size).expected()
        assert abs(got - size) / size < 0.1, (size, got)


def test_posture_half_scans_the_emulated_account_through_the_counting_proxy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the bench turns moto's built-in images off for its estate (os.environ): restored after
    # this test, or every later moto server of the process (tests/aws_estate.py runs an
    # instance of one of those images) would start without them
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    out = tmp_path / "prowler.json"
    assert bench_prowler.main(["--no-prowler", "--sizes", "80", "--latency-ms", "1",
                               "--rounds", "0", "--no-warmup", "--emulator", "both",
                               "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    row, replay_row = doc["rows"]
    assert (row["emulator"], replay_row["emulator"]) == ("moto", "replay")
    (run,) = doc["runs"][0]["modes"]["moto"]["posture"]
    # the replay run is served from what moto answered the moto run: every call replayed,
    # none missed, the same findings
    (replayed,) = doc["runs"][0]["modes"]["replay"]["posture"]
    assert replayed["missed"] == replay_row["missed"] == 0
    assert replayed["replayed"] == replayed["calls"] == run["calls"]
    assert replayed["by_status"] == run["by_status"]
    assert replayed["operations"] == run["operations"]
    assert row["resources"] == doc["runs"][0]["created"] >= 79
    assert run["resources"] > 0 and run["by_status"]["fail"] > 0
    assert run["by_status"]["error"] == 0
    assert row["posture_calls"] == run["calls"] == sum(run["operations"].values()) > 0
    # the calls are named by operation, across the services the controls read
    assert run["operations"]["ec2:DescribeInstances"] >= 3  # once per region at least
    assert any(op.startswith("s3:GetBucket") for op in run["operations"])
    printed = capsys.readouterr().out
    assert "| account | emulator | posture wall |" in printed
    assert f"| {row['resources']:,} resources | moto |" in printed
    assert f"| {row['resources']:,} resources | replay (0 missed) |" in printed
    assert doc["prowler_version"] is None and "prowler_calls" not in row


def test_replay_key_ignores_signature_date_and_client_but_not_what_selects_the_answer(
        ) -> None:
    def headers(region: str = "eu-west-1", **extra: str) -> dict[str, str]:
        return {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/"
                f"{region}/ec2/aws4_request, SignedHeaders=host;x-amz-date, "
                f"Signature={extra.pop('sig', 'ab12')}",
                "X-Amz-Date": extra.pop("date", "20261207T080000Z"),
                "User-Agent": extra.pop("ua", "Boto3/1.35"),
                "amz-sdk-invocation-id": extra.pop("inv", "1"),
                "amz-sdk-request": extra.pop("attempt", "attempt=1"),
                "Host": "127.0.0.1:1", **extra}

    body = b"Action=DescribeInstances&Version=2016-11-15"
    key = replay_key("POST", "/", headers(), body)
    assert key == replay_key("POST", "/", headers(sig="cd34", date="20261207T090000Z",
                                                  ua="prowler", inv="2",
                                                  attempt="attempt=2"), body)
    assert key != replay_key("POST", "/", headers(region="eu-central-1"), body)
    assert key != replay_key("POST", "/", headers(), body + b"&MaxResults=5")
    assert key != replay_key("GET", "/", headers(), body)
    assert key != replay_key("POST", "/?x", headers(), body)
    assert key != replay_key("POST", "/", headers(**{"X-Amz-Target": "Kms.ListKeys"}), body)


def test_replay_gives_a_polled_call_its_answers_in_the_order_moto_gave_them() -> None:
    # IAM GenerateCredentialReport answers STARTED, then COMPLETE (Prowler polls it until
    # COMPLETE): a replay of the first answer alone would keep a poller waiting forever
    import boto3  # type: ignore[import-untyped]

    moto, url = start_moto()
    try:
        with AwsProxy(moto, url, replay=ReplayCache()) as proxy:
            iam = boto3.client("iam", region_name="us-east-1", endpoint_url=proxy.url,
                               aws_access_key_id="bench", aws_secret_access_key="bench")
            assert proxy.replay is not None
            recorded = [iam.generate_credential_report()["State"] for _ in range(2)]
            assert recorded == ["STARTED", "COMPLETE"]
            proxy.replay.serving = True
            proxy.replay.rewind()
            served = [iam.generate_credential_report()["State"] for _ in range(3)]
            assert served == ["STARTED", "COMPLETE", "COMPLETE"]
            assert proxy.replay.counts() == (3, 0)  # all from the kept answers, none missed
    finally:
        moto.stop()
