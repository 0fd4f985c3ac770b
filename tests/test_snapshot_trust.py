"""Issue 15 item 2: tampering outside `verify --key`. A signature posture did not check is
never shown as OK, `scan --key` refuses unsigned or wrongly signed snapshots, the claim
report says who signed the estate and when it was collected, and a snapshot recorded from a
snapshot says it is a replay (of which digest, signed by whom)."""

from __future__ import annotations

import json
from pathlib import Path

from scanner import snapshot
from tests.helpers import SEED002, run


def signed_snapshot(tmp_path: Path, name: str = "recorder") -> tuple[Path, Path, str]:
    """(signed snapshot, public key, key id)."""
    key = tmp_path / f"{name}.key"
    out = run("keygen", str(key))
    assert out.exit_code == 0
    key_id = out.stdout.strip().rsplit(" ", 1)[-1]
    signed = tmp_path / f"{name}-signed.json"
    assert run("scan", str(SEED002), "--record", str(signed), "--sign", str(key)
               ).exit_code == 1
    return signed, Path(str(key) + ".pub"), key_id


def tamper(signed: Path, out: Path, keep_signature: bool = True) -> Path:
    """The issue's attack: delete a server, recompute the digest, paste the old signature."""
    doc = json.loads(signed.read_text())
    servers = doc["sections"][0]["collections"]["servers"]["global"]
    servers[:] = [s for s in servers if s["name"] != "db-2"]
    doc["version"] = 1  # re-sealed in version 1's canonical form, still read and verified
    doc["digest"]["value"] = snapshot.digest_of(doc)
    if not keep_signature:
        doc.pop("signature")
    out.write_text(json.dumps(doc))
    return out


def test_verify_json_gives_the_signature_status(tmp_path: Path) -> None:
    signed, pub, key_id = signed_snapshot(tmp_path)
    unchecked = run("verify", str(signed), "--json")
    assert unchecked.exit_code == 0
    doc = json.loads(unchecked.stdout)
    assert doc["signature"] == {"status": "not checked", "key_id": key_id}
    assert "signed_by" not in doc
    valid = json.loads(run("verify", str(signed), "--json", "--key", str(pub)).stdout)
    assert valid["signature"] == {"status": "valid", "key_id": key_id}
    absent = json.loads(run("verify", str(SEED002), "--json").stdout)
    assert absent["signature"] == {"status": "absent", "key_id": None}


