"""One bar's order of events for one position (docs/spec/backtest.md "Stops and exits"): fills, stops, exits,
accounts and the records they leave, as scalar code shared by every simulator driver.

The drivers decide which lanes (a lane is one symbol's position under one parameter combination) have a bar
at a minute and in which order they are served: tapescan/cpu_fallback/backtest.py runs the phases of one lane
through a whole session (`per_symbol` accounts, also on the GPU, one thread per lane) or interleaves them over
all lanes minute by minute (`shared` accounts). Each phase is one function here, so every driver runs the same
arithmetic in the same order:

1. at the open: :func:`open_exits` (a pending signal exit, then gaps through a level, then the time stop),
   then :func:`open_entry` (a pending entry; in `shared` mode after every lane's exits, in rank order);
2. inside the bar: :func:`inside_bar` (stop loss / trailing stop, else take profit);
3. at the close: :func:`value_close` (valuation, exposure, trailing extreme), the signals
   (:func:`decide`, then with `fill: close` :func:`close_exit` / :func:`open_entry`), then
   :func:`session_close`.

State is named: a lane is a float64 row of LANE_* slots, an account a row of ACCOUNT_* slots, the run's
settings a row of SETTING_* slots and the session's a row of SESSION_* slots. Times are minute stamps (whole
minutes since the Unix epoch, exact in float64). Records are rows of ORDER_* / TRADE_* fields appended to
per-lane buffers; a buffer that fills up keeps counting, so the driver can run the session again with room.
Products that feed a sum go through `product` (the GPU never fuses them into a multiply-add).
"""

from __future__ import annotations

import math

from tapescan.kernels.jitable import product, routine
from tapescan.kernels.signals import LONG_ENTRY, LONG_EXIT, SHORT_ENTRY, SHORT_EXIT

# --- the run's settings (docs/spec/backtest.md "Strategy file"); NaN means "not set" ---
SETTING_FIELDS = ("fill_close", "slippage", "fee_rate", "fee_per_order", "size_kind", "size_amount",
                  "direction", "stop_loss", "take_profit", "trailing_stop", "max_minutes", "flat_at_close",
                  "init_cash", "max_positions", "max_position", "shared")
(SETTING_FILL_CLOSE, SETTING_SLIPPAGE, SETTING_FEE_RATE, SETTING_FEE_PER_ORDER, SETTING_SIZE_KIND,
 SETTING_SIZE_AMOUNT, SETTING_DIRECTION, SETTING_STOP_LOSS, SETTING_TAKE_PROFIT, SETTING_TRAILING_STOP,
 SETTING_MAX_MINUTES, SETTING_FLAT_AT_CLOSE, SETTING_INIT_CASH, SETTING_MAX_POSITIONS, SETTING_MAX_POSITION,
 SETTING_SHARED) = range(len(SETTING_FIELDS))
#: SETTING_SIZE_KIND values; SETTING_SIZE_AMOUNT is shares, currency, or a fraction of equity.
SIZE_SHARES, SIZE_VALUE, SIZE_PERCENT_EQUITY = 0, 1, 2

# --- one session of the run ---
SESSION_FIELDS = ("open_minute", "entry_start", "entry_end", "trading", "last")
SESSION_OPEN_MINUTE, SESSION_ENTRY_START, SESSION_ENTRY_END, SESSION_TRADING, SESSION_LAST = range(
    len(SESSION_FIELDS))

# --- one lane: its position, its pending order and its counters ---
LANE_FIELDS = ("shares", "entry_price", "entry_fee", "entry_bar", "stop_level", "take_level", "extreme",
               "expiry", "last_close", "last_bar", "pending_exit", "pending_entry", "pending_rank",
               "bars", "bars_exposed", "stopped")
(LANE_SHARES, LANE_ENTRY_PRICE, LANE_ENTRY_FEE, LANE_ENTRY_BAR, LANE_STOP_LEVEL, LANE_TAKE_LEVEL, LANE_EXTREME,
 LANE_EXPIRY, LANE_LAST_CLOSE, LANE_LAST_BAR, LANE_PENDING_EXIT, LANE_PENDING_ENTRY, LANE_PENDING_RANK,
 LANE_BARS, LANE_BARS_EXPOSED, LANE_STOPPED) = range(len(LANE_FIELDS))

