"""vectorbt's `Portfolio.from_signals` set up to trade like docs/spec/backtest.md, as a second, independent oracle.

vectorbt has no sessions, no pending orders and no exit reasons, so the spec's rules are put into its inputs:

- **Bars**: one column per symbol on the union of the symbols' bar times; a symbol's absent minutes are NaN rows
  of its column, which carry no signal, fill no order and check no stop (vectorbt compares NaN levels false).
- **next_open fills**: a signal decided at the close of bar t is moved to the symbol's next bar *in the same
  session* and filled there at `price` = open. A signal on the symbol's last bar of a session is dropped (the
  spec lets it lapse), never carried into the next session.
- **Stops**: `sl_stop` / `tp_stop` as fractions from the entry *fill* price (`stop_entry_price="fillprice"`), the
  trailing stop as `sl_stop` with `sl_trail=True` (vectorbt has one stop-loss slot, so a fixed stop loss and a
  trailing stop cannot be combined), exits at the level with slippage (`stop_exit_price="stopmarket"`), a gap
  at the open filling at the open. vectorbt checks stops from the bar after the entry and lets the trailing
  peak take a bar's high after that bar's check, as the spec does.
- **Conflicts**: an entry and an exit of one direction on one bar cancel (`upon_*_conflict="ignore"`), a long
  and a short entry on one bar cancel (`upon_dir_conflict="ignore"`), an opposite entry reverses
  (`upon_opposite_entry="reversereduce"`: one order; equal to the spec's two only without `fee_per_order`).
- **Sizes and costs**: `size` shares (`size_type="amount"`, no accumulation), `fees` = fee_pct / 100,
  `fixed_fees` = fee_per_order, `slippage` = slippage_pct / 100, applied to the fill price like the spec.
- **The `end` exit**: the spec closes a position still open after the range's last bar at that bar's close,
  with slippage and fee. vectorbt reports such a trade as open, valued without either, so its last bar gets an
  exit signal at `price` = close. This only matches the spec when no order is pending for that bar: callers
  keep the signals of each symbol's last two bars false.
- No session-close exit (`flat_at_close: false`), no time stop, no entry window: vectorbt has none of them.

Two places where vectorbt and the spec differ on the same inputs (see `documented_difference`):
1. *A signal exit pending for a bar's open while that bar also reaches a stop*: the spec fills the pending
   exit at the open (step 1 of the order of events) and the stop never acts; vectorbt checks stops before
   signals and exits at the stop level.
2. *A gap through the take profit at the open while the same bar's low reaches the stop loss* (long; mirrored
   for short): the spec exits at the open (gaps are checked at the open, step 1); vectorbt looks at its
   stop-loss slot first and exits at the stop-loss level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tapescan.calendar import ET, NS_PER_DAY

#: The trade columns both sides are compared on (spec "Outputs", less exit_reason which vectorbt has not).
TRADE_KEYS = ["symbol", "direction", "entry_bar", "exit_bar"]
TRADE_VALUES = ["entry_price", "exit_price", "shares", "entry_fee", "exit_fee", "pnl", "return_pct"]
PRICE_FIELDS = ("open", "high", "low", "close")
#: vectorbt's TradeDirection codes.
VBT_DIRECTION = {0: "long", 1: "short"}
PERCENT = 100.0


@dataclass(frozen=True)
class Settings:
    """The spec settings the vectorbt mapping supports (strategy-file keys, flat)."""

    direction: str = "long"
    shares: int = 100
    slippage_pct: float = 0.0
    fee_pct: float = 0.0
    fee_per_order: float = 0.0
    init_cash: float = 10_000_000.0
    stop_loss_pct: float | None = None
    take_profit_pct: float | None = None
    trailing_stop_pct: float | None = None

    def __post_init__(self) -> None:
        if self.stop_loss_pct is not None and self.trailing_stop_pct is not None:
            raise ValueError("vectorbt has one stop-loss slot: give stop_loss_pct or trailing_stop_pct, not both")

    def tapescan(self) -> dict[str, object]:
        """The same settings as `tapescan.simulate` keywords (next_open, per_symbol, carried overnight)."""
        return {"direction": self.direction, "fill": "next_open", "shares": self.shares,
                "slippage_pct": self.slippage_pct, "fee_pct": self.fee_pct, "fee_per_order": self.fee_per_order,
                "mode": "per_symbol", "init_cash": self.init_cash, "stop_loss_pct": self.stop_loss_pct,
                "take_profit_pct": self.take_profit_pct, "trailing_stop_pct": self.trailing_stop_pct,
                "flat_at_close": False}


@dataclass(frozen=True)
class Wide:
    """Bars as [row x symbol] frames (NaN where a symbol has no bar) and where each long row went.

    Layout "time": one row per bar time of any symbol (absent minutes are NaN rows of a column). Layout "sequence":
    row k of a column is that symbol's k-th bar (its bar sequence; columns shorter than the longest end in NaN).
    """

    frames: dict[str, pd.DataFrame]
    row: np.ndarray  # long row -> wide row
    col: np.ndarray  # long row -> wide column
    times: np.ndarray  # [row x symbol] bar start, UTC ns (0 where absent)
    session: np.ndarray  # [row x symbol] session date ordinal (-1 where absent)

    @property
    def present(self) -> np.ndarray:
        return self.session >= 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.session.shape


def widen(bars: pd.DataFrame, layout: str = "time") -> Wide:
    """The bars of long format (symbol, ts, open, high, low, close) as one column per symbol, in `layout`."""
    symbols, col = np.unique(bars["symbol"].to_numpy(), return_inverse=True)
    ts = pd.DatetimeIndex(bars["ts"])
    utc = ts.tz_convert("UTC").as_unit("ns").asi8
    if layout == "time":
        times, row = np.unique(utc, return_inverse=True)
        index = pd.DatetimeIndex(times).tz_localize("UTC").tz_convert(ET)
    elif layout == "sequence":
        order = np.lexsort((utc, col))
        starts = np.searchsorted(col[order], np.arange(len(symbols)))
        row = np.empty(len(bars), np.int64)
        row[order] = np.arange(len(bars)) - np.repeat(starts, np.diff(np.append(starts, len(bars))))
        index = pd.RangeIndex(row.max() + 1 if len(bars) else 0)
    else:
        raise ValueError(f"layout must be 'time' or 'sequence', not {layout!r}")
    shape = (len(index), len(symbols))
    frames = {}
    for field in PRICE_FIELDS:
        values = np.full(shape, np.nan)
        values[row, col] = bars[field].to_numpy(np.float64)
        frames[field] = pd.DataFrame(values, index=index, columns=symbols)
    times = np.zeros(shape, np.int64)
    times[row, col] = utc
    session = np.full(shape, -1, np.int64)
    session[row, col] = ts.tz_convert(ET).normalize().tz_localize(None).as_unit("ns").asi8 // NS_PER_DAY
    return Wide(frames, row, col, times, session)


def next_bar_in_session(signal: np.ndarray, present: np.ndarray, session: np.ndarray) -> np.ndarray:
    """[row x symbol] signals moved to each symbol's next bar of the same session (last-bar signals lapse)."""
    moved = np.zeros_like(signal, dtype=bool)
    for c in range(signal.shape[1]):
        rows = np.flatnonzero(present[:, c])
        same_session = session[rows[:-1], c] == session[rows[1:], c]
        moved[rows[1:][same_session], c] = signal[rows[:-1][same_session], c]
    return moved


