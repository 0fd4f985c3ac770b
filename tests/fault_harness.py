"""Live scans against the local cloud servers under faults: the shared harness of
tests/test_faults.py and bench/bench_faults.py.

A `Cloud` knows how to start its server with a bundled estate, the environment that points
the real CLI at it, which collections each check reads, and how to take a collection down
(503 on every call) or deny it (403). The clouds: Hetzner (tests/hcloud_server.py), Azure
(the HTTPS ARM server of tests/azure_arm_server.py) and AWS (moto behind the fault-injecting
proxy of tests/aws_proxy.py, with the estate of tests/aws_estate.py; a "collection" that goes
down may be a whole service, e.g. `rds`). The scenarios:

- `transient(cloud, seed, rate)`: a clean scan, then the same scan with the server's seeded
  fault mode on; the findings, claims and errors must be identical (retries recovered every
  fault).
- `down(cloud, collection, how)`: the collection answers 503 (or 403) on every call, on top
  of seeded transient faults elsewhere; exactly the checks reading it may be `error`, the
  exit code is 3 (`--fail-on none`: a failure would otherwise outrank it), every other
  finding is as in the clean scan, every collection that went down is an error with the
  reason the status implies (`unreachable`, `denied`), and no check reading it passes (a
  false pass).

Counts: calls the server received, faults injected per kind, calls retried (calls that
repeat an earlier call of the same scan), scans completed, false passes. Each cloud has its
client timeout: 1 s for Hetzner and Azure; 4 s for AWS, whose moto server (in this process,
competing for the interpreter with the scan) takes up to a second for some calls, which
must not time out in a clean scan. A slow fault answers 0.4 s after the timeout.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Set
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from scanner import profile as profiles
from scanner.registry import load_checks, load_providers
from tests import aws_estate
from tests.aws_proxy import AwsProxy, Call, signing_name, start_moto
from tests.azure_arm_server import ArmServer, sections_of
from tests.hcloud_server import FaultPlan, HcloudServer
from tests.helpers import ROOT, SEED002, claims_of, findings_of, run

# Small retry base and timeouts keep a faulty scan fast; 3 retries > FaultPlan.per_request.
RETRY_ENV = {"POSTURE_RETRY_BASE_SECONDS": "0.01", "POSTURE_MAX_RETRIES": "3"}
SLOW_AFTER_TIMEOUT = 0.4  # a slow answer comes this long after the client's timeout


@dataclass
class Cloud:
    name: str
    source: str  # the CLI source (provider name)
    args: tuple[str, ...]  # profile and scope of the scan
    start: Callable[[], Any]  # a context manager yielding the started server
    env: Callable[[Any], dict[str, str]]
    down: Callable[[Any, str, str], None]  # (server, collection, "down" | "deny")
    affected: Callable[[str], set[str]]  # collection down -> collections that cannot be read
    reads: Callable[[str], Set[str]]  # check id -> collections it reads
    account: str  # the account whose collection goes down
    down_reason: dict[str, str] = field(default_factory=lambda: {"down": "unreachable",
                                                                 "deny": "denied"})
    timeout: float = 1.0  # the client's timeout (POSTURE_TIMEOUT) in seconds
    # collection (or service) down -> the collections whose own calls fail and that must be
    # errors with the down reason when the scan reads them (default: the collection itself)
    failed: Callable[[str], set[str]] = lambda c: {c}
    # (server, collection down) -> the regions its outage covers (findings' `region`, None
    # for global ones), from the calls the server refused; None: the whole account (the
    # clouds whose sections are not split by region)
    outage_regions: Callable[[Any, str], set[str | None] | None] = lambda server, c: None


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


@functools.cache
def hetzner_reads(check_id: str) -> frozenset[str]:
    provider = load_providers()["hetzner"]
    return frozenset(provider.collections_for(load_checks()[check_id].kinds))


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
    from providers.azure.apis import SPECS

    out = {collection}
    changed = True
    while changed:
        more = {s.name for s in SPECS if s.parent in out} - out
        out |= more
        changed = bool(more)
    return out


@functools.cache
def azure_reads(check_id: str) -> frozenset[str]:
    from providers.azure.collect import wanted_with_parents

    provider = load_providers()["azure"]
    return frozenset(wanted_with_parents(
        provider.collections_for(load_checks()[check_id].kinds)))


AZURE = Cloud(
    name="azure", source="azure", args=("--profile", "default", "--subscription", SUB0),
    start=azure_server,
    env=lambda s: {"POSTURE_AZURE_ARM_ENDPOINT": s.url, "POSTURE_AZURE_ACCESS_TOKEN":
                   AZURE_TOKEN, "REQUESTS_CA_BUNDLE": s.ca_file},
    down=azure_down, affected=azure_affected, reads=azure_reads, account=SUB0)

# --- AWS ------------------------------------------------------------------------------------

AWS_ACCOUNT = "123456789012"  # moto's
AWS_REGIONS = "eu-central-1,eu-west-1"
# BAK-01 cannot tell the backup redundancy of the estate's db-public (it keeps no backups):
# an `error` in every scan of it, which would make a "stays down" scan's exit 3 a foregone
# conclusion. The AWS scans run every other check of the default profile.
AWS_CHECKS = ",".join(sorted(profiles.load("default").check_ids() - {"BAK-01"}))


@contextmanager
def aws_server() -> Iterator[AwsProxy]:
    """moto with the estate of tests/aws_estate.py, behind the fault-injecting proxy.

    Some evidence counts whole days from a time the estate was created (an access key's age,
    a certificate's days left: it expires exactly 365 days after it was issued), and the
    scanner's clock has whole seconds: during the second the estate was built such a count
    is one more than a second later. A clean scan that starts in that second and a faulty
    one that starts later would differ for a reason that has nothing to do with faults, so
    the scans start a second after the build."""
    moto, url = start_moto()
    try:
        aws_estate.build(url)
        time.sleep(1.05)
        with AwsProxy(moto, url) as proxy:
            yield proxy
    finally:
        moto.stop()


def aws_env(proxy: AwsProxy) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": proxy.url, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_RETRY_MODE": "standard"}


def _aws_apis() -> tuple[Any, ...]:
    from providers.aws.apis import APIS

    return APIS


def aws_failed(scope: str) -> set[str]:
    """`ec2.describe_security_groups` (one operation) or `rds` (every call of a service)."""
    if "." in scope:
        return {scope}
    return {a.name for a in _aws_apis() if a.service == scope}


def aws_expected(scope: str) -> set[str]:
    """What must be an error with the down reason: the operation named (a scenario names one
    the scan makes), or every list call of the service (its per-resource calls are made only
    for what a list call returned)."""
    if "." in scope:
        return {scope}
    return {a.name for a in _aws_apis() if a.service == scope and a.parent is None}


def aws_affected(scope: str) -> set[str]:
    """What goes down and every per-resource call made from it (it is not read either)."""
    out = aws_failed(scope)
    changed = True
    while changed:
        more = {a.name for a in _aws_apis() if a.parent in out} - out
        out |= more
        changed = bool(more)
    return out


def aws_matcher(scope: str) -> Callable[[Call], bool]:
    import botocore.session  # type: ignore[import-untyped]

    service, _, method = scope.partition(".")
    signing = signing_name(service)
    if not method:
        return lambda c: c.service == signing
    model = botocore.session.get_session().get_service_model(service)
    operation = next(op for op in model.operation_names if botocore.xform_name(op) == method)
    return lambda c: c.service == signing and c.operation == operation


def aws_down(proxy: AwsProxy, scope: str, how: str) -> None:
    """Every call of `scope` answers AccessDenied (EC2: UnauthorizedOperation; 403) or 503
    ServiceUnavailable, in the service's error shape."""
    if how == "deny":
        code = "UnauthorizedOperation" if scope.startswith("ec2") else "AccessDenied"
        proxy.fail(aws_matcher(scope), code, 403,
                   message=f"You are not authorized to perform this operation ({scope}).")
    else:
        proxy.fail(aws_matcher(scope), "ServiceUnavailable", 503,
                   message="Service is unavailable. Please try again later.")


def aws_outage_regions(proxy: AwsProxy, scope: str) -> set[str | None]:
    """The regions whose calls of `scope` were refused (a bucket's calls go to its region;
    global APIs answer for the whole account: None)."""
    match = aws_matcher(scope)
    regions: set[str | None] = {c.region for c in proxy.calls if match(c)}
    if any(a.scope == "global" for a in _aws_apis() if a.name in aws_failed(scope)):
        regions.add(None)
    return regions


@functools.cache
def aws_reads(check_id: str) -> frozenset[str]:
    from providers.aws.apis import closure

    provider = load_providers()["aws"]
    return frozenset(closure(provider.collections_for_checks([load_checks()[check_id]])))


AWS = Cloud(
    name="aws", source="aws",
    args=("--profile", "default", "--regions", AWS_REGIONS, "--checks", AWS_CHECKS),
    start=aws_server, env=aws_env, down=aws_down, affected=aws_affected, reads=aws_reads,
    account=AWS_ACCOUNT, timeout=4.0, outage_regions=aws_outage_regions,
    failed=aws_expected)

CLOUDS: dict[str, Cloud] = {"hetzner": HETZNER, "azure": AZURE, "aws": AWS}

# The "stays down" scenarios per cloud: (collection, "down" (503) or "deny" (403)).
DOWN: dict[str, tuple[tuple[str, str], ...]] = {
    "hetzner": (("firewalls", "down"), ("volumes", "deny")),
    "azure": (("Microsoft.Network/networkSecurityGroups", "down"),
              ("Microsoft.Sql/servers", "deny")),
    "aws": (("ec2.describe_security_groups", "deny"), ("rds", "down"),
            ("s3.get_bucket_encryption", "down")),
}


# --- scans and their comparison ---------------------------------------------------------------


@dataclass
class Scan:
    exit_code: int
    doc: dict[str, Any]
    stderr: str
    calls: int
    retried: int  # calls repeating an earlier call of the scan (the server's identity of a
    # call: method and path with query; on AWS service, region, action, path and body)
    faults: Counter[str]
    seconds: float


def live_scan(cloud: Cloud, server: Any, *extra: str) -> Scan:
    before = len(server.requests)
    started = time.perf_counter()
    result = run("scan", cloud.source, *cloud.args, "--format", "json", "--no-timestamps",
                 *extra, env={**cloud.env(server), **RETRY_ENV,
                              "POSTURE_TIMEOUT": str(cloud.timeout)})
    seconds = time.perf_counter() - started
    doc = json.loads(result.stdout) if result.stdout.strip() else {}
    calls = list(server.requests)[before:]
    return Scan(result.exit_code, doc, result.stderr, len(calls), len(calls) - len(set(calls)),
                server.fault_counts, seconds)


def flat(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of a results document (format 1 or 2) as flat objects; none when the
    scan wrote no report."""
    return findings_of(doc) if doc.get("findings") is not None else []


def verdicts(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {f["id"]: (f["status"], f["message"]) for f in flat(doc)}


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """Findings, claims and errors of a result, without the evidence's `as_of` (the time a
    live scan collected: it differs between two live scans by design)."""
    findings = [{**f, "evidence": {k: v for k, v in (f.get("evidence") or {}).items()
                                   if k != "as_of"}} for f in flat(doc)]
    return {"findings": findings, "claims": claims_of(doc) if doc else None,
            "errors": doc.get("errors")}


@functools.cache
def declared(cloud_name: str) -> frozenset[str]:
    """Collections whose provider declares what their failure can change
    (`Collection.affects` not None): the engine fails exactly those verdicts closed."""
    return frozenset(n for n, c in load_providers()[cloud_name].collections.items()
                     if c.affects is not None)


def false_passes(cloud: Cloud, doc: dict[str, Any], unreadable: set[str],
                 regions: set[str | None] | None = None,
                 clean: dict[str, tuple[str, str]] | None = None) -> list[str]:
    """Findings that pass although their check reads a collection that could not be read in
    their account (and, when the outage has `regions`, in their region). A collection that
    declares what its failure affects leaves the other verdicts standing (docs/model.md,
    "Fail closed"): such a pass is false only when it was not a pass with every read made
    (`clean`, the verdicts of the scan without the outage)."""
    out = []
    for f in flat(doc):
        if f["status"] != "pass" or f.get("account") != cloud.account or (
                regions is not None and f.get("region") not in regions):
            continue
        unread = cloud.reads(f["check"]) & unreadable
        if not unread:
            continue
        if unread - declared(cloud.name) or clean is None or \
                clean.get(f["id"], ("", ""))[0] != "pass":
            out.append(f["id"])
    return out


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
    missing_errors: list[str] = field(default_factory=list)  # went down, read, not an error
    stderr: str = ""

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "stderr"}


def plan(cloud: Cloud, seed: int, rate: float) -> FaultPlan:
    return FaultPlan(seed=seed, rate=rate, slow_seconds=cloud.timeout + SLOW_AFTER_TIMEOUT,
                     retry_after=0)


def read_by(cloud: Cloud, doc: dict[str, Any]) -> set[str]:
    """The collections a scan reads: those of the checks its result lists."""
    checks = [c if isinstance(c, str) else c.get("id") for c in doc.get("checks", [])]
    return {name for c in checks if c for name in cloud.reads(str(c))}


def transient(cloud: Cloud, seed: int, rate: float) -> Outcome:
    """Clean scan, then the same with seeded transient faults: must give identical results."""
    with cloud.start() as server:
        clean = live_scan(cloud, server)
        server.inject_faults(plan(cloud, seed, rate))
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
            server.inject_faults(plan(cloud, seed, rate))
        faulty = live_scan(cloud, server, "--fail-on", "none")
        regions = cloud.outage_regions(server, collection)
    base, got = verdicts(clean.doc), verdicts(faulty.doc)
    errors = faulty.doc.get("errors", [])
    failed = cloud.failed(collection)
    reason = cloud.down_reason[how]
    unexpected = [f"{e['collection']} ({e['reason']})" for e in errors
                  if e["collection"] not in unreadable or e["account"] != cloud.account
                  or (e["collection"] in failed and e["reason"] != reason)]
    got_errors = {(e["collection"], e["reason"]) for e in errors}
    missing = sorted(c for c in failed & read_by(cloud, clean.doc)
                     if (c, reason) not in got_errors)
    region_of = {f["id"]: f.get("region") for d in (clean.doc, faulty.doc)
                 for f in flat(d)}

    def in_scope(finding_id: str) -> bool:
        """The finding's check reads what went down, in a region the outage covers."""
        return bool(cloud.reads(finding_id.split("|")[0]) & unreadable) and (
            regions is None or region_of.get(finding_id) in regions)

    changed = sorted(i for i in set(base) | set(got)
                     if base.get(i) != got.get(i) and not in_scope(i))
    # an error finding outside the unreadable scope is as wrong as a changed verdict
    changed += [i for i, (s, _) in got.items() if s == "error" and not in_scope(i)]
    return Outcome(
        cloud=cloud.name, scenario=f"{how}:{collection}", seed=seed, rate=rate,
        exit_code=faulty.exit_code, clean_exit_code=clean.exit_code, calls=faulty.calls,
        clean_calls=clean.calls, faults=dict(sorted(faulty.faults.items())),
        retried=faulty.retried, completed=faulty.exit_code in (0, 1, 3)
        and bool(faulty.doc), identical=False,
        false_passes=false_passes(cloud, faulty.doc, unreadable, regions, base),
        unexpected_errors=unexpected, changed_outside_scope=sorted(set(changed)),
        seconds=faulty.seconds, errors=[(e["collection"], e["reason"]) for e in errors],
        missing_errors=missing, stderr=faulty.stderr,
    )
