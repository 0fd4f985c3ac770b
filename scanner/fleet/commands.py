"""`posture fleet` (scan every account of an organisation, history, diff) and `posture
worker` (a Celery worker). Heavy modules (SQLAlchemy, boto3, Celery) are imported inside
the commands, so `posture checks` starts as fast as before."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scanner.cli import (
    FormatSpec,
    _FiniteRange,
    _format_specs,
    _outputs,
    _split_ids,
    friendly,
)
from scanner.display import visible
from scanner.errors import PostureError
from scanner.findings import severity_names

if TYPE_CHECKING:
    from scanner.fleet.units import Unit

FORMAT_HELP = ("Report format, FMT or FMT:FILE (repeatable): table, json and html show each "
               "account; every other format (sarif, junit, ocsf, ...) is the merged result. "
               "Default: table.")
BROKER_HELP = ("Celery broker URL (default $POSTURE_BROKER_URL or redis://127.0.0.1:6379/0; "
               "RabbitMQ: amqp://...).")


def _backoff(value: str | None) -> float:
    """Seconds a unit waits before its next try, doubling: $POSTURE_FLEET_RETRY_BACKOFF, a
    finite number >= 0 (2 when unset); anything else is one line, exit 2."""
    if value is None or not value.strip():
        return 2.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds < 0:
        raise click.UsageError(f"POSTURE_FLEET_RETRY_BACKOFF must be a number of seconds >= 0, "
                               f"not {value.strip()[:40]!r}")
    return seconds


@click.group()
def fleet() -> None:
    """Scan every account of an organisation (AWS Organizations, Azure management groups,
    Hetzner projects) on this machine or on a Celery cluster; see docs/fleet.md."""


class _Progress:
    """A line per finished unit on stderr, and a bar on a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty() and not quiet

    def __call__(self, outcome: Any, done: int, total: int) -> None:
        if self.quiet:
            return
        n = outcome.counts
        what = (f"{n.get('fail', 0)} failed, {n.get('error', 0)} errors"
                if outcome.status == "ok" else f"ERROR: {outcome.message}")
        name = f" ({outcome.unit.name})" if outcome.unit.name else ""
        line = visible(f"[{done}/{total}] {outcome.unit.key}{name} {outcome.status} in "
                       f"{outcome.duration:.1f}s: {what}")
        if self.tty:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.write(line + "\n")
        if self.tty and done < total:
            filled = int(30 * done / total)
            sys.stderr.write(f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} units")
        sys.stderr.flush()


def _request(fleet_file: Any, profile: str | None, check_list: str | None,
             record_dir: Path | None, call_options: dict[str, Any]) -> dict[str, Any]:
    from scanner import profile as profiles

    name = profile or fleet_file.profile
    profiles.load(name)  # refuse a bad profile now, in one line, before anything runs
    request: dict[str, Any] = {"profile": name, "checks": _split_ids(check_list),
                               "options": call_options}
    if name not in profiles.builtin_names():  # a file: shipped to the workers with the run
        request["profile_toml"] = Path(name).read_text(encoding="utf-8")
    if record_dir is not None:
        if not record_dir.is_dir():
            raise PostureError(f"--record-dir {record_dir}: no such folder")
        request["record_dir"] = str(record_dir.resolve())
    return request


@fleet.command(name="scan")
@click.argument("fleet_file", metavar="FLEET.toml", type=click.Path(path_type=Path))
@click.option("--executor", type=click.Choice(["pool", "celery"]), default="pool",
              show_default=True, help="pool: processes on this machine; celery: workers "
                                      "started with `posture worker`.")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="pool: units scanned at once (default: the number of CPUs).")
@click.option("--broker", envvar="POSTURE_BROKER_URL", metavar="URL", help=BROKER_HELP)
@click.option("--wait-timeout", type=_FiniteRange(1, 7 * 86400), default=6 * 3600.0,
              show_default=True,
              help="celery: seconds to wait for every unit; the rest are errors.")
