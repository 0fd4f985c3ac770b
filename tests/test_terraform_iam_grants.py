"""IAM-02 judges a plan's AWS IAM grants as the live reading judges the account's
(providers/aws/normalize/identity.py, one judgement: common.admin_statement): inline
policies, customer and AWS managed policies attached by every attachment resource, a role's
inline_policy blocks and managed_policy_arns, and what a user's groups grant. A principal
with an admin grant fails naming the policy and statement; one with narrow grants passes;
a document or policy ARN known only after apply, a policy outside the plan, or a group
outside the plan leaves the grant unknown (error), never pass. Before, every plan said only
"AWS IAM policies and their attachments are not read from plans"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fixtures.terraform.build_plans import const, plan, ref, res
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, scan_json
from tests.helpers import write_plan as write

AWS = {"aws": {"name": "aws", "expressions": {"region": const("eu-central-1")}}}
MANAGED = "arn:aws:iam::aws:policy/"
ROLE_UNKNOWN = {"arn": True, "id": True, "unique_id": True, "create_date": True,
                "inline_policy": True, "managed_policy_arns": True, "tags_all": True}


def doc(*statements: dict[str, Any]) -> str:
    """A policy document as the aws_iam_policy_document data source renders it."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


READ_BUCKET = doc({"Sid": "", "Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::reports/*"})


def role(name: str, **values: Any) -> dict[str, Any]:
    unknown = {k: v for k, v in ROLE_UNKNOWN.items() if k not in values}
    return res(f"aws_iam_role.{name}", {"name": name, "path": "/", **values},
               unknown=unknown, expressions={"name": const(name), **{
                   k: const(v) for k, v in values.items()}})


def principal(rtype: str, name: str) -> dict[str, Any]:
    return res(f"{rtype}.{name}", {"name": name, "path": "/"},
               unknown={"arn": True, "id": True, "unique_id": True})


def attach(rtype: str, name: str, who: str, whom: str, policy_arn: str | None,
           policy_ref: str = "") -> dict[str, Any]:
    """An attachment of `policy_arn` (or of the policy `policy_ref` names, known after
    apply) to principal `whom` (a name), configured by reference when it is in the plan."""
    values: dict[str, Any] = {who: whom}
    unknown: dict[str, Any] = {"id": True}
    expressions: dict[str, Any] = {who: const(whom)}
    if policy_arn is None:
        unknown["policy_arn"] = True
        expressions["policy_arn"] = ref(policy_ref)
    else:
        values["policy_arn"] = policy_arn
        expressions["policy_arn"] = const(policy_arn)
    return res(f"{rtype}.{name}", values, unknown=unknown, expressions=expressions)


