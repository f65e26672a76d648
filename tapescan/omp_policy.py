"""numba's parallel kernels run on OpenMP threads: let the idle ones sleep instead of spinning.

GNU OpenMP's worker threads spin for a while after each parallel region unless OMP_WAIT_POLICY says otherwise.
A sweep runs a parallel kernel per session while its reader thread decodes the next session, so on a machine
with few cores the spinning takes the very core the reader needs (bench/RESULTS.md: the 2,000 x 60 sweep 2.1 ->
1.9-2.0 s wall and 3.8 -> 3.4 CPU-seconds on two cores). Set before numba loads its OpenMP layer (at the first
parallel kernel); a value the user set is kept.
"""

from __future__ import annotations

import os

#: What tapescan asks of OpenMP unless the environment says otherwise.
WAIT_POLICY = "PASSIVE"


def let_idle_threads_sleep() -> None:
    """Set OMP_WAIT_POLICY to PASSIVE unless it is set already."""
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
