"""The one build context every family module of the AWS normalizer works on.

`Build` holds what the normalizer produces (resources, relations) and the lookups one family
builds for the others: the network context (subnets, route tables, network ACLs, security
groups and their members, prefix list entries), AWS Backup coverage, instances by private
address (load balancer IP targets). Families run in the order `normalize` calls them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from providers.aws.normalize.common import PROVIDER, implicit, parse_time, partition
from scanner.model import Kind, Relation, RelationType, Resource
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
    sg_layer_cache: dict[tuple[str, ...], RuleLayer] = field(default_factory=dict)
    route_layer_cache: dict[str, RuleLayer] = field(default_factory=dict)
    nacl_layer_cache: dict[str, RuleLayer] = field(default_factory=dict)
    # --- backup coverage (backup.backup_coverage) --------------------------------------
    backup_known: bool = False
    vault_copies: defaultdict[tuple[str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set))
    selections: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    # --- compute (compute.instances) ---------------------------------------------------
    instance_by_ip: dict[str, str] = field(default_factory=dict)
    covered_instances: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def of(cls, section: Section) -> Build:
        return cls(
            s=section, account=section.account,
            collected_at=parse_time(section.collected_at) or datetime.now(UTC),
            attempted=section.attempted(),
            failed={(e["collection"], e["region"]) for e in section.errors})

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
            arn = str((env.get("request") or {}).get(key))
            out[arn] = {str(k): str(v) for k, v in
                        ((env.get("response") or {}).get("Tags") or {}).items()}
        return out
