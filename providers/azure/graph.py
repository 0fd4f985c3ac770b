"""The Azure Resource Graph fast path: what it reads and how its answers become the bodies
the REST path records. No Azure SDK import here (collect.py sends the queries).

One paged KQL query per table over many subscriptions replaces the subscription-level list
calls (one per collection per subscription) of the collections Resource Graph holds
(`SERVED`). What it does not hold, or holds differently, stays on the REST path: child
resources (SQL firewall rules, databases, server configurations, vault keys, protected
items, deployments, web app config, VM image versions), the subscription itself, activity-log
diagnostic settings, Defender pricings and role assignments (other tables, or none).

Resource Graph answers only the resources the caller may read, silently: a credential
without read on a namespace would see "no such resources", where the REST list answers 403
(Resource Graph docs: "Resource Graph ... returns only the resources that the user has
access to", https://learn.microsoft.com/azure/governance/resource-graph/overview#permissions-in-azure-resource-graph).
So a collection is taken from Resource Graph only in a subscription where the caller's
permissions at subscription scope (Permissions - List For Subscription, a GET) grant its
`<type>/read`; elsewhere it is read with REST, whose 403 is an error, never an empty list.

Response shape (REST spec, specification/resourcegraph/resource-manager/
Microsoft.ResourceGraph/stable/2021-03-01/resourcegraph.json, QueryResponse):
`totalRecords`, `count`, `resultTruncated` ("true"/"false"), `$skipToken` (present while
more pages follow), `data` (with resultFormat objectArray: one object per row), `facets`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scanner.pages import PageGuard

GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
GRAPH_API = "2021-03-01"  # the azure-mgmt-resourcegraph client's api-version
PERMISSIONS_API = "2022-04-01"
PAGE_ROWS = 1000  # the largest `$top` Resource Graph accepts
# Subscriptions named in one query: Azure CLI's `az graph query` sends at most 1,000
# (azure-cli-extensions, src/resource-graph: __SUBSCRIPTION_LIMIT = 1000).
SUBSCRIPTIONS_PER_QUERY = 1000
AUTO_ABOVE = 3  # `--azure-resource-graph auto`: on when more subscriptions are scanned
MODES = ("auto", "on", "off")

RESOURCES, CONTAINERS = "Resources", "ResourceContainers"
# Collection -> (table, type as Resource Graph names it; it lowercases every type).
SERVED: dict[str, tuple[str, str]] = {
    name: (RESOURCES, name.lower()) for name in (
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/networkInterfaces",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/loadBalancers",
        "Microsoft.Network/applicationGateways",
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Compute/disks",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Sql/servers",
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "Microsoft.DBforMySQL/flexibleServers",
        "Microsoft.KeyVault/vaults",
        "Microsoft.RecoveryServices/vaults",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.CognitiveServices/accounts",
        "Microsoft.Web/sites",
    )
}
SERVED["Microsoft.Resources/resourceGroups"] = (
    CONTAINERS, "microsoft.resources/subscriptions/resourcegroups")
# The RBAC action a subscription-level list of each collection needs.
READ_ACTION = {name: f"{name}/read" for name in SERVED}
READ_ACTION["Microsoft.Resources/resourceGroups"] = (
    "Microsoft.Resources/subscriptions/resourceGroups/read")

# Columns of a row: the top-level fields of an ARM resource body, plus three Resource Graph
# adds (resourceGroup, subscriptionId, tenantId), which the REST bodies do not carry.
COLUMNS = ("id", "name", "type", "location", "resourceGroup", "subscriptionId", "tenantId",
           "kind", "sku", "properties", "tags", "identity", "zones", "extendedLocation",
           "managedBy", "plan")
ADDED = frozenset({"resourceGroup", "subscriptionId", "tenantId"})


class GraphIncomplete(ValueError):
    """A Resource Graph answer that is not the whole result (truncated, short, malformed)."""


def wanted_mode(options: Mapping[str, Any]) -> str:
    mode = str(options.get("azure_resource_graph") or "auto").lower()
    if mode not in MODES:
        raise ValueError(f"--azure-resource-graph {mode!r}: give auto, on or off")
    return mode


def enabled(options: Mapping[str, Any], subscriptions: int) -> bool:
    """Whether the fast path is used for a scan of this many readable subscriptions."""
    mode = wanted_mode(options)
    return mode == "on" or (mode == "auto" and subscriptions > AUTO_ABOVE)


def query(table: str, types: Iterable[str]) -> str:
    """The KQL of one table's query: every row of the types, the columns of an ARM body,
    ordered by id (paging with $skipToken needs `id` in the result; the order keeps pages
    stable)."""
    listed = ", ".join(f"'{t}'" for t in sorted(set(types)))
    return (f"{table} | where type in~ ({listed}) | project {', '.join(COLUMNS)} "
            "| order by id asc")


def tables(names: Iterable[str]) -> dict[str, dict[str, str]]:
    """table -> (Resource Graph type -> collection) for the collections served."""
    out: dict[str, dict[str, str]] = {}
    for name in names:
        table, rtype = SERVED[name]
        out.setdefault(table, {})[rtype] = name
    return out


def read_rows(send: Callable[[str | None], Any], what: str, limit: int) -> list[dict[str, Any]]:
    """Every row of one query, page by page (`send(skip_token)` -> the answer's JSON body).

    A repeated `$skipToken` or more pages than `limit` stop the loop (scanner.pages); an
    answer marked truncated with no page to follow, a `data` that is not a list of objects,
    or fewer rows than the `totalRecords` announced is an incomplete read (GraphIncomplete),
    never a complete one."""
    guard = PageGuard(what, limit)
    rows: list[dict[str, Any]] = []
    token: str | None = None
    total: int | None = None
    guard.page(None)
    while True:
        body = send(token)
        if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
            raise GraphIncomplete(f"{what}: an answer without a `data` list of rows")
        page = body["data"]
        if not all(isinstance(r, Mapping) and isinstance(r.get("id"), str) for r in page):
            raise GraphIncomplete(f"{what}: a row that is not an object with an id")
        rows.extend(dict(r) for r in page)
        if total is None and isinstance(body.get("totalRecords"), int):
            total = int(body["totalRecords"])
        nxt = body.get("$skipToken")
        if not nxt:
            if str(body.get("resultTruncated", "false")).lower() == "true":
                raise GraphIncomplete(f"{what}: the result is truncated and no page follows")
            break
        token = str(nxt)
        guard.page(token)  # a token already followed, or past the cap: PaginationError
    if total is not None and len(rows) < total:
        raise GraphIncomplete(f"{what}: {len(rows)} rows of the {total} announced")
    return rows


def as_arm(row: Mapping[str, Any], collection: str) -> dict[str, Any]:
    """A row as the REST list's body of the object: without the columns Resource Graph adds,
    without the empty columns it projects for fields the resource does not have (ARM leaves
    them out), and with the collection's type (Resource Graph lowercases types; ARM types
    are case-insensitive: https://learn.microsoft.com/azure/azure-resource-manager/
    management/resource-name-rules)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ADDED or value is None or value == "":
            continue
        out[key] = collection if key == "type" else value
    return out


