"""The spec lives in the repository (docs/spec/): its files are byte-identical copies of ../shared/spec
when that folder sits next to the repository, and every citation of the spec names the repository path
(docs/spec/metrics.md "Section"), never the bare file name. Only this test reads ../shared; tapescan never
does. This file names the spec files as data, so the citation checks leave it out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "spec"
SHARED = ROOT.parent / "shared" / "spec"
NAMES = ("metrics.md", "interfaces.md", "backtest.md")
# A spec file name not preceded by a path (docs/spec/, ../shared/spec/ or any other) or a word character.
BARE = re.compile(r"(?<![\w/.-])(?:metrics|interfaces|backtest)\.md")
THIS = Path(__file__).resolve()
SCANNED = ("tapescan", "tests", "bench", "docs")
SUFFIXES = {".py", ".md", ".txt", ".toml", ".yaml", ".yml", ".json", ".cfg", ".ini", ".rst"}


def test_the_spec_files_are_in_docs_spec():
    for name in NAMES:
        path = SPEC / name
        assert path.is_file() and path.stat().st_size > 0, path
    assert (SPEC / "README.md").is_file()


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared spec next to the repository ({SHARED})")
def test_docs_spec_equals_the_shared_spec_byte_for_byte():
    shared = {path.name for path in SHARED.glob("*.md")}
    assert shared, SHARED
    missing = shared - {path.name for path in SPEC.glob("*.md")}
    assert not missing, f"in {SHARED} but not in docs/spec: {sorted(missing)}; copy them (docs/spec/README.md)"
    differing = [name for name in sorted(shared) if (SPEC / name).read_bytes() != (SHARED / name).read_bytes()]
    assert not differing, f"docs/spec differs from {SHARED}: {differing}; copy again (docs/spec/README.md)"


def _scanned_files():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix not in SUFFIXES or SPEC in path.parents or path == THIS:
                continue
            if any(part in {"__pycache__", ".pytest_cache"} for part in path.parts):
                continue
            yield path


def test_no_file_cites_the_spec_without_the_docs_spec_path():
    bare = []
    for path in _scanned_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if BARE.search(line):
                bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bare, "cite the spec as docs/spec/<name>.md:\n" + "\n".join(bare)


def test_no_file_cites_the_shared_spec_instead_of_the_copy():
    cited = [
        str(path.relative_to(ROOT))
        for path in _scanned_files()
        if "shared/spec/" in path.read_text(errors="replace")
    ]
    assert not cited, cited


def test_the_package_neither_reads_shared_nor_ships_the_spec():
    """tapescan never opens ../shared (only this test does), and the spec is docs, not package data: no copy
    of it under tapescan/, and the package-data globs of pyproject.toml reach only tapescan/data."""
    readers = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "tapescan").rglob("*.py"))
        # a path into shared/ ("shared" alone is also the name of an account mode)
        if re.search(r"\.\./shared|shared/spec|(?:/|joinpath\(|Path\()\s*[\"']shared[\"']", path.read_text())
    ]
    assert not readers, readers
    assert not [path for name in NAMES for path in (ROOT / "tapescan").rglob(name)]
    pyproject = (ROOT / "pyproject.toml").read_text()
    package_data = re.search(r"^\[tool\.setuptools\.package-data\]\n((?:.+\n)*)", pyproject, flags=re.M)
    globs = re.findall(r'"([^"]+)"', package_data.group(1)) if package_data else []
    assert all(glob.startswith("data/") for glob in globs), globs
