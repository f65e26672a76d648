"""The manifest: the one file that says which data files make up the store right now.

Data files are immutable and uniquely named. A write creates new files, then commits by atomically
replacing `manifest.json`; only afterwards are the files it superseded deleted. A writer killed at any
moment therefore leaves the previous manifest, and with it the previous store, intact; files it had
written but not committed are orphans, removed by the next writer.

Each entry also records its file's size and digests (tapescan/store/integrity.py checks the size and the
footer's digest on every read, the whole file's by `verify --deep`, the GPU loader and ingest's pre-check). Entries of schema version 1 manifests lack them and are still accepted: their files are checked by
Parquet page checksums only, until a write replaces them. The loader refuses a manifest of the wrong shape
and any entry whose path would lead outside its table's folder, as a damaged store.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tapescan.errors import StoreDamagedError, StoreError
from tapescan.fsio import write_bytes_atomic
from tapescan.store.schema import SCHEMA_VERSION

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "tapescan-store"

#: Partitioned tables, each mapping a partition key to its file entry.
PARTITIONED_TABLES = ("bars_1m", "daily")
#: Oldest manifest schema version this tapescan still reads (version 1 entries lack sizes and digests).
OLDEST_SCHEMA_VERSION = 1
#: What a data file's relative path must look like, per table (no `..`, no absolute path, no other folder).
_FILE_PATTERNS = {
    "bars_1m": re.compile(r"bars_1m/date=\d{4}-\d{2}-\d{2}/[A-Za-z0-9_-]+\.parquet"),
    "daily": re.compile(r"daily/month=\d{4}-\d{2}/[A-Za-z0-9_-]+\.parquet"),
    "symbols": re.compile(r"symbols/[A-Za-z0-9_-]+\.parquet"),
}


@dataclass
class FileEntry:
    """One data file: its path relative to the store root, its row count and (since schema version 2) its
    size in bytes, the sha256 of its content and the sha256 of its Parquet footer."""

    file: str
    rows: int
    size: int | None = None
    sha256: str | None = None
    footer_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        digests = {"size": self.size, "sha256": self.sha256, "footer_sha256": self.footer_sha256}
        return {"file": self.file, "rows": self.rows, **{k: v for k, v in digests.items() if v is not None}}


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
        raise _damaged(path, str(error)) from error
    if not isinstance(raw, dict):
        raise _damaged(path, f"a JSON {type(raw).__name__} where an object belongs")
    if raw.get("format") != FORMAT_NAME:
        raise StoreError(f"{path} is not a tapescan manifest (format={raw.get('format')!r}).")
    version = raw.get("schema_version")
    if _is_int(version) and version > SCHEMA_VERSION:
        raise StoreError(
            f"{root} has store schema version {version}, newer than this tapescan understands "
            f"({SCHEMA_VERSION}); upgrade tapescan."
        )
    if not _is_int(version) or version < OLDEST_SCHEMA_VERSION or not _is_int(raw.get("generation")):
        raise _damaged(path, f"schema_version {version!r} and generation {raw.get('generation')!r} must be "
                             f"whole numbers, the version {OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION}")
    symbols = raw.get("symbols")
    return Manifest(
        generation=raw["generation"],
        bars_1m=_entries(path, raw, "bars_1m", dt.date.fromisoformat),
        daily=_entries(path, raw, "daily", lambda key: dt.datetime.strptime(key, "%Y-%m")),
        symbols=None if symbols is None else _entry(path, "symbols", symbols),
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_ENTRY_FIELDS = {"file": str, "rows": int, "size": int, "sha256": str, "footer_sha256": str}


def _well_typed(entry: dict[str, Any]) -> bool:
    """`file` and `rows` present, no unknown field, counts whole and >= 0, the digests null or strings."""
    if not {"file", "rows"} <= entry.keys() <= _ENTRY_FIELDS.keys():
        return False
    for key, value in entry.items():
        if value is None and key not in ("file", "rows"):
            continue
        if not (_is_int(value) and value >= 0 if _ENTRY_FIELDS[key] is int else isinstance(value, str)):
            return False
    return True


def _damaged(path: Path, problem: str) -> StoreDamagedError:
    """The manifest itself is damaged: `tapescan verify` cannot help, a backup can."""
    return StoreDamagedError(path, problem, "restore it from a backup of the store")


def _entries(path: Path, raw: dict[str, Any], table: str, parse_key: Any) -> dict[str, FileEntry]:
    """One partitioned table's entries, each key a valid partition key and each entry well-formed."""
    value = raw.get(table, {})
    if not isinstance(value, dict):
        raise _damaged(path, f"{table} is a JSON {type(value).__name__}, not an object")
    entries = {}
    for key, entry in value.items():
        try:
            parse_key(key)
        except ValueError:
            raise _damaged(path, f"{table} has the partition key {key!r}") from None
        entries[key] = _entry(path, table, entry)
        if f"={key}/" not in entries[key].file:
            raise _damaged(path, f"{table} {key} lists the file {entries[key].file!r} of another partition")
    return entries


def _entry(path: Path, table: str, value: object) -> FileEntry:
    """One file entry, refused unless its fields have the right types and its file lies in `table`'s folder
    (an entry such as `../outside/x.parquet` would let a write delete a file outside the store)."""
    if not isinstance(value, dict) or not _well_typed(value):
        raise _damaged(path, f"a {table} entry is not a file entry (file, rows, size, sha256, footer_sha256): "
                             f"{json.dumps(value)[:200]}")
    if not _FILE_PATTERNS[table].fullmatch(value["file"]):
        raise _damaged(path, f"the {table} entry {value['file']!r} is not a file inside the store's {table} folder")
    return FileEntry(**value)


def save_manifest(root: Path, manifest: Manifest) -> None:
    """Commit `manifest` atomically: after this returns, readers see exactly the files it lists."""
    text = json.dumps(manifest.to_json(), indent=1) + "\n"
    write_bytes_atomic(root / MANIFEST_NAME, text.encode())
