"""Nothing a plan holds vanishes (issue 14, part 3): every planned resource instance of a
mapped type becomes a model resource, is a part of one (`iac.parts`), is of a type mapped
without checks (providers/terraform/context.py), or is named in a NOT-ASSESSED finding.
Counted over every bundled plan and state, and over small plans whose instances' owners are
not in the plan (a SQL server without databases, rules of groups that exist elsewhere, a
target of a load balancer that is not planned)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from providers.terraform import PROVIDER, context, plan
from providers.terraform.normalize import normalize
from scanner.model import Inventory, Kind
from scanner.snapshot import Section
from tests.helpers import ROOT, findings_of, scan_json

TF = ROOT / "fixtures" / "terraform"
BUNDLED = sorted([*TF.glob("*.plan.json"), *TF.glob("*.state.json"),
                  *(ROOT / "tests" / "data" / "plans").glob("*.json"),
                  TF / "tf-aws"])  # plain configuration (no plan) too
# fixtures/terraform/*.tfstate are raw state files, read only as --iac declarations for
# INV-01 (docs/terraform.md "Drift"): `posture scan` refuses them with one line, so they
# hold no planned instance to account for.
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
AWS_P = "registry.terraform.io/hashicorp/aws"
AZ_P = "registry.terraform.io/hashicorp/azurerm"
HC_P = "registry.terraform.io/hetznercloud/hcloud"


def res(rtype: str, label: str, provider: str, /, **values: Any) -> dict[str, Any]:
    return {"address": f"{rtype}.{label}", "mode": "managed", "type": rtype, "name": label,
            "provider_name": provider, "schema_version": 0, "values": values}


def state(tmp_path: Path, name: str, *resources: dict[str, Any]) -> Path:
    """A state document (`terraform show -json` of a state) holding these instances."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"format_version": "1.0", "terraform_version": "1.9.8",
                                "values": {"root_module": {"resources": list(resources)}}}))
    return path


SQL_SERVER = res("azurerm_mssql_server", "lonely", AZ_P, name="sql-lonely",
                 location="westeurope", id=f"{SUB}/providers/Microsoft.Sql/servers/sql-lonely",
                 public_network_access_enabled=True, minimum_tls_version="1.2")
SQL_OPEN_RULE = res("azurerm_mssql_firewall_rule", "everyone", AZ_P, name="everyone",
                    server_id=f"{SUB}/providers/Microsoft.Sql/servers/sql-lonely",
                    start_ip_address="0.0.0.0", end_ip_address="255.255.255.255")
