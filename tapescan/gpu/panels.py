"""Session panels in GPU memory: read a session from the store and build its panel on the device.

A :class:`DevicePanel` holds the fields of one regular session as device arrays [minute x symbol] (the
layout of every GPU kernel, see tapescan/gpu/session.py). `load_session` reads the session's Parquet file
with cuDF's reader straight into GPU memory when cuDF is installed, else with pyarrow on the host followed
by one copy of the flat columns; either way the dense panel is then built on the device by one kernel
(one thread per stored bar), so the host never materialises it.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numba import cuda

from tapescan import calendar
from tapescan.gpu.launch import THREADS_PER_BLOCK, stride_launch
from tapescan.kernels.place import bar_minute, empty_cell
from tapescan.store import SessionPanel, Store
from tapescan.store.integrity import verified_bytes
from tapescan.store.reader import session_entry
from tapescan.store.schema import PRICE_FIELDS

FIELDS = (*PRICE_FIELDS, "volume", "mask")
#: The columns cuDF reads from a partition (the pyarrow path asks the store reader for the same, less `extended`).
CUDF_COLUMNS = ("symbol", "ts", *PRICE_FIELDS, "volume", "extended")


@dataclass(frozen=True)
class DevicePanel:
    """One regular session of 1-minute bars for many symbols, in GPU memory as arrays [minute x symbol].

    The metadata (date, symbols, minutes) stays on the host and means what it means in
    :class:`~tapescan.store.SessionPanel`; `shape` is (symbols, minutes) as there.
    """

    date: dt.date
    symbols: np.ndarray
    minutes: pd.DatetimeIndex
    open: Any  # device float64 [M, S], NaN where absent
    high: Any
    low: Any
    close: Any
    volume: Any  # device int64 [M, S], 0 where absent
    mask: Any  # device bool [M, S]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.symbols), len(self.minutes)

    @property
    def nbytes(self) -> int:
        """Device memory held by the panel's arrays."""
        return sum(int(getattr(self, name).nbytes) for name in FIELDS)

    @classmethod
    def from_host(cls, panel: SessionPanel) -> DevicePanel:
        """Copy a host panel to the device (transposed to [minute x symbol] on the host, then one copy each)."""
        arrays = {name: cuda.to_device(np.ascontiguousarray(getattr(panel, name).T)) for name in FIELDS}
        return cls(panel.date, panel.symbols, panel.minutes, **arrays)

    def to_host(self) -> SessionPanel:
        """The same panel on the host, [symbol x minute] (for checks and for host-only consumers)."""
        arrays = {name: np.ascontiguousarray(getattr(self, name).copy_to_host().T) for name in FIELDS}
        return SessionPanel(self.date, self.symbols, self.minutes, **arrays)


def slot_minutes(panel: DevicePanel) -> Any:
    """Each of the panel's slots' minute (0 .. M-1) on the device: a dense panel's bars as the scalar kernels
    take a symbol's bars (tapescan/kernels/scan.py `SymbolBars`)."""
    return cuda.to_device(np.arange(panel.shape[1], dtype=np.int64))


