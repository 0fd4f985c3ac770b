"""Microsoft Azure: collector (azure-mgmt-* clients, read-only) and normalizer."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from providers.azure import apis as _apis
from providers.azure import plan as _plan
from providers.azure.normalize import normalize as _normalize
from scanner.model import ANY_PROPERTY, Inventory, Kind
from scanner.provider import Collection, Provider
from scanner.snapshot import Section

if TYPE_CHECKING:
    from scanner.check import Check

K = Kind
# What each collection feeds: the engine collects only what the selected checks read, and
# a failed collection turns exactly the verdicts on these kinds (in its scope) into errors.
KINDS: dict[str, tuple[set[Kind], str]] = {
    "Microsoft.Resources/resourceGroups": ({K.ACCOUNT}, "resource groups"),
    _plan.LISTED: (
        set().union(*_plan.STAND_INS.values()),
        "every tracked resource's location and tags (no properties): the resources of checks "
        "that read only where resources are"),
    "Microsoft.Network/virtualNetworks": (
        {K.NETWORK, K.SUBNET, K.FIREWALL},
        "virtual networks: subnets (and their NSGs), DDoS protection plan, peerings"),
    "Microsoft.Network/networkSecurityGroups": (
        {K.FIREWALL}, "NSGs: security rules and default rules"),
    "Microsoft.Network/networkInterfaces": (
        {K.COMPUTE, K.PUBLIC_IP, K.FIREWALL},
        "network interfaces: private IPs, public IPs, NSG, load balancer pools"),
    "Microsoft.Network/publicIPAddresses": (
        {K.PUBLIC_IP, K.COMPUTE, K.LOAD_BALANCER}, "public IP addresses and their SKU"),
    "Microsoft.Network/loadBalancers": (
        {K.LOAD_BALANCER, K.LISTENER}, "load balancers: frontends, rules, inbound NAT rules"),
    "Microsoft.Network/applicationGateways": (
        {K.LOAD_BALANCER, K.LISTENER, K.CERTIFICATE},
        "application gateways: listeners, SSL policy, certificates, WAF"),
    "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies": (
        {K.LOAD_BALANCER}, "WAF policies (rate-limit rules)"),
    "Microsoft.Compute/virtualMachines": (
        {K.COMPUTE}, "virtual machines: NICs, OS profile (password authentication), image"),
    "Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions": (
        {K.COMPUTE}, "the Marketplace image version each VM runs: its deprecation status"),
    _apis.USER_DATA: (
        {K.COMPUTE}, "each VM's user data (its GET with $expand=userData): secrets in it"),
    _apis.SCALE_SETS: (
        {K.COMPUTE}, "virtual machine scale sets: the instances' model (NIC configurations, "
                     "OS profile, image)"),
    _apis.SCALE_SET_USER_DATA: (
        {K.COMPUTE}, "each scale set's user data (its GET with $expand=userData)"),
    _apis.SCALE_SET_IMAGES: (
        {K.COMPUTE}, "the Marketplace image version each scale set's model names: its "
                     "deprecation status"),
    _apis.SCALE_SET_PUBLIC_IPS: (
        {K.COMPUTE}, "the public IPs of the instances of scale sets that give each one"),
    "Microsoft.Compute/disks": ({K.VOLUME}, "managed disks: encryption"),
    "Microsoft.Storage/storageAccounts": (
        {K.BUCKET}, "storage accounts: replication, TLS, HTTPS only, network rules"),
    "Microsoft.Sql/servers": ({K.DATABASE}, "SQL servers: public network access, TLS"),
    "Microsoft.Sql/servers/firewallRules": ({K.DATABASE}, "SQL server firewall rules"),
    "Microsoft.Sql/servers/databases": ({K.DATABASE}, "SQL databases: backup redundancy"),
    "Microsoft.Sql/servers/databases/transparentDataEncryption": (
        {K.DATABASE}, "SQL databases: TDE state"),
    "Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies": (
        {K.DATABASE}, "SQL databases: PITR retention"),
    "Microsoft.Sql/servers/databases/replicationLinks": (
        {K.DATABASE}, "SQL databases: geo-replicas"),
    "Microsoft.DBforPostgreSQL/flexibleServers": (
        {K.DATABASE}, "PostgreSQL flexible servers: network, backup"),
    "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules": (
        {K.DATABASE}, "PostgreSQL firewall rules"),
    "Microsoft.DBforPostgreSQL/flexibleServers/configurations": (
        {K.DATABASE}, "PostgreSQL ssl_min_protocol_version"),
    "Microsoft.DBforMySQL/flexibleServers": ({K.DATABASE}, "MySQL flexible servers"),
    "Microsoft.DBforMySQL/flexibleServers/firewallRules": ({K.DATABASE}, "MySQL firewall rules"),
    "Microsoft.DBforMySQL/flexibleServers/configurations": ({K.DATABASE}, "MySQL tls_version"),
    "Microsoft.KeyVault/vaults": ({K.KEY_STORE, K.KEY},
                                  "key vaults: soft delete, purge protection"),
    "Microsoft.KeyVault/vaults/keys": ({K.KEY}, "keys of each vault: rotation policy"),
    "Microsoft.RecoveryServices/vaults": (
        {K.BACKUP_VAULT}, "Recovery Services vaults: storage redundancy"),
    "Microsoft.RecoveryServices/vaults/backupProtectedItems": (
        {K.COMPUTE, K.BACKUP_VAULT}, "what each vault backs up (VM backup)"),
    "Microsoft.RecoveryServices/vaults/backupPolicies": (
        {K.COMPUTE, K.BACKUP_VAULT}, "backup policies: frequency and retention"),
    "Microsoft.Insights/diagnosticSettings": (
        {K.LOG_TRAIL}, "subscription activity-log diagnostic settings"),
    "Microsoft.OperationalInsights/workspaces": (
        {K.LOG_TRAIL}, "Log Analytics workspaces: location and retention of the activity log"),
    "Microsoft.Security/pricings": ({K.ACCOUNT}, "Defender for Cloud plans"),
    "Microsoft.Authorization/roleAssignments": ({K.IDENTITY}, "role assignments"),
    "Microsoft.Authorization/roleDefinitions": (
        {K.IDENTITY}, "role definitions (built-in and custom): what an assignment of one grants"),
    "Microsoft.CognitiveServices/accounts": (
        {K.MODEL_DEPLOYMENT}, "Cognitive Services / AI Services accounts (every kind)"),
    "Microsoft.CognitiveServices/accounts/deployments": (
        {K.MODEL_DEPLOYMENT}, "model deployments and their SKU (processing scope)"),
    "Microsoft.Web/sites": ({K.APP_SERVICE}, "web apps: HTTPS only, public network access"),
    "Microsoft.Web/sites/config": ({K.APP_SERVICE}, "web app configuration: minimum TLS"),
}
NOTHING: Mapping[Kind, frozenset[str]] = MappingProxyType({})
# What a failed read of each collection can change in the resources that WERE read
# (Collection.affects), with the direction (opens, closes). NOTHING: the normalizer marks
# the affected resources itself (`Resource.unknown`): a reference to an object not in the
# list read (a NIC's NSG, subnet or public IP, a VM's NIC, a NIC's load balancer pool, a
# gateway's WAF policy), or a per-parent child read that failed for exactly that parent
# (SQL firewall rules, TDE, PostgreSQL/MySQL configurations, a vault's protected items, a
# web app's config, a Cognitive Services account's deployments, VM image versions).
AFFECTS: dict[str, tuple[Mapping[Kind, frozenset[str]], bool, bool]] = {
    # backends by IP address are invisible from the NIC's side: any VM could be one
    "Microsoft.Network/applicationGateways": (
        {K.COMPUTE: frozenset({"ingress"}), K.NETWORK: frozenset({"ddos_protection"})},
        True, False),
    # a backend of a public load balancer makes its VNet a public entry point (NET-06)
    "Microsoft.Network/loadBalancers": (
        {K.NETWORK: frozenset({"ddos_protection"})}, True, False),
    "Microsoft.Network/networkInterfaces": (
        {K.NETWORK: frozenset({"ddos_protection"})}, True, False),
    # the activity log's destination decides the log trail's region and retention
    _plan.LISTED: ({K.LOG_TRAIL: frozenset({ANY_PROPERTY})}, True, True),
    "Microsoft.Storage/storageAccounts": ({K.LOG_TRAIL: frozenset({ANY_PROPERTY})}, True, True),
    "Microsoft.OperationalInsights/workspaces": (
        {K.LOG_TRAIL: frozenset({ANY_PROPERTY})}, True, True),
    "Microsoft.RecoveryServices/vaults": (
        {K.COMPUTE: frozenset({"backup_redundancy", "replica_regions"})}, True, True),
    "Microsoft.Security/pricings": (
        {K.ACCOUNT: frozenset({"threat_detection_regions"})}, True, True),
}
COLLECTIONS = {
    name: Collection(name, frozenset(kinds), _apis.BY_NAME[name].calls, description,
                     affects=affects, opens=opens, closes=closes)
    for name, (kinds, description) in KINDS.items()
    for affects, opens, closes in [AFFECTS.get(name, (NOTHING, True, True))]
}
# Collections that decide only some properties of their kinds: read for a check that reads
# one of them (or names no `reads`), not for every check on those kinds.
DECIDES: Mapping[str, frozenset[str]] = MappingProxyType({
    _apis.USER_DATA: frozenset({"plaintext_secrets"}),
    _apis.SCALE_SET_USER_DATA: frozenset({"plaintext_secrets"}),
    _apis.SCALE_SET_IMAGES: frozenset({"image_deprecated"}),
    _apis.SCALE_SET_PUBLIC_IPS: frozenset({"public_ips"}),
})
ROLE_FILE = "role.json"
ROLE_DEFINITIONS = "Microsoft.Authorization/roleDefinitions"
# Collections added since snapshots were first recorded: replayed without one, the normalizer
# marks exactly the resources it concerns (no scope error on every verdict of the kind); a
# snapshot without scale sets judges none (docs/snapshot-format.md)
MARKED_WHEN_ABSENT = frozenset({ROLE_DEFINITIONS, _apis.USER_DATA, _apis.SCALE_SETS,
                                _apis.SCALE_SET_USER_DATA, _apis.SCALE_SET_PUBLIC_IPS,
                                _apis.SCALE_SET_IMAGES})


def role_definition() -> dict[str, Any]:
    """The custom role posture needs (Reader's read actions, narrowed to what it reads)."""
    text = resources.files("providers.azure").joinpath(ROLE_FILE).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


class AzureProvider(Provider):
    name = "azure"
    collections = COLLECTIONS
    not_visible: Mapping[str, str] = MappingProxyType({
        "IAM-01": "MFA is an Entra ID setting, not in Resource Manager",
        "IAM-04": "credentials of Entra ID principals are not in Resource Manager",
    })

    def collect(self, options: Mapping[str, Any], only: Iterable[str] | None = None
                ) -> list[Section]:
        from providers.azure import collect as _collect  # azure SDKs: only for live scans

        return _collect.collect(options, only)

    def collections_for_checks(self, checks: Iterable[Check]) -> set[str]:
        """Every collection of the checks' kinds, but for a check that reads only where
        resources are: the resource list (providers/azure/plan.py)."""
        checks = list(checks)
        return _plan.plan(checks, {c.id: self._full(c) for c in checks})

    def needed_in(self, check: Check, section: Section) -> set[str]:
        attempted = section.attempted()
        needed = _plan.needed_in(check, self._full(check), attempted)
        # a snapshot recorded before role definitions (or VM user data) were read: the
        # normalizer marks exactly the assignments of roles it does not know (IAM-02), the
        # VMs whose user data it does not know (SEC-01), no scope error
        return needed - (MARKED_WHEN_ABSENT - attempted)

    def _full(self, check: Check) -> set[str]:
        out = self.collections_for(check.kinds) - {_plan.LISTED}
        if check.reads is not None:
            out -= {n for n, props in DECIDES.items() if not props & check.reads}
        return out

    def normalize(self, section: Section) -> Inventory:
        return _normalize(section)

    def permissions(self, collections: Iterable[str] | None = None) -> dict[str, Any]:
        base = super().permissions(collections)
        base["builtin_role"] = "Reader"
        base["role_definition"] = role_definition()
        base["note"] = (
            "The built-in Reader role at subscription scope is enough: posture makes only GET "
            "requests (a pipeline policy refuses any other method), but for Azure Resource Graph "
            "queries with --azure-resource-graph (POST /providers/Microsoft.ResourceGraph/"
            "resources, a read; with a GET of the caller's own permissions per subscription "
            "first), never calls a listKeys action "
            "and never reads app settings or connection strings (of Key Vault keys only their "
            "metadata and rotation policy). The custom role below is the same, narrowed to "
            "the read actions posture uses; replace <subscription-id> in AssignableScopes."
        )
        return base


PROVIDER = AzureProvider()


def calls_per_check(checks: Iterable[Check]) -> list[tuple[str, list[str]]]:
    """(check id, the calls a scan for that check alone makes, parents included): the
    table of docs/azure.md, "What posture calls, per check"."""
    parents = {s.name: s.parent for s in _apis.SPECS}
    out = []
    for c in sorted(checks, key=lambda c: c.id):
        read = _plan.made(PROVIDER.collections_for_checks((c,)), parents)[0]
        out.append((c.id, sorted({call for n in read for call in COLLECTIONS[n].calls})))
    return out
