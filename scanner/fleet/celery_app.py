"""The distributed executor: Celery, a broker by URL (Redis by default; RabbitMQ through the
same setting, amqp://), the results in the history store every worker writes to.

Imported only by `posture fleet --executor celery` and `posture worker` (Celery is slow to
import and an optional extra: `pip install posture[fleet]`).

- One task per unit, on the queue of its provider (`posture.aws`, `posture.azure`,
  `posture.hetzner`): a worker started with `-Q`/`--queues` and `--concurrency` bounds how
  many units of a provider run at once (each cloud's API rate limits).
- Acknowledged late (`acks_late`, `reject_on_worker_lost`, prefetch 1): a worker killed in
  the middle of a unit leaves the message to the broker, which hands it to another worker
  (Redis: after the visibility timeout).
- Idempotent: a unit already stored for its run is not scanned again, and storing is once
  per (run, unit) (scanner/fleet/store.py).
- A unit that fails after its retries is stored as `error` for its account.
- The messages carry no secret: no store URL (each worker has its own `--store`), no token
  (units name where credentials are, scanner/fleet/units.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from celery import Celery, Task  # type: ignore[import-untyped]

from scanner.errors import PostureError
from scanner.fleet.store import FleetStore
from scanner.fleet.task import run_unit
from scanner.fleet.units import Outcome, Unit

log = logging.getLogger("posture.fleet")
TASK = "posture.fleet.unit"
QUEUES = ("posture.aws", "posture.azure", "posture.hetzner")
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def safe_url(url: str) -> str:
    """A broker or store URL without its password, for messages."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url


def make_app(broker: str, store: str | None = None, visibility_timeout: int = 3600) -> Celery:
    app = Celery("posture", broker=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_backend=None,
        task_ignore_result=True,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        # Redis: a message taken but not acknowledged goes back to the queue after this
        # many seconds (a worker that died); longer than the longest unit
        # (kombu sweeps for such messages every unacked_restore_interval seconds)
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "unacked_restore_interval": max(1, min(10, visibility_timeout // 5)),
            "unacked_restore_throttle": 1,
            # the sweep's lock: a broker that dies while a worker holds it keeps it (AOF)
            # for this long after its restart, and no unacknowledged message comes back
            # meanwhile (kombu's default is 300 s whatever the visibility timeout)
            "unacked_mutex_expire": max(1, min(300, visibility_timeout))},
        broker_connection_retry_on_startup=True, broker_connection_timeout=5,
        worker_hijack_root_logger=False, worker_redirect_stdouts=False,
        task_default_queue=QUEUES[0],
    )
    app.conf.posture_store = store

    @app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def unit_task(self: Task, unit_doc: dict[str, Any], run_id: int,
                  request: dict[str, Any], retries: int = 2) -> str:
        return execute(self, Unit.from_json(unit_doc), run_id, request, retries)

    return app


_STORES: dict[str | None, FleetStore] = {}  # per worker process: one engine, pooled


def execute(task: Any, unit: Unit, run_id: int, request: Mapping[str, Any],
            retries: int) -> str:
    url = task.app.conf.posture_store
    store = _STORES.get(url) or _STORES.setdefault(url, FleetStore(url))
    if store.is_done(run_id, unit.key):  # a redelivered unit that was stored: nothing to do
        log.info("fleet unit %s of run %d: already stored", unit.key, run_id)
        return "duplicate"
    # retried in this process (scanner/fleet/task.py), the message held unacknowledged
    # meanwhile: a retry never depends on the broker
    return run_unit(unit, run_id, store, request, retries,
                    float(request.get("retry_backoff", 2.0))).status


def check_broker(app: Celery) -> None:
    """Refuse, in one line, a broker that cannot be reached (before the run is recorded)."""
    submit(app, 0, [], {}, 0)


def submit(app: Celery, run_id: int, units: list[Unit], request: Mapping[str, Any],
           retries: int) -> None:
    from kombu.exceptions import OperationalError

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.5,
                                   timeout=5)
            for unit in units:
                app.send_task(TASK, args=[unit.to_json(), run_id, dict(request), retries],
                              queue=f"posture.{unit.provider}", connection=conn,
                              retry=True, retry_policy={"max_retries": 3})
    except OperationalError as exc:
        raise PostureError(f"fleet: cannot reach the broker at {safe_url(app.conf.broker_url)}"
                           f": {' '.join(str(exc).split())[:200]}") from None


