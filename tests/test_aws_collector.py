"""The AWS collector against a moto server over HTTP, through the real CLI.

boto3 talks to a recording proxy in front of `moto.server.ThreadedMotoServer` (see
tests/aws_proxy.py): `AWS_ENDPOINT_URL` and fake credentials in the environment, nothing in
boto3 or the collector patched. The estate (tests/aws_estate.py) is built once per module.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.aws import PROVIDER, policy_actions, shipped_policy
from providers.aws.apis import APIS
from providers.aws.collect import Stats, collect
from scanner import snapshot
from scanner.model import PROPERTIES, Kind
from tests import aws_estate
from tests.aws_proxy import AwsProxy, Call, Fault, serving, start_moto
from tests.helpers import findings_of, run

ACCOUNT = "123456789012"
REGIONS = "eu-central-1,eu-west-1"
EXISTING = "NET-01,NET-02,NET-03,NET-04,TLS-01,TLS-02,TLS-03,ENC-01,RES-01,BAK-02"
PROFILE = """
[profile]
name = "aws-test"
[parameters]
jurisdictions = ["DE"]
operator_cidrs = ["198.51.100.0/24"]
min_tls = "1.2"
public_roles = ["vpn"]
stateful_roles = ["database"]
[parameters.roles.database]
names = ["db-*"]
[parameters.roles.vpn]
names = ["vpn-*"]
"""


@pytest.fixture(scope="module")
def estate() -> Iterator[tuple[AwsProxy, dict[str, Any]]]:
    moto, url = start_moto()
    ids = aws_estate.build(url)
    with serving(moto, url) as proxy:
        yield proxy, ids


@pytest.fixture
def aws(estate: tuple[AwsProxy, dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Iterator[tuple[AwsProxy, dict[str, Any], Path]]:
    proxy, ids = estate
    proxy.reset()
    for k, v in env(proxy).items():
        monkeypatch.setenv(k, v)
    profile = tmp_path / "aws-test.toml"
    profile.write_text(PROFILE)
    yield proxy, ids, profile
    proxy.reset()


def env(proxy: AwsProxy) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": proxy.url, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_RETRY_MODE": "standard"}


def scan(profile: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run("scan", "aws", "--regions", REGIONS, "--profile", str(profile),
                 "--format", "json", "--no-timestamps", *args)
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}, result.stderr


def by_name(doc: dict[str, Any], status: str) -> set[tuple[str, str]]:
    return {(f["check"], f["resource_name"]) for f in findings_of(doc) if f["status"] == status}


EXPECTED_FAILS = {
    ("NET-01", "db-public"),
    ("NET-02", "app-2"), ("NET-02", "open-1"), ("NET-02", "db-public"),
    ("NET-03", "app-2"), ("NET-03", "open-1"),
    ("NET-04", "open-1"),
    ("TLS-01", "web:8443/https"),
    ("TLS-02", "web:8080/http"),
    # every bucket answers on S3's public endpoint; these have no policy denying plain HTTP
    ("TLS-02", "posture-plain-eu"), ("TLS-02", "posture-replica-west"),
    ("TLS-02", "posture-logs-us"), ("TLS-02", "posture-trail-eu"),
    ("TLS-03", "legacy.example.com"),
    ("ENC-01", "open-1-root"), ("ENC-01", "db-public"), ("ENC-01", "posture-plain-eu"),
    ("BAK-02", "hidden-1"), ("BAK-02", "db-public"),
    ("RES-01", "posture-replica-west"), ("RES-01", "posture-logs-us"),
}


def test_live_scan_gives_exactly_the_expected_verdicts(aws: Any) -> None:
    _proxy, _ids, profile = aws
    code, doc, stderr = scan(profile, "--checks", EXISTING)
    assert code == 1, stderr
    assert not [f for f in findings_of(doc) if f["status"] == "error"], doc["errors"]
    assert by_name(doc, "fail") == EXPECTED_FAILS
    passes = by_name(doc, "pass")
    for expected in [("NET-01", "db-private"), ("NET-02", "vpn-1"), ("NET-02", "web"),
                     ("NET-03", "app-1"), ("NET-03", "hidden-1"), ("NET-04", "app-2"),
                     ("NET-04", "vpn-1"), ("TLS-01", "web:443/https"),
                     ("TLS-02", "web:443/https"), ("TLS-02", "web:80/http"),
                     ("TLS-02", "web:8443/https"), ("TLS-02", "posture-data-eu"),
                     ("TLS-03", "app.example.com"),
                     ("ENC-01", "db-private"), ("ENC-01", "posture-data-eu"),
                     ("ENC-01", "hidden-1-data"), ("BAK-02", "db-private"),
                     ("RES-01", "posture-data-eu"), ("RES-01", "web"), ("RES-01", "app-1")]:
        assert expected in passes, expected
    assert ("NET-03", "vpn-1") in by_name(doc, "skip")
    # every AWS resource judged is in this account
    assert {f["account"] for f in findings_of(doc)} == {ACCOUNT}


def test_nacl_deny_rule_is_evaluated_before_the_security_group(aws: Any) -> None:
    _proxy, _ids, profile = aws
    _, doc, _ = scan(profile, "--checks", "NET-02")
    app2 = next(f for f in findings_of(doc) if f["resource_name"] == "app-2")
    # the SG opens 22 and 3389; the subnet's network ACL denies 3389 (rule 100)
    assert {v["ports"] for v in app2["evidence"]["violations"]} == {"22"}


def test_public_ip_without_internet_gateway_route_is_not_reachable(aws: Any) -> None:
    _proxy, _ids, profile = aws
    _, doc, _ = scan(profile, "--checks", "NET-03,NET-04")
    hidden = [f for f in findings_of(doc) if f["resource_name"] == "hidden-1"]
    assert [(f["check"], f["status"]) for f in hidden] == [("NET-03", "pass")]
    assert hidden[0]["evidence"]["public_ips"] == []


def test_load_balancer_forwards_to_its_targets(aws: Any) -> None:
    _proxy, _ids, profile = aws
    _, doc, _ = scan(profile, "--checks", "NET-02")
    app1 = next(f for f in findings_of(doc) if f["resource_name"] == "app-1")
    assert app1["status"] == "pass"  # reached on 8080 through the ALB: not an admin port


def test_record_then_replay_gives_identical_findings(aws: Any, tmp_path: Path) -> None:
    _proxy, _ids, profile = aws
    snap = tmp_path / "aws.json.gz"
    code, live, _ = scan(profile, "--checks", EXISTING, "--record", str(snap))
    assert code == 1
    replay = run("scan", str(snap), "--profile", str(profile), "--checks", EXISTING,
                 "--format", "json", "--no-timestamps")
    replayed = json.loads(replay.stdout)
    assert findings_of(replayed) == findings_of(live)
    assert replayed["claims"] == live["claims"]
    assert run("verify", str(snap)).exit_code == 0


def test_pagination_follows_every_page(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy, _ids, profile = aws
    # 12 reservations in a region no other test scans; 5 per page: pages of 5, 5 and 2
    north = aws_estate.client(proxy.moto_url, "ec2", "eu-north-1")
    for _ in range(12):
        north.run_instances(ImageId=aws_estate.AMI, MinCount=1, MaxCount=1,
                            InstanceType="t3.micro")
    monkeypatch.setenv("POSTURE_AWS_PAGE_SIZE", "5")
    code, doc, stderr = run_only(profile, "eu-north-1", "NET-03")
    assert code in (0, 1), stderr
    pages = [c for c in proxy.calls if c.action == "DescribeInstances"]
    assert len(pages) == 3
    assert len([f for f in findings_of(doc) if f["check"] == "NET-03"]) == 12


def test_access_denied_in_one_region_is_an_error_for_exactly_that_scope(aws: Any) -> None:
    proxy, _ids, profile = aws
    proxy.fail(lambda c: c.service == "rds" and c.region == "eu-west-1", "AccessDenied")
    code, doc, _ = scan(profile, "--checks", "NET-01")
    assert code == 1  # db-public's exposure in eu-central-1 is still a certain violation
    errors = [f for f in findings_of(doc) if f["status"] == "error"]
    assert errors and {f["region"] for f in errors} == {"eu-west-1"}
    assert {f["reason"] for f in errors} == {"denied"}
    assert f"aws:{ACCOUNT}/eu-west-1/rds.describe_db_instances" in {f["resource"]
                                                                    for f in errors}
    status = {f["resource_name"]: f["status"] for f in findings_of(doc)}
    assert status["db-public"] == "fail" and status["db-private"] == "pass"
    code, doc, _ = run_only(profile, "eu-west-1", "NET-01")
    assert code == 3
    assert not [f for f in findings_of(doc) if f["status"] == "pass"]


def run_only(profile: Path, regions: str, checks: str) -> tuple[int, dict[str, Any], str]:
    result = run("scan", "aws", "--regions", regions, "--profile", str(profile),
                 "--checks", checks, "--format", "json", "--no-timestamps")
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}, result.stderr


def test_an_account_that_denies_everything_is_errors_and_exit_3(aws: Any) -> None:
    proxy, _ids, profile = aws
    # first, before the proxy's recorded Bedrock answer: every service denies (a verdict on
    # a resource that was read stands now, whatever failed elsewhere)
    proxy.faults.insert(0, Fault(lambda c: c.service != "sts", "AccessDenied"))
    code, doc, stderr = scan(profile, "--checks", EXISTING)
    assert code == 3
    assert findings_of(doc) and {f["status"] for f in findings_of(doc)} == {"error"}
    assert "Traceback" not in stderr


def test_throttling_is_retried_by_botocore_until_the_call_succeeds(aws: Any) -> None:
    proxy, _ids, profile = aws
    proxy.fail(lambda c: c.action == "DescribeSubnets" and c.region == "eu-central-1",
               "Throttling", status=400, times=2, message="Rate exceeded")
    _code, doc, _ = scan(profile, "--checks", "RES-01")
    assert not [f for f in findings_of(doc) if f["status"] == "error"]
    assert len([c for c in proxy.calls if c.action == "DescribeSubnets"
                and c.region == "eu-central-1"]) == 3


def test_throttling_that_never_stops_is_a_throttled_error(aws: Any,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    proxy, _ids, profile = aws
    monkeypatch.setenv("POSTURE_MAX_RETRIES", "0")
    proxy.fail(lambda c: c.action == "DescribeSecurityGroups" and c.region == "eu-west-1",
               "Throttling", status=400, message="Rate exceeded")
    _code, doc, _ = scan(profile, "--checks", "NET-04")
    errors = [f for f in findings_of(doc) if f["status"] == "error"]
    assert {(f["region"], f["reason"]) for f in errors} == {("eu-west-1", "throttled")}


def test_expired_token_is_one_line_and_exit_2(aws: Any) -> None:
    proxy, _ids, _profile = aws
    proxy.fail(lambda c: c.service == "sts", "ExpiredToken",
               message="The security token included in the request is expired")
    result = run("scan", "aws", "--regions", REGIONS)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "rejected" in result.stderr and "ExpiredToken" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_no_credentials_is_one_line_and_exit_2(aws: Any, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run("scan", "aws", "--regions", REGIONS)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no credentials" in result.stderr


def test_unknown_region_and_bad_role_arn_are_exit_2(aws: Any) -> None:
    result = run("scan", "aws", "--regions", "eu-central-1,mars-north-1")
    assert result.exit_code == 2 and "mars-north-1" in result.stderr
    result = run("scan", "aws", "--role-arn", "not-an-arn")
    assert result.exit_code == 2 and "--role-arn" in result.stderr


def test_role_arn_scans_the_role_account(aws: Any) -> None:
    proxy, _ids, _profile = aws
    result = run("scan", "aws", "--regions", "eu-central-1", "--role-arn",
                 "arn:aws:iam::111122223333:role/posture-readonly", "--checks", "RES-01",
                 "--format", "json", "--no-timestamps")
    doc = json.loads(result.stdout)
    assert doc["sources"][0]["accounts"] == ["aws:111122223333"]
    assert any(c.action == "AssumeRole" for c in proxy.calls)


def test_secrets_are_never_stored_and_are_named(aws: Any, tmp_path: Path) -> None:
    _proxy, _ids, _profile = aws
    out = tmp_path / "s.json"
    result = run("record", "aws", "--regions", REGIONS, "-o", str(out))
    assert result.exit_code in (0, 3), result.stderr  # moto lacks Bedrock: recorded errors
    text = out.read_text()
    for secret in ("hunter2-not-real", "smtp-not-real", "tag-secret-value",
                   "not-a-real-password"):
        assert secret not in text
    section = snapshot.load(out).sections[0]
    inv = PROVIDER.normalize(section)
    found = {r.name: r.prop("plaintext_secrets") for r in inv.resources
             if r.has_prop("plaintext_secrets")}
    assert found["hidden-1"] == ["UserData:DB_PASSWORD"]
    assert found["mailer"] == ["Environment.Variables.SMTP_PASSWORD"]
    assert found["app-1"] == []
    bucket = next(r for r in inv.resources if r.name == "posture-data-eu")
    assert bucket.labels["db_password"] == "<redacted>"
    assert any("db_password" in p for p in section.redacted)


def test_normalizer_fills_the_documented_properties(aws: Any, tmp_path: Path) -> None:
    _proxy, _ids, _profile = aws
    out = tmp_path / "s.json"
    run("record", "aws", "--regions", REGIONS, "-o", str(out))
    inv = PROVIDER.normalize(snapshot.load(out).sections[0])
    for r in inv.resources:
        assert set(r.properties) <= set(PROPERTIES), r.id
        for name in r.properties:
            assert r.kind in PROPERTIES[name].kinds, (r.id, name)
    ids_ = [r.id for r in inv.resources]
    assert len(ids_) == len(set(ids_))
    res = {r.name: r for r in inv.resources}
    account = res[ACCOUNT]
    assert account.kind is Kind.ACCOUNT
    assert account.prop("threat_detection_regions") == ["eu-central-1"]
    alice = res["alice"]
    assert (alice.prop("console_access"), alice.prop("mfa"), alice.prop("admin_grant")) == (
        True, True, True)
    assert res["bob"].prop("mfa") is False and res["bob"].prop("admin_grant") is False
    assert res["ci"].prop("console_access") is False
    assert [c["last_used_days"] for c in res["ci"].prop("credentials")] == [None]
    assert res["alias/db"].prop("rotation_enabled") is True
    assert res["org-audit"].properties == {
        "multi_region": True, "logging_enabled": True, "integrity_validation": True,
        "retention_days": 400, "global_service_events": True, "management_writes": True,
        "management_events": "no event selectors: all read and write management events "
                             "(AWS's documented default)", "excluded_event_sources": []}
    assert res["posture-data-eu"].prop("replica_regions") == ["eu-west-1"]
    assert res["posture-data-eu"].prop("https_only") is True
    assert res["web"].prop("waf") is True and res["web"].prop("waf_rate_limit") is True
    assert res["db-private"].prop("pitr_enabled") is True
    assert res["app-2"].prop("ssh_key_only") is True
    assert res["open-1"].prop("ssh_key_only") is False
    assert res["app-1"].prop("image_deprecated") is None and res["app-1"].has_prop(
        "image_deprecated")


def test_collector_calls_only_read_only_apis_of_the_shipped_policy(
        aws: Any, tmp_path: Path) -> None:
    proxy, _ids, _profile = aws
    stats = Stats()
    sections = collect({"regions": REGIONS}, stats=stats)
    assert sections[0].account == ACCOUNT
    allowed = policy_actions(shipped_policy())
    assert set(stats.calls) <= allowed
    seen = {c for c in proxy.calls if c.service != "sts"}
    assert seen
    for call in seen:
        assert read_only(call), call
        prefix = {"elasticloadbalancing": "elasticloadbalancing"}.get(call.service,
                                                                      call.service)
        if not call.action.startswith(("GET ", "HEAD ")):
            assert f"{prefix}:{call.action}" in allowed, call


def read_only(call: Call) -> bool:
    if call.action.startswith(("GET ", "HEAD ")):
        return True
    return call.action.startswith(("Describe", "List", "Get"))


def test_shipped_policy_holds_every_declared_call_and_only_reads() -> None:
    allowed = policy_actions(shipped_policy())
    declared = {call for c in PROVIDER.collections.values() for call in c.calls}
    assert declared == {a.action for a in APIS}
    assert declared <= allowed
    for action in allowed:
        assert action.split(":", 1)[1].startswith(("Describe", "List", "Get")), action
    doc = json.loads(run("permissions", "aws").stdout)
    assert set(doc["policy"]["Statement"][0]["Action"]) == declared
    narrow = json.loads(run("permissions", "aws", "--checks", "TLS-03").stdout)
    assert "acm:DescribeCertificate" in narrow["calls"]
    assert "iam:ListMFADevices" not in narrow["calls"]


def test_trail_retention_is_the_longest_lived_copy_of_its_logs(aws: Any) -> None:
    _proxy, _ids, profile = aws
    _, doc, stderr = scan(profile, "--checks", "LOG-02")
    assert not doc["errors"], stderr
    [trail] = [f for f in findings_of(doc) if f["check"] == "LOG-02"]
    # bucket lifecycle: 90 days; CloudWatch Logs group: 400 days
    assert (trail["resource_name"], trail["status"], trail["evidence"]) == (
        "org-audit", "pass", {"retention_days": 400, "required_days": 365})
    _, doc, _ = scan(profile, "--checks", "LOG-02", "--profile",
                        str(_short_retention(profile, 500)))
    [trail] = [f for f in findings_of(doc) if f["check"] == "LOG-02"]
    assert trail["status"] == "fail" and trail["message"] == "kept 400 days, fewer than 500"


def _short_retention(profile: Path, days: int) -> Path:
    other = profile.with_name("retention.toml")
    other.write_text(profile.read_text().replace(
        "[parameters]", f"[parameters]\nlog_retention_days = {days}", 1))
    return other


def test_function_and_vault_tags_are_read_for_classification_labels(aws: Any) -> None:
    _proxy, _ids, profile = aws
    _, doc, stderr = scan(profile, "--checks", "INV-02")
    assert not doc["errors"], stderr
    got = {(f["resource_name"], f["status"]) for f in findings_of(doc)
           if f["resource_name"] in ("mailer", "posture-vault")}
    assert got == {("mailer", "pass"), ("posture-vault", "fail")}
    vault = next(f for f in findings_of(doc) if f["resource_name"] == "posture-vault")
    assert vault["evidence"] == {"missing": ["owner", "environment"]}


# Calls whose answers carry timestamps, in botocore's protocols: ec2 and query (XML), json
# (epoch numbers) and rest-xml (ISO strings). Not ACM: moto issues a requested certificate
# some time after the request, so two reads a minute apart differ.
TIMESTAMPED = {"ec2.describe_instances", "ec2.describe_volumes", "ec2.describe_snapshots",
               "iam.get_account_authorization_details", "kms.describe_key", "s3.list_buckets",
               "cloudtrail.describe_trails"}


def test_timestamps_are_stored_as_botocore_reads_them_without_its_slow_parser(
        aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # the collector's ISO 8601 fast path (collect.parse_timestamp) against botocore's own
    # parser, on the same answers: every stored value identical; and with the fast path,
    # no ISO timestamp reaches dateutil (a sixth of the collector's CPU at 4k resources)
    import threading

    import dateutil.parser
    from botocore.utils import parse_timestamp as botocore_parse

    from providers.aws import collect as collect_module

    options = {"regions": REGIONS}
    monkeypatch.setattr(collect_module, "parse_timestamp", botocore_parse)
    (slow,) = collect(options, TIMESTAMPED)
    monkeypatch.undo()
    for k, v in env(aws[0]).items():
        monkeypatch.setenv(k, v)
    seen: list[str] = []
    original = dateutil.parser.parse

    def watched(text: str, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name.startswith("posture-aws"):  # not moto's
            seen.append(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(dateutil.parser, "parse", watched)
    (fast,) = collect(options, TIMESTAMPED)
    assert fast.errors == slow.errors == []
    assert fast.collections == slow.collections
    stored = json.dumps(fast.collections)
    assert "LaunchTime" in stored and "CreateDate" in stored  # timestamps were read
    assert [t for t in seen if "T" in t and t[:4].isdigit()] == []  # no ISO text in dateutil


def test_run_tasks_runs_every_follow_up_and_reraises_a_task_that_raised() -> None:
    from providers.aws.collect import Task, run_tasks

    done: list[str] = []

    def node(name: str, depth: int) -> Any:
        def fn() -> list[Task]:
            done.append(name)
            if depth == 0:
                return []
            return [(f"{name}.{i}", node(f"{name}.{i}", depth - 1)) for i in range(3)]
        return fn

    run_tasks([(str(i), node(str(i), 4)) for i in range(5)], workers=4)
    assert len(done) == len(set(done)) == 5 * (1 + 3 + 9 + 27 + 81)

    def broken() -> list[Task]:
        raise RuntimeError("a bug")

    after: list[int] = []
    with pytest.raises(RuntimeError, match="a bug"):
        run_tasks([("b", broken), *((str(i), lambda i=i: after.append(i) or [])
                                    for i in range(50))], workers=2)
    assert sorted(after) == list(range(50))  # the others still ran
    run_tasks([], workers=2)  # nothing to do: returns


def test_run_tasks_bounds_each_lane_on_its_own_so_one_service_region_never_waits_on_another(
        ) -> None:
    from providers.aws.collect import Task, run_tasks

    def lane(key: str) -> str:
        return key.split("|")[0]

    # 3 tasks in each of two lanes, each waiting until all 6 run: passes only if the lanes
    # have a pool of 3 each (one pool of 3 would leave the barrier broken)
    everyone = threading.Barrier(6, timeout=10)

    def meet() -> list[Task]:
        everyone.wait()
        return []

    run_tasks([(f"{name}|{i}", meet) for name in "ab" for i in range(3)], workers=3, lane=lane)

    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    lock = threading.Lock()

    def work(name: str) -> Any:
        def fn() -> list[Task]:
            with lock:
                running[name] += 1
                peak[name] = max(peak[name], running[name])
            time.sleep(0.02)
            with lock:
                running[name] -= 1
            return []
        return fn

    run_tasks([(f"{name}|{i}", work(name)) for name in "ab" for i in range(12)], workers=3,
              lane=lane)
    assert peak == Counter({"a": 3, "b": 3})  # each lane up to `workers` at once, no more

    # and all lanes together at most `total` at once
    running.clear()
    peak.clear()
    run_tasks([(f"{name}|{i}", work("all")) for name in "abcd" for i in range(6)], workers=3,
              lane=lane, total=5)
    assert peak["all"] == 5


def test_task_lane_is_the_service_and_region_a_task_calls() -> None:
    from providers.aws.collect import task_lane

    assert task_lane("123456789012/eu-west-1/ec2.describe_instances") == "ec2/eu-west-1"
    assert task_lane("123456789012/iam.get_account_authorization_details") == "iam/global"
    assert task_lane("ec2.describe_instance_attribute|eu-north-1") == "ec2/eu-north-1"
    assert task_lane("s3.get_bucket_policy|eu-central-1") == "s3/eu-central-1"
    assert task_lane("s3.get_bucket_location|global") == "s3/global"
