"""A seeded, deterministic synthetic US stock market of 1-minute bars, for the demo, tests and benchmarks.

Universe (:func:`make_universe`)
    Index 0 is the benchmark ``SPY`` (beta 1, market factor only, very liquid, price 400-500). Then real
    tickers from the packaged index membership files: AAPL, MSFT, AMZN, TSLA, NVDA first, then current
    NASDAQ-100 and S&P 500 members interleaved so that both groups have members at any size; ``groups``
    names the current group(s) of each. After the ~520 real tickers come synthetic ``ZZ`` + 3 letters
    (``ZZAAA``, ``ZZAAB``, ..., skipping ``ZZIPO``; then ``QX`` + 3 letters): no real ticker starts with
    ZZ or QX.
    With at least 10 symbols and 4 sessions the last two symbols are special: ``ZZIPO`` lists at the
    middle session (no bars before its ``first_session``) and ``ZZDLST`` stops trading about two thirds
    in (no bars after its ``last_session``). Parameters are drawn from ``np.random.default_rng(seed)``,
    one row of draws per symbol, so ``make_universe(n)`` is a prefix of ``make_universe(n + k)`` apart
    from the two special symbols at the end.

Prices (:func:`generate_sessions`), a one-factor model
    Market minute log-returns are N(0, 1 %/sqrt(390)) and each session starts with a market overnight gap
    N(0, 0.5 %). A symbol's minute log-return is ``beta * market + idio`` with the idiosyncratic part
    scaled to its daily ``idio_vol``; its overnight gap is ``beta * market gap + N(0, idio_vol / 2)``
    plus a weak pull of 0.5 %/session toward the start price (log scale), so that multi-year runs keep
    the configured price spread. Prices carry over from each close to the next open. A bar opens at the
    previous minute's close, closes at ``open * exp(r)``, and its high/low stick out by ``exp(|N(0, s)|)``
    with ``s`` half the symbol's minute volatility; prices are rounded to cents (4 decimals below $1),
    floored at $0.0001 and then ``low <= min(open, close) <= max(open, close) <= high`` is enforced.

Volume and missing minutes
    Minute volume is ``daily_volume`` times a U-shaped intraday profile (busy open, quiet midday, rising
    into the close; it sums to 1 over a 390-minute day and is compressed onto shorter sessions, which
    therefore trade proportionally less) times a per-session and a per-bar lognormal factor, at least 1.
    A minute has a bar with probability ``presence`` (1.0 from 1M shares/day up, falling log-linearly to
    0.3 at 20k); a minute without a bar still moves the price, so the next bar opens with a gap. Volume of
    present bars is divided by ``presence`` so that ``daily_volume`` stays the mean shares per day.
    ``extended_hours=True`` adds sparse bars 04:00 to the open and the close to 20:00 (17:00 after an
    early close): presence 0.15 x the regular one, half the volatility, 4 % of the daily volume in all.

Determinism
    Session ``d`` draws from ``np.random.default_rng([seed, d.toordinal()])``; with the carried prices
    the same arguments give byte-identical tables.

Speed
    One full 10,000-symbol session (3.9 M minute slots, about 3.5 M bars after the presence drop-outs)
    takes about 0.47 s on the 2-core development machine (numpy 2.4, pyarrow 26), table construction
    included; the first session of a run about 0.9 s (setup, first-touch memory). With
    ``extended_hours=True`` about 1.0 s (9.6 M minute slots, 4.3 M bars). Peak memory is under 1 GB.
"""

from __future__ import annotations

import csv
import datetime
import functools
import importlib.resources
import itertools
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tapescan import calendar
from tapescan.calendar import NS_PER_MINUTE
from tapescan.store import Store, WriteReport
from tapescan.store.schema import INPUT_BARS

MAX_SYMBOLS = 20_000
BENCHMARK = "SPY"
ALWAYS_FIRST = ("AAPL", "MSFT", "AMZN", "TSLA", "NVDA")
LISTING_SYMBOL = "ZZIPO"
DELISTING_SYMBOL = "ZZDLST"
SYNTHETIC_PREFIXES = ("ZZ", "QX")

