"""The documentation site (``make docs``): every public name is documented, in numpydoc form.

Two checks that need no Sphinx build:

* every callable reachable from ``plkg.__all__`` (functions, classes, their public methods, the
  public functions of the modules ``plkg.units`` and ``plkg.defaults``) has a numpydoc docstring
  with a summary, a Parameters section naming every parameter of its signature, and a Returns (or
  Yields) section when it returns a value;
* docs/api/plkg.rst gives every name of ``plkg.__all__`` to an autodoc directive, and the layer
  pages cover every public module of the documented packages, so a new public name or a new
  module cannot be left out of the API reference.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import textwrap
import warnings
from pathlib import Path

import pytest

import plkg

pytestmark = pytest.mark.surface

API = Path(__file__).resolve().parents[1] / "docs" / "api"

# The packages whose every public module has a section on a layer page (docs/api/*.rst).
DOCUMENTED_PACKAGES = (
    "plkg.io",
    "plkg.parallel",
    "plkg.keyrate",
    "plkg.models",
    "plkg.channels",
    "plkg.precoding",
    "plkg.solvers",
    "plkg.data",
    "plkg.training",
    "plkg.inference",
    "plkg.keygen",
    "plkg.sweep",
)
DOCUMENTED_MODULES = (
    "plkg.errors",
    "plkg.checks",
    "plkg.machine",
    "plkg.progress",
    "plkg.units",
    "plkg.defaults",
)


# ---------------------------------------------------------------- what is public
@dataclasses.dataclass(frozen=True)
class Public:
    """One documented callable: its name as a user writes it and whether it takes self/cls."""

    qualname: str
    obj: object
    bound: bool = False  # a method or classmethod: its first parameter is not documented


def _plkg_attributes(cls) -> dict[str, object]:
    """The class's attributes, its own and those inherited from plkg base classes."""
    merged: dict[str, object] = {}
    for base in reversed(cls.__mro__):
        if base.__module__.startswith("plkg."):
            merged.update(vars(base))
    return merged


def _public_methods(cls, prefix: str) -> list[Public]:
    """Public methods and properties of the class, its own and those of its plkg base classes."""
    found = []
    for name, member in _plkg_attributes(cls).items():
        if name.startswith("_"):
            continue
        qualname = f"{prefix}.{name}"
        if isinstance(member, staticmethod):
            found.append(Public(qualname, member.__func__))
        elif isinstance(member, classmethod):
            found.append(Public(qualname, member.__func__, bound=True))
        elif isinstance(member, property):
            found.append(Public(qualname, member))
        elif inspect.isfunction(member):
            found.append(Public(qualname, member, bound=True))
    return found


def _public_callables() -> list[Public]:
    """Every callable a user reaches from ``plkg.__all__``."""
    found = []
    for name in plkg.__all__:
        obj = getattr(plkg, name)
        if inspect.ismodule(obj):
            found += [
                Public(f"plkg.{name}.{attr}", member)
                for attr, member in vars(obj).items()
                if not attr.startswith("_")
                and inspect.isfunction(member)
                and member.__module__ == obj.__name__
            ]
        elif inspect.isclass(obj):
            found.append(Public(f"plkg.{name}", obj))
            found += _public_methods(obj, f"plkg.{name}")
        elif callable(obj):
            found.append(Public(f"plkg.{name}", obj))
    return found


# ---------------------------------------------------------------- what a docstring must say
def _signature_parameters(func, *, bound: bool) -> list[str]:
    params = list(inspect.signature(func).parameters.values())[1 if bound else 0 :]
    stars = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    return [stars.get(p.kind, "") + p.name for p in params]


def _documented_parameters(doc, sections=("Parameters", "Other Parameters")) -> set[str]:
    names = set()
    for section in sections:
        for param in doc[section]:
            # "a, b : float" documents both; "*args" may be written with or without its stars
            for part in param.name.split(","):
                names.add(part.strip().lstrip("*"))
    return names


def _returns_value(func) -> bool:
    """Whether the function's own body returns something other than None (or yields)."""
    annotation = inspect.signature(func).return_annotation
    if annotation in (None, "None"):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func))).body[0]
    except (OSError, TypeError):
        return annotation is not inspect.Signature.empty
    nested = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)

    def own_nodes(node):
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, nested):
                yield child
                yield from own_nodes(child)

    for node in own_nodes(tree):
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                return True
    return False


def _parse(obj, qualname: str):
    """numpydoc's parse of the docstring; an unknown section name is a problem too."""
    from numpydoc import docscrape

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if inspect.isclass(obj):
            doc = docscrape.ClassDoc(obj, config={"show_class_members": False})
        else:
            doc = docscrape.FunctionDoc(obj)
    return doc, [f"{qualname}: numpydoc: {w.message}" for w in caught]


def _docstring_problems(item: Public) -> list[str]:
    obj, qualname = item.obj, item.qualname
    target = obj.fget if isinstance(obj, property) else obj
    if inspect.getdoc(target) is None:
        return [f"{qualname}: no docstring"]
    doc, problems = _parse(target, qualname)
    if not doc["Summary"]:
        problems.append(f"{qualname}: no summary line")
    if isinstance(obj, property):
        return problems
    documented = _documented_parameters(doc)
    if inspect.isclass(obj):
        if obj.__init__ is object.__init__:
            return problems
        func, bound = obj.__init__, True
        if dataclasses.is_dataclass(obj):  # a dataclass documents its fields as Attributes
            documented |= _documented_parameters(doc, ("Attributes",))
    else:
        func, bound = obj, item.bound
    missing = [
        p for p in _signature_parameters(func, bound=bound) if p.lstrip("*") not in documented
    ]
    if missing:
        problems.append(f"{qualname}: Parameters does not describe {', '.join(missing)}")
    if not inspect.isclass(obj) and _returns_value(obj) and not (doc["Returns"] or doc["Yields"]):
        problems.append(f"{qualname}: returns a value but has no Returns section")
    return problems


def test_every_public_callable_has_a_numpydoc_docstring():
    # numpydoc comes with the `docs` extra (make docs); without it only this check is skipped
    pytest.importorskip("numpydoc.docscrape")
    callables = _public_callables()
    assert len(callables) > len(plkg.__all__), "found fewer callables than public names"
    problems = [p for item in callables for p in _docstring_problems(item)]
    assert not problems, f"{len(problems)} docstring problems:\n" + "\n".join(problems)


# ---------------------------------------------------------------- the API pages cover everything
def _autodoc_targets(text: str) -> set[str]:
    return set(re.findall(r"^\s*\.\. auto\w+:: ([\w.]+)\s*$", text, flags=re.MULTILINE))


def test_api_page_documents_every_public_name():
    """docs/api/plkg.rst has an autodoc directive for each name of ``plkg.__all__``."""
    targets = _autodoc_targets((API / "plkg.rst").read_text(encoding="utf-8"))
    missing = sorted(name for name in plkg.__all__ if f"plkg.{name}" not in targets)
    assert not missing, f"docs/api/plkg.rst does not document plkg.{', plkg.'.join(missing)}"


def _public_modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    names = []
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def test_layer_pages_cover_every_public_module():
    """Each public module of the documented packages has an ``automodule`` on a layer page."""
    targets = set()
    for page in API.glob("*.rst"):
        targets |= _autodoc_targets(page.read_text(encoding="utf-8"))
    expected = [*DOCUMENTED_MODULES, *DOCUMENTED_PACKAGES]
    for package in DOCUMENTED_PACKAGES:
        expected += _public_modules(package)
    missing = [name for name in expected if name not in targets]
    assert not missing, f"no docs/api page documents: {', '.join(missing)}"