def test_tampered_snapshot_with_pasted_signature_is_invalid_without_a_key(
        tmp_path: Path) -> None:
    signed, _, key_id = signed_snapshot(tmp_path)
    forged = tamper(signed, tmp_path / "tampered.json")
    result = run("verify", str(forged), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["signature"] == {"status": "invalid", "key_id": key_id}
    text = run("verify", str(forged))
    assert text.exit_code == 2 and "OK" not in text.stdout and "INVALID" in text.stdout


def test_text_verify_never_says_ok_beside_an_unchecked_signature(tmp_path: Path) -> None:
    signed, pub, _ = signed_snapshot(tmp_path)
    unchecked = run("verify", str(signed))
    assert unchecked.exit_code == 0
    assert "OK" not in unchecked.stdout and "NOT checked" in unchecked.stdout
    checked = run("verify", str(signed), "--key", str(pub))
    assert ": OK, sha256" in checked.stdout and "signature: valid" in checked.stdout


def test_scan_refuses_a_tampered_snapshot_and_will_not_re_sign_it(tmp_path: Path) -> None:
    signed, _, _ = signed_snapshot(tmp_path)
    forged = tamper(signed, tmp_path / "tampered.json")
    scanned = run("scan", str(forged), "--format", "json")
    assert scanned.exit_code == 2 and "signature does not verify" in scanned.stderr
    thief = tmp_path / "thief.key"
    run("keygen", str(thief))
    laundered = tmp_path / "x.json"
    resigned = run("scan", str(forged), "--record", str(laundered), "--sign", str(thief))
    assert resigned.exit_code == 2 and not laundered.exists()


def test_scan_with_key_refuses_unsigned_and_foreign_snapshots(tmp_path: Path) -> None:
    signed, pub, _ = signed_snapshot(tmp_path)
    stripped = tamper(signed, tmp_path / "stripped.json", keep_signature=False)
    unsigned = run("scan", str(stripped), "--key", str(pub), "--format", "json")
    assert unsigned.exit_code == 2 and "not signed" in unsigned.stderr
    assert run("scan", str(SEED002), "--key", str(pub)).exit_code == 2
    other, _, _ = signed_snapshot(tmp_path, "other")
    foreign = run("scan", str(other), "--key", str(pub), "--format", "json")
    assert foreign.exit_code == 2 and "not by the given key" in foreign.stderr
    assert run("scan", str(signed), "--key", str(pub), "--format", "json").exit_code == 1


def test_explicit_config_key_is_applied(tmp_path: Path) -> None:
    signed, pub, _ = signed_snapshot(tmp_path)
    cfg = tmp_path / "ci.toml"
    cfg.write_text(f'[scan]\nkey = ["{pub}"]\n')
    assert run("--config", str(cfg), "scan", str(SEED002)).exit_code == 2
    assert run("--config", str(cfg), "scan", str(signed)).exit_code == 1


def test_claim_report_shows_signer_and_collection_time(tmp_path: Path) -> None:
    signed, pub, key_id = signed_snapshot(tmp_path)
    for fmt in ("markdown", "html"):
        out = run("scan", str(signed), "--key", str(pub), "--profile", "seed-002",
                  "--format", fmt)
        assert f"signed by {key_id} (verified)" in out.stdout, fmt
        assert "collected 2026-11-20T02:00:00Z" in out.stdout, fmt
    doc = json.loads(run("scan", str(signed), "--format", "json").stdout)
    assert doc["sources"][0]["signature"] == {"status": "not checked", "key_id": key_id}
    assert doc["sources"][0]["collected_at"] == ["2026-11-20T02:00:00Z"]
    assert "signed_by" not in doc["sources"][0]  # the header names only a verified signer
    unsigned = run("scan", str(SEED002), "--profile", "seed-002", "--format", "markdown")
    assert "not signed" in unsigned.stdout


def test_a_snapshot_recorded_from_a_snapshot_says_it_is_a_replay(tmp_path: Path) -> None:
    signed, pub, key_id = signed_snapshot(tmp_path)
    source_digest = snapshot.load(signed).digest
    replayer = tmp_path / "replayer.key"
    run("keygen", str(replayer))
    replay = tmp_path / "replay.json"
    assert run("scan", str(signed), "--key", str(pub), "--record", str(replay),
               "--sign", str(replayer)).exit_code == 1
    manifest = json.loads(run("verify", str(replay), "--json").stdout)
    hops = manifest["sections"][0]["replayed_from"]
    assert hops[0]["digest"] == source_digest
    assert hops[0]["signature"] == {"status": "valid", "key_id": key_id}
    text = run("verify", str(replay)).stdout
    assert f"replayed from snapshot sha256 {source_digest}" in text
    # the mark is inside the digested content: removing it breaks the replayer's signature
    doc = json.loads(replay.read_text())
    doc["sections"][0].pop("replayed_from")
    doc["version"] = 1
    doc["digest"]["value"] = snapshot.digest_of(doc)
    hidden = tmp_path / "hidden.json"
    hidden.write_text(json.dumps(doc))
    assert run("verify", str(hidden)).exit_code == 2
    # `signed` itself was recorded from the unsigned fixture: it says so too, and the replay
    # of it keeps that history (newest first)
    seed = snapshot.load(SEED002).digest
    assert hops[1] == {"digest": seed, "created_at": snapshot.load(SEED002).created_at,
                       "signature": {"status": "absent", "key_id": None}}
    # a section collected live has no mark: its bytes (and older files) are unchanged
    live = snapshot.Section(provider="hetzner", account="a", collected_at="2026-11-20T02:00:00Z")
    assert "replayed_from" not in live.to_json()
