"""azurerm resources -> the model, as providers/azure/normalize.py builds it from ARM: the
same NSG semantics (the azure normalizer's own `nsg_layers` judges an ARM-shaped copy of
the planned NSGs), database firewall layers, storage and key vault properties.

Locations: `location` ("West Europe" and "westeurope" alike). Defaults where an attribute
is absent (azurerm 3.x and 4.x unless said): storage accounts `min_tls_version` TLS1_2
(since 3.0; TLS1_0 before), `https_traffic_only_enabled` true (`enable_https_traffic_only`
in 3.x), `public_network_access_enabled` true; storage encryption is always on (Azure
Storage service encryption cannot be disabled); mssql servers `minimum_tls_version` 1.2
(since 3.0; a plan holding it null was made without a default: unknown),
`public_network_access_enabled` true; mssql databases `transparent_data_encryption_enabled`
true, short-term retention 7 days, backup storage `Geo`; PostgreSQL flexible servers
`backup_retention_days` 7, `geo_redundant_backup_enabled` false, `ssl_min_protocol_version`
TLSv1.2 (the server's default parameter value), `require_secure_transport` ON; key vaults
soft delete always on (Azure enforces it), `purge_protection_enabled` false,
`public_network_access_enabled` true; Linux VMs `disable_password_authentication` true;
public IPs `sku` Standard (4.x; Basic in 3.x); App Service apps `https_only` false,
`site_config.minimum_tls_version` 1.2, `public_network_access_enabled` true.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from providers.azure.normalize import (
    DISK_DOC,
    FLEX_DOC,
    REDUNDANCY,
    _pair,
    _range_cidrs,
    _tls,
    nsg_layers,
)
from providers.azure.normalize.paths import combine
from providers.terraform import secrets
from providers.terraform.core import UNKNOWN_IP, Builder, Draft, Entry, World, labels_of
from scanner.model import Kind, RelationType, Unread
from scanner.rules import Action, LayerMode, PortRange, RuleLayer

CLOUD = "azure"
# A NIC in a load balancer's backend pool or NAT rule, or an application gateway's pool, is
# reached through that front end (azurerm docs, network_interface_*_association); load
# balancers and application gateways are not mapped from plans, so what reaches the VM
# through them is not known: its public IPs and ingress are unknown (opening only), as the
# live path marks a VM fronted by one it did not read (providers/azure/normalize/compute.py)
FRONTED = ("azurerm_network_interface_backend_address_pool_association",
           "azurerm_network_interface_nat_rule_association",
           "azurerm_network_interface_application_gateway_backend_address_pool_association")
# the same, named in a NIC's ip_configuration (azurerm 1.x) or a scale set's
FRONT_END_KEYS = ("load_balancer_backend_address_pools_ids", "load_balancer_inbound_nat_rules_ids",
                  "application_gateway_backend_address_pool_id",
                  "load_balancer_backend_address_pool_ids",
                  "application_gateway_backend_address_pool_ids")
TYPES = frozenset({
    "azurerm_storage_account", "azurerm_network_security_group",
    "azurerm_network_security_rule", "azurerm_network_interface",
    "azurerm_network_interface_security_group_association",
    "azurerm_subnet_network_security_group_association", "azurerm_subnet",
    "azurerm_public_ip", "azurerm_linux_virtual_machine", "azurerm_mssql_server",
    "azurerm_mssql_firewall_rule", "azurerm_mssql_database",
    "azurerm_postgresql_flexible_server", "azurerm_postgresql_flexible_server_firewall_rule",
    "azurerm_postgresql_flexible_server_configuration", "azurerm_key_vault",
    "azurerm_windows_virtual_machine", "azurerm_virtual_machine", "azurerm_sql_server",
    "azurerm_sql_firewall_rule", "azurerm_sql_database", "azurerm_mysql_flexible_server",
    "azurerm_mysql_flexible_server_firewall_rule", "azurerm_mysql_flexible_server_configuration",
    "azurerm_postgresql_server", "azurerm_postgresql_firewall_rule", "azurerm_mysql_server",
    "azurerm_mysql_firewall_rule", "azurerm_key_vault_key",
    "azurerm_linux_virtual_machine_scale_set", "azurerm_windows_virtual_machine_scale_set",
    "azurerm_virtual_machine_scale_set", *FRONTED, *secrets.WEB_APPS,
})
SCALE_SETS = ("azurerm_linux_virtual_machine_scale_set",
              "azurerm_windows_virtual_machine_scale_set", "azurerm_virtual_machine_scale_set")
VM_TYPES = ("azurerm_linux_virtual_machine", "azurerm_windows_virtual_machine",
            "azurerm_virtual_machine")
STORAGE_DOC = ("https://learn.microsoft.com/azure/storage/common/storage-service-encryption "
               "(Azure Storage encrypts all data at rest; it cannot be disabled)")
_ARM = {"name": "name", "priority": "priority", "direction": "direction", "access": "access",
        "protocol": "protocol", "source_address_prefix": "sourceAddressPrefix",
        "source_address_prefixes": "sourceAddressPrefixes",
        "destination_address_prefix": "destinationAddressPrefix",
        "destination_address_prefixes": "destinationAddressPrefixes",
        "destination_port_range": "destinationPortRange",
        "destination_port_ranges": "destinationPortRanges",
        "source_port_range": "sourcePortRange", "source_port_ranges": "sourcePortRanges"}
SOURCE_PORTS = frozenset({"source_port_range", "source_port_ranges"})
_WIDE = {"source_address_prefix": "*", "destination_port_range": "*", "priority": 100,
         "protocol": "*"}


# azurerm's words for "no minimum TLS version": mssql `minimum_tls_version = "Disabled"`
# (ARM minimalTlsVersion "None", which Azure SQL reads as "any TLS protocol version and
# unencrypted connections", providers/azure/normalize/databases.py sql_min_tls; azurerm
# docs: "Valid values are: 1.0, 1.1, 1.2 and Disabled"), the single servers'
# `ssl_minimal_tls_version_enforced = "TLSEnforcementDisabled"` (no minimum enforced), and
# ARM's own "None" / "0": TLS 1.0 admitted, below any floor, never "not known".
NO_MINIMUM_TLS = frozenset({"disabled", "none", "0", "tlsenforcementdisabled"})


def _min_tls(value: Any) -> str | None:
    """A TLS version argument -> the lowest TLS version accepted ("no minimum": 1.0)."""
    if isinstance(value, str) and value.strip().lower() in NO_MINIMUM_TLS:
        return "1.0"
    return _tls(value)


def _same(a: Any, b: Any) -> bool:
    """Two ARM names (known strings) equal, case-insensitively."""
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def location(e: Entry) -> str | None:
    loc = e.v("location")
    if not loc or e.unknown("location"):
        return None
    return "".join(str(loc).lower().split())


def _arm_rule(rule: Mapping[str, Any], unknown: set[str], widen: bool) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for tf, arm in _ARM.items():
        value = rule.get(tf)
        if value not in (None, "", []) and tf not in unknown:
            props[arm] = sorted(value) if isinstance(value, list) else value
    if widen:
        for tf in unknown:
            if tf.startswith("source_address"):
                props.pop("sourceAddressPrefixes", None)
                props["sourceAddressPrefix"] = "*"
            elif tf.startswith("destination_port"):
                props.pop("destinationPortRanges", None)
                props["destinationPortRange"] = "*"
            elif tf in _WIDE:
                props[_ARM[tf]] = _WIDE[tf]
    asgs = rule.get("destination_application_security_group_ids") or []
    if asgs:
        props["destinationApplicationSecurityGroups"] = [{"id": str(a)} for a in asgs]
    return {"name": str(rule.get("name") or ""), "properties": props}


def _rule_worlds(e: Entry, path: tuple[Any, ...], rule: Mapping[str, Any]
                 ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """An azurerm security rule as ARM JSON, in the most and the least exposed world."""
    unknown = {k for k in (*_ARM, "access") if e.unknown(*path, k)}
    if not unknown:
        arm = _arm_rule(rule, set(), False)
        return arm, arm
    access = str(rule.get("access") or "")
    if "access" in unknown:
        allow = _arm_rule({**rule, "access": "Allow"}, unknown - {"access"}, True)
        deny = _arm_rule({**rule, "access": "Deny"}, unknown - {"access"}, True)
        return allow, deny
    widened = _arm_rule(rule, unknown, True)
    if access.lower() == "allow":
        # clients pick their source ports: an allow rule admits whatever source ports it
        # names (providers/azure/normalize/nsg.py reads them only on deny rules), so source
        # ports known only after apply leave it in both worlds
        return widened, (widened if unknown <= SOURCE_PORTS else None)
    return None, widened


class _Azure:
    def __init__(self, b: Builder) -> None:
        self.b = b
        self.ix = b.index
        self.rules: dict[str, list[Entry]] = defaultdict(list)
        self.loose: list[Entry] = []  # rules of an NSG not in the plan
        nsgs = self.ix.of_type("azurerm_network_security_group")
        for r in self.ix.of_type("azurerm_network_security_rule"):
            hits, _ = self.ix.resolve(r, r.refs("network_security_group_name"),
                                      ["azurerm_network_security_group"])
            if not hits:
                # by name in its resource group; ARM names and resource group names are
                # case-insensitive (https://learn.microsoft.com/azure/azure-resource-manager/
                # management/resource-name-rules: "Resource names are case-insensitive")
                hits = [n for n in nsgs if _same(n.v("name"), r.v("network_security_group_name"))
                        and _same(n.v("resource_group_name"), r.v("resource_group_name"))]
            for nsg in hits:
                self.rules[nsg.address].append(r)
            if not hits:
                self.loose.append(r)

    def rid(self, e: Entry, suffix: str = "") -> str:
        return self.b.rid(CLOUD, e, suffix)

    def labels(self, e: Entry) -> dict[str, str]:
        return labels_of(e, "tags")

    # --- NSGs -----------------------------------------------------------------------------

    def arm_nsg(self, nsg: Entry) -> tuple[dict[str, Any], dict[str, Any]]:
        most: list[dict[str, Any]] = []
        least: list[dict[str, Any]] = []
        # `security_rule` is Optional and Computed (ConfigMode attr): refreshed, it lists the
        # rules separate azurerm_network_security_rule resources wrote, as they were before
        # the plan. A separate rule of the same name wins (ARM rule names are unique in an
        # NSG, case-insensitively); while the plan deletes a separate rule (its values not
        # kept), any other refreshed rule may be about to go: an allow only in the most
        # exposed world, a deny only in the least (azurerm docs, network_security_group:
        # "defining security rules inline and as separate resources at the same time ...
        # will cause a conflict of rule settings")
        separate = {str(r.v("name") or "").lower() for r in self.rules.get(nsg.address, [])}
        doubt = "azurerm_network_security_rule" in self.b.deleted_types and bool(
            nsg.expr) and "security_rule" not in nsg.expr
        sources: list[tuple[Entry, tuple[Any, ...], Mapping[str, Any]]] = [
            (nsg, ("security_rule", i), r) for i, r in enumerate(nsg.v("security_rule") or [])
            if isinstance(r, Mapping) and str(r.get("name") or "").lower() not in separate]
        doubtful = {id(r) for _, _, r in sources} if doubt else set()
        sources += [(r, (), r.values) for r in self.rules.get(nsg.address, [])]
        if nsg.rules_unknown("security_rule", bool(self.rules.get(nsg.address))) or any(
                nsg.wholly_unknown("security_rule", i) and not isinstance(r, Mapping)
                for i, r in enumerate(nsg.v("security_rule") or [])):
            most.append(_arm_rule({"access": "Allow", "direction": "Inbound"},
                                  {"source_address_prefix", "destination_port_range",
                                   "priority", "protocol"}, True))
        for e, path, rule in sources:
            a, b = _rule_worlds(e, path, rule)
            if id(rule) in doubtful and not e.unknown(*path, "access"):
                allow = str(rule.get("access") or "").lower() == "allow"
                a, b = (a, None) if allow else (None, b)
            if a is not None:
                most.append(a)
            if b is not None:
                least.append(b)
        nid = self.rid(nsg)
        return ({"id": nid, "properties": {"securityRules": most}},
                {"id": nid, "properties": {"securityRules": least}})

    def firewalls(self) -> None:
        for nsg in self.ix.of_type("azurerm_network_security_group"):
            # both worlds, as for every other firewall (docs/terraform.md, "Rules without
            # machines"): a rule known only after apply makes NET-07 `error` unless the
            # verdict is the same whatever it turns out to be
            world = World()
            most_rules, least_rules = ([
                {"protocol": r.protocol, "ports": str(r.ports), "sources": list(r.sources),
                 "action": str(r.action), "priority": r.priority}
                for r in nsg_layers(arm, None, True, None)[0].rules]
                for arm in self.arm_nsg(nsg))
            world.set("firewall_rules", most_rules, least_rules)
            self.b.add(nsg, Kind.FIREWALL, CLOUD, world,
                       name=nsg.name(nsg.v("name")), region=location(nsg),
                       labels=self.labels(nsg), deps=self.rules.get(nsg.address, []))
        for r in self.loose:
            # A rule added to an NSG the plan does not hold (an existing NSG named by its
            # name): judged as a firewall of its own (with the NSG's default rules), so that
            # what it admits is a finding (NET-07); the NSG's subnets and NICs are judged live.
            loose = World()
            most_rules, least_rules = ([
                {"protocol": x.protocol, "ports": str(x.ports), "sources": list(x.sources),
                 "action": str(x.action), "priority": x.priority}
                for x in nsg_layers({"id": self.rid(r), "properties": {
                    "securityRules": [arm] if arm else []}}, None, True, None)[0].rules]
                for arm in _rule_worlds(r, (), r.values))
            loose.set("firewall_rules", most_rules, least_rules)
            nsg_name = r.v("network_security_group_name") or "a network security group"
            self.b.add(r, Kind.FIREWALL, CLOUD, loose,
                       name=f"{r.address} (rule of {nsg_name} not in the plan)", region=None)

    def entry_paths(self, s_opts: list[Entry | None], n_opts: list[Entry | None],
                    standard: bool, private: list[str] | None
                    ) -> tuple[list[tuple[RuleLayer, ...]], tuple[RuleLayer, ...]]:
        """(most exposed paths, least exposed path) of one entry (an IP configuration with a
        public IP) whose subnet NSG may be any of `s_opts` and NIC NSG any of `n_opts` (None:
        no NSG there). More than one: a reference naming no instance key
        (`azurerm_subnet.x[count.index].id`: any instance of azurerm_subnet.x may be the one,
        not the first only); the most exposed world has a path per choice, the least exposed
        one every choice's layers in a row (only what all of them admit)."""
        def layers(s: Entry | None, n: Entry | None, world: int) -> tuple[RuleLayer, ...]:
            s_w = self.arm_nsg(s) if s else None
            n_w = self.arm_nsg(n) if n else None
            return nsg_layers(s_w[world] if s_w else None, n_w[world] if n_w else None,
                              standard, private)
        choices = [(sn, nn) for sn in s_opts for nn in n_opts]
        most = [layers(sn, nn, 0) for sn, nn in choices]
        least = tuple(layer for sn, nn in choices for layer in layers(sn, nn, 1))
        return most, least

    # --- machines ---------------------------------------------------------------------------

    def machines(self) -> None:
        nic_nsg: dict[str, list[tuple[Entry, Entry]]] = defaultdict(list)
        for a in self.ix.of_type("azurerm_network_interface_security_group_association"):
            for nic in self.ix.targets(a, "network_interface_id",
                                       ["azurerm_network_interface"])[0]:
                nic_nsg[nic.address].extend((a, n) for n in self.ix.targets(
                    a, "network_security_group_id", ["azurerm_network_security_group"])[0])
        subnet_nsg: dict[str, list[tuple[Entry, Entry]]] = defaultdict(list)
        for a in self.ix.of_type("azurerm_subnet_network_security_group_association"):
            for sub in self.ix.targets(a, "subnet_id", ["azurerm_subnet"])[0]:
                subnet_nsg[sub.address].extend((a, n) for n in self.ix.targets(
                    a, "network_security_group_id", ["azurerm_network_security_group"])[0])
        fronted: dict[str, list[Entry]] = defaultdict(list)  # NIC address -> associations
        for a in self.ix.of_type(*FRONTED):
            for nic in self.ix.targets(a, "network_interface_id",
                                       ["azurerm_network_interface"])[0]:
                fronted[nic.address].append(a)
        for vm in self.ix.of_type(*VM_TYPES):
            nics, nic_unknown = self.ix.targets(vm, "network_interface_ids",
                                                ["azurerm_network_interface"])
            fronts = [a for nic in nics for a in fronted.get(nic.address, [])]
            fronts_legacy = [nic for nic in nics for i, cfg in enumerate(
                nic.v("ip_configuration") or []) if isinstance(cfg, Mapping) and any(
                cfg.get(k) or nic.unknown("ip_configuration", i, k) for k in FRONT_END_KEYS)]
            world = World()
            public: list[str] = []
            public_least: list[str] = []
            private: list[str] = []
            # every IP configuration with a public IP is an entry path, judged against its
            # own NIC's and subnet's NSGs, as the live path does (providers/azure/normalize/
            # compute.py `_exposure`): "each NIC ... can be associated with a public IP"
            # (https://learn.microsoft.com/azure/virtual-network/ip-services/
            # virtual-network-network-interface-addresses), so a second NIC whose NSG
            # admits 22 exposes the VM whatever the first NIC's NSG says
            entries: list[tuple[Entry, bool, int, bool]] = []  # nic, standard, cfg, certain
            deps: list[Entry] = [*nics]
            for nic in nics:
                for i, cfg in enumerate(nic.v("ip_configuration") or []):
                    if not isinstance(cfg, Mapping):
                        continue
                    if cfg.get("private_ip_address") and not nic.unknown(
                            "ip_configuration", i, "private_ip_address"):
                        private.append(str(cfg["private_ip_address"]))
                    pips, pip_unknown = self.ix.targets(
                        nic, ("ip_configuration", i, "public_ip_address_id"),
                        ["azurerm_public_ip"])
                    deps.extend(pips)
                    for pip in pips:
                        addr = pip.v("ip_address")
                        text = str(addr) if addr and not pip.unknown("ip_address") else \
                            UNKNOWN_IP.format(what=f"address of {pip.address}")
                        public.append(text)
                        public_least.append(text)
                        entries.append((nic, str(pip.v("sku", default="Standard")).lower()
                                        == "standard", i, True))
                    if pip_unknown and not pips:
                        public.append(UNKNOWN_IP.format(what=f"public IP of {nic.address}"))
                        entries.append((nic, False, i, False))
            if not entries and nics:  # no public path: the first configuration's layers
                entries.append((nics[0], True, 0, True))
            most_layers: tuple[RuleLayer, ...] = ()
            least_layers: tuple[RuleLayer, ...] = ()
            most_paths: list[tuple[RuleLayer, ...]] = []
            least_paths: list[tuple[bool, tuple[RuleLayer, ...]]] = []
            for nic, standard, i, certain in dict.fromkeys(entries):
                subs = self.ix.targets(nic, ("ip_configuration", i, "subnet_id"),
                                       ["azurerm_subnet"])[0]
                s_nsgs = [n for sub in subs for _, n in subnet_nsg.get(sub.address, [])]
                n_nsgs = [n for _, n in nic_nsg.get(nic.address, [])]
                deps += [*subs, *s_nsgs, *n_nsgs,
                         *(a for sub in subs for a, _ in subnet_nsg.get(sub.address, [])),
                         *(a for a, _ in nic_nsg.get(nic.address, []))]
                deps += [r for n in [*s_nsgs, *n_nsgs] for r in self.rules.get(n.address, [])]
                # each subnet the configuration may name, with its NSG or none
                none: list[Entry | None] = [None]
                s_opts = list(dict.fromkeys(
                    n for sub in subs for n in ([n for _, n in subnet_nsg.get(sub.address, [])]
                                                or none))) or none
                n_opts: list[Entry | None] = [*dict.fromkeys(n_nsgs)] or none
                most_of, least_of = self.entry_paths(s_opts, n_opts, standard, private)
                most_paths.extend(most_of)
                # the least exposed world has only the public IPs known to exist
                least_paths.append((certain, least_of))
            if most_paths:
                most_layers = combine(most_paths)
                least_layers = combine([p for c, p in least_paths if c]
                                       or [least_paths[0][1]])
            deps = list(dict.fromkeys(deps))
            if nic_unknown:
                most_layers = (RuleLayer("network interface not in the plan", LayerMode.UNION,
                                         (), Action.ALLOW, present=False),)
                public.append(UNKNOWN_IP.format(what=f"public IP of {vm.address}"))
            world.set("public_ips", public, public_least)
            world.set("ingress", most_layers, least_layers)
            world.props["private_ips"] = private
            ref = (vm.v("source_image_reference") or vm.v("storage_image_reference")
                   or [{}])[0]
            if isinstance(ref, Mapping) and ref.get("publisher"):
                world.props["image"] = ":".join(str(ref.get(k) or "") for k in (
                    "publisher", "offer", "sku", "version"))
            elif vm.v("source_image_id"):
                world.props["image"] = str(vm.v("source_image_id")).lower()
            world.props["stateful"] = bool(vm.v("storage_data_disk"))
            if vm.type == "azurerm_linux_virtual_machine":
                world.props["ssh_key_only"] = None if vm.unknown(
                    "disable_password_authentication") else bool(
                    vm.v("disable_password_authentication", default=True))
            elif vm.type == "azurerm_virtual_machine" and vm.v("os_profile_linux_config"):
                # legacy VM: `disable_password_authentication` is required in the block
                world.props["ssh_key_only"] = None if vm.unknown(
                    "os_profile_linux_config") else bool(
                    ((vm.v("os_profile_linux_config") or [{}])[0] or {}).get(
                        "disable_password_authentication"))
            elif (vm.type == "azurerm_virtual_machine" and not vm.v("os_profile")
                  and not vm.v("os_profile_windows_config")
                  and str(((vm.v("storage_os_disk") or [{}])[0] or {}).get("os_type")
                          or "").lower() != "windows"):
                # legacy VM on an attached (specialized) OS disk: no OS profile, its SSH
                # settings are in the disk: unknown, as on the live path (compute.py)
                world.props["ssh_key_only"] = None
            # Windows: no SSH (IAM-03 does not apply), as on the live path
            secrets.judge(self.b, self.rid(vm), world, [vm])
            vid = self.b.add(vm, Kind.COMPUTE, CLOUD, world, name=vm.name(vm.v("name")),
                             region=location(vm), labels=self.labels(vm),
                             deps=[*deps, *fronts])
            whys = [f"{a.address}: a load balancer or application gateway reaches its "
                    "network interface (not mapped from plans)" for a in fronts] + [
                f"{n.address}: in a load balancer or application gateway pool (not mapped "
                "from plans)" for n in fronts_legacy]
            if whys:
                self.b.mark(vid, ("public_ips", "ingress"), Unread(
                    whys[0], "dangling", opens=True, closes=False))
            disk = self.b.add(vm, Kind.VOLUME, CLOUD, {
                "encrypted": True, "encryption_evidence": "provider",
                "encryption_reference": DISK_DOC,
                "size_gb": ((vm.v("os_disk") or vm.v("storage_os_disk") or [{}])[0]
                            or {}).get("disk_size_gb"),
            }, name=f"{vm.v('name') or vm.address}/os_disk", region=location(vm),
                labels=self.labels(vm), suffix="/os_disk")
            self.b.relate(disk, vid, RelationType.ATTACHED_TO)

    def scale_sets(self) -> None:
        """azurerm_linux/windows_virtual_machine_scale_set (and the legacy
        azurerm_virtual_machine_scale_set): one compute resource for the set's instances,
        as they are all built from its `network_interface` blocks: an instance public IP
        per `ip_configuration.public_ip_address` block (Standard SKU), the block's
        `network_security_group_id` (NIC NSG) and its subnet's NSG association."""
        subnet_nsg: dict[str, list[Entry]] = defaultdict(list)
        for a in self.ix.of_type("azurerm_subnet_network_security_group_association"):
            for sub in self.ix.targets(a, "subnet_id", ["azurerm_subnet"])[0]:
                subnet_nsg[sub.address].extend(self.ix.targets(
                    a, "network_security_group_id", ["azurerm_network_security_group"])[0])
        for ss in self.ix.of_type(*SCALE_SETS):
            world = World()
            public: list[str] = []
            public_least: list[str] = []
            deps: list[Entry] = []
            most_layers: tuple[RuleLayer, ...] = ()
            least_layers: tuple[RuleLayer, ...] = ()
            block = "network_profile" if ss.type == "azurerm_virtual_machine_scale_set" \
                else "network_interface"
            nics = [n for n in ss.v(block) or [] if isinstance(n, Mapping)]
            if ss.wholly_unknown(block):
                public.append(UNKNOWN_IP.format(what=f"public IPs of {ss.address}"))
                most_layers = (RuleLayer("network interfaces unknown until apply",
                                         LayerMode.UNION, (), Action.ALLOW, present=False),)
            chosen = next((i for i, n in enumerate(nics) if n.get("primary")), 0)
            # every IP configuration with an instance public IP is an entry path with its
            # own NIC's NSG and subnet (as for a VM: every NIC, not the primary one only)
            paths: list[tuple[int, int, bool]] = []  # nic, ip configuration, certain
            for i, nic in enumerate(nics):
                for j, cfg in enumerate(nic.get("ip_configuration") or []):
                    if not isinstance(cfg, Mapping):
                        continue
                    pips = cfg.get("public_ip_address") or cfg.get(
                        "public_ip_address_configuration") or []
                    if pips or ss.unknown(block, i, "ip_configuration", j, "public_ip_address"):
                        text = UNKNOWN_IP.format(what=f"instance public IPs of {ss.address}")
                        public.append(text)
                        if pips:
                            public_least.append(text)
                        paths.append((i, j, bool(pips)))
            if nics and not most_layers:
                if not paths:  # no public path: the primary NIC's layers, for the record
                    paths = [(min(chosen, len(nics) - 1), 0, True)]
                most_paths: list[tuple[RuleLayer, ...]] = []
                least_paths: list[tuple[RuleLayer, ...]] = []
                for i, j, certain in paths:
                    nsgs, nsg_unknown = self.ix.targets(
                        ss, (block, i, "network_security_group_id"),
                        ["azurerm_network_security_group"])
                    subs = self.ix.targets(ss, (block, i, "ip_configuration", j, "subnet_id"),
                                           ["azurerm_subnet"])[0]
                    s_nsgs = [n for sub in subs for n in subnet_nsg.get(sub.address, [])]
                    deps += [*nsgs, *subs, *s_nsgs]
                    deps += [r for n in [*nsgs, *s_nsgs] for r in self.rules.get(n.address, [])]
                    # every subnet the configuration may name (see entry_paths)
                    none: list[Entry | None] = [None]
                    s_opts = list(dict.fromkeys(
                        n for sub in subs for n in (subnet_nsg.get(sub.address) or none))) \
                        or none
                    most_of, least = self.entry_paths(s_opts, [*dict.fromkeys(nsgs)] or none,
                                                      True, [])
                    most = combine(most_of)
                    if nsg_unknown:
                        most = (RuleLayer("network security group not in the plan",
                                          LayerMode.UNION, (), Action.ALLOW, present=False),)
                    most_paths.append(most)
                    if certain or len(paths) == 1:
                        least_paths.append(least)
                most_layers = combine(most_paths)
                # no public IP known to exist: the least exposed world has no path at all
                least_layers = combine(least_paths or [nsg_layers(None, None, True, [])])
                deps = list(dict.fromkeys(deps))
            world.set("public_ips", public, public_least)
            world.set("ingress", most_layers, least_layers)
            world.props["private_ips"] = []
            world.props["stateful"] = bool(ss.v("data_disk"))
            ref = (ss.v("source_image_reference") or [{}])[0]
            if isinstance(ref, Mapping) and ref.get("publisher"):
                world.props["image"] = ":".join(str(ref.get(k) or "") for k in (
                    "publisher", "offer", "sku", "version"))
            if ss.type == "azurerm_linux_virtual_machine_scale_set":
                world.props["ssh_key_only"] = None if ss.unknown(
                    "disable_password_authentication") else bool(
                    ss.v("disable_password_authentication", default=True))
            secrets.judge(self.b, self.rid(ss), world, [ss])
            sid = self.b.add(ss, Kind.COMPUTE, CLOUD, world, name=ss.name(ss.v("name")),
                             region=location(ss), labels=self.labels(ss), deps=deps)
            if any(cfg.get(k) or ss.unknown(block, i, "ip_configuration", j, k)
                   for i, nic in enumerate(nics)
                   for j, cfg in enumerate(nic.get("ip_configuration") or [])
                   if isinstance(cfg, Mapping) for k in FRONT_END_KEYS):
                self.b.mark(sid, ("public_ips", "ingress"), Unread(
                    f"{ss.address}: instances in a load balancer or application gateway pool "
                    "(not mapped from plans)", "dangling", opens=True, closes=False))

    # --- storage ----------------------------------------------------------------------------

    def storage(self) -> None:
        for acct in self.ix.of_type("azurerm_storage_account"):
            world = World()
            sku = str(acct.v("account_replication_type") or "").lower()
            redundancy = None if acct.unknown("account_replication_type") else REDUNDANCY.get(sku)
            where = location(acct)
            pair = _pair(where) if redundancy == "geo" else None
            tls = acct.v("min_tls_version", default="TLS1_2")
            https = _https_only(acct)
            public = acct.v("public_network_access_enabled", default=True)
            world.props.update({
                "encrypted": True, "encryption_evidence": "provider",
                "encryption_reference": STORAGE_DOC,
                "min_tls": None if acct.unknown("min_tls_version") else _min_tls(tls),
                "https_only": https,
                "backup_redundancy": redundancy,
                # replication known only after apply: a copy may be anywhere (RES-02 error)
                "replica_regions": [pair] if pair else ["unknown"] if acct.unknown(
                    "account_replication_type") else [],
            })
            world.set("public_endpoint", bool(public) or acct.unknown(
                "public_network_access_enabled"), bool(public) and not acct.unknown(
                "public_network_access_enabled"))
            rules = (acct.v("network_rules") or [{}])[0] or {}
            if isinstance(rules, Mapping) and str(rules.get("default_action", "")).lower() \
                    == "deny":
                drafts = [Draft(Action.ALLOW, "tcp", PortRange(443, 443),
                                (c if "/" in c else f"{c}/32",), 0, self.rid(acct))
                          for c in (str(x) for x in rules.get("ip_rules") or [])]
                if acct.unknown("network_rules", 0, "ip_rules"):
                    drafts.append(Draft(Action.ALLOW, "tcp", PortRange(443, 443), None, 0,
                                        self.rid(acct)))
                most = tuple(r for d in drafts if (r := d.widened()) is not None)
                least = tuple(r for d in drafts if d.known and (r := d.widened()) is not None)
                world.set("ingress",
                          (RuleLayer("storage firewall", LayerMode.UNION, most, Action.DENY,
                                     origin=(self.rid(acct),)),),
                          (RuleLayer("storage firewall", LayerMode.UNION, least, Action.DENY,
                                     origin=(self.rid(acct),)),))
            self.b.add(acct, Kind.BUCKET, CLOUD, world, name=acct.name(acct.v("name")),
                       region=where, labels=self.labels(acct))

    # --- databases --------------------------------------------------------------------------

    def db_layer(self, server: Entry, rule_type: str, port: int
                 ) -> tuple[RuleLayer, RuleLayer, list[Entry]]:
        rules = [r for r in self.ix.of_type(rule_type)
                 if server in self.ix.targets(r, "server_id", [server.type])[0]
                 or server in self.ix.targets(r, "server_name", [server.type],
                                              id_attr="name")[0]]
        drafts = []
        for r in rules:
            if r.unknown("start_ip_address") or r.unknown("end_ip_address"):
                drafts.append(Draft(Action.ALLOW, "tcp", PortRange(port, port), None, 0,
                                    self.rid(r)))
                continue
            sources = _range_cidrs(str(r.v("start_ip_address") or ""),
                                   str(r.v("end_ip_address") or ""))
            if sources:
                drafts.append(Draft(Action.ALLOW, "tcp", PortRange(port, port), sources, 0,
                                    self.rid(r)))
        most = tuple(x for d in drafts if (x := d.widened()) is not None)
        least = tuple(x for d in drafts if d.known and (x := d.widened()) is not None)
        origin = (self.rid(server),)
        return (RuleLayer("server firewall rules", LayerMode.UNION, most, Action.DENY,
                          origin=origin),
                RuleLayer("server firewall rules", LayerMode.UNION, least, Action.DENY,
                          origin=origin), rules)

    def sql(self) -> None:
        dbs: dict[str, list[Entry]] = defaultdict(list)
        for db in self.ix.of_type("azurerm_mssql_database"):
            for srv in self.ix.targets(db, "server_id", ["azurerm_mssql_server"])[0]:
                dbs[srv.address].append(db)
        for db in self.ix.of_type("azurerm_sql_database"):  # azurerm 2.x/3.x, by name
            for srv in self.ix.targets(db, "server_name", ["azurerm_sql_server"],
                                       id_attr="name")[0]:
                dbs[srv.address].append(db)
        for srv in self.ix.of_type("azurerm_mssql_server", "azurerm_sql_server"):
            legacy = srv.type == "azurerm_sql_server"
            most, least, rules = self.db_layer(
                srv, "azurerm_sql_firewall_rule" if legacy else "azurerm_mssql_firewall_rule",
                1433)
            public = srv.v("public_network_access_enabled", default=True)
            unsure = srv.unknown("public_network_access_enabled")
            # the deprecated azurerm_sql_server has no default: absent, the server accepts
            # what Azure allows (its "None" minimal TLS version): not known from the plan
            # azurerm 2.x's azurerm_mssql_server had no default either (3.0 made it 1.2,
            # 3.0 upgrade guide): a plan holding it as null was made by such a version and
            # the server keeps what Azure gives it, not 1.2. Not in the plan at all (a
            # hand-written plan, plain `.tf`): the current default.
            tls = None if srv.unknown("minimum_tls_version") or (
                legacy and not srv.v("minimum_tls_version")) or (
                "minimum_tls_version" in srv.values
                and srv.v("minimum_tls_version") is None) else _min_tls(
                srv.v("minimum_tls_version", default="1.2"))
            for db in dbs.get(srv.address) or [srv]:
                world = World()
                world.set("public_endpoint", bool(public) or unsure, bool(public) and not unsure)
                world.set("ingress", (most,), (least,))
                tde = db.v("transparent_data_encryption_enabled", default=True) \
                    if db is not srv else True
                retention = ((db.v("short_term_retention_policy") or [{}])[0] or {}).get(
                    "retention_days", 7) if db is not srv else 7
                storage = str(db.v("storage_account_type", default="Geo")).lower() \
                    if db is not srv else "geo"
                red = REDUNDANCY.get(storage)
                # the defaults (7 days, Geo) hold only where the argument is not set; one
                # known only after apply is unknown (azurerm docs, mssql_database:
                # `short_term_retention_policy.retention_days`, `storage_account_type`)
                if db is not srv and db.unknown("short_term_retention_policy"):
                    retention = None
                if db is not srv and db.unknown("storage_account_type"):
                    red = None
                where = location(srv)
                world.props.update({
                    "public_ips": [], "min_tls": tls,
                    "encrypted": None if db.unknown("transparent_data_encryption_enabled")
                    else bool(tde),
                    "encryption_evidence": "config",
                    # retention unknown: BAK-02 cannot tell (checks/backup.py reads None
                    # `backup_enabled` as not known; a None retention would read as 0 days)
                    "backup_enabled": None if retention is None else True,
                    "backup_retention_days": None if retention is None else int(retention),
                    "backup_frequency_hours": 24, "backup_redundancy": red,
                    "replica_regions": [p] if red == "geo" and (p := _pair(where)) else
                    ["unknown"] if db is not srv and db.unknown("storage_account_type") else [],
                    "pitr_enabled": True,
                })
                name = f"{srv.v('name') or srv.address}/{db.v('name')}" if db is not srv \
                    else str(srv.v("name") or srv.address)
                self.b.add(db, Kind.DATABASE, CLOUD, world, name=name, region=where,
                           labels=self.labels(db), deps=[srv, *rules])

    def postgres(self) -> None:
        """PostgreSQL and MySQL flexible servers: the same arguments; TLS from the server
        parameter (`ssl_min_protocol_version`: TLSv1.2 by default; MySQL `tls_version`:
        TLSv1.2 by default), firewall rules on 5432 / 3306."""
        for stype, port, param in (
                ("azurerm_postgresql_flexible_server", 5432, "ssl_min_protocol_version"),
                ("azurerm_mysql_flexible_server", 3306, "tls_version")):
            self.flexible(stype, port, param)

    def flexible(self, stype: str, port: int, param: str) -> None:
        conf: dict[str, Entry] = {}
        secure: dict[str, Entry] = {}  # require_secure_transport
        others: dict[str, list[Entry]] = defaultdict(list)  # parameters no check reads
        for cfg in self.ix.of_type(f"{stype}_configuration"):
            for srv in self.ix.targets(cfg, "server_id", [stype])[0] + self.ix.targets(
                    cfg, "server_name", [stype], id_attr="name")[0]:
                # a server parameter's name is case-insensitive (an ARM resource name, as
                # the live reading compares them: lower-cased ids)
                name = str(cfg.v("name") or "").strip().lower()
                if name == param:
                    conf[srv.address] = cfg
                elif name == "require_secure_transport":
                    secure[srv.address] = cfg
                else:
                    others[srv.address].append(cfg)
        for srv in self.ix.of_type(stype):
            world = World()
            delegated = bool(srv.v("delegated_subnet_id")) or srv.unknown("delegated_subnet_id")
            access = srv.v("public_network_access_enabled", default=not delegated)
            unsure = srv.unknown("public_network_access_enabled") and not srv.computed(
                "public_network_access_enabled")
            world.set("public_endpoint", (bool(access) or unsure) and not bool(
                srv.v("delegated_subnet_id")), bool(access) and not unsure and not delegated)
            most, least, rules = self.db_layer(srv, f"{stype}_firewall_rule", port)
            world.set("ingress", (most,), (least,))
            setting = conf.get(srv.address)
            if setting is None:
                tls: str | None = "1.2"
            elif setting.unknown("value"):
                tls = None
            else:
                # MySQL's tls_version lists every version accepted ("TLSv1.2,TLSv1.3"), in
                # any order and case: the lowest is the minimum (a name not understood
                # leaves it unknown), as the live reading (azure/normalize/databases.py)
                names = [_min_tls(v) for v in str(setting.v("value") or "").split(",")
                         if v.strip()]
                known = [n for n in names if n is not None]
                tls = min(known) if known and len(known) == len(names) else None
            # `require_secure_transport` OFF accepts unencrypted connections too; it is ON by
            # default ("By default, secured connectivity between the client and the server
            # is enforced. If you want to disable TLS/SSL ... you can change the server
            # parameter require_secure_transport to OFF", https://learn.microsoft.com/azure/
            # postgresql/flexible-server/how-to-connect-tls-ssl; MySQL: .../mysql/flexible-
            # server/how-to-connect-tls-ssl). Plaintext is below any TLS floor: "1.0", the
            # lowest the model has, as the single servers' ssl_enforcement_enabled false.
            plain = secure.get(srv.address)
            if plain is not None and plain.unknown("value"):
                tls = None
            elif plain is not None and str(plain.v("value") or "").strip().lower() in (
                    "off", "0", "false"):
                tls = "1.0"
            where = location(srv)
            world.props.update(_server_props(srv, tls, where))
            self.b.add(srv, Kind.DATABASE, CLOUD, world, name=srv.name(srv.v("name")),
                       region=where, labels=self.labels(srv),
                       deps=[*rules, *([setting] if setting else []),
                             *([plain] if plain else []), *others.get(srv.address, [])])

    def single_servers(self) -> None:
        """The retired single servers (azurerm_postgresql_server, azurerm_mysql_server):
        `ssl_enforcement_enabled` (off: plain connections accepted, read as the lowest TLS),
        `ssl_minimal_tls_version_enforced` (TLS1_2 by default), public network access (true
        by default), firewall rules by `server_name`, retention and geo-redundant backup;
        storage encrypted by the service."""
        for stype, port in (("azurerm_postgresql_server", 5432), ("azurerm_mysql_server", 3306)):
            for srv in self.ix.of_type(stype):
                world = World()
                public = srv.v("public_network_access_enabled", default=True)
                unsure = srv.unknown("public_network_access_enabled") and not srv.computed(
                    "public_network_access_enabled")
                world.set("public_endpoint", bool(public) or unsure, bool(public) and not unsure)
                most, least, rules = self.db_layer(srv, f"{stype}_firewall_rule".replace(
                    "_server_firewall", "_firewall"), port)
                world.set("ingress", (most,), (least,))
                tls = _single_server_tls(srv)
                where = location(srv)
                world.props.update(_server_props(srv, tls, where))
                self.b.add(srv, Kind.DATABASE, CLOUD, world, name=srv.name(srv.v("name")),
                           region=where, labels=self.labels(srv), deps=rules)

    def keys(self) -> None:
        """azurerm_key_vault_key: customer managed; rotation when its `rotation_policy`
        rotates automatically (`automatic` block), as the live path reads rotationPolicy."""
        for key in self.ix.of_type("azurerm_key_vault_key"):
            policy = (key.v("rotation_policy") or [{}])[0] or {}
            rotates = None if key.unknown("rotation_policy") else bool(
                isinstance(policy, Mapping) and policy.get("automatic"))
            self.b.add(key, Kind.KEY, CLOUD, {"customer_managed": True,
                                              "rotation_enabled": rotates},
                       name=key.name(key.v("name")), region=None, labels=self.labels(key))

    def key_vaults(self) -> None:
        for kv in self.ix.of_type("azurerm_key_vault"):
            world = World()
            world.props["soft_delete"] = True
            world.props["purge_protection"] = None if kv.unknown("purge_protection_enabled") \
                else bool(kv.v("purge_protection_enabled", default=False))
            public = kv.v("public_network_access_enabled", default=True)
            unsure = kv.unknown("public_network_access_enabled")
            world.set("public_endpoint", bool(public) or unsure, bool(public) and not unsure)
            self.b.add(kv, Kind.KEY_STORE, CLOUD, world, name=kv.name(kv.v("name")),
                       region=location(kv), labels=self.labels(kv))

    def web_apps(self) -> None:
        """App Service web and function apps (and slots), as the live reading builds them
        (providers/azure/normalize/web.py): `app_settings` (SEC-01), `https_only` (TLS-02),
        the site config's minimum TLS version (TLS-01), public network access, location and
        tags. Each is judged whole from the plan."""
        for app in self.ix.of_type(*sorted(secrets.WEB_APPS)):
            world = World()
            secrets.judge(self.b, self.rid(app), world, [app])
            # azurerm docs (linux_web_app, windows_web_app, *_function_app, their slots and
            # the legacy app_service/function_app): "`https_only` - (Optional) Should the ...
            # require HTTPS connections. Defaults to `false`."
            world.props["https_only"] = None if app.unknown("https_only") else bool(
                app.v("https_only", default=False))
            world.props["min_tls"] = _site_min_tls(app)
            # `public_network_access_enabled` (azurerm 3.x+, "Defaults to `true`"; the legacy
            # resources have none: public, as ARM's publicNetworkAccess unset is)
            public = app.v("public_network_access_enabled", default=True)
            unsure = app.unknown("public_network_access_enabled")
            world.set("public_endpoint", bool(public) or unsure, bool(public) and not unsure)
            self.b.add(app, Kind.APP_SERVICE, CLOUD, world, name=app.name(app.v("name")),
                       region=location(app), labels=self.labels(app))

    def public_ips(self) -> None:
        for pip in self.ix.of_type("azurerm_public_ip"):
            self.b.add(pip, Kind.PUBLIC_IP, CLOUD, {}, name=pip.name(pip.v("name")),
                       region=location(pip), labels=self.labels(pip))


