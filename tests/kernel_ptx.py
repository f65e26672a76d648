"""Compile every GPU kernel for a real device on a machine without one, and report what its PTX holds.

Run as a process of its own (``python tests/kernel_ptx.py``), never under the CUDA simulator: numba-cuda's
device calls are replaced by host stand-ins (``cuda.to_device`` and ``cuda.device_array`` give numpy arrays),
every kernel launch by ``cuda.compile_ptx`` of that kernel for the launch's argument types and the RTX 3090's
compute capability, and each GPU driver is called once on tiny inputs through
:data:`tapescan.analytics.drivers.GPU`. The CPU drivers are run on the same inputs and recompiled without
their cache (numba shows no machine code for cached functions). Prints one JSON object: per GPU kernel, its
count of fused multiply-adds and of approximate operations in the PTX; per CPU driver, its count of x86 FMA
instructions; and the GPU kernels no driver call reached.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import pkgutil
import platform
import re
import types

import numpy as np
import pandas as pd
from numba import cuda, njit, typeof
from numba.cuda import dispatcher as cuda_dispatcher

#: How the report starts when there is nothing to compile with (the test then skips).
NO_COMPILER = "no CUDA compiler"
#: Compute capability of the RTX 3090, the GPU tapescan is built for.
COMPUTE_CAPABILITY = (8, 6)


class HostDeviceArray(np.ndarray):
    """A numpy array standing in for a device array."""

    def copy_to_host(self) -> np.ndarray:
        return np.array(self)


def _to_device(array, *args, **kwargs) -> HostDeviceArray:
    return np.ascontiguousarray(array).view(HostDeviceArray)


def _device_array(shape, dtype=np.float64, *args, **kwargs) -> HostDeviceArray:
    return np.zeros(shape, dtype).view(HostDeviceArray)


class CompilingLaunch:
    """Stands in for a CUDA kernel: a launch compiles the kernel to PTX for the launch's argument types."""

    def __init__(self, kernel, name: str, ptx: dict[str, str]) -> None:
        self.kernel, self.name, self.ptx = kernel, name, ptx

    def __getitem__(self, configuration):
        def launch(*arguments) -> None:
            signature = tuple(typeof(np.asarray(a) if isinstance(a, np.ndarray) else a) for a in arguments)
            self.ptx[self.name], _ = cuda.compile_ptx(self.kernel.py_func, signature, cc=COMPUTE_CAPABILITY)

        return launch


def _stand_in_for_the_device(ptx: dict[str, str]) -> list[str]:
    """Patch numba-cuda and every kernel of tapescan.gpu; returns the kernels' names."""
    # Device functions are compiled for the current device's compute capability; there is none here.
    cuda_dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=COMPUTE_CAPABILITY)
    cuda.to_device, cuda.device_array = _to_device, _device_array
    import tapescan.gpu

    kernels = []
    for info in pkgutil.iter_modules(tapescan.gpu.__path__, "tapescan.gpu."):
        module = importlib.import_module(info.name)
        for attribute, value in list(vars(module).items()):
            if isinstance(value, cuda_dispatcher.CUDADispatcher):
                name = f"{info.name}.{attribute}"
                setattr(module, attribute, CompilingLaunch(value, name, ptx))
                kernels.append(name)
    return kernels