def scatter(wide: Wide, long_signal: object | None) -> np.ndarray:
    """A signal aligned to the long rows as a [row x symbol] array (None: never)."""
    out = np.zeros(wide.shape, dtype=bool)
    if long_signal is not None:
        out[wide.row, wide.col] = np.asarray(long_signal, dtype=bool)
    return out


def last_rows(present: np.ndarray) -> np.ndarray:
    """Each symbol's last wide row with a bar."""
    return present.shape[0] - 1 - np.argmax(present[::-1], axis=0)


def run_vectorbt(bars: pd.DataFrame, long_entry, long_exit, short_entry=None, short_exit=None,
                 settings: Settings = Settings(), layout: str = "time"):
    """vectorbt's Portfolio for the bars and signals (aligned to the rows of `bars`), and the Wide it ran on."""
    wide = widen(bars, layout)
    signals = [scatter(wide, values) for values in (long_entry, long_exit, short_entry, short_exit)]
    return portfolio_from_wide(wide, *signals, settings=settings), wide


def portfolio_from_wide(wide: Wide, long_entry: np.ndarray, long_exit: np.ndarray, short_entry: np.ndarray,
                        short_exit: np.ndarray, settings: Settings):
    """vectorbt's from_signals on [row x symbol] signals decided at each bar's close, mapped as the module says."""
    import vectorbt as vbt

    present = wide.present
    signals = {name: next_bar_in_session(values, present, wide.session)
               for name, values in (("entries", long_entry), ("exits", long_exit),
                                    ("short_entries", short_entry), ("short_exits", short_exit))}
    if settings.direction == "long":
        signals["short_entries"][:] = signals["short_exits"][:] = False
    elif settings.direction == "short":
        signals["entries"][:] = signals["exits"][:] = False
    price = wide.frames["open"].to_numpy().copy()
    last = last_rows(present)
    columns = np.arange(present.shape[1])
    price[last, columns] = wide.frames["close"].to_numpy()[last, columns]  # the `end` exit at the last close
    signals["exits"][last, columns] = signals["short_exits"][last, columns] = True
    signals["entries"][last, columns] = signals["short_entries"][last, columns] = False
    frame = wide.frames["close"]
    as_frame = {name: pd.DataFrame(values, index=frame.index, columns=frame.columns) for name, values in signals.items()}
    trailing = settings.trailing_stop_pct is not None
    stop = settings.trailing_stop_pct if trailing else settings.stop_loss_pct
    return vbt.Portfolio.from_signals(
        frame, open=wide.frames["open"], high=wide.frames["high"], low=wide.frames["low"],
        price=pd.DataFrame(price, index=frame.index, columns=frame.columns), **as_frame,
        size=float(settings.shares), size_type="amount", accumulate=False,
        fees=settings.fee_pct / PERCENT, fixed_fees=settings.fee_per_order, slippage=settings.slippage_pct / PERCENT,
        init_cash=settings.init_cash, cash_sharing=False,
        sl_stop=np.nan if stop is None else stop / PERCENT, sl_trail=trailing,
        tp_stop=np.nan if settings.take_profit_pct is None else settings.take_profit_pct / PERCENT,
        stop_entry_price="fillprice", stop_exit_price="stopmarket", upon_stop_exit="close",
        upon_long_conflict="ignore", upon_short_conflict="ignore", upon_dir_conflict="ignore",
        upon_opposite_entry="reversereduce", min_size=1.0, allow_partial=False, freq="1min")


