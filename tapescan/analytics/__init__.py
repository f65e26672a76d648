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
from tapescan.kernels.trailing import TRAILING_FIELDS

__all__ = [
    "DAILY_FIELDS", "TRAILING_FIELDS", "DailyMatrix", "IntradayCumulative", "available_times", "cumulative_intraday",
    "daily_matrix", "daily_values", "derived_panel", "parse_interval", "symbol_bars", "trailing_metrics",
]
