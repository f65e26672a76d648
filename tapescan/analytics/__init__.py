"""Engine-neutral metrics: validate once, run on the CPU (numba) or the GPU (numba-cuda) as resolved."""

from tapescan.analytics.session import DAILY_FIELDS, IntradayCumulative, cumulative_intraday, daily_values

__all__ = ["DAILY_FIELDS", "IntradayCumulative", "cumulative_intraday", "daily_values"]
