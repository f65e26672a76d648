"""The client's snapshot CSV invariants (client-notes "Additional Test Cases / Invariants for the CSV
Snapshot", issue 6 "What it must show"), checked on the files of many randomized data-driven replays of a
small synthetic market (tests/replay_runs.py): random symbols (a listing, a delisting and illiquid symbols
among them), random stream mixes per symbol (1-second bars and quotes with equal event times), random derived
intervals, random session windows and session ranges including the early close of 2024-11-29.

Each snapshot file is also compared, cell by cell, with what the inputs say it must hold: the queues hold
exactly the source's items that are later than the clock, session_data exactly the store's bars (and the
derived buckets) available at the clock (docs/spec/metrics.md: a bar counts at its start + its length).

Three configurations once broke the coordinator and have their own tests at the end: a window that starts
at or after an early close, a symbol without a 1m stream next to one with it (gap fills must leave it
alone), and a derived interval of 1 minute (refused: 1-minute bars are the 1m input stream).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os

import numpy as np
import pandas as pd
import pytest

from tapescan.stream import STREAM_TYPES, ReplayConfig
from tests.replay_runs import (
    DELISTING,
    EARLY_CLOSE,
    ISO,
    LISTING,
    NONE,
    NS_PER_MINUTE,
    NS_PER_SECOND,
    Replay,
    build_market,
    derived_bucket_ends,
    illiquid_symbols,
    input_events,
    queue_columns,
    run_replay,
    session_newest_columns,
    session_open_ns,
    stream_order_ok,
    timestamp_columns,
    to_ns,
    universe,
    window,
    window_bars,
)

SEEDS = int(os.environ.get("TAPESCAN_REPLAY_SEEDS", "12"))  # more for a deeper search
NAMES = [s.symbol for s in universe()]
ET = "America/New_York"


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    return build_market(tmp_path_factory.mktemp("replay-invariants"))


def ns_of(day: dt.date, hhmm: str) -> int:
    return pd.Timestamp(f"{day} {hhmm}", tz=ET).value


# ------------------------------------------------------------------------------------------ the checks


def check_replay(store, replay: Replay) -> None:
    """Every invariant on every session file of the replay."""
    config = replay.config
    assert replay.files == [f"{d.isoformat()}.csv" for d in replay.days], "one file per session, nothing else"
    expired_before = False
    expired_sessions = 0
    for day in replay.days:
        frame = replay.frames[day]
        advances = [a for a in replay.advances if a.day == day]
        assert all(a.timer_expired == expired_before for a in advances), f"{day}: error flag changed mid-session"
        expired = check_session(store, replay, day, frame, advances)
        expired_sessions += expired
        expired_before = expired_before or expired
    assert replay.timer_expired == (expired_sessions > 0)
    timeout = config.session_timeout_seconds
    assert expired_sessions * timeout <= replay.slept + 1e-6 <= expired_sessions * (timeout + 0.05) + 1e-6
    check_history(store, replay)


def check_session(store, replay: Replay, day: dt.date, frame: pd.DataFrame, advances) -> bool:
    """The invariants of one session file; True when the session ended by the timeout."""
    config = replay.config
    start, end = window(config, day)
    header = next(csv.reader(io.StringIO(replay.raw[day].decode("utf-8"))))
    assert header == list(frame.columns)
    check_columns(config, header)
    check_cells(config, day, frame, start, end)
    clock = to_ns(frame["timestamp"])
    events = input_events(replay, day)
    check_clock(config, day, frame, clock, events, advances, start)
    check_advances(config, day, advances)
    check_queues_and_newest(config, day, frame, clock, events)
    check_session_data(store, config, day, frame, clock, advances, start, end)
    check_end(config, day, frame, clock)
    last_event = clock[-2] if len(clock) > 1 else start
    return bool(last_event < end - NS_PER_MINUTE)  # the coordinator's test for a normal end


def check_columns(config: ReplayConfig, columns: list[str]) -> None:
    """Invariant 1: queue columns only for the four input types, for each symbol exactly its streams;
    derived types only in session_data columns."""
    queues = queue_columns(columns)
    assert set(queues) <= set(config.symbols)
    for symbol in config.symbols:
        kinds = queues.get(symbol, set())
        assert kinds <= set(STREAM_TYPES), f"queue columns of non-input types: {kinds - set(STREAM_TYPES)}"
        assert kinds == set(config.streams_of(symbol)), f"{symbol}: queue columns {kinds}"
        for kind in kinds:
            assert {f"{symbol}_queue_{kind}_{c}" for c in ("size", "oldest", "newest")} <= set(columns)
    derived = {f"{k}m" for k in config.derived_intervals if k != 1}
    assert not any(f"_queue_{d}_" in c for c in columns for d in derived), "a derived type has a queue column"
    newest = session_newest_columns(columns)
    for symbol in config.symbols:
        assert newest[symbol] == set(config.streams_of(symbol)) | derived, f"{symbol}: session columns"
    expected = ["timestamp", "system_state", "system_mode", "session_date", "session_time", "session_active",
                "session_ended", "active_symbols"]
    for s in config.symbols:
        expected += [f"{s}_volume", f"{s}_high", f"{s}_low", f"{s}_1m_bars",
                     *(f"{s}_{k}m_bars" for k in config.derived_intervals), f"{s}_bar_quality",
                     f"{s}_bars_updated", f"{s}_first_bar_ts", f"{s}_last_bar_ts", f"{s}_pending_bar_ts"]
    known = set(expected) | {c for c in columns if "_queue_" in c or c.endswith("_session_newest_ts")}
    assert set(columns) == known and len(columns) == len(set(columns)), "unexpected or repeated columns"
    assert columns[:8] == expected[:8]


def check_cells(config: ReplayConfig, day: dt.date, frame: pd.DataFrame, start: int, end: int) -> None:
    """Invariant 2: every time is ISO 8601 with offset, inside the session window, on the session's date."""
    assert (frame["session_date"] == day.isoformat()).all()
    assert (frame["system_mode"] == "backtest").all() and (frame["system_state"] == "running").all()
    assert (frame["active_symbols"] == str(len(config.symbols))).all()
    for column in timestamp_columns(frame):
        cells = frame[column][frame[column] != ""]
        bad = cells[~cells.map(lambda c: bool(ISO.match(c)))]
        assert bad.empty, f"{day} {column}: not ISO 8601 with offset: {bad.iloc[0]}"
        if cells.empty:
            continue
        dates = set(pd.to_datetime(cells, format="ISO8601", utc=True).dt.tz_convert(ET).dt.date)
        assert dates == {day}, f"{day} {column}: dates {sorted(dates)} in the file"
        values = to_ns(cells)
        low = start if column == "timestamp" or column.endswith(("_first_bar_ts", "_last_bar_ts")) else start + 1
        if column.endswith("_pending_bar_ts"):  # a bucket aligned to the open may start before the window
            low = session_open_ns(start)
        assert values.min() >= low and values.max() <= end, f"{day} {column}: a time outside the window"
    clock = to_ns(frame["timestamp"])
    times = pd.DatetimeIndex(pd.to_datetime(clock, utc=True)).tz_convert(ET).strftime("%H:%M:%S")
    assert list(frame["session_time"]) == list(times)


