"""The rules of the house that import contracts cannot state: no import cycle, few imports inside functions.

`lint-imports` (run by CI) checks the layers, the validator's independence,
the model's ignorance of schools and files, and osmnx behind its adapter;
these tests check what a layer contract cannot: that no two modules import
each other (imports inside functions counted), and that imports inside
functions stay the exception (the command line's lazy imports keep
``--help`` fast; anywhere else they would hide a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import networkx as nx

import cluster_mapper

PACKAGE = Path(cluster_mapper.__file__).parent


def _import_graph() -> nx.DiGraph:
    graph = grimp.build_graph("cluster_mapper", cache_dir=None)
    g = nx.DiGraph()
    for m in graph.modules:
        g.add_node(m)
        for imported in graph.find_modules_directly_imported_by(m):
            g.add_edge(m, imported)
    return g


def test_no_import_cycle_counting_imports_inside_functions():
    g = _import_graph()
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert cycles == [], f"modules that import each other: {cycles}"


def test_the_cycle_check_finds_a_cycle():
    g = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a")])
    assert [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1] == [["a", "b", "c"]]


def _inner_own_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    for n in tree.body:  # `if TYPE_CHECKING:` and try/except at module level are still module level
        if isinstance(n, ast.If | ast.Try):
            top |= {id(x) for x in n.body} | {id(x) for h in getattr(n, "handlers", []) for x in h.body}
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("cluster_mapper") and id(n) not in top]


def test_own_imports_inside_functions_only_in_the_command_line():
    inner = {str(p.relative_to(PACKAGE)): lines for p in PACKAGE.rglob("*.py") if (lines := _inner_own_imports(p))}
    assert set(inner) <= {"cli.py"}, inner


def test_the_package_root_holds_entry_points_and_leaves_only():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert modules == ["__init__", "__main__", "_files", "_geo", "_version", "api", "cli", "compare", "errors", "folder", "preview", "sample"]
