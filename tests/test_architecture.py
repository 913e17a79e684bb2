"""The package reads bottom-up: every import points to a lower layer, no two modules import each
other, and no file grows past ~500 lines without a reason at its top.

The imports are read from the source (``ast``), so a lazy import inside a function counts like one
at the top of a module, and so does a module named in a string for ``importlib`` (the method
registries, the lazy public API); imports under ``if TYPE_CHECKING:`` do not (they never run). The
layers are the README's architecture section, bottom first.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.surface  # the source tree alone decides these outcomes

PACKAGE = Path(__file__).resolve().parents[1] / "plkg"

# Bottom first. A module may import its own top-level package or any package of a LOWER row;
# packages of one row are peers and import neither each other nor anything above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version"),
    ("checks",),
    ("units", "machine", "defaults"),
    ("progress",),
    ("io",),
    ("plotting",),
    ("parallel",),
    ("keyrate", "models"),
    ("channels",),
    ("precoding", "solvers"),
    ("data",),
    ("inference", "training"),
    ("keygen",),
    ("sweep",),
    ("bench", "reproduce"),
    ("commands", "cli_boundary"),
    ("cli",),
    ("__main__", "__init__"),
)
MAX_LINES = 500
# A longer file states why in its module docstring, on a line starting with this.
LENGTH_REASON = "Longer than 500 lines:"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:`` (never ``if not TYPE_CHECKING:``)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


# "plkg.inference.allocator:allocate_fnnpa" or "plkg.units": a module named in a string, for
# importlib.import_module (the registries of methods, the lazy public API).
_MODULE_STRING = re.compile(r"(plkg(?:\.[A-Za-z_]\w*)+)(?::\w+)?")


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The plkg modules that module ``name`` imports (``from plkg import units`` is plkg.units)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            targets = [t for t in targets[:-1] if t in modules] or [base]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _MODULE_STRING.fullmatch(node.value)
            targets = [match.group(1)] if match and match.group(1) in modules else []
        else:
            continue
        for target in targets:
            if target == "plkg" or target.startswith("plkg."):
                resolved = _resolve(target, modules)
                if resolved is not None and resolved != name:
                    found.add(resolved)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def top_package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module: str) -> int:
    top = top_package(module)
    for level, names in enumerate(LAYERS):
        if top in names:
            return level
    raise AssertionError(f"{module}: top-level package {top!r} has no layer in LAYERS")


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports of a package in the same row (a peer) or a higher row of LAYERS."""
    bad = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if top_package(module) == top_package(target):
                continue
            if layer_of(target) >= layer_of(module):
                bad.append(f"{module} -> {target}")
    return bad


def test_every_top_level_package_has_a_layer():
    for module in package_modules():
        layer_of(module)


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_no_imports_run_back_up():
    assert upward_imports(import_graph()) == []


def test_checks_find_a_circle_and_an_upward_import():
    graph = {
        "plkg.inference.a": {"plkg.inference.b"},
        "plkg.inference.b": {"plkg.inference.a", "plkg.sweep.tasks"},
        "plkg.sweep.tasks": set(),
    }
    assert circles(graph) == [["plkg.inference.a", "plkg.inference.b"]]
    assert upward_imports(graph) == ["plkg.inference.b -> plkg.sweep.tasks"]
    assert upward_imports({"plkg.solvers.x": {"plkg.precoding.y"}}) == [
        "plkg.solvers.x -> plkg.precoding.y"
    ]


def test_lazy_string_and_relative_imports_are_read(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from plkg.commands import cli\n"
        "if not TYPE_CHECKING:\n    from plkg import checks\n"
        "def f():\n    from plkg import units\n    import plkg.io.atomic\n"
        "REGISTRY = {'x': 'plkg.sweep.tasks:run_task', 'style': 'plkg.mplstyle'}\n"
    )
    modules = package_modules()
    assert imported_modules("plkg.probe", source, modules) == {
        "plkg.units",
        "plkg.io.atomic",
        "plkg.checks",
        "plkg.sweep.tasks",
    }


def test_fast_allocators_and_their_validating_twins_share_a_kernel_not_imports():
    graph = import_graph()
    fast = "plkg.inference.fast_allocator"
    twins = {"plkg.inference.allocator", "plkg.inference.fairness_allocator"}
    assert not graph[fast] & twins
    assert all(fast not in graph[twin] for twin in twins)
    # FNNPA: one kernel computes both paths (bit for bit the same allocations)
    assert all("plkg.inference.fnn_kernel" in graph[m] for m in (fast, "plkg.inference.allocator"))


def test_inference_imports_no_training_and_no_lightning():
    for module, path in package_modules().items():
        if top_package(module) != "inference":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("lightning", "pytorch_lightning", "plkg.training")), (
                    f"{module} imports {name}"
                )


def long_files_without_reason() -> list[str]:
    found = []
    for module, path in package_modules().items():
        text = path.read_text(encoding="utf-8")
        n_lines = text.count("\n")
        if n_lines <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if not any(line.startswith(LENGTH_REASON) for line in doc.splitlines()):
            found.append(f"{module}: {n_lines} lines")
    return found


def test_no_file_over_500_lines_without_a_reason():
    assert long_files_without_reason() == []


def test_layers_cover_the_tree_once():
    seen = defaultdict(int)
    for names in LAYERS:
        for name in names:
            seen[name] += 1
    assert all(count == 1 for count in seen.values())
    tops = {top_package(m) for m in package_modules()}
    assert tops <= set(seen), sorted(tops - set(seen))
