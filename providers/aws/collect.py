"""Collect AWS accounts with boto3, read-only, concurrently.

What is stored (docs/aws.md has the full list, one collection per API operation):
- list and describe calls: the items of the response's result key exactly as botocore
  parses them (all pages, through botocore's paginators), per region (`"global"` for IAM,
  S3's bucket list, CloudFront and the region list);
- calls made for one resource (a bucket's encryption, a user's MFA devices, a load
  balancer's listeners...): an envelope `{"request": {params}, "response": {answer}}`, or
  `{"request": ..., "error": {"Code", "Message"}}` when the answer is an error that states a
  fact rather than a failure (no encryption configuration, no login profile...). Per-bucket
  S3 calls are filed under the bucket's region.
Timestamps become ISO 8601 strings, bytes base64; `ResponseMetadata` and pagination tokens
are dropped. Nothing else is changed, except secrets:
- EC2 user data is fetched, scanned for secret-looking assignments and values, and never
  stored: the envelope keeps `"<redacted>"` and `flagged`, the names of what was found;
- Lambda environment values (of `$LATEST` and of every published version) are never
  stored: each becomes `"<redacted>"`, and the function (version) gets
  `PostureFlaggedFields`, the names of the variables that looked secret;
- ECS task definitions' container `environment` values likewise: each becomes
  `"<redacted>"`, the task definition gets `PostureFlaggedFields`;
- tags whose key looks like a secret have their value redacted, and every object passes
  through `scanner.redact.redact`.

Every failed call is recorded in the section with its collection, region and reason (the
account is the section's), never raised; only credentials that do not work at all stop the
scan (`ProviderError`, exit 2). An error's message is scrubbed (`scanner.redact.scrub`) of
the scan's own credentials and of anything that looks like a secret: an API may quote what it
was sent. botocore's own retry modes (standard or adaptive) retry
throttling and transient errors; `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` are
honoured by botocore itself.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    TokenRetrievalError,
)
from botocore.utils import (  # type: ignore[import-untyped]
    parse_timestamp as botocore_parse_timestamp,
)

from providers.aws.apis import APIS, BY_NAME, FLAGGED, closure
from scanner import __version__, progress
from scanner import regions as catalogue
from scanner.model import ErrorReason
from scanner.pages import PageGuard, max_pages
from scanner.provider import ProviderError
from scanner.redact import REDACTED, is_secret_name, looks_secret, redact, scrub
from scanner.secret_scan import scan_containers, secret_value, user_data_findings
from scanner.snapshot import GLOBAL, Section, now

log = logging.getLogger("posture.aws")

PROVIDER = "aws"
DEFAULT_WORKERS = 8  # calls at once per lane (service and region)
LANE_TOTAL = 4  # calls at once over all lanes: this many times the workers of one
# The region of each partition's global endpoints (botocore data/endpoints.json: IAM's
# `credentialScope` region in each partition; aws-iso-e and aws-eusc have one region).
HOME_REGION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1",
               "aws-iso": "us-iso-east-1", "aws-iso-b": "us-isob-east-1",
               "aws-iso-e": "eu-isoe-west-1", "aws-iso-f": "us-isof-south-1",
               "aws-eusc": "eusc-de-east-1"}
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov|-iso|-iso-[bef]|-eusc)?:iam::(\d{12}):role/"
                      r"[\w+=,.@/-]+$")

# Error codes that state a fact about the resource rather than a failed read.
ABSENT: dict[str, frozenset[str]] = {
    "s3.get_bucket_encryption": frozenset({"ServerSideEncryptionConfigurationNotFoundError"}),
    "s3.get_bucket_replication": frozenset({"ReplicationConfigurationNotFoundError"}),
    "s3.get_public_access_block": frozenset({"NoSuchPublicAccessBlockConfiguration"}),
    "s3.get_bucket_policy": frozenset({"NoSuchBucketPolicy"}),
    "s3.get_bucket_tagging": frozenset({"NoSuchTagSet"}),
    "s3.get_bucket_lifecycle_configuration": frozenset({"NoSuchLifecycleConfiguration"}),
    "iam.get_login_profile": frozenset({"NoSuchEntity"}),
    "wafv2.get_web_acl_for_resource": frozenset({"WAFNonexistentItemException"}),
}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
           "AuthorizationError", "Forbidden", "UnauthorizedAccess", "AllAccessDisabled",
           "OptInRequired", "SubscriptionRequiredException", "InvalidClientTokenId",
           "UnrecognizedClientException"}
_UNAUTHENTICATED = {"ExpiredToken", "ExpiredTokenException", "AuthFailure",
                    "SignatureDoesNotMatch", "InvalidAccessKeyId", "RequestExpired",
                    "InvalidToken", "IncompleteSignature", "MissingAuthenticationToken"}
_CREDENTIALS_REJECTED = _UNAUTHENTICATED | {"InvalidClientTokenId",
                                            "UnrecognizedClientException", "AccessDenied"}
_THROTTLED = {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
              "TooManyRequestsException", "SlowDown", "RequestThrottled",
              "RequestThrottledException", "ProvisionedThroughputExceededException"}
_NOT_FOUND = {"NoSuchEntity", "NoSuchBucket", "ResourceNotFoundException", "NotFoundException",
              "TrailNotFoundException", "BadRequestException"}
# Calls made for every listed bucket when wanted (the lifecycle: for trail buckets only).
PER_BUCKET = ("s3.get_bucket_encryption", "s3.get_bucket_replication",
              "s3.get_public_access_block", "s3.get_bucket_policy", "s3.get_bucket_tagging")


# --- secrets ---------------------------------------------------------------------------
# one scanner for live reads and plans: scanner/secret_scan.py


def _page_digest(page: Mapping[str, Any]) -> str:
    """What identifies a page's answer (its request id aside): the same answer parses to
    the same mapping, in the same order."""
    import hashlib

    body = [(k, v) for k, v in page.items() if k != "ResponseMetadata"]
    return hashlib.sha256(repr(body).encode()).hexdigest()[:16]


def _redact_tags(obj: Any, path: str, removed: list[str]) -> Any:
    """AWS tags are [{Key, Value}]: the key decides (redact() only sees 'Key'/'Value'). A key
    that is itself a secret (`password=...`) goes with its value, and is not named in the
    path recorded. `obj` itself when no tag needs it (most objects: no path is built)."""
    if not _has_secret_tag(obj):
        return obj
    return _redact_tags_at(obj, path, removed)


def _secret_tag(obj: dict[str, Any]) -> bool:
    key = obj.get("Key")
    return (isinstance(key, str) and "Value" in obj
            and (looks_secret(key) or (is_secret_name(key) and bool(obj.get("Value")))))


def _has_secret_tag(obj: Any) -> bool:
    """Whether a tag somewhere in `obj` is redacted by `_redact_tags_at`."""
    if isinstance(obj, dict):
        if "Key" in obj and _secret_tag(obj):
            return True
        return any(_has_secret_tag(v) for v in obj.values() if isinstance(v, dict | list))
    if isinstance(obj, list):
        return any(_has_secret_tag(v) for v in obj if isinstance(v, dict | list))
    return False


def _redact_tags_at(obj: Any, path: str, removed: list[str]) -> Any:
    if isinstance(obj, dict):
        if set(obj) >= {"Key", "Value"} and isinstance(obj.get("Key"), str):
            if looks_secret(obj["Key"]):
                removed.append(f"{path}.{REDACTED}")
                return {**obj, "Key": REDACTED, "Value": REDACTED}
            if is_secret_name(obj["Key"]) and obj.get("Value"):
                removed.append(f"{path}.{obj['Key']}")
                return {**obj, "Value": REDACTED}
        return {k: _redact_tags_at(v, f"{path}.{k}", removed) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact_tags_at(v, f"{path}[]", removed) for v in obj]
    return obj


# An ISO 8601 timestamp as AWS writes it (XML protocols, and JSON ones answering in ISO):
# `datetime.fromisoformat` reads it to the same value as botocore's default parser
# (dateutil), about a thousand times faster; anything else goes to botocore's parser.
_ISO_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")


def parse_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, with a fast path for ISO 8601 with an explicit offset
    (the same datetime: value, offset and so `isoformat()`, as `botocore.utils.
    parse_timestamp` gives; its dateutil parse was a sixth of the collector's CPU)."""
    if isinstance(value, str) and _ISO_TIMESTAMP.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    parsed: datetime = botocore_parse_timestamp(value)
    return parsed


