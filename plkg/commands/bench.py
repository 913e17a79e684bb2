"""``plkg bench [NAME ...] [--json]``: speed as ratios against the classical baselines, in one run.

Output (``--json``, ``--out``, the Markdown's raw section) is strict JSON: a measurement that is
not finite (a ratio over a zero time) is ``null``. ``--device`` is refused when no selected
benchmark has device timings.
"""

from __future__ import annotations

import inspect
import os
import platform

from plkg._version import __version__
from plkg.bench import benchmark_registry
from plkg.commands._applies import check_applies
from plkg.commands._names import select_names
from plkg.io.json_text import dumps_strict, nonfinite_as_null


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks (ratios against classical solvers, one run)")
    p.add_argument(
        "names", nargs="*", default=["all"], help="benchmark names or 'all'; 'list' lists them"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    p.add_argument(
        "--device",
        default=None,
        help="also time the torch paths on this device (e.g. cuda); CPU NumPy is always timed",
    )
    p.add_argument("--out", default=None, help="also write the JSON to this file")
    p.add_argument(
        "--markdown", default=None, help="also write a Markdown report (docs/benchmarks.md)"
    )
    p.set_defaults(func=run)


def machine_info() -> dict:
    import torch

    return {
        "plkg_version": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }


def check_device(device):
    """The ``--device`` value as given, after checking that torch can use it (any torch device
    type: the benchmarks time their torch paths wherever torch runs).

    The one device check of plkg (:func:`plkg.solvers.ris_ao_inputs.check_device`).
    """
    from plkg.solvers.ris_alternating import check_device as check_torch_device

    return check_torch_device(device, "--device", types=None)


def takes_device(fn) -> bool:
    """Whether a benchmark function times a torch device (has a ``device`` parameter)."""
    return "device" in inspect.signature(fn).parameters


def check_device_applies(registry: dict, names: list[str], device) -> None:
    """Refuse ``--device`` when none of the selected benchmarks would use it."""
    with_device = [n for n in registry if takes_device(registry[n])]
    if not any(n in with_device for n in names):
        check_applies("--device", device, "benchmark", " ".join(names), with_device)


def _call(fn, args) -> dict:
    """Run one benchmark; ``--device`` goes only to benchmarks that take a device."""
    device = getattr(args, "device", None)
    if device is not None and takes_device(fn):
        return fn(quick=args.quick, device=device)
    return fn(quick=args.quick)


def run(args) -> int:
    registry = benchmark_registry()
    names = select_names(registry, args.names, "benchmark")
    if names is None:
        return 0
    check_device_applies(registry, names, getattr(args, "device", None))
    check_device(getattr(args, "device", None))
    # the raw results (NaN/inf kept) feed the Markdown, which prints them as "n/a"; the JSON
    # (stdout, --out) is strict: a non-finite measurement is null there
    report = {"machine": machine_info(), "benchmarks": {}}
    for name in names:
        report["benchmarks"][name] = _call(registry[name], args)
        if not args.json:
            print(f"== {name}")
            print(dumps_strict(nonfinite_as_null(report["benchmarks"][name]), indent=2))
    text = dumps_strict(nonfinite_as_null(report), indent=2)
    if args.json:
        print(text)
    from plkg.io.atomic import write_text_atomic

    if args.out:
        write_text_atomic(args.out, text)
    if args.markdown:
        from plkg.bench._report import render_markdown

        command = "plkg bench " + " ".join(args.names) + (" --quick" if args.quick else "")
        write_text_atomic(
            args.markdown, render_markdown(report, command + f" --markdown {args.markdown}")
        )
    return 0
