"""`tapescan replay`: run the stream coordinator over a range of stored sessions."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from tapescan.cli.context import options, progress_bar, say
from tapescan.cli.output import refuse_inside_store
from tapescan.cli.store_options import STORE_OPTION
from tapescan.store import Store
from tapescan.stream import SystemManager, load_replay_config
from tapescan.stream.config import check_speed
from tapescan.tickers import name_symbols


def _speed_flag(value: float | None) -> float | None:
    """--speed checked as the config's `speed` is, naming the flag (NaN would make the replay wait forever)."""
    if value is None:
        return None
    try:
        return check_speed(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def replay(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="Replay config: .json, .yaml/.yml or .toml (docs/REPLAY.md)."),
    store: Path = STORE_OPTION,
    start: str = typer.Option(..., "--start", metavar="DATE", help="First session, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", metavar="DATE", help="Last session, YYYY-MM-DD."),
    speed: float | None = typer.Option(None, "--speed", callback=_speed_flag,
                                       help="Replay speed (0 = data-driven; x = x times real time). Overrides the "
                                            "config's."),
    snapshot: Path | None = typer.Option(None, "--snapshot", metavar="DIR", help="Write one snapshot CSV per session into DIR."),
) -> None:
    """Replay sessions into session_data through the coordinator and data-upkeep threads."""
    if snapshot is not None:
        refuse_inside_store(snapshot, "--snapshot")
    settings = load_replay_config(config)
    if speed is not None:
        settings = settings.model_copy(update={"speed": speed})
    system = SystemManager(Store(store), settings, start, end, snapshot_dir=snapshot, backend=options(ctx).backend)
    if system.symbols_without_data:
        say(ctx, f"no bars from {system.days[0]} to {system.days[-1]} for {name_symbols(system.symbols_without_data)} "
                 "(left empty in session_data).", "warning")
    started = time.perf_counter()
    with progress_bar(ctx, "replaying", total=len(system.days), unit="sessions") as advance:
        done = 0

        def progress(data, step) -> None:
            nonlocal done
            if len(system.sessions_done) > done:
                advance(len(system.sessions_done) - done)
                done = len(system.sessions_done)

        system.subscribe(progress)
        system.run()
    seconds = time.perf_counter() - started
    coordinator = system.coordinator
    say(ctx, f"{len(system.sessions_done)} session(s), {coordinator.advances:,} clock advances, "
             f"{coordinator.items_moved:,} items into session_data in {seconds:.1f} s"
             + (f"; snapshots in {snapshot}" if snapshot else "")
             + ("; the session timeout expired (stream_coordinator_timer_expired)"
                if system.stream_coordinator_timer_expired else "") + ".")
