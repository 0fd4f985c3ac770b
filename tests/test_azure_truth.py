"""Verdicts on Azure data in the shapes Microsoft documents: ARM example bodies of
Azure/azure-rest-api-specs (tests/data/azure, MIT; see its README) served by the local HTTPS
ARM server to the real azure-mgmt clients, each changed only by the explicit edits below to
the shape a real estate has (an NSG rule naming a subnet prefix as destination, the
activity-log categories a setting exports, a NAT rule for both transport protocols).

One live scan of one estate serves every test (module fixture), so the file stays quick."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.azure import PROVIDER
from scanner import snapshot
from scanner.model import Resource
from tests.azure_arm_server import ArmServer, sections_of
from tests.azure_shapes import NET, RG, SUB, example, nic, public_ip, renamed, vm, vnet
from tests.helpers import ROOT, findings_of, run

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-truth-token"
NSGS = f"{NET}/networkSecurityGroups".lower()
CHECKS = "NET-02,NET-06,NET-07,LOG-01,LOG-03,ENC-01,ENC-03,TLS-01"


def nsg(name: str, **rule: Any) -> dict[str, Any]:
    """Microsoft's NetworkSecurityGroupGet example (rule1: any protocol, port 80, from `*`
    to `*`, priority 130) as `name`, rule1's properties updated with `rule`."""
    body = renamed(example("NetworkSecurityGroupGet.json"), "testnsg", name)
    body["location"] = "westeurope"
    body["properties"]["securityRules"][0]["properties"].update(rule)
    return body


def rdp_allow(name: str, **destination: Any) -> dict[str, Any]:
    """rule1 made Microsoft's documented "RDPAllow" rule (Tcp 3389 from `*`), to `destination`
    (https://learn.microsoft.com/azure/azure-resource-manager/templates/ "networkSecurity-
    GroupsSettings" parameter file: destinationAddressPrefix "10.0.0.0/24")."""
    body = nsg(name, protocol="Tcp", destinationPortRange="3389")
    props = body["properties"]["securityRules"][0]["properties"]
    props.pop("destinationAddressPrefix")
    props.update(destination)
    return body


def shadowed_rdp() -> dict[str, Any]:
    """RDP from `*` to `*` at 130, after a deny of RDP to one address only (priority 100):
    the allow rule still admits RDP from the internet to every other address."""
    body = rdp_allow("nsg-rdp-after-narrow-deny", destinationAddressPrefix="*")
    deny = json.loads(json.dumps(body["properties"]["securityRules"][0]))
    deny["name"] = "deny-one"
    deny["id"] = deny["id"].replace("/rule1", "/deny-one")
    deny["properties"].update(access="Deny", priority=100, destinationAddressPrefix="10.0.0.5")
    body["properties"]["securityRules"].insert(0, deny)
    return body


def source_port_deny() -> dict[str, Any]:
    """RDP from `*` to `*` at 130, after a deny of RDP from source port 53 only (priority
    100): every other client's connection to 3389 is admitted."""
    body = shadowed_rdp()
    body = renamed(body, "nsg-rdp-after-narrow-deny", "nsg-rdp-after-source-port-deny")
    body["name"] = "nsg-rdp-after-source-port-deny"
    deny = body["properties"]["securityRules"][0]["properties"]
    deny.update(destinationAddressPrefix="*", sourcePortRange="53")
    return body


def nat_all_lb(target_nic: str) -> dict[str, Any]:
    """A Basic load balancer whose inbound NAT rule is Microsoft's InboundNatRuleGet example
    (3390 -> 3389) with protocol "All" (TCP and UDP, the TransportProtocol enum)."""
    lb_id = f"{NET}/loadBalancers/lb-all"
    rule = renamed(example("InboundNatRuleGet.json"), "/resourceGroups/testrg/",
                   "/resourceGroups/rg1/")
    rule = renamed(rule, "loadBalancers/lb1/", "loadBalancers/lb-all/")
    rule["properties"]["protocol"] = "All"
    rule["properties"]["backendIPConfiguration"] = {
        "id": f"{NET}/networkInterfaces/{target_nic}/ipConfigurations/ipconfig1"}
    return {"id": lb_id, "name": "lb-all", "type": "Microsoft.Network/loadBalancers",
            "location": "westeurope", "properties": {
                "frontendIPConfigurations": [{
                    "id": f"{lb_id}/frontendIPConfigurations/ip1", "name": "ip1",
                    "properties": {"publicIPAddress": {"id": f"{NET}/publicIPAddresses/allpip"}}}],
                "backendAddressPools": [], "loadBalancingRules": [],
                "inboundNatRules": [rule]}}


