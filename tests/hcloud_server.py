"""A local, read-only Hetzner Cloud API server for tests (stdlib only).

It answers the way https://api.hetzner.cloud/v1 does for the read calls the scanner makes, in
the shapes of the Hetzner Cloud OpenAPI description (tests/data/hcloud-openapi-subset.json):

- ``GET /v1/{collection}``: ``{"<collection>": [...], "meta": {"pagination": {...}}}`` with
  ``page`` / ``per_page`` (default 25, at most 50), ``name``, ``label_selector``, ``sort`` and
  the per-collection filters the spec lists (``status``, ``type``, ``architecture``,
  ``bound_to``, ``include_deprecated``, ``ip``). Multi-valued filters accept both the repeated
  form the spec documents (``type=a&type=b``) and a comma list (``type=a,b``).
- ``GET /v1/{collection}/{id}``: ``{"<singular>": {...}}``, or 404 ``not_found``.
- errors: ``{"error": {"code": ..., "message": ..., "details": ...}}``; 401 ``unauthorized``
  without ``Authorization: Bearer <token>``; 404 ``not_found`` for unknown paths; 405 for any
  method but GET (the scanner must stay read-only; this code is the test server's own, the
  real API has no ``method_not_allowed``).
- every answer carries ``X-Correlation-Id`` and ``RateLimit-Limit`` / ``RateLimit-Remaining`` /
  ``RateLimit-Reset``; :meth:`HcloudServer.fail` injects errors per collection.
- fault mode (:meth:`HcloudServer.inject_faults` with a :class:`FaultPlan`): a seeded fraction
  of requests answers 429 ``rate_limit_exceeded`` with ``Retry-After``, a 5xx (JSON, or the
  HTML page of a gateway), a response slower than the client's timeout, or a dropped
  connection; ``fault_counts`` counts what was injected. The decision depends only on the
  seed, the request and how often that request was seen, never on arrival order, so a run
  is reproducible; a request is faulted at most ``per_request`` times (transient faults).

Use it as a context manager (``with HcloudServer(example_estate()) as api: ...``) and hand
``api.url`` to ``hcloud.Client(token=api.token, api_endpoint=api.url)``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["DEFAULT_PER_PAGE", "FAULT_KINDS", "MAX_PER_PAGE", "SINGULAR", "FaultPlan",
           "HcloudServer", "drop_connection", "example_estate", "match_label_selector"]

API_PREFIX = "/v1"
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 50
RATE_LIMIT = 3600  # requests per hour, refilled at one per second (as the API documents)

# Collection (URL path segment) -> key of the single-object response.
SINGULAR: dict[str, str] = {
    "servers": "server",
    "firewalls": "firewall",
    "networks": "network",
    "load_balancers": "load_balancer",
    "certificates": "certificate",
    "volumes": "volume",
    "primary_ips": "primary_ip",
    "floating_ips": "floating_ip",
    "locations": "location",
    "images": "image",
    "datacenters": "datacenter",
    "server_types": "server_type",
    "load_balancer_types": "load_balancer_type",
    "ssh_keys": "ssh_key",
    "placement_groups": "placement_group",
    "isos": "iso",
}

# Query filters each list endpoint takes, per the OpenAPI description (page, per_page and
# sort are common to all). Unknown parameters are ignored, as the API does.
_FILTERS: dict[str, frozenset[str]] = {
    "servers": frozenset({"name", "label_selector", "status"}),
    "firewalls": frozenset({"name", "label_selector"}),
    "networks": frozenset({"name", "label_selector"}),
    "load_balancers": frozenset({"name", "label_selector"}),
    "certificates": frozenset({"name", "label_selector", "type"}),
    "volumes": frozenset({"name", "label_selector", "status"}),
    "primary_ips": frozenset({"name", "label_selector", "ip"}),
    "floating_ips": frozenset({"name", "label_selector"}),
    "locations": frozenset({"name"}),
    "images": frozenset({"name", "label_selector", "status", "type", "architecture", "bound_to",
                         "include_deprecated"}),
    "datacenters": frozenset({"name"}),
    "server_types": frozenset({"name"}),
    "load_balancer_types": frozenset({"name"}),
    "ssh_keys": frozenset({"name", "label_selector"}),
    "placement_groups": frozenset({"name", "label_selector", "type"}),
    "isos": frozenset({"name", "architecture"}),
}
_DEFAULT_FILTERS = frozenset({"name", "label_selector"})

_DEFAULT_MESSAGES: dict[str, str] = {
    "unauthorized": "unable to authenticate",
    "forbidden": "insufficient permissions for this request",
    "token_readonly": "the token is read-only",
    "not_found": "not found",
    "invalid_input": "invalid input",
    "rate_limit_exceeded": "limit of 3600 requests per hour reached",
    "conflict": "the resource has changed during the request, please retry",
    "locked": "the item is locked (another action is running)",
    "server_error": "internal server error",
    "service_error": "service error",
    "unavailable": "the service is currently unavailable",
    "maintenance": "cannot perform operation due to maintenance",
    "timeout": "the request timed out",
    "bad_gateway": "bad gateway",
}


def _error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


# --------------------------------------------------------------------------- label selectors

_EXPR = re.compile(
    r"""^\s*(?:
        !\s*(?P<absent>[^\s=!,()]+)
      | (?P<key>[^\s=!,()]+)\s*(?:
            (?P<op>==|!=|=)\s*(?P<value>[^\s=!,()]*)
          | \s(?P<setop>in|notin)\s*\((?P<values>[^()]*)\)
        )?
    )\s*$""",
    re.VERBOSE,
)


def _split_top_level(selector: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced parenthesis")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise ValueError("unbalanced parenthesis")
    parts.append("".join(current))
    return parts


def match_label_selector(selector: str, labels: dict[str, str] | None) -> bool:
    """Whether ``labels`` match a Hetzner label selector (comma separated, all must hold).

    Expressions: ``k``, ``!k``, ``k=v`` / ``k==v``, ``k!=v``, ``k in (v1,v2)``,
    ``k notin (v1,v2)``. ``k!=v`` and ``notin`` also match objects without the key (the
    Kubernetes semantics the API follows). Raises ValueError for a malformed selector.
    """
    labels = labels or {}
    for expression in _split_top_level(selector):
        if not expression.strip():
            raise ValueError("empty expression")
        m = _EXPR.match(expression)
        if not m:
            raise ValueError(f"invalid expression {expression!r}")
        if m["absent"]:
            ok = m["absent"] not in labels
        elif m["op"]:
            key, value = m["key"], m["value"]
            ok = labels.get(key) != value if m["op"] == "!=" else labels.get(key) == value
        elif m["setop"]:
            values = {v.strip() for v in m["values"].split(",")}
            present = m["key"] in labels and labels[m["key"]] in values
            ok = present if m["setop"] == "in" else not present
        else:
            ok = m["key"] in labels
        if not ok:
            return False
    return True


# --------------------------------------------------------------------------- fault mode

FAULT_KINDS = ("throttle", "server_error", "slow", "drop")


@dataclass(frozen=True)
class FaultPlan:
    """Which requests fail, and how: the fault mode of both test servers (this one and
    tests/azure_arm_server.py).

    A request (method and path with query) seen for the ``attempt``-th time is faulted when a
    generator seeded with (seed, method, path, attempt) says so, with probability ``rate``,
    and at most ``per_request`` times: with a client that retries at least that often, every
    fault is transient. ``slow_seconds`` must exceed the client's timeout."""

    seed: int = 0
    rate: float = 0.25
    kinds: tuple[str, ...] = FAULT_KINDS
    per_request: int = 2
    retry_after: int = 0
    slow_seconds: float = 1.5

    def decide(self, method: str, path: str, attempt: int) -> tuple[str, int] | None:
        """(kind, variant) of the fault for this attempt, or None."""
        if attempt > self.per_request or not self.kinds:
            return None
        rng = random.Random(f"{self.seed}|{method}|{path}|{attempt}")
        if rng.random() >= self.rate:
            return None
        return rng.choice(self.kinds), rng.randrange(1 << 16)


