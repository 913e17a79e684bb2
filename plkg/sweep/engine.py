"""Dask client set-up for sweeps (and nothing else: the task loop is :mod:`plkg.sweep.runner`).

Three ways to get workers, all through ``dask.distributed``:

* default: an embedded ``LocalCluster`` with ``workers`` processes of one thread each (one per
  core unless told), started and closed by :func:`open_client`;
* ``scheduler="tcp://host:8786"``: an existing cluster (its workers must have plkg installed);
* ``slurm="jobqueue.yaml"``: a ``dask_jobqueue.SLURMCluster`` built from the YAML settings
  (:func:`slurm_settings`), scaled to ``jobs`` jobs (or adaptive between ``minimum_jobs`` and
  ``maximum_jobs``).

``workers`` of 1 (or None where the caller's default is serial) means no cluster at all: tasks run
in-process. :func:`session` holds these settings for ``plkg reproduce``, whose figure modules call
:func:`plkg.sweep.runner.map_tasks` without knowing about clusters; the cluster starts on first
use and is shared by every figure of the run.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

# How long to wait for an existing scheduler to answer.
SCHEDULER_TIMEOUT = "30s"
# Keys of a jobqueue YAML that size the job array rather than one job.
SCALE_KEYS = ("jobs", "minimum_jobs", "maximum_jobs")


@dataclass(frozen=True)
class EngineSettings:
    """Where tasks run. ``workers`` None or 1 and no scheduler/slurm: serially in-process."""

    workers: int | None = None
    scheduler: str | None = None
    slurm: str | None = None

    def __post_init__(self):
        if self.workers is not None and (
            isinstance(self.workers, bool) or int(self.workers) != self.workers or self.workers < 1
        ):
            raise ValueError(f"--workers must be a positive integer, got {self.workers!r}")
        if self.scheduler and self.slurm:
            raise ValueError("give either --scheduler or --slurm, not both")

    @property
    def serial(self) -> bool:
        return not self.scheduler and not self.slurm and (self.workers or 1) == 1

    def describe(self) -> str:
        if self.scheduler:
            return f"scheduler {self.scheduler}"
        if self.slurm:
            return f"SLURM ({self.slurm})"
        return "serial (in-process)" if self.serial else f"LocalCluster, {self.workers} workers"


def default_workers() -> int:
    """One worker process per core available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def slurm_settings(path) -> tuple[dict, dict]:
    """(SLURMCluster keyword arguments, scaling) from a jobqueue YAML file.

    The file maps ``dask_jobqueue.SLURMCluster`` arguments (``cores``, ``memory``, ``processes``,
    ``queue``, ``account``, ``walltime``, ``job_extra_directives``, ``python``, ...) plus ``jobs``
    (fixed number of jobs, default 1) or ``minimum_jobs`` / ``maximum_jobs`` (adaptive).
    ``cores`` and ``memory`` are required (SLURMCluster needs them).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--slurm settings file {str(path)!r} does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(
            f"--slurm settings {str(path)!r} must hold a mapping of SLURMCluster options"
        )
    missing = [k for k in ("cores", "memory") if k not in data]
    if missing:
        raise ValueError(f"--slurm settings {str(path)!r} lack {', '.join(missing)}")
    scale = {k: data.pop(k) for k in SCALE_KEYS if k in data}
    for key, value in scale.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"--slurm settings: {key} must be a non-negative integer, got {value!r}"
            )
    if "jobs" in scale and ("minimum_jobs" in scale or "maximum_jobs" in scale):
        raise ValueError("--slurm settings: give jobs or minimum_jobs/maximum_jobs, not both")
    if not scale:
        scale = {"jobs": 1}
    return data, scale


def slurm_cluster(path):
    """A ``dask_jobqueue.SLURMCluster`` from :func:`slurm_settings` (no job submitted yet)."""
    from dask_jobqueue import SLURMCluster

    kwargs, scale = slurm_settings(path)
    return SLURMCluster(**kwargs), scale


# Dask starts worker processes with MALLOC_TRIM_THRESHOLD_=65536 (to return freed memory to the
# OS). Setting it switches off glibc's dynamic mmap threshold, so every NumPy temporary above
# 128 KiB (a 128 x 128 complex matrix is 256 KiB) is mmap-ed, page-faulted and unmapped again: on
# the design workload of plkg bench sweep that cost the workers ~25 % more CPU per task than the
# same tasks in-process. plkg's tasks hold little memory, so the embedded cluster keeps glibc's
# default and only pins the BLAS/OpenMP threads.
WORKER_ENVIRON = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}
DASK_MALLOC_TRIM = ("MALLOC_TRIM_THRESHOLD_", "65536")
# The embedded cluster shares the laptop's cores with its own tasks, so Dask's background
# monitors are turned down too: the statistical profiler (a stack sample every 10 ms per worker),
# the GIL monitor (every 1 ms), the system monitor (500 ms) and the nanny's memory monitor
# (100 ms). Nothing here changes what a task computes (tables are bit-identical to serial runs).
# Clusters reached with --scheduler or --slurm keep their own configuration.
LEAN_LOCAL_CONFIG = {
    "distributed.nanny.pre-spawn-environ": WORKER_ENVIRON,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


@contextlib.contextmanager
def _without_dask_malloc_trim():
    """Spawn workers without the MALLOC_TRIM_THRESHOLD_ an earlier Dask cluster of this process
    left in ``os.environ`` (Dask's nannies write their pre-spawn environment into the parent's);
    a value the user chose is kept."""
    name, value = DASK_MALLOC_TRIM
    removed = os.environ.get(name) == value
    if removed:
        del os.environ[name]
    try:
        yield
    finally:
        if removed:
            os.environ[name] = value


def local_cluster(workers: int):
    """An embedded ``LocalCluster``: ``workers`` processes with one thread each, no dashboard,
    glibc's default allocator settings and Dask's background monitors turned down
    (:data:`LEAN_LOCAL_CONFIG`)."""
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set(LEAN_LOCAL_CONFIG), _without_dask_malloc_trim():
        return LocalCluster(
            n_workers=int(workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )


@contextlib.contextmanager
def open_client(settings: EngineSettings):
    """Yield a ``dask.distributed.Client`` for ``settings`` (None when serial); close on exit."""
    if settings.serial:
        yield None
        return
    from dask.distributed import Client

    with contextlib.ExitStack() as stack:
        if settings.scheduler:
            try:
                client = Client(settings.scheduler, timeout=SCHEDULER_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise OSError(
                    f"--scheduler {settings.scheduler!r}: no Dask scheduler answered within "
                    f"{SCHEDULER_TIMEOUT} ({type(exc).__name__})"
                ) from exc
        elif settings.slurm:
            cluster, scale = slurm_cluster(settings.slurm)
            stack.callback(cluster.close)
            if "jobs" in scale:
                cluster.scale(jobs=scale["jobs"])
            else:
                cluster.adapt(
                    minimum_jobs=scale.get("minimum_jobs", 0),
                    maximum_jobs=scale.get("maximum_jobs", 1),
                )
            client = Client(cluster)
        else:
            cluster = local_cluster(settings.workers)
            stack.callback(cluster.close)
            client = Client(cluster)
        stack.callback(client.close)
        yield client


# ----------------------------------------------------------------------------- session
@dataclass
class _Session:
    settings: EngineSettings
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    client: object = None
    opened: bool = False

    def get_client(self):
        if not self.opened:
            self.client = self.stack.enter_context(open_client(self.settings))
            self.opened = True
        return self.client


_SESSION: contextvars.ContextVar[_Session | None] = contextvars.ContextVar(
    "plkg_sweep_session", default=None
)


@contextlib.contextmanager
def session(workers: int | None = None, scheduler: str | None = None):
    """Within the block, :func:`session_client` gives a client for these settings (started on
    first use, closed at exit); ``workers`` None or 1 without ``scheduler`` keeps everything
    serial and in-process."""
    state = _Session(EngineSettings(workers=workers, scheduler=scheduler))
    token = _SESSION.set(state)
    try:
        with state.stack:
            yield state.settings
    finally:
        _SESSION.reset(token)


def session_client():
    """The client of the enclosing :func:`session`, or None (serial; also outside a session)."""
    state = _SESSION.get()
    if state is None or state.settings.serial:
        return None
    return state.get_client()
