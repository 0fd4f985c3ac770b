"""Fleet benchmark: an AWS Organization of N emulated accounts (moto), scanned by the
embedded process pool and by Celery with 1, 2 and 4 workers.

    python bench/bench_fleet.py                          # 100 accounts, 50 ms per call
    python bench/bench_fleet.py --accounts 20 --latency 0.1 --runs pool,celery-2
    POSTURE_TEST_POSTGRES_URL=postgresql://... python bench/bench_fleet.py   # Celery runs

moto keeps a backend per account id: every member account gets a bucket (created through a
role assumed into it) and every unit assumes its role, so each unit reads its own account.
The recording proxy of tests/aws_proxy.py in front of moto adds a fixed delay to every call
(`--latency`: the round trip to a real AWS endpoint). Each unit is a `posture scan` of one
account in one region (eu-central-1) with the default profile and the checks of `--checks`
(default: eight checks across network, encryption, residency, identity and logging; `all`:
every check, which on moto also judges the ~1,350 snapshots moto creates in every account
for its built-in images).

The Celery runs need Debian's redis-server (.ci/redis.sh; started here on a free port) and a
PostgreSQL store (POSTURE_TEST_POSTGRES_URL, a fresh schema per run); workers are
`posture worker --concurrency 1` processes. Reported: wall time from submission to the last
unit stored, units per minute, the speed-up against one Celery worker, the mean unit time,
and the API calls made. Results: a table on stdout and bench/out/fleet.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import fleet_estate  # noqa: E402
from tests.aws_proxy import start_moto  # noqa: E402

POSTURE = [sys.executable, "-c", "from scanner.cli import main; main()"]


def build(url: str, accounts: int) -> list[str]:
    org = fleet_estate.client(url, "organizations")
    org.create_organization(FeatureSet="ALL")
    made = []
    for i in range(accounts):
        status = org.create_account(AccountName=f"acct-{i:04d}", Email=f"a{i}@example.com")
        ident = status["CreateAccountStatus"]["AccountId"]
        s3 = fleet_estate.assumed(url, ident, "s3", "eu-central-1")
        s3.create_bucket(Bucket=f"data-{ident}",
                         CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        # moto builds an account's EC2 and IAM backends on first use (default VPC, managed
        # policies: seconds each); built here, so that no measured run pays for it
        fleet_estate.assumed(url, ident, "ec2", "eu-central-1").describe_vpcs()
        fleet_estate.assumed(url, ident, "iam", "us-east-1").list_roles()
        made.append(ident)
    return made


def fleet_file(folder: Path, accounts: list[str]) -> Path:
    path = folder / "fleet.toml"
    ids = ", ".join(f'"{a}"' for a in accounts)
    path.write_text(f'[fleet]\nname = "bench"\nconcurrency = {{ aws = 64 }}\n'
                    f'[[aws]]\nrole_name = "PostureReadOnly"\nregions = ["eu-central-1"]\n'
                    f"include_accounts = [{ids}]\n")
    return path


CHECKS = "NET-01,NET-02,NET-03,ENC-01,RES-01,IAM-02,LOG-01,BAK-01"


def scan(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    checks = [] if os.environ["BENCH_CHECKS"] == "all" else [
        "--checks", os.environ["BENCH_CHECKS"]]
    done = subprocess.run([*POSTURE, "-q", "fleet", "scan", *args, *checks, "--format", "json",
                           "--fail-on", "none", "--allow-partial", "--retry-base-seconds",
                           "0.05"], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"fleet scan failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, json.loads(done.stdout)


def pg_schema(url: str) -> tuple[str, Any, str]:
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", admin, schema


def celery_run(path: Path, env: dict[str, str], workers: int, pg: str) -> tuple[float, Any]:
    import socket

    import sqlalchemy as sa

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis = fleet_estate.start_redis(port)
    store, admin, schema = pg_schema(pg)
    broker = f"redis://127.0.0.1:{port}/0"
    procs = []
    logs = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    try:
        for i in range(workers):
            log = (logs / f"w{i}.log").open("wb")
            procs.append(subprocess.Popen(
                [*POSTURE, "worker", "--broker", broker, "--store", store, "--concurrency",
                 "1", "--name", f"w{i}@bench"], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True))
        for i in range(workers):
            deadline = time.monotonic() + 600  # a loaded machine starts them slowly
            while b"ready" not in (logs / f"w{i}.log").read_bytes():
                if time.monotonic() > deadline:
                    raise SystemExit(f"worker {i} did not start")
                time.sleep(0.2)
        return scan([str(path), "--executor", "celery", "--broker", broker, "--store",
                     store, "--wait-timeout", "7200"], env)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        redis.kill()
        redis.wait()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(logs, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05,
                        help="seconds added to every AWS call (default 0.05)")
    parser.add_argument("--runs", default="pool,celery-1,celery-2,celery-4")
    parser.add_argument("--pool-workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--checks", default=CHECKS, help=f"default {CHECKS}; all: every check")
    ns = parser.parse_args()
    os.environ["BENCH_CHECKS"] = ns.checks
    pg = os.environ.get("POSTURE_TEST_POSTGRES_URL", "")
    runs = [r.strip() for r in ns.runs.split(",") if r.strip()]
    if any(r.startswith("celery") for r in runs) and not (pg and shutil.which("redis-server")):
        raise SystemExit("Celery runs need POSTURE_TEST_POSTGRES_URL and redis-server")
    moto, url = start_moto()
    proxy = fleet_estate.OrgProxy(moto, url).start()
    folder = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    try:
        t0 = time.monotonic()
        accounts = build(url, ns.accounts)
        print(f"organization of {len(accounts)} accounts built in "
              f"{time.monotonic() - t0:.1f}s", file=sys.stderr)
        proxy.latency = ns.latency
        path = fleet_file(folder, accounts)
        env = {**os.environ, **fleet_estate.AWS_ENV, "AWS_ENDPOINT_URL": proxy.url,
               "PYTHONPATH": str(ROOT)}
        results = []
        for name in runs:
            proxy.reset()
            if name == "pool":
                wall, doc = scan([str(path), "--workers", str(ns.pool_workers), "--store",
                                  str(folder / f"{uuid.uuid4().hex}.sqlite")], env)
                workers = ns.pool_workers
            else:
                workers = int(name.split("-")[1])
                wall, doc = celery_run(path, env, workers, pg)
            units = doc["accounts"]
            ok = sum(a["status"] == "ok" for a in units)
            row = {"run": name, "workers": workers, "units": len(units), "ok": ok,
                   "wall_seconds": round(wall, 1),
                   "units_per_minute": round(60 * len(units) / wall, 1),
                   "mean_unit_seconds": round(sum(a.get("duration_seconds", 0)
                                                  for a in units) / max(1, len(units)), 2),
                   "api_calls": len(proxy.calls)}
            results.append(row)
            print(json.dumps(row), file=sys.stderr)
        base = next((r for r in results if r["run"] == "celery-1"), None)
        for r in results:
            r["speedup_vs_celery_1"] = (round(base["wall_seconds"] / r["wall_seconds"], 2)
                                        if base else None)
    finally:
        proxy.stop()
        moto.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{ns.accounts} accounts, {ns.latency * 1000:.0f} ms per call, checks {ns.checks}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print("| run | workers | units ok | wall (s) | units/min | speed-up vs 1 worker | "
          "mean unit (s) | API calls |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['run']} | {r['workers']} | {r['ok']}/{r['units']} | {r['wall_seconds']} "
              f"| {r['units_per_minute']} | {r['speedup_vs_celery_1']} | "
              f"{r['mean_unit_seconds']} | {r['api_calls']} |")
    OUT.mkdir(exist_ok=True)
    (OUT / "fleet.json").write_text(json.dumps({
        "machine": platform.platform(), "cpus": os.cpu_count(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "accounts": ns.accounts, "latency": ns.latency, "checks": ns.checks,
        "load_average": os.getloadavg(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
