"""Typed readers of raw API values, shared by every provider's normalizer.

A normalizer reads raw objects as the API documents them. null (or a missing field) reads as
empty, but a value of another type is refused with a TypeError that names the field. It is
never read as absent: `IpPermissions: {}`, `securityRules: {}` or `public_net: []` read as
empty would hide an open security group, an NSG's rules or a server's public addresses, and
turn a fail into a pass. The engine makes `error` of that object's verdicts and of what it
feeds (scanner/quarantine.py), whose culprit search reads the field's name in the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _refused(value: Any, expected: str, name: str | None) -> TypeError:
    said = f"expected {expected} or null, got {type(value).__name__}"
    return TypeError(f"{name}: {said}" if name else said)


def array(value: Any, name: str | None = None) -> list[Any]:
    """An array (or null: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _refused(value, "an array", name)
    return value


def mapping(value: Any, name: str | None = None) -> Mapping[str, Any]:
    """An object (or null: empty)."""
    if value is None:
        return {}
    if type(value) is not dict and not isinstance(value, Mapping):  # exact type first: an
        # abc isinstance costs a call per object of a large snapshot
        raise _refused(value, "an object", name)
    return value


def string(value: Any, name: str) -> str | None:
    """A string (or null)."""
    if value is None or isinstance(value, str):
        return value
    raise _refused(value, "a string", name)