def inline(rtype: str, name: str, who: str, whom: str, policy: str | None,
           data_source: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {who: whom, "name": name}
    unknown: dict[str, Any] = {"id": True}
    if policy is None:
        unknown["policy"] = True
    else:
        values["policy"] = policy
    return res(f"{rtype}.{name}", values, unknown=unknown, expressions={
        who: const(whom), "policy": ref(f"data.aws_iam_policy_document.{data_source}.json")
        if data_source else const(policy)})


def verdicts(tmp_path: Path, rs: list[dict[str, Any]]) -> tuple[int, dict[str, dict[str, Any]]]:
    code, result = scan_json(str(write(tmp_path, plan(rs, provider_config=AWS,
                                                      timestamp=STAMP))), "--checks", "IAM-02")
    return code, {str(f["resource"]).split("/", 1)[-1]: f for f in findings_of(result)
                  if f["check"] == "IAM-02" and "/" in str(f["resource"])}


def test_admin_grants_of_roles_users_and_groups_in_a_plan_fail_naming_policy_and_statement(
        tmp_path: Path) -> None:
    everything = doc({"Sid": "Everything", "Effect": "Allow",
                      "NotAction": ["s3:DeleteBucket"], "Resource": "*"})
    rs = [
        role("admin"),
        attach("aws_iam_role_policy_attachment", "admin", "role", "admin",
               MANAGED + "AdministratorAccess"),
        role("narrow"),
        inline("aws_iam_role_policy", "narrow", "role", "narrow", READ_BUCKET),
        attach("aws_iam_role_policy_attachment", "narrow_ro", "role", "narrow",
               MANAGED + "ReadOnlyAccess"),
        role("power", managed_policy_arns=[MANAGED + "PowerUserAccess"]),
        role("inline", inline_policy=[{"name": "all-iam", "policy": doc(
            {"Effect": "Allow", "Action": "IAM:*", "Resource": "arn:aws:*"})}]),
        principal("aws_iam_user", "ops"),
        res("aws_iam_policy.everything", {"name": "everything", "path": "/",
                                          "policy": everything},
            unknown={"arn": True, "id": True, "policy_id": True}),
        attach("aws_iam_user_policy_attachment", "ops", "user", "ops", None,
               "aws_iam_policy.everything.arn"),
        principal("aws_iam_group", "admins"),
        inline("aws_iam_group_policy", "admins", "group", "admins",
               doc({"Effect": "Allow", "Action": ["*:*"], "Resource": ["*"]})),
        principal("aws_iam_user", "dev"),
        res("aws_iam_user_group_membership.dev", {"user": "dev", "groups": ["admins"]},
            unknown={"id": True}),
        # the exclusive attachments (AWS provider 5.6x) attach what they list
        role("exclusive"),
        res("aws_iam_role_policy_attachments_exclusive.exclusive", {
            "role_name": "exclusive", "policy_arns": [MANAGED + "ReadOnlyAccess",
                                                      MANAGED + "AdministratorAccess"]}),
        # a role outside the plan, given IAMFullAccess by the exclusive attachment
        res("aws_iam_policy_attachment.legacy", {
            "name": "legacy", "roles": ["legacy-deployer"], "users": [], "groups": [],
            "policy_arn": MANAGED + "IAMFullAccess"}, unknown={"id": True}),
    ]
    code, got = verdicts(tmp_path, rs)
    status = {k: f["status"] for k, f in got.items()}
    # before: no IAM-02 verdict for any (one "not verifiable" skip per plan)
    assert status == {
        "aws_iam_role.admin": "fail",
        "aws_iam_role.narrow": "pass",
        "aws_iam_role.power": "pass",  # NotAction iam:*: not admin, as live
        "aws_iam_role.inline": "fail",
        "aws_iam_user.ops": "fail",
        "aws_iam_group.admins": "fail",
        "aws_iam_user.dev": "fail",
        "aws_iam_role.exclusive": "fail",
        "aws_iam_policy_attachment.legacy/role/legacy-deployer": "fail",
    }
    via = {k: " ".join(f["evidence"].get("admin_via", [])) for k, f in got.items()}
    assert "AWS managed policy arn:aws:iam::aws:policy/AdministratorAccess" in \
        via["aws_iam_role.admin"]
    assert 'policy everything (aws_iam_policy.everything): statement 1 (Everything): ' \
           'Allow NotAction ["s3:DeleteBucket"] on Resource "*"' in via["aws_iam_user.ops"]
    assert 'inline policy all-iam (aws_iam_role.inline): statement 1: Allow Action "IAM:*"' \
        in via["aws_iam_role.inline"]
    assert via["aws_iam_user.dev"].startswith("group admins: inline policy admins")
    assert "IAMFullAccess" in via["aws_iam_policy_attachment.legacy/role/legacy-deployer"]
    assert code == 1


def test_grants_known_only_after_apply_or_outside_the_plan_are_errors_never_passes(
        tmp_path: Path) -> None:
    rs = [
        # its document comes from a data source Terraform reads only at apply
        role("deferred"),
        inline("aws_iam_role_policy", "deferred", "role", "deferred", None, "deferred"),
        # a policy ARN from a module output, known after apply
        role("from_module"),
        attach("aws_iam_role_policy_attachment", "from_module", "role", "from_module", None,
               "module.policies.arn"),
        # a customer managed policy the plan does not hold
        role("elsewhere"),
        attach("aws_iam_role_policy_attachment", "elsewhere", "role", "elsewhere",
               "arn:aws:iam::123456789012:policy/legacy"),
        # an AWS managed policy posture's table does not list
        role("newer", managed_policy_arns=[MANAGED + "AWSPolicyPublishedIn2030"]),
        # member of a group outside the plan
        principal("aws_iam_user", "joiner"),
        res("aws_iam_group_membership.existing", {"name": "existing", "group": "Admins",
                                                  "users": ["joiner"]},
            unknown={"id": True}),
        # an admin grant next to an unknown one is still a fail
        role("both"),
        attach("aws_iam_role_policy_attachment", "both_admin", "role", "both",
               MANAGED + "AdministratorAccess"),
        attach("aws_iam_role_policy_attachment", "both_unknown", "role", "both", None,
               "module.policies.arn"),
        # a role whose policies the provider computes from nothing configured: no grant
        role("bare"),
    ]
    code, got = verdicts(tmp_path, rs)
    status = {k: f["status"] for k, f in got.items()}
    assert status == {
        "aws_iam_role.deferred": "error",
        "aws_iam_role.from_module": "error",
        "aws_iam_role.elsewhere": "error",
        "aws_iam_role.newer": "error",
        "aws_iam_user.joiner": "error",
        "aws_iam_role.both": "fail",
        "aws_iam_role.bare": "pass",
    }
    text = {k: json.dumps(f) for k, f in got.items()}
    assert "known only after apply" in text["aws_iam_role.deferred"]
    assert "policy arn:aws:iam::123456789012:policy/legacy: not in the plan" in \
        text["aws_iam_role.elsewhere"]
    assert "group Admins: not in the plan" in text["aws_iam_user.joiner"]
    assert code == 1


def test_a_rendered_policy_document_is_judged_and_its_unread_data_source_is_not(
        tmp_path: Path) -> None:
    """The aws_iam_policy_document data source read at plan time: its `json` is the
    referencing resource's planned `policy` (judged); read only at apply (in the planned
    values and resource_changes with action read, the shape of Terraform 1.3.9's plan in
    bridgecrewio/checkov tests/terraform/runner/resources/plan_with_iam_data_block):
    unknown, unless a statement it already knows is `*` on `*` (fail)."""
    admin = doc({"Sid": "", "Effect": "Allow", "Action": "*", "Resource": "*"})
    rs = [role("read"), inline("aws_iam_role_policy", "read", "role", "read", admin, "admin"),
          role("later"), inline("aws_iam_role_policy", "later", "role", "later", None,
                                "admin_later"),
          role("star"), inline("aws_iam_role_policy", "star", "role", "star", None,
                               "star_later")]
    document = plan(rs, provider_config=AWS, timestamp=STAMP)
    document["prior_state"] = {"format_version": "1.0", "values": {"root_module": {
        "resources": [{"address": "data.aws_iam_policy_document.admin", "mode": "data",
                       "type": "aws_iam_policy_document", "name": "admin",
                       "provider_name": "registry.terraform.io/hashicorp/aws",
                       "values": {"json": admin, "statement": [{
                           "actions": ["*"], "resources": ["*"], "effect": "Allow"}]}}]}}}
    deferred = [
        # read at apply, its only statement's resources known only then: not known
        ("admin_later", [{"actions": ["*"], "resources": [None], "effect": None}],
         [{"actions": [False], "resources": [True]}]),
        # read at apply, but its first statement is already `*` on `*`: admin
        ("star_later", [{"actions": ["s3:GetObject"], "resources": [None], "effect": None},
                        {"actions": ["*"], "resources": ["*"], "effect": "Allow",
                         "sid": "Everything"}],
         [{"actions": [False], "resources": [True]}, {"actions": [False],
                                                      "resources": [False]}]),
    ]
    for name, statements, unknown in deferred:
        values = {"override_json": None, "override_policy_documents": None,
                  "source_json": None, "source_policy_documents": None, "policy_id": None,
                  "version": None, "statement": [
                      {"condition": [], "not_actions": None, "not_principals": [],
                       "not_resources": None, "principals": [], "sid": None, **st}
                      for st in statements]}
        document["planned_values"]["root_module"]["resources"].append({
            "address": f"data.aws_iam_policy_document.{name}", "mode": "data",
            "type": "aws_iam_policy_document", "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
            "values": values, "sensitive_values": {}})
        document["resource_changes"].append({
            "address": f"data.aws_iam_policy_document.{name}", "mode": "data",
            "type": "aws_iam_policy_document", "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["read"], "before": None, "after": values,
                       "after_unknown": {"id": True, "json": True, "statement": unknown}},
            "action_reason": "read_because_config_unknown"})
    code, result = scan_json(str(write(tmp_path, document)), "--checks", "IAM-02")
    got = {str(f["resource"]).split("/", 1)[-1]: f for f in findings_of(result)
           if f["check"] == "IAM-02" and "/" in str(f["resource"])}
    assert {k: f["status"] for k, f in got.items()} == {
        "aws_iam_role.read": "fail", "aws_iam_role.later": "error",
        "aws_iam_role.star": "fail"}
    assert got["aws_iam_role.star"]["message"].endswith(
        "data.aws_iam_policy_document.star_later (read at apply): statement 2 (Everything): "
        'Allow Action ["*"] on Resource ["*"]')
    assert code == 1


