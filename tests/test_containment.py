"""A store that cannot lie (issue #12): no output lands inside a store, ingest reads only regular files and
names a damaged zip member, and a group file cannot read or show a file from outside the store."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tapescan.cli.main import app
from tapescan.errors import IngestError
from tapescan.ingest import ingest
from tapescan.ingest.sources import Source, discover
from tapescan.scanner.groups import GroupError, group_members
from tests.cli_process import tapescan

runner = CliRunner()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("containment") / "store"
    result = runner.invoke(app, ["--quiet", "synth", str(path), "--symbols", "5", "--start", "2024-12-02",
                                 "--end", "2024-12-03"])
    assert result.exit_code == 0, result.output
    return path


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a folder tree with its bytes, to show that a command left it as it was."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- A: --output and --snapshot may not point into a store -------------------------------------------------


def _command(name: str, store: Path, output: str, config: Path) -> list[str]:
    days = ["--start", "2024-12-02", "--end", "2024-12-03"]
    return {
        "bars": ["bars", "SYN000", "--store", str(store), *days, "--output", output],
        "daily": ["daily", "--store", str(store), *days, "--output", output],
        "calendar": ["calendar", *days, "--output", output],
        "scan": ["scan", str(config), "--store", str(store), "--date", "2024-12-02", "--time", "10:00",
                 "--output", output],
        "sweep": ["sweep", str(config), "--store", str(store), *days, "--output", output],
        "replay": ["replay", str(config), "--store", str(store), *days, "--snapshot", output],
    }[name]


@pytest.mark.parametrize("command", ["bars", "daily", "calendar", "scan", "sweep", "replay"])
@pytest.mark.parametrize("target", ["{store}/manifest.json", "{store}/bars/out.csv", "{store}/x/../y.parquet",
                                    "{store}", "{link}/out.csv"])
def test_an_output_inside_a_store_is_refused_and_the_store_is_untouched(store_path, tmp_path, command, target):
    config = tmp_path / "config.json"
    config.write_text("{}")
    _link(tmp_path / "link", store_path)
    output = target.format(store=store_path, link=tmp_path / "link")
    before = _snapshot(store_path)
    result = runner.invoke(app, _command(command, store_path, output, config))
    assert result.exit_code != 0
    message = " ".join(str(result.exception).split())
    if command == "sweep" and Path(output).suffix not in (".csv", ".parquet"):
        assert "written as it is computed" in message  # its file type is refused first
    else:
        assert f"inside the tapescan store {store_path.resolve()}" in message and "elsewhere" in message, message
    assert _snapshot(store_path) == before


def test_the_cli_refuses_output_into_the_manifest_with_exit_2(store_path):
    before = _snapshot(store_path)
    result = tapescan("daily", "--store", str(store_path), "--start", "2024-12-02", "--end", "2024-12-03",
                      "--output", str(store_path / "manifest.json"))
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and "inside the tapescan store" in said and "Traceback" not in said
    assert _snapshot(store_path) == before


def test_an_output_next_to_a_store_is_written(store_path, tmp_path):
    output = tmp_path / "daily.csv"
    result = runner.invoke(app, ["--quiet", "daily", "--store", str(store_path), "--start", "2024-12-02",
                                 "--end", "2024-12-03", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert output.stat().st_size > 0


# --- B: ingest reads regular files only; group files stay inside the store ---------------------------------


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(("make", "kind"), [
    pytest.param(lambda d: _fifo(d / "AAPL_full_1min_UNADJUSTED.txt"), "a FIFO", id="fifo"),
    pytest.param(lambda d: _fifo(d / "bundle.zip"), "a FIFO", id="fifo-named-zip"),
    pytest.param(lambda d: Path("/dev/zero"), "a character device", id="dev-zero"),
    pytest.param(lambda d: _link(d / "AAPL_full_1min_UNADJUSTED.txt", _fifo(d / "pipe")), "a FIFO", id="link-to-fifo"),
])
def test_an_ingest_input_that_is_not_a_regular_file_is_refused_unopened(tmp_path, make, kind):
    path = make(tmp_path)
    with pytest.raises(IngestError) as caught:
        ingest(tmp_path / "store", "firstrate", [path], workers=1)
    assert str(caught.value) == f"{path} is not a regular file ({kind}); give files, folders or zip archives."
    assert not (tmp_path / "store").exists()


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


def test_a_folder_walk_passes_over_fifos_and_linked_folders_but_reads_linked_files(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (tmp_path / "real.txt").write_text("x\n")
    _link(folder / "AAPL_full_1min_UNADJUSTED.txt", tmp_path / "real.txt")
    _fifo(folder / "MSFT_full_1min_UNADJUSTED.txt")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "IBM_full_1min_UNADJUSTED.txt").write_text("x\n")
    _link(folder / "outside", tmp_path / "elsewhere")
    found = discover([folder])
    assert [source.name for source in found.sources] == ["AAPL_full_1min_UNADJUSTED.txt"]


def test_a_source_swapped_for_a_fifo_after_discovery_is_refused_without_blocking(tmp_path):
    pipe = _fifo(tmp_path / "AAPL_full_1min_UNADJUSTED.txt")
    with pytest.raises(IngestError, match="is not a regular file \\(a FIFO\\)"), Source(pipe, None, 0).open():
        pass


def _group_store(store: Path, name: str) -> Path:
    """A bare store folder with a groups folder; `name`'s file path in it."""
    (store / "groups").mkdir(parents=True, exist_ok=True)
    return store / "groups" / name


