"""Hostile text from the estate is shown, never obeyed.

Resource names, labels and API error messages are chosen by whoever controls the estate (or
the snapshot file). The seed 002 Hetzner project is given names holding terminal escapes
("\\x1b[31m", the one-byte CSI "\\x9b"), a carriage return, a backspace, a new line, a
bidi override ("\\u202e"), a line separator, Markdown ("|", "`", "[x](http://evil)",
"![i](...)", "<img ...>", "**bold**"), bare links and e-mail addresses. Then:

- the table report (a terminal) holds no control character but its new lines, keeps one row
  per finding and shows each name as its visible escape (scanner.display.visible);
- the Markdown report keeps every table row's cells, and each cell decodes (code spans
  unwrapped, backslash escapes removed) to exactly the visible form of the name or message:
  nothing is a link, an image, HTML or emphasis;
- the HTML report shows the escapes; `diff`, `verify`, the progress line and the log lines
  on stderr are one visible line each.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from scanner import snapshot
from scanner.display import SafeFormatter, visible
from scanner.progress import Progress
from scanner.reports.markdown import md_code, md_text
from scanner.snapshot import Snapshot
from tests.hcloud_server import HcloudServer
from tests.helpers import ROOT, SEED002, findings_of, run

HOSTILE = [
    "\x1b[31mred\x1b[0m", "over\rwrite", "back\x08space", "two\nlines", "evil\u202egnp.exe",
    "csi\x9b2J", "line\u2028sep", "bell\x07", "a|b|c", "tick`s``", "[x](http://evil)",
    "![i](https://evil.example/p.png)", "<img src=x onerror=alert(1)>", "**bold** _it_",
    "see http://evil.example/login", "www.evil.example", "ops@evil.example",
]
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def hostile_snapshot(tmp_path: Path) -> Path:
    """Seed 002 with every server named after a hostile string (its id keeps it apart), and
    one more unattached volume per hostile string, named after it: a volume fails ENC-01
    (Hetzner volumes are not encrypted at rest), so every hostile name is in a failure."""
    snap = snapshot.load(SEED002)
    cols = snap.sections[0].collections
    for i, server in enumerate(cols["servers"]["global"]):
        server["name"] = f"{HOSTILE[i % len(HOSTILE)]}-{server['id']}"
    volumes = cols["volumes"]["global"]
    scratch = next(v for v in volumes if v["name"] == "scratch")
    volumes.extend({**scratch, "id": 9000 + i, "name": f"{h}-{9000 + i}",
                    "linux_device": f"/dev/disk/by-id/scsi-0HC_Volume_{9000 + i}"}
                   for i, h in enumerate(HOSTILE))
    out = tmp_path / "hostile.json"
    snapshot.write(Snapshot(sections=snap.sections), out)
    return out


def report(path: Path, fmt: str) -> str:
    result = run("scan", str(path), "--profile", "seed-002", "--format", fmt,
                 "--no-timestamps")
    assert result.exit_code == 1, result.output
    return result.stdout


def results(path: Path) -> dict[str, Any]:
    return json.loads(report(path, "json"))


# --- table ------------------------------------------------------------------------------------


def test_the_table_report_shows_control_characters_in_names_as_visible_escapes(
        tmp_path: Path) -> None:
    path = hostile_snapshot(tmp_path)
    text = report(path, "table")
    assert CONTROL.findall(text) == []
    for name in HOSTILE:
        assert visible(name) in text, name


def test_the_table_report_keeps_one_row_per_finding_whatever_the_names(tmp_path: Path) -> None:
    path = hostile_snapshot(tmp_path)
    text = report(path, "table")
    shown = [f for f in findings_of(results(path)) if f["status"] in ("fail", "error")]
    rows = [line for line in text.splitlines() if line.startswith(("FAIL ", "ERROR "))]
    assert len(rows) == len(shown)
    assert [r for r in rows if "two\\nlines" in r]


def test_table_cells_are_shown_as_named_not_parsed_as_numbers(tmp_path: Path) -> None:
    """Servers and volumes named like numbers, the only ENC-01 failures: a column of them
    alone would be parsed and reformatted by tabulate (007 -> 7, 1e5 -> 100000)."""
    snap = snapshot.load(SEED002)
    cols = snap.sections[0].collections
    numbers = iter(("007", "1e5", "12.0", "-0", "1.50", "1e-3", "0012", "+5", "2e2", "10"))
    for obj in cols["servers"]["global"] + cols["volumes"]["global"]:
        obj["name"] = next(numbers)
    path = tmp_path / "numbers.json"
    snapshot.write(Snapshot(sections=snap.sections), path)
    result = run("scan", str(path), "--checks", "ENC-01", "--format", "table")
    failing = [f["resource_name"] for f in findings_of(json.loads(run(
        "scan", str(path), "--checks", "ENC-01", "--format", "json").stdout))
        if f["status"] == "fail"]
    assert len(failing) >= 3
    rows = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    for name in failing:
        assert [r for r in rows if re.search(rf"ENC-01 +{re.escape(name.strip())} ", r)], name


# --- Markdown ---------------------------------------------------------------------------------

def cells(row: str) -> list[str]:
    """A GFM table row split on its unescaped pipes (an escaped one stays in its cell: GFM
    splits before any inline parsing, code spans included)."""
    assert row.startswith("| ") and row.endswith(" |"), row
    return [c.strip() for c in re.split(r"(?<!\\)\|", row[1:-1])]


def tokens(cell: str) -> list[tuple[str, str]]:
    """A cell's inline text as CommonMark reads it: ("code", content) for a code span (a run
    of n backticks to the next run of exactly n; one padding space each side dropped; GFM's
    `\\|` is a pipe), ("escaped", c) for a backslash escape of ASCII punctuation, ("text", c)
    for any other character."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(cell):
        ch = cell[i]
        if ch == "\\" and i + 1 < len(cell) and cell[i + 1] in PUNCTUATION:
            out.append(("escaped", cell[i + 1]))
            i += 2
        elif ch == "`":
            run_ = len(cell[i:]) - len(cell[i:].lstrip("`"))
            close = re.compile(rf"(?<!`){'`' * run_}(?!`)").search(cell, i + run_)
            if close is None:
                out += [("text", "`")] * run_
                i += run_
                continue
            body = cell[i + run_:close.start()]
            if body.startswith(" ") and body.endswith(" ") and body.strip():
                body = body[1:-1]
            out.append(("code", body.replace("\\|", "|")))
            i = close.end()
        else:
            out.append(("text", ch))
            i += 1
    return out


PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def decode(cell: str) -> str:
    """The characters a cell renders as."""
    return "".join(value for _, value in tokens(cell))


CODE, ESCAPE = "\x00", "\x01"  # stand-ins for a code span, and before an escaped character


def acting(cell: str) -> list[str]:
    """Markdown that would act, outside code spans: an unescaped [ ] < ` * ~ ! &, an
    unescaped _ but between two letters or digits (never emphasis there), a bare link
    (scheme://, www.) or an e-mail address (GFM links it even when escaped)."""
    toks = tokens(cell)

    def intraword(i: int) -> bool:
        return 0 < i < len(toks) - 1 and all(
            toks[j][0] == "text" and toks[j][1].isalnum() for j in (i - 1, i + 1))

    found = [v for i, (kind, v) in enumerate(toks) if kind == "text" and v in "[]<`*_~!&"
             and not (v == "_" and intraword(i))]
    plain = "".join(v if kind == "text" else CODE if kind == "code" else ESCAPE + v
                    for kind, v in tokens(cell))
    found += re.findall(f"(?<!{ESCAPE}):(?=//)|(?i:\\bwww\\.)", plain)
    found += re.findall(f"[^\\s{CODE}{ESCAPE}]{ESCAPE}?@\\S", plain)
    return found


def test_markdown_table_rows_keep_their_cells_whatever_the_names(tmp_path: Path) -> None:
    """Every row of every table has its table's cells, and each finding row decodes to the
    finding's own name, check and message (as visible escapes)."""
    path = hostile_snapshot(tmp_path)
    text = report(path, "markdown")
    expected = {(visible(f["resource_name"]), f["check"], visible(f["message"]))
                for f in findings_of(results(path))}
    names = {name for name, _, _ in expected}
    width = 0
    rows = 0
    for line in text.splitlines():
        if not line.startswith("| "):
            width = 0
            continue
        parts = cells(line)
        width = width or len(parts)  # a table's header row sets its width
        assert len(parts) == width, line
        if decode(parts[0]) in names:
            rows += 1
            got = (decode(parts[0]), decode(parts[1]), decode(parts[-2 if width == 5 else -1]))
            assert got in expected, line
    assert rows >= len(HOSTILE)


