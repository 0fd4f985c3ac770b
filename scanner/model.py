"""The provider-neutral model every normalizer produces and every check reads.

A `Resource` has a kind from a closed vocabulary (`Kind`) and properties from a closed,
documented vocabulary (`PROPERTIES`): a check reads `resource.prop("public_ips")`, never a
provider's field. The raw API object stays on the resource for evidence and for the rare
provider-specific check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Kind(StrEnum):
    """The closed vocabulary of resource kinds."""

    COMPUTE = "compute"
    DATABASE = "database"
    LOAD_BALANCER = "load_balancer"
    LISTENER = "listener"
    VOLUME = "volume"
    SNAPSHOT = "snapshot"
    BUCKET = "bucket"
    NETWORK = "network"
    SUBNET = "subnet"
    FIREWALL = "firewall"
    PUBLIC_IP = "public_ip"
    CERTIFICATE = "certificate"
    KEY = "key"
    KEY_STORE = "key_store"
    BACKUP_VAULT = "backup_vault"
    LOG_TRAIL = "log_trail"
    ACCOUNT = "account"  # an AWS account, Azure subscription or Hetzner project
    IDENTITY = "identity"  # a user, role or principal that can be granted access
    APP_SERVICE = "app_service"  # managed web app / function endpoint (Azure App Service...)
    CDN = "cdn"  # edge entry point (CloudFront distribution, Azure Front Door)
    MODEL_DEPLOYMENT = "model_deployment"  # hosted model inference (Azure OpenAI, Bedrock)
    INTERNET = "internet"


class RelationType(StrEnum):
    """The closed vocabulary of relations between resources."""

    ATTACHED_TO = "attached_to"  # volume -> compute, public_ip -> compute, compute -> network
    MEMBER_OF = "member_of"  # subnet -> network, listener -> load_balancer
    PROTECTED_BY = "protected_by"  # compute -> firewall
    TARGETS = "targets"  # load_balancer -> compute
    USES_CERTIFICATE = "uses_certificate"  # listener -> certificate
    REPLICATES_TO = "replicates_to"  # bucket -> bucket, database -> database
    ENCRYPTED_WITH = "encrypted_with"  # volume -> key
    PEERED_WITH = "peered_with"  # network -> network
    BACKED_UP_BY = "backed_up_by"  # compute -> snapshot
    REACHES = "reaches"  # internet -> resource (added by exposure analysis)


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One documented property of the vocabulary."""

    type: str
    kinds: tuple[Kind, ...]
    doc: str


