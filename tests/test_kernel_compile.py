"""The GPU kernels compile for a real device, and neither target fuses a multiply into an add: the part of the
CPU/GPU contract (docs/ARCHITECTURE.md "CPU and GPU agree") that the CUDA simulator cannot show.

The simulator runs kernels as Python, so it neither compiles them with numba-cuda nor lets NVVM contract
``a * b + c`` into a fused multiply-add. tests/kernel_ptx.py compiles every kernel of tapescan.gpu to PTX for
the RTX 3090 with CUDA 13's NVVM (the `ptx` extra, which `make test` installs) and recompiles every CPU driver;
this test reads its report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kernel_ptx import NO_COMPILER, fusable_products

HARNESS = Path(__file__).with_name("kernel_ptx.py")


@pytest.fixture(scope="module")
def report() -> dict:
    env = {name: value for name, value in os.environ.items() if name != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, str(HARNESS)], capture_output=True, text=True, env=env, timeout=900,
                          check=False)
    if done.returncode != 0 and NO_COMPILER in done.stderr:
        pytest.skip(done.stderr.strip().splitlines()[-1])
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_gpu_kernel_compiles_for_a_real_device(report):
    assert report["gpu"], "no kernel was compiled"
    assert report["unreached"] == [], "kernels that tests/kernel_ptx.py does not launch: add them there"


def test_no_gpu_kernel_fuses_a_multiply_into_an_add_or_approximates(report):
    fused = {name: counts for name, counts in report["gpu"].items() if any(counts.values())}
    assert fused == {}, "use tapescan.kernels.jitable.product for products that feed a sum"


def test_a_product_without_rounding_modifier_that_feeds_a_sum_is_found():
    ptx = """
        mul.f64 %fd3, %fd1, %fd2;
        mul.rn.f64 %fd4, %fd1, %fd2;
        add.f64 %fd5, %fd4, %fd1;
        sub.f64 %fd6, %fd0, %fd3;
        mul.f64 %fd7, %fd1, %fd1;
        div.rn.f64 %fd8, %fd7, %fd2;
    """
    assert fusable_products(ptx) == 1  # %fd3 is subtracted from; %fd4 is rounded; %fd7 is only divided


def test_no_cpu_driver_fuses_a_multiply_into_an_add(report):
    if not report["cpu"]:
        pytest.skip("the CPU drivers' machine code is checked on x86-64 only")
    assert [name for name, count in report["cpu"].items() if count is None] == [], "CPU drivers not run"
    assert {name: count for name, count in report["cpu"].items() if count} == {}
