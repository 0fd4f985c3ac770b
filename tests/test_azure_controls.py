"""Verdicts of the controls earlier Azure audits covered least (IAM-02, IAM-03, LOG-02), on
Microsoft's published example bodies (tests/data/azure, MIT; see its README) served by the
local HTTPS ARM server to the real azure-mgmt clients, each changed only by the edits named
below. One live scan serves every test (module fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.terraform.build_plans import plan, res
from tests.azure_arm_server import ArmServer, sections_of
from tests.azure_shapes import SUB, example, renamed
from tests.helpers import PLAN_STAMP, ROOT, findings_of, run, scan_json, verdicts, write_plan

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-controls-token"
CHECKS = "IAM-02,IAM-03,LOG-02"
# built-in role definition ids, the same GUID in every tenant
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles)
USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
RBAC_ADMIN = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def assignment(principal: str, role: str, principal_type: str = "User",
               scope: str = f"/subscriptions/{SUB}") -> dict[str, Any]:
    """Microsoft's RoleAssignments_CreateForSubscription example (its 200 body) for
    `principal`, of the built-in role `role`, at `scope`; the role definition id written
    in upper case and at subscription scope, as ARM may answer it."""
    body = example("RoleAssignmentCreateForSubscription.json")
    body["id"] = body["id"].replace("05c5a614", principal[:8])
    body["name"] = body["id"].rsplit("/", 1)[-1]
    body["properties"].update(
        principalId=principal, principalType=principal_type, scope=scope,
        roleDefinitionId=(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
                          f"roleDefinitions/{role.upper()}"))
    return body


PRINCIPALS = {
    "uaa-user": ("11111111-0000-4000-8000-000000000001", USER_ACCESS_ADMIN, "User"),
    "rbac-admin-group": ("22222222-0000-4000-8000-000000000002", RBAC_ADMIN, "Group"),
    "reader-sp": ("33333333-0000-4000-8000-000000000003", READER, "ServicePrincipal"),
}


def machine(name: str, linux: bool, os_profile: bool) -> dict[str, Any]:
    """Microsoft's VirtualMachine_Get example as `name` in westeurope, no NIC; `linux`: its OS
    disk a Linux one; without `os_profile`: created from a specialized disk (createOption
    Attach, no image reference, no osProfile), the way ARM answers for such a VM."""
    body = renamed(example("VirtualMachineGet.json"), "{subscription-id}", SUB)
    body = renamed(body, "myVM", name)
    body["location"] = "westeurope"
    p = body["properties"]
    p["networkProfile"]["networkInterfaces"] = []
    if linux:
        p["storageProfile"]["osDisk"]["osType"] = "Linux"
        p["osProfile"].pop("windowsConfiguration")
        p["osProfile"]["linuxConfiguration"] = {"disablePasswordAuthentication": True}
    if not os_profile:
        p.pop("osProfile")
        p["storageProfile"].pop("imageReference")
        p["storageProfile"]["osDisk"]["createOption"] = "Attach"
    return body


VMS = {"vm-linux-attached": (True, False), "vm-windows-attached": (False, False),
       "vm-linux-keys": (True, True), "vm-windows": (False, True)}


def workspace(name: str, sku: str, days: int) -> dict[str, Any]:
    """Microsoft's WorkspacesGet example (a Free workspace answering retentionInDays 30) as
    `name`, of SKU `sku` keeping `days`."""
    body = renamed(example("WorkspacesGet.json"), "00000000-0000-0000-0000-00000000000", SUB)
    body = renamed(body, "oiautorest6685/providers", "apptest/providers")
    body = renamed(body, "workspaces/oiautorest6685", f"workspaces/{name}")
    body["name"] = name
    body["properties"].update(sku={"name": sku}, retentionInDays=days)
    return body


def activity_export(name: str, ws: str) -> dict[str, Any]:
    """Microsoft's subscription diagnostic setting example (allLogs) as `name`, sending the
    activity log to workspace `ws` only."""
    body = renamed(example("SubscriptionDiagnosticSettingGet.json"),
                   "fb9f25f9-5785-4510-a38f-a62f188eb9f8", SUB)
    body = renamed(body, "diagnosticSettings/ds4", f"diagnosticSettings/{name}")
    body = renamed(body, "workspaces/test1", f"workspaces/{ws}")
    body["name"] = name
    for key in ("storageAccountId", "eventHubAuthorizationRuleId"):
        body["properties"].pop(key)
    return body


WORKSPACES = {"ws-free": ("Free", 30), "ws-unlimited": ("Unlimited", -1),
              "ws-minus-one": ("PerGB2018", -1), "ws-year": ("PerGB2018", 365)}


def estate() -> dict[str, dict[str, list[dict[str, Any]]]]:
    return {SUB: {
        "Microsoft.OperationalInsights/workspaces": [
            workspace(n, *v) for n, v in WORKSPACES.items()],
        "Microsoft.Insights/diagnosticSettings": [
            activity_export(f"to-{n}", n) for n in WORKSPACES],
        "Microsoft.Compute/virtualMachines": [machine(n, *v) for n, v in VMS.items()],
        "Microsoft.Authorization/roleAssignments": [
            assignment(pid, role, kind) for pid, role, kind in PRINCIPALS.values()],
    }}


def live_scan(sections: dict[str, dict[str, list[dict[str, Any]]]], checks: str
              ) -> dict[str, Any]:
    """A live `posture scan azure` of `sections` served by the ARM server (one page each)."""
    with ArmServer(sections, token=TOKEN, page_size=100) as arm:
        result = run("scan", "azure", "--format", "json", "--no-timestamps",
                     "--checks", checks,
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file,
                          "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


@pytest.fixture(scope="module")
def doc() -> Iterator[dict[str, Any]]:
    yield live_scan(estate(), CHECKS)


def status(doc: dict[str, Any], check: str, resource_end: str) -> str:
    found = [f["status"] for f in findings_of(doc)
             if f["check"] == check and f["resource"].endswith(resource_end.lower())]
    assert len(found) == 1, (check, resource_end, found)
    return found[0]


@pytest.mark.parametrize("who,expected", [("uaa-user", "fail"), ("rbac-admin-group", "fail"),
                                          ("reader-sp", "pass")])
def test_user_access_and_rbac_administrators_at_subscription_scope_are_admin_grants(
        doc: dict[str, Any], who: str, expected: str) -> None:
    """User Access Administrator and Role Based Access Control Administrator assign any
    role, Owner included, at their scope: Microsoft lists both among the "privileged
    administrator roles" with Owner and Contributor (they were an IAM-02 pass: only Owner
    and Contributor counted). Reader is no admin grant."""
    assert status(doc, "IAM-02", f"/principal/{PRINCIPALS[who][0]}") == expected


def test_a_linux_vm_from_a_specialized_disk_has_unknown_ssh_settings(doc: dict[str, Any]
                                                                    ) -> None:
    """No osProfile (a VM created by attaching an OS disk): the API does not say whether
    password SSH is off. It was no IAM-03 verdict at all; now `error`, never a pass."""
    assert status(doc, "IAM-03", "/virtualmachines/vm-linux-attached") == "error"
    assert status(doc, "IAM-03", "/virtualmachines/vm-linux-keys") == "pass"


def test_windows_vms_have_no_ssh_verdict(doc: dict[str, Any]) -> None:
    """Windows (osType, or windowsConfiguration): no SSH, IAM-03 does not apply."""
    judged = {f["resource"].rsplit("/", 1)[-1] for f in findings_of(doc)
              if f["check"] == "IAM-03"}
    assert judged == {"vm-linux-attached", "vm-linux-keys"}


def test_a_free_tier_workspace_keeps_logs_seven_days_whatever_its_retention_says(
        doc: dict[str, Any]) -> None:
    """Microsoft's WorkspacesGet example answers retentionInDays 30 on the Free SKU; the
    legacy Free Trial tier keeps data 7 days (it was judged as 30)."""
    (finding,) = [f for f in findings_of(doc) if f["check"] == "LOG-02"
                  and f["resource"].endswith("/diagnosticsettings/to-ws-free")]
    assert finding["status"] == "fail"
    assert finding["evidence"]["retention_days"] == 7


@pytest.mark.parametrize("ws,expected", [("ws-unlimited", "pass"), ("ws-minus-one", "error"),
                                         ("ws-year", "pass")])
def test_retention_minus_one_is_unlimited_on_the_unlimited_sku_only(
        doc: dict[str, Any], ws: str, expected: str) -> None:
    """`retentionInDays` -1 "means Unlimited retention for the Unlimited Sku" (it was "kept
    -1 days": a fail); -1 on another SKU is no documented retention: unknown."""
    assert status(doc, "LOG-02", f"/diagnosticsettings/to-{ws}") == expected


def test_a_planned_legacy_vm_on_an_attached_os_disk_has_unknown_ssh_settings(tmp_path: Path
                                                                            ) -> None:
    """azurerm_virtual_machine on an attached Linux OS disk (storage_os_disk create_option
    "Attach", no os_profile): judged as the live VM without osProfile, `error` (it had no
    IAM-03 verdict); the Windows one still none."""
    rs = [res(f"azurerm_virtual_machine.{os}", {
        "name": f"vm-{os}", "location": "westeurope", "resource_group_name": "rg",
        "vm_size": "Standard_B2s", "tags": {}, "network_interface_ids": [],
        "os_profile": [], "os_profile_linux_config": [], "os_profile_windows_config": [],
        "storage_os_disk": [{"name": f"{os}-osdisk", "create_option": "Attach",
                             "os_type": os.capitalize(), "managed_disk_id": "/subscriptions/"
                             f"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/{os}"}]},
        unknown={"id": True}) for os in ("linux", "windows")]
    path = write_plan(tmp_path, plan(rs, provider_config={
        "azurerm": {"name": "azurerm", "expressions": {}}}, timestamp=PLAN_STAMP))
    _, out = scan_json(str(path), "--checks", "IAM-03")
    got = {(res_, st) for check, res_, st in verdicts(out) if check == "IAM-03"}
    assert {(r.rsplit("/", 1)[-1], st) for r, st in got} == {
        ("azurerm_virtual_machine.linux", "error")}, got


def test_app_settings_the_get_does_not_return_are_no_evidence_of_no_secret() -> None:
    """GET .../config/web answers `appSettings: null` (the bundled seed-000 estate records it
    so); the values are listed only by a POST action posture does not call. SEC-01 was a
    `pass` ("no secret-looking values") on nothing read; now a `skip` at level `none`
    (settings a snapshot does hold are still judged: tests/test_canaries.py)."""
    sections = sections_of(ROOT / "fixtures" / "azure" / "seed000-azure.json")
    (config,) = next(iter(sections.values()))["Microsoft.Web/sites/config"]
    assert config["properties"]["appSettings"] is None
    site = config["id"].lower().rsplit("/config/", 1)[0]
    (finding,) = [f for f in findings_of(live_scan(sections, "SEC-01"))
                  if f["check"] == "SEC-01" and f["resource"] == site]
    assert (finding["status"], finding["evidence_level"]) == ("skip", "none")
