"""The fleet file (TOML): which organisations, subscriptions and projects a fleet scan covers.

    [fleet]
    name = "acme"                    # names the run in the history store
    profile = "default"              # built-in profile name or a profile file
    concurrency = { aws = 8, azure = 4, hetzner = 2 }   # units of a provider at once

    [[aws]]                          # an Organizations management / delegated admin account
    role_name = "PostureReadOnly"    # assumed in every member account
    external_id = "..."              # optional (sts:AssumeRole ExternalId)
    include_ous = ["ou-..."]; exclude_ous = [...]
    include_accounts = [...]; exclude_accounts = [...]
    regions = ["eu-central-1"]       # default: the regions enabled in each account

    [[azure]]
    management_group = "mg-prod"     # default: every subscription the credential sees
    include_subscriptions = [...]; exclude_subscriptions = [...]

    [[hetzner]]
    project = "web"
    token_env = "HCLOUD_TOKEN_WEB"   # or token_file = "/etc/posture/web.token"

Secrets never go in the file: a Hetzner entry names where its token is (an environment
variable or a file, read where the unit runs); a `token` key is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner import inputs
from scanner.errors import PostureError

PROVIDERS = ("aws", "azure", "hetzner")
DEFAULT_CONCURRENCY = {"aws": 8, "azure": 4, "hetzner": 2}
_ACCOUNT = re.compile(r"^\d{12}$")
_OU = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")
_ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,512}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:@-]{0,99}$")


@dataclass(frozen=True, slots=True)
class AwsSource:
    role_name: str
    external_id: str | None = None
    include_ous: tuple[str, ...] = ()
    exclude_ous: tuple[str, ...] = ()
    include_accounts: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    aws_profile: str | None = None  # the management account's credentials (default chain)


@dataclass(frozen=True, slots=True)
class AzureSource:
    management_group: str | None = None
    include_subscriptions: tuple[str, ...] = ()
    exclude_subscriptions: tuple[str, ...] = ()
    cloud: str | None = None
    arm_endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class HetznerSource:
    project: str
    token_env: str | None = None
    token_file: str | None = None


@dataclass(frozen=True, slots=True)
class FleetFile:
    name: str
    profile: str
    aws: tuple[AwsSource, ...] = ()
    azure: tuple[AzureSource, ...] = ()
    hetzner: tuple[HetznerSource, ...] = ()
    concurrency: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))


class _Table:
    """One table of the file, read key by key; unknown keys and wrong types are errors."""

    def __init__(self, where: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise PostureError(f"{where}: must be a table")
        self.where, self.data, self.used = where, data, set[str]()

    def text(self, key: str, pattern: re.Pattern[str] | None = None,
             required: bool = False) -> str | None:
        self.used.add(key)
        value = self.data.get(key)
        if value is None:
            if required:
                raise PostureError(f"{self.where}: {key} is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise PostureError(f"{self.where}: {key} must be a non-empty string")
        if pattern is not None and not pattern.match(value):
            raise PostureError(f"{self.where}: {key} {value!r} is not valid")
        return value

    def texts(self, key: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        self.used.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PostureError(f"{self.where}: {key} must be a list of strings")
        for v in value:
            if pattern is not None and not pattern.match(v):
                raise PostureError(f"{self.where}: {key}: {v!r} is not valid")
        return tuple(value)

    def done(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise PostureError(f"{self.where}: unknown key(s) {', '.join(extra)}")


def _aws(where: str, data: Any) -> AwsSource:
    t = _Table(where, data)
    source = AwsSource(
        role_name=str(t.text("role_name", _ROLE_NAME, required=True)),
        external_id=t.text("external_id", re.compile(r"^[\w+=,.@:/-]{2,1224}$")),
        include_ous=t.texts("include_ous", _OU),
        exclude_ous=t.texts("exclude_ous", _OU),
        include_accounts=t.texts("include_accounts", _ACCOUNT),
        exclude_accounts=t.texts("exclude_accounts", _ACCOUNT),
        regions=t.texts("regions", re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")),
        aws_profile=t.text("aws_profile", re.compile(r"^[\w.@+-]{1,128}$")),
    )
    t.done()
    return source


def _azure(where: str, data: Any) -> AzureSource:
    t = _Table(where, data)
    source = AzureSource(
        management_group=t.text("management_group", re.compile(r"^[\w().-]{1,90}$")),
        include_subscriptions=tuple(s.lower() for s in t.texts("include_subscriptions", _GUID)),
        exclude_subscriptions=tuple(s.lower() for s in t.texts("exclude_subscriptions", _GUID)),
        cloud=t.text("cloud", re.compile(r"^(public|china|usgovernment)$")),
        arm_endpoint=t.text("arm_endpoint", re.compile(r"^https://[^\s]+$")),
    )
    t.done()
    return source


def _hetzner(where: str, data: Any) -> HetznerSource:
    t = _Table(where, data)
    if isinstance(data, dict) and "token" in data:
        raise PostureError(f"{where}: a token never goes in the fleet file; name where it is "
                           "with token_env (an environment variable) or token_file")
    source = HetznerSource(
        project=str(t.text("project", _LABEL, required=True)),
        token_env=t.text("token_env", _ENV_NAME),
        token_file=t.text("token_file"),
    )
    t.done()
    if (source.token_env is None) == (source.token_file is None):
        raise PostureError(f"{where}: give exactly one of token_env and token_file")
    return source


def load(path: Path) -> FleetFile:
    """Read and check a fleet file; every problem is one PostureError naming the file."""
    data = inputs.read_toml(path, f"{path}: no such fleet file")
    where = str(path)
    top = _Table(where, data)
    fleet = _Table(f"{where}: [fleet]", data.get("fleet", {}))
    top.used.add("fleet")
    name = fleet.text("name", _LABEL) or path.stem
    profile = fleet.text("profile") or "default"
    concurrency = dict(DEFAULT_CONCURRENCY)
    fleet.used.add("concurrency")
    limits = fleet.data.get("concurrency", {})
    if not isinstance(limits, dict):
        raise PostureError(f"{where}: [fleet] concurrency must be a table (aws = 8, ...)")
    for provider, limit in limits.items():
        if provider not in PROVIDERS:
            raise PostureError(f"{where}: [fleet] concurrency: unknown provider {provider!r}")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 256:
            raise PostureError(f"{where}: [fleet] concurrency.{provider} must be 1 to 256")
        concurrency[provider] = limit
    fleet.done()
    entries: dict[str, list[Any]] = {}
    for provider, reader in (("aws", _aws), ("azure", _azure), ("hetzner", _hetzner)):
        top.used.add(provider)
        tables = data.get(provider, [])
        if not isinstance(tables, list):
            raise PostureError(f"{where}: [{provider}] must be an array of tables "
                               f"([[{provider}]])")
        entries[provider] = [reader(f"{where}: [[{provider}]] #{i + 1}", t)
                             for i, t in enumerate(tables)]
    top.done()
    projects = [h.project for h in entries["hetzner"]]
    twice = sorted({p for p in projects if projects.count(p) > 1})
    if twice:
        raise PostureError(f"{where}: Hetzner project(s) named twice: {', '.join(twice)}")
    if not any(entries.values()):
        raise PostureError(f"{where}: names no source ([[aws]], [[azure]] or [[hetzner]])")
    return FleetFile(name=name, profile=profile, aws=tuple(entries["aws"]),
                     azure=tuple(entries["azure"]), hetzner=tuple(entries["hetzner"]),
                     concurrency=concurrency)
