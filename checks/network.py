"""Network exposure: NET-01 .. NET-07."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scanner.check import CheckContext, check
from scanner.findings import Finding
from scanner.graph import Reach
from scanner.model import ANY_PROPERTY, Kind, RelationType, Resource
from scanner.rules import (
    ALL_PORTS,
    INTERNET,
    Action,
    Exposure,
    LayerMode,
    PortRange,
    Rule,
    RuleLayer,
    admitted,
    canonical_cidr,
    cidr_set,
    subtract,
    wide_open,
)

REFS_EXPOSURE = {
    "GDPR": ("Art. 32(1)(b)",),
    "ISO27001": ("A.8.20", "A.8.22"),
    "C5": ("KOS-01", "KOS-02"),
}
# C5:2020 criteria are cited by their German-edition ids (KOS = COS, KRY = CRY in English).


EXPOSURE_PROPS = (ANY_PROPERTY, "public_ips", "public_endpoint", "ingress")
# ... and whether a load balancer forwards to it (`targeted_by`: a Hetzner label selector
# target that cannot be resolved, a balancer whose public interface was not read): only the
# checks that follow load balancer paths (NET-01, NET-02) read it
REACH_PROPS = (*EXPOSURE_PROPS, "targeted_by")
ADDRESS_PROPS = (ANY_PROPERTY, "public_ips", "public_endpoint")  # has it a public endpoint?


def exposure_unknown(r: Resource, props: tuple[str, ...] = EXPOSURE_PROPS) -> bool:
    """Whether the resource might face the internet though what was read says it does not
    (a public IP list or a firewall that could not be read, in the direction that could
    open it): such a resource is judged, not skipped, so that the engine's fail-closed rule
    can make its verdict `error`. Data that could only close a path changes nothing here."""
    if not r.unknown:
        return False
    return any(u.opens for p in props if (u := r.unknown.get(p)) is not None)


def databases(ctx: CheckContext) -> list[Resource]:
    found = {r.id: r for r in ctx.graph.of_kind(Kind.DATABASE)}
    found.update({r.id: r for r in ctx.graph.with_role("database", Kind.COMPUTE)})
    return sorted(found.values(), key=lambda r: r.id)


def _reach_json(reaches: list[Reach], limit: int = 10) -> list[dict[str, object]]:
    out = []
    for reach in reaches:
        doc = reach.to_json()
        exposures = doc["exposures"]
        if isinstance(exposures, list):
            for e in exposures:
                if isinstance(e, dict) and isinstance(e.get("sources"), list):
                    srcs = e["sources"]
                    e["sources"] = srcs[:limit] + ([f"... {len(srcs) - limit} more"]
                                                   if len(srcs) > limit else [])
        out.append(doc)
    return out


@check(
    id="NET-01",
    reads=("public_ips", "public_endpoint", "ingress", "targeted_by", "api_only",
           "port", "target_port", "redirects_to_https"),
    title="Databases hold no public IP and accept no connections from the internet",
    severity="critical",
    kinds={Kind.COMPUTE, Kind.DATABASE, Kind.FIREWALL, Kind.LOAD_BALANCER, Kind.LISTENER,
           Kind.PUBLIC_IP},
    rationale="A database reachable from the internet is one leaked password or one "
              "unpatched bug away from a breach of every customer's data.",
    remediation="Remove the public IP (Hetzner: disable public IPv4/IPv6 on the server and "
                "reach it over a private network; AWS: PubliclyAccessible=false; Azure: "
                "publicNetworkAccess=Disabled) and drop load balancer services that forward "
                "to it.",
    references=REFS_EXPOSURE,
    evidence={
        "hetzner": "servers recognised as databases by the profile's roles: public_net, "
                   "applied firewalls, load balancer targets",
    },
    parameters=("roles",),
)
def databases_not_public(ctx: CheckContext) -> Iterator[Finding]:
    for db in databases(ctx):
        if db.prop("api_only"):
            # served only by its provider's API endpoint, signed requests only (a DynamoDB
            # table): no address or firewall of its own to judge
            yield ctx.skip(db, "reached only through the provider's API endpoint: no "
                               "address or firewall of its own", {"api_only": True})
            continue
        public = list(db.prop("public_ips") or [])
        endpoint = bool(db.prop("public_endpoint"))
        reaches = ctx.graph.reaches(db.id)
        evidence: dict[str, object] = {"public_ips": public, "public_endpoint": endpoint,
                                       "reaches": _reach_json(reaches)}
        what = (f"holds public IP(s) {', '.join(public)}" if public
                else "has a public endpoint" if endpoint else "")
        if what and reaches:
            yield ctx.fail(db, f"{what} and is reachable from the internet", evidence)
        elif what:
            yield ctx.fail(db, f"{what} (its firewall admits nothing from the internet today)",
                           evidence)
        elif reaches:
            via = sorted({r.via for r in reaches if r.via})
            yield ctx.fail(db, "reachable from the internet through " + ", ".join(via), evidence)
        else:
            yield ctx.passed(db, "no public IP and no path from the internet", evidence)


def _capped(items: list[str], limit: int = 10) -> list[str]:
    return items[:limit] + ([f"... {len(items) - limit} more"] if len(items) > limit else [])


def _port_order(ports: str) -> tuple[int, ...]:
    """"2375" before "2375-2376" before "2376": by first port, then last (by the first port
    alone, the two ranges that start alike tied, and their order followed set iteration,
    which changes from run to run)."""
    return tuple(int(p) for p in ports.split("-"))


def _violations(ctx: CheckContext, reaches: list[Reach], ranges: list[tuple[int, int]]
                ) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for reach in reaches:
        for e in reach.exposures:
            if e.protocol not in ("tcp", "udp"):
                continue
            ports = e.ports
            for lo, hi in ranges:
                if ports.hi < lo or ports.lo > hi:
                    continue
                outside = subtract(e.sources, ctx.params.operator_cidrs)
                if outside:
                    out.append({
                        "protocol": e.protocol,
                        "ports": f"{max(lo, e.ports.lo)}-{min(hi, e.ports.hi)}"
                                 if max(lo, e.ports.lo) != min(hi, e.ports.hi)
                                 else str(max(lo, e.ports.lo)),
                        "sources": _capped(list(e.sources)),
                        "outside_operator_ranges": _capped(outside, 4),
                        "via": reach.via,
                    })
    return out


@check(
    id="NET-02",
    reads=("public_ips", "public_endpoint", "ingress", "targeted_by",
           "port", "target_port", "redirects_to_https"),
    title="Administrative and database ports are reachable only from the operator VPN ranges",
    severity="high",
    kinds={Kind.COMPUTE, Kind.DATABASE, Kind.FIREWALL, Kind.LOAD_BALANCER, Kind.LISTENER,
           Kind.PUBLIC_IP},
    rationale="SSH, RDP, WinRM, Docker, Kubernetes and etcd APIs and database ports open to "
              "the internet are the most scanned and brute-forced services there are.",
    remediation="Restrict the firewall rules for these ports to the operator VPN ranges of the "
                "profile (parameters.operator_cidrs), or close them.",
    references={**REFS_EXPOSURE, "C5": ("KOS-01", "KOS-05")},
    evidence={"hetzner": "firewall rules applied to each server; load balancer services"},
    parameters=("admin_ports", "database_ports", "operator_cidrs"),
)
def admin_ports_restricted(ctx: CheckContext) -> Iterator[Finding]:
    ranges = ctx.params.admin_port_ranges()
    for r in ctx.graph.of_kind(Kind.COMPUTE, Kind.DATABASE, Kind.LOAD_BALANCER):
        reaches = ctx.graph.reaches(r.id)
        if not r.prop("public_ips") and not reaches and not exposure_unknown(r, REACH_PROPS):
            continue
        bad = _violations(ctx, reaches, ranges)
        if bad:
            ports = sorted({str(v["ports"]) for v in bad}, key=_port_order)
            yield ctx.fail(r, f"administrative port(s) {', '.join(ports)} reachable from "
                              "outside the operator ranges", {"violations": bad})
        else:
            yield ctx.passed(r, "no administrative port reachable from outside the operator "
                                "ranges", {"operator_cidrs": list(ctx.params.operator_cidrs)})


@check(
    id="NET-03",
    reads=("public_ips", "public_endpoint", "ingress",
           "port", "target_port", "redirects_to_https"),
    title="Application servers have no public endpoint: public traffic terminates at load "
          "balancers",
    severity="high",
    kinds={Kind.COMPUTE, Kind.FIREWALL, Kind.PUBLIC_IP},
    rationale="Servers answering the internet directly bypass the load balancer's TLS "
              "termination and widen the attack surface.",
    remediation="Remove the server's public IP (or close every port on its firewall) and serve "
                "public traffic through a load balancer over the private network.",
    references=REFS_EXPOSURE,
    evidence={"hetzner": "servers with public_net addresses and the ports their firewalls "
                         "admit"},
    parameters=("public_roles",),
)
def app_servers_private(ctx: CheckContext) -> Iterator[Finding]:
    exempt = set(ctx.params.public_roles)
    for r in ctx.graph.of_kind(Kind.COMPUTE):
        if "database" in r.roles:
            continue  # NET-01 judges databases
        if r.roles & exempt:
            yield ctx.skip(r, f"exempt by role ({', '.join(sorted(r.roles & exempt))})")
            continue
        direct = [reach for reach in ctx.graph.reaches(r.id) if reach.via is None]
        public = r.prop("public_ips") or []
        if direct:
            yield ctx.fail(r, "answers the internet directly", {
                "public_ips": public, "reaches": _reach_json(direct)})
        elif public:
            yield ctx.passed(r, "has a public IP but its firewall admits nothing from the "
                                "internet", {"public_ips": public})
        else:
            yield ctx.passed(r, "no public IP", {"public_ips": []})


@check(
    id="NET-04",
    reads=("public_ips", "public_endpoint", "ingress"),
    title="Every internet-facing machine sits behind a cloud firewall",
    severity="high",
    kinds={Kind.COMPUTE, Kind.DATABASE, Kind.FIREWALL, Kind.PUBLIC_IP},
    rationale="A machine with a public IP and no firewall exposes every service it runs, "
              "including ones started by mistake.",
    remediation="Apply a cloud firewall (Hetzner Firewall, security group, NSG) that admits "
                "only the ports the machine serves.",
    references=REFS_EXPOSURE,
    evidence={"hetzner": "firewalls applied to each server with a public IP, directly or by "
                         "label selector"},
)
def internet_facing_behind_firewall(ctx: CheckContext) -> Iterator[Finding]:
    for r in ctx.graph.of_kind(Kind.COMPUTE, Kind.DATABASE):
        public = r.prop("public_ips") or []
        if not public:
            if exposure_unknown(r):
                yield ctx.passed(r, "no public IP was read", {"public_ips": []})
            continue
        layers = r.prop("ingress", ())
        direct: list[Exposure] = [e for reach in ctx.graph.reaches(r.id) if reach.via is None
                                  for e in reach.exposures]
        if not any(layer.present for layer in layers):
            evidence = {"public_ips": public, "layers": [layer.name for layer in layers]}
            if all(layer.default is Action.ALLOW for layer in layers):
                yield ctx.fail(r, "public IP and no firewall: every port is open", evidence)
            else:  # e.g. an Azure Standard public IP: closed unless an NSG opens it
                yield ctx.passed(r, "no firewall, but the provider closes the address by "
                                    "default", evidence)
        elif wide_open(direct):
            yield ctx.fail(r, "its firewall admits every TCP port from anywhere",
                           {"public_ips": public,
                            "firewalls": sorted({o for layer in layers for o in layer.origin})})
        else:
            yield ctx.passed(r, "behind a firewall", {
                "firewalls": sorted({o for layer in layers for o in layer.origin})})


def _environment(ctx: CheckContext, r: Resource) -> str | None:
    wanted = ctx.params.environment_label.lower()
    for key, value in r.labels.items():
        if key.lower() == wanted:
            return value.lower()
    return None


def _members(ctx: CheckContext, net: Resource) -> list[Resource]:
    """What sits on a network: attached to it (Hetzner servers) or to one of its subnets
    (AWS instances, Azure VMs), once each, in graph order."""
    found = {r.id: r for r in ctx.graph.related(net.id, RelationType.ATTACHED_TO,
                                                 incoming=True)}
    for subnet in ctx.graph.related(net.id, RelationType.MEMBER_OF, incoming=True):
        if subnet.kind is Kind.SUBNET:
            found.update((r.id, r) for r in ctx.graph.related(
                subnet.id, RelationType.ATTACHED_TO, incoming=True))
    return list(found.values())


@check(
    id="NET-05",
    reads=("labels",),
    title="Production, staging and development are segmented",
    severity="medium",
    kinds={Kind.NETWORK, Kind.SUBNET, Kind.COMPUTE, Kind.DATABASE},
    rationale="A staging machine on the production network, or a peering between them, makes "
              "the weakest environment a door into production.",
    remediation="Give production its own networks; remove peerings between production and "
                "other environments; move non-production machines off production networks.",
    references={"ISO27001": ("A.8.22", "A.8.31"), "C5": ("KOS-04",),
                "GDPR": ("Art. 32(1)(b)",)},
    evidence={"hetzner": "networks and the servers attached to them, by label",
              "aws": "VPCs, active VPC peerings and the instances in their subnets, by tag",
              "azure": "VNets, their peerings and the VMs in their subnets, by tag"},
    parameters=("environment_label", "production_values"),
)
def environments_segmented(ctx: CheckContext) -> Iterator[Finding]:
    prod = {v.lower() for v in ctx.params.production_values}
    for net in ctx.graph.of_kind(Kind.NETWORK):
        env = _environment(ctx, net)
        if env is None:
            yield ctx.skip(net, f"no {ctx.params.environment_label} label: environment unknown")
            continue
        if env not in prod:
            continue
        mixed = []
        for peer in ctx.graph.related(net.id, RelationType.PEERED_WITH) + ctx.graph.related(
                net.id, RelationType.PEERED_WITH, incoming=True):
            peer_env = _environment(ctx, peer)
            if peer_env is not None and peer_env not in prod:
                mixed.append({"peering": peer.id, "environment": peer_env})
        for member in _members(ctx, net):
            member_env = _environment(ctx, member)
            if member_env is not None and member_env not in prod:
                mixed.append({"member": member.id, "environment": member_env})
        if mixed:
            yield ctx.fail(net, "production network shared with or peered to another "
                                "environment", {"mixed": mixed})
        else:
            yield ctx.passed(net, "production network holds production only")


@check(
    id="NET-06",
    reads=("public_ips", "public_endpoint", "waf", "waf_rate_limit", "ddos_protection"),
    title="Public entry points have a WAF and DDoS protection",
    severity="medium",
    kinds={Kind.LOAD_BALANCER, Kind.CDN, Kind.APP_SERVICE, Kind.NETWORK},
    rationale="Web attacks and floods hit the public entry point first; that is where they "
              "are cheapest to stop.",
    remediation="Associate a WAF (AWS WAFv2 web ACL with a rate-based rule, Azure Application "
                "Gateway/Front Door WAF policy) and DDoS protection (Shield Advanced, Azure "
                "DDoS Protection plan) with public entry points.",
    references={"ISO27001": ("A.8.20", "A.8.21"), "C5": ("KOS-01", "KOS-03"),
                "GDPR": ("Art. 32(1)(b)",)},
    evidence={"aws": "WAFv2 web ACL associations and rate-based rules; Shield",
              "azure": "Application Gateway/Front Door WAF policies; DDoS plans of VNets "
                       "holding a resource with a public IP"},
)
def waf_and_ddos(ctx: CheckContext) -> Iterator[Finding]:
    for r in ctx.graph.of_kind(Kind.LOAD_BALANCER, Kind.CDN, Kind.APP_SERVICE):
        public = r.prop("public_ips") or r.prop("public_endpoint") or r.kind is Kind.CDN \
            or exposure_unknown(r)
        if not public or not r.has_prop("waf"):
            continue
        waf, rate = r.prop("waf"), r.prop("waf_rate_limit")
        evidence = {"waf": waf, "rate_limit": rate}
        if waf is None:
            yield ctx.error(r, "whether a WAF is associated is not known", "unknown", evidence)
        elif waf:
            yield ctx.passed(r, "WAF associated" + (" with rate limiting" if rate else ""),
                             evidence)
        else:
            yield ctx.fail(r, "public entry point without a WAF", evidence)
    for net in ctx.graph.of_kind(Kind.NETWORK):
        if not net.has_prop("ddos_protection"):
            continue
        ddos = net.prop("ddos_protection")
        if ddos is None:
            yield ctx.error(net, "DDoS protection state not known", "unknown")
        elif ddos:
            yield ctx.passed(net, "DDoS protection plan on", {"ddos_protection": True})
        else:
            yield ctx.fail(net, "network with public endpoints and no DDoS protection plan",
                           {"ddos_protection": False})


# --- NET-07: the firewall rule itself --------------------------------------------------------

_INTERNET_TOKENS = {"*", "any", "internet"}  # Azure's words for every address


_FAMILY_SPACE = ((4, "0.0.0.0/0", [(0, 1 << 32)]), (6, "::/0", [(0, 1 << 128)]))


def _whole_families(cidrs: Iterable[str]) -> tuple[str, ...]:
    """The address families (as their /0, IPv4 first) every address of which `cidrs`
    together cover: the internet is a matter of coverage, not of spelling -- `0.0.0.0/1` +
    `128.0.0.0/1`, `::/1` + `8000::/1` or any pieces summing to the space are the whole
    IPv4 / IPv6 internet as `0.0.0.0/0` / `::/0` are."""
    covered = cidr_set(cidrs)
    return tuple(whole for version, whole, space in _FAMILY_SPACE if covered[version] == space)


def _rule_sources(raw: object) -> tuple[tuple[str, ...], bool]:
    """A `firewall_rules` entry's sources as CIDRs (`*`, `Internet`, `Any` = the whole
    internet), and whether together they cover the whole internet of a family."""
    out: list[str] = []
    for src in raw if isinstance(raw, list) else [raw]:
        text = str(src).strip()
        if text.lower() in _INTERNET_TOKENS:
            out.extend(INTERNET)
            continue
        try:
            cidr = canonical_cidr(text)  # = str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            continue  # a service tag or name that is not the internet
        out.append(cidr)
    sources = tuple(dict.fromkeys(out))
    return sources, bool(_whole_families(sources))


def _rule_ports(raw: object) -> PortRange:
    try:
        return PortRange.parse(raw if isinstance(raw, int | str) else None)
    except ValueError:
        return ALL_PORTS  # not a port or range: read as every port


def _rules_of(fw: Resource) -> tuple[list[Rule], list[int], LayerMode]:
    """A firewall resource's `firewall_rules` as rules.py rules (all of them, and the
    indexes of the allow rules whose source is the whole internet), and how they combine:
    ORDERED when any rule denies or has a priority (AWS network ACLs, Azure NSGs), else
    UNION."""
    rules: list[Rule] = []
    world: list[int] = []
    ordered = False
    for i, entry in enumerate(fw.prop("firewall_rules") or []):
        if not isinstance(entry, dict):
            continue
        action = Action.DENY if str(entry.get("action", "allow")).lower() == "deny" \
            else Action.ALLOW
        protocol = str(entry.get("protocol") or "*").lower()
        protocol = protocol if protocol in ("tcp", "udp", "icmp", "other", "*") else "*"
        priority = entry.get("priority")
        ordered = ordered or action is Action.DENY or priority is not None
        sources, is_world = _rule_sources(entry.get("sources"))
        rule = Rule(action, protocol, _rule_ports(entry.get("ports")), sources,
                    int(priority) if isinstance(priority, int) else 0,
                    origin=str(entry.get("origin") or f"{fw.id}#{i}"))
        if is_world and action is Action.ALLOW:
            world.append(len(rules))
        rules.append(rule)
    return rules, world, LayerMode.ORDERED if ordered else LayerMode.UNION


def _world_admits(rules: list[Rule], at: int, mode: LayerMode,
                  ranges: list[tuple[int, int]]) -> list[dict[str, object]]:
    """What `rules[at]` (an allow rule from the whole internet) itself admits on the admin
    ranges, with rules.py semantics: in an ORDERED layer only what no rule before it (lower
    priority number; equal numbers in the order given, as RuleLayer sorts) has decided. The
    rules before it count as denies: an earlier allow decides its cells too (first match), and
    what it admits is its own finding, not this rule's (an HTTPS rule after an SSH rule was
    named for port 22). Only the rules that share a cell with it on the admin ranges can
    decide one of its cells; the others are left out (a large NSG: not every rule per rule)."""
    rule = rules[at]
    before = ([Rule(Action.DENY, r.protocol, r.ports, r.sources, r.priority, r.origin)
               for i, r in enumerate(rules)
               if (r.priority, i) < (rule.priority, at) and _share_cells(r, rule, ranges)]
              if mode is LayerMode.ORDERED else [])
    before.sort(key=lambda r: r.priority)
    layer = RuleLayer("firewall rules", LayerMode.ORDERED, (*before, rule), Action.DENY)
    found: list[dict[str, object]] = []
    for e in admitted((layer,), _whole_families(rule.sources)):
        if e.protocol not in ("tcp", "udp"):
            continue
        for lo, hi in ranges:
            a, b = max(lo, e.ports.lo), min(hi, e.ports.hi)
            if a <= b:
                found.append({"rule": rule.origin, "protocol": e.protocol,
                              "ports": str(PortRange(a, b)),
                              "sources": _capped(list(e.sources))})
    return found


def _share_cells(r: Rule, rule: Rule, ranges: list[tuple[int, int]]) -> bool:
    """Whether `r` covers some TCP/UDP port of `rule`'s on an admin range."""
    if not (r.protocol == rule.protocol or "*" in (r.protocol, rule.protocol)):
        return False
    lo, hi = max(r.ports.lo, rule.ports.lo), min(r.ports.hi, rule.ports.hi)
    return any(max(lo, a) <= min(hi, b) for a, b in ranges)


