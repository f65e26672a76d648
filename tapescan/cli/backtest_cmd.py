"""`tapescan backtest`: run a strategy file over a range of sessions and print its statistics."""

from __future__ import annotations

import math
import time
import warnings
from enum import Enum
from pathlib import Path

import pandas as pd
import typer

from tapescan import calendar
from tapescan.backtest.config import load_strategy_config
from tapescan.backtest.engine import backtest as run_backtest
from tapescan.cli.context import options, progress_bar, say
from tapescan.cli.output import refuse_inside_store, show_frame
from tapescan.cli.store_options import STORE_OPTION
from tapescan.errors import TapescanError
from tapescan.scanner import ScanWarning, known_groups
from tapescan.store import Store

REPORT_SUFFIXES = (".html", ".htm")
#: Decimal places the statistics are printed with (the files keep every digit).
SHOWN_DECIMALS = 4


class OutputFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


def check_outputs(output: Path | None, output_format: OutputFormat | None, report: Path | None) -> None:
    """Fail before any work when an output cannot be written where asked: inside a store, a file where a folder
    is needed (or the reverse), --format without --output, a report that is not .html."""
    if output is not None:
        refuse_inside_store(output, "--output")
        if output.exists() and not output.is_dir():
            raise TapescanError(f"--output {output} is a file; give a folder (it gets trades, orders, equity and "
                                "stats.json).")
    elif output_format is not None:
        raise TapescanError("--format says how --output DIR is written; add --output DIR, or leave --format out.")
    if report is not None:
        refuse_inside_store(report, "--report")
        if report.suffix.lower() not in REPORT_SUFFIXES:
            raise TapescanError(f"--report {report}: the report is one HTML page; give a name ending in .html.")
        if report.is_dir():
            raise TapescanError(f"--report {report} is a folder; give a file name such as {report / 'report.html'}.")


def _shown(value: float | None) -> float | int | None:
    """A statistic for reading: whole numbers (a count) without '.0', others rounded, undefined left empty."""
    if value is None or math.isnan(value):
        return None
    rounded = round(float(value), SHOWN_DECIMALS)
    return int(rounded) if rounded.is_integer() else rounded


def stats_frame(stats: dict[str, float]) -> pd.DataFrame:
    """The statistics as rows (statistic, value), for the screen or a pipe (CSV)."""
    return pd.DataFrame({"statistic": list(stats), "value": pd.Series([_shown(v) for v in stats.values()],
                                                                      dtype=object)})


def _say_warnings(ctx: typer.Context, caught: list[warnings.WarningMessage]) -> None:
    """The scanner's warnings (strategy: scanner finds no hit, and why) as "warning: ..." lines, each once; any
    other warning as Python shows it."""
    said = set()
    for item in caught:
        if issubclass(item.category, ScanWarning):
            if str(item.message) not in said:
                say(ctx, str(item.message), "warning")
                said.add(str(item.message))
        else:
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)


def backtest(
    ctx: typer.Context,
    strategy: Path = typer.Argument(..., help="Strategy file: .json, .yaml/.yml or .toml (docs/spec/backtest.md "
                                              "\"Strategy file\"; examples in tapescan/data/examples/strategies)."),
    store: Path = STORE_OPTION,
    start: str = typer.Option(..., "--start", metavar="DATE", help="First session, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", metavar="DATE", help="Last session, YYYY-MM-DD."),
    output: Path | None = typer.Option(None, "--output", metavar="DIR", help="Write trades, orders, equity and "
                                                                             "stats.json into DIR."),
    output_format: OutputFormat | None = typer.Option(None, "--format", case_sensitive=False,
                                                      help="File type of --output's tables: csv (default) or parquet."),
    report: Path | None = typer.Option(None, "--report", metavar="FILE.html",
                                       help="Write the HTML report (one self-contained page) to FILE.html."),
) -> None:
    """Backtest STRATEGY on the sessions from START to END; prints the statistics."""
    check_outputs(output, output_format, report)
    handle = Store(store)
    config = load_strategy_config(strategy, groups=known_groups(handle.path), grids=False)
    for warning in config.warnings():
        say(ctx, warning, "warning")
    sessions = len(calendar.sessions(start, end))
    started = time.perf_counter()
    with progress_bar(ctx, "backtesting", total=sessions + config.warmup_sessions, unit="sessions") as advance:
        shown = 0

        def progress(done: int, total: int) -> None:  # after each session, warm-up included
            nonlocal shown
            advance(done - shown)
            shown = done

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScanWarning)
            result = run_backtest(config, handle, start, end, backend=options(ctx).backend, progress=progress)
    _say_warnings(ctx, caught)
    seconds = time.perf_counter() - started
    show_frame(stats_frame(result.stats), title=f"{strategy.name}: {start} to {end}")
    rejected = int((result.orders["status"] == "rejected").sum())
    say(ctx, f"{len(result.trades):,} trades, {len(result.orders):,} orders ({rejected:,} rejected) in "
             f"{sessions} sessions, {seconds:.1f} s.")
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        written = result.write(output, (output_format or OutputFormat.csv).value)
        say(ctx, f"wrote {', '.join(path.name for path in written)} to {output}")
    if report is not None:
        say(ctx, f"wrote the report to {result.report(report)}")
