"""A moto server for the AWS tests, and an HTTP proxy in front of it.

The collector talks to the proxy exactly as to AWS (boto3 over HTTP, `AWS_ENDPOINT_URL`);
the proxy forwards every request to a `moto.server.ThreadedMotoServer` and

- records each call as (service, region, action, HTTP method), read from the SigV4
  credential scope and the protocol's action field (query `Action=`, JSON `X-Amz-Target`,
  REST method and path), so a test can see every call the collector made;
- can answer chosen calls itself with a botocore-shaped AWS error (AccessDenied in one
  region, Throttling a few times, ExpiredToken...) in the wire format of the service's
  protocol (ec2, query, json, rest-json, rest-xml: read from botocore's service model),
  which moto cannot do;
- has the fault mode of the other test servers (:meth:`AwsProxy.inject_faults` with a
  :class:`~tests.hcloud_server.FaultPlan`): a seeded fraction of calls answers throttling
  (the service's own: EC2 503 ``RequestLimitExceeded``, query 400 ``Throttling``, JSON 400
  ``ThrottlingException``, S3 503 ``SlowDown``, REST-JSON 429 ``TooManyRequestsException``;
  or 429 ``TooManyRequestsException`` with ``Retry-After`` and ``x-amz-retry-after``, in the
  protocol's error shape), a 5xx (500 ``InternalError``/``InternalFailure`` and 503
  ``ServiceUnavailable`` in the protocol's shape, a gateway's 502 HTML page, a 504 without a
  body), an answer slower than the client's read timeout, or a dropped connection (closed or
  reset). ``requests`` logs every call as (method, "service region action path body"), the
  identity the plan decides on (a retry repeats it exactly), and ``fault_counts`` counts what
  was injected.

moto keeps its state in the process, shared by every moto server of the process:
`start_moto` resets it, so one estate at a time. The test estate is populated directly
against moto (`moto_url`), so the proxy's record holds the collector's calls only.

For the benchmark only (bench/bench_prowler.py; off unless `replay` is set, so the tests
always reach moto): a :class:`ReplayCache` keeps moto's answer to each distinct request
(:func:`replay_key`: method, host, path and query, body, the SigV4 scope's service and
region, and the headers that select an answer such as ``X-Amz-Target``; not the signature,
date, user agent or retry headers) and, once switched to serving, answers repeats from it
after the latency, as an endpoint whose answer costs this machine nothing; requests it has
not seen still go to moto and are counted as misses.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import logging
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

import botocore.session  # type: ignore[import-untyped]
from moto.server import ThreadedMotoServer

from providers.aws.apis import APIS
from tests.hcloud_server import GATEWAY_PAGE, FaultPlan, FaultState, drop_connection

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_SERVICES = tuple(sorted({a.service for a in APIS} | {"sts"}))  # what the collector calls


@functools.cache
def protocols() -> dict[str, tuple[str, str, str]]:
    """SigV4 signing name -> (protocol, service id, boto3 name) of the services the collector
    reads, from botocore's own models (elbv2 signs as `elasticloadbalancing`)."""
    session = botocore.session.get_session()
    out = {}
    for name in _SERVICES:
        model = session.get_service_model(name)
        out[model.signing_name] = (str(model.metadata["protocol"]), str(model.service_id), name)
    return out


def protocol_of(service: str) -> str:
    """The wire protocol of a call's service (by its signing name); rest-xml if unknown."""
    return protocols().get(service, ("rest-xml", "", ""))[0]


def signing_name(boto3_name: str) -> str:
    """The SigV4 signing name (what `Call.service` holds) of a boto3 service name."""
    return next((s for s, (_, _, n) in protocols().items() if n == boto3_name), boto3_name)


@functools.cache
def _rest_routes(service: str) -> list[tuple[int, int, bool, str, str, re.Pattern[str],
                                              tuple[tuple[str, str | None], ...]]]:
    """(query literals, path literal length, deprecated, operation, HTTP method, path
    pattern, required query) of each operation of a REST service, most specific first (of
    two with the same route, S3's GetBucketLifecycle and GetBucketLifecycleConfiguration,
    the one not deprecated)."""
    name = protocols().get(service, ("", "", ""))[2]
    if not name:
        return []
    model = botocore.session.get_session().get_service_model(name)
    routes = []
    for op in model.operation_names:
        http = model.operation_model(op).http
        uri, _, query = str(http["requestUri"]).partition("?")
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", uri):
            if part.startswith("{"):
                pattern += ".+" if part.endswith("+}") else "[^/]+"
            else:
                pattern += re.escape(part)
        required = tuple((k, v[0] if v else None) for k, v in (
            (item.partition("=")[0], [item.partition("=")[2]] if "=" in item else [])
            for item in query.split("&") if item))
        literal = len(re.sub(r"\{[^}]+\}", "", uri))
        deprecated = bool(model.operation_model(op).deprecated)
        routes.append((len(required), literal, deprecated, op, str(http["method"]),
                       re.compile(pattern + "/?"), required))
    routes.sort(key=lambda r: (-r[0], -r[1], r[2], r[3]))
    return routes


