"""A corpus of FirstRateData-style text files generated from the synthetic market, for the ingest benchmark.

FirstRateData's 1-minute files: one file per symbol, ``{SYMBOL}_full_1min_UNADJUSTED.txt``, no header, one
bar per line in time order, ``\\n`` line endings::

    2024-01-02 09:30:00,187.15,188.44,183.885,185.64,3458291

(naive America/New_York datetime ``%Y-%m-%d %H:%M:%S``, open, high, low, close, volume). Prices are written
as Python's ``repr(float)`` writes them (shortest text that reads back to the same float64, ``188.0`` for a
whole number), so every file parses back to exactly the synthetic market's float64 values.

The bars are the synthetic market (:func:`tapescan.synth.synthesize`, extended hours on), ``symbols`` symbols
from ``start``, with as many sessions as it takes to reach about ``target_bytes`` (the count is estimated from
the first session's size). Generation streams: one session at a time is formatted as CSV text by pyarrow and
each symbol's slice appended to its file, so memory stays at one session whatever the corpus size.

A finished corpus has a ``corpus.json`` (parameters, sessions, total bytes, rows, files) written last; calling
:func:`write_corpus` again with the same parameters reuses it when every file is there with the recorded size.

Run on its own: ``.venv/bin/python bench/firstrate_corpus.py FOLDER --bytes 100000000``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tapescan import calendar
from tapescan.synth import synthesize

FORMAT_VERSION = 1
FILE_SUFFIX = "_full_1min_UNADJUSTED.txt"
MANIFEST = "corpus.json"
DEFAULT_SYMBOLS = 2_000
DEFAULT_START = dt.date(2024, 1, 2)
NS_PER_MINUTE = 60_000_000_000
NS_PER_DAY = 24 * 60 * NS_PER_MINUTE
PRICE_FIELDS = ("open", "high", "low", "close")
WRITE_OPTIONS = pcsv.WriteOptions(include_header=False, quoting_style="none", batch_size=1 << 16)


@dataclass(frozen=True)
class CorpusInfo:
    """A finished corpus: its files (sorted by name), their total size, bars, symbols and sessions."""

    folder: Path
    files: tuple[Path, ...]
    total_bytes: int
    rows: int
    symbols: int
    sessions: int
    first_session: dt.date
    last_session: dt.date


def file_name(symbol: str) -> str:
    return f"{symbol}{FILE_SUFFIX}"


def _price_text(values: pa.ChunkedArray) -> pa.Array:
    """Float64 as Python's repr writes it: Arrow's shortest round-trip text, plus ``.0`` on whole numbers."""
    text = pc.cast(values, pa.string())
    return pc.if_else(pc.match_substring(text, "."), text, pc.binary_join_element_wise(text, ".0", ""))


def _minute_labels(date: dt.date) -> pa.Array:
    """``YYYY-MM-DD HH:MM:00`` for each minute of the day (index = minute of the day, local time)."""
    day = date.isoformat()
    return pa.array([f"{day} {m // 60:02d}:{m % 60:02d}:00" for m in range(24 * 60)], type=pa.string())


def session_text(date: dt.date, bars: pa.Table) -> tuple[bytes, list[str], np.ndarray]:
    """One session as FirstRate CSV text: (text, symbols in order, byte offsets [len(symbols) + 1])."""
    ts = bars["ts"].combine_chunks().cast(pa.int64()).to_numpy()
    # One session never spans a daylight-saving switch (those happen at 02:00 on Sundays).
    offset = dt.datetime.combine(date, dt.time(12), tzinfo=calendar.ET).utcoffset()
    local_ns = ts + int(offset.total_seconds()) * 1_000_000_000
    minute_of_day = (local_ns % NS_PER_DAY) // NS_PER_MINUTE
    if len(local_ns) and ((local_ns // NS_PER_DAY) != (local_ns[0] // NS_PER_DAY)).any():
        raise ValueError(f"bars of {date} span more than one local day")
    table = pa.table(
        [pc.take(_minute_labels(date), pa.array(minute_of_day.astype(np.int32)))]
        + [_price_text(bars[name]) for name in PRICE_FIELDS]
        + [bars["volume"]],
        names=["ts", *PRICE_FIELDS, "volume"],
    )
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, WRITE_OPTIONS)
    text = sink.getvalue().to_pybytes()
    line_ends = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == ord("\n")) + 1
    if len(line_ends) != bars.num_rows:
        raise ValueError(f"{date}: {len(line_ends)} lines written for {bars.num_rows} bars")

    codes = bars["symbol"].combine_chunks().dictionary_encode()
    indices = codes.indices.to_numpy()
    starts = np.concatenate([[0], np.flatnonzero(np.diff(indices)) + 1])  # bars are sorted by symbol
    symbols = [codes.dictionary[int(i)].as_py() for i in indices[starts]]
    offsets = np.concatenate([[0], line_ends[np.append(starts[1:], len(indices)) - 1]])
    return text, symbols, offsets


def _manifest_key(symbols: int, start: dt.date, seed: int, target_bytes: int) -> dict:
    return {"format_version": FORMAT_VERSION, "symbols": symbols, "start": start.isoformat(),
            "seed": seed, "target_bytes": target_bytes}


def _reuse(folder: Path, key: dict) -> CorpusInfo | None:
    """The corpus in `folder` if it was made with `key` and every file is there with its recorded size."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text())
    except ValueError:
        return None
    if recorded.get("parameters") != key:
        return None
    files = tuple(folder / name for name in sorted(recorded["files"]))
    sizes = recorded["files"]
    if not all(f.is_file() and f.stat().st_size == sizes[f.name] for f in files):
        return None
    if sum(sizes.values()) != recorded["total_bytes"]:
        return None
    return CorpusInfo(folder, files, recorded["total_bytes"], recorded["rows"], len(files),
                      recorded["sessions"], dt.date.fromisoformat(recorded["first_session"]),
                      dt.date.fromisoformat(recorded["last_session"]))


