"""Verdicts of IAM-01/02/04, SEC-01, BAK-01..03, ENC-02, LOG-02 and VUL-01 on AWS answers
in the shapes AWS documents them (IAM User Guide and API Reference examples, the AWS
managed policies' documents), through the normalizer and the CLI."""

from __future__ import annotations

import json
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
