"""One symbol's time-of-day volumes: its cumulative volume on the clock grid, the time-of-day average of those
and the relative volume against it (docs/spec/metrics.md "Intraday metrics", tod_avg_volume and rel_volume); the
scalar logic of the tod kernels and, for the clock and relative volumes, of the scan kernel."""

from __future__ import annotations

import math

from tapescan.kernels.jitable import scalar


@scalar
def clock_volumes(volume, mask, minute, clock_visible, out):
    """out[c] = the volume of the bars among the first clock_visible[c] minutes (clock_visible ascending: the bars
    ended at each clock minute); returns whether the symbol has any bar.

    The bars are slots k in time order: slot k holds a bar of panel minute minute[k] when mask[k] (a dense panel
    row: minute[k] = k; a symbol's stored bars: their minutes, mask all True). pandas equivalent:
    ``volume.cumsum()`` (absent bars 0) at minute clock_visible[c] - 1, 0 where that is -1.
    """
    total = 0
    traded = False
    c = 0
    slots = minute.shape[0]
    for k in range(slots + 1):
        while c < clock_visible.shape[0] and (k == slots or clock_visible[c] <= minute[k]):
            out[c] = total
            c += 1
        if k < slots and mask[k]:
            total += volume[k]
            traded = True
    return traded


@scalar
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


@scalar
def relative_volume(session_volume, average):
    """rel_volume = session_volume / tod_avg_volume; undefined (NaN) unless the average is positive (0, or
    NaN when a session of the window is missing)."""
    if average > 0:
        return session_volume / average
    return math.nan
