"""hcloud (Hetzner Cloud) resources -> the model, as providers/hetzner/normalize.py builds it
from the API: same kinds, properties, layers and relations (ids: the Terraform address).

Defaults (hetzner/hcloud provider 1.4x, where an attribute is absent): a server without a
`public_net` block has public IPv4 and IPv6; `backups` false; a load balancer service
listens on 80 (http) / 443 (https) and forwards to 80 (http/https) or its listen port (tcp);
targets use the public address unless `use_private_ip`; a load balancer has a public
interface unless an `hcloud_load_balancer_network` sets `enable_public_interface = false`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from providers.hetzner.firewalls import Term, parse_selector
from providers.hetzner.normalize import (
    LB_TLS_DOC,
    NO_FIREWALL,
    NOT_ENCRYPTED_DOC,
)
from providers.terraform import secrets
from providers.terraform.core import (
    UNKNOWN_IP,
    Builder,
    Draft,
    Entry,
    World,
    firewall_world,
    labels_of,
    pem_not_after,
)
from scanner.model import Kind, RelationType, Unread
from scanner.rules import ALL_PORTS, INTERNET, Action, LayerMode, PortRange, RuleLayer

CLOUD = "hetzner"
TYPES = frozenset({
    "hcloud_server", "hcloud_firewall", "hcloud_firewall_attachment", "hcloud_load_balancer",
    "hcloud_load_balancer_service", "hcloud_load_balancer_target",
    "hcloud_load_balancer_network", "hcloud_volume", "hcloud_volume_attachment",
    "hcloud_managed_certificate", "hcloud_uploaded_certificate", "hcloud_network",
    "hcloud_network_subnet", "hcloud_server_network", "hcloud_floating_ip",
    "hcloud_floating_ip_assignment", "hcloud_primary_ip",
})
_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "esp": "other", "gre": "other"}


def _location(e: Entry) -> str | None:
    if e.unknown("location"):
        return None
    loc = e.v("location") or e.v("home_location")
    if loc:
        return str(loc)
    dc = e.v("datacenter")
    return str(dc).split("-")[0] if dc and not e.unknown("datacenter") else None


def selects(terms: Sequence[Term], server: Entry) -> bool | None:
    """Whether a label selector's terms select `server`; None when a label they read is
    unknown until apply (`labels = { role = random_pet.x.id }`): its planned value is
    absent, and read as absent it decided the selection either way."""
    if any(server.unknown("labels", t.key) for t in terms):
        return None
    labels = {str(k): str(v) for k, v in (server.v("labels") or {}).items() if v is not None}
    return all(t.matches(labels) for t in terms)


def _drafts(b: Builder, fw: Entry) -> list[Draft]:
    origin = b.rid(CLOUD, fw)
    out = []
    # `rule` is an optional, non-computed block set (hcloud provider docs, hcloud_firewall):
    # it is unknown in a plan only when the configuration makes it so (a `dynamic "rule"`
    # over a value known after apply), and Terraform then writes the whole set, or one of
    # its elements, as `true` in after_unknown and leaves it out of the planned values
    # (https://developer.hashicorp.com/terraform/internals/json-format: "after_unknown").
    # Such rules may open anything: an unknown allow rule, never "no rules".
    if fw.wholly_unknown("rule"):
        out.append(Draft(Action.ALLOW, None, None, None, 0, f"{origin}#rule"))
    for i, rule in enumerate(fw.v("rule") or []):
        if not isinstance(rule, dict):
            if fw.wholly_unknown("rule", i):
                out.append(Draft(Action.ALLOW, None, None, None, 0, f"{origin}#{i}"))
            continue
        if rule.get("direction") != "in" and not fw.unknown("rule", i, "direction"):
            continue
        protocol = None if fw.unknown("rule", i, "protocol") else _PROTOCOLS.get(
            str(rule.get("protocol")), "other")
        ports: PortRange | None = ALL_PORTS
        if protocol in ("tcp", "udp", None):
            if fw.unknown("rule", i, "port"):
                ports = None
            else:
                try:
                    ports = PortRange.parse(rule.get("port"))
                except ValueError:
                    ports = None
        sources: tuple[str, ...] | None = tuple(str(s) for s in rule.get("source_ips") or []
                                                if s is not None)
        if fw.unknown("rule", i, "source_ips"):
            sources = None
        out.append(Draft(Action.ALLOW, protocol, ports, sources, 0, f"{origin}#{i}"))
    return out


def build(b: Builder) -> None:
    ix = b.index
    servers = ix.of_type("hcloud_server")
    firewalls = ix.of_type("hcloud_firewall")
    # --- firewalls and what they are applied to ----------------------------------------
    applied: dict[str, list[Entry]] = defaultdict(list)  # server address -> firewalls
    unresolved: dict[str, list[Entry]] = defaultdict(list)  # server -> entries it comes via
    attachments: dict[str, list[Entry]] = defaultdict(list)  # server -> attachments read

    def apply(fw: Entry | None, server: Entry, via: Entry) -> None:
        if via.type == "hcloud_firewall_attachment" and via not in attachments[server.address]:
            attachments[server.address].append(via)
        if fw is None:
            unresolved[server.address].append(via)
        elif fw not in applied[server.address]:
            applied[server.address].append(fw)

    def select(selector: Any, fw: Entry | None, via: Entry, known: bool = True) -> None:
        """Apply `fw` to the servers a label selector selects. An empty or malformed
        selector selects nothing the API documents, and one unknown until apply (`known`
        false) may select any server: every server's firewalls are then unresolved (both
        extremes judged), never "applied to every server" nor "to none". So are those of a
        server whose labels the selector reads are unknown until apply."""
        terms = parse_selector(selector) if known else None
        for s in servers:
            chosen = selects(terms, s) if terms is not None else None
            if chosen is None:
                apply(None, s, via)
            elif chosen:
                apply(fw, s, via)

    for fw in firewalls:
        b.add(fw, Kind.FIREWALL, CLOUD, firewall_world(_drafts(b, fw)),
              name=fw.name(fw.v("name")), region=None, labels=labels_of(fw, "labels"))
        if fw.wholly_unknown("apply_to"):  # a `dynamic "apply_to"` over unknown values
            select(None, fw, fw, known=False)
        for i, block in enumerate(fw.v("apply_to") or []):
            if fw.wholly_unknown("apply_to", i) or fw.unknown("apply_to", i, "label_selector"):
                # the selector is known after apply only (planned as null): it may select
                # any server, not none (it read as a block applying to no server)
                select(None, fw, fw, known=False)
                continue
            if not isinstance(block, dict):
                continue
            if "label_selector" in block and block["label_selector"] is not None:
                select(block["label_selector"], fw, fw)
            else:
                targets, _ = ix.targets(fw, ("apply_to", i, "server"), ["hcloud_server"])
                for s in targets:
                    apply(fw, s, fw)
    for att in ix.of_type("hcloud_firewall_attachment"):
        fws, fw_unknown = ix.targets(att, "firewall_id", ["hcloud_firewall"])
        chosen = ix.targets(att, "server_ids", ["hcloud_server"])[0]
        for s in chosen:
            for fw in fws:
                apply(fw, s, att)
            if fw_unknown or not fws:
                apply(None, s, att)
        chosen_fws: list[Entry | None] = list(fws) if fws and not fw_unknown else [None]
        selectors = att.v("label_selectors") or []
        if att.wholly_unknown("label_selectors"):
            selectors = [*selectors, None]
        for j, sel in enumerate(selectors):
            for maybe in chosen_fws:
                select(sel, maybe, att, known=sel is not None and not att.unknown(
                    "label_selectors", j))
    # `firewall_ids` is Optional and Computed (terraform-provider-hcloud internal/server/
    # resource.go): refreshed, it lists every firewall applied to the server, those an
    # hcloud_firewall_attachment applied included. While the plan deletes an attachment
    # (its values are not kept), a firewall found only there may be about to go. Firewalls
    # admit the union of their rules, so losing one opens nothing while another stays
    # applied for sure; without one, the server may be left with none: the most exposed
    # world is unresolved (the least keeps them)
    doubt = "hcloud_firewall_attachment" in b.deleted_types
    for s in servers:
        fws, fw_unknown = ix.targets(s, "firewall_ids", ["hcloud_firewall"])
        if doubt and "firewall_ids" not in s.expr and fws and not any(
                fw in applied[s.address] for fw in fws):
            apply(None, s, s)
        for fw in fws:
            apply(fw, s, s)
        if fw_unknown:
            apply(None, s, s)

    # --- volumes, addresses, networks that servers need -------------------------------
    volumes_of: dict[str, list[Entry]] = defaultdict(list)
    for vol in ix.of_type("hcloud_volume"):
        for s in ix.targets(vol, "server_id", ["hcloud_server"])[0]:
            volumes_of[s.address].append(vol)
    for att in ix.of_type("hcloud_volume_attachment"):
        for vol in ix.targets(att, "volume_id", ["hcloud_volume"])[0]:
            for s in ix.targets(att, "server_id", ["hcloud_server"])[0]:
                volumes_of[s.address].append(vol)
    floating: dict[str, list[tuple[Entry, str, bool]]] = defaultdict(list)
    for fip in ix.of_type("hcloud_floating_ip"):
        ip = fip.v("ip_address")
        text = str(ip) if ip and not fip.unknown("ip_address") else UNKNOWN_IP.format(
            what=f"{fip.v('type') or 'floating'} address of {fip.address}")
        for s in ix.targets(fip, "server_id", ["hcloud_server"])[0]:
            floating[s.address].append((fip, text, fip.unknown("server_id")))
    for asg in ix.of_type("hcloud_floating_ip_assignment"):
        for fip in ix.targets(asg, "floating_ip_id", ["hcloud_floating_ip"])[0]:
            ip = fip.v("ip_address")
            text = str(ip) if ip and not fip.unknown("ip_address") else UNKNOWN_IP.format(
                what=f"floating address of {fip.address}")
            for s in ix.targets(asg, "server_id", ["hcloud_server"])[0]:
                floating[s.address].append((asg, text, False))
    networks_of: dict[str, list[tuple[Entry, Entry | None, str | None]]] = defaultdict(list)
    for sn in ix.of_type("hcloud_server_network"):
        nets = ix.targets(sn, "network_id", ["hcloud_network"])[0]
        for s in ix.targets(sn, "server_id", ["hcloud_server"])[0]:
            ip = sn.v("ip") if not sn.unknown("ip") else None
            networks_of[s.address].append((sn, nets[0] if nets else None, ip))

    # --- servers -------------------------------------------------------------------------
    layer_cache: dict[tuple[tuple[str, ...], bool], tuple[RuleLayer, RuleLayer]] = {}
    for s in servers:
        world = World()
        public_most: list[str] = []
        public_least: list[str] = []
        blocks = s.v("public_net") or [{}]
        pn = blocks[0] if isinstance(blocks, list) and blocks else {}
        for flag, value_attr, label in (
                ("ipv4_enabled", "ipv4_address", "ipv4"),
                ("ipv6_enabled", "ipv6_network", "ipv6 network")):
            enabled = pn.get(flag, True) if isinstance(pn, dict) else True
            flag_unknown = s.unknown("public_net", 0, flag)
            if not (enabled or flag_unknown):
                continue
            value = s.v(value_attr)
            text = str(value) if value and not s.unknown(value_attr) else UNKNOWN_IP.format(
                what=f"{label} of {s.address}")
            public_most.append(text)
            if not flag_unknown:
                public_least.append(text)
        for _via, text, unsure in floating.get(s.address, []):
            public_most.append(text)
            if not unsure:
                public_least.append(text)
        world.set("public_ips", public_most, public_least)
        private = [str(n.get("ip")) for n in s.v("network") or []
                   if isinstance(n, dict) and n.get("ip")]
        private += [ip for _, _, ip in networks_of.get(s.address, []) if ip]
        world.props["private_ips"] = list(dict.fromkeys(private))
        fws = applied.get(s.address, [])
        unsure = bool(unresolved.get(s.address))
        key = (tuple(f.address for f in fws), unsure)
        if key not in layer_cache:
            if not fws and not unsure:
                layer_cache[key] = (NO_FIREWALL, NO_FIREWALL)
            else:
                ordered = sorted(fws, key=lambda f: f.address)
                drafts = [d for f in ordered for d in _drafts(b, f)]
                if unsure:
                    drafts.append(Draft(Action.ALLOW, None, None, None, 0,
                                        f"{b.rid(CLOUD, s)}#firewall-not-in-plan"))
                most = [r for d in drafts if (r := d.widened()) is not None]
                least = [r for d in drafts if d.known and (r := d.widened()) is not None]
                origin = tuple(b.rid(CLOUD, f) for f in ordered)
                layer_cache[key] = (
                    RuleLayer("hetzner firewalls", LayerMode.UNION, tuple(most), Action.DENY,
                              origin=origin),
                    RuleLayer("hetzner firewalls", LayerMode.UNION, tuple(least), Action.DENY,
                              origin=origin))
        most_layer, least_layer = layer_cache[key]
        world.set("ingress", (most_layer,), (least_layer,))
        backups = s.v("backups", default=False)
        if s.unknown("backups"):
            world.props.update({"backup_enabled": None, "backup_frequency_hours": None,
                                "backup_retention_days": None})
        else:
            world.props.update({"backup_enabled": bool(backups),
                                "backup_frequency_hours": 24 if backups else None,
                                "backup_retention_days": 7 if backups else None})
        world.props.update({
            "image": None if s.unknown("image") else s.v("image"),
            "stateful": bool(volumes_of.get(s.address)),
            "encrypted": False,
            "encryption_evidence": "provider",
            "encryption_reference": NOT_ENCRYPTED_DOC,
        })
        deps = [*fws, *unresolved.get(s.address, []), *attachments.get(s.address, []),
                *volumes_of.get(s.address, []),
                *(v for v, _, _ in floating.get(s.address, [])),
                *(sn for sn, _, _ in networks_of.get(s.address, []))]
        secrets.judge(b, b.rid(CLOUD, s), world, [s])
        sid = b.add(s, Kind.COMPUTE, CLOUD, world, name=s.name(s.v("name")),
                    region=_location(s), labels=labels_of(s, "labels"), deps=deps)
        for fw in sorted(fws, key=lambda f: f.address):
            b.relate(sid, b.rid(CLOUD, fw), RelationType.PROTECTED_BY, layer="hetzner firewalls")
        for i in range(len(s.v("network") or [])):
            for net in ix.targets(s, ("network", i, "network_id"), ["hcloud_network"])[0]:
                b.relate(sid, b.rid(CLOUD, net), RelationType.ATTACHED_TO)
        for _, joined, _ in networks_of.get(s.address, []):
            if joined is not None:
                b.relate(sid, b.rid(CLOUD, joined), RelationType.ATTACHED_TO)
    _load_balancers(b)
    _simple(b)


def _load_balancers(b: Builder) -> None:
    ix = b.index
    services: dict[str, list[Entry]] = defaultdict(list)
    for svc in ix.of_type("hcloud_load_balancer_service"):
        for lb in ix.targets(svc, "load_balancer_id", ["hcloud_load_balancer"])[0]:
            services[lb.address].append(svc)
    targets: dict[str, list[tuple[Entry, list[Entry], bool]]] = defaultdict(list)
    for t in ix.of_type("hcloud_load_balancer_target"):
        chosen: list[Entry] = []
        if t.v("type") == "label_selector":
            terms = None if t.unknown("label_selector") else parse_selector(
                t.v("label_selector"))
            unsure = []
            for s in ix.of_type("hcloud_server"):
                found = selects(terms, s) if terms is not None else None
                if found:
                    chosen.append(s)
                elif found is None:
                    unsure.append(s)
            # an empty, malformed or unknown selector (the API documents no meaning for the
            # first two), or a server whose labels it reads are unknown: whether the balancer
            # forwards to the server is not known. Read as "every server", it failed servers
            # it may not reach; the servers' verdicts that a forward could open are unsafe.
            what = ("is unknown until apply" if t.unknown("label_selector")
                    else f"{str(t.v('label_selector'))[:80]!r} is empty or malformed"
                    if terms is None else "reads labels of this server unknown until apply")
            why = Unread(f"{t.address}: its label selector {what}: it may forward to this "
                         "server", "unknown", opens=True, closes=False)
            for s in unsure:
                b.mark(b.rid(CLOUD, s), ("targeted_by",), why)
        elif t.v("type", default="server") == "server":
            chosen = ix.targets(t, "server_id", ["hcloud_server"])[0]
        lbs = ix.targets(t, "load_balancer_id", ["hcloud_load_balancer"])[0]
        for lb in lbs:
            targets[lb.address].append((t, chosen, bool(t.v("use_private_ip", default=False))))
        if not lbs:
            # A load balancer outside the plan forwards to these servers: what it exposes
            # is not visible here, so a verdict that they are not reachable is not safe.
            why = Unread(f"{t.address}: load balancer {t.v('load_balancer_id')} is not in "
                         "the plan", "dangling", opens=True, closes=False)
            for s in chosen:
                b.mark(b.rid(CLOUD, s), ("public_ips", "ingress"), why)
    public_iface: dict[str, tuple[bool, bool, Entry]] = {}
    attached: dict[str, list[Entry]] = defaultdict(list)  # lb address -> its networks
    for n in ix.of_type("hcloud_load_balancer_network"):
        for lb in ix.targets(n, "load_balancer_id", ["hcloud_load_balancer"])[0]:
            attached[lb.address].append(n)
            public_iface[lb.address] = (bool(n.v("enable_public_interface", default=True)),
                                        n.unknown("enable_public_interface"), n)
    for lb in ix.of_type("hcloud_load_balancer"):
        lb_id = b.rid(CLOUD, lb)
        world = World()
        enabled, iface_unknown, iface = public_iface.get(lb.address, (True, False, lb))
        own = list(services.get(lb.address, []))
        inline = [(lb, [s for s in ix.targets(lb, ("target", i, "server_id"),
                                              ["hcloud_server"])[0]],
                   bool(t.get("use_private_ip"))) for i, t in enumerate(lb.v("target") or [])
                  if isinstance(t, dict)]
        lb_targets = [*targets.get(lb.address, []), *inline]
        known_ips = [str(lb.v(a)) for a in ("ipv4", "ipv6")
                     if lb.v(a) and not lb.unknown(a)]
        public_least_ok = enabled and not iface_unknown
        if known_ips:
            world.set("public_ips", known_ips if enabled or iface_unknown else [],
                      known_ips if public_least_ok else [])
        else:
            # The address is assigned at apply: the load balancer is public (a public
            # endpoint); a target reached over its public address sees an unknown source,
            # any internet address at most, none at least.
            world.set("public_endpoint", enabled or iface_unknown, public_least_ok)
            if any(not private for _, _, private in lb_targets):
                world.set("public_ips", list(INTERNET), [])
            else:
                world.props["public_ips"] = []
        ports: list[tuple[int | None, Entry]] = []
        for svc in own:
            protocol = str(svc.v("protocol") or "tcp")
            listen = svc.v("listen_port")
            if listen is None and not svc.configured("listen_port"):
                listen = {"http": 80, "https": 443}.get(protocol)
            ports.append((int(listen) if listen is not None and not svc.unknown(
                "listen_port") else None, svc))
        drafts = []
        for port, svc in ports:
            drafts.append(Draft(Action.ALLOW, "tcp", PortRange(port, port) if port else None,
                                INTERNET, 0, f"{lb_id}:{port if port else '?'}"))
            http = (svc.v("http") or [{}])[0] if isinstance(svc.v("http"), list) else {}
            if svc.v("protocol") == "https" and isinstance(http, dict) and http.get(
                    "redirect_http"):
                drafts.append(Draft(Action.ALLOW, "tcp", PortRange(80, 80), INTERNET, 0,
                                    f"{lb_id}:80"))
        seen: set[str] = set()
        uniq = []
        for d in sorted(drafts, key=lambda d: (d.ports is None, d.ports.lo if d.ports else 0)):
            if d.origin not in seen:
                seen.add(d.origin)
                uniq.append(d)
        most = tuple(r for d in uniq if (r := d.widened()) is not None)
        least = tuple(r for d in uniq if d.known and (r := d.widened()) is not None)
        world.set("ingress",
                  (RuleLayer("load balancer services", LayerMode.UNION, most, Action.DENY),),
                  (RuleLayer("load balancer services", LayerMode.UNION, least, Action.DENY),))
        world.props["private_ips"] = [str(n.get("ip")) for n in lb.v("network") or []
                                      if isinstance(n, dict) and n.get("ip")]
        deps = [*own, *(t for t, _, _ in targets.get(lb.address, [])), iface,
                *attached.get(lb.address, [])]
        b.add(lb, Kind.LOAD_BALANCER, CLOUD, world, name=lb.name(lb.v("name")),
              region=_location(lb), labels=labels_of(lb, "labels"), deps=deps)
        for port, svc in ports:
            _listener(b, lb, lb_id, port, svc)
        for _t, chosen, private in lb_targets:
            for s in chosen:
                b.relate(lb_id, b.rid(CLOUD, s), RelationType.TARGETS, private=private)


def _listener(b: Builder, lb: Entry, lb_id: str, port: int | None, svc: Entry) -> None:
    protocol = str(svc.v("protocol") or "tcp")
    http = (svc.v("http") or [{}])[0] if isinstance(svc.v("http"), list) else {}
    http = http if isinstance(http, dict) else {}
    target = svc.v("destination_port")
    if target is None and not svc.configured("destination_port"):
        target = 80 if protocol in ("http", "https") else port
    world = World()
    world.props.update({
        "protocol": protocol,
        "port": port,
        "target_port": int(target) if target is not None and not svc.unknown(
            "destination_port") else None,
        "redirects_to_https": False,
    })
    if svc.unknown("protocol"):
        world.set("protocol", "http", "https")
    if protocol == "https":
        world.props["min_tls"] = "1.2"
        world.props["min_tls_reference"] = LB_TLS_DOC
    where = lb.v("location")
    region = str(where) if where and not lb.unknown("location") else None
    lname = f"{lb.v('name') or lb.address}:{port}/{protocol}"
    lid = b.add(svc, Kind.LISTENER, CLOUD, world, name=lname, region=region, deps=[lb])
    b.relate(lid, lb_id, RelationType.MEMBER_OF)
    certs, _ = b.index.targets(svc, ("http", 0, "certificates"),
                               ["hcloud_managed_certificate", "hcloud_uploaded_certificate"])
    for cert in certs:
        b.relate(lid, b.rid(CLOUD, cert), RelationType.USES_CERTIFICATE)
    if protocol == "https" and http.get("redirect_http"):
        rid = b.add(svc, Kind.LISTENER, CLOUD, {
            "protocol": "http", "port": 80, "target_port": None, "redirects_to_https": True,
        }, name=f"{lb.v('name') or lb.address}:80/http (redirect)", region=region,
            suffix="/redirect_http", deps=[lb])
        b.relate(rid, lb_id, RelationType.MEMBER_OF)


def _not_after(e: Entry) -> str | None:
    if e.v("not_valid_after") and not e.unknown("not_valid_after"):
        return str(e.v("not_valid_after"))
    if e.type != "hcloud_uploaded_certificate":
        return None
    return pem_not_after(e, "certificate")


def _shared_location(servers: list[Entry]) -> str | None:
    """A volume created on a server is in the server's location; when the reference may name
    any of several servers (`hcloud_server.node[count.index].id`), their one location if
    they share it, else not known (not the first one's)."""
    where = {_location(s) for s in servers}
    return where.pop() if len(where) == 1 else None


def _simple(b: Builder) -> None:
    ix = b.index
    for cert in ix.of_type("hcloud_managed_certificate", "hcloud_uploaded_certificate"):
        managed = cert.type == "hcloud_managed_certificate"
        not_after = _not_after(cert)
        b.add(cert, Kind.CERTIFICATE, CLOUD, {
            "managed_renewal": managed,
            "not_after": not_after,
            "issued_at_apply": managed and not_after is None and "create" in cert.actions,
            "domains": [str(d) for d in cert.v("domain_names") or []],
        }, name=cert.name(cert.v("name")), region=None, labels=labels_of(cert, "labels"))
    attached: dict[str, list[Entry]] = defaultdict(list)
    for att in ix.of_type("hcloud_volume_attachment"):
        for vol in ix.targets(att, "volume_id", ["hcloud_volume"])[0]:
            attached[vol.address].extend(ix.targets(att, "server_id", ["hcloud_server"])[0])
    for vol in ix.of_type("hcloud_volume"):
        servers = [*ix.targets(vol, "server_id", ["hcloud_server"])[0],
                   *attached.get(vol.address, [])]
        vid = b.add(vol, Kind.VOLUME, CLOUD, {
            "encrypted": False,
            "encryption_evidence": "provider",
            "encryption_reference": NOT_ENCRYPTED_DOC,
            "size_gb": None if vol.unknown("size") else vol.v("size"),
        }, name=vol.name(vol.v("name")),
            region=_location(vol) or _shared_location(servers),
            labels=labels_of(vol, "labels"))
        for s in servers:
            b.relate(vid, b.rid(CLOUD, s), RelationType.ATTACHED_TO)
    subnets: dict[str, list[Entry]] = defaultdict(list)
    for sub in ix.of_type("hcloud_network_subnet"):
        for net in ix.targets(sub, "network_id", ["hcloud_network"])[0]:
            subnets[net.address].append(sub)
    for net in ix.of_type("hcloud_network"):
        subs = subnets.get(net.address, [])
        nid = b.add(net, Kind.NETWORK, CLOUD, {
            "cidr": net.v("ip_range"),
            "network_zone": next((str(s.v("network_zone")) for s in subs
                                  if s.v("network_zone")), None),
        }, name=net.name(net.v("name")), region=None, labels=labels_of(net, "labels"))
        for sub in subs:
            sid = b.add(sub, Kind.SUBNET, CLOUD, {
                "cidr": sub.v("ip_range"), "network_zone": sub.v("network_zone")},
                name=f"{net.v('name') or net.address}/{sub.v('ip_range')}", region=None)
            b.relate(sid, nid, RelationType.MEMBER_OF)
    for fip in ix.of_type("hcloud_floating_ip"):
        fid = b.add(fip, Kind.PUBLIC_IP, CLOUD, {}, name=fip.name(fip.v("name")),
                    region=_location(fip), labels=labels_of(fip, "labels"))
        for s in ix.targets(fip, "server_id", ["hcloud_server"])[0]:
            b.relate(fid, b.rid(CLOUD, s), RelationType.ATTACHED_TO)
    for pip in ix.of_type("hcloud_primary_ip"):
        pid = b.add(pip, Kind.PUBLIC_IP, CLOUD, {}, name=pip.name(pip.v("name")),
                    region=_location(pip), labels=labels_of(pip, "labels"))
        if pip.v("assignee_type", default="server") == "server":
            for s in ix.targets(pip, "assignee_id", ["hcloud_server"])[0]:
                b.relate(pid, b.rid(CLOUD, s), RelationType.ATTACHED_TO)

