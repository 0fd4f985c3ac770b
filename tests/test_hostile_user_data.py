"""Hostile EC2 user data (an attacker shapes what DescribeInstanceAttribute returns): the
decoding (gzip, a cloud-init MIME archive, its parts' encodings) stays within its bounds of
time and memory, and what it could not decode is never taken as free of secrets. The
verdicts over moto are in tests/test_aws_secrets.py."""

from __future__ import annotations

import base64
import gzip
import time

import pytest

from scanner import secret_scan as collect


def _decode(raw: bytes) -> tuple[str, bool]:
    """(the text decoded, whether part of it was left unscanned)."""
    try:
        return collect.decode_user_data(base64.b64encode(raw).decode()), False
    except ValueError as exc:  # UserDataUnscanned (a ValueError)
        return getattr(exc, "text", ""), True


def _archive(parts: list[bytes]) -> bytes:
    body = b"".join(b"--B\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: "
                    b"base64\n\n" + base64.encodebytes(p) for p in parts)
    return b'Content-Type: multipart/mixed; boundary="B"\nMIME-Version: 1.0\n\n' + body + \
        b"--B--\n"


def test_a_gzipped_archive_of_gzipped_parts_decodes_within_its_bound() -> None:
    """2 KB of user data (EC2 takes 16 KB): a gzipped MIME archive of 20 base64 parts, each
    16 MB of gzipped text, 320 MB in all (all of it was decoded and joined: ~700 MB held;
    170 such parts fit in 16 KB, 2.7 GB)."""
    inner = gzip.compress(b"A" * (16 << 20), 9)
    raw = gzip.compress(_archive([inner] * 20), 9)
    assert len(raw) < 4 << 10
    start = time.process_time()
    text, unscanned = _decode(raw)
    assert unscanned
    assert len(text) <= 2 << 20
    assert time.process_time() - start < 1.0


def test_thousands_of_mime_parts_are_refused_before_they_are_parsed() -> None:
    """100,000 empty parts in 1 KB of gzip (each one a message object once parsed)."""
    raw = gzip.compress(b'Content-Type: multipart/mixed; boundary="B"\n\n'
                        + b"--B\n\nx\n" * 100_000 + b"--B--\n", 9)
    start = time.process_time()
    text, unscanned = _decode(raw)
    assert unscanned and text == ""
    assert time.process_time() - start < 0.3


def test_what_precedes_a_bound_or_a_corrupt_stream_is_still_scanned() -> None:
    secret = b"#!/bin/bash\nexport DB_PASSWORD=s3cr3t!x\n"
    cut = gzip.compress(secret + b"echo ready\n" * 400_000)[:-2000]
    for raw in (gzip.compress(secret + b"echo ready\n" * 400_000, 9), cut,
                _archive([secret, gzip.compress(b"B" * (3 << 20))])):
        text, unscanned = _decode(raw)
        assert unscanned
        assert collect.scan_text(text) == ["DB_PASSWORD"]


@pytest.mark.parametrize("raw", [
    b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\n\nno end",
    b"MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n!!!not base64@@@",
    b"MIME-Version: 1.0\nContent-Type: text/plain; charset=punycode\n\n\xff\xfe",
    b"MIME-Version: 1.0\nContent-Type: text/plain; charset=\"\x00\"\n\nx",
    b"MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--\n\n",
    b"MIME-Version: 1.0\nContent-Type: application/gzip\nContent-Transfer-Encoding: base64"
    b"\n\nH4sIAAAAAAAA",  # a gzip header and nothing after
    b"\x1f\x8b\x08\x1c" + b"\x00" * 6 + b"\xff" * 40,  # FNAME never ends
    b"\x1f\x8b\x09\x00" + b"\x00" * 30,  # not deflate
    gzip.compress(b"x=1\n") + b"\x1f\x8b",  # a second member cut in its header
])
def test_malformed_archives_and_streams_decode_or_are_unscanned_never_raise_otherwise(
        raw: bytes) -> None:
    text, _ = _decode(raw)
    assert isinstance(text, str)
