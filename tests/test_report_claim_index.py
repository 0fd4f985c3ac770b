"""The JSON report's claim index (`json_report._FindingIndex`): a claim's finding ids become
the positions the plain definition gives (`{f.id: i}`, the last finding of an id, an id of no
finding kept as it is) for findings grouped by check (the per-check runs), shuffled (the
fallback loop) and with a check id holding "|" (the id index)."""

from __future__ import annotations

import random

import pytest

from scanner.findings import ORDER, Finding, Severity, Status
from scanner.reports.json_report import _FindingIndex


def _findings(rng: random.Random, checks: list[str], n: int) -> list[Finding]:
    resources = [f"hetzner:p/server/{i}" for i in range(n // 3 + 1)] + ["a|b", "", "x|"]
    return [Finding(rng.choice(checks), rng.choice(resources), Status.PASS, Severity.LOW, "m")
            for _ in range(n)]


def _plain(findings: list[Finding], ids: list[str]) -> list[int | str]:
    index = {f.id: i for i, f in enumerate(findings)}
    return [index.get(ref, ref) for ref in ids]


@pytest.mark.parametrize("order", ["by_check", "shuffled"])
@pytest.mark.parametrize("checks", [["NET-01", "NET-02", "ENC-01"], ["A|B", "A", "B"]])
def test_claim_ids_map_to_the_positions_the_plain_index_gives(order: str, checks: list[str]
                                                              ) -> None:
    rng = random.Random(7)
    for _ in range(30):
        findings = _findings(rng, checks, rng.randrange(0, 60))
        if order == "by_check":
            findings.sort(key=ORDER)
        ids = [f.id for f in rng.sample(findings, k=len(findings) // 2)]
        ids += ["NET-01", "NET-01|nowhere", "A|B|nowhere", "|", "", "A|B|a|b"]
        rng.shuffle(ids)
        assert _FindingIndex(findings).positions(ids) == _plain(findings, ids)
