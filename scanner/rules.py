"""Firewall rule layers and what gets through them.

Every provider's firewalls normalize to an ordered tuple of `RuleLayer`s that inbound traffic
crosses, outermost first (AWS: network ACL then security groups; Azure: subnet NSG then NIC
NSG; Hetzner: the firewalls applied to a server). Traffic is admitted when *every* layer
admits it. A layer is either

- `ORDERED`: rules sorted by priority (lowest first), the first rule that matches decides,
  allow or deny (AWS network ACLs, Azure NSGs);
- `UNION`: allow-only rules, traffic matching any of them is admitted (AWS security groups,
  Hetzner firewalls, several of which applied to one server add up);

and has a default action for traffic no rule matches. A layer with `present=False` stands for
"no firewall here", its default says what the provider does then (Hetzner: allow all; an
Azure Standard public IP: deny).

`admitted()` computes, exactly, the set of (protocol, port range, source addresses) that
crosses all layers, by splitting the port and address spaces at every rule boundary so that
each elementary cell is decided by a single representative point. Results are cached on the
(hashable) layer tuple: servers sharing firewalls share the work.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

PROTOCOLS: tuple[str, ...] = ("tcp", "udp", "icmp", "other")
"""The protocol universe; `*` in a rule means all of them."""

PORTED = frozenset({"tcp", "udp"})
MAX_PORT = 65535
INTERNET: tuple[str, ...] = ("0.0.0.0/0", "::/0")
_FAMILY_BITS = {4: 32, 6: 128}


class Action(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class LayerMode(StrEnum):
    ORDERED = "ordered"
    UNION = "union"


@dataclass(frozen=True, slots=True, order=True)
class PortRange:
    lo: int
    hi: int  # inclusive

    def __post_init__(self) -> None:
        if not 0 <= self.lo <= self.hi <= MAX_PORT:
            raise ValueError(f"invalid port range {self.lo}-{self.hi}")

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.lo <= port <= self.hi

    def __str__(self) -> str:
        if self.lo == 0 and self.hi == MAX_PORT:
            return "all"
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"

    @classmethod
    def parse(cls, text: str | int | None) -> PortRange:
        """'22', '8000-8080', '*', 'any', None -> PortRange."""
        if text is None:
            return ALL_PORTS
        if isinstance(text, int):
            return cls(text, text)
        value = text.strip().lower()
        if value in ("", "*", "any", "all"):
            return ALL_PORTS
        if "-" in value:
            lo, hi = value.split("-", 1)
            return cls(int(lo), int(hi))
        return cls(int(value), int(value))


ALL_PORTS = PortRange(0, MAX_PORT)


@dataclass(frozen=True, slots=True)
class Rule:
    """One inbound rule. `sources` are CIDRs (IPv4 and/or IPv6)."""

    action: Action
    protocol: str  # tcp | udp | icmp | other | *
    ports: PortRange = ALL_PORTS
    sources: tuple[str, ...] = INTERNET
    priority: int = 0
    origin: str = ""  # where it comes from, for evidence: "<firewall id>#<index>"

    def __post_init__(self) -> None:
        if self.protocol != "*" and self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}")

    def matches_protocol_port(self, protocol: str, port: int | None) -> bool:
        if self.protocol not in ("*", protocol):
            return False
        if protocol in PORTED:
            return port is not None and port in self.ports
        # ICMP and other port-less protocols: only rules that do not narrow ports apply.
        return self.ports == ALL_PORTS


@dataclass(frozen=True, slots=True)
class RuleLayer:
    name: str
    mode: LayerMode
    rules: tuple[Rule, ...]
    default: Action = Action.DENY
    present: bool = True
    origin: tuple[str, ...] = ()  # ids of the firewall resources that make up the layer

    def ordered_rules(self) -> tuple[Rule, ...]:
        if self.mode is LayerMode.ORDERED:
            return tuple(sorted(self.rules, key=lambda r: r.priority))
        return self.rules


@dataclass(frozen=True, slots=True, order=True)
class Exposure:
    """Traffic that crosses every layer: a protocol, a port range and the sources admitted."""

    protocol: str
    ports: PortRange
    sources: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"protocol": self.protocol, "ports": str(self.ports), "sources": list(self.sources)}


# --- address sets as sorted, merged integer intervals [lo, hi) per family -----------------


def _interval(cidr: str) -> tuple[int, int, int]:
    net = ipaddress.ip_network(cidr, strict=False)
    start = int(net.network_address)
    return net.version, start, start + net.num_addresses


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _to_cidrs(version: int, intervals: Sequence[tuple[int, int]]) -> list[str]:
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    out: list[str] = []
    for lo, hi in intervals:
        out.extend(
            str(n) for n in ipaddress.summarize_address_range(cls(lo), cls(hi - 1))
        )
    return out


def cidr_set(cidrs: Iterable[str]) -> dict[int, list[tuple[int, int]]]:
    """CIDRs -> {family: merged intervals}."""
    by_family: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for cidr in cidrs:
        version, lo, hi = _interval(cidr)
        by_family[version].append((lo, hi))
    return {v: _merge(iv) for v, iv in by_family.items()}


def subtract(cidrs: Iterable[str], minus: Iterable[str]) -> list[str]:
    """Addresses in `cidrs` not in `minus`, as CIDRs (IPv4 first)."""
    return list(_subtract(tuple(cidrs), tuple(minus)))


@lru_cache(maxsize=65536)
def _subtract(cidrs: tuple[str, ...], minus: tuple[str, ...]) -> tuple[str, ...]:
    # Cached: checks ask the same question (these exposed sources minus the operator ranges)
    # for every server behind the same firewalls.
    have, take = cidr_set(cidrs), cidr_set(minus)
    out: list[str] = []
    for version in (4, 6):
        rest: list[tuple[int, int]] = []
        cut = take[version]
        for lo, hi in have[version]:
            cur = lo
            for clo, chi in cut:
                if chi <= cur or clo >= hi:
                    continue
                if clo > cur:
                    rest.append((cur, clo))
                cur = max(cur, chi)
                if cur >= hi:
                    break
            if cur < hi:
                rest.append((cur, hi))
        out.extend(_to_cidrs(version, rest))
    return tuple(out)


def contains_address(cidrs: Iterable[str], address: str) -> bool:
    ip = ipaddress.ip_address(address.split("/")[0])
    return any(
        ip.version == ipaddress.ip_network(c, strict=False).version
        and ip in ipaddress.ip_network(c, strict=False)
        for c in cidrs
    )


# --- decisions ---------------------------------------------------------------------------


def _layer_admits(layer: RuleLayer, protocol: str, port: int | None, version: int, addr: int,
                  parsed: dict[str, tuple[int, int, int]]) -> bool:
    def src_match(rule: Rule) -> bool:
        for cidr in rule.sources:
            v, lo, hi = parsed[cidr]
            if v == version and lo <= addr < hi:
                return True
        return False

    if layer.mode is LayerMode.UNION:
        for rule in layer.rules:
            if (rule.action is Action.ALLOW and rule.matches_protocol_port(protocol, port)
                    and src_match(rule)):
                return True
        return layer.default is Action.ALLOW
    for rule in layer.ordered_rules():
        if rule.matches_protocol_port(protocol, port) and src_match(rule):
            return rule.action is Action.ALLOW
    return layer.default is Action.ALLOW


def decide(layers: Sequence[RuleLayer], protocol: str, port: int | None, source: str) -> bool:
    """Is one packet (protocol, destination port, source address) admitted by every layer?"""
    ip = ipaddress.ip_address(source)
    parsed = {c: _interval(c) for layer in layers for r in layer.rules for c in r.sources}
    return all(
        _layer_admits(layer, protocol, port, ip.version, int(ip), parsed) for layer in layers
    )


def admitted(layers: Sequence[RuleLayer], sources: Sequence[str] = INTERNET
             ) -> tuple[Exposure, ...]:
    """Exactly what crosses every layer from `sources`, as merged exposures."""
    return _admitted(tuple(layers), tuple(sources))


@lru_cache(maxsize=65536)
def _admitted(layers: tuple[RuleLayer, ...], sources: tuple[str, ...]) -> tuple[Exposure, ...]:
    parsed = {c: _interval(c) for layer in layers for r in layer.rules for c in r.sources}
    query = cidr_set(sources)
    rules = [r for layer in layers for r in layer.rules]
    result: list[Exposure] = []
    for protocol in PROTOCOLS:
        proto_rules = [r for r in rules if r.protocol in ("*", protocol)]
        if protocol in PORTED:
            cuts = {0, MAX_PORT + 1}
            for r in proto_rules:
                cuts.update((r.ports.lo, r.ports.hi + 1))
            bounds = sorted(cuts)
            segments = [(bounds[i], bounds[i + 1] - 1) for i in range(len(bounds) - 1)]
        else:
            segments = [(0, MAX_PORT)]
        previous: tuple[PortRange, dict[int, list[tuple[int, int]]]] | None = None
        for lo, hi in segments:
            port = lo if protocol in PORTED else None
            admitted_set = {
                version: _admitted_addresses(layers, protocol, port, version, query[version],
                                             proto_rules, parsed)
                for version in (4, 6)
            }
            if previous and previous[1] == admitted_set and previous[0].hi + 1 == lo:
                previous = (PortRange(previous[0].lo, hi), admitted_set)
                continue
            if previous:
                result.extend(_exposure(protocol, *previous))
            previous = (PortRange(lo, hi), admitted_set)
        if previous:
            result.extend(_exposure(protocol, *previous))
    return tuple(result)


def _exposure(protocol: str, ports: PortRange,
              sets: dict[int, list[tuple[int, int]]]) -> list[Exposure]:
    cidrs = _to_cidrs(4, sets[4]) + _to_cidrs(6, sets[6])
    return [Exposure(protocol, ports, tuple(cidrs))] if cidrs else []


def _admitted_addresses(layers: tuple[RuleLayer, ...], protocol: str, port: int | None,
                        version: int, query: list[tuple[int, int]], rules: list[Rule],
                        parsed: dict[str, tuple[int, int, int]]) -> list[tuple[int, int]]:
    if not query:
        return []
    cuts: set[int] = set()
    for lo, hi in query:
        cuts.update((lo, hi))
    for r in rules:
        if r.matches_protocol_port(protocol, port):
            for cidr in r.sources:
                v, lo, hi = parsed[cidr]
                if v == version:
                    cuts.update((lo, hi))
    bounds = sorted(cuts)
    admitted_iv: list[tuple[int, int]] = []
    q_starts = [lo for lo, _ in query]
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        k = bisect_right(q_starts, lo) - 1
        if k < 0 or not query[k][0] <= lo < query[k][1]:
            continue
        if all(_layer_admits(layer, protocol, port, version, lo, parsed) for layer in layers):
            admitted_iv.append((lo, hi))
    return _merge(admitted_iv)


# --- reading exposures -------------------------------------------------------------------


def sources_for(exposures: Iterable[Exposure], protocol: str, port: int | None) -> list[str]:
    """The sources admitted for one protocol and port."""
    out: list[str] = []
    for e in exposures:
        if e.protocol == protocol and (port is None or port in e.ports):
            out.extend(e.sources)
    return out


def wide_open(exposures: Iterable[Exposure]) -> bool:
    """Every TCP port open to the whole IPv4 or IPv6 internet (a host with no filtering)."""
    covered: dict[str, list[tuple[int, int]]] = {"0.0.0.0/0": [], "::/0": []}
    for e in exposures:
        if e.protocol != "tcp":
            continue
        for src in ("0.0.0.0/0", "::/0"):
            if src in e.sources:
                covered[src].append((e.ports.lo, e.ports.hi + 1))
    return any(_merge(iv) == [(0, MAX_PORT + 1)] for iv in covered.values())
