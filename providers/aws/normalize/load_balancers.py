"""Load balancers: ELBv2 load balancers, listeners and target groups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from providers.aws.normalize.common import (
    LISTENER_PROTO,
    LISTENER_TRANSPORT,
    QUIC_TLS,
    TLS,
    _arr,
    _obj,
    listener_transports,
    tags,
)
from providers.aws.normalize.context import Build
from providers.aws.normalize.edge import acl_rate_limited
from providers.aws.normalize.network import mark_groups, sg_arn, sg_layer
from scanner.model import Kind, RelationType, Unread
from scanner.rules import Action, LayerMode, PortRange, Rule, RuleLayer


def load_balancers(ctx: Build) -> None:
    policies: dict[str, list[str]] = {}
    for _, p in ctx.regional("elbv2.describe_ssl_policies"):
        policies[str(p.get("Name"))] = [str(x.get("Name")) for x in
                                        _arr(p.get("SslProtocols"), "SslProtocols")] \
            if p.get("SslProtocols") and isinstance(p["SslProtocols"][0], Mapping) \
            else [str(x) for x in _arr(p.get("SslProtocols"), "SslProtocols")]
    eni_ips: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for _, eni in ctx.regional("ec2.describe_network_interfaces"):
        desc = str(eni.get("Description") or "")
        if not desc.startswith("ELB "):
            continue
        key = desc[4:]  # app/NAME/ID or net/NAME/ID
        pub = _obj(eni.get("Association"), "Association").get("PublicIp")
        if pub:
            eni_ips[key][0].append(pub)
        eni_ips[key][0].extend(a["Ipv6Address"] for a in _arr(eni.get("Ipv6Addresses"),
                                                              "Ipv6Addresses")
                               if a.get("Ipv6Address"))
        if eni.get("PrivateIpAddress"):
            eni_ips[key][1].append(eni["PrivateIpAddress"])
    lb_tags: dict[str, dict[str, str]] = {}
    for _, env in ctx.regional("elbv2.describe_tags"):
        for d in _arr(_obj(env.get("response"), "response").get("TagDescriptions"),
                      "TagDescriptions"):
            lb_tags[str(d.get("ResourceArn"))] = tags(d)
    waf: dict[str, dict[str, Any]] = {}
    for _, env in ctx.regional("wafv2.get_web_acl_for_resource"):
        waf[str(_obj(env.get("request"), "request").get("ResourceArn"))] = env
    listeners: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, env in ctx.regional("elbv2.describe_listeners"):
        for li in _arr(_obj(env.get("response"), "response").get("Listeners"), "Listeners"):
            listeners[str(li.get("LoadBalancerArn"))].append(li)
    # Every answer for a listener counts (a snapshot may hold DescribeRules' pages, and
    # DescribeTargetHealth's, as separate answers): never the last page only.
    rules: dict[str, list[dict[str, Any]]] = {}
    for _, env in ctx.regional("elbv2.describe_rules"):
        rules.setdefault(str(_obj(env.get("request"), "request").get("ListenerArn")), []).extend(
            _arr(_obj(env.get("response"), "response").get("Rules"), "Rules"))
    # A listener's certificates: the default one DescribeListeners names and the certificate
    # list (SNI) of DescribeListenerCertificates, every page of it.
    certs: dict[str, list[dict[str, Any]]] = {}
    for _, env in ctx.regional("elbv2.describe_listener_certificates"):
        certs.setdefault(str(_obj(env.get("request"), "request").get("ListenerArn")), []).extend(
            _arr(_obj(env.get("response"), "response").get("Certificates"), "Certificates"))
    groups = {str(g["TargetGroupArn"]): g for _, g in
              ctx.regional("elbv2.describe_target_groups")}
    health: dict[str, list[dict[str, Any]]] = {}
    for _, env in ctx.regional("elbv2.describe_target_health"):
        health.setdefault(str(_obj(env.get("request"), "request").get("TargetGroupArn")),
                          []).extend(_arr(_obj(env.get("response"), "response").get(
                              "TargetHealthDescriptions"), "TargetHealthDescriptions"))
    for region, lb in ctx.regional("elbv2.describe_load_balancers"):
        arn = str(lb["LoadBalancerArn"])
        key = arn.split(":loadbalancer/")[-1]
        public_ips, private_ips = eni_ips.get(key, ([], []))
        public_ips = list(public_ips)
        for az in _arr(lb.get("AvailabilityZones"), "AvailabilityZones"):
            for addr in _arr(az.get("LoadBalancerAddresses"), "LoadBalancerAddresses"):
                for field in ("IpAddress", "IPv6Address"):
                    if addr.get(field) and addr[field] not in public_ips:
                        public_ips.append(addr[field])
        internet = lb.get("Scheme") == "internet-facing"
        if not internet:
            private_ips = list(private_ips) + public_ips
            public_ips = []
        # internet-facing: reachable by its DNS name even where no address is visible
        own = listeners.get(arn, [])
        # each listener's port over the transport(s) it carries (a UDP listener: UDP only)
        ports = sorted({(t, int(li["Port"])) for li in own if li.get("Port")
                        for t in listener_transports(li.get("Protocol"))})
        layers = [RuleLayer(name="load balancer listeners", mode=LayerMode.UNION, rules=tuple(
            Rule(Action.ALLOW, t, PortRange(p, p), origin=f"{arn}:{p}") for t, p in ports),
            default=Action.DENY)]
        if lb.get("SecurityGroups"):
            layers.append(sg_layer(ctx, lb["SecurityGroups"]))
        props: dict[str, Any] = {"public_ips": public_ips, "private_ips": private_ips,
                                 "public_endpoint": internet, "ingress": tuple(layers),
                                 "public_hostnames": [str(lb["DNSName"])]
                                 if internet and lb.get("DNSName") else []}
        if lb.get("Type") == "application":
            waf_env = waf.get(arn)
            if waf_env is not None:
                acl = _obj(waf_env.get("response"), "response").get("WebACL")
                props["waf"] = bool(acl)
                props["waf_rate_limit"] = bool(acl) and acl_rate_limited(acl or {})
            elif ctx.read_ok("wafv2.get_web_acl_for_resource", region):
                props["waf"] = None
        else:
            props["waf"] = False  # WAF attaches to ALBs, not NLBs/GWLBs
            props["waf_rate_limit"] = False
        labels = lb_tags.get(arn, {})
        ctx.add(Kind.LOAD_BALANCER, arn, f"{lb.get('Type', 'elbv2')}_load_balancer", lb,
                props, region, str(lb.get("LoadBalancerName")), labels)
        mark_groups(ctx, arn, _arr(lb.get("SecurityGroups"), "SecurityGroups"))
        for g in _arr(lb.get("SecurityGroups"), "SecurityGroups"):
            ctx.relate(arn, sg_arn(ctx, g), RelationType.PROTECTED_BY,
                       layer="security groups")
        for li in own:
            listener(ctx, region, arn, lb, li, policies, groups, rules, certs)
        for tg_arn, g in groups.items():
            if arn not in _arr(g.get("LoadBalancerArns"), "LoadBalancerArns"):
                continue
            for described in health.get(tg_arn, []):
                target = target_id(ctx, region, g, _obj(described.get("Target"), "Target"))
                if target:
                    ctx.relate(arn, target, RelationType.TARGETS, private=True,
                               target_group=tg_arn)


def target_id(ctx: Build, region: str, group: Mapping[str, Any], target: Mapping[str, Any]
              ) -> str | None:
    tid = str(target.get("Id") or "")
    kind = group.get("TargetType", "instance")
    if kind == "instance" and tid.startswith("i-"):
        return ctx.arn("ec2", region, f"instance/{tid}")
    if kind == "ip":
        return ctx.instance_by_ip.get(f"{region}/{tid}")
    if tid.startswith("arn:"):
        return tid
    return None


def final_action(actions: Any) -> dict[str, Any]:
    """The action that decides a rule (authenticate-* actions come before it, by Order)."""
    ordered = sorted(actions or [], key=lambda a: a.get("Order", 0))
    return next((a for a in ordered if a.get("Type") in ("forward", "redirect",
                                                         "fixed-response")), {})


def forward_groups(action: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]]
                   ) -> list[tuple[str, int]]:
    """(target group, port) of every target group a forward action sends to that has a
    port: its `TargetGroupArn` and every group of a weighted `ForwardConfig.TargetGroups`
    (ELBv2 API Reference, ForwardActionConfig), in order."""
    if action.get("Type") != "forward":
        return []
    tg_arns = [action.get("TargetGroupArn")] + [
        t.get("TargetGroupArn") for t in _arr(_obj(action.get("ForwardConfig"),
                                                  "ForwardConfig").get("TargetGroups"),
                                             "TargetGroups")]
    out: dict[tuple[str, int], None] = {}  # in order, once each (not a list's `in`:
    # quadratic in a forward's groups)
    for tg in tg_arns:
        if tg and groups.get(str(tg), {}).get("Port"):
            out[(str(tg), int(groups[str(tg)]["Port"]))] = None
    return list(out)


def forward_port(action: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]]
                 ) -> int | None:
    """The port a forward action sends to first: its first target group's."""
    return next((port for _, port in forward_groups(action, groups)), None)


