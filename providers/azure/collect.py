"""Collect Azure subscriptions with the azure-mgmt-* clients, read-only.

Raw objects are kept as ARM REST JSON, exactly the bodies Resource Manager returned: every
call goes through the typed azure-mgmt operation (its URL, api-version, authentication,
azure-core retry policy and `nextLink` pagination), and a per-call `raw_response_hook` keeps
the JSON of each successful page instead of the SDK's models (which would drop fields the
pinned SDK version does not know). A snapshot can therefore be written by hand from
Microsoft's published ARM examples and replays through the same normalizer.

Read-only is enforced, not just intended: every client carries `ReadOnlyGuard`, a pipeline
policy that refuses any method but GET before it reaches the network (azure-mgmt-core would
otherwise POST `.../providers/<namespace>/register` when a namespace is not registered).
The one exception is the Resource Graph client of the fast path (`--azure-resource-graph`,
graph.py): its guard also lets through a POST to exactly
`{endpoint}/providers/Microsoft.ResourceGraph/resources?api-version=...`, a query that reads.

Failed calls are recorded with their scope (collection = ARM type, region = the parent's
location or "global"), never raised; only a missing or rejected credential stops the scan
(ProviderError, exit 2).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, RetryPolicy
from azure.core.rest import HttpRequest

from providers.azure import graph, plan
from providers.azure.apis import (
    BY_NAME,
    SCALE_SET_USER_DATA,
    SCALE_SETS,
    SECRET_MARK,
    SPECS,
    SUBSCRIPTIONS,
    UNSCANNED_MARK,
    USER_DATA,
    Spec,
    secret_in,
)
from scanner import __version__, progress
from scanner.model import ErrorReason
from scanner.pages import PageGuard, PaginationError, max_pages
from scanner.provider import ProviderError, ProviderUnreachable
from scanner.redact import REDACTED, looks_secret, redact, scrub, secret_pair
from scanner.snapshot import GLOBAL, Section, now

log = logging.getLogger("posture.azure")

# Sovereign clouds: Resource Manager endpoint and Entra ID authority host.
CLOUDS: dict[str, tuple[str, str]] = {
    "public": ("https://management.azure.com", "login.microsoftonline.com"),
    "china": ("https://management.chinacloudapi.cn", "login.chinacloudapi.cn"),
    "usgovernment": ("https://management.usgovcloudapi.net", "login.microsoftonline.us"),
}


class ReadOnlyViolation(AzureError):
    """A request other than GET was about to be sent: refused."""


class ReadOnlyGuard(HTTPPolicy):  # type: ignore[type-arg]
    """Refuse every method but GET (the scanner must never change an estate). The Resource
    Graph client's guard also lets through exactly one POST that reads: a query to
    `{endpoint}/providers/Microsoft.ResourceGraph/resources?api-version=...` (graph.py)."""

    def __init__(self, graph_endpoint: str | None = None) -> None:
        super().__init__()
        self.graph_endpoint = graph_endpoint

    def send(self, request: PipelineRequest) -> PipelineResponse:  # type: ignore[type-arg]
        method = request.http_request.method.upper()
        if method == "POST" and self.graph_endpoint is not None and graph.is_query_url(
                request.http_request.url, self.graph_endpoint):
            return self.next.send(request)
        if method != "GET":
            raise ReadOnlyViolation(
                f"posture is read-only: refused {method} {request.http_request.url.split('?')[0]}"
            )
        return self.next.send(request)


class StaticTokenCredential:
    """A bearer token obtained elsewhere (POSTURE_AZURE_ACCESS_TOKEN, e.g. from
    `az account get-access-token` or a CI's federated login)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, 2**31 - 1)




# SDK client classes by key: (module, class). Each is imported the first time a collection
# needs it (a snapshot replay needs none; `--checks RES-01` only the resources client):
# importing all fourteen azure-mgmt packages costs seconds.
CLIENT_CLASSES: dict[str, tuple[str, str]] = {
    "resource": ("azure.mgmt.resource.resources", "ResourceManagementClient"),
    "raw": ("azure.mgmt.resource.resources", "ResourceManagementClient"),  # its pipeline, for
    # the two calls no SDK covers
    "network": ("azure.mgmt.network", "NetworkManagementClient"),
    "compute": ("azure.mgmt.compute", "ComputeManagementClient"),
    "storage": ("azure.mgmt.storage", "StorageManagementClient"),
    "sql": ("azure.mgmt.sql", "SqlManagementClient"),
    "postgresql": ("azure.mgmt.postgresqlflexibleservers", "PostgreSQLManagementClient"),
    "mysql": ("azure.mgmt.mysqlflexibleservers", "MySQLManagementClient"),
    "keyvault": ("azure.mgmt.keyvault", "KeyVaultManagementClient"),
    "recoveryservices": ("azure.mgmt.recoveryservices", "RecoveryServicesClient"),
    "backup": ("azure.mgmt.recoveryservicesbackup", "RecoveryServicesBackupClient"),
    "security": ("azure.mgmt.security", "SecurityCenter"),
    "authorization": ("azure.mgmt.authorization", "AuthorizationManagementClient"),
    "cognitive": ("azure.mgmt.cognitiveservices", "CognitiveServicesManagementClient"),
    "web": ("azure.mgmt.web", "WebSiteManagementClient"),
}


# One import of an SDK package at a time: worker threads importing the same azure-mgmt
# package at once can see it half initialised (an AttributeError on the client or its models;
# seen under load as "Microsoft.KeyVault/vaults/keys: AttributeError (bug)").
_IMPORTING = threading.Lock()


def client_class(key: str) -> Callable[..., Any]:
    """The SDK client class for a key of CLIENT_CLASSES, imported on first use (whole, before
    any other thread uses it)."""
    module, name = CLIENT_CLASSES[key]
    with _IMPORTING:
        cls: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return cls


def endpoint_of(options: Mapping[str, Any]) -> tuple[str, str, str]:
    """(ARM endpoint, token scope, authority host) for the options."""
    cloud = str(options.get("azure_cloud") or "public").lower()
    if cloud not in CLOUDS:
        raise ProviderError(f"azure: unknown cloud {cloud!r} (public, china, usgovernment)")
    default, authority = CLOUDS[cloud]
    custom = options.get("azure_arm_endpoint") or os.environ.get("POSTURE_AZURE_ARM_ENDPOINT")
    endpoint = str(custom or default).rstrip("/")
    if not endpoint.startswith("https://"):
        raise ProviderError(f"azure: the Resource Manager endpoint must be https:// ({endpoint})")
    return endpoint, default + "/.default", authority


def credential_of(options: Mapping[str, Any], authority: str) -> TokenCredential:
    if options.get("azure_credential") is not None:  # library use
        cred: TokenCredential = options["azure_credential"]
        return cred
    token = os.environ.get("POSTURE_AZURE_ACCESS_TOKEN", "").strip()
    if token:
        return StaticTokenCredential(token)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=authority)


