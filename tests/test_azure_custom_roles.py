"""IAM-02 on custom Azure roles: an assignment at subscription scope of a custom role
definition is judged by the role's permissions (actions minus notActions, wildcards as
Microsoft documents them), read with GET .../providers/Microsoft.Authorization/
roleDefinitions; a role neither built-in and known nor among the definitions read is not
known (error). Bodies: Microsoft's GetRoleDefinitionById and RoleAssignments_CreateFor
Subscription examples (tests/data/azure, MIT), served by the local ARM server to the real
azure-mgmt authorization client. One live scan serves most tests (module fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.snapshot import seal
from tests.azure_arm_server import ArmServer
from tests.azure_shapes import SUB, example
from tests.helpers import ROOT, findings_of, run, scan_json
from tests.test_azure_controls import READER, TOKEN, assignment, live_scan

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
# principal ids differ in their first 8 characters (the assignment's id is made of them)
# role name -> (custom role GUID, actions, notActions); None: no definition served
ROLES: dict[str, tuple[str, list[str], list[str]] | None] = {
    "everything": ("aaaaaaaa-0000-4000-8000-000000000001", ["*"], []),
    "authz-writer": ("aaaaaaaa-0000-4000-8000-000000000002",
                     ["Microsoft.Authorization/*/write", "*/read"], []),
    "read-only": ("aaaaaaaa-0000-4000-8000-000000000003",
                  ["*/read", "Microsoft.Support/*"], []),
    # Contributor's shape: every operation but Authorization writes: it manages everything
    "contributor-like": ("aaaaaaaa-0000-4000-8000-000000000004", ["*"],
                         ["Microsoft.Authorization/*/Write",
                          "Microsoft.Authorization/*/Delete"]),
    # every operation but every provider's writes and deletes: reads and actions only
    "no-writes": ("aaaaaaaa-0000-4000-8000-000000000005", ["*"], ["*/write", "*/delete"]),
    # roleAssignments/write granted, then subtracted: no role assignment
    "assign-removed": ("aaaaaaaa-0000-4000-8000-000000000006",
                       ["Microsoft.Authorization/*"],
                       ["Microsoft.Authorization/roleAssignments/*"]),
}
# built-in roles beyond the few posture knows by GUID, served as the list answers them
# (type BuiltInRole; permissions as https://learn.microsoft.com/azure/role-based-access-control/
# built-in-roles lists them): judged by their permissions too, not left unknown
BUILT_IN: dict[str, tuple[str, list[str], list[str]]] = {
    "Backup Contributor": ("5e467623-bb1f-42f4-a55d-6e525e11384b",
                           ["Microsoft.Authorization/*/read", "Microsoft.RecoveryServices/*",
                            "Microsoft.Resources/subscriptions/resourceGroups/read"], []),
    "Role Based Access Control Administrator-like": (
        "dddddddd-0000-4000-8000-000000000001",
        ["Microsoft.Authorization/roleAssignments/write", "*/read"], []),
}
UNKNOWN_ROLE = "bbbbbbbb-0000-4000-8000-00000000000f"
PRINCIPALS = {  # name -> (principal id, role GUID)
    **{name: (f"c{i:07x}-0000-4000-8000-000000000000", spec[0])
       for i, (name, spec) in enumerate(ROLES.items()) if spec},
    "unknown": ("cfffffff-0000-4000-8000-000000000000", UNKNOWN_ROLE),
    "reader": ("ceeeeeee-0000-4000-8000-000000000000", READER),
    "owner": ("cddddddd-0000-4000-8000-000000000000", OWNER),
    "backup": ("cbbbbbbb-0000-4000-8000-000000000000", BUILT_IN["Backup Contributor"][0]),
    "assigner": ("caaaaaab-0000-4000-8000-000000000000",
                 BUILT_IN["Role Based Access Control Administrator-like"][0]),
}


def definition(name: str, guid: str, actions: list[str], not_actions: list[str],
               kind: str = "CustomRole") -> dict[str, Any]:
    """Microsoft's GetRoleDefinitionById example as the role `name` (`guid`) of this
    subscription (`kind`: CustomRole or BuiltInRole), granting `actions` minus
    `not_actions`."""
    body = example("GetRoleDefinitionById.json")
    body["id"] = (f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
                  f"roleDefinitions/{guid}")
    body["name"] = guid
    body["properties"].update(roleName=name, type=kind,
                              assignableScopes=[f"/subscriptions/{SUB}"])
    body["properties"]["permissions"][0].update(actions=actions, notActions=not_actions)
    return body


def estate() -> dict[str, dict[str, list[dict[str, Any]]]]:
    return {SUB: {
        "Microsoft.Authorization/roleDefinitions": [
            *[definition(n, *spec) for n, spec in ROLES.items() if spec],
            *[definition(n, *spec, kind="BuiltInRole") for n, spec in BUILT_IN.items()]],
        "Microsoft.Authorization/roleAssignments": [
            assignment(pid, role) for pid, role in PRINCIPALS.values()],
    }}


@pytest.fixture(scope="module")
def doc() -> Iterator[dict[str, Any]]:
    yield live_scan(estate(), "IAM-02")


def iam02(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["resource"].rsplit("/", 1)[-1]: f for f in findings_of(doc)
            if f["check"] == "IAM-02"}


@pytest.mark.parametrize("who,expected", [
    ("everything", "fail"), ("authz-writer", "fail"), ("contributor-like", "fail"),
    ("read-only", "pass"), ("no-writes", "pass"), ("assign-removed", "pass"),
    ("reader", "pass"), ("owner", "fail"), ("backup", "pass"), ("assigner", "fail")])
def test_a_custom_role_at_subscription_scope_is_judged_by_its_permissions(
        doc: dict[str, Any], who: str, expected: str) -> None:
    """`*` (every operation), `Microsoft.Authorization/*/write` (role assignments) and `*`
    minus Authorization writes (Contributor's shape) are admin grants: they were a pass
    (only the built-in GUIDs counted). Reads only, `*` minus every provider's writes, or
    role-assignment writes subtracted by notActions are none. Built-in roles the list holds
    are judged the same way (a Backup Contributor at subscription scope was an error when
    only custom roles were read)."""
    assert iam02(doc)[PRINCIPALS[who][0]]["status"] == expected


@pytest.mark.parametrize("who,action", [("everything", "*"),
                                        ("authz-writer", "Microsoft.Authorization/*/write"),
                                        ("contributor-like", "*")])
def test_the_evidence_names_the_custom_role_and_the_action_that_makes_it_admin(
        doc: dict[str, Any], who: str, action: str) -> None:
    spec = ROLES[who]
    assert spec is not None
    assert iam02(doc)[PRINCIPALS[who][0]]["evidence"]["admin_via"] == [
        f"custom role {who} ({spec[0]}): {action}"]


def test_an_assignment_of_a_role_neither_built_in_nor_read_is_an_error(doc: dict[str, Any]
                                                                       ) -> None:
    """A role GUID that is no known built-in and no custom role read: its grant is not
    known (it was a pass); the finding names the role."""
    finding = iam02(doc)[PRINCIPALS["unknown"][0]]
    assert finding["status"] == "error"
    assert UNKNOWN_ROLE in json.dumps(finding)


def test_custom_roles_not_read_leave_their_assignments_unknown() -> None:
    """The role definitions read denied (403): a custom role's assignment is an error, not
    a pass; the built-in Owner and Reader keep their verdicts."""
    with ArmServer(estate(), token=TOKEN, page_size=100) as arm:
        arm.fail("/providers/microsoft.authorization/roledefinitions", 403,
                 "AuthorizationFailed")
        result = run("scan", "azure", "--format", "json", "--no-timestamps",
                     "--checks", "IAM-02",
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file,
                          "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    found = iam02(json.loads(result.stdout))
    assert found[PRINCIPALS["read-only"][0]]["status"] == "error"
    assert found[PRINCIPALS["everything"][0]]["status"] == "error"
    assert ROLES["read-only"] is not None
    assert ROLES["read-only"][0] in json.dumps(found[PRINCIPALS["read-only"][0]])
    assert found[PRINCIPALS["owner"][0]]["status"] == "fail"
    assert found[PRINCIPALS["reader"][0]]["status"] == "pass"


def test_an_old_snapshot_without_role_definitions_keeps_built_in_verdicts(tmp_path: Path
                                                                         ) -> None:
    """seed-000's snapshot, recorded before role definitions were read, assigns only
    built-in roles: IAM-02 verdicts as its expectation file says. The same snapshot with
    one more assignment, of a custom role, errs for that principal alone."""
    fixture = ROOT / "fixtures" / "azure" / "seed000-azure.json"
    expected = {(c, r, s) for c, r, s in json.loads((ROOT / "seed000-azure.json").read_text())
                if c == "IAM-02"}
    _, out = scan_json(str(fixture), "--checks", "IAM-02", "--profile", "seed-000")
    got = {(f["check"], f["resource"], f["status"]) for f in findings_of(out)
           if f["check"] == "IAM-02"}
    assert got == expected and expected
    doc = json.loads(fixture.read_text())
    section = doc["sections"][0]
    assert "Microsoft.Authorization/roleDefinitions" not in section["collections"]
    sub = section["account"]
    extra = assignment("caaaaaaa-0000-4000-8000-000000000000", ROLES["everything"][0],
                       scope=f"/subscriptions/{sub}")
    section["collections"]["Microsoft.Authorization/roleAssignments"]["global"].append(extra)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    seal(path, path)
    _, out = scan_json(str(path), "--checks", "IAM-02", "--profile", "seed-000")
    now = {(f["check"], f["resource"], f["status"]) for f in findings_of(out)
           if f["check"] == "IAM-02"}
    assert now - got == {("IAM-02", f"azure:{sub}/principal/caaaaaaa-0000-4000-8000-000000000000",
                          "error")}
    assert got - now == set()
