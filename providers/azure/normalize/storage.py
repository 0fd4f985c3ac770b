"""Storage accounts."""

from __future__ import annotations

from typing import Any

from providers.azure.normalize.common import (
    REDUNDANCY,
    STORAGE_DOC,
    _arr,
    _cidr,
    _flag,
    _loc,
    _obj,
    _pair,
    _props,
    _str,
    _tls,
    lid,
)
from providers.azure.normalize.context import Build
from scanner.model import Kind
from scanner.rules import Action, LayerMode, PortRange, Rule, RuleLayer


def storage(b: Build) -> None:
    for acct in b.items("Microsoft.Storage/storageAccounts"):
        p = _props(acct)
        sku = lid(_str(_obj(acct.get("sku"), "sku").get("name"), "sku.name")).split("_")[-1]
        redundancy = REDUNDANCY.get(sku)
        replicas: list[str] = []
        if redundancy == "geo":
            second = p.get("secondaryLocation") or _pair(_loc(acct))
            replicas = ["".join(str(second).lower().split())] if second else []
        services = _obj(_obj(p.get("encryption"), "encryption").get("services"), "services")
        blob = _obj(services.get("blob"), "blob")
        acls = _obj(p.get("networkAcls"), "networkAcls")
        public = lid(p.get("publicNetworkAccess")) != "disabled"
        layer = None
        if lid(acls.get("defaultAction")) == "deny":
            rules = tuple(Rule(Action.ALLOW, "tcp", PortRange(443, 443),
                               (c,), origin=lid(acct.get("id")))
                          for r in _arr(acls.get("ipRules"), "ipRules")
                          if (c := _cidr(str(r.get("value") or r.get("iPAddressOrRange")
                                             or ""))))
            layer = RuleLayer("storage firewall", LayerMode.UNION, rules, Action.DENY,
                              origin=(lid(acct.get("id")),))
        stated = bool(services or p.get("encryption"))
        props: dict[str, Any] = {
            # A response without `encryption` is still encrypted: "Azure Storage encryption
            # is enabled for all storage accounts ... and cannot be disabled" (AES-256,
            # STORAGE_DOC); read as the provider's guarantee, never as unknown.
            "encrypted": _flag(blob.get("enabled"), "encryption.services.blob.enabled",
                               default=True) if stated else True,
            "encryption_evidence": "config" if stated else "provider",
            # Absent `minimumTlsVersion` is TLS 1.0: "The default interpretation is TLS 1.0
            # for this property" (StorageAccountProperties.minimumTlsVersion, Microsoft.
            # Storage storage.json of azure-rest-api-specs; accounts created before the
            # property existed answer without it, as Microsoft's StorageAccountGetProperties
            # example does). A value of another type or an unknown name stays unknown.
            "min_tls": "1.0" if p.get("minimumTlsVersion") is None
            else _tls(_str(p["minimumTlsVersion"], "minimumTlsVersion")),
            "https_only": None if p.get("supportsHttpsTrafficOnly") is None else _flag(
                p["supportsHttpsTrafficOnly"], "supportsHttpsTrafficOnly"),
            "public_endpoint": public,
            "backup_redundancy": redundancy,
            "replica_regions": replicas,
        }
        if not stated:
            props["encryption_reference"] = STORAGE_DOC
        if layer is not None:
            props["ingress"] = (layer,)
        b.add(Kind.BUCKET, acct, props)