def build(b: Builder) -> None:
    a = _Azure(b)
    a.firewalls()
    a.machines()
    a.scale_sets()
    a.storage()
    a.sql()
    a.postgres()
    a.single_servers()
    a.key_vaults()
    a.keys()
    a.public_ips()
    a.web_apps()


def _site_min_tls(app: Entry) -> str | None:
    """The lowest TLS version an App Service app accepts: its `site_config` block's
    `minimum_tls_version` (linux/windows web and function apps and slots; "Defaults to
    `1.2`", azurerm docs) or `min_tls_version` (legacy azurerm_app_service/function_app:
    "Defaults to `1.2` for new Web Apps"). The SCM site's version
    (`scm_minimum_tls_version`) is not judged, as live reads only minTlsVersion. Known only
    after apply (the version or the whole block): not known."""
    for name in ("minimum_tls_version", "min_tls_version"):
        if app.unknown("site_config", 0, name):
            return None
        value = app.v("site_config", 0, name)
        if value is not None:
            return _min_tls(value)
    return "1.2"


def _https_only(acct: Entry) -> bool | None:
    """A storage account's "secure transfer required", under its two names: azurerm 4.0
    renamed `enable_https_traffic_only` to `https_traffic_only_enabled`, and the last 3.x
    releases hold both, Optional and Computed, the old one deprecated (registry.terraform.io/
    providers/hashicorp/azurerm/latest/docs/guides/4.0-upgrade-guide, azurerm_storage_account).
    An update that sets one keeps the other's refreshed value in the plan, so when both are
    known and disagree the one the block sets decides; neither (or both, or no
    configuration) set: not known. Either known only after apply: not known. Neither in the
    plan (plain `.tf` not setting it): true, the default of every version."""
    names = ("https_traffic_only_enabled", "enable_https_traffic_only")
    if any(acct.unknown(n) for n in names):
        return None
    known = {n: bool(acct.v(n)) for n in names if acct.v(n) is not None}
    if len(set(known.values())) > 1:
        set_by_block = [n for n in names if n in acct.expr]
        return known[set_by_block[0]] if len(set_by_block) == 1 else None
    return next(iter(known.values()), True)


