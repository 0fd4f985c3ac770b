"""The three users' flows end to end through the CLI: nightly cron, CI gate, auditor."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from scanner import snapshot
from tests.helpers import SEED002, findings_of, run

P = "hetzner:ohallo-prod/"


def next_day_snapshot(tmp_path: Path) -> Path:
    """The estate a day later: db-2 lost its public IP, app-1 gained one (no firewall)."""
    doc = json.loads(SEED002.read_text())
    section = doc["sections"][0]
    section["collected_at"] = "2026-11-21T02:00:00Z"
    servers = {s["name"]: s for s in section["collections"]["servers"]["global"]}
    servers["db-2"]["public_net"]["ipv4"] = None
    servers["app-1"]["public_net"]["ipv4"] = {"id": 1011, "ip": "203.0.113.11",
                                              "blocked": False, "dns_ptr": "x"}
    path = tmp_path / "day2.json"
    path.write_text(json.dumps(doc))
    snapshot.seal(path, path)
    return path


def test_two_nightly_scans_give_the_right_diff(tmp_path: Path) -> None:
    store = str(tmp_path / "history.sqlite")
    assert run("scan", str(SEED002), "--store", store, "--format", "json").exit_code == 1
    day2 = next_day_snapshot(tmp_path)
    assert run("scan", str(day2), "--store", store, "--format", "json").exit_code == 1
    result = run("diff", "previous", "last", "--store", store, "--format", "json")
    assert result.exit_code == 1  # something new failed
    changes = json.loads(result.stdout)
    new = {(f["check"], f["resource"]) for f in changes["new"]}
    resolved = {(f["check"], f["resource"]) for f in changes["resolved"]}
    assert new == {("NET-03", P + "server/101"), ("NET-04", P + "server/101"),
                   ("NET-02", P + "server/101")}
    assert resolved == {("NET-01", P + "server/104"), ("NET-02", P + "server/104")}
    listing = run("history", "--store", store).stdout
    assert "seed-002" not in listing and "default" in listing


def test_since_last_only_new_reports_and_gates_on_new_findings(tmp_path: Path) -> None:
    store = str(tmp_path / "h.sqlite")
    run("scan", str(SEED002), "--store", store)
    same = run("scan", str(SEED002), "--since", "last", "--only-new", "--store", store,
               "--format", "json")
    assert same.exit_code == 0  # nothing new: a quiet night
    assert findings_of(json.loads(same.stdout)) == []
    day2 = next_day_snapshot(tmp_path)
    changed = run("scan", str(day2), "--since", "last", "--only-new", "--store", store,
                  "--format", "json")
    assert changed.exit_code == 1
    doc = json.loads(changed.stdout)
    assert {f["resource"] for f in findings_of(doc)} == {P + "server/101"}
    assert doc["changes"]["counts"]["resolved"] == 2


def test_diff_of_two_results_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(run("scan", str(SEED002), "--format", "json").stdout)
    b.write_text(run("scan", str(next_day_snapshot(tmp_path)), "--format", "json").stdout)
    out = run("diff", str(a), str(b))
    assert out.exit_code == 1 and "3 new, 2 resolved" in out.stdout
    assert run("diff", str(a), str(a)).exit_code == 0


def suppress_all(path: Path, expires: date) -> Path:
    doc = json.loads(run("scan", str(SEED002), "--format", "json").stdout)
    entries = [f'[[suppress]]\ncheck = "{f["check"]}"\nresource = "{f["resource"]}"\n'
               f'reason = "accepted for the test"\nowner = "sec@example.com"\n'
               f'expires = {expires.isoformat()}\n'
               for f in findings_of(doc) if f["status"] == "fail"]
    path.write_text("\n".join(entries))
    return path


def test_a_suppression_expiring_flips_the_exit_code(tmp_path: Path) -> None:
    active = suppress_all(tmp_path / "active.toml", date.today() + timedelta(days=30))
    result = run("scan", str(SEED002), "--suppressions", str(active), "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["summary"]["by_status"]["fail"] == 0
    assert doc["summary"]["by_status"]["suppressed"] > 0
    expired = suppress_all(tmp_path / "expired.toml", date.today())
    result = run("scan", str(SEED002), "--suppressions", str(expired), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["expired_suppressions"] and doc["summary"]["by_status"]["suppressed"] == 0


def test_signed_snapshot_edited_by_one_byte_fails_verification(tmp_path: Path) -> None:
    key = tmp_path / "recorder.key"
    assert run("keygen", str(key)).exit_code == 0
    signed = tmp_path / "signed.json"
    assert run("scan", str(SEED002), "--record", str(signed), "--sign", str(key)).exit_code == 1
    ok = run("verify", str(signed), "--key", str(key) + ".pub")
    assert ok.exit_code == 0 and "signature: valid" in ok.stdout
    data = bytearray(signed.read_bytes())
    i = data.index(b"ohallo-prod")
    data[i] = ord("O")
    edited = tmp_path / "edited.json"
    edited.write_bytes(bytes(data))
    bad = run("verify", str(edited), "--key", str(key) + ".pub")
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
    other = tmp_path / "other.key"
    run("keygen", str(other))
    wrong = run("verify", str(signed), "--key", str(other) + ".pub")
    assert wrong.exit_code == 2 and "not by the given key" in wrong.stderr
    unsigned = run("verify", str(SEED002), "--key", str(key) + ".pub")
    assert unsigned.exit_code == 2 and "not signed" in unsigned.stderr


def test_a_forged_signature_over_a_re_sealed_snapshot_fails(tmp_path: Path) -> None:
    key = tmp_path / "k"
    run("keygen", str(key))
    signed = tmp_path / "s.json"
    run("scan", str(SEED002), "--record", str(signed), "--sign", str(key))
    doc = json.loads(signed.read_text())
    doc["sections"][0]["account"] = "someone-else"
    doc["version"] = 1  # re-sealed in version 1's canonical form, still read and verified
    doc["digest"]["value"] = snapshot.digest_of(doc)  # the digest alone is easy to redo
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    # the digest is fine, but the signature does not verify even with the key it carries
    nokey = run("verify", str(forged))
    assert nokey.exit_code == 2 and "INVALID" in nokey.stdout and "OK" not in nokey.stdout
    result = run("verify", str(forged), "--key", str(key) + ".pub")
    assert result.exit_code == 2 and "does not verify" in result.stderr


def test_manifest_names_what_was_collected_and_redacted(tmp_path: Path) -> None:
    manifest = json.loads(run("verify", str(SEED002), "--json").stdout)
    section = manifest["sections"][0]
    assert section["provider"] == "hetzner" and section["account"] == "ohallo-prod"
    assert section["collections"]["servers"] == {"global": 6}
    assert section["failed_calls"] == [] and section["redacted_fields"] == []


def test_replaying_a_snapshot_twice_is_byte_identical_without_timestamps() -> None:
    for fmt in ("json", "sarif", "junit", "markdown", "csv", "ocsf"):
        a = run("scan", str(SEED002), "--format", fmt, "--no-timestamps").stdout
        b = run("scan", str(SEED002), "--format", fmt, "--no-timestamps").stdout
        assert a == b, fmt


def test_config_file_supplies_defaults_and_flags_win(tmp_path: Path) -> None:
    cfg = tmp_path / "ci.toml"
    cfg.write_text('profile = "seed-002"\nfail-on = "critical"\nformat = ["json"]\n')
    result = run("--config", str(cfg), "scan", str(SEED002))
    doc = json.loads(result.stdout)
    assert doc["profile"]["name"] == "seed-002"
    assert result.exit_code == 1  # NET-01 on db-2 is critical
    assert f"posture: config {cfg}" in result.stderr
    assert run("--config", str(cfg), "scan", str(SEED002), "--checks", "TLS-02"
               ).exit_code == 0  # high < critical
    assert run("--config", str(cfg), "scan", str(SEED002), "--checks", "TLS-02",
               "--fail-on", "high").exit_code == 1


def test_bad_config_file_is_one_line_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "ci.toml"
    cfg.write_text('profil = "seed-002"\n')
    result = run("--config", str(cfg), "scan", str(SEED002))
    assert result.exit_code == 2 and "unknown option 'profil'" in result.stderr


def test_only_new_without_since_is_a_usage_error() -> None:
    assert run("scan", str(SEED002), "--only-new").exit_code == 2


def test_progress_line_only_on_a_terminal() -> None:
    import io

    from scanner.progress import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        p = Progress(stream)
        p("hetzner", "global", "servers")
        p("aws", "eu-central-1", "ec2.describe_instances")
        p.close()
    assert "collecting aws eu-central-1 ec2.describe_instances (2 calls)" in tty.getvalue()
    assert pipe.getvalue() == ""
    quiet = Tty()
    Progress(quiet, enabled=False)("hetzner", "global", "servers")
    assert quiet.getvalue() == ""
