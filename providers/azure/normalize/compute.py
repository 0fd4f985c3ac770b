"""Virtual machines (exposure through their NICs, image deprecation, secrets in custom data)
and managed disks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.azure.apis import UNSCANNED_MARK, USER_DATA, marketplace_image
from providers.azure.normalize.backup import mark_backup_reads, protected_vms, vault_redundancy
from providers.azure.normalize.balancers import NatPaths, nat_targets
from providers.azure.normalize.common import (
    DISK_DOC,
    _arr,
    _flag,
    _obj,
    _parent,
    _props,
    _ref,
    _str,
    _tags,
    lid,
)
from providers.azure.normalize.context import Build
from providers.azure.normalize.nsg import port_layer
from providers.azure.normalize.paths import combine
from providers.azure.normalize.web import _secret_value
from scanner.model import Kind, RelationType, Unread
from scanner.redact import REDACTED, is_secret_name
from scanner.rules import RuleLayer

IMAGES = "Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions"


def machines(b: Build) -> None:
    nics = b.by_id["Microsoft.Network/networkInterfaces"]
    protected = protected_vms(b)
    nat = nat_targets(b)
    os_disks: dict[str, str] = {}  # disk id -> the VM it was created with (INV-01)
    for vm in b.items("Microsoft.Compute/virtualMachines"):
        vm_id = lid(vm.get("id"))
        p = _props(vm)
        network = _obj(p.get("networkProfile"), "networkProfile")
        nic_ids = [_ref(n) for n in _arr(network.get("networkInterfaces"), "networkInterfaces")]
        public, private, layers, subnet_ids, ddos = _exposure(b, vm_id, nic_ids, nat)
        storage = _obj(p.get("storageProfile"), "storageProfile")
        os_profile = _obj(p.get("osProfile"), "osProfile")
        linux = os_profile.get("linuxConfiguration")
        props: dict[str, Any] = {
            "public_ips": public,
            "private_ips": private,
            "ingress": layers,
            "image": _image(storage.get("imageReference")),
            "stateful": bool(storage.get("dataDisks")),
            "plaintext_secrets": _vm_secrets(b, vm),
            "ddos_protection": ddos,
        }
        props.update(image_deprecation(b, vm))
        if isinstance(linux, Mapping):
            value = linux.get("disablePasswordAuthentication")
            props["ssh_key_only"] = _flag(value, "disablePasswordAuthentication")
        elif not os_profile and _os_type(storage) != "windows":
            # No osProfile: the VM was created from a specialized disk (osDisk createOption
            # "Attach: This value is used when you are using a specialized disk to create the
            # virtual machine", https://learn.microsoft.com/rest/api/compute/virtual-machines/
            # get#diskcreateoptiontypes); an OS profile is only given to a VM created from an
            # image. Whether its sshd admits passwords is in the disk, not in the API: a
            # Linux VM's (or one of no stated OS type) SSH settings are unknown, never a pass
            # nor no verdict (it had none: IAM-03 left it out).
            props["ssh_key_only"] = None
        if protected is not None:
            item = protected.get(vm_id)
            props["backup_enabled"] = item is not None
            mark_backup_reads(b, vm_id, item is not None)
            if item is not None:
                props["backup_frequency_hours"], props["backup_retention_days"] = item
                props["backup_redundancy"], props["replica_regions"] = vault_redundancy(b,
                    b.protected_vault.get(vm_id, ""))
        b.add(Kind.COMPUTE, vm, props, rid=vm_id)
        for sid in subnet_ids:
            b.relate(vm_id, sid, RelationType.ATTACHED_TO)
        for nic_id in nic_ids:
            nic = nics.get(nic_id)
            if nic is not None:
                nsg = _ref(_props(nic).get("networkSecurityGroup"), "networkSecurityGroup")
                if nsg:
                    b.relate(vm_id, nsg, RelationType.PROTECTED_BY, layer="NIC NSG")
        os_disk = _ref(_obj(storage.get("osDisk"), "osDisk").get("managedDisk"), "managedDisk")
        if os_disk:
            os_disks[os_disk] = str(vm.get("name") or vm_id.rsplit("/", 1)[-1])
        for disk in [_obj(storage.get("osDisk"), "osDisk"), *_arr(storage.get("dataDisks"),
                                                                  "dataDisks")]:
            disk_id = _ref(disk.get("managedDisk"), "managedDisk")
            if disk_id:
                b.relate(disk_id, vm_id, RelationType.ATTACHED_TO)
    for disk in b.items("Microsoft.Compute/disks"):
        p = _props(disk)
        enc = lid(_obj(p.get("encryption"), "encryption").get("type"))
        props = {
            "encrypted": True,
            "encryption_evidence": "provider" if enc in ("", "encryptionatrestwithplatformkey")
            else "config",
            "encryption_reference": DISK_DOC,
            "size_gb": p.get("diskSizeGB"),
        }
        owner = os_disks.get(lid(disk.get("id")))
        if owner is None and p.get("osType") and disk.get("managedBy"):
            owner = str(disk["managedBy"]).rstrip("/").rsplit("/", 1)[-1]
        if owner:  # created by its VM's os_disk block, deleted with the VM
            props["implicit"] = f"the OS disk of VM {owner}"
        did = b.add(Kind.VOLUME, disk, props)
        des = _ref(_obj(p.get("encryption"), "encryption").get("diskEncryptionSetId"),
                   "diskEncryptionSetId")
        if des:
            b.relate(did, des, RelationType.ENCRYPTED_WITH)



def _exposure(b: Build, vm_id: str, nic_ids: list[str], nat: dict[str, NatPaths]
              ) -> tuple[list[str], list[str], tuple[RuleLayer, ...], list[str], bool | None]:
    """(public IPs, private IPs, ingress, subnet ids, DDoS protection) of a VM: every IP
    configuration of every NIC, each public IP and each inbound NAT rule judged against its
    own NIC's and subnet's NSGs (paths.combine). A NIC, public IP, NSG or subnet named but
    not read marks what it could change as unknown, never as "no public IP" or "no NSG"."""
    nics = b.by_id["Microsoft.Network/networkInterfaces"]
    public: list[str] = []
    nat_ips: list[str] = []
    private: list[str] = []
    paths: list[tuple[RuleLayer, ...]] = []
    subnets: list[str] = []
    public_subnets: list[str] = []
    for nic_id in nic_ids:
        nic = nics.get(nic_id)
        if nic is None:
            b.mark(vm_id, ("public_ips", "private_ips", "ingress"), Unread(
                f"network interface {nic_id} is not in the network interfaces read",
                "dangling", closes=False))
            continue
        for cfg in _arr(_props(nic).get("ipConfigurations"), "ipConfigurations"):
            cp = _props(cfg)
            cfg_id = lid(cfg.get("id"))
            if cp.get("privateIPAddress"):
                private.append(str(cp["privateIPAddress"]))
            subnets.append(_ref(cp.get("subnet"), "subnet"))
            for ref, collection in _fronting(cp):
                if b.get(collection, ref) is None:
                    # a load balancer or application gateway that forwards to this NIC was
                    # not read: it could only add a path from the internet
                    b.mark(vm_id, ("public_ips", "ingress"), Unread(
                        f"{cfg_id} is a backend of {ref}, which is not in the "
                        f"{collection.rsplit('/', 1)[-1]} read", "dangling", closes=False))
            pip_id = _ref(cp.get("publicIPAddress"), "publicIPAddress")
            if pip_id:
                addr, standard, raw = b.public_ip(pip_id)
                if raw is None:
                    b.mark(vm_id, ("public_ips", "ingress"), Unread(
                        f"public IP {pip_id} of {cfg_id} is not in the public IPs read",
                        "dangling", closes=False))
                    _path(b, vm_id, nic, cfg, False)  # and what filters it, if read
                elif addr:
                    public.append(addr)
                    paths.append(_path(b, vm_id, nic, cfg, standard))
                    public_subnets.append(_ref(cp.get("subnet"), "subnet"))
            for (_, standard), (ips, ports) in sorted(nat.get(cfg_id, {}).items()):
                nat_ips.extend(ip for ip in ips if ip not in nat_ips)
                paths.append((port_layer("inbound NAT rules", ports, vm_id),
                              *_path(b, vm_id, nic, cfg, standard)))
                public_subnets.append(_ref(cp.get("subnet"), "subnet"))
    public.extend(ip for ip in nat_ips if ip not in public)
    layers = combine(paths)
    if not paths:  # no public path: the primary configuration's layers, for the record
        first = next((nics[n] for n in nic_ids if n in nics), None)
        cfg0 = next(iter(_arr(_props(first).get("ipConfigurations"), "ipConfigurations")),
                    None) if first else None
        if first is not None and cfg0 is not None:
            layers = b.cfg_layers(first, cfg0, True)[0]
            public_subnets.append(_ref(_props(cfg0).get("subnet"), "subnet"))
    return (public, private, layers, [s for s in dict.fromkeys(subnets) if s],
            ddos_of(b, public_subnets))


def ddos_of(b: Build, public_subnets: list[str]) -> bool | None:
    """DDoS protection of a machine answering on public IPs in these subnets: False if one
    is unprotected, None when one is unknown (or there is none), else True."""
    values = [b.ddos_of_subnet(s) for s in dict.fromkeys(public_subnets) if s]
    return False if False in values else None if None in values or not values else True


def _fronting(cp: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(load balancer or application gateway id, its collection) of every backend pool and
    inbound NAT rule an IP configuration names."""
    out = []
    for key, collection in (
            ("loadBalancerBackendAddressPools", "Microsoft.Network/loadBalancers"),
            ("loadBalancerInboundNatRules", "Microsoft.Network/loadBalancers"),
            ("applicationGatewayBackendAddressPools", "Microsoft.Network/applicationGateways")):
        for ref in _arr(cp.get(key), key):
            owner = _parent(_ref(ref))
            if owner:
                out.append((owner, collection))
    return list(dict.fromkeys(out))


