"""Per-symbol scalar logic shared by the CPU (numba) and GPU (numba-cuda) drivers, written once."""
