"""Live scans against the local cloud servers under faults: the shared harness of
tests/test_faults.py and bench/bench_faults.py.

A `Cloud` knows how to start its server with a bundled estate, the environment that points
the real CLI at it, which collections each check reads, and how to take a collection down
(503 on every call) or deny it (403). The scenarios:

- `transient(cloud, seed, rate)`: a clean scan, then the same scan with the server's seeded
  fault mode on; the findings, claims and errors must be identical (retries recovered every
  fault).
- `down(cloud, collection, how)`: the collection answers 503 (or 403) on every call, on top
  of seeded transient faults elsewhere; exactly the checks reading it may be `error`, the
  exit code is 3 (`--fail-on none`: a failure would otherwise outrank it), every other
  finding is as in the clean scan, and no check reading it passes (a false pass).

Counts: calls the server received, faults injected per kind, calls retried (calls that
repeat an earlier call of the same scan), scans completed, false passes. An AWS cloud (moto)
plugs in as one more `Cloud` in CLOUDS.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from scanner.registry import load_checks, load_providers
from tests.azure_arm_server import ArmServer, sections_of
from tests.hcloud_server import FaultPlan, HcloudServer
from tests.helpers import ROOT, SEED002, run

# Small retry base and timeouts keep a faulty scan fast; 3 retries > FaultPlan.per_request.
RETRY_ENV = {"POSTURE_RETRY_BASE_SECONDS": "0.01", "POSTURE_TIMEOUT": "1",
             "POSTURE_MAX_RETRIES": "3"}
SLOW_SECONDS = 1.4  # past the 1 s client timeout


@dataclass
class Cloud:
    name: str
    source: str  # the CLI source (provider name)
    args: tuple[str, ...]  # profile and scope of the scan
    start: Callable[[], Any]  # a context manager yielding the started server
    env: Callable[[Any], dict[str, str]]
    down: Callable[[Any, str, str], None]  # (server, collection, "down" | "deny")
    affected: Callable[[str], set[str]]  # collection down -> collections that cannot be read
    reads: Callable[[str], set[str]]  # check id -> collections it reads
    account: str  # the account whose collection goes down
    down_reason: dict[str, str] = field(default_factory=lambda: {"down": "unreachable",
                                                                 "deny": "denied"})


# --- Hetzner --------------------------------------------------------------------------------

HCLOUD_TOKEN = "hcloud-fault-token-0123456789abcdef0123456789abcdef0123456789abc"


def hetzner_data(copies: int = 1) -> dict[str, list[dict[str, Any]]]:
    """The seed 002 project; with `copies` > 1, that many private copies of each server
    (more list pages: the API gives at most 50 objects a page)."""
    doc = json.loads(SEED002.read_text())
    data = {name: regions["global"]
            for name, regions in doc["sections"][0]["collections"].items()}
    originals = list(data["servers"])
    for i in range(1, copies):
        data["servers"].extend(
            {**s, "id": s["id"] + 10_000 * i, "name": f"{s['name']}-copy{i}",
             "public_net": {"firewalls": [], "floating_ips": [], "ipv4": None, "ipv6": None},
             "private_net": [], "volumes": [], "load_balancers": []} for s in originals)
    return data


@contextmanager
def hetzner_server(copies: int = 1) -> Iterator[HcloudServer]:
    with HcloudServer(hetzner_data(copies), token=HCLOUD_TOKEN) as server:
        yield server


def hetzner_down(server: HcloudServer, collection: str, how: str) -> None:
    if how == "deny":
        server.fail(collection, 403, "forbidden")
    else:
        server.fail(collection, 503, "unavailable")


def hetzner_reads(check_id: str) -> set[str]:
    provider = load_providers()["hetzner"]
    return provider.collections_for(load_checks()[check_id].kinds)


HETZNER = Cloud(
    name="hetzner", source="hetzner", args=("--profile", "seed-002"), start=hetzner_server,
    env=lambda s: {"HCLOUD_ENDPOINT": s.url, "HCLOUD_TOKEN": HCLOUD_TOKEN,
                   "POSTURE_HETZNER_PROJECT": "ohallo-prod"},
    down=hetzner_down, affected=lambda c: {c}, reads=hetzner_reads, account="ohallo-prod")


# --- Azure ----------------------------------------------------------------------------------

AZURE_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-fault-token"
SUB0 = "0b1f6471-1bf0-4dda-aec3-000000000000"
AZURE_SEED000 = ROOT / "fixtures" / "azure" / "seed000-azure.json"


@contextmanager
def azure_server() -> Iterator[ArmServer]:
    with ArmServer(sections_of(AZURE_SEED000), token=AZURE_TOKEN) as server:
        yield server


def azure_down(server: ArmServer, collection: str, how: str) -> None:
    if how == "deny":
        server.fail(collection.lower(), 403, "AuthorizationFailed")
    else:
        server.fail(collection.lower(), 503, "ServiceUnavailable")


def azure_affected(collection: str) -> set[str]:
    from providers.azure.collect import SPECS

    out = {collection}
    changed = True
    while changed:
        more = {s.name for s in SPECS if s.parent in out} - out
        out |= more
        changed = bool(more)
    return out


def azure_reads(check_id: str) -> set[str]:
    from providers.azure.collect import wanted_with_parents

    provider = load_providers()["azure"]
    return wanted_with_parents(provider.collections_for(load_checks()[check_id].kinds))


AZURE = Cloud(
    name="azure", source="azure", args=("--profile", "default", "--subscription", SUB0),
    start=azure_server,
    env=lambda s: {"POSTURE_AZURE_ARM_ENDPOINT": s.url, "POSTURE_AZURE_ACCESS_TOKEN":
                   AZURE_TOKEN, "REQUESTS_CA_BUNDLE": s.ca_file},
    down=azure_down, affected=azure_affected, reads=azure_reads, account=SUB0)

CLOUDS: dict[str, Cloud] = {"hetzner": HETZNER, "azure": AZURE}
# AWS: add a Cloud whose server is moto (tests/aws_proxy.py) with a fault mode, and list it.

# The "stays down" scenarios per cloud: (collection, "down" (503) or "deny" (403)).
DOWN: dict[str, tuple[tuple[str, str], ...]] = {
    "hetzner": (("firewalls", "down"), ("volumes", "deny")),
    "azure": (("Microsoft.Network/networkSecurityGroups", "down"),
              ("Microsoft.Sql/servers", "deny")),
}


# --- scans and their comparison ---------------------------------------------------------------


@dataclass
class Scan:
    exit_code: int
    doc: dict[str, Any]
    stderr: str
    calls: int
    retried: int  # calls repeating an earlier call of the scan (method and path with query)
    faults: Counter[str]
    seconds: float


def live_scan(cloud: Cloud, server: Any, *extra: str) -> Scan:
    before = len(server.requests)
    started = time.perf_counter()
    result = run("scan", cloud.source, *cloud.args, "--format", "json", "--no-timestamps",
                 *extra, env={**cloud.env(server), **RETRY_ENV})
    seconds = time.perf_counter() - started
    doc = json.loads(result.stdout) if result.stdout.strip() else {}
    calls = list(server.requests)[before:]
    return Scan(result.exit_code, doc, result.stderr, len(calls), len(calls) - len(set(calls)),
                server.fault_counts, seconds)


def verdicts(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {f["id"]: (f["status"], f["message"]) for f in doc.get("findings", [])}


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """Findings, claims and errors of a result, without the evidence's `as_of` (the time a
    live scan collected: it differs between two live scans by design)."""
    findings = [{**f, "evidence": {k: v for k, v in (f.get("evidence") or {}).items()
                                   if k != "as_of"}} for f in doc.get("findings", [])]
    return {"findings": findings, "claims": doc.get("claims"), "errors": doc.get("errors")}


def false_passes(cloud: Cloud, doc: dict[str, Any], unreadable: set[str]) -> list[str]:
    """Findings that pass although their check reads a collection that could not be read in
    their account."""
    return [f["id"] for f in doc.get("findings", [])
            if f["status"] == "pass" and f.get("account") == cloud.account
            and cloud.reads(f["check"]) & unreadable]


@dataclass
class Outcome:
    cloud: str
    scenario: str
    seed: int
    rate: float
    exit_code: int
    clean_exit_code: int
    calls: int
    clean_calls: int
    faults: dict[str, int]
    retried: int
    completed: bool
    identical: bool
    false_passes: list[str]
    unexpected_errors: list[str]
    changed_outside_scope: list[str]
    seconds: float
    errors: list[tuple[str, str]] = field(default_factory=list)  # (collection, reason)
    stderr: str = ""

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "stderr"}


def plan(seed: int, rate: float) -> FaultPlan:
    return FaultPlan(seed=seed, rate=rate, slow_seconds=SLOW_SECONDS, retry_after=0)


def transient(cloud: Cloud, seed: int, rate: float) -> Outcome:
    """Clean scan, then the same with seeded transient faults: must give identical results."""
    with cloud.start() as server:
        clean = live_scan(cloud, server)
        server.inject_faults(plan(seed, rate))
        faulty = live_scan(cloud, server)
        server.inject_faults(None)
    identical = bool(faulty.doc) and comparable(faulty.doc) == comparable(clean.doc)
    return Outcome(
        cloud=cloud.name, scenario="transient", seed=seed, rate=rate,
        exit_code=faulty.exit_code, clean_exit_code=clean.exit_code, calls=faulty.calls,
        clean_calls=clean.calls, faults=dict(sorted(faulty.faults.items())),
        retried=faulty.retried, completed=faulty.exit_code in (0, 1, 3)
        and bool(faulty.doc), identical=identical and clean.retried == 0,
        false_passes=[i for i, (s, _) in verdicts(faulty.doc).items()
                      if s == "pass" and verdicts(clean.doc).get(i, ("",))[0] != "pass"],
        unexpected_errors=[e["collection"] for e in faulty.doc.get("errors", [])],
        changed_outside_scope=[], seconds=faulty.seconds, stderr=faulty.stderr,
    )


def down(cloud: Cloud, collection: str, how: str, seed: int = 0, rate: float = 0.0
         ) -> Outcome:
    """`collection` answers 503 (how="down") or 403 ("deny") on every call, with seeded
    transient faults on the rest when `rate` > 0."""
    unreadable = cloud.affected(collection)
    with cloud.start() as server:
        clean = live_scan(cloud, server, "--fail-on", "none")
        cloud.down(server, collection, how)
        if rate:
            server.inject_faults(plan(seed, rate))
        faulty = live_scan(cloud, server, "--fail-on", "none")
    base, got = verdicts(clean.doc), verdicts(faulty.doc)
    errors = faulty.doc.get("errors", [])
    unexpected = [f"{e['collection']} ({e['reason']})" for e in errors
                  if e["collection"] not in unreadable or e["account"] != cloud.account
                  or (e["collection"] == collection and e["reason"] != cloud.down_reason[how])]
    changed = sorted(i for i in set(base) | set(got)
                     if base.get(i) != got.get(i)
                     and not cloud.reads(i.split("|")[0]) & unreadable)
    # an error finding outside the unreadable scope, or a check reading it that errs on
    # another account, is as wrong as a changed verdict
    changed += [i for i, (s, _) in got.items() if s == "error"
                and not cloud.reads(i.split("|")[0]) & unreadable]
    return Outcome(
        cloud=cloud.name, scenario=f"{how}:{collection}", seed=seed, rate=rate,
        exit_code=faulty.exit_code, clean_exit_code=clean.exit_code, calls=faulty.calls,
        clean_calls=clean.calls, faults=dict(sorted(faulty.faults.items())),
        retried=faulty.retried, completed=faulty.exit_code in (0, 1, 3)
        and bool(faulty.doc), identical=False,
        false_passes=false_passes(cloud, faulty.doc, unreadable),
        unexpected_errors=unexpected, changed_outside_scope=sorted(set(changed)),
        seconds=faulty.seconds, errors=[(e["collection"], e["reason"]) for e in errors],
        stderr=faulty.stderr,
    )