def _path(b: Build, vm_id: str, nic: Mapping[str, Any], cfg: Mapping[str, Any],
          standard: bool) -> tuple[RuleLayer, ...]:
    layers, _, unknown = b.cfg_layers(nic, cfg, standard)
    for prop, unread in unknown.items():
        b.mark(vm_id, (prop,), unread)
    return layers


def image_deprecation(b: Build, vm: Mapping[str, Any], images: str = IMAGES
                      ) -> dict[str, str | None]:
    """`image_deprecated` of a VM (a scale set's model in a VM's shape, its image versions
    read into `images`): when the vendor deprecated its Marketplace image version (None:
    supported); no entry when not known (custom or gallery image, image version not
    read)."""
    image = marketplace_image(vm)
    if image is None:
        return {}
    location, publisher, offer, sku, version = image
    wanted = (f"/subscriptions/{b.account}/providers/microsoft.compute/locations/"
              f"{location}/publishers/{publisher}/artifacttypes/vmimage/offers/{offer}/"
              f"skus/{sku}/versions/{version}").lower()
    found = b.get(images, wanted)
    if found is None:
        if b.errors_in(images, location):
            # the image version GET failed (for this VM, or for another VM on the same
            # image version: it is read once per version)
            b.mark(lid(vm.get("id")), ("image_deprecated",), Unread(
                f"image version {':'.join(image[1:])} in {location} was not read "
                f"({images} failed)", "unknown"))
        return {}
    status = _obj(_props(found).get("imageDeprecationStatus"), "imageDeprecationStatus")
    state = lid(_str(status.get("imageState"), "imageState") or "active")
    when = status.get("scheduledDeprecationTime")
    if state == "active":
        return {"image_deprecated": None}
    if when:
        return {"image_deprecated": str(when)}
    # Deprecated without a date: deprecated by the time it was collected.
    return {"image_deprecated": b.s.collected_at if state == "deprecated" else None}


