"""A claim speaks of some resources, not all (docs/profiles.md, "Scope"): "backups are
geo-redundant" is about backup stores and databases, not every bucket. Out-of-scope resources
get no verdict for that claim: they are counted as out of scope, never as passed, and a check
bound only to scoped claims reports them as `skip` (reason out_of_scope), not as failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, findings_of, run

AWS = ROOT / "fixtures" / "aws" / "seed002-aws.json"

BUCKETS_FAILING_BAK01 = {"ohallo-audit-logs", "ohallo-exports", "ohallo-recordings-replica"}


def profile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "page.toml"
    path.write_text('[profile]\nname = "page"\n' + body)
    return path


def scan(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("scan", *args, "--format", "json", "--no-timestamps")
    return result.exit_code, json.loads(result.stdout)


def claim(doc: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in doc["claims"] if c["id"] == cid)


def test_an_unscoped_backup_claim_fails_on_every_bucket(tmp_path: Path) -> None:
    page = profile(tmp_path, '[[claims]]\nid = "geo"\nquote = "Backups are geo-redundant."\n'
                             'checks = ["BAK-01"]\n')
    code, doc = scan(str(AWS), "--profile", str(page))
    failed = {f["resource_name"] for f in findings_of(doc) if f["status"] == "fail"}
    assert failed >= BUCKETS_FAILING_BAK01 and code == 1
    assert "out_of_scope" not in claim(doc, "geo")["counts"]


def test_a_claim_scoped_to_backup_stores_and_databases_judges_only_those(tmp_path: Path) -> None:
    page = profile(tmp_path, '[[claims]]\nid = "geo"\nquote = "Backups are geo-redundant."\n'
                             'checks = ["BAK-01"]\n'
                             'scope = { kinds = ["backup_vault", "database"] }\n')
    code, doc = scan(str(AWS), "--profile", str(page))
    by_name = {f["resource_name"]: f for f in findings_of(doc) if f["check"] == "BAK-01"}
    for name in BUCKETS_FAILING_BAK01 | {"mail-worker-1"}:
        f = by_name[name]
        assert (f["status"], f["reason"]) == ("skip", "out_of_scope")
        assert f["evidence"]["verdict_out_of_scope"] == "fail"  # shown, not dropped
    assert by_name["ohallo-recordings"]["status"] == "skip"  # a pass out of scope is no pass
    assert by_name["db-mailqueue"]["status"] == "fail"  # in scope: still a violation
    result = claim(doc, "geo")
    assert result["status"] == "contradicted"
    assert result["counts"]["out_of_scope"] == 5 and result["counts"]["fail"] == 2
    assert result["scope"] == {"kinds": ["backup_vault", "database"]}
    assert code == 1


def test_a_label_scope_and_the_profile_wide_default(tmp_path: Path) -> None:
    """[scope] is every claim's default; a claim's own `scope = {}` speaks of everything.
    Label keys and values compare case-insensitively."""
    page = profile(tmp_path, '[scope]\nlabels = { Data-Classification = "CONFIDENTIAL" }\n'
                             'kinds = ["bucket"]\n'
                             '[[claims]]\nid = "geo"\n'
                             'quote = "Confidential data is geo-redundant."\n'
                             'checks = ["BAK-01"]\n'
                             '[[claims]]\nid = "all"\nquote = "Everything is geo-redundant."\n'
                             'checks = ["BAK-01"]\nscope = {}\n')
    code, doc = scan(str(AWS), "--profile", str(page))
    geo, everything = claim(doc, "geo"), claim(doc, "all")
    assert "out_of_scope" not in everything["counts"]
    assert everything["status"] == "contradicted" and everything["counts"]["fail"] == 6
    # one claim speaks of everything, so no BAK-01 finding is turned into a skip
    assert not [f for f in findings_of(doc) if f.get("reason") == "out_of_scope"]
    # the untagged-confidential bucket, the vault, the instance and the database are out
    assert geo["counts"]["out_of_scope"] == 4
    assert geo["counts"]["fail"] == 2 and geo["counts"]["pass"] == 1
    assert geo["status"] == "contradicted" and code == 1


def test_nothing_in_scope_is_unknown_never_verified(tmp_path: Path) -> None:
    page = profile(tmp_path, '[[claims]]\nid = "geo"\nquote = "Backups are geo-redundant."\n'
                             'checks = ["BAK-01"]\nscope = { names = ["no-such-*"] }\n')
    code, doc = scan(str(AWS), "--profile", str(page))
    assert claim(doc, "geo")["status"] == "unknown"
    assert code == 0  # every finding is out of scope: nothing failed


@pytest.mark.parametrize(("scope", "words"), [
    ('scope = { kind = ["bucket"] }', "unknown key claims[0].scope.kind"),
    ('scope = { kinds = ["buckets"] }', "unknown kind 'buckets'"),
    ('scope = { providers = ["gcp"] }', "unknown provider 'gcp'"),
    ('scope = { labels = { Purpose = 1 } }', "scope.labels must be a table"),
    ('scope = { names = "db-*" }', "scope.names must be a list"),
    ('scope = "prod"', "claims[0].scope must be a table"),
])
def test_a_bad_scope_is_one_line_and_exit_2(tmp_path: Path, scope: str, words: str) -> None:
    page = profile(tmp_path, '[[claims]]\nid = "geo"\nquote = "Backups."\n'
                             f'checks = ["BAK-01"]\n{scope}\n')
    result = run("scan", str(AWS), "--profile", str(page))
    assert result.exit_code == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_scope_shows_in_the_profile_and_the_claim_report() -> None:
    shown = run("profiles", "seed-003").stdout
    assert ("Regular encrypted backups of production databases are performed. "
            "(scope: kinds: database, snapshot, backup_vault, compute)") in shown
    result = run("scan", str(ROOT / "fixtures" / "generic" / "seed003" / "seed003-aws.json"),
                 "--profile", "seed-003", "--format", "markdown")
    assert "scope: kinds: database, snapshot, backup\\_vault, compute" in result.stdout or \
        "scope: kinds: database, snapshot, backup_vault, compute" in result.stdout


def test_account_wide_verdicts_and_unviewable_controls_stay_in_a_kind_scope(tmp_path: Path
                                                                           ) -> None:
    """An audit trail or a control the provider cannot show speaks of every resource of the
    account: a claim scoped to buckets still hears it."""
    page = profile(tmp_path, '[[claims]]\nid = "logged"\nquote = "Bucket access is logged."\n'
                             'checks = ["LOG-01"]\nscope = { kinds = ["bucket"] }\n'
                             '[[claims]]\nid = "aws-only"\nquote = "Our AWS estate is EU."\n'
                             'checks = ["RES-01"]\nscope = { providers = ["aws"] }\n')
    _, doc = scan(str(AWS), "--profile", str(page))
    logged = claim(doc, "logged")
    assert "out_of_scope" not in logged["counts"] and logged["status"] != "unknown"
    _, doc = scan(str(ROOT / "fixtures" / "hetzner" / "seed002-hetzner.json"), "--profile",
                  str(page))
    aws_only = claim(doc, "aws-only")
    assert aws_only["status"] == "unknown"
    assert aws_only["reason"] == "no resource in scope (scope: providers: aws) was assessed"