class BrokerWatch:
    """Tells the submitter when a Redis broker restarted: the `run_id` of `INFO server`
    changes at every start of the server.

    A restarted Redis may have lost units: without persistence, everything it held; with an
    append-only file, a message a worker had taken off its queue in the instant the server
    went down (kombu records a taken message in a second command), or one whose return
    waits on a lock the dead server kept. So after a restart the submitter sends again every
    unit of its run that is not stored yet (`restarted`, then `settle` once sent). A unit
    that arrives twice is scanned at most twice and stored once (a worker skips a unit that
    is stored; the store keeps one outcome per unit and run).

    RabbitMQ keeps persistent messages of durable queues (Celery's default) across restarts,
    and Redis Sentinel URLs name no single server: neither is watched."""

    def __init__(self, url: str, every: float = 2.0) -> None:
        self.client: Any = None
        self.every, self.next = every, 0.0
        self.run_id: str | None = None
        self.pending = False
        if url.split("://", 1)[0] in ("redis", "rediss", "unix"):
            import redis

            try:
                self.client = redis.Redis.from_url(url, socket_timeout=2,
                                                   socket_connect_timeout=2)
            except ValueError:  # options redis-py does not take: not watched
                self.client = None
        self.restarted()  # the server's run id before anything is sent

    def restarted(self) -> bool:
        """Whether the broker restarted since the units were sent and they have not been
        sent again (looks at the broker at most every `every` seconds)."""
        if self.client is None or time.monotonic() < self.next:
            return self.pending
        self.next = time.monotonic() + self.every
        import redis

        try:
            run_id = str(self.client.info("server").get("run_id", ""))
        except redis.RedisError:  # down (or restarting): look again later
            return self.pending
        if self.run_id is not None and run_id != self.run_id:
            self.pending = True
        self.run_id = run_id
        return self.pending

    def settle(self) -> None:
        self.pending = False


def wait(store: FleetStore, run_id: int, units: list[Unit], timeout: float,
         on_done: Callable[[Outcome, int, int], None], poll: float = 0.5,
         watch: BrokerWatch | None = None,
         resend: Callable[[list[Unit]], None] | None = None) -> list[str]:
    """Wait until every unit of the run is stored (by any worker); the keys of the units
    that were not stored within `timeout` seconds. With `watch`, the units not stored yet
    go to `resend` after each restart of the broker (until it takes them)."""
    wanted = {u.key for u in units}
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while True:
        got = store.outcomes(run_id)
        for key in sorted(set(got) - seen):
            seen.add(key)
            on_done(got[key], len(seen), len(wanted))
        if wanted <= seen:
            return []
        if time.monotonic() >= deadline:
            return sorted(wanted - seen)
        if watch is not None and resend is not None and watch.restarted():
            try:
                resend([u for u in units if u.key not in seen])
            except PostureError:
                pass  # the broker is not back yet: the next look tries again
            else:
                watch.settle()
        time.sleep(poll)


def worker(broker: str, store: str | None, concurrency: int, queues: tuple[str, ...],
           name: str | None, visibility_timeout: int) -> None:
    app = make_app(broker, store, visibility_timeout)
    logging.getLogger("posture.fleet").setLevel(logging.INFO)  # a line per unit started
    FleetStore(store)  # fail now, in one line, if the store cannot be opened
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=prefork",
            "-Q", ",".join(queues), "--without-gossip", "--without-mingle"]
    if name:
        argv.append(f"--hostname={name}")
    app.worker_main(argv)
