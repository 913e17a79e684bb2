"""What a sweep asks of the machine: worker processes and memory, checked before anything runs.

A request the machine cannot serve is refused with one line that names the option, the estimate
and the override (``--oversubscribe``), instead of a hang (``--workers 100000`` spawning processes
for minutes) or a swapping machine.

Memory estimates (bytes, measured with ``ru_maxrss`` on the project's CPU machine, rounded up):

* one worker process with NumPy, SciPy, plkg and Dask imported: :data:`WORKER_BASE_BYTES`;
* a near-field task: ``11 K N^2 x 16 B + 32 MiB`` (the K per-UE N x N complex128 covariances of
  Eq. (8) of the near-field paper and the null-space projections of the design; measured
  667 MiB above the base at N = 1024, K = 4, which the formula gives as 736 MiB);
* a RIS task: ``4 D K ((L N)^2 + L N M) x 16 x 8 B + 32 MiB`` with D = ``rand_phase_draws`` run
  as one batch (the cascaded (L N) x (L N) statistics per cell, Section V-A of the RIS paper);
* the client: about 4 bytes per character of a task's JSON form, for every task held in memory.
"""

from __future__ import annotations

import json

from plkg.errors import PlkgInputError

MIB = 2**20
WORKER_BASE_BYTES = 320 * MIB
TASK_BASE_BYTES = 32 * MIB
# Even with --oversubscribe, at most this many local worker processes per usable core.
MAX_WORKERS_PER_CORE = 16
OVERRIDE = "--oversubscribe"


def task_memory_bytes(task: dict) -> int:
    """Estimated peak memory of one task (bytes), above a worker's base."""
    sc = task["scenario"]
    if task["system"] == "nearfield":
        n = int(sc.get("n_antennas", 2))
        k = len(sc.get("ue_distance_m") or [0])
        return 11 * k * n * n * 16 + TASK_BASE_BYTES
    k = len(sc.get("bs_xy_m") or [0])
    ln = len(sc.get("ris_xy_m") or [0]) * int(sc.get("n_ris_elements", 1))
    m = int(sc.get("n_antennas", 1))
    draws = int((task.get("options") or {}).get("rand_phase_draws", 1))
    return 4 * max(1, draws) * k * (ln * ln + ln * m) * 16 * 8 + TASK_BASE_BYTES


def largest_task(tasks: list[dict]) -> tuple[int, dict]:
    """(memory estimate, task) of the task with the largest estimate."""
    return max(((task_memory_bytes(t), t) for t in tasks), key=lambda pair: pair[0])


def client_memory_bytes(spec) -> int:
    """Estimated memory of the client's task list for ``spec`` (before it is expanded)."""
    per_eval = 60
    n_evals = len(spec.grid.get("pa_dbm", [None])) * len(spec.methods)
    per_task = len(json.dumps(spec.base_scenario)) + per_eval * n_evals + 200
    return 4 * per_task * spec.n_tasks


def check_client_memory(spec, where: str, override: bool) -> None:
    """Refuse a spec whose task list would not fit in the available memory."""
    from plkg.machine import check_memory

    if not override:
        check_memory(
            client_memory_bytes(spec),
            f"{where} ({spec.n_tasks} tasks held by the client)",
            OVERRIDE,
        )


def _describe(task: dict) -> str:
    sc = task["scenario"]
    if task["system"] == "nearfield":
        return f"N = {sc.get('n_antennas')}, K = {len(sc.get('ue_distance_m') or [])}"
    draws = (task.get("options") or {}).get("rand_phase_draws", 1)
    return f"N = {sc.get('n_ris_elements')} RIS elements, {draws} RandPhase draws"


def check_local_workers(workers: int, tasks: list[dict], override: bool) -> None:
    """Refuse more local worker processes than usable cores, or than the memory holds.

    Parameters
    ----------
    workers : int
        Worker processes of the embedded cluster (1: the tasks run in this process).
    tasks : list of dict
        The tasks to run (their largest memory estimate counts for every worker).
    override : bool
        ``--oversubscribe``: skip both checks (up to :data:`MAX_WORKERS_PER_CORE` per core).

    Raises
    ------
    PlkgInputError
        One line with the request, the machine's figure and the override.
    """
    from plkg.machine import check_memory, usable_cores

    cores = usable_cores()
    ceiling = MAX_WORKERS_PER_CORE * cores
    if workers > cores and not override:
        raise PlkgInputError(
            f"--workers {workers} exceeds the {cores} usable core(s) of this machine; give at most "
            f"--workers {cores}, or pass {OVERRIDE} to start {workers} worker processes anyway"
        )
    if workers > ceiling:
        raise PlkgInputError(
            f"--workers {workers} is more than {MAX_WORKERS_PER_CORE} worker processes per usable "
            f"core ({cores} usable cores), even with {OVERRIDE}"
        )
    if not tasks or override:
        return
    need, task = largest_task(tasks)
    base = WORKER_BASE_BYTES if workers > 1 else 0  # in-process: this process is already loaded
    check_memory(
        workers * (base + need),
        f"--workers {workers} with the largest task ({_describe(task)})",
        OVERRIDE,
    )


def check_slurm_workers(kwargs: dict, tasks: list[dict], override: bool, where: str) -> None:
    """Refuse tasks whose memory estimate exceeds one SLURM worker's share of the job memory."""
    from plkg.parallel.slurm import slurm_worker_memory_bytes

    per_worker = slurm_worker_memory_bytes(kwargs)
    if override or not tasks or per_worker is None:
        return
    need, task = largest_task(tasks)
    if need + WORKER_BASE_BYTES > per_worker:
        raise PlkgInputError(
            f"{where}: the largest task ({_describe(task)}) needs about "
            f"{(need + WORKER_BASE_BYTES) / MIB:.0f} MiB per worker, but memory "
            f"{kwargs['memory']!r} over {kwargs.get('processes', 1)} process(es) gives "
            f"{per_worker / MIB:.0f} MiB; raise memory, lower processes, or pass {OVERRIDE}"
        )
