"""numba CPU drivers: a `prange` over symbols around the shared per-symbol logic (tapescan/kernels)."""
