"""The local Hetzner Cloud API (tests/hcloud_server.py) against the real `hcloud` client.

Every behaviour is checked through hcloud.Client (or raw HTTP where the client hides it), and
the served shapes are validated against the Hetzner Cloud OpenAPI description.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hcloud import APIException, Client

from tests.hcloud_server import (
    CERTIFICATE_ID,
    FIREWALL_ID,
    LOAD_BALANCER_ID,
    NETWORK_ID,
    PRIMARY_IP_ID,
    SERVER_DB,
    SERVER_WEB,
    SINGULAR,
    VOLUME_ID,
    HcloudServer,
    example_estate,
    match_label_selector,
)

# The schemas of Hetzner's OpenAPI description these tests use, in the repository (MIT
# licence; tests/data/README.md says where from): the tests never skip for want of it.
HCLOUD_OPENAPI = Path(__file__).resolve().parent / "data" / "hcloud-openapi-subset.json"
COLLECTIONS = ["servers", "firewalls", "networks", "load_balancers", "certificates", "volumes",
               "primary_ips", "floating_ips", "locations", "images"]


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def api() -> Iterator[HcloudServer]:
    with HcloudServer(example_estate()) as server:
        yield server


def client_for(api: HcloudServer, token: str | None = None) -> Client:
    client = Client(token=token or api.token, api_endpoint=api.url)
    # hcloud backs off up to 60 s between retries; tests need no waiting (private, test-only).
    client._client._retry_interval_func = lambda retries: 0.0
    return client


def raw_get(api: HcloudServer, path: str, token: str | None = None,
            **params: Any) -> requests.Response:
    headers = {} if token == "" else {"Authorization": f"Bearer {token or api.token}"}
    return requests.get(api.url + path, headers=headers, params=params, timeout=5)


def servers(count: int) -> list[dict[str, Any]]:
    """`count` copies of the example web server with ids 1..count."""
    base = example_estate()["servers"][0]
    return [{**copy.deepcopy(base), "id": i, "name": f"srv-{i}"} for i in range(1, count + 1)]


def query_of(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


# --------------------------------------------------------------------------- OpenAPI checks

# Fields the API returns and hcloud-python 2.27 requires (KeyError/TypeError without them) that
# the spec copy lacks; matched as path suffixes.
KNOWN_SPEC_GAPS = (
    ".services[].http.timeout_idle",
    ".server_type.locations[].available",
    ".server_type.locations[].recommended",
)
_REMOVAL = re.compile(r"will be removed after", re.IGNORECASE)


@cache
def spec_schemas() -> dict[str, Any]:
    return json.loads(HCLOUD_OPENAPI.read_text(encoding="utf-8"))["components"]["schemas"]


def flatten(schema: dict[str, Any]) -> dict[str, Any]:
    """Resolve $ref and merge allOf, keeping the wrapper's nullable/deprecated/description."""
    schemas = spec_schemas()
    out = {k: v for k, v in schema.items() if k not in ("$ref", "allOf")}
    parts = [schema] if "$ref" in schema else list(schema.get("allOf", []))
    for part in parts:
        ref = part.get("$ref")
        sub = flatten(schemas[ref.rsplit("/", 1)[-1]] if ref else part)
        for key, value in sub.items():
            if key == "properties":
                out["properties"] = {**sub["properties"], **out.get("properties", {})}
            elif key == "required":
                out["required"] = sorted({*out.get("required", []), *value})
            else:
                out.setdefault(key, value)
    return out


def removed(prop: dict[str, Any]) -> bool:
    """A deprecated property with an announced removal (e.g. `datacenter`)."""
    flat = flatten(prop)
    return bool(flat.get("deprecated") or prop.get("deprecated")) and bool(
        _REMOVAL.search(prop.get("description", "") + flat.get("description", ""))
    )