SG_RULE_ELSEWHERE = res("aws_security_group_rule", "ssh", AWS_P, type="ingress",
                        security_group_id="sg-0123456789abcdef0", protocol="tcp",
                        from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"])
NSG_RULE_ELSEWHERE = res("azurerm_network_security_rule", "rdp", AZ_P, name="rdp",
                         network_security_group_name="nsg-existing", resource_group_name="rg",
                         priority=100, direction="Inbound", access="Allow", protocol="Tcp",
                         source_address_prefix="*", source_port_range="*",
                         destination_address_prefix="*", destination_port_range="3389")
HC_SERVER = res("hcloud_server", "web", HC_P, name="web", id="42", location="fsn1",
                image="debian-12", server_type="cx22", ipv4_address="203.0.113.7")
LB_TARGET_ELSEWHERE = res("hcloud_load_balancer_target", "web", HC_P, type="server",
                          load_balancer_id=777, server_id=42, use_private_ip=False)
LB_TARGET_OF_NOTHING = res("hcloud_load_balancer_target", "ghost", HC_P, type="server",
                           load_balancer_id=778, server_id=4242)
VOLUME_ATTACHMENT_ELSEWHERE = res("aws_volume_attachment", "data", AWS_P, device_name="/dev/sdf",
                                  volume_id="vol-0123", instance_id="i-0123")
SQL_RULE_ELSEWHERE = res("azurerm_mssql_firewall_rule", "stray", AZ_P, name="stray",
                         server_id=f"{SUB}/providers/Microsoft.Sql/servers/not-planned",
                         start_ip_address="10.0.0.1", end_ip_address="10.0.0.1")

SYNTHETIC = {
    "lonely-sql": (SQL_SERVER, SQL_OPEN_RULE),
    "orphans": (SG_RULE_ELSEWHERE, NSG_RULE_ELSEWHERE, HC_SERVER, LB_TARGET_ELSEWHERE,
                LB_TARGET_OF_NOTHING, VOLUME_ATTACHMENT_ELSEWHERE, SQL_RULE_ELSEWHERE),
}


@dataclass
class Ledger:
    """Where each planned instance of a section went."""

    entries: set[str]
    own: set[str]
    parts: set[str]
    context: set[str]
    skipped: set[str]
    inventory: Inventory

    @property
    def unaccounted(self) -> set[str]:
        return self.entries - self.own - self.parts - self.context - self.skipped


def ledger(section: Section) -> Ledger:
    entries = {str(o["address"]): str(o["type"]) for o in section.items("resources")}
    inv = normalize(section)
    own = {str((r.raw or {}).get("address") or r.properties["iac"]["address"])
           for r in inv.resources}
    parts = {a for r in inv.resources for a in r.properties["iac"].get("parts", [])}
    skipped = {str(o["id"]) for o in section.items("not_assessed")}
    return Ledger(set(entries), own, parts,
                  {a for a, t in entries.items() if t in context.TYPES}, skipped, inv)


def changed_instances(path: Path) -> set[str]:
    """The managed instances a plan's resource_changes create, update, replace or keep."""
    if path.is_dir():
        return set()
    doc = json.loads(plan.decode(path.read_bytes()))
    return {str(rc["address"]) for rc in doc.get("resource_changes") or []
            if rc.get("mode", "managed") == "managed" and not rc.get("deposed")
            and not set((rc.get("change") or {}).get("actions") or ["delete"]) <= {
                "delete", "forget"}}


def sections_of(path: Path) -> list[Section]:
    sections, _ = PROVIDER.read_file(path, {})
    return sections


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_instance_of_a_bundled_plan_is_a_resource_a_part_context_or_not_assessed(
        path: Path) -> None:
    for section in sections_of(path):
        book = ledger(section)
        # the plan holds instances: the count means something
        assert book.entries or book.skipped, path
        assert not book.unaccounted, f"{path.name}: vanished without a finding"
        # counted from the document too: an instance its resource_changes create, update or
        # keep is accounted for even where its planned_values leave it out
        accounted = book.own | book.parts | book.context | book.skipped
        assert not changed_instances(path) - accounted, f"{path.name}: changes vanished"
        # the four outcomes exclude each other: a part has no resource of its own
        assert not book.parts & book.own
        assert not book.skipped & (book.own | book.parts)


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_every_instance_whose_owner_is_not_in_the_plan_is_accounted_for(
        tmp_path: Path, name: str) -> None:
    for section in sections_of(state(tmp_path, name, *SYNTHETIC[name])):
        book = ledger(section)
        assert book.entries == {r["address"] for r in SYNTHETIC[name]}
        assert not book.unaccounted


def test_folded_instances_are_listed_in_the_iac_parts_of_the_resource_they_make() -> None:
    sections = sections_of(TF / "azure.plan.json")
    parts = {r.properties["iac"]["address"]: r.properties["iac"].get("parts", [])
             for s in sections for r in ledger(s).inventory.resources}
    vm = next(a for a in parts if a.startswith("azurerm_linux_virtual_machine.")
              and "/" not in a)
    assert {"azurerm_network_interface.vm",
            "azurerm_network_interface_security_group_association.vm"} <= set(parts[vm])
    nsg = next(a for a in parts if a.startswith("azurerm_network_security_group."))
    assert "azurerm_network_security_rule.https" in parts[nsg]
    db = next(a for a in parts if a.startswith("azurerm_mssql_database."))
    assert {"azurerm_mssql_server.main", "azurerm_mssql_firewall_rule.azure_services"} \
        <= set(parts[db])


def test_seed_plan_firewall_attachment_is_a_part_of_the_server_it_attaches_to() -> None:
    inv = ledger(sections_of(TF / "hcloud-seed002.plan.json")[0]).inventory
    owners = [r.properties["iac"]["address"] for r in inv.resources
              if "hcloud_firewall_attachment.vpn" in r.properties["iac"].get("parts", [])]
    assert owners and all(a.startswith("hcloud_server.") for a in owners)


def test_a_sql_server_without_databases_is_judged_as_the_database_endpoint(
        tmp_path: Path) -> None:
    _, doc = scan_json(str(state(tmp_path, "lonely-sql", SQL_SERVER, SQL_OPEN_RULE)),
                       "--checks", "NET-01")
    found = {(f["check"], f["resource"].split("/", 1)[1], f["status"])
             for f in findings_of(doc) if f["check"] != "NOT-ASSESSED"}
    # a server-level rule 0.0.0.0-255.255.255.255 lets every address connect to the server
    assert ("NET-01", "azurerm_mssql_server.lonely", "fail") in found


def test_a_security_group_rule_of_a_group_not_in_the_plan_is_judged_as_a_firewall(
        tmp_path: Path) -> None:
    _, doc = scan_json(str(state(tmp_path, "sg-rule", SG_RULE_ELSEWHERE)), "--checks", "NET-07")
    assert [(f["check"], f["status"]) for f in findings_of(doc)
            if f["resource"].endswith("/aws_security_group_rule.ssh")] == [("NET-07", "fail")]


def test_an_nsg_rule_of_an_nsg_not_in_the_plan_is_judged_as_a_firewall(tmp_path: Path) -> None:
    _, doc = scan_json(str(state(tmp_path, "nsg-rule", NSG_RULE_ELSEWHERE)),
                       "--checks", "NET-07")
    assert [(f["check"], f["status"]) for f in findings_of(doc)
            if f["resource"].endswith("/azurerm_network_security_rule.rdp")] == \
        [("NET-07", "fail")]


def test_instances_whose_owner_is_not_in_the_plan_are_named_in_not_assessed_findings(
        tmp_path: Path) -> None:
    _, doc = scan_json(str(state(tmp_path, "orphans", *SYNTHETIC["orphans"])),
                          "--checks", "NET-02")
    named = {i for f in findings_of(doc) if f["check"] == "NOT-ASSESSED"
             and f["evidence"]["reason"] == "no_owner" for i in f["evidence"]["ids"]}
    assert named == {"hcloud_load_balancer_target.web", "hcloud_load_balancer_target.ghost",
                     "aws_volume_attachment.data", "azurerm_mssql_firewall_rule.stray"}
    assert doc["summary"]["unassessed"] >= len(named)  # --fail-on-unassessed counts them


def test_normalizing_a_section_twice_names_each_orphan_once(tmp_path: Path) -> None:
    section = sections_of(state(tmp_path, "orphans", *SYNTHETIC["orphans"]))[0]
    normalize(section)
    first = sorted(o["id"] for o in section.items("not_assessed"))
    normalize(section)
    assert sorted(o["id"] for o in section.items("not_assessed")) == first
    assert len(first) == len(set(first))


def test_the_orphan_rules_become_firewalls_not_machines(tmp_path: Path) -> None:
    inv = ledger(sections_of(state(tmp_path, "orphans", *SYNTHETIC["orphans"]))[0]).inventory
    kinds = {r.properties["iac"]["address"]: r.kind for r in inv.resources}
    assert kinds["aws_security_group_rule.ssh"] is Kind.FIREWALL
    assert kinds["azurerm_network_security_rule.rdp"] is Kind.FIREWALL


def test_a_server_behind_a_load_balancer_not_in_the_plan_is_never_judged_unreachable(
        tmp_path: Path) -> None:
    private = res("hcloud_server", "app", HC_P, name="app", id="43", location="fsn1",
                  image="debian-12", server_type="cx22",
                  public_net=[{"ipv4_enabled": False, "ipv6_enabled": False}])
    target = res("hcloud_load_balancer_target", "app", HC_P, type="server",
                 load_balancer_id=777, server_id=43, use_private_ip=True)
    _, alone = scan_json(str(state(tmp_path, "alone", private)), "--checks", "NET-02")
    _, behind = scan_json(str(state(tmp_path, "behind", private, target)),
                          "--checks", "NET-02")

    def net02(doc: dict[str, Any]) -> list[str]:
        return [f["status"] for f in findings_of(doc)
                if f["check"] == "NET-02" and f["resource"].endswith("/hcloud_server.app")]

    assert net02(alone) != ["error"]  # without the target: no public address, decided
    # the load balancer outside the plan may publish it: unknown, not "not reachable"
    assert net02(behind) == ["error"]
    assert any("load balancer 777 is not in the plan" in f["message"]
               for f in findings_of(behind) if f["check"] == "NET-02")
