"""Hetzner firewall rules and label selectors, read as the API documents them. Pure.

A rule's fields are read case-insensitively (`"TCP"`, `"In"`). Where a field is missing or
holds a value the API does not document, the rule is kept in its *widest* reading (inbound,
any protocol, every port, the whole internet) and the doubt is recorded, so an admitting rule
is never dropped in silence: a firewall adds allow rules to a default-deny union, so the
widest reading is the most open one and only a `fail` that depends on it can be wrong.

Sources, all from the Hetzner Cloud API's OpenAPI description (shared/reference/
hcloud-openapi.json, schema `rule`) unless said otherwise:
- `direction` is `in` or `out`; `source_ips` apply to `in`.
- `protocol` is one of esp, gre, icmp, tcp, udp.
- `port` is "only applicable for protocols tcp and udp"; "a port range can be specified by
  separating lower and upper bounds with a dash". `any` means every port (the Terraform
  provider's `hcloud_firewall` documentation: "You can use `any` to allow all ports for the
  specific protocol"; it also says the port is required for tcp and udp, so a tcp/udp rule
  without one is not documented and is read as every port, with a doubt).
- `source_ips` are CIDR blocks; `0.0.0.0/0` and `::/0` are every address of a family.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.rules import ALL_PORTS, INTERNET, Action, PortRange, Rule, canonical_cidr

_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "esp": "other", "gre": "other"}


def enum(value: Any) -> str:
    """An enum-like API field, compared case-insensitively ("" when missing)."""
    return "" if value is None else str(value).strip().lower()


@dataclass(frozen=True, slots=True)
class FirewallRules:
    """A firewall's inbound rules, and what in them could not be read as documented."""

    rules: tuple[Rule, ...]
    doubts: tuple[str, ...] = ()


def firewall_rules(fw: Mapping[str, Any], fw_id: str) -> FirewallRules:
    rules: list[Rule] = []
    doubts: list[str] = []
    raw_rules = fw.get("rules")
    if not isinstance(raw_rules, list):  # missing or null too: the API always lists them
        doubts.append(f"{fw_id}: rules is not a list: read as allowing everything")
        raw_rules = [None]
    for i, raw in enumerate(raw_rules):
        origin = f"{fw_id}#{i}"
        if not isinstance(raw, Mapping):
            doubts.append(f"{origin}: not a rule object: read as allowing everything from "
                          "anywhere")
            rules.append(Rule(Action.ALLOW, "*", ALL_PORTS, INTERNET, origin=origin))
            continue
        direction = enum(raw.get("direction"))
        if direction == "out":
            continue
        if direction != "in":
            doubts.append(f"{origin}: direction {raw.get('direction')!r} is not in/out: read "
                          "as inbound")
        protocol = _PROTOCOLS.get(enum(raw.get("protocol")))
        if protocol is None:
            doubts.append(f"{origin}: protocol {raw.get('protocol')!r} is not one the API "
                          "documents: read as any protocol")
        ports = ALL_PORTS
        if protocol in ("tcp", "udp"):
            ports = _ports(raw.get("port"), origin, doubts)
        rules.append(Rule(
            action=Action.ALLOW,
            protocol=protocol or "*",
            ports=ports,
            sources=_sources(raw, origin, doubts),
            origin=origin,
        ))
    return FirewallRules(tuple(rules), tuple(doubts))


def _ports(value: Any, origin: str, doubts: list[str]) -> PortRange:
    if value is None or (isinstance(value, str) and not value.strip()):
        doubts.append(f"{origin}: no port on a tcp/udp rule: read as every port")
        return ALL_PORTS
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(value)
        found = PortRange.parse(value)
        if found.hi < 1:  # the API's ports are 1-65535: port 0 read as itself hid port 22
            raise ValueError(value)
        return found
    except ValueError:
        doubts.append(f"{origin}: port {value!r} is not a port or range: read as every port")
        return ALL_PORTS


def _sources(raw: Mapping[str, Any], origin: str, doubts: list[str]) -> tuple[str, ...]:
    value = raw.get("source_ips")
    if value is None:
        doubts.append(f"{origin}: no source_ips: read as the whole internet")
        return INTERNET
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        doubts.append(f"{origin}: source_ips is not a list: read as the whole internet")
        return INTERNET
    out: list[str] = []
    for src in value:
        try:
            out.append(canonical_cidr(str(src).strip()))  # = str(ip_network(...))
        except ValueError:
            doubts.append(f"{origin}: source {src!r} is not a CIDR block: read as the whole "
                          "internet")
            out.extend(INTERNET)
    return tuple(dict.fromkeys(out))


