"""Key vaults and their keys."""

from __future__ import annotations

from collections.abc import Mapping

from providers.azure.normalize.common import _arr, _flag, _obj, _parent, _props, lid
from providers.azure.normalize.context import Build
from scanner.model import Kind


def key_vaults(b: Build) -> None:
    for key in b.items("Microsoft.KeyVault/vaults/keys"):
        policy = _obj(_props(key).get("rotationPolicy"), "rotationPolicy")
        rotates = any(lid(_obj(action.get("action"), "action").get("type")) == "rotate"
                      for action in _arr(policy.get("lifetimeActions"), "lifetimeActions")
                      if isinstance(action, Mapping))
        b.add(Kind.KEY, key, {"customer_managed": True, "rotation_enabled": rotates},
                 name=f"{_parent(lid(key.get('id'))).rsplit('/', 1)[-1]}/{key.get('name')}")
    for vault in b.items("Microsoft.KeyVault/vaults"):
        p = _props(vault)
        # `enableSoftDelete` absent is on: "If it's not set to any value (true or false)
        # when creating new key vault, it will be set to true by default" (the vault
        # properties of the Key Vault REST API, azure-rest-api-specs keyvault.json), and
        # soft delete can no longer be turned off on any vault
        # (https://learn.microsoft.com/azure/key-vault/general/soft-delete-change).
        # Microsoft's own getVault example omits it. An explicit false is read as written.
        soft = p.get("enableSoftDelete")
        b.add(Kind.KEY_STORE, vault, {
            "soft_delete": _flag(soft, "enableSoftDelete", default=True),
            "purge_protection": _flag(p.get("enablePurgeProtection"), "enablePurgeProtection"),
            "public_endpoint": lid(p.get("publicNetworkAccess") or "enabled") != "disabled",
        })
