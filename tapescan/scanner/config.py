"""The scanner's configuration: the client's ``market_scanner_config`` object, validated, in plain words.

:class:`ScannerConfig` accepts the object bare or wrapped as ``{"market_scanner_config": {...}}``, from Python
(``model_validate``), JSON text (``model_validate_json``) or a JSON/YAML/TOML file (:func:`load_scanner_config`).
Every model forbids unknown keys. A problem is a pydantic ``ValidationError`` whose messages are already plain
words; :func:`scanner_config_error` turns it into a :class:`ScannerConfigError` with one line per problem, which
:func:`load_scanner_config` raises. Bounds that are valid but cannot all bind (a correlation above 1, a negative
minimum volume) are accepted; :meth:`ScannerConfig.warnings` says what each such filter reduces to.
Field by field: docs/SCANNER.md "Configuration".
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from tapescan import calendar
from tapescan.configfile import ConfigKind, check_kind, keys_at, plain_problem, read_document, unknown_key
from tapescan.errors import TapescanError
from tapescan.scanner.groups import BUILTIN_GROUPS, GROUPS_FOLDER
from tapescan.tickers import clean_ticker

ROOT_KEY = "market_scanner_config"
SESSION_OPEN = datetime.time(9, 30)
SESSION_CLOSE = datetime.time(16, 0)
#: A trailing window's sessions when a block gives no `days`; also the window of a trailing metric whose
#: filter block is absent (the scan still reports it).
DEFAULT_DAYS = 10
#: The longest trailing window: about 40 years of NYSE sessions (~252 a year), more than any store holds.
MAX_DAYS = 10_000
#: The longest step between scan times: a whole regular session, 09:30-16:00.
MAX_INTERVAL_MINUTES = calendar.REGULAR_MINUTES

# Config key -> metric name of docs/spec/metrics.md, in the order of that page (and of filters()).
METRIC_OF_KEY = {
    "average_volume": "avg_volume",
    "average_price": "avg_price",
    "standard_deviation": "std_pct",
    "beta": "beta",
    "correlation": "correlation",
    "relative_volume": "rel_volume",
    "current_price_change_percentage": "change_pct",
    "today_price_range_percentage": "range_pct",
}
KEY_OF_METRIC = {metric: key for key, metric in METRIC_OF_KEY.items()}

# The values a metric can take at all: (noun, lowest, highest), None = no limit. Unlisted metrics (beta,
# change_pct) can be any number, so none of their bounds is moot.
_NATURAL_RANGE: dict[str, tuple[str, float | None, float | None]] = {
    "average_volume": ("an average volume", 0, None),
    "average_price": ("an average price", 0, None),
    "standard_deviation": ("a standard deviation", 0, None),
    "correlation": ("a correlation", -1, 1),
    "relative_volume": ("a relative volume", 0, None),
    "today_price_range_percentage": ("a price range", 0, None),
}
_EXACT_NOTE = {
    ("correlation", 1): " (perfectly correlated symbols only)",
    ("correlation", -1): " (perfectly anti-correlated symbols only)",
}

_ERROR_TYPE = "scanner_config"
_HH_MM = re.compile(r"(\d{1,2}):(\d{2})")
_FIX_HINT = 'Fix these and try again; docs/SCANNER.md ("Configuration") describes every field.'


class ScannerConfigError(TapescanError):
    """A scanner config that cannot be used as written; the message lists every problem, one per line."""


class FilterBounds(NamedTuple):
    """One filter for the engine: passes when min <= value <= max (None = unbounded); days of its window."""

    min: float | None
    max: float | None
    days: int | None


# ---------------------------------------------------------------------------------------------- value checks


def _problem(reason: str) -> PydanticCustomError:
    """A validation error whose message is ``reason`` exactly (what the user reads)."""
    return PydanticCustomError(_ERROR_TYPE, "{reason}", {"reason": reason})


def _describe(value: Any) -> str:
    """A value as the user wrote it, for 'got ...' in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def format_number(number: float) -> str:
    """A bound as people write it: 1000000, not 1000000.0."""
    return str(int(number)) if float(number).is_integer() else repr(number)


