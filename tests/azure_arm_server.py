"""A local, read-only Azure Resource Manager server for tests (stdlib + trustme).

HTTPS on 127.0.0.1 with a certificate from a trustme CA (azure-core refuses bearer tokens
over plain http), serving ARM JSON from snapshot-style collections:

- ``GET /subscriptions`` and ``GET /subscriptions/{id}``;
- a subscription-level list ``GET /subscriptions/{id}/providers/{Namespace}/{type}`` (and
  ``/resourcegroups``): the objects of that collection in that subscription;
- a child list ``GET {parent id}/{child type}``: the objects of the collection named
  ``.../{child type}`` whose id lies under the parent (protected items under their vault);
- ``GET {resource id}``: that object.
Lists are paged ``page_size`` at a time with an absolute ``nextLink`` naming this server
(``$skiptoken``). Errors are ARM's ``{"error": {"code", "message"}}``: 401 without
``Authorization: Bearer <token>`` (``InvalidAuthenticationTokenTenant`` for ``wrong_token``),
404 ``ResourceNotFound``, 405 for any method but GET (logged), 400 without ``api-version``,
and what :meth:`ArmServer.fail` / :meth:`ArmServer.deny_namespace` inject (429 with
``Retry-After``, 403 ``AuthorizationFailed``, 5xx).

Fault mode (:meth:`ArmServer.inject_faults`, the :class:`~tests.hcloud_server.FaultPlan` of
the Hetzner test server): a seeded fraction of requests answers 429 ``TooManyRequests`` with
``Retry-After``, a 5xx (ARM JSON, or a gateway's HTML page), a response slower than the
client's read timeout, or a dropped connection (no answer, closed or reset);
``fault_counts`` counts what was injected. ``requests`` logs every request, whatever its
method.
"""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from tests.hcloud_server import GATEWAY_PAGE, FaultPlan, FaultState, drop_connection


@dataclass
class Fault:
    match: str  # lower-case substring of the path
    status: int
    code: str
    times: int | None  # None: always
    retry_after: int | None = None
    message: str | None = None  # the error body's message (default "injected CODE")


