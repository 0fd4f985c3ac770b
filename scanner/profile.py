"""Profiles: the machine-readable copy of one published security page.

A profile has parameters (allowed jurisdictions, operator VPN ranges, minimum TLS...) and
claims: each sentence of the page quoted, with the checks that verify it or
`verifiable = false` and the reason. See docs/profiles.md.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from scanner import inputs, regions
from scanner.errors import ProfileError
from scanner.model import Resource

TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
DEFAULT_DATABASE_PORTS = (1433, 1521, 3306, 5432, 5984, 6379, 9042, 9200, 11211, 27017)
DEFAULT_ADMIN_PORTS = ("22", "3389", "5985-5986", "2375-2376", "6443", "10250", "2379-2380")


@dataclass(frozen=True, slots=True)
class RoleRule:
    """How a resource is recognised as having a role: any label match or any name glob."""

    labels: Mapping[str, str] = field(default_factory=dict)  # value "*" matches any value
    names: tuple[str, ...] = ()


@cache
def _globs(names: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    """One compiled pattern for "any of these fnmatch globs matches the whole name"
    (fnmatch.fnmatchcase per glob, per resource, was a tenth of a large scan)."""
    return re.compile("|".join(fnmatch.translate(g) for g in names)).match


DEFAULT_ROLES: Mapping[str, RoleRule] = {
    "database": RoleRule(labels={"role": "database"},
                         names=("db-*", "*-db", "*-db-*", "postgres*", "mysql*", "mariadb*",
                                "mongo*", "redis*")),
    "bastion": RoleRule(labels={"role": "bastion"}, names=("bastion*", "jump*")),
    "vpn": RoleRule(labels={"role": "vpn"}, names=("vpn*", "wireguard*")),
}


@dataclass(frozen=True, slots=True)
class Parameters:
    jurisdictions: tuple[str, ...] = ("EU",)
    operator_cidrs: tuple[str, ...] = ()
    min_tls: str = "1.2"
    admin_ports: tuple[str, ...] = DEFAULT_ADMIN_PORTS
    database_ports: tuple[int, ...] = DEFAULT_DATABASE_PORTS
    backup_retention_days: int = 7
    backup_frequency_hours: int = 24
    certificate_min_days: int = 14
    encryption_attestation_label: str | None = None  # "key=value" set by the operator
    public_roles: tuple[str, ...] = ("bastion", "vpn")
    stateful_roles: tuple[str, ...] = ("database",)
    pitr_max_lag_minutes: int = 15
    log_retention_days: int = 365
    credential_max_age_days: int = 90
    credential_max_unused_days: int = 90
    break_glass_principals: tuple[str, ...] = ()
    required_labels: tuple[str, ...] = ("owner", "environment", "data-classification")
    environment_label: str = "environment"
    production_values: tuple[str, ...] = ("prod", "production")
    # INV-01: the tag/label by which the operator says infrastructure-as-code manages a
    # resource (evidence level attested), and the values that say so (case-insensitive).
    managed_by_tag: str | None = None
    managed_by_values: tuple[str, ...] = ("terraform",)
    # Role rules; a profile's [parameters.roles.NAME] replaces the default rule of NAME.
    roles: Mapping[str, RoleRule] = field(default_factory=lambda: dict(DEFAULT_ROLES))

    def admin_port_ranges(self) -> list[tuple[int, int]]:
        out = []
        for spec in self.admin_ports:
            lo, _, hi = str(spec).partition("-")
            out.append((int(lo), int(hi or lo)))
        out.extend((p, p) for p in self.database_ports)
        return sorted(set(out))

    def attestation(self) -> tuple[str, str] | None:
        if not self.encryption_attestation_label:
            return None
        key, _, value = self.encryption_attestation_label.partition("=")
        return key, value


SCOPE_PROVIDERS = ("aws", "azure", "hetzner")


@dataclass(frozen=True, slots=True)
class Scope:
    """The resources a claim speaks of ("backups are geo-redundant": backup stores, not
    every bucket). Every dimension given must match (providers AND kinds AND ...); within
    one dimension any value matches (kinds: bucket OR database). Labels and names compare
    case-insensitively; a label value "*" matches any value. Empty: every resource."""

    providers: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    names: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.providers or self.kinds or self.roles or self.labels or self.names)

    def matches(self, r: Resource) -> bool:
        if self.providers and r.provider not in self.providers:
            return False
        if self.kinds and r.kind._value_ not in self.kinds:
            return False
        if self.roles and not r.roles & set(self.roles):
            return False
        if self.labels:
            have = {k.lower(): v.lower() for k, v in r.labels.items()}
            if not any(k.lower() in have and (v == "*" or v.lower() == have[k.lower()])
                       for k, v in self.labels.items()):
                return False
        return not self.names or _globs(tuple(n.lower() for n in self.names))(
            r.name.lower()) is not None

    def matches_scope_of(self, provider: str) -> bool:
        """For a finding on no resource of the estate (an unread scope, a provider that
        cannot show a control): in scope unless its provider is excluded, since what could
        not be read may hold resources of the scope."""
        return not self.providers or provider in self.providers

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in (("providers", list(self.providers)),
                                  ("kinds", list(self.kinds)), ("roles", list(self.roles)),
                                  ("labels", dict(self.labels)), ("names", list(self.names)))
                if v}

    def describe(self) -> str:
        parts = [f"{k}: " + (", ".join(f"{a}={b}" for a, b in v.items()) if isinstance(v, dict)
                             else ", ".join(v)) for k, v in self.to_json().items()]
        return "; ".join(parts) or "every resource"


@dataclass(frozen=True, slots=True)
class Claim:
    id: str
    quote: str
    checks: tuple[str, ...] = ()
    section: str = ""
    verifiable: bool = True
    reason: str = ""
    scope: Scope = field(default_factory=Scope)  # empty: every resource the checks judge


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    title: str
    source: str
    parameters: Parameters
    claims: tuple[Claim, ...]
    path: str = ""
    scope: Scope = field(default_factory=Scope)  # [scope]: the default of every claim

    def check_ids(self) -> set[str]:
        return {c for claim in self.claims for c in claim.checks}


def classifier(params: Parameters) -> Callable[[Resource], Resource]:
    """What gives a resource the roles the profile's rules assign it (a `RoleRule` matches
    when any of its labels matches, "*" for any value, or any of its name globs does), with
    the rules prepared once for the many resources of a scan."""
    rules = [(name, tuple(rule.labels.items()), _globs(rule.names) if rule.names else None)
             for name, rule in params.roles.items()]
    role_sets: dict[frozenset[str], frozenset[str]] = {}  # one object per distinct set

    def assign(resource: Resource) -> Resource:
        labels, name = resource.labels, resource.name
        roles: set[str] = set()
        for role, pairs, glob in rules:  # loops, not generators: once per resource
            for key, value in pairs:
                if key in labels and (value == "*" or value == labels[key]):
                    roles.add(role)
                    break
            else:
                if glob is not None and glob(name) is not None:
                    roles.add(role)
        if not roles or roles <= resource.roles:
            return resource
        given = resource.roles | roles
        return _with_roles(resource, role_sets.setdefault(given, given))

    return assign


# the order `_with_roles` passes a Resource's fields in (checked: a field added or moved
# makes it fall back to `dataclasses.replace`)
_BY_POSITION = tuple(f.name for f in fields(Resource)) == (
    "id", "kind", "provider", "account", "name", "region", "labels", "properties", "raw",
    "roles", "native_type", "unknown")


def _with_roles(r: Resource, roles: frozenset[str]) -> Resource:
    """`replace(r, roles=roles)`; by position where it can: `dataclasses.replace` costs 2.5x
    a direct construction, and most servers of a large scan get roles."""
    if _BY_POSITION:
        return Resource(r.id, r.kind, r.provider, r.account, r.name, r.region, r.labels,
                        r.properties, r.raw, roles, r.native_type, r.unknown)
    return replace(r, roles=roles)


# --- loading -----------------------------------------------------------------------------


def builtin_names() -> list[str]:
    folder = resources.files("scanner").joinpath("profiles")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load(name_or_path: str) -> Profile:
    """A built-in profile by name, or a TOML file by path."""
    path = Path(name_or_path)
    if name_or_path in builtin_names():
        text = resources.files("scanner").joinpath(f"profiles/{name_or_path}.toml").read_text()
        origin = f"profile {name_or_path}"
    elif path.suffix == ".toml" or path.exists():
        try:
            text = inputs.read_text(path)  # a regular file (a FIFO would block), size-limited
        except FileNotFoundError as exc:
            raise ProfileError(f"{path}: no such profile file") from exc
        except OSError as exc:
            raise ProfileError(f"{path}: cannot read profile: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ProfileError(f"{path}: cannot read profile: {exc}") from exc
        origin = str(path)
    else:
        raise ProfileError(
            f"unknown profile {name_or_path!r}: not a built-in ({', '.join(builtin_names())}) "
            "and not a file"
        )
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise ProfileError(f"{origin}: not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ProfileError(f"{origin}: not valid TOML: nested too deeply") from exc
    return parse(data, origin)


def parse(data: Mapping[str, Any], origin: str) -> Profile:
    _only(data, {"profile", "parameters", "claims", "scope"}, origin, "")
    meta = data.get("profile", {})
    if not isinstance(meta, Mapping):
        raise ProfileError(f"{origin}: [profile] must be a table")
    _only(meta, {"name", "title", "source"}, origin, "profile.")
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ProfileError(f"{origin}: [profile] needs a name")
    for key in ("title", "source"):
        if key in meta and not isinstance(meta[key], str):
            raise ProfileError(f"{origin}: profile.{key} must be a string")
    params = parse_parameters(data.get("parameters", {}), origin)
    default_scope = parse_scope(data.get("scope", {}), origin, "scope")
    raw_claims = data.get("claims", [])
    if not isinstance(raw_claims, list):
        raise ProfileError(f"{origin}: claims must be an array of tables ([[claims]])")
    claims = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_claims):
        where = f"claims[{i}]"
        if not isinstance(raw, dict):
            raise ProfileError(f"{origin}: {where} must be a table")
        _only(raw, {"id", "quote", "checks", "section", "verifiable", "reason", "scope"},
              origin, f"{where}.")
        claim_id = raw.get("id") or f"claim-{i + 1}"
        if not isinstance(claim_id, str):
            raise ProfileError(f"{origin}: {where}.id must be a string")
        if claim_id in seen:
            raise ProfileError(f"{origin}: {where}: duplicate claim id {claim_id!r}")
        seen.add(claim_id)
        if not isinstance(raw.get("quote"), str) or not raw["quote"].strip():
            raise ProfileError(f"{origin}: {where} ({claim_id}) needs a quote")
        verifiable = raw.get("verifiable", True)
        checks = raw.get("checks", [])
        if not isinstance(verifiable, bool):
            raise ProfileError(f"{origin}: {where}.verifiable must be true or false")
        if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
            raise ProfileError(f"{origin}: {where}.checks must be a list of check ids")
        if verifiable and not checks:
            raise ProfileError(
                f"{origin}: {where} ({claim_id}) names no checks; bind it to checks or set "
                "verifiable = false with a reason"
            )
        if not isinstance(raw.get("section", ""), str) or not isinstance(
                raw.get("reason", ""), str):
            raise ProfileError(f"{origin}: {where}.section and .reason must be strings")
        if not verifiable and not raw.get("reason"):
            raise ProfileError(f"{origin}: {where} ({claim_id}) is not verifiable: give a reason")
        claims.append(
            Claim(
                id=claim_id,
                quote=" ".join(raw["quote"].split()),
                checks=tuple(c.strip().upper() for c in checks),
                section=raw.get("section", ""),
                verifiable=verifiable,
                reason=raw.get("reason", ""),
                scope=parse_scope(raw["scope"], origin, f"{where}.scope") if "scope" in raw
                else default_scope,
            )
        )
    return Profile(
        name=meta["name"],
        title=meta.get("title", meta["name"]),
        source=meta.get("source", ""),
        parameters=params,
        claims=tuple(claims),
        path=origin,
        scope=default_scope,
    )


def parse_scope(raw: Any, origin: str, where: str) -> Scope:
    """A `scope` table ([scope], or a claim's `scope = {...}`), validated."""
    from scanner.model import Kind

    if not isinstance(raw, Mapping):
        raise ProfileError(f"{origin}: {where} must be a table")
    _only(raw, {"providers", "kinds", "roles", "labels", "names"}, origin, f"{where}.")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("providers", "kinds", "roles", "names"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ProfileError(f"{origin}: {where}.{key} must be a list of non-empty strings")
        lists[key] = tuple(value)
    kinds = {k.value for k in Kind if k is not Kind.INTERNET}
    for key, allowed in (("providers", set(SCOPE_PROVIDERS)), ("kinds", kinds)):
        bad = [v for v in lists[key] if v not in allowed]
        if bad:
            raise ProfileError(f"{origin}: {where}.{key}: unknown {key[:-1]} {bad[0]!r} "
                               f"(known: {', '.join(sorted(allowed))})")
    labels = raw.get("labels", {})
    if not isinstance(labels, Mapping) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in labels.items()):
        raise ProfileError(f"{origin}: {where}.labels must be a table of label = \"value\" "
                           "(\"*\": any value)")
    return Scope(providers=lists["providers"], kinds=lists["kinds"], roles=lists["roles"],
                 labels=dict(labels), names=lists["names"])


_PARAM_TYPES: dict[str, type] = {
    "jurisdictions": list,
    "operator_cidrs": list,
    "min_tls": str,
    "admin_ports": list,
    "database_ports": list,
    "backup_retention_days": int,
    "backup_frequency_hours": int,
    "certificate_min_days": int,
    "encryption_attestation_label": str,
    "public_roles": list,
    "stateful_roles": list,
    "roles": dict,
    "pitr_max_lag_minutes": int,
    "log_retention_days": int,
    "credential_max_age_days": int,
    "credential_max_unused_days": int,
    "break_glass_principals": list,
    "required_labels": list,
    "environment_label": str,
    "production_values": list,
    "managed_by_tag": str,
    "managed_by_values": list,
}
_LIST_OF_STR = ("jurisdictions", "operator_cidrs", "public_roles", "stateful_roles",
                "admin_ports", "break_glass_principals", "required_labels", "production_values",
                "managed_by_values")
_NON_NEGATIVE = ("backup_retention_days", "backup_frequency_hours", "certificate_min_days",
                 "pitr_max_lag_minutes", "log_retention_days", "credential_max_age_days",
                 "credential_max_unused_days")


def parse_parameters(raw: Mapping[str, Any], origin: str) -> Parameters:
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{origin}: [parameters] must be a table")
    known = {f.name for f in fields(Parameters)}
    _only(raw, known, origin, "parameters.")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        expected = _PARAM_TYPES[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ProfileError(
                f"{origin}: parameters.{key} must be a {expected.__name__}, got {value!r}"
            )
        values[key] = value
    for key, value in values.items():
        where = f"{origin}: parameters.{key}"
        if key in _LIST_OF_STR:
            bad = [v for v in value if not isinstance(v, str)]
            if bad:
                raise ProfileError(f"{where}: every element must be a string, got {bad[0]!r}")
        if key == "database_ports":
            bad = [v for v in value if not isinstance(v, int) or isinstance(v, bool)
                   or not 0 < v <= 65535]
            if bad:
                raise ProfileError(f"{where}: every element must be a port number, got "
                                   f"{bad[0]!r}")
        if key == "jurisdictions":
            for j in value:
                if not regions.is_known_jurisdiction(j):
                    raise ProfileError(
                        f"{where}: unknown jurisdiction {j!r} (use EU, EEA, UK, US or an "
                        "ISO 3166 country code such as DE)"
                    )
        elif key == "operator_cidrs":
            for cidr in value:
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except (ValueError, TypeError) as exc:
                    raise ProfileError(f"{where}: {cidr!r} is not a valid CIDR") from exc
        elif key == "min_tls" and value not in TLS_VERSIONS:
            raise ProfileError(
                f"{where}: TLS version {value!r} does not exist (one of {', '.join(TLS_VERSIONS)})"
            )
        elif key == "admin_ports":
            for port in value:
                _port_spec(port, where)
        elif key in _NON_NEGATIVE:
            if value < 0:
                raise ProfileError(f"{where}: must not be negative")
        elif key == "encryption_attestation_label" and "=" not in value:
            raise ProfileError(f"{where}: must be key=value, e.g. encryption=luks")
        elif key == "managed_by_tag" and not value.strip():
            raise ProfileError(f"{where}: must name a tag/label key, e.g. managed-by")
        elif key == "managed_by_values" and (not value or not all(v.strip() for v in value)):
            raise ProfileError(f"{where}: must list at least one non-empty value, e.g. "
                               "[\"terraform\"]")
    if "roles" in values:
        values["roles"] = {**DEFAULT_ROLES, **_roles(values["roles"], origin)}
    for key in _LIST_OF_STR:
        if key in values:
            values[key] = tuple(values[key])
    if "jurisdictions" in values:
        values["jurisdictions"] = tuple(j.upper() for j in values["jurisdictions"])
    if "database_ports" in values:
        values["database_ports"] = tuple(int(p) for p in values["database_ports"])
    return Parameters(**values)


def _port_spec(spec: str, where: str) -> None:
    lo, sep, hi = spec.partition("-")
    try:
        a, b = int(lo), int(hi if sep else lo)
    except ValueError as exc:
        raise ProfileError(f"{where}: {spec!r} is not a port or port range") from exc
    if not 0 <= a <= b <= 65535:
        raise ProfileError(f"{where}: {spec!r} is not a port or port range")


def _roles(raw: Mapping[str, Any], origin: str) -> dict[str, RoleRule]:
    roles = {}
    for name, rule in raw.items():
        where = f"parameters.roles.{name}"
        if not isinstance(rule, Mapping):
            raise ProfileError(f"{origin}: {where} must be a table with labels and/or names")
        _only(rule, {"labels", "names"}, origin, f"{where}.")
        labels = rule.get("labels", {})
        names = rule.get("names", [])
        if not isinstance(labels, Mapping) or not all(isinstance(v, str) for v in labels.values()):
            raise ProfileError(f"{origin}: {where}.labels must map label keys to values or \"*\"")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ProfileError(f"{origin}: {where}.names must be a list of name globs")
        roles[name] = RoleRule(labels=dict(labels), names=tuple(names))
    return roles


def _only(table: Mapping[str, Any], allowed: Iterable[str], origin: str, prefix: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ProfileError(
            f"{origin}: unknown key {prefix}{unknown[0]} (allowed: {', '.join(sorted(allowed))})"
        )


# --- a starter profile ------------------------------------------------------------------

_PARAM_HELP: dict[str, str] = {
    "jurisdictions": "Where data may be stored and processed (RES-01..03): EU, EEA, UK, US or "
                     "ISO 3166 country codes such as DE.",
    "operator_cidrs": "The operator VPN's egress ranges: the only sources allowed to reach "
                      "administrative ports (NET-02). Empty: no source is allowed.",
    "min_tls": "Lowest TLS version an external endpoint may accept (TLS-01; TLS-04 when "
               "probed): 1.0, 1.1, 1.2, 1.3.",
    "admin_ports": "Administrative ports never reachable from the internet (NET-02), as "
                   "\"port\" or \"from-to\".",
    "database_ports": "Database ports, treated as administrative too (NET-01, NET-02).",
    "backup_retention_days": "Fewest days a backup is kept (BAK-02).",
    "backup_frequency_hours": "Most hours between two backups of a stateful resource "
                              "(BAK-02): 24 = daily.",
    "certificate_min_days": "A certificate expiring sooner than this fails (TLS-03).",
    "encryption_attestation_label": "A label/tag \"key=value\" by which the operator attests "
                                    "encryption the provider cannot show, e.g. "
                                    "\"encryption=luks\" (ENC-01/02, evidence level attested).",
    "public_roles": "Roles allowed a public endpoint (NET-03), e.g. bastion, vpn.",
    "stateful_roles": "Roles that hold data and need backups (BAK-02).",
    "pitr_max_lag_minutes": "Most minutes the latest restorable point may lag (BAK-03).",
    "log_retention_days": "Fewest days audit logs are kept (LOG-02).",
    "credential_max_age_days": "Oldest an access key may be (IAM-04).",
    "credential_max_unused_days": "Longest a credential may go unused (IAM-04).",
    "break_glass_principals": "Principals (ids or names) allowed wildcard admin grants "
                              "(IAM-02).",
    "required_labels": "Labels/tags every resource carries (INV-02).",
    "environment_label": "The label/tag naming a resource's environment (NET-05).",
    "production_values": "Values of environment_label that mean production (NET-05).",
    "managed_by_tag": "A label/tag by which the operator says infrastructure-as-code manages "
                      "a resource, e.g. \"managed-by\" (INV-01 passes a resource carrying it "
                      "with a managed_by_values value, evidence level attested).",
    "managed_by_values": "Values of managed_by_tag that mean managed by infrastructure-as-code "
                         "(compared case-insensitively).",
    "roles": "How resources are recognised as having a role: any matching label "
             "(value \"*\" = any value) or name glob. [parameters.roles.NAME] replaces the "
             "built-in rule of NAME.",
}

_EXAMPLE_CLAIMS = '''
# Every sentence of your page, quoted once, in the page's order. `section` groups the claims
# in the report. Bind a sentence to the checks that show it (`posture checks` lists them;
# `posture checks ID` explains one), or say why no cloud API can show it.

[[claims]]
id = "eu-residency"
section = "Data handling"
quote = "All customer data is stored and processed in the European Union."
checks = ["RES-01", "RES-02"]

[[claims]]
id = "background-checks"
section = "Organisational security"
quote = "Background checks are performed on new employees."
verifiable = false
reason = "An HR process: no cloud API shows it."
'''


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def starter(name: str = "my-company") -> str:
    """A commented starter profile: every parameter with its default, two example claims."""
    import textwrap

    defaults = Parameters()
    lines = [
        "# A posture profile: the machine-readable copy of your published security page.",
        "# Edit the parameters to what your page states, then quote every sentence of it as a",
        "# claim. Check it with `posture scan SNAPSHOT --profile THIS_FILE`; docs/profiles.md",
        "# explains every key.",
        "",
        "[profile]",
        f"name = {_toml_value(name)}",
        'title = "Security page of My Company"',
        'source = "https://example.com/security"',
        "",
        "# Every parameter, set to its default; delete the ones you do not need.",
        "[parameters]",
    ]
    for f in fields(Parameters):
        if f.name == "roles":
            continue
        help_text = _PARAM_HELP.get(f.name, "")
        lines += [f"# {t}" for t in textwrap.wrap(help_text, 88)]
        value = getattr(defaults, f.name)
        if value is None:
            example = {"encryption_attestation_label": "encryption=luks",
                       "managed_by_tag": "managed-by"}.get(f.name, "")
            lines.append(f"# {f.name} = {_toml_value(example)}")
        else:
            lines.append(f"{f.name} = {_toml_value(value)}")
    lines += ["", *[f"# {t}" for t in textwrap.wrap(_PARAM_HELP["roles"], 88)]]
    for role, rule in defaults.roles.items():
        labels = ", ".join(f"{k} = {_toml_value(v)}" for k, v in rule.labels.items())
        lines += ["", f"[parameters.roles.{role}]", f"labels = {{ {labels} }}",
                  f"names = {_toml_value(rule.names)}"]
    return "\n".join(lines) + "\n" + _EXAMPLE_CLAIMS


def init(path: Path) -> Path:
    """Write the starter profile to `path`; refuse to overwrite anything already there."""
    text = starter(path.stem if path.suffix == ".toml" else "my-company")
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise ProfileError(f"{path}: already exists; not overwriting it (remove it or give "
                           "another path)") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot write: {exc.strerror}") from None
    return path
