"""The `posture` command line.

Exit codes: 0 nothing failed at or above --fail-on; 1 violations; 2 bad usage or bad input
(one line on stderr, never a traceback); 3 the scan could not see everything it needed and
--allow-partial was not given.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from tabulate import tabulate

from scanner import __version__, snapshot
from scanner import profile as profiles
from scanner.engine import ScanRequest, severity_names
from scanner.engine import scan as run_scan
from scanner.errors import PostureError
from scanner.provider import ProviderError
from scanner.registry import load_checks, load_providers
from scanner.reports import FORMATS
from scanner.snapshot import Snapshot

log = logging.getLogger("posture")
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"posture: {message}", err=True)
    sys.exit(code)


def friendly(func: F) -> F:
    """Turn every expected error into one line on stderr and exit 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise  # usage errors: click prints them with the usage line, exit 2
        except (PostureError, ProviderError) as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except Exception as exc:  # a bug: say so plainly; -v shows the traceback
            log.debug("internal error", exc_info=True)
            _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with -vv for the traceback)")
        return None

    return wrapper  # type: ignore[return-value]


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[
        min(verbose, 2)]
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("urllib3", "requests"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posture")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
def main(verbose: int, quiet: bool) -> None:
    """Check a published security page against the real cloud estate, claim by claim."""
    _setup_logging(verbose, quiet)


def _provider_options(f: F) -> F:
    f = click.option("--max-retries", type=click.IntRange(0, 20), envvar="POSTURE_MAX_RETRIES",
                     help="Retries of a throttled or failed call before it is recorded as an "
                          "error (default 5).")(f)
    f = click.option("--retry-base-seconds", "retry_base_seconds",
                     type=click.FloatRange(0, 60), envvar="POSTURE_RETRY_BASE_SECONDS",
                     help="Base of the exponential backoff with full jitter (default 1).")(f)
    f = click.option("--timeout", type=click.FloatRange(1, 600), envvar="POSTURE_TIMEOUT",
                     help="Seconds before one API call times out (default 30).")(f)
    f = click.option("--hetzner-token-file", type=click.Path(dir_okay=False),
                     help="File holding the Hetzner API token (default: $HCLOUD_TOKEN).")(f)
    f = click.option("--hetzner-project", metavar="NAME",
                     help="Name of the Hetzner project the token belongs to (the API does not "
                          "tell); part of every resource id. Default: "
                          "$POSTURE_HETZNER_PROJECT or 'default'.")(f)
    return f


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


def _split_ids(value: str | None) -> list[str] | None:
    if value is None:
        return None
    ids = [v.strip().upper() for v in value.split(",") if v.strip()]
    if not ids:
        raise click.BadParameter("give at least one check id", param_hint="--checks")
    return ids


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--profile", "profile_name", default="default", show_default=True,
              help="Built-in profile name or path of a profile TOML file.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="table",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of stdout.")
@click.option("--fail-on", type=click.Choice([*severity_names(), "none"]), default="low",
              show_default=True, help="Lowest severity of a failure that makes the exit code 1.")
@click.option("--allow-partial", is_flag=True,
              help="Exit 0/1 even when some scopes could not be read (errors are still shown).")
@click.option("--checks", "check_list", metavar="ID,...",
              help="Run only these checks (and collect only what they read).")
@click.option("--checks-dir", "checks_dirs", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Also load checks from the *.py files of this folder.")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the raw inventory to this snapshot file (.gz: gzip).")
@click.option("--no-timestamps", is_flag=True,
              help="Leave scan times out of the report (to compare two reports byte for byte).")
