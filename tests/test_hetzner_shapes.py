"""Hetzner objects in the shapes real estates have, read through the real hcloud client from
the local Hetzner API server (tests/hcloud_server.py), normalized and judged.

The estate is the OpenAPI example estate of the test server (web-1 = server 42 with firewall
38, db-1 = server 43 without public addresses) changed one field at a time; the firewall
bodies in tests/data/hetzner are Hetzner's own (hcloud-python's fixtures, MIT).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from providers.hetzner import PROVIDER
from scanner.graph import EstateGraph
from scanner.model import Inventory, Kind, Resource
from scanner.rules import Exposure
from tests.hcloud_server import FIREWALL_ID, HcloudServer, example_estate
from tests.helpers import ROOT, findings_of, run

TOKEN = "hcloud-test-token-0123456789abcdef0123456789abcdef0123456789abcd"
P = "hetzner:shapes/"
WEB, DB = P + "server/42", P + "server/43"
HCLOUD_PYTHON = ROOT / "tests" / "data" / "hetzner" / "hcloud-python-firewalls.json"
OFFICE = "198.51.100.0/24"


def estate() -> dict[str, list[dict[str, Any]]]:
    data = example_estate()
    data["load_balancers"] = []  # judged on their own below; here: the servers' firewalls
    data["certificates"] = []
    return data


def rule(**fields: Any) -> dict[str, Any]:
    """An inbound rule; a field given as `...` is left out."""
    base: dict[str, Any] = {"description": None, "destination_ips": [], "direction": "in",
                            "port": "22", "protocol": "tcp",
                            "source_ips": ["0.0.0.0/0", "::/0"]}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def firewall(data: dict[str, list[dict[str, Any]]], fw_id: int = FIREWALL_ID
             ) -> dict[str, Any]:
    return next(fw for fw in data["firewalls"] if fw["id"] == fw_id)


def server(data: dict[str, list[dict[str, Any]]], sid: int) -> dict[str, Any]:
    return next(s for s in data["servers"] if s["id"] == sid)


@pytest.fixture
def hcloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[HcloudServer]:
    with HcloudServer(estate(), token=TOKEN) as api:
        monkeypatch.setenv("HCLOUD_ENDPOINT", api.url)
        monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
        monkeypatch.setenv("POSTURE_HETZNER_PROJECT", "shapes")
        yield api


def collect(api: HcloudServer, data: dict[str, list[dict[str, Any]]]) -> Inventory:
    """Serve `data`, read it with the real hcloud client, normalize it."""
    api.data.clear()
    api.data.update(copy.deepcopy(data))
    [section] = PROVIDER.collect({})
    return PROVIDER.normalize(section)


def resource(inv: Inventory, rid: str) -> Resource:
    return next(r for r in inv.resources if r.id == rid)


def reached(inv: Inventory, rid: str) -> tuple[Exposure, ...]:
    return tuple(e for reach in EstateGraph([inv]).reaches(rid) for e in reach.exposures)


def admits(exposures: tuple[Exposure, ...], port: int, source: str) -> bool:
    return any(e.protocol == "tcp" and port in e.ports and source in e.sources
               for e in exposures)


def verdict(api: HcloudServer, data: dict[str, list[dict[str, Any]]], check: str,
            rid: str) -> str:
    """The live CLI scan's verdict of one check on one resource."""
    api.data.clear()
    api.data.update(copy.deepcopy(data))
    out = run("scan", "hetzner", "--checks", check, "--format", "json", "--no-timestamps")
    doc = json.loads(out.stdout)
    [found] = [f["status"] for f in findings_of(doc) if f["resource"] == rid]
    return str(found)


# --- rules in other forms --------------------------------------------------------------------


@pytest.mark.parametrize("fields", [
    {"protocol": "TCP"}, {"protocol": "Tcp", "direction": "IN"}, {"direction": " in "},
    {"port": "20-25"}, {"port": "any"}, {"port": " 22 "},
], ids=["TCP", "Tcp-IN", "padded-direction", "range", "any", "padded-port"])
def test_a_rule_in_another_case_or_port_form_still_admits_ssh(
        hcloud: HcloudServer, fields: dict[str, Any]) -> None:
    data = estate()
    firewall(data)["rules"].append(rule(**fields))
    assert admits(reached(collect(hcloud, data), WEB), 22, "0.0.0.0/0")
    assert verdict(hcloud, data, "NET-02", WEB) == "fail"


