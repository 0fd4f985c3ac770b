"""Azure ARM JSON -> the provider-neutral model. Pure: no network.

One module per service family (network, nsg, paths, balancers, compute, backup, databases,
storage, keys, web, ai, subscription), each of small functions over one shared build
context (context.Build), the way checks/ is split by control family.

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
  destination (prefixes or application security groups) does not cover the NIC is dropped
  from that NIC's path. An NSG as a firewall resource (NET-07, the rules themselves) keeps
  every allow rule whose destination can be an address behind it (`*`, `VirtualNetwork`,
  an address or prefix, an application security group), and a deny rule only when it
  covers every destination.
- No NSG at all: a Standard-SKU public IP is closed ("secure by default": a layer with
  present=False and default deny); a Basic-SKU one is open (present=False, default allow).
  With one NSG (subnet or NIC) that NSG decides alone.
- A VM has one entry path per IP configuration with a public IP and per inbound NAT rule
  that reaches one (paths.py), each filtered by its own subnet's and NIC's NSGs and the
  SKU it arrives through (public IP, or load balancer and frontend IP); `ingress` is their
  union, `public_ips` every address (the NAT'ing load balancers' too).
- What was not read is unknown, never absent: a reference to an object not in the list
  read, or a per-parent read that failed for that parent, marks exactly the properties it
  could change in `Resource.unknown` (with opens/closes). Objects read that become no
  resource and are part of none are named in the section's `not_assessed` list (engine:
  NOT-ASSESSED skip findings).
- Load balancers (layer 4) preserve the client address, so a backend is a target only if
  its own NSGs admit internet traffic on a backend port of the rules (evaluated here); the
  listener ports then forward the internet's sources (relation attr private=True).
  Application gateways terminate HTTP(S): listeners with protocol/port/target_port (basic
  and path-based rules: a path map's default and every path rule), HTTP listeners whose
  every route is a redirect to HTTPS `redirects_to_https`, SSL policy -> min_tls, backends
  reached over the VNet (private=True); `waf` only for a WAF in Prevention mode.
- A SQL server without user databases is a database endpoint itself; every Cognitive
  Services account is a model_deployment with its location (`global`: any region).
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
  storage accounts from their encryption settings (without any: always on, `provider`);
  SQL databases from TDE state. Key vaults: `enableSoftDelete` absent is on (the API's
  default; soft delete can no longer be turned off).
- Audit log (LOG-01): a subscription diagnostic setting records control-plane changes only
  when it exports the activity log's `Administrative` category (or the `allLogs`/`audit`
  category group), enabled, to a destination. Threat detection (LOG-03): a Defender for
  Cloud plan on the Standard tier other than Defender CSPM (`CloudPosture`: posture
  management, no security alerts).
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
  configuration, an application gateway with a public frontend, or a backend or inbound
  NAT rule target of a public load balancer. It is protected by a DDoS protection plan on
  the VNet, or by DDoS IP Protection (`ddosSettings.protectionMode` Enabled) on every
  public IP those resources answer on. A VNet with none has `ddos_protection` unset (not
  judged), as AWS and Hetzner networks.
"""

from __future__ import annotations

from providers.azure.normalize import (
    ai,
    backup,
    balancers,
    compute,
    databases,
    keys,
    network,
    scale_sets,
    storage,
    subscription,
    web,
)
from providers.azure.normalize.common import (
    DISK_DOC,
    FLEX_DOC,
    PROVIDER,
    REDUNDANCY,
    _arr,
    _pair,
    _props,
    _range_cidrs,
    _ref,
    _tls,
    lid,
)
from providers.azure.normalize.context import Build
from providers.azure.normalize.nsg import nsg_layer, nsg_layers, port_layer
from scanner.model import Inventory
from scanner.provider import inventory
from scanner.snapshot import GLOBAL, Section