def diagnostic_setting(name: str, logs: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Microsoft's subscription diagnostic setting example (`allLogs`, enabled) as `name`,
    its `logs` replaced by `logs` when given."""
    body = renamed(example("SubscriptionDiagnosticSettingGet.json"),
                   "fb9f25f9-5785-4510-a38f-a62f188eb9f8", SUB)
    body = renamed(body, "diagnosticSettings/ds4", f"diagnosticSettings/{name}")
    body["name"] = name
    if logs is not None:
        body["properties"]["logs"] = logs
    return body


def key_vault() -> dict[str, Any]:
    """Microsoft's getVault example (no `enableSoftDelete`) with purge protection on."""
    body = renamed(example("KeyVaultGet.json"), "00000000-0000-0000-0000-000000000000", SUB)
    body["location"] = "westeurope"
    body["properties"]["enablePurgeProtection"] = True
    return body


def storage_account() -> dict[str, Any]:
    """Microsoft's StorageAccountGetProperties example without its `encryption` object."""
    body = renamed(example("StorageAccountGetProperties.json"), "{subscription-id}", SUB)
    body["location"] = "westeurope"
    body["properties"].pop("encryption")
    body["properties"].pop("primaryLocation")
    body["properties"]["secondaryLocation"] = "northeurope"
    return body


VNET2 = f"{NET}/virtualNetworks/rg1-vnet2"


def ip_protected_estate() -> dict[str, list[dict[str, Any]]]:
    """A second VNet whose one VM answers on Microsoft's PublicIpAddressGet example, which
    has DDoS IP Protection on (`ddosSettings.protectionMode` Enabled)."""
    net = {"id": VNET2, "name": "rg1-vnet2", "type": "Microsoft.Network/virtualNetworks",
           "location": "westeurope", "properties": {
               "addressSpace": {"addressPrefixes": ["172.21.0.0/16"]},
               "subnets": [{"id": f"{VNET2}/subnets/default", "name": "default",
                            "properties": {"addressPrefix": "172.21.0.0/24"}}]}}
    pip = renamed(example("PublicIpAddressGet.json"), "testDNS-ip", "ddos-ip")
    pip["location"] = "westeurope"
    pip["properties"]["ipAddress"] = "20.0.0.10"
    pip["properties"].pop("ipConfiguration")
    card = nic("nic-ipddos", public="ddos-ip", nsg="nsg-web", private="172.21.0.4")
    card["properties"]["ipConfigurations"][0]["properties"]["subnet"] = {
        "id": f"{VNET2}/subnets/default"}
    card["properties"]["ipConfigurations"] = card["properties"]["ipConfigurations"][:1]
    return {"Microsoft.Network/virtualNetworks": [net],
            "Microsoft.Network/publicIPAddresses": [pip],
            "Microsoft.Network/networkInterfaces": [card],
            "Microsoft.Compute/virtualMachines": [vm("vm-ipddos", "nic-ipddos")]}


def pricings(posture_only: bool) -> list[dict[str, Any]]:
    """Microsoft's ListPricings example (workload protection plans and Defender CSPM on
    Standard); `posture_only`: every plan but CloudPosture (Defender CSPM) made Free."""
    plans: list[dict[str, Any]] = example("ListPricings.json")["value"]
    plans = [renamed(p, p["id"].split("/")[2], SUB) for p in plans]
    if posture_only:
        for plan in plans:
            if plan["name"] != "CloudPosture":
                plan["properties"]["pricingTier"] = "Free"
    return plans


def estate(logs: list[dict[str, Any]] | None, posture_only: bool = False
           ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    cols = base_estate(logs, posture_only)
    for name, objs in ip_protected_estate().items():
        cols[name] = cols[name] + objs
    return {SUB: cols}


def sql_server() -> list[dict[str, Any]]:
    """Microsoft's ServerGet example (public network access on) with minimalTlsVersion
    "None", the API's value for no minimum, and its system database."""
    server = example("ServerGet.json")
    server["location"] = "westeurope"
    server["properties"]["minimalTlsVersion"] = "None"
    return [server]


def base_estate(logs: list[dict[str, Any]] | None, posture_only: bool
                ) -> dict[str, list[dict[str, Any]]]:
    return {
        "Microsoft.Security/pricings": pricings(posture_only),
        "Microsoft.Network/virtualNetworks": [vnet()],
        "Microsoft.Network/networkSecurityGroups": [
            rdp_allow("nsg-rdp-to-prefix", destinationAddressPrefix="10.0.0.0/24"),
            rdp_allow("nsg-rdp-to-asg", destinationApplicationSecurityGroups=[
                {"id": f"{NET}/applicationSecurityGroups/jumphosts"}]),
            shadowed_rdp(),
            source_port_deny(),
            rdp_allow("nsg-rdp-from-two-halves", destinationAddressPrefix="*",
                      sourceAddressPrefix="", sourceAddressPrefixes=["0.0.0.0/1",
                                                                     "128.0.0.0/1"]),
            rdp_allow("nsg-rdp-to-storage-tag", destinationAddressPrefix="Storage"),
            nsg("nsg-udp-rdp", protocol="Udp", destinationPortRange="3389"),
            nsg("nsg-web")],
        "Microsoft.Network/publicIPAddresses": [public_ip("allpip", "20.0.0.9", None)],
        "Microsoft.Network/networkInterfaces": [nic("nic-udp", nsg="nsg-udp-rdp")],
        "Microsoft.Network/loadBalancers": [nat_all_lb("nic-udp")],
        "Microsoft.Compute/virtualMachines": [vm("vm-udp", "nic-udp")],
        "Microsoft.Insights/diagnosticSettings": [diagnostic_setting("activity", logs)],
        "Microsoft.KeyVault/vaults": [key_vault()],
        "Microsoft.KeyVault/vaults/keys": [],
        "Microsoft.Storage/storageAccounts": [storage_account()],
        "Microsoft.Sql/servers": sql_server(),
        "Microsoft.Sql/servers/firewallRules": [],
        "Microsoft.Sql/servers/databases": [{
            "id": f"{sql_server()[0]['id']}/databases/master", "name": "master",
            "type": "Microsoft.Sql/servers/databases", "location": "westeurope",
            "properties": {"status": "Online"}}],
    }


def scan(tmp_path: Path, logs: list[dict[str, Any]] | None, posture_only: bool = False
         ) -> tuple[dict[str, Any], dict[str, Resource]]:
    # one page: Microsoft.Security/pricings is not pageable (PricingList has no nextLink),
    # so the server must answer it whole, as ARM does
    with ArmServer(estate(logs, posture_only), token=TOKEN, page_size=100) as arm:
        snap = tmp_path / "estate.json"
        result = run("scan", "azure", "--format", "json", "--no-timestamps", "--record",
                     str(snap), "--checks", CHECKS,
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file,
                          "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    inv = PROVIDER.normalize(snapshot.load(snap).sections[0])
    return json.loads(result.stdout), {r.id: r for r in inv.resources}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[dict[str, Any], dict[str, Resource]]]:
    yield scan(tmp_path_factory.mktemp("truth"), None)


@pytest.fixture(scope="module")
def narrowed(tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[dict[str, Any], dict[str, Resource]]]:
    """The estate with the activity-log setting exporting Security and ServiceHealth only
    (Administrative disabled) and Defender CSPM the only Standard plan."""
    yield scan(tmp_path_factory.mktemp("narrowed"),
               [{"category": "Administrative", "enabled": False},
                {"category": "Security", "enabled": True},
                {"category": "ServiceHealth", "enabled": True}], posture_only=True)


def status(doc: dict[str, Any], check: str, resource: str) -> str:
    found: list[str] = [f["status"] for f in findings_of(doc)
             if f["check"] == check and f["resource"] == resource.lower()]
    assert len(found) == 1, (check, resource, found)
    return found[0]



def planned_values(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every planned value object of the plan (its changes' `after` and `planned_values`), so
    that an edit reads the same in both."""
    values = [rc["change"]["after"] for rc in plan["resource_changes"]]
    return values + [r["values"] for r in plan["planned_values"]["root_module"]["resources"]]


def plan_statuses(tmp_path: Path, plan: dict[str, Any], check: str) -> dict[str, str]:
    """`check`'s verdict per resource address in a scan of `plan`."""
    path = tmp_path / "azure.plan.json"
    path.write_text(json.dumps(plan))
    result = run("scan", str(path), "--checks", check, "--format", "json", "--no-timestamps")
    return {f["resource"].split("/", 1)[1]: f["status"]
            for f in findings_of(json.loads(result.stdout)) if f["check"] == check}

def test_an_nsg_rule_admitting_rdp_from_the_internet_fails_whatever_address_it_names(
        scanned: tuple[dict[str, Any], dict[str, Resource]]) -> None:
    """NET-07 judges the rule itself: RDP from `*` to a subnet prefix or to an application
    security group is such a rule (it was dropped: the rule's destination was matched
    against 0.0.0.0, a pass); so is an allow after a deny of one address only or of one
    source port only (a deny read as covering every client, a pass); so is a rule whose
    plural sources 0.0.0.0/1 and 128.0.0.0/1 are the whole internet. A rule to
    the `Storage` service tag names no machine behind the NSG; Microsoft's own example
    admits port 80 only."""
    doc, _ = scanned
    assert status(doc, "NET-07", f"{NSGS}/nsg-rdp-to-prefix") == "fail"
    assert status(doc, "NET-07", f"{NSGS}/nsg-rdp-to-asg") == "fail"
    assert status(doc, "NET-07", f"{NSGS}/nsg-rdp-after-narrow-deny") == "fail"
    assert status(doc, "NET-07", f"{NSGS}/nsg-rdp-after-source-port-deny") == "fail"
    assert status(doc, "NET-07", f"{NSGS}/nsg-rdp-from-two-halves") == "fail"
    assert status(doc, "NET-07", f"{NSGS}/nsg-rdp-to-storage-tag") == "pass"
    assert status(doc, "NET-07", f"{NSGS}/nsg-web") == "pass"


def test_an_inbound_nat_rule_for_all_protocols_forwards_udp(
        scanned: tuple[dict[str, Any], dict[str, Resource]]) -> None:
    """Protocol "All" forwarded TCP only: the NIC's NSG admits RDP over UDP from anywhere,
    so UDP 3389 answers the internet through the NAT rule (it was a NET-02 pass)."""
    doc, res = scanned
    vm_id = f"{RG}/Microsoft.Compute/virtualMachines/vm-udp".lower()
    assert res[vm_id].prop("public_ips") == ["20.0.0.9"]
    assert status(doc, "NET-02", vm_id) == "fail"


def test_ddos_protection_of_a_vnet_counts_ip_protection_and_nat_targets(
        scanned: tuple[dict[str, Any], dict[str, Resource]]) -> None:
    """rg1-vnet2's only public IP (Microsoft's PublicIpAddressGet example) has DDoS IP
    Protection: protected (it was a NET-06 fail: only a VNet plan counted). rg1-vnet's VM
    answers through an inbound NAT rule of a public load balancer: a public entry point,
    judged (it was not judged at all), and its frontend IP has no protection."""
    doc, _ = scanned
    assert status(doc, "NET-06", VNET2) == "pass"
    assert status(doc, "NET-06", f"{NET}/virtualNetworks/rg1-vnet") == "fail"


def test_a_sql_server_without_a_minimum_tls_version_accepts_tls_1_0(
        scanned: tuple[dict[str, Any], dict[str, Resource]]) -> None:
    """minimalTlsVersion "None" is no minimum: any TLS version, even unencrypted connections
    (it was not a TLS name: the minimum unknown, a TLS-01 error)."""
    doc, res = scanned
    server = ("/subscriptions/subid/resourcegroups/sqlcrudtest-7398/providers/microsoft.sql/"
              "servers/sqlcrudtest-4645")
    assert res[server].prop("min_tls") == "1.0"
    assert status(doc, "TLS-01", server) == "fail"


def test_a_vault_without_enable_soft_delete_has_soft_delete_on(
        scanned: tuple[dict[str, Any], dict[str, Resource]]) -> None:
    """Microsoft's getVault example has no `enableSoftDelete`: on by default (it was
    unknown: an ENC-03 error on a vault with purge protection)."""
    doc, res = scanned
    vault = ("/subscriptions/subid/resourcegroups/sample-resource-group/providers/"
             "microsoft.keyvault/vaults/sample-vault")
    assert res[vault].prop("soft_delete") is True
    assert status(doc, "ENC-03", vault) == "pass"


def test_a_storage_account_without_an_encryption_object_is_encrypted_by_the_provider(
        scanned: tuple[dict[str, Any], dict[str, Resource]]) -> None:
    doc, res = scanned
    account = ("/subscriptions/subid/resourcegroups/res9407/providers/microsoft.storage/"
               "storageaccounts/sto8596")
    assert res[account].prop("encryption_evidence") == "provider"
    assert status(doc, "ENC-01", account) == "pass"


def test_a_storage_account_without_a_minimum_tls_version_accepts_tls_1_0(
        scanned: tuple[dict[str, Any], dict[str, Resource]]) -> None:
    """Microsoft's StorageAccountGetProperties example has no `minimumTlsVersion`: "The
    default interpretation is TLS 1.0 for this property" (storage.json). It was unknown: a
    TLS-01 error on an account that accepts TLS 1.0."""
    doc, res = scanned
    account = ("/subscriptions/subid/resourcegroups/res9407/providers/microsoft.storage/"
               "storageaccounts/sto8596")
    assert res[account].prop("min_tls") == "1.0"
    assert status(doc, "TLS-01", account) == "fail"


def test_the_audit_log_needs_the_administrative_category(
        scanned: tuple[dict[str, Any], dict[str, Resource]],
        narrowed: tuple[dict[str, Any], dict[str, Resource]]) -> None:
    """Microsoft's example exports `allLogs`: an audit log. A setting exporting Security
    and ServiceHealth, with Administrative disabled, records no control-plane change (it
    was a LOG-01 pass: any enabled category counted)."""
    assert status(scanned[0], "LOG-01", f"azure:{SUB}") == "pass"
    assert status(narrowed[0], "LOG-01", f"azure:{SUB}") == "fail"


def test_defender_cspm_alone_is_no_threat_detection(
        scanned: tuple[dict[str, Any], dict[str, Resource]],
        narrowed: tuple[dict[str, Any], dict[str, Resource]]) -> None:
    """Microsoft's plan list (Servers P2, Storage, SQL, Key Vault, ... on Standard) detects
    threats; with only CloudPosture (Defender CSPM, posture management) on Standard it does
    not (it was a LOG-03 pass: any Standard plan counted)."""
    assert status(scanned[0], "LOG-03", f"azure:{SUB}") == "pass"
    assert status(narrowed[0], "LOG-03", f"azure:{SUB}") == "fail"


def test_a_planned_nsg_rule_to_a_subnet_prefix_is_judged_as_the_live_one(tmp_path: Path
                                                                          ) -> None:
    """The Terraform reading shares the NSG semantics: the bundled plan's RDP rule from `*`,
    pointed at 10.0.0.0/24 instead of `*`, still fails NET-07 (it was a pass)."""
    plan = json.loads((ROOT / "fixtures" / "terraform" / "azure.plan.json").read_text())
    for after in planned_values(plan):
        if after.get("name") == "nsg-vm":
            after["security_rule"][0]["destination_address_prefix"] = "10.0.0.0/24"
    found = plan_statuses(tmp_path, plan, "NET-07")
    assert found["azurerm_network_security_group.vm"] == "fail"


def test_a_vm_whose_backups_are_suspended_is_not_backed_up(tmp_path: Path) -> None:
    """The bundled seed-000 estate (protected items in the Recovery Services shape), vm-app-1's
    item in state BackupsSuspended ("stop backup with retain data as per policy"; the
    ProtectedItemState enum): no daily backup any more (it was a BAK-02 pass: only
    ProtectionStopped counted as unprotected)."""
    sections = sections_of(ROOT / "fixtures" / "azure" / "seed000-azure.json")
    sub = next(iter(sections))
    items = sections[sub]["Microsoft.RecoveryServices/vaults/backupProtectedItems"]
    vm_id = next(i["properties"]["sourceResourceId"] for i in items
                 if i["properties"]["friendlyName"] == "vm-app-1")
    for item in items:
        if item["properties"]["sourceResourceId"] == vm_id:
            item["properties"]["protectionState"] = "BackupsSuspended"
    with ArmServer(sections, token=TOKEN) as arm:
        result = run("scan", "azure", "--subscription", sub, "--checks", "BAK-02",
                     "--format", "json", "--no-timestamps",
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file})
    assert status(json.loads(result.stdout), "BAK-02", vm_id) == "fail"


def test_a_setting_sending_the_activity_log_to_a_partner_solution_is_logging() -> None:
    """`marketplacePartnerId` is a diagnostic-setting destination like a workspace, a storage
    account or an event hub (it was read as no destination: logging off)."""
    from scanner.snapshot import Section

    setting = diagnostic_setting("partner", None)
    for key in ("storageAccountId", "workspaceId", "eventHubAuthorizationRuleId"):
        setting["properties"].pop(key)
    setting["properties"]["marketplacePartnerId"] = (
        f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Datadog/monitors/dd1")
    section = Section(provider="azure", account=SUB, collected_at="2026-12-06T00:00:00Z")
    section.add("Microsoft.Insights/diagnosticSettings", "global", [setting])
    (trail,) = [r for r in PROVIDER.normalize(section).resources if r.kind.value == "log_trail"]
    assert trail.prop("logging_enabled") is True


def test_a_gateway_subnet_nsg_rule_naming_the_subnet_admits_the_gateways_traffic(
        tmp_path: Path) -> None:
    """Microsoft's application gateway example in appgwsubnet (172.20.3.0/24), whose NSG
    admits ports 80 and 443 from the internet to that subnet prefix (its instances' addresses):
    the gateway answers the internet and reaches its backend (the rule was dropped, as if
    it named no address of the gateway: no path, NET-03/NET-02 passes on the backends)."""
    from scanner.engine import build_graph
    from tests.azure_shapes import app_gateway

    net = vnet()
    net["properties"]["subnets"][1]["properties"]["networkSecurityGroup"] = {
        "id": f"{NET}/networkSecurityGroups/nsg-appgw"}
    gw_nsg = nsg("nsg-appgw", protocol="Tcp", destinationPortRange="",
                 destinationPortRanges=["80", "443"], sourceAddressPrefix="Internet",
                 destinationAddressPrefix="172.20.3.0/24")
    sections = {SUB: {
        "Microsoft.Network/virtualNetworks": [net],
        "Microsoft.Network/networkSecurityGroups": [gw_nsg, nsg("nsg")],
        "Microsoft.Network/publicIPAddresses": [public_ip("appgwpip", "20.0.0.4", "Standard")],
        "Microsoft.Network/networkInterfaces": [nic("nic4", private="172.20.2.7")],
        "Microsoft.Network/loadBalancers": [],
        "Microsoft.Network/applicationGateways": [app_gateway("nic4", None)],
        "Microsoft.Compute/virtualMachines": [vm("vm-web", "nic4")],
    }}
    with ArmServer(sections, token=TOKEN, page_size=100) as arm:
        snap = tmp_path / "gw.json"
        result = run("scan", "azure", "--checks", "NET-02", "--format", "json",
                     "--no-timestamps", "--record", str(snap),
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file})
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    graph = build_graph([PROVIDER.normalize(snapshot.load(snap).sections[0])])
    gw = f"{NET}/applicationGateways/appgw".lower()
    assert any(r.target == gw for r in graph.reaches(gw))
    backend = f"{RG}/Microsoft.Compute/virtualMachines/vm-web".lower()
    assert gw in {r.via for r in graph.reaches(backend)}


def test_a_rule_to_the_subnet_admits_a_planned_vm_whose_private_ip_is_not_known_yet(
        tmp_path: Path) -> None:
    """The bundled plan's NIC with a Dynamic private IP (known after apply) and its NSG's
    RDP rule from `*` pointed at the subnet 10.1.0.0/24: the VM may be at any address of
    it, so the rule admits RDP to it (it was dropped, as naming no address of the NIC:
    a NET-02 pass)."""
    plan = json.loads((ROOT / "fixtures" / "terraform" / "azure.plan.json").read_text())
    for rc in plan["resource_changes"]:
        if rc["type"] == "azurerm_network_interface":
            cfg = rc["change"]["after"]["ip_configuration"][0]
            cfg.pop("private_ip_address")
            cfg["private_ip_address_allocation"] = "Dynamic"
            rc["change"]["after_unknown"]["ip_configuration"][0]["private_ip_address"] = True
    for r in plan["planned_values"]["root_module"]["resources"]:
        if r["type"] == "azurerm_network_interface":
            r["values"]["ip_configuration"][0].pop("private_ip_address")
            r["values"]["ip_configuration"][0]["private_ip_address_allocation"] = "Dynamic"
    for after in planned_values(plan):
        if after.get("name") == "nsg-vm":
            after["security_rule"][0]["destination_address_prefix"] = "10.1.0.0/24"
    found = plan_statuses(tmp_path, plan, "NET-02")
    assert found["azurerm_linux_virtual_machine.app"] == "fail"


def test_a_planned_deny_rule_for_one_source_port_closes_nothing(tmp_path: Path) -> None:
    """The bundled plan's NSG with a deny of RDP from source port 53 only (priority 90)
    before its RDP allow: every other client still connects (the plan's source ports were
    not read, the deny closed RDP: a NET-07 pass)."""
    plan = json.loads((ROOT / "fixtures" / "terraform" / "azure.plan.json").read_text())
    for after in planned_values(plan):
        if after.get("name") == "nsg-vm":
            rules = after["security_rule"]
            rules.insert(0, {**rules[0], "name": "deny-dns-clients", "access": "Deny",
                             "priority": 90, "source_port_range": "53"})
    found = plan_statuses(tmp_path, plan, "NET-07")
    assert found["azurerm_network_security_group.vm"] == "fail"


@pytest.mark.parametrize("collection,index,field,value,check", [
    ("Microsoft.Compute/virtualMachines", 1, ("osProfile", "linuxConfiguration",
                                              "disablePasswordAuthentication"), "false",
     "IAM-03"),
    ("Microsoft.KeyVault/vaults", 1, ("enablePurgeProtection",), "false", "ENC-03"),
    ("Microsoft.Storage/storageAccounts", 1, ("supportsHttpsTrafficOnly",), "false",
     "TLS-02"),
    ("Microsoft.Network/networkSecurityGroups", 2,
     ("securityRules", 0, "properties", "access"), ["Allow"], "NET-07"),
])
def test_a_boolean_written_as_a_string_is_refused_not_read_as_true(
        tmp_path: Path, collection: str, index: int, field: tuple[Any, ...], value: Any,
        check: str) -> None:
    """`"false"` where the API documents a boolean (vm-jump's password login, the sandbox
    vault's purge protection, stsallytmp's HTTPS-only): read by its truthiness it is true,
    so the fail became a pass; nsg-jump's SSH rule's access as a list read as text was
    "not Allow", a deny. Now the
    object's verdicts are `error` (scanner/quarantine.py), never pass."""
    from tests.fuzz_mutations import sealed_text, set_at

    name = ROOT / "fixtures" / "azure" / "seed000-azure.json"
    doc = json.loads(name.read_text())
    objs = doc["sections"][0]["collections"][collection]["westeurope"]
    target = objs[index]["id"].lower()
    path = ("sections", 0, "collections", collection, "westeurope", index, "properties",
            *field)
    out = tmp_path / "seed000-azure.json"
    out.write_bytes(sealed_text(set_at(doc, path, value), 1))
    result = run("scan", str(out), "--checks", check, "--format", "json", "--no-timestamps")
    assert "Traceback" not in result.stdout + result.stderr
    found = [f["status"] for f in findings_of(json.loads(result.stdout))
             if f["check"] == check and f["resource"] == target]
    assert found and set(found) == {"error"}, found


@pytest.mark.parametrize("state, expected", [("Connected", "fail"), ("Disconnected", "pass"),
                                             ("Initiated", "pass"), ("connected", "fail")])
def test_only_a_connected_peering_joins_production_to_another_environment(
        state: str, expected: str) -> None:
    """The bundled seed-004 estate peers vnet-prod with vnet-staging (both sides Connected):
    NET-05 fails. A peering Initiated on one side only, or Disconnected (its other side
    deleted), carries no traffic (VirtualNetworkPeeringState): it was counted all the same, a
    false fail; an `active` VPC peering is the AWS counterpart."""
    sections = sections_of(ROOT / "fixtures" / "generic" / "seed004" / "seed004-azure.json")
    sub = next(iter(sections))
    vnets = sections[sub]["Microsoft.Network/virtualNetworks"]
    for peering in (p for v in vnets for p in v["properties"]["virtualNetworkPeerings"]):
        peering["properties"]["peeringState"] = state
    prod = next(v["id"] for v in vnets if v["name"] == "vnet-prod")
    with ArmServer(sections, token=TOKEN) as arm:
        result = run("scan", "azure", "--subscription", sub, "--checks", "NET-05",
                     "--format", "json", "--no-timestamps",
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file})
    assert status(json.loads(result.stdout), "NET-05", prod) == expected
