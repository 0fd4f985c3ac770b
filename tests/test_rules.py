"""Property tests of firewall rule evaluation (scanner.rules) against a brute-force reference.

The reference below is written from the specification, not from `scanner.rules` internals:
a packet (protocol, port, source address) crosses a layer when

- UNION: some ALLOW rule matches it, otherwise the layer default decides;
- ORDERED: the first matching rule, rules sorted (stably) by priority, decides; otherwise the
  layer default;

and it is admitted when every layer admits it. A rule matches a protocol when its protocol is
that protocol or `*`; for tcp/udp the port must be inside its range; port-less protocols
(icmp, other) are matched only by rules whose port range is the full 0-65535.

The universes are small enough to enumerate: every address of 10.0.0.0/26 and of
2001:db8::/122, plus one representative of every other cell the generated CIDRs can create,
and every port 0..41 plus the top of the range (generated port ranges end at 0..40, 65534 or
65535), so the comparison in `test_admitted_matches_brute_force_reference` is exhaustive.
"""

from __future__ import annotations

import bisect
import functools
import gc
import ipaddress
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import rules as rules_module
from scanner.rules import (
    ALL_PORTS,
    INTERNET,
    MAX_PORT,
    Action,
    Exposure,
    LayerMode,
    PortRange,
    Rule,
    RuleLayer,
    admitted,
    canonical_cidr,
    decide,
    sources_for,
    subtract,
    wide_open,
)

SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

ALL_PROTOCOLS = ("tcp", "udp", "icmp", "other")
PORTED_PROTOCOLS = ("tcp", "udp")
RULE_PROTOCOLS = (*ALL_PROTOCOLS, "*")

# --- the universe ----------------------------------------------------------------------

V4_BASE = int(ipaddress.IPv4Address("10.0.0.0"))
V6_BASE = int(ipaddress.IPv6Address("2001:db8::"))
# CIDRs that rules are built from, besides the random ones inside 10.0.0.0/26 and
# 2001:db8::/122 (see `cidrs`).
V4_EXTRA = ("10.0.0.0/26", "10.0.0.0/25", "0.0.0.0/0")
V6_EXTRA = ("2001:db8::/120", "2001:db8::40/122", "2001:db8::80/121", "::/0")

V4_ADDRESSES = tuple(
    [str(ipaddress.IPv4Address(V4_BASE + i)) for i in range(64)]
    + ["10.0.0.64", "10.0.0.127", "10.0.0.128", "9.255.255.255", "0.0.0.0",
       "192.0.2.1", "255.255.255.255"]
)
V6_ADDRESSES = tuple(
    [str(ipaddress.IPv6Address(V6_BASE + i)) for i in range(64)]
    + [str(ipaddress.IPv6Address(V6_BASE + i)) for i in (0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xFF,
                                                          0x100)]
    + ["::", "::1", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]
)
ADDRESSES = V4_ADDRESSES + V6_ADDRESSES
PORTS = (*range(42), MAX_PORT - 1, MAX_PORT)
_UNIVERSE_FLAT = rules_module._UNIVERSE
LOCAL = ("10.0.0.0/26", "2001:db8::/120")

Packet = tuple[str, int | None, str]


def packets() -> list[Packet]:
    out: list[Packet] = []
    for protocol in ALL_PROTOCOLS:
        ports: Sequence[int | None] = PORTS if protocol in PORTED_PROTOCOLS else (None,)
        out.extend((protocol, port, a) for port in ports for a in ADDRESSES)
    return out


PACKETS = packets()


# --- the reference ---------------------------------------------------------------------


@functools.cache
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


@functools.cache
def _span(cidr: str) -> tuple[int, int, int]:
    """(version, first address, last address) as integers."""
    n = _network(cidr)
    return n.version, int(n.network_address), int(n.broadcast_address)


@functools.cache
def _address(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)


def in_cidrs(address: str, cidrs: Iterable[str]) -> bool:
    version, addr = _address(address)
    return any(v == version and lo <= addr <= hi for v, lo, hi in map(_span, cidrs))


@dataclass(frozen=True)
class RefRule:
    allow: bool
    protocol: str
    lo: int
    hi: int
    full: bool
    sources: tuple[tuple[int, int, int], ...]  # (version, first, last)

    @classmethod
    def of(cls, rule: Rule) -> RefRule:
        return cls(
            allow=rule.action == "allow",
            protocol=str(rule.protocol),
            lo=rule.ports.lo,
            hi=rule.ports.hi,
            full=(rule.ports.lo, rule.ports.hi) == (0, 65535),
            sources=tuple(_span(c) for c in rule.sources),
        )

    def matches(self, protocol: str, port: int | None, version: int, addr: int) -> bool:
        if self.protocol not in ("*", protocol):
            return False
        if protocol in PORTED_PROTOCOLS:
            if port is None or not self.lo <= port <= self.hi:
                return False
        elif not self.full:
            return False
        for v, lo, hi in self.sources:  # noqa: SIM110 (hot loop: plain for is faster)
            if v == version and lo <= addr <= hi:
                return True
        return False


@dataclass(frozen=True)
class RefLayer:
    union: bool
    default_allow: bool
    rules: tuple[RefRule, ...]  # in evaluation order

    @classmethod
    def of(cls, layer: RuleLayer) -> RefLayer:
        union = layer.mode == "union"
        rules = list(layer.rules)
        if not union:
            rules = sorted(rules, key=lambda r: r.priority)  # sorted() is stable
        return cls(union, layer.default == "allow", tuple(RefRule.of(r) for r in rules))

    def admits(self, protocol: str, port: int | None, version: int, addr: int) -> bool:
        if self.union:
            for r in self.rules:
                if r.allow and r.matches(protocol, port, version, addr):
                    return True
            return self.default_allow
        for r in self.rules:
            if r.matches(protocol, port, version, addr):
                return r.allow
        return self.default_allow


