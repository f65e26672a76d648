"""Backend resolution under the numba CUDA simulator: `auto` stays on the CPU, `gpu` runs simulated.

NUMBA_ENABLE_CUDASIM=1 must be set before numba is imported, so these tests run as a pytest process of their
own (`make test-cudasim`); without the variable the module is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

import numba
from numba import cuda

from tapescan import backend
from tapescan.backend import resolve_backend


@pytest.fixture(autouse=True)
def fresh_probe() -> Iterator[None]:
    """Probe anew, so that no result cached by another test decides these."""
    backend.probe_gpu.cache_clear()
    yield
    backend.probe_gpu.cache_clear()


def test_the_simulator_is_really_active() -> None:
    assert numba.config.ENABLE_CUDASIM and backend.simulator_active()
    assert type(cuda.get_current_device()).__module__.startswith("numba.cuda.simulator")

    @cuda.jit
    def add_one(values: np.ndarray) -> None:
        i = cuda.grid(1)
        if i < values.size:
            values[i] += 1

    values = np.arange(4.0)
    add_one[1, 4](values)
    assert values.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_auto_stays_on_the_cpu_and_says_why() -> None:
    resolution = resolve_backend("auto")
    assert (resolution.name, resolution.reason) == ("cpu", backend.SIMULATOR_REASON)


def test_gpu_asked_for_runs_simulated() -> None:
    resolution = resolve_backend("gpu")
    assert resolution.name == "gpu" and "simulator" in resolution.reason


def test_machine_report_shows_the_simulator() -> None:
    report = backend.machine_report("gpu")
    assert report["gpu"]["simulator_active"] is True
    assert report["backend"]["auto"]["name"] == "cpu"
    assert report["backend"]["requested"]["name"] == "gpu"
