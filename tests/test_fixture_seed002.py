"""The bundled seed 002 Hetzner snapshot gives exactly the findings its README lists."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, SEED002, claims_of, findings_of, run, scan_json, verdicts

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
    # NET-07 judges the rule itself: fw-db admits 5432 from 0.0.0.0/0, fw-ssh-anywhere (applied
    # to nothing) admits 22 from 0.0.0.0/0 and ::/0
    ("NET-07", P + "firewall/202"),
    ("NET-07", P + "firewall/204"),
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
    ("NET-07", P + "firewall/201"),
    ("NET-07", P + "firewall/203"),
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
    # no Terraform state given (--iac) and no managed-by label in the profile: INV-01 says
    # so once for the project; no TLS probe recorded (--probe-tls): TLS-04 says so for each
    # public TLS endpoint (the plain-HTTP services 301:80 and 302:8080 are not TLS endpoints)
    ("INV-01", "hetzner:ohallo-prod"),
    ("TLS-04", P + "load_balancer/301/service/443"),
    ("TLS-04", P + "load_balancer/302/service/443"),
    ("TLS-04", P + "load_balancer/302/service/2222"),
}


def test_seed002_snapshot_gives_exactly_the_documented_findings() -> None:
    code, doc = scan_json(str(SEED002), "--profile", "seed-002")
    got = verdicts(doc)
    assert {(c, r) for c, r, s in got if s == "fail"} == EXPECTED_FAILS
    assert {(c, r) for c, r, s in got if s == "pass"} == EXPECTED_PASSES
    assert {(c, r) for c, r, s in got if s == "skip"} == EXPECTED_SKIPS
    assert not [f for f in findings_of(doc) if f["status"] == "error"]
    assert code == 1


def test_attested_encryption_is_reported_as_attested_and_provider_fact_as_provider() -> None:
    _, doc = scan_json(str(SEED002), "--profile", "seed-002", "--checks", "ENC-01")
    levels = {f["resource"]: (f["status"], f["evidence_level"]) for f in findings_of(doc)}
    assert levels[P + "volume/401"] == ("pass", "attested")
    assert levels[P + "volume/402"] == ("fail", "provider")


def test_database_reached_through_no_path_passes_even_with_open_firewall_rule() -> None:
    # db-1 gets fw-db (5432 from anywhere) by label selector, but has no public interface.
    _, doc = scan_json(str(SEED002), "--profile", "seed-002", "--checks", "NET-01")
    db1 = next(f for f in findings_of(doc) if f["resource"] == P + "server/103")
    assert db1["status"] == "pass"
    assert db1["evidence"]["public_ips"] == []


def test_ssh_forwarded_by_load_balancer_is_an_admin_port_exposure_via_the_lb() -> None:
    _, doc = scan_json(str(SEED002), "--profile", "seed-002", "--checks", "NET-02")
    app2 = next(f for f in findings_of(doc) if f["resource"] == P + "server/102")
    via_lb = [v for v in app2["evidence"]["violations"] if v["via"] == P + "load_balancer/302"]
    assert len(via_lb) == 1
    assert via_lb[0]["ports"] == "22" and via_lb[0]["protocol"] == "tcp"
    assert via_lb[0]["sources"] == ["0.0.0.0/0", "::/0"]
    assert via_lb[0]["outside_operator_ranges"][0] == "0.0.0.0/1"


NET02 = {f"NET-02|{P}server/{n}" for n in (102, 104, 106)}
NET03 = {f"NET-03|{P}server/{n}" for n in (102, 106)}
NET07 = {f"NET-07|{P}firewall/{n}" for n in (202, 204)}  # the rules themselves
# Every claim of the page bound to checks, and exactly the findings that contradict it (the
# README's violations); claims left out are `verifiable = false`.
CONTRADICTED_BY: dict[str, set[str]] = {
    "data-centre-germany": {f"RES-01|{P}server/106"},
    "private-network": NET03,
    "no-public-endpoint": NET03,
    "lb-terminates": NET03 | {f"NET-04|{P}server/106"},
    "firewall-restricted": NET02 | NET07 | {f"NET-04|{P}server/106"},
    "admin-ports": NET02 | NET07,
    "db-inside-cluster": {f"NET-01|{P}server/104"},
    "db-no-public-ip": {f"NET-01|{P}server/104"},
    "operator-vpn": NET02,
    "tls-12": {f"TLS-02|{P}load_balancer/302/service/8080", f"TLS-03|{P}certificate/502"},
    "aes-256-at-rest": {f"ENC-01|{P}{r}" for r in ("server/104", "server/106", "volume/402",
                                                   "volume/403")},
    "internal-not-reachable": NET03 | {f"NET-01|{P}server/104"},
    "eu-residency": {f"RES-01|{P}server/106"},
    "daily-backups": {f"BAK-02|{P}server/104"},
    "data-classification": {f"INV-02|{P}server/106", f"INV-02|{P}volume/403"},
    "vulnerability-procedures": {f"VUL-01|{P}server/106"},
    "backup-policy": {f"BAK-02|{P}server/104"},
}
# Bound, but nothing Hetzner's API shows can decide them (a skip at level none): sshd
# settings, an audit log, model inference; and, without --iac, the infrastructure-as-code
# to compare with.
NOT_VERIFIABLE_HERE = {
    "ssh-keys-only": "IAM-03", "operator-audit-log": "LOG-01",
    "iac": "INV-01", "inventory-in-sync": "INV-01",
}
# Scoped to AWS (`scope = { providers = ["aws"] }`): a Hetzner estate holds nothing it
# speaks of, so it is unknown (nothing in scope), never verified nor "not verifiable".
OUT_OF_SCOPE_HERE = {"subprocessor-aws"}


def claim_report(doc: dict[str, Any]) -> dict[str, tuple[str, set[str]]]:
    """Each claim bound to checks: its status and the findings that decided it."""
    report = {c["id"]: (c["status"], set(c["findings"])) for c in claims_of(doc) if c["checks"]}
    assert sum(len(f) for _, f in report.values()) == sum(
        len(c["findings"]) for c in claims_of(doc) if c["checks"])  # no finding listed twice
    return report


def test_seed002_claims_are_judged_claim_by_claim() -> None:
    _, doc = scan_json(str(SEED002), "--profile", "seed-002")
    expected = {cid: ("contradicted", found) for cid, found in CONTRADICTED_BY.items()}
    expected |= {cid: ("not_verifiable", {f"{check}|hetzner:ohallo-prod"})
                 for cid, check in NOT_VERIFIABLE_HERE.items()}
    expected |= {cid: ("unknown", set()) for cid in OUT_OF_SCOPE_HERE}
    assert claim_report(doc) == expected
    unbound = [c for c in claims_of(doc) if not c["checks"]]
    assert len(unbound) == 67 and {c["status"] for c in unbound} == {"not_verifiable"}
    assert doc["summary"]["claims"] == {"verified": 0, "contradicted": 17, "unknown": 1,
                                        "not_verifiable": 71, "not_assessed": 0}
    iac = next(c for c in claims_of(doc) if c["id"] == "iac")
    assert iac["reason"].startswith("not verifiable: no infrastructure-as-code to compare with")
    assert iac["evidence_levels"] == ["none"]


STATE = "fixtures/terraform/seed002-hetzner.tfstate"
# The drift of fixtures/terraform/README.md: made by hand (live, not in the state), deleted
# by hand (in the state, not live).
DRIFT = {f"INV-01|{P}server/106", f"INV-01|{P}volume/403", f"INV-01|{P}firewall/204",
         f"INV-01|iac:{STATE}/hcloud_server.cache",
         f"INV-01|iac:{STATE}/hcloud_volume.cache_data"}


def test_with_the_terraform_state_the_iac_claims_are_contradicted_by_exactly_the_drift(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the --iac path as given names the declarations
    code, doc = scan_json(str(SEED002.relative_to(ROOT)), "--profile", "seed-002",
                          "--iac", STATE)
    expected = {cid: ("contradicted", found) for cid, found in CONTRADICTED_BY.items()}
    expected |= {cid: ("not_verifiable", {f"{check}|hetzner:ohallo-prod"})
                 for cid, check in NOT_VERIFIABLE_HERE.items() if check != "INV-01"}
    expected |= {cid: ("unknown", set()) for cid in OUT_OF_SCOPE_HERE}
    expected |= {"iac": ("contradicted", DRIFT), "inventory-in-sync": ("contradicted", DRIFT)}
    assert claim_report(doc) == expected
    inv01 = [f for f in findings_of(doc) if f["check"] == "INV-01"]
    assert {f["id"] for f in inv01 if f["status"] == "fail"} == DRIFT
    assert Counter(f["status"] for f in inv01) == {"pass": 21, "fail": 5, "skip": 9}
    assert not [f for f in findings_of(doc) if f["status"] == "error"]
    assert doc["summary"]["by_status"]["fail"] == 20 + 5
    assert doc["summary"]["claims"] == {"verified": 0, "contradicted": 19, "unknown": 1,
                                        "not_verifiable": 69, "not_assessed": 0}
    assert code == 1


def _probe(rid: str, host: str, port: int, protocol: str, accepted: tuple[str, ...]
           ) -> dict[str, Any]:
    """A recorded TLS probe result (docs/snapshot-format.md), as `--probe-tls` writes it."""
    versions = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
    base = {"resource": P + rid, "protocol": protocol, "host": host, "port": port,
            "server_name": host, "address": host, "probed_at": "2026-11-20T02:00:00Z",
            "seconds": 1.2, "tool": "sslyze 6.3.1"}
    if not accepted:  # a TCP pass-through to SSH: no TLS handshake of any version
        return {**base, "status": "error", "protocols": {}, "ciphers": {}, "negotiated": None,
                "error": {"reason": "no_tls", "message": "no TLS handshake completed"}}
    return {**base, "status": "completed", "error": None,
            "protocols": {v: "accepted" if v in accepted else "refused" for v in versions},
            "ciphers": {v: ["TLS_AES_128_GCM_SHA256"] if v == "TLSv1.3" else
                        ["ECDHE-RSA-AES128-GCM-SHA256"] for v in accepted},
            "negotiated": {"protocol": accepted[-1], "cipher": "TLS_AES_128_GCM_SHA256"}}


def probed_snapshot(tmp_path: Path, lb_admin_443: tuple[str, ...]) -> Path:
    """The seed 002 project with recorded probe results for its three TLS endpoints: lb-web
    443 accepts TLS 1.2 and 1.3 only, lb-admin 443 accepts `lb_admin_443`, lb-admin 2222 (a
    TCP pass-through to SSH) completes no TLS handshake."""
    doc = json.loads(SEED002.read_text())
    doc["sections"][0]["collections"]["tls_probes"] = {"global": [
        _probe("load_balancer/301/service/443", "203.0.113.80", 443, "https",
               ("TLSv1.2", "TLSv1.3")),
        _probe("load_balancer/302/service/443", "203.0.113.81", 443, "https", lb_admin_443),
        _probe("load_balancer/302/service/2222", "203.0.113.81", 2222, "tcp", ()),
    ]}
    del doc["digest"]
    path = tmp_path / "probed.json"
    path.write_text(json.dumps(doc))
    assert run("seal", str(path)).exit_code == 0
    return path


def test_recorded_tls_probes_are_part_of_the_tls_claim(tmp_path: Path) -> None:
    tls = {f"TLS-02|{P}load_balancer/302/service/8080", f"TLS-03|{P}certificate/502"}
    # the endpoints refuse everything below TLS 1.2: TLS-04 passes (level probe) and adds
    # no contradiction, the TCP pass-through to SSH is no TLS service (skip)
    code, doc = scan_json(str(probed_snapshot(tmp_path, ("TLSv1.2", "TLSv1.3"))),
                          "--profile", "seed-002")
    tls04 = {f["resource"]: (f["status"], f["evidence_level"])
             for f in findings_of(doc) if f["check"] == "TLS-04"}
    assert tls04 == {P + "load_balancer/301/service/443": ("pass", "probe"),
                     P + "load_balancer/302/service/443": ("pass", "probe"),
                     P + "load_balancer/302/service/2222": ("skip", "probe")}
    claim = next(c for c in claims_of(doc) if c["id"] == "tls-12")
    assert (claim["status"], set(claim["findings"])) == ("contradicted", tls)
    # TLS-01: 2 passes, 1 skip; TLS-02: 3 passes, 1 fail, 1 skip; TLS-03: 1 pass, 1 fail;
    # TLS-04: 2 passes, 1 skip
    assert claim["counts"] == {"fail": 2, "pass": 8, "skip": 3}
    assert claim["evidence_levels"] == ["config", "probe", "provider"]
    assert code == 1
    # a handshake shows what the configuration does not: lb-admin also accepts TLS 1.0
    _, doc = scan_json(str(probed_snapshot(tmp_path, ("TLSv1.0", "TLSv1.2", "TLSv1.3"))),
                       "--profile", "seed-002")
    claim = next(c for c in claims_of(doc) if c["id"] == "tls-12")
    assert (claim["status"], set(claim["findings"])) == (
        "contradicted", tls | {f"TLS-04|{P}load_balancer/302/service/443"})


def test_only_selected_checks_run_and_claims_of_other_checks_are_not_assessed() -> None:
    _, doc = scan_json(str(SEED002), "--profile", "seed-002", "--checks", "TLS-01")
    assert {f["check"] for f in findings_of(doc)} == {"TLS-01"}
    status = {c["id"]: c["status"] for c in claims_of(doc)}
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
    for claim in claims_of(doc):
        assert claim["quote"] in out
    assert "db-2" in out and "contradicted" in out


def test_quick_start_scan_exits_1_with_the_summary_the_readme_states() -> None:
    readme = (ROOT / "README.md").read_text()
    result = run("scan", str(SEED002), "--profile", "seed-002")
    summary = result.stdout.splitlines()[-2:]
    # the AWS sub-processor sentence is scoped to AWS: nothing in scope here, so unknown
    assert summary == ["31 resources, 19 checks: 20 failed, 0 errors, 48 passed, 11 skipped",
                       "claims of seed-002: 0 verified, 17 contradicted, 1 unknown, "
                       "71 not verifiable"]
    quick_start = readme[readme.index("## Quick start"):readme.index("## Using it")]
    prose = " ".join(quick_start.split())
    for line in summary:  # in the quick start's words and in the console block of "Using it"
        assert f"`{line}`" in prose
        assert f"\n{line}\n" in readme
    assert result.exit_code == 1  # its deliberate violations; never 3 (nothing unreadable)
