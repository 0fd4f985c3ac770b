"""The network family: the network context every machine's layers come from (subnets, route
tables, network ACLs, security groups, prefix lists) and the VPCs, subnets, peerings,
firewalls and elastic IPs themselves."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from providers.aws.normalize.common import PROTO, _arr, _obj, host_cidr, listify, tags
from providers.aws.normalize.context import Build
from scanner.model import Kind, RelationType, Unread
from scanner.rules import ALL_PORTS, Action, LayerMode, PortRange, Rule, RuleLayer


def network(ctx: Build) -> None:
    ctx.subnets = {}
    ctx.subnet_region = {}
    for region, sn in ctx.regional("ec2.describe_subnets"):
        ctx.subnets[sn["SubnetId"]] = sn
        ctx.subnet_region[sn["SubnetId"]] = region
    ctx.route_of_subnet = {}
    main: dict[str, dict[str, Any]] = {}
    for _, rt in ctx.regional("ec2.describe_route_tables"):
        for assoc in _arr(rt.get("Associations"), "Associations"):
            if assoc.get("Main"):
                main[str(rt.get("VpcId"))] = rt
            elif assoc.get("SubnetId"):
                ctx.route_of_subnet[assoc["SubnetId"]] = rt
    for sid, sn in ctx.subnets.items():
        if sid not in ctx.route_of_subnet and str(sn.get("VpcId")) in main:
            ctx.route_of_subnet[sid] = main[str(sn.get("VpcId"))]
    ctx.routes_known = "ec2.describe_route_tables" in ctx.attempted
    ctx.prefix_entries = {}
    for _, env in ctx.regional("ec2.get_managed_prefix_list_entries"):
        # every answer for a prefix list counts (its pages, if recorded one by one)
        pl = _obj(env.get("request"), "request").get("PrefixListId")
        ctx.prefix_entries.setdefault(str(pl), []).extend([
            str(e["Cidr"]) for e in _arr(_obj(env.get("response"), "response").get("Entries"),
                                         "Entries")
            if e.get("Cidr")])
    ctx.sgs = {}
    ctx.sg_region = {}
    for region, sg in ctx.regional("ec2.describe_security_groups"):
        ctx.sgs[sg["GroupId"]] = sg
        ctx.sg_region[sg["GroupId"]] = region
    ctx.nacl_of_subnet = {}
    ctx.nacl_region = {}
    for region, acl in ctx.regional("ec2.describe_network_acls"):
        ctx.nacl_region[acl["NetworkAclId"]] = region
        for assoc in _arr(acl.get("Associations"), "Associations"):
            if assoc.get("SubnetId"):
                ctx.nacl_of_subnet[assoc["SubnetId"]] = acl
    # private addresses of every interface in a security group (SG references)
    ctx.sg_members = defaultdict(set)
    for _, eni in ctx.regional("ec2.describe_network_interfaces"):
        ips = [p["PrivateIpAddress"] for p in _arr(eni.get("PrivateIpAddresses"),
                                                   "PrivateIpAddresses")
               if p.get("PrivateIpAddress")] or listify(eni.get("PrivateIpAddress"))
        for g in _arr(eni.get("Groups"), "Groups"):
            ctx.sg_members[g["GroupId"]].update(ips)
    for _, res in ctx.regional("ec2.describe_instances"):
        for inst in _arr(res.get("Instances"), "Instances"):
            for eni in _arr(inst.get("NetworkInterfaces"), "NetworkInterfaces"):
                ips = [p["PrivateIpAddress"] for p in _arr(eni.get("PrivateIpAddresses"),
                                                           "PrivateIpAddresses")
                       if p.get("PrivateIpAddress")]
                for g in _arr(eni.get("Groups"), "Groups"):
                    ctx.sg_members[g["GroupId"]].update(ips)
    ctx.sg_layer_cache = {}
    ctx.route_layer_cache = {}
    ctx.nacl_layer_cache = {}


def sg_arn(ctx: Build, gid: str) -> str:
    sg = ctx.sgs.get(gid, {})
    return str(sg.get("SecurityGroupArn") or ctx.arn(
        "ec2", ctx.sg_region.get(gid), f"security-group/{gid}",
        str(sg.get("OwnerId") or ctx.account)))


def sg_rules(ctx: Build, gid: str) -> tuple[Rule, ...]:
    sg = ctx.sgs.get(gid)
    if sg is None:
        return ()
    origin = sg_arn(ctx, gid)
    rules: list[Rule] = []
    for i, perm in enumerate(_arr(sg.get("IpPermissions"), "IpPermissions")):
        protocol = PROTO.get(str(perm.get("IpProtocol")).lower(), "other")
        ports = ALL_PORTS
        lo, hi = perm.get("FromPort"), perm.get("ToPort")
        if protocol in ("tcp", "udp") and lo is not None and int(lo) >= 0:
            ports = PortRange(int(lo), int(hi if hi is not None and int(hi) >= 0 else lo))
        sources: list[str] = [str(r["CidrIp"]) for r in _arr(perm.get("IpRanges"), "IpRanges")
                              if r.get("CidrIp")]
        sources += [str(r["CidrIpv6"]) for r in _arr(perm.get("Ipv6Ranges"), "Ipv6Ranges")
                    if r.get("CidrIpv6")]
        # Every prefix list, customer- or AWS-managed (com.amazonaws.global.cloudfront.
        # origin-facing...): GetManagedPrefixListEntries reads both. One that was not read
        # leaves the rule's sources unknown; the rule stays with what was read.
        unresolved = []
        for pl in _arr(perm.get("PrefixListIds"), "PrefixListIds"):
            entries = ctx.prefix_entries.get(str(pl.get("PrefixListId")))
            if entries is None:
                unresolved.append(str(pl.get("PrefixListId")))
            else:
                sources += entries
        for pair in _arr(perm.get("UserIdGroupPairs"), "UserIdGroupPairs"):
            sources += [host_cidr(ip) for ip in sorted(ctx.sg_members.get(
                str(pair.get("GroupId")), ()))]
        if unresolved:
            ctx.unresolved[f"{origin}#{i}"] = unresolved
        if sources or unresolved:
            rules.append(Rule(Action.ALLOW, protocol, ports, tuple(dict.fromkeys(sources)),
                              origin=f"{origin}#{i}"))
    return tuple(rules)


def sg_unread(ctx: Build, group_ids: Iterable[str]) -> Unread | None:
    """Why the security-group layer of these groups is not fully known: a group that is not
    in the list read (a dangling reference) or a prefix list a rule names that could not be
    resolved. Security groups only allow, so what is missing could only open a path."""
    whys: list[str] = []
    for gid in sorted(set(group_ids)):
        if gid not in ctx.sgs:
            whys.append(f"security group {gid} is not among the security groups read")
            continue
        for rule in sg_rules(ctx, gid):
            for pl in ctx.unresolved.get(rule.origin, []):
                whys.append(f"prefix list {pl} of {sg_arn(ctx, gid)} could not be resolved")
    if not whys:
        return None
    reason = "dangling" if whys[0].startswith("security group") else "unknown"
    return Unread("; ".join(dict.fromkeys(whys)), reason=reason, opens=True, closes=False)


def mark_groups(ctx: Build, rid: str, group_ids: Iterable[str]) -> None:
    unread = sg_unread(ctx, group_ids)
    if unread is not None:
        ctx.mark(rid, ("ingress",), unread)


def sg_layer(ctx: Build, group_ids: Iterable[str]) -> RuleLayer:
    key = tuple(sorted(set(group_ids)))
    if key not in ctx.sg_layer_cache:
        ctx.sg_layer_cache[key] = RuleLayer(
            name="security groups", mode=LayerMode.UNION,
            rules=tuple(r for g in key for r in sg_rules(ctx, g)), default=Action.DENY,
            present=True, origin=tuple(sg_arn(ctx, g) for g in key))
    return ctx.sg_layer_cache[key]


def nacl_arn(ctx: Build, acl: Mapping[str, Any]) -> str:
    aid = str(acl["NetworkAclId"])
    return ctx.arn("ec2", ctx.nacl_region.get(aid), f"network-acl/{aid}",
                   str(acl.get("OwnerId") or ctx.account))


def nacl_rules(ctx: Build, acl: Mapping[str, Any]) -> tuple[Rule, ...]:
    origin = nacl_arn(ctx, acl)
    rules = []
    entries = acl.get("Entries")
    if entries is not None and not isinstance(entries, list):
        raise TypeError(f"Entries: expected an array, got {type(entries).__name__}")
    for e in entries or []:
        # EC2 API NetworkAclEntry: Egress boolean, Protocol/RuleAction/CidrBlock strings.
        # Another type is refused (TypeError, named): read as absent it dropped an allow entry
        # (`CidrBlock: 0`, `RuleAction: []`, `Egress: "x"`), turning a fail into a pass.
        for key, kind in (("Egress", bool), ("Protocol", str), ("RuleAction", str),
                          ("CidrBlock", str), ("Ipv6CidrBlock", str)):
            if e.get(key) is not None and not isinstance(e[key], kind):
                raise TypeError(f"network ACL entry {key}: expected {kind.__name__}, got "
                                f"{type(e[key]).__name__}")
        if e.get("Egress"):
            continue
        protocol = PROTO.get(str(e.get("Protocol")).lower(), "other")
        ports = ALL_PORTS
        pr = _obj(e.get("PortRange"), "PortRange")
        if protocol in ("tcp", "udp") and pr.get("From") is not None:
            ports = PortRange(int(pr["From"]), int(pr.get("To", pr["From"])))
        source = e.get("CidrBlock") or e.get("Ipv6CidrBlock")
        if not source:
            continue
        rules.append(Rule(
            Action.ALLOW if str(e.get("RuleAction")).lower() == "allow" else Action.DENY,
            protocol, ports, (str(source),), priority=int(e.get("RuleNumber", 32767)),
            origin=f"{origin}#{e.get('RuleNumber')}"))
    return tuple(rules)


def nacl_layer(ctx: Build, subnet_id: str | None) -> RuleLayer | None:
    acl = ctx.nacl_of_subnet.get(str(subnet_id))
    if acl is None:
        return None
    aid = str(acl["NetworkAclId"])
    if aid not in ctx.nacl_layer_cache:
        ctx.nacl_layer_cache[aid] = RuleLayer(
            name=f"network ACL {aid}", mode=LayerMode.ORDERED, rules=nacl_rules(ctx, acl),
            default=Action.DENY, origin=(nacl_arn(ctx, acl),))
    return ctx.nacl_layer_cache[aid]


def route_layer(ctx: Build, subnet_id: str | None) -> tuple[RuleLayer | None, set[int]]:
    """The subnet's routes as an ORDERED layer (longest prefix first) and the address
    families that have any route to an internet gateway."""
    rt = ctx.route_of_subnet.get(str(subnet_id))
    if rt is None:
        return None, {4, 6}  # unknown: assume routed (the scope error says why)
    families: set[int] = set()
    rules: list[Rule] = []
    rt_id = str(rt.get("RouteTableId"))
    origin = ctx.arn("ec2", ctx.subnet_region.get(str(subnet_id)),
                     f"route-table/{rt_id}", str(rt.get("OwnerId") or ctx.account))
    for route in _arr(rt.get("Routes"), "Routes"):
        if route.get("State") == "blackhole":
            continue
        dests = [d for d in (route.get("DestinationCidrBlock"),
                             route.get("DestinationIpv6CidrBlock")) if d]
        if route.get("DestinationPrefixListId"):
            dests += ctx.prefix_entries.get(str(route["DestinationPrefixListId"]), [])
        to_igw = str(route.get("GatewayId") or "").startswith("igw-")
        for dest in dests:
            net = ipaddress.ip_network(str(dest), strict=False)
            if to_igw:
                families.add(net.version)
            elif net.is_private:
                continue  # the local route, peerings...: no internet source is in there
            rules.append(Rule(Action.ALLOW if to_igw else Action.DENY, "*", ALL_PORTS,
                              (str(dest),), priority=net.max_prefixlen - net.prefixlen,
                              origin=f"{origin}#{dest}"))
    if rt_id not in ctx.route_layer_cache:
        ctx.route_layer_cache[rt_id] = RuleLayer(
            name=f"route table {rt_id} (internet gateway routes)", mode=LayerMode.ORDERED,
            rules=tuple(rules), default=Action.DENY, origin=(origin,))
    return ctx.route_layer_cache[rt_id], families


def subnet_unread(ctx: Build, subnet_id: str | None, region: str | None) -> Unread | None:
    """Why the route table or network ACL layer of a subnet is not known. Without them the
    layers read admit the most (every address routed, no ACL): what is missing could only
    close a path, so a `fail` that read it is not safe, a `pass` is."""
    whys = []
    sid = str(subnet_id)
    for name, known, what in (("ec2.describe_route_tables", ctx.route_of_subnet, "route table"),
                              ("ec2.describe_network_acls", ctx.nacl_of_subnet,
                               "network ACL")):
        if sid in known:
            continue
        why = ctx.list_unread(name, region)
        if why is None and subnet_id and sid not in ctx.subnets:
            why = ctx.list_unread("ec2.describe_subnets", region) or \
                f"subnet {sid} is not among the subnets read"
        whys.append(f"{what} of subnet {sid} unknown: "
                    f"{why or 'no ' + what + ' associated in what was read'}")
    if not whys:
        return None
    return Unread("; ".join(whys), reason="unknown", opens=False, closes=True)


def routed(ctx: Build, subnet_ids: Iterable[str]) -> bool | None:
    """Does any of the subnets route IPv4 to an internet gateway? None: unknown."""
    answers: list[bool | None] = []
    for sid in subnet_ids:
        if str(sid) not in ctx.route_of_subnet:
            answers.append(None)
            continue
        answers.append(4 in route_layer(ctx, sid)[1])
    if any(a is True for a in answers):
        return True
    if answers and all(a is False for a in answers):
        return False
    return None


def firewalls(ctx: Build) -> None:
    for region, sg in ctx.regional("ec2.describe_security_groups"):
        rules = sg_rules(ctx, sg["GroupId"])
        rid = ctx.add(Kind.FIREWALL, sg_arn(ctx, sg["GroupId"]), "security_group", sg, {
            "firewall_rules": [{"action": "allow", "protocol": r.protocol,
                                "ports": str(r.ports), "sources": list(r.sources)}
                               | ({"unresolved_prefix_lists": ctx.unresolved[r.origin]}
                                  if r.origin in ctx.unresolved else {})
                               for r in rules]},
            region, str(sg.get("GroupName") or sg["GroupId"]), tags(sg))
        unread = sg_unread(ctx, [sg["GroupId"]])
        if unread is not None:
            ctx.mark(rid, ("firewall_rules",), unread)
    for region, acl in ctx.regional("ec2.describe_network_acls"):
        rules = nacl_rules(ctx, acl)
        ctx.add(Kind.FIREWALL, nacl_arn(ctx, acl), "network_acl", acl, {
            "firewall_rules": [{"action": str(r.action), "priority": r.priority,
                                "protocol": r.protocol, "ports": str(r.ports),
                                "sources": list(r.sources)} for r in rules]},
            region, tags(acl).get("Name") or str(acl["NetworkAclId"]), tags(acl))


def networks(ctx: Build) -> None:
    for region, vpc in ctx.regional("ec2.describe_vpcs"):
        vid = ctx.arn("ec2", region, f"vpc/{vpc['VpcId']}", str(vpc.get("OwnerId")
                                                                   or ctx.account))
        ctx.add(Kind.NETWORK, vid, "vpc", vpc, {"cidr": vpc.get("CidrBlock")}, region,
                tags(vpc).get("Name") or vpc["VpcId"], tags(vpc))
    for region, sn in ctx.regional("ec2.describe_subnets"):
        sid = str(sn.get("SubnetArn") or ctx.arn("ec2", region, f"subnet/{sn['SubnetId']}"))
        ctx.add(Kind.SUBNET, sid, "subnet", sn, {
            "cidr": sn.get("CidrBlock"), "network_zone": sn.get("AvailabilityZone")},
            region, tags(sn).get("Name") or sn["SubnetId"], tags(sn))
        ctx.relate(sid, ctx.arn("ec2", region, f"vpc/{sn.get('VpcId')}",
                                  str(sn.get("OwnerId") or ctx.account)),
                   RelationType.MEMBER_OF)
    for region, pc in ctx.regional("ec2.describe_vpc_peering_connections"):
        if _obj(pc.get("Status"), "Status").get("Code") != "active":
            continue
        a, b = _obj(pc.get("RequesterVpcInfo"), "RequesterVpcInfo"), _obj(pc.get("AccepterVpcInfo"),
                                                                          "AccepterVpcInfo")
        src = ctx.arn("ec2", a.get("Region") or region, f"vpc/{a.get('VpcId')}",
                      str(a.get("OwnerId") or ctx.account))
        dst = ctx.arn("ec2", b.get("Region") or region, f"vpc/{b.get('VpcId')}",
                      str(b.get("OwnerId") or ctx.account))
        ctx.relate(src, dst, RelationType.PEERED_WITH,
                   peering=pc.get("VpcPeeringConnectionId"))
        ctx.relate(dst, src, RelationType.PEERED_WITH,
                   peering=pc.get("VpcPeeringConnectionId"))


def addresses(ctx: Build) -> None:
    for region, eip in ctx.regional("ec2.describe_addresses"):
        native = eip.get("AllocationId") or eip.get("PublicIp")
        rid = ctx.arn("ec2", region, f"elastic-ip/{native}")
        ctx.add(Kind.PUBLIC_IP, rid, "elastic_ip", eip, {}, region,
                tags(eip).get("Name") or str(eip.get("PublicIp")), tags(eip))
        if eip.get("InstanceId"):
            ctx.relate(rid, ctx.arn("ec2", region, f"instance/{eip['InstanceId']}"),
                       RelationType.ATTACHED_TO)