def conform(value: Any, schema: dict[str, Any], path: str, complete: bool = False) -> list[str]:
    """Problems of `value` against an OpenAPI schema; `complete`: every property present."""
    s = flatten(schema)
    if value is None:
        return [] if s.get("nullable") else [f"{path}: null is not allowed"]
    for union in ("oneOf", "anyOf"):
        if union in s:
            if any(not conform(value, option, path) for option in s[union]):
                return []
            return [f"{path}: matches none of {union}"]
    if "enum" in s and value not in s["enum"]:
        return [f"{path}: {value!r} not in {s['enum']}"]
    kind = s.get("type") or ("object" if "properties" in s else None)
    checks = {"string": str, "boolean": bool, "array": list, "object": dict}
    if kind in checks and not isinstance(value, checks[kind]):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    if kind in ("integer", "number") and (
        isinstance(value, bool) or not isinstance(value, int if kind == "integer" else int | float)
    ):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    problems: list[str] = []
    if kind == "array" and "items" in s:
        for i, item in enumerate(value):
            problems += conform(item, s["items"], f"{path}[{i}]")
    if kind == "object" and "properties" in s:
        props = s["properties"]
        wanted = props if complete else s.get("required", [])
        for name in wanted:
            if name not in value and not removed(props[name]):
                problems.append(f"{path}.{name}: missing")
        for name, item in value.items():
            if name in props:
                problems += conform(item, props[name], f"{path}.{name}")
            elif not re.sub(r"\[\d+\]", "[]", f"{path}.{name}").endswith(KNOWN_SPEC_GAPS):
                problems.append(f"{path}.{name}: not in the spec")
    return problems


def object_schema(collection: str) -> dict[str, Any]:
    singular = SINGULAR[collection]
    return spec_schemas()[f"get_{singular}_response"]["properties"][singular]


# --------------------------------------------------------------------------- pagination


def test_get_all_returns_every_server_across_pages() -> None:
    with HcloudServer({"servers": servers(60)}) as api:
        result = client_for(api).servers.get_all()
    assert [s.id for s in result] == list(range(1, 61))
    pages = [query_of(p) for p in api.paths() if p.startswith("/v1/servers")]
    assert [q["page"] for q in pages] == [["1"], ["2"]]
    assert all(q["per_page"] == ["50"] for q in pages)
    assert {m for m, _ in api.requests} == {"GET"}


def test_raw_pagination_meta_is_the_apis() -> None:
    with HcloudServer({"servers": servers(60)}) as api:
        client = client_for(api)
        page2 = client.request("GET", "/servers", params={"page": 2, "per_page": 25})
        page3 = client.request("GET", "/servers", params={"page": 3, "per_page": 25})
        first = client.request("GET", "/servers")
        capped = client.request("GET", "/servers", params={"per_page": 100})
        beyond = client.request("GET", "/servers", params={"page": 9})
    assert page2["meta"]["pagination"] == {
        "page": 2, "per_page": 25, "previous_page": 1, "next_page": 3, "last_page": 3,
        "total_entries": 60,
    }
    assert [s["id"] for s in page2["servers"]] == list(range(26, 51))
    assert page3["meta"]["pagination"]["next_page"] is None
    assert page3["meta"]["pagination"]["previous_page"] == 2
    assert len(page3["servers"]) == 10
    assert first["meta"]["pagination"] == {
        "page": 1, "per_page": 25, "previous_page": None, "next_page": 2, "last_page": 3,
        "total_entries": 60,
    }
    assert capped["meta"]["pagination"]["per_page"] == 50
    assert len(capped["servers"]) == 50
    assert beyond["servers"] == []
    assert beyond["meta"]["pagination"]["next_page"] is None


def test_empty_collection_has_one_last_page(api: HcloudServer) -> None:
    body = client_for(api).request("GET", "/floating_ips")
    assert body == {"floating_ips": [], "meta": {"pagination": {
        "page": 1, "per_page": 25, "previous_page": None, "next_page": None, "last_page": 1,
        "total_entries": 0,
    }}}


@pytest.mark.parametrize("params", [{"page": 0}, {"page": "x"}, {"per_page": 0},
                                    {"sort": "size:asc"}])
def test_bad_list_parameters_are_invalid_input(api: HcloudServer, params: dict[str, Any]) -> None:
    with pytest.raises(APIException) as info:
        client_for(api).request("GET", "/servers", params=params)
    assert info.value.code == "invalid_input"
    assert info.value.details["fields"][0]["name"] == next(iter(params))


# --------------------------------------------------------------------------- the example estate


