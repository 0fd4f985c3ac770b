"""The same input and profile give byte-identical JSON and SARIF (--no-timestamps), across
runs and across Python hash seeds.

Every bundled fixture that `posture scan` reads (the snapshots and the Terraform plans under
fixtures/) is scanned with its seed page's profile (or the default one), `scan FIXTURE
--format json:F --format sarif:F --no-timestamps`, in child processes with PYTHONHASHSEED=0,
1 and 12345 (one child per hash seed runs the CLI for every fixture; the Hetzner fixture also
through `python -m scanner.cli` itself), and twice in this process (whose hash seed is
random); all outputs must be the same bytes. Set iteration order, dicts built from sets, and
anything else that depends on string hashing would show here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from scanner.profile import builtin_names
from tests.helpers import ROOT, SEED002, run

HASH_SEEDS = ("0", "1", "12345")


def scannable(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text())
    except (ValueError, OSError):
        return False
    return isinstance(doc, dict) and (doc.get("format") == "posture-snapshot"
                                      or "format_version" in doc)  # a Terraform plan


FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*.json") if scannable(p))


def profile_of(path: Path) -> str:
    seed = re.search(r"seed(\d{3})", path.name)
    name = f"seed-{seed[1]}" if seed else ""
    return name if name in builtin_names() else "default"


def scan_args(fixture: Path, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return ["scan", str(fixture), "--profile", profile_of(fixture), "--no-timestamps",
            "--format", f"json:{folder / 'r.json'}", "--format", f"sarif:{folder / 'r.sarif'}"]


def read_outputs(folder: Path) -> tuple[bytes, bytes]:
    return (folder / "r.json").read_bytes(), (folder / "r.sarif").read_bytes()


# One child process per hash seed runs the CLI (click's main, as `posture` does) for each
# argument list; a bad exit code fails it.
CHILD = """
import json, sys
from click.testing import CliRunner
from scanner.cli import main
for args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    if r.exit_code not in (0, 1, 3):
        sys.exit(f"{args}: exit {r.exit_code}: {r.stderr}")
"""


def child(hash_seed: str, command: list[str], cwd: Path) -> None:
    done = subprocess.run([sys.executable, *command], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT),
                                            "PYTHONHASHSEED": hash_seed})
    assert done.returncode in (0, 1, 3), done.stderr[-3000:]


@pytest.fixture(scope="module")
def by_hash_seed(tmp_path_factory: pytest.TempPathFactory
                 ) -> dict[tuple[Path, str], tuple[bytes, bytes]]:
    """Every fixture under every hash seed (children in parallel), and the Hetzner fixture
    through `python -m scanner.cli` under every hash seed (key: the seed + "-cli")."""
    base = tmp_path_factory.mktemp("determinism")
    jobs: list[tuple[str, list[str]]] = []
    for seed in HASH_SEEDS:
        batch = [scan_args(f, base / seed / f.stem) for f in FIXTURES]
        jobs.append((seed, ["-c", CHILD, json.dumps(batch)]))
        jobs.append((seed, ["-m", "scanner.cli", *scan_args(SEED002, base / seed / "cli")]))
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        list(pool.map(lambda job: child(job[0], job[1], ROOT), jobs))
    out = {(f, seed): read_outputs(base / seed / f.stem) for f in FIXTURES for seed in HASH_SEEDS}
    out |= {(SEED002, f"{seed}-cli"): read_outputs(base / seed / "cli") for seed in HASH_SEEDS}
    return out


@cache
def _fixture_ids() -> list[str]:
    return [str(p.relative_to(ROOT / "fixtures")) for p in FIXTURES]


def test_there_are_fixtures_of_every_cloud() -> None:
    names = " ".join(_fixture_ids())
    assert all(cloud in names for cloud in ("hetzner", "azure", "aws"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=_fixture_ids())
def test_json_and_sarif_are_byte_identical_across_runs_and_hash_seeds(
        fixture: Path, by_hash_seed: dict[tuple[Path, str], tuple[bytes, bytes]],
        tmp_path: Path) -> None:
    assert run(*scan_args(fixture, tmp_path / "a")).exit_code in (0, 1, 3)
    assert run(*scan_args(fixture, tmp_path / "b")).exit_code in (0, 1, 3)
    first = read_outputs(tmp_path / "a")
    assert read_outputs(tmp_path / "b") == first, "two runs in one process differ"
    json.loads(first[0])
    assert json.loads(first[1])["version"] == "2.1.0"
    seeds = [*HASH_SEEDS, *(f"{s}-cli" for s in HASH_SEEDS)] if fixture == SEED002 else HASH_SEEDS
    for seed in seeds:
        got = by_hash_seed[fixture, seed]
        assert got[0] == first[0], f"JSON differs with PYTHONHASHSEED={seed}"
        assert got[1] == first[1], f"SARIF differs with PYTHONHASHSEED={seed}"
