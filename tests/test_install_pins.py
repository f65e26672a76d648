"""The install recipes: the GPU extras keep their CUDA major through every later `make`, and the pins agree.

The dry-run resolution of both extras against the package index runs in CI (`make check-gpu-install`);
these tests check the recipe itself, offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CUDA_SPECIFIC = ("cuda-bindings", "cuda-toolkit", "cupy", "nvidia-")


def _pins(name: str) -> dict[str, Version]:
    lines = (ROOT / name).read_text().splitlines()
    return {line.split("==")[0].lower(): Version(line.split("==")[1]) for line in lines if "==" in line}


def _fake_venv(tmp_path: Path, cuda: str | None) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    if cuda:
        (venv / ".cuda").write_text(cuda + "\n")
    return venv


def _make(venv: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", f"VENV={venv}", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "MAKEFLAGS": ""})


@pytest.mark.parametrize(("cuda", "constraints", "extras"),
                         [(None, "constraints-cu13.txt", "'.[test,report,peers,ptx]'"),
                          ("12", "constraints-cu12.txt", "'.[test,report,peers,gpu-cu12]'"),
                          ("13", "constraints-cu13.txt", "'.[test,report,peers,gpu-cu13]'")])
def test_make_test_keeps_the_cuda_major_that_make_gpu_chose(tmp_path, cuda, constraints, extras):
    venv = _fake_venv(tmp_path, cuda)
    result = _make(venv, "-n", "-B", f"{venv}/.installed-test")
    assert result.returncode == 0, result.stderr
    install = next(line for line in result.stdout.splitlines() if " install -c " in line)
    assert f"-c constraints.txt -c {constraints} -e {extras}" in install


@pytest.mark.parametrize(("chosen", "asked", "message"),
                         [("12", "13", "holds the CUDA 12 packages; run 'make clean' first"),
                          (None, "11", "make gpu CUDA=12 or CUDA=13")])
def test_make_gpu_refuses_a_second_cuda_major_or_an_unknown_one(tmp_path, chosen, asked, message):
    venv = _fake_venv(tmp_path, chosen)
    result = _make(venv, "gpu", f"CUDA={asked}")
    assert result.returncode != 0
    assert message in result.stderr


def test_cuda_specific_pins_live_only_in_their_major_files():
    common = _pins("constraints.txt")
    assert [name for name in common if name.startswith(CUDA_SPECIFIC)] == []
    for major in (12, 13):
        pins = _pins(f"constraints-cu{major}.txt")
        assert set(pins) & set(common) == set()
        assert pins["cuda-bindings"].major == major
        assert f"cupy-cuda{major}x" in pins


def test_the_gpu_extras_ask_for_the_pinned_major_and_leave_cudf_out():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for major in (12, 13):
        pins = _pins(f"constraints-cu{major}.txt")
        requirements = [Requirement(text) for text in extras[f"gpu-cu{major}"]]
        assert not any(req.name.startswith("cudf") for req in requirements)
        numba_cuda = next(req for req in requirements if req.name == "numba-cuda")
        assert numba_cuda.extras == {f"cu{major}"}
        cupy = next(req for req in requirements if req.name.startswith("cupy"))
        assert pins[cupy.name] in cupy.specifier


def test_the_ptx_extra_is_pinned_with_the_cuda_13_set_the_cpu_build_uses():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = _pins("constraints-cu13.txt")
    assert extras["ptx"], "the ptx extra lists the CUDA compilers"
    for requirement in map(Requirement, extras["ptx"]):
        assert requirement.name in pins, f"{requirement.name} is not pinned in constraints-cu13.txt"
        assert pins[requirement.name] in requirement.specifier
