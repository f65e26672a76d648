"""`explain`: how many universe symbols are left after each filter of a scan, so that a scan that finds
nothing shows which bound removed them (docs/SCANNER.md "Explaining a scan").

The counts come from the engine itself (:func:`tapescan.scanner.engine.funnel_steps` evaluates the scan with
the first k filters for every k); this module only labels them.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tapescan import calendar
from tapescan.scanner.config import KEY_OF_METRIC, ConfigLike, FilterBounds, ScannerConfig, format_number
from tapescan.scanner.diagnostics import DiagnosticHandler
from tapescan.scanner.engine import funnel_steps
from tapescan.scanner.universe import Universe
from tapescan.store import Store

#: Columns of the funnel: the step (universe, in store, then each filter's config key), its bound in words,
#: how many symbols entering a filter had no value for it (undefined fails), and the symbols left after it.
FUNNEL_COLUMNS = ["step", "bound", "undefined", "left"]


def bound_text(metric: str, bounds: FilterBounds) -> str:
    """A filter as people read it: "1 <= change_pct <= 10", "avg_volume >= 1000000 (10 sessions)"."""
    low, high, days = bounds
    if low is not None and high is not None:
        text = f"{format_number(low)} <= {metric} <= {format_number(high)}"
    elif low is not None:
        text = f"{metric} >= {format_number(low)}"
    elif high is not None:
        text = f"{metric} <= {format_number(high)}"
    else:
        text = f"{metric} defined"
    return text + (f" ({days} sessions)" if days is not None else "")


def _universe_text(config: ScannerConfig) -> str:
    """The universe as the config builds it: "5 symbols + SP500 + NASDAQ100 - 2 excluded"."""
    parts = ([f"{len(config.symbols)} symbols"] if config.symbols else []) + list(config.symbols_group)
    asked = " + ".join(parts) or "every stored symbol"
    return asked + (f" - {len(config.exclude_symbols)} excluded" if config.exclude_symbols else "")


def _in_universe(universe: Universe, day: dt.date) -> int:
    """Universe symbols on `day`, held by the store or not."""
    return int(universe.mask(day).sum()) + len(universe.missing)


def explain(store: Store, config: ConfigLike, day: calendar.DateLike, time: dt.time | str, backend: str = "auto",
            on_diagnostic: DiagnosticHandler | None = None) -> pd.DataFrame:
    """The filter funnel of a scan at (`day`, `time`): one row per step (FUNNEL_COLUMNS), the universe, the
    symbols the store holds, then each filter in the config's order (ScannerConfig.filters()); the last row's
    `left` is the number of rows `scan` returns. `config` and `on_diagnostic` as for `scan`."""
    return scan_and_explain(store, config, day, time, backend, on_diagnostic)[1]


def scan_and_explain(store: Store, config: ConfigLike, day: calendar.DateLike, time: dt.time | str,
                     backend: str = "auto", on_diagnostic: DiagnosticHandler | None = None,
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`scan`'s hits and `explain`'s funnel from one read and evaluation of the session."""
    settings, universe, steps, hits = funnel_steps(store, config, day, time, backend, on_diagnostic)
    filters = settings.filters()
    rows = [("universe", _universe_text(settings), pd.NA, _in_universe(universe, calendar.to_date(day))),
            ("in store", "held by the store", pd.NA, steps[0].left)]
    rows += [(KEY_OF_METRIC[step.metric], bound_text(step.metric, filters[step.metric]), step.undefined, step.left)
             for step in steps[1:]]
    frame = pd.DataFrame(rows, columns=FUNNEL_COLUMNS)
    return hits, frame.astype({"step": "str", "bound": "str", "undefined": "Int64", "left": "int64"})