def listener(ctx: Build, region: str, lb_arn: str, lb: Mapping[str, Any],
             li: Mapping[str, Any], policies: Mapping[str, list[str]],
             groups: Mapping[str, Mapping[str, Any]],
             rules: Mapping[str, list[dict[str, Any]]],
             certs: Mapping[str, list[dict[str, Any]]]) -> None:
    """A listener judged by every action it can take: its default actions and each of its
    rules' (DescribeRules). A plaintext listener that redirects by default but forwards a
    path in a rule serves plain HTTP (`redirects_to_https` false); a forwarding rule also
    forwards to its targets (`target_port`: the default's, else the first forwarding
    rule's by priority; every other port forwarded to: a listener of its own). Rules not
    read: `redirects_to_https` is unknown."""
    protocol = LISTENER_PROTO.get(str(li.get("Protocol")).upper(), "tcp")
    lid = str(li.get("ListenerArn") or ctx.stable_id(li))
    final = final_action(li.get("DefaultActions"))
    redirect = final.get("Type") == "redirect" and str(
        _obj(final.get("RedirectConfig"), "RedirectConfig").get("Protocol", "")).upper() == "HTTPS"
    target_port = forward_port(final, groups)
    own = [r for r in rules.get(lid, []) if not r.get("IsDefault")
           and str(r.get("Priority")) != "default"]
    own.sort(key=lambda r: int(r["Priority"]) if str(r.get("Priority")).isdigit() else 50001)
    forwards = [a for r in own if (a := final_action(r.get("Actions"))).get("Type") == "forward"]
    if forwards:
        redirect = False
        if target_port is None:
            target_port = next((p for a in forwards if (p := forward_port(a, groups))), None)
    props: dict[str, Any] = {"protocol": protocol, "port": li.get("Port"),
                             "target_port": target_port, "redirects_to_https": redirect}
    if redirect and lid not in rules:
        ctx.mark(lid, ("redirects_to_https",), Unread(
            f"rules of listener {lid} not read ("
            f"{ctx.list_unread('elbv2.describe_rules', region) or 'no answer for it'}): "
            "a rule may forward plain HTTP", opens=True, closes=False))
    if str(li.get("Protocol")).upper() in LISTENER_TRANSPORT:
        props["transport"] = LISTENER_TRANSPORT[str(li.get("Protocol")).upper()]
    if str(li.get("Protocol")).upper() == "QUIC":
        props["min_tls"], props["min_tls_reference"] = QUIC_TLS
    elif protocol in ("https", "tls"):
        protos = policies.get(str(li.get("SslPolicy")))
        versions = sorted(TLS[p] for p in protos or [] if p in TLS)
        props["min_tls"] = versions[0] if versions else None
    # Every target group the listener forwards to: its default action's and each forwarding
    # rule's, every group of a weighted forward. The model's listener forwards to one port,
    # to the targets of the groups on that port (`target_groups`): one more listener per
    # further port (as an Azure path map's backends on other ports), so that what reaches
    # each group's targets is judged on its own port, and only there.
    by_port: dict[int, dict[str, None]] = {}  # port -> its groups, once each (a list's
    # `in` made 20,000 rules forwarding to groups on one port 2 s, quadratic)
    for a in ([final] if final.get("Type") == "forward" else []) + forwards:
        for tg, port in forward_groups(a, groups):
            by_port.setdefault(port, {})[tg] = None
    if target_port in by_port:
        props["target_groups"] = sorted(by_port[target_port])
    name = f"{lb.get('LoadBalancerName')}:{li.get('Port')}/{protocol}"
    ctx.add(Kind.LISTENER, lid, "elbv2_listener", li, props, region, name)
    ctx.relate(lid, lb_arn, RelationType.MEMBER_OF)
    for other in sorted(set(by_port) - {target_port}):
        more = ctx.add(Kind.LISTENER, f"{lid}#targetport{other}", "elbv2_listener", li,
                       {**props, "target_port": other, "target_groups": sorted(by_port[other]),
                        "implicit": f"listener {lid} forwarding to target port {other}"},
                       region, f"{name}->{other}")
        ctx.relate(more, lb_arn, RelationType.MEMBER_OF)
    # Every certificate the listener presents: DescribeListeners' `Certificates` is "the
    # default certificate for the listener" only; a listener's certificate list (SNI, chosen
    # by the client's host name) is DescribeListenerCertificates' ("Describes the default
    # certificate and the certificate list for the specified HTTPS or TLS listener", ELBv2
    # API Reference). Not read: which certificates it presents is not known.
    listed = certs.get(lid)
    if listed is None and str(li.get("Protocol")).upper() in ("HTTPS", "TLS"):  # as collected
        why = ctx.list_unread("elbv2.describe_listener_certificates", region)
        ctx.listener_certs_unread.setdefault(
            region, f"certificates of listener {lid} not read ({why or 'no answer for it'})")
    arns = [str(c["CertificateArn"]) for c in [*_arr(li.get("Certificates"), "Certificates"),
                                               *(listed or [])] if c.get("CertificateArn")]
    for cert_arn in dict.fromkeys(arns):
        ctx.relate(lid, cert_arn, RelationType.USES_CERTIFICATE)


