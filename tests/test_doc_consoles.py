"""Every ```console example of README.md and docs/*.md is a test (issue 17).

Each block's `$ ` commands (a line ending in `\\` continues on the next) run in `bash` in a
fresh temporary folder holding copies of fixtures/ and docs/examples/, with the installed
`posture` first on PATH, HOME in that folder, stdin empty and stderr merged into stdout.
Their output must be what the block shows after them, with these normalisations on both
sides:
- timestamps (`2026-11-20T02:00:00Z`) -> <TIME>, SHA-256 digests -> <SHA256>, shortened
  digests (`51a73e337ae68ec6...`) -> <DIGEST>..., trailing blanks dropped;
- a doc line that is exactly `...` stands for any number of output lines (none included);
  `...` inside a doc line stands for any text on that line.
A block that needs what the test cannot give (a live cloud API, a file the reader makes
first) says so on the line just before its fence: `<!-- console: not run: REASON -->`;
it is reported as skipped with that reason (pytest -ra), never silently.

When a command's output changed, the test names the file, the command's line and the first
doc line that differs, with the output to paste: update the doc, or fix the regression.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```console[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
MARK = "@@posture-doc-command-"
NOT_RUN = re.compile(r"<!--\s*console:\s*not run:\s*(.+?)\s*-->\s*$")


@dataclass(frozen=True)
class Command:
    line: int  # of the `$ ` line in the doc
    text: str  # the shell command, continuations joined
    expected: tuple[tuple[int, str], ...]  # (doc line, text) of what it prints


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence
    commands: tuple[Command, ...]
    not_run: str | None

    @property
    def name(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def parse(doc: Path) -> list[Block]:
    text = doc.read_text(encoding="utf-8")
    blocks: list[Block] = []
    for m in FENCE.finditer(text):
        fence_line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = NOT_RUN.search(before)
        commands: list[Command] = []
        lines = m.group(1).split("\n")[:-1]
        i = 0
        while i < len(lines):
            line = lines[i]
            number = fence_line + 1 + i
            if not line.startswith("$ "):
                if not commands:
                    raise AssertionError(f"{doc.relative_to(ROOT)}:{number}: a console block "
                                         "starts with output, not a `$ ` command")
                last = commands[-1]
                commands[-1] = Command(last.line, last.text, (*last.expected, (number, line)))
                i += 1
                continue
            command = line[2:]
            while command.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command.rstrip()[:-1] + " " + lines[i].strip()
            commands.append(Command(number, command, ()))
            i += 1
        blocks.append(Block(doc, fence_line, tuple(commands),
                            marker.group(1) if marker else None))
    return blocks


BLOCKS = [block for doc in DOCS for block in parse(doc)]

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_SHA = re.compile(r"\b[0-9a-f]{64}\b")
_SHORT = re.compile(r"\b[0-9a-f]{12,63}(\.\.\.|…)")


def normalise(line: str) -> str:
    line = _TIME.sub("<TIME>", line.rstrip())
    line = _SHA.sub("<SHA256>", line)
    return _SHORT.sub(r"<DIGEST>\1", line)


def line_matches(doc_line: str, out_line: str) -> bool:
    if doc_line == out_line:
        return True
    if "..." not in doc_line:
        return False
    pattern = ".*".join(re.escape(part) for part in doc_line.split("..."))
    return re.fullmatch(pattern, out_line) is not None


def first_difference(expected: list[tuple[int, str]], output: list[str]
                     ) -> tuple[int | None, str] | None:
    """None when `output` is what `expected` shows (with `...` lines as gaps); else the doc
    line that differs (None: the output goes on past the doc's end) and the output line there
    ('' when the output ended first)."""

    def progress(failed: tuple[int | None, int]) -> tuple[int, int]:
        return (len(expected) if failed[0] is None else failed[0], failed[1])

    def match(e: int, o: int) -> tuple[int | None, int] | None:
        # returns None on a match, else (doc line index that failed, output index)
        while e < len(expected):
            _, text = expected[e]
            if text.strip() == "...":
                if e + 1 == len(expected):
                    return None
                best: tuple[int | None, int] | None = None
                for start in range(o, len(output) + 1):
                    failed = match(e + 1, start)
                    if failed is None:
                        return None
                    if best is None or progress(failed) > progress(best):
                        best = failed
                return best
            if o >= len(output) or not line_matches(text, output[o]):
                return (e, o)
            e, o = e + 1, o + 1
        return None if o == len(output) else (None, o)

    failed = match(0, 0)
    if failed is None:
        return None
    e, o = failed
    got = output[o] if o < len(output) else ""
    return (expected[e][0] if e is not None else None, got)


def workspace(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures", symlinks=False)
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    (tmp_path / "home").mkdir()
    return tmp_path


def environment(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("POSTURE_", "HCLOUD_", "AZURE_", "AWS_", "COLUMNS", "LINES"))}
    return {**keep, "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "data"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{keep.get('PATH', '')}",
            "TZ": "UTC", "LC_ALL": "C.UTF-8", "PYTHONWARNINGS": "ignore"}


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_console_example_prints_what_the_doc_shows(block: Block, tmp_path: Path) -> None:
    if block.not_run:
        pytest.skip(f"{block.name}: not run: {block.not_run}")
    assert block.commands, f"{block.name}: a console block without a `$ ` command"
    cwd = workspace(tmp_path)
    # one shell for the block: `$ echo $?` sees the exit code of the command before it
    script = ["exec 2>&1"]
    for n, command in enumerate(block.commands):
        script += [f"__rc=$?; printf '{MARK}%d@@\\n' {n}; (exit $__rc)", command.text]
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd,
                          env=environment(tmp_path), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, text=True, timeout=600)
    outputs = re.split(rf"\n?{MARK}\d+@@\n", done.stdout)[1:]
    assert len(outputs) == len(block.commands), done.stdout
    for command, text in zip(block.commands, outputs, strict=True):
        output = [normalise(line) for line in text.rstrip("\n").split("\n")]
        if output == [""]:
            output = []
        expected = [(n, normalise(text)) for n, text in command.expected]
        while expected and not expected[-1][1]:
            expected.pop()
        differs = first_difference(expected, output)
        if differs is None:
            continue
        doc_line, got = differs
        where = (f"line {doc_line} shows {dict(command.expected)[doc_line]!r}"
                 if doc_line is not None else "the doc shows no more lines")
        pytest.fail(
            f"{block.doc.relative_to(ROOT)}:{command.line}: `$ {command.text}`: {where}, "
            + (f"the output has {got!r} there" if got else "the output has a blank line or "
               "ends there") + ". The whole output (normalised) is:\n"
            + "\n".join(output), pytrace=False)


def test_the_docs_hold_console_examples() -> None:
    """The collector finds the blocks (a changed fence syntax must not make this vacuous)."""
    run = [b for b in BLOCKS if not b.not_run]
    assert len(run) >= 15 and sum(len(b.commands) for b in run) >= 25


def test_the_matcher_finds_the_line_that_differs() -> None:
    expected = [(10, "a"), (11, "..."), (12, "x ... z"), (13, "end")]
    assert first_difference(expected, ["a", "1", "2", "x y z", "end"]) is None
    assert first_difference(expected, ["a", "x y z", "end"]) is None
    assert first_difference(expected, ["a", "x y z", "END"]) == (13, "END")
    assert first_difference([(5, "a")], ["a", "b"]) == (None, "b")
    assert first_difference([(5, "a"), (6, "b")], ["a"]) == (6, "")
    assert normalise("at 2026-11-20T02:00:00Z sha256 " + "ab" * 32) == "at <TIME> sha256 <SHA256>"
