"""Inventory: INV-02."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.check import CheckContext, check
from scanner.findings import Finding
from scanner.model import Kind

TAGGED_KINDS = (Kind.COMPUTE, Kind.DATABASE, Kind.VOLUME, Kind.BUCKET, Kind.LOAD_BALANCER,
                Kind.NETWORK, Kind.KEY_STORE, Kind.BACKUP_VAULT, Kind.APP_SERVICE)


@check(
    id="INV-02",
    title="Required classification labels are present (owner, environment, data "
          "classification)",
    severity="low",
    kinds=set(TAGGED_KINDS),
    rationale="Unowned, unclassified resources are the ones nobody patches, backs up or "
              "deletes.",
    remediation="Add the labels/tags named by required_labels.",
    references={"GDPR": ("Art. 32(2)",), "ISO27001": ("A.5.9", "A.5.12"),
                "C5": ("AM-01", "AM-06")},
    evidence={"hetzner": "labels", "aws": "tags", "azure": "tags"},
    parameters=("required_labels",),
)
def labels_present(ctx: CheckContext) -> Iterator[Finding]:
    required = list(ctx.params.required_labels)
    for r in ctx.graph.of_kind(*TAGGED_KINDS):
        present = {k.lower() for k in r.labels}
        missing = [label for label in required if label.lower() not in present]
        if missing:
            yield ctx.fail(r, f"missing label(s) {', '.join(missing)}", {"missing": missing})
        else:
            yield ctx.passed(r, "all required labels present", {"labels": required})
