"""How the command line talks in pipes, logs and terminals: whole lines, Ctrl-C, and files other users can read."""

from __future__ import annotations

import os
import pty
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_process import tapescan

# Longer than any terminal: rich used to break it at 80 columns wherever the path happened to end.
LONG_STORE = "/nonexistent/" + "a-very-long-folder-name-" * 8 + "store"


def test_a_message_in_a_pipe_is_one_whole_line():
    result = tapescan("bars", "AAPL", "--store", LONG_STORE, "--start", "2024-01-02", "--end", "2024-01-03")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and f"{LONG_STORE} is not a tapescan store" in lines[0]
    assert lines[0].endswith(f"--store {LONG_STORE}`.")


def test_a_usage_error_in_a_pipe_is_whole_lines_without_a_box():
    result = tapescan("bars", "AAPL", "--store", "s", "--start", "2024-01-02", "--bogus-" + "x" * 100)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "Usage: tapescan bars [OPTIONS] SYMBOL",
        f"error: No such option: --bogus-{'x' * 100}",
        "Try 'tapescan bars --help' for help.",
    ]


def test_a_message_on_a_terminal_wraps_to_its_width():
    """stderr on a pseudo-terminal 60 columns wide: rich wraps there, as a terminal user expects."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "60", "LINES": "24", "TERM": "xterm"}
    with subprocess.Popen([sys.executable, "-m", "tapescan.cli.main", "bars", "AAPL", "--store", LONG_STORE,
                           "--start", "2024-01-02", "--end", "2024-01-03"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, env=env) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the follower side closed: the process has exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 2
    os.close(leader)
    text = b"".join(chunks).decode()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # colours and cursor codes
    lines = [line for line in plain.replace("\r", "").splitlines() if line.strip()]
    assert len(lines) > 2 and max(len(line) for line in lines) <= 60, lines
    assert "is not a tapescan store" in " ".join(lines)


def _interrupt_once(args: list[str], ready: Callable[[], bool],
                    signum: int = signal.SIGINT) -> tuple[int, list[str]]:
    """Run `tapescan ARGS`, press Ctrl-C as a terminal does (SIGINT to the whole process group, workers included;
    or another `signum`) once `ready()` says it is mid-work; its exit status and stderr lines."""
    with subprocess.Popen([sys.executable, "-m", "tapescan.cli.main", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as process:
        deadline = time.monotonic() + 120
        while not ready() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process.poll() is None, "the command ended before it could be interrupted"
        os.killpg(process.pid, signum)
        _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr.splitlines()


INTERRUPTED = (130, ["interrupted; nothing half-written was left behind."])


def test_ctrl_c_says_so_and_leaves_nothing_half_written(tmp_path):
    store = tmp_path / "store"
    assert _interrupt_once(["synth", str(store), "--symbols", "3000", "--start", "2024-01-02", "--end", "2024-06-28"],
                           lambda: any(store.glob("**/*.parquet"))) == INTERRUPTED
    assert [path for path in store.rglob("*") if path.name.endswith(".tmp")] == []


def _modes(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): stat.S_IMODE(path.stat().st_mode)
            for path in folder.rglob("*") if path.is_file() and path.name != ".lock"}


def _run_with_umask(umask: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tapescan.cli.main", "--quiet", *args], capture_output=True,
                          text=True, preexec_fn=lambda: os.umask(umask))


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_get_the_usual_mode_not_0600(tmp_path, umask, mode):
    store, daily = tmp_path / "store", tmp_path / "daily.csv"
    assert _run_with_umask(umask, "synth", str(store), "--symbols", "5", "--start", "2024-12-02",
                           "--end", "2024-12-03").returncode == 0
    assert _run_with_umask(umask, "daily", "--store", str(store), "--start", "2024-12-02", "--end", "2024-12-03",
                           "--output", str(daily)).returncode == 0
    modes = _modes(store)
    assert "manifest.json" in modes and any(name.endswith(".parquet") for name in modes)
    assert set(modes.values()) == {mode}, modes
    assert stat.S_IMODE(daily.stat().st_mode) == mode


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root and runuser")
def test_another_user_can_read_a_store_and_a_sweep_output(scanner_config_file):
    """Written with umask 022 by root, read by `nobody` (in a world-traversable folder outside pytest's 0700 one)."""
    top = Path(tempfile.mkdtemp(prefix="tapescan-shared-"))
    try:
        top.chmod(0o755)
        store, hits = top / "store", top / "hits.csv"
        made = _run_with_umask(0o022, "synth", str(store), "--symbols", "20", "--start", "2024-11-25",
                               "--end", "2024-12-03")
        assert made.returncode == 0, made.stderr
        swept = _run_with_umask(0o022, "sweep", str(scanner_config_file), "--store", str(store),
                                "--start", "2024-11-25", "--end", "2024-12-03", "--output", str(hits))
        assert swept.returncode == 0, swept.stderr
        files = [path for path in [*store.rglob("*"), hits] if path.is_file() and path.name != ".lock"]
        assert len(files) > 5
        unreadable = [str(path) for path in files
                      if subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(path)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0]
        assert unreadable == []
    finally:
        shutil.rmtree(top)


@pytest.fixture
def scanner_config_file(tmp_path) -> Path:
    path = tmp_path / "scanner.json"
    path.write_text('{"market_scanner_config": {"symbols": ["SPY", "AAPL", "MSFT"], "start_time": "09:35", '
                    '"end_time": "10:00"}}\n')
    return path


def _firstrate_files(folder: Path, symbols: int, days: list[str]) -> None:
    """FirstRateData-shaped 1-minute files (`2024-01-02 09:30:00,o,h,l,c,v`), enough to keep workers busy."""
    folder.mkdir()
    clock = [f"{9 + (30 + m) // 60:02d}:{(30 + m) % 60:02d}:00" for m in range(390)]
    for number in range(symbols):
        lines = [f"{day} {time},10.5,10.75,10.25,10.5,{100 + m}" for day in days for m, time in enumerate(clock)]
        (folder / f"S{number:04d}_full_1min_UNADJUSTED.txt").write_text("\n".join(lines) + "\n")


def test_ctrl_c_in_a_terminal_stops_an_ingest_and_its_workers_without_a_trace(tmp_path):
    """A terminal sends Ctrl-C to the whole process group: the workers must leave stopping to the parent, which
    waits for them before it removes the staging folder and the store it had just created."""
    source, store = tmp_path / "firstrate", tmp_path / "store"
    _firstrate_files(source, 400, ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
    assert _interrupt_once(["ingest", "firstrate", str(source), "--store", str(store), "--workers", "2"],
                           lambda: (store / ".staging").exists()) == INTERRUPTED
    assert not store.exists()


def _help(*command: str) -> str:
    result = tapescan(*command, "--help")
    assert result.returncode == 0, result.stderr
    return result.stdout


def _commands() -> list[str]:
    """Every command, a group's as "group sub" (`tapescan cache build`)."""
    import typer

    from tapescan.cli.main import app

    names = []
    for name, command in typer.main.get_command(app).commands.items():
        names += [f"{name} {sub}" for sub in command.commands] if hasattr(command, "commands") else [name]
    return sorted(names)


def test_help_reads_like_a_well_kept_cli():
    """Flags take no value (no `<bool>`), usage lines name arguments in capitals (no `{config}`), and dates,
    times, files and folders are called what they are instead of TEXT or PATH."""
    assert "backtest" in _commands() and "backtest" in _help().lower()
    named = set()  # the flags found in some command's help: each must be, so that the check cannot pass unseen
    for command in _commands():
        text = _help(*command.split())
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert "{" not in usage and "<" not in usage, usage
        assert re.fullmatch(rf"Usage: tapescan {command} \[OPTIONS\]( [A-Z]+(\.\.\.)?)*", usage.strip()), usage
        assert "<bool>" not in text and "BOOLEAN" not in text and "<str>" not in text, command
        output = "DIR" if command == "backtest" else "FILE"  # backtest writes a folder of files (docs/spec/interfaces.md)
        for flag, metavar in (("--start", "DATE"), ("--end", "DATE"), ("--date", "DATE"), ("--output", output),
                              ("--store", "DIR"), ("--time", "HH:MM")):
            line = next((line for line in text.splitlines() if re.match(rf"\W*\*?\s+{flag} ", line)), None)
            assert line is None or f" {metavar} " in line, (command, line)
            named.update([flag] if line else [])
        help_line = next(line for line in text.splitlines() if " --help " in line)
        assert re.search(r"--help\s+-h\s+Show this message", help_line), help_line
    assert named == {"--start", "--end", "--date", "--output", "--store", "--time"}


def test_ctrl_c_during_a_replay_leaves_no_snapshot_file(tmp_path):
    """The coordinator thread holds the session's snapshot file open: Ctrl-C must stop it and let it drop the
    file (a join interrupted in CPython marks the thread finished, so the wait is on an event)."""
    store, snapshots, config = tmp_path / "store", tmp_path / "snapshots", tmp_path / "replay.json"
    assert _run_with_umask(0o022, "synth", str(store), "--symbols", "3", "--start", "2024-12-02",
                           "--end", "2024-12-02").returncode == 0
    config.write_text('{"symbols": ["SPY", "AAPL"], "derived_intervals": [5], "speed": 60}\n')
    assert _interrupt_once(["replay", str(config), "--store", str(store), "--start", "2024-12-02", "--end",
                            "2024-12-02", "--snapshot", str(snapshots)],
                           lambda: any(snapshots.glob(".*.tmp"))) == INTERRUPTED
    assert list(snapshots.iterdir()) == []


def test_sigterm_stops_a_sweep_like_ctrl_c_and_leaves_no_temp_file(tmp_path, scanner_config_file):
    store, hits = tmp_path / "store", tmp_path / "out" / "hits.csv"
    assert _run_with_umask(0o022, "synth", str(store), "--symbols", "300", "--start", "2024-09-03",
                           "--end", "2024-10-31").returncode == 0
    hits.parent.mkdir()
    status, stderr = _interrupt_once(["sweep", str(scanner_config_file), "--store", str(store), "--start",
                                      "2024-09-03", "--end", "2024-10-31", "--output", str(hits)],
                                     lambda: any(hits.parent.glob(".*.tmp")), signal.SIGTERM)
    assert (status, stderr[-1:]) == (128 + signal.SIGTERM, ["terminated; nothing half-written was left behind."])
    assert list(hits.parent.iterdir()) == []


def test_paths_in_messages_print_as_written(tmp_path):
    """rich would turn `:x:` into an emoji and `[bold]` into style."""
    store = tmp_path / ":x: [bold]store"
    made = tapescan("synth", str(store), "--symbols", "2", "--start", "2024-12-02", "--end", "2024-12-02")
    assert made.returncode == 0 and f"{store}: 1 session(s) written" in made.stderr
    missing = tapescan("bars", "AAPL", "--store", str(tmp_path / ":x: nothing"), "--start", "2024-12-02",
                       "--end", "2024-12-02")
    assert missing.returncode == 2 and f"{tmp_path / ':x: nothing'} is not a tapescan store" in missing.stderr
