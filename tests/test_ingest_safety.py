"""Ingest safety: hostile or broken input refused with nothing written (not even an empty store), kill -9
and re-run, idempotence, appending, adjustment and conflict refusals, and the same store from one worker or
several."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tapescan.cli.main import app
from tapescan.errors import IngestError
from tapescan.ingest import ingest
from tapescan.store import Store
from tapescan.synth import synthesize
from tests.cli_process import tapescan

runner = CliRunner()


def firstrate_lines(table: pa.Table) -> dict[str, list[str]]:
    """FirstRateData rows (naive ET, bar start) per symbol of a synthetic session table."""
    seconds = table.column("ts").cast(pa.timestamp("s", tz="America/New_York"))
    local = pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S").to_pylist()
    columns = [table.column(name).to_pylist() for name in ("symbol", "open", "high", "low", "close", "volume")]
    lines: dict[str, list[str]] = {}
    for stamp, symbol, o, h, lo, c, v in zip(local, *columns):
        lines.setdefault(symbol, []).append(f"{stamp},{o!r},{h!r},{lo!r},{c!r},{v}\n")
    return lines


def write_firstrate(folder: Path, start: str, end: str, symbols: int = 4, adjustment: str = "UNADJUSTED") -> Path:
    """A FirstRateData-style folder of the synthetic market over [start, end]."""
    folder.mkdir(parents=True, exist_ok=True)
    per_symbol: dict[str, list[str]] = {}
    for _, table in synthesize(symbols, start, end, seed=3, extended_hours=True):
        for symbol, lines in firstrate_lines(table).items():
            per_symbol.setdefault(symbol, []).extend(lines)
    for symbol, lines in per_symbol.items():
        (folder / f"{symbol}_full_1min_{adjustment}.txt").write_text("".join(lines))
    return folder


def store_contents(root: Path) -> dict[str, pa.Table]:
    """Every table of a store, by partition key, for comparing two stores."""
    store = Store(root)
    manifest = store.manifest()
    contents = {f"bars/{key}": pq.read_table(root / entry.file) for key, entry in manifest.bars_1m.items()}
    contents.update({f"daily/{key}": pq.read_table(root / entry.file) for key, entry in manifest.daily.items()})
    contents["symbols"] = pq.read_table(root / manifest.symbols.file)
    return contents


def assert_same_store(left: Path, right: Path) -> None:
    a, b = store_contents(left), store_contents(right)
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].equals(b[key]), key


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Three months of four symbols (December 2024 to February 2025)."""
    return write_firstrate(tmp_path_factory.mktemp("corpus"), "2024-12-02", "2025-02-07")


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> Path:
    """The store an uninterrupted one-worker ingest of the corpus makes."""
    root = tmp_path_factory.mktemp("reference") / "store"
    report = ingest(root, "firstrate", [corpus], workers=1)
    assert report.total.rows_read == report.total.rows_stored > 0
    return root


# --- refusals: nothing written, messages that name the file ------------------------------------------


def _zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


