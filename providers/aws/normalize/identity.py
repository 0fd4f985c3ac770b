"""The account and its identities: root, IAM users and roles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from providers.aws.managed_policies import aws_managed, aws_managed_admin
from providers.aws.normalize.common import (
    ADMIN_POLICY,
    _arr,
    _obj,
    admin_statement,
    parse_time,
    tags,
)
from providers.aws.normalize.context import Build
from scanner.model import Kind, Unread
from scanner.snapshot import GLOBAL


def account_resource(ctx: Build) -> None:
    props: dict[str, Any] = {}
    # The regions scanned (every enabled region unless --regions narrowed it): what
    # threat detection and the like are judged against.
    props["regions"] = sorted(ctx.s.locations)
    if "guardduty.list_detectors" in ctx.attempted:
        failed = any(e["collection"].startswith("guardduty.") for e in ctx.s.errors)
        on = sorted({r for r, env in ctx.regional("guardduty.get_detector")
                     if _obj(env.get("response"), "response").get("Status") == "ENABLED"})
        props["threat_detection_regions"] = None if failed else on
    ctx.add(Kind.ACCOUNT, f"aws:{ctx.account}", "account", {"AccountId": ctx.account},
            props, None, ctx.account)


def identities(ctx: Build) -> None:
    summary = next((s for _, s in ctx.regional("iam.get_account_summary")), None)
    if summary is not None:
        sm = summary.get("SummaryMap") or summary
        # AccountMFAEnabled: 1 when the root user has an MFA device, else 0 (IAM API
        # Reference, GetAccountSummary, SummaryMap); an answer without it says nothing.
        mfa = sm.get("AccountMFAEnabled")
        # AccountAccessKeysPresent: 1 when the root user has an access key, else 0 (same
        # SummaryMap); the IAM User Guide's root user best practices: do not create access
        # keys for the root user (CIS AWS Foundations 1.4). Absent: not known (IAM-04 error).
        keys = sm.get("AccountAccessKeysPresent")
        root_keys = None if keys is None else (
            [{"id": "root access key", "age_days": None, "last_used_days": None}]
            if keys else [])
        ctx.add(Kind.IDENTITY, f"arn:{ctx.partition}:iam::{ctx.account}:root", "root", summary, {
            "principal_type": "root", "console_access": True,
            "mfa": None if mfa is None else bool(mfa), "credentials": root_keys,
        }, None, "root")
    details = [d for _, d in ctx.regional("iam.get_account_authorization_details")]
    if not details:
        return
    local: dict[str, Any] = {}
    for d in details:
        for p in _arr(d.get("Policies"), "Policies"):
            doc = next((v.get("Document") for v in _arr(p.get("PolicyVersionList"),
                                                        "PolicyVersionList")
                        if v.get("IsDefaultVersion")), None)
            local[str(p.get("Arn"))] = doc
    aws_docs: dict[str, Any] = {}
    for _, env in ctx.regional("iam.get_policy_version"):
        if "response" in env:
            aws_docs[str(_obj(env.get("request"), "request").get("PolicyArn"))] = _obj(
                _obj(env["response"], "response").get("PolicyVersion"), "PolicyVersion").get(
                "Document")
    docs_failed = not ctx.read_ok("iam.get_policy_version", GLOBAL)

    def managed_admin(arns: Iterable[str]) -> AdminGrant:
        """Whether managed policies grant admin, and the policies (and statements) that do."""
        unknown = False
        via: list[str] = []
        for arn in arns:
            if ADMIN_POLICY.match(arn):
                via.append(f"AWS managed policy {arn}")
                continue
            doc = local.get(arn, aws_docs.get(arn))
            if doc is None and arn not in local and aws_managed(arn):
                # an AWS managed policy whose document was not read (its read failed, or
                # ListPolicies OnlyAttached did not list it: attached since): judged by
                # posture's table of AWS's published documents (providers/aws/
                # managed_policies.py); one the table does not list is not known
                table = aws_managed_admin(arn)
                if table:
                    via.append(f"AWS managed policy {arn}")
                unknown = unknown or docs_failed or table is None
                continue
            if doc is None:
                unknown = unknown or arn not in local
                continue
            verdict, statement = admin_statement(doc)
            if verdict:
                via.append(f"{'AWS managed ' if aws_managed(arn) else ''}policy {arn}: "
                           f"{statement}")
            unknown = unknown or verdict is None
        return (True, via) if via else (None if unknown else False, [])

    groups: dict[str, dict[str, Any]] = {}
    for d in details:
        for g in _arr(d.get("GroupDetailList"), "GroupDetailList"):
            groups[str(g.get("GroupName"))] = g
    group_admin: dict[str, AdminGrant] = {}
    for name, g in groups.items():
        inline = any_admin(_arr(g.get("GroupPolicyList"), "GroupPolicyList"))
        attached = managed_admin(str(p.get("PolicyArn")) for p in
                                 _arr(g.get("AttachedManagedPolicies"), "AttachedManagedPolicies"))
        group_admin[name] = either(inline, attached)
    per_user = user_calls(ctx)
    for d in details:
        for u in _arr(d.get("UserDetailList"), "UserDetailList"):
            user(ctx, u, group_admin, managed_admin, per_user)
        for r in _arr(d.get("RoleDetailList"), "RoleDetailList"):
            inline = any_admin(_arr(r.get("RolePolicyList"), "RolePolicyList"))
            attached = managed_admin(str(p.get("PolicyArn"))
                                     for p in _arr(r.get("AttachedManagedPolicies"),
                                                   "AttachedManagedPolicies"))
            admin, via = either(inline, attached)
            ctx.add(Kind.IDENTITY, str(r["Arn"]), "iam_role", r, {
                "principal_type": "role", "admin_grant": admin,
                **({"admin_via": via} if via else {}),
            }, None, str(r.get("RoleName")), tags(r))


# (whether policies grant admin, None: not known; the policies and statements that do)
AdminGrant = tuple[bool | None, list[str]]


def any_admin(policies: Iterable[Mapping[str, Any]]) -> AdminGrant:
    """Whether one of the inline policies grants admin (the live admin_statement), naming
    each that does; None when none does and one could not be read (never "no admin grant"
    from a document not understood)."""
    via: list[str] = []
    unknown = False
    for p in policies:
        verdict, statement = admin_statement(p.get("PolicyDocument"))
        if verdict:
            via.append(f"inline policy {p.get('PolicyName')}: {statement}")
        unknown = unknown or verdict is None
    return (True, via) if via else (None if unknown else False, [])


def either(*grants: AdminGrant) -> AdminGrant:
    via = [v for _, vs in grants for v in vs]
    if any(g for g, _ in grants):
        return True, via
    return (None if any(g is None for g, _ in grants) else False), []


def user_calls(ctx: Build) -> dict[str, dict[str, Any]]:
    per: dict[str, dict[str, Any]] = defaultdict(dict)
    for name in ("iam.get_login_profile", "iam.list_mfa_devices", "iam.list_access_keys"):
        for _, env in ctx.regional(name):
            per[str(_obj(env.get("request"), "request").get("UserName"))][name] = env
    last_used: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for _, env in ctx.regional("iam.get_access_key_last_used"):
        resp = _obj(env.get("response"), "response")
        last_used[str(resp.get("UserName"))].append(_obj(resp.get("AccessKeyLastUsed"),
                                                         "AccessKeyLastUsed"))
    for user_name, used in last_used.items():
        per[user_name]["last_used"] = used
    return per


def user(ctx: Build, u: Mapping[str, Any], group_admin: Mapping[str, AdminGrant],
         managed_admin: Any, per_user: Mapping[str, dict[str, Any]]) -> None:
    name = str(u.get("UserName"))
    calls = per_user.get(name, {})
    inline = any_admin(_arr(u.get("UserPolicyList"), "UserPolicyList"))
    attached = managed_admin(str(p.get("PolicyArn"))
                             for p in _arr(u.get("AttachedManagedPolicies"),
                                           "AttachedManagedPolicies"))
    # a group the details do not hold: its grants are not known
    via_groups: list[AdminGrant] = []
    for g in _arr(u.get("GroupList"), "GroupList"):
        grant, via = group_admin.get(str(g), (None, []))
        via_groups.append((grant, [f"group {g}: {v}" for v in via]))
    admin, via = either(inline, attached, *via_groups)
    props: dict[str, Any] = {"principal_type": "user", "admin_grant": admin,
                             **({"admin_via": via} if via else {})}
    if "iam.get_login_profile" in calls:
        props["console_access"] = "response" in calls["iam.get_login_profile"]
    elif "iam.get_login_profile" in ctx.attempted:
        props["console_access"] = None
    if "iam.list_mfa_devices" in calls:
        props["mfa"] = bool(_arr(_obj(calls["iam.list_mfa_devices"].get("response"),
                                     "response").get("MFADevices"), "MFADevices"))
    elif "iam.list_mfa_devices" in ctx.attempted:
        props["mfa"] = None
    if "iam.list_access_keys" in calls:
        keys = _arr(_obj(calls["iam.list_access_keys"].get("response"), "response").get(
            "AccessKeyMetadata"), "AccessKeyMetadata")
        used = calls.get("last_used", [])
        creds = []
        for i, key in enumerate(keys):
            # StatusType: Active | Inactive (an inactive key cannot sign requests: IAM API
            # Reference, AccessKeyMetadata); any other answer is judged as a usable key.
            if key.get("Status") == "Inactive":
                continue
            if key.get("Status") != "Active":
                ctx.mark(str(u["Arn"]), ("credentials",), Unread(
                    f"access key {i + 1} of {name}: status {key.get('Status')!r} is neither "
                    "Active nor Inactive", opens=True, closes=False))
            created = parse_time(key.get("CreateDate"))
            last_raw = (used[i] if i < len(used) else {}).get("LastUsedDate")
            last = parse_time(last_raw)
            if created is None or (last_raw and last is None):
                # An active key whose age (or last use) could not be read is not a fresh one
                # (ListAccessKeys always gives CreateDate: IAM API Reference, AccessKeyMetadata).
                ctx.mark(str(u["Arn"]), ("credentials",), Unread(
                    f"access key {i + 1} of {name}: unreadable CreateDate "
                    f"{key.get('CreateDate')!r} or LastUsedDate {last_raw!r}", opens=True,
                    closes=False))
            creds.append({
                "id": f"access key {i + 1} of {name}"
                      + (f" (created {created.date()})" if created else ""),
                "age_days": _days_before(ctx.collected_at, created),
                "last_used_days": _days_before(ctx.collected_at, last),
            })
        props["credentials"] = creds
    ctx.add(Kind.IDENTITY, str(u["Arn"]), "iam_user", u, props, None, name, tags(u))


def _days_before(collected_at: datetime, when: datetime | None) -> int | None:
    """Whole days from `when` to the collection time, never negative. The collection time is
    the collector's clock at the start, to the second (snapshot.now()); a key created in that
    same second, or during the collection, or a few seconds "later" by AWS's clock, has a
    CreateDate after it: it is 0 days old, not -1 (timedelta.days rounds towards -inf)."""
    if when is None:
        return None
    return max(0, (collected_at - when).days)
