"""Fleet scans on Celery: a real Redis broker (Debian's redis-server, started here), two real
`posture worker` processes, the results in the real PostgreSQL history store (.ci/run starts
it: POSTURE_TEST_POSTGRES_URL), the units against the local Hetzner endpoint (three projects,
three tokens) and an AWS Organization in moto.

CI sets POSTURE_REQUIRE_REDIS=1 and POSTURE_REQUIRE_POSTGRES=1: there a missing server
fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests import fleet_estate
from tests.aws_proxy import start_moto
from tests.fleet_estate import AWS_ENV, PROFILE
from tests.helpers import ROOT, SEED002, findings_of, run

PG = os.environ.get("POSTURE_TEST_POSTGRES_URL", "")
REDIS = shutil.which("redis-server")
if os.environ.get("POSTURE_REQUIRE_POSTGRES") == "1" and not PG:
    raise RuntimeError("POSTURE_REQUIRE_POSTGRES=1 but POSTURE_TEST_POSTGRES_URL is not set")
if os.environ.get("POSTURE_REQUIRE_REDIS") == "1" and not REDIS:
    raise RuntimeError("POSTURE_REQUIRE_REDIS=1 but redis-server is not installed")
pytestmark = pytest.mark.skipif(not PG or not REDIS,
                                reason="needs PostgreSQL (POSTURE_TEST_POSTGRES_URL) and "
                                       "redis-server (.ci/redis.sh)")

TOKENS = {"web": "hcloud-celery-web-0123456789abcdef0123456789abcdef0123456789abcd",
          "empty": "hcloud-celery-empty-0123456789abcdef0123456789abcdef01234567890",
          "slow": "hcloud-celery-slow-0123456789abcdef0123456789abcdef012345678901"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, folder: Path, broker: str, store: str, env: dict[str, str]) -> None:
        self.folder, self.broker, self.store, self.env = folder, broker, store, env
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.started: dict[str, int] = {}  # where each worker's log of its last start begins

    def start_worker(self, name: str, wait: bool = True) -> None:
        path = self.folder / f"{name}.log"
        self.started[name] = path.stat().st_size if path.exists() else 0
        log = path.open("ab")
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "scanner.cli", "worker", "--broker", self.broker,
             "--store", self.store, "--concurrency", "1", "--name", f"{name}@fleet-test",
             # short, for the killed worker's unit to come back soon; longer than the
             # longest unit here (three throttled AssumeRoles, each with botocore's
             # backoff, and the unit's own between them: up to ~10 s)
             "--visibility-timeout", "15"],
            cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        if wait:
            self.wait_ready(name)

    def wait_ready(self, name: str) -> None:
        deadline = time.monotonic() + 120
        # the log is appended to: only a "ready" of this start counts
        while b"ready" not in self.log(name).encode()[self.started[name]:]:
            if time.monotonic() > deadline or self.workers[name].poll() is not None:
                raise RuntimeError(f"worker {name} did not start: {self.log(name)[-2000:]}")
            time.sleep(0.2)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """SIGKILL the worker and its pool children: nothing gets to acknowledge."""
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait()

    def terminate(self, name: str) -> None:
        os.killpg(self.workers[name].pid, signal.SIGTERM)
        self.workers[name].wait(timeout=30)

    def stop(self) -> None:
        for proc in self.workers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("fleet-celery")
    (folder / "profile.toml").write_text(PROFILE)
    port = free_port()
    (folder / "redis").mkdir()
    redis = fleet_estate.start_redis(port, str(folder / "redis"))
    schema = f"f_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine("postgresql+psycopg://" + PG.split("://", 1)[1])
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    store = f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{schema}"
    seed = json.loads(SEED002.read_text())["sections"][0]
    data = {name: regions["global"] for name, regions in seed["collections"].items()}
    moto, moto_url = start_moto()
    org = fleet_estate.build_org(moto_url, {"prod-a": "eu-central-1"})
    proxy = fleet_estate.OrgProxy(moto, moto_url).start()
    projects = fleet_estate.HetznerProjects({"web": (TOKENS["web"], data),
                                             "empty": (TOKENS["empty"], {}),
                                             "slow": (TOKENS["slow"], data)})
    projects.delay[TOKENS["slow"]] = 0.6
    with projects as api:
        env = {"HCLOUD_ENDPOINT": api.url, "TOKEN_WEB": TOKENS["web"],
               "TOKEN_EMPTY": TOKENS["empty"], "TOKEN_SLOW": TOKENS["slow"],
               **AWS_ENV, "AWS_ENDPOINT_URL": proxy.url}
        made = Cluster(folder, f"redis://127.0.0.1:{port}/0", store, env)
        made.org, made.proxy = org, proxy  # type: ignore[attr-defined]
        made.redis = [redis, port]  # type: ignore[attr-defined]
        try:
            # both at once on the fresh store: they race to create its tables
            made.start_worker("w1", wait=False)
            made.start_worker("w2", wait=False)
            made.wait_ready("w1")
            made.wait_ready("w2")
            yield made
        finally:
            made.stop()
            for proc in made.redis[:1]:  # type: ignore[attr-defined]
                proc.kill()
                proc.wait()
            proxy.stop()
            moto.stop()
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def fleet_file(cluster: Cluster, body: str) -> Path:
    path = cluster.folder / f"fleet-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(f'[fleet]\nname = "acme"\nprofile = "{cluster.folder / "profile.toml"}"\n'
                    + body)
    return path


def hetzner(*projects: str) -> str:
    return "".join(f'[[hetzner]]\nproject = "{p}"\ntoken_env = "TOKEN_{p.upper()}"\n'
                   for p in projects)


def celery_args(cluster: Cluster, path: Path) -> list[str]:
    return ["fleet", "scan", str(path), "--executor", "celery", "--broker", cluster.broker,
            "--store", cluster.store, "--format", "json", "--no-timestamps",
            "--wait-timeout", "120", "--retry-base-seconds", "0", "--fail-on", "none"]


def stored(cluster: Cluster, run_id: int) -> list[tuple[str, str, int | None]]:
    engine = sa.create_engine("postgresql+psycopg://" + cluster.store.split("://", 1)[1])
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT unit_key, status, scan_id FROM posture_fleet_units WHERE run_id = :r "
            "ORDER BY unit_key"), {"r": run_id}).all()
    engine.dispose()
    return [(r[0], r[1], r[2]) for r in rows]


def test_two_workers_scan_the_units_with_the_same_verdicts_as_the_pool(
        cluster: Cluster) -> None:
    path = fleet_file(cluster, hetzner("web", "empty"))
    result = run(*celery_args(cluster, path), env=cluster.env)
    assert result.exit_code in (0, 3), result.stderr
    doc = json.loads(result.stdout)
    views = {a["account"]: a for a in doc["accounts"]}
    assert {k: v["status"] for k, v in views.items()} == {"web": "ok", "empty": "ok"}
    assert [key for key, _, _ in stored(cluster, doc["run"]["id"])] == ["hetzner:empty",
                                                                        "hetzner:web"]
    # the same task function as the embedded pool: the same verdicts
    local = run("fleet", "scan", str(path), "--store", str(cluster.folder / "p.sqlite"),
                "--format", "json", "--no-timestamps", "--retry-base-seconds", "0",
                "--fail-on", "none", env=cluster.env)
    pool = json.loads(local.stdout)

    def verdicts(d: dict[str, Any]) -> set[tuple[str, str, str]]:
        return {(f["check"], f["resource"], f["status"]) for f in findings_of(d["result"])}

    assert verdicts(doc) == verdicts(pool) and verdicts(doc)
    assert doc["claims"] == pool["claims"]
    # the broker messages carry no secret: no token, no store password
    for name in ("w1", "w2"):
        for secret in (*TOKENS.values(), "posture-ci"):
            assert secret not in cluster.log(name)


def test_a_unit_failing_after_its_retries_is_an_error_for_that_account(
        cluster: Cluster) -> None:
    made = cluster.org  # type: ignore[attr-defined]
    prod_a = made.accounts["prod-a"]
    cluster.proxy.fail(  # type: ignore[attr-defined]
        lambda c: c.action == "AssumeRole", "Throttling", status=400,
        message="Rate exceeded")
    body = (f'[[aws]]\nrole_name = "{fleet_estate.ROLE}"\nregions = ["eu-central-1"]\n'
            f'include_accounts = ["{prod_a}"]\n' + hetzner("empty"))
    path = fleet_file(cluster, body)
    try:
        result = run(*celery_args(cluster, path), "--unit-retries", "2",
                     env={**cluster.env, "POSTURE_FLEET_RETRY_BACKOFF": "0.1"})
        asked = sum(c.action == "AssumeRole" for c in cluster.proxy.calls)  # type: ignore[attr-defined]
    finally:
        cluster.proxy.reset()  # type: ignore[attr-defined]
    assert result.exit_code == 3, result.stderr
    doc = json.loads(result.stdout)
    views = {a["account"]: a for a in doc["accounts"]}
    assert views["empty"]["status"] == "ok"
    failed = views[prod_a]
    assert failed["status"] == "error" and "Throttling" in failed["message"]
    assert failed["attempts"] == 3  # the first and two retries, then an error: no gap
    assert doc["claims"][0]["accounts"][f"aws:{prod_a}"] == "unknown"
    assert asked == 3 * 3  # three attempts of the unit, each botocore standard mode's 3 tries


def test_a_worker_killed_mid_unit_leaves_it_to_the_other_and_it_is_stored_once(
        cluster: Cluster) -> None:
    path = fleet_file(cluster, hetzner("slow"))
    submit = subprocess.Popen([sys.executable, "-m", "scanner.cli", *celery_args(cluster, path)],
                              cwd=ROOT, env={**os.environ, **cluster.env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    victim = None
    while victim is None and time.monotonic() < deadline:
        victim = next((n for n in ("w1", "w2")
                       if "fleet unit hetzner:slow started" in cluster.log(n)), None)
        time.sleep(0.1)
    assert victim is not None, "no worker started the unit"
    time.sleep(1.0)  # in the middle of its calls (0.6 s each)
    cluster.kill(victim)
    survivor = "w2" if victim == "w1" else "w1"
    out, err = submit.communicate(timeout=120)
    assert submit.returncode == 0, err.decode()
    doc = json.loads(out)
    (view,) = doc["accounts"]
    assert view["status"] == "ok" and view["counts"].get("pass", 0) > 0
    assert "fleet unit hetzner:slow started" in cluster.log(survivor)
    rows = stored(cluster, doc["run"]["id"])
    assert len(rows) == 1 and rows[0][1] == "ok"  # stored once
    cluster.start_worker(victim)  # for the tests that follow


def test_a_broker_restart_during_a_run_loses_nothing_and_stores_each_unit_once(
        cluster: Cluster) -> None:
    path = fleet_file(cluster, hetzner("slow", "web"))
    seen = {n: cluster.log(n).count("fleet unit hetzner:slow started") for n in ("w1", "w2")}
    submit = subprocess.Popen([sys.executable, "-m", "scanner.cli", *celery_args(cluster, path)],
                              cwd=ROOT, env={**os.environ, **cluster.env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and all(
            cluster.log(n).count("fleet unit hetzner:slow started") == seen[n]
            for n in ("w1", "w2")):
        time.sleep(0.1)
    redis, port = cluster.redis  # type: ignore[attr-defined]
    redis.terminate()  # the broker goes away in the middle of the run...
    redis.wait()
    time.sleep(1.0)
    cluster.redis[0] = fleet_estate.start_redis(  # type: ignore[attr-defined]
        port, str(cluster.folder / "redis"))  # ...and comes back with what it had written
    out, err = submit.communicate(timeout=180)
    assert submit.returncode in (0, 3), err.decode()
    doc = json.loads(out)
    assert {a["account"]: a["status"] for a in doc["accounts"]} == {"slow": "ok", "web": "ok"}
    rows = stored(cluster, doc["run"]["id"])
    assert [(key, status) for key, status, _ in rows] == [("hetzner:slow", "ok"),
                                                          ("hetzner:web", "ok")]


def test_units_a_restarted_broker_lost_are_sent_again_and_the_run_finishes(
        cluster: Cluster) -> None:
    """A Redis without persistence loses its queues when it restarts: the submitter sees the
    restart (a new server run id) and sends again the units not stored yet."""
    for name in ("w1", "w2"):  # no worker: the units wait in the broker's queue
        cluster.terminate(name)
    path = fleet_file(cluster, hetzner("slow", "web"))
    submit = subprocess.Popen([sys.executable, "-m", "scanner.cli", *celery_args(cluster, path)],
                              cwd=ROOT, env={**os.environ, **cluster.env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    redis, port = cluster.redis  # type: ignore[attr-defined]
    queued = ["redis-cli", "-p", str(port), "llen", "posture.hetzner"]

    def waiting() -> int:  # a message an earlier test left (a restored duplicate) may be there
        answer = subprocess.run(queued, capture_output=True, text=True).stdout.strip()
        return int(answer) if answer.isdigit() else 0

    deadline = time.monotonic() + 60
    while waiting() < 2:
        assert time.monotonic() < deadline, "the units never reached the broker"
        time.sleep(0.1)
    redis.terminate()
    redis.wait()
    cluster.redis[0] = fleet_estate.start_redis(port)  # type: ignore[attr-defined]
    assert waiting() == 0
    for name in ("w1", "w2"):
        cluster.start_worker(name, wait=False)
    for name in ("w1", "w2"):
        cluster.wait_ready(name)
    out, err = submit.communicate(timeout=180)
    assert submit.returncode in (0, 3), err.decode()
    doc = json.loads(out)
    assert {a["account"]: a["status"] for a in doc["accounts"]} == {"slow": "ok", "web": "ok"}
    assert "the broker restarted; sent again the 2 unit(s) not stored yet" in err.decode()
    assert [(key, status) for key, status, _ in stored(cluster, doc["run"]["id"])] == [
        ("hetzner:slow", "ok"), ("hetzner:web", "ok")]


def test_an_unreachable_broker_is_one_line_and_no_run_is_recorded(cluster: Cluster) -> None:
    path = fleet_file(cluster, hetzner("web"))
    before = run("fleet", "history", "--store", cluster.store).stdout
    args = celery_args(cluster, path)
    args[args.index("--broker") + 1] = f"redis://127.0.0.1:{free_port()}/0"
    result = run(*args, env=cluster.env)
    assert result.exit_code == 2
    assert "cannot reach the broker at redis://127.0.0.1:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert run("fleet", "history", "--store", cluster.store).stdout == before
