"""Cognitive Services / Azure OpenAI model deployments."""

from __future__ import annotations

from providers.azure.normalize.common import (
    DEPLOYMENT_SCOPE,
    _loc,
    _obj,
    _parent,
    _props,
    _str,
    _tags,
    lid,
)
from providers.azure.normalize.context import Build
from scanner import regions
from scanner.model import Kind


def model_deployments(b: Build) -> None:
    for dep in b.items("Microsoft.CognitiveServices/accounts/deployments"):
        account = b.located("Microsoft.CognitiveServices/accounts",
                            _parent(lid(dep.get("id")))) or {}
        region = _loc(account)
        scope = DEPLOYMENT_SCOPE.get(lid(_str(_obj(dep.get("sku"), "sku").get("name"), "sku.name")))
        zone = None
        if scope == "data_zone" and region and (found := regions.find_region("azure",
                                                                               region)):
            zone = next((z for z in ("EU", "US") if z in found.jurisdictions), None)
        b.add(Kind.MODEL_DEPLOYMENT, dep, {
            "processing_scope": scope,
            "data_zone": zone,
            "public_endpoint": lid(_props(account).get("publicNetworkAccess")
                                   or "enabled") != "disabled",
        }, region=region, labels={**_tags(account), **_tags(dep)},
            name=f"{account.get('name')}/{dep.get('name')}")


ACCOUNTS = "Microsoft.CognitiveServices/accounts"
DEPLOYMENTS = "Microsoft.CognitiveServices/accounts/deployments"


def accounts(b: Build) -> None:
    """Every Cognitive Services / AI Services account (OpenAI, AIServices, Translator,
    Speech, ...) is a model_deployment resource of its own, whether or not it has
    deployments: its endpoint processes requests in its `location` ("regional"), and an
    account in the `global` location (Translator, for one) may have requests processed in
    any region ("global"). See docs/azure.md for why this kind."""
    for account in b.items(ACCOUNTS):
        aid = lid(account.get("id"))
        region = _loc(account)
        b.add(Kind.MODEL_DEPLOYMENT, account, {
            "processing_scope": None if region is None else
            "global" if region == "global" else "regional",
            "data_zone": None,
            "public_endpoint": lid(_props(account).get("publicNetworkAccess")
                                   or "enabled") != "disabled",
        }, rid=aid)
        if (unread := b.unread(DEPLOYMENTS, aid, "its model deployments")) is not None:
            # the deployments themselves are not known: each would be a resource of its
            # own; what the account processes elsewhere through them is unknown
            b.mark(aid, ("processing_scope", "data_zone"), unread)
