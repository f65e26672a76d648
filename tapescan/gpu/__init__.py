"""numba-cuda kernels (one thread per symbol) around the shared per-symbol logic, and the device glue."""
