"""Each provider-neutral check, on hand-built model resources: pass, fail and fail-closed.

These checks read only the model; the AWS and Azure normalizers feed the same properties.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.check import CheckContext
from scanner.findings import EvidenceLevel
from scanner.graph import EstateGraph
from scanner.model import Inventory, Kind, Relation, RelationType, Resource
from scanner.profile import Parameters
from scanner.registry import load_checks

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CHECKS = load_checks()


def res(rid: str, kind: Kind, region: str | None = "eu-central-1", provider: str = "aws",
        labels: dict[str, str] | None = None, **props: Any) -> Resource:
    return Resource(id=rid, kind=kind, provider=provider, account="111122223333", name=rid,
                    region=region, labels=labels or {}, properties=props)


def run(check_id: str, resources: list[Resource], relations: list[Relation] | None = None,
        **params: Any) -> dict[str, tuple[str, str]]:
    graph = EstateGraph([Inventory("aws", "111122223333", tuple(resources),
                                   tuple(relations or ()))])
    check = CHECKS[check_id]
    ctx = CheckContext(check=check, graph=graph, params=Parameters(**params), as_of=AS_OF)
    return {f.resource: (str(f.status), str(f.evidence_level)) for f in check.run(ctx)}


def statuses(check_id: str, resources: list[Resource], **kw: Any) -> dict[str, str]:
    return {k: v[0] for k, v in run(check_id, resources, **kw).items()}


def test_enc_02_snapshots_encrypted_unknown_and_not_visible() -> None:
    got = run("ENC-02", [
        res("snap-enc", Kind.SNAPSHOT, encrypted=True, encryption_evidence="config"),
        res("snap-plain", Kind.SNAPSHOT, encrypted=False, encryption_evidence="config"),
        res("snap-unknown", Kind.SNAPSHOT, encrypted=None, encryption_evidence="config"),
        res("hz-backup", Kind.SNAPSHOT, encrypted=None, encryption_evidence="none"),
        res("vault", Kind.BACKUP_VAULT, encrypted=True, encryption_evidence="provider"),
    ])
    assert got == {"snap-enc": ("pass", "config"), "snap-plain": ("fail", "config"),
                   "snap-unknown": ("error", "config"), "hz-backup": ("skip", "none"),
                   "vault": ("pass", "provider")}


def test_enc_03_keys_rotate_and_key_stores_cannot_be_purged() -> None:
    got = statuses("ENC-03", [
        res("k-rot", Kind.KEY, customer_managed=True, rotation_enabled=True),
        res("k-norot", Kind.KEY, customer_managed=True, rotation_enabled=False),
        res("k-aws", Kind.KEY, customer_managed=False, rotation_enabled=False),
        res("kv-ok", Kind.KEY_STORE, soft_delete=True, purge_protection=True),
        res("kv-purge", Kind.KEY_STORE, soft_delete=True, purge_protection=False),
        res("kv-unknown", Kind.KEY_STORE, soft_delete=True, purge_protection=None),
    ])
    assert got == {"k-rot": "pass", "k-norot": "fail", "kv-ok": "pass", "kv-purge": "fail",
                   "kv-unknown": "error"}


def test_res_02_grs_copy_in_the_pair_passes_eu_and_fails_uk_only() -> None:
    storage = [res("st-weu", Kind.BUCKET, region="westeurope", provider="azure",
                   replica_regions=["northeurope"]),
               res("st-uk", Kind.BUCKET, region="uksouth", provider="azure",
                   replica_regions=["ukwest"]),
               res("st-local", Kind.BUCKET, region="uksouth", provider="azure",
                   replica_regions=[])]
    assert statuses("RES-02", storage, jurisdictions=("EU",)) == {
        "st-weu": "pass", "st-uk": "fail", "st-local": "pass"}
    assert statuses("RES-02", storage, jurisdictions=("UK",)) == {
        "st-weu": "fail", "st-uk": "pass", "st-local": "pass"}


def test_res_02_unknown_replica_region_is_an_error() -> None:
    assert statuses("RES-02", [res("b", Kind.BUCKET, replica_regions=["mars-1"])]) == {
        "b": "error"}


def test_res_03_global_deployment_fails_data_zone_passes_in_eu_and_fails_uk() -> None:
    deployments = [
        res("gpt-global", Kind.MODEL_DEPLOYMENT, region="swedencentral", provider="azure",
            processing_scope="global"),
        res("gpt-dz", Kind.MODEL_DEPLOYMENT, region="swedencentral", provider="azure",
            processing_scope="data_zone", data_zone="EU"),
        res("gpt-regional", Kind.MODEL_DEPLOYMENT, region="uksouth", provider="azure",
            processing_scope="regional"),
        res("gpt-unknown", Kind.MODEL_DEPLOYMENT, region="uksouth", provider="azure",
            processing_scope=None),
    ]
    assert statuses("RES-03", deployments, jurisdictions=("EU",)) == {
        "gpt-global": "fail", "gpt-dz": "pass", "gpt-regional": "fail",
        "gpt-unknown": "error"}
    assert statuses("RES-03", deployments, jurisdictions=("UK",))["gpt-dz"] == "fail"
    assert statuses("RES-03", deployments, jurisdictions=("EEA",))["gpt-dz"] == "pass"


def test_bak_01_geo_passes_local_and_zone_fail_unknown_errors() -> None:
    assert statuses("BAK-01", [
        res("geo", Kind.DATABASE, backup_redundancy="geo"),
        res("zone", Kind.BUCKET, backup_redundancy="zone"),
        res("local", Kind.BACKUP_VAULT, backup_redundancy="local"),
        res("unknown", Kind.DATABASE, backup_redundancy=None),
        res("not-judged", Kind.DATABASE),
    ]) == {"geo": "pass", "zone": "fail", "local": "fail", "unknown": "error"}


def test_bak_03_pitr_window() -> None:
    assert statuses("BAK-03", [
        res("ok", Kind.DATABASE, pitr_enabled=True, pitr_lag_minutes=4.0),
        res("lagging", Kind.DATABASE, pitr_enabled=True, pitr_lag_minutes=90.0),
        res("off", Kind.DATABASE, pitr_enabled=False),
        res("unknown", Kind.DATABASE, pitr_enabled=None),
    ], pitr_max_lag_minutes=5) == {"ok": "pass", "lagging": "fail", "off": "fail",
                                   "unknown": "error"}


def trail(rid: str, **props: Any) -> Resource:
    return res(rid, Kind.LOG_TRAIL, **props)


def test_log_01_needs_a_multi_region_logging_validated_trail_per_account() -> None:
    account = res("aws:111122223333", Kind.ACCOUNT, region=None, regions=["eu-central-1"])
    good = trail("t-good", multi_region=True, logging_enabled=True, integrity_validation=True)
    single = trail("t-single", multi_region=False, logging_enabled=True,
                   integrity_validation=True)
    stopped = trail("t-stopped", multi_region=True, logging_enabled=False,
                    integrity_validation=True)
    assert statuses("LOG-01", [account, good, single]) == {"aws:111122223333": "pass"}
    assert statuses("LOG-01", [account, single, stopped]) == {"aws:111122223333": "fail"}
    assert statuses("LOG-01", [account]) == {"aws:111122223333": "fail"}
    azure = trail("diag", multi_region=True, logging_enabled=True, integrity_validation=None)
    assert statuses("LOG-01", [account, azure]) == {"aws:111122223333": "pass"}


def test_log_02_retention() -> None:
    assert statuses("LOG-02", [
        trail("forever", retention_days=0), trail("year", retention_days=400),
        trail("month", retention_days=30), trail("unknown", retention_days=None),
        trail("not-judged"),
    ], log_retention_days=365) == {"forever": "pass", "year": "pass", "month": "fail",
                                   "unknown": "error"}


def test_log_03_threat_detection_in_every_region() -> None:
    regions = ["eu-central-1", "eu-west-1"]
    acc = "aws:111122223333"
    assert statuses("LOG-03", [res(acc, Kind.ACCOUNT, region=None, regions=regions,
                                   threat_detection_regions=regions)]) == {acc: "pass"}
    assert statuses("LOG-03", [res(acc, Kind.ACCOUNT, region=None, regions=regions,
                                   threat_detection_regions=["eu-central-1"])]) == {acc: "fail"}
    assert statuses("LOG-03", [res(acc, Kind.ACCOUNT, region=None, regions=regions,
                                   threat_detection_regions=["global"])]) == {acc: "pass"}
    assert statuses("LOG-03", [res(acc, Kind.ACCOUNT, region=None, regions=regions,
                                   threat_detection_regions=None)]) == {acc: "error"}


def ident(rid: str, **props: Any) -> Resource:
    return res(rid, Kind.IDENTITY, region=None, **props)


def test_iam_01_console_users_and_root_need_mfa() -> None:
    assert statuses("IAM-01", [
        ident("root", principal_type="root", console_access=None, mfa=True),
        ident("alice", principal_type="user", console_access=True, mfa=False),
        ident("bob", principal_type="user", console_access=True, mfa=True),
        ident("ci", principal_type="user", console_access=False, mfa=False),
        ident("carol", principal_type="user", console_access=True, mfa=None),
    ]) == {"root": "pass", "alice": "fail", "bob": "pass", "carol": "error"}


def test_iam_02_admin_grants_only_for_break_glass() -> None:
    assert statuses("IAM-02", [
        ident("breakglass", admin_grant=True), ident("dev", admin_grant=True),
        ident("reader", admin_grant=False), ident("unknown", admin_grant=None),
    ], break_glass_principals=("breakglass",)) == {
        "breakglass": "pass", "dev": "fail", "reader": "pass", "unknown": "error"}


def test_iam_03_and_sec_01_on_machines() -> None:
    vms = [res("vm-key", Kind.COMPUTE, ssh_key_only=True, plaintext_secrets=[]),
           res("vm-pw", Kind.COMPUTE, ssh_key_only=False,
               plaintext_secrets=["UserData"]),
           res("vm-unknown", Kind.COMPUTE)]
    assert statuses("IAM-03", vms) == {"vm-key": "pass", "vm-pw": "fail"}
    assert statuses("SEC-01", vms) == {"vm-key": "pass", "vm-pw": "fail"}


def test_iam_04_old_and_unused_credentials() -> None:
    assert statuses("IAM-04", [
        ident("fresh", credentials=[{"id": "AK1", "age_days": 10, "last_used_days": 1}]),
        ident("old", credentials=[{"id": "AK2", "age_days": 400, "last_used_days": 1}]),
        ident("unused", credentials=[{"id": "AK3", "age_days": 60, "last_used_days": None}]),
        ident("none", credentials=[]),
    ], credential_max_age_days=90, credential_max_unused_days=30) == {
        "fresh": "pass", "old": "fail", "unused": "fail"}


def test_vul_01_deprecated_images_as_of_collection_time() -> None:
    assert statuses("VUL-01", [
        res("old", Kind.COMPUTE, image="ubuntu-18.04", image_deprecated="2023-06-01T00:00:00Z"),
        res("future", Kind.COMPUTE, image="debian-12", image_deprecated="2028-06-01T00:00:00Z"),
        res("fine", Kind.COMPUTE, image="debian-12", image_deprecated=None),
        res("unknown", Kind.COMPUTE, image="?"),
    ]) == {"old": "fail", "future": "pass", "fine": "pass"}


def test_inv_02_required_labels_case_insensitive() -> None:
    assert statuses("INV-02", [
        res("tagged", Kind.VOLUME, labels={"Owner": "a", "Environment": "prod",
                                           "data-classification": "confidential"}),
        res("bare", Kind.VOLUME),
    ]) == {"tagged": "pass", "bare": "fail"}


def test_net_05_production_peered_with_staging_fails() -> None:
    prod = res("vpc-prod", Kind.NETWORK, labels={"environment": "prod"})
    stage = res("vpc-stage", Kind.NETWORK, labels={"environment": "staging"})
    other = res("vpc-prod-2", Kind.NETWORK, labels={"environment": "production"})
    worker = res("i-stage", Kind.COMPUTE, labels={"environment": "staging"})
    got = statuses("NET-05", [prod, stage, other, worker], relations=[
        Relation("vpc-prod", "vpc-stage", RelationType.PEERED_WITH),
        Relation("i-stage", "vpc-prod-2", RelationType.ATTACHED_TO)])
    assert got == {"vpc-prod": "fail", "vpc-prod-2": "fail"}
    clean = statuses("NET-05", [prod, stage])
    assert clean == {"vpc-prod": "pass"}


def test_net_05_staging_machine_in_a_production_subnet_fails() -> None:
    # AWS instances and Azure VMs attach to a subnet of the network, not to the network
    prod = res("vpc-prod", Kind.NETWORK, labels={"environment": "production"})
    subnet = res("subnet-app", Kind.SUBNET)
    stage = res("i-stage", Kind.COMPUTE, labels={"environment": "staging"})
    prod_vm = res("i-prod", Kind.COMPUTE, labels={"environment": "production"})
    member = [Relation("subnet-app", "vpc-prod", RelationType.MEMBER_OF)]
    got = run("NET-05", [prod, subnet, stage, prod_vm], relations=[
        *member, Relation("i-stage", "subnet-app", RelationType.ATTACHED_TO),
        Relation("i-prod", "subnet-app", RelationType.ATTACHED_TO)])
    assert got == {"vpc-prod": ("fail", "config")}
    assert statuses("NET-05", [prod, subnet, prod_vm], relations=[
        *member, Relation("i-prod", "subnet-app", RelationType.ATTACHED_TO)]) == {
        "vpc-prod": "pass"}


def test_net_06_waf_on_public_entry_points_and_ddos_on_networks() -> None:
    assert statuses("NET-06", [
        res("alb-waf", Kind.LOAD_BALANCER, public_ips=["203.0.113.1"], waf=True,
            waf_rate_limit=True),
        res("alb-bare", Kind.LOAD_BALANCER, public_ips=["203.0.113.2"], waf=False),
        res("alb-internal", Kind.LOAD_BALANCER, public_ips=[], waf=False),
        res("cdn", Kind.CDN, region=None, waf=None),
        res("vnet", Kind.NETWORK, ddos_protection=False),
    ]) == {"alb-waf": "pass", "alb-bare": "fail", "cdn": "error", "vnet": "fail"}


def test_tls_checks_judge_public_managed_services_too() -> None:
    services = [
        res("sa-ok", Kind.BUCKET, public_endpoint=True, min_tls="1.2", https_only=True),
        res("sa-old", Kind.BUCKET, public_endpoint=True, min_tls="1.0", https_only=False),
        res("sa-private", Kind.BUCKET, public_endpoint=False, min_tls="1.0"),
    ]
    assert statuses("TLS-01", services) == {"sa-ok": "pass", "sa-old": "fail"}
    assert statuses("TLS-02", services) == {"sa-ok": "pass", "sa-old": "fail"}


def test_net_01_managed_database_with_public_endpoint_fails() -> None:
    got = statuses("NET-01", [
        res("rds-public", Kind.DATABASE, public_endpoint=True, ingress=()),
        res("rds-private", Kind.DATABASE, public_endpoint=False),
    ])
    assert got == {"rds-public": "fail", "rds-private": "pass"}


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_documents_its_controls_metadata(check_id: str) -> None:
    c = CHECKS[check_id]
    assert c.title and c.rationale and c.remediation
    assert c.references, "compliance references are part of a check's metadata"
    assert c.evidence, "what it reads on each provider"
    assert all(isinstance(k, Kind) for k in c.kinds)


def test_evidence_levels_are_known() -> None:
    assert {lvl.value for lvl in EvidenceLevel} == {"config", "probe", "provider", "attested",
                                                    "none"}


def test_iam_02_root_is_the_break_glass_account_not_an_unknown() -> None:
    assert run("IAM-02", [ident("root", principal_type="root")]) == {"root": ("skip", "config")}
