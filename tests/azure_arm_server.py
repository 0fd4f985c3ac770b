"""A local, read-only Azure Resource Manager server for tests (stdlib + trustme).

HTTPS on 127.0.0.1 with a certificate from a trustme CA (azure-core refuses bearer tokens
over plain http), serving ARM JSON from snapshot-style collections:

- ``GET /subscriptions`` and ``GET /subscriptions/{id}``;
- a subscription-level list ``GET /subscriptions/{id}/providers/{Namespace}/{type}`` (and
  ``/resourcegroups``): the objects of that collection in that subscription;
- a child list ``GET {parent id}/{child type}``: the objects of the collection named
  ``.../{child type}`` whose id lies under the parent (protected items under their vault);
- ``GET {resource id}``: that object;
- ``GET /subscriptions/{id}/providers/Microsoft.Authorization/permissions``: ``*/read``,
  minus ``{Namespace}/*`` for each namespace denied with :meth:`ArmServer.deny_namespace`;
- ``POST /providers/Microsoft.ResourceGraph/resources`` (Azure Resource Graph): the one
  query shape posture sends, ``Resources`` or ``ResourceContainers | where type in~ (...)
  | project ... | order by id asc`` over the request's ``subscriptions`` (any other query
  is a 400 ``BadRequest``, not a KQL engine), rows as Resource Graph gives them (type
  lowercased, resourceGroup/subscriptionId/tenantId added, empty columns for fields the
  object lacks), ``graph_page_size`` rows a page with an opaque ``$skipToken``. Like
  Resource Graph, it silently leaves out what the caller may not read (a denied
  namespace). :attr:`ArmServer.graph_fault` breaks its paging (``repeat-token``,
  ``truncated``, ``short``); :meth:`ArmServer.deny_graph` answers 403 for a query naming
  that subscription.
A VM's or scale set's ``userData`` is answered only by its own GET with
``$expand=userData``, as Resource Manager does (never by a list or a Resource Graph row).
Lists are paged ``page_size`` at a time with an absolute ``nextLink`` naming this server
(``$skiptoken``). Errors are ARM's ``{"error": {"code", "message"}}``: 401 without
``Authorization: Bearer <token>`` (``InvalidAuthenticationTokenTenant`` for ``wrong_token``),
404 ``ResourceNotFound``, 405 for any other POST and any method but GET and POST (logged),
400 without ``api-version``,
and what :meth:`ArmServer.fail` / :meth:`ArmServer.deny_namespace` inject (429 with
``Retry-After``, 403 ``AuthorizationFailed``, 5xx).

Fault mode (:meth:`ArmServer.inject_faults`, the :class:`~tests.hcloud_server.FaultPlan` of
the Hetzner test server): a seeded fraction of requests answers 429 ``TooManyRequests`` with
``Retry-After``, a 5xx (ARM JSON, or a gateway's HTML page), a response slower than the
client's read timeout, or a dropped connection (no answer, closed or reset);
``fault_counts`` counts what was injected. ``requests`` logs every request, whatever its
method (a Resource Graph query as ``path#digest of its body``: which page of which query).
"""

from __future__ import annotations

import hashlib
import json
import re
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
    headers: Mapping[str, str] | None = None  # more headers of the answer


