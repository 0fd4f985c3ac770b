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
crosses all layers: a sweep over the ports (boundaries sorted once) and, per port segment,
interval arithmetic over the addresses of the rules that apply there (see `_admitted`).
Results are cached on the (hashable) layer tuple: servers sharing firewalls share the work.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
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


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_CIDR = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/(3[0-2]|[12]?[0-9]))?")


@lru_cache(maxsize=1 << 18)
def _interval(cidr: str) -> tuple[int, int, int]:
    """(family, first address, end) of a CIDR, host bits ignored (strict=False). Plain IPv4
    CIDRs are parsed here (ipaddress takes ~50 us each, and a firewall may hold 100k);
    everything else by ipaddress, which also refuses what is not a CIDR."""
    m = _IPV4_CIDR.fullmatch(cidr)
    if m:
        a, b, c, d, prefix = m.groups()
        size = 1 << (32 - int(prefix if prefix is not None else 32))
        value = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
        start = value - value % size
        return 4, start, start + size
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
    out: list[str] = []
    for lo, hi in intervals:
        out.extend(_interval_cidrs(version, lo, hi))
    return out


@lru_cache(maxsize=1 << 16)
def _interval_cidrs(version: int, lo: int, hi: int) -> tuple[str, ...]:
    """The CIDR blocks covering [lo, hi) exactly, largest first from the low end (what
    ipaddress.summarize_address_range gives, in integer arithmetic: it is called for every
    exposure, and the same operator ranges recur in every port range)."""
    bits = _FAMILY_BITS[version]
    out: list[str] = []
    while lo < hi:
        size = lo & -lo if lo else 1 << bits
        while size > hi - lo:
            size >>= 1
        out.append(f"{_address(version, lo)}/{bits - size.bit_length() + 1}")
        lo += size
    return tuple(out)


def _address(version: int, value: int) -> str:
    if version == 4:
        return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"
    return str(ipaddress.IPv6Address(value))


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
    """A sweep over the port axis: the rules' port boundaries are sorted once; between two
    boundaries the set of rules that apply is fixed, and the addresses it admits are computed
    from those rules alone (`_layer_addresses`: sorted interval arithmetic, O(k log k) for k
    rules). Adjacent port segments that admit the same addresses merge. With N rules this is
    O(N log N) for rules whose port ranges overlap little (the common case: one port or a
    few per rule), where the former cell-by-cell evaluation was quadratic or worse."""
    parsed = {c: _interval(c) for layer in layers for r in layer.rules for c in r.sources}
    query = cidr_set(sources)
    # per layer: its rules in decision order (ORDERED: stably by priority), as
    # (rank, rule, {family: merged source intervals})
    ranked = [[(rank, rule, _rule_intervals(rule, parsed))
               for rank, rule in enumerate(layer.ordered_rules())] for layer in layers]
    result: list[Exposure] = []
    for protocol in PROTOCOLS:
        applying = [[entry for entry in layer_rules if entry[1].protocol in ("*", protocol)]
                    for layer_rules in ranked]
        previous: tuple[PortRange, dict[int, list[tuple[int, int]]]] | None = None
        for lo, hi, active, families in _port_segments(protocol, applying, layers):
            admitted_set = {version: _segment(layers, active, version, query[version],
                                              [f[version] for f in families])
                            for version in (4, 6)}
            if previous and previous[1] == admitted_set and previous[0].hi + 1 == lo:
                previous = (PortRange(previous[0].lo, hi), admitted_set)
                continue
            if previous:
                result.extend(_exposure(protocol, *previous))
            previous = (PortRange(lo, hi), admitted_set)
        if previous:
            result.extend(_exposure(protocol, *previous))
    return tuple(result)


_Entry = tuple[int, Rule, dict[int, list[tuple[int, int]]]]


def _rule_intervals(rule: Rule, parsed: dict[str, tuple[int, int, int]]
                    ) -> dict[int, list[tuple[int, int]]]:
    by_family: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for cidr in rule.sources:
        version, lo, hi = parsed[cidr]
        by_family[version].append((lo, hi))
    return {v: _merge(iv) for v, iv in by_family.items()}


def _segment(layers: tuple[RuleLayer, ...], active: list[list[_Entry]], version: int,
             query: list[tuple[int, int]], counts: list[int]) -> list[tuple[int, int]]:
    """The addresses of one family admitted by every layer, given the rules that apply
    (`counts`: per layer, how many of them have sources of this family). Layers without
    applicable rules are decided by their default first (a default deny empties the result
    without looking at the others)."""
    if not query:
        return []
    busy: list[int] = []
    for i, layer in enumerate(layers):
        if not counts[i]:
            if layer.default is not Action.ALLOW:
                return []
        else:
            busy.append(i)
    current = query
    full = query == [(0, 1 << _FAMILY_BITS[version])]
    for i in busy:
        if full:  # the whole family asked for: the first layer's set is the answer so far
            current, full = _layer_addresses(layers[i], active[i], version), False
            if not current:
                break
            continue
        current = _intersect(current, _layer_addresses(layers[i], active[i], version))
        if not current:
            break
    return current