def test_markdown_names_and_messages_make_no_link_image_html_or_emphasis(
        tmp_path: Path) -> None:
    path = hostile_snapshot(tmp_path)
    text = report(path, "markdown")
    assert CONTROL.findall(text) == []
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    found = {line: acting(cell) for line in rows for cell in cells(line) if acting(cell)}
    assert found == {}
    shown = {decode(cell) for line in rows for cell in cells(line)}
    for name in HOSTILE:
        assert f"{visible(name)}-{9000 + HOSTILE.index(name)}" in shown, name


@pytest.mark.parametrize("text", [*HOSTILE, "", "`", "``", " lead", "trail ", "\\", "a\\|b",
                                  "\\`x`", "mailto:ops@evil.example", "https://u:p@h.example"])
def test_markdown_escaping_round_trips_every_hostile_text(text: str) -> None:
    for encoded in (md_code(text), md_text(text)):
        assert "\n" not in encoded and "\r" not in encoded
        assert re.split(r"(?<!\\)\|", encoded) == [encoded]  # no cell delimiter
        assert decode(encoded).strip() == visible(text).strip(), (text, encoded)
        assert acting(encoded) == [], (text, encoded)


def test_a_code_span_fence_is_longer_than_any_backtick_run_in_the_name() -> None:
    assert md_code("a``b") == "```a``b```"
    assert md_code("`") == "`` ` ``"  # padded: a span may not start with its fence's char
    assert md_code(" x") == "`  x `"
    assert md_code("plain") == "`plain`"


# --- HTML, diff, verify, progress, logs ------------------------------------------------------


def test_the_html_report_shows_bidi_and_control_characters_as_escapes(tmp_path: Path) -> None:
    path = hostile_snapshot(tmp_path)
    text = report(path, "html")
    assert re.findall("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]",
                      text) == []
    assert "evil\\u202egnp.exe" in text and "\\x1b[31mred" in text
    assert "<img src=x" not in text


@pytest.mark.parametrize("fmt", ["csv", "sarif", "junit", "ocsf"])
def test_file_formats_carry_no_raw_control_or_bidi_character_and_keep_the_names(
        tmp_path: Path, fmt: str) -> None:
    """CSV, SARIF, JUnit and OCSF end up on terminals too (`cat report.csv`, a CI log): CSV
    wrote ESC, BEL, BS and CR raw, and the JSON and XML formats the C1 CSI (U+009B), the bidi
    override and the line separator, which their encoders leave as they are. The CSV cells
    show them as visible escapes; JSON and XML as escapes of their own (the same values)."""
    import csv as csv_module
    import xml.etree.ElementTree as ET

    path = hostile_snapshot(tmp_path)
    text = report(path, fmt)
    assert CONTROL.findall(text.replace("\r\n", "").replace("\n", "")) == [], fmt
    if fmt == "csv":
        names = {row["resource_name"] for row in csv_module.DictReader(StringIO(text))}
        assert any("\\x1b[31mred" in n for n in names)
        assert any("evil\\u202egnp.exe" in n for n in names)
    elif fmt == "junit":
        ET.fromstring(text)
        assert "evil\u202egnp.exe" in text.replace("&#x202e;", "\u202e")
    else:
        docs = [json.loads(text)] if fmt == "sarif" else json.loads(text)
        assert "evil\u202egnp.exe" in json.dumps(docs, ensure_ascii=False)
        assert "csi\x9b2J" in json.dumps(docs, ensure_ascii=False)


