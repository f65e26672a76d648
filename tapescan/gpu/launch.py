"""Launch geometry shared by the GPU drivers."""

from __future__ import annotations

#: Threads per block of the one-thread-per-item kernels (tests pass a few, so that several blocks run).
THREADS_PER_BLOCK = 128


def blocks(n: int, threads: int) -> int:
    """Blocks of `threads` threads that cover `n` items (at least one)."""
    return max(1, (n + threads - 1) // threads)