_Segment = tuple[int, int, list[list[_Entry]], list[dict[int, int]]]


def _port_segments(protocol: str, applying: list[list[_Entry]],
                   layers: tuple[RuleLayer, ...]) -> Iterator[_Segment]:
    """(lo, hi, the rules of each layer that apply to every port in lo..hi, per layer how
    many of them have IPv4 / IPv6 sources) for consecutive segments covering 0..65535 (one
    segment, port-less, for icmp and other)."""
    if protocol not in PORTED:  # only rules that do not narrow ports apply
        active = [[e for e in rules if e[1].ports == ALL_PORTS] for rules in applying]
        yield 0, MAX_PORT, active, [{v: sum(1 for e in a if e[2][v]) for v in (4, 6)}
                                    for a in active]
        return
    events: dict[int, list[tuple[int, int, _Entry]]] = {0: [], MAX_PORT + 1: []}
    for i, rules in enumerate(applying):
        for entry in rules:
            ports = entry[1].ports
            events.setdefault(ports.lo, []).append((1, i, entry))
            events.setdefault(ports.hi + 1, []).append((-1, i, entry))
    bounds = sorted(events)
    current: list[dict[int, _Entry]] = [{} for _ in applying]
    counts: list[dict[int, int]] = [{4: 0, 6: 0} for _ in applying]
    ordered = [layer.mode is LayerMode.ORDERED for layer in layers]
    for k in range(len(bounds) - 1):
        for change, i, entry in events[bounds[k]]:
            if change > 0:
                current[i][entry[0]] = entry
            else:
                del current[i][entry[0]]
            for v in (4, 6):
                if entry[2][v]:
                    counts[i][v] += change
        yield (bounds[k], bounds[k + 1] - 1,
               [sorted(a.values(), key=_rank) if ordered[i] and len(a) > 1
                else list(a.values()) for i, a in enumerate(current)],
               [dict(c) for c in counts])


def _rank(entry: _Entry) -> int:
    return entry[0]


def _layer_addresses(layer: RuleLayer, rules: list[_Entry], version: int
                     ) -> list[tuple[int, int]]:
    """The addresses of one family that `layer` admits, given the rules that apply (in
    decision order)."""
    universe = [(0, 1 << _FAMILY_BITS[version])]
    if layer.mode is LayerMode.UNION:
        if layer.default is Action.ALLOW:
            return universe
        allowed = [ivs[version] for _, rule, ivs in rules if rule.action is Action.ALLOW]
        if len(allowed) == 1:
            return allowed[0]  # already merged
        return _merge(iv for ivs in allowed for iv in ivs)
    actions = {rule.action for _, rule, _ in rules}
    if len(actions) == 1:  # all allow or all deny: order does not matter
        (action,) = actions
        if action is layer.default:
            return universe if action is Action.ALLOW else []
        decided = rules[0][2][version] if len(rules) == 1 else _merge(
            iv for _, _, ivs in rules for iv in ivs[version])
        return decided if action is Action.ALLOW else _subtract_iv(universe, decided)
    # ORDERED: the first rule (in rank order) covering an address decides. Paint the
    # elementary cells between all boundaries in rank order, each cell once: a "next
    # unpainted cell" pointer (path-halving union-find) skips painted ones.
    bounds = sorted({b for _, _, ivs in rules for lo, hi in ivs[version] for b in (lo, hi)}
                    | {0, universe[0][1]})
    index = {b: i for i, b in enumerate(bounds)}
    cells = len(bounds) - 1
    nxt = list(range(cells + 1))
    owner: list[bool | None] = [None] * cells

    def find(c: int) -> int:
        while nxt[c] != c:
            nxt[c] = nxt[nxt[c]]
            c = nxt[c]
        return c

    for _, rule, ivs in rules:
        allow = rule.action is Action.ALLOW
        for lo, hi in ivs[version]:
            c, end = find(index[lo]), index[hi]
            while c < end:
                owner[c] = allow
                nxt[c] = c + 1
                c = find(c + 1)
    default = layer.default is Action.ALLOW
    return _merge((bounds[c], bounds[c + 1]) for c in range(cells)
                  if (default if owner[c] is None else owner[c]))


def _subtract_iv(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """a minus b, both sorted and merged."""
    out: list[tuple[int, int]] = []
    j = 0
    for lo, hi in a:
        cur = lo
        while j < len(b) and b[j][1] <= cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] < hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            k += 1
        if cur < hi:
            out.append((cur, hi))
    return out


def _intersect_all(sets: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    current = sets[0]
    for other in sets[1:]:
        if not current:
            break
        current = _intersect(current, other)
    return current


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Intersection of two sorted, merged interval lists (linear merge)."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _exposure(protocol: str, ports: PortRange,
              sets: dict[int, list[tuple[int, int]]]) -> list[Exposure]:
    cidrs = _to_cidrs(4, sets[4]) + _to_cidrs(6, sets[6])
    return [Exposure(protocol, ports, tuple(cidrs))] if cidrs else []


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
