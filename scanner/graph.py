"""The estate graph: resources as nodes, relations as edges, one `internet` node.

Exposure analysis adds `reaches` edges from `internet` to every resource that some traffic
from anywhere reaches, with the exact protocols, ports and source ranges that cross every
firewall layer, and follows load balancers to their targets. It is built once per scan, in
time linear in resources + relations (firewall evaluation is cached per distinct layer set).
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.model import Declaration, Inventory, Kind, Relation, RelationType, Resource
from scanner.rules import INTERNET as INTERNET_SOURCES
from scanner.rules import Exposure, PortRange, RuleLayer, admitted, sources_for

if TYPE_CHECKING:
    import networkx as nx

INTERNET = "internet"


@dataclass(frozen=True, slots=True)
class Reach:
    """Traffic from the internet that arrives at `target`, directly or through `via`."""

    target: str
    exposures: tuple[Exposure, ...]
    via: str | None = None  # load balancer id when forwarded
    listener: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "via": self.via,
            "listener": self.listener,
            "exposures": [e.to_json() for e in self.exposures],
        }


class EstateGraph:
    """A networkx MultiDiGraph plus the indexes checks need."""

    def __init__(self, inventories: Iterable[Inventory]) -> None:
        self._g: nx.MultiDiGraph | None = None  # built on first use of `g`
        self._reach_log: list[Reach] = []  # every reach, in the order it was found
        self.resources: dict[str, Resource] = {}
        self._by_kind: dict[Kind, list[Resource]] = defaultdict(list)
        self._out: dict[str, list[Relation]] = defaultdict(list)
        self._in: dict[str, list[Relation]] = defaultdict(list)
        self._reaches: dict[str, list[Reach]] = defaultdict(list)
        relations: list[Relation] = []
        # What infrastructure-as-code declares (--iac), apart from the estate's resources:
        # the sources given (each an inventory's account) and their declarations (INV-01).
        self.iac_sources: list[str] = []
        self.declarations: list[Declaration] = []
        resources, by_kind = self.resources, self._by_kind  # local names: once per resource
        for inv in inventories:
            for r in inv.resources:
                resources[r.id] = r
                by_kind[r.kind].append(r)
            relations.extend(inv.relations)
            if inv.declarations is not None:
                self.iac_sources.append(inv.account)
                self.declarations.extend(inv.declarations)
        self.dangling: list[Relation] = []
        out, into, dangling = self._out, self._in, self.dangling
        for rel in relations:
            if rel.source in resources and rel.target in resources:
                out[rel.source].append(rel)
                into[rel.target].append(rel)
            else:
                dangling.append(rel)
        self._analyze_exposure()

    @property
    def g(self) -> nx.MultiDiGraph:
        """The estate as a networkx MultiDiGraph: resource nodes, relation edges, `reaches`
        edges from `internet`. Built on first use (the built-in checks use the indexes
        below, and the graph costs about as much memory as the resources themselves)."""
        if self._g is None:
            import networkx as nx  # start-up time a scan need not pay unless it is used

            g = nx.MultiDiGraph()
            g.add_node(INTERNET, kind=Kind.INTERNET)
            g.add_nodes_from((rid, {"kind": r.kind}) for rid, r in self.resources.items())
            g.add_edges_from(
                (rel.source, rel.target, {"type": str(rel.type), "relation": rel})
                for rels in self._out.values()
                for rel in rels
            )
            for reach in self._reach_log:
                g.add_edge(INTERNET, reach.target, type=str(RelationType.REACHES), reach=reach)
            self._g = g
        return self._g

    # --- queries -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.resources)

    def get(self, rid: str) -> Resource:
        return self.resources[rid]

    def of_kind(self, *kinds: Kind) -> list[Resource]:
        return [r for k in kinds for r in self._by_kind.get(k, ())]

    def with_role(self, role: str, *kinds: Kind) -> list[Resource]:
        pool = self.of_kind(*kinds) if kinds else list(self.resources.values())
        return [r for r in pool if role in r.roles]

    def related(self, rid: str, rtype: RelationType, incoming: bool = False) -> list[Resource]:
        rels = self._in[rid] if incoming else self._out[rid]
        ids = (rel.source if incoming else rel.target for rel in rels if rel.type is rtype)
        return [self.resources[i] for i in ids]

    def relations(self, rid: str, rtype: RelationType, incoming: bool = False) -> list[Relation]:
        rels = self._in[rid] if incoming else self._out[rid]
        return [rel for rel in rels if rel.type is rtype]

    def reaches(self, rid: str) -> list[Reach]:
        """Every way traffic from the internet arrives at a resource."""
        return self._reaches.get(rid, [])

    def exposed(self) -> Iterator[tuple[Resource, list[Reach]]]:
        for rid, reaches in self._reaches.items():
            yield self.resources[rid], reaches

    # --- exposure analysis ---------------------------------------------------------------

    def _admit(self, layers: tuple[RuleLayer, ...], sources: tuple[str, ...] | None = None
               ) -> tuple[Exposure, ...]:
        return admitted(layers, sources) if sources is not None else admitted(layers)

    def _add_reach(self, reach: Reach) -> None:
        self._reaches[reach.target].append(reach)
        self._reach_log.append(reach)

    def _analyze_exposure(self) -> None:
        direct: dict[str, tuple[Exposure, ...]] = {}
        for r in self.of_kind(Kind.COMPUTE, Kind.DATABASE, Kind.LOAD_BALANCER):
            if not (r.prop("public_ips") or r.prop("public_endpoint")):
                continue
            exposures = self._admit(tuple(r.prop("ingress", ())),
                                    None if r.prop("public_endpoint")
                                    else _families(r.prop("public_ips") or []))
            if exposures:
                direct[r.id] = exposures
                self._add_reach(Reach(r.id, exposures))
        for lb in self.of_kind(Kind.LOAD_BALANCER):
            if lb.id in direct:
                self._forward(lb, direct[lb.id])

    def _forward(self, lb: Resource, lb_exposures: tuple[Exposure, ...]) -> None:
        targets = self.relations(lb.id, RelationType.TARGETS)
        # the targets of each target group, and those of none (every listener's), by their
        # place in `targets`: a listener naming its groups walks their targets only (one
        # AWS listener forwarding to 3,000 ports is 3,000 listeners; each walking every
        # target of the load balancer took 3,000 x 3,000 steps)
        by_group: dict[str, list[int]] = defaultdict(list)
        ungrouped: list[int] = []
        for i, rel in enumerate(targets):
            group = rel.attrs.get("target_group")
            if group is None:
                ungrouped.append(i)
            elif isinstance(group, str):
                by_group[group].append(i)
        for listener in self.related(lb.id, RelationType.MEMBER_OF, incoming=True):
            if listener.kind is not Kind.LISTENER:
                continue
            port, target_port = listener.prop("port"), listener.prop("target_port")
            if port is None or target_port is None or listener.prop("redirects_to_https"):
                continue
            # a listener that names the target groups it forwards to on this port reaches
            # only their targets (an AWS listener forwarding to groups on two ports: each
            # port its own groups' targets, not every target of the load balancer)
            groups = listener.prop("target_groups")
            if isinstance(groups, list | tuple):
                named = dict.fromkeys(g for g in groups if isinstance(g, str))
                reached = [targets[i] for i in sorted(
                    [*ungrouped, *(i for g in named for i in by_group.get(g, ()))])]
            else:
                reached = targets
            for transport in _transports(listener):
                self._forward_on(lb, lb_exposures, reached, listener, transport, port,
                                 target_port)

    def _forward_on(self, lb: Resource, lb_exposures: tuple[Exposure, ...],
                    targets: list[Relation], listener: Resource, transport: str, port: int,
                    target_port: int) -> None:
        """One transport protocol of a listener: the sources the load balancer admits on
        `port` over `transport` arrive at each target on `target_port` over the same one."""
        sources = tuple(sources_for(lb_exposures, transport, port))
        if not sources:
            return
        for rel in targets:
            target = self.resources[rel.target]
            if rel.attrs.get("private"):
                admitted_sources = sources
            else:
                # The target sees the load balancer's public address as the source.
                from_lb = self._admit(tuple(target.prop("ingress", ())),
                                      tuple(_as_cidr(ip) for ip in lb.prop("public_ips", [])))
                admitted_sources = sources if sources_for(from_lb, transport, target_port) \
                    else ()
            if admitted_sources:
                exposure = Exposure(transport, PortRange(target_port, target_port),
                                    admitted_sources)
                self._add_reach(Reach(target.id, (exposure,), via=lb.id,
                                      listener=listener.id))


def _transports(listener: Resource) -> tuple[str, ...]:
    """The transport protocols a listener carries to its targets: its `transport` when the
    provider set one (an AWS NLB `UDP` / `QUIC` listener: udp; `TCP_UDP` / `TCP_QUIC`: both,
    https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-listeners.html;
    an Azure load-balancing rule of protocol `Udp`: udp, `All`: both,
    https://learn.microsoft.com/rest/api/load-balancer/load-balancers/create-or-update#transportprotocol),
    else udp for a listener whose protocol is `udp` and tcp for every other (HTTP, HTTPS,
    TLS and TCP listeners run over TCP). A UDP listener forwards UDP only: forwarding it as
    TCP reported a TCP path that does not exist and missed the UDP one."""
    given = listener.prop("transport")
    if isinstance(given, list | tuple) and given:
        return tuple(t for t in ("tcp", "udp") if t in given)
    return ("udp",) if listener.prop("protocol") == "udp" else ("tcp",)


# A dotted-quad IPv4 address as ipaddress accepts it (four decimal octets 0-255, no leading
# zeros, ASCII digits only): ip_network(text, strict=False) is that address's /32, IPv4.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _families(addresses: Iterable[str]) -> tuple[str, ...] | None:
    """The internet sources that can reach these public addresses: an IPv4 packet never
    arrives at an IPv6 address, so a resource with only IPv6 addresses is reached from `::/0`
    only (and one with only IPv4 from `0.0.0.0/0`). None (every source) when an address is
    not an IP address or network (a placeholder for one not known yet)."""
    found: set[str] = set()
    for value in addresses:
        text = str(value).strip()
        if _IPV4.fullmatch(text):  # what ip_network reads as an IPv4 address (most of them)
            found.add("0.0.0.0/0")
            continue
        try:
            version = ipaddress.ip_network(text, strict=False).version
        except ValueError:
            return None
        found.add("0.0.0.0/0" if version == 4 else "::/0")
    return tuple(src for src in INTERNET_SOURCES if src in found) if found else None


def _as_cidr(ip: str) -> str:
    return ip if "/" in ip else (f"{ip}/128" if ":" in ip else f"{ip}/32")
