"""One symbol's time-of-day average volume: the scalar logic of the tod kernel (docs/spec/metrics.md
"Intraday metrics", tod_avg_volume)."""

from __future__ import annotations

import math

from numba.core.extending import register_jitable


@register_jitable(inline="always")
def tod_average(history, present, out):
    """out[j] = mean over the window's sessions d of history[d, j], the cumulative volume of d's bars
    known by clock minute j; NaN at every j when the symbol misses any session of the window.

    pandas equivalent: ``history.mean(axis=0)`` when ``present.all()``, else all NaN.
    """
    sessions = history.shape[0]
    complete = sessions > 0
    for d in range(sessions):
        if not present[d]:
            complete = False
    for j in range(out.shape[0]):
        if not complete:
            out[j] = math.nan
            continue
        total = 0.0
        for d in range(sessions):
            total += history[d, j]
        out[j] = total / sessions