MAX_WAIT_SECONDS = 60.0  # the longest wait before one retry, whatever Retry-After says


class CappedRetryPolicy(RetryPolicy[Any, Any]):
    """azure-core's retry policy, which waits what an answer's Retry-After (or retry-after-ms,
    x-ms-retry-after-ms) asks, and otherwise backs off exponentially: here no wait taken from
    an answer is longer than MAX_WAIT_SECONDS (azure-core would wait an hour if asked)."""

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        asked = super().get_retry_after(response)
        return None if asked is None else min(float(asked), MAX_WAIT_SECONDS)

    def increment(self, settings: dict[str, Any], response: Any = None,
                  error: Exception | None = None) -> bool:
        """No retry of a connection that could not be made at all (refused, no such host):
        retries are for what can recover (429, 5xx, timeouts)."""
        if error is not None and unreachable(error):
            super().increment(settings, response, error)
            return False
        return bool(super().increment(settings, response, error))


_HHMMSS = re.compile(r"(\d{1,4}):(\d{1,2}):(\d{1,2}(?:\.\d{1,7})?)")


class GraphRetryPolicy(CappedRetryPolicy):
    """The retry policy of Resource Graph queries: a query is a POST that reads, so it is
    retried as a GET is (azure-core retries a POST only on 500/503/504 or with Retry-After),
    and a 429 without Retry-After waits what Resource Graph's `x-ms-user-quota-resets-after`
    (hh:mm:ss) says: https://learn.microsoft.com/azure/governance/resource-graph/concepts/
    guidance-for-throttled-requests#understand-throttling-headers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._method_whitelist = self._method_whitelist | {"POST"}

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        asked = super().get_retry_after(response)
        if asked is not None:
            return asked
        quota = response.http_response.headers.get("x-ms-user-quota-resets-after") or ""
        match = _HHMMSS.fullmatch(quota.strip())
        if match is None:
            return None
        hours, minutes, seconds = (float(g) for g in match.groups())
        seconds += hours * 3600 + minutes * 60
        return float(min(seconds, MAX_WAIT_SECONDS))


def unreachable(exc: BaseException) -> str | None:
    """"connection refused" or "no such host" when `exc` (an azure-core error, whatever
    transport raised it) is a connection that could not be made at all, else None."""
    if isinstance(exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return None
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:  # azure-core -> requests -> urllib3
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "NameResolutionError":
            return "no such host"
        nested = getattr(cause, "inner_exception", None) or getattr(cause, "reason", None)
        cause = nested if isinstance(nested, BaseException) else (
            cause.__cause__ or cause.__context__ or (
                cause.args[0] if cause.args and isinstance(cause.args[0], BaseException)
                else None))
    return None


_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def subscriptions_of(options: Mapping[str, Any]) -> list[str]:
    """The --subscription ids, each checked to be a subscription id (a GUID) before any
    credential is asked or client built."""
    ids = [str(sid).strip() for sid in options.get("subscription") or ()]
    for sid in ids:
        if not _GUID.fullmatch(sid):
            raise ProviderError(f"azure: --subscription {sid!r} is not a subscription id (a "
                                "GUID such as 00000000-0000-0000-0000-000000000000)")
    return ids


class FirstTokenCredential:
    """The scan's credential, asked for a Resource Manager token once before any SDK client
    is imported or built: with no credential source configured, azure-identity's chain
    answers within a second and the scan stops there (ProviderError), not after seconds of
    client set-up. The pipelines' first requests reuse that token while it is fresh."""

    def __init__(self, credential: TokenCredential, scope: str) -> None:
        self.credential = credential
        self.scope = scope
        try:
            self.first: AccessToken | None = credential.get_token(scope)
        except ClientAuthenticationError as exc:
            raise ProviderError(f"azure: no usable credential ({_auth_hint(exc)})") from None
        except AzureError as exc:
            why = unreachable(exc) or classify(exc)[1]
            raise ProviderUnreachable(f"azure: cannot get a token ({why})") from None

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        first = self.first
        if (first is not None and scopes == (self.scope,) and not kwargs.get("claims")
                and first.expires_on - 300 > time.time()):
            return first
        self.first = None
        return self.credential.get_token(*scopes, **kwargs)


