"""The bundled seed 002 Hetzner snapshot gives exactly the findings its README lists."""

from __future__ import annotations

from tests.helpers import SEED002, run, scan_json, verdicts

P = "hetzner:ohallo-prod/"

EXPECTED_FAILS = {
    ("NET-01", P + "server/104"),
    ("NET-02", P + "server/102"),
    ("NET-02", P + "server/104"),
    ("NET-02", P + "server/106"),
    ("NET-03", P + "server/102"),
    ("NET-03", P + "server/106"),
    ("NET-04", P + "server/106"),
    ("RES-01", P + "server/106"),
    ("ENC-01", P + "server/104"),
    ("ENC-01", P + "server/106"),
    ("ENC-01", P + "volume/402"),
    ("ENC-01", P + "volume/403"),
    ("BAK-02", P + "server/104"),
    ("TLS-02", P + "load_balancer/302/service/8080"),
    ("TLS-03", P + "certificate/502"),
    ("VUL-01", P + "server/106"),
    ("INV-02", P + "server/106"),
    ("INV-02", P + "volume/403"),
}
EXPECTED_PASSES = {
    ("NET-01", P + "server/103"),
    ("NET-02", P + "server/101"),
    ("NET-02", P + "server/105"),
    ("NET-02", P + "load_balancer/301"),
    ("NET-02", P + "load_balancer/302"),
    ("NET-03", P + "server/101"),
    ("NET-04", P + "server/102"),
    ("NET-04", P + "server/104"),
    ("NET-04", P + "server/105"),
    ("BAK-02", P + "server/103"),
    ("TLS-01", P + "load_balancer/301/service/443"),
    ("TLS-01", P + "load_balancer/302/service/443"),
    ("TLS-02", P + "load_balancer/301/service/443"),
    ("TLS-02", P + "load_balancer/301/service/80"),
    ("TLS-02", P + "load_balancer/302/service/443"),
    ("TLS-03", P + "certificate/501"),
    *{("ENC-01", P + s) for s in ("server/101", "server/102", "server/103", "server/105",
                                  "volume/401")},
    *{("RES-01", P + s) for s in ("server/101", "server/102", "server/103", "server/104",
                                  "server/105", "volume/401", "volume/402", "volume/403",
                                  "load_balancer/301", "load_balancer/302")},
    *{("VUL-01", P + f"server/{n}") for n in (101, 102, 103, 104, 105)},
    *{("INV-02", P + s) for s in ("server/101", "server/102", "server/103", "server/104",
                                  "server/105", "volume/401", "volume/402", "load_balancer/301",
                                  "load_balancer/302", "network/4711")},
}
EXPECTED_SKIPS = {
    ("NET-03", P + "server/105"),
    ("TLS-01", P + "load_balancer/302/service/2222"),
    ("TLS-02", P + "load_balancer/302/service/2222"),
    # Hetzner shows neither backup encryption nor sshd settings, audit logs or inference
    ("ENC-02", P + "image/701"),
    ("IAM-03", "hetzner:ohallo-prod"),
    ("LOG-01", "hetzner:ohallo-prod"),
    ("RES-03", "hetzner:ohallo-prod"),
}


def test_seed002_snapshot_gives_exactly_the_documented_findings() -> None:
    code, doc = scan_json(str(SEED002), "--profile", "seed-002")
    got = verdicts(doc)
    assert {(c, r) for c, r, s in got if s == "fail"} == EXPECTED_FAILS
    assert {(c, r) for c, r, s in got if s == "pass"} == EXPECTED_PASSES
    assert {(c, r) for c, r, s in got if s == "skip"} == EXPECTED_SKIPS
    assert not [f for f in doc["findings"] if f["status"] == "error"]
    assert code == 1


def test_attested_encryption_is_reported_as_attested_and_provider_fact_as_provider() -> None:
    _, doc = scan_json(str(SEED002), "--profile", "seed-002", "--checks", "ENC-01")
    levels = {f["resource"]: (f["status"], f["evidence_level"]) for f in doc["findings"]}
    assert levels[P + "volume/401"] == ("pass", "attested")
    assert levels[P + "volume/402"] == ("fail", "provider")


