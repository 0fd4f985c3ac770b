"""Hetzner Cloud: collector (official `hcloud` client, read-only) and normalizer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from providers.hetzner.apis import PATHS
from providers.hetzner.normalize import normalize as _normalize
from providers.hetzner.raw_fields import RAW_FIELDS
from scanner.model import ANY_PROPERTY, Inventory, Kind
from scanner.provider import Collection, Provider
from scanner.snapshot import Section


def _c(name: str, kinds: set[Kind], description: str,
       affects: Mapping[Kind, frozenset[str]] | None = None, opens: bool = True,
       closes: bool = True) -> Collection:
    path, params = PATHS[name]
    query = "&".join(f"{k}={','.join(v) if isinstance(v, list) else v}"
                     for k, v in params.items())
    return Collection(name, frozenset(kinds), (f"GET {path}" + (f"?{query}" if query else ""),),
                      description, affects=affects, opens=opens, closes=closes)


# What a failed read of each list can change in the resources that were read (the objects it
# lists are simply absent; their scope gets its own error finding). The normalizer marks a
# reference that dangles (a server's firewall, a load balancer's target, a primary IP's
# assignee) in `Resource.unknown` itself.
NOTHING: Mapping[Kind, frozenset[str]] = {}


COLLECTIONS = {
    c.name: c
    for c in (
        # Servers: what refers to them (targets, assignees) is marked dangling.
        _c("servers", {Kind.COMPUTE}, "servers: public/private addresses, image, backups",
           affects=NOTHING),
        # A firewall list that was not read: a server whose firewalls were not read is
        # judged open (no layer), and its firewalls could only close it. Servers list the
        # firewalls applied to them (public_net.firewalls), but hand-written and older
        # snapshots leave that empty, so every server's ingress is in doubt, closing only.
        _c("firewalls", {Kind.FIREWALL},
           "firewalls and what they are applied to (a server's exposure depends on them)",
           affects={Kind.COMPUTE: frozenset({"ingress"})}, opens=False, closes=True),
        # Networks: servers keep their private addresses; only NET-05 membership reads
        # networks, and it judges the (absent) networks themselves.
        _c("networks", {Kind.NETWORK, Kind.SUBNET}, "private networks and subnets",
           affects=NOTHING),
        # Load balancers forward public traffic to their targets: unread, a server may be
        # reached through one (opens only); a certificate may be in use by a public listener.
        _c("load_balancers", {Kind.LOAD_BALANCER, Kind.LISTENER},
           "load balancers, services, targets (they forward public traffic to servers)",
           affects={Kind.COMPUTE: frozenset({"ingress"}),
                    Kind.CERTIFICATE: frozenset({ANY_PROPERTY})}, opens=True, closes=False),
        # Certificates: listeners keep their protocol and TLS range; TLS-03 judges the
        # (absent) certificates.
        _c("certificates", {Kind.CERTIFICATE}, "TLS certificates (managed or uploaded)",
           affects=NOTHING),
        # Volumes make a server stateful (a data holder that needs backups): opens only.
        _c("volumes", {Kind.VOLUME}, "block volumes and their servers",
           affects={Kind.COMPUTE: frozenset({"stateful"})}, opens=True, closes=False),
        # A server's primary addresses are in its own public_net.
        _c("primary_ips", {Kind.PUBLIC_IP}, "primary IPs", affects=NOTHING),
        # Floating IPs add public addresses to servers: opens only.
        _c("floating_ips", {Kind.PUBLIC_IP},
           "floating IPs (add public addresses to servers)",
           affects={Kind.COMPUTE: frozenset({"public_ips"})}, opens=True, closes=False),
        # Images: backups are read from a server's backup_window, not from the images.
        _c("images", {Kind.SNAPSHOT}, "snapshots and backups (images of type snapshot/backup)",
           affects=NOTHING),
        # Locations name the project's regions (the account's `regions`).
        _c("locations", set(), "locations (names the section's locations)",
           affects={Kind.ACCOUNT: frozenset({"regions"})}),
    )
}


class HetznerProvider(Provider):
    name = "hetzner"
    collections = COLLECTIONS
    raw_fields = RAW_FIELDS
    not_visible: Mapping[str, str] = {
        "ENC-03": "Hetzner Cloud has no key management service",
        "LOG-01": "Hetzner Cloud has no audit log API for control-plane changes",
        "LOG-02": "Hetzner Cloud has no audit log API",
        "LOG-03": "Hetzner Cloud offers no threat detection service",
        "IAM-01": "project members and their MFA are not in the Cloud API",
        "IAM-02": "project roles are not in the Cloud API",
        "IAM-03": "sshd settings are inside the server, not in the API",
        "SEC-01": "the API never returns server user data",
        "BAK-01": "the API does not say where server backups are stored",
        "BAK-03": "Hetzner Cloud has no managed database with point-in-time recovery",
        "RES-02": "the API gives backups and snapshots no location",
        "RES-03": "Hetzner Cloud offers no model inference",
    }

    def collect(self, options: Mapping[str, Any], only: Iterable[str] | None = None
                ) -> list[Section]:
        from providers.hetzner import collect as _collect  # hcloud: only for live scans

        return [_collect.collect(options, only)]

    def normalize(self, section: Section) -> Inventory:
        return _normalize(section)

    def collections_for(self, kinds: Iterable[Kind]) -> set[str]:
        needed = super().collections_for(kinds)
        return needed | {"locations"} if needed else needed

    def permissions(self, collections: Iterable[str] | None = None) -> dict[str, Any]:
        base = super().permissions(collections)
        base["token"] = (
            "A Hetzner Cloud API token with the Read permission (Project > Security > API "
            "tokens > Generate > Read). posture makes only GET requests."
        )
        return base


PROVIDER = HetznerProvider()
