"""A moto server for the AWS tests, and an HTTP proxy in front of it.

The collector talks to the proxy exactly as to AWS (boto3 over HTTP, `AWS_ENDPOINT_URL`);
the proxy forwards every request to a `moto.server.ThreadedMotoServer` and

- records each call as (service, region, action, HTTP method), read from the SigV4
  credential scope and the protocol's action field (query `Action=`, JSON `X-Amz-Target`,
  REST method and path), so a test can see every call the collector made;
- can answer chosen calls itself with a botocore-shaped AWS error (AccessDenied in one
  region, Throttling a few times, ExpiredToken...) in the wire format of the service's
  protocol, which moto cannot do.

The test estate is populated directly against moto (`moto_url`), so the proxy's record holds
the collector's calls only.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.server import ThreadedMotoServer

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
QUERY_SERVICES = {"ec2", "iam", "rds", "elasticloadbalancing", "sts", "sns", "sqs",
                  "cloudformation", "autoscaling"}
JSON_SERVICES = {"kms", "acm", "cloudtrail", "wafv2", "logs", "dynamodb"}


@dataclass(frozen=True)
class Call:
    service: str
    region: str
    action: str
    method: str
    path: str


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


# Recorded answers for APIs moto does not implement, served over HTTP in the API's own wire
# format so that the collector's real code path reads them.
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


@dataclass
class AwsProxy:
    moto: ThreadedMotoServer
    moto_url: str
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    latency: float = 0.0  # seconds added to every request (the benchmark's network RTT)
    _server: ThreadingHTTPServer | None = None

    def fail(self, match: Callable[[Call], bool], code: str, status: int = 403,
             times: int | None = None, message: str = "injected by the test proxy") -> None:
        self.faults.append(Fault(match, code, status, message, times))

    def stub(self, match: Callable[[Call], bool],
             answer: Callable[[Call], dict[str, Any]]) -> None:
        """Answer matching calls with `answer(call)` (REST-JSON, HTTP 200)."""
        self.faults.append(Fault(match, "", 200, answer=answer))

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.faults.clear()
        self.stub_missing()

    def stub_missing(self) -> None:
        """What moto lacks: Bedrock ListInferenceProfiles (one profile in eu-central-1)."""
        self.stub(lambda c: c.service == "bedrock" and "/inference-profiles" in c.path,
                  lambda c: BEDROCK_PROFILES if c.region == "eu-central-1"
                  else {"inferenceProfileSummaries": []})

    def start(self) -> AwsProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                call = proxy.describe(self.command, self.path, dict(self.headers), body)
                if proxy.latency:
                    time.sleep(proxy.latency)
                with proxy.lock:
                    proxy.calls.append(call)
                    fault = next((f for f in proxy.faults if f.match(call)
                                  and (f.times is None or f.hits < f.times)), None)
                    if fault is not None:
                        fault.hits += 1
                if fault is not None and fault.answer is not None:
                    status, headers, payload = 200, [("Content-Type", "application/json")], \
                        json.dumps(fault.answer(call)).encode()
                elif fault is not None:
                    status, headers, payload = error_response(call, fault)
                else:
                    status, headers, payload = proxy.forward(self.command, self.path,
                                                             dict(self.headers), body)
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

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
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


def error_response(call: Call, fault: Fault) -> tuple[int, list[tuple[str, str]], bytes]:
    rid = "proxy-0000"
    if call.service in JSON_SERVICES or call.service in ("guardduty", "backup", "bedrock",
                                                         "lambda"):
        body = json.dumps({"__type": fault.code, "message": fault.message,
                           "Message": fault.message}).encode()
        return fault.status, [("Content-Type", "application/x-amz-json-1.1"),
                              ("x-amzn-ErrorType", fault.code),
                              ("x-amzn-RequestId", rid)], body
    if call.service == "ec2":
        body = (f"<Response><Errors><Error><Code>{fault.code}</Code><Message>{fault.message}"
                f"</Message></Error></Errors><RequestID>{rid}</RequestID></Response>").encode()
        return fault.status, [("Content-Type", "text/xml")], body
    if call.service in QUERY_SERVICES:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code>"
                f"<Message>{fault.message}</Message></Error><RequestId>{rid}</RequestId>"
                f"</ErrorResponse>").encode()
        return fault.status, [("Content-Type", "text/xml")], body
    body = (f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message>"
            f"<RequestId>{rid}</RequestId></Error>").encode()
    return fault.status, [("Content-Type", "application/xml")], body


def start_moto() -> tuple[ThreadedMotoServer, str]:
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"
