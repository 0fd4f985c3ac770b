"""The subscription: Defender plans, activity-log diagnostic settings, role assignments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.azure.apis import ADMIN_ROLES, NON_ADMIN_ROLES
from providers.azure.normalize.common import (
    PRINCIPAL_TYPES,
    _arr,
    _loc,
    _obj,
    _props,
    _str,
    lid,
)
from providers.azure.normalize.context import Build
from scanner.model import Kind, Unread

ROLE_DEFINITIONS = "Microsoft.Authorization/roleDefinitions"
ASSIGN_ROLES = "microsoft.authorization/roleassignments/write"
ANY_WRITE = "microsoft.anyprovider/anytype/write"  # a write of every provider: `*/write`

# Defender for Cloud plans that detect no threats: Defender CSPM ("CloudPosture") is
# cloud security posture management (attack paths, the security explorer, agentless
# scanning, https://learn.microsoft.com/azure/defender-for-cloud/concept-cloud-security-
# posture-management); security alerts come from the workload protection plans (Servers,
# Storage, SQL, Containers, Key Vault, Resource Manager, App Service, ...,
# https://learn.microsoft.com/azure/defender-for-cloud/alerts-overview).
POSTURE_ONLY_PLANS = frozenset({"cloudposture"})
FREE_TIER_DAYS = 7  # Log Analytics' legacy Free Trial tier (workspace_retention)


def detects_threats(pricing: Mapping[str, Any]) -> bool:
    """Is this Defender for Cloud plan (a Microsoft.Security/pricings object) a threat
    detection plan on the Standard tier (case-insensitive enum: Free, Standard)?"""
    return (lid(_props(pricing).get("pricingTier")) == "standard"
            and lid(pricing.get("name") or str(pricing.get("id") or "").rsplit("/", 1)[-1])
            not in POSTURE_ONLY_PLANS)


def exports_administrative(logs: list[Any]) -> bool:
    """Does a subscription diagnostic setting export the activity log's control-plane
    record? That is its `Administrative` category: "every create, update, delete, and
    action operation performed through Resource Manager"
    (https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema
    #categories); a setting exporting only Security, ServiceHealth, Alert, Policy, ...
    records no control-plane change. Entries name a `category` or a `categoryGroup`
    (`allLogs`: every category; `audit`: the audit logs, https://learn.microsoft.com/azure/
    azure-monitor/essentials/diagnostic-settings#category-groups), both case-insensitive
    enum strings; `enabled` must be true."""
    return any(isinstance(entry, Mapping) and entry.get("enabled") is True
               and (lid(entry.get("category")) == "administrative"
                    or lid(entry.get("categoryGroup")) in ("alllogs", "audit"))
               for entry in logs)


def workspace_retention(ws: Mapping[str, Any]) -> int | None:
    """Days a Log Analytics workspace keeps its data (0: forever; None: not known).
    `retentionInDays`: "The workspace data retention in days. -1 means Unlimited retention
    for the Unlimited Sku. 730 days is the maximum allowed for all other Skus"
    (WorkspaceProperties, Microsoft.OperationalInsights in azure-rest-api-specs): -1 on the
    Unlimited SKU is kept forever, not "-1 days" (a LOG-02 fail); -1 on another SKU, or
    another negative number, is no retention the API documents: unknown. A workspace on the
    legacy Free (Free Trial) tier keeps its data 7 days whatever `retentionInDays` says
    (https://learn.microsoft.com/azure/azure-monitor/logs/cost-logs#free-trial-pricing-
    tier; Microsoft's own WorkspacesGet example answers 30 for a Free workspace)."""
    value = _props(ws).get("retentionInDays")
    if value is None:
        return None
    days = int(value)
    sku = lid(_str(_obj(_props(ws).get("sku"), "sku").get("name"), "sku.name"))
    if sku == "free":
        return min(days, FREE_TIER_DAYS) if days > 0 else FREE_TIER_DAYS
    if days >= 0:
        return days
    return 0 if days == -1 and sku == "unlimited" else None


def _matches(pattern: str, action: str) -> bool:
    """Does an Actions/NotActions entry cover `action`? Operation strings are compared
    case-insensitively; a `*` stands for any characters, `/` included ("A wildcard (*)
    extends an operation to everything that matches the string", https://learn.microsoft.
    com/azure/role-based-access-control/role-definitions#wildcard-permissions)."""
    return _glob(pattern.lower(), action)


def _glob(pattern: str, text: str) -> bool:
    """`pattern` (`*`: any run of characters, none included) matches all of `text`; in
    O(len(pattern) * len(text)) whatever the stars: as a regex (`.*` per star) a pattern
    of stars before a character `text` lacks backtracked exponentially (`**********z`:
    75 s of CPU for one 44-character action)."""
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, t  # the star matches nothing first
            p += 1
        elif p < len(pattern) and pattern[p] == text[t]:
            p += 1
            t += 1
        elif star >= 0:  # the last star takes one more character
            resume += 1
            p, t = star + 1, resume
        else:
            return False
    return pattern[p:].strip("*") == ""


def admin_permission(definition: Mapping[str, Any]) -> str | None:
    """The Actions entry that makes a role definition an admin grant, None if none does.
    Each permission block grants its `actions` minus its `notActions` (NotActions "are
    subtracted", not a deny: https://learn.microsoft.com/azure/role-based-access-control/
    role-definitions#notactions). Admin-equivalent, as the built-in privileged roles:
    - an action covering `Microsoft.Authorization/roleAssignments/write` that no notAction
      removes: it assigns any role, Owner included (User Access Administrator, RBAC
      Administrator);
    - `*`, every control-plane operation of every provider, with no notAction that spans
      every provider's writes (`*/write`, `*`): it manages every resource, as
      Contributor (`*` minus `Microsoft.Authorization/*/Write`, ...), an admin grant too.
    Data actions (dataActions) are not control-plane management and are not judged."""
    for block in _arr(_props(definition).get("permissions"), "permissions"):
        actions = [str(_str(a, "actions") or "") for a in _arr(_obj(block, "permissions").get(
            "actions"), "actions")]
        denied = [str(_str(a, "notActions") or "") for a in _arr(block.get("notActions"),
                                                            "notActions")]
        for action in actions:
            if _matches(action, ASSIGN_ROLES) and not any(
                    _matches(d, ASSIGN_ROLES) for d in denied):
                return action
            if action == "*" and not any(d.startswith("*") and _matches(d, ANY_WRITE)
                                         for d in denied):
                return action
    return None


def build(b: Build) -> None:
    sub = next(iter(b.items("Microsoft.Resources/subscriptions")), {})
    threat: list[str] | None = None
    if b.collected("Microsoft.Security/pricings"):
        threat = ["global"] if any(detects_threats(pr) for pr in
                                   b.items("Microsoft.Security/pricings")) else []
    b.add(Kind.ACCOUNT, sub, {
        "regions": list(b.s.locations),
        "threat_detection_regions": threat,
    }, rid=f"azure:{b.account}", name=str(sub.get("displayName") or b.account),
        region=None, native_type="Microsoft.Resources/subscriptions")
    workspaces = b.by_id["Microsoft.OperationalInsights/workspaces"]
    for setting in b.items("Microsoft.Insights/diagnosticSettings"):
        p = _props(setting)
        enabled = exports_administrative(_arr(p.get("logs"), "logs"))
        ws = workspaces.get(lid(p.get("workspaceId")))
        st = b.located("Microsoft.Storage/storageAccounts", lid(p.get("storageAccountId")))
        region = _loc(ws) if ws else (_loc(st) if st else None)
        retention = workspace_retention(ws) if ws else None
        b.add(Kind.LOG_TRAIL, setting, {
            "multi_region": True,
            "logging_enabled": enabled and bool(
                p.get("workspaceId") or p.get("storageAccountId") or p.get("eventHubName")
                or p.get("eventHubAuthorizationRuleId") or p.get("marketplacePartnerId")),
            "integrity_validation": None,
            "retention_days": retention,
        }, region=region)
    sub_scope = f"/subscriptions/{b.account}".lower()
    grants: dict[str, dict[str, Any]] = {}
    # the role definitions read (built-in and custom), by GUID; a snapshot recorded without
    # them (or a failed read) knows only the built-in roles named in apis.py
    customs = {lid(d.get("name") or str(d.get("id") or "").rsplit("/", 1)[-1]): d
               for d in b.items(ROLE_DEFINITIONS)}
    customs_read = b.collected(ROLE_DEFINITIONS) and not any(
        e.get("collection") == ROLE_DEFINITIONS for e in b.s.errors)
    for ra in b.items("Microsoft.Authorization/roleAssignments"):
        p = _props(ra)
        principal = lid(_str(p.get("principalId"), "principalId"))
        if not principal:
            continue
        # read as no scope / no role, another type turned IAM-02's fail into a pass
        scope = lid(_str(p.get("scope"), "scope"))
        role = lid(_str(p.get("roleDefinitionId"), "roleDefinitionId")).rsplit("/", 1)[-1]
        at_sub = scope in (sub_scope, "/") or scope.startswith(
            "/providers/microsoft.management/managementgroups/")
        entry = grants.setdefault(principal, {"type": p.get("principalType"),
                                              "admin": False, "raw": ra, "unknown": [],
                                              "via": []})
        if not at_sub or role in NON_ADMIN_ROLES:
            continue
        if role in ADMIN_ROLES:
            entry["admin"] = True
        elif role not in customs:
            entry["unknown"].append(role)
        elif (action := admin_permission(customs[role])) is not None:
            entry["admin"] = True
            name = _props(customs[role]).get("roleName") or role
            kind = "custom role" if lid(_props(customs[role]).get("type")) == "customrole" \
                else "role"
            entry["via"].append(f"{kind} {name} ({role}): {action}")
    for principal, entry in sorted(grants.items()):
        rid = f"azure:{b.account}/principal/{principal}"
        if entry["unknown"] and not entry["admin"]:
            where = ("not among the role definitions read" if customs_read else
                     "role definitions not read")
            b.mark(rid, ("admin_grant",), Unread(
                f"role definition(s) {', '.join(sorted(set(entry['unknown'])))} assigned at "
                f"subscription scope: not a known built-in role, {where}", "unknown",
                opens=True, closes=False))
        b.add(Kind.IDENTITY, entry["raw"], {
            "principal_type": PRINCIPAL_TYPES.get(lid(entry["type"]), lid(entry["type"])
                                                  or "unknown"),
            "admin_grant": entry["admin"],
            **({"admin_via": sorted(set(entry["via"]))} if entry["via"] else {}),
        }, rid=rid, name=principal, region=None,
            labels={}, native_type="Microsoft.Authorization/roleAssignments")
