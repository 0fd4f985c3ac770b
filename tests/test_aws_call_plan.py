"""No more AWS calls than the selected checks need, and the same verdicts as a full scan.

The collection plan comes from the selected checks' kinds and the properties they read
(`Check.reads` x `providers.aws.apis.PRODUCES`): a call that only fills properties is made
only when a selected check reads one of them, and the lifecycle of S3 buckets only for the
buckets trails write to. Live scans run through the real CLI against the moto estate of
tests/aws_estate.py behind the recording proxy (tests/aws_proxy.py), which sees every call.
A snapshot recorded for fewer checks must make `error`, never `pass`, of what it lacks.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session  # type: ignore[import-untyped]
import pytest
from botocore import xform_name

from providers.aws import PROVIDER, calls_per_check
from providers.aws.apis import AFFECTS, APIS, BY_NAME, MARKED_BY_NORMALIZER, PRODUCES, closure
from scanner import profile as profiles
from scanner import snapshot
from scanner.model import Kind
from scanner.registry import load_checks
from tests import aws_estate
from tests.aws_proxy import AwsProxy, serving, start_moto
from tests.helpers import assert_doc_table, findings_of, run
from tests.test_aws_collector import ACCOUNT, PROFILE, env

REGIONS = "eu-central-1,eu-west-1"
CHECKS = sorted(load_checks())
TRAIL_BUCKET = "posture-trail-eu"
PER_BUCKET_S3 = {"GetBucketEncryption", "GetBucketReplication", "GetPublicAccessBlock",
                 "GetBucketPolicy", "GetBucketTagging", "GetBucketLifecycleConfiguration"}


@pytest.fixture(scope="module")
def estate() -> Iterator[AwsProxy]:
    moto, url = start_moto()
    aws_estate.build(url)
    with serving(moto, url) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "aws-test.toml"
    path.write_text(PROFILE)
    return path


@pytest.fixture
def aws(estate: AwsProxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsProxy]:
    estate.reset()
    for k, v in env(estate).items():
        monkeypatch.setenv(k, v)
    yield estate
    estate.reset()


def scan(profile: Path, checks: str, *args: str) -> dict[str, Any]:
    result = run("scan", "aws", "--regions", REGIONS, "--profile", str(profile), "--checks",
                 checks, "--format", "json", "--no-timestamps", *args)
    assert result.exit_code in (0, 1), result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def calls(proxy: AwsProxy) -> list[tuple[str, str]]:
    """(operation, path) of every call the collector made, STS aside."""
    return [(c.operation, c.path) for c in proxy.calls if c.service != "sts"]


@functools.cache
def operation(api_name: str) -> str:
    """The wire operation of a declared call (s3.get_bucket_policy: GetBucketPolicy)."""
    api = BY_NAME[api_name]
    model = botocore.session.get_session().get_service_model(api.service)
    return str(next(op for op in model.operation_names if xform_name(op) == api.method))


def planned(*check_ids: str) -> set[str]:
    """The operations the plan allows for these checks (their parents included)."""
    registry = load_checks()
    names = closure(PROVIDER.collections_for_checks([registry[c] for c in check_ids]))
    return {operation(n) for n in names}


def check_findings(doc: dict[str, Any], check_id: str) -> list[str]:
    """The check's findings, without what depends on when the scan ran (a certificate's
    days left counts from the collection time, to the second: two scans a second apart may
    say 365 and 364 days, in the evidence and the message)."""
    def timeless(f: dict[str, Any]) -> dict[str, Any]:
        evidence = {k: v for k, v in f["evidence"].items() if k not in ("as_of", "days_left")}
        message = re.sub(r"-?\d+ (more )?days?", "N days", f["message"]) \
            if "days_left" in f["evidence"] else f["message"]
        return {**f, "message": message, "evidence": evidence}
    return sorted(json.dumps(timeless(f), sort_keys=True)
                  for f in findings_of(doc) if f["check"] == check_id)


def assert_same_findings(narrow: dict[str, Any], full: dict[str, Any], check_id: str) -> None:
    """The check's findings in a narrow scan equal a full scan's; a failure prints both whole
    (pytest's own diff truncates the one long line that differs)."""
    got, want = check_findings(narrow, check_id), check_findings(full, check_id)
    assert got == want, "\n".join([f"{check_id}: narrow scan", *got, "full scan", *want])


@pytest.fixture(scope="module")
def full(estate: AwsProxy, profile: Path) -> dict[str, Any]:
    """Every check, every call: what each narrow scan must match."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env(estate).items():
            mp.setenv(k, v)
        estate.reset()
        doc = scan(profile, ",".join(CHECKS))
        estate.reset()
    return doc


@pytest.mark.parametrize("check_id", CHECKS)
def test_one_check_calls_only_what_it_reads_and_judges_as_a_full_scan(
        aws: AwsProxy, profile: Path, full: dict[str, Any], check_id: str) -> None:
    doc = scan(profile, check_id)
    made = {op for op, _ in calls(aws)}
    assert made <= planned(check_id), sorted(made - planned(check_id))
    assert_same_findings(doc, full, check_id)
    lifecycle = [path for op, path in calls(aws) if op == "GetBucketLifecycleConfiguration"]
    assert all(TRAIL_BUCKET in path for path in lifecycle), lifecycle


def test_trail_retention_reads_the_lifecycle_of_the_trail_bucket_only(
        aws: AwsProxy, profile: Path) -> None:
    doc = scan(profile, "LOG-02")
    s3 = [(op, path) for op, path in calls(aws) if op in PER_BUCKET_S3]
    assert [op for op, _ in s3] == ["GetBucketLifecycleConfiguration"]
    assert TRAIL_BUCKET in s3[0][1]
    [trail] = [f for f in findings_of(doc) if f["check"] == "LOG-02"]
    assert (trail["resource_name"], trail["status"]) == ("org-audit", "pass")


def test_trail_settings_make_no_s3_logs_or_guardduty_call(aws: Any, profile: Path) -> None:
    scan(profile, "LOG-01")
    made = {op for op, _ in calls(aws)}
    assert "DescribeTrails" in made and "GetTrailStatus" in made
    assert not made & (PER_BUCKET_S3 | {"ListBuckets", "DescribeLogGroups", "ListDetectors"})


def test_residency_reads_buckets_for_their_location_and_labels_only(
        aws: AwsProxy, profile: Path) -> None:
    scan(profile, "RES-01")
    made = {op for op, _ in calls(aws)}
    assert "GetBucketLocation" in made
    # labels decide roles and profile scopes for every check: the tags are read too
    assert made & PER_BUCKET_S3 == {"GetBucketTagging"}
    assert not {op for op in made if op.startswith(("GetKeyRotation", "DescribeKey"))}


def test_exposure_checks_make_no_backup_call(aws: AwsProxy, profile: Path) -> None:
    scan(profile, "NET-02")
    assert not [c for c in aws.calls if c.service == "backup"]
    assert not {op for op, _ in calls(aws)} & {"DescribeInstanceAttribute", "DescribeImages",
                                               "DescribeDBInstanceAutomatedBackups"}


def test_key_rotation_calls_nothing_but_kms(aws: AwsProxy, profile: Path) -> None:
    scan(profile, "ENC-03")
    assert {c.service for c in aws.calls} <= {"kms", "sts"}


def test_access_key_age_reads_no_login_profile_mfa_or_policy_documents(
        aws: AwsProxy, profile: Path) -> None:
    scan(profile, "IAM-04")
    made = {op for op, _ in calls(aws)}
    assert "ListAccessKeys" in made
    assert not made & {"GetLoginProfile", "ListMFADevices", "ListPolicies", "GetPolicyVersion"}


def test_default_profile_skips_what_no_check_reads(
        aws: AwsProxy, profile: Path, full: dict[str, Any]) -> None:
    default = sorted(profiles.load("default").check_ids())
    doc = scan(profile, ",".join(default))
    made = [(op, path) for op, path in calls(aws)]
    assert "GetPublicAccessBlock" not in {op for op, _ in made}  # no check reads it
    lifecycle = [path for op, path in made if op == "GetBucketLifecycleConfiguration"]
    assert len(lifecycle) == 1 and TRAIL_BUCKET in lifecycle[0]
    for check_id in default:
        assert_same_findings(doc, full, check_id)


# --- a snapshot recorded for fewer checks -------------------------------------------------


def record(profile: Path, checks: str, out: Path) -> None:
    result = run("record", "aws", "--regions", REGIONS, "--checks", checks, "-o", str(out))
    assert result.exit_code == 0, result.stderr


def replay(snap: Path, profile: Path, checks: str) -> dict[str, Any]:
    result = run("scan", str(snap), "--profile", str(profile), "--checks", checks,
                 "--format", "json", "--no-timestamps")
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_snapshot_without_the_lifecycle_makes_trail_retention_an_error(
        aws: AwsProxy, profile: Path, tmp_path: Path) -> None:
    snap = tmp_path / "log01.json.gz"
    record(profile, "LOG-01", snap)
    doc = replay(snap, profile, "LOG-02")
    statuses = {f["resource"]: (f["status"], f.get("reason")) for f in findings_of(doc)}
    assert not [s for s, _ in statuses.values() if s == "pass"]
    assert (f"aws:{ACCOUNT}/global/s3.get_bucket_lifecycle_configuration"
            in statuses)


def test_lifecycle_read_for_trail_buckets_only_leaves_other_buckets_unknown(
        aws: AwsProxy, profile: Path, tmp_path: Path) -> None:
    """A snapshot recorded for LOG-02 holds the lifecycle of the trail's bucket only; a trail
    that (in an edited or later snapshot) writes to another listed bucket is `error`."""
    snap = tmp_path / "log02.json.gz"
    record(profile, "LOG-02", snap)
    loaded = snapshot.load(snap)
    [section] = loaded.sections
    lifecycle = [env["request"]["Bucket"] for objs in section.collections[
        "s3.get_bucket_lifecycle_configuration"].values() for env in objs]
    assert lifecycle == [TRAIL_BUCKET]
    assert findings_of(replay(snap, profile, "LOG-02"))[0]["status"] == "pass"
    for objs in section.collections["cloudtrail.describe_trails"].values():
        for trail in objs:
            trail["S3BucketName"] = "posture-data-eu"  # listed, its lifecycle not read
    other = tmp_path / "edited.json.gz"
    snapshot.write(snapshot.Snapshot(sections=[section]), other)
    doc = replay(other, profile, "LOG-02")
    [trail] = [f for f in findings_of(doc) if f["check"] == "LOG-02"]
    assert trail["status"] == "error"


def test_snapshot_for_encryption_judges_no_bucket_on_the_unread_https_policy(
        aws: AwsProxy, profile: Path, tmp_path: Path) -> None:
    snap = tmp_path / "enc01.json.gz"
    record(profile, "ENC-01", snap)
    doc = replay(snap, profile, "TLS-02")
    # no bucket is judged on a policy that was not read: the unread scope is the error
    assert not [f for f in findings_of(doc) if f["resource_kind"] == "bucket"
                and f["status"] != "error"]
    assert f"aws:{ACCOUNT}/global/s3.get_bucket_policy" in {
        f["resource"] for f in findings_of(doc)}


# --- the declarations ---------------------------------------------------------------------


def test_every_property_a_call_decides_is_one_its_absence_fails_closed_on() -> None:
    """What a call produces is named in its `affects`: a snapshot recorded without it makes
    `error` of the verdicts that read it (kms.describe_key's `implicit` aside: INV-01 only
    skips on it, and an unread key manager leaves the key undeclared, never passing)."""
    for name, made in PRODUCES.items():
        assert name in BY_NAME, name
        if name in MARKED_BY_NORMALIZER:  # the normalizer marks what it could change
            assert not AFFECTS.get(name), name
            continue
        for kind, props in made.items():
            extra = props - AFFECTS.get(name, {}).get(kind, set())
            if name == "kms.describe_key":
                extra -= {"implicit"}
            assert not extra, (name, kind, extra)
            assert kind in BY_NAME[name].kinds, (name, kind)


def test_permissions_for_checks_are_the_plan() -> None:
    registry = load_checks()
    for check_id in CHECKS:
        doc = json.loads(run("permissions", "aws", "--checks", check_id).stdout)
        wanted = closure(PROVIDER.collections_for_checks([registry[check_id]]))
        assert set(doc["calls"]) == {BY_NAME[n].action for n in wanted}, check_id
    assert all(a.kinds for a in APIS) and Kind.BUCKET in BY_NAME["s3.list_buckets"].kinds


DOC = Path(__file__).resolve().parents[1] / "docs" / "aws.md"


def calls_table() -> str:
    rows = ["| check | IAM actions of the calls it makes (`posture permissions aws --checks ID`) |",
            "|---|---|"]
    for check_id, actions in calls_per_check(load_checks().values()):
        rows.append(f"| {check_id} | {', '.join(f'`{a}`' for a in actions)} |")
    return "\n".join(rows)


def test_docs_list_the_calls_of_each_check_as_the_plan_makes_them() -> None:
    """docs/aws.md's table is the plan (POSTURE_WRITE_DOCS=1 rewrites it)."""
    assert_doc_table(DOC, calls_table())