def check_clock(config, day, frame, clock, events, advances, start) -> None:
    """Invariants 3 and 5, and the data-driven clock: one advance per distinct event time, in order (so the
    clock never goes back, jumps over missing data), then the session_ended row at the same time."""
    ended = frame["session_ended"].tolist()
    assert ended[-1] == "True" and set(ended[:-1]) <= {"False"}, f"{day}: session_ended only on the last row"
    active = frame["session_active"].tolist()
    assert active[-1] == "False" and set(active[:-1]) <= {"True"}
    times = np.unique(np.concatenate([*events.values(), np.empty(0, np.int64)]))
    np.testing.assert_array_equal(clock[:-1], times, err_msg=f"{day}: rows != the distinct event times")
    assert [a.clock for a in advances] == clock[:-1].tolist(), f"{day}: rows != the subscriber's advances"
    assert (np.diff(clock[:-1]) > 0).all(), f"{day}: the clock went back or stood still"
    if len(clock) == 1:
        assert clock[0] == start, f"{day}: a session without data stays at its start"
    else:
        assert clock[-1] == clock[-2], f"{day}: the session_ended row moved the clock"
    # the same, from the file alone: the types whose queues shrank at a row set the clock's granularity
    sizes = {kind: sum(frame[f"{s}_queue_{kind}_size"].astype(int).to_numpy() for s in config.symbols
                       if kind in config.streams_of(s)) for kind in config.all_streams()}
    for kind, size in sizes.items():
        initial = sum(len(events[(s, kind)]) for s in config.symbols if kind in config.streams_of(s))
        sizes[kind] = np.diff(np.concatenate([[initial], size]))[:-1] < 0  # moved at each advance
    for i, t in enumerate(clock[:-1]):
        moved = {kind for kind, shrank in sizes.items() if shrank[i]}
        assert moved, f"{day} row {i}: the clock advanced with no queue shrinking"
        if moved <= {"1m"}:
            assert t % NS_PER_MINUTE == 0, f"{day} row {i}: a 1m-bar advance off the minute"
        if moved <= {"1m", "1s"}:
            assert t % NS_PER_SECOND == 0, f"{day} row {i}: a 1s-bar advance off the second"
    if all(config.streams_of(s) == ("1m",) for s in config.symbols):
        steps = np.diff(clock[:-1])
        assert (steps % NS_PER_MINUTE == 0).all(), f"{day}: 1m-only replay stepped by a fraction of a minute"
        assert (clock[:-1] % NS_PER_MINUTE == 0).all()


