"""The TLS probe (`--probe-tls`): connect to every public TLS endpoint and record which
protocol versions it accepts, so TLS-04 judges what the endpoint does, not only what its
configuration says.

Opt-in and live. It only makes TLS handshakes (one plain ClientHello first, then sslyze:
one per cipher suite of each of SSL 2.0, SSL 3.0, TLS 1.0, 1.1, 1.2 and 1.3, no certificate
validation, no HTTP request, no cloud API call), so it needs no cloud permission, only
network egress to the endpoints. An endpoint that accepts TCP and does not answer the first
ClientHello within the timeout is recorded as `timeout` without sslyze's sequence (which
would wait out the timeout eleven times and then call it "no TLS").

Which endpoints (`endpoints`, one function for the probe and for the check, on the model,
never on a provider's fields):
- every listener with protocol https, tls or tcp and a port, of a load balancer with a
  public IP or public endpoint (TLS-01's "external listener"), at the load balancer's first
  public host name (`public_hostnames`), else its first public IPv4 address, else IPv6;
- every App Service-like resource with a public endpoint and a public host name, on 443.

Results are recorded in each section as the collection `tls_probes` (region `global`), one
object per endpoint (see docs/snapshot-format.md): replaying the snapshot gives the same
TLS-04 findings offline. `attach` puts each result on its resource as the `tls_probe`
property after normalizing; a probed section's endpoint without a result gets `None`
(TLS-04: error), an unprobed section's gets nothing (TLS-04: not probed).
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import logging
import queue
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from scanner import progress
from scanner.graph import EstateGraph
from scanner.model import Inventory, Kind, RelationType, Resource
from scanner.redact import scrub

if TYPE_CHECKING:
    from sslyze.scanner.models import ServerScanRequest, ServerScanResult

    from scanner.provider import Provider
    from scanner.snapshot import Section

log = logging.getLogger("posture.probe")

COLLECTION = "tls_probes"
JUDGED_BY = frozenset({"TLS-04"})  # the checks that read `tls_probe`: probe only for them
# Protocol versions as recorded, lowest first, with the (major, minor) they compare by: SSL
# 3.0 is "0.3", below every TLS version (as the AWS normalizer maps SSLv3).
VERSIONS: dict[str, tuple[int, int]] = {
    "SSLv2": (0, 2), "SSLv3": (0, 3), "TLSv1.0": (1, 0), "TLSv1.1": (1, 1),
    "TLSv1.2": (1, 2), "TLSv1.3": (1, 3),
}
TLS_PROTOCOLS = ("https", "tls", "tcp")  # listener protocols that may carry TLS
DEFAULT_TIMEOUT = 5  # seconds per connection attempt
DEFAULT_CONCURRENCY = 10  # endpoints probed at once
CONNECTIONS_PER_ENDPOINT = 5  # sslyze's default; handshakes in flight against one endpoint
RETRIES = 1  # sslyze retries of a connection that failed
# An endpoint whose result has not come back within this many connection timeouts of the
# start of its own probe is recorded as `timeout`: the probe never waits without bound. A
# responsive endpoint needs a few hundred handshakes, about one timeout's worth of time.
BUDGET_TIMEOUTS = 24
MAX_CIPHERS = 10  # accepted cipher suites kept per version
APP_PORT = 443


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One public TLS endpoint: the resource TLS-04 judges and where to connect."""

    resource: str  # listener or app service id
    host: str | None  # DNS name or IP address; None: no public address is known
    port: int
    protocol: str  # what the configuration declares: https, tls or tcp

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource, "host": self.host, "port": self.port,
                "protocol": self.protocol}


def version_key(name: str) -> tuple[int, int]:
    return VERSIONS[name]


def tls_version_name(min_tls: str) -> str:
    """"1.2" -> "TLSv1.2" (a profile's min_tls as a recorded version name)."""
    return f"TLSv{min_tls}"


def _first_address(resource: Resource) -> str | None:
    names = [str(n) for n in resource.prop("public_hostnames") or [] if n]
    if names:
        return names[0]
    v4: list[str] = []
    v6: list[str] = []
    for value in resource.prop("public_ips") or []:
        try:
            ip = ipaddress.ip_address(str(value))
        except ValueError:
            continue  # an IPv6 network (a server's /64), not an address to connect to
        (v4 if ip.version == 4 else v6).append(str(ip))
    return (v4 or v6)[0] if v4 or v6 else None


