"""Options several commands share: the store path and symbol lists; and why a store read came back empty."""

from __future__ import annotations

import typer

from tapescan import calendar
from tapescan.cli.context import say
from tapescan.store import Store
from tapescan.store.info import check_symbols

STORE_OPTION = typer.Option(..., "--store", metavar="DIR", help="Store folder (made by `tapescan synth` or `tapescan ingest`).")
#: Symbols whose own range an empty-result warning names (the rest are counted).
NAMED_SYMBOLS = 5


def parse_symbols(values: list[str] | None) -> list[str] | None:
    """Symbols given as repeated options and/or comma-separated lists, upper-cased; None when none given."""
    if not values:
        return None
    return [part.strip().upper() for value in values for part in value.split(",") if part.strip()]


def require_symbols(store: Store, symbols: list[str]) -> None:
    """StoreError naming each of `symbols` the store lacks, with close matches."""
    check_symbols(store, store.symbols()["symbol"], symbols)


def warn_no_rows(ctx: typer.Context, store: Store, what: str, start: str, end: str,
                 symbols: list[str] | None) -> None:
    """Warn (stderr, unless --quiet) that `what` from `start` to `end` is empty, and why: no NYSE session in the
    range, or the sessions the store (and each named symbol) holds."""
    say(ctx, no_rows_message(store, what, start, end, symbols), "warning")


def no_rows_message(store: Store, what: str, start: str, end: str, symbols: list[str] | None) -> str:
    """`no WHAT from START to END: ` and the reason, e.g. `the store holds sessions A to B (AAPL from C to D)`."""
    head = f"no {what} from {start} to {end}: "
    if calendar.sessions(start, end).empty:
        return head + "there is no NYSE session in that range (`tapescan calendar` shows the sessions)."
    stored = store.sessions()
    if not stored:
        return head + "the store holds no sessions yet."
    spans = ""
    if symbols:
        table = store.symbols().set_index("symbol")
        named = [f"{s} from {table.at[s, 'first_session']} to {table.at[s, 'last_session']}"
                 for s in symbols[:NAMED_SYMBOLS]]
        more = len(symbols) - NAMED_SYMBOLS
        spans = f" ({'; '.join(named)}{f'; {more} more' if more > 0 else ''})"
    return head + f"the store holds sessions {stored[0]} to {stored[-1]}{spans}."
