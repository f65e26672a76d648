"""A store that cannot lie: damaged, truncated, missing or escaping files are reported, never read as data.

A small synthetic store (5 symbols, 9 sessions) is copied per test and damaged: 21 garbled bytes at the start,
the middle or the footer of a file, a truncated file, a missing file. Every reader (in-process and through the
real command line) must stop with the damaged-store error naming the file; writers must refuse to merge and
change nothing; `tapescan verify` must find each and say what to do.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from tapescan.errors import StoreDamagedError
from tapescan.store import Store
from tapescan.store.integrity import write_parquet
from tapescan.store.manifest import load_manifest, save_manifest
from tapescan.store.schema import DAILY, SYMBOLS
from tapescan.synth import write_synthetic_market
from tests.cli_process import tapescan
from tests.conftest import make_bars

START, END, DAY = "2024-11-20", "2024-12-03", "2024-12-02"
SYNTH = ["--symbols", "5", "--start", START, "--end", END, "--seed", "4"]
SCAN_CONFIG = {"market_scanner_config": {
    "start_time": "10:00", "end_time": "10:10", "interval_minutes": 5,
    "average_volume": {"min": 1, "days": 3}, "relative_volume": {"min": 0.1, "days": 3}}}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    store = Store.create(tmp_path_factory.mktemp("pristine") / "store")
    write_synthetic_market(store, 5, START, END, seed=4)
    return store.path


@pytest.fixture
def root(pristine, tmp_path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "store"))


def target(root: Path, table: str) -> Path:
    """The file of `table` the tests damage: the DAY partition, its month's daily values, the symbols table."""
    manifest = load_manifest(root)
    entry = {"bars_1m": manifest.bars_1m.get(DAY), "daily": manifest.daily.get(DAY[:7]), "symbols": manifest.symbols}
    return root / entry[table].file