class Reference:
    """Per-packet evaluation of a stack of layers."""

    def __init__(self, layers: Sequence[RuleLayer]) -> None:
        self.layers = [RefLayer.of(layer) for layer in layers]

    def admits(self, protocol: str, port: int | None, address: str) -> bool:
        version, addr = _address(address)
        for layer in self.layers:  # noqa: SIM110 (hot loop)
            if not layer.admits(protocol, port, version, addr):
                return False
        return True

    def admitted_packets(self, sources: Sequence[str]) -> set[Packet]:
        inside = {a for a in ADDRESSES if in_cidrs(a, sources)}
        return {p for p in PACKETS if p[2] in inside and self.admits(*p)}


def rule_matches(rule: Rule) -> Callable[[Packet], bool]:
    ref = RefRule.of(rule)
    return lambda packet: ref.matches(packet[0], packet[1], *_address(packet[2]))


def packets_in(exposures: Iterable[Exposure]) -> set[Packet]:
    """The packets of the universe that the exposures describe."""
    out: set[Packet] = set()
    for e in exposures:
        addresses = [a for a in ADDRESSES if in_cidrs(a, e.sources)]
        ports: list[int | None] = (
            [p for p in PORTS if e.ports.lo <= p <= e.ports.hi]
            if e.protocol in PORTED_PROTOCOLS else [None]
        )
        out.update(itertools.product((e.protocol,), ports, addresses))
    return out


# --- strategies --------------------------------------------------------------------------


@st.composite
def v4_cidr(draw: st.DrawFn) -> str:
    prefix = draw(st.integers(26, 32))
    offset = draw(st.integers(0, 63))
    return str(ipaddress.ip_network(f"10.0.0.{offset}/{prefix}", strict=False))


@st.composite
def v6_cidr(draw: st.DrawFn) -> str:
    prefix = draw(st.integers(122, 128))
    offset = draw(st.integers(0, 63))
    address = ipaddress.IPv6Address(V6_BASE + offset)
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


cidrs = st.one_of(v4_cidr(), v6_cidr(), st.sampled_from(V4_EXTRA + V6_EXTRA))

port_ranges = st.one_of(
    st.just(ALL_PORTS),
    st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda t: PortRange(*sorted(t))),
    st.builds(PortRange, st.integers(0, 40), st.sampled_from((MAX_PORT - 1, MAX_PORT))),
)

def rule_strategy(
    protocols: Sequence[str], ports: st.SearchStrategy[PortRange], sources: st.SearchStrategy[str]
) -> st.SearchStrategy[Rule]:
    return st.builds(
        Rule,
        action=st.sampled_from(Action),
        protocol=st.sampled_from(protocols),
        ports=ports,
        sources=st.lists(sources, min_size=0, max_size=3).map(tuple),
        priority=st.integers(0, 3),  # few values: ties exercise the stable sort
    )


rules = rule_strategy(RULE_PROTOCOLS, port_ranges, cidrs)
# Few, overlapping choices: rules of one layer often match the same packets, so the order in
# which they are evaluated (priority, then listed order) decides.
dense_rules = rule_strategy(
    ("tcp", "*", "icmp"),
    st.sampled_from((ALL_PORTS, PortRange(10, 20), PortRange(15, 15), PortRange(0, 40))),
    st.sampled_from(("10.0.0.0/26", "10.0.0.0/27", "10.0.0.32/28", "0.0.0.0/0",
                     "2001:db8::/122", "::/0")),
)
allow_rules = rules.map(lambda r: replace(r, action=Action.ALLOW))


@st.composite
def layers_(draw: st.DrawFn, mode: LayerMode | None = None) -> RuleLayer:
    present = draw(st.booleans()) if mode is None else True
    chosen = draw(st.sampled_from(LayerMode)) if mode is None else mode
    # An absent layer is "no firewall here": it has no rules, only what the provider does.
    pool = draw(st.sampled_from((rules, dense_rules)))
    layer_rules = tuple(draw(st.lists(pool, max_size=6))) if present else ()
    return RuleLayer(
        name=f"{chosen}-layer",
        mode=chosen,
        rules=layer_rules,
        default=draw(st.sampled_from(Action)),
        present=present,
    )


layer_stacks = st.lists(layers_(), min_size=1, max_size=3).map(tuple)
queries = st.one_of(
    st.just(LOCAL),
    st.just(INTERNET),
    st.lists(cidrs, min_size=1, max_size=3).map(tuple),
)


@st.composite
def stack_with(draw: st.DrawFn, mode: LayerMode) -> tuple[tuple[RuleLayer, ...], int]:
    """A stack of layers with a present layer of `mode` at the returned index."""
    stack = list(draw(st.lists(layers_(), max_size=2)))
    index = draw(st.integers(0, len(stack)))
    stack.insert(index, draw(layers_(mode)))
    return tuple(stack), index


def _diff(got: set[Packet], want: set[Packet]) -> str:
    return (f"admitted() but not reference: {sorted(got - want, key=str)[:5]}; "
            f"reference but not admitted(): {sorted(want - got, key=str)[:5]}")


# --- 1. exactness against the reference --------------------------------------------------


@SETTINGS
@given(layer_stacks, queries)
def test_admitted_matches_brute_force_reference(
    layers: tuple[RuleLayer, ...], query: tuple[str, ...]
) -> None:
    got = packets_in(admitted(layers, query))
    want = Reference(layers).admitted_packets(query)
    assert got == want, _diff(got, want)


tied_ordered_layers = st.builds(
    RuleLayer,
    name=st.just("tied"),
    mode=st.just(LayerMode.ORDERED),
    rules=st.lists(dense_rules.map(lambda r: replace(r, priority=r.priority % 2)),
                   min_size=2, max_size=6).map(tuple),
    default=st.sampled_from(Action),
)


@settings(max_examples=100, deadline=None)
@given(tied_ordered_layers, st.sampled_from((LOCAL, INTERNET)))
def test_ordered_layer_with_tied_priorities_matches_reference(
    layer: RuleLayer, query: tuple[str, ...]
) -> None:
    """Overlapping allow and deny rules at equal priorities: listed order breaks the tie."""
    got = packets_in(admitted([layer], query))
    want = Reference([layer]).admitted_packets(query)
    assert got == want, _diff(got, want)