def test_udp_in_mixed_case_with_any_port_is_udp_on_every_port(hcloud: HcloudServer) -> None:
    data = estate()
    firewall(data)["rules"].append(rule(protocol="Udp", port="any"))
    exposures = reached(collect(hcloud, data), WEB)
    assert any(e.protocol == "udp" and e.ports.lo == 0 and e.ports.hi == 65535
               and "0.0.0.0/0" in e.sources for e in exposures)


@pytest.mark.parametrize("fields,doubt", [
    ({"direction": ...}, "direction"),
    ({"direction": "sideways"}, "direction"),
    ({"source_ips": None}, "source_ips"),
    ({"source_ips": ...}, "source_ips"),
    ({"port": None}, "no port"),
    ({"port": ...}, "no port"),
    ({"port": "ssh"}, "not a port"),
    ({"protocol": "sctp"}, "protocol"),
], ids=["direction-missing", "direction-unknown", "sources-null", "sources-missing",
        "port-null", "port-missing", "port-garbage", "protocol-unknown"])
def test_a_rule_missing_a_field_is_read_widest_and_marked_unknown_never_dropped(
        hcloud: HcloudServer, fields: dict[str, Any], doubt: str) -> None:
    data = estate()
    firewall(data)["rules"] = [rule(source_ips=[OFFICE], port="443"),
                               rule(**{"source_ips": ["0.0.0.0/0", "::/0"], **fields})]
    inv = collect(hcloud, data)
    # the rule is kept: it admits SSH from the internet in its widest reading
    assert admits(reached(inv, WEB), 22, "0.0.0.0/0")
    fw = resource(inv, P + f"firewall/{FIREWALL_ID}")
    assert any(r["origin"].endswith("#1") for r in fw.prop("firewall_rules"))
    # ... and what is not known is said, in the direction it matters: only a fail that
    # relies on the widest reading may be wrong
    for res, prop in ((fw, "firewall_rules"), (resource(inv, WEB), "ingress")):
        unread = res.unknown[prop]
        assert doubt in unread.why and f"firewall/{FIREWALL_ID}#1" in unread.why
        assert unread.closes and not unread.opens


def test_outbound_rules_are_not_inbound(hcloud: HcloudServer) -> None:
    data = estate()
    firewall(data)["rules"].append(rule(direction="OUT", source_ips=[],
                                        destination_ips=["0.0.0.0/0"]))
    inv = collect(hcloud, data)
    assert not admits(reached(inv, WEB), 22, "0.0.0.0/0")
    assert not resource(inv, WEB).unknown


# --- label selectors -------------------------------------------------------------------------


@pytest.mark.parametrize("selector", ["", "  ", "=web", "role in (web", "role==web,,env=prod",
                                      "role=(web)"])
def test_an_empty_or_malformed_label_selector_is_not_applied_to_every_server(
        hcloud: HcloudServer, selector: str) -> None:
    data = estate()
    public_db = server(data, 43)
    public_db["public_net"]["ipv4"] = {"blocked": False, "dns_ptr": "db-1.example.com",
                                       "id": 4715, "ip": "203.0.113.11"}
    data["firewalls"].append({
        "applied_to": [{"label_selector": {"selector": selector}, "type": "label_selector"}],
        "created": "2025-03-10T09:10:00Z", "id": 39, "labels": {}, "name": "by-selector",
        "rules": [rule(port="443", source_ips=[OFFICE])],
    })
    inv = collect(hcloud, data)
    db = resource(inv, DB)
    [layer] = db.prop("ingress")
    assert not layer.present  # no firewall is known to filter db-1: it is open ...
    assert admits(reached(inv, DB), 5432, "0.0.0.0/0")
    unread = db.unknown["ingress"]  # ... unless the selector selects it: a fail may be wrong
    assert "firewall/39" in unread.why and unread.closes and not unread.opens
    # web-1 has firewall 38 in force: firewall 39 could only add allow rules to it
    web = resource(inv, WEB).unknown["ingress"]
    assert "firewall/39" in web.why and web.opens and not web.closes
    # the engine's rule: a fail that an unresolved firewall could close is not certain
    assert verdict(hcloud, data, "NET-04", DB) == "error"


def test_a_label_selector_resolves_kubernetes_style(hcloud: HcloudServer) -> None:
    data = estate()
    firewall(data)["applied_to"] = [{"label_selector": {"selector": "env==prod,role notin (db)"},
                                     "type": "label_selector"}]
    server(data, 42)["public_net"]["firewalls"] = []
    inv = collect(hcloud, data)
    assert resource(inv, WEB).prop("ingress")[0].origin == (P + f"firewall/{FIREWALL_ID}",)
    assert not resource(inv, DB).prop("ingress")[0].present