def _client_kwargs(options: Mapping[str, Any], endpoint: str, scope: str) -> dict[str, Any]:
    timeout = float(options.get("timeout", 30.0))
    retries = {"retry_total": int(options.get("max_retries", 5)),
               "retry_backoff_factor": float(options.get("retry_base_seconds", 1.0)),
               "retry_backoff_max": MAX_WAIT_SECONDS}
    return {
        "base_url": endpoint,
        "credential_scopes": [scope],
        "retry_policy": CappedRetryPolicy(**retries),
        **retries,
        "connection_timeout": timeout,
        "read_timeout": timeout,
        "user_agent": f"posture/{__version__}",
    }


# --- errors ---------------------------------------------------------------------------------


def classify(exc: BaseException) -> tuple[ErrorReason, str]:
    """An exception from a call -> (reason, one-line message without secrets)."""
    if isinstance(exc, ReadOnlyViolation):
        return ErrorReason.NOT_FOUND, (
            "the resource provider namespace is not registered in this subscription "
            f"(posture does not register it: {exc.message})")
    if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
        return ErrorReason.UNAUTHENTICATED, _one_line(exc.message)
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        code = _error_code(exc)
        text = _one_line(f"{code or status}: {_error_message(exc)}")
        if status == 401:
            return ErrorReason.UNAUTHENTICATED, text
        if status == 403 or code in ("AuthorizationFailed", "LinkedAuthorizationFailed"):
            return ErrorReason.DENIED, text
        if status == 429:
            return ErrorReason.THROTTLED, text
        if code in ("MissingSubscriptionRegistration", "SubscriptionNotRegistered"):
            return ErrorReason.NOT_FOUND, text
        if status == 404:
            return ErrorReason.NOT_FOUND, text
        if status == 409 and code in ("SubscriptionNotFound", "ReadOnlyDisabledSubscription",
                                      "DisabledSubscription"):
            return ErrorReason.DENIED, text
        if status >= 500:
            return ErrorReason.UNREACHABLE, text
        return ErrorReason.INVALID, text
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return ErrorReason.UNREACHABLE, "connection failed"
    if isinstance(exc, AzureError):
        return ErrorReason.UNREACHABLE, _one_line(f"{type(exc).__name__}: {exc.message}")
    if isinstance(exc, PaginationError | graph.GraphIncomplete):
        return ErrorReason.INVALID, _one_line(str(exc))
    if isinstance(exc, (ValueError, KeyError, TypeError)):
        return ErrorReason.INVALID, f"unexpected response: {type(exc).__name__}"
    return ErrorReason.BUG, type(exc).__name__


def _error_code(exc: HttpResponseError) -> str:
    if exc.error is not None and exc.error.code:
        return str(exc.error.code)
    body = _json_of(exc.response)
    err = body.get("error") if isinstance(body, dict) else None
    return str(err.get("code", "")) if isinstance(err, dict) else ""


