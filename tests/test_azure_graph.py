"""The Azure Resource Graph fast path (`--azure-resource-graph`), with the real
azure-mgmt-resourcegraph and azure-mgmt clients against the local HTTPS ARM server, which
answers Resource Graph queries over the same resources it lists (tests/azure_arm_server.py).

The fast path must not change a verdict: the same findings, claims and errors with and
without it on every Azure estate the server serves, and wherever it cannot give the whole
answer (a truncated result, a paging loop, a 403, throttling that persists, a namespace the
caller may not read, which Resource Graph would silently leave out), REST reads it instead.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from providers.azure import graph
from scanner.pages import PaginationError
from tests import azure_shapes, fault_harness
from tests.azure_arm_server import ArmServer, copies, sections_of
from tests.helpers import ROOT, claims_of, findings_of, run

SEED000 = ROOT / "fixtures" / "azure" / "seed000-azure.json"
SEED001 = ROOT / "fixtures" / "azure" / "seed001-azure.json"
SEED004 = ROOT / "fixtures" / "generic" / "seed004" / "seed004-azure.json"
SUB0 = "0b1f6471-1bf0-4dda-aec3-000000000000"
SUB1 = "5d2f8c71-7a3e-4c1b-9d0e-000000000001"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-graph-token"
GRAPH = "/providers/microsoft.resourcegraph/resources"
ESTATES: dict[str, Any] = {
    "seed000+seed001": lambda: {**sections_of(SEED000), **sections_of(SEED001)},
    "seed004": lambda: sections_of(SEED004),
    "vendor-bodies": azure_shapes.estate,
}


@pytest.fixture
def arm() -> Iterator[ArmServer]:
    with ArmServer({**sections_of(SEED000), **sections_of(SEED001)}, token=TOKEN) as server:
        yield server


def scan(arm: ArmServer, mode: str, *args: str) -> tuple[int, dict[str, Any]]:
    arm.requests.clear()
    result = run("scan", "azure", "--format", "json", "--no-timestamps",
                 "--azure-resource-graph", mode, *args, env={
                     "POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                     "REQUESTS_CA_BUNDLE": arm.ca_file, "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert "Traceback" not in result.stderr
    return result.exit_code, json.loads(result.stdout)


def judged(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a scan concluded: findings (without the collection time some evidence carries),
    claims and errors."""
    findings = [{k: ({e: x for e, x in v.items() if e != "as_of"} if k == "evidence"
                     and isinstance(v, dict) else v) for k, v in f.items()}
                for f in findings_of(dict(doc))]
    return {"findings": findings, "claims": claims_of(dict(doc)), "errors": doc["errors"]}


def posts(arm: ArmServer) -> list[str]:
    return [p.split("#")[0] for m, p in arm.requests if m == "POST"]


def root_lists(arm: ArmServer) -> set[str]:
    """The subscription-level list calls of collections Resource Graph serves."""
    served = {n.lower() for n in graph.SERVED}
    out = set()
    for method, path in arm.requests:
        parts = path.split("?")[0].lower().split("/")
        if (method == "GET" and len(parts) == 6 and parts[3] == "providers"
                and f"{parts[4]}/{parts[5]}" in served):
            out.add(f"{parts[4]}/{parts[5]}")
    return out


@pytest.mark.parametrize("estate", sorted(ESTATES))
def test_the_fast_path_gives_the_same_findings_on_every_estate(estate: str) -> None:
    with ArmServer(ESTATES[estate](), token=TOKEN) as arm:
        code_off, off = scan(arm, "off")
        rest_calls = len(arm.requests)
        assert not posts(arm)
        code_on, on = scan(arm, "on")
        assert posts(arm), "the fast path was not taken"
        assert root_lists(arm) == set()  # no REST list of a collection Resource Graph served
        assert len(arm.requests) < rest_calls
    assert (code_on, judged(on)) == (code_off, judged(off))
    assert on["errors"] == []


def test_recorded_objects_are_the_rest_bodies(arm: ArmServer, tmp_path: Any) -> None:
    """Field by field, what the fast path records is what the REST lists answered, but for
    `etag` (no Resource Graph column; posture reads none)."""
    env = {"POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
           "REQUESTS_CA_BUNDLE": arm.ca_file}
    snaps = {}
    for mode in ("off", "on"):
        out = tmp_path / f"{mode}.json"
        assert run("record", "azure", "--azure-resource-graph", mode, "-o", str(out),
                   env=env).exit_code == 0
        snaps[mode] = [s["collections"] for s in json.loads(out.read_text())["sections"]]

    def without_etag(cols: Any) -> Any:
        return {name: {r: [{k: v for k, v in o.items() if k != "etag"} for o in objs]
                       for r, objs in regions.items()} for name, regions in cols.items()}

    assert [without_etag(c) for c in snaps["on"]] == [without_etag(c) for c in snaps["off"]]


