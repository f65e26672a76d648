"""The scanner: which symbols pass a config's filters at a moment (docs/SCANNER.md).

The configuration (:mod:`tapescan.scanner.config`), the symbol groups (:mod:`tapescan.scanner.groups`),
the universe of a scan (:mod:`tapescan.scanner.universe`) and scan/sweep themselves
(:mod:`tapescan.scanner.engine`).
"""

from tapescan.scanner.config import (
    FilterBlock,
    FilterBounds,
    ScannerConfig,
    ScannerConfigError,
    WindowFilterBlock,
    load_scanner_config,
    scanner_config_error,
)
from tapescan.scanner.engine import SCAN_COLUMNS, iter_sweep, scan, sweep
from tapescan.scanner.groups import BUILTIN_GROUPS, GroupError, group_members, known_groups

__all__ = [
    "BUILTIN_GROUPS",
    "SCAN_COLUMNS",
    "FilterBlock",
    "FilterBounds",
    "GroupError",
    "ScannerConfig",
    "ScannerConfigError",
    "WindowFilterBlock",
    "group_members",
    "iter_sweep",
    "known_groups",
    "load_scanner_config",
    "scan",
    "scanner_config_error",
    "sweep",
]
