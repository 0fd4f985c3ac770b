"""AWS IAM in a plan -> identities with their admin grant, as the live reading builds them
from the account's authorization details (providers/aws/normalize/identity.py), so that
IAM-02 judges a plan that gives a role, user or group `*:*` before it is applied.

What grants a principal (Terraform AWS provider, resource docs):
- inline policies: `aws_iam_role_policy` / `aws_iam_user_policy` / `aws_iam_group_policy`
  (`policy`, a JSON document) and the `inline_policy` blocks of `aws_iam_role`;
- managed policies by ARN: `aws_iam_role_policy_attachment` / `_user_` / `_group_`
  (`policy_arn`), `aws_iam_policy_attachment` (`roles`, `users`, `groups`), the
  `managed_policy_arns` of `aws_iam_role`; a customer managed policy is an `aws_iam_policy`
  of the plan (its `policy` document), an AWS managed one (`arn:aws:iam::aws:policy/...`)
  is judged by posture's table (providers/aws/managed_policies.py: AdministratorAccess,
  IAMFullAccess... are admin, PowerUserAccess is not);
- a user's groups (`aws_iam_user_group_membership`, `aws_iam_group_membership`): what the
  group is granted.
Every document is judged by the live `admin_statement` (`*`, `iam:*` in any case, NotAction
Allow, wildcard ARNs, NotResource), which names the statement. A policy document rendered
from an `aws_iam_policy_document` data source is the referencing resource's planned `policy`
value (Terraform evaluates the data source at plan time); one read only at apply (a data
entry of the plan, providers.terraform.plan.DATA_READ) is an admin grant when a statement
its known configuration holds already is one, else unknown; any
document or policy ARN known only after apply, a customer managed policy outside the plan, an
AWS managed policy the table does not list, or membership of a group outside the plan: the
grant is unknown (IAM-02 error), never "no admin grant", unless another grant already makes
the principal admin.

One identity per role, user and group of the plan, and one per principal outside it that the
plan grants something (named by the IAM name, case-insensitive as IAM names are: "names are
not distinguished by case", IAM User Guide, "IAM object quotas"/"IAM identifiers"); a grant
to a principal known only after apply that the plan does not resolve is an identity of its
own. What the plan grants is judged: policies attached outside the plan are not seen.
A role's `inline_policy` known only after apply and not configured in its block is the
provider computing the role's inline policies (aws_iam_role_policy resources, judged here):
no grant of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.aws.managed_policies import aws_managed, aws_managed_admin
from providers.aws.normalize.common import admin_statement
from providers.terraform.core import Builder, Entry, labels_of
from scanner.model import Kind, Unread

CLOUD = "aws"
PRINCIPALS = {"aws_iam_role": "role", "aws_iam_user": "user", "aws_iam_group": "group"}
# aws_iam_policy stays a context type (providers.terraform.context): read through the
# attachments that name it
TYPES = frozenset({
    *PRINCIPALS, "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy",
    "aws_iam_policy_attachment", "aws_iam_role_policy_attachment",
    "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment",
    "aws_iam_user_group_membership", "aws_iam_group_membership",
    "aws_iam_role_policy_attachments_exclusive", "aws_iam_user_policy_attachments_exclusive",
    "aws_iam_group_policy_attachments_exclusive",
})
_TYPE_OF = {v: k for k, v in PRINCIPALS.items()}
_NOT_RESOLVED = ("var.", "data.", "module.", "local.")
_DATA_REF = re.compile(r"^(?P<base>data\.aws_iam_policy_document\.[A-Za-z_][A-Za-z0-9_-]*)"
                       r"(?P<index>\[[^\]]*\])?")

Key = tuple[str, str]  # ("entry", address) | (ptype, lower-case name) | ("unknown", address)


@dataclass
class Grant:
    admin: bool | None
    why: str  # the policy and statement that make it admin, or why it is not known
    read: list[Entry] = field(default_factory=list)  # granting instances, policies read


@dataclass
class Principal:
    ptype: str
    name: str
    at: Entry  # the instance the identity is built at
    planned: bool
    grants: list[Grant] = field(default_factory=list)
    groups: list[tuple[Key, bool]] = field(default_factory=list)  # (group, surely a member)


class _Iam:
    def __init__(self, b: Builder) -> None:
        self.b = b
        self.ix = b.index
        self.principals: dict[Key, Principal] = {}
        self.by_name: dict[Key, Key] = {}
        for rtype, ptype in PRINCIPALS.items():
            for e in self.ix.of_type(rtype):
                key: Key = ("entry", e.address)
                name = e.v("name")
                known = isinstance(name, str) and name and not e.unknown("name")
                self.principals[key] = Principal(ptype, str(name) if known else e.address, e,
                                                 True)
                if known:
                    self.by_name.setdefault((ptype, str(name).lower()), key)

    # --- who is granted ----------------------------------------------------------------

    def named(self, e: Entry, attr: str, ptype: str) -> list[tuple[Key, bool]]:
        """The principals of type `ptype` an attribute names (an IAM name or a list of them),
        each with whether it surely is one: planned ones by name or reference, others by
        name; one known only after apply that the plan does not resolve is an identity of
        its own (keyed by `e`); a reference to a resource of several instances
        (`aws_iam_role.x[count.index]` of unknown names) names each of them maybe."""
        value = e.v(attr)
        items = value if isinstance(value, list) else ([] if value is None else [value])
        keys: list[tuple[Key, bool]] = []
        for i, item in enumerate(items):
            if not isinstance(item, str) or (isinstance(value, list) and e.unknown(attr, i)):
                continue
            key = self.by_name.get((ptype, item.lower()))
            if key is None:
                key = (ptype, item.lower())
                if key not in self.principals:
                    self.principals[key] = Principal(ptype, item, e, False)
            if (key, True) not in keys:
                keys.append((key, True))
        if e.unknown(attr) and not e.computed(attr):
            hits, ambiguous = self.ix.resolve(e, e.refs(attr), [_TYPE_OF[ptype]])
            sure = [k for k, _ in keys]
            keys.extend((k, not ambiguous) for k in (("entry", h.address) for h in hits)
                        if k not in sure)
            if not hits or self._others(e, attr):
                key = ("unknown", f"{e.address}#{attr}")
                self.principals.setdefault(key, Principal(
                    ptype, f"{e.address} ({attr} known only after apply)", e, False))
                keys.append((key, True))
        return keys

    def _read_at_apply(self, e: Entry, *path: str | int) -> list[Entry]:
        """The aws_iam_policy_document data sources read only at apply that a top-level
        attribute's expression references (`policy = data.aws_iam_policy_document.x.json`)."""
        expr = e.expr.get(path[0]) if len(path) == 1 and isinstance(path[0], str) else None
        refs = expr.get("references") if isinstance(expr, Mapping) else None
        out: list[Entry] = []
        for ref in refs or []:
            m = _DATA_REF.match(str(ref))
            if m:
                for d in self.ix.by_base.get((e.module, m.group("base")), []):
                    if (not m.group("index") or d.address.endswith(m.group("base") + m.group(
                            "index"))) and d not in out:
                        out.append(d)
        return out

    def _others(self, e: Entry, *path: str) -> bool:
        """Does the expression at `path` reference what the plan cannot resolve (a
        variable, data source, module output or local)?"""
        expr: Any = e.expr
        for p in path:
            expr = expr.get(p) if isinstance(expr, Mapping) else None
        refs = expr.get("references") if isinstance(expr, Mapping) else None
        return any(str(r).startswith(_NOT_RESOLVED) for r in refs or [])

    # --- what is granted ---------------------------------------------------------------

    def document(self, e: Entry, label: str, *path: str | int) -> Grant:
        """A policy document attribute judged by the live `admin_statement`."""
        if e.unknown(*path):
            for d in self._read_at_apply(e, *path):
                why = _known_admin(d)
                if why:
                    return Grant(True, f"{label}: {d.address} (read at apply): {why}", [e, d])
            return Grant(None, f"{label}: its document is known only after apply (a "
                               "policy document data source read at apply, a value of a "
                               "resource the plan creates) or marked sensitive", [e])
        admin, statement = admin_statement(e.v(*path))
        if admin is None:
            return Grant(None, f"{label}: its document is not a JSON policy", [e])
        return Grant(admin, f"{label}: {statement}" if admin else "", [e])

    def managed(self, e: Entry, *path: str) -> list[Grant]:
        """Managed policies by ARN (one or a list): AWS managed by the table, customer
        managed by the plan's aws_iam_policy."""
        value = e.v(*path)
        items = value if isinstance(value, list) else ([] if value is None else [value])
        out: list[Grant] = []
        for i, arn in enumerate(items):
            if not isinstance(arn, str) or (isinstance(value, list) and e.unknown(*path, i)):
                continue
            if aws_managed(arn):
                admin = aws_managed_admin(arn)
                out.append(Grant(admin, f"AWS managed policy {arn}" if admin else (
                    "" if admin is False else f"AWS managed policy {arn}: not in posture's "
                    "table of AWS managed policies (providers/aws/managed-policies.json), its "
                    "document is not known"), [e]))
                continue
            policy = self.ix.by_id.get(("aws_iam_policy#arn", arn)) or \
                self.ix.by_id.get(("aws_iam_policy", arn))
            if policy is None:
                out.append(Grant(None, f"policy {arn}: not in the plan, its document is not "
                                       "known here", [e]))
            else:
                out.append(self._policy(e, policy))
        if e.unknown(*path) and not e.computed(*path):
            hits, ambiguous = self.ix.resolve(e, e.refs(*path), ["aws_iam_policy"])
            judged = [self._policy(e, p) for p in hits]
            if ambiguous and not all(g.admin for g in judged):
                judged = [Grant(None if g.admin else g.admin, g.why and f"one of several "
                                f"instances: {g.why}", g.read) for g in judged]
            out.extend(judged)
            if not hits or self._others(e, *path):
                out.append(Grant(None, f"{e.address}: a policy ARN known only after apply "
                                       "that the plan does not resolve", [e]))
        return out

    def _policy(self, e: Entry, policy: Entry) -> Grant:
        g = self.document(policy, _label("policy", policy.v("name"), policy.address),
                          "policy")
        return Grant(g.admin, g.why, [e, policy])

    # --- the plan's grants -------------------------------------------------------------

    def grant(self, keys: list[tuple[Key, bool]], grants: list[Grant]) -> None:
        for key, sure in keys:
            self.principals[key].grants.extend(grants if sure else map(_maybe, grants))

    def leaving(self, role: Entry, attr: str, types: set[str]) -> bool:
        """Is a role's `attr` the provider's refresh (Optional+Computed, not set by the
        block: every policy attached to the role, by any resource) while the plan deletes a
        resource of `types` (its values not kept)? Then a refreshed admin policy may be the
        one that goes: maybe, not surely."""
        return bool(role.expr) and attr not in role.expr and bool(types & self.b.deleted_types)

    def build(self) -> None:
        for rtype in ("aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"):
            ptype = rtype.split("_")[2]
            for e in self.ix.of_type(rtype):
                label = _label("inline policy", e.v("name"), e.address)
                self.grant(self.named(e, ptype, ptype), [self.document(e, label, "policy")])
        for rtype in ("aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment",
                      "aws_iam_group_policy_attachment"):
            ptype = rtype.split("_")[2]
            for e in self.ix.of_type(rtype):
                self.grant(self.named(e, ptype, ptype), self.managed(e, "policy_arn"))
        # the exclusive attachments (AWS provider 5.6x) keep a principal's managed policies to
        # `policy_arns` ("A list of managed IAM policy ARNs to be attached to the role"):
        # what they list is granted
        for rtype in ("aws_iam_role_policy_attachments_exclusive",
                      "aws_iam_user_policy_attachments_exclusive",
                      "aws_iam_group_policy_attachments_exclusive"):
            ptype = rtype.split("_")[2]
            for e in self.ix.of_type(rtype):
                self.grant(self.named(e, f"{ptype}_name", ptype),
                           self.managed(e, "policy_arns"))
        for e in self.ix.of_type("aws_iam_policy_attachment"):
            grants = self.managed(e, "policy_arn")
            for attr, ptype in (("roles", "role"), ("users", "user"), ("groups", "group")):
                self.grant(self.named(e, attr, ptype), grants)
        for e in self.ix.of_type("aws_iam_role"):
            role: list[tuple[Key, bool]] = [(("entry", e.address), True)]
            sure = not self.leaving(e, "managed_policy_arns", {
                "aws_iam_role_policy_attachment", "aws_iam_policy_attachment"})
            self.grant([(role[0][0], sure)], self.managed(e, "managed_policy_arns"))
            sure = not self.leaving(e, "inline_policy", {"aws_iam_role_policy"})
            if e.wholly_unknown("inline_policy"):
                if e.configured("inline_policy") and not e.computed("inline_policy"):
                    self.grant(role, [Grant(None, f"{e.address}: inline_policy known only "
                                                  "after apply", [e])])
                continue
            for i, block in enumerate(e.v("inline_policy") or []):
                if isinstance(block, dict) and (block.get("policy") or e.unknown(
                        "inline_policy", i, "policy")):
                    self.grant([(role[0][0], sure)], [self.document(
                        e, _label("inline policy", block.get("name"), e.address),
                        "inline_policy", i, "policy")])
        for e in self.ix.of_type("aws_iam_user_group_membership"):
            self.join(e, self.named(e, "user", "user"), self.named(e, "groups", "group"))
        for e in self.ix.of_type("aws_iam_group_membership"):
            self.join(e, self.named(e, "users", "user"), self.named(e, "group", "group"))
        self.add()

    def join(self, e: Entry, users: list[tuple[Key, bool]],
             groups: list[tuple[Key, bool]]) -> None:
        for u, surely in users:
            self.principals[u].grants.append(Grant(False, "", [e]))  # read: a part of it
            self.principals[u].groups.extend((g, surely and sure) for g, sure in groups)

    def add(self) -> None:
        for key, p in self.principals.items():
            if not p.planned and not p.grants:
                continue  # a group outside the plan that its users join: judged through them
            grants = list(p.grants)
            for g, sure in dict.fromkeys(p.groups):
                group = self.principals[g]
                via_group = [Grant(x.admin, x.why and f"group {group.name}: {x.why}", x.read)
                             for x in group.grants]
                grants.extend(via_group if sure else map(_maybe, via_group))
                if not group.planned:
                    grants.append(Grant(None, f"group {group.name}: " + (
                        "known only after apply" if g[0] == "unknown" else
                        "not in the plan, its policies are not known here"), []))
            admin = any(g.admin for g in grants)
            via = sorted({g.why for g in grants if g.admin and g.why})
            unknown = sorted({g.why for g in grants if g.admin is None})
            deps = [d for d in dict.fromkeys(d for x in grants for d in x.read) if d is not p.at]
            suffix = "" if p.planned else f"/{p.ptype}/{p.name}" if key[0] != "unknown" \
                else f"/{p.ptype}"
            rid = self.b.add(p.at, Kind.IDENTITY, CLOUD, {
                "principal_type": p.ptype, "admin_grant": admin,
                **({"admin_via": via} if via else {})},
                name=p.name, region=None, suffix=suffix, deps=deps,
                labels=labels_of(p.at, "tags_all", "tags") if p.planned else None,
                native_type=_TYPE_OF[p.ptype])
            if unknown and not admin:
                more = f"; and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                self.b.mark(rid, ("admin_grant",), Unread(
                    "; ".join(unknown[:5]) + more, "unknown", opens=True, closes=False))