def mark_listener_certificates_unread(ctx: Build) -> None:
    """A certificate no public listener read is known to present is judged "not used by any
    public listener" (TLS-03 skip): unsafe where some HTTPS or TLS listener's certificate
    list was not read in its region (IAM server certificates are global: any region). One
    known to be presented by an internet-facing load balancer's listener stays judged: what
    it is does not depend on the other lists (nor one a public CloudFront distribution
    presents)."""
    if not ctx.listener_certs_unread:
        return
    public_lbs = {r.id for r in ctx.resources if r.kind is Kind.LOAD_BALANCER
                  and (r.properties.get("public_endpoint") or r.properties.get("public_ips"))}
    presenters = {r.source for r in ctx.relations if r.type is RelationType.MEMBER_OF
                  and r.target in public_lbs}
    presenters |= {r.id for r in ctx.resources if r.kind is Kind.CDN
                   and r.properties.get("public_endpoint")}
    used = {r.target for r in ctx.relations if r.type is RelationType.USES_CERTIFICATE
            and r.source in presenters}
    for r in ctx.resources:
        if r.kind is not Kind.CERTIFICATE or r.id in used:
            continue
        why = ctx.listener_certs_unread.get(r.region or "") if r.region else next(
            iter(ctx.listener_certs_unread.values()))
        if why is not None:
            ctx.mark(r.id, ("managed_renewal", "not_after", "domains"), Unread(
                f"{why}: whether a public listener presents it is not known",
                opens=True, closes=False))
