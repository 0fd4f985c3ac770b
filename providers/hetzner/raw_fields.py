"""The fields of Hetzner's raw API objects that the normalizer reads, as msgspec types.

A large snapshot is mostly fields posture never reads (a server's `server_type` with its
price list per location, its image's description and sizes, protection flags, traffic
counters). When no selected check reads `Resource.raw` (`uses_raw`) and the scan writes no
snapshot, `scanner.snapshot.load` decodes the big collections into these types: msgspec
skips every field not listed here in C, without building it. What is listed is decoded as
it is (`Any`: the same values as a plain decode, wrong types included, so the normalizer
sees exactly what it would have seen and judges a hostile value the same way).

Rules that keep the normalized inventory identical to the one from the whole objects
(tests/test_raw_fields.py compares both on every bundled Hetzner estate and a generated
one):
- every field `providers/hetzner/normalize.py` (and `firewalls.py`, `LabelIndex`) reads
  from an object of a listed collection is listed here, with its nested fields;
- a nested object type is `total=True`: an object that lacks one of its fields does not
  fit, and the collection is then decoded whole (as is any value of another shape: a string
  where an object belongs). So a nested object decoded here is never empty where the whole
  one was not: `x or {}` and `isinstance(x, Mapping)` read the same. The normalizer never
  iterates over or counts the keys of a listed object (labels are decoded whole).
Collections not listed (firewalls, load balancers, networks, certificates, locations,
probe results, objects posture does not assess) are few or read whole: decoded whole.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Location(TypedDict):
    name: Any


class Image(TypedDict):
    name: Any
    description: Any
    deprecated: Any
    type: Any  # snapshot/backup images carry no deprecation of the OS they hold (VUL-01)
    os_flavor: Any
    os_version: Any


class PublicIp(TypedDict):  # a server's public_net.ipv4 / ipv6
    ip: Any
    id: Any  # the primary IP's: a malformed public_net names it (scanner/quarantine.py)


class PublicNet(TypedDict):
    firewalls: Any
    floating_ips: Any  # ids of the floating IPs assigned (one not read: public_ips unknown)
    ipv4: PublicIp | None  # (not its dns_ptr and blocked flag: ~100 bytes a server where
    ipv6: PublicIp | None  # a large scan's parse peaks, bench/README.md "Session 9")


class PrivateNet(TypedDict):
    ip: Any
    network: Any


class Server(TypedDict, total=False):
    id: Any
    name: Any
    labels: Any
    location: Location | None
    home_location: Any
    datacenter: Any
    public_net: PublicNet | None
    private_net: list[PrivateNet] | None
    backup_window: Any
    image: Image | None


class Volume(TypedDict, total=False):
    id: Any
    name: Any
    labels: Any
    location: Location | None
    home_location: Any
    datacenter: Any
    server: Any
    size: Any


class PrimaryIp(TypedDict, total=False):
    id: Any
    name: Any
    labels: Any
    location: Location | None
    home_location: Location | None
    datacenter: Any
    assignee_type: Any
    assignee_id: Any
    auto_delete: Any


class FloatingIp(TypedDict, total=False):
    id: Any
    name: Any
    labels: Any
    location: Location | None
    home_location: Location | None
    datacenter: Any
    server: Any
    ip: Any


class Image_(TypedDict, total=False):  # an image as a collection item (backup, snapshot)
    id: Any
    name: Any
    description: Any
    labels: Any
    created_from: Any


# collection -> the type of one of its raw objects
RAW_FIELDS: dict[str, Any] = {
    "servers": Server,
    "volumes": Volume,
    "primary_ips": PrimaryIp,
    "floating_ips": FloatingIp,
    "images": Image_,
}