@settings(max_examples=100, deadline=None)
@given(layer_stacks, st.sampled_from(PACKETS))
def test_decide_matches_reference(layers: tuple[RuleLayer, ...], packet: Packet) -> None:
    assert decide(layers, *packet) == Reference(layers).admits(*packet)


@st.composite
def big_layers(draw: st.DrawFn) -> RuleLayer:
    """A present layer with many rules: the port axis cut into many segments, so that rules
    sit at several levels of the segment tree `admitted()` builds, several to a node."""
    pool = draw(st.sampled_from((rules, dense_rules)))
    return RuleLayer(
        name="big",
        mode=draw(st.sampled_from(LayerMode)),
        rules=tuple(draw(st.lists(pool, min_size=8, max_size=40))),
        default=draw(st.sampled_from(Action)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(big_layers(), layers_()), min_size=1, max_size=2).map(tuple), queries)
def test_admitted_matches_reference_with_many_rules_per_layer(
    layers: tuple[RuleLayer, ...], query: tuple[str, ...]
) -> None:
    got = packets_in(admitted(layers, query))
    want = Reference(layers).admitted_packets(query)
    assert got == want, _diff(got, want)


def test_admitted_leaves_the_garbage_collector_as_it_found_it() -> None:
    """admitted() pauses the cyclic collector while it works and restores it, also when a
    rule's CIDR is refused."""
    layer = RuleLayer("fw", LayerMode.UNION, (Rule(Action.ALLOW, "tcp", PortRange(22, 22),
                                                    ("198.51.100.0/24",)),))
    bad = RuleLayer("fw", LayerMode.UNION, (Rule(Action.ALLOW, "tcp", PortRange(22, 22),
                                                  ("198.51.100.0/33",)),))
    was = gc.isenabled()
    try:
        gc.enable()
        admitted([layer], ("0.0.0.0/1",))
        assert gc.isenabled()
        with pytest.raises(ValueError):
            admitted([bad])
        assert gc.isenabled()
        gc.disable()
        admitted([layer], ("0.0.0.0/2",))
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


@st.composite
def ipv6_texts(draw: st.DrawFn) -> str:
    """IPv6 CIDR text as people and APIs write it, and near misses."""
    address = draw(st.ip_addresses(v=6))
    text = draw(st.sampled_from((address.compressed, address.exploded,
                                 address.compressed.upper(), str(address))))
    mutation = draw(st.sampled_from(("", "drop", "double", "extra", "group")))
    if mutation and len(text) > 2:
        k = draw(st.integers(0, len(text) - 1))
        text = {"drop": text[:k] + text[k + 1:], "double": text[:k] + "::" + text[k:],
                "extra": text[:k] + ":" + text[k:], "group": text[:k] + "12345" + text[k:],
                }[mutation]
    prefix = draw(st.one_of(st.none(), st.integers(0, 130).map(str),
                            st.sampled_from(("064", "", "-1", "1a"))))
    return text if prefix is None else f"{text}/{prefix}"