# The documented property vocabulary. Normalizers may set only these (a test enforces it);
# docs/model.md is generated from this table.
PROPERTIES: Mapping[str, PropertySpec] = MappingProxyType(
    {
        "public_ips": PropertySpec(
            "list[str]",
            (Kind.COMPUTE, Kind.DATABASE, Kind.LOAD_BALANCER),
            "Public IPv4 addresses and IPv6 networks the resource answers on.",
        ),
        "private_ips": PropertySpec(
            "list[str]",
            (Kind.COMPUTE, Kind.DATABASE, Kind.LOAD_BALANCER),
            "Addresses on private networks.",
        ),
        "ingress": PropertySpec(
            "tuple[RuleLayer, ...]",
            (Kind.COMPUTE, Kind.DATABASE, Kind.LOAD_BALANCER, Kind.BUCKET, Kind.APP_SERVICE),
            "Firewall layers inbound public traffic passes, outermost first (see scanner.rules).",
        ),
        "firewall_rules": PropertySpec(
            "list[dict]", (Kind.FIREWALL,), "Inbound rules in provider-neutral form."
        ),
        "encrypted": PropertySpec(
            "bool | None",
            (Kind.VOLUME, Kind.DATABASE, Kind.BUCKET, Kind.SNAPSHOT, Kind.COMPUTE,
             Kind.BACKUP_VAULT),
            "Encrypted at rest. None: the API does not say.",
        ),
        "encryption_evidence": PropertySpec(
            "str",
            (Kind.VOLUME, Kind.DATABASE, Kind.BUCKET, Kind.SNAPSHOT, Kind.COMPUTE,
             Kind.BACKUP_VAULT),
            "How `encrypted` is known: config (API setting), provider (guaranteed or documented "
            "by the provider for the type) or none (no API shows it).",
        ),
        "encryption_reference": PropertySpec(
            "str",
            (Kind.VOLUME, Kind.DATABASE, Kind.BUCKET, Kind.SNAPSHOT, Kind.COMPUTE,
             Kind.BACKUP_VAULT),
            "Documentation that backs a provider-level encryption statement.",
        ),
        "protocol": PropertySpec(
            "str", (Kind.LISTENER,), "Listener protocol: http, https, tcp or tls."
        ),
        "port": PropertySpec("int", (Kind.LISTENER,), "Port the listener accepts on."),
        "transport": PropertySpec(
            "list[str]", (Kind.LISTENER,), "Transport protocols the listener forwards (tcp, "
            "udp); absent: udp for a `udp` listener, else tcp."
        ),
        "target_port": PropertySpec("int", (Kind.LISTENER,), "Port traffic is forwarded to."),
        "target_groups": PropertySpec(
            "list[str]", (Kind.LISTENER,),
            "The target groups the listener forwards to on its `target_port` (the "
            "`target_group` of its load balancer's `targets` relations); absent: every target."
        ),
        "redirects_to_https": PropertySpec(
            "bool", (Kind.LISTENER,), "A plaintext listener that only redirects to HTTPS."
        ),
        "min_tls": PropertySpec(
            "str | None",
            (Kind.LISTENER, Kind.DATABASE, Kind.BUCKET, Kind.APP_SERVICE, Kind.CDN),
            "Lowest TLS version accepted (\"1.0\", \"1.1\", \"1.2\", \"1.3\").",
        ),
        "min_tls_reference": PropertySpec(
            "str", (Kind.LISTENER, Kind.DATABASE, Kind.BUCKET, Kind.APP_SERVICE, Kind.CDN),
            "Documentation that states the protocol range (evidence level provider)."
        ),
        "managed_renewal": PropertySpec(
            "bool", (Kind.CERTIFICATE,), "The provider renews the certificate automatically."
        ),
        "renewal_status": PropertySpec(
            "str | None", (Kind.CERTIFICATE,), "State of the provider's automatic renewal where "
            "the API gives one (Hetzner managed certificates: scheduled, pending, failed, "
            "unavailable); `failed`: the last renewal did not succeed."
        ),
        "not_after": PropertySpec(
            "str | None", (Kind.CERTIFICATE,), "Expiry, ISO 8601 UTC."
        ),
        "issued_at_apply": PropertySpec(
            "bool", (Kind.CERTIFICATE,), "A managed certificate the Terraform plan requests: "
            "the provider issues it at apply, so its expiry is known only then (plans only)."
        ),
        "domains": PropertySpec("list[str]", (Kind.CERTIFICATE,), "Names the certificate covers."),
        "backup_enabled": PropertySpec(
            "bool | None", (Kind.COMPUTE, Kind.DATABASE, Kind.VOLUME), "Automatic backups on."
        ),
        "backup_retention_days": PropertySpec(
            "int | None", (Kind.COMPUTE, Kind.DATABASE), "How long automatic backups are kept."
        ),
        "backup_frequency_hours": PropertySpec(
            "int | None", (Kind.COMPUTE, Kind.DATABASE), "Interval between automatic backups."
        ),
        "image": PropertySpec("str | None", (Kind.COMPUTE,), "Operating system image name."),
        "image_deprecated": PropertySpec(
            "str | None", (Kind.COMPUTE,), "When the vendor deprecated the image (ISO 8601)."
        ),
        "network_zone": PropertySpec(
            "str | None", (Kind.NETWORK, Kind.SUBNET), "Provider zone a network spans."
        ),
        "cidr": PropertySpec("str | None", (Kind.NETWORK, Kind.SUBNET), "Address range."),
        "size_gb": PropertySpec("int | None", (Kind.VOLUME,), "Size in GB."),
        "stateful": PropertySpec(
            "bool", (Kind.COMPUTE,), "Holds data of its own (attached volumes or a data role)."
        ),
        # --- public endpoints of managed services (PaaS) ------------------------------------
        "public_endpoint": PropertySpec(
            "bool | None",
            (Kind.DATABASE, Kind.BUCKET, Kind.APP_SERVICE, Kind.KEY_STORE, Kind.CDN,
             Kind.MODEL_DEPLOYMENT, Kind.LOAD_BALANCER),
            "The service answers on a public endpoint (AWS PubliclyAccessible, Azure "
            "publicNetworkAccess). Exposure analysis treats it like a public IP, filtered by "
            "`ingress` (service firewall rules).",
        ),
        "api_only": PropertySpec(
            "bool", (Kind.DATABASE,),
            "Reached only through its provider's API endpoint with signed requests (a "
            "DynamoDB table): no address, subnet or firewall of its own; NET-01 skips it.",
        ),
        "public_hostnames": PropertySpec(
            "list[str]", (Kind.LOAD_BALANCER, Kind.APP_SERVICE),
            "DNS names the resource answers on from the internet (AWS load balancer DNSName, "
            "Azure public IP FQDNs and App Service host names); the TLS probe connects to the "
            "first one.",
        ),
        "tls_probe": PropertySpec(
            "dict[str, Any] | None", (Kind.LISTENER, Kind.APP_SERVICE),
            "What a live TLS handshake probe (--probe-tls, scanner/probe.py) observed on the "
            "endpoint: the probe result recorded in the snapshot's `tls_probes` collection "
            "(accepted protocol versions, cipher, or the error). Not set: not probed; None: "
            "the section was probed but holds no result for this endpoint.",
        ),
        "https_only": PropertySpec(
            "bool | None", (Kind.BUCKET, Kind.APP_SERVICE, Kind.CDN),
            "Plain HTTP is refused or redirected (Azure supportsHttpsTrafficOnly/httpsOnly, "
            "CloudFront viewer protocol policy).",
        ),
        # --- resilience ---------------------------------------------------------------------
        "backup_redundancy": PropertySpec(
            "str | None", (Kind.DATABASE, Kind.BUCKET, Kind.BACKUP_VAULT, Kind.COMPUTE),
            "Where backup copies live: local (one site), zone (several zones of one region) or "
            "geo (a second region). None: unknown.",
        ),
        "replica_regions": PropertySpec(
            "list[str]", (Kind.DATABASE, Kind.BUCKET, Kind.BACKUP_VAULT, Kind.SNAPSHOT,
                          Kind.VOLUME, Kind.COMPUTE),
            "Provider regions holding replicas or backup copies (S3 CRR destinations, RDS "
            "cross-region backups, Azure GRS pair, SQL geo-replicas, AWS Backup copies).",
        ),
        "pitr_enabled": PropertySpec(
            "bool | None", (Kind.DATABASE,), "Point-in-time recovery is available."
        ),
        "pitr_lag_minutes": PropertySpec(
            "float | None", (Kind.DATABASE,),
            "Minutes between the latest restorable time and the collection time.",
        ),
        # --- keys and key stores ------------------------------------------------------------
        "customer_managed": PropertySpec(
            "bool", (Kind.KEY,), "A customer-managed key (not provider-owned)."
        ),
        "rotation_enabled": PropertySpec(
            "bool | None", (Kind.KEY,), "Automatic rotation is configured."
        ),
        "soft_delete": PropertySpec(
            "bool | None", (Kind.KEY_STORE,), "Deleted keys/secrets are recoverable."
        ),
        "purge_protection": PropertySpec(
            "bool | None", (Kind.KEY_STORE,), "Soft-deleted items cannot be purged early."
        ),
        # --- audit logs and detection -------------------------------------------------------
        "multi_region": PropertySpec(
            "bool | None", (Kind.LOG_TRAIL,),
            "The audit log covers every region of the account (Azure activity log: always).",
        ),
        "logging_enabled": PropertySpec(
            "bool | None", (Kind.LOG_TRAIL,), "The trail/setting is delivering logs now."
        ),
        "integrity_validation": PropertySpec(
            "bool | None", (Kind.LOG_TRAIL,),
            "Log files are integrity-protected (CloudTrail validation). None: no such feature.",
        ),
        "retention_days": PropertySpec(
            "int | None", (Kind.LOG_TRAIL,), "Days logs are kept; None: unknown; 0: forever."
        ),
        "management_writes": PropertySpec(
            "bool | None", (Kind.LOG_TRAIL,),
            "The trail records every control-plane change: its event selectors include "
            "management write events (no selectors: AWS's default, all). None: unknown.",
        ),
        "management_events": PropertySpec(
            "str", (Kind.LOG_TRAIL,), "What the trail's event selectors record, in words."
        ),
        "excluded_event_sources": PropertySpec(
            "list[str]", (Kind.LOG_TRAIL,),
            "Event sources left out of the management events it records (kms, rdsdata).",
        ),
        "global_service_events": PropertySpec(
            "bool | None", (Kind.LOG_TRAIL,),
            "The trail includes global service events (IAM, STS, CloudFront). None: unknown.",
        ),
        "regions": PropertySpec(
            "list[str]", (Kind.ACCOUNT,), "Regions enabled for the account (collected)."
        ),
        "threat_detection_regions": PropertySpec(
            "list[str] | None", (Kind.ACCOUNT,),
            "Regions where threat detection (GuardDuty, Defender for Cloud) is on; Azure "
            "plans are subscription-wide: [\"global\"]. None: unknown.",
        ),
        # --- identities ---------------------------------------------------------------------
        "principal_type": PropertySpec(
            "str", (Kind.IDENTITY,), "root, user, role, group, service_principal..."
        ),
        "console_access": PropertySpec(
            "bool | None", (Kind.IDENTITY,), "Can sign in interactively (console, portal)."
        ),
        "mfa": PropertySpec("bool | None", (Kind.IDENTITY,), "Has MFA enforced/enrolled."),
        "admin_grant": PropertySpec(
            "bool | None", (Kind.IDENTITY,),
            "Holds a wildcard admin grant (AWS `*` on `*`, Azure Owner/Contributor at "
            "subscription scope).",
        ),
        "admin_via": PropertySpec(
            "list[str]", (Kind.IDENTITY,),
            "What makes admin_grant true where a role's own permissions decide it (Azure "
            "custom roles: 'custom role NAME (GUID): ACTION'); absent otherwise.",
        ),
        "credentials": PropertySpec(
            "list[dict] | None", (Kind.IDENTITY,),
            "Long-lived credentials: {id, age_days, last_used_days (None: never)}. None: not "
            "known (the AWS root user's access keys when the account summary says nothing).",
        ),
        # --- machines -----------------------------------------------------------------------
        "ssh_key_only": PropertySpec(
            "bool | None", (Kind.COMPUTE,),
            "SSH password login disabled / key-based only (Azure "
            "disablePasswordAuthentication; AWS: a key pair is set).",
        ),
        "plaintext_secrets": PropertySpec(
            "list[str] | None", (Kind.COMPUTE, Kind.APP_SERVICE),
            "Fields in which the collector found secret-looking values (names, never values); "
            "None: the API read does not return the values (App Service app settings).",
        ),
        # --- edge protection ----------------------------------------------------------------
        "waf": PropertySpec(
            "bool | None", (Kind.LOAD_BALANCER, Kind.CDN, Kind.APP_SERVICE),
            "A web application firewall is associated.",
        ),
        "waf_rate_limit": PropertySpec(
            "bool | None", (Kind.LOAD_BALANCER, Kind.CDN, Kind.APP_SERVICE),
            "The WAF has a rate-based rule.",
        ),
        "ddos_protection": PropertySpec(
            "bool | None", (Kind.LOAD_BALANCER, Kind.CDN, Kind.NETWORK, Kind.COMPUTE),
            "DDoS protection covers it (Azure DDoS plan on the VNet, AWS Shield Advanced).",
        ),
        # --- model inference ----------------------------------------------------------------
        "processing_scope": PropertySpec(
            "str | None", (Kind.MODEL_DEPLOYMENT,),
            "Where requests may be processed: regional, data_zone or global.",
        ),
        "data_zone": PropertySpec(
            "str | None", (Kind.MODEL_DEPLOYMENT,),
            "For data_zone processing: the zone's jurisdiction (EU, US).",
        ),
        # --- infrastructure as code -----------------------------------------------------
        "iac": PropertySpec(
            "dict[str, Any]", tuple(k for k in Kind if k is not Kind.INTERNET),
            "Set by the Terraform source (docs/terraform.md): `address`, `actions`, "
            "`file`/`line` of the resource block (copied into its findings' evidence); "
            "`unknown`: properties whose value is not known until apply, each mapped to its "
            "least exposed value (the property holds the most exposed); the engine judges "
            "both and a verdict that differs is `error`; `judged: false`: context only "
            "(--changed-only), its findings are dropped; `parts`: addresses of the planned "
            "instances that make no resource of their own and are folded into this one (a "
            "group's separate rules, a VM's NICs, a load balancer's targets).",
        ),
        "implicit": PropertySpec(
            "str", tuple(k for k in Kind if k is not Kind.INTERNET),
            "Why the resource exists without a declaration of its own, in words: the provider "
            "created it (AWS default VPC, subnets, security group and network ACL, AWS-managed "
            "KMS keys, the default backup vault; a Hetzner primary IP created with its server) "
            "or it is part of another resource (a volume created by an instance's block device "
            "mapping, an Azure VM's OS disk, listeners and certificates inside an Azure "
            "application gateway, a Hetzner https service's port-80 redirect). "
            "INV-01 does not ask infrastructure-as-code to declare it. Not set: an ordinary "
            "resource.",
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Unread:
    """Why a property of a resource is not (fully) known, set by the normalizer.

    A normalizer records one where a read failed or a reference dangles: a NIC names a
    network security group that is not in the list that was read, a per-server child read
    (PostgreSQL `configurations`) was denied, a prefix list could not be resolved. The engine
    turns exactly the verdicts that read this property of this resource into `error`
    (docs/model.md, "Fail closed"), in the direction(s) the missing data could move them:

    - `opens`: the true value could add exposure or a violation, so a `pass` that read the
      property is not safe (a public IP list that could not be read);
    - `closes`: the true value could remove it, so a `fail` that read it is not safe (a
      network ACL or route table that could not be read may block the path).
    """

    why: str  # one line, names what could not be read ("nsg /subscriptions/... not listed")
    reason: str = "unknown"  # ErrorReason value, "dangling" or "unknown"
    opens: bool = True
    closes: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"why": self.why, "reason": self.reason, "opens": self.opens,
                "closes": self.closes}


ANY_PROPERTY = "*"  # an `unknown` key: nothing about the resource can be trusted


@dataclass(slots=True)
class Resource:
    """One resource of an estate, in provider-neutral terms.

    `id` is globally unique and stable across scans (provider, account, type, native id).
    `scope` names the collection scope it came from (provider, account, region) so that a
    failed collection can turn exactly the affected findings into errors.

    A value: nothing changes a resource once made; `dataclasses.replace` makes the changed
    copy (roles, fail closed). Not `frozen=True` only because a frozen dataclass's `__init__`
    sets each field through `object.__setattr__` (2.3 us against 0.45 us for its 12 fields),
    and a large scan makes one or two per raw object (as `Finding`). Never hashable either
    way: its `labels` and `properties` are dicts.
    """

    id: str
    kind: Kind
    provider: str
    account: str
    name: str
    region: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    roles: frozenset[str] = frozenset()
    native_type: str = ""
    # Properties whose value could not be (fully) read: property name (or ANY_PROPERTY) ->
    # why. Set by normalizers; the engine's fail-closed rule reads it.
    unknown: Mapping[str, Unread] = field(default_factory=dict, compare=False)

    def prop(self, name: str, default: Any = None) -> Any:
        """Read a documented property (a typo is a bug, so unknown names raise)."""
        if name not in PROPERTIES:
            raise KeyError(f"{name!r} is not a property of the model vocabulary")
        return self.properties.get(name, default)

    def has_prop(self, name: str) -> bool:
        return name in self.properties

    @property
    def native_id(self) -> str:
        """The cloud's own identifier of the resource: `id` without the `provider:account/`
        prefix that providers without globally unique ids put in front (AWS: the ARN; Azure:
        the lower-cased ARM resource id; Hetzner: `server/101`). What a `Declaration` of
        infrastructure-as-code names to match it (INV-01)."""
        return self.id.removeprefix(f"{self.provider}:{self.account}/")


@dataclass(slots=True)
class Relation:
    """A typed edge between two resources; `attrs` carries edge details (ports, layer...).

    A value, not `frozen=True` for the same reason as `Resource` (several per server)."""

    source: str
    target: str
    type: RelationType
    attrs: Mapping[str, Any] = field(default_factory=dict)


class ErrorReason(StrEnum):
    """Why a collection could not be read; findings in its scope become `error`."""

    DENIED = "denied"
    UNAUTHENTICATED = "unauthenticated"
    THROTTLED = "throttled"
    UNREACHABLE = "unreachable"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    BUG = "bug"


@dataclass(frozen=True, slots=True)
class CollectionError:
    """A call that failed, with its scope. Recorded instead of raised."""

    provider: str
    account: str
    collection: str
    region: str
    reason: ErrorReason
    message: str
    # A per-resource read (a child of one listed object) names its parent's id as the API
    # gave it; None: the read of a whole list in `region` failed.
    resource: str | None = None

    @property
    def scope(self) -> str:
        return f"{self.provider}:{self.account}/{self.region}/{self.collection}"


@dataclass(frozen=True, slots=True)
class Inventory:
    """What a normalizer produces from one snapshot section."""

    provider: str
    account: str
    resources: tuple[Resource, ...]
    relations: tuple[Relation, ...]
    errors: tuple[CollectionError, ...] = ()
    collected: frozenset[str] = frozenset()  # collection names attempted for this section
    # What an infrastructure-as-code source declares (INV-01); None: not such a source.
    declarations: tuple[Declaration, ...] | None = None


@dataclass(frozen=True, slots=True)
class Declaration:
    """One resource instance that infrastructure-as-code declares (a Terraform state or
    plan given with --iac), in the model's terms, for INV-01 to match with the live estate.

    `provider`, `kind` and `native_id` say which live resource it is: the one whose
    `Resource.native_id` is `native_id` (AWS ARN, lower-cased Azure id, Hetzner `type/id`).
    `kind` None: posture reads no live counterpart of this type (`note` says why).
    `native_id` None: it does not exist yet (a plan creates it). `account`/`region` None:
    the declaration does not say (a Hetzner state names no project; global resources).
    """

    source: str  # the infrastructure-as-code file, as given to --iac
    address: str  # Terraform address; `#part` for a sub-resource (an instance's root volume)
    type: str  # Terraform resource type
    provider: str  # aws, azure, hetzner; "" for a provider posture does not cover
    kind: Kind | None
    native_id: str | None
    account: str | None = None
    region: str | None = None
    actions: tuple[str, ...] = ()  # the plan's actions ("create", "no-op"...); () for a state
    note: str = ""