def test_example_estate_parses_through_client_domain_objects(api: HcloudServer) -> None:
    client = client_for(api)
    servers_ = {s.id: s for s in client.servers.get_all()}
    firewalls = client.firewalls.get_all()
    load_balancers = client.load_balancers.get_all()
    networks = client.networks.get_all()
    certificates = client.certificates.get_all()
    volumes = client.volumes.get_all()
    primary_ips = client.primary_ips.get_all()
    floating_ips = client.floating_ips.get_all()
    locations = client.locations.get_all()

    web, db = servers_[SERVER_WEB], servers_[SERVER_DB]
    assert web.public_net.ipv4.ip == "203.0.113.10"
    assert web.public_net.primary_ipv4.id == PRIMARY_IP_ID
    assert web.public_net.firewalls[0].firewall.id == FIREWALL_ID
    assert web.location.name == "fsn1"
    assert web.private_net[0].network.id == NETWORK_ID
    assert db.public_net.ipv4 is None
    assert [v.id for v in db.volumes] == [VOLUME_ID]
    assert db.backup_window == "22-02"

    (firewall,) = firewalls
    assert firewall.rules[0].port == "22"
    assert firewall.rules[2].protocol == "icmp"
    assert firewall.applied_to[0].server.id == SERVER_WEB

    (lb,) = load_balancers
    assert lb.services[0].protocol == "https"
    assert lb.services[0].http.timeout_idle == 60
    assert [c.id for c in lb.services[0].http.certificates] == [CERTIFICATE_ID]
    assert lb.targets[0].server.id == SERVER_WEB
    assert lb.targets[0].use_private_ip is True

    (network,) = networks
    assert sorted(s.id for s in network.servers) == [SERVER_WEB, SERVER_DB]
    assert network.subnets[0].ip_range == "10.0.1.0/24"

    (certificate,) = certificates
    assert certificate.type == "managed"
    assert certificate.status.issuance == "completed"
    # hcloud-python drops `used_by` (and servers'/networks' `load_balancers`): raw JSON keeps it.
    raw = client.request("GET", f"/certificates/{CERTIFICATE_ID}")["certificate"]
    assert raw["used_by"] == [{"id": LOAD_BALANCER_ID, "type": "load_balancer"}]

    (volume,) = volumes
    assert volume.server.id == SERVER_DB
    assert volume.location.name == web.location.name

    (primary_ip,) = primary_ips
    assert primary_ip.assignee_id == SERVER_WEB
    assert primary_ip.ip == web.public_net.ipv4.ip

    assert floating_ips == []
    assert [loc.name for loc in locations] == ["fsn1", "nbg1", "hel1"]
    assert {loc.country for loc in locations} == {"DE", "FI"}
    assert {m for m, _ in api.requests} == {"GET"}


def test_example_estate_has_every_spec_field() -> None:
    estate = example_estate()
    problems = []
    for collection, objects in estate.items():
        for obj in objects:
            problems += conform(obj, object_schema(collection), SINGULAR[collection],
                                complete=True)
    assert problems == []
    assert all(estate[c] for c in COLLECTIONS if c not in ("floating_ips", "images"))


def test_estate_cross_references_are_consistent() -> None:
    estate = example_estate()
    by_id = {c: {o["id"]: o for o in objs} for c, objs in estate.items()}
    for server in estate["servers"]:
        for ref in server["public_net"]["firewalls"]:
            applied = by_id["firewalls"][ref["id"]]["applied_to"]
            assert {"server": {"id": server["id"]}, "type": "server"} in applied
        for volume_id in server["volumes"]:
            assert by_id["volumes"][volume_id]["server"] == server["id"]
        for lb_id in server["load_balancers"]:
            targets = by_id["load_balancers"][lb_id]["targets"]
            assert any(t.get("server", {}).get("id") == server["id"] for t in targets)
        for net in server["private_net"]:
            assert server["id"] in by_id["networks"][net["network"]]["servers"]
        if server["public_net"]["ipv4"]:
            ip = by_id["primary_ips"][server["public_net"]["ipv4"]["id"]]
            assert (ip["assignee_id"], ip["ip"]) == (server["id"],
                                                     server["public_net"]["ipv4"]["ip"])
    for lb in estate["load_balancers"]:
        for service in lb["services"]:
            for cert_id in service.get("http", {}).get("certificates", []):
                used_by = by_id["certificates"][cert_id]["used_by"]
                assert {"id": lb["id"], "type": "load_balancer"} in used_by


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_list_and_get_responses_match_openapi(api: HcloudServer, collection: str) -> None:
    schemas = spec_schemas()
    client = client_for(api)
    listed = client.request("GET", f"/{collection}")
    assert conform(listed, schemas[f"list_{collection}_response"], collection) == []
    for obj in listed[collection]:
        got = client.request("GET", f"/{collection}/{obj['id']}")
        assert got == {SINGULAR[collection]: obj}
        singular = SINGULAR[collection]
        assert conform(got, schemas[f"get_{singular}_response"], singular) == []


# --------------------------------------------------------------------------- errors


