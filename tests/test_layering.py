"""The package's floors, read from every module's imports with ``ast`` (lazy imports included).

The floors, bottom up (README, "Layout")::

    nmt.vocab                 special ids; imports nothing of nmt
    nmt.config                typed configs; imports only itself and nmt.vocab
    nmt.data, nmt.tokenizers  corpora, readers, the tf.data pipeline, in-graph tokenizers
    nmt.models                cells ... seq2seq; no data, tokenizers, search or above
    nmt.search                greedy and beam over a step function; no data or tokenizers
    nmt.translate, nmt.export, nmt.training, nmt.runs
    nmt.cli                   nothing else imports it

An edge ``a -> b`` is any ``import b`` or ``from b import ...`` in module ``a``, at any
depth (functions included), except under ``if TYPE_CHECKING:``, which never runs.
``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``.
The values of a module-level ``_LAZY`` mapping (``nmt/__init__.py``'s names imported on
first use with ``importlib.import_module``) are edges too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "nmt"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


class _Imports(ast.NodeVisitor):
    def __init__(self) -> None:
        self.names: list[tuple[str, int]] = []

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(target, ast.Name) and target.id == "_LAZY" for target in node.targets):
            self.names += [(value.value, node.lineno) for value in node.value.values
                           if isinstance(value, ast.Constant)]
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names += [(alias.name, node.lineno) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        assert node.level == 0, f"relative import at line {node.lineno}"
        base = node.module or ""
        for alias in node.names:
            full = f"{base}.{alias.name}"
            self.names.append((full if full in MODULES else base, node.lineno))


def _edges() -> dict[str, list[tuple[str, int]]]:
    edges = {}
    for name, path in MODULES.items():
        visitor = _Imports()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        edges[name] = [(target, line) for target, line in visitor.names
                       if (target == "nmt" or target.startswith("nmt.")) and target != name]
    return edges


EDGES = _edges()


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _violations(importers: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{source}:{line} imports {target}"
            for source, targets in EDGES.items() if _in(source, importers)
            for target, line in targets if any(_in(target, package) for package in forbidden)]


def test_every_import_target_exists():
    missing = [f"{source}:{line} imports {target}" for source, targets in EDGES.items()
               for target, line in targets if target not in MODULES]
    assert missing == []


def test_no_import_cycles():
    # Tarjan's strongly connected components over the module graph.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _ in EDGES[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in MODULES:
        if module not in index:
            visit(module)
    assert cycles == []


def test_vocab_is_the_bottom_floor():
    assert EDGES["nmt.vocab"] == []


def test_config_imports_only_itself_vocab_and_versions():
    leaves = ("nmt.vocab", "nmt._versions")  # the version of nmt stored in config.yaml (standard library only)
    bad = [f"{source}:{line} imports {target}" for source, targets in EDGES.items() if _in(source, "nmt.config")
           for target, line in targets if not (_in(target, "nmt.config") or target in leaves)]
    assert bad == []


ABOVE_DATA = ("nmt.models", "nmt.search", "nmt.translate", "nmt.export", "nmt.training", "nmt.runs", "nmt.cli")


@pytest.mark.parametrize(("importers", "forbidden"), [
    ("nmt.data", ABOVE_DATA),
    ("nmt.tokenizers", ABOVE_DATA),
    ("nmt.models", ("nmt.data", "nmt.tokenizers", "nmt.search", "nmt.translate", "nmt.export", "nmt.training",
                    "nmt.runs", "nmt.cli")),
    ("nmt.search", ("nmt.data", "nmt.tokenizers", "nmt.translate", "nmt.export", "nmt.training", "nmt.runs",
                    "nmt.cli")),
])
def test_lower_floors_never_import_upper_ones(importers, forbidden):
    assert _violations(importers, forbidden) == []


def test_nothing_outside_the_cli_imports_it():
    # nmt.__main__ is `python -m nmt`, the command line's second entry point.
    bad = [f"{source}:{line} imports {target}" for source, targets in EDGES.items()
           if not _in(source, "nmt.cli") and source != "nmt.__main__"
           for target, line in targets if _in(target, "nmt.cli")]
    assert bad == []


def test_modules_stay_under_the_line_limit():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checks_can_fail():
    # The same machinery flags a known edge, so an empty result above is not vacuous.
    assert any(target == "nmt.models.seq2seq" for target, _ in EDGES["nmt.runs.model"])
    assert any(target == "nmt.translate.translator" for target, _ in EDGES["nmt"])  # a _LAZY value
    assert _violations("nmt.runs", ("nmt.models",)) != []
