"""Atomic file writes: write aside, flush to disk, then rename over the target.

A reader sees either the old file or the new one, never a half-written one, even if the writing process
is killed (the rename is atomic on POSIX file systems; the fsyncs make it durable across power loss).
The new file gets the mode any other program would give it (0666 less the umask), not mkstemp's private
0600: stores and results are meant to be read by other users, containers and Dask workers.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (/proc), else by a locked swap."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode `open(path, "w")` would give a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


def fsync_dir(path: Path) -> None:
    """Flush a directory entry so that a rename inside it survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target`, on error it is removed.

    The caller writes the whole file to the yielded path (by any library), then leaves the block.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, default_file_mode())  # mkstemp makes it 0600
    finally:
        os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_bytes_atomic(target: Path | str, data: bytes) -> None:
    """Replace `target` with `data` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