class ArmServer:
    def __init__(self, sections: Mapping[str, Mapping[str, list[dict[str, Any]]]], *,
                 token: str, wrong_token: str = "token-for-another-tenant",
                 page_size: int = 2, graph_page_size: int = 3) -> None:
        """`sections`: subscription id -> collection name -> raw objects."""
        self.graph_page_size = graph_page_size
        self.latency = 0.0  # seconds added to every answer (a network round trip; benches)
        self.graph_fault: str | None = None
        self.graph_denied: set[str] = set()
        self.graph_requests: list[dict[str, Any]] = []  # the JSON body of every query
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
             retry_after: int | None = None, message: str | None = None,
             headers: Mapping[str, str] | None = None) -> None:
        self.faults.append(Fault(match.lower(), status, code, times, retry_after, message,
                                 headers))

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

    def deny_graph(self, subscription: str) -> None:
        """A Resource Graph query naming `subscription` answers 403 AuthorizationFailed."""
        self.graph_denied.add(subscription.lower())

    # --- Resource Graph --------------------------------------------------------------------

    def graph(self, request: Mapping[str, Any]) -> tuple[int, Any]:
        """The answer to a Resource Graph query (the one shape posture sends)."""
        with self.lock:
            self.graph_requests.append(dict(request))
        text = request.get("query")
        subs = request.get("subscriptions")
        options = request.get("options") or {}
        match = GRAPH_QUERY.fullmatch(text) if isinstance(text, str) else None
        if match is None or not isinstance(subs, list) or not subs:
            return 400, _error("BadRequest", "Please provide below info when asking for "
                                             "support: this test server understands one query")
        if options.get("resultFormat") != "objectArray":
            return 400, _error("BadRequest", "resultFormat objectArray expected")
        table, listed, columns = match.group(1), match.group(2), match.group(3)
        types = {t.strip().strip("'\"").lower() for t in listed.split(",")}
        columns_ = [c.strip() for c in columns.split(",")]
        denied = [s for s in subs if str(s).lower() in self.graph_denied]
        if denied:
            return 403, _error("AuthorizationFailed", f"The client does not have authorization "
                                                     f"to query subscription '{denied[0]}'.")
        rows = []
        for sub in subs:
            found = next((k for k in self.data if k.lower() == str(sub).lower()), None)
            if found is None:
                continue
            for name, objs in self.data[found].items():
                rtype = GRAPH_TYPES.get(name.lower(), name.lower()) if table == (
                    "ResourceContainers") else name.lower()
                if table == "Resources" and name.lower() in NOT_IN_RESOURCES:
                    continue
                ns = name.split("/")[0].lower()
                if rtype not in types or (found.lower(), ns) in self.denied:
                    continue  # Resource Graph leaves out what the caller may not read
                for obj in objs:
                    shown = without_user_data(obj)  # as a list: no userData
                    rows.append({c: _column(shown, c, rtype, found) for c in columns_})
        rows.sort(key=lambda r: str(r.get("id")))
        token = options.get("$skipToken")
        start = int(str(token).removeprefix("rg-")) if token else 0
        top = min(int(options.get("$top") or 100), self.graph_page_size)
        page = rows[start:start + top]
        out: dict[str, Any] = {"totalRecords": len(rows), "count": len(page),
                               "resultTruncated": "false", "data": page, "facets": []}
        if start + top < len(rows):
            out["$skipToken"] = f"rg-{start + top}"
        if self.graph_fault == "repeat-token":
            out["$skipToken"] = "rg-0" if start else f"rg-{top}"
        elif self.graph_fault == "truncated" and "$skipToken" in out:
            del out["$skipToken"]
            out["resultTruncated"] = "true"
        elif self.graph_fault == "short" and "$skipToken" in out:
            del out["$skipToken"]
        return 200, out

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
        if low.endswith("/providers/microsoft.authorization/permissions") and len(parts) == 6:
            denied = sorted(ns for s, ns in self.denied if s == sub.lower())
            return 200, {"list": [{"actions": ["*/read"],
                                   "notActions": [f"{ns}/*" for ns in denied],
                                   "dataActions": [], "notDataActions": []}]}
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
        if low == f"/subscriptions/{sub.lower()}/resources":
            return 200, {"list": listed(self.data[sub])}
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

            do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _refuse

            def do_POST(self) -> None:
                time.sleep(server.latency)
                url = urlsplit(self.path)
                if url.path.lower() != "/providers/microsoft.resourcegraph/resources":
                    return self._refuse()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                # a query's identity is its URL and its body (the page asked for)
                call = f"{self.path}#{hashlib.sha256(body).hexdigest()[:16]}"
                with server.lock:
                    server.requests.append(("POST", call))
                if not self._authorized(parse_qs(url.query)):
                    return None
                fault = server.fault_state.take("POST", call)
                if fault is not None and self._fault(*fault):
                    return None
                if self._injected(url.path):
                    return None
                try:
                    request = json.loads(body or b"null")
                except ValueError:
                    request = None
                if not isinstance(request, dict):
                    return self._send(400, _error("BadRequest", "a JSON object expected"))
                return self._send(*server.graph(request))

            def _authorized(self, query: Mapping[str, list[str]]) -> bool:
                auth = self.headers.get("Authorization", "")
                if auth == f"Bearer {server.wrong_token}":
                    self._send(401, _error(
                        "InvalidAuthenticationTokenTenant",
                        "The access token is from the wrong issuer. It must match the tenant "
                        "associated with this subscription."))
                    return False
                if auth != f"Bearer {server.token}":
                    self._send(401, _error("AuthenticationFailed", "Authentication failed."))
                    return False
                if "api-version" not in query:
                    self._send(400, _error("MissingApiVersionParameter",
                                           "The api-version query parameter is required."))
                    return False
                return True

            def _injected(self, path: str) -> bool:
                """Answer with a fault of :meth:`ArmServer.fail`; True when one matched."""
                with server.lock:
                    for fault in server.faults:
                        if fault.match in path.lower() and fault.times != 0:
                            if fault.times is not None:
                                fault.times -= 1
                            headers = ({"Retry-After": str(fault.retry_after)}
                                       if fault.retry_after is not None else {})
                            headers.update(fault.headers or {})
                            self._send(fault.status, _error(
                                fault.code, fault.message or f"injected {fault.code}"),
                                headers)
                            return True
                return False

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
                time.sleep(server.latency)
                with server.lock:
                    server.requests.append(("GET", self.path))
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if not self._authorized(query):
                    return None
                fault = server.fault_state.take("GET", self.path)
                if fault is not None and self._fault(*fault):
                    return None
                if self._injected(url.path):
                    return None
                status, body = server.route(url.path)
                expand = {e.strip().lower() for e in query.get("$expand", [""])[0].split(",")}
                if status != 200 or "list" not in body:
                    if status == 200 and "userdata" not in expand:
                        body = without_user_data(body)
                    return self._send(status, body)
                items = [without_user_data(o)
                         for o in _filtered(body["list"], query.get("$filter", [""])[0])]
                skip = int(query.get("$skiptoken", ["0"])[0])
                page = items[skip:skip + server.page_size]
                out: dict[str, Any] = {"value": page}
                if skip + server.page_size < len(items):
                    out["nextLink"] = (f"{server.url}{url.path}?api-version="
                                       f"{query['api-version'][0]}&$skiptoken="
                                       f"{skip + server.page_size}")
                return self._send(200, out)

        return Handler


