"""The bundled seed 002 AWS snapshot, scanned with the Hetzner one as one estate, gives
exactly the verdicts fixtures/aws/README.md lists (for the checks of the seed 002 page)."""

from __future__ import annotations

from pathlib import Path

from providers.aws import PROVIDER
from scanner import snapshot
from scanner.model import PROPERTIES
from tests.helpers import SEED002, claims_of, findings_of, scan_json

AWS_SEED002 = Path(__file__).resolve().parents[1] / "fixtures" / "aws" / "seed002-aws.json"
CHECKS = ("NET-01,NET-02,NET-03,NET-04,TLS-01,TLS-02,TLS-03,TLS-04,ENC-01,RES-01,BAK-02,"
          "VUL-01,IAM-03,LOG-01,INV-01,INV-02,RES-03,ENC-02")

EXPECTED_FAILS = {
    ("ENC-01", "bastion-1-root"),
    ("NET-02", "bastion-1"), ("NET-03", "bastion-1"),
    ("RES-01", "ohallo-recordings-replica"),
    ("TLS-01", "smtp-in:465/tls"),
    ("TLS-03", "smtp.ohallo.eu"),
    ("VUL-01", "bastion-1"), ("IAM-03", "bastion-1"),
    ("INV-02", "bastion-1"), ("INV-02", "ohallo-exports"),
    ("ENC-02", "bastion-1-root-manual"),
    ("RES-03", "chat-eu"), ("RES-03", "chat-global-fallback"),
    ("LOG-01", "210987654322"),  # the sandbox account's trail: one region, not validated
    # S3's public endpoint answers plain HTTP unless the bucket policy denies it
    ("TLS-02", "ohallo-exports"), ("TLS-02", "ohallo-audit-logs"),
    ("TLS-02", "ohallo-recordings-replica"),
}
EXPECTED_SKIPS = {
    ("TLS-01", "smtp-in:25/tcp"), ("TLS-02", "smtp-in:25/tcp"),
    # not probed (no --probe-tls): every public TLS endpoint, never passed
    ("TLS-04", "web-eu:443/https"), ("TLS-04", "smtp-in:465/tls"), ("TLS-04", "smtp-in:25/tcp"),
    # no Terraform state given (--iac): said once per account
    ("INV-01", "210987654321"), ("INV-01", "210987654322"),
    # the page's at-rest claim speaks of volumes, disks, databases and snapshots (its scope):
    # buckets are out of it (ohallo-exports fails on its own: no default encryption)
    *{("ENC-01", n) for n in ("ohallo-audit-logs", "ohallo-exports", "ohallo-recordings",
                              "ohallo-recordings-replica")},
}
EXPECTED_PASSES = {
    ("BAK-02", "mail-worker-1"), ("BAK-02", "db-mailqueue"),
    *{("ENC-01", n) for n in ("mail-worker-1-root", "mail-worker-1-spool", "db-mailqueue")},
    ("NET-01", "db-mailqueue"),
    ("NET-02", "mail-worker-1"), ("NET-02", "web-eu"), ("NET-02", "smtp-in"),
    ("NET-03", "mail-worker-1"), ("NET-04", "bastion-1"),
    *{("RES-01", n) for n in ("ohallo-vault", "chat-eu", "chat-global-fallback", "audit",
                              "mail-worker-1", "bastion-1", "mail-worker-1-root",
                              "mail-worker-1-spool", "bastion-1-root", "web-eu", "smtp-in",
                              "ses-bounce-handler", "db-mailqueue", "ohallo-audit-logs",
                              "ohallo-exports", "ohallo-recordings")},
    ("TLS-01", "d111111abcdef8.cloudfront.net"), ("TLS-01", "web-eu:443/https"),
    ("TLS-02", "d111111abcdef8.cloudfront.net"), ("TLS-02", "web-eu:80/http"),
    ("TLS-02", "web-eu:443/https"), ("TLS-02", "smtp-in:465/tls"),
    ("TLS-02", "ohallo-recordings"),
    ("TLS-03", "app.ohallo.eu"),
    ("VUL-01", "mail-worker-1"), ("IAM-03", "mail-worker-1"),
    *{("INV-02", n) for n in ("mail-worker-1", "mail-worker-1-root", "mail-worker-1-spool",
                              "bastion-1-root", "db-mailqueue", "ohallo-audit-logs",
                              "ohallo-aws", "ohallo-recordings", "ohallo-recordings-replica",
                              "ohallo-vault", "ses-bounce-handler", "smtp-in", "web-eu")},
    *{("ENC-02", n) for n in ("ohallo-vault", "spool-daily",
                              "rds:db-mailqueue-2026-11-19-02-05")},
    ("RES-03", "chat-fra"), ("LOG-01", "210987654321"), ("RES-01", "sandbox-local"),
    ("RES-01", "chat-fra"),
}