def test_diff_shows_one_visible_line_per_changed_finding(tmp_path: Path) -> None:
    path = hostile_snapshot(tmp_path)
    before = tmp_path / "before.json"
    before.write_text(report(SEED002, "json"))
    after = tmp_path / "after.json"
    after.write_text(report(path, "json"))
    result = run("diff", str(before), str(after), "--fail-on", "none")
    assert result.exit_code == 0, result.output
    assert CONTROL.findall(result.stdout) == []
    new = [line for line in result.stdout.splitlines() if line.startswith("  NEW ")]
    assert len(new) >= len(HOSTILE)
    assert [line for line in new if "two\\nlines-9003" in line]


def test_verify_shows_a_hostile_account_name_escaped(tmp_path: Path) -> None:
    snap = snapshot.load(SEED002)
    snap.sections[0].account = "prod\x1b]0;owned\x07\nOK: forged line"
    out = tmp_path / "s.json"
    snapshot.write(Snapshot(sections=snap.sections), out)
    result = run("verify", str(out))
    assert result.exit_code == 0, result.output
    assert CONTROL.findall(result.stdout) == []
    assert "prod\\x1b]0;owned\\x07\\nOK: forged line" in result.stdout
    assert len(result.stdout.splitlines()) == 3


def test_the_progress_line_cannot_be_driven_by_a_scope_name() -> None:
    stream = StringIO()
    progress = Progress(stream, enabled=True)
    progress("aws", "eu-west-1\x1b[2K\u202e", "ec2.describe_instances")
    progress.close()
    drawn = stream.getvalue().replace("\r", "")  # its own carriage returns redraw the line
    assert CONTROL.findall(drawn) == []
    assert "eu-west-1\\x1b[2K\\u202e" in drawn


def test_a_log_line_is_one_visible_line_with_credentials_scrubbed() -> None:
    import logging

    formatter = SafeFormatter("%(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord("posture.x", logging.WARNING, __file__, 1,
                               "server %s: %s", ("web\x1b[8m", "denied\nINFO posture: all "
                                                 "passed (password=hunter2)"), None)
    line = formatter.format(record)
    assert "\n" not in line and "\x1b" not in line
    assert "web\\x1b[8m" in line and "hunter2" not in line


def test_api_error_text_reaches_stderr_as_one_visible_log_line(tmp_path: Path) -> None:
    """A live scan in a child process (in-process runs do not capture logging): the API's
    error message, quoting a hostile name with escapes and a forged line, is logged as one
    visible line."""
    token = "hcloud-hostile-token-0123456789abcdef0123456789abcdef0123456789"
    doc = json.loads(SEED002.read_text())
    data = {k: v["global"] for k, v in doc["sections"][0]["collections"].items()}
    with HcloudServer(data, token=token) as api:
        api.fail("volumes", 403, "forbidden",
                 message="volume \x1b[2J\x1b[Hdb\u202eatad\nWARNING posture: forged")
        done = subprocess.run(
            [sys.executable, "-m", "scanner.cli", "-v", "scan", "hetzner", "--checks",
             "ENC-01", "--format", "table"], cwd=tmp_path, text=True, capture_output=True,
            timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT), "HCLOUD_ENDPOINT": api.url,
                              "HCLOUD_TOKEN": token, "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    # 1: the servers' unencrypted disks are certain violations, read whatever the volumes
    assert done.returncode == 1, done.stderr
    assert CONTROL.findall(done.stderr + done.stdout) == []
    logged = [line for line in done.stderr.splitlines() if "hetzner volumes:" in line]
    assert logged and all("\\x1b[2J" in line for line in logged), done.stderr
    assert not [line for line in done.stderr.splitlines() if "forged" in line.split(":")[0]
                or line.startswith("WARNING posture: forged")]


# --- the escaping itself ----------------------------------------------------------------------


def test_visible_escapes_every_control_format_and_separator_character() -> None:
    hidden = [chr(c) for c in range(0x110000)
              if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp")]
    assert len(hidden) > 150
    for ch in hidden:
        shown = visible(f"a{ch}b")
        assert shown.startswith("a\\") and shown.endswith("b") and ch not in shown, repr(ch)


def test_visible_leaves_the_names_of_every_script_as_they_are() -> None:
    for name in ("Zürich-1", "東京-web", "Αθήνα", "مرحبا", "İstanbul", "db 🙂", "a\\b", "naïve"):
        assert visible(name) == name
