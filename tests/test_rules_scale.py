"""Issue 15 item 4: exposure analysis of one firewall is O(N log N) in its rules, not
quadratic (the former cell-by-cell evaluation took 160 s at 8k rules, hours at 100k)."""

from __future__ import annotations

import importlib.util
import ipaddress
import time

import pytest

from scanner import rules
from scanner.rules import Action, LayerMode, PortRange, Rule, RuleLayer, sources_for
from tests.helpers import ROOT

_spec = importlib.util.spec_from_file_location("bench_rules", ROOT / "bench" / "bench_rules.py")
assert _spec is not None and _spec.loader is not None
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
make_rules = _bench.make_rules  # the benchmark's firewall shape


def cpu_seconds(layers: tuple[RuleLayer, ...]) -> float:
    rules._admitted.cache_clear()
    start = time.process_time()
    rules.admitted(layers)
    return time.process_time() - start


def test_twenty_thousand_rules_on_one_firewall_take_seconds_not_hours() -> None:
    union = RuleLayer("fw", LayerMode.UNION, make_rules(20_000, 7, ordered=False))
    nsg = RuleLayer("nsg", LayerMode.ORDERED, make_rules(20_000, 8, ordered=True))
    # generous bounds for a loaded CI machine; the old evaluation needed ~10 minutes here
    assert cpu_seconds((union,)) < 30
    assert cpu_seconds((nsg, union)) < 60


def test_growth_is_near_linear() -> None:
    small = RuleLayer("fw", LayerMode.UNION, make_rules(4_000, 3, ordered=False))
    big = RuleLayer("fw", LayerMode.UNION, make_rules(16_000, 3, ordered=False))
    t_small, t_big = cpu_seconds((small,)), cpu_seconds((big,))
    assert t_big < 10 * max(t_small, 0.05)  # 4x the rules: ~4x the time, never ~16x


def test_many_sources_on_one_port_and_one_source_on_many_ports() -> None:
    many_sources = tuple(Rule(Action.ALLOW, "tcp", PortRange(443, 443),
                              (f"10.{i // 256}.{i % 256}.0/24",)) for i in range(20_000))
    layer = RuleLayer("fw", LayerMode.UNION, many_sources)
    exposures = rules.admitted([layer])
    first, last = ipaddress.IPv4Address("10.0.0.0"), ipaddress.IPv4Address("10.78.31.255")
    assert sources_for(exposures, "tcp", 443) == [
        str(n) for n in ipaddress.summarize_address_range(first, last)]
    many_ports = tuple(Rule(Action.ALLOW, "tcp", PortRange(p, p), ("203.0.113.7/32",))
                       for p in range(1, 20_001))
    exposures = rules.admitted([RuleLayer("fw", LayerMode.UNION, many_ports)])
    assert [(e.protocol, str(e.ports), e.sources) for e in exposures] == [
        ("tcp", "1-20000", ("203.0.113.7/32",))]


def test_stacked_layers_evaluate_only_the_rules_the_other_layers_can_let_through(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An NSG in front of a security group with nothing in common: the segment trees see
    only the rules whose sources meet every layer's reach, not 2 x 5,000 (the result is
    the same: empty)."""
    nsg = RuleLayer("nsg", LayerMode.ORDERED, make_rules(5_000, 8, ordered=True))
    sg = RuleLayer("sg", LayerMode.UNION, tuple(
        Rule(Action.ALLOW, "tcp", PortRange(p, p), (f"198.18.{p % 256}.0/24",))
        for p in range(1, 5_001)))
    seen: list[int] = []
    layer_pieces = rules._layer_pieces

    def counting(layer: RuleLayer, applying: list[object], *args: object) -> object:
        seen.append(len(applying))
        return layer_pieces(layer, applying, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(rules, "_layer_pieces", counting)
    rules._admitted.cache_clear()
    assert rules.admitted((nsg, sg)) == ()
    assert sum(seen) < 100
