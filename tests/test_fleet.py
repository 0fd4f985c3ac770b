"""Fleet scans with the embedded process pool, through the real CLI, against the emulators:
an AWS Organization in moto (units assume a role into each member account), Azure
subscriptions and a management group on the local ARM server, two Hetzner projects with two
tokens. See tests/fleet_estate.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import fleet_estate
from tests.aws_proxy import start_moto
from tests.fleet_estate import AWS_ENV, PROFILE, AwsOrg, OrgProxy
from tests.helpers import SEED002, findings_of, run

HCLOUD_A = "hcloud-token-project-a-0123456789abcdef0123456789abcdef0123456789"
HCLOUD_B = "hcloud-token-project-b-0123456789abcdef0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def org() -> Iterator[tuple[OrgProxy, AwsOrg]]:
    moto, url = start_moto()
    made = fleet_estate.build_org(url, {"prod-a": "eu-central-1", "prod-b": "us-east-1",
                                        "sandbox-a": "eu-central-1"})
    proxy = OrgProxy(moto, url).start()
    try:
        yield proxy, made
    finally:
        proxy.stop()
        moto.stop()


@pytest.fixture
def aws(org: tuple[OrgProxy, AwsOrg], tmp_path: Path) -> Iterator[dict[str, Any]]:
    proxy, made = org
    proxy.reset()
    (tmp_path / "profile.toml").write_text(PROFILE)
    yield {"proxy": proxy, "org": made, "dir": tmp_path,
           "env": {**AWS_ENV, "AWS_ENDPOINT_URL": proxy.url}}
    proxy.reset()


def fleet_file(folder: Path, body: str) -> Path:
    path = folder / "fleet.toml"
    path.write_text(f'[fleet]\nname = "acme"\nprofile = "{folder / "profile.toml"}"\n{body}')
    return path


def fleet_scan(path: Path, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    store = path.parent / "history.sqlite"
    result = run("fleet", "scan", str(path), "--store", str(store), "--workers", "2",
                 "--format", "json", "--no-timestamps", "--retry-base-seconds", "0",
                 *args, env=env)
    doc = json.loads(result.stdout) if result.stdout.startswith("{") else {}
    return result.exit_code, doc, result.stderr


def accounts(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{a['provider']}:{a['account']}": a for a in doc["accounts"]}


# --- the fleet file -------------------------------------------------------------------------


@pytest.mark.parametrize("body, says", [
    ('[[hetzner]]\nproject = "web"\ntoken = "secret-in-file"\n', "never goes in the fleet"),
    ('[[aws]]\nrole_name = "R"\nregion = "x"\n', "unknown key(s) region"),
    ('[[aws]]\nrole_name = "R"\ninclude_accounts = ["12"]\n', "include_accounts: '12'"),
    ('[[hetzner]]\nproject = "web"\n', "exactly one of token_env and token_file"),
    ('[fleet]\nconcurrency = { gcp = 2 }\n', "unknown provider 'gcp'"),
    ("[fleet]\n", "names no source"),
    ("[[aws]\n", "not valid TOML"),
])
def test_a_bad_fleet_file_is_one_line_and_exit_2(tmp_path: Path, body: str, says: str) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(body)
    result = run("fleet", "scan", str(path), "--store", str(tmp_path / "h.sqlite"))
    assert result.exit_code == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "secret-in-file" not in result.stderr
    assert "Traceback" not in result.stderr


def test_permissions_fleet_prints_what_discovery_needs() -> None:
    doc = json.loads(run("permissions", "aws", "--fleet").stdout)
    calls = " ".join(c for v in doc["discovery"].values() for c in v)
    assert "organizations:ListAccounts" in calls and "sts:AssumeRole" in calls
    azure = json.loads(run("permissions", "azure", "--fleet").stdout)
    assert "managementGroups/descendants/read" in json.dumps(azure)


# --- AWS Organizations ------------------------------------------------------------------------


def test_discovery_lists_active_members_of_the_included_ous_only(aws: dict[str, Any]) -> None:
    made: AwsOrg = aws["org"]
    path = fleet_file(aws["dir"], f'[[aws]]\nrole_name = "{fleet_estate.ROLE}"\n'
                                  f'include_ous = ["{made.ous["sandbox"]}"]\n')
    result = run("fleet", "scan", str(path), "--list-units", env=aws["env"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == [f"aws:{made.accounts['sandbox-a']}", "sandbox-a"]
    # the whole organisation minus an OU: the management account and prod; closed-a (closed)
    # is never a unit
    path = fleet_file(aws["dir"], f'[[aws]]\nrole_name = "{fleet_estate.ROLE}"\n'
                                  f'exclude_ous = ["{made.ous["sandbox"]}"]\n')
    keys = [line.split()[0] for line in run(
        "fleet", "scan", str(path), "--list-units", env=aws["env"]).stdout.splitlines()]
    assert sorted(keys) == sorted(f"aws:{a}" for a in (
        fleet_estate.MANAGEMENT, made.accounts["prod-a"], made.accounts["prod-b"]))


def test_pool_scans_each_account_through_its_role_and_rolls_up_claims(
        aws: dict[str, Any]) -> None:
    made: AwsOrg = aws["org"]
    prod_a, prod_b, sandbox = (made.accounts[n] for n in ("prod-a", "prod-b", "sandbox-a"))
    body = (f'[[aws]]\nrole_name = "{fleet_estate.ROLE}"\nregions = ["eu-central-1"]\n'
            f'include_accounts = ["{prod_a}", "{sandbox}"]\n')
    # a role list in the environment (for `posture scan aws`) is not what a unit scans
    env = {**aws["env"], "POSTURE_AWS_ROLE_ARNS": f"arn:aws:iam::{prod_b}:role/Other"}
    code, doc, stderr = fleet_scan(fleet_file(aws["dir"], body), env, "--checks", "RES-01")
    assert code == 0, stderr
    views = accounts(doc)
    assert set(views) == {f"aws:{prod_a}", f"aws:{sandbox}"}
    assert all(v["status"] == "ok" for v in views.values())
    # each account's own bucket, read with its own assumed credentials
    buckets = {f["account"]: f["resource_name"] for f in findings_of(doc["result"])
               if f["check"] == "RES-01"}
    assert buckets == {prod_a: "data-prod-a", sandbox: "data-sandbox-a"}
    assert doc["claims"][0]["status"] == "verified"
    roles = sorted(c.path.split("#")[1] for c in aws["proxy"].calls
                   if c.action == "AssumeRole")
    assert roles == sorted(f"arn:aws:iam::{a}:role/{fleet_estate.ROLE}"
                           for a in (prod_a, sandbox))
    assert "[2/2]" in stderr  # a progress line per finished unit

    # one account with a bucket outside Germany: contradicted for the fleet, per account
    body = body.replace(f'"{sandbox}"]', f'"{sandbox}", "{prod_b}"]')
    code, doc, _ = fleet_scan(fleet_file(aws["dir"], body), aws["env"], "--checks", "RES-01")
    assert code == 1
    claim = doc["claims"][0]
    assert claim["status"] == "contradicted" and prod_b in claim["reason"]
    assert claim["accounts"] == {f"aws:{prod_a}": "verified", f"aws:{prod_b}": "contradicted",
                                 f"aws:{sandbox}": "verified"}
    assert accounts(doc)[f"aws:{prod_b}"]["claims"] == {"residency": "contradicted"}


def test_an_account_whose_role_cannot_be_assumed_is_error_and_the_others_complete(
        aws: dict[str, Any]) -> None:
    made: AwsOrg = aws["org"]
    prod_a, prod_b = made.accounts["prod-a"], made.accounts["prod-b"]
    aws["proxy"].fail(lambda c: c.action == "AssumeRole" and f"::{prod_b}:" in c.path,
                      "AccessDenied", message="not authorized to perform sts:AssumeRole")
    body = (f'[[aws]]\nrole_name = "{fleet_estate.ROLE}"\nregions = ["eu-central-1"]\n'
            f'include_ous = ["{made.ous["prod"]}"]\n')
    code, doc, stderr = fleet_scan(fleet_file(aws["dir"], body), aws["env"],
                                   "--checks", "RES-01")
    assert code == 3, stderr  # incomplete: one account could not be read
    views = accounts(doc)
    assert views[f"aws:{prod_a}"]["status"] == "ok"
    failed = views[f"aws:{prod_b}"]
    assert failed["status"] == "error" and "AccessDenied" in failed["message"]
    assert failed["attempts"] == 1  # a refusal is final: not retried
    assert doc["claims"][0]["status"] == "unknown"  # never verified with an account unread
    errors = [f for f in findings_of(doc["result"]) if f["account"] == prod_b]
    assert [(f["check"], f["status"]) for f in errors] == [("RES-01", "error")]
    assert "cannot assume role" in stderr


def test_table_and_html_show_every_account(aws: dict[str, Any]) -> None:
    made: AwsOrg = aws["org"]
    body = (f'[[aws]]\nrole_name = "{fleet_estate.ROLE}"\nregions = ["eu-central-1"]\n'
            f'include_ous = ["{made.ous["prod"]}"]\n')
    page = aws["dir"] / "fleet.html"
    result = run("fleet", "scan", str(fleet_file(aws["dir"], body)), "--store",
                 str(aws["dir"] / "h.sqlite"), "--checks", "RES-01", "--format", "table",
                 "--format", f"html:{page}", "--format", f"sarif:{aws['dir'] / 'f.sarif'}",
                 env=aws["env"])
    assert result.exit_code == 1, result.stderr
    for ident in (made.accounts["prod-a"], made.accounts["prod-b"]):
        assert ident in result.stdout and ident in page.read_text()
    assert "contradicted" in result.stdout
    sarif = json.loads((aws["dir"] / "f.sarif").read_text())
    assert sarif["runs"][0]["results"]


# --- Hetzner projects -------------------------------------------------------------------------


def hetzner_data() -> dict[str, list[dict[str, Any]]]:
    section = json.loads(SEED002.read_text())["sections"][0]
    return {name: regions["global"] for name, regions in section["collections"].items()}


def test_two_hetzner_projects_each_with_its_own_token(tmp_path: Path) -> None:
    token_file = tmp_path / "b.token"
    token_file.write_text(HCLOUD_B + "\n")
    (tmp_path / "profile.toml").write_text(PROFILE)
    with fleet_estate.HetznerProjects({"web": (HCLOUD_A, hetzner_data()),
                                       "empty": (HCLOUD_B, {})}) as api:
        path = fleet_file(tmp_path, '[[hetzner]]\nproject = "web"\ntoken_env = "TOKEN_WEB"\n'
                                    f'[[hetzner]]\nproject = "empty"\ntoken_file = '
                                    f'"{token_file}"\n')
        env = {"HCLOUD_ENDPOINT": api.url, "TOKEN_WEB": HCLOUD_A, "HCLOUD_TOKEN": ""}
        code, doc, stderr = fleet_scan(path, env, "--max-retries", "0")
    views = accounts(doc)
    assert set(views) == {"hetzner:web", "hetzner:empty"}, stderr
    assert all(v["status"] == "ok" for v in views.values())
    assert views["hetzner:web"]["counts"].get("pass", 0) > 0
    assert not views["hetzner:empty"]["counts"].get("pass")  # its token sees nothing
    store = (tmp_path / "history.sqlite").read_bytes()
    for secret in (HCLOUD_A, HCLOUD_B):
        assert secret not in json.dumps(doc) and secret not in stderr
        assert secret.encode() not in store
    del code


def test_a_missing_token_variable_is_an_error_for_that_project_only(tmp_path: Path) -> None:
    (tmp_path / "profile.toml").write_text(PROFILE)
    with fleet_estate.HetznerProjects({"web": (HCLOUD_A, hetzner_data())}) as api:
        path = fleet_file(tmp_path, '[[hetzner]]\nproject = "web"\ntoken_env = "TOKEN_WEB"\n'
                                    '[[hetzner]]\nproject = "other"\n'
                                    'token_env = "TOKEN_OTHER"\n')
        code, doc, _ = fleet_scan(path, {"HCLOUD_ENDPOINT": api.url, "TOKEN_WEB": HCLOUD_A},
                                  "--fail-on", "none")
    views = accounts(doc)
    assert code == 3  # incomplete
    assert views["hetzner:web"]["status"] == "ok"
    assert views["hetzner:other"]["status"] == "error"
    assert "TOKEN_OTHER" in views["hetzner:other"]["message"]


# --- history and diff across the fleet -------------------------------------------------------


def test_fleet_history_diff_and_only_new_since_the_last_run(tmp_path: Path) -> None:
    (tmp_path / "profile.toml").write_text(PROFILE)
    data = hetzner_data()
    with fleet_estate.HetznerProjects({"web": (HCLOUD_A, data)}) as api:
        path = fleet_file(tmp_path, '[[hetzner]]\nproject = "web"\ntoken_env = "TOKEN_WEB"\n')
        env = {"HCLOUD_ENDPOINT": api.url, "TOKEN_WEB": HCLOUD_A}
        _, first, _ = fleet_scan(path, env)
        # a new server outside Germany appears in the project
        server = json.loads(json.dumps(data["servers"][0]))
        server.update(id=999001, name="new-in-ashburn")
        server["location"].update(name="ash", country="US", city="Ashburn",
                                  network_zone="us-east")
        data["servers"].append(server)
        _, second, _ = fleet_scan(path, env, "--since", "last", "--only-new")
    new = [(f["check"], f["resource_name"]) for f in findings_of(second["result"])]
    assert ("RES-01", "new-in-ashburn") in new
    assert all(name == "new-in-ashburn" for _, name in new), new
    assert second["result"]["changes"]["new"]
    store = str(tmp_path / "history.sqlite")
    listing = run("fleet", "history", "--store", store)
    assert listing.exit_code == 0 and "acme" in listing.stdout
    diff = run("fleet", "diff", "previous", "last", "--store", store, "--format", "json",
               "--account", "hetzner:web")
    assert diff.exit_code == 1
    assert any("new-in-ashburn" in f["resource_name"]
               for f in json.loads(diff.stdout)["new"])
    # every account's scan is an ordinary scan of the store: `posture diff` works on it
    assert run("history", "--store", store).stdout.count("fleet-test") == 2
    assert first["run"]["id"] + 1 == second["run"]["id"]


# --- Azure subscriptions and management groups ----------------------------------------------

AZURE_TOKEN = "azure-fleet-test-token"
SUB_0 = "0b1f6471-1bf0-4dda-aec3-000000000000"  # fixtures/azure/seed000
SUB_1 = "5d2f8c71-7a3e-4c1b-9d0e-000000000001"  # fixtures/azure/seed001
SUB_2 = "7e3a9d82-8b4f-4d2c-8e1f-000000000002"  # empty


@pytest.fixture(scope="module")
def arm() -> Iterator[fleet_estate.ArmWithGroups]:
    from tests.azure_arm_server import sections_of

    root = Path(__file__).resolve().parents[1] / "fixtures" / "azure"
    sections = {**sections_of(root / "seed000-azure.json"),
                **sections_of(root / "seed001-azure.json"), SUB_2: {}}
    with fleet_estate.ArmWithGroups(sections, {"mg-prod": [SUB_0, SUB_2]},
                                    token=AZURE_TOKEN, page_size=1) as server:
        yield server


def azure_env(arm: Any) -> dict[str, str]:
    return {"POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": AZURE_TOKEN,
            "REQUESTS_CA_BUNDLE": arm.ca_file}


def test_azure_discovery_every_subscription_or_a_management_group(arm: Any,
                                                                  tmp_path: Path) -> None:
    (tmp_path / "profile.toml").write_text(PROFILE)
    path = fleet_file(tmp_path, f'[[azure]]\nexclude_subscriptions = ["{SUB_1}"]\n')
    listed = run("fleet", "scan", str(path), "--list-units", env=azure_env(arm))
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        f"azure:{SUB_0}", f"azure:{SUB_2}"], listed.stderr
    # the management group: its descendants (paged, one per page here), subscriptions only
    path = fleet_file(tmp_path, '[[azure]]\nmanagement_group = "mg-prod"\n')
    code, doc, stderr = fleet_scan(path, azure_env(arm), "--max-retries", "0")
    views = accounts(doc)
    assert set(views) == {f"azure:{SUB_0}", f"azure:{SUB_2}"}, stderr
    assert all(v["status"] == "ok" for v in views.values())
    assert {f["account"] for f in findings_of(doc["result"])
            if f["status"] in ("pass", "fail")} == {SUB_0}
    assert any("descendants" in p for _, p in arm.requests)
    path = fleet_file(tmp_path, '[[azure]]\nmanagement_group = "mg-none"\n')
    missing = run("fleet", "scan", str(path), "--list-units", env=azure_env(arm))
    assert missing.exit_code == 2 and "mg-none" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    del code


# --- the roll-up rule -----------------------------------------------------------------------


def test_a_claim_is_verified_for_the_fleet_only_when_every_account_verifies_it() -> None:
    from scanner.fleet.rollup import _fleet_claim
    from scanner.profile import Claim
    from scanner.result import ClaimResult, ClaimStatus

    claim = Claim(id="c", quote="q", checks=("RES-01",))

    def result(status: ClaimStatus) -> ClaimResult:
        return ClaimResult(claim, status, "", {}, ())

    def fleet(*statuses: ClaimStatus | None) -> str:
        per = {f"aws:{i}": (result(s) if s is not None else None)
               for i, s in enumerate(statuses)}
        return str(_fleet_claim(result(ClaimStatus.VERIFIED), per).claim.status)

    V, C, U = ClaimStatus.VERIFIED, ClaimStatus.CONTRADICTED, ClaimStatus.UNKNOWN
    assert fleet(V, V, V) == "verified"
    assert fleet(V, C, U) == "contradicted"  # a violation anywhere outranks the unknown
    assert fleet(V, V, U) == "unknown"  # e.g. nothing in scope there: not "every account"
    assert fleet(V, None) == "unknown"  # an account that could not be scanned
    assert fleet(ClaimStatus.NOT_VERIFIABLE, ClaimStatus.NOT_VERIFIABLE) == "not_verifiable"
    assert fleet(ClaimStatus.NOT_VERIFIABLE, V) == "unknown"
