"""Verdicts of IAM-01/02/04, SEC-01, BAK-01..03, ENC-02, LOG-02 and VUL-01 on AWS answers
in the shapes AWS documents them (IAM User Guide and API Reference examples, the AWS
managed policies' documents), through the normalizer and the CLI."""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from scanner.snapshot import GLOBAL
from tests.test_aws_vendor_bodies import ACCOUNT, findings, section

# Statements as AWS publishes them: the AWS managed policies AdministratorAccess,
# IAMFullAccess and PowerUserAccess (AWS Managed Policy Reference Guide), and the IAM User
# Guide's "NotAction with Allow" example (all actions of all services except IAM).
ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
IAM_FULL = {"Effect": "Allow", "Action": ["iam:*", "organizations:DescribeAccount",
                                          "organizations:DescribeOrganization"],
            "Resource": "*"}
POWER_USER = {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"],
              "Resource": "*"}
ALL_BUT_IAM = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}


def iam02(tmp_path: Path, document: Any) -> str:
    """IAM-02 of a user whose one inline policy is `document`, URL-encoded as
    GetAccountAuthorizationDetails returns policy documents."""
    text = document if isinstance(document, str) else json.dumps(document)
    user = {"UserName": "Alice", "UserId": "AIDAEXAMPLE",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/Alice", "GroupList": [],
            "AttachedManagedPolicies": [], "UserPolicyList": [
                {"PolicyName": "inline", "PolicyDocument": urllib.parse.quote(text)}]}
    s = section({"iam.get_account_authorization_details": [{"UserDetailList": [user]}],
                 "iam.list_policies": [], "iam.get_policy_version": []},
                dict.fromkeys(("iam.get_account_authorization_details", "iam.list_policies",
                               "iam.get_policy_version"), GLOBAL))
    [status] = {f["status"] for f in findings(s, tmp_path, "IAM-02")
                if f["resource_name"] == "Alice"}
    return str(status)


@pytest.mark.parametrize("statement,status", [
    (ADMIN, "fail"),
    ({**ADMIN, "Action": "*:*"}, "fail"),
    (IAM_FULL, "fail"),  # iam:* on *: attaches AdministratorAccess to itself
    ({**IAM_FULL, "Action": "IAM:*"}, "fail"),  # action names are case-insensitive
    (ALL_BUT_IAM | {"NotAction": "s3:DeleteBucket"}, "fail"),  # all but one action
    (ALL_BUT_IAM, "pass"),
    (POWER_USER, "pass"),
    ({**ADMIN, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}, "fail"),
    ({**ADMIN, "Effect": "Deny"}, "pass"),
    ({**ADMIN, "Resource": "arn:aws:s3:::HRBucket/*"}, "pass"),
    ({**ADMIN, "Resource": "arn:aws:*:*:*:*"}, "fail"),  # every ARN
    ({**ADMIN, "Resource": ["arn:aws:s3:::HRBucket/*", "arn:aws:*"]}, "fail"),
    ({**ADMIN, "Resource": "arn:aws:*::*:*"}, "pass"),  # only ARNs without a region
])
@pytest.mark.parametrize("as_list", [False, True])
def test_wildcard_admin_grants_as_the_iam_user_guide_writes_them(
        tmp_path: Path, statement: dict[str, Any], status: str, as_list: bool) -> None:
    """`Statement` an object or a list; `*`, `*:*`, `iam:*`/`IAM:*` and NotAction with Allow
    are wildcard admin grants unless NotAction excepts all of IAM (PowerUserAccess)."""
    doc = {"Version": "2012-10-17", "Statement": [statement] if as_list else statement}
    assert iam02(tmp_path, doc) == status


@pytest.mark.parametrize("document", ["{not json", {"Version": "2012-10-17"}])
def test_policy_document_that_cannot_be_read_is_an_iam02_error_not_a_pass(
        tmp_path: Path, document: Any) -> None:
    assert iam02(tmp_path, document) == "error"


# --- AWS Backup: which resources a selection picks, which schedule counts -------------------

