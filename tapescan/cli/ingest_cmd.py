"""`tapescan ingest VENDOR PATH...`: vendor files (or a Theta Terminal download) into a store."""

from __future__ import annotations

import contextlib
import sys
import time
import zoneinfo
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from tapescan import calendar
from tapescan.cli.context import options, say, stderr_console, stdout_console
from tapescan.errors import IngestError
from tapescan.ingest import IngestOptions, IngestReport
from tapescan.ingest import ingest as run_ingest
from tapescan.ingest.pipeline import Progress as ProgressCallback
from tapescan.ingest.pipeline import worker_count
from tapescan.ingest.thetadata_fetch import fetch_ohlc
from tapescan.store import Store
from tapescan.store.schema import ADJUSTMENTS

DOWNLOADS = Path("downloads") / "thetadata"


class Vendor(str, Enum):
    firstrate = "firstrate"
    kibot = "kibot"
    backtestmarket = "backtestmarket"
    thetadata = "thetadata"
    csv = "csv"


def ingest(
    ctx: typer.Context,
    vendor: Vendor = typer.Argument(..., help="Whose files: firstrate, kibot, backtestmarket, thetadata or csv."),
    paths: list[Path] = typer.Argument(None, help="Files, folders or zip archives (thetadata: optional with --symbols)."),
    store: Path = typer.Option(..., "--store", metavar="DIR", help="Store folder (created when missing)."),
    workers: int = typer.Option(0, "--workers", min=0, help="Processes that parse files (0: one per CPU core)."),
    tz: str = typer.Option("America/New_York", "--tz", metavar="ZONE", help="Time zone of the files' naive times."),
    adjustment: str | None = typer.Option(
        None, "--adjustment", help=f"Price adjustment of the files ({', '.join(ADJUSTMENTS)}); for firstrate, "
        "ingest only the files with this adjustment."),
    dayfirst: bool | None = typer.Option(
        None, "--dayfirst/--monthfirst", help="Dates are DD/MM/YYYY (or MM/DD/YYYY); detected when not given."),
    column_map: str | None = typer.Option(
        None, "--map", help="csv: columns for the bar fields, e.g. ts=Date+Time,open=O,high=H,low=L,close=C,volume=V,symbol=Ticker."),
    symbol: str | None = typer.Option(None, "--symbol", metavar="SYMBOL", help="csv/backtestmarket: the ticker, when files have no symbol column."),
    replace: bool = typer.Option(False, "--replace", help="Overwrite stored bars that differ from the files' bars."),
    symbols: str | None = typer.Option(None, "--symbols", metavar="A,B,...", help="thetadata: download these tickers (comma-separated) first."),
    start: str | None = typer.Option(None, "--start", metavar="DATE", help="thetadata download: first date, YYYY-MM-DD."),
    end: str | None = typer.Option(None, "--end", metavar="DATE", help="thetadata download: last date, YYYY-MM-DD."),
    terminal: str | None = typer.Option(None, "--terminal", metavar="URL", help="thetadata: Theta Terminal URL (default http://127.0.0.1:25503 for v3)."),
    api: str = typer.Option("v3", "--api", help="thetadata: terminal API version, v3 or v2."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, help="thetadata: requests at once (your subscription's limit)."),
    allow_remote_terminal: bool = typer.Option(
        False, "--allow-remote-terminal", help="thetadata: let --terminal name another machine (it gets your subscription's requests)."),
) -> None:
    """Validate vendor files row by row into the store; bad rows go to quarantine/, a report to reports/."""
    if adjustment is not None and adjustment not in ADJUSTMENTS:
        raise IngestError(f"--adjustment {adjustment!r} is not one of {', '.join(ADJUSTMENTS)}.")
    ingest_options = IngestOptions(
        tz=_check_zone(tz), dayfirst=dayfirst, adjustment=adjustment, column_map=_parse_map(column_map), symbol=symbol
    )
    inputs = list(paths or [])
    if symbols:
        if vendor is not Vendor.thetadata:
            raise IngestError("--symbols downloads from the Theta Terminal; it works with the thetadata vendor only.")
        inputs.append(_download(ctx, store, symbols, start, end, terminal, api, concurrency, allow_remote_terminal))
    if not inputs:
        raise IngestError("give files, folders or zip archives to ingest (or, for thetadata, --symbols to download).")
    if workers > (cores := worker_count(workers)):
        say(ctx, f"--workers {workers} is more than the {cores} CPU cores; using {cores} (more add memory, not speed).",
            "note")
    with _progress(ctx) as progress:
        report = run_ingest(store, vendor.value, inputs, options=ingest_options, workers=workers or None,
                            replace=replace, progress=progress)
    _print_report(ctx, report)