GOOD_ROW = b"2024-01-02 09:30:00,10.0,10.5,9.5,10.2,100\n"


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("climbing zip member", lambda d: _zip_with(d / "b.zip", {"../AAPL_full_1min_UNADJUSTED.txt": GOOD_ROW}), "unsafe path"),
        ("absolute zip member", lambda d: _zip_with(d / "b.zip", {"/tmp/AAPL_full_1min_UNADJUSTED.txt": GOOD_ROW}), "unsafe path"),
        ("binary junk", lambda d: _write(d / "AAPL_full_1min_UNADJUSTED.txt", os.urandom(4096) + b"\x00"), "binary"),
        ("a 10 MB line", lambda d: _write(d / "AAPL_full_1min_UNADJUSTED.txt", b"9" * (10 << 20)), "longer than"),
        ("empty file", lambda d: _write(d / "AAPL_full_1min_UNADJUSTED.txt", b""), "empty"),
        ("kibot file as firstrate", lambda d: _write(
            d / "AAPL_full_1min_UNADJUSTED.txt", b"01/02/2024,09:30,10.0,10.5,9.5,10.2,100\n" * 20),
         "looks like a Kibot file"),
        ("unknown lines", lambda d: _write(d / "AAPL_full_1min_UNADJUSTED.txt", b"1;2;3\n" * 20), "does not look like"),
        ("a daily file", lambda d: _write(d / "AAPL_full_1day_UNADJUSTED.txt", b"2024-01-02,10,11,9,10,100\n"), "1day"),
        ("a name without ticker and adjustment", lambda d: _write(d / "data.txt", GOOD_ROW), "named TICKER"),
    ],
)
def test_broken_or_hostile_input_is_refused_and_nothing_is_written(tmp_path, name, make, message):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    path = make(inputs)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = subprocess.run(
        [sys.executable, "-m", "tapescan.cli.main", "--quiet", "ingest", "firstrate", str(path), "--store",
         str(tmp_path / "store")], capture_output=True, text=True, env={**os.environ, "COLUMNS": "1000"},
    )
    assert result.returncode == 2, (name, result.stderr)
    assert message in result.stderr
    assert path.name in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before  # no store either


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("empty_folder", [False, True])
@pytest.mark.parametrize(("case", "args", "messages"), [
    ("a path that does not exist", ["firstrate", "{tmp}/missing"], ["missing does not exist"]),
    ("a folder without data files", ["firstrate", "{tmp}/notes"], ["no data files"]),
    ("a folder of refused files", ["firstrate", "{tmp}/refused"], ["2 file(s) cannot be ingested; nothing was written"]),
    ("an unreachable Theta Terminal", ["thetadata", "--symbols", "AAPL", "--start", "2024-01-02", "--end",
                                       "2024-01-31", "--terminal", "http://127.0.0.1:{port}"],
     ["not reachable at http://127.0.0.1:{port} ", "pass --terminal http://HOST:PORT"]),
])
def test_a_refused_ingest_creates_no_store(tmp_path, case, args, messages, empty_folder):
    """Refused before any row is stored: no store, manifest, lock, reports or quarantine; an empty folder given
    as the store stays empty."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.md").write_text("not data")
    (tmp_path / "refused").mkdir()
    (tmp_path / "refused" / "AAPL_full_1min_UNADJUSTED.txt").write_bytes(b"")
    (tmp_path / "refused" / "MSFT_full_1min_UNADJUSTED.txt").write_bytes(b"1;2;3\n" * 5)
    root = tmp_path / "store"
    if empty_folder:
        root.mkdir()
    port = _unused_port()
    result = tapescan("ingest", *(arg.format(tmp=tmp_path, port=port) for arg in args), "--store", str(root))
    said = " ".join(result.stderr.split())  # however the message is wrapped
    assert result.returncode == 2, (case, result.stderr)
    assert all(message.format(port=port) in said for message in messages) and "Traceback" not in said
    assert list(root.iterdir()) == [] if empty_folder else not root.exists()


@pytest.mark.parametrize("empty_folder, workers", [(False, 1), (True, 2)])
def test_junk_deep_inside_a_file_stops_the_run_before_anything_is_stored(tmp_path, corpus, empty_folder, workers):
    """Found in phase 1, after the store was made for the run: it is removed again (an empty folder that was
    there stays, empty), whatever the worker processes were still doing."""
    folder = tmp_path / "files"
    folder.mkdir()
    good = (corpus / "AAPL_full_1min_UNADJUSTED.txt").read_bytes()
    (folder / "AAPL_full_1min_UNADJUSTED.txt").write_bytes(good + b"\x00" * 64 + good[:1000])
    for other in ("MSFT", "SPY"):  # more tasks for the workers, still running when AAPL's fails
        (folder / f"{other}_full_1min_UNADJUSTED.txt").write_bytes((corpus / f"{other}_full_1min_UNADJUSTED.txt").read_bytes())
    root = tmp_path / "store"
    if empty_folder:
        root.mkdir()
    with pytest.raises(IngestError, match="binary"):
        ingest(root, "firstrate", [folder], workers=workers)
    assert list(root.iterdir()) == [] if empty_folder else not root.exists()


def test_zip_members_are_read_in_place(tmp_path, corpus, reference):
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(corpus.iterdir()):
            bundle.write(path, arcname=f"bundle/{path.name}")
    report = ingest(tmp_path / "store", "firstrate", [archive], workers=1)
    assert all("!bundle/" in item.source for item in report.sources)
    assert_same_store(tmp_path / "store", reference)


# --- idempotence, appending, several workers ------------------------------------------------------------


def test_reingesting_the_same_files_changes_nothing(tmp_path, corpus, reference):
    root = tmp_path / "store"
    ingest(root, "firstrate", [corpus], workers=1)
    manifest = (root / "manifest.json").read_bytes()
    files = sorted(p.relative_to(root) for p in (root / "bars_1m").rglob("*.parquet"))
    report = ingest(root, "firstrate", [corpus], workers=1)
    assert (root / "manifest.json").read_bytes() == manifest
    assert sorted(p.relative_to(root) for p in (root / "bars_1m").rglob("*.parquet")) == files
    assert report.total.rows_stored == report.total.rows_read
    assert report.sessions_written == report.bars_written == 0


def test_ingesting_new_months_appends(tmp_path, corpus, reference):
    early, late = tmp_path / "early", tmp_path / "late"
    for folder in (early, late):
        folder.mkdir()
    for path in corpus.iterdir():
        lines = path.read_text().splitlines(keepends=True)
        (early / path.name).write_text("".join(line for line in lines if line < "2025"))
        (late / path.name).write_text("".join(line for line in lines if line >= "2025"))
    root = tmp_path / "store"
    ingest(root, "firstrate", [early], workers=1)
    december = {key: entry.file for key, entry in Store(root).manifest().bars_1m.items()}
    ingest(root, "firstrate", [late], workers=1)
    after = Store(root).manifest().bars_1m
    assert all(after[key].file == file for key, file in december.items())
    bars = [table for key, table in store_contents(root).items() if key.startswith("bars/")]
    expected = [table for key, table in store_contents(reference).items() if key.startswith("bars/")]
    assert len(bars) == len(expected) and all(a.equals(b) for a, b in zip(bars, expected))


def test_several_workers_make_the_same_store_as_one(tmp_path, corpus, reference):
    ingest(tmp_path / "store", "firstrate", [corpus], workers=2)
    assert_same_store(tmp_path / "store", reference)


# --- adjustments and conflicts --------------------------------------------------------------------------


def test_a_symbol_stored_with_another_adjustment_is_refused(tmp_path, corpus):
    root = tmp_path / "store"
    ingest(root, "firstrate", [corpus], workers=1)
    adjusted = tmp_path / "adjusted"
    adjusted.mkdir()
    (adjusted / "AAPL_full_1min_adjsplitdiv.txt").write_bytes((corpus / "AAPL_full_1min_UNADJUSTED.txt").read_bytes())
    manifest = (root / "manifest.json").read_bytes()
    with pytest.raises(IngestError, match=r"AAPL \(unadjusted\)"):
        ingest(root, "firstrate", [adjusted], workers=1)
    assert (root / "manifest.json").read_bytes() == manifest


def test_mixed_adjustments_in_one_run_need_a_choice(tmp_path, corpus):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "AAPL_full_1min_UNADJUSTED.txt").write_bytes((corpus / "AAPL_full_1min_UNADJUSTED.txt").read_bytes())
    (folder / "AAPL_full_1min_adjsplit.txt").write_bytes((corpus / "AAPL_full_1min_UNADJUSTED.txt").read_bytes())
    with pytest.raises(IngestError, match="--adjustment"):
        ingest(tmp_path / "store", "firstrate", [folder], workers=1)
    result = runner.invoke(app, ["--quiet", "ingest", "firstrate", str(folder), "--store", str(tmp_path / "store"),
                                 "--adjustment", "split"])
    assert result.exit_code == 0, result.output
    symbols = Store(tmp_path / "store").symbols().set_index("symbol")
    assert symbols.loc["AAPL", "adjustment"] == "split"


def test_different_bars_for_stored_sessions_need_replace(tmp_path, corpus):
    root = tmp_path / "store"
    ingest(root, "firstrate", [corpus], workers=1)
    changed = tmp_path / "changed"
    changed.mkdir()
    lines = (corpus / "MSFT_full_1min_UNADJUSTED.txt").read_text().splitlines(keepends=True)
    stamp, o, h, lo, c, v = lines[100].strip().split(",")
    lines[100] = f"{stamp},{o},{h},{lo},{c},{int(v) + 1}\n"
    (changed / "MSFT_full_1min_UNADJUSTED.txt").write_text("".join(lines))
    with pytest.raises(IngestError, match="--replace"):
        ingest(root, "firstrate", [changed], workers=1)
    ingest(root, "firstrate", [changed], workers=1, replace=True)
    day = stamp[:10]
    stored = Store(root).read_bars("MSFT", day, day, extended_hours=True)
    row = stored[stored["ts"].dt.strftime("%Y-%m-%d %H:%M:%S") == stamp]
    assert row["volume"].tolist() == [int(v) + 1]


# --- kill -9 and re-run ---------------------------------------------------------------------------------

KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from tapescan.ingest import ingest
    import tapescan.store.writer as writer
    import tapescan.ingest.stage as stage

    point, after = sys.argv[3], int(sys.argv[4])
    calls = [0]

    def killing(original):
        def wrapper(*args, **kwargs):
            calls[0] += 1
            if calls[0] > after:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)
        return wrapper

    if point == "commit":
        writer.save_manifest = killing(writer.save_manifest)
    else:
        stage._Buffer.flush = killing(stage._Buffer.flush)
    ingest(sys.argv[2], "firstrate", [sys.argv[1]], workers=1)
    """
)


