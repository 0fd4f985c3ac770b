"""SEC-01 judged on Terraform plans, for every cloud, with the live scans' rules and decoding
(scanner/secret_scan.py): the attributes the live scans read, scanned before the plan's
values are redacted; a value known only after apply, or held only as a hash, is an error,
never a pass; no output holds a secret's value. Before: SEC-01 was one `skip` per plan
("not verifiable"), Lambda functions and ECS task definitions were NOT-ASSESSED."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.terraform.build_plans import const, plan, ref, res
from tests.helpers import PLAN_AWS as AWS
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, run, scan_json
from tests.helpers import write_plan as write

AZURERM = {"azurerm": {"name": "azurerm", "expressions": {}}}
HCLOUD = {"hcloud": {"name": "hcloud", "expressions": {}}}
# secret values that must never reach an output (each one a rule of the ruleset hits)
DB_PASSWORD = "Tr0ub4dor-and-3-horses"
AWS_KEY = "AKIAQZXVB3EXAMPLE7KQ"
APP_SECRET = "s3cr3t-App-V4lue-9f8e7d"
ENV_SECRET = "Env-Passw0rd-77ab-cd"
MIME_SECRET = "mime-part-passw0rd-42x"
SENSITIVE_SECRET = "sensitive-but-plain-4711"
LITERAL_SECRET = "hetzner-literal-pw-0815"
SECRETS = (DB_PASSWORD, AWS_KEY, APP_SECRET, ENV_SECRET, MIME_SECRET, SENSITIVE_SECRET,
           LITERAL_SECRET)


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def mime_gzip(script: str) -> str:
    """User data as EKS/Batch launch templates write it: a MIME multi-part archive whose
    shell part is base64, gzip-compressed, then base64 (a launch template's user_data)."""
    body = ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"==B==\"\n\n"
            "--==B==\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\n"
            f"{b64(script)}\n--==B==--\n")
    return b64(gzip.compress(body.encode()))


