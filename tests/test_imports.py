"""Every module of tapescan imports on its own, and tapescan's own imports form no cycle (issue #13).

Importing alone: each module is imported first thing in a process that holds no tapescan module, so a module
that only works because another one happened to be imported before it fails here. One child process per
module, forked from a parent that has imported the third-party libraries tapescan uses (numpy, pandas,
pyarrow, numba, ...) and nothing of tapescan: a fresh interpreter per module would spend about a second each
on those libraries (over 100 modules), a fork a few hundredths of one, and no tapescan code has run in the
parent. The parent itself runs in a fresh interpreter (a subprocess), never inside pytest. Importing
`tapescan.x.y` runs `tapescan/__init__.py` first, which imports the public API (store, analytics, scanner,
data manager, ...), so a module on that chain is checked together with it; the modules off it (cli, stream,
ingest, gpu, demo, ...) are checked alone. Imports inside functions are not edges of the cycle walk: the one
such cycle, `configfile.config_kinds` importing the scanner and replay configs (which import configfile), is
deliberate, so that a config of the wrong kind is named without configfile depending on both.

The GPU modules (tapescan/gpu) import without a GPU and without the CUDA simulator (their `cuda.jit` kernels
compile on first launch), which is how a CPU-only user imports them; so the children run with
NUMBA_ENABLE_CUDASIM unset, in the main suite and in tests/cudasim alike.

Cycles: the module-level imports of every module (not those inside functions) as a graph over tapescan's
modules. `import a.b` and `from a import b` (b a module) are edges to a.b, `from a import name` an edge to a;
the implicit imports of parent packages (`tapescan/__init__.py`, `tapescan/store/__init__.py` ...) are not
edges, or every module would sit on a cycle through `tapescan/__init__.py`. Imports under
`if TYPE_CHECKING:` are edges: they never run, so such a cycle cannot break an import, but the two modules
still depend on each other. Any cycle fails the test, printed module by module.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tapescan"

def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _module_level(body: list[ast.stmt]):
    """The import statements that run when the module is imported (nested in if/try/with, not in defs)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level(block)
        elif isinstance(node, ast.With):
            yield from _module_level(node.body)


def imported_names(name: str, path: Path, known: set[str] | None = None) -> set[str]:
    """Every module name the module imports at module level (tapescan's or not). With `known` (tapescan's
    modules), `from a import b, c` names a only when b or c is not a module of `known`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _module_level(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        submodules = {f"{base}.{alias.name}" for alias in node.names}
        found.update(submodules)
        if known is None or not submodules <= known:
            found.add(base)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imported_names(name, path, set(known)) if m in known and m != name}
            for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one module (or a self-import):
    a list of modules, the first repeated at the end."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is ~100 modules, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first within the component)."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle in {component}")


def test_the_import_graph_has_no_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles among tapescan's modules:\n" + "\n".join(" -> ".join(c) for c in found)


def test_cycles_are_found_and_printed():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert sorted(cycles(graph)) == [["a", "b", "c", "a"], ["e", "e"]]


_FORK_EACH = r"""
import importlib, os, sys, traceback
third_party, names, out = sys.argv[1].split(","), sys.argv[2].split(","), sys.argv[3]
for name in third_party:
    try:
        importlib.import_module(name)
    except Exception:  # optional (cudf, cupy ...): the child meets the same failure the user would
        pass
assert not [m for m in sys.modules if m == "tapescan" or m.startswith("tapescan.")]
running = {}
def reap():
    pid, status = os.wait()
    name = running.pop(pid)
    if os.WIFSIGNALED(status):  # killed while importing (a crash in compiled code): no traceback was written
        with open(os.path.join(out, name), "w") as f:
            f.write(f"killed by signal {os.WTERMSIG(status)} while importing")
for name in names:
    if len(running) >= max(2, os.cpu_count() or 2):
        reap()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            importlib.import_module(name)
        except BaseException:
            with open(os.path.join(out, name), "w") as f:
                f.write(traceback.format_exc())
            code = 1
        os._exit(code)
    running[pid] = name
while running:
    reap()
"""


def test_every_module_imports_on_its_own(tmp_path):
    known = modules()
    third_party = sorted({m.partition(".")[0] for name, path in known.items() for m in imported_names(name, path)
                         if m.partition(".")[0] not in ("tapescan", "__future__")})
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, "-c", _FORK_EACH, ",".join(third_party), ",".join(known),
                             str(tmp_path)], check=False, cwd=PACKAGE.parent, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    failures = {p.name: p.read_text() for p in sorted(tmp_path.iterdir())}
    assert not failures, "modules that do not import on their own:\n\n" + "\n".join(
        f"{name}:\n{text}" for name, text in failures.items())