@pytest.mark.parametrize(("point", "after"), [("spill", 0), ("commit", 1), ("commit", 2)])
def test_an_ingest_killed_midway_then_rerun_gives_the_same_store(tmp_path, corpus, reference, point, after):
    root = tmp_path / "store"
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(corpus), str(root), point, str(after)], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if point == "commit":
        assert len(Store(root).sessions()) > 0  # some months were committed before the kill
    ingest(root, "firstrate", [corpus], workers=1)
    assert_same_store(root, reference)
    assert not (root / ".staging").exists()


def test_the_report_is_written_into_the_store(tmp_path, corpus):
    root = tmp_path / "store"
    result = runner.invoke(app, ["ingest", "firstrate", str(corpus), "--store", str(root), "--workers", "1"])
    assert result.exit_code == 0, result.output
    reports = sorted((root / "reports").glob("ingest-*-firstrate.json"))
    assert len(reports) == 1
    data = json.loads(reports[0].read_text())
    assert data["total"]["rows_read"] == data["total"]["rows_stored"] + data["total"]["rows_rejected"] + data["total"]["rows_duplicate"]
    assert {item["symbol"] for item in data["sources"]} == {p.name.split("_")[0] for p in corpus.iterdir()}
    assert f"{data['total']['rows_read']:,}" in result.output


