"""`Store`: the user-facing handle on a store folder (see docs/STORE.md for the layout)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa

from tapescan import calendar
from tapescan.errors import StoreDamagedError, StoreError
from tapescan.store import reader, writer
from tapescan.store.lock import writer_lock
from tapescan.store.manifest import MANIFEST_NAME, Manifest, load_manifest, save_manifest
from tapescan.store.panel_cache import BuildReport, PanelCache
from tapescan.store.reader import SessionPanel
from tapescan.store.repair import RepairReport, repair_store
from tapescan.store.session_bars import SessionBars, read_session_bars
from tapescan.store.verify import VerifyReport, verify_store
from tapescan.store.writer import WriteReport

T = TypeVar("T")


class Store:
    """A tapescan store: 1-minute bars partitioned by session, daily values, symbols, one manifest.

    Every method reads the manifest afresh, so a handle always sees the latest committed write. Regular-session
    reads come from the panel cache when it holds the session (tapescan/store/panel_cache.py); `use_cache=False`
    always decodes the Parquet files.
    """

    def __init__(self, path: str | Path, use_cache: bool = True) -> None:
        self.path = Path(path).expanduser()
        self.use_cache = use_cache
        self.cache = PanelCache(self.path)
        load_manifest(self.path)  # fail early, with a clear message, if this is not a store

    @classmethod
    def existing(cls, path: str | Path) -> Store | None:
        """The store at `path`; None when there is none yet but one can be created there (nothing is created,
        so a caller can refuse its work without leaving an empty store behind); StoreError when the path is
        taken by something else."""
        root = Path(path).expanduser()
        if (root / MANIFEST_NAME).exists():
            return cls(root)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise StoreError(f"{root} exists and is not an empty folder or a tapescan store; pick another path.")
        return None

    @classmethod
    def create(cls, path: str | Path) -> Store:
        """Create an empty store at `path` (a new or empty folder); open it if it already is a store."""
        store = cls.existing(path)
        if store is not None:
            return store
        root = Path(path).expanduser()
        root.mkdir(parents=True, exist_ok=True)
        with writer_lock(root):
            if not (root / MANIFEST_NAME).exists():
                save_manifest(root, Manifest())
        return cls(root)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def manifest(self) -> Manifest:
        """The committed manifest, read now."""
        return load_manifest(self.path)

    # --- writing ---------------------------------------------------------------------------------

    def write_bars(
        self,
        bars: pa.Table | pd.DataFrame,
        *,
        adjustment: str,
        source: str,
        replace: bool = False,
        attributes: Mapping[str, Mapping[str, str]] | None = None,
    ) -> WriteReport:
        """Write 1-minute bars atomically (see tapescan.store.writer for the merge rules)."""
        return writer.write_bars(
            self.path, bars, adjustment=adjustment, source=source, replace=replace, attributes=attributes
        )

    def verify(self, deep: bool = False) -> VerifyReport:
        """Every file against the manifest; `deep` also reads every byte and recomputes the daily values and
        the symbols table from the bars (docs/STORE.md "Integrity")."""
        return verify_store(self.path, deep)

    def repair(self) -> RepairReport:
        """Drop damaged sessions (their files moved into STORE/damaged/), rewrite the daily values and symbols
        counts from the healthy bars, in one commit (docs/STORE.md "Integrity")."""
        return repair_store(self.path)

    # --- reading ---------------------------------------------------------------------------------

    def sessions(self) -> list[dt.date]:
        """Sessions with stored bars, oldest first."""
        return [dt.date.fromisoformat(key) for key in sorted(self.manifest().bars_1m)]

    def symbols(self) -> pd.DataFrame:
        """The symbols table: symbol, adjustment, source, first/last session, sessions, bars, attributes."""
        return self._retrying(writer.read_symbols).reset_index()

    def read_session(
        self, day: calendar.DateLike, symbols: list[str] | None = None, extended_hours: bool = False,
        without_open: bool = False,
    ) -> SessionPanel:
        """One session as dense [symbol x minute] arrays plus a presence mask (`without_open`: the panel's open is
        None, one column less to decode)."""
        return self._retrying(self._read_session, calendar.to_date(day), symbols, extended_hours, without_open)

    def read_cached_session(self, day: calendar.DateLike, symbols: list[str] | None = None) -> SessionPanel | None:
        """`day`'s regular-session panel from the panel cache; None when the cache lacks it (or is not used)."""
        if not self.use_cache:
            return None
        reader.check_distinct(symbols)
        return self.cache.read(self.manifest(), calendar.to_date(day), symbols)

    def _read_session(self, root: Path, manifest: Manifest, day: dt.date, symbols: list[str] | None,
                      extended_hours: bool, without_open: bool) -> SessionPanel:
        """`day`'s panel from the cache when it holds the session (regular hours only), else from its file."""
        reader.check_distinct(symbols)
        panel = None if extended_hours else self._cached(manifest, day, symbols, without_open)
        if panel is not None:
            return panel
        return reader.read_session(root, manifest, day, symbols, extended_hours, without_open)

    def read_for_scan(self, day: calendar.DateLike, symbols: list[str],
                      volume_only: bool = False) -> SessionPanel | SessionBars:
        """`day`'s regular session over the rows `symbols`, without the open, in the form the CPU scan reads
        fastest: the panel cache's panel when it holds the session, else the stored bars where they lie
        (tapescan/store/session_bars.py), which skips building a dense panel; `volume_only` leaves the prices
        out of stored bars (for clock volumes)."""
        return self._retrying(self._read_for_scan, calendar.to_date(day), symbols, volume_only)

    def _read_for_scan(self, root: Path, manifest: Manifest, day: dt.date, symbols: list[str],
                       volume_only: bool) -> SessionPanel | SessionBars:
        reader.check_distinct(symbols)
        panel = self._cached(manifest, day, symbols, without_open=True)
        return panel if panel is not None else read_session_bars(root, manifest, day, symbols, volume_only)

    def _cached(self, manifest: Manifest, day: dt.date, symbols: list[str] | None,
                without_open: bool) -> SessionPanel | None:
        """`day`'s regular-session panel from the cache; None when it lacks the session or is not used."""
        return self.cache.read(manifest, day, symbols, without_open) if self.use_cache else None

    def build_cache(self, start: calendar.DateLike, end: calendar.DateLike, max_bytes: int | None = None,
                    on_session: Callable[[dt.date], None] | None = None) -> BuildReport:
        """Cache the regular-session panels of the stored sessions from `start` to `end` (see
        tapescan/store/panel_cache.py); `max_bytes` sets the cache's size cap (kept for later builds)."""
        first, last = _date_range(start, end)
        manifest = self.manifest()
        days = [dt.date.fromisoformat(key) for key in sorted(manifest.bars_1m)
                if first.isoformat() <= key <= last.isoformat()]
        return self.cache.build(manifest, days, lambda day: reader.read_session(self.path, manifest, day),
                                max_bytes, on_session)

    def read_session_columns(
        self, day: calendar.DateLike, symbols: list[str] | None = None, extended_hours: bool = False
    ) -> reader.SessionColumns:
        """One session's bars as flat columns with their panel rows (for building the panel elsewhere, e.g. on
        the GPU)."""
        return self._retrying(reader.read_session_columns, calendar.to_date(day), symbols, extended_hours)

    def read_bars(
        self, symbol: str, start: calendar.DateLike, end: calendar.DateLike, extended_hours: bool = False
    ) -> pd.DataFrame:
        """Bars of one symbol over a date range, oldest first."""
        first, last = _date_range(start, end)
        return self._retrying(reader.read_bars, symbol.upper(), first, last, extended_hours)

    def read_daily(
        self, start: calendar.DateLike, end: calendar.DateLike, symbols: list[str] | None = None
    ) -> pd.DataFrame:
        """Daily values per symbol and session over a date range."""
        first, last = _date_range(start, end)
        wanted = None if symbols is None else [s.upper() for s in symbols]
        return self._retrying(reader.read_daily, first, last, wanted)

    def _retrying(self, read: Callable[..., T], *args: object) -> T:
        """Run a reader; if a file it reads is missing or damaged, retry once on the manifest read anew (a
        concurrent write may have replaced it), so that only lasting damage is reported."""
        try:
            return read(self.path, self.manifest(), *args)
        except StoreDamagedError:
            return read(self.path, self.manifest(), *args)


def _date_range(start: calendar.DateLike, end: calendar.DateLike) -> tuple[dt.date, dt.date]:
    first, last = calendar.to_date(start), calendar.to_date(end)
    if first > last:
        raise StoreError(f"the start date {first} is after the end date {last}.")
    return first, last