@functools.cache
def operation_of(service: str, method: str, path: str, action: str) -> str:
    """The API operation a call invokes: the query/JSON action it names, or for a REST
    service the operation whose HTTP method and URI template (with its query literals)
    match, the most specific first; "METHOD /path" if none does."""
    if protocol_of(service) in ("query", "ec2", "json") and action and " " not in action:
        return action
    split = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    for _, _, _, op, verb, pattern, required in _rest_routes(service):
        if verb == method and pattern.fullmatch(split.path) and all(
                k in query and (v is None or v in query[k]) for k, v in required):
            return op
    return f"{method} {split.path}"


@dataclass(frozen=True)
class Call:
    service: str  # the SigV4 signing name (elbv2: elasticloadbalancing)
    region: str
    action: str  # query Action, JSON X-Amz-Target operation, or "METHOD /path" (REST)
    method: str
    path: str

    @property
    def operation(self) -> str:
        """The API operation, for REST calls too (s3 GET /b?encryption: GetBucketEncryption)."""
        return operation_of(self.service, self.method, self.path, self.action)


@dataclass
class Fault:
    """Answer matching calls with an AWS error instead of forwarding them."""

    match: Callable[[Call], bool]
    code: str
    status: int = 403
    message: str = "injected by the test proxy"
    times: int | None = None  # None: always
    hits: int = 0
    answer: Callable[[Call], dict[str, Any]] | None = None  # canned success instead
    # moto's real answer, rewritten (moto's shape put back into AWS's documented one)
    rewrite: Callable[[bytes], bytes] | None = None
    headers: tuple[tuple[str, str], ...] = ()  # added to the error answer (Retry-After...)


# Recorded answers for APIs moto does not implement, served over HTTP in the API's own wire
# format so that the collector's real code path reads them.
# AWS Backup DescribeRegionSettings, the API Reference's Response Syntax (two maps of
# resource type -> boolean) with the types of its "Feature availability by resource" table
BACKUP_REGION_SETTINGS = {
    "ResourceTypeOptInPreference": {"Aurora": True, "DocumentDB": True, "DynamoDB": True,
                                    "EBS": True, "EC2": True, "EFS": True, "FSx": True,
                                    "Neptune": True, "RDS": True, "S3": False,
                                    "Storage Gateway": True, "VirtualMachine": True},
    "ResourceTypeManagementPreference": {"DynamoDB": False, "EFS": True}}
BEDROCK_PROFILES = {"inferenceProfileSummaries": [{
    "inferenceProfileName": "claude-eu-app",
    "inferenceProfileArn": "arn:aws:bedrock:eu-central-1:123456789012:"
                           "application-inference-profile/a1b2c3d4e5f6",
    "inferenceProfileId": "a1b2c3d4e5f6",
    "createdAt": "2025-06-01T08:00:00Z", "updatedAt": "2025-06-01T08:00:00Z",
    "status": "ACTIVE", "type": "APPLICATION",
    "models": [{"modelArn": f"arn:aws:bedrock:{r}::foundation-model/"
                            "anthropic.claude-3-7-sonnet-20250219-v1:0"}
               for r in ("eu-central-1", "eu-west-1", "eu-west-3")]}]}


# Request headers that do not select the answer: signature, time, client identity, retry
# bookkeeping, transport. Every other header is part of a request's replay key.
_UNKEYED = frozenset({"authorization", "x-amz-date", "date", "user-agent", "x-amz-user-agent",
                      "amz-sdk-invocation-id", "amz-sdk-request", "x-amz-security-token",
                      "x-amz-content-sha256", "content-length", "connection",
                      "accept-encoding", "expect", "content-md5", "x-amz-checksum-crc32",
                      "x-amz-sdk-checksum-algorithm"})


