"""Azure estates in the shapes Microsoft publishes: the ARM example bodies of
tests/data/azure (Azure/azure-rest-api-specs, MIT; see its README), re-homed into one
subscription and wired together by the small, explicit changes below, so that the local
ARM server serves them to the real azure-mgmt clients."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import ROOT

DATA = ROOT / "tests" / "data" / "azure"
SUB = "subid"
RG = f"/subscriptions/{SUB}/resourceGroups/rg1/providers"
NET = f"{RG}/Microsoft.Network"
VNET = f"{NET}/virtualNetworks/rg1-vnet"
OTHER_SUBS = ("00000000-1111-2222-3333-444444444444", "ffffffff-ffff-ffff-ffff-ffffffffffff",
              "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "a925f2f7-5c63-4b7b-8799-25a5f97bc3b2")


def example(name: str) -> dict[str, Any]:
    """A Microsoft example body, its subscription ids made this estate's."""
    text = (DATA / name).read_text()
    for other in OTHER_SUBS:
        text = text.replace(other, SUB)
    body: dict[str, Any] = json.loads(text)
    return body


def renamed(body: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return json.loads(json.dumps(body).replace(old, new))


def public_ip(name: str, address: str, sku: str | None) -> dict[str, Any]:
    pip = renamed(example("PublicIpAddressGet.json"), "testDNS-ip", name)
    pip["location"] = "westeurope"
    pip["properties"]["ipAddress"] = address
    pip["properties"].pop("ipConfiguration", None)
    pip["properties"].pop("ddosSettings", None)
    if sku:
        pip["sku"] = {"name": sku, "tier": "Regional"}
    return pip


def nic(name: str, public: str | None = None, nsg: str | None = "nsg",
        private: str = "172.20.2.4") -> dict[str, Any]:
    """The NetworkInterfaceGet example (two IP configurations) under another name: its
    first configuration's public IP `public` (None: none), its NSG `nsg` (None: none)."""
    body = renamed(example("NetworkInterfaceGet.json"), "test-nic", name)
    body["location"] = "westeurope"
    p = body["properties"]
    cfg = p["ipConfigurations"][0]["properties"]
    cfg["privateIPAddress"] = private
    if public is None:
        cfg.pop("publicIPAddress")
    else:
        cfg["publicIPAddress"] = {"id": f"{NET}/publicIPAddresses/{public}"}
    if nsg is None:
        p.pop("networkSecurityGroup")
    else:
        p["networkSecurityGroup"] = {"id": f"{NET}/networkSecurityGroups/{nsg}"}
    p.pop("virtualMachine")
    return body


def vm(name: str, *nics: str) -> dict[str, Any]:
    return {"id": f"{RG}/Microsoft.Compute/virtualMachines/{name}", "name": name,
            "type": "Microsoft.Compute/virtualMachines", "location": "westeurope",
            "properties": {"networkProfile": {"networkInterfaces": [
                {"id": f"{NET}/networkInterfaces/{n}", "properties": {"primary": i == 0}}
                for i, n in enumerate(nics)]}}}


def vnet() -> dict[str, Any]:
    return {"id": VNET, "name": "rg1-vnet", "type": "Microsoft.Network/virtualNetworks",
            "location": "westeurope", "properties": {
                "addressSpace": {"addressPrefixes": ["172.20.0.0/16"]},
                "subnets": [{"id": f"{VNET}/subnets/default", "name": "default",
                             "properties": {"addressPrefix": "172.20.2.0/24"}},
                            {"id": f"{VNET}/subnets/appgwsubnet", "name": "appgwsubnet",
                             "properties": {"addressPrefix": "172.20.3.0/24"}}]}}


def nsg() -> dict[str, Any]:
    """The NetworkSecurityGroupGet example (admits port 80 from anywhere) as `nsg`."""
    body = renamed(example("NetworkSecurityGroupGet.json"), "testnsg", "nsg")
    body["location"] = "westeurope"
    return body


def basic_nat_lb(target_nic: str) -> dict[str, Any]:
    """A load balancer without a SKU (Basic, the API default) whose inbound NAT rule is
    Microsoft's InboundNatRuleGet example (3390 -> 3389), pointed at `target_nic`."""
    lb_id = f"{NET}/loadBalancers/lb1"
    rule = renamed(example("InboundNatRuleGet.json"), "/resourceGroups/testrg/",
                   "/resourceGroups/rg1/")
    rule["properties"]["backendIPConfiguration"] = {
        "id": f"{NET}/networkInterfaces/{target_nic}/ipConfigurations/ipconfig1"}
    return {"id": lb_id, "name": "lb1", "type": "Microsoft.Network/loadBalancers",
            "location": "westeurope", "properties": {
                "frontendIPConfigurations": [{
                    "id": f"{lb_id}/frontendIPConfigurations/ip1", "name": "ip1",
                    "properties": {"publicIPAddress": {"id": f"{NET}/publicIPAddresses/lbpip"}}}],
                "backendAddressPools": [], "loadBalancingRules": [],
                "inboundNatRules": [rule]}}


def ip_pool_lb(*addresses: str) -> dict[str, Any]:
    """A Standard load balancer whose backend pool is IP-based
    (`loadBalancerBackendAddresses`), forwarding TCP 80 to `addresses` in rg1-vnet."""
    lb_id = f"{NET}/loadBalancers/lb-ip"
    pool = f"{lb_id}/backendAddressPools/ip-pool"
    return {"id": lb_id, "name": "lb-ip", "type": "Microsoft.Network/loadBalancers",
            "location": "westeurope", "sku": {"name": "Standard", "tier": "Regional"},
            "properties": {
                "frontendIPConfigurations": [{
                    "id": f"{lb_id}/frontendIPConfigurations/fe", "name": "fe",
                    "properties": {"publicIPAddress": {"id": f"{NET}/publicIPAddresses/lbip"}}}],
                "backendAddressPools": [{"id": pool, "name": "ip-pool", "properties": {
                    "loadBalancerBackendAddresses": [{"name": f"member{i}", "properties": {
                        "ipAddress": address, "virtualNetwork": {"id": VNET}}}
                        for i, address in enumerate(addresses)]}}],
                "loadBalancingRules": [{"id": f"{lb_id}/loadBalancingRules/http", "name": "http",
                                        "properties": {
                    "frontendIPConfiguration": {"id": f"{lb_id}/frontendIPConfigurations/fe"},
                    "backendAddressPool": {"id": pool}, "protocol": "Tcp",
                    "frontendPort": 80, "backendPort": 80}}],
                "inboundNatRules": []}}


def app_gateway(backend_nic: str, policy: str | None) -> dict[str, Any]:
    """Microsoft's ApplicationGatewayListAll example: an HTTPS listener with a basic rule
    and an HTTP listener with a path-based rule (urlPathMap). `appgwpool` gets
    `backend_nic`'s first IP configuration; `policy`: a firewall policy id."""
    gw = example("ApplicationGatewayListAll.json")
    gw["location"] = "westeurope"
    gw["properties"]["gatewayIPConfigurations"][0]["properties"]["subnet"]["id"] = (
        f"{VNET}/subnets/appgwsubnet")
    pool = gw["properties"]["backendAddressPools"][0]["properties"]
    pool["backendIPConfigurations"] = [
        {"id": f"{NET}/networkInterfaces/{backend_nic}/ipConfigurations/ipconfig1"}]
    if policy:
        gw["properties"]["firewallPolicy"] = {"id": policy}
    return gw


def waf_policy(name: str, mode: str) -> dict[str, Any]:
    body = renamed(example("WafPolicyGet.json"), "Policy1", name)
    body["properties"]["policySettings"]["mode"] = mode
    return body


def estate() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """subscription -> collection -> objects (what ArmServer serves)."""
    sql = example("ServerGet.json")
    sql["location"] = "westeurope"
    everyone = renamed(example("FirewallRuleGet.json"), "firewallrulecrudtest-6285",
                       "sqlcrudtest-4645")
    everyone = renamed(everyone, "firewallrulecrudtest-12", "sqlcrudtest-7398")
    everyone["properties"]["endIpAddress"] = "255.255.255.255"  # the whole IPv4 internet
    master = {"id": f"{sql['id']}/databases/master", "name": "master",
              "type": "Microsoft.Sql/servers/databases", "location": "westeurope",
              "properties": {"status": "Online"}}
    pg1 = example("PostgreSQLServerGet.json")
    pg2 = renamed(pg1, "pgtestsvc1", "pgtestsvc2")
    tls = example("PostgreSQLConfigurationGet.json")
    tls["properties"]["value"] = "TLSv1.2"
    configs = [renamed(renamed(tls, "array_nulls", "ssl_min_protocol_version"), "testserver",
                       server) for server in ("pgtestsvc1", "pgtestsvc2")]
    # require_secure_transport (Microsoft's example is another on/off parameter): ON for
    # pgtestsvc2, OFF for pgtestsvc1 (unencrypted connections accepted as well)
    for server, value in (("pgtestsvc1", "off"), ("pgtestsvc2", "on")):
        secure = renamed(renamed(example("PostgreSQLConfigurationGet.json"), "array_nulls",
                                 "require_secure_transport"), "testserver", server)
        secure["properties"]["value"] = value
        configs.append(secure)
    emotion = example("CognitiveServicesGetAccount.json")
    translator = renamed(emotion, "myAccount", "myTranslator")
    translator.update(location="global", kind="TextTranslation")
    return {SUB: {
        "Microsoft.Network/virtualNetworks": [vnet()],
        "Microsoft.Network/networkSecurityGroups": [nsg()],
        "Microsoft.Network/publicIPAddresses": [
            public_ip("test-ip", "20.0.0.1", "Standard"),
            public_ip("test-ip2", "20.0.0.2", None),
            public_ip("lbpip", "20.0.0.3", None),
            public_ip("appgwpip", "20.0.0.4", "Standard"),
            public_ip("lbip", "20.0.0.5", "Standard")],
        "Microsoft.Network/networkInterfaces": [
            nic("test-nic", public="test-ip"),  # NSG admits 80 only
            nic("nic2", public="test-ip2", nsg=None, private="172.20.2.5"),  # Basic, no NSG
            nic("nic3", nsg=None, private="172.20.2.6"),  # behind the Basic NAT rule
            nic("nic4", private="172.20.2.7"),  # application gateway backend
            nic("nic5", nsg="nsg-not-listed", public="test-ip-not-listed",
                private="172.20.2.8")],
        "Microsoft.Network/loadBalancers": [
            basic_nat_lb("nic3"), ip_pool_lb("172.20.2.7", "172.20.2.6")],
        "Microsoft.Network/applicationGateways": [app_gateway(
            "nic4", f"{NET}/ApplicationGatewayWebApplicationFirewallPolicies/detect")],
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies": [
            waf_policy("detect", "Detection")],
        "Microsoft.Compute/virtualMachines": [
            vm("vm-two-nics", "test-nic", "nic2"), vm("vm-nat", "nic3"),
            vm("vm-web", "nic4"), vm("vm-dangling", "nic5", "nic-not-listed")],
        "Microsoft.Sql/servers": [sql],
        "Microsoft.Sql/servers/firewallRules": [everyone],
        "Microsoft.Sql/servers/databases": [master],  # ARM lists the system database
        "Microsoft.DBforPostgreSQL/flexibleServers": [pg1, pg2],
        "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules": [],
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations": configs,
        "Microsoft.CognitiveServices/accounts": [emotion, translator],
    }}

