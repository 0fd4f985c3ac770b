"""Hetzner Cloud API objects -> the provider-neutral model. Pure: no network.

What Hetzner means, written down once here so no check needs a Hetzner branch:
- A firewall filters only a server's *public* interfaces. Several firewalls applied to one
  server (directly or through a label selector) add up: one allow-only layer, default deny.
  A server with none applied is open on every port (a layer with `present=False`, default
  allow).
- A firewall is in force once its `apply_firewall` action finished (a server lists it as
  `pending` until then); firewall rules are read by providers/hetzner/firewalls.py. What is
  not known (a pending firewall, one a server names that was not read, a selector that
  cannot be resolved, a rule missing a field) is recorded in `Resource.unknown` with the
  direction it could move a verdict; a dangling reference names the id it points at.
- A load balancer listens only on its services' ports; an https service with
  `redirect_http` also answers port 80 with a redirect. Targets are reached over the private
  network when `use_private_ip` is set (bypassing the targets' firewalls, which do not filter
  private traffic), otherwise from the load balancer's public address.
- Volumes and server disks are not encrypted at rest by Hetzner (documented), so they
  normalize to `encrypted=False` with provider evidence; an operator's attestation label is
  the profile's business.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from providers.hetzner.firewalls import LabelIndex, enum, firewall_rules, parse_selector
from scanner.model import Inventory, Kind, Relation, RelationType, Resource, Unread
from scanner.provider import inventory
from scanner.raw_types import array, mapping, string
from scanner.rules import Action, LayerMode, PortRange, Rule, RuleLayer
from scanner.snapshot import Section

PROVIDER = "hetzner"
NOT_ENCRYPTED_DOC = (
    "https://docs.hetzner.com/cloud/volumes/faq/ (volumes and local disks are not encrypted "
    "at rest by Hetzner; encrypt inside the server, e.g. LUKS)"
)
LB_TLS_DOC = "https://docs.hetzner.com/cloud/load-balancers/faq/ (TLS 1.2 and TLS 1.3 only)"
NO_FIREWALL = RuleLayer("hetzner firewall", LayerMode.UNION, (), Action.ALLOW, present=False)


_obj = mapping  # the typed readers shared by every provider (scanner/raw_types.py)
_arr = array
_str = string


def _id(account: str, kind: str, native: Any) -> str:
    return f"hetzner:{account}/{kind}/{native}"


def _location(obj: Mapping[str, Any]) -> str | None:
    loc = obj.get("location") or obj.get("home_location")
    if type(loc) is dict or isinstance(loc, Mapping):
        return str(loc.get("name")) if loc.get("name") else None
    dc = obj.get("datacenter")  # older API shape
    if isinstance(dc, Mapping) and isinstance(dc.get("location"), Mapping):
        return str(dc["location"].get("name"))
    return None


_NO_ROLES: frozenset[str] = frozenset()
# a resource's `unknown` when everything about it was read: one shared empty dict (a value,
# never changed in place: what changes it makes a copy, `dataclasses.replace`)
_ALL_KNOWN: dict[str, Unread] = {}
_NO_ATTRS: dict[str, Any] = {}  # a relation's `attrs` when it has none (shared the same way)


def _public_unread(lb: Mapping[str, Any]) -> bool:
    """Whether a load balancer's public interface was not read: schema load_balancer:
    `public_net` is required, and its `enabled` ("Public Interface enabled or not") is a
    boolean; missing, it read as no public address."""
    pn = lb.get("public_net")
    return not isinstance(pn, Mapping) or not isinstance(pn.get("enabled", True), bool)


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    labels = _obj(obj.get("labels"))
    for k, v in labels.items():
        if type(k) is not str or type(v) is not str:
            return {str(k): str(v) for k, v in labels.items()}
    return dict(labels)  # the usual case: strings already, copied without str() calls


# Images whose `deprecated` says nothing of the operating system they hold: the customer's
# own snapshots and backups (schema image: `deprecated` is when "the Image is considered to
# be deprecated"; Hetzner deprecates its system and app images, never a customer's copy).
_OWN_IMAGES = frozenset({"snapshot", "backup"})
_LB_PROTOCOLS = frozenset({"http", "https", "tcp"})


def _image_doubt(image: Mapping[str, Any], raw: Any) -> Unread | None:
    """Why whether a server's operating system is deprecated is not known, or None. A server
    whose `image` is null (schema server.image: nullable, e.g. the image it was built from
    was deleted) or a snapshot/backup image (its `deprecated` is never set; the OS inside it,
    `os_flavor` `os_version`, may be long deprecated) reads as "not deprecated" without
    this: only a pass can be wrong."""
    if raw is None:
        return Unread("the server's image is null in the API: which operating system it "
                      "runs is not known", opens=True, closes=False)
    kind = enum(image.get("type"))
    if kind in _OWN_IMAGES:
        return Unread(f"the server runs a {kind} image ({image.get('os_flavor')} "
                      f"{image.get('os_version')}): Hetzner sets no deprecation date on "
                      "snapshots and backups", opens=True, closes=False)
    return None


class _Builder:
    def __init__(self, section: Section) -> None:
        self.s = section
        self.account = section.account
        self.resources: list[Resource] = []
        self.relations: list[Relation] = []
        # load balancer label selectors resolved here (no `targets` list): the servers'
        # label index built once, each distinct selector resolved once
        self._label_index: LabelIndex | None = None
        self._resolved: dict[str, list[Any]] = {}
        self._n_servers: int | None = None  # servers read, counted once (not per balancer)
        # One object per distinct value where a large estate repeats it (servers of a
        # service share their labels, every relation names a server or a network, regions
        # are a handful of names): resources and relations are values, never changed in
        # place, so sharing is invisible; at 1M resources it is ~0.5 GB of the scan's peak
        # (bench/README.md, "Session 9").
        self._label_sets: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self._refs: dict[str, dict[int | str, str]] = {}  # kind -> native id -> id
        self._regions: dict[str, str] = {}

    def rid(self, kind: str, native: Any) -> str:
        return f"hetzner:{self.account}/{kind}/{native}"  # _id, inlined: once per resource

    def ref(self, kind: str, native: Any) -> str:
        """`rid(kind, native)`, one string however many relations name the resource. Only
        ints and strings are keys (`True` would find 1's id, which is "1", not "True")."""
        if type(native) is not int and type(native) is not str:
            return self.rid(kind, native)
        refs = self._refs.get(kind)
        if refs is None:
            refs = self._refs[kind] = {}
        got = refs.get(native)
        if got is None:
            got = refs[native] = self.rid(kind, native)
        return got

    def labels(self, obj: Mapping[str, Any]) -> dict[str, str]:
        """`_labels(obj)`, one dict per distinct set of labels (in their order)."""
        labels = _labels(obj)  # strings only: equal items, equal labels
        return self._label_sets.setdefault(tuple(labels.items()), labels)

    def add(self, kind: Kind, native_type: str, native: Any, obj: Mapping[str, Any],
            properties: Mapping[str, Any], region: str | None = None, name: str | None = None,
            rid: str | None = None, labels: dict[str, str] | None = None,
            unknown: Mapping[str, Unread] | None = None) -> str:
        # positional (the fields' order: id, kind, provider, account, name, region, labels,
        # properties, raw, roles, native_type, unknown): once per resource of a large scan
        resource = Resource(
            rid or f"hetzner:{self.account}/{native_type}/{native}",
            kind,
            PROVIDER,
            self.account,
            name if name is not None else str(obj.get("name") or native),
            region if region is None else self._regions.setdefault(region, region),
            self.labels(obj) if labels is None else labels,
            properties,
            obj,
            _NO_ROLES,
            native_type,
            dict(unknown) if unknown else _ALL_KNOWN,
        )
        self.resources.append(resource)
        return resource.id

    def relate(self, source: str, target: str, rtype: RelationType, **attrs: Any) -> None:
        self.relations.append(Relation(source, target, rtype, attrs or _NO_ATTRS))

    # --- firewalls ---------------------------------------------------------------------

    def firewalls(self, servers: list[dict[str, Any]], server_labels: list[dict[str, str]]
                  ) -> dict[Any, tuple[RuleLayer, dict[str, Unread]]]:
        """Each server's firewall layer (shared for identical firewall sets) and what about
        it is not known.

        A label selector applies a firewall to the servers the API lists in the entry's
        `applied_to_resources`; only an entry without that list (a hand-written snapshot) is
        resolved here against the servers' labels.

        A firewall filters a server once the `apply_firewall` action has finished (OpenAPI,
        POST /firewalls/{id}/actions/apply_to_resources: "A Firewall is applied to a resource
        once the related Action with command `apply_firewall` successfully finished"); until
        then the server lists it with status `pending` (schema `server_public_net`:
        `firewalls[].status` applied | pending). So a pending firewall is left out of the
        layer. A firewall that is pending, referenced but not in the list read, or applied by
        a label selector that cannot be resolved may be (or soon be) in force: with other
        firewalls in force it could only add allow rules (a pass is not safe), with none it
        could only close the open server (a fail is not safe)."""
        fws: dict[Any, dict[str, Any]] = {}
        for fw in self.s.items("firewalls"):
            if isinstance(fw, Mapping) and fw.get("id") is not None:
                fws[fw["id"]] = fw
        # server id -> firewall id -> pending? (True if any statement says pending)
        state: dict[Any, dict[Any, bool]] = defaultdict(dict)
        maybe: dict[Any, list[str]] = defaultdict(list)  # server id -> why unsure
        unresolved: list[tuple[Any, str]] = []  # firewalls whose targets are unknown
        index: LabelIndex | None = None
        rules_of: dict[Any, tuple[Rule, ...]] = {}
        doubts_of: dict[Any, tuple[str, ...]] = {}
        server_ids = {srv["id"] for srv in servers}

        def mark(sid: Any, fw_id: Any, status: Any, where: str) -> None:
            said = enum(status)
            pending = said not in ("", "applied")
            of = state[sid]
            of[fw_id] = of.get(fw_id, False) or pending
            if pending:
                maybe[sid].append(f"{self.rid('firewall', fw_id)} is {said} on it "
                                  f"({where}): not in force yet, left out")

        for fw in fws.values():
            fw_rid = self.rid("firewall", fw["id"])
            parsed = firewall_rules(fw, fw_rid)
            rules_of[fw["id"]] = parsed.rules
            if parsed.doubts:
                doubts_of[fw["id"]] = parsed.doubts
            unknown: dict[str, Unread] = {}
            if parsed.doubts:
                # Each doubtful rule is kept in its widest reading: only a fail can be wrong.
                unknown["firewall_rules"] = Unread("; ".join(parsed.doubts), opens=False,
                                                   closes=True)
            self.add(Kind.FIREWALL, "firewall", fw["id"], fw, {
                "firewall_rules": [
                    {"action": str(r.action), "protocol": r.protocol, "ports": str(r.ports),
                     "sources": list(r.sources), "origin": r.origin}
                    for r in parsed.rules
                ],
            }, unknown=unknown)
            for target in _arr(fw.get("applied_to")):
                if not isinstance(target, Mapping):
                    unresolved.append((fw["id"], "an applied_to entry is not an object"))
                    continue
                kind = enum(target.get("type"))
                server = target.get("server")
                if kind == "server" and isinstance(server, Mapping) and "id" in server:
                    mark(server["id"], fw["id"], target.get("status"), "firewall applied_to")
                    continue
                if kind != "label_selector":
                    unresolved.append((fw["id"], f"applied_to type {target.get('type')!r}"))
                    continue
                listed = target.get("applied_to_resources")
                for res in _arr(listed):
                    srv = res.get("server") if isinstance(res, Mapping) else None
                    if enum(res.get("type")) == "server" and isinstance(srv, Mapping):
                        mark(srv["id"], fw["id"], res.get("status"), "label selector")
                if isinstance(listed, list):
                    # The API resolved the selector itself ("Resources applied to via this
                    # Label Selector", schema firewall_resource_id.applied_to_resources): a
                    # server it does not list has not got the firewall, whatever our reading
                    # of the selector says (an own match read an open server as filtered).
                    continue
                selector = _obj(target.get("label_selector")).get("selector")
                terms = parse_selector(selector)
                if terms is None:
                    unresolved.append((fw["id"], f"label selector {selector!r} is empty or "
                                                 "malformed: which servers it selects is "
                                                 "not documented"))
                    continue
                if index is None:  # resolve the selector ourselves as well
                    index = LabelIndex(servers, server_labels)
                for sid in index.matching(terms):
                    mark(sid, fw["id"], None, "label selector")
        for srv in servers:
            for ref in _arr(_obj(srv.get("public_net")).get("firewalls")):
                if not isinstance(ref, Mapping):
                    continue
                if ref.get("id") in fws:
                    mark(srv["id"], ref["id"], ref.get("status"), "server public_net")
                else:
                    maybe[srv["id"]].append(
                        f"{self.rid('firewall', ref.get('id'))} is applied to it but not in "
                        "the firewalls read")
        for fw_id, why in unresolved:
            for sid in server_ids:
                if fw_id not in state.get(sid, {}):
                    maybe[sid].append(f"{self.rid('firewall', fw_id)} may apply to it: {why}")
        # one layer per distinct set of firewalls in force (servers of a service share theirs)
        layers: dict[frozenset[Any], RuleLayer] = {}
        # per distinct set in force: the doubts of its firewalls' rules (in firewall order)
        # and whether any firewall in it has doubtful rules (servers of a service share a set)
        set_doubts: dict[frozenset[Any], tuple[list[str], bool]] = {}
        per_server: dict[Any, tuple[RuleLayer, dict[str, Unread]]] = {}
        no_state: dict[Any, bool] = {}
        relations = self.relations
        protected = {"layer": "hetzner firewalls"}  # one per scan: Relation attrs are values
        for srv in servers:
            sid = srv["id"]
            key = frozenset([f for f, pending in state.get(sid, no_state).items()
                             if not pending])
            known = set_doubts.get(key)
            if known is None:
                known = set_doubts[key] = (
                    [d for f in sorted(key, key=str) for d in doubts_of.get(f, ())],
                    any(f in doubts_of for f in key))
            unknown = {}
            # Doubtful rules of a firewall in force are read widest: a fail may be wrong.
            # A firewall that may be (or soon be) in force could add allow rules to those in
            # force (a pass may be wrong) or, with none in force, close the open server.
            unsure = maybe.get(sid)
            doubts = known[0] + unsure if unsure else known[0]
            if doubts:
                unknown["ingress"] = Unread(
                    "; ".join(doubts), opens=bool(key) and bool(unsure),
                    closes=not key or known[1])
            if not key:
                per_server[sid] = NO_FIREWALL, unknown
                continue
            layer = layers.get(key)
            if layer is None:
                ordered = sorted(key, key=str)
                layer = layers[key] = RuleLayer(
                    name="hetzner firewalls",
                    mode=LayerMode.UNION,
                    rules=tuple(r for f in ordered for r in rules_of[f]),
                    default=Action.DENY,
                    origin=tuple(self.rid("firewall", f) for f in ordered),
                )
            per_server[sid] = layer, unknown
            server = self.ref("server", sid)
            relations.extend([Relation(server, fw_id, RelationType.PROTECTED_BY, protected)
                              for fw_id in layer.origin])
        return per_server

    # --- servers -------------------------------------------------------------------------

    def servers(self) -> None:
        servers = self.s.items("servers")
        server_labels = [self.labels(srv) for srv in servers]  # label selectors read them too
        layers = self.firewalls(servers, server_labels)
        floating: dict[Any, list[str]] = defaultdict(list)
        fips_read = set()
        for fip in self.s.items("floating_ips"):
            fips_read.add(fip.get("id"))
            if fip.get("server") is not None and fip.get("ip"):
                floating[fip["server"]].append(str(fip["ip"]))
        volumes_of: dict[Any, list[Any]] = defaultdict(list)
        for vol in self.s.items("volumes"):
            if vol.get("server") is not None:
                volumes_of[vol["server"]].append(vol["id"])
        attached, relations = RelationType.ATTACHED_TO, self.relations
        every, some = self.lb_doubts()
        for srv, labels in zip(servers, server_labels, strict=True):
            native = srv["id"]
            raw_pn = srv.get("public_net")
            pn = _obj(raw_pn)
            public = [str(ip["ip"]) for ip in (_obj(pn.get("ipv4")), _obj(pn.get("ipv6")))
                      if _str(ip.get("ip"), "public_net.ip")]
            more = floating.get(native)
            if more:
                public += more
            layer, unknown = layers[native]
            # schema server_public_net.floating_ips: "IDs of Floating IPs assigned to this
            # Server"; one not in the floating IPs read adds an address that was not read
            unread_fips = [f for f in _arr(pn.get("floating_ips")) if f not in fips_read]
            if unread_fips:
                unknown = {**unknown, "public_ips": Unread(
                    "floating IP(s) " + ", ".join(self.rid("floating_ip", f)
                                                  for f in unread_fips[:10])
                    + " assigned to it are not in the floating IPs read", reason="dangling",
                    opens=True, closes=False)}
            if not isinstance(raw_pn, Mapping):
                # schema server: public_net is required (ipv4/ipv6 null when disabled); a
                # server without it has addresses that were not read, not none
                unknown = {**unknown, "public_ips": Unread(
                    "the server's public_net is missing: its public addresses were not read",
                    opens=True, closes=False)}
            doubts = every + some[native] if native in some else every
            if doubts:
                unknown = {**unknown, "targeted_by": Unread("; ".join(doubts), opens=True,
                                                            closes=False)}
            image = _obj(srv.get("image"))
            doubt = _image_doubt(image, srv.get("image"))
            if doubt is not None:
                unknown = {**unknown, "image_deprecated": doubt}
            window = srv.get("backup_window")
            if window is not None and not isinstance(window, str):  # "22-02" or null
                raise TypeError(f"backup_window: expected a string or null, got "
                                f"{type(window).__name__}")
            private_net = _arr(srv.get("private_net"))
            sid = self.add(Kind.COMPUTE, "server", native, srv, {
                "public_ips": public,
                "private_ips": [p["ip"] for p in private_net if p.get("ip")],
                "ingress": (layer,),
                # schema server.backup_window: "Time window (UTC) in which the backup will
                # run, or null if the backups are not enabled" ("22-02"); a blank one is
                # neither (" " read as daily backups kept 7 days, "" as kept "None days")
                "backup_enabled": None if window is not None and not window.strip()
                else window is not None,
                "backup_frequency_hours": 24 if window and window.strip() else None,
                "backup_retention_days": 7 if window and window.strip() else None,
                "image": image.get("name") or image.get("description"),
                "image_deprecated": image.get("deprecated"),
                "stateful": bool(volumes_of.get(native)),
                "encrypted": False,
                "encryption_evidence": "provider",
                "encryption_reference": NOT_ENCRYPTED_DOC,
            }, region=_location(srv), labels=labels, unknown=unknown,
                rid=self.ref("server", native))
            if private_net:
                relations.extend([Relation(sid, self.ref("network", net.get("network")),
                                           attached, _NO_ATTRS)
                                  for net in private_net])

    # --- load balancers ------------------------------------------------------------------

    def lb_doubts(self) -> tuple[list[str], dict[Any, list[str]]]:
        """Why whether a load balancer forwards internet traffic to a server is not known:
        (for every server, per server id). A label selector target without the API's
        resolution (`targets`) whose selector cannot be parsed may forward to any server
        (Hetzner documents no meaning for it; it read as every server being a target, a fail
        on servers it may not reach); a load balancer whose public interface was not read
        may be public, forwarding to its targets (they read as reached by nothing)."""
        every: list[str] = []
        some: dict[Any, list[str]] = defaultdict(list)
        for lb in self.s.items("load_balancers"):
            lb_rid = self.rid("load_balancer", lb.get("id"))
            if _public_unread(lb):
                why = f"{lb_rid} forwards to it and its public interface was not read"
                for sid in self.target_ids(lb, resolve=True):
                    some[sid].append(why)
            for target in _arr(lb.get("targets")):
                if not isinstance(target, Mapping) or enum(target.get("type")) != \
                        "label_selector" or isinstance(target.get("targets"), list):
                    continue
                selector = _obj(target.get("label_selector")).get("selector")
                if parse_selector(selector) is None:
                    every.append(f"{lb_rid} has a label selector target "
                                 f"{str(selector)[:80]!r} that is empty or malformed: it may "
                                 "forward to this server")
        return every, some

    def load_balancers(self) -> None:
        servers = {srv["id"] for srv in self.s.items("servers")}
        for lb in self.s.items("load_balancers"):
            raw_pn = lb.get("public_net")
            pn = _obj(raw_pn)
            public = []
            # schema load_balancer_public_net: `enabled` ("Public Interface enabled or not"),
            # ipv4 and ipv6 are required; the public interface is on unless `enabled` is false
            if pn.get("enabled", True) is not False:
                public = [str(ip["ip"]) for ip in (_obj(pn.get("ipv4")), _obj(pn.get("ipv6")))
                          if _str(ip.get("ip"), "public_net.ip")]
            listeners: list[tuple[int, dict[str, Any]]] = []
            for svc in _arr(lb.get("services")):
                listeners.append((int(svc["listen_port"]), svc))
            ports = sorted({p for p, _ in listeners} | {
                80 for _, svc in listeners
                if enum(svc.get("protocol")) == "https"
                and _obj(svc.get("http")).get("redirect_http")
            })
            ingress = RuleLayer(
                name="load balancer services", mode=LayerMode.UNION,
                rules=tuple(Rule(Action.ALLOW, "tcp", PortRange(p, p),
                                 origin=f"{self.rid('load_balancer', lb['id'])}:{p}")
                            for p in ports),
                default=Action.DENY,
            )
            missing = [sid for sid in self.target_ids(lb) if sid not in servers]
            unknown = {"targets": Unread(
                "target server(s) " + ", ".join(self.rid("server", m) for m in missing)
                + " not in the servers read", reason="dangling")} if missing else {}
            if _public_unread(lb):
                # a load balancer without public_net (or whose `enabled` is not a boolean)
                # has addresses that were not read, not none: it read as private
                unknown["public_ips"] = Unread(
                    "the load balancer's public_net is missing or its `enabled` is not a "
                    "boolean: its public addresses were not read", opens=True, closes=False)
            lb_id = self.add(Kind.LOAD_BALANCER, "load_balancer", lb["id"], lb, {
                "public_ips": public,
                "private_ips": [p["ip"] for p in _arr(lb.get("private_net")) if p.get("ip")],
                "ingress": (ingress,),
            }, region=_location(lb), unknown=unknown)
            for port, svc in listeners:
                self.listener(lb_id, lb, port, svc)
            self.targets(lb_id, lb)

    def listener(self, lb_id: str, lb: Mapping[str, Any], port: int,
                 svc: Mapping[str, Any]) -> None:
        protocol = enum(svc.get("protocol"))
        http = _obj(svc.get("http"))
        props: dict[str, Any] = {
            "protocol": protocol,
            "port": port,
            "target_port": svc.get("destination_port"),
            "redirects_to_https": False,
        }
        if protocol == "https":
            props["min_tls"] = "1.2"
            props["min_tls_reference"] = LB_TLS_DOC
        # schema load_balancer_service.protocol: http | https | tcp. Another value (or none)
        # is not known to be plaintext, TLS or a pass-through: TLS-01/TLS-02 cannot judge it
        # (it read as "a <PROTOCOL> listener", a TLS-02 pass).
        unknown = {} if protocol in _LB_PROTOCOLS else {"protocol": Unread(
            f"service protocol {svc.get('protocol')!r} is not one the API documents "
            "(http, https, tcp)")}
        lid = self.add(Kind.LISTENER, "load_balancer_service", f"{lb['id']}/{port}", svc, props,
                       region=_location(lb), name=f"{lb.get('name')}:{port}/{protocol}",
                       rid=f"{lb_id}/service/{port}", unknown=unknown)
        self.relate(lid, lb_id, RelationType.MEMBER_OF)
        for cert in _arr(http.get("certificates")):
            self.relate(lid, self.rid("certificate", cert), RelationType.USES_CERTIFICATE)
        if protocol == "https" and http.get("redirect_http"):
            rid = self.add(Kind.LISTENER, "load_balancer_service", f"{lb['id']}/80", {
                "redirect_http_of": port}, {
                "protocol": "http", "port": 80, "target_port": None,
                "redirects_to_https": True,
                "implicit": f"the port-80 redirect of https service {port} (its "
                            "http.redirect_http setting)",
            }, region=_location(lb), name=f"{lb.get('name')}:80/http (redirect)",
                rid=f"{lb_id}/service/80")
            self.relate(rid, lb_id, RelationType.MEMBER_OF)

    def selected(self, target: Mapping[str, Any]) -> list[tuple[Any, Mapping[str, Any]]]:
        """(server id, the entry that names it) for a label selector target. The API lists
        the servers the selector resolved to in the target's `targets` (schema
        load_balancer_target: "Resolved label selector target Servers. Only present for
        type label_selector"); without that list the selector is resolved here against the
        servers read; one that cannot be parsed selects none for sure, and every server's
        `targeted_by` is unknown (lb_doubts): never "selects none" alone."""
        listed = target.get("targets")
        if isinstance(listed, list):
            return [(sub["server"]["id"], sub) for sub in listed
                    if isinstance(sub, Mapping) and isinstance(sub.get("server"), Mapping)]
        return [(sid, target) for sid in self.resolve(
            _obj(target.get("label_selector")).get("selector"))]

    def resolve(self, selector: Any) -> list[Any]:
        """The ids of the servers read that `selector` selects (not parsed: none, and every
        server's `targeted_by` is unknown: lb_doubts).
        The label index is built once and each distinct selector resolved once: built per
        target, 2,000 selector targets over 2,000 servers took 15 s."""
        key = selector if isinstance(selector, str) else None
        if key is not None and key in self._resolved:
            return self._resolved[key]
        servers = self.s.items("servers")
        terms = parse_selector(selector)
        if terms is None:
            found = []
        else:
            if self._label_index is None:
                self._label_index = LabelIndex(servers, [self.labels(srv) for srv in servers])
            found = self._label_index.matching(terms)
        if key is not None:
            self._resolved[key] = found
        return found

    def target_ids(self, lb: Mapping[str, Any], resolve: bool = False) -> list[Any]:
        """The server ids a load balancer targets, directly or through a label selector
        (`resolve`: also the selectors resolved here, which select servers read only)."""
        out = []
        for target in _arr(lb.get("targets")):
            kind = enum(target.get("type"))
            if kind == "server" and target.get("server"):
                out.append(target["server"]["id"])
            elif kind == "label_selector" and (resolve or isinstance(target.get("targets"),
                                                                     list)):
                out.extend(sid for sid, _ in self.selected(target))
        return list(dict.fromkeys(out))

    def targets(self, lb_id: str, lb: Mapping[str, Any]) -> None:
        """One `targets` relation per server and address family (private or not), however
        many targets name it: 2,000 selectors each selecting 2,000 servers made 4,000,000
        relations."""
        seen: set[tuple[str, bool]] = set()
        # selectors resolved here: each (selector, family) applied once, and none once every
        # server read is a target in that family
        applied: set[tuple[str | None, bool]] = set()
        resolved: dict[bool, set[Any]] = {True: set(), False: set()}

        def target(sid: Any, private: bool) -> None:
            rid = self.ref("server", sid)
            if (rid, private) not in seen:
                seen.add((rid, private))
                self.relate(lb_id, rid, RelationType.TARGETS, private=private)

        for entry in _arr(lb.get("targets")):
            private = bool(entry.get("use_private_ip"))
            kind = enum(entry.get("type"))
            if kind == "server" and entry.get("server"):
                target(entry["server"]["id"], private)
            elif kind == "label_selector" and isinstance(entry.get("targets"), list):
                for sid, sub in self.selected(entry):  # the API's resolution
                    target(sid, bool(sub.get("use_private_ip", private)))
            elif kind == "label_selector":
                selector = _obj(entry.get("label_selector")).get("selector")
                key = (selector if isinstance(selector, str) else None, private)
                if self._n_servers is None:  # a list of every server: once per scan, not
                    # once per load balancer (800 of them at 100k resources: 1.8 s)
                    self._n_servers = sum(map(len, self.s.collections.get("servers",
                                                                           {}).values()))
                if key in applied or len(resolved[private]) >= self._n_servers:
                    continue
                applied.add(key)
                for sid in self.resolve(selector):  # target() keeps each relation once
                    resolved[private].add(sid)
                    target(sid, private)

    # --- the rest ------------------------------------------------------------------------

    def simple(self) -> None:
        for cert in self.s.items("certificates"):
            managed = enum(cert.get("type")) == "managed"
            self.add(Kind.CERTIFICATE, "certificate", cert["id"], cert, {
                "managed_renewal": managed,
                # schema certificate.status ("always null for type uploaded"): renewal is
                # scheduled | pending | failed | unavailable; `failed`: Hetzner's automatic
                # renewal of a managed certificate did not succeed (status.error says why)
                "renewal_status": enum(_obj(cert.get("status")).get("renewal")) or None
                if managed else None,
                "not_after": cert.get("not_valid_after"),
                "domains": list(_arr(cert.get("domain_names"))),
            })
        for vol in self.s.items("volumes"):
            vid = self.add(Kind.VOLUME, "volume", vol["id"], vol, {
                "encrypted": False,
                "encryption_evidence": "provider",
                "encryption_reference": NOT_ENCRYPTED_DOC,
                "size_gb": vol.get("size"),
            }, region=_location(vol))
            if vol.get("server") is not None:
                self.relate(vid, self.ref("server", vol["server"]), RelationType.ATTACHED_TO)
        for net in self.s.items("networks"):
            nid = self.add(Kind.NETWORK, "network", net["id"], net, {
                "cidr": net.get("ip_range"),
                "network_zone": next((s.get("network_zone") for s in _arr(net.get("subnets"))),
                                     None),
            })
            for sub in _arr(net.get("subnets")):
                sid = self.add(Kind.SUBNET, "subnet", f"{net['id']}/{sub.get('ip_range')}", sub, {
                    "cidr": sub.get("ip_range"), "network_zone": sub.get("network_zone"),
                }, name=f"{net.get('name')}/{sub.get('ip_range')}")
                self.relate(sid, nid, RelationType.MEMBER_OF)
        servers = {srv["id"] for srv in self.s.items("servers")}
        for pip in self.s.items("primary_ips"):
            # A server created without primary IPs of its own gets new ones, deleted with it
            # (auto_delete): they are part of the server, not declared on their own.
            assigned = enum(pip.get("assignee_type")) == "server" and \
                pip.get("assignee_id") is not None
            auto = pip.get("auto_delete") and assigned
            unknown = {"implicit": Unread(
                f"assignee server {self.rid('server', pip['assignee_id'])} not in the servers "
                "read", reason="dangling")} if assigned and pip["assignee_id"] not in servers \
                else {}
            pid = self.add(Kind.PUBLIC_IP, "primary_ip", pip["id"], pip, {
                "implicit": f"created with server {pip.get('assignee_id')} (deleted with it)",
            } if auto else {}, region=_location(pip), unknown=unknown)
            if assigned:
                self.relate(pid, self.ref("server", pip["assignee_id"]), RelationType.ATTACHED_TO)
        for fip in self.s.items("floating_ips"):
            fid = self.add(Kind.PUBLIC_IP, "floating_ip", fip["id"], fip, {},
                           region=_location(fip))
            if fip.get("server") is not None:
                self.relate(fid, self.ref("server", fip["server"]), RelationType.ATTACHED_TO)
        for img in self.s.items("images"):
            # Hetzner says nothing about how it stores backups and snapshots.
            iid = self.add(Kind.SNAPSHOT, "image", img["id"], img, {
                "encrypted": None,
                "encryption_evidence": "none",
            }, name=str(img.get("description") or img.get("name") or img["id"]))
            if _obj(img.get("created_from")).get("id") is not None:
                self.relate(self.ref("server", img["created_from"]["id"]), iid,
                            RelationType.BACKED_UP_BY)


def normalize(section: Section) -> Inventory:
    b = _Builder(section)
    b.add(Kind.ACCOUNT, "project", section.account, {"name": section.account},
          {"regions": list(section.locations)}, rid=f"hetzner:{section.account}")
    b.servers()
    b.load_balancers()
    b.simple()
    return inventory(PROVIDER, section, b.resources, b.relations)

