"""`tapescan verify STORE [--deep]`: check every store file against the manifest, say what is damaged and
what to do; exit 0 when the store is sound, 2 when it is damaged."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from tapescan.cli.context import stderr_console, stdout_console
from tapescan.store import Store


def verify(
    store: Path = typer.Argument(..., help="Store folder (made by `tapescan synth` or `tapescan ingest`)."),
    deep: bool = typer.Option(
        False, "--deep",
        help="Also hash and read every file (page checksums), and recompute the daily values and the symbols "
             "table from the bars: reads the whole store.",
    ),
) -> None:
    """Check STORE: every file the manifest lists exists with its recorded size and footer (--deep: content
    hash, page checksums, daily values and symbols recomputed from the bars). Exit 0 when sound, 2 when
    damaged, with the damaged files and what to do."""
    report = Store(store).verify(deep)
    console = stdout_console()
    for damage in report.damage:
        console.print(f"[bold red]damaged:[/] {escape(str(report.root / damage.file))}: {escape(damage.problem)}",
                      highlight=False)
    checks = "sizes, footers, contents, page checksums, daily values and symbols" if deep else "sizes and footers"
    unrecorded = (f"; {report.unrecorded} file(s) predate recorded sizes and digests (checked by page checksums "
                  "only)" if report.unrecorded else "")
    console.print(f"{report.files} file(s) checked ({checks}){unrecorded}: "
                  f"{'the store is sound' if report.ok else f'{len(report.damage)} problem(s)'}.", highlight=False)
    if not report.ok:
        stderr_console().print(f"[bold red]error:[/] the store is damaged. {escape(report.advice())}", highlight=False)
        raise typer.Exit(2)