# Compute's user data: answered only by a VM's (or scale set's) own GET with
# `$expand=userData`, never by a list ("User data can be queried via GET VM/VMSS API with
# $expand option", https://learn.microsoft.com/azure/virtual-machines/user-data).
USER_DATA_TYPES = frozenset({"microsoft.compute/virtualmachines",
                             "microsoft.compute/virtualmachinescalesets"})


def without_user_data(obj: Any) -> Any:
    """`obj` as a GET without `$expand=userData` (or a list) answers it."""
    if not isinstance(obj, dict) or str(obj.get("type", "")).lower() not in USER_DATA_TYPES:
        return obj
    props = obj.get("properties")
    if not isinstance(props, dict):
        return obj
    props = {k: v for k, v in props.items() if k != "userData"}
    profile = props.get("virtualMachineProfile")
    if isinstance(profile, dict) and "userData" in profile:
        props["virtualMachineProfile"] = {k: v for k, v in profile.items() if k != "userData"}
    return {**obj, "properties": props}


# The one OData filter of a list posture could send (role definitions: "type eq 'CustomRole'",
# https://learn.microsoft.com/rest/api/authorization/role-definitions/list); any other
# filter is answered unfiltered.
_TYPE_FILTER = re.compile(r"^type eq '([A-Za-z]+)'$")


