"""What every Terraform resource mapping shares: reading planned values and their unknowns,
resolving references between resources, building rules in two worlds, adding resources.

Unknown values (`after_unknown`) are never guessed into a pass:
- a property whose `None` the checks read as "not known" (encrypted, backup_enabled,
  min_tls, soft_delete, rotation_enabled, a region...) is set to None: the check says error;
- anything else (addresses, firewall rules, whether a resource is public) is built twice:
  the property holds its *most exposed* possible value (an unknown source is the internet,
  an unknown port every port, an unknown allow rule applies, an unknown deny rule does not)
  and `iac.unknown` maps it to its *least exposed* one. The engine judges both worlds; a
  verdict that differs between them is `error`, "unknown until apply".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any

from providers.terraform.context import TYPES as CONTEXT_TYPES
from providers.terraform.plan import any_true, mark_at, resource_refs
from scanner.model import Kind, Relation, RelationType, Resource, Unread
from scanner.redact import REDACTED
from scanner.rules import ALL_PORTS, INTERNET, Action, LayerMode, PortRange, Rule, RuleLayer

CHANGING = frozenset({"create", "update"})
NO_OWNER_TEXT = ("belongs to a resource that is not in the plan (or that it cannot be "
                 "matched with): not judged here; judge it live")
NO_OWNER = {  # the usual cases of NO_OWNER_TEXT, in their words
    "hcloud_load_balancer_target": "target of a load balancer that is not in the plan: what "
    "reaches the server through it is not judged here; judge it live",
    "hcloud_firewall_attachment": "attaches a firewall to servers that are not in the plan "
    "(the firewall itself is judged by NET-07): judge the servers live",
    "aws_volume_attachment": "attaches a volume that is not in the plan to an instance that "
    "is not in the plan: judge them live",
    "azurerm_network_interface": "network interface of no VM in the plan (a scale set's, a "
    "private endpoint's or a detached NIC): not judged",
    "azurerm_mssql_firewall_rule": "firewall rule of a SQL server that is not in the plan: "
    "judge the server live",
}
UNKNOWN_IP = "{what} (known after apply)"


class Entry:
    """One planned resource instance (a raw object of the `resources` collection)."""

    __slots__ = ("actions", "address", "expr", "file", "line", "module", "raw", "region",
                 "type", "unk", "values")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.address = str(raw["address"])
        self.type = str(raw["type"])
        self.module = str(raw.get("module_address") or "")
        self.values: Mapping[str, Any]
        self.values, self.unk = hidden_as_unknown(raw.get("values") or {},
                                                  raw.get("after_unknown") or {})
        self.expr: Mapping[str, Any] = raw.get("expressions") or {}
        self.actions = [str(a) for a in raw.get("actions") or []]
        self.region: str | None = raw.get("region")
        self.file: str | None = raw.get("file")
        self.line: int | None = raw.get("line")

    @property
    def changed(self) -> bool:
        return bool(CHANGING & set(self.actions))

    def v(self, *path: Any, default: Any = None) -> Any:
        """The planned value at `path` (None/absent: `default`)."""
        node: Any = self.values
        for p in path:
            if isinstance(node, Mapping):
                node = node.get(p)
            elif isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
                node = node[p]
            else:
                return default
            if node is None:
                return default
        return node

    def _unknown_at(self, path: tuple[Any, ...]) -> Any:
        """The after_unknown node at `path`: True where a whole value on the way is unknown,
        None where the path leaves what after_unknown describes."""
        return mark_at(self.unk, path)

    def unknown(self, *path: Any) -> bool:
        """Is the value at `path`, or anything in it, unknown until apply?"""
        return any_true(self._unknown_at(path))

    def wholly_unknown(self, *path: Any) -> bool:
        """Is the value at `path` unknown as a whole (not just something inside it)?"""
        return self._unknown_at(path) is True

    def rules_unknown(self, attr: str, separate: bool) -> bool:
        """Are the inline rules of a firewall (`ingress`, `security_rule`) unknown until
        apply? A wholly unknown rule list the block sets is. One it does not set is unknown
        too, unless separate rule resources hold the group's rules (then the provider just
        computes the list from them): the configuration's JSON leaves out `dynamic` blocks
        (and, before Terraform 1.1, attribute-style blocks), so absence there does not
        prove the block sets no rule."""
        return self.wholly_unknown(attr) and (self.configured(attr) or not separate)

    def configured(self, attr: str) -> bool:
        """Does the resource block set `attr` (a plan with configuration)? A state file has no
        configuration: everything is taken as configured."""
        return attr in self.expr or not self.expr

    def computed(self, *path: Any) -> bool:
        """Is the value at `path` unknown only because the provider computes it, the block
        not setting it (a plan with configuration)? Such an attachment list echoes what the
        other arguments decide (`security_groups` on an instance configured with
        `vpc_security_group_ids`; `firewall_ids` of a server firewalls are applied to):
        nothing of its own. Only top-level arguments: a nested block may come from a
        `dynamic` block, which the configuration's JSON leaves out."""
        return len(path) == 1 and bool(self.expr) and path[0] not in self.expr and \
            self.unknown(*path)

    def refs(self, *path: Any) -> list[str]:
        """Resource addresses (relative to the module) the expression at `path` references."""
        node: Any = self.expr
        for p in path:
            if isinstance(node, Mapping):
                node = node.get(p)
            elif isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
                node = node[p]
            else:
                return []
        return resource_refs(node)

    def name(self, *candidates: Any) -> str:
        for c in candidates:
            if isinstance(c, str) and c:
                return c
        return self.address


