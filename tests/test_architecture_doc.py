"""docs/ARCHITECTURE.md's module table names every module under tapescan/ (issue #13).

A row's first column holds one or more backquoted paths, relative to tapescan/ (`store/reader.py`) or from
the repository root (`tapescan/__init__.py`); a family row lists several (`kernels/tod.py`, `cpu_fallback/tod.py`,
`gpu/tod.py`). Globs are not accepted: a row per module, so that each says its one job.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
PACKAGE = ROOT / "tapescan"


def table_paths(text: str) -> list[str]:
    """The backquoted entries of the first column of the table under '## Modules', relative to tapescan/."""
    section = text.split("\n## Modules", 1)[1].split("\n## ", 1)[0]
    paths = []
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("| ---"):
            continue
        first = line.split("|")[1]
        for entry in re.findall(r"`([^`]+)`", first):
            paths.append(entry.removeprefix("tapescan/"))
    return paths


def test_every_module_has_a_row():
    listed = table_paths(DOC.read_text())
    modules = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py"))
    missing = [m for m in modules if m not in listed]
    assert not missing, "docs/ARCHITECTURE.md's module table has no row for: " + ", ".join(missing)


def test_every_row_names_a_module():
    listed = table_paths(DOC.read_text())
    stale = [p for p in listed if not (PACKAGE / p).is_file()]
    assert not stale, "docs/ARCHITECTURE.md's module table names modules that do not exist: " + ", ".join(stale)


def test_rows_are_parsed_from_the_first_column_only():
    text = "# x\n\n## Modules\n\n| module | one job |\n| --- | --- |\n" \
           "| `tapescan/__init__.py` | the API, `not_a_module.py` |\n" \
           "| `kernels/tod.py`, `gpu/tod.py` | tod |\n\n## Decisions\n\n| `other.py` | x |\n"
    assert table_paths(text) == ["__init__.py", "kernels/tod.py", "gpu/tod.py"]
