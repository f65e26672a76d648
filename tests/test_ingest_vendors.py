"""Each vendor's format end to end: a corpus written here (never downloaded) from synthetic bars, with every
kind of faulty row mixed in, is ingested; every stored bar is compared with the bars the corpus was written
from, and the report's counts, the quarantine files and the JSON report must be exactly as expected.

The truth is `synthesize()` (three symbols, sessions on both sides of the March 2024 DST change and the
2024-11-29 early close, thinned, with bars added at the edges of the extended and regular sessions). Each
vendor file is rendered from it in the vendor's layout, in the file's own time zone (formatted here with
pandas, independently of the ingest code), shuffled, and salted with faults whose reason is known.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import functools
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tapescan import calendar
from tapescan.cli.main import app
from tapescan.errors import IngestError
from tapescan.ingest import IngestOptions, blocks, ingest, pipeline, stage
from tapescan.ingest.validate import REASONS
from tapescan.store import Store
from tapescan.synth import synthesize
from tests.cli_process import tapescan
from tests.thetadata_terminal import FakeTerminal, v3_csv

ET = "America/New_York"
NOT_QUARANTINED = {"empty_bar"}  # counted as rejected, but placeholders carry nothing worth keeping
CHICAGO = "America/Chicago"
runner = CliRunner()

# ------------------------------------------------------------------------------------------------ truth

#: Bars added on every session (synthetic extended bars are sparse): the first and last extended minutes
#: and both sides of the open and the close, in ET.
EDGE_MINUTES = {
    False: ("04:00", "09:29", "09:30", "15:59", "16:00", "19:59"),
    True: ("04:00", "09:29", "09:30", "12:59", "13:00", "16:59"),  # early close
}
TRUTH_RANGES = (("2024-03-08", "2024-03-11"), ("2024-11-29", "2024-11-29"))


@functools.cache
def truth() -> pd.DataFrame:
    """SPY, AAPL and MSFT on 2024-03-08 (EST), 2024-03-11 (EDT) and 2024-11-29 (early close), sorted."""
    frames = [table.to_pandas() for start, end in TRUTH_RANGES
              for _, table in synthesize(3, start, end, seed=11, extended_hours=True)]
    bars = pd.concat(frames, ignore_index=True)
    minute = bars.ts.dt.hour * 60 + bars.ts.dt.minute
    hhmm = bars.ts.dt.strftime("%H:%M")
    bars = bars[(minute % 13 == 0) & ~hhmm.isin(EDGE_MINUTES[False] + EDGE_MINUTES[True])]
    edges = []
    for (symbol, day), group in bars.groupby([bars.symbol, bars.ts.dt.date]):
        early = bool(calendar.sessions(day, day).early_close.iloc[0])
        price = float(group.close.iloc[len(group) // 2])
        for i, stamp in enumerate(EDGE_MINUTES[early]):
            edges.append({
                "symbol": symbol, "ts": pd.Timestamp(f"{day} {stamp}", tz=ET), "open": price,
                "high": round(price + 0.05 + i / 100, 2), "low": round(price - 0.04, 2),
                "close": round(price + 0.03, 2), "volume": 100 + i,
            })
    bars = pd.concat([bars, pd.DataFrame(edges)], ignore_index=True)
    bars["ts"] = bars.ts.astype(f"datetime64[ns, {ET}]")
    bars["volume"] = bars.volume.astype(np.int64)
    return bars.sort_values(["symbol", "ts"], ignore_index=True)


def truth_of(symbol: str, days: tuple[str, ...] | None = None) -> pd.DataFrame:
    bars = truth()
    bars = bars[bars.symbol == symbol]
    if days is not None:
        bars = bars[bars.ts.dt.strftime("%Y-%m-%d").isin(days)]
    return bars


def with_extended(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars with the store's `extended` flag, from the calendar's open and close of each bar's ET day."""
    sessions = calendar.sessions("2024-01-02", "2024-12-31").set_index("date")
    day = bars.ts.dt.date
    opens = pd.DatetimeIndex(sessions.loc[day, "open"]).tz_convert(ET)
    closes = pd.DatetimeIndex(sessions.loc[day, "close"]).tz_convert(ET)
    out = bars.copy()
    out["extended"] = (bars.ts.to_numpy() < opens.to_numpy()) | (bars.ts.to_numpy() >= closes.to_numpy())
    return out


# ------------------------------------------------------------------------------------------ vendor layouts


def _hhmm(t: dt.datetime) -> str:
    return f"{t:%H:%M}" if t.second == 0 else f"{t:%H:%M:%S}"


@dataclass(frozen=True)
class Format:
    """How one vendor writes a row: fields(symbol, naive local time, (o, h, l, c, v) texts)."""

    delimiter: str
    fields: Callable[[str, dt.datetime, tuple[str, ...]], list[str]]
    seconds: bool = True  # the time stamp carries seconds (else 12:01:30 does not parse)
    empty: tuple[str, ...] = ("0", "0", "0", "0", "0")  # a placeholder for a minute without trades
    symbol_column: bool = False
    header: str | None = None

    def render(self, symbol: str, t: dt.datetime, values: tuple[str, ...]) -> str:
        return self.delimiter.join(self.fields(symbol, t, values))


