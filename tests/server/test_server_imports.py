"""The server's modules import each other without a cycle (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"


def module_name(path: Path) -> str:
    """unrolled.server.<dotted path> of a file under server/."""
    parts = path.relative_to(SERVER).with_suffix("").parts
    return ".".join(("unrolled", "server", *(p for p in parts if p != "__init__")))


def server_imports(path: Path, known: set[str]) -> set[str]:
    """The server modules a file imports anywhere in it (``from a import b`` counts a.b when it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in known}


def test_no_import_cycle_among_the_server_modules():
    files = {module_name(p): p for p in SERVER.rglob("*.py")}
    graph = {name: server_imports(path, set(files)) - {name} for name, path in files.items()}
    packages = {name for name, path in files.items() if path.name == "__init__.py"}
    for name in graph:  # importing a package's module imports the package first: not an edge back
        graph[name] -= packages
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert len(graph) > 30  # every module was read
