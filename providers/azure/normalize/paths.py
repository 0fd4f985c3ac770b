"""The ways internet traffic reaches a VM: one path per public IP configuration of each of
its NICs and per inbound NAT rule, each judged against its own NIC's and subnet's NSGs, and
their union as the VM's `ingress`.

What no NSG at all means depends on the SKU of what the traffic arrives through, read on
every path: "Standard SKU public IP addresses ... are secure by default and closed to
inbound traffic" unless an NSG allows it; Basic ones are open
(https://learn.microsoft.com/azure/virtual-network/ip-services/public-ip-addresses#sku);
a Standard load balancer is "closed to inbound flows unless allowed by a network security
group", a Basic one is "open by default, network security group optional"
(https://learn.microsoft.com/azure/load-balancer/skus). A load balancer's frontends use
public IPs of its own SKU; posture treats a path as closed by default only when both
say Standard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from providers.azure.normalize.common import _obj, _str, lid
from scanner.rules import Action, LayerMode, Rule, RuleLayer, admitted

UNION_NAME = "public paths of every NIC, each through its own NSGs"


def lb_standard(lb: Mapping[str, Any], frontend_pip_standard: bool | None) -> bool:
    """Is a load balancer path closed by default (Standard SKU)? The load balancer's `sku`
    (absent: Basic, the API default) and its frontend public IP's SKU must both be
    Standard."""
    sku = lid(_str(_obj(lb.get("sku"), "sku").get("name"), "sku.name") or "basic")
    return sku == "standard" and frontend_pip_standard is not False


def combine(paths: Iterable[tuple[RuleLayer, ...]]) -> tuple[RuleLayer, ...]:
    """One `ingress` for several entry paths: the layers of a path whose exposures are
    those of all paths together (the usual case: one path, or NAT'ed ports the public IP
    path already admits), else one UNION layer of what each path admits."""
    distinct = list(dict.fromkeys(paths))
    if not distinct:
        return ()
    if len(distinct) == 1:
        return distinct[0]
    per_path = [admitted(p) for p in distinct]
    rules: list[Rule] = []
    for layers, exposures in zip(distinct, per_path, strict=True):
        origin = "+".join(o for layer in layers for o in layer.origin) or layers[0].name
        rules.extend(Rule(Action.ALLOW, e.protocol, e.ports, e.sources, origin=origin)
                     for e in exposures)
    open_by_default = any(all(not layer.present and layer.default is Action.ALLOW
                              for layer in p) for p in distinct)
    union = RuleLayer(UNION_NAME, LayerMode.UNION, tuple(rules),
                      Action.ALLOW if open_by_default else Action.DENY,
                      present=any(layer.present for p in distinct for layer in p),
                      origin=tuple(dict.fromkeys(o for p in distinct for layer in p
                                                 for o in layer.origin)))
    whole = admitted((union,))
    for layers, exposures in zip(distinct, per_path, strict=True):
        if exposures == whole:
            return layers
    return (union,)
