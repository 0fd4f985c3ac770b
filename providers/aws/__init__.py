"""AWS: collector (boto3, read-only, concurrent over regions and services) and normalizer.

`posture scan aws` reads the account of the default credential chain (or `--aws-profile`),
or each account whose read-only role `--role-arn` names, in every enabled region (or
`--regions`). See docs/aws.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from providers.aws.apis import APIS, BY_NAME, STS_CALLS, closure, needed_by
from providers.aws.normalize import normalize as _normalize
from scanner.model import Inventory, Kind
from scanner.provider import Collection, Provider
from scanner.snapshot import Section

if TYPE_CHECKING:
    from scanner.check import Check

COLLECTIONS: dict[str, Collection] = {
    a.name: Collection(a.name, a.kinds, (a.action,), a.description, affects=a.affects,
                       # the collector records every regional collection, per-resource ones
                       # too, in every region scanned (empty when nothing was listed)
                       per_region=a.scope == "regional", opens=a.opens,
                       closes=a.closes)
    for a in APIS
}
POLICY_FILE = "readonly-policy.json"


@cache
def shipped_policy() -> dict[str, Any]:
    """The read-only IAM policy shipped with posture (providers/aws/readonly-policy.json)."""
    loaded: dict[str, Any] = json.loads(
        resources.files("providers.aws").joinpath(POLICY_FILE).read_text())
    return loaded


def policy_actions(policy: Mapping[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in policy.get("Statement") or []:
        if statement.get("Effect") == "Allow":
            value = statement.get("Action") or []
            actions.update([value] if isinstance(value, str) else value)
    return actions


@cache
def _needed(kinds: frozenset[Kind], reads: frozenset[str] | None) -> frozenset[str]:
    return frozenset(needed_by(kinds, reads))


class AwsProvider(Provider):
    name = "aws"
    collections = COLLECTIONS
    # Every control of the catalogue has an AWS API behind it. IAM-03 is only partly
    # visible (a key pair is set; sshd's PasswordAuthentication is inside the instance):
    # the normalizer fills `ssh_key_only` from KeyName and docs/aws.md says so.
    not_visible: Mapping[str, str] = {}

    def collect(self, options: Mapping[str, Any], only: Iterable[str] | None = None
                ) -> list[Section]:
        from providers.aws import collect as _collect  # boto3: only for live scans

        return _collect.collect(options, only)

    def collections_for_checks(self, checks: Iterable[Check]) -> set[str]:
        """Every call of the checks' kinds, except the calls that only fill properties
        (providers.aws.apis.PRODUCES) none of them reads."""
        out: set[str] = set()
        for c in checks:
            out |= _needed(c.kinds, c.reads)
        return out

    def normalize(self, section: Section) -> Inventory:
        return _normalize(section)

    def permissions(self, collections: Iterable[str] | None = None) -> dict[str, Any]:
        # a call made for each resource of a list needs the list call too
        base = super().permissions(None if collections is None else closure(set(collections)))
        base["policy"] = {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "PostureReadOnly",
                "Effect": "Allow",
                "Action": base["calls"],
                "Resource": "*",
            }],
        }
        base["note"] = (
            "Attach this policy (or providers/aws/readonly-policy.json, which covers every "
            "check) to the user or role posture runs as; with --role-arn, to each role, whose "
            f"trust policy must let the caller call {STS_CALLS[1]}. posture calls only "
            "Describe*, List* and Get* operations.")
        return base


def calls_per_check(checks: Iterable[Check]) -> list[tuple[str, list[str]]]:
    """(check id, the IAM actions of every call its plan makes, parents included): the
    table of docs/aws.md, "What posture calls, per check"."""
    return [(c.id, sorted({BY_NAME[n].action for n in closure(set(_needed(c.kinds, c.reads)))}))
            for c in sorted(checks, key=lambda c: c.id)]


PROVIDER = AwsProvider()
