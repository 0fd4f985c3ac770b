"""Scans under faults: transient faults change nothing; a collection that stays down or is
denied is an error for exactly its scope, exit 3, and never a pass.

The local Hetzner API server, the HTTPS ARM server and the proxy in front of moto (AWS)
answer a seeded fraction of calls with throttling (429 + Retry-After, with and without the
API's JSON body; on AWS each service's own throttling error in its protocol's shape: EC2 503
RequestLimitExceeded, query 400 Throttling, JSON 400 ThrottlingException, S3 503 SlowDown,
or a 429 TooManyRequestsException), 5xx (in the API's error shape, or a gateway's HTML page,
or no body), answers slower than the client's timeout, and dropped connections (closed or
reset). The CLI runs with --retry-base-seconds 0.01 and 3 retries, and a timeout of 1 s (4 s
on AWS: see tests/fault_harness.py), through the environment variables POSTURE_*, so a faulty
scan takes seconds. The harness is tests/fault_harness.py; bench/bench_faults.py runs it for
N seeds and reports the counts.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.fault_harness import CLOUDS, DOWN, Outcome, down, transient
from tests.hcloud_server import FAULT_KINDS, FaultPlan

# Hetzner reads ~10 list pages per scan, Azure ~50, AWS ~130 calls in two regions: a higher
# rate gives Hetzner faults too.
RATE = {"hetzner": 0.5, "azure": 0.3, "aws": 0.2}
SEEDS = {"hetzner": (1, 4, 6), "azure": (1, 2), "aws": (1,)}  # one AWS seed: ~30 faults
DOWN_RATE = {"hetzner": 0.2, "azure": 0.2, "aws": 0.1}


def summary(outcomes: list[Outcome]) -> str:
    faults: Counter[str] = Counter()
    for o in outcomes:
        faults.update(o.faults)
    return (f"{outcomes[0].cloud} {outcomes[0].scenario}: {len(outcomes)} scan(s), "
            f"{sum(o.calls for o in outcomes)} calls, {sum(o.retried for o in outcomes)} "
            f"retried, faults {dict(sorted(faults.items()))}, "
            f"{sum(o.completed for o in outcomes)} completed, "
            f"{sum(len(o.false_passes) for o in outcomes)} false passes")


def test_the_fault_plan_is_seeded_per_request_not_per_arrival_order() -> None:
    plan = FaultPlan(seed=7, rate=0.5)
    requests = [("GET", f"/v1/servers?page={i}") for i in range(200)]
    first = [plan.decide(m, p, 1) for m, p in requests]
    again = [plan.decide(m, p, 1) for m, p in reversed(requests)][::-1]
    assert first == again
    assert {f[0] for f in first if f} == set(FAULT_KINDS)
    assert 60 < sum(f is not None for f in first) < 140
    assert all(plan.decide(m, p, plan.per_request + 1) is None for m, p in requests)
    other = FaultPlan(seed=8, rate=0.5)
    assert [other.decide(m, p, 1) for m, p in requests] != first


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_transient_faults_leave_the_findings_of_a_clean_scan(cloud: str) -> None:
    outcomes = [transient(CLOUDS[cloud], seed, RATE[cloud]) for seed in SEEDS[cloud]]
    print("\n" + summary(outcomes))
    seen: Counter[str] = Counter()
    for o in outcomes:
        seen.update(o.faults)
        assert o.completed, o.stderr
        assert o.unexpected_errors == [], o.row()
        assert o.identical, o.row()
        assert o.false_passes == [], o.row()
        assert o.exit_code == o.clean_exit_code
        # every injected fault cost exactly one more call: retried, never given up on
        assert o.retried == sum(o.faults.values()) == o.calls - o.clean_calls > 0, o.row()
    assert set(seen) == set(FAULT_KINDS), seen


CASES = [(cloud, collection, how) for cloud in sorted(CLOUDS) for collection, how in DOWN[cloud]]


@pytest.mark.parametrize(("cloud", "collection", "how"), CASES)
def test_a_collection_that_stays_down_is_an_error_for_exactly_its_scope(
        cloud: str, collection: str, how: str) -> None:
    """503 (down) or 403 (deny) on every call of one collection (on AWS: one operation, or a
    whole service), and seeded transient faults on the others: exit 3 (with --fail-on none,
    else a failure outranks it), errors only for that collection (and the child collections
    read through it: Azure's children, AWS's per-resource calls), each with the reason the
    status implies, only the checks reading it differ from the clean scan, and none of them
    passes there."""
    o = down(CLOUDS[cloud], collection, how, seed=3, rate=DOWN_RATE[cloud])
    print("\n" + summary([o]))
    assert o.completed, o.stderr
    assert o.clean_exit_code == 0, o.row()  # so the exit 3 is the outage's doing
    assert o.exit_code == 3, o.row()
    assert o.errors and o.missing_errors == [], o.row()
    assert o.unexpected_errors == [], o.row()
    assert o.changed_outside_scope == [], o.row()
    assert o.false_passes == [], o.row()