def test_database_reached_through_no_path_passes_even_with_open_firewall_rule() -> None:
    # db-1 gets fw-db (5432 from anywhere) by label selector, but has no public interface.
    _, doc = scan_json(str(SEED002), "--profile", "seed-002", "--checks", "NET-01")
    db1 = next(f for f in doc["findings"] if f["resource"] == P + "server/103")
    assert db1["status"] == "pass"
    assert db1["evidence"]["public_ips"] == []


def test_ssh_forwarded_by_load_balancer_is_an_admin_port_exposure_via_the_lb() -> None:
    _, doc = scan_json(str(SEED002), "--profile", "seed-002", "--checks", "NET-02")
    app2 = next(f for f in doc["findings"] if f["resource"] == P + "server/102")
    via_lb = [v for v in app2["evidence"]["violations"] if v["via"] == P + "load_balancer/302"]
    assert len(via_lb) == 1
    assert via_lb[0]["ports"] == "22" and via_lb[0]["protocol"] == "tcp"
    assert via_lb[0]["sources"] == ["0.0.0.0/0", "::/0"]
    assert via_lb[0]["outside_operator_ranges"][0] == "0.0.0.0/1"


def test_seed002_claims_are_judged_claim_by_claim() -> None:
    _, doc = scan_json(str(SEED002), "--profile", "seed-002")
    status = {c["id"]: c["status"] for c in doc["claims"]}
    assert status["db-no-public-ip"] == "contradicted"
    assert status["tls-12"] == "contradicted"
    assert status["ssh-keys-only"] == "not_verifiable"
    assert status["operator-audit-log"] == "not_verifiable"
    assert status["subprocessor-aws"] == "not_verifiable"
    assert status["pitr"] == "not_verifiable"
    assert status["vulnerability-procedures"] == "contradicted"
    assert status["data-classification"] == "contradicted"
    assert status["daily-backups"] == "contradicted"
    assert all(v in ("contradicted", "not_verifiable") for v in status.values())
    contradicted = next(c for c in doc["claims"] if c["id"] == "db-no-public-ip")
    assert contradicted["findings"] == ["NET-01|" + P + "server/104"]
    retired = next(c for c in doc["claims"] if c["id"] == "vulnerability-procedures")
    assert retired["findings"] == ["VUL-01|" + P + "server/106"]


def test_only_selected_checks_run_and_claims_of_other_checks_are_not_assessed() -> None:
    _, doc = scan_json(str(SEED002), "--profile", "seed-002", "--checks", "TLS-01")
    assert {f["check"] for f in doc["findings"]} == {"TLS-01"}
    status = {c["id"]: c["status"] for c in doc["claims"]}
    assert status["db-no-public-ip"] == "not_assessed"


def test_fail_on_critical_exits_1_only_for_the_critical_database_exposure() -> None:
    assert run("scan", str(SEED002), "--profile", "seed-002", "--fail-on", "critical",
               "--checks", "NET-01").exit_code == 1
    assert run("scan", str(SEED002), "--profile", "seed-002", "--fail-on", "critical",
               "--checks", "TLS-02").exit_code == 0
    assert run("scan", str(SEED002), "--fail-on", "none").exit_code == 0


def test_same_snapshot_and_profile_give_byte_identical_json_and_markdown() -> None:
    for fmt in ("json", "markdown", "table"):
        a = run("scan", str(SEED002), "--profile", "seed-002", "--format", fmt,
                "--no-timestamps").stdout
        b = run("scan", str(SEED002), "--profile", "seed-002", "--format", fmt,
                "--no-timestamps").stdout
        assert a == b and a


def test_markdown_claim_report_quotes_every_claim_of_the_profile() -> None:
    out = run("scan", str(SEED002), "--profile", "seed-002", "--format", "markdown").stdout
    _, doc = scan_json(str(SEED002), "--profile", "seed-002")
    for claim in doc["claims"]:
        assert claim["quote"] in out
    assert "db-2" in out and "contradicted" in out