FORMATS = {
    "firstrate": Format(",", lambda s, t, v: [f"{t:%Y-%m-%d %H:%M:%S}", *v]),
    "kibot": Format(",", lambda s, t, v: [f"{t:%m/%d/%Y}", _hhmm(t), *v], seconds=False),
    "backtestmarket": Format(";", lambda s, t, v: [f"{t:%d/%m/%Y}", _hhmm(t), *v], seconds=False),
    "thetadata-v3": Format(
        ",", lambda s, t, v: [f"{t:%Y-%m-%dT%H:%M:%S}.000", *v, "0" if v[4] == "0" else "3", v[3]],
        empty=("NaN", "NaN", "NaN", "NaN", "0"), header="timestamp,open,high,low,close,volume,count,vwap",
    ),
    "thetadata-v2": Format(
        ",", lambda s, t, v: [f"{t:%Y-%m-%dT%H:%M:%S}.000", *v, "2"],
        header="timestamp,open,high,low,close,volume,count",
    ),
    "thetadata-v2-raw": Format(  # the v2 response's own columns: milliseconds of the day and an integer date
        ",", lambda s, t, v: [str((t.hour * 3600 + t.minute * 60 + t.second) * 1000), *v, "4", f"{t:%Y%m%d}"],
        header="ms_of_day,open,high,low,close,volume,count,date",
    ),
    "csv-iso": Format(
        ",", lambda s, t, v: [f"{t:%Y-%m-%d}", f"{t:%H:%M:%S}", *v, s], symbol_column=True,
        header="Date,Time,O,H,L,C,V,Ticker",
    ),
    "csv-compact": Format(
        ",", lambda s, t, v: [f"{t:%Y%m%d}", _hhmm(t), *v, s], seconds=False, symbol_column=True,
        header="Date,Time,O,H,L,C,V,Ticker",
    ),
}
CSV_MAP = "ts=Date+Time,open=O,high=H,low=L,close=C,volume=V,symbol=Ticker"

GOOD = ("10.0", "10.5", "9.5", "10.25", "100")
NOON = dt.datetime(2024, 3, 8, 12, 0)


def fault_lines(fmt: Format, symbol: str) -> list[tuple[str, str]]:
    """(text, expected reason) of every kind of bad row, in the file's layout."""

    def row(t: dt.datetime = NOON, values: tuple[str, ...] = GOOD, sym: str = symbol) -> str:
        return fmt.render(sym, t, values)

    d = fmt.delimiter
    faults = [
        ("this line is not a bar", "wrong_column_count"),
        (row() + d + "7", "wrong_column_count"),  # an extra field
        (d.join(fmt.fields(symbol, NOON, GOOD)[:-1]), "wrong_column_count"),  # a field missing
        (row(values=("x", *GOOD[1:])), "unparseable"),
        (row(values=(*GOOD[:4], "1.5")), "unparseable"),  # volumes are whole numbers
        (row(values=fmt.empty), "empty_bar"),
        (row(t=NOON.replace(minute=1, second=30)), "not_on_minute" if fmt.seconds else "unparseable"),
        (row(t=dt.datetime(2024, 3, 10, 2, 30)), "nonexistent_local_time"),  # also a Sunday
        (row(t=dt.datetime(2024, 11, 3, 1, 30)), "ambiguous_local_time"),  # also a Sunday
        (row(t=dt.datetime(2024, 3, 9, 10, 0)), "non_session_day"),  # a Saturday
        (row(t=dt.datetime(2024, 1, 15, 10, 0)), "non_session_day"),  # Martin Luther King Jr. Day
        (row(values=("inf", *GOOD[1:])), "non_finite_price"),
        (row(values=("10.0", "10.5", "0.0", "10.25", "100")), "non_positive_price"),
        (row(values=("-1.5", *GOOD[1:])), "non_positive_price"),
        (row(values=(*GOOD[:4], "-5")), "negative_volume"),
        (row(values=("9.75", "9.5", "10.0", "9.75", "100")), "high_below_low"),
        (row(values=("10.0", "10.5", "9.5", "10.75", "100")), "high_below_open_close"),
        (row(values=("9.25", "10.5", "9.5", "10.25", "100")), "low_above_open_close"),
    ]
    if fmt.symbol_column:
        faults.append((row(sym=""), "unparseable"))
    return faults


# ----------------------------------------------------------------------------------------------- corpora


@dataclass
class Line:
    """One line of a corpus file and what the ingest must make of it."""

    text: str
    kind: str  # "bar", "duplicate", "blank", "header", or a rejection reason (validate.REASONS)
    key: tuple[str, pd.Timestamp] | None = None  # (symbol, ts) of a truth bar
    values: tuple[str, ...] = ()
    reserved: bool = False  # the bar already has a duplicate or a conflict

    def quarantine_raw(self) -> str:
        """The text the quarantine file must hold: the line, or for conflicts the row as parsed (ET)."""
        if self.kind == "conflicting_duplicate":
            return ",".join([f"{self.key[1]:%Y-%m-%d %H:%M:%S}", *self.values])
        return self.text


