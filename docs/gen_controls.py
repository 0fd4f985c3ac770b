"""Generate docs/controls.md from the checks' metadata (and the notes below).

Run from the repository root after changing a check's metadata, adding a check or changing a
provider's `not_visible` list:

    python docs/gen_controls.py          # rewrite docs/controls.md
    python docs/gen_controls.py --check  # exit 1 if docs/controls.md is out of date

Every registered built-in check gets a section entry from its metadata (title, severity,
rationale, what it reads per cloud, parameters, fix, references); the notes below add what
the metadata does not say (the exact verdict rules, evidence levels, what a normalizer reads
where the metadata is silent). A check without notes still gets its entry, its evidence
levels derived from the providers' `not_visible` lists. Catalogue controls no check
implements yet are listed as planned. tests/test_controls_doc.py fails when the committed
page differs from what this prints.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from scanner.check import Check
from scanner.profile import DEFAULT_ROLES, Parameters
from scanner.provider import Provider
from scanner.registry import load_checks, load_providers
from scanner.reports.html import FRAMEWORKS

OUT = Path(__file__).with_name("controls.md")
CLOUDS = [("aws", "AWS"), ("azure", "Azure"), ("hetzner", "Hetzner")]
# The catalogue (../shared/CONTROLS.md): every control id with its promise. A control no
# registered check implements is listed under "Planned controls".
CATALOGUE: dict[str, str] = {
    "NET-01": "Databases hold no public IP and accept no connections from the internet",
    "NET-02": "Administrative ports are never reachable from the internet beyond the operator "
              "VPN ranges",
    "NET-03": "Application servers have no public endpoint: public traffic terminates at load "
              "balancers",
    "NET-04": "Every internet-facing machine sits behind a cloud firewall",
    "NET-05": "Production, staging and development are segmented",
    "NET-06": "DDoS protection and WAF on public entry points; rate limiting",
    "NET-07": "No firewall rule admits administrative or database ports from the internet, "
              "whether or not anything uses the firewall yet",
    "TLS-01": "External endpoints accept TLS 1.2 or higher only",
    "TLS-02": "No plaintext external listener: HTTP redirects to HTTPS",
    "TLS-03": "Certificates on public endpoints are auto-renewed and not near expiry",
    "TLS-04": "(probe) the endpoint refuses TLS 1.0/1.1 when actually connected to",
    "ENC-01": "Persistent storage encrypted at rest (AES-256)",
    "ENC-02": "Backups and snapshots encrypted",
    "ENC-03": "Customer-managed keys rotated; key stores protected from purge",
    "RES-01": "Every resource that stores or processes data is in an allowed jurisdiction",
    "RES-02": "Replicas and backup copies stay in allowed jurisdictions",
    "RES-03": "Model inference stays in region",
    "BAK-01": "Backups are geo-redundant",
    "BAK-02": "Daily backups of every stateful resource",
    "BAK-03": "Point-in-time recovery available within the profile's window",
    "LOG-01": "Audit log of all control-plane changes, in every region",
    "LOG-02": "Logs retained for the profile's period",
    "LOG-03": "Threat detection / anomaly alerts on",
    "IAM-01": "MFA on every privileged and console account",
    "IAM-02": "Least privilege: no wildcard admin grants beyond the break-glass principals",
    "IAM-03": "SSH by key only, password login disabled",
    "IAM-04": "No dormant or unrotated credentials",
    "SEC-01": "No plaintext secrets in resource configuration",
    "VUL-01": "No machine runs an operating-system image its vendor has deprecated or retired",
    "INV-01": "Every live resource is managed by infrastructure-as-code, and every declared "
              "one is live",
    "INV-02": "Required classification tags present (owner, environment, data "
              "classification)",
}
# Sections by id prefix, in page order: (prefixes, title, intro).
SECTIONS: list[tuple[tuple[str, ...], str, str]] = [
    (("NET",), "Network exposure",
     "NET-01 to NET-04 judge the exposure computed once per scan ([model.md](model.md"
     "#exposure-analysis-and-reaches)): exactly what crosses every firewall layer from the "
     "internet, including what load balancers forward. NET-07 judges the firewall rules "
     "themselves, attached or not."),
    (("TLS",), "Encryption in transit",
     "\"External listener\" = a listener of a load balancer that has a public IP or "
     "endpoint."),
    (("ENC",), "Encryption at rest and keys",
     "An attested pass is reported as such, never as `config`: a claim verified only by "
     "labels shows `evidence: attested` in the claim report."),
    (("RES",), "Data residency",
     "Write `jurisdictions` in upper case ([profiles.md](profiles.md#parameters)). A country "
     "code allows that country only (`DE`), a bloc all its countries (`EU`)."),
    (("BAK",), "Backup and recovery", ""),
    (("LOG",), "Logging and monitoring", ""),
    (("IAM", "SEC"), "Identity, access and secrets", ""),
    (("VUL",), "Patching and vulnerability management", ""),
    (("INV",), "Inventory", ""),
]
# What a section's intro adds while a catalogue control of it is not implemented.
PLANNED_NOTE = {
    "TLS-04": "TLS-04 (probing the endpoint itself) is planned.",
    "INV-01": "INV-01 (drift against infrastructure-as-code) is planned.",
}

# What a check reads where its metadata does not say (from the normalizers).
READS: dict[str, dict[str, str]] = {
    "NET-01": {
        "aws": "RDS/Aurora `PubliclyAccessible` and the route of their subnets; instances "
               "tagged as databases: security groups, network ACLs, route tables, load balancer "
               "targets",
        "azure": "SQL, PostgreSQL and MySQL servers: `publicNetworkAccess`, firewall rules "
                 "(0.0.0.0-255.255.255.255 = everyone, 0.0.0.0-0.0.0.0 = all of Azure), VNet "
                 "integration; VMs recognised as databases: NIC and subnet NSGs",
    },
    "NET-02": {
        "aws": "security groups, network ACLs and route tables of each instance and load "
               "balancer; listeners and target groups",
        "azure": "subnet and NIC NSGs (both must allow; priorities, deny rules, service tags), "
                 "load balancer NAT rules, database firewall rules",
    },
    "NET-03": {
        "aws": "instances with a public IP (or an Elastic IP) and what their security groups, "
               "network ACLs and routes admit",
        "azure": "VMs with a public IP and what their NSGs admit (a Standard public IP is "
                 "closed without an NSG)",
    },
    "NET-04": {
        "aws": "security groups of instances with a public IP (a rule admitting all TCP ports "
               "from 0.0.0.0/0 counts as none)",
        "azure": "NIC and subnet NSGs of VMs with a public IP: none with a Basic public IP = "
                 "open; none with a Standard one = closed by default",
    },
    "TLS-01": {
        "aws": "ELBv2 HTTPS/TLS listener SSL policies (`SslProtocols`), CloudFront "
               "`MinimumProtocolVersion`",
        "azure": "Application Gateway SSL policy, storage `minimumTlsVersion`, SQL "
                 "`minimalTlsVersion`, App Service `minTlsVersion`, PostgreSQL "
                 "`ssl_min_protocol_version`, MySQL `tls_version` (both: "
                 "`require_secure_transport` OFF accepts plaintext)",
    },
    "TLS-02": {
        "aws": "ALB port-80 listeners (default action a redirect to HTTPS?), S3 bucket policies "
               "denying `aws:SecureTransport=false`, CloudFront viewer protocol policy",
        "azure": "Application Gateway HTTP listeners and redirects, storage "
                 "`supportsHttpsTrafficOnly`, App Service `httpsOnly`",
    },
    "TLS-03": {
        "aws": "ACM certificates on public listeners: `Type` (AMAZON_ISSUED renews itself, "
               "IMPORTED does not), `NotAfter`; IAM server certificates",
        "azure": "Application Gateway certificates: Key Vault reference (versionless = "
                 "auto-rotated) and the expiry in `publicCertData`",
    },
    "VUL-01": {},
    "NET-06": {
        "hetzner": "nothing: Hetzner Cloud offers no WAF, and the DDoS protection it gives "
                   "every address is not stated in the API; load balancers and networks are not "
                   "judged",
    },
    "IAM-04": {
        "hetzner": "nothing: the Cloud API has no users or credentials (API tokens are not "
                   "listed)",
    },
}
# Where the metadata promises more than the normalizer reads today: (check, cloud) -> text.
OVERRIDE: dict[tuple[str, str], str] = {}
VERDICT: dict[str, str] = {
    "NET-01": "`fail` if a database holds a public IP or endpoint (even if its firewall admits "
              "nothing today), or any path from the internet reaches it, directly or through a "
              "load balancer; else `pass`. Judges resources of kind `database` and compute "
              "resources with the role `database` (the profile's `roles`).",
    "NET-02": "`fail` if a TCP/UDP exposure from the internet overlaps an administrative or "
              "database port and admits a source outside `operator_cidrs`; else `pass`. Judges "
              "every compute, database and load balancer with a public IP or reached through a "
              "load balancer.",
    "NET-03": "`skip` for machines with a role in `public_roles`; `fail` if the internet "
              "reaches the machine directly (not through a load balancer); `pass` if it has no "
              "public IP or its firewall admits nothing. Databases are left to NET-01.",
    "NET-04": "`fail` if a machine with a public IP has no firewall layer and its provider "
              "leaves the address open, or its firewall admits every TCP port from the whole "
              "internet; `pass` otherwise (also for an address the provider closes by default).",
    "NET-05": "For each network labelled as production (`environment_label` in "
              "`production_values`): `fail` if it is peered with, or has members of, another "
              "environment; `pass` if it holds production only; `skip` for networks without the "
              "label.",
    "NET-06": "`fail` for a public load balancer, CDN or app service without a WAF, and for a "
              "network that holds a resource answering on a public IP but has no DDoS "
              "protection plan where the provider offers one (networks with nothing public are "
              "not judged); `pass` otherwise (the evidence says whether the WAF has a "
              "rate-limit rule); `error` when the association is not known.",
    "NET-07": "Judges every firewall resource (Hetzner firewall, AWS security group and "
              "network ACL, Azure NSG) by its inbound `firewall_rules`: `fail` if an allow rule "
              "whose source is the whole internet (`0.0.0.0/0`, `::/0`, `*`, `Internet`, "
              "`Any`) admits a TCP/UDP port of `admin_ports`/`database_ports` that no rule "
              "before it decides (network ACLs and NSGs: in priority order, deny rules "
              "included); `pass` otherwise, whether anything uses the firewall or not. A "
              "rule from a narrower range (an operator VPN, a single address) is NET-02's "
              "business when it reaches a machine.",
    "TLS-01": "External listeners and public managed services (storage, databases, web apps, "
              "CDNs): `pass` if the lowest accepted version is at least `min_tls`, else `fail`; "
              "`skip` (evidence `none`) for TCP pass-through, whose TLS the targets terminate; "
              "`error` if the lowest version is not known.",
    "TLS-02": "`fail` for a plain HTTP listener or service that serves content; `pass` for "
              "HTTPS, and for HTTP that only redirects to HTTPS; `skip` (evidence `none`) for "
              "TCP pass-through.",
    "TLS-03": "Certificates used by a public listener, as of the collection time: `fail` if "
              "expired, if uploaded/imported (nobody renews it) or managed but expiring within "
              "`certificate_min_days`; `error` without an expiry; else `pass`. Certificates no "
              "public listener uses are `skip`.",
    "TLS-04": "Every https, tls and tcp listener of a load balancer with a public IP or "
              "endpoint (TLS-01's external listeners) and every App Service with a public host "
              "name (port 443), as the probe recorded with `--probe-tls` saw it "
              "([commands.md](commands.md#tls-probe)): `fail` if the endpoint accepted a "
              "version below `min_tls` (SSL 2.0, SSL 3.0, TLS 1.0, TLS 1.1 with the default); "
              "`pass` if it refused every one of them and accepted one at or above; `error` if "
              "the probe failed (connection refused, timed out, name not resolved: reason "
              "`unreachable`; an https/tls endpoint that completed no handshake), if a version "
              "below `min_tls` could not be tested, or if a probed snapshot holds no result for "
              "the endpoint; `skip` (level `probe`) for a TCP pass-through that completed no "
              "TLS handshake of any version (not a TLS service). Without a probe: `skip` at "
              "level `none`, \"not probed: run with --probe-tls\", never `pass`.",
    "ENC-01": "`pass` if encrypted; else `pass` at level `attested` if the resource carries the "
              "profile's `encryption_attestation_label`; `fail` if not encrypted; `skip` (level "
              "`none`) where no API can tell; `error` if the API does not say.",
    "ENC-02": "As ENC-01, for snapshots and backup vaults.",
    "ENC-03": "Customer-managed keys: `fail` without automatic rotation (Azure: no `rotate` "
              "action in the key's rotation policy). Key stores: `fail` without soft delete or "
              "purge protection. `error` if not known; else `pass`.",
    "RES-01": "Each data-holding resource's region is looked up in posture's region catalogue "
              "(`scanner/data/regions.json`: region, country, blocs such as EU, EEA, UK, US): "
              "`pass` if one of the region's jurisdictions is in `jurisdictions`, else `fail`; "
              "`error` if the region is not known or not in the catalogue.",
    "RES-02": "For each resource with copies (replicas, geo-redundant storage, backup copies): "
              "`fail` if a copy's region is outside `jurisdictions`; `pass` if every copy is "
              "inside (or there is none); `error` for a region not in the catalogue.",
    "RES-03": "Model deployments: `fail` for global processing, or a data zone / region outside "
              "`jurisdictions`; `pass` for a regional or data-zone deployment inside; `error` "
              "if where requests are processed is not known.",
    "BAK-01": "`pass` if backups are geo-redundant (a copy in a second region); `fail` if only "
              "locally or zone redundant; `error` if not known.",
    "BAK-02": "Stateful resources (databases, machines with a role in `stateful_roles` or "
              "attached data volumes): `fail` if backups are off, less frequent than "
              "`backup_frequency_hours` or kept fewer than `backup_retention_days` days; "
              "`error` if not known; else `pass`.",
    "BAK-03": "Databases: `fail` without point-in-time recovery or with a latest restorable "
              "point older than `pitr_max_lag_minutes` at collection time; `error` if not "
              "known; else `pass`.",
    "LOG-01": "Per account/subscription: `pass` if an audit log covers every region with "
              "logging (and, where the provider offers it, integrity validation) on; `fail` if "
              "none does; `error` if a trail's state is not known.",
    "LOG-02": "Each audit log (trail, diagnostic setting): `pass` if its longest-lived copy is "
              "kept forever or at least `log_retention_days`; `fail` if fewer; `error` if not "
              "known (e.g. a trail's bucket in another account).",
    "LOG-03": "Per account/subscription: `pass` if threat detection is on in every enabled "
              "region (Azure: a Defender for Cloud Standard plan); `fail` if off anywhere; "
              "`error` if not known.",
    "IAM-01": "Root and every identity that can sign in to the console: `fail` without MFA; "
              "`error` if not known; else `pass`.",
    "IAM-02": "Every identity: `fail` if it holds a wildcard admin grant (`*` on `*`, "
              "`iam:*`; Owner/Contributor at subscription scope) and is not in "
              "`break_glass_principals`, naming the policy and statement (or custom role and "
              "action) that make it one; `pass` otherwise; `error` if its privileges are not "
              "known. The AWS root user is `skip` (it holds every privilege by nature; IAM-01 "
              "checks its MFA).",
    "IAM-03": "Machines: `fail` if SSH password login is possible; `pass` if key only; `error` "
              "if not known (Windows machines are not judged).",
    "IAM-04": "Identities with credentials: `fail` if one is older than "
              "`credential_max_age_days` or unused for more than `credential_max_unused_days`; "
              "else `pass`.",
    "SEC-01": "Machines and app services whose configuration was scanned at collection: `fail` "
              "if a value looked like a secret (the value itself is never stored, only the "
              "field name); else `pass`. Azure App Services whose app settings the read "
              "does not return (GET config/web answers them null): `skip`, level `none`. "
              "In a Terraform plan (every cloud, Hetzner servers too) the same attributes "
              "as planned, sensitive ones included: a value known only after apply, or "
              "planned only as a hash with no literal in the configuration, is `error` "
              "([terraform.md](terraform.md#plaintext-secrets-sec-01)).",
    "VUL-01": "Machines whose image's deprecation is known: `fail` if the vendor deprecated the "
              "image before the collection time; `pass` otherwise (a deprecation scheduled "
              "later says until when).",
    "INV-01": "With infrastructure-as-code given (`--iac` FILE: a `terraform.tfstate`, or "
              "`terraform show -json` of a state or plan; [terraform.md](terraform.md"
              "#drift-the-live-estate-against-its-state-inv-01)) or the profile's "
              "`managed_by_tag`: every live compute, database, load balancer, listener, volume, "
              "bucket, network, subnet, firewall, public IP, certificate, key, key store, backup "
              "vault, audit log, app service, CDN and model deployment `pass` if a declaration "
              "names its cloud id (AWS ARN, Azure id case-insensitively, Hetzner `type/id`; "
              "evidence: the address) or it carries `managed_by_tag` with a value of "
              "`managed_by_values` (`attested`); `skip` if the provider created it or it is part "
              "of another resource (property `implicit`: AWS default VPC/subnets/security "
              "group/network ACL, AWS-managed keys, launch-created volumes; Azure OS disks, "
              "application gateway listeners and certificates; Hetzner primary IPs created with "
              "their server, the port-80 redirect of an https service); else `fail` "
              "(unmanaged). Every declaration of those kinds whose account and region were "
              "scanned and whose id is not live: `fail` (declared but not live; a plan's "
              "creates too); `error` when it names no account and several were scanned; "
              "declarations out of the scanned scope, of types posture does not read live, of "
              "snapshots or identities: one `skip` per file and group, listing them. Snapshots, "
              "identities and the accounts themselves are not judged. Neither `--iac` nor "
              "`managed_by_tag`: one `skip` per account, level `none` (not verifiable, never "
              "`pass`). A collection of the scope that failed makes all of these `error`.",
    "INV-02": "Every taggable resource: `fail` if a label/tag named in `required_labels` is "
              "missing (keys compared case-insensitively); else `pass`.",
}
LEVELS: dict[str, str] = {
    "NET-01": "`config`",
    "NET-02": "`config`",
    "NET-03": "`config`",
    "NET-04": "`config`",
    "NET-05": "`config`",
    "NET-06": "`config`",
    "TLS-01": "`config`; `provider` on Hetzner (its documentation fixes the load balancers' TLS "
              "range, cited as `reference`) and wherever a managed policy's range comes from "
              "documentation; `none` for TCP pass-through",
    "TLS-02": "`config`; `none` for TCP pass-through",
    "TLS-03": "`config`",
    "TLS-04": "`probe` (a TLS handshake with the endpoint); `none` for an endpoint not probed "
              "(a scan without --probe-tls)",
    "ENC-01": "`config` where the API states it; `provider` where the provider encrypts every "
              "resource of the type (Azure managed disks) or documents that it does not "
              "(Hetzner volumes and disks, cited as `reference`); `attested` for a pass by the "
              "profile's label",
    "ENC-02": "`config` (AWS); `provider` (Azure Recovery Services vaults are always "
              "encrypted); `attested` for a pass by label; `none` on Hetzner",
    "ENC-03": "`config`; `none` on Hetzner",
    "RES-01": "`config`",
    "RES-02": "`config`; `none` on Hetzner",
    "RES-03": "`config`; `none` on Hetzner",
    "BAK-01": "`config`; `none` on Hetzner",
    "BAK-02": "`config`",
    "BAK-03": "`config`; `none` on Hetzner",
    "LOG-01": "`config`; `none` on Hetzner",
    "LOG-02": "`config`; `none` on Hetzner",
    "LOG-03": "`config`; `none` on Hetzner",
    "IAM-01": "`config` (AWS); `none` on Azure and Hetzner",
    "IAM-02": "`config`; `none` on Hetzner",
    "IAM-03": "`config`; `none` on Hetzner",
    "IAM-04": "`config` (AWS); `none` on Azure",
    "SEC-01": "`config`; `none` on Hetzner and for Azure App Service settings",
    "VUL-01": "`config`",
    "INV-01": "`config` (the live API and the infrastructure-as-code file); `attested` for a "
              "pass by `managed_by_tag`; `none` when neither is given",
    "INV-02": "`config`",
}


def _default(name: str) -> str:
    value = getattr(Parameters(), name)
    if name == "roles":
        return "rules for " + ", ".join(f"`{r}`" for r in DEFAULT_ROLES)
    if value is None or value == ():
        return "none"
    if isinstance(value, tuple):
        return ", ".join(str(x) for x in value)
    return str(value)


def _refs(c: Check) -> str:
    return "; ".join(f"{FRAMEWORKS[fw]} {', '.join(c.references[fw])}"
                     for fw in ("GDPR", "ISO27001", "C5") if c.references.get(fw))


def _levels(cid: str, providers: Mapping[str, Provider]) -> str:
    if cid in LEVELS:
        return LEVELS[cid]
    blind = [label for key, label in CLOUDS if cid in providers[key].not_visible]
    return "`config`" + (f"; `none` on {', '.join(blind)}" if blind else "")


def _section_of(cid: str) -> int:
    prefix = cid.split("-", 1)[0]
    return next((i for i, (prefixes, _, _) in enumerate(SECTIONS) if prefix in prefixes),
                len(SECTIONS))


HEADER = """# Controls