def replay_key(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    """What decides an answer of the emulated account: method, host, path with query, body,
    the service and region of the SigV4 credential scope (one endpoint serves every region
    here), and the headers not in `_UNKEYED` (X-Amz-Target, Content-Type, S3's x-amz-*...).
    Two requests with the same key get the same answer from a read-only scan's account."""
    lower = {k.lower(): v for k, v in headers.items()}
    m = _SCOPE.search(lower.get("authorization", ""))
    scope = f"{m.group(2)}/{m.group(1)}" if m else "-"
    kept = sorted((k, v) for k, v in lower.items() if k not in _UNKEYED)
    digest = hashlib.sha256(body).hexdigest() if body else ""
    return json.dumps([method, scope, path, kept, digest])


Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass
class ReplayCache:
    """moto's answers by :func:`replay_key` (the benchmark's endpoint mode), in the order a
    run got them: a request repeated within a run may get a different answer (IAM's
    GenerateCredentialReport answers STARTED, then COMPLETE: Prowler polls it until then),
    so the n-th request of a key in a run gets the n-th answer kept for it (the last one
    beyond those). While `serving` is false every request goes to moto, and an answer is
    kept when its position is new; while true, a kept answer is served without moto, and a
    request of a key never seen goes to moto, is kept, and counts as a miss. `rewind` starts
    a run (the positions from the first answer again)."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    serving: bool = False
    hits: int = 0
    misses: Counter[str] = field(default_factory=Counter)  # operation -> count
    seen: Counter[str] = field(default_factory=Counter)  # key -> requests in this run
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rewind(self) -> None:
        with self.lock:
            self.seen.clear()

    def counts(self) -> tuple[int, int]:
        """(hits, misses) so far."""
        with self.lock:
            return self.hits, sum(self.misses.values())


@dataclass
class AwsProxy:
    moto: ThreadedMotoServer
    moto_url: str
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    latency: float = 0.0  # seconds added to every request (the benchmark's network RTT)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, call identity)
    fault_state: FaultState = field(default_factory=FaultState)
    # CPU seconds the proxy's own handler threads spent (not moto's, which answers in its
    # own threads of the same process): the benchmark tells the two apart with it
    cpu_seconds: float = 0.0
    replay: ReplayCache | None = None  # the benchmark's endpoint mode (None: moto answers)
    # TCP_NODELAY on the scanners' connections (set before start; the benchmark's): an
    # answer is written as headers, then body; with Nagle's algorithm the body waits for
    # the client's delayed ACK of the headers, ~40 ms on Linux loopback, on every call
    nodelay: bool = False
    _server: ThreadingHTTPServer | None = None

    def fail(self, match: Callable[[Call], bool], code: str, status: int = 403,
             times: int | None = None, message: str = "injected by the test proxy") -> None:
        self.faults.append(Fault(match, code, status, message, times))

    def stub(self, match: Callable[[Call], bool],
             answer: Callable[[Call], dict[str, Any]]) -> None:
        """Answer matching calls with `answer(call)` (REST-JSON, HTTP 200)."""
        self.faults.append(Fault(match, "", 200, answer=answer))

    def rewrite(self, match: Callable[[Call], bool], change: Callable[[bytes], bytes]) -> None:
        """Forward matching calls to moto and answer with `change(moto's answer body)`."""
        self.faults.append(Fault(match, "", 200, rewrite=change))

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.faults.clear()
            self.requests.clear()
        self.fault_state.reset(None)
        self.stub_missing()

    def inject_faults(self, plan: FaultPlan | None) -> None:
        """Fault mode: from now on, fault the calls `plan` picks (None: no more faults).
        Resets the counts of calls seen and of faults injected."""
        self.fault_state.reset(plan)

    @property
    def fault_counts(self) -> Counter[str]:
        """Faults injected since the last :meth:`inject_faults`, per kind."""
        return self.fault_state.counts()

    def __enter__(self) -> AwsProxy:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stub_missing(self) -> None:
        """What moto lacks: Bedrock ListInferenceProfiles (one profile in eu-central-1),
        AWS Backup DescribeRegionSettings (GET /account-settings) and
        ListRecoveryPointsByBackupVault (no recovery points), DynamoDB ListGlobalTables (no
        legacy global tables)."""
        self.stub(lambda c: c.service == "bedrock" and "/inference-profiles" in c.path,
                  lambda c: BEDROCK_PROFILES if c.region == "eu-central-1"
                  else {"inferenceProfileSummaries": []})
        self.stub(lambda c: c.service == "backup" and c.path.startswith("/account-settings"),
                  lambda c: BACKUP_REGION_SETTINGS)
        self.stub(lambda c: c.service == "dynamodb" and c.action == "ListGlobalTables",
                  lambda c: {"GlobalTables": []})
        self.stub(lambda c: c.service == "backup" and c.path.startswith("/backup-vaults/")
                  and "/recovery-points" in c.path, lambda c: {"RecoveryPoints": []})

    def start(self) -> AwsProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = proxy.nodelay

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                # this thread's CPU: the proxy's work, its client to moto included (moto
                # answers in threads of its own; sleeping counts nothing)
                started = time.thread_time()
                try:
                    self._answer()
                finally:
                    spent = time.thread_time() - started
                    with proxy.lock:
                        proxy.cpu_seconds += spent

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                call = proxy.describe(self.command, self.path, dict(self.headers), body)
                key = identity(call, body)
                if proxy.latency:
                    time.sleep(proxy.latency)
                with proxy.lock:
                    proxy.calls.append(call)
                    proxy.requests.append((self.command, key))
                transient = proxy.fault_state.take(self.command, key)
                answer: tuple[int, list[tuple[str, str]], bytes] | None = None
                if transient is not None:
                    kind, variant = transient
                    plan = proxy.fault_state.plan
                    if kind == "drop":
                        drop_connection(self, reset=bool(variant % 2))
                        return
                    if kind == "slow":  # then the real answer, after the client gave up
                        time.sleep(plan.slow_seconds if plan else 2.0)
                    else:
                        answer = fault_answer(call, kind, variant,
                                              plan.retry_after if plan else 0)
                with proxy.lock:
                    fault = next((f for f in proxy.faults if f.match(call)
                                  and (f.times is None or f.hits < f.times)), None)
                    if fault is not None and answer is None:
                        fault.hits += 1
                if answer is not None:
                    status, headers, payload = answer
                elif fault is not None and fault.rewrite is not None:
                    status, headers, payload = proxy.forward(self.command, self.path,
                                                             dict(self.headers), body)
                    payload = fault.rewrite(payload)
                elif fault is not None and fault.answer is not None:
                    status, headers, payload = 200, [("Content-Type", "application/json")], \
                        json.dumps(fault.answer(call)).encode()
                    cache = proxy.replay
                    if cache is not None and cache.serving:  # served without moto too
                        with cache.lock:
                            cache.hits += 1
                elif fault is not None:
                    status, headers, payload = error_response(call, fault)
                else:
                    status, headers, payload = proxy.moto_answer(
                        self.command, self.path, dict(self.headers), body, call)
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                         "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.stub_missing()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def describe(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Call:
        lower = {k.lower(): v for k, v in headers.items()}
        m = _SCOPE.search(lower.get("authorization", ""))
        region, service = (m.group(1), m.group(2)) if m else ("?", "?")
        action = ""
        if lower.get("x-amz-target"):
            action = lower["x-amz-target"].split(".")[-1]
        elif body and "application/x-www-form-urlencoded" in lower.get("content-type", ""):
            action = urllib.parse.parse_qs(body.decode()).get("Action", [""])[0]
        if not action:
            query = urllib.parse.urlparse(path).query
            action = urllib.parse.parse_qs(query).get("Action", [""])[0] or \
                f"{method} {urllib.parse.urlparse(path).path}"
        return Call(service, region, action, method, path)

    def moto_answer(self, method: str, path: str, headers: dict[str, str], body: bytes,
                    call: Call) -> tuple[int, list[tuple[str, str]], bytes]:
        """moto's answer, or with a replay cache its kept answer to the same request."""
        cache = self.replay
        if cache is None:
            return self.forward(method, path, headers, body)
        key = replay_key(method, path, headers, body)
        with cache.lock:
            position = cache.seen[key]
            cache.seen[key] += 1
            kept = cache.answers.get(key)
            if cache.serving and kept:
                cache.hits += 1
                return kept[min(position, len(kept) - 1)]
        answer = self.forward(method, path, headers, body)
        with cache.lock:
            kept = cache.answers.setdefault(key, [])
            if position == len(kept):
                kept.append(answer)
            if cache.serving:
                cache.misses[f"{call.service}:{call.operation}"] += 1
        return answer

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes
                ) -> tuple[int, list[tuple[str, str]], bytes]:
        target = urllib.parse.urlparse(self.moto_url)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        try:
            conn.request(method, path, body=body or None,
                         headers={k: v for k, v in headers.items()
                                  if k.lower() not in ("connection",)})
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, resp.getheaders(), payload
        finally:
            conn.close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that gave up (slow answer) or a dropped connection: no traceback


