"""Hetzner Cloud: collector (official `hcloud` client, read-only) and normalizer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from providers.hetzner.apis import PATHS
from providers.hetzner.normalize import normalize as _normalize
from scanner.model import Inventory, Kind
from scanner.provider import Collection, Provider
from scanner.snapshot import Section


def _c(name: str, kinds: set[Kind], description: str) -> Collection:
    path, params = PATHS[name]
    query = "&".join(f"{k}={','.join(v) if isinstance(v, list) else v}"
                     for k, v in params.items())
    return Collection(name, frozenset(kinds), (f"GET {path}" + (f"?{query}" if query else ""),),
                      description)


COLLECTIONS = {
    c.name: c
    for c in (
        _c("servers", {Kind.COMPUTE}, "servers: public/private addresses, image, backups"),
        _c("firewalls", {Kind.FIREWALL},
           "firewalls and what they are applied to (a server's exposure depends on them)"),
        _c("networks", {Kind.NETWORK, Kind.SUBNET}, "private networks and subnets"),
        _c("load_balancers", {Kind.LOAD_BALANCER, Kind.LISTENER},
           "load balancers, services, targets (they forward public traffic to servers)"),
        _c("certificates", {Kind.CERTIFICATE}, "TLS certificates (managed or uploaded)"),
        _c("volumes", {Kind.VOLUME}, "block volumes and their servers"),
        _c("primary_ips", {Kind.PUBLIC_IP}, "primary IPs"),
        _c("floating_ips", {Kind.PUBLIC_IP},
           "floating IPs (add public addresses to servers)"),
        _c("images", {Kind.SNAPSHOT}, "snapshots and backups (images of type snapshot/backup)"),
        _c("locations", set(), "locations (names the section's locations)"),
    )
}


class HetznerProvider(Provider):
    name = "hetzner"
    collections = COLLECTIONS
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
