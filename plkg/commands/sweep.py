"""``plkg sweep SPEC.yaml --out results.parquet``: a parameter sweep on Dask, resumable.

Without ``--scheduler``/``--slurm`` an embedded ``LocalCluster`` runs one worker process per core
(``--workers 1``: in-process, no Dask). Rows are written as tasks finish; rerunning the same
command skips finished tasks, and a spec that adds grid values, methods or random draws to the
table's spec extends the table: only the new (scenario, P_a, method) rows are computed
(:func:`plkg.sweep.extension.extension_problem` says which changes extend). The exit code is the
number of failed tasks (capped at 100; 0 when all succeeded); bad input exits 2 and Ctrl-C exits
130 (SIGTERM 143) with a consistent partial table.

Everything is checked before anything is written (no folder, no ``_spec.json``, no lock): the
spec (:func:`plkg.sweep.spec.load_spec`), ``--out`` (:func:`plkg.sweep.table.check_table_path`),
the ``--slurm`` file, ``--workers`` and the tasks' memory against this machine
(:mod:`plkg.parallel.resources`). The table is then written by this process alone (an exclusive
lock: a second ``plkg sweep`` on the same ``--out`` is refused) and every part is verified by its
SHA-256 before a resume trusts it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from pathlib import Path

EXIT_CAP = 100  # keep clear of the shell's 126+ codes
EXIT_INTERRUPTED = 130


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="parameter sweep (grid/random, methods) on Dask into one Parquet table"
    )
    p.add_argument("spec", help="sweep spec YAML (system, base, grid, random, methods)")
    p.add_argument(
        "--out",
        required=True,
        help="result folder, e.g. results.parquet; rerunning resumes it, and a spec that adds grid "
        "values, methods or random draws to its spec extends it (finished rows are kept)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: one per usable core; 1 = in-process); more than "
        "the usable cores, or more than the memory estimate allows, needs --oversubscribe",
    )
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    p.add_argument(
        "--slurm", default=None, metavar="JOBQUEUE.yaml", help="dask-jobqueue SLURMCluster settings"
    )
    p.add_argument(
        "--oversubscribe",
        action="store_true",
        help="run although --workers exceeds this machine's usable cores (at most 16 per core) "
        "or the tasks' memory estimate exceeds the available memory (or a SLURM worker's share)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def _settings(args):
    from plkg.errors import PlkgInputError
    from plkg.machine import usable_cores
    from plkg.parallel.engine import EngineSettings

    workers = args.workers
    if workers is not None and (args.scheduler or args.slurm):
        raise PlkgInputError(
            "--workers applies to the embedded cluster; the workers of --scheduler/--slurm are "
            "set by that cluster"
        )
    if workers is None and not args.scheduler and not args.slurm:
        workers = usable_cores()
    return EngineSettings(workers=workers, scheduler=args.scheduler, slurm=args.slurm)


def check_machine(
    spec, tasks: list[dict], settings, oversubscribe: bool = False, slurm=None
) -> None:
    """Refuse work the machine (or the SLURM job) cannot hold: see :mod:`plkg.parallel.resources`.
    ``slurm``: :func:`plkg.parallel.slurm.slurm_settings` of ``settings.slurm`` if read already."""
    from plkg.parallel.engine import slurm_settings
    from plkg.parallel.resources import check_local_workers, check_slurm_workers

    if settings.slurm:
        kwargs, _ = slurm if slurm is not None else slurm_settings(settings.slurm)
        where = f"--slurm settings {str(settings.slurm)!r}"
        check_slurm_workers(kwargs, tasks, oversubscribe, where)
    elif not settings.scheduler:
        check_local_workers(settings.workers or 1, tasks, oversubscribe)


def run_sweep(
    spec, out, settings, progress: bool = True, tasks=None, warn=None, slurm=None
) -> dict:
    """Run (or resume) ``spec`` into the folder ``out``; returns the summary dict.

    ``tasks`` (from :func:`plkg.sweep.spec.expand`) saves expanding the spec again. ``warn``
    receives the one-line warnings of the table (a part moved aside, a stale lock taken over).
    ``slurm``: :func:`plkg.parallel.slurm.slurm_settings` of ``settings.slurm`` if read already.
    KeyboardInterrupt (and :class:`plkg.errors.Terminated`) propagates after the cluster is closed
    and the finished tasks are flushed to ``out``.
    """
    from tqdm import tqdm

    from plkg.parallel.engine import open_client
    from plkg.parallel.runner import iter_results
    from plkg.sweep.spec import expand
    from plkg.sweep.table import (
        ResultTable,
        check_params_fit,
        count_failed_tasks,
        read_results,
        result_schema,
    )
    from plkg.sweep.tasks import error_row, run_task

    tasks = expand(spec) if tasks is None else tasks
    schema = result_schema(tasks, spec.kinds)
    check_params_fit(tasks, schema)
    t0 = time.perf_counter()
    with ResultTable(out, spec.record(), schema, warn=warn, tasks=tasks) as table:
        todo = [t for t in map(table.missing_evaluations, tasks) if t is not None]
        extended = table.extended and bool(todo)  # an extension adds rows
        if extended:
            _say_extended(out, table.kept_rows, tasks, todo)
        bar = tqdm(
            total=len(tasks),
            initial=len(tasks) - len(todo),
            unit="task",
            file=sys.stderr,
            disable=None if progress else True,
            desc="plkg sweep",
        )
        try:
            with open_client(settings if todo else type(settings)(), slurm) as client:
                results = iter_results(run_task, todo, client, interruptible=True)
                with contextlib.closing(results):
                    for task, rows, error in results:
                        table.add(rows if error is None else [error_row(task, None, error)])
                        bar.update(1)
        except BaseException:
            bar.leave = False  # the error line replaces the bar on a terminal
            raise
        finally:
            bar.close()
    result = read_results(out, columns=["task_id", "status"])  # all the summary needs
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
        "extended": extended,
    }


def _say_extended(out, kept_rows: int, tasks: list[dict], todo: list[dict]) -> None:
    """One line on stderr: the finished rows an extended table keeps and the work it adds."""
    added = sum(len(t["evaluations"]) for t in todo)
    kept = len(tasks) - len(todo)
    print(
        f"plkg sweep: extending {str(out)!r}: {kept_rows} finished row(s) kept, {added} row(s) "
        f"to add ({kept} task(s) complete, {len(todo)} to run)",
        file=sys.stderr,
    )


def _interrupted(exc: KeyboardInterrupt, out) -> int:
    """One line on stderr for Ctrl-C / SIGTERM; the exit status (130, or 128 + signal)."""
    from plkg.sweep.table import PART_GLOB

    signum = getattr(exc, "signum", signal.SIGINT)
    what = "interrupted" if signum == signal.SIGINT else f"terminated (signal {signum})"
    try:
        kept = out is not None and any(Path(out).glob(PART_GLOB))
    except OSError:
        kept = False
    where = (
        f"finished tasks are in {str(out)!r}: rerun the same command to resume"
        if kept
        else "no task had finished, nothing was written"
    )
    print(f"plkg sweep: error: {what}; {where}", file=sys.stderr)
    return 128 + int(signum)


def run(args) -> int:
    from plkg.parallel.resources import check_client_memory
    from plkg.sweep.spec import expand, load_spec
    from plkg.sweep.table import check_table_path

    out = None
    try:
        spec = load_spec(args.spec)
        out = check_table_path(args.out, "--out")
        settings = _settings(args)
        slurm = None
        if settings.slurm:  # read once, before the memory checks: a bad file is named first
            from plkg.parallel.engine import slurm_settings

            slurm = slurm_settings(settings.slurm)
        check_client_memory(spec, f"sweep spec {str(args.spec)!r}", args.oversubscribe)
        tasks = expand(spec)
        check_machine(spec, tasks, settings, args.oversubscribe, slurm=slurm)
        summary = run_sweep(spec, out, settings, tasks=tasks, slurm=slurm)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM as plkg.errors.Terminated
        return _interrupted(exc, out)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{summary['tasks']} tasks ({summary['skipped']} already done, {summary['ran']} run on "
            f"{summary['engine']}) in {summary['seconds']:.1f} s: {summary['rows']} rows in "
            f"{summary['out']}, {summary['failed_tasks']} failed task(s)"
        )
    return min(summary["failed_tasks"], EXIT_CAP)