def _check_zone(tz: str) -> str:
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise IngestError(f"--tz {tz!r} is not a time zone name (e.g. America/New_York, America/Chicago).") from None
    return tz


def _parse_map(text: str | None) -> dict[str, str]:
    """`ts=Date+Time,open=O` -> {"ts": "Date+Time", "open": "O"}."""
    allowed = ("ts", "symbol", "open", "high", "low", "close", "volume")
    mapping: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in allowed or not value.strip():
            raise IngestError(f"--map: {part.strip()!r} should be FIELD=COLUMN with FIELD one of {', '.join(allowed)}.")
        mapping[key] = value.strip()
    return mapping


def _download(
    ctx: typer.Context, store: Path, symbols: str, start: str | None, end: str | None,
    terminal: str | None, api: str, concurrency: int, allow_remote_terminal: bool,
) -> Path:
    """Fetch the range from the Theta Terminal into STORE/downloads/thetadata (resumable); return that folder."""
    if start is None or end is None:
        raise IngestError("--symbols needs --start and --end (the date range to download).")
    if api not in ("v3", "v2"):
        raise IngestError(f"--api {api!r}: choose v3 (Theta Terminal 3) or v2.")
    Store.existing(store)  # a path taken by something else is refused before the download
    dest = store.expanduser() / DOWNLOADS
    tickers = [part.strip().upper() for part in symbols.split(",") if part.strip()]
    report = fetch_ohlc(tickers, calendar.to_date(start), calendar.to_date(end), dest, api=api,  # type: ignore[arg-type]
                        base_url=terminal, concurrency=concurrency, prepare_dest=lambda: _make_folder(store, dest),
                        allow_remote_terminal=allow_remote_terminal)
    say(ctx, f"Theta Terminal: {len(report.written)} file(s) downloaded, {len(report.skipped)} already there, "
             f"{len(report.no_data)} without data, {report.requests} request(s), {report.retries} retried.")
    return dest


def _make_folder(store: Path, dest: Path) -> None:
    """The downloads folder inside the store, the store created first when missing (so it stays a store)."""
    Store.create(store)
    dest.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _progress(ctx: typer.Context) -> Iterator[ProgressCallback]:
    """A progress bar with rows/s and ETA on a terminal; nothing in pipes or with --quiet."""
    if options(ctx).quiet or not sys.stderr.isatty():
        yield lambda phase, done, total, rows: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    labels = {"inspect": "inspecting files", "read": "reading files", "write": "writing sessions"}
    with Progress(*columns, console=stderr_console(), transient=True) as bar:
        tasks: dict[str, int] = {}
        started: dict[str, float] = {}  # a phase starts when the previous one last reported
        last_report = [time.monotonic()]
        rows_seen = {"read": 0, "write": 0}

        def update(phase: str, done: int, total: int, rows: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels[phase], total=total, rate="")
                started[phase] = last_report[0]
            last_report[0] = time.monotonic()
            if phase == "inspect":
                bar.update(tasks[phase], completed=done, rate=f"{done:,} of {total:,} files")
                return
            rows_seen[phase] = rows if phase == "read" else rows_seen[phase] + rows
            rate = rows_seen[phase] / max(time.monotonic() - started[phase], 1e-6)
            bar.update(tasks[phase], completed=done, rate=f"{rows_seen[phase]:,} rows, {rate:,.0f} rows/s")

        yield update


def _print_report(ctx: typer.Context, report: IngestReport) -> None:
    total = report.total
    out = stdout_console()
    mb = report.input_bytes / 1e6
    out.print(
        f"{report.vendor}: {total.files} file(s), {mb:,.1f} MB in {report.seconds:,.1f} s "
        f"({mb / max(report.seconds, 1e-9):,.0f} MB/s)\n"
        f"  rows read      {total.rows_read:>14,}\n"
        f"  rows stored    {total.rows_stored:>14,}\n"
        f"  rows rejected  {total.rows_rejected:>14,}\n"
        f"  rows duplicate {total.rows_duplicate:>14,}",
        highlight=False,
    )
    for reason, count in total.rejected_by_reason.items():
        out.print(f"    {reason:<24}{count:>12,}", highlight=False)
    quarantined = [item for item in report.sources if item.quarantine]
    if quarantined:
        out.print(escape(f"  rejected rows of {len(quarantined)} file(s) are in {report.store}/quarantine/"),
                  highlight=False)
    for item in report.skipped[:10]:
        say(ctx, f"skipped {item}")
    if len(report.skipped) > 10:
        say(ctx, f"... and {len(report.skipped) - 10} more skipped (listed in the report)")
    say(ctx, f"{report.sessions_written} session(s) written, {report.bars_written:,} bars new; "
             f"report: {report.report_file}")
