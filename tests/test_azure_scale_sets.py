"""Virtual machine scale sets, which posture did not read at all: a scale set whose every
instance has a public IP passed nothing and failed nothing, it was absent. Now each scale
set is a compute resource judged on its model (`virtualMachineProfile`).

Microsoft's VirtualMachineScaleSet_Get_WithUserData example (tests/data/azure, MIT; Linux,
`disablePasswordAuthentication: false`, a Marketplace image, "Example UserData") and the
PublicIpAddressGet example as its instances' public IPs, served by the local HTTPS ARM server
to the real azure-mgmt clients, changed only as each function below says. One live scan
serves the tests (module fixture)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from providers.azure.apis import SCALE_SET_PUBLIC_IPS, SCALE_SETS
from tests.azure_arm_server import ArmServer
from tests.azure_shapes import NET, RG, SUB, VNET, example, nsg, public_ip, renamed, vnet
from tests.helpers import findings_of, run

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-scale-set-token"
SECRET = "ghp_R8v2Kq9XzT4mWb7Lp3Nd6Hs1Yc5Fj0Ga2Qe8"  # gitleaks' github-pat; never in output
VMSS = f"{RG}/Microsoft.Compute/virtualMachineScaleSets"


def scale_set(name: str, public: bool, *, keys_only: bool = False, role: str | None = None,
              user_data: str | None = None) -> dict[str, Any]:
    """The example as `name` in westeurope, its NIC configuration in this estate's subnet
    with the `nsg` NSG (port 80 from anywhere); `public`: its IP configuration given a
    `publicIPAddressConfiguration` (a public IP per instance); `keys_only`: password
    authentication disabled; `role`: a `role` tag; `user_data`: its userData (base64)."""
    body = renamed(example("VirtualMachineScaleSetGetWithUserData.json"),
                   "{subscription-id}", SUB)
    body = renamed(body, "/resourceGroups/myResourceGroup/providers/Microsoft.Compute/",
                   "/resourceGroups/rg1/providers/Microsoft.Compute/")
    body = renamed(body, "myVirtualMachineScaleSet", name)
    body["location"] = "westeurope"
    profile = body["properties"]["virtualMachineProfile"]
    nic = profile["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]
    nic["networkSecurityGroup"] = {"id": f"{NET}/networkSecurityGroups/nsg"}
    cfg = nic["ipConfigurations"][0]["properties"]
    cfg["subnet"] = {"id": f"{VNET}/subnets/default"}
    if public:
        cfg["publicIPAddressConfiguration"] = {"name": "pub1",
                                               "properties": {"idleTimeoutInMinutes": 15}}
    profile["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"] = keys_only
    if role:
        body["tags"]["role"] = role
    if user_data is not None:
        profile["userData"] = base64.b64encode(user_data.encode()).decode()
    return body


def standard(pip: dict[str, Any]) -> dict[str, Any]:
    pip["sku"] = {"name": "Standard", "tier": "Regional"}
    return pip


def instance_ip(vmss: str, index: int, address: str) -> dict[str, Any]:
    """The PublicIpAddressGet example as the public IP of instance `index` of `vmss`."""
    pip = public_ip(f"{vmss}-{index}", address, None)
    pip["id"] = (f"{VMSS}/{vmss}/virtualMachines/{index}/networkInterfaces/myNic/"
                 "ipConfigurations/myIPConfig/publicIPAddresses/pub1")
    pip["name"] = "pub1"
    return pip


UBUNTU_1804 = {"publisher": "Canonical", "offer": "UbuntuServer", "sku": "18.04-LTS",
               "version": "18.04.202306070"}


def deprecated_image() -> dict[str, Any]:
    """Ubuntu 18.04's image version as the bundled seed-000 snapshot records Compute's VM
    image GET for it (Deprecated since 2025-06-30), in westeurope."""
    return {"id": f"/Subscriptions/{SUB}/Providers/Microsoft.Compute/Locations/westeurope/"
                  "Publishers/Canonical/ArtifactTypes/VMImage/Offers/UbuntuServer/Skus/"
                  "18.04-LTS/Versions/18.04.202306070",
            "location": "westeurope", "name": "18.04.202306070",
            "properties": {"osDiskImage": {"operatingSystem": "Linux"},
                           "imageDeprecationStatus": {
                               "imageState": "Deprecated",
                               "scheduledDeprecationTime": "2025-06-30T00:00:00+00:00"}}}


def web_scale_set() -> dict[str, Any]:
    body = scale_set("vmss-web", True)
    body["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"] = dict(
        UBUNTU_1804)
    return body


def no_nsg(name: str) -> dict[str, Any]:
    """A scale set giving each instance a public IP, with no NSG on its NIC configuration or
    its subnet: what the instances' public IP SKU says decides (Standard: closed)."""
    body = scale_set(name, True)
    nic = body["properties"]["virtualMachineProfile"]["networkProfile"][
        "networkInterfaceConfigurations"][0]["properties"]
    nic.pop("networkSecurityGroup")
    return body


