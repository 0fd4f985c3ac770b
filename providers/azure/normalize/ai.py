"""Cognitive Services / Azure OpenAI model deployments."""

from __future__ import annotations

from providers.azure.normalize.common import DEPLOYMENT_SCOPE, _loc, _parent, _props, _tags, lid
from providers.azure.normalize.context import Build
from scanner import regions
from scanner.model import Kind


def model_deployments(b: Build) -> None:
    accounts = b.by_id["Microsoft.CognitiveServices/accounts"]
    for dep in b.items("Microsoft.CognitiveServices/accounts/deployments"):
        account = accounts.get(_parent(lid(dep.get("id"))), {})
        region = _loc(account)
        scope = DEPLOYMENT_SCOPE.get(lid((dep.get("sku") or {}).get("name")))
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