def test_a_fixed_file_leaves_no_stale_quarantine(tmp_path, corpus):
    folder = tmp_path / "files"
    folder.mkdir()
    good = (corpus / "SPY_full_1min_UNADJUSTED.txt").read_text()
    path = folder / "SPY_full_1min_UNADJUSTED.txt"
    path.write_text(good + "not,a,bar,at,all,!\n")
    root = tmp_path / "store"
    first = ingest(root, "firstrate", [folder], workers=1)
    assert first.total.rejected_by_reason == {"unparseable": 1}
    assert (root / first.sources[0].quarantine).read_text().splitlines()[1].endswith('"not,a,bar,at,all,!"')
    path.write_text(good)
    second = ingest(root, "firstrate", [folder], workers=1)
    assert second.sources[0].quarantine is None
    assert not (root / first.sources[0].quarantine).exists()


def test_progress_reports_every_phase_to_its_end(tmp_path, corpus):
    seen: dict[str, list[tuple[int, int, int]]] = {}
    ingest(tmp_path / "store", "firstrate", [corpus], workers=1,
           progress=lambda phase, done, total, rows: seen.setdefault(phase, []).append((done, total, rows)))
    assert list(seen) == ["inspect", "read", "write"]
    files = len(list(corpus.iterdir()))
    assert seen["inspect"][-1][:2] == (files, files)
    total_bytes = sum(path.stat().st_size for path in corpus.iterdir())
    assert seen["read"][-1][:2] == (total_bytes, total_bytes)
    sessions = len(Store(tmp_path / "store").sessions())
    assert seen["write"][-1][:2] == (sessions, sessions)
    assert sum(rows for _, _, rows in seen["write"]) == seen["read"][-1][2]