def test_the_managed_policy_table_is_the_live_judgement_of_the_aws_documents() -> None:
    """providers/aws/managed-policies.json is fixtures/aws/build_managed_policies.py's
    output over moto's copy of AWS's managed policy documents: every policy both the table
    and the installed moto hold is judged alike (a newer moto may add or drop policies: one
    the table lacks is `error` when attached, never a pass)."""
    from fixtures.aws.build_managed_policies import OUT, table

    shipped = json.loads(OUT.read_text())
    built = table()
    listed = {n: True for n in shipped["admin"]} | {n: False for n in shipped["not_admin"]}
    judged = {n: True for n in built["admin"]} | {n: False for n in built["not_admin"]}
    both = set(listed) & set(judged)
    assert len(both) >= 0.9 * len(listed), (len(both), len(listed))
    assert {n: listed[n] for n in both} == {n: judged[n] for n in both}
    assert {"AdministratorAccess", "IAMFullAccess"} <= set(shipped["admin"])
    assert {"PowerUserAccess", "ReadOnlyAccess", "job-function/ViewOnlyAccess"} <= set(
        shipped["not_admin"])


def test_a_policy_nested_too_deep_to_read_is_an_error_of_its_principal_and_bucket_only(
        tmp_path: Path) -> None:
    """A policy document nested deeper than the JSON decoder goes (an attacker's plan) is
    unreadable: IAM-02 error for its role, TLS-02 error for its bucket. Before, the decoder's
    RecursionError made the whole plan unread (every verdict of it blanked)."""
    deep = "[" * 100_000 + "]" * 100_000
    rs = [role("deep"), inline("aws_iam_role_policy", "deep", "role", "deep", deep),
          role("plain"),
          res("aws_s3_bucket.b", {"bucket": "b"}, unknown={"id": True, "arn": True}),
          res("aws_s3_bucket_policy.b", {"bucket": "b", "policy": deep}, unknown={"id": True},
              expressions={"bucket": ref("aws_s3_bucket.b.id")})]
    code, result = scan_json(str(write(tmp_path, plan(rs, provider_config=AWS,
                                                      timestamp=STAMP))),
                             "--checks", "IAM-02,TLS-02")
    got = {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
           for f in findings_of(result) if "/" in str(f["resource"])}
    assert got == {("IAM-02", "aws_iam_role.deep"): "error",
                   ("IAM-02", "aws_iam_role.plain"): "pass",
                   ("TLS-02", "aws_s3_bucket.b"): "error"}
    assert code == 3  # errors, no failure: incomplete


