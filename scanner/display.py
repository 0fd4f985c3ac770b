"""Text from the estate, made safe to show on a terminal or in a plain-text file.

Resource names, labels, tags and API error messages come from whoever controls the estate
(or the snapshot file). Printed as they are, they can drive the terminal that shows them: an
ESC starts a control sequence (colours, cursor moves, a new window title, on some terminals
a clipboard write); a carriage return or a backspace overwrites what came before on the
line; a new line forges a line of its own (a fake `PASS`, a fake log entry); a bidi override
(U+202E) shows the text after it reversed, so a name reads as something it is not.

`visible` turns every character that is not plainly printable into a visible escape, in
Python's notation (`\\x1b`, `\\r`, `\\n`, `\\u202e`): the C0 controls, DEL, the C1 controls
(U+0080 to U+009F: U+009B is a one-byte CSI), the format characters (bidi embeddings,
overrides, isolates and marks, zero-width characters, the BOM, the soft hyphen), the line and
paragraph separators U+2028/U+2029, spaces other than the plain one, unpaired surrogates,
private-use and unassigned code points. Letters, digits, punctuation, symbols and emoji of
every script pass unchanged, and nothing is replaced by U+FFFD: the reader sees what the
name holds. A backslash is left as it is (a name may contain one); the escapes are visible,
never executed.

`SafeFormatter` applies it to log lines on stderr, and scrubs what looks like a credential.
"""

from __future__ import annotations

import logging
import re

from scanner.redact import scrub

# What a JSON or XML encoder leaves raw that still drives or misleads a terminal showing the
# file (`cat report.sarif`): DEL, the C1 controls (U+009B is a one-byte CSI), zero-width and
# bidi marks, embeddings, overrides and isolates, the line and paragraph separators, the BOM.
_INVISIBLE = re.compile("[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


# XML text content also carries a carriage return raw (an XML writer escapes it in attribute
# values only), which returns a terminal's cursor to the start of the line
_XML_INVISIBLE = re.compile("[\r\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


# What XML 1.0 cannot carry at all, not even as a character reference: the C0 controls but
# tab, new line and carriage return, lone surrogates, U+FFFE and U+FFFF
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_chars(text: str) -> str:
    """`text` with every character XML 1.0 cannot carry replaced by U+FFFD: a document that
    holds one raw is not well-formed, and no XML reader opens it."""
    return _NOT_XML.sub("\ufffd", text)


def json_visible(text: str) -> str:
    """Encoded JSON text with those characters as `\\uXXXX` escapes: the same JSON values
    (they can only be inside strings), nothing raw for a terminal to act on."""
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# The same characters as UTF-8 bytes: DEL; C1 U+0080-U+009F; U+200B-U+200F, U+2028-U+202E;
# U+2066-U+2069; U+FEFF
_INVISIBLE_UTF8 = re.compile(
    rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\x8b-\x8f\xa8-\xae]|\xe2\x81[\xa6-\xa9]|\xef\xbb\xbf")


def json_visible_bytes(data: bytes) -> bytes:
    """`json_visible` of UTF-8 encoded JSON; `data` itself when it holds none of those
    characters (ASCII without DEL, the common case, is one fast look)."""
    if (data.isascii() and b"\x7f" not in data) or not _INVISIBLE_UTF8.search(data):
        return data
    return json_visible(data.decode("utf-8")).encode("utf-8")


def xml_visible(text: str) -> str:
    """Serialized XML with those characters and the carriage return as character references
    (`&#x9b;`, `&#xd;`): the same document (they can only be in text and attribute values;
    a parser reads `&#xd;` as the carriage return it is, where it turns a raw one into a new
    line), nothing raw."""
    return _XML_INVISIBLE.sub(lambda m: f"&#x{ord(m.group()):x};", text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in "\t\n\r":
        return {"\t": "\\t", "\n": "\\n", "\r": "\\r"}[ch]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str, keep: str = "") -> str:
    """`text` with every character that is not plainly printable (see the module's doc)
    shown as an escape; the characters in `keep` (e.g. "\\n") are left as they are."""
    if text.isprintable():
        return text  # the common case, fast (isprintable is false for all of the above)
    return "".join(ch if (ch.isprintable() or ch == " " or ch in keep) else _escape(ch)
                   for ch in text)


def one_line(text: str) -> str:
    """`text` as one printable line (new lines and every other control escaped)."""
    return visible(text)


class SafeFormatter(logging.Formatter):
    """Log lines that cannot drive the terminal or forge another line: the message (with the
    arguments interpolated, which may quote a resource name or an API's error) is one visible
    line with credentials scrubbed; a traceback keeps its new lines and nothing else."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return visible(scrub(super().formatMessage(record)))

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return visible(scrub(super().formatException(ei)), keep="\n")

    def formatStack(self, stack_info: str) -> str:
        return visible(scrub(super().formatStack(stack_info)), keep="\n")
