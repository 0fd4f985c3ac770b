"""docs/controls.md is generated from the checks' metadata (docs/gen_controls.py) and kept in
step with it."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from types import ModuleType

from tests.helpers import ROOT


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_controls", ROOT / "docs" /
                                                  "gen_controls.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_controls_doc_is_up_to_date_with_the_check_metadata() -> None:
    gen = _generator()
    committed = (ROOT / "docs" / "controls.md").read_text(encoding="utf-8")
    assert committed == gen.render(), "docs/controls.md is stale: python docs/gen_controls.py"
    assert gen.main(["--check"]) == 0


def test_changed_metadata_makes_the_committed_page_out_of_date() -> None:
    gen = _generator()
    checks = gen.builtin_checks()
    checks["VUL-01"] = replace(checks["VUL-01"], evidence={
        **checks["VUL-01"].evidence, "azure": "something else entirely"})
    text = gen.render(checks)
    assert "| Azure | something else entirely |" in text
    assert text != (ROOT / "docs" / "controls.md").read_text(encoding="utf-8")


def test_every_check_gets_an_entry_and_unimplemented_catalogue_controls_are_planned() -> None:
    gen = _generator()
    checks = gen.builtin_checks()
    text = gen.render(checks)
    flat = " ".join(text.split())  # long lines are wrapped
    for cid, check in checks.items():
        assert f"### {cid} **{' '.join(check.title.split())}** ({check.severity})" in flat
        assert f"| [{cid}](#{cid.lower()}) |" in text
    # without VUL-01 and INV-02 the page lists them as planned, from the catalogue
    fewer = {cid: c for cid, c in checks.items() if cid not in ("VUL-01", "INV-02")}
    planned = gen.render(fewer).split("## Planned controls", 1)[1]
    assert "| VUL-01 | No machine runs an operating-system image its vendor has deprecated " \
           "or retired |" in planned
    assert "| INV-02 |" in planned and "### VUL-01" not in gen.render(fewer)