LABEL_KEYS = frozenset({"tags", "tags_all", "labels"})


def hidden_as_unknown(values: Mapping[str, Any], unknown: Any) -> tuple[Mapping[str, Any], Any]:
    """(values, after_unknown) with every value posture may not read taken as unknown until
    apply: a value Terraform marks sensitive (`after_sensitive` / `sensitive_values`, replaced
    by the marker at read time, providers.terraform.plan.redact_sensitive) or one that looks
    like a secret (scanner.redact). Terraform writes a sensitive value's real content in the
    plan and only marks it ("after_sensitive ... true where a value is sensitive":
    https://developer.hashicorp.com/terraform/internals/json-format#change-representation);
    posture never keeps it, so its verdict cannot rest on it: a sensitive `cidr_blocks`, an
    `ingress` block, a `storage_encrypted` from a sensitive variable is unknown, as if
    `after_unknown` said so (the value dropped from an object and null in a list, as
    Terraform writes unknowns), and judged in two worlds or as `error`, never as the text of
    the marker. Tags and labels keep the marker (names chosen by the user, read as text)."""
    if not _holds_marker(values):
        return values, unknown
    out: dict[str, Any] = {}
    unk: Any = dict(unknown) if isinstance(unknown, Mapping) else unknown
    for key, value in values.items():
        if key in LABEL_KEYS or not _holds_marker(value):
            out[key] = value
            continue
        sub = unk.get(key) if isinstance(unk, dict) else unk
        v, u = _hide(value, sub)
        if v is not None:
            out[key] = v
        if isinstance(unk, dict):
            unk[key] = u
    return out, unk


def _holds_marker(node: Any) -> bool:
    if node == REDACTED:
        return True
    if isinstance(node, Mapping):
        return any(_holds_marker(v) for v in node.values())
    if isinstance(node, list):
        return any(_holds_marker(v) for v in node)
    return False


def _hide(value: Any, unknown: Any) -> tuple[Any, Any]:
    """One value and its after_unknown node, the marker taken as unknown (see
    hidden_as_unknown)."""
    if unknown is True:
        return (None if value == REDACTED else value), True
    if value == REDACTED:
        return None, True
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        unk: dict[str, Any] = dict(unknown) if isinstance(unknown, Mapping) else {}
        for k, v in value.items():
            if not _holds_marker(v):
                out[k] = v
                continue
            nv, nu = _hide(v, unk.get(k))
            if nv is not None:
                out[k] = nv
            unk[k] = nu
        return out, unk
    if isinstance(value, list):
        old = list(unknown) if isinstance(unknown, list) else []
        items: list[Any] = []
        marks: list[Any] = []
        for i, v in enumerate(value):
            nv, nu = _hide(v, old[i] if i < len(old) else False)
            items.append(nv)
            marks.append(nu)
        return items, marks
    return value, unknown


def pem_not_after(e: Entry, attr: str) -> str | None:
    """The expiry (`notAfter`, UTC) of the PEM certificate planned in `attr` (an uploaded
    certificate's body: hcloud_uploaded_certificate, aws_acm_certificate imported,
    aws_iam_server_certificate), when the plan knows it and it parses; else None."""
    pem = e.v(attr)
    if not isinstance(pem, str) or e.unknown(attr):
        return None
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None
    return cert.not_valid_after_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def labels_of(e: Entry, *keys: str) -> dict[str, str]:
    for key in keys:
        tags = e.v(key)
        if isinstance(tags, Mapping):
            return {str(k): str(v) for k, v in tags.items() if v is not None}
    return {}


