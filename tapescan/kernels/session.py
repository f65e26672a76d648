"""One symbol's session, minute by minute: the scalar logic of the intraday, daily-value and derived-bar
kernels.

Each function reads one symbol's bars as 1-D arrays over the session's minutes (absent bars: mask False)
and writes its outputs in place. They are compiled inline into the CPU driver (`numba.njit`, a `prange`
over symbols) and into the GPU kernel (`numba.cuda.jit`, one thread per symbol), so both targets run the
same arithmetic in the same order; products that feed a sum go through `product`, which the GPU never fuses
into a multiply-add, so the targets agree to the last bit (docs/ARCHITECTURE.md "CPU and GPU agree").
"""

from __future__ import annotations

import math

from tapescan.kernels.jitable import product, scalar

#: Rows of the daily-values array `session_daily` writes (docs/spec/metrics.md "Daily values"), in order, and
#: their indices (compile-time constants in the kernels of both targets).
DAILY_FIELDS = ("open", "high", "low", "close", "volume", "vwap", "bars")
DAILY_OPEN, DAILY_HIGH, DAILY_LOW, DAILY_CLOSE, DAILY_VOLUME, DAILY_VWAP, DAILY_BARS = range(len(DAILY_FIELDS))


@scalar
def add_bar(total, count, top, bottom, high, low, close, volume):
    """The running (volume, bar count, high, low, last close) after one more bar."""
    if count == 0 or high > top:
        top = high
    if count == 0 or low < bottom:
        bottom = low
    return total + volume, count + 1, top, bottom, close


@scalar
def cumulate_session(high, low, close, volume, mask, out_volume, out_high, out_low, out_last, out_bars):
    """As of the end of each minute j: volume, high, low and last close of the bars 0..j, and their count.

    pandas equivalent for one symbol (bars indexed by minute, absent ones dropped): ``volume.cumsum()``,
    ``high.cummax()``, ``low.cummin()``, ``close.ffill()`` and ``mask.cumsum()``, each reindexed to every
    minute. Before the first bar: volume 0, count 0 and NaN prices (docs/spec/metrics.md: nothing is known yet).
    """
    total = 0
    count = 0
    top = math.nan
    bottom = math.nan
    last = math.nan
    for j in range(mask.shape[0]):
        if mask[j]:
            total, count, top, bottom, last = add_bar(total, count, top, bottom, high[j], low[j], close[j],
                                                      volume[j])
        out_volume[j] = total
        out_high[j] = top
        out_low[j] = bottom
        out_last[j] = last
        out_bars[j] = count


@scalar
def aggregate(open_, high, low, close, volume, mask, start, stop):
    """The bars among minutes [start, stop) as one: (open, high, low, close, volume, sum of typical price x
    volume, bar count); prices NaN when there is no bar.

    pandas equivalent: ``bars.agg(open=first, high=max, low=min, close=last, volume=sum)`` and
    ``((high + low + close) / 3 * volume).sum()``.
    """
    count = 0
    total = 0
    weighted = 0.0
    first_open = math.nan
    top = math.nan
    bottom = math.nan
    last = math.nan
    for j in range(start, stop):
        if mask[j]:
            if count == 0:
                first_open = open_[j]
                top = high[j]
                bottom = low[j]
            else:
                top = max(top, high[j])
                bottom = min(bottom, low[j])
            last = close[j]
            total += volume[j]
            weighted += product((high[j] + low[j] + close[j]) / 3.0, float(volume[j]))
            count += 1
    return first_open, top, bottom, last, total, weighted, count


@scalar
def session_daily(open_, high, low, close, volume, mask, start, stop, out, row):
    """docs/spec/metrics.md "Daily values" of one symbol's regular session, its bars among [start, stop) (minutes of
    a panel, or the symbol's rows in time order with mask False on extended-hours rows), into out[:, row]:
    DAILY_FIELDS (NaN everywhere when the symbol has no bar).

    vwap = sum((high + low + close) / 3 * volume) / volume, summed left to right, NaN when the volume is 0.
    """
    first_open, top, bottom, last, total, weighted, count = aggregate(
        open_, high, low, close, volume, mask, start, stop
    )
    out[DAILY_OPEN, row] = first_open
    out[DAILY_HIGH, row] = top
    out[DAILY_LOW, row] = bottom
    out[DAILY_CLOSE, row] = last
    out[DAILY_VOLUME, row] = total if count else math.nan
    out[DAILY_VWAP, row] = weighted / total if total > 0 else math.nan
    out[DAILY_BARS, row] = count


@scalar
def derive_bars(open_, high, low, close, volume, mask, minutes, out_open, out_high, out_low, out_close,
                out_volume, out_bars):
    """docs/spec/metrics.md "Derived bars": bucket b aggregates the bars of minutes [b * minutes, (b + 1) * minutes)
    of the session (the last bucket ends at the close); a bucket without bars has out_bars 0 and NaN prices.

    pandas equivalent: ``bars.groupby((ts - open) // minutes).agg(open=first, high=max, low=min,
    close=last, volume=sum)``.
    """
    length = mask.shape[0]
    for b in range(out_bars.shape[0]):
        first_open, top, bottom, last, total, weighted, count = aggregate(
            open_, high, low, close, volume, mask, b * minutes, min((b + 1) * minutes, length)
        )
        out_open[b] = first_open
        out_high[b] = top
        out_low[b] = bottom
        out_close[b] = last
        out_volume[b] = total
        out_bars[b] = count