def _deciding_world_rules(rules: list[Rule], world: list[int], mode: LayerMode,
                          ranges: list[tuple[int, int]]) -> list[int]:
    """The world rules that may decide a cell on the admin ranges: in an ORDERED layer, a
    rule whose admin ports earlier rules from the whole of its families have all decided
    admits nothing (a firewall of 10,000 `*` rules on port 22: the first one decides, and
    the others need no evaluation each against all before them). UNION: every one."""
    if mode is not LayerMode.ORDERED:
        return world
    is_world = set(world)
    decided: dict[tuple[str, str], list[tuple[int, int]]] = {}
    out: list[int] = []
    for i in sorted(range(len(rules)), key=lambda k: (rules[k].priority, k)):
        r = rules[i]
        protocols = ("tcp", "udp") if r.protocol == "*" else (r.protocol,)
        families = _whole_families(r.sources)
        cells = [(max(a, r.ports.lo), min(b, r.ports.hi)) for a, b in ranges
                 if max(a, r.ports.lo) <= min(b, r.ports.hi)]
        if i in is_world and not all(_within(cells, decided.get((p, f), []))
                                     for p in protocols for f in families):
            out.append(i)
        for p in protocols:
            for f in families:
                decided[(p, f)] = _merged([*decided.get((p, f), []), *cells])
    return sorted(out)


