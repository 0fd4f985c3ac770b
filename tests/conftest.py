"""Test-session hooks: skipped tests say why at the end of every run, whatever the flags; the
posture processes the tests start keep their bytecode."""

from __future__ import annotations

import os
from collections import Counter

import pytest

# The suite starts posture in child processes hundreds of times. Where the environment sets
# PYTHONDONTWRITEBYTECODE (the CI machine's does), every child compiled each posture module
# from source again: ~0.5 s of CPU per scan. The children may keep their bytecode cache
# (__pycache__/, ignored by git); the tests' own process is unaffected.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per distinct skip reason, with how many tests it skipped: a browser test
    (or any other) never skips silently, even under `-q` without `-ra`."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            reasons[str(longrepr[2]).removeprefix("Skipped: ")] += 1
    if reasons:
        terminalreporter.section("why tests were skipped")
        for reason, count in sorted(reasons.items()):
            terminalreporter.line(f"{count:4} skipped: {reason}")
