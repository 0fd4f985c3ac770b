"""LOG-01 reads what a CloudTrail trail records (its event selectors), not only that it is
multi-region, logging and validated: a trail whose selectors leave out management write
events records no control-plane change.

- over a moto server, through the recording proxy and the real CLI: one multi-region,
  logging, validated trail per case, its selectors put with PutEventSelectors;
- the aws-cli documentation's GetEventSelectors / PutEventSelectors answers
  (tests/data/aws/README.md);
- a snapshot recorded before posture read the selectors, and Terraform plans.
Semantics: providers/aws/normalize/trails.py (CloudTrail API Reference EventSelector,
AdvancedEventSelector, AdvancedFieldSelector; CloudTrail User Guide "Logging management
events").
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.terraform.build_plans import plan, res
from providers.aws.normalize.trails import management_writes
from providers.terraform import PROVIDER as TERRAFORM
from scanner import snapshot
from scanner.model import Kind, Resource
from tests import aws_estate
from tests.aws_proxy import AwsProxy, Call, serving, start_moto
from tests.helpers import PLAN_AWS, PLAN_STAMP, findings_of, run, write_plan
from tests.test_aws_collector import env
from tests.test_aws_vendor_bodies import body, findings, section

REGION = aws_estate.REGION
BUCKET = "trail-selectors-logs"
DOCS = body("aws-docs-examples.json")
ROOT = Path(__file__).resolve().parent.parent

MANAGEMENT = {"Field": "eventCategory", "Equals": ["Management"]}
DATA_S3 = [{"Field": "eventCategory", "Equals": ["Data"]},
           {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]
# case -> (EventSelectors, AdvancedEventSelectors, LOG-01 on the account)
CASES: dict[str, tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None, str]] = {
    "no-selectors-default": (None, None, "pass"),
    "basic-all": ([{"ReadWriteType": "All", "IncludeManagementEvents": True}], None, "pass"),
    "basic-write-only": ([{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}],
                         None, "pass"),
    "basic-read-only": ([{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}],
                        None, "fail"),
    "basic-no-management-events": ([{"ReadWriteType": "All", "IncludeManagementEvents": False,
                                     "DataResources": [{"Type": "AWS::S3::Object",
                                                        "Values": ["arn:aws:s3"]}]}],
                                   None, "fail"),
    "basic-kms-excluded": ([{"ReadWriteType": "All", "IncludeManagementEvents": True,
                             "ExcludeManagementEventSources": ["kms.amazonaws.com"]}],
                           None, "fail"),
    "basic-rdsdata-excluded": ([{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                 "ExcludeManagementEventSources": ["rdsdata.amazonaws.com"]}],
                               None, "pass"),
    "advanced-management-writes": (None, [{"Name": "writes", "FieldSelectors": [
        MANAGEMENT, {"Field": "readOnly", "Equals": ["false"]}]}], "pass"),
    "advanced-management-reads-only": (None, [{"Name": "reads", "FieldSelectors": [
        MANAGEMENT, {"Field": "readOnly", "Equals": ["true"]}]}], "fail"),
    "advanced-data-events-only": (None, [{"Name": "s3", "FieldSelectors": DATA_S3}], "fail"),
    "advanced-kms-excluded": (None, [{"Name": "no-kms", "FieldSelectors": [
        MANAGEMENT, {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]}], "fail"),
    "advanced-rdsdata-excluded": (None, [{"Name": "no-rdsdata", "FieldSelectors": [
        MANAGEMENT, {"Field": "eventSource", "NotEquals": ["rdsdata.amazonaws.com"]}]}],
        "pass"),
}


# --- over moto ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def estate() -> Iterator[tuple[AwsProxy, str]]:
    moto, url = start_moto()
    s3 = aws_estate.client(url, "s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    with serving(moto, url) as proxy:
        yield proxy, url


@pytest.fixture
def aws(estate: tuple[AwsProxy, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    proxy, url = estate
    proxy.reset()
    for k, v in env(proxy).items():
        monkeypatch.setenv(k, v)
    ct = aws_estate.client(url, "cloudtrail")
    yield proxy, ct
    for t in ct.describe_trails()["trailList"]:
        ct.delete_trail(Name=t["Name"])
    proxy.reset()


def make_trail(ct: Any, name: str, basic: list[dict[str, Any]] | None = None,
               advanced: list[dict[str, Any]] | None = None, **extra: Any) -> None:
    ct.create_trail(Name=name, S3BucketName=BUCKET, IsMultiRegionTrail=True,
                    EnableLogFileValidation=True, **extra)
    ct.start_logging(Name=name)
    if basic is not None:
        ct.put_event_selectors(TrailName=name, EventSelectors=basic)
    if advanced is not None:
        ct.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)


def scan_log01(*args: str) -> dict[str, Any]:
    result = run("scan", "aws", "--regions", REGION, "--checks", "LOG-01", "--format", "json",
                 "--no-timestamps", *args)
    assert result.exit_code in (0, 1, 3), result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def account_verdict(doc: dict[str, Any]) -> dict[str, Any]:
    found = [f for f in findings_of(doc) if f["check"] == "LOG-01"
             and f["resource_kind"] == "account"]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_log01_passes_only_a_trail_whose_selectors_record_management_writes(
        aws: Any, case: str) -> None:
    """Before: every one of these trails passed (multi-region, logging, validated)."""
    _proxy, ct = aws
    basic, advanced, verdict = CASES[case]
    make_trail(ct, f"trail-{case}", basic, advanced)
    found = account_verdict(scan_log01())
    assert len(found["evidence"]["trails"]) == 1
    assert found["status"] == verdict, found
    if case.endswith("excluded"):  # what is left out is named, pass or fail
        trail = found["evidence"]["trails"][0]
        assert trail["excluded_event_sources"] == [
            "kms.amazonaws.com" if "kms" in case else "rdsdata.amazonaws.com"]


def test_unreadable_selectors_turn_the_pass_into_an_error(aws: Any, tmp_path: Path) -> None:
    proxy, ct = aws
    make_trail(ct, "audit")
    proxy.fail(lambda c: c.operation == "GetEventSelectors", "AccessDeniedException",
               status=400)
    out = tmp_path / "s.json"
    found = account_verdict(scan_log01("--record", str(out)))
    assert found["status"] == "error", found
    errors = snapshot.load(out).sections[0].errors
    assert [e["collection"] for e in errors] == ["cloudtrail.get_event_selectors"]


def test_unreadable_selectors_leave_a_fail_a_fail(aws: Any) -> None:
    """A trail that logs nothing fails whatever its selectors say (direction: opens)."""
    proxy, ct = aws
    make_trail(ct, "stopped")
    ct.stop_logging(Name="stopped")
    proxy.fail(lambda c: c.operation == "GetEventSelectors", "AccessDeniedException",
               status=400)
    assert account_verdict(scan_log01())["status"] == "fail"


def test_multi_region_trail_selectors_read_once_from_its_home_region(aws: Any) -> None:
    """DescribeTrails (includeShadowTrails) lists the trail in every region scanned; its
    selectors are read once, in its home region."""
    proxy, ct = aws
    make_trail(ct, "audit")
    result = run("scan", "aws", "--regions", f"{REGION},eu-west-1", "--checks", "LOG-01",
                 "--format", "json", "--no-timestamps")
    assert result.exit_code in (0, 1), result.stderr
    calls: list[Call] = [c for c in proxy.calls if c.operation == "GetEventSelectors"]
    assert [c.region for c in calls] == [REGION]
    assert account_verdict(json.loads(result.stdout))["status"] == "pass"


def test_aws_refuses_a_multi_region_trail_without_global_service_events(aws: Any) -> None:
    """CreateTrail refuses IsMultiRegionTrail with IncludeGlobalServiceEvents false (as moto
    reproduces): live, such a trail cannot exist; a recorded one fails (below)."""
    _proxy, ct = aws
    with pytest.raises(Exception, match="must include global service events"):
        make_trail(ct, "no-iam", IncludeGlobalServiceEvents=False)


# --- the aws-cli documentation's answers ---------------------------------------------------


def vendor_section(answer: dict[str, Any] | None, global_events: bool = True) -> Any:
    trail = copy.deepcopy(DOCS["cloudtrail.DescribeTrails"]["trailList"][0])
    trail.update({"IsMultiRegionTrail": True, "LogFileValidationEnabled": True,
                  "IncludeGlobalServiceEvents": global_events})
    arn = trail["TrailARN"]
    collections: dict[str, list[dict[str, Any]]] = {
        "cloudtrail.describe_trails": [trail],
        "cloudtrail.get_trail_status": [{"request": {"Name": arn},
                                         "response": {"IsLogging": True}}],
        "ec2.describe_regions": [{"RegionName": "us-east-1"}],
    }
    if answer is not None:
        collections["cloudtrail.get_event_selectors"] = [
            {"request": {"TrailName": arn}, "response": answer}]
    return section(collections, {"ec2.describe_regions": "global"})


def log01(s: Any, tmp_path: Path) -> dict[str, Any]:
    found = [f for f in findings(s, tmp_path, "LOG-01") if f["resource_kind"] == "account"]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("key", "change", "verdict"), [
    ("aws-cli.cloudtrail.get-event-selectors", None, "pass"),
    ("aws-cli.cloudtrail.get-event-selectors", ("ReadWriteType", "ReadOnly"), "fail"),
    ("aws-cli.cloudtrail.get-event-selectors", ("IncludeManagementEvents", False), "fail"),
    ("aws-cli.cloudtrail.get-event-selectors", ("ReadWriteType", "WriteOnly"), "pass"),
    ("aws-cli.cloudtrail.put-event-selectors", None, "pass"),
    ("aws-cli.cloudtrail.put-event-selectors", "drop-management", "fail"),
])
def test_documented_selector_answers(key: str, change: Any, verdict: str,
                                     tmp_path: Path) -> None:
    answer = copy.deepcopy(DOCS[key])
    if change == "drop-management":  # only its data-event selectors are left
        answer["AdvancedEventSelectors"] = answer["AdvancedEventSelectors"][1:]
    elif change is not None:
        answer["EventSelectors"][0][change[0]] = change[1]
    assert log01(vendor_section(answer), tmp_path)["status"] == verdict


def test_trail_recorded_without_global_service_events_fails(tmp_path: Path) -> None:
    """IAM, STS and CloudFront changes are recorded (in us-east-1) only by trails that
    include global service events (CloudTrail User Guide, "Enabling and disabling global
    service event logging")."""
    found = log01(vendor_section(DOCS["aws-cli.cloudtrail.get-event-selectors"],
                                 global_events=False), tmp_path)
    assert found["status"] == "fail", found
    assert found["evidence"]["trails"][0]["global_service_events"] is False


def test_snapshot_recorded_before_selectors_were_read_errors_a_pass(tmp_path: Path) -> None:
    """The aws-cli answers without the get_event_selectors collection (an older posture's
    snapshot): LOG-01 cannot pass on what it does not know."""
    found = log01(vendor_section(None), tmp_path)
    assert found["status"] == "error", found


def test_bundled_seed002_without_the_collection_errors_the_pass_and_keeps_the_fail(
        tmp_path: Path) -> None:
    """seed002's audit account passes, its sandbox fails (single region); with the
    selectors collection dropped (as an older posture recorded it): error and fail."""
    snap = snapshot.load(ROOT / "fixtures/aws/seed002-aws.json")
    for s in snap.sections:
        s.collections.pop("cloudtrail.get_event_selectors")
    path = tmp_path / "old.json"
    snapshot.write(snapshot.Snapshot(sections=snap.sections, created_at=snap.created_at,
                                     tool_version="0.1.0"), path)
    result = run("scan", str(path), "--checks", "LOG-01", "--format", "json",
                 "--no-timestamps")
    got = {f["account"]: f["status"] for f in findings_of(json.loads(result.stdout))
           if f["check"] == "LOG-01" and f["resource_kind"] == "account"}
    assert got == {"210987654321": "error", "210987654322": "fail"}


@pytest.mark.parametrize(("basic", "advanced", "recorded"), [
    # an operator or field posture does not know: unknown, never a pass
    (None, [{"FieldSelectors": [{"Field": "eventCategory", "Matches": ["Management"]}]}],
     None),
    (None, [{"FieldSelectors": [MANAGEMENT, {"Field": "userIdentity.arn",
                                             "NotEquals": ["x"]}]}], None),
    (None, [{"FieldSelectors": [MANAGEMENT, {"Field": "eventSource",
                                             "Equals": ["iam.amazonaws.com"]}]}], None),
    ([{"ReadWriteType": "Everything"}], None, None),
    ([{"ExcludeManagementEventSources": ["iam.amazonaws.com"]}], None, None),
    ([{"ReadWriteType": "All"}], [{"FieldSelectors": [MANAGEMENT]}], None),
    # operators as documented
    (None, [{"FieldSelectors": [{"Field": "eventCategory", "StartsWith": ["Manage"]}]}],
     True),
    (None, [{"FieldSelectors": [{"Field": "eventCategory", "NotEquals": ["Data"]},
                                {"Field": "readOnly", "NotEquals": ["true"]}]}], True),
    (None, [{"FieldSelectors": [MANAGEMENT, {"Field": "readOnly", "NotEndsWith": ["e"]}]}],
     False),
    # a read selector and a write selector together record the writes
    ([{"ReadWriteType": "ReadOnly"}, {"ReadWriteType": "WriteOnly"}], None, True),
    # a source is left out only when every selector recording writes leaves it out
    ([{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}, {"ReadWriteType": "All"}],
     None, True),
    ([], [], True),
    # answers of the wrong shape: unknown
    ([{"ReadWriteType": ["All"]}], None, None),
    (None, [{"FieldSelectors": "eventCategory=Management"}], None),
    ("All", None, None),
])
def test_selector_reading(basic: Any, advanced: Any, recorded: bool | None) -> None:
    assert management_writes(basic, advanced).recorded is recorded


# --- Terraform plans -----------------------------------------------------------------------


def trail_plan(tmp_path: Path, values: dict[str, Any],
               unknown: dict[str, Any] | None = None) -> Resource:
    base = {"name": "audit", "s3_bucket_name": BUCKET, "is_multi_region_trail": True,
            "enable_log_file_validation": True, "enable_logging": True,
            "include_global_service_events": True, "event_selector": [],
            "advanced_event_selector": []}
    doc = plan([res("aws_cloudtrail.audit", {**base, **values},
                    unknown={"arn": True, "id": True, **(unknown or {})})],
               provider_config=PLAN_AWS, timestamp=PLAN_STAMP)
    sections, _ = TERRAFORM.read_file(write_plan(tmp_path, doc), {})
    inv = TERRAFORM.normalize(sections[0])
    return next(r for r in inv.resources if r.kind is Kind.LOG_TRAIL)


def _tf_selector(rw: str, management: bool = True) -> dict[str, Any]:
    return {"read_write_type": rw, "include_management_events": management,
            "exclude_management_event_sources": [], "data_resource": []}


def _tf_field(field: str, **ops: list[str]) -> dict[str, Any]:
    return {"field": field, **{k: ops.get(k) for k in (
        "equals", "not_equals", "starts_with", "not_starts_with", "ends_with",
        "not_ends_with")}}


@pytest.mark.parametrize(("values", "unknown", "recorded"), [
    ({}, None, True),
    ({"event_selector": [_tf_selector("All")]}, None, True),
    ({"event_selector": [_tf_selector("WriteOnly")]}, None, True),
    ({"event_selector": [_tf_selector("ReadOnly")]}, None, False),
    ({"event_selector": [_tf_selector("All", management=False)]}, None, False),
    ({"event_selector": [{**_tf_selector("All"), "exclude_management_event_sources": [
        "kms.amazonaws.com"]}]}, None, False),
    ({"advanced_event_selector": [{"name": "w", "field_selector": [
        _tf_field("eventCategory", equals=["Management"]),
        _tf_field("readOnly", equals=["false"])]}]}, None, True),
    ({"advanced_event_selector": [{"name": "r", "field_selector": [
        _tf_field("eventCategory", equals=["Management"]),
        _tf_field("readOnly", equals=["true"])]}]}, None, False),
    ({"advanced_event_selector": [{"name": "s3", "field_selector": [
        _tf_field("eventCategory", equals=["Data"]),
        _tf_field("resources.type", equals=["AWS::S3::Object"])]}]}, None, False),
    # known only after apply: unknown, never a pass
    ({"event_selector": [_tf_selector("All")]}, {"event_selector": True}, None),
    ({"event_selector": "All"}, None, None),
    ({"advanced_event_selector": [{"name": "x", "field_selector": "Management"}]}, None,
     None),
    ({"advanced_event_selector": [{"name": "w", "field_selector": [
        _tf_field("eventCategory", equals=["Management"])]}]},
     {"advanced_event_selector": [{"field_selector": [{"equals": True}]}]}, None),
])
def test_plan_reads_event_selectors_as_the_live_answer(
        values: dict[str, Any], unknown: Any, recorded: bool | None, tmp_path: Path) -> None:
    """A plan's aws_cloudtrail records what the same selectors record live (LOG-01 itself
    is judged live: an account's audit logging is not in a plan)."""
    trail = trail_plan(tmp_path, values, unknown)
    assert trail.prop("management_writes") is recorded, trail.prop("management_events")


def test_plan_trail_without_global_service_events(tmp_path: Path) -> None:
    trail = trail_plan(tmp_path, {"include_global_service_events": False})
    assert trail.prop("global_service_events") is False
    unknown = trail_plan(tmp_path, {}, {"include_global_service_events": True})
    assert unknown.prop("global_service_events") is None