def fast_timestamps(session: Any) -> Any:
    """`session` (boto3) whose clients parse timestamps with `parse_timestamp` (botocore's
    documented parser option, `ResponseParserFactory.set_parser_defaults`); clients made
    before are not changed."""
    core = getattr(session, "_session", None)  # boto3.Session's botocore session
    if core is not None:
        core.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=parse_timestamp)
    return session


def jsonable(obj: Any) -> Any:
    """botocore's parsed answer -> JSON values (datetimes ISO 8601, bytes base64)."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()
                if k not in ("ResponseMetadata", "NextToken", "Marker", "NextMarker",
                             "IsTruncated", "nextToken")}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, bytes | bytearray):
        return base64.b64encode(bytes(obj)).decode()
    return obj


# --- errors ----------------------------------------------------------------------------


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str((exc.response.get("Error") or {}).get("Code") or "")
    return ""


def credentials_of(session: Any) -> tuple[str, ...]:
    """The access key id, secret key and session token a session signs with (to scrub them
    from error messages); () when it has none."""
    try:
        creds = session.get_credentials() if session is not None else None
        frozen = creds.get_frozen_credentials() if creds is not None else None
    except Exception:  # a credential process that fails now fails the calls, recorded there
        return ()
    if frozen is None:
        return ()
    return tuple(str(v) for v in (frozen.access_key, frozen.secret_key, frozen.token) if v)


def classify(exc: BaseException, secrets: tuple[str, ...] = ()) -> tuple[ErrorReason, str]:
    """An exception from a call -> (reason, one line without secrets: the API's message may
    quote what it was sent; `secrets` are the scan's credentials, removed with everything else
    that looks like one)."""
    reason, message = _classify(exc)
    return reason, scrub(message, secrets)


def _classify(exc: BaseException) -> tuple[ErrorReason, str]:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error") or {}
        code = str(err.get("Code") or "")
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        message = " ".join(str(err.get("Message") or "").split())[:300]
        operation = getattr(exc, "operation_name", "") or ""
        if code.isdigit() or message.startswith("<"):
            message = f"HTTP {code or status} answering {operation}"
        text = f"{code}: {message}" if code and not code.isdigit() else message
        if code in _THROTTLED:
            return ErrorReason.THROTTLED, text
        if code in _UNAUTHENTICATED:
            return ErrorReason.UNAUTHENTICATED, text
        if code in _DENIED or status == 403:
            return ErrorReason.DENIED, text
        if code in _NOT_FOUND or status == 404:
            return ErrorReason.NOT_FOUND, text
        if code.startswith(("Validation", "InvalidParameter", "InvalidRequest")) or status == 400:
            return ErrorReason.INVALID, text
        return ErrorReason.UNREACHABLE, text
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError |
                  ConnectionClosedError):
        return ErrorReason.UNREACHABLE, " ".join(str(exc).split())[:300]
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | TokenRetrievalError):
        return ErrorReason.UNAUTHENTICATED, type(exc).__name__
    if isinstance(exc, ParamValidationError):
        return ErrorReason.BUG, " ".join(str(exc).split())[:300]
    if isinstance(exc, BotoCoreError):
        return ErrorReason.UNREACHABLE, " ".join(str(exc).split())[:300]
    if isinstance(exc, ValueError | KeyError | TypeError):
        return ErrorReason.INVALID, f"unexpected response: {type(exc).__name__}: {exc}"[:300]
    return ErrorReason.BUG, f"{type(exc).__name__}: {exc}"[:300]


# --- options ---------------------------------------------------------------------------


def _list_option(value: Any) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [p for item in items for p in re.split(r"[\s,]+", str(item)) if p]


def requested_regions(options: Mapping[str, Any]) -> list[str] | None:
    names = _list_option(options.get("regions") or os.environ.get("POSTURE_AWS_REGIONS"))
    if not names:
        return None
    out = []
    for name in names:
        found = catalogue.find_region("aws", name)
        if found is None:
            raise ProviderError(f"aws: --regions: {name!r} is not an AWS region")
        out.append(found.code)
    return sorted(set(out))


def partition_of(region: str) -> str:
    from providers.aws.normalize.common import partition

    return partition(region)


def _config(options: Mapping[str, Any], workers: int) -> Config:
    timeout = float(options.get("timeout") or 30.0)
    mode = str(options.get("aws_retry_mode") or os.environ.get("AWS_RETRY_MODE") or "standard")
    if mode not in ("standard", "adaptive"):
        mode = "standard"
    retries = options.get("max_retries")
    attempts = int(retries if retries is not None else 5) + 1
    return Config(
        retries={"mode": mode, "total_max_attempts": attempts},
        connect_timeout=timeout,
        read_timeout=timeout,
        max_pool_connections=max(10, workers * 2),
        user_agent_extra=f"posture/{__version__}",
    )


# --- the collector ---------------------------------------------------------------------


@dataclass
class Stats:
    """API calls made (IAM action -> count), for the benchmark and the tests."""

    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, action: str) -> None:
        with self.lock:
            self.calls[action] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


Task = tuple[str, Callable[[], list["Task"]]]


class AccountCollector:
    """One account: its clients, its section and the tasks that fill it."""

    def __init__(self, session: Any, account: str, regions: list[str], wanted: set[str],
                 options: Mapping[str, Any], config: Config, stats: Stats) -> None:
        self.session = session
        self.account = account
        self.regions = regions
        self.wanted = wanted
        self.options = options
        self.config = config
        self.stats = stats
        self.home = HOME_REGION[partition_of(regions[0] if regions else "us-east-1")]
        self.page_size = options.get("aws_page_size") or os.environ.get("POSTURE_AWS_PAGE_SIZE")
        self.section = Section(provider=PROVIDER, account=account, collected_at=now())
        self.secrets = credentials_of(session)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._client_lock = threading.Lock()
        self._results: dict[str, dict[str, list[tuple[str, Any]]]] = {}
        self._errors: dict[tuple[str, str, str, str, str | None], None] = {}
        self._removed: list[str] = []
        self._buckets: dict[str, str | None] = {}  # listed bucket -> BucketRegion
        self._located: dict[str, str] = {}  # bucket -> region GetBucketLocation answered
        self._trail_buckets: set[str] = set()  # the buckets the account's trails write to
        for name in wanted:
            api = BY_NAME[name]
            for region in ([GLOBAL] if api.scope == "global" else regions):
                self._results.setdefault(name, {})[region] = []

    # --- plumbing ----------------------------------------------------------------------

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._client_lock:  # a boto3 session is not thread-safe; stores go on meanwhile
            if key not in self._clients:
                self._clients[key] = self.session.client(service, region_name=region,
                                                         config=self.config)
            return self._clients[key]

    def call(self, name: str, region: str, **params: Any) -> dict[str, Any]:
        api = BY_NAME[name]
        self.stats.add(api.action)
        progress.report(self.options, PROVIDER, region, name)
        result: dict[str, Any] = getattr(self.client(api.service, region), api.method)(**params)
        return dict(jsonable(result))

    def pages(self, name: str, region: str, **params: Any) -> dict[str, Any]:
        """The whole answer of a paginated call (result keys merged over every page)."""
        api = BY_NAME[name]
        client = self.client(api.service, region)
        if not client.can_paginate(api.method):
            return self.call(name, region, **params)
        paginator = client.get_paginator(api.method)
        config = {"PageSize": int(self.page_size)} if self.page_size else {}
        merged: dict[str, Any] = {}
        keys = paginator.result_keys
        # botocore stops on a next token received twice in a row, not on a cycle (A, B,
        # A...) nor ever: a page answered before (its next token included) is a loop, and
        # the pages are capped like Azure's and Hetzner's (scanner.pages)
        guard = PageGuard(api.action, max_pages(self.options))
        for page in paginator.paginate(**params, PaginationConfig=config):
            guard.page(_page_digest(page))
            self.stats.add(api.action)
            progress.report(self.options, PROVIDER, region, name)
            for expr in keys:
                value = expr.search(page)
                if value is None:
                    continue
                dest = merged
                parts = expr.expression.split(".")
                for part in parts[:-1]:
                    dest = dest.setdefault(part, {})
                dest.setdefault(parts[-1], []).extend(value)
        return dict(jsonable(merged))

    def store(self, name: str, region: str, objects: Iterable[Any], order: str = "") -> None:
        """Keep `objects` redacted (secret tags, then `scanner.redact.redact`), in the
        calling task's thread: the redaction overlaps other tasks' waits on the network
        instead of running after the last answer."""
        removed: list[str] = []
        path = f"{name}[]"
        kept = [redact(_redact_tags(o, path, removed), path, removed) for o in objects]
        with self._lock:
            bucket = self._results.setdefault(name, {}).setdefault(region, [])
            bucket.extend((f"{order}/{i:08d}", obj) for i, obj in enumerate(kept))
            self._removed.extend(removed)

    def fail(self, name: str, region: str, exc: BaseException | None, message: str = "",
             reason: ErrorReason | None = None, resource: str | None = None) -> None:
        """Record a failed call; `resource`: the parent object a per-resource call was made
        for (its id as the API gave it: a bucket name, an instance id, an ARN)."""
        if exc is not None:
            reason, message = classify(exc, self.secrets)
        assert reason is not None
        log.warning("aws %s %s %s%s: %s (%s)", self.account, region, name,
                    f" [{resource}]" if resource else "", message, reason)
        with self._lock:
            self._errors[(name, region, str(reason), message, resource)] = None

    def fail_tree(self, name: str, region: str, exc: BaseException) -> None:
        """A list call failed: it and every per-resource call made from it are unknown."""
        reason, message = classify(exc, self.secrets)
        self.fail(name, region, None, message, reason)
        for child in APIS:
            if child.parent == name and child.name in self.wanted:
                self.fail_tree_named(child.name, region, reason, f"not read: {name} failed")

    def fail_tree_named(self, name: str, region: str, reason: ErrorReason, message: str,
                        resource: str | None = None) -> None:
        self.fail(name, region, None, message, reason, resource)
        for child in APIS:
            if child.parent == name and child.name in self.wanted:
                self.fail_tree_named(child.name, region, reason, message, resource)

    def per_resource(self, name: str, region: str, params: Mapping[str, Any], order: str,
                     store_region: str | None = None, parent: str | None = None
                     ) -> dict[str, Any] | None:
        """One call for one resource (`parent`, by default `order`), stored as an envelope;
        None when it failed (the failure names the parent)."""
        where = store_region or region
        try:
            response = self.call(name, region, **params)
        except Exception as exc:
            if isinstance(exc, ClientError) and error_code(exc) in ABSENT.get(name, ()):
                err = exc.response.get("Error") or {}
                self.store(name, where, [{"request": jsonable(dict(params)), "error": {
                    "Code": err.get("Code"), "Message": err.get("Message")}}], order)
                return {}
            self.fail(name, where, exc, resource=parent or order)
            return None
        self.store(name, where, [{"request": jsonable(dict(params)), "response": response}],
                   order)
        return response

    def want(self, name: str) -> bool:
        return name in self.wanted

    def finish(self) -> Section:
        s = self.section
        for name in sorted(self._results):
            for region in sorted(self._results[name]):
                entries = sorted(self._results[name][region], key=lambda e: e[0])
                s.add(name, region, [o for _, o in entries])
        for name, region, reason, message, resource in self._errors:
            s.fail(name, region, ErrorReason(reason), message, resource=resource)
        s.errors.sort(key=lambda e: (e["collection"], e["region"], e.get("resource") or "",
                                     e["message"]))
        s.redacted.extend(self._removed)
        s.locations = list(self.regions)
        return s

    # --- tasks -------------------------------------------------------------------------

    def tasks(self) -> list[Task]:
        out: list[Task] = []
        for api in APIS:
            if api.parent or api.name not in self.wanted or api.name == "ec2.describe_regions":
                continue
            if api.scope == "global":
                out.append((f"{self.account}/{api.name}", self._guard(api.name, GLOBAL)))
            else:
                out.extend((f"{self.account}/{region}/{api.name}",
                            self._guard(api.name, region)) for region in self.regions)
        return out

    def _guard(self, name: str, region: str) -> Callable[[], list[Task]]:
        def run() -> list[Task]:
            try:
                return self._root(name, region)
            except Exception as exc:
                self.fail_tree(name, region, exc)
                return []
        return run

    def _wrap(self, key: str, fn: Callable[[], Any]) -> Task:
        """`fn` as a task; what it returns is its follow-ups when a list of tasks."""
        def run() -> list[Task]:
            try:
                follow = fn()
                return follow if isinstance(follow, list) else []
            except Exception as exc:  # a bug in a per-resource task: recorded, never raised
                # an API error's text may quote secrets: its traceback is not logged
                log.debug("aws task %s failed: %s", key, classify(exc, self.secrets)[1],
                          exc_info=not isinstance(exc, ClientError | BotoCoreError))
                self.fail(key.split("|")[0], key.split("|")[1], exc)
                return []
        return (key, run)

    def _root(self, name: str, region: str) -> list[Task]:
        params: dict[str, Any] = {}
        if name == "ec2.describe_snapshots":
            params = {"OwnerIds": ["self"]}
        elif name == "acm.list_certificates":
            params = {"Includes": {"keyTypes": [
                "RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1",
                "EC_secp384r1", "EC_secp521r1"]}}
        elif name == "cloudtrail.describe_trails":
            params = {"includeShadowTrails": True}
        elif name == "ecs.list_task_definitions":
            params = {"status": "ACTIVE"}
        elif name == "bedrock.list_inference_profiles":
            params = {"typeEquals": "APPLICATION"}
        elif name == "iam.list_policies":
            params = {"Scope": "AWS", "OnlyAttached": True}
        elif name == "iam.get_account_authorization_details":
            params = {"Filter": ["User", "Group", "Role", "LocalManagedPolicy"]}
        call_region = self.home if region == GLOBAL else region
        answer = self.pages(name, call_region, **params)
        special = getattr(self, "_after_" + name.replace(".", "_"), None)
        if special is not None:
            result: list[Task] = special(region, answer)
            return result
        items = _items(answer)
        self.store(name, region, items)
        return []

    # --- per-resource follow-ups -------------------------------------------------------

    def _children(self, parent_region: str, jobs: Sequence[tuple[str, Callable[[], Any]]]
                  ) -> list[Task]:
        return [self._wrap(f"{key}|{parent_region}", fn) for key, fn in jobs]

    def _after_ec2_describe_instances(self, region: str, answer: dict[str, Any]) -> list[Task]:
        reservations = answer.get("Reservations", [])
        self.store("ec2.describe_instances", region, reservations)
        instances = [i for r in reservations for i in r.get("Instances", [])
                     if (i.get("State") or {}).get("Name") != "terminated"]
        jobs: list[tuple[str, Callable[[], Any]]] = []
        if self.want("ec2.describe_instance_attribute"):
            for inst in instances:
                jobs.append(("ec2.describe_instance_attribute",
                             partial(self._user_data, region, inst["InstanceId"])))
        if self.want("ec2.describe_images"):
            image_ids = sorted({i["ImageId"] for i in instances if i.get("ImageId")})
            for start in range(0, len(image_ids), 100):
                chunk = image_ids[start:start + 100]
                jobs.append(("ec2.describe_images", partial(self._images, region, chunk)))
        return self._children(region, jobs)

    def _images(self, region: str, chunk: list[str]) -> None:
        images = self.pages("ec2.describe_images", region, ImageIds=chunk,
                            IncludeDeprecated=True).get("Images", [])
        self.store("ec2.describe_images", region, images, chunk[0])

    def _user_data(self, region: str, instance_id: str) -> None:
        name = "ec2.describe_instance_attribute"
        params = {"InstanceId": instance_id, "Attribute": "userData"}
        try:
            response = self.call(name, region, **params)
        except Exception as exc:
            self.fail(name, region, exc, resource=instance_id)
            return
        value = (response.get("UserData") or {}).get("Value")
        secrets: list[str] = []
        envelope: dict[str, Any] = {"request": params, "response": response}
        if value:
            secrets, unscanned = user_data_findings(value, encoded=True)
            if unscanned is not None:  # a bomb, a cut stream: what was decoded is scanned
                envelope["unscanned"] = unscanned
            response["UserData"] = {"Value": REDACTED}
            self._removed.append(f"{name}[{instance_id}].UserData.Value")
        self.store(name, region, [{**envelope, "flagged": secrets}], instance_id)

    def _after_ec2_describe_managed_prefix_lists(self, region: str, answer: dict[str, Any]
                                                 ) -> list[Task]:
        lists = answer.get("PrefixLists", [])
        self.store("ec2.describe_managed_prefix_lists", region, lists)
        if not self.want("ec2.get_managed_prefix_list_entries"):
            return []
        return self._children(region, [
            ("ec2.get_managed_prefix_list_entries",
             partial(self._store_pages, "ec2.get_managed_prefix_list_entries", region,
                     {"PrefixListId": pl["PrefixListId"]}, pl["PrefixListId"]))
            for pl in lists if pl.get("PrefixListId")])

    def _store_pages(self, name: str, region: str, params: dict[str, Any], order: str,
                     store_region: str | None = None) -> dict[str, Any] | None:
        """A paginated call for one resource (`order` names it), stored as an envelope;
        None when it failed (the failure names the resource)."""
        try:
            response = self.pages(name, region, **params)
        except Exception as exc:
            self.fail(name, store_region or region, exc, resource=order)
            return None
        self.store(name, store_region or region, [{"request": params, "response": response}],
                   order)
        return response

    def _after_elbv2_describe_load_balancers(self, region: str, answer: dict[str, Any]
                                             ) -> list[Task]:
        lbs = answer.get("LoadBalancers", [])
        self.store("elbv2.describe_load_balancers", region, lbs)
        jobs: list[tuple[str, Callable[[], Any]]] = []
        for lb in lbs:
            arn = lb["LoadBalancerArn"]
            if self.want("elbv2.describe_listeners"):
                jobs.append(("elbv2.describe_listeners", partial(self._listeners, region, arn)))
            if self.want("wafv2.get_web_acl_for_resource") and lb.get("Type") == "application":
                jobs.append(("wafv2.get_web_acl_for_resource", partial(
                    self.per_resource, "wafv2.get_web_acl_for_resource", region,
                    {"ResourceArn": arn}, arn)))
        if self.want("elbv2.describe_tags"):
            arns = [lb["LoadBalancerArn"] for lb in lbs]
            for start in range(0, len(arns), 20):
                chunk = arns[start:start + 20]
                jobs.append(("elbv2.describe_tags", partial(
                    self.per_resource, "elbv2.describe_tags", region, {"ResourceArns": chunk},
                    chunk[0])))
        return self._children(region, jobs)

    def _listeners(self, region: str, lb_arn: str) -> None:
        answer = self._store_pages("elbv2.describe_listeners", region,
                                   {"LoadBalancerArn": lb_arn}, lb_arn)
        for child in ("elbv2.describe_rules", "elbv2.describe_listener_certificates"):
            if self.want(child) and answer is None:
                self.fail(child, region, None, "not read: elbv2.describe_listeners failed",
                          ErrorReason.DENIED, resource=lb_arn)
        if answer is None:
            return
        for li in answer.get("Listeners", []):
            if not li.get("ListenerArn"):
                continue
            if self.want("elbv2.describe_rules"):
                self._store_pages("elbv2.describe_rules", region,
                                  {"ListenerArn": li["ListenerArn"]}, li["ListenerArn"])
            # only HTTPS and TLS listeners have certificates (DescribeListenerCertificates:
            # "the specified HTTPS or TLS listener")
            if self.want("elbv2.describe_listener_certificates") and \
                    str(li.get("Protocol")).upper() in ("HTTPS", "TLS"):
                self._store_pages("elbv2.describe_listener_certificates", region,
                                  {"ListenerArn": li["ListenerArn"]}, li["ListenerArn"])

    def _after_elbv2_describe_target_groups(self, region: str, answer: dict[str, Any]
                                            ) -> list[Task]:
        groups = answer.get("TargetGroups", [])
        self.store("elbv2.describe_target_groups", region, groups)
        if not self.want("elbv2.describe_target_health"):
            return []
        return self._children(region, [
            ("elbv2.describe_target_health", partial(
                self.per_resource, "elbv2.describe_target_health", region,
                {"TargetGroupArn": g["TargetGroupArn"]}, g["TargetGroupArn"]))
            for g in groups])

    def _after_acm_list_certificates(self, region: str, answer: dict[str, Any]) -> list[Task]:
        certs = answer.get("CertificateSummaryList", [])
        self.store("acm.list_certificates", region, certs)
        if not self.want("acm.describe_certificate"):
            return []
        return self._children(region, [
            ("acm.describe_certificate", partial(
                self.per_resource, "acm.describe_certificate", region,
                {"CertificateArn": c["CertificateArn"]}, c["CertificateArn"]))
            for c in certs])

    def _after_kms_list_keys(self, region: str, answer: dict[str, Any]) -> list[Task]:
        keys = answer.get("Keys", [])
        self.store("kms.list_keys", region, keys)
        return self._children(region, [
            ("kms.describe_key", partial(self._kms_key, region, key["KeyId"]))
            for key in keys])

    def _kms_key(self, region: str, key_id: str) -> None:
        meta: dict[str, Any] | None = {}
        if self.want("kms.describe_key"):
            meta = self.per_resource("kms.describe_key", region, {"KeyId": key_id}, key_id)
        if not self.want("kms.get_key_rotation_status"):
            return
        if meta is None:
            self.fail("kms.get_key_rotation_status", region, None,
                      "not read: kms.describe_key failed", ErrorReason.DENIED, key_id)
            return
        km = (meta or {}).get("KeyMetadata") or {}
        if km and (km.get("KeyManager") != "CUSTOMER" or km.get("KeySpec", "SYMMETRIC_DEFAULT")
                   != "SYMMETRIC_DEFAULT" or km.get("Origin", "AWS_KMS") != "AWS_KMS"
                   or km.get("KeyState") == "PendingDeletion"):
            return  # rotation does not apply (AWS-managed, asymmetric, imported, deleted)
        self.per_resource("kms.get_key_rotation_status", region, {"KeyId": key_id}, key_id)

    def _after_cloudtrail_describe_trails(self, region: str, answer: dict[str, Any]
                                          ) -> list[Task]:
        trails = answer.get("trailList", [])
        with self._lock:  # as the API named them (what is stored is redacted)
            self._trail_buckets.update(str(t["S3BucketName"]) for t in trails
                                       if t.get("S3BucketName"))
        self.store("cloudtrail.describe_trails", region, trails)
        jobs = []
        for t in trails:
            home = t.get("HomeRegion") or region
            # Each trail's status and event selectors once: from its home region, or from
            # the first region scanned when its home region is not scanned (organization
            # trails). DescribeTrails with includeShadowTrails lists a multi-region trail in
            # every region (its shadow trails): it is read once, not once per region.
            if home == region or (home not in self.regions and region == self.regions[0]):
                arn = t.get("TrailARN") or t.get("Name")
                for name, key in (("cloudtrail.get_trail_status", "Name"),
                                  ("cloudtrail.get_event_selectors", "TrailName")):
                    if self.want(name):
                        jobs.append((name, partial(self.per_resource, name, region,
                                                   {key: arn}, arn)))
        return self._children(region, jobs)

    def _after_guardduty_list_detectors(self, region: str, answer: dict[str, Any]
                                        ) -> list[Task]:
        ids = answer.get("DetectorIds", [])
        self.store("guardduty.list_detectors", region, [{"DetectorId": d} for d in ids])
        if not self.want("guardduty.get_detector"):
            return []
        return self._children(region, [
            ("guardduty.get_detector", partial(
                self.per_resource, "guardduty.get_detector", region, {"DetectorId": d}, d))
            for d in ids])

    def _after_backup_list_backup_plans(self, region: str, answer: dict[str, Any]
                                        ) -> list[Task]:
        plans = answer.get("BackupPlansList", [])
        self.store("backup.list_backup_plans", region, plans)
        return self._children(region, [
            ("backup.get_backup_plan", partial(self._backup_plan, region,
                                               plan["BackupPlanId"])) for plan in plans])

    def _backup_plan(self, region: str, plan_id: str) -> None:
        if self.want("backup.get_backup_plan"):
            self.per_resource("backup.get_backup_plan", region, {"BackupPlanId": plan_id},
                              plan_id)
        if not self.want("backup.list_backup_selections"):
            return
        try:
            selections = self.pages("backup.list_backup_selections", region,
                                    BackupPlanId=plan_id).get("BackupSelectionsList", [])
        except Exception as exc:
            reason, message = classify(exc, self.secrets)
            self.fail_tree_named("backup.list_backup_selections", region, reason, message,
                                 plan_id)
            if self.want("backup.get_backup_selection"):
                self.fail("backup.get_backup_selection", region, None,
                          "not read: backup.list_backup_selections failed", reason, plan_id)
            return
        self.store("backup.list_backup_selections", region,
                   [{"request": {"BackupPlanId": plan_id},
                     "response": {"BackupSelectionsList": selections}}], plan_id)
        if self.want("backup.get_backup_selection"):
            for sel in selections:
                self.per_resource("backup.get_backup_selection", region,
                                  {"BackupPlanId": plan_id, "SelectionId": sel["SelectionId"]},
                                  f"{plan_id}/{sel['SelectionId']}")

    def _redact_environment(self, name: str, fn: dict[str, Any]) -> None:
        """A function configuration's environment values replaced by the marker, the names
        of the secret-looking ones in `PostureFlaggedFields`."""
        variables = ((fn.get("Environment") or {}).get("Variables")) or {}
        if variables:
            fn[FLAGGED] = [f"Environment.Variables.{k}" for k, v in variables.items()
                           if secret_value(k, str(v))]
            fn["Environment"]["Variables"] = {k: REDACTED for k in variables}
            which = fn.get("FunctionName") if name == "lambda.list_functions" else \
                f"{fn.get('FunctionName')}:{fn.get('Version')}"
            self._removed.append(f"{name}[{which}].Environment.Variables")

    def _after_dynamodb_list_tables(self, region: str, answer: dict[str, Any]) -> list[Task]:
        names = [str(n) for n in answer.get("TableNames", [])]
        self.store("dynamodb.list_tables", region, [{"TableName": n} for n in names])
        return self._children(region, [
            ("dynamodb.describe_table", partial(self._dynamodb_table, region, n))
            for n in names])

    def _after_dynamodb_list_global_tables(self, region: str, answer: dict[str, Any]
                                           ) -> list[Task]:
        """Every page: botocore has no paginator for ListGlobalTables, whose next page starts
        after `LastEvaluatedGlobalTableName` (DynamoDB API Reference)."""
        tables = list(answer.get("GlobalTables", []))
        guard = PageGuard("ListGlobalTables", max_pages(self.options))
        while last := answer.get("LastEvaluatedGlobalTableName"):
            # a token given twice (the same again, or a cycle): the pages after it are never
            # reached, the list is not complete
            guard.page(str(last)[:256])
            answer = self.call("dynamodb.list_global_tables", region,
                               ExclusiveStartGlobalTableName=last)
            tables.extend(answer.get("GlobalTables", []))
        self.store("dynamodb.list_global_tables", region, tables)
        return []

    def _dynamodb_table(self, region: str, table: str) -> None:
        """A table's description, point-in-time recovery and tags (each failure names the
        table). The tags are read by the table's ARN, which is the account's, region's and
        name's (DynamoDB API Reference, "TableArn"): no need to wait for DescribeTable."""
        for name in ("dynamodb.describe_table", "dynamodb.describe_continuous_backups"):
            if self.want(name):
                self.per_resource(name, region, {"TableName": table}, table)
        if self.want("dynamodb.list_tags_of_resource"):
            arn = f"arn:{partition_of(region)}:dynamodb:{region}:{self.account}:table/{table}"
            self._store_pages("dynamodb.list_tags_of_resource", region, {"ResourceArn": arn},
                              table)

    def _after_lambda_list_functions(self, region: str, answer: dict[str, Any]) -> list[Task]:
        functions = answer.get("Functions", [])
        for fn in functions:
            self._redact_environment("lambda.list_functions", fn)
        self.store("lambda.list_functions", region, functions)
        arns = [fn["FunctionArn"] for fn in functions if fn.get("FunctionArn")]
        jobs: list[tuple[str, Callable[[], Any]]] = []
        if self.want("lambda.list_tags"):
            jobs += [("lambda.list_tags", partial(
                self.per_resource, "lambda.list_tags", region, {"Resource": arn}, arn))
                for arn in arns]
        if self.want("lambda.list_versions_by_function"):
            jobs += [("lambda.list_versions_by_function", partial(
                self._versions, region, fn["FunctionName"], fn["FunctionArn"]))
                for fn in functions if fn.get("FunctionArn") and fn.get("FunctionName")]
        return self._children(region, jobs)

    def _versions(self, region: str, function: str, arn: str) -> None:
        """The published versions of a function (ListVersionsByFunction, every page): each
        keeps the environment it was published with, readable and invocable until it is
        deleted (Lambda Developer Guide, "Lambda function versions"). $LATEST is
        ListFunctions' own entry and is not stored twice."""
        name = "lambda.list_versions_by_function"
        try:
            answer = self.pages(name, region, FunctionName=function)
        except Exception as exc:
            self.fail(name, region, exc, resource=arn)
            return
        versions = [v for v in answer.get("Versions", [])
                    if isinstance(v, dict) and v.get("Version") != "$LATEST"]
        for version in versions:
            self._redact_environment(name, version)
        self.store(name, region, [{"request": {"FunctionName": function},
                                   "response": {"Versions": versions}}], arn)

    def _after_ecs_list_task_definitions(self, region: str, answer: dict[str, Any]
                                         ) -> list[Task]:
        arns = [a for a in answer.get("taskDefinitionArns", []) if isinstance(a, str)]
        self.store("ecs.list_task_definitions", region,
                   [{"taskDefinitionArn": arn} for arn in arns])
        if not self.want("ecs.describe_task_definition"):
            return []
        return self._children(region, [
            ("ecs.describe_task_definition", partial(self._task_definition, region, arn))
            for arn in arns])

    def _task_definition(self, region: str, arn: str) -> None:
        """One task definition, every container's `environment` value scanned and replaced
        by the marker; `secrets` (valueFrom: a Secrets Manager or SSM Parameter Store ARN)
        hold references, not values (ECS API Reference, ContainerDefinition)."""
        name = "ecs.describe_task_definition"
        params = {"taskDefinition": arn, "include": ["TAGS"]}
        try:
            response = self.call(name, region, **params)
        except Exception as exc:
            self.fail(name, region, exc, resource=arn)
            return
        task = response.get("taskDefinition")
        if isinstance(task, dict):
            flagged = scan_containers(task)
            if flagged is not None:
                task[FLAGGED] = flagged
                self._removed.append(f"{name}[{arn}].containerDefinitions[].environment")
        self.store(name, region, [{"request": params, "response": response}], arn)

    def _after_backup_describe_region_settings(self, region: str, answer: dict[str, Any]
                                               ) -> list[Task]:
        """One object per region: the opt-in and management maps as the API answers them."""
        self.store("backup.describe_region_settings", region, [answer])
        return []

    def _after_backup_list_backup_vaults(self, region: str, answer: dict[str, Any]
                                         ) -> list[Task]:
        vaults = answer.get("BackupVaultList", [])
        self.store("backup.list_backup_vaults", region, vaults)
        jobs: list[tuple[str, Callable[[], Any]]] = []
        if self.want("backup.list_tags"):
            jobs.extend(("backup.list_tags", partial(
                self.per_resource, "backup.list_tags", region,
                {"ResourceArn": v["BackupVaultArn"]}, v["BackupVaultArn"]))
                for v in vaults if v.get("BackupVaultArn"))
        if self.want("backup.list_recovery_points_by_backup_vault"):
            name = "backup.list_recovery_points_by_backup_vault"
            jobs.extend((name, partial(
                self._store_pages, name, region, {"BackupVaultName": v["BackupVaultName"]},
                str(v.get("BackupVaultArn") or v["BackupVaultName"])))
                for v in vaults if v.get("BackupVaultName"))
        return self._children(region, jobs)

    def _after_s3_list_buckets(self, region: str, answer: dict[str, Any]) -> list[Task]:
        buckets = answer.get("Buckets", [])
        self.store("s3.list_buckets", GLOBAL, buckets)
        with self._lock:
            self._buckets.update((str(b["Name"]), str(b.get("BucketRegion") or "") or None)
                                 for b in buckets if b.get("Name"))
        if not any(self.want(name) for name in ("s3.get_bucket_location", *PER_BUCKET)):
            return []
        return self._children(GLOBAL, [
            ("s3.get_bucket_location", partial(self._bucket, b["Name"])) for b in buckets])

    def _bucket(self, bucket: str) -> list[Task]:
        """A bucket's location, then its other calls as tasks of their own, in the lane of
        the bucket's region."""
        location: str | None = None
        if self.want("s3.get_bucket_location"):
            loc = self.per_resource("s3.get_bucket_location", self.home, {"Bucket": bucket},
                                    bucket, store_region=GLOBAL)
            if loc is not None:
                location = s3_region(loc.get("LocationConstraint"))
                with self._lock:
                    self._located[bucket] = location
        region = location or self.home
        where = location or GLOBAL
        return self._children(where, [
            (name, partial(self.per_resource, name, region, {"Bucket": bucket}, bucket,
                           store_region=where))
            for name in PER_BUCKET if self.want(name)])

    def trail_buckets(self) -> list[Task]:
        """The lifecycle of the buckets the account's trails write to, and only of those
        (how long a trail's logs are kept, LOG-02): run once every region's trails and the
        bucket list are read. A trail's bucket this account does not list (an
        organization's central log bucket) is not read: its retention stays unknown."""
        name = "s3.get_bucket_lifecycle_configuration"
        if not self.want(name) or self.session is None:
            return []
        with self._lock:
            buckets = dict(self._buckets)
            located = dict(self._located)
            wanted = sorted(self._trail_buckets & set(buckets))
        jobs: list[tuple[str, Callable[[], Any]]] = []
        for bucket in wanted:
            location = located.get(bucket)
            # the call goes to the bucket's region (botocore follows S3's redirect if not)
            region = location or buckets[bucket] or self.home
            jobs.append((name, partial(self.per_resource, name, region, {"Bucket": bucket},
                                       bucket, store_region=location or GLOBAL)))
        return self._children(GLOBAL, jobs)

    def _after_iam_get_account_authorization_details(self, region: str, answer: dict[str, Any]
                                                     ) -> list[Task]:
        self.store("iam.get_account_authorization_details", GLOBAL, [answer])
        jobs: list[tuple[str, Callable[[], Any]]] = []
        for user in answer.get("UserDetailList", []):
            name = user["UserName"]
            jobs.append(("iam.get_login_profile", partial(self._iam_user, name)))
        return self._children(GLOBAL, jobs)

    def _iam_user(self, user: str) -> None:
        home = self.home
        if self.want("iam.get_login_profile"):
            self.per_resource("iam.get_login_profile", home, {"UserName": user}, user, GLOBAL)
        if self.want("iam.list_mfa_devices"):
            self._store_pages("iam.list_mfa_devices", home, {"UserName": user}, user, GLOBAL)
        if not self.want("iam.list_access_keys"):
            return
        try:
            keys = self.pages("iam.list_access_keys", home, UserName=user)
        except Exception as exc:
            reason, message = classify(exc, self.secrets)
            self.fail("iam.list_access_keys", GLOBAL, None, message, reason, resource=user)
            if self.want("iam.get_access_key_last_used"):
                self.fail("iam.get_access_key_last_used", GLOBAL, None,
                          "not read: iam.list_access_keys failed", reason, resource=user)
            return
        self.store("iam.list_access_keys", GLOBAL,
                   [{"request": {"UserName": user}, "response": keys}], user)
        if self.want("iam.get_access_key_last_used"):
            # Stored in the order of the user's keys: key ids look like credentials to the
            # redactor, so the normalizer pairs them by position.
            for i, key in enumerate(keys.get("AccessKeyMetadata", [])):
                self.per_resource("iam.get_access_key_last_used", home,
                                  {"AccessKeyId": key["AccessKeyId"]}, f"{user}/{i:04d}",
                                  GLOBAL, parent=user)

    def _after_iam_list_policies(self, region: str, answer: dict[str, Any]) -> list[Task]:
        policies = answer.get("Policies", [])
        self.store("iam.list_policies", GLOBAL, policies)
        if not self.want("iam.get_policy_version"):
            return []
        return self._children(GLOBAL, [
            ("iam.get_policy_version",
             partial(self.per_resource, "iam.get_policy_version", self.home, {
                 "PolicyArn": p["Arn"], "VersionId": p["DefaultVersionId"]}, p["Arn"], GLOBAL))
            for p in policies if p.get("DefaultVersionId")])

    def _after_cloudfront_list_distributions(self, region: str, answer: dict[str, Any]
                                             ) -> list[Task]:
        items = ((answer.get("DistributionList") or {}).get("Items")) or []
        self.store("cloudfront.list_distributions", GLOBAL, items)
        if not self.want("wafv2.get_web_acl"):
            return []
        acls = sorted({str(d.get("WebACLId")) for d in items
                       if str(d.get("WebACLId") or "").startswith("arn:")})
        jobs: list[tuple[str, Callable[[], Any]]] = []
        for arn in acls:
            parts = arn.split("/")  # arn:...:global/webacl/NAME/ID
            if len(parts) >= 4:
                params = {"Name": parts[-2], "Id": parts[-1], "Scope": "CLOUDFRONT"}
                jobs.append(("wafv2.get_web_acl", partial(
                    self.per_resource, "wafv2.get_web_acl", "us-east-1", params, arn, GLOBAL)))
        return self._children(GLOBAL, jobs)


