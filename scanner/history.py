"""The history store: every scan with its findings, for `--since last` and `posture diff`.

One code path (SQLAlchemy Core) for the embedded SQLite default and a PostgreSQL URL for
teams. The schema is versioned; `HistoryStore` applies pending migrations when it opens.
"""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from platformdirs import user_data_path

from scanner.errors import PostureError
from scanner.result import ScanResult

metadata = sa.MetaData()

schema_version = sa.Table(
    "posture_schema", metadata,
    sa.Column("version", sa.Integer, nullable=False),
)
scans = sa.Table(
    "posture_scans", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=False),
    sa.Column("tool_version", sa.String(40), nullable=False),
    sa.Column("profile", sa.String(200), nullable=False),
    sa.Column("sources", sa.Text, nullable=False),  # JSON
    sa.Column("summary", sa.Text, nullable=False),  # JSON
    sa.Column("result", sa.Text, nullable=False),  # the whole results document, JSON
)
findings = sa.Table(
    "posture_findings", metadata,
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("posture_scans.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("finding_id", sa.Text, nullable=False, index=True),
    sa.Column("check_id", sa.String(40), nullable=False),
    sa.Column("resource", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)


def _v1(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[scans, findings])


# Ordered migrations: (version, step). Add new steps at the end; never edit an old one.
MIGRATIONS: list[tuple[int, Callable[[sa.Connection], None]]] = [(1, _v1)]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def default_store() -> Path:
    return user_data_path("posture", appauthor=False) / "history.sqlite"


def engine_url(store: str | None) -> str:
    """A path, sqlite:/// URL or postgresql:// URL -> SQLAlchemy URL."""
    if not store:
        path = default_store()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if store.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + store.split("://", 1)[1]
    if "://" in store:
        return store
    path = Path(store).expanduser().resolve()
    if not path.parent.is_dir():
        raise PostureError(f"--store {store}: folder {path.parent} does not exist")
    return f"sqlite:///{path}"


def _store_secrets(store: str) -> list[str]:
    """The password(s) a store URL carries, to keep them out of driver messages."""
    if "://" not in store:
        return []
    try:
        parts = urlsplit(store)
        found = [parts.password or ""]
        for key, values in parse_qs(parts.query).items():
            if key.lower() in ("password", "passwd", "pwd", "sslpassword"):
                found.extend(values)
    except ValueError:
        return []
    return [f for f in found if f]


@dataclass(frozen=True, slots=True)
class StoredScan:
    id: int
    finished_at: str
    profile: str
    summary: dict[str, Any]


_QUERY_SECRET = re.compile(r"([?&;](?:password|passwd|pwd|passfile|sslpassword|"
                           r"sslkey|token|secret)=)[^&;#]*", re.IGNORECASE)


def safe_store(text: str) -> str:
    """A store path or URL without its password, for messages and logs: the
    `user:password@` form and query parameters that carry one (`?password=...`)."""
    if "://" in text:
        scheme, rest = text.split("://", 1)
        end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        authority, tail = rest[:end], rest[end:]
        if "@" in authority:  # user:password@host/db (a password may hold "/")
            creds, host = authority.rsplit("@", 1)
            if ":" in creds:
                authority = f"{creds.split(':')[0]}:***@{host}"
        text = f"{scheme}://{authority}{tail}"
    return _QUERY_SECRET.sub(r"\1***", text)


class HistoryStore:
    def __init__(self, store: str | None = None) -> None:
        self.display = safe_store(store or str(default_store()))
        self._secrets = tuple(_store_secrets(store or ""))
        try:
            url = engine_url(store)
            kwargs: dict[str, Any] = {}
            if url.startswith("sqlite:"):  # many scans may write at once: wait for the lock
                kwargs["connect_args"] = {"timeout": 60}
            self.engine = sa.create_engine(url, **kwargs)
            self._sqlite = self.engine.dialect.name == "sqlite"
            self._migrate()
        except (sa.exc.SQLAlchemyError, ValueError, TypeError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException, doing: str = "") -> PostureError:
        """One line naming the store (never its password) and the problem; a driver error's
        own first line only (SQLAlchemy's text adds the statement and its parameters)."""
        inner = getattr(exc, "orig", None) or exc
        first = (str(inner).strip().splitlines() or [type(inner).__name__])[0]
        for secret in self._secrets:
            first = first.replace(secret, "***")
        return PostureError(f"history store {self.display}: {doing}{type(inner).__name__}: "
                            f"{safe_store(first)}")

    @staticmethod
    def _safe(text: str) -> str:
        return safe_store(text)

    def _migrate(self) -> None:
        """Create or upgrade the schema, one process at a time: several scans may open a
        new store at once (a file lock for SQLite, an advisory lock for PostgreSQL), and
        create_all checks for each table first, so a second run finds it done."""
        lock = None
        database = self.engine.url.database
        if self._sqlite and database and database != ":memory:":
            lock = open(f"{database}.lock", "a")  # noqa: SIM115 (held across the block)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            self._migrate_locked()
        finally:
            if lock is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)
                lock.close()

    def _migrate_locked(self) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7340015)"))
            metadata.create_all(conn, tables=[schema_version])
            current = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
            current = int(current or 0)
            if current > SCHEMA_VERSION:
                raise PostureError(
                    f"history store {self._safe(self.display)} has schema version {current}, "
                    f"newer than this posture ({SCHEMA_VERSION}): upgrade posture"
                )
            for version, step in MIGRATIONS:
                if version > current:
                    step(conn)
                    conn.execute(sa.delete(schema_version))
                    conn.execute(sa.insert(schema_version).values(version=version))

    @contextmanager
    def _reading(self, doing: str) -> Iterator[None]:
        """SQLAlchemy and JSON errors of a store operation -> one PostureError line (a table
        dropped, a corrupt row)."""
        try:
            yield
        except PostureError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(exc, doing) from None
        except (ValueError, KeyError, TypeError) as exc:  # JSON of a row, its shape
            raise PostureError(f"history store {self.display}: {doing}corrupt data "
                               f"({type(exc).__name__}: {str(exc)[:200]})") from None

    def version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
                       or 0)

    def save(self, result: ScanResult) -> int:
        with self._reading("saving the scan: "):
            return self._save(result)

    def _save(self, result: ScanResult) -> int:
        with self.engine.begin() as conn:
            return insert_scan(conn, result)

    def scans(self, limit: int = 20) -> list[StoredScan]:
        with self._reading("listing scans: "):
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(scans.c.id, scans.c.finished_at, scans.c.profile,
                                              scans.c.summary)
                                    .order_by(scans.c.id.desc()).limit(limit)).all()
            return [StoredScan(r.id, r.finished_at, r.profile, _summary(r.id, r.summary))
                    for r in rows]

    def resolve(self, ref: str) -> int:
        """`last`, `previous` (the one before last), or a scan id -> scan id."""
        with self._reading(""):
            return self._resolve(ref)

    def _resolve(self, ref: str) -> int:
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(
                sa.select(scans.c.id).order_by(scans.c.id.desc()).limit(2)).all()]
            if ref == "last":
                if not ids:
                    raise PostureError(f"history store {self._safe(self.display)} holds no scan")
                return int(ids[0])
            if ref == "previous":
                if len(ids) < 2:
                    raise PostureError(
                        f"history store {self._safe(self.display)} holds fewer than two scans")
                return int(ids[1])
            try:
                wanted = int(ref.lstrip("#"))
            except ValueError:
                raise PostureError(
                    f"{ref!r} is not a scan reference (last, previous or a scan id)") from None
            found = conn.execute(sa.select(scans.c.id).where(scans.c.id == wanted)).scalar()
            if found is None:
                raise PostureError(f"no scan #{wanted} in {self._safe(self.display)}")
            return int(found)

    def load(self, ref: str) -> ScanResult:
        scan_id = self.resolve(ref)
        with self._reading(f"scan #{scan_id}: "):
            with self.engine.connect() as conn:
                text = conn.execute(sa.select(scans.c.result)
                                    .where(scans.c.id == scan_id)).scalar()
            return ScanResult.from_json(json.loads(str(text)), origin=f"scan #{scan_id}")