@_provider_options
@friendly
def scan(sources: tuple[str, ...], profile_name: str, fmt: str, output: str | None,
         fail_on: str, allow_partial: bool, check_list: str | None,
         checks_dirs: tuple[Path, ...], record: Path | None, no_timestamps: bool,
         **provider_opts: Any) -> None:
    """Scan SOURCES (provider names for live scans, e.g. `hetzner`, or snapshot files)."""
    request = ScanRequest(
        sources=list(sources),
        profile=profiles.load(profile_name),
        check_ids=_split_ids(check_list),
        checks_dirs=list(checks_dirs),
        options=_options(provider_opts),
        record=record,
    )
    result = run_scan(request)
    text = FORMATS[fmt](result, not no_timestamps)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise PostureError(f"cannot write {output}: {exc.strerror}") from exc
    else:
        click.echo(text, nl=False)
    sys.exit(result.exit_code(fail_on, allow_partial))


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Snapshot file to write (.gz: gzip).")
@click.option("--checks", "check_list", metavar="ID,...",
              help="Collect only what these checks read.")
@_provider_options
@friendly
def record(sources: tuple[str, ...], output: Path, check_list: str | None,
           **provider_opts: Any) -> None:
    """Collect SOURCES and write a snapshot, without running checks."""
    from scanner.engine import gather

    providers = load_providers()
    registry = load_checks()
    ids = _split_ids(check_list)
    unknown = sorted(set(ids or ()) - set(registry))
    if unknown:
        raise PostureError(f"--checks: unknown check(s) {', '.join(unknown)}")
    checks = [registry[i] for i in ids] if ids else list(registry.values())
    sections, _ = gather(sources, providers, checks, _options(provider_opts))
    digest = snapshot.write(Snapshot(sections=sections), output)
    errors = sum(len(s.errors) for s in sections)
    click.echo(f"wrote {output}: {len(sections)} section(s), sha256 {digest}"
               + (f", {errors} failed call(s) recorded" if errors else ""))
    if errors:
        sys.exit(3)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@friendly
def verify(file: Path) -> None:
    """Check a snapshot's format and SHA-256 digest."""
    snap = snapshot.load(file)
    click.echo(f"{file}: OK, sha256 {snap.digest}")
    for s in snap.sections:
        count = sum(len(objs) for regions in s.collections.values() for objs in regions.values())
        click.echo(f"  {s.provider}:{s.account} collected {s.collected_at} by posture "
                   f"{s.tool_version}: {count} objects in {len(s.collections)} collections, "
                   f"{len(s.errors)} failed call(s), {len(set(s.redacted))} redacted field(s)")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the sealed snapshot (default: in place).")
@friendly
def seal(file: Path, output: Path | None) -> None:
    """Validate a hand-written snapshot and write its digest."""
    digest = snapshot.seal(file, output or file)
    click.echo(f"sealed {output or file}: sha256 {digest}")


@main.command(name="checks")
@click.argument("check_id", required=False)
@click.option("--checks-dir", "checks_dirs", multiple=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly
def list_checks(check_id: str | None, checks_dirs: tuple[Path, ...], as_json: bool) -> None:
    """List the checks, or explain one."""
    registry = load_checks(checks_dirs)
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
    for provider, what in sorted(found.evidence.items()):
        click.echo(f"Reads on {provider}: {what}")
    click.echo(f"Kinds read: {', '.join(doc['kinds'])}")
    if found.parameters:
        click.echo(f"Profile parameters: {', '.join(found.parameters)}")
    for framework, refs in sorted(found.references.items()):
        click.echo(f"{framework}: {', '.join(refs)}")


@main.command(name="profiles")
@click.argument("name", required=False)
@friendly
def list_profiles(name: str | None) -> None:
    """List the built-in profiles, or show one's parameters and claims."""
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
        click.echo(f"- [{binding}] {claim.quote}")


@main.command()
@click.argument("provider")
@click.option("--checks", "check_list", metavar="ID,...",
              help="Only what these checks need.")
@friendly
def permissions(provider: str, check_list: str | None) -> None:
    """Print the read-only permissions posture needs on PROVIDER."""
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
        needed = p.collections_for({k for i in ids for k in registry[i].kinds})
    else:
        needed = set(p.collections)
    click.echo(json.dumps(p.permissions(sorted(needed)), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
