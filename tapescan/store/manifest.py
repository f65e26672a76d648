"""The manifest: the one file that says which data files make up the store right now.

Data files are immutable and uniquely named. A write creates new files, then commits by atomically
replacing `manifest.json`; only afterwards are the files it superseded deleted. A writer killed at any
moment therefore leaves the previous manifest, and with it the previous store, intact; files it had
written but not committed are orphans, removed by the next writer.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tapescan.errors import StoreError
from tapescan.fsio import write_bytes_atomic
from tapescan.store.schema import SCHEMA_VERSION

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "tapescan-store"

#: Partitioned tables, each mapping a partition key to its file entry.
PARTITIONED_TABLES = ("bars_1m", "daily")


@dataclass
class FileEntry:
    """One data file: its path relative to the store root and its row count."""

    file: str
    rows: int

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows}


@dataclass
class Manifest:
    """In-memory form of manifest.json."""

    generation: int = 0
    bars_1m: dict[str, FileEntry] = field(default_factory=dict)  # session date (YYYY-MM-DD) -> file
    daily: dict[str, FileEntry] = field(default_factory=dict)  # month (YYYY-MM) -> file
    symbols: FileEntry | None = None

    def files(self) -> set[str]:
        """Every data file the manifest references."""
        names = {entry.file for table in PARTITIONED_TABLES for entry in getattr(self, table).values()}
        if self.symbols is not None:
            names.add(self.symbols.file)
        return names

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "schema_version": SCHEMA_VERSION,
            "generation": self.generation,
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "bars_1m": {key: entry.to_json() for key, entry in sorted(self.bars_1m.items())},
            "daily": {key: entry.to_json() for key, entry in sorted(self.daily.items())},
            "symbols": None if self.symbols is None else self.symbols.to_json(),
        }


def new_file_name(table: str, partition: str | None, generation: int) -> str:
    """A fresh, never reused relative path for a data file of `table` (Hive-style partition folder)."""
    token = secrets.token_hex(4)
    folder = table if partition is None else f"{table}/{_partition_folder(table)}={partition}"
    return f"{folder}/g{generation:08d}-{token}.parquet"


def _partition_folder(table: str) -> str:
    return {"bars_1m": "date", "daily": "month"}[table]


def load_manifest(root: Path) -> Manifest:
    """Read and check `root/manifest.json`; StoreError if it is missing, foreign, damaged or too new."""
    path = root / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text())
    except NotADirectoryError:
        raise StoreError(f"{root} is a file, not a store; give the store's folder (the one that holds "
                         f"{MANIFEST_NAME}).") from None
    except FileNotFoundError:
        raise StoreError(
            f"{root} is not a tapescan store (no {MANIFEST_NAME}). Create one with `tapescan synth {root}` "
            f"or `tapescan ingest VENDOR FILES --store {root}`."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise StoreError(f"{path} is damaged ({error}); restore it from a backup.") from error
    if raw.get("format") != FORMAT_NAME:
        raise StoreError(f"{path} is not a tapescan manifest (format={raw.get('format')!r}).")
    version = raw.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise StoreError(
            f"{root} has store schema version {version}, newer than this tapescan understands "
            f"({SCHEMA_VERSION}); upgrade tapescan."
        )
    return Manifest(
        generation=int(raw["generation"]),
        bars_1m={key: FileEntry(**value) for key, value in raw.get("bars_1m", {}).items()},
        daily={key: FileEntry(**value) for key, value in raw.get("daily", {}).items()},
        symbols=None if raw.get("symbols") is None else FileEntry(**raw["symbols"]),
    )


def save_manifest(root: Path, manifest: Manifest) -> None:
    """Commit `manifest` atomically: after this returns, readers see exactly the files it lists."""
    text = json.dumps(manifest.to_json(), indent=1) + "\n"
    write_bytes_atomic(root / MANIFEST_NAME, text.encode())
