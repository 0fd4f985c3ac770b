"""Virtual networks, subnets, NSGs as firewall resources, public IPs, DDoS entry points."""

from __future__ import annotations

from typing import Any

from providers.azure.normalize.common import _arr, _loc, _obj, _parent, _props, _ref, lid
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
        for pool in _arr(_props(lb).get("backendAddressPools"), "backendAddressPools"):
            for cfg in _arr(_props(pool).get("backendIPConfigurations"), "backendIPConfigurations"):
                backend_nics.add(_ref(cfg).split("/ipconfigurations/")[0])
    public_subnets: set[str] = set()
    for nic in b.items("Microsoft.Network/networkInterfaces"):
        in_backend = lid(nic.get("id")) in backend_nics
        for cfg in _arr(_props(nic).get("ipConfigurations"), "ipConfigurations"):
            cp = _props(cfg)
            pools = {_parent(_ref(p)) for p in _arr(cp.get("loadBalancerBackendAddressPools"),
                                                      "loadBalancerBackendAddressPools")}
            if cp.get("publicIPAddress") or in_backend or pools & public_lbs:
                public_subnets.add(_ref(cp.get("subnet"), "subnet"))
    for gw in b.items("Microsoft.Network/applicationGateways"):
        p = _props(gw)
        if any(_ref(_props(fe).get("publicIPAddress"), "publicIPAddress")
               for fe in _arr(p.get("frontendIPConfigurations"), "frontendIPConfigurations")):
            public_subnets.update(_ref(_props(cfg).get("subnet"), "subnet")
                                  for cfg in _arr(p.get("gatewayIPConfigurations"),
                                                  "gatewayIPConfigurations"))
    return {_parent(sub) for sub in public_subnets if sub}


def networks(b: Build) -> None:
    public = public_vnets(b)
    for vnet in b.items("Microsoft.Network/virtualNetworks"):
        p = _props(vnet)
        prefixes = _arr(_obj(p.get("addressSpace"), "addressSpace").get("addressPrefixes"),
                        "addressPrefixes")
        props: dict[str, Any] = {"cidr": prefixes[0] if prefixes else None}
        if lid(vnet.get("id")) in public:
            props["ddos_protection"] = b.vnet_ddos(vnet)
        nid = b.add(Kind.NETWORK, vnet, props)
        for peering in _arr(p.get("virtualNetworkPeerings"), "virtualNetworkPeerings"):
            remote = _ref(_props(peering).get("remoteVirtualNetwork"), "remoteVirtualNetwork")
            if remote:
                b.relate(nid, remote, RelationType.PEERED_WITH)
        for sub in _arr(p.get("subnets"), "subnets"):
            sp = _props(sub)
            sid = b.add(Kind.SUBNET, sub, {
                "cidr": sp.get("addressPrefix") or next(iter(_arr(sp.get("addressPrefixes"),
                                                                  "addressPrefixes")),
                                                        None),
            }, region=_loc(vnet), labels={})
            b.relate(sid, nid, RelationType.MEMBER_OF)
            nsg_ref = _ref(sp.get("networkSecurityGroup"), "networkSecurityGroup")
            if nsg_ref:
                b.relate(sid, nsg_ref, RelationType.PROTECTED_BY, layer="subnet NSG")
    for nsg in b.items("Microsoft.Network/networkSecurityGroups"):
        layer = nsg_layer(nsg, "NSG", None)  # every rule, whatever it names as destination
        b.add(Kind.FIREWALL, nsg, {"firewall_rules": [
            {"protocol": r.protocol, "ports": str(r.ports), "sources": list(r.sources),
             "action": str(r.action), "priority": r.priority}
            for r in layer.ordered_rules()]})


def public_ip_resources(b: Build) -> None:
    nic_vm = b.nic_owners()
    for pip in b.items("Microsoft.Network/publicIPAddresses"):
        pid = b.add(Kind.PUBLIC_IP, pip, {})
        cfg = _ref(_props(pip).get("ipConfiguration"), "ipConfiguration")
        owner = nic_vm.get(cfg.split("/ipconfigurations/")[0]) if cfg else None
        if owner is None and "/loadbalancers/" in cfg:
            owner = cfg.split("/frontendipconfigurations/")[0]
        if owner is None and "/applicationgateways/" in cfg:
            owner = cfg.split("/frontendipconfigurations/")[0]
        if owner:
            b.relate(pid, owner, RelationType.ATTACHED_TO)
