"""Estates in Microsoft's published ARM shapes (tests/azure_shapes.py), collected live by
the real azure-mgmt clients from the local HTTPS ARM server: several NICs and IP
configurations, a Basic load balancer's NAT rule, a path-based application gateway rule, a
WAF in Detection mode, references to objects not in the lists read, a per-server read that
is denied, a SQL server without databases and Cognitive Services accounts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.azure import PROVIDER
from scanner import snapshot
from scanner.engine import build_graph
from scanner.model import PROPERTIES, Inventory, Resource
from tests.azure_arm_server import ArmServer
from tests.azure_shapes import NET, RG, estate, example, renamed
from tests.helpers import findings_of, run

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-shapes-token"
VMS = f"{RG}/Microsoft.Compute/virtualMachines".lower()
PG = "/subscriptions/subid/resourcegroups/testrg/providers/microsoft.dbforpostgresql/" \
     "flexibleservers"
SQL = "/subscriptions/subid/resourcegroups/sqlcrudtest-7398/providers/microsoft.sql/servers/" \
      "sqlcrudtest-4645"
GW = f"{NET}/applicationGateways/appgw".lower()


@pytest.fixture
def arm() -> Iterator[ArmServer]:
    with ArmServer(estate(), token=TOKEN) as server:
        yield server


def scan(arm: ArmServer, tmp_path: Path, *args: str
         ) -> tuple[dict[str, Any], Inventory, dict[str, Resource]]:
    """A live scan (recorded), its JSON report and the recorded section, normalized."""
    snap = tmp_path / "estate.json"
    result = run("scan", "azure", "--format", "json", "--no-timestamps", "--record", str(snap),
                 *args, env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                             "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                             "REQUESTS_CA_BUNDLE": arm.ca_file,
                             "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert result.exit_code in (0, 1, 3), result.stderr
    inv = PROVIDER.normalize(snapshot.load(snap).sections[0])
    return json.loads(result.stdout), inv, {r.id: r for r in inv.resources}


def status(doc: dict[str, Any], check: str, resource: str) -> str:
    found = [f["status"] for f in findings_of(doc)
             if f["check"] == check and f["resource"] == resource.lower()]
    assert len(found) == 1, (check, resource, found)
    return found[0]


def test_every_nic_of_a_vm_is_judged_against_its_own_nsgs(arm: ArmServer, tmp_path: Path
                                                          ) -> None:
    """vm-two-nics: its first NIC's NSG admits only port 80 (Microsoft's NSG example); its
    second NIC has a Basic public IP and no NSG at all, which Azure leaves open."""
    doc, _, res = scan(arm, tmp_path, "--checks", "NET-02,NET-03,NET-04")
    vm = f"{VMS}/vm-two-nics"
    assert sorted(res[vm].prop("public_ips")) == ["20.0.0.1", "20.0.0.2"]
    assert status(doc, "NET-02", vm) == "fail"
    assert status(doc, "NET-04", vm) == "fail"


def test_nat_through_a_basic_load_balancer_without_nsg_is_open(arm: ArmServer,
                                                                tmp_path: Path) -> None:
    """lb1 has no SKU (Basic) and forwards 3390 -> RDP 3389 (Microsoft's NAT rule example)
    to a NIC without NSG: Basic is open by default, so RDP answers the internet."""
    doc, _, res = scan(arm, tmp_path, "--checks", "NET-02")
    vm = f"{VMS}/vm-nat"
    assert res[vm].prop("public_ips") == ["20.0.0.3"]
    assert status(doc, "NET-02", vm) == "fail"


def test_a_path_based_rule_reaches_the_gateways_backends(arm: ArmServer, tmp_path: Path
                                                         ) -> None:
    """Microsoft's application gateway example: the HTTP listener's rule is path-based
    (urlPathMap); its default and /api paths forward to appgwpool on port 80."""
    _, inv, res = scan(arm, tmp_path, "--checks", "TLS-02,NET-02")
    listener = f"{GW}/httplisteners/appgwhttplistener"
    assert res[listener].prop("target_port") == 80
    assert res[listener].prop("redirects_to_https") is False
    reaches = build_graph([inv]).reaches(f"{VMS}/vm-web")
    assert listener in {r.listener for r in reaches}


def test_an_ip_based_backend_pool_member_is_a_load_balancer_target(arm: ArmServer,
                                                                     tmp_path: Path) -> None:
    """lb-ip's pool names vm-web's private address (loadBalancerBackendAddresses), not its
    NIC; vm-web's NSG admits port 80, so the Standard load balancer reaches it."""
    _, inv, _ = scan(arm, tmp_path, "--checks", "NET-02")
    graph = build_graph([inv])
    lb = f"{NET}/loadBalancers/lb-ip".lower()
    assert lb in {r.via for r in graph.reaches(f"{VMS}/vm-web")}
    # its other member (vm-nat's NIC) has no NSG: a Standard load balancer is closed then
    assert lb not in {r.via for r in graph.reaches(f"{VMS}/vm-nat")}


def test_a_waf_in_detection_mode_does_not_protect(arm: ArmServer, tmp_path: Path) -> None:
    _, _, res = scan(arm, tmp_path, "--checks", "NET-06")
    assert res[GW].prop("waf") is False


def test_dangling_references_are_unknown_naming_the_id(arm: ArmServer, tmp_path: Path
                                                       ) -> None:
    """vm-dangling names a NIC that is not in the list read; its other NIC names an NSG
    and a public IP that are not either: unknown, never "no public IP" or "no NSG"."""
    _, _, res = scan(arm, tmp_path, "--checks", "NET-02")
    unknown = res[f"{VMS}/vm-dangling"].unknown
    assert {"public_ips", "ingress", "private_ips"} <= set(unknown)
    assert "networkinterfaces/nic-not-listed" in unknown["private_ips"].why
    assert "publicipaddresses/test-ip-not-listed" in unknown["public_ips"].why
    assert "networksecuritygroups/nsg-not-listed" in unknown["ingress"].why
    assert unknown["public_ips"].opens and not unknown["public_ips"].closes
    # (a NET-02 scan reads no VM user data: each VM's plaintext_secrets is unknown, SEC-01's)
    assert {r: set(res[r].unknown) - {"plaintext_secrets"} for r in res
            if r.startswith(VMS) and "dangling" not in r} == {
        f"{VMS}/{name}": set() for name in ("vm-two-nics", "vm-nat", "vm-web")}


def test_a_denied_configuration_read_touches_only_that_servers_min_tls(
        arm: ArmServer, tmp_path: Path) -> None:
    arm.fail("/flexibleservers/pgtestsvc1/configurations", 403, "AuthorizationFailed")
    doc, _, res = scan(arm, tmp_path, "--checks", "TLS-01,NET-01")
    errors = [(e["collection"], e.get("resource", "").lower()) for e in doc["errors"]]
    assert errors == [("Microsoft.DBforPostgreSQL/flexibleServers/configurations",
                       f"{PG}/pgtestsvc1")]
    assert set(res[f"{PG}/pgtestsvc1"].unknown) == {"min_tls"}
    assert res[f"{PG}/pgtestsvc1"].unknown["min_tls"].reason == "denied"
    assert res[f"{PG}/pgtestsvc2"].unknown == {}
    assert res[f"{PG}/pgtestsvc2"].prop("min_tls") == "1.2"


def test_a_flexible_server_that_does_not_require_secure_transport_accepts_plaintext(
        arm: ArmServer, tmp_path: Path) -> None:
    """pgtestsvc1's require_secure_transport is OFF (Microsoft's configuration example as
    that parameter): unencrypted connections are accepted whatever its
    ssl_min_protocol_version (TLSv1.2: it was a TLS-01 pass, the parameter not read);
    pgtestsvc2's is ON."""
    doc, _, res = scan(arm, tmp_path, "--checks", "TLS-01")
    assert res[f"{PG}/pgtestsvc1"].prop("min_tls") == "1.0"
    assert status(doc, "TLS-01", f"{PG}/pgtestsvc1") == "fail"
    assert res[f"{PG}/pgtestsvc2"].prop("min_tls") == "1.2"
    assert status(doc, "TLS-01", f"{PG}/pgtestsvc2") == "pass"


def test_a_sql_server_without_databases_is_a_judged_endpoint(arm: ArmServer, tmp_path: Path
                                                             ) -> None:
    """Microsoft's server example (public network access enabled) with a firewall rule
    admitting 0.0.0.0-255.255.255.255 and no user database."""
    doc, _, _ = scan(arm, tmp_path, "--checks", "NET-01,NET-02")
    assert status(doc, "NET-01", SQL) == "fail"
    assert status(doc, "NET-02", SQL) == "fail"  # 1433 from anywhere


def test_every_cognitive_services_account_is_judged_and_global_is_outside_the_eu(
        arm: ArmServer, tmp_path: Path) -> None:
    doc, _, res = scan(arm, tmp_path, "--profile", "seed-000", "--checks", "RES-01")
    accounts = "/subscriptions/subid/resourcegroups/myresourcegroup/providers/" \
               "microsoft.cognitiveservices/accounts"
    assert res[f"{accounts}/mytranslator"].region == "global"
    assert status(doc, "RES-01", f"{accounts}/myaccount") == "fail"  # westus
    assert status(doc, "RES-01", f"{accounts}/mytranslator") == "fail"  # global


def test_mysql_tls_version_lists_are_judged_by_their_lowest_version() -> None:
    """MySQL's tls_version lists every version accepted, in any order."""
    from scanner.snapshot import Section

    server = renamed(example("PostgreSQLServerGet.json"), "DBforPostgreSQL", "DBforMySQL")
    config = renamed(renamed(example("PostgreSQLConfigurationGet.json"), "DBforPostgreSQL",
                             "DBforMySQL"), "testserver", "pgtestsvc1")
    config = renamed(config, "array_nulls", "tls_version")
    config["properties"]["value"] = "TLSv1.3,TLSv1.1"
    section = Section(provider="azure", account="subid", collected_at="2026-12-06T00:00:00Z")
    section.add("Microsoft.DBforMySQL/flexibleServers", "westus", [server])
    section.add("Microsoft.DBforMySQL/flexibleServers/configurations", "westus", [config])
    (db,) = [r for r in PROVIDER.normalize(section).resources if r.kind.value == "database"]
    assert db.prop("min_tls") == "1.1"


def test_unknown_properties_are_documented_properties_of_their_kind(arm: ArmServer,
                                                                    tmp_path: Path) -> None:
    arm.fail("/flexibleservers/pgtestsvc2/firewallrules", 403, "AuthorizationFailed")
    _, inv, _ = scan(arm, tmp_path, "--checks", "NET-01,NET-02,TLS-01")
    marked = [r for r in inv.resources if r.unknown]
    assert len(marked) >= 2
    for r in marked:
        for name in r.unknown:
            assert name in PROPERTIES and r.kind in PROPERTIES[name].kinds, (r.id, name)
    pg2 = next(r for r in marked if r.id.endswith("/pgtestsvc2"))
    assert set(pg2.unknown) == {"ingress"} and not pg2.unknown["ingress"].closes
