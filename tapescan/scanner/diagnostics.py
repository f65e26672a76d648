"""Why a scan or sweep finds less than the config seems to ask for, said before it runs (docs/SCANNER.md
"Warnings and notes").

Each check looks at the config against what the store holds and returns :class:`Diagnostic` s: a
**warning** when the cause alone leaves the result empty (every universe symbol missing, a beta filter
without its benchmark, a trailing window longer than the store's history on every session scanned), a
**note** when it only narrows it (some universe symbols missing, the history lacking on some sessions of a
sweep). The engine hands them to the caller's `on_diagnostic`; without one, warnings go to Python's
:mod:`warnings` module as :class:`ScanWarning` and notes are dropped.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tapescan import calendar
from tapescan.kernels.scan import INTRADAY_FILTERS
from tapescan.scanner.config import KEY_OF_METRIC, SESSION_OPEN, ScannerConfig
from tapescan.scanner.universe import Universe
from tapescan.tickers import name_symbols

#: Metrics whose window of N sessions needs the session before it too (daily returns).
RETURN_METRICS = ("std_pct", "beta", "correlation")
SHOWN_SYMBOLS = 5


@dataclass(frozen=True)
class Diagnostic:
    """One reason for fewer hits: `level` "warning" (it empties the result) or "note" (it narrows it), the
    config `field` (s) at its origin, and the `message` in plain words, ending with what to do."""

    level: Literal["warning", "note"]
    field: str
    message: str


class ScanWarning(UserWarning):
    """A scan's or sweep's warning Diagnostic, as Python's warnings module shows it when no handler is given."""


DiagnosticHandler = Callable[[Diagnostic], None]


def warn_in_python(diagnostic: Diagnostic) -> None:
    """The default handler: warnings through the warnings module (ScanWarning), notes dropped."""
    if diagnostic.level == "warning":
        warnings.warn(diagnostic.message, ScanWarning, stacklevel=5)  # scan()'s caller; deeper for sweep/explain


