"""Model inference: Bedrock inference profiles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.aws.normalize.common import ZONES, _arr, region_of_arn
from providers.aws.normalize.context import Build
from scanner.model import Kind


def inference_scope(profile: Mapping[str, Any]) -> tuple[str, str | None]:
    """(processing_scope, data_zone) of a Bedrock inference profile."""
    from scanner import regions as catalogue

    pid = str(profile.get("inferenceProfileId") or "")
    prefix = pid.split(".", 1)[0] if "." in pid else ""
    if prefix == "global":
        return "global", None
    if prefix in ZONES and profile.get("type") != "APPLICATION":
        return "data_zone", ZONES[prefix]
    model_regions = sorted({r for m in _arr(profile.get("models"), "models")
                            if (r := region_of_arn(str(m.get("modelArn", ""))))})
    if len(model_regions) <= 1:
        return "regional", None
    found = [catalogue.find_region("aws", r) for r in model_regions]
    for bloc in ("EU", "US"):
        if all(f is not None and bloc in f.jurisdictions for f in found):
            return "data_zone", bloc
    return "global", None


def inference(ctx: Build) -> None:
    for region, p in ctx.regional("bedrock.list_inference_profiles"):
        scope, zone = inference_scope(p)
        ctx.add(Kind.MODEL_DEPLOYMENT, str(p.get("inferenceProfileArn")),
                "bedrock_inference_profile", p,
                {"processing_scope": scope, "data_zone": zone}, region,
                str(p.get("inferenceProfileName") or p.get("inferenceProfileId")))
