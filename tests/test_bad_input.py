"""Every bad input gets one clear line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.helpers import SEED002, findings_of, run


def assert_clean_exit_2(result: object, *needles: str) -> None:
    out = result.stdout + result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 2, out  # type: ignore[attr-defined]
    assert "Traceback" not in out
    for needle in needles:
        assert needle in result.stderr, result.stderr  # type: ignore[attr-defined]


def doc() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(SEED002.read_text())
    return loaded


def test_unknown_source_names_the_providers_and_says_no_such_file() -> None:
    assert_clean_exit_2(run("scan", "gcp"), "unknown source 'gcp'", "hetzner")


def test_a_directory_is_not_a_snapshot(tmp_path: Path) -> None:
    assert_clean_exit_2(run("scan", str(tmp_path)), "is a directory")


def test_tampered_snapshot_fails_the_digest_check(tmp_path: Path) -> None:
    text = SEED002.read_text().replace('"203.0.113.22"', '"10.9.9.9"', 1)
    bad = tmp_path / "tampered.json"
    bad.write_text(text)
    assert_clean_exit_2(run("scan", str(bad)), "digest mismatch")
    assert_clean_exit_2(run("verify", str(bad)), "digest mismatch")


def test_one_changed_byte_anywhere_in_the_raw_objects_is_detected(tmp_path: Path) -> None:
    data = bytearray(SEED002.read_bytes())
    i = data.index(b'"db-2"') + 2
    data[i] = ord("X")
    bad = tmp_path / "one-byte.json"
    bad.write_bytes(bytes(data))
    assert_clean_exit_2(run("verify", str(bad)), "digest mismatch")


def test_truncated_snapshot_is_reported_as_not_valid_json(tmp_path: Path) -> None:
    bad = tmp_path / "truncated.json"
    bad.write_bytes(SEED002.read_bytes()[:5000])
    assert_clean_exit_2(run("scan", str(bad)), "not valid JSON")


def test_truncated_gzip_is_reported_as_truncated(tmp_path: Path) -> None:
    bad = tmp_path / "truncated.json.gz"
    bad.write_bytes(gzip.compress(SEED002.read_bytes())[:3000])
    assert_clean_exit_2(run("scan", str(bad)), "gzip data is truncated or corrupt")


def test_gzip_snapshot_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    packed = tmp_path / "estate.bin"
    packed.write_bytes(gzip.compress(SEED002.read_bytes()))
    assert run("verify", str(packed)).exit_code == 0


def test_wrong_format_version_names_the_version(tmp_path: Path) -> None:
    d = doc()
    d["version"] = 99
    bad = tmp_path / "v99.json"
    bad.write_text(json.dumps(d))
    assert_clean_exit_2(run("scan", str(bad)), "version 99 is not supported")


def test_json_that_is_not_a_snapshot_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "other.json"
    bad.write_text('{"hello": "world"}')
    assert_clean_exit_2(run("scan", str(bad)), "not a posture snapshot")
    bad.write_text("[1, 2, 3]")
    assert_clean_exit_2(run("scan", str(bad)), "not a posture snapshot")


def test_schema_violation_names_the_path(tmp_path: Path) -> None:
    d = doc()
    d["sections"][0]["errors"] = [{"collection": "servers"}]  # type: ignore[index]
    bad = tmp_path / "schema.json"
    bad.write_text(json.dumps(d))
    assert_clean_exit_2(run("verify", str(bad)), "sections/0/errors/0")


def test_raw_object_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    d = doc()
    d["sections"][0]["collections"]["servers"]["global"].append(42)  # type: ignore[index]
    bad = tmp_path / "raw.json"
    bad.write_text(json.dumps(d))
    assert_clean_exit_2(run("verify", str(bad)), "every raw object must be a JSON object")


def test_section_for_an_unknown_provider_is_refused(tmp_path: Path) -> None:
    d = doc()
    d["sections"][0]["provider"] = "digitalocean"  # type: ignore[index]
    src = tmp_path / "do.json"
    src.write_text(json.dumps(d))
    assert run("seal", str(src)).exit_code == 0
    assert_clean_exit_2(run("scan", str(src)), "provider 'digitalocean'")


def test_binary_garbage_is_not_utf8(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    assert_clean_exit_2(run("scan", str(bad)), "not UTF-8")


def test_deeply_nested_json_is_refused_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "deep.json"
    bad.write_text("[" * 100_000 + "]" * 100_000)
    assert_clean_exit_2(run("scan", str(bad)))


@pytest.mark.parametrize(("body", "needle"), [
    ('[profile]\nname="x"\n[parameters]\noperator_cidrs=["10.0.0.0/33"]\n',
     "parameters.operator_cidrs: '10.0.0.0/33' is not a valid CIDR"),
    ('[profile]\nname="x"\n[parameters]\njurisdictions=["ATLANTIS"]\n',
     "unknown jurisdiction 'ATLANTIS'"),
    ('[profile]\nname="x"\n[parameters]\nmin_tls="1.4"\n', "TLS version '1.4' does not exist"),
    ('[profile]\nname="x"\n[parameters]\nmin_tls=1.2\n', "parameters.min_tls must be a str"),
    ('[profile]\nname="x"\n[parameters]\nbogus=1\n', "unknown key parameters.bogus"),
    ('[profile]\nname="x"\n[[claims]]\nquote="q"\nchecks=["NET-99"]\n',
     "unknown check(s) NET-99"),
    ('[profile]\nname="x"\n[[claims]]\nquote="q"\n', "names no checks"),
    ('[profile]\nname="x"\n[[claims]]\nquote="q"\nverifiable=false\n', "give a reason"),
    ('[profile]\nname="x"\n[parameters]\nadmin_ports=["22-10"]\n', "'22-10' is not a port"),
    ('[profile\nname="x"\n', "not valid TOML"),
    ('[parameters]\n', "needs a name"),
])
def test_bad_profile_names_the_file_the_key_and_the_problem(
        tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(body)
    assert_clean_exit_2(run("scan", str(SEED002), "--profile", str(path)), needle, str(path))


def test_unknown_profile_name_lists_the_built_ins() -> None:
    assert_clean_exit_2(run("scan", str(SEED002), "--profile", "nope"), "seed-002")


def test_unknown_check_in_checks_option() -> None:
    assert_clean_exit_2(run("scan", str(SEED002), "--checks", "NET-01,XYZ-1"), "XYZ-1")


def test_nonsense_flags_are_usage_errors() -> None:
    result = run("scan", str(SEED002), "--frobnicate")
    assert result.exit_code == 2 and "No such option" in result.stderr
    result = run("scan", str(SEED002), "--fail-on", "catastrophic")
    assert result.exit_code == 2 and "catastrophic" in result.stderr
    assert run("scan").exit_code == 2


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "out.json"
    assert_clean_exit_2(run("scan", str(SEED002), "-o", str(target)), "cannot write")


def test_unknown_check_id_in_checks_command() -> None:
    assert_clean_exit_2(run("checks", "NOPE-1"), "unknown check")


def test_unknown_provider_in_permissions() -> None:
    assert_clean_exit_2(run("permissions", "gcp"), "unknown provider")


def test_the_same_account_twice_is_refused_so_finding_ids_stay_unique() -> None:
    assert_clean_exit_2(run("scan", str(SEED002), str(SEED002)), "already read from")


def test_a_raw_object_missing_its_id_is_named_in_an_error_finding_and_the_rest_stands(
        tmp_path: Path) -> None:
    """Was exit 2 for the whole scan: the server without an id cannot be a resource, so its
    list counts as not fully read (an `error` finding names the object); the other
    servers' verdicts stand."""
    d = doc()
    del d["sections"][0]["collections"]["servers"]["global"][0]["id"]  # type: ignore[index]
    bad = tmp_path / "noid.json"
    bad.write_text(json.dumps(d))
    assert run("seal", str(bad)).exit_code == 0
    result = run("scan", str(bad), "--format", "json", "--no-timestamps")
    assert result.exit_code in (1, 3) and "Traceback" not in result.stderr
    found = findings_of(json.loads(result.stdout))
    named = [f for f in found if f["status"] == "error" and "servers app-1" in f["message"]
             and "KeyError" in f["message"]]
    assert named, [f["message"] for f in found if f["status"] == "error"]
    assert any(f["resource"].endswith("/server/102") and f["status"] in ("pass", "fail")
               for f in found)


@pytest.mark.parametrize(("body", "needle"), [
    ('database_ports=["5432-5433"]', "must be a port number"),
    ('admin_ports=["22-"]', "'22-' is not a port"),
    ('public_roles=[1]', "every element must be a string"),
])
def test_more_bad_parameters(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(f'[profile]\nname="x"\n[parameters]\n{body}\n')
    assert_clean_exit_2(run("scan", str(SEED002), "--profile", str(path)), needle)


def test_empty_checks_option_is_a_usage_error() -> None:
    result = run("scan", str(SEED002), "--checks", ",")
    assert result.exit_code == 2
    assert "internal error" not in result.stderr and "--checks" in result.stderr


def test_lower_case_jurisdictions_mean_the_same_as_upper_case(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[profile]\nname="x"\n[parameters]\njurisdictions=["eu"]\n'
                    '[[claims]]\nquote="EU"\nchecks=["res-01"]\n')
    result = run("scan", str(SEED002), "--profile", str(path), "--format", "json")
    doc = json.loads(result.stdout)
    assert [f["resource_name"] for f in findings_of(doc) if f["status"] == "fail"] == [
        "staging-worker"]
