"""NET-07 names each rule for what it decides itself, and a large ordered firewall is not
evaluated rule against every rule before it.

In an ordered layer (Azure NSG, AWS network ACL) the first matching rule decides a cell; a
rule after an SSH-from-anywhere rule decides nothing on port 22, so it must not be named for
port 22 (an HTTPS rule was). And a hostile snapshot's NSG of many `*` rules on port 22 was
judged in quadratic time (2,000 rules: 35 s), each rule evaluated against all before it."""

from __future__ import annotations

import random
from typing import Any

import pytest

import checks.network as network
from checks.network import _deciding_world_rules, _world_admits
from scanner.rules import Action, LayerMode, PortRange, Rule, RuleLayer, admitted

ANY = ("0.0.0.0/0",)
ADMIN = [(22, 22), (3389, 3389), (5432, 5432)]


def found(rules: list[Rule], mode: LayerMode = LayerMode.ORDERED) -> list[dict[str, object]]:
    world = [i for i, r in enumerate(rules) if r.action is Action.ALLOW
             and network._whole_families(r.sources)]
    return [v for at in _deciding_world_rules(rules, world, mode, ADMIN)
            for v in _world_admits(rules, at, mode, ADMIN)]


def test_a_rule_after_an_ssh_rule_is_not_named_for_ssh() -> None:
    rules = [Rule(Action.ALLOW, "tcp", PortRange(22, 22), ANY, 100, "fw#ssh"),
             Rule(Action.ALLOW, "tcp", PortRange(443, 443), ANY, 200, "fw#https")]
    assert [(v["rule"], v["ports"]) for v in found(rules)] == [("fw#ssh", "22")]


def test_an_operator_allow_before_a_deny_does_not_fail_a_later_rule_from_anywhere() -> None:
    """SSH allowed from the operators' range, then denied from anywhere, then allowed from
    anywhere (an NSG's layered rules): the last rule decides nothing, so nothing admits SSH
    from the whole internet. The old evaluation let the earlier allow's 10.1.2.0/24 through
    as if the last rule admitted it: NET-07 failed a firewall that is closed (a false
    fail; 3,003 rules of this kind on the bundled NSG named 1,347 rules)."""
    rules = [Rule(Action.ALLOW, "tcp", PortRange(22, 22), ("10.1.2.0/24",), 100, "fw#ops"),
             Rule(Action.DENY, "tcp", PortRange(22, 22), ANY, 110, "fw#deny"),
             Rule(Action.ALLOW, "tcp", PortRange(22, 22), ANY, 120, "fw#late")]
    assert found(rules) == []


def test_a_rule_is_named_for_the_cells_only_it_decides() -> None:
    """A deny of 10.0.0.0/8 on TCP 22 first, then TCP from `*` on 20-25: that rule admits 22
    from everything but 10.0.0.0/8; a rule of every protocol from `*` on 22 after both
    decides only UDP 22."""
    rules = [Rule(Action.DENY, "tcp", PortRange(22, 22), ("10.0.0.0/8",), 100, "fw#deny"),
             Rule(Action.ALLOW, "tcp", PortRange(20, 25), ANY, 200, "fw#wide"),
             Rule(Action.ALLOW, "*", PortRange(22, 22), ANY, 300, "fw#late")]
    got = found(rules)
    assert [(v["rule"], v["protocol"], v["ports"]) for v in got] == [
        ("fw#wide", "tcp", "22"), ("fw#late", "udp", "22")]
    assert "10.0.0.0/8" not in str(got[0]["sources"])


def reference(rules: list[Rule]) -> list[tuple[str, str, str, str]]:
    """Every world rule against every rule before it (as denies), nothing skipped."""
    out = []
    order = sorted(range(len(rules)), key=lambda k: (rules[k].priority, k))
    for pos, at in enumerate(order):
        rule = rules[at]
        if rule.action is not Action.ALLOW or not network._whole_families(rule.sources):
            continue
        before = [Rule(Action.DENY, rules[k].protocol, rules[k].ports, rules[k].sources,
                       rules[k].priority) for k in order[:pos]]
        layer = RuleLayer("ref", LayerMode.ORDERED, (*before, rule), Action.DENY)
        for e in admitted((layer,), network._whole_families(rule.sources)):
            if e.protocol in ("tcp", "udp"):
                for lo, hi in ADMIN:
                    a, b = max(lo, e.ports.lo), min(hi, e.ports.hi)
                    if a <= b:
                        out.append((rule.origin, e.protocol, str(PortRange(a, b)),
                                    str(network._capped(list(e.sources)))))
    return sorted(out)


@pytest.mark.parametrize("seed", range(40))
def test_what_each_rule_decides_matches_evaluating_every_rule_before_it(seed: int) -> None:
    rnd = random.Random(seed)
    sources = [ANY, ("0.0.0.0/1", "128.0.0.0/1"), ("10.0.0.0/8",), ("::/0",),
               ("0.0.0.0/0", "::/0"), ("192.0.2.0/24",)]
    rules = []
    for i in range(rnd.randrange(1, 14)):
        lo = rnd.choice((20, 22, 23, 3389, 5000, 5432))
        rules.append(Rule(rnd.choice((Action.ALLOW, Action.ALLOW, Action.DENY)),
                          rnd.choice(("tcp", "udp", "*")),
                          PortRange(lo, lo + rnd.choice((0, 0, 5, 3000))),
                          rnd.choice(sources), rnd.choice((100, 200, 300)), f"fw#{i}"))
    got = sorted((str(v["rule"]), str(v["protocol"]), str(v["ports"]), str(v["sources"]))
                 for v in found(rules))
    assert got == reference(rules)


def test_many_rules_from_anywhere_on_one_port_are_evaluated_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = network.admitted

    def counted(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(network, "admitted", counted)
    rules = [Rule(Action.ALLOW, "tcp", PortRange(22, 22), ANY, 100 + i, f"fw#{i}")
             for i in range(3000)]
    assert [v["rule"] for v in found(rules)] == ["fw#0"]
    assert len(calls) == 1  # the first rule decides port 22; the 2,999 after it decide nothing