def _within(cells: list[tuple[int, int]], merged: list[tuple[int, int]]) -> bool:
    """Every interval of `cells` inside one of the `merged` (sorted, disjoint) intervals."""
    return all(any(a <= lo and hi <= b for a, b in merged) for lo, hi in cells)


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted disjoint intervals covering exactly the given ones (adjacent ones joined)."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _together_admit(rules: list[Rule], world: list[int], mode: LayerMode,
                    ranges: list[tuple[int, int]], flagged: list[dict[str, object]]
                    ) -> list[dict[str, object]]:
    """Admin ports that no one rule opens to the whole internet but several allow rules do
    together (22 from `0.0.0.0/1` in one rule and from `128.0.0.0/1` in another): the
    firewall as a whole, read with rules.py semantics, admits every address of a family.
    Ports already reported by one rule (`flagged`) are not repeated; each allow rule that
    admits the port from some address is named, with the family's /0 as the sources."""
    pieces = [r for i, r in enumerate(rules) if r.action is Action.ALLOW and i not in world
              and r.protocol in ("tcp", "udp", "*")]
    if not _whole_families(c for r in pieces for c in r.sources):
        return []  # the allow rules' sources together do not cover a family (the usual case)
    done: dict[str, list[tuple[int, int]]] = {"tcp": [], "udp": []}
    for v in flagged:
        ports = PortRange.parse(str(v["ports"]))
        done[str(v["protocol"])].append((ports.lo, ports.hi))
    layer = RuleLayer("firewall rules", mode, tuple(rules), Action.DENY)
    found: list[dict[str, object]] = []
    for e in admitted((layer,)):
        whole = [s for s in e.sources if s in INTERNET]  # canonical: a covered family is its /0
        if e.protocol not in ("tcp", "udp") or not whole:
            continue
        for lo, hi in ranges:
            a, b = max(lo, e.ports.lo), min(hi, e.ports.hi)
            for x, y in _uncovered(a, b, done[e.protocol]):
                for rule in pieces:
                    if rule.protocol in (e.protocol, "*") and rule.ports.lo <= y \
                            and x <= rule.ports.hi:
                        found.append({"rule": rule.origin, "protocol": e.protocol,
                                      "ports": str(PortRange(x, y)), "sources": whole,
                                      "together": True})
    return found