def test_get_by_id_and_missing_id_is_not_found(api: HcloudServer) -> None:
    client = client_for(api)
    assert client.servers.get_by_id(SERVER_DB).name == "db-1"
    with pytest.raises(APIException) as info:
        client.servers.get_by_id(999)
    assert info.value.code == "not_found"
    body = raw_get(api, "/servers/999").json()
    assert conform(body, spec_schemas()["error_response"], "error") == []


@pytest.mark.parametrize("path", ["/nope", "/servers/42/metrics", "/servers/abc"])
def test_unknown_path_is_not_found(api: HcloudServer, path: str) -> None:
    response = raw_get(api, path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_token_is_unauthorized(api: HcloudServer) -> None:
    with pytest.raises(APIException) as info:
        client_for(api, token="wrong-token").servers.get_all()
    assert info.value.code == "unauthorized"
    response = raw_get(api, "/servers", token="")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthorized",
                                          "message": "unable to authenticate",
                                          "details": None}}


def test_forbidden_collection_leaves_others_working(api: HcloudServer) -> None:
    api.fail("volumes", 403, "forbidden")
    client = client_for(api)
    for _ in range(2):  # times=None: every request
        with pytest.raises(APIException) as info:
            client.volumes.get_all()
        assert info.value.code == "forbidden"
    assert len(client.servers.get_all()) == 2
    api.clear_failures()
    assert len(client.volumes.get_all()) == 1


def test_bad_gateway_once_is_retried_by_the_client(api: HcloudServer) -> None:
    api.fail("servers", 502, "bad_gateway", times=1)
    assert len(client_for(api).servers.get_all()) == 2
    assert len([p for p in api.paths() if p.startswith("/v1/servers")]) == 2


def test_rate_limit_once_is_retried_by_the_client(api: HcloudServer) -> None:
    api.fail("firewalls", 429, "rate_limit_exceeded", times=1, retry_after=7)
    assert len(client_for(api).firewalls.get_all()) == 1
    assert len([p for p in api.paths() if p.startswith("/v1/firewalls")]) == 2
    api.fail("firewalls", 429, "rate_limit_exceeded", times=1, retry_after=7)
    response = raw_get(api, "/firewalls")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_service_unavailable_is_not_retried_by_the_client(api: HcloudServer) -> None:
    # hcloud retries only 502/504 and conflict/rate_limit_exceeded/bad_gateway/timeout.
    api.fail("servers", 503, "unavailable", times=1)
    client = client_for(api)
    with pytest.raises(APIException) as info:
        client.servers.get_all()
    assert info.value.code == "unavailable"
    assert len(api.paths()) == 1
    assert len(client.servers.get_all()) == 2  # the failure was used up


def test_persistent_bad_gateway_exhausts_client_retries(api: HcloudServer) -> None:
    api.fail("servers", 502, "bad_gateway")
    client = client_for(api)
    with pytest.raises(APIException) as info:
        client.servers.get_all()
    assert info.value.code == "bad_gateway"
    assert len(api.paths()) == 1 + client._client._retry_max_retries


def test_post_is_refused_and_logged(api: HcloudServer) -> None:
    before = copy.deepcopy(api.data)
    with pytest.raises(APIException) as info:
        client_for(api).request("POST", "/servers", json={"name": "new", "server_type": "cx22"})
    assert info.value.code == "method_not_allowed"
    response = requests.delete(f"{api.url}/servers/{SERVER_WEB}",
                               headers={"Authorization": f"Bearer {api.token}"}, timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert api.requests == [("POST", "/v1/servers"), ("DELETE", f"/v1/servers/{SERVER_WEB}")]
    assert api.data == before


# --------------------------------------------------------------------------- filters


def test_label_selector_filters_servers(api: HcloudServer) -> None:
    client = client_for(api)
    assert [s.name for s in client.servers.get_all(label_selector="role=db")] == ["db-1"]
    assert [s.name for s in client.servers.get_all(label_selector="env=prod,!role")] == []
    assert query_of(api.paths()[0])["label_selector"] == ["role=db"]
    with pytest.raises(APIException) as info:
        client.servers.get_all(label_selector="role in (db")
    assert info.value.code == "invalid_input"


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("role=db", {"role": "db"}, True),
    ("role==db", {"role": "db"}, True),
    ("role=db", {"role": "web"}, False),
    ("role", {"role": ""}, True),
    ("role", {}, False),
    ("!role", {}, True),
    ("!role", {"role": "db"}, False),
    ("role!=db", {"role": "web"}, True),
    ("role!=db", {}, True),
    ("role!=db", {"role": "db"}, False),
    ("env=prod,role=db", {"env": "prod", "role": "db"}, True),
    ("env=prod,role=db", {"env": "prod", "role": "web"}, False),
    ("role in (db,cache),env", {"role": "cache", "env": "x"}, True),
    ("role notin (db,cache)", {"role": "web"}, True),
    ("role notin (db,cache)", {"role": "db"}, False),
    ("example.com/my=label", {"example.com/my": "label"}, True),
    ("just-a-key=", {"just-a-key": ""}, True),
])
def test_label_selector_expressions(selector: str, labels: dict[str, str],
                                    expected: bool) -> None:
    assert match_label_selector(selector, labels) is expected


