"""Planned resources -> the provider-neutral model, through one mapping per Terraform resource
type (`MAPPING`: type -> the posture provider whose model it produces). Pure: no network.

Resources carry the cloud's provider name (`aws`, `azure`, `hetzner`) so that every check,
region catalogue lookup and provider-specific statement applies as on the live estate; their
account is the plan's (the file's stem) and their id `<cloud>:<plan>/<terraform address>`.
Each gets the `iac` property: its address, the plan's actions, the block's file and line
(with --tf-dir), `unknown` (see providers.terraform.core), `parts` (the addresses of the
instances folded into it) and, in a --changed-only scan, `judged: false` for context
resources. An instance that is none of these (its owner is not in the plan) is added to the
section's `not_assessed` list: a NOT-ASSESSED finding names it (providers.terraform.core.Builder).
"""

from __future__ import annotations

from collections.abc import Mapping

from providers.terraform import aws, azurerm, context, grants, hcloud, iam
from providers.terraform.core import Builder, Entry, Index
from scanner.model import Inventory
from scanner.provider import inventory
from scanner.snapshot import GLOBAL, Section

NOT_ASSESSED = "not_assessed"  # engine.NOT_ASSESSED, as providers.terraform.plan writes it

# Terraform resource type -> posture provider. Everything else is listed as not assessed.
# Types without a property the checks judge (providers.terraform.context) are mapped too:
# read, never NOT-ASSESSED, but they make no model resource.
MAPPING: Mapping[str, str] = {
    **{t: aws.CLOUD for t in context.AWS},
    **{t: azurerm.CLOUD for t in context.AZURERM},
    **{t: hcloud.CLOUD for t in context.HCLOUD},
    **{t: aws.CLOUD for t in aws.TYPES},
    **{t: azurerm.CLOUD for t in azurerm.TYPES},
    **{t: grants.CLOUD for t in grants.TYPES},
    **{t: iam.CLOUD for t in iam.TYPES},
    **{t: hcloud.CLOUD for t in hcloud.TYPES},
}
MAPPED = frozenset(MAPPING)
COVERED_PROVIDERS = frozenset({"aws", "azurerm", "hcloud"})


def normalize(section: Section) -> Inventory:
    meta = next(iter(section.items("plan")), {})
    entries = [Entry(raw) for raw in section.items("resources") if raw.get("type") in MAPPED]
    b = Builder(section.account, Index(entries), bool(meta.get("changed_only")))
    b.unexpanded = any(o.get("reason") == "module_not_expanded"
                       for o in section.items(NOT_ASSESSED))
    b.deleted_types = frozenset(str(o.get("type")) for o in section.items(NOT_ASSESSED)
                                if o.get("reason") == "deleted")
    hcloud.build(b)
    aws.build(b)
    azurerm.build(b)
    grants.build(b)
    iam.build(b)
    resources = b.finish()
    # this normalizer's own NOT-ASSESSED objects replace those of an earlier run
    read = [o for o in section.items(NOT_ASSESSED) if not o.get("normalized")]
    skipped = [{**o, "normalized": True} for o in b.skipped.values()]
    if skipped or len(read) != len(section.items(NOT_ASSESSED)):
        section.collections.pop(NOT_ASSESSED, None)
        section.add(NOT_ASSESSED, GLOBAL, sorted([*read, *skipped], key=lambda o: o["id"]))
    return inventory("terraform", section, resources, b.relations)
