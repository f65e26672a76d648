"""The built-in indicators of docs/spec/backtest.md "Indicators" as streaming updates: one scalar call per bar.

Each indicator keeps its state in a few slots of a float64 state vector, starting at a `base` index the caller
chooses (the slot names below are offsets from that base), and, where it needs a window of recent closes, in a
ring buffer: a float64 1-D array whose length is the window (the indicator's n), with its write position and fill
count in two state slots. A state that is all zeros is a fresh one (nothing seen yet), so callers allocate state
with zeros on either target. State carries across sessions; vwap and opening_range start again when
`new_session` is true (the symbol's first bar of a session).

Conventions are TA-Lib's (its functions are the oracle in tests/test_indicators.py): the same first defined bar
and the same recurrences in the same order. Two deliberate differences, both numerical: sma and the bbands
deviation are recomputed from the window every bar (TA-Lib keeps running sums, which drift, and takes the
variance as mean(x^2) - mean^2, which cancels), and no product is fused into an add (TA-Lib's build may fuse).

Every function here is `scalar` (compiled into the CPU and GPU kernels that call it) and allocates nothing.
"""

from __future__ import annotations

import math

from tapescan.kernels.jitable import product, scalar

#: Ring-buffer slots: where the next value goes, and how many values the ring holds (at most its length).
RING_NEXT, RING_COUNT = range(2)
RING_SLOTS = 2

#: sma(n) and bbands(n, k) keep only a ring of the last n closes.
SMA_SLOTS = RING_SLOTS
BBANDS_SLOTS = RING_SLOTS

#: ema(n): the value once defined; closes seen (capped at n); their sum until the n-th.
EMA_VALUE, EMA_COUNT, EMA_SEED_SUM = range(3)
EMA_SLOTS = 3

#: rsi(n): the previous close; bars seen (capped at n + 1: a close and n changes); Wilder's average gain and
#: loss (their sums until the n-th change).
RSI_PREVIOUS_CLOSE, RSI_BARS, RSI_GAIN, RSI_LOSS = range(4)
RSI_SLOTS = 4

#: atr(n): the previous close; bars seen (capped at n + 1); the average true range (the sum of true ranges
#: until bar n).
ATR_PREVIOUS_CLOSE, ATR_BARS, ATR_VALUE = range(3)
ATR_SLOTS = 3

#: vwap: the session's sum of typical price * volume, and of volume.
VWAP_NUMERATOR, VWAP_VOLUME = range(2)
VWAP_SLOTS = 2

#: opening_range(m): the session's highest high and lowest low of the bars that started within m minutes of the
#: open, and how many such bars there were.
RANGE_HIGH, RANGE_LOW, RANGE_BARS = range(3)
OPENING_RANGE_SLOTS = 3


@scalar
def ring_push(state, base, ring, value):
    """Append `value` to the ring (length = its window), overwriting the oldest once full."""
    size = ring.shape[0]
    position = int(state[base + RING_NEXT])
    ring[position] = value
    position += 1
    if position == size:
        position = 0
    state[base + RING_NEXT] = position
    if state[base + RING_COUNT] < size:
        state[base + RING_COUNT] += 1.0


@scalar
def ring_mean(state, base, ring):
    """Mean of the full ring, summed oldest first, left to right; NaN until the ring is full."""
    size = ring.shape[0]
    if state[base + RING_COUNT] < size:
        return math.nan
    oldest = int(state[base + RING_NEXT])  # once full, the next write position holds the oldest value
    total = 0.0
    for j in range(size):
        i = oldest + j
        if i >= size:
            i -= size
        total += ring[i]
    return total / size


@scalar
def ring_population_std(state, base, ring, mean):
    """Population standard deviation (ddof 0) of the full ring around its `mean`, squares summed oldest first."""
    size = ring.shape[0]
    oldest = int(state[base + RING_NEXT])
    squares = 0.0
    for j in range(size):
        i = oldest + j
        if i >= size:
            i -= size
        deviation = ring[i] - mean
        squares += product(deviation, deviation)
    return math.sqrt(squares / size)


@scalar
def sma_update(state, base, ring, close):
    """sma(n) after this bar's close, n = len(ring): the mean of the last n closes (TA-Lib SMA); NaN before the
    n-th bar."""
    ring_push(state, base, ring, close)
    return ring_mean(state, base, ring)


@scalar
def ema_update(state, base, close, n):
    """ema(n) after this bar's close (TA-Lib EMA): the n-th bar's value is the mean of the first n closes; then
    ema += (close - ema) * 2 / (n + 1). ema(1) is the close itself, as in TA-Lib."""
    if n == 1:
        state[base + EMA_VALUE] = close
        state[base + EMA_COUNT] = 1.0
        return close
    count = state[base + EMA_COUNT]
    if count >= n:
        value = state[base + EMA_VALUE]
        value = product(close - value, 2.0 / (n + 1.0)) + value
        state[base + EMA_VALUE] = value
        return value
    seed = state[base + EMA_SEED_SUM] + close
    count += 1.0
    state[base + EMA_SEED_SUM] = seed
    state[base + EMA_COUNT] = count
    if count < n:
        return math.nan
    value = seed / n
    state[base + EMA_VALUE] = value
    return value


