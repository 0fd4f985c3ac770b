"""The one build context every family module of the AWS normalizer works on.

`Build` holds what the normalizer produces (resources, relations) and the lookups one family
builds for the others: the network context (subnets, route tables, network ACLs, security
groups and their members, prefix list entries), AWS Backup coverage, instances by private
address (load balancer IP targets). Families run in the order `normalize` calls them.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from providers.aws.normalize.common import PROVIDER, _obj, implicit, parse_time, partition
from scanner.model import Kind, Relation, RelationType, Resource, Unread
from scanner.rules import RuleLayer
from scanner.snapshot import GLOBAL, Section


@dataclass
class Build:
    s: Section
    account: str = ""
    resources: list[Resource] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    attempted: set[str] = field(default_factory=set)
    failed: set[tuple[str, str]] = field(default_factory=set)
    # (collection, region) -> the error of a whole list that failed (no `resource`)
    list_errors: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # properties of resources that could not be (fully) read: id -> property -> why
    unknown: defaultdict[str, dict[str, Unread]] = field(
        default_factory=lambda: defaultdict(dict))
    # raw objects read but not judged (engine.not_assessed): {id, type, reason, message}
    skipped: list[dict[str, str]] = field(default_factory=list)
    # --- network context (network.network) ---------------------------------------------
    subnets: dict[str, dict[str, Any]] = field(default_factory=dict)
    subnet_region: dict[str, str] = field(default_factory=dict)
    route_of_subnet: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes_known: bool = False
    prefix_entries: dict[str, list[str]] = field(default_factory=dict)
    sgs: dict[str, dict[str, Any]] = field(default_factory=dict)
    sg_region: dict[str, str] = field(default_factory=dict)
    nacl_of_subnet: dict[str, dict[str, Any]] = field(default_factory=dict)
    nacl_region: dict[str, str] = field(default_factory=dict)
    sg_members: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # prefix lists a security group rule names that could not be resolved: rule origin ->
    # prefix list ids (the rule keeps the sources that were read)
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    sg_layer_cache: dict[tuple[str, ...], RuleLayer] = field(default_factory=dict)
    route_layer_cache: dict[str, RuleLayer] = field(default_factory=dict)
    nacl_layer_cache: dict[str, RuleLayer] = field(default_factory=dict)
    # --- backup coverage (backup.backup_coverage) --------------------------------------
    backup_known: bool = False
    vault_copies: defaultdict[tuple[str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set))
    selections: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = field(default_factory=list)
    # --- load balancers (load_balancers.load_balancers) ---------------------------------
    # region -> why the certificate list of some HTTPS/TLS listener there is not known
    listener_certs_unread: dict[str, str] = field(default_factory=dict)
    # --- compute (compute.instances) ---------------------------------------------------
    instance_by_ip: dict[str, str] = field(default_factory=dict)
    covered_instances: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def of(cls, section: Section) -> Build:
        return cls(
            s=section, account=section.account,
            collected_at=parse_time(section.collected_at) or datetime.now(UTC),
            attempted=section.attempted(),
            failed={(e["collection"], e["region"]) for e in section.errors},
            list_errors={(e["collection"], e["region"]): e for e in section.errors
                         if not e.get("resource")})

    def list_unread(self, name: str, region: str | None) -> str | None:
        """Why the list `name` is not known in `region` (None: it was read there)."""
        if name not in self.attempted:
            return f"{name} was not collected"
        err = self.list_errors.get((name, region or GLOBAL)) or self.list_errors.get(
            (name, GLOBAL))
        if err is not None:
            return f"{name} could not be read in {err['region']}: {err['message']}"
        return None

    def mark(self, rid: str, props: Iterable[str], unread: Unread) -> None:
        """Record that `props` of resource `rid` are not fully known (the first reason
        given for a property stands, widened to both directions when two differ)."""
        for prop in props:
            old = self.unknown[rid].get(prop)
            if old is None:
                self.unknown[rid][prop] = unread
            elif (old.opens, old.closes) != (unread.opens, unread.closes):
                self.unknown[rid][prop] = replace(old, opens=old.opens or unread.opens,
                                                  closes=old.closes or unread.closes)

    def skip(self, native_id: str, native_type: str, reason: str, message: str) -> None:
        """A raw object read and deliberately not judged: named in a NOT-ASSESSED finding."""
        self.skipped.append({"id": native_id, "type": native_type, "reason": reason,
                             "message": message})

    def stable_id(self, obj: Mapping[str, Any], *fields: str) -> str:
        """The first of `fields` the object has, or one derived from its content (older
        recorded shapes lack some ids): never "None", never two objects under one id."""
        for f in fields:
            if obj.get(f):
                return str(obj[f])
        digest = hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode())
        return f"sha256:{digest.hexdigest()[:16]}"

    def finished(self) -> list[Resource]:
        """The resources with what could not be read of them (`Resource.unknown`)."""
        out = []
        for r in self.resources:
            marks = self.unknown.get(r.id)
            out.append(replace(r, unknown={**r.unknown, **marks}) if marks else r)
        return out

    @property
    def partition(self) -> str:
        """The partition of the regions scanned (global resources: IAM, CloudFront)."""
        return partition(next(iter(self.s.locations), None))

    def arn(self, service: str, region: str | None, resource: str, account: str | None = None
            ) -> str:
        acct = self.account if account is None else account
        return f"arn:{partition(region)}:{service}:{region or ''}:{acct}:{resource}"

    def add(self, kind: Kind, rid: str, native_type: str, obj: Mapping[str, Any],
            properties: Mapping[str, Any], region: str | None, name: str,
            labels: Mapping[str, str] | None = None) -> str:
        if rid in self.ids:
            return rid
        self.ids.add(rid)
        props = dict(properties)
        why = implicit(native_type, obj, self.account)
        if why:
            props["implicit"] = why
        self.resources.append(Resource(
            id=rid, kind=kind, provider=PROVIDER, account=self.account, name=name,
            region=None if region == GLOBAL else region, labels=dict(labels or {}),
            properties=props, raw=obj, native_type=native_type))
        return rid

    def relate(self, source: str, target: str, rtype: RelationType, **attrs: Any) -> None:
        self.relations.append(Relation(source, target, rtype, attrs))

    def regional(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        return [(region, obj) for region, objs in self.s.collections.get(name, {}).items()
                for obj in objs]

    def read_ok(self, name: str, region: str) -> bool:
        """The collection was attempted and did not fail in `region` (or globally)."""
        return name in self.attempted and (name, region) not in self.failed and \
            (name, GLOBAL) not in self.failed

    def tags_of(self, name: str, key: str) -> dict[str, dict[str, str]]:
        """Tags by resource ARN from a per-resource `list_tags` envelope ({"Tags": {k: v}})."""
        out: dict[str, dict[str, str]] = {}
        for _, env in self.regional(name):
            arn = str(_obj(env.get("request"), "request").get(key))
            out[arn] = {str(k): str(v) for k, v in
                        (_obj(_obj(env.get("response"), "response").get("Tags"), "Tags")).items()}
        return out
