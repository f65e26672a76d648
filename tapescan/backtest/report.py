"""The backtest's HTML report: one self-contained file a quant opens in any browser, with no network.

Charts are plotly's: interactive zoom over years of daily equity and hover on every bar and point, which a
static matplotlib image cannot give, and plotly.js inlines into the page, so the file opens offline. The
library is inlined once per file and every figure is a JSON spec in a `<script type="application/json">`
with `<`, `>` and `&` escaped, drawn by one small script at the end of the page. Every text that comes
from the run (symbols, strategy names, settings, reasons) is HTML-escaped in tables and in chart labels.

Sections: the strategy and its settings, the statistics (portfolio and per symbol), equity with drawdown
beneath, monthly returns, the distribution of trade returns, exit reasons, per-symbol pnl, the trade list
(the first TRADE_ROWS_SHOWN trades; the page says when it cut) and rejected orders by reason. plotly is an
optional extra (`tapescan[report]`), imported only when a report is written.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd

from tapescan.errors import TapescanError
from tapescan.fsio import atomic_path

TRADE_ROWS_SHOWN = 2_000  # rows of the trade list in the page; the full list is in result.write()'s trades file
SYMBOL_ROWS_SHOWN = 2_000  # rows of the per-symbol table
SYMBOLS_CHARTED = 20  # best and worst symbols by pnl in the per-symbol chart when there are more than twice this
RETURN_BINS = 40  # bins of the trade-return histogram
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
YEAR_COLUMN = "Year"
SHORT_RUN = pd.Timedelta(days=14)  # a run of fewer calendar days gets SHORT_RUN_PAD either side on the date axis
SHORT_RUN_PAD = pd.Timedelta(days=3)
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop", "time", "close", "end")  # spec order

TRADE_COLUMNS = ("symbol", "direction", "entry_bar", "entry_price", "exit_bar", "exit_price", "shares",
                 "entry_fee", "exit_fee", "pnl", "return_pct", "exit_reason")
ORDER_COLUMNS = ("symbol", "bar", "side", "shares", "price", "fee", "status", "reason")
EQUITY_COLUMNS = ("date", "equity", "cash", "return_pct", "drawdown_pct")

GAIN_COLOUR = "#1a9850"
LOSS_COLOUR = "#d73027"
LINE_COLOUR = "#2c5d8f"
MISSING = "\u2014"  # an undefined statistic (NaN): the spec's "undefined"
INSTALL_HINT = "pip install 'tapescan[report]'"


class ReportError(TapescanError):
    """The report cannot be written: plotly is missing, or the result lacks a table or column it needs."""


class BacktestResultLike(Protocol):
    """What the report reads of a BacktestResult (the shared contract's attributes)."""

    trades: pd.DataFrame
    orders: pd.DataFrame
    equity: pd.DataFrame
    stats: Mapping[str, float]
    symbol_stats: pd.DataFrame
    config: Any


class StatFormat(NamedTuple):
    """How one statistic is labelled and printed."""

    label: str
    format: Callable[[float], str]


def _number(digits: int, suffix: str = "") -> Callable[[float], str]:
    """A formatter with thousands separators and `digits` decimals; NaN and None print as MISSING."""
    def format_value(value: float) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return MISSING
        text = f"{float(value):,.{digits}f}"
        if text.startswith("-") and not text.strip("-0.,"):  # a tiny negative rounds to zero: no "-0.00"
            text = text[1:]
        return text + suffix
    return format_value


PERCENT = _number(2, "%")
RATIO = _number(2)
MONEY = _number(2)
PRICE = _number(4)
COUNT = _number(0)

STATS = {
    "total_return_pct": StatFormat("Total return", PERCENT),
    "cagr_pct": StatFormat("CAGR", PERCENT),
    "sharpe": StatFormat("Sharpe", RATIO),
    "sortino": StatFormat("Sortino", RATIO),
    "max_drawdown_pct": StatFormat("Max drawdown", PERCENT),
    "calmar": StatFormat("Calmar", RATIO),
    "trades": StatFormat("Trades", COUNT),
    "win_rate_pct": StatFormat("Win rate", PERCENT),
    "profit_factor": StatFormat("Profit factor", RATIO),
    "expectancy": StatFormat("Expectancy (per trade)", MONEY),
    "exposure_pct": StatFormat("Exposure", PERCENT),
}

TRADE_FORMATS: dict[str, Callable[[Any], str]] = {
    "entry_price": PRICE, "exit_price": PRICE, "shares": COUNT, "entry_fee": MONEY, "exit_fee": MONEY,
    "pnl": MONEY, "return_pct": PERCENT,
}
SIGNED_COLUMNS = frozenset({"pnl", "return_pct", "total_return_pct", "expectancy"})
TEXT_COLUMNS = frozenset({"symbol", "direction", "exit_reason"})
STAMP_COLUMNS = ("entry_bar", "exit_bar")


# ---------------------------------------------------------------------------------------------------- entry


def write_report(result: BacktestResultLike, path: Path | str) -> Path:
    """Write `result` as one self-contained HTML file at `path` (atomically: a reader sees the old file or the
    whole new one; the mode is 0666 less the umask) and return the path."""
    plotly = _plotly()
    page = render_report(result, plotly)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def _plotly() -> ModuleType:
    """plotly, imported here so that tapescan works without the report extra."""
    try:
        import plotly
        import plotly.graph_objects  # noqa: F401  (loaded for the figures)
        import plotly.offline  # noqa: F401  (get_plotlyjs)
        import plotly.subplots  # noqa: F401  (make_subplots)
    except ImportError as error:
        raise ReportError(f"the HTML report needs plotly, which is not installed ({error}); install the report "
                          f"extra: {INSTALL_HINT}") from error
    return plotly


def render_report(result: BacktestResultLike, plotly: ModuleType) -> str:
    """The whole report page as a string."""
    trades = _table(result, "trades", TRADE_COLUMNS)
    orders = _table(result, "orders", ORDER_COLUMNS)
    equity = _table(result, "equity", EQUITY_COLUMNS)
    settings = _settings(getattr(result, "config", None))
    charts = Charts(plotly)
    sections = [
        ("strategy", "Strategy", _strategy_section(settings, equity, trades, orders)),
        ("statistics", "Statistics", _statistics_section(result.stats, _symbol_stats(result), trades)),
        ("equity", "Equity and drawdown", charts.equity(equity)),
        ("monthly-returns", "Monthly returns (%)", charts.monthly_returns(equity)),
        ("trade-returns", "Distribution of trade returns", charts.trade_returns(trades)),
        ("exit-reasons", "Exit reasons", charts.exit_reasons(trades)),
        ("symbol-pnl", "Per-symbol pnl", charts.symbol_pnl(trades)),
        ("trades", "Trades", _trades_section(trades)),
        ("rejected-orders", "Rejected orders", _rejections_section(orders)),
    ]
    title = f"Backtest: {settings.get('strategy', 'signals')}"
    return _page(title, sections, plotly.offline.get_plotlyjs())


# ---------------------------------------------------------------------------------------------------- inputs


def _table(result: BacktestResultLike, name: str, columns: Sequence[str]) -> pd.DataFrame:
    """result.<name> as a DataFrame holding `columns`, or a ReportError naming what is missing."""
    frame = getattr(result, name, None)
    if not isinstance(frame, pd.DataFrame):
        raise ReportError(f"the backtest result has no {name} table (result.{name} is {type(frame).__name__}); "
                          "pass the BacktestResult that tapescan.backtest() or tapescan.simulate() returned")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ReportError(f"result.{name} lacks the column(s) {', '.join(missing)}; the report needs "
                          f"{', '.join(columns)} (docs/spec/backtest.md, Outputs)")
    return frame


def _symbol_stats(result: BacktestResultLike) -> pd.DataFrame:
    """Per-symbol statistics (empty for shared accounts or when the result has none)."""
    frame = getattr(result, "symbol_stats", None)
    return frame if isinstance(frame, pd.DataFrame) else pd.DataFrame()


def _settings(config: Any) -> dict[str, Any]:
    """The strategy's settings as a plain nested dict (a pydantic model, dataclass or mapping), {} for None."""
    if config is None:
        return {}
    if hasattr(config, "model_dump"):
        return dict(config.model_dump(mode="json"))
    if is_dataclass(config) and not isinstance(config, type):
        return asdict(config)
    if isinstance(config, Mapping):
        return dict(config)
    return {"strategy": str(config)}


def _flatten(settings: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """("section.key", value) pairs of a nested settings dict, in its order, without the unset ones (null,
    empty lists and objects: a stop of null is no stop, an empty symbol list the whole store)."""
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}.")
        elif value is not None and value != [] and value != ():
            yield name, value


def _initial_value(equity: pd.DataFrame) -> float:
    """E_0, the portfolio's value before the first session: E_1 / (1 + r_1)."""
    if equity.empty:
        return math.nan
    first = equity.iloc[0]
    return float(first["equity"]) / (1.0 + float(first["return_pct"]) / 100.0)


def _dates(values: pd.Series) -> pd.Series:
    """Session dates (datetime.date or strings) as datetime64, for grouping and date axes."""
    return pd.to_datetime(pd.Series(values, dtype=object).astype(str))


def _stamp(value: Any) -> str:
    """A bar's start as 'YYYY-MM-DD HH:MM' in its own (ET) zone; '' for a missing one."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------------- html


def _e(value: Any) -> str:
    """Text for HTML, escaped (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _html_table(header: Sequence[str], rows: Iterable[Sequence[str]], signed: Sequence[bool] = (),
                text: Sequence[bool] = (), classes: str = "") -> str:
    """A sortable table; cells are already formatted and escaped; `signed[i]` colours column i by its sign,
    `text[i]` aligns it left (numbers align right)."""
    def flag(flags: Sequence[bool], i: int) -> bool:
        return i < len(flags) and flags[i]

    head = "".join(_cell("th", _e(name), "t" if flag(text, i) else "") for i, name in enumerate(header))
    body = "".join(
        "<tr>" + "".join(_cell("td", cell, "t" if flag(text, i) else _sign_class(cell) if flag(signed, i) else "")
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return (f'<div class="scroll"><table class="data {classes}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _cell(tag: str, content: str, css_class: str) -> str:
    return f'<{tag} class="{css_class}">{content}</{tag}>' if css_class else f"<{tag}>{content}</{tag}>"


def _sign_class(cell: str) -> str:
    """'pos' or 'neg' for a formatted number above or below zero, '' otherwise."""
    try:
        value = float(cell.replace(",", "").rstrip("%"))
    except ValueError:
        return ""
    return "pos" if value > 0 else "neg" if value < 0 else ""


def _key_values(pairs: Iterable[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{_e(key)}</th><td>{value}</td></tr>" for key, value in pairs)
    return f'<table class="kv">{rows}</table>'


def _setting_text(value: Any) -> str:
    """A setting's value as it reads in a strategy file (null, true, lists as JSON)."""
    if value is None or isinstance(value, (bool, list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def _strategy_section(settings: Mapping[str, Any], equity: pd.DataFrame, trades: pd.DataFrame,
                      orders: pd.DataFrame) -> str:
    """The run at a glance (period, sessions, values, counts) and every setting of the strategy."""
    dates = _dates(equity["date"]) if not equity.empty else pd.Series(dtype="datetime64[ns]")
    period = f"{dates.iloc[0]:%Y-%m-%d} to {dates.iloc[-1]:%Y-%m-%d}" if len(dates) else MISSING
    filled = int((orders["status"] == "filled").sum())
    overview = _key_values([
        ("Period", _e(period)),
        ("Sessions", COUNT(len(equity))),
        ("Initial value", MONEY(_initial_value(equity))),
        ("Final equity", MONEY(float(equity["equity"].iloc[-1]) if len(equity) else math.nan)),
        ("Symbols traded", COUNT(trades["symbol"].nunique())),
        ("Orders", _e(f"{filled:,} filled, {len(orders) - filled:,} rejected")),
    ])
    if settings:
        config = (_key_values((name, _e(_setting_text(value))) for name, value in _flatten(settings))
                  + _note("Settings left unset (null or empty) are not shown."))
    else:
        config = _note("Signals given to tapescan.simulate(); no strategy file.")
    return f'<div class="columns"><div>{overview}</div><div>{config}</div></div>'


def _stat_rows(stats: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, formatted value) of the spec's statistics in the spec's order, then any others."""
    rows = [(fmt.label, fmt.format(_float(stats.get(key)))) for key, fmt in STATS.items() if key in stats]
    rows += [(key, RATIO(_float(value))) for key, value in stats.items() if key not in STATS]
    return rows


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _statistics_section(stats: Mapping[str, Any], symbol_stats: pd.DataFrame, trades: pd.DataFrame) -> str:
    """The portfolio's statistics, then one row per symbol (its own account's, or its trades' in shared mode)."""
    portfolio = _key_values(_stat_rows(stats or {}))
    if not symbol_stats.empty:
        per_symbol = _symbol_stats_table(symbol_stats)
    elif not trades.empty:
        per_symbol = _symbol_trades_table(trades)
    else:
        per_symbol = _note("No per-symbol results: no trades.")
    return f'<h3>Portfolio</h3>{portfolio}<h3>Per symbol</h3>{per_symbol}'


def _cut_note(shown: int, total: int, what: str, where: str) -> str:
    if total <= shown:
        return ""
    return _note(f"Showing the first {shown:,} of {total:,} {what}; {where}")


def _symbol_stats_table(symbol_stats: pd.DataFrame) -> str:
    """Each symbol's account statistics (per_symbol mode)."""
    columns = [c for c in symbol_stats.columns]
    header = ["symbol"] + [STATS[c].label if c in STATS else c for c in columns]
    formats = [STATS[c].format if c in STATS else RATIO for c in columns]
    shown = symbol_stats.head(SYMBOL_ROWS_SHOWN)
    rows = ([_e(symbol)] + [fmt(_float(value)) for fmt, value in zip(formats, values)]
            for symbol, values in zip(shown.index, shown.itertuples(index=False, name=None)))
    signed = [False] + [c in SIGNED_COLUMNS for c in columns]
    return (_cut_note(SYMBOL_ROWS_SHOWN, len(symbol_stats), "symbols", "result.symbol_stats holds them all.")
            + _html_table(header, rows, signed, text=[True]))


def _symbol_trades_table(trades: pd.DataFrame) -> str:
    """Each symbol's trades summed (shared mode, where symbols have no account of their own)."""
    summary = _per_symbol(trades).head(SYMBOL_ROWS_SHOWN)
    rows = ([_e(symbol), COUNT(row.trades), MONEY(row.pnl), PERCENT(row.win_rate_pct), PERCENT(row.mean_return)]
            for symbol, row in summary.iterrows())
    header = ["symbol", "Trades", "Pnl", "Win rate", "Mean trade return"]
    return (_cut_note(SYMBOL_ROWS_SHOWN, trades["symbol"].nunique(), "symbols", "sorted by pnl.")
            + _html_table(header, rows, [False, False, True, False, True], text=[True]))


def _per_symbol(trades: pd.DataFrame) -> pd.DataFrame:
    """trades, pnl, win_rate_pct and mean_return per symbol, by pnl descending."""
    grouped = trades.groupby("symbol", sort=True)
    summary = pd.DataFrame({
        "trades": grouped.size(),
        "pnl": grouped["pnl"].sum(),
        "win_rate_pct": grouped["pnl"].apply(lambda pnl: 100.0 * float((pnl > 0).mean())),
        "mean_return": grouped["return_pct"].mean(),
    })
    return summary.sort_values("pnl", ascending=False, kind="stable")


def _trades_section(trades: pd.DataFrame) -> str:
    """The trade list, in the result's order (entry bar, symbol), cut at TRADE_ROWS_SHOWN rows."""
    if trades.empty:
        return _note("No trades.")
    shown = trades.loc[:, list(TRADE_COLUMNS)].head(TRADE_ROWS_SHOWN)
    formats = [TRADE_FORMATS.get(c, _e) for c in TRADE_COLUMNS]
    for column in STAMP_COLUMNS:
        formats[TRADE_COLUMNS.index(column)] = _stamp
    rows = ([fmt(value) for fmt, value in zip(formats, values)]
            for values in shown.itertuples(index=False, name=None))
    signed = [c in SIGNED_COLUMNS for c in TRADE_COLUMNS]
    text = [c in TEXT_COLUMNS for c in TRADE_COLUMNS]
    header = [f"{c} (ET)" if c in STAMP_COLUMNS else c for c in TRADE_COLUMNS]
    cut = _cut_note(TRADE_ROWS_SHOWN, len(trades), "trades",
                    "the full list is in the trades file that result.write() or --output writes.")
    return cut + _html_table(header, rows, signed, text, classes="trades")


def _rejections_section(orders: pd.DataFrame) -> str:
    """Rejected orders counted by reason, with the symbols and bars they span."""
    rejected = orders[orders["status"] == "rejected"]
    if rejected.empty:
        return _note("No order was rejected.")
    grouped = rejected.groupby("reason", sort=True)
    summary = pd.DataFrame({"orders": grouped.size(), "symbols": grouped["symbol"].nunique(),
                            "first": grouped["bar"].min(), "last": grouped["bar"].max()})
    summary = summary.sort_values("orders", ascending=False, kind="stable")
    rows = ([_e(reason), COUNT(row.orders), COUNT(row.symbols), _stamp(row["first"]), _stamp(row["last"])]
            for reason, row in summary.iterrows())
    return _html_table(["reason", "orders", "symbols", "first bar (ET)", "last bar (ET)"], rows, text=[True])


# ---------------------------------------------------------------------------------------------------- charts


class Charts:
    """The report's plotly figures, each as a chart `<div>` that holds its escaped JSON spec and that the page's
    script draws the figure into."""

    def __init__(self, plotly: ModuleType) -> None:
        self.go = plotly.graph_objects
        self.subplots = plotly.subplots
        self.io = plotly.io
        self.count = 0

    def _embed(self, figure: Any) -> str:
        """A div and its figure spec; the page's script draws it. JSON with <, > and & escaped cannot end the
        script element or open a tag, whatever the run's text holds."""
        self.count += 1
        chart_id = f"chart-{self.count}"
        figure.update_layout(template="plotly_white", margin={"l": 60, "r": 30, "t": 40, "b": 40},
                             font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"})
        spec = self.io.to_json(figure, validate=False, engine="json")
        spec = spec.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return (f'<div class="chart" id="{chart_id}"></div>'
                f'<script type="application/json" data-chart="{chart_id}">{spec}</script>')

    def equity(self, equity: pd.DataFrame) -> str:
        """Daily equity (E_0 first) over the drawdown from the running peak, on one zoomable time axis."""
        if equity.empty:
            return _note("No sessions.")
        dates = _dates(equity["date"])
        figure = self.subplots.make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                                             row_heights=[0.7, 0.3])
        figure.add_trace(self.go.Scatter(x=dates, y=equity["equity"], name="equity", mode="lines+markers"
                                         if len(equity) < 3 else "lines", line={"color": LINE_COLOUR},
                                         hovertemplate="%{x|%Y-%m-%d}<br>equity %{y:,.2f}<extra></extra>"),
                         row=1, col=1)
        figure.add_trace(self.go.Scatter(x=dates, y=-equity["drawdown_pct"].astype(float), name="drawdown",
                                         fill="tozeroy", mode="lines", line={"color": LOSS_COLOUR},
                                         hovertemplate="%{x|%Y-%m-%d}<br>drawdown %{y:.2f}%<extra></extra>"),
                         row=2, col=1)
        figure.update_yaxes(title_text="equity", tickformat=",.0f", row=1, col=1)
        deepest = max(float(np.nanmax(equity["drawdown_pct"].to_numpy(dtype=float), initial=0.0)), 1.0)
        figure.update_yaxes(title_text="drawdown %", range=[-1.05 * deepest, 0.0], row=2, col=1)
        figure.update_xaxes(rangeselector={"buttons": [
            {"count": 1, "label": "1m", "step": "month", "stepmode": "backward"},
            {"count": 6, "label": "6m", "step": "month", "stepmode": "backward"},
            {"count": 1, "label": "YTD", "step": "year", "stepmode": "todate"},
            {"count": 1, "label": "1y", "step": "year", "stepmode": "backward"},
            {"step": "all", "label": "all"}]}, row=1, col=1)
        # a few sessions or a flat line: plotly would tick hours (or milliseconds) and repeat one value
        if dates.iloc[-1] - dates.iloc[0] < SHORT_RUN:
            figure.update_xaxes(range=[dates.iloc[0] - SHORT_RUN_PAD, dates.iloc[-1] + SHORT_RUN_PAD])
        values = equity["equity"].to_numpy(dtype=float)
        if np.ptp(values) <= 1e-9 * abs(values[0]):
            figure.update_yaxes(range=[values[0] * 0.99, values[0] * 1.01], row=1, col=1)
        figure.update_layout(height=520, showlegend=False, hovermode="x unified")
        return self._embed(figure)

    def monthly_returns(self, equity: pd.DataFrame) -> str:
        """Compounded daily returns per calendar month (and year) as a year x month heatmap."""
        if equity.empty:
            return _note("No sessions.")
        table = monthly_returns(equity)
        z = table.to_numpy(dtype=float)
        text = [[MISSING if math.isnan(v) else f"{v:.2f}" for v in row] for row in z]
        months = table[list(MONTHS)].abs().max().max()
        span = float(months) if months > 0 else 1.0  # colours span the months; a larger year saturates
        figure = self.go.Figure(self.go.Heatmap(
            z=z, x=list(table.columns), y=[str(year) for year in table.index], text=text,
            texttemplate="%{text}", colorscale=[[0.0, LOSS_COLOUR], [0.5, "#f7f7f7"], [1.0, GAIN_COLOUR]],
            zmin=-span, zmax=span, hoverongaps=False, colorbar={"title": {"text": "%"}},
            hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>"))
        figure.update_yaxes(autorange="reversed", type="category")
        figure.update_xaxes(side="top")
        figure.update_layout(height=140 + 32 * len(table), margin={"t": 70})  # month names clear of the toolbar
        return self._embed(figure)

    def trade_returns(self, trades: pd.DataFrame) -> str:
        """Histogram of trade return_pct, winners and losers stacked on the same bins."""
        returns = trades["return_pct"].to_numpy(dtype=float)
        winners = trades["pnl"].to_numpy(dtype=float) > 0
        finite = np.isfinite(returns)
        if not finite.any():
            return _note("No trades.")
        edges = _zero_aligned_edges(returns[finite])
        centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        figure = self.go.Figure()
        for name, chosen, colour in (("winners", winners, GAIN_COLOUR), ("losers", ~winners, LOSS_COLOUR)):
            counts, _ = np.histogram(returns[finite & chosen], bins=edges)
            figure.add_trace(self.go.Bar(x=centres, y=counts, width=widths, name=name, marker={"color": colour},
                                         hovertemplate="%{x:.2f}%: %{y} trades<extra>" + name + "</extra>"))
        mean = float(returns[finite].mean())
        figure.add_vline(x=mean, line_dash="dash", line_color="#555",
                         annotation_text=f"mean {mean:.2f}%", annotation_position="top right")
        figure.update_layout(barmode="stack", height=360, bargap=0.02)
        figure.update_xaxes(title_text="trade return %")
        figure.update_yaxes(title_text="trades")
        return self._embed(figure)

    def exit_reasons(self, trades: pd.DataFrame) -> str:
        """Trades and pnl per exit reason, side by side, in the spec's order of reasons."""
        if trades.empty:
            return _note("No trades.")
        grouped = trades.groupby("exit_reason", sort=False)["pnl"]
        counts, pnl = grouped.size(), grouped.sum()
        order = [r for r in EXIT_REASONS if r in counts.index] + sorted(set(counts.index) - set(EXIT_REASONS))
        labels = [_e(reason) for reason in order]
        figure = self.subplots.make_subplots(rows=1, cols=2, subplot_titles=("trades", "pnl"))
        figure.add_trace(self.go.Bar(x=labels, y=[int(counts[r]) for r in order], marker={"color": LINE_COLOUR},
                                     hovertemplate="%{x}: %{y} trades<extra></extra>"), row=1, col=1)
        values = [float(pnl[r]) for r in order]
        figure.add_trace(self.go.Bar(x=labels, y=values, marker={"color": _sign_colours(values)},
                                     hovertemplate="%{x}: %{y:,.2f}<extra></extra>"), row=1, col=2)
        figure.update_layout(height=340, showlegend=False)
        return self._embed(figure)

    def symbol_pnl(self, trades: pd.DataFrame) -> str:
        """Total pnl per symbol as horizontal bars; with many symbols, the best and worst SYMBOLS_CHARTED."""
        if trades.empty:
            return _note("No trades.")
        pnl = _per_symbol(trades)["pnl"]
        note = ""
        if len(pnl) > 2 * SYMBOLS_CHARTED:
            note = _note(f"The {SYMBOLS_CHARTED} best and {SYMBOLS_CHARTED} worst of {len(pnl):,} symbols by pnl; "
                         "every symbol is in the per-symbol table above.")
            pnl = pd.concat([pnl.head(SYMBOLS_CHARTED), pnl.tail(SYMBOLS_CHARTED)])
        values = [float(v) for v in pnl.to_numpy()]
        figure = self.go.Figure(self.go.Bar(
            x=values, y=[_e(symbol) for symbol in pnl.index], orientation="h",
            marker={"color": _sign_colours(values)}, hovertemplate="%{y}: %{x:,.2f}<extra></extra>"))
        figure.update_yaxes(autorange="reversed", type="category")
        figure.update_xaxes(title_text="pnl")
        figure.update_layout(height=max(240, 60 + 22 * len(values)))
        return note + self._embed(figure)


def _zero_aligned_edges(values: np.ndarray) -> np.ndarray:
    """About RETURN_BINS equal bins over `values` with 0 on an edge, so no bin mixes losses and gains."""
    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    width = (high - low) / RETURN_BINS or 1.0
    first, last = math.floor(low / width), math.floor(high / width) + 1
    return np.arange(first, last + 1) * width


def _sign_colours(values: Sequence[float]) -> list[str]:
    return [GAIN_COLOUR if value > 0 else LOSS_COLOUR for value in values]


def monthly_returns(equity: pd.DataFrame) -> pd.DataFrame:
    """Percent return of each calendar month (columns Jan..Dec) and year (YEAR_COLUMN), rows by year.

    A month's return compounds its sessions' daily returns (return_pct): 100 * (prod(1 + r_d) - 1), so the
    first month starts from E_0. A month without a session of the run is NaN."""
    dates = _dates(equity["date"])
    growth = pd.Series(1.0 + equity["return_pct"].to_numpy(dtype=float) / 100.0, index=dates.to_numpy())
    by_month = growth.groupby([dates.dt.year.to_numpy(), dates.dt.month.to_numpy()]).prod()
    table = pd.DataFrame(np.nan, index=sorted(set(dates.dt.year)), columns=[*MONTHS, YEAR_COLUMN])
    for (year, month), factor in by_month.items():
        table.loc[year, MONTHS[month - 1]] = 100.0 * (factor - 1.0)
    yearly = growth.groupby(dates.dt.year.to_numpy()).prod()
    table[YEAR_COLUMN] = 100.0 * (yearly.reindex(table.index).to_numpy() - 1.0)
    return table


# ---------------------------------------------------------------------------------------------------- page


PAGE_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222;
       background: #fafafa; }
header { background: #1f3a5a; color: #fff; padding: 14px 28px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
nav { font-size: 13px; margin-top: 6px; }
nav a { color: #cfe0f5; margin-right: 14px; text-decoration: none; }
main { padding: 8px 28px 40px; max-width: 1400px; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 6px 18px 14px;
          margin: 16px 0; }
h2 { font-size: 17px; margin: 10px 0; color: #1f3a5a; }
h3 { font-size: 14px; margin: 12px 0 6px; }
.columns { display: flex; gap: 40px; flex-wrap: wrap; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; }
table.kv th { text-align: left; font-weight: 500; color: #555; padding: 3px 18px 3px 0; }
table.kv td { font-variant-numeric: tabular-nums; padding: 3px 0; }
.scroll { display: inline-block; max-width: 100%; max-height: 560px; overflow: auto; border: 1px solid #eee; }
table.data th { position: sticky; top: 0; background: #f1f4f8; cursor: pointer; padding: 5px 10px;
                text-align: right; border-bottom: 1px solid #d8dde3; white-space: nowrap; }
table.data td { padding: 3px 10px; text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;
                border-bottom: 1px solid #f0f0f0; }
table.data th.t, table.data td.t { text-align: left; }
table.data tbody tr:hover { background: #f6f9fc; }
td.pos { color: #1a7f45; } td.neg { color: #c0392b; }
.note { color: #666; font-size: 13px; font-style: italic; }
.chart { width: 100%; }
"""

# Draws every figure from its JSON spec and sorts a table by the clicked column (numbers by value).
PAGE_SCRIPT = """
document.querySelectorAll('script[data-chart]').forEach(function (node) {
  var spec = JSON.parse(node.textContent);
  Plotly.newPlot(node.getAttribute('data-chart'), spec.data, spec.layout,
                 {responsive: true, displaylogo: false});
});
function cellValue(row, i) {
  var text = row.cells[i].textContent.replace(/[,%]/g, '');
  var number = parseFloat(text);
  return isNaN(number) || !/^-?[0-9.]+$/.test(text) ? text : number;
}
document.querySelectorAll('table.data').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var up = th.getAttribute('data-order') !== 'asc';
      rows.sort(function (a, b) {
        var x = cellValue(a, i), y = cellValue(b, i);
        var less = typeof x === typeof y ? x < y : typeof x === 'number';
        var more = typeof x === typeof y ? x > y : typeof y === 'number';
        return (less ? -1 : more ? 1 : 0) * (up ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
      th.setAttribute('data-order', up ? 'asc' : 'desc');
    });
  });
});
"""


def _page(title: str, sections: Sequence[tuple[str, str, str]], plotly_js: str) -> str:
    """The HTML document: plotly.js inlined once in the head, the sections, then the drawing script."""
    nav = "".join(f'<a href="#{anchor}">{_e(heading)}</a>' for anchor, heading, _ in sections)
    body = "".join(f'<section id="{anchor}"><h2>{_e(heading)}</h2>{content}</section>'
                   for anchor, heading, content in sections)
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{PAGE_STYLE}</style><script>{plotly_js}</script></head>"
            f"<body><header><h1>{_e(title)}</h1><nav>{nav}</nav></header><main>{body}</main>"
            f"<script>{PAGE_SCRIPT}</script></body></html>\n")
