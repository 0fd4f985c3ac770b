"""Encryption at rest: ENC-01."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.check import CheckContext, check
from scanner.findings import EvidenceLevel, Finding
from scanner.model import Kind


@check(
    id="ENC-01",
    title="Persistent storage is encrypted at rest",
    severity="high",
    kinds={Kind.VOLUME, Kind.DATABASE, Kind.BUCKET, Kind.COMPUTE},
    rationale="Unencrypted disks leak data through snapshots, decommissioned hardware and "
              "mis-attached volumes.",
    remediation="Enable provider encryption (EBS/RDS/S3 encryption, Azure SSE); on Hetzner, "
                "encrypt inside the server (LUKS) and label the resource with the profile's "
                "attestation label.",
    references={"GDPR": ("Art. 32(1)(a)",), "ISO27001": ("A.8.24",), "C5": ("KRY-03",)},
    evidence={"hetzner": "volumes and server disks are not encrypted by Hetzner: fail unless "
                         "the profile's attestation label is set (evidence: attested)"},
    parameters=("encryption_attestation_label",),
)
def storage_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    attestation = ctx.params.attestation()
    for r in ctx.graph.of_kind(Kind.VOLUME, Kind.DATABASE, Kind.BUCKET, Kind.COMPUTE):
        if not r.has_prop("encrypted"):
            continue
        encrypted = r.prop("encrypted")
        level = EvidenceLevel(r.prop("encryption_evidence", "config"))
        evidence = {"encrypted": encrypted, "basis": str(level)}
        if r.prop("encryption_reference"):
            evidence["reference"] = r.prop("encryption_reference")
        if encrypted:
            yield ctx.passed(r, "encrypted at rest", evidence, level)
        elif attestation and r.labels.get(attestation[0]) == attestation[1]:
            evidence["label"] = f"{attestation[0]}={attestation[1]}"
            yield ctx.passed(r, f"the operator attests encryption ({evidence['label']})",
                             evidence, EvidenceLevel.ATTESTED)
        elif encrypted is None:
            yield ctx.error(r, "the API does not say whether it is encrypted", "unknown",
                            evidence)
        else:
            hint = (f" and carries no {attestation[0]}={attestation[1]} label"
                    if attestation else "")
            yield ctx.fail(r, f"not encrypted at rest{hint}", evidence, level)
