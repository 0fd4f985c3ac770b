"""The bundled Azure snapshots (seed pages 000 and 001) give exactly the documented verdicts,
and the Azure normalizer speaks only the model's vocabulary."""

from __future__ import annotations

from pathlib import Path

from providers.azure import PROVIDER
from providers.azure.normalize import nsg_layers
from scanner import snapshot
from scanner.model import PROPERTIES, Kind
from scanner.rules import admitted, decide
from tests.helpers import ROOT, findings_of, scan_json

SEED000 = ROOT / "fixtures" / "azure" / "seed000-azure.json"
SEED001 = ROOT / "fixtures" / "azure" / "seed001-azure.json"
S0 = "/subscriptions/0b1f6471-1bf0-4dda-aec3-000000000000/resourcegroups/"
S1 = "/subscriptions/5d2f8c71-7a3e-4c1b-9d0e-000000000001/resourcegroups/"

FAILS_000_DEFAULT = {
    ("NET-02", S0 + "rg-data/providers/microsoft.compute/virtualmachines/vm-batch"),
    ("NET-02", S0 + "rg-prod/providers/microsoft.compute/virtualmachines/vm-jump"),
    ("NET-02", S0 + "rg-data/providers/microsoft.sql/servers/sql-sally-reports/databases/reports"),
    ("NET-01", S0 + "rg-data/providers/microsoft.sql/servers/sql-sally-reports/databases/reports"),
    ("NET-03", S0 + "rg-data/providers/microsoft.compute/virtualmachines/vm-batch"),
    ("NET-03", S0 + "rg-prod/providers/microsoft.compute/virtualmachines/vm-jump"),
    ("NET-04", S0 + "rg-data/providers/microsoft.compute/virtualmachines/vm-batch"),
    ("IAM-03", S0 + "rg-prod/providers/microsoft.compute/virtualmachines/vm-jump"),
    ("ENC-03", S0 + "rg-prod/providers/microsoft.keyvault/vaults/kv-sandbox-eu"),
    ("ENC-03", S0 + "rg-prod/providers/microsoft.keyvault/vaults/kv-sandbox-eu/keys/cmk-sandbox"),
}
FAILS_000 = {
    ("BAK-01", S0 + "rg-data/providers/microsoft.sql/servers/sql-sally-reports/databases/reports"),
    ("BAK-01", S0 + "rg-prod/providers/microsoft.storage/storageaccounts/stsallytmp"),
    ("ENC-01", S0 + "rg-data/providers/microsoft.sql/servers/sql-sally-reports/databases/reports"),
    ("IAM-02", "azure:0b1f6471-1bf0-4dda-aec3-000000000000/principal/"
               "22222222-aaaa-4bbb-8ccc-000000000002"),
    ("NET-06", S0 + "rg-data/providers/microsoft.network/virtualnetworks/vnet-batch"),
    ("NET-06", S0 + "rg-data/providers/microsoft.network/virtualnetworks/vnet-worker"),
    ("RES-01", S0 + "rg-data/providers/microsoft.storage/storageaccounts/stsallyexportus"),
    ("RES-02", S0 + "rg-data/providers/microsoft.storage/storageaccounts/stsallyexportus"),
    ("RES-03", S0 + "rg-prod/providers/microsoft.cognitiveservices/accounts/oai-sally-eu/"
                    "deployments/gpt-4o-mini-global"),
    ("TLS-01", S0 + "rg-data/providers/microsoft.sql/servers/sql-sally-reports/databases/reports"),
    ("TLS-01", S0 + "rg-prod/providers/microsoft.storage/storageaccounts/stsallytmp"),
    ("TLS-02", S0 + "rg-prod/providers/microsoft.storage/storageaccounts/stsallytmp"),
}
FAILS_001 = {
    ("BAK-02", S1 + "rg-chatty/providers/microsoft.compute/virtualmachines/vm-db-1"),
    ("BAK-02", S1 + "rg-chatty/providers/microsoft.dbformysql/flexibleservers/mysql-chatty-uk"),
    ("IAM-02", "azure:5d2f8c71-7a3e-4c1b-9d0e-000000000001/principal/"
               "44444444-aaaa-4bbb-8ccc-000000000004"),
    ("NET-01", S1 + "rg-chatty/providers/microsoft.dbformysql/flexibleservers/mysql-chatty-uk"),
    ("NET-02", S1 + "rg-chatty/providers/microsoft.compute/virtualmachines/vm-web"),
    ("NET-02", S1 + "rg-chatty/providers/microsoft.dbformysql/flexibleservers/mysql-chatty-uk"),
    ("RES-01", S1 + "rg-chatty/providers/microsoft.storage/storageaccounts/stchattyarchive"),
    ("RES-02", S1 + "rg-chatty/providers/microsoft.storage/storageaccounts/stchattyarchive"),
    ("TLS-01", S1 + "rg-chatty/providers/microsoft.dbformysql/flexibleservers/mysql-chatty-uk"),
}


