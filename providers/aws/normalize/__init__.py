"""AWS API objects -> the provider-neutral model. Pure: no network.

One module per service family (network, compute, databases, storage, load_balancers, edge,
keys, trails, backup, identity, ai), each of small functions over one shared build context
(`context.Build`), the way checks/ is split by control family; `normalize` runs them in
order (the network context and backup coverage first: the others read them).

What AWS means, written down once here so that no check needs an AWS branch:
- Inbound traffic to an instance crosses three layers, outermost first: the subnet's route
  table (an ORDERED layer: the longest matching prefix decides, admitting a source only when
  its route leads to an internet gateway, i.e. when replies can get back), the subnet's
  network ACL (ORDERED by rule number, allow and deny, default deny) and the union of the
  interface's security groups (UNION, allow-only, default deny). A public IP whose address
  family has no route to an internet gateway at all is not reachable from the internet and
  is left out of `public_ips` (it stays in the raw object). Every interface counts: each
  public address is judged against its own interface's layers (compute.interface_paths).
- An RDS instance or Aurora cluster with `PubliclyAccessible` in a subnet group routed to an
  internet gateway has `public_endpoint`; its layers are the endpoint port and its security
  groups.
- An internet-facing ELBv2 load balancer answers on the public IPs of its network
  interfaces (and an NLB's elastic IPs); when none are visible its DNS name stands in, so
  that it is still judged as public (its `DNSName` is its `public_hostnames`, what the TLS
  probe connects to: the addresses behind it change). Its layers: its listener ports, then
  its security groups (an NLB without security groups filters nothing more). Its listeners
  forward to the targets of their target groups over the VPC (`private` targets); a
  listener is judged by its default actions and every rule (DescribeRules).
- What could not be read is never read as "no public IP" or "behind a firewall": the
  resource's `unknown` names it, in the direction the missing data could move a verdict (a
  security group not listed or a prefix list not resolved could only open; a route table
  or network ACL not read could only close; a failed per-resource read: the properties
  apis.AFFECTS says it decides, of exactly that resource).
- SSL policies map to their lowest protocol (DescribeSSLPolicies' answer); CloudFront's
  MinimumProtocolVersion too; SSLv3 is "0.3", below every TLS version.
"""

from __future__ import annotations

from providers.aws.apis import BY_NAME
from providers.aws.normalize import (
    ai,
    backup,
    compute,
    databases,
    dynamodb,
    edge,
    identity,
    keys,
    load_balancers,
    network,
    storage,
    trails,
)
from providers.aws.normalize.common import PROVIDER, TLS, implicit
from providers.aws.normalize.context import Build
from providers.aws.normalize.storage import denies_plain_http
from scanner.model import Inventory, Resource, Unread
from scanner.provider import inventory
from scanner.snapshot import GLOBAL, Section

NOT_ASSESSED = "not_assessed"  # engine.NOT_ASSESSED: the section's objects not judged

# Names other modules import (providers/terraform/aws.py, tests).
_TLS = TLS
_denies_plain_http = denies_plain_http
__all__ = ["_TLS", "_denies_plain_http", "implicit", "normalize"]


def normalize(section: Section) -> Inventory:
    ctx = Build.of(section)
    network.network(ctx)
    backup.backup_coverage(ctx)
    identity.account_resource(ctx)
    network.firewalls(ctx)
    network.networks(ctx)
    network.addresses(ctx)
    compute.instances(ctx)
    compute.volumes(ctx)
    databases.databases(ctx)
    dynamodb.tables(ctx)
    storage.buckets(ctx)
    load_balancers.load_balancers(ctx)
    edge.cdn(ctx)
    edge.certificates(ctx)
    load_balancers.mark_listener_certificates_unread(ctx)
    keys.keys(ctx)
    trails.trails(ctx)
    backup.vaults(ctx)
    compute.functions(ctx)
    compute.task_definitions(ctx)
    ai.inference(ctx)
    identity.identities(ctx)
    mark_child_failures(ctx)
    if ctx.skipped:  # named in NOT-ASSESSED findings (engine.not_assessed)
        section.add(NOT_ASSESSED, GLOBAL, sorted(ctx.skipped, key=lambda o: o["id"]))
    return inventory(PROVIDER, section, ctx.finished(), ctx.relations)


def mark_child_failures(ctx: Build) -> None:
    """A per-resource read that failed (`resource` names its parent, as the API gave it)
    leaves exactly the properties it decides (apis.AFFECTS) of exactly that resource
    unknown, in the direction the unread data could move them."""
    by_native: dict[str, list[Resource]] = {}
    for r in ctx.resources:
        native = r.native_id.lower()
        for key in {native, native.rsplit("/", 1)[-1], native.rsplit(":", 1)[-1],
                    r.name.lower()}:
            by_native.setdefault(key, []).append(r)
    for err in ctx.s.errors:
        parent, api = err.get("resource"), BY_NAME.get(str(err.get("collection")))
        if not parent or api is None or not api.affects:
            continue
        why = Unread(f"{api.name} for {parent} could not be read: {err.get('message')}",
                     reason=str(err.get("reason")), opens=api.opens, closes=api.closes)
        for r in by_native.get(str(parent).lower().strip("/"), []):
            props = api.affects.get(r.kind)
            if props:
                ctx.mark(r.id, sorted(props), why)