def endpoints(graph: EstateGraph) -> list[Endpoint]:
    """Every public TLS endpoint of the estate, sorted by resource id."""
    out: list[Endpoint] = []
    for listener in graph.of_kind(Kind.LISTENER):
        protocol = listener.prop("protocol")
        port = listener.prop("port")
        if protocol not in TLS_PROTOCOLS or type(port) is not int:
            continue
        lbs = [lb for lb in graph.related(listener.id, RelationType.MEMBER_OF)
               if lb.prop("public_ips") or lb.prop("public_endpoint")]
        if lbs:
            out.append(Endpoint(listener.id, _first_address(lbs[0]), port, str(protocol)))
    for app in graph.of_kind(Kind.APP_SERVICE):
        host = _first_address(app)
        if app.prop("public_endpoint") and app.prop("public_hostnames") and host:
            out.append(Endpoint(app.id, host, APP_PORT, "https"))
    return sorted(out, key=lambda e: e.resource)


# --- recording results ---------------------------------------------------------------------


def probe_sections(sections: Iterable[Section], provider: Provider,
                   options: Mapping[str, Any]) -> None:
    """Probe the public TLS endpoints of freshly collected sections; add each section's
    results as its `tls_probes` collection (an empty one when it has no endpoint)."""
    from scanner.snapshot import GLOBAL  # snapshots: imported by a live scan only

    timeout = int(options.get("probe_timeout") or DEFAULT_TIMEOUT)
    concurrency = int(options.get("probe_concurrency") or DEFAULT_CONCURRENCY)
    for section in sections:
        found = endpoints(EstateGraph([provider.normalize(section)]))
        progress.report(options, section.provider, "tls", f"probe of {len(found)} endpoints")
        log.info("probing %d TLS endpoint(s) of %s:%s", len(found), section.provider,
                 section.account)
        started = time.monotonic()
        results = probe(found, timeout, concurrency)
        log.info("probed %d endpoint(s) in %.1f s", len(found), time.monotonic() - started)
        failed = [r for r in results if r["status"] != "completed"
                  and not (r["error"]["reason"] == "no_tls" and r["protocol"] == "tcp")]
        if failed:
            log.warning("%s:%s: %d of %d TLS endpoint(s) could not be probed (recorded; TLS-04 "
                        "reports them as errors), e.g. %s:%s: %s", section.provider,
                        section.account, len(failed), len(found), failed[0]["host"],
                        failed[0]["port"], failed[0]["error"]["reason"])
        section.add(COLLECTION, GLOBAL, results)


def probe(found: list[Endpoint], timeout: int = DEFAULT_TIMEOUT,
          concurrency: int = DEFAULT_CONCURRENCY) -> list[dict[str, Any]]:
    """One result per endpoint, in the order given; never raises for an endpoint's sake
    (whatever goes wrong is that endpoint's recorded error: fail closed).

    Each endpoint is probed on its own (`concurrency` at a time): first one plain TLS
    ClientHello (`_first_hello`), then, if the endpoint answered it, sslyze's full sequence.
    An endpoint that accepts TCP and then never answers costs one timeout, and a slow one
    never holds the others' results; `seconds` is each endpoint's own time."""
    from scanner.snapshot import now

    if not found:
        return []
    started_at = now()
    with ThreadPoolExecutor(max_workers=max(1, concurrency),
                            thread_name_prefix="posture-tls-probe") as pool:
        return list(pool.map(lambda ep: _probe_one(ep, timeout, started_at), found))