# --- an account: per lane (`per_symbol`) or one for all lanes (`shared`) ---
ACCOUNT_FIELDS = ("cash", "open_positions")
ACCOUNT_CASH, ACCOUNT_OPEN_POSITIONS = range(len(ACCOUNT_FIELDS))

# --- records ---
ORDER_FIELDS = ("bar", "side", "shares", "price", "fee", "filled", "reason")
ORDER_BAR, ORDER_SIDE, ORDER_SHARES, ORDER_PRICE, ORDER_FEE, ORDER_FILLED, ORDER_REASON = range(len(ORDER_FIELDS))
TRADE_FIELDS = ("direction", "entry_bar", "entry_price", "exit_bar", "exit_price", "shares", "entry_fee",
                "exit_fee", "reason")
(TRADE_DIRECTION, TRADE_ENTRY_BAR, TRADE_ENTRY_PRICE, TRADE_EXIT_BAR, TRADE_EXIT_PRICE, TRADE_SHARES,
 TRADE_ENTRY_FEE, TRADE_EXIT_FEE, TRADE_REASON) = range(len(TRADE_FIELDS))
#: ORDER_REASON / TRADE_REASON codes, indexing REASONS.
REASONS = ("entry", "signal", "stop_loss", "take_profit", "trailing_stop", "time", "close", "end",
           "outside entry window", "last bar of session", "max_positions", "max_position_pct",
           "insufficient cash", "size below one share")
(REASON_ENTRY, REASON_SIGNAL, REASON_STOP_LOSS, REASON_TAKE_PROFIT, REASON_TRAILING_STOP, REASON_TIME,
 REASON_CLOSE, REASON_END, REASON_ENTRY_WINDOW, REASON_LAST_BAR, REASON_MAX_POSITIONS, REASON_MAX_POSITION,
 REASON_CASH, REASON_SIZE) = range(len(REASONS))
#: Count slots per lane: orders and trades appended this session.
COUNT_ORDERS, COUNT_TRADES = 0, 1
BUY, SELL = 1.0, -1.0


@routine
def record_order(orders, counts, bar, side, shares, price, fee, filled, reason):
    """Append one order to the lane's buffer (counting past its end, so the driver sees it was too small)."""
    k = int(counts[COUNT_ORDERS])
    if k < orders.shape[0]:
        orders[k, ORDER_BAR] = bar
        orders[k, ORDER_SIDE] = side
        orders[k, ORDER_SHARES] = shares
        orders[k, ORDER_PRICE] = price
        orders[k, ORDER_FEE] = fee
        orders[k, ORDER_FILLED] = filled
        orders[k, ORDER_REASON] = reason
    counts[COUNT_ORDERS] = k + 1


@routine
def record_trade(trades, counts, lane, exit_bar, exit_price, exit_fee, reason):
    """Append the trade of the lane's open position, closing at `exit_price` with `exit_fee`."""
    k = int(counts[COUNT_TRADES])
    if k < trades.shape[0]:
        shares = lane[LANE_SHARES]
        trades[k, TRADE_DIRECTION] = 1.0 if shares > 0 else -1.0
        trades[k, TRADE_ENTRY_BAR] = lane[LANE_ENTRY_BAR]
        trades[k, TRADE_ENTRY_PRICE] = lane[LANE_ENTRY_PRICE]
        trades[k, TRADE_EXIT_BAR] = exit_bar
        trades[k, TRADE_EXIT_PRICE] = exit_price
        trades[k, TRADE_SHARES] = abs(shares)
        trades[k, TRADE_ENTRY_FEE] = lane[LANE_ENTRY_FEE]
        trades[k, TRADE_EXIT_FEE] = exit_fee
        trades[k, TRADE_REASON] = reason
    counts[COUNT_TRADES] = k + 1


@routine
def fill_price(price, side, settings):
    """The price an order fills at: a buy pays `slippage` more, a sell gets `slippage` less."""
    return price * (1.0 + product(side, settings[SETTING_SLIPPAGE]))


@routine
def order_fee(shares, price, settings):
    """shares * fill price * fee_pct/100 + fee_per_order."""
    return product(product(shares, price), settings[SETTING_FEE_RATE]) + settings[SETTING_FEE_PER_ORDER]