def s3_region(constraint: Any) -> str:
    """GetBucketLocation's LocationConstraint -> region (None: us-east-1; EU: eu-west-1)."""
    if not constraint:
        return "us-east-1"
    if constraint == "EU":
        return "eu-west-1"
    return str(constraint)


def _items(answer: Mapping[str, Any]) -> list[Any]:
    """The result list of a list call (the single key holding a list)."""
    lists = [v for v in answer.values() if isinstance(v, list)]
    if len(lists) == 1:
        return list(lists[0])
    return []


# --- sessions and accounts -------------------------------------------------------------


def base_session(options: Mapping[str, Any]) -> Any:
    profile = options.get("aws_profile") or None
    try:
        session = boto3.Session(profile_name=profile)
    except ProfileNotFound as exc:
        raise ProviderError(f"aws: --aws-profile: {exc}") from None
    try:
        credentials = session.get_credentials()
    except (BotoCoreError, ValueError) as exc:
        raise ProviderError(f"aws: cannot load credentials: {' '.join(str(exc).split())}"
                            ) from None
    if credentials is None:
        raise ProviderError(
            "aws: no credentials found (environment, AWS_PROFILE/--aws-profile, SSO, "
            "instance or task role); see docs/aws.md")
    return fast_timestamps(session)


def _caller_account(session: Any, region: str, config: Config, what: str) -> str:
    try:
        identity = session.client("sts", region_name=region, config=config).get_caller_identity()
    except ClientError as exc:
        code = error_code(exc)
        _, message = classify(exc, credentials_of(session))
        if code in _CREDENTIALS_REJECTED or code in _DENIED:
            raise ProviderError(f"aws: {what} were rejected ({message})") from None
        raise ProviderError(f"aws: cannot verify {what} ({message})") from None
    except (NoCredentialsError, PartialCredentialsError, TokenRetrievalError) as exc:
        raise ProviderError(f"aws: {what} unusable ({type(exc).__name__}: "
                            f"{scrub(' '.join(str(exc).split()))})") from None
    except (BotoCoreError, NoRegionError) as exc:
        text = scrub(" ".join(str(exc).split()), credentials_of(session))
        raise ProviderError(f"aws: cannot reach STS to verify {what} ({text})") from None
    return str(identity["Account"])


