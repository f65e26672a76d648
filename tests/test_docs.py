"""The README and the setup guide tell the truth about the Makefile: the targets they name exist, the
benchmarks `make bench` runs are the ones they list, and they agree on the Python versions."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "setup" / "ubuntu_rtx3090.md"]
MAKEFILE = (ROOT / "Makefile").read_text()


def _targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", MAKEFILE, flags=re.M))


def _recipe(target: str) -> str:
    """The prerequisites and recipe lines of `target`, with those of the targets it depends on."""
    match = re.search(rf"^{re.escape(target)}:(.*)\n((?:\t.*\n)*)", MAKEFILE, flags=re.M)
    assert match, target
    text = match.group(1) + match.group(2)
    for prerequisite in match.group(1).split():
        if prerequisite in _targets():
            text += _recipe(prerequisite)
    return text


def test_every_make_target_the_docs_name_exists():
    named = {target for doc in DOCS for target in re.findall(r"(?:^|`|&& )make ([a-z][\w-]*)", doc.read_text(), flags=re.M)}
    assert named and named - _targets() == set()


def test_the_setup_guide_lists_what_make_bench_runs_and_says_which_target_uses_the_gpu():
    scripts = re.findall(r"bench/(bench_\w+)\.py", _recipe("bench"))
    assert len(scripts) >= 5 and "--gpu" not in _recipe("bench") and "--gpu" in _recipe("bench-gpu")
    guide = (ROOT / "setup" / "ubuntu_rtx3090.md").read_text()
    section = guide[guide.index("## 8."):]
    described = section[section.index("`make bench` runs"):section.index("```")]
    for script in scripts:
        assert script.removeprefix("bench_") in described, script
    assert "does not use the GPU" in described and "`make bench-gpu`" in described


def test_readme_and_setup_guide_name_the_same_python_versions():
    versions = {doc.name: re.findall(r"Python (3\.\d+(?: or 3\.\d+| or newer))", doc.read_text()) for doc in DOCS}
    assert versions["README.md"] and all(found == versions["README.md"][:1] * len(found) for found in versions.values()), versions
