"""The scanner: which symbols pass a config's filters at a moment (docs/SCANNER.md).

The configuration (:mod:`tapescan.scanner.config`), the symbol groups (:mod:`tapescan.scanner.groups`),
the universe of a scan (:mod:`tapescan.scanner.universe`), scan/sweep themselves
(:mod:`tapescan.scanner.engine`), why they may find nothing (:mod:`tapescan.scanner.diagnostics`) and the
filter funnel of a scan (:mod:`tapescan.scanner.funnel`).
"""

from tapescan.scanner.config import (
    FilterBlock,
    FilterBounds,
    ScannerConfig,
    ScannerConfigError,
    WindowFilterBlock,
    as_scanner_config,
    load_scanner_config,
    scanner_config_error,
)
from tapescan.scanner.diagnostics import Diagnostic, ScanWarning
from tapescan.scanner.engine import SCAN_COLUMNS, iter_sweep, scan, sweep
from tapescan.scanner.funnel import FUNNEL_COLUMNS, explain
from tapescan.scanner.groups import BUILTIN_GROUPS, GroupError, group_members, known_groups

__all__ = [
    "BUILTIN_GROUPS",
    "FUNNEL_COLUMNS",
    "SCAN_COLUMNS",
    "Diagnostic",
    "FilterBlock",
    "FilterBounds",
    "GroupError",
    "ScanWarning",
    "ScannerConfig",
    "ScannerConfigError",
    "WindowFilterBlock",
    "as_scanner_config",
    "explain",
    "group_members",
    "iter_sweep",
    "known_groups",
    "load_scanner_config",
    "scan",
    "scanner_config_error",
    "sweep",
]
