"""The collectors only read: the local API servers see GET and nothing else.

A full `posture record` of every collection (no --checks) against the Hetzner API server and
the ARM server; their request logs hold every request whatever its method (the servers
refuse and log POST, PUT, PATCH, DELETE, HEAD and OPTIONS). No documented read-only POST is
used on either cloud: Hetzner is read with GET list calls only, Azure with GET only (no
Resource Graph query, no `listKeys`, which is a POST and returns secrets). On Azure a
`ReadOnlyGuard` pipeline policy refuses any other method before it leaves the process: the
case that needs it is a subscription where a resource provider is not registered, where
azure-mgmt-core would POST `.../providers/<namespace>/register`.

AWS (moto's request log: only Describe/List/Get actions) belongs here as one more test.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from providers.azure.collect import SPECS
from providers.hetzner.collect import PATHS
from tests.azure_arm_server import ArmServer, sections_of
from tests.hcloud_server import HcloudServer
from tests.helpers import ROOT, SEED002, run

SUB0 = "0b1f6471-1bf0-4dda-aec3-000000000000"
SUB1 = "5d2f8c71-7a3e-4c1b-9d0e-000000000001"
AZURE_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.read-only-test-token"
HCLOUD_TOKEN = "hcloud-read-only-token-0123456789abcdef0123456789abcdef0123456789"


def test_a_full_hetzner_collection_makes_only_get_requests(tmp_path: Path) -> None:
    doc = json.loads(SEED002.read_text())
    data = {k: v["global"] for k, v in doc["sections"][0]["collections"].items()}
    with HcloudServer(data, token=HCLOUD_TOKEN) as api:
        out = tmp_path / "s.json"
        result = run("record", "hetzner", "-o", str(out),
                     env={"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": HCLOUD_TOKEN})
        assert result.exit_code == 0, result.stderr
        requests = list(api.requests)
    assert requests
    assert {method for method, _ in requests} == {"GET"}
    read = {urlsplit(path).path.removeprefix("/v1/") for _, path in requests}
    assert read == {path.lstrip("/") for path, _ in PATHS.values()}  # every collection


def azure_env(arm: ArmServer) -> dict[str, str]:
    return {"POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": AZURE_TOKEN,
            "REQUESTS_CA_BUNDLE": arm.ca_file, "POSTURE_RETRY_BASE_SECONDS": "0.01"}


def test_a_full_azure_collection_makes_only_get_requests(tmp_path: Path) -> None:
    seeds = ROOT / "fixtures" / "azure"
    data = {**sections_of(seeds / "seed000-azure.json"),
            **sections_of(seeds / "seed001-azure.json")}
    with ArmServer(data, token=AZURE_TOKEN) as arm:
        out = tmp_path / "s.json"
        result = run("record", "azure", "-o", str(out), env=azure_env(arm))
        assert result.exit_code == 0, result.stderr
        requests = list(arm.requests)
    assert len(requests) > 50
    assert {method for method, _ in requests} == {"GET"}
    snap = json.loads(out.read_text())
    for section in snap["sections"]:  # every collection of every subscription was read
        assert section["errors"] == []
        assert {s.name for s in SPECS} <= set(section["collections"]), section["account"]


def test_an_unregistered_namespace_is_not_registered_by_a_post(tmp_path: Path) -> None:
    """ARM's 409 MissingSubscriptionRegistration makes azure-mgmt-core POST a registration;
    the read-only guard refuses it in-process: the server sees no POST, the collection is an
    error (not_found), the rest is read."""
    with ArmServer(sections_of(ROOT / "fixtures" / "azure" / "seed000-azure.json"),
                   token=AZURE_TOKEN) as arm:
        arm.fail("microsoft.keyvault/vaults", 409, "MissingSubscriptionRegistration",
                 message="The subscription is not registered to use namespace "
                         "'Microsoft.KeyVault'. See https://aka.ms/rps-not-found for how to "
                         "register subscriptions.")
        result = run("scan", "azure", "--subscription", SUB0, "--checks", "ENC-03",
                     "--format", "json", "--no-timestamps", env=azure_env(arm))
        requests = list(arm.requests)
    assert {method for method, _ in requests} == {"GET"}, requests
    doc = json.loads(result.stdout)
    errors = {(e["collection"], e["reason"]) for e in doc["errors"]}
    assert errors == {("Microsoft.KeyVault/vaults", "not_found")}, doc["errors"]
    message = doc["errors"][0]["message"]
    assert "refused POST" in message and message.endswith("/Microsoft.KeyVault/register)")
    assert result.exit_code == 3
