"""Which symbols a scan covers (docs/spec/metrics.md "Scanner semantics"): `symbols` ∪ the members of every group in
`symbols_group` − `exclude_symbols`; with neither `symbols` nor `symbols_group`, every symbol in the store.

With `point_in_time`, group membership is taken as of each scanned session, so the universe can change from
one session to the next. A sweep therefore works on one fixed set of rows (every symbol that is in the
universe on some session of the range and in the store) and a per-session membership mask over them.
Symbols asked for that the store lacks are collected once, for a single warning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from tapescan.scanner.config import ScannerConfig
from tapescan.scanner.groups import group_members
from tapescan.store import Store


@dataclass(frozen=True)
class Universe:
    """The rows a sweep computes (sorted symbols held by the store), and which of them count on each session."""

    rows: np.ndarray  # str [R], sorted
    missing: list[str]  # asked for (on some session), not in the store
    members: dict[dt.date, np.ndarray]  # bool [R] per session; absent key: every row counts

    def mask(self, day: dt.date) -> np.ndarray:
        """Which rows are in the universe on `day`."""
        return self.members.get(day, np.ones(len(self.rows), dtype=bool))


def _asked(config: ScannerConfig, store: Store, day: dt.date | None) -> set[str]:
    """The universe as the config writes it, on `day` (None: current group membership)."""
    asked = set(config.symbols)
    for group in config.symbols_group:
        asked.update(group_members(group, as_of=day, store_root=store.path))
    return asked - set(config.exclude_symbols)


def resolve_universe(config: ScannerConfig, store: Store, sessions: list[dt.date]) -> Universe:
    """The universe of a scan or sweep over `sessions`."""
    stored = set(store.symbols()["symbol"])
    if not config.symbols and not config.symbols_group:
        rows = np.array(sorted(stored - set(config.exclude_symbols)), dtype=object)
        return Universe(rows.astype(str), [], {})
    if not config.point_in_time:
        asked = _asked(config, store, None)
        rows = np.array(sorted(asked & stored), dtype=object)
        return Universe(rows.astype(str), sorted(asked - stored), {})
    by_day = {day: _asked(config, store, day) for day in sessions}
    union = set().union(*by_day.values()) if by_day else set()
    rows = np.array(sorted(union & stored), dtype=object).astype(str)
    members = {day: np.isin(rows, sorted(asked)) for day, asked in by_day.items()}
    return Universe(rows, sorted(union - stored), members)