# --- pending firewalls -----------------------------------------------------------------------


def test_a_pending_firewall_is_not_in_force_yet(hcloud: HcloudServer) -> None:
    # OpenAPI: "A Firewall is applied to a resource once the related Action with command
    # `apply_firewall` successfully finished"; the server lists it as `pending` until then.
    data = estate()
    server(data, 42)["public_net"]["firewalls"] = [{"id": FIREWALL_ID, "status": "pending"}]
    inv = collect(hcloud, data)
    web = resource(inv, WEB)
    [layer] = web.prop("ingress")
    assert not layer.present and admits(reached(inv, WEB), 3306, "0.0.0.0/0")
    unread = web.unknown["ingress"]
    assert "pending" in unread.why and unread.closes and not unread.opens
    # open now, closed once the apply action finishes: the engine does not call it certain
    assert verdict(hcloud, data, "NET-04", WEB) == "error"


def test_a_pending_firewall_next_to_one_in_force_may_only_open_more(
        hcloud: HcloudServer) -> None:
    data = estate()
    data["firewalls"].append({
        "applied_to": [{"server": {"id": 42}, "type": "server", "status": "Pending"}],
        "created": "2025-03-10T09:10:00Z", "id": 39, "labels": {}, "name": "ssh-anywhere",
        "rules": [rule()],
    })
    inv = collect(hcloud, data)
    web = resource(inv, WEB)
    assert web.prop("ingress")[0].origin == (P + f"firewall/{FIREWALL_ID}",)
    assert not admits(reached(inv, WEB), 22, "0.0.0.0/0")
    unread = web.unknown["ingress"]
    assert "firewall/39" in unread.why and unread.opens and not unread.closes


# --- address families ------------------------------------------------------------------------


def test_a_server_with_only_ipv6_is_reached_from_ipv6_only(hcloud: HcloudServer) -> None:
    data = estate()
    web = server(data, 42)
    web["public_net"]["ipv4"] = None
    web["public_net"]["ipv6"] = {"blocked": False, "dns_ptr": [], "id": 4716,
                                 "ip": "2001:db8:42::/64"}
    firewall(data)["rules"] = [rule(source_ips=["0.0.0.0/0"]),
                               rule(port="443", source_ips=["::/0"])]
    exposures = reached(collect(hcloud, data), WEB)
    assert not admits(exposures, 22, "0.0.0.0/0")  # no IPv4 address to reach
    assert admits(exposures, 443, "::/0")
    assert all("0.0.0.0/0" not in e.sources for e in exposures)
    assert verdict(hcloud, data, "NET-02", WEB) == "pass"


def test_a_server_with_only_ipv4_is_reached_from_ipv4_only(hcloud: HcloudServer) -> None:
    data = estate()
    firewall(data)["rules"] = [rule(source_ips=["::/0"])]
    exposures = reached(collect(hcloud, data), WEB)
    assert not admits(exposures, 22, "::/0")
    assert verdict(hcloud, data, "NET-02", WEB) == "pass"


# --- dangling references ---------------------------------------------------------------------


def test_a_firewall_the_server_names_but_the_list_lacks_is_unknown_naming_it(
        hcloud: HcloudServer) -> None:
    data = estate()
    server(data, 42)["public_net"]["firewalls"].append({"id": 999, "status": "applied"})
    web = resource(collect(hcloud, data), WEB)
    unread = web.unknown["ingress"]
    assert P + "firewall/999" in unread.why and unread.opens and not unread.closes
    data["firewalls"] = []
    server(data, 42)["public_net"]["firewalls"] = [{"id": 999, "status": "applied"}]
    unread = resource(collect(hcloud, data), WEB).unknown["ingress"]
    assert P + "firewall/999" in unread.why and unread.closes and not unread.opens


def test_a_load_balancer_target_or_ip_assignee_not_read_is_unknown_naming_it(
        hcloud: HcloudServer) -> None:
    data = example_estate()
    data["load_balancers"][0]["targets"].append(
        {"server": {"id": 777}, "type": "server", "use_private_ip": False,
         "health_status": []})
    data["primary_ips"][0]["assignee_id"] = 888
    inv = collect(hcloud, data)
    lb = resource(inv, P + "load_balancer/4712")
    assert P + "server/777" in lb.unknown["targets"].why
    assert lb.unknown["targets"].reason == "dangling"
    pip = resource(inv, P + "primary_ip/4714")
    assert P + "server/888" in pip.unknown["implicit"].why


# --- Hetzner's own bodies --------------------------------------------------------------------