def test_a_group_file_linked_out_of_the_store_is_refused_without_showing_its_content(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    _link(_group_store(tmp_path / "store", "evil.txt"), secret)
    with pytest.raises(GroupError) as caught:
        group_members("EVIL", store_root=tmp_path / "store")
    assert "evil.txt points outside" in str(caught.value) and "root:" not in str(caught.value)


def test_a_group_file_linked_within_the_groups_folder_is_read(tmp_path):
    real = _group_store(tmp_path / "store", "tech.txt")
    real.write_text("AAPL\nMSFT\n")
    _link(_group_store(tmp_path / "store", "mega.txt"), real)
    assert group_members("MEGA", store_root=tmp_path / "store") == ["AAPL", "MSFT"]


def test_a_group_file_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    _fifo(_group_store(tmp_path / "store", "pipe.txt"))
    with pytest.raises(GroupError, match="pipe.txt is not a regular file"):
        group_members("PIPE", store_root=tmp_path / "store")


def test_a_bad_group_line_is_quoted_short_and_sanitized(tmp_path):
    path = _group_store(tmp_path / "store", "long.txt")
    path.write_text("AAPL\n\x1b[31mRED " + "Z" * 200 + "\n")
    with pytest.raises(GroupError) as caught:
        group_members("LONG", store_root=tmp_path / "store")
    message = str(caught.value)
    assert message.startswith(f"{path}, line 2: '\\x1b[31mRED ZZZ") and "'..." in message
    assert "\x1b" not in message and "Z" * 30 not in message


# --- C: a damaged zip member is named, and nothing is stored ---------------------------------------------


ROWS = b"".join(b"2024-01-%02d 09:%02d:00,10.0,10.5,9.5,10.2,100\n" % (day, minute)
                for day in (2, 3, 4, 5) for minute in range(30, 60)) * 20  # > 16 KB: inspection does not reach the end


def _damaged_zip(path: Path, compression: int) -> Path:
    """A zip whose member's stored data has one byte changed (the index stays intact)."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("AAPL_full_1min_UNADJUSTED.txt", ROWS)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("compression", "problem"), [(zipfile.ZIP_STORED, "bad CRC"),
                                                      (zipfile.ZIP_DEFLATED, "")])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_zip_member_with_damaged_data_is_named_and_nothing_is_stored(tmp_path, compression, problem, workers):
    archive = _damaged_zip(tmp_path / "bundle.zip", compression)
    result = tapescan("--quiet", "ingest", "firstrate", str(archive), "--store", str(tmp_path / "store"),
                      "--workers", workers)
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in said, said
    assert f"{archive}: member AAPL_full_1min_UNADJUSTED.txt is damaged ({problem}" in said
    assert "re-download the archive" in said
    assert not (tmp_path / "store").exists()


def test_a_damaged_zip_leaves_an_existing_store_as_it_was(tmp_path):
    root = tmp_path / "store"
    (tmp_path / "MSFT_full_1min_UNADJUSTED.txt").write_bytes(ROWS)
    ingest(root, "firstrate", [tmp_path / "MSFT_full_1min_UNADJUSTED.txt"], workers=1)
    archive = _damaged_zip(tmp_path / "bundle.zip", zipfile.ZIP_STORED)
    before = _snapshot(root)
    with pytest.raises(IngestError, match="is damaged \\(bad CRC\\); re-download the archive"):
        ingest(root, "firstrate", [archive], workers=1)
    assert _snapshot(root) == before


def test_a_truncated_zip_is_refused_as_unreadable(tmp_path):
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("AAPL_full_1min_UNADJUSTED.txt", ROWS)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(IngestError, match="bundle.zip is not a readable zip archive .*re-download it"):
        ingest(tmp_path / "store", "firstrate", [archive], workers=1)
    assert not (tmp_path / "store").exists()
