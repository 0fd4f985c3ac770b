"""ACME-01: every server names its owner.

An example of a check that lives outside posture: load it with
`posture scan ... --checks-dir docs/examples/checks --checks ACME-01`, or ship it in a package
that declares a `posture.checks` entry point (see docs/writing-checks.md).

It reads only the provider-neutral model: `Resource.labels` holds Hetzner labels today, and
AWS tags / Azure tags when those providers arrive, so the check needs no provider branch.
"""

from __future__ import annotations

from collections.abc import Iterator

from scanner.check import CheckContext, check
from scanner.findings import Finding
from scanner.model import Kind

LABEL = "owner"  # profile parameters are a closed set: a plugin keeps its own settings


@check(
    id="ACME-01",
    title="Every server carries an owner label",
    severity="low",
    kinds={Kind.COMPUTE},
    rationale="A machine nobody owns is a machine nobody patches, reviews or decommissions.",
    remediation=f"Label the server with {LABEL}=<team> (Hetzner: `hcloud server add-label "
                f"<server> {LABEL}=<team>`).",
    references={"ISO27001": ("A.5.9",)},
    evidence={"hetzner": f"the `{LABEL}` label of every server"},
)
def servers_have_owner(ctx: CheckContext) -> Iterator[Finding]:
    for server in ctx.graph.of_kind(Kind.COMPUTE):
        owner = server.labels.get(LABEL, "").strip()
        if owner:
            yield ctx.passed(server, f"owned by {owner}", {"label": f"{LABEL}={owner}"})
        else:
            yield ctx.fail(server, f"has no {LABEL} label", {"labels": sorted(server.labels)})