A control is a statement a security page makes that posture can check against the estate.
Control ids are stable public names (they appear in reports, SARIF rule ids, suppressions and
profiles): never renumbered, retired instead. This page documents the {count} checks posture has
(`posture checks --json`, `posture checks ID`): what each reads on every cloud, its evidence
levels, parameters, fix and compliance references, and where a provider's API cannot show it.
SARIF rules link here (`helpUri`: `docs/controls.md#<id>`). It is generated from the checks'
metadata by `python docs/gen_controls.py`: edit the metadata (or the notes in that script),
not this page.

Every check runs on the provider-neutral model ([model.md](model.md)); provider differences
live in the normalizers. `posture permissions PROVIDER --checks ID` prints the exact read-only
calls a check needs; if one of them fails or was not collected, the check's findings in that
scope become `error` (fail closed), never `pass`.

Evidence levels (see [output-formats.md](output-formats.md)): `config` read from the API;
`probe` observed by connecting to the endpoint (TLS-04, with `--probe-tls`); `provider`
guaranteed by the provider for every resource of the type (the documentation is cited as
`reference` in the evidence); `attested` only an operator's label says so (the profile's
`encryption_attestation_label`, `managed_by_tag`); `none` no API of that provider can show it.
A provider that cannot show a control at all declares it (`not_visible` in
`providers/*/__init__.py`): the scan then reports one `skip` finding at level `none` per
account, and a claim resting only on such findings is *not verifiable*; partly, *unknown*.