def check_advances(config: ReplayConfig, day: dt.date, advances) -> None:
    """Invariants 4 and 7: what each advance moved has the new clock as event time; 1m-only advances land on
    minutes, 1s-bar advances on seconds; types in STREAM_TYPES order; a symbol's 1s bar and quote of the same
    event time move in the same advance, the bar first."""
    both = [config.symbols.index(s) for s in config.symbols if {"1s", "quote"} <= set(config.streams_of(s))]
    for advance in advances:
        kinds = [d.kind for d in advance.delivered]
        assert kinds, f"{day}: an advance that moved nothing"
        assert stream_order_ok(kinds), f"{day}: delivery order {kinds}"
        for d in advance.delivered:
            assert (d.time == advance.clock).all(), f"{day}: {d.kind} items of another time moved"
        if set(kinds) <= {"1m"}:
            assert advance.clock % NS_PER_MINUTE == 0
        if set(kinds) <= {"1m", "1s"}:
            assert advance.clock % NS_PER_SECOND == 0
        by_kind = {d.kind: set(d.symbol.tolist()) for d in advance.delivered}
        for row in both:
            bar, quote = row in by_kind.get("1s", ()), row in by_kind.get("quote", ())
            assert bar == quote, f"{day}: {config.symbols[row]} 1s bar and quote of one time split"
            if bar:
                assert kinds.index("1s") < kinds.index("quote")


