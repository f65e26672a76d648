"""Options shared by every command (`--backend`, `--debug`, `--quiet`) and the progress display."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


@dataclass(frozen=True)
class CliOptions:
    """The global options, as parsed by the main callback."""

    backend: str = "auto"
    debug: bool = False
    quiet: bool = False


def options(ctx: typer.Context) -> CliOptions:
    """The global options of this invocation (defaults when a command is called without the callback)."""
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, CliOptions) else CliOptions()


def stdout_console() -> Console:
    """A console for results on stdout."""
    return Console(soft_wrap=True, emoji=False)


def stderr_console() -> Console:
    """A console for messages and progress on stderr, so that stdout stays clean for data.

    On a terminal rich wraps messages to its width; in a pipe or a log it must not wrap at all (rich would
    break lines at 80 columns), so that every message stays one whole line for grep and log readers.
    """
    console = Console(stderr=True, emoji=False)  # a path or ticker with `:x:` in it is printed as written
    console.soft_wrap = not console.is_terminal
    return console


#: How `say` labels a message: a warning stands out; a note is plain.
LABELS = {"warning": "[yellow]warning:[/] ", "note": "note: "}
ERROR_LABEL = "[bold red]error:[/] "


def say(ctx: typer.Context, message: str, label: str | None = None) -> None:
    """Print a human message on stderr unless `--quiet`, exactly as written (no rich markup or emoji codes in
    it are interpreted, so paths and tickers print literally), after `label` ("warning" or "note") if given."""
    if not options(ctx).quiet:
        stderr_console().print(LABELS.get(label, "") + escape(message), highlight=False)


def print_error(message: str) -> None:
    """Print "error: `message`" on stderr whatever `--quiet` says, exactly as written (no markup interpreted)."""
    stderr_console().print(ERROR_LABEL + escape(message), highlight=False)


class RateColumn(ProgressColumn):
    """Items per second, e.g. "12.5 sessions/s" (blank until rich has measured a speed)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f} {self.unit}/s")


@contextlib.contextmanager
def progress_bar(ctx: typer.Context, description: str, total: int,
                 unit: str | None = None) -> Iterator[Callable[[int], None]]:
    """Yield `advance(n)`; draws a progress bar (with a rate in `unit`s per second when given) on a terminal,
    nothing in pipes or with `--quiet`."""
    if options(ctx).quiet or not sys.stderr.isatty():
        yield lambda n=1: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               *((RateColumn(unit),) if unit else ()), TimeRemainingColumn())
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)
