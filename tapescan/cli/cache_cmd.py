"""`tapescan cache build|info|clear --store DIR`: the panel cache of decoded sessions kept inside the store, so that
repeated sweeps, backtests and parameter searches over the same sessions read them at memory speed
(tapescan/store/panel_cache.py, docs/STORE.md "Panel cache")."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import typer

from tapescan import calendar
from tapescan.cli.context import progress_bar, say, stdout_console
from tapescan.cli.store_options import STORE_OPTION
from tapescan.errors import TapescanError
from tapescan.store import Store
from tapescan.store.panel_cache import CacheInfo

app = typer.Typer(
    help="Keep decoded sessions beside the store so that repeated sweeps and backtests read them at memory speed.",
    no_args_is_help=True,
)

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9, "T": 10**12,
          "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*")


def parse_size(text: str) -> int:
    """Bytes in a size such as `32GB`, `500MiB` or `1.5T` (decimal units, binary with `i`)."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS or float(match.group(1)) <= 0:
        raise TapescanError(f"--max-size {text!r} is not a size; write it as e.g. 32GB, 500MB or 64GiB.")
    return int(float(match.group(1)) * _UNITS[unit])


def _size(n: int) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 10**8 else f"{n / 1e6:,.1f} MB"


@app.command("build")
def build(
    ctx: typer.Context,
    store: Path = STORE_OPTION,
    start: str | None = typer.Option(None, "--start", metavar="DATE", help="First session, YYYY-MM-DD (default: "
                                     "the store's first)."),
    end: str | None = typer.Option(None, "--end", metavar="DATE", help="Last session, YYYY-MM-DD (default: the "
                                   "store's last)."),
    max_size: str | None = typer.Option(None, "--max-size", metavar="SIZE", help="Cap on the cache's size, e.g. "
                                        "64GB (kept for later builds; default 34.36 GB = 32 GiB). The least "
                                        "recently read sessions go first."),
) -> None:
    """Cache the regular-session panels of the stored sessions from --start to --end. Sessions already cached are
    kept; sessions a later write to the store replaces are dropped from the cache when next seen."""
    handle = Store(store)
    sessions = handle.sessions()
    if not sessions:
        raise TapescanError(f"the store {store} holds no sessions yet; ingest some first.")
    first, last = (calendar.to_date(day).isoformat() for day in (start or sessions[0], end or sessions[-1]))
    wanted = sum(first <= day.isoformat() <= last for day in sessions)
    cap = parse_size(max_size) if max_size is not None else None
    with progress_bar(ctx, "caching", total=wanted, unit="sessions") as advance:
        report = handle.build_cache(first, last, cap, on_session=lambda day: advance(1))
    if not wanted:
        say(ctx, f"the store holds no session from {first} to {last}; nothing to cache.", "warning")
    if report.evicted:
        say(ctx, f"the cache's cap ({_size(report.info.max_bytes)}) left room for fewer sessions than asked: "
                 f"{len(report.evicted)} least recently read session(s) dropped. Raise it with --max-size.", "warning")
    stdout_console().print(f"cached {len(report.added)} session(s), {report.present} already cached"
                           f"{f', {report.removed_stale} stale dropped' if report.removed_stale else ''}.",
                           highlight=False)
    _print_info(report.info)


@app.command("info")
def info(store: Path = STORE_OPTION) -> None:
    """Where the cache is, its size and cap, and which sessions it holds."""
    handle = Store(store)
    _print_info(handle.cache.info(handle.manifest()))


@app.command("clear")
def clear(
    ctx: typer.Context,
    store: Path = STORE_OPTION,
    start: str | None = typer.Option(None, "--start", metavar="DATE", help="First session to drop (default: all)."),
    end: str | None = typer.Option(None, "--end", metavar="DATE", help="Last session to drop (default: all)."),
) -> None:
    """Delete cached sessions (all, or those from --start to --end). The store itself is not touched."""
    handle = Store(store)
    days = None
    if start is not None or end is not None:
        first = calendar.to_date(start) if start else dt.date.min
        last = calendar.to_date(end) if end else dt.date.max
        days = {entry.day for entry in handle.cache.entries() if first <= entry.day <= last}
    removed = handle.cache.clear(days)
    stdout_console().print(f"removed {removed} cached session file(s) from {handle.cache.folder}.", highlight=False)


def _print_info(info: CacheInfo) -> None:
    """The cache's folder, size against its cap, the sessions it holds, and any stale entries."""
    console = stdout_console()
    days = [entry.day for entry in info.valid]
    held = f"{len(days)} session(s), {days[0]} to {days[-1]}" if days else "no sessions"
    console.print(f"panel cache {info.folder}: {held}; {_size(info.size)} of {_size(info.max_bytes)}.",
                  highlight=False)
    if info.stale:
        console.print(f"{len(info.stale)} stale file(s) (their sessions were rewritten since): dropped by the next "
                      "`tapescan cache build` or `clear`.", highlight=False)
