"""Where numba keeps the compiled kernels (`cache=True`) when the usual places are not writable.

numba caches beside the package (`__pycache__`) or in the user's cache folder (`~/.cache/numba`). A user who
can write neither — another uid reading a shared install, a Dask worker under a service account, a container
whose user has no home — would otherwise fail at import with numba's "cannot cache function ...: no locator
available". Such a user gets a private folder of their own in the temp directory instead (mode 0700, checked
to be theirs: numba loads compiled code from it). `NUMBA_CACHE_DIR`, when set, is always left to decide.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def writable(folder: Path) -> bool:
    """Whether this process can create `folder` (if missing) and a file in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def user_cache_folder() -> Path | None:
    """numba's per-user cache folder ($XDG_CACHE_HOME/numba or ~/.cache/numba); None without a home."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no HOME and no password entry
            return None
    return Path(base) / "numba"


def private_temp_folder() -> Path:
    """A cache folder in the temp directory that only this user can write: created 0700, or reused when it
    already is this user's and nobody else can write it; a fresh one otherwise."""
    folder = Path(tempfile.gettempdir()) / f"tapescan-numba-cache-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        info = folder.lstat()
        if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
                or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            return Path(tempfile.mkdtemp(prefix="tapescan-numba-cache-"))
    return folder


def cache_folder_needed() -> Path | None:
    """The folder numba must be told to use, or None when its own places work (or NUMBA_CACHE_DIR is set)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    if writable(PACKAGE / "__pycache__"):
        return None
    user = user_cache_folder()
    if user is not None and writable(user):
        return None
    return private_temp_folder()


def ensure_kernel_cache() -> None:
    """Point numba at a usable cache folder if its own are not writable; call before any kernel is defined.

    Through NUMBA_CACHE_DIR, which numba and numba-cuda read when they load (ingest's worker processes inherit
    it), and in their loaded configs when numba was imported first.
    """
    folder = cache_folder_needed()
    if folder is None:
        return
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    for name in ("numba.core.config", "numba.cuda.core.config"):
        config = sys.modules.get(name)
        if config is not None:
            config.CACHE_DIR = str(folder)