def test_an_admin_attachment_to_one_of_several_role_instances_is_unknown_for_each(
        tmp_path: Path) -> None:
    """`role = aws_iam_role.r[count.index].name` with names known only after apply
    (name_prefix): Terraform lists the reference as `aws_iam_role.r`; which instance gets
    AdministratorAccess is not known: error for each, never a fail of the wrong one nor a
    pass."""
    rs = [res(f"aws_iam_role.r[{i}]", {"name_prefix": "worker-", "path": "/"},
              unknown={**ROLE_UNKNOWN, "name": True}, index=i,
              expressions={"name_prefix": const("worker-")}) for i in (0, 1)]
    rs.append(res("aws_iam_role_policy_attachment.a[0]",
                  {"policy_arn": MANAGED + "AdministratorAccess"}, index=0,
                  unknown={"id": True, "role": True}, expressions={
                      "role": {"references": ["aws_iam_role.r", "count.index"]},
                      "policy_arn": const(MANAGED + "AdministratorAccess")}))
    code, got = verdicts(tmp_path, rs)
    assert {k: f["status"] for k, f in got.items()} == {
        "aws_iam_role.r[0]": "error", "aws_iam_role.r[1]": "error"}
    assert "maybe (one of several instances, or an attachment the plan deletes): AWS managed" in \
        json.dumps(got["aws_iam_role.r[0]"])
    assert code == 3


