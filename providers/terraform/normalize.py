"""Planned resources -> the provider-neutral model, through one mapping per Terraform resource
type (`MAPPING`: type -> the posture provider whose model it produces). Pure: no network.

Resources carry the cloud's provider name (`aws`, `azure`, `hetzner`) so that every check,
region catalogue lookup and provider-specific statement applies as on the live estate; their
account is the plan's (the file's stem) and their id `<cloud>:<plan>/<terraform address>`.
Each gets the `iac` property: its address, the plan's actions, the block's file and line
(with --tf-dir), `unknown` (see providers.terraform.core) and, in a --changed-only scan,
`judged: false` for context resources.
"""

from __future__ import annotations

from collections.abc import Mapping

from providers.terraform import aws, azurerm, context, hcloud
from providers.terraform.core import Builder, Entry, Index
from scanner.model import Inventory
from scanner.provider import inventory
from scanner.snapshot import Section

# Terraform resource type -> posture provider. Everything else is listed as not assessed.
# Types without a property the checks judge (providers.terraform.context) are mapped too:
# read, never NOT-ASSESSED, but they make no model resource.
MAPPING: Mapping[str, str] = {
    **{t: aws.CLOUD for t in context.AWS},
    **{t: azurerm.CLOUD for t in context.AZURERM},
    **{t: hcloud.CLOUD for t in context.HCLOUD},
    **{t: aws.CLOUD for t in aws.TYPES},
    **{t: azurerm.CLOUD for t in azurerm.TYPES},
    **{t: hcloud.CLOUD for t in hcloud.TYPES},
}
MAPPED = frozenset(MAPPING)
COVERED_PROVIDERS = frozenset({"aws", "azurerm", "hcloud"})


def normalize(section: Section) -> Inventory:
    meta = next(iter(section.items("plan")), {})
    entries = [Entry(raw) for raw in section.items("resources") if raw.get("type") in MAPPED]
    b = Builder(section.account, Index(entries), bool(meta.get("changed_only")))
    hcloud.build(b)
    aws.build(b)
    azurerm.build(b)
    return inventory("terraform", section, b.finish(), b.relations)
