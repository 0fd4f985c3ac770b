"""What the Azure collector reads (one `Spec` per collection: SDK client, call, parent),
and the constants the normalizer shares with it. No Azure SDK import here: replaying a
snapshot, listing checks or permissions needs none (the collector imports azure-core and
the azure-mgmt clients, only for a live scan)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.secret_scan import user_data_findings

SECRET_MARK = "<redacted: secret-looking value found>"
# custom/user data decoded only in part (past scanner.user_data's bounds): not known clean
UNSCANNED_MARK = "<redacted: not scanned whole>"
SUBSCRIPTIONS = "Microsoft.Resources/subscriptions"
# Each VM's user data, from its GET with `$expand=userData` (a collection of its own, not a
# field of the VM list: the list never answers it)
USER_DATA = "Microsoft.Compute/virtualMachines/userData"
# Virtual machine scale sets: the model every instance is made from (list), its user data
# (GET with `$expand=userData`, as for VMs) and the public IPs of its instances
SCALE_SETS = "Microsoft.Compute/virtualMachineScaleSets"
SCALE_SET_USER_DATA = "Microsoft.Compute/virtualMachineScaleSets/userData"
SCALE_SET_PUBLIC_IPS = "Microsoft.Compute/virtualMachineScaleSets/publicIPAddresses"
# the Marketplace image versions scale sets are made from (the VMs' are read under the VMs)
SCALE_SET_IMAGES = "Microsoft.Compute/virtualMachineScaleSets/imageVersions"
DIAG_API = "2021-05-01-preview"
WORKSPACE_API = "2023-09-01"
COGNITIVE_API = "2025-09-01"  # azure-mgmt-cognitiveservices 14.1's
# Built-in role definition ids are the same GUIDs in every tenant.
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
RBAC_ADMIN = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
# Microsoft's "privileged administrator roles" (https://learn.microsoft.com/azure/role-based-
# access-control/built-in-roles#privileged): Owner and Contributor manage every resource;
# User Access Administrator and Role Based Access Control Administrator assign any role,
# Owner included, to anyone (themselves too) at their scope: each is an admin grant.
ADMIN_ROLES = frozenset({OWNER, CONTRIBUTOR, USER_ACCESS_ADMIN, RBAC_ADMIN})
# Built-in roles that are no admin grant (their permissions, https://learn.microsoft.com/
# azure/role-based-access-control/built-in-roles): Reader (`*/read`), Monitoring Reader
# (`*/read`, support tickets), Security Reader (reads, Microsoft.Security/*/read), known even
# where the role definitions were not read. Any other role is judged by its definition.
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
MONITORING_READER = "43d0d8ad-25c7-4714-9337-8ba259a9fe05"
SECURITY_READER = "39bc4728-0917-49c7-9d2c-d95423bc2eb4"
NON_ADMIN_ROLES = frozenset({READER, MONITORING_READER, SECURITY_READER})


def secret_in(value: str) -> bool | None:
    """Secret-looking content in a value, plain or base64 (customData and userData are
    base64, and may be gzip-compressed or a cloud-init MIME archive, as on EC2): the one
    scanner of live reads and plans (scanner/secret_scan.py), assignments by their name.
    None: none found in what could be decoded within scanner.user_data's bounds, the rest
    not scanned (a gzip bomb, a cut stream)."""
    found, unscanned = user_data_findings(value)
    return True if found else (None if unscanned is not None else False)


# --- what is collected ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spec:
    """One collection: the SDK client, how to call it, and (for children) its parent."""

    name: str  # ARM type or operation
    client: str  # key of CLIENTS
    call: Callable[[Any, Mapping[str, Any], str], Any]  # (client, parent raw, sub) -> pager/model
    parent: str | None = None
    paged: bool = True
    when: Callable[[Mapping[str, Any]], bool] | None = None  # filter on the parent object
    calls: tuple[str, ...] = ()
    # parents with the same key share one call (VMs created from the same image version)
    once_per: Callable[[Mapping[str, Any]], Any] | None = None


def _rg(obj: Mapping[str, Any]) -> str:
    parts = str(obj.get("id", "")).split("/")
    low = [p.lower() for p in parts]
    return parts[low.index("resourcegroups") + 1] if "resourcegroups" in low else ""


def _name(obj: Mapping[str, Any]) -> str:
    return str(obj.get("name", ""))


def _sql_user_db(obj: Mapping[str, Any]) -> bool:
    return _name(obj).lower() != "master"


def marketplace_image(vm: Mapping[str, Any]) -> tuple[str, str, str, str, str] | None:
    """(location, publisher, offer, sku, version) of the Marketplace image a VM was created
    from; None for custom and gallery images, or when the exact version is not known
    (`version: latest` without the read-only `exactVersion`)."""
    ref = ((vm.get("properties") or {}).get("storageProfile") or {}).get("imageReference")
    if not isinstance(ref, Mapping) or not ref.get("publisher"):
        return None
    version = str(ref.get("exactVersion") or ref.get("version") or "")
    if not version or version.lower() == "latest" or not vm.get("location"):
        return None
    return (str(vm["location"]), str(ref["publisher"]), str(ref.get("offer") or ""),
            str(ref.get("sku") or ""), version)


def scale_set_ip_configs(vmss: Mapping[str, Any]
                         ) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(NIC configuration, IP configuration) of every IP configuration of a scale set's model
    (`virtualMachineProfile.networkProfile.networkInterfaceConfigurations`): each instance
    gets one NIC per NIC configuration, and a public IP per IP configuration that has a
    `publicIPAddressConfiguration` (https://learn.microsoft.com/azure/virtual-machine-scale-
    sets/virtual-machine-scale-sets-networking#public-ipv4-per-virtual-machine)."""
    props = vmss.get("properties")
    profile = props.get("virtualMachineProfile") if isinstance(props, Mapping) else None
    network = profile.get("networkProfile") if isinstance(profile, Mapping) else None
    nics = network.get("networkInterfaceConfigurations") if isinstance(network, Mapping) else None
    out: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
    for nic in nics if isinstance(nics, list) else []:
        nic_props = nic.get("properties") if isinstance(nic, Mapping) else None
        cfgs = nic_props.get("ipConfigurations") if isinstance(nic_props, Mapping) else None
        out.extend((nic, cfg) for cfg in (cfgs if isinstance(cfgs, list) else [])
                   if isinstance(cfg, Mapping))
    return out