def test_queries_are_paged_with_the_skip_token_until_the_last_page(arm: ArmServer) -> None:
    _, off = scan(arm, "off")
    _, on = scan(arm, "on")
    assert judged(on) == judged(off)
    bodies = arm.graph_requests
    tokens = [b["options"].get("$skipToken") for b in bodies]
    assert len(bodies) > 10 and tokens.count(None) == 2  # one first page per table
    assert {b["query"].split(" ")[0] for b in bodies} == {"Resources", "ResourceContainers"}
    assert all(b["options"]["$top"] == graph.PAGE_ROWS for b in bodies)
    assert all(sorted(b["subscriptions"]) == sorted([SUB0, SUB1]) for b in bodies)


@pytest.mark.parametrize("fault", ["truncated", "repeat-token", "short"])
def test_an_incomplete_graph_answer_is_read_again_with_rest_never_taken_as_whole(
        arm: ArmServer, fault: str) -> None:
    _, off = scan(arm, "off")
    arm.graph_fault = fault
    _, on = scan(arm, "on")
    assert posts(arm)
    assert "microsoft.compute/virtualmachines" in root_lists(arm)  # REST read them instead
    assert judged(on) == judged(off)


def test_an_incomplete_graph_answer_and_a_failing_rest_list_are_an_error_for_that_list(
        arm: ArmServer) -> None:
    arm.graph_fault = "truncated"
    arm.fail("microsoft.network/networksecuritygroups", 403, "AuthorizationFailed")
    code, doc = scan(arm, "on", "--subscription", SUB0, "--checks", "NET-04")
    assert [(e["collection"], e["reason"]) for e in doc["errors"]] == [
        ("Microsoft.Network/networkSecurityGroups", "denied")]
    passed = [f["resource"].rsplit("/", 1)[-1] for f in findings_of(doc) if f["status"] == "pass"]
    assert passed == ["vm-worker"]  # decided by its Standard public IP alone, as over REST
    assert code in (1, 3)


def test_a_denied_graph_query_falls_back_to_rest_for_its_subscriptions(arm: ArmServer) -> None:
    _, off = scan(arm, "off")
    arm.deny_graph(SUB1)
    _, on = scan(arm, "on")
    assert posts(arm) and root_lists(arm)
    assert judged(on) == judged(off)


def test_throttling_of_a_query_is_retried_after_retry_after(arm: ArmServer) -> None:
    _, off = scan(arm, "off")
    arm.fail(GRAPH, 429, "TooManyRequests", times=2, retry_after=0)
    _, on = scan(arm, "on")
    assert judged(on) == judged(off)
    assert root_lists(arm) == set()  # retried, not abandoned
    arm.fail(GRAPH, 429, "TooManyRequests", retry_after=0)  # persists: REST instead
    _, again = scan(arm, "on", "--max-retries", "1")
    assert judged(again) == judged(off) and root_lists(arm)


def test_throttling_without_retry_after_waits_for_the_graph_quota_to_reset(
        arm: ArmServer) -> None:
    """Resource Graph's 429 says when its quota resets (x-ms-user-quota-resets-after); the
    query is retried then, as a GET would be, not abandoned to REST."""
    import time

    _, off = scan(arm, "off")
    arm.fail(GRAPH, 429, "RateLimiting", times=1,
             headers={"x-ms-user-quota-remaining": "0",
                      "x-ms-user-quota-resets-after": "00:00:01"})
    started = time.monotonic()
    _, on = scan(arm, "on", "--retry-base-seconds", "0.01")
    assert time.monotonic() - started >= 1.0
    assert judged(on) == judged(off)
    assert root_lists(arm) == set()


