"""What a backtest gives back (docs/spec/backtest.md "Outputs"): trades, orders, equity per session, the
statistics of the portfolio and of each symbol's account, and ways to write them or a report."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from tapescan.errors import TapescanError
from tapescan.frames import write_frame_atomic
from tapescan.fsio import write_bytes_atomic

FORMATS = ("csv", "parquet")


def _json_number(value: float) -> float | None:
    """NaN (undefined) as null; whole counts as integers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


@dataclass(frozen=True)
class BacktestResult:
    """The outputs of one backtest. `stats`: the portfolio's statistics (NaN: undefined); `symbol_stats`: the same
    per symbol (`per_symbol` accounts; empty for `shared`); `config`: the StrategyConfig that ran."""

    trades: pd.DataFrame
    orders: pd.DataFrame
    equity: pd.DataFrame
    stats: dict[str, float]
    symbol_stats: pd.DataFrame
    config: Any

    def stats_document(self) -> dict[str, Any]:
        """stats.json's content: the portfolio's statistics and, per symbol, its own."""
        symbols = {symbol: {name: _json_number(value) for name, value in row.items()}
                   for symbol, row in self.symbol_stats.iterrows()}
        return {"portfolio": {name: _json_number(value) for name, value in self.stats.items()}, "symbols": symbols}

    def write(self, directory: Path | str, format: Literal["csv", "parquet"] = "csv") -> list[Path]:
        """Write trades, orders and equity (csv or parquet) and stats.json into `directory`; each file atomically."""
        if format not in FORMATS:
            raise TapescanError(f"unknown output format {format!r}; use one of {', '.join(FORMATS)}.")
        folder = Path(directory)
        written = []
        for name in ("trades", "orders", "equity"):
            path = folder / f"{name}.{format}"
            write_frame_atomic(getattr(self, name), path)
            written.append(path)
        stats = folder / "stats.json"
        write_bytes_atomic(stats, (json.dumps(self.stats_document(), indent=1) + "\n").encode())
        return [*written, stats]

    def report(self, path: Path | str) -> Path:
        """Write the self-contained HTML report (needs the `report` extra: plotly)."""
        from tapescan.backtest.report import write_report

        return write_report(self, path)