def fails(doc: dict[str, object]) -> set[tuple[str, str]]:
    return {(f["check"], f["resource"]) for f in findings_of(doc)  # type: ignore[attr-defined]
            if f["status"] == "fail"}


def test_seed000_fails_exactly_the_documented_violations() -> None:
    code, doc = scan_json(str(SEED000), "--profile", "seed-000")
    assert code == 1
    assert fails(doc) == FAILS_000
    assert not [f for f in findings_of(doc) if f["status"] == "error"]
    status = {c["id"]: c["status"] for c in doc["claims"]}
    assert status["openai-eu"] == "contradicted"
    assert status["geo-backups"] == "contradicted"
    assert status["audit-logging"] == "verified"
    assert status["monitoring"] == "verified"
    assert status["sentinel-defender"] == "verified"
    assert status["mfa"] == "not_verifiable"
    assert status["tls-in-transit"] == "contradicted"
    assert status["rbac"] == "contradicted"
    assert status["ddos-rate-limit"] == "contradicted"


def test_seed000_network_findings_under_the_full_catalogue() -> None:
    _, doc = scan_json(str(SEED000), "--checks", "NET-01,NET-02,NET-03,NET-04,IAM-03,ENC-03")
    got = fails(doc)
    assert got == FAILS_000_DEFAULT
    passes = {(f["check"], f["resource"]) for f in findings_of(doc) if f["status"] == "pass"}
    app1 = S0 + "rg-prod/providers/microsoft.compute/virtualmachines/vm-app-1"
    assert ("NET-03", app1) in passes and ("NET-02", app1) in passes
    # vm-worker: a Standard public IP without any NSG is closed by Azure (see docs/azure.md)
    worker = S0 + "rg-data/providers/microsoft.compute/virtualmachines/vm-worker"
    assert ("NET-03", worker) in passes and ("NET-04", worker) in passes


def test_key_vault_key_rotates_only_with_a_rotate_action_in_its_rotation_policy() -> None:
    _, doc = scan_json(str(SEED000), "--checks", "ENC-03")
    keys = {f["resource"].rsplit("/", 1)[-1]: (f["status"], f["evidence"])
            for f in findings_of(doc) if "/keys/" in f["resource"]}
    assert keys == {"cmk-storage": ("pass", {"rotation_enabled": True}),
                    "cmk-sandbox": ("fail", {"rotation_enabled": False})}


def test_vm_on_a_deprecated_marketplace_image_version_fails_vul01() -> None:
    _, doc = scan_json(str(SEED000), "--checks", "VUL-01")
    got = {f["resource"].rsplit("/", 1)[-1]: f["status"] for f in findings_of(doc)}
    assert got == {"vm-app-1": "pass", "vm-jump": "pass", "vm-worker": "pass",
                   "vm-batch": "fail"}
    batch = next(f for f in findings_of(doc) if f["resource"].endswith("vm-batch"))
    assert batch["evidence"] == {"image": "Canonical:UbuntuServer:18.04-LTS:latest",
                                 "deprecated": "2025-06-30T00:00:00+00:00"}
    assert batch["evidence_level"] == "config"