@routine
def exit_position(lane, account, settings, orders, trades, counts, bar, raw_price, reason):
    """Close the lane's position at `raw_price` (slippage and fee applied): cash, records, a flat lane."""
    shares = lane[LANE_SHARES]
    side = SELL if shares > 0 else BUY
    price = fill_price(raw_price, side, settings)
    fee = order_fee(abs(shares), price, settings)
    account[ACCOUNT_CASH] = account[ACCOUNT_CASH] + product(shares, price) - fee
    account[ACCOUNT_OPEN_POSITIONS] = account[ACCOUNT_OPEN_POSITIONS] - 1.0
    record_order(orders, counts, bar, side, abs(shares), price, fee, 1.0, reason)
    record_trade(trades, counts, lane, bar, price, fee, reason)
    lane[LANE_SHARES] = 0.0
    lane[LANE_EXPIRY] = math.nan


@routine
def entry_size(price, equity, settings):
    """Whole shares an entry at fill `price` asks for (docs/spec/backtest.md "Size"), before any limit."""
    kind = settings[SETTING_SIZE_KIND]
    amount = settings[SETTING_SIZE_AMOUNT]
    if kind == SIZE_SHARES:
        return amount
    if kind == SIZE_VALUE:
        return math.floor(amount / price)
    return math.floor(amount * equity / price)


@routine
def refusal(shares, price, equity, account, settings):
    """Why an entry of `shares` at `price` is rejected (a REASON_* code), or -1 when it may go ahead; checked in
    the spec's order: max_positions, the size, max_position_pct (shared accounts only), then the cash."""
    if settings[SETTING_SHARED] != 0.0:
        most = settings[SETTING_MAX_POSITIONS]
        if not math.isnan(most) and account[ACCOUNT_OPEN_POSITIONS] >= most:
            return REASON_MAX_POSITIONS
    if shares < 1.0:
        return REASON_SIZE
    if settings[SETTING_SHARED] != 0.0:
        cap = settings[SETTING_MAX_POSITION]
        if not math.isnan(cap) and product(shares, price) > product(cap, equity):
            return REASON_MAX_POSITION
    return -1


@routine
def affordable(shares, price, side, account, settings):
    """`shares` cut to what cash pays for (buys only; shorts need no cash): floor((cash - fee_per_order) /
    (price * (1 + fee_pct/100)))."""
    if side < 0:
        return shares
    cash = account[ACCOUNT_CASH]
    if product(shares, price) + order_fee(shares, price, settings) <= cash:
        return shares
    most = math.floor((cash - settings[SETTING_FEE_PER_ORDER]) / (price * (1.0 + settings[SETTING_FEE_RATE])))
    return min(shares, max(most, 0.0))


@routine
def open_entry(lane, account, settings, orders, trades, counts, bar, fill_time, raw_price, direction, equity,
               last_bar_of_session):
    """Open a position of `direction` (+1 long, -1 short) at `raw_price` in the bar starting at `bar`, or record
    why not. `fill_time` starts the time stop; `equity` values the account for sizing and max_position_pct."""
    side = BUY if direction > 0 else SELL
    price = fill_price(raw_price, side, settings)
    shares = entry_size(price, equity, settings)
    if last_bar_of_session and settings[SETTING_FLAT_AT_CLOSE] != 0.0:
        record_order(orders, counts, bar, side, shares, price, 0.0, 0.0, REASON_LAST_BAR)
        return
    reason = refusal(shares, price, equity, account, settings)
    if reason < 0:
        cut = affordable(shares, price, side, account, settings)
        if cut < 1.0:
            reason = REASON_CASH
        shares = cut if cut >= 1.0 else shares
    if reason >= 0:
        record_order(orders, counts, bar, side, shares, price, 0.0, 0.0, reason)
        return
    fee = order_fee(shares, price, settings)
    signed = direction * shares
    account[ACCOUNT_CASH] = account[ACCOUNT_CASH] - (product(signed, price) + fee)
    account[ACCOUNT_OPEN_POSITIONS] = account[ACCOUNT_OPEN_POSITIONS] + 1.0
    record_order(orders, counts, bar, side, shares, price, fee, 1.0, REASON_ENTRY)
    lane[LANE_SHARES] = signed
    lane[LANE_ENTRY_PRICE] = price
    lane[LANE_ENTRY_FEE] = fee
    lane[LANE_ENTRY_BAR] = bar
    lane[LANE_STOP_LEVEL] = price * (1.0 - product(direction, settings[SETTING_STOP_LOSS]))
    lane[LANE_TAKE_LEVEL] = price * (1.0 + product(direction, settings[SETTING_TAKE_PROFIT]))
    lane[LANE_EXTREME] = price
    lane[LANE_EXPIRY] = fill_time + settings[SETTING_MAX_MINUTES]


