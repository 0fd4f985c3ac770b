"""SEC-01 on AWS: ECS task definitions' container environments (every container of every
ACTIVE revision), Lambda environments Lambda could not return, read over moto server through
the real collector and CLI; secret values never reach the report, the log or the snapshot."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws_estate import REGION as MOTO_REGION
from tests.test_aws_vendor_bodies import ACCOUNT, REGION, findings, section

SECRET = "Zq8vN3rT6wY1uB5eK0pL4sD7gH2jF9xC"  # a plaintext value the ruleset flags by its name
MOTO_PROFILE = '[profile]\nname = "aws-secrets"\n[parameters]\njurisdictions = ["DE"]\n'


def _register(url: str) -> None:
    from tests import aws_estate

    ecs = aws_estate.client(url, "ecs")
    ssm_ref = f"arn:aws:ssm:{aws_estate.REGION}:{ACCOUNT}:parameter/db-password"
    # revision 1: the secret sits in the SECOND container (the first is clean)
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128,
         "environment": [{"name": "LOG_LEVEL", "value": "info"}]},
        {"name": "sidecar", "image": "busybox", "memory": 64,
         "environment": [{"name": "PORT", "value": "8080"},
                         {"name": "DB_PASSWORD", "value": SECRET}]}],
        tags=[{"key": k, "value": v} for k, v in (
            ("owner", "web-team"), ("environment", "prod"), ("data-classification", "internal"))])
    # revision 2: the secret moved to Parameter Store (`secrets` valueFrom), revision 1
    # stays ACTIVE (and readable) until it is deregistered
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128,
         "environment": [{"name": "LOG_LEVEL", "value": "info"}]},
        {"name": "sidecar", "image": "busybox", "memory": 64,
         "environment": [{"name": "PORT", "value": "8080"},
                         {"name": "DB_PASSWORD_ARN", "value": ssm_ref}],
         "secrets": [{"name": "DB_PASSWORD", "valueFrom": ssm_ref}]}])
    # a deregistered revision with a secret: INACTIVE, not listed (status=ACTIVE)
    ecs.register_task_definition(family="old", containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128,
         "environment": [{"name": "API_TOKEN", "value": SECRET}]}])
    ecs.deregister_task_definition(taskDefinition="old:1")


def _mime(script: str) -> str:
    """A cloud-init MIME multi-part archive (as `cloud-init devel make-mime` writes it): a
    cloud-config part and a shell script part in base64 transfer encoding."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    archive = MIMEMultipart()
    archive.attach(MIMEText("#cloud-config\npackages: [nginx]\n", "cloud-config"))
    archive.attach(MIMEText(script, "x-shellscript", "utf-8"))  # utf-8: base64 encoded
    return archive.as_string()