class FaultState:
    """A server's fault plan, how often each request was seen, and what was injected."""

    def __init__(self) -> None:
        self.plan: FaultPlan | None = None
        self.seen: Counter[tuple[str, str]] = Counter()
        self.injected: list[tuple[str, str, str]] = []  # (kind, method, path)
        self.lock = threading.Lock()

    def reset(self, plan: FaultPlan | None) -> None:
        with self.lock:
            self.plan = plan
            self.seen.clear()
            self.injected.clear()

    def take(self, method: str, path: str) -> tuple[str, int] | None:
        with self.lock:
            if self.plan is None:
                return None
            self.seen[method, path] += 1
            fault = self.plan.decide(method, path, self.seen[method, path])
            if fault is not None:
                self.injected.append((fault[0], method, path))
            return fault

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(kind for kind, _, _ in self.injected)


def drop_connection(handler: BaseHTTPRequestHandler, reset: bool) -> None:
    """End the exchange without an answer: a plain close, or a TCP reset (SO_LINGER 0)."""
    handler.close_connection = True
    if reset:
        with contextlib.suppress(OSError):
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack("ii", 1, 0))


GATEWAY_PAGE = (b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad "
                b"Gateway</h1></center><hr><center>nginx</center></body></html>\n")


# --------------------------------------------------------------------------- the server


