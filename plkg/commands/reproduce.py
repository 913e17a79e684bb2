"""``plkg reproduce NAME|all``: regenerate paper figures (PNG, PDF and/or SVG) + CSV.

Every figure uses the house style (:mod:`plkg.plotting`); ``--format png pdf svg`` writes each
figure in every format named (default PNG) and ``--dpi`` sets the PNG resolution (default 200).
Tables (``ris-table1``) are written as CSV, Markdown and LaTeX.

``OUT/manifest.json`` is rewritten (atomically) after every finished figure, so an interrupted run
leaves no figure without its entry. It records the plkg version (installed distribution and
package), the git commit when run from a checkout (else null) and every shipped config (read
through :func:`plkg.defaults.folder`) with its parameters, SHA-256 and, without a git checkout,
its full text, so the run can be repeated from an installed wheel.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from plkg._version import __version__
from plkg.commands._applies import check_one_engine
from plkg.commands._names import select_names
from plkg.commands._paths import inside, output_folder
from plkg.io.atomic import write_text_atomic
from plkg.io.json_text import dumps_strict
from plkg.plotting.figure import check_dpi
from plkg.progress import step
from plkg.reproduce import figure_registry
from plkg.reproduce._output import output_options


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="regenerate figures of the papers (PNG/PDF/SVG + CSV)")
    p.add_argument(
        "names",
        nargs="*",
        default=["all"],
        help="figure names, or 'all' (default); 'list' lists them",
    )
    p.add_argument("--out", default="results", help="output folder (default: results/)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="compute only a few of the points (same scenario, seeds and draws: each quick "
        "value equals the full run's value at that point), for smoke tests",
    )
    p.add_argument(
        "--format",
        nargs="+",
        choices=("png", "pdf", "svg"),
        default=["png"],
        metavar="FMT",
        help="figure formats, one or more of png, pdf, svg (default png)",
    )
    p.add_argument("--dpi", type=int, default=200, help="resolution of PNG figures (default 200)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="run the figure sweeps on N local Dask worker processes (default: serial)",
    )
    p.add_argument("--scheduler", default=None, help="run the figure sweeps on this Dask scheduler")
    p.set_defaults(func=run_on_engine)


def run_on_engine(args) -> int:
    """:func:`run` with the figure sweeps on the engine of ``--workers`` / ``--scheduler``
    (:mod:`plkg.parallel.engine`; serial in-process without them, so the default is unchanged)."""
    from plkg.parallel.engine import session

    check_one_engine(args.workers, args.scheduler)
    with session(workers=args.workers, scheduler=args.scheduler):
        return run(args)


def _code_commit() -> str | None:
    """The git commit of the source tree, when run from a checkout (pins every seed and setting)."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _dependencies() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "scipy", "torch", "cvxpy", "clarabel", "lightning"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _installed_version() -> str | None:
    """Version of the installed ``plkg`` distribution (None when run from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("plkg")
    except PackageNotFoundError:
        return None


def _configs(with_text: bool) -> dict:
    """Every shipped scenario config with its parameters, SHA-256 (and text if ``with_text``),
    plus the fingerprint of near-field ones."""
    import hashlib

    from plkg import defaults
    from plkg.channels.nearfield_scenario import load_scenario, read_config

    out = {}
    for path in sorted(Path(defaults.folder("configs")).glob("*.yaml")):
        raw = path.read_bytes()
        data, _ = read_config(path)
        entry = {"parameters": data, "sha256": hashlib.sha256(raw).hexdigest()}
        if with_text:
            entry["text"] = raw.decode("utf-8")
        if data.get("system", "nearfield") == "nearfield":
            entry["fingerprint"] = load_scenario(path).fingerprint()
        out[path.stem] = entry
    return out


def _figure_seeds(fn) -> dict:
    """Module-level seed constants of a figure's module (the per-point seeds derive from them)."""
    import sys

    module = sys.modules.get(fn.__module__)
    return (
        {k: v for k, v in vars(module).items() if "SEED" in k.upper() and isinstance(v, int)}
        if module
        else {}
    )


def run(args) -> int:
    check_dpi(args.dpi)
    registry = figure_registry()
    names = select_names(registry, args.names, "figure")
    if names is None:
        return 0
    out = output_folder(args.out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    previous = _previous_manifest(manifest_path)
    commit = _code_commit()
    manifest = {
        "plkg_version": __version__,
        "plkg_installed_version": _installed_version(),
        "code_commit": commit,
        "python": platform.python_version(),
        "dependencies": _dependencies(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": _machine(),
        "quick": args.quick,
        "formats": list(dict.fromkeys(args.format)),
        "dpi": args.dpi,
        "configs": _configs(with_text=commit is None),
        "figures": {},
    }
    for name in names:
        t0 = time.perf_counter()
        step(f"[reproduce] {name} ...")
        with output_options(args.format, args.dpi):
            made = registry[name](out, quick=args.quick)
        paths = [inside(out, Path(p).resolve()) for p in made]
        dt = time.perf_counter() - t0
        manifest["figures"][name] = {
            "function": f"{registry[name].__module__}.{registry[name].__name__}",
            "description": ((registry[name].__doc__ or "").strip().splitlines() or [""])[0],
            "seeds": _figure_seeds(registry[name]),
            "quick": args.quick,
            "files": [p.relative_to(out.resolve()).as_posix() for p in paths],
            "seconds": round(dt, 2),
        }
        # record each finished figure at once: an interrupt later leaves no figure unlisted
        _write_manifest(manifest_path, previous, manifest)
        print(
            f"[reproduce] {name} done in {dt:.1f} s: {', '.join(Path(p).name for p in paths)}",
            flush=True,
        )
    return 0


def _machine() -> str:
    """The machine a run's times belong to: architecture and the cores this process may use."""
    from plkg.machine import usable_cores

    return f"{platform.machine()}, {usable_cores()} CPU cores"


def _previous_manifest(path: Path) -> dict:
    """The manifest of earlier runs in this folder ({} if none); a corrupt one is named."""
    if not path.exists():
        return {}
    try:
        previous = json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"manifest {str(path)!r} is not valid JSON ({exc}); move it away or pick another --out"
        ) from exc
    if not isinstance(previous, dict) or not isinstance(previous.get("figures", {}), dict):
        raise ValueError(f"manifest {str(path)!r} is not a plkg reproduce manifest")
    return previous


def _write_manifest(path: Path, previous: dict, manifest: dict) -> None:
    merged = {
        **previous,
        **manifest,
        "figures": {**previous.get("figures", {}), **manifest["figures"]},
    }
    write_text_atomic(path, dumps_strict(merged, indent=2))