WAF_POLICIES = "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies"
NOT_ASSESSED = "not_assessed"  # engine.NOT_ASSESSED: the section collection of skipped objects
# Collections whose objects are folded into other resources wholesale (never resources of
# their own): what each becomes.
FOLDED = {
    "Microsoft.Resources/subscriptions": "the account resource (azure:<subscription>)",
    "Microsoft.Resources/resourceGroups": "containers of the resources read; not judged",
    "Microsoft.Security/pricings": "the account's threat_detection_regions",
    "Microsoft.Authorization/roleAssignments": "one identity resource per principal",
    "Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions":
        "the image_deprecated of the VMs that run the image version",
    "Microsoft.Compute/virtualMachineScaleSets/publicIPAddresses":
        "the public_ips of their scale set",
    "Microsoft.Compute/virtualMachineScaleSets/imageVersions":
        "the image_deprecated of the scale sets made from the image version",
}

__all__ = ["DISK_DOC", "FLEX_DOC", "REDUNDANCY", "_pair", "_range_cidrs", "_tls", "normalize",
           "nsg_layer", "nsg_layers", "port_layer"]


def normalize(section: Section) -> Inventory:
    section.collections.pop(NOT_ASSESSED, None)  # this normalizer's own output (below)
    b = Build(section)
    subscription.build(b)
    network.networks(b)
    compute.machines(b)
    scale_sets.scale_sets(b)
    balancers.load_balancers(b)
    balancers.app_gateways(b)
    network.public_ip_resources(b)
    storage.storage(b)
    databases.sql(b)
    databases.flexible(b, "postgresql", "Microsoft.DBforPostgreSQL/flexibleServers",
                       "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",
                       "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
                       "ssl_min_protocol_version")
    databases.flexible(b, "mysql", "Microsoft.DBforMySQL/flexibleServers",
                       "Microsoft.DBforMySQL/flexibleServers/firewallRules",
                       "Microsoft.DBforMySQL/flexibleServers/configurations", "tls_version")
    keys.key_vaults(b)
    backup.backup_vaults(b)
    web.web_apps(b)
    ai.model_deployments(b)
    ai.accounts(b)
    skipped_objects(b)
    result = inventory(PROVIDER, section, b.marked(), b.relations)
    if b.skipped:  # engine.not_assessed reports them as skip findings, named and counted
        section.add(NOT_ASSESSED, GLOBAL, sorted(b.skipped, key=lambda o: o["id"]))
    return result


def skipped_objects(b: Build) -> None:
    """Objects read that no resource is built from or folded into, each named with why."""
    # (A SQL server's system database `master` is part of its server, judged through its
    # user databases or, without any, as an endpoint itself.)
    owners = b.nic_owners()
    for nic in b.items("Microsoft.Network/networkInterfaces"):
        if lid(nic.get("id")) not in owners:
            b.skip(nic, "no_vm", "network interface of no VM read (a private endpoint's, a "
                                 "scale set's or a detached NIC): not judged")
    used = {_ref(_props(gw).get("firewallPolicy"), "firewallPolicy")
            for gw in b.items("Microsoft.Network/applicationGateways")}
    used |= {_ref(_props(h).get("firewallPolicy"), "firewallPolicy")
             for gw in b.items("Microsoft.Network/applicationGateways")
             for h in _arr(_props(gw).get("httpListeners"), "httpListeners")}
    used |= {_ref(_props(pr).get("firewallPolicy"), "firewallPolicy")
             for gw in b.items("Microsoft.Network/applicationGateways")
             for m in _arr(_props(gw).get("urlPathMaps"), "urlPathMaps")
             for pr in _arr(_props(m).get("pathRules"), "pathRules")}
    for policy in b.items(WAF_POLICIES):
        if lid(policy.get("id")) not in used:
            b.skip(policy, "unused", "WAF policy associated with no application gateway read")
    destinations = {lid(_props(s).get("workspaceId"))
                    for s in b.items("Microsoft.Insights/diagnosticSettings")}
    for ws in b.items("Microsoft.OperationalInsights/workspaces"):
        if lid(ws.get("id")) not in destinations:
            b.skip(ws, "not_a_destination", "Log Analytics workspace that receives no activity "
                                            "log read: read only as a destination, not judged")
