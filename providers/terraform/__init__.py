"""Terraform: plans and states (`terraform show -json`) judged with the live estate's checks.

Not a cloud: a source. `posture scan plan.json` recognises a Terraform JSON plan or state by
content (the engine offers every file to the providers that read files before reading it as
a snapshot), turns it into one raw section, and normalizes its `aws`, `azurerm` and `hcloud`
resources into the same model the live collectors produce. See docs/terraform.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from providers.terraform import hcl, plan
from providers.terraform.normalize import COVERED_PROVIDERS, MAPPED
from providers.terraform.normalize import normalize as _normalize
from scanner.model import Inventory, Kind
from scanner.provider import Collection, Provider, ProviderError
from scanner.snapshot import Section

COLLECTIONS = {
    "resources": Collection(
        "resources", frozenset(k for k in Kind if k not in (Kind.INTERNET, Kind.ACCOUNT)),
        ("terraform show -json PLANFILE",),
        "planned resource instances (values, unknowns, actions, configuration)"),
}


class TerraformProvider(Provider):
    name = "terraform"
    collections = COLLECTIONS
    # What a plan cannot show: account-wide settings and what only exists at run time.
    not_visible: Mapping[str, str] = {
        "LOG-01": "a plan holds resources, not the account's audit logging: judge it live",
        "LOG-03": "threat detection is account-wide: judge it live",
        "IAM-01": "identities and their MFA are not read from plans",
        "IAM-02": "grants made outside the plan (policies attached, role assignments made "
                  "by other configurations or by hand) are not in it: judge them live (the "
                  "plan's AWS IAM policies, attachments and group memberships and azurerm "
                  "role assignments are judged)",
        "IAM-04": "credentials exist only at run time",
        "VUL-01": "a plan names an image, not when its vendor deprecates it",
        "INV-01": "a plan is the declared side: compare it with the live estate "
                  "(`posture scan PROVIDER|SNAPSHOT --iac plan.json`)",
    }

    # the configuration a plan holds (user data, environments, app settings): SEC-01 is
    # judged for every cloud's resources of a plan, Hetzner's too (providers.terraform.secrets)
    shows = frozenset({"SEC-01"})

    def collect(self, options: Mapping[str, Any], only: Iterable[str] | None = None
                ) -> list[Section]:
        raise ProviderError("terraform is not collected live: give the plan file, "
                            "`terraform show -json PLANFILE > plan.json; posture scan plan.json`")

    def normalize(self, section: Section) -> Inventory:
        return _normalize(section)

    # --- the file hook the engine calls before reading a file as a snapshot -------------

    def reads_file(self, path: Path) -> bool:
        """A Terraform JSON plan or state (by content), or plain configuration (a folder of
        .tf files, or a .tf file)."""
        return plan.sniff(path) or hcl.recognises(path)

    def read_file(self, path: Path, options: Mapping[str, Any]
                  ) -> tuple[list[Section], dict[str, Any]]:
        if hcl.recognises(path):
            return hcl.read(path, MAPPED, COVERED_PROVIDERS)
        return plan.read(path, options, MAPPED, COVERED_PROVIDERS)

    def permissions(self, collections: Iterable[str] | None = None) -> dict[str, Any]:
        return {"provider": self.name, "calls": [],
                "note": "reads a plan file; needs no cloud credentials"}


PROVIDER = TerraformProvider()
