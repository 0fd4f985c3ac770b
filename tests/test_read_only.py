"""The collectors only read: the local API servers see GET (and, on Azure, Resource Graph
queries) and nothing else.

A full `posture record` of every collection (no --checks) against the Hetzner API server and
the ARM server; their request logs hold every request whatever its method (the servers
refuse and log POST, PUT, PATCH, DELETE, HEAD and OPTIONS). Hetzner is read with GET list
calls only, Azure with GET only (no `listKeys`, which is a POST and returns secrets), but for
one documented read-only POST: an Azure Resource Graph query (`--azure-resource-graph`),
`POST {endpoint}/providers/Microsoft.ResourceGraph/resources?api-version=...` and nothing
else. On Azure a `ReadOnlyGuard` pipeline policy refuses any other method before it leaves
the process (the Resource Graph client's guard lets exactly that query URL through): the
case that needs it is a subscription where a resource provider is not registered, where
azure-mgmt-core would POST `.../providers/<namespace>/register`.

On AWS, a full `posture record aws` of two regions goes through the recording proxy in front
of the moto server (tests/aws_proxy.py), which logs every request the collector sends before
moto sees it: each names an operation (the query or JSON action; for REST services, S3,
Lambda, GuardDuty, Backup, Bedrock and CloudFront, the operation whose method and URI
template botocore's model gives), and every one is a Describe, List or Get operation; the
REST ones are GET requests (the query and JSON protocols POST every call, reads included).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import botocore  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]
import pytest
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from providers.aws.apis import APIS
from providers.azure.apis import SPECS
from providers.azure.collect import ReadOnlyGuard, ReadOnlyViolation
from providers.azure.graph import GRAPH_API, GRAPH_PATH
from providers.hetzner.apis import PATHS
from tests import aws_estate
from tests.aws_proxy import AwsProxy, protocol_of, start_moto
from tests.azure_arm_server import ArmServer, sections_of
from tests.fault_harness import aws_env
from tests.hcloud_server import HcloudServer
from tests.helpers import ROOT, SEED002, run

SUB0 = "0b1f6471-1bf0-4dda-aec3-000000000000"
SUB1 = "5d2f8c71-7a3e-4c1b-9d0e-000000000001"
AZURE_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.read-only-test-token"
HCLOUD_TOKEN = "hcloud-read-only-token-0123456789abcdef0123456789abcdef0123456789"


def test_a_full_hetzner_collection_makes_only_get_requests(tmp_path: Path) -> None:
    doc = json.loads(SEED002.read_text())
    data = {k: v["global"] for k, v in doc["sections"][0]["collections"].items()}
    with HcloudServer(data, token=HCLOUD_TOKEN) as api:
        out = tmp_path / "s.json"
        result = run("record", "hetzner", "-o", str(out),
                     env={"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": HCLOUD_TOKEN})
        assert result.exit_code == 0, result.stderr
        requests = list(api.requests)
    assert requests
    assert {method for method, _ in requests} == {"GET"}
    read = {urlsplit(path).path.removeprefix("/v1/") for _, path in requests}
    assert read == {path.lstrip("/") for path, _ in PATHS.values()}  # every collection


def azure_env(arm: ArmServer) -> dict[str, str]:
    return {"POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": AZURE_TOKEN,
            "REQUESTS_CA_BUNDLE": arm.ca_file, "POSTURE_RETRY_BASE_SECONDS": "0.01"}


def test_a_full_azure_collection_makes_only_get_requests(tmp_path: Path) -> None:
    seeds = ROOT / "fixtures" / "azure"
    data = {**sections_of(seeds / "seed000-azure.json"),
            **sections_of(seeds / "seed001-azure.json")}
    with ArmServer(data, token=AZURE_TOKEN) as arm:
        out = tmp_path / "s.json"
        result = run("record", "azure", "-o", str(out), env=azure_env(arm))
        assert result.exit_code == 0, result.stderr
        requests = list(arm.requests)
    assert len(requests) > 50
    assert {method for method, _ in requests} == {"GET"}
    snap = json.loads(out.read_text())
    for section in snap["sections"]:  # every collection of every subscription was read
        assert section["errors"] == []
        # (but the resource list, read only for checks that read nothing else: RES-01 alone
        # reads it, GET only too, in tests/test_azure_plan.py)
        assert {s.name for s in SPECS} - {"Microsoft.Resources/resources"} <= set(
            section["collections"]), section["account"]


def test_an_unregistered_namespace_is_not_registered_by_a_post(tmp_path: Path) -> None:
    """ARM's 409 MissingSubscriptionRegistration makes azure-mgmt-core POST a registration;
    the read-only guard refuses it in-process: the server sees no POST, the collection is an
    error (not_found), the rest is read."""
    with ArmServer(sections_of(ROOT / "fixtures" / "azure" / "seed000-azure.json"),
                   token=AZURE_TOKEN) as arm:
        arm.fail("microsoft.keyvault/vaults", 409, "MissingSubscriptionRegistration",
                 message="The subscription is not registered to use namespace "
                         "'Microsoft.KeyVault'. See https://aka.ms/rps-not-found for how to "
                         "register subscriptions.")
        result = run("scan", "azure", "--subscription", SUB0, "--checks", "ENC-03",
                     "--format", "json", "--no-timestamps", env=azure_env(arm))
        requests = list(arm.requests)
    assert {method for method, _ in requests} == {"GET"}, requests
    doc = json.loads(result.stdout)
    errors = {(e["collection"], e["reason"]) for e in doc["errors"]}
    # the vaults, and their keys that could not be listed without them
    assert errors == {("Microsoft.KeyVault/vaults", "not_found"),
                      ("Microsoft.KeyVault/vaults/keys", "not_found")}, doc["errors"]
    message = next(e["message"] for e in doc["errors"]
                   if e["collection"] == "Microsoft.KeyVault/vaults")
    assert "refused POST" in message and message.endswith("/Microsoft.KeyVault/register)")
    assert result.exit_code == 3


def test_a_full_azure_collection_with_resource_graph_posts_only_graph_queries(
        tmp_path: Path) -> None:
    seeds = ROOT / "fixtures" / "azure"
    data = {**sections_of(seeds / "seed000-azure.json"),
            **sections_of(seeds / "seed001-azure.json")}
    with ArmServer(data, token=AZURE_TOKEN) as arm:
        out = tmp_path / "s.json"
        result = run("record", "azure", "--azure-resource-graph", "on", "-o", str(out),
                     env=azure_env(arm))
        assert result.exit_code == 0, result.stderr
        requests = list(arm.requests)
    assert {method for method, _ in requests} == {"GET", "POST"}
    posts = {path.split("#")[0] for method, path in requests if method == "POST"}
    assert posts == {f"{GRAPH_PATH}?api-version={GRAPH_API}"}
    snap = json.loads(out.read_text())
    for section in snap["sections"]:
        assert section["errors"] == []
        # (but the resource list, read only for checks that read nothing else: RES-01 alone
        # reads it, GET only too, in tests/test_azure_plan.py)
        assert {s.name for s in SPECS} - {"Microsoft.Resources/resources"} <= set(
            section["collections"]), section["account"]


GRAPH_URL = f"https://management.azure.com{GRAPH_PATH}?api-version={GRAPH_API}"


@pytest.mark.parametrize(("method", "url"), [
    ("POST", "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/"
             "Microsoft.Storage/storageAccounts/a/listKeys?api-version=2023-01-01"),
    ("POST", "https://management.azure.com/subscriptions/s/providers/Microsoft.ResourceGraph/"
             "register?api-version=2021-04-01"),
    ("POST", f"https://management.azure.com{GRAPH_PATH}History?api-version={GRAPH_API}"),
    ("POST", f"https://management.azure.com{GRAPH_PATH}/x?api-version={GRAPH_API}"),
    ("POST", f"https://management.azure.com{GRAPH_PATH}/../../subscriptions/s/providers/"
             f"Microsoft.KeyVault/register?api-version={GRAPH_API}"),
    ("POST", f"https://management.azure.com{GRAPH_PATH.lower()}?api-version={GRAPH_API}"),
    ("POST", f"https://management.azure.com{GRAPH_PATH}"),
    ("POST", f"{GRAPH_URL}&$expand=x"),
    ("POST", f"{GRAPH_URL}&api-version=2022-10-01"),
    ("POST", f"https://management.azure.com.evil.example{GRAPH_PATH}?api-version={GRAPH_API}"),
    ("POST", f"http://management.azure.com{GRAPH_PATH}?api-version={GRAPH_API}"),
    ("PUT", GRAPH_URL),
    ("PATCH", GRAPH_URL),
    ("DELETE", GRAPH_URL),
])
def test_the_guard_refuses_every_write_and_every_other_post(method: str, url: str) -> None:
    with pytest.raises(ReadOnlyViolation):
        guarded(ReadOnlyGuard(graph_endpoint="https://management.azure.com"), method, url)


def test_the_guard_lets_through_exactly_a_resource_graph_query() -> None:
    graph_guard = ReadOnlyGuard(graph_endpoint="https://management.azure.com")
    assert guarded(graph_guard, "POST", GRAPH_URL) == "sent"
    assert guarded(graph_guard, "GET", "https://management.azure.com/subscriptions") == "sent"
    with pytest.raises(ReadOnlyViolation):  # the other clients' guard: GET only
        guarded(ReadOnlyGuard(), "POST", GRAPH_URL)


def guarded(guard: ReadOnlyGuard, method: str, url: str) -> object:
    class Sent:
        def send(self, request: object) -> str:
            return "sent"

    guard.next = Sent()  # type: ignore[assignment]
    return guard.send(PipelineRequest(HttpRequest(method, url), PipelineContext(None)))


def test_a_graph_query_answered_409_registers_no_namespace(tmp_path: Path) -> None:
    """azure-mgmt-core's registration policy would POST `.../Microsoft.ResourceGraph/register`
    on a 409 MissingSubscriptionRegistration; the query's subscriptions are read with REST."""
    with ArmServer(sections_of(ROOT / "fixtures" / "azure" / "seed000-azure.json"),
                   token=AZURE_TOKEN) as arm:
        arm.fail("/providers/microsoft.resourcegraph/resources", 409,
                 "MissingSubscriptionRegistration",
                 message="The subscription is not registered to use namespace "
                         "'Microsoft.ResourceGraph'.")
        result = run("scan", "azure", "--subscription", SUB0, "--checks", "NET-04",
                     "--azure-resource-graph", "on", "--format", "json", "--no-timestamps",
                     env=azure_env(arm))
        requests = list(arm.requests)
    assert {path.split("#")[0] for method, path in requests if method != "GET"} == {
        f"{GRAPH_PATH}?api-version={GRAPH_API}"}
    assert json.loads(result.stdout)["errors"] == []
    assert any("/providers/microsoft.compute/virtualmachines" in p.lower() for _, p in requests)


