"""CPU drivers of placing a session's stored bars: a run of them (one Arrow chunk) written into a panel, or only
each panel row's range of them found (a scan walks those ranges itself: tapescan/store/session_bars.py).

Serial and without the GIL: a sweep or backtest reads and places the next session on a reader thread while the
main thread runs the parallel compute kernels and builds results in Python, so the placing takes one core and
leaves the interpreter free, instead of competing for every core and holding the GIL. The GPU loader's loop
(tapescan/gpu/panels.py `_place_kernel`) writes the same cells of its [minute x symbol] panel; only the scalar
`bar_minute` is shared, since a shared per-bar writer taking every array would cost the CPU a reference
count per array per bar.
"""

from __future__ import annotations

from numba import njit

from tapescan.kernels.place import bar_minute


@njit(nogil=True, cache=True)
def place_chunk(lookup, codes, ts, start_ns, bar_open, bar_high, bar_low, bar_close, bar_volume,
                open_, high, low, close, volume, mask):
    """Put stored bar i in cell (lookup[codes[i]], bar_minute) of the [symbol x minute] panel (open_ ... mask),
    for every bar of the run; bars without a cell are skipped. `bar_open` and `open_` may be None (a read that
    leaves the open out: numba compiles that case without the branch)."""
    minutes = mask.shape[1]
    for i in range(codes.shape[0]):
        row = lookup[codes[i]]
        minute = bar_minute(row, ts[i], start_ns, minutes)
        if minute >= 0:
            if open_ is not None:
                open_[row, minute] = bar_open[i]
            high[row, minute] = bar_high[i]
            low[row, minute] = bar_low[i]
            close[row, minute] = bar_close[i]
            volume[row, minute] = bar_volume[i]
            mask[row, minute] = True


@njit(nogil=True, cache=True)
def find_runs(lookup, codes, ts, offset, start_ns, width, minute, first, end):
    """Where each panel row's bars lie among a session's stored bars, without placing them: bar offset + i
    (symbol code codes[i], start ts[offset + i]) with a cell in the panel of `width` minutes gets its panel minute
    in minute[offset + i], and row r's such bars are [first[r], end[r]) (first -1 and end 0 before the row's
    first bar). Called on each run of codes in file order. Returns False as soon as a row's bars are not one
    contiguous run of ascending minutes (a partition not sorted by (symbol, ts)): the caller places them instead."""
    for i in range(codes.shape[0]):
        row = lookup[codes[i]]
        bar = offset + i
        at = bar_minute(row, ts[bar], start_ns, width)
        if at < 0:
            continue
        minute[bar] = at
        if first[row] < 0:
            first[row] = bar
        elif end[row] != bar or at <= minute[bar - 1]:
            return False
        end[row] = bar + 1
    return True
