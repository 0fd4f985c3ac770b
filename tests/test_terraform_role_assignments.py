"""IAM-02 judges a plan's azurerm role assignments as the live reading judges the
subscription's (providers/azure/normalize/subscription.py): a privileged role (by name or
by id) or a custom role whose permissions make it one, at subscription, management-group
or root scope, is an admin grant; at a resource group it is not; a role whose definition the
plan does not hold, or a scope known only after apply, leaves the grant unknown. Before,
every plan said only "identities and their grants are not read from plans"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures.terraform.build_plans import plan, ref, res
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, scan_json
from tests.helpers import write_plan as write

AZURERM = {"azurerm": {"name": "azurerm", "expressions": {}}}
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def assignment(name: str, principal: str | None, scope: str, **role: Any) -> dict[str, Any]:
    unknown: dict[str, Any] = {"id": True, "name": True, "principal_type": True,
                               "skip_service_principal_aad_check": True}
    expressions: dict[str, Any] = {}
    values: dict[str, Any] = {"scope": scope, "principal_id": principal}
    for key, value in role.items():
        if isinstance(value, dict):  # a reference, known only after apply
            unknown[key] = True
            expressions[key] = value
        else:
            values[key] = value
    if principal is None:
        unknown["principal_id"] = True
        expressions["principal_id"] = ref("azurerm_user_assigned_identity.app.principal_id")
    return res(f"azurerm_role_assignment.{name}", values, unknown=unknown,
               expressions=expressions)


def test_admin_grants_in_a_plan_are_judged_as_live(tmp_path: Path) -> None:
    rs = [
        assignment("owner", "11111111-1111-1111-1111-111111111111", SUB,
                   role_definition_name="Owner"),
        assignment("rg_owner", "22222222-2222-2222-2222-222222222222",
                   f"{SUB}/resourceGroups/rg-app", role_definition_name="Owner"),
        assignment("reader", "33333333-3333-3333-3333-333333333333", SUB,
                   role_definition_name="Reader"),
        assignment("by_id", "44444444-4444-4444-4444-444444444444",
                   "/providers/Microsoft.Management/managementGroups/mg-root",
                   role_definition_id=f"{SUB}/providers/Microsoft.Authorization/"
                                      f"roleDefinitions/{CONTRIBUTOR}"),
        res("azurerm_role_definition.ops", {
            "name": "ops-everything", "scope": SUB, "assignable_scopes": [SUB],
            "permissions": [{"actions": ["*"], "not_actions": [], "data_actions": [],
                             "not_data_actions": []}]},
            unknown={"id": True, "role_definition_id": True,
                     "role_definition_resource_id": True}),
        assignment("custom", "55555555-5555-5555-5555-555555555555", SUB,
                   role_definition_id=ref(
                       "azurerm_role_definition.ops.role_definition_resource_id")),
        assignment("unseen", None, SUB, role_definition_name="Storage Blob Data Reader"),
    ]
    code, doc = scan_json(str(write(tmp_path, plan(rs, provider_config=AZURERM,
                                                   timestamp=STAMP))), "--checks", "IAM-02")
    got = {str(f["resource"]).split("/", 1)[-1]: f for f in findings_of(doc)
           if f["check"] == "IAM-02" and "/" in str(f["resource"])}
    status = {k: f["status"] for k, f in got.items()}
    # before: no IAM-02 verdict for any (one "not verifiable" skip per plan)
    assert status == {
        "azurerm_role_assignment.owner": "fail",
        "azurerm_role_assignment.rg_owner": "pass",
        "azurerm_role_assignment.reader": "pass",
        "azurerm_role_assignment.by_id": "fail",
        "azurerm_role_assignment.custom": "fail",
        "azurerm_role_assignment.unseen": "error",
    }
    assert "custom role ops-everything" in str(got["azurerm_role_assignment.custom"])
    assert code == 1


def test_a_custom_role_of_wildcard_runs_is_judged_in_linear_time(tmp_path: Path) -> None:
    """Actions of stars before a character the operation lacks (`********z`): matched as
    a regex (`.*` per star) each backtracked exponentially (8 stars: ~2 s of CPU per
    action, 10: 75 s, 12: hours); three of them, a notAction alike, and a real admin
    action last: ~8 s before, now well under a second (any number of stars)."""
    import time

    actions = ["*" * 8 + c for c in "xyz"] + ["Microsoft.Authorization/*/Write"]
    rs = [res("azurerm_role_definition.starry", {
            "name": "starry", "scope": SUB, "assignable_scopes": [SUB],
            "permissions": [{"actions": actions, "not_actions": ["*" * 8 + "w"],
                             "data_actions": [], "not_data_actions": []}]},
            unknown={"id": True, "role_definition_id": True,
                     "role_definition_resource_id": True}),
          assignment("starry", "66666666-6666-6666-6666-666666666666", SUB,
                     role_definition_id=ref(
                         "azurerm_role_definition.starry.role_definition_resource_id"))]
    path = str(write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP)))
    start = time.process_time()
    _, doc = scan_json(path, "--checks", "IAM-02")
    assert time.process_time() - start < 2.0
    [finding] = [f for f in findings_of(doc) if f["check"] == "IAM-02"
                 and str(f["resource"]).endswith("azurerm_role_assignment.starry")]
    assert finding["status"] == "fail"
    assert "Microsoft.Authorization/*/Write" in str(finding)


def test_the_wildcard_matcher_agrees_with_the_regex_it_replaced() -> None:
    """Azure's `*` (any characters, `/` included), matched without backtracking, gives what
    the regex gave on every short pattern and operation over a small alphabet."""
    import itertools
    import re

    from providers.azure.normalize.subscription import _matches

    def regex(pattern: str, action: str) -> bool:
        return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")),
                            action) is not None
    texts = ["".join(t) for n in range(5) for t in itertools.product("ab/", repeat=n)]
    patterns = ["".join(t) for n in range(5) for t in itertools.product("ab*", repeat=n)]
    assert all(_matches(p, a) == regex(p, a) for p in patterns for a in texts)
    assert not _matches("*" * 5000 + "z", "microsoft.authorization/roleassignments/write")


def test_a_custom_role_whose_actions_are_not_a_list_is_unknown_not_read_by_character(
        tmp_path: Path) -> None:
    """`actions` a string (the schema: a list): read character by character, the role
    assignment operation was no admin action (IAM-02 pass); now the grant is unknown."""
    rs = [res("azurerm_role_definition.odd", {
            "name": "odd", "scope": SUB, "assignable_scopes": [SUB],
            "permissions": [{"actions": "Microsoft.Authorization/roleAssignments/write",
                             "not_actions": [], "data_actions": [],
                             "not_data_actions": []}]},
            unknown={"id": True, "role_definition_id": True,
                     "role_definition_resource_id": True}),
          assignment("odd", "77777777-7777-7777-7777-777777777777", SUB,
                     role_definition_id=ref(
                         "azurerm_role_definition.odd.role_definition_resource_id"))]
    _, doc = scan_json(str(write(tmp_path, plan(rs, provider_config=AZURERM,
                                                   timestamp=STAMP))), "--checks", "IAM-02")
    [finding] = [f for f in findings_of(doc) if f["check"] == "IAM-02"
                 and str(f["resource"]).endswith("azurerm_role_assignment.odd")]
    assert finding["status"] == "error"