def _single_server_tls(srv: Entry) -> str | None:
    """A single server's lowest accepted TLS version, under every name azurerm gave it:
    `ssl_enforcement_enabled` (2.0 and later) or `ssl_enforcement` ("Enabled"/"Disabled":
    required in 1.x; in 2.x deprecated, Optional and Computed, exactly one of the two set, so
    a 2.x plan setting the old name holds `ssl_enforcement_enabled` as null);
    `ssl_minimal_tls_version_enforced`
    (TLS1_2 by default since 3.0, TLSEnforcementDisabled in 2.x, which a 2.x plan writes),
    absent from a 1.x plan (the 1.x schema has no such argument): the server enforces no
    minimum, as ARM's minimalTlsVersion defaults to TLSEnforcementDisabled
    (https://learn.microsoft.com/azure/postgresql/single-server/how-to-tls-configurations).
    Off: plaintext accepted, read as "1.0", below any floor (the lowest the model has)."""
    legacy = srv.v("ssl_enforcement") is not None and srv.v("ssl_enforcement_enabled") is None \
        and not srv.unknown("ssl_enforcement_enabled")
    if legacy:
        if srv.unknown("ssl_enforcement"):
            return None
        enforced = str(srv.v("ssl_enforcement") or "").strip().lower()
        if enforced != "enabled":
            return "1.0" if enforced == "disabled" else None
    elif srv.unknown("ssl_enforcement_enabled"):
        return None
    elif not srv.v("ssl_enforcement_enabled", default=True):
        return "1.0"
    if srv.unknown("ssl_minimal_tls_version_enforced"):
        return None
    if legacy and "ssl_minimal_tls_version_enforced" not in srv.values:
        return "1.0"  # 1.x: no such argument, no minimum enforced
    return _min_tls(srv.v("ssl_minimal_tls_version_enforced", default="TLS1_2"))


