"""Which compute backend runs, and why: the one place in tapescan that knows whether a usable GPU is here.

A GPU is *usable* when numba-cuda reports a CUDA device and CuPy imports and sees at least one device: the
GPU path needs both (numba-cuda for kernels, CuPy/cuDF for arrays). Under the numba CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, for tests) the GPU kernels run simulated on the CPU: `gpu` asked for explicitly is
honoured, `auto` never picks it. numba.cuda and CuPy are imported only inside functions, so that importing
tapescan stays fast and works without them.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Literal

from tapescan.errors import BackendError

BACKENDS = ("auto", "cpu", "gpu")
ENV_VAR = "TAPESCAN_BACKEND"
INSTALL_HINT = "pip install 'tapescan[gpu-cu12]'"
MIN_COMPUTE_CAPABILITY = (6, 0)
SIMULATOR_REASON = (
    "the numba CUDA simulator is active (NUMBA_ENABLE_CUDASIM=1); it is for tests, far slower than the CPU path"
)
GPU_FIX = (
    "To fix: install the GPU extra that matches your NVIDIA driver ("
    + INSTALL_HINT
    + " for CUDA 12 drivers, 'tapescan[gpu-cu13]' for CUDA 13), check that `nvidia-smi` lists your GPU, "
    "see setup/ubuntu_rtx3090.md, and run `tapescan doctor` to see what is missing. "
    "Or use --backend auto (GPU when usable, else CPU) or --backend cpu."
)
# Reported version of each package: label -> distributions that provide it (the first installed one wins).
PACKAGES = {
    "numpy": ("numpy",),
    "numba": ("numba",),
    "numba-cuda": ("numba-cuda",),
    "pyarrow": ("pyarrow",),
    "pandas": ("pandas",),
    "pandas-market-calendars": ("pandas-market-calendars",),
    "cupy": ("cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x", "cupy"),
    "cudf": ("cudf-cu12", "cudf-cu13", "cudf"),
}
NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class BackendResolution:
    """The backend that will run (`name`), what was asked for (`requested`), and a sentence saying why."""

    name: Literal["cpu", "gpu"]
    requested: str
    reason: str


@dataclass(frozen=True)
class GpuProbe:
    """Whether a real GPU is usable, whether the CUDA simulator is active, and a sentence saying why."""

    usable: bool
    simulated: bool
    reason: str


def simulator_active() -> bool:
    """True when numba runs CUDA code in its simulator (NUMBA_ENABLE_CUDASIM=1 set before numba was imported)."""
    from numba import config

    return bool(config.ENABLE_CUDASIM)


def _one_line(error: BaseException) -> str:
    """An exception's message on one line, without the trailing period or colon (callers add their own)."""
    return " ".join(str(error).split()).rstrip(" :.") or type(error).__name__


def _driver_library_missing() -> bool:
    """Whether the dynamic loader finds no CUDA driver library (libcuda) here, as numba-cuda would conclude after
    an import of a third of a second, which every command on a machine without a GPU paid. Unknown (False) when
    NUMBA_CUDA_DRIVER names a driver of its own: numba-cuda then decides."""
    if os.environ.get("NUMBA_CUDA_DRIVER"):
        return False
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll", "libcuda.dylib"):
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return False
    return True


def _numba_cuda_problem() -> str | None:
    """Why numba-cuda cannot run kernels on a GPU here, or None when it can."""
    if _driver_library_missing():
        return "numba-cuda found no CUDA driver: CUDA driver library cannot be found"
    try:
        from numba import cuda
    except ImportError as error:
        if isinstance(error, ModuleNotFoundError) and error.name == "numba.cuda":
            return f"numba-cuda is not installed ({INSTALL_HINT})"
        return f"numba-cuda fails to import: {_one_line(error)}"
    try:
        count = len(cuda.gpus)
    except Exception as error:  # CudaSupportError and kin: no driver, or a driver too old for numba-cuda
        return f"numba-cuda found no CUDA driver: {_one_line(error)}"
    if count == 0:
        return "the CUDA driver reports no GPU"
    if not cuda.is_available():
        return f"numba-cuda cannot load its NVVM compiler library ({INSTALL_HINT} installs it)"
    return None


