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


class BackendError(TapescanError):
    """The requested compute backend cannot run here (for example `gpu` with no usable GPU)."""


class IngestError(TapescanError):
    """Vendor input that cannot be ingested as given (wrong format, hostile archive, unreachable source)."""


class StoreConflictError(StoreError):
    """A write would change bars the store already holds for some (symbol, session), without `replace`."""

    def __init__(self, message: str, day: object, symbols: list[str]) -> None:
        super().__init__(message)
        self.day = day
        self.symbols = symbols
