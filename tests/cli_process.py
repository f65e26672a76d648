"""Running the real `tapescan` entry point in a fresh process, as a user's shell would (exit codes and
messages included: the error handling lives in `main`, which CliRunner bypasses)."""

from __future__ import annotations

import subprocess
import sys


def tapescan(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """`tapescan ARGS...` in a fresh Python process; stdout and stderr captured as text. With `timeout`, a hang
    fails the test (subprocess.TimeoutExpired) instead of stalling the suite."""
    return subprocess.run([sys.executable, "-m", "tapescan.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout)


def scan_and_sweep(config: str, store: str, output: str, day: str, end: str | None = None,
                   at: str = "10:00") -> list[subprocess.CompletedProcess]:
    """`tapescan scan CONFIG` at (`day`, `at`) and `tapescan sweep CONFIG` from `day` to `end` (default `day`)
    into `output`, both on `store`: for checks that the two commands say the same thing."""
    return [tapescan("scan", config, "--date", day, "--time", at, "--store", store),
            tapescan("sweep", config, "--start", day, "--end", end or day, "--output", output, "--store", store)]
