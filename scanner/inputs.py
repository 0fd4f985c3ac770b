"""Reading the files a user names (snapshots, results, profiles, suppressions, config).

Regular files only, checked before a byte is read: a FIFO would block forever waiting for a
writer, /dev/zero and /dev/urandom never end, a directory has no content. A file larger than
the caller's limit is refused from its size, before it is read.
"""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from scanner.errors import PostureError


class TooLarge(OSError):
    """The file is larger than the limit (`size` bytes, known before reading)."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than the {limit} byte limit", str(path))
        self.size, self.limit = size, limit


def read_regular(path: Path, limit: int) -> bytes:
    """The content of the regular file `path`, refusing more than `limit` bytes.

    Raises OSError: FileNotFoundError, IsADirectoryError, TooLarge, OSError(EINVAL) for a
    FIFO, device or socket, or what reading raises. The file is opened non-blocking (opening
    a FIFO does not wait for a writer) and checked on the open descriptor (no race between the
    check and the read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, device or socket)",
                          str(path))
        if info.st_size > limit:
            raise TooLarge(path, info.st_size, limit)
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    # Read what fstat saw (plus one byte: the file may have grown since), then on in 16 MiB
    # pieces up to the limit: never one buffer of `limit` bytes (a limit of 2**40 in the
    # environment must not be an allocation of 1 TiB).
    chunks: list[bytes] = []
    total = 0
    want = min(limit, info.st_size) + 1
    with fh:
        while total <= limit:
            chunk = fh.read(min(want, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            want = 16 * 1024**2
    if total > limit:
        raise TooLarge(path, total, limit)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


TEXT_LIMIT = 16 * 1024**2  # profiles, suppressions, config: far above any real one


def read_text(path: Path, limit: int = TEXT_LIMIT) -> str:
    """`read_regular` decoded as UTF-8 (UnicodeDecodeError when it is not)."""
    return read_regular(path, limit).decode("utf-8")


def read_toml(path: Path, missing: str, error: type[PostureError] = PostureError
              ) -> dict[str, Any]:
    """A TOML file the user names; every problem is one `error` naming the file
    (`missing` is the whole message for a file that does not exist)."""
    try:
        return tomllib.loads(read_text(path))
    except FileNotFoundError:
        raise error(missing) from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise error(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise error(f"{path}: not valid TOML: nested too deeply") from None