def scale_set_public(vmss: Mapping[str, Any]) -> bool:
    """Does each instance of the scale set get a public IP of its own?"""
    return any(isinstance((cfg.get("properties") or {}).get("publicIPAddressConfiguration"),
                          Mapping) for _, cfg in scale_set_ip_configs(vmss))


def as_vm(vmss: Mapping[str, Any]) -> dict[str, Any]:
    """A scale set's model in a VM's shape (its `location`, the model's properties)."""
    props = vmss.get("properties")
    profile = props.get("virtualMachineProfile") if isinstance(props, Mapping) else None
    return {"id": vmss.get("id"), "location": vmss.get("location"),
            "properties": profile if isinstance(profile, Mapping) else {}}


def _vm_image(client: Any, vm: Mapping[str, Any]) -> Any:
    image = marketplace_image(vm)
    assert image is not None  # the spec's `when` guarantees it
    return client.virtual_machine_images.get(*image)


SECURE_TRANSPORT = "require_secure_transport"


def _server_parameters(client: Any, server: Mapping[str, Any], tls_param: str) -> list[Any]:
    """A flexible server's two parameters that decide what TLS it accepts: its minimum TLS
    version (`tls_param`) and `require_secure_transport` (OFF: unencrypted connections
    accepted as well)."""
    rg, name = _rg(server), _name(server)
    return [client.configurations.get(rg, name, param)
            for param in (tls_param, SECURE_TRANSPORT)]


def _vault_keys(client: Any, vault: Mapping[str, Any]) -> list[Any]:
    """Every key of a vault in full: the list answers an abbreviated object per key (no
    rotation policy), so each key is read again (`run_call` keeps the later, full body)."""
    rg, name = _rg(vault), _name(vault)
    return [client.keys.get(rg, name, key.name) for key in client.keys.list(rg, name)]