def check_queues_and_newest(config, day, frame, clock, events) -> None:
    """Invariant 8, exactly: each queue holds the source's items later than the clock (size, oldest, newest),
    and session_data's newest input item of each type is the source's last one at or before the clock."""
    for (symbol, kind), times in events.items():
        delivered = np.searchsorted(times, clock, side="right")
        size = len(times) - delivered
        prefix = f"{symbol}_queue_{kind}"
        np.testing.assert_array_equal(frame[f"{prefix}_size"].astype(int).to_numpy(), size,
                                      err_msg=f"{day} {prefix}_size")
        oldest = np.where(size > 0, times[np.minimum(delivered, len(times) - 1)] if len(times) else NONE, NONE)
        newest = np.where(size > 0, times[-1] if len(times) else NONE, NONE)
        np.testing.assert_array_equal(to_ns(frame[f"{prefix}_oldest"]), oldest, err_msg=f"{day} {prefix}_oldest")
        np.testing.assert_array_equal(to_ns(frame[f"{prefix}_newest"]), newest, err_msg=f"{day} {prefix}_newest")
        held = to_ns(frame[f"{symbol}_{kind}_session_newest_ts"])
        expect = np.where(delivered > 0, times[np.maximum(delivered - 1, 0)] if len(times) else NONE, NONE)
        np.testing.assert_array_equal(held, expect, err_msg=f"{day} {symbol}_{kind}_session_newest_ts")
        later = (size > 0)
        assert (oldest[later] > clock[later]).all() and (oldest[later] <= newest[later]).all()
    for column in [c for c in frame.columns if c.endswith("_session_newest_ts")]:
        values = to_ns(frame[column])
        assert (values[values != NONE] <= clock[values != NONE]).all(), f"{day} {column} later than the clock"
    for symbol in config.symbols:
        if {"1s", "quote"} <= set(config.streams_of(symbol)):  # equal event times: always moved together
            assert (frame[f"{symbol}_1s_session_newest_ts"] == frame[f"{symbol}_quote_session_newest_ts"]).all()