def verdicts(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {str(f["resource"]).split("/", 1)[-1]: (f["status"], f.get("message") or "")
            for f in findings_of(doc) if f["check"] == "SEC-01"}


def aws_plan() -> dict[str, Any]:
    rs = [
        # AWS provider 6: user_data as planned is the text itself
        res("aws_instance.leaky", {"ami": "ami-1", "instance_type": "t3.micro",
                                   "user_data": f"#!/bin/bash\nexport DB_PASSWORD={DB_PASSWORD}\n"},
            unknown={"id": True}),
        res("aws_instance.clean", {"ami": "ami-1", "instance_type": "t3.micro",
                                   "user_data": "#!/bin/bash\necho hello\n"},
            unknown={"id": True}),
        res("aws_instance.b64", {"ami": "ami-1", "instance_type": "t3.micro",
                                 "user_data_base64": b64(f"aws_access_key_id = {AWS_KEY}\n")},
            unknown={"id": True}),
        res("aws_instance.later", {"ami": "ami-1", "instance_type": "t3.micro"},
            unknown={"id": True, "user_data": True},
            expressions={"user_data": ref("aws_db_instance.db.address")}),
        # AWS provider before 6.0: the plan holds the SHA-1 of the content
        res("aws_instance.hashed", {"ami": "ami-1", "instance_type": "t3.micro",
                                    "user_data": hashlib.sha1(b"x").hexdigest()},
            unknown={"id": True}),
        res("aws_launch_template.workers", {"name": "workers", "image_id": "ami-1",
                                            "user_data": mime_gzip(
                                                f"#!/bin/sh\nMYSQL_PASSWORD={MIME_SECRET}\n")},
            unknown={"id": True}),
        res("aws_autoscaling_group.workers", {"name": "workers", "max_size": 3, "min_size": 1,
                                              "launch_template": [{"version": "$Latest"}]},
            unknown={"launch_template": [{"id": True}]},
            expressions={"launch_template": [{"id": ref("aws_launch_template.workers.id")}]}),
        res("aws_sqs_queue.jobs", {"name": "jobs"}, unknown={"id": True, "url": True}),
        res("aws_lambda_function.leaky", {
            "function_name": "leaky", "environment": [{"variables": {
                "DB_PASSWORD": ENV_SECRET, "STAGE": "prod",
                "SECRET_ARN": "arn:aws:secretsmanager:eu-central-1:1:secret:db"}}]},
            unknown={"arn": True}),
        res("aws_lambda_function.clean", {
            "function_name": "clean", "environment": [{"variables": {"STAGE": "prod"}}]},
            unknown={"arn": True, "environment": [{"variables": {"QUEUE_URL": True}}]},
            expressions={"environment": [{"variables": ref("aws_sqs_queue.jobs.url")}]}),
        res("aws_lambda_function.generated", {
            "function_name": "generated", "environment": [{"variables": {}}]},
            unknown={"arn": True, "environment": [{"variables": {"API_KEY": True}}]},
            expressions={"environment": [{"variables": ref("random_string.key.result")}]}),
        # a sensitive variable's value is still in the plan, and in the function's
        # configuration: scanned, flagged, never written
        res("aws_lambda_function.sensitive", {
            "function_name": "sensitive", "environment": [{"variables": {
                "SMTP_PASSWORD": SENSITIVE_SECRET}}]},
            unknown={"arn": True},
            sensitive={"environment": [{"variables": {"SMTP_PASSWORD": True}}]},
            expressions={"environment": [{"variables": ref("var.smtp_password")}]}),
        res("aws_ecs_task_definition.api", {"family": "api", "container_definitions": json.dumps([
            {"name": "app", "image": "nginx", "environment": [
                {"name": "STAGE", "value": "prod"}, {"name": "APP_SECRET", "value": APP_SECRET}],
             "secrets": [{"name": "DB_PASSWORD",
                          "valueFrom": "arn:aws:ssm:eu-central-1:1:parameter/db"}]}])},
            unknown={"arn": True}),
        res("aws_ecs_task_definition.refs", {"family": "refs", "container_definitions": json.dumps([
            {"name": "app", "image": "nginx", "environment": [{"name": "STAGE", "value": "p"}],
             "secrets": [{"name": "DB_PASSWORD",
                          "valueFrom": "arn:aws:ssm:eu-central-1:1:parameter/db"}]}])},
            unknown={"arn": True}),
        res("aws_ecs_task_definition.later", {"family": "later"},
            unknown={"arn": True, "container_definitions": True},
            expressions={"container_definitions": ref("aws_ecr_repository.app.repository_url")}),
    ]
    return plan(rs, provider_config=AWS, timestamp=STAMP)


def azure_plan() -> dict[str, Any]:
    vm = {"name": "vm", "location": "westeurope", "resource_group_name": "rg",
          "size": "Standard_B1s", "admin_username": "ops", "network_interface_ids": [],
          "disable_password_authentication": True}
    app = {"location": "westeurope", "resource_group_name": "rg", "service_plan_id": "p"}
    rs = [
        # custom_data: sensitive in the provider's schema, base64, in the plan all the same
        res("azurerm_linux_virtual_machine.leaky", {
            **vm, "custom_data": b64(f"#cloud-config\npassword: {DB_PASSWORD}\n")},
            unknown={"id": True}, sensitive={"custom_data": True}),
        res("azurerm_linux_virtual_machine.clean", {
            **vm, "custom_data": b64("#cloud-config\npackages: [nginx]\n")},
            unknown={"id": True}, sensitive={"custom_data": True}),
        # a tag named like a secret, as the live Azure reading flags it
        res("azurerm_linux_virtual_machine.tagged", {**vm, "tags": {"db_password": "x1"}},
            unknown={"id": True}),
        res("azurerm_virtual_machine.legacy", {
            "name": "legacy", "location": "westeurope", "resource_group_name": "rg",
            "vm_size": "Standard_B1s", "network_interface_ids": [],
            "os_profile": [{"computer_name": "legacy", "admin_username": "ops",
                            "custom_data": hashlib.sha1(b"y").hexdigest()}]},
            unknown={"id": True}),
        res("azurerm_linux_web_app.keyvault", {**app, "name": "kv", "app_settings": {
            "DB_PASSWORD": "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/db/)",
            "STAGE": "prod"}}, unknown={"id": True}),
        res("azurerm_linux_web_app.leaky", {**app, "name": "leaky", "app_settings": {
            "API_TOKEN": APP_SECRET}}, unknown={"id": True}),
    ]
    return plan(rs, provider_config=AZURERM, timestamp=STAMP)


def hcloud_plan() -> dict[str, Any]:
    def hashed(text: str) -> str:  # what the hcloud provider plans: base64 of the SHA-1
        return b64(hashlib.sha1(text.encode()).digest())

    server = {"server_type": "cx22", "image": "ubuntu-24.04", "location": "fsn1"}
    literal = f"#!/bin/sh\nDB_PASSWORD={LITERAL_SECRET}\n"
    rs = [
        res("hcloud_server.leaky", {**server, "name": "leaky", "user_data": hashed(literal)},
            unknown={"id": True}, expressions={"user_data": const(literal)}),
        res("hcloud_server.opaque", {**server, "name": "opaque",
                                     "user_data": hashed("from a file")},
            unknown={"id": True}, expressions={"user_data": {}}),
        res("hcloud_server.plain", {**server, "name": "plain"}, unknown={"id": True}),
    ]
    return plan(rs, provider_config=HCLOUD, timestamp=STAMP)


@pytest.fixture(scope="module")
def aws_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("aws"), aws_plan())