def behind_nat_pool(name: str) -> dict[str, Any]:
    """A private scale set (no public IP configuration) whose IP configuration is in a load
    balancer's inbound NAT pool (the pattern that maps port 50000+ to each instance's SSH)."""
    body = scale_set(name, False)
    cfg = body["properties"]["virtualMachineProfile"]["networkProfile"][
        "networkInterfaceConfigurations"][0]["properties"]["ipConfigurations"][0]["properties"]
    cfg["loadBalancerInboundNatPools"] = [
        {"id": f"{NET}/loadBalancers/lb-ss/inboundNatPools/ssh"}]
    return body


def estate() -> dict[str, dict[str, list[dict[str, Any]]]]:
    return {SUB: {
        "Microsoft.Network/virtualNetworks": [vnet()],
        "Microsoft.Network/networkSecurityGroups": [nsg()],
        SCALE_SETS: [
            scale_set("vmss-db", True, role="database"),
            scale_set("vmss-db-ips-denied", True, role="database"),
            scale_set("vmss-db-scaled-in", True, role="database"),
            web_scale_set(), no_nsg("vmss-basic-ips"), no_nsg("vmss-standard-ips"),
            behind_nat_pool("vmss-nat"),
            scale_set("vmss-private", False, keys_only=True,
                      user_data=f"#!/bin/sh\nexport GITHUB_TOKEN={SECRET}\n")],
        "Microsoft.Compute/virtualMachineScaleSets/imageVersions": [deprecated_image()],
        SCALE_SET_PUBLIC_IPS: [instance_ip("vmss-db", 0, "20.50.0.10"),
                               instance_ip("vmss-db", 1, "20.50.0.11"),
                               instance_ip("vmss-web", 0, "20.50.0.20"),
                               instance_ip("vmss-basic-ips", 0, "20.50.0.30"),
                               standard(instance_ip("vmss-standard-ips", 0, "20.50.0.40"))],
    }}


@pytest.fixture(scope="module")
def verdicts() -> Iterator[dict[tuple[str, str], str]]:
    with ArmServer(estate(), token=TOKEN, page_size=2) as arm:
        arm.fail("/virtualmachinescalesets/vmss-db-ips-denied/publicipaddresses", 403,
                 "AuthorizationFailed")
        result = run("scan", "azure", "--format", "json", "--no-timestamps",
                     "--checks", "NET-01,NET-02,NET-03,NET-04,IAM-03,SEC-01,VUL-01",
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file,
                          "POSTURE_RETRY_BASE_SECONDS": "0.01"})
        assert result.exit_code in (0, 1, 3), result.stdout + result.stderr
        assert SECRET not in result.stdout + result.stderr
        doc = json.loads(result.stdout)
        # the scale sets' own findings (not the scope findings of a failed read)
        yield {(f["check"], f["resource"].rsplit("/", 1)[-1]): f["status"]
               for f in findings_of(doc) if f["resource"].startswith(VMSS.lower())}


def test_a_database_scale_set_with_a_public_ip_per_instance_fails_net01(
        verdicts: dict[tuple[str, str], str]) -> None:
    assert verdicts[("NET-01", "vmss-db")] == "fail", verdicts


def test_a_database_scale_set_giving_instances_public_ips_fails_with_none_running(
        verdicts: dict[tuple[str, str], str]) -> None:
    """Scaled in (its instances' public IP list is empty): the model still gives the next
    instance a public IP."""
    assert verdicts[("NET-01", "vmss-db-scaled-in")] == "fail", verdicts


