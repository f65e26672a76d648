"""Options several commands share: the store path and symbol lists."""

from __future__ import annotations

import difflib

import typer

from tapescan.errors import StoreError
from tapescan.store import Store

STORE_OPTION = typer.Option(..., "--store", help="Store folder (made by `tapescan synth` or `tapescan ingest`).")


def parse_symbols(values: list[str] | None) -> list[str] | None:
    """Symbols given as repeated options and/or comma-separated lists, upper-cased; None when none given."""
    if not values:
        return None
    return [part.strip().upper() for value in values for part in value.split(",") if part.strip()]


def require_symbol(store: Store, symbol: str) -> None:
    """StoreError naming near matches when `symbol` is not in the store."""
    known = store.symbols()["symbol"].tolist()
    if symbol in known:
        return
    near = difflib.get_close_matches(symbol, known, n=3)
    hint = f" Did you mean {', '.join(near)}?" if near else f" It holds {len(known)} symbols."
    raise StoreError(f"the store {store.path} has no symbol {symbol}.{hint}")

