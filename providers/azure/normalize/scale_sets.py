"""Virtual machine scale sets: one compute resource per scale set, judged on the model every
instance is made from (`virtualMachineProfile`): exposure through its NIC configurations,
password authentication, image, secrets in custom and user data, its disks' encryption
(scale_set_disks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.azure.apis import (
    SCALE_SET_IMAGES,
    SCALE_SET_PUBLIC_IPS,
    SCALE_SET_USER_DATA,
    SCALE_SETS,
    as_vm,
    marketplace_image,
    scale_set_ip_configs,
)
from providers.azure.normalize.common import _arr, _flag, _obj, _props, _ref, _str, lid
from providers.azure.normalize.compute import _image, ddos_of, image_deprecation, secret_paths
from providers.azure.normalize.context import Build
from providers.azure.normalize.paths import combine
from providers.azure.normalize.scale_set_disks import disk_encryption
from scanner.model import Kind, RelationType, Unread
from scanner.rules import RuleLayer

# the pools of a scale set's IP configuration through which a load balancer or application
# gateway forwards to every instance
FRONTING = ("loadBalancerBackendAddressPools", "loadBalancerInboundNatPools",
            "applicationGatewayBackendAddressPools")


def scale_sets(b: Build) -> None:
    for ss in b.items(SCALE_SETS):
        sid = lid(ss.get("id"))
        profile = _obj(_props(ss).get("virtualMachineProfile"), "virtualMachineProfile")
        storage = _obj(profile.get("storageProfile"), "storageProfile")
        os_profile = _obj(profile.get("osProfile"), "osProfile")
        public, layers, subnets, ddos = _exposure(b, ss)
        props: dict[str, Any] = {
            "public_ips": public,
            # the model gives every instance a public IP (also while it has none running,
            # scaled in, or when the instances' addresses are not listed at scale-set level)
            "public_endpoint": any(isinstance(_props(cfg).get("publicIPAddressConfiguration"),
                                              Mapping) for _, cfg in scale_set_ip_configs(ss)),
            "private_ips": [],
            "ingress": layers,
            "image": _image(storage.get("imageReference")),
            "stateful": bool(storage.get("dataDisks")),
            "plaintext_secrets": _secrets(b, ss, profile),
            "ddos_protection": ddos,
            **disk_encryption(b, sid, profile),
        }
        linux = os_profile.get("linuxConfiguration")
        if isinstance(linux, Mapping):
            props["ssh_key_only"] = _flag(linux.get("disablePasswordAuthentication"),
                                          "disablePasswordAuthentication")
        # no Azure Backup item protects a scale set: a stateful one fails BAK-02 unless
        # something posture does not read backs it up (could not tell: `error`, never a pass)
        props["backup_enabled"] = False
        b.mark(sid, ("backup_enabled",), _backup_unknown(ss))
        model = as_vm(ss)
        props.update(image_deprecation(b, model, SCALE_SET_IMAGES))
        if marketplace_image(model) is not None and "image_deprecated" not in props:
            # its image version was not read (the GET failed, or a snapshot recorded without
            # the scale sets' image versions): VUL-01 cannot tell, never a pass
            props["image_deprecated"] = None
            b.mark(sid, ("image_deprecated",), Unread(
                f"the image version of scale set {sid} is not in the {SCALE_SET_IMAGES} "
                "read", "not_collected" if not b.collected(SCALE_SET_IMAGES) else "unknown"))
        b.add(Kind.COMPUTE, ss, props, rid=sid, native_type="Microsoft.Compute/"
              "virtualMachineScaleSets")
        for subnet in subnets:
            b.relate(sid, subnet, RelationType.ATTACHED_TO)


def _exposure(b: Build, ss: Mapping[str, Any]
              ) -> tuple[list[str], tuple[RuleLayer, ...], list[str], bool | None]:
    """(public IPs of its instances, ingress, subnet ids, DDoS protection) of a scale set:
    each IP configuration of its model with a `publicIPAddressConfiguration` is a path from
    the internet to every instance, filtered by its subnet's and NIC configuration's NSGs
    (an instance's private address is not in the model: every allow rule counts)."""
    sid = lid(ss.get("id"))
    instance_ips = [pip for pip in b.items(SCALE_SET_PUBLIC_IPS)
                    if lid(pip.get("id")).startswith(sid + "/")]
    # the SKU the instances' public IPs were given (the configuration's `sku` "can only be
    # set with OrchestrationMode as Flexible", VirtualMachineScaleSetPublicIPAddress-
    # Configuration): read from the addresses themselves; any Basic one, or none known, is
    # Basic (open without an NSG), the public IP API's default
    read_skus = {lid(_str(_obj(pip.get("sku"), "sku").get("name"), "sku.name") or "basic")
                 for pip in instance_ips}
    paths: list[tuple[RuleLayer, ...]] = []
    subnets: list[str] = []
    public_subnets: list[str] = []
    first: tuple[RuleLayer, ...] | None = None
    for nic, cfg in scale_set_ip_configs(ss):
        nic = {**nic, "id": f"{sid}/networkinterfaceconfigurations/{lid(nic.get('name'))}"}
        cp = _props(cfg)
        fronted = [k for k in FRONTING if _arr(cp.get(k), k)]
        if fronted:
            # what a load balancer or application gateway forwards to the instances is not
            # mapped to scale sets yet: it could only add a path from the internet
            b.mark(sid, ("public_ips", "ingress"), Unread(
                f"{sid}: its instances are in {', '.join(fronted)} (forwarding to scale "
                "sets is not judged)", "dangling", closes=False))
        subnet = _ref(cp.get("subnet"), "subnet")
        subnets.append(subnet)
        pub = cp.get("publicIPAddressConfiguration")
        if not isinstance(pub, Mapping):
            if first is None:
                first = b.cfg_layers(nic, cfg, True, any_address=True)[0]
            continue
        sku = lid(_str(_obj(pub.get("sku"), "sku").get("name"), "sku.name") or "")
        standard = sku == "standard" if sku else read_skus == {"standard"}
        layers, _, unknown = b.cfg_layers(nic, cfg, standard, any_address=True)
        for prop, why in unknown.items():
            b.mark(sid, (prop,), why)
        paths.append(layers)
        public_subnets.append(subnet)
    public: list[str] = []
    if paths:
        unread = b.unread(SCALE_SET_PUBLIC_IPS, sid, "its instances' public IPs",
                          closes=False)
        if unread is None and not b.collected(SCALE_SET_PUBLIC_IPS):
            unread = Unread(f"its instances' public IPs: {SCALE_SET_PUBLIC_IPS} was not "
                            "collected", "not_collected", closes=False)
        if unread is not None:
            b.mark(sid, ("public_ips",), unread)
        for pip in instance_ips:
            addr = _props(pip).get("ipAddress")
            if addr and str(addr) not in public:
                public.append(str(addr))
    layers = combine(paths) if paths else (first or ())
    return (public, layers, [s for s in dict.fromkeys(subnets) if s],
            ddos_of(b, public_subnets))


def _secrets(b: Build, ss: Mapping[str, Any], profile: Mapping[str, Any]) -> list[str]:
    """Secret-looking custom data (when the model carries it), user data (the scale set's GET
    with `$expand=userData`: https://learn.microsoft.com/azure/virtual-machines/user-data)
    and tag names; user data not read leaves them unknown (it could only add one)."""
    sid = lid(ss.get("id"))
    read = b.get(SCALE_SET_USER_DATA, sid)
    user = (_obj(_props(read).get("virtualMachineProfile"), "virtualMachineProfile")
            if read is not None else profile)
    unread = b.unread(SCALE_SET_USER_DATA, sid, "its user data", closes=False)
    if unread is None and read is None and "userData" not in profile:
        unread = Unread(f"its user data: {SCALE_SET_USER_DATA} was not read for it",
                        "not_collected", closes=False)
    if unread is not None:
        b.mark(sid, ("plaintext_secrets",), unread)
    return secret_paths(b, sid, ss, (
        ("virtualMachineProfile.osProfile.customData",
         _obj(profile.get("osProfile"), "osProfile"), "customData"),
        ("virtualMachineProfile.userData", user, "userData")))


def _backup_unknown(ss: Mapping[str, Any]) -> Unread:
    """Why "no backup" of a scale set is not known to be the whole truth (BAK-02 `error`
    when it is stateful, never a pass): Azure Backup does not protect a Uniform scale set's
    instances ("Individual Uniform VM instances aren't compatible with ... Azure Backup",
    https://learn.microsoft.com/azure/virtual-machine-scale-sets/
    virtual-machine-scale-sets-orchestration-modes) and posture
    reads no other backup of them; a Flexible scale set's instances are virtual machines,
    each judged by BAK-02 as a VM, not through the scale set."""
    mode = lid(_str(_props(ss).get("orchestrationMode"), "orchestrationMode") or "uniform")
    if mode == "flexible":
        return Unread("its instances are virtual machines (Flexible orchestration), judged "
                      "as VMs; the scale set itself is protected by no Azure Backup item",
                      opens=False)
    return Unread("Azure Backup cannot protect the instances of a Uniform scale set (Azure "
                  "VM backup does not support them) and posture reads no other backup of "
                  "them", opens=False)
