"""A small synthetic market for scanner tests: written into a Store, handed back as long-form bars too.

Ten symbols from 2024-11-01 to 2024-12-06 (seed 11): SPY (the benchmark), AAPL, MSFT, AMZN, TSLA, NVDA, ABNB,
MMM, the listing symbol ZZIPO (first session 2024-11-19, an illiquid one with missing minutes) and the
delisting symbol ZZDLST (last session 2024-11-25). Ten is the smallest count for which tapescan.synth adds
those two special symbols (with eight, every symbol trades every minute of every session). The range holds
the Thanksgiving holiday (2024-11-28) and the early close of 2024-11-29 (13:00 ET).
"""

from __future__ import annotations

import datetime

import pandas as pd

from tapescan.store import Store
from tapescan.synth import write_synthetic_market

START = "2024-11-01"
END = "2024-12-06"
SEED = 11
N_SYMBOLS = 10


def scanner_market(store: Store, n_symbols: int = N_SYMBOLS) -> dict:
    """Write the scanner test market into `store`; return {"bars", "symbols", "sessions"}.

    bars: every stored regular-session bar, columns symbol, ts (ET), open, high, low, close, volume, sorted by
    (symbol, ts); symbols: the store's symbols, sorted; sessions: store.sessions() (datetime.date, oldest first).
    """
    write_synthetic_market(store, n_symbols, START, END, seed=SEED)
    symbols = sorted(store.symbols()["symbol"])
    frames = [store.read_bars(symbol, START, END).assign(symbol=symbol) for symbol in symbols]
    bars = pd.concat(frames, ignore_index=True)
    bars["ts"] = bars["ts"].dt.tz_convert("America/New_York")
    bars = bars[["symbol", "ts", "open", "high", "low", "close", "volume"]]
    sessions: list[datetime.date] = store.sessions()
    return {"bars": bars, "symbols": symbols, "sessions": sessions}
