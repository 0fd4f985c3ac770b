"""The provider seam: what a cloud adapter offers the engine.

A provider declares its collections (name -> kinds it feeds and the read-only API calls it
makes), collects them live into a `Section` of raw API objects, and normalizes a section
(live or replayed from a snapshot, same code) into an `Inventory`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scanner.model import Inventory, Kind, Relation, Resource

if TYPE_CHECKING:
    from scanner.check import Check
    from scanner.snapshot import Section  # the snapshot reader: not needed to list checks


@dataclass(frozen=True, slots=True)
class Collection:
    """One thing a provider collects: the kinds it feeds and the read-only calls it makes."""

    name: str
    kinds: frozenset[Kind]
    calls: tuple[str, ...]  # API operations, e.g. "GET /servers"; all read-only
    description: str = ""
    # What a failed or missing read of this collection can change in resources that WERE
    # read (in the same account and region; the resources it lists itself are simply absent
    # and get the scope's own `error` finding): kind -> property names (ANY_PROPERTY: all).
    # None: every verdict in that account and region (the conservative default). An empty
    # mapping: nothing, because the normalizer marks the affected resources itself
    # (`Resource.unknown`, e.g. a reference to a security group that is not in the list).
    affects: Mapping[Kind, frozenset[str]] | None = None
    # Read once in every region of the section (`Section.locations`): a region missing from
    # the recorded collection without an error for it is a read that did not happen.
    per_region: bool = False
    opens: bool = True  # the unread data could add exposure/violations (a pass is unsafe)
    closes: bool = True  # the unread data could remove them (a fail is unsafe)


def inventory(provider: str, section: Section, resources: Iterable[Resource],
              relations: Iterable[Relation]) -> Inventory:
    """A normalizer's result for one section, with the section's errors and attempts."""
    return Inventory(
        provider=provider,
        account=section.account,
        resources=tuple(resources),
        relations=tuple(relations),
        errors=tuple(section.collection_errors()),
        collected=frozenset(section.attempted()),
    )


class ProviderError(Exception):
    """A live collection could not start (no credentials, bad endpoint): exit 2."""

    exit_code = 2


class ProviderUnreachable(ProviderError):
    """The provider's API could not be reached at all on its first call (connection refused,
    no such host): nothing was read, exit 3 (the scan could not see what it needed)."""

    exit_code = 3


class Provider(ABC):
    name: str
    collections: Mapping[str, Collection]
    # Controls no API of this provider can show: check id -> why. The engine reports them as
    # `skip` with evidence level `none` for every account of the provider, never as passed.
    not_visible: Mapping[str, str] = {}
    # Controls this source shows for resources of other clouds even where their live APIs
    # cannot (a plan holds a Hetzner server's user data, the Cloud API never returns it):
    # such a control's findings on resources it made (`iac`) are kept, not hidden by the
    # cloud's `not_visible`.
    shows: frozenset[str] = frozenset()
    # Collection -> msgspec type of one raw object holding only the fields `normalize` reads
    # (scanner/snapshot_fields.py); a collection not listed is decoded whole.
    raw_fields: Mapping[str, Any] = {}

    @abstractmethod
    def collect(self, options: Mapping[str, Any], only: Iterable[str] | None = None
                ) -> list[Section]:
        """Read the live estate. Failed calls are recorded in the section, never raised."""

    @abstractmethod
    def normalize(self, section: Section) -> Inventory:
        """Raw API objects -> model. Must not call the network."""

    def collections_for(self, kinds: Iterable[Kind]) -> set[str]:
        wanted = set(kinds)
        return {name for name, c in self.collections.items() if c.kinds & wanted}

    def collections_for_checks(self, checks: Iterable[Check]) -> set[str]:
        """What `checks` need collected: a live scan collects exactly this, and the engine
        fails closed on exactly this (a snapshot recorded for fewer checks lacks the rest).
        By default every collection of the checks' kinds; a provider that knows which
        properties each collection decides narrows it to what the checks read (AWS)."""
        return self.collections_for({k for c in checks for k in c.kinds})

    def needed_in(self, check: Check, section: Section) -> set[str]:
        """What `check` needs of a recorded section (the engine fails closed on exactly
        this): by default what a live scan for it collects; a provider with more than one
        way to read a kind narrows it to the way the section was read (Azure)."""
        return self.collections_for_checks((check,))

    def permissions(self, collections: Iterable[str] | None = None) -> dict[str, Any]:
        """The read-only permission set needed for `collections` (all by default)."""
        names = sorted(collections if collections is not None else self.collections)
        return {
            "provider": self.name,
            "calls": sorted({call for n in names for call in self.collections[n].calls}),
        }