def _cupy_problem() -> str | None:
    """Why CuPy cannot use a GPU here, or None when it sees at least one."""
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # not installed, a broken install, or a CUDA runtime the driver is too old for
        if isinstance(error, ModuleNotFoundError) and error.name == "cupy":
            return f"CuPy is not installed ({INSTALL_HINT})"
        return f"CuPy cannot use the GPU: {_one_line(error)}"
    return None if count > 0 else "CuPy sees no GPU"


@functools.cache
def probe_gpu() -> GpuProbe:
    """Look for a usable GPU once per process (it takes a second or more); `probe_gpu.cache_clear()` forgets."""
    if simulator_active():
        return GpuProbe(usable=False, simulated=True, reason=SIMULATOR_REASON)
    problem = _numba_cuda_problem() or _cupy_problem()
    if problem is not None:
        return GpuProbe(usable=False, simulated=False, reason=problem)
    return GpuProbe(usable=True, simulated=False, reason="numba-cuda and CuPy both see a CUDA GPU")


def resolve_backend(requested: str | None = "auto") -> BackendResolution:
    """Decide between cpu and gpu for `requested` (auto/cpu/gpu; None reads $TAPESCAN_BACKEND, default auto).

    `auto` falls back to the CPU quietly; `gpu` raises :class:`BackendError` with the reason and the fix when
    no usable GPU is here.
    """
    source = f"${ENV_VAR}" if requested is None else "--backend"
    if requested is None:
        requested = os.environ.get(ENV_VAR) or "auto"
    choice = requested.strip().lower()
    if choice not in BACKENDS:
        raise BackendError(f"{source} {requested!r} is not a backend; use one of: {', '.join(BACKENDS)}.")
    if choice == "cpu":
        return BackendResolution("cpu", choice, "the CPU backend was requested")
    probe = probe_gpu()
    if probe.usable:
        return BackendResolution("gpu", choice, probe.reason)
    if choice == "auto":
        return BackendResolution("cpu", choice, probe.reason)
    if probe.simulated:
        return BackendResolution(
            "gpu", choice, "gpu was requested and the numba CUDA simulator is active: GPU kernels run simulated "
            "on the CPU (for tests; far slower than the CPU path)"
        )
    raise BackendError(f"the gpu backend was requested but cannot run here: {probe.reason}.\n{GPU_FIX}")


def _cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_gib() -> tuple[float, float | None]:
    """Total and available RAM in GiB, from /proc/meminfo, else from sysconf (available may be unknown)."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo if ":" in line)
        kib = {name: int(fields[name].split()[0]) for name in ("MemTotal", "MemAvailable")}
        return round(kib["MemTotal"] / 2**20, 1), round(kib["MemAvailable"] / 2**20, 1)
    except (OSError, KeyError, ValueError):
        page = os.sysconf("SC_PAGE_SIZE")
        total = round(page * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
        try:
            return total, round(page * os.sysconf("SC_AVPHYS_PAGES") / 2**30, 1)
        except (ValueError, OSError):  # not on macOS
            return total, None


def _package_version(distributions: tuple[str, ...]) -> str:
    """Version of the first installed distribution among `distributions`, naming it when it is not the first."""
    for name in distributions:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return version if name == distributions[0] else f"{version} ({name})"
    return NOT_INSTALLED


def _cuda_version(encoded: int) -> str:
    """CUDA's 1000*major + 10*minor encoding as 'major.minor'."""
    return f"{encoded // 1000}.{encoded % 1000 // 10}"


def _gpu_details() -> dict[str, Any]:
    """GPU devices and CUDA versions as CuPy sees them, else as numba-cuda does (without memory sizes)."""
    details: dict[str, Any] = {"devices": [], "driver_version": None, "cuda_runtime_version": None}
    if simulator_active():  # the simulator's fake device says nothing about this machine
        return details
    try:
        import cupy

        runtime = cupy.cuda.runtime
        details["driver_version"] = _cuda_version(runtime.driverGetVersion())
        details["cuda_runtime_version"] = _cuda_version(runtime.runtimeGetVersion())
        for index in range(runtime.getDeviceCount()):
            props = runtime.getDeviceProperties(index)
            name = props["name"]
            details["devices"].append({
                "name": name.decode() if isinstance(name, bytes) else str(name),
                "memory_gib": round(props["totalGlobalMem"] / 2**30, 1),
                "compute_capability": f"{props['major']}.{props['minor']}",
            })
        return details
    except Exception:  # CuPy missing or unable to reach the GPU: the probe's reason says why; ask numba-cuda
        pass
    try:
        from numba import cuda

        details["driver_version"] = ".".join(map(str, cuda.cudadrv.driver.driver.get_version()))
        for device in cuda.gpus:
            name = device.name
            details["devices"].append({
                "name": name.decode() if isinstance(name, bytes) else str(name),
                "compute_capability": ".".join(map(str, device.compute_capability)),
            })
    except Exception:  # no numba-cuda or no driver: the probe's reason says why
        pass
    return details


