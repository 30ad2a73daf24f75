"""The project's import graph has no circle.

Every ``import`` in vidcore/ and in the app's modules (app.py, webapp/,
app_pages/), at module level or inside a function (a lazy import still ties the two
modules together), is an edge from the importing module to the module imported. A
module importing a package's submodule is an edge to that submodule; the package's
own ``__init__`` (run first by Python) is not counted, so a package may re-export its
submodules' names.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file, for vidcore/ and the app (``app_pages.x``, ``webapp.x``...)."""
    files = [*root.joinpath("vidcore").rglob("*.py"), *root.joinpath("webapp").rglob("*.py"),
             *root.joinpath("app_pages").glob("*.py"), root / "app.py"]
    modules = {}
    for path in files:
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Candidate module names one import statement names (most specific first)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: from the module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    modules = project_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = _imported(node, name, is_package)
            if isinstance(node, ast.ImportFrom):
                # ``from a.b import c``: the submodule a.b.c when it is one, else a.b
                targets = [n for n in names[:-1] if n in modules] or \
                    ([names[-1]] if names and names[-1] in modules else [])
            else:
                targets = [n for n in names if n in modules]
            graph[name] |= {t for t in targets if t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_sees_real_edges():
    graph = import_graph()
    assert "vidcore.models.engines" in graph["vidcore.features.spec"]  # a lazy import
    assert "vidcore.features.store" in graph["vidcore.features.pipeline"]
    assert "vidcore.runs" in graph["vidcore.models.loading"]
    assert "webapp.sidebar" in graph["app"]
    assert "webapp.panels.explain" in graph["app_pages.predict"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle():
    assert cycles(import_graph()) == []