def _inputs() -> dict:
    """Tiny inputs for every driver: 3 symbols, 5 minutes, 4 sessions."""
    from tapescan.kernels.scan import ScanGrid, TodSum
    from tapescan.store.reader import SessionPanel

    rng = np.random.default_rng(0)
    symbols, minutes, sessions = 3, 5, 4
    prices = [rng.random((symbols, minutes)) + 10 for _ in range(4)]
    day = dt.date(2024, 1, 2)
    stamps = pd.date_range(f"{day} 09:30", periods=minutes, freq="1min", tz="America/New_York")
    panel = SessionPanel(day, np.array(["A", "B", "C"], dtype=object), stamps, *prices,
                         rng.integers(1, 100, (symbols, minutes)), rng.random((symbols, minutes)) < 0.8)
    daily = [rng.random((sessions, symbols)) + 10 for _ in range(4)]
    clock = 390
    close = 10 + np.cumsum(rng.normal(0, 0.05, 2 * minutes))
    bars = pd.DataFrame({"symbol": ["A"] * minutes + ["B"] * minutes, "ts": np.tile(stamps, 2), "open": close,
                         "high": close + 0.1, "low": close - 0.1, "close": close, "volume": 100.0})
    return {
        "panel": panel,
        "bars": (bars, rng.random(len(bars)) < 0.3, rng.random(len(bars)) < 0.3),
        "trailing": (*daily, np.ones((sessions, symbols), bool), daily[0][:, 0].copy(), np.ones(sessions, bool), 2),
        "tod": (rng.integers(0, 100, (2, symbols, clock)), np.ones((2, symbols), bool)),
        "clock_visible": np.arange(1, clock + 1),
        "scan": (ScanGrid(np.arange(1, 4), np.arange(3), np.arange(1, clock + 1)), np.ones(symbols, bool),
                 np.full(symbols, 10.0), TodSum(np.zeros((symbols, clock), np.int64), np.ones(symbols, bool), 2),
                 np.array([[1, -5, 5], [1, 0, 50], [1, 0.5, np.nan]]), False),
    }


def _run_drivers(drivers, inputs: dict) -> None:
    """Every driver of `drivers` once."""
    from tapescan.cpu_fallback.tod import relative_volumes

    panel = inputs["panel"]
    drivers.cumulate_sessions(panel)
    drivers.daily_values(panel)
    drivers.derived_bars(panel, 2)
    drivers.trailing_metrics(*inputs["trailing"])
    drivers.tod_average_volume(*inputs["tod"])
    relative_volumes(np.ones(3), np.array([2.0, 0.0, np.nan]))  # the host-only ufunc-like driver
    drivers.clock_volume(panel, inputs["clock_visible"])
    drivers.scan_panel(panel, *inputs["scan"])
    if not drivers.on_gpu:
        drivers.clock_volume(_stored_bars(panel), inputs["clock_visible"])
        drivers.scan_panel(_stored_bars(panel), *inputs["scan"])
    _simulate(drivers, inputs["bars"])


def _stored_bars(panel):
    """The bars of `panel` as the CPU scan walks them from a partition (tapescan/store/session_bars.py), their
    runs found by the reader's kernel."""
    from tapescan.cpu_fallback.place import find_runs
    from tapescan.store.session_bars import SessionBars

    rows, cols = np.nonzero(panel.mask)  # by (row, minute), as a partition is sorted
    first, end = np.full(len(panel.symbols), -1, np.int64), np.zeros(len(panel.symbols), np.int64)
    minute = np.empty(len(rows), np.int64)
    ts = panel.minutes[cols].as_unit("ns").asi8
    assert find_runs(np.arange(len(panel.symbols), dtype=np.int32), rows.astype(np.int32), ts, 0,
                     panel.minutes[0].value, len(panel.minutes), minute, first, end)
    values = (getattr(panel, name)[rows, cols] for name in ("high", "low", "close", "volume"))
    return SessionBars(panel.date, panel.symbols, panel.minutes, *values, minute, np.maximum(first, 0), end)


def _simulate(drivers, bars) -> None:
    """The simulator through `drivers` (per_symbol accounts; also shared ones, which only the CPU runs)."""
    from tapescan.backtest.simulate import simulate

    simulate(*bars, backend=drivers, stop_loss_pct=1.0, trailing_stop_pct=0.5)
    if not drivers.on_gpu:
        simulate(*bars, backend=drivers, mode="shared", percent_equity=20.0)


