"""What the Hetzner collector reads: each collection and the API list path it pages
through. No hcloud import here: replaying a snapshot, listing checks or permissions needs
none (the collector imports hcloud and requests, only for a live scan)."""

from __future__ import annotations

# Collections and the list path each reads; params narrow /images to what we judge.
PATHS: dict[str, tuple[str, dict[str, str | list[str]]]] = {
    "servers": ("/servers", {}),
    "firewalls": ("/firewalls", {}),
    "networks": ("/networks", {}),
    "load_balancers": ("/load_balancers", {}),
    "certificates": ("/certificates", {}),
    "volumes": ("/volumes", {}),
    "primary_ips": ("/primary_ips", {}),
    "floating_ips": ("/floating_ips", {}),
    "images": ("/images", {"type": ["snapshot", "backup"]}),
    "locations": ("/locations", {}),
}
