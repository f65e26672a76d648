"""The replay (session) configuration: which symbols and input streams, which derived bars, the session
window, the replay speed, the trailing history, and the session timeout (docs/spec/interfaces.md "Replay config").

A 1-minute bar stream is always active for a symbol when derived bars are asked for (the client's "bar
completeness requirement"), so `streams_of` adds `1m` in that case.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tapescan.configfile import ConfigKind, check_kind, plain_problem, read_document
from tapescan.errors import TapescanError
from tapescan.tickers import clean_ticker

StreamType = Literal["1m", "1s", "quote", "tick"]
#: Input stream types, in the order items with the same event time are moved into session_data: bars first
#: (they summarise the interval that ended at that instant), coarse before fine, then quotes, then trades.
STREAM_TYPES: tuple[str, ...] = ("1m", "1s", "quote", "tick")


class ReplayConfigError(TapescanError):
    """A replay config that cannot be used as written."""


def _clock(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    try:
        hours, minutes = str(value).strip().split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day; write HH:MM in ET, such as \"09:30\"") from None


def check_speed(speed: float) -> float:
    """A replay speed: 0 (data-driven) or a finite factor above 0; ValueError in plain words otherwise (NaN would
    never make an item due, so the replay would wait forever; a negative or infinite speed means nothing)."""
    if not (math.isfinite(speed) and speed >= 0):
        raise ValueError(f"speed must be 0 (data-driven) or a finite number above 0, such as 60 (got {speed})")
    return speed


class ReplayConfig(BaseModel):
    """What a replay streams into session_data, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbols: list[str] = Field(min_length=1)
    streams: list[StreamType] | dict[str, list[StreamType]] = ["1m"]
    derived_intervals: list[int] = [5]
    start_time: dt.time = dt.time(9, 30)
    end_time: dt.time = dt.time(16, 0)
    speed: float = 0.0
    historical_bars_trailing_days: int = Field(0, ge=0)
    historical_bars_types: list[int] = []
    session_timeout_seconds: float = Field(60.0, gt=0)

    @field_validator("symbols")
    @classmethod
    def _tickers(cls, symbols: list[str]) -> list[str]:
        cleaned = [clean_ticker(s) for s in symbols]
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a symbol is listed twice")
        return cleaned

    @field_validator("speed")
    @classmethod
    def _speed(cls, speed: float) -> float:
        return check_speed(speed)

    @field_validator("start_time", "end_time", mode="before")
    @classmethod
    def _times(cls, value: object) -> dt.time:
        clock = _clock(value)
        if not dt.time(9, 30) <= clock <= dt.time(16, 0):
            raise ValueError(f"{clock:%H:%M} is outside the regular session 09:30-16:00")
        return clock

    @field_validator("derived_intervals", "historical_bars_types")
    @classmethod
    def _minutes(cls, values: list[int], info) -> list[int]:
        shortest = 2 if info.field_name == "derived_intervals" else 1
        if any(v < shortest for v in values):
            raise ValueError("derived bars span at least 2 minutes (1-minute bars are the 1m input stream)"
                             if shortest == 2 else "intervals are whole minutes, at least 1")
        return sorted(set(values))

    @model_validator(mode="after")
    def _consistent(self) -> ReplayConfig:
        if self.start_time >= self.end_time:
            raise ValueError(f"start_time {self.start_time:%H:%M} must be before end_time {self.end_time:%H:%M}")
        if isinstance(self.streams, dict):
            unknown = sorted(set(self.streams) - set(self.symbols))
            if unknown:
                raise ValueError(f"streams names symbols that are not in symbols: {', '.join(unknown)}")
        return self

    def streams_of(self, symbol: str) -> tuple[str, ...]:
        """The input streams of `symbol`, in STREAM_TYPES order (1m added when derived bars are wanted)."""
        return streams_for(self, self.streams.get(symbol, ["1m"]) if isinstance(self.streams, dict) else self.streams)

    def all_streams(self) -> tuple[str, ...]:
        """Every input stream type some symbol uses."""
        used = {t for s in self.symbols for t in self.streams_of(s)}
        return tuple(t for t in STREAM_TYPES if t in used)


@dataclass
class Roster:
    """The symbols a run streams, in row order, and each one's input streams; it grows when a symbol is added
    mid-session (new symbols get the next rows, so existing rows never move)."""

    symbols: list[str]
    streams: dict[str, tuple[str, ...]]

    @classmethod
    def from_config(cls, config: ReplayConfig) -> Roster:
        return cls(list(config.symbols), {s: config.streams_of(s) for s in config.symbols})

    def add(self, symbol: str, streams: tuple[str, ...]) -> int:
        """Add `symbol` (its row is returned)."""
        self.symbols.append(symbol)
        self.streams[symbol] = streams
        return len(self.symbols) - 1

    def copy(self) -> Roster:
        return Roster(list(self.symbols), dict(self.streams))


def streams_for(config: ReplayConfig, streams: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A symbol's input streams as the config's rules make them (1m added when derived bars are wanted)."""
    unknown = sorted(set(streams) - set(STREAM_TYPES))
    if unknown:
        raise ReplayConfigError(f"unknown stream type(s) {', '.join(unknown)}; use {', '.join(STREAM_TYPES)}.")
    wanted = set(streams) | ({"1m"} if config.derived_intervals else set())
    return tuple(t for t in STREAM_TYPES if t in wanted)


REPLAY_KIND = ConfigKind(
    name="replay config", keys=frozenset(ReplayConfig.model_fields),
    example='{"symbols": ["AAPL", "SPY"], "derived_intervals": [5], "historical_bars_trailing_days": 2}',
    docs='docs/REPLAY.md "The config"', usage="tapescan replay {file} --store STORE --start D --end D")


def load_replay_config(path: str | Path) -> ReplayConfig:
    """The replay config in a .json, .yaml/.yml or .toml file; ReplayConfigError naming the file and field (or
    saying that the file is a scanner config)."""
    file = Path(path).expanduser()
    data = read_document(file, "Replay config", ReplayConfigError, "docs/REPLAY.md shows an example")
    check_kind(data, REPLAY_KIND, f"Replay config {file}", ReplayConfigError, file)
    try:
        return ReplayConfig.model_validate(data)
    except ValidationError as exc:
        problems = [f"  {'.'.join(str(p) for p in e['loc']) or 'config'}: {plain_problem(e, ReplayConfig)}"
                    for e in exc.errors(include_url=False)]
        count = "a problem" if len(problems) == 1 else f"{len(problems)} problems"
        raise ReplayConfigError("\n".join([f"Replay config {file} has {count}:", *problems,
                                            'Fix these and try again; docs/REPLAY.md ("The config") describes '
                                            "every key."])) from None
