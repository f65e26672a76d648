"""One writer at a time per store: an exclusive lock on `STORE/.writer.lock`.

Readers never take the lock; they read whatever the manifest committed last.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tapescan.errors import StoreError

LOCK_NAME = ".writer.lock"


@contextlib.contextmanager
def writer_lock(root: Path, wait_seconds: float = 30.0, name: str = LOCK_NAME) -> Iterator[None]:
    """Hold the store's writer lock (or the lock file `name`); StoreError if another process keeps it."""
    path = root / name
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise StoreError(
                        f"another process (pid {holder}) has been writing to the store {root} for over "
                        f"{wait_seconds:.0f} s; wait for it to finish (the lock is released when it exits)."
                    ) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
