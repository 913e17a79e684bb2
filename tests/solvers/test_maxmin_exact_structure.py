"""The exact max-min package: its modules import only those below them, and keep their size."""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

import plkg.solvers.maxmin_exact as package

# Bottom to top: each module may import only modules listed before it.
ORDER = [
    "arrays",
    "residuals",
    "problem",
    "offsets",
    "bounds",
    "robust",
    "least_power",
    "finish",
    "joint_newton",
    "joint_newton_scalar",
    "certify",
    "solver",
]
PREFIX = "plkg.solvers.maxmin_exact"
FOLDER = pathlib.Path(package.__file__).parent


def _imported_siblings(name: str) -> set[str]:
    """Sibling modules that module ``name`` imports (at any depth of its code, lazy ones too)."""
    tree = ast.parse((FOLDER / f"{name}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            found.add((node.module or "").partition(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX):
            found.add(node.module[len(PREFIX) + 1 :].partition(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PREFIX + "."):
                    found.add(alias.name[len(PREFIX) + 1 :].partition(".")[0])
    return found


def test_every_module_is_in_the_order():
    on_disk = {p.stem for p in FOLDER.glob("*.py")} - {"__init__"}
    assert on_disk == set(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_imports_only_lower_modules(name):
    below = set(ORDER[: ORDER.index(name)])
    siblings = _imported_siblings(name)
    assert "" not in siblings, f"{name} imports the package itself (a circle through __init__)"
    assert siblings <= below, f"{name} imports {sorted(siblings - below)}, not below it"


@pytest.mark.parametrize("name", ["__init__", *ORDER])
def test_module_size(name):
    assert len((FOLDER / f"{name}.py").read_text().splitlines()) <= 500


def test_public_names_are_reexported():
    for name in package.__all__:
        assert getattr(package, name) is not None
    solver = importlib.import_module(f"{PREFIX}.solver")
    least_power = importlib.import_module(f"{PREFIX}.least_power")
    finish = importlib.import_module(f"{PREFIX}.finish")
    assert package.ExactMaxMin is solver.ExactMaxMin
    assert package.solve_maxmin is solver.solve_maxmin
    assert package.least_power_allocation is least_power.least_power_allocation
    assert package.LeastPowerAllocation is least_power.LeastPowerAllocation
    assert package.MaxMinSolution is finish.MaxMinSolution


def test_bound_maxmin_imports_the_single_budget_internals_from_their_modules():
    """The bound fast path (plkg.solvers.maxmin_bound) shares the single-budget internals."""
    import plkg.solvers.maxmin_bound as bound
    from plkg.solvers.maxmin_exact.finish import _finish_scalar
    from plkg.solvers.maxmin_exact.joint_newton_scalar import _joint_newton_scalar
    from plkg.solvers.maxmin_exact.problem import _U_MIN, _check_budgets

    assert bound._finish_scalar is _finish_scalar
    assert bound._joint_newton_scalar is _joint_newton_scalar
    assert bound._U_MIN == _U_MIN and bound._check_budgets is _check_budgets
