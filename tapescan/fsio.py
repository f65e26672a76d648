"""Atomic file writes: write aside, flush to disk, then rename over the target.

A reader sees either the old file or the new one, never a half-written one, even if the writing process
is killed (the rename is atomic on POSIX file systems; the fsyncs make it durable across power loss).
The new file gets the mode any other program would give it (0666 less the umask), not mkstemp's private
0600: stores and results are meant to be read by other users, containers and Dask workers. A signal at any
moment leaves no temporary file behind.
A write that runs out of disk space or quota raises :class:`~tapescan.errors.DiskFullError` naming the folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from tapescan.errors import DiskFullError

_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# pyarrow raises OSError with the C library's text and no errno.
_DISK_FULL_TEXTS = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT))


def fsync_dir(path: Path) -> None:
    """Flush a directory entry so that a rename inside it survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` is a write that ran out of disk space or quota (ENOSPC, EDQUOT, or an OSError saying so)."""
    return isinstance(error, OSError) and (
        error.errno in _DISK_FULL_ERRNOS or any(text in str(error) for text in _DISK_FULL_TEXTS))


def disk_full_error(folder: Path | str | None, outcome: str) -> DiskFullError:
    """The error for a full disk holding `folder` (None: not known); `outcome` says what was left as it was."""
    disk = "the disk" if folder is None else f"the disk holding {folder}"
    return DiskFullError(f"{disk} is full; {outcome} Free some space on it and run the command again.")


@contextlib.contextmanager
def disk_full_named(folder: Path, outcome: str) -> Iterator[None]:
    """Turn running out of space in the block into a DiskFullError naming `folder` and saying `outcome` (what
    was left as it was); for writes that do not go through atomic_path, such as staging spills."""
    try:
        yield
    except OSError as error:
        if not is_disk_full(error) or isinstance(error, DiskFullError):
            raise
        raise disk_full_error(folder, outcome) from error


def _temporary_name(target: Path) -> Path:
    return target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target`, on error it is removed.

    The caller writes the whole file to the yielded path (by any library), then leaves the block. Running out of
    space inside the block or at the fsync/rename raises DiskFullError (the temporary file is removed first).
    """
    target = Path(target)
    with disk_full_named(target.parent, f"{target.name} was not written and is as it was (nothing half-written is "
                                        "left; a store keeps the commits completed before this one)."):
        target.parent.mkdir(parents=True, exist_ok=True)
        # The temporary file is created here rather than by mkstemp: os.open gives it the mode any program would
        # (0666 less the umask; mkstemp's is 0600), and `created` is set with no Python call in between, so a
        # Ctrl-C or SIGTERM at any moment leaves no temporary file behind (mkstemp's could be lost on the way
        # back from it).
        tmp, created = _temporary_name(target), False
        try:
            while not created:
                try:
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                    created = True
                except FileExistsError:  # another writer's file of that name
                    tmp = _temporary_name(target)
            os.close(fd)
            yield tmp
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            if created:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            raise
    fsync_dir(target.parent)


def write_bytes_atomic(target: Path | str, data: bytes) -> None:
    """Replace `target` with `data` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
