"""Issue 15 item 6: pagination that never ends. A server that always answers `next_page=2`
(or a `nextLink` that repeats) makes the collection fail after a bounded number of requests,
recorded as failed (`invalid`), never as complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from providers.azure import collect as azure_collect
from providers.hetzner.collect import _next_page
from scanner import pages, snapshot
from scanner.pages import PageGuard, PaginationError
from tests.hcloud_server import HcloudServer
from tests.helpers import SEED002, run


def seed_data() -> dict[str, list[dict[str, Any]]]:
    doc = json.loads(SEED002.read_text())
    return {k: v["global"] for k, v in doc["sections"][0]["collections"].items()}


class LoopingServer(HcloudServer):
    """Answers every servers page with next_page=2: the issue's reproduction."""

    def _list(self, collection: str, query: dict[str, list[str]]) -> dict[str, Any]:
        body = super()._list(collection, query)
        if collection == "servers":
            body["meta"]["pagination"].update(next_page=2, last_page=None, total_entries=None)
        return body


def test_a_server_that_always_says_next_page_2_fails_the_collection(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    with LoopingServer(seed_data(), token="t0k3n") as api:
        result = run("record", "hetzner", "-o", str(out),
                     env={"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": "t0k3n"})
        server_requests = [p for _, p in api.requests if p.startswith("/v1/servers")]
    assert result.exit_code == 3  # a failed call recorded
    assert len(server_requests) <= 3
    section = snapshot.load(out).sections[0]
    errors = [e for e in section.errors if e["collection"] == "servers"]
    assert errors and errors[0]["reason"] == "invalid"
    assert "pagination loop" in errors[0]["message"]
    assert "servers" not in section.collections  # never recorded as complete


@pytest.mark.parametrize("pagination, page, count, needle", [
    ({"next_page": 1}, 1, 25, "points back"),
    ({"next_page": 7, "last_page": 4}, 3, 75, "past last_page"),
    ({"next_page": None, "total_entries": 10}, 1, 25, "more than the 10"),
    ({"next_page": "two"}, 1, 25, "not a page number"),
])
def test_hetzner_pagination_meta_is_honoured(pagination: dict[str, Any], page: int,
                                             count: int, needle: str) -> None:
    with pytest.raises(PaginationError, match=needle):
        _next_page("/servers", page, pagination, count)
    assert _next_page("/servers", 1, {"next_page": 2, "last_page": 2,
                                      "total_entries": 60}, 50) == 2


def test_page_cap_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pages.ENV, "3")
    guard = PageGuard("GET /x", pages.max_pages({}))
    for n in (1, 2, 3):
        guard.page(n)
    with pytest.raises(PaginationError, match="more than 3 pages"):
        guard.page(4)
    assert pages.max_pages({"max_pages": 9}) == 9


class _Http:
    def __init__(self, body: dict[str, Any]) -> None:
        self.status_code, self._text = 200, json.dumps(body)

    def text(self) -> str:
        return self._text


class _Response:
    def __init__(self, body: dict[str, Any]) -> None:
        self.http_response = _Http(body)


def test_azure_sdk_pager_stops_on_a_repeated_next_link() -> None:
    hook = azure_collect._Pages()
    loop = "https://management.azure.com/subscriptions/s/x?$skiptoken=1"
    hook(_Response({"value": [{"id": "a"}], "nextLink": loop}))  # type: ignore[arg-type]
    with pytest.raises(PaginationError, match="pagination loop"):
        hook(_Response({"value": [{"id": "b"}], "nextLink": loop}))  # type: ignore[arg-type]
    reason, message = azure_collect.classify(PaginationError("GET x: loop"))
    assert str(reason) == "invalid" and "loop" in message


def test_azure_raw_list_stops_on_a_repeated_next_link() -> None:
    calls: list[str] = []

    class Client:
        def send_request(self, request: Any) -> Any:
            calls.append(request.url)

            class R:
                def raise_for_status(self) -> None:
                    pass

                def json(self) -> dict[str, Any]:
                    return {"value": [{"id": "x"}], "nextLink": "https://arm/loop"}
            return R()

    spec = azure_collect.Spec("X/y", "raw", lambda c, p, s: ("GET", "https://arm/start"))
    with pytest.raises(PaginationError):
        azure_collect.run_call(spec, Client(), {}, "sub")
    assert len(calls) == 2