# --- label selectors -------------------------------------------------------------------------
# Hetzner label selectors (https://docs.hetzner.cloud/#label-selector): comma-separated
# expressions that must all hold: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
# `k notin (a,b)`. Label keys and values: letters, digits, `-`, `_`, `.`; a key may carry a
# `prefix/`. Nothing documents what an *empty* selector applies a firewall to, so an empty
# or malformed selector is not resolved: the firewall's targets are unknown.

_TOKEN = r"[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?"
# Whitespace runs are possessive (`\s*+`): with backtracking, a key followed by a
# megabyte of spaces tried every split of them between `\s*`, `\s+` and the trailing
# `\s*` (8,000 spaces: 0.7 s, 1 MB: hours); each run has one reading, so possessive
# matching accepts exactly the same selectors, in time linear in their length.
_TERM = re.compile(
    rf"""^\s*+(?:
        !\s*+(?P<absent>{_TOKEN})
      | (?P<key>{_TOKEN})(?:
            \s*+(?P<op>==|!=|=)\s*+(?P<value>{_VALUE})
          | \s++(?P<setop>in|notin)\s*+
            \((?P<values>\s*+{_VALUE}(?:\s*+,\s*+{_VALUE})*+\s*+)\)
        )?
    )\s*+$""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Term:
    key: str
    op: str  # exists | absent | eq | ne | in | notin
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.op == "exists":
            return self.key in labels
        if self.op == "absent":
            return self.key not in labels
        if self.op in ("eq", "in"):
            return value is not None and value in self.values
        return value is None or value not in self.values  # ne, notin


def parse_selector(selector: Any) -> tuple[Term, ...] | None:
    """The terms of a selector; None when it is empty or not a selector."""
    if not isinstance(selector, str) or not selector.strip():
        return None
    terms: list[Term] = []
    for text in _split(selector):
        m = _TERM.match(text) if text is not None else None
        if m is None:
            return None
        if m["absent"]:
            terms.append(Term(m["absent"], "absent"))
        elif m["op"]:
            terms.append(Term(m["key"], "ne" if m["op"] == "!=" else "eq",
                              frozenset({m["value"]})))
        elif m["setop"]:
            terms.append(Term(m["key"], m["setop"],
                              frozenset(v.strip() for v in m["values"].split(","))))
        else:
            terms.append(Term(m["key"], "exists"))
    return tuple(terms)


def _split(selector: str) -> list[str | None]:
    parts: list[str | None] = []
    depth, cur = 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0 or depth > 1:
            return [None]
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth:
        return [None]
    parts.append(cur)
    return parts


class LabelIndex:
    """Servers grouped by identical label sets, with an index from (key, value) to groups:
    a selector is resolved by testing its terms once per candidate group (the groups that
    carry a value its `k=v`/`k in (...)` terms require, else every group), not once per
    server. The result is the same set of servers."""

    def __init__(self, servers: Sequence[Mapping[str, Any]],
                 server_labels: Sequence[Mapping[str, str]]) -> None:
        groups: dict[frozenset[tuple[str, str]], int] = {}
        self.labels: list[Mapping[str, str]] = []
        self.members: list[list[Any]] = []
        self.by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
        for srv, labels in zip(servers, server_labels, strict=True):
            key = frozenset(labels.items())
            g = groups.get(key)
            if g is None:
                g = groups[key] = len(self.labels)
                self.labels.append(labels)
                self.members.append([])
                for pair in labels.items():
                    self.by_pair[pair].append(g)
            self.members[g].append(srv["id"])

    def matching(self, terms: Sequence[Term]) -> list[Any]:
        candidates: Sequence[int] | None = None
        for term in terms:
            if term.op not in ("eq", "in"):
                continue
            found = sorted({g for v in term.values for g in self.by_pair.get((term.key, v), ())})
            if candidates is None or len(found) < len(candidates):
                candidates = found
        if candidates is None:
            candidates = range(len(self.labels))
        return [sid for g in candidates if all(t.matches(self.labels[g]) for t in terms)
                for sid in self.members[g]]
