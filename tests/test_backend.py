"""Backend resolution (with the GPU probes faked, and for real on this machine), the machine report, and doctor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tapescan import backend
from tapescan.analytics.drivers import CPU, GPU, compute_for
from tapescan.backend import BackendResolution, resolve_backend
from tapescan.cli import doctor_cmd
from tapescan.cli.context import CliOptions
from tapescan.errors import BackendError

NO_CUPY = "CuPy is not installed (pip install 'tapescan[gpu-cu12]')"
NO_DRIVER = "numba-cuda found no CUDA driver: CUDA driver library cannot be found"


@pytest.fixture(autouse=True)
def fresh_probe() -> Iterator[None]:
    """Each test probes anew, and leaves no faked probe result cached for the next."""
    backend.probe_gpu.cache_clear()
    yield
    backend.probe_gpu.cache_clear()


def fake_probes(
    monkeypatch: pytest.MonkeyPatch, *, simulator: bool = False, numba: str | None = None, cupy: str | None = None
) -> None:
    """Replace the probes: `numba`/`cupy` are the problem each reports (None: it sees a GPU)."""
    monkeypatch.setattr(backend, "simulator_active", lambda: simulator)
    monkeypatch.setattr(backend, "_numba_cuda_problem", lambda: numba)
    monkeypatch.setattr(backend, "_cupy_problem", lambda: cupy)


def test_usable_gpu_is_picked_by_auto_and_honoured_for_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_probes(monkeypatch)
    assert resolve_backend("auto").name == "gpu"
    assert resolve_backend("gpu") == BackendResolution("gpu", "gpu", "numba-cuda and CuPy both see a CUDA GPU")


@pytest.mark.parametrize(("numba", "cupy", "reason"), [(None, NO_CUPY, NO_CUPY), (NO_DRIVER, None, NO_DRIVER)])
def test_auto_falls_back_to_cpu_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, numba: str | None, cupy: str | None, reason: str
) -> None:
    fake_probes(monkeypatch, numba=numba, cupy=cupy)
    assert resolve_backend("auto") == BackendResolution("cpu", "auto", reason)


def test_gpu_without_a_usable_gpu_fails_naming_the_reason_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_probes(monkeypatch, cupy=NO_CUPY)
    with pytest.raises(BackendError) as caught:
        resolve_backend("gpu")
    message = str(caught.value)
    for needle in (NO_CUPY, "tapescan[gpu-cu12]", "tapescan[gpu-cu13]", "nvidia-smi", "setup/ubuntu_rtx3090.md",
                   "tapescan doctor", "--backend cpu"):
        assert needle in message


def test_simulator_is_used_only_when_gpu_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_probes(monkeypatch, simulator=True, numba=NO_DRIVER, cupy=NO_CUPY)
    auto = resolve_backend("auto")
    assert (auto.name, auto.reason) == ("cpu", backend.SIMULATOR_REASON)
    gpu = resolve_backend("gpu")
    assert gpu.name == "gpu" and "simulat" in gpu.reason


def test_cpu_never_probes_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "probe_gpu", lambda: pytest.fail("probed the GPU for --backend cpu"))
    assert resolve_backend("cpu") == BackendResolution("cpu", "cpu", "the CPU backend was requested")


def test_probe_runs_once_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    fake_probes(monkeypatch, cupy=NO_CUPY)
    monkeypatch.setattr(backend, "_numba_cuda_problem", lambda: calls.append(1))
    resolve_backend("auto")
    resolve_backend("auto")
    assert len(calls) == 1
    backend.probe_gpu.cache_clear()
    resolve_backend("auto")
    assert len(calls) == 2


def test_none_reads_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_probes(monkeypatch, cupy=NO_CUPY)
    monkeypatch.setenv("TAPESCAN_BACKEND", " CPU ")
    assert resolve_backend(None) == BackendResolution("cpu", "cpu", "the CPU backend was requested")
    monkeypatch.delenv("TAPESCAN_BACKEND")
    assert resolve_backend(None).requested == "auto"


def test_unknown_backend_lists_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackendError, match=r"--backend 'tpu' is not a backend; use one of: auto, cpu, gpu"):
        resolve_backend("tpu")
    monkeypatch.setenv("TAPESCAN_BACKEND", "cuda")
    with pytest.raises(BackendError, match=r"\$TAPESCAN_BACKEND 'cuda' is not a backend"):
        resolve_backend(None)


def test_compute_for_resolves_once_into_the_drivers_and_keeps_the_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_probes(monkeypatch)
    assert compute_for("gpu") is GPU and compute_for(None) is GPU
    backend.probe_gpu.cache_clear()
    fake_probes(monkeypatch, cupy=NO_CUPY)
    assert compute_for("auto") is CPU and compute_for("cpu") is CPU
    with pytest.raises(BackendError, match=r"--backend 'tpu' is not a backend; use one of: auto, cpu, gpu"):
        compute_for("tpu")
    monkeypatch.setattr(backend, "probe_gpu", lambda: pytest.fail("resolved drivers were resolved again"))
    assert compute_for(CPU) is CPU and compute_for(GPU) is GPU


def test_missing_cupy_is_named_with_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # what `import cupy` finds when CuPy is not installed
    assert backend._cupy_problem() == NO_CUPY


def test_real_probe_on_a_machine_without_a_gpu() -> None:
    probe = backend.probe_gpu()
    if probe.usable or probe.simulated:
        pytest.skip("this machine has a usable GPU or runs the CUDA simulator")
    assert probe.reason
    assert resolve_backend("auto") == BackendResolution("cpu", "auto", probe.reason)
    with pytest.raises(BackendError, match="cannot run here"):
        resolve_backend("gpu")


def test_machine_report_has_sane_values() -> None:
    report = backend.machine_report("cpu")
    assert set(report) == {"machine", "packages", "gpu", "backend", "problems"}
    machine = report["machine"]
    assert machine["logical_cores"] >= 1 and 1 <= machine["usable_cores"] <= machine["logical_cores"]
    assert machine["ram_total_gib"] > 0
    assert machine["cpu"] and machine["os"] and machine["python"].startswith(sys.version.split()[0])
    assert set(report["packages"]) == set(backend.PACKAGES)
    assert report["packages"]["numpy"][0].isdigit()
    assert {"simulator_active", "devices", "driver_version", "cuda_runtime_version", "nvidia_smi"} <= set(report["gpu"])
    cpu = {"requested": "cpu", "name": "cpu", "reason": "the CPU backend was requested"}
    assert report["backend"]["requested"] == cpu
    assert report["backend"]["auto"]["name"] in ("cpu", "gpu")
    json.dumps(report)  # JSON types only


def test_machine_report_flags_an_old_gpu_and_missing_cuda_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = types.SimpleNamespace(
        driverGetVersion=lambda: 12040,
        runtimeGetVersion=lambda: 12020,
        getDeviceCount=lambda: 1,
        getDeviceProperties=lambda i: {"name": b"Tesla K80", "totalGlobalMem": 12 * 2**30, "major": 3, "minor": 7},
    )
    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime)))
    fake_probes(monkeypatch, numba="numba-cuda cannot load its NVVM compiler library")
    monkeypatch.setattr(backend, "_nvidia_smi", lambda: ["Tesla K80, 470.57.02, 11441 MiB"])
    monkeypatch.setattr(backend, "_cuda_libraries", lambda: {"cudart": "/lib/libcudart.so.12", "nvrtc": "not found"})
    report = backend.machine_report()
    assert report["gpu"]["devices"] == [{"name": "Tesla K80", "memory_gib": 12.0, "compute_capability": "3.7"}]
    assert (report["gpu"]["driver_version"], report["gpu"]["cuda_runtime_version"]) == ("12.4", "12.2")
    old, libraries, unused = report["problems"]
    assert "compute capability 3.7" in old and "6.0 or newer" in old
    assert "nvrtc" in libraries and "tapescan[gpu-cu12]" in libraries
    assert "nvidia-smi sees a GPU" in unused and "NVVM" in unused


def test_nvidia_smi_missing_failing_or_working(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert backend._nvidia_smi() == "not found on PATH"
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    fake.chmod(0o755)
    assert backend._nvidia_smi() == "failed (exit 9): NVIDIA-SMI has failed"
    fake.write_text("#!/bin/sh\necho 'NVIDIA GeForce RTX 3090, 550.54.14, 24576 MiB'\n")
    assert backend._nvidia_smi() == ["NVIDIA GeForce RTX 3090, 550.54.14, 24576 MiB"]


def run_doctor(*args: str, backend_option: str = "auto") -> typer.testing.Result:
    """Invoke `doctor` through a tiny app whose callback sets the global options, as the real main does."""
    app = typer.Typer()

    @app.callback()
    def options(ctx: typer.Context) -> None:
        ctx.obj = CliOptions(backend=backend_option)

    app.command("doctor")(doctor_cmd.doctor)
    return CliRunner().invoke(app, ["doctor", *args], env={"COLUMNS": "200"})


def test_doctor_prints_tables_and_ends_with_the_auto_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_probes(monkeypatch, cupy=NO_CUPY)
    result = run_doctor()
    assert result.exit_code == 0, result.output
    for heading in ("machine", "packages", "gpu", "logical cores", "numba-cuda", "simulator active"):
        assert heading in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == f"auto picks: cpu — {NO_CUPY}"


def test_doctor_json_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_probes(monkeypatch, cupy=NO_CUPY)
    result = run_doctor("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"machine", "packages", "gpu", "backend", "problems"}
    assert report["backend"]["auto"] == {"requested": "auto", "name": "cpu", "reason": NO_CUPY}


def test_doctor_with_an_unusable_gpu_requested_prints_the_report_then_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_probes(monkeypatch, numba=NO_DRIVER)
    result = run_doctor(backend_option="gpu")
    assert result.exit_code == 2
    assert "auto picks: cpu" in result.stdout
    assert "error:" in result.stderr and "tapescan[gpu-cu12]" in result.stderr


def test_importing_the_backend_leaves_cupy_and_numba_cuda_unimported() -> None:
    code = (
        "import sys, tapescan.backend, tapescan.cli.doctor_cmd\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'cupy' or m.startswith('numba.cuda')]\n"
        "print(loaded)\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "[]"


def test_a_machine_without_a_driver_library_is_told_so_without_importing_numba_cuda(monkeypatch):
    """The loader's answer first: no libcuda means no GPU, found in a millisecond instead of numba-cuda's import."""
    import ctypes

    def no_library(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.delenv("NUMBA_CUDA_DRIVER", raising=False)
    monkeypatch.setattr(ctypes, "CDLL", no_library)
    assert backend._driver_library_missing()
    assert backend._numba_cuda_problem() == NO_DRIVER
    monkeypatch.setenv("NUMBA_CUDA_DRIVER", "/opt/cuda/libcuda.so")  # numba-cuda is left to decide
    assert not backend._driver_library_missing()
    monkeypatch.delenv("NUMBA_CUDA_DRIVER")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: object())
    assert not backend._driver_library_missing()
