"""Fail closed, precisely (docs/model.md, "Fail closed"): a failed or missing read turns into
`error` exactly the verdicts whose inputs it could have changed, in the direction it could
have moved them; every other verdict stands, and the unread scope gets its own `error`.

The first tests pin the rule on a small estate built in the test; the property test at the
end removes one collection in one scope from every bundled estate and compares the scan
with the full one."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import engine, profile, snapshot
from scanner.check import Check, CheckContext, check
from scanner.findings import Finding, Status
from scanner.graph import EstateGraph
from scanner.model import (
    ANY_PROPERTY,
    Inventory,
    Kind,
    Relation,
    RelationType,
    Resource,
    Unread,
)
from scanner.provider import Collection, Provider
from scanner.snapshot import Section
from tests.helpers import ROOT

# --- a small estate and a provider whose collections declare what they affect ---------------


class Fake(Provider):
    name = "fake"
    collections: Mapping[str, Collection] = {
        # undeclared: anything in the failed scope is unsafe (the conservative default)
        "machines": Collection("machines", frozenset({Kind.COMPUTE}), ("GET /machines",)),
        # a per-server child read that decides one property of its server
        "configs": Collection("configs", frozenset({Kind.DATABASE}), ("GET /configs",),
                              affects={Kind.DATABASE: frozenset({"min_tls"})}),
        # route tables: missing ones can only close a path
        "routes": Collection("routes", frozenset({Kind.COMPUTE}), ("GET /routes",),
                             affects={Kind.COMPUTE: frozenset({"ingress", "public_ips"})},
                             opens=False, closes=True),
        # model deployments: their absence changes nothing about the resources that were read
        "models": Collection("models", frozenset({Kind.MODEL_DEPLOYMENT}), ("GET /models",),
                             affects={}),
        "buckets": Collection("buckets", frozenset({Kind.BUCKET}), ("GET /buckets",),
                              affects={}),
        "dbs": Collection("dbs", frozenset({Kind.DATABASE}), ("GET /dbs",), affects={}),
    }

    def collect(self, options: Mapping[str, Any], only: Iterable[str] | None = None
                ) -> list[Section]:
        raise NotImplementedError

    def normalize(self, section: Section) -> Inventory:
        raise NotImplementedError


PROVIDERS = {"fake": Fake()}


def res(rid: str, kind: Kind, region: str = "r1", **kw: Any) -> Resource:
    return Resource(id=rid, kind=kind, provider="fake", account="acct", name=rid,
                    region=region, **kw)


def a_check(cid: str, kinds: set[Kind], reads: Iterable[str] | None) -> Check:
    def never(ctx: CheckContext) -> Iterator[Finding]:
        yield from ()

    return check(id=cid, title=cid, severity="high", kinds=kinds, reads=reads)(never)


def verdict(c: Check, r: Resource, status: Status) -> Finding:
    return Finding(c.id, r.id, status, c.severity, f"{status} on {r.id}", {}, resource_name=r.name,
                   resource_kind=str(r.kind), provider=r.provider, account=r.account,
                   region=r.region)


def section(*errors: dict[str, Any], attempted: Iterable[str] = tuple(Fake.collections)
            ) -> Section:
    failed = {e["collection"] for e in errors}
    s = Section(provider="fake", account="acct", collected_at="2026-12-01T00:00:00Z",
                collections={n: {"r1": []} for n in attempted if n not in failed})
    for e in errors:
        s.fail(e["collection"], e["region"], e.get("reason", "denied"), "no", e.get("resource"))
    return s


def judged(findings: list[Finding], c: Check, sections: list[Section], graph: EstateGraph
           ) -> dict[str, Finding]:
    out = engine.fail_closed(findings, [c], sections, PROVIDERS, graph)
    return {f.resource: f for f in out}


def graph_of(*resources: Resource, relations: Iterable[Relation] = ()) -> EstateGraph:
    return EstateGraph([Inventory("fake", "acct", tuple(resources), tuple(relations))])


# --- the rule --------------------------------------------------------------------------------

def test_a_denied_child_read_errors_only_the_property_of_the_server_it_was_for() -> None:
    db1, db2 = res("db1", Kind.DATABASE), res("db2", Kind.DATABASE)
    graph = graph_of(db1, db2)
    sections = [section({"collection": "configs", "region": "r1", "resource": "db1"})]
    tls = a_check("TLS-X", {Kind.DATABASE}, {"min_tls"})
    net = a_check("NET-X", {Kind.DATABASE}, {"public_ips", "ingress"})

    got = judged([verdict(tls, db1, Status.PASS), verdict(tls, db2, Status.PASS)], tls,
                 sections, graph)
    assert got["db1"].status is Status.ERROR and got["db1"].reason == "denied"
    assert got["db1"].evidence["verdict_on_partial_data"] == "pass"
    assert got["db2"].status is Status.PASS  # its own configuration was read
    assert got["fake:acct/r1/configs/db1"].status is Status.ERROR  # the unread scope, named

    # a check that does not read min_tls keeps its verdicts, certain violation included
    got = judged([verdict(net, db1, Status.FAIL), verdict(net, db2, Status.PASS)], net,
                 sections, graph)
    assert got["db1"].status is Status.FAIL and got["db2"].status is Status.PASS


def test_a_skip_decided_on_missing_data_is_as_unsafe_as_a_pass() -> None:
    """"Not used by any public listener" is a verdict too: a load balancer list that could
    not be read may hold the public listener that uses the certificate."""
    cert = res("cert", Kind.CERTIFICATE)
    graph = graph_of(cert)
    sections = [section({"collection": "machines", "region": "r1"})]
    c = a_check("TLS-X", {Kind.CERTIFICATE, Kind.COMPUTE}, None)
    got = judged([verdict(c, cert, Status.SKIP)], c, sections, graph)
    assert got["cert"].status is Status.ERROR
    assert got["cert"].evidence["verdict_on_partial_data"] == "skip"


def test_a_list_that_could_only_close_a_path_errors_fails_and_keeps_passes() -> None:
    open_vm, closed_vm = res("vm-open", Kind.COMPUTE), res("vm-closed", Kind.COMPUTE)
    elsewhere = res("vm-r2", Kind.COMPUTE, region="r2")
    graph = graph_of(open_vm, closed_vm, elsewhere)
    sections = [section({"collection": "routes", "region": "r1"})]
    net = a_check("NET-X", {Kind.COMPUTE}, {"public_ips", "ingress"})
    got = judged([verdict(net, open_vm, Status.FAIL), verdict(net, closed_vm, Status.PASS),
                  verdict(net, elsewhere, Status.FAIL)], net, sections, graph)
    assert got["vm-open"].status is Status.ERROR  # a route table could have closed it
    assert got["vm-closed"].status is Status.PASS  # a missing route cannot open it
    assert got["vm-r2"].status is Status.FAIL  # another region was read completely


def test_an_unlisted_collection_of_another_kind_leaves_the_verdicts_that_were_read() -> None:
    bucket = res("bucket-us", Kind.BUCKET, region="us-east-1")
    graph = graph_of(bucket)
    sections = [section({"collection": "models", "region": "us-east-1", "reason": "not_found"})]
    residency = a_check("RES-X", {Kind.BUCKET, Kind.MODEL_DEPLOYMENT}, {"region"})
    got = judged([verdict(residency, bucket, Status.FAIL)], residency, sections, graph)
    assert got["bucket-us"].status is Status.FAIL  # certain: the bucket is in us-east-1
    scope = got["fake:acct/us-east-1/models"]
    assert scope.status is Status.ERROR and scope.reason == "not_found"


def test_an_undeclared_collection_errors_every_verdict_of_its_scope_only() -> None:
    vm, db, far = res("vm", Kind.COMPUTE), res("db", Kind.DATABASE), \
        res("far", Kind.COMPUTE, region="r2")
    graph = graph_of(vm, db, far)
    sections = [section({"collection": "machines", "region": "r1"})]
    c = a_check("ANY-X", {Kind.COMPUTE, Kind.DATABASE}, {"encrypted"})
    got = judged([verdict(c, vm, Status.PASS), verdict(c, db, Status.FAIL),
                  verdict(c, far, Status.PASS)], c, sections, graph)
    assert got["vm"].status is Status.ERROR and got["db"].status is Status.ERROR
    assert got["far"].status is Status.PASS


def test_a_collection_never_collected_is_blind_account_wide() -> None:
    vm, far = res("vm", Kind.COMPUTE), res("far", Kind.COMPUTE, region="r2")
    graph = graph_of(vm, far)
    sections = [section(attempted=[n for n in Fake.collections if n != "machines"])]
    c = a_check("ANY-X", {Kind.COMPUTE}, None)
    got = judged([verdict(c, vm, Status.PASS), verdict(c, far, Status.FAIL)], c, sections,
                 graph)
    assert {got["vm"].status, got["far"].status} == {Status.ERROR}
    assert got["fake:acct/global/machines"].reason == "not_collected"


@pytest.mark.parametrize(("opens", "closes", "after_pass", "after_fail"), [
    (True, True, Status.ERROR, Status.ERROR),
    (True, False, Status.ERROR, Status.FAIL),  # e.g. an address list that was not read
    (False, True, Status.PASS, Status.ERROR),  # e.g. a network ACL that was not read
])
def test_an_unknown_property_errors_verdicts_in_the_direction_it_could_move_them(
        opens: bool, closes: bool, after_pass: Status, after_fail: Status) -> None:
    unknown = {"ingress": Unread("nsg-7 is referenced but not listed", "dangling", opens,
                                 closes)}
    a = res("a", Kind.COMPUTE, unknown=unknown)
    b = res("b", Kind.COMPUTE, unknown=unknown)
    graph = graph_of(a, b)
    net = a_check("NET-X", {Kind.COMPUTE}, {"ingress"})
    got = judged([verdict(net, a, Status.PASS), verdict(net, b, Status.FAIL)], net,
                 [section()], graph)
    assert (got["a"].status, got["b"].status) == (after_pass, after_fail)
    changed = [f for f in got.values() if f.status is Status.ERROR]
    assert all("nsg-7" in f.message and f.reason == "dangling" for f in changed)
    # a check that does not read the unknown property is untouched
    enc = a_check("ENC-X", {Kind.COMPUTE}, {"encrypted"})
    got = judged([verdict(enc, a, Status.PASS), verdict(enc, b, Status.FAIL)], enc,
                 [section()], graph)
    assert (got["a"].status, got["b"].status) == (Status.PASS, Status.FAIL)


def test_an_unknown_on_the_load_balancer_of_a_listener_errors_the_listener_verdict() -> None:
    lb = res("lb", Kind.LOAD_BALANCER,
             unknown={"public_ips": Unread("frontend ip-3 not listed", "dangling")})
    listener = res("lst", Kind.LISTENER)
    graph = graph_of(lb, listener, relations=[Relation("lst", "lb", RelationType.MEMBER_OF)])
    tls = a_check("TLS-X", {Kind.LISTENER, Kind.LOAD_BALANCER}, {"public_ips", "min_tls"})
    got = judged([verdict(tls, listener, Status.PASS)], tls, [section()], graph)
    assert got["lst"].status is Status.ERROR and "public_ips of lb" in got["lst"].message


def test_any_property_unknown_errors_every_check_reading_the_resource() -> None:
    r = res("x", Kind.COMPUTE, unknown={ANY_PROPERTY: Unread("object shape not understood")})
    graph = graph_of(r)
    for reads in ({"encrypted"}, {"ingress"}, None):
        c = a_check("ANY-X", {Kind.COMPUTE}, reads)
        assert judged([verdict(c, r, Status.PASS)], c, [section()], graph)["x"].status \
            is Status.ERROR


def test_a_finding_on_a_declaration_is_judged_by_its_own_scope() -> None:
    """INV-01 judges declarations, which are not resources of the estate: the finding's own
    provider, account and region decide which unread scopes touch it."""
    graph = graph_of()
    c = a_check("INV-X", {Kind.COMPUTE}, None)
    decl = Finding(c.id, "iac:main.tf/x", Status.FAIL, c.severity, "not live", {},
                   resource_kind="compute", provider="fake", account="acct", region="r1")
    got = judged([decl], c, [section({"collection": "machines", "region": "r1"})], graph)
    assert got["iac:main.tf/x"].status is Status.ERROR


# --- the property, over every bundled estate ----------------------------------------------

ESTATES = [
    ROOT / "fixtures" / "hetzner" / "seed002-hetzner.json",
    ROOT / "fixtures" / "aws" / "seed002-aws.json",
    ROOT / "fixtures" / "azure" / "seed000-azure.json",
    ROOT / "fixtures" / "azure" / "seed001-azure.json",
    ROOT / "fixtures" / "generic" / "seed003" / "seed003-aws.json",
    ROOT / "fixtures" / "generic" / "seed004" / "seed004-azure.json",
    ROOT / "fixtures" / "generic" / "seed004" / "seed004-hetzner.json",
]
_DOCS: dict[Path, dict[str, Any]] = {}
_FULL: dict[Path, dict[str, Finding]] = {}


def _doc(path: Path) -> dict[str, Any]:
    if path not in _DOCS:
        _DOCS[path] = json.loads(path.read_text())
    return _DOCS[path]


def _scan(path: Path) -> dict[str, Finding]:
    result = engine.scan(engine.ScanRequest(sources=[str(path)],
                                            profile=profile.load("default")))
    return {f.id: f for f in result.findings}


def _full(path: Path) -> dict[str, Finding]:
    if path not in _FULL:
        _FULL[path] = _scan(path)
    return _FULL[path]


@st.composite
def removals(draw: st.DrawFn) -> tuple[Path, int, str, str, bool]:
    path = draw(st.sampled_from(ESTATES))
    doc = _doc(path)
    i = draw(st.integers(0, len(doc["sections"]) - 1))
    cols = doc["sections"][i]["collections"]
    name = draw(st.sampled_from(sorted(n for n in cols if n != engine.NOT_ASSESSED)))
    region = draw(st.sampled_from(sorted(cols[name])))
    as_error = draw(st.booleans())
    return path, i, name, region, as_error


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(removals())
def test_removing_one_collection_in_one_scope_never_passes_or_hides_what_was_read(
        tmp_path_factory: pytest.TempPathFactory,
        removal: tuple[Path, int, str, str, bool]) -> None:
    path, i, name, region, as_error = removal
    doc = copy.deepcopy(_doc(path))
    sec = doc["sections"][i]
    del sec["collections"][name][region]
    if not sec["collections"][name]:
        del sec["collections"][name]
    if as_error:  # a recorded failure of that read; otherwise it was simply not collected
        sec["errors"].append({"collection": name, "region": region, "reason": "denied",
                              "message": "insufficient permissions"})
    partial_path = tmp_path_factory.mktemp("partial") / path.name
    partial_path.write_text(json.dumps(doc))
    snapshot.seal(partial_path, partial_path)
    full, partial = _full(path), _scan(partial_path)
    account = sec["account"]
    read_everywhere = as_error and region != snapshot.GLOBAL

    for fid, f in partial.items():
        before = full.get(fid)
        # 1. nothing passes that did not pass with every read
        if f.status is Status.PASS:
            assert before is not None and before.status is Status.PASS, (removal, fid)
    for fid, before in full.items():
        after = partial.get(fid)
        if before.status is Status.FAIL:
            # 2. a violation is never hidden: it stays, becomes error, or its resource was in
            # the list that was removed and the scope has its own error finding
            if after is None:
                assert any(p.check == before.check and p.status is Status.ERROR
                           and p.resource.startswith(f"{before.provider}:{account}/")
                           for p in partial.values()), (removal, fid)
            else:
                assert after.status in (Status.FAIL, Status.ERROR), (removal, fid)
        # 3. verdicts of another account, or of another region when one region's read
        # failed, were read completely: they stand
        other_scope = before.account != account or (
            read_everywhere and before.region is not None and before.region != region)
        if other_scope and after is not None:
            assert after.status is before.status, (removal, fid, before.message, after.message)