def _assume(session: Any, role_arn: str, region: str, config: Config) -> Any:
    sts = session.client("sts", region_name=region, config=config)
    response = sts.assume_role(RoleArn=role_arn, RoleSessionName="posture-scan",
                               DurationSeconds=3600)
    creds = response["Credentials"]
    return fast_timestamps(boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                                         aws_secret_access_key=creds["SecretAccessKey"],
                                         aws_session_token=creds["SessionToken"]))


def enabled_regions(session: Any, home: str, config: Config, stats: Stats
                    ) -> tuple[list[str] | None, list[dict[str, Any]], BaseException | None]:
    stats.add("ec2:DescribeRegions")
    try:
        answer = session.client("ec2", region_name=home, config=config).describe_regions()
    except Exception as exc:
        return None, [], exc
    objs = [dict(jsonable(r)) for r in answer.get("Regions", [])]
    names = sorted(r["RegionName"] for r in objs
                   if r.get("OptInStatus") in (None, "opt-in-not-required", "opted-in")
                   and partition_of(r["RegionName"]) == partition_of(home)
                   and catalogue.find_region("aws", r["RegionName"]) is not None)
    return names, objs, None


def _whole(value: Any, name: str) -> int | None:
    """A setting that counts (calls at once, a page size): a whole number >= 1, None when
    unset; anything else is one line, exit 2, before any call is made."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise ProviderError(f"{name} must be a whole number of at least 1, not {text[:40]!r}")
    return int(text)


def collect(options: Mapping[str, Any], only: Iterable[str] | None = None,
            stats: Stats | None = None) -> list[Section]:
    """Every account (the caller's, or each --role-arn's), every region, concurrently."""
    stats = stats if stats is not None else Stats()
    wanted = closure(set(only) if only is not None else {a.name for a in APIS})
    # calls at once per lane: $POSTURE_AWS_WORKERS (or the `aws_workers` option)
    workers = _whole(options.get("aws_workers") or os.environ.get("POSTURE_AWS_WORKERS"),
                     "POSTURE_AWS_WORKERS") or DEFAULT_WORKERS
    _whole(options.get("aws_page_size") or os.environ.get("POSTURE_AWS_PAGE_SIZE"),
           "POSTURE_AWS_PAGE_SIZE")  # checked before any call; read per account below
    config = _config(options, workers)
    regions = requested_regions(options)
    home = HOME_REGION[partition_of(regions[0] if regions else os.environ.get(
        "AWS_DEFAULT_REGION") or "us-east-1")]
    session = base_session(options)
    caller = _caller_account(session, home, config, "the AWS credentials")
    roles = _list_option(options.get("role_arn") or os.environ.get("POSTURE_AWS_ROLE_ARNS"))
    accounts: list[tuple[str, Any, BaseException | None]] = []
    if not roles:
        accounts.append((caller, session, None))
    for arn in roles:
        m = ROLE_ARN.match(arn)
        if not m:
            raise ProviderError(f"aws: --role-arn: {arn!r} is not an IAM role ARN "
                                "(arn:aws:iam::123456789012:role/NAME)")
        try:
            accounts.append((m.group(2), _assume(session, arn, home, config), None))
        except Exception as exc:  # this account cannot be read at all: an error, not a stop
            accounts.append((m.group(2), None, exc))
    collectors: list[AccountCollector] = []
    tasks: list[Task] = []
    for account, acct_session, problem in accounts:
        acct_regions = regions
        region_objs: list[dict[str, Any]] = []
        region_exc: BaseException | None = None
        if acct_session is not None and (regions is None or "ec2.describe_regions" in wanted):
            found, region_objs, region_exc = enabled_regions(acct_session, home, config, stats)
            if regions is None:
                acct_regions = found
        collector = AccountCollector(acct_session, account, acct_regions or [], wanted,
                                     options, config, stats)
        collectors.append(collector)
        if problem is not None:
            reason, message = classify(problem, credentials_of(session))
            for name in sorted(wanted):
                collector.fail(name, GLOBAL, None, f"cannot assume role: {message}", reason)
            continue
        if region_exc is not None:
            if acct_regions is None:  # no region list: every regional read is unknown
                reason, message = classify(region_exc, collector.secrets)
                for name in sorted(wanted):
                    collector.fail(name, GLOBAL, None,
                                   f"regions unknown (ec2.describe_regions: {message})", reason)
                collector.regions = []
                continue
            collector.fail("ec2.describe_regions", GLOBAL, region_exc)
        elif "ec2.describe_regions" in wanted:
            collector.store("ec2.describe_regions", GLOBAL, region_objs)
        tasks.extend(collector.tasks())
    # lanes of `workers` each, and all lanes together at most LANE_TOTAL x `workers` calls
    # (so many regions scanned at once do not open hundreds of connections)
    total = workers * LANE_TOTAL
    run_tasks(tasks, workers, task_lane, total)
    # what needs answers from several regions first: the lifecycle of trail buckets
    run_tasks([t for c in collectors for t in c.trail_buckets()], workers, task_lane, total)
    return [c.finish() for c in collectors]


def task_lane(key: str) -> str:
    """The service and region a task's calls go to ("ec2/eu-west-1", "iam/global"), from
    its key: `ACCOUNT/REGION/service.method` or `ACCOUNT/service.method` (a list call),
    `service.method|REGION` (a per-resource follow-up). AWS throttles each service per
    account and region (EC2: https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html),
    so each lane gets its own bound."""
    name, sep, region = key.partition("|")
    if not sep:
        parts = key.split("/")
        name, region = parts[-1], (parts[1] if len(parts) >= 3 else GLOBAL)
    return f"{name.split('.')[0]}/{region}"


def run_tasks(tasks: list[Task], workers: int,
              lane: Callable[[str], str] = lambda key: "", total: int | None = None) -> None:
    """Run tasks on bounded pools, one per lane (`lane(key)`; by default one pool for
    all), each of `workers` threads, and at most `total` tasks at once over all lanes
    (None: no bound beyond the lanes'); a task may return follow-up tasks, which are queued
    as soon as it returns. Waits until every task and follow-up is done; a task that raises
    (they record their failures and never should) is re-raised here, after the rest ran.
    Each completion costs O(1): waiting on every pending future at once
    (`concurrent.futures.wait`) cost O(pending) per completion, a tenth of the collector's
    CPU at 4,000 resources."""
    if not tasks:
        return
    lock = threading.Lock()
    finished = threading.Event()
    outstanding = 0
    raised: list[BaseException] = []
    pools: dict[str, ThreadPoolExecutor] = {}
    permits = threading.BoundedSemaphore(total) if total else None

    def submit(key: str, fn: Callable[[], list[Task]]) -> None:
        nonlocal outstanding
        name = lane(key)
        with lock:
            outstanding += 1
            pool = pools.get(name)
            if pool is None:
                pool = pools[name] = ThreadPoolExecutor(
                    max_workers=max(1, workers), thread_name_prefix="posture-aws")
        pool.submit(run, fn)

    def run(fn: Callable[[], list[Task]]) -> None:
        nonlocal outstanding
        try:
            if permits is not None:
                with permits:
                    follows = fn()
            else:
                follows = fn()
            for key, follow in follows:
                submit(key, follow)  # counted before this task is: never zero in between
        except BaseException as exc:
            raised.append(exc)
        finally:
            with lock:
                outstanding -= 1
                if outstanding == 0:
                    finished.set()

    try:
        for key, fn in tasks:
            submit(key, fn)
        finished.wait()
    finally:
        for pool in list(pools.values()):
            pool.shutdown()
    if raised:
        raise raised[0]