Compliance references are in each check's metadata: GDPR articles; ISO/IEC 27001:2022
Annex A controls; BSI C5:2020 criteria, cited by the ids of the German edition (`KOS` =
`COS` and `KRY` = `CRY` in the English one). `posture checks --framework iso27001` (or `c5`,
`gdpr`) lists each control with its checks; the Markdown and HTML claim reports summarise a
scan per framework.

| id | title | severity | not visible on |
|---|---|---|---|"""


def builtin_checks() -> dict[str, Check]:
    """The checks posture ships (plugins installed beside it are not documented here)."""
    return {cid: c for cid, c in load_checks().items() if c.module.startswith("checks.")}


def render(checks: Mapping[str, Check] | None = None,
           providers: Mapping[str, Provider] | None = None) -> str:
    """The text of docs/controls.md for these checks and providers (default: the built-in
    checks and the registered providers)."""
    checks = builtin_checks() if checks is None else checks
    providers = load_providers() if providers is None else providers
    order = sorted(checks, key=lambda cid: (_section_of(cid), cid))
    out = [HEADER.format(count=len(checks))]
    for cid in order:
        c = checks[cid]
        nv = ", ".join(label for key, label in CLOUDS if cid in providers[key].not_visible)
        out.append(f"| [{cid}](#{cid.lower()}) | {c.title} | {c.severity} | {nv or '—'} |")
    out.append("")
    sections = [*SECTIONS, ((), "Other controls", "")]
    for index, (_, title, intro) in enumerate(sections):
        ids = [cid for cid in order if _section_of(cid) == index]
        planned = [PLANNED_NOTE[p] for p in sorted(PLANNED_NOTE)
                   if p not in checks and _section_of(p) == index]
        if not ids:
            continue
        out += [f"## {title}", ""]
        text = " ".join(t for t in (intro, *planned) if t)
        if text:
            out += [text, ""]
        for cid in ids:
            out += _entry(checks[cid], providers)
    planned_ids = [cid for cid in CATALOGUE if cid not in checks]
    if planned_ids:
        out += ["## Planned controls", "",
                "In the catalogue, not implemented yet; a profile quotes the sentences they "
                "would verify with",
                "`verifiable = false` and a reason ([profiles.md](profiles.md#claims)).", "",
                "| id | control |", "|---|---|",
                *(f"| {cid} | {CATALOGUE[cid]} |" for cid in planned_ids), ""]
    return _wrap("\n".join(out))


def _entry(c: Check, providers: Mapping[str, Provider]) -> list[str]:
    cid = c.id
    out = [f"### {cid}", "", f"**{c.title}** ({c.severity})", ""]
    if c.rationale:
        out += [c.rationale, ""]
    out += ["| cloud | reads |", "|---|---|"]
    for key, label in CLOUDS:
        why = providers[key].not_visible.get(cid)
        if why:
            text = f"not visible: {why} (one `skip` finding, level `none`, per account)"
        else:
            text = (OVERRIDE.get((cid, key)) or c.evidence.get(key)
                    or READS.get(cid, {}).get(key)
                    or "nothing to judge: the provider has no such resources")
        out.append(f"| {label} | {text} |")
    out.append("")
    if cid in VERDICT:
        out.append(f"- Verdict: {VERDICT[cid]}")
    out.append(f"- Evidence levels: {_levels(cid, providers)}.")
    if c.parameters:
        ps = "; ".join(f"`{p}` (default {_default(p)})" for p in c.parameters)
        out.append(f"- Parameters: {ps}.")
    else:
        out.append("- Parameters: none.")
    if c.remediation:
        out.append(f"- Fix: {c.remediation}")
    if c.references:
        out.append(f"- References: {_refs(c)}.")
    out.append("")
    return out


def _wrap(text: str) -> str:
    """Bullets and long prose lines wrapped at 92 columns; tables and headings as they are."""
    lines: list[str] = []
    for line in text.split("\n"):
        if line.startswith("- ") and len(line) > 92:
            lines += textwrap.wrap(line, 92, subsequent_indent="  ", break_long_words=False,
                                   break_on_hyphens=False)
        elif not line.startswith(("|", "#", "- ", "  ")) and len(line) > 100:
            lines += textwrap.wrap(line, 92, break_long_words=False, break_on_hyphens=False)
        else:
            lines.append(line)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if docs/controls.md is out of date instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python docs/gen_controls.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
