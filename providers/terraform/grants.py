"""azurerm role assignments -> identities with their admin grant, as the live reading builds
them from the subscription's role assignments and definitions
(providers/azure/normalize/subscription.py), so that IAM-02 judges a plan that makes a
principal Owner of a subscription before it is applied.

An assignment is an admin grant when its scope is a subscription, a management group or the
root (`/`) and its role is one of Microsoft's privileged administrator roles (Owner,
Contributor, User Access Administrator, Role Based Access Control Administrator: by name,
`role_definition_name`, or by id, `role_definition_id`), or a custom role whose permissions
make it one (`azurerm_role_definition` in the plan, judged by the live `admin_permission`).
Reader, Monitoring Reader and Security Reader never are. Another role at such a scope whose
definition the plan does not hold (a built-in role by name, a definition outside the plan),
or a scope or role known only after apply: the grant is unknown (IAM-02 error), never "no
admin grant". One identity per principal (`principal_id`); a principal known only after
apply (a managed identity the plan creates) is an identity per assignment.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from providers.azure.apis import ADMIN_ROLES, NON_ADMIN_ROLES
from providers.azure.normalize.common import PRINCIPAL_TYPES
from providers.azure.normalize.subscription import admin_permission
from providers.terraform.core import Builder, Entry
from scanner.model import Kind, Unread

CLOUD = "azure"
# azurerm_role_definition stays a context type (providers.terraform.context): read for the
# assignments that use it, what it grants is judged through them
TYPES = frozenset({"azurerm_role_assignment"})
# built-in role names (https://learn.microsoft.com/azure/role-based-access-control/
# built-in-roles#privileged) -> whether the role is an admin grant; names are compared
# case-insensitively, as Azure resolves them
BUILT_IN_NAMES = {
    "owner": True, "contributor": True, "user access administrator": True,
    "role based access control administrator": True,
    "reader": False, "monitoring reader": False, "security reader": False,
}
_TOP_SCOPE = re.compile(r"^/subscriptions/[^/]+/?$|^/providers/microsoft\.management/"
                        r"managementgroups/[^/]+/?$|^/$")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _arm_definition(d: Entry) -> dict[str, Any] | None:
    """An azurerm_role_definition as the ARM role definition admin_permission reads; None
    when its permissions are not blocks of lists of strings (the provider's schema: a
    string there would be read character by character)."""
    blocks = d.v("permissions") or []
    if not isinstance(blocks, list) or not all(
            isinstance(p, Mapping) and all(
                isinstance(p.get(k) or [], list) and all(
                    isinstance(a, str) for a in p.get(k) or [])
                for k in ("actions", "not_actions")) for p in blocks):
        return None
    return {"properties": {"roleName": d.v("name"), "type": "CustomRole", "permissions": [
        {"actions": list(p.get("actions") or []), "notActions": list(
            p.get("not_actions") or [])} for p in blocks]}}


class _Grants:
    def __init__(self, b: Builder) -> None:
        self.b = b
        self.ix = b.index
        self.defs = self.ix.of_type("azurerm_role_definition")

    def role(self, ra: Entry) -> tuple[bool | None, str, list[Entry]]:
        """(admin grant at a top scope or not, None: not known; why, or the custom role and
        action that make it admin; the role definitions read)."""
        found = self.ix.targets(ra, "role_definition_id", ["azurerm_role_definition"],
                                id_attr="role_definition_resource_id")[0] or \
            self.ix.targets(ra, "role_definition_id", ["azurerm_role_definition"])[0] or \
            self.ix.targets(ra, "role_definition_name", ["azurerm_role_definition"],
                            id_attr="name")[0]
        name = ra.v("role_definition_name")
        if not found and isinstance(name, str) and not ra.unknown("role_definition_name"):
            found = [d for d in self.defs if str(d.v("name") or "").lower() == name.lower()]
            if not found and name.strip().lower() in BUILT_IN_NAMES:
                return BUILT_IN_NAMES[name.strip().lower()], "", []
        rid = ra.v("role_definition_id")
        if not found and isinstance(rid, str) and not ra.unknown("role_definition_id"):
            guid = rid.lower().rstrip("/").rsplit("/", 1)[-1]
            if guid in ADMIN_ROLES or guid in NON_ADMIN_ROLES:
                return guid in ADMIN_ROLES, "", []
            found = [d for d in self.defs if str(d.v("role_definition_id") or "").lower()
                     == guid]
        arm = _arm_definition(found[0]) if len(found) == 1 else None
        if arm is not None and not found[0].unknown("permissions"):
            d = found[0]
            action = admin_permission(arm)
            return action is not None, (f"custom role {d.v('name') or d.address} "
                                        f"({d.address}): {action}" if action else ""), found
        role = name or rid or "a role known only after apply"
        return None, (f"role {role}: its definition is not in the plan (a built-in role "
                      "other than the privileged ones, or a definition outside it)"), found

    def build(self) -> None:
        by_principal: dict[str, list[Entry]] = defaultdict(list)
        alone: list[Entry] = []
        for ra in self.ix.of_type("azurerm_role_assignment"):
            principal = ra.v("principal_id")
            if isinstance(principal, str) and principal and not ra.unknown("principal_id"):
                by_principal[principal.lower()].append(ra)
            else:
                alone.append(ra)
        groups = [(p, ras) for p, ras in sorted(by_principal.items())] + \
            [(None, [ra]) for ra in alone]
        for principal, ras in groups:
            admin = False
            unknown: list[str] = []
            via: list[str] = []
            deps: list[Entry] = list(ras[1:])
            for ra in ras:
                scope = ra.v("scope")
                if ra.unknown("scope") or not isinstance(scope, str):
                    top: bool | None = None
                else:
                    top = _TOP_SCOPE.match(scope.strip().lower()) is not None
                if top is False:
                    continue  # a resource group or resource: no admin grant, as live
                grant, why, defs = self.role(ra)
                deps.extend(defs)
                if grant and top:
                    admin = True
                    if why:
                        via.append(why)
                elif grant is None or grant:
                    unknown.append(f"{ra.address}: " + (
                        why if grant is None else "its scope is known only after apply"))
            first = ras[0]
            ptype = str(first.v("principal_type") or "").lower()
            rid = self.b.add(first, Kind.IDENTITY, CLOUD, {
                "principal_type": PRINCIPAL_TYPES.get(ptype, ptype or "unknown"),
                "admin_grant": admin,
                **({"admin_via": sorted(set(via))} if via else {})},
                name=principal or first.address, region=None, deps=deps)
            if unknown and not admin:
                self.b.mark(rid, ("admin_grant",), Unread(
                    "; ".join(unknown), "unknown", opens=True, closes=False))


def build(b: Builder) -> None:
    _Grants(b).build()

