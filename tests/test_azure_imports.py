"""A live Azure scan imports only the azure-mgmt clients its selected checks read through.

Run in a fresh interpreter against the local HTTPS Resource Manager server
(tests/azure_arm_server.py) with the real clients, so that `sys.modules` at exit shows what
the scan imported: never a package outside the clients of the collections its plan reads
(providers/azure/plan.py); `--checks RES-01` (where every data resource is) takes them from
Resource Manager's resource list and imports nothing beyond the resources client.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.azure_arm_server import ArmServer, sections_of
from tests.helpers import ROOT

SEED000 = ROOT / "fixtures" / "azure" / "seed000-azure.json"
SUB0 = "0b1f6471-1bf0-4dda-aec3-000000000000"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-test-token"
PROBE = """
import atexit, sys
def loaded():
    names = {m.split(".")[2] for m in sys.modules if m.startswith("azure.mgmt.")}
    sys.stderr.write("AZURE-MGMT " + ",".join(sorted(names)) + "\\n")
atexit.register(loaded)
from scanner.cli import main
sys.argv = ["posture", *sys.argv[1:]]
main()
"""


@pytest.fixture
def arm() -> Iterator[ArmServer]:
    with ArmServer(sections_of(SEED000), token=TOKEN) as server:
        yield server


def mgmt_packages(arm: ArmServer, *args: str) -> set[str]:
    env = {**os.environ, "POSTURE_AZURE_ARM_ENDPOINT": arm.url,
           "POSTURE_AZURE_ACCESS_TOKEN": TOKEN, "REQUESTS_CA_BUNDLE": arm.ca_file,
           "POSTURE_RETRY_BASE_SECONDS": "0.01"}
    proc = subprocess.run([sys.executable, "-c", PROBE, "scan", "azure", "--subscription",
                           SUB0, "--format", "json", "-o", os.devnull, *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
                          check=False)
    assert proc.returncode in (0, 1), proc.stderr
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("AZURE-MGMT ")]
    return set(line.removeprefix("AZURE-MGMT ").split(",")) - {""}


def planned_packages(checks: str) -> set[str]:
    """The azure-mgmt packages of the clients of every collection a scan for `checks`
    plans to read (parents included), plus azure.mgmt.core and resource (subscriptions)."""
    from providers.azure import PROVIDER
    from providers.azure.apis import BY_NAME
    from providers.azure.collect import CLIENT_CLASSES, wanted_with_parents
    from scanner.registry import load_checks

    registry = load_checks()
    only = PROVIDER.collections_for_checks([registry[c] for c in checks.split(",")])
    return {"core", "resource"} | {CLIENT_CLASSES[BY_NAME[n].client][0].split(".")[2]
                                   for n in wanted_with_parents(only)}


@pytest.mark.parametrize(("checks", "clients"), [
    ("RES-01", set()),  # the resource list (resources client); deployments, activity-log
    # settings and workspaces: REST calls on the resources client's pipeline
    ("LOG-02", set()),
    ("IAM-01", {"authorization"}),
    ("ENC-03", {"keyvault"}),
])
def test_a_scan_imports_only_the_clients_of_the_selected_checks(
        arm: ArmServer, checks: str, clients: set[str]) -> None:
    loaded = mgmt_packages(arm, "--checks", checks)
    # azure.mgmt.core (the pipeline) and azure.mgmt.resource (subscriptions) always
    assert loaded == {"core", "resource", *clients}
    assert loaded <= planned_packages(checks)


def test_a_full_scan_imports_the_clients_its_checks_read_through(arm: ArmServer) -> None:
    loaded = mgmt_packages(arm, "--profile", "default")
    assert {"resource", "network", "storage", "sql"} <= loaded
    from scanner.registry import load_checks

    assert loaded <= planned_packages(",".join(load_checks()))


def test_with_resource_graph_the_clients_of_served_lists_are_not_imported(
        arm: ArmServer) -> None:
    """The lists Resource Graph answers need no client of their own: only the per-resource
    children (SQL firewall rules and databases, PostgreSQL configurations, protected items,
    deployments, web app config, VM image versions) are read with their clients."""
    loaded = mgmt_packages(arm, "--checks", "ENC-01,SEC-01", "--azure-resource-graph", "on")
    assert {"resourcegraph", "sql", "web"} <= loaded
    assert not loaded & {"network", "storage", "keyvault", "recoveryservices",
                         "mysqlflexibleservers"}