@cuda.jit
def _empty_kernel(open_, high, low, close, volume, mask):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    width = mask.shape[1]
    for cell in range(start, mask.size, stride):
        empty_cell(open_, high, low, close, volume, mask, cell // width, cell % width)


@cuda.jit
def _place_kernel(lookup, codes, ts, start_ns, bar_open, bar_high, bar_low, bar_close, bar_volume,
                  open_, high, low, close, volume, mask):
    first, stride = cuda.grid(1), cuda.gridsize(1)
    minutes = mask.shape[0]
    for i in range(first, codes.shape[0], stride):
        row = lookup[codes[i]]
        minute = bar_minute(row, ts[i], start_ns, minutes)
        if minute >= 0:
            open_[minute, row] = bar_open[i]
            high[minute, row] = bar_high[i]
            low[minute, row] = bar_low[i]
            close[minute, row] = bar_close[i]
            volume[minute, row] = bar_volume[i]
            mask[minute, row] = True


@dataclass(frozen=True)
class FlatColumns:
    """A session's bars as flat columns (device or host arrays) with the panel rows they map to."""

    row_names: np.ndarray
    minutes: pd.DatetimeIndex
    lookup: Any
    codes: Any
    ts: Any
    values: tuple[Any, ...]  # open, high, low, close, volume


def _columns_with_pyarrow(store: Store, day: dt.date, symbols: list[str] | None) -> FlatColumns:
    columns = store.read_session_columns(day, symbols)
    values = tuple(columns.column(name) for name in (*PRICE_FIELDS, "volume"))
    return FlatColumns(columns.row_names, columns.minutes, columns.lookup, columns.codes, columns.ts, values)


def _columns_with_cudf(cudf: Any, store: Store, day: dt.date, symbols: list[str] | None) -> FlatColumns:
    """The session's regular bars read by cuDF into device memory; only the symbol dictionary comes to the host.

    cuDF does not verify Parquet page checksums, so the file's bytes are checked against the sha256 in the
    manifest first (tapescan.store.integrity) and handed to cuDF from memory.
    """
    data = verified_bytes(store.path, session_entry(store.manifest(), day))
    frame = cudf.read_parquet(io.BytesIO(data), columns=list(CUDF_COLUMNS))
    frame = frame[~frame["extended"]]
    category = frame["symbol"].astype("category")
    names = np.asarray(category.cat.categories.to_pandas(), dtype=object)
    row_names = np.sort(names) if symbols is None else np.asarray(list(symbols), dtype=object)
    lookup = pd.Index(row_names).get_indexer(names).astype(np.int32)
    open_ts, close_ts = calendar.session_bounds(day)
    minutes = pd.date_range(open_ts, close_ts, freq="1min", inclusive="left")
    values = tuple(frame[name].values for name in (*PRICE_FIELDS, "volume"))
    return FlatColumns(row_names, minutes, lookup, category.cat.codes.astype("int32").values,
                        frame["ts"].astype("int64").values, values)


def _cudf_module() -> Any | None:
    """cuDF when it is installed (it needs a GPU to import), else None."""
    try:
        import cudf
    except ImportError:
        return None
    return cudf


def read_columns(store: Store, day: calendar.DateLike, symbols: list[str] | None = None) -> FlatColumns:
    """A session's regular bars as flat columns (in GPU memory with cuDF, else on the host): the reading half
    of `load_session`, safe to run on a background thread while the device computes."""
    day = calendar.to_date(day)
    cudf = _cudf_module()
    if cudf and session_entry(store.manifest(), day).sha256 is not None:  # else pyarrow, which verifies pages
        return _columns_with_cudf(cudf, store, day, symbols)
    return _columns_with_pyarrow(store, day, symbols)


def place_columns(day: calendar.DateLike, flat: FlatColumns, threads: int = THREADS_PER_BLOCK) -> DevicePanel:
    """The panel of `flat` built on the device: every cell emptied, then every bar placed (grid-stride loops:
    one thread per cell and per bar up to a cap, each taking every gridsize-th item)."""
    shape = (len(flat.minutes), len(flat.row_names))
    arrays = [cuda.device_array(shape, dtype) for dtype in (np.float64,) * 4 + (np.int64, np.bool_)]
    _empty_kernel[stride_launch(shape[0] * shape[1], threads)](*arrays)
    count = len(flat.codes)
    if count:
        inputs = [cuda.to_device(a) if isinstance(a, np.ndarray) else a
                  for a in (flat.lookup, flat.codes, flat.ts, *flat.values)]
        _place_kernel[stride_launch(count, threads)](*inputs[:3], flat.minutes[0].value, *inputs[3:], *arrays)
    return DevicePanel(calendar.to_date(day), flat.row_names.astype(str), flat.minutes, *arrays)


def load_session(store: Store, day: calendar.DateLike, symbols: list[str] | None = None,
                 threads: int = THREADS_PER_BLOCK) -> DevicePanel:
    """One regular session as a :class:`DevicePanel`, built on the device; rows follow `symbols` (all symbols
    with a regular-session bar, sorted, when None), exactly as `Store.read_session` orders them."""
    return place_columns(day, read_columns(store, day, symbols), threads)