@settings(max_examples=500, deadline=None)
@given(ipv6_texts())
def test_ipv6_cidrs_are_read_exactly_as_ipaddress_reads_them(text: str) -> None:
    """The fast IPv6 reading (inet_pton) accepts and refuses what ipaddress does, with the
    same network."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        with pytest.raises(ValueError):
            subtract([text], [])
        with pytest.raises(ValueError):
            canonical_cidr(text)
        return
    assert subtract([text], []) == [str(net)]
    assert canonical_cidr(text) == str(net)
    assert decide([_union(Rule(Action.ALLOW, "tcp", ALL_PORTS, (text,)))], "tcp", 1,
                  str(net.network_address))


# --- 2. canonical form ------------------------------------------------------------------


@SETTINGS
@given(layer_stacks, queries)
def test_admitted_is_canonical(layers: tuple[RuleLayer, ...], query: tuple[str, ...]) -> None:
    result = admitted(layers, query)
    assert list(result) == sorted(result, key=lambda e: (ALL_PROTOCOLS.index(e.protocol),
                                                         e.ports.lo))
    for protocol in ALL_PROTOCOLS:
        mine = [e for e in result if e.protocol == protocol]
        if protocol not in PORTED_PROTOCOLS:
            assert len(mine) <= 1
            assert all(e.ports == ALL_PORTS for e in mine)
        for a, b in itertools.pairwise(mine):
            assert a.ports.hi < b.ports.lo, f"overlapping port ranges {a} {b}"
            assert not (a.ports.hi + 1 == b.ports.lo and set(a.sources) == set(b.sources)), (
                f"adjacent exposures with the same sources not merged: {a} {b}")
    for e in result:
        assert e.sources, f"empty exposure {e}"
        nets = [_network(s) for s in e.sources]
        for x, y in itertools.combinations(nets, 2):
            assert x.version != y.version or not x.overlaps(y), f"{x} overlaps {y} in {e}"
        v4 = [n for n in nets if n.version == 4]
        v6 = [n for n in nets if n.version == 6]
        assert nets == v4 + v6, "IPv4 sources first"
        # minimal: nothing left to collapse
        assert v4 == list(ipaddress.collapse_addresses(v4))
        assert v6 == list(ipaddress.collapse_addresses(v6))


# --- 3. order -----------------------------------------------------------------------------


@SETTINGS
@given(stack_with(LayerMode.UNION), queries, st.data())
def test_union_layer_rule_order_does_not_matter(
    stack: tuple[tuple[RuleLayer, ...], int], query: tuple[str, ...], data: st.DataObject
) -> None:
    layers, index = stack
    shuffled = data.draw(st.permutations(layers[index].rules))
    other = list(layers)
    other[index] = replace(layers[index], rules=tuple(shuffled))
    assert admitted(other, query) == admitted(layers, query)


@SETTINGS
@given(stack_with(LayerMode.ORDERED), queries, st.data())
def test_ordered_layer_rule_order_only_matters_through_priority(
    stack: tuple[tuple[RuleLayer, ...], int], query: tuple[str, ...], data: st.DataObject
) -> None:
    layers, index = stack
    layer = layers[index]
    # distinct priorities: the listed order then carries no information
    distinct = tuple(replace(r, priority=10 * i + r.priority) for i, r in enumerate(layer.rules))
    shuffled = tuple(data.draw(st.permutations(distinct)))
    a = list(layers)
    b = list(layers)
    a[index] = replace(layer, rules=distinct)
    b[index] = replace(layer, rules=shuffled)
    assert admitted(a, query) == admitted(b, query)


@SETTINGS
@given(layer_stacks, queries, st.data())
def test_layer_order_does_not_matter(
    layers: tuple[RuleLayer, ...], query: tuple[str, ...], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(layers))
    assert admitted(shuffled, query) == admitted(layers, query)


# --- 4. monotonicity ----------------------------------------------------------------------


def _covered(smaller: Sequence[Exposure], larger: Sequence[Exposure]) -> bool:
    """Exactly (via subtract): everything in `smaller` is in `larger`. Ports 0..41 and the
    top of the range reach every port cell the generated rules can create."""
    for protocol in ALL_PROTOCOLS:
        for port in PORTS if protocol in PORTED_PROTOCOLS else (None,):
            inner = [s for e in smaller if e.protocol == protocol
                     and (port is None or port in e.ports) for s in e.sources]
            outer = [s for e in larger if e.protocol == protocol
                     and (port is None or port in e.ports) for s in e.sources]
            if subtract(inner, outer):
                return False
    return True


@SETTINGS
@given(stack_with(LayerMode.UNION), allow_rules, queries, st.data())
def test_adding_an_allow_rule_to_a_union_layer_never_removes_traffic(
    stack: tuple[tuple[RuleLayer, ...], int], extra: Rule, query: tuple[str, ...],
    data: st.DataObject,
) -> None:
    layers, index = stack
    rules_ = list(layers[index].rules)
    rules_.insert(data.draw(st.integers(0, len(rules_))), extra)
    grown = list(layers)
    grown[index] = replace(layers[index], rules=tuple(rules_))
    before, after = admitted(layers, query), admitted(grown, query)
    assert packets_in(before) <= packets_in(after)
    assert _covered(before, after)


@SETTINGS
@given(stack_with(LayerMode.ORDERED), rules, queries)
def test_adding_a_first_deny_rule_to_an_ordered_layer_never_adds_traffic(
    stack: tuple[tuple[RuleLayer, ...], int], extra: Rule, query: tuple[str, ...]
) -> None:
    layers, index = stack
    layer = layers[index]
    lowest = min((r.priority for r in layer.rules), default=0) - 1
    deny = replace(extra, action=Action.DENY, priority=lowest)
    grown = list(layers)
    grown[index] = replace(layer, rules=(*layer.rules, deny))
    before, after = admitted(layers, query), admitted(grown, query)
    assert _covered(after, before)
    # evaluated first, the deny removes exactly the packets it matches
    matches = rule_matches(deny)
    expected = {p for p in packets_in(before) if not matches(p)}
    assert packets_in(after) == expected, _diff(packets_in(after), expected)


@SETTINGS
@given(stack_with(LayerMode.ORDERED), rules, queries, st.integers(-1, 6))
def test_adding_a_deny_rule_anywhere_in_an_ordered_layer_never_adds_traffic(
    stack: tuple[tuple[RuleLayer, ...], int], extra: Rule, query: tuple[str, ...],
    priority: int,
) -> None:
    layers, index = stack
    layer = layers[index]
    deny = replace(extra, action=Action.DENY, priority=priority)
    grown = list(layers)
    grown[index] = replace(layer, rules=(*layer.rules, deny))
    assert _covered(admitted(grown, query), admitted(layers, query))


# --- 5. subtract ---------------------------------------------------------------------------


@st.composite
def any_cidr(draw: st.DrawFn) -> str:
    bits = draw(st.sampled_from((32, 128)))
    address = draw(st.integers(0, 2**bits - 1))
    prefix = draw(st.integers(0, bits))
    network = ipaddress.IPv4Network if bits == 32 else ipaddress.IPv6Network
    return str(network((address, prefix), strict=False))


# Every CIDR inside 10.0.0.0/29 and 2001:db8::/125: small, often adjacent, nested or one
# address apart.
TIGHT = tuple(
    str(net)
    for base in map(ipaddress.ip_network, ("10.0.0.0/29", "2001:db8::/125"))
    for prefix in range(base.prefixlen, base.max_prefixlen + 1)
    for net in base.subnets(new_prefix=prefix)
)

cidr_lists = st.one_of(
    st.lists(st.sampled_from(TIGHT), max_size=6),
    st.lists(st.one_of(any_cidr(), cidrs, st.sampled_from(TIGHT)), max_size=6),
)


def boundary_points(cidr_groups: Iterable[Iterable[str]]) -> list[str]:
    """One address in every cell the CIDRs' boundaries cut the address spaces into."""
    points: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = {
        ipaddress.IPv4Address(0), ipaddress.IPv4Address(2**32 - 1),
        ipaddress.IPv6Address(0), ipaddress.IPv6Address(2**128 - 1),
    }
    for group in cidr_groups:
        for c in group:
            n = _network(c)
            top = 2**n.max_prefixlen - 1
            first, last = int(n.network_address), int(n.broadcast_address)
            cls = type(n.network_address)
            for p in (first - 1, first, last, last + 1):
                if 0 <= p <= top:
                    points.add(cls(p))
    return [str(p) for p in points]


