"""`tapescan calendar`: the NYSE sessions and holidays in a date range, one row per weekday."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from tapescan import calendar as cal
from tapescan.cli.context import say
from tapescan.cli.output import check_output_path, emit_frame


def _status(early_close: bool, late_open: bool) -> str:
    """A session's status word: session, early close, late open (or both)."""
    words = [word for word, flag in (("late open", late_open), ("early close", early_close)) if flag]
    return ", ".join(words) or "session"


def calendar_frame(start: str, end: str) -> pd.DataFrame:
    """One row per weekday from `start` to `end`: date, status, open, close (ET HH:MM), holiday."""
    sessions = cal.sessions(start, end)
    holidays = cal.holidays(start, end)
    rows = pd.DataFrame(
        {
            "date": sessions["date"],
            "status": [_status(e, l) for e, l in zip(sessions["early_close"], sessions["late_open"], strict=True)],
            "open": sessions["open"].dt.strftime("%H:%M"),
            "close": sessions["close"].dt.strftime("%H:%M"),
            "holiday": "",
        }
    )
    closed = pd.DataFrame(
        {"date": holidays["date"], "status": "holiday", "open": "", "close": "", "holiday": holidays["name"]}
    )
    frame = pd.concat([rows, closed], ignore_index=True).sort_values("date", ignore_index=True)
    return frame.astype({"date": str})


def calendar(
    ctx: typer.Context,
    start: str = typer.Option(..., "--start", metavar="DATE", help="First date, YYYY-MM-DD (inclusive)."),
    end: str = typer.Option(..., "--end", metavar="DATE", help="Last date, YYYY-MM-DD (inclusive)."),
    output: Path | None = typer.Option(None, "--output", metavar="FILE", help="Write to a .csv, .parquet or .json file."),
) -> None:
    """Show the NYSE trading calendar from --start to --end, one row per weekday (weekends left out).

    Columns: date, status, open, close, holiday.
    status: session, early close, late open (both: 'late open, early close'), or holiday.
    open, close: the regular session's bounds, HH:MM New York time (empty on holidays).
    holiday: the closure's name (empty on sessions).
    """
    check_output_path(output)
    frame = calendar_frame(start, end)
    holidays = int((frame["status"] == "holiday").sum())
    say(ctx, f"{len(frame) - holidays} sessions and {holidays} holidays from {start} to {end}.")
    emit_frame(frame, output, title=f"NYSE calendar {start} to {end}")
