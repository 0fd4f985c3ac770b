"""The one task function both executors run: one unit = collect -> normalize -> check, with
the account's own credentials, its result (and snapshot, with a record folder) stored.

Credentials are put in place where the unit runs and only for its duration: an AWS role is
assumed here (with the external id, if any) and its temporary keys set in this process's
environment; a Hetzner token is read from the environment variable or file the fleet file
names. Units run one at a time per process (pool workers and Celery's prefork children are
processes), so the environment of one unit never leaks into another running at once.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.errors import PostureError
from scanner.fleet.units import Outcome, Unit
from scanner.provider import ProviderError
from scanner.result import ScanResult

if TYPE_CHECKING:
    from scanner.fleet.store import FleetStore

log = logging.getLogger("posture.fleet")

# AWS error codes that say "try again later" (botocore's retry handler treats the same as
# throttling or transient); anything else refusing AssumeRole is final.
_TRANSIENT_AWS = {"Throttling", "ThrottlingException", "RequestLimitExceeded",
                  "TooManyRequestsException", "ServiceUnavailable", "InternalError",
                  "InternalFailure", "RequestTimeout", "IDPCommunicationError"}


class UnitFailed(Exception):
    """The unit could not be scanned. `transient`: another attempt may succeed."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@contextmanager
def _environment(set_: Mapping[str, str], unset: tuple[str, ...] = ()) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*set_, *unset)}
    try:
        for k in unset:
            os.environ.pop(k, None)
        os.environ.update(set_)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _assume(unit: Unit) -> dict[str, str]:
    """Temporary credentials of the unit's role, as environment variables."""
    import boto3  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    arn = str(unit.options["role_arn"])
    params: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": "posture-fleet",
                              "DurationSeconds": 3600}
    if unit.options.get("external_id"):
        params["ExternalId"] = str(unit.options["external_id"])
    try:
        session = boto3.Session(profile_name=unit.options.get("aws_profile") or None)
        region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        creds = session.client("sts", region_name=region).assume_role(**params)["Credentials"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "ClientError"))
        text = " ".join(str(error.get("Message", "")).split())[:300]
        raise UnitFailed(f"cannot assume role {arn}: {code}: {text}",
                         transient=code in _TRANSIENT_AWS) from None
    except BotoCoreError as exc:  # no credentials, endpoint unreachable, ...
        text = " ".join(str(exc).split())[:300]
        transient = "Connect" in type(exc).__name__ or "Timeout" in type(exc).__name__
        raise UnitFailed(f"cannot assume role {arn}: {text}", transient=transient) from None
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


def _credentials(unit: Unit) -> tuple[dict[str, str], tuple[str, ...], dict[str, Any]]:
    """(environment to set, to unset, provider options) for the unit."""
    options = {k: v for k, v in unit.options.items()
               if k not in ("role_arn", "external_id", "aws_profile", "token_env")}
    if unit.provider == "aws":
        # the role's keys only: no profile, and no roles of this process's own configuration
        # (POSTURE_AWS_ROLE_ARNS would make the unit scan those accounts instead)
        return _assume(unit), ("AWS_PROFILE", "POSTURE_AWS_ROLE_ARNS"), options
    if unit.provider == "hetzner" and unit.options.get("token_env"):
        name = str(unit.options["token_env"])
        token = os.environ.get(name, "").strip()
        if not token:
            raise UnitFailed(f"environment variable {name} (the project's token) is not set "
                             "where this unit runs", transient=False)
        return {"HCLOUD_TOKEN": token}, (), options
    return {}, (), options


def load_profile(request: Mapping[str, Any]) -> Any:
    from scanner import profile as profiles

    text = request.get("profile_toml")
    if text is not None:  # a profile file of the submitter, shipped with the run
        import tomllib

        return profiles.parse(tomllib.loads(str(text)), str(request["profile"]))
    return profiles.load(str(request["profile"]))


def scan(unit: Unit, request: Mapping[str, Any]) -> ScanResult:
    """Scan one unit; UnitFailed when it cannot be scanned at all."""
    from scanner.engine import ScanRequest
    from scanner.engine import scan as run_scan

    env, unset, options = _credentials(unit)
    options.update(request.get("options") or {})
    record = None
    if request.get("record_dir"):
        folder = Path(str(request["record_dir"]))
        record = folder / f"{unit.provider}-{unit.account}.json.gz"
    scan_request = ScanRequest(sources=[unit.provider], profile=load_profile(request),
                               check_ids=request.get("checks"), options=options, record=record)
    with _environment(env, unset):
        try:
            return run_scan(scan_request)
        except (PostureError, ProviderError) as exc:
            raise UnitFailed(" ".join(str(exc).split()), transient=False) from None


def counts(result: ScanResult) -> dict[str, int]:
    return dict(Counter(str(f.status) for f in result.findings))


def attempt(unit: Unit, request: Mapping[str, Any]) -> tuple[ScanResult, float]:
    started = time.monotonic()
    log.info("fleet unit %s started", unit.key)
    result = scan(unit, request)
    return result, time.monotonic() - started


def run_unit(unit: Unit, run_id: int, store: str | FleetStore | None,
             request: Mapping[str, Any], retries: int = 2,
             backoff: float | None = None) -> Outcome:
    """The task of both executors: scan with retries of transient failures, store once.

    Retries happen here, in the process that holds the unit, `backoff` seconds doubling
    (default: the request's `retry_backoff`, else 1): never through the broker, so a broker
    that is down when a unit fails cannot lose the unit (Celery's own retry publishes a new
    message and, when that fails, rejects the one it holds)."""
    from scanner.fleet.store import FleetStore

    fleet_store = store if isinstance(store, FleetStore) else FleetStore(store)
    if backoff is None:
        backoff = float(request.get("retry_backoff", 1.0))
    started = time.monotonic()
    tries = 0
    while True:
        tries += 1
        try:
            result, _ = attempt(unit, request)
        except Exception as exc:
            # UnitFailed says whether another try may help; anything else (a bug, an
            # unexpected failure) is retried like a transient failure
            transient = not isinstance(exc, UnitFailed) or exc.transient
            if transient and tries <= retries:
                time.sleep(backoff * 2 ** (tries - 1))
                continue
            message = str(exc) if isinstance(exc, UnitFailed) else f"{type(exc).__name__}: {exc}"
            outcome = Outcome(unit, "error", None, " ".join(message.split()),
                              time.monotonic() - started, tries)
            fleet_store.record(run_id, outcome, None)
            return outcome
        outcome = Outcome(unit, "ok", None, "", time.monotonic() - started, tries, counts(result))
        fleet_store.record(run_id, outcome, result)
        return outcome
