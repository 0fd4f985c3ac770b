"""Fleet runs in the history store: a run, its planned units, and each unit's outcome.

A unit's scan is an ordinary scan of the store (`posture history`, `posture diff` work on
it); the unit row that marks it done is written in the same transaction, and the pair
(run, unit) is unique, so a unit that runs twice (a redelivered Celery task) is stored once:
the second writer's transaction fails on the unique key and is rolled back whole.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from scanner import snapshot
from scanner.errors import PostureError
from scanner.fleet.units import Outcome, Unit
from scanner.history import HistoryStore, insert_scan, metadata
from scanner.result import ScanResult

runs = sa.Table(
    "posture_fleet_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=True),
    sa.Column("executor", sa.String(40), nullable=False),
    sa.Column("request", sa.Text, nullable=False),  # JSON: profile, checks, options
    sa.Column("units", sa.Text, nullable=False),  # JSON: the planned units
)
unit_rows = sa.Table(
    "posture_fleet_units", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("posture_fleet_runs.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("unit_key", sa.String(300), nullable=False),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("account", sa.String(200), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # ok | error
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("posture_scans.id", ondelete="SET NULL"),
              nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("counts", sa.Text, nullable=False),  # JSON: findings by status
    sa.UniqueConstraint("run_id", "unit_key", name="posture_fleet_unit_once"),
)


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    name: str
    started_at: str
    finished_at: str | None
    executor: str
    request: dict[str, Any]
    units: list[Unit]


def _open(store: str | None, attempts: int = 4) -> HistoryStore:
    """The history store; several workers starting at once on a fresh PostgreSQL store
    race to create its tables (one wins, the others fail on the catalogue's unique keys):
    the losers open it again, when the tables are there."""
    for attempt in range(1, attempts + 1):
        try:
            return HistoryStore(store)
        except PostureError as exc:
            racing = "duplicate key" in str(exc) or "already exists" in str(exc)
            if attempt == attempts or not racing:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


class FleetStore:
    def __init__(self, store: str | None) -> None:
        self.history = _open(store)
        self.engine = self.history.engine
        self.display = self.history.display
        try:
            with self.engine.begin() as conn:
                metadata.create_all(conn, tables=[runs, unit_rows])
        except sa.exc.IntegrityError:
            pass  # two workers created them at once: they are there
        except sa.exc.ProgrammingError as exc:
            if "already exists" not in str(exc):
                raise PostureError(f"history store {self.history._safe(self.display)}: "
                                   f"cannot create the fleet tables") from None

    # --- runs ------------------------------------------------------------------------

    def start_run(self, name: str, executor: str, request: dict[str, Any],
                  units: list[Unit]) -> int:
        with self.engine.begin() as conn:
            inserted = conn.execute(sa.insert(runs).values(
                name=name, started_at=snapshot.now(), finished_at=None, executor=executor,
                request=json.dumps(request, sort_keys=True),
                units=json.dumps([u.to_json() for u in units], sort_keys=True),
            )).inserted_primary_key
        assert inserted is not None
        return int(inserted[0])

    def finish_run(self, run_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(runs).where(runs.c.id == run_id)
                         .values(finished_at=snapshot.now()))

    def run(self, ref: str | int) -> Run:
        run_id = self.resolve(ref) if isinstance(ref, str) else ref
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise PostureError(f"no fleet run #{run_id} in "
                               f"{self.history._safe(self.display)}")
        return Run(row.id, row.name, row.started_at, row.finished_at, row.executor,
                   json.loads(row.request), [Unit.from_json(u) for u in json.loads(row.units)])

    def runs(self, limit: int = 20) -> list[Run]:
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(
                sa.select(runs.c.id).order_by(runs.c.id.desc()).limit(limit)).all()]
        return [self.run(i) for i in ids]

    def resolve(self, ref: str) -> int:
        """`last`, `previous` or a run id -> run id."""
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(
                sa.select(runs.c.id).order_by(runs.c.id.desc()).limit(2)).all()]
            if ref in ("last", "previous"):
                index = 0 if ref == "last" else 1
                if len(ids) <= index:
                    raise PostureError(f"history store {self.history._safe(self.display)} "
                                       f"holds {'no' if not ids else 'only one'} fleet run")
                return int(ids[index])
            try:
                wanted = int(ref.lstrip("#"))
            except ValueError:
                raise PostureError(f"{ref!r} is not a fleet run reference (last, previous "
                                   "or a run id)") from None
            if conn.execute(sa.select(runs.c.id).where(runs.c.id == wanted)).scalar() is None:
                raise PostureError(f"no fleet run #{wanted} in "
                                   f"{self.history._safe(self.display)}")
            return wanted

    # --- units -----------------------------------------------------------------------

    def is_done(self, run_id: int, key: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(unit_rows.c.status).where(
                (unit_rows.c.run_id == run_id) & (unit_rows.c.unit_key == key))).first() \
                is not None

    def record(self, run_id: int, outcome: Outcome, result: ScanResult | None) -> bool:
        """Store a unit's outcome (and its scan) once; False: it was already stored."""
        try:
            with self.engine.begin() as conn:
                scan_id = insert_scan(conn, result) if result is not None else None
                conn.execute(sa.insert(unit_rows).values(
                    run_id=run_id, unit_key=outcome.unit.key, provider=outcome.unit.provider,
                    account=outcome.unit.account, name=outcome.unit.name,
                    status=outcome.status, scan_id=scan_id, message=outcome.message,
                    duration=outcome.duration, attempts=outcome.attempts,
                    counts=json.dumps(outcome.counts, sort_keys=True)))
        except sa.exc.IntegrityError:
            return False
        return True

    def outcomes(self, run_id: int) -> dict[str, Outcome]:
        planned = {u.key: u for u in self.run(run_id).units}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(unit_rows).where(unit_rows.c.run_id == run_id)).all()
        out = {}
        for r in rows:
            unit = planned.get(r.unit_key) or Unit(r.provider, r.account, r.name)
            out[r.unit_key] = Outcome(unit, r.status, r.scan_id, r.message, r.duration,
                                      r.attempts, json.loads(r.counts))
        return out

    def scan_result(self, scan_id: int) -> ScanResult:
        return self.history.load(str(scan_id))