def _uncovered(a: int, b: int, done: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of the port range [a, b] outside every range of `done`."""
    out: list[tuple[int, int]] = []
    if a > b:
        return out
    for lo, hi in sorted(done):
        if hi < a or lo > b:
            continue
        if lo > a:
            out.append((a, lo - 1))
        a = max(a, hi + 1)
    if a <= b:
        out.append((a, b))
    return out


@check(
    id="NET-07",
    title="No firewall rule admits administrative or database ports from the internet, "
          "whether or not anything uses the firewall yet",
    severity="high",
    kinds={Kind.FIREWALL},
    rationale="A rule that opens SSH, RDP or a database port to 0.0.0.0/0 or ::/0 is one "
              "attachment away from an exposed machine: a pre-deploy plan creates the group "
              "before anything uses it, and the next instance launched with it is open "
              "(NET-02 judges what is reachable today; this check judges the rule). AWS "
              "network ACLs are judged too, as CIS AWS Foundations 5.1 and Security Hub "
              "EC2.21 do: a NACL is stateless and usually allows everything, but an entry "
              "that admits an administrative port from the whole internet leaves that port's "
              "protection to the security groups alone.",
    remediation="Replace the 0.0.0.0/0 / ::/0 (Azure: `*`, `Internet`, `Any`) source of the "
                "rule with the operator VPN ranges (parameters.operator_cidrs) or delete the "
                "rule; in a network ACL, add a deny entry for the administrative ports from "
                "0.0.0.0/0 and ::/0 numbered before the allow entry.",
    references={**REFS_EXPOSURE, "C5": ("KOS-01", "KOS-05")},
    evidence={
        "hetzner": "firewall rules (direction in) of every firewall, applied or not",
        "aws": "inbound rules of every security group (default groups included) and network "
               "ACL entries (rule order, deny entries)",
        "azure": "inbound rules of every NSG (priorities, deny rules, source `*`, `Internet`, "
                 "`0.0.0.0/0`, `::/0`, plural prefixes and port ranges)",
    },
    parameters=("admin_ports", "database_ports"),
    reads=("firewall_rules",),
)
def firewall_rules_admin_ports(ctx: CheckContext) -> Iterator[Finding]:
    ranges = ctx.params.admin_port_ranges()
    for fw in ctx.graph.of_kind(Kind.FIREWALL):
        if not fw.has_prop("firewall_rules"):
            continue
        rules, world, mode = _rules_of(fw)
        bad = [v for at in _deciding_world_rules(rules, world, mode, ranges)
               for v in _world_admits(rules, at, mode, ranges)]
        bad += _together_admit(rules, world, mode, ranges, bad)
        if bad:
            ports = sorted({str(v["ports"]) for v in bad}, key=_port_order)
            # rule names relative to the firewall in the message (the evidence keeps them whole)
            # (a rule that is a resource of its own, a plan's aws_security_group_rule whose
            # group is not in the plan, is the firewall itself: named by its name)
            named = sorted({str(v["rule"]).removeprefix(fw.id) or fw.name or str(v["rule"])
                            for v in bad})
            yield ctx.fail(fw, f"rule(s) {', '.join(named[:5])}"
                               f"{f' and {len(named) - 5} more' if len(named) > 5 else ''} "
                               f"admit administrative port(s) {', '.join(ports)} from the "
                               "whole internet", {"violations": bad[:20]})
        else:
            yield ctx.passed(fw, "no rule admits an administrative or database port from the "
                                 "whole internet", {"rules": len(rules)})
