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

from providers.aws.normalize import (
    ai,
    backup,
    compute,
    databases,
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
from scanner.model import Inventory
from scanner.provider import inventory
from scanner.snapshot import Section

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
    storage.buckets(ctx)
    load_balancers.load_balancers(ctx)
    edge.cdn(ctx)
    edge.certificates(ctx)
    keys.keys(ctx)
    trails.trails(ctx)
    backup.vaults(ctx)
    compute.functions(ctx)
    ai.inference(ctx)
    identity.identities(ctx)
    return inventory(PROVIDER, section, ctx.resources, ctx.relations)
