"""TLS-04 and the TLS probe (--probe-tls), over real protocols on loopback.

The Hetzner API test server (tests/hcloud_server.py, the real hcloud client) returns a load
balancer whose public IPv4 is 127.0.0.1 and whose services listen on the ports of real TLS
servers (tests/tls_servers.py): one accepting TLS 1.0-1.3, one TLS 1.2-1.3 only, a closed
port and an SSH banner behind a TCP service. sslyze probes them for real; certificates come
from a throwaway CA nobody trusts. Azure and AWS endpoints (a public IP's DNS name, a load
balancer's DNS name) are probed through the same code on their bundled estates, pointed at
`localhost`.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from providers.aws import PROVIDER as AWS
from providers.azure import PROVIDER as AZURE
from scanner import probe, snapshot
from scanner.snapshot import Snapshot
from tests.hcloud_server import HcloudServer
from tests.helpers import ROOT, SEED002, claims_of, findings_of, run
from tests.tls_servers import (
    LEGACY,
    MODERN,
    PlainServer,
    SilentServer,
    TlsServer,
    closed_port,
    legacy_protocols_supported_by_system_openssl,
)

TOKEN = "hcloud-probe-token-0123456789abcdef0123456789abcdef0123456789ab"
LB = "hetzner:ohallo-prod/load_balancer/390/service/"

pytestmark = pytest.mark.skipif(
    not legacy_protocols_supported_by_system_openssl(),
    reason="this machine's OpenSSL cannot serve TLS 1.0 (needed for the failing endpoint)")


@dataclass
class Endpoints:
    legacy: TlsServer
    modern: TlsServer
    plain: PlainServer
    closed: int

    def connections(self) -> int:
        return self.legacy.connections + self.modern.connections + self.plain.connections


@pytest.fixture
def servers() -> Iterator[Endpoints]:
    with TlsServer(LEGACY) as legacy, TlsServer(MODERN) as modern, PlainServer() as plain:
        yield Endpoints(legacy, modern, plain, closed_port())


def _service(protocol: str, port: int) -> dict[str, Any]:
    http = None if protocol == "tcp" else {
        "certificates": [], "cookie_lifetime": 300, "cookie_name": "HCLBSTICKY",
        "redirect_http": False, "sticky_sessions": False, "timeout_idle": 60}
    return {"destination_port": 8443, "listen_port": port, "protocol": protocol,
            "proxyprotocol": False, "http": http,
            "health_check": {"interval": 15, "port": 8443, "protocol": "tcp", "retries": 3,
                             "timeout": 10, "http": None}}


def hetzner_estate(ep: Endpoints, services: list[dict[str, Any]] | None = None
                   ) -> dict[str, list[dict[str, Any]]]:
    """The seed-002 project with one load balancer, on 127.0.0.1, in front of the servers
    (or of the `services` given)."""
    doc = json.loads(SEED002.read_text())
    data = {name: regions["global"]
            for name, regions in doc["sections"][0]["collections"].items()}
    lb = copy.deepcopy(data["load_balancers"][0])
    lb.update(id=390, name="lb-probe", targets=[], private_net=[], services=services or [
        _service("https", ep.legacy.port), _service("https", ep.modern.port),
        _service("https", ep.closed), _service("tcp", ep.plain.port)])
    lb["public_net"] = {"enabled": True, "ipv4": {"ip": "127.0.0.1", "dns_ptr": None},
                        "ipv6": {"ip": "::1", "dns_ptr": None}}
    data["load_balancers"] = [lb]  # nothing but loopback gets probed
    return data


@pytest.fixture
def api(servers: Endpoints) -> Iterator[HcloudServer]:
    with HcloudServer(hetzner_estate(servers), token=TOKEN) as server:
        yield server


def env(api: HcloudServer) -> dict[str, str]:
    return {"HCLOUD_ENDPOINT": api.url, "HCLOUD_TOKEN": TOKEN,
            "POSTURE_HETZNER_PROJECT": "ohallo-prod"}


def tls04(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["resource"]: f for f in findings_of(doc) if f["check"] == "TLS-04"}


def scan(*args: str, environ: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = run("scan", *args, "--checks", "TLS-04", "--format", "json", "--no-timestamps",
                 env=environ)
    assert result.stdout, f"exit {result.exit_code}: {result.stderr}"  # says why, if it fails
    return result.exit_code, json.loads(result.stdout)


def test_live_probe_fails_tls10_endpoint_passes_tls12_only_errors_on_closed_port(
        api: HcloudServer, servers: Endpoints) -> None:
    code, doc = scan("hetzner", "--probe-tls", environ=env(api))
    got = tls04(doc)
    legacy, modern = got[f"{LB}{servers.legacy.port}"], got[f"{LB}{servers.modern.port}"]
    closed, plain = got[f"{LB}{servers.closed}"], got[f"{LB}{servers.plain.port}"]
    assert legacy["status"] == "fail"
    assert legacy["message"] == "accepted TLS 1.0, TLS 1.1 (below TLS 1.2)"
    assert legacy["evidence"]["accepted"] == ["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert legacy["evidence"]["ciphers_below_min"]["TLSv1.0"]
    # the untrusted test certificate is no error: protocol acceptance, not chain validity
    assert modern["status"] == "pass"
    assert modern["evidence"]["accepted"] == ["TLSv1.2", "TLSv1.3"]
    assert modern["evidence"]["host"] == "127.0.0.1"
    assert closed["status"] == "error"
    assert closed["reason"] == "unreachable"
    assert closed["evidence"]["probe_error"]["reason"] == "refused"
    assert plain["status"] == "skip"  # a TCP service to SSH: not a TLS endpoint
    assert plain["evidence"]["probe_error"]["reason"] == "no_tls"
    assert {f["evidence_level"] for f in got.values()} == {"probe"}
    assert len(got) == 4
    assert code == 1


def test_without_probe_tls_nothing_is_contacted_and_every_endpoint_is_not_probed(
        api: HcloudServer, servers: Endpoints) -> None:
    code, doc = scan("hetzner", environ=env(api))
    got = tls04(doc)
    assert len(got) == 4
    for finding in got.values():
        assert finding["status"] == "skip"
        assert finding["evidence_level"] == "none"
        assert finding["message"] == "not probed: run with --probe-tls"
    assert servers.connections() == 0
    assert code == 0
    # --probe-tls when no check judges probes (the default profile does not bind TLS-04)
    result = run("scan", "hetzner", "--probe-tls", "--format", "json", env=env(api))
    assert "TLS-04" not in json.loads(result.stdout)["checks"]
    assert servers.connections() == 0
    # the page's TLS sentence (seed-004) is then not verified: its TLS-04 part is unknown
    result = run("scan", "hetzner", "--profile", "seed-004", "--checks",
                 "TLS-01,TLS-02,TLS-04", "--format", "json", env=env(api))
    claim = next(c for c in claims_of(json.loads(result.stdout)) if c["id"] == "tls-12")
    assert claim["checks"] == ["TLS-01", "TLS-02", "TLS-04"]
    assert claim["status"] == "unknown"
    assert {f"TLS-04|{rid}" for rid in got} <= set(claim["findings"])


def test_recorded_probe_replays_offline_to_identical_tls04_findings(
        api: HcloudServer, servers: Endpoints, tmp_path: Path) -> None:
    snap = tmp_path / "estate.json.gz"
    code, live = scan("hetzner", "--probe-tls", "--record", str(snap), environ=env(api))
    assert code == 1
    before = servers.connections()
    _, replay = scan(str(snap), "--probe-tls")  # a snapshot is never probed, only replayed
    assert findings_of(replay) == findings_of(live)
    assert servers.connections() == before  # the replay connects to nothing
    assert run("verify", str(snap)).exit_code == 0
    # `record --probe-tls` writes the same kind of snapshot
    recorded = tmp_path / "recorded.json"
    result = run("record", "hetzner", "--probe-tls", "-o", str(recorded), env=env(api))
    assert result.exit_code == 0, result.output
    _, again = scan(str(recorded))
    assert {r: f["status"] for r, f in tls04(again).items()} == {
        r: f["status"] for r, f in tls04(live).items()}


def test_probe_results_in_the_snapshot_hold_no_secret(
        api: HcloudServer, servers: Endpoints, tmp_path: Path) -> None:
    snap = tmp_path / "estate.json"
    result = run("record", "hetzner", "--probe-tls", "--checks", "TLS-04", "-o", str(snap),
                 env=env(api))
    assert result.exit_code == 0, result.output
    text = snap.read_text()
    assert TOKEN not in text
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text
    probes = json.loads(text)["sections"][0]["collections"]["tls_probes"]["global"]
    assert {p["resource"] for p in probes} == {
        f"{LB}{port}" for port in (servers.legacy.port, servers.modern.port, servers.closed,
                                   servers.plain.port)}
    keys = {"resource", "host", "port", "protocol", "server_name", "address", "probed_at",
            "seconds", "tool", "status", "error", "protocols", "ciphers", "negotiated",
            "version_errors"}
    for p in probes:
        assert set(p) <= keys
    modern = next(p for p in probes if p["port"] == servers.modern.port)
    assert modern["protocols"] == {"SSLv2": "refused", "SSLv3": "refused",
                                   "TLSv1.0": "refused", "TLSv1.1": "refused",
                                   "TLSv1.2": "accepted", "TLSv1.3": "accepted"}
    assert modern["negotiated"]["protocol"] == "TLSv1.3"


def _edit(snap: Path, out: Path, change: Any) -> Path:
    doc = json.loads(snap.read_text())
    change(doc["sections"][0]["collections"]["tls_probes"]["global"])
    del doc["digest"]
    out.write_text(json.dumps(doc))
    assert run("seal", str(out)).exit_code == 0
    return out


def test_min_tls_of_the_profile_decides_and_incomplete_probes_fail_closed(
        api: HcloudServer, servers: Endpoints, tmp_path: Path) -> None:
    snap = tmp_path / "estate.json"
    assert run("record", "hetzner", "--probe-tls", "-o", str(snap), env=env(api)).exit_code == 0
    modern, legacy = f"{LB}{servers.modern.port}", f"{LB}{servers.legacy.port}"
    # min_tls 1.3: the endpoint accepting TLS 1.2 now fails (TLS-01's parameter)
    strict = tmp_path / "strict.toml"
    strict.write_text('[profile]\nname = "strict"\ntitle = "TLS 1.3 only"\n\n'
                      '[parameters]\nmin_tls = "1.3"\n')
    _, doc = scan(str(snap), "--profile", str(strict))
    assert tls04(doc)[modern]["status"] == "fail"
    assert tls04(doc)[modern]["message"] == "accepted TLS 1.2 (below TLS 1.3)"

    def incomplete(probes: list[dict[str, Any]]) -> None:
        for p in probes:
            if p["resource"] == legacy:
                p["protocols"]["TLSv1.0"] = p["protocols"]["TLSv1.1"] = "error"
        probes[:] = [p for p in probes if p["resource"] != modern]

    edited = _edit(snap, tmp_path / "edited.json", incomplete)
    code, doc = scan(str(edited))
    assert tls04(doc)[legacy]["status"] == "error"  # never pass on a probe that did not finish
    assert tls04(doc)[legacy]["evidence"]["not_refused"] == {"TLSv1.0": "error",
                                                             "TLSv1.1": "error"}
    assert tls04(doc)[modern]["status"] == "error"  # probed estate, no result for it
    assert tls04(doc)[modern]["reason"] == "unknown"
    assert code == 3


def _section(path: Path) -> snapshot.Section:
    return snapshot.load(path).sections[0]


def test_azure_gateway_is_probed_at_its_public_ip_dns_name(
        servers: Endpoints, tmp_path: Path) -> None:
    section = _section(ROOT / "fixtures" / "generic" / "seed004" / "seed004-azure.json")
    for region in section.collections["Microsoft.Network/publicIPAddresses"].values():
        for pip in region:
            if pip["name"] == "pip-agw":
                pip["properties"].update(ipAddress="127.0.0.1", dnsSettings={
                    "domainNameLabel": "agw", "fqdn": "localhost"})
    for region in section.collections["Microsoft.Network/applicationGateways"].values():
        for gw in region:
            for port in gw["properties"]["frontendPorts"]:
                if port["properties"]["port"] == 443:
                    port["properties"]["port"] = servers.legacy.port
    for region in section.collections["Microsoft.Web/sites"].values():
        for site in region:  # keep the probe on loopback
            site["properties"]["publicNetworkAccess"] = "Disabled"
    probe.probe_sections([section], AZURE, {})
    results = section.items(probe.COLLECTION)
    assert [(r["host"], r["port"], r["status"]) for r in results] == [
        ("localhost", servers.legacy.port, "completed")]
    path = tmp_path / "azure.json"
    snapshot.write(Snapshot(sections=[section]), path)
    _, doc = scan(str(path))
    [finding] = tls04(doc).values()
    assert (finding["resource_name"], finding["status"]) == ("agw-contoso/https", "fail")
    assert finding["evidence"]["address"] == "127.0.0.1"


def test_aws_load_balancer_is_probed_at_its_dns_name(
        servers: Endpoints, tmp_path: Path) -> None:
    section = _section(ROOT / "fixtures" / "aws" / "seed002-aws.json")
    for region in section.collections["elbv2.describe_load_balancers"].values():
        for lb in region:
            lb["DNSName"] = "localhost"
    ports = iter([servers.legacy.port])
    for region in section.collections["elbv2.describe_listeners"].values():
        for env_ in region:
            for listener in env_["response"]["Listeners"]:
                if listener["Protocol"] in ("HTTPS", "TLS", "TCP"):
                    listener["Port"] = next(ports, servers.modern.port)
    probe.probe_sections([section], AWS, {"probe_timeout": 3, "probe_concurrency": 2})
    results = section.items(probe.COLLECTION)
    assert results and {r["host"] for r in results} == {"localhost"}
    path = tmp_path / "aws.json"
    snapshot.write(Snapshot(sections=[section]), path)
    _, doc = scan(str(path))
    statuses = sorted((f["evidence"]["port"], f["status"]) for f in tls04(doc).values())
    assert len(statuses) == len(results) >= 2
    assert {s for p, s in statuses if p == servers.legacy.port} == {"fail"}
    assert {s for p, s in statuses if p == servers.modern.port} == {"pass"}


def test_a_stalled_endpoint_is_a_timeout_error_on_https_and_tcp_services_in_one_timeout(
        servers: Endpoints, tmp_path: Path) -> None:
    """Accepts TCP, never answers the handshake: `error` (reason `timeout`) on an https and
    on a tcp service, never `skip`/`no_tls`, with the shipped budget, costing about one
    timeout (sslyze alone waits out eleven and then calls it "no TLS"); each endpoint's
    `seconds` is its own time."""
    timeout = 2
    with SilentServer() as stalled_https, SilentServer() as stalled_tcp:
        estate = hetzner_estate(servers, [
            _service("https", stalled_https.port), _service("tcp", stalled_tcp.port),
            _service("https", servers.modern.port), _service("https", servers.closed)])
        with HcloudServer(estate, token=TOKEN) as api:
            snap = tmp_path / "stalled.json"
            started = time.monotonic()
            code, doc = scan("hetzner", "--probe-tls", "--probe-timeout", str(timeout),
                             "--record", str(snap), environ=env(api))
            waited = time.monotonic() - started
        assert stalled_https.connections >= 1 and stalled_tcp.connections >= 1
    got = tls04(doc)
    for port in (stalled_https.port, stalled_tcp.port):
        finding = got[f"{LB}{port}"]
        assert finding["status"] == "error"
        assert finding["reason"] == "unreachable"
        assert finding["evidence"]["probe_error"]["reason"] == "timeout"
        assert "did not answer a TLS ClientHello" in finding["evidence"]["probe_error"][
            "message"]
    assert got[f"{LB}{servers.modern.port}"]["status"] == "pass"
    assert got[f"{LB}{servers.closed}"]["evidence"]["probe_error"]["reason"] == "refused"
    assert code == 3  # errors, no failure: incomplete
    assert waited < 4 * timeout + 6  # sslyze's sequence alone: 11 x 2 s before any result
    probes = {p["port"]: p for p in
              json.loads(snap.read_text())["sections"][0]["collections"]["tls_probes"][
                  "global"]}
    assert timeout <= probes[stalled_https.port]["seconds"] < 2 * timeout + 1
    assert probes[servers.closed]["seconds"] < timeout  # its own time, not the batch's
    assert probes[servers.modern.port]["seconds"] < probes[stalled_https.port]["seconds"]


def test_a_stalled_endpoint_with_the_default_timeout_costs_one_timeout_and_holds_no_other(
        servers: Endpoints) -> None:
    with SilentServer() as silent:
        started = time.monotonic()
        results = probe.probe([probe.Endpoint("stalled", "127.0.0.1", silent.port, "tcp"),
                               probe.Endpoint("modern", "127.0.0.1", servers.modern.port,
                                              "https")])
        waited = time.monotonic() - started
    stalled, modern = results
    assert stalled["status"] == "error"
    assert stalled["error"]["reason"] == "timeout"
    assert stalled["address"] == "127.0.0.1"
    assert modern["status"] == "completed"
    assert modern["seconds"] < probe.DEFAULT_TIMEOUT  # not the stalled endpoint's wait
    assert probe.DEFAULT_TIMEOUT <= waited < 2 * probe.DEFAULT_TIMEOUT + 3


def test_no_tls_after_a_completed_first_handshake_is_unreachable_not_a_tls_less_service(
        servers: Endpoints, monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint that completes the first handshake and then stops answering (a rate
    limit, an intrusion-prevention system) is not "no TLS": never a `skip` on tcp."""
    real = probe._first_hello

    def then_stall(address: str, port: int, server_name: str, timeout: int
                   ) -> probe.FirstHello:
        assert real(address, servers.modern.port, server_name, timeout).handshake
        return probe.FirstHello(None, handshake=True)

    monkeypatch.setattr(probe, "_first_hello", then_stall)
    [result] = probe.probe([probe.Endpoint("r", "127.0.0.1", servers.plain.port, "tcp")],
                           timeout=2)
    assert result["status"] == "error"
    assert result["error"]["reason"] == "unreachable"
    assert "first connection" in result["error"]["message"]
