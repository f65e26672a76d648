"""`tapescan verify STORE [--deep] [--repair]`: check every store file against the manifest, say what is damaged
and what to do; exit 0 when the store is sound, 2 when it is damaged. `--repair` drops the damaged sessions
(their files moved into STORE/damaged/), rewrites the daily values and symbols counts, and names the sessions to
re-ingest; exit 0 when the store is sound afterwards."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from tapescan.cli.context import print_error, stdout_console
from tapescan.store import Store
from tapescan.store.repair import RepairReport
from tapescan.store.verify import DAMAGED_FOLDER, VerifyReport


def verify(
    store: Path = typer.Argument(..., help="Store folder (made by `tapescan synth` or `tapescan ingest`)."),
    deep: bool = typer.Option(
        False, "--deep",
        help="Also hash and read every file (page checksums), and recompute the daily values and the symbols "
             "table from the bars: reads the whole store.",
    ),
    repair: bool = typer.Option(
        False, "--repair",
        help="Check deeply, then drop the damaged sessions (files moved into STORE/damaged/), rewrite the daily "
             "values and symbols counts from the healthy bars, and say which sessions to re-ingest.",
    ),
) -> None:
    """Check STORE: every file the manifest lists exists with its recorded size and footer (--deep: content
    hash, page checksums, daily values and symbols recomputed from the bars). Exit 0 when sound, 2 when
    damaged, with the damaged files and what to do (--repair: exit 0 when sound after the repair)."""
    if repair:
        _print_repair(Store(store).repair())
        return
    report = Store(store).verify(deep)
    _print_check(report)
    if not report.ok:
        print_error(f"the store is damaged. {report.advice()}")
        raise typer.Exit(2)


def _print_check(report: VerifyReport) -> None:
    """Each damaged file and a one-line summary of what was checked."""
    console = stdout_console()
    for damage in report.damage:
        console.print(f"[bold red]damaged:[/] {escape(str(report.root / damage.file))}: {escape(damage.problem)}",
                      highlight=False)
    checks = ("sizes, footers, contents, page checksums, daily values and symbols" if report.deep
              else "sizes and footers")
    unrecorded = (f"; {report.unrecorded} file(s) predate recorded sizes and digests (checked by page checksums "
                  "only)" if report.unrecorded else "")
    verdict = f"{len(report.damage)} problem(s)" if not report.ok else (
        "the store is sound" if report.deep else
        "the store is sound as far as sizes and footers show (`--deep` reads every byte)")
    console.print(f"{report.files} file(s) checked ({checks}){unrecorded}: {verdict}.", highlight=False)


def _print_repair(report: RepairReport) -> None:
    """What the repair found and did, and what to re-ingest; exit 2 unless the store is sound afterwards."""
    console = stdout_console()
    _print_check(report.before)
    if report.before.ok:
        console.print("nothing to repair.", highlight=False)
        return
    for relative in report.moved:
        console.print(f"moved {escape(relative)} to {escape(str(report.root / DAMAGED_FOLDER / relative))}",
                      highlight=False)
    for session, symbols in report.dropped.items():
        held = (f" ({len(symbols)} symbol(s): {', '.join(symbols[:10])}{', ...' if len(symbols) > 10 else ''})"
                if symbols else "")
        console.print(f"dropped session {session}{escape(held)}", highlight=False)
    if report.daily_rewritten:
        console.print(f"daily values rewritten for {', '.join(report.daily_rewritten)}", highlight=False)
    if report.symbols_rewritten:
        removed = (f"; removed (no bars left): {', '.join(report.symbols_removed)}" if report.symbols_removed else "")
        console.print(f"symbols table recounted from the remaining bars{escape(removed)}", highlight=False)
    if report.reingest():
        console.print(escape(report.reingest()), highlight=False)
    if not report.ok:
        _print_check(report.after)
        print_error(f"the store is still damaged. {report.after.advice()}")
        raise typer.Exit(2)
    console.print("the store is sound.", highlight=False)
