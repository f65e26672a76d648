"""The scanner: which symbols pass a config's filters at a moment (docs/SCANNER.md).

This package so far holds the configuration (:mod:`tapescan.scanner.config`) and the symbol groups
(:mod:`tapescan.scanner.groups`).
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
from tapescan.scanner.groups import BUILTIN_GROUPS, GroupError, group_members, known_groups

__all__ = [
    "BUILTIN_GROUPS",
    "FilterBlock",
    "FilterBounds",
    "GroupError",
    "ScannerConfig",
    "ScannerConfigError",
    "WindowFilterBlock",
    "group_members",
    "known_groups",
    "load_scanner_config",
    "scanner_config_error",
]