@SETTINGS
@given(cidr_lists, cidr_lists)
def test_subtract_is_set_difference(a: list[str], b: list[str]) -> None:
    rest = subtract(a, b)
    for address in boundary_points([a, b, rest]) + list(ADDRESSES):
        assert in_cidrs(address, rest) == (in_cidrs(address, a) and not in_cidrs(address, b)), (
            address)
    nets = [_network(c) for c in rest]
    assert nets == sorted(nets, key=lambda n: n.version), "IPv4 first"
    for x, y in itertools.combinations(nets, 2):
        assert x.version != y.version or not x.overlaps(y)


@SETTINGS
@given(cidr_lists)
def test_subtract_self_is_empty_and_subtract_nothing_is_identity(x: list[str]) -> None:
    assert subtract(x, x) == []
    rest = subtract(x, [])
    got = [_network(c) for c in rest]
    for version in (4, 6):
        mine = [n for c in x if (n := _network(c)).version == version]
        expected: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = list(
            ipaddress.collapse_addresses(mine)  # type: ignore[type-var]
        )
        assert [n for n in got if n.version == version] == expected


# --- 6. wide_open -----------------------------------------------------------------------------


def _union(*rules_: Rule) -> RuleLayer:
    return RuleLayer("sg", LayerMode.UNION, tuple(rules_), Action.DENY)


def test_wide_open_absent_layer_default_allow() -> None:
    layer = RuleLayer("none", LayerMode.UNION, (), Action.ALLOW, present=False)
    assert wide_open(admitted([layer]))


def test_wide_open_false_for_ssh_only() -> None:
    assert not wide_open(admitted([_union(Rule(Action.ALLOW, "tcp", PortRange(22, 22)))]))


def test_wide_open_all_tcp_ports_from_ipv4_internet() -> None:
    rule = Rule(Action.ALLOW, "tcp", PortRange(0, MAX_PORT), ("0.0.0.0/0",))
    assert wide_open(admitted([_union(rule)]))


def test_wide_open_all_tcp_ports_split_over_two_rules() -> None:
    layer = _union(Rule(Action.ALLOW, "tcp", PortRange(0, 1000)),
                   Rule(Action.ALLOW, "tcp", PortRange(1001, MAX_PORT)))
    assert wide_open(admitted([layer]))


def test_wide_open_false_when_one_tcp_port_is_missing() -> None:
    layer = _union(Rule(Action.ALLOW, "tcp", PortRange(0, 1000)),
                   Rule(Action.ALLOW, "tcp", PortRange(1002, MAX_PORT)))
    assert not wide_open(admitted([layer]))


def test_wide_open_false_when_all_ports_open_only_to_a_private_range() -> None:
    layer = _union(Rule(Action.ALLOW, "*", ALL_PORTS, ("10.0.0.0/8", "fd00::/8")))
    assert not wide_open(admitted([layer]))


def test_wide_open_false_for_all_udp_ports() -> None:
    assert not wide_open(admitted([_union(Rule(Action.ALLOW, "udp", ALL_PORTS))]))


# --- 7. PortRange.parse -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22", PortRange(22, 22)),
        ("8000-8080", PortRange(8000, 8080)),
        ("*", ALL_PORTS),
        ("any", ALL_PORTS),
        (None, ALL_PORTS),
        (443, PortRange(443, 443)),
        (" 0-65535 ", ALL_PORTS),
    ],
)
def test_port_range_parse(text: str | int | None, expected: PortRange) -> None:
    assert PortRange.parse(text) == expected


@pytest.mark.parametrize("text", ["70000", "10-5", "-1", "abc", "1-70000", 65536])
def test_port_range_parse_rejects_invalid(text: str | int) -> None:
    with pytest.raises(ValueError):
        PortRange.parse(text)


@given(st.integers(0, MAX_PORT), st.integers(0, MAX_PORT))
def test_port_range_parse_round_trips_through_str(a: int, b: int) -> None:
    r = PortRange(min(a, b), max(a, b))
    assert PortRange.parse(str(r)) == r


# --- examples -------------------------------------------------------------------------------


def _ordered(*rules_: Rule, default: Action = Action.DENY) -> RuleLayer:
    return RuleLayer("nacl", LayerMode.ORDERED, tuple(rules_), default)


def test_ordered_layer_first_match_deny_beats_later_allow() -> None:
    layer = _ordered(Rule(Action.ALLOW, "tcp", PortRange(22, 22), priority=200),
                     Rule(Action.DENY, "tcp", PortRange(22, 22), priority=100),
                     default=Action.ALLOW)
    assert not decide([layer], "tcp", 22, "198.51.100.7")
    assert sources_for(admitted([layer]), "tcp", 22) == []
    assert sources_for(admitted([layer]), "tcp", 23) == list(INTERNET)


def test_ordered_layer_equal_priorities_keep_listed_order() -> None:
    layer = _ordered(Rule(Action.ALLOW, "tcp", PortRange(22, 22), priority=1),
                     Rule(Action.DENY, "tcp", PortRange(22, 22), priority=1))
    assert sources_for(admitted([layer]), "tcp", 22) == list(INTERNET)


def test_union_layer_allows_if_any_rule_allows() -> None:
    layer = _union(Rule(Action.ALLOW, "tcp", PortRange(22, 22), ("10.0.0.0/8",)),
                   Rule(Action.ALLOW, "tcp", PortRange(22, 22), ("192.168.0.0/16",)),
                   Rule(Action.ALLOW, "tcp", PortRange(443, 443)))
    exposures = admitted([layer])
    assert sources_for(exposures, "tcp", 22) == ["10.0.0.0/8", "192.168.0.0/16"]
    assert sources_for(exposures, "tcp", 443) == list(INTERNET)
    assert sources_for(exposures, "tcp", 80) == []
    assert decide([layer], "tcp", 22, "10.1.2.3")
    assert not decide([layer], "tcp", 22, "172.16.0.1")


def test_absent_layer_default_allow_admits_everything() -> None:
    layer = RuleLayer("none", LayerMode.UNION, (), Action.ALLOW, present=False)
    assert admitted([layer]) == tuple(
        Exposure(p, ALL_PORTS, INTERNET) for p in ALL_PROTOCOLS
    )


