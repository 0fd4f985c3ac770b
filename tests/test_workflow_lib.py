"""History store, diff, suppressions, config and signing, at the library level."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from scanner import config, signing, suppressions
from scanner.diff import diff
from scanner.errors import PostureError, SnapshotError
from scanner.findings import Finding, Severity, Status
from scanner.history import SCHEMA_VERSION, HistoryStore, engine_url
from scanner.result import ScanResult
from tests.helpers import SEED002, run


def seed_result() -> ScanResult:
    out = run("scan", str(SEED002), "--profile", "seed-002", "--format", "json")
    return ScanResult.from_json(json.loads(out.stdout))


def test_sqlite_store_saves_and_loads_a_scan_with_its_findings(tmp_path: Path) -> None:
    store = HistoryStore(str(tmp_path / "h.sqlite"))
    assert store.version() == SCHEMA_VERSION
    result = seed_result()
    first = store.save(result)
    second = store.save(result)
    assert second == first + 1
    assert store.resolve("last") == second and store.resolve("previous") == first
    loaded = store.load("last")
    assert loaded.to_json() == result.to_json()
    assert [s.id for s in store.scans()] == [second, first]


def test_reopening_a_store_does_not_migrate_twice(tmp_path: Path) -> None:
    path = str(tmp_path / "h.sqlite")
    HistoryStore(path).save(seed_result())
    again = HistoryStore(path)
    assert again.version() == SCHEMA_VERSION and len(again.scans()) == 1


def test_store_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(PostureError, match="holds no scan"):
        HistoryStore(str(tmp_path / "empty.sqlite")).resolve("last")
    with pytest.raises(PostureError, match="not a scan reference"):
        HistoryStore(str(tmp_path / "empty.sqlite")).resolve("yesterday")
    with pytest.raises(PostureError, match="does not exist"):
        HistoryStore(str(tmp_path / "no" / "such" / "dir.sqlite"))


def test_postgres_urls_use_psycopg3() -> None:
    assert engine_url("postgresql://u:p@127.0.0.1/db") == "postgresql+psycopg://u:p@127.0.0.1/db"
    assert HistoryStore._safe("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"


def _f(check: str, resource: str, status: Status, message: str = "m") -> Finding:
    return Finding(check, resource, status, Severity.HIGH, message)


def _result(*findings: Finding) -> ScanResult:
    return ScanResult("0", {"name": "x"}, [], [], list(findings), [])


def test_diff_new_resolved_changed_unchanged() -> None:
    before = _result(_f("NET-01", "a", Status.FAIL), _f("NET-01", "b", Status.FAIL),
                     _f("NET-01", "c", Status.PASS), _f("NET-01", "d", Status.FAIL, "old"))
    after = _result(_f("NET-01", "a", Status.FAIL), _f("NET-01", "b", Status.PASS),
                    _f("NET-01", "c", Status.FAIL), _f("NET-01", "d", Status.FAIL, "new"),
                    _f("NET-01", "e", Status.ERROR))
    d = diff(before, after)
    assert [f.resource for f in d.new] == ["c", "e"]
    assert [f.resource for f in d.resolved] == ["b"]
    assert [(a.message, b.message) for a, b in d.changed] == [("old", "new")]
    assert d.unchanged == 1
    assert d.exit_code("low") == 1 and d.exit_code("critical") == 0


SUPPRESSIONS = """
[[suppress]]
check = "NET-02"
resource = "app-2"
reason = "SSH through lb-admin is the break-glass path"
owner = "ops@example.com"
expires = 2026-12-31

