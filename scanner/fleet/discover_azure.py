"""Azure discovery: every subscription the credential sees, or those under a management
group, minus the excluded ones.

Subscriptions: `GET /subscriptions` (Microsoft.Resources/subscriptions/read, which Reader
on the subscription grants). A management group: `GET /providers/Microsoft.Management/
managementGroups/{id}/descendants` (api-version 2020-05-01; Microsoft.Management/
managementGroups/descendants/read, granted by Reader on the group), which lists every
management group and subscription below it at any depth, subscriptions with type
`/subscriptions` and their id as `name` (Management Groups REST API, "Get Descendants").
Disabled and deleted subscriptions are left out: Azure documents them as read-only or gone
(Subscription states); warned and past-due ones are scanned.
"""

from __future__ import annotations

from typing import Any

from scanner.errors import PostureError
from scanner.fleet.spec import AzureSource
from scanner.fleet.units import Unit

PERMISSIONS = {
    "the tenant (discovery)": [
        "Microsoft.Resources/subscriptions/read (list the subscriptions)",
        "Microsoft.Management/managementGroups/descendants/read (with management_group; "
        "Reader on the group grants it and Reader on every subscription below)",
    ],
    "each subscription": ["the Reader role (see `posture permissions azure`)"],
}
API_VERSION = "2020-05-01"
SKIPPED_STATES = ("disabled", "deleted")


def _options(source: AzureSource) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if source.cloud:
        out["azure_cloud"] = source.cloud
    if source.arm_endpoint:
        out["azure_arm_endpoint"] = source.arm_endpoint
    return out


def _client(options: dict[str, Any]) -> Any:
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    from providers.azure.collect import credential_of, endpoint_of

    endpoint, scope, authority = endpoint_of(options)
    return SubscriptionClient(credential_of(options, authority), base_url=endpoint,
                              credential_scopes=[scope])


def _descendants(client: Any, group: str) -> list[tuple[str, str]]:
    from azure.core.rest import HttpRequest

    url: str | None = (f"/providers/Microsoft.Management/managementGroups/{group}/descendants"
                       f"?api-version={API_VERSION}")
    found: list[tuple[str, str]] = []
    pages = 0
    while url and pages < 1000:
        pages += 1
        response = client.send_request(HttpRequest("GET", url))
        if response.status_code != 200:
            try:
                error = response.json().get("error", {})
            except ValueError:
                error = {}
            raise PostureError(
                f"fleet: azure discovery: management group {group!r}: HTTP "
                f"{response.status_code} {error.get('code', '')}: "
                f"{' '.join(str(error.get('message', '')).split())[:300]}")
        body = response.json()
        for item in body.get("value", []):
            if str(item.get("type", "")).lower().endswith("/subscriptions"):
                props = item.get("properties") or {}
                found.append((str(item.get("name", "")).lower(),
                              str(props.get("displayName", ""))))
        url = body.get("nextLink") or None
    return found


def discover(source: AzureSource) -> list[Unit]:
    from azure.core.exceptions import AzureError

    options = _options(source)
    try:
        client = _client(options)
        if source.management_group:
            subs = _descendants(client, source.management_group)
        else:
            subs = [(str(s.subscription_id).lower(), str(s.display_name or ""))
                    for s in client.subscriptions.list()
                    if str(s.state or "").lower() not in SKIPPED_STATES]
    except AzureError as exc:
        message = " ".join(str(getattr(exc, "message", exc)).split())[:300]
        raise PostureError(f"fleet: azure discovery: {type(exc).__name__}: {message}"
                           ) from None
    units = []
    for sid, name in sorted(set(subs)):
        if sid in source.exclude_subscriptions:
            continue
        if source.include_subscriptions and sid not in source.include_subscriptions:
            continue
        units.append(Unit("azure", sid, name, {**options, "subscription": [sid]}))
    return units
