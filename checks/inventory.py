"""Inventory: INV-01 (drift against infrastructure-as-code), INV-02 (classification labels)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from scanner.check import CheckContext, check
from scanner.findings import EvidenceLevel, Finding, Status
from scanner.model import Declaration, Kind, Resource

TAGGED_KINDS = (Kind.COMPUTE, Kind.DATABASE, Kind.VOLUME, Kind.BUCKET, Kind.LOAD_BALANCER,
                Kind.NETWORK, Kind.KEY_STORE, Kind.BACKUP_VAULT, Kind.APP_SERVICE)


@check(
    id="INV-02",
    reads=("labels",),
    title="Required classification labels are present (owner, environment, data "
          "classification)",
    severity="low",
    kinds=set(TAGGED_KINDS),
    rationale="Unowned, unclassified resources are the ones nobody patches, backs up or "
              "deletes.",
    remediation="Add the labels/tags named by required_labels.",
    references={"GDPR": ("Art. 32(2)",), "ISO27001": ("A.5.9", "A.5.12"),
                "C5": ("AM-01", "AM-06")},
    evidence={"hetzner": "labels", "aws": "tags", "azure": "tags"},
    parameters=("required_labels",),
)
def labels_present(ctx: CheckContext) -> Iterator[Finding]:
    required = list(ctx.params.required_labels)
    missing_for: dict[tuple[str, ...], list[str]] = {}  # per label keys, worked out once
    for r in ctx.graph.of_kind(*TAGGED_KINDS):
        keys = tuple(r.labels)
        missing = missing_for.get(keys)
        if missing is None:
            present = {k.lower() for k in keys}
            missing = missing_for[keys] = [label for label in required
                                           if label.lower() not in present]
        if missing:
            yield ctx.fail(r, f"missing label(s) {', '.join(missing)}", {"missing": missing})
        else:
            yield ctx.passed(r, "all required labels present", {"labels": required})


# --- INV-01: drift against infrastructure-as-code -------------------------------------------

# Kinds whose live resources infrastructure-as-code is expected to declare. Not judged:
# snapshots and backups (made by backup schedules at run time; BAK-02 judges those),
# identities (IAM-01..04; many exist without any declaration: the root user, service-linked
# roles, directory users) and the account itself (it holds the infrastructure-as-code).
# Resources the provider creates itself or that are part of another one carry `implicit`.
MANAGED_KINDS = (Kind.COMPUTE, Kind.DATABASE, Kind.LOAD_BALANCER, Kind.LISTENER, Kind.VOLUME,
                 Kind.BUCKET, Kind.NETWORK, Kind.SUBNET, Kind.FIREWALL, Kind.PUBLIC_IP,
                 Kind.CERTIFICATE, Kind.KEY, Kind.KEY_STORE, Kind.BACKUP_VAULT, Kind.LOG_TRAIL,
                 Kind.APP_SERVICE, Kind.CDN, Kind.MODEL_DEPLOYMENT)
_MANAGED = frozenset(MANAGED_KINDS)
_LISTED = 50  # addresses listed in a grouped finding's evidence


def _not_compared(ctx: CheckContext, source: str, group: str, why: str,
                  addresses: list[str]) -> Finding:
    """One `skip` per --iac file and group of declarations it does not compare, and why."""
    return Finding(check=ctx.check.id, resource=f"iac:{source}/not_compared/{group}",
                   status=Status.SKIP, severity=ctx.check.severity,
                   message=f"{len(addresses)} declared resource(s) not compared: {why}",
                   evidence={"reason": why, "count": len(addresses),
                             "addresses": sorted(addresses)[:_LISTED]},
                   resource_name=group, resource_kind="iac", provider="iac", account=source)


def _declared(d: Declaration, account: str) -> Resource:
    """The subject of a declared resource's finding: not a live resource, so it is named by
    its source and address; provider, account and region are the live scope it belongs to
    (a failed collection there turns its verdict into `error`)."""
    return Resource(id=f"iac:{d.source}/{d.address}", kind=d.kind or Kind.ACCOUNT,
                    provider=d.provider, account=account, name=d.address, region=d.region,
                    native_type=d.type)


@check(
    id="INV-01",
    title="Every live resource is managed by infrastructure-as-code, and every declared one "
          "is live",
    severity="medium",
    kinds=set(MANAGED_KINDS),
    rationale="A resource created by hand is invisible to code review, to the pipeline's "
              "checks and to the next rebuild; a declared resource that is not running means "
              "the code no longer describes production. Either way the inventory the page "
              "promises is out of sync with what runs.",
    remediation="Import unmanaged resources into Terraform (`terraform import` or an "
                "`import` block) or delete them; apply or remove declarations whose "
                "resource is gone (`terraform plan` shows the drift). Give every state with "
                "--iac, or tag what other tooling manages with the profile's managed_by_tag.",
    references={"GDPR": ("Art. 32(1)(b)", "Art. 32(1)(d)"),
                "ISO27001": ("A.5.9", "A.8.9", "A.8.32"),
                "C5": ("AM-01", "DEV-03", "DEV-08")},
    evidence={
        "aws": "every resource's ARN against the ARNs of the Terraform state or plan given "
               "with --iac (root and EBS volumes through aws_instance), or the "
               "managed_by_tag tag",
        "azure": "every resource's id (case-insensitively) against the ids of the state or "
                 "plan given with --iac (OS disks through the VM, inline subnets through "
                 "the virtual network), or the managed_by_tag tag",
        "hetzner": "every resource's id against the hcloud ids of the state or plan given "
                   "with --iac, or the managed_by_tag label",
    },
    parameters=("managed_by_tag", "managed_by_values"),
)
def managed_by_iac(ctx: CheckContext) -> Iterator[Finding]:
    graph = ctx.graph
    sources = sorted(graph.iac_sources)
    tag = (ctx.params.managed_by_tag or "").strip().lower()
    allowed = {v.strip().lower() for v in ctx.params.managed_by_values}
    live = [r for r in graph.resources.values() if not r.has_prop("iac")]  # not a plan's
    accounts = {(r.provider, r.account): r for r in live if r.kind is Kind.ACCOUNT}
    if not sources and not tag:
        why = ("not verifiable: no infrastructure-as-code to compare with (give the Terraform "
               "state or plan with --iac) and the profile names no managed_by_tag")
        for account in accounts.values():
            yield ctx.skip(account, why, {"iac": [], "managed_by_tag": None},
                           level=EvidenceLevel.NONE)
        return
    by_id: dict[tuple[str, str], list[Declaration]] = defaultdict(list)
    for d in graph.declarations:
        if d.native_id is not None:
            by_id[(d.provider, d.native_id)].append(d)
    # --- live -> declared: every live resource of a managed kind ------------------------
    for r in live:
        if r.kind not in _MANAGED:
            continue
        found = by_id.get((r.provider, r.native_id))
        if found:
            d = found[0]
            yield ctx.passed(r, f"declared in {d.source} as {d.address}", {
                "address": d.address, "iac": d.source,
                **({"also": [f"{o.source}: {o.address}" for o in found[1:]]}
                   if len(found) > 1 else {}),
                **({"actions": list(d.actions)} if d.actions and d.actions != ("no-op",)
                   else {})})
            continue
        value = next((v for k, v in r.labels.items() if k.lower() == tag), None) if tag else None
        if value is not None and value.strip().lower() in allowed:
            yield ctx.passed(r, f"tagged {ctx.params.managed_by_tag}={value}: managed by "
                                "infrastructure-as-code, by the operator's word",
                             {"tag": f"{ctx.params.managed_by_tag}={value}"},
                             level=EvidenceLevel.ATTESTED)
            continue
        implicit = r.prop("implicit")
        if implicit:
            yield ctx.skip(r, f"not declared on its own: {implicit}", {"implicit": implicit})
            continue
        where = " or ".join(filter(None, [
            f"not declared in {', '.join(sources)}" if sources else "",
            f"not tagged {ctx.params.managed_by_tag}="
            f"{'|'.join(ctx.params.managed_by_values)}" if tag else ""]))
        evidence: dict[str, Any] = {"iac": sources,
                                    "managed_by_tag": ctx.params.managed_by_tag}
        if value is not None:
            evidence["tag"] = f"{ctx.params.managed_by_tag}={value}"
        yield ctx.fail(r, f"unmanaged: {where}", evidence)
    if not sources:  # only the tag: the other direction cannot be compared
        for account in accounts.values():
            yield ctx.skip(account, "declared resources not compared with the live ones: no "
                                    "infrastructure-as-code given (--iac)",
                           {"iac": [], "managed_by_tag": ctx.params.managed_by_tag})
        return
    # --- declared -> live: every declaration of a managed kind in the scanned scope ------
    present = {(r.provider, r.native_id) for r in live}
    scanned: dict[str, dict[str, set[str]]] = defaultdict(dict)  # provider -> account -> regions
    for (provider, name), node in accounts.items():
        scanned[provider][name] = set(node.prop("regions") or ())
    for r in live:
        scanned[r.provider].setdefault(r.account, set())
    # (source, group, why) -> addresses of the declarations not compared
    aside: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for d in graph.declarations:
        if d.kind is None or d.kind not in _MANAGED:
            why = d.note or f"INV-01 does not judge {d.kind} resources"
            aside[(d.source, d.type, f"{d.type}: {why}")].append(d.address)
            continue
        if d.native_id is not None and (d.provider, d.native_id) in present:
            continue  # live: its resource's pass says so
        if d.native_id is None and "create" not in d.actions:
            aside[(d.source, d.type, f"{d.type}: {d.note or 'no cloud id'}")].append(d.address)
            continue
        known = scanned.get(d.provider, {})
        if d.account is not None and d.account not in known:
            aside[(d.source, f"{d.provider}/{d.account}",
                   f"{d.provider} account {d.account} was not scanned")].append(d.address)
            continue
        if d.account is None and not known:
            aside[(d.source, d.provider, f"no {d.provider} account was scanned")].append(
                d.address)
            continue
        if d.account is None and len(known) > 1:
            yield ctx.error(_declared(d, ""), f"not live in any of the {len(known)} scanned "
                            f"{d.provider} accounts, and {d.source} does not say which one "
                            "holds it", "unknown",
                            {"address": d.address, "iac": d.source, "native_id": d.native_id,
                             "accounts": sorted(known)})
            continue
        scope = d.account if d.account is not None else next(iter(known))
        regions = known[scope]
        if d.region is not None and regions and d.region not in regions:
            aside[(d.source, f"{d.provider}/{scope}/{d.region}",
                   f"region {d.region} of {d.provider} account {scope} was not "
                   "scanned")].append(d.address)
            continue
        created = d.native_id is None
        yield ctx.fail(_declared(d, scope),
                       "declared but not live: the plan creates it" if created else
                       f"declared but not live: no {d.kind} with id {d.native_id}",
                       {"address": d.address, "iac": d.source, "native_id": d.native_id,
                        **({"actions": list(d.actions)} if d.actions else {})})
    for (source, group, why), addresses in sorted(aside.items()):
        yield _not_compared(ctx, source, group, why, addresses)
