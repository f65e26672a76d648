"""The `tapescan` application: global options, command registration, and error reporting.

Errors the user can fix (:class:`~tapescan.errors.TapescanError`, invalid settings) are printed as one
paragraph and exit with status 2; anything else is a bug, reported in one line with a pointer to `--debug`
(exit status 1). `--debug` shows the full traceback.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import pydantic
import typer
from rich.markup import escape

from tapescan.cli import (
    backtest_cmd,
    bars_cmd,
    cache_cmd,
    calendar_cmd,
    daily_cmd,
    demo_cmd,
    doctor_cmd,
    info_cmd,
    ingest_cmd,
    replay_cmd,
    scan_cmd,
    synth_cmd,
    verify_cmd,
)
from tapescan.cli.context import CliOptions, print_error, stderr_console
from tapescan.errors import TapescanError
from tapescan.fsio import disk_full_error, is_disk_full


class BackendChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    gpu = "gpu"


app = typer.Typer(
    name="tapescan",
    help="Ingest, scan, backtest and replay years of 1-minute US stock bars, on the GPU or the CPU.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def global_options(
    ctx: typer.Context,
    backend: BackendChoice = typer.Option(
        BackendChoice.auto, "--backend", envvar="TAPESCAN_BACKEND", case_sensitive=False,
        help="Where to compute: auto (GPU when usable, else CPU), cpu, or gpu (fail if no usable GPU).",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or notes; results only."),
) -> None:
    """Ingest, scan and replay years of 1-minute US stock bars, on the GPU or the CPU."""
    ctx.obj = CliOptions(backend=backend.value, debug=debug, quiet=quiet)


app.command("demo")(demo_cmd.demo)
app.command("synth")(synth_cmd.synth)
app.command("ingest")(ingest_cmd.ingest)
app.command("scan")(scan_cmd.scan)
app.command("sweep")(scan_cmd.sweep)
app.command("replay")(replay_cmd.replay)
app.command("backtest")(backtest_cmd.backtest)
app.command("bars")(bars_cmd.bars)
app.command("daily")(daily_cmd.daily)
app.command("calendar")(calendar_cmd.calendar)
app.command("doctor")(doctor_cmd.doctor)
app.command("info")(info_cmd.info)
app.command("verify")(verify_cmd.verify)
app.add_typer(cache_cmd.app, name="cache")


def _plain_validation_message(error: pydantic.ValidationError) -> str:
    """One line per invalid field: `field: problem`."""
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "value"
        lines.append(f"{where}: {item['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)


class Interrupted(BaseException):
    """Ctrl-C (SIGINT) or a polite kill (SIGTERM) while a command runs.

    Raised by our own signal handler instead of KeyboardInterrupt, which typer turns into a silent exit 130
    before `main` can say anything. A BaseException, so that cleanup blocks (`except BaseException`, `finally`)
    still run on the way out and no half-written file is left behind.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """The shell's convention for a command ended by a signal: 128 + its number (130 for SIGINT)."""
        return 128 + self.signum


#: The signals that stop a command cleanly, and how the message names each.
STOP_SIGNALS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def _stop_signals_raise_interrupted() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM raise :class:`Interrupted` (only the main thread can set
    handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_interrupted) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# typer vendors click and exports only some of its exceptions; UsageError is the base of BadParameter.
_UsageError = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")


def _print_usage_error(error: Exception) -> None:
    """A mistyped command line, in whole lines: the usage, what is wrong, where to get help."""
    context = getattr(error, "ctx", None)
    console = stderr_console()
    if context is not None:
        console.print(escape(context.get_usage()), highlight=False)
    print_error(error.format_message())
    if context is not None:
        console.print(f"Try '{escape(context.command_path)} --help' for help.", highlight=False)


def _run(args: list[str]) -> int:
    """Run the app on `args` and return the exit status; errors are raised, not printed."""
    try:
        status = app(args=args, prog_name="tapescan", standalone_mode=False)
    except typer.Abort:
        stderr_console().print("aborted.")
        return 1
    except _UsageError as error:  # missing argument, unknown option, ...
        if type(error).__name__ != "NoArgsIsHelpError":  # that one has printed the help already
            _print_usage_error(error)
        return getattr(error, "exit_code", 2)
    return status if isinstance(status, int) else 0


def _disk_full(error: OSError) -> TapescanError:
    """A full disk met outside an atomic write (a staging spill, a library's own write): what is true then."""
    folder = Path(error.filename).parent if error.filename else None
    return disk_full_error(folder, "the command stopped there. Nothing half-written was left behind: tapescan "
                                   "writes every file aside and renames it into place, and a store keeps the commits "
                                   "completed before.")


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        with _stop_signals_raise_interrupted():
            status = _run(args)
    except (Interrupted, KeyboardInterrupt) as stop:
        stop = stop if isinstance(stop, Interrupted) else Interrupted(signal.SIGINT)
        stderr_console().print(f"{STOP_SIGNALS[stop.signum]}; nothing half-written was left behind.", highlight=False)
        sys.exit(stop.exit_status)
    except TapescanError as error:
        if debug:
            raise
        print_error(str(error))
        sys.exit(2)
    except pydantic.ValidationError as error:
        if debug:
            raise
        print_error(_plain_validation_message(error))
        sys.exit(2)
    except Exception as error:  # a bug (unless the disk is full): say so briefly, the traceback only on request
        if debug:
            raise
        if is_disk_full(error):
            print_error(str(_disk_full(error)))
            sys.exit(2)
        stderr_console().print(
            f"[bold red]internal error:[/] {type(error).__name__}: {escape(str(error))}\n"
            "This is a bug in tapescan. Run the same command with --debug for the traceback and report it.",
            highlight=False,
        )
        sys.exit(1)
    sys.exit(status)


if __name__ == "__main__":
    main()