@pytest.mark.parametrize("selector", ["", "a,", "=v", "a in (b", "a b"])
def test_malformed_label_selector_is_rejected(selector: str) -> None:
    with pytest.raises(ValueError):
        match_label_selector(selector, {"a": "b"})


def test_images_type_filter_takes_repeated_and_comma_forms() -> None:
    images = []
    for i, kind in enumerate(["system", "snapshot", "backup", "app"], start=1):
        image = example_estate()["servers"][0]["image"]
        images.append({**image, "id": i, "type": kind, "name": None if i > 1 else image["name"],
                       "bound_to": SERVER_WEB if kind == "backup" else None})
    with HcloudServer({"images": images}) as api:
        client = client_for(api)
        repeated = client.images.get_all(type=["snapshot", "backup"])
        comma = client.request("GET", "/images", params={"type": "snapshot,backup"})
        single = client.request("GET", "/images", params={"type": "system"})
        bound = client.request("GET", "/images", params={"bound_to": str(SERVER_WEB)})
    assert sorted(i.type for i in repeated) == ["backup", "snapshot"]
    assert query_of(api.paths()[0])["type"] == ["snapshot", "backup"]  # the client repeats it
    assert sorted(i["type"] for i in comma["images"]) == ["backup", "snapshot"]
    assert [i["type"] for i in single["images"]] == ["system"]
    assert [i["type"] for i in bound["images"]] == ["backup"]


def test_name_filter_and_sort(api: HcloudServer) -> None:
    client = client_for(api)
    assert client.servers.get_by_name("db-1").id == SERVER_DB
    assert client.servers.get_by_name("nope") is None
    desc = client.request("GET", "/servers", params={"sort": "id:desc"})
    assert [s["id"] for s in desc["servers"]] == [SERVER_DB, SERVER_WEB]
    by_name = client.request("GET", "/locations", params={"sort": ["name:asc"]})
    assert [loc["name"] for loc in by_name["locations"]] == ["fsn1", "hel1", "nbg1"]


# --------------------------------------------------------------------------- plumbing


def test_responses_carry_correlation_id_and_rate_limit_headers(api: HcloudServer) -> None:
    first, second = raw_get(api, "/servers"), raw_get(api, "/servers/999")
    for response in (first, second):
        assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Correlation-Id"])
        assert response.headers["RateLimit-Limit"] == "3600"
        assert int(response.headers["RateLimit-Reset"]) > 0
        assert response.headers["Content-Type"] == "application/json"
    assert first.headers["X-Correlation-Id"] != second.headers["X-Correlation-Id"]
    assert int(second.headers["RateLimit-Remaining"]) < int(first.headers["RateLimit-Remaining"])
    with pytest.raises(APIException) as info:
        client_for(api).servers.get_by_id(999)
    assert info.value.correlation_id


def test_server_is_quiet(api: HcloudServer, capfd: pytest.CaptureFixture[str]) -> None:
    raw_get(api, "/servers")
    raw_get(api, "/nope")
    raw_get(api, "/servers", token="")
    requests.post(api.url + "/servers", data=b"{}", timeout=5)
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_concurrent_requests_are_all_logged(api: HcloudServer) -> None:
    def worker() -> None:
        with requests.Session() as session:
            for _ in range(10):
                response = session.get(api.url + "/locations",
                                       headers={"Authorization": f"Bearer {api.token}"},
                                       timeout=5)
                assert response.status_code == 200

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert api.requests == [("GET", "/v1/locations")] * 80


def test_start_stop_and_url() -> None:
    server = HcloudServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    with server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", server.url)
        assert raw_get(server, "/servers").json()["servers"] == []
    with pytest.raises(RuntimeError):
        _ = server.url
    server.stop()  # idempotent
