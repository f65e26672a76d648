"""tapescan/omp_policy.py: idle OpenMP workers sleep (they spun on the core a sweep's reader decodes on), unless
the user has set the policy."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("preset", [None, "ACTIVE"])
def test_openmp_idle_threads_sleep_unless_the_user_says_otherwise(preset):
    env = {"PATH": "/usr/bin:/bin"} | ({"OMP_WAIT_POLICY": preset} if preset else {})
    code = "import os, tapescan; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == (preset or "PASSIVE")
