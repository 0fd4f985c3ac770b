"""Errors the CLI turns into one clear line on stderr and an exit code (never a traceback)."""

from __future__ import annotations


class PostureError(Exception):
    """Bad usage or bad input: exit code 2."""

    exit_code = 2


class SnapshotError(PostureError):
    """A snapshot file that is unreadable, malformed, of an unknown version or tampered with."""


class ProfileError(PostureError):
    """A profile that does not load or names what does not exist."""
