"""``plkg sweep SPEC.yaml --out results.parquet``: a parameter sweep on Dask, resumable.

Without ``--scheduler``/``--slurm`` an embedded ``LocalCluster`` runs one worker process per core
(``--workers 1``: in-process, no Dask). Rows are written as tasks finish; rerunning the same
command skips finished tasks. The exit code is the number of failed tasks (capped at 100; 0 when
all succeeded); bad input exits 2 and Ctrl-C exits 130 with a consistent partial table.
"""

from __future__ import annotations

import json
import sys
import time

EXIT_CAP = 100  # keep clear of the shell's 126+ codes
EXIT_INTERRUPTED = 130


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="parameter sweep (grid/random, methods) on Dask into one Parquet table"
    )
    p.add_argument("spec", help="sweep spec YAML (system, base, grid, random, methods)")
    p.add_argument("--out", required=True, help="result folder, e.g. results.parquet")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: one per core; 1 = in-process)",
    )
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    p.add_argument(
        "--slurm", default=None, metavar="JOBQUEUE.yaml", help="dask-jobqueue SLURMCluster settings"
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def _settings(args):
    from plkg.sweep.engine import EngineSettings, default_workers

    workers = args.workers
    if workers is None and not args.scheduler and not args.slurm:
        workers = default_workers()
    return EngineSettings(workers=workers, scheduler=args.scheduler, slurm=args.slurm)


def run_sweep(spec, out, settings, progress: bool = True) -> dict:
    """Run (or resume) ``spec`` into the folder ``out``; returns the summary dict.

    KeyboardInterrupt propagates after the finished tasks are flushed to ``out``.
    """
    from tqdm import tqdm

    from plkg.sweep.engine import open_client
    from plkg.sweep.runner import iter_results
    from plkg.sweep.spec import expand
    from plkg.sweep.table import ResultTable, count_failed_tasks, read_results, result_schema
    from plkg.sweep.tasks import error_row, run_task

    tasks = expand(spec)
    table = ResultTable(out, spec.record(), result_schema(tasks))
    done = table.done_task_ids()
    todo = [t for t in tasks if t["task_id"] not in done]
    t0 = time.perf_counter()
    bar = tqdm(
        total=len(tasks),
        initial=len(tasks) - len(todo),
        unit="task",
        file=sys.stderr,
        disable=None if progress else True,
        desc="plkg sweep",
    )
    try:
        with open_client(settings if todo else type(settings)()) as client:
            for task, rows, error in iter_results(run_task, todo, client):
                table.add(rows if error is None else [error_row(task, None, error)])
                bar.update(1)
    finally:
        table.flush()
        bar.close()
    result = read_results(out)
    return {
        "out": str(out),
        "tasks": len(tasks),
        "skipped": len(tasks) - len(todo),
        "ran": len(todo),
        "rows": result.num_rows,
        "failed_tasks": count_failed_tasks(result),
        "engine": settings.describe(),
        "seconds": round(time.perf_counter() - t0, 3),
        "spec_fingerprint": spec.fingerprint(),
    }


def run(args) -> int:
    from plkg.sweep.spec import load_spec

    spec = load_spec(args.spec)
    settings = _settings(args)
    try:
        summary = run_sweep(spec, args.out, settings)
    except KeyboardInterrupt:
        print(
            f"plkg sweep: interrupted; finished tasks are in {args.out}. "
            "Rerun the same command to resume.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{summary['tasks']} tasks ({summary['skipped']} already done, {summary['ran']} run on "
            f"{summary['engine']}) in {summary['seconds']:.1f} s: {summary['rows']} rows in "
            f"{summary['out']}, {summary['failed_tasks']} failed task(s)"
        )
    return min(summary["failed_tasks"], EXIT_CAP)