def _error_message(exc: HttpResponseError) -> str:
    if exc.error is not None and exc.error.message:
        return str(exc.error.message)
    body = _json_of(exc.response)
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])
    return str(exc.reason or "")


def _json_of(response: Any) -> Any:
    try:
        return response.json() if response is not None else None
    except Exception:
        return None


def _one_line(text: str, limit: int = 300) -> str:
    """One line of an error message, without secrets: ARM messages may quote what they were
    sent, or the token they rejected (scrubbed before it is cut, so no part of it is left)."""
    line = scrub(" ".join(str(text).split()), _credentials())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _credentials() -> tuple[str, ...]:
    """The credentials this scan holds that an error message could echo."""
    token = os.environ.get("POSTURE_AZURE_ACCESS_TOKEN", "").strip()
    return (token,) if token else ()


# --- calls ----------------------------------------------------------------------------------


class _Pages:
    """A raw_response_hook that keeps the JSON body of every successful response, and stops
    a `nextLink` chain that repeats a link or exceeds the page cap (scanner.pages: the SDK's
    pager follows `nextLink` for as long as the server sends one)."""

    def __init__(self, what: str = "ARM list", limit: int | None = None) -> None:
        self.bodies: list[Any] = []
        self.guard = PageGuard(what, limit or max_pages({}))

    def __call__(self, response: PipelineResponse) -> None:  # type: ignore[type-arg]
        http = response.http_response
        if 200 <= http.status_code < 300:
            body = json.loads(http.text() or "null")
            self.bodies.append(body)
            link = body.get("nextLink") if isinstance(body, dict) else None
            if link:
                self.guard.page(str(link))


def run_call(spec: Spec, client: Any, parent: Mapping[str, Any], sub: str) -> list[dict[str, Any]]:
    """Call one operation and return the raw ARM objects it answered."""
    if spec.client == "raw":
        method, path = spec.call(client, parent, sub)
        out: list[dict[str, Any]] = []
        url: str | None = path
        guard = PageGuard(f"{method} {path}", max_pages({}))
        while url:
            guard.page(url)  # a nextLink already followed, or past the cap: stop
            response = client.send_request(HttpRequest(method, url))
            response.raise_for_status()
            body = response.json()
            out.extend(body.get("value") or [])
            url = body.get("nextLink")
        return out
    pages = _Pages()
    op = _bind(spec, client, parent, sub)
    result = op(raw_response_hook=pages)
    if spec.paged and result is not None and not isinstance(result, (dict, list)):
        try:
            for _ in result:
                pass
        except TypeError:
            pass
    objects: dict[str, dict[str, Any]] = {}  # by id: a later body of an object replaces it
    for body in pages.bodies:
        if isinstance(body, dict) and isinstance(body.get("value"), list):
            found = [o for o in body["value"] if isinstance(o, dict)]
        else:
            found = [body] if isinstance(body, dict) and body else []
        for obj in found:
            key = str(obj["id"]).lower() if obj.get("id") else f"#{len(objects)}"
            objects.pop(key, None)
            objects[key] = obj
    return list(objects.values())


def _bind(spec: Spec, client: Any, parent: Mapping[str, Any], sub: str) -> Callable[..., Any]:
    """The SDK call of a spec with its positional arguments, taking extra keywords."""

    class _Proxy:
        def __init__(self, target: Any, hook: dict[str, Any]) -> None:
            self._t, self._h = target, hook

        def __getattr__(self, name: str) -> Any:
            attr = getattr(self._t, name)
            if callable(attr):
                return lambda *a, **k: attr(*a, **{**k, **self._h})
            return _Proxy(attr, self._h)

    def call(**kwargs: Any) -> Any:
        return spec.call(_Proxy(client, kwargs), parent, sub)

    return call


# --- the collection -------------------------------------------------------------------------


def _region(obj: Mapping[str, Any], fallback: str = GLOBAL) -> str:
    loc = obj.get("location")
    return "".join(str(loc).lower().split()) if loc else fallback


# ARM fields whose names look secret but hold references or flags, never secrets.
SAFE_FIELDS = frozenset({
    "keyvaultsecretid", "authorizationsource", "secretid", "secreturi", "keyvaulturi",
    "disablelocalauth", "authenticationtype", "enablerbacauthorization", "secrets",
    "passwordauthentication", "tokenendpoint", "authority", "authconfig",
    "clientcertenabled", "allowsharedkeyaccess", "keycreationtime", "keypolicy",
    "activedirectoryauth", "azureadonlyauthentication", "administratorlogin",
    "aadauthenticationfailed", "isauthenticated", "passwordauth",
})


# VM fields _scrub_vm replaces by a marker before redaction (their names say "secret" to
# scanner.redact, which would otherwise replace the marker too)
MARKED_FIELDS = frozenset({"customdata", "userdata"})