def vectorbt_trades(portfolio, wide: Wide) -> pd.DataFrame:
    """vectorbt's exit trades in the spec's trade columns, sorted by (entry_bar, symbol)."""
    records = portfolio.exit_trades.records
    columns = np.asarray(portfolio.wrapper.columns)
    col = records["col"]

    def stamps(idx: np.ndarray) -> pd.Series:
        return pd.Series(pd.DatetimeIndex(wide.times[idx, col]).tz_localize("UTC").tz_convert(ET))

    trades = pd.DataFrame({
        "symbol": columns[col],
        "direction": [VBT_DIRECTION[d] for d in records["direction"]],
        "entry_bar": stamps(records["entry_idx"]),
        "entry_price": records["entry_price"],
        "exit_bar": stamps(records["exit_idx"]),
        "exit_price": records["exit_price"],
        "shares": np.rint(records["size"]).astype(np.int64),
        "entry_fee": records["entry_fees"],
        "exit_fee": records["exit_fees"],
        "pnl": records["pnl"],
        "return_pct": records["return"] * PERCENT,
    })
    return trades.sort_values(["entry_bar", "symbol"], kind="stable").reset_index(drop=True)


def stop_levels(entry_price: float, direction: str, settings: Settings, peak: float) -> dict[str, float]:
    """The spec's stop levels of a position (peak: the trailing extreme so far, P at first)."""
    sign = 1.0 if direction == "long" else -1.0
    levels = {}
    if settings.stop_loss_pct is not None:
        levels["stop_loss"] = entry_price * (1 - sign * settings.stop_loss_pct / PERCENT)
    if settings.trailing_stop_pct is not None:
        levels["trailing_stop"] = peak * (1 - sign * settings.trailing_stop_pct / PERCENT)
    if settings.take_profit_pct is not None:
        levels["take_profit"] = entry_price * (1 + sign * settings.take_profit_pct / PERCENT)
    return levels


def _beyond(price: float, level: float, long: bool, loss: bool) -> bool:
    """Whether `price` is at or beyond `level` on the side where that level acts (a long's loss: at or below)."""
    return price <= level if long == loss else price >= level


def documented_difference(trade: pd.Series, bars: pd.DataFrame, settings: Settings) -> str | None:
    """Which of the two documented differences a trade of the spec (tapescan's) falls under, or None.

    Worked out from the bars and the spec's stop levels alone, at the trade's exit bar: (1) the trade exited by a
    signal at that bar's open and a stop level lies inside the bar (not beyond its open, where vectorbt's stop would
    fill at the open too: same price); (2) the trade exited at the open through its take profit and the bar's low
    (high, short) reaches its stop-loss or trailing level.
    """
    own = bars[bars["symbol"] == trade["symbol"]].sort_values("ts")
    held = own[(own["ts"] > trade["entry_bar"]) & (own["ts"] <= trade["exit_bar"])]
    if held.empty or held["ts"].iloc[-1] != trade["exit_bar"]:
        return None  # exited in its entry bar (cannot be either case)
    bar = held.iloc[-1]
    long = trade["direction"] == "long"
    before = held.iloc[:-1]
    peak = max([trade["entry_price"], *before["high"]]) if long else min([trade["entry_price"], *before["low"]])
    levels = stop_levels(trade["entry_price"], trade["direction"], settings, peak)
    far, near = ("low", "high") if long else ("high", "low")
    losses = [levels[k] for k in ("stop_loss", "trailing_stop") if k in levels]
    loss_gapped = any(_beyond(bar["open"], lv, long, loss=True) for lv in losses)
    loss_inside = not loss_gapped and any(_beyond(bar[far], lv, long, loss=True) for lv in losses)
    profit = levels.get("take_profit")
    profit_gapped = profit is not None and _beyond(bar["open"], profit, long, loss=False)
    profit_inside = profit is not None and not profit_gapped and _beyond(bar[near], profit, long, loss=False)
    reason = trade["exit_reason"]
    if reason == "signal" and (loss_inside or (not loss_gapped and profit_inside)):
        return "pending signal exit and a stop inside the same bar"
    if reason == "take_profit" and profit_gapped and loss_inside:
        return "gap through take profit and stop loss inside the same bar"
    return None
