"""A reference that names no instance key (`aws_subnet.public[count.index].id`: Terraform's
configuration JSON lists `aws_subnet.public`) may point at any instance of that resource,
not the first one: an instance spread over a private and a public subnet may get a public
address, a VM whose NIC is in one of two subnets may sit behind either subnet's NSG, a
launch template's second network interface may ask for a public address."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures.terraform.build_plans import plan, ref, res
from tests.helpers import PLAN_AWS as AWS
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, scan_json
from tests.helpers import write_plan as write
from tests.test_terraform_plan_truth import _nsg

SSH = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"],
       "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False,
       "description": ""}
AZURERM = {"azurerm": {"name": "azurerm", "expressions": {}}}


def verdicts(path: Path, checks: str) -> tuple[int, dict[tuple[str, str], str]]:
    code, doc = scan_json(str(path), "--checks", checks)
    return code, {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
                  for f in findings_of(doc)}


def subnet(index: int, public: bool, name: str = "net") -> dict[str, Any]:
    return res(f"aws_subnet.{name}[{index}]", {
        "cidr_block": f"10.0.{index}.0/24", "map_public_ip_on_launch": public,
        "assign_ipv6_address_on_creation": False}, unknown={"id": True}, index=index)


def test_an_instance_in_one_of_a_private_and_a_public_subnet_may_be_public(
        tmp_path: Path) -> None:
    rs = [
        res("aws_security_group.ssh", {"name": "ssh", "ingress": [SSH]}, unknown={"id": True}),
        subnet(0, False), subnet(1, True),
        subnet(0, False, "private"), subnet(1, False, "private"),
        *(res(f"aws_instance.{name}[0]", {
            "ami": "ami-0abc", "instance_type": "t3.micro", "key_name": "ops",
            "vpc_security_group_ids": [None]},
            unknown={"id": True, "public_ip": True, "private_ip": True, "subnet_id": True,
                     "associate_public_ip_address": True, "vpc_security_group_ids": [True]},
            expressions={"vpc_security_group_ids": ref("aws_security_group.ssh.id"),
                         "subnet_id": ref(f"aws_subnet.{net}", "count.index")}, index=0)
          for name, net in (("spread", "net"), ("inside", "private"))),
    ]
    code, got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)),
                         "NET-02")
    # before: the first subnet's (private) reading alone: no public address, not reachable
    assert got[("NET-02", "aws_instance.spread[0]")] == "error"
    assert got.get(("NET-02", "aws_instance.inside[0]"), "pass") == "pass"
    assert code == 3


def test_a_launch_templates_second_interface_asking_for_a_public_address_counts(
        tmp_path: Path) -> None:
    rs = [
        res("aws_security_group.ssh", {"name": "ssh", "ingress": [SSH]}, unknown={"id": True}),
        res("aws_subnet.private", {"cidr_block": "10.0.2.0/24",
                                   "map_public_ip_on_launch": False}, unknown={"id": True}),
        res("aws_launch_template.two", {
            "name": "two", "image_id": "ami-1", "key_name": "ops",
            "network_interfaces": [
                {"device_index": 1, "associate_public_ip_address": "false",
                 "security_groups": [None]},
                {"device_index": 0, "associate_public_ip_address": "true",
                 "security_groups": [None]}]},
            unknown={"id": True, "network_interfaces": [{"security_groups": [True]},
                                                        {"security_groups": [True]}]},
            expressions={"network_interfaces": [
                {"security_groups": ref("aws_security_group.ssh.id")},
                {"security_groups": ref("aws_security_group.ssh.id")}]}),
        res("aws_autoscaling_group.two", {
            "name": "two", "max_size": 2, "min_size": 1,
            "launch_template": [{"version": "$Latest"}]},
            unknown={"launch_template": [{"id": True}], "vpc_zone_identifier": True},
            expressions={"launch_template": [{"id": ref("aws_launch_template.two.id")}],
                         "vpc_zone_identifier": ref("aws_subnet.private.id")}),
    ]
    code, got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)),
                         "NET-02")
    # before: the first interface's "false" alone: no public address, not reachable
    assert got[("NET-02", "aws_autoscaling_group.two")] == "fail"
    assert code == 1


def _azure_vm(ports: list[str]) -> list[dict[str, Any]]:
    """A VM with a Standard public IP whose NIC's subnet is `azurerm_subnet.app[count.index]`;
    subnet i has NSG i (`azurerm_network_security_group.app[count.index]`, as Terraform's
    configuration JSON writes one block for every instance) admitting ports[i] from the
    internet."""
    rs: list[dict[str, Any]] = []
    for i, port in enumerate(ports):
        rs += [
            res(f"azurerm_network_security_group.app[{i}]", _nsg(f"nsg-{i}", port),
                unknown={"id": True}, index=i),
            res(f"azurerm_subnet.app[{i}]", {"name": f"snet-{i}", "resource_group_name": "rg",
                                             "virtual_network_name": "vnet",
                                             "address_prefixes": [f"10.1.{i}.0/24"]},
                unknown={"id": True}, index=i),
            res(f"azurerm_subnet_network_security_group_association.app[{i}]", {},
                unknown={"id": True, "subnet_id": True, "network_security_group_id": True},
                expressions={"subnet_id": ref("azurerm_subnet.app", "count.index"),
                             "network_security_group_id": ref(
                                 "azurerm_network_security_group.app", "count.index")},
                index=i),
        ]
    rs += [
        res("azurerm_public_ip.app", {"name": "pip-app", "location": "westeurope",
                                      "resource_group_name": "rg", "sku": "Standard",
                                      "allocation_method": "Static", "tags": {}},
            unknown={"id": True, "ip_address": True}),
        res("azurerm_network_interface.app", {
            "name": "nic-app", "location": "westeurope", "resource_group_name": "rg",
            "ip_configuration": [{"name": "ipconfig", "primary": True,
                                  "private_ip_address_allocation": "Dynamic"}]},
            unknown={"id": True, "ip_configuration": [{
                "subnet_id": True, "public_ip_address_id": True, "private_ip_address": True}]},
            expressions={"ip_configuration": [{
                "public_ip_address_id": ref("azurerm_public_ip.app.id"),
                "subnet_id": ref("azurerm_subnet.app", "count.index")}]}),
        res("azurerm_linux_virtual_machine.app", {
            "name": "vm-app", "location": "westeurope", "resource_group_name": "rg",
            "size": "Standard_B2s", "admin_username": "azureuser",
            "disable_password_authentication": True, "tags": {},
            "source_image_reference": [{"publisher": "Canonical", "offer": "ubuntu-24_04-lts",
                                        "sku": "server", "version": "latest"}],
            "os_disk": [{"caching": "ReadWrite", "storage_account_type": "Premium_LRS"}]},
            unknown={"id": True, "network_interface_ids": True},
            expressions={"network_interface_ids": ref("azurerm_network_interface.app.id")}),
    ]
    return rs


def test_a_nic_in_one_of_two_subnets_may_sit_behind_either_subnets_nsg(
        tmp_path: Path) -> None:
    path = write(tmp_path, plan(_azure_vm(["443", "22"]),
                                provider_config=AZURERM, timestamp=STAMP))
    code, got = verdicts(path, "NET-02")
    # before: pass (the first subnet's NSG, admitting 443 only, alone was read)
    assert got[("NET-02", "azurerm_linux_virtual_machine.app")] == "error"
    assert code == 3


def test_two_subnets_that_both_admit_ssh_are_a_sure_fail(tmp_path: Path) -> None:
    path = write(tmp_path, plan(_azure_vm(["22", "22"]),
                                provider_config=AZURERM, timestamp=STAMP))
    code, got = verdicts(path, "NET-02")
    assert got[("NET-02", "azurerm_linux_virtual_machine.app")] == "fail"
    assert code == 1


def test_a_volume_on_one_of_servers_in_two_locations_has_no_known_location(
        tmp_path: Path) -> None:
    """An hcloud_volume created on `hcloud_server.node[count.index]` is where that server
    is: Falkenstein or Ashburn, not known (RES-01 error, not the first server's pass); one
    on servers that all stand in Falkenstein is in Falkenstein."""
    hcloud = {"hcloud": {"name": "hcloud", "expressions": {}}}
    rs: list[dict[str, Any]] = []
    for name, places in (("node", ("fsn1", "ash")), ("de", ("fsn1", "fsn1"))):
        for i, where in enumerate(places):
            rs.append(res(f"hcloud_server.{name}[{i}]", {
                "name": f"{name}-{i}", "server_type": "cx22", "image": "ubuntu-24.04",
                "location": where, "labels": {}}, unknown={"id": True, "ipv4_address": True},
                index=i))
        rs.append(res(f"hcloud_volume.{name}", {"name": f"data-{name}", "size": 10,
                                                "labels": {}},
                      unknown={"id": True, "location": True, "server_id": True},
                      expressions={"server_id": ref(f"hcloud_server.{name}", "count.index")}))
    path = write(tmp_path, plan(rs, provider_config=hcloud, timestamp=STAMP))
    code, doc = scan_json(str(path), "--checks", "RES-01", "--profile", "seed-002")
    got = {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
           for f in findings_of(doc)}
    # before: pass (the first server's location, Falkenstein)
    assert got[("RES-01", "hcloud_volume.node")] == "error"
    assert got[("RES-01", "hcloud_volume.de")] == "pass"
    assert got[("RES-01", "hcloud_server.node[1]")] == "fail"  # Ashburn itself
    assert code == 1
