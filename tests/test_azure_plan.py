"""The Azure collection plan (providers/azure/plan.py): what each check makes a scan read.

RES-01 reads only where resources are, so it takes them from Resource Manager's resource
list and judges exactly as from the full lists; a snapshot recorded that way and scanned
for other checks fails closed (`error`, never a verdict on a property that was not read);
docs/azure.md's per-check table is the plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.azure import COLLECTIONS, PROVIDER, calls_per_check
from providers.azure.plan import LISTED
from scanner import snapshot
from scanner.registry import load_checks
from tests.azure_arm_server import ArmServer, sections_of
from tests.helpers import ROOT, assert_doc_table, findings_of, run

SEED000 = ROOT / "fixtures" / "azure" / "seed000-azure.json"
SEED001 = ROOT / "fixtures" / "azure" / "seed001-azure.json"
SUB0 = "0b1f6471-1bf0-4dda-aec3-000000000000"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-test-token"
CHECKS = load_checks()
RES01_READS = {LISTED, "Microsoft.CognitiveServices/accounts/deployments",
               "Microsoft.Insights/diagnosticSettings",
               "Microsoft.OperationalInsights/workspaces"}


@pytest.fixture(scope="module")
def arm() -> Iterator[ArmServer]:
    with ArmServer({**sections_of(SEED000), **sections_of(SEED001)}, token=TOKEN) as server:
        yield server


def scan(*args: str, arm: ArmServer | None = None) -> dict[str, Any]:
    env = None if arm is None else {
        "POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
        "REQUESTS_CA_BUNDLE": arm.ca_file, "POSTURE_RETRY_BASE_SECONDS": "0.01"}
    result = run("scan", *args, "--format", "json", "--no-timestamps", env=env)
    assert result.exit_code in (0, 1, 3), result.stderr  # 3: errors, no failure
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_res01_plans_the_resource_list_and_what_it_lacks_only() -> None:
    assert PROVIDER.collections_for_checks([CHECKS["RES-01"]]) == RES01_READS


def test_checks_that_read_every_list_anyway_do_not_add_the_resource_list() -> None:
    everything = PROVIDER.collections_for_checks(CHECKS.values())
    assert LISTED not in everything
    assert everything == set(COLLECTIONS) - {LISTED}


def test_a_section_read_without_the_resource_list_needs_the_lists_of_res01_kinds() -> None:
    """Snapshots recorded before the resource list existed judge RES-01 as they did."""
    [section] = snapshot.load(SEED000).sections
    needed = PROVIDER.needed_in(CHECKS["RES-01"], section)
    assert LISTED not in needed and "Microsoft.Compute/virtualMachines" in needed


def test_res01_live_reads_the_resource_list_and_judges_as_from_the_full_lists(
        arm: ArmServer, tmp_path: Path) -> None:
    arm.requests.clear()
    snap = tmp_path / "res01.json"
    live = scan("azure", "--checks", "RES-01", "--record", str(snap), arm=arm)
    assert {m for m, _ in arm.requests} == {"GET"}
    paths = {p.split("?")[0].lower() for _, p in arm.requests}
    assert any(p.endswith("/resources") for p in paths)
    assert not [p for p in paths if "/providers/microsoft.compute/" in p
                or "/providers/microsoft.network/" in p or "/providers/microsoft.sql/" in p]
    from_lists = [f for seed in (SEED000, SEED001)
                  for f in findings_of(scan(str(seed), "--checks", "RES-01"))]
    assert sorted(findings_of(live), key=lambda f: f["id"]) == sorted(
        from_lists, key=lambda f: f["id"])
    assert live["errors"] == []
    # the snapshot, scanned for checks that read properties: never a verdict from it
    # (INV-02, which reads only labels, judges the resource list's tags)
    other_checks = "ENC-01,NET-01,SEC-01,TLS-02,RES-02,BAK-01,RES-03"
    replayed = scan(str(snap), "--checks", other_checks)
    judged = [f for f in findings_of(replayed) if f["check"] in other_checks.split(",")]
    assert judged and not [f for f in judged if f["status"] in ("pass", "fail")]
    assert any("was not collected" in f["message"] for f in judged)


def test_a_resource_list_that_cannot_be_read_leaves_res01_without_a_verdict() -> None:
    with ArmServer(sections_of(SEED000), token=TOKEN) as arm:
        arm.fail(f"/subscriptions/{SUB0}/resources", 403, "AuthorizationFailed")
        doc = scan("azure", "--checks", "RES-01", arm=arm)
    res01 = [f for f in findings_of(doc) if f["check"] == "RES-01"]
    data = [f for f in res01 if "/providers/microsoft.storage/" in f["resource"]
            or "/providers/microsoft.compute/" in f["resource"]]
    assert not data  # nothing listed: no resource judged, and none passed
    assert not [f for f in res01 if f["status"] == "pass" and f["region"]
                and "/diagnosticsettings/" not in f["resource"].lower()]
    assert any(LISTED in f["resource"] and f["status"] == "error" for f in res01)


DOC = ROOT / "docs" / "azure.md"


def calls_table() -> str:
    rows = ["| check | Resource Manager calls it makes (one subscription) |", "|---|---|"]
    for check_id, calls in calls_per_check(CHECKS.values()):
        rows.append(f"| {check_id} | {', '.join(f'`{c}`' for c in calls)} |")
    return "\n".join(rows)


def test_docs_list_the_calls_of_each_check_as_the_plan_makes_them() -> None:
    """docs/azure.md's table is the plan (POSTURE_WRITE_DOCS=1 rewrites it)."""
    assert_doc_table(DOC, calls_table())