def damage(path: Path, how: str) -> None:
    """Garble 21 bytes at the start, middle or footer of `path`, truncate it, or delete it."""
    data = bytearray(path.read_bytes())
    if how == "missing":
        path.unlink()
        return
    if how == "truncated":
        path.write_bytes(data[: len(data) * 2 // 3])
        return
    at = {"start": 0, "middle": len(data) // 2, "footer": len(data) - 60}[how]
    data[at:at + 21] = bytes(b ^ 0x5A for b in data[at:at + 21])
    path.write_bytes(data)


def replace_spy(store: Store) -> None:
    """A write that merges new SPY bars into DAY's partition, its month's daily values and the symbols table."""
    store.write_bars(make_bars("SPY", DAY, [0, 1, 2]), adjustment="unadjusted", source="test", replace=True)


def assert_names_damage(said: str, path: Path) -> None:
    said = " ".join(said.split())
    assert "the store is damaged: " in said and str(path) in said and "tapescan verify" in said, said
    assert "Traceback" not in said and "internal error" not in said


HOWS = ["start", "middle", "footer", "truncated", "missing"]


@pytest.mark.parametrize("how", HOWS)
def test_every_reader_and_writer_stops_at_a_damaged_partition(root, how):
    path = target(root, "bars_1m")
    damage(path, how)
    store = Store(root)
    before = (root / "manifest.json").read_bytes()
    bars = store.read_session(END)  # another session still reads
    readers = [
        lambda: store.read_session(DAY),
        lambda: store.read_session(DAY, symbols=["SPY"]),
        lambda: store.read_session_columns(DAY),
        lambda: store.read_bars("SPY", START, END),
        lambda: write_synthetic_market(store, 5, START, END, seed=4),
        lambda: replace_spy(store),
    ]
    for read in readers:
        with pytest.raises(StoreDamagedError) as caught:
            read()
        assert_names_damage(str(caught.value), path)
    assert bars.shape[0] == 5
    assert (root / "manifest.json").read_bytes() == before  # the refused write changed nothing


@pytest.mark.parametrize("table, how", [("daily", "middle"), ("daily", "footer"), ("daily", "truncated"),
                                        ("symbols", "start"), ("symbols", "middle"), ("symbols", "missing")])
def test_damaged_daily_values_and_symbols_are_never_read(root, table, how):
    path = target(root, table)
    damage(path, how)
    store = Store(root)
    read = store.read_daily if table == "daily" else lambda *_: store.symbols()
    for call in (lambda: read(START, END), lambda: replace_spy(store)):
        with pytest.raises(StoreDamagedError) as caught:
            call()
        assert_names_damage(str(caught.value), path)


def _commands(root: Path, tmp: Path) -> dict[str, list[str]]:
    """Each command of the command line, set to read (or merge into) the damaged files."""
    config, replay = tmp / "scan.json", tmp / "replay.yaml"
    config.write_text(json.dumps(SCAN_CONFIG))
    replay.write_text("symbols: [SPY]\nderived_intervals: [5]\nstart_time: '10:00'\nend_time: '10:10'\n")
    vendor = tmp / "vendor"
    vendor.mkdir(exist_ok=True)
    clock = [f"{9 + (30 + m) // 60:02d}:{(30 + m) % 60:02d}:00" for m in range(5)]
    lines = "".join(f"{DAY} {t},10.5,10.75,10.25,10.5,100\n" for t in clock)
    (vendor / "SPY_full_1min_UNADJUSTED.txt").write_text(lines)
    store = ["--store", str(root)]
    return {
        "bars": ["bars", "SPY", *store, "--start", DAY, "--end", DAY],
        "daily": ["daily", *store, "--start", START, "--end", END],
        "scan": ["scan", str(config), *store, "--date", DAY, "--time", "10:05"],
        "sweep": ["sweep", str(config), *store, "--start", DAY, "--end", DAY, "--output", str(tmp / "hits.csv")],
        "replay": ["replay", str(replay), *store, "--start", DAY, "--end", DAY, "--snapshot", str(tmp / "snaps")],
        "ingest": ["ingest", "firstrate", str(vendor), *store, "--replace"],
        "synth": ["synth", str(root), *SYNTH],
        "verify": ["verify", str(root)],
    }


CLI_CASES = [
    ("bars_1m", "start", "bars"), ("bars_1m", "middle", "scan"), ("bars_1m", "footer", "sweep"),
    ("bars_1m", "truncated", "replay"), ("bars_1m", "missing", "ingest"), ("bars_1m", "middle", "synth"),
    ("bars_1m", "footer", "ingest"), ("daily", "middle", "daily"), ("daily", "footer", "scan"),
    ("daily", "start", "ingest"), ("symbols", "middle", "bars"), ("symbols", "footer", "synth"),
]


@pytest.mark.parametrize("table, how, command", CLI_CASES)
def test_the_command_line_says_the_store_is_damaged_and_changes_nothing(root, tmp_path, table, how, command):
    path = target(root, table)
    damage(path, how)
    files, manifest = data_files(root), (root / "manifest.json").read_bytes()
    result = tapescan("--quiet", "--backend", "cpu", *_commands(root, tmp_path)[command])
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert_names_damage(result.stderr, path)
    assert (root / "manifest.json").read_bytes() == manifest and data_files(root) == files


def data_files(root: Path) -> list[Path]:
    """The store's table files (not its locks, ingest reports or quarantine)."""
    return sorted(p for table in ("bars_1m", "daily", "symbols") for p in (root / table).rglob("*") if p.is_file())


@pytest.mark.parametrize("table, how",
                         [("bars_1m", how) for how in HOWS] + [("daily", "middle"), ("symbols", "footer")])
def test_verify_finds_each_damage_and_says_what_to_do(root, tmp_path, table, how):
    path = target(root, table)
    damage(path, how)
    result = tapescan("verify", str(root), "--deep")
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, said
    assert f"damaged: {path}" in said and "tapescan ingest VENDOR FILES --store NEW_STORE" in said
    affected = {"bars_1m": DAY, "daily": DAY[:7], "symbols": "the symbols table"}[table]
    assert affected in said.split("Affected:")[1]


def test_verify_passes_a_sound_store_and_the_library_returns_a_report(root):
    for args in ([], ["--deep"]):
        result = tapescan("verify", str(root), *args)
        assert result.returncode == 0 and "the store is sound" in result.stdout, result.stdout + result.stderr
    report = Store(root).verify(deep=True)
    assert report.ok and report.files == 9 + 2 + 1 and report.unrecorded == 0 and report.advice() == ""


def rewrite_spy_daily(root: Path, manifest, field: str, change) -> None:
    """Rewrite DAY's month of daily values in place (manifest entry updated, not saved) with SPY's `field` on DAY
    changed by `change`."""
    store = Store(root)
    month = store.read_daily(DAY[:7] + "-01", END)
    month = month[month["date"].astype(str).str.startswith(DAY[:7])]
    spy = (month["symbol"] == "SPY") & (month["date"].astype(str) == DAY)
    month.loc[spy, field] = change(month.loc[spy, field])
    write_parquet(root, manifest.daily[DAY[:7]], pa.Table.from_pandas(month, schema=DAILY, preserve_index=False))


@pytest.mark.parametrize(("scale", "damaged"), [(1 + 4e-16, False), (1 + 1e-9, True)])
def test_deep_verify_takes_vwap_to_a_few_ulps(root, pristine, scale, damaged):
    """Stores written before the daily values came from the kernel hold vwap summed pairwise (numpy), a few ulps
    from the kernel's left-to-right sum: sound. A vwap further off is damage."""
    manifest = load_manifest(root)
    rewrite_spy_daily(root, manifest, "vwap", lambda vwap: vwap * scale)
    save_manifest(root, manifest)
    assert Store(root).read_daily(DAY, DAY).set_index("symbol").loc["SPY", "vwap"] != \
        Store(pristine).read_daily(DAY, DAY).set_index("symbol").loc["SPY", "vwap"]
    problems = {(d.table, d.key) for d in Store(root).verify(deep=True).damage}
    assert problems == ({("daily", DAY)} if damaged else set())


def test_deep_verify_recomputes_daily_values_and_symbols_from_the_bars(root):
    """Intact files (sizes and digests match) whose values disagree with the bars: only --deep can tell."""
    store = Store(root)
    manifest = load_manifest(root)
    rewrite_spy_daily(root, manifest, "close", lambda close: close + 1.0)
    symbols = store.symbols()
    symbols.loc[symbols["symbol"] == "SPY", "sessions"] -= 1
    write_parquet(root, manifest.symbols, pa.Table.from_pandas(symbols, schema=SYMBOLS, preserve_index=False))
    save_manifest(root, manifest)
    assert Store(root).verify().ok
    problems = {(d.table, d.key) for d in Store(root).verify(deep=True).damage}
    assert problems == {("daily", DAY), ("symbols", None)}


def test_a_manifest_entry_outside_the_store_is_refused_and_the_outside_file_survives(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.parquet"
    shutil.copy(target(root, "bars_1m"), victim)
    raw = json.loads((root / "manifest.json").read_text())
    raw["bars_1m"][DAY]["file"] = "../outside/victim.parquet"
    (root / "manifest.json").write_text(json.dumps(raw))
    for command in ("ingest", "synth", "bars"):
        result = tapescan("--quiet", *_commands(root, tmp_path)[command])
        said = " ".join(result.stderr.split())
        assert result.returncode == 2 and "the store is damaged" in said and "../outside/victim.parquet" in said, said
    assert victim.exists()


@pytest.mark.parametrize("file", ["/etc/passwd", "bars_1m/date=2024-12-02/../../../x.parquet",
                                  "daily/month=2024-12/x.parquet"])
def test_entries_with_absolute_escaping_or_foreign_paths_are_refused(root, file):
    raw = json.loads((root / "manifest.json").read_text())
    raw["bars_1m"][DAY]["file"] = file
    (root / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(StoreDamagedError, match="manifest.json"):
        Store(root)


def test_a_symlink_leading_out_of_the_store_is_refused(root, tmp_path):
    path = target(root, "bars_1m")
    outside = tmp_path / "elsewhere.parquet"
    shutil.move(path, outside)
    path.symlink_to(outside)
    with pytest.raises(StoreDamagedError) as caught:
        Store(root).read_session(DAY)
    assert_names_damage(str(caught.value), path)
    folder = path.parent
    shutil.move(folder, tmp_path / "folder")
    folder.symlink_to(tmp_path / "folder")
    with pytest.raises(StoreDamagedError, match="outside the store"):
        Store(root).read_bars("SPY", DAY, DAY)


@pytest.mark.parametrize("shape", [
    "[]", '"store"', '{"format": "tapescan-store"}',
    '{"format": "tapescan-store", "schema_version": 2}',
    '{"format": "tapescan-store", "schema_version": "2", "generation": 1}',
    '{"format": "tapescan-store", "schema_version": 2, "generation": 1, "bars_1m": []}',
    '{"format": "tapescan-store", "schema_version": 2, "generation": 1, "bars_1m": {"2024-12-02": {"file": 3}}}',
    '{"format": "tapescan-store", "schema_version": 2, "generation": 1, "daily": {"2024-12": {"rows": 1}}}',
    ('{"format": "tapescan-store", "schema_version": 2, "generation": 1, "bars_1m": {"monday": '
     '{"file": "bars_1m/date=2024-12-02/g.parquet", "rows": 1}}}'),
    ('{"format": "tapescan-store", "schema_version": 2, "generation": 1, "symbols": '
     '{"file": "symbols/g.parquet", "rows": "many"}}'),
])
def test_a_manifest_of_the_wrong_shape_is_damaged_not_an_internal_error(root, shape):
    (root / "manifest.json").write_text(shape)
    result = tapescan("bars", "SPY", "--store", str(root), "--start", DAY, "--end", DAY)
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and f"the store is damaged: {root / 'manifest.json'}" in said, said
    assert "Traceback" not in said and "internal error" not in said


def test_a_schema_version_1_manifest_is_still_read(root):
    """Entries written before sizes and digests were recorded: accepted, read with page checksums, counted by
    verify."""
    raw = json.loads((root / "manifest.json").read_text())
    raw["schema_version"] = 1
    for entry in [*raw["bars_1m"].values(), *raw["daily"].values(), raw["symbols"]]:
        for key in ("size", "sha256", "footer_sha256"):
            del entry[key]
    (root / "manifest.json").write_text(json.dumps(raw))
    store = Store(root)
    assert store.read_session(DAY).shape[0] == 5
    report = store.verify(deep=True)
    assert report.ok and report.unrecorded == report.files == 12


def test_an_ingest_into_a_damaged_store_commits_nothing_not_even_sound_months(root, tmp_path):
    """Checked before any work: without it the November session would be committed before the writer reached
    the damaged December partition."""
    damage(target(root, "bars_1m"), "middle")
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    clock = [f"{9 + (30 + m) // 60:02d}:{(30 + m) % 60:02d}:00" for m in range(5)]
    lines = "".join(f"{day} {t},10.5,10.75,10.25,10.5,100\n" for day in ("2024-11-21", DAY) for t in clock)
    (vendor / "SPY_full_1min_UNADJUSTED.txt").write_text(lines)
    manifest = (root / "manifest.json").read_bytes()
    result = tapescan("--quiet", "ingest", "firstrate", str(vendor), "--store", str(root), "--replace")
    assert result.returncode == 2
    assert_names_damage(result.stderr, target(root, "bars_1m"))
    assert (root / "manifest.json").read_bytes() == manifest