def test_a_namespace_the_caller_may_not_read_is_an_error_not_an_empty_list(
        arm: ArmServer) -> None:
    """Resource Graph leaves out what the caller may not read; REST answers 403. The fast
    path reads the caller's permissions first and leaves such a collection to REST."""
    arm.deny_namespace(SUB1, "Microsoft.Sql")
    _, off = scan(arm, "off", "--checks", "ENC-01")
    _, on = scan(arm, "on", "--checks", "ENC-01")
    assert {(e["account"], e["collection"], e["reason"]) for e in on["errors"]} >= {
        (SUB1, "Microsoft.Sql/servers", "denied")}
    assert judged(on) == judged(off)
    sql = [p for _, p in arm.requests if p.lower().startswith(
        f"/subscriptions/{SUB1}/providers/microsoft.sql/servers")]
    assert sql  # asked with REST, where the denial shows


def test_unreadable_permissions_leave_that_subscription_to_rest(arm: ArmServer) -> None:
    _, off = scan(arm, "off")
    arm.fail(f"/subscriptions/{SUB1}/providers/microsoft.authorization/permissions", 403,
             "AuthorizationFailed")
    _, on = scan(arm, "on")
    assert judged(on) == judged(off)
    assert all(b["subscriptions"] == [SUB0] for b in arm.graph_requests)


def test_auto_takes_the_fast_path_above_three_subscriptions() -> None:
    estate = copies(sections_of(SEED000), 4)
    with ArmServer(estate, token=TOKEN) as arm:
        _, four = scan(arm, "auto", "--checks", "NET-04")
        assert posts(arm)
        scan(arm, "auto", "--checks", "NET-04", *(
            a for sub in sorted(estate)[:3] for a in ("--subscription", sub)))
        assert not posts(arm)
        _, off = scan(arm, "off", "--checks", "NET-04")
    assert judged(four) == judged(off)
    assert len({f["account"] for f in findings_of(four)}) == 4


def test_checks_that_read_no_served_collection_send_no_query(arm: ArmServer) -> None:
    scan(arm, "on", "--checks", "IAM-01")  # role assignments: another table, REST
    assert not posts(arm)


# --- the paging loop itself ------------------------------------------------------------------


def pages(*bodies: Any) -> Any:
    answers = list(bodies)
    return lambda token: answers.pop(0)


def row(n: int) -> dict[str, Any]:
    return {"id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d{n}"}


def test_read_rows_follows_tokens_and_checks_the_total() -> None:
    rows = graph.read_rows(pages(
        {"totalRecords": 3, "data": [row(1), row(2)], "$skipToken": "a"},
        {"totalRecords": 3, "data": [row(3)], "resultTruncated": "false"}), "q", 10)
    assert len(rows) == 3


