"""SEC-01 on a VM's user data, which Resource Manager answers only to the VM's own GET with
`$expand=userData` ("User data can be queried via GET VM/VMSS API with $expand option",
https://learn.microsoft.com/azure/virtual-machines/user-data), never in the VM list.

Microsoft's VirtualMachine_Get example (tests/data/azure, MIT; its `userData` is
"Example UserData", base64) served by the local HTTPS ARM server, which like Resource Manager
leaves `userData` out of lists and out of a GET without the expand, to the real azure-mgmt
clients. One live scan serves most tests (module fixture)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.azure.apis import SECRET_MARK, USER_DATA
from scanner import snapshot
from tests.azure_arm_server import ArmServer
from tests.azure_shapes import SUB, example, renamed
from tests.helpers import findings_of, run

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-user-data-token"
# a GitHub token in a cloud-init file (gitleaks' github-pat rule); never in any output
SECRET = "ghp_R8v2Kq9XzT4mWb7Lp3Nd6Hs1Yc5Fj0Ga2Qe8"
SCRIPT = ("#cloud-config\nwrite_files:\n  - path: /etc/app.env\n"
          f"    content: GITHUB_TOKEN={SECRET}\n")


def machine(name: str, user_data: str | bytes | None = None) -> dict[str, Any]:
    """Microsoft's VirtualMachine_Get example as `name` in westeurope, no NIC; its userData
    ("Example UserData") replaced by `user_data` (base64) when given."""
    body = renamed(example("VirtualMachineGet.json"), "{subscription-id}", SUB)
    body = renamed(body, "myVM", name)
    body["location"] = "westeurope"
    body["properties"]["networkProfile"]["networkInterfaces"] = []
    if user_data is not None:
        raw = user_data.encode() if isinstance(user_data, str) else user_data
        body["properties"]["userData"] = base64.b64encode(raw).decode()
    return body


def gzip_mime(script: str) -> bytes:
    """User data as a cloud-init MIME archive (its script part base64), gzip-compressed."""
    body = ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"==B==\"\n\n"
            "--==B==\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\n"
            f"{base64.b64encode(script.encode()).decode()}\n--==B==--\n")
    return gzip.compress(body.encode())


FLAGS = "#cloud-config\nssh_pwauth: false\ndisable_root: true\n"


def custom_data(name: str) -> dict[str, Any]:
    """A VM object that carries its `osProfile.customData` (the field a template sets): the
    secret script, base64 (the example's own userData left as published)."""
    body = machine(name)
    body["properties"]["osProfile"]["customData"] = base64.b64encode(SCRIPT.encode()).decode()
    return body


def estate() -> dict[str, dict[str, list[dict[str, Any]]]]:
    return {SUB: {"Microsoft.Compute/virtualMachines": [
        machine("vm-secret-user-data", SCRIPT), machine("vm-example-user-data"),
        machine("vm-denied"), custom_data("vm-secret-custom-data"),
        machine("vm-gzip-user-data", gzip_mime(f"#!/bin/sh\nexport GITHUB_TOKEN={SECRET}\n")),
        machine("vm-flags-user-data", FLAGS)]}}


def scan(arm: ArmServer, *args: str) -> dict[str, Any]:
    result = run("scan", "azure", "--format", "json", "--no-timestamps", *args,
                 env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                      "REQUESTS_CA_BUNDLE": arm.ca_file, "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert result.exit_code in (0, 1, 3), result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def sec01(doc: dict[str, Any]) -> dict[str, str]:
    return {f["resource"].rsplit("/", 1)[-1]: f["status"] for f in findings_of(doc)
            if f["check"] == "SEC-01"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path,
                                                                    ArmServer]]:
    snap = tmp_path_factory.mktemp("userdata") / "snap.json"
    with ArmServer(estate(), token=TOKEN, page_size=100) as arm:
        # the GET of one VM is denied (a custom role without it, or the VM deleted meanwhile)
        arm.fail("/virtualmachines/vm-denied", 403, "AuthorizationFailed")
        yield scan(arm, "--checks", "SEC-01", "--record", str(snap)), snap, arm


def test_a_secret_in_user_data_fails_sec01_though_the_vm_list_never_answers_it(
        live: tuple[dict[str, Any], Path, ArmServer]) -> None:
    """The list answers no userData: SEC-01 passed the VM on nothing read. Now each VM is
    read with `$expand=userData`: the secret fails it; Microsoft's own example passes."""
    doc, _, arm = live
    got = sec01(doc)
    assert got["vm-secret-user-data"] == "fail", got
    assert got["vm-example-user-data"] == "pass", got
    (finding,) = [f for f in findings_of(doc) if f["check"] == "SEC-01"
                  and f["resource"].endswith("/vm-secret-user-data")]
    assert "userData" in finding["message"]
    expanded = [p for m, p in arm.requests if "$expand=userData" in p]
    assert {p.split("?")[0].rsplit("/", 1)[-1] for p in expanded} == {
        "vm-secret-user-data", "vm-example-user-data", "vm-denied", "vm-secret-custom-data",
        "vm-gzip-user-data", "vm-flags-user-data"}


def test_user_data_is_read_as_ec2_user_data_is_gzip_mime_and_flags_included(
        live: tuple[dict[str, Any], Path, ArmServer]) -> None:
    """One scanner for every cloud (scanner/secret_scan.py): gzip-compressed cloud-init MIME
    user data is decoded part by part (before: the compressed bytes were scanned, a pass),
    and the text is scanned, not its base64 (before: the base64 of a harmless cloud-config
    looked like a token to the ruleset, a fail)."""
    doc, _, _ = live
    got = sec01(doc)
    assert got["vm-gzip-user-data"] == "fail", got
    assert got["vm-flags-user-data"] == "pass", got


def test_the_collectors_marker_of_a_secret_survives_redaction(
        live: tuple[dict[str, Any], Path, ArmServer]) -> None:
    """The collector replaces custom data by "<redacted: secret-looking value found>", then
    redaction replaced that marker by "<redacted>" (the field's name says it holds a
    secret): SEC-01 passed a VM whose custom data held a token. Now the marker is kept."""
    doc, snap, _ = live
    assert sec01(doc)["vm-secret-custom-data"] == "fail"
    (section,) = json.loads(snap.read_text())["sections"]
    vms = {o["name"]: o for objs in section["collections"][
        "Microsoft.Compute/virtualMachines"].values() for o in objs}
    assert vms["vm-secret-custom-data"]["properties"]["osProfile"]["customData"] == SECRET_MARK


def test_a_vm_whose_user_data_get_failed_is_an_error_not_a_pass(
        live: tuple[dict[str, Any], Path, ArmServer]) -> None:
    doc, _, _ = live
    assert sec01(doc)["vm-denied"] == "error"


def test_the_snapshot_keeps_only_a_marker_of_the_user_data(
        live: tuple[dict[str, Any], Path, ArmServer]) -> None:
    _, snap, _ = live
    text = snap.read_text()
    assert SECRET not in text
    assert base64.b64encode(SCRIPT.encode()).decode() not in text
    (section,) = json.loads(text)["sections"]
    kept = {o["name"]: o for objs in section["collections"][USER_DATA].values() for o in objs}
    assert kept["vm-secret-user-data"]["properties"] == {"userData": SECRET_MARK}
    assert kept["vm-example-user-data"]["properties"] == {"userData": "<redacted>"}
    assert set(kept["vm-example-user-data"]) == {"id", "name", "type", "properties"}


def test_a_snapshot_recorded_before_user_data_was_read_gives_error_not_pass(
        live: tuple[dict[str, Any], Path, ArmServer], tmp_path: Path) -> None:
    """Replayed without the userData collection (a snapshot of an older posture), what the
    VMs' user data holds is unknown: SEC-01 is `error` for them, never `pass` (before: the
    VM list's objects, which hold no userData, were judged `pass`)."""
    _, snap, _ = live
    doc = json.loads(snap.read_text())
    for section in doc["sections"]:
        section["collections"].pop(USER_DATA)
        section["errors"] = [e for e in section["errors"] if e["collection"] != USER_DATA]
    doc["version"] = 1  # re-sealed in version 1's canonical form (still read and verified)
    doc["digest"]["value"] = snapshot.digest_of(doc)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    result = run("scan", str(old), "--checks", "SEC-01", "--format", "json", "--no-timestamps")
    assert result.exit_code in (0, 1, 3), result.stdout + result.stderr
    got = sec01(json.loads(result.stdout))
    # what was found stays found (unread user data could only add a secret)
    assert got == {"vm-denied": "error", "vm-example-user-data": "error",
                   "vm-secret-user-data": "error", "vm-secret-custom-data": "fail",
                   "vm-gzip-user-data": "error", "vm-flags-user-data": "error"}, got


def test_checks_that_do_not_read_secrets_make_no_user_data_calls() -> None:
    with ArmServer(estate(), token=TOKEN, page_size=100) as arm:
        scan(arm, "--checks", "IAM-03,VUL-01")
        assert not [p for m, p in arm.requests if "$expand" in p]


def test_the_recorded_snapshot_replays_the_same_sec01_verdicts(
        live: tuple[dict[str, Any], Path, ArmServer]) -> None:
    """What the snapshot keeps (the markers) judges as the live scan did: the secret found
    in user data still fails, the failed GET is still an error."""
    doc, snap, _ = live
    result = run("scan", str(snap), "--checks", "SEC-01", "--format", "json", "--no-timestamps")
    assert result.exit_code in (0, 1, 3), result.stdout + result.stderr
    replayed = sec01(json.loads(result.stdout))
    assert replayed == sec01(doc)
    assert replayed["vm-secret-user-data"] == "fail", replayed


def test_gzipped_user_data_is_decoded_and_a_bomb_is_an_error_not_a_pass() -> None:
    """cloud-init takes user data gzip-compressed (and as a MIME archive): a secret in gzip
    was base64-decoded to compressed bytes and passed; 16 KB of gzip expanding past
    posture's bound (scanner.user_data) passed too, now is not known clean: error."""
    import gzip

    def raw(name: str, data: bytes) -> dict[str, Any]:
        body = machine(name)
        body["properties"]["userData"] = base64.b64encode(data).decode()
        return body
    bomb = gzip.compress(b"#!/bin/bash\n" + b"echo ready\n" * ((5 << 20) // 11), 9)
    assert len(bomb) < 16 << 10
    vms = [raw("vm-gzip-secret", gzip.compress(SCRIPT.encode())), raw("vm-gzip-bomb", bomb)]
    with ArmServer({SUB: {"Microsoft.Compute/virtualMachines": vms}}, token=TOKEN,
                   page_size=100) as arm:
        got = sec01(scan(arm, "--checks", "SEC-01"))
    assert got == {"vm-gzip-secret": "fail", "vm-gzip-bomb": "error"}
