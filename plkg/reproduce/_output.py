"""Figure and CSV output shared by every figure module (written atomically, in the house style).

The formats and resolution of the figures come from :func:`output_options` (``plkg reproduce
--format png pdf svg --dpi N``); by default one PNG at :data:`plkg.plotting.figure.DEFAULT_DPI`.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from plkg.io.atomic import write_text_atomic
from plkg.plotting.figure import DEFAULT_DPI, FIGURE_FORMATS, check_dpi, new_figure
from plkg.plotting.figure import save_figure as _save_one
from plkg.plotting.style import house_style
from plkg.plotting.tables import csv_text

_OPTIONS: ContextVar[tuple[tuple[str, ...], int]] = ContextVar(
    "plkg_reproduce_output", default=(("png",), DEFAULT_DPI)
)


@contextmanager
def output_options(formats=("png",), dpi: int = DEFAULT_DPI):
    """Inside the block, :func:`save_figure` writes every format of ``formats`` at ``dpi``."""
    formats = tuple(dict.fromkeys(f.lower().lstrip(".") for f in formats))
    known = tuple(s.lstrip(".") for s in FIGURE_FORMATS)
    for f in formats:
        if f not in known:
            raise ValueError(f"--format {f!r}: use one or more of {', '.join(known)}")
    if not formats:
        raise ValueError("--format needs at least one of " + ", ".join(known))
    token = _OPTIONS.set((formats, check_dpi(dpi)))
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def write_csv(path: Path, header: list[str], rows) -> Path:
    """Write a CSV (floats with 10 significant digits; text quoted when it holds commas)."""
    return write_text_atomic(path, csv_text(header, rows))


def subplots(ncols: int = 1, width: float = 6.0, height: float = 4.2):
    """A figure with one row of ``ncols`` axes; returns (fig, axes [1, ncols])."""
    return new_figure(ncols, 1, width, height)


def save_figure(fig, stem: Path) -> list[Path]:
    """Save ``fig`` as ``stem.<format>`` for every format of :func:`output_options`; closes it.

    Returns the paths written, in the order of the formats.
    """
    formats, dpi = _OPTIONS.get()
    stem = Path(stem)
    paths = []
    for i, fmt in enumerate(formats):
        last = i + 1 == len(formats)  # the figure is closed after its last format
        paths.append(_save_one(fig, stem.with_name(f"{stem.name}.{fmt}"), dpi=dpi, close=last))
    return paths


def house_styled(fn):
    """Decorator: run the figure function ``fn`` inside the house style (its name, module and
    docstring kept, so that the manifest names the function itself)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with house_style():
            return fn(*args, **kwargs)

    return run


def map_points(fn, tasks: list, desc: str, unit: str = "point") -> list:
    """``[fn(t) for t in tasks]`` on the engine of the enclosing sweep session (as
    :func:`plkg.parallel.runner.map_tasks`), with a :func:`plkg.progress.progress_bar` over the
    points: a long figure is never silent. Results in task order; the first error is raised."""
    from plkg.parallel.engine import session_client
    from plkg.parallel.runner import iter_results
    from plkg.progress import progress_bar

    client = session_client()
    tasks = list(tasks)
    results: list = [None] * len(tasks)
    slots: dict[int, list[int]] = {}  # the same object may be listed twice: same result
    for i, t in enumerate(tasks):
        slots.setdefault(id(t), []).append(i)
    with progress_bar(len(tasks), desc=desc, unit=unit) as bar:
        for task, result, error in iter_results(fn, tasks, client, client is not None):
            if error is not None:
                raise error
            results[slots[id(task)].pop()] = result
            bar.update(1)
    return results


class _NoBar:
    n = 0

    def update(self, n: int = 1, note: str | None = None) -> None:
        self.n += n


@contextmanager
def points_progress(total: int, desc: str, unit: str = "point"):
    """:func:`plkg.progress.progress_bar` over ``total`` points, or nothing at all when there is
    no loop worth showing (``total`` of 0 or 1)."""
    from plkg.progress import progress_bar

    if total <= 1:
        yield _NoBar()
        return
    with progress_bar(total, desc=desc, unit=unit) as bar:
        yield bar