def test_instance_public_ips_not_read_still_leave_the_model_public(
        verdicts: dict[tuple[str, str], str]) -> None:
    """Its instances' public IP list denied: the model's public IP configuration decides
    NET-01 (fail), and NET-04, which needs the addresses, cannot pass."""
    assert verdicts[("NET-01", "vmss-db-ips-denied")] == "fail", verdicts
    assert verdicts[("NET-04", "vmss-db-ips-denied")] == "error", verdicts
    assert verdicts[("NET-04", "vmss-db")] == "pass", verdicts  # behind its NSG


def test_an_app_scale_set_is_public_only_with_a_public_ip_configuration(
        verdicts: dict[tuple[str, str], str]) -> None:
    """vmss-web's instances answer on port 80 (the NIC configuration's NSG admits it from
    anywhere) at their own public IPs: NET-03 fail; vmss-private has none: pass."""
    assert verdicts[("NET-03", "vmss-web")] == "fail", verdicts
    assert verdicts[("NET-03", "vmss-private")] == "pass", verdicts


def test_without_an_nsg_the_instances_public_ip_sku_decides(
        verdicts: dict[tuple[str, str], str]) -> None:
    """No NSG anywhere: Basic instance public IPs (PublicIpAddressGet has no `sku`) admit
    SSH from the internet (NET-02 fail); Standard ones are closed by default (pass)."""
    assert verdicts[("NET-02", "vmss-basic-ips")] == "fail", verdicts
    assert verdicts[("NET-02", "vmss-standard-ips")] == "pass", verdicts


def test_a_scale_set_a_load_balancer_forwards_to_is_not_passed_as_private(
        verdicts: dict[tuple[str, str], str]) -> None:
    """Forwarding from load balancers to scale sets is not judged yet: what reaches its
    instances through the NAT pool is unknown, an error, never "no public path"."""
    assert verdicts[("NET-02", "vmss-nat")] == "error", verdicts
    assert verdicts[("IAM-03", "vmss-nat")] == "fail", verdicts  # not touched by it


def test_password_authentication_of_the_scale_set_model_is_judged(
        verdicts: dict[tuple[str, str], str]) -> None:
    """The example's `disablePasswordAuthentication: false`: every instance admits SSH
    passwords (IAM-03 fail); disabled: pass."""
    assert verdicts[("IAM-03", "vmss-db")] == "fail", verdicts
    assert verdicts[("IAM-03", "vmss-private")] == "pass", verdicts
    # its instances' public IPs (denied) and image version (not found) cannot change it
    assert verdicts[("IAM-03", "vmss-db-ips-denied")] == "fail", verdicts


def test_secrets_in_a_scale_sets_user_data_fail_sec01(
        verdicts: dict[tuple[str, str], str]) -> None:
    assert verdicts[("SEC-01", "vmss-private")] == "fail", verdicts
    assert verdicts[("SEC-01", "vmss-db")] == "pass", verdicts  # "Example UserData"


def test_a_scale_set_made_from_a_deprecated_image_fails_vul01(
        verdicts: dict[tuple[str, str], str]) -> None:
    """vmss-web's model names Ubuntu 18.04 (Deprecated): fail. vmss-db's image version
    (the example's azuredatabricks 3.15.2) is not found: an error, never a pass."""
    assert verdicts[("VUL-01", "vmss-web")] == "fail", verdicts
    assert verdicts[("VUL-01", "vmss-db")] == "error", verdicts


def test_a_scale_set_outside_the_allowed_area_fails_res01_from_the_resource_list() -> None:
    """RES-01 alone reads Resource Manager's resource list (plan.py): a scale set there was
    no stand-in (not a type posture read), so a scale set in the US was never judged."""
    sections = estate()
    us = scale_set("vmss-us", False)
    us["location"] = "eastus"
    sections[SUB][SCALE_SETS].append(us)
    with ArmServer(sections, token=TOKEN, page_size=100) as arm:
        result = run("scan", "azure", "--format", "json", "--no-timestamps",
                     "--profile", "seed-000", "--checks", "RES-01",
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file})
        assert not [p for _, p in arm.requests if "virtualmachinescalesets" in p.lower()]
    got = {f["resource"].rsplit("/", 1)[-1]: f["status"] for f in findings_of(
        json.loads(result.stdout)) if f["check"] == "RES-01"
        and "virtualmachinescalesets" in f["resource"]}
    assert got["vmss-us"] == "fail", got
    assert got["vmss-private"] == "pass", got
