"""The history store on a real PostgreSQL server (the one .ci/run installs and starts).

Set POSTURE_TEST_POSTGRES_URL to a database the tests may write to; CI sets it and also
POSTURE_REQUIRE_POSTGRES=1, so there a missing server fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from scanner.history import SCHEMA_VERSION, HistoryStore
from scanner.result import ScanResult
from tests.helpers import SEED002, run

URL = os.environ.get("POSTURE_TEST_POSTGRES_URL", "")

if not URL and os.environ.get("POSTURE_REQUIRE_POSTGRES") == "1":
    raise RuntimeError("POSTURE_REQUIRE_POSTGRES=1 but POSTURE_TEST_POSTGRES_URL is not set")
pytestmark = pytest.mark.skipif(not URL, reason="no PostgreSQL (set POSTURE_TEST_POSTGRES_URL)")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema per test, on the given server."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine("postgresql+psycopg://" + URL.split("://", 1)[1])
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in URL else "?"
    yield f"{URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_postgres_store_round_trips_scans_like_sqlite(pg_url: str) -> None:
    result = ScanResult.from_json(json.loads(run(
        "scan", str(SEED002), "--profile", "seed-002", "--format", "json").stdout))
    store = HistoryStore(pg_url)
    assert store.version() == SCHEMA_VERSION
    first = store.save(result)
    store.save(result)
    assert store.resolve("previous") == first
    assert store.load("last").to_json() == result.to_json()
    assert HistoryStore(pg_url).version() == SCHEMA_VERSION  # reopening does not re-migrate


def test_postgres_password_never_appears_in_errors() -> None:
    bad = URL.replace("://posture:", "://nobody:") if "://posture:" in URL else URL + "x"
    with pytest.raises(Exception) as info:
        HistoryStore(bad)
    assert "posture-ci" not in str(info.value)
