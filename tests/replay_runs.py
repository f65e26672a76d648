"""Helpers for the replay invariant tests: a small synthetic market, a replay run into a folder with its
snapshot CSVs read back and every clock advance recorded, and independent expectations (from the store and
the input items) to compare the snapshots with.

The market: 12 symbols from 2024-11-22 to 2024-12-04, seed 17. Its sessions include the early close of
2024-11-29 (13:00 ET); ZZIPO lists on 2024-11-29 (no bars before), ZZDLST delists after 2024-12-02 (no bars
on 2024-12-03 and 2024-12-04); NVDA, ZZIPO and ZZDLST are illiquid (minutes without a bar: gaps).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.store import Store
from tapescan.stream import STREAM_TYPES, FakeTime, ReplayConfig, SyntheticStreams, SystemManager
from tapescan.synth import make_universe, write_synthetic_market

MARKET_SYMBOLS = 12
MARKET_START, MARKET_END, MARKET_SEED = "2024-11-22", "2024-12-04", 17
EARLY_CLOSE = dt.date(2024, 11, 29)
LISTING, DELISTING = "ZZIPO", "ZZDLST"
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NONE = np.iinfo(np.int64).min  # an empty timestamp cell, as int64 ns
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?[+-]\d\d:\d\d$")


def universe() -> list:
    return make_universe(MARKET_SYMBOLS, MARKET_START, MARKET_END, MARKET_SEED)


def illiquid_symbols() -> list[str]:
    return [s.symbol for s in universe() if s.presence < 1]


def build_market(folder: Path) -> Store:
    store = Store.create(folder / "store")
    write_synthetic_market(store, MARKET_SYMBOLS, MARKET_START, MARKET_END, seed=MARKET_SEED)
    return store


# --------------------------------------------------------------------------------------------- a replay


@dataclasses.dataclass(frozen=True)
class Delivered:
    """What one advance moved of one stream type: event times and symbol rows, in delivery order."""

    kind: str
    time: np.ndarray
    symbol: np.ndarray


@dataclasses.dataclass(frozen=True)
class AdvanceRecord:
    """One clock advance, as the subscriber saw it."""

    day: dt.date
    clock: int
    delivered: list[Delivered]
    timer_expired: bool  # the error flag as it stood at this advance


@dataclasses.dataclass
class Replay:
    config: ReplayConfig
    days: list[dt.date]
    frames: dict[dt.date, pd.DataFrame]  # per session file, every cell a str ("" = none)
    raw: dict[dt.date, bytes]
    advances: list[AdvanceRecord]
    histories: dict[dt.date, dict[int, list[pd.DataFrame]]]  # session_data.history at the first advance
    fed: dict[dt.date, dict[str, tuple[np.ndarray, np.ndarray]]]  # source items: kind -> (event times, rows)
    timer_expired: bool
    slept: float  # seconds slept on the injected clock (timeouts and pacing)
    files: list[str]


class RecordingStreams(SyntheticStreams):
    """SyntheticStreams that keeps, per session, the event times and symbol rows of the items it fed."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.fed: dict[dt.date, dict[str, tuple[np.ndarray, np.ndarray]]] = {}

    def session_items(self, *args, **kwargs):
        items = super().session_items(*args, **kwargs)
        day = next(a if type(a) is dt.date else a.date for a in (*args, *kwargs.values())
                   if type(a) is dt.date or type(getattr(a, "date", None)) is dt.date)
        self.fed[day] = {kind: (np.array(batch.time), np.array(batch.symbol)) for kind, batch in items.items()}
        return items


def run_replay(store: Store, config: ReplayConfig, start: str | dt.date, end: str | dt.date,
               folder: Path | None = None) -> Replay:
    """Replay [start, end] with SyntheticStreams on a FakeTime, snapshots into `folder` (a temporary folder
    when None), and read everything back."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="tapescan-replay-") as tmp:
            return run_replay(store, config, start, end, Path(tmp))
    out = folder / "snapshots"
    clock = FakeTime()
    source = RecordingStreams(store)
    system = SystemManager(store, config, start, end, source=source, snapshot_dir=out, time=clock)
    advances: list[AdvanceRecord] = []
    histories: dict[dt.date, dict[int, list[pd.DataFrame]]] = {}

    def consumer(data, advance) -> None:
        delivered = [Delivered(kind, np.array(items.time), np.array(items.symbol)) for kind, items in advance.delivered]
        advances.append(AdvanceRecord(data.date, advance.clock, delivered, system.stream_coordinator_timer_expired))
        if data.date not in histories:
            histories[data.date] = {k: list(v) for k, v in data.history.items()}

    system.subscribe(consumer)
    system.run()
    files = sorted(p.name for p in out.iterdir()) if out.exists() else []
    raw = {dt.date.fromisoformat(name[:-4]): (out / name).read_bytes() for name in files if name.endswith(".csv")}
    frames = {day: pd.read_csv(out / f"{day.isoformat()}.csv", dtype=str, keep_default_na=False) for day in raw}
    return Replay(config, list(system.days), frames, raw, advances, histories, source.fed,
                  system.stream_coordinator_timer_expired, clock.slept, files)


# ------------------------------------------------------------------------------------------ expectations


def to_ns(cells: pd.Series) -> np.ndarray:
    """ISO 8601 cells as int64 ns since the epoch; NONE for empty cells."""
    stamps = pd.to_datetime(cells.where(cells != ""), format="ISO8601", utc=True)
    return pd.DatetimeIndex(stamps).as_unit("ns").asi8


def window(config: ReplayConfig, day: dt.date) -> tuple[int, int]:
    """The session window (ns): the config's start/end times clipped to the regular session."""
    open_ts, close_ts = calendar.session_bounds(day)
    start = max(open_ts, pd.Timestamp.combine(day, config.start_time).tz_localize(calendar.ET))
    end = min(close_ts, pd.Timestamp.combine(day, config.end_time).tz_localize(calendar.ET))
    start = min(start, end)  # a window starting at or after an early close is empty, at the close
    return start.value, end.value


