"""The sweep package's facades: ``plkg.sweep.spec`` and ``plkg.sweep.table`` re-export the public
names of the modules that define them, and none of those modules imports a facade back."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.surface

SWEEP = Path(__file__).resolve().parents[2] / "plkg" / "sweep"
FACADES = ("plkg.sweep.spec", "plkg.sweep.table")
PARTS = {
    "plkg.sweep.spec": (
        "plkg.sweep.spec_model",
        "plkg.sweep.values",
        "plkg.sweep.spec_methods",
        "plkg.sweep.domains",
        "plkg.sweep.seeds",
        "plkg.sweep.expansion",
        "plkg.sweep.extension",
    ),
    "plkg.sweep.table": (
        "plkg.sweep.table_files",
        "plkg.sweep.table_schema",
        "plkg.sweep.table_writer",
        "plkg.sweep.table_reader",
    ),
}


def _defined_names(path: Path) -> set[str]:
    """Names a module defines itself (functions, classes, assigned constants)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


@pytest.mark.parametrize("facade", FACADES)
def test_facade_names_are_the_defining_modules_objects(facade):
    module = importlib.import_module(facade)
    own = _defined_names(SWEEP / f"{facade.rsplit('.', 1)[1]}.py")
    for name in module.__all__:
        if name in own:
            continue
        obj = getattr(module, name)
        owners = [
            p for p in PARTS[facade] if getattr(importlib.import_module(p), name, None) is obj
        ]
        assert owners, f"{facade}.{name} comes from no part module"


@pytest.mark.parametrize("part", [p for parts in PARTS.values() for p in parts])
def test_parts_never_import_a_facade(part):
    path = SWEEP / f"{part.rsplit('.', 1)[1]}.py"
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not imported & set(FACADES), f"{part} imports {sorted(imported & set(FACADES))}"
