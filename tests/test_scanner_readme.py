"""The README's "Try it on the demo market" commands run clean: on a demo store built by `tapescan demo`, each
`tapescan` command of that block exits 0 and prints no warning (docs/SCANNER.md "Warnings and notes")."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli_process import tapescan

README = Path(__file__).resolve().parents[1] / "README.md"
DEMO_DIR = "~/.cache/tapescan/demo"


def readme_demo_commands() -> list[list[str]]:
    """The arguments of every `.venv/bin/tapescan ...` command in the README's demo block (continuations
    joined)."""
    text = README.read_text(encoding="utf-8")
    block = text[text.index("Try it on the demo market"):]
    block = block[block.index("```") + 3:]
    block = block[:block.index("```")].replace("\\\n", " ")
    return [shlex.split(line)[1:] for line in block.splitlines() if line.strip().startswith(".venv/bin/tapescan")]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("readme") / "demo"
    built = tapescan("demo", "--dir", str(folder))
    assert built.returncode == 0, built.stderr
    assert "warning" not in built.stderr.lower()
    return folder


def test_the_readme_lists_a_scan_and_a_sweep_of_the_demo_store() -> None:
    commands = [args[0] for args in readme_demo_commands()]
    assert "scan" in commands and "sweep" in commands


@pytest.mark.parametrize("args", readme_demo_commands(), ids=lambda args: args[0])
def test_a_readme_demo_command_runs_without_warnings(demo_store, tmp_path, args):
    local = [re.sub(r"^" + re.escape(DEMO_DIR), str(demo_store), arg) for arg in args]
    for option in ("--output", "--report"):  # files the command writes go to the test's folder
        if option in local:
            at = local.index(option) + 1
            local[at] = str(tmp_path / local[at])
    result = tapescan(*local)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr
