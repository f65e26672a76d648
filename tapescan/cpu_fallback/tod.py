"""CPU drivers of the time-of-day volume kernels: one symbol per parallel iteration (clock volumes over a dense panel
or over a session's stored bars where they lie)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tapescan.kernels.tod import clock_volumes, relative_volume, tod_average
from tapescan.store.reader import SessionPanel
from tapescan.store.session_bars import SessionBars


@njit(parallel=True, cache=True)
def _clock(volume, mask, clock_visible, out, traded):
    """`clock_volumes` for every symbol (row) of [symbol x minute] arrays into out [symbol x clock minute]."""
    slot_minutes = np.arange(mask.shape[1])
    for s in prange(mask.shape[0]):
        traded[s] = clock_volumes(volume[s], mask[s], slot_minutes, clock_visible, out[s])


@njit(parallel=True, nogil=True, cache=True)
def _clock_bars(volume, minute, first, end, width, clock_visible, out, traded):
    """`clock_volumes` for every row of a session's stored bars (row s's are first[s]:end[s] of the flat columns,
    `minute` their panel minutes, tapescan/store/session_bars.py) into out [symbol x clock minute]."""
    present = np.ones(width, dtype=np.bool_)  # a row has at most one bar a panel minute
    for s in prange(first.shape[0]):
        bars = slice(first[s], end[s])
        traded[s] = clock_volumes(volume[bars], present[:end[s] - first[s]], minute[bars], clock_visible, out[s])


@njit(parallel=True, cache=True)
def _tod(history, present, out):
    """`tod_average` for every symbol: history [session x symbol x clock minute], present [session x symbol],
    out [symbol x clock minute]."""
    for s in prange(history.shape[1]):
        tod_average(history[:, s, :], present[:, s], out[s])


def clock_volume(panel: SessionPanel | SessionBars, clock_visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative volume of each symbol at each clock minute [symbol x clock minute] (clock_visible[c]: the
    panel's minutes ended by clock minute c), and which symbols have any bar [symbol]; of a host panel or of a
    session's stored bars."""
    out = np.empty((panel.shape[0], len(clock_visible)), np.int64)
    traded = np.empty(panel.shape[0], bool)
    if isinstance(panel, SessionBars):
        _clock_bars(panel.volume, panel.minute, panel.first, panel.end, panel.shape[1], clock_visible, out, traded)
    else:
        _clock(panel.volume, panel.mask, clock_visible, out, traded)
    return out, traded


def tod_average_volume(history: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Mean clock volume over the window's sessions: the array [symbol x clock minute] (NaN where incomplete)."""
    out = np.empty((history.shape[1], history.shape[2]))
    _tod(history, np.ascontiguousarray(present), out)
    return out


@njit(cache=True)
def _relative_volumes(session_volume, average, out):
    """`relative_volume` for each element of the flat arrays."""
    for i in range(out.shape[0]):
        out[i] = relative_volume(session_volume[i], average[i])


def relative_volumes(session_volume: np.ndarray, average: np.ndarray) -> np.ndarray:
    """`relative_volume` element by element (float64 arrays of any shapes that broadcast). A plain kernel, compiled
    or loaded at its first call: a typed `vectorize` is built when the module is imported, which cost every
    command, most of which never call it, a few hundred milliseconds."""
    session_volume, average = np.broadcast_arrays(session_volume, average)
    out = np.empty(session_volume.shape)
    _relative_volumes(np.ascontiguousarray(session_volume).ravel(), np.ascontiguousarray(average).ravel(),
                      out.reshape(-1))
    return out if out.ndim else out[()]