def _filtered(items: list[dict[str, Any]], odata: str) -> list[dict[str, Any]]:
    if not (m := _TYPE_FILTER.match(odata.strip())):
        return items
    return [i for i in items if str((i.get("properties") or {}).get("type")) == m.group(1)]


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # no tracebacks on stderr (a client that hung up on a slow answer)


# The query posture sends (providers/azure/graph.py): table, types, columns.
GRAPH_QUERY = re.compile(r"(Resources|ResourceContainers) \| where type in~ \(([^()]*)\) "
                         r"\| project ([A-Za-z, ]+) \| order by id asc")
# Collections not in the Resources table (other tables: Resource Graph's `securityresources`,
# `authorizationresources`; diagnostic settings in none).
NOT_IN_RESOURCES = frozenset({
    "microsoft.resources/subscriptions", "microsoft.resources/resourcegroups",
    "microsoft.insights/diagnosticsettings", "microsoft.security/pricings",
    "microsoft.authorization/roleassignments"})
# ResourceContainers types of the collections kept there.
GRAPH_TYPES = {"microsoft.resources/resourcegroups":
               "microsoft.resources/subscriptions/resourcegroups"}
# Columns Resource Graph fills with an empty string, not null, when the object lacks them.
STRING_COLUMNS = frozenset({"kind", "managedBy", "location", "resourceGroup"})


def _column(obj: Mapping[str, Any], column: str, rtype: str, sub: str) -> Any:
    """One column of an object's row, as Resource Graph gives it."""
    if column == "type":
        return rtype
    if column == "subscriptionId":
        return sub
    if column == "tenantId":
        return "72f988bf-86f1-41af-91ab-2d7cd011db47"
    if column == "resourceGroup":
        parts = str(obj.get("id", "")).split("/")
        low = [p.lower() for p in parts]
        return parts[low.index("resourcegroups") + 1].lower() if "resourcegroups" in low else ""
    value = obj.get(column)
    return ("" if column in STRING_COLUMNS else None) if value is None else value


# What Resource Manager's resource list (GET /subscriptions/{id}/resources) answers of each
# resource: GenericResourceExpanded, no `properties` (https://learn.microsoft.com/rest/api/
# resources/resources/list-by-subscription).
GENERIC_FIELDS = ("id", "name", "type", "location", "kind", "sku", "plan", "managedBy", "tags",
                  "identity", "extendedLocation")


def listed(cols: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The resource list of a subscription's data: every tracked resource (one with a
    location: top-level resources and the nested ones ARM tracks, such as SQL databases),
    not the proxy resources (firewall rules, configurations, deployments, keys...)."""
    out = []
    for objs in cols.values():
        for obj in objs:
            rtype = str(obj.get("type") or "")
            nested = rtype.count("/") > 1 and rtype.lower() != "microsoft.sql/servers/databases"
            if obj.get("location") and rtype and not nested and "/resourcegroups/" in str(
                    obj.get("id", "")).lower():
                out.append({k: obj[k] for k in GENERIC_FIELDS if k in obj})
    return sorted(out, key=lambda o: str(o["id"]).lower())


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


def copies(sections: Mapping[str, Mapping[str, list[dict[str, Any]]]], count: int
           ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """`count` copies of an estate, each in a subscription of its own (every occurrence of
    the original subscription ids replaced by the copy's): many subscriptions to scan."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for n in range(count):
        for sub, cols in sections.items():
            new = f"{sub[:-12]}{n:04d}{sub[-8:]}"
            text = json.dumps(cols)
            for old in (sub, sub.lower(), sub.upper()):
                text = text.replace(old, new)
            out[new] = json.loads(text)
    return out
