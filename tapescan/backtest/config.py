"""The strategy file (docs/spec/backtest.md "Strategy file"), validated, in plain words.

:class:`StrategyConfig` is the file's object: JSON, YAML or TOML (:func:`load_strategy_config`), a dict or a
StrategyConfig (:func:`as_strategy_config`), or the flat keywords of ``tapescan.simulate``
(:func:`settings_from_flat`). Every model forbids unknown keys; every problem is reported at once, one line each,
as a :class:`StrategyConfigError` naming the file and the dotted key (``execution.fill: ...``), with the nearest
key suggested for a misspelt one. A scanner or replay config given instead is named as such.

A parameter written as a list or ``{start, stop, step}`` is a grid (tapescan.backtest.grids): kept parsed in
``params`` (a tuple of its values) and, for the scanner's bounds, in :meth:`StrategyConfig.grids`; `backtest`
refuses grids (:func:`as_strategy_config` with ``grids=False``). Legal settings that make little sense are not
errors: :meth:`StrategyConfig.warnings` lists them (tapescan.backtest.advice). The simulator reads the settings
as plain numbers through tapescan.backtest.settings.RunSettings.of(config).
"""

from __future__ import annotations

import datetime
import difflib
import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import ErrorDetails

from tapescan.backtest import custom
from tapescan.backtest.grids import describe_grids, grid_values, single_value
from tapescan.configfile import ConfigKind, check_kind, plain_problem, read_document, unknown_key
from tapescan.errors import TapescanError
from tapescan.scanner.config import (
    MAX_DAYS,
    METRIC_OF_KEY,
    ROOT_KEY,
    SESSION_OPEN,
    GroupName,
    ScannerConfig,
    Ticker,
    _clock,
    _describe,
    _problem,
    format_number,
)

#: The built-in strategy that trades the first hit of a scanner config in each session.
SCANNER_STRATEGY = "scanner"
#: The strategy of `tapescan.simulate`: signals computed by the caller (not a name a strategy file may use).
SIGNALS_STRATEGY = "signals"
#: The scan's numeric columns: what `account.rank_by` may name with strategy: scanner.
SCANNER_RANKS = tuple(dict.fromkeys(("price", "change_pct", "range_pct", "session_volume", *METRIC_OF_KEY.values())))
#: The filter-block keys of a scanner config whose values may be grids.
SCANNER_GRID_BOUNDS = ("min", "max", "days")
#: The scanner config's times of day, written back as "HH:MM".
SCANNER_TIMES = ("start_time", "end_time")
#: Most parameter combinations checked one by one at load time; larger grids are checked on their first values.
MAX_CHECKED_COMBINATIONS = 20_000

Direction = Literal["long", "short", "both"]
SIZE_KINDS = ("shares", "value", "percent_equity")

_DOCS = 'docs/spec/backtest.md ("Strategy file")'
_FIX_HINT = f"Fix these and try again; {_DOCS} describes every key; tapescan/data/examples/strategies/ has examples."
_EXAMPLE = '{"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "stops": {"stop_loss_pct": 2}}'


class StrategyConfigError(TapescanError):
    """A strategy file (or simulate's settings) that cannot be used as written; one line per problem."""


# ---------------------------------------------------------------------------------------------- value checks


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _amount(value: Any, name: str, *, above: float | None = None, at_least: float | None = None,
            below: float | None = None, at_most: float | None = None) -> float:
    """A finite number within the given limits; a plain-words error naming `name` otherwise."""
    if not _is_number(value):
        raise _problem(f"{name} must be a number (got {_describe(value)})")
    number = float(value)
    if not math.isfinite(number):
        raise _problem(f"{name} must be a finite number (got {_describe(value)})")
    for limit, fails, words in ((above, lambda x, v: x <= v, "above"), (at_least, lambda x, v: x < v, "at least"),
                                (below, lambda x, v: x >= v, "below"), (at_most, lambda x, v: x > v, "at most")):
        if limit is not None and fails(number, limit):
            raise _problem(f"{name} must be {words} {format_number(limit)} (got {format_number(number)})")
    return number


