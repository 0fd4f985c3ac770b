"""Network security groups as rule layers (scanner.rules): priorities, default rules,
service tags seen from the internet, destinations that cover a NIC."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from providers.azure.normalize.common import (
    _PROTO,
    DEFAULT_RULES,
    DEST_ANY,
    INTERNET_TAGS,
    _arr,
    _cidr,
    _props,
    _ref,
    lid,
)
from scanner.rules import INTERNET, Action, LayerMode, PortRange, Rule, RuleLayer


def _list(props: Mapping[str, Any], single: str, many: str) -> list[str]:
    """A rule's `single` string and `many` strings (ARM: string, array of strings); another
    type is not read as text (`destinationPortRange: 5`): TypeError, named, and the engine
    makes the NSG's verdicts and what it feeds `error` (scanner/quarantine.py)."""
    values = [_str(v, many) for v in _arr(props.get(many), many)]
    if props.get(single) not in (None, ""):
        values.append(_str(props[single], single))
    return values


def _enum(props: Mapping[str, Any], name: str) -> str | None:
    """A rule's enum string (access, direction, protocol), None when absent."""
    value = props.get(name)
    return None if value is None else _str(value, name)


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a string, got {type(value).__name__}")
    return value


def _ports(props: Mapping[str, Any], protocol: str, allow: bool = True) -> list[PortRange]:
    """The rule's port ranges; one that cannot be read ("443-22", "-1") is read widest for
    an allow rule (every port: a fail may be wrong, never a pass) and left out of a deny."""
    if protocol not in ("tcp", "udp", "*"):
        return [PortRange(0, 65535)]
    specs = _list(props, "destinationPortRange", "destinationPortRanges") or ["*"]
    out = []
    for spec in specs:
        try:
            out.append(PortRange.parse(spec))
        except ValueError:
            if allow:
                out.append(PortRange(0, 65535))
    return out


def _sources(props: Mapping[str, Any]) -> tuple[str, ...]:
    """The internet-visible sources of a rule (empty: never matches internet traffic)."""
    out: list[str] = []
    for prefix in _list(props, "sourceAddressPrefix", "sourceAddressPrefixes"):
        key = prefix.strip().lower()
        if key in INTERNET_TAGS or key.startswith("azurecloud."):
            out.extend(INTERNET)
        elif (cidr := _cidr(prefix)) is not None:
            out.append(cidr)
    return _whole_families(tuple(dict.fromkeys(out)))


def _whole_families(sources: tuple[str, ...]) -> tuple[str, ...]:
    """Sources whose union is a whole address family (`sourceAddressPrefixes`
    ["0.0.0.0/1", "128.0.0.0/1"]) are that family's /0: the rule admits the whole internet
    as `*` does (NET-07 looks for /0 sources). Anything else is kept as written."""
    if len(sources) < 2:
        return sources
    out = list(sources)
    v4 = [n for n in map(ipaddress.ip_network, sources) if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in map(ipaddress.ip_network, sources) if isinstance(n, ipaddress.IPv6Network)]
    for whole, covered in (("0.0.0.0/0", len(v4) > 1 and [str(n) for n in
                                                           ipaddress.collapse_addresses(v4)]),
                           ("::/0", len(v6) > 1 and [str(n) for n in
                                                     ipaddress.collapse_addresses(v6)])):
        if covered == [whole]:
            version = ipaddress.ip_network(whole).version
            out = [s for s in out if ipaddress.ip_network(s).version != version] + [whole]
    return tuple(out)


def _every_source_port(props: Mapping[str, Any]) -> bool:
    """Does the rule match every source port? A rule is matched on "source and destination
    port" too (https://learn.microsoft.com/azure/virtual-network/network-security-groups-
    overview#security-rules); clients pick their source ports, so a deny rule limited to some
    source ports (`sourcePortRange` "53", `sourcePortRanges`) leaves the destination port open
    to every other connection. Unreadable ranges count as not every port."""
    for spec in _list(props, "sourcePortRange", "sourcePortRanges") or ["*"]:
        try:
            if PortRange.parse(spec) == PortRange(0, 65535):
                return True
        except ValueError:
            continue
    return False


def _dest_matches(props: Mapping[str, Any], addresses: list[str], asgs: set[str],
                  allow: bool = True) -> bool:
    """Does the rule's destination cover traffic to `addresses` (private addresses, or
    address ranges such as an application gateway's subnet, whose instances answer from
    any address in it)? An allow rule matches when it names any of those addresses, a deny
    rule only when it covers one of them whole: read widest, a fail may be wrong, never a
    pass."""
    dest_asgs = {_ref(a) for a in _arr(props.get("destinationApplicationSecurityGroups"),
                                       "destinationApplicationSecurityGroups")}
    if dest_asgs:
        return bool(dest_asgs & asgs)
    prefixes = _list(props, "destinationAddressPrefix", "destinationAddressPrefixes") or ["*"]
    for prefix in prefixes:
        key = prefix.strip().lower()
        if key in DEST_ANY:
            return True
        net = _cidr(prefix)
        if net is None:
            continue  # Internet or another service tag as destination: not this NIC
        if not addresses:
            # the NIC's address is not known (a plan's dynamic private IP): an allow rule
            # naming any address may be naming it, a deny rule cannot be counted on
            if allow:
                return True
            continue
        network = ipaddress.ip_network(net)
        for addr in addresses:
            try:
                target = ipaddress.ip_network(addr.strip(), strict=False)
            except ValueError:
                continue
            if target.version != network.version:
                continue
            if network.overlaps(target) if allow else target.subnet_of(network):  # type: ignore[arg-type]
                return True
    return False


