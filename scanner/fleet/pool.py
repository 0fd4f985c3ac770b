"""The embedded executor: a bounded process pool on this machine, no broker, no server.

At most `workers` units run at once, and at most `concurrency[provider]` of one provider
(to stay inside each cloud's API rate limits: every unit makes its own concurrent calls).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from scanner.fleet.store import FleetStore
from scanner.fleet.task import run_unit
from scanner.fleet.units import Outcome, Unit

OnDone = Callable[[Outcome, int, int], None]


def _run(environ: dict[str, str], unit: Unit, run_id: int, store: str | None,
         request: dict[str, Any], retries: int) -> Outcome:
    """In a worker: the submitting process's environment (the forkserver keeps the one of
    its start; a library caller may have changed it since), then the unit."""
    os.environ.clear()
    os.environ.update(environ)
    return run_unit(unit, run_id, store, request, retries)


def run(units: list[Unit], run_id: int, store: str | None, request: Mapping[str, Any],
        workers: int, concurrency: Mapping[str, int], on_done: OnDone,
        retries: int = 2) -> list[Outcome]:
    queue = deque(units)
    running: dict[Future[Outcome], Unit] = {}
    busy: dict[str, int] = {}
    outcomes: list[Outcome] = []
    # forkserver: workers fork from a clean server process that imported the scanner once
    # (fast to start, nothing inherited from this process's threads or connections)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["scanner.fleet.task", "scanner.engine", "scanner.registry"])
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context) as pool:
        while queue or running:
            for _ in range(len(queue)):
                if len(running) >= workers:
                    break
                unit = queue.popleft()
                if busy.get(unit.provider, 0) >= concurrency.get(unit.provider, workers):
                    queue.append(unit)  # its provider is at its limit: later
                    continue
                busy[unit.provider] = busy.get(unit.provider, 0) + 1
                running[pool.submit(_run, dict(os.environ), unit, run_id, store,
                                    dict(request), retries)] = unit
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                unit = running.pop(future)
                busy[unit.provider] -= 1
                exc = future.exception()
                if exc is None:
                    outcome = future.result()
                else:  # the worker process died (killed, out of memory): an error, stored
                    outcome = Outcome(unit, "error", None,
                                      f"the worker process failed: {type(exc).__name__}: "
                                      f"{' '.join(str(exc).split())[:300]}", 0.0, 1)
                    FleetStore(store).record(run_id, outcome, None)
                outcomes.append(outcome)
                on_done(outcome, len(outcomes), len(units))
    return outcomes
