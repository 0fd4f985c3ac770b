"""Every AWS API call the collector may make, declared once.

Each entry is one collection of the snapshot (named `<service>.<operation>` after boto3's
method) with the IAM action it needs, the model kinds it feeds (so the engine collects only
what the selected checks read and fails closed on exactly the right scope) and whether it is
read per region or once per account ("global"). The shipped read-only policy
(`readonly-policy.json`) must hold every action listed here; a test enforces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from scanner.model import ANY_PROPERTY, Kind

K = Kind

FLAGGED = "PostureFlaggedFields"  # names (never values) of fields that held secrets


@dataclass(frozen=True, slots=True)
class Api:
    name: str  # "<service>.<boto3 method>", the collection name
    action: str  # IAM action, e.g. "ec2:DescribeInstances"
    kinds: frozenset[Kind]
    scope: str  # "regional" | "global"
    description: str
    parent: str | None = None  # a call whose answer this one is made for (per resource)
    # What its failure can change in resources that WERE read (scanner.provider.Collection):
    # kind -> properties; {} nothing (the resources it lists are simply absent, or the
    # normalizer marks the affected ones in `Resource.unknown`); opens/closes: direction.
    affects: Mapping[Kind, frozenset[str]] = field(default_factory=dict)
    opens: bool = True
    closes: bool = True
    # The model properties its answer decides, per kind (PRODUCES); None: it lists
    # resources or shapes more than named properties (relations, exposure paths), so every
    # check on one of its kinds needs it. See `needed_by`.
    produces: Mapping[Kind, frozenset[str]] | None = None

    @property
    def service(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def method(self) -> str:
        return self.name.split(".", 1)[1]


def _a(name: str, action: str, kinds: set[Kind], description: str, scope: str = "regional",
       parent: str | None = None) -> Api:
    made = PRODUCES.get(name)
    return Api(name, action, frozenset(kinds), scope, description, parent,
               _affects(AFFECTS.get(name, {})), *DIRECTION.get(name, (True, True)),
               produces=None if made is None else _affects(made))


def _affects(spec: Mapping[Kind, set[str]]) -> Mapping[Kind, frozenset[str]]:
    return MappingProxyType({k: frozenset(v) for k, v in spec.items()})


# What each collection's failure can change in resources that were read (everything not
# named here: nothing, see Api.affects). Lists whose objects are resources themselves are
# not named: their resources are absent and the scope gets its own error finding. Security
# groups, network ACLs, route tables, subnets and prefix lists are not named either: the
# normalizer marks each machine whose layers they decide (`Resource.unknown`, a dangling
# reference or an unread layer), narrower than a whole region.
BACKUP_PROPS = {"backup_enabled", "backup_frequency_hours", "backup_retention_days",
                "backup_redundancy", "replica_regions"}
REACHED = {"ingress"}  # what a load balancer forwards to decides its targets' exposure
# whether a vault's recovery points are encrypted (ENC-02): a backup of a resource type AWS
# Backup does not fully manage keeps its source's encryption, none for an unencrypted one
VAULT_ENCRYPTION = {K.BACKUP_VAULT: {"encrypted", "encryption_evidence",
                                     "encryption_reference"}}
# what a trail records (its event selectors): LOG-01
TRAIL_RECORDS = {K.LOG_TRAIL: {"management_writes", "management_events",
                               "excluded_event_sources"}}
# whether a certificate sits on a public listener (TLS-03 judges only those)
ON_LISTENERS = {K.CERTIFICATE: {ANY_PROPERTY}}
AFFECTS: dict[str, dict[Kind, set[str]]] = {
    "ec2.describe_vpc_peering_connections": {K.NETWORK: {ANY_PROPERTY}},
    "ec2.describe_network_interfaces": {K.LOAD_BALANCER: {"public_ips", "private_ips"}},
    "ec2.describe_instance_attribute": {K.COMPUTE: {"plaintext_secrets"}},
    "ec2.describe_images": {K.COMPUTE: {"image", "image_deprecated"}},
    "ec2.describe_volumes": {K.COMPUTE: {"stateful"}},
    "rds.describe_db_instances": {K.DATABASE: {"public_endpoint"}},
    "rds.describe_db_instance_automated_backups": {
        K.DATABASE: {"replica_regions", "backup_redundancy"}},
    "elbv2.describe_load_balancers": {K.COMPUTE: REACHED, K.DATABASE: REACHED,
                                      **ON_LISTENERS},
    "elbv2.describe_tags": {K.LOAD_BALANCER: {"labels"}},
    "elbv2.describe_listeners": {K.LOAD_BALANCER: {"ingress"}, K.COMPUTE: REACHED,
                                 K.DATABASE: REACHED, **ON_LISTENERS},
    "elbv2.describe_ssl_policies": {K.LISTENER: {"min_tls"}},
    "elbv2.describe_target_groups": {K.LISTENER: {"target_port"}, K.COMPUTE: REACHED,
                                     K.DATABASE: REACHED},
    "elbv2.describe_target_health": {K.COMPUTE: REACHED, K.DATABASE: REACHED},
    "wafv2.get_web_acl_for_resource": {K.LOAD_BALANCER: {"waf", "waf_rate_limit"}},
    # not read at all: which certificates public listeners present is not known (a
    # certificate's "not used" skip or its pass is unsafe; a failure for one listener is
    # marked by the normalizer on the certificates it leaves in doubt)
    "elbv2.describe_listener_certificates": {K.CERTIFICATE: {"managed_renewal", "not_after",
                                                             "domains"}},
    "acm.describe_certificate": {K.CERTIFICATE: {"managed_renewal", "not_after", "domains"}},
    "kms.describe_key": {K.KEY: {"customer_managed", "rotation_enabled"}},
    "kms.get_key_rotation_status": {K.KEY: {"rotation_enabled"}},
    "cloudtrail.get_trail_status": {K.LOG_TRAIL: {"logging_enabled"}},
    "cloudtrail.get_event_selectors": TRAIL_RECORDS,
    "logs.describe_log_groups": {K.LOG_TRAIL: {"retention_days"}},
    "guardduty.list_detectors": {K.ACCOUNT: {"threat_detection_regions"}},
    "guardduty.get_detector": {K.ACCOUNT: {"threat_detection_regions"}},
    "backup.list_tags": {K.BACKUP_VAULT: {"labels"}},
    "backup.list_recovery_points_by_backup_vault": VAULT_ENCRYPTION,
    "backup.list_backup_plans": {K.COMPUTE: BACKUP_PROPS, K.VOLUME: BACKUP_PROPS,
                                 K.DATABASE: BACKUP_PROPS, K.BACKUP_VAULT: BACKUP_PROPS},
    "backup.get_backup_plan": {K.COMPUTE: BACKUP_PROPS, K.VOLUME: BACKUP_PROPS,
                               K.DATABASE: BACKUP_PROPS, K.BACKUP_VAULT: BACKUP_PROPS},
    "backup.list_backup_selections": {K.COMPUTE: BACKUP_PROPS, K.VOLUME: BACKUP_PROPS,
                                      K.DATABASE: BACKUP_PROPS},
    "backup.get_backup_selection": {K.COMPUTE: BACKUP_PROPS, K.VOLUME: BACKUP_PROPS,
                                    K.DATABASE: BACKUP_PROPS},
    "lambda.list_tags": {K.APP_SERVICE: {"labels"}},
    "lambda.list_versions_by_function": {K.APP_SERVICE: {"plaintext_secrets"}},
    # a task definition not described: its containers' environment and its tags unknown
    "ecs.describe_task_definition": {K.APP_SERVICE: {"plaintext_secrets", "labels"}},
    "s3.get_bucket_location": {K.BUCKET: {"region", "replica_regions", "backup_redundancy"}},
    "s3.get_bucket_encryption": {K.BUCKET: {"encrypted", "encryption_evidence"}},
    "s3.get_bucket_replication": {K.BUCKET: {"replica_regions", "backup_redundancy"}},
    "s3.get_bucket_policy": {K.BUCKET: {"https_only"}},
    "s3.get_bucket_tagging": {K.BUCKET: {"labels"}},
    "s3.get_bucket_lifecycle_configuration": {K.LOG_TRAIL: {"retention_days"}},
    "iam.list_policies": {K.IDENTITY: {"admin_grant"}},
    "iam.get_policy_version": {K.IDENTITY: {"admin_grant"}},
    "iam.get_login_profile": {K.IDENTITY: {"console_access"}},
    "iam.list_mfa_devices": {K.IDENTITY: {"mfa"}},
    "iam.list_access_keys": {K.IDENTITY: {"credentials"}},
    "iam.get_access_key_last_used": {K.IDENTITY: {"credentials"}},
    "wafv2.get_web_acl": {K.CDN: {"waf_rate_limit"}},
}
# (opens, closes) where only one direction is possible; every other: both.
ONLY_OPENS = (True, False)
DIRECTION: dict[str, tuple[bool, bool]] = {
    # a secret not scanned, a member instance not read, a forwarding path not read: the
    # unread data can only add a violation
    "ec2.describe_instance_attribute": ONLY_OPENS,
    "lambda.list_versions_by_function": ONLY_OPENS,
    # a load balancer's interfaces only add addresses: an internet-facing one is public by
    # its scheme (DNS name) whatever they say
    "ec2.describe_network_interfaces": ONLY_OPENS,
    "rds.describe_db_instances": ONLY_OPENS,
    "elbv2.describe_load_balancers": ONLY_OPENS,
    "elbv2.describe_listeners": ONLY_OPENS,
    "elbv2.describe_target_groups": ONLY_OPENS,
    "elbv2.describe_target_health": ONLY_OPENS,
    "elbv2.describe_listener_certificates": ONLY_OPENS,
    # unread event selectors can only take a trail's pass away (LOG-01 pass -> error); a
    # trail that fails for another reason fails whatever it records
    "cloudtrail.get_event_selectors": ONLY_OPENS,
}


# What each call that only fills properties decides, per kind: a selected check needs it
# only when it reads one of them on one of its kinds (`needed_by`). Each set is named in
# the call's `affects` too (a test holds them together), so a snapshot recorded without it
# makes `error` of the verdicts that read them. Calls not named here list resources or
# decide relations and exposure paths: every check on one of their kinds needs them.
# Labels decide roles and profile scopes, and the region is in every finding (ALWAYS_READ):
# the tag calls and s3.get_bucket_location are needed by every check on their kinds.
ALWAYS_READ = frozenset({"labels", "region"})
TRAIL_RETENTION = {K.LOG_TRAIL: {"retention_days"}}
BACKUP_SELECTED = {K.COMPUTE: BACKUP_PROPS, K.VOLUME: BACKUP_PROPS, K.DATABASE: BACKUP_PROPS}
# a plan's copy actions also decide where its vaults' recovery points are copied
BACKUP_COVERAGE = {**BACKUP_SELECTED, K.BACKUP_VAULT: {"replica_regions", "backup_redundancy"}}
PRODUCES: dict[str, dict[Kind, set[str]]] = {
    "ec2.describe_instance_attribute": {K.COMPUTE: {"plaintext_secrets"}},
    "ec2.describe_images": {K.COMPUTE: {"image", "image_deprecated"}},
    "rds.describe_db_instance_automated_backups": {
        K.DATABASE: {"replica_regions", "backup_redundancy"}},
    "elbv2.describe_tags": {K.LOAD_BALANCER: {"labels"}},
    "elbv2.describe_ssl_policies": {K.LISTENER: {"min_tls"}},
    "wafv2.get_web_acl_for_resource": {K.LOAD_BALANCER: {"waf", "waf_rate_limit"}},
    # which certificates public listeners present: what TLS-03 judges
    "elbv2.describe_listener_certificates": {K.CERTIFICATE: {"managed_renewal", "not_after",
                                                             "domains"}},
    "acm.describe_certificate": {K.CERTIFICATE: {"managed_renewal", "not_after", "domains"}},
    # the key manager also decides `implicit` (an AWS-managed key, INV-01)
    "kms.describe_key": {K.KEY: {"customer_managed", "rotation_enabled", "implicit"}},
    "kms.get_key_rotation_status": {K.KEY: {"rotation_enabled"}},
    "cloudtrail.get_trail_status": {K.LOG_TRAIL: {"logging_enabled"}},
    "cloudtrail.get_event_selectors": TRAIL_RECORDS,
    "logs.describe_log_groups": TRAIL_RETENTION,
    "guardduty.list_detectors": {K.ACCOUNT: {"threat_detection_regions"}},
    "guardduty.get_detector": {K.ACCOUNT: {"threat_detection_regions"}},
    "backup.list_tags": {K.BACKUP_VAULT: {"labels"}},
    "backup.list_recovery_points_by_backup_vault": VAULT_ENCRYPTION,
    "backup.list_backup_plans": BACKUP_COVERAGE,
    "backup.get_backup_plan": BACKUP_COVERAGE,
    "backup.list_backup_selections": BACKUP_SELECTED,
    "backup.get_backup_selection": BACKUP_SELECTED,
    # which resource types a selection by tags (or of every resource) protects
    "backup.describe_region_settings": BACKUP_SELECTED,
    # a DynamoDB table's global table replicas and its key (encrypted either way: which
    # evidence, config or provider); its recovery settings; its tags
    "dynamodb.describe_table": {K.DATABASE: {"replica_regions", "backup_redundancy",
                                             "encryption_evidence", "encryption_reference"}},
    "dynamodb.describe_continuous_backups": {K.DATABASE: {
        "pitr_enabled", "pitr_lag_minutes", "backup_enabled", "backup_frequency_hours",
        "backup_retention_days"}},
    "dynamodb.list_tags_of_resource": {K.DATABASE: {"labels"}},
    "dynamodb.list_global_tables": {K.DATABASE: {"replica_regions", "backup_redundancy"}},
    "lambda.list_tags": {K.APP_SERVICE: {"labels"}},
    "lambda.list_versions_by_function": {K.APP_SERVICE: {"plaintext_secrets"}},
    "ecs.describe_task_definition": {K.APP_SERVICE: {"plaintext_secrets", "labels"}},
    "s3.get_bucket_encryption": {K.BUCKET: {"encrypted", "encryption_evidence"}},
    "s3.get_bucket_replication": {K.BUCKET: {"replica_regions", "backup_redundancy"}},
    # read by no check: the access block is not what decides a verdict today
    "s3.get_public_access_block": {},
    "s3.get_bucket_policy": {K.BUCKET: {"https_only"}},
    "s3.get_bucket_tagging": {K.BUCKET: {"labels"}},
    # made only for the buckets trails write to (collect.AccountCollector.trail_buckets)
    "s3.get_bucket_lifecycle_configuration": TRAIL_RETENTION,
    "iam.list_policies": {K.IDENTITY: {"admin_grant"}},
    "iam.get_policy_version": {K.IDENTITY: {"admin_grant"}},
    "iam.get_login_profile": {K.IDENTITY: {"console_access"}},
    "iam.list_mfa_devices": {K.IDENTITY: {"mfa"}},
    "iam.list_access_keys": {K.IDENTITY: {"credentials"}},
    "iam.get_access_key_last_used": {K.IDENTITY: {"credentials"}},
    "wafv2.get_web_acl": {K.CDN: {"waf_rate_limit"}},
}
# Calls whose failure or absence the normalizer marks itself, on exactly the resources it
# could change (`Resource.unknown`), rather than through `affects`: the region's AWS Backup
# opt-in decides only resources a selection picks by tags or as "every resource"
# (backup.backup_of), not every backed-up resource of the region; a DynamoDB table's own
# reads decide that table only (dynamodb.tables marks it, RDS databases stand).
MARKED_BY_NORMALIZER = frozenset({
    "backup.describe_region_settings", "dynamodb.describe_table",
    "dynamodb.describe_continuous_backups", "dynamodb.list_tags_of_resource",
    "dynamodb.list_global_tables"})
# A call that needs another's answer besides its parent's (collect() adds it to the plan).
REQUIRES: dict[str, str] = {
    # rotation is read only for customer-managed symmetric keys: describe_key tells which
    "kms.get_key_rotation_status": "kms.describe_key",
    # made only for the buckets trails write to
    "s3.get_bucket_lifecycle_configuration": "cloudtrail.describe_trails",
}

NETWORKED = {K.COMPUTE, K.DATABASE, K.LOAD_BALANCER}

APIS: tuple[Api, ...] = (
    # --- account ---------------------------------------------------------------------
    _a("ec2.describe_regions", "ec2:DescribeRegions", {K.ACCOUNT},
       "regions enabled for the account (the default --regions)", "global"),
    # --- EC2 network -----------------------------------------------------------------
    _a("ec2.describe_vpcs", "ec2:DescribeVpcs", {K.NETWORK}, "VPCs"),
    _a("ec2.describe_subnets", "ec2:DescribeSubnets", {K.SUBNET, *NETWORKED}, "subnets"),
    _a("ec2.describe_route_tables", "ec2:DescribeRouteTables", {K.SUBNET, *NETWORKED},
       "route tables (is a subnet routed to an internet gateway?)"),
    _a("ec2.describe_internet_gateways", "ec2:DescribeInternetGateways",
       {K.NETWORK, *NETWORKED}, "internet gateways"),
    _a("ec2.describe_vpc_peering_connections", "ec2:DescribeVpcPeeringConnections",
       {K.NETWORK}, "VPC peerings"),
    _a("ec2.describe_security_groups", "ec2:DescribeSecurityGroups", {K.FIREWALL, *NETWORKED},
       "security groups (allow-only, union)"),
    _a("ec2.describe_network_acls", "ec2:DescribeNetworkAcls", {K.FIREWALL, K.COMPUTE},
       "network ACLs (ordered allow/deny)"),
    _a("ec2.describe_managed_prefix_lists", "ec2:DescribeManagedPrefixLists",
       {K.FIREWALL, *NETWORKED}, "managed prefix lists referenced by security groups"),
    _a("ec2.get_managed_prefix_list_entries", "ec2:GetManagedPrefixListEntries",
       {K.FIREWALL, *NETWORKED},
       "the CIDRs of every prefix list a security group or route names (customer and "
       "AWS-managed)",
       parent="ec2.describe_managed_prefix_lists"),
    _a("ec2.describe_network_interfaces", "ec2:DescribeNetworkInterfaces",
       {K.COMPUTE, K.LOAD_BALANCER}, "network interfaces (public IPs of load balancers)"),
    _a("ec2.describe_addresses", "ec2:DescribeAddresses", {K.PUBLIC_IP, K.COMPUTE},
       "elastic IPs"),
    # --- EC2 compute and storage -----------------------------------------------------
    _a("ec2.describe_instances", "ec2:DescribeInstances", {K.COMPUTE}, "instances"),
    _a("ec2.describe_instance_attribute", "ec2:DescribeInstanceAttribute", {K.COMPUTE},
       "user data of each instance, scanned for secrets and never stored",
       parent="ec2.describe_instances"),
    _a("ec2.describe_images", "ec2:DescribeImages", {K.COMPUTE},
       "the AMIs instances run (DeprecationTime)", parent="ec2.describe_instances"),
    _a("ec2.describe_volumes", "ec2:DescribeVolumes", {K.VOLUME, K.COMPUTE}, "EBS volumes"),
    _a("ec2.describe_snapshots", "ec2:DescribeSnapshots", {K.SNAPSHOT},
       "EBS snapshots owned by the account"),
    # --- RDS -------------------------------------------------------------------------
    _a("rds.describe_db_instances", "rds:DescribeDBInstances", {K.DATABASE}, "DB instances"),
    _a("rds.describe_db_clusters", "rds:DescribeDBClusters", {K.DATABASE}, "Aurora clusters"),
    _a("rds.describe_db_instance_automated_backups", "rds:DescribeDBInstanceAutomatedBackups",
       {K.DATABASE}, "automated backups, including cross-region replicated ones"),
    _a("rds.describe_db_snapshots", "rds:DescribeDBSnapshots", {K.SNAPSHOT}, "DB snapshots"),
    _a("rds.describe_db_cluster_snapshots", "rds:DescribeDBClusterSnapshots", {K.SNAPSHOT},
       "cluster snapshots"),
    # --- DynamoDB --------------------------------------------------------------------
    # A table is a database (BAK-01..03, ENC-01, RES-01/02, INV-02). Its per-table reads
    # decide only that table: the normalizer marks a table whose read failed (affects {}).
    _a("dynamodb.list_tables", "dynamodb:ListTables", {K.DATABASE}, "DynamoDB tables"),
    _a("dynamodb.describe_table", "dynamodb:DescribeTable", {K.DATABASE},
       "each table's ARN, encryption key (SSEDescription) and global table replicas",
       parent="dynamodb.list_tables"),
    _a("dynamodb.describe_continuous_backups", "dynamodb:DescribeContinuousBackups",
       {K.DATABASE}, "point-in-time recovery of each table (status, recovery period, latest "
       "restorable time)", parent="dynamodb.list_tables"),
    _a("dynamodb.list_tags_of_resource", "dynamodb:ListTagsOfResource", {K.DATABASE},
       "tags of each table", parent="dynamodb.list_tables"),
    # DescribeTable names the replicas of current global tables only (version 2019.11.21);
    # a legacy one's (2017.11.29) are its replication group, listed here
    _a("dynamodb.list_global_tables", "dynamodb:ListGlobalTables", {K.DATABASE},
       "legacy (version 2017.11.29) global tables with a replica in the region: their "
       "replication groups"),
    # --- ELBv2 -----------------------------------------------------------------------
    _a("elbv2.describe_load_balancers", "elasticloadbalancing:DescribeLoadBalancers",
       {K.LOAD_BALANCER, K.LISTENER}, "application/network load balancers"),
    _a("elbv2.describe_tags", "elasticloadbalancing:DescribeTags", {K.LOAD_BALANCER},
       "load balancer tags", parent="elbv2.describe_load_balancers"),
    _a("elbv2.describe_listeners", "elasticloadbalancing:DescribeListeners",
       {K.LISTENER, K.LOAD_BALANCER}, "listeners of each load balancer",
       parent="elbv2.describe_load_balancers"),
    # Its failure touches nothing else: the normalizer marks each listener whose rules were
    # not read (`redirects_to_https` unknown).
    _a("elbv2.describe_rules", "elasticloadbalancing:DescribeRules",
       {K.LISTENER}, "rules of each listener (what each path forwards to)",
       parent="elbv2.describe_listeners"),
    # DescribeListeners names a listener's default certificate only; its SNI certificates
    # (the certificate list) are DescribeListenerCertificates' (ELBv2 API Reference).
    _a("elbv2.describe_listener_certificates",
       "elasticloadbalancing:DescribeListenerCertificates", {K.CERTIFICATE},
       "certificates of each HTTPS and TLS listener (its default and SNI certificates)",
       parent="elbv2.describe_listeners"),
    _a("elbv2.describe_ssl_policies", "elasticloadbalancing:DescribeSSLPolicies",
       {K.LISTENER}, "SSL policies and their protocols"),
    _a("elbv2.describe_target_groups", "elasticloadbalancing:DescribeTargetGroups",
       {K.LISTENER, K.LOAD_BALANCER}, "target groups"),
    _a("elbv2.describe_target_health", "elasticloadbalancing:DescribeTargetHealth",
       {K.LOAD_BALANCER, K.COMPUTE, K.DATABASE}, "registered targets of each target group",
       parent="elbv2.describe_target_groups"),
    _a("wafv2.get_web_acl_for_resource", "wafv2:GetWebACLForResource", {K.LOAD_BALANCER},
       "the WAF web ACL of each application load balancer",
       parent="elbv2.describe_load_balancers"),
    # --- certificates, keys, logs, detection, backup ---------------------------------
    _a("acm.list_certificates", "acm:ListCertificates", {K.CERTIFICATE}, "ACM certificates"),
    _a("acm.describe_certificate", "acm:DescribeCertificate", {K.CERTIFICATE},
       "type, renewal eligibility and expiry of each certificate",
       parent="acm.list_certificates"),
    _a("kms.list_keys", "kms:ListKeys", {K.KEY}, "KMS keys"),
    _a("kms.list_aliases", "kms:ListAliases", {K.KEY}, "KMS aliases (names)"),
    _a("kms.describe_key", "kms:DescribeKey", {K.KEY}, "key manager, spec and state",
       parent="kms.list_keys"),
    _a("kms.get_key_rotation_status", "kms:GetKeyRotationStatus", {K.KEY},
       "automatic rotation of customer-managed symmetric keys", parent="kms.list_keys"),
    _a("cloudtrail.describe_trails", "cloudtrail:DescribeTrails", {K.LOG_TRAIL},
       "trails, including multi-region and organization trails seen from each region"),
    _a("cloudtrail.get_trail_status", "cloudtrail:GetTrailStatus", {K.LOG_TRAIL},
       "whether each trail is logging", parent="cloudtrail.describe_trails"),
    _a("cloudtrail.get_event_selectors", "cloudtrail:GetEventSelectors", {K.LOG_TRAIL},
       "what each trail records: its (advanced) event selectors, read once from its home "
       "region", parent="cloudtrail.describe_trails"),
    _a("logs.describe_log_groups", "logs:DescribeLogGroups", {K.LOG_TRAIL},
       "CloudWatch Logs groups: retention of the groups trails deliver to"),
    _a("guardduty.list_detectors", "guardduty:ListDetectors", {K.ACCOUNT},
       "GuardDuty detectors"),
    _a("guardduty.get_detector", "guardduty:GetDetector", {K.ACCOUNT},
       "detector status", parent="guardduty.list_detectors"),
    _a("backup.list_backup_vaults", "backup:ListBackupVaults", {K.BACKUP_VAULT},
       "AWS Backup vaults"),
    _a("backup.list_tags", "backup:ListTags", {K.BACKUP_VAULT}, "tags of each backup vault",
       parent="backup.list_backup_vaults"),
    _a("backup.list_recovery_points_by_backup_vault", "backup:ListRecoveryPointsByBackupVault",
       {K.BACKUP_VAULT}, "the recovery points of each vault (IsEncrypted)",
       parent="backup.list_backup_vaults"),
    _a("backup.list_backup_plans", "backup:ListBackupPlans",
       {K.BACKUP_VAULT, K.COMPUTE, K.VOLUME, K.DATABASE}, "AWS Backup plans"),
    _a("backup.get_backup_plan", "backup:GetBackupPlan",
       {K.BACKUP_VAULT, K.COMPUTE, K.VOLUME, K.DATABASE},
       "rules of each plan: schedule, retention, copy actions",
       parent="backup.list_backup_plans"),
    _a("backup.list_backup_selections", "backup:ListBackupSelections",
       {K.COMPUTE, K.VOLUME, K.DATABASE}, "selections of each plan",
       parent="backup.list_backup_plans"),
    _a("backup.get_backup_selection", "backup:GetBackupSelection",
       {K.COMPUTE, K.VOLUME, K.DATABASE}, "the resources and tags a selection covers",
       parent="backup.list_backup_plans"),
    _a("backup.describe_region_settings", "backup:DescribeRegionSettings",
       {K.COMPUTE, K.VOLUME, K.DATABASE},
       "the region's service opt-in: the resource types AWS Backup protects when a selection "
       "picks them by tags"),
    _a("lambda.list_functions", "lambda:ListFunctions", {K.APP_SERVICE},
       "Lambda functions (environment scanned for secrets, values never stored)"),
    _a("lambda.list_tags", "lambda:ListTags", {K.APP_SERVICE}, "tags of each Lambda function",
       parent="lambda.list_functions"),
    _a("lambda.list_versions_by_function", "lambda:ListVersionsByFunction", {K.APP_SERVICE},
       "published versions of each Lambda function (their environment scanned for secrets, "
       "values never stored)", parent="lambda.list_functions"),
    # ListTaskDefinitions names every ACTIVE revision (status=ACTIVE: a revision stays
    # ACTIVE, and its containers' environment readable, until it is deregistered);
    # DescribeTaskDefinition returns its container definitions (ECS API Reference).
    _a("ecs.list_task_definitions", "ecs:ListTaskDefinitions", {K.APP_SERVICE},
       "ECS task definitions (every ACTIVE revision)"),
    _a("ecs.describe_task_definition", "ecs:DescribeTaskDefinition", {K.APP_SERVICE},
       "containers and tags of each task definition (environment scanned for secrets, "
       "values never stored)", parent="ecs.list_task_definitions"),
    _a("bedrock.list_inference_profiles", "bedrock:ListInferenceProfiles",
       {K.MODEL_DEPLOYMENT}, "Bedrock inference profiles (cross-region processing)"),
    # --- global services -------------------------------------------------------------
    _a("s3.list_buckets", "s3:ListAllMyBuckets", {K.BUCKET}, "S3 buckets", "global"),
    _a("s3.get_bucket_location", "s3:GetBucketLocation", {K.BUCKET}, "bucket region",
       "global", "s3.list_buckets"),
    _a("s3.get_bucket_encryption", "s3:GetEncryptionConfiguration", {K.BUCKET},
       "default encryption", "global", "s3.list_buckets"),
    _a("s3.get_bucket_replication", "s3:GetReplicationConfiguration", {K.BUCKET},
       "replication rules and destinations", "global", "s3.list_buckets"),
    _a("s3.get_public_access_block", "s3:GetBucketPublicAccessBlock", {K.BUCKET},
       "public access block", "global", "s3.list_buckets"),
    _a("s3.get_bucket_policy", "s3:GetBucketPolicy", {K.BUCKET},
       "bucket policy (is plain HTTP denied?)", "global", "s3.list_buckets"),
    _a("s3.get_bucket_tagging", "s3:GetBucketTagging", {K.BUCKET}, "bucket tags", "global",
       "s3.list_buckets"),
    _a("s3.get_bucket_lifecycle_configuration", "s3:GetLifecycleConfiguration", {K.LOG_TRAIL},
       "lifecycle rules (how long a trail's log files are kept)", "global", "s3.list_buckets"),
    _a("iam.get_account_summary", "iam:GetAccountSummary", {K.IDENTITY},
       "root account MFA", "global"),
    _a("iam.get_account_authorization_details", "iam:GetAccountAuthorizationDetails",
       {K.IDENTITY}, "users, groups, roles, their inline and attached policies", "global"),
    _a("iam.list_policies", "iam:ListPolicies", {K.IDENTITY},
       "AWS-managed policies attached to someone", "global"),
    _a("iam.get_policy_version", "iam:GetPolicyVersion", {K.IDENTITY},
       "documents of attached AWS-managed policies", "global", "iam.list_policies"),
    _a("iam.get_login_profile", "iam:GetLoginProfile", {K.IDENTITY},
       "console password of each user", "global", "iam.get_account_authorization_details"),
    _a("iam.list_mfa_devices", "iam:ListMFADevices", {K.IDENTITY}, "MFA devices of each user",
       "global", "iam.get_account_authorization_details"),
    _a("iam.list_access_keys", "iam:ListAccessKeys", {K.IDENTITY}, "access keys of each user",
       "global", "iam.get_account_authorization_details"),
    _a("iam.get_access_key_last_used", "iam:GetAccessKeyLastUsed", {K.IDENTITY},
       "last use of each access key", "global", "iam.list_access_keys"),
    _a("iam.list_server_certificates", "iam:ListServerCertificates", {K.CERTIFICATE},
       "uploaded server certificates (used by listeners, never auto-renewed)", "global"),
    _a("cloudfront.list_distributions", "cloudfront:ListDistributions", {K.CDN},
       "CloudFront distributions", "global"),
    _a("wafv2.get_web_acl", "wafv2:GetWebACL", {K.CDN},
       "rules of the web ACLs CloudFront distributions use", "global",
       "cloudfront.list_distributions"),
)

BY_NAME: dict[str, Api] = {a.name: a for a in APIS}

# sts:GetCallerIdentity needs no permission; sts:AssumeRole is called only with --role-arn
# and is granted by the *caller's* policy and the role's trust policy, not by the read-only
# policy attached to the role.
STS_CALLS = ("sts:GetCallerIdentity", "sts:AssumeRole")


def closure(names: set[str]) -> set[str]:
    """`names` plus every parent they need (a per-resource call needs its list call) and
    every call whose answer they are made from (REQUIRES)."""
    out = set(names)
    stack = list(names)
    while stack:
        name = stack.pop()
        for parent in (BY_NAME[name].parent, REQUIRES.get(name)):
            if parent and parent not in out:
                out.add(parent)
                stack.append(parent)
    return out


def needed_by(kinds: Iterable[Kind], reads: Iterable[str] | None) -> set[str]:
    """The calls whose answers a check judging `kinds` and reading `reads` (None: any
    property) depends on: every call of its kinds, except those that only fill properties
    (PRODUCES) it does not read there."""
    wanted = frozenset(kinds)
    props = None if reads is None else frozenset(reads) | ALWAYS_READ
    out: set[str] = set()
    for api in APIS:
        common = api.kinds & wanted
        if not common:
            continue
        if api.produces is None or props is None or any(
                api.produces.get(k, frozenset()) & (props | {ANY_PROPERTY}) for k in common):
            out.add(api.name)
    return out
