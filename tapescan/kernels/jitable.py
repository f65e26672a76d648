"""How the scalar kernel code is compiled for both targets, so that both compute the same IEEE-754 operations.

`scalar` marks a function of tapescan/kernels as jitable code, inlined into its caller at numba's IR level. On
the CPU that is numba.core's ``register_jitable(inline="always")``. numba-cuda (0.30) keeps a registry of its own
and does not compile numba.core's inlined jitables (their arguments arrive as ``omitted``), so
:func:`compile_for_cuda`, which tapescan.gpu calls on import, registers every scalar function there too.

`product(a, b)` is ``a * b`` rounded on its own. NVVM contracts ``a * b + c`` into one fused multiply-add
(rounded once instead of twice) and numba-cuda 0.30 has no switch to stop it (NVIDIA/numba-cuda issue 118);
libdevice's ``dmul_rn`` is documented never to be merged into a multiply-add. The numba CPU target does not
contract without ``fastmath``, so there a plain ``a * b`` is the same operation. Every product that feeds a
sum in the kernels goes through `product`; tests/test_kernel_compile.py checks that the PTX of every GPU
kernel holds no ``fma`` and that the CPU drivers' machine code holds none either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from numba.core.extending import register_jitable

Function = TypeVar("Function", bound=Callable)

_SCALAR_FUNCTIONS: list[tuple[Callable, str]] = []
_registered_for_cuda = False


def _register(function: Function, inline: str) -> Function:
    register_jitable(inline=inline)(function)
    _SCALAR_FUNCTIONS.append((function, inline))
    if _registered_for_cuda:
        _register_one_for_cuda(function, inline)
    return function


def scalar(function: Function) -> Function:
    """Register `function` as scalar kernel code, inlined into its caller, for the CPU now and for CUDA once
    tapescan.gpu is imported: for the small functions of a hot loop."""
    return _register(function, "always")


def routine(function: Function) -> Function:
    """Register `function` as scalar kernel code compiled once as a function of its own (LLVM may still inline
    it): for the simulator's phases, which call one another at many sites. Inlining each at numba's IR level
    multiplies the code of a driver and took minutes to compile."""
    return _register(function, "never")


@register_jitable(inline="always")
def product(a, b):
    """a * b, rounded before anything is added to it, on both targets (the CPU target never contracts)."""
    return a * b


def _register_one_for_cuda(function: Callable, inline: str) -> None:
    from numba.cuda.extending import register_jitable as register_cuda_jitable

    register_cuda_jitable(inline=inline)(function)


def compile_for_cuda() -> None:
    """Make the scalar functions and `product` compilable by numba-cuda (once; a no-op under the simulator,
    which runs kernels as Python, where ``a * b`` is rounded on its own)."""
    global _registered_for_cuda
    from numba import config

    if _registered_for_cuda or config.ENABLE_CUDASIM:
        return
    from numba.cuda import libdevice
    from numba.cuda.extending import overload

    @overload(product, inline="always")
    def _product_on_cuda(a, b):
        def rounded_product(a, b):
            return libdevice.dmul_rn(a, b)

        return rounded_product

    for function, inline in _SCALAR_FUNCTIONS:
        _register_one_for_cuda(function, inline)
    _registered_for_cuda = True