@pytest.mark.parametrize(("bodies", "error"), [
    ([{"data": [row(1)], "resultTruncated": "true"}], graph.GraphIncomplete),
    ([{"data": [row(1)], "resultTruncated": True}], graph.GraphIncomplete),
    ([{"totalRecords": 2, "data": [row(1)]}], graph.GraphIncomplete),
    ([{"data": [row(1)], "$skipToken": "a"}, {"data": [row(2)], "$skipToken": "a"}],
     PaginationError),
    ([{"data": [row(n)], "$skipToken": str(n)} for n in range(5)], PaginationError),
    ([{"data": {"rows": []}}], graph.GraphIncomplete),
    ([{"data": [{"name": "no id"}]}], graph.GraphIncomplete),
    ([None], graph.GraphIncomplete),
])
def test_read_rows_never_calls_an_incomplete_answer_complete(
        bodies: list[Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        graph.read_rows(pages(*bodies), "q", 3)


def test_rows_become_the_rest_bodies() -> None:
    got = graph.as_arm({"id": "/subscriptions/S/x", "name": "x", "type": "microsoft.web/sites",
                        "location": "westeurope", "resourceGroup": "rg", "subscriptionId": "S",
                        "tenantId": "t", "kind": "", "sku": None, "managedBy": "",
                        "properties": {"httpsOnly": False}, "tags": {}}, "Microsoft.Web/sites")
    assert got == {"id": "/subscriptions/S/x", "name": "x", "type": "Microsoft.Web/sites",
                   "location": "westeurope", "properties": {"httpsOnly": False}, "tags": {}}


def test_permissions_are_read_with_wildcards_and_not_actions() -> None:
    reader = [{"actions": ["*/read"], "notActions": []}]
    assert graph.permitted(reader, "Microsoft.Sql/servers/read")
    no_sql = [{"actions": ["*/read"], "notActions": ["Microsoft.Sql/*"]}]
    assert not graph.permitted(no_sql, "microsoft.sql/servers/read")
    assert graph.permitted([*no_sql, {"actions": ["Microsoft.Sql/servers/read"]}],
                           "Microsoft.Sql/servers/read")
    assert not graph.permitted([{"actions": ["Microsoft.Web/*"]}], "Microsoft.Sql/servers/read")
    assert not graph.permitted([], "Microsoft.Sql/servers/read")


@pytest.mark.parametrize(("header", "wait"), [
    ("00:00:03", 3.0), ("00:01:30", 60.0), ("01:00:00", 60.0), ("3", None), ("x:y:z", None),
    ("nan:00:00", None), ("-00:00:05", None), ("", None)])
def test_the_graph_quota_reset_header_gives_the_wait(header: str, wait: float | None) -> None:
    from azure.core.pipeline import PipelineContext, PipelineRequest, PipelineResponse
    from azure.core.rest import HttpRequest

    from providers.azure.collect import GraphRetryPolicy

    class Answer:
        headers = {"x-ms-user-quota-resets-after": header} if header else {}
        status_code = 429

    request = PipelineRequest(HttpRequest("POST", "https://x/"), PipelineContext(None))
    response = PipelineResponse(request.http_request, Answer(), request.context)  # type: ignore[arg-type]
    assert GraphRetryPolicy().get_retry_after(response) == wait


# --- under the fault harness (tests/fault_harness.py) ------------------------------------------


def _graph_down(server: ArmServer, collection: str, how: str) -> None:
    """The collection's REST list and every Resource Graph query stay down (503) or denied
    (403): the fast path falls back to REST, which records the error."""
    fault_harness.azure_down(server, collection, how)
    fault_harness.azure_down(server, GRAPH, how)


AZURE_GRAPH = dataclasses.replace(
    fault_harness.AZURE, down=_graph_down,
    args=(*fault_harness.AZURE.args, "--azure-resource-graph", "on"))


@pytest.mark.parametrize("seed", [1, 2])
def test_transient_faults_on_queries_and_lists_leave_the_findings(seed: int) -> None:
    """429s, 5xx, slow answers and dropped connections on Resource Graph queries (POSTs) are
    retried like GETs: each fault costs one more call, the result is the clean scan's."""
    o = fault_harness.transient(AZURE_GRAPH, seed, 0.3)
    assert o.completed, o.stderr
    assert o.identical and o.false_passes == [] and o.unexpected_errors == [], o.row()
    assert o.retried == sum(o.faults.values()) == o.calls - o.clean_calls > 0, o.row()


@pytest.mark.parametrize(("collection", "how"), [
    ("Microsoft.Network/networkSecurityGroups", "down"), ("Microsoft.Sql/servers", "deny")])
def test_a_collection_down_with_resource_graph_down_is_an_error_for_exactly_its_scope(
        collection: str, how: str) -> None:
    o = fault_harness.down(AZURE_GRAPH, collection, how, seed=3, rate=0.2)
    assert o.completed, o.stderr
    assert o.false_passes == [] and o.unexpected_errors == [], o.row()
    assert o.changed_outside_scope == [], o.row()
    assert o.exit_code == 3, o.row()
    assert o.errors and o.missing_errors == [], o.row()


def test_a_named_config_file_turns_the_fast_path_on(arm: ArmServer, tmp_path: Any) -> None:
    config = tmp_path / "posture.toml"
    config.write_text('[scan]\nazure-resource-graph = "on"\n')
    result = run("--config", str(config), "scan", "azure", "--subscription", SUB0, "--checks",
                 "NET-04", "--format", "json", env={
                     "POSTURE_AZURE_ARM_ENDPOINT": arm.url, "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                     "REQUESTS_CA_BUNDLE": arm.ca_file})
    assert result.exit_code == 1, result.stderr
    assert posts(arm)


def test_a_failed_query_falls_back_for_exactly_the_subscriptions_it_named(
        arm: ArmServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph, "SUBSCRIPTIONS_PER_QUERY", 1)  # one query per subscription
    _, off = scan(arm, "off")
    arm.deny_graph(SUB1)
    _, on = scan(arm, "on")
    assert judged(on) == judged(off)
    assert {tuple(b["subscriptions"]) for b in arm.graph_requests} == {(SUB0,), (SUB1,)}
    lists = {p.split("/")[2] for m, p in arm.requests if m == "GET" and p.count("/") == 5
             and p.lower().split("?")[0].endswith("/providers/microsoft.compute/virtualmachines")}
    assert lists == {SUB1}  # SUB0's lists came from Resource Graph
