"""One registry mechanism for checks and providers: Python entry points.

Built-in and third-party plugins register the same way, in their package metadata::

    [project.entry-points."posture.checks"]
    mycompany = "mycompany_posture.checks"      # a module: every Check in it is registered

    [project.entry-points."posture.providers"]
    mycloud = "mycompany_posture.cloud:PROVIDER"  # a Provider instance

`--checks-dir DIR` loads every `*.py` file of a local folder the same way as a check module.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from scanner.check import Check
from scanner.errors import PostureError
from scanner.provider import Provider

CHECK_GROUP = "posture.checks"
PROVIDER_GROUP = "posture.providers"


class RegistryError(PostureError):
    """A plugin that does not load or clashes with another."""


def _checks_in(obj: Any) -> list[Check]:
    if isinstance(obj, Check):
        return [obj]
    if isinstance(obj, ModuleType):
        return [v for v in vars(obj).values() if isinstance(v, Check)]
    if isinstance(obj, Iterable):
        return [c for c in obj if isinstance(c, Check)]
    return []


def _add(registry: dict[str, Check], checks: Iterable[Check], origin: str) -> None:
    for c in checks:
        existing = registry.get(c.id)
        if existing is not None and existing is not c:
            raise RegistryError(
                f"check {c.id} from {origin} clashes with the one from {existing.module}"
            )
        registry[c.id] = c


def load_checks(checks_dirs: Iterable[Path] = ()) -> dict[str, Check]:
    """Every registered check by id, plus those in local folders."""
    registry: dict[str, Check] = {}
    for ep in sorted(entry_points(group=CHECK_GROUP), key=lambda e: e.name):
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin is named, not a traceback
            raise RegistryError(
                f"check plugin {ep.name} ({ep.value}) failed to load: {exc}"
            ) from exc
        _add(registry, _checks_in(loaded), ep.value)
    for folder in checks_dirs:
        if not folder.is_dir():
            raise RegistryError(f"--checks-dir {folder}: not a directory")
        for path in sorted(folder.glob("*.py")):
            _add(registry, _checks_in(_load_file(path)), str(path))
    return dict(sorted(registry.items()))


LOCAL_PREFIX = "posture_local_checks."


def _load_file(path: Path) -> ModuleType:
    name = f"{LOCAL_PREFIX}{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RegistryError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise RegistryError(f"{path}: failed to load: {type(exc).__name__}: {exc}") from exc
    return module


def load_providers() -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    for ep in sorted(entry_points(group=PROVIDER_GROUP), key=lambda e: e.name):
        try:
            provider = ep.load()
        except Exception as exc:
            raise RegistryError(f"provider plugin {ep.name} failed to load: {exc}") from exc
        if not isinstance(provider, Provider):
            raise RegistryError(f"provider plugin {ep.name} is not a posture Provider")
        providers[provider.name] = provider
    return providers