FULL_DAY_MINUTES = 390
MARKET_DAILY_VOL = 0.01
MARKET_GAP_VOL = 0.005
IDIO_GAP_SHARE = 0.5  # idiosyncratic overnight gap vol as a share of the daily idio vol
REVERSION_PER_SESSION = 0.005
WICK_SHARE = 0.5  # high/low wick scale as a share of the symbol's minute volatility
VOLUME_NOISE = 0.5  # lognormal sigma of per-bar volume
DAY_VOLUME_NOISE = 0.3  # lognormal sigma of the per-session volume level
EXTENDED_PRESENCE = 0.15
EXTENDED_VOL_SHARE = 0.5
EXTENDED_VOLUME_SHARE = 0.04
MIN_PRICE = 1e-4



@dataclass(frozen=True)
class SynthSymbol:
    """Static parameters of one synthetic symbol."""

    symbol: str
    beta: float
    idio_vol: float  # daily
    start_price: float
    daily_volume: float  # mean shares per day
    presence: float  # probability that a regular minute has a bar
    first_session: datetime.date | None  # listing inside the range; None = trades from the start
    last_session: datetime.date | None  # delisting inside the range; None = trades to the end
    groups: tuple[str, ...]  # current index groups of real tickers ("SP500", "NASDAQ100"); () if synthetic


# ---------------------------------------------------------------------------------------------- universe