class _InvalidInput(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    server_version = "posture-hcloud-test"
    sys_version = ""
    api: HcloudServer  # set on the subclass HcloudServer.start builds

    def log_message(self, format: str, *args: Any) -> None:
        return  # stay quiet: tests read the request log instead

    def _handle(self) -> None:
        api = self.api
        api._record(self.command, self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > 0:
            self.rfile.read(length)  # drain the body so the client sees our answer
        if self.command != "GET":
            self._send(405, _error_body(
                "method_not_allowed",
                f"{self.command} is refused: this test server is read-only",
            ), extra={"Allow": "GET"})
            return
        if self.headers.get("Authorization", "") != f"Bearer {api.token}":
            self._send(401, _error_body("unauthorized", "unable to authenticate"))
            return
        split = urlsplit(self.path)
        path = split.path.rstrip("/")
        if not path.startswith(API_PREFIX + "/"):
            self._send(404, _error_body("not_found", "not found"))
            return
        segments = path[len(API_PREFIX) + 1:].split("/")
        collection = segments[0]
        fault = api.fault_state.take(self.command, self.path)
        if fault is not None and self._fault(*fault):
            return
        injected = api._take_failure(collection)
        if injected is not None:
            status, body, extra = injected
            self._send(status, body, extra=extra)
            return
        known = collection in SINGULAR or collection in api.data
        if not known or len(segments) > 2:
            self._send(404, _error_body("not_found", "not found"))
            return
        query = parse_qs(split.query, keep_blank_values=True)
        if len(segments) == 1:
            try:
                self._send(200, api._list(collection, query))
            except _InvalidInput as exc:
                self._send(400, _error_body(
                    "invalid_input", f"invalid input in field '{exc.field}'",
                    {"fields": [{"name": exc.field, "messages": [exc.message]}]},
                ))
            return
        singular = SINGULAR.get(collection, collection.removesuffix("s"))
        obj = api._get(collection, segments[1])
        if obj is None:
            self._send(404, _error_body(
                "not_found", f"{singular} with ID '{segments[1]}' not found"
            ))
            return
        self._send(200, {singular: obj})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _fault(self, kind: str, variant: int) -> bool:
        """Answer with the fault; True when that was the whole answer (slow: answer late)."""
        plan = self.api.fault_state.plan
        assert plan is not None
        if kind == "drop":
            drop_connection(self, reset=bool(variant % 2))
            return True
        if kind == "slow":
            time.sleep(plan.slow_seconds)  # then the real answer, after the client gave up
            return False
        if kind == "throttle":
            if variant % 3 == 0:  # a rate-limiting proxy in front: 429 without the JSON body
                self._send_raw(429, b"Too Many Requests\n", "text/plain",
                               {"Retry-After": str(plan.retry_after)})
                return True
            self._send(429, _error_body("rate_limit_exceeded",
                                        _DEFAULT_MESSAGES["rate_limit_exceeded"]),
                       extra={"Retry-After": str(plan.retry_after)})
            return True
        status, code = ((500, "server_error"), (502, None), (503, "unavailable"),
                        (504, "timeout"))[variant % 4]
        if code is None:  # a gateway in front of the API answers, in HTML
            self._send_raw(status, GATEWAY_PAGE, "text/html")
        else:
            self._send(status, _error_body(code, _DEFAULT_MESSAGES[code]))
        return True

    def _send_raw(self, status: int, payload: bytes, content_type: str,
                  extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send(self, status: int, body: dict[str, Any], extra: dict[str, str] | None = None,
              ) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Correlation-Id", uuid.uuid4().hex[:16])
        for name, value in self.api._rate_headers(status).items():
            self.send_header(name, value)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of parallel connects must not wait for a SYN retry

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # no tracebacks on stderr (e.g. a client hanging up mid-answer)


class HcloudServer:
    """A local Hetzner Cloud API (read calls only) serving ``data`` on 127.0.0.1.

    ``data`` maps a collection (URL path segment) to its objects, in API shape; it is read on
    every request, so a test may change it while the server runs. ``requests`` logs
    ``(method, path with query)`` of every request received, in arrival order.
    """

    def __init__(self, data: dict[str, list[dict[str, Any]]] | None = None,
                 token: str = "test-token"):
        self.data: dict[str, list[dict[str, Any]]] = data if data is not None else {}
        self.token = token
        self.requests: list[tuple[str, str]] = []
        self.request_times: list[float] = []  # time.monotonic() of each request received
        self._lock = threading.Lock()
        self._failures: dict[str, dict[str, Any]] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._served = 0
        self._window_start = time.time()
        self.fault_state = FaultState()

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The ``api_endpoint`` for hcloud.Client, e.g. ``http://127.0.0.1:PORT/v1``."""
        if self._httpd is None:
            raise RuntimeError("HcloudServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{API_PREFIX}"

    def start(self) -> HcloudServer:
        if self._httpd is not None:
            return self
        handler = type("BoundHandler", (_Handler,), {"api": self})
        httpd = _HTTPServer(("127.0.0.1", 0), handler)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name="hcloud-test-server", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> HcloudServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- test controls

    def fail(self, collection: str, status: int, code: str, message: str | None = None,
             times: int | None = None, retry_after: int | str | None = None,
             details: Any = None) -> None:
        """Answer the next ``times`` requests (None: all) for ``collection`` with an error.

        The body is the API's ``{"error": {"code", "message", "details"}}``; ``retry_after``
        adds a ``Retry-After`` header, seconds or an HTTP date (use status 429 and code
        ``rate_limit_exceeded`` for the API's rate limiting). A later call for the same
        collection replaces the earlier one; ``times=0`` removes it. The method and token
        checks still come first (405, 401).
        """
        with self._lock:
            if times is not None and times <= 0:
                self._failures.pop(collection, None)
                return
            self._failures[collection] = {
                "status": status,
                "code": code,
                "message": message or _DEFAULT_MESSAGES.get(code, code.replace("_", " ")),
                "details": details,
                "times": times,
                "retry_after": retry_after,
            }

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def inject_faults(self, plan: FaultPlan | None) -> None:
        """Fault mode: from now on, fault the requests ``plan`` picks (None: no more faults).
        Resets the counts of requests seen and of faults injected."""
        self.fault_state.reset(plan)

    @property
    def fault_counts(self) -> Counter[str]:
        """Faults injected since the last :meth:`inject_faults`, per kind."""
        return self.fault_state.counts()

    def paths(self, method: str = "GET") -> list[str]:
        """Paths (with query) of the logged requests made with ``method``."""
        with self._lock:
            return [path for m, path in self.requests if m == method]

    # ----------------------------------------------------------------- internals

    def _record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))
            self.request_times.append(time.monotonic())
            self._served += 1

    def _rate_headers(self, status: int) -> dict[str, str]:
        with self._lock:
            now = time.time()
            used = max(0, self._served - int(now - self._window_start))
            remaining = 0 if status == 429 else max(0, RATE_LIMIT - used)
        return {
            "RateLimit-Limit": str(RATE_LIMIT),
            "RateLimit-Remaining": str(remaining),
            # When the bucket is full again (one request refilled per second).
            "RateLimit-Reset": str(int(now) + RATE_LIMIT - remaining),
        }

    def _take_failure(self, collection: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        with self._lock:
            rule = self._failures.get(collection)
            if rule is None:
                return None
            if rule["times"] is not None:
                rule["times"] -= 1
                if rule["times"] <= 0:
                    del self._failures[collection]
        extra = {}
        if rule["retry_after"] is not None:
            extra["Retry-After"] = str(rule["retry_after"])
        return rule["status"], _error_body(rule["code"], rule["message"], rule["details"]), extra

    def _objects(self, collection: str) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.data.get(collection, [])))

    def _get(self, collection: str, raw_id: str) -> dict[str, Any] | None:
        if not raw_id.isdigit():
            return None
        wanted = int(raw_id)
        for obj in self._objects(collection):
            if obj.get("id") == wanted:
                return obj
        return None

    def _list(self, collection: str, query: dict[str, list[str]]) -> dict[str, Any]:
        page = _positive_int(query, "page", 1)
        per_page = min(_positive_int(query, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
        items = _filter(collection, self._objects(collection), query)
        items = _sort(items, _multi(query, "sort"))
        total = len(items)
        last_page = max(1, math.ceil(total / per_page))
        start = (page - 1) * per_page
        return {
            collection: items[start:start + per_page],
            "meta": {
                "pagination": {
                    "page": page,
                    "per_page": per_page,
                    "previous_page": page - 1 if page > 1 else None,
                    "next_page": page + 1 if page < last_page else None,
                    "last_page": last_page,
                    "total_entries": total,
                }
            },
        }


def _positive_int(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise _InvalidInput(name, "must be an integer") from None
    if value < 1:
        raise _InvalidInput(name, "must be greater than or equal to 1")
    return value


def _multi(query: dict[str, list[str]], name: str) -> list[str]:
    """A multi-valued parameter, repeated (``a=1&a=2``) or comma separated (``a=1,2``)."""
    return [part.strip() for value in query.get(name, []) for part in value.split(",")
            if part.strip()]


def _filter(collection: str, items: list[dict[str, Any]], query: dict[str, list[str]],
            ) -> list[dict[str, Any]]:
    allowed = _FILTERS.get(collection, _DEFAULT_FILTERS)
    if "name" in allowed and query.get("name"):
        items = [o for o in items if o.get("name") == query["name"][-1]]
    if "ip" in allowed and query.get("ip"):
        items = [o for o in items if o.get("ip") == query["ip"][-1]]
    if "label_selector" in allowed and query.get("label_selector"):
        selector = query["label_selector"][-1]
        try:
            items = [o for o in items if match_label_selector(selector, o.get("labels"))]
        except ValueError as exc:
            raise _InvalidInput("label_selector", str(exc)) from None
    for field in ("status", "type", "architecture"):
        wanted = _multi(query, field)
        if field in allowed and wanted:
            items = [o for o in items if o.get(field) in wanted]
    bound_to = _multi(query, "bound_to")
    if "bound_to" in allowed and bound_to:
        items = [o for o in items if str(o.get("bound_to")) in bound_to]
    if "include_deprecated" in allowed:
        flag = (query.get("include_deprecated") or ["false"])[-1].lower()
        if flag not in ("true", "1"):
            items = [o for o in items if not o.get("deprecated")]
    return items


def _sort(items: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    for spec in reversed(keys):
        field, _, direction = spec.partition(":")
        if field not in ("id", "name", "created") or direction not in ("", "asc", "desc"):
            raise _InvalidInput("sort", f"invalid sort {spec!r}")
        items = sorted(
            items,
            key=lambda o, f=field: (o.get(f) is None, o.get(f) if o.get(f) is not None else 0),
            reverse=direction == "desc",
        )
    return items


# --------------------------------------------------------------------------- example estate

_PRICE = {"gross": "0.0000", "net": "0.0000"}


def _location(name: str) -> dict[str, Any]:
    return copy.deepcopy(_LOCATIONS[name])


_LOCATIONS: dict[str, dict[str, Any]] = {
    "fsn1": {"city": "Falkenstein", "country": "DE", "description": "Falkenstein DC Park 1",
             "id": 1, "latitude": 50.47612, "longitude": 12.370071, "name": "fsn1",
             "network_zone": "eu-central"},
    "nbg1": {"city": "Nuremberg", "country": "DE", "description": "Nuremberg DC Park 1",
             "id": 2, "latitude": 49.452102, "longitude": 11.076665, "name": "nbg1",
             "network_zone": "eu-central"},
    "hel1": {"city": "Helsinki", "country": "FI", "description": "Helsinki DC Park 1",
             "id": 3, "latitude": 60.169855, "longitude": 24.938379, "name": "hel1",
             "network_zone": "eu-central"},
}


def _prices(monthly_net: str, hourly_net: str, included_traffic: int) -> list[dict[str, Any]]:
    def money(net: str) -> dict[str, str]:
        return {"gross": f"{float(net) * 1.19:.4f}", "net": net}

    return [
        {"included_traffic": included_traffic, "location": name,
         "price_hourly": money(hourly_net), "price_monthly": money(monthly_net),
         "price_per_tb_traffic": money("1.0000")}
        for name in _LOCATIONS
    ]


def _server_type() -> dict[str, Any]:
    return {
        "architecture": "x86",
        "category": "Shared vCPU",
        "cores": 2,
        "cpu_type": "shared",
        "deprecated": False,
        "deprecation": None,
        "description": "CPX22",
        "disk": 80,
        "id": 1,
        # available/recommended: returned by the API and required by hcloud-python, not in
        # the spec copy.
        "locations": [{"available": True, "deprecation": None, "id": loc["id"],
                       "name": loc["name"], "recommended": True}
                      for loc in _LOCATIONS.values()],
        "memory": 4,
        "name": "cpx22",
        "prices": _prices("7.9900", "0.0128", 21990232555520),
        "storage_type": "local",
    }


def _system_image() -> dict[str, Any]:
    return {
        "architecture": "x86",
        "bound_to": None,
        "created": "2024-04-25T13:26:27Z",
        "created_from": None,
        "deleted": None,
        "deprecated": None,
        "description": "Ubuntu 24.04",
        "disk_size": 5,
        "id": 161547269,
        "image_size": None,
        "labels": {},
        "name": "ubuntu-24.04",
        "os_flavor": "ubuntu",
        "os_version": "24.04",
        "protection": {"delete": False},
        "rapid_deploy": True,
        "status": "available",
        "type": "system",
    }


# Ids, cross-referenced across the estate.
SERVER_WEB, SERVER_DB = 42, 43
FIREWALL_ID = 38
NETWORK_ID = 4711
LOAD_BALANCER_ID = 4712
VOLUME_ID = 4713
PRIMARY_IP_ID = 4714
CERTIFICATE_ID = 897


def example_estate() -> dict[str, list[dict[str, Any]]]:
    """A small estate built from the OpenAPI example bodies, consistent across objects.

    web-1 (42, fsn1, public IPv4 from primary IP 4714, firewall 38, target of load balancer
    4712) and db-1 (43, fsn1, private only, backups on, volume 4713), both in network 4711;
    load balancer 4712 serves https:443 -> 80 with managed certificate 897; locations fsn1,
    nbg1, hel1. Fields the API removed after their deprecation date (``datacenter`` on
    servers and primary IPs, gone after 2026-07-01) are left out; ``timeout_idle`` on load
    balancer HTTP services is present although the spec copy lacks it (the API returns it and
    hcloud-python requires it).
    """
    fsn1 = _location("fsn1")
    web = {
        "backup_window": None,
        "created": "2025-03-10T09:12:44Z",
        "id": SERVER_WEB,
        "image": _system_image(),
        "included_traffic": 21990232555520,
        "ingoing_traffic": 123456,
        "iso": None,
        "labels": {"role": "web", "env": "prod"},
        "load_balancers": [LOAD_BALANCER_ID],
        "location": copy.deepcopy(fsn1),
        "locked": False,
        "name": "web-1",
        "outgoing_traffic": 654321,
        "placement_group": None,
        "primary_disk_size": 80,
        "private_net": [{"alias_ips": [], "ip": "10.0.1.2", "mac_address": "86:00:00:2a:7d:e1",
                         "network": NETWORK_ID}],
        "protection": {"delete": False, "rebuild": False},
        "public_net": {
            "firewalls": [{"id": FIREWALL_ID, "status": "applied"}],
            "floating_ips": [],
            "ipv4": {"blocked": False, "dns_ptr": "web-1.example.com", "id": PRIMARY_IP_ID,
                     "ip": "203.0.113.10"},
            "ipv6": None,
        },
        "rescue_enabled": False,
        "server_type": _server_type(),
        "status": "running",
        "volumes": [],
    }
    db = {
        **copy.deepcopy(web),
        "backup_window": "22-02",
        "created": "2025-03-10T09:14:02Z",
        "id": SERVER_DB,
        "labels": {"role": "db", "env": "prod"},
        "load_balancers": [],
        "name": "db-1",
        "ingoing_traffic": 4096,
        "outgoing_traffic": 2048,
        "private_net": [{"alias_ips": [], "ip": "10.0.1.3", "mac_address": "86:00:00:2a:7d:e2",
                         "network": NETWORK_ID}],
        "protection": {"delete": True, "rebuild": True},
        "public_net": {"firewalls": [], "floating_ips": [], "ipv4": None, "ipv6": None},
        "volumes": [VOLUME_ID],
    }
    firewall = {
        "applied_to": [{"server": {"id": SERVER_WEB}, "type": "server"}],
        "created": "2025-03-10T09:10:00Z",
        "id": FIREWALL_ID,
        "labels": {"env": "prod"},
        "name": "web-firewall",
        "rules": [
            {"description": "ssh from the office", "destination_ips": [], "direction": "in",
             "port": "22", "protocol": "tcp", "source_ips": ["198.51.100.0/24"]},
            {"description": "https", "destination_ips": [], "direction": "in", "port": "443",
             "protocol": "tcp", "source_ips": ["0.0.0.0/0", "::/0"]},
            {"description": None, "destination_ips": [], "direction": "in", "port": None,
             "protocol": "icmp", "source_ips": ["0.0.0.0/0", "::/0"]},
        ],
    }
    network = {
        "created": "2025-03-10T09:05:00Z",
        "expose_routes_to_vswitch": False,
        "id": NETWORK_ID,
        "ip_range": "10.0.0.0/16",
        "labels": {"env": "prod"},
        "load_balancers": [LOAD_BALANCER_ID],
        "name": "prod-net",
        "protection": {"delete": False},
        "routes": [],
        "servers": [SERVER_WEB, SERVER_DB],
        "subnets": [{"gateway": "10.0.0.1", "ip_range": "10.0.1.0/24",
                     "network_zone": "eu-central", "type": "cloud", "vswitch_id": None}],
    }
    load_balancer = {
        "algorithm": {"type": "round_robin"},
        "created": "2025-03-10T09:20:00Z",
        "id": LOAD_BALANCER_ID,
        "included_traffic": 21990232555520,
        "ingoing_traffic": 10240,
        "labels": {"env": "prod"},
        "load_balancer_type": {
            "deprecated": None,
            "description": "LB11",
            "id": 1,
            "max_assigned_certificates": 10,
            "max_connections": 10000,
            "max_services": 5,
            "max_targets": 25,
            "name": "lb11",
            "prices": _prices("5.3900", "0.0086", 21990232555520),
        },
        "location": copy.deepcopy(fsn1),
        "name": "web-lb",
        "outgoing_traffic": 20480,
        "private_net": [{"ip": "10.0.1.4", "network": NETWORK_ID}],
        "protection": {"delete": False},
        "public_net": {
            "enabled": True,
            "ipv4": {"dns_ptr": "lb.example.com", "ip": "203.0.113.20"},
            "ipv6": {"dns_ptr": "lb.example.com", "ip": "2001:db8:1::1"},
        },
        "services": [{
            "destination_port": 80,
            "health_check": {
                "http": {"domain": "www.example.com", "path": "/healthz",
                         "response": "{\"status\": \"ok\"}", "status_codes": ["2??", "3??"],
                         "tls": False},
                "interval": 15,
                "port": 80,
                "protocol": "http",
                "retries": 3,
                "timeout": 10,
            },
            "http": {"certificates": [CERTIFICATE_ID], "cookie_lifetime": 300,
                     "cookie_name": "HCLBSTICKY", "redirect_http": True,
                     "sticky_sessions": False, "timeout_idle": 60},
            "listen_port": 443,
            "protocol": "https",
            "proxyprotocol": False,
        }],
        "targets": [{
            "health_status": [{"listen_port": 443, "status": "healthy"}],
            "server": {"id": SERVER_WEB},
            "type": "server",
            "use_private_ip": True,
        }],
    }
    certificate = {
        "certificate": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n",
        "created": "2025-03-10T09:18:00Z",
        "domain_names": ["example.com", "www.example.com"],
        "fingerprint": "03:c7:55:9b:2a:d1:04:17:09:f6:d0:7f:18:34:63:d4:3e:5f",
        "id": CERTIFICATE_ID,
        "labels": {"env": "prod"},
        "name": "www.example.com",
        "not_valid_after": "2026-12-20T09:17:59Z",
        "not_valid_before": "2026-09-21T09:18:00Z",
        "status": {"error": None, "issuance": "completed", "renewal": "scheduled"},
        "type": "managed",
        "used_by": [{"id": LOAD_BALANCER_ID, "type": "load_balancer"}],
    }
    volume = {
        "created": "2025-03-10T09:15:00Z",
        "format": "ext4",
        "id": VOLUME_ID,
        "labels": {"role": "db", "env": "prod"},
        "linux_device": f"/dev/disk/by-id/scsi-0HC_Volume_{VOLUME_ID}",
        "location": copy.deepcopy(fsn1),
        "name": "db-data",
        "protection": {"delete": True},
        "server": SERVER_DB,
        "size": 100,
        "status": "available",
    }
    primary_ip = {
        "assignee_id": SERVER_WEB,
        "assignee_type": "server",
        "auto_delete": True,
        "blocked": False,
        "created": "2025-03-10T09:12:40Z",
        "dns_ptr": [{"dns_ptr": "web-1.example.com", "ip": "203.0.113.10"}],
        "id": PRIMARY_IP_ID,
        "ip": "203.0.113.10",
        "labels": {},
        "location": copy.deepcopy(fsn1),
        "name": "web-1-ipv4",
        "protection": {"delete": False},
        "type": "ipv4",
    }
    return {
        "servers": [web, db],
        "firewalls": [firewall],
        "networks": [network],
        "load_balancers": [load_balancer],
        "certificates": [certificate],
        "volumes": [volume],
        "primary_ips": [primary_ip],
        "floating_ips": [],
        "images": [],
        "locations": [_location(name) for name in ("fsn1", "nbg1", "hel1")],
    }
