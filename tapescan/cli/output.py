"""Writing a command's DataFrame result: to a .csv/.parquet/.json file atomically, or to the screen.

No output may land inside a tapescan store (`--output STORE/manifest.json` would replace the manifest and
lose the store): a path that resolves into a store's folder, or to the folder itself, is refused.

Time-zone-aware timestamps are written as ISO 8601 with their offset (`2024-01-02T09:30:00-05:00`) in text
formats and as Arrow timestamps with their zone in Parquet.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.table import Table

from tapescan.cli.context import stdout_console
from tapescan.csvtext import header_text, write_csv
from tapescan.errors import TapescanError
from tapescan.frames import dictionary_columns, iso_text, write_frame_atomic
from tapescan.fsio import atomic_path
from tapescan.store.manifest import MANIFEST_NAME

SUFFIXES = (".csv", ".parquet", ".json")


def enclosing_store(path: Path) -> Path | None:
    """The tapescan store (a folder holding manifest.json) that `path` is in or is, after resolving symlinks
    and `..`; None when there is none."""
    resolved = path.expanduser().resolve()
    for folder in (resolved, *resolved.parents):
        try:
            if (folder / MANIFEST_NAME).is_file():
                return folder
        except OSError:  # an unreadable folder on the way up holds no store we could harm
            continue
    return None


def refuse_inside_store(path: Path, option: str) -> None:
    """TapescanError when `path` (given as `option`) would write into a store, which tapescan alone writes."""
    store = enclosing_store(path)
    if store is not None:
        raise TapescanError(
            f"{option} {path} is inside the tapescan store {store}; writing there could destroy the store. "
            "Write it elsewhere, outside any store's folder."
        )


def check_output_path(output: Path | None) -> None:
    """Fail before any work is done when the output file's type or folder is unusable, or lies in a store."""
    if output is None:
        return
    refuse_inside_store(output, "--output")
    if output.suffix.lower() not in SUFFIXES:
        raise TapescanError(
            f"--output {output}: unknown file type {output.suffix!r}; use a name ending in "
            + ", ".join(SUFFIXES) + " (or leave --output out to print a table)."
        )
    if output.exists() and output.is_dir():
        raise TapescanError(f"--output {output} is a folder; give a file name such as {output / 'result.csv'}.")


def write_frame(frame: pd.DataFrame, output: Path) -> None:
    """Write `frame` to `output` (type from its suffix), atomically: no half-written file on failure."""
    check_output_path(output)
    write_frame_atomic(frame, output)


def show_frame(frame: pd.DataFrame, title: str | None = None) -> None:
    """Print `frame`: a table on a terminal, CSV in a pipe (so that scripts can read it)."""
    if not sys.stdout.isatty():
        sys.stdout.flush()
        write_csv(frame, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    text = iso_text(frame)
    table = Table(title=title)
    for name in text.columns:
        table.add_column(str(name), justify="right" if pd.api.types.is_numeric_dtype(text[name]) else "left")
    for row in text.itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    stdout_console().print(table)


def emit_frame(frame: pd.DataFrame, output: Path | None, title: str | None = None) -> None:
    """Write to `output` when given, else print."""
    if output is None:
        show_frame(frame, title)
    else:
        write_frame(frame, output)


STREAM_SUFFIXES = (".csv", ".parquet")


def check_stream_output_path(output: Path) -> None:
    """Fail before any work when `output` cannot take a result written as it is computed (.csv or .parquet),
    or is unusable for any output (check_output_path)."""
    if output.suffix.lower() not in STREAM_SUFFIXES:
        raise TapescanError(f"--output {output}: this result is written as it is computed; use a name ending in "
                            ".parquet or .csv.")
    check_output_path(output)


@contextlib.contextmanager
def frame_stream(output: Path, schema: pa.Schema) -> Iterator[Callable[[pd.DataFrame], None]]:
    """Yield `write(frame)` that appends frames with `schema`'s columns to a .csv or .parquet file, so that a
    result larger than memory can be written part by part; the file appears (atomically) only when the
    block completes, and holds at least the header / schema."""
    check_stream_output_path(output)
    suffix = output.suffix.lower()
    with atomic_path(output) as tmp:
        if suffix == ".parquet":
            with pq.ParquetWriter(tmp, schema, use_dictionary=dictionary_columns(schema)) as writer:
                yield lambda frame: writer.write_table(pa.Table.from_pandas(frame, schema=schema,
                                                                            preserve_index=False))
        else:
            with open(tmp, "wb") as fh:
                fh.write(header_text(schema.names))
                yield lambda frame: write_csv(frame, fh, header=False)