def test_absent_layer_default_deny_admits_nothing() -> None:
    layer = RuleLayer("none", LayerMode.UNION, (), Action.DENY, present=False)
    assert admitted([layer]) == ()


def test_two_layers_admit_only_the_intersection() -> None:
    outer = _ordered(Rule(Action.ALLOW, "tcp", PortRange(20, 30), ("10.0.0.0/24",)))
    inner = _union(Rule(Action.ALLOW, "tcp", PortRange(25, 40), ("10.0.0.128/25", "::/0")))
    assert admitted([outer, inner]) == (
        Exposure("tcp", PortRange(25, 30), ("10.0.0.128/25",)),
    )


def test_query_sources_limit_the_result() -> None:
    layer = _union(Rule(Action.ALLOW, "tcp", PortRange(22, 22)))
    assert admitted([layer], ("10.0.0.0/8",)) == (
        Exposure("tcp", PortRange(22, 22), ("10.0.0.0/8",)),
    )
    assert admitted([layer], ()) == ()


def test_ipv6_sources_are_kept_apart_from_ipv4() -> None:
    layer = _union(Rule(Action.ALLOW, "tcp", PortRange(443, 443), ("::/0",)),
                   Rule(Action.ALLOW, "tcp", PortRange(22, 22), ("0.0.0.0/0",)))
    exposures = admitted([layer])
    assert sources_for(exposures, "tcp", 443) == ["::/0"]
    assert sources_for(exposures, "tcp", 22) == ["0.0.0.0/0"]
    assert not decide([layer], "tcp", 443, "203.0.113.5")
    assert decide([layer], "tcp", 443, "2001:db8::5")
    # an IPv4-mapped IPv6 source is IPv6, not IPv4
    assert not decide([layer], "tcp", 22, "::ffff:203.0.113.5")


def test_icmp_not_matched_by_port_restricted_rule() -> None:
    layer = _union(Rule(Action.ALLOW, "*", PortRange(22, 22)))
    exposures = admitted([layer])
    assert [e.protocol for e in exposures] == ["tcp", "udp"]
    assert not decide([layer], "icmp", None, "198.51.100.1")
    deny_first = _ordered(Rule(Action.DENY, "*", PortRange(0, 1023), priority=1),
                          Rule(Action.ALLOW, "*", ALL_PORTS, priority=2))
    # the port-restricted deny does not apply to icmp, so the later allow-all does
    assert sources_for(admitted([deny_first]), "icmp", None) == list(INTERNET)
    assert sources_for(admitted([deny_first]), "tcp", 80) == []


def test_union_layer_ignores_deny_rules() -> None:
    layer = RuleLayer("sg", LayerMode.UNION, (Rule(Action.DENY, "tcp", PortRange(22, 22)),),
                      Action.ALLOW)
    assert sources_for(admitted([layer]), "tcp", 22) == list(INTERNET)


def test_rule_with_unknown_protocol_is_rejected() -> None:
    with pytest.raises(ValueError):
        Rule(Action.ALLOW, "sctp")


@st.composite
def ipv4_texts(draw: st.DrawFn) -> str:
    """IPv4 CIDR text as people and APIs write it, and near misses (leading zeros, three
    parts, hex, spaces, host bits set, prefixes with leading zeros or out of range)."""
    address = draw(st.ip_addresses(v=4))
    text = draw(st.sampled_from((str(address), ".".join(f"{b:03d}" for b in address.packed),
                                 ".".join(str(b) for b in address.packed[:3]),
                                 hex(int(address)), f" {address}", f"{address} ",
                                 f"{address} x", f"{address}\x00", f"{address}.1")))
    prefix = draw(st.one_of(st.none(), st.integers(0, 34).map(str),
                            st.sampled_from(("032", "08", "", "-1", "1a", " 8"))))
    return text if prefix is None else f"{text}/{prefix}"


@settings(max_examples=500, deadline=None)
@given(ipv4_texts())
def test_ipv4_cidrs_are_read_and_named_exactly_as_ipaddress_does(text: str) -> None:
    """The IPv4 reading (a regex, not ipaddress) accepts and refuses what ipaddress does,
    with the same network, and an exposure names the network as ipaddress does whether or
    not the rule wrote it that way."""
    layer = _union(Rule(Action.ALLOW, "tcp", ALL_PORTS, (text,)))
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        with pytest.raises(ValueError):
            subtract([text], [])
        with pytest.raises(ValueError):
            admitted([layer])
        with pytest.raises(ValueError):
            canonical_cidr(text)
        return
    assert subtract([text], []) == [str(net)]
    assert canonical_cidr(text) == str(net)
    assert admitted([layer]) == (Exposure("tcp", ALL_PORTS, (str(net),)),)


@pytest.mark.parametrize("text", [
    "::ffff:1.2.3.4", "::1.2.3.4", "::ffff:0:0/96", "::/96", "::1:0:0:0/80", "0:0:0:0:1::/80",
    "::1:0:0:0:0/128", "0:0:0:1::/64", "1::", "1:0:0:1:0:0:0:1", "1:0:1:0:0:1:0:0",
    "2001:DB8::0:1/127", "2001:db8:0000:0:0:0:0:1", "fe80::1%eth0", "::ffff:1.2.3.4/120",
])
def test_canonical_cidr_names_ipv6_near_embedded_ipv4_as_ipaddress_does(text: str) -> None:
    """IPv6 networks whose first 80 bits are zero (IPv4-mapped and -compatible: inet_ntop
    and ipaddress write them differently) and zero runs of equal length (RFC 5952: the first
    is compressed)."""
    try:
        want = str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        with pytest.raises(ValueError):
            canonical_cidr(text)
        return
    assert canonical_cidr(text) == want


# --- 5. the bench's shape, small: one-port rules under a few all-port ones ---------------

