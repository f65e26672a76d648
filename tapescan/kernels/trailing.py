"""One symbol's trailing-window metrics for every session: the scalar logic of the trailing kernel.

docs/spec/metrics.md "Trailing-window metrics": the window W_N(D) is the N calendar sessions before D; if the
symbol (or, for beta and correlation, the benchmark) misses any of them, the metric is undefined (NaN).
Daily returns need the session before the window too. Each window is recomputed from its values with
two-pass sums (mean, then squared deviations): O(sessions x N) per symbol, and no drift from running sums.
"""

from __future__ import annotations

import math

from tapescan.kernels.jitable import product, scalar

#: Rows of the output array, in order, and their indices (compile-time constants in the kernels of both targets).
TRAILING_FIELDS = ("avg_volume", "avg_price", "std_pct", "beta", "correlation", "hist_high", "hist_low")
AVG_VOLUME, AVG_PRICE, STD_PCT, BETA, CORRELATION, HIST_HIGH, HIST_LOW = range(len(TRAILING_FIELDS))
TRAILING_ROWS = len(TRAILING_FIELDS)  # an int, which kernels read as a constant (a tuple of str is no GPU type)


@scalar
def _all_present(present, start, stop):
    for d in range(start, stop):
        if not present[d]:
            return False
    return True


@scalar
def trailing_symbol(close, volume, high, low, present, bench_close, bench_present, days, out, s):
    """Write the TRAILING_FIELDS of symbol `s` for every session i into out[:, i, s].

    Inputs are one symbol's daily values over consecutive calendar sessions (present False where the
    symbol has no regular-session bar), and the benchmark's closes and presence over the same sessions.
    pandas equivalent for one session D: ``volume[W].mean()``, ``close[W].mean()``,
    ``100 * returns[W].std(ddof=1)``, ``returns[W].cov(bench[W]) / bench[W].var()``,
    ``returns[W].corr(bench[W])``, ``high[W].max()``, ``low[W].min()``.
    """
    for i in range(close.shape[0]):
        for k in range(TRAILING_ROWS):
            out[k, i, s] = math.nan
        start = i - days
        if start < 0 or not _all_present(present, start, i):
            continue
        volume_sum = 0.0
        close_sum = 0.0
        top = high[start]
        bottom = low[start]
        for d in range(start, i):
            volume_sum += volume[d]
            close_sum += close[d]
            top = max(top, high[d])
            bottom = min(bottom, low[d])
        out[AVG_VOLUME, i, s] = volume_sum / days
        out[AVG_PRICE, i, s] = close_sum / days
        out[HIST_HIGH, i, s] = top
        out[HIST_LOW, i, s] = bottom
        if start == 0 or not present[start - 1]:
            continue  # no return for the window's first session
        mean = 0.0
        for d in range(start, i):
            mean += close[d] / close[d - 1] - 1.0
        mean /= days
        squares = 0.0
        for d in range(start, i):
            deviation = close[d] / close[d - 1] - 1.0 - mean
            squares += product(deviation, deviation)
        if days > 1 and squares > 0.0:
            out[STD_PCT, i, s] = 100.0 * math.sqrt(squares / (days - 1))
        if not _all_present(bench_present, start - 1, i):
            continue
        bench_mean = 0.0
        for d in range(start, i):
            bench_mean += bench_close[d] / bench_close[d - 1] - 1.0
        bench_mean /= days
        cross = 0.0
        bench_squares = 0.0
        for d in range(start, i):
            deviation = close[d] / close[d - 1] - 1.0 - mean
            bench_deviation = bench_close[d] / bench_close[d - 1] - 1.0 - bench_mean
            cross += product(deviation, bench_deviation)
            bench_squares += product(bench_deviation, bench_deviation)
        if bench_squares > 0.0:
            out[BETA, i, s] = cross / bench_squares
            if squares > 0.0:
                out[CORRELATION, i, s] = cross / math.sqrt(squares * bench_squares)
