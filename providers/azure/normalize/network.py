"""Virtual networks, subnets, NSGs as firewall resources, public IPs, DDoS entry points."""

from __future__ import annotations

from typing import Any

from providers.azure.normalize.common import _loc, _parent, _props, _ref, lid
from providers.azure.normalize.context import Build
from providers.azure.normalize.nsg import nsg_layer
from scanner.model import Kind, RelationType


def public_vnets(b: Build) -> set[str]:
    """VNets (lower-cased ids) holding a resource that answers on a public IP: a NIC
    with a public IP, a backend NIC of a public load balancer, an application gateway
    with a public frontend."""
    public_lbs = {lid(lb.get("id")) for lb in b.items("Microsoft.Network/loadBalancers")
                  if b.lb_frontends(lb)}
    backend_nics: set[str] = set()
    for lb in b.items("Microsoft.Network/loadBalancers"):
        if lid(lb.get("id")) not in public_lbs:
            continue
        for pool in _props(lb).get("backendAddressPools") or []:
            for cfg in _props(pool).get("backendIPConfigurations") or []:
                backend_nics.add(_ref(cfg).split("/ipconfigurations/")[0])
    public_subnets: set[str] = set()
    for nic in b.items("Microsoft.Network/networkInterfaces"):
        in_backend = lid(nic.get("id")) in backend_nics
        for cfg in _props(nic).get("ipConfigurations") or []:
            cp = _props(cfg)
            pools = {_parent(_ref(p)) for p in cp.get("loadBalancerBackendAddressPools")
                     or []}
            if cp.get("publicIPAddress") or in_backend or pools & public_lbs:
                public_subnets.add(_ref(cp.get("subnet")))
    for gw in b.items("Microsoft.Network/applicationGateways"):
        p = _props(gw)
        if any(_ref(_props(fe).get("publicIPAddress"))
               for fe in p.get("frontendIPConfigurations") or []):
            public_subnets.update(_ref(_props(cfg).get("subnet"))
                                  for cfg in p.get("gatewayIPConfigurations") or [])
    return {_parent(sub) for sub in public_subnets if sub}


def networks(b: Build) -> None:
    public = public_vnets(b)
    for vnet in b.items("Microsoft.Network/virtualNetworks"):
        p = _props(vnet)
        prefixes = (p.get("addressSpace") or {}).get("addressPrefixes") or []
        props: dict[str, Any] = {"cidr": prefixes[0] if prefixes else None}
        if lid(vnet.get("id")) in public:
            props["ddos_protection"] = b.vnet_ddos(vnet)
        nid = b.add(Kind.NETWORK, vnet, props)
        for peering in p.get("virtualNetworkPeerings") or []:
            remote = _ref(_props(peering).get("remoteVirtualNetwork"))
            if remote:
                b.relate(nid, remote, RelationType.PEERED_WITH)
        for sub in p.get("subnets") or []:
            sp = _props(sub)
            sid = b.add(Kind.SUBNET, sub, {
                "cidr": sp.get("addressPrefix") or next(iter(sp.get("addressPrefixes") or []),
                                                        None),
            }, region=_loc(vnet), labels={})
            b.relate(sid, nid, RelationType.MEMBER_OF)
            nsg_ref = _ref(sp.get("networkSecurityGroup"))
            if nsg_ref:
                b.relate(sid, nsg_ref, RelationType.PROTECTED_BY, layer="subnet NSG")
    for nsg in b.items("Microsoft.Network/networkSecurityGroups"):
        layer = nsg_layer(nsg, "NSG", ("0.0.0.0",))
        b.add(Kind.FIREWALL, nsg, {"firewall_rules": [
            {"protocol": r.protocol, "ports": str(r.ports), "sources": list(r.sources),
             "action": str(r.action), "priority": r.priority}
            for r in layer.ordered_rules()]})


def public_ip_resources(b: Build) -> None:
    nic_vm = b.nic_owners()
    for pip in b.items("Microsoft.Network/publicIPAddresses"):
        pid = b.add(Kind.PUBLIC_IP, pip, {})
        cfg = _ref(_props(pip).get("ipConfiguration"))
        owner = nic_vm.get(cfg.split("/ipconfigurations/")[0]) if cfg else None
        if owner is None and "/loadbalancers/" in cfg:
            owner = cfg.split("/frontendipconfigurations/")[0]
        if owner is None and "/applicationgateways/" in cfg:
            owner = cfg.split("/frontendipconfigurations/")[0]
        if owner:
            b.relate(pid, owner, RelationType.ATTACHED_TO)
