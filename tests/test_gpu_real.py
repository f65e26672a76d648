"""On a machine with a usable NVIDIA GPU: the analytics run for real on it and agree exactly with the CPU.
Skipped elsewhere (the same check runs under the CUDA simulator in tests/cudasim on every machine)."""

from __future__ import annotations

import pytest

from tapescan.backend import resolve_backend
from tests.gpu_agreement import assert_gpu_equals_cpu_on_a_market

pytestmark = pytest.mark.gpu


def test_the_gpu_agrees_with_the_cpu_on_a_synthetic_market(store):
    resolution = resolve_backend("auto")
    if resolution.name != "gpu":
        pytest.skip(f"no usable GPU here: {resolution.reason}")
    assert_gpu_equals_cpu_on_a_market(store, symbols=300)
