"""`tapescan info` and tapescan.store.info: what a store holds, from its manifest, symbols table and reports."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from tapescan.cli.main import app
from tapescan.errors import StoreError
from tapescan.ingest import ingest
from tapescan.store import Store, store_info, symbol_coverage
from tapescan.store.info import REPORTS_FOLDER
from tests.cli_process import tapescan
from tests.conftest import make_bars

runner = CliRunner()
D = dt.date


def flat(text: str) -> str:
    """`text` with every run of white space as one blank (messages may be wrapped anywhere)."""
    return " ".join(text.split())


@pytest.fixture
def gapped(store) -> Store:
    """AAPL (split_dividend) on 2024-12-02, -04 and -05 (3, 2, 2 bars); MSFT (unadjusted) on 2024-12-04 (4 bars).
    No symbol has bars on the session 2024-12-03."""
    aapl = pd.concat([make_bars("AAPL", "2024-12-02", [0, 1, 2]), make_bars("AAPL", "2024-12-04", [0, 1]),
                      make_bars("AAPL", "2024-12-05", [5, 6])])
    store.write_bars(aapl, adjustment="split_dividend", source="test")
    store.write_bars(make_bars("MSFT", "2024-12-04", [0, 1, 2, 3], base=400.0), adjustment="unadjusted",
                     source="other")
    return store


def test_store_info_summarizes_sessions_symbols_bars_and_adjustments(gapped):
    info = store_info(gapped)
    assert (info.first_session, info.last_session, info.sessions) == (D(2024, 12, 2), D(2024, 12, 5), 3)
    assert info.missing_sessions == [D(2024, 12, 3)]
    assert (info.symbols, info.bars) == (2, 11)
    assert info.adjustments == {"split_dividend": 1, "unadjusted": 1}
    assert info.sources == {"test": 1, "other": 1}
    on_disk = sum(p.stat().st_size for p in gapped.path.rglob("*") if p.is_file())
    assert sum(info.disk_bytes.values()) == on_disk
    assert {"bars_1m", "daily", "symbols"} <= set(info.disk_bytes)
    assert (info.ingest_reports, info.last_ingest) == (0, None)


def test_store_info_never_reads_the_bars(gapped):
    """Summaries must stay cheap on a 10,000 x 6,000 store: bar files are not opened (here: made unreadable)."""
    before = store_info(gapped)
    for entry in gapped.manifest().bars_1m.values():
        path = gapped.path / entry.file
        path.write_bytes(b"\0" * path.stat().st_size)
    assert store_info(gapped) == before


def test_store_info_of_an_empty_store(store):
    info = store_info(store)
    assert (info.first_session, info.last_session, info.sessions, info.missing_sessions) == (None, None, 0, [])
    assert (info.symbols, info.bars, info.adjustments, info.last_ingest) == (0, 0, {}, None)
    assert info.to_json()["first_session"] is None


def test_symbol_coverage_counts_each_symbols_missing_sessions(gapped):
    frame = symbol_coverage(gapped, ["msft", "AAPL"])
    assert frame["symbol"].tolist() == ["MSFT", "AAPL"]
    aapl = frame.set_index("symbol").loc["AAPL"]
    assert (aapl["first_session"], aapl["last_session"]) == (D(2024, 12, 2), D(2024, 12, 5))
    assert (aapl["sessions"], aapl["missing_sessions"], aapl["bars"]) == (3, 1, 7)
    assert symbol_coverage(gapped)["symbol"].tolist() == ["AAPL", "MSFT"]


def test_symbol_coverage_names_unknown_symbols_with_close_matches(gapped):
    with pytest.raises(StoreError) as caught:
        symbol_coverage(gapped, ["APPL", "MSFT", "ZZZZZ"])
    message = str(caught.value)
    assert "no symbol APPL, ZZZZZ." in message and "Did you mean AAPL (for APPL)?" in message


def kibot_ingest(tmp_path, store) -> None:
    """Ingest one Kibot file of three rows into `store`, one of them rejected (high below low)."""
    source = tmp_path / "kibot" / "AAPL.txt"
    source.parent.mkdir(exist_ok=True)
    source.write_text("12/02/2024,09:30,10,10.5,9.9,10.2,100\n12/02/2024,09:31,10,9.5,9.9,10.2,100\n"
                      "12/04/2024,09:30,10,10.5,9.9,10.2,100\n")
    ingest(store, "kibot", [source], workers=1)


def test_the_last_ingest_is_the_newest_report(tmp_path):
    root = tmp_path / "store"
    kibot_ingest(tmp_path, root)
    first = store_info(Store(root)).last_ingest
    assert (first.vendor, first.files, first.rows_read, first.rows_stored, first.rows_rejected) == ("kibot", 1, 3, 2, 1)
    assert first.rejected_by_reason == {"high_below_low": 1}
    assert (first.sessions_written, first.bars_written, first.symbols_added) == (2, 2, 1)
    kibot_ingest(tmp_path, root)  # the same file again: a no-op, with its own report
    info = store_info(Store(root))
    assert info.ingest_reports == 2
    newest = info.last_ingest
    assert newest.file != first.file and (newest.sessions_written, newest.bars_written) == (0, 0)
    assert info.missing_sessions == [D(2024, 12, 3)]


def test_a_damaged_report_is_named(gapped):
    report = gapped.path / REPORTS_FOLDER / "ingest-20250101T000000000000Z-kibot.json"
    report.parent.mkdir()
    report.write_text('{"vendor": "kibot"')
    with pytest.raises(StoreError, match="not a readable ingest report") as caught:
        store_info(gapped)
    assert str(report) in str(caught.value)


def test_info_prints_the_summary(gapped):
    result = runner.invoke(app, ["info", str(gapped.path)])
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert "sessions 3, 2024-12-02 to 2024-12-05; 1 NYSE session(s) missing: 2024-12-03" in text
    assert "symbols 2 " in text and "bars 11 one-minute bars" in text
    assert "adjustment split_dividend (1 symbol(s)), unadjusted (1 symbol(s))" in text
    assert "on disk (bars_1m" in text and "last ingest none recorded" in text


def test_info_shows_the_first_missing_sessions_and_counts_the_rest(store):
    store.write_bars(pd.concat([make_bars("SPY", day, [0]) for day in ("2024-11-01", "2024-12-31")]),
                     adjustment="split", source="test")
    text = flat(runner.invoke(app, ["info", str(store.path)]).stdout)
    assert ("sessions 2, 2024-11-01 to 2024-12-31; 39 NYSE session(s) missing: "
            "2024-11-04, 2024-11-05, 2024-11-06, 2024-11-07, 2024-11-08 and 34 more (--json lists all)") in text


def test_info_json_is_the_library_summary(tmp_path):
    root = tmp_path / "store"
    kibot_ingest(tmp_path, root)
    result = runner.invoke(app, ["info", str(root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == json.loads(json.dumps(store_info(Store(root)).to_json()))
    assert data["missing_sessions"] == ["2024-12-03"] and data["last_ingest"]["rows_rejected"] == 1
    assert data["disk_bytes_total"] == sum(data["disk_bytes"].values())


def test_info_symbols_lists_each_symbols_coverage(gapped):
    result = runner.invoke(app, ["info", str(gapped.path), "--symbols", "msft,aapl"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "symbol,adjustment,source,first_session,last_session,sessions,missing_sessions,bars,attributes",
        "MSFT,unadjusted,other,2024-12-04,2024-12-04,1,0,4,{}",
        "AAPL,split_dividend,test,2024-12-02,2024-12-05,3,1,7,{}",
    ]
    rows = json.loads(runner.invoke(app, ["info", str(gapped.path), "--all-symbols", "--json"]).stdout)
    assert [(row["symbol"], row["last_session"], row["attributes"]) for row in rows] == [
        ("AAPL", "2024-12-05", {}), ("MSFT", "2024-12-04", {})]


@pytest.mark.parametrize(("target", "args", "message"), [
    ("folder", [], "is not a tapescan store (no manifest.json)"),
    ("file", [], "is a file, not a store; give the store's folder"),
    ("store", ["--symbols", "APPL"], "has no symbol APPL. Did you mean AAPL?"),
    ("store", ["--symbols", "AAPL", "--all-symbols"], "not both"),
])
def test_info_refuses_what_is_not_a_store_in_one_clear_message(gapped, tmp_path, target, args, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    path = gapped.path if target == "store" else tmp_path / target
    result = tapescan("info", str(path), *args)
    assert result.returncode == 2
    assert message in flat(result.stderr) and "Traceback" not in result.stderr


def test_info_is_a_listed_command():
    assert "info" in runner.invoke(app, ["--help"]).stdout