P = "/subscriptions/{sub}"
SPECS: tuple[Spec, ...] = (
    Spec("Microsoft.Resources/resourceGroups", "resource", lambda c, p, s: c.resource_groups.list(),
         calls=(f"GET {P}/resourcegroups",)),
    # every tracked resource, without properties: serves checks that read only where
    # resources are (providers/azure/plan.py)
    Spec("Microsoft.Resources/resources", "resource", lambda c, p, s: c.resources.list(),
         calls=(f"GET {P}/resources",)),
    Spec("Microsoft.Network/virtualNetworks", "network",
         lambda c, p, s: c.virtual_networks.list_all(),
         calls=(f"GET {P}/providers/Microsoft.Network/virtualNetworks",)),
    Spec("Microsoft.Network/networkSecurityGroups", "network",
         lambda c, p, s: c.network_security_groups.list_all(),
         calls=(f"GET {P}/providers/Microsoft.Network/networkSecurityGroups",)),
    Spec("Microsoft.Network/networkInterfaces", "network",
         lambda c, p, s: c.network_interfaces.list_all(),
         calls=(f"GET {P}/providers/Microsoft.Network/networkInterfaces",)),
    Spec("Microsoft.Network/publicIPAddresses", "network",
         lambda c, p, s: c.public_ip_addresses.list_all(),
         calls=(f"GET {P}/providers/Microsoft.Network/publicIPAddresses",)),
    Spec("Microsoft.Network/loadBalancers", "network", lambda c, p, s: c.load_balancers.list_all(),
         calls=(f"GET {P}/providers/Microsoft.Network/loadBalancers",)),
    Spec("Microsoft.Network/applicationGateways", "network",
         lambda c, p, s: c.application_gateways.list_all(),
         calls=(f"GET {P}/providers/Microsoft.Network/applicationGateways",)),
    Spec("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies", "network",
         lambda c, p, s: c.web_application_firewall_policies.list_all(),
         calls=(f"GET {P}/providers/Microsoft.Network/"
                "ApplicationGatewayWebApplicationFirewallPolicies",)),
    Spec("Microsoft.Compute/virtualMachines", "compute",
         lambda c, p, s: c.virtual_machines.list_all(),
         calls=(f"GET {P}/providers/Microsoft.Compute/virtualMachines",)),
    Spec("Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions", "compute",
         lambda c, p, s: _vm_image(c, p), parent="Microsoft.Compute/virtualMachines",
         paged=False, when=lambda p: marketplace_image(p) is not None,
         once_per=lambda p: tuple(x.lower() for x in marketplace_image(p) or ()),
         calls=(f"GET {P}/providers/Microsoft.Compute/locations/{{location}}/publishers/"
                "{publisher}/artifacttypes/vmimage/offers/{offer}/skus/{sku}/versions/"
                "{version}",)),
    # userData is answered only by a VM's own GET with `$expand=userData` ("User data can be
    # queried via GET VM/VMSS API with $expand option", https://learn.microsoft.com/azure/
    # virtual-machines/user-data; the list answers none): read per VM, kept as a marker only
    Spec(USER_DATA, "compute",
         lambda c, p, s: c.virtual_machines.get(_rg(p), _name(p), expand="userData"),
         parent="Microsoft.Compute/virtualMachines", paged=False,
         calls=("GET .../Microsoft.Compute/virtualMachines/{vm}?$expand=userData",)),
    Spec(SCALE_SETS, "compute", lambda c, p, s: c.virtual_machine_scale_sets.list_all(),
         calls=(f"GET {P}/providers/Microsoft.Compute/virtualMachineScaleSets",)),
    Spec(SCALE_SET_IMAGES, "compute", lambda c, p, s: _vm_image(c, as_vm(p)), parent=SCALE_SETS,
         paged=False, when=lambda p: marketplace_image(as_vm(p)) is not None,
         once_per=lambda p: tuple(x.lower() for x in marketplace_image(as_vm(p)) or ()),
         calls=(f"GET {P}/providers/Microsoft.Compute/locations/{{location}}/publishers/"
                "{publisher}/artifacttypes/vmimage/offers/{offer}/skus/{sku}/versions/"
                "{version}",)),
    Spec(SCALE_SET_USER_DATA, "compute",
         lambda c, p, s: c.virtual_machine_scale_sets.get(_rg(p), _name(p), expand="userData"),
         parent=SCALE_SETS, paged=False,
         calls=("GET .../Microsoft.Compute/virtualMachineScaleSets/{vmss}?$expand=userData",)),
    Spec(SCALE_SET_PUBLIC_IPS, "network",
         lambda c, p, s: c.public_ip_addresses.list_virtual_machine_scale_set_public_ip_addresses(
             _rg(p), _name(p)),
         parent=SCALE_SETS, when=scale_set_public,
         calls=("GET .../Microsoft.Compute/virtualMachineScaleSets/{vmss}/publicipaddresses",)),
    Spec("Microsoft.Compute/disks", "compute", lambda c, p, s: c.disks.list(),
         calls=(f"GET {P}/providers/Microsoft.Compute/disks",)),
    Spec("Microsoft.Storage/storageAccounts", "storage", lambda c, p, s: c.storage_accounts.list(),
         calls=(f"GET {P}/providers/Microsoft.Storage/storageAccounts",)),
    Spec("Microsoft.Sql/servers", "sql", lambda c, p, s: c.servers.list(),
         calls=(f"GET {P}/providers/Microsoft.Sql/servers",)),
    Spec("Microsoft.Sql/servers/firewallRules", "sql",
         lambda c, p, s: c.firewall_rules.list_by_server(_rg(p), _name(p)),
         parent="Microsoft.Sql/servers",
         calls=("GET .../Microsoft.Sql/servers/{server}/firewallRules",)),
    Spec("Microsoft.Sql/servers/databases", "sql",
         lambda c, p, s: c.databases.list_by_server(_rg(p), _name(p)),
         parent="Microsoft.Sql/servers",
         calls=("GET .../Microsoft.Sql/servers/{server}/databases",)),
    Spec("Microsoft.Sql/servers/databases/transparentDataEncryption", "sql",
         lambda c, p, s: c.transparent_data_encryptions.list_by_database(
             _rg(p), str(p["id"]).split("/")[-3], _name(p)),
         parent="Microsoft.Sql/servers/databases", when=_sql_user_db,
         calls=("GET .../servers/{server}/databases/{db}/transparentDataEncryption",)),
    Spec("Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies", "sql",
         lambda c, p, s: c.backup_short_term_retention_policies.list_by_database(
             _rg(p), str(p["id"]).split("/")[-3], _name(p)),
         parent="Microsoft.Sql/servers/databases", when=_sql_user_db,
         calls=("GET .../servers/{server}/databases/{db}/backupShortTermRetentionPolicies",)),
    Spec("Microsoft.Sql/servers/databases/replicationLinks", "sql",
         lambda c, p, s: c.replication_links.list_by_database(
             _rg(p), str(p["id"]).split("/")[-3], _name(p)),
         parent="Microsoft.Sql/servers/databases", when=_sql_user_db,
         calls=("GET .../servers/{server}/databases/{db}/replicationLinks",)),
    Spec("Microsoft.DBforPostgreSQL/flexibleServers", "postgresql",
         lambda c, p, s: c.servers.list_by_subscription(),
         calls=(f"GET {P}/providers/Microsoft.DBforPostgreSQL/flexibleServers",)),
    Spec("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", "postgresql",
         lambda c, p, s: c.firewall_rules.list_by_server(_rg(p), _name(p)),
         parent="Microsoft.DBforPostgreSQL/flexibleServers",
         calls=("GET .../flexibleServers/{server}/firewallRules",)),
    Spec("Microsoft.DBforPostgreSQL/flexibleServers/configurations", "postgresql",
         lambda c, p, s: _server_parameters(c, p, "ssl_min_protocol_version"),
         parent="Microsoft.DBforPostgreSQL/flexibleServers", paged=False,
         calls=("GET .../flexibleServers/{server}/configurations/ssl_min_protocol_version",
                "GET .../flexibleServers/{server}/configurations/require_secure_transport")),
    Spec("Microsoft.DBforMySQL/flexibleServers", "mysql", lambda c, p, s: c.servers.list(),
         calls=(f"GET {P}/providers/Microsoft.DBforMySQL/flexibleServers",)),
    Spec("Microsoft.DBforMySQL/flexibleServers/firewallRules", "mysql",
         lambda c, p, s: c.firewall_rules.list_by_server(_rg(p), _name(p)),
         parent="Microsoft.DBforMySQL/flexibleServers",
         calls=("GET .../Microsoft.DBforMySQL/flexibleServers/{server}/firewallRules",)),
    Spec("Microsoft.DBforMySQL/flexibleServers/configurations", "mysql",
         lambda c, p, s: _server_parameters(c, p, "tls_version"),
         parent="Microsoft.DBforMySQL/flexibleServers", paged=False,
         calls=("GET .../Microsoft.DBforMySQL/flexibleServers/{server}/configurations/"
                "tls_version",
                "GET .../Microsoft.DBforMySQL/flexibleServers/{server}/configurations/"
                "require_secure_transport")),
    Spec("Microsoft.KeyVault/vaults", "keyvault", lambda c, p, s: c.vaults.list_by_subscription(),
         calls=(f"GET {P}/providers/Microsoft.KeyVault/vaults",)),
    Spec("Microsoft.KeyVault/vaults/keys", "keyvault", lambda c, p, s: _vault_keys(c, p),
         parent="Microsoft.KeyVault/vaults", paged=False,
         calls=("GET .../Microsoft.KeyVault/vaults/{vault}/keys",
                "GET .../Microsoft.KeyVault/vaults/{vault}/keys/{key}")),
    Spec("Microsoft.RecoveryServices/vaults", "recoveryservices",
         lambda c, p, s: c.vaults.list_by_subscription_id(),
         calls=(f"GET {P}/providers/Microsoft.RecoveryServices/vaults",)),
    Spec("Microsoft.RecoveryServices/vaults/backupProtectedItems", "backup",
         lambda c, p, s: c.backup_protected_items.list(_name(p), _rg(p)),
         parent="Microsoft.RecoveryServices/vaults",
         calls=("GET .../Microsoft.RecoveryServices/vaults/{vault}/backupProtectedItems",)),
    Spec("Microsoft.RecoveryServices/vaults/backupPolicies", "backup",
         lambda c, p, s: c.backup_policies.list(_name(p), _rg(p)),
         parent="Microsoft.RecoveryServices/vaults",
         calls=("GET .../Microsoft.RecoveryServices/vaults/{vault}/backupPolicies",)),
    Spec("Microsoft.Insights/diagnosticSettings", "raw",
         lambda c, p, s: ("GET", f"/subscriptions/{s}/providers/Microsoft.Insights/"
                                 f"diagnosticSettings?api-version={DIAG_API}"),
         calls=(f"GET {P}/providers/Microsoft.Insights/diagnosticSettings",)),
    Spec("Microsoft.OperationalInsights/workspaces", "raw",
         lambda c, p, s: ("GET", f"/subscriptions/{s}/providers/Microsoft.OperationalInsights/"
                                 f"workspaces?api-version={WORKSPACE_API}"),
         calls=(f"GET {P}/providers/Microsoft.OperationalInsights/workspaces",)),
    Spec("Microsoft.Security/pricings", "security",
         lambda c, p, s: c.pricings.list(f"subscriptions/{s}"), paged=False,
         calls=(f"GET {P}/providers/Microsoft.Security/pricings",)),
    Spec("Microsoft.Authorization/roleAssignments", "authorization",
         lambda c, p, s: c.role_assignments.list_for_subscription(),
         calls=(f"GET {P}/providers/Microsoft.Authorization/roleAssignments",)),
    # the role definitions assignable at the subscription, built-in and custom: what a role
    # assignment of one grants (IAM-02). Built-in ones too: a subscription holds assignments
    # of many of Azure's ~700 built-in roles (Backup Contributor, Security Admin, ...), and
    # one not read would leave its principal's grant unknown
    Spec("Microsoft.Authorization/roleDefinitions", "authorization",
         lambda c, p, s: c.role_definitions.list(f"/subscriptions/{s}"),
         calls=(f"GET {P}/providers/Microsoft.Authorization/roleDefinitions",)),
    Spec("Microsoft.CognitiveServices/accounts", "cognitive", lambda c, p, s: c.accounts.list(),
         calls=(f"GET {P}/providers/Microsoft.CognitiveServices/accounts",)),
    # read on the resources client's pipeline (the REST call of the cognitive services
    # client's deployments.list): a scan that takes the accounts from the resource list
    # imports no other SDK (providers/azure/plan.py)
    Spec("Microsoft.CognitiveServices/accounts/deployments", "raw",
         lambda c, p, s: ("GET", f"{p['id']}/deployments?api-version={COGNITIVE_API}"),
         parent="Microsoft.CognitiveServices/accounts",
         when=lambda p: str(p.get("kind", "")).lower() in ("openai", "aiservices"),
         calls=("GET .../Microsoft.CognitiveServices/accounts/{account}/deployments",)),
    Spec("Microsoft.Web/sites", "web", lambda c, p, s: c.web_apps.list(),
         calls=(f"GET {P}/providers/Microsoft.Web/sites",)),
    Spec("Microsoft.Web/sites/config", "web",
         lambda c, p, s: c.web_apps.get_configuration(_rg(p), _name(p)),
         parent="Microsoft.Web/sites", paged=False,
         calls=("GET .../Microsoft.Web/sites/{site}/config/web",)),
)
BY_NAME = {s.name: s for s in SPECS}
