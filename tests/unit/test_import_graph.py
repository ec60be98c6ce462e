"""The import graph of the product packages (server, rooms, moderation, avatar).

Every ``import`` and ``from … import`` counts, wherever it stands: at the top, under
``if TYPE_CHECKING:``, inside a function. A type-only import is still a dependency a reader
must follow, and a function-level import is how a cycle hides. The graph is read from the
source (AST), not by importing, so a cycle that Python happens to tolerate still fails.

Three rules: no cycle between modules; the pure packages never import ``server``; a part of
``server`` imports only what ``server/layers.py`` allows it, and its ``__init__`` docstring's
"May import:" paragraph names the same parts.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.layers import KNOWN_EXCEPTIONS, MAY_IMPORT

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("server", "rooms", "moderation", "avatar")
PURE = ("rooms", "moderation", "avatar")


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.path}:{self.line})"


def find_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` below the packages."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _known(name: str, modules: Mapping[str, Path]) -> str | None:
    """``name`` if it is one of ours, else its nearest enclosing module that is (importing
    ``pkg.mod.attr`` depends on ``pkg.mod``), else None (standard or third-party)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, modules: Mapping[str, Path], root: Path) -> list[Edge]:
    """The modules of ours that module ``name`` imports, with the line of each import."""
    path = modules[name]
    rel = str(path.relative_to(root))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    edges: list[Edge] = []

    def add(target: str | None, line: int) -> None:
        if target is not None and target != name:
            edges.append(Edge(name, target, rel, line))

    for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_known(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # ``from ..x import y`` in a.b.c: one dot is the module's own package.
                base = package[: len(package) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from pkg import module`` depends on that module, not only on pkg.
                submodule = f"{source}.{alias.name}"
                add(submodule if submodule in modules else _known(source, modules),
                    node.lineno)
    return edges


def import_graph(root: Path = ROOT, packages: Iterable[str] = PRODUCT) -> dict[str, list[Edge]]:
    modules = find_modules(root, packages)
    return {name: imports_of(name, modules, root) for name in modules}


def find_cycles(graph: Mapping[str, list[Edge]]) -> list[list[Edge]]:
    """One shortest cycle in each strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is a few hundred modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for edge in graph.get(v, ()):
            w = edge.target
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
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)

    cycles = []
    for component in components:
        start = min(component)
        # Breadth-first from start back to start, inside the component: the shortest cycle.
        came: dict[str, Edge] = {}
        queue = deque([start])
        while queue:
            v = queue.popleft()
            for edge in graph[v]:
                w = edge.target
                if w in component and w not in came:
                    came[w] = edge
                    queue.append(w)
            if start in came:
                break
        cycle = [came[start]]
        while cycle[-1].source != start:
            cycle.append(came[cycle[-1].source])
        cycles.append(cycle[::-1])
    return cycles


def part_of(module: str) -> str | None:
    """The part of ``server`` a module belongs to (``server.meetings.api`` → ``meetings``,
    ``server.app`` → ``app``), None for the package root ``server`` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layering_violations(graph: Mapping[str, list[Edge]]) -> tuple[list[str], set[tuple[str, str]]]:
    """Imports between parts of ``server`` that the table does not allow, and the known
    exceptions that were used."""
    wrong: list[str] = []
    used: set[tuple[str, str]] = set()
    for edges in graph.values():
        for edge in edges:
            if not (edge.source.startswith("server") and edge.target.startswith("server")):
                continue
            source, target = part_of(edge.source), part_of(edge.target)
            if source is None:
                wrong.append(f"{edge}: the package root must import nothing of server")
            elif target is None or target == source:
                continue
            elif source not in MAY_IMPORT:
                wrong.append(f"{edge}: server.{source} is not in server/layers.py")
            elif target in MAY_IMPORT[source]:
                continue
            elif (edge.source, target) in KNOWN_EXCEPTIONS:
                used.add((edge.source, target))
            else:
                wrong.append(f"{edge}: server.{source} may not import server.{target}")
    return wrong, used


@pytest.fixture(scope="module")
def graph() -> dict[str, list[Edge]]:
    return import_graph()


def test_no_import_cycles(graph: dict[str, list[Edge]]) -> None:
    cycles = find_cycles(graph)
    shown = [" -> ".join([c[0].source, *(e.target for e in c)]) + "\n    "
             + "\n    ".join(str(e) for e in c) for c in cycles]
    assert not cycles, "import cycles:\n" + "\n".join(shown)


def test_pure_packages_never_import_server(graph: dict[str, list[Edge]]) -> None:
    wrong = [str(e) for name, edges in graph.items() if name.split(".")[0] in PURE
             for e in edges if e.target.split(".")[0] == "server"]
    assert not wrong, "pure packages importing server:\n" + "\n".join(wrong)


def test_server_parts_import_only_what_layers_allows(graph: dict[str, list[Edge]]) -> None:
    wrong, used = layering_violations(graph)
    stale = [f"{k}: no longer imported, remove it" for k in KNOWN_EXCEPTIONS if k not in used]
    assert not wrong + stale, "\n".join(wrong + stale)


def test_every_part_is_in_the_table() -> None:
    parts = {p for m in find_modules(ROOT, ["server"]) if (p := part_of(m)) is not None}
    table = set(MAY_IMPORT)
    assert parts == table, (f"server/layers.py lists exactly the parts of server: missing "
                            f"{sorted(parts - table)}, gone {sorted(table - parts)}")


def test_the_table_has_no_cycle() -> None:
    # Remove parts that import nothing left, repeatedly; what remains imports in a ring.
    left = {p: set(allowed) for p, allowed in MAY_IMPORT.items()}
    while ready := [p for p, allowed in left.items() if not allowed & left.keys()]:
        for p in ready:
            del left[p]
    assert not left, f"server/layers.py allows a ring among {sorted(left)}"


def _may_import_paragraph(docstring: str) -> str | None:
    for paragraph in re.split(r"\n\s*\n", docstring):
        if paragraph.lstrip().startswith("May import:"):
            return paragraph
    return None


@pytest.mark.parametrize("part", sorted(p for p in MAY_IMPORT if (ROOT / "server" / p).is_dir()))
def test_init_docstring_names_what_the_table_allows(part: str) -> None:
    init = ROOT / "server" / part / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
    paragraph = _may_import_paragraph(docstring)
    assert paragraph is not None, f"{init}: no 'May import:' paragraph"
    named = set(re.findall(r"``server\.(\w+)``", paragraph))
    excepted = {target for (module, target) in KNOWN_EXCEPTIONS if part_of(module) == part}
    assert named == MAY_IMPORT[part] | excepted, (
        f"{init} names {sorted(named)}; server/layers.py allows "
        f"{sorted(MAY_IMPORT[part])}, with known exceptions {sorted(excepted)}")


# -- The walker itself, on a small tree: each kind of import it must see. -----------------

def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_walker_sees_every_kind_of_import(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "p/__init__.py": "",
        "p/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p.b import B\n",
        "p/b.py": "def f():\n    from . import c\n",
        "p/c.py": "from .sub.d import x\n",
        "p/sub/__init__.py": "from .. import a as _a\n",
        "p/sub/d.py": "import p.a.thing\nimport os\nfrom p import sub\n",
    })
    targets = {name: {e.target for e in edges}
               for name, edges in import_graph(tmp_path, ["p"]).items()}
    assert targets == {
        "p": set(),
        "p.a": {"p.b"},  # under TYPE_CHECKING
        "p.b": {"p.c"},  # inside a function, ``from . import module``
        "p.c": {"p.sub.d"},  # relative, one level
        "p.sub": {"p.a"},  # relative from a package's __init__, two levels
        "p.sub.d": {"p.a", "p.sub"},  # attribute of a module; os is not ours
    }
    cycles = find_cycles(import_graph(tmp_path, ["p"]))
    assert [[e.source for e in c] for c in cycles] == [["p.a", "p.b", "p.c", "p.sub.d"]]
