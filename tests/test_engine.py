"""Engine behaviour: registration, fail-closed, claims, the model vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

from providers.hetzner import PROVIDER
from scanner import snapshot
from scanner.findings import EvidenceLevel, Finding, Severity, Status
from scanner.model import PROPERTIES, Kind
from scanner.profile import Claim
from scanner.registry import load_checks, load_providers
from scanner.result import ClaimStatus, evaluate_claim
from tests.helpers import SEED002, findings_of, run, scan_json

CRASHING_CHECK = '''
from scanner.check import check
from scanner.model import Kind

@check(id="LOCAL-01", title="crashes", severity="high", kinds={Kind.COMPUTE})
def crashes(ctx):
    for server in ctx.graph.of_kind(Kind.COMPUTE):
        yield ctx.passed(server, "fine so far")
    raise RuntimeError("boom")
'''

OWNER_CHECK = '''
from scanner.check import check
from scanner.model import Kind

@check(id="LOCAL-02", title="servers have an owner", severity="low", kinds={Kind.COMPUTE})
def owner(ctx):
    for server in ctx.graph.of_kind(Kind.COMPUTE):
        if "owner" in server.labels:
            yield ctx.passed(server, "has an owner")
        else:
            yield ctx.fail(server, "no owner label")
'''


def test_builtin_checks_and_providers_register_through_entry_points() -> None:
    checks = load_checks()
    assert {"NET-01", "NET-02", "NET-03", "NET-04", "RES-01", "ENC-01", "TLS-01", "TLS-02",
            "TLS-03", "BAK-02"} <= set(checks)
    assert "hetzner" in load_providers()
    for c in checks.values():
        assert c.rationale and c.remediation and c.references, c.id
        assert c.kinds, c.id


def test_local_checks_dir_is_loaded_like_a_plugin(tmp_path: Path) -> None:
    (tmp_path / "owner.py").write_text(OWNER_CHECK)
    code, doc = scan_json(str(SEED002), "--checks-dir", str(tmp_path), "--checks", "LOCAL-02")
    assert code == 1
    assert {f["status"] for f in findings_of(doc)} == {"fail"}
    assert len(findings_of(doc)) == 6


def test_a_crashing_check_yields_an_error_never_its_passes(tmp_path: Path) -> None:
    (tmp_path / "crash.py").write_text(CRASHING_CHECK)
    code, doc = scan_json(str(SEED002), "--checks-dir", str(tmp_path), "--checks", "LOCAL-01")
    assert code == 3
    assert [(f["status"], f["reason"]) for f in findings_of(doc)] == [("error", "bug")]
    assert "boom" in findings_of(doc)[0]["message"]


def test_a_check_file_that_does_not_import_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import no_such_module_anywhere\n")
    result = run("scan", str(SEED002), "--checks-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "broken.py" in result.stderr and "Traceback" not in result.stderr


def test_a_collection_missing_from_the_snapshot_makes_its_checks_error(tmp_path: Path) -> None:
    doc = json.loads(SEED002.read_text())
    del doc["sections"][0]["collections"]["firewalls"]
    path = tmp_path / "nofw.json"
    path.write_text(json.dumps(doc))
    snapshot.seal(path, path)
    code, result = scan_json(str(path), "--checks", "NET-04,RES-01")
    assert code == 1  # RES-01's certain violation outranks NET-04's blindness
    assert scan_json(str(path), "--checks", "NET-04")[0] == 3
    net04 = [f for f in findings_of(result) if f["check"] == "NET-04"]
    assert net04 and all(f["status"] == "error" for f in net04)
    assert any(f["reason"] == "not_collected" for f in net04)
    # RES-01 does not read firewalls: it still judges every resource.
    res01 = [f for f in findings_of(result) if f["check"] == "RES-01"]
    assert {f["status"] for f in res01} == {"pass", "fail"}


def test_hetzner_normalizer_uses_only_the_documented_vocabulary() -> None:
    snap = snapshot.load(SEED002)
    inv = PROVIDER.normalize(snap.sections[0])
    assert inv.resources
    for r in inv.resources:
        assert isinstance(r.kind, Kind)
        unknown = set(r.properties) - set(PROPERTIES)
        assert not unknown, (r.id, unknown)
        for name in r.properties:
            assert r.kind in PROPERTIES[name].kinds, (r.id, name)
    ids = [r.id for r in inv.resources]
    assert len(ids) == len(set(ids)), "resource ids must be unique"


def test_resource_ids_are_stable_across_replays() -> None:
    a = [r.id for r in PROVIDER.normalize(snapshot.load(SEED002).sections[0]).resources]
    b = [r.id for r in PROVIDER.normalize(snapshot.load(SEED002).sections[0]).resources]
    assert a == b


def _finding(status: Status, level: EvidenceLevel = EvidenceLevel.CONFIG) -> Finding:
    return Finding("NET-01", f"r-{status}-{level}", status, Severity.HIGH, "m",
                   evidence_level=level)


def test_claim_is_contradicted_by_any_failure_even_beside_errors() -> None:
    claim = Claim("c", "q", ("NET-01",))
    got = evaluate_claim(claim, {"NET-01": [_finding(Status.PASS), _finding(Status.ERROR),
                                            _finding(Status.FAIL)]}, {"NET-01"})
    assert got.status is ClaimStatus.CONTRADICTED


def test_claim_with_an_error_and_no_failure_is_unknown_not_verified() -> None:
    claim = Claim("c", "q", ("NET-01",))
    got = evaluate_claim(claim, {"NET-01": [_finding(Status.PASS), _finding(Status.ERROR)]},
                         {"NET-01"})
    assert got.status is ClaimStatus.UNKNOWN


def test_claim_with_nothing_in_scope_is_unknown_not_verified() -> None:
    claim = Claim("c", "q", ("NET-01",))
    assert evaluate_claim(claim, {}, {"NET-01"}).status is ClaimStatus.UNKNOWN


def test_claim_partly_unverifiable_from_the_api_is_unknown() -> None:
    claim = Claim("c", "q", ("NET-01",))
    got = evaluate_claim(claim, {"NET-01": [_finding(Status.PASS),
                                            _finding(Status.SKIP, EvidenceLevel.NONE)]},
                         {"NET-01"})
    assert got.status is ClaimStatus.UNKNOWN


def test_claim_only_unverifiable_from_the_api_is_not_verifiable() -> None:
    claim = Claim("c", "q", ("NET-01",))
    got = evaluate_claim(claim, {"NET-01": [_finding(Status.SKIP, EvidenceLevel.NONE)]},
                         {"NET-01"})
    assert got.status is ClaimStatus.NOT_VERIFIABLE


def test_claim_verified_when_everything_assessed_passes() -> None:
    claim = Claim("c", "q", ("NET-01",))
    got = evaluate_claim(claim, {"NET-01": [_finding(Status.PASS)]}, {"NET-01"})
    assert got.status is ClaimStatus.VERIFIED


def test_checks_and_profiles_commands_explain() -> None:
    out = run("checks", "NET-01").stdout
    assert "Databases hold no public IP" in out and "ISO27001" in out and "hetzner" in out
    listing = json.loads(run("checks", "--json").stdout)
    assert {c["id"] for c in listing} >= {"NET-01", "TLS-03"}
    assert "seed-002" in run("profiles").stdout
    shown = run("profiles", "seed-002").stdout
    assert "They hold no public IP and accept no public connections." in shown


def test_permissions_lists_only_get_calls_and_narrows_with_checks() -> None:
    full = json.loads(run("permissions", "hetzner").stdout)
    assert all(call.startswith("GET ") for call in full["calls"])
    assert "GET /servers" in full["calls"]
    narrow = json.loads(run("permissions", "hetzner", "--checks", "TLS-03").stdout)
    assert set(narrow["calls"]) == {"GET /load_balancers", "GET /certificates", "GET /locations"}


def test_several_sources_make_one_estate(tmp_path: Path) -> None:
    doc = json.loads(SEED002.read_text())
    doc["sections"][0]["account"] = "ohallo-staging"
    other = tmp_path / "staging.json"
    other.write_text(json.dumps(doc))
    snapshot.seal(other, other)
    _, one = scan_json(str(SEED002), "--checks", "RES-01")
    code, both = scan_json(str(SEED002), str(other), "--checks", "RES-01")
    assert code == 1
    assert len(findings_of(both)) == 2 * len(findings_of(one))
    assert {f["account"] for f in findings_of(both)} == {"ohallo-prod", "ohallo-staging"}
    assert [s["name"] for s in both["sources"]] == ["seed002-hetzner.json", "staging.json"]


def test_checks_from_a_checks_dir_run_beside_the_profile_checks(tmp_path: Path) -> None:
    (tmp_path / "owner.py").write_text(OWNER_CHECK)
    _, doc = scan_json(str(SEED002), "--checks-dir", str(tmp_path), "--profile", "seed-002")
    assert "LOCAL-02" in doc["checks"] and "NET-01" in doc["checks"]


def test_every_internet_path_is_an_edge_of_the_networkx_graph() -> None:
    from scanner.engine import normalize
    from scanner.graph import INTERNET, EstateGraph
    from scanner.profile import load

    snap = snapshot.load(SEED002)
    graph = EstateGraph(normalize(snap.sections, load_providers(), load("seed-002")))
    paths = sum(len(graph.reaches(r.id)) for r, _ in graph.exposed())
    assert paths == graph.g.out_degree(INTERNET) > 0