def redact_arm(obj: Any, path: str, removed: list[str]) -> Any:
    """scanner.redact.redact, minus the ARM fields in SAFE_FIELDS (references and flags whose
    names merely contain "secret", "auth" or "key"); values that look like credentials are
    still replaced wherever they are."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        pair = secret_pair(obj)
        for key, value in obj.items():
            if isinstance(key, str) and looks_secret(key):  # a key that is itself a secret
                key = f"{REDACTED}#{len(out)}"
                out[key] = REDACTED
                removed.append(f"{path}.{key}")
            elif pair and key == pair[1] and isinstance(value, str) and value:
                # an app setting named like a secret: a Key Vault reference is where it
                # belongs; any other value is a plaintext secret (the normalizer flags it)
                if value.strip().lower().startswith("@microsoft.keyvault("):
                    out[key] = value
                else:
                    out[key] = SECRET_MARK
                    name = REDACTED if looks_secret(pair[0]) else pair[0]
                    removed.append(f"{path}[{name}]")
            elif str(key).lower() in SAFE_FIELDS and not (isinstance(value, str)
                                                          and looks_secret(value)):
                out[key] = value
            elif str(key).lower() in MARKED_FIELDS and value in (SECRET_MARK, REDACTED,
                                                                 UNSCANNED_MARK):
                # _scrub_vm's marker, no value: kept, or SEC-01 would lose what it found
                out[key] = value
                removed.append(f"{path}.{key}")
            elif isinstance(value, (dict, list)):
                out[key] = redact_arm(value, f"{path}.{key}", removed)
            else:
                out[key] = redact({key: value}, path, removed)[key]
        return out
    if isinstance(obj, list):
        return [redact_arm(v, f"{path}[]", removed) for v in obj]
    return redact(obj, path, removed)


def _scrub_vm(vm: dict[str, Any]) -> None:
    """Replace VM customData/userData by a marker that says only whether they held
    something secret-looking (the normalizer's `plaintext_secrets`)."""
    props = vm.get("properties") or {}
    profile = props.get("virtualMachineProfile")  # a scale set's model
    holders = [(props.get("osProfile") or {}, "customData"), (props, "userData")]
    if isinstance(profile, dict):
        holders += [(profile.get("osProfile") or {}, "customData"), (profile, "userData")]
    for holder, key in holders:
        if not isinstance(holder, dict):
            continue
        value = holder.get(key)
        if isinstance(value, str) and value and value not in (REDACTED, SECRET_MARK,
                                                              UNSCANNED_MARK):
            found = secret_in(value)
            holder[key] = (SECRET_MARK if found else REDACTED if found is False
                           else UNSCANNED_MARK)


def _user_data_only(vm: Mapping[str, Any], scale_set: bool = False) -> dict[str, Any]:
    """What is kept of a VM's (scale set's) GET with `$expand=userData`: its identity and the
    marker of its userData (`properties.userData`; a scale set's in
    `properties.virtualMachineProfile`); the rest is the list's, the value is never kept."""
    props = vm.get("properties")
    if scale_set and isinstance(props, Mapping):
        props = props.get("virtualMachineProfile")
    value = props.get("userData") if isinstance(props, Mapping) else None
    kept: dict[str, Any] = {"userData": value} if value is not None else {}
    if isinstance(value, str):
        _scrub_vm({"properties": kept})
    elif value is not None:  # not a string: nothing of it is kept, and it is not judged
        kept["userData"] = REDACTED
    return {**{k: vm[k] for k in ("id", "name", "type") if k in vm},
            "properties": {"virtualMachineProfile": kept} if scale_set else kept}


class _Collector:
    def __init__(self, options: Mapping[str, Any], wanted: set[str],
                 from_list: set[str] | None = None) -> None:
        self.options = options
        self.endpoint, self.scope, authority = endpoint_of(options)
        subscriptions_of(options)
        try:
            graph.wanted_mode(options)
        except ValueError as exc:
            raise ProviderError(f"azure: {exc}") from None
        self.credential: TokenCredential = FirstTokenCredential(
            credential_of(options, authority), self.scope)
        self.kwargs = _client_kwargs(options, self.endpoint, self.scope)
        self.wanted = wanted
        # parents read only for their children that the resource list names: the children
        # are read for the list's objects of that type instead (providers/azure/plan.py)
        self.from_list = from_list or set()
        self.lock = threading.Lock()
        self._clients: dict[tuple[str, str, int], Any] = {}

    def client(self, key: str, sub: str) -> Any:
        """One SDK client per (client, subscription, worker thread): the clients' pipelines
        and transports are not shared between threads."""
        ident = (key, sub, threading.get_ident())
        cls = client_class(key)  # outside self.lock: a first import takes a while
        with self.lock:
            if ident not in self._clients:
                self._clients[ident] = cls(self.credential, sub, **self.kwargs,
                                           per_retry_policies=[ReadOnlyGuard()])
            return self._clients[ident]

    def subscriptions(self) -> list[dict[str, Any]]:
        from azure.mgmt.resource.subscriptions import SubscriptionClient

        client = SubscriptionClient(self.credential, **self.kwargs,
                                    per_retry_policies=[ReadOnlyGuard()])
        explicit = list(self.options.get("subscription") or ())
        try:
            if explicit:
                found = []
                for sid in explicit:
                    try:
                        found.extend(run_call(Spec(SUBSCRIPTIONS, "", lambda c, p, s: c.
                                                   subscriptions.get(s), paged=False),
                                              client, {}, sid))
                    except HttpResponseError as exc:
                        reason, message = classify(exc)
                        if reason is ErrorReason.UNAUTHENTICATED:
                            raise
                        found.append({"subscriptionId": sid, "state": "Unavailable",
                                      "posture:error": [str(reason), message]})
                return found
            subs = run_call(Spec(SUBSCRIPTIONS, "", lambda c, p, s: c.subscriptions.list()),
                            client, {}, "")
        except ClientAuthenticationError as exc:
            if exc.status_code is None:
                raise ProviderError(f"azure: no usable credential ({_auth_hint(exc)})") from None
            raise ProviderError("azure: Resource Manager rejected the token "
                                f"({classify(exc)[1]})") from None
        except HttpResponseError as exc:
            reason, message = classify(exc)
            if reason is ErrorReason.UNAUTHENTICATED:
                raise ProviderError(f"azure: Resource Manager rejected the token ({message})"
                                    ) from None
            raise ProviderError(f"azure: cannot list subscriptions ({message})") from None
        except AzureError as exc:
            why = unreachable(exc)
            raise (ProviderUnreachable if why else ProviderError)(
                f"azure: cannot reach Resource Manager at {self.endpoint} "
                f"({why or classify(exc)[1]})") from None
        if not subs:
            raise ProviderError("azure: the credential sees no subscription (give "
                                "--subscription ID, or grant it Reader on one)")
        return subs

    def collect(self) -> list[Section]:
        subs = self.subscriptions()
        sections = {str(s["subscriptionId"]): Section(provider="azure",
                                                      account=str(s["subscriptionId"]),
                                                      collected_at=now()) for s in subs}
        found: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list))
        roots = [s for s in SPECS if s.parent is None and s.name in self.wanted]
        jobs: list[tuple[str, Spec]] = []
        readable: list[str] = []
        for sub in subs:
            sid = str(sub["subscriptionId"])
            section = sections[sid]
            section.add(SUBSCRIPTIONS, GLOBAL, [redact_arm(sub, SUBSCRIPTIONS, section.redacted)])
            state = str(sub.get("state", "Enabled"))
            if state not in ("Enabled", "Warned", "PastDue"):
                err = sub.get("posture:error") or ["denied", f"the subscription is {state}"]
                for spec in SPECS:
                    if spec.name in self.wanted:
                        section.fail(spec.name, GLOBAL, ErrorReason(err[0]), str(err[1]))
                continue
            jobs.extend((sid, spec) for spec in roots)
            readable.append(sid)
        workers = max(1, int(self.options.get("azure_concurrency", 8)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="posture-azure") as pool:
            served: dict[str, dict[str, list[dict[str, Any]]]] = {}
            if graph.enabled(self.options, len(readable)):
                served = self.read_graph(readable, [s.name for s in roots], pool)
            for future in [pool.submit(self.tree, sid, spec, sections[sid], found, None,
                                       served.get(sid, {}).get(spec.name))
                           for sid, spec in jobs]:
                future.result()
        for (sid, name), regions in sorted(found.items()):
            for region, objs in sorted(regions.items()):
                sections[sid].add(name, region, sorted(objs, key=lambda o: str(o.get("id"))))
        for section in sections.values():
            section.errors.sort(key=lambda e: (e["collection"], e["region"],
                                               e.get("resource") or ""))
            section.locations = sorted({r for regs in section.collections.values() for r in regs
                                        if r != GLOBAL})
        return [sections[str(s["subscriptionId"])] for s in subs]

    def tree(self, sid: str, spec: Spec, section: Section,
             found: dict[tuple[str, str], dict[str, list[dict[str, Any]]]],
             parent: Mapping[str, Any] | None = None,
             read: list[dict[str, Any]] | None = None) -> None:
        """Collect one collection (for one parent), then its wanted children. `read`: the
        collection's objects as Resource Graph answered them (no call is made)."""
        region = _region(parent) if parent is not None else GLOBAL
        progress.report(self.options, "azure", sid, spec.name)
        try:
            if read is not None:
                objects = read
            else:
                client = self.client(spec.client, sid)
                objects = run_call(spec, client, parent or {}, sid)
        except ClientAuthenticationError as exc:
            if exc.status_code is None:
                raise ProviderError(f"azure: no usable credential ({_auth_hint(exc)})") from None
            self._fail(section, spec.name, region, exc,
                       str(parent.get("id") or "") or None if parent is not None else None)
            return
        except ProviderError:
            raise
        except Exception as exc:
            # A per-parent read names its parent (Section.fail's `resource`), so that only
            # that object's verdicts are touched; so do the children it could not reach.
            owner = str(parent.get("id") or "") or None if parent is not None else None
            self._fail(section, spec.name, region, exc, owner)
            for child_name in self._descendants(spec.name):
                with self.lock:
                    section.fail(child_name, GLOBAL if parent is None else region,
                                 classify(exc)[0], f"not read: {spec.name} could not be read",
                                 resource=owner)
            return
        if parent is None:
            with self.lock:
                for r in {_region(o) for o in objects} | {GLOBAL}:
                    found[sid, spec.name].setdefault(r, [])
                for child_name in self._descendants(spec.name):
                    found[sid, child_name].setdefault(GLOBAL, [])
        if spec.name == plan.LISTED:  # only the resources a plan may take from it
            objects = [o for o in objects if str(o.get("type", "")).lower() in plan.BY_TYPE]
        kept = []
        for obj in objects:
            if spec.name in ("Microsoft.Compute/virtualMachines", SCALE_SETS):
                _scrub_vm(obj)
            elif spec.name in (USER_DATA, SCALE_SET_USER_DATA):
                obj = _user_data_only(obj, spec.name == SCALE_SET_USER_DATA)
            kept.append(redact_arm(obj, f"{spec.name}[]", section.redacted))
        with self.lock:
            for obj in kept:
                found[sid, spec.name][_region(obj, region)].append(obj)
        log.info("azure %s %s: %d objects", sid, spec.name, len(kept))
        for child in SPECS:
            from_list = spec.name == plan.LISTED and child.parent in self.from_list
            if not (child.parent == spec.name or from_list) or not self._wants(child.name):
                continue
            done: set[Any] = set()
            for obj in kept:
                if spec.name == plan.LISTED and str(obj.get("type", "")).lower() != str(
                        child.parent).lower():
                    continue  # the resource list's objects of the child's parent type
                if child.when is not None and not child.when(obj):
                    continue
                if child.once_per is not None:
                    key = child.once_per(obj)
                    if key in done:
                        continue
                    done.add(key)
                self.tree(sid, child, section, found, obj)

    def read_graph(self, subs: list[str], names: list[str], pool: ThreadPoolExecutor
              ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """subscription -> collection -> objects, for the collections Resource Graph serves
        in the subscriptions where the caller may read them at subscription scope (graph.py).
        A subscription or collection left out is read with REST: a failed permission read
        or a failed query (denied, throttled after the retries, truncated, a paging loop)
        falls back to REST for exactly the subscriptions it concerned."""
        names = [n for n in names if n in graph.SERVED]
        if not names:
            return {}
        allowed: dict[str, set[str]] = {}
        for sid, perms in zip(subs, pool.map(self._permissions, subs), strict=True):
            ok = {n for n in names if perms is not None
                  and graph.permitted(perms, graph.READ_ACTION[n])}
            if ok:
                allowed[sid] = ok
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        ready = [s for s in subs if s in allowed]
        for start in range(0, len(ready), graph.SUBSCRIPTIONS_PER_QUERY):
            chunk = ready[start:start + graph.SUBSCRIPTIONS_PER_QUERY]
            wanted = sorted(set().union(*(allowed[s] for s in chunk)))
            try:
                rows = self._graph_rows(chunk, wanted)
            except ProviderError:
                raise
            except ClientAuthenticationError as exc:
                if exc.status_code is None:
                    raise ProviderError(f"azure: no usable credential ({_auth_hint(exc)})"
                                        ) from None
                self._graph_failed(chunk, exc)
                continue
            except Exception as exc:
                self._graph_failed(chunk, exc)
                continue
            for sid in chunk:
                mine = rows.get(sid.lower(), {})
                out[sid] = {n: list(mine.get(n, {}).values()) for n in allowed[sid]}
        return out

    def _permissions(self, sid: str) -> list[dict[str, Any]] | None:
        """The caller's permissions at subscription scope, None when they cannot be read."""
        spec = Spec("Microsoft.Authorization/permissions", "raw",
                    lambda c, p, s: ("GET", f"/subscriptions/{s}/providers/Microsoft."
                                            "Authorization/permissions?api-version="
                                            f"{graph.PERMISSIONS_API}"))
        try:
            return run_call(spec, self.client("raw", sid), {}, sid)
        except ClientAuthenticationError as exc:
            if exc.status_code is None:
                raise ProviderError(f"azure: no usable credential ({_auth_hint(exc)})") from None
            reason, message = classify(exc)
        except Exception as exc:
            reason, message = classify(exc)
        log.warning("azure %s: permissions not read (%s, %s): Resource Graph not used for it",
                    sid, message, reason)
        return None

    def _graph_rows(self, subs: list[str], names: list[str]
                    ) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        """subscription (lowercase) -> collection -> object by lowercase id, of one query per
        table over `subs`."""
        from azure.mgmt.resourcegraph import ResourceGraphClient
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        retries = {k: v for k, v in self.kwargs.items() if k.startswith("retry_")
                   and k != "retry_policy"}
        client = ResourceGraphClient(self.credential, **{
            **self.kwargs, "retry_policy": GraphRetryPolicy(**retries)}, per_retry_policies=[
            ReadOnlyGuard(graph_endpoint=self.endpoint)])
        wanted = {s.lower() for s in subs}
        out: dict[str, dict[str, dict[str, dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(dict))
        for table, types in graph.tables(names).items():
            text = graph.query(table, types)

            def send(token: str | None, text: str = text) -> Any:
                hook = _Pages("Resource Graph query")
                client.resources(QueryRequest(
                    subscriptions=subs, query=text, options=QueryRequestOptions(
                        skip_token=token, top=graph.PAGE_ROWS, result_format="objectArray")),
                    api_version=graph.GRAPH_API, raw_response_hook=hook)
                return hook.bodies[-1] if hook.bodies else None

            progress.report(self.options, "azure", f"{len(subs)} subscriptions",
                            f"Resource Graph {table}")
            rows = graph.read_rows(send, f"Resource Graph {table}", max_pages(self.options))
            for row in rows:
                name = types.get(str(row.get("type", "")).lower())
                sid = graph.subscription_of(row)
                if name is None or sid not in wanted:
                    continue  # not asked for: nothing is concluded from it
                out[sid][name][str(row["id"]).lower()] = graph.as_arm(row, name)
            log.info("azure Resource Graph %s: %d rows over %d subscriptions", table,
                     len(rows), len(subs))
        return out

    def _graph_failed(self, subs: list[str], exc: BaseException) -> None:
        reason, message = classify(exc)
        log.warning("azure Resource Graph query failed (%s, %s): reading %d subscription(s) "
                    "with REST", message, reason, len(subs))

    def _wants(self, name: str) -> bool:
        return name in self.wanted

    def _descendants(self, name: str) -> list[str]:
        out = []
        parents = {name} | (self.from_list if name == plan.LISTED else set())
        for spec in SPECS:
            if spec.parent in parents and spec.name in self.wanted:
                out.append(spec.name)
                out.extend(self._descendants(spec.name))
        return out

    def _fail(self, section: Section, name: str, region: str, exc: BaseException,
              resource: str | None = None) -> None:
        reason, message = classify(exc)
        log.warning("azure %s %s %s: %s (%s)", section.account, name, region, message, reason)
        if reason is ErrorReason.BUG:  # an HTTP error's text would repeat the server's body
            log.debug("azure %s failed", name, exc_info=exc)
        with self.lock:
            if not any(e["collection"] == name and e["region"] == region
                       and e.get("resource") == resource for e in section.errors):
                section.fail(name, region, reason, message, resource=resource)


def _auth_hint(exc: ClientAuthenticationError) -> str:
    first = _one_line(str(exc.message).splitlines()[0] if exc.message else "", 160)
    return (f"{first}; sign in with `az login`, set AZURE_CLIENT_ID/AZURE_TENANT_ID/"
            "AZURE_CLIENT_SECRET, use a managed identity, or set POSTURE_AZURE_ACCESS_TOKEN")


def wanted_with_parents(only: Iterable[str] | None) -> set[str]:
    """Every collection a scan for `only` reads (all: None), with the parents its children
    are read for (but those the resource list gives: plan.made)."""
    return plan.made(_names(only), {s.name: s.parent for s in SPECS})[0]


def _names(only: Iterable[str] | None) -> set[str]:
    """The collections asked for; everything (None): every list, read in full (the
    resource list is only for plans that read nothing else of its resources)."""
    if only is None:
        return set(BY_NAME) - {plan.LISTED}
    return {n for n in only if n in BY_NAME}


def collect(options: Mapping[str, Any], only: Iterable[str] | None = None) -> list[Section]:
    wanted, from_list = plan.made(_names(only), {s.name: s.parent for s in SPECS})
    return _Collector(options, wanted, from_list).collect()