def _listed(words: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def universe_diagnostics(universe: Universe) -> list[Diagnostic]:
    """Universe symbols the store lacks: a note when some remain, a warning when none does."""
    asked = "symbols, symbols_group"
    if len(universe.rows) and universe.missing:
        return [Diagnostic("note", asked, f"{len(universe.missing)} universe symbol(s) are not in the store and are "
                                          f"left out: {name_symbols(universe.missing, SHOWN_SYMBOLS)}.")]
    if len(universe.rows):
        return []
    if universe.missing:
        return [Diagnostic("warning", asked, (
            f"none of the {len(universe.missing)} universe symbol(s) "
            f"({name_symbols(universe.missing, SHOWN_SYMBOLS)}) is in the store, "
            "so nothing can pass; check symbols and symbols_group against the store's symbols (tapescan daily "
            "lists them), or ingest these symbols."))]
    return [Diagnostic("warning", "exclude_symbols", (
        "the universe is empty: exclude_symbols removes every symbol of it (or the store holds none), so nothing "
        "can pass; shorten exclude_symbols."))]


def benchmark_diagnostics(config: ScannerConfig, stored: Iterable[str]) -> list[Diagnostic]:
    """A benchmark the store lacks: beta and correlation are then undefined for every symbol."""
    if config.benchmark in set(stored):
        return []
    fix = f'ingest {config.benchmark} or set "benchmark" to a symbol the store holds.'
    filtered = [KEY_OF_METRIC[m] for m in ("beta", "correlation") if m in config.filters()]
    if not filtered:
        return [Diagnostic("note", "benchmark", f"benchmark {config.benchmark} is not in the store, so the beta and "
                                                f"correlation columns are empty; {fix}")]
    return [Diagnostic("warning", "benchmark", (
        f"benchmark {config.benchmark} is not in the store, so beta and correlation are undefined for every symbol "
        f"and the {_listed(filtered)} filter rejects them all; {fix}"))]


def history_needed(config: ScannerConfig) -> dict[str, int]:
    """Config key -> the sessions before a scanned one that its trailing filter needs (days, +1 for returns)."""
    return {KEY_OF_METRIC[metric]: bounds.days + (metric in RETURN_METRICS)
            for metric, bounds in config.filters().items() if bounds.days is not None}


def short_of_history(need: int, stored: set[dt.date], days: list[dt.date]) -> list[dt.date]:
    """The sessions of `days` (ascending) for which the store lacks one of the `need` sessions before."""
    if not days or need == 0:
        return []
    calendar_days = list(calendar.sessions(calendar.sessions_before(days[0], need)[0], days[-1])["date"])
    held = np.concatenate([[0], np.cumsum([day in stored for day in calendar_days])])
    position = {day: i for i, day in enumerate(calendar_days)}
    return [day for day in days if held[position[day]] - held[position[day] - need] < need]


def _sessions_phrase(short: list[dt.date], scanned: list[dt.date]) -> str:
    if len(scanned) == 1:
        return f"on {short[0]}"
    span = f"{short[0]}" if len(short) == 1 else f"{short[0]} to {short[-1]}"
    share = f"all {len(scanned)}" if len(short) == len(scanned) else f"{len(short)} of the {len(scanned)}"
    return f"on {share} sessions scanned ({span})"


def history_diagnostics(config: ScannerConfig, stored_sessions: list[dt.date],
                        scanned: list[dt.date]) -> list[Diagnostic]:
    """Trailing filters whose window reaches past the store's history (or into a session it lacks): nothing
    passes on those sessions. A warning when that is every session scanned, else a note."""
    stored = set(stored_sessions)
    needs = history_needed(config)
    short_by_key = {key: short_of_history(need, stored, scanned) for key, need in needs.items()}
    culprits = [key for key, short in short_by_key.items() if short]
    if not culprits:
        return []
    short = sorted(set().union(*(short_by_key[key] for key in culprits)))
    by_need: dict[int, list[str]] = {}
    for key in culprits:
        by_need.setdefault(needs[key], []).append(key)
    windows = "; ".join(f"{_listed(keys)} need{'s' if len(keys) == 1 else ''} the {need} sessions before each"
                        for need, keys in sorted(by_need.items(), reverse=True))
    never = set().union(*(short_of_history(need, stored, stored_sessions) for need in set(needs.values())))
    ready = [day for day in stored_sessions if day not in never]
    first = f"The first session with enough history is {ready[0]}: start there, " if ready else (
        "No stored session has enough history: ")
    fix = first + "ingest earlier sessions, or lower their days."
    level = "warning" if len(short) == len(scanned) else "note"
    message = (f"no symbol can pass {_sessions_phrase(short, scanned)}: the store lacks sessions that the trailing "
               f"windows need there ({windows}; the store starts on {stored_sessions[0]}), so those metrics are "
               f"undefined for every symbol. {fix}")
    return [Diagnostic(level, ", ".join(f"{key}.days" for key in culprits), message)]


def opening_diagnostics(config: ScannerConfig, moment: dt.time) -> list[Diagnostic]:
    """A one-moment scan at 09:30 sharp: no bar of the day has ended, so every intraday filter rejects all."""
    keys = [KEY_OF_METRIC[m] for m in config.filters() if m in INTRADAY_FILTERS]
    if moment != SESSION_OPEN or not keys:
        return []
    return [Diagnostic("warning", ", ".join(keys), (
        f"at 09:30 no bar of the day has ended, so every symbol's value is undefined for {_listed(keys)}, which "
        f"reject{'s' if len(keys) == 1 else ''} them all; scan at 09:31 or later."))]


def range_diagnostics(first: dt.date, last: dt.date, stored_sessions: list[dt.date],
                      scanned: list[dt.date]) -> list[Diagnostic]:
    """A sweep's range that holds no stored session."""
    if scanned:
        return []
    held = f"it holds {stored_sessions[0]} to {stored_sessions[-1]}" if stored_sessions else "it holds no session"
    return [Diagnostic("warning", "start, end", f"the store holds no session from {first} to {last} ({held}), so "
                                               "nothing was scanned; pick a range inside the store's.")]


def diagnose(config: ScannerConfig, universe: Universe, stored_symbols: Iterable[str],
             stored_sessions: list[dt.date], scanned: list[dt.date], moment: dt.time | None = None) -> list[Diagnostic]:
    """Every diagnostic of a scan (`moment` given) or a sweep over the stored sessions `scanned`."""
    return [*universe_diagnostics(universe), *benchmark_diagnostics(config, stored_symbols),
            *history_diagnostics(config, stored_sessions, scanned),
            *(opening_diagnostics(config, moment) if moment is not None else [])]
