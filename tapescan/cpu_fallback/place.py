"""CPU driver of the panel-placing kernel: a run of stored bars (one Arrow chunk) written into a panel.

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