def test_aws_plan_user_data_environments_and_containers_are_judged(aws_path: Path) -> None:
    _, doc = scan_json(str(aws_path), "--checks", "SEC-01")
    got = verdicts(doc)
    assert got["aws_instance.leaky"][0] == "fail"
    assert "user_data:DB_PASSWORD" in got["aws_instance.leaky"][1]
    assert got["aws_instance.clean"][0] == "pass"
    assert got["aws_instance.b64"][0] == "fail"  # user_data_base64 decoded
    assert got["aws_instance.later"][0] == "error"  # known only after apply
    assert "unknown until apply" in got["aws_instance.later"][1]
    assert got["aws_instance.hashed"][0] == "error"  # a hash: the content is not in the plan
    assert "SHA-1" in got["aws_instance.hashed"][1]
    # the launch template's MIME part (base64 in gzip in base64) is read, as live
    assert got["aws_autoscaling_group.workers"][0] == "fail"
    assert "aws_launch_template.workers.user_data:MYSQL_PASSWORD" in \
        got["aws_autoscaling_group.workers"][1]
    lambda_leaky = got["aws_lambda_function.leaky"]
    assert lambda_leaky[0] == "fail"
    assert "environment.variables.DB_PASSWORD" in lambda_leaky[1]
    assert "SECRET_ARN" not in lambda_leaky[1]  # an ARN names a secret, it is none
    # a value known after apply that comes from a queue's URL is no secret
    assert got["aws_lambda_function.clean"][0] == "pass"
    # one from a random generator Terraform does not mark sensitive may be: error
    assert got["aws_lambda_function.generated"][0] == "error"
    assert got["aws_lambda_function.sensitive"][0] == "fail"
    ecs = got["aws_ecs_task_definition.api"]
    assert ecs[0] == "fail"
    assert "container_definitions[app].environment.APP_SECRET" in ecs[1]
    assert "DB_PASSWORD" not in ecs[1]  # `secrets` with valueFrom: a reference
    assert got["aws_ecs_task_definition.refs"][0] == "pass"
    assert got["aws_ecs_task_definition.later"][0] == "error"
    # no longer "not verifiable on terraform", and Lambda/ECS no longer NOT-ASSESSED
    assert not any(f["check"] == "NOT-ASSESSED" and f["evidence"]["type"] in (
        "aws_lambda_function", "aws_ecs_task_definition") for f in findings_of(doc))


def test_azure_plan_custom_data_and_app_settings_are_judged(tmp_path: Path) -> None:
    _, doc = scan_json(str(write(tmp_path, azure_plan())), "--checks", "SEC-01")
    got = verdicts(doc)
    assert got["azurerm_linux_virtual_machine.leaky"][0] == "fail"
    assert got["azurerm_linux_virtual_machine.clean"][0] == "pass"
    assert got["azurerm_linux_virtual_machine.tagged"][0] == "fail"
    assert "tags.db_password" in got["azurerm_linux_virtual_machine.tagged"][1]
    assert got["azurerm_virtual_machine.legacy"][0] == "error"  # os_profile custom_data hash
    assert got["azurerm_linux_web_app.keyvault"][0] == "pass"  # a Key Vault reference
    assert got["azurerm_linux_web_app.leaky"][0] == "fail"
    assert "app_settings.API_TOKEN" in got["azurerm_linux_web_app.leaky"][1]
    # the web apps are judged whole from the plan (tests/test_terraform_plan_web_apps.py)
    assert not any(f["check"] == "NOT-ASSESSED" and f["evidence"]["type"] ==
                   "azurerm_linux_web_app" for f in findings_of(doc))


def test_hetzner_plan_user_data_is_judged_though_the_api_never_returns_it(
        tmp_path: Path) -> None:
    _, doc = scan_json(str(write(tmp_path, hcloud_plan())), "--checks", "SEC-01")
    got = verdicts(doc)
    # the plan holds a hash; the configuration's literal is the content
    assert got["hcloud_server.leaky"][0] == "fail"
    assert "user_data:DB_PASSWORD" in got["hcloud_server.leaky"][1]
    assert got["hcloud_server.opaque"][0] == "error"  # a hash of a file's content
    assert got["hcloud_server.plain"][0] == "pass"  # no user data