def test_hcloud_python_firewalls_normalize_to_their_rules(hcloud: HcloudServer) -> None:
    bodies = json.loads(HCLOUD_PYTHON.read_text())
    data = estate()
    data["firewalls"] = [*bodies["firewalls"], {**bodies["create_firewall"], "id": 40}]
    server(data, 42)["public_net"]["firewalls"] = []
    inv = collect(hcloud, data)
    fw38 = resource(inv, P + "firewall/38")
    assert fw38.prop("firewall_rules") == [{
        "action": "allow", "protocol": "tcp", "ports": "80", "origin": P + "firewall/38#0",
        "sources": ["28.239.13.1/32", "28.239.14.0/24",
                    "ff21:1eac:9a3b:ee58:5ca:990c:8bc9:c03b/128"]}]
    assert not fw38.unknown
    # the outbound rule of the created firewall is not inbound; its `key==value` selector
    # selects nothing here
    assert [r["ports"] for r in resource(inv, P + "firewall/40").prop("firewall_rules")] == \
        ["80"]
    assert resource(inv, WEB).prop("ingress")[0].origin == tuple(
        P + f"firewall/{n}" for n in (38, 39, 40))
    assert admits(reached(inv, WEB), 443, "28.239.14.0/24")
    assert not admits(reached(inv, WEB), 22, "28.239.14.0/24")


# --- collections: what a failed list can change ---------------------------------------------


def test_each_collection_says_what_its_failure_can_change() -> None:
    c = PROVIDER.collections
    assert c["firewalls"].affects == {Kind.COMPUTE: frozenset({"ingress"})}
    assert (c["firewalls"].opens, c["firewalls"].closes) == (False, True)
    assert c["floating_ips"].affects == {Kind.COMPUTE: frozenset({"public_ips"})}
    assert (c["floating_ips"].opens, c["floating_ips"].closes) == (True, False)
    assert c["volumes"].affects == {Kind.COMPUTE: frozenset({"stateful"})}
    assert c["load_balancers"].affects is not None and \
        c["load_balancers"].affects[Kind.COMPUTE] == frozenset({"ingress"})
    for name in ("servers", "networks", "certificates", "primary_ips", "images"):
        assert c[name].affects == {}, name
    assert all(col.affects is not None for col in c.values())


def test_a_failed_firewall_list_leaves_servers_open_and_names_the_missing_firewalls(
        hcloud: HcloudServer) -> None:
    hcloud.fail("firewalls", 403, "forbidden")
    inv = collect(hcloud, estate())
    assert [e.collection for e in inv.errors] == ["firewalls"]
    web = resource(inv, WEB)
    assert not web.prop("ingress")[0].present
    assert P + f"firewall/{FIREWALL_ID}" in web.unknown["ingress"].why
    assert web.unknown["ingress"].closes


# --- every object read becomes a resource ----------------------------------------------------

NATIVE_TYPES = {"servers": "server", "firewalls": "firewall", "networks": "network",
                "load_balancers": "load_balancer", "certificates": "certificate",
                "volumes": "volume", "primary_ips": "primary_ip",
                "floating_ips": "floating_ip", "images": "image"}
BUNDLED = [ROOT / "fixtures" / "hetzner" / "seed002-hetzner.json",
           ROOT / "fixtures" / "generic" / "seed004" / "seed004-hetzner.json"]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_object_of_a_bundled_snapshot_becomes_a_resource(path: Any) -> None:
    from scanner import snapshot

    for section in snapshot.load(path).sections:
        inv = PROVIDER.normalize(section)
        ids = {r.id for r in inv.resources}
        prefix = f"hetzner:{section.account}/"
        derived = set()  # what the normalizer makes of the parts of an object
        for name, regions in section.collections.items():
            objects = [o for objs in regions.values() for o in objs]
            if name == "locations":  # they name the project's regions, not resources
                account = resource(inv, f"hetzner:{section.account}")
                assert set(account.prop("regions")) == {o["name"] for o in objects}
                continue
            for obj in objects:
                rid = prefix + f"{NATIVE_TYPES[name]}/{obj['id']}"
                assert rid in ids, f"{name} {obj['id']} read but not a resource"
                derived.add(rid)
                if name == "load_balancers":
                    derived |= {r for r in ids if r.startswith(rid + "/service/")}
                    assert {f"{rid}/service/{s['listen_port']}" for s in obj["services"]} \
                        <= ids
                if name == "networks":
                    derived |= {prefix + f"subnet/{obj['id']}/{s['ip_range']}"
                                for s in obj.get("subnets") or []}
        # nothing else: no resource without an object read behind it
        assert ids - derived == {f"hetzner:{section.account}"}
