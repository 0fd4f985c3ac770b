"""Writing the files a user names (reports, snapshots, results): atomically, and never over
an input.

Every output is written to a temporary file in the target's folder and renamed into place
(`os.replace`, atomic on POSIX): a run that fails half way leaves the old file (or none),
never a truncated one; and the rename replaces a symlink at that name instead of writing
through it. `refuse_clobber` refuses, before anything runs, an output that is the same file
(same device and inode, whatever the path: a hard link, a symlink, `./x`) as an input or as
another output.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from scanner.errors import PostureError


@contextlib.contextmanager
def atomic(path: Path) -> Iterator[BinaryIO]:
    """A binary file object whose content becomes `path` when the block ends without an
    exception (mode 0644 less the umask, like a file opened for writing); on an exception the
    temporary file is removed and `path` is untouched.

    A path that exists and is not a regular file (`-o /dev/null`, `/dev/stdout`, a FIFO a
    pipeline reads) is written in place: renaming over it would replace the device or pipe
    with a regular file (as root, `/dev/null` itself); so is one that names a file descriptor
    (`/dev/stdout` redirected to a file, `_names_a_descriptor`)."""
    try:
        special = not stat.S_ISREG(os.stat(path).st_mode) or _names_a_descriptor(path)
    except OSError:  # does not exist yet (or a dangling symlink): a new regular file
        special = False
    if special:
        with path.open("wb") as direct:
            yield direct
        return
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_DESCRIPTORS = ("/proc/", "/dev/fd/")  # and /dev/stdout, /dev/stderr (links into them)


def _names_a_descriptor(path: Path) -> bool:
    """Whether `path` names an open file descriptor: /dev/stdout, /dev/stderr, a path in
    /proc or /dev/fd, or a symbolic link (through links) to one. `/dev/stdout` is a link to
    `/proc/self/fd/1`, which is the regular file a shell redirected stdout to (`-o
    /dev/stdout > report.json`): renaming over it would replace the link (as root,
    /dev/stdout itself) and leave the redirected file empty; such a path is written in
    place."""
    name = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        if name.startswith(_DESCRIPTORS) or name in ("/dev/stdout", "/dev/stderr"):
            return True
        if not os.path.islink(name):
            return False
        name = os.path.abspath(os.path.join(os.path.dirname(name), os.readlink(name)))
    return False


def write_atomic(path: Path, data: bytes) -> None:
    with atomic(path) as out:
        out.write(data)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except (OSError, ValueError):  # missing, or not a path at all (a NUL byte): no file
        return None
    return info.st_dev, info.st_ino


def _resolved(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, ValueError):
        return str(path)


def refuse_clobber(inputs: Iterable[tuple[str, Path]], outputs: Iterable[tuple[str, Path]]
                   ) -> None:
    """PostureError when an output is an input or another output (same file: same device
    and inode, or, for files that do not exist yet, the same resolved path). Each pair is
    (what it is, e.g. "--record", path)."""
    seen: dict[object, str] = {}
    for what, path in inputs:
        ident = _identity(path)
        if ident is not None:
            seen.setdefault(ident, f"{what} {path}")
    for what, path in outputs:
        key: object = _identity(path) or ("new", _resolved(path))
        if key in seen:
            raise PostureError(f"{what} {path}: is the same file as {seen[key]}; refusing "
                               "to overwrite it")
        seen[key] = f"{what} {path}"
