"""Cloud-init user data as text, for the secret scan: gzip undone, and a MIME archive
(cloud-init's "mime-multi-part archive", what `cloud-init devel make-mime`, EKS and AWS
Batch launch templates write) part by part, each part's own Content-Transfer-Encoding
(base64, quoted-printable) and gzip undone. Used for EC2 user data and for Azure VM and
scale set custom data and user data (both are handed to cloud-init as they are).

The decoding is bounded (an attacker's user data is small and can expand enormously):
past a bound, or in a gzip stream that is corrupt or cut, `UserDataUnscanned` carries what
was decoded before (to be scanned: a secret in it is still stored) and why the rest was not.
"""

from __future__ import annotations

import re
from typing import Any

# Bounds of the user data decoding. EC2 takes at most 16 KB of user data (before base64);
# gzip expands that at most ~1,000 times, and a compressed MIME archive of compressed parts
# 1,000 times again (a 16 KB archive can hold gigabytes). cloud-init itself sets no bound;
# real archives (EKS, AWS Batch, `cloud-init devel make-mime`) decode to kilobytes and have
# a few parts. Beyond either bound the rest is not scanned: the instance is not known to be
# free of secrets (SEC-01 error, a secret found before it still fails).
USER_DATA_DECODED_MAX = 2 << 20  # characters of decoded text, all parts together
USER_DATA_PARTS_MAX = 1000  # MIME parts (boundary lines counted before parsing)
_BOUNDARY_LINE = re.compile(rb"^--", re.MULTILINE)


class UserDataUnscanned(ValueError):
    """Part of the user data could not be decoded within the bounds: `text` is what was
    decoded, `why` says what was not."""

    def __init__(self, why: str, text: str) -> None:
        super().__init__(why)
        self.why, self.text = why, text


def _gunzip(raw: bytes, budget: int) -> bytes:
    """`raw` decompressed when it is gzip (every member, and what trails them as it is), at
    most `budget` bytes of it: UserDataUnscanned beyond, or when the stream is corrupt or
    cut (what was decompressed before is kept in the exception: its secrets are stored in
    the user data all the same, `zcat` prints them before it complains)."""
    if raw[:2] != b"\x1f\x8b":  # gzip-compressed cloud-init (or a gzip part)
        return raw
    import zlib

    out = bytearray()
    data = raw
    try:
        while data[:2] == b"\x1f\x8b":  # one gzip member (RFC 1952)
            data = _inflate(data[_gzip_header(data):], out, budget)
    except zlib.error as exc:
        raise UserDataUnscanned(f"its gzip data is corrupt ({exc})",
                                out.decode("utf-8", errors="replace")) from None
    if len(out) + len(data) > budget:
        raise UserDataUnscanned(f"it decodes to more than {USER_DATA_DECODED_MAX} bytes",
                                out[:budget].decode("utf-8", errors="replace"))
    return bytes(out + data)


def _gzip_header(data: bytes) -> int:
    """The length of a gzip member's header (RFC 1952 2.3: FEXTRA, FNAME, FCOMMENT, FHCRC)."""
    import zlib

    if len(data) < 10 or data[2] != 8:
        raise zlib.error("not a deflate member")
    flags, pos = data[3], 10
    if flags & 4:
        pos += 2 + int.from_bytes(data[pos:pos + 2], "little")
    for bit in (8, 16):
        if flags & bit:
            pos = data.find(b"\0", pos) + 1
            if pos == 0:
                raise zlib.error("the header is cut")
    return pos + (2 if flags & 2 else 0)


def _inflate(data: bytes, out: bytearray, budget: int) -> bytes:
    """One member's deflate stream appended to `out` (at most `budget` bytes in all), its
    CRC-32 and length checked after (the bytes stay: a secret in them is found); what
    follows the member returned."""
    import zlib

    stream, start = zlib.decompressobj(-15), len(out)
    while not stream.eof:
        chunk = stream.decompress(data, budget + 1 - len(out))
        out += chunk
        if len(out) > budget:
            del out[budget:]
            raise UserDataUnscanned(
                f"it decodes to more than {USER_DATA_DECODED_MAX} bytes (gzip)",
                out.decode("utf-8", errors="replace"))
        data = stream.unconsumed_tail
        if not chunk and not data:
            raise zlib.error("the stream is cut")
    trailer = stream.unused_data
    member = memoryview(out)[start:]
    if (len(trailer) < 8 or int.from_bytes(trailer[:4], "little") != zlib.crc32(member)
            or int.from_bytes(trailer[4:8], "little") != len(member) & 0xFFFFFFFF):
        member.release()
        raise zlib.error("the checksum or length does not match")
    member.release()
    return trailer[8:]


# The charsets a part is decoded in when it declares one (others, and none: UTF-8, as
# cloud-init reads them): a secret in a UTF-16 part is still stored in the user data.
_CHARSETS = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
                       "utf-32-be", "ascii", "latin-1", "iso8859-15", "cp1252"})


def _charset(part: Any) -> str:
    import codecs

    try:
        name = codecs.lookup(part.get_content_charset() or "utf-8").name
    except (LookupError, ValueError, TypeError):
        return "utf-8"
    return name if name in _CHARSETS else "utf-8"


def decode(raw: bytes) -> str:
    """User data (its base64 undone) as text, as the module says; its MIME headers,
    preamble and epilogue are kept too. UserDataUnscanned past a bound or in a corrupt
    gzip stream."""
    raw = _gunzip(raw, USER_DATA_DECODED_MAX)
    # cloud-init reads user data as MIME when "mime-version:" is in its first 4096 bytes
    # (cloudinit/user_data.py, convert_string), whatever comes before it
    if b"mime-version:" not in raw[:4096].lower() and not (
            raw.lstrip()[:13].lower() == b"content-type:" and b"multipart/"
            in raw[:4096].lower()):
        return raw.decode("utf-8", errors="replace")
    if len(_BOUNDARY_LINE.findall(raw)) > 2 * USER_DATA_PARTS_MAX:
        raise UserDataUnscanned(f"its MIME archive has more than {USER_DATA_PARTS_MAX} parts",
                                "")
    import email

    parts: list[str] = []
    budget = USER_DATA_DECODED_MAX

    def add(*texts: str) -> None:
        nonlocal budget
        parts.extend(texts)
        budget -= sum(len(t) + 1 for t in texts)
        if budget < 0:
            raise UserDataUnscanned(
                f"its MIME archive decodes to more than {USER_DATA_DECODED_MAX} bytes",
                "\n".join(parts))

    for part in email.message_from_bytes(raw.lstrip()).walk():
        add(*(f"{k}: {v}" for k, v in part.items()))
        if part.is_multipart():
            add(*(str(x) for x in (part.preamble, part.epilogue) if x))
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            try:
                text = _gunzip(payload, budget).decode(_charset(part), errors="replace")
            except UserDataUnscanned as exc:
                raise UserDataUnscanned(exc.why, "\n".join([*parts, exc.text])) from None
            add(text)
    return "\n".join(parts)