@click.option("--unit-retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="Attempts after the first of a unit that failed transiently.")
@click.option("--store", metavar="PATH|URL", envvar="POSTURE_STORE",
              help="History store (default: the SQLite one; celery: the postgresql:// URL "
                   "the workers write to).")
@click.option("--profile", "profile_name", help="Profile (default: the fleet file's).")
@click.option("--checks", "check_list", metavar="ID,...", help="Run only these checks.")
@click.option("--format", "formats", multiple=True, metavar="FMT[:FILE]",
              callback=_format_specs, help=FORMAT_HELP)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report of the --format without a file to FILE, not stdout.")
@click.option("--fail-on", type=click.Choice([*severity_names(), "none"]), default="low",
              show_default=True)
@click.option("--allow-partial", is_flag=True,
              help="Exit 0/1 even when some accounts or scopes could not be read.")
@click.option("--record-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each account's snapshot to this folder (on its worker).")
@click.option("--since", metavar="RUN", help="Compare with an earlier fleet run: last, "
                                             "previous or a run id.")
@click.option("--only-new", is_flag=True, help="With --since: only findings new since then.")
@click.option("--list-units", is_flag=True, help="Print the discovered units and stop.")
@click.option("--no-timestamps", is_flag=True)
@click.option("--timeout", type=_FiniteRange(1, 600), help="Seconds before one API call "
                                                            "times out (default 30).")
@click.option("--max-retries", type=click.IntRange(0, 20),
              help="Retries of a throttled or failed API call (default 5).")
@click.option("--retry-base-seconds", type=_FiniteRange(0, 60),
              help="Base of the API calls' exponential backoff (default 1).")
@friendly
def fleet_scan(fleet_file: Path, executor: str, workers: int | None, broker: str | None,
               wait_timeout: float, unit_retries: int, store: str | None,
               profile_name: str | None, check_list: str | None, formats: list[FormatSpec],
               output: str | None, fail_on: str, allow_partial: bool,
               record_dir: Path | None, since: str | None, only_new: bool, list_units: bool,
               no_timestamps: bool, **call_options: Any) -> None:
    """Discover the units of FLEET.toml (one per account, subscription, project), scan them
    all, and report per account and for the fleet."""
    from scanner.fleet import discover, rollup, spec
    from scanner.fleet.store import FleetStore

    specs = _outputs(formats, output)
    if only_new and not since:
        raise click.UsageError("--only-new needs --since")
    fleet_spec = spec.load(fleet_file)
    options = {k: v for k, v in call_options.items() if v is not None}
    request = _request(fleet_spec, profile_name, check_list, record_dir, options)
    units = discover.units(fleet_spec)
    if list_units:
        for u in units:
            click.echo(f"{visible(u.key)}  {visible(u.name)}")
        return
    fleet_store = FleetStore(store)
    before = rollup.build(fleet_store, since) if since else None
    quiet = bool(click.get_current_context().find_root().params.get("quiet"))
    progress = _Progress(quiet)
    if executor == "celery":
        try:
            from scanner.fleet import celery_app
        except ImportError as exc:
            raise PostureError(f"--executor celery needs Celery: pip install "
                               f"'posture[fleet]' ({exc})") from None

        if not store or "://" not in store or store.startswith("sqlite"):
            raise click.UsageError("--executor celery needs --store postgresql://... (the "
                                   "store every worker writes to)")
        request["retry_backoff"] = _backoff(os.environ.get("POSTURE_FLEET_RETRY_BACKOFF"))
        app = celery_app.make_app(broker or celery_app.DEFAULT_BROKER)
        celery_app.check_broker(app)
        watch = celery_app.BrokerWatch(str(app.conf.broker_url))
        run_id = fleet_store.start_run(fleet_spec.name, executor, request, units)
        celery_app.submit(app, run_id, units, request, unit_retries)

        def resend(lost: list[Unit]) -> None:
            celery_app.submit(app, run_id, lost, request, unit_retries)
            click.echo(f"posture: fleet run #{run_id}: the broker restarted; sent again the "
                       f"{len(lost)} unit(s) not stored yet", err=True)

        missing = celery_app.wait(fleet_store, run_id, units, wait_timeout, progress,
                                  watch=watch, resend=resend)
        if missing:
            click.echo(f"posture: fleet run #{run_id}: {len(missing)} unit(s) did not finish "
                       f"within {wait_timeout:g}s (are workers running on "
                       f"{visible(celery_app.safe_url(str(app.conf.broker_url)))}?); they "
                       "are errors in this report", err=True)
    else:
        from scanner.fleet import pool

        run_id = fleet_store.start_run(fleet_spec.name, executor, request, units)
        pool.run(units, run_id, store, request, workers or os.cpu_count() or 2,
                 fleet_spec.concurrency, progress, unit_retries)
    fleet_store.finish_run(run_id)
    result = rollup.build(fleet_store, run_id)
    if before is not None:
        from scanner.diff import diff as diff_scans

        changes = diff_scans(before.merged, result.merged, f"fleet run #{before.run.id}",
                             f"fleet run #{run_id}")
        result.merged.changes = changes.to_json()
        if only_new:
            new_ids = {f.id for f in changes.new}
            result.merged.findings = [f for f in result.merged.findings if f.id in new_ids]
    _emit(result, specs, not no_timestamps)
    sys.exit(result.exit_code(fail_on, allow_partial))


def _emit(result: Any, specs: list[FormatSpec], timestamps: bool) -> None:
    from scanner.fleet import render

    for name, path in sorted(specs, key=lambda s: s[1] is None):
        if path is None:
            sys.stdout.flush()
            render.write(name, result, sys.stdout.buffer, timestamps)
            sys.stdout.buffer.flush()
            continue
        try:
            with path.open("wb") as out:
                render.write(name, result, out, timestamps)
        except OSError as exc:
            raise PostureError(f"cannot write {path}: {exc.strerror}") from exc


@fleet.command(name="history")
@click.option("--store", metavar="PATH|URL", envvar="POSTURE_STORE")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@friendly
def fleet_history(store: str | None, limit: int) -> None:
    """List the fleet runs of the store, with each account's scan (for `posture diff`)."""
    from tabulate import tabulate

    from scanner.fleet.store import FleetStore

    fs = FleetStore(store)
    rows = []
    for run in fs.runs(limit):
        outcomes = fs.outcomes(run.id)
        ok = sum(o.status == "ok" for o in outcomes.values())
        rows.append([run.id, visible(run.name), visible(run.started_at), run.executor,
                     len(run.units), ok, len(run.units) - ok,
                     " ".join(f"{k}=#{o.scan_id}" for k, o in sorted(outcomes.items())
                              if o.scan_id is not None)[:200]])
    click.echo(tabulate(rows, headers=["run", "name", "started", "executor", "units", "ok",
                                       "errors", "scans"], disable_numparse=True))


@fleet.command(name="diff")
@click.argument("before")
@click.argument("after", default="last")
@click.option("--store", metavar="PATH|URL", envvar="POSTURE_STORE")
@click.option("--account", metavar="PROVIDER:ACCOUNT",
              help="Only this account (e.g. aws:123456789012).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--fail-on", type=click.Choice([*severity_names(), "none"]), default="low",
              show_default=True)
@friendly
def fleet_diff(before: str, after: str, store: str | None, account: str | None, fmt: str,
               fail_on: str) -> None:
    """What changed across the fleet from run BEFORE to AFTER (last, previous, a run id)."""
    from scanner.diff import diff as diff_scans
    from scanner.fleet import rollup
    from scanner.fleet.store import FleetStore

    fs = FleetStore(store)
    old, new = rollup.build(fs, before), rollup.build(fs, after)
    if account is not None:
        keys = {a.unit.key for a in old.accounts} | {a.unit.key for a in new.accounts}
        if account not in keys:
            raise PostureError(f"--account {account}: not in run #{old.run.id} nor "
                               f"#{new.run.id}")
        for r in (old.merged, new.merged):
            r.findings = [f for f in r.findings if f"{f.provider}:{f.account}" == account]
    changes = diff_scans(old.merged, new.merged, f"fleet run #{old.run.id}",
                         f"fleet run #{new.run.id}")
    if fmt == "json":
        click.echo(json.dumps(changes.to_json(), indent=2, sort_keys=True))
    else:
        click.echo(changes.render(), nl=False)
    sys.exit(changes.exit_code(fail_on))


@click.command()
@click.option("--broker", envvar="POSTURE_BROKER_URL", metavar="URL", help=BROKER_HELP)
@click.option("--store", metavar="URL", envvar="POSTURE_STORE", required=True,
              help="The history store (postgresql://...) the submitting command reads.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="Units this worker scans at once (default: the number of CPUs).")
@click.option("--queues", default="aws,azure,hetzner", show_default=True,
              help="Providers whose units this worker takes (one queue each).")
@click.option("--name", help="Worker name (default: celery@HOSTNAME).")
@click.option("--visibility-timeout", type=click.IntRange(5, 7 * 86400), default=3600,
              show_default=True, help="Redis: seconds before a unit taken by a worker that "
                                      "died is given to another; longer than any unit.")
@friendly
def worker(broker: str | None, store: str, concurrency: int | None, queues: str,
           name: str | None, visibility_timeout: int) -> None:
    """Run a Celery worker for `posture fleet scan --executor celery`."""
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(wanted) - {"aws", "azure", "hetzner"})
    if unknown or not wanted:
        raise click.BadParameter(f"unknown provider(s) {', '.join(unknown) or '(none)'}: "
                                 "choose from aws, azure, hetzner", param_hint="--queues")
    try:
        from scanner.fleet import celery_app
    except ImportError as exc:
        raise PostureError(f"posture worker needs Celery: pip install 'posture[fleet]' "
                           f"({exc})") from None
    celery_app.worker(broker or celery_app.DEFAULT_BROKER, store,
                      concurrency or os.cpu_count() or 2,
                      tuple(f"posture.{q}" for q in wanted), name, visibility_timeout)
