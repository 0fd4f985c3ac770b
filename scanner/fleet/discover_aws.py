"""AWS discovery: the member accounts of an Organization, each scanned through a read-only
role assumed in it.

Read with the management (or delegated administrator) account's credentials:
`organizations:ListAccounts` (every account, with its status), and with OU filters
`organizations:ListRoots`, `ListOrganizationalUnitsForParent`, `ListAccountsForParent`.
Only ACTIVE accounts are units: AWS documents SUSPENDED and PENDING_CLOSURE accounts as
closed or closing (Organizations API reference, `Account.Status` / `Account.State`), whose
resources cannot be read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from scanner.errors import PostureError
from scanner.fleet.spec import AwsSource
from scanner.fleet.units import Unit

log = logging.getLogger("posture.fleet")

PERMISSIONS = {
    "management account (discovery)": [
        "organizations:ListAccounts",
        "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
        "sts:AssumeRole (on arn:aws:iam::*:role/ROLE_NAME, the role_name of the fleet file)",
    ],
    "each member account": [
        "a role named ROLE_NAME trusting the scanning principal, with the policy "
        "`posture permissions aws` prints",
    ],
}


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**params):
        out.extend(page.get(key, []))
    return out


def _fail(operation: str, exc: Exception) -> PostureError:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code = error.get("Code") or type(exc).__name__
    message = " ".join(str(error.get("Message") or exc).split())[:300]
    return PostureError(f"fleet: aws discovery: organizations:{operation} failed "
                        f"({code}: {message})")


def _under(client: Any, parents: Iterable[str]) -> set[str]:
    """Account ids under these roots/OUs, at any depth."""
    found: set[str] = set()
    todo = list(parents)
    seen: set[str] = set()
    while todo:
        parent = todo.pop()
        if parent in seen:
            continue
        seen.add(parent)
        found.update(a["Id"] for a in _pages(client, "list_accounts_for_parent", "Accounts",
                                              ParentId=parent))
        todo.extend(ou["Id"] for ou in _pages(client, "list_organizational_units_for_parent",
                                              "OrganizationalUnits", ParentId=parent))
    return found


def _active(account: dict[str, Any]) -> bool:
    state = account.get("State")  # the newer field; Status is deprecated but still sent
    if state is not None:
        return str(state) == "ACTIVE"
    return str(account.get("Status", "ACTIVE")) == "ACTIVE"


def discover(source: AwsSource) -> list[Unit]:
    import boto3  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    try:
        session = boto3.Session(profile_name=source.aws_profile)
        client = session.client("organizations", region_name="us-east-1")
    except BotoCoreError as exc:
        raise PostureError(f"fleet: aws discovery: {' '.join(str(exc).split())}") from None
    operation = "ListAccounts"
    try:
        accounts = _pages(client, "list_accounts", "Accounts")
        operation = "ListAccountsForParent"
        wanted = _under(client, source.include_ous) if source.include_ous else None
        unwanted = _under(client, source.exclude_ous) if source.exclude_ous else set()
    except (ClientError, BotoCoreError) as exc:
        raise _fail(operation, exc) from None
    active = {str(a["Id"]) for a in accounts if _active(a)}
    for named in sorted(set(source.include_accounts) - active):
        log.warning("fleet: aws: include_accounts names %s, which is not an active account "
                    "of the organisation: not scanned", named)
    units = []
    for account in sorted(accounts, key=lambda a: str(a["Id"])):
        ident = str(account["Id"])
        if not _active(account) or ident in unwanted or ident in source.exclude_accounts:
            continue
        if wanted is not None and ident not in wanted:
            continue
        if source.include_accounts and ident not in source.include_accounts:
            continue
        partition = str(account.get("Arn", "arn:aws:")).split(":")[1] or "aws"
        options: dict[str, Any] = {
            "role_arn": f"arn:{partition}:iam::{ident}:role/{source.role_name}"}
        if source.external_id:
            options["external_id"] = source.external_id
        if source.regions:
            options["regions"] = ",".join(source.regions)
        if source.aws_profile:
            options["aws_profile"] = source.aws_profile
        units.append(Unit("aws", ident, str(account.get("Name", "")), options))
    return units
