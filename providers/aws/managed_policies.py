"""The AWS managed policies and which of them are wildcard admin grants (IAM-02).

An AWS managed policy's ARN is `arn:<partition>:iam::aws:policy/<path><name>` ("AWS managed
policies ... arn:aws:iam::aws:policy/...": IAM User Guide, "IAM identifiers", ARNs). The
live reading judges each by the document it reads (iam:GetPolicyVersion); a Terraform plan
names one by its ARN only, so the plan reading judges it by this table, written by
fixtures/aws/build_managed_policies.py with the live `grants_admin` over AWS's published
documents (managed-policies.json). A policy the table does not list (one AWS added later) is
not known.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

_AWS_MANAGED = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?P<name>.+)$")


@cache
def _table() -> tuple[frozenset[str], frozenset[str]]:
    data = json.loads(resources.files("providers.aws").joinpath(
        "managed-policies.json").read_text())
    return frozenset(data["admin"]), frozenset(data["not_admin"])


def aws_managed(arn: str) -> bool:
    """Is `arn` an AWS managed policy's?"""
    return _AWS_MANAGED.match(arn.strip()) is not None


def aws_managed_admin(arn: str) -> bool | None:
    """Whether the AWS managed policy `arn` is a wildcard admin grant (AdministratorAccess,
    IAMFullAccess...); None when the table does not list it (or `arn` is not one)."""
    m = _AWS_MANAGED.match(arn.strip())
    if m is None:
        return None
    admin, other = _table()
    name = m.group("name")
    return True if name in admin else (False if name in other else None)
