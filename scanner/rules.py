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
crosses all layers: per layer, a segment tree over the port segments (boundaries sorted
once) in which each rule is applied once per node covering its ports, never once per
segment (`_layer_pieces`); then the layers intersected port range by port range (see
`_compute_admitted`). O(N log N) in the rules, plus the size of the result.
Results are cached on the (hashable) layer tuple: servers sharing firewalls share the work.
"""

from __future__ import annotations

import gc
import ipaddress
import re
import socket
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from itertools import chain, compress, repeat
from operator import add, attrgetter, itemgetter
from typing import TypeVar

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


class Exposure:
    """Traffic that crosses every layer: a protocol, a port range and the sources admitted.

    A value (hashable, ordered and compared as the tuple (protocol, ports, sources), read-only
    attributes). `admitted()` returns ~one per port range of a large firewall (100k rules:
    ~100k of them), so those it makes keep their addresses as a flat integer set and their
    ports as two integers: `ports` and `sources` (CIDR strings) are built when first read,
    which most of them never are (a check reads the few on the ports it judges)."""

    __slots__ = ("_flat", "_hi", "_lo", "_ports", "_protocol", "_sources")
    _protocol: str
    _lo: int
    _hi: int
    _ports: PortRange | None
    _flat: tuple[int, ...] | None
    _sources: tuple[str, ...] | None

    def __init__(self, protocol: str, ports: PortRange, sources: tuple[str, ...]) -> None:
        self._protocol = protocol
        self._lo, self._hi, self._ports = ports.lo, ports.hi, ports
        self._flat, self._sources = None, tuple(sources)

    @property
    def protocol(self) -> str:
        return self._protocol

    @property
    def ports(self) -> PortRange:
        ports = self._ports
        if ports is None:
            ports = self._ports = PortRange(self._lo, self._hi)
        return ports

    @property
    def sources(self) -> tuple[str, ...]:
        sources = self._sources
        if sources is None:
            assert self._flat is not None
            sources = self._sources = _flat_cidrs(self._flat)
        return sources

    def _key(self) -> tuple[str, int, int, tuple[str, ...]]:
        return self._protocol, self._lo, self._hi, self.sources

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Exposure):
            return NotImplemented
        if self._flat is not None and other._flat is not None:  # both canonical: compare sets
            return (self._protocol, self._lo, self._hi, self._flat) == (
                other._protocol, other._lo, other._hi, other._flat)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Exposure) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Exposure) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Exposure) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Exposure) -> bool:
        return self._key() >= other._key()

    def __repr__(self) -> str:
        return (f"Exposure(protocol={self._protocol!r}, ports={self.ports!r}, "
                f"sources={self.sources!r})")

    def __reduce__(self) -> tuple[type[Exposure], tuple[str, PortRange, tuple[str, ...]]]:
        return Exposure, (self._protocol, self.ports, self.sources)

    def to_json(self) -> dict[str, object]:
        return {"protocol": self._protocol, "ports": str(self.ports),
                "sources": list(self.sources)}


_new_object = object.__new__


def _exposure(protocol: str, lo: int, hi: int, flat: tuple[int, ...]) -> Exposure:
    """An exposure of `admitted()`: `flat` is a canonical flat address set (`_compute_admitted`),
    formatted as CIDRs only when read."""
    e = _new_object(Exposure)
    e._protocol, e._lo, e._hi, e._ports, e._flat, e._sources = protocol, lo, hi, None, flat, None
    return e


# --- address sets as sorted, merged integer intervals [lo, hi) per family -----------------


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_CIDR = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/(3[0-2]|[12]?[0-9]))?")
# IPv6 in hex groups and colons only (no embedded IPv4, no zone): inet_pton reads it by the
# same RFC 4291 grammar as ipaddress, ~20x faster; whatever it refuses goes to ipaddress.
_IPV6_CIDR = re.compile(r"([0-9A-Fa-f:]{2,39})(?:/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?")


# Host bits per IPv4 prefix, keyed by the prefix exactly as ipaddress writes it ("24", not
# "024"): a prefix written otherwise takes the general path.
_V4_HOST_BITS = {str(length): 32 - length for length in range(33)}
_aton, _ntoa = socket.inet_aton, socket.inet_ntoa
# The same for IPv6 prefixes (as _IPV6_CIDR reads them: decimal, no leading zero), and the
# characters of an IPv6 address without embedded IPv4 or zone.
_V6_HOST_BITS = {str(length): 128 - length for length in range(129)}
_HEX_COLON = "0123456789abcdefABCDEF:"


def _v4_fast(cidr: str) -> tuple[int, int, bool] | None:
    """(first address, end, already canonical) of an IPv4 CIDR written as ipaddress writes one
    (dotted quad without leading zeros, prefix in decimal), else None. `inet_aton` reads the
    address in C; it also takes forms ipaddress refuses or reads otherwise ("1.2.3", "010.0.0.1"
    in octal, trailing text after a space), so only an address that `inet_ntoa` writes back
    unchanged is taken: exactly the canonical dotted quads, read the same by both."""
    addr, slash, prefix = cidr.partition("/")
    host = _V4_HOST_BITS.get(prefix) if slash else 0
    if host is None:
        return None
    try:
        packed = _aton(addr)
    except (OSError, ValueError):  # not an address; NUL or non-ASCII text
        return None
    if _ntoa(packed) != addr:
        return None
    value = int.from_bytes(packed, "big")
    start = value >> host << host
    return start, start + (1 << host), bool(slash) and start == value


def _parse_cidr(cidr: str) -> tuple[int, int, int]:
    """(family, first address, end) of a CIDR, host bits ignored (strict=False). Plain IPv4
    CIDRs are parsed here (ipaddress takes ~50 us each, and a firewall may hold 100k);
    everything else by ipaddress, which also refuses what is not a CIDR."""
    fast = _v4_fast(cidr)
    if fast is not None:
        return 4, fast[0], fast[1]
    m = _IPV4_CIDR.fullmatch(cidr)
    if m:
        a, b, c, d, prefix = m.groups()
        size = 1 << (32 - int(prefix if prefix is not None else 32))
        value = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
        start = value - value % size
        return 4, start, start + size
    m = _IPV6_CIDR.fullmatch(cidr)
    if m:
        try:
            packed = socket.inet_pton(socket.AF_INET6, m[1])
        except OSError:
            pass  # ipaddress says what is wrong
        else:
            size = 1 << (128 - int(m[2] if m[2] is not None else 128))
            value = int.from_bytes(packed, "big")
            start = value - value % size
            return 6, start, start + size
    net = ipaddress.ip_network(cidr, strict=False)
    start = int(net.network_address)
    return net.version, start, start + net.num_addresses


def canonical_cidr(text: str) -> str:
    """`str(ipaddress.ip_network(text, strict=False))`, and the same ValueError for what it
    refuses: the network in its canonical form (host bits cleared, prefix written out, IPv6
    compressed as RFC 5952 says). Normalizers name every rule source with it; a firewall may
    hold 100k, and ipaddress takes ~20-50 us for each. Plain IPv4 CIDRs are read and, when
    they already are canonical (most are), returned as they are; IPv6 networks outside the
    ranges with embedded IPv4 (the first 80 bits zero) are formatted by `inet_ntop`, which
    writes RFC 5952 text as ipaddress does; everything else goes to ipaddress."""
    fast = _v4_fast(text)
    if fast is not None:
        start, end, canonical = fast
        if canonical:
            return text
        return f"{_ntoa(start.to_bytes(4, 'big'))}/{33 - (end - start).bit_length()}"
    m = _IPV6_CIDR.fullmatch(text)
    if m:
        try:
            packed = socket.inet_pton(socket.AF_INET6, m[1])
        except OSError:
            pass
        else:
            length = int(m[2]) if m[2] is not None else 128
            host = 128 - length
            start = int.from_bytes(packed, "big") >> host << host
            if start >> 48:  # not ::/80 (where ipaddress and inet_ntop write IPv4 forms)
                packed = start.to_bytes(16, "big")
                return f"{socket.inet_ntop(socket.AF_INET6, packed)}/{length}"
    return str(ipaddress.ip_network(text, strict=False))


_interval = lru_cache(maxsize=1 << 18)(_parse_cidr)


@lru_cache(maxsize=1 << 18)
def _cidr_flat(cidr: str) -> tuple[int, int]:
    """One CIDR as a flat address set (see `_compute_admitted`)."""
    # `_v4_fast` inline: a large firewall's rules are mostly plain IPv4 CIDRs
    addr, slash, prefix = cidr.partition("/")
    host = _V4_HOST_BITS.get(prefix) if slash else 0
    if host is not None:
        try:
            packed = _aton(addr)
        except (OSError, ValueError):
            pass
        else:
            if _ntoa(packed) == addr:
                start = int.from_bytes(packed, "big") >> host << host
                return start, start + (1 << host)
    version, lo, hi = _parse_cidr(cidr)
    return (lo, hi) if version == 4 else (lo + _V6, hi + _V6)


def _ranked(in_order: Sequence[Rule]) -> list[_Entry]:
    """(rank in decision order, rule, its sources as a flat set) per rule; rules without
    sources match nothing and are left out.

    Most rules of a large firewall have one plain IPv4 CIDR: `_cidr_flat`'s fast path is
    inlined here, without its cache (a firewall's 100k distinct sources would only fill it;
    the whole result is cached by `_admitted`)."""
    out: list[_Entry] = []
    append = out.append
    host_bits, aton, ntoa, from_bytes = _V4_HOST_BITS, _aton, _ntoa, int.from_bytes
    v6_host_bits, pton, AF_INET6 = _V6_HOST_BITS, socket.inet_pton, socket.AF_INET6
    for rank, rule in enumerate(in_order):
        sources = rule.sources
        if len(sources) == 1:
            cidr = sources[0]
            addr, slash, prefix = cidr.partition("/")
            if ":" not in addr:
                host = host_bits.get(prefix) if slash else 0
                if host is not None:
                    try:
                        packed = aton(addr)
                    except (OSError, ValueError):
                        pass  # not an address (or NUL, non-ASCII): `_cidr_flat` says why
                    else:
                        if ntoa(packed) == addr:
                            start = from_bytes(packed, "big") >> host << host
                            append((rank, rule, (start, start + (1 << host))))
                            continue
            elif not addr.rstrip(_HEX_COLON):  # IPv6 in hex and colons (see _IPV6_CIDR)
                host = v6_host_bits.get(prefix) if slash else 0
                if host is not None:
                    try:
                        packed = pton(AF_INET6, addr)
                    except OSError:
                        pass
                    else:
                        start = (from_bytes(packed, "big") >> host << host) + _V6
                        append((rank, rule, (start, start + (1 << host))))
                        continue
            append((rank, rule, _cidr_flat(cidr)))
        elif sources:
            append((rank, rule, _sources_flat(sources)))
    return out


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


def _cidrs_of(version: int, lo: int, hi: int) -> tuple[str, ...]:
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


_interval_cidrs = lru_cache(maxsize=1 << 16)(_cidrs_of)


def _address(version: int, value: int) -> str:
    if version == 4:
        return socket.inet_ntoa(value.to_bytes(4, "big"))
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
    # A large firewall allocates hundreds of thousands of small tuples, none of them in a
    # reference cycle: the cyclic garbage collector would only rescan them (a quarter of the
    # time at 100k rules). It is paused for the computation, and restored as it was.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _compute_admitted(layers, sources)
    finally:
        if paused:
            gc.enable()


def _compute_admitted(layers: tuple[RuleLayer, ...], sources: tuple[str, ...]
                      ) -> tuple[Exposure, ...]:
    """Per protocol, each layer's admitted addresses as a function of the port (`_layer_pieces`:
    consecutive port ranges, each with its address set), then the layers and the query
    intersected piece by piece (`_meet_pieces`), adjacent ranges with the same addresses merged.

    Address sets are "flat" tuples: sorted boundaries (lo0, hi0, lo1, hi1, ...) of disjoint,
    non-touching [lo, hi) intervals in one integer space where IPv4 is [0, 2**32) and IPv6 is
    shifted to [2**33, 2**33 + 2**128) (never adjacent to IPv4, so never merged with it, and
    IPv4 sorts first, as the sources of an exposure are listed). Equal sets are equal tuples,
    which makes merging adjacent port ranges a comparison."""
    # per layer: (rank in decision order, rule, its sources as a flat set); rules without
    # sources match nothing and are left out
    ordered = [layer.ordered_rules() for layer in layers]
    ranked = [_ranked(in_order) for in_order in ordered]
    query = _sources_flat(sources)
    if not query:
        return ()
    # per layer, per rank: does the rule allow (the last entry: the layer's default)
    allows = [[rule.action is Action.ALLOW for rule in in_order]
              + [layer.default is Action.ALLOW] for layer, in_order in zip(layers, ordered,
                                                                           strict=True)]
    if len(layers) > 1 or query != _UNIVERSE:
        ranked = _within_reach(layers, ranked, query)
    # per layer, its rules by protocol (`*` apart), each list in decision order
    by_protocol: list[dict[str, list[_Entry]]] = []
    for entries in ranked:
        buckets: dict[str, list[_Entry]] = {p: [] for p in (*PROTOCOLS, "*")}
        for entry in entries:
            buckets[entry[1].protocol].append(entry)
        by_protocol.append(buckets)
    result: list[Exposure] = []
    for protocol in PROTOCOLS:
        ported = protocol in PORTED
        pieces: list[_Piece] = [(0, MAX_PORT, query)]
        for layer, buckets, allow in zip(layers, by_protocol, allows, strict=True):
            # the rules of this protocol and those of any, in decision order (ranks are
            # distinct: merging the two sorted runs never compares the rules)
            mine, every = buckets[protocol], buckets["*"]
            applying = sorted(mine + every) if mine and every else mine or every
            if not ported:  # port-less protocols: only rules that do not narrow ports
                applying = list(compress(applying, map(
                    _ALL_PORTS_SPAN.__eq__, map(_PORT_SPAN, map(_RULE, applying)))))
            pieces = _meet_pieces(pieces, _layer_pieces(layer, applying, allow, ported))
            if len(pieces) == 1 and not pieces[0][2]:
                break
        result += [_exposure(protocol, lo, hi, flat) for lo, hi, flat in pieces if flat]
    return tuple(result)


_V6 = 1 << 33  # where IPv6 address 0 sits in the flat address space
# An entry's rule; a rule's first and last port, and both: read in C (`map` over 100k)
_RULE = itemgetter(1)
_FIRST_PORT = attrgetter("ports.lo")
_LAST_PORT = attrgetter("ports.hi")
_PORT_SPAN = attrgetter("ports.lo", "ports.hi")
_ALL_PORTS_SPAN = (0, MAX_PORT)
_UNIVERSE: tuple[int, ...] = (0, 1 << 32, _V6, _V6 + (1 << 128))
_Flat = tuple[int, ...]
_Piece = tuple[int, int, _Flat]  # first port, last port, addresses
_Entry = tuple[int, Rule, _Flat]
_T = TypeVar("_T")


def _within_reach(layers: tuple[RuleLayer, ...], ranked: list[list[_Entry]], query: _Flat
                  ) -> list[list[_Entry]]:
    """The rules that can matter to the result: those whose sources meet `reach`, the query
    intersected with every layer's reach (for a layer whose default denies, the union of its
    allow rules' sources: it admits nothing else; any protocol and port, a superset).

    The result lies inside `reach` (it is inside every layer's admitted set and the query).
    A rule decides only packets from its own sources, so a rule whose sources all lie outside
    `reach` changes its layer's decisions only outside `reach`: without it, every layer
    admits the same addresses within `reach`, and no more outside it than its own reach, so
    the intersection is unchanged. Stacked layers whose rules have little in common (an NSG
    in front of a security group) then each keep only the few rules the others let through.
    """
    reach = query
    for layer, entries in zip(layers, ranked, strict=True):
        if layer.default is Action.ALLOW:
            continue
        flats = [flat for _, rule, flat in entries if rule.action is Action.ALLOW]
        # most rules have one interval: their flat set is the (lo, hi) pair itself
        pairs = [flat for flat in flats if len(flat) == 2]
        for flat in flats:
            if len(flat) > 2:
                pairs += zip(flat[::2], flat[1::2], strict=True)
        pairs.sort()
        merged: list[int] = []
        for lo, hi in pairs:
            if merged and lo <= merged[-1]:
                if hi > merged[-1]:
                    merged[-1] = hi
            else:
                merged += (lo, hi)
        reach = _meet(reach, tuple(merged))
    if reach == _UNIVERSE:
        return ranked
    if not reach:  # a layer that denies by default admits nothing: neither does the stack
        return [[] for _ in ranked]
    last = reach[-1]
    kept: list[list[_Entry]] = []
    for entries in ranked:
        keep: list[_Entry] = []
        for entry in entries:
            flat = entry[2]
            if len(flat) == 2:  # inline _meets for one interval
                i = bisect_right(reach, flat[0])
                if i & 1 or (flat[0] < last and reach[i] < flat[1]):
                    keep.append(entry)
            elif _meets(flat, reach):
                keep.append(entry)
        kept.append(keep)
    return kept


def _meets(flat: _Flat, reach: _Flat) -> bool:
    """Do two flat address sets share an address? (`flat` is short: a rule's sources)"""
    for k in range(0, len(flat), 2):
        i = bisect_right(reach, flat[k])
        # odd: flat[k] lies inside an interval of `reach`; else the next one starts before
        # flat[k]'s interval ends
        if i & 1 or (i < len(reach) and reach[i] < flat[k + 1]):
            return True
    return False


def _flat(intervals: Iterable[tuple[int, int, int]]) -> _Flat:
    """(family, lo, hi) intervals -> a merged flat address set."""
    out: list[int] = []
    for lo, hi in sorted((lo if v == 4 else lo + _V6, hi if v == 4 else hi + _V6)
                         for v, lo, hi in intervals):
        if out and lo <= out[-1]:
            if hi > out[-1]:
                out[-1] = hi
        else:
            out += (lo, hi)
    return tuple(out)


def _sources_flat(sources: tuple[str, ...]) -> _Flat:
    if len(sources) == 1:  # most rules: one CIDR, nothing to merge
        return _cidr_flat(sources[0])
    return _flat(map(_interval, sources))


@lru_cache(maxsize=1 << 16)
def _flat_cidrs(flat: _Flat) -> tuple[str, ...]:
    # map() over the C-level cache: no Python frame per interval once it is formatted
    return tuple(chain.from_iterable(map(_flat_interval_cidrs, flat[::2], flat[1::2])))


@lru_cache(maxsize=1 << 18)
def _flat_interval_cidrs(lo: int, hi: int) -> tuple[str, ...]:
    if lo >= _V6:
        return _cidrs_of(6, lo - _V6, hi - _V6)
    return _cidrs_of(4, lo, hi)


def _splice(have: _Flat, lo: int, hi: int, inner: Sequence[int]) -> _Flat:
    """`have` with [lo, hi) replaced by `inner` (a flat set inside [lo, hi)), merged."""
    i = bisect_left(have, lo)  # have[:i] < lo; i odd: the address before lo is in `have`
    j = bisect_right(have, hi, i)  # have[j:] > hi; j odd: hi itself is in `have`
    mid = list(inner)
    if i & 1:
        if mid and mid[0] == lo:
            del mid[0]  # the interval running into lo continues
        else:
            mid.insert(0, lo)  # ... or ends there
    if j & 1:
        if mid and mid[-1] == hi:
            del mid[-1]  # the interval from hi on starts earlier
        else:
            mid.append(hi)
    return have[:i] + tuple(mid) + have[j:]


def _meet(a: _Flat, b: _Flat) -> _Flat:
    """Intersection of two flat sets (linear merge)."""
    if not a or not b:
        return ()
    if a is b or a == b or b == _UNIVERSE:
        return a
    if a == _UNIVERSE:
        return b
    out: list[int] = []
    i = j = 0
    na, nb = len(a), len(b)
    while i < na and j < nb:
        alo, ahi, blo, bhi = a[i], a[i + 1], b[j], b[j + 1]
        lo = alo if alo > blo else blo
        hi = ahi if ahi < bhi else bhi
        if lo < hi:
            out += (lo, hi)
        if ahi < bhi:
            i += 2
        else:
            j += 2
    return tuple(out)


def _meet_pieces(a: list[_Piece], b: list[_Piece]) -> list[_Piece]:
    """Two port-piecewise address sets (each covering 0..65535) intersected, adjacent
    pieces with equal sets merged."""
    if len(b) == 1 and b[0][2] == _UNIVERSE:
        return a
    if len(a) == 1 and a[0][2] == _UNIVERSE:
        return b
    out: list[_Piece] = []
    i = j = 0
    lo = 0
    while lo <= MAX_PORT:
        _, ahi, aset = a[i]
        _, bhi, bset = b[j]
        hi = ahi if ahi < bhi else bhi
        flat = _meet(aset, bset)
        if out and (out[-1][2] is flat or out[-1][2] == flat):
            out[-1] = (out[-1][0], hi, flat)
        else:
            out.append((lo, hi, flat))
        if ahi == hi:
            i += 1
        if bhi == hi:
            j += 1
        lo = hi + 1
    return out


def _layer_pieces(layer: RuleLayer, rules: list[_Entry], allow: list[bool], ported: bool
                  ) -> list[_Piece]:
    """What one layer admits, per port range (adjacent ranges differ), given the rules that
    apply to the protocol (in decision order) and `allow`, per rank, whether the rule allows
    (the last entry: the default).

    The ports are cut at every rule's bounds into elementary segments, the leaves of a segment
    tree (the bottom-up kind, any number of leaves); each rule is attached to the O(log n)
    nodes that cover its port range exactly, and the address set of a node is its parent's
    with the node's own rules applied. A leaf's set is then exactly what its segment's rules
    admit, and every rule is applied once per node it is attached to, never once per segment
    it covers (rules opening every port to the operators' ranges are applied at the top).

    UNION: a set is the union of the allow rules' sources. ORDERED: the first rule in decision
    order decides, so a node also keeps its "paint": per address cell the rank of the first
    rule covering it (`_paint`), and a rule only decides the cells no earlier rule covers."""
    default = layer.default is Action.ALLOW
    union = layer.mode is LayerMode.UNION
    if union:
        if default:
            return [(0, MAX_PORT, _UNIVERSE)]
        rules = [e for e in rules if e[1].action is Action.ALLOW]
    if not rules:
        return [(0, MAX_PORT, _UNIVERSE if default else ())]
    if ported:
        # every rule's first port and the port after its last (map() runs in C: a large
        # firewall has 100k rules)
        in_layer = list(map(_RULE, rules))
        firsts = list(map(_FIRST_PORT, in_layer))
        ends = list(map(add, map(_LAST_PORT, in_layer), repeat(1)))
        cuts = set(firsts)
        cuts.update(ends)
        cuts.update((0, MAX_PORT + 1))
        bounds = sorted(cuts)
    else:
        bounds = [0, MAX_PORT + 1]
    n = len(bounds) - 1
    # the rules of internal nodes, and of leaves (most rules: one segment, one leaf), each
    # list in decision order
    own: defaultdict[int, list[_Entry]] = defaultdict(list)
    at_leaf: defaultdict[int, list[_Entry]] = defaultdict(list)
    if ported:
        leaf = dict(zip(bounds, range(n, 2 * n + 1), strict=True)).__getitem__
        spans: Iterable[tuple[_Entry, int, int]] = zip(
            rules, map(leaf, firsts), map(leaf, ends), strict=True)
    else:
        spans = zip(rules, repeat(n), repeat(n + 1), strict=False)
    for entry, lo, hi in spans:
        if lo + 1 == hi:  # one segment: its leaf
            at_leaf[lo].append(entry)
            continue
        holders = at_leaf  # the first nodes covering the range may be leaves, not the others
        while lo < hi:
            if lo & 1:
                holders[lo].append(entry)
                lo += 1
            if hi & 1:
                hi -= 1
                holders[hi].append(entry)
            lo >>= 1
            hi >>= 1
            holders = own
    size = 2 * n
    sets: list[_Flat] = [()] * size
    # Internal nodes level by level (a node's parent is node >> 1): the children of a level
    # copy their parents' state (one slice assignment), then the nodes with rules of their
    # own apply them; the leaves last, each from its parent's final state.
    levels: dict[int, list[int]] = {}
    for node in own:
        levels.setdefault(node.bit_length(), []).append(node)
    if union:
        for level in range(1, size.bit_length() + 1):
            _inherit(sets, level, size)
            for node in levels.get(level, ()):
                have = sets[node]
                for _, _, flat in own[node]:
                    for k in range(0, len(flat), 2):
                        have = _add(have, flat[k], flat[k + 1])
                sets[node] = have
        for node, entries in at_leaf.items():
            have = sets[node]
            for _, _, flat in entries:
                if len(flat) == 2:  # `_add` inline: most leaves add one interval
                    lo, hi = flat
                    i = bisect_left(have, lo)
                    j = bisect_right(have, hi, i)
                    if i & 1:
                        have = have[:i] + have[j:] if j & 1 else (*have[:i], hi, *have[j:])
                    else:
                        have = ((*have[:i], lo, *have[j:]) if j & 1
                                else (*have[:i], lo, hi, *have[j:]))
                else:
                    for k in range(0, len(flat), 2):
                        have = _add(have, flat[k], flat[k + 1])
            sets[node] = have
    else:
        unpainted = len(allow) - 1  # the rank of "no rule": the default decides
        sets[0] = _UNIVERSE if default else ()
        paints: list[tuple[list[int], list[int]]] = [([0, _UNIVERSE[-1]], [unpainted])] * size
        for level in range(1, size.bit_length() + 1):
            _inherit(sets, level, size)
            _inherit(paints, level, size)
            for node in levels.get(level, ()):
                sets[node], paints[node] = _paint_node(sets[node], paints[node], own[node],
                                                       allow)
        for node, entries in at_leaf.items():
            have = sets[node]
            if len(entries) == 1 and len(entries[0][2]) == 2:
                # one rule, one interval (most leaves): `_paint` inline, without the paint
                # (a leaf's paint after its last rule is never read)
                rank, _, (lo, hi) = entries[0]
                bounds_, ranks = paints[node]
                i = bisect_right(bounds_, lo) - 1  # the cell holding lo
                if hi <= bounds_[i + 1]:  # inside it
                    value = ranks[i]
                    if value > rank and allow[value] is not allow[rank]:
                        # the cell was decided one way throughout: [lo, hi) now the other
                        a = bisect_left(have, lo)  # odd: lo inside (or at the end of) one
                        b = bisect_right(have, hi, a)  # odd: hi inside (or at the start of) one
                        if allow[rank]:  # `_add` inline
                            if a & 1:
                                have = have[:a] + have[b:] if b & 1 else (*have[:a], hi,
                                                                          *have[b:])
                            else:
                                have = ((*have[:a], lo, *have[b:]) if b & 1
                                        else (*have[:a], lo, hi, *have[b:]))
                        else:  # `_splice(have, lo, hi, ())` inline: [lo, hi) taken out
                            have = ((*have[:a], lo) if a & 1 else have[:a]) + (
                                (hi, *have[b:]) if b & 1 else have[b:])
                    sets[node] = have
                    continue
            sets[node] = _paint_leaf(have, paints[node], entries, allow)
    out: list[_Piece] = []
    previous: _Flat | None = None
    for start, stop, flat in zip(bounds, bounds[1:], sets[n:], strict=False):
        if flat is previous or flat == previous:
            out[-1] = (out[-1][0], stop - 1, flat)
        else:
            out.append((start, stop - 1, flat))
            previous = flat
    return out


def _inherit(states: list[_T], level: int, size: int) -> None:
    """Copy every parent's state to its children, for the nodes of one level (the nodes
    whose index has `level` bits; node 1's parent is node 0, the initial state)."""
    if level == 1:
        states[1] = states[0]
        return
    first, stop = 1 << (level - 1), min(1 << level, size)
    if first >= stop:
        return
    parents = states[first >> 1:(stop + 1) >> 1]
    states[first:stop:2] = parents[:len(range(first, stop, 2))]
    states[first + 1:stop:2] = parents[:len(range(first + 1, stop, 2))]


def _add(have: _Flat, lo: int, hi: int) -> _Flat:
    """`have` with [lo, hi) added, merged."""
    i = bisect_left(have, lo)  # i odd: lo is inside, or at the end of, an interval of `have`
    j = bisect_right(have, hi, i)  # j odd: hi is inside, or at the start of, one
    if i & 1:
        return have[:i] + have[j:] if j & 1 else (*have[:i], hi, *have[j:])
    return (*have[:i], lo, *have[j:]) if j & 1 else (*have[:i], lo, hi, *have[j:])


_Paint = tuple[list[int], list[int]]


def _items(entries: list[_Entry]) -> list[tuple[int, int, int]] | None:
    """The (lo, hi, rank) intervals of rules' sources, sorted, when no two of them overlap
    (else None)."""
    items: list[tuple[int, int, int]] = []
    for rank, _, flat in entries:
        if len(flat) == 2:
            items.append((flat[0], flat[1], rank))
        else:
            items += [(flat[k], flat[k + 1], rank) for k in range(0, len(flat), 2)]
    if len(items) > 1:
        items.sort()
        end = -1
        for lo, hi, _ in items:
            if lo < end:  # overlapping sources: the order of the rules matters
                return None
            end = hi
    return items


def _xor(have: _Flat, toggles: list[int]) -> _Flat:
    """The symmetric difference of two flat sets, `toggles` given as sorted boundaries that
    may touch ([a, b) then [b, c)). An address is in a flat set when an odd number of its
    boundaries are <= it: the boundaries of both, sorted, with equal ones cancelling in
    pairs, are the difference's."""
    merged = sorted(have + tuple(toggles))
    if len(set(merged)) == len(merged):
        return tuple(merged)
    out: list[int] = []
    for x in merged:
        if out and out[-1] == x:
            out.pop()
        else:
            out.append(x)
    return tuple(out)


def _paint_leaf(have: _Flat, paint: _Paint, entries: list[_Entry], allow: list[bool]
                ) -> _Flat:
    """The admitted set of a leaf of an ORDERED layer: `have` and `paint` are its parent's,
    `entries` its own rules in decision order.

    When the leaf's rules have disjoint sources (the common case: one rule per customer
    address on this port), each address is covered by one of them at most, so each rule
    decides the cells of the parent's paint whose rank is later than its own, against the
    parent's paint alone, and no paint is built. `have` is uniform over a cell of the paint
    (the cell's rank decides it), so where a rule decides otherwise the whole overlap flips:
    the flips are applied at once (`_xor`). Otherwise the rules are painted one after
    another (`_paint`)."""
    items = _items(entries)
    if items is None:
        last = len(entries) - 1
        for e, (rank, _, flat) in enumerate(entries):
            for k in range(0, len(flat), 2):
                have, paint = _paint(have, paint, flat[k], flat[k + 1], rank, allow,
                                     e != last or k + 2 < len(flat))
        return have
    bounds, ranks = paint
    toggles: list[int] = []
    for lo, hi, rank in items:
        i = bisect_right(bounds, lo) - 1  # the cell holding lo
        allows = allow[rank]
        if hi <= bounds[i + 1]:  # inside it (the common case)
            value = ranks[i]
            if value > rank and allow[value] is not allows:
                toggles += (lo, hi)
            continue
        for m in range(i, bisect_left(bounds, hi, i)):  # the cells meeting [lo, hi)
            value = ranks[m]
            if value > rank and allow[value] is not allows:  # this rule decides there
                start, stop = bounds[m], bounds[m + 1]
                toggles += (lo if lo > start else start, hi if hi < stop else stop)
    return _xor(have, toggles) if toggles else have


def _paint_node(have: _Flat, paint: _Paint, entries: list[_Entry], allow: list[bool]
                ) -> tuple[_Flat, _Paint]:
    """`_paint_leaf` for an internal node of the segment tree: its children read its paint,
    so the new paint is built too, in one pass over the parent's cells (the rules' sources
    disjoint; else one rule after another, `_paint`)."""
    if len(entries) == 1 and len(entries[0][2]) == 2:  # one rule, one interval (most)
        rank, _, (lo, hi) = entries[0]
        return _paint(have, paint, lo, hi, rank, allow, True)
    items = _items(entries)
    if items is None:
        for rank, _, flat in entries:
            for k in range(0, len(flat), 2):
                have, paint = _paint(have, paint, flat[k], flat[k + 1], rank, allow, True)
        return have, paint
    bounds, ranks = paint
    new_bounds: list[int] = []  # the start of each new cell
    new_ranks: list[int] = []
    toggles: list[int] = []
    pos, cell = bounds[0], 0  # the new paint covers [bounds[0], pos); `cell` holds pos
    for lo, hi, rank in items:
        i = bisect_right(bounds, lo) - 1  # the cell holding lo
        if pos < lo:  # [pos, lo) as it was
            new_bounds.append(pos)
            new_ranks.append(ranks[cell])
            new_bounds += bounds[cell + 1:i + 1]
            new_ranks += ranks[cell + 1:i + 1]
        allows = allow[rank]
        for m in range(i, bisect_left(bounds, hi, i)):  # the cells meeting [lo, hi)
            value = ranks[m]
            start = bounds[m]
            if start < lo:
                start = lo
            if value > rank:  # this rule decides there
                if allow[value] is not allows:
                    stop = bounds[m + 1]
                    toggles += (start, hi if hi < stop else stop)
                value = rank
            if new_bounds and new_bounds[-1] == start:  # [lo, ...) after an empty [pos, lo)
                new_ranks[-1] = value
            elif new_ranks and new_ranks[-1] == value:
                continue  # the same rank as the cell before: one cell
            else:
                new_bounds.append(start)
                new_ranks.append(value)
        pos, cell = hi, bisect_right(bounds, hi) - 1
    end = bounds[-1]
    if pos < end:
        new_bounds.append(pos)
        new_ranks.append(ranks[cell])
        new_bounds += bounds[cell + 1:-1]
        new_ranks += ranks[cell + 1:]
    new_bounds.append(end)
    return (_xor(have, toggles) if toggles else have), (new_bounds, new_ranks)


def _paint(have: _Flat, paint: tuple[list[int], list[int]], lo: int, hi: int, rank: int,
           allow: list[bool], keep: bool) -> tuple[_Flat, tuple[list[int], list[int]]]:
    """Apply a rule of `rank` to [lo, hi) in an ORDERED layer: cells painted by an earlier
    rank keep their decision, the others take this rule's. `paint` is (bounds, ranks): cell
    m is [bounds[m], bounds[m + 1]) with ranks[m]. Returns the new admitted set and, when
    `keep`, the new paint (else the old one: a leaf's paint is never read)."""
    bounds, ranks = paint
    i = bisect_right(bounds, lo) - 1  # the cell holding lo
    j = bisect_left(bounds, hi, i)  # cells i .. j-1 meet [lo, hi)
    if j == i + 1:  # inside one cell (the common case)
        value = ranks[i]
        if value < rank:  # decided by an earlier rule: nothing changes
            return have, paint
        if allow[value] is not allow[rank]:  # the cell was decided one way throughout
            have = _add(have, lo, hi) if allow[rank] else _splice(have, lo, hi, ())
        if not keep:
            return have, paint
        new_bounds, new_ranks = bounds[:i + 1], ranks[:i + 1]
        if bounds[i] < lo:
            new_bounds.append(lo)
            new_ranks.append(rank)
        else:
            new_ranks[-1] = rank
        if hi < bounds[j]:
            new_bounds.append(hi)
            new_ranks.append(value)
        new_bounds += bounds[j:]
        new_ranks += ranks[j:]
        return have, (new_bounds, new_ranks)
    starts: list[int] = []
    values: list[int] = []
    for m in range(i, j):
        value = ranks[m] if ranks[m] < rank else rank
        if values and values[-1] == value:
            continue
        starts.append(bounds[m] if bounds[m] > lo else lo)
        values.append(value)
    inner: list[int] = []
    for m, value in enumerate(values):
        if allow[value]:
            s, e = starts[m], starts[m + 1] if m + 1 < len(starts) else hi
            if inner and inner[-1] == s:
                inner[-1] = e
            else:
                inner += (s, e)
    have = _splice(have, lo, hi, inner)
    if not keep:
        return have, paint
    new_bounds = bounds[:i + 1] if bounds[i] < lo else bounds[:i]
    new_ranks = ranks[:i + 1] if bounds[i] < lo else ranks[:i]
    new_bounds += starts
    new_ranks += values
    if bounds[j] > hi:
        new_bounds.append(hi)
        new_ranks.append(ranks[j - 1])
    new_bounds += bounds[j:]
    new_ranks += ranks[j:]
    return have, (new_bounds, new_ranks)


# --- reading exposures -------------------------------------------------------------------


def sources_for(exposures: Iterable[Exposure], protocol: str, port: int | None) -> list[str]:
    """The sources admitted for one protocol and port."""
    out: list[str] = []
    for e in exposures:
        if e.protocol == protocol and (port is None or e._lo <= port <= e._hi):
            out.extend(e.sources)
    return out


_V4_ALL = (0, 1 << 32)  # 0.0.0.0/0 as an interval of a flat address set
_V6_ALL = (_V6, _V6 + (1 << 128))  # ::/0


def wide_open(exposures: Iterable[Exposure]) -> bool:
    """Every TCP port open to the whole IPv4 or IPv6 internet (a host with no filtering).
    Port 0 is not a port a connection can be made to (IANA: reserved), and firewalls that
    take ranges start theirs at 1 (Hetzner Cloud firewall rules: ports 1-65535, so
    "1-65535" is how a Hetzner rule opens every port): 1-65535 is every TCP port."""
    covered: dict[str, list[tuple[int, int]]] = {"0.0.0.0/0": [], "::/0": []}
    for e in exposures:
        if e.protocol != "tcp":
            continue
        # canonical (merged): a whole family, however its sources spell it (0.0.0.0/0, or
        # 0.0.0.0/1 + 128.0.0.0/1 in an exposure built from CIDRs), is its first interval
        # [0, 2**32) for IPv4, its last [2**33, 2**33 + 2**128) for IPv6 (IPv4 sorts first)
        flat = e._flat if e._flat is not None else _sources_flat(e.sources) if e.sources \
            else ()
        if flat[:2] == _V4_ALL:
            covered["0.0.0.0/0"].append((e._lo, e._hi + 1))
        if flat[-2:] == _V6_ALL:
            covered["::/0"].append((e._lo, e._hi + 1))
    return any(lo <= 1 and hi == MAX_PORT + 1 for iv in covered.values()
               for lo, hi in _merge(iv))
