"""One check shared by the simulator run and a real GPU: on a synthetic market, every analytics function
gives exactly the same results with backend="gpu" as with backend="cpu", and so does a scanner sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tapescan import ScannerConfig, sweep
from tapescan.analytics import (
    TRAILING_FIELDS,
    cumulative_intraday,
    daily_matrix,
    daily_values,
    derived_panel,
    tod_average_volume,
    trailing_metrics,
)
from tapescan.analytics.seconds import minute_bars_from_seconds
from tapescan.analytics.volume import clock_volume
from tapescan.store import Store
from tapescan.synth import write_synthetic_market


def assert_gpu_equals_cpu_on_a_market(store: Store, symbols: int) -> None:
    write_synthetic_market(store, symbols, "2024-11-25", "2024-12-03", seed=3)
    sessions = store.sessions()
    for day in (sessions[3], sessions[-1]):  # the 2024-11-29 early close and a full session
        panel = store.read_session(day)
        on_gpu, on_cpu = cumulative_intraday(panel, backend="gpu"), cumulative_intraday(panel, backend="cpu")
        for name in ("volume", "high", "low", "last", "bars"):
            np.testing.assert_array_equal(getattr(on_gpu, name), getattr(on_cpu, name))
        assert daily_values(panel, backend="gpu").equals(daily_values(panel, backend="cpu"))
        on_gpu, on_cpu = derived_panel(panel, 5, backend="gpu"), derived_panel(panel, 5, backend="cpu")
        for name in ("open", "high", "low", "close", "volume", "mask"):
            np.testing.assert_array_equal(getattr(on_gpu, name), getattr(on_cpu, name))
    matrix = daily_matrix(store.read_daily(sessions[0], sessions[-1]), sessions[0], sessions[-1])
    on_gpu, on_cpu = trailing_metrics(matrix, 3, backend="gpu"), trailing_metrics(matrix, 3, backend="cpu")
    for name in TRAILING_FIELDS:
        assert on_gpu[name].equals(on_cpu[name]), name
    names = list(store.symbols()["symbol"])
    window = [clock_volume(store.read_session(day, names), backend="cpu") for day in sessions[-4:-1]]
    history, present = np.stack([v for v, _ in window]), np.stack([p for _, p in window])
    np.testing.assert_array_equal(tod_average_volume(history, present, backend="gpu"),
                                  tod_average_volume(history, present, backend="cpu"))
    config = ScannerConfig.model_validate({"start_time": "09:30", "end_time": "13:00", "interval_minutes": 7,
                                           "average_volume": {"min": 1, "days": 2},
                                           "relative_volume": {"min": 0.5, "days": 2}})
    pd.testing.assert_frame_equal(sweep(store, config, sessions[2], sessions[-1], backend="gpu"),
                                  sweep(store, config, sessions[2], sessions[-1], backend="cpu"), check_exact=True)
    seconds = second_bars(store.read_session(sessions[3]))
    pd.testing.assert_frame_equal(minute_bars_from_seconds(seconds, backend="gpu"),
                                  minute_bars_from_seconds(seconds, backend="cpu"), check_exact=True)


def second_bars(panel) -> pd.DataFrame:
    """1-second bars at seconds 0, 17 and 59 of every 1-minute bar of the first minutes of a panel."""
    rows, cols = np.nonzero(panel.mask[:, :30])
    frames = [pd.DataFrame({
        "symbol": panel.symbols[rows], "ts": panel.minutes[cols] + pd.Timedelta(seconds=second),
        "open": panel.open[rows, cols], "high": panel.high[rows, cols], "low": panel.low[rows, cols],
        "close": panel.close[rows, cols], "volume": panel.volume[rows, cols] // 3 + second,
    }) for second in (0, 17, 59)]
    return pd.concat(frames, ignore_index=True)