@routine
def trailing_level(lane, settings):
    """The trailing stop's level from the extreme so far (NaN without a trailing stop)."""
    direction = 1.0 if lane[LANE_SHARES] > 0 else -1.0
    return product(lane[LANE_EXTREME], 1.0 - product(direction, settings[SETTING_TRAILING_STOP]))


@routine
def held_before(lane, bar):
    """Whether the lane holds a position entered in a bar before the one starting at `bar`."""
    return lane[LANE_SHARES] != 0.0 and lane[LANE_ENTRY_BAR] < bar


@routine
def open_exits(lane, account, settings, orders, trades, counts, bar, open_):
    """Step 1 before entries: a pending signal exit fills at the open; else a position entered before this bar
    whose open is at or beyond a level (stop_loss, trailing_stop, take_profit, in that order) exits at the open;
    else one whose time stop is due exits at the open."""
    lane[LANE_STOPPED] = 0.0
    if lane[LANE_PENDING_EXIT] != 0.0:
        lane[LANE_PENDING_EXIT] = 0.0
        if lane[LANE_SHARES] != 0.0:
            exit_position(lane, account, settings, orders, trades, counts, bar, open_, REASON_SIGNAL)
            return
    if not held_before(lane, bar):
        return
    direction = 1.0 if lane[LANE_SHARES] > 0 else -1.0
    reason = -1
    if direction * (open_ - lane[LANE_STOP_LEVEL]) <= 0.0:
        reason = REASON_STOP_LOSS
    elif direction * (open_ - trailing_level(lane, settings)) <= 0.0:
        reason = REASON_TRAILING_STOP
    elif direction * (open_ - lane[LANE_TAKE_LEVEL]) >= 0.0:
        reason = REASON_TAKE_PROFIT
    elif bar >= lane[LANE_EXPIRY]:
        reason = REASON_TIME
    if reason >= 0:
        exit_position(lane, account, settings, orders, trades, counts, bar, open_, reason)
        lane[LANE_STOPPED] = 1.0


@routine
def inside_bar(lane, account, settings, orders, trades, counts, bar, high, low):
    """Step 2: a position entered before this bar whose stop-loss or trailing level lies within the bar exits
    at that level (both: the nearer one; a tie is stop_loss); else one whose take-profit level does exits
    there."""
    if not held_before(lane, bar):
        return
    direction = 1.0 if lane[LANE_SHARES] > 0 else -1.0
    adverse = low if direction > 0 else high
    favourable = high if direction > 0 else low
    stop = lane[LANE_STOP_LEVEL]
    trail = trailing_level(lane, settings)
    stop_hit = direction * (adverse - stop) <= 0.0
    trail_hit = direction * (adverse - trail) <= 0.0
    if stop_hit and (not trail_hit or direction * (stop - trail) >= 0.0):
        exit_position(lane, account, settings, orders, trades, counts, bar, stop, REASON_STOP_LOSS)
    elif trail_hit:
        exit_position(lane, account, settings, orders, trades, counts, bar, trail, REASON_TRAILING_STOP)
    elif direction * (favourable - lane[LANE_TAKE_LEVEL]) >= 0.0:
        exit_position(lane, account, settings, orders, trades, counts, bar, lane[LANE_TAKE_LEVEL],
                      REASON_TAKE_PROFIT)
    else:
        return
    lane[LANE_STOPPED] = 1.0