def subscription_of(row: Mapping[str, Any]) -> str:
    """The subscription id of a row, from its resource id (lowercase)."""
    parts = str(row.get("id", "")).split("/")
    return parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""


def permitted(permissions: Sequence[Mapping[str, Any]], action: str) -> bool:
    """Whether Permissions - List For Subscription grants `action` (wildcards in actions and
    notActions; one permission entry must allow it without excluding it):
    https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions."""
    want = action.lower()

    def matches(patterns: Any) -> bool:
        return isinstance(patterns, list) and any(
            fnmatch.fnmatchcase(want, str(p).lower()) for p in patterns)

    return any(matches(p.get("actions")) and not matches(p.get("notActions"))
               for p in permissions if isinstance(p, Mapping))


def is_query_url(url: str, endpoint: str) -> bool:
    """Whether `url` is exactly a Resource Graph query on `endpoint`: its path, and no query
    parameter but one api-version. The one POST posture sends."""
    got, base = urlsplit(url), urlsplit(endpoint)
    params = parse_qs(got.query, keep_blank_values=True)
    return (got.scheme == "https" and got.netloc.lower() == base.netloc.lower()
            and got.path == base.path.rstrip("/") + GRAPH_PATH and not got.fragment
            and list(params) == ["api-version"] and len(params["api-version"]) == 1)