def _clear(folder: Path) -> None:
    """Remove what an earlier (other or unfinished) corpus left: its manifest and its symbol files only."""
    (folder / MANIFEST).unlink(missing_ok=True)
    for path in folder.glob(f"*{FILE_SUFFIX}"):
        path.unlink()


def write_corpus(
    folder: Path,
    target_bytes: int = 1_000_000_000,
    seed: int = 0,
    *,
    symbols: int = DEFAULT_SYMBOLS,
    start: dt.date = DEFAULT_START,
    verbose: bool = False,
) -> CorpusInfo:
    """Write (or reuse) a FirstRateData-style corpus of about `target_bytes` in `folder`."""
    folder = Path(folder).expanduser()
    key = _manifest_key(symbols, start, seed, target_bytes)
    if (info := _reuse(folder, key)) is not None:
        return info
    folder.mkdir(parents=True, exist_ok=True)
    _clear(folder)
    started = time.perf_counter()

    # Bytes per session, from the first session of the same market (the universe does not depend on the
    # end date apart from the listing/delisting symbols, which matter little for the size).
    all_days = calendar.sessions(start, start + dt.timedelta(days=366 * 20))["date"].tolist()
    first_day, first_bars = next(iter(synthesize(symbols, all_days[0], all_days[0], seed, extended_hours=True)))
    first_bytes = len(session_text(first_day, first_bars)[0])
    n_sessions = max(1, min(len(all_days), round(target_bytes / first_bytes)))
    days = all_days[:n_sessions]

    sizes: dict[str, int] = {}
    rows = 0
    for date, bars in synthesize(symbols, days[0], days[-1], seed, extended_hours=True):
        text, names, offsets = session_text(date, bars)
        view = memoryview(text)
        for name, begin, end in zip(names, offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
            with open(folder / file_name(name), "ab") as out:
                out.write(view[begin:end])
            sizes[file_name(name)] = sizes.get(file_name(name), 0) + end - begin
        rows += bars.num_rows
        if verbose:
            print(f"{date}: {bars.num_rows:,} bars, {len(text) / 1e6:.1f} MB, "
                  f"{sum(sizes.values()) / 1e6:,.0f} MB in {time.perf_counter() - started:.1f} s", flush=True)

    total = sum(sizes.values())
    manifest = {
        "parameters": key,
        "sessions": len(days),
        "first_session": days[0].isoformat(),
        "last_session": days[-1].isoformat(),
        "total_bytes": total,
        "rows": rows,
        "generation_s": round(time.perf_counter() - started, 2),
        "files": dict(sorted(sizes.items())),
    }
    (folder / (MANIFEST + ".tmp")).write_text(json.dumps(manifest, indent=1))
    (folder / (MANIFEST + ".tmp")).replace(folder / MANIFEST)
    info = _reuse(folder, key)
    assert info is not None
    return info


def generation_seconds(info: CorpusInfo) -> float:
    """How long the corpus took to generate when it was written (from its manifest)."""
    return float(json.loads((info.folder / MANIFEST).read_text())["generation_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--bytes", type=int, default=1_000_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--symbols", type=int, default=DEFAULT_SYMBOLS)
    args = parser.parse_args()
    started = time.perf_counter()
    info = write_corpus(args.folder, args.bytes, args.seed, symbols=args.symbols, verbose=True)
    print(f"{info.folder}: {len(info.files):,} files, {info.total_bytes:,} bytes, {info.rows:,} rows, "
          f"{info.sessions} sessions {info.first_session}..{info.last_session} "
          f"({time.perf_counter() - started:.1f} s here, {generation_seconds(info):.1f} s to generate)")


if __name__ == "__main__":
    main()
