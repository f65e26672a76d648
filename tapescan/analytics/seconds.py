"""1-minute bars from 1-second bars (docs/spec/metrics.md "Derived bars", with k counted in seconds).

The store holds 1-minute bars. Users who buy 1-second bars (ThetaData, Polygon) turn them into 1-minute
bars here before ingesting them, or to check a vendor's own minute bars. Each session's 1-second bars are
placed in dense [symbol x second] panels of the regular session (23,400 seconds on a full day) and reduced
by the same bucket kernel as every derived bar, 60 steps per bucket, aligned to the open: a minute without
a 1-second bar has no bar, the last minute ends at the close, and a bar becomes available at
min(minute end, close). Bars outside the regular session are left out, as for every derived bar.

Memory: a panel takes 41 bytes per (symbol, second); symbols are processed `SYMBOL_BATCH` at a time, so a
full day holds at most 256 x 23,400 x 41 B = 246 MB whatever the universe.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.analytics.bars import BAR_COLUMNS, bucket_panel, panel_frame
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.calendar import NS_PER_SECOND
from tapescan.errors import TapescanError
from tapescan.store.reader import place_bars

SYMBOL_BATCH = 256
COLUMNS = ["symbol", *BAR_COLUMNS]


def minute_bars_from_seconds(bars: pd.DataFrame, backend: Backend = "auto") -> pd.DataFrame:
    """1-minute bars (symbol, ts, open, high, low, close, volume; ts = minute start, ET) from 1-second bars
    with the same columns (ts = second start, time-zone aware), ordered by (symbol, ts).

    pandas equivalent per (session, symbol): ``bars.groupby((ts - open) // 60 s).agg(open=first, high=max,
    low=min, close=last, volume=sum)`` over the regular session's bars.
    """
    bars = _checked(bars)
    compute = compute_for(backend)
    local = bars["ts"].dt.tz_convert(calendar.ET)
    frames = []
    for day in sorted(set(local.dt.date)):
        if not calendar.is_session(day):
            continue
        session_open, session_close = calendar.session_bounds(day)
        regular = bars[(local >= session_open) & (local < session_close)]
        seconds = pd.date_range(session_open, session_close, freq="1s", inclusive="left")
        names = np.sort(regular["symbol"].unique())
        for start in range(0, len(names), SYMBOL_BATCH):
            batch = names[start : start + SYMBOL_BATCH]
            part = regular[regular["symbol"].isin(batch)]
            rows = pd.Index(batch).get_indexer(part["symbol"])
            cols = (part["ts"].to_numpy(np.int64) - session_open.value) // NS_PER_SECOND
            values = {name: part[name].to_numpy() for name in BAR_COLUMNS[1:]}
            panel = place_bars(day, batch.astype(str), seconds, rows * len(seconds) + cols, values)
            frames.append(panel_frame(bucket_panel(panel, 60, compute)))
    if not frames:
        return pd.DataFrame({name: pd.Series(dtype=bars[name].dtype) for name in COLUMNS})
    return pd.concat(frames, ignore_index=True).sort_values(["symbol", "ts"], ignore_index=True)


def _checked(bars: pd.DataFrame) -> pd.DataFrame:
    """The input with exact dtypes, or a TapescanError naming the column or the first bad row."""
    missing = [name for name in COLUMNS if name not in bars.columns]
    if missing:
        raise TapescanError(f"1-second bars: missing column(s) {', '.join(missing)}; give {', '.join(COLUMNS)}.")
    ts = bars["ts"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise TapescanError("1-second bars: the ts column must be time-zone aware (e.g. tz_localize('America/"
                            "New_York') if the times are New York local times).")
    bars = bars[COLUMNS].assign(ts=ts.dt.as_unit("ns"), symbol=bars["symbol"].astype(str).str.upper())
    problems = {
        "is not on a whole second": bars["ts"].to_numpy(np.int64) % NS_PER_SECOND != 0,
        "repeats an earlier (symbol, ts)": bars.duplicated(["symbol", "ts"]).to_numpy(),
        "has a missing or non-positive price": ~(bars[["open", "high", "low", "close"]] > 0).all(axis=1).to_numpy(),
        "has a missing or negative volume": ~(bars["volume"] >= 0).to_numpy(),
    }
    for problem, bad in problems.items():
        if bad.any():
            row = int(np.argmax(bad))
            raise TapescanError(f"1-second bars: row {row} ({bars['symbol'].iloc[row]} {bars['ts'].iloc[row]}) "
                                f"{problem}; fix or drop that row.")
    return bars.astype({"volume": np.int64})
