"""AWS API objects -> the provider-neutral model. Pure: no network.

What AWS means, written down once here so that no check needs an AWS branch:
- Inbound traffic to an instance crosses three layers, outermost first: the subnet's route
  table (an ORDERED layer: the longest matching prefix decides, admitting a source only when
  its route leads to an internet gateway, i.e. when replies can get back), the subnet's
  network ACL (ORDERED by rule number, allow and deny, default deny) and the union of the
  interface's security groups (UNION, allow-only, default deny). A public IP whose address
  family has no route to an internet gateway at all is not reachable from the internet and
  is left out of `public_ips` (it stays in the raw object).
- An RDS instance or Aurora cluster with `PubliclyAccessible` in a subnet group routed to an
  internet gateway has `public_endpoint`; its layers are the endpoint port and its security
  groups.
- An internet-facing ELBv2 load balancer answers on the public IPs of its network
  interfaces (and an NLB's elastic IPs); when none are visible its DNS name stands in, so
  that it is still judged as public (its `DNSName` is its `public_hostnames`, what the TLS
  probe connects to: the addresses behind it change). Its layers: its listener ports, then
  its security groups (an NLB without security groups filters nothing more). Its listeners
  forward to the targets of their target groups over the VPC (`private` targets).
- SSL policies map to their lowest protocol (DescribeSSLPolicies' answer); CloudFront's
  MinimumProtocolVersion too; SSLv3 is "0.3", below every TLS version.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from providers.aws.apis import FLAGGED
from scanner.model import Inventory, Kind, Relation, RelationType, Resource
from scanner.provider import inventory
from scanner.rules import ALL_PORTS, Action, LayerMode, PortRange, Rule, RuleLayer
from scanner.snapshot import GLOBAL, Section

PROVIDER = "aws"
DEFAULT_CERT_DOC = (
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-"
    "supported-viewer-protocols-ciphers.html (the default *.cloudfront.net certificate "
    "accepts TLSv1)")
FOREVER_DAYS = 36500  # AWS Backup rule without DeleteAfterDays: kept until deleted
_PROTO = {"-1": "*", "all": "*", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp",
          "icmp": "icmp", "1": "icmp", "icmpv6": "icmp", "58": "icmp"}
_TLS = {"SSLv3": "0.3", "TLSv1": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}
_CF_TLS = {"SSLv3": "0.3", "TLSv1": "1.0", "TLSv1_2016": "1.0", "TLSv1.1_2016": "1.1",
           "TLSv1.2_2018": "1.2", "TLSv1.2_2019": "1.2", "TLSv1.2_2021": "1.2",
           "TLSv1.2_2025": "1.2", "TLSv1.3_2025": "1.3"}
_LISTENER_PROTO = {"HTTP": "http", "HTTPS": "https", "TCP": "tcp", "TLS": "tls",
                   "UDP": "tcp", "TCP_UDP": "tcp", "GENEVE": "tcp"}
_ZONES = {"eu": "EU", "us": "US", "apac": "APAC", "us-gov": "US", "jp": "JP", "au": "AU",
          "ca": "CA"}
ADMIN_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")


# --- small helpers -----------------------------------------------------------------------


def partition(region: str | None) -> str:
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def iso(value: Any) -> str | None:
    t = parse_time(value)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def tags(obj: Mapping[str, Any], key: str = "Tags") -> dict[str, str]:
    raw = obj.get(key) or obj.get("TagList") or obj.get("TagSet") or []
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(t.get("Key")): str(t.get("Value", "")) for t in raw if isinstance(t, Mapping)}


def _family(cidr: str) -> int:
    return ipaddress.ip_network(cidr, strict=False).version


def _cidr(ip: str) -> str:
    return ip if "/" in ip else (f"{ip}/128" if ":" in ip else f"{ip}/32")


def _region_of_arn(arn: str) -> str | None:
    parts = str(arn).split(":")
    return parts[3] or None if len(parts) > 3 else None


def _listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def policy_document(doc: Any) -> dict[str, Any] | None:
    if isinstance(doc, str):
        try:
            loaded = json.loads(urllib.parse.unquote(doc))
        except ValueError:
            return None
        return loaded if isinstance(loaded, dict) else None
    return dict(doc) if isinstance(doc, Mapping) else None


def grants_admin(doc: Any) -> bool:
    """An Allow of every action on every resource (`*` / `*:*` on `*`)."""
    parsed = policy_document(doc)
    if not parsed:
        return False
    for st in _listify(parsed.get("Statement")):
        if not isinstance(st, Mapping) or st.get("Effect") != "Allow":
            continue
        actions = {str(a) for a in _listify(st.get("Action"))}
        if actions & {"*", "*:*"} and "*" in {str(r) for r in _listify(st.get("Resource"))}:
            return True
    return False


def _envelopes(section: Section, name: str) -> list[tuple[str, dict[str, Any]]]:
    return [(region, obj) for region, objs in section.collections.get(name, {}).items()
            for obj in objs]


def _rate_based(statement: Any) -> bool:
    if isinstance(statement, Mapping):
        if "RateBasedStatement" in statement:
            return True
        return any(_rate_based(v) for v in statement.values())
    if isinstance(statement, list):
        return any(_rate_based(v) for v in statement)
    return False


def acl_rate_limited(acl: Mapping[str, Any]) -> bool:
    return any(_rate_based(rule.get("Statement")) for rule in acl.get("Rules") or [])


def cron_hours(expression: str | None) -> int | None:
    """Hours between runs of an AWS Backup schedule: cron(...) or rate(...)."""
    if not expression:
        return None
    expr = expression.strip()
    m = re.match(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expr)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return max(1, n // 60) if unit.startswith("minute") else n * (24 if unit.startswith(
            "day") else 1)
    m = re.match(r"cron\((.+)\)", expr)
    if not m:
        return None
    fields = m.group(1).split()
    if len(fields) < 5:
        return None
    _minute, hour, dom, _month, dow = fields[:5]
    if dom not in ("*", "?"):
        if dom.startswith(("*/", "1/")) and dom.split("/")[1].isdigit():
            return 24 * int(dom.split("/")[1])
        return 24 * 31 // max(1, len(dom.split(",")))
    if dow not in ("*", "?"):
        days = len(_expand_dow(dow))
        return 24 * 7 // max(1, days)
    if hour == "*":
        return 1
    if "/" in hour:
        step = hour.split("/")[1]
        return int(step) if step.isdigit() else None
    if "," in hour:
        return 24 // len(hour.split(","))
    return 24


def _expand_dow(dow: str) -> set[str]:
    names = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    out: set[str] = set()
    for part in dow.upper().split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            ia = names.index(a) if a in names else int(a) - 1
            ib = names.index(b) if b in names else int(b) - 1
            out.update(names[i % 7] for i in range(ia, ib + 1))
        else:
            out.add(part)
    return out


def inference_scope(profile: Mapping[str, Any]) -> tuple[str, str | None]:
    """(processing_scope, data_zone) of a Bedrock inference profile."""
    from scanner import regions as catalogue

    pid = str(profile.get("inferenceProfileId") or "")
    prefix = pid.split(".", 1)[0] if "." in pid else ""
    if prefix == "global":
        return "global", None
    if prefix in _ZONES and profile.get("type") != "APPLICATION":
        return "data_zone", _ZONES[prefix]
    model_regions = sorted({r for m in profile.get("models") or []
                            if (r := _region_of_arn(str(m.get("modelArn", ""))))})
    if len(model_regions) <= 1:
        return "regional", None
    found = [catalogue.find_region("aws", r) for r in model_regions]
    for bloc in ("EU", "US"):
        if all(f is not None and bloc in f.jurisdictions for f in found):
            return "data_zone", bloc
    return "global", None


def implicit(native_type: str, obj: Mapping[str, Any], account: str) -> str | None:
    """Why a resource exists without a declaration of its own (the `implicit` property, read
    by INV-01), or None: AWS creates a default VPC in every region with default subnets, and
    a default security group and network ACL with every VPC (Terraform adopts them with
    aws_default_*, it never creates them); AWS-managed KMS keys (alias/aws/...) appear when
    a service first uses them; AWS Backup creates its `Default` vault; a volume whose
    attachment is DeleteOnTermination was created by its instance's block device mapping
    (aws_instance's root_block_device/ebs_block_device); an organization trail belongs to
    the management account that manages it."""
    if native_type == "vpc" and obj.get("IsDefault"):
        return "the default VPC AWS creates in every region"
    if native_type == "subnet" and obj.get("DefaultForAz"):
        return "a default subnet AWS creates in the default VPC"
    if native_type == "security_group" and obj.get("GroupName") == "default":
        return f"the default security group AWS creates with VPC {obj.get('VpcId')}"
    if native_type == "network_acl" and obj.get("IsDefault"):
        return f"the default network ACL AWS creates with VPC {obj.get('VpcId')}"
    if native_type == "kms_key" and obj.get("KeyManager") == "AWS":
        return "an AWS-managed key: AWS creates it when a service first uses it"
    if native_type == "backup_vault" and obj.get("BackupVaultName") in (
            "Default", "aws/efs/automatic-backup-vault"):
        return "a vault AWS Backup creates itself"
    if native_type == "ebs_volume":
        launched = [a.get("InstanceId") for a in obj.get("Attachments") or []
                    if isinstance(a, Mapping) and a.get("DeleteOnTermination")]
        if launched:
            return (f"created with instance {launched[0]} by its block device mapping "
                    "(deleted with it)")
    if native_type == "cloudtrail_trail":
        owner = str(obj.get("TrailARN") or "").split(":")
        if len(owner) > 4 and owner[4] and owner[4] != account:
            return f"an organization trail of account {owner[4]}, managed there"
    return None


# --- the builder -------------------------------------------------------------------------


class _Builder:
    def __init__(self, section: Section) -> None:
        self.s = section
        self.account = section.account
        self.resources: list[Resource] = []
        self.relations: list[Relation] = []
        self.ids: set[str] = set()
        self.collected_at = parse_time(section.collected_at) or datetime.now(UTC)
        self.attempted = section.attempted()
        self.failed = {(e["collection"], e["region"]) for e in section.errors}
        self.covered_instances: dict[str, bool] = {}

    def arn(self, service: str, region: str | None, resource: str, account: str | None = None
            ) -> str:
        acct = self.account if account is None else account
        return f"arn:{partition(region)}:{service}:{region or ''}:{acct}:{resource}"

    def add(self, kind: Kind, rid: str, native_type: str, obj: Mapping[str, Any],
            properties: Mapping[str, Any], region: str | None, name: str,
            labels: Mapping[str, str] | None = None) -> str:
        if rid in self.ids:
            return rid
        self.ids.add(rid)
        props = dict(properties)
        why = implicit(native_type, obj, self.account)
        if why:
            props["implicit"] = why
        self.resources.append(Resource(
            id=rid, kind=kind, provider=PROVIDER, account=self.account, name=name,
            region=None if region == GLOBAL else region, labels=dict(labels or {}),
            properties=props, raw=obj, native_type=native_type))
        return rid

    def relate(self, source: str, target: str, rtype: RelationType, **attrs: Any) -> None:
        self.relations.append(Relation(source, target, rtype, attrs))

    def regional(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        return [(region, obj) for region, objs in self.s.collections.get(name, {}).items()
                for obj in objs]

    def read_ok(self, name: str, region: str) -> bool:
        """The collection was attempted and did not fail in `region` (or globally)."""
        return name in self.attempted and (name, region) not in self.failed and \
            (name, GLOBAL) not in self.failed

    # --- network context ---------------------------------------------------------------

    def network(self) -> None:
        self.subnets: dict[str, dict[str, Any]] = {}
        self.subnet_region: dict[str, str] = {}
        for region, sn in self.regional("ec2.describe_subnets"):
            self.subnets[sn["SubnetId"]] = sn
            self.subnet_region[sn["SubnetId"]] = region
        self.route_of_subnet: dict[str, dict[str, Any]] = {}
        main: dict[str, dict[str, Any]] = {}
        for _, rt in self.regional("ec2.describe_route_tables"):
            for assoc in rt.get("Associations") or []:
                if assoc.get("Main"):
                    main[str(rt.get("VpcId"))] = rt
                elif assoc.get("SubnetId"):
                    self.route_of_subnet[assoc["SubnetId"]] = rt
        for sid, sn in self.subnets.items():
            if sid not in self.route_of_subnet and str(sn.get("VpcId")) in main:
                self.route_of_subnet[sid] = main[str(sn.get("VpcId"))]
        self.routes_known = "ec2.describe_route_tables" in self.attempted
        self.prefix_entries: dict[str, list[str]] = {}
        for _, env in self.regional("ec2.get_managed_prefix_list_entries"):
            pl = (env.get("request") or {}).get("PrefixListId")
            self.prefix_entries[str(pl)] = [
                str(e["Cidr"]) for e in (env.get("response") or {}).get("Entries") or []
                if e.get("Cidr")]
        self.sgs: dict[str, dict[str, Any]] = {}
        self.sg_region: dict[str, str] = {}
        for region, sg in self.regional("ec2.describe_security_groups"):
            self.sgs[sg["GroupId"]] = sg
            self.sg_region[sg["GroupId"]] = region
        self.nacl_of_subnet: dict[str, dict[str, Any]] = {}
        self.nacl_region: dict[str, str] = {}
        for region, acl in self.regional("ec2.describe_network_acls"):
            self.nacl_region[acl["NetworkAclId"]] = region
            for assoc in acl.get("Associations") or []:
                if assoc.get("SubnetId"):
                    self.nacl_of_subnet[assoc["SubnetId"]] = acl
        # private addresses of every interface in a security group (SG references)
        self.sg_members: dict[str, set[str]] = defaultdict(set)
        for _, eni in self.regional("ec2.describe_network_interfaces"):
            ips = [p["PrivateIpAddress"] for p in eni.get("PrivateIpAddresses") or []
                   if p.get("PrivateIpAddress")] or _listify(eni.get("PrivateIpAddress"))
            for g in eni.get("Groups") or []:
                self.sg_members[g["GroupId"]].update(ips)
        for _, res in self.regional("ec2.describe_instances"):
            for inst in res.get("Instances") or []:
                for eni in inst.get("NetworkInterfaces") or []:
                    ips = [p["PrivateIpAddress"] for p in eni.get("PrivateIpAddresses") or []
                           if p.get("PrivateIpAddress")]
                    for g in eni.get("Groups") or []:
                        self.sg_members[g["GroupId"]].update(ips)
        self._sg_layers: dict[tuple[str, ...], RuleLayer] = {}
        self._route_layers: dict[str, RuleLayer] = {}
        self._nacl_layers: dict[str, RuleLayer] = {}

    def sg_arn(self, gid: str) -> str:
        sg = self.sgs.get(gid, {})
        return str(sg.get("SecurityGroupArn") or self.arn(
            "ec2", self.sg_region.get(gid), f"security-group/{gid}",
            str(sg.get("OwnerId") or self.account)))

    def sg_rules(self, gid: str) -> tuple[Rule, ...]:
        sg = self.sgs.get(gid)
        if sg is None:
            return ()
        origin = self.sg_arn(gid)
        rules: list[Rule] = []
        for i, perm in enumerate(sg.get("IpPermissions") or []):
            protocol = _PROTO.get(str(perm.get("IpProtocol")).lower(), "other")
            ports = ALL_PORTS
            lo, hi = perm.get("FromPort"), perm.get("ToPort")
            if protocol in ("tcp", "udp") and lo is not None and int(lo) >= 0:
                ports = PortRange(int(lo), int(hi if hi is not None and int(hi) >= 0 else lo))
            sources: list[str] = [str(r["CidrIp"]) for r in perm.get("IpRanges") or []
                                  if r.get("CidrIp")]
            sources += [str(r["CidrIpv6"]) for r in perm.get("Ipv6Ranges") or []
                        if r.get("CidrIpv6")]
            for pl in perm.get("PrefixListIds") or []:
                sources += self.prefix_entries.get(str(pl.get("PrefixListId")), [])
            for pair in perm.get("UserIdGroupPairs") or []:
                sources += [_cidr(ip) for ip in sorted(self.sg_members.get(
                    str(pair.get("GroupId")), ()))]
            if sources:
                rules.append(Rule(Action.ALLOW, protocol, ports, tuple(dict.fromkeys(sources)),
                                  origin=f"{origin}#{i}"))
        return tuple(rules)

    def sg_layer(self, group_ids: Iterable[str]) -> RuleLayer:
        key = tuple(sorted(set(group_ids)))
        if key not in self._sg_layers:
            self._sg_layers[key] = RuleLayer(
                name="security groups", mode=LayerMode.UNION,
                rules=tuple(r for g in key for r in self.sg_rules(g)), default=Action.DENY,
                present=True, origin=tuple(self.sg_arn(g) for g in key))
        return self._sg_layers[key]

    def nacl_arn(self, acl: Mapping[str, Any]) -> str:
        aid = str(acl["NetworkAclId"])
        return self.arn("ec2", self.nacl_region.get(aid), f"network-acl/{aid}",
                        str(acl.get("OwnerId") or self.account))

    def nacl_rules(self, acl: Mapping[str, Any]) -> tuple[Rule, ...]:
        origin = self.nacl_arn(acl)
        rules = []
        for e in acl.get("Entries") or []:
            if e.get("Egress"):
                continue
            protocol = _PROTO.get(str(e.get("Protocol")).lower(), "other")
            ports = ALL_PORTS
            pr = e.get("PortRange") or {}
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

    def nacl_layer(self, subnet_id: str | None) -> RuleLayer | None:
        acl = self.nacl_of_subnet.get(str(subnet_id))
        if acl is None:
            return None
        aid = str(acl["NetworkAclId"])
        if aid not in self._nacl_layers:
            self._nacl_layers[aid] = RuleLayer(
                name=f"network ACL {aid}", mode=LayerMode.ORDERED, rules=self.nacl_rules(acl),
                default=Action.DENY, origin=(self.nacl_arn(acl),))
        return self._nacl_layers[aid]

    def route_layer(self, subnet_id: str | None) -> tuple[RuleLayer | None, set[int]]:
        """The subnet's routes as an ORDERED layer (longest prefix first) and the address
        families that have any route to an internet gateway."""
        rt = self.route_of_subnet.get(str(subnet_id))
        if rt is None:
            return None, {4, 6}  # unknown: assume routed (the scope error says why)
        families: set[int] = set()
        rules: list[Rule] = []
        rt_id = str(rt.get("RouteTableId"))
        origin = self.arn("ec2", self.subnet_region.get(str(subnet_id)),
                          f"route-table/{rt_id}", str(rt.get("OwnerId") or self.account))
        for route in rt.get("Routes") or []:
            if route.get("State") == "blackhole":
                continue
            dests = [d for d in (route.get("DestinationCidrBlock"),
                                 route.get("DestinationIpv6CidrBlock")) if d]
            if route.get("DestinationPrefixListId"):
                dests += self.prefix_entries.get(str(route["DestinationPrefixListId"]), [])
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
        if rt_id not in self._route_layers:
            self._route_layers[rt_id] = RuleLayer(
                name=f"route table {rt_id} (internet gateway routes)", mode=LayerMode.ORDERED,
                rules=tuple(rules), default=Action.DENY, origin=(origin,))
        return self._route_layers[rt_id], families

    def routed(self, subnet_ids: Iterable[str]) -> bool | None:
        """Does any of the subnets route IPv4 to an internet gateway? None: unknown."""
        answers: list[bool | None] = []
        for sid in subnet_ids:
            if str(sid) not in self.route_of_subnet:
                answers.append(None)
                continue
            answers.append(4 in self.route_layer(sid)[1])
        if any(a is True for a in answers):
            return True
        if answers and all(a is False for a in answers):
            return False
        return None

    # --- firewalls, networks, addresses ------------------------------------------------

    def firewalls(self) -> None:
        for region, sg in self.regional("ec2.describe_security_groups"):
            rules = self.sg_rules(sg["GroupId"])
            self.add(Kind.FIREWALL, self.sg_arn(sg["GroupId"]), "security_group", sg, {
                "firewall_rules": [{"action": "allow", "protocol": r.protocol,
                                    "ports": str(r.ports), "sources": list(r.sources)}
                                   for r in rules]},
                region, str(sg.get("GroupName") or sg["GroupId"]), tags(sg))
        for region, acl in self.regional("ec2.describe_network_acls"):
            rules = self.nacl_rules(acl)
            self.add(Kind.FIREWALL, self.nacl_arn(acl), "network_acl", acl, {
                "firewall_rules": [{"action": str(r.action), "priority": r.priority,
                                    "protocol": r.protocol, "ports": str(r.ports),
                                    "sources": list(r.sources)} for r in rules]},
                region, tags(acl).get("Name") or str(acl["NetworkAclId"]), tags(acl))

    def networks(self) -> None:
        for region, vpc in self.regional("ec2.describe_vpcs"):
            vid = self.arn("ec2", region, f"vpc/{vpc['VpcId']}", str(vpc.get("OwnerId")
                                                                       or self.account))
            self.add(Kind.NETWORK, vid, "vpc", vpc, {"cidr": vpc.get("CidrBlock")}, region,
                     tags(vpc).get("Name") or vpc["VpcId"], tags(vpc))
        for region, sn in self.regional("ec2.describe_subnets"):
            sid = str(sn.get("SubnetArn") or self.arn("ec2", region, f"subnet/{sn['SubnetId']}"))
            self.add(Kind.SUBNET, sid, "subnet", sn, {
                "cidr": sn.get("CidrBlock"), "network_zone": sn.get("AvailabilityZone")},
                region, tags(sn).get("Name") or sn["SubnetId"], tags(sn))
            self.relate(sid, self.arn("ec2", region, f"vpc/{sn.get('VpcId')}",
                                      str(sn.get("OwnerId") or self.account)),
                        RelationType.MEMBER_OF)
        for region, pc in self.regional("ec2.describe_vpc_peering_connections"):
            if (pc.get("Status") or {}).get("Code") != "active":
                continue
            a, b = pc.get("RequesterVpcInfo") or {}, pc.get("AccepterVpcInfo") or {}
            src = self.arn("ec2", a.get("Region") or region, f"vpc/{a.get('VpcId')}",
                           str(a.get("OwnerId") or self.account))
            dst = self.arn("ec2", b.get("Region") or region, f"vpc/{b.get('VpcId')}",
                           str(b.get("OwnerId") or self.account))
            self.relate(src, dst, RelationType.PEERED_WITH,
                        peering=pc.get("VpcPeeringConnectionId"))
            self.relate(dst, src, RelationType.PEERED_WITH,
                        peering=pc.get("VpcPeeringConnectionId"))

    def addresses(self) -> None:
        for region, eip in self.regional("ec2.describe_addresses"):
            native = eip.get("AllocationId") or eip.get("PublicIp")
            rid = self.arn("ec2", region, f"elastic-ip/{native}")
            self.add(Kind.PUBLIC_IP, rid, "elastic_ip", eip, {}, region,
                     tags(eip).get("Name") or str(eip.get("PublicIp")), tags(eip))
            if eip.get("InstanceId"):
                self.relate(rid, self.arn("ec2", region, f"instance/{eip['InstanceId']}"),
                            RelationType.ATTACHED_TO)

    # --- backup coverage ---------------------------------------------------------------

    def backup_coverage(self) -> None:
        """AWS Backup plans and selections -> which resources are backed up, how often, how
        long, and which regions hold copies."""
        self.backup_known = all(n in self.attempted for n in (
            "backup.list_backup_plans", "backup.get_backup_plan",
            "backup.list_backup_selections", "backup.get_backup_selection"))
        self.vault_copies: dict[tuple[str, str], set[str]] = defaultdict(set)
        plans: dict[tuple[str, str], dict[str, Any]] = {}
        for region, env in self.regional("backup.get_backup_plan"):
            resp = env.get("response") or {}
            plans[(region, str(resp.get("BackupPlanId") or (env.get("request") or {}).get(
                "BackupPlanId")))] = resp
        self.selections: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for region, env in self.regional("backup.get_backup_selection"):
            resp = env.get("response") or {}
            plan = plans.get((region, str(resp.get("BackupPlanId") or (
                env.get("request") or {}).get("BackupPlanId"))))
            if plan is not None:
                self.selections.append((region, resp.get("BackupSelection") or {}, plan))
        for (region, _), plan in plans.items():
            for rule in (plan.get("BackupPlan") or {}).get("Rules") or []:
                for copy in rule.get("CopyActions") or []:
                    dest = _region_of_arn(str(copy.get("DestinationBackupVaultArn", "")))
                    if dest:
                        self.vault_copies[(region, str(rule.get("TargetBackupVaultName")))].add(
                            dest)

    def backup_of(self, arn: str, region: str | None, labels: Mapping[str, str]
                  ) -> dict[str, Any] | None:
        """Backup properties from AWS Backup for one resource (None: not covered)."""
        freq: list[int] = []
        keep: list[int] = []
        copies: set[str] = set()
        for sel_region, sel, plan in self.selections:
            if sel_region != region or not _selected(sel, arn, labels):
                continue
            for rule in (plan.get("BackupPlan") or {}).get("Rules") or []:
                hours = cron_hours(rule.get("ScheduleExpression"))
                if hours is None and rule.get("EnableContinuousBackup"):
                    hours = 1
                if hours is not None:
                    freq.append(hours)
                days = (rule.get("Lifecycle") or {}).get("DeleteAfterDays")
                keep.append(int(days) if days is not None else FOREVER_DAYS)
                for copy in rule.get("CopyActions") or []:
                    dest = _region_of_arn(str(copy.get("DestinationBackupVaultArn", "")))
                    if dest and dest != region:
                        copies.add(dest)
        if not keep:
            return None
        return {
            "backup_enabled": True,
            "backup_frequency_hours": min(freq) if freq else None,
            "backup_retention_days": max(keep),
            "backup_redundancy": "geo" if copies else "zone",
            "replica_regions": sorted(copies),
        }

    # --- compute -----------------------------------------------------------------------

    def instances(self) -> None:
        images = {img["ImageId"]: img for _, img in self.regional("ec2.describe_images")}
        images_read = {r for r in self.s.collections.get("ec2.describe_images", {})}
        user_data = {(env.get("request") or {}).get("InstanceId"): env
                     for _, env in self.regional("ec2.describe_instance_attribute")}
        volumes_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _, vol in self.regional("ec2.describe_volumes"):
            for att in vol.get("Attachments") or []:
                volumes_of[str(att.get("InstanceId"))].append({**att, "_vol": vol})
        volumes_known = "ec2.describe_volumes" in self.attempted
        self.instance_by_ip: dict[str, str] = {}
        for region, res in self.regional("ec2.describe_instances"):
            for inst in res.get("Instances") or []:
                if (inst.get("State") or {}).get("Name") in ("terminated", "shutting-down"):
                    continue
                self.instance(region, inst, images, images_read, user_data, volumes_of,
                              volumes_known)

    def instance(self, region: str, inst: dict[str, Any], images: Mapping[str, Any],
                 images_read: set[str], user_data: Mapping[Any, Any],
                 volumes_of: Mapping[str, list[dict[str, Any]]], volumes_known: bool) -> None:
        iid = inst["InstanceId"]
        rid = self.arn("ec2", region, f"instance/{iid}")
        labels = tags(inst)
        enis = sorted(inst.get("NetworkInterfaces") or [],
                      key=lambda e: (e.get("Attachment") or {}).get("DeviceIndex", 0))
        if not enis:  # hand-written or minimal objects: the instance-level fields
            enis = [{"SubnetId": inst.get("SubnetId"), "Groups": inst.get("SecurityGroups"),
                     "Association": {"PublicIp": inst["PublicIpAddress"]}
                     if inst.get("PublicIpAddress") else None,
                     "PrivateIpAddresses": [{"PrivateIpAddress": inst.get("PrivateIpAddress")}]
                     if inst.get("PrivateIpAddress") else [], "Ipv6Addresses": []}]
        public: list[str] = []
        private: list[str] = []
        ingress: tuple[RuleLayer, ...] | None = None
        for eni in enis:
            v4 = [a["PublicIp"] for a in [eni.get("Association") or {}] if a.get("PublicIp")]
            for p in eni.get("PrivateIpAddresses") or []:
                if p.get("PrivateIpAddress"):
                    private.append(p["PrivateIpAddress"])
                pub = (p.get("Association") or {}).get("PublicIp")
                if pub and pub not in v4:
                    v4.append(pub)
            v6 = [a["Ipv6Address"] for a in eni.get("Ipv6Addresses") or []
                  if a.get("Ipv6Address")]
            route, families = self.route_layer(eni.get("SubnetId"))
            reachable = [ip for ip in v4 if 4 in families] + [ip for ip in v6 if 6 in families]
            public.extend(ip for ip in reachable if ip not in public)
            if (ingress is None and reachable) or (ingress is None and eni is enis[-1]):
                layers: list[RuleLayer] = []
                if route is not None:
                    layers.append(route)
                nacl = self.nacl_layer(eni.get("SubnetId"))
                if nacl is not None:
                    layers.append(nacl)
                layers.append(self.sg_layer(g["GroupId"] for g in eni.get("Groups") or []))
                ingress = tuple(layers)
            for g in eni.get("Groups") or []:
                self.relate(rid, self.sg_arn(g["GroupId"]), RelationType.PROTECTED_BY,
                            layer="security groups")
            acl = self.nacl_of_subnet.get(str(eni.get("SubnetId")))
            if acl is not None:
                self.relate(rid, self.nacl_arn(acl), RelationType.PROTECTED_BY,
                            layer="network ACL")
            if eni.get("SubnetId"):
                sn = self.subnets.get(str(eni["SubnetId"]), {})
                self.relate(rid, str(sn.get("SubnetArn") or self.arn(
                    "ec2", region, f"subnet/{eni['SubnetId']}")), RelationType.ATTACHED_TO)
        for ip in private:
            self.instance_by_ip[f"{region}/{ip}"] = rid
        props: dict[str, Any] = {
            "public_ips": public,
            "private_ips": list(dict.fromkeys(private)),
            "ingress": ingress or (),
            "ssh_key_only": None if str(inst.get("Platform", "")).lower() == "windows"
            else bool(inst.get("KeyName")),
        }
        image = images.get(str(inst.get("ImageId")))
        props["image"] = (image or {}).get("Name") or inst.get("ImageId")
        if image is not None:
            props["image_deprecated"] = iso(image.get("DeprecationTime"))
        elif region in images_read and self.read_ok("ec2.describe_images", region):
            pass  # the image is gone (deregistered or no longer shared): unknown
        env = user_data.get(iid)
        if env is not None:
            props["plaintext_secrets"] = [f"UserData:{n}" for n in env.get("flagged") or []]
        root = inst.get("RootDeviceName")
        attached = volumes_of.get(iid, [])
        if volumes_known or inst.get("BlockDeviceMappings"):
            devices = [a.get("Device") for a in attached] or [
                m.get("DeviceName") for m in inst.get("BlockDeviceMappings") or []]
            props["stateful"] = any(d and d != root for d in devices)
        backup = self.backup_of(rid, region, labels)
        if backup is not None:
            props.update(backup)
        elif self.backup_known:
            props.update({"backup_enabled": False, "backup_frequency_hours": None,
                          "backup_retention_days": None})
        self.add(Kind.COMPUTE, rid, "ec2_instance", inst, props, region,
                 labels.get("Name") or iid, labels)
        self.covered_instances[rid] = backup is not None

    def volumes(self) -> None:
        for region, vol in self.regional("ec2.describe_volumes"):
            vid = self.arn("ec2", region, f"volume/{vol['VolumeId']}")
            labels = tags(vol)
            props: dict[str, Any] = {
                "encrypted": bool(vol.get("Encrypted")),
                "encryption_evidence": "config",
                "size_gb": vol.get("Size"),
            }
            backup = self.backup_of(vid, region, labels)
            via_instance = any(self.covered_instances.get(self.arn(
                "ec2", region, f"instance/{a.get('InstanceId')}"))
                for a in vol.get("Attachments") or [])
            if backup is not None or via_instance:
                props["backup_enabled"] = True
                props["replica_regions"] = (backup or {}).get("replica_regions", [])
            elif self.backup_known:
                props["backup_enabled"] = False
            self.add(Kind.VOLUME, vid, "ebs_volume", vol, props, region,
                     labels.get("Name") or vol["VolumeId"], labels)
            for att in vol.get("Attachments") or []:
                if att.get("InstanceId"):
                    self.relate(vid, self.arn("ec2", region, f"instance/{att['InstanceId']}"),
                                RelationType.ATTACHED_TO)
            if vol.get("KmsKeyId"):
                self.relate(vid, str(vol["KmsKeyId"]), RelationType.ENCRYPTED_WITH)
        for region, snap in self.regional("ec2.describe_snapshots"):
            sid = f"arn:{partition(region)}:ec2:{region}::snapshot/{snap['SnapshotId']}"
            self.add(Kind.SNAPSHOT, sid, "ebs_snapshot", snap, {
                "encrypted": bool(snap.get("Encrypted")), "encryption_evidence": "config"},
                region, tags(snap).get("Name") or snap["SnapshotId"], tags(snap))
            if snap.get("VolumeId"):
                self.relate(self.arn("ec2", region, f"volume/{snap['VolumeId']}"), sid,
                            RelationType.BACKED_UP_BY)

    # --- databases ---------------------------------------------------------------------

    def databases(self) -> None:
        automated: dict[str, set[str]] = defaultdict(set)
        for region, ab in self.regional("rds.describe_db_instance_automated_backups"):
            # A replicated automated backup lives in `region` and names its source region.
            if ab.get("Region") and ab.get("Region") != region and ab.get("DBInstanceArn"):
                automated[str(ab["DBInstanceArn"])].add(region)
        members_public: dict[str, bool] = {}
        for region, db in self.regional("rds.describe_db_instances"):
            arn = str(db.get("DBInstanceArn") or self.arn(
                "rds", region, f"db:{db['DBInstanceIdentifier']}"))
            labels = tags(db, "TagList")
            subnets = [s["SubnetIdentifier"] for s in
                       (db.get("DBSubnetGroup") or {}).get("Subnets") or []
                       if s.get("SubnetIdentifier")]
            routed = self.routed(subnets) if subnets else None
            public = bool(db.get("PubliclyAccessible")) and routed is not False
            if db.get("DBClusterIdentifier"):
                key = f"{region}/{db['DBClusterIdentifier']}"
                members_public[key] = members_public.get(key, False) or public
            replicas = {rr for r in _listify(db.get("ReadReplicaDBInstanceIdentifiers"))
                        if (rr := _region_of_arn(str(r))) and rr != region}
            copies: set[str] = {c for r in db.get("DBInstanceAutomatedBackupsReplications") or []
                                if (c := _region_of_arn(str(r.get("DBInstanceAutomatedBackupsArn",
                                                                  ""))))}
            copies |= automated.get(arn, set())
            props = self.db_props(region, db, arn, labels, public, copies | replicas,
                                  int(db.get("BackupRetentionPeriod") or 0), bool(copies))
            props["ingress"] = self.db_ingress(db, (db.get("Endpoint") or {}).get("Port"))
            self.add(Kind.DATABASE, arn, "rds_instance", db, props, region,
                     str(db["DBInstanceIdentifier"]), labels)
            self.db_relations(arn, db)
        for region, cl in self.regional("rds.describe_db_clusters"):
            arn = str(cl.get("DBClusterArn"))
            labels = tags(cl, "TagList")
            public = members_public.get(f"{region}/{cl.get('DBClusterIdentifier')}", False)
            copies = set()
            for rid in _listify(cl.get("ReadReplicaIdentifiers")):
                rr = _region_of_arn(str(rid))
                if rr and rr != region:
                    copies.add(rr)
            props = self.db_props(region, cl, arn, labels, public, copies,
                                  int(cl.get("BackupRetentionPeriod") or 0), False)
            props["ingress"] = self.db_ingress(cl, cl.get("Port"))
            self.add(Kind.DATABASE, arn, "rds_cluster", cl, props, region,
                     str(cl.get("DBClusterIdentifier")), labels)
            self.db_relations(arn, cl)
        for region, snap in self.regional("rds.describe_db_snapshots"):
            arn = str(snap.get("DBSnapshotArn") or self.arn(
                "rds", region, f"snapshot:{snap.get('DBSnapshotIdentifier')}"))
            self.add(Kind.SNAPSHOT, arn, "rds_snapshot", snap, {
                "encrypted": bool(snap.get("Encrypted")), "encryption_evidence": "config"},
                region, str(snap.get("DBSnapshotIdentifier")), tags(snap, "TagList"))
        for region, snap in self.regional("rds.describe_db_cluster_snapshots"):
            arn = str(snap.get("DBClusterSnapshotArn") or self.arn(
                "rds", region, f"cluster-snapshot:{snap.get('DBClusterSnapshotIdentifier')}"))
            self.add(Kind.SNAPSHOT, arn, "rds_cluster_snapshot", snap, {
                "encrypted": bool(snap.get("StorageEncrypted")),
                "encryption_evidence": "config"},
                region, str(snap.get("DBClusterSnapshotIdentifier")), tags(snap, "TagList"))

    def db_props(self, region: str, db: Mapping[str, Any], arn: str, labels: Mapping[str, str],
                 public: bool, copies: set[str], retention: int, replicated: bool
                 ) -> dict[str, Any]:
        latest = parse_time(db.get("LatestRestorableTime"))
        props: dict[str, Any] = {
            "public_ips": [],
            "public_endpoint": public,
            "encrypted": bool(db.get("StorageEncrypted")),
            "encryption_evidence": "config",
            "backup_enabled": retention > 0,
            "backup_retention_days": retention or None,
            "backup_frequency_hours": 24 if retention > 0 else None,
            "pitr_enabled": retention > 0,
            "pitr_lag_minutes": max(0.0, round((self.collected_at - latest).total_seconds()
                                               / 60, 2))
            if retention > 0 and latest else None,
            "backup_redundancy": ("geo" if replicated else "zone") if retention > 0 else None,
            "replica_regions": sorted(copies),
        }
        backup = self.backup_of(arn, region, labels)
        if backup is not None:
            props["backup_enabled"] = True
            props["backup_retention_days"] = max(props["backup_retention_days"] or 0,
                                                 backup["backup_retention_days"])
            props["backup_frequency_hours"] = min(
                h for h in (props["backup_frequency_hours"], backup["backup_frequency_hours"],
                            10**6) if h is not None)
            props["replica_regions"] = sorted(set(props["replica_regions"])
                                              | set(backup["replica_regions"]))
            if props["replica_regions"]:
                props["backup_redundancy"] = "geo"
            elif props["backup_redundancy"] is None:
                props["backup_redundancy"] = backup["backup_redundancy"]
        return props

    def db_ingress(self, db: Mapping[str, Any], port: Any) -> tuple[RuleLayer, ...]:
        groups = [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups") or []
                  if g.get("VpcSecurityGroupId") and g.get("Status", "active") == "active"]
        layers = []
        if port:
            layers.append(RuleLayer(
                name="database endpoint port", mode=LayerMode.UNION,
                rules=(Rule(Action.ALLOW, "tcp", PortRange(int(port), int(port)),
                            origin=f"endpoint:{port}"),), default=Action.DENY))
        layers.append(self.sg_layer(groups))
        return tuple(layers)

    def db_relations(self, arn: str, db: Mapping[str, Any]) -> None:
        for g in db.get("VpcSecurityGroups") or []:
            if g.get("VpcSecurityGroupId"):
                self.relate(arn, self.sg_arn(g["VpcSecurityGroupId"]),
                            RelationType.PROTECTED_BY, layer="security groups")
        if db.get("KmsKeyId"):
            self.relate(arn, str(db["KmsKeyId"]), RelationType.ENCRYPTED_WITH)

    # --- S3 ------------------------------------------------------------------------------

    def buckets(self) -> None:
        per: dict[str, dict[str, tuple[str, dict[str, Any]]]] = defaultdict(dict)
        for name in ("s3.get_bucket_location", "s3.get_bucket_encryption",
                     "s3.get_bucket_replication", "s3.get_public_access_block",
                     "s3.get_bucket_policy", "s3.get_bucket_tagging"):
            for where, env in self.regional(name):
                bucket = str((env.get("request") or {}).get("Bucket"))
                per[bucket][name] = (where, env)
        from providers.aws.collect import s3_region

        location: dict[str, str] = {}
        for bucket, calls in per.items():
            env = calls.get("s3.get_bucket_location", ("", {}))[1]
            if "response" in env:
                location[bucket] = s3_region(env["response"].get("LocationConstraint"))
        for _, b in self.regional("s3.list_buckets"):
            name = str(b["Name"])
            calls = per.get(name, {})
            region = location.get(name) or str(b.get("BucketRegion") or "") or None
            arn = f"arn:{partition(region)}:s3:::{name}"
            tag_env = calls.get("s3.get_bucket_tagging", ("", {}))[1]
            labels = tags(tag_env.get("response") or {}, "TagSet")
            props: dict[str, Any] = {}
            enc = calls.get("s3.get_bucket_encryption")
            if enc is not None:
                rules = ((enc[1].get("response") or {}).get(
                    "ServerSideEncryptionConfiguration") or {}).get("Rules") or []
                algos = [((r.get("ApplyServerSideEncryptionByDefault") or {}).get(
                    "SSEAlgorithm")) for r in rules]
                props["encrypted"] = bool([a for a in algos if a])
                props["encryption_evidence"] = "config"
                for r in rules:
                    key = (r.get("ApplyServerSideEncryptionByDefault") or {}).get(
                        "KMSMasterKeyID")
                    if key and str(key).startswith("arn:"):
                        self.relate(arn, str(key), RelationType.ENCRYPTED_WITH)
            elif "s3.get_bucket_encryption" in self.attempted:
                props["encrypted"] = None
                props["encryption_evidence"] = "config"
            rep = calls.get("s3.get_bucket_replication")
            if rep is not None:
                dests: list[str] = []
                rules = ((rep[1].get("response") or {}).get("ReplicationConfiguration")
                         or {}).get("Rules") or []
                for rule in rules:
                    if rule.get("Status") != "Enabled":
                        continue
                    dest = str((rule.get("Destination") or {}).get("Bucket", ""))
                    dest_name = dest.split(":::")[-1]
                    dest_region = location.get(dest_name) or "unknown"
                    dests.append(dest_region)
                    self.relate(arn, f"arn:{partition(region)}:s3:::{dest_name}",
                                RelationType.REPLICATES_TO, region=dest_region)
                props["replica_regions"] = sorted(set(dests))
                props["backup_redundancy"] = "geo" if any(
                    d != region for d in dests) else "zone"
            pol = calls.get("s3.get_bucket_policy")
            if pol is not None:
                props["https_only"] = _denies_plain_http((pol[1].get("response") or {}).get(
                    "Policy"))
            self.add(Kind.BUCKET, arn, "s3_bucket", b, props, region, name, labels)

    # --- load balancers ----------------------------------------------------------------

    def load_balancers(self) -> None:
        policies: dict[str, list[str]] = {}
        for _, p in self.regional("elbv2.describe_ssl_policies"):
            policies[str(p.get("Name"))] = [str(x.get("Name")) for x in
                                            p.get("SslProtocols") or []] \
                if p.get("SslProtocols") and isinstance(p["SslProtocols"][0], Mapping) \
                else [str(x) for x in p.get("SslProtocols") or []]
        eni_ips: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for _, eni in self.regional("ec2.describe_network_interfaces"):
            desc = str(eni.get("Description") or "")
            if not desc.startswith("ELB "):
                continue
            key = desc[4:]  # app/NAME/ID or net/NAME/ID
            pub = (eni.get("Association") or {}).get("PublicIp")
            if pub:
                eni_ips[key][0].append(pub)
            eni_ips[key][0].extend(a["Ipv6Address"] for a in eni.get("Ipv6Addresses") or []
                                   if a.get("Ipv6Address"))
            if eni.get("PrivateIpAddress"):
                eni_ips[key][1].append(eni["PrivateIpAddress"])
        lb_tags: dict[str, dict[str, str]] = {}
        for _, env in self.regional("elbv2.describe_tags"):
            for d in (env.get("response") or {}).get("TagDescriptions") or []:
                lb_tags[str(d.get("ResourceArn"))] = tags(d)
        waf: dict[str, dict[str, Any]] = {}
        for _, env in self.regional("wafv2.get_web_acl_for_resource"):
            waf[str((env.get("request") or {}).get("ResourceArn"))] = env
        listeners: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _, env in self.regional("elbv2.describe_listeners"):
            for listener in (env.get("response") or {}).get("Listeners") or []:
                listeners[str(listener.get("LoadBalancerArn"))].append(listener)
        groups = {str(g["TargetGroupArn"]): g for _, g in
                  self.regional("elbv2.describe_target_groups")}
        health: dict[str, list[dict[str, Any]]] = {}
        for _, env in self.regional("elbv2.describe_target_health"):
            health[str((env.get("request") or {}).get("TargetGroupArn"))] = (
                env.get("response") or {}).get("TargetHealthDescriptions") or []
        for region, lb in self.regional("elbv2.describe_load_balancers"):
            arn = str(lb["LoadBalancerArn"])
            key = arn.split(":loadbalancer/")[-1]
            public_ips, private_ips = eni_ips.get(key, ([], []))
            public_ips = list(public_ips)
            for az in lb.get("AvailabilityZones") or []:
                for addr in az.get("LoadBalancerAddresses") or []:
                    for field in ("IpAddress", "IPv6Address"):
                        if addr.get(field) and addr[field] not in public_ips:
                            public_ips.append(addr[field])
            internet = lb.get("Scheme") == "internet-facing"
            if not internet:
                private_ips = list(private_ips) + public_ips
                public_ips = []
            # internet-facing: reachable by its DNS name even where no address is visible
            own = listeners.get(arn, [])
            ports = sorted({int(li["Port"]) for li in own if li.get("Port")})
            layers = [RuleLayer(name="load balancer listeners", mode=LayerMode.UNION, rules=tuple(
                Rule(Action.ALLOW, "tcp", PortRange(p, p), origin=f"{arn}:{p}") for p in ports),
                default=Action.DENY)]
            if lb.get("SecurityGroups"):
                layers.append(self.sg_layer(lb["SecurityGroups"]))
            props: dict[str, Any] = {"public_ips": public_ips, "private_ips": private_ips,
                                     "public_endpoint": internet, "ingress": tuple(layers),
                                     "public_hostnames": [str(lb["DNSName"])]
                                     if internet and lb.get("DNSName") else []}
            if lb.get("Type") == "application":
                waf_env = waf.get(arn)
                if waf_env is not None:
                    acl = (waf_env.get("response") or {}).get("WebACL")
                    props["waf"] = bool(acl)
                    props["waf_rate_limit"] = bool(acl) and acl_rate_limited(acl or {})
                elif self.read_ok("wafv2.get_web_acl_for_resource", region):
                    props["waf"] = None
            else:
                props["waf"] = False  # WAF attaches to ALBs, not NLBs/GWLBs
                props["waf_rate_limit"] = False
            labels = lb_tags.get(arn, {})
            self.add(Kind.LOAD_BALANCER, arn, f"{lb.get('Type', 'elbv2')}_load_balancer", lb,
                     props, region, str(lb.get("LoadBalancerName")), labels)
            for g in lb.get("SecurityGroups") or []:
                self.relate(arn, self.sg_arn(g), RelationType.PROTECTED_BY,
                            layer="security groups")
            for listener in own:
                self.listener(region, arn, lb, listener, policies, groups)
            for tg_arn, g in groups.items():
                if arn not in (g.get("LoadBalancerArns") or []):
                    continue
                for described in health.get(tg_arn, []):
                    target = self.target_id(region, g, described.get("Target") or {})
                    if target:
                        self.relate(arn, target, RelationType.TARGETS, private=True,
                                    target_group=tg_arn)

    def target_id(self, region: str, group: Mapping[str, Any], target: Mapping[str, Any]
                  ) -> str | None:
        tid = str(target.get("Id") or "")
        kind = group.get("TargetType", "instance")
        if kind == "instance" and tid.startswith("i-"):
            return self.arn("ec2", region, f"instance/{tid}")
        if kind == "ip":
            return self.instance_by_ip.get(f"{region}/{tid}")
        if tid.startswith("arn:"):
            return tid
        return None

    def listener(self, region: str, lb_arn: str, lb: Mapping[str, Any],
                 li: Mapping[str, Any], policies: Mapping[str, list[str]],
                 groups: Mapping[str, Mapping[str, Any]]) -> None:
        protocol = _LISTENER_PROTO.get(str(li.get("Protocol")), str(li.get("Protocol")).lower())
        actions = sorted(li.get("DefaultActions") or [], key=lambda a: a.get("Order", 0))
        final: dict[str, Any] = next((a for a in actions if a.get("Type") in ("forward", "redirect",
                                                              "fixed-response")), {})
        redirect = final.get("Type") == "redirect" and str(
            (final.get("RedirectConfig") or {}).get("Protocol", "")).upper() == "HTTPS"
        target_port = None
        if final.get("Type") == "forward":
            tg_arns = [final.get("TargetGroupArn")] + [
                t.get("TargetGroupArn") for t in (final.get("ForwardConfig") or {}).get(
                    "TargetGroups") or []]
            for tg in tg_arns:
                if tg and groups.get(str(tg), {}).get("Port"):
                    target_port = int(groups[str(tg)]["Port"])
                    break
        props: dict[str, Any] = {"protocol": protocol, "port": li.get("Port"),
                                 "target_port": target_port, "redirects_to_https": redirect}
        if protocol in ("https", "tls"):
            protos = policies.get(str(li.get("SslPolicy")))
            versions = sorted(_TLS[p] for p in protos or [] if p in _TLS)
            props["min_tls"] = versions[0] if versions else None
        lid = str(li["ListenerArn"])
        self.add(Kind.LISTENER, lid, "elbv2_listener", li, props, region,
                 f"{lb.get('LoadBalancerName')}:{li.get('Port')}/{protocol}")
        self.relate(lid, lb_arn, RelationType.MEMBER_OF)
        for cert in li.get("Certificates") or []:
            if cert.get("CertificateArn"):
                self.relate(lid, str(cert["CertificateArn"]), RelationType.USES_CERTIFICATE)

    # --- edge, certificates, keys, logs ------------------------------------------------

    def cdn(self) -> None:
        acls = {str((env.get("request") or {}).get("Name")) + "/" + str(
            (env.get("request") or {}).get("Id")): env
                for _, env in self.regional("wafv2.get_web_acl")}
        for _, d in self.regional("cloudfront.list_distributions"):
            arn = str(d.get("ARN") or f"arn:aws:cloudfront::{self.account}:distribution/"
                      f"{d.get('Id')}")
            vc = d.get("ViewerCertificate") or {}
            props: dict[str, Any] = {"public_endpoint": bool(d.get("Enabled", True))}
            if vc.get("CloudFrontDefaultCertificate"):
                props["min_tls"] = "1.0"
                props["min_tls_reference"] = DEFAULT_CERT_DOC
            else:
                props["min_tls"] = _CF_TLS.get(str(vc.get("MinimumProtocolVersion")))
            behaviours = [d.get("DefaultCacheBehavior") or {},
                          *((d.get("CacheBehaviors") or {}).get("Items") or [])]
            props["https_only"] = all(b.get("ViewerProtocolPolicy") in (
                "https-only", "redirect-to-https") for b in behaviours)
            acl_id = str(d.get("WebACLId") or "")
            props["waf"] = bool(acl_id)
            if not acl_id:
                props["waf_rate_limit"] = False
            elif acl_id.startswith("arn:"):
                parts = acl_id.split("/")
                env = acls.get(f"{parts[-2]}/{parts[-1]}") if len(parts) >= 4 else None
                acl = ((env or {}).get("response") or {}).get("WebACL")
                props["waf_rate_limit"] = acl_rate_limited(acl) if acl else None
            else:
                props["waf_rate_limit"] = None  # WAF Classic: not read
            self.add(Kind.CDN, arn, "cloudfront_distribution", d, props, None,
                     str(d.get("DomainName") or d.get("Id")))
            if vc.get("ACMCertificateArn"):
                self.relate(arn, str(vc["ACMCertificateArn"]), RelationType.USES_CERTIFICATE)

    def certificates(self) -> None:
        described = {}
        for _, env in self.regional("acm.describe_certificate"):
            cert = (env.get("response") or {}).get("Certificate")
            if cert:
                described[str(cert.get("CertificateArn"))] = cert
        for region, summary in self.regional("acm.list_certificates"):
            arn = str(summary["CertificateArn"])
            cert = {**summary, **described.get(arn, {})}
            ctype = cert.get("Type")
            managed = ctype == "AMAZON_ISSUED" or (
                ctype == "PRIVATE" and cert.get("RenewalEligibility") == "ELIGIBLE")
            domains = list(dict.fromkeys([d for d in [cert.get("DomainName"), *(
                cert.get("SubjectAlternativeNames") or cert.get(
                    "SubjectAlternativeNameSummaries") or [])] if d]))
            self.add(Kind.CERTIFICATE, arn, "acm_certificate", cert, {
                "managed_renewal": bool(managed), "not_after": iso(cert.get("NotAfter")),
                "domains": domains}, region, str(cert.get("DomainName") or arn))
        for _, cert in self.regional("iam.list_server_certificates"):
            self.add(Kind.CERTIFICATE, str(cert["Arn"]), "iam_server_certificate", cert, {
                "managed_renewal": False, "not_after": iso(cert.get("Expiration")),
                "domains": []}, None, str(cert.get("ServerCertificateName")))

    def keys(self) -> None:
        described = {}
        for _, env in self.regional("kms.describe_key"):
            meta = (env.get("response") or {}).get("KeyMetadata")
            if meta:
                described[str(meta.get("KeyId"))] = meta
        rotation = {}
        for _, env in self.regional("kms.get_key_rotation_status"):
            if "response" in env:
                rotation[str((env.get("request") or {}).get("KeyId"))] = env["response"].get(
                    "KeyRotationEnabled")
        aliases: dict[str, list[str]] = defaultdict(list)
        for _, a in self.regional("kms.list_aliases"):
            if a.get("TargetKeyId"):
                aliases[str(a["TargetKeyId"])].append(str(a.get("AliasName")))
        for region, key in self.regional("kms.list_keys"):
            kid = str(key["KeyId"])
            meta = described.get(kid, {})
            arn = str(key.get("KeyArn") or meta.get("Arn") or self.arn("kms", region,
                                                                      f"key/{kid}"))
            props: dict[str, Any] = {}
            if meta:
                props["customer_managed"] = meta.get("KeyManager") == "CUSTOMER"
                symmetric = meta.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
                if meta.get("KeyManager") == "AWS":
                    props["rotation_enabled"] = True  # AWS rotates AWS-managed keys yearly
                elif kid in rotation:
                    props["rotation_enabled"] = bool(rotation[kid])
                elif not symmetric or meta.get("Origin", "AWS_KMS") != "AWS_KMS":
                    props["rotation_enabled"] = False  # automatic rotation is not available
            names = sorted(aliases.get(kid, []))
            self.add(Kind.KEY, arn, "kms_key", {**key, **meta}, props, region,
                     names[0] if names else kid)

    def trails(self) -> None:
        status = {}
        for _, env in self.regional("cloudtrail.get_trail_status"):
            if "response" in env:
                status[str((env.get("request") or {}).get("Name"))] = env["response"]
        for region, t in self.regional("cloudtrail.describe_trails"):
            arn = str(t.get("TrailARN") or self.arn("cloudtrail", region, f"trail/{t['Name']}"))
            st = status.get(arn) or status.get(str(t.get("Name")))
            self.add(Kind.LOG_TRAIL, arn, "cloudtrail_trail", t, {
                "multi_region": bool(t.get("IsMultiRegionTrail")),
                "logging_enabled": bool(st.get("IsLogging")) if st else None,
                "integrity_validation": bool(t.get("LogFileValidationEnabled")),
                "retention_days": self.trail_retention(t),
            }, t.get("HomeRegion") or region, str(t.get("Name")))

    def trail_retention(self, trail: Mapping[str, Any]) -> int | None:
        """How long a trail's logs are kept (0: forever; None: unknown). A trail always
        writes to its S3 bucket and may also deliver to a CloudWatch Logs group: the logs
        are kept as long as the longest-lived of these copies.
        - S3: objects under the trail's prefix expire after the fewest `Expiration.Days` of
          the enabled lifecycle rules that can apply to them; no such rule (or no lifecycle
          configuration at all) keeps them forever. A bucket this account does not list
          (e.g. an organization's central log bucket), or a rule expiring on a fixed date:
          unknown.
        - CloudWatch Logs: the group's `retentionInDays`; none set is "never expire"."""
        kept: list[int | None] = [self._bucket_retention(trail)]
        group_arn = str(trail.get("CloudWatchLogsLogGroupArn") or "")
        if group_arn:
            kept.append(self._log_group_retention(group_arn))
        if 0 in kept:
            return 0
        if None in kept:
            return None
        return max(k for k in kept if k is not None)

    def _bucket_retention(self, trail: Mapping[str, Any]) -> int | None:
        bucket = str(trail.get("S3BucketName") or "")
        envs = [e for _, e in self.regional("s3.get_bucket_lifecycle_configuration")
                if (e.get("request") or {}).get("Bucket") == bucket]
        if not bucket or not envs:
            return None
        env = envs[0]
        if "error" in env:  # NoSuchLifecycleConfiguration: nothing ever expires
            return 0
        prefix = str(trail.get("S3KeyPrefix") or "").strip("/")
        logs = f"{prefix}/AWSLogs/" if prefix else "AWSLogs/"
        days: list[int] = []
        for rule in (env.get("response") or {}).get("Rules") or []:
            if str(rule.get("Status")) != "Enabled":
                continue
            flt = rule.get("Filter") or {}
            rule_prefix = str(flt.get("Prefix") or (flt.get("And") or {}).get("Prefix")
                              or rule.get("Prefix") or "")
            if not (logs.startswith(rule_prefix) or rule_prefix.startswith(logs)):
                continue  # the rule applies to other objects of the bucket
            expiration = rule.get("Expiration") or {}
            if expiration.get("Date"):
                return None
            if expiration.get("Days") is not None:
                days.append(int(expiration["Days"]))
        return min(days) if days else 0

    def _log_group_retention(self, group_arn: str) -> int | None:
        wanted = group_arn.removesuffix(":*")
        for _, group in self.regional("logs.describe_log_groups"):
            if str(group.get("arn") or "").removesuffix(":*") == wanted:
                days = group.get("retentionInDays")
                return int(days) if days is not None else 0
        return None

    def tags_of(self, name: str, key: str) -> dict[str, dict[str, str]]:
        """Tags by resource ARN from a per-resource `list_tags` envelope ({"Tags": {k: v}})."""
        out: dict[str, dict[str, str]] = {}
        for _, env in self.regional(name):
            arn = str((env.get("request") or {}).get(key))
            out[arn] = {str(k): str(v) for k, v in
                        ((env.get("response") or {}).get("Tags") or {}).items()}
        return out

    def vaults(self) -> None:
        vault_tags = self.tags_of("backup.list_tags", "ResourceArn")
        for region, v in self.regional("backup.list_backup_vaults"):
            arn = str(v.get("BackupVaultArn") or self.arn(
                "backup", region, f"backup-vault:{v.get('BackupVaultName')}"))
            copies = sorted(self.vault_copies.get((region, str(v.get("BackupVaultName"))), set()))
            self.add(Kind.BACKUP_VAULT, arn, "backup_vault", v, {
                "encrypted": True, "encryption_evidence": "config",
                "replica_regions": copies,
                "backup_redundancy": "geo" if any(c != region for c in copies) else "zone",
            }, region, str(v.get("BackupVaultName")), vault_tags.get(arn))

    def functions(self) -> None:
        function_tags = self.tags_of("lambda.list_tags", "Resource")
        for region, fn in self.regional("lambda.list_functions"):
            arn = str(fn.get("FunctionArn"))
            self.add(Kind.APP_SERVICE, arn, "lambda_function", fn, {
                "plaintext_secrets": list(fn.get(FLAGGED) or []),
            }, region, str(fn.get("FunctionName")), function_tags.get(arn))

    def inference(self) -> None:
        for region, p in self.regional("bedrock.list_inference_profiles"):
            scope, zone = inference_scope(p)
            self.add(Kind.MODEL_DEPLOYMENT, str(p.get("inferenceProfileArn")),
                     "bedrock_inference_profile", p,
                     {"processing_scope": scope, "data_zone": zone}, region,
                     str(p.get("inferenceProfileName") or p.get("inferenceProfileId")))

    # --- account and identities --------------------------------------------------------

    def account_resource(self) -> None:
        props: dict[str, Any] = {}
        # The regions scanned (every enabled region unless --regions narrowed it): what
        # threat detection and the like are judged against.
        props["regions"] = sorted(self.s.locations)
        if "guardduty.list_detectors" in self.attempted:
            failed = any(e["collection"].startswith("guardduty.") for e in self.s.errors)
            on = sorted({r for r, env in self.regional("guardduty.get_detector")
                         if (env.get("response") or {}).get("Status") == "ENABLED"})
            props["threat_detection_regions"] = None if failed else on
        self.add(Kind.ACCOUNT, f"aws:{self.account}", "account", {"AccountId": self.account},
                 props, None, self.account)

    def identities(self) -> None:
        summary = next((s for _, s in self.regional("iam.get_account_summary")), None)
        if summary is not None:
            sm = summary.get("SummaryMap") or summary
            self.add(Kind.IDENTITY, f"arn:aws:iam::{self.account}:root", "root", summary, {
                "principal_type": "root", "console_access": True,
                "mfa": bool(sm.get("AccountMFAEnabled")),
            }, None, "root")
        details = [d for _, d in self.regional("iam.get_account_authorization_details")]
        if not details:
            return
        local: dict[str, Any] = {}
        for d in details:
            for p in d.get("Policies") or []:
                doc = next((v.get("Document") for v in p.get("PolicyVersionList") or []
                            if v.get("IsDefaultVersion")), None)
                local[str(p.get("Arn"))] = doc
        aws_docs: dict[str, Any] = {}
        for _, env in self.regional("iam.get_policy_version"):
            if "response" in env:
                aws_docs[str((env.get("request") or {}).get("PolicyArn"))] = (
                    env["response"].get("PolicyVersion") or {}).get("Document")
        docs_failed = not self.read_ok("iam.get_policy_version", GLOBAL)

        def managed_admin(arns: Iterable[str]) -> bool | None:
            unknown = False
            for arn in arns:
                if ADMIN_POLICY.match(arn):
                    return True
                doc = local.get(arn, aws_docs.get(arn))
                if doc is None:
                    unknown = unknown or (arn not in local and (
                        docs_failed or ":iam::aws:policy/" not in arn))
                    continue
                if grants_admin(doc):
                    return True
            return None if unknown else False

        groups: dict[str, dict[str, Any]] = {}
        for d in details:
            for g in d.get("GroupDetailList") or []:
                groups[str(g.get("GroupName"))] = g
        group_admin: dict[str, bool | None] = {}
        for name, g in groups.items():
            inline = any(grants_admin(p.get("PolicyDocument")) for p in
                         g.get("GroupPolicyList") or [])
            attached = managed_admin(str(p.get("PolicyArn")) for p in
                                     g.get("AttachedManagedPolicies") or [])
            group_admin[name] = True if inline or attached else attached
        per_user = self._user_calls()
        for d in details:
            for u in d.get("UserDetailList") or []:
                self.user(u, group_admin, managed_admin, per_user)
            for r in d.get("RoleDetailList") or []:
                inline = any(grants_admin(p.get("PolicyDocument"))
                             for p in r.get("RolePolicyList") or [])
                attached = managed_admin(str(p.get("PolicyArn"))
                                         for p in r.get("AttachedManagedPolicies") or [])
                self.add(Kind.IDENTITY, str(r["Arn"]), "iam_role", r, {
                    "principal_type": "role",
                    "admin_grant": True if inline or attached else attached,
                }, None, str(r.get("RoleName")), tags(r))

    def _user_calls(self) -> dict[str, dict[str, Any]]:
        per: dict[str, dict[str, Any]] = defaultdict(dict)
        for name in ("iam.get_login_profile", "iam.list_mfa_devices", "iam.list_access_keys"):
            for _, env in self.regional(name):
                per[str((env.get("request") or {}).get("UserName"))][name] = env
        last_used: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _, env in self.regional("iam.get_access_key_last_used"):
            resp = env.get("response") or {}
            last_used[str(resp.get("UserName"))].append(resp.get("AccessKeyLastUsed") or {})
        for user, used in last_used.items():
            per[user]["last_used"] = used
        return per

    def user(self, u: Mapping[str, Any], group_admin: Mapping[str, bool | None],
             managed_admin: Any, per_user: Mapping[str, dict[str, Any]]) -> None:
        name = str(u.get("UserName"))
        calls = per_user.get(name, {})
        inline = any(grants_admin(p.get("PolicyDocument")) for p in u.get("UserPolicyList") or [])
        attached = managed_admin(str(p.get("PolicyArn"))
                                 for p in u.get("AttachedManagedPolicies") or [])
        via_groups = [group_admin.get(str(g)) for g in u.get("GroupList") or []]
        if inline or attached or True in via_groups:
            admin: bool | None = True
        elif attached is None or None in via_groups:
            admin = None
        else:
            admin = False
        props: dict[str, Any] = {"principal_type": "user", "admin_grant": admin}
        if "iam.get_login_profile" in calls:
            props["console_access"] = "response" in calls["iam.get_login_profile"]
        elif "iam.get_login_profile" in self.attempted:
            props["console_access"] = None
        if "iam.list_mfa_devices" in calls:
            props["mfa"] = bool((calls["iam.list_mfa_devices"].get("response") or {}).get(
                "MFADevices"))
        elif "iam.list_mfa_devices" in self.attempted:
            props["mfa"] = None
        if "iam.list_access_keys" in calls:
            keys = (calls["iam.list_access_keys"].get("response") or {}).get(
                "AccessKeyMetadata") or []
            used = calls.get("last_used", [])
            creds = []
            for i, key in enumerate(keys):
                if key.get("Status") != "Active":
                    continue
                created = parse_time(key.get("CreateDate"))
                last = parse_time((used[i] if i < len(used) else {}).get("LastUsedDate"))
                creds.append({
                    "id": f"access key {i + 1} of {name}"
                          + (f" (created {created.date()})" if created else ""),
                    "age_days": (self.collected_at - created).days if created else None,
                    "last_used_days": (self.collected_at - last).days if last else None,
                })
            props["credentials"] = creds
        self.add(Kind.IDENTITY, str(u["Arn"]), "iam_user", u, props, None, name, tags(u))


def _selected(selection: Mapping[str, Any], arn: str, labels: Mapping[str, str]) -> bool:
    resources = [str(r) for r in selection.get("Resources") or []]
    if any(fnmatch.fnmatchcase(arn, p) for p in selection.get("NotResources") or []):
        return False
    by_arn = any(fnmatch.fnmatchcase(arn, p) for p in resources)
    by_tag = any(str(t.get("ConditionType", "STRINGEQUALS")).upper() == "STRINGEQUALS"
                 and labels.get(str(t.get("ConditionKey"))) == str(t.get("ConditionValue"))
                 for t in selection.get("ListOfTags") or [])
    if not (by_arn or by_tag):
        return False
    cond = selection.get("Conditions") or {}

    def value(c: Mapping[str, Any]) -> str | None:
        key = str(c.get("ConditionKey", "")).removeprefix("aws:ResourceTag/")
        return labels.get(key)

    return (all(value(c) == c.get("ConditionValue") for c in cond.get("StringEquals") or [])
            and all(value(c) != c.get("ConditionValue")
                    for c in cond.get("StringNotEquals") or [])
            and all(fnmatch.fnmatchcase(value(c) or "", str(c.get("ConditionValue")))
                    for c in cond.get("StringLike") or [])
            and all(not fnmatch.fnmatchcase(value(c) or "", str(c.get("ConditionValue")))
                    for c in cond.get("StringNotLike") or []))


def _denies_plain_http(policy: Any) -> bool:
    doc = policy_document(policy)
    if not doc:
        return False
    for st in _listify(doc.get("Statement")):
        if not isinstance(st, Mapping) or st.get("Effect") != "Deny":
            continue
        for op, cond in (st.get("Condition") or {}).items():
            if str(op).lower() != "bool" or not isinstance(cond, Mapping):
                continue
            for key, val in cond.items():
                if str(key).lower() == "aws:securetransport" and str(
                        _listify(val)[0]).lower() == "false":
                    return True
    return False


def normalize(section: Section) -> Inventory:
    b = _Builder(section)
    b.network()
    b.backup_coverage()
    b.account_resource()
    b.firewalls()
    b.networks()
    b.addresses()
    b.instances()
    b.volumes()
    b.databases()
    b.buckets()
    b.load_balancers()
    b.cdn()
    b.certificates()
    b.keys()
    b.trails()
    b.vaults()
    b.functions()
    b.inference()
    b.identities()
    return inventory(PROVIDER, section, b.resources, b.relations)
