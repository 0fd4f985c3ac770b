"""ENC-01 of a virtual machine scale set: the disks its model gives every instance (the OS
disk and every data disk of `virtualMachineProfile.storageProfile`), judged as a VM's
managed disks are (providers/azure/normalize/compute.py): always encrypted at rest, by
platform-managed keys (the provider's guarantee) unless the model names a disk encryption
set or turns on encryption at host (configuration)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from providers.azure.normalize.common import (
    DISK_DOC,
    STORAGE_DOC,
    _arr,
    _flag,
    _obj,
    _ref,
    lid,
)
from providers.azure.normalize.context import Build
from scanner.model import RelationType, Unread

STORAGE_ACCOUNTS = "Microsoft.Storage/storageAccounts"


def disk_encryption(b: Build, sid: str, profile: Mapping[str, Any]) -> dict[str, Any]:
    """`encrypted`, `encryption_evidence` and `encryption_reference` of scale set `sid` from
    its model `profile`. A model without a storage profile or OS disk, or an unmanaged OS disk
    in a storage account that was not read, leaves `encrypted` unknown (ENC-01 error)."""
    storage = profile.get("storageProfile")
    os_disk = storage.get("osDisk") if isinstance(storage, Mapping) else None
    if not isinstance(storage, Mapping) or not isinstance(os_disk, Mapping):
        missing = "storageProfile" if not isinstance(storage, Mapping) else "its osDisk"
        b.mark(sid, ("encrypted",), Unread(
            f"scale set {sid}: its model has no {missing} (the encryption of its "
            "instances' disks is not known)", "unknown"))
        return {"encrypted": None}
    # encryption at host encrypts every disk of the instance, its temp disk and caches
    # included, on the host (https://learn.microsoft.com/azure/virtual-machines/
    # disk-encryption#encryption-at-host---end-to-end-encryption-for-your-vm-data)
    at_host = _flag(_obj(profile.get("securityProfile"), "securityProfile").get(
        "encryptionAtHost"), "securityProfile.encryptionAtHost", default=False)
    levels: set[str] = set()
    refs = [DISK_DOC]
    unread: list[str] = []
    disks = [("osDisk", os_disk), *((f"dataDisks[{i}]", d) for i, d in enumerate(
        _arr(storage.get("dataDisks"), "dataDisks")))]
    for where, disk in disks:
        containers = [str(c) for c in _arr(disk.get("vhdContainers"), "vhdContainers") if c]
        if where == "osDisk" and containers:
            # an unmanaged OS disk: VHDs in these storage accounts' blob containers
            # (VirtualMachineScaleSetOSDisk.vhdContainers), encrypted as every blob is
            # (STORAGE_DOC) when the account is one posture read
            for url in containers:
                account = lid((urlsplit(url).hostname or "").split(".", 1)[0])
                acct = next((a for a in b.items(STORAGE_ACCOUNTS) if account
                             and lid(str(a.get("name") or "")) == account), None)
                if acct is None:
                    unread.append(f"{where}.vhdContainers {url}: storage account "
                                  f"{account or '?'} is not in the storage accounts read")
                else:
                    levels.add("provider")
                    b.relate(sid, lid(acct.get("id")), RelationType.ATTACHED_TO)
            if STORAGE_DOC not in refs:
                refs.append(STORAGE_DOC)
            continue
        # otherwise a managed disk: a scale set's data disks are always managed ones
        # (VirtualMachineScaleSetDataDisk has no VHD), and an OS disk without
        # vhdContainers is one (VirtualMachineScaleSetOSDisk.managedDisk)
        managed = _obj(disk.get("managedDisk"), f"{where}.managedDisk")
        des = (_ref(managed.get("diskEncryptionSet"), "diskEncryptionSet")
               or _ref(_obj(managed.get("securityProfile"), "securityProfile").get(
                   "diskEncryptionSet"), "securityProfile.diskEncryptionSet"))
        if des:
            b.relate(sid, des, RelationType.ENCRYPTED_WITH)
        levels.add("config" if des or at_host else "provider")
    if unread:
        b.mark(sid, ("encrypted",), Unread(f"scale set {sid}: " + "; ".join(unread),
                                           "dangling"))
        return {"encrypted": None, "encryption_reference": " and ".join(refs)}
    return {"encrypted": True,
            # the weakest basis of its disks: one disk on platform-managed keys is the
            # provider's guarantee, not a setting of this scale set
            "encryption_evidence": "provider" if "provider" in levels else "config",
            "encryption_reference": " and ".join(refs)}
