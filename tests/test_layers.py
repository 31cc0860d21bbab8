"""The import graph of tapegrad and its compiler: no cycles, and no import against the
layer order of docs/architecture.md.

Every ``import`` counts, at module level and inside functions; imports that only type
checkers run (under ``if TYPE_CHECKING:``) do not, nor does a package's ``__init__``
importing its own submodules to hand on their names.
"""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: The layers, most basic first: a module may import modules of its own layer or of
#: an earlier one. Patterns ending in ``.*`` cover a package and its submodules.
LAYERS: list[tuple[str, list[str]]] = [
    ("state, backend", ["tapegrad._config", "tapegrad._state", "tapegrad.backend",
                        "tapegrad.pytree", "tapegrad.anomaly", "tapegrad._version"]),
    ("tensor, node", ["tapegrad.tensor", "tapegrad.node", "tapegrad._cuts",
                      "tapegrad._printing", "tapegrad._dot"]),
    ("primitive", ["tapegrad.primitive"]),
    ("rules", ["tapegrad.primitives.*", "tapegrad._checks", "tapegrad.linalg.*",
               "tapegrad.fft", "tapegrad._array_api"]),
    ("engine", ["tapegrad._inplace", "tapegrad.backward", "tapegrad.tape",
                "tapegrad.explain", "tapegrad._methods"]),
    ("transforms", ["tapegrad.transforms", "tapegrad.jacobian", "tapegrad.custom",
                    "tapegrad.checkpoint", "tapegrad.gradcheck", "tapegrad.nn.*",
                    "tapegrad.optim.*", "tapegrad.scipy.*"]),
    ("compiler", ["tapegrad.compiler.*"]),
    ("face", ["tapegrad", "tapegrad._numpy_protocol", "tapegrad.__main__",
              "tapegrad._tour", "tapegrad._bench_cli", "tapegrad.viz",
              "tapegrad._viz_program", "tapegrad.bench.*", "tapegrad.dask.*"]),
]


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "compiler":
        parts = ["tapegrad", "compiler", *parts[1:]]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for top in ("tapegrad", "compiler")
            for p in (ROOT / top).rglob("*.py")}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def _known(name: str, modules: dict) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """``module -> modules it imports`` within tapegrad (compiler included)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = path.name == "__init__.py"
        tree = ast.parse(path.read_text())
        skip = _type_checking_nodes(tree)
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = name.split(".") if package else name.split(".")[:-1]
                if node.level:
                    base = base[:len(base) - node.level + 1]
                    src = ".".join(base + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                # ``from pkg import sub`` imports the submodule; ``from mod import name``
                # the module itself.
                for a in node.names:
                    sub = f"{src}.{a.name}"
                    targets.add(sub if sub in modules else src)
        deps = {k for t in targets if t.startswith("tapegrad")
                and (k := _known(t, modules)) is not None and k != name}
        if package:  # a package handing on its own submodules' names
            deps = {d for d in deps if not d.startswith(name + ".")}
        graph[name] = deps
    return graph


def _layer(name: str) -> int:
    for k, (_, patterns) in enumerate(LAYERS):
        for p in patterns:
            if name == p or (p.endswith(".*") and (name == p[:-2]
                                                    or name.startswith(p[:-1]))):
                return k
    raise AssertionError(f"{name} has no layer: add it to LAYERS (docs/architecture.md)")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read_as_documented():
    graph = import_graph()
    assert "tapegrad.tensor" in graph["tapegrad.primitive"]  # module level
    assert "tapegrad._viz_program" in graph["tapegrad.viz"]  # inside a function
    assert "tapegrad.primitive" not in graph["tapegrad.node"]  # under TYPE_CHECKING only
    # A package importing its own submodules hands on their names: not an edge.
    assert "tapegrad.primitives.unary" not in graph["tapegrad.primitives"]
    assert "tapegrad.primitive" in graph["tapegrad.primitives"]


def test_no_import_cycles():
    assert _cycles(import_graph()) == []


def test_no_import_against_the_layer_order():
    bad = []
    for name, deps in sorted(import_graph().items()):
        for d in sorted(deps):
            if _layer(d) > _layer(name):
                bad.append(f"{name} ({LAYERS[_layer(name)][0]}) imports {d} "
                           f"({LAYERS[_layer(d)][0]})")
    assert bad == []
