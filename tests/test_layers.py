"""The import graph of `codesign` and `experiments` has no cycle (issue 11).

grimp (import-linter's graph builder) records every import statement, including those inside functions, so a
cycle cannot be hidden by moving an import into a function body. Each strongly connected component of more
than one module is a cycle; the failure message names one concrete loop through it and the import lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One concrete cycle (a module list, first module repeated at the end) per strongly connected component."""
    g = nx.DiGraph()
    for module in graph.modules:
        g.add_node(module)
        for imported in graph.find_modules_directly_imported_by(module):
            g.add_edge(module, imported)
    cycles = []
    for component in nx.strongly_connected_components(g):
        if len(component) > 1:
            loop = nx.find_cycle(g.subgraph(component))
            cycles.append([a for a, _ in loop] + [loop[0][0]])
    return sorted(cycles)


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """`a -> b (line N: from ... import ...)` for every edge of a cycle."""
    steps = []
    for a, b in zip(cycle, cycle[1:], strict=False):
        details = graph.get_import_details(importer=a, imported=b)
        where = "; ".join(f"line {d['line_number']}: {d['line_contents']}" for d in details)
        steps.append(f"{a} -> {b} ({where})")
    return "\n  ".join(steps)


@pytest.fixture(scope="module")
def project_graph() -> grimp.ImportGraph:
    if str(ROOT) not in sys.path:  # `experiments` is a top-level package of the checkout, not installed
        sys.path.insert(0, str(ROOT))
    return grimp.build_graph("codesign", "experiments")


def test_no_import_cycle_in_codesign_or_experiments(project_graph: grimp.ImportGraph) -> None:
    assert "codesign.hls.convert" in project_graph.modules  # the graph covers the package
    cycles = import_cycles(project_graph)
    assert not cycles, "import cycles:\n  " + "\n\n  ".join(describe(project_graph, c) for c in cycles)


def test_cycle_finder_names_a_cycle_hidden_in_a_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "cyclepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclepkg.b import g\n\n\ndef f():\n    return g()\n")
    (pkg / "b.py").write_text("def g():\n    from cyclepkg.a import f\n\n    return f\n")
    (pkg / "c.py").write_text("import cyclepkg.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("cyclepkg", cache_dir=None)
    cycles = import_cycles(graph)
    assert len(cycles) == 1 and set(cycles[0]) == {"cyclepkg.a", "cyclepkg.b"}
    text = describe(graph, cycles[0])
    assert "from cyclepkg.a import f" in text and "from cyclepkg.b import g" in text