def check_session_data(store, config, day, frame, clock, advances, start, end) -> None:
    """Invariant 10 and the session_data columns, row by row, from the store: 1-minute bars, volume, high,
    low, first/last bar, bar_quality, bars_updated, derived bar counts (never decreasing), their newest time
    and the pending bucket, as of each row's clock."""
    bars = window_bars(store, day, config.symbols, start, end)
    smallest = min(config.derived_intervals) if config.derived_intervals else None
    window_minutes = (end - start) // NS_PER_MINUTE
    for row, symbol in enumerate(config.symbols):
        b = bars[symbol]
        if "1m" not in config.streams_of(symbol):
            b = type(b)(*(a[:0] for a in (b.stamp, b.volume, b.high, b.low)))
        seen = np.searchsorted(b.available, clock, side="right")  # bars available at each row's clock
        got = frame[f"{symbol}_1m_bars"].astype(int).to_numpy()
        np.testing.assert_array_equal(got, seen, err_msg=f"{day} {symbol}_1m_bars")
        assert got[-1] == len(b.stamp), f"{day} {symbol}: not every window bar reached session_data"
        volume = np.concatenate([[0], np.cumsum(b.volume)])[seen]
        expect_volume = np.where(seen > 0, volume.astype(str), "")
        assert list(frame[f"{symbol}_volume"]) == list(expect_volume), f"{day} {symbol}_volume"
        high = np.array([b.high[:n].max() if n else np.nan for n in seen])
        low = np.array([b.low[:n].min() if n else np.nan for n in seen])
        for name, values in (("high", high), ("low", low)):
            cells = frame[f"{symbol}_{name}"]
            parsed = np.array([float(c) if c else np.nan for c in cells])
            np.testing.assert_array_equal(parsed, values, err_msg=f"{day} {symbol}_{name}")
        first = np.where(seen > 0, b.stamp[0] if len(b.stamp) else NONE, NONE)
        last = np.where(seen > 0, b.stamp[np.maximum(seen - 1, 0)] if len(b.stamp) else NONE, NONE)
        np.testing.assert_array_equal(to_ns(frame[f"{symbol}_first_bar_ts"]), first, err_msg=f"{day} first_bar")
        np.testing.assert_array_equal(to_ns(frame[f"{symbol}_last_bar_ts"]), last, err_msg=f"{day} last_bar")
        if "1m" in config.streams_of(symbol):
            expected_minutes = np.clip((clock - start) // NS_PER_MINUTE, 0, window_minutes)
            held = np.searchsorted(b.stamp, start + expected_minutes * NS_PER_MINUTE, side="left")
            quality = np.where(expected_minutes > 0, 100 * held / np.maximum(expected_minutes, 1), 100.0)
            assert list(frame[f"{symbol}_bar_quality"]) == [f"{q:.2f}" for q in quality], f"{day} bar_quality"
        moved = [any(d.kind == "1m" and (d.symbol == row).any() for d in a.delivered) for a in advances]
        updated = [str(m) for m in moved] + ([str(moved[-1])] if moved else ["False"])
        assert list(frame[f"{symbol}_bars_updated"]) == updated, f"{day} {symbol}_bars_updated"
        for k in config.derived_intervals:
            ends = derived_bucket_ends(b, k, start, end)
            count = frame[f"{symbol}_{k}m_bars"].astype(int).to_numpy()
            assert (np.diff(count) >= 0).all(), f"{day} {symbol}_{k}m_bars decreased"
            np.testing.assert_array_equal(count, np.searchsorted(ends, clock, side="right"),
                                          err_msg=f"{day} {symbol}_{k}m_bars")
            if len(b.stamp) and b.available[-1] == end:  # the data reaches the window's end
                assert count[-1] == len(ends), f"{day} {symbol}_{k}m_bars: not every bucket completed"
            done = np.searchsorted(ends, clock, side="right")
            newest = np.where(done > 0, ends[np.maximum(done - 1, 0)] if len(ends) else NONE, NONE)
            np.testing.assert_array_equal(to_ns(frame[f"{symbol}_{k}m_session_newest_ts"]), newest,
                                          err_msg=f"{day} {symbol}_{k}m_session_newest_ts")
        if smallest is not None:
            step = smallest * NS_PER_MINUTE
            session_open = session_open_ns(start)
            first_bucket = (start - session_open) // step  # buckets align to the session open
            count_buckets = -(-(end - session_open) // step) - first_bucket
            bucket_starts = session_open + (first_bucket + np.arange(count_buckets)) * step
            bucket_ends = np.minimum(bucket_starts + step, end)
            open_bucket = np.searchsorted(bucket_ends, clock, side="right")  # first bucket not ended yet
            bucket_start = np.append(bucket_starts, end)[open_bucket]
            holding = (open_bucket < len(bucket_ends)) & (np.searchsorted(b.stamp, bucket_start) < seen)
            pending = np.where(holding, bucket_start, NONE)
            np.testing.assert_array_equal(to_ns(frame[f"{symbol}_pending_bar_ts"]), pending,
                                          err_msg=f"{day} {symbol}_pending_bar_ts")
        else:
            assert (frame[f"{symbol}_pending_bar_ts"] == "").all()


def check_end(config: ReplayConfig, day: dt.date, frame: pd.DataFrame, clock: np.ndarray) -> None:
    """Invariant 6 and 11: once every queue is empty the clock stops, at the newest session_data time of the
    previous row; on the early close nothing goes past 13:00."""
    sizes = frame[[c for c in frame.columns if c.endswith("_size") and "_queue_" in c]].astype(int)
    total = sizes.sum(axis=1).to_numpy() if sizes.shape[1] else np.zeros(len(frame), int)
    assert total[-1] == 0
    if len(frame) > 1:
        assert (total[:-2] > 0).all() and total[-2] == 0, f"{day}: queues emptied before the last advance"
        newest = frame.iloc[[-2]][[c for c in frame.columns if c.endswith("_session_newest_ts")]]
        values = to_ns(newest.iloc[0])
        assert clock[-1] == clock[-2] == values.max(), f"{day}: the clock stopped off the newest session time"
    if day == EARLY_CLOSE:
        assert clock.max() <= ns_of(day, "13:00")


def check_history(store, replay: Replay) -> None:
    """The trailing historical bars of each session: the N stored sessions before it, per bar type."""
    config, stored = replay.config, store.sessions()
    n = config.historical_bars_trailing_days
    for day, history in replay.histories.items():
        before = [d for d in stored if d < day][-n:] if n else []
        if not n:
            continue
        assert sorted(history) == config.historical_bars_types
        for k, frames in history.items():
            assert len(frames) == len(before), f"{day}: {k}m history of {len(frames)} sessions"
            for frame, past in zip(frames, before):
                if len(frame):
                    dates = set(pd.to_datetime(frame["ts"]).dt.tz_convert(ET).dt.date)
                    assert dates == {past}, f"{day}: {k}m history holds {sorted(dates)}, not {past}"


# ------------------------------------------------------------------------------------- random replays

DAYS = [dt.date(2024, 11, 22), dt.date(2024, 11, 25), dt.date(2024, 11, 26), dt.date(2024, 11, 27), EARLY_CLOSE,
        dt.date(2024, 12, 2), dt.date(2024, 12, 3), dt.date(2024, 12, 4)]


def random_case(seed: int) -> tuple[ReplayConfig, dt.date, dt.date]:
    """A random replay of 1 to 3 sessions: symbols, stream mix per symbol, derived intervals, window."""
    rng = np.random.default_rng([2024, seed])
    first = int(rng.integers(len(DAYS)))
    span = DAYS[first: first + int(rng.integers(1, 4))]
    special = [*illiquid_symbols(), LISTING, DELISTING]
    pool = list(dict.fromkeys([*special, "AAPL", *NAMES]))
    symbols = [str(s) for s in rng.choice(pool, size=int(rng.integers(1, 5)), replace=False)]
    derived = sorted(int(k) for k in rng.choice([2, 3, 5, 10, 15, 30], size=int(rng.integers(0, 3)), replace=False))
    streams: list[str] | dict[str, list[str]]
    if rng.random() < 0.25:
        streams = {s: ["1m"] for s in symbols} if rng.random() < 0.5 else ["1m"]
    elif rng.random() < 0.15:  # one mix for every symbol
        streams = [k for k in STREAM_TYPES if rng.random() < 0.5] or ["1s", "quote"]
    else:
        streams = {}
        for s in symbols:
            kinds = [k for k in STREAM_TYPES if rng.random() < 0.5] or [str(rng.choice(STREAM_TYPES))]
            streams[s] = kinds
        if "AAPL" in symbols and rng.random() < 0.7:
            streams["AAPL"] = sorted({*streams["AAPL"], "1s", "quote"})
        if len(symbols) > 1 and rng.random() < 0.2:
            del streams[symbols[-1]]  # its streams default to ["1m"]
    close = 390 if rng.random() < 0.1 else 210 if EARLY_CLOSE in span else 390  # minutes after 09:30
    if rng.random() < 0.35:  # to the close (16:00, clipped to 13:00 on the early close)
        start, end = int(rng.integers(max(0, close - 60), close)), 390
    else:
        start = int(rng.integers(0, close))
        end = min(390, start + int(rng.integers(1, 46)))

    def hhmm(minutes: int) -> str:
        return f"{(570 + minutes) // 60:02d}:{(570 + minutes) % 60:02d}"

    config = ReplayConfig(
        symbols=symbols, streams=streams, derived_intervals=derived, start_time=hhmm(start), end_time=hhmm(end),
        session_timeout_seconds=float(rng.choice([0.5, 5.0, 60.0])),
        historical_bars_trailing_days=int(rng.integers(0, 3)),
        historical_bars_types=sorted(int(k) for k in rng.choice([1, 5, 15], size=int(rng.integers(0, 3)),
                                                                 replace=False)),
    )
    return config, span[0], span[-1]


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_replays_keep_every_snapshot_invariant(market, seed):
    config, first, last = random_case(seed)
    check_replay(market, run_replay(market, config, first, last))


# ---------------------------------------------------------------------------------------- fixed cases


def test_aapl_1s_bars_and_quotes_of_one_time_move_together_across_the_early_close(market):
    config = ReplayConfig(symbols=["AAPL", "SPY", DELISTING], derived_intervals=[5, 15],
                          streams={"AAPL": ["1m", "1s", "quote"], "SPY": ["1m", "tick"]},
                          start_time="12:15", end_time="16:00", historical_bars_trailing_days=2,
                          historical_bars_types=[1, 5])
    replay = run_replay(market, config, "2024-11-27", "2024-11-29")
    check_replay(market, replay)
    together = [a for a in replay.advances if [d.kind for d in a.delivered][:2] == ["1s", "quote"]]
    aapl_bars = sum(len(window_bars(market, day, ["AAPL"], *window(config, day))["AAPL"].stamp)
                    for day in replay.days)
    assert len(together) == 3 * aapl_bars > 0  # three 1s bars (and quotes) per 1-minute bar
    frame = replay.frames[EARLY_CLOSE]
    assert frame["timestamp"].iloc[-1] == "2024-11-29T13:00:00-05:00"  # the early close, reached normally
    assert frame["AAPL_5m_bars"].iloc[-1] == "9" and frame["AAPL_15m_bars"].iloc[-1] == "3"
    assert not replay.timer_expired and replay.slept == 0


def test_only_1m_streams_step_by_whole_minutes_and_jump_over_missing_bars(market):
    config = ReplayConfig(symbols=[LISTING, DELISTING], derived_intervals=[5], start_time="10:00", end_time="11:30")
    replay = run_replay(market, config, "2024-12-02", "2024-12-02")
    check_replay(market, replay)
    clock = to_ns(replay.frames[dt.date(2024, 12, 2)]["timestamp"])
    steps = np.diff(clock[:-1])
    assert (steps % NS_PER_MINUTE == 0).all() and (steps > NS_PER_MINUTE).any()  # gaps jumped over


def test_data_ending_in_the_last_minute_ends_normally_with_the_last_bucket_pending(market):
    """The last bar of the window is missing: the clock stops a minute before the window's end, the session
    ends without the timeout, and the last derived bucket (available at the window's end, which the clock
    never reaches) stays pending rather than counted."""
    day = dt.date(2024, 12, 2)
    panel = market.read_session(day, [DELISTING])
    present = panel.mask[0]
    e = next(e for e in range(60, 390) if not present[e - 1] and present[e - 2])  # bar e-2 is the last one
    end = panel.minutes[e]
    begin = end - pd.Timedelta(minutes=20)
    config = ReplayConfig(symbols=[DELISTING], derived_intervals=[5], start_time=f"{begin:%H:%M}",
                          end_time=f"{end:%H:%M}", session_timeout_seconds=5)
    replay = run_replay(market, config, day, day)
    check_replay(market, replay)
    frame = replay.frames[day]
    assert frame["timestamp"].iloc[-1] == (end - pd.Timedelta(minutes=1)).isoformat()
    assert not replay.timer_expired and replay.slept == 0
    last_bucket = (e - 1) // 5 * 5  # minutes from the open: buckets align to it
    pending = panel.minutes[last_bucket].isoformat() if present[last_bucket:e].any() else ""
    assert frame[f"{DELISTING}_pending_bar_ts"].fillna("").iloc[-1] == pending
    holding = len(derived_bucket_ends(window_bars(market, day, [DELISTING], *window(config, day))[DELISTING], 5,
                                      *window(config, day)))
    assert int(frame[f"{DELISTING}_5m_bars"].iloc[-1]) == holding - 1


def test_a_window_ending_at_10_ends_the_session_at_10(market):
    config = ReplayConfig(symbols=["SPY", "AAPL"], streams={"SPY": ["1m", "1s"], "AAPL": ["tick", "quote"]},
                          derived_intervals=[5], end_time="10:00")
    replay = run_replay(market, config, "2024-12-02", "2024-12-03")
    check_replay(market, replay)
    for day, frame in replay.frames.items():
        assert frame["timestamp"].iloc[-1] == f"{day}T10:00:00-05:00"
        assert frame["session_ended"].iloc[-1] == "True" and frame["SPY_5m_bars"].iloc[-1] == "6"
        assert to_ns(frame["SPY_queue_1m_newest"]).max() <= ns_of(day, "10:00")
    assert not replay.timer_expired


def test_sessions_without_data_time_out_at_their_start_and_the_next_session_runs(market):
    config = ReplayConfig(symbols=[LISTING], derived_intervals=[5], start_time="10:00", end_time="10:30",
                          session_timeout_seconds=7)
    replay = run_replay(market, config, "2024-11-27", "2024-12-02")  # lists on 2024-11-29
    check_replay(market, replay)
    empty = replay.frames[dt.date(2024, 11, 27)]
    assert len(empty) == 1 and empty["timestamp"].iloc[0] == "2024-11-27T10:00:00-05:00"
    assert replay.timer_expired and replay.slept >= 7
    assert len(replay.frames[dt.date(2024, 12, 2)]) > 1


def test_data_driven_replay_is_byte_identical_run_to_run(market, tmp_path):
    config = ReplayConfig(symbols=["AAPL", "SPY", "NVDA", DELISTING, LISTING],
                          streams={"AAPL": ["1s", "quote", "tick"], "SPY": ["tick"], "NVDA": ["1m", "quote"]},
                          derived_intervals=[3, 10], start_time="12:30", end_time="14:05",
                          historical_bars_trailing_days=1, historical_bars_types=[5], session_timeout_seconds=1)
    one = run_replay(market, config, "2024-11-29", "2024-12-03", tmp_path / "one")
    two = run_replay(market, config, "2024-11-29", "2024-12-03", tmp_path / "two")
    assert one.raw.keys() == two.raw.keys() and len(one.raw) == 3
    for day in one.raw:
        assert one.raw[day] == two.raw[day], f"{day}: snapshots differ between two identical runs"
    check_replay(market, one)


# ------------------------------------------------------------------------------- configurations that once broke


def test_a_derived_interval_of_one_minute_is_refused(market):
    with pytest.raises(ValueError, match="at least 2 minutes"):
        ReplayConfig(symbols=["SPY"], derived_intervals=[1, 5], start_time="10:00", end_time="10:10")


def test_a_window_starting_after_the_early_close_is_an_empty_session_at_the_close(market):
    config = ReplayConfig(symbols=["SPY"], derived_intervals=[5], start_time="13:30", end_time="15:00",
                          session_timeout_seconds=1)
    replay = run_replay(market, config, "2024-11-29", "2024-12-02")
    assert dt.date(2024, 12, 2) in replay.frames
    early = replay.frames[EARLY_CLOSE]
    assert len(early) == 1 and to_ns(early["timestamp"]).max() == ns_of(EARLY_CLOSE, "13:00")


def test_a_symbol_without_a_1m_stream_gets_no_1m_bars_and_the_replay_stays_deterministic(market, tmp_path):
    config = ReplayConfig(symbols=["AAPL", "SPY"], streams={"AAPL": ["1s"], "SPY": ["1m"]}, derived_intervals=[],
                          start_time="09:30", end_time="10:30")
    runs = [run_replay(market, config, "2024-12-02", "2024-12-02", tmp_path / str(i)) for i in range(3)]
    assert runs[0].raw == runs[1].raw == runs[2].raw, "snapshots differ between identical runs"
    for replay in runs:
        assert (replay.frames[dt.date(2024, 12, 2)]["AAPL_1m_bars"] == "0").all()
