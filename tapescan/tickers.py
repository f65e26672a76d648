"""What a ticker is: the one rule for the symbols a store can hold, shared by ingest, the scanner's configs and
groups, and the replay config; and how messages name a list of them."""

from __future__ import annotations

import re
from collections.abc import Sequence

#: The tickers a store can hold: 1-20 letters, digits, '.', '-' or '^' (upper case).
TICKER = re.compile(r"[A-Z0-9.^\-]{1,20}")
_EXCERPT_CHARS = 24  # longer than any ticker, so a near-miss is shown whole


def clean_ticker(raw: str) -> str:
    """``raw`` stripped and upper-cased; ValueError in plain words when it cannot be a stored ticker."""
    ticker = raw.strip().upper()
    if not ticker:
        raise ValueError("a ticker cannot be empty")
    if not TICKER.fullmatch(ticker):
        raise ValueError(f"{excerpt(raw)} is not a ticker: a ticker is 1-20 letters, digits, '.', '-' or '^', "
                         "no spaces")
    return ticker


def name_symbols(symbols: Sequence[str], most: int = 10) -> str:
    """Up to `most` symbols, comma-separated, then how many more there are."""
    named = ", ".join(symbols[:most])
    return named if len(symbols) <= most else f"{named} and {len(symbols) - most} more"


def excerpt(text: str) -> str:
    """A short quotation of `text` for an error message: at most a few characters, non-printable ones
    escaped (repr), so that a message cannot carry a file's content or terminal control codes."""
    quoted = repr(text[:_EXCERPT_CHARS])
    return quoted if len(text) <= _EXCERPT_CHARS else quoted + "..."