def _read_membership(name: str) -> list[dict[str, str]]:
    path = importlib.resources.files("tapescan") / "data" / "index_membership" / name
    with path.open("r", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@functools.cache
def _real_tickers() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Current S&P 500 and NASDAQ-100 members with their groups, in universe order."""
    sp500 = [row["Symbol"] for row in _read_membership("sp500_current.csv")]
    ndx = [row["ticker"] for row in _read_membership("nasdaq100_changes.csv") if not row["removed_date"]]
    sp500_set, ndx_set = set(sp500), set(ndx)
    first = [t for t in ALWAYS_FIRST if t in sp500_set | ndx_set]
    ndx_rest = [t for t in ndx if t not in first]
    sp_rest = [t for t in sp500 if t not in first and t not in ndx_set]
    interleaved = [t for pair in itertools.zip_longest(ndx_rest, sp_rest) for t in pair if t is not None]
    return tuple(
        (t, tuple(g for g, members in (("SP500", sp500_set), ("NASDAQ100", ndx_set)) if t in members))
        for t in dict.fromkeys(first + interleaved)
    )


def _synthetic_names(count: int) -> list[str]:
    """``count`` synthetic tickers: ZZ + 3 letters, then QX + 3 letters, skipping the special names."""
    names = (
        prefix + "".join(letters)
        for prefix in SYNTHETIC_PREFIXES
        for letters in itertools.product(string.ascii_uppercase, repeat=3)
    )
    return list(itertools.islice((n for n in names if n != LISTING_SYMBOL), count))


def _draw_parameters(rng: np.random.Generator, real: np.ndarray) -> dict[str, np.ndarray]:
    """Per-symbol model parameters; ``real`` flags real tickers (plausible large caps)."""
    z = rng.standard_normal((len(real), 5))  # one row per symbol: prefix-stable across sizes
    beta = np.clip(np.exp(0.4 * z[:, 0]), 0.2, 2.5)
    idio_vol = np.clip(np.exp(np.where(real, np.log(0.018), np.log(0.028)) + 0.45 * z[:, 1]), 0.008, 0.06)
    log_price = np.where(real, np.log(120.0) + 0.9 * z[:, 2], np.log(25.0) + 1.6 * z[:, 2])
    start_price = np.round(np.clip(np.exp(log_price), 0.1, 5000.0), 2)
    log10_volume = np.where(real, 6.6 + 0.4 * z[:, 3], 6.1 + 0.8 * z[:, 3])
    daily_volume = np.round(np.clip(10**log10_volume, 2e4, 1.5e8))
    return {
        "beta": beta,
        "idio_vol": idio_vol,
        "start_price": start_price,
        "daily_volume": daily_volume,
        "presence": _presence(daily_volume),
        "spy_price": np.clip(450.0 * np.exp(0.05 * z[0, 4]), 400.0, 500.0),
    }


def _presence(daily_volume: np.ndarray) -> np.ndarray:
    """Share of regular minutes with a bar: 0.3 at 20k shares/day, rising log-linearly to 1.0 at 1M."""
    lo, hi = np.log10(2e4), np.log10(1e6)
    return np.round(np.clip(0.3 + 0.7 * (np.log10(daily_volume) - lo) / (hi - lo), 0.3, 1.0), 4)


def make_universe(n_symbols: int, start, end, seed: int = 0) -> list[SynthSymbol]:
    """The ``n_symbols`` symbols of the synthetic market over the sessions in [start, end]."""
    if n_symbols < 1 or n_symbols > MAX_SYMBOLS:
        raise ValueError(f"n_symbols must be between 1 and {MAX_SYMBOLS:,}, got {n_symbols}")
    dates = list(calendar.sessions(start, end)["date"])
    with_special = n_symbols >= 10 and len(dates) >= 4
    n_plain = n_symbols - 2 * with_special
    named = [(BENCHMARK, ())] + list(_real_tickers()[: n_plain - 1])
    named += [(name, ()) for name in _synthetic_names(n_plain - len(named))]
    spans: list[tuple[datetime.date | None, datetime.date | None]] = [(None, None)] * n_plain
    if with_special:
        named += [(LISTING_SYMBOL, ()), (DELISTING_SYMBOL, ())]
        spans += [(dates[len(dates) // 2], None), (None, dates[2 * len(dates) // 3])]

    real = np.array([i == 0 or bool(groups) for i, (_, groups) in enumerate(named)])
    p = _draw_parameters(np.random.default_rng(seed), real)
    p["beta"][0], p["idio_vol"][0], p["start_price"][0] = 1.0, 0.0, round(float(p["spy_price"]), 2)
    p["daily_volume"][0], p["presence"][0] = 6e7, 1.0
    return [
        SynthSymbol(
            symbol=name,
            beta=float(p["beta"][i]),
            idio_vol=float(p["idio_vol"][i]),
            start_price=float(p["start_price"][i]),
            daily_volume=float(p["daily_volume"][i]),
            presence=float(p["presence"][i]),
            first_session=spans[i][0],
            last_session=spans[i][1],
            groups=groups,
        )
        for i, (name, groups) in enumerate(named)
    ]


# ------------------------------------------------------------------------------------------------ bars


@dataclass(frozen=True)
class _Params:
    """The universe as arrays, sorted by symbol (the row order of every table)."""

    names: pa.Array
    beta: np.ndarray
    idio_minute: np.ndarray  # idiosyncratic vol per regular minute
    idio_gap: np.ndarray
    wick: np.ndarray  # high/low wick scale per regular minute
    log_start: np.ndarray
    day_volume: np.ndarray  # daily_volume / presence: shares per present bar-day
    presence: np.ndarray
    first_ord: np.ndarray  # first / last session as date ordinals (0 / max when open-ended)
    last_ord: np.ndarray

    @classmethod
    def of(cls, universe: list[SynthSymbol]) -> _Params:
        syms = sorted(universe, key=lambda s: s.symbol)

        def col(attr: str) -> np.ndarray:
            return np.array([getattr(s, attr) for s in syms], dtype=np.float64)

        beta, idio = col("beta"), col("idio_vol")
        minute_market = MARKET_DAILY_VOL / np.sqrt(FULL_DAY_MINUTES)
        idio_minute = idio / np.sqrt(FULL_DAY_MINUTES)
        return cls(
            names=pa.array([s.symbol for s in syms], type=pa.string()),
            beta=beta,
            idio_minute=idio_minute,
            idio_gap=IDIO_GAP_SHARE * idio,
            wick=WICK_SHARE * np.hypot(beta * minute_market, idio_minute),
            log_start=np.log(col("start_price")),
            day_volume=col("daily_volume") / col("presence"),
            presence=col("presence"),
            first_ord=np.array([s.first_session.toordinal() if s.first_session else 0 for s in syms]),
            last_ord=np.array([s.last_session.toordinal() if s.last_session else 1 << 40 for s in syms]),
        )


@dataclass(frozen=True)
class _Grid:
    """The minutes of one session and how each scales volatility, volume and presence."""

    ts: np.ndarray  # int64 ns (UTC epoch) of each bar start
    sigma: np.ndarray  # multiplier of the regular minute volatility
    volume: np.ndarray  # share of the daily volume
    presence: np.ndarray  # multiplier of the symbol's presence


def _u_profile(n_minutes: int) -> np.ndarray:
    """U-shaped intraday volume share per minute, compressed onto ``n_minutes``; sums to 1 at 390."""

    def shape(n: int) -> np.ndarray:
        x = (np.arange(n) + 0.5) / n
        return 0.5 + 2.0 * (2 * x - 1) ** 2 + 3.0 * np.exp(-x / 0.015) + 1.5 * np.exp((x - 1) / 0.015)

    return shape(n_minutes) / shape(FULL_DAY_MINUTES).sum()


def _minutes(start_ns: int, end_ns: int) -> np.ndarray:
    return np.arange(start_ns, end_ns, NS_PER_MINUTE, dtype=np.int64)


def _session_grid(
    date: datetime.date, open_ns: int, close_ns: int, early_close: bool, extended: bool
) -> _Grid:
    """The session's regular minutes, plus 04:00 to the open and the close to 20:00 (17:00) if extended."""
    regular = _minutes(open_ns, close_ns)
    if not extended:
        ones = np.ones(len(regular))
        return _Grid(regular, ones, _u_profile(len(regular)), ones)

    def at(hour: int) -> int:
        local = datetime.datetime.combine(date, datetime.time(hour), tzinfo=calendar.ET)
        return int(local.timestamp()) * 10**9

    pre, post = _minutes(at(4), open_ns), _minutes(close_ns, at(17 if early_close else 20))
    n_ext = len(pre) + len(post)

    def ext(value: float, regular_value: np.ndarray) -> np.ndarray:
        return np.concatenate([np.full(len(pre), value), regular_value, np.full(len(post), value)])

    return _Grid(
        ts=np.concatenate([pre, regular, post]),
        sigma=ext(EXTENDED_VOL_SHARE, np.ones(len(regular))),
        volume=ext(EXTENDED_VOLUME_SHARE / max(n_ext, 1), _u_profile(len(regular))),
        presence=ext(EXTENDED_PRESENCE, np.ones(len(regular))),
    )


def _round_price(p: np.ndarray) -> np.ndarray:
    """Round to cents at or above $1 and to 4 decimals below, never under $0.0001."""
    scale = np.where(p >= 1.0, 100.0, 10_000.0)
    out = np.rint(p * scale)
    out /= scale
    return np.maximum(out, MIN_PRICE, out=out)


def _log_price_path(par: _Params, grid: _Grid, log_prev: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Log prices [symbol x (minute + 1)]: column 0 is the session's first open, m + 1 minute m's close."""
    n_sym, n_min = len(log_prev), len(grid.ts)
    market = rng.standard_normal(n_min) * (MARKET_DAILY_VOL / np.sqrt(FULL_DAY_MINUTES)) * grid.sigma
    gap = (
        par.beta * (MARKET_GAP_VOL * rng.standard_normal())
        + par.idio_gap * rng.standard_normal(n_sym)
        - REVERSION_PER_SESSION * (log_prev - par.log_start)
    )
    steps = rng.standard_normal((n_sym, n_min))
    steps *= par.idio_minute[:, None]
    steps *= grid.sigma
    steps += np.outer(par.beta, market)
    path = np.empty((n_sym, n_min + 1))
    path[:, 0] = log_prev + gap
    path[:, 1:] = steps
    return np.cumsum(path, axis=1, out=path)


def _unit_lognormal(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    """Lognormal factors with mean 1."""
    return np.exp(sigma * rng.standard_normal(size) - sigma**2 / 2)


def _wicks(rng: np.random.Generator, scale: np.ndarray) -> np.ndarray:
    """Factors ``exp(|N(0, scale)|)`` by which a bar's high (low) sticks out of its body."""
    return np.exp(np.abs(rng.standard_normal(len(scale))) * scale)


def _session_table(
    par: _Params, grid: _Grid, path: np.ndarray, active: np.ndarray, rng: np.random.Generator
) -> pa.Table:
    """Bars of one session from its log price path: drop absent minutes, add wicks, volume, round."""
    n_sym, n_min = path.shape[0], path.shape[1] - 1
    present = rng.random((n_sym, n_min)) < np.outer(par.presence, grid.presence)
    present[~active] = False
    rows, cols = np.nonzero(present)

    prices = _round_price(np.exp(path))
    opens, closes = prices[rows, cols], prices[rows, cols + 1]
    wick_scale = par.wick[rows] * grid.sigma[cols]
    body_top, body_bottom = np.maximum(opens, closes), np.minimum(opens, closes)
    highs = np.maximum(_round_price(body_top * _wicks(rng, wick_scale)), body_top)
    lows = np.minimum(_round_price(body_bottom / _wicks(rng, wick_scale)), body_bottom)

    day_level = par.day_volume * _unit_lognormal(rng, DAY_VOLUME_NOISE, n_sym)
    per_bar = (grid.volume / grid.presence)[cols]
    shares = day_level[rows] * per_bar * _unit_lognormal(rng, VOLUME_NOISE, len(rows))
    volume = np.maximum(np.rint(shares), 1).astype(np.int64)

    return pa.Table.from_arrays(
        [
            pc.take(par.names, pa.array(rows.astype(np.int32))),
            pa.array(grid.ts[cols], type=INPUT_BARS.field("ts").type),
            pa.array(opens),
            pa.array(highs),
            pa.array(lows),
            pa.array(closes),
            pa.array(volume),
        ],
        schema=INPUT_BARS,
    )


def generate_sessions(
    universe: list[SynthSymbol], start, end, seed: int = 0, extended_hours: bool = False
) -> Iterator[tuple[datetime.date, pa.Table]]:
    """Yield ``(date, bars)`` for each NYSE session in [start, end], in date order.

    Rows are sorted by (symbol, ts); ``ts`` is the bar start in America/New_York. Prices carry over
    from one session's close to the next session's open.
    """
    par = _Params.of(universe)
    log_price = par.log_start.copy()
    for row in calendar.sessions(start, end).itertuples(index=False):
        date: datetime.date = row.date
        ordinal = date.toordinal()
        rng = np.random.default_rng([seed, ordinal])
        log_price = np.where(par.first_ord == ordinal, par.log_start, log_price)  # listing day: start afresh
        grid = _session_grid(date, row.open.value, row.close.value, bool(row.early_close), extended_hours)
        path = _log_price_path(par, grid, log_price, rng)
        active = (par.first_ord <= ordinal) & (ordinal <= par.last_ord)
        table = _session_table(par, grid, path, active, rng)
        log_price = path[:, -1].copy()
        yield date, table


def synthesize(
    n_symbols: int, start, end, seed: int = 0, extended_hours: bool = False
) -> Iterator[tuple[datetime.date, pa.Table]]:
    """:func:`make_universe` then :func:`generate_sessions` with the same arguments."""
    return generate_sessions(make_universe(n_symbols, start, end, seed), start, end, seed, extended_hours)


def write_synthetic_market(
    store: Store,
    n_symbols: int,
    start,
    end,
    seed: int = 0,
    extended_hours: bool = False,
    on_session: Callable[[datetime.date, pa.Table], None] | None = None,
) -> WriteReport:
    """Generate the market session by session into `store` (one commit per session, so memory stays flat).

    Writing the same market again is a no-op; `on_session(date, bars)` is called after each session.
    """
    total = WriteReport()
    for date, bars in synthesize(n_symbols, start, end, seed, extended_hours):
        report = store.write_bars(bars, adjustment="unadjusted", source=f"synthetic (seed {seed})")
        total.sessions_written += report.sessions_written
        total.bars_written += report.bars_written
        total.bars_unchanged += report.bars_unchanged
        total.symbols_added += report.symbols_added
        if on_session is not None:
            on_session(date, bars)
    return total