def test_a_refreshed_admin_policy_of_a_role_is_unknown_while_the_plan_deletes_an_attachment(
        tmp_path: Path) -> None:
    """An existing role's managed_policy_arns, not set by its block, is the provider's
    refresh: every policy attached by any resource. Its AdministratorAccess is held (fail);
    while the plan deletes a role policy attachment (its values not kept) it may be the one
    that goes: error, neither fail nor pass."""
    def existing() -> dict[str, Any]:
        return res("aws_iam_role.ci", {"name": "ci", "path": "/", "inline_policy": [],
                                       "managed_policy_arns": [MANAGED + "AdministratorAccess",
                                                               MANAGED + "ReadOnlyAccess"]},
                   actions=("no-op",), expressions={"name": const("ci")})
    gone = res("aws_iam_role_policy_attachment.ci_admin", {
        "role": "ci", "policy_arn": MANAGED + "AdministratorAccess"})
    code, got = verdicts(tmp_path, [existing()])
    assert {k: f["status"] for k, f in got.items()} == {"aws_iam_role.ci": "fail"}
    assert code == 1
    code, result = scan_json(str(write(tmp_path, plan([existing()], deleted=[gone],
                                                      provider_config=AWS, timestamp=STAMP),
                                       "deleting.json")), "--checks", "IAM-02")
    assert {str(f["resource"]).split("/", 1)[-1]: f["status"] for f in findings_of(result)
            if f["check"] == "IAM-02" and "/" in str(f["resource"])} == {
        "aws_iam_role.ci": "error"}
    assert code == 3


def test_a_public_plan_with_iam_policies_fails_each_principal_naming_its_statement() -> None:
    """Checkov's plan_with_iam_policies (Terraform 1.1.5, tests/data/plans/README.md): a
    group, a role (name known only after apply: its inline policy's `role` resolves by
    reference) and a user, each with an inline `iam:*` on `*` (CRLF JSON; the role's and
    the user's rendered by a data source at plan time); the unattached `s3:*` policy
    grants no one. Before: one IAM-02 skip for the plan."""
    from tests.helpers import ROOT

    code, result = scan_json(str(ROOT / "tests" / "data" / "plans" /
                                 "checkov-iam-policies-1.0.plan.json"), "--checks", "IAM-02")
    got = {str(f["resource"]).split("/", 1)[-1]: f for f in findings_of(result)
           if f["check"] == "IAM-02" and "/" in str(f["resource"])}
    assert {k: f["status"] for k, f in got.items()} == {
        "aws_iam_group.fail_2": "fail", "aws_iam_role.example": "fail",
        "aws_iam_user.fail_3": "fail"}
    assert got["aws_iam_group.fail_2"]["message"] == (
        'holds a wildcard admin grant: inline policy example (aws_iam_group_policy.fail_2): '
        'statement 1: Allow Action ["s3:Get*", "iam:*"] on Resource "*"')
    assert code == 1