[[suppress]]
check = "ENC-*"
resource = "hetzner:ohallo-prod/volume/*"
reason = "volumes migrate to LUKS in Q1"
owner = "platform@example.com"
expires = 2026-11-01
"""


def test_suppressions_apply_until_they_expire(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SUPPRESSIONS)
    rules = suppressions.load(path)
    result = seed_result()
    out, expired = suppressions.apply(result.findings, rules, date(2026, 11, 23))
    by_id = {f.id: f for f in out}
    app2 = by_id["NET-02|hetzner:ohallo-prod/server/102"]
    assert app2.status is Status.SUPPRESSED
    assert app2.evidence["suppression"]["owner"] == "ops@example.com"
    vol = by_id["ENC-01|hetzner:ohallo-prod/volume/402"]
    assert vol.status is Status.FAIL and "expired_suppression" in vol.evidence
    assert [e["check"] for e in expired] == ["ENC-*"]
    assert sorted(expired[0]["findings"]) == ["ENC-01|hetzner:ohallo-prod/volume/402",
                                              "ENC-01|hetzner:ohallo-prod/volume/403"]
    later, _ = suppressions.apply(result.findings, rules, date(2026, 12, 31))
    assert {f.id: f for f in later}[app2.id].status is Status.FAIL


@pytest.mark.parametrize(("body", "needle"), [
    ('[[suppress]]\ncheck="NET-02"\nresource="x"\nowner="o"\nexpires=2026-01-01\n',
     "reason is required"),
    ('[[suppress]]\ncheck="NET-02"\nresource="x"\nreason="r"\nowner="o"\n',
     "expires is required"),
    ('[[suppress]]\ncheck="NET-02"\nresource="x"\nreason="r"\nowner="o"\nexpires="soon"\n',
     "is not a date"),
    ('[[suppress]]\ncheck="NET-02"\nresource="x"\nreason="r"\nowner="o"\nexpires=2026-01-01\n'
     'colour="red"\n', "unknown key colour"),
    ('mute = 1\n', "unknown key mute"),
    ('[[suppress]\n', "not valid TOML"),
])
def test_bad_suppressions_name_the_entry_and_the_problem(
        tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(body)
    with pytest.raises(PostureError, match=needle):
        suppressions.load(path)


def test_config_file_maps_to_command_defaults(tmp_path: Path) -> None:
    (tmp_path / "posture.toml").write_text('profile = "seed-002"\nfail-on = "high"\n'
                                           '[diff]\nfail-on = "critical"\n')
    found = config.find(tmp_path / "posture.toml")
    assert found is not None and not found.discovered
    path, table = found.path, found.table
    known = {"scan": {"profile": "profile_name", "fail_on": "fail_on"},
             "diff": {"fail_on": "fail_on"}}
    assert config.default_map(path, table, known) == {
        "scan": {"profile_name": "seed-002", "fail_on": "high"},
        "diff": {"fail_on": "critical"}}


def test_config_in_pyproject_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname="x"\n[tool.posture]\n'
                                             'format = "json"\n')
    found = config.find(cwd=tmp_path)
    assert found is not None and found.table == {"format": "json"} and found.discovered


def test_config_with_unknown_option_is_refused(tmp_path: Path) -> None:
    (tmp_path / "posture.toml").write_text('profil = "x"\n')
    found = config.find(tmp_path / "posture.toml")
    assert found is not None
    with pytest.raises(PostureError, match="unknown option 'profil'"):
        config.default_map(found.path, found.table, {"scan": {"profile": "profile_name"}})


def test_signature_verifies_and_detects_other_keys_and_edits(tmp_path: Path) -> None:
    priv, pub = signing.keygen(tmp_path / "k")
    assert (priv.stat().st_mode & 0o777) == 0o600
    key = signing.load_private(priv)
    sig = signing.sign("ab" * 32, key)
    assert signing.verify("ab" * 32, sig, signing.load_public(pub), "s") == sig["key_id"]
    with pytest.raises(SnapshotError, match="does not verify"):
        signing.verify("cd" * 32, sig, signing.load_public(pub), "s")
    _, other = signing.keygen(tmp_path / "other")
    with pytest.raises(SnapshotError, match="not by the given key"):
        signing.verify("ab" * 32, sig, signing.load_public(other), "s")
    forged = replace_value(sig, "key_id", signing.key_id(signing.load_public(other)))
    with pytest.raises(SnapshotError, match="does not verify"):
        signing.verify("ab" * 32, forged, signing.load_public(other), "s")
    with pytest.raises(SnapshotError, match="refusing to overwrite"):
        signing.keygen(tmp_path / "k")


def replace_value(d: dict[str, str], key: str, value: str) -> dict[str, str]:
    return {**d, key: value}


def test_suppressed_finding_keeps_its_identity() -> None:
    f = _f("NET-01", "a", Status.FAIL)
    assert replace(f, status=Status.SUPPRESSED).id == f.id