def _known_admin(d: Entry) -> str:
    """The statement of an aws_iam_policy_document read only at apply that is already known
    to make it a wildcard admin grant (every part the live judgement reads known: effect,
    actions, not_actions, resources, not_resources), described; "" when none is. A statement
    the data source's `override_policy_documents` / `override_json` may replace (same sid)
    is not known: with overrides set, or not known, nothing is. The block's `effect`
    defaults to Allow (registry.terraform.io/providers/hashicorp/aws/latest/docs/
    data-sources/iam_policy_document, `statement`: "effect - (Optional) Whether this
    statement allows or denies the actions. Valid values are Allow and Deny. Defaults to
    Allow.")."""
    if d.unknown("override_json") or d.unknown("override_policy_documents") or \
            d.v("override_json") or d.v("override_policy_documents"):
        return ""
    statements: list[dict[str, Any]] = []
    for i, st in enumerate(d.v("statement") or []):
        if not isinstance(st, Mapping) or any(d.unknown("statement", i, k) for k in (
                "effect", "actions", "not_actions", "resources", "not_resources")):
            statements.append({})  # not judged, numbering kept
            continue
        known: dict[str, Any] = {"Effect": st.get("effect") or "Allow"}
        for key, name in (("sid", "Sid"), ("actions", "Action"), ("not_actions", "NotAction"),
                          ("resources", "Resource"), ("not_resources", "NotResource")):
            if st.get(key):
                known[name] = st[key]
        statements.append(known)
    admin, why = admin_statement({"Statement": statements})
    return why if admin else ""


def _maybe(g: Grant) -> Grant:
    """A grant that may not be this principal's (a reference to one of several instances, a
    refreshed attachment the plan may be deleting): an admin grant is not known to be."""
    if not g.admin:
        return g
    return Grant(None, f"maybe (one of several instances, or an attachment the plan "
                       f"deletes): {g.why}", g.read)


def _label(what: str, name: object, address: str) -> str:
    return f"{what} {name} ({address})" if isinstance(name, str) and name else \
        f"{what} {address}"


def build(b: Builder) -> None:
    _Iam(b).build()
