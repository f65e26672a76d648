"""The embedded demo: a small synthetic market built once into a cache folder, what it holds, and the
client's scanner config run over it.

The range (September to December 2024) has holidays (Labor Day is just before it; Thanksgiving and
Christmas inside) and two early closes (November 29 and December 24), so the demo shows the calendar at
work. The market is rebuilt only when the folder does not hold it completely.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml

from tapescan import calendar
from tapescan.backtest.config import StrategyConfig, as_strategy_config
from tapescan.fsio import write_bytes_atomic
from tapescan.scanner import ScannerConfig
from tapescan.store import Store
from tapescan.synth import write_synthetic_market

DEMO_SYMBOLS = 300
DEMO_START = "2024-09-03"
DEMO_END = "2024-12-31"
DEMO_SEED = 7


def default_demo_dir() -> Path:
    """`$XDG_CACHE_HOME/tapescan/demo` (or ~/.cache/tapescan/demo)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "tapescan" / "demo"


def build_demo_market(path: Path, on_session: Callable[[dt.date, pa.Table], None] | None = None) -> bool:
    """Make sure `path` holds the demo market; returns True if it had to be (re)built."""
    store = Store.create(path)
    wanted = calendar.sessions(DEMO_START, DEMO_END)["date"].tolist()
    if store.sessions() == wanted and len(store.symbols()) == DEMO_SYMBOLS:
        return False
    write_synthetic_market(store, DEMO_SYMBOLS, DEMO_START, DEMO_END, seed=DEMO_SEED, on_session=on_session)
    return True


@dataclass(frozen=True)
class StoreSummary:
    """What a store holds, for people."""

    sessions: list[dt.date]
    symbols: int
    bars: int
    disk_bytes: int


def summarize(store: Store) -> StoreSummary:
    """Sessions, symbol and bar counts, and bytes on disk of `store`."""
    table = store.symbols()
    disk = sum(p.stat().st_size for p in store.path.rglob("*") if p.is_file())
    return StoreSummary(store.sessions(), len(table), int(table["bars"].sum()), disk)


def calendar_facts(first: dt.date, last: dt.date) -> pd.DataFrame:
    """Holidays and early closes between `first` and `last`: date, event."""
    sessions = calendar.sessions(first, last)
    early = sessions[sessions["early_close"]]
    rows = [(d, f"early close at {c:%H:%M} ET") for d, c in zip(early["date"], early["close"])]
    holidays = calendar.holidays(first, last)
    rows += [(d, f"holiday: {name}") for d, name in zip(holidays["date"], holidays["name"])]
    return pd.DataFrame(sorted(rows), columns=["date", "event"])


def most_active(store: Store, day: dt.date, count: int = 10) -> pd.DataFrame:
    """The `count` symbols with the highest volume on `day`, with their daily values."""
    daily = store.read_daily(day, day)
    return daily.nlargest(count, "volume")[["symbol", "open", "high", "low", "close", "volume", "vwap", "bars"]]


# The client's market_scanner_config asks for a correlation between 1 and 10: a correlation never exceeds 1,
# so only perfectly correlated symbols could pass and the scan would find nothing on any market. The demo
# keeps every other bound as the client wrote it and reads the correlation block as "at least 0.3" (a max of
# 1 would be no bound, and the scanner would say so on every run of the saved config).
DEMO_ADJUSTMENTS = {"correlation": {"min": 0.3, "days": 10}}
DEMO_SCAN_TIME = dt.time(11, 0)
DEMO_SWEEP_SESSIONS = 21


def client_config_document() -> dict:
    """The client's market_scanner_config exactly as written in their notes (packaged with tapescan)."""
    resource = importlib.resources.files("tapescan") / "data" / "examples" / "client_market_scanner_config.json"
    return json.loads(resource.read_text(encoding="utf-8"))


def demo_scanner_document() -> tuple[dict, list[str]]:
    """The client's market_scanner_config object with the demo's adjustments, and what was changed, in words."""
    document = client_config_document()["market_scanner_config"]
    notes = []
    for key, block in DEMO_ADJUSTMENTS.items():
        notes.append(f"{key}: the client's {document[key]} becomes {block}")
        document = {**document, key: block}
    return document, notes


def demo_config(folder: Path) -> tuple[ScannerConfig, Path, list[str]]:
    """The client's config with the demo's adjustments, saved as `folder`/demo_scanner_config.json for the
    user to run and edit, and what was changed, in words."""
    document, notes = demo_scanner_document()
    path = folder / "demo_scanner_config.json"
    write_bytes_atomic(path, json.dumps({"market_scanner_config": document}, indent=2).encode() + b"\n")
    return ScannerConfig.model_validate(document), path, notes


# The demo's backtest of the client's scanner: enter each symbol at its first hit of a session, $10,000 a
# position, out at a 2% stop loss, a 4% take profit or the close; a cent of slippage per $50 and $1 per order.
DEMO_STRATEGY = {
    "direction": "long",
    "execution": {"fill": "next_open", "slippage_pct": 0.02, "fee_pct": 0.0, "fee_per_order": 1.0},
    "size": {"value": 10_000},
    "account": {"mode": "per_symbol", "init_cash": 100_000},
    "stops": {"stop_loss_pct": 2.0, "take_profit_pct": 4.0},
    "session": {"entry_start": "09:30", "entry_end": "15:00", "flat_at_close": True},
}


def demo_strategy(folder: Path) -> tuple[StrategyConfig, Path]:
    """The demo's strategy file (strategy: scanner with the demo's scanner config), saved as
    `folder`/demo_strategy.yaml for the user to run and edit."""
    scanner, _ = demo_scanner_document()
    document = {"strategy": "scanner", "scanner": scanner, **DEMO_STRATEGY}
    path = folder / "demo_strategy.yaml"
    header = "# tapescan demo: the client's scanner, traded (docs/spec/backtest.md \"Strategy file\")\n"
    write_bytes_atomic(path, (header + yaml.safe_dump(document, sort_keys=False)).encode())
    return as_strategy_config(document), path
