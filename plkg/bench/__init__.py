"""Benchmark registry for ``plkg bench``.

Every module in this package defines ``BENCHMARKS``: a mapping from a name to a function
``run(quick: bool = False) -> dict`` returning JSON-serialisable results. Speed claims are
ratios against the classical baseline measured in the same run; timing is done here, never in
unit tests.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable

BenchFn = Callable[..., dict]


def benchmark_registry() -> dict[str, BenchFn]:
    """All benchmarks of all modules in :mod:`plkg.bench`, by name."""
    registry: dict[str, BenchFn] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, fn in getattr(module, "BENCHMARKS", {}).items():
            if name in registry:
                raise RuntimeError(f"benchmark {name!r} is defined twice")
            registry[name] = fn
    return dict(sorted(registry.items()))


def median_time_s(fn: Callable[[], object], repeats: int = 7, min_time_s: float = 0.05) -> float:
    """Median wall time of one call of ``fn`` in seconds.

    Each of ``repeats`` samples runs ``fn`` enough times to last at least ``min_time_s`` so that
    fast calls are not dominated by timer resolution.
    """
    fn()  # warm-up: imports, JIT, caches
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time_s or calls >= 1 << 20:
            break
        calls *= 2
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t0) / calls)
    samples.sort()
    return samples[len(samples) // 2]
