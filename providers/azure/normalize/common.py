"""Shared constants and small readers of ARM JSON (ids, properties, locations, TLS names)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from scanner import regions
from scanner.raw_types import array, mapping, string
from scanner.rules import INTERNET, canonical_cidr

PROVIDER = "azure"
DISK_DOC = ("https://learn.microsoft.com/azure/virtual-machines/disk-encryption (managed disks "
            "are encrypted at rest with 256-bit AES server-side encryption, always on)")
FLEX_DOC = ("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-security "
            "and .../mysql/flexible-server/concepts-security (data, backups and temporary "
            "files are always encrypted at rest with AES-256)")
STORAGE_DOC = ("https://learn.microsoft.com/azure/storage/common/storage-service-encryption "
               "(data in Azure Storage is encrypted with 256-bit AES; encryption is enabled "
               "for all storage accounts and cannot be disabled)")
VAULT_DOC = ("https://learn.microsoft.com/azure/backup/backup-encryption (backup data in "
             "Recovery Services vaults is always encrypted with AES-256)")
APPGW_TLS_DOC = ("https://learn.microsoft.com/azure/application-gateway/"
                 "application-gateway-ssl-policy-overview (predefined policy protocol ranges)")
INTERNET_TAGS = frozenset({"*", "any", "internet", "0.0.0.0/0", "::/0", "azurecloud"})
DEST_ANY = frozenset({"*", "any", "virtualnetwork"})
# NSG rule protocols (Tcp, Udp, Icmp, Esp, Ah, *) and load balancer / inbound NAT rule
# transport protocols (Udp, Tcp, All: "All" is both TCP and UDP, the NSG's "*",
# https://learn.microsoft.com/rest/api/load-balancer/load-balancers/get#transportprotocol)
_PROTO = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "esp": "other", "ah": "other", "*": "*",
          "all": "*"}
DEFAULT_RULES = (
    {"name": "AllowVnetInBound", "properties": {
        "priority": 65000, "access": "Allow", "direction": "Inbound", "protocol": "*",
        "sourceAddressPrefix": "VirtualNetwork", "destinationAddressPrefix": "VirtualNetwork",
        "destinationPortRange": "*"}},
    {"name": "AllowAzureLoadBalancerInBound", "properties": {
        "priority": 65001, "access": "Allow", "direction": "Inbound", "protocol": "*",
        "sourceAddressPrefix": "AzureLoadBalancer", "destinationAddressPrefix": "*",
        "destinationPortRange": "*"}},
    {"name": "DenyAllInBound", "properties": {
        "priority": 65500, "access": "Deny", "direction": "Inbound", "protocol": "*",
        "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
        "destinationPortRange": "*"}},
)
APPGW_POLICIES = {  # predefined SSL policy -> lowest TLS version
    "appgwsslpolicy20150501": "1.0",
    "appgwsslpolicy20170401": "1.1",
    "appgwsslpolicy20170401s": "1.2",
    "appgwsslpolicy20220101": "1.2",
    "appgwsslpolicy20220101s": "1.2",
}
TLS_NAMES = {"tls1_0": "1.0", "tls1_1": "1.1", "tls1_2": "1.2", "tls1_3": "1.3",
             "tlsv1_0": "1.0", "tlsv1_1": "1.1", "tlsv1_2": "1.2", "tlsv1_3": "1.3",
             "1.0": "1.0", "1.1": "1.1", "1.2": "1.2", "1.3": "1.3",
             "tlsv1": "1.0", "tlsv1.1": "1.1", "tlsv1.2": "1.2", "tlsv1.3": "1.3"}
REDUNDANCY = {
    "lrs": "local", "zrs": "zone", "grs": "geo", "ragrs": "geo", "gzrs": "geo", "ragzrs": "geo",
    "local": "local", "zone": "zone", "geo": "geo", "geozone": "geo",
    "locallyredundant": "local", "zoneredundant": "zone", "georedundant": "geo",
}
DEPLOYMENT_SCOPE = {
    "standard": "regional", "provisionedmanaged": "regional",
    "datazonestandard": "data_zone", "datazoneprovisionedmanaged": "data_zone",
    "datazonebatch": "data_zone",
    "globalstandard": "global", "globalprovisionedmanaged": "global", "globalbatch": "global",
}
PRINCIPAL_TYPES = {"user": "user", "group": "group", "serviceprincipal": "service_principal",
                   "foreigngroup": "group", "device": "device"}
DB_PORTS = {"sql": 1433, "postgresql": 5432, "mysql": 3306}


def lid(value: Any) -> str:
    return str(value or "").lower()


def _props(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    p = obj.get("properties")
    if p is None:
        return {}
    if not isinstance(p, Mapping):  # `properties: []` read as empty turned fails into passes
        raise TypeError(f"properties: expected an object, got {type(p).__name__}")
    return p


_arr = array  # the typed readers shared by every provider (scanner/raw_types.py)
_obj = mapping
_str = string


def _flag(value: Any, name: str, default: bool = False) -> bool:
    """A documented boolean (absent: `default`); another type ("false", 0) is refused as
    `_arr` refuses, never read by its truthiness (bool("false") is True: a pass)."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected a boolean, got {type(value).__name__}")
    return value


def _ref(value: Any, name: str = "reference") -> str:
    """The lower-cased id of an ARM SubResource (`{"id": ...}`, or null/missing: "");
    another type, or an id that is not a string, is refused as `_arr`."""
    return lid(_str(_obj(value, name).get("id"), f"{name}.id"))


def _loc(obj: Mapping[str, Any]) -> str | None:
    loc = _str(obj.get("location"), "location")  # 0 read as no region: RES-02 fail -> pass
    return "".join(str(loc).lower().split()) if loc else None


def _pair(location: str | None) -> str | None:
    if not location:
        return None
    found = regions.find_region("azure", location)
    return found.pair if found else None


def _tags(obj: Mapping[str, Any]) -> dict[str, str]:
    tags = _obj(obj.get("tags"), "tags")
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}


def _tls(value: Any) -> str | None:
    return TLS_NAMES.get(lid(value).replace(" ", "")) if value else None


def _parent(rid: str, levels: int = 2) -> str:
    return "/".join(rid.split("/")[:-levels])


def _cidr(prefix: str) -> str | None:
    try:
        return canonical_cidr(prefix.strip())  # = str(ipaddress.ip_network(...))
    except ValueError:
        return None


def _range_cidrs(start: str, end: str) -> tuple[str, ...]:
    """A firewall rule's address range as CIDRs; 0.0.0.0-0.0.0.0 ("allow Azure services")
    is any Azure tenant, i.e. the internet."""
    if start.strip() == "0.0.0.0" and end.strip() == "0.0.0.0":
        return INTERNET
    try:
        lo, hi = ipaddress.ip_address(start.strip()), ipaddress.ip_address(end.strip())
        if lo.version != hi.version or int(hi) < int(lo):
            return ()
        return tuple(str(n) for n in ipaddress.summarize_address_range(lo, hi))
    except ValueError:
        return ()
