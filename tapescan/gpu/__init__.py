"""numba-cuda kernels (one thread per symbol) around the shared per-symbol logic, and the device glue.

Importing the package registers the scalar kernel code with numba-cuda (tapescan/kernels/jitable.py), which
keeps a registry of its own.
"""

from tapescan.kernels.jitable import compile_for_cuda

compile_for_cuda()