def _server_props(srv: Entry, tls: str | None, where: str | None) -> dict[str, Any]:
    """What PostgreSQL and MySQL servers (flexible and single) share: no public IP, storage
    encrypted by the service, daily backups kept `backup_retention_days` (7 by default),
    geo-redundant backup to the region's pair when enabled, point-in-time restore."""
    # azurerm 1.x held both in `storage_profile` (`backup_retention_days`,
    # `geo_redundant_backup` "Enabled"/"Disabled"); 2.0 moved them to the top level: a plan
    # without the top-level names was made by 1.x, and its storage profile decides
    retention_at: tuple[Any, ...] = ("backup_retention_days",)
    geo_at: tuple[Any, ...] = ("geo_redundant_backup_enabled",)
    geo = bool(srv.v("geo_redundant_backup_enabled", default=False))
    # (2.x: both forms, the old one deprecated; the one the block sets decides)
    profile = "storage_profile" in srv.values and "storage_profile" in srv.expr
    if profile or ("storage_profile" in srv.values and "backup_retention_days" not in srv.values):
        retention_at = ("storage_profile", 0, "backup_retention_days")
    if profile or ("storage_profile" in srv.values
                   and "geo_redundant_backup_enabled" not in srv.values):
        geo_at = ("storage_profile", 0, "geo_redundant_backup")
        geo = str(srv.v(*geo_at) or "").strip().lower() == "enabled"
    return {
        "public_ips": [], "min_tls": tls,
        "encrypted": True, "encryption_evidence": "provider",
        "encryption_reference": FLEX_DOC,
        "backup_enabled": None if srv.unknown(*retention_at) else True,
        # 7 days when not set; known only after apply: unknown, not the default
        "backup_retention_days": None if srv.unknown(*retention_at)
        else int(srv.v(*retention_at, default=7)),
        "backup_frequency_hours": 24,
        "backup_redundancy": None if srv.unknown(*geo_at) else ("geo" if geo else "local"),
        "replica_regions": [p] if geo and (p := _pair(where)) else ["unknown"] if srv.unknown(
            *geo_at) else [],
        "pitr_enabled": True,
    }
