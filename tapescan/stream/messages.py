"""Messages between the coordinator thread and the data-upkeep thread (the only way they share data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tapescan.store import SessionPanel
from tapescan.stream.queues import Items


@dataclass(frozen=True)
class SessionLoad:
    """Upkeep -> coordinator: a session's input items and trailing history; day None: no more sessions."""

    day: dt.date | None
    items: dict[str, Items]
    history: dict[int, list[pd.DataFrame]]
    rows: int  # symbols (rows) it was prepared for
    derived: dict[int, tuple[SessionPanel, np.ndarray]] = field(default_factory=dict)  # k -> bars, counts


@dataclass(frozen=True)
class Fill:
    """Upkeep -> coordinator: 1-minute bars found for gaps in session_data."""

    day: dt.date
    items: Items


@dataclass(frozen=True)
class LiveItems:
    """Live source -> coordinator: items that just arrived (by stream type)."""

    items: dict[str, Items]


@dataclass(frozen=True)
class GapCheck:
    """Coordinator -> upkeep: which 1-minute bars session_data lacks, from `start` (ns), as of the clock."""

    day: dt.date
    start: int
    missing: np.ndarray  # bool [symbol x minute]


@dataclass(frozen=True)
class SessionEnded:
    """Coordinator -> upkeep: the session is over; send the next one."""

    day: dt.date


@dataclass(frozen=True)
class Stop:
    """Coordinator -> upkeep: the run is over."""


@dataclass(frozen=True)
class AddSymbol:
    """Caller -> coordinator: start streaming `symbol` now."""

    symbol: str
    streams: tuple[str, ...]


@dataclass(frozen=True)
class JoinRequest:
    """Coordinator -> upkeep: `symbol` (row `row`) joined the session `day` at `clock` (ns): send its stream from
    then on, its 1-minute bars before, and its trailing history."""

    symbol: str
    streams: tuple[str, ...]
    row: int
    day: dt.date
    clock: int


@dataclass(frozen=True)
class SymbolJoined:
    """Upkeep -> coordinator: a joined symbol's stream items (after the join), backfilled 1-minute bars (up to the
    join) and trailing history (bar minutes -> one frame per trailing session)."""

    day: dt.date
    items: dict[str, Items]
    backfill: Items
    history: dict[int, list[pd.DataFrame]]
