"""The region catalogue: where each provider region is, and which jurisdictions it falls under.

The data lives in ``scanner/data/regions.json`` (package data, read once and cached). It holds
every public AWS region (plus GovCloud, China and the European Sovereign Cloud), every Azure
public region by its ARM ``location`` name with Microsoft's documented region pair, and every
Hetzner Cloud location, each mapped to an ISO 3166-1 alpha-2 country. Countries belong to blocs
("EU", "EEA", "UK", "US", "CN"); a region's jurisdictions are its country's blocs *plus* the
country code itself, so a residency profile may allow ``["EU"]`` or just ``["DE"]``.

Lookups are forgiving about spelling: codes match case-insensitively, and Azure codes also
ignore spaces, so the display name ``"West Europe"`` finds ``westeurope``. Jurisdiction names
match case-insensitively too.

    >>> region("aws", "eu-central-1").jurisdictions >= {"EU", "EEA", "DE"}
    True
    >>> within("azure", "UK South", ["EU"])
    False
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "Region",
    "UnknownRegion",
    "find_region",
    "is_known_jurisdiction",
    "known_jurisdictions",
    "region",
    "regions",
    "within",
]

_DATA_FILE = "regions.json"
_SUPPORTED_VERSION = 1


@dataclass(frozen=True, slots=True)
class Region:
    """One provider region or location, resolved to a country and its jurisdictions."""

    provider: str  # "aws" | "azure" | "hetzner"
    code: str  # the provider's region/location code, e.g. "eu-central-1", "westeurope", "fsn1"
    name: str
    country: str  # ISO 3166-1 alpha-2
    jurisdictions: frozenset[str]  # the country's blocs PLUS the country code itself
    pair: str | None = None  # Azure region pair, else None


class UnknownRegion(LookupError):
    """A provider or region code that the catalogue does not know."""

    def __init__(
        self, provider: str, code: str | None = None, *, known_provider: bool = True, hint: str = ""
    ) -> None:
        self.provider = provider
        self.code = code
        if not known_provider:
            message = f"unknown provider {provider!r}"
            if code is not None:
                message += f" (looking up region {code!r})"
        else:
            message = f"unknown {provider} region {code!r}"
        super().__init__(message + (f"; {hint}" if hint else ""))


@dataclass(frozen=True, slots=True)
class _Catalogue:
    by_key: Mapping[tuple[str, str], Region]  # (provider, normalised code) -> region
    by_provider: Mapping[str, tuple[Region, ...]]  # sorted by code
    jurisdictions: frozenset[str]


def _normalise_provider(provider: str) -> str:
    return provider.strip().lower()


def _normalise_code(provider: str, code: str) -> str:
    code = code.strip().lower()
    if provider == "azure":
        code = "".join(code.split())
    return code


def _normalise_jurisdiction(name: str) -> str:
    return name.strip().upper()


def _corrupt(problem: str) -> ValueError:
    return ValueError(f"corrupt region catalogue {_DATA_FILE}: {problem}")


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _corrupt(f"{where} must be an object")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _corrupt(f"{where} must be a non-empty string")
    return value


def _parse(raw: Any) -> _Catalogue:
    doc = _obj(raw, "the document")
    if doc.get("version") != _SUPPORTED_VERSION:
        raise _corrupt(f"unsupported version {doc.get('version')!r}")
    blocs = frozenset(_obj(doc.get("jurisdictions"), "jurisdictions"))

    countries: dict[str, frozenset[str]] = {}
    for cc, entry in _obj(doc.get("countries"), "countries").items():
        fields = _obj(entry, f"countries.{cc}")
        _str(fields.get("name"), f"countries.{cc}.name")
        members = fields.get("jurisdictions")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise _corrupt(f"countries.{cc}.jurisdictions must be a list of strings")
        if unknown := set(members) - blocs:
            raise _corrupt(f"countries.{cc} names undeclared jurisdictions {sorted(unknown)}")
        countries[cc] = frozenset(members) | {cc}

    by_key: dict[tuple[str, str], Region] = {}
    by_provider: dict[str, tuple[Region, ...]] = {}
    for provider, table in _obj(doc.get("providers"), "providers").items():
        found: list[Region] = []
        for code, entry in _obj(table, f"providers.{provider}").items():
            where = f"providers.{provider}.{code}"
            fields = _obj(entry, where)
            country = _str(fields.get("country"), f"{where}.country")
            if country not in countries:
                raise _corrupt(f"{where}.country {country!r} is not in the countries table")
            pair = fields.get("pair")
            if pair is not None:
                pair = _str(pair, f"{where}.pair")
                if pair not in table:
                    raise _corrupt(f"{where}.pair {pair!r} is not a {provider} region")
            found.append(
                Region(
                    provider=provider,
                    code=code,
                    name=_str(fields.get("name"), f"{where}.name"),
                    country=country,
                    jurisdictions=countries[country],
                    pair=pair,
                )
            )
        for r in found:
            key = (provider, _normalise_code(provider, r.code))
            if key in by_key:
                raise _corrupt(f"{provider} codes {by_key[key].code!r} and {r.code!r} collide")
            by_key[key] = r
        by_provider[provider] = tuple(sorted(found, key=lambda r: r.code))

    return _Catalogue(
        by_key=by_key,
        by_provider=by_provider,
        jurisdictions=blocs | frozenset(countries),
    )


@cache
def _catalogue() -> _Catalogue:
    source = resources.files(__package__ or "scanner") / "data" / _DATA_FILE
    return _parse(json.loads(source.read_text(encoding="utf-8")))


def _provider_regions(provider: str, code: str | None = None) -> tuple[str, tuple[Region, ...]]:
    key = _normalise_provider(provider)
    table = _catalogue().by_provider
    if key not in table:
        raise UnknownRegion(
            provider,
            code,
            known_provider=False,
            hint=f"known providers: {', '.join(sorted(table))}",
        )
    return key, table[key]


def find_region(provider: str, code: str) -> Region | None:
    """The region `code` of `provider`, or None if either is unknown."""
    key = _normalise_provider(provider)
    return _catalogue().by_key.get((key, _normalise_code(key, code)))


def region(provider: str, code: str) -> Region:
    """The region `code` of `provider`; raises UnknownRegion if either is unknown.

    Codes match case-insensitively and, for Azure, ignoring spaces ("West Europe").
    """
    found = find_region(provider, code)
    if found is not None:
        return found
    key, known = _provider_regions(provider, code)  # raises for an unknown provider
    normalised = {_normalise_code(key, r.code): r.code for r in known}
    close = difflib.get_close_matches(_normalise_code(key, code), list(normalised), n=3)
    hint = f"did you mean {' or '.join(repr(normalised[c]) for c in close)}?" if close else ""
    raise UnknownRegion(key, code, hint=hint)


def regions(provider: str | None = None) -> list[Region]:
    """Every region in the catalogue, or only `provider`'s, sorted by (provider, code).

    Raises UnknownRegion for an unknown provider.
    """
    if provider is not None:
        return list(_provider_regions(provider)[1])
    table = _catalogue().by_provider
    return [r for name in sorted(table) for r in table[name]]


def known_jurisdictions() -> frozenset[str]:
    """Every name a residency profile may allow: the blocs plus every country code."""
    return _catalogue().jurisdictions


def is_known_jurisdiction(name: str) -> bool:
    """Whether `name` (case-insensitive) is a bloc or a country code in the catalogue."""
    return _normalise_jurisdiction(name) in _catalogue().jurisdictions


def within(provider: str, code: str, allowed: Iterable[str]) -> bool:
    """Whether the region lies in at least one of the `allowed` jurisdictions.

    `allowed` holds bloc names or country codes, matched case-insensitively; names the
    catalogue does not know simply never match (validate profiles with is_known_jurisdiction).
    Raises UnknownRegion for an unknown region, and TypeError if `allowed` is a bare string.
    """
    if isinstance(allowed, str):
        raise TypeError("allowed must be a collection of jurisdiction names, not a string")
    wanted = {_normalise_jurisdiction(name) for name in allowed}
    return not region(provider, code).jurisdictions.isdisjoint(wanted)