def _optional_amount(value: Any, name: str, **limits: float) -> float | None:
    return None if value is None else _amount(value, name, **limits)


def _whole_number(value: Any, name: str, least: int, most: int | None = None) -> int:
    """A whole number from `least` (``10.0`` is fine; ``2.5``, ``true`` and ``"10"`` are not)."""
    whole = _is_number(value) and float(value).is_integer()
    if not whole or value < least:
        raise _problem(f"{name} must be a whole number, at least {least} (got {_describe(value)})")
    if most is not None and value > most:
        raise _problem(f"{name} must be at most {most} (got {_describe(value)})")
    return int(value)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise _problem(f"{name} must be true or false (got {_describe(value)})")
    return value


def _nearest(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


# ---------------------------------------------------------------------------------------------- sections


class Section(BaseModel):
    """A block of the strategy file: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Universe(Section):
    """The symbols traded: `symbols` plus the members of `symbols_group`, less `exclude_symbols`; all empty: every
    symbol of the store."""

    symbols: list[Ticker] = []
    symbols_group: list[GroupName] = []
    exclude_symbols: list[Ticker] = []

    def is_empty(self) -> bool:
        return not (self.symbols or self.symbols_group or self.exclude_symbols)


class Execution(Section):
    """How orders fill and what they cost."""

    fill: Literal["next_open", "close"] = "next_open"
    slippage_pct: float = 0.0
    fee_pct: float = 0.0
    fee_per_order: float = 0.0

    @field_validator("slippage_pct", "fee_pct", mode="before")
    @classmethod
    def _percent(cls, value: Any, info: ValidationInfo) -> float:
        return _amount(value, info.field_name, at_least=0, below=100)

    @field_validator("fee_per_order", mode="before")
    @classmethod
    def _fee(cls, value: Any) -> float:
        return _amount(value, "fee_per_order", at_least=0)


class Size(Section):
    """How many shares an entry asks for: exactly one of `shares`, `value` (currency) or `percent_equity`."""

    shares: int | None = None
    value: float | None = None
    percent_equity: float | None = None

    @field_validator("shares", mode="before")
    @classmethod
    def _shares(cls, value: Any) -> int | None:
        return None if value is None else _whole_number(value, "shares", 1)

    @field_validator("value", "percent_equity", mode="before")
    @classmethod
    def _positive(cls, value: Any, info: ValidationInfo) -> float | None:
        return _optional_amount(value, info.field_name, above=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Size:
        given = [kind for kind in SIZE_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            said = f"got {' and '.join(given)}" if given else "got none"
            raise _problem(f"give exactly one of shares, value or percent_equity, such as {{shares: 100}} ({said})")
        return self

    @property
    def kind(self) -> str:
        """"shares", "value" or "percent_equity"."""
        return next(kind for kind in SIZE_KINDS if getattr(self, kind) is not None)

    @property
    def amount(self) -> float:
        """The number given for :attr:`kind`."""
        return float(getattr(self, self.kind))


class Account(Section):
    """`per_symbol`: every symbol its own account of init_cash; `shared`: one account for all, with limits."""

    mode: Literal["per_symbol", "shared"] = "per_symbol"
    init_cash: float = 100_000.0
    max_positions: int | None = None
    max_position_pct: float | None = None
    rank_by: str | None = None

    @field_validator("init_cash", mode="before")
    @classmethod
    def _cash(cls, value: Any) -> float:
        return _amount(value, "init_cash", above=0)

    @field_validator("max_positions", mode="before")
    @classmethod
    def _positions(cls, value: Any) -> int | None:
        return None if value is None else _whole_number(value, "max_positions", 1)

    @field_validator("max_position_pct", mode="before")
    @classmethod
    def _position_pct(cls, value: Any) -> float | None:
        return _optional_amount(value, "max_position_pct", above=0, at_most=100)

    @field_validator("rank_by", mode="before")
    @classmethod
    def _rank(cls, value: Any) -> str | None:
        if value is not None and (not isinstance(value, str) or not value.strip().isidentifier()):
            raise _problem(f"rank_by must be a value's name, such as \"rel_volume\", or null (got {_describe(value)})")
        return value.strip() if value is not None else None


class Stops(Section):
    """Exit levels from the entry fill price (percent; null: none) and the time stop (minutes; null: none)."""

    stop_loss_pct: float | None = None
    take_profit_pct: float | None = None
    trailing_stop_pct: float | None = None
    max_minutes: int | None = None

    @field_validator("stop_loss_pct", "take_profit_pct", "trailing_stop_pct", mode="before")
    @classmethod
    def _level(cls, value: Any, info: ValidationInfo) -> float | None:
        return _optional_amount(value, info.field_name, above=0)

    @field_validator("max_minutes", mode="before")
    @classmethod
    def _minutes(cls, value: Any) -> int | None:
        return None if value is None else _whole_number(value, "max_minutes", 1)


class Session(Section):
    """When entries may be signalled (signal bar start in [entry_start, entry_end), ET) and the session-close exit."""

    entry_start: datetime.time = SESSION_OPEN
    entry_end: datetime.time = datetime.time(16, 0)
    flat_at_close: bool = True

    @field_validator("entry_start", "entry_end", mode="before")
    @classmethod
    def _time(cls, value: Any, info: ValidationInfo) -> datetime.time:
        return _clock(value, info.field_name)

    @field_validator("flat_at_close", mode="before")
    @classmethod
    def _flat(cls, value: Any) -> bool:
        return _flag(value, "flat_at_close")

    @model_validator(mode="after")
    def _ordered(self) -> Session:
        if self.entry_start >= self.entry_end:
            raise _problem(f"entry_start {self.entry_start:%H:%M} must be before entry_end {self.entry_end:%H:%M}")
        return self

    @field_serializer("entry_start", "entry_end")
    def _hh_mm(self, clock: datetime.time) -> str:
        """Times as the file writes them ("09:30"), so that a dump loads again."""
        return f"{clock:%H:%M}"

    def minutes(self) -> tuple[int, int]:
        """entry_start and entry_end as minutes after the 09:30 open."""
        return minutes_after_open(self.entry_start), minutes_after_open(self.entry_end)


def minutes_after_open(clock: datetime.time) -> int:
    """Minutes from the 09:30 open to `clock` (negative before it)."""
    return (clock.hour * 60 + clock.minute) - (SESSION_OPEN.hour * 60 + SESSION_OPEN.minute)


# ---------------------------------------------------------------------------------------------- strategies


def builtin_strategies() -> tuple[str, ...]:
    """The built-in strategies' names (docs/spec/backtest.md "Built-in strategies"), scanner last."""
    from tapescan.kernels.strategies import STRATEGIES

    return (*STRATEGIES, SCANNER_STRATEGY)


def _combinations(params: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """Every combination of `params`' values (grids are tuples)."""
    names = list(params)
    pools = [params[n] if isinstance(params[n], tuple) else (params[n],) for n in names]
    return (dict(zip(names, values)) for values in itertools.product(*pools))


def invalid_combinations(name: str, params: Mapping[str, Any]) -> tuple[int, int, str | None]:
    """(invalid, checked, first problem) over the combinations of a built-in's param grids (at most
    MAX_CHECKED_COMBINATIONS of them)."""
    from tapescan.kernels.strategies import strategy_params

    bad, checked, first = 0, 0, None
    for combination in itertools.islice(_combinations(params), MAX_CHECKED_COMBINATIONS):
        checked += 1
        try:
            strategy_params(name, combination)
        except TapescanError as exc:
            bad, first = bad + 1, first or str(exc)
    return bad, checked, first


def _check_params(strategy: str, params: dict[str, Any]) -> None:
    """Raise unless `params` (grids as tuples) suit `strategy`: a built-in takes numbers its kernel accepts in at
    least one combination; a function must take them as keywords; scanner and signals take none."""
    if strategy in (SCANNER_STRATEGY, SIGNALS_STRATEGY):
        if params:
            where = "its bounds go in scanner:" if strategy == SCANNER_STRATEGY else "signals are given directly"
            raise _problem(f"strategy {strategy} takes no params ({where}); remove {', '.join(params)}")
        return
    if custom.is_function_reference(strategy):
        first = {key: value[0] if isinstance(value, tuple) else value for key, value in params.items()}
        try:
            custom.check_params(custom.resolve_function(strategy), first)
        except custom.StrategyFunctionError as exc:
            raise _problem(str(exc)) from None
        return
    for key, value in params.items():
        for item in value if isinstance(value, tuple) else (value,):
            if not _is_number(item):
                raise _problem(f"params.{key} must be a number (got {_describe(item)})")
    bad, checked, first = invalid_combinations(strategy, params)
    if bad == checked:
        raise _problem(first or "no valid combination")


def _split_scanner_grids(document: Any) -> tuple[Any, dict[str, tuple[Any, ...]]]:
    """A scanner config document with each grid bound replaced by its first value, and those grids by dotted name
    (``scanner.relative_volume.min``)."""
    if not isinstance(document, dict):
        return document, {}
    wrapped = ROOT_KEY in document and isinstance(document[ROOT_KEY], dict)
    body = dict(document[ROOT_KEY] if wrapped else document)
    grids: dict[str, tuple[Any, ...]] = {}
    for key in METRIC_OF_KEY:
        block = body.get(key)
        if not isinstance(block, dict):
            continue
        block = dict(block)
        for bound in SCANNER_GRID_BOUNDS:
            if bound not in block:
                continue
            try:
                values = grid_values(block[bound])
                block[bound] = single_value(block[bound]) if values is None else values[0]
            except ValueError as exc:
                raise _problem(f"scanner.{key}.{bound}: {exc}") from None
            if values is not None:
                grids[f"scanner.{key}.{bound}"] = values
        body[key] = block
    return ({ROOT_KEY: body} if wrapped else body), grids


# ---------------------------------------------------------------------------------------------- the file


class StrategyConfig(BaseModel):
    """A strategy file (docs/spec/backtest.md "Strategy file"); every key but `strategy` has the spec's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: str
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    universe: Universe = Universe()
    scanner: ScannerConfig | None = Field(None, validate_default=True)
    direction: Direction = "long"
    warmup_sessions: int = 0
    execution: Execution = Execution()
    size: Size = Size(shares=100)
    account: Account = Account()
    stops: Stops = Stops()
    session: Session = Session()

    _scanner_grids: dict[str, tuple[Any, ...]] = PrivateAttr(default_factory=dict)
    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_scanner_grids(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> StrategyConfig:
        config = handler(data)
        if isinstance(data, dict) and data.get("scanner") is not None and not config._scanner_grids:
            config._scanner_grids = _split_scanner_grids(data["scanner"])[1]
        return config

    @model_serializer(mode="wrap")
    def _with_scanner_grids(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The document as written: scanner grids back in place, params' grids as lists."""
        out = handler(self)
        if out.get("scanner") is not None:
            for key in SCANNER_TIMES:  # ScannerConfig dumps "09:30:00" in JSON, which no config reads back
                out["scanner"][key] = f"{getattr(self.scanner, key):%H:%M}"
        for dotted, values in self._scanner_grids.items():
            _, key, bound = dotted.split(".")
            out["scanner"][key][bound] = list(values)
        out["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in out["params"].items()}
        return out

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy(cls, value: Any, info: ValidationInfo) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _problem(f"strategy must be a built-in strategy's name or \"package.module:function\" "
                           f"(got {_describe(value)})")
        name = value.strip()
        if custom.is_function_reference(name):
            try:
                custom.resolve_function(name)
            except custom.StrategyFunctionError as exc:
                raise _problem(str(exc)) from None
            return name
        if name == SIGNALS_STRATEGY and (info.context or {}).get(SIGNALS_STRATEGY):
            return name
        known = builtin_strategies()
        if name not in known:
            raise _problem(f"unknown strategy {name!r}{_nearest(name, known)} The built-in ones are "
                           f"{', '.join(known)}; your own is written \"package.module:function\"")
        return name

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any, info: ValidationInfo) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _problem(f"params must be an object of names and values, such as {{fast: 10, slow: 30}} "
                           f"(got {_describe(value)})")
        params: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise _problem(f"{key!r} is not a parameter name")
            try:
                values = grid_values(item)
                params[key] = single_value(item) if values is None else values
            except ValueError as exc:
                raise _problem(f"params.{key}: {exc}") from None
        strategy = info.data.get("strategy")
        if strategy is not None:
            _check_params(strategy, params)
        return params

    @field_validator("scanner", mode="before")
    @classmethod
    def _scanner(cls, value: Any, info: ValidationInfo) -> Any:
        strategy = info.data.get("strategy")
        if strategy == SCANNER_STRATEGY and value is None:
            raise _problem("strategy: scanner trades the first hit of a scanner config: put one here, such as "
                           "{symbols_group: [SP500], relative_volume: {min: 2}}")
        if strategy is not None and strategy != SCANNER_STRATEGY and value is not None:
            raise _problem(f"only strategy: scanner uses a scanner config (this file's strategy is {strategy}); "
                           "remove it, or set strategy: scanner")
        return _split_scanner_grids(value)[0]

    @field_validator("universe")
    @classmethod
    def _universe(cls, value: Universe, info: ValidationInfo) -> Universe:
        if info.data.get("strategy") == SCANNER_STRATEGY and not value.is_empty():
            raise _problem("strategy: scanner trades the scanner config's universe; write symbols, symbols_group "
                           "and exclude_symbols in scanner: instead")
        return value

    @field_validator("warmup_sessions", mode="before")
    @classmethod
    def _warmup(cls, value: Any) -> int:
        return _whole_number(value, "warmup_sessions", 0, MAX_DAYS)

    @field_validator("account")
    @classmethod
    def _rank_by(cls, account: Account, info: ValidationInfo) -> Account:
        strategy, rank = info.data.get("strategy"), account.rank_by
        if rank is None or strategy is None or strategy == SIGNALS_STRATEGY or custom.is_function_reference(strategy):
            return account
        if strategy == SCANNER_STRATEGY:
            if rank not in SCANNER_RANKS:
                raise _problem(f"account.rank_by {rank!r} is not a scan value{_nearest(rank, SCANNER_RANKS)} strategy: "
                               f"scanner ranks by one of {', '.join(SCANNER_RANKS)}")
            return account
        raise _problem(f"account.rank_by: {strategy} exposes no value to rank entries by; rank_by works with strategy: "
                       "scanner (its scan values) and your own function (a column it returns). Set it to null")

    # ------------------------------------------------------------------------------------------ reading it

    @property
    def source(self) -> Path | None:
        """The file this config was loaded from, if any."""
        return self._source

    @property
    def is_function(self) -> bool:
        """Whether the strategy is the user's own function ("package.module:function")."""
        return custom.is_function_reference(self.strategy)

    def signal_function(self) -> Any:
        """The user's strategy function (tapescan.backtest.custom says how it is called)."""
        if not self.is_function:
            raise StrategyConfigError(f"strategy {self.strategy} is built in, not a function of yours")
        return custom.resolve_function(self.strategy)

    def grids(self) -> dict[str, tuple[Any, ...]]:
        """Every grid, by dotted name (``params.fast``, ``scanner.relative_volume.min``) -> its values."""
        from_params = {f"params.{key}": value for key, value in self.params.items() if isinstance(value, tuple)}
        return {**from_params, **self._scanner_grids}

    def check_single_run(self) -> None:
        """StrategyConfigError when the file holds grids: a backtest runs one combination."""
        grids = self.grids()
        if grids:
            where = f"Strategy file {self._source}" if self._source is not None else "The strategy"
            raise StrategyConfigError(
                f"{where} has parameter grids: {describe_grids(grids)}. A backtest runs one combination: give each "
                "a single value, or search them all with `tapescan optimize` (planned).")

    def warnings(self) -> list[str]:
        """Legal settings that make little sense, one line each (tapescan.backtest.advice)."""
        from tapescan.backtest.advice import config_warnings

        return config_warnings(self)


STRATEGY_KIND = ConfigKind(
    name="strategy file", keys=frozenset(StrategyConfig.model_fields), example=_EXAMPLE,
    docs=f"{_DOCS}; examples in tapescan/data/examples/strategies/",
    usage="tapescan backtest {file} --store STORE --start D --end D")


# ---------------------------------------------------------------------------------------------- errors


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The section model at `loc` below StrategyConfig (None where that is not an object of keys)."""
    model: type[BaseModel] = StrategyConfig
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        inner = [t for t in (field.annotation, *get_args(field.annotation))
                 if isinstance(t, type) and issubclass(t, BaseModel)]
        if not inner:
            return None
        model = inner[0]
    return model


def _plain(error: ErrorDetails) -> str:
    """One problem in plain words (never pydantic's raw text with its links)."""
    kind, loc, value = error["type"], error["loc"], error.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        return unknown_key(str(loc[-1]), list(model.model_fields) if model else [])
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        example = _EXAMPLE if not loc else "{key: value, ...}"
        return f"must be an object of keys and values, such as {example} (got {_describe(value)})"
    if kind == "list_type":
        return f"must be a list, such as [\"AAPL\", \"MSFT\"] (got {_describe(value)})"
    if kind == "literal_error":
        return f"must be one of {error['ctx']['expected']} (got {_describe(value)})"
    if kind == "missing" and loc == ("strategy",):
        return ("missing; name a built-in strategy (such as sma_cross) or your own function as "
                "\"package.module:function\"")
    return plain_problem(error, StrategyConfig)


def _dotted(loc: Sequence[int | str]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _problem_lines(exc: ValidationError, name: Any = _dotted) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        where, problem = name(error["loc"]), _plain(error)
        field = where.rpartition(".")[2]
        if not where or problem.startswith((f"{where}.", f"{where}:", f"{where} ")):
            lines.append(f"  {problem}")  # the message names its key itself
        elif problem.startswith(f"{field} "):  # "slippage_pct must be ..." -> "execution.slippage_pct must be ..."
            lines.append(f"  {where}{problem[len(field):]}")
        else:
            lines.append(f"  {where}: {problem}")
    return lines


def strategy_config_error(exc: ValidationError, source: str | Path | None = None) -> StrategyConfigError:
    """A StrategyConfigError listing every problem of `exc`, one per line, naming `source` (a file) if given."""
    problems = _problem_lines(exc)
    what = f"Strategy file {source}" if source is not None else "The strategy config"
    count = "a problem" if len(problems) == 1 else f"{len(problems)} problems"
    return StrategyConfigError("\n".join([f"{what} has {count}:", *problems, _FIX_HINT]))


# ---------------------------------------------------------------------------------------------- loading


def _validated(data: Any, groups: Iterable[str] | None, file: Path | None, grids: bool) -> StrategyConfig:
    what = f"Strategy file {file}" if file is not None else "The strategy config"
    check_kind(data, STRATEGY_KIND, what, StrategyConfigError, file)
    context = {"groups": list(groups)} if groups is not None else None
    try:
        config = StrategyConfig.model_validate(data, context=context)
    except ValidationError as exc:
        raise strategy_config_error(exc, file) from None
    config._source = file
    if not grids:
        config.check_single_run()
    return config


def load_strategy_config(path: str | os.PathLike, groups: Iterable[str] | None = None,
                         grids: bool = True) -> StrategyConfig:
    """The strategy file at `path` (.json, .yaml/.yml or .toml); ``groups`` adds user group names to the built-in
    ones; ``grids=False`` refuses parameter grids. StrategyConfigError naming the file for anything wrong;
    warnings are on the result (:meth:`StrategyConfig.warnings`)."""
    file = Path(path).expanduser()
    data = read_document(file, "Strategy file", StrategyConfigError, f"{_DOCS} shows an example")
    return _validated(data, groups, file, grids)


#: What backtest accepts as a strategy: a StrategyConfig, its object as a dict, or a strategy file's path.
StrategyLike = StrategyConfig | Mapping[str, Any] | str | os.PathLike


def as_strategy_config(strategy: StrategyLike, groups: Iterable[str] | None = None,
                       grids: bool = False) -> StrategyConfig:
    """`strategy` as a StrategyConfig: a dict is validated and a path loaded (``groups``: user group names);
    grids are refused unless ``grids``. StrategyConfigError for anything else, saying what to pass."""
    if isinstance(strategy, StrategyConfig):
        if not grids:
            strategy.check_single_run()
        return strategy
    if isinstance(strategy, Mapping):
        return _validated(dict(strategy), groups, None, grids)
    if isinstance(strategy, str | os.PathLike):
        return load_strategy_config(strategy, groups, grids)
    raise StrategyConfigError(
        f"a strategy must be a StrategyConfig, its object as a dict (such as {_EXAMPLE}) or the path of a .json, "
        f".yaml or .toml strategy file; got {_describe(strategy)}.")


# ---------------------------------------------------------------------------------------------- simulate's keys


#: tapescan.simulate's flat settings -> their place in the strategy file.
FLAT_KEYS: dict[str, tuple[str, ...]] = {
    "direction": ("direction",),
    "warmup_sessions": ("warmup_sessions",),
    **{key: ("execution", key) for key in Execution.model_fields},
    **{key: ("size", key) for key in Size.model_fields},
    **{key: ("account", key) for key in Account.model_fields},
    **{key: ("stops", key) for key in Stops.model_fields},
    **{key: ("session", key) for key in Session.model_fields},
}
_FLAT_OF_PLACE = {place: key for key, place in FLAT_KEYS.items()}


def _flat_name(loc: Sequence[int | str]) -> str:
    """An error location named as simulate's keyword (``fill``), or the section's keys for a section's own
    problem (``shares / value / percent_equity``)."""
    place = tuple(part for part in loc if isinstance(part, str))
    for length in range(len(place), 0, -1):
        if place[:length] in _FLAT_OF_PLACE:
            return _FLAT_OF_PLACE[place[:length]]
    section = _model_at(place)
    return " / ".join(section.model_fields) if section is not None else _dotted(loc)


def settings_from_flat(**settings: Any) -> StrategyConfig:
    """The StrategyConfig of ``tapescan.simulate(..., **settings)``: the strategy file's keys, flat (fill,
    shares, stop_loss_pct, ...); a keyword given as None takes the default. StrategyConfigError naming each bad
    keyword, the nearest known one suggested for an unknown one."""
    document: dict[str, Any] = {"strategy": SIGNALS_STRATEGY}
    unknown = []
    for key, value in settings.items():
        if key not in FLAT_KEYS:
            unknown.append(f"  {key}: {unknown_key(key, list(FLAT_KEYS))}")
        elif value is not None:
            *sections, last = FLAT_KEYS[key]
            target = document
            for section in sections:
                target = target.setdefault(section, {})
            target[last] = value
    problems = list(unknown)
    try:
        config = StrategyConfig.model_validate(document, context={SIGNALS_STRATEGY: True})
    except ValidationError as exc:
        problems += _problem_lines(exc, _flat_name)
    if problems:
        count = "a problem" if len(problems) == 1 else f"{len(problems)} problems"
        raise StrategyConfigError("\n".join([f"tapescan.simulate's settings have {count}:", *problems,
                                             f"{_DOCS} describes every setting (simulate takes them flat)."]))
    return config