class ArmServer:
    def __init__(self, sections: Mapping[str, Mapping[str, list[dict[str, Any]]]], *,
                 token: str, wrong_token: str = "token-for-another-tenant",
                 page_size: int = 2) -> None:
        """`sections`: subscription id -> collection name -> raw objects."""
        self.data = {sub: {name: list(objs) for name, objs in cols.items()}
                     for sub, cols in sections.items()}
        self.token, self.wrong_token, self.page_size = token, wrong_token, page_size
        self.requests: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.denied: set[tuple[str, str]] = set()
        self.lock = threading.Lock()
        self.fault_state = FaultState()
        self.ca = trustme.CA()
        self._dir = tempfile.TemporaryDirectory()
        self.ca_file = str(Path(self._dir.name) / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        self.httpd = _QuietHTTPServer(("127.0.0.1", 0), self._handler())
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ArmServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._dir.cleanup()

    def fail(self, match: str, status: int, code: str, times: int | None = None,
             retry_after: int | None = None, message: str | None = None) -> None:
        self.faults.append(Fault(match.lower(), status, code, times, retry_after, message))

    def inject_faults(self, plan: FaultPlan | None) -> None:
        """Fault mode: from now on, fault the requests ``plan`` picks (None: no more faults).
        Resets the counts of requests seen and of faults injected."""
        self.fault_state.reset(plan)

    @property
    def fault_counts(self) -> Counter[str]:
        """Faults injected since the last :meth:`inject_faults`, per kind."""
        return self.fault_state.counts()

    def deny_namespace(self, subscription: str, namespace: str) -> None:
        """The credential has no read permission on `namespace` in `subscription`."""
        self.denied.add((subscription.lower(), namespace.lower()))

    # --- routing ---------------------------------------------------------------------------

    def _subscriptions(self) -> list[dict[str, Any]]:
        out = []
        for sub, cols in self.data.items():
            found = cols.get("Microsoft.Resources/subscriptions") or [
                {"id": f"/subscriptions/{sub}", "subscriptionId": sub, "state": "Enabled",
                 "displayName": sub}]
            out.extend(found)
        return out

    def route(self, path: str) -> tuple[int, Any]:
        low = path.rstrip("/").lower()
        parts = low.split("/")
        if low == "/subscriptions":
            return 200, {"list": self._subscriptions()}
        if len(parts) < 3 or parts[1] != "subscriptions":
            return 404, _error("ResourceNotFound", f"no route {path}")
        sub = next((s for s in self.data if s.lower() == parts[2]), None)
        if sub is None:
            return 404, _error("SubscriptionNotFound", f"The subscription '{parts[2]}' could "
                                                       "not be found.")
        if len(parts) == 3:
            return 200, next(s for s in self._subscriptions() if s["subscriptionId"] == sub)
        if "providers" in parts:
            ns = parts[parts.index("providers") + 1]
            if (sub.lower(), ns) in self.denied:
                return 403, _error("AuthorizationFailed", (
                    f"The client 'posture-ci' with object id '00000000-0000-0000-0000-"
                    f"000000000000' does not have authorization to perform action "
                    f"'{ns}/read' over scope '/subscriptions/{sub}' or the scope is invalid."))
        cols = self.data[sub]
        for objs in cols.values():
            for obj in objs:
                if str(obj.get("id", "")).lower() == low:
                    return 200, obj
        last, parent = parts[-1], "/".join(parts[:-1])
        if low == f"/subscriptions/{sub.lower()}/resourcegroups":
            return 200, {"list": cols.get("Microsoft.Resources/resourceGroups", [])}
        sub_level = len(parts) == 6 and parts[3] == "providers"
        ns = parts[parts.index("providers") + 1] if "providers" in parts else ""
        for name, objs in cols.items():
            lname = name.lower()
            if ns and not lname.startswith(ns + "/"):
                continue
            if sub_level and lname == f"{parts[4]}/{last}":
                return 200, {"list": objs}
            if not sub_level and lname.count("/") >= 2 and lname.endswith("/" + last):
                return 200, {"list": [o for o in objs
                                      if str(o.get("id", "")).lower().startswith(parent + "/")]}
        if sub_level:
            return 200, {"list": []}
        return 404, _error("ResourceNotFound", f"The Resource '{path}' was not found.")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: Mapping[str, str] = {}) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-ms-request-id", "00000000-0000-0000-0000-000000000001")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _refuse(self) -> None:
                with server.lock:
                    server.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self._send(405, _error("MethodNotAllowed", "this server is read-only"))

            do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _refuse

            def _fault(self, kind: str, variant: int) -> bool:
                """Answer with the fault; True when that was the whole answer."""
                plan = server.fault_state.plan
                assert plan is not None
                if kind == "drop":
                    drop_connection(self, reset=bool(variant % 2))
                    return True
                if kind == "slow":
                    time.sleep(plan.slow_seconds)  # answer after the client gave up
                    return False
                if kind == "throttle":
                    self._send(429, _error(
                        "TooManyRequests", "The request is being throttled as the limit has "
                        "been reached for operation type - Read."),
                        {"Retry-After": str(plan.retry_after)})
                    return True
                status, code = ((500, "InternalServerError"), (502, None),
                                (503, "ServiceUnavailable"), (504, "GatewayTimeout"))[variant % 4]
                if code is None:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(GATEWAY_PAGE)))
                    self.end_headers()
                    self.wfile.write(GATEWAY_PAGE)
                else:
                    self._send(status, _error(code, f"{code}: please retry"))
                return True

            def do_GET(self) -> None:
                with server.lock:
                    server.requests.append(("GET", self.path))
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                auth = self.headers.get("Authorization", "")
                if auth == f"Bearer {server.wrong_token}":
                    return self._send(401, _error(
                        "InvalidAuthenticationTokenTenant",
                        "The access token is from the wrong issuer. It must match the tenant "
                        "associated with this subscription."))
                if auth != f"Bearer {server.token}":
                    return self._send(401, _error("AuthenticationFailed",
                                                  "Authentication failed."))
                if "api-version" not in query:
                    return self._send(400, _error("MissingApiVersionParameter",
                                                  "The api-version query parameter is "
                                                  "required."))
                fault = server.fault_state.take("GET", self.path)
                if fault is not None and self._fault(*fault):
                    return None
                with server.lock:
                    for fault in server.faults:
                        if fault.match in url.path.lower() and fault.times != 0:
                            if fault.times is not None:
                                fault.times -= 1
                            headers = ({"Retry-After": str(fault.retry_after)}
                                       if fault.retry_after is not None else {})
                            return self._send(fault.status, _error(
                                fault.code, fault.message or f"injected {fault.code}"),
                                headers)
                status, body = server.route(url.path)
                if status != 200 or "list" not in body:
                    return self._send(status, body)
                items = body["list"]
                skip = int(query.get("$skiptoken", ["0"])[0])
                page = items[skip:skip + server.page_size]
                out: dict[str, Any] = {"value": page}
                if skip + server.page_size < len(items):
                    out["nextLink"] = (f"{server.url}{url.path}?api-version="
                                       f"{query['api-version'][0]}&$skiptoken="
                                       f"{skip + server.page_size}")
                return self._send(200, out)

        return Handler


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # no tracebacks on stderr (a client that hung up on a slow answer)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def sections_of(snapshot_path: Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """subscription -> collection -> objects, from a posture snapshot file."""
    doc = json.loads(snapshot_path.read_text())
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for section in doc["sections"]:
        out[section["account"]] = {name: [o for objs in regions.values() for o in objs]
                                   for name, regions in section["collections"].items()}
    return out
