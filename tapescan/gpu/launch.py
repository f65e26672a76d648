"""Launch geometry shared by the GPU drivers."""

from __future__ import annotations

#: Threads per block of the one-thread-per-item kernels (tests pass a few, so that several blocks run).
THREADS_PER_BLOCK = 128
#: Most threads a grid-stride kernel launches: enough to fill any current GPU (an RTX 3090 runs 82 x 1,536).
STRIDE_THREADS = 1 << 17
#: The same under the CUDA simulator, where every thread is a Python thread: two blocks of four, each
#: looping over its share, so that tests still cover several blocks and the stride.
SIMULATOR_STRIDE_THREADS = 8


def blocks(n: int, threads: int) -> int:
    """Blocks of `threads` threads that cover `n` items (at least one)."""
    return max(1, (n + threads - 1) // threads)


def stride_launch(n: int, threads: int) -> tuple[int, int]:
    """(blocks, threads per block) of a grid-stride kernel over `n` items: one thread per item up to a cap."""
    from numba import config

    if config.ENABLE_CUDASIM:
        return 2, SIMULATOR_STRIDE_THREADS // 2
    return min(blocks(n, threads), max(1, STRIDE_THREADS // threads)), threads
