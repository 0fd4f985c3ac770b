"""Defaults from a config file: `posture.toml`, or `[tool.posture]` in `pyproject.toml`.

Looked up in the current directory (or given with `posture --config FILE`). Keys are the
long option names of `posture scan` with dashes or underscores (`profile`, `fail-on`,
`format`, `store`, `suppressions`, `allow-partial`, `checks`, `checks-dir`, ...); a table per
command is also accepted (`[scan]`, `[diff]`). Flags given on the command line always win
(the values become click's defaults).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner import inputs
from scanner.errors import PostureError

COMMANDS = ("scan", "record", "diff", "report", "verify", "history")


def find(explicit: Path | None = None, cwd: Path | None = None
         ) -> tuple[Path, dict[str, Any]] | None:
    """The config file in effect and its posture table, or None."""
    if explicit is not None:
        return explicit, _read(explicit, pyproject=explicit.name == "pyproject.toml")
    folder = cwd or Path.cwd()
    own = folder / "posture.toml"
    if own.is_file():
        return own, _read(own, pyproject=False)
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        table = _read(pyproject, pyproject=True)
        if table:
            return pyproject, table
    return None


def _read(path: Path, pyproject: bool) -> dict[str, Any]:
    data = inputs.read_toml(path, f"--config {path}: no such file")
    if pyproject:
        table = data.get("tool", {}).get("posture", {})
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