def _nvidia_smi() -> list[str] | str:
    """One line per GPU from `nvidia-smi` (name, driver, memory), or why there are none; never hangs."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return "not found on PATH"
    query = [executable, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"failed: {_one_line(error)}"
    if done.returncode != 0:
        return f"failed (exit {done.returncode}): {' '.join((done.stderr or done.stdout).split())}"
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def _cuda_libraries() -> dict[str, str]:
    """Where numba-cuda finds the CUDA runtime and NVRTC libraries it compiles and launches kernels with."""
    if simulator_active():
        return {}
    try:
        from cuda.pathfinder import load_nvidia_dynamic_lib
    except ImportError:
        return {}
    found = {}
    for library in ("cudart", "nvrtc"):
        try:
            found[library] = load_nvidia_dynamic_lib(library).abs_path or "loaded"
        except Exception:  # DynamicLibNotFoundError and kin
            found[library] = "not found"
    return found


def _resolution_entry(requested: str) -> dict[str, str]:
    """A resolution as a plain dict; a refused one carries the error instead of a backend name."""
    try:
        resolution = resolve_backend(requested)
    except BackendError as error:
        return {"requested": requested, "error": str(error)}
    return {"requested": resolution.requested, "name": resolution.name, "reason": resolution.reason}


def _problems(report: dict[str, Any]) -> list[str]:
    """Known misconfigurations visible in `report`, each as a sentence saying what to do."""
    problems = []
    gpu = report["gpu"]
    for index, device in enumerate(gpu["devices"]):
        major, minor = (int(part) for part in device["compute_capability"].split("."))
        if (major, minor) < MIN_COMPUTE_CAPABILITY:
            problems.append(
                f"GPU {index} ({device['name']}) has compute capability {major}.{minor}; tapescan's GPU path needs "
                f"{'.'.join(map(str, MIN_COMPUTE_CAPABILITY))} or newer. Use --backend cpu."
            )
    driver_present = isinstance(gpu["nvidia_smi"], list) and bool(gpu["nvidia_smi"])
    missing = [name for name, where in gpu["cuda_libraries"].items() if where == "not found"]
    if driver_present and missing:
        problems.append(
            f"numba-cuda is installed without the CUDA {' and '.join(missing)} libraries it needs; "
            f"{INSTALL_HINT} brings them."
        )
    if driver_present and report["backend"]["auto"]["name"] == "cpu" and not gpu["simulator_active"]:
        problems.append(f"nvidia-smi sees a GPU but tapescan cannot use it: {report['backend']['auto']['reason']}.")
    return problems


def machine_report(requested: str = "auto") -> dict[str, Any]:
    """Everything `tapescan doctor` shows: machine, package versions, GPU, backend choices and known problems.

    The result holds only JSON types; `requested` is the backend asked for (the global `--backend`).
    """
    total_gib, available_gib = _memory_gib()
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    report: dict[str, Any] = {
        "machine": {
            "cpu": _cpu_model(),
            "logical_cores": os.cpu_count() or 1,
            "usable_cores": len(affinity) if affinity else os.cpu_count() or 1,
            "ram_total_gib": total_gib,
            "ram_available_gib": available_gib,
            "os": platform.platform(),
            "python": f"{platform.python_version()} ({platform.python_implementation()}, {sys.executable})",
        },
        "packages": {label: _package_version(names) for label, names in PACKAGES.items()},
        "gpu": {
            "simulator_active": simulator_active(),
            **_gpu_details(),
            "nvidia_smi": _nvidia_smi(),
            "cuda_libraries": _cuda_libraries(),
        },
        "backend": {"auto": _resolution_entry("auto"), "requested": _resolution_entry(requested)},
    }
    report["problems"] = _problems(report)
    return report