def identity(call: Call, body: bytes) -> str:
    """What makes a call the same call: service, region, action (JSON protocols name it in
    a header), path and body. A retry repeats all five; two regions, two operations or two
    pages differ. Long or binary bodies by their digest."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        text = ""
    if not text.isprintable() or len(text) > 512:
        text = "sha256:" + hashlib.sha256(body).hexdigest()
    return f"{call.service} {call.region} {call.action} {call.path} {text}"


def aws_error(service: str, code: str, message: str, status: int,
              headers: tuple[tuple[str, str], ...] = ()
              ) -> tuple[int, list[tuple[str, str]], bytes]:
    """An AWS error answer in the wire format of `service`'s protocol, as botocore parses it."""
    rid = "proxy-0000"
    protocol = protocol_of(service)
    msg = escape(message)
    extra = list(headers)
    if protocol == "json":
        service_id = protocols().get(service, ("", service, ""))[1].lower().replace(" ", "")
        # some services qualify the code with their namespace; botocore takes the last part
        kind = code if status != 400 else f"com.amazonaws.{service_id}#{code}"
        body = json.dumps({"__type": kind, "message": message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1"),
                        ("x-amzn-RequestId", rid), *extra], body
    if protocol == "rest-json":
        body = json.dumps({"message": message, "Message": message, "Type": "User"}).encode()
        return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                        ("x-amzn-RequestId", rid), *extra], body
    if protocol == "ec2":
        body = (f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{msg}"
                f"</Message></Error></Errors><RequestID>{rid}</RequestID></Response>").encode()
        return status, [("Content-Type", "text/xml"), *extra], body
    if protocol == "query" or service == "cloudfront":
        side = "Sender" if status < 500 else "Receiver"
        body = (f"<ErrorResponse><Error><Type>{side}</Type><Code>{escape(code)}</Code>"
                f"<Message>{msg}</Message></Error><RequestId>{rid}</RequestId>"
                f"</ErrorResponse>").encode()
        return status, [("Content-Type", "text/xml"), *extra], body
    body = (f"<Error><Code>{escape(code)}</Code><Message>{msg}</Message>"
            f"<RequestId>{rid}</RequestId></Error>").encode()
    return status, [("Content-Type", "application/xml"), *extra], body


