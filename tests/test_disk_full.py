"""A full disk is named as such (exit 2), never reported as a bug, and leaves the store and older outputs as they
were: ingest, sweep --output and replay --snapshot into a small tmpfs filled to the last byte (issue #12)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_process import tapescan
from tests.test_ingest_safety import write_firstrate

HANG = 120  # seconds: a command still running by then hangs on the full disk


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 16 MiB tmpfs, unmounted afterwards; skipped where this machine cannot mount one (not root, a container
    without CAP_SYS_ADMIN)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def fill(disk: Path, leave: int = 0) -> None:
    """Write a filler file that leaves `leave` bytes free on the disk."""
    stats = os.statvfs(disk)
    (disk / "filler").write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - leave))


def contents(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (the filler and the store's lock files aside), by relative path."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != "filler" and path.suffix != ".lock"}


def assert_named_full(done: subprocess.CompletedProcess, disk: Path | None) -> None:
    """Exit 2 with the full disk named (`disk`: the folder the message must name; None: not known to it)."""
    message = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stderr
    assert "internal error" not in message and "is full" in message, done.stderr
    assert disk is None or f"the disk holding {disk}" in message, done.stderr


def test_an_ingest_into_a_full_disk_names_it_and_leaves_the_store_as_it_was(small_disk, tmp_path):
    store = small_disk / "store"
    assert tapescan("synth", str(store), "--symbols", "3", "--start", "2024-12-02", "--end", "2024-12-03").returncode == 0
    source = write_firstrate(tmp_path / "firstrate", "2024-12-04", "2024-12-13")
    before = contents(store)
    fill(small_disk, leave=256 << 10)  # room for the lock files, not for the staged rows
    done = tapescan("ingest", "firstrate", str(source), "--store", str(store), "--workers", "1", timeout=HANG)
    assert_named_full(done, small_disk / "store")
    assert "before it committed anything" in done.stderr
    assert contents(store) == before


def test_a_sweep_output_on_a_full_disk_is_named_and_the_older_output_kept(small_disk, tmp_path):
    store, hits, config = tmp_path / "store", small_disk / "hits.csv", tmp_path / "scanner.json"
    config.write_text('{"market_scanner_config": {"symbols": ["SPY", "AAPL"], "start_time": "09:35"}}\n')
    assert tapescan("synth", str(store), "--symbols", "5", "--start", "2024-12-02", "--end", "2024-12-06").returncode == 0
    hits.write_text("an older output\n")
    fill(small_disk)
    done = tapescan("sweep", str(config), "--store", str(store), "--start", "2024-12-02", "--end",
                    "2024-12-06", "--output", str(hits), timeout=HANG)
    assert_named_full(done, small_disk)
    assert contents(small_disk) == {"hits.csv": b"an older output\n"}


def test_replay_snapshots_on_a_full_disk_are_named_and_older_snapshots_kept(small_disk, tmp_path):
    store, snapshots, config = tmp_path / "store", small_disk / "snapshots", tmp_path / "replay.json"
    assert tapescan("synth", str(store), "--symbols", "3", "--start", "2024-12-02", "--end", "2024-12-03").returncode == 0
    config.write_text('{"symbols": ["SPY", "AAPL"], "derived_intervals": [5]}\n')
    snapshots.mkdir()
    (snapshots / "2024-12-02.csv").write_text("an older snapshot\n")
    fill(small_disk)
    done = tapescan("replay", str(config), "--store", str(store), "--start", "2024-12-02", "--end", "2024-12-03",
                    "--snapshot", str(snapshots), timeout=HANG)
    assert_named_full(done, snapshots)
    assert contents(snapshots) == {"2024-12-02.csv": b"an older snapshot\n"}