class Index:
    """Planned instances by address, by configuration address and by known id."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        self.by_address = {e.address: e for e in self.entries}
        self.by_base: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        self.by_type: dict[str, list[Entry]] = defaultdict(list)
        self.by_id: dict[tuple[str, str], Entry] = {}
        for e in self.entries:
            base = e.address[len(e.module) + 1:] if e.module else e.address
            if "[" in base:
                base = base[:base.index("[")]
            self.by_base[(e.module, base)].append(e)
            self.by_type[e.type].append(e)
            native = e.v("id")
            if native is not None:
                self.by_id[(e.type, str(native))] = e
                # an ARM id is case-insensitive ("resource names are case-insensitive":
                # learn.microsoft.com/azure/azure-resource-manager/management/
                # resource-name-rules); a configuration may spell it otherwise than ARM
                if str(native).startswith("/"):
                    self.by_id.setdefault((e.type, str(native).lower()), e)
            for extra in ("arn", "name", "identifier", "cluster_identifier", "bucket"):
                if e.v(extra) is not None:
                    self.by_id.setdefault((f"{e.type}#{extra}", str(e.v(extra))), e)

    def of_type(self, *types: str) -> list[Entry]:
        return [e for t in types for e in self.by_type.get(t, ())]

    def resolve(self, e: Entry, refs: Iterable[str], types: Sequence[str]
                ) -> tuple[list[Entry], bool]:
        """Instances of `types` that references (relative to e's module) name, and whether
        one of them is ambiguous (`aws_security_group.x` when x has several instances)."""
        out: list[Entry] = []
        ambiguous = False
        for ref in refs:
            base, _, index = ref.partition("[")
            if base.split(".", 1)[0] not in types:
                continue
            if index:
                found = self.by_address.get(f"{e.module}.{ref}" if e.module else ref)
                hits = [found] if found else []
            else:
                hits = self.by_base.get((e.module, base), [])
                ambiguous = ambiguous or len(hits) > 1
            out.extend(h for h in hits if h not in out)
        return out, ambiguous

    def targets(self, e: Entry, attr: str | Sequence[Any], types: Sequence[str],
                id_attr: str = "id") -> tuple[list[Entry], bool]:
        """What an attribute holding ids (or one id) of other resources points at: known ids
        looked up among the planned instances, unknown ones through the configuration's
        references. Second value: some target is not in the plan or not resolvable (its
        configuration cannot be read here: unknown)."""
        path = (attr,) if isinstance(attr, str) else tuple(attr)
        value = e.v(*path)
        values = value if isinstance(value, list) else ([] if value is None else [value])
        found: list[Entry] = []
        unresolved = False
        for i, item in enumerate(values):
            if item is None or (isinstance(value, list) and e.unknown(*path, i)):
                continue
            hit = None
            for t in types:
                key = (t, str(item)) if id_attr == "id" else (f"{t}#{id_attr}", str(item))
                hit = self.by_id.get(key)
                if hit is None and id_attr == "id" and str(item).startswith("/"):
                    hit = self.by_id.get((t, str(item).lower()))
                if hit:
                    break
            if hit is None:
                unresolved = True  # exists outside this configuration: not visible here
            elif hit not in found:
                found.append(hit)
        if e.computed(*path):
            return found, unresolved  # decided elsewhere: see Entry.computed
        if e.unknown(*path) or (value is None and e.refs(*path)):
            refs = e.refs(*path)
            hits, ambiguous = self.resolve(e, refs, types)
            found.extend(h for h in hits if h not in found)
            expr: Any = e.expr
            for p in path:
                expr = expr.get(p) if isinstance(expr, Mapping) else None
            others = [r for r in (expr or {}).get("references") or []
                      if str(r).startswith(("var.", "data.", "module.", "local."))] \
                if isinstance(expr, Mapping) else []
            if ambiguous or not hits or others:
                unresolved = unresolved or e.unknown(*path)
        return found, unresolved


# --- rules in two worlds --------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A rule being read: `None` for a part not known until apply."""

    action: Action
    protocol: str | None
    ports: PortRange | None
    sources: tuple[str, ...] | None
    priority: int | None = 0
    origin: str = ""

    @property
    def known(self) -> bool:
        return None not in (self.protocol, self.ports, self.sources, self.priority)

    def widened(self) -> Rule | None:
        protocol = self.protocol or "*"
        ports = self.ports or ALL_PORTS
        sources = self.sources if self.sources is not None else INTERNET
        if not sources:
            return None
        return Rule(self.action, protocol, ports if protocol in ("tcp", "udp", "*") else ALL_PORTS,
                    sources, self.priority if self.priority is not None else 0,
                    self.origin + ("" if self.known else " (unknown until apply)"))


def two_worlds(drafts: Iterable[Draft]) -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
    """(most exposed rules, least exposed rules): a rule with an unknown part applies, widened,
    in the first when it allows and in the second when it denies."""
    open_: list[Rule] = []
    closed: list[Rule] = []
    for d in drafts:
        rule = d.widened()
        if rule is None:
            continue
        if d.known:
            open_.append(rule)
            closed.append(rule)
        elif d.action is Action.ALLOW:
            open_.append(rule)
        else:
            closed.append(rule)
    return tuple(open_), tuple(closed)


def port_range(lo: Any, hi: Any = None) -> PortRange | None:
    """from/to ports -> PortRange; -1 or 0-0 with 'all protocols' -> every port."""
    try:
        a = int(lo)
        b = int(hi if hi is not None else lo)
    except (TypeError, ValueError):
        return None
    if a < 0 or b < 0 or (a == 0 and b in (0, 65535)):
        return ALL_PORTS
    try:
        return PortRange(a, b)
    except ValueError:
        return None


# --- the builder ----------------------------------------------------------------------------


@dataclass
class World:
    """Properties of one resource: as planned (most exposed) and the least exposed
    replacements of the unknown ones."""

    props: dict[str, Any] = field(default_factory=dict)
    closed: dict[str, Any] = field(default_factory=dict)

    def set(self, name: str, most: Any, least: Any) -> None:
        self.props[name] = most
        if least != most:
            self.closed[name] = least


class Builder:
    """Resources built from the planned instances, with the accounting that no instance
    vanishes (issue 14): every instance of a mapped type is, after `finish`,
    - a model resource of its own (its address is the resource's `iac.address`), or
    - a *part* of the resources built from it: an instance that makes no resource of its
      own and that a resource read (passed in `deps`: a security group's separate rules, a
      VM's network interfaces and NSG associations, a load balancer's targets, a bucket's
      separate configuration resources) is listed in that resource's `iac.parts`, or
    - of a type mapped without checks (providers.terraform.context), or
    - `skipped`: named in a NOT-ASSESSED finding with why (`orphan`, or, for an instance
      none of the above holds, reason `no_owner`: what it belongs to is not in the plan).
    """

    def __init__(self, account: str, index: Index, changed_only: bool) -> None:
        self.account = account
        self.index = index
        self.changed_only = changed_only
        self.resources: list[Resource] = []
        self.relations: list[Relation] = []
        self.ids: set[str] = set()
        self.deps: dict[str, set[str]] = defaultdict(set)  # resource id -> addresses read
        self.entry_of: dict[str, Entry] = {}
        self.read: dict[str, set[str]] = defaultdict(set)  # resource id -> its own deps
        self.iac_of: dict[str, dict[str, Any]] = {}
        self.skipped: dict[str, dict[str, Any]] = {}  # address -> not_assessed object
        self.unknown: dict[str, dict[str, Unread]] = defaultdict(dict)  # rid -> prop -> why
        # plain configuration whose module calls were not expanded: what they hold (a
        # bucket policy naming a root bucket...) is not seen
        self.unexpanded = False
        # types of the instances the plan deletes (not judged, their values not kept): a
        # refreshed attribute another resource of such a type wrote may be about to go
        self.deleted_types: frozenset[str] = frozenset()

    def rid(self, cloud: str, e: Entry | str, suffix: str = "") -> str:
        address = e.address if isinstance(e, Entry) else e
        return f"{cloud}:{self.account}/{address}{suffix}"

    def add(self, e: Entry, kind: Kind, cloud: str, world: World | Mapping[str, Any], *,
            name: str, region: str | None, labels: Mapping[str, str] | None = None,
            suffix: str = "", deps: Iterable[Entry] = (), native_type: str = "") -> str:
        rid = self.rid(cloud, e, suffix)
        if rid in self.ids:
            return rid
        self.ids.add(rid)
        props = dict(world.props if isinstance(world, World) else world)
        closed = world.closed if isinstance(world, World) else {}
        iac: dict[str, Any] = {"address": e.address + suffix, "actions": list(e.actions)}
        if e.file:
            iac["file"], iac["line"] = e.file, e.line
        if closed:
            iac["unknown"] = dict(closed)
        props["iac"] = iac
        self.iac_of[rid] = iac
        self.read[rid].update(d.address for d in deps)
        self.resources.append(Resource(
            id=rid, kind=kind, provider=cloud, account=self.account, name=name,
            region=region, labels=dict(labels or {}), properties=props, raw=e.raw,
            native_type=native_type or e.type))
        self.entry_of[rid] = e
        self.deps[rid].add(e.address)
        self.deps[rid].update(d.address for d in deps)
        return rid

    def also_read(self, rid: str, *entries: Entry) -> None:
        """Instances resource `rid` reads besides those given to `add` (its parts)."""
        self.read[rid].update(e.address for e in entries)
        self.deps[rid].update(e.address for e in entries)

    def relate(self, source: str, target: str, rtype: RelationType, **attrs: Any) -> None:
        self.relations.append(Relation(source, target, rtype, attrs))
        if rtype is RelationType.TARGETS:  # what reaches a target depends on its forwarder
            self.deps[target].update(self.deps[source])

    def mark(self, rid: str, props: Iterable[str], unread: Unread) -> None:
        """Properties of resource `rid` that the plan cannot show (a reference to something
        outside it): `Resource.unknown`, judged by the engine's fail-closed rule."""
        for prop in props:
            self.unknown[rid].setdefault(prop, unread)

    def orphan(self, e: Entry, reason: str, message: str) -> None:
        """An instance judged by no resource, named in a NOT-ASSESSED finding with why."""
        self.skipped.setdefault(e.address, {"id": e.address, "type": e.type,
                                            "reason": reason, "message": message})

    def account_parts(self) -> None:
        """List every instance that makes no resource of its own in the `iac.parts` of the
        resources that read it; one that is in none is `skipped` (reason `no_owner`)."""
        own = {e.address for e in self.entry_of.values()}
        part_of: set[str] = set()
        for rid, read in self.read.items():
            parts = sorted(a for a in read if a not in own and a in self.index.by_address
                           and self.index.by_address[a].type not in CONTEXT_TYPES)
            if parts:
                self.iac_of[rid]["parts"] = parts
                part_of.update(parts)
        for e in self.index.entries:
            if e.address in own or e.address in part_of or e.type in CONTEXT_TYPES:
                continue
            self.orphan(e, "no_owner", NO_OWNER.get(e.type, NO_OWNER_TEXT))

    def finish(self) -> list[Resource]:
        """Account for every instance (`account_parts`), then mark what a --changed-only
        scan does not judge: resources the plan neither creates nor updates and that read
        nothing the plan changes."""
        self.account_parts()
        if self.unknown:
            self.resources = [replace(r, unknown={**r.unknown, **self.unknown[r.id]})
                              if self.unknown.get(r.id) else r for r in self.resources]
        if not self.changed_only:
            return self.resources
        changed = {e.address for e in self.index.entries if e.changed}
        out = []
        for r in self.resources:
            if self.deps[r.id] & changed:
                out.append(r)
                continue
            props = dict(r.properties)
            props["iac"] = {**props["iac"], "judged": False}
            out.append(replace(r, properties=props))
        return out


def rules_json(rules: Iterable[Rule], ordered: bool) -> list[dict[str, Any]]:
    """Rules as a FIREWALL resource's `firewall_rules` (provider-neutral, as the live
    normalizers write them): `priority` only where order decides (network ACLs; security
    groups and Hetzner firewalls are a union of allow rules)."""
    return [{"action": str(r.action), **({"priority": r.priority} if ordered else {}),
             "protocol": r.protocol, "ports": str(r.ports), "sources": list(r.sources),
             "origin": r.origin} for r in rules]


def firewall_world(drafts: Iterable[Draft], ordered: bool = False) -> World:
    """A FIREWALL resource's `firewall_rules` in the two worlds."""
    most, least = two_worlds(drafts)
    if ordered:
        most = tuple(sorted(most, key=lambda r: r.priority))
        least = tuple(sorted(least, key=lambda r: r.priority))
    world = World()
    world.set("firewall_rules", rules_json(most, ordered), rules_json(least, ordered))
    return world


def union_layer(name: str, drafts: Iterable[Draft], origin: tuple[str, ...],
                present: bool = True) -> tuple[RuleLayer, RuleLayer]:
    most, least = two_worlds(drafts)
    return (RuleLayer(name, LayerMode.UNION, most, Action.DENY, present, origin),
            RuleLayer(name, LayerMode.UNION, least, Action.DENY, present, origin))
