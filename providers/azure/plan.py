"""What an Azure scan collects for the selected checks (no Azure SDK import here).

Every check needs the collections of its kinds (scanner.provider.Provider.collections_for),
except a check that reads nothing of its resources but where they are and their tags
(`Check.reads` within LISTED_READS, RES-01 for one): Resource Manager's resource list
`GET /subscriptions/{id}/resources` (the resources client, no other SDK) names every tracked
resource with its `location` and `tags`, so such a check takes the resources of the lists
in STAND_INS from it, and reads only what that list lacks (STILL_NEEDED: resources that are
not tracked, and what decides a region it does not hold). The resource list answers
`GenericResourceExpanded` objects, without `properties`:
https://learn.microsoft.com/rest/api/resources/resources/list-by-subscription (the REST
operation ResourceManagementClient.resources.list calls).

A resource built from that list (normalize/context.py: a "stand-in") has every model
property in `Resource.unknown`: a snapshot recorded for RES-01 and scanned for other checks
gives `error` for them (and `not collected` for the lists they need), never a verdict made
without the properties. What a check needs of a recorded section (`needed_in`) follows how
the section was collected: with the resource list, the plan above plus any list of the
check's kinds that was read in full (its resources come from there); without it, every
collection of its kinds, as before (snapshots recorded before the resource list existed
judge the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from scanner.model import Kind

if TYPE_CHECKING:
    from scanner.check import Check

LISTED = "Microsoft.Resources/resources"
# What the resource list holds of each resource that a check may read: `location` (the
# resource's region) and `tags` (its labels, which also decide roles and profile scopes).
LISTED_READS = frozenset({"region", "labels"})
K = Kind
# The lists whose every object the resource list also names (tracked resources: its `type`
# is the collection's name), with the kinds their resources are.
STAND_INS: Mapping[str, frozenset[Kind]] = {
    "Microsoft.Compute/virtualMachines": frozenset({K.COMPUTE}),
    "Microsoft.Compute/virtualMachineScaleSets": frozenset({K.COMPUTE}),
    "Microsoft.Compute/disks": frozenset({K.VOLUME}),
    "Microsoft.Storage/storageAccounts": frozenset({K.BUCKET}),
    "Microsoft.Sql/servers": frozenset({K.DATABASE}),
    "Microsoft.Sql/servers/databases": frozenset({K.DATABASE}),
    "Microsoft.DBforPostgreSQL/flexibleServers": frozenset({K.DATABASE}),
    "Microsoft.DBforMySQL/flexibleServers": frozenset({K.DATABASE}),
    "Microsoft.KeyVault/vaults": frozenset({K.KEY_STORE}),
    "Microsoft.RecoveryServices/vaults": frozenset({K.BACKUP_VAULT}),
    "Microsoft.Network/loadBalancers": frozenset({K.LOAD_BALANCER}),
    "Microsoft.Network/applicationGateways": frozenset({K.LOAD_BALANCER}),
    "Microsoft.Web/sites": frozenset({K.APP_SERVICE}),
    "Microsoft.CognitiveServices/accounts": frozenset({K.MODEL_DEPLOYMENT}),
}
BY_TYPE = {name.lower(): name for name in STAND_INS}
# Per kind, what a check on it still reads besides the resource list: model deployments
# are proxy resources of their account (not in the list; their region is the account's),
# and the activity log's trail is the subscription's diagnostic settings, located where
# its destination is (a Log Analytics workspace, read in full for that; or a storage
# account, whose location the resource list holds).
STILL_NEEDED: Mapping[Kind, frozenset[str]] = {
    K.MODEL_DEPLOYMENT: frozenset({"Microsoft.CognitiveServices/accounts/deployments"}),
    K.LOG_TRAIL: frozenset({"Microsoft.Insights/diagnosticSettings",
                            "Microsoft.OperationalInsights/workspaces"}),
}
SERVED_KINDS = frozenset(k for kinds in STAND_INS.values() for k in kinds) | set(STILL_NEEDED)


def listed_suffices(check: Check) -> bool:
    """Can this check be judged from the resource list (plus STILL_NEEDED)?"""
    return (check.reads is not None and set(check.reads) <= LISTED_READS
            and bool(check.kinds) and set(check.kinds) <= SERVED_KINDS)


def listed_plan(kinds: Iterable[Kind]) -> set[str]:
    """The collections a check on `kinds` reads when the resource list serves it."""
    out = {LISTED}
    for kind in kinds:
        out |= STILL_NEEDED.get(kind, frozenset())
    return out


def stand_ins_of(kinds: Iterable[Kind]) -> set[str]:
    wanted = set(kinds)
    return {name for name, fed in STAND_INS.items() if fed & wanted}


def plan(checks: Iterable[Check], full: Mapping[str, set[str]]) -> set[str]:
    """What a live scan for `checks` collects. `full`: check id -> every collection of its
    kinds. The resource list is read only when some check can be judged from it and the
    plan does not read in full, anyway, every list that check would take from it."""
    checks = list(checks)
    out: set[str] = set()
    light = []
    for c in checks:
        if listed_suffices(c):
            light.append(c)
            out |= listed_plan(c.kinds)
        else:
            out |= full[c.id]
    if light and all(full[c.id] <= out - {LISTED} for c in light):
        out.discard(LISTED)
        for c in light:
            out |= full[c.id]
    return out


def made(only: Iterable[str], parents: Mapping[str, str | None]) -> tuple[set[str], set[str]]:
    """(the collections a live scan for `only` reads, with the parents its children are
    read for; the parents whose objects the resource list gives instead). `parents`:
    collection -> its parent collection."""
    only = set(only)
    wanted = set(only)
    for name in list(wanted):
        parent = parents.get(name)
        while parent:
            wanted.add(parent)
            parent = parents.get(parent)
    from_list = {n for n in wanted - only if n in STAND_INS} if LISTED in only else set()
    return wanted - from_list, from_list


def needed_in(check: Check, full: set[str], attempted: set[str]) -> set[str]:
    """What `check` needs of a section that attempted `attempted` (see the module doc)."""
    if LISTED in attempted and listed_suffices(check):
        return listed_plan(check.kinds) | (stand_ins_of(check.kinds) & attempted)
    return full
