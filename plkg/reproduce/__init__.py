"""Figure and table reproduction registry.

Every module in this package defines ``FIGURES``: a mapping from a figure name (``nf-fig6-sum``,
``ris-fig4``, ...) to a function ``make(out_dir: Path, quick: bool = False) -> list[Path]`` that
writes the figure (in the house style of :mod:`plkg.plotting`, in the formats of
:func:`plkg.reproduce._output.output_options`) and its CSV into ``out_dir`` and returns their
paths. ``quick`` computes a subset of the full run's points with the same scenarios, seeds and
draws, so each quick value equals the full run's value at that point; it is what the tests use.
Modules are discovered, not listed, so figures can be added without touching this file.
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
