"""Terraform plan inputs a pull request controls (helper hostile8): a plan holding an integer
of more digits than Python converts, and a `--tf-dir` checkout whose module manifest
(`.terraform/modules/modules.json`) is a link to /dev/zero. Each: one line and the exit code
of a good run or 2, never an internal error, never unbounded memory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, run

PLAN = ROOT / "fixtures" / "terraform" / "hcloud-gate.plan.json"


def test_a_plan_with_an_integer_too_long_to_convert_is_one_line_not_an_internal_error(
        tmp_path: Path) -> None:
    text = PLAN.read_text().replace('"backups": true', '"backups": ' + "9" * 4400, 1)
    assert "9" * 4400 in text
    path = tmp_path / "plan.json"
    path.write_text(text)
    result = run("scan", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"posture: {path}: not valid JSON (Exceeds the limit")
    assert "internal error" not in result.stderr


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024**2, 1536 * 1024**2))


def test_a_module_manifest_linked_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    """`--tf-dir` names the checkout; `.terraform/modules/modules.json` in it was read with
    `read_text`, so a link to /dev/zero read until memory ran out (here, under a 1.5 GiB
    limit: MemoryError, an internal error). Now read as every named file is (regular files
    only, size-limited): no manifest, the scan runs."""
    tf = tmp_path / "checkout"
    (tf / ".terraform" / "modules").mkdir(parents=True)
    os.symlink("/dev/zero", tf / ".terraform" / "modules" / "modules.json")
    (tf / "main.tf").write_text('resource "hcloud_server" "db" {\n}\n')
    done = subprocess.run(
        [sys.executable, "-m", "scanner.cli", "scan", str(PLAN), "--tf-dir", str(tf),
         "--format", "sarif"], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=_limit_memory)
    assert done.returncode == 1, done.stderr
    assert "error" not in done.stderr
    located = [loc["physicalLocation"]["artifactLocation"]["uri"]
               for r in json.loads(done.stdout)["runs"][0]["results"]
               for loc in r.get("locations", [])]
    assert any(uri.endswith("main.tf") for uri in located)


def test_a_plan_value_nested_deeper_than_redaction_walks_is_one_line(tmp_path: Path) -> None:
    """A configuration constant 700 levels deep under a secret's name (`user_data`) parses,
    but redaction walks it two frames a level: RecursionError, an internal error on every
    `scan` of the plan. Now refused in one line naming the plan, exit 2; a value 300 levels
    deep is still read and judged."""
    doc = json.loads(PLAN.read_text())
    for depth, code in ((700, 2), (300, 1)):
        deep: object = "x"
        for _ in range(depth):
            deep = {"k": deep}
        plan = json.loads(json.dumps(doc))
        resource = plan["configuration"]["root_module"]["resources"][0]
        resource.setdefault("expressions", {})["user_data"] = {"constant_value": deep}
        path = tmp_path / f"deep{depth}.json"
        path.write_text(json.dumps(plan))
        result = run("scan", str(path))
        assert result.exit_code == code, result.stderr
        if code == 2:
            assert result.stderr == (f"posture: {path}: a value is nested too deeply to redact "
                                     "(hundreds of levels), not a plan Terraform writes\n")


def test_a_module_thousands_deep_finds_its_provider_without_rescanning_every_config(
        ) -> None:
    """A pre-1.2 plan's module 4,000 levels deep, beside 4,000 module provider
    configurations: each level scanned every configuration for an aliased one its parent
    might pass (1.4 s for each resource at that depth, hundreds of seconds for a plan of
    such resources). Now the modules holding aliased configurations are found once; the
    answers are the same."""
    import time

    from providers.terraform.plan import _legacy_provider_region

    path = ".".join(f"module.m{i}" for i in range(4000))
    configs: dict[str, object] = {f"module.c{i}:aws": {"name": "aws"} for i in range(4000)}
    started = time.process_time()
    assert _legacy_provider_region(configs, {}, path, "aws") == (None, None, "")
    assert time.process_time() - started < 0.5
    # a parent (here the root) holding an aliased configuration: not known, as before
    configs["aws.eu"] = {"name": "aws", "alias": "eu"}
    assert _legacy_provider_region(configs, {}, "module.m0", "aws") == (None, None, "")
    configs = {"aws": {"name": "aws", "expressions": {"region": {
        "constant_value": "eu-central-1"}}}}
    assert _legacy_provider_region(configs, {}, "module.m0.module.m1", "aws")[0] == \
        "eu-central-1"
