"""Generate a synthetic but realistic Hetzner Cloud snapshot of about N resources.

    python bench/make_hetzner_snapshot.py 100000 bench/out/hetzner-100k.json [--seed 7]

Every raw object is a copy of the matching object of the bundled fixture
(fixtures/hetzner/seed002-hetzner.json, itself built from the example bodies of Hetzner's
OpenAPI description), given its own ids, names, labels, addresses, locations and relations by
a seeded RNG: the same N and seed give the same file, byte for byte (`created_at` is fixed).

The estate is shaped like a real one: servers belong to services (a role, an env, a team, a
location; 2..40 servers each) and carry the service's labels; most sit in private networks,
some have public primary IPs (IPv4 + IPv6). About N/500 distinct firewalls: per team/env
baselines and per role rules applied by label selector, per service rules applied directly,
a few applied to nothing. Load balancers have http/https/tcp services with managed or
uploaded certificates and target services by label selector or servers directly, mostly over
the private network. Volumes hang off stateful servers; backups and snapshots are images.

The mix, in normalized resources (what `posture scan` counts), is about: servers 60%,
volumes 20%, primary IPs ~13%, load balancers + services ~2.5%, networks + subnets ~1.5%,
images 1%, certificates ~0.8%, floating IPs 0.4%, firewalls 0.2%. The primary IP count
absorbs rounding so the total is N exactly (printed, and written to OUT.meta.json).

Big estates: nested objects that are identical across resources (server types, images,
locations, protection flags) are shared by reference while building, so 1M resources fit in
a few GB; the file is written by `scanner.snapshot.write`, which gives it its digest.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from scanner import snapshot  # noqa: E402

FIXTURE = ROOT / "fixtures" / "hetzner" / "seed002-hetzner.json"
COLLECTED = "2026-11-20T02:00:00Z"
ACCOUNT = "bench-estate"
GENERATOR_VERSION = 1  # bump when the output for a given (N, seed) changes

Obj = dict[str, Any]

# --- templates from the fixture ------------------------------------------------------------


def _templates() -> dict[str, Any]:
    doc = json.loads(FIXTURE.read_text())
    cols = doc["sections"][0]["collections"]

    def by(name: str, key: str, value: Any) -> Obj:
        return next(o for o in cols[name]["global"] if o[key] == value)

    return {
        "server": by("servers", "name", "app-2"),
        "firewall": by("firewalls", "name", "fw-web"),
        "network": cols["networks"]["global"][0],
        "load_balancer": by("load_balancers", "name", "lb-admin"),
        "certificate_managed": by("certificates", "type", "managed"),
        "certificate_uploaded": by("certificates", "type", "uploaded"),
        "volume": cols["volumes"]["global"][0],
        "primary_ip": cols["primary_ips"]["global"][0],
        "floating_ip": cols["floating_ips"]["global"][0],
        "image": cols["images"]["global"][0],
        "locations": cols["locations"]["global"],
    }


T = _templates()

# Hetzner's locations; the fixture has the first four, the others are written in its shape.
_MORE_LOCATIONS = [
    {"id": 5, "name": "hil", "description": "Hillsboro, OR", "country": "US",
     "city": "Hillsboro, OR", "latitude": 45.54222, "longitude": -122.951924,
     "network_zone": "us-west"},
    {"id": 6, "name": "sin", "description": "Singapore", "country": "SG", "city": "Singapore",
     "latitude": 1.283333, "longitude": 103.833333, "network_zone": "ap-southeast"},
]
LOCATIONS: dict[str, Obj] = {loc["name"]: loc for loc in [*T["locations"], *_MORE_LOCATIONS]}
# Where services run: mostly Germany and Finland, a few outside the EU (RES-01 failures).
LOCATION_WEIGHTS = {"fsn1": 36, "nbg1": 30, "hel1": 24, "ash": 5, "hil": 3, "sin": 2}

ENVS = {"prod": 50, "staging": 25, "dev": 15, "test": 10}
# role: (weight, probability a service of the role has public IPs, stateful)
ROLES: dict[str, tuple[int, float, bool]] = {
    "app": (22, 0.08, False),
    "web": (12, 0.55, False),
    "api": (10, 0.20, False),
    "worker": (14, 0.04, False),
    "k8s-node": (12, 0.15, True),
    "database": (8, 0.03, True),
    "cache": (5, 0.02, True),
    "queue": (4, 0.02, True),
    "ci-runner": (5, 0.30, True),
    "monitoring": (4, 0.25, True),
    "vpn": (2, 1.0, False),
    "bastion": (2, 1.0, False),
}
WORDS = ("checkout", "billing", "search", "catalog", "auth", "media", "reports", "mail",
         "events", "ledger", "cart", "tenant", "ingest", "export", "notify", "pricing",
         "partner", "geo", "feeds", "support", "shop", "admin", "sync", "index")
NAME_PREFIX = {"database": ("db", "postgres", "mysql", "mariadb"), "cache": ("redis", "cache"),
               "queue": ("rabbitmq", "kafka", "nats")}
OFFICE_V4 = ("198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/26", "100.64.10.0/24",
             "85.214.12.0/28", "91.198.174.0/29", "62.138.0.0/27", "78.46.1.0/29")
OFFICE_V6 = ("2001:db8:100::/48", "2001:db8:200::/48", "2a02:8070:aa::/48")
ANY = ["0.0.0.0/0", "::/0"]
PRIVATE = ["10.0.0.0/8"]
# Public IPv4 blocks Hetzner Cloud allocates from (addresses are synthetic).
V4_BLOCKS = ((5, 75), (49, 12), (49, 13), (78, 46), (88, 198), (91, 107), (116, 203),
             (128, 140), (135, 181), (138, 199), (157, 90), (159, 69), (167, 235), (168, 119),
             (188, 245), (195, 201))


def zone(loc: str) -> str:
    return str(LOCATIONS[loc]["network_zone"])


def _shared_server_types() -> list[Obj]:
    base = T["server"]["server_type"]
    out = []
    for i, (name, cat, cores, mem, disk) in enumerate((
            ("cx22", "Shared vCPU", 2, 4, 40), ("cpx22", "Shared vCPU", 2, 4, 80),
            ("cpx32", "Shared vCPU", 4, 8, 160), ("cpx42", "Shared vCPU", 8, 16, 240),
            ("ccx23", "Dedicated vCPU", 4, 16, 160), ("ccx33", "Dedicated vCPU", 8, 32, 240),
            ("cax21", "Shared vCPU", 4, 8, 80))):
        st = copy.deepcopy(base)
        st.update(id=i + 1, name=name, description=name.upper(), category=cat, cores=cores,
                  memory=mem, disk=disk, architecture="arm" if name.startswith("cax") else "x86",
                  cpu_type="dedicated" if cat.startswith("Dedicated") else "shared")
        out.append(st)
    return out


def _shared_images() -> list[Obj]:
    base = T["server"]["image"]
    out = []
    for i, (name, flavor, version, deprecated) in enumerate((
            ("debian-12", "debian", "12", None), ("ubuntu-24.04", "ubuntu", "24.04", None),
            ("ubuntu-22.04", "ubuntu", "22.04", None), ("rocky-9", "rocky", "9", None),
            ("ubuntu-20.04", "ubuntu", "20.04", "2025-05-31T00:00:00Z"))):
        img = copy.deepcopy(base)
        img.update(id=114690387 + i, name=name, description=name.replace("-", " ").title(),
                   os_flavor=flavor, os_version=version, deprecated=deprecated)
        out.append(img)
    return out


# --- the estate ----------------------------------------------------------------------------


@dataclass
class Service:
    idx: int
    name: str
    role: str
    env: str
    team: str
    loc: str
    size: int
    labels: dict[str, str]
    private: bool
    public: bool = False
    backups: bool = False
    server_ids: list[int] = field(default_factory=list)
    network: int | None = None
    subnet: int = 0


class Estate:
    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.rng = random.Random(f"posture-bench-{seed}-{n}")
        self.server_types = _shared_server_types()
        self.images = _shared_images()
        self.next_v4 = 0
        self.next_v6 = 0
        self._pips: list[Obj] = []

    # --- helpers -----------------------------------------------------------------------

    def pick(self, weights: dict[str, Any]) -> str:
        w = [v[0] if isinstance(v, tuple) else v for v in weights.values()]
        return self.rng.choices(list(weights), w)[0]

    def ipv4(self) -> str:
        c = self.next_v4
        self.next_v4 += 1
        a, b = V4_BLOCKS[c % len(V4_BLOCKS)]
        host = c // len(V4_BLOCKS) + 2
        return f"{a}.{b}.{host // 250 % 250}.{host % 250 + 2}"

    def ipv6(self) -> str:
        c = self.next_v6
        self.next_v6 += 1
        return f"2a01:4f8:{0xc010 + c // 65536:x}:{c % 65536:x}::/64"

    # --- plan ----------------------------------------------------------------------------

    def build(self) -> snapshot.Snapshot:
        n = self.n
        n_servers = round(n * 0.60)
        n_volumes = round(n * 0.20)
        n_fw = max(8, round(n / 500))
        n_lb = max(2, round(n * 0.008))
        n_fip = max(1, round(n * 0.004))
        n_img = max(1, round(n * 0.01))
        n_teams = max(2, round(n / 25000))
        self.teams = [f"team-{i + 1:03d}" for i in range(n_teams)]

        self.services = self.make_services(n_servers)
        nets = self.make_networks()
        lbs, certs = self.make_load_balancers(n_lb)
        firewalls, applied = self.make_firewalls(n_fw)
        vol_objs, vols_of = self.make_volumes(n_volumes)
        images = self.make_images(n_img)

        listeners = sum(len(lb["services"]) + sum(
            1 for s in lb["services"] if s["protocol"] == "https" and s["http"]["redirect_http"])
            for lb in lbs)
        subnets = sum(len(net["subnets"]) for net in nets)
        others = (n_servers + len(vol_objs) + len(firewalls) + len(lbs) + listeners + len(certs)
                  + len(nets) + subnets + n_fip + len(images))
        pip_budget = max(0, n - others)
        pips, public_of = self.make_public(pip_budget)
        servers = self.make_servers(applied, vols_of, public_of)
        fips = self.make_floating(n_fip, servers)
        self.link_networks(nets, lbs)

        self.counts = Counter({
            "servers": len(servers), "volumes": len(vol_objs), "primary_ips": len(pips),
            "firewalls": len(firewalls), "load_balancers": len(lbs),
            "load_balancer_services": listeners, "certificates": len(certs),
            "networks": len(nets), "subnets": subnets, "floating_ips": len(fips),
            "images": len(images)})
        self.counts["total"] = sum(self.counts.values())
        section = snapshot.Section(
            provider="hetzner", account=ACCOUNT, collected_at=COLLECTED, tool_version="0.1.0",
            locations=sorted(LOCATIONS),
        )
        for name, objs in (("servers", servers), ("firewalls", firewalls), ("networks", nets),
                           ("load_balancers", lbs), ("certificates", certs),
                           ("volumes", vol_objs), ("primary_ips", pips), ("floating_ips", fips),
                           ("images", images), ("locations", list(LOCATIONS.values()))):
            section.add(name, snapshot.GLOBAL, objs)
        return snapshot.Snapshot(sections=[section], created_at=COLLECTED, tool_version="0.1.0")

    def make_services(self, n_servers: int) -> list[Service]:
        rng = self.rng
        out: list[Service] = []
        left, i = n_servers, 0
        while left > 0:
            role = self.pick(ROLES)
            env = self.pick(ENVS)
            size = min(left, 1 if role in ("vpn", "bastion") else
                       max(2, int(rng.lognormvariate(2.3, 0.7))) if env == "prod" else
                       rng.randint(1, 6))
            size = min(size, 40)
            word = rng.choice(WORDS)
            prefix = rng.choice(NAME_PREFIX.get(role, (role,)))
            name = f"{prefix}-{word}-{env}-{i}"
            team = rng.choice(self.teams)
            labels = {"role": role, "env": env, "team": team, "service": name}
            if rng.random() < 0.7:
                labels["managed-by"] = "terraform"
            if ROLES[role][2] and rng.random() < 0.6:
                labels["encryption"] = "luks"
            private = role not in ("vpn",) and rng.random() < 0.92
            svc = Service(i, name, role, env, team, self.pick(LOCATION_WEIGHTS), size, labels,
                          private)
            svc.backups = ROLES[role][2] and rng.random() < (0.8 if env == "prod" else 0.3)
            out.append(svc)
            left -= size
            i += 1
        sid = 40_000_000
        for svc in out:
            svc.server_ids = list(range(sid, sid + svc.size))
            sid += svc.size + rng.randint(0, 3)  # deleted servers leave gaps
        return out

    def make_networks(self) -> list[Obj]:
        rng = self.rng
        by_zone: dict[str, list[Service]] = {}
        for svc in self.services:
            if svc.private:
                by_zone.setdefault(zone(svc.loc), []).append(svc)
        nets: list[Obj] = []
        self.net_hosts: dict[tuple[int, int], int] = {}
        for zname in sorted(by_zone):
            svcs = by_zone[zname]
            count = max(1, math.ceil(sum(s.size for s in svcs) / 160))
            zone_nets = []
            for _ in range(count):
                k = len(nets)
                net = dict(T["network"])
                n_sub = rng.choice((1, 1, 2, 2, 3, 4))
                net.update(
                    id=3_000_000 + k, name=f"net-{zname}-{k}", ip_range=f"10.{k % 250}.0.0/16",
                    labels={"zone": zname}, servers=[], load_balancers=[], routes=[],
                    created=f"2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T08:00:00Z",
                    subnets=[{"gateway": f"10.{k % 250}.0.1",
                              "ip_range": f"10.{k % 250}.{16 * j}.0/20",
                              "network_zone": zname, "type": "cloud", "vswitch_id": None}
                             for j in range(n_sub)])
                nets.append(net)
                zone_nets.append(net)
            for i, svc in enumerate(svcs):
                net = zone_nets[i % len(zone_nets)]
                svc.network = net["id"]
                svc.subnet = rng.randrange(len(net["subnets"]))
        return nets

    def private_ip(self, net_id: int, subnet: int) -> str:
        c = self.net_hosts.get((net_id, subnet), 0) + 2
        self.net_hosts[(net_id, subnet)] = c - 1
        k = (net_id - 3_000_000) % 250
        return f"10.{k}.{16 * subnet + c // 256}.{c % 256}"

    def make_load_balancers(self, n_lb: int) -> tuple[list[Obj], list[Obj]]:
        rng = self.rng
        fronted = [s for s in self.services if s.role in ("web", "app", "api", "k8s-node")]
        lbs: list[Obj] = []
        certs: list[Obj] = []
        base = T["load_balancer"]
        svc_tmpl = base["services"][0]
        for i in range(n_lb):
            lid = 2_000_000 + i
            first = rng.choice(fronted)
            more = [s for s in rng.sample(fronted, min(2, len(fronted)))
                    if s.loc == first.loc and s is not first][:rng.randint(0, 1)]
            backends = [first, *more]
            services = []
            menu = rng.choices(
                ("https-redirect", "https", "http", "tcp-tls", "tcp-ssh", "tcp-db", "http-alt"),
                (60, 12, 10, 8, 2, 2, 6), k=rng.choice((1, 1, 1, 2, 2, 3)))
            used_ports: set[int] = set()
            for kind in menu:
                svc = copy.deepcopy(svc_tmpl)
                listen, dest, proto = {
                    "https-redirect": (443, 8080, "https"), "https": (443, 8443, "https"),
                    "http": (80, 8080, "http"), "tcp-tls": (443, 443, "tcp"),
                    "tcp-ssh": (2222, 22, "tcp"), "tcp-db": (5432, 5432, "tcp"),
                    "http-alt": (8080, 8080, "http")}[kind]
                if listen in used_ports or (kind == "https-redirect" and 80 in used_ports):
                    continue
                used_ports.add(listen)
                svc.update(protocol=proto, listen_port=listen, destination_port=dest)
                svc["health_check"]["port"] = dest
                if proto == "tcp":
                    svc["http"] = None
                    svc["health_check"]["protocol"] = "tcp"
                    svc["health_check"]["http"] = None
                else:
                    svc["http"]["certificates"] = []
                    svc["http"]["redirect_http"] = kind == "https-redirect"
                    if kind == "https-redirect":
                        used_ports.add(80)
                if proto == "https":
                    cert = self.certificate(len(certs), lid, first)
                    certs.append(cert)
                    svc["http"]["certificates"] = [cert["id"]]
                services.append(svc)
            lb = dict(base)
            lb.update(
                id=lid, name=f"lb-{first.name}-{i}", location=LOCATIONS[first.loc],
                labels={"env": first.env, "team": first.team, "service": first.name},
                created=f"2025-{rng.randint(1, 12):02d}-{rng.randint(10, 28)}T11:00:00Z",
                services=services,
                load_balancer_type=base["load_balancer_type"],
                public_net={"enabled": True,
                            "ipv4": {"ip": self.ipv4(), "dns_ptr": f"lb-{lid}.example.com"},
                            "ipv6": {"ip": self.ipv6().replace("::/64", "::1"),
                                     "dns_ptr": f"lb-{lid}.example.com"}},
                private_net=[], targets=[])
            lb["_backends"] = backends  # resolved after servers exist; removed in link_networks
            lbs.append(lb)
        for _ in range(max(1, len(certs) // 10)):  # some certificates nobody uses
            certs.append(self.certificate(len(certs), None, rng.choice(fronted)))
        return lbs, certs

    def certificate(self, k: int, lb_id: int | None, svc: Service) -> Obj:
        rng = self.rng
        managed = rng.random() < 0.8
        cert = dict(T["certificate_managed" if managed else "certificate_uploaded"])
        days = rng.choice((5, 40, 60, 75, 89)) if managed else rng.choice((-3, 10, 30, 200, 365))
        month, day = divmod(days, 28)
        year = 2026 + (10 + month) // 12
        after = f"{year}-{(10 + month) % 12 + 1:02d}-{day + 1:02d}T00:00:00Z"
        cert.update(id=900_000 + k, name=f"cert-{svc.name}-{k}", not_valid_after=after,
                    domain_names=[f"{svc.name}.example.com", f"www.{svc.name}.example.com"],
                    used_by=[{"id": lb_id, "type": "load_balancer"}] if lb_id else [],
                    fingerprint=":".join(f"{rng.randrange(256):02x}" for _ in range(20)))
        return cert

    def make_firewalls(self, n_fw: int) -> tuple[list[Obj], dict[int, list[int]]]:
        """Baselines per team/env and role rules by label selector, service rules applied
        directly, some applied to nothing. Returns the firewalls and server id -> ids."""
        rng = self.rng
        fws: list[Obj] = []
        applied: dict[int, list[int]] = {}

        def fw(name: str, rules: list[tuple[str, str | None, list[str]]],
               labels: dict[str, str]) -> Obj:
            obj = dict(T["firewall"])
            obj.update(id=1_000_000 + len(fws), name=name, labels=labels, applied_to=[],
                       created=f"2025-{rng.randint(1, 12):02d}-0{rng.randint(1, 9)}T09:00:00Z",
                       rules=[{"description": None, "destination_ips": [], "direction": "in",
                               "port": port, "protocol": proto, "source_ips": srcs}
                              for proto, port, srcs in rules])
            fws.append(obj)
            return obj

        def select(obj: Obj, selector: str, match: Any) -> None:
            resources = []
            for svc in self.services:
                if match(svc):
                    for sid in svc.server_ids:
                        applied.setdefault(sid, []).append(obj["id"])
                        resources.append({"server": {"id": sid}, "type": "server"})
            obj["applied_to"] = [{"type": "label_selector",
                                  "label_selector": {"selector": selector},
                                  "applied_to_resources": resources}]

        office = {t: [rng.choice(OFFICE_V4), rng.choice(OFFICE_V6)] for t in self.teams}
        for team in self.teams:  # baselines: SSH from the team's office, ping
            for env in ("prod", "staging"):
                ssh = office[team] if rng.random() < 0.9 else ANY
                obj = fw(f"baseline-{team}-{env}", [("tcp", "22", ssh), ("icmp", None, ANY)],
                         {"team": team, "kind": "baseline"})
                select(obj, f"team={team},env={env}",
                       lambda s, t=team, e=env: s.team == t and s.env == e)
        role_fws: list[tuple[str, str, list[tuple[str, str | None, list[str]]], Any]] = [
            ("role-web", "role=web",
             [("tcp", "80", ANY), ("tcp", "443", ANY)],
             lambda s: s.role == "web"),
            ("role-database", "role=database",
             [("tcp", "5432", PRIVATE), ("tcp", "3306", PRIVATE)],
             lambda s: s.role == "database"),
            ("role-vpn-bastion", "role in (vpn,bastion)",
             [("udp", "51820", ANY), ("tcp", "22", ANY)],
             lambda s: s.role in ("vpn", "bastion")),
            ("role-k8s-prod", "role=k8s-node,env=prod",
             [("tcp", "6443", [OFFICE_V4[0]]), ("tcp", "30000-32767", ANY)],
             lambda s: s.role == "k8s-node" and s.env == "prod"),
            ("role-monitoring", "role=monitoring",
             [("tcp", "9090-9100", PRIVATE), ("tcp", "443", ANY)],
             lambda s: s.role == "monitoring"),
            ("role-cache-nonprod", "role=cache,env!=prod",
             [("tcp", "6379", ANY)],
             lambda s: s.role == "cache" and s.env != "prod"),
        ]
        for name, selector, rules, match in role_fws:
            obj = fw(name, rules, {"kind": "role"})
            select(obj, selector, match)
        unused = max(1, n_fw // 20)
        direct = max(0, n_fw - len(fws) - unused)
        port_menu: list[tuple[str, str | None, list[str]]] = [
            ("tcp", "443", ANY), ("tcp", "8443", ANY), ("tcp", "8080", ANY),
            ("tcp", "3000", [OFFICE_V4[1]]), ("tcp", "5432", ANY), ("tcp", "22", ANY),
            ("tcp", "25", ANY), ("tcp", "587", ANY), ("udp", "27015", ANY),
            ("tcp", "9000-9100", PRIVATE), ("tcp", "3389", [OFFICE_V4[2]]), ("icmp", None, ANY),
            ("tcp", "6379", PRIVATE), ("tcp", "1024-65535", ANY), ("udp", "53", ANY),
        ]
        for svc in rng.sample(self.services, min(direct, len(self.services))):
            rules = rng.sample(port_menu, rng.randint(1, 4))
            obj = fw(f"fw-{svc.name}", rules, {"service": svc.name})
            obj["applied_to"] = [{"type": "server", "server": {"id": sid}}
                                 for sid in svc.server_ids]
            for sid in svc.server_ids:
                applied.setdefault(sid, []).append(obj["id"])
        for i in range(unused):
            fw(f"fw-unused-{i}", [("tcp", "22", ANY)], {})
        return fws, applied

    def make_volumes(self, n_volumes: int) -> tuple[list[Obj], dict[int, list[int]]]:
        rng = self.rng
        stateful = [s for s in self.services if ROLES[s.role][2]] or self.services
        vols: list[Obj] = []
        vols_of: dict[int, list[int]] = {}
        detached = n_volumes // 12
        base = T["volume"]
        while len(vols) < n_volumes - detached:
            svc = rng.choice(stateful)
            sid = rng.choice(svc.server_ids)
            vols.append(self.volume(len(vols), base, svc, sid))
            vols_of.setdefault(sid, []).append(vols[-1]["id"])
        while len(vols) < n_volumes:
            vols.append(self.volume(len(vols), base, rng.choice(self.services), None))
        return vols, vols_of

    def volume(self, k: int, base: Obj, svc: Service, sid: int | None) -> Obj:
        vid = 100_000_000 + k
        v = dict(base)
        labels = {"service": svc.name, "env": svc.env}
        if "encryption" in svc.labels:
            labels["encryption"] = "luks"
        v.update(id=vid, name=f"{svc.name}-data-{k}", location=LOCATIONS[svc.loc], server=sid,
                 labels=labels, size=self.rng.choice((10, 20, 50, 100, 100, 250, 500, 1000)),
                 linux_device=f"/dev/disk/by-id/scsi-0HC_Volume_{vid}",
                 status="available",
                 format=self.rng.choice(("ext4", "ext4", "xfs", None)))
        return v

    def make_images(self, n_img: int) -> list[Obj]:
        rng = self.rng
        backed = [s for s in self.services if s.backups] or self.services
        out = []
        for k in range(n_img):
            svc = rng.choice(backed)
            sid = rng.choice(svc.server_ids)
            backup = svc.backups and rng.random() < 0.8
            img = dict(T["image"])
            img.update(id=200_000_000 + k, type="backup" if backup else "snapshot",
                       description=f"{svc.name} {'backup' if backup else 'snapshot'} "
                                   f"2026-11-{rng.randint(10, 19)}",
                       created_from={"id": sid, "name": f"{svc.name}-{sid - svc.server_ids[0]}"},
                       bound_to=sid if backup else None,
                       labels={} if backup else {"service": svc.name},
                       image_size=round(rng.uniform(0.5, 40), 2))
            out.append(img)
        return out

    def make_public(self, budget: int) -> tuple[list[Obj], dict[int, tuple[int, int | None]]]:
        """Public servers (primary IPv4 + most with IPv6), then unassigned primary IPs."""
        rng = self.rng
        pips: list[Obj] = []
        public_of: dict[int, tuple[int, int | None]] = {}
        base = T["primary_ip"]

        def pip(ip: str, ptype: str, loc: str, sid: int | None) -> int:
            p = dict(base)
            pid = 60_000_000 + len(pips)
            p.update(id=pid, ip=ip, type=ptype, location=LOCATIONS[loc],
                     name=f"primary-{sid or pid}-{ptype}", assignee_id=sid,
                     assignee_type="server", auto_delete=sid is not None,
                     dns_ptr=[{"ip": ip, "dns_ptr": f"static.{ip}.clients.your-server.de"}]
                     if ptype == "ipv4" else [])
            pips.append(p)
            return pid

        order = list(self.services)
        rng.shuffle(order)
        forced = [s for s in order if not s.private]
        optional = [s for s in order if s.private and rng.random() < ROLES[s.role][1]]
        for svc in forced + optional:
            need = svc.size * 2
            if svc.private and len(pips) + need > budget:
                continue
            svc.public = True
            for sid in svc.server_ids:
                v4 = pip(self.ipv4(), "ipv4", svc.loc, sid)
                v6 = pip(self.ipv6(), "ipv6", svc.loc, sid) if rng.random() < 0.85 else None
                public_of[sid] = (v4, v6)
        while len(pips) < budget:
            pip(self.ipv4(), "ipv4", self.pick(LOCATION_WEIGHTS), None)
        self._pips = pips
        return pips, public_of

    def make_servers(self, applied: dict[int, list[int]], vols_of: dict[int, list[int]],
                     public_of: dict[int, tuple[int, int | None]]) -> list[Obj]:
        rng = self.rng
        base = T["server"]
        servers: list[Obj] = []
        self.server_private: dict[int, tuple[int, str]] = {}
        for svc in self.services:
            stype = self.server_types[6 if svc.role == "ci-runner" else
                                      list(ROLES).index(svc.role) % 3 + 3 * (svc.env == "prod")]
            image = self.images[4] if rng.random() < 0.05 else self.images[svc.idx % 4]
            for k, sid in enumerate(svc.server_ids):
                s = dict(base)
                pub = public_of.get(sid)
                ipv4 = self.pip_ip(pub[0]) if pub else None
                ipv6 = self.pip_ip(pub[1]) if pub and pub[1] else None
                fws = applied.get(sid, [])
                private_net = []
                if svc.private and svc.network is not None:
                    ip = self.private_ip(svc.network, svc.subnet)
                    self.server_private[sid] = (svc.network, ip)
                    private_net = [{"alias_ips": [], "ip": ip, "network": svc.network,
                                    "mac_address": f"86:00:{sid >> 24 & 255:02x}:"
                                                   f"{sid >> 16 & 255:02x}:{sid >> 8 & 255:02x}:"
                                                   f"{sid & 255:02x}"}]
                s.update(
                    id=sid, name=f"{svc.name}-{k + 1}", labels=svc.labels,
                    location=LOCATIONS[svc.loc], server_type=stype, image=image,
                    backup_window=rng.choice(("22-02", "02-06", "06-10")) if svc.backups
                    else None,
                    volumes=vols_of.get(sid, []), created=f"2025-{svc.idx % 12 + 1:02d}-"
                                                          f"{k % 28 + 1:02d}T10:00:00Z",
                    public_net={
                        "ipv4": {"id": pub[0], "ip": ipv4, "blocked": False,
                                 "dns_ptr": f"static.{ipv4}.clients.your-server.de"}
                        if ipv4 else None,
                        "ipv6": {"id": pub[1], "ip": ipv6, "blocked": False, "dns_ptr": []}
                        if ipv6 else None,
                        "floating_ips": [],
                        "firewalls": [{"id": f, "status": "applied"} for f in fws],
                    },
                    private_net=private_net,
                    primary_disk_size=stype["disk"],
                    ingoing_traffic=rng.randrange(10**6, 10**10),
                    outgoing_traffic=rng.randrange(10**6, 10**10),
                )
                servers.append(s)
        return servers

    def pip_ip(self, pid: int) -> str:
        return str(self._pips[pid - 60_000_000]["ip"])

    def make_floating(self, n_fip: int, servers: list[Obj]) -> list[Obj]:
        rng = self.rng
        by_id = {s["id"]: s for s in servers}
        candidates = [s for s in self.services if s.role in ("vpn", "bastion", "web")
                      and s.public] or self.services
        base = T["floating_ip"]
        out = []
        for k in range(n_fip):
            svc = rng.choice(candidates)
            sid = rng.choice(svc.server_ids) if rng.random() < 0.8 else None
            f = dict(base)
            ip = self.ipv4()
            f.update(id=70_000_000 + k, name=f"fip-{svc.name}-{k}", ip=ip, server=sid,
                     home_location=LOCATIONS[svc.loc], labels={"service": svc.name},
                     description=f"{svc.name} endpoint")
            out.append(f)
            if sid is not None:
                by_id[sid]["public_net"]["floating_ips"].append(f["id"])
        return out

    def link_networks(self, nets: list[Obj], lbs: list[Obj]) -> None:
        rng = self.rng
        net_by_id = {n["id"]: n for n in nets}
        for sid, (net_id, _) in self.server_private.items():
            net_by_id[net_id]["servers"].append(sid)
        for lb in lbs:
            backends: list[Service] = lb.pop("_backends")
            first = backends[0]
            targets = []
            for svc in backends:
                private = svc.private and svc.network is not None and rng.random() < 0.95
                health = [{"listen_port": s["listen_port"], "status": "healthy"}
                          for s in lb["services"]]
                if rng.random() < 0.7:
                    targets.append({
                        "type": "label_selector",
                        "label_selector": {"selector": f"service={svc.name}"},
                        "use_private_ip": private,
                        "targets": [{"type": "server", "server": {"id": sid},
                                     "health_status": health, "use_private_ip": private}
                                    for sid in svc.server_ids[:150]],
                    })
                else:
                    targets.extend({"type": "server", "server": {"id": sid},
                                    "use_private_ip": private, "health_status": health}
                                   for sid in svc.server_ids[:25])
            lb["targets"] = targets
            if first.private and first.network is not None:
                ip = self.private_ip(first.network, first.subnet)
                lb["private_net"] = [{"ip": ip, "network": first.network}]
                net_by_id[first.network]["load_balancers"].append(lb["id"])


def build(n: int, seed: int = 7) -> tuple[snapshot.Snapshot, Counter[str]]:
    estate = Estate(n, seed)
    snap = estate.build()
    return snap, estate.counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, help="about how many resources")
    ap.add_argument("out", type=Path, help="snapshot file to write (.gz: gzip)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    gc.disable()  # millions of long-lived objects and no cycles: the collector only costs time
    t0 = time.perf_counter()
    snap, counts = build(args.n, args.seed)
    t1 = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    digest = snapshot.write(snap, args.out)
    t2 = time.perf_counter()
    meta = {"generator_version": GENERATOR_VERSION, "n": args.n, "seed": args.seed,
            "resources": counts["total"], "counts": dict(sorted(counts.items())),
            "digest": digest, "bytes": args.out.stat().st_size,
            "build_seconds": round(t1 - t0, 2), "write_seconds": round(t2 - t1, 2)}
    Path(f"{args.out}.meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
