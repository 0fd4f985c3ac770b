"""Secrets found in raw objects are removed at record time; only their paths are kept."""

from __future__ import annotations

import json
from pathlib import Path

from scanner import snapshot
from scanner.redact import REDACTED, redact
from tests.hcloud_server import HcloudServer
from tests.helpers import SEED002, run

CANARY = "CANARY-s3cr3t-7f1e9c"


def test_secret_named_fields_and_secret_looking_values_are_replaced() -> None:
    removed: list[str] = []
    obj = {"labels": {"db_password": CANARY, "env": "prod",
                      "note": f"password={CANARY}"},
           "user_data": f"#cloud-config\n{CANARY}",
           "key": "AKIAABCDEFGHIJKLMNOP"}
    clean = redact(obj, "servers[]", removed)
    text = json.dumps(clean)
    assert CANARY not in text and "AKIAABCDEFGHIJKLMNOP" not in text
    assert clean["labels"]["env"] == "prod"
    assert clean["labels"]["db_password"] == REDACTED
    assert sorted(removed) == ["servers[].key", "servers[].labels.db_password",
                               "servers[].labels.note", "servers[].user_data"]


def test_hetzner_label_canary_never_reaches_snapshot_report_or_logs(tmp_path: Path) -> None:
    doc = json.loads(SEED002.read_text())
    data = {k: v["global"] for k, v in doc["sections"][0]["collections"].items()}
    data["servers"][0]["labels"]["api_token"] = CANARY
    data["servers"][1]["labels"]["backup"] = f"s3://backup:{CANARY}@bucket.example.com"
    with HcloudServer(data, token="t0k3n-for-tests") as api:
        snap = tmp_path / "s.json"
        result = run("-vv", "scan", "hetzner", "--record", str(snap), "--format", "json",
                     env={"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": "t0k3n-for-tests"})
    assert result.exit_code == 1
    for text in (result.stdout, result.stderr, snap.read_text()):
        assert CANARY not in text
        assert "t0k3n-for-tests" not in text
    section = snapshot.load(snap).sections[0]
    assert "servers[].labels.api_token" in section.redacted
    assert "servers[].labels.backup" in section.redacted
