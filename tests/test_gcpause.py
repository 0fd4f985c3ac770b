"""The collector pause around a scan: restored as it was, and what the pause made is not
traced again by the first young collection after it (bench/README.md, session 7)."""

from __future__ import annotations

import gc
import weakref

from scanner.gcpause import gc_paused


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_first_young_collections_after_a_pause_do_not_trace_what_it_made() -> None:
    # they did: the first allocation after the pause traced everything it had made (0.4 s
    # after a 100k-resource scan)
    traced: list[bool] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] < 2:
            young = {id(o) for g in range(info["generation"] + 1)
                     for o in gc.get_objects(generation=g)}
            traced.append(id(made[0]) in young)

    try:
        with gc_paused():
            made = [_Node() for _ in range(2000)]
            gc.callbacks.append(watch)  # from the pause's end on
        churn = [[_Node()] for _ in range(5000)]  # allocations: young collections run
    finally:
        gc.callbacks.remove(watch)
    assert gc.isenabled()
    assert traced  # young collections ran, and none had the pause's objects to trace
    assert not any(traced)
    del churn


def test_a_cycle_made_during_a_pause_is_still_collected() -> None:
    with gc_paused():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
    assert gone() is not None  # a cycle: reference counting cannot free it
    gc.collect()
    assert gone() is None


def test_the_collector_is_left_as_it_was_and_a_freeze_of_the_program_kept() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # paused by the caller: stays paused
    finally:
        gc.enable()
    kept = _Node()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            _Node()
        assert gc.get_freeze_count() == frozen  # the program's own freeze is not thawed
        assert gc.isenabled()
    finally:
        gc.unfreeze()
    del kept
