"""Collect a Hetzner Cloud project with the official `hcloud` client, read-only.

Raw objects are kept exactly as the API returns them (`Client.request("GET", ...)`, every
list followed through `meta.pagination`), so a snapshot replays through the same normalizer
and can be written by hand from the API documentation. Failed calls are recorded with their
collection, never raised; only a rejected token stops the scan (exit 2).

Retries: a throttled (429), unavailable (5xx) or timed-out call is retried up to
`--max-retries` times. Before each retry it waits what the answer's `Retry-After` says
(seconds or an HTTP date), at least; without one, a jittered exponential backoff
(`--retry-base-seconds`). No single wait is longer than `MAX_WAIT_SECONDS`: an API (or a
proxy in front of it) that asks for an hour gets a retry after a minute, and the call is
recorded as throttled when the retries run out.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from hcloud import APIException, Client

from providers.hetzner.apis import PATHS
from scanner import __version__, inputs, progress
from scanner.model import ErrorReason
from scanner.pages import PageGuard, PaginationError, max_pages
from scanner.provider import ProviderError, ProviderUnreachable
from scanner.redact import redact, scrub
from scanner.snapshot import GLOBAL, Section, now

log = logging.getLogger("posture.hetzner")

DEFAULT_ENDPOINT = "https://api.hetzner.cloud/v1"
PER_PAGE = 50  # the API's maximum
# HTTP statuses of answers without the API's JSON error body (a proxy or gateway answered).
_TRANSIENT_STATUS = {429, 500, 502, 503, 504}
# Error codes of the API that say "try again" (hcloud itself retries only some of them).
_TRANSIENT_CODES = {"service_error", "server_error", "unavailable", "maintenance", "timeout",
                    "bad_gateway", "rate_limit_exceeded", "conflict"}
MAX_WAIT_SECONDS = 60.0  # the longest wait before one retry, whatever Retry-After says
TOKEN_FILE_LIMIT = 64 * 1024  # an API token is 64 characters


def token_from(options: Mapping[str, Any]) -> str:
    token_file = options.get("hetzner_token_file")
    if token_file:
        try:
            # regular file, size-limited (a FIFO or /dev/zero is refused, never waited on)
            token = inputs.read_text(Path(token_file), TOKEN_FILE_LIMIT).strip()
        except OSError as exc:
            raise ProviderError(f"--hetzner-token-file {token_file}: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise ProviderError(f"--hetzner-token-file {token_file}: not UTF-8 text") from None
    else:
        token = os.environ.get("HCLOUD_TOKEN", "").strip()
    if not token:
        raise ProviderError(
            "hetzner: no API token (set HCLOUD_TOKEN or --hetzner-token-file; a read-only token "
            "is enough, see docs/permissions.md)"
        )
    return token


def endpoint_of(shown: bool = False) -> str:
    """The API endpoint ($HCLOUD_ENDPOINT or Hetzner's); `shown`: without any user:password@
    it may carry, for messages."""
    endpoint = (os.environ.get("HCLOUD_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    if shown:
        parts = urlsplit(endpoint)
        endpoint = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return endpoint


def make_client(options: Mapping[str, Any]) -> Client:
    endpoint = endpoint_of()
    client = Client(
        token=token_from(options),
        api_endpoint=endpoint.rstrip("/"),
        application_name="posture",
        application_version=__version__,
        timeout=float(options.get("timeout", 30.0)),
    )
    # hcloud retries some errors itself; list_all retries every transient error with one
    # bounded policy, so hcloud's own loop is turned off (else retries would multiply).
    inner = getattr(client, "_client", None)
    if inner is not None and hasattr(inner, "_retry_max_retries"):
        inner._retry_max_retries = 0
    if inner is not None and hasattr(inner, "_read_response"):
        inner._read_response = _keeping_retry_after(inner._read_response)
    return client


def _keeping_retry_after(read: Callable[[requests.Response], dict[str, Any]]
                         ) -> Callable[[requests.Response], dict[str, Any]]:
    """hcloud's reader of an answer, which raises APIException for an error without its
    headers: the exception it raises gets the answer's Retry-After as `retry_after`
    (seconds, or None)."""
    def read_response(response: requests.Response) -> dict[str, Any]:
        try:
            return read(response)
        except APIException as exc:
            exc.retry_after = parse_retry_after(  # type: ignore[attr-defined]
                response.headers.get("Retry-After"))
            raise
    return read_response


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (RFC 9110: delay seconds, or an HTTP date) -> seconds to wait from
    `now`; None when absent or malformed (a negative number, a date that is not one); 0 for a
    date already past."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(min(int(text), 10**9))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _backoff(base: float, retries: int) -> float:
    return float(random.uniform(0, min(MAX_WAIT_SECONDS, base * 2**retries)))


def retry_wait(exc: Exception, base: float, retries: int) -> float:
    """Seconds to wait before retry number `retries` (from 0) of a call that failed with
    `exc`: at least its answer's Retry-After, else the jittered backoff; at most
    MAX_WAIT_SECONDS."""
    backoff = _backoff(base, retries)
    asked = getattr(exc, "retry_after", None)
    if asked is None:
        return backoff
    return min(MAX_WAIT_SECONDS, max(float(asked), backoff))


def classify(exc: Exception, secrets: tuple[str, ...] = ()) -> tuple[ErrorReason, str]:
    """An exception from a call -> (reason, one-line message without secrets: the API's
    message may quote what it was sent or the token it rejected; `secrets` are the
    credentials of the scan, removed with everything else that looks like one)."""
    if isinstance(exc, APIException):
        code = exc.code
        reasons = {
            "unauthorized": ErrorReason.UNAUTHENTICATED,
            "forbidden": ErrorReason.DENIED,
            "token_readonly": ErrorReason.DENIED,
            "rate_limit_exceeded": ErrorReason.THROTTLED,
            "not_found": ErrorReason.NOT_FOUND,
            "invalid_input": ErrorReason.INVALID,
        }
        if isinstance(code, str) and code in reasons:
            reason = reasons[code]
        elif isinstance(code, int) and code in (401,):
            reason = ErrorReason.UNAUTHENTICATED
        elif isinstance(code, int) and code == 403:
            reason = ErrorReason.DENIED
        elif isinstance(code, int) and code == 429:
            reason = ErrorReason.THROTTLED
        else:
            reason = ErrorReason.UNREACHABLE
        text = " ".join(f"{exc.message} ({code})".split())
        return reason, scrub(text if len(text) <= 300 else text[:297] + "...", secrets)
    if isinstance(exc, requests.Timeout):
        return ErrorReason.UNREACHABLE, "timed out"
    if isinstance(exc, requests.ConnectionError):
        return ErrorReason.UNREACHABLE, "connection failed"
    if isinstance(exc, PaginationError):
        return ErrorReason.INVALID, scrub(str(exc), secrets)
    if isinstance(exc, (ValueError, KeyError, TypeError)):
        return ErrorReason.INVALID, f"unexpected response: {type(exc).__name__}"
    return ErrorReason.BUG, f"{type(exc).__name__}"


def unreachable(exc: Exception) -> str | None:
    """Why no connection could be made at all ("connection refused", "no such host"), or
    None: an answer that never comes back (a refused port, an unknown host name) does not
    recover by retrying, unlike a throttled, failing (5xx) or slow (timeout) one."""
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.Timeout):
        return None
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:  # requests -> urllib3 -> socket
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "NameResolutionError":
            return "no such host"
        nested = getattr(cause, "reason", None)
        cause = nested if isinstance(nested, BaseException) else (
            cause.__cause__ or cause.__context__ or (
                cause.args[0] if cause.args and isinstance(cause.args[0], BaseException)
                else None))
    return None


def _transient(exc: Exception) -> bool:
    if isinstance(exc, APIException):
        return exc.code in _TRANSIENT_STATUS or exc.code in _TRANSIENT_CODES
    if unreachable(exc):
        return False
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


def list_all(client: Client, path: str, params: Mapping[str, str | list[str]], key: str,
             options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every object of a list endpoint, following `meta.pagination.next_page`."""
    items: list[dict[str, Any]] = []
    page: int | None = 1
    retries = int(options.get("max_retries", 5))
    base = float(options.get("retry_base_seconds", 1.0))
    guard = PageGuard(f"GET {path}", max_pages(options))
    while page:
        guard.page(page)
        query = {**params, "page": page, "per_page": PER_PAGE}
        attempt = 0
        while True:
            try:
                body = client.request("GET", path, params=query)
                break
            except Exception as exc:
                if attempt < retries and _transient(exc):
                    wait = retry_wait(exc, base, attempt)
                    log.debug("hetzner GET %s page %s: %s, retry %d in %.2f s", path, page,
                              type(exc).__name__, attempt + 1, wait)
                    time.sleep(wait)
                    attempt += 1
                    continue
                raise
        batch = body[key]
        if not isinstance(batch, list):
            raise ValueError(f"{key} is not a list")
        items.extend(batch)
        meta = body.get("meta")
        pagination = meta.get("pagination") if isinstance(meta, dict) else None
        if not isinstance(pagination, dict) or "next_page" not in pagination:
            # Every list response carries meta.pagination with next_page (null on the last
            # page): OpenAPI ListMeta/Pagination, both `required`. Without it, whether more
            # pages follow is not known: the list is not read as complete.
            raise PaginationError(f"GET {path}: page {page} has no meta.pagination.next_page; "
                                  "whether more pages follow is not known")
        page = _next_page(path, page, pagination, len(items))
    return items


def _next_page(path: str, page: int, pagination: Mapping[str, Any], count: int) -> int | None:
    """The page to read after `page`, from the response's `meta.pagination` (Hetzner API
    reference, "Pagination": `page`, `per_page`, `previous_page`, `next_page`, `last_page`,
    `total_entries`; `next_page` is null on the last page). A next page that does not
    increase, or goes past `last_page`, or objects beyond `total_entries`, is a broken
    pagination (PaginationError: the collection is recorded as failed, not complete)."""
    next_page = pagination.get("next_page")
    last_page = pagination.get("last_page")
    total = pagination.get("total_entries")
    if isinstance(total, int) and not isinstance(total, bool) and count > total:
        raise PaginationError(f"GET {path}: {count} objects read, more than the "
                              f"{total} the API announced (total_entries)")
    if next_page is None:
        return None
    if isinstance(next_page, bool) or not isinstance(next_page, int | str):
        raise PaginationError(f"GET {path}: next_page {next_page!r} is not a page number")
    try:
        number = int(next_page)
    except ValueError:
        raise PaginationError(f"GET {path}: next_page {next_page!r} is not a page number"
                              ) from None
    if number <= page:
        raise PaginationError(f"GET {path}: page {page} points back to page {number} (a "
                              "pagination loop); the list is incomplete")
    if isinstance(last_page, int) and not isinstance(last_page, bool) and number > last_page:
        raise PaginationError(f"GET {path}: next_page {number} is past last_page {last_page}; "
                              "the list is incomplete")
    return number


def collect(options: Mapping[str, Any], only: Iterable[str] | None = None) -> Section:
    client = make_client(options)
    secrets = (token_from(options),)  # never in an error message, even when the API echoes it
    wanted = [c for c in PATHS if only is None or c in set(only) or c == "locations"]
    section = Section(
        provider="hetzner",
        account=str(options.get("hetzner_project") or os.environ.get("POSTURE_HETZNER_PROJECT")
                    or "default"),
        collected_at=now(),
    )
    for n, name in enumerate(wanted):
        path, params = PATHS[name]
        progress.report(options, "hetzner", GLOBAL, name)
        try:
            objects = list_all(client, path, params, name, options)
        except Exception as exc:
            why = unreachable(exc)
            if n == 0 and why:  # the first call: nothing can be read, say so in one line
                raise ProviderUnreachable(
                    f"hetzner: cannot reach the API at {endpoint_of(shown=True)} ({why})") from None
            reason, message = classify(exc, secrets)
            if reason is ErrorReason.UNAUTHENTICATED:
                raise ProviderError(f"hetzner: the API token was rejected ({message})") from None
            log.warning("hetzner %s: %s (%s)", name, message, reason)
            section.fail(name, GLOBAL, reason, message)
            continue
        log.info("hetzner %s: %d objects", name, len(objects))
        section.add(name, GLOBAL, [redact(o, f"{name}[]", section.redacted) for o in objects])
    section.locations = sorted(
        str(loc.get("name")) for loc in section.collections.get("locations", {}).get(GLOBAL, [])
    )
    return section