def _number(value: Any, name: str) -> float | None:
    """A bound: a finite number (not a boolean, not text), or None for unbounded."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _problem(f"{name} must be a number, or null for no bound (got {_describe(value)})")
    try:
        number = float(value)
    except OverflowError:
        raise _problem(f"{name} is too large to be a bound") from None
    if not math.isfinite(number):
        raise _problem(f"{name} must be a finite number (got {_describe(value)})")
    return number


def _whole(value: Any, name: str, unit: str, most: int, why: str) -> int:
    """A count from 1 to ``most`` (``10.0`` is fine, ``2.5``, ``true`` and ``"10"`` are not); ``why`` says what
    ``most`` stands for, so that a value no calendar has is refused here, not deep in the scan."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value < 1:
        raise _problem(f"{name} must be a whole number of {unit}, at least 1 (got {_describe(value)})")
    if value > most:
        raise _problem(f"{name} must be at most {most} {unit} ({why}; got {_describe(value)})")
    return int(value)


def _clock(value: Any, name: str) -> datetime.time:
    """A time of the regular session, written "HH:MM" or "H:MM" (a TOML time of day works too)."""
    if isinstance(value, datetime.time):
        if value.tzinfo is not None or value.second or value.microsecond:
            raise _problem(f"{name} must be a whole minute in ET without a time zone, such as 09:30 (got {value})")
        clock = value
    elif isinstance(value, str):
        match = _HH_MM.fullmatch(value.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise _problem(f"{name} {value!r} is not a time of day; write HH:MM in ET, such as \"09:30\"")
        clock = datetime.time(int(match[1]), int(match[2]))
    elif isinstance(value, int) and not isinstance(value, bool):
        raise _problem(
            f"{name} must be a time written as text, such as \"09:30\" (got the number {value}; "
            "YAML reads an unquoted 9:30 as a number: put the time in quotes)"
        )
    else:
        raise _problem(f"{name} must be a time written as text, such as \"09:30\" (got {_describe(value)})")
    if not SESSION_OPEN <= clock <= SESSION_CLOSE:
        raise _problem(f"{name} {clock:%H:%M} is outside the regular session 09:30-16:00")
    return clock


def _ticker(value: Any) -> str:
    if not isinstance(value, str):
        raise _problem(f"a ticker must be text, such as \"AAPL\" (got {_describe(value)})")
    try:
        return clean_ticker(value)
    except ValueError as exc:
        raise _problem(str(exc)) from None


def _group(value: Any, info: ValidationInfo) -> str:
    """A group name, upper-cased; it must be built in or one of ``context["groups"]``."""
    if not isinstance(value, str) or not value.strip():
        raise _problem(f"a group name must be non-empty text, such as \"SP500\" (got {_describe(value)})")
    name = value.strip().upper()
    known = sorted({*BUILTIN_GROUPS, *(g.upper() for g in (info.context or {}).get("groups") or ())})
    if name not in known:
        raise _problem(
            f"unknown group {name!r}; known groups: {', '.join(known)}. Use one of them, or list its tickers in "
            f"STORE/{GROUPS_FOLDER}/{name}.txt (docs/SCANNER.md \"Groups\")"
        )
    return name


Ticker = Annotated[str, BeforeValidator(_ticker)]
GroupName = Annotated[str, BeforeValidator(_group)]


# ---------------------------------------------------------------------------------------------- models


class FilterBlock(BaseModel):
    """``{min, max}`` on an intraday metric: passes when min <= value <= max; a missing bound is unbounded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _bound(cls, value: Any, info: ValidationInfo) -> float | None:
        return _number(value, info.field_name or "bound")

    @model_validator(mode="after")
    def _ordered(self) -> FilterBlock:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _problem(f"min ({format_number(self.min)}) is above max ({format_number(self.max)}); no value can "
                           "pass, swap them")
        return self


class WindowFilterBlock(FilterBlock):
    """``{min, max, days}`` on a metric over the ``days`` sessions before the scanned one (default 10)."""

    days: int = DEFAULT_DAYS

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> int:
        return _whole(value, "days", "sessions", MAX_DAYS, "about 40 years of trading sessions")


class ScannerConfig(BaseModel):
    """What to scan and which filters a symbol must pass (docs/SCANNER.md "Configuration")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_time: datetime.time = SESSION_OPEN
    end_time: datetime.time = SESSION_CLOSE
    symbols: list[Ticker] = []
    symbols_group: list[GroupName] = []
    exclude_symbols: list[Ticker] = []
    average_volume: WindowFilterBlock | None = None
    average_price: WindowFilterBlock | None = None
    standard_deviation: WindowFilterBlock | None = None
    beta: WindowFilterBlock | None = None
    correlation: WindowFilterBlock | None = None
    relative_volume: WindowFilterBlock | None = None
    current_price_change_percentage: FilterBlock | None = None
    today_price_range_percentage: FilterBlock | None = None
    benchmark: Ticker = "SPY"
    interval_minutes: int = 1
    point_in_time: bool = False

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        """Accept ``{"market_scanner_config": {...}}`` as well as the bare object."""
        if not isinstance(data, dict) or ROOT_KEY not in data:
            return data
        others = ", ".join(repr(k) for k in data if k != ROOT_KEY)
        if others:
            raise _problem(f"a config wrapped in {ROOT_KEY} may hold nothing else; move or remove {others}")
        return data[ROOT_KEY]

    @field_validator("start_time", "end_time", mode="before")
    @classmethod
    def _session_time(cls, value: Any, info: ValidationInfo) -> datetime.time:
        return _clock(value, info.field_name or "time")

    @field_validator("end_time")
    @classmethod
    def _after_start(cls, value: datetime.time, info: ValidationInfo) -> datetime.time:
        start = info.data.get("start_time")
        if start is not None and start > value:
            raise _problem(f"start_time {start:%H:%M} is after end_time {value:%H:%M}; swap them")
        return value

    @field_validator("interval_minutes", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> int:
        return _whole(value, "interval_minutes", "minutes", MAX_INTERVAL_MINUTES,
                      "the length of the regular session, 09:30-16:00")

    @field_validator("point_in_time", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise _problem(f"point_in_time must be true or false (got {_describe(value)})")
        return value

    def filters(self) -> dict[str, FilterBounds]:
        """Metric name (docs/spec/metrics.md) -> its bounds and window, in that page's order; absent blocks are left out."""
        out: dict[str, FilterBounds] = {}
        for key, metric in METRIC_OF_KEY.items():
            block = getattr(self, key)
            if block is not None:
                out[metric] = FilterBounds(block.min, block.max, getattr(block, "days", None))
        return out

    def warnings(self) -> list[str]:
        """Plain-words notes on bounds that cannot all bind, each saying what its filter reduces to."""
        notes = (_moot_bounds(key, getattr(self, key)) for key in _NATURAL_RANGE if getattr(self, key) is not None)
        return [note for note in notes if note]


def _moot_bounds(key: str, block: FilterBlock) -> str | None:
    """The warning for a block with a bound at or past what the metric can be at all, else None."""
    noun, low, high = _NATURAL_RANGE[key]
    lo, hi = block.min, block.max
    written = " / ".join(f"{side} {format_number(v)}" for side, v in (("min", lo), ("max", hi)) if v is not None)
    head = f"{key} {written}: {noun}"
    below = f"is never below {format_number(low)}" if low is not None else ""
    above = f"never exceeds {format_number(high)}" if high is not None else ""
    if high is not None and lo is not None and lo >= high:
        return f"{head} {above}, so {_reject_or_exact(key, lo, high)}."
    if low is not None and hi is not None and hi <= low:
        return f"{head} {below}, so {_reject_or_exact(key, hi, low)}."
    drop_lo = low is not None and lo is not None and lo <= low
    drop_hi = high is not None and hi is not None and hi >= high
    if not (drop_lo or drop_hi):
        return None
    facts = " and ".join(fact for fact, dropped in ((below, drop_lo), (above, drop_hi)) if dropped)
    moot = "min and max are no bounds" if drop_lo and drop_hi else f"{'min' if drop_lo else 'max'} is no bound"
    return f"{head} {facts}, so {moot}; {_what_remains(key, None if drop_lo else lo, None if drop_hi else hi)}."


def _reject_or_exact(key: str, bound: float, edge: float) -> str:
    """A bound at the metric's edge leaves that one value; past it, nothing."""
    if bound != edge:
        return "this filter rejects every symbol"
    return f"this reduces to {key} = {format_number(edge)} exactly{_EXACT_NOTE.get((key, edge), '')}"


def _what_remains(key: str, lo: float | None, hi: float | None) -> str:
    """The filter once its moot bounds are dropped (at most one bound is left)."""
    if lo is not None:
        return f"this reduces to {key} >= {format_number(lo)}"
    if hi is not None:
        return f"this reduces to {key} <= {format_number(hi)}"
    return f"this filter passes every symbol whose {key} is defined"


# ---------------------------------------------------------------------------------------------- errors


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key, known = str(loc[-1]), keys_at(ScannerConfig, loc[:-1])
    if key == "days" and known == list(FilterBlock.model_fields):
        return f"days does not apply here: {loc[-2]} is measured within today's session; remove days"
    return unknown_key(key, known)


def _plain(error: ErrorDetails) -> str:
    """One problem in plain words (never pydantic's raw text with its links)."""
    kind, loc, value = error["type"], error["loc"], error.get("input")
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        example = '{"start_time": "09:30", ...}' if not loc else '{"min": 1, "max": 10}'
        return f"must be an object of keys and values, such as {example} (got {_describe(value)})"
    if kind == "list_type":
        return f"must be a list, such as [\"AAPL\", \"MSFT\"] (got {_describe(value)})"
    return plain_problem(error, ScannerConfig)


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ROOT_KEY + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def scanner_config_error(exc: ValidationError, source: str | Path | None = None) -> ScannerConfigError:
    """A ScannerConfigError listing every problem of ``exc``, one per line, naming ``source`` (a file) if given."""
    problems = [f"  {_dotted(error['loc'])}: {_plain(error)}" for error in exc.errors(include_url=False)]
    what = f"Scanner config {source}" if source is not None else "The scanner config"
    count = "a problem" if len(problems) == 1 else f"{len(problems)} problems"
    return ScannerConfigError("\n".join([f"{what} has {count}:", *problems, _FIX_HINT]))


# ---------------------------------------------------------------------------------------------- files


SCANNER_KIND = ConfigKind(
    name="scanner config (market_scanner_config)", keys=frozenset({ROOT_KEY, *ScannerConfig.model_fields}),
    example='{"market_scanner_config": {"symbols_group": ["SP500"], "average_volume": {"min": 1000000, '
            '"days": 10}, "current_price_change_percentage": {"min": 2}}}',
    docs="docs/SCANNER.md; a complete one is tapescan/data/examples/market_scanner_config.json",
    usage="tapescan scan {file} --store STORE --date D --time HH:MM")


def _validated(data: Any, groups: Iterable[str] | None, file: Path | None) -> ScannerConfig:
    """`data` (a parsed document) as a ScannerConfig; ScannerConfigError naming `file` (when given) otherwise."""
    what = f"Scanner config {file}" if file is not None else "The scanner config"
    check_kind(data, SCANNER_KIND, what, ScannerConfigError, file)
    context = {"groups": list(groups)} if groups is not None else None
    try:
        return ScannerConfig.model_validate(data, context=context)
    except ValidationError as exc:
        raise scanner_config_error(exc, file) from None


def load_scanner_config(path: str | Path, groups: Iterable[str] | None = None) -> ScannerConfig:
    """The config in a .json, .yaml/.yml or .toml file; ``groups`` adds user group names to the built-ins.

    Raises ScannerConfigError (naming the file) for anything wrong; warnings are on the result.
    """
    file = Path(path).expanduser()
    return _validated(read_document(file, "Scanner config", ScannerConfigError, "docs/SCANNER.md shows an example"),
                      groups, file)


#: What scan and sweep accept as a config: a ScannerConfig, its object as a dict, or a config file's path.
ConfigLike = ScannerConfig | Mapping[str, Any] | str | os.PathLike


def as_scanner_config(config: ConfigLike, groups: Iterable[str] | None = None) -> ScannerConfig:
    """`config` as a ScannerConfig: a dict (bare or wrapped) is validated and a path is loaded, with ``groups``
    as the user groups; ScannerConfigError for anything else, saying what to pass."""
    if isinstance(config, ScannerConfig):
        return config
    if isinstance(config, Mapping):
        return _validated(dict(config), groups, None)
    if isinstance(config, str | os.PathLike):
        return load_scanner_config(config, groups)
    raise ScannerConfigError(
        f"a scanner config must be a ScannerConfig, its object as a dict (such as {SCANNER_KIND.example}) or the "
        f"path of a .json, .yaml or .toml file; got {_describe(config)}.")
