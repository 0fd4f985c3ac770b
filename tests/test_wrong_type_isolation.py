"""A raw object with a field of the wrong type: `error` for exactly what it could change.

Each test scans a bundled estate (AWS, Azure, Hetzner) and a copy with one field of one raw
object given another JSON type, through the real CLI, and checks the DESIGN.md rule "fail
closed, precisely": the scan is not refused (it was exit 2 for the whole estate), no verdict
that was fail or error is pass, the verdicts of the resources the object is or feeds (its
firewall's servers, its load balancer's targets, the machines behind its NSG) are `error`,
and every other verdict stands. An object without an identity is named in an `error`
finding. scanner/quarantine.py does it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz_mutations import get_at, sealed_text, set_at, statuses
from tests.helpers import ROOT, findings_of, run

AWS = "aws/seed002-aws.json"
AZURE = "azure/seed000-azure.json"
HETZNER = "hetzner/seed002-hetzner.json"
SCAN = ("--format", "json", "--no-timestamps")
ARN = "arn:aws:ec2:eu-central-1:210987654321"


def fixture(name: str) -> Any:
    return json.loads((ROOT / "fixtures" / name).read_text())


@cache
def base(name: str) -> dict[tuple[str, str], str]:
    result = run("scan", str(ROOT / "fixtures" / name), *SCAN)
    assert result.exit_code in (1, 3), result.stderr
    return statuses(result.stdout)


def mutated(tmp: Path, name: str, path: tuple[Any, ...], value: Any) -> tuple[
        dict[tuple[str, str], str], list[dict[str, Any]]]:
    """The statuses and findings of the estate with `path` set to `value` (re-sealed)."""
    out = tmp / Path(name).name
    out.write_bytes(sealed_text(set_at(fixture(name), path, value), 1))
    result = run("scan", str(out), *SCAN)
    assert result.exit_code in (0, 1, 3), f"exit {result.exit_code}: {result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    return statuses(result.stdout), findings_of(json.loads(result.stdout))


def raw(name: str, collection: str, region: str, index: int, *rest: Any) -> tuple[Any, ...]:
    return ("sections", 0, "collections", collection, region, index, *rest)


def assert_isolated(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str],
                    touched: tuple[str, ...], errors: tuple[str, ...] = ()) -> None:
    """No fail/error turned pass; verdicts of resources not named by `touched` (substrings
    of their ids) unchanged; each resource `errors` names has an `error` verdict."""
    flips = [k for k, s in before.items() if s in ("fail", "error") and after.get(k) == "pass"]
    assert not flips, flips
    others = {k: (s, after.get(k)) for k, s in before.items()
              if not any(t in k[1] for t in touched) and after.get(k) != s}
    assert not others, others
    for name in errors or touched:
        assert any(name in k[1] and s == "error" for k, s in after.items()), name


def test_an_aws_security_group_with_rules_of_another_type_errors_its_instances_only(
        tmp_path: Path) -> None:
    """`IpPermissions: {}` on the bastion group was read as no rules (an open SSH port
    closed: NET-02 fail -> pass), then refused the whole scan."""
    sg = raw(AWS, "ec2.describe_security_groups", "eu-central-1", 2, "IpPermissions")
    assert get_at(fixture(AWS), sg[:-1])["GroupName"] == "bastion"
    after, _ = mutated(tmp_path, AWS, sg, {})
    bastion = ("NET-02", f"{ARN}:instance/i-0a1b2c3d4e5f60002")
    assert base(AWS)[bastion] == "fail" and after[bastion] == "error"
    assert_isolated(base(AWS), after, ("sg-0a1b2c3d4e5f60003", "i-0a1b2c3d4e5f60002"))


def test_an_aws_instance_whose_interfaces_are_a_string_errors_that_instance_only(
        tmp_path: Path) -> None:
    """`NetworkInterfaces: "x"`: the instance is still built and judged `error`; its
    volumes (whose verdicts read the machine they are attached to) too; nothing else."""
    field = raw(AWS, "ec2.describe_instances", "eu-central-1", 0, "Instances", 0,
                "NetworkInterfaces")
    after, found = mutated(tmp_path, AWS, field, "x")
    assert_isolated(base(AWS), after, ("i-0a1b2c3d4e5f60001", "vol-0a1b2c3d4e5f60001",
                                       "vol-0a1b2c3d4e5f60002"), ("i-0a1b2c3d4e5f60001",))
    assert any("Instances[0].NetworkInterfaces (string)" in f["message"] for f in found)


def test_an_aws_bucket_policy_of_another_type_is_an_error_of_that_bucket_not_a_fail(
        tmp_path: Path) -> None:
    """A policy that is a list was read as no policy (TLS-02: plain HTTP accepted). Now
    the per-bucket read counts as failed for that bucket: its TLS-02 is `error`."""
    field = raw(AWS, "s3.get_bucket_policy", "eu-central-1", 0, "response", "Policy")
    after, _ = mutated(tmp_path, AWS, field, [])
    bucket = ("TLS-02", "arn:aws:s3:::ohallo-recordings")
    assert base(AWS)[bucket] == "pass" and after[bucket] == "error"
    assert_isolated(base(AWS), after, ("ohallo-recordings",))


@pytest.mark.parametrize("value", [{}, 0])
def test_a_hetzner_load_balancer_whose_services_are_not_a_list_errors_it_and_its_targets(
        tmp_path: Path, value: Any) -> None:
    """lb-admin's services unreadable: its listeners are unknown, so its own verdicts,
    the exposure of app-2 behind it and the certificate its https service names (TLS-03
    judges certificates in use) are `error`; lb-web and the other servers stand."""
    field = raw(HETZNER, "load_balancers", "global", 1, "services")
    assert get_at(fixture(HETZNER), field[:-1])["name"] == "lb-admin"
    after, _ = mutated(tmp_path, HETZNER, field, value)
    assert_isolated(base(HETZNER), after, ("load_balancer/302", "server/102",
                                           "certificate/502"), ("load_balancer/302",))


def test_a_hetzner_server_whose_public_net_is_a_list_errors_that_server_only(
        tmp_path: Path) -> None:
    """`public_net: []` was read as a server without public addresses (NET-02 fail ->
    pass), then refused the whole scan."""
    field = raw(HETZNER, "servers", "global", 4, "public_net")
    assert get_at(fixture(HETZNER), field[:-1])["name"] == "vpn-1"
    after, _ = mutated(tmp_path, HETZNER, field, [])
    assert_isolated(base(HETZNER), after, ("server/105",))


@pytest.mark.parametrize("value", [[], 5])
def test_an_azure_nsg_rule_of_another_type_errors_the_nsg_and_the_vm_behind_it(
        tmp_path: Path, value: Any) -> None:
    """An NSG rule's `properties: []` (or 5) on nsg-jump: the NSG and vm-jump behind it
    are `error` (vm-jump's NET-02 fail never turns pass); every other verdict stands."""
    doc = fixture(AZURE)
    nsgs = doc["sections"][0]["collections"]["Microsoft.Network/networkSecurityGroups"]
    i = next(i for i, n in enumerate(nsgs["westeurope"]) if n["name"] == "nsg-jump")
    field = raw(AZURE, "Microsoft.Network/networkSecurityGroups", "westeurope", i,
                "properties", "securityRules", 0, "properties")
    after, _ = mutated(tmp_path, AZURE, field, value)
    jump = next(k for k in after if k[0] == "NET-02" and k[1].endswith("vm-jump"))
    assert base(AZURE)[jump] == "fail" and after[jump] == "error"
    assert_isolated(base(AZURE), after, ("nsg-jump", "vm-jump"))


def test_an_object_without_an_identity_is_named_in_an_error_finding(tmp_path: Path) -> None:
    """A `servers` entry with no id and no name cannot be a resource: its list counts as not
    fully read (an `error` finding names it) and the servers that were read keep their
    verdicts. (An entry that is not an object at all is refused by the snapshot schema,
    exit 2; from a live API it takes this path.)"""
    item = raw(HETZNER, "servers", "global", 0)
    after, found = mutated(tmp_path, HETZNER, item, {"labels": {}})
    named = [f for f in found if f["status"] == "error" and "servers #0 (an object)"
             in f["message"]]
    assert named, [f["message"] for f in found if f["status"] == "error"][:5]
    assert_isolated(base(HETZNER), after, ("server/101", "/global/servers"),
                    ("/global/servers",))


def test_a_malformed_object_is_one_warning_line_and_no_traceback(tmp_path: Path) -> None:
    out = tmp_path / "seed002-hetzner.json"
    field = raw(HETZNER, "servers", "global", 4, "public_net")
    out.write_bytes(sealed_text(set_at(fixture(HETZNER), field, []), 1))
    done = subprocess.run([sys.executable, "-m", "scanner.cli", "scan", str(out), *SCAN],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert done.returncode in (1, 3), done.stderr
    lines = [line for line in done.stderr.splitlines() if "vpn-1" in line or "105" in line]
    assert len(lines) == 1 and "public_net (array)" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_a_resource_the_graph_cannot_use_is_an_error_of_that_resource_not_of_the_scan(
        ) -> None:
    """A property of the wrong type that reaches the estate graph (a normalizer's bug or
    a third-party provider's) was exit 2 for the scan: now that resource is `error`."""
    from providers.hetzner.normalize import normalize
    from scanner import engine, snapshot
    from scanner.model import ANY_PROPERTY
    section = snapshot.load(ROOT / "fixtures" / HETZNER).sections[0]
    inv = normalize(section)
    bad = next(r for r in inv.resources if r.id.endswith("/server/105"))
    broken = replace(bad, properties={**bad.properties, "public_ips": 5})
    inv = replace(inv, resources=tuple(broken if r is bad else r for r in inv.resources))
    graph = engine.build_graph([inv])
    assert ANY_PROPERTY in graph.resources[bad.id].unknown
    assert len(graph.resources) == len(engine.build_graph([normalize(
        snapshot.load(ROOT / "fixtures" / HETZNER).sections[0])]).resources)


def test_repairs_are_bounded_by_their_work_and_past_it_the_input_is_refused_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each repair normalizes the section again: many malformed objects in a large section
    would buy an attacker hours of CPU, so past a work budget (raw values indexed, summed over
    the repairs) the section is refused as a whole, one line and exit 2, as before."""
    from scanner import quarantine
    doc = fixture(HETZNER)
    servers = doc["sections"][0]["collections"]["servers"]["global"]
    for server in servers[:3]:
        server["public_net"] = []
    out = tmp_path / "three.json"
    out.write_bytes(sealed_text(doc, 1))
    repaired = run("scan", str(out), *SCAN)
    assert repaired.exit_code in (1, 3), repaired.stderr  # within the budget: judged
    monkeypatch.setattr(quarantine, "WORK_LIMIT", 1)  # the first repair spends it all
    refused = run("scan", str(out), *SCAN)
    assert refused.exit_code == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "more than posture repairs one by one" in lines[0], lines


def test_an_object_missing_its_id_is_taken_out_whole_and_no_other_field_is_blamed(
        tmp_path: Path) -> None:
    """KeyError 'id': the server lacking it is the culprit, not the nested objects that do
    hold an `id` (image, location, server type, its addresses): those are of the type the
    API documents, and a message naming them would be false (and would differ between the
    partial and the full snapshot decoder)."""
    doc = fixture(HETZNER)
    server = doc["sections"][0]["collections"]["servers"]["global"][0]
    del server["id"]
    out = tmp_path / "no-id.json"
    out.write_bytes(sealed_text(doc, 1))
    result = run("scan", str(out), *SCAN)
    assert result.exit_code in (1, 3), result.stderr
    errors = json.loads(result.stdout)["errors"]
    named = [e["message"] for e in errors if server["name"] in e["message"]]
    assert named and all("KeyError: 'id'" in m for m in named), errors
    assert not any(".id" in e["message"] for e in errors), errors
