"""The panel cache: decoded regular-session panels of whole sessions, kept beside the store for repeated reads.

Sweeps, backtests and parameter searches read the same sessions again and again, and a Parquet read spends most
of its time decoding (bench/RESULTS.md). A cached session is the `SessionPanel` of every stored symbol, written
once as an uncompressed Arrow IPC file that later reads memory-map and copy at memory speed.

Never stale, by construction: an entry is named after the session's partition file (`2024-01-02.g00000007-
3fa2c1d0.arrow`), and store files are immutable and uniquely named, so a write that replaces a session's file
leaves that session's entry unused (and deleted when next seen) while every other entry stays valid. An entry is
also refused if its minute axis is not the calendar's for that session. Entries are added only by
:func:`build` (`tapescan cache build`), never as a side effect of a read, and the cache keeps itself under its
size cap by evicting the least recently read entries. Deleting the folder at any time is safe.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from tapescan import calendar
from tapescan.errors import StoreError
from tapescan.fsio import atomic_path, write_bytes_atomic
from tapescan.store.manifest import Manifest
from tapescan.store.reader import SessionPanel
from tapescan.store.schema import PRICE_FIELDS

#: The cache's folder inside the store (outside the manifest: nothing in it is store data).
CACHE_FOLDER = "cache"
#: Entries of this layout; a new layout gets a new folder, so old entries are never misread.
PANELS_FOLDER = "panels-v1"
SETTINGS_NAME = "settings.json"
SUFFIX = ".arrow"
#: The cap when `tapescan cache build` was never given one: about 200 sessions of 10,000 symbols.
DEFAULT_MAX_BYTES = 32 * 2**30
#: Value columns of an entry, each a fixed-size list (one symbol's session) of the panel's row.
VALUE_COLUMNS = (*PRICE_FIELDS, "volume", "mask")
_FIRST_MINUTE_KEY = b"first_minute_ns"


@dataclass(frozen=True)
class CacheEntry:
    """One cached session file."""

    path: Path
    day: dt.date
    source: str  # the stem of the partition file it was built from
    size: int
    last_read: float  # seconds since the epoch (the file's modification time, touched on every read)


@dataclass(frozen=True)
class CacheInfo:
    """What `tapescan cache info` shows."""

    folder: Path
    max_bytes: int
    valid: list[CacheEntry]  # entries of the store's current partition files, oldest session first
    stale: list[CacheEntry]  # entries of partition files the store no longer has

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.valid + self.stale)


class PanelCache:
    """The panel cache of the store at `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / CACHE_FOLDER / PANELS_FOLDER

    # --- settings ------------------------------------------------------------------------------------------

    @property
    def settings_path(self) -> Path:
        return self.root / CACHE_FOLDER / SETTINGS_NAME

    def max_bytes(self) -> int:
        """The size cap: the last one `build` was given, else DEFAULT_MAX_BYTES."""
        try:
            return int(json.loads(self.settings_path.read_text())["max_bytes"])
        except (OSError, ValueError, KeyError, TypeError):
            return DEFAULT_MAX_BYTES

    def set_max_bytes(self, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise StoreError(f"the cache's size cap must be positive, not {max_bytes} bytes.")
        self.settings_path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.settings_path, json.dumps({"max_bytes": max_bytes}).encode())

    # --- entries -------------------------------------------------------------------------------------------

    def entries(self) -> list[CacheEntry]:
        """Every entry file, oldest session first (unfinished temporaries and foreign files ignored)."""
        if not self.folder.is_dir():
            return []
        out = []
        for path in self.folder.iterdir():
            parsed = _parse_name(path.name)
            if parsed is None:
                continue
            with contextlib.suppress(FileNotFoundError):  # evicted by another process meanwhile
                stat = path.stat()
                out.append(CacheEntry(path, parsed[0], parsed[1], stat.st_size, stat.st_mtime))
        return sorted(out, key=lambda entry: (entry.day, entry.source))

    def info(self, manifest: Manifest) -> CacheInfo:
        live = _sources(manifest)
        valid, stale = [], []
        for entry in self.entries():
            (valid if live.get(entry.day) == entry.source else stale).append(entry)
        return CacheInfo(self.folder, self.max_bytes(), valid, stale)

    def path_for(self, manifest: Manifest, day: dt.date) -> Path | None:
        """Where `day`'s entry for the store's current partition file lives; None when the store lacks `day`."""
        entry = manifest.bars_1m.get(day.isoformat())
        return None if entry is None else self.folder / f"{day.isoformat()}.{_source(entry.file)}{SUFFIX}"

    # --- reading -------------------------------------------------------------------------------------------

    def read(self, manifest: Manifest, day: dt.date, symbols: list[str] | None,
             without_open: bool = False) -> SessionPanel | None:
        """`day`'s regular-session panel from the cache, rows as `Store.read_session` gives them (open None with
        `without_open`); None when the cache lacks a usable entry (the caller reads the store)."""
        path = self.path_for(manifest, day)
        if path is None:
            return None
        try:
            panel = _panel(day, np.fromfile(path, dtype=np.uint8), symbols, without_open)
        except FileNotFoundError:
            return None
        except (pa.ArrowException, OSError, ValueError, KeyError):  # damaged or foreign: rebuilt by `build`
            _remove(path)
            return None
        if panel is None:  # built under another calendar for this session
            _remove(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # least recently read is evicted first
        return panel

    # --- writing -------------------------------------------------------------------------------------------

    def build(self, manifest: Manifest, days: list[dt.date], read: Callable[[dt.date], SessionPanel],
              max_bytes: int | None = None, on_session: Callable[[dt.date], None] | None = None) -> BuildReport:
        """Add an entry for each of `days` the cache lacks (`read` gives the session's full panel), evicting the
        least recently read entries beyond the cap after each (so the disk never holds more than the cap and one
        session). Stale entries are deleted first."""
        if max_bytes is not None:
            self.set_max_bytes(max_bytes)
        cap = self.max_bytes()
        self.folder.mkdir(parents=True, exist_ok=True)
        removed = self.remove_stale(manifest)
        asked = {day: self.path_for(manifest, day) for day in days}
        missing = [day for day, path in asked.items() if path is None]
        if missing:
            raise StoreError(f"the store holds no bars for the session {missing[0]}.")
        added, present, evicted = [], 0, []
        for day, path in asked.items():
            if path.exists():
                present += 1
                os.utime(path)
            else:
                _write(path, read(day))
                added.append(day)
                evicted += self.evict(cap, keep=set(asked.values()))
            if on_session is not None:
                on_session(day)
        return BuildReport(added, present, removed, evicted, self.info(manifest))

    def remove_stale(self, manifest: Manifest) -> int:
        """Delete the entries of partition files the store no longer has; how many there were."""
        stale = self.info(manifest).stale
        for entry in stale:
            _remove(entry.path)
        return len(stale)

    def evict(self, cap: int, keep: set[Path] = frozenset()) -> list[dt.date]:
        """Delete the least recently read entries until the cache fits `cap`; entries in `keep` (those just asked
        for) go last, so a build larger than the cap keeps its latest sessions."""
        entries = sorted(self.entries(), key=lambda entry: (entry.path in keep, entry.last_read, entry.day))
        total = sum(entry.size for entry in entries)
        evicted = []
        for entry in entries:
            if total <= cap:
                break
            _remove(entry.path)
            total -= entry.size
            evicted.append(entry.day)
        return evicted

    def clear(self, days: set[dt.date] | None = None) -> int:
        """Delete every entry (or those of `days`); how many."""
        doomed = [entry for entry in self.entries() if days is None or entry.day in days]
        for entry in doomed:
            _remove(entry.path)
        return len(doomed)


@dataclass(frozen=True)
class BuildReport:
    """What one `build` did."""

    added: list[dt.date]
    present: int  # sessions asked for that were cached already
    removed_stale: int
    evicted: list[dt.date]
    info: CacheInfo


# --- the file layout -------------------------------------------------------------------------------------------


def _source(file: str) -> str:
    """The stem of a partition file's path (unique per write: an entry's key)."""
    return PurePosixPath(file).stem


def _sources(manifest: Manifest) -> dict[dt.date, str]:
    """Each stored session's partition file stem."""
    return {dt.date.fromisoformat(key): _source(entry.file) for key, entry in manifest.bars_1m.items()}


def _parse_name(name: str) -> tuple[dt.date, str] | None:
    """(session, partition stem) of an entry file's name; None for anything else (e.g. a temporary)."""
    if not name.endswith(SUFFIX) or name.startswith("."):
        return None
    day, _, source = name[: -len(SUFFIX)].partition(".")
    try:
        return dt.date.fromisoformat(day), source
    except ValueError:
        return None


def _write(path: Path, panel: SessionPanel) -> None:
    """One session's panel as an uncompressed Arrow IPC file of one record batch, atomically."""
    width = panel.shape[1]
    columns = {"symbol": pa.array(panel.symbols.astype(object), pa.string())}
    for name in VALUE_COLUMNS:
        values = getattr(panel, name)
        flat = values.view(np.uint8) if name == "mask" else values
        columns[name] = pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(flat).ravel()), width)
    metadata = {_FIRST_MINUTE_KEY: str(panel.minutes[0].value).encode()}
    batch = pa.RecordBatch.from_pydict(columns).replace_schema_metadata(metadata)
    with atomic_path(path) as tmp, pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, batch.schema) as writer:
        writer.write_batch(batch)


def _panel(day: dt.date, data: np.ndarray, symbols: list[str] | None, without_open: bool) -> SessionPanel | None:
    """The panel in the entry file's bytes `data`, rows in `symbols`' order (every row when None; a symbol the
    entry lacks gets an absent row, as in a store read). Its arrays are writeable views of `data` when every row
    is taken in order, else copies. None when the minute axis is not the calendar's for `day`."""
    batch = ipc.open_file(pa.py_buffer(data)).get_batch(0)
    minutes = calendar.session_minutes(day)
    width = batch.column("open").type.list_size
    if width != len(minutes) or int(batch.schema.metadata[_FIRST_MINUTE_KEY]) != minutes[0].value:
        return None
    names = np.asarray(batch.column("symbol").to_numpy(zero_copy_only=False), dtype=object)
    rows = None if symbols is None else pd.Index(names).get_indexer(list(symbols))
    if rows is not None and np.array_equal(rows, np.arange(len(names))):
        rows = None
    arrays = {"open": None}
    for name in VALUE_COLUMNS[1:] if without_open else VALUE_COLUMNS:
        stored = _view(data, batch.column(name).values, len(names), width)
        arrays[name] = stored if rows is None else _take(stored, rows, name)
    return SessionPanel(date=day, symbols=(names if symbols is None else np.asarray(list(symbols), dtype=object))
                        .astype(str), minutes=minutes, open=arrays["open"], high=arrays["high"], low=arrays["low"],
                        close=arrays["close"], volume=arrays["volume"], mask=arrays["mask"].view(bool))


def _view(data: np.ndarray, values: pa.Array, rows: int, width: int) -> np.ndarray:
    """The [rows x width] numpy view of `values`, an array whose buffer lies inside `data` (numpy's own
    writeable memory, where Arrow's zero-copy arrays would be read-only)."""
    buffer = values.buffers()[1]
    offset = buffer.address - data.ctypes.data + values.offset * values.type.byte_width
    dtype = np.dtype(values.type.to_pandas_dtype())
    return data[offset: offset + rows * width * dtype.itemsize].view(dtype).reshape(rows, width)


def _take(stored: np.ndarray, rows: np.ndarray, name: str) -> np.ndarray:
    """Rows `rows` of `stored` (copied); row -1 is absent: NaN prices, volume 0, mask False."""
    if not len(stored):
        stored = np.zeros((1, stored.shape[1]), stored.dtype)  # an entry of no symbols: every row is absent
    out = stored[np.maximum(rows, 0)]
    missing = rows < 0
    if missing.any():
        out[missing] = np.nan if name in PRICE_FIELDS else 0
    return out


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