def _os_type(storage: Mapping[str, Any]) -> str:
    """The OS disk's `osType` (Windows, Linux: a case-insensitive enum), "" if not stated."""
    return lid(_str(_obj(storage.get("osDisk"), "osDisk").get("osType"), "osDisk.osType"))


def _image(ref: Any) -> str | None:
    if not isinstance(ref, Mapping):
        return None
    if ref.get("publisher"):
        return ":".join(str(ref.get(k) or "") for k in ("publisher", "offer", "sku", "version"))
    return lid(ref.get("id") or ref.get("sharedGalleryImageId")
               or ref.get("communityGalleryImageId")) or None


def _vm_secrets(b: Build, vm: Mapping[str, Any]) -> list[str]:
    """Where a VM holds secret-looking values: its custom data (when an object carries it),
    its user data (its own GET with `$expand=userData`, USER_DATA: the list never answers
    it, https://learn.microsoft.com/azure/virtual-machines/user-data) and its tag names.
    User data not read (the GET failed, or a snapshot recorded before it was read) leaves
    the VM's secrets unknown: it could only add one."""
    p = _props(vm)
    vm_id = lid(vm.get("id"))
    read = b.get(USER_DATA, vm_id)
    user_data = _props(read) if read is not None else p
    unread = b.unread(USER_DATA, vm_id, "its user data", closes=False)
    if unread is None and read is None and "userData" not in p:
        why = ("was not collected (a snapshot recorded before posture read it)"
               if not b.collected(USER_DATA) else "answered nothing for this VM")
        unread = Unread(f"its user data: {USER_DATA} {why}", "not_collected", closes=False)
    if unread is not None:
        b.mark(vm_id, ("plaintext_secrets",), unread)
    return secret_paths(b, vm_id, vm, (
        ("osProfile.customData", _obj(p.get("osProfile"), "osProfile"), "customData"),
        ("userData", user_data, "userData")))


def secret_paths(b: Build, rid: str, resource: Mapping[str, Any],
                 holders: tuple[tuple[str, Mapping[str, Any], str], ...]) -> list[str]:
    """The paths of the secret-looking values among `holders` ((path, object, key): custom
    and user data as the collector left them) and the resource's secret-looking tag names;
    a value decoded only in part leaves the resource's secrets unknown."""
    found = []
    for path, holder, key in holders:
        value = holder.get(key)
        if value == UNSCANNED_MARK:  # decoded only in part: not known to be clean
            b.mark(rid, ("plaintext_secrets",), Unread(
                f"its {path} was not scanned whole (it decodes past posture's bounds, or "
                "its gzip data is corrupt)", closes=False))
        elif isinstance(value, str) and value and value != REDACTED and _secret_value(value):
            found.append(path)
    found.extend(f"tags.{key}" for key in _tags(resource) if is_secret_name(key))
    return found