@routine
def value_close(lane, bar, high, low, close, trading):
    """Step 3's first part: the close values the position, the bar counts (exposed when a position is open),
    and a position entered before this bar takes the bar's high (long) or low (short) into its extreme."""
    lane[LANE_LAST_CLOSE] = close
    lane[LANE_LAST_BAR] = bar
    if trading:
        lane[LANE_BARS] = lane[LANE_BARS] + 1.0
        if lane[LANE_SHARES] != 0.0:
            lane[LANE_BARS_EXPOSED] = lane[LANE_BARS_EXPOSED] + 1.0
    if held_before(lane, bar):
        if lane[LANE_SHARES] > 0:
            lane[LANE_EXTREME] = max(lane[LANE_EXTREME], high)
        else:
            lane[LANE_EXTREME] = min(lane[LANE_EXTREME], low)


@routine
def decide(lane, signals, settings):
    """The orders a bar's signals ask for, on the position held at its close: (exit, entry direction), where
    entry direction is +1, -1 or 0. Direction masks first; an entry and an exit of one direction cancel, and so
    do a long and a short entry; an entry while a position is open is dropped unless it is the opposite one
    (a reversal: exit, then entry); an exit while flat is dropped."""
    allowed = int(settings[SETTING_DIRECTION])
    bits = signals & allowed
    long_entry = (bits & LONG_ENTRY) != 0 and (bits & LONG_EXIT) == 0
    long_exit = (bits & LONG_EXIT) != 0 and (bits & LONG_ENTRY) == 0
    short_entry = (bits & SHORT_ENTRY) != 0 and (bits & SHORT_EXIT) == 0
    short_exit = (bits & SHORT_EXIT) != 0 and (bits & SHORT_ENTRY) == 0
    if long_entry and short_entry:
        long_entry = False
        short_entry = False
    held = lane[LANE_SHARES]
    if held > 0:
        return long_exit or short_entry, -1 if short_entry else 0
    if held < 0:
        return short_exit or long_entry, 1 if long_entry else 0
    return False, 1 if long_entry else (-1 if short_entry else 0)


@routine
def in_entry_window(bar, session):
    """Whether a signal bar starting at `bar` may lead to an entry (start in [entry_start, entry_end))."""
    minute = bar - session[SESSION_OPEN_MINUTE]
    return session[SESSION_ENTRY_START] <= minute < session[SESSION_ENTRY_END]


@routine
def session_close(lane, account, settings, orders, trades, counts, bar, close, last_bar_of_session):
    """Step 3's end: with flat_at_close, a position still open after the symbol's last bar of the session exits
    at that bar's close."""
    if last_bar_of_session and settings[SETTING_FLAT_AT_CLOSE] != 0.0 and lane[LANE_SHARES] != 0.0:
        exit_position(lane, account, settings, orders, trades, counts, bar, close, REASON_CLOSE)


@routine
def lane_equity(lane, cash):
    """cash + shares x the last close (short shares count negative)."""
    if lane[LANE_SHARES] == 0.0:
        return cash
    return cash + product(lane[LANE_SHARES], lane[LANE_LAST_CLOSE])


@routine
def end_of_range(lane, account, settings, orders, trades, counts):
    """After the range's last minute: a position still open exits at the symbol's last close (reason `end`)."""
    if lane[LANE_SHARES] != 0.0:
        exit_position(lane, account, settings, orders, trades, counts, lane[LANE_LAST_BAR], lane[LANE_LAST_CLOSE],
                      REASON_END)


@routine
def signal_orders(lane, settings, session, orders, counts, bar, bits, last_bar_of_session):
    """What the signals of the bar starting at `bar` ask for, as (exit, entry direction), after the rules that
    need no account: with `fill: close` a bar a stop left ignores its signals; with `next_open` nothing is sent
    from the symbol's last bar of the session (the order would lapse); an entry from a signal bar outside the
    entry window is rejected and recorded (a reversal's exit still acts)."""
    fill_close = settings[SETTING_FILL_CLOSE] != 0.0
    if fill_close and lane[LANE_STOPPED] != 0.0:
        return False, 0
    if not fill_close and last_bar_of_session:
        return False, 0
    leave, direction = decide(lane, bits, settings)
    if direction != 0 and not in_entry_window(bar, session):
        record_order(orders, counts, bar, BUY if direction > 0 else SELL, 0.0, math.nan, 0.0, 0.0,
                     REASON_ENTRY_WINDOW)
        direction = 0
    return leave, direction