def bar_lines(fmt: Format, bars: pd.DataFrame, tz: str, symbol: str | None = None) -> list[Line]:
    """The truth bars as lines, time stamps naive in `tz`; `symbol` renames them in the file."""
    local = bars.ts.dt.tz_convert(tz).dt.tz_localize(None)
    lines = []
    for row, t in zip(bars.itertuples(index=False), local):
        values = (repr(row.open), repr(row.high), repr(row.low), repr(row.close), str(row.volume))
        lines.append(Line(fmt.render(symbol or row.symbol, t.to_pydatetime(), values), "bar",
                          (row.symbol, row.ts), values))
    return lines


def unreserved(lines: list[Line], rng: np.random.Generator) -> Line:
    """A bar line without a duplicate or conflict yet, reserved for one."""
    candidates = [line for line in lines if line.kind == "bar" and not line.reserved]
    line = candidates[int(rng.integers(len(candidates)))]
    line.reserved = True
    return line


def conflicting(fmt: Format, line: Line, symbol: str, tz: str = ET) -> Line:
    """A row for the same symbol and minute as `line` with another volume; both must be quarantined."""
    line.kind = "conflicting_duplicate"
    values = (*line.values[:4], str(int(line.values[4]) + 1))
    t = line.key[1].tz_convert(tz).tz_localize(None).to_pydatetime()
    return Line(fmt.render(symbol, t, values), "conflicting_duplicate", line.key, values, reserved=True)


def corpus_file(
    fmt: Format, bars: pd.DataFrame, seed: int, *, tz: str = ET, symbol: str | None = None,
    faults: bool = True, header: str | None = None,
) -> list[Line]:
    """The bars shuffled (out of order), with faults, an identical duplicate, a conflict and blank lines."""
    rng = np.random.default_rng(seed)
    good = bar_lines(fmt, bars, tz, symbol)
    lines = [good[i] for i in rng.permutation(len(good))]
    file_symbol = symbol or str(bars.symbol.iloc[0])
    if faults:
        extra = [Line(text, reason) for text, reason in fault_lines(fmt, file_symbol)]
        extra.append(Line(unreserved(lines, rng).text, "duplicate"))
        base = unreserved(lines, rng)
        extra.append(conflicting(fmt, base, symbol or base.key[0], tz))
        extra += [Line("", "blank") for _ in range(3)]
        for item in extra:
            lines.insert(int(rng.integers(1, len(lines) + 1)), item)  # never first: it is sniffed
        lines.append(Line("", "blank"))
    header = header or fmt.header
    if header:
        lines.insert(0, Line(header, "header"))
    return lines


def file_text(lines: list[Line], eol: str | None, seed: int = 0) -> bytes:
    """The file's bytes; eol None mixes \\n and \\r\\n line endings."""
    rng = np.random.default_rng(seed)
    endings = [eol or ("\r\n" if rng.random() < 0.5 else "\n") for _ in lines]
    return "".join(line.text + ending for line, ending in zip(lines, endings)).encode()


