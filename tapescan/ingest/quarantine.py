"""Rejected rows, kept in the store: `quarantine/VENDOR/FILE-HASH.csv`, one file per source file.

Each quarantine file lists `line, reason, raw` sorted by line: the line number in the source file, why
the row was rejected (validate.REASONS), and its text (fields re-joined with the file's delimiter; for
conflicting duplicates, the row as parsed: ET time and values). Files are written atomically and named
after their source, so a re-run rewrites the same files with the same content.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tapescan.fsio import atomic_path
from tapescan.ingest.sources import Source

QUARANTINE_FOLDER = "quarantine"


def write_quarantine(root: Path, vendor: str, sources: list[Source], parts: list[pa.Table]) -> dict[int, str]:
    """Write the rejected rows of each source; return source id -> quarantine file (relative to root).

    A source without rejected rows loses the quarantine file an earlier run may have left for it.
    """
    for source in sources:
        (root / _relative(vendor, source)).unlink(missing_ok=True)
    if not parts:
        return {}
    rows = pa.concat_tables(parts)
    rows = rows.take(pc.sort_indices(rows, sort_keys=[("source", "ascending"), ("line", "ascending")]))
    source_ids = rows.column("source").to_numpy()
    written: dict[int, str] = {}
    starts = np.r_[0, np.flatnonzero(np.diff(source_ids)) + 1]
    for start, end in zip(starts, np.r_[starts[1:], len(source_ids)]):
        source_id = int(source_ids[start])
        relative = _relative(vendor, sources[source_id])
        with atomic_path(root / relative) as tmp:
            pcsv.write_csv(rows.slice(int(start), int(end - start)).select(["line", "reason", "raw"]), tmp)
        written[source_id] = relative
    return written


def _relative(vendor: str, source: Source) -> str:
    return f"{QUARANTINE_FOLDER}/{vendor}/{source.key}.csv"


def read_staged_quarantine(path: Path) -> pa.Table:
    """A phase-1 quarantine spill file."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()
