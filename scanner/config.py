"""Defaults from a config file: `posture.toml`, or `[tool.posture]` in `pyproject.toml`.

Given with `posture --config FILE` (trusted: any option), or discovered in the current
directory (untrusted: output and display options only, see DISCOVERED_KEYS). Keys are the
long option names of the commands with dashes or underscores (`profile`, `fail-on`,
`format`, `store`, `suppressions`, `allow-partial`, `checks`, `checks-dir`, ...); a table per
command is also accepted (`[scan]`, `[diff]`). Flags given on the command line always win
(the values become click's defaults). `posture --no-config` reads none.

Why discovery is restricted: a CI job that scans an untrusted checkout (a pull request's
Terraform plan) runs posture in that checkout, so a `posture.toml` there is written by
whoever wrote the pull request. Such a file could otherwise load code (`checks-dir`), turn
the gate off (`fail-on = "none"`, `allow-partial`, `suppressions`, `checks`, `only-new`, a
permissive `profile`), send the scan's credentials elsewhere (`azure-arm-endpoint`,
`role-arn`, `hetzner-token-file`) or accept unsigned evidence (`key`). Those come only from
flags or from a config file named explicitly. A discovered file that sets one is refused
(exit 2, naming the key): ignoring it silently would change the gate its author expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner import inputs
from scanner.errors import PostureError

COMMANDS = ("scan", "record", "diff", "report", "verify", "history")
# What a discovered config file may set: how results are shown and where reports go.
DISCOVERED_KEYS = frozenset({"format", "output", "no_timestamps", "json", "limit"})
# Keys whose values are paths written to: a discovered file may only name files below its
# folder (relative, no `..`), never e.g. ~/.bashrc.
_OUTPUT_KEYS = frozenset({"format", "output"})


@dataclass(frozen=True)
class Found:
    path: Path
    table: dict[str, Any]
    discovered: bool  # found in the working directory, not named with --config


def find(explicit: Path | None = None, cwd: Path | None = None) -> Found | None:
    """The config file in effect and its posture table, or None."""
    if explicit is not None:
        return Found(explicit, _read(explicit, pyproject=explicit.name == "pyproject.toml"),
                     discovered=False)
    folder = cwd or Path.cwd()
    own = folder / "posture.toml"
    if own.is_file():
        return _discovered(own, _read(own, pyproject=False))
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        table = _read(pyproject, pyproject=True)
        if table:
            return _discovered(pyproject, table)
    return None


def _discovered(path: Path, table: dict[str, Any]) -> Found:
    """A discovered file's table, refused when it sets anything but output options."""
    for where, values in [("", table), *((f"[{k}] ", v) for k, v in table.items()
                                         if isinstance(v, dict))]:
        for key, value in values.items():
            if isinstance(value, dict) and not where:
                continue
            name = key.replace("-", "_")
            if name not in DISCOVERED_KEYS:
                raise PostureError(
                    f"{path}: found in the working directory, so it may set output options "
                    f"only ({', '.join(sorted(k.replace('_', '-') for k in DISCOVERED_KEYS))}"
                    f"), not {where}{key!r}: give it with --config FILE to trust it, or "
                    "--no-config to ignore it")
            if name in _OUTPUT_KEYS:
                _check_output_paths(path, where + key, value)
    return Found(path, table, discovered=True)


def _check_output_paths(path: Path, key: str, value: Any) -> None:
    names: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str):
            continue  # the option's own type check names it
        names.append(item.partition(":")[2] if key.endswith("format") else item)
    for name in names:
        if name and (Path(name).is_absolute() or ".." in Path(name).parts
                     or name.startswith("~") or not _below(path.parent, Path(name))):
            raise PostureError(
                f"{path}: found in the working directory, so its {key} may only name files "
                f"below that folder, not {name!r} (give it with --config FILE to trust it)")


def _below(folder: Path, name: Path) -> bool:
    """Whether the folder `name` is written in is `folder` or below it once symbolic links
    are followed: the checkout that holds the config can also hold `out -> /home/ci/.ssh`,
    and `out/authorized_keys` names no `..`. (The file itself may be a link: outputs are
    renamed into place, which replaces a link rather than writing through it.)"""
    try:
        root = folder.resolve()
        parent = (folder / name).parent.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte: not below
        return False
    return parent == root or root in parent.parents


def _read(path: Path, pyproject: bool) -> dict[str, Any]:
    data = inputs.read_toml(path, f"--config {path}: no such file")
    if pyproject:
        tool = data.get("tool", {})
        table = tool.get("posture", {}) if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            raise PostureError(f"{path}: [tool.posture] must be a table")
        return table
    return data


def default_map(path: Path, table: dict[str, Any], known: dict[str, dict[str, str]]
                ) -> dict[str, dict[str, Any]]:
    """Config table -> click default_map, checking every key against the command options.

    `known` maps, per command, an accepted key (option name, dashes as underscores) to the
    parameter it sets."""
    out: dict[str, dict[str, Any]] = {}
    flat = {k: v for k, v in table.items() if not isinstance(v, dict)}
    for command in COMMANDS:
        if command not in known:
            continue
        if not isinstance(table.get(command, {}), dict):  # `scan = true`: not a table
            raise PostureError(f"{path}: {command!r} must be a table ([{command}]), not "
                               f"{type(table[command]).__name__}")
        values = {**{k: v for k, v in flat.items()}, **table.get(command, {})}
        mapped: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            if name in known[command]:
                mapped[known[command][name]] = value
            elif command in table and key in table[command]:
                raise PostureError(f"{path}: [{command}] has unknown option {key!r}")
        out[command] = mapped
    unknown = sorted(k for k in flat if all(k.replace("-", "_") not in opts
                                             for opts in known.values()))
    if unknown:
        raise PostureError(f"{path}: unknown option {unknown[0]!r}")
    tables = sorted(k for k, v in table.items() if isinstance(v, dict) and k not in COMMANDS)
    if tables:
        raise PostureError(f"{path}: unknown table [{tables[0]}]")
    return out
