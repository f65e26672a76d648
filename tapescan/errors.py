"""Errors a user can act on.

Every error that reaches the command line is a :class:`TapescanError` whose message names the file, field
or argument at fault and says what to do. Anything else is a bug and is reported as one.
"""

from __future__ import annotations


class TapescanError(Exception):
    """A problem with the user's input or environment; the message says what and how to fix it."""


class CalendarError(TapescanError, ValueError):
    """A date or instant the calendar cannot answer for (not a session, naive time, bad range)."""


class StoreError(TapescanError):
    """The store is missing, damaged, locked, or a write would mix incompatible data."""


class StoreDamagedError(StoreError):
    """A store file that is missing, altered, truncated, outside the store or unreadable (docs/STORE.md
    "Integrity"): the store would otherwise return wrong bars, so every reader and writer stops instead."""

    def __init__(self, file: object, problem: str, advice: str) -> None:
        super().__init__(f"the store is damaged: {file} ({problem}); {advice}")
        self.file = file
        self.problem = problem


class BackendError(TapescanError):
    """The requested compute backend cannot run here (for example `gpu` with no usable GPU)."""


class IngestError(TapescanError):
    """Vendor input that cannot be ingested as given (wrong format, hostile archive, unreachable source)."""


class DiskFullError(TapescanError, OSError):
    """A write ran out of disk space or quota; the message names the disk's folder and what was left as it was."""


class StoreConflictError(StoreError):
    """A write would change bars the store already holds for some (symbol, session), without `replace`."""

    def __init__(self, message: str, day: object, symbols: list[str]) -> None:
        super().__init__(message)
        self.day = day
        self.symbols = symbols
