"""Keys: KMS keys, their aliases and rotation."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from providers.aws.normalize.common import _obj
from providers.aws.normalize.context import Build
from scanner.model import Kind


def keys(ctx: Build) -> None:
    described = {}
    for _, env in ctx.regional("kms.describe_key"):
        meta = _obj(env.get("response"), "response").get("KeyMetadata")
        if meta:
            described[str(meta.get("KeyId"))] = meta
    rotation = {}
    for _, env in ctx.regional("kms.get_key_rotation_status"):
        if "response" in env:
            rotation[str(_obj(env.get("request"), "request").get("KeyId"))] = env["response"].get(
                "KeyRotationEnabled")
    aliases: dict[str, list[str]] = defaultdict(list)
    for _, a in ctx.regional("kms.list_aliases"):
        if a.get("TargetKeyId"):
            aliases[str(a["TargetKeyId"])].append(str(a.get("AliasName")))
    for region, key in ctx.regional("kms.list_keys"):
        kid = str(key["KeyId"])
        meta = described.get(kid, {})
        arn = str(key.get("KeyArn") or meta.get("Arn") or ctx.arn("kms", region,
                                                                  f"key/{kid}"))
        props: dict[str, Any] = {}
        if meta:
            props["customer_managed"] = meta.get("KeyManager") == "CUSTOMER"
            # KeySpec replaced CustomerMasterKeySpec (deprecated) in 2021: older answers
            # carry only the latter (KMS API Reference, KeyMetadata).
            symmetric = (meta.get("KeySpec") or meta.get("CustomerMasterKeySpec")
                         or "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
            if meta.get("KeyManager") == "AWS":
                props["rotation_enabled"] = True  # AWS rotates AWS-managed keys yearly
            elif kid in rotation:
                props["rotation_enabled"] = bool(rotation[kid])
            elif not symmetric or meta.get("Origin", "AWS_KMS") != "AWS_KMS":
                props["rotation_enabled"] = False  # automatic rotation is not available
            elif meta.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
                # KMS API Reference, GetKeyRotationStatus: "While a KMS key is pending
                # deletion, its key rotation status is false and KMS does not rotate the key
                # material" (the collector does not ask for it).
                props["rotation_enabled"] = False
        names = sorted(aliases.get(kid, []))
        ctx.add(Kind.KEY, arn, "kms_key", {**key, **meta}, props, region,
                names[0] if names else kid)