def _gzip_bomb() -> bytes:
    """User data EC2 accepts (under 16 KB) that decompresses to more than posture decodes:
    a harmless script of 5 MB, gzip-compressed."""
    import gzip

    data = gzip.compress(b"#!/bin/bash\n" + b"echo ready\n" * ((5 << 20) // 11), 9)
    assert len(data) < 16 << 10
    return data


def _late_mime_header() -> str:
    """A MIME message cloud-init reads as one (\"mime-version:\" in its first 4096 bytes)
    whose first header is neither Content-Type nor MIME-Version, its one part base64."""
    payload = base64.b64encode(b"#!/bin/bash\nexport DB_PASSWORD=s3cr3t!x\n").decode()
    return ("X-Launched-By: pipeline\nMIME-Version: 1.0\nContent-Type: text/x-shellscript\n"
            f"Content-Transfer-Encoding: base64\n\n{payload}\n")


def _utf16_part() -> str:
    from email.mime.multipart import MIMEMultipart
    from email.mime.nonmultipart import MIMENonMultipart

    archive = MIMEMultipart()
    part = MIMENonMultipart("text", "x-shellscript", charset="utf-16")
    part.set_payload(base64.b64encode("#!/bin/bash\nexport DB_PASSWORD=s3cr3t!x\n"
                                      .encode("utf-16")).decode())
    part["Content-Transfer-Encoding"] = "base64"
    archive.attach(part)
    return archive.as_string()


def _bad_crc() -> bytes:
    """gzip whose trailer (CRC-32) is wrong: every byte of the script decompresses (zcat
    prints it, then complains); the secret is in the user data all the same."""
    import gzip

    data = bytearray(gzip.compress(b"#!/bin/bash\nexport DB_PASSWORD=s3cr3t!x\n"))
    data[-8] ^= 0xFF
    return bytes(data)


# Instances whose user data an attacker shaped (SEC-01 must never pass them).
HOSTILE_USER_DATA: dict[str, str | bytes] = {
    "gzip-bomb": _gzip_bomb(), "late-mime-header": _late_mime_header(),
    "utf16-part": _utf16_part(), "bad-crc": _bad_crc()}


def _launch(url: str) -> None:
    from tests import aws_estate

    ec2 = aws_estate.client(url, "ec2")
    for name, user_data in (
            ("mime-clean", _mime("#!/bin/bash\nyum install -y nginx && systemctl enable "
                                 "--now nginx\n")),
            ("mime-secret", _mime("#!/bin/bash\nexport DB_PASSWORD=s3cr3t!x\n")),
            # cloud-init's own keys whose names say "auth"/"passwd", holding flags
            ("cloud-config-flags", "#cloud-config\nssh_pwauth: false\nchpasswd:\n"
                                   "  expire: true\ndisable_root: true\n"),
            *HOSTILE_USER_DATA.items()):
        ec2.run_instances(ImageId=aws_estate.AMI, MinCount=1, MaxCount=1, UserData=user_data,
                          TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": "Name", "Value": name}]}])


def _functions(url: str) -> None:
    import io
    import zipfile

    from tests import aws_estate

    role = aws_estate.client(url, "iam").create_role(
        RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws_estate.client(url, "lambda")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return None\n")
    for name in ("rotated", "clean"):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                            Handler="index.handler", Code={"ZipFile": code.getvalue()},
                            Environment={"Variables": {"QUEUE": "jobs"}})
    # version 1 of `rotated` was published with the secret; $LATEST no longer holds it
    lam.update_function_configuration(FunctionName="rotated", Environment={
        "Variables": {"QUEUE": "jobs", "DB_PASSWORD": SECRET}})
    lam.publish_version(FunctionName="rotated")
    lam.update_function_configuration(FunctionName="rotated", Environment={
        "Variables": {"QUEUE": "jobs"}})
    lam.publish_version(FunctionName="clean")


@pytest.fixture(scope="module")
def moto_ecs() -> Iterator[Any]:
    from tests.aws_proxy import serving, start_moto

    moto, url = start_moto()
    _register(url)
    _launch(url)
    _functions(url)
    with serving(moto, url) as proxy:
        yield proxy


def _scan(proxy: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str
          ) -> tuple[dict[str, dict[str, Any]], str]:
    from tests.aws_estate import REGION as MOTO_REGION
    from tests.helpers import findings_of, run
    from tests.test_aws_collector import env

    for k, v in env(proxy).items():
        monkeypatch.setenv(k, v)
    profile = tmp_path / "p.toml"
    profile.write_text(MOTO_PROFILE)
    result = run("scan", "aws", "--regions", MOTO_REGION, "--profile", str(profile),
                 "--checks", "SEC-01,INV-02", "--format", "json", "--no-timestamps", *args)
    assert result.exit_code in (0, 1, 2, 3), result.stderr
    doc = json.loads(result.stdout)
    got = {f"{f['check']} {f['resource_name']}": f for f in findings_of(doc)}
    return got, result.stdout + result.stderr


@pytest.fixture(scope="module")
def full_scan(moto_ecs: Any, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[dict[str, dict[str, Any]], str, str]:
    """One scan of the estate (its findings, its output and log, its recorded snapshot)."""
    tmp = tmp_path_factory.mktemp("scan")
    with pytest.MonkeyPatch.context() as mp:
        got, text = _scan(moto_ecs, mp, tmp, "--record", str(tmp / "rec.json"))
    return got, text, (tmp / "rec.json").read_text()


def test_secret_in_any_container_of_any_active_task_definition_revision_fails_sec01(
        full_scan: tuple[dict[str, dict[str, Any]], str, str]) -> None:
    got, text, recorded = full_scan
    assert got["SEC-01 web:1"]["status"] == "fail"
    assert got["SEC-01 web:1"]["evidence"]["fields"] == [
        "containerDefinitions[sidecar].environment.DB_PASSWORD"]
    # a `secrets` reference and an ARN value are not plaintext secrets
    assert got["SEC-01 web:2"]["status"] == "pass"
    assert "SEC-01 old:1" not in got  # deregistered: INACTIVE, not listed
    # the tags DescribeTaskDefinition returns (include=TAGS) are its labels
    assert (got["INV-02 web:1"]["status"], got["INV-02 web:2"]["status"]) == ("pass", "fail")
    for where in (text, recorded):
        assert SECRET not in where
    assert "containerDefinitions[sidecar].environment.DB_PASSWORD" in recorded


def test_secret_in_a_published_lambda_version_fails_sec01_though_latest_is_clean(
        full_scan: tuple[dict[str, dict[str, Any]], str, str]) -> None:
    got, text, recorded = full_scan
    assert got["SEC-01 rotated"]["status"] == "fail"
    assert got["SEC-01 rotated"]["evidence"]["fields"] == [
        "version 1: Environment.Variables.DB_PASSWORD"]
    assert got["SEC-01 clean"]["status"] == "pass"
    assert SECRET not in text + recorded


def test_every_page_of_task_definitions_is_read(
        moto_ecs: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """ListTaskDefinitions answers at most 100 ARNs a page (nextToken): a revision on the
    second page is judged too. moto answers one page: the proxy splits it in two."""
    from tests.aws_proxy import Fault

    base = f"arn:aws:ecs:eu-central-1:{ACCOUNT}:task-definition"

    def page(arns: list[str], token: str | None) -> Any:
        return lambda call: {"taskDefinitionArns": arns, **({"nextToken": token} if token
                                                             else {})}

    moto_ecs.reset()
    listing = (lambda c: c.operation == "ListTaskDefinitions")  # noqa: E731
    pages = [Fault(listing, "", 200, answer=page([f"{base}/web:2"], "p2"), times=1),
             Fault(listing, "", 200, answer=page([f"{base}/web:1"], None))]
    moto_ecs.faults.extend(pages)
    try:
        got, _ = _scan(moto_ecs, monkeypatch, tmp_path)
    finally:
        moto_ecs.reset()
    assert [p.hits for p in pages] == [1, 1]
    assert (got["SEC-01 web:2"]["status"], got["SEC-01 web:1"]["status"]) == ("pass", "fail")


def test_user_data_mime_archive_is_scanned_part_by_part_decoded(
        full_scan: tuple[dict[str, dict[str, Any]], str, str]) -> None:
    """A base64-encoded part of a cloud-init MIME archive is decoded before it is scanned:
    the secret in it is named (not the encoded line), a harmless script is not a secret
    (its encoded line looked like a random token)."""
    got, text, recorded = full_scan
    assert got["SEC-01 mime-secret"]["status"] == "fail"
    assert got["SEC-01 mime-secret"]["evidence"]["fields"] == ["UserData:DB_PASSWORD"]
    assert got["SEC-01 mime-clean"]["status"] == "pass"
    assert "s3cr3t!x" not in text + recorded


def test_user_data_decoding_more_than_the_bound_is_a_sec01_error_not_a_pass(
        full_scan: tuple[dict[str, dict[str, Any]], str, str]) -> None:
    """16 KB of gzip that decompress to 5 MB (more than posture decodes): the rest is not
    scanned, so the instance is not known to be free of secrets."""
    got, _, recorded = full_scan
    finding = got["SEC-01 gzip-bomb"]
    assert finding["status"] == "error"
    assert "was not scanned whole: it decodes to more than" in json.dumps(finding)
    assert '"unscanned":"it decodes to more than' in recorded


def test_user_data_cloud_init_reads_as_mime_is_decoded_as_mime(
        full_scan: tuple[dict[str, dict[str, Any]], str, str]) -> None:
    """What cloud-init reads as a MIME message (\"mime-version:\" anywhere in the first 4096
    bytes, one part or many) is decoded as one: a secret in its base64 part is seen."""
    got, text, recorded = full_scan
    assert got["SEC-01 late-mime-header"]["status"] == "fail"
    assert got["SEC-01 late-mime-header"]["evidence"]["fields"] == ["UserData:DB_PASSWORD"]
    assert "s3cr3t!x" not in text + recorded


def test_user_data_part_in_its_declared_utf16_charset_is_decoded_before_the_scan(
        full_scan: tuple[dict[str, dict[str, Any]], str, str]) -> None:
    got, _, _ = full_scan
    assert got["SEC-01 utf16-part"]["status"] == "fail"
    assert got["SEC-01 utf16-part"]["evidence"]["fields"] == ["UserData:DB_PASSWORD"]


def test_user_data_gzip_with_a_bad_checksum_is_scanned_as_far_as_it_decompresses(
        full_scan: tuple[dict[str, dict[str, Any]], str, str]) -> None:
    """A wrong CRC-32 in the gzip trailer: every byte decompressed holds the secret (it
    was scanned as the base64 text: pass); the secret found fails, whatever was cut."""
    got, _, recorded = full_scan
    assert got["SEC-01 bad-crc"]["status"] == "fail"
    assert got["SEC-01 bad-crc"]["evidence"]["fields"] == ["UserData:DB_PASSWORD"]
    assert '"unscanned":"its gzip data is corrupt' in recorded


def test_a_flag_under_a_secret_looking_name_is_no_secret(
        full_scan: tuple[dict[str, dict[str, Any]], str, str]) -> None:
    """`ssh_pwauth: false` (cloud-init: password login off) is a flag, not a password: the
    name rule ("auth") flagged it, so a hardened image's user data failed SEC-01."""
    got, _, _ = full_scan
    assert got["SEC-01 cloud-config-flags"]["status"] == "pass", got[
        "SEC-01 cloud-config-flags"]


def test_task_definition_that_could_not_be_described_is_a_sec01_error_not_a_pass(
        moto_ecs: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    moto_ecs.reset()
    moto_ecs.fail(lambda c: c.operation == "DescribeTaskDefinition", "AccessDeniedException",
                  400)
    try:
        got, _ = _scan(moto_ecs, monkeypatch, tmp_path, "--allow-partial")
    finally:
        moto_ecs.reset()
    assert got["SEC-01 web:2"]["status"] == "error"
    assert got["SEC-01 web:1"]["status"] == "error"


def test_instance_whose_user_data_could_not_be_read_is_a_sec01_error_not_left_out(
        moto_ecs: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    moto_ecs.reset()
    moto_ecs.fail(lambda c: c.operation == "DescribeInstanceAttribute", "UnauthorizedOperation")
    try:
        got, _ = _scan(moto_ecs, monkeypatch, tmp_path, "--allow-partial")
    finally:
        moto_ecs.reset()
    assert (got["SEC-01 mime-clean"]["status"], got["SEC-01 mime-secret"]["status"]) == (
        "error", "error")


def test_snapshot_recorded_before_ecs_was_read_is_a_sec01_error_for_the_account(
        tmp_path: Path) -> None:
    """A snapshot without the ECS collections (recorded by an older posture) cannot say the
    account's task definitions are free of secrets: SEC-01 reports the missing collection;
    the verdicts it holds (an instance's user data) stand."""
    s = section({"ec2.describe_instances": [], "ec2.describe_instance_attribute": [],
                 "lambda.list_functions": [], "lambda.list_tags": [],
                 "lambda.list_versions_by_function": []})
    got = [(f["status"], f["message"]) for f in findings(s, tmp_path, "SEC-01")]
    assert ("error", "could not tell: ecs.list_task_definitions was not collected") in got


def _lambda(environment: dict[str, Any]) -> dict[str, Any]:
    """A function as ListFunctions returns it (Lambda API Reference, FunctionConfiguration)."""
    return {"FunctionName": "my-function",
            "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:my-function",
            "Runtime": "nodejs22.x", "Role": f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
            "Handler": "index.handler", "Version": "$LATEST", "Environment": environment}


@pytest.mark.parametrize("environment,status", [
    ({"Variables": {"BUCKET": "<redacted>"}}, "pass"),
    # KMS could not decrypt the variables: Lambda answers the error, not the variables
    ({"Error": {"ErrorCode": "KMSAccessDeniedException",
                "Message": "Lambda was unable to decrypt the environment variables because "
                           "KMS access was denied."}}, "error"),
])
def test_lambda_environment_lambda_could_not_return_is_a_sec01_error_not_a_pass(
        tmp_path: Path, environment: dict[str, Any], status: str) -> None:
    s = section({"lambda.list_functions": [_lambda(environment)], "lambda.list_tags": [],
                 "lambda.list_versions_by_function": [  # no version published
                     {"request": {"FunctionName": "my-function"}, "response": {"Versions": []}}],
                 "ecs.list_task_definitions": [], "ecs.describe_task_definition": [],
                 "ec2.describe_instances": [], "ec2.describe_instance_attribute": []})
    got = {f["status"] for f in findings(s, tmp_path, "SEC-01")
           if f["resource_name"] == "my-function"}
    assert got == {status}


def test_snapshot_recorded_before_lambda_versions_were_read_makes_a_function_pass_an_error(
        tmp_path: Path) -> None:
    s = section({"lambda.list_functions": [_lambda({"Variables": {"BUCKET": "<redacted>"}})],
                 "lambda.list_tags": [], "ecs.list_task_definitions": [],
                 "ecs.describe_task_definition": [], "ec2.describe_instances": [],
                 "ec2.describe_instance_attribute": []})
    got = {f["resource_name"] or f["resource"].rsplit("/", 1)[-1]: (f["status"], f["message"])
           for f in findings(s, tmp_path, "SEC-01")}
    assert got["my-function"][0] == "error", got
    assert got["lambda.list_versions_by_function"] == (
        "error", "could not tell: lambda.list_versions_by_function was not collected")


def test_bundled_aws_estates_record_the_ecs_reads_and_judge_sec01_without_errors() -> None:
    """The bundled AWS estates record the ECS calls (no task definitions): their digests
    hold and SEC-01 has no unread scope."""
    from tests.helpers import findings_of, run

    for path in ("fixtures/aws/seed002-aws.json", "fixtures/generic/seed003/seed003-aws.json"):
        result = run("scan", path, "--checks", "SEC-01", "--format", "json",
                     "--no-timestamps")
        assert result.exit_code in (0, 1), result.stderr
        statuses = {f["status"] for f in findings_of(json.loads(result.stdout))}
        assert "error" not in statuses and statuses, (path, statuses)


def _rescan(recorded: str, tmp_path: Path, edit: Any) -> dict[str, dict[str, Any]]:
    """The recorded snapshot edited by `edit(collections)`, re-sealed and scanned."""
    from tests.fuzz_mutations import sealed_text
    from tests.helpers import findings_of, run

    doc = json.loads(recorded)
    edit(doc["sections"][0]["collections"])
    path = tmp_path / "edited.json"
    path.write_bytes(sealed_text(doc, 2))
    result = run("scan", str(path), "--checks", "SEC-01", "--format", "json",
                 "--no-timestamps")
    assert result.exit_code in (0, 1, 3), result.stderr
    return {f"{f['check']} {f['resource_name']}": f
            for f in findings_of(json.loads(result.stdout))}


def test_a_user_data_scan_that_is_not_a_list_of_names_is_an_error_not_a_pass(
        full_scan: tuple[dict[str, dict[str, Any]], str, str], tmp_path: Path) -> None:
    def edit(collections: dict[str, Any]) -> None:
        for env in collections["ec2.describe_instance_attribute"][MOTO_REGION]:
            env["flagged"] = None
    got = _rescan(full_scan[2], tmp_path, edit)
    assert got["SEC-01 mime-secret"]["status"] == "error"  # was pass


def test_a_function_whose_versions_answer_is_missing_is_an_error_not_a_pass(
        full_scan: tuple[dict[str, dict[str, Any]], str, str], tmp_path: Path) -> None:
    """ListVersionsByFunction was read, its answer for `rotated` (version 1 holds the
    secret) is not in the snapshot, names no function, or holds no Versions list (the
    collector always stores one): its versions are not known."""
    def drop(collections: dict[str, Any]) -> None:
        envs = collections["lambda.list_versions_by_function"][MOTO_REGION]
        envs[:] = [e for e in envs if "rotated" not in json.dumps(e["request"])]

    def unname(collections: dict[str, Any]) -> None:
        for env in collections["lambda.list_versions_by_function"][MOTO_REGION]:
            env["request"]["FunctionName"] = None

    def no_answer(collections: dict[str, Any]) -> None:
        for env in collections["lambda.list_versions_by_function"][MOTO_REGION]:
            env["response"] = None

    def no_list(collections: dict[str, Any]) -> None:
        for env in collections["lambda.list_versions_by_function"][MOTO_REGION]:
            del env["response"]["Versions"]
    assert full_scan[0]["SEC-01 rotated"]["status"] == "fail"
    for edit in (drop, unname, no_answer, no_list):
        got = _rescan(full_scan[2], tmp_path, edit)
        assert got["SEC-01 rotated"]["status"] == "error", edit  # was pass
        assert got["SEC-01 clean"]["status"] == ("pass" if edit is drop else "error")