def error_response(call: Call, fault: Fault) -> tuple[int, list[tuple[str, str]], bytes]:
    return aws_error(call.service, fault.code, fault.message, fault.status, fault.headers)


# The service's own throttling answer, by protocol (S3 and EC2 throttle with a 503).
_THROTTLE = {"ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
             "query": (400, "Throttling", "Rate exceeded"),
             "json": (400, "ThrottlingException", "Rate exceeded"),
             "rest-json": (429, "TooManyRequestsException", "Rate exceeded"),
             "rest-xml": (400, "Throttling", "Rate exceeded")}
_UNAVAILABLE = {"ec2": "Unavailable", "json": "ServiceUnavailableException",
                "rest-json": "ServiceUnavailableException"}


def fault_answer(call: Call, kind: str, variant: int, retry_after: int
                 ) -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer of a transient fault of `kind` ("throttle" or "server_error")."""
    protocol = protocol_of(call.service)
    if kind == "throttle":
        later = (("Retry-After", str(retry_after)), ("x-amz-retry-after", str(retry_after * 1000)))
        if variant % 2:  # a rate limiter's 429, in the protocol's error shape
            return aws_error(call.service, "TooManyRequestsException", "Too Many Requests",
                             429, later)
        if call.service == "s3":
            return aws_error("s3", "SlowDown", "Please reduce your request rate.", 503)
        status, code, message = _THROTTLE[protocol]
        return aws_error(call.service, code, message, status,
                         later if status == 429 else ())
    which = variant % 4
    if which == 1:  # a gateway in front answers, in HTML
        return 502, [("Content-Type", "text/html")], GATEWAY_PAGE
    if which == 3:  # a load balancer's time-out: no body at all
        return 504, [("Content-Type", "text/plain")], b""
    if which == 0:
        code = "InternalFailure" if protocol in ("json", "rest-json") else "InternalError"
        return aws_error(call.service, code, "We encountered an internal error. Please try "
                         "again.", 500)
    return aws_error(call.service, _UNAVAILABLE.get(protocol, "ServiceUnavailable"),
                     "Service is unavailable. Please try again.", 503)


def start_moto() -> tuple[ThreadedMotoServer, str]:
    """A moto server on loopback with empty state (moto's backends are per process: what an
    earlier server of the process created is gone)."""
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("POST", "/moto-api/reset")
        if conn.getresponse().status != 200:
            raise RuntimeError("moto did not reset its state")
    finally:
        conn.close()
    return server, url


@contextmanager
def serving(moto: ThreadedMotoServer, url: str) -> Iterator[AwsProxy]:
    """The recording proxy in front of a started moto server; both stopped on leaving."""
    proxy = AwsProxy(moto, url).start()
    try:
        yield proxy
    finally:
        proxy.stop()
        moto.stop()