def _place_a_session(panel) -> None:
    """The panel builders (empty every cell, place every bar) on the bars of `panel`, the GPU one and the CPU
    one the store reader runs, and the store writer's daily values of each symbol's run of rows."""
    from tapescan.cpu_fallback.place import place_chunk
    from tapescan.cpu_fallback.session import daily_values_of_runs
    from tapescan.gpu.panels import FlatColumns, place_columns

    rows, cols = np.nonzero(panel.mask)
    ts = panel.minutes[cols].as_unit("ns").asi8
    values = tuple(getattr(panel, name)[rows, cols] for name in ("open", "high", "low", "close", "volume"))
    flat = FlatColumns(panel.symbols, panel.minutes, np.arange(len(panel.symbols), dtype=np.int32),
                       rows.astype(np.int32), ts, values)
    place_columns(panel.date, flat)
    shape = (len(flat.row_names), len(flat.minutes))
    panel_arrays = [np.zeros(shape, dtype) for dtype in (np.float64,) * 4 + (np.int64, np.bool_)]
    place_chunk(flat.lookup, flat.codes, flat.ts, flat.minutes[0].value, *values, *panel_arrays)
    daily_values_of_runs(*values[:4], values[4], np.ones(len(rows), bool), np.flatnonzero(np.diff(rows, prepend=-1)))


def fusable_products(code: str) -> int:
    """Products without a rounding modifier (``mul.f64``) whose result an add or subtract reads: ptxas, the
    driver's PTX-to-machine-code step, may still fuse those (PTX ISA, ``mul``); ``mul.rn.f64`` it may not."""
    products = set(re.findall(r"\bmul\.f64\s+(%fd\d+),", code))
    sums = re.findall(r"\b(?:add|sub)(?:\.rn)?\.f64\s+%fd\d+,\s*([^;]+);", code)
    return sum(operand.strip() in products for operands in sums for operand in operands.split(","))


def _cpu_fma_counts() -> dict[str, int | None]:
    """x86 FMA instructions in the machine code of every CPU driver, recompiled without its cache for the
    signatures the drivers were called with (None: a driver no call reached)."""
    import tapescan.cpu_fallback

    if platform.machine() not in ("x86_64", "AMD64"):
        return {}
    counts = {}
    for info in pkgutil.iter_modules(tapescan.cpu_fallback.__path__, "tapescan.cpu_fallback."):
        module = importlib.import_module(info.name)
        for attribute, value in vars(module).items():
            if not (hasattr(value, "py_func") and hasattr(value, "signatures")):
                continue
            name = f"{info.name}.{attribute}"
            counts[name] = None
            if value.signatures:
                options = {k: v for k, v in value.targetoptions.items() if k not in ("cache", "nopython")}
                fresh = njit(**options)(value.py_func)
                for signature in value.signatures:
                    fresh.compile(signature)
                code = "\n".join(fresh.inspect_asm().values())
                counts[name] = len(re.findall(r"\bvf(n)?m(add|sub)", code))
    return counts


def main() -> None:
    from numba.cuda.cudadrv import nvvm

    if not nvvm.is_available():
        raise SystemExit(f"{NO_COMPILER}: numba-cuda finds no NVVM (pip install 'tapescan[ptx]')")
    ptx: dict[str, str] = {}
    kernels = _stand_in_for_the_device(ptx)
    from tapescan.analytics.drivers import CPU, GPU

    inputs = _inputs()
    _run_drivers(GPU, inputs)
    _place_a_session(inputs["panel"])
    _run_drivers(CPU, inputs)
    print(json.dumps({
        "gpu": {name: {"fma": len(re.findall(r"\bfma\.", code)), "approx": code.count(".approx"),
                       "fusable": fusable_products(code)}
                for name, code in ptx.items()},
        "unreached": sorted(set(kernels) - set(ptx)),
        "cpu": _cpu_fma_counts(),
    }))


if __name__ == "__main__":
    main()