def backup_estate(rules: list[dict[str, Any]], selection: dict[str, Any] | None = None,
                  rds: dict[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    """tests/test_aws_vendor_truth.backup_section's instance and volume (tagged
    CreatedByCryo=true) under a plan of `rules`, selected by `selection`; with `rds`, also
    Cloud Custodian's recorded RDS instance (tags and retention changed)."""
    from tests.test_aws_vendor_truth import backup_section

    estate = backup_section([{"ConditionType": "STRINGEQUALS", "ConditionKey": "CreatedByCryo",
                              "ConditionValue": "true"}])
    plan = estate["backup.get_backup_plan"][0]["response"]["BackupPlan"]
    plan["Rules"] = rules
    if selection is not None:
        sel = estate["backup.get_backup_selection"][0]["response"]["BackupSelection"]
        sel.update({"ListOfTags": [], **selection})
    if rds is not None:
        from tests.test_aws_vendor_bodies import body
        db = dict(body("custodian-rds-tags.json")["rds.DescribeDBInstances_1.json"][
            "DBInstances"][0])
        db.update(rds)
        estate["rds.describe_db_instances"] = [db]
    return estate


def rule(name: str, schedule: str, days: int) -> dict[str, Any]:
    return {"RuleName": name, "TargetBackupVaultName": "Default",
            "ScheduleExpression": schedule, "Lifecycle": {"DeleteAfterDays": days}}


HOURLY_1_DAY = rule("hourly", "cron(0 * ? * * *)", 1)
MONTHLY_YEAR = rule("monthly", "cron(0 5 1 * ? *)", 365)
DAILY_35 = rule("daily", "cron(0 5 ? * * *)", 35)


@pytest.mark.parametrize("rules,status", [
    ([HOURLY_1_DAY, MONTHLY_YEAR], "fail"),  # no daily backup is kept 7 days
    ([HOURLY_1_DAY, DAILY_35], "pass"),
    ([MONTHLY_YEAR], "fail"),
    ([rule("odd", "every full moon", 35)], "error"),  # a schedule not understood
])
def test_frequency_and_retention_of_bak02_come_from_one_backup_rule(
        tmp_path: Path, rules: list[dict[str, Any]], status: str) -> None:
    s = section(backup_estate(rules))
    assert {f["status"] for f in findings(s, tmp_path, "BAK-02")
            if f["resource_kind"] == "compute"} == {status}


def test_rds_retention_of_one_day_is_not_lengthened_by_a_monthly_backup_plan(
        tmp_path: Path) -> None:
    """RDS automated backups kept 1 day and an AWS Backup plan keeping monthly backups a year
    do not make daily backups kept 7 days."""
    s = section(backup_estate([MONTHLY_YEAR], {"Resources": ["arn:aws:rds:*:*:db:*"]},
                              rds={"BackupRetentionPeriod": 1}))
    assert {f["status"] for f in findings(s, tmp_path, "BAK-02")
            if f["resource_kind"] == "database"} == {"fail"}


@pytest.mark.parametrize("operator,tagged,covered", [
    ("StringLike", False, False),  # no CreatedByCryo tag: StringLike "*" does not match
    ("StringLike", True, True),
    ("StringNotLike", False, True),  # absent tag: every StringNotLike holds
    ("StringNotLike", True, False),
])
def test_selection_string_like_on_a_tag_the_resource_lacks_matches_as_in_iam(
        tmp_path: Path, operator: str, tagged: bool, covered: bool) -> None:
    """AWS Backup's own example selection: Resources "*" narrowed by Conditions (Developer
    Guide, "Assign resources with AWS CLI"), here `aws:ResourceTag/CreatedByCryo` like "*"."""
    estate = backup_estate([DAILY_35], {"Resources": ["*"], "Conditions": {operator: [{
        "ConditionKey": "aws:ResourceTag/CreatedByCryo", "ConditionValue": "*"}]}})
    if not tagged:
        estate["ec2.describe_volumes"][0]["Tags"] = []
        estate["ec2.describe_instances"][0]["Instances"][0]["Tags"] = []
    s = section(estate)
    assert {f["status"] for f in findings(s, tmp_path, "BAK-02")
            if f["resource_kind"] == "compute"} == {"pass" if covered else "fail"}


@pytest.mark.parametrize("summary,status", [
    ({"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 0, "Users": 27}, "fail"),
    ({"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "Users": 27}, "pass"),
    ({"AccountAccessKeysPresent": 0, "Users": 27}, "error"),  # said nothing of root MFA
])
def test_root_mfa_is_read_from_the_account_summary_and_its_absence_is_unknown(
        tmp_path: Path, summary: dict[str, int], status: str) -> None:
    """GetAccountSummary's SummaryMap (IAM API Reference example, trimmed)."""
    s = section({"iam.get_account_summary": [{"SummaryMap": summary}],
                 "iam.get_account_authorization_details": [{"UserDetailList": []}],
                 "iam.get_login_profile": [], "iam.list_mfa_devices": []},
                dict.fromkeys(("iam.get_account_summary", "iam.get_account_authorization_details",
                               "iam.get_login_profile", "iam.list_mfa_devices"), GLOBAL))
    assert {f["status"] for f in findings(s, tmp_path, "IAM-01")
            if f["resource_name"] == "root"} == {status}


@pytest.mark.parametrize("summary,status", [
    ({"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 1, "Users": 27}, "fail"),
    ({"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "Users": 27}, "pass"),
    ({"AccountMFAEnabled": 1, "Users": 27}, "error"),  # said nothing of root access keys
])
def test_root_access_keys_are_read_from_the_account_summary_and_fail_iam04(
        tmp_path: Path, summary: dict[str, int], status: str) -> None:
    """A root access key (SummaryMap AccountAccessKeysPresent 1) fails IAM-04 whatever its
    age (IAM User Guide: no access keys for the root user; CIS AWS Foundations 1.4); the
    field missing is not known, never a pass."""
    names = ("iam.get_account_summary", "iam.get_account_authorization_details",
             "iam.list_access_keys", "iam.get_access_key_last_used")
    s = section({"iam.get_account_summary": [{"SummaryMap": summary}],
                 "iam.get_account_authorization_details": [{"UserDetailList": []}],
                 "iam.list_access_keys": [], "iam.get_access_key_last_used": []},
                dict.fromkeys(names, GLOBAL))
    assert {f["status"] for f in findings(s, tmp_path, "IAM-04")
            if f["resource_name"] == "root"} == {status}


def test_a_live_policy_nested_too_deep_to_read_is_an_error_of_its_user_alone(
        tmp_path: Path) -> None:
    """An inline document nested deeper than the JSON decoder goes is unreadable: IAM-02
    error for its user, the other user still judged. Before, the decoder's RecursionError
    made the whole authorization details unread (every identity error)."""
    def user(name: str, document: str) -> dict[str, Any]:
        return {"UserName": name, "UserId": f"AIDA{name.upper()}", "GroupList": [],
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "AttachedManagedPolicies": [],
                "UserPolicyList": [{"PolicyName": "inline",
                                    "PolicyDocument": urllib.parse.quote(document)}]}
    names = ("iam.get_account_authorization_details", "iam.list_policies",
             "iam.get_policy_version")
    s = section({"iam.get_account_authorization_details": [{"UserDetailList": [
        user("Deep", "[" * 100_000 + "]" * 100_000),
        user("Bob", json.dumps({"Statement": [{**ADMIN, "Effect": "Deny"}]}))]}],
        "iam.list_policies": [], "iam.get_policy_version": []}, dict.fromkeys(names, GLOBAL))
    got = {f["resource_name"]: f["status"] for f in findings(s, tmp_path, "IAM-02")
           if f["resource_name"] in ("Deep", "Bob")}
    assert got == {"Deep": "error", "Bob": "pass"}


def test_a_live_admin_grant_names_the_policy_and_statement_as_a_plans_does(
        tmp_path: Path) -> None:
    """The live reading names what makes a principal admin (admin_via, in the fail
    message), with the judgement and wording the Terraform plan reading uses: an inline
    policy's statement, and a group's AWS managed policy."""
    alice = {"UserName": "Alice", "UserId": "AIDAALICE", "GroupList": ["admins"],
             "Arn": f"arn:aws:iam::{ACCOUNT}:user/Alice", "AttachedManagedPolicies": [],
             "UserPolicyList": [{"PolicyName": "ops", "PolicyDocument": urllib.parse.quote(
                 json.dumps({"Statement": [{**ADMIN, "Sid": "All"}]}))}]}
    admins = {"GroupName": "admins", "Arn": f"arn:aws:iam::{ACCOUNT}:group/admins",
              "GroupPolicyList": [], "AttachedManagedPolicies": [
                  {"PolicyName": "IAMFullAccess",
                   "PolicyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}]}
    names = ("iam.get_account_authorization_details", "iam.list_policies",
             "iam.get_policy_version")
    s = section({"iam.get_account_authorization_details": [
        {"UserDetailList": [alice], "GroupDetailList": [admins]}],
        "iam.list_policies": [], "iam.get_policy_version": [{
            "request": {"PolicyArn": "arn:aws:iam::aws:policy/IAMFullAccess"},
            "response": {"PolicyVersion": {"Document": {"Statement": [IAM_FULL]}}}}]},
        dict.fromkeys(names, GLOBAL))
    [alice_iam02] = [f for f in findings(s, tmp_path, "IAM-02")
                     if f["resource_name"] == "Alice"]
    assert alice_iam02["status"] == "fail"
    assert alice_iam02["message"] == (
        'holds a wildcard admin grant: inline policy ops: statement 1 (All): Allow Action "*" '
        'on Resource "*"; group admins: AWS managed policy arn:aws:iam::aws:policy/'
        'IAMFullAccess: statement 1: Allow Action ["iam:*", "organizations:DescribeAccount", '
        '"organizations:DescribeOrganization"] on Resource "*"')


@pytest.mark.parametrize("attached,status", [
    ("IAMFullAccess", "fail"),  # before: pass (its document not read: taken as no grant)
    ("AWSPolicyPublishedIn2030", "error"),  # not in the table: before, pass
    ("job-function/ViewOnlyAccess", "pass"),
])
def test_live_aws_managed_policy_whose_document_was_not_read_is_judged_by_the_table(
        tmp_path: Path, attached: str, status: str) -> None:
    """The live reading: an AWS managed policy attached to a user whose document the
    collection did not read (ListPolicies OnlyAttached did not list it: attached since)
    is judged by the table a plan's are (providers/aws/managed-policies.json), never
    taken as "no admin grant"."""
    user = {"UserName": "Alice", "UserId": "AIDAEXAMPLE", "GroupList": [],
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/Alice", "UserPolicyList": [],
            "AttachedManagedPolicies": [{"PolicyName": attached.rsplit("/", 1)[-1],
                                         "PolicyArn": f"arn:aws:iam::aws:policy/{attached}"}]}
    names = ("iam.get_account_authorization_details", "iam.list_policies",
             "iam.get_policy_version")
    s = section({"iam.get_account_authorization_details": [{"UserDetailList": [user]}],
                 "iam.list_policies": [], "iam.get_policy_version": []},
                dict.fromkeys(names, GLOBAL))
    assert {f["status"] for f in findings(s, tmp_path, "IAM-02")
            if f["resource_name"] == "Alice"} == {status}


# --- over moto, a real `posture scan aws` --------------------------------------------------

MOTO_PROFILE = '[profile]\nname = "aws-controls"\n[parameters]\njurisdictions = ["DE"]\n'


def _iam_estate(url: str) -> None:
    from tests import aws_estate

    iam = aws_estate.client(url, "iam")
    for user, policy in (("iam-admin", "IAMFullAccess"), ("power", "PowerUserAccess")):
        iam.create_user(UserName=user)
        iam.attach_user_policy(UserName=user, PolicyArn=f"arn:aws:iam::aws:policy/{policy}")
    iam.create_group(GroupName="ops")
    iam.put_group_policy(GroupName="ops", PolicyName="all-but-billing", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotAction": "aws-portal:*",
                                                "Resource": "*"}}))
    iam.create_user(UserName="operator")
    iam.add_user_to_group(GroupName="ops", UserName="operator")


@pytest.fixture(scope="module")
def moto_iam() -> Any:
    from tests.aws_proxy import serving, start_moto

    # moto serves the AWS managed policies only when asked (its iam_load_aws_managed_policies)
    before = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    try:
        moto, url = start_moto()
        _iam_estate(url)
    finally:
        if before is None:
            del os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"]
        else:
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = before
    with serving(moto, url) as proxy:
        yield proxy


def test_iam_full_access_and_notaction_group_grants_fail_iam02_in_a_real_scan(
        moto_iam: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The AWS managed IAMFullAccess (iam:* on *) as moto serves it, and a group's inline
    Allow NotAction aws-portal:* on *, are wildcard admin grants; PowerUserAccess (NotAction
    iam:*, organizations:*, account:*) is not."""
    from tests.aws_estate import REGION
    from tests.helpers import findings_of, run
    from tests.test_aws_collector import env

    for k, v in env(moto_iam).items():
        monkeypatch.setenv(k, v)
    profile = tmp_path / "p.toml"
    profile.write_text(MOTO_PROFILE)
    result = run("scan", "aws", "--regions", REGION, "--profile", str(profile), "--checks",
                 "IAM-02", "--format", "json", "--no-timestamps")
    assert result.exit_code in (0, 1, 3), result.stderr
    got = {f["resource_name"]: f["status"] for f in findings_of(json.loads(result.stdout))
           if f["check"] == "IAM-02"}
    assert (got["iam-admin"], got["operator"], got["power"]) == ("fail", "fail", "pass")


@pytest.mark.parametrize("schedule,hours", [
    ("cron(0 5 ? * * *)", 24),  # AWS Backup's daily default
    ("cron(0 0,6 ? * * *)", 18),  # 06:00 -> 00:00 the next day
    ("cron(0 8-17 ? * * *)", 15),
    ("cron(0 */12 * * ? *)", 12),
    ("cron(0 5 ? * MON-FRI *)", 72),  # Friday -> Monday
    ("cron(0 1,13 ? * SUN *)", 156),
    ("cron(0 0 1,15 * ? *)", 408),  # the 15th -> the 1st after a 31-day month
    ("cron(0 5 ? * X-Y *)", None),
    ("cron(0 5 1 * MON *)", None),  # day of month and day of week both given
])
def test_backup_schedule_is_the_longest_wait_between_two_runs(schedule: str,
                                                               hours: int | None) -> None:
    from providers.aws.normalize.backup import cron_hours

    assert cron_hours(schedule) == hours


@pytest.mark.parametrize("schedule,status", [
    ("cron(0 0,6 ? * * *)", "fail"),  # an 18-hour gap, the profile asks 12
    ("cron(0 0,12 ? * * *)", "pass"),
    ("cron(0 5 ? * X-Y *)", "error"),  # not a schedule: never a pass, never a traceback
])
def test_bak02_judges_a_backup_schedule_by_its_longest_gap(tmp_path: Path, schedule: str,
                                                          status: str) -> None:
    from scanner import snapshot
    from scanner.snapshot import Snapshot
    from tests.helpers import findings_of, run

    path = tmp_path / "estate.json"
    snapshot.write(Snapshot(sections=[section(backup_estate([rule("r", schedule, 35)]))]), path)
    profile = tmp_path / "p.toml"
    profile.write_text('[profile]\nname = "twice-daily"\n[parameters]\n'
                       'backup_frequency_hours = 12\n')
    result = run("scan", str(path), "--profile", str(profile), "--checks", "BAK-02",
                 "--format", "json", "--no-timestamps")
    assert result.exit_code in (0, 1, 3), result.stderr
    assert {f["status"] for f in findings_of(json.loads(result.stdout))
            if f["resource_kind"] == "compute"} == {status}


@pytest.mark.parametrize("key_status,status", [("Inactive", None), ("Active", "pass"),
                                               (None, "error"), ("ACTIVE", "error")])
def test_access_key_of_unknown_status_is_not_left_out_of_iam04(
        tmp_path: Path, key_status: str | None, status: str | None) -> None:
    """botocore's ListAccessKeys example key, created and used on the collection day; an
    inactive key cannot sign requests and is not judged, a key whose status is not one of
    IAM's two is not taken for inactive."""
    key = {"AccessKeyId": "AKIA111111111EXAMPLE", "CreateDate": "2026-11-30T00:00:00Z",
           "UserName": "Alice"}
    if key_status is not None:
        key["Status"] = key_status
    user = {"UserName": "Alice", "UserId": "AIDAEXAMPLE",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/Alice", "GroupList": [],
            "AttachedManagedPolicies": [], "UserPolicyList": []}
    s = section({
        "iam.get_account_authorization_details": [{"UserDetailList": [user]}],
        "iam.list_access_keys": [{"request": {"UserName": "Alice"},
                                  "response": {"AccessKeyMetadata": [key]}}],
        "iam.get_access_key_last_used": [{"request": {"AccessKeyId": "AKIA111111111EXAMPLE"},
                                          "response": {"UserName": "Alice", "AccessKeyLastUsed": {
                                              "LastUsedDate": "2026-11-30T12:00:00Z",
                                              "Region": "eu-central-1", "ServiceName": "s3"}}}],
    }, dict.fromkeys(("iam.get_account_authorization_details", "iam.list_access_keys",
                      "iam.get_access_key_last_used"), GLOBAL))
    got = {f["status"] for f in findings(s, tmp_path, "IAM-04") if f["resource_name"] == "Alice"}
    assert got == ({status} if status else set())


@pytest.mark.parametrize("latest,status", [
    (None, "error"), ("not a time", "error"), ("2026-11-30T23:55:00Z", "pass"),
    ("2026-11-30T20:00:00Z", "fail"),  # 4 hours behind, the limit is 15 minutes
])
def test_rds_instance_with_backups_but_no_latest_restorable_time_is_not_a_pitr_pass(
        tmp_path: Path, latest: str | None, status: str) -> None:
    """Cloud Custodian's recorded PostgreSQL instance, backups kept 7 days."""
    from tests.test_aws_vendor_bodies import body

    db = dict(body("custodian-rds-tags.json")["rds.DescribeDBInstances_1.json"][
        "DBInstances"][0], BackupRetentionPeriod=7)
    db.pop("LatestRestorableTime", None)
    if latest is not None:
        db["LatestRestorableTime"] = latest
    s = section({"rds.describe_db_instances": [db]})
    assert {f["status"] for f in findings(s, tmp_path, "BAK-03")
            if f["resource_kind"] == "database"} == {status}


@pytest.mark.parametrize("selection,tagged,status", [
    ({"Resources": [], "Conditions": {"StringEquals": [
        {"ConditionKey": "aws:ResourceTag/CreatedByCryo", "ConditionValue": "true"}]}},
     True, "pass"),
    ({"Resources": [], "Conditions": {"StringEquals": [
        {"ConditionKey": "aws:ResourceTag/CreatedByCryo", "ConditionValue": "true"}]}},
     False, "fail"),
    ({"Resources": []}, False, "pass"),  # names nothing: every supported resource
    ({"Resources": ["arn:aws:rds:*:*:db:*"]}, True, "fail"),  # names databases only
])
def test_selection_naming_no_resources_and_no_tags_selects_every_resource_its_conditions_allow(
        tmp_path: Path, selection: dict[str, Any], tagged: bool, status: str) -> None:
    estate = backup_estate([DAILY_35], selection)
    if not tagged:
        estate["ec2.describe_volumes"][0]["Tags"] = []
        estate["ec2.describe_instances"][0]["Instances"][0]["Tags"] = []
    s = section(estate)
    assert {f["status"] for f in findings(s, tmp_path, "BAK-02")
            if f["resource_kind"] == "compute"} == {status}