@pytest.mark.parametrize("fmt", ["csv", "html", "json", "jsonl", "junit", "markdown", "ocsf",
                                 "sarif", "table"])
def test_no_output_holds_a_secret_value(aws_path: Path, tmp_path: Path, fmt: str) -> None:
    azure = write(tmp_path, azure_plan(), "azure.json")
    hcloud = write(tmp_path, hcloud_plan(), "hcloud.json")
    result = run("scan", str(aws_path), str(azure), str(hcloud), "--format", fmt,
                 "--no-timestamps")
    assert result.exit_code in (1, 3), result.output
    assert "SEC-01" in result.stdout
    for secret in SECRETS:
        assert secret not in result.stdout and secret not in result.stderr


def test_a_recorded_plan_holds_no_secret_and_replays_the_same_verdicts(
        aws_path: Path, tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    hcloud = write(tmp_path, hcloud_plan(), "hcloud.json")
    _, live = scan_json(str(aws_path), str(hcloud), "--checks", "SEC-01", "--record",
                        str(snap))
    text = snap.read_text()
    for secret in SECRETS:
        assert secret not in text
    _, replayed = scan_json(str(snap), "--checks", "SEC-01")
    assert verdicts(replayed) == verdicts(live)
    assert verdicts(live)["hcloud_server.leaky"][0] == "fail"


def test_plain_configuration_is_judged_and_its_values_never_recorded(tmp_path: Path) -> None:
    """`posture scan infra/` (.tf, no plan): a literal user data is scanned the same way, and
    the configuration's values are redacted as a plan's are (before, they were recorded in
    clear: `--record` wrote the user data, the Lambda environment)."""
    (tmp_path / "main.tf").write_text(f'''
provider "aws" {{
  region = "eu-central-1"
}}
resource "aws_instance" "app" {{
  ami           = "ami-1"
  instance_type = "t3.micro"
  user_data     = "#!/bin/sh\\nexport DB_PASSWORD={DB_PASSWORD}\\n"
}}
resource "aws_lambda_function" "fn" {{
  function_name = "fn"
  environment {{
    variables = {{
      STAGE   = "prod"
      API_KEY = "{ENV_SECRET}"
    }}
  }}
}}
''')
    snap = tmp_path / "snap.json"
    _, doc = scan_json(str(tmp_path), "--checks", "SEC-01", "--record", str(snap))
    got = verdicts(doc)
    assert got["aws_instance.app"][0] == "fail"
    assert got["aws_lambda_function.fn"][0] == "fail"
    assert "environment.variables.API_KEY" in got["aws_lambda_function.fn"][1]
    text = snap.read_text()
    assert DB_PASSWORD not in text and ENV_SECRET not in text


def test_a_plan_section_read_before_plans_were_scanned_is_an_error_never_a_pass(
        aws_path: Path) -> None:
    """A plan section without what the scan found (a snapshot recorded by a posture that did
    not scan plans): SEC-01 cannot rest on it: the resources' `plaintext_secrets` is
    unread, and the engine says error."""
    from providers.terraform import PROVIDER

    sections, _ = PROVIDER.read_file(aws_path, {})
    for entry in sections[0].items("resources"):
        entry.pop("sec01", None)
    inventory = PROVIDER.normalize(sections[0])
    clean = next(r for r in inventory.resources
                 if r.properties["iac"]["address"] == "aws_instance.clean")
    assert "plaintext_secrets" in clean.unknown
    assert clean.unknown["plaintext_secrets"].opens


def test_a_planned_user_data_gzip_bomb_is_an_error_not_a_pass(tmp_path: Path) -> None:
    """user_data_base64 of 16 KB of gzip expanding to 5 MB (past scanner.user_data's
    bound): decoded whole before (the bound now stops it), a harmless script passed; the
    rest is not scanned, so SEC-01 is an error, as live."""
    bomb = gzip.compress(b"#!/bin/bash\n" + b"echo ready\n" * ((5 << 20) // 11), 9)
    rs = [res("aws_instance.bomb", {"ami": "ami-1", "instance_type": "t3.micro",
                                    "user_data_base64": b64(bomb)}, unknown={"id": True})]
    _, doc = scan_json(str(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))),
                       "--checks", "SEC-01")
    status, message = verdicts(doc)["aws_instance.bomb"]
    assert status == "error"
    assert "not scanned whole" in message
