"""`tapescan info STORE`: what a store holds (sessions, symbols, bars, adjustment, size, the last ingest), or,
with `--symbols` / `--all-symbols`, each symbol's coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
from rich.markup import escape

from tapescan.cli.context import stdout_console
from tapescan.cli.output import show_frame
from tapescan.cli.store_options import parse_symbols
from tapescan.errors import TapescanError
from tapescan.store import Store, StoreInfo, store_info, symbol_coverage
from tapescan.store.info import REPORTS_FOLDER

#: Missing sessions shown in the text summary (`--json` lists all).
SHOWN_MISSING = 5


def _size(count: int) -> str:
    """Bytes for people: 812 B, 6.6 kB, 129.4 MB, 1.2 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count} B"


def _per_value(counts: dict[str, int]) -> str:
    """`unadjusted (300 symbol(s))`, several separated by commas; `none` when empty."""
    return ", ".join(f"{value} ({count:,} symbol(s))" for value, count in counts.items()) or "none"


def _sessions_text(info: StoreInfo) -> str:
    """Count, range and the NYSE sessions in the range the store lacks (the first few)."""
    if not info.sessions:
        return "none yet"
    text = f"{info.sessions:,}, {info.first_session} to {info.last_session}; "
    missing = info.missing_sessions
    if not missing:
        return text + "no NYSE session missing"
    shown = ", ".join(str(day) for day in missing[:SHOWN_MISSING])
    more = f" and {len(missing) - SHOWN_MISSING:,} more (--json lists all)" if len(missing) > SHOWN_MISSING else ""
    return text + f"{len(missing):,} NYSE session(s) missing: {shown}{more}"


def _ingest_text(info: StoreInfo) -> str:
    """The newest ingest report's totals, or where reports would be."""
    last = info.last_ingest
    if last is None:
        return f"none recorded (no report in {Path(info.path) / REPORTS_FOLDER})"
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in last.rejected_by_reason.items())
    return (
        f"{last.vendor}, finished {last.finished} in {last.seconds:,.1f} s: {last.files:,} file(s), "
        f"{last.rows_read:,} rows read, {last.rows_stored:,} stored, {last.rows_rejected:,} rejected"
        f"{f' ({reasons})' if reasons else ''}, {last.rows_duplicate:,} duplicate; {last.sessions_written:,} "
        f"session(s) and {last.bars_written:,} bars written, {last.symbols_added:,} symbol(s) added\n"
        f"report {last.file} (newest of {info.ingest_reports})"
    )


def _print_summary(info: StoreInfo) -> None:
    """The summary as `label  value` lines (continuation lines indented under the value)."""
    size = ", ".join(f"{name} {_size(count)}" for name, count in info.disk_bytes.items())
    rows = [
        ("store", info.path),
        ("sessions", _sessions_text(info)),
        ("symbols", f"{info.symbols:,}"),
        ("bars", f"{info.bars:,} one-minute bars (extended hours included)"),
        ("adjustment", _per_value(info.adjustments)),
        ("source", _per_value(info.sources)),
        ("size", f"{_size(sum(info.disk_bytes.values()))} on disk ({size})"),
        ("last ingest", _ingest_text(info)),
    ]
    width = max(len(label) for label, _ in rows) + 2
    console = stdout_console()
    for label, value in rows:
        text = value.replace("\n", "\n" + " " * width)
        console.print(f"[bold]{label:<{width}}[/]{escape(text)}", highlight=False)


def _coverage_records(frame: pd.DataFrame) -> list[dict]:
    """Per-symbol rows for JSON: dates as YYYY-MM-DD, attributes as objects."""
    out = frame.astype({"first_session": str, "last_session": str})
    out["attributes"] = out["attributes"].map(json.loads)
    return out.to_dict(orient="records")


def info(
    store: Path = typer.Argument(..., help="Store folder (made by `tapescan synth` or `tapescan ingest`)."),
    symbols: list[str] | None = typer.Option(
        None, "--symbols", metavar="A,B,...",
        help="Instead of the summary, these symbols' first and last session, sessions, missing sessions and bars "
             "(repeat or comma-separate).",
    ),
    all_symbols: bool = typer.Option(False, "--all-symbols", help="Like --symbols, for every symbol in the store."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON (for scripts) instead of text."),
) -> None:
    """Show what STORE holds: sessions (first, last, count, NYSE sessions missing), symbols, bars, adjustment,
    size on disk and the last ingest. Reads only the manifest, the symbols table and the newest ingest report,
    so it is quick on any store."""
    handle = Store(store)
    wanted = parse_symbols(symbols)
    if wanted is not None and all_symbols:
        raise TapescanError("give --symbols A,B,... or --all-symbols, not both.")
    if wanted is None and not all_symbols:
        summary = store_info(handle)
        if json_output:
            typer.echo(json.dumps(summary.to_json(), indent=2))
        else:
            _print_summary(summary)
        return
    frame = symbol_coverage(handle, wanted)
    if json_output:
        typer.echo(json.dumps(_coverage_records(frame), indent=1))
    else:
        show_frame(frame, title=f"symbols in {handle.path}")
