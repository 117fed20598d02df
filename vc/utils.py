"""Small helpers shared across the package: atomic file writes, and cleaning up after killed ones."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

from vc.errors import WriteError

# Why an output cannot be written, as a user can fix it: no space or quota, no permission,
# a read-only filesystem, a file too large for it.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG})


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    Readers never see a half-written file, and a failure leaves any old file untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp makes the file owner-only (0600); results are shared on a cluster, so give the
    # new file the mode open() would (0644 under umask 022).
    os.fchmod(fd, 0o666 & ~current_umask())
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as e:
        if e.errno in WRITE_ERRNOS:
            raise WriteError(f"{path}: cannot write ({e.strerror})") from None
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# What atomic_path names its temporary files: "." + the target's name + "." + mkstemp's 8
# random characters + ".tmp". Only these are ours to clean up.
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def remove_stale_temps(*directories: Path) -> list[Path]:
    """Delete the temporary files that atomic_path writes in ``directories`` (not below them),
    left behind when a process was killed mid-write; returns those removed. Only for
    directories no other process is writing into (an experiment's, by its one trainer)."""
    removed = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if _TEMP_NAME.fullmatch(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


@contextlib.contextmanager
def exclusive_output(directory: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (made if missing) while ``what`` writes into it,
    so that a second writer refuses with one line rather than mix its files into ours. The
    lock is flock(2) on the directory itself: no lock file to leave behind, and the kernel
    drops it when the process dies, so a killed run never blocks the next one."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WriteError(f"{directory}: another run is writing into it now; wait for it to end, or give "
                             f"{what} another output") from None
        yield
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask (os.umask can only be read by setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")  # transcripts are UTF-8 whatever the locale (recipes set LC_ALL=C)