def test_a_full_aws_collection_makes_only_describe_list_get_calls(tmp_path: Path) -> None:
    moto, url = start_moto()
    try:
        aws_estate.build(url)
        with AwsProxy(moto, url) as proxy:
            out = tmp_path / "s.json"
            result = run("record", "aws", "--regions", "eu-central-1,eu-west-1", "-o", str(out),
                         env=aws_env(proxy))
            calls = list(proxy.calls)
    finally:
        moto.stop()
    assert result.exit_code == 0, result.stderr
    assert len(calls) > 100
    operations = {(c.service, c.operation) for c in calls}
    writes = sorted(f"{s}:{op}" for s, op in operations
                    if not op.startswith(("Describe", "List", "Get")))
    assert writes == []
    rest = {c.method for c in calls if protocol_of(c.service) in ("rest-json", "rest-xml")}
    assert rest == {"GET"}
    session = botocore.session.get_session()

    def operation(service: str, method: str) -> str:
        model = session.get_service_model(service)
        return next(o for o in model.operation_names if botocore.xform_name(o) == method)

    declared = {operation(a.service, a.method) for a in APIS} | {"GetCallerIdentity"}
    seen = {op for _, op in operations}
    assert seen <= declared, sorted(seen - declared)  # nothing it does not declare
    roots = {operation(a.service, a.method) for a in APIS if a.parent is None}
    assert roots <= seen, sorted(roots - seen)  # every list call of every collection was made
    snap = json.loads(out.read_text())
    assert snap["sections"][0]["errors"] == []
