"""Issue 15 item 3: secrets reach recorded snapshots. Secret-named labels and values shaped
like well-known tokens (the gitleaks ruleset) are redacted wherever raw data is kept,
Terraform plan configuration constants included, and every redacted field is listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.terraform.build_plans import const, hcloud_gate, ref
from scanner import secret_formats, snapshot
from scanner.redact import REDACTED, redact, scrub
from tests.hcloud_server import HcloudServer
from tests.helpers import SEED002, run

# Values shaped like real tokens (random characters, not real credentials).
TOKENS = {
    "stripe": "sk_live_51Hx9QeL2mN8vR4tY7uI0pA3sD6fG",
    "gitlab": "glpat-xK3mZ9pQ2rT7vW1yB4nD",
    "google": "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "openai": "sk-proj-abcDEF123ghiJKL456mnoPQR789stuVWX",
    "npm": "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "hcloud": "jEL2Nq8b7FvR3kPzXw9cT4mYhS6uD1aG5oZx0LiB2nQ7rW3eK8tV4pJ9sM6yU1cH",
}
NAMED = {"db_pass": "hunter2-db", "smtp_pass": "hunter2-smtp", "passphrase": "correct horse",
         "encryption_key": "0123456789abcdef"}


def test_the_shipped_ruleset_compiles_whole() -> None:
    assert len(secret_formats.ruleset().rules) > 200
    assert secret_formats.skipped() == []


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_token_shaped_values_are_recognised(kind: str) -> None:
    assert secret_formats.found(TOKENS[kind])
    assert TOKENS[kind] not in scrub(f"the API said: invalid key {TOKENS[kind]}")


@pytest.mark.parametrize("value", [
    "ubuntu-22.04", "203.0.113.5/32",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "3f6a1c2e-8b7d-4e5f-9a0b-1c2d3e4f5a6b", "db-2", "fsn1-dc14", "running",
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-prod/providers/"
    "Microsoft.Network/networkSecurityGroups/nsg-web",
    "arn:aws:iam::123456789012:role/posture-readonly",
])
def test_ordinary_values_are_kept(value: str) -> None:
    assert redact({"v": value}, "x", []) == {"v": value}


def test_secret_named_labels_and_token_values_are_redacted_and_listed() -> None:
    removed: list[str] = []
    labels = {**NAMED, **{f"t_{k}": v for k, v in TOKENS.items()}, "env": "prod"}
    clean = redact({"labels": labels}, "servers[]", removed)
    text = json.dumps(clean)
    for value in [*NAMED.values(), *TOKENS.values()]:
        assert value not in text
    assert clean["labels"]["env"] == "prod"
    assert sorted(removed) == sorted(f"servers[].labels.{k}" for k in labels if k != "env")


def test_hetzner_record_redacts_secret_labels_end_to_end(tmp_path: Path) -> None:
    doc = json.loads(SEED002.read_text())
    data = {k: v["global"] for k, v in doc["sections"][0]["collections"].items()}
    data["servers"][0]["labels"].update(NAMED)
    data["servers"][1]["labels"].update({f"t_{k}": v for k, v in TOKENS.items()})
    with HcloudServer(data, token="t0k3n-for-tests") as api:
        snap = tmp_path / "s.json"
        result = run("record", "hetzner", "-o", str(snap),
                     env={"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": "t0k3n-for-tests"})
    assert result.exit_code == 0, result.stderr
    text = snap.read_text()
    for value in [*NAMED.values(), *TOKENS.values()]:
        assert value not in text
    redacted = set(snapshot.load(snap).sections[0].redacted)
    assert {f"servers[].labels.{k}" for k in NAMED} <= redacted
    assert {f"servers[].labels.t_{k}" for k in TOKENS} <= redacted


def test_plan_configuration_constants_never_reach_a_recorded_snapshot(tmp_path: Path) -> None:
    from fixtures.terraform.build_plans import res

    doc = hcloud_gate()
    cloud_init = "#cloud-config\nchpasswd:\n  list: |\n    root:Plan-S3cret-Pw\n"
    extra = res("hcloud_server.app", {"name": "app", "server_type": "cx22",
                                      "image": "debian-12", "location": "fsn1", "labels": {},
                                      "backups": True},
                unknown={"id": True, "ipv4_address": True, "ipv6_network": True,
                         "firewall_ids": True, "public_net": True, "user_data": True},
                expressions={"user_data": const(cloud_init),
                             "labels": const({"db_password": "Plan-Db-Pw-42"}),
                             "firewall_ids": ref("hcloud_firewall.db.id")})
    root = doc["configuration"]["root_module"]["resources"]
    root.append({"address": "hcloud_server.app", "mode": "managed", "type": "hcloud_server",
                 "name": "app", "provider_config_key": "hcloud",
                 "expressions": extra["expressions"], "schema_version": 0})
    doc["planned_values"]["root_module"]["resources"].append({
        "address": "hcloud_server.app", "mode": "managed", "type": "hcloud_server",
        "name": "app", "provider_name": extra["provider"], "schema_version": 0,
        "values": extra["values"], "sensitive_values": {}})
    doc["resource_changes"].append({
        "address": "hcloud_server.app", "mode": "managed", "type": "hcloud_server",
        "name": "app", "provider_name": extra["provider"],
        "change": {"actions": ["create"], "before": None, "after": extra["values"],
                   "after_unknown": extra["unknown"], "before_sensitive": False,
                   "after_sensitive": {}}})
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(doc))
    out = tmp_path / "rec.json"
    result = run("scan", str(plan_file), "--record", str(out), "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    text = out.read_text()
    assert "Plan-S3cret-Pw" not in text and "Plan-Db-Pw-42" not in text
    assert REDACTED in text
    redacted = set(snapshot.load(out).sections[0].redacted)
    assert "hcloud_server.app.expressions.user_data.constant_value" in redacted
    assert "hcloud_server.app.expressions.labels.constant_value.db_password" in redacted


def test_public_keys_and_certificates_are_not_taken_for_tokens() -> None:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "example.com")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + timedelta(days=30)).sign(key, None))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    ssh = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                        serialization.PublicFormat.OpenSSH).decode()
    obj = {"certificate": pem, "public_key": ssh + " ops@example.com"}
    assert redact(obj, "x", []) == obj


def test_base64_certificate_data_is_kept() -> None:
    """Azure's publicCertData is a DER certificate in base64 (no PEM header): public, and the
    normalizer reads the expiry from it."""
    import base64
    import os as _os

    der = base64.b64encode(_os.urandom(900)).decode()
    obj = {"properties": {"publicCertData": der}}
    assert redact(obj, "x", []) == obj