# Most rules of a large firewall open one port (or a few) to one CIDR: each sits on one leaf
# of admitted()'s segment tree, where it is added (UNION) or painted (ORDERED, allow or
# deny) inline; a few rules opening every port sit at the root. Small N, exhaustive check.
one_port_rules = rule_strategy(
    ("tcp", "udp", "*", "tcp"),
    st.one_of(st.integers(0, 40).map(lambda p: PortRange(p, p)),
              st.integers(0, 38).map(lambda p: PortRange(p, p + 2))),
    st.one_of(v4_cidr(), v6_cidr()),
).map(lambda r: replace(r, sources=r.sources[:1] or ("10.0.0.0/28",)))
wide_rules = rule_strategy(("*", "tcp", "icmp"), st.just(ALL_PORTS),
                           st.sampled_from(V4_EXTRA + V6_EXTRA + ("10.0.0.16/28",)))


@st.composite
def leafy_layers(draw: st.DrawFn, mode: LayerMode) -> RuleLayer:
    layer_rules = draw(st.lists(wide_rules, max_size=3)) + draw(
        st.lists(one_port_rules, min_size=5, max_size=30))
    if mode is LayerMode.ORDERED:  # the wide rules first, as operators number them
        layer_rules = [replace(r, priority=i) for i, r in enumerate(layer_rules)]
    else:
        layer_rules = [replace(r, action=Action.ALLOW) for r in layer_rules]
    return RuleLayer(f"leafy-{mode}", mode, tuple(layer_rules),
                     draw(st.sampled_from(Action)) if mode is LayerMode.ORDERED
                     else Action.DENY)


leafy_stacks = st.one_of(
    leafy_layers(LayerMode.UNION).map(lambda layer: (layer,)),
    leafy_layers(LayerMode.ORDERED).map(lambda layer: (layer,)),
    st.tuples(leafy_layers(LayerMode.ORDERED), leafy_layers(LayerMode.UNION)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leafy_stacks, queries)
def test_one_port_rules_under_all_port_rules_match_reference(
    layers: tuple[RuleLayer, ...], query: tuple[str, ...]
) -> None:
    """Union, ordered (allow and deny, first match) and stacked layers of mostly one-port
    rules, IPv4 and IPv6, tcp/udp/any: exactly the reference's packets."""
    got = packets_in(admitted(layers, query))
    want = Reference(layers).admitted_packets(query)
    assert got == want, _diff(got, want)


def _as_written(e: Exposure) -> Exposure:
    """The same exposure built from its strings, as a caller builds one."""
    return Exposure(e.protocol, PortRange(e.ports.lo, e.ports.hi), tuple(e.sources))


@settings(max_examples=100, deadline=None)
@given(layer_stacks, queries)
def test_exposures_of_admitted_are_values_like_those_built_from_strings(
    layers: tuple[RuleLayer, ...], query: tuple[str, ...]
) -> None:
    """admitted() keeps ports and addresses as integers until read: its exposures compare,
    hash, order, print and serialise as exposures built from their strings, and wide_open
    (which reads the integer form) judges them as it judges the strings."""
    found = admitted(layers, query)
    written = tuple(_as_written(e) for e in admitted(layers, query))
    assert found == written and hash(found) == hash(written)
    assert sorted(found) == sorted(written)
    assert sorted(found, reverse=True) == sorted(written, reverse=True)
    assert [repr(e) for e in found] == [repr(e) for e in written]
    assert [e.to_json() for e in found] == [e.to_json() for e in written]
    assert wide_open(found) == wide_open(written)
    for protocol in ALL_PROTOCOLS:
        for port in (0, 22, 40, MAX_PORT, None):
            assert sources_for(found, protocol, port) == sources_for(written, protocol, port)


def test_lazy_exposure_is_read_only_and_pickles() -> None:
    import pickle

    layer = _union(Rule(Action.ALLOW, "tcp", PortRange(22, 22), ("10.0.0.0/8",)))
    (e,) = admitted([layer])
    with pytest.raises(AttributeError):
        e.sources = ()  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(e)) == e == Exposure("tcp", PortRange(22, 22),
                                                          ("10.0.0.0/8",))


@pytest.mark.parametrize(("rules_", "want"), [
    ((Rule(Action.ALLOW, "tcp", ALL_PORTS, ("0.0.0.0/0",)),), True),
    ((Rule(Action.ALLOW, "tcp", ALL_PORTS, ("::/0",)),), True),
    ((Rule(Action.ALLOW, "*", PortRange(0, 100), INTERNET),
      Rule(Action.ALLOW, "tcp", PortRange(101, MAX_PORT), ("::/1", "10.0.0.0/8"))), False),
    ((Rule(Action.ALLOW, "*", PortRange(0, 100), INTERNET),
      Rule(Action.ALLOW, "tcp", PortRange(101, MAX_PORT), ("::/1", "10.0.0.0/8")),
      Rule(Action.ALLOW, "tcp", PortRange(50, MAX_PORT), ("::/0",))), True),
    ((Rule(Action.ALLOW, "tcp", ALL_PORTS, ("0.0.0.0/1", "128.0.0.0/1")),), True),
    ((Rule(Action.ALLOW, "tcp", ALL_PORTS, ("0.0.0.0/1", "::/1")),), False),
])
def test_wide_open_reads_the_whole_internet_from_admitted_exposures(
    rules_: tuple[Rule, ...], want: bool
) -> None:
    exposures = admitted([RuleLayer("fw", LayerMode.UNION, rules_)])
    assert wide_open(exposures) is want
    assert wide_open([_as_written(e) for e in exposures]) is want


# --- 8. painting a node's rules at once; stacked layers of many hosts (issue 15 item 4) --