def _summary(scan_id: int, text: str) -> dict[str, Any]:
    """A stored summary, checked for the fields `posture history` shows."""
    data = json.loads(text)
    by_status = data.get("by_status") if isinstance(data, dict) else None
    if not (isinstance(by_status, dict) and all(isinstance(by_status.get(k), int)
                                                for k in ("fail", "error"))
            and isinstance(data.get("resources"), int)):
        raise ValueError(f"scan #{scan_id}: summary is not a posture summary")
    summary: dict[str, Any] = data
    return summary


def insert_scan(conn: sa.Connection, result: ScanResult) -> int:
    """Insert one scan and its findings in the caller's transaction (the fleet store writes a
    unit's scan and the row that marks the unit done together: both or neither)."""
    from scanner.reports import json_report  # the results file's writer: format 2

    inserted = conn.execute(sa.insert(scans).values(
        started_at=result.started_at,
        finished_at=result.finished_at,
        tool_version=result.tool_version,
        profile=str(result.profile.get("name", "")),
        sources=json.dumps(result.sources, sort_keys=True),
        summary=json.dumps(result.summary(), sort_keys=True),
        result=json_report.render(result, timestamps=True),  # results format 2
    )).inserted_primary_key
    assert inserted is not None
    scan_id = int(inserted[0])
    rows = [{"scan_id": scan_id, "finding_id": f.id, "check_id": f.check,
             "resource": f.resource, "status": str(f.status), "severity": str(f.severity),
             "message": f.message} for f in result.findings]
    if rows:
        conn.execute(sa.insert(findings), rows)
    return scan_id
