"""No import cycle among the modules of engine/ and server/.

Every `import` statement counts, wherever it sits: at the top of a module, inside a function (a
cycle worked around by a late import is still a cycle) and under `if TYPE_CHECKING:` (two modules
that need each other's names are one module's job split in two). Relative imports and absolute
`unrolled.engine…` / `unrolled.server…` imports are resolved to the repository's files.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"engine": "unrolled.engine", "server": "unrolled.server"}


def module_files() -> dict[str, Path]:
    """Dotted module name (unrolled.engine.trace, unrolled.engine.cells, …) → its file."""
    out = {}
    for folder, dotted in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([dotted, *parts])] = path
    return out


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The known modules `name` imports anywhere in its file (functions and TYPE_CHECKING blocks too).

    `from package import name` counts as importing the submodule package.name when that is a module,
    else the package itself."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
            found.update(t for t in targets if t in known)
            found.update(t.rpartition(".")[0] for t in targets if t not in known and t.rpartition(".")[0] in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if sub in known:
                    found.add(sub)
                elif module in known:
                    found.add(module)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """module → the modules of the tree it imports."""
    files = module_files()
    known = set(files)
    return {name: imported_modules(name, path, known) for name, path in files.items()}


# Parsed while pytest collects, before any test has started a thread: CPython 3.11's parser keeps its
# recursion-depth check per interpreter, so ast.parse racing a compile in a server test's leftover
# thread can fail with "AST constructor recursion depth mismatch".
GRAPH = import_graph()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_parser_sees_every_kind_of_import():
    """Relative, absolute, late (inside a function) and TYPE_CHECKING imports all make edges."""
    graph = GRAPH
    assert "unrolled.engine.network" in graph["unrolled.engine"]                   # from .network import …
    assert "unrolled.engine.tasks" in graph["unrolled.server.config"]             # unrolled.engine.tasks
    assert "unrolled.engine" in graph["unrolled.server.cli"]                      # inside main()
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", sorted(PACKAGES.values()))
def test_no_import_cycle(package):
    """The modules of each package import each other without a cycle (engine never imports server)."""
    found = [c for c in cycles(GRAPH) if any(m.startswith(package) for m in c)]
    assert not found, "import cycles: " + "; ".join(" ↔ ".join(c) for c in found)