# An ORDERED layer paints all the rules of a segment-tree node at once when their sources
# are disjoint (`_paint_node`, `_paint_leaf`), else one after another; stacked layers keep
# only the rules within every layer's reach (`_within_reach`). Rules here open one port or
# a few, under wide ones, with several sources each (IPv4 and IPv6, disjoint or nested), allow and
# deny at any priority: every path of those functions, checked against the reference.
host_v4 = st.integers(0, 63).map(lambda i: f"10.0.0.{i}/32")
host_v6 = st.integers(0, 63).map(lambda i: f"{ipaddress.IPv6Address(V6_BASE + i)}/128")
scattered_rules = rule_strategy(
    ("tcp", "udp", "*"),
    st.one_of(st.integers(0, 40).map(lambda p: PortRange(p, p)),
              st.integers(0, 37).map(lambda p: PortRange(p, p + 3))),
    st.one_of(host_v4, host_v6, v4_cidr(), v6_cidr()),
).map(lambda r: replace(r, sources=r.sources or ("10.0.0.5/32",)))


@st.composite
def scattered_layers(draw: st.DrawFn, mode: LayerMode, many: bool = False) -> RuleLayer:
    layer_rules = draw(st.lists(wide_rules, max_size=3)) + draw(
        st.lists(scattered_rules, min_size=40 if many else 5, max_size=90 if many else 30))
    if mode is LayerMode.UNION:
        layer_rules = [replace(r, action=Action.ALLOW) for r in layer_rules]
    else:  # any priority: wide rules may come after narrow ones
        layer_rules = [replace(r, priority=draw(st.integers(0, 20))) for r in layer_rules]
    return RuleLayer(f"scattered-{mode}", mode, tuple(layer_rules), draw(st.sampled_from(Action)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LayerMode).flatmap(scattered_layers), queries)
def test_rules_with_several_disjoint_or_nested_sources_per_port_match_reference(
    layer: RuleLayer, query: tuple[str, ...]
) -> None:
    """Several rules on one port range, their sources disjoint (painted at once) or
    overlapping (one after another), one or several CIDRs each, allow and deny in any
    priority order, IPv4 and IPv6: exactly the reference's packets."""
    got = packets_in(admitted([layer], query))
    want = Reference([layer]).admitted_packets(query)
    assert got == want, _diff(got, want)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(st.sampled_from(LayerMode).flatmap(lambda m: scattered_layers(m, True)),
                 st.sampled_from(LayerMode).flatmap(lambda m: scattered_layers(m, True))),
       queries)
def test_stacked_layers_of_many_scattered_hosts_match_reference(
    layers: tuple[RuleLayer, RuleLayer], query: tuple[str, ...]
) -> None:
    """Two layers of 40-90 rules, mostly single hosts: each layer's reach has tens of
    intervals, intersected before the rules outside it are dropped (`_within_reach`)."""
    got = packets_in(admitted(layers, query))
    want = Reference(layers).admitted_packets(query)
    assert got == want, _diff(got, want)


def test_stacked_layers_with_alternating_hosts_keep_exactly_the_common_ones() -> None:
    """Every other host of 10.0.0.0/26 and of 2001:db8::/122 in one layer (64 intervals),
    every third in the other: the reach is their intersection (every sixth), and so is what
    crosses both, on the one port both open."""
    def hosts(step: int, ports: PortRange) -> tuple[Rule, ...]:  # one rule per host
        return tuple(Rule(Action.ALLOW, "tcp", ports, (source,)) for i in range(0, 64, step)
                     for source in (f"10.0.0.{i}/32", f"2001:db8::{i:x}/128"))

    evens, thirds = hosts(2, PortRange(22, 22)), hosts(3, PortRange(20, 25))
    nsg = RuleLayer("nsg", LayerMode.ORDERED,
                    (*evens, Rule(Action.DENY, "*", ALL_PORTS, INTERNET, priority=1)))
    sg = RuleLayer("sg", LayerMode.UNION, thirds)
    got = admitted((nsg, sg))
    assert [(e.protocol, str(e.ports)) for e in got] == [("tcp", "22")]
    assert got[0].sources == tuple([f"10.0.0.{i}/32" for i in range(0, 64, 6)]
                                   + [str(ipaddress.ip_network(f"2001:db8::{i:x}/128"))
                                      for i in range(0, 64, 6)])
    assert packets_in(got) == Reference((nsg, sg)).admitted_packets(INTERNET)


def _ranks(paint: tuple[list[int], list[int]], top: int) -> list[int]:
    bounds, ranks = paint
    return [ranks[bisect.bisect_right(bounds, a) - 1] for a in range(top)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 12)), max_size=8),
       st.lists(st.tuples(st.integers(0, 60), st.integers(1, 12)), min_size=1, max_size=5),
       st.lists(st.booleans(), min_size=15, max_size=15), st.data())
def test_painting_a_nodes_rules_at_once_equals_painting_them_one_by_one(
    parent: list[tuple[int, int]], own: list[tuple[int, int]], allow: list[bool],
    data: st.DataObject
) -> None:
    """`_paint_node` / `_paint_leaf` (all of a node's rules at once; disjoint sources in one
    pass) give the admitted set and, per address, the deciding rank that `_paint` gives
    rule by rule, whatever the ranks of the parent's rules and the node's."""
    ranks = data.draw(st.permutations(range(14)))
    have: tuple[int, ...] = _UNIVERSE_FLAT if allow[14] else ()
    paint: tuple[list[int], list[int]] = ([0, _UNIVERSE_FLAT[-1]], [14])  # 14: the default
    for (lo, n), rank in zip(parent, ranks, strict=False):  # the parent's state
        have, paint = rules_module._paint(have, paint, lo, lo + n, rank, allow, True)
    entries = [(rank, None, (lo, lo + n)) for (lo, n), rank in
               zip(own, ranks[len(parent):], strict=False)]
    want_have, want_paint = have, paint
    for rank, _, (lo, hi) in entries:
        want_have, want_paint = rules_module._paint(want_have, want_paint, lo, hi, rank,
                                                    allow, True)
    got_have, got_paint = rules_module._paint_node(have, paint, entries, allow)  # type: ignore[arg-type]
    assert got_have == want_have
    assert _ranks(got_paint, 80) == _ranks(want_paint, 80)
    assert rules_module._paint_leaf(have, paint, entries, allow) == want_have  # type: ignore[arg-type]
