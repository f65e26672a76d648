"""`tapescan doctor`: what this machine has, and which backend tapescan picks on it, and why."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from tapescan.backend import machine_report
from tapescan.cli.context import options, print_error, stdout_console


def _text(value: Any, separator: str = "\n") -> str:
    """A report value as display text: list items one a line, dict items as `key: value` joined by `separator`."""
    if isinstance(value, list):
        return "\n".join(_text(item, ", ") for item in value) or "none"
    if isinstance(value, dict):
        return separator.join(f"{key.replace('_', ' ')}: {_text(item)}" for key, item in value.items()) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "unknown" if value is None else str(value)


def _resolution_text(entry: dict[str, str]) -> str:
    """`cpu — reason`, as plain text (no rich markup)."""
    return escape(f"{entry['name']} — {entry['reason']}")


def _print_report(report: dict[str, Any]) -> None:
    """The report as one table per section, then the known problems and the backend choices, `auto` last."""
    console = stdout_console()
    for section in ("machine", "packages", "gpu"):
        table = Table(title=section, title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in report[section].items():
            table.add_row(key.replace("_", " "), escape(_text(value)))
        console.print(table)
    for problem in report["problems"]:
        console.print(f"[bold yellow]problem:[/] {escape(problem)}", highlight=False)
    requested = report["backend"]["requested"]
    if requested["requested"] != "auto" and "error" not in requested:  # a refusal is reported on stderr
        console.print(f"--backend {requested['requested']}: {_resolution_text(requested)}", highlight=False)
    console.print(f"auto picks: {_resolution_text(report['backend']['auto'])}", highlight=False)


def doctor(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON instead of tables."),
) -> None:
    """Show this machine's CPU, memory, GPU and libraries, and which backend tapescan picks here and why.

    No GPU is a normal state (tapescan runs on the CPU); with `--backend gpu` and no usable GPU, the report is
    printed and the command then fails with what to fix.
    """
    report = machine_report(options(ctx).backend)
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_report(report)
    refused = report["backend"]["requested"].get("error")
    if refused:  # exit 2 like any error the user can fix, but only after the report was printed
        print_error(refused)
        raise typer.Exit(2)
