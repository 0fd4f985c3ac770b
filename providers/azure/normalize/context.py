"""The one shared build context of the Azure normalizer: the section's objects by
collection and id, the resources and relations built so far, and the lookups several
service families share (subnets, public IPs, NIC owners, the NSG layers of a NIC)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from providers.azure.normalize.common import (
    PROVIDER,
    _arr,
    _flag,
    _loc,
    _obj,
    _parent,
    _props,
    _ref,
    _str,
    _tags,
    lid,
)
from providers.azure.normalize.nsg import nsg_layers
from providers.azure.plan import BY_TYPE, LISTED
from scanner.model import PROPERTIES, Kind, Relation, RelationType, Resource, Unread
from scanner.rules import RuleLayer
from scanner.snapshot import GLOBAL, Section


class Build:
    def __init__(self, section: Section) -> None:
        self.s = section
        self.account = section.account
        self.resources: list[Resource] = []
        self.relations: list[Relation] = []
        self.ids: set[str] = set()
        self.by_id: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
        self.objects: dict[str, Mapping[str, Any]] = {}  # every object read, by id
        for name, regs in section.collections.items():
            for objs in regs.values():
                for obj in objs:
                    if obj.get("id"):
                        self.by_id[name][lid(obj["id"])] = obj
                        self.objects[lid(obj["id"])] = obj
        # Stand-ins: the resource list's objects of a list not read in full (plan.py):
        # iterated with that list's objects (`items`), found by id only for where they are
        # (`located`); every resource built from one, or under one (a model deployment of
        # an account), has all its properties unknown (`marked`).
        self.listed: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.listed_ids: dict[str, Mapping[str, Any]] = {}
        attempted = section.attempted()
        for obj in section.items(LISTED):
            if not isinstance(obj, dict):
                continue
            list_name = BY_TYPE.get(str(obj.get("type", "")).lower())
            if list_name is not None and list_name not in attempted and obj.get("id"):
                self.listed[list_name].append(obj)
                self.listed_ids[lid(obj["id"])] = obj
        self.protected_vault: dict[str, str] = {}  # VM id -> the vault protecting it
        self.unknown: dict[str, dict[str, Unread]] = defaultdict(dict)
        self.skipped: list[dict[str, str]] = []  # objects read but not judged, and why
        self._subnets: dict[str, Mapping[str, Any]] | None = None
        self._cfgs: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] | None = None

    def items(self, name: str) -> list[dict[str, Any]]:
        listed = self.listed.get(name)
        return self.s.items(name) + listed if listed else self.s.items(name)

    def located(self, name: str, rid: str) -> Mapping[str, Any] | None:
        """The object `rid` of list `name`, or its stand-in: for its name and location."""
        return self.by_id[name].get(rid) or self.listed_ids.get(rid)

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
        if self._subnets is None:
            self._subnets = {}
            for vnet in self.items("Microsoft.Network/virtualNetworks"):
                for sub in _arr(_props(vnet).get("subnets"), "subnets"):
                    self._subnets[lid(sub.get("id"))] = sub
        return self._subnets

    def skip(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        """An object that was read but becomes no resource: named in a NOT-ASSESSED skip
        finding (engine.not_assessed), never dropped in silence."""
        self.skipped.append({"id": lid(obj.get("id")), "type": str(obj.get("type") or ""),
                             "reason": reason, "message": message})

    def mark(self, rid: str, props: Iterable[str], unread: Unread) -> None:
        """Record that these properties of resource `rid` are not (fully) known."""
        for prop in props:
            self.unknown[rid][prop] = _merge(self.unknown[rid].get(prop), unread)

    def marked(self) -> list[Resource]:
        """The resources built, each with the `unknown` properties marked for it."""
        if self.listed_ids:
            for r in self.resources:
                stand_in = next((a for a in _ancestors(r.id) if a in self.listed_ids), None)
                if stand_in is not None:
                    self.mark(r.id, PROPERTIES, Unread(
                        f"only Resource Manager's resource list was read for {stand_in} "
                        "(its location and tags, no properties)", "not_collected"))
        return [replace(r, unknown={**r.unknown, **self.unknown[r.id]})
                if self.unknown.get(r.id) else r for r in self.resources]

    def errors_in(self, collection: str, region: str | None) -> list[dict[str, Any]]:
        """Failed reads of a per-parent collection that could concern a parent located in
        `region`: one made for a parent there (its `resource`), or a failure of the whole
        collection there or everywhere (`global`). Children of a parent in another region
        were read."""
        out = []
        for e in self.s.errors:
            if e.get("collection") != collection:
                continue
            where = e.get("region")
            parent = self.objects.get(lid(e.get("resource"))) if e.get("resource") else None
            if parent is not None:
                where = _loc(parent)
            if region is None or where in (None, GLOBAL) or where == region:
                out.append(e)
        return out

    def child_error(self, collection: str, parent_id: str) -> dict[str, Any] | None:
        """The failed read of `collection` for this parent: made for it, or a failure of the
        whole collection in its region (or everywhere)."""
        parent = self.objects.get(parent_id)
        for e in self.errors_in(collection, _loc(parent) if parent is not None else None):
            if not e.get("resource") or lid(e.get("resource")) == parent_id:
                return e
        return None

    def unread(self, collection: str, parent_id: str, what: str, opens: bool = True,
               closes: bool = True) -> Unread | None:
        """An Unread for `what` when the read of `collection` for this parent failed."""
        e = self.child_error(collection, parent_id)
        if e is None:
            return None
        return Unread(f"{what}: {collection} could not be read ({e.get('message')})",
                      str(e.get("reason") or "unknown"), opens=opens, closes=closes)

    def vnet_ddos(self, vnet: Mapping[str, Any]) -> bool:
        p = _props(vnet)
        return _flag(p.get("enableDdosProtection"), "enableDdosProtection") and bool(
            _ref(p.get("ddosProtectionPlan"), "ddosProtectionPlan"))

    def ddos_of_subnet(self, subnet_id: str) -> bool | None:
        vnet = self.get("Microsoft.Network/virtualNetworks", _parent(subnet_id))
        return self.vnet_ddos(vnet) if vnet is not None else None

    def public_ip(self, pip_id: str) -> tuple[str | None, bool, Mapping[str, Any] | None]:
        """(address, standard SKU, raw) of a public IP id (raw None: not in the list read).
        A public IP without `sku` is Basic, the API's default."""
        pip = self.get("Microsoft.Network/publicIPAddresses", pip_id)
        if pip is None:
            return None, True, None
        sku = lid(_str(_obj(pip.get("sku"), "sku").get("name"), "sku.name") or "basic")
        addr = _str(_props(pip).get("ipAddress"), "ipAddress")
        return (str(addr) if addr else None), sku == "standard", pip

    def public_fqdns(self, frontends: Iterable[Mapping[str, Any]]) -> list[str]:
        """The DNS names (`dnsSettings.fqdn`) of the public IPs of these frontend IP
        configurations, in order, without duplicates."""
        names: list[str] = []
        for fe in frontends:
            pip = self.public_ip(_ref(_props(fe).get("publicIPAddress"),
                                      "publicIPAddress"))[2] or {}
            fqdn = _obj(_props(pip).get("dnsSettings"), "dnsSettings").get("fqdn")
            if fqdn and str(fqdn) not in names:
                names.append(str(fqdn))
        return names

    def cfg_layers(self, nic: Mapping[str, Any], cfg: Mapping[str, Any], standard: bool,
                   any_address: bool = False
                   ) -> tuple[tuple[RuleLayer, ...], str, dict[str, Unread]]:
        """The NSG layers traffic to one IP configuration of a NIC crosses (its subnet's NSG,
        then the NIC's), its subnet id, and what of them could not be read: an NSG or subnet
        the NIC names that is not in the lists read (`ingress` unknown, never "no NSG").
        `standard`: the SKU of the public IP or load balancer the traffic arrives through
        decides what no NSG at all means (nsg_layers). `any_address`: the configuration's
        private address is not known (a scale set's model): every allow rule counts, a deny
        rule only when it covers every address."""
        p, cp = _props(nic), _props(cfg)
        nic_id = lid(nic.get("id"))
        addresses = [str(cp["privateIPAddress"])] if cp.get("privateIPAddress") else []
        asgs = {_ref(a) for a in _arr(cp.get("applicationSecurityGroups"),
                                      "applicationSecurityGroups")}
        subnet_id = _ref(cp.get("subnet"), "subnet")
        unknown: dict[str, Unread] = {}
        sub = self.subnets().get(subnet_id)
        nic_nsg_id = _ref(p.get("networkSecurityGroup"), "networkSecurityGroup")
        if subnet_id and sub is None:
            # Its NSG is unknown: with a NIC NSG it could only close the path, without one
            # it could open (Standard) or close (Basic) it.
            unknown["ingress"] = Unread(
                f"subnet {subnet_id} of NIC {nic_id} is not in the virtual networks read",
                "dangling", opens=not nic_nsg_id, closes=True)
        subnet_nsg_id = _ref(_props(sub).get("networkSecurityGroup"),
                             "networkSecurityGroup") if sub else ""
        nsgs = "Microsoft.Network/networkSecurityGroups"
        subnet_nsg = self.get(nsgs, subnet_nsg_id) if subnet_nsg_id else None
        nic_nsg = self.get(nsgs, nic_nsg_id) if nic_nsg_id else None
        for nsg_id, found, where in ((subnet_nsg_id, subnet_nsg, f"subnet {subnet_id}"),
                                     (nic_nsg_id, nic_nsg, f"NIC {nic_id}")):
            if nsg_id and found is None:
                # Kept as its default rules only (internet denied): the real rules could
                # only admit more.
                unknown["ingress"] = _merge(unknown.get("ingress"), Unread(
                    f"NSG {nsg_id} of {where} is not in the NSGs read", "dangling",
                    opens=True, closes=False))
        if subnet_nsg_id and subnet_nsg is None:
            subnet_nsg = {"id": subnet_nsg_id}
        if nic_nsg_id and nic_nsg is None:
            nic_nsg = {"id": nic_nsg_id}
        return (nsg_layers(subnet_nsg, nic_nsg, standard, None if any_address else addresses,
                           asgs), subnet_id, unknown)

    def cfgs(self) -> dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]]:
        """Every IP configuration of every NIC read: lower-cased id -> (NIC, configuration)."""
        if self._cfgs is None:
            self._cfgs = {}
            for nic in self.items("Microsoft.Network/networkInterfaces"):
                for cfg in _arr(_props(nic).get("ipConfigurations"), "ipConfigurations"):
                    self._cfgs[lid(cfg.get("id"))] = (nic, cfg)
        return self._cfgs

    def pool_members(self, lb: Mapping[str, Any], pool_id: str,
                     nic_key: str = "loadBalancerBackendAddressPools") -> set[str]:
        """IP configuration ids in a backend pool of `lb` (a load balancer or an application
        gateway): those the pool lists (`backendIPConfigurations`), those whose NIC names
        the pool (`nic_key`), and a load balancer's IP-based members
        (`loadBalancerBackendAddresses`: by their `networkInterfaceIPConfiguration`, else
        by private IP address in the member's virtual network). An IP-based member no NIC
        read holds is returned as "ip:<address>" (the caller names it unknown)."""
        out: set[str] = set()
        for pool in _arr(_props(lb).get("backendAddressPools"), "backendAddressPools"):
            if lid(pool.get("id")) != pool_id:
                continue
            pp = _props(pool)
            out |= {_ref(c) for c in _arr(pp.get("backendIPConfigurations"),
                                          "backendIPConfigurations")}
            for member in _arr(pp.get("loadBalancerBackendAddresses"),
                               "loadBalancerBackendAddresses"):
                mp = _props(member) if isinstance(member, Mapping) else {}
                cfg_ref = _ref(mp.get("networkInterfaceIPConfiguration"),
                               "networkInterfaceIPConfiguration")
                if cfg_ref:
                    out.add(cfg_ref)
                elif mp.get("ipAddress"):
                    found = self.cfg_by_address(str(mp["ipAddress"]),
                                                _ref(mp.get("virtualNetwork"), "virtualNetwork"))
                    out.add(found or f"ip:{mp['ipAddress']}")
        for cfg_id, (_, cfg) in self.cfgs().items():
            if pool_id in {_ref(x) for x in _arr(_props(cfg).get(nic_key), nic_key)}:
                out.add(cfg_id)
        return out - {""}

    def cfg_by_address(self, address: str, vnet_id: str = "") -> str | None:
        """The IP configuration holding a private address (in `vnet_id`, when given)."""
        for cfg_id, (_, cfg) in self.cfgs().items():
            cp = _props(cfg)
            if str(cp.get("privateIPAddress") or "").split("/")[0] != address:
                continue
            if vnet_id and not _ref(cp.get("subnet"), "subnet").startswith(vnet_id + "/"):
                continue
            return cfg_id
        return None

    def cfg_nat_rules(self) -> dict[str, set[str]]:
        """Inbound NAT rule id -> the IP configurations that name it."""
        out: dict[str, set[str]] = defaultdict(set)
        for cfg_id, (_, cfg) in self.cfgs().items():
            for rule in _arr(_props(cfg).get("loadBalancerInboundNatRules"),
                             "loadBalancerInboundNatRules"):
                out[_ref(rule)].add(cfg_id)
        return out

    def nic_owners(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for vm in self.items("Microsoft.Compute/virtualMachines"):
            network = _obj(_props(vm).get("networkProfile"), "networkProfile")
            for n in _arr(network.get("networkInterfaces"), "networkInterfaces"):
                out[_ref(n)] = lid(vm.get("id"))
        for nic in self.items("Microsoft.Network/networkInterfaces"):
            owner = _ref(_props(nic).get("virtualMachine"), "virtualMachine")
            if owner:
                out.setdefault(lid(nic.get("id")), owner)
        return out

    def lb_frontends(self, lb: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for fe in _arr(_props(lb).get("frontendIPConfigurations"), "frontendIPConfigurations"):
            addr, _, _ = self.public_ip(_ref(_props(fe).get("publicIPAddress"), "publicIPAddress"))
            if addr:
                out[lid(fe.get("id"))] = addr
        return out


def _merge(old: Unread | None, new: Unread) -> Unread:
    """Two reasons a property is not known: both named, either direction."""
    if old is None or old == new:
        return new
    why = old.why if new.why in old.why else f"{old.why}; {new.why}"
    return Unread(why, old.reason if old.reason == new.reason else "unknown",
                  opens=old.opens or new.opens, closes=old.closes or new.closes)


def _ancestors(rid: str) -> list[str]:
    """An ARM id and the ids of the resources it is nested in (`.../accounts/a/deployments/
    d` -> itself, `.../accounts/a`)."""
    parts = rid.split("/")
    return ["/".join(parts[:n]) for n in range(len(parts), 8, -2)]