def _probe_one(ep: Endpoint, timeout: int, started_at: str) -> dict[str, Any]:
    started = time.monotonic()
    try:
        request, failure = _request(ep, timeout)
        if request is None:
            return _error(ep, started_at, started, *failure)
        address = request.server_location.ip_address or str(ep.host)
        first = _first_hello(address, ep.port, request.server_location.hostname, timeout)
        if first.stalled is not None:
            return {**_error(ep, started_at, started, "timeout", first.stalled),
                    "address": address}
        return _scan(ep, request, first, timeout, started_at, started)
    except Exception as exc:  # sslyze itself failed: this endpoint's error
        log.debug("TLS probe of %s:%s failed", ep.host, ep.port, exc_info=True)
        return _error(ep, started_at, started, "bug",
                      f"the probe failed: {type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class FirstHello:
    """What the first plain ClientHello showed."""

    stalled: str | None  # why the endpoint is a `timeout` (no answer in time); None: answered
    handshake: bool = False  # a TLS handshake completed: the endpoint speaks TLS


def _first_hello(address: str, port: int, server_name: str, timeout: int) -> FirstHello:
    """Connect and send one ClientHello (TLS 1.0 to 1.3, every cipher suite the local
    OpenSSL has, no certificate validation), waiting `timeout` seconds for the TCP connection
    and again for the answer. Any answer (a ServerHello, an alert, a banner, a reset, the
    connection closed) means the endpoint responds: sslyze's sequence then decides. No
    answer in time is a stall: sslyze would wait out the timeout on each of its eleven
    connectivity handshakes and then call the endpoint "no TLS", which a stall does not
    prove (issue 20)."""
    import socket  # here, not at start-up (scanner.probe is imported by every command)
    import ssl

    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except TimeoutError:
        return FirstHello(f"{address}:{port}: no TCP connection within the {timeout} s timeout")
    except OSError:
        return FirstHello(None)  # refused or unreachable: sslyze records which
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with contextlib.suppress(ValueError, ssl.SSLError):
        with warnings.catch_warnings():  # TLS 1.0 is deprecated: offering it is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    sni = None if _is_address(server_name) else server_name
    try:
        with context.wrap_socket(sock, server_hostname=sni,
                                 do_handshake_on_connect=False) as tls:
            tls.settimeout(timeout)
            tls.do_handshake()
    except TimeoutError:
        return FirstHello(f"{address}:{port}: accepted the TCP connection, then did not answer "
                          f"a TLS ClientHello within the {timeout} s timeout")
    except (OSError, ValueError):  # ssl.SSLError is an OSError: an answer, not TLS's
        return FirstHello(None)
    finally:
        sock.close()
    return FirstHello(None, handshake=True)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _scan(ep: Endpoint, request: ServerScanRequest, first: FirstHello, timeout: int,
          started_at: str, started: float) -> dict[str, Any]:
    """sslyze's sequence for one endpoint, waiting at most BUDGET_TIMEOUTS timeouts."""
    from sslyze.scanner.scanner import Scanner

    scanner = Scanner(per_server_concurrent_connections_limit=CONNECTIONS_PER_ENDPOINT,
                      concurrent_server_scans_limit=1)
    scanner.queue_scans([request])
    done: queue.Queue[Any] = queue.Queue()

    def consume() -> None:  # sslyze's threads are daemons: a stuck endpoint is abandoned
        try:
            for result in scanner.get_results():
                done.put(result)
        except Exception as exc:
            done.put(exc)
        done.put(None)

    threading.Thread(target=consume, name="posture-tls-sslyze", daemon=True).start()
    budget = BUDGET_TIMEOUTS * timeout
    try:
        item = done.get(timeout=max(0.0, started + budget - time.monotonic()))
    except queue.Empty:
        item = None
    if isinstance(item, Exception):
        raise item
    if item is None:
        return {**_error(ep, started_at, started, "timeout",
                         f"no result within {budget} s ({BUDGET_TIMEOUTS} x the {timeout} s "
                         "connection timeout)"),
                "address": request.server_location.ip_address}
    out = _result(ep, item, started_at, started)
    error = out.get("error")
    if first.handshake and isinstance(error, dict) and error.get("reason") == "no_tls":
        # The first hello completed a TLS handshake, so "no TLS" is wrong: the endpoint
        # stopped answering sslyze's handshakes (an intrusion-prevention system, a limit).
        error.update(reason="unreachable", message=scrub(
            "a TLS handshake completed on the first connection, then none of the probe's "
            f"did: {error.get('message')}"))
    return out


def _request(ep: Endpoint, timeout: int
             ) -> tuple[ServerScanRequest | None, tuple[str, str]]:
    """The sslyze request for an endpoint, or (None, (reason, message))."""
    from sslyze.errors import ServerHostnameCouldNotBeResolved
    from sslyze.plugins.scan_commands import ScanCommand
    from sslyze.scanner.models import ServerScanRequest
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    if ep.host is None:
        return None, ("no_address", "no public address or host name is known for it")
    try:
        ipaddress.ip_address(ep.host)
        literal: str | None = ep.host
    except ValueError:
        literal = None  # a DNS name: sslyze resolves it (IPv4 preferred)
    try:
        location = ServerNetworkLocation(hostname=ep.host, port=ep.port, ip_address=literal)
    except ServerHostnameCouldNotBeResolved:
        return None, ("unresolved", f"{ep.host} could not be resolved")
    except (UnicodeError, ValueError) as exc:
        return None, ("unresolved", f"{ep.host!r} is not a usable host name ({exc})")
    commands = {ScanCommand.SSL_2_0_CIPHER_SUITES, ScanCommand.SSL_3_0_CIPHER_SUITES,
                ScanCommand.TLS_1_0_CIPHER_SUITES, ScanCommand.TLS_1_1_CIPHER_SUITES,
                ScanCommand.TLS_1_2_CIPHER_SUITES, ScanCommand.TLS_1_3_CIPHER_SUITES}
    config = ServerNetworkConfiguration(tls_server_name_indication=location.hostname,
                                        network_timeout=timeout, network_max_retries=RETRIES)
    return ServerScanRequest(server_location=location, scan_commands=commands,
                             network_configuration=config), ("", "")


def _base(ep: Endpoint, started_at: str, started: float) -> dict[str, Any]:
    from sslyze.__version__ import __version__ as sslyze_version

    return {**ep.to_json(), "server_name": ep.host, "probed_at": started_at,
            "seconds": round(time.monotonic() - started, 2), "tool": f"sslyze {sslyze_version}"}


def _error(ep: Endpoint, started_at: str, started: float, reason: str, message: str
           ) -> dict[str, Any]:
    return {**_base(ep, started_at, started), "address": None, "status": "error",
            "error": {"reason": reason, "message": scrub(message)}, "protocols": {},
            "ciphers": {}, "negotiated": None}


def _connectivity_reason(exc_type: type[BaseException] | None) -> str:
    from sslyze.errors import (
        ConnectionToServerFailed,
        ConnectionToServerTimedOut,
        ServerRejectedConnection,
        TlsHandshakeFailed,
    )

    if exc_type is None:
        return "bug"
    if issubclass(exc_type, ServerRejectedConnection):
        return "refused"
    if issubclass(exc_type, ConnectionToServerTimedOut):
        return "timeout"
    if issubclass(exc_type, TlsHandshakeFailed):
        return "no_tls"  # TCP connected, but no handshake of any version completed
    if issubclass(exc_type, ConnectionToServerFailed):
        return "unreachable"
    return "bug"


_ATTEMPTS = (("SSLv2", "ssl_2_0_cipher_suites"), ("SSLv3", "ssl_3_0_cipher_suites"),
             ("TLSv1.0", "tls_1_0_cipher_suites"), ("TLSv1.1", "tls_1_1_cipher_suites"),
             ("TLSv1.2", "tls_1_2_cipher_suites"), ("TLSv1.3", "tls_1_3_cipher_suites"))


def _result(ep: Endpoint, result: ServerScanResult, started_at: str, started: float
            ) -> dict[str, Any]:
    from sslyze.scanner.models import ServerScanStatusEnum
    from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum

    out = _base(ep, started_at, started)
    out["address"] = result.server_location.ip_address
    if result.scan_status is not ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        trace = result.connectivity_error_trace
        exc_type = getattr(trace, "exc_type", None)
        message = str(trace) if trace else "no result"
        return {**out, "status": "error",
                "error": {"reason": _connectivity_reason(exc_type), "message": scrub(message)},
                "protocols": {}, "ciphers": {}, "negotiated": None}
    protocols: dict[str, str] = {}
    ciphers: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for name, attr in _ATTEMPTS:
        attempt = getattr(result.scan_result, attr)
        if attempt.status is ScanCommandAttemptStatusEnum.COMPLETED and attempt.result:
            accepted = [c.cipher_suite.name for c in attempt.result.accepted_cipher_suites]
            protocols[name] = "accepted" if accepted else "refused"
            if accepted:
                ciphers[name] = sorted(accepted)[:MAX_CIPHERS]
        elif attempt.status is ScanCommandAttemptStatusEnum.ERROR:
            protocols[name] = "error"
            trace = attempt.error_trace
            reason = attempt.error_reason.value if attempt.error_reason else "ERROR"
            errors[name] = scrub(f"{reason}: {trace}" if trace else reason)
        else:
            protocols[name] = "not_tested"
    connectivity = result.connectivity_result
    negotiated = None
    if connectivity is not None:
        negotiated = {"protocol": _version_of(connectivity.highest_tls_version_supported.name),
                      "cipher": connectivity.cipher_suite_supported}
    out.update({"status": "completed", "error": None, "protocols": protocols,
                "ciphers": ciphers, "negotiated": negotiated})
    if errors:
        out["version_errors"] = errors
    return out


def _version_of(enum_name: str) -> str:
    """sslyze's TlsVersionEnum name ("TLS_1_2", "SSL_3_0") -> "TLSv1.2", "SSLv3"."""
    family, major, minor = enum_name.split("_")
    return f"SSLv{major}" if family == "SSL" else f"TLSv{major}.{minor}"


# --- replaying results -------------------------------------------------------------------


def attach(inv: Inventory, section: Section) -> Inventory:
    """Put the recorded probe results of a probed section on their resources (`tls_probe`);
    endpoints without a result get None. An unprobed section's inventory is returned as is."""
    if COLLECTION not in section.collections:
        return inv
    recorded: dict[str, dict[str, Any]] = {}
    for obj in section.items(COLLECTION):
        rid = obj.get("resource")
        if isinstance(rid, str):  # a copy: the engine may empty raw objects once normalized
            recorded[rid] = copy.deepcopy(obj)
    resources = tuple(
        replace(r, properties={**r.properties, "tls_probe": recorded.get(r.id)})
        if r.kind in (Kind.LISTENER, Kind.APP_SERVICE) else r
        for r in inv.resources)
    return replace(inv, resources=resources)