def _dest_any_address(props: Mapping[str, Any]) -> bool:
    """Can the rule's destination be an address behind the NSG at all? Every destination
    a VM, subnet or ASG can have (`*`, `VirtualNetwork`, an address or prefix, an
    application security group); not a service tag naming addresses outside the virtual
    network (`Internet`, `Storage`, ...)."""
    if _arr(props.get("destinationApplicationSecurityGroups"),
            "destinationApplicationSecurityGroups"):
        return True
    prefixes = _list(props, "destinationAddressPrefix", "destinationAddressPrefixes") or ["*"]
    return any(p.strip().lower() in DEST_ANY or _cidr(p) is not None for p in prefixes)


def nsg_layer(nsg: Mapping[str, Any], name: str, addresses: Iterable[str] | None = (),
              asgs: set[str] | None = None) -> RuleLayer:
    """One NSG as an ORDERED layer of its inbound rules that can match internet traffic
    to `addresses` (the private addresses of one NIC configuration, members of `asgs`).
    `addresses` None: the NSG's rules themselves (NET-07), whatever machine they name. A
    rule's destination is "any, an individual IP address, CIDR block (example 10.0.0.0/24,
    for example), service tag, or application security group"
    (https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview
    #security-rules): a rule admitting RDP from the internet to 10.0.0.0/24 or to an
    application security group is such a rule, whichever NIC it reaches today."""
    nsg_id = lid(nsg.get("id"))
    props = _props(nsg)
    anywhere = addresses is None
    addresses = list(addresses or ())
    defaults = _arr(props.get("defaultSecurityRules"), "defaultSecurityRules") or list(
        DEFAULT_RULES)
    rules: list[Rule] = []
    for raw in [*_arr(props.get("securityRules"), "securityRules"), *defaults]:
        rp = _props(raw)
        # enum strings of another type are refused (a list read as text was "not allow":
        # a deny that closed ports; "not inbound": an allow rule dropped)
        if lid(_enum(rp, "direction")) != "inbound":
            continue
        sources = _sources(rp)
        if not sources:
            continue
        action = Action.ALLOW if lid(_enum(rp, "access")) == "allow" else Action.DENY
        if action is Action.DENY and not _every_source_port(rp):
            continue  # denies only some clients' connections: never read as closing a port
        # the rules themselves: an allow rule counts whatever address it names, a deny
        # rule only when it covers every address (it cannot shadow an allow to others)
        if not (_dest_any_address(rp) if anywhere and action is Action.ALLOW
                else _dest_matches(rp, addresses, asgs or set(), action is Action.ALLOW)):
            continue
        protocol = _PROTO.get(lid(_enum(rp, "protocol")), "other")
        for ports in _ports(rp, protocol, action is Action.ALLOW):
            rules.append(Rule(action, protocol, ports, sources, int(rp.get("priority") or 0),
                              origin=f"{nsg_id}/securityrules/{lid(raw.get('name'))}"))
    return RuleLayer(name, LayerMode.ORDERED, tuple(rules), Action.DENY, origin=(nsg_id,))


def nsg_layers(subnet_nsg: Mapping[str, Any] | None, nic_nsg: Mapping[str, Any] | None,
               standard_sku: bool, addresses: Iterable[str] | None = (),
               asgs: set[str] | None = None) -> tuple[RuleLayer, ...]:
    """The layers traffic to `addresses` crosses (None: the NSGs' rules themselves, as
    nsg_layer reads them for NET-07)."""
    addresses = None if addresses is None else list(addresses)
    layers = []
    if subnet_nsg is not None:
        layers.append(nsg_layer(subnet_nsg, "subnet NSG", addresses, asgs))
    if nic_nsg is not None:
        layers.append(nsg_layer(nic_nsg, "NIC NSG", addresses, asgs))
    if layers:
        return tuple(layers)
    if standard_sku:
        return (RuleLayer("no NSG (Standard public IP: closed by default)", LayerMode.UNION, (),
                          Action.DENY, present=False),)
    return (RuleLayer("no NSG (Basic public IP: open)", LayerMode.UNION, (), Action.ALLOW,
                      present=False),)


def port_layer(name: str, ports: Iterable[tuple[str, int]], origin: str) -> RuleLayer:
    rules = tuple(Rule(Action.ALLOW, proto, PortRange(p, p), origin=f"{origin}:{p}")
                  for proto, p in sorted(set(ports)))
    return RuleLayer(name, LayerMode.UNION, rules, Action.DENY, origin=(origin,))
