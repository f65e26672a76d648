"""Messages between the coordinator thread and the data-upkeep thread (the only way they share data), and the
`Advance` the coordinator hands its consumers.

Messages are immutable: frozen dataclasses whose numpy arrays (directly, in `Items`, in panels, in dicts and
lists) are made read-only when the message is built, so neither thread can change what the other holds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tapescan.store import SessionPanel
from tapescan.stream.queues import Items


def freeze(value: object) -> None:
    """Make every numpy array reachable from `value` (an array, a dataclass such as Items or a panel, a dict,
    list or tuple of them) read-only."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, dict):
        for item in value.values():
            freeze(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            freeze(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for part in dataclasses.fields(value):
            freeze(getattr(value, part.name))


class Message:
    """Base of the messages: their arrays are read-only from construction on."""

    def __post_init__(self) -> None:
        freeze(self)


@dataclass(frozen=True)
class Advance(Message):
    """Coordinator -> consumers: what one clock advance delivered: the new clock (ns) and, in delivery order,
    (type, items)."""

    clock: int
    delivered: list[tuple[str, Items]]


@dataclass(frozen=True)
class SessionLoad(Message):
    """Upkeep -> coordinator: a session's input items and trailing history; day None: no more sessions."""

    day: dt.date | None
    items: dict[str, Items]
    history: dict[int, list[pd.DataFrame]]
    rows: int  # symbols (rows) it was prepared for
    derived: dict[int, tuple[SessionPanel, np.ndarray]] = field(default_factory=dict)  # k -> bars, counts


@dataclass(frozen=True)
class Fill(Message):
    """Upkeep -> coordinator: 1-minute bars found for gaps in session_data."""

    day: dt.date
    items: Items


@dataclass(frozen=True)
class LiveItems(Message):
    """Live source -> coordinator: items that just arrived (by stream type)."""

    items: dict[str, Items]


@dataclass(frozen=True)
class GapCheck(Message):
    """Coordinator -> upkeep: which 1-minute bars session_data lacks, from `start` (ns), as of the clock."""

    day: dt.date
    start: int
    missing: np.ndarray  # bool [symbol x minute]


@dataclass(frozen=True)
class SessionEnded(Message):
    """Coordinator -> upkeep: the session is over; send the next one."""

    day: dt.date


@dataclass(frozen=True)
class Stop(Message):
    """Coordinator -> upkeep: the run is over."""


@dataclass(frozen=True)
class AddSymbol(Message):
    """Caller -> coordinator: start streaming `symbol` now."""

    symbol: str
    streams: tuple[str, ...]


@dataclass(frozen=True)
class JoinRequest(Message):
    """Coordinator -> upkeep: `symbol` (row `row`) joined the session `day` at `clock` (ns): send its stream from
    then on, its 1-minute bars before, and its trailing history."""

    symbol: str
    streams: tuple[str, ...]
    row: int
    day: dt.date
    clock: int


@dataclass(frozen=True)
class SymbolJoined(Message):
    """Upkeep -> coordinator: a joined symbol's stream items (after the join), backfilled 1-minute bars (up to the
    join) and trailing history (bar minutes -> one frame per trailing session)."""

    day: dt.date
    items: dict[str, Items]
    backfill: Items
    history: dict[int, list[pd.DataFrame]]
