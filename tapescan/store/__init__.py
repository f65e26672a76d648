"""The Parquet store of bars, daily values and symbols (layout and guarantees: docs/STORE.md)."""

from tapescan.store.info import StoreInfo, store_info, symbol_coverage
from tapescan.store.reader import SessionPanel
from tapescan.store.store import Store
from tapescan.store.writer import WriteReport

__all__ = ["SessionPanel", "Store", "StoreInfo", "WriteReport", "store_info", "symbol_coverage"]
