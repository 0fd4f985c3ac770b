"""Virtual networks, subnets, NSGs as firewall resources, public IPs, DDoS entry points."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.azure.normalize.common import _arr, _loc, _obj, _parent, _props, _ref, _str, lid
from providers.azure.normalize.context import Build
from providers.azure.normalize.nsg import nsg_layer
from scanner.model import Kind, RelationType


def public_vnets(b: Build) -> dict[str, set[str]]:
    """VNets (lower-cased ids) holding a resource that answers on a public IP -> the ids of
    the public IPs it answers on: a NIC's own public IP, the frontend public IPs of a public
    load balancer it is a backend or an inbound NAT rule target of, an application
    gateway's public frontend IPs."""
    public_lbs = {lid(lb.get("id")): _frontend_pips(lb)
                  for lb in b.items("Microsoft.Network/loadBalancers") if b.lb_frontends(lb)}
    backend_nics: dict[str, set[str]] = {}
    for lb in b.items("Microsoft.Network/loadBalancers"):
        if lid(lb.get("id")) not in public_lbs:
            continue
        targets = [_ref(cfg) for pool in _arr(_props(lb).get("backendAddressPools"),
                                              "backendAddressPools")
                   for cfg in _arr(_props(pool).get("backendIPConfigurations"),
                                   "backendIPConfigurations")]
        targets += [_ref(_props(rule).get("backendIPConfiguration"), "backendIPConfiguration")
                    for rule in _arr(_props(lb).get("inboundNatRules"), "inboundNatRules")]
        for cfg_id in filter(None, targets):
            backend_nics.setdefault(cfg_id.split("/ipconfigurations/")[0], set()).update(
                public_lbs[lid(lb.get("id"))])
    public_subnets: dict[str, set[str]] = {}
    for nic in b.items("Microsoft.Network/networkInterfaces"):
        from_backend = backend_nics.get(lid(nic.get("id")))
        for cfg in _arr(_props(nic).get("ipConfigurations"), "ipConfigurations"):
            cp = _props(cfg)
            pools = {_parent(_ref(p)) for key in ("loadBalancerBackendAddressPools",
                                                  "loadBalancerInboundNatRules")
                     for p in _arr(cp.get(key), key)}
            pips = {pip for lb in pools & public_lbs.keys() for pip in public_lbs[lb]}
            if own := _ref(cp.get("publicIPAddress"), "publicIPAddress"):
                pips.add(own)
            if cp.get("publicIPAddress") or from_backend is not None or pools & public_lbs.keys():
                public_subnets.setdefault(_ref(cp.get("subnet"), "subnet"), set()).update(
                    pips | (from_backend or set()))
    for gw in b.items("Microsoft.Network/applicationGateways"):
        p = _props(gw)
        pips = _frontend_pips(gw)
        if pips:
            for cfg in _arr(p.get("gatewayIPConfigurations"), "gatewayIPConfigurations"):
                public_subnets.setdefault(_ref(_props(cfg).get("subnet"), "subnet"),
                                          set()).update(pips)
    out: dict[str, set[str]] = {}
    for sub, pips in public_subnets.items():
        if sub:
            out.setdefault(_parent(sub), set()).update(pips)
    return out


def _frontend_pips(lb: Mapping[str, Any]) -> set[str]:
    """The public IP ids of a load balancer's or application gateway's frontends."""
    return {pip for fe in _arr(_props(lb).get("frontendIPConfigurations"),
                               "frontendIPConfigurations")
            if (pip := _ref(_props(fe).get("publicIPAddress"), "publicIPAddress"))}


def ip_protected(b: Build, pip_ids: set[str]) -> bool:
    """Is every one of these public IPs covered by DDoS IP Protection, Azure's per-address
    DDoS protection SKU (`ddosSettings.protectionMode` Enabled, https://learn.microsoft.com/
    azure/ddos-protection/ddos-protection-sku-comparison)? A public IP not read is not."""
    if not pip_ids:
        return False
    for pip_id in pip_ids:
        raw = b.public_ip(pip_id)[2]
        if raw is None:
            return False
        mode = _obj(_props(raw).get("ddosSettings"), "ddosSettings").get("protectionMode")
        if lid(mode) != "enabled":
            return False
    return True


def networks(b: Build) -> None:
    public = public_vnets(b)
    for vnet in b.items("Microsoft.Network/virtualNetworks"):
        p = _props(vnet)
        prefixes = _arr(_obj(p.get("addressSpace"), "addressSpace").get("addressPrefixes"),
                        "addressPrefixes")
        props: dict[str, Any] = {"cidr": prefixes[0] if prefixes else None}
        if lid(vnet.get("id")) in public:
            # a DDoS protection plan on the VNet, or IP Protection on every public IP its
            # resources answer on
            props["ddos_protection"] = b.vnet_ddos(vnet) or ip_protected(
                b, public[lid(vnet.get("id"))])
        nid = b.add(Kind.NETWORK, vnet, props)
        for peering in _arr(p.get("virtualNetworkPeerings"), "virtualNetworkPeerings"):
            remote = _ref(_props(peering).get("remoteVirtualNetwork"), "remoteVirtualNetwork")
            state = _str(_props(peering).get("peeringState"), "peeringState")
            # traffic flows over a peering only once it is Connected: Initiated (one side
            # only) and Disconnected (the other side deleted) carry none (VirtualNetworkPeering
            # State, https://learn.microsoft.com/rest/api/virtualnetwork/virtual-network-
            # peerings/get, and "Peering status" in the virtual network peering docs), as only
            # an `active` VPC peering counts on AWS; no state given: counted (never a pass)
            if remote and (state is None or state.lower() == "connected"):
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
