"""Hetzner discovery: one unit per project of the fleet file. The API has no organisation
above projects and a token belongs to exactly one project, so the file lists them; the
token is read where the unit runs, from the environment variable or file it names."""

from __future__ import annotations

from scanner.fleet.spec import HetznerSource
from scanner.fleet.units import Unit

PERMISSIONS = {
    "each project": ["an API token of the project with Read permission (Hetzner tokens are "
                     "Read or Read & Write; Read is enough)"],
}


def discover(source: HetznerSource) -> list[Unit]:
    options = {"hetzner_project": source.project}
    if source.token_env:
        options["token_env"] = source.token_env
    if source.token_file:
        options["hetzner_token_file"] = source.token_file
    return [Unit("hetzner", source.project, source.project, options)]