@dataclasses.dataclass(frozen=True)
class WindowBars:
    """One symbol's stored 1-minute bars inside the window: stamps (ns), volume, high, low."""

    stamp: np.ndarray
    volume: np.ndarray
    high: np.ndarray
    low: np.ndarray

    @property
    def available(self) -> np.ndarray:
        return self.stamp + NS_PER_MINUTE


def window_bars(store: Store, day: dt.date, symbols: list[str], start: int, end: int) -> dict[str, WindowBars]:
    """Per symbol, its regular-session 1-minute bars with start <= stamp < end, from the store."""
    panel = store.read_session(day, symbols)
    minutes = panel.minutes.asi8
    inside = (minutes >= start) & (minutes < end)
    out = {}
    for row, symbol in enumerate(symbols):
        have = panel.mask[row] & inside
        out[symbol] = WindowBars(minutes[have], panel.volume[row, have], panel.high[row, have], panel.low[row, have])
    return out


def derived_bucket_ends(bars: WindowBars, k: int, start: int, end: int) -> np.ndarray:
    """End (available time) of each k-minute bucket of the window holding at least one bar, aligned to the
    session open (docs/spec/metrics.md "Derived bars"): bucket = (stamp - open) // k minutes; the last bucket ends at the
    window's end."""
    if not len(bars.stamp):
        return np.empty(0, np.int64)
    session_open = session_open_ns(start)
    buckets = np.unique((bars.stamp - session_open) // (k * NS_PER_MINUTE))
    return np.minimum(session_open + (buckets + 1) * k * NS_PER_MINUTE, end)


def session_open_ns(instant: int) -> int:
    """The open (ns) of the session on the day of `instant`."""
    day = pd.Timestamp(instant, tz="UTC").tz_convert(calendar.ET).date()
    return calendar.session_bounds(day)[0].value


def input_events(replay: Replay, day: dt.date) -> dict[tuple[str, str], np.ndarray]:
    """Sorted event times of every (symbol, input stream) of the session, as the source fed them."""
    config, fed = replay.config, replay.fed[day]
    out = {}
    for row, symbol in enumerate(config.symbols):
        for kind in config.streams_of(symbol):
            times, rows = fed[kind]
            out[(symbol, kind)] = np.sort(times[rows == row])
    return out


def queue_columns(columns: list[str]) -> dict[str, set[str]]:
    """Symbol -> the stream types that have queue columns (any `{SYM}_queue_{TYPE}_{size|oldest|newest}`)."""
    out: dict[str, set[str]] = {}
    for column in columns:
        match = re.fullmatch(r"(.+)_queue_(.+)_(size|oldest|newest)", column)
        if match:
            out.setdefault(match.group(1), set()).add(match.group(2))
    return out


def session_newest_columns(columns: list[str]) -> dict[str, set[str]]:
    """Symbol -> the data types that have a `{SYM}_{TYPE}_session_newest_ts` column."""
    out: dict[str, set[str]] = {}
    for column in columns:
        match = re.fullmatch(r"(.+?)_(1m|1s|quote|tick|\d+m)_session_newest_ts", column)
        if match:
            out.setdefault(match.group(1), set()).add(match.group(2))
    return out


def timestamp_columns(frame: pd.DataFrame) -> list[str]:
    """Every column holding times: the clock, queue oldest/newest, bar stamps, session_data newest."""
    suffixes = ("_oldest", "_newest", "_first_bar_ts", "_last_bar_ts", "_pending_bar_ts", "_session_newest_ts")
    return ["timestamp", *(c for c in frame.columns if c.endswith(suffixes))]


def stream_order_ok(kinds: list[str]) -> bool:
    """The delivered types of one advance follow STREAM_TYPES and none repeats."""
    ranks = [STREAM_TYPES.index(k) for k in kinds]
    return ranks == sorted(set(ranks))
