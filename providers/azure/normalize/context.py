"""The one shared build context of the Azure normalizer: the section's objects by
collection and id, the resources and relations built so far, and the lookups several
service families share (subnets, public IPs, NIC owners, the NSG layers of a NIC)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from providers.azure.normalize.common import PROVIDER, _loc, _parent, _props, _ref, _tags, lid
from providers.azure.normalize.nsg import nsg_layers
from scanner.model import Kind, Relation, RelationType, Resource
from scanner.rules import RuleLayer
from scanner.snapshot import Section


class Build:
    def __init__(self, section: Section) -> None:
        self.s = section
        self.account = section.account
        self.resources: list[Resource] = []
        self.relations: list[Relation] = []
        self.ids: set[str] = set()
        self.by_id: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
        for name, regs in section.collections.items():
            for objs in regs.values():
                for obj in objs:
                    if obj.get("id"):
                        self.by_id[name][lid(obj["id"])] = obj
        self.protected_vault: dict[str, str] = {}  # VM id -> the vault protecting it

    def items(self, name: str) -> list[dict[str, Any]]:
        return self.s.items(name)

    def get(self, name: str, rid: str) -> Mapping[str, Any] | None:
        return self.by_id[name].get(rid)

    def collected(self, name: str) -> bool:
        return name in self.s.collections

    def add(self, kind: Kind, obj: Mapping[str, Any], properties: Mapping[str, Any],
            rid: str | None = None, name: str | None = None, region: str | None = None,
            native_type: str = "", labels: Mapping[str, str] | None = None) -> str:
        rid = rid or lid(obj.get("id"))
        if rid in self.ids:
            return rid
        self.ids.add(rid)
        self.resources.append(Resource(
            id=rid, kind=kind, provider=PROVIDER, account=self.account,
            name=name if name is not None else str(obj.get("name") or rid.rsplit("/", 1)[-1]),
            region=region if region is not None else _loc(obj),
            labels=labels if labels is not None else _tags(obj),
            properties=properties, raw=obj,
            native_type=native_type or str(obj.get("type") or ""),
        ))
        return rid

    def relate(self, source: str, target: str, rtype: RelationType, **attrs: Any) -> None:
        self.relations.append(Relation(source, target, rtype, attrs))

    def subnets(self) -> dict[str, Mapping[str, Any]]:
        out: dict[str, Mapping[str, Any]] = {}
        for vnet in self.items("Microsoft.Network/virtualNetworks"):
            for sub in _props(vnet).get("subnets") or []:
                out[lid(sub.get("id"))] = sub
        return out

    def vnet_ddos(self, vnet: Mapping[str, Any]) -> bool:
        p = _props(vnet)
        return bool(p.get("enableDdosProtection")) and bool(_ref(p.get("ddosProtectionPlan")))

    def ddos_of_subnet(self, subnet_id: str) -> bool | None:
        vnet = self.get("Microsoft.Network/virtualNetworks", _parent(subnet_id))
        return self.vnet_ddos(vnet) if vnet is not None else None

    def public_ip(self, pip_id: str) -> tuple[str | None, bool, Mapping[str, Any] | None]:
        """(address, standard SKU, raw) of a public IP id."""
        pip = self.get("Microsoft.Network/publicIPAddresses", pip_id)
        if pip is None:
            return None, True, None
        sku = lid((pip.get("sku") or {}).get("name") or "basic")
        addr = _props(pip).get("ipAddress")
        return (str(addr) if addr else None), sku == "standard", pip

    def public_fqdns(self, frontends: Iterable[Mapping[str, Any]]) -> list[str]:
        """The DNS names (`dnsSettings.fqdn`) of the public IPs of these frontend IP
        configurations, in order, without duplicates."""
        names: list[str] = []
        for fe in frontends:
            pip = self.public_ip(_ref(_props(fe).get("publicIPAddress")))[2] or {}
            fqdn = (_props(pip).get("dnsSettings") or {}).get("fqdn")
            if fqdn and str(fqdn) not in names:
                names.append(str(fqdn))
        return names

    def nic_layers(self, nic: Mapping[str, Any], standard: bool
                   ) -> tuple[tuple[RuleLayer, ...], list[str], str]:
        p = _props(nic)
        subnets = self.subnets()
        addresses: list[str] = []
        asgs: set[str] = set()
        subnet_id = ""
        for cfg in p.get("ipConfigurations") or []:
            cp = _props(cfg)
            if cp.get("privateIPAddress"):
                addresses.append(str(cp["privateIPAddress"]))
            asgs |= {_ref(a) for a in cp.get("applicationSecurityGroups") or []}
            subnet_id = subnet_id or _ref(cp.get("subnet"))
        sub = subnets.get(subnet_id)
        subnet_nsg_id = _ref(_props(sub).get("networkSecurityGroup")) if sub else ""
        nic_nsg_id = _ref(p.get("networkSecurityGroup"))
        nsgs = "Microsoft.Network/networkSecurityGroups"
        subnet_nsg = self.get(nsgs, subnet_nsg_id) if subnet_nsg_id else None
        nic_nsg = self.get(nsgs, nic_nsg_id) if nic_nsg_id else None
        if subnet_nsg_id and subnet_nsg is None:
            subnet_nsg = {"id": subnet_nsg_id}  # referenced but not read: default rules only
        if nic_nsg_id and nic_nsg is None:
            nic_nsg = {"id": nic_nsg_id}
        return nsg_layers(subnet_nsg, nic_nsg, standard, addresses, asgs), addresses, subnet_id

    def nic_owners(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for vm in self.items("Microsoft.Compute/virtualMachines"):
            for n in (_props(vm).get("networkProfile") or {}).get("networkInterfaces") or []:
                out[_ref(n)] = lid(vm.get("id"))
        for nic in self.items("Microsoft.Network/networkInterfaces"):
            owner = _ref(_props(nic).get("virtualMachine"))
            if owner:
                out.setdefault(lid(nic.get("id")), owner)
        return out

    def lb_frontends(self, lb: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for fe in _props(lb).get("frontendIPConfigurations") or []:
            addr, _, _ = self.public_ip(_ref(_props(fe).get("publicIPAddress")))
            if addr:
                out[lid(fe.get("id"))] = addr
        return out