def test_image_scheduled_for_deprecation_later_is_still_supported() -> None:
    _, doc = scan_json(str(SEED001), "--checks", "VUL-01")
    web = next(f for f in findings_of(doc) if f["resource"].endswith("vm-web"))
    assert web["status"] == "pass"
    assert web["message"].endswith("supported until 2027-01-12")


def test_ddos_plan_is_judged_only_on_vnets_with_public_endpoints() -> None:
    _, doc = scan_json(str(SEED000), "--checks", "NET-06")
    vnets = {f["resource"].rsplit("/", 1)[-1]: f["status"] for f in findings_of(doc)
             if "/virtualnetworks/" in f["resource"]}
    # vnet-private holds nothing with a public IP (and has no plan): not judged
    assert vnets == {"vnet-prod": "pass", "vnet-batch": "fail", "vnet-worker": "fail"}


def test_seed001_uk_profile_fails_the_westeurope_grs_account() -> None:
    code, doc = scan_json(str(SEED001), "--profile", "seed-001")
    assert code == 1
    assert fails(doc) == FAILS_001
    status = {c["id"]: c["status"] for c in doc["claims"]}
    assert status["backups-in-uk"] == "contradicted"
    assert status["uk-residency"] == "contradicted"
    assert status["gdpr-rights"] == "not_verifiable"
    grs_uk = next(f for f in findings_of(doc) if f["check"] == "RES-02"
                  and f["resource"].endswith("stchattybackups"))
    assert grs_uk["status"] == "pass"


def test_the_eu_profile_passes_a_westeurope_grs_account() -> None:
    _, doc = scan_json(str(SEED001), "--profile", "seed-000", "--checks", "RES-02")
    grs_eu = next(f for f in findings_of(doc) if f["resource"].endswith("stchattyarchive"))
    assert grs_eu["status"] == "pass"


def test_azure_normalizer_uses_only_the_documented_vocabulary() -> None:
    for path in (SEED000, SEED001):
        inv = PROVIDER.normalize(snapshot.load(Path(path)).sections[0])
        for r in inv.resources:
            assert set(r.properties) <= set(PROPERTIES), r.id
            for name in r.properties:
                assert r.kind in PROPERTIES[name].kinds, (r.id, name)
            assert r.id == r.id.lower()
        ids = [r.id for r in inv.resources]
        assert len(ids) == len(set(ids))
        kinds = {r.kind for r in inv.resources}
        assert {Kind.ACCOUNT, Kind.COMPUTE, Kind.DATABASE, Kind.BUCKET, Kind.FIREWALL} <= kinds


def _nsg(*rules: tuple[str, int, str, str, str]) -> dict[str, object]:
    return {"id": "/x/nsg", "properties": {"securityRules": [
        {"name": n, "properties": {"priority": p, "access": a, "direction": "Inbound",
                                   "protocol": "Tcp", "sourceAddressPrefix": src,
                                   "destinationAddressPrefix": "*",
                                   "destinationPortRange": port}}
        for n, p, a, src, port in [(r[0], r[1], r[2], r[3], r[4]) for r in rules]]}}


def test_nsg_semantics_priorities_both_layers_and_service_tags() -> None:
    subnet = _nsg(("deny-ssh", 100, "Deny", "Internet", "22"),
                  ("allow-all", 200, "Allow", "*", "*"))
    nic = _nsg(("allow-ssh", 100, "Allow", "*", "22"), ("vnet", 110, "Allow", "VirtualNetwork",
                                                          "443"))
    layers = nsg_layers(subnet, nic, True, ["10.0.0.4"])
    assert not decide(layers, "tcp", 22, "203.0.113.9")  # subnet denies first
    assert not decide(layers, "tcp", 443, "203.0.113.9")  # VirtualNetwork is not the internet
    only_nic = nsg_layers(None, nic, True, ["10.0.0.4"])
    assert decide(only_nic, "tcp", 22, "203.0.113.9")
    assert not decide(only_nic, "tcp", 80, "203.0.113.9")  # DenyAllInBound default rule


def test_no_nsg_standard_ip_is_closed_and_basic_is_open() -> None:
    assert admitted(nsg_layers(None, None, True)) == ()
    assert decide(nsg_layers(None, None, False), "tcp", 3389, "198.18.0.1")
