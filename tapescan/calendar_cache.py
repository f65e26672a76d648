"""The NYSE schedule kept on disk between processes: asking pandas-market-calendars for 50 years of sessions takes
about 0.3 s, which every tapescan command paid at its first calendar question.

One `.npz` per (span, pandas-market-calendars version, tapescan's holiday tables) in the user's cache folder
(`$XDG_CACHE_HOME/tapescan/calendar` or `~/.cache/tapescan/calendar`), written atomically; anything unreadable
is rebuilt, and a folder that cannot be written only means the schedule is built each time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from importlib.metadata import version
from pathlib import Path

import numpy as np

from tapescan.fsio import atomic_path

#: Bumped when the arrays a schedule holds change meaning.
FORMAT = 1
#: The arrays of a stored schedule.
ARRAYS = ("days", "open_ns", "close_ns", "closure_days", "closure_names")


def folder() -> Path | None:
    """Where schedules are kept; None without a home folder."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "tapescan" / "calendar"


def path_for(first: str, last: str, tables: object) -> Path | None:
    """The file of the schedule over [first, last] built by this pandas-market-calendars with `tables` (tapescan's
    holiday names and special closures, whose text goes into the key)."""
    base = folder()
    if base is None:
        return None
    digest = hashlib.sha256(repr(tables).encode()).hexdigest()[:12]
    return base / f"nyse-{first}-{last}-pmc{version('pandas_market_calendars')}-{digest}-v{FORMAT}.npz"


def load(path: Path | None) -> dict[str, np.ndarray] | None:
    """The stored arrays, or None when there are none or they cannot be read."""
    if path is None:
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in ARRAYS}
    except (OSError, ValueError, KeyError):
        return None


def save(path: Path | None, arrays: dict[str, np.ndarray]) -> None:
    """Store `arrays` at `path`; a folder that cannot be written is not an error (the next process builds again)."""
    if path is None:
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as sink:
            np.savez(sink, **arrays)
