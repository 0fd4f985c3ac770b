"""Azure ARM JSON -> the provider-neutral model. Pure: no network.

What Azure means, written down once here so no check needs an Azure branch:

- Ids: every resource's id is its ARM resource id, lower-cased (ARM ids are
  case-insensitive and Azure returns them in mixed case); the subscription is
  `azure:<subscription-id>`.
- NSGs: inbound traffic to a NIC crosses the subnet's NSG, then the NIC's NSG; both must
  allow. Each NSG is an ORDERED layer: rules by priority, first match decides, then the
  default rules (65000 AllowVnetInBound, 65001 AllowAzureLoadBalancerInBound,
  65500 DenyAllInBound; synthesised when a hand-written NSG lacks them).
  Source service tags, from the internet's point of view: `Internet`, `*`, `Any`
  and `AzureCloud` (any Azure tenant can send from it) are 0.0.0.0/0 and ::/0;
  `VirtualNetwork`, `AzureLoadBalancer` and every other service tag (Microsoft's own
  services) are not the internet, so a rule naming only them never matches internet traffic.
  Application security groups as sources are not the internet either. A rule whose
  destination (prefixes or application security groups) does not cover the NIC is dropped.
- No NSG at all: a Standard-SKU public IP is closed ("secure by default": a layer with
  present=False and default deny); a Basic-SKU one is open (present=False, default allow).
  With one NSG (subnet or NIC) that NSG decides alone.
- A VM's exposure is that of the NIC holding its public IP (else its primary NIC). Inbound
  NAT rules of a public load balancer make the NAT'ed VM answer on the load balancer's
  address (added to its public_ips, filtered by its NSGs and a layer of the NAT'ed ports).
- Load balancers (layer 4) preserve the client address, so a backend is a target only if
  its own NSGs admit internet traffic on a backend port of the rules (evaluated here); the
  listener ports then forward the internet's sources (relation attr private=True).
  Application gateways terminate HTTP(S): listeners with protocol/port/target_port, HTTP
  listeners whose routing rule is a redirect to an HTTPS listener `redirects_to_https`,
  SSL policy -> min_tls, backends reached over the VNet (private=True).
- Public host names (`public_hostnames`, what the TLS probe connects to): a load balancer's
  or application gateway's are the `dnsSettings.fqdn` of its frontends' public IPs; an App
  Service's are its `hostNames` (custom domains and `*.azurewebsites.net`; the Kudu
  `*.scm.azurewebsites.net` names are left out).
- SQL/PostgreSQL/MySQL firewall rules are an allow-only `ingress` layer on the database
  port with `public_endpoint` = public network access enabled (and, for flexible servers,
  no VNet integration). 0.0.0.0-0.0.0.0 ("allow Azure services") admits any Azure tenant's
  address: it is treated as the internet.
- Encryption: managed disks, PostgreSQL/MySQL flexible servers and Recovery Services vaults
  are always encrypted at rest by the platform (evidence `provider`, with the document);
  storage accounts from their encryption settings; SQL databases from TDE state.
- Geo-redundancy: a GRS/RA-GRS/GZRS/RA-GZRS copy lives in the primary region's pair
  (storage's `secondaryLocation` when present, else scanner.regions' pair), and so do geo
  backups of SQL databases, flexible servers and GRS vaults; SQL geo-replicas add the
  partner's region.
- Images (VUL-01): a VM created from a Marketplace image is judged by that image version's
  `imageDeprecationStatus` (Microsoft.Compute VM image GET, for the VM's `exactVersion`):
  `Active` (or no status) is supported, `ScheduledForDeprecation` is deprecated from its
  `scheduledDeprecationTime`, `Deprecated` since that time (or, without one, since the
  collection). Custom and gallery images carry no vendor deprecation date: not judged.
- Key Vault keys (ENC-03) are customer-managed; a key rotates automatically when its
  `rotationPolicy` (Resource Manager's key GET; omitted when empty) has a `rotate` lifetime
  action.
- DDoS (NET-06): a VNet is a public entry point, judged for a DDoS protection plan, only when
  a resource in one of its subnets answers on a public IP: a NIC with a public IP
  configuration, an application gateway with a public frontend, or a backend of a public
  load balancer. A VNet with none has `ddos_protection` unset (not judged), as AWS and
  Hetzner networks.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

from providers.azure.apis import (
    CONTRIBUTOR,
    OWNER,
    SECRET_MARK,
    marketplace_image,
    secret_in,
)
from scanner import regions
from scanner.model import Inventory, Kind, Relation, RelationType, Resource
from scanner.provider import inventory
from scanner.redact import REDACTED, is_secret_name
from scanner.rules import INTERNET, Action, LayerMode, PortRange, Rule, RuleLayer, admitted
from scanner.snapshot import Section

PROVIDER = "azure"
DISK_DOC = ("https://learn.microsoft.com/azure/virtual-machines/disk-encryption (managed disks "
            "are encrypted at rest with 256-bit AES server-side encryption, always on)")
FLEX_DOC = ("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-security "
            "and .../mysql/flexible-server/concepts-security (data, backups and temporary "
            "files are always encrypted at rest with AES-256)")
VAULT_DOC = ("https://learn.microsoft.com/azure/backup/backup-encryption (backup data in "
             "Recovery Services vaults is always encrypted with AES-256)")
APPGW_TLS_DOC = ("https://learn.microsoft.com/azure/application-gateway/"
                 "application-gateway-ssl-policy-overview (predefined policy protocol ranges)")
INTERNET_TAGS = frozenset({"*", "any", "internet", "0.0.0.0/0", "::/0", "azurecloud"})
DEST_ANY = frozenset({"*", "any", "virtualnetwork"})
_PROTO = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "esp": "other", "ah": "other", "*": "*"}
DEFAULT_RULES = (
    {"name": "AllowVnetInBound", "properties": {
        "priority": 65000, "access": "Allow", "direction": "Inbound", "protocol": "*",
        "sourceAddressPrefix": "VirtualNetwork", "destinationAddressPrefix": "VirtualNetwork",
        "destinationPortRange": "*"}},
    {"name": "AllowAzureLoadBalancerInBound", "properties": {
        "priority": 65001, "access": "Allow", "direction": "Inbound", "protocol": "*",
        "sourceAddressPrefix": "AzureLoadBalancer", "destinationAddressPrefix": "*",
        "destinationPortRange": "*"}},
    {"name": "DenyAllInBound", "properties": {
        "priority": 65500, "access": "Deny", "direction": "Inbound", "protocol": "*",
        "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
        "destinationPortRange": "*"}},
)
APPGW_POLICIES = {  # predefined SSL policy -> lowest TLS version
    "appgwsslpolicy20150501": "1.0",
    "appgwsslpolicy20170401": "1.1",
    "appgwsslpolicy20170401s": "1.2",
    "appgwsslpolicy20220101": "1.2",
    "appgwsslpolicy20220101s": "1.2",
}
TLS_NAMES = {"tls1_0": "1.0", "tls1_1": "1.1", "tls1_2": "1.2", "tls1_3": "1.3",
             "tlsv1_0": "1.0", "tlsv1_1": "1.1", "tlsv1_2": "1.2", "tlsv1_3": "1.3",
             "1.0": "1.0", "1.1": "1.1", "1.2": "1.2", "1.3": "1.3",
             "tlsv1": "1.0", "tlsv1.1": "1.1", "tlsv1.2": "1.2", "tlsv1.3": "1.3"}
REDUNDANCY = {
    "lrs": "local", "zrs": "zone", "grs": "geo", "ragrs": "geo", "gzrs": "geo", "ragzrs": "geo",
    "local": "local", "zone": "zone", "geo": "geo", "geozone": "geo",
    "locallyredundant": "local", "zoneredundant": "zone", "georedundant": "geo",
}
DEPLOYMENT_SCOPE = {
    "standard": "regional", "provisionedmanaged": "regional",
    "datazonestandard": "data_zone", "datazoneprovisionedmanaged": "data_zone",
    "datazonebatch": "data_zone",
    "globalstandard": "global", "globalprovisionedmanaged": "global", "globalbatch": "global",
}
PRINCIPAL_TYPES = {"user": "user", "group": "group", "serviceprincipal": "service_principal",
                   "foreigngroup": "group", "device": "device"}
DB_PORTS = {"sql": 1433, "postgresql": 5432, "mysql": 3306}


def lid(value: Any) -> str:
    return str(value or "").lower()


def _props(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    p = obj.get("properties")
    return p if isinstance(p, Mapping) else {}


def _ref(value: Any) -> str:
    return lid(value.get("id")) if isinstance(value, Mapping) else ""


def _loc(obj: Mapping[str, Any]) -> str | None:
    loc = obj.get("location")
    return "".join(str(loc).lower().split()) if loc else None


def _pair(location: str | None) -> str | None:
    if not location:
        return None
    found = regions.find_region("azure", location)
    return found.pair if found else None


def _tags(obj: Mapping[str, Any]) -> dict[str, str]:
    tags = obj.get("tags") or {}
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}


def _tls(value: Any) -> str | None:
    return TLS_NAMES.get(lid(value).replace(" ", "")) if value else None


def _parent(rid: str, levels: int = 2) -> str:
    return "/".join(rid.split("/")[:-levels])


def _cidr(prefix: str) -> str | None:
    try:
        return str(ipaddress.ip_network(prefix.strip(), strict=False))
    except ValueError:
        return None


def _range_cidrs(start: str, end: str) -> tuple[str, ...]:
    """A firewall rule's address range as CIDRs; 0.0.0.0-0.0.0.0 ("allow Azure services")
    is any Azure tenant, i.e. the internet."""
    if start.strip() == "0.0.0.0" and end.strip() == "0.0.0.0":
        return INTERNET
    try:
        lo, hi = ipaddress.ip_address(start.strip()), ipaddress.ip_address(end.strip())
        if lo.version != hi.version or int(hi) < int(lo):
            return ()
        return tuple(str(n) for n in ipaddress.summarize_address_range(lo, hi))
    except ValueError:
        return ()


# --- NSGs -------------------------------------------------------------------------------------


def _list(props: Mapping[str, Any], single: str, many: str) -> list[str]:
    values = [str(v) for v in props.get(many) or []]
    if props.get(single) not in (None, ""):
        values.append(str(props[single]))
    return values


def _ports(props: Mapping[str, Any], protocol: str) -> list[PortRange]:
    if protocol not in ("tcp", "udp", "*"):
        return [PortRange(0, 65535)]
    specs = _list(props, "destinationPortRange", "destinationPortRanges") or ["*"]
    out = []
    for spec in specs:
        try:
            out.append(PortRange.parse(spec))
        except ValueError:
            continue
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
    return tuple(dict.fromkeys(out))


def _dest_matches(props: Mapping[str, Any], addresses: Iterable[str], asgs: set[str]) -> bool:
    dest_asgs = {_ref(a) for a in props.get("destinationApplicationSecurityGroups") or []}
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
        network = ipaddress.ip_network(net)
        for addr in addresses:
            try:
                if ipaddress.ip_address(addr) in network:
                    return True
            except ValueError:
                continue
    return False


def nsg_layer(nsg: Mapping[str, Any], name: str, addresses: Iterable[str] = (),
              asgs: set[str] | None = None) -> RuleLayer:
    """One NSG as an ORDERED layer of its inbound rules that can match internet traffic."""
    nsg_id = lid(nsg.get("id"))
    props = _props(nsg)
    addresses = list(addresses)
    defaults = props.get("defaultSecurityRules") or list(DEFAULT_RULES)
    rules: list[Rule] = []
    for raw in [*(props.get("securityRules") or []), *defaults]:
        rp = _props(raw)
        if lid(rp.get("direction")) != "inbound":
            continue
        sources = _sources(rp)
        if not sources or not _dest_matches(rp, addresses, asgs or set()):
            continue
        protocol = _PROTO.get(lid(rp.get("protocol")), "other")
        action = Action.ALLOW if lid(rp.get("access")) == "allow" else Action.DENY
        for ports in _ports(rp, protocol):
            rules.append(Rule(action, protocol, ports, sources, int(rp.get("priority") or 0),
                              origin=f"{nsg_id}/securityrules/{lid(raw.get('name'))}"))
    return RuleLayer(name, LayerMode.ORDERED, tuple(rules), Action.DENY, origin=(nsg_id,))


def nsg_layers(subnet_nsg: Mapping[str, Any] | None, nic_nsg: Mapping[str, Any] | None,
               standard_sku: bool, addresses: Iterable[str] = (),
               asgs: set[str] | None = None) -> tuple[RuleLayer, ...]:
    addresses = list(addresses)
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


# --- the builder ------------------------------------------------------------------------------


class _Builder:
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

    # --- networks ---------------------------------------------------------------------------

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

    def public_vnets(self) -> set[str]:
        """VNets (lower-cased ids) holding a resource that answers on a public IP: a NIC
        with a public IP, a backend NIC of a public load balancer, an application gateway
        with a public frontend."""
        public_lbs = {lid(lb.get("id")) for lb in self.items("Microsoft.Network/loadBalancers")
                      if self.lb_frontends(lb)}
        backend_nics: set[str] = set()
        for lb in self.items("Microsoft.Network/loadBalancers"):
            if lid(lb.get("id")) not in public_lbs:
                continue
            for pool in _props(lb).get("backendAddressPools") or []:
                for cfg in _props(pool).get("backendIPConfigurations") or []:
                    backend_nics.add(_ref(cfg).split("/ipconfigurations/")[0])
        public_subnets: set[str] = set()
        for nic in self.items("Microsoft.Network/networkInterfaces"):
            in_backend = lid(nic.get("id")) in backend_nics
            for cfg in _props(nic).get("ipConfigurations") or []:
                cp = _props(cfg)
                pools = {_parent(_ref(p)) for p in cp.get("loadBalancerBackendAddressPools")
                         or []}
                if cp.get("publicIPAddress") or in_backend or pools & public_lbs:
                    public_subnets.add(_ref(cp.get("subnet")))
        for gw in self.items("Microsoft.Network/applicationGateways"):
            p = _props(gw)
            if any(_ref(_props(fe).get("publicIPAddress"))
                   for fe in p.get("frontendIPConfigurations") or []):
                public_subnets.update(_ref(_props(cfg).get("subnet"))
                                      for cfg in p.get("gatewayIPConfigurations") or [])
        return {_parent(sub) for sub in public_subnets if sub}

    def networks(self) -> None:
        public_vnets = self.public_vnets()
        for vnet in self.items("Microsoft.Network/virtualNetworks"):
            p = _props(vnet)
            prefixes = (p.get("addressSpace") or {}).get("addressPrefixes") or []
            props: dict[str, Any] = {"cidr": prefixes[0] if prefixes else None}
            if lid(vnet.get("id")) in public_vnets:
                props["ddos_protection"] = self.vnet_ddos(vnet)
            nid = self.add(Kind.NETWORK, vnet, props)
            for peering in p.get("virtualNetworkPeerings") or []:
                remote = _ref(_props(peering).get("remoteVirtualNetwork"))
                if remote:
                    self.relate(nid, remote, RelationType.PEERED_WITH)
            for sub in p.get("subnets") or []:
                sp = _props(sub)
                sid = self.add(Kind.SUBNET, sub, {
                    "cidr": sp.get("addressPrefix") or next(iter(sp.get("addressPrefixes") or []),
                                                            None),
                }, region=_loc(vnet), labels={})
                self.relate(sid, nid, RelationType.MEMBER_OF)
                nsg_ref = _ref(sp.get("networkSecurityGroup"))
                if nsg_ref:
                    self.relate(sid, nsg_ref, RelationType.PROTECTED_BY, layer="subnet NSG")
        for nsg in self.items("Microsoft.Network/networkSecurityGroups"):
            layer = nsg_layer(nsg, "NSG", ("0.0.0.0",))
            self.add(Kind.FIREWALL, nsg, {"firewall_rules": [
                {"protocol": r.protocol, "ports": str(r.ports), "sources": list(r.sources),
                 "action": str(r.action), "priority": r.priority}
                for r in layer.ordered_rules()]})

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

    # --- machines ---------------------------------------------------------------------------

    def machines(self) -> None:
        nics = self.by_id["Microsoft.Network/networkInterfaces"]
        protected = self.protected_vms()
        nat = self.nat_targets()
        os_disks: dict[str, str] = {}  # disk id -> the VM it was created with (INV-01)
        for vm in self.items("Microsoft.Compute/virtualMachines"):
            vm_id = lid(vm.get("id"))
            p = _props(vm)
            public: list[str] = []
            private: list[str] = []
            chosen: tuple[Mapping[str, Any], bool] | None = None
            nic_ids = [_ref(n) for n in (p.get("networkProfile") or {}).get("networkInterfaces")
                       or []]
            subnet_ids = []
            for nic_id in nic_ids:
                nic = nics.get(nic_id)
                if nic is None:
                    continue
                for cfg in _props(nic).get("ipConfigurations") or []:
                    cp = _props(cfg)
                    if cp.get("privateIPAddress"):
                        private.append(str(cp["privateIPAddress"]))
                    pip_id = _ref(cp.get("publicIPAddress"))
                    if pip_id:
                        addr, standard, _ = self.public_ip(pip_id)
                        if addr:
                            public.append(addr)
                        if chosen is None:
                            chosen = (nic, standard)
            if chosen is None and nic_ids and nic_ids[0] in nics:
                chosen = (nics[nic_ids[0]], True)
            layers: tuple[RuleLayer, ...] = ()
            ddos: bool | None = None
            if chosen is not None:
                layers, _, subnet_id = self.nic_layers(*chosen)
                subnet_ids.append(subnet_id)
                ddos = self.ddos_of_subnet(subnet_id) if subnet_id else None
                nat_ports = nat.get(vm_id)
                if nat_ports:
                    lb_ips, ports = nat_ports
                    if not public:
                        layers = (port_layer("inbound NAT rules", ports, vm_id), *layers)
                    public.extend(ip for ip in lb_ips if ip not in public)
            storage = p.get("storageProfile") or {}
            os_profile = p.get("osProfile") or {}
            linux = os_profile.get("linuxConfiguration")
            props: dict[str, Any] = {
                "public_ips": public,
                "private_ips": private,
                "ingress": layers,
                "image": _image(storage.get("imageReference")),
                "stateful": bool(storage.get("dataDisks")),
                "plaintext_secrets": _vm_secrets(vm),
                "ddos_protection": ddos,
            }
            props.update(self.image_deprecation(vm))
            if isinstance(linux, Mapping):
                value = linux.get("disablePasswordAuthentication")
                props["ssh_key_only"] = bool(value) if value is not None else False
            if protected is not None:
                item = protected.get(vm_id)
                props["backup_enabled"] = item is not None
                if item is not None:
                    props["backup_frequency_hours"], props["backup_retention_days"] = item
                    props["backup_redundancy"], props["replica_regions"] = self.vault_redundancy(
                        self._protected_vault.get(vm_id, ""))
            self.add(Kind.COMPUTE, vm, props, rid=vm_id)
            for nic_id in nic_ids:
                for sid in subnet_ids:
                    if sid:
                        self.relate(vm_id, sid, RelationType.ATTACHED_TO)
                nic = nics.get(nic_id)
                if nic is not None:
                    nsg = _ref(_props(nic).get("networkSecurityGroup"))
                    if nsg:
                        self.relate(vm_id, nsg, RelationType.PROTECTED_BY, layer="NIC NSG")
            os_disk = _ref((storage.get("osDisk") or {}).get("managedDisk"))
            if os_disk:
                os_disks[os_disk] = str(vm.get("name") or vm_id.rsplit("/", 1)[-1])
            for disk in [storage.get("osDisk") or {}, *(storage.get("dataDisks") or [])]:
                disk_id = _ref(disk.get("managedDisk"))
                if disk_id:
                    self.relate(disk_id, vm_id, RelationType.ATTACHED_TO)
        for disk in self.items("Microsoft.Compute/disks"):
            p = _props(disk)
            enc = lid((p.get("encryption") or {}).get("type"))
            props = {
                "encrypted": True,
                "encryption_evidence": "provider" if enc in ("", "encryptionatrestwithplatformkey")
                else "config",
                "encryption_reference": DISK_DOC,
                "size_gb": p.get("diskSizeGB"),
            }
            owner = os_disks.get(lid(disk.get("id")))
            if owner is None and p.get("osType") and disk.get("managedBy"):
                owner = str(disk["managedBy"]).rstrip("/").rsplit("/", 1)[-1]
            if owner:  # created by its VM's os_disk block, deleted with the VM
                props["implicit"] = f"the OS disk of VM {owner}"
            did = self.add(Kind.VOLUME, disk, props)
            des = _ref((p.get("encryption") or {}).get("diskEncryptionSetId"))
            if des:
                self.relate(did, des, RelationType.ENCRYPTED_WITH)

    _protected_vault: dict[str, str]

    def image_deprecation(self, vm: Mapping[str, Any]) -> dict[str, str | None]:
        """`image_deprecated` of a VM: when the vendor deprecated its Marketplace image
        version (None: supported); no entry when not known (custom or gallery image, image
        version not read)."""
        image = marketplace_image(vm)
        if image is None:
            return {}
        location, publisher, offer, sku, version = image
        wanted = (f"/subscriptions/{self.account}/providers/microsoft.compute/locations/"
                  f"{location}/publishers/{publisher}/artifacttypes/vmimage/offers/{offer}/"
                  f"skus/{sku}/versions/{version}").lower()
        found = self.get("Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/"
                         "versions", wanted)
        if found is None:
            return {}
        status = _props(found).get("imageDeprecationStatus") or {}
        state = lid(status.get("imageState") or "active")
        when = status.get("scheduledDeprecationTime")
        if state == "active":
            return {"image_deprecated": None}
        if when:
            return {"image_deprecated": str(when)}
        # Deprecated without a date: deprecated by the time it was collected.
        return {"image_deprecated": self.s.collected_at if state == "deprecated" else None}

    def protected_vms(self) -> dict[str, tuple[int | None, int | None]] | None:
        """VM id -> (frequency hours, retention days) of its Azure Backup protection; None
        when protected items were not collected."""
        self._protected_vault = {}
        name = "Microsoft.RecoveryServices/vaults/backupProtectedItems"
        if not self.collected(name):
            return None
        policies = self.by_id["Microsoft.RecoveryServices/vaults/backupPolicies"]
        out: dict[str, tuple[int | None, int | None]] = {}
        for item in self.items(name):
            p = _props(item)
            source = lid(p.get("sourceResourceId") or p.get("virtualMachineId"))
            if not source or lid(p.get("protectionState")) in ("protectionstopped",):
                continue
            policy = policies.get(lid(p.get("policyId")))
            out[source] = _policy_schedule(policy)
            self._protected_vault[source] = lid(item.get("id")).split("/backupfabrics/")[0]
        return out

    def nat_targets(self) -> dict[str, tuple[list[str], list[tuple[str, int]]]]:
        """VM id -> (load balancer public IPs, NAT'ed (protocol, backend port))."""
        nic_vm = self.nic_owners()
        out: dict[str, tuple[list[str], list[tuple[str, int]]]] = {}
        for lb in self.items("Microsoft.Network/loadBalancers"):
            frontends = self.lb_frontends(lb)
            for rule in _props(lb).get("inboundNatRules") or []:
                rp = _props(rule)
                cfg = _ref(rp.get("backendIPConfiguration"))
                vm = nic_vm.get(cfg.split("/ipconfigurations/")[0]) if cfg else None
                ip = frontends.get(_ref(rp.get("frontendIPConfiguration")))
                if vm is None or not ip or rp.get("backendPort") is None:
                    continue
                protocol = _PROTO.get(lid(rp.get("protocol")), "tcp")
                entry = out.setdefault(vm, ([], []))
                if ip not in entry[0]:
                    entry[0].append(ip)
                for proto in (("tcp", "udp") if protocol == "*" else (protocol,)):
                    entry[1].append((proto, int(rp["backendPort"])))
        return out

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

    def vault_redundancy(self, vault_id: str) -> tuple[str | None, list[str]]:
        vault = self.get("Microsoft.RecoveryServices/vaults", vault_id)
        if vault is None:
            return None, []
        return _vault_redundancy(vault)

    # --- load balancers and application gateways ----------------------------------------------

    def lb_frontends(self, lb: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for fe in _props(lb).get("frontendIPConfigurations") or []:
            addr, _, _ = self.public_ip(_ref(_props(fe).get("publicIPAddress")))
            if addr:
                out[lid(fe.get("id"))] = addr
        return out

    def load_balancers(self) -> None:
        nic_vm = self.nic_owners()
        vms = self.by_id["Microsoft.Compute/virtualMachines"]
        nics = self.by_id["Microsoft.Network/networkInterfaces"]
        for lb in self.items("Microsoft.Network/loadBalancers"):
            lb_id = lid(lb.get("id"))
            p = _props(lb)
            frontends = self.lb_frontends(lb)
            rules = []
            for rule in p.get("loadBalancingRules") or []:
                rp = _props(rule)
                if _ref(rp.get("frontendIPConfiguration")) not in frontends:
                    continue
                proto = _PROTO.get(lid(rp.get("protocol")), "tcp")
                if rp.get("frontendPort") in (None, 0):
                    continue  # HA ports rule: internal load balancers only
                rules.append((rule, proto, int(rp["frontendPort"]),
                              int(rp.get("backendPort") or rp["frontendPort"])))
            ddos = False
            for fe in p.get("frontendIPConfigurations") or []:
                pip = self.public_ip(_ref(_props(fe).get("publicIPAddress")))[2] or {}
                mode = (_props(pip).get("ddosSettings") or {}).get("protectionMode")
                ddos = ddos or lid(mode) == "enabled"
            pools: dict[str, set[str]] = defaultdict(set)
            for nic in nics.values():
                for cfg in _props(nic).get("ipConfigurations") or []:
                    for pool in _props(cfg).get("loadBalancerBackendAddressPools") or []:
                        vm = nic_vm.get(lid(nic.get("id")))
                        if vm:
                            pools[_ref(pool)].add(vm)
            for pool in p.get("backendAddressPools") or []:
                for cfg in _props(pool).get("backendIPConfigurations") or []:
                    vm = nic_vm.get(_ref(cfg).split("/ipconfigurations/")[0])
                    if vm:
                        pools[lid(pool.get("id"))].add(vm)
            lid_ = self.add(Kind.LOAD_BALANCER, lb, {
                "public_ips": sorted(set(frontends.values())),
                "public_hostnames": self.public_fqdns(p.get("frontendIPConfigurations") or []),
                "private_ips": [str(_props(fe)["privateIPAddress"])
                                for fe in p.get("frontendIPConfigurations") or []
                                if _props(fe).get("privateIPAddress")],
                "ingress": (port_layer("load balancer rules",
                                       [(pr, fp) for _, pr, fp, _ in rules
                                        for pr in (("tcp", "udp") if pr == "*" else (pr,))],
                                       lb_id),),
                "waf": False,
                "ddos_protection": ddos or None,
            }, rid=lb_id)
            targets: set[str] = set()
            for rule, proto, fport, bport in rules:
                listener = self.add(Kind.LISTENER, rule, {
                    "protocol": "tcp" if proto in ("tcp", "*") else proto,
                    "port": fport, "target_port": bport, "redirects_to_https": False,
                }, name=f"{lb.get('name')}:{fport}/{proto}", region=_loc(lb), labels={})
                self.relate(listener, lid_, RelationType.MEMBER_OF)
                pool_ids = [_ref(x) for x in (_props(rule).get("backendAddressPools") or [])]
                pool_ids.append(_ref(_props(rule).get("backendAddressPool")))
                for pool_id in filter(None, pool_ids):
                    for vm_id in pools.get(pool_id, ()):
                        vm_obj = vms.get(vm_id)
                        if vm_obj is not None and self._vm_admits(vm_obj, bport):
                            targets.add(vm_id)
            for vm_id in sorted(targets):
                self.relate(lid_, vm_id, RelationType.TARGETS, private=True)

    def _vm_admits(self, vm: Mapping[str, Any], port: int) -> bool:
        """Does a load balancer backend's NSG path admit internet traffic on `port`? (Azure
        load balancers keep the client's address: the backend's NSGs filter it.)"""
        nics = self.by_id["Microsoft.Network/networkInterfaces"]
        for n in (_props(vm).get("networkProfile") or {}).get("networkInterfaces") or []:
            nic = nics.get(_ref(n))
            if nic is None:
                continue
            layers, _, _ = self.nic_layers(nic, True)
            layers = tuple(layer for layer in layers if layer.present)
            for exposure in admitted(layers):
                if exposure.protocol == "tcp" and port in exposure.ports:
                    return True
        return False

    def app_gateways(self) -> None:
        nic_vm = self.nic_owners()
        private_owner: dict[str, str] = {}
        for nic_id, vm in nic_vm.items():
            nic = self.get("Microsoft.Network/networkInterfaces", nic_id)
            for cfg in _props(nic or {}).get("ipConfigurations") or []:
                if _props(cfg).get("privateIPAddress"):
                    private_owner[str(_props(cfg)["privateIPAddress"])] = vm
        policies = self.by_id["Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies"]
        for gw in self.items("Microsoft.Network/applicationGateways"):
            gw_id = lid(gw.get("id"))
            p = _props(gw)
            public = []
            for fe in p.get("frontendIPConfigurations") or []:
                addr, _, _ = self.public_ip(_ref(_props(fe).get("publicIPAddress")))
                if addr:
                    public.append(addr)
            ports = {lid(fp.get("id")): int(_props(fp).get("port") or 0)
                     for fp in p.get("frontendPorts") or []}
            settings = {lid(s.get("id")): s for s in p.get("backendHttpSettingsCollection") or []}
            redirects = {lid(r.get("id")): r for r in p.get("redirectConfigurations") or []}
            listeners = {lid(h.get("id")): h for h in p.get("httpListeners") or []}
            profiles = {lid(s.get("id")): s for s in p.get("sslProfiles") or []}
            base_tls = _appgw_min_tls(p.get("sslPolicy"))
            subnet_nsg = None
            subnet_id = ""
            for cfg in p.get("gatewayIPConfigurations") or []:
                subnet_id = _ref(_props(cfg).get("subnet"))
                sub = self.subnets().get(subnet_id)
                nsg_id = _ref(_props(sub).get("networkSecurityGroup")) if sub else ""
                if nsg_id:
                    subnet_nsg = self.get("Microsoft.Network/networkSecurityGroups", nsg_id) or {
                        "id": nsg_id}
            waf_cfg = p.get("webApplicationFirewallConfiguration") or {}
            policy_id = _ref(p.get("firewallPolicy"))
            policy = policies.get(policy_id) if policy_id else None
            waf = bool(policy_id) or bool(waf_cfg.get("enabled"))
            if policy is not None:
                state = lid((_props(policy).get("policySettings") or {}).get("state"))
                waf = state != "disabled"
            rate_limit: bool | None = None
            if policy is not None:
                rate_limit = any(lid(_props(r).get("ruleType") or r.get("ruleType"))
                                 == "ratelimitrule"
                                 for r in (_props(policy).get("customRules") or []))
            elif waf:
                rate_limit = False if not policy_id else None
            else:
                rate_limit = False
            layers: list[RuleLayer] = [port_layer(
                "application gateway listeners",
                [("tcp", ports.get(_ref(_props(h).get("frontendPort")), 0))
                 for h in listeners.values()], gw_id)]
            if subnet_nsg is not None:
                layers.append(nsg_layer(subnet_nsg, "subnet NSG", ()))
            self.add(Kind.LOAD_BALANCER, gw, {
                "public_ips": public,
                "public_hostnames": self.public_fqdns(p.get("frontendIPConfigurations") or []),
                "private_ips": [str(_props(fe)["privateIPAddress"])
                                for fe in p.get("frontendIPConfigurations") or []
                                if _props(fe).get("privateIPAddress")],
                "ingress": tuple(layers),
                "waf": waf,
                "waf_rate_limit": rate_limit,
                "ddos_protection": self.ddos_of_subnet(subnet_id) if subnet_id else None,
            }, rid=gw_id)
            certs = self.appgw_certificates(gw)
            targets: set[str] = set()
            for rule in p.get("requestRoutingRules") or []:
                rp = _props(rule)
                listener = listeners.get(_ref(rp.get("httpListener")))
                if listener is None:
                    continue
                hp = _props(listener)
                protocol = lid(hp.get("protocol")) or "http"
                port = ports.get(_ref(hp.get("frontendPort")))
                setting = settings.get(_ref(rp.get("backendHttpSettings")))
                redirect = redirects.get(_ref(rp.get("redirectConfiguration")))
                redirects_https = False
                if redirect is not None:
                    target = listeners.get(_ref(_props(redirect).get("targetListener")))
                    redirects_https = target is not None and lid(
                        _props(target).get("protocol")) == "https"
                    url = str(_props(redirect).get("targetUrl") or "")
                    redirects_https = redirects_https or url.lower().startswith("https://")
                props: dict[str, Any] = {
                    "protocol": protocol,
                    "port": port,
                    "target_port": int(_props(setting).get("port") or 0) if setting else None,
                    "redirects_to_https": redirects_https and protocol == "http",
                }
                if protocol == "https":
                    profile = profiles.get(_ref(hp.get("sslProfile")))
                    tls = (_appgw_min_tls(_props(profile).get("sslPolicy"))
                           if profile is not None else base_tls)
                    props["min_tls"] = tls[0]
                    if tls[1]:
                        props["min_tls_reference"] = tls[1]
                props["implicit"] = f"an http_listener block of application gateway " \
                                    f"{gw.get('name')}"
                listener_id = self.add(Kind.LISTENER, listener, props,
                                       name=f"{gw.get('name')}/{listener.get('name')}",
                                       region=_loc(gw), labels={})
                self.relate(listener_id, gw_id, RelationType.MEMBER_OF)
                cert = _ref(hp.get("sslCertificate"))
                if cert in certs:
                    self.relate(listener_id, cert, RelationType.USES_CERTIFICATE)
                pool = next((b for b in p.get("backendAddressPools") or []
                             if lid(b.get("id")) == _ref(rp.get("backendAddressPool"))), None)
                for cfg in _props(pool or {}).get("backendIPConfigurations") or []:
                    owner = nic_vm.get(_ref(cfg).split("/ipconfigurations/")[0])
                    if owner:
                        targets.add(owner)
                for addr in _props(pool or {}).get("backendAddresses") or []:
                    owner = private_owner.get(str(addr.get("ipAddress")))
                    if owner:
                        targets.add(owner)
            for vm in sorted(targets):
                self.relate(gw_id, vm, RelationType.TARGETS, private=True)

    def appgw_certificates(self, gw: Mapping[str, Any]) -> set[str]:
        out = set()
        for cert in _props(gw).get("sslCertificates") or []:
            cp = _props(cert)
            secret = str(cp.get("keyVaultSecretId") or "")
            parts = secret.rstrip("/").split("/")
            versionless = len(parts) >= 2 and parts[-2] == "secrets"
            cid = self.add(Kind.CERTIFICATE, cert, {
                "managed_renewal": versionless,
                "not_after": _cert_not_after(cp.get("publicCertData")),
                "domains": [],
                "implicit": f"an ssl_certificate block of application gateway {gw.get('name')}",
            }, region=_loc(gw), labels={})
            out.add(cid)
        return out

    # --- data services ------------------------------------------------------------------------

    def storage(self) -> None:
        for acct in self.items("Microsoft.Storage/storageAccounts"):
            p = _props(acct)
            sku = lid((acct.get("sku") or {}).get("name")).split("_")[-1]
            redundancy = REDUNDANCY.get(sku)
            replicas: list[str] = []
            if redundancy == "geo":
                second = p.get("secondaryLocation") or _pair(_loc(acct))
                replicas = ["".join(str(second).lower().split())] if second else []
            services = (p.get("encryption") or {}).get("services") or {}
            blob = services.get("blob") or {}
            acls = p.get("networkAcls") or {}
            public = lid(p.get("publicNetworkAccess")) != "disabled"
            layer = None
            if lid(acls.get("defaultAction")) == "deny":
                rules = tuple(Rule(Action.ALLOW, "tcp", PortRange(443, 443),
                                   (c,), origin=lid(acct.get("id")))
                              for r in acls.get("ipRules") or []
                              if (c := _cidr(str(r.get("value") or r.get("iPAddressOrRange")
                                                 or ""))))
                layer = RuleLayer("storage firewall", LayerMode.UNION, rules, Action.DENY,
                                  origin=(lid(acct.get("id")),))
            props: dict[str, Any] = {
                "encrypted": bool(blob.get("enabled", True)) if services or p.get("encryption")
                else None,
                "encryption_evidence": "config",
                "min_tls": _tls(p.get("minimumTlsVersion")),
                "https_only": p.get("supportsHttpsTrafficOnly"),
                "public_endpoint": public,
                "backup_redundancy": redundancy,
                "replica_regions": replicas,
            }
            if layer is not None:
                props["ingress"] = (layer,)
            self.add(Kind.BUCKET, acct, props)

    def db_layer(self, rules_collection: str, server_id: str, port: int) -> RuleLayer:
        rules = []
        for rule in self.items(rules_collection):
            if _parent(lid(rule.get("id"))) != server_id:
                continue
            rp = _props(rule)
            sources = _range_cidrs(str(rp.get("startIpAddress") or ""),
                                   str(rp.get("endIpAddress") or ""))
            if sources:
                rules.append(Rule(Action.ALLOW, "tcp", PortRange(port, port), sources,
                                  origin=lid(rule.get("id"))))
        return RuleLayer("server firewall rules", LayerMode.UNION, tuple(rules), Action.DENY,
                         origin=(server_id,))

    def sql(self) -> None:
        tde = {_parent(lid(t.get("id"))): t for t in
               self.items("Microsoft.Sql/servers/databases/transparentDataEncryption")}
        strp = {_parent(lid(t.get("id"))): t for t in
                self.items("Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies")}
        links: dict[str, list[str]] = defaultdict(list)
        for link in self.items("Microsoft.Sql/servers/databases/replicationLinks"):
            partner = _props(link).get("partnerLocation")
            if partner:
                links[_parent(lid(link.get("id")))].append("".join(str(partner).lower().split()))
        servers = self.by_id["Microsoft.Sql/servers"]
        for db in self.items("Microsoft.Sql/servers/databases"):
            db_id = lid(db.get("id"))
            if db_id.endswith("/databases/master"):
                continue
            server_id = _parent(db_id)
            server = servers.get(server_id, {})
            sp, p = _props(server), _props(db)
            public = lid(sp.get("publicNetworkAccess") or "enabled") != "disabled"
            red = REDUNDANCY.get(lid(p.get("currentBackupStorageRedundancy")
                                     or p.get("requestedBackupStorageRedundancy")))
            replicas = list(links.get(db_id, []))
            if red == "geo" and (pair := _pair(_loc(db) or _loc(server))):
                replicas.insert(0, pair)
            t = tde.get(db_id)
            state = lid(_props(t).get("state") or _props(t).get("status")) if t else ""
            retention = _props(strp[db_id]).get("retentionDays") if db_id in strp else None
            self.add(Kind.DATABASE, db, {
                "public_endpoint": public,
                "ingress": (self.db_layer("Microsoft.Sql/servers/firewallRules", server_id,
                                          1433),),
                "public_ips": [],
                "min_tls": _tls(sp.get("minimalTlsVersion")) if sp else None,
                "encrypted": (state == "enabled") if t else None,
                "encryption_evidence": "config",
                "backup_enabled": True,
                "backup_retention_days": int(retention) if retention is not None else 7,
                "backup_frequency_hours": 24,
                "backup_redundancy": red,
                "replica_regions": list(dict.fromkeys(replicas)),
                "pitr_enabled": True,
            }, rid=db_id, name=f"{server.get('name') or server_id.rsplit('/', 1)[-1]}/"
                               f"{db.get('name')}")
            self.relate(db_id, server_id, RelationType.MEMBER_OF)

    def flexible(self, kind: str, servers: str, rules: str, configs: str, tls_param: str) -> None:
        conf = {_parent(lid(c.get("id"))): c for c in self.items(configs)}
        for srv in self.items(servers):
            sid = lid(srv.get("id"))
            p = _props(srv)
            network = p.get("network") or {}
            backup = p.get("backup") or {}
            delegated = bool(network.get("delegatedSubnetResourceId"))
            access = lid(network.get("publicNetworkAccess") or ("disabled" if delegated
                                                                  else "enabled"))
            geo = lid(backup.get("geoRedundantBackup")) == "enabled"
            c = conf.get(sid)
            tls = _tls(str(_props(c).get("value") or "").split(",")[0]) if c else None
            retention = backup.get("backupRetentionDays")
            self.add(Kind.DATABASE, srv, {
                "public_endpoint": access == "enabled" and not delegated,
                "ingress": (self.db_layer(rules, sid, DB_PORTS[kind]),),
                "public_ips": [],
                "min_tls": tls,
                "encrypted": True,
                "encryption_evidence": "provider",
                "encryption_reference": FLEX_DOC,
                "backup_enabled": True,
                "backup_retention_days": int(retention) if retention is not None else 7,
                "backup_frequency_hours": 24,
                "backup_redundancy": "geo" if geo else "local",
                "replica_regions": [pr] if geo and (pr := _pair(_loc(srv))) else [],
                "pitr_enabled": True,
            }, rid=sid)

    def key_vaults(self) -> None:
        for key in self.items("Microsoft.KeyVault/vaults/keys"):
            policy = _props(key).get("rotationPolicy") or {}
            rotates = any(lid((action.get("action") or {}).get("type")) == "rotate"
                          for action in policy.get("lifetimeActions") or []
                          if isinstance(action, Mapping))
            self.add(Kind.KEY, key, {"customer_managed": True, "rotation_enabled": rotates},
                     name=f"{_parent(lid(key.get('id'))).rsplit('/', 1)[-1]}/{key.get('name')}")
        for vault in self.items("Microsoft.KeyVault/vaults"):
            p = _props(vault)
            soft = p.get("enableSoftDelete")
            self.add(Kind.KEY_STORE, vault, {
                "soft_delete": bool(soft) if soft is not None else None,
                "purge_protection": bool(p.get("enablePurgeProtection")),
                "public_endpoint": lid(p.get("publicNetworkAccess") or "enabled") != "disabled",
            })

    def backup_vaults(self) -> None:
        for vault in self.items("Microsoft.RecoveryServices/vaults"):
            red, replicas = _vault_redundancy(vault)
            self.add(Kind.BACKUP_VAULT, vault, {
                "encrypted": True,
                "encryption_evidence": "provider",
                "encryption_reference": VAULT_DOC,
                "backup_redundancy": red,
                "replica_regions": replicas,
            })

    def web_apps(self) -> None:
        configs = {_parent(lid(c.get("id"))): c for c in self.items("Microsoft.Web/sites/config")}
        for site in self.items("Microsoft.Web/sites"):
            sid = lid(site.get("id"))
            p = _props(site)
            cfg = _props(configs.get(sid, {})) or (p.get("siteConfig") or {})
            secrets = sorted({f"siteConfig.appSettings.{s.get('name')}"
                              for s in cfg.get("appSettings") or []
                              if isinstance(s, Mapping) and _secret_value(s.get("value"))})
            hostnames = [str(h) for h in p.get("hostNames") or [p.get("defaultHostName")]
                         if h and not str(h).lower().endswith(".scm.azurewebsites.net")]
            self.add(Kind.APP_SERVICE, site, {
                "https_only": p.get("httpsOnly"),
                "public_hostnames": hostnames,
                "min_tls": _tls(cfg.get("minTlsVersion")),
                "public_endpoint": lid(p.get("publicNetworkAccess") or "enabled") != "disabled",
                "plaintext_secrets": secrets,
            }, rid=sid)

    def model_deployments(self) -> None:
        accounts = self.by_id["Microsoft.CognitiveServices/accounts"]
        for dep in self.items("Microsoft.CognitiveServices/accounts/deployments"):
            account = accounts.get(_parent(lid(dep.get("id"))), {})
            region = _loc(account)
            scope = DEPLOYMENT_SCOPE.get(lid((dep.get("sku") or {}).get("name")))
            zone = None
            if scope == "data_zone" and region and (found := regions.find_region("azure",
                                                                                   region)):
                zone = next((z for z in ("EU", "US") if z in found.jurisdictions), None)
            self.add(Kind.MODEL_DEPLOYMENT, dep, {
                "processing_scope": scope,
                "data_zone": zone,
                "public_endpoint": lid(_props(account).get("publicNetworkAccess")
                                       or "enabled") != "disabled",
            }, region=region, labels={**_tags(account), **_tags(dep)},
                name=f"{account.get('name')}/{dep.get('name')}")

    # --- the subscription ---------------------------------------------------------------------

    def subscription(self) -> None:
        sub = next(iter(self.items("Microsoft.Resources/subscriptions")), {})
        threat: list[str] | None = None
        if self.collected("Microsoft.Security/pricings"):
            tiers = [lid(_props(pr).get("pricingTier")) for pr in
                     self.items("Microsoft.Security/pricings")]
            threat = ["global"] if "standard" in tiers else []
        self.add(Kind.ACCOUNT, sub, {
            "regions": list(self.s.locations),
            "threat_detection_regions": threat,
        }, rid=f"azure:{self.account}", name=str(sub.get("displayName") or self.account),
            region=None, native_type="Microsoft.Resources/subscriptions")
        workspaces = self.by_id["Microsoft.OperationalInsights/workspaces"]
        storage = self.by_id["Microsoft.Storage/storageAccounts"]
        for setting in self.items("Microsoft.Insights/diagnosticSettings"):
            p = _props(setting)
            logs = p.get("logs") or []
            enabled = any(bool(entry.get("enabled")) for entry in logs)
            ws = workspaces.get(lid(p.get("workspaceId")))
            st = storage.get(lid(p.get("storageAccountId")))
            region = _loc(ws) if ws else (_loc(st) if st else None)
            retention = _props(ws).get("retentionInDays") if ws else None
            self.add(Kind.LOG_TRAIL, setting, {
                "multi_region": True,
                "logging_enabled": enabled and bool(
                    p.get("workspaceId") or p.get("storageAccountId") or p.get("eventHubName")
                    or p.get("eventHubAuthorizationRuleId")),
                "integrity_validation": None,
                "retention_days": int(retention) if retention is not None else None,
            }, region=region)
        sub_scope = f"/subscriptions/{self.account}".lower()
        grants: dict[str, dict[str, Any]] = {}
        for ra in self.items("Microsoft.Authorization/roleAssignments"):
            p = _props(ra)
            principal = lid(p.get("principalId"))
            if not principal:
                continue
            scope = lid(p.get("scope"))
            role = lid(p.get("roleDefinitionId")).rsplit("/", 1)[-1]
            at_sub = scope in (sub_scope, "/") or scope.startswith(
                "/providers/microsoft.management/managementgroups/")
            entry = grants.setdefault(principal, {"type": p.get("principalType"),
                                                  "admin": False, "raw": ra})
            entry["admin"] = entry["admin"] or (at_sub and role in (OWNER, CONTRIBUTOR))
        for principal, entry in sorted(grants.items()):
            self.add(Kind.IDENTITY, entry["raw"], {
                "principal_type": PRINCIPAL_TYPES.get(lid(entry["type"]), lid(entry["type"])
                                                      or "unknown"),
                "admin_grant": entry["admin"],
            }, rid=f"azure:{self.account}/principal/{principal}", name=principal, region=None,
                labels={}, native_type="Microsoft.Authorization/roleAssignments")

    def public_ip_resources(self) -> None:
        nic_vm = self.nic_owners()
        for pip in self.items("Microsoft.Network/publicIPAddresses"):
            pid = self.add(Kind.PUBLIC_IP, pip, {})
            cfg = _ref(_props(pip).get("ipConfiguration"))
            owner = nic_vm.get(cfg.split("/ipconfigurations/")[0]) if cfg else None
            if owner is None and "/loadbalancers/" in cfg:
                owner = cfg.split("/frontendipconfigurations/")[0]
            if owner is None and "/applicationgateways/" in cfg:
                owner = cfg.split("/frontendipconfigurations/")[0]
            if owner:
                self.relate(pid, owner, RelationType.ATTACHED_TO)


def _vault_redundancy(vault: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    p = _props(vault)
    setting = (p.get("redundancySettings") or {}).get("standardTierStorageRedundancy")
    red = REDUNDANCY.get(lid(setting)) if setting else None
    replicas = [pr] if red == "geo" and (pr := _pair(_loc(vault))) else []
    return red, replicas


def _policy_schedule(policy: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    if policy is None:
        return None, None
    p = _props(policy)
    schedule = p.get("schedulePolicy") or {}
    freq = lid(schedule.get("scheduleRunFrequency"))
    hours = {"daily": 24, "weekly": 168}.get(freq)
    if freq == "hourly":
        hours = int((schedule.get("hourlySchedule") or {}).get("interval") or 24)
    daily = (p.get("retentionPolicy") or {}).get("dailySchedule") or {}
    duration = daily.get("retentionDuration") or {}
    days = int(duration["count"]) if lid(duration.get("durationType")) == "days" and \
        duration.get("count") is not None else None
    return hours, days


def _image(ref: Any) -> str | None:
    if not isinstance(ref, Mapping):
        return None
    if ref.get("publisher"):
        return ":".join(str(ref.get(k) or "") for k in ("publisher", "offer", "sku", "version"))
    return lid(ref.get("id") or ref.get("sharedGalleryImageId")
               or ref.get("communityGalleryImageId")) or None


def _secret_value(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and (value == SECRET_MARK or secret_in(value))


def _vm_secrets(vm: Mapping[str, Any]) -> list[str]:
    p = _props(vm)
    found = []
    for path, holder, key in (("osProfile.customData", p.get("osProfile") or {}, "customData"),
                              ("userData", p, "userData")):
        value = holder.get(key)
        if isinstance(value, str) and value and value != REDACTED and _secret_value(value):
            found.append(path)
    for key in _tags(vm):
        if is_secret_name(key):
            found.append(f"tags.{key}")
    return found


def _appgw_min_tls(policy: Any) -> tuple[str | None, str]:
    """(lowest TLS version, documentation) of an application gateway SSL policy."""
    if not isinstance(policy, Mapping):
        return None, ""
    ptype = lid(policy.get("policyType"))
    if ptype == "predefined" or (not ptype and policy.get("policyName")):
        name = lid(policy.get("policyName"))
        return APPGW_POLICIES.get(name), APPGW_TLS_DOC if name in APPGW_POLICIES else ""
    if ptype in ("custom", "customv2"):
        return _tls(policy.get("minProtocolVersion")), ""
    return None, ""


def _cert_not_after(data: Any) -> str | None:
    """Expiry of the certificate in an application gateway's publicCertData (base64 PKCS#7
    or DER), as ISO 8601 UTC; None when absent or unreadable."""
    if not isinstance(data, str) or not data:
        return None
    try:
        raw = base64.b64decode(data)
    except (binascii.Error, ValueError):
        return None
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import pkcs7

        try:
            certs = pkcs7.load_der_pkcs7_certificates(raw)
        except ValueError:
            certs = [x509.load_der_x509_certificate(raw)]
    except Exception:
        return None
    if not certs:
        return None
    leaf = min(certs, key=lambda c: c.not_valid_after_utc)
    return leaf.not_valid_after_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize(section: Section) -> Inventory:
    b = _Builder(section)
    b.subscription()
    b.networks()
    b.machines()
    b.load_balancers()
    b.app_gateways()
    b.public_ip_resources()
    b.storage()
    b.sql()
    b.flexible("postgresql", "Microsoft.DBforPostgreSQL/flexibleServers",
               "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",
               "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
               "ssl_min_protocol_version")
    b.flexible("mysql", "Microsoft.DBforMySQL/flexibleServers",
               "Microsoft.DBforMySQL/flexibleServers/firewallRules",
               "Microsoft.DBforMySQL/flexibleServers/configurations", "tls_version")
    b.key_vaults()
    b.backup_vaults()
    b.web_apps()
    b.model_deployments()
    return inventory(PROVIDER, section, b.resources, b.relations)
