"""Figure and table reproduction registry.

Every module in this package defines ``FIGURES``: a mapping from a figure name (``nf-fig6-sum``,
``ris-fig4``, ...) to a function ``make(out_dir: Path, quick: bool = False) -> list[Path]`` that
writes PNG + CSV files into ``out_dir`` and returns their paths. ``quick`` trades resolution for
time (fewer points or draws) and is what the tests use. Modules are discovered, not listed, so
figures can be added without touching this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

FigureFn = Callable[..., list[Path]]


def figure_registry() -> dict[str, FigureFn]:
    """All figures of all modules in :mod:`plkg.reproduce`, by name."""
    registry: dict[str, FigureFn] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, fn in getattr(module, "FIGURES", {}).items():
            if name in registry:
                raise RuntimeError(f"figure {name!r} is defined twice")
            registry[name] = fn
    return dict(sorted(registry.items()))
