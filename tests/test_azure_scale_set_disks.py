"""ENC-01 of virtual machine scale sets, which posture did not judge: a scale set's disks
(the OS disk and every data disk its model gives each instance) had no ENC-01 verdict at all.
Now they are judged as a VM's managed disks are: platform-managed keys are the provider's
guarantee (evidence `provider`), a disk encryption set or encryption at host is
configuration; an unmanaged OS disk is judged by the storage account holding its VHDs; a
model without a storage profile, or VHDs in an account not read, is an error.

Microsoft's examples (tests/data/azure/README.md, MIT): VirtualMachineScaleSet_Get_WithUserData
(a Premium_LRS managed OS disk, no encryption set), _Create_WithDiskEncryptionSetResource
(OS and data disk with a disk encryption set), _Create_PlatformImageWithUnmanagedOsDisks (an
OS disk in `vhdContainers`) and StorageAccountGetProperties (the account holding the VHDs),
served by the local HTTPS ARM server to the real azure-mgmt clients; one scan serves the
tests (module fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from providers.azure.apis import SCALE_SETS
from tests.azure_arm_server import ArmServer
from tests.azure_shapes import RG, SUB, example, renamed
from tests.helpers import findings_of, run
from tests.test_azure_scale_sets import scale_set

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-scale-set-disks"
VMSS = f"{RG}/Microsoft.Compute/virtualMachineScaleSets"


def vendor(file: str, name: str, account: str = "sto8596") -> dict[str, Any]:
    body = renamed(example(file), "{subscription-id}", SUB)
    body = renamed(body, "/resourceGroups/myResourceGroup/", "/resourceGroups/rg1/")
    body = renamed(body, "{existing-storage-account-name}", account)
    return renamed(body, "{vmss-name}", name)


def storage(body: dict[str, Any]) -> dict[str, Any]:
    profile: dict[str, Any] = body["properties"]["virtualMachineProfile"]["storageProfile"]
    return profile


def second_data_disk_on_platform_keys() -> dict[str, Any]:
    """The encryption-set example with a second data disk (lun 1) on platform keys."""
    body = vendor("VirtualMachineScaleSetCreateWithDiskEncryptionSet.json", "vmss-cmk-mixed")
    storage(body)["dataDisks"].append({"caching": "None", "createOption": "Empty", "lun": 1,
                                       "diskSizeGB": 128,
                                       "managedDisk": {"storageAccountType": "Premium_LRS"}})
    return body


def at_host() -> dict[str, Any]:
    body = scale_set("vmss-at-host", False)
    body["properties"]["virtualMachineProfile"]["securityProfile"] = {
        "encryptionAtHost": True}
    return body


def without_storage_profile() -> dict[str, Any]:
    body = scale_set("vmss-no-storage", False)
    body["properties"]["virtualMachineProfile"].pop("storageProfile")
    return body


def account() -> dict[str, Any]:
    body = renamed(example("StorageAccountGetProperties.json"), "{subscription-id}", SUB)
    return renamed(body, "/resourceGroups/res9407/", "/resourceGroups/rg1/")


def flexible() -> dict[str, Any]:
    body = vendor("VirtualMachineScaleSetCreateWithDiskEncryptionSet.json", "vmss-flex")
    body["properties"]["orchestrationMode"] = "Flexible"
    return body


def estate() -> dict[str, dict[str, list[dict[str, Any]]]]:
    return {SUB: {
        SCALE_SETS: [
            scale_set("vmss-platform", False),
            vendor("VirtualMachineScaleSetCreateWithDiskEncryptionSet.json", "vmss-cmk"),
            second_data_disk_on_platform_keys(), at_host(), without_storage_profile(),
            vendor("VirtualMachineScaleSetCreatePlatformImageWithUnmanagedOsDisks.json",
                   "vmss-vhd"),
            vendor("VirtualMachineScaleSetCreatePlatformImageWithUnmanagedOsDisks.json",
                   "vmss-vhd-gone", account="stogone"), flexible()],
        "Microsoft.Storage/storageAccounts": [account()],
    }}


def scan(checks: str) -> dict[str, dict[str, Any]]:
    """The findings of check `checks` on the scale sets of this estate, by scale set name."""
    with ArmServer(estate(), token=TOKEN, page_size=100) as arm:
        result = run("scan", "azure", "--format", "json", "--no-timestamps",
                     "--checks", checks,
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file,
                          "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert result.exit_code in (0, 1, 3), result.stdout + result.stderr
    return {f["resource"].rsplit("/", 1)[-1]: f for f in findings_of(json.loads(result.stdout))
            if f["check"] == checks and f["resource"].startswith(VMSS.lower())}


@pytest.fixture(scope="module")
def verdicts() -> Iterator[dict[str, tuple[str, str | None]]]:
    yield {name: (f["status"], f.get("evidence_level")) for name, f in scan("ENC-01").items()}


def test_a_scale_set_on_platform_managed_keys_passes_on_the_providers_guarantee(
        verdicts: dict[str, tuple[str, str | None]]) -> None:
    assert verdicts["vmss-platform"] == ("pass", "provider"), verdicts


def test_a_disk_encryption_set_on_every_disk_passes_as_configuration(
        verdicts: dict[str, tuple[str, str | None]]) -> None:
    assert verdicts["vmss-cmk"] == ("pass", "config"), verdicts


def test_every_data_disk_counts_not_the_first(
        verdicts: dict[str, tuple[str, str | None]]) -> None:
    """Its first data disk uses the encryption set, its second platform keys: the scale set
    rests on the provider's guarantee, not on its configuration."""
    assert verdicts["vmss-cmk-mixed"] == ("pass", "provider"), verdicts


def test_encryption_at_host_is_configuration(
        verdicts: dict[str, tuple[str, str | None]]) -> None:
    assert verdicts["vmss-at-host"] == ("pass", "config"), verdicts


def test_a_model_without_a_storage_profile_is_an_error_never_a_pass(
        verdicts: dict[str, tuple[str, str | None]]) -> None:
    assert verdicts["vmss-no-storage"][0] == "error", verdicts


def test_an_unmanaged_os_disk_is_judged_by_its_storage_account(
        verdicts: dict[str, tuple[str, str | None]]) -> None:
    """VHDs in sto8596 (read: Azure Storage encryption, always on): pass; in an account
    that was not read: error."""
    assert verdicts["vmss-vhd"] == ("pass", "provider"), verdicts
    assert verdicts["vmss-vhd-gone"][0] == "error", verdicts


def test_a_stateful_scale_set_says_why_its_backups_are_not_known() -> None:
    """Azure Backup does not protect a Uniform scale set's instances: BAK-02 of a stateful
    scale set (the encryption-set example has a data disk) is an error naming that, never a
    pass; before, it was an error saying only "not known"."""
    got = scan("BAK-02")
    assert got["vmss-cmk"]["status"] == "error", got
    assert "Azure Backup cannot protect" in got["vmss-cmk"]["message"], got
    # Flexible: its instances are VMs (judged as VMs), said so
    assert got["vmss-flex"]["status"] == "error", got
    assert "Flexible orchestration" in got["vmss-flex"]["message"], got
