"""The `posture` command line.

Exit codes: 0 nothing failed at or above --fail-on; 1 violations; 2 bad usage or bad input
(one line on stderr, never a traceback); 3 the scan could not see everything it needed and
--allow-partial was not given.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import textwrap
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from tabulate import tabulate

from scanner import __version__, config, outputs
from scanner import profile as profiles
from scanner.check import Check
from scanner.display import SafeFormatter, one_line, visible
from scanner.errors import PostureError
from scanner.findings import Severity, Status, severity_names
from scanner.progress import Progress
from scanner.provider import ProviderError
from scanner.registry import load_checks, load_providers
from scanner.reports import DESCRIBING_NAMES, NAMES

if TYPE_CHECKING:
    from scanner.diff import Diff
    from scanner.history import HistoryStore
    from scanner.reports.view import View
    from scanner.result import ScanResult
    from scanner.suppressions import Suppression

# Start-up: what only some commands need (the engine, the renderers, snapshots and their
# signatures, results files, suppressions, diffs) is imported by the command that needs it,
# so `posture checks` stays light (bench/bench_startup.py, budget 0.3 s).

log = logging.getLogger("posture")
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"posture: {one_line(message)}", err=True)
    sys.exit(code)


def _stdout_closed() -> None:
    """The reader of stdout went away (`| head`): a normal end, not an error. Later writes
    (and the interpreter's last flush) go nowhere; the exit code stays the verdict's."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # stdout is not a file descriptor (captured): nothing will flush to it


def friendly(func: F) -> F:
    """Turn every expected error into one line on stderr and exit 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise  # usage errors: PostureGroup prints them as one line, exit 2
        except ProviderError as exc:
            _fail(str(exc), exc.exit_code)
        except PostureError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            _stdout_closed()  # a closed stdout is a normal end: no message; the status a
            sys.exit(141)  # shell gives a writer its reader left (128 + SIGPIPE)
        except Exception as exc:  # a bug: say so plainly; -v shows the traceback
            log.debug("internal error", exc_info=True)
            _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with -vv for the traceback)")
        return None

    return wrapper  # type: ignore[return-value]


def _setup_logging(verbose: int, quiet: bool) -> None:
    """Log lines on stderr, one visible line each (scanner.display.SafeFormatter). The HTTP
    and AWS libraries log at WARNING at most, even with -vv: at debug level they print
    request headers (a session token) and response bodies (user data, environment values)."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[
        min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    for noisy in ("urllib3", "requests", "botocore", "boto3", "s3transfer", "azure"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # WeasyPrint (--format pdf) warns about every CSS property it does not support
    for chatty in ("weasyprint", "fontTools"):
        logging.getLogger(chatty).setLevel(logging.ERROR if verbose < 2 else logging.DEBUG)
    # azure-identity warns at length (a multi-line list of every credential it tried) where
    # posture says one line itself: its own words only with -v.
    logging.getLogger("azure.identity").setLevel(
        logging.WARNING if verbose and not quiet else logging.CRITICAL)


def _one_line_usage(exc: click.ClickException) -> None:
    """Make click print a usage error as one line `posture: ...` (exit code unchanged),
    instead of its Usage/Try/blank/Error block. The help shown for a bare `posture` stays."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        return
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        sub = ctx.command_path.partition(" ")[2]  # the program may run as `python -m`
        message = message.rstrip(".") + f" (see 'posture {sub + ' ' if sub else ''}--help')"

    def show(file: Any = None) -> None:
        click.echo(f"posture: {one_line(message)}", err=True)

    exc.show = show  # type: ignore[method-assign]


class PostureGroup(click.Group):
    """The `posture` group: every usage error, of the group or of a command, is one line."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            _one_line_usage(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            _one_line_usage(exc)
            raise


@click.group(cls=PostureGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posture")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file with defaults, trusted: any option. Without it, "
                   "./posture.toml or [tool.posture] in ./pyproject.toml is read for output "
                   "options only (format, output, no-timestamps). Command-line flags win.")
@click.option("--no-config", is_flag=True,
              help="Read no config file (neither --config nor one in the current folder).")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, config_path: Path | None,
         no_config: bool) -> None:
    """Check a published security page against the real cloud estate, claim by claim."""
    _setup_logging(verbose, quiet)
    if no_config and config_path is not None:
        _fail("give --config FILE or --no-config, not both")
    if no_config or ctx.resilient_parsing:
        return
    try:
        found = config.find(config_path)
        if found:
            ctx.default_map = _listed(config.default_map(found.path, found.table,
                                                         _option_keys()))
            if found.table and not quiet:  # which file set defaults: one line, every run
                click.echo(f"posture: config {visible(str(found.path))}"
                           + (" (found in the working directory: output options only)"
                              if found.discovered else ""), err=True)
    except PostureError as exc:
        _fail(str(exc))


def _listed(defaults: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A single config value for a repeatable option (`key = "a.pub"`) as a one-item list."""
    for name, values in defaults.items():
        command = main.commands.get(name)
        for param in command.params if command else ():
            if getattr(param, "multiple", False) and isinstance(values.get(param.name or ""),
                                                                 str):
                values[param.name or ""] = [values[param.name or ""]]
    return defaults


def _option_keys() -> dict[str, dict[str, str]]:
    """Per command: config key (long option name or parameter name) -> parameter name."""
    keys: dict[str, dict[str, str]] = {}
    for name, command in main.commands.items():
        table: dict[str, str] = {}
        for param in command.params:
            if not isinstance(param, click.Option) or not param.name:
                continue
            table[param.name] = param.name
            for opt in param.opts:
                if opt.startswith("--"):
                    table[opt[2:].replace("-", "_")] = param.name
        keys[name] = table
    return keys


class _FiniteRange(click.FloatRange):
    """A FloatRange that refuses nan (which compares false with both bounds, so passes)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def _provider_options(f: F) -> F:
    f = click.option("--max-retries", type=click.IntRange(0, 20), envvar="POSTURE_MAX_RETRIES",
                     help="Retries of a throttled or failed call before it is recorded as an "
                          "error (default 5).")(f)
    f = click.option("--retry-base-seconds", "retry_base_seconds",
                     type=_FiniteRange(0, 60), envvar="POSTURE_RETRY_BASE_SECONDS",
                     help="Base of the exponential backoff with full jitter (default 1).")(f)
    f = click.option("--timeout", type=_FiniteRange(1, 600), envvar="POSTURE_TIMEOUT",
                     help="Seconds before one API call times out (default 30).")(f)
    f = click.option("--max-pages", "max_pages", type=click.IntRange(1, 10_000_000),
                     envvar="POSTURE_MAX_PAGES",
                     help="Pages one list call may follow before its collection is recorded "
                          "as failed (default 100000; a server that never stops paging).")(f)
    f = click.option("--hetzner-token-file", type=click.Path(dir_okay=False),
                     help="File holding the Hetzner API token (default: $HCLOUD_TOKEN).")(f)
    f = click.option("--hetzner-project", metavar="NAME",
                     help="Name of the Hetzner project the token belongs to (the API does not "
                          "tell); part of every resource id. Default: "
                          "$POSTURE_HETZNER_PROJECT or 'default'.")(f)
    f = click.option("--subscription", "subscription", multiple=True, metavar="ID",
                     help="Azure subscription to scan (repeatable; default: every subscription "
                          "the credential sees).")(f)
    f = click.option("--azure-cloud", "azure_cloud",
                     type=click.Choice(["public", "china", "usgovernment"]),
                     help="Azure cloud (default public).")(f)
    f = click.option("--azure-resource-graph", "azure_resource_graph",
                     type=click.Choice(["auto", "on", "off"]),
                     envvar="POSTURE_AZURE_RESOURCE_GRAPH",
                     help="Read the collections Azure Resource Graph holds with one paged "
                          "query over all subscriptions (auto: when more than 3 are "
                          "scanned; docs/azure.md).")(f)
    f = click.option("--azure-arm-endpoint", "azure_arm_endpoint", metavar="URL",
                     envvar="POSTURE_AZURE_ARM_ENDPOINT",
                     help="Custom Azure Resource Manager endpoint (https://).")(f)
    f = click.option("--aws-profile", "aws_profile", metavar="NAME", envvar="AWS_PROFILE",
                     help="AWS shared config/credentials profile (default: the default "
                          "credential chain).")(f)
    f = click.option("--role-arn", "role_arn", multiple=True, metavar="ARN",
                     envvar="POSTURE_AWS_ROLE_ARNS",
                     help="Read-only IAM role to assume, one account each (repeatable; "
                          "$POSTURE_AWS_ROLE_ARNS: space-separated).")(f)
    f = click.option("--regions", "regions", metavar="REGION,...", envvar="POSTURE_AWS_REGIONS",
                     help="AWS regions to read (default: every region enabled for the "
                          "account).")(f)
    f = click.option("--changed-only", "changed_only", is_flag=True, default=None,
                     help="Terraform plans: judge only resources the plan creates or updates "
                          "(and those whose firewalls or attachments it changes).")(f)
    f = click.option("--tf-dir", "tf_dir", type=click.Path(file_okay=False, exists=True),
                     help="Terraform plans: the configuration's folder; findings point at "
                          "each resource block's file and line (SARIF locations).")(f)
    f = click.option("--iac", "iac", multiple=True, metavar="FILE",
                     help="Infrastructure-as-code the estate should match (INV-01): a "
                          "terraform.tfstate, or `terraform show -json` of a state or plan "
                          "(repeatable). Recorded with --record.")(f)
    return f


def _probe_options(f: F) -> F:
    f = click.option("--probe-concurrency", "probe_concurrency", type=click.IntRange(1, 100),
                     help="With --probe-tls: endpoints probed at once (default 10; 5 "
                          "connections each).")(f)
    f = click.option("--probe-timeout", "probe_timeout", type=click.IntRange(1, 120),
                     help="With --probe-tls: seconds before one connection attempt times out "
                          "(default 5).")(f)
    f = click.option("--probe-tls", "probe_tls", is_flag=True, default=None,
                     help="Connect to every public TLS endpoint of the live sources (load "
                          "balancer listeners, App Service host names) and record which TLS "
                          "versions each accepts (TLS-04). Sends TLS handshakes to the "
                          "endpoints; needs no cloud permission.")(f)
    return f


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Provider options given on the command line, plus the progress line (on a terminal,
    unless --quiet)."""
    options = {k: v for k, v in kwargs.items() if v is not None and v != ()}
    if "max_pages" in options:  # collectors without the options at hand read the variable
        os.environ["POSTURE_MAX_PAGES"] = str(options["max_pages"])
    root = click.get_current_context().find_root()
    options["progress"] = Progress(enabled=None if not root.params.get("quiet") else False)
    return options


def _split_ids(value: str | None) -> list[str] | None:
    if value is None:
        return None
    ids = [v.strip().upper() for v in value.split(",") if v.strip()]
    if not ids:
        raise click.BadParameter("give at least one check id", param_hint="--checks")
    return ids


FormatSpec = tuple[str, Path | None]
FORMAT_HELP = ("Report format, FMT or FMT:FILE (repeatable): " + ", ".join(NAMES)
               + ". At most one without a file goes to stdout (or to -o FILE). "
               "Default: table.")


def _format_specs(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
                  ) -> list[FormatSpec]:
    """`--format sarif:posture.sarif` -> ("sarif", Path("posture.sarif")); a bad value is a
    usage error (exit 2) naming it."""
    specs: list[FormatSpec] = []
    for value in values:
        name, sep, file = value.partition(":")
        if name not in NAMES:
            raise click.BadParameter(f"{value!r}: unknown format {name!r} (choose from "
                                     f"{', '.join(NAMES)})", ctx, param)
        if sep and not file:
            raise click.BadParameter(f"{value!r}: no file after ':'", ctx, param)
        specs.append((name, Path(file) if sep else None))
    to_stdout = [v for v, (_, path) in zip(values, specs, strict=True) if path is None]
    if len(to_stdout) > 1:
        raise click.BadParameter(f"{to_stdout[1]!r}: only one format can go to stdout (give "
                                 "the others a file: FMT:FILE)", ctx, param)
    return specs


def _statuses(ctx: click.Context, param: click.Parameter, value: str | None
              ) -> frozenset[Status] | None:
    if value is None:
        return None
    from scanner.reports.view import parse_statuses

    try:
        return parse_statuses(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}", ctx, param) from None


def _view_options(f: F) -> F:
    f = click.option("--min-severity", "min_severity",
                     type=click.Choice(severity_names()),
                     help="Table, markdown, html: show only findings of at least this "
                          "severity (the summaries still count the whole scan).")(f)
    f = click.option("--status", "statuses", metavar="STATUS,...", callback=_statuses,
                     help="Table, markdown, html: show only findings of these statuses "
                          "(pass, fail, error, skip, suppressed; the table's default: "
                          "fail,error).")(f)
    return f


def write_report(*args: Any, **kwargs: Any) -> None:
    """`scanner.reports.write`, imported when a report is written."""
    from scanner.reports import write

    write(*args, **kwargs)


def _view(statuses: frozenset[Status] | None, min_severity: str | None) -> View:
    from scanner.reports.view import View

    return View(statuses, Severity(min_severity) if min_severity else None)


def _outputs(specs: list[FormatSpec], output: str | None) -> list[FormatSpec]:
    """The formats to write and where; -o FILE is the file of the one without a file."""
    specs = specs or [("table", None)]
    if output:
        if all(path is not None for _, path in specs):
            raise click.UsageError("-o/--output is for a --format without a file, and every "
                                   "--format has one")
        specs = [(name, Path(output) if path is None else path) for name, path in specs]
    seen: set[Path] = set()
    for _, path in specs:
        if path is not None:
            if path in seen:
                raise click.UsageError(f"{path}: named as the output of two formats")
            seen.add(path)
    return specs


def _refuse_clobber(specs: list[FormatSpec], inputs: list[tuple[str, Path]],
                    record: Path | None = None, store: str | None = None) -> None:
    """No output (report files, --record, a SQLite --store) may be an input or another
    output: same file by device and inode, before anything is read or written."""
    outs: list[tuple[str, Path]] = [(f"--format {name}:", path) for name, path in specs
                                    if path is not None]
    if record is not None:
        outs.append(("--record", record))
    if store and "://" not in store:
        outs.append(("--store", Path(store)))
    outputs.refuse_clobber(inputs, outs)


def _history(store: str | None) -> HistoryStore:
    from scanner.history import HistoryStore  # SQLAlchemy: only when history is used

    return HistoryStore(store)


def _terminal_width() -> int | None:
    """The terminal's columns when stdout is one (the table then fits it), else None."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return shutil.get_terminal_size().columns


def _emit(result: ScanResult, specs: list[FormatSpec], timestamps: bool,
          checks_dirs: tuple[Path, ...], view: View | None = None) -> None:
    """Write every format (files first, then the one for stdout)."""
    checks = (load_checks(checks_dirs) if any(n in DESCRIBING_NAMES or n == "pdf" for n, _ in specs)
              else None)
    if any(n == "pdf" and p is None for n, p in specs) and _terminal_width() is not None:
        raise PostureError("--format pdf writes binary data: give it a file (--format "
                           "pdf:report.pdf, or -o report.pdf), or redirect stdout")
    ordered = sorted(specs, key=lambda spec: spec[1] is None)
    for name, path in ordered:
        if path is None:
            try:
                sys.stdout.flush()  # what was echoed before goes first
                write_report(name, result, sys.stdout.buffer, timestamps, checks,
                             width=_terminal_width(), view=view)
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                _stdout_closed()  # `posture scan ... | head`: the reader has what it wanted
            except OSError as exc:  # /dev/full: one line, exit 2
                _stdout_closed()  # the interpreter's last flush must not fail again
                raise PostureError(f"cannot write the report to stdout: "
                                   f"{exc.strerror or exc}") from None
            continue
        try:  # a temporary file renamed into place: a failed run leaves no truncated file
            with outputs.atomic(path) as out:
                write_report(name, result, out, timestamps, checks, view=view)
        except OSError as exc:
            raise PostureError(f"cannot write {path}: {exc.strerror}") from exc


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--profile", "profile_name", default="default", show_default=True,
              help="Built-in profile name or path of a profile TOML file.")
@click.option("--format", "formats", multiple=True, metavar="FMT[:FILE]",
              callback=_format_specs, help=FORMAT_HELP)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report of the --format without a file to FILE, not stdout.")
@click.option("--fail-on", type=click.Choice([*severity_names(), "none"]), default="low",
              show_default=True, help="Lowest severity of a failure that makes the exit code 1.")
@click.option("--allow-partial", is_flag=True,
              help="Exit 0/1 even when some scopes could not be read (errors are still shown).")
@click.option("--fail-on-unassessed", is_flag=True,
              help="Exit 3 when a source holds resources posture cannot judge (NOT-ASSESSED: "
                   "a plan's unmapped types or providers).")
@click.option("--checks", "check_list", metavar="ID,...",
              help="Run only these checks (and collect only what they read).")
@click.option("--checks-dir", "checks_dirs", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Also load checks from the *.py files of this folder.")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the raw inventory to this snapshot file (.gz: gzip).")
@click.option("--no-timestamps", is_flag=True,
              help="Leave scan times out of the report (to compare two reports byte for byte).")
@click.option("--suppressions", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML file of accepted findings, each with reason, owner and expiry.")
@click.option("--strict-suppressions", is_flag=True,
              help="A suppression that matches no finding is an error (exit 2), not a "
                   "warning.")
@click.option("--store", metavar="PATH|URL",
              help="History store to save this scan in: a SQLite file or a postgresql:// URL "
                   "(with --since and no --store: the default SQLite store).")
@click.option("--since", metavar="SCAN",
              help="Compare with an earlier scan of the store: last, previous or a scan id.")
@click.option("--only-new", is_flag=True,
              help="With --since: report and count only findings that are new since then.")
@click.option("--no-save", is_flag=True, help="Do not save this scan in the store.")
@click.option("--sign", type=click.Path(dir_okay=False, path_type=Path),
              help="With --record: sign the snapshot with this Ed25519 private key.")
@click.option("--key", "trusted_keys", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Trusted Ed25519 public key (repeatable): every snapshot source must carry "
                   "a valid signature by one of them, and no other file source is accepted.")
@_view_options
@_probe_options
@_provider_options
@friendly
def scan(sources: tuple[str, ...], profile_name: str, formats: list[FormatSpec],
         output: str | None,
         fail_on: str, allow_partial: bool, fail_on_unassessed: bool, check_list: str | None,
         checks_dirs: tuple[Path, ...], record: Path | None, no_timestamps: bool,
         suppressions: Path | None, strict_suppressions: bool, store: str | None,
         since: str | None, only_new: bool,
         no_save: bool, sign: Path | None, trusted_keys: tuple[Path, ...],
         statuses: frozenset[Status] | None, min_severity: str | None,
         **provider_opts: Any) -> None:
    """Scan SOURCES (provider names for live scans, e.g. `hetzner`, or snapshot files)."""
    from scanner import signing
    from scanner import suppressions as suppression_rules
    from scanner.diff import diff as diff_scans
    from scanner.engine import ScanRequest
    from scanner.engine import scan as run_scan
    from scanner.result import ScanResult

    specs = _outputs(formats, output)
    _refuse_clobber(specs, record=record, store=store, inputs=[
        *(("source", Path(s)) for s in sources),
        *((("--suppressions", suppressions),) if suppressions else ()),
        ("--profile", Path(profile_name)),
        *(("--iac", Path(f)) for f in provider_opts.get("iac") or ()),
        *(("--key", k) for k in trusted_keys), *((("--sign", sign),) if sign else ())])
    if only_new and not since:
        raise click.UsageError("--only-new needs --since")
    if sign and not record:
        raise click.UsageError("--sign needs --record")
    rules = suppression_rules.load(suppressions) if suppressions else []
    history = _history(store) if (store or since) else None
    before: tuple[ScanResult | None, str] | None = None
    if history is not None and since is not None:
        before = _earlier_scan(history, since, not no_timestamps)
    request = ScanRequest(
        sources=list(sources),
        profile=profiles.load(profile_name),
        check_ids=_split_ids(check_list),
        checks_dirs=list(checks_dirs),
        options={**_options(provider_opts),
                 "trusted_keys": [signing.load_public(k) for k in trusted_keys]},
        record=record,
        sign=signing.load_private(sign) if sign else None,
    )
    try:
        result = run_scan(request)
    finally:
        request.options["progress"].close()
    if rules:
        # Claims keep their verdicts: an accepted exception still contradicts the page.
        result.findings, result.expired_suppressions = suppression_rules.apply(
            result.findings, rules, date.today())
        _report_suppressions(suppressions, rules, result, checks_dirs, strict_suppressions)
    if history and not no_save:
        scan_id = history.save(result)
        log.info("saved as scan #%d in %s", scan_id, history.display)
    if before is not None:
        earlier, label = before
        if earlier is None:  # the empty store's first scan: the baseline
            earlier = ScanResult(tool_version=__version__, profile={}, sources=[], checks=[],
                                 findings=[], claims=[])
        changes = diff_scans(earlier, result, label, "this scan")
        if before[0] is None:
            click.echo(f"posture: {visible(history.display if history else '')} held no scan: "
                       f"this scan is the baseline, its {len(changes.new)} failed or "
                       "unreadable finding(s) are all new", err=True)
        result.changes = changes.to_json()
        if only_new:
            only_new_view(result, changes)
    _emit(result, specs, not no_timestamps, checks_dirs, _view(statuses, min_severity))
    sys.exit(result.exit_code(fail_on, allow_partial, fail_on_unassessed))


def _earlier_scan(history: HistoryStore, since: str, timestamps: bool
                  ) -> tuple[ScanResult | None, str]:
    """The scan --since names, and its label (`scan #ID of DATE`). On a store that holds no
    scan yet, `last` and `previous` name no scan (None): the first night is the baseline
    (saved, everything in it new), so a nightly cron starts on an empty store."""
    if since in ("last", "previous") and not history.scans(1):
        return None, "an empty store"
    scan_id = history.resolve(since)
    earlier = history.load(str(scan_id))
    when = f" of {earlier.finished_at}" if timestamps and earlier.finished_at else ""
    return earlier, f"scan #{scan_id}{when}"


def only_new_view(result: ScanResult, changes: Diff) -> None:
    """--only-new: keep only the findings new since the earlier scan, and only the claims
    such a finding decides; the reports then say "N new since ..." first."""
    new_ids = {f.id for f in changes.new}
    result.findings = [f for f in result.findings if f.id in new_ids]
    result.claims = [c for c in result.claims if new_ids.intersection(c.findings)]
    result.changes = {**(result.changes or changes.to_json()), "only_new": True}


def _report_suppressions(path: Path | None, rules: list[Suppression],
                         result: ScanResult, checks_dirs: tuple[Path, ...], strict: bool
                         ) -> None:
    """One stderr line per expired suppression whose findings are back, and per suppression
    that matched nothing (an error with --strict-suppressions: a typo in a resource name
    must not pass for an accepted exception)."""
    for entry in result.expired_suppressions:
        click.echo(visible(
            f"posture: warning: the suppression of {entry['check']} on {entry['resource']} "
            f"expired {entry['expires']}: its {len(entry['findings'])} finding(s) count "
            "again"), err=True)
    from scanner import suppressions as suppression_rules

    unused = suppression_rules.unused(rules, result.findings, result.checks,
                                      list(load_checks(checks_dirs)))
    for rule, why in unused:
        line = visible(f"{path}: the suppression of {rule.check} on {rule.resource} {why}")
        if strict:
            raise PostureError(f"{line} (--strict-suppressions)")
        click.echo(f"posture: warning: {line}", err=True)


def _load_results(path: Path) -> ScanResult:
    """A results file (the `json` format, plain or gzip) -> ScanResult; any problem is one
    PostureError naming the file."""
    from scanner import result as result_format
    from scanner import snapshot
    from scanner.result import ScanResult

    if not path.exists():
        raise PostureError(f"{path}: no such results file")
    try:  # regular files only, size-limited, gzip decompressed within the same limit
        raw = snapshot.read_bytes(path, snapshot.results_limit(), what="results")
    except PostureError as exc:
        message = str(exc).replace("gzip data is truncated or corrupt", "not a valid gzip file")
        raise PostureError(message) from None
    try:
        data = snapshot.decode_fast(raw)  # msgspec; None: json's path says what is wrong
        if data is None:
            data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PostureError(f"{path}: not UTF-8 text, not a posture results file") from None
    except json.JSONDecodeError as exc:
        raise PostureError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise PostureError(f"{path}: nested too deeply, not a posture results file") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise PostureError(f"{path}: not valid JSON ({exc})") from None
    try:
        result_format.validate(data, str(path))
        loaded = ScanResult.from_json(data, origin=str(path))
        # format 1 too: it spells findings out, but compact (evidence 900 levels deep is
        # 6 kB there and 1.6 MB indented) and claims name findings by id (HTML: each again)
        result_format.refuse_amplification(loaded, len(raw), str(path))
        return loaded
    except PostureError:
        raise
    except Exception as exc:  # a shape from_json did not expect: still bad input, not a bug
        raise PostureError(f"{path}: malformed results file ({type(exc).__name__}: {exc})"
                           ) from None


@main.command()
@click.argument("results_file", metavar="RESULTS.json", type=click.Path(path_type=Path))
@click.option("--format", "formats", multiple=True, metavar="FMT[:FILE]",
              callback=_format_specs, help=FORMAT_HELP)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report of the --format without a file to FILE, not stdout.")
@click.option("--checks-dir", "checks_dirs", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Also load the checks of this folder, to describe them (SARIF rules, "
                   "titles).")
@click.option("--no-timestamps", is_flag=True,
              help="Leave the scan times of the results out of the report.")
@_view_options
@friendly
def report(results_file: Path, formats: list[FormatSpec], output: str | None,
           checks_dirs: tuple[Path, ...], no_timestamps: bool,
           statuses: frozenset[Status] | None, min_severity: str | None) -> None:
    """Re-render saved results (`scan --format json`) in any format, without scanning."""
    specs = _outputs(formats, output)
    _refuse_clobber(specs, inputs=[("RESULTS", results_file)])
    _emit(_load_results(results_file), specs, not no_timestamps, checks_dirs,
          _view(statuses, min_severity))


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Snapshot file to write (.gz: gzip).")
@click.option("--checks", "check_list", metavar="ID,...",
              help="Collect only what these checks read.")
@click.option("--sign", type=click.Path(dir_okay=False, path_type=Path),
              help="Sign the snapshot with this Ed25519 private key (posture keygen).")
@_probe_options
@_provider_options
@friendly
def record(sources: tuple[str, ...], output: Path, check_list: str | None, sign: Path | None,
           **provider_opts: Any) -> None:
    """Collect SOURCES and write a snapshot, without running checks."""
    from scanner import signing, snapshot
    from scanner.engine import gather
    from scanner.snapshot import Snapshot

    outputs.refuse_clobber(
        [*(("source", Path(s)) for s in sources), *((("--sign", sign),) if sign else ()),
         *(("--iac", Path(f)) for f in provider_opts.get("iac") or ())], [("-o", output)])

    providers = load_providers()
    registry = load_checks()
    ids = _split_ids(check_list)
    unknown = sorted(set(ids or ()) - set(registry))
    if unknown:
        raise PostureError(f"--checks: unknown check(s) {', '.join(unknown)}")
    checks = [registry[i] for i in ids] if ids else list(registry.values())
    options = _options(provider_opts)
    try:
        sections, _ = gather(sources, providers, checks, options)
    finally:
        options["progress"].close()
    key = signing.load_private(sign) if sign else None
    digest = snapshot.write(Snapshot(sections=sections), output, key=key)
    errors = sum(len(s.errors) for s in sections)
    click.echo(f"wrote {output}: {len(sections)} section(s), sha256 {digest}"
               + (f", {errors} failed call(s) recorded" if errors else ""))
    if errors:
        sys.exit(3)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path),
              help="Trusted Ed25519 public key: the snapshot must carry a valid signature "
                   "by it.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@friendly
def verify(file: Path, key: Path | None, as_json: bool) -> None:
    """Check a snapshot's format, SHA-256 digest and (with --key) signature."""
    from scanner import signing, snapshot

    snap = snapshot.load(file)
    if key is not None:
        signer = signing.verify(snap.digest, snap.signature, signing.load_public(key),
                                str(file))
        sig = signing.SignatureStatus("valid", signer)
    else:
        sig = signing.status(snap.digest, snap.signature)
    if as_json:
        click.echo(json.dumps(snapshot.manifest(snap, sig), indent=2, sort_keys=True))
    else:
        # "OK" only where nothing is left unchecked; the snapshot's own texts (account,
        # times, key id, version) are shown escaped
        claimed = visible(str(sig.key_id))
        click.echo(f"{visible(str(file))}: " + {
            "valid": f"OK, sha256 {snap.digest}",
            "absent": f"OK, sha256 {snap.digest}",
            "not checked": f"digest matches, sha256 {snap.digest}; signature NOT checked",
            "invalid": f"digest matches, sha256 {snap.digest}; signature INVALID",
        }[sig.status])
        click.echo("  signature: " + {
            "valid": f"valid, by {claimed}",
            "absent": "none (anyone can write a snapshot and compute its digest)",
            "not checked": f"claims {claimed}, NOT checked: give --key with the signer's "
                           "public key to know who signed it",
            "invalid": f"claims {claimed}, does NOT verify: modified after signing",
        }[sig.status])
        for s in snap.sections:
            count = sum(len(objs) for regions in s.collections.values()
                        for objs in regions.values())
            click.echo(visible(
                f"  {s.provider}:{s.account} collected {s.collected_at} by posture "
                f"{s.tool_version}: {count} objects in {len(s.collections)} collections, "
                f"{len(s.errors)} failed call(s), {len(set(s.redacted))} redacted field(s)"))
            for hop in s.replayed_from:
                hop_sig = hop.get("signature") or {}
                click.echo(visible(
                    f"    replayed from snapshot sha256 {hop.get('digest')}, signature "
                    f"{hop_sig.get('status')}" + (f" ({hop_sig.get('key_id')})"
                                                   if hop_sig.get("key_id") else "")
                    + ": not a live collection"))
    if sig.status == "invalid":
        _fail(f"{file}: the signature does not verify: the snapshot was modified after it "
              "was signed")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the sealed snapshot (default: in place).")
@friendly
def seal(file: Path, output: Path | None) -> None:
    """Validate a hand-written snapshot and write its digest."""
    from scanner import snapshot

    digest = snapshot.seal(file, output or file)
    click.echo(f"sealed {output or file}: sha256 {digest}")


@main.command(name="checks")
@click.argument("check_id", required=False)
@click.option("--checks-dir", "checks_dirs", multiple=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--framework", metavar="FRAMEWORK",
              help="List the controls of a compliance framework (iso27001, c5, gdpr) with the "
                   "checks that map to each.")
@friendly
def list_checks(check_id: str | None, checks_dirs: tuple[Path, ...], as_json: bool,
                framework: str | None) -> None:
    """List the checks, explain one, or map them to a framework's controls."""
    registry = load_checks(checks_dirs)
    if framework is not None:
        if check_id is not None:
            raise click.UsageError("give a check id or --framework, not both")
        _framework_listing(framework, list(registry.values()), as_json)
        return
    if check_id is None:
        if as_json:
            click.echo(json.dumps([c.to_json() for c in registry.values()], indent=2))
            return
        rows = [[c.id, c.severity, c.title] for c in registry.values()]
        click.echo(tabulate(rows, headers=["id", "severity", "title"]))
        return
    found = registry.get(check_id.upper())
    if found is None:
        raise PostureError(f"unknown check {check_id!r} (known: {', '.join(registry)})")
    doc = found.to_json()
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"{found.id}: {found.title}\nseverity: {found.severity}\n")
    click.echo(f"Why: {found.rationale}\n\nFix: {found.remediation}\n")
    for line in _reads_by_provider(found):
        click.echo(line)
    click.echo(f"Kinds read: {', '.join(doc['kinds'])}")
    if found.parameters:
        click.echo(f"Profile parameters: {', '.join(found.parameters)}")
    for framework, refs in sorted(found.references.items()):
        click.echo(f"{framework}: {', '.join(refs)}")


def _reads_by_provider(found: Check) -> list[str]:
    """What the check reads on every provider that can judge it: the check's own words where
    it has them, and the collections `--checks ID` collects there (the same selection as
    `record --checks` and `permissions --checks`); why a provider cannot show it."""
    lines: list[str] = []
    for name, provider in sorted(load_providers().items()):
        if found.id in provider.not_visible:
            lines.append(f"Not visible on {name}: {provider.not_visible[found.id]}")
            continue
        needed = sorted(provider.collections_for_checks((found,)))
        if not needed:
            continue
        what = found.evidence.get(name)
        only = provider.collections[needed[0]].description if len(needed) == 1 else ""
        line = (f"Reads on {name}: " + (f"{what}; " if what else "")
                + (only or f"collects {', '.join(needed)}"))
        lines += textwrap.wrap(line, 100, subsequent_indent="    ", break_on_hyphens=False)
    return lines


def _framework_listing(name: str, checks: list[Check], as_json: bool) -> None:
    from scanner.reports.html import FRAMEWORKS, controls_by_framework, framework_key

    index = controls_by_framework(checks)  # plugins may cite other frameworks too
    key = framework_key(name) or next((k for k in index if k.lower() == name.lower()), None)
    if key is None or key not in index:
        known = ", ".join(sorted({k.lower() for k in (*FRAMEWORKS, *index)}))
        raise PostureError(f"--framework: unknown framework {name!r} (known: {known})")
    controls = index[key]
    if as_json:
        click.echo(json.dumps({"framework": key, "title": FRAMEWORKS.get(key, key),
                               "controls": controls}, indent=2))
        return
    click.echo(f"{FRAMEWORKS.get(key, key)}: {len(controls)} controls, "
               f"{len({c for ids in controls.values() for c in ids})} checks\n")
    click.echo(tabulate([[control, ", ".join(ids)] for control, ids in controls.items()],
                        headers=["control", "checks"]))


@main.command(name="profiles")
@click.argument("name", required=False)
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@friendly
def list_profiles(name: str | None, path: Path | None) -> None:
    """List the built-in profiles, show one's parameters and claims, or `profiles init
    [PATH]`: write a commented starter profile to PATH (default profile.toml)."""
    if name == "init":
        written = profiles.init(path or Path("profile.toml"))
        click.echo(f"wrote {written}: edit its parameters and quote your page's sentences, "
                   f"then run `posture scan SOURCES --profile {written}`")
        return
    if path is not None:
        raise click.UsageError("a second argument is only for `posture profiles init PATH`")
    if name is None:
        rows = []
        for n in profiles.builtin_names():
            p = profiles.load(n)
            rows.append([n, p.title, len(p.claims)])
        click.echo(tabulate(rows, headers=["name", "title", "claims"]))
        return
    p = profiles.load(name)
    click.echo(f"{p.name}: {p.title}" + (f"\nsource: {p.source}" if p.source else ""))
    params = p.parameters
    click.echo(f"jurisdictions: {', '.join(params.jurisdictions)}; min TLS {params.min_tls}; "
               f"operator ranges: {', '.join(params.operator_cidrs) or '(none)'}")
    for claim in p.claims:
        binding = ", ".join(claim.checks) if claim.verifiable else f"not verifiable: {claim.reason}"
        scope = f" (scope: {claim.scope.describe()})" if claim.scope else ""
        click.echo(f"- [{binding}] {claim.quote}{scope}")


@main.command()
@click.argument("provider")
@click.option("--checks", "check_list", metavar="ID,...",
              help="Only what these checks need.")
@click.option("--fleet", "fleet_discovery", is_flag=True,
              help="Also what `posture fleet scan` needs to discover accounts.")
@friendly
def permissions(provider: str, check_list: str | None, fleet_discovery: bool = False) -> None:
    """Print the read-only permissions posture needs on PROVIDER."""
    if fleet_discovery:
        from scanner.fleet.discover import permissions as discovery

        click.echo(json.dumps(discovery(provider), indent=2))
        return
    providers = load_providers()
    if provider not in providers:
        raise PostureError(f"unknown provider {provider!r} (known: {', '.join(providers)})")
    p = providers[provider]
    registry = load_checks()
    ids = _split_ids(check_list)
    if ids:
        unknown = sorted(set(ids) - set(registry))
        if unknown:
            raise PostureError(f"--checks: unknown check(s) {', '.join(unknown)}")
        needed = p.collections_for_checks([registry[i] for i in ids])
    else:
        needed = set(p.collections)
    click.echo(json.dumps(p.permissions(sorted(needed)), indent=2))


@main.command()
@click.argument("private_key", type=click.Path(dir_okay=False, path_type=Path))
@friendly
def keygen(private_key: Path) -> None:
    """Create an Ed25519 key pair for signing snapshots: PRIVATE_KEY and PRIVATE_KEY.pub."""
    from scanner import signing

    priv, pub = signing.keygen(private_key)
    click.echo(f"wrote {priv} (keep it secret) and {pub} (give it to auditors): "
               f"{signing.key_id(signing.load_public(pub))}")


def _scan_source(ref: str, store: str | None) -> tuple[ScanResult, str]:
    """A results file, or a scan of the history store (last, previous, an id)."""
    path = Path(ref)
    if path.is_file():
        return _load_results(path), path.name
    history = _history(store)
    return history.load(ref), f"scan #{history.resolve(ref)}"


@main.command(name="diff")
@click.argument("before")
@click.argument("after", default="last")
@click.option("--store", metavar="PATH|URL", help="History store (default: the SQLite one).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--fail-on", type=click.Choice([*severity_names(), "none"]), default="low",
              show_default=True, help="Exit 1 when a NEW failure has at least this severity.")
@friendly
def diff_command(before: str, after: str, store: str | None, fmt: str, fail_on: str) -> None:
    """What changed from BEFORE to AFTER (results files, or store scans: last, previous, ID)."""
    from scanner.diff import diff as diff_scans

    old, old_label = _scan_source(before, store)
    new, new_label = _scan_source(after, store)
    changes = diff_scans(old, new, old_label, new_label)
    if fmt == "json":
        click.echo(json.dumps(changes.to_json(), indent=2, sort_keys=True))
    else:
        click.echo(changes.render(), nl=False)
    sys.exit(changes.exit_code(fail_on))


@main.command(name="graph")
@click.argument("sources", nargs=-1, required=True, metavar="SNAPSHOT...")
@click.option("--format", "fmt", type=click.Choice(["graphml", "json", "dot"]), default="json",
              show_default=True, help="GraphML (Gephi, Neo4j), JSON, or Graphviz DOT.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE, not stdout.")
@click.option("--profile", "profile_name", default="default", show_default=True,
              help="Profile whose roles the resources get (database, application, ...).")
@friendly
def graph_command(sources: tuple[str, ...], fmt: str, output: Path | None,
                  profile_name: str) -> None:
    """Write the estate graph of snapshot files: resources, relations, and the `reaches`
    edges from the internet with their exposures."""
    from scanner import graph_export
    from scanner.engine import build_graph, gather, normalize

    providers = load_providers()
    live = [s for s in sources if s in providers]
    if live:
        raise PostureError(f"graph reads snapshot files, not live sources ({live[0]}): "
                           f"`posture record {live[0]} -o estate.json.gz` first")
    if output is not None:  # never over a snapshot it reads (same file: device and inode)
        outputs.refuse_clobber([("SNAPSHOT", Path(s)) for s in sources], [("-o", output)])
    profile = profiles.load(profile_name)
    sections, described = gather(sources, providers, list(load_checks().values()), {})
    estate = build_graph(normalize(sections, providers, profile))
    text = graph_export.render(fmt, estate, described)
    if output is None:
        click.echo(text, nl=False)
        return
    try:  # a temporary file renamed into place: a planted symlink is replaced, not followed
        outputs.write_atomic(output, text.encode("utf-8"))
    except OSError as exc:
        raise PostureError(f"cannot write {output}: {exc.strerror}") from exc


@main.command()
@click.option("--store", metavar="PATH|URL", help="History store (default: the SQLite one).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@friendly
def history(store: str | None, limit: int) -> None:
    """List the scans saved in the history store."""
    hs = _history(store)
    rows = [[s.id, visible(str(s.finished_at)), visible(str(s.profile)),
             s.summary["by_status"]["fail"], s.summary["by_status"]["error"],
             s.summary["resources"]] for s in hs.scans(limit)]
    click.echo(tabulate(rows, headers=["scan", "finished", "profile", "failed", "errors",
                                       "resources"], disable_numparse=True))


if __name__ == "__main__":  # pragma: no cover
    from scanner.cli import main as posture  # the module (the fleet commands import it)

    posture()
else:
    from scanner.fleet.commands import fleet, worker  # they use the helpers above

    main.add_command(fleet)
    main.add_command(worker)
