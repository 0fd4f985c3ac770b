"""aws resources -> the model, as providers/aws/normalize.py builds it from the APIs.

The region of a resource is its `region` argument (AWS provider 6) or its provider
configuration's (`provider "aws" { alias = "eu" region = ... }`, aliases included).

What a plan cannot show, and how it is read (documented in docs/terraform.md):
- routes and network ACLs are not read from plans: a public address is taken as routed to an
  internet gateway, the exposed assumption (it can only make a verdict stricter);
- an instance without `associate_public_ip_address` gets a public IPv4 address if its subnet
  maps one on launch: known when the subnet is in the plan, otherwise unknown until apply;
- security group rules of groups that are not in the plan, and prefix lists, are unknown;
- defaults where an attribute is absent (AWS provider 5.x and 6.x): aws_db_instance
  `publicly_accessible` false, `storage_encrypted` false; aws_rds_cluster
  `storage_encrypted` false, `backup_retention_period` 1; aws_kms_key
  `enable_key_rotation` false; aws_cloudtrail `enable_logging` true,
  `is_multi_region_trail` false, `enable_log_file_validation` false; aws_lb `internal`
  false, type application; S3 buckets are encrypted with SSE-S3 by default (AWS, since
  2023-01-05) when no encryption configuration is planned.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from providers.aws.normalize.common import (
    CF_TLS,
    DEFAULT_CERT_DOC,
    LISTENER_PROTO,
    LISTENER_TRANSPORT,
    QUIC_TLS,
    TLS,
    listener_transports,
    policy_document,
    replica_redundancy,
)
from providers.aws.normalize.dynamodb import CONTINUOUS_HOURS, PITR_DAYS
from providers.aws.normalize.dynamodb import ENCRYPTION_DOC as DYNAMODB_DOC
from providers.aws.normalize.storage import denies_plain_http
from providers.aws.normalize.trails import ManagementWrites, management_props, management_writes
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
    port_range,
    union_layer,
)
from scanner.model import Kind, RelationType, Unread
from scanner.rules import ALL_PORTS, INTERNET, Action, LayerMode, PortRange, RuleLayer

# aws_cloudtrail advanced_event_selector field_selector attributes -> the API's operators
TF_OPERATORS = (("Equals", "equals"), ("NotEquals", "not_equals"),
                ("StartsWith", "starts_with"), ("NotStartsWith", "not_starts_with"),
                ("EndsWith", "ends_with"), ("NotEndsWith", "not_ends_with"))
CLOUD = "aws"
TYPES = frozenset({
    "aws_db_instance", "aws_rds_cluster", "aws_rds_cluster_instance", "aws_security_group",
    "aws_vpc_security_group_ingress_rule", "aws_security_group_rule", "aws_instance",
    "aws_lb", "aws_alb", "aws_lb_listener", "aws_alb_listener", "aws_lb_target_group",
    "aws_lb_target_group_attachment", "aws_s3_bucket",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_replication_configuration", "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_policy", "aws_ebs_volume", "aws_volume_attachment", "aws_kms_key",
    "aws_kms_alias", "aws_cloudtrail", "aws_vpc", "aws_subnet", "aws_eip",
    "aws_wafv2_web_acl_association", "aws_default_security_group", "aws_network_acl",
    "aws_network_acl_rule", "aws_default_network_acl", "aws_network_interface",
    "aws_ebs_encryption_by_default", "aws_cloudfront_distribution", "aws_elb",
    "aws_neptune_cluster", "aws_neptune_cluster_instance", "aws_docdb_cluster",
    "aws_docdb_cluster_instance", "aws_ebs_snapshot", "aws_db_snapshot",
    "aws_db_cluster_snapshot", "aws_neptune_cluster_snapshot", "aws_autoscaling_group",
    "aws_launch_template", "aws_launch_configuration", "aws_efs_file_system",
    "aws_eip_association", "aws_db_instance_automated_backups_replication",
    "aws_autoscaling_attachment", "aws_acm_certificate", "aws_iam_server_certificate",
    "aws_lb_listener_certificate", "aws_dynamodb_table", "aws_lambda_function",
    "aws_ecs_task_definition",
})
CERT_TYPES = ["aws_acm_certificate", "aws_iam_server_certificate"]
ACM_DOC = ("https://docs.aws.amazon.com/acm/latest/userguide/managed-renewal.html (ACM "
           "renews the certificates it issued; imported certificates are not renewed) and "
           "ACM API Reference, CertificateDetail (Type AMAZON_ISSUED, IMPORTED, PRIVATE; "
           "RenewalEligibility)")
_PROTO = {"-1": "*", "all": "*", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp",
          "icmp": "icmp", "1": "icmp", "icmpv6": "icmp", "58": "icmp"}
# listener protocols as the live reading names them (QUIC is TLS 1.3, TCP_QUIC an opaque
# pass-through), and a Classic ELB's SSL listener; what each carries: LISTENER_TRANSPORT
_LISTENER = {**LISTENER_PROTO, "SSL": "tls"}
DB_PORTS = {"postgres": 5432, "aurora-postgresql": 5432, "mysql": 3306, "mariadb": 3306,
            "aurora-mysql": 3306, "aurora": 3306, "oracle": 1521, "sqlserver": 1433,
            "db2": 50000, "neptune": 8182, "docdb": 27017}


def engine_port(engine: Any) -> int | None:
    """The default port of an RDS engine (any case): its family's for the edition names
    (`oracle-ee`, `sqlserver-ex`, `db2-se`, `custom-oracle-ee`...: RDS API Reference,
    CreateDBInstance `Engine` and `Port` defaults: Oracle 1521, SQL Server 1433, Db2 50000)."""
    name = str(engine or "").strip().lower()
    if name in DB_PORTS:
        return DB_PORTS[name]
    for family in ("oracle", "sqlserver", "db2"):
        if name.startswith((f"{family}-", f"custom-{family}-")):
            return DB_PORTS[family]
    return None


# cluster type -> its instances' type (Neptune and DocumentDB are RDS clusters underneath:
# same arguments, `storage_encrypted` false and `backup_retention_period` 1 by default)
CLUSTERS = {"aws_rds_cluster": "aws_rds_cluster_instance",
            "aws_neptune_cluster": "aws_neptune_cluster_instance",
            "aws_docdb_cluster": "aws_docdb_cluster_instance"}
SNAPSHOTS = {  # snapshot type -> (its source's attribute, source types, source's flag)
    "aws_ebs_snapshot": ("volume_id", ("aws_ebs_volume",), "encrypted"),
    "aws_db_snapshot": ("db_instance_identifier", ("aws_db_instance",), "storage_encrypted"),
    "aws_db_cluster_snapshot": ("db_cluster_identifier", ("aws_rds_cluster",),
                                "storage_encrypted"),
    "aws_neptune_cluster_snapshot": ("db_cluster_identifier", ("aws_neptune_cluster",),
                                     "storage_encrypted"),
}
S3_DEFAULT_DOC = ("https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-encryption-faq"
                  ".html (since 2023-01-05 every bucket encrypts new objects with SSE-S3 by "
                  "default)")
EBS_DEFAULT_DOC = ("https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html "
                   "(a volume without `encrypted` is encrypted only if the account's EBS "
                   "encryption by default is on in its region, which a plan does not show "
                   "unless it manages aws_ebs_encryption_by_default)")
EFS_DOC = ("https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html (Encrypted: "
           "a file system is encrypted at rest only when the request asks for it)")
SG_TYPES = ["aws_security_group", "aws_default_security_group"]
NACL_TYPES = ["aws_network_acl", "aws_default_network_acl"]
DEFAULT_SG_DOC = ("https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html"
                  " (an instance, database or application load balancer launched without a "
                  "security group gets its VPC's default security group)")


def ssl_policy_min_tls(policy: Any) -> str | None:
    """An ELB security policy name -> its lowest TLS version (AWS's predefined policies)."""
    if not isinstance(policy, str) or not policy:
        return None
    m = re.search(r"TLS13-1-(\d)", policy) or re.search(r"TLS-1-(\d)", policy) or \
        re.search(r"FS-1-(\d)", policy)
    if m:
        return f"1.{m.group(1)}"
    if policy in ("ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-2015-05",
                  "ELBSecurityPolicy-FS-2018-06", "ELBSecurityPolicy-TLS13-1-0-2021-06"):
        return TLS["TLSv1"]
    return None



def _transports(li: Entry) -> list[str]:
    """The transport protocols an aws_lb_listener carries (LISTENER_TRANSPORT: UDP and QUIC
    listeners UDP, TCP_UDP and TCP_QUIC both, https://docs.aws.amazon.com/elasticloadbalancing/
    latest/network/load-balancer-listeners.html); TCP for every other, and for a protocol known
    only after apply (the listener's protocol is then judged in both worlds by TLS-02)."""
    return listener_transports(li.v("protocol"))

class _Aws:
    def __init__(self, b: Builder) -> None:
        self.b = b
        self.ix = b.index
        self.extra: dict[str, list[Entry]] = defaultdict(list)  # sg address -> rule resources
        self.egress: dict[str, list[Entry]] = defaultdict(list)  # sg address -> egress rules
        self.loose: list[Entry] = []  # ingress rules of a group not in the plan
        for r in self.ix.of_type("aws_vpc_security_group_ingress_rule", "aws_security_group_rule"):
            egress = r.type == "aws_security_group_rule" and r.v("type") != "ingress" and \
                not r.unknown("type")
            groups = self.ix.targets(r, "security_group_id", SG_TYPES)[0]
            for sg in groups:
                (self.egress if egress else self.extra)[sg.address].append(r)
            if not groups and not egress:
                self.loose.append(r)
        self.subnet_public: dict[str, tuple[bool, bool]] = {}
        # region -> the planned `aws_ebs_encryption_by_default` (None: unknown)
        self.ebs_default: dict[str, bool | None] = {}
        for d in self.ix.of_type("aws_ebs_encryption_by_default"):
            self.ebs_default[self.region(d) or ""] = None if d.unknown("enabled") else bool(
                d.v("enabled", default=True))
        self._layers: dict[tuple[tuple[str, ...], bool], tuple[RuleLayer, RuleLayer]] = {}
        self.certs_unknown = ""  # why a planned certificate may be presented unseen
        self._public: dict[str, bool] = {}  # load balancer id -> public in some world
        self.sni: dict[str, list[Entry]] = defaultdict(list)  # listener -> its certificates
        self.rules: dict[str, list[Entry]] = defaultdict(list)  # listener -> its rules

    def rid(self, e: Entry, suffix: str = "") -> str:
        return self.b.rid(CLOUD, e, suffix)

    # --- security groups ----------------------------------------------------------------

    def drafts(self, sg: Entry) -> list[Draft]:
        origin = self.rid(sg)
        out: list[Draft] = []
        inline = sg.v("ingress") or []
        if sg.rules_unknown("ingress", bool(self.extra.get(sg.address))):
            out.append(Draft(Action.ALLOW, None, None, None, 0, f"{origin}#ingress"))
        for i, rule in enumerate(inline if isinstance(inline, list) else []):
            if not isinstance(rule, dict):
                if sg.wholly_unknown("ingress", i):  # one rule known only after apply
                    out.append(Draft(Action.ALLOW, None, None, None, 0, f"{origin}#{i}"))
                continue
            out.extend(self._perm(sg, ("ingress", i), rule, f"{origin}#{i}",
                                  cidr_keys=("cidr_blocks", "ipv6_cidr_blocks"),
                                  proto_key="protocol", prefix_key="prefix_list_ids"))
        for r in self.extra.get(sg.address, []):
            out.extend(self.drafts_of(r))
        return out

    def drafts_of(self, r: Entry) -> list[Draft]:
        """The drafts of one separate ingress rule resource."""
        if r.type == "aws_vpc_security_group_ingress_rule":
            return self._perm(r, (), r.values, self.rid(r),
                              cidr_keys=("cidr_ipv4", "cidr_ipv6"),
                              proto_key="ip_protocol", prefix_key="prefix_list_id")
        return self._perm(r, (), r.values, self.rid(r),
                          cidr_keys=("cidr_blocks", "ipv6_cidr_blocks"),
                          proto_key="protocol", prefix_key="prefix_list_ids")

    def _perm(self, e: Entry, path: tuple[Any, ...], rule: Mapping[str, Any], origin: str,
              cidr_keys: tuple[str, str], proto_key: str, prefix_key: str) -> list[Draft]:
        protocol = None if e.unknown(*path, proto_key) else _PROTO.get(
            str(rule.get(proto_key)).lower(), "other")
        ports: PortRange | None = port_range(rule.get("from_port"), rule.get("to_port"))
        if protocol == "*" or (protocol not in ("tcp", "udp", None)):
            ports = PortRange(0, 65535)
        elif e.unknown(*path, "from_port") or e.unknown(*path, "to_port"):
            ports = None
        sources: list[str] = []
        unknown_source = False
        for key in cidr_keys:
            value = rule.get(key)
            if e.unknown(*path, key):
                unknown_source = True
            for c in value if isinstance(value, list) else ([value] if value else []):
                if c is not None:
                    sources.append(str(c))
        if rule.get(prefix_key) or e.unknown(*path, prefix_key):
            unknown_source = True  # prefix list entries are not in the plan
        out = []
        if sources:
            out.append(Draft(Action.ALLOW, protocol, ports, tuple(sources), 0, origin))
        if unknown_source:
            out.append(Draft(Action.ALLOW, protocol, ports, None, 0, f"{origin}/unknown"))
        # security group references admit the groups' members: private addresses, never
        # the internet (as the live normalizer reads them)
        return out

    def sg_layers(self, e: Entry, attrs: tuple[str, ...]) -> tuple[RuleLayer, RuleLayer,
                                                                   list[Entry]]:
        """The security-group layer of an instance, database or load balancer: the groups
        its arguments name (known ids, else the configuration's references), its network
        interfaces' groups, or, when it names none, its VPC's default group."""
        groups: list[Entry] = []
        unsure = False
        named = False
        for attr in attrs:
            if e.computed(attr) or not (e.v(attr) or e.unknown(attr) or e.refs(attr)):
                continue  # not set: the provider echoes what the other arguments decide
            named = True
            if attr == "security_groups" and e.type == "aws_instance":
                found, missing = self.ix.targets(e, attr, SG_TYPES, id_attr="name")
            else:
                found, missing = self.ix.targets(e, attr, SG_TYPES)
            groups.extend(g for g in found if g not in groups)
            unsure = unsure or missing
        if e.type == "aws_instance":
            for i, _ in enumerate(e.v("network_interface") or []):
                named = True
                enis, missing = self.ix.targets(e, ("network_interface", i,
                                                    "network_interface_id"),
                                                ["aws_network_interface"])
                unsure = unsure or missing or not enis
                for eni in enis:
                    found, missing = self.ix.targets(eni, "security_groups", SG_TYPES)
                    groups.extend(g for g in found if g not in groups)
                    unsure = unsure or missing or not (found or eni.v("security_groups"))
            if not e.v("network_interface") and e.unknown("network_interface") and \
                    not e.computed("network_interface"):
                named, unsure = True, True
        if e.type == "aws_launch_template":
            for i, nic in enumerate(e.v("network_interfaces") or []):
                if not isinstance(nic, Mapping) or not (nic.get("security_groups") or e.unknown(
                        "network_interfaces", i, "security_groups")):
                    continue
                named = True
                found, missing = self.ix.targets(e, ("network_interfaces", i, "security_groups"),
                                                 SG_TYPES)
                groups.extend(g for g in found if g not in groups)
                unsure = unsure or missing
        default_sg = None
        if not named and not unsure:
            default_sg = self.default_group(e)
            if default_sg is None:
                unsure = True
            else:
                groups.append(default_sg)
        key = (tuple(sorted(g.address for g in groups)), unsure)
        if key not in self._layers:
            drafts = [d for g in sorted(groups, key=lambda g: g.address)
                      for d in self.drafts(g)]
            if unsure:
                what = "security-group-not-in-plan" if named else "vpc-default-security-group"
                drafts.append(Draft(Action.ALLOW, None, None, None, 0,
                                    f"{self.rid(e)}#{what}"))
            self._layers[key] = union_layer("security groups", drafts,
                                            tuple(self.rid(g) for g in groups))
        most, least = self._layers[key]
        deps = [*groups, *(r for g in groups for r in self.extra.get(g.address, []))]
        for g in groups:
            self.b.relate(self.rid(e), self.rid(g), RelationType.PROTECTED_BY,
                          layer="security groups")
        return most, least, deps

    def vpc_of(self, e: Entry) -> list[Entry]:
        """The planned VPC of an instance (its subnet's), a database (its subnet group's
        subnets') or a load balancer (its subnets'), when the plan says."""
        subnets = self.ix.targets(e, "subnet_id", ["aws_subnet"])[0] + \
            self.ix.targets(e, "subnets", ["aws_subnet"])[0]
        vpcs: list[Entry] = []
        for sn in subnets:
            for vpc in self.ix.targets(sn, "vpc_id", ["aws_vpc"])[0]:
                if vpc not in vpcs:
                    vpcs.append(vpc)
        return vpcs

    def default_group(self, e: Entry) -> Entry | None:
        """The planned `aws_default_security_group` of e's VPC (DEFAULT_SG_DOC), if the plan
        manages it; None: its rules are not in the plan (unknown)."""
        vpcs = self.vpc_of(e)
        if len(vpcs) != 1:
            return None
        for g in self.ix.of_type("aws_default_security_group"):
            if vpcs[0] in self.ix.targets(g, "vpc_id", ["aws_vpc"])[0]:
                return g
        return None

    def firewalls(self) -> None:
        for sg in self.ix.of_type(*SG_TYPES):
            self.b.add(sg, Kind.FIREWALL, CLOUD, firewall_world(self.drafts(sg)),
                       name=sg.name(sg.v("name"), self.labels(sg).get("Name")),
                       region=self.region(sg), labels=self.labels(sg),
                       deps=[*self.extra.get(sg.address, []), *self.egress.get(sg.address, [])])
        for r in self.loose:
            # A rule added to a group the plan does not hold (an existing group named by its
            # id): judged as a firewall of its own, so that what it admits is a finding
            # (NET-07) rather than nothing; the machines in that group are judged live.
            group = r.v("security_group_id")
            self.b.add(r, Kind.FIREWALL, CLOUD, firewall_world(self.drafts_of(r)),
                       name=f"{r.address} (rule of {group or 'a security group'} not in the plan)",
                       region=self.region(r), labels=self.labels(r))
        acl_rules: dict[str, list[Entry]] = defaultdict(list)
        acl_egress: dict[str, list[Entry]] = defaultdict(list)
        for r in self.ix.of_type("aws_network_acl_rule"):
            egress = bool(r.v("egress")) and not r.unknown("egress")
            for acl in self.ix.targets(r, "network_acl_id", NACL_TYPES)[0]:
                (acl_egress if egress else acl_rules)[acl.address].append(r)
        for acl in self.ix.of_type(*NACL_TYPES):
            origin = self.rid(acl)
            drafts: list[Draft] = []
            if acl.rules_unknown("ingress", bool(acl_rules.get(acl.address))):
                drafts.append(Draft(Action.ALLOW, None, None, None, None, f"{origin}#ingress"))
            own = acl_rules.get(acl.address, [])
            # `ingress` is Optional and Computed: refreshed, it lists the entries separate
            # aws_network_acl_rule resources wrote, as they were before the plan. The
            # separate rule of the same number wins (a number is unique per direction in an
            # ACL); while the plan deletes one (its values not kept), any other refreshed
            # entry may be about to go: read as unknown, an allow in the most exposed world
            # and a deny in the least (registry.terraform.io/providers/hashicorp/aws/latest/
            # docs/resources/network_acl: "Terraform currently provides both a standalone
            # Network ACL Rule resource and a Network ACL resource with rules defined
            # in-line. At this time you cannot use a Network ACL with in-line rules in
            # conjunction with any Network ACL Rule resources")
            numbers = {str(r.v("rule_number")) for r in own if not r.unknown("rule_number")}
            doubt = "aws_network_acl_rule" in self.b.deleted_types and bool(acl.expr) and \
                "ingress" not in acl.expr
            for i, rule in enumerate(acl.v("ingress") or []):
                if isinstance(rule, dict) and str(rule.get("rule_no")) in numbers:
                    continue
                if isinstance(rule, dict):
                    entry = self._acl_rule(acl, ("ingress", i), rule, f"{origin}#{i}",
                                           "action", "rule_no")
                    drafts.extend(replace(d, priority=None) if doubt else d for d in entry)
                elif acl.wholly_unknown("ingress", i):  # an entry known only after apply
                    drafts.extend(self._acl_rule(acl, ("ingress", i), {}, f"{origin}#{i}",
                                                 "action", "rule_no"))
            for r in own:
                drafts.extend(self._acl_rule(r, (), r.values, self.rid(r), "rule_action",
                                             "rule_number"))
            # every network ACL ends in rule `*`: deny everything not allowed before it
            drafts.append(Draft(Action.DENY, "*", ALL_PORTS, ("0.0.0.0/0", "::/0"), 32767,
                                f"{origin}#*"))
            self.b.add(acl, Kind.FIREWALL, CLOUD, firewall_world(drafts, ordered=True),
                       name=self.labels(acl).get("Name") or acl.address,
                       region=self.region(acl), labels=self.labels(acl),
                       deps=[*own, *acl_egress.get(acl.address, [])])

    def _acl_rule(self, e: Entry, path: tuple[Any, ...], rule: Mapping[str, Any], origin: str,
                  action_key: str, number_key: str) -> list[Draft]:
        """A network ACL entry (stateless, first match by rule number wins)."""
        action: Action | None = None
        if not e.unknown(*path, action_key):
            action = Action.DENY if str(rule.get(action_key)).lower() == "deny" else Action.ALLOW
        protocol = None if e.unknown(*path, "protocol") else _PROTO.get(
            str(rule.get("protocol")).lower(), "other")
        ports: PortRange | None = port_range(rule.get("from_port"), rule.get("to_port"))
        if protocol == "*" or protocol not in ("tcp", "udp", None):
            ports = PortRange(0, 65535)
        elif e.unknown(*path, "from_port") or e.unknown(*path, "to_port"):
            ports = None
        sources: tuple[str, ...] | None = tuple(
            str(rule[k]) for k in ("cidr_block", "ipv6_cidr_block") if rule.get(k))
        if e.unknown(*path, "cidr_block") or e.unknown(*path, "ipv6_cidr_block"):
            sources = None
        number = rule.get(number_key)
        priority = None if e.unknown(*path, number_key) or number is None else int(number)
        if action is None:  # unknown: allows first in the open world, denies first in the
            return [Draft(Action.ALLOW, protocol, ports, sources, None, origin),  # closed one
                    Draft(Action.DENY, protocol, ports, sources, None, origin)]
        return [Draft(action, protocol, ports, sources, priority, origin)]

    # --- helpers ------------------------------------------------------------------------

    def region(self, e: Entry) -> str | None:
        own = e.v("region")
        if own and not e.unknown("region"):
            return str(own)
        if e.unknown("region") and "region" in e.expr:
            # AWS provider 6: `region` set to a value known only after apply overrides the
            # provider configuration's (registry.terraform.io/providers/hashicorp/aws/latest/
            # docs/guides/enhanced-region-support): where is not known, never the provider's
            return None
        return e.region

    def labels(self, e: Entry) -> dict[str, str]:
        return labels_of(e, "tags" if e.unknown("tags_all") else "tags_all", "tags")

    # --- networks -----------------------------------------------------------------------

    def networks(self) -> None:
        for vpc in self.ix.of_type("aws_vpc"):
            self.b.add(vpc, Kind.NETWORK, CLOUD, {"cidr": vpc.v("cidr_block")},
                       name=self.labels(vpc).get("Name") or vpc.address, region=self.region(vpc),
                       labels=self.labels(vpc))
        for sn in self.ix.of_type("aws_subnet"):
            sid = self.b.add(sn, Kind.SUBNET, CLOUD, {
                "cidr": sn.v("cidr_block"), "network_zone": sn.v("availability_zone")},
                name=self.labels(sn).get("Name") or sn.address, region=self.region(sn),
                labels=self.labels(sn))
            for vpc in self.ix.targets(sn, "vpc_id", ["aws_vpc"])[0]:
                self.b.relate(sid, self.rid(vpc), RelationType.MEMBER_OF)
            self.subnet_public[sn.address] = (bool(sn.v("map_public_ip_on_launch",
                                                        default=False)),
                                              sn.unknown("map_public_ip_on_launch"))

    # --- compute ------------------------------------------------------------------------

    def instances(self) -> None:
        eips: dict[str, list[Entry]] = defaultdict(list)
        for eip in self.ix.of_type("aws_eip"):
            for inst in self.ix.targets(eip, "instance", ["aws_instance"])[0]:
                eips[inst.address].append(eip)
        # aws_eip_association (`instance_id` with `allocation_id` or `public_ip`) gives the
        # instance the elastic IP as well (AWS provider docs, aws_eip_association); an
        # association whose address is not in the plan still gives it a public address
        assoc: dict[str, list[Entry]] = defaultdict(list)
        for a in self.ix.of_type("aws_eip_association"):
            for inst in self.ix.targets(a, "instance_id", ["aws_instance"])[0]:
                assoc[inst.address].append(a)
        attached: dict[str, list[Entry]] = defaultdict(list)
        for att in self.ix.of_type("aws_volume_attachment"):
            for inst in self.ix.targets(att, "instance_id", ["aws_instance"])[0]:
                attached[inst.address].append(att)
        for inst in self.ix.of_type("aws_instance"):
            rid = self.rid(inst)
            world = World()
            most, least, deps = self.sg_layers(inst, ("vpc_security_group_ids",
                                                      "security_groups"))
            world.set("ingress", (most,), (least,))
            public, unsure, subnet_deps = self.public_v4(inst)
            text = str(inst.v("public_ip")) if inst.v("public_ip") and not inst.unknown(
                "public_ip") else UNKNOWN_IP.format(what=f"public IPv4 of {inst.address}")
            extra = [str(e.v("public_ip")) if e.v("public_ip") and not e.unknown("public_ip")
                     else UNKNOWN_IP.format(what=f"elastic IP {e.address}")
                     for e in eips.get(inst.address, [])]
            for a in assoc.get(inst.address, []):
                found = self.ix.targets(a, "allocation_id", ["aws_eip"])[0]
                eip = found[0] if found else a
                addr = eip.v("public_ip")
                text_a = str(addr) if addr and not eip.unknown("public_ip") else \
                    UNKNOWN_IP.format(what=f"elastic IP of {a.address}")
                if text_a not in extra:
                    extra.append(text_a)
            v6_most, v6_least = self.public_v6(inst)
            most_ips = ([text] if public or unsure else []) + extra + v6_most
            least_ips = ([text] if public and not unsure else []) + extra + v6_least
            world.set("public_ips", most_ips, least_ips)
            private = inst.v("private_ip")
            world.props["private_ips"] = [str(private)] if private and not inst.unknown(
                "private_ip") else []
            windows = str(inst.v("platform") or "").lower() == "windows"
            key_set = bool(inst.v("key_name")) or bool(inst.refs("key_name")) or (
                inst.unknown("key_name") and inst.configured("key_name") and bool(inst.expr))
            world.props["ssh_key_only"] = None if windows else key_set
            world.props["image"] = None if inst.unknown("ami") else inst.v("ami")
            ebs = [d for d in inst.v("ebs_block_device") or [] if isinstance(d, dict)]
            world.props["stateful"] = bool(ebs) or bool(attached.get(inst.address))
            secrets.judge(self.b, rid, world, [inst])
            self.b.add(inst, Kind.COMPUTE, CLOUD, world,
                       name=self.labels(inst).get("Name") or inst.address,
                       region=self.region(inst), labels=self.labels(inst),
                       deps=[*deps, *subnet_deps, *eips.get(inst.address, []),
                             *assoc.get(inst.address, []),
                             *(e for a in assoc.get(inst.address, [])
                               for e in self.ix.targets(a, "allocation_id", ["aws_eip"])[0]),
                             *attached.get(inst.address, [])])
            for sn in self.ix.targets(inst, "subnet_id", ["aws_subnet"])[0]:
                self.b.relate(rid, self.rid(sn), RelationType.ATTACHED_TO)
            # Every EBS-backed instance has a root volume, planned or not: without a
            # `root_block_device` block it is made from the AMI's snapshot, unencrypted
            # unless the account's EBS encryption by default is on (EBS_DEFAULT_DOC).
            roots = [d for d in inst.v("root_block_device") or [] if isinstance(d, dict)]
            for block, devices in (("root_block_device", roots or [{}]),
                                   ("ebs_block_device", ebs)):
                for i, dev in enumerate(devices):
                    if not isinstance(dev, dict):
                        continue
                    enc = dev.get("encrypted")
                    unknown = enc is None or inst.unknown(block, i, "encrypted")
                    vprops: dict[str, Any] = {
                        "encrypted": None if unknown else bool(enc),
                        "encryption_evidence": "config",
                        "size_gb": dev.get("volume_size"),
                    }
                    default = self.ebs_default.get(self.region(inst) or "")
                    if default is not None and (unknown or not enc):
                        vprops["encrypted"] = default  # the account setting decides
                        vprops["encryption_reference"] = EBS_DEFAULT_DOC
                    elif unknown:
                        vprops["encryption_reference"] = EBS_DEFAULT_DOC
                    vid = self.b.add(
                        inst, Kind.VOLUME, CLOUD, vprops,
                        name=f"{self.labels(inst).get('Name') or inst.address}:"
                             f"{dev.get('device_name') or block}",
                        region=self.region(inst), labels=self.labels(inst),
                        suffix=f"/{block}/{i}")
                    self.b.relate(vid, rid, RelationType.ATTACHED_TO)

    def app_configurations(self) -> None:
        """Lambda functions and ECS task definitions: app services whose configuration SEC-01
        reads (the function's environment variables, the containers' environments), as the
        live reading makes them (providers/aws/normalize/compute.py)."""
        for e in self.ix.of_type("aws_lambda_function", "aws_ecs_task_definition"):
            world = World()
            secrets.judge(self.b, self.rid(e), world, [e])
            name = e.v("function_name") if e.type == "aws_lambda_function" else e.v("family")
            self.b.add(e, Kind.APP_SERVICE, CLOUD, world, name=e.name(name),
                       region=self.region(e), labels=self.labels(e))

    def scaling_groups(self) -> None:
        """aws_autoscaling_group: one compute resource for the instances it launches, read
        from its launch template (`launch_template`, or the mixed instances policy's) or
        launch configuration: security groups (the template's, its network interfaces',
        else the VPC's default group), a public IPv4 address (`associate_public_ip_address`,
        else the subnets of `vpc_zone_identifier` that map one on launch), key pair, image,
        and one volume per block device mapping (unencrypted unless the account's EBS
        default says otherwise, as for an instance's root volume)."""
        for asg in self.ix.of_type("aws_autoscaling_group"):
            paths: list[tuple[Any, ...]] = [("launch_template", 0, "id"),
                                            ("launch_template", 0, "name")]
            paths += [("mixed_instances_policy", 0, "launch_template", 0,
                       "launch_template_specification", 0, key)
                      for key in ("launch_template_id", "launch_template_name")]
            found: list[Entry] = []
            unsure_source = False
            for path in paths:
                hits, missing = self.ix.targets(asg, path, ["aws_launch_template"],
                                                id_attr="name" if path[-1].endswith("name")
                                                else "id")
                found.extend(h for h in hits if h not in found)
                unsure_source = unsure_source or missing
            found += [lc for lc in self.ix.targets(asg, "launch_configuration",
                                                   ["aws_launch_configuration"],
                                                   id_attr="name")[0] if lc not in found]
            world = World()
            if not found:  # the template is outside the plan: nothing known of the instances
                world.set("ingress", (RuleLayer("launch template not in the plan",
                                                LayerMode.UNION, (), Action.ALLOW,
                                                present=False),), ())
                world.set("public_ips", [UNKNOWN_IP.format(what=f"instances of {asg.address}")],
                          [])
                world.props.update({"private_ips": [], "ssh_key_only": None, "image": None,
                                    "stateful": False, "plaintext_secrets": []})
                self.b.mark(self.rid(asg), ("plaintext_secrets",), Unread(
                    f"{asg.address}: its launch template is not in the plan (the instances' "
                    "user data is judged live)", "dangling", opens=True, closes=False))
                self.b.add(asg, Kind.COMPUTE, CLOUD, world, name=asg.name(asg.v("name")),
                           region=self.region(asg), labels=self.labels(asg))
                continue
            lt = found[0]
            if lt.type == "aws_launch_template":
                most, least, deps = self.sg_layers(lt, ("vpc_security_group_ids",
                                                        "security_group_names"))
                # every network interface's `associate_public_ip_address` (a string in a
                # launch template: "true", "false", "" not set), not the first block's only
                flags: list[bool | None] = []
                flag_unknown = False
                for i, nic in enumerate(lt.v("network_interfaces") or []):
                    nic = nic if isinstance(nic, Mapping) else {}
                    flags.append({"true": True, "false": False}.get(
                        str(nic.get("associate_public_ip_address") or "").strip().lower()))
                    flag_unknown = flag_unknown or lt.unknown(
                        "network_interfaces", i, "associate_public_ip_address")
                # any one asks for a public address: public; one leaves it to the subnet:
                # the subnet decides; all refuse: none
                flag: Any = True if True in flags else (
                    None if None in flags or not flags else False)
                devices = [(d.get("device_name"), (d.get("ebs") or [{}])[0] or {})
                           for d in lt.v("block_device_mappings") or [] if isinstance(d, dict)]
                image = None if lt.unknown("image_id") else lt.v("image_id")
            else:
                most, least, deps = self.sg_layers(lt, ("security_groups",))
                flag = lt.v("associate_public_ip_address")
                flag_unknown = lt.unknown("associate_public_ip_address") and not lt.computed(
                    "associate_public_ip_address")
                devices = [(d.get("device_name"), d) for d in
                           [*(lt.v("root_block_device") or [{}]),
                            *(lt.v("ebs_block_device") or [])] if isinstance(d, dict)]
                image = None if lt.unknown("image_id") else lt.v("image_id")
            if unsure_source or len(found) > 1:
                most = RuleLayer("launch template not known until apply", LayerMode.UNION, (),
                                 Action.ALLOW, present=False)
            world.set("ingress", (most,), (least,))
            subnets, subnet_unknown = self.ix.targets(asg, "vpc_zone_identifier", ["aws_subnet"])
            states = [self.subnet_public.get(sn.address, (False, True)) for sn in subnets]
            if flag is not None and not flag_unknown:
                public, unsure = bool(flag), False
            elif flag_unknown or subnet_unknown or not states:
                public, unsure = False, True
            else:
                public, unsure = self.subnets_public(subnets)
            text = UNKNOWN_IP.format(what=f"public IPv4 of the instances of {asg.address}")
            v6_most: list[str] = []
            v6_least: list[str] = []
            if lt.type == "aws_launch_template":  # IPv6 addresses are public (public_v6)
                v6 = UNKNOWN_IP.format(what=f"IPv6 of the instances of {asg.address}")
                for i, n in enumerate(lt.v("network_interfaces") or []):
                    if not isinstance(n, Mapping):
                        continue
                    if n.get("ipv6_address_count") or n.get("ipv6_addresses"):
                        v6_most, v6_least = [v6], [v6]
                        break
                    if lt.unknown("network_interfaces", i, "ipv6_address_count") or \
                            lt.unknown("network_interfaces", i, "ipv6_addresses"):
                        v6_most = [v6]
            world.set("public_ips", ([text] if public or unsure else []) + v6_most,
                      ([text] if public and not unsure else []) + v6_least)
            world.props["private_ips"] = []
            key = lt.v("key_name") or lt.refs("key_name")
            world.props["ssh_key_only"] = bool(key) if not lt.unknown("key_name") or \
                lt.refs("key_name") else None
            world.props["image"] = image
            world.props["stateful"] = len(devices) > 1
            secrets.judge(self.b, self.rid(asg), world, found, prefixed=True)
            rid = self.b.add(asg, Kind.COMPUTE, CLOUD, world, name=asg.name(asg.v("name")),
                             region=self.region(asg), labels=self.labels(asg),
                             deps=[lt, *deps, *subnets])
            default = self.ebs_default.get(self.region(asg) or "")
            for i, (device, ebs) in enumerate(devices or [(None, {})]):
                enc = ebs.get("encrypted") if isinstance(ebs, Mapping) else None
                # aws_launch_template writes `encrypted` as a string, "" when the block does
                # not set it: then the snapshot or the account's EBS encryption by default
                # decides (EBS_DEFAULT_DOC), not "false"
                enc = {"true": True, "false": False}.get(str(enc).strip().lower()) \
                    if isinstance(enc, str) else enc
                props: dict[str, Any] = {"encrypted": None if enc is None else bool(enc),
                                         "encryption_evidence": "config",
                                         "size_gb": (ebs or {}).get("volume_size")}
                if default is not None and not enc:
                    props["encrypted"] = default
                if not enc:
                    props["encryption_reference"] = EBS_DEFAULT_DOC
                vid = self.b.add(asg, Kind.VOLUME, CLOUD, props,
                                 name=f"{asg.v('name') or asg.address}:{device or 'root'}",
                                 region=self.region(asg), labels=self.labels(asg),
                                 suffix=f"/volume/{i}", deps=[lt])
                self.b.relate(vid, rid, RelationType.ATTACHED_TO)

    def public_v4(self, inst: Entry) -> tuple[bool, bool, list[Entry]]:
        """(gets a public IPv4 address, not known until apply, entries that decide it)."""
        if not inst.unknown("associate_public_ip_address") and \
                inst.v("associate_public_ip_address") is not None:
            return bool(inst.v("associate_public_ip_address")), False, []
        # `subnet_id = aws_subnet.x[count.index].id`: every instance of aws_subnet.x may be
        # the one (the reference names no key): public only if all are, unsure if any may be
        subnets = [sn for sn in self.ix.targets(inst, "subnet_id", ["aws_subnet"])[0]
                   if sn.address in self.subnet_public]
        if subnets:
            public, unsure = self.subnets_public(subnets)
            return public, unsure, subnets
        return False, True, []

    def subnets_public(self, subnets: list[Entry]) -> tuple[bool, bool]:
        """(public, unsure) for a machine launched in one of `subnets` (planned), by their
        `map_public_ip_on_launch`: public when each certainly maps one, unsure when they
        disagree or one is known only after apply."""
        states = [self.subnet_public.get(sn.address, (False, True)) for sn in subnets]
        public = all(p and not u for p, u in states)
        return public, not public and any(p or u for p, u in states)

    def public_v6(self, inst: Entry) -> tuple[list[str], list[str]]:
        """(most, least exposed) IPv6 addresses of an instance. Every IPv6 address in a VPC
        is globally unique and public (https://docs.aws.amazon.com/vpc/latest/userguide/
        vpc-ip-addressing.html: "IPv6 addresses are globally unique ... public"): read as
        routed, like a public IPv4 address. `ipv6_address_count` / `ipv6_addresses`, else
        the planned subnet's `assign_ipv6_address_on_creation`."""
        text = UNKNOWN_IP.format(what=f"IPv6 of {inst.address}")
        count, addrs = inst.v("ipv6_address_count"), inst.v("ipv6_addresses")
        for attr, value in (("ipv6_addresses", addrs), ("ipv6_address_count", count)):
            if attr in inst.expr and inst.unknown(attr):
                return [text], []  # set to a value known only after apply
            if value and not inst.unknown(attr):
                known = [str(a) for a in value] if isinstance(value, list) else [text]
                return known, known
        if "ipv6_addresses" in inst.expr or "ipv6_address_count" in inst.expr:
            return [], []  # set to none
        # every subnet the reference may name (see public_v4)
        subnets = self.ix.targets(inst, "subnet_id", ["aws_subnet"])[0]
        assigns = [None if sn.unknown("assign_ipv6_address_on_creation") else bool(
            sn.v("assign_ipv6_address_on_creation")) for sn in subnets]
        if assigns and all(assigns):
            return [text], [text]
        if any(a is not False for a in assigns):
            return [text], []
        return [], []

    def volumes(self) -> None:
        attached: dict[str, list[Entry]] = defaultdict(list)
        for att in self.ix.of_type("aws_volume_attachment"):
            for vol in self.ix.targets(att, "volume_id", ["aws_ebs_volume"])[0]:
                attached[vol.address].extend(
                    self.ix.targets(att, "instance_id", ["aws_instance"])[0])
        for vol in self.ix.of_type("aws_ebs_volume"):
            enc = vol.v("encrypted")
            vid = self.b.add(vol, Kind.VOLUME, CLOUD, {
                "encrypted": None if enc is None or vol.unknown("encrypted") else bool(enc),
                "encryption_evidence": "config",
                "size_gb": None if vol.unknown("size") else vol.v("size"),
            }, name=self.labels(vol).get("Name") or vol.address, region=self.region(vol),
                labels=self.labels(vol))
            for inst in attached.get(vol.address, []):
                self.b.relate(vid, self.rid(inst), RelationType.ATTACHED_TO)
            for key in self.ix.targets(vol, "kms_key_id", ["aws_kms_key"], id_attr="arn")[0]:
                self.b.relate(vid, self.rid(key), RelationType.ENCRYPTED_WITH)

    # --- databases ----------------------------------------------------------------------

    def db_world(self, e: Entry, public: bool, public_unknown: bool, retention_attr: str,
                 default_retention: int | None) -> tuple[World, list[Entry]]:
        world = World()
        world.set("public_endpoint", public or public_unknown, public and not public_unknown)
        world.props["public_ips"] = []
        enc = e.v("storage_encrypted", default=False)
        world.props["encrypted"] = None if e.unknown("storage_encrypted") else bool(enc)
        world.props["encryption_evidence"] = "config"
        retention = e.v(retention_attr)
        if retention is None and not e.unknown(retention_attr):
            retention = default_retention
        if retention is None:
            world.props.update({"backup_enabled": None, "backup_retention_days": None,
                                "backup_frequency_hours": None, "pitr_enabled": None,
                                "pitr_lag_minutes": None, "backup_redundancy": None})
        else:
            days = int(retention)
            world.props.update({
                "backup_enabled": days > 0, "backup_retention_days": days or None,
                "backup_frequency_hours": 24 if days > 0 else None, "pitr_enabled": days > 0,
                "pitr_lag_minutes": None, "backup_redundancy": "zone" if days > 0 else None})
        world.props["replica_regions"] = []
        port = e.v("port")
        computed = e.computed("port")  # not set: the engine's default port
        if port is None and (computed or not e.unknown("port")):
            port = engine_port(e.v("engine"))
        ports = PortRange(int(port), int(port)) if port is not None and (
            computed or not e.unknown("port")) else None
        endpoint_most, endpoint_least = union_layer("database endpoint port", [Draft(
            Action.ALLOW, "tcp", ports, INTERNET, 0, f"endpoint:{port or '?'}")], ())
        most, least, deps = self.sg_layers(e, ("vpc_security_group_ids",))
        world.set("ingress", (endpoint_most, most), (endpoint_least, least))
        for key in self.ix.targets(e, "kms_key_id", ["aws_kms_key"], id_attr="arn")[0]:
            self.b.relate(self.rid(e), self.rid(key), RelationType.ENCRYPTED_WITH)
        return world, deps

    def databases(self) -> None:
        members: dict[str, list[Entry]] = defaultdict(list)
        for ctype, mtype in CLUSTERS.items():
            for m in self.ix.of_type(mtype):
                for cl in self.ix.targets(m, "cluster_identifier", [ctype],
                                          id_attr="cluster_identifier")[0]:
                    members[cl.address].append(m)
        # Copies of a DB instance in other regions, as the live path reads them
        # (providers/aws/normalize/databases.py): cross-region automated backups
        # (aws_db_instance_automated_backups_replication: `source_db_instance_arn`, in the
        # region of its own provider configuration; AWS: "Replicating automated backups to
        # another AWS Region") and read replicas (`replicate_source_db`).
        copies: dict[str, list[tuple[Entry, str, bool]]] = defaultdict(list)
        for rep in self.ix.of_type("aws_db_instance_automated_backups_replication"):
            for src in self.ix.targets(rep, "source_db_instance_arn", ["aws_db_instance"],
                                       id_attr="arn")[0]:
                copies[src.address].append((rep, self.region(rep) or "unknown", True))
        for rr in self.ix.of_type("aws_db_instance"):
            if not (rr.v("replicate_source_db") or rr.unknown("replicate_source_db")):
                continue
            found = self.ix.targets(rr, "replicate_source_db", ["aws_db_instance"],
                                    id_attr="arn")[0] or self.ix.targets(
                rr, "replicate_source_db", ["aws_db_instance"], id_attr="identifier")[0]
            for src in found:
                copies[src.address].append((rr, self.region(rr) or "unknown", False))
        for db in self.ix.of_type("aws_db_instance"):
            world, deps = self.db_world(db, bool(db.v("publicly_accessible", default=False)),
                                        db.unknown("publicly_accessible"),
                                        "backup_retention_period", None)
            here = self.region(db)
            away = sorted({r for _, r, _ in copies.get(db.address, []) if r != here})
            if away:
                world.props["replica_regions"] = away
                if any(backup and r not in ("unknown", here)
                       for _, r, backup in copies.get(db.address, [])) and \
                        world.props.get("backup_enabled"):
                    world.props["backup_redundancy"] = "geo"
            self.b.add(db, Kind.DATABASE, CLOUD, world,
                       name=db.name(db.v("identifier"), db.v("name")), region=here,
                       labels=self.labels(db),
                       deps=[*deps, *(e for e, _, _ in copies.get(db.address, []))])
        for cl in self.ix.of_type(*CLUSTERS):
            own = members.get(cl.address, [])
            public = any(m.v("publicly_accessible") for m in own)
            unsure = any(m.unknown("publicly_accessible") for m in own)
            world, deps = self.db_world(cl, public, unsure, "backup_retention_period", 1)
            self.b.add(cl, Kind.DATABASE, CLOUD, world,
                       name=cl.name(cl.v("cluster_identifier")), region=self.region(cl),
                       labels=self.labels(cl), deps=[*deps, *own])
            for m in own:
                mworld, mdeps = self.db_world(m, bool(m.v("publicly_accessible")),
                                              m.unknown("publicly_accessible"),
                                              "backup_retention_period", None)
                # storage, backups and firewall are the cluster's
                for prop in ("encrypted", "backup_enabled", "backup_retention_days",
                             "backup_frequency_hours", "pitr_enabled", "backup_redundancy"):
                    mworld.props[prop] = world.props[prop]
                mworld.set("ingress", world.props["ingress"],
                           world.closed.get("ingress", world.props["ingress"]))
                self.b.add(m, Kind.DATABASE, CLOUD, mworld,
                           name=m.name(m.v("identifier")), region=self.region(m),
                           labels=self.labels(m), deps=[cl, *deps, *mdeps])

    # --- S3 -----------------------------------------------------------------------------

    def buckets(self) -> None:
        by_bucket: dict[str, dict[str, Entry]] = defaultdict(dict)
        read: dict[str, list[Entry]] = defaultdict(list)  # every configuration resource
        for t in ("aws_s3_bucket_server_side_encryption_configuration",
                  "aws_s3_bucket_replication_configuration", "aws_s3_bucket_public_access_block",
                  "aws_s3_bucket_policy"):
            for e in self.ix.of_type(t):
                for bucket in (self.ix.targets(e, "bucket", ["aws_s3_bucket"], id_attr="id")[0]
                               or self.ix.targets(e, "bucket", ["aws_s3_bucket"],
                                                  id_attr="bucket")[0]):
                    by_bucket[bucket.address][t] = e
                    read[bucket.address].append(e)
        regions = {e.address: self.region(e) for e in self.ix.of_type("aws_s3_bucket")}
        # planned bucket policies whose bucket is known only after apply and matches no
        # planned bucket, or module calls of plain configuration not expanded: any bucket
        # of the plan may have a policy there
        matched = {e.address for es in read.values() for e in es}
        stray = self.b.unexpanded or any(e.unknown("bucket") and e.address not in matched
                                         for e in self.ix.of_type("aws_s3_bucket_policy"))
        for bucket in self.ix.of_type("aws_s3_bucket"):
            parts = by_bucket.get(bucket.address, {})
            props: dict[str, Any] = {}
            enc = parts.get("aws_s3_bucket_server_side_encryption_configuration")
            inline = bucket.v("server_side_encryption_configuration")
            if enc is not None:
                algos = [((r.get("apply_server_side_encryption_by_default") or [{}])[0] or {})
                         .get("sse_algorithm") for r in enc.v("rule") or []
                         if isinstance(r, dict)]
                props["encrypted"] = None if enc.unknown("rule") else bool([a for a in algos
                                                                            if a])
                props["encryption_evidence"] = "config"
            elif inline and bucket.configured("server_side_encryption_configuration"):
                props["encrypted"] = True
                props["encryption_evidence"] = "config"
            else:
                props["encrypted"] = True
                props["encryption_evidence"] = "provider"
                props["encryption_reference"] = S3_DEFAULT_DOC
            rep = parts.get("aws_s3_bucket_replication_configuration")
            dests: list[str] = []
            region = regions.get(bucket.address)
            # Replication rules: the separate resource (AWS provider v4+: `rule`), else the
            # bucket's own `replication_configuration` block (provider v3, deprecated in v4
            # and v5: `rules`), which plans of older configurations still hold
            # (registry.terraform.io/providers/hashicorp/aws/3.76.1/docs/resources/s3_bucket
            # #replication_configuration; upgrade guide v4: "S3 Bucket Refactor"). A rule
            # list, a rule or its status known only after apply may replicate anywhere.
            source: Entry | None = rep
            path: tuple[Any, ...] = ("rule",)
            if rep is None and (bucket.v("replication_configuration") or bucket.unknown(
                    "replication_configuration")) and not bucket.computed(
                    "replication_configuration"):
                source, path = bucket, ("replication_configuration", 0, "rules")
                if bucket.wholly_unknown("replication_configuration") or \
                        bucket.wholly_unknown("replication_configuration", 0):
                    dests.append("unknown")
                # provider 4+ refreshes the rules a separate resource wrote into the
                # bucket's Computed block: one the plan deletes still shows here until
                # apply removes it (the deleted change's bucket is not kept): not known
                if "aws_s3_bucket_replication_configuration" in self.b.deleted_types and \
                        "replication_configuration" not in bucket.expr:
                    source = None
                    dests.append("unknown")
            if source is not None:
                if source.wholly_unknown(*path):
                    dests.append("unknown")
                for i, rule in enumerate(source.v(*path) or []):
                    if not isinstance(rule, dict):
                        if source.wholly_unknown(*path, i):
                            dests.append("unknown")
                        continue
                    if rule.get("status") != "Enabled" and not source.unknown(*path, i,
                                                                              "status"):
                        continue
                    targets, _ = self.ix.targets(source, (*path, i, "destination", 0,
                                                          "bucket"),
                                                 ["aws_s3_bucket"], id_attr="arn")
                    for dest in targets:
                        dests.append(regions.get(dest.address) or "unknown")
                        self.b.relate(self.rid(bucket), self.rid(dest),
                                      RelationType.REPLICATES_TO,
                                      region=regions.get(dest.address) or "unknown")
                    if not targets:
                        dests.append("unknown")
            props["replica_regions"] = sorted(set(dests))
            props["backup_redundancy"] = replica_redundancy(region, dests)
            # Every bucket answers on its public S3 endpoint, plain HTTP included, unless
            # its policy denies aws:SecureTransport=false (as the live path reads it:
            # providers/aws/normalize/storage.py)
            props["public_endpoint"] = True
            props["https_only"] = self.bucket_https_only(
                bucket, parts.get("aws_s3_bucket_policy"), stray,
                "aws_s3_bucket_policy" in self.b.deleted_types)
            self.b.add(bucket, Kind.BUCKET, CLOUD, props,
                       name=bucket.name(bucket.v("bucket")), region=region,
                       labels=self.labels(bucket), deps=read.get(bucket.address, []))

    @staticmethod
    def bucket_https_only(bucket: Entry, pol: Entry | None, stray: bool,
                          policy_deleted: bool = False) -> bool | None:
        """Does the bucket refuse plain HTTP (TLS-02), as the live path reads its policy?
        - a planned aws_s3_bucket_policy naming it: its `policy` (known after apply: None);
        - else the bucket's own `policy`: the inline argument (AWS provider 3.x; deprecated
          in 4.x and 5.x), or, not configured, the policy Terraform read when refreshing an
          existing bucket: one managed outside the plan (another configuration, the
          console), which is what the live scan would read today;
        - no policy at all (a new bucket's `policy` is computed: S3 creates buckets without
          one; an existing bucket whose refreshed `policy` is empty): plain HTTP is accepted,
          as live ("Enforce encryption of data in transit", S3 security best practices);
        - not known: a `policy` set by the configuration to a value known after apply, an
          existing bucket's policy unknown, or a planned bucket policy whose bucket is known
          only after apply and matches no planned bucket, or a module call of plain
          configuration that was not expanded (either may hold this one's): None;
        - a refreshed policy (not set by the block) while the plan deletes an
          aws_s3_bucket_policy: AWS provider 4+ keeps the bucket's `policy` Computed, so it
          shows the policy that resource wrote until apply removes it, and the deleted
          change's bucket is not kept: None (registry.terraform.io/providers/hashicorp/aws/
          latest/docs/guides/version-4-upgrade, "S3 Bucket Refactor": `policy` is managed
          by aws_s3_bucket_policy)."""
        name = None if bucket.unknown("bucket") else bucket.v("bucket")
        if pol is not None:
            return None if pol.unknown("policy") else _https_only(pol.v("policy"), name)
        if bucket.unknown("policy"):
            # known after apply: set by the block (its expression), or an existing bucket's
            # (a state has no unknowns); a bucket the plan creates without one has none
            if "create" not in bucket.actions or "policy" in bucket.expr:
                return None
        elif bucket.v("policy"):
            if policy_deleted and "policy" not in bucket.expr:
                return None
            return _https_only(bucket.v("policy"), name)
        return None if stray else False

    # --- certificates -------------------------------------------------------------------

    def certificates(self) -> None:
        """aws_acm_certificate and aws_iam_server_certificate -> certificate, as the live
        reading builds them from ACM's DescribeCertificate and IAM's ListServerCertificates
        (providers/aws/normalize/edge.py, ACM_DOC): ACM renews what it issued (`type`
        AMAZON_ISSUED: a `domain_name` requested with `validation_method`), a private CA's
        certificate when it is eligible for renewal, never an imported one (`certificate_body`)
        nor an IAM server certificate. Expiry: `not_after` / `expiration`, else the planned
        PEM body's; known only after apply (a certificate the plan requests): None, TLS-03
        says error."""
        for cert in self.ix.of_type("aws_acm_certificate"):
            ctype = None if cert.unknown("type") else cert.v("type")
            if ctype is None:
                if cert.v("certificate_body") or (cert.unknown("certificate_body")
                                                  and cert.configured("certificate_body")):
                    ctype = "IMPORTED"
                elif cert.v("certificate_authority_arn") or (
                        cert.unknown("certificate_authority_arn")
                        and cert.configured("certificate_authority_arn")):
                    ctype = "PRIVATE"
                elif cert.v("domain_name") or cert.unknown("domain_name"):
                    ctype = "AMAZON_ISSUED"
            managed: bool | None = ctype == "AMAZON_ISSUED"
            if ctype == "PRIVATE":
                eligible = None if cert.unknown("renewal_eligibility") else \
                    cert.v("renewal_eligibility")
                managed = None if eligible is None else eligible == "ELIGIBLE"
            not_after = None if cert.unknown("not_after") else cert.v("not_after")
            if not not_after and ctype == "IMPORTED":
                not_after = pem_not_after(cert, "certificate_body")
            sans = cert.v("subject_alternative_names") or []
            domains = list(dict.fromkeys(str(d) for d in [cert.v("domain_name"), *(
                sans if isinstance(sans, list) else [])] if d))
            cid = self.b.add(cert, Kind.CERTIFICATE, CLOUD, {
                "managed_renewal": bool(managed), "not_after": not_after or None,
                "issued_at_apply": bool(managed) and not not_after and "create" in cert.actions,
                "domains": domains},
                name=cert.name(cert.v("domain_name")), region=self.region(cert),
                labels=self.labels(cert))
            if ctype is None or managed is None:
                self.b.mark(cid, ("managed_renewal",), Unread(
                    f"{cert.address}: whether ACM renews it is known only after apply "
                    "(its type or renewal eligibility)", opens=True, closes=False))
        for cert in self.ix.of_type("aws_iam_server_certificate"):
            expiry = None if cert.unknown("expiration") else cert.v("expiration")
            self.b.add(cert, Kind.CERTIFICATE, CLOUD, {
                "managed_renewal": False,
                "not_after": expiry or pem_not_after(cert, "certificate_body"),
                "domains": []}, name=cert.name(cert.v("name")), region=None,
                labels=self.labels(cert))

    def present(self, presenter: str, e: Entry, path: tuple[Any, ...], types: list[str],
                id_attr: str = "arn") -> bool:
        """Relate `presenter` (a listener, a CDN) to the planned certificates `e` names at
        `path`; False when it names one known only after apply that no planned certificate
        is known to be (then which planned certificates are presented is not known)."""
        found, unresolved = self.ix.targets(e, path, types, id_attr=id_attr)
        for cert in found:
            self.b.relate(presenter, self.rid(cert), RelationType.USES_CERTIFICATE)
        return not (unresolved and e.unknown(*path))

    def presented_unknown(self, why: str) -> None:
        """A public listener or CDN presents a certificate known only after apply that no
        planned certificate is known to be: a planned certificate that no public endpoint is
        known to present may be presented (TLS-03 would skip it as unused), as the live
        reading marks them when a listener's certificate list was not read
        (providers/aws/normalize/load_balancers.py: mark_listener_certificates_unread)."""
        self.certs_unknown = self.certs_unknown or why

    def mark_presented_unknown(self) -> None:
        if not self.certs_unknown:
            return
        public = {rid for rid in self.b.ids
                  if self.b.entry_of[rid].type in ("aws_lb", "aws_alb", "aws_elb")
                  and self._public.get(rid, True)}
        presenters = {r.source for r in self.b.relations
                      if r.type is RelationType.MEMBER_OF and r.target in public}
        presenters |= {rid for rid in self.b.ids
                       if self.b.entry_of[rid].type == "aws_cloudfront_distribution"}
        used = {r.target for r in self.b.relations if r.type is RelationType.USES_CERTIFICATE
                and r.source in presenters}
        for cert in self.ix.of_type(*CERT_TYPES):
            rid = self.rid(cert)
            if rid not in used:
                self.b.mark(rid, ("managed_renewal", "not_after", "domains"), Unread(
                    f"{self.certs_unknown}: whether a public endpoint presents it is not "
                    "known", opens=True, closes=False))

    # --- load balancers -----------------------------------------------------------------

    def load_balancers(self) -> None:
        listeners: dict[str, list[Entry]] = defaultdict(list)
        for li in self.ix.of_type("aws_lb_listener", "aws_alb_listener"):
            for lb in self.ix.targets(li, "load_balancer_arn", ["aws_lb", "aws_alb"],
                                      id_attr="arn")[0]:
                listeners[lb.address].append(li)
        groups = self.ix.of_type("aws_lb_target_group")
        rules = self.rules
        for r in self.ix.of_type("aws_lb_listener_rule", "aws_alb_listener_rule"):
            for li in self.ix.targets(r, "listener_arn", ["aws_lb_listener", "aws_alb_listener"],
                                      id_attr="arn")[0]:
                rules[li.address].append(r)
        # a listener's certificate list beyond its default certificate (SNI):
        # aws_lb_listener_certificate (AWS provider docs, lb_listener_certificate)
        for lc in self.ix.of_type("aws_lb_listener_certificate"):
            for li in self.ix.targets(lc, "listener_arn", ["aws_lb_listener",
                                                           "aws_alb_listener"],
                                      id_attr="arn")[0]:
                self.sni[li.address].append(lc)
        reached: set[str] = set()  # target groups a planned listener forwards to
        attachments: dict[str, list[Entry]] = defaultdict(list)
        for att in self.ix.of_type("aws_lb_target_group_attachment"):
            for tg in self.ix.targets(att, "target_group_arn", ["aws_lb_target_group"],
                                      id_attr="arn")[0]:
                attachments[tg.address].append(att)
        # autoscaling groups register their instances in target groups too: the group's
        # `target_group_arns`, or an aws_autoscaling_attachment's `lb_target_group_arn`
        # (AWS provider docs, autoscaling_group / autoscaling_attachment)
        asg_groups: dict[str, list[tuple[Entry, Entry]]] = defaultdict(list)  # tg -> (asg, via)
        for asg in self.ix.of_type("aws_autoscaling_group"):
            for tg in self.ix.targets(asg, "target_group_arns", ["aws_lb_target_group"],
                                      id_attr="arn")[0]:
                asg_groups[tg.address].append((asg, asg))
        for att in self.ix.of_type("aws_autoscaling_attachment"):
            for asg in self.ix.targets(att, "autoscaling_group_name", ["aws_autoscaling_group"],
                                       id_attr="name")[0] + self.ix.targets(
                    att, "autoscaling_group_name", ["aws_autoscaling_group"])[0]:
                for tg in self.ix.targets(att, "lb_target_group_arn", ["aws_lb_target_group"],
                                          id_attr="arn")[0]:
                    asg_groups[tg.address].append((asg, att))
        waf: dict[str, Entry] = {}
        for a in self.ix.of_type("aws_wafv2_web_acl_association"):
            for lb in self.ix.targets(a, "resource_arn", ["aws_lb", "aws_alb"],
                                      id_attr="arn")[0]:
                waf[lb.address] = a
        for lb in self.ix.of_type("aws_lb", "aws_alb"):
            lb_id = self.rid(lb)
            world = World()
            internal = lb.v("internal", default=False)
            unsure = lb.unknown("internal") and not lb.computed("internal")  # default false
            world.set("public_endpoint", not internal or unsure, not internal and not unsure)
            world.props["public_ips"] = []
            self._public[lb_id] = bool(not internal or unsure)
            own = listeners.get(lb.address, [])
            drafts = []
            for li in own:
                port = li.v("port")
                # each listener's port over the transport(s) it carries, as live (an NLB
                # UDP listener admits UDP only, TCP_UDP both)
                for transport in _transports(li):
                    drafts.append(Draft(Action.ALLOW, transport, PortRange(int(port), int(port))
                                        if port is not None and not li.unknown("port") else None,
                                        INTERNET, 0, f"{lb_id}:{port if port else '?'}"))
            ports_most, ports_least = union_layer("load balancer listeners", drafts, ())
            layers_most: list[RuleLayer] = [ports_most]
            layers_least: list[RuleLayer] = [ports_least]
            deps: list[Entry] = [*own]
            application = str(lb.v("load_balancer_type", default="application")) == \
                "application"
            if lb.v("security_groups") or (lb.unknown("security_groups") and (
                    application or not lb.computed("security_groups"))):
                most, least, sg_deps = self.sg_layers(lb, ("security_groups",))
                layers_most.append(most)
                layers_least.append(least)
                deps.extend(sg_deps)
            world.set("ingress", tuple(layers_most), tuple(layers_least))
            if str(lb.v("load_balancer_type", default="application")) == "application":
                world.props["waf"] = lb.address in waf
                if lb.address not in waf:
                    world.props["waf_rate_limit"] = False
            else:
                world.props["waf"] = False
                world.props["waf_rate_limit"] = False
            if lb.address in waf:
                deps.append(waf[lb.address])
            self.b.add(lb, Kind.LOAD_BALANCER, CLOUD, world, name=lb.name(lb.v("name")),
                       region=self.region(lb), labels=self.labels(lb), deps=deps,
                       native_type=lb.type)
            for li in own:
                self.listener(lb, lb_id, li, groups)
            # the default actions' and the listener rules' groups (each port its own
            # listener in the model: listener())
            forwarded = {tg.address for li in own for tg in self.forwarded(li, rules)}
            reached |= forwarded
            for tg in groups:
                if tg.address not in forwarded:
                    continue
                for att in attachments.get(tg.address, []):
                    for inst in self.ix.targets(att, "target_id", ["aws_instance"])[0]:
                        self.b.relate(lb_id, self.rid(inst), RelationType.TARGETS,
                                      private=True, target_group=self.rid(tg))
                for asg, via in asg_groups.get(tg.address, []):
                    self.b.relate(lb_id, self.rid(asg), RelationType.TARGETS,
                                  private=True, target_group=self.rid(tg))
                    self.b.also_read(self.rid(asg), via, tg)
        # An instance registered in a target group that no planned load balancer forwards
        # to (its load balancer or listener is outside the plan): what reaches it through
        # that load balancer is not visible here; never "not reachable" (as for hcloud)
        for tg in groups:
            if tg.address in reached:
                continue
            via_rule = any(tg in self.forwarded(self.ix.by_address[a], rules) for a in rules)
            members = [(inst.address, att) for att in attachments.get(tg.address, [])
                       for inst in self.ix.targets(att, "target_id", ["aws_instance"])[0]]
            members += [(asg.address, via) for asg, via in asg_groups.get(tg.address, [])]
            for address, via in members:
                if via.type in ("aws_autoscaling_attachment", "aws_autoscaling_group"):
                    self.b.also_read(self.rid(self.ix.by_address[address]), via, tg)
                self.b.mark(self.rid(self.ix.by_address[address]), ("public_ips", "ingress"),
                            Unread(f"{via.address}: target group {tg.address} is forwarded "
                                   "to " + ("by a listener rule of a listener whose load "
                                            "balancer is not in the plan"
                                            if via_rule else
                                            "by no load balancer listener in the plan"),
                                   "dangling", opens=True, closes=False))
        # a target group outside the plan (a known ARN) is a load balancer path not seen
        for asg in self.ix.of_type("aws_autoscaling_group"):
            if self.ix.targets(asg, "target_group_arns", ["aws_lb_target_group"],
                               id_attr="arn")[1]:
                self.b.mark(self.rid(asg), ("public_ips", "ingress"), Unread(
                    f"{asg.address}: a target group of its is not in the plan", "dangling",
                    opens=True, closes=False))

    def forwarded(self, li: Entry, rules: Mapping[str, list[Entry]]) -> list[Entry]:
        """The target groups a listener forwards to: its default actions' and its listener
        rules' (aws_lb_listener_rule), by `target_group_arn` or a weighted `forward` block's
        `target_group.arn` (AWS provider docs, lb_listener: default_action.forward)."""
        out: list[Entry] = []
        for e, block in ((li, "default_action"), *((r, "action")
                                                    for r in rules.get(li.address, []))):
            for i, action in enumerate(e.v(block) or []):
                if not isinstance(action, Mapping):
                    continue
                paths: list[tuple[Any, ...]] = [(block, i, "target_group_arn")]
                for j, fwd in enumerate(action.get("forward") or []):
                    for k, _ in enumerate((fwd or {}).get("target_group") or []):
                        paths.append((block, i, "forward", j, "target_group", k, "arn"))
                for path in paths:
                    for tg in self.ix.targets(e, path, ["aws_lb_target_group"],
                                              id_attr="arn")[0]:
                        if tg not in out:
                            out.append(tg)
        return out

    @staticmethod
    def final_action(e: Entry, block: str) -> tuple[int, Mapping[str, Any]]:
        """The action that ends a listener's or listener rule's action list (by `order`):
        its index in the planned list and itself ({} when there is none)."""
        actions = [(i, a) for i, a in enumerate(e.v(block) or []) if isinstance(a, Mapping)]
        actions.sort(key=lambda ia: ia[1].get("order") or 0)
        return next(((i, a) for i, a in actions if a.get("type") in (
            "forward", "redirect", "fixed-response")), (-1, {}))

    def listener(self, lb: Entry, lb_id: str, li: Entry, groups: list[Entry]) -> None:
        lb_type = str(lb.v("load_balancer_type", default="application"))
        raw_proto = li.v("protocol") or ("HTTP" if lb_type == "application" else "TCP")
        # the API's enum in upper case; plain `.tf` holds what the block spells (the
        # provider accepts any case)
        protocol = _LISTENER.get(str(raw_proto).upper(), str(raw_proto).lower())
        i, final = self.final_action(li, "default_action")
        redirect = final.get("type") == "redirect" and str(
            ((final.get("redirect") or [{}])[0] or {}).get("protocol", "")).upper() == "HTTPS"
        # Every target group the listener forwards to, as live: its default action's and
        # each forwarding listener rule's (aws_lb_listener_rule, by `priority`), every group
        # of a weighted forward. The first forward's port is the listener's target port;
        # each further port reaches its own groups' targets, one more listener per port.
        forwards: list[tuple[Entry, str, int, Mapping[str, Any]]] = []
        if final.get("type") == "forward":
            forwards.append((li, "default_action", i, final))
        rules = sorted(self.rules.get(li.address, []), key=lambda r: (
            int(r.v("priority")) if str(r.v("priority")).isdigit() else 50001, r.address))
        rule_unknown = False  # a rule whose action is known only after apply
        for r in rules:
            j, rule_final = self.final_action(r, "action")
            if rule_final.get("type") == "forward":
                forwards.append((r, "action", j, rule_final))
            elif r.unknown("action") and (not rule_final or r.unknown("action", j, "type")):
                rule_unknown = True
        if any(e is not li for e, *_ in forwards):
            redirect = False  # a rule forwards plain requests: not redirect-only, as live
        target_port = None
        by_port: dict[int, list[str]] = {}
        for e, block, k, action in forwards:
            paths: list[tuple[Any, ...]] = [(block, k, "target_group_arn")]
            for j, fwd in enumerate(action.get("forward") or []):  # weighted forward
                for m, _ in enumerate((fwd or {}).get("target_group") or []):
                    paths.append((block, k, "forward", j, "target_group", m, "arn"))
            for tg in (t for path in paths for t in self.ix.targets(
                    e, path, ["aws_lb_target_group"], id_attr="arn")[0]):
                if tg.v("port") is not None:
                    tg_port = int(tg.v("port"))
                    by_port.setdefault(tg_port, [])
                    if self.rid(tg) not in by_port[tg_port]:
                        by_port[tg_port].append(self.rid(tg))
                    if target_port is None:
                        target_port = tg_port
        port = li.v("port")
        world = World()
        world.props.update({"protocol": protocol,
                            "port": int(port) if port is not None and not li.unknown(
                                "port") else None,
                            "target_port": target_port, "redirects_to_https": redirect})
        if str(raw_proto).upper() == "QUIC":  # TLS 1.3 whatever the policy, as live
            world.props["min_tls"], world.props["min_tls_reference"] = QUIC_TLS
        elif protocol in ("https", "tls"):
            world.props["min_tls"] = None if li.unknown("ssl_policy") else ssl_policy_min_tls(
                li.v("ssl_policy"))
        if str(raw_proto).upper() in LISTENER_TRANSPORT:
            world.props["transport"] = list(LISTENER_TRANSPORT[str(raw_proto).upper()])
        if rule_unknown:  # that rule may forward plain HTTP
            world.set("redirects_to_https", False, redirect)
        if li.unknown("protocol") and "protocol" in li.expr:
            # set to a value known only after apply: plain HTTP at worst, HTTPS (its TLS
            # policy not known) at best, as for an hcloud service (TLS-02 says error)
            world.set("protocol", "http", "https")
            world.set("redirects_to_https", False, redirect)
        if target_port is not None:
            world.props["target_groups"] = sorted(by_port[target_port])
        name = f"{lb.v('name') or lb.address}:{port}/{protocol}"
        sni = self.sni.get(li.address, [])
        lid = self.b.add(li, Kind.LISTENER, CLOUD, world, name=name,
                         region=self.region(li) or self.region(lb), deps=[lb, *sni, *rules])
        self.b.relate(lid, lb_id, RelationType.MEMBER_OF)
        # Every certificate the listener presents, as live: its default certificate
        # (`certificate_arn`) and its certificate list (aws_lb_listener_certificate)
        known = self.present(lid, li, ("certificate_arn",), CERT_TYPES)
        for lc in sni:
            known = self.present(lid, lc, ("certificate_arn",), CERT_TYPES) and known
        if not known and self._public.get(lb_id, True):
            self.presented_unknown(f"listener {li.address} presents a certificate known "
                                   "only after apply")
        for other in sorted(set(by_port) - {target_port}):
            more = World({**world.props, "target_port": other,
                          "target_groups": sorted(by_port[other]),
                          "implicit": f"listener {li.address} forwarding to target port "
                                      f"{other}"}, dict(world.closed))
            extra = self.b.add(li, Kind.LISTENER, CLOUD, more, name=f"{name}->{other}",
                               region=self.region(li) or self.region(lb),
                               suffix=f"#targetport{other}", deps=[lb])
            self.b.relate(extra, lb_id, RelationType.MEMBER_OF)
        del groups

    # --- keys, trails -------------------------------------------------------------------

    def keys(self) -> None:
        aliases: dict[str, list[str]] = defaultdict(list)
        for a in self.ix.of_type("aws_kms_alias"):
            for key in self.ix.targets(a, "target_key_id", ["aws_kms_key"])[0] or \
                    self.ix.targets(a, "target_key_id", ["aws_kms_key"], id_attr="arn")[0]:
                aliases[key.address].append(str(a.v("name") or a.address))
        for key in self.ix.of_type("aws_kms_key"):
            spec = str(key.v("customer_master_key_spec", default="SYMMETRIC_DEFAULT"))
            rotation: bool | None
            if key.unknown("enable_key_rotation"):
                rotation = None
            elif spec != "SYMMETRIC_DEFAULT":
                rotation = False  # automatic rotation is not available for asymmetric keys
            else:
                rotation = bool(key.v("enable_key_rotation", default=False))
            names = sorted(aliases.get(key.address, []))
            self.b.add(key, Kind.KEY, CLOUD, {"customer_managed": True,
                                              "rotation_enabled": rotation},
                       name=names[0] if names else key.address, region=self.region(key),
                       labels=self.labels(key))

    def trails(self) -> None:
        for t in self.ix.of_type("aws_cloudtrail"):
            def flag(attr: str, default: bool, e: Entry = t) -> bool | None:
                return None if e.unknown(attr) else bool(e.v(attr, default=default))

            self.b.add(t, Kind.LOG_TRAIL, CLOUD, {
                "multi_region": flag("is_multi_region_trail", False),
                "logging_enabled": flag("enable_logging", True),
                "integrity_validation": flag("enable_log_file_validation", False),
                "global_service_events": flag("include_global_service_events", True),
                **management_props(self.trail_records(t)),
            }, name=t.name(t.v("name")), region=self.region(t), labels=self.labels(t))

    @staticmethod
    def trail_records(t: Entry) -> ManagementWrites:
        """What an aws_cloudtrail records, read as the live GetEventSelectors answer
        (providers/aws/normalize/trails.py): its `event_selector` blocks as EventSelectors,
        its `advanced_event_selector` blocks as AdvancedEventSelectors; none is the trail
        AWS creates without selectors (all read and write management events). A selector
        known only after apply: unknown, never a pass."""
        if t.unknown("event_selector") or t.unknown("advanced_event_selector"):
            return ManagementWrites(None, "event selectors known only after apply")
        blocks, adv_blocks = t.v("event_selector", default=[]), \
            t.v("advanced_event_selector", default=[])
        if not isinstance(blocks, list) or not isinstance(adv_blocks, list):
            return ManagementWrites(None, "event selectors not understood")
        # values as planned (a wrong type is refused by management_writes: unknown)
        basic = [{
            "ReadWriteType": s.get("read_write_type") or "All",
            "IncludeManagementEvents": True if s.get("include_management_events") is None
            else s.get("include_management_events"),
            "ExcludeManagementEventSources": s.get("exclude_management_event_sources") or []}
            if isinstance(s, Mapping) else s for s in blocks]
        advanced = [{"FieldSelectors": [
            {"Field": f.get("field"), **{op: f[attr] for op, attr in TF_OPERATORS
                                         if f.get(attr)}} if isinstance(f, Mapping) else f
            for f in (s.get("field_selector") or [])]} if isinstance(s, Mapping) else s
            for s in adv_blocks]
        return management_writes(basic or None, advanced or None)

    def file_systems(self) -> None:
        """aws_efs_file_system -> volume: `encrypted`; not set, the API's default applies
        (EFS_DOC: CreateFileSystem encrypts only when asked), so false."""
        for fs in self.ix.of_type("aws_efs_file_system"):
            if fs.unknown("encrypted") and not fs.computed("encrypted"):
                enc: bool | None = None
            else:
                enc = bool(fs.v("encrypted", default=False))
            self.b.add(fs, Kind.VOLUME, CLOUD, {
                "encrypted": enc, "encryption_evidence": "config", "size_gb": None,
                **({"encryption_reference": EFS_DOC} if not enc else {})},
                name=fs.name(self.labels(fs).get("Name"), fs.v("creation_token")),
                region=self.region(fs), labels=self.labels(fs))

    def snapshots(self) -> None:
        """Snapshots are encrypted as their source is (EBS, RDS, Neptune): the planned value
        when known, else the planned source's, else unknown."""
        for stype, (attr, sources, flag) in SNAPSHOTS.items():
            for snap in self.ix.of_type(stype):
                key = "encrypted" if stype == "aws_ebs_snapshot" else "storage_encrypted"
                enc = snap.v(key)
                if enc is None or snap.unknown(key):
                    enc = None
                    id_attr = "id" if attr == "volume_id" else attr.replace(
                        "db_instance_identifier", "identifier").replace(
                        "db_cluster_identifier", "cluster_identifier")
                    found = self.ix.targets(snap, attr, list(sources), id_attr=id_attr)[0]
                    if len(found) == 1 and not found[0].unknown(flag):
                        default = None if flag == "encrypted" else False
                        value = found[0].v(flag, default=default)
                        enc = None if value is None else bool(value)
                self.b.add(snap, Kind.SNAPSHOT, CLOUD, {
                    "encrypted": enc, "encryption_evidence": "config"},
                    name=snap.name(snap.v("db_snapshot_identifier"),
                                   snap.v("db_cluster_snapshot_identifier"),
                                   self.labels(snap).get("Name")),
                    region=self.region(snap), labels=self.labels(snap))

    def dynamodb_tables(self) -> None:
        """aws_dynamodb_table -> database, as providers/aws/normalize/dynamodb.py reads a
        live table: always encrypted at rest (`server_side_encryption` enabled: a KMS key,
        config; else the AWS owned key, provider); `point_in_time_recovery.enabled` (off
        when the block is absent, DynamoDB's default) kept `recovery_period_in_days` (35 by
        default); `replica` blocks: the global table's copies in other regions."""
        for t in self.ix.of_type("aws_dynamodb_table"):
            here = self.region(t)
            kms = bool(t.v("server_side_encryption", 0, "enabled"))
            props: dict[str, Any] = {
                "api_only": True, "public_ips": [], "encrypted": True,
                "encryption_evidence": "config" if kms else "provider",
                **({} if kms else {"encryption_reference": DYNAMODB_DOC}),
                "pitr_lag_minutes": None}
            if t.unknown("point_in_time_recovery"):
                props.update({"pitr_enabled": None, "backup_enabled": None,
                              "backup_frequency_hours": None, "backup_retention_days": None})
            else:
                on = bool(t.v("point_in_time_recovery", 0, "enabled"))
                days = t.v("point_in_time_recovery", 0, "recovery_period_in_days") or PITR_DAYS
                props.update({"pitr_enabled": on, "backup_enabled": on,
                              "backup_frequency_hours": CONTINUOUS_HOURS if on else None,
                              "backup_retention_days": int(days) if on else None})
            replicas = t.v("replica") if isinstance(t.v("replica"), list) else []
            away = sorted({"unknown" if t.unknown("replica", i, "region_name")
                           else str(r.get("region_name")) for i, r in enumerate(replicas)
                           if isinstance(r, Mapping)} - {here, "None"})
            props["replica_regions"] = away
            props["backup_redundancy"] = replica_redundancy(here, away)
            if t.wholly_unknown("replica"):  # replicas known only after apply
                props["replica_regions"] = ["unknown"]
                props["backup_redundancy"] = None
            self.b.add(t, Kind.DATABASE, CLOUD, props, name=t.name(t.v("name")), region=here,
                       labels=self.labels(t))
            for key in self.ix.targets(t, ("server_side_encryption", 0, "kms_key_arn"),
                                       ["aws_kms_key"], id_attr="arn")[0]:
                self.b.relate(self.rid(t), self.rid(key), RelationType.ENCRYPTED_WITH)

    # --- edge, classic load balancers ---------------------------------------------------

    def cdn(self) -> None:
        """aws_cloudfront_distribution -> cdn, as the live normalizer reads the API."""
        for d in self.ix.of_type("aws_cloudfront_distribution"):
            world = World()
            enabled = bool(d.v("enabled", default=True))
            world.set("public_endpoint", enabled or d.unknown("enabled"),
                      enabled and not d.unknown("enabled"))
            vc = (d.v("viewer_certificate") or [{}])[0] or {}
            if d.unknown("viewer_certificate"):
                world.props["min_tls"] = None
            elif vc.get("cloudfront_default_certificate"):
                world.props["min_tls"] = "1.0"
                world.props["min_tls_reference"] = DEFAULT_CERT_DOC
            else:
                world.props["min_tls"] = CF_TLS.get(str(vc.get("minimum_protocol_version")))
            behaviours = [*(d.v("default_cache_behavior") or []),
                          *(d.v("ordered_cache_behavior") or [])]
            policies = [b.get("viewer_protocol_policy") for b in behaviours
                        if isinstance(b, dict)]
            world.props["https_only"] = None if d.unknown("default_cache_behavior") or \
                d.unknown("ordered_cache_behavior") else all(
                p in ("https-only", "redirect-to-https") for p in policies)
            acl = d.v("web_acl_id")
            if d.unknown("web_acl_id"):
                world.set("waf", False, True)
                world.props["waf_rate_limit"] = None
            else:
                world.props["waf"] = bool(acl)
                world.props["waf_rate_limit"] = None if acl else False
            did = self.b.add(d, Kind.CDN, CLOUD, world,
                             name=d.name(d.v("domain_name"), d.v("comment")), region=None,
                             labels=self.labels(d))
            # the certificate it presents to every viewer, as live (edge.py): ACM by ARN, an
            # IAM server certificate by its id
            known = self.present(did, d, ("viewer_certificate", 0, "acm_certificate_arn"),
                                 ["aws_acm_certificate"])
            known = self.present(did, d, ("viewer_certificate", 0, "iam_certificate_id"),
                                 ["aws_iam_server_certificate"], id_attr="id") and known
            if not known and enabled:
                self.presented_unknown(f"distribution {d.address} presents a certificate "
                                       "known only after apply")

    def classic_load_balancers(self) -> None:
        """aws_elb (Classic Load Balancer): listeners (`lb_port`, `lb_protocol`, the
        certificate's policy is not in the plan: TLS unknown), `internal`, security groups
        (a Classic LB in a VPC without one gets the VPC's default group), `instances`."""
        for lb in self.ix.of_type("aws_elb"):
            lb_id = self.rid(lb)
            world = World()
            internal = lb.v("internal", default=False)
            unsure = lb.unknown("internal") and not lb.computed("internal")  # default false
            world.set("public_endpoint", not internal or unsure, not internal and not unsure)
            world.props["public_ips"] = []
            self._public[lb_id] = bool(not internal or unsure)
            drafts = []
            listeners = [li for li in lb.v("listener") or [] if isinstance(li, dict)]
            for i, li in enumerate(listeners):
                port = li.get("lb_port")
                ports = port_range(port) if port is not None and not lb.unknown(
                    "listener", i, "lb_port") else None
                drafts.append(Draft(Action.ALLOW, "tcp", ports, INTERNET, 0,
                                    f"{lb_id}:{port or '?'}"))
            if lb.wholly_unknown("listener"):
                drafts.append(Draft(Action.ALLOW, "tcp", None, INTERNET, 0, f"{lb_id}:?"))
            ports_most, ports_least = union_layer("load balancer listeners", drafts, ())
            layers_most: list[RuleLayer] = [ports_most]
            layers_least: list[RuleLayer] = [ports_least]
            deps: list[Entry] = []
            in_vpc = bool(lb.v("subnets")) or lb.unknown("subnets") or bool(lb.refs("subnets"))
            if lb.v("security_groups") or (lb.unknown("security_groups") and (
                    in_vpc or not lb.computed("security_groups"))):
                most, least, deps = self.sg_layers(lb, ("security_groups",))
                layers_most.append(most)
                layers_least.append(least)
            world.set("ingress", tuple(layers_most), tuple(layers_least))
            world.props["waf"] = False  # WAF cannot be associated with a Classic LB
            world.props["waf_rate_limit"] = False
            self.b.add(lb, Kind.LOAD_BALANCER, CLOUD, world, name=lb.name(lb.v("name")),
                       region=self.region(lb), labels=self.labels(lb), deps=deps,
                       native_type=lb.type)
            for i, li in enumerate(listeners):
                raw = str(li.get("lb_protocol") or "tcp").upper()
                protocol = _LISTENER.get(raw, raw.lower())
                port = li.get("lb_port")
                lw = World()
                lw.props.update({
                    "protocol": protocol,
                    "port": None if lb.unknown("listener", i, "lb_port") or port is None
                    else int(port),
                    "target_port": li.get("instance_port"), "redirects_to_https": False})
                if protocol in ("https", "tls"):
                    lw.props["min_tls"] = None  # its policy is a separate resource
                if lb.unknown("listener", i, "lb_protocol"):  # `lb_protocol` is required:
                    lw.set("protocol", "http", "https")  # unknown only when set so
                lid = self.b.add(lb, Kind.LISTENER, CLOUD, lw,
                                 name=f"{lb.v('name') or lb.address}:{port}/{protocol}",
                                 region=self.region(lb), suffix=f"/listener/{i}")
                self.b.relate(lid, lb_id, RelationType.MEMBER_OF)
                # the certificate an HTTPS/SSL listener presents (`ssl_certificate_id`: an
                # ACM or IAM server certificate ARN, AWS provider docs, elb)
                if not self.present(lid, lb, ("listener", i, "ssl_certificate_id"),
                                    CERT_TYPES) and self._public.get(lb_id, True):
                    self.presented_unknown(f"listener {i} of {lb.address} presents a "
                                           "certificate known only after apply")
            for inst in self.ix.targets(lb, "instances", ["aws_instance"])[0]:
                self.b.relate(lb_id, self.rid(inst), RelationType.TARGETS, private=True)


def build(b: Builder) -> None:
    a = _Aws(b)
    a.firewalls()
    a.networks()
    a.instances()
    a.scaling_groups()
    a.app_configurations()
    a.volumes()
    a.databases()
    a.buckets()
    a.load_balancers()
    a.keys()
    a.trails()
    a.cdn()
    a.classic_load_balancers()
    a.snapshots()
    a.file_systems()
    a.certificates()
    a.mark_presented_unknown()
    a.dynamodb_tables()


def _https_only(policy: Any, bucket: str | None) -> bool | None:
    """A bucket policy's verdict on plain HTTP (denies_plain_http); None for a policy that
    is not a JSON document (not JSON, nested deeper than the decoder goes), as live reads
    one (providers/aws/normalize/storage.py: not read as "no policy")."""
    return None if policy_document(policy) is None else denies_plain_http(policy, bucket)
