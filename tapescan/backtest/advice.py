"""Warnings for a strategy file that is legal but makes little sense: a setting that never acts, is ignored, or
loses money by construction. Each is one line naming the key, saying what will happen instead.

Errors (a stop of 0, fast >= slow, ...) are raised by tapescan.backtest.config; this module only reads a
validated StrategyConfig.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator

from tapescan import calendar
from tapescan.backtest.config import (
    SCANNER_STRATEGY,
    StrategyConfig,
    builtin_strategies,
    invalid_combinations,
    minutes_after_open,
)
from tapescan.scanner.config import SESSION_OPEN, format_number

#: Built-in strategies that give entry signals only: their positions end by a stop or the session close.
ENTRY_ONLY = ("orb", SCANNER_STRATEGY)
#: The last bar of a full regular session starts this many minutes after the open.
LAST_BAR_MINUTE = calendar.REGULAR_MINUTES - 1


def _clock(minutes_after_open: int) -> str:
    moment = datetime.datetime.combine(datetime.date.min, SESSION_OPEN) + datetime.timedelta(minutes=minutes_after_open)
    return f"{moment:%H:%M}"


def _pct(value: float) -> str:
    return format_number(round(value, 6))


def _round_trip(config: StrategyConfig) -> Iterator[str]:
    """A take profit that cannot cover the fees and slippage of its own round trip."""
    take = config.stops.take_profit_pct
    slip, fee = config.execution.slippage_pct / 100, config.execution.fee_pct / 100
    if take is None or (slip == 0 and fee == 0):
        return
    # long: entry fill P, exit fill P (1 + tp) (1 - slip); fees fee * both fills. Break-even where they cancel.
    even = (1 + fee) / ((1 - slip) * (1 - fee)) - 1
    if take / 100 <= even:
        yield (f"stops.take_profit_pct {_pct(take)} is at or below the cost of its round trip in fees and slippage "
               f"(break-even at {_pct(100 * even)}%): every take-profit exit loses money")


def _entry_window(config: StrategyConfig) -> Iterator[str]:
    """An entry window in which no signal can lead to a fill on a full session."""
    next_open, flat = config.execution.fill == "next_open", config.session.flat_at_close
    latest = LAST_BAR_MINUTE - int(next_open) - int(flat)  # the last signal bar whose order can still fill
    start, _ = config.session.minutes()
    if start > latest:
        why = " and ".join(part for part, on in (("fill next_open", next_open), ("flat_at_close", flat)) if on)
        yield (f"session.entry_start {config.session.entry_start:%H:%M}: with {why}, a signal after "
               f"{_clock(latest)} cannot fill on a full session, so no entry is ever made")


def _sizing(config: StrategyConfig) -> Iterator[str]:
    """Sizes beyond the account."""
    size, account = config.size, config.account
    if size.percent_equity is not None and size.percent_equity > 100:
        yield (f"size.percent_equity {_pct(size.percent_equity)} is more than the account's equity: long entries "
               "are cut to what cash pays for (shorts are sized in full: there is no margin model)")
    if size.value is not None and size.value > account.init_cash:
        yield (f"size.value {_pct(size.value)} is more than account.init_cash {_pct(account.init_cash)}: long "
               "entries are cut to what cash pays for")
    cap = account.max_position_pct
    if account.mode == "shared" and cap is not None and size.percent_equity is not None and size.percent_equity > cap:
        yield (f"size.percent_equity {_pct(size.percent_equity)} is above account.max_position_pct {_pct(cap)}: "
               "entries are rejected (max_position_pct) unless rounding down to whole shares brings them under")


def _account(config: StrategyConfig) -> Iterator[str]:
    """Shared-account limits given to per-symbol accounts."""
    if config.account.mode != "per_symbol":
        return
    for key in ("max_positions", "max_position_pct", "rank_by"):
        if getattr(config.account, key) is not None:
            yield (f"account.{key} applies to shared accounts only; with mode per_symbol every symbol has its own "
                   "account and it is ignored")


def _stops(config: StrategyConfig) -> Iterator[str]:
    """Stops that can never trigger."""
    stops = config.stops
    if config.direction != "short":
        for key in ("stop_loss_pct", "trailing_stop_pct"):
            value = getattr(stops, key)
            if value is not None and value >= 100:
                whom = "long positions" if config.direction == "both" else "a long position"
                yield (f"stops.{key} {_pct(value)}: a price cannot fall 100% or more, so this stop never triggers "
                       f"for {whom}")
    if stops.max_minutes is not None and stops.max_minutes >= calendar.REGULAR_MINUTES and config.session.flat_at_close:
        yield (f"stops.max_minutes {stops.max_minutes} is a whole session or more, and flat_at_close closes every "
               "position at the session's close first: the time stop never triggers")
    no_stop = all(getattr(stops, key) is None for key in type(stops).model_fields)
    if config.strategy in ENTRY_ONLY and no_stop and not config.session.flat_at_close:
        yield (f"{config.strategy} gives no exit signals, no stop is set and flat_at_close is false: every position "
               "is held to the end of the range")


def _strategy(config: StrategyConfig) -> Iterator[str]:
    """Strategy parameters that leave no entry inside the entry window; grids with invalid combinations."""
    _, end = config.session.minutes()
    minutes = config.params.get("minutes", None)
    if config.strategy == "orb" and not isinstance(minutes, tuple):
        from tapescan.kernels.strategies import ORB_MINUTES, strategy_params

        first_signal = int(strategy_params("orb", config.params)[ORB_MINUTES]) - 1
        if first_signal >= end:
            yield (f"orb's opening range of {first_signal + 1} minutes is first defined at {_clock(first_signal)}, "
                   f"not before session.entry_end {config.session.entry_end:%H:%M}: no entry is ever made")
    if config.strategy == SCANNER_STRATEGY and config.scanner is not None:
        scanner, (start, _) = config.scanner, config.session.minutes()
        first, last = (minutes_after_open(t) - 1 for t in (scanner.start_time, scanner.end_time))
        if last < start or first >= end:
            yield (f"the scanner's scan times {scanner.start_time:%H:%M}-{scanner.end_time:%H:%M} all lie outside "
                   f"the entry window {config.session.entry_start:%H:%M}-{config.session.entry_end:%H:%M}: no hit "
                   "is ever entered")
        yield from (f"scanner: {warning}" for warning in scanner.warnings())
    grids = any(isinstance(value, tuple) for value in config.params.values())
    if grids and config.strategy in builtin_strategies():
        bad, checked, first = invalid_combinations(config.strategy, config.params)
        if bad:
            yield f"params: {bad} of {checked} combinations cannot run ({first}); optimize skips them"


CHECKS: tuple[Callable[[StrategyConfig], Iterator[str]], ...] = (
    _strategy, _entry_window, _round_trip, _sizing, _account, _stops)


def config_warnings(config: StrategyConfig) -> list[str]:
    """Every warning for `config`, in the order of its keys."""
    return [warning for check in CHECKS for warning in check(config)]
