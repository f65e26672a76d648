"""Engine-neutral metrics: validate once, run on the CPU (numba) or the GPU (numba-cuda) as resolved."""

from tapescan.analytics.bars import (
    available_times,
    derived_panel,
    parse_interval,
    symbol_bars,
)
from tapescan.analytics.session import (
    DAILY_FIELDS,
    IntradayCumulative,
    cumulative_intraday,
    daily_values,
)
from tapescan.analytics.trailing import DailyMatrix, daily_matrix, trailing_metrics
from tapescan.analytics.volume import (
    clock_times,
    clock_volume,
    relative_volume,
    tod_average_volume,
    tod_average_volume_before,
)
from tapescan.analytics.window import SessionWindow
from tapescan.kernels.trailing import TRAILING_FIELDS

__all__ = [
    "DAILY_FIELDS", "TRAILING_FIELDS", "DailyMatrix", "IntradayCumulative", "SessionWindow", "available_times",
    "clock_times", "clock_volume", "cumulative_intraday", "daily_matrix", "daily_values", "derived_panel",
    "parse_interval", "relative_volume", "symbol_bars", "tod_average_volume", "tod_average_volume_before",
    "trailing_metrics",
]