def write(path: Path, lines: list[Line], eol: str | None = "\n", final_eol: bool = True, bom: bool = False) -> str:
    """Write the lines; optionally without a line break at the end, or with a UTF-8 byte order mark first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = file_text(lines, eol)
    text = text if final_eol else text.rstrip(b"\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text if bom else text)
    return str(path)


# ---------------------------------------------------------------------------------------------- checking


@dataclass
class Expected:
    """What the report and the quarantine file must say about one source file."""

    symbol: str | None
    adjustment: str
    rows_read: int
    rows_stored: int
    rows_rejected: int
    rows_duplicate: int
    rejected_by_reason: dict[str, int]
    header_lines: int
    blank_lines: int
    quarantine: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, raw)


def expect(lines: list[Line], symbol: str | None, adjustment: str) -> Expected:
    kinds = collections.Counter(line.kind for line in lines)
    reasons = {kind: count for kind, count in kinds.items() if kind in REASONS}
    quarantine = [(number, line.kind, line.quarantine_raw()) for number, line in enumerate(lines, start=1)
                  if line.kind in REASONS and line.kind not in NOT_QUARANTINED]
    return Expected(
        symbol=symbol, adjustment=adjustment,
        rows_read=len(lines) - kinds["blank"] - kinds["header"], rows_stored=kinds["bar"],
        rows_rejected=sum(reasons.values()), rows_duplicate=kinds["duplicate"],
        rejected_by_reason=reasons, header_lines=kinds["header"], blank_lines=kinds["blank"], quarantine=quarantine,
    )


def expected_bars(files: list[list[Line]]) -> pd.DataFrame:
    """The truth bars that some line of the corpus delivers and no conflict spoils."""
    stored = {line.key for lines in files for line in lines if line.kind == "bar"}
    spoiled = {line.key for lines in files for line in lines if line.kind == "conflicting_duplicate"}
    bars = truth()
    keep = [(s, t) in stored and (s, t) not in spoiled for s, t in zip(bars.symbol, bars.ts)]
    return bars[keep]


def assert_rows_equal(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    actual_rows = list(actual.itertuples(index=False, name=None))
    expected_rows = list(expected.itertuples(index=False, name=None))
    actual_set, expected_set = set(actual_rows), set(expected_rows)
    missing = [row for row in expected_rows if row not in actual_set]
    unexpected = [row for row in actual_rows if row not in expected_set]
    assert not missing and not unexpected, f"missing {missing[:3]}, unexpected {unexpected[:3]}"
    assert actual_rows == expected_rows  # same order as well


def check_store(root: Path, expected: pd.DataFrame) -> None:
    """Every stored bar, partition by partition: filed under its ET session day, sorted, equal to `expected`."""
    manifest = Store(root).manifest()
    frames = []
    for key in sorted(manifest.bars_1m):
        frame = pq.read_table(root / manifest.bars_1m[key].file).to_pandas()
        assert (frame.ts.dt.tz_convert(ET).dt.strftime("%Y-%m-%d") == key).all(), key
        order = frame.sort_values(["symbol", "ts"], ignore_index=True)
        assert frame.reset_index(drop=True).equals(order), f"partition {key} is not sorted by (symbol, ts)"
        frames.append(frame)
    stored = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*expected.columns, "extended"])
    columns = ["symbol", "ts", "open", "high", "low", "close", "volume", "extended"]
    want = with_extended(expected.sort_values(["ts", "symbol"], ignore_index=True))
    got = stored.sort_values(["ts", "symbol"], ignore_index=True)
    assert_rows_equal(got[columns], want[columns])
    assert got.ts.dt.tz is not None and str(got.ts.dt.tz) == ET


def read_quarantine(root: Path, relative: str | None) -> list[tuple[int, str, str]]:
    if relative is None:
        return []
    with open(root / relative, newline="") as handle:
        return [(int(row["line"]), row["reason"], row["raw"]) for row in csv.DictReader(handle)]


def check_report(root: Path, files: dict[str, Expected], report: object | None = None) -> dict:
    """The JSON report in STORE/reports/ (and the returned report, when given): exact counts per file."""
    saved = sorted((root / pipeline.REPORTS_FOLDER).glob("*.json"))
    assert len(saved) == 1, saved
    data = json.loads(saved[0].read_text())
    if report is not None:
        assert report.to_json() == data
        assert Path(report.report_file) == saved[0]
    by_label = {item["source"]: item for item in data["sources"]}
    assert sorted(by_label) == sorted(files)
    for label, want in files.items():
        got = by_label[label]
        counts = {name: got[name] for name in ("symbol", "adjustment", "rows_read", "rows_stored", "rows_rejected",
                                               "rows_duplicate", "rejected_by_reason", "header_lines", "blank_lines")}
        wanted = {name: getattr(want, name) for name in counts}
        assert counts == wanted, label
        assert got["rows_read"] == got["rows_stored"] + got["rows_rejected"] + got["rows_duplicate"]
        quarantine = read_quarantine(root, got["quarantine"])
        assert quarantine == want.quarantine, label
        if want.quarantine:
            assert got["quarantine"].startswith(f"quarantine/{data['vendor']}/")
    total = data["total"]
    assert total["files"] == len(files)
    for name in ("rows_read", "rows_stored", "rows_rejected", "rows_duplicate"):
        assert total[name] == sum(getattr(want, name) for want in files.values()), name
    reasons: collections.Counter = collections.Counter()
    for want in files.values():
        reasons.update(want.rejected_by_reason)
    assert total["rejected_by_reason"] == dict(sorted(reasons.items()))
    return data


def check_symbols(root: Path, expected: dict[str, tuple[str, dict[str, str]]]) -> None:
    """The symbols table: symbol -> (adjustment, attributes)."""
    table = Store(root).symbols()
    got = {row.symbol: (row.adjustment, json.loads(row.attributes)) for row in table.itertuples()}
    assert got == expected


def cli(*args: str) -> None:
    result = runner.invoke(app, ["--quiet", "ingest", *args, "--workers", "1"])
    assert result.exit_code == 0, (result.output, result.exception)


# ----------------------------------------------------------------------------------------------- vendors


@pytest.mark.parametrize("workers, block_bytes", [(1, None), (2, None), (1, 97)])
def test_firstrate_folder_and_zip(tmp_path, monkeypatch, workers, block_bytes):
    """Header detected, mixed line endings, a -DELISTED name, a zip, and duplicates/conflicts across files.

    Also with two worker processes (one task per file), and read in blocks of a few lines (line numbers
    and counts carry across block boundaries)."""
    pools = []
    if workers > 1:
        monkeypatch.setattr(pipeline, "TASK_BYTES", (1, 1 << 30))  # one task per file, so the pool is used
        real_pool = pipeline.ProcessPoolExecutor

        def pool(*args, **kwargs):
            pools.append(kwargs.get("max_workers", args[0] if args else None))
            return real_pool(*args, **kwargs)

        monkeypatch.setattr(pipeline, "ProcessPoolExecutor", pool)
    if block_bytes:
        monkeypatch.setattr(stage, "iter_blocks", functools.partial(blocks.iter_blocks, block_bytes=block_bytes))
    fmt = FORMATS["firstrate"]
    folder = tmp_path / "bundle"
    march = ("2024-03-08", "2024-03-11")
    aapl = corpus_file(fmt, truth_of("AAPL", march), 1, header="DateTime,Open,High,Low,Close,Volume")
    olpx = corpus_file(fmt, truth_of("MSFT"), 2, symbol="OLPX-DELISTED")
    spy = corpus_file(fmt, truth_of("SPY"), 3)
    late = corpus_file(fmt, truth_of("AAPL", ("2024-11-29",)), 4, faults=False)
    rng = np.random.default_rng(5)
    late.append(Line(unreserved(aapl, rng).text, "duplicate"))  # the folder's file comes first: kept there
    late.append(conflicting(fmt, unreserved(aapl, rng), "AAPL"))
    late.append(Line("", "blank"))
    paths = {
        "aapl": write(folder / "AAPL_full_1min_adjsplit.txt", aapl, eol=None),
        "olpx": write(folder / "OLPX-DELISTED_full_1min_adjsplit.txt", olpx, eol=None, bom=True),
    }
    archive = folder / "more.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("SPY_full_1min_adjsplit.txt", file_text(spy, None, seed=1))
        bundle.writestr("late/AAPL_full_1min_adjsplit.txt", file_text(late, "\r\n"))
        bundle.writestr("late/readme.pdf", b"%PDF")
    (folder / "notes.md").write_text("not data")

    report = ingest(tmp_path / "store", "firstrate", [folder], workers=workers)

    root = tmp_path / "store"
    # the OLPX rows are MSFT's truth bars under the file's ticker
    bars = expected_bars([aapl, olpx, spy, late])
    bars = bars.assign(symbol=bars.symbol.replace({"MSFT": "OLPX"})).sort_values(["symbol", "ts"])
    check_store(root, bars)
    check_report(root, {
        paths["aapl"]: expect(aapl, "AAPL", "split"),
        paths["olpx"]: expect(olpx, "OLPX", "split"),
        f"{archive}!SPY_full_1min_adjsplit.txt": expect(spy, "SPY", "split"),
        f"{archive}!late/AAPL_full_1min_adjsplit.txt": expect(late, "AAPL", "split"),
    }, report)
    assert sorted(report.skipped) == [f"{archive}!late/readme.pdf (not a .txt or .csv file)",
                                      f"{folder / 'notes.md'} (not a .txt or .csv file)"]
    check_symbols(root, {
        "AAPL": ("split", {}), "SPY": ("split", {}),
        "OLPX": ("split", {"delisted": "true", "vendor_symbol": "OLPX-DELISTED"}),
    })
    assert report.symbols_added == ["AAPL", "OLPX", "SPY"]
    assert report.sessions_written == 3
    assert not (root / pipeline.STAGING_FOLDER).exists()
    assert pools == ([2] if workers > 1 else [])


def test_kibot(tmp_path):
    fmt = FORMATS["kibot"]
    aapl = corpus_file(fmt, truth_of("AAPL"), 11)
    msft = corpus_file(fmt, truth_of("MSFT"), 12)
    del msft[-1]  # the last line is a bar without a line break after it
    assert msft[-1].text
    paths = [write(tmp_path / "in" / "AAPL.txt", aapl),
             write(tmp_path / "in" / "MSFT.txt", msft, eol="\r\n", final_eol=False)]

    report = ingest(tmp_path / "store", "kibot", paths, workers=1)

    root = tmp_path / "store"
    check_store(root, expected_bars([aapl, msft]))
    check_report(root, {paths[0]: expect(aapl, "AAPL", "split_dividend"),
                        paths[1]: expect(msft, "MSFT", "split_dividend")}, report)
    check_symbols(root, {"AAPL": ("split_dividend", {}), "MSFT": ("split_dividend", {})})


@pytest.mark.parametrize("content, kind", [
    ("08/31/2011,09:30:00,412.51,100\n08/31/2011,09:30:01,412.52,300\n", "tick data (Date,Time,Price,Size)"),
    ("08/31/2011,09:30:00,412.51,412.50,412.53,100\n08/31/2011,09:30:01,412.52,412.5,412.53,300\n",
     "tick data with bid/ask"),
    ("08/31/2011,09:30,1.0,1.2,0.9,1.1,1.1,1.3,1.0,1.2\n08/31/2011,09:31,1.0,1.2,0.9,1.1,1.1,1.3,1.0,1.2\n",
     "bid/ask 1-minute bars"),
])
def test_kibot_refuses_tick_and_bid_ask_files(tmp_path, content, kind):
    good = tmp_path / "in" / "MSFT.txt"
    write(good, corpus_file(FORMATS["kibot"], truth_of("MSFT"), 13, faults=False))
    (tmp_path / "in" / "AAPL.txt").write_text(content)
    with pytest.raises(IngestError) as raised:
        ingest(tmp_path / "store", "kibot", [tmp_path / "in"], workers=1)
    message = str(raised.value)
    assert "1 file(s) cannot be ingested; nothing was written" in message
    assert "AAPL.txt holds " + kind in message and "Kibot 1-minute trade bars" in message
    assert "looks like" not in message  # a tick file has no other vendor's shape
    assert not (tmp_path / "store").exists()


def backtestmarket_corpus(tz: str) -> tuple[list[Line], list[Line]]:
    fmt = FORMATS["backtestmarket"]
    return corpus_file(fmt, truth_of("AAPL"), 21, tz=tz), corpus_file(fmt, truth_of("SPY"), 22, tz=tz)


def test_backtestmarket_via_cli(tmp_path):
    """Day-first dates detected (29/11/2024); through the command line."""
    aapl, spy = backtestmarket_corpus(ET)
    paths = [write(tmp_path / "in" / "AAPL_1min.txt", aapl), write(tmp_path / "in" / "SPY_1min.txt", spy, eol=None)]
    root = tmp_path / "store"
    cli("backtestmarket", *paths, "--store", str(root))
    check_store(root, expected_bars([aapl, spy]))
    check_report(root, {paths[0]: expect(aapl, "AAPL", "unadjusted"), paths[1]: expect(spy, "SPY", "unadjusted")})
    check_symbols(root, {"AAPL": ("unadjusted", {}), "SPY": ("unadjusted", {})})


def test_backtestmarket_chicago_times_with_tz(tmp_path):
    """The same bars written in Chicago wall-clock time and read with --tz America/Chicago store the same."""
    aapl, spy = backtestmarket_corpus(CHICAGO)
    # Friday 23:30 in Chicago is Saturday 00:30 in New York: sessions are ET days
    late_friday = FORMATS["backtestmarket"].render("SPY", dt.datetime(2024, 3, 8, 23, 30), GOOD)
    spy.insert(7, Line(late_friday, "non_session_day"))
    paths = [write(tmp_path / "in" / "AAPL_1min.txt", aapl), write(tmp_path / "in" / "SPY_1min.txt", spy)]
    root = tmp_path / "store"
    cli("backtestmarket", *paths, "--store", str(root), "--tz", CHICAGO)
    check_store(root, expected_bars([aapl, spy]))
    check_report(root, {paths[0]: expect(aapl, "AAPL", "unadjusted"), paths[1]: expect(spy, "SPY", "unadjusted")})
    # read as Eastern times instead, every bar lands an hour early
    other = tmp_path / "other"
    ingest(other, "backtestmarket", paths, workers=1)
    stored = Store(other).read_bars("AAPL", "2024-03-01", "2024-12-31", extended_hours=True)
    want = expected_bars([aapl])
    assert list(stored.ts) == list(want.ts - pd.Timedelta(hours=1))


def test_backtestmarket_ambiguous_dates_need_dayfirst_or_monthfirst(tmp_path):
    fmt = FORMATS["backtestmarket"]
    lines = corpus_file(fmt, truth_of("AAPL", ("2024-03-08", "2024-03-11")), 23, faults=False)
    path = write(tmp_path / "AAPL_1min.txt", lines)  # 08/03/2024 and 11/03/2024 only: either way round
    with pytest.raises(IngestError, match="reads both as DD/MM/YYYY and as MM/DD/YYYY.*--dayfirst or --monthfirst"):
        ingest(tmp_path / "refused", "backtestmarket", [path], workers=1)
    assert not (tmp_path / "refused").exists()

    cli("backtestmarket", path, "--store", str(tmp_path / "dayfirst"), "--dayfirst")
    check_store(tmp_path / "dayfirst", expected_bars([lines]))
    check_report(tmp_path / "dayfirst", {path: expect(lines, "AAPL", "unadjusted")})

    # month first, they are Saturday 2024-08-03 and Sunday 2024-11-03: no session, every row rejected
    report = ingest(tmp_path / "monthfirst", "backtestmarket", [path], options=IngestOptions(dayfirst=False), workers=1)
    counts = report.sources[0]
    assert (counts.rows_read, counts.rows_stored) == (len(lines), 0)
    assert counts.rejected_by_reason == {"non_session_day": len(lines)}
    assert [line for line, _, _ in read_quarantine(tmp_path / "monthfirst", counts.quarantine)] == list(
        range(1, len(lines) + 1))


def test_thetadata_saved_csv_v3_and_v2(tmp_path):
    """v3 (CRLF, NaN placeholders for empty minutes), v2 as the fetcher writes it and v2 with ms_of_day,...,date."""
    v3 = FORMATS["thetadata-v3"]
    aapl = corpus_file(v3, truth_of("AAPL"), 31)
    # placeholders for minutes without trades: counted as empty_bar, never quarantined
    for minute in ("09:31", "13:07", "19:58"):
        t = dt.datetime.fromisoformat(f"2024-03-11 {minute}")
        aapl.insert(5, Line(v3.render("AAPL", t, v3.empty), "empty_bar"))
    msft = corpus_file(FORMATS["thetadata-v2"], truth_of("MSFT"), 32)
    spy = corpus_file(FORMATS["thetadata-v2-raw"], truth_of("SPY"), 33)
    paths = [write(tmp_path / "in" / "AAPL_20240308_20241129_1m.csv", aapl, eol="\r\n"),
             write(tmp_path / "in" / "MSFT_20240308_20241129_1m.csv", msft),
             write(tmp_path / "in" / "BRK.B_20240308_20241129_1m.csv", spy)]  # SPY's bars, as the fetcher names BRK.B

    report = ingest(tmp_path / "store", "thetadata", [tmp_path / "in"], workers=1)

    root = tmp_path / "store"
    bars = expected_bars([aapl, msft, spy])
    check_store(root, bars.assign(symbol=bars.symbol.replace({"SPY": "BRK.B"})).sort_values(["symbol", "ts"]))
    files = {paths[0]: expect(aapl, "AAPL", "unadjusted"), paths[1]: expect(msft, "MSFT", "unadjusted"),
             paths[2]: expect(spy, "BRK.B", "unadjusted")}
    assert files[paths[0]].rejected_by_reason["empty_bar"] == 4
    check_report(root, files, report)
    assert all(reason != "empty_bar" for _, reason, _ in read_quarantine(root, report.sources[0].quarantine))


@pytest.mark.parametrize("existing", [True, False])
def test_thetadata_download_via_cli(tmp_path, existing):
    """`--symbols` fetches from a (fake) Theta Terminal into the store's downloads, then ingests the files.

    The fake terminal trades on 2024-01-15 (a market holiday): those rows are non_session_day; its empty
    minute of each day is a NaN placeholder: empty_bar; it has no data for ZZZZ (a header-only file).
    Expected lines are the terminal's own answers.
    """
    root = tmp_path / "store"
    if existing:
        Store.create(root)
    start, end = dt.date(2024, 1, 12), dt.date(2024, 1, 16)
    with FakeTerminal(no_data=("ZZZZ",)) as terminal:
        cli("thetadata", "--store", str(root), "--symbols", "AAPL,MSFT,ZZZZ", "--start", f"{start}", "--end",
            f"{end}", "--terminal", terminal.url)
    files, rows = {}, []
    no_data = root / "downloads" / "thetadata" / f"ZZZZ_{start:%Y%m%d}_{end:%Y%m%d}_1m.csv"  # header only
    files[str(no_data)] = expect([Line(FORMATS["thetadata-v3"].header, "header")], "ZZZZ", "unadjusted")
    for symbol in ("AAPL", "MSFT"):
        header, *answer = v3_csv(symbol, start, end).split("\r\n")[:-1]
        lines = [Line(header, "header")]
        for text in answer:
            stamp, *values = text.split(",")[:6]
            ts = pd.Timestamp(stamp, tz=ET)
            if values[0] == "NaN":
                lines.append(Line(text, "empty_bar"))
            elif ts.date() == dt.date(2024, 1, 15):
                lines.append(Line(text, "non_session_day"))
            else:
                lines.append(Line(text, "bar", (symbol, ts), tuple(values)))
                rows.append({"symbol": symbol, "ts": ts, **{name: float(value) for name, value in
                             zip(("open", "high", "low", "close"), values)}, "volume": int(values[4])})
        path = root / "downloads" / "thetadata" / f"{symbol}_{start:%Y%m%d}_{end:%Y%m%d}_1m.csv"
        files[str(path)] = expect(lines, symbol, "unadjusted")
        assert files[str(path)].rejected_by_reason == {"empty_bar": 3, "non_session_day": 4}
    bars = pd.DataFrame(rows)
    bars["ts"] = bars.ts.astype(f"datetime64[ns, {ET}]")
    check_store(root, bars)
    check_report(root, files)


@pytest.mark.parametrize("style", ["csv-iso", "csv-compact"])
def test_csv_multi_symbol_with_map_via_cli(tmp_path, style):
    """One file of three symbols (tickers in any case), columns named by --map; 2024-03-08 or 20240308 dates.

    The ISO-dated file starts with a UTF-8 byte order mark, as Excel writes CSV files."""
    fmt = FORMATS[style]
    lines = corpus_file(fmt, truth(), 41)
    rng = np.random.default_rng(42)
    for line in lines:  # some tickers in lower case: symbols are upper-cased
        if line.kind == "bar" and not line.reserved and rng.random() < 0.3:
            head, _, ticker = line.text.rpartition(",")
            line.text = f"{head},{ticker.lower()}"
    path = write(tmp_path / "bars.csv", lines, eol=None, bom=style == "csv-iso")  # as Excel saves it
    root = tmp_path / "store"
    cli("csv", path, "--store", str(root), "--map", CSV_MAP)
    check_store(root, expected_bars([lines]))
    check_report(root, {path: expect(lines, None, "unknown")})
    check_symbols(root, {symbol: ("unknown", {}) for symbol in ("AAPL", "MSFT", "SPY")})


# ------------------------------------------------------------------------------------------------ Parquet


@pytest.mark.parametrize("zone", ["UTC", None])
def test_csv_reads_parquet_with_zoned_or_naive_timestamps(tmp_path, zone):
    """A Parquet file of three symbols: a zoned timestamp column is used as it is, a naive one is read in --tz.

    Faults: a bar with high below low, an exact repeat, and a float volume that is not a whole number."""
    bars = truth().reset_index(drop=True)
    stamps = bars.ts.dt.tz_convert(zone) if zone else bars.ts.dt.tz_convert(CHICAGO).dt.tz_localize(None)
    frame = pd.DataFrame({"Ticker": bars.symbol.str.lower(), "When": stamps, "O": bars.open, "H": bars.high,
                          "L": bars.low, "C": bars.close, "V": bars.volume.astype(float)})
    bad = frame.iloc[[5]].assign(H=frame.L.iloc[5] - 0.01)
    repeat = frame.iloc[[7]]
    fractional = frame.iloc[[9]].assign(V=1.5)
    frame = pd.concat([frame.drop(index=[5, 9]), bad, repeat, fractional], ignore_index=True)
    path = tmp_path / "bars.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=50)
    root = tmp_path / "store"
    args = ["csv", str(path), "--store", str(root), "--map", "ts=When,open=O,high=H,low=L,close=C,volume=V,symbol=Ticker"]
    cli(*args, *([] if zone else ["--tz", CHICAGO]))
    check_store(root, bars.drop(index=[5, 9]))
    report = json.loads(next((root / "reports").glob("*.json")).read_text())
    assert report["total"]["rows_read"] == len(frame)
    assert report["total"]["rows_duplicate"] == 1
    assert report["total"]["rejected_by_reason"] == {"high_below_low": 1, "unparseable": 1}
    quarantined = read_quarantine(root, report["sources"][0]["quarantine"])
    assert [(line, reason) for line, reason, _ in quarantined] == [
        (len(frame) - 2, "high_below_low"), (len(frame), "unparseable")]


# ------------------------------------------------------------------------------------ the wrong vendor named

#: A file of each recognisable shape, named as its vendor names it: shape -> (vendor, title, file name, format,
#: header line).
SHAPES = {
    "firstrate": ("firstrate", "FirstRateData", "AAPL_full_1min_adjsplitdiv.txt", "firstrate", None),
    "firstrate-header": ("firstrate", "FirstRateData", "AAPL_full_1min_UNADJUSTED.txt", "firstrate",
                         "DateTime,Open,High,Low,Close,Volume"),
    "kibot": ("kibot", "Kibot", "AAPL.txt", "kibot", None),
    "backtestmarket": ("backtestmarket", "BacktestMarket", "AAPL_1min.txt", "backtestmarket", None),
    "thetadata-v3": ("thetadata", "ThetaData", "AAPL_20240308_20241129_1m.csv", "thetadata-v3", None),
    "thetadata-v2": ("thetadata", "ThetaData", "AAPL_20240308_20241129_1m.csv", "thetadata-v2", None),
    "thetadata-v2-raw": ("thetadata", "ThetaData", "AAPL_20240308_20241129_1m.csv", "thetadata-v2-raw", None),
}
VENDOR_NAMES = ("firstrate", "kibot", "backtestmarket", "thetadata", "csv")


def shape_file(folder: Path, shape: str) -> Path:
    _, _, name, fmt, header = SHAPES[shape]
    return Path(write(folder / name, corpus_file(FORMATS[fmt], truth_of("AAPL"), 51, faults=False, header=header)))


@pytest.mark.parametrize("shape, named", [(shape, named) for shape, (vendor, *_) in SHAPES.items()
                                          for named in VENDOR_NAMES if named != vendor])
def test_a_file_of_another_vendor_is_refused_naming_that_vendor(tmp_path, shape, named):
    """Every pair: a file with vendor Y's lines given as vendor X says it looks like Y's and to use `ingest Y`."""
    vendor, title, *_ = SHAPES[shape]
    path = shape_file(tmp_path / "in", shape)
    with pytest.raises(IngestError) as raised:
        ingest(tmp_path / "store", named, [path], workers=1)
    message = str(raised.value)
    assert f"{path} looks like a {title} file" in message
    assert f"which `tapescan ingest {named}` does not read; use `tapescan ingest {vendor}` for it." in message
    assert "nothing was written" in message
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_vendor_named_for_a_lookalike_reads_it(tmp_path, shape):
    vendor = SHAPES[shape][0]
    report = ingest(tmp_path / "store", vendor, [shape_file(tmp_path / "in", shape)], workers=1)
    assert report.total.rows_stored == len(truth_of("AAPL")) and report.total.rows_rejected == 0


def test_cli_names_firstrate_for_a_firstrate_file_given_as_kibot(tmp_path):
    """The newcomer's case: a FirstRateData file given to `tapescan ingest kibot`."""
    path = shape_file(tmp_path / "in", "firstrate")
    result = tapescan("ingest", "kibot", str(path), "--store", str(tmp_path / "store"))
    said = " ".join(result.stderr.split())  # however the message is wrapped
    assert result.returncode == 2, result.stderr
    assert "looks like a FirstRateData file" in said and "use `tapescan ingest firstrate` for it" in said
    assert "tick data" not in said and "Traceback" not in said
    assert not (tmp_path / "store").exists()