def test_hetzner_and_aws_snapshots_are_judged_as_one_estate() -> None:
    code, doc = scan_json(str(SEED002), str(AWS_SEED002), "--profile", "seed-002",
                          "--checks", CHECKS)
    assert code == 1
    aws = [f for f in findings_of(doc) if f["provider"] == "aws"]
    got = {(f["check"], f["resource_name"], f["status"]) for f in aws}
    assert {(c, n) for c, n, s in got if s == "fail"} == EXPECTED_FAILS
    assert {(c, n) for c, n, s in got if s == "skip"} == EXPECTED_SKIPS
    assert {(c, n) for c, n, s in got if s == "pass"} == EXPECTED_PASSES
    assert not [f for f in findings_of(doc) if f["status"] == "error"]
    # the Hetzner part is judged in the same scan
    assert {f["provider"] for f in findings_of(doc)} == {"aws", "hetzner"}
    claims = {c["id"]: c["status"] for c in doc["claims"]}
    assert claims["aes-256-at-rest"] == "contradicted"
    # the newly bound claims: each contradicted here beside compliant resources
    for claim in ("ssh-keys-only", "operator-audit-log", "subprocessor-aws", "daily-backups",
                  "data-classification", "vulnerability-procedures"):
        assert claims[claim] == "contradicted", claim
    audit = next(c for c in claims_of(doc) if c["id"] == "operator-audit-log")
    assert findings_of(audit) == ["LOG-01|aws:210987654322"]
    assert {f["evidence_level"] for f in findings_of(doc)
            if f["check"] in ("TLS-04", "INV-01")} == {"none"}
    for claim in ("iac", "inventory-in-sync"):
        assert claims[claim] == "not_verifiable", claim


def test_the_fixture_uses_only_the_documented_vocabulary_and_fills_the_aws_facts() -> None:
    section = snapshot.load(AWS_SEED002).sections[0]
    inv = PROVIDER.normalize(section)
    for r in inv.resources:
        assert set(r.properties) <= set(PROPERTIES), r.id
        for name in r.properties:
            assert r.kind in PROPERTIES[name].kinds, (r.id, name)
    res = {r.name: r for r in inv.resources}
    assert res["bastion-1"].prop("image_deprecated") == "2025-05-31T00:00:00Z"
    assert res["mail-worker-1"].prop("image_deprecated") is None
    assert res["bastion-1"].prop("ssh_key_only") is False
    assert res["bastion-1"].prop("plaintext_secrets") == ["UserData:SMTP_PASSWORD"]
    assert res["mail-worker-1"].prop("backup_retention_days") == 35
    assert res["mail-worker-1"].prop("backup_frequency_hours") == 24
    assert res["mail-worker-1"].prop("stateful") is True
    assert res["web-eu"].prop("public_ips") == ["3.120.20.20", "3.120.20.21"]
    assert res["smtp-in"].prop("public_ips") == ["3.120.30.30"]
    assert res["smtp-in"].prop("waf") is False
    assert res["ohallo-recordings"].prop("replica_regions") == ["eu-west-1"]
    assert res["db-mailqueue"].prop("pitr_lag_minutes") == 5.0
    assert res["chat-eu"].properties == {"processing_scope": "data_zone", "data_zone": "EU"}
    assert res["chat-global-fallback"].prop("processing_scope") == "global"
    assert res["chat-fra"].properties == {"processing_scope": "regional", "data_zone": None}
    assert res["ses-bounce-handler"].labels == {"data-classification": "internal"}
    assert res["ohallo-vault"].labels == {"data-classification": "confidential"}
    # the trail's bucket expires AWSLogs/ after 2557 days; no CloudWatch Logs group
    assert res["audit"].prop("retention_days") == 2557
    cdn = res["d111111abcdef8.cloudfront.net"]
    assert (cdn.prop("min_tls"), cdn.prop("waf"), cdn.prop("waf_rate_limit")) == (
        "1.2", True, False)
    assert res["alias/legacy-exports"].prop("rotation_enabled") is False
    assert res["ops-admin"].prop("admin_grant") is True
    assert res["dev-jan"].prop("admin_grant") is False and res["dev-jan"].prop("mfa") is False
    assert res["ses-smtp"].prop("credentials") == [{
        "id": "access key 1 of ses-smtp (created 2025-10-01)", "age_days": 414,
        "last_used_days": 199}]
    account = res["210987654321"]
    assert account.prop("regions") == ["eu-central-1", "eu-west-1"]
    assert account.prop("threat_detection_regions") == ["eu-central-1"]