@scalar
def _rsi_of(gain, loss):
    """100 * gain / (gain + loss), and 0 when both are 0 (TA-Lib RSI)."""
    total = gain + loss
    if total == 0.0:
        return 0.0
    return 100.0 * (gain / total)


@scalar
def rsi_update(state, base, close, n):
    """rsi(n) after this bar's close (TA-Lib RSI, Wilder's smoothing): the first value is at the bar after the
    first n close-to-close changes, from their simple mean gain and loss; then avg = (avg * (n - 1) + x) / n."""
    bars = state[base + RSI_BARS]
    change = close - state[base + RSI_PREVIOUS_CLOSE]
    state[base + RSI_PREVIOUS_CLOSE] = close
    if bars == 0.0:
        state[base + RSI_BARS] = 1.0
        return math.nan
    gain = state[base + RSI_GAIN]
    loss = state[base + RSI_LOSS]
    smoothing = bars > n
    if smoothing:
        gain = product(gain, n - 1.0)
        loss = product(loss, n - 1.0)
    if change < 0.0:
        loss -= change
    else:
        gain += change
    if not smoothing:
        bars += 1.0
        state[base + RSI_BARS] = bars
    if bars > n:  # the n-th change or later: averages
        gain /= n
        loss /= n
    state[base + RSI_GAIN] = gain
    state[base + RSI_LOSS] = loss
    if bars <= n:
        return math.nan
    return _rsi_of(gain, loss)


@scalar
def true_range(high, low, previous_close):
    """max(high - low, abs(high - previous_close), abs(low - previous_close)) (TA-Lib TRANGE)."""
    greatest = high - low
    up = abs(high - previous_close)
    if up > greatest:
        greatest = up
    down = abs(low - previous_close)
    if down > greatest:
        greatest = down
    return greatest


@scalar
def atr_update(state, base, high, low, close, n):
    """atr(n) after this bar (TA-Lib ATR): true ranges from the second bar on; the first value, at bar n
    (counting from 0), is the mean of the first n true ranges; then atr = (atr * (n - 1) + tr) / n."""
    bars = state[base + ATR_BARS]
    previous = state[base + ATR_PREVIOUS_CLOSE]
    state[base + ATR_PREVIOUS_CLOSE] = close
    if bars == 0.0:
        state[base + ATR_BARS] = 1.0
        return math.nan
    tr = true_range(high, low, previous)
    if bars > n:
        value = (product(state[base + ATR_VALUE], n - 1.0) + tr) / n
        state[base + ATR_VALUE] = value
        return value
    total = state[base + ATR_VALUE] + tr
    bars += 1.0
    state[base + ATR_BARS] = bars
    if bars <= n:
        state[base + ATR_VALUE] = total
        return math.nan
    value = total / n
    state[base + ATR_VALUE] = value
    return value


@scalar
def bbands_update(state, base, ring, close, k):
    """bbands(n, k) after this bar's close, n = len(ring) (TA-Lib BBANDS with an SMA middle): the tuple (upper,
    middle, lower) = (middle + k * std, sma(n), middle - k * std), std the population deviation of the last n
    closes (mean first, then the squared deviations); NaNs before the n-th bar."""
    ring_push(state, base, ring, close)
    middle = ring_mean(state, base, ring)
    if math.isnan(middle):
        return math.nan, math.nan, math.nan
    width = product(ring_population_std(state, base, ring, middle), k)
    return middle + width, middle, middle - width


@scalar
def vwap_update(state, base, high, low, close, volume, new_session):
    """The session's vwap after this bar: sum((high + low + close) / 3 * volume) / sum(volume) over the
    session's bars so far, summed left to right; NaN while the session's volume is 0."""
    if new_session:
        state[base + VWAP_NUMERATOR] = 0.0
        state[base + VWAP_VOLUME] = 0.0
    numerator = state[base + VWAP_NUMERATOR] + product((high + low + close) / 3.0, float(volume))
    shares = state[base + VWAP_VOLUME] + volume
    state[base + VWAP_NUMERATOR] = numerator
    state[base + VWAP_VOLUME] = shares
    if shares > 0.0:
        return numerator / shares
    return math.nan


@scalar
def opening_range_update(state, base, high, low, minute, new_session, m):
    """The session's opening range (high, low) after this bar: the highest high and lowest low of the bars that
    start less than m minutes after the open (`minute` = this bar's start in minutes since the open); defined
    from the bar that starts m - 1 minutes after the open, or from the first bar after it when that bar is
    missing; NaNs before, and all session long when no bar starts inside the range."""
    if new_session:
        state[base + RANGE_BARS] = 0.0
    bars = state[base + RANGE_BARS]
    if minute < m:
        if bars == 0.0 or high > state[base + RANGE_HIGH]:
            state[base + RANGE_HIGH] = high
        if bars == 0.0 or low < state[base + RANGE_LOW]:
            state[base + RANGE_LOW] = low
        bars += 1.0
        state[base + RANGE_BARS] = bars
    if minute >= m - 1 and bars > 0.0:
        return state[base + RANGE_HIGH], state[base + RANGE_LOW]
    return math.nan, math.nan
