"""Dask client set-up for the execution layer: sweeps, dataset generation and ``plkg reproduce``.

Three ways to get workers, all through ``dask.distributed``:

* default: an embedded ``LocalCluster`` with ``workers`` processes of one thread each (one per
  core unless told), started and closed by :func:`open_client`;
* ``scheduler="tcp://host:8786"``: an existing cluster (its workers must have plkg installed);
* ``slurm="jobqueue.yaml"``: a ``dask_jobqueue.SLURMCluster`` built from the YAML settings
  (:func:`plkg.parallel.slurm.slurm_settings`), scaled to ``jobs`` jobs (or adaptive between
  ``minimum_jobs`` and ``maximum_jobs``).

``workers`` of 1 (or None where the caller's default is serial) means no cluster at all: tasks run
in-process. :func:`session` holds these settings for ``plkg reproduce``, whose figure modules call
:func:`plkg.parallel.runner.map_tasks` without knowing about clusters; the cluster starts on first
use and is shared by every figure of the run.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field

from plkg.errors import PlkgInputError
from plkg.parallel.slurm import slurm_cluster, slurm_settings, slurm_worker_memory_bytes

__all__ = [
    "EngineSettings",
    "open_client",
    "local_cluster",
    "session",
    "session_client",
    "slurm_cluster",
    "slurm_settings",
    "slurm_worker_memory_bytes",
]

# How long to wait for an existing scheduler to answer.
SCHEDULER_TIMEOUT = "30s"


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
            raise PlkgInputError(f"--workers must be a positive integer, got {self.workers!r}")
        if self.scheduler is not None and not str(self.scheduler).strip():
            raise PlkgInputError(f"--scheduler needs an address, got {self.scheduler!r}")
        if self.slurm is not None and not str(self.slurm).strip():
            raise PlkgInputError(f"--slurm needs a settings file, got {self.slurm!r}")
        if self.scheduler and self.slurm:
            raise PlkgInputError("give either --scheduler or --slurm, not both")

    @property
    def serial(self) -> bool:
        return not self.scheduler and not self.slurm and (self.workers or 1) == 1

    def describe(self) -> str:
        if self.scheduler:
            return f"scheduler {self.scheduler}"
        if self.slurm:
            return f"SLURM ({self.slurm})"
        return "serial (in-process)" if self.serial else f"LocalCluster, {self.workers} workers"


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


# How long the client and the cluster may take to close before the worker processes are killed:
# after a finished run, and after Ctrl-C/SIGTERM/an error (running tasks are abandoned anyway).
CLOSE_TIMEOUT_S = 10.0
INTERRUPTED_CLOSE_TIMEOUT_S = 2.0
# How long to wait for the worker processes to be spawned with SIGINT held back.
SPAWN_TIMEOUT_S = 60.0
_WORKER_PROCESS_NAME = "Dask Worker process"
_NOISY_LOGGERS = ("distributed", "tornado", "asyncio", "dask_jobqueue")


@contextlib.contextmanager
def quiet_dask(restore: bool = True):
    """Silence Dask's loggers in this process while in the block (closing a cluster after Ctrl-C
    logs dozens of lines about workers that went away and comms that closed: not news).
    ``restore=False`` leaves them silent afterwards, for a cluster abandoned on the way out whose
    remains are torn down when the process exits."""
    loggers = [logging.getLogger(n) for n in _NOISY_LOGGERS]
    names = list(logging.root.manager.loggerDict)
    loggers += [logging.getLogger(n) for n in names if n.startswith(_NOISY_LOGGERS)]
    saved = [(lg, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        if restore:
            for lg, disabled in saved:
                lg.disabled = disabled


def _worker_processes() -> list:
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.name.startswith(_WORKER_PROCESS_NAME)]


@contextlib.contextmanager
def _sigint_deferred():
    """SIGINT ignored and blocked in this process while in the block (main thread only; else a
    no-op).

    Child processes spawned meanwhile inherit the ignored disposition (it survives exec, and
    Python keeps an ignored SIGINT at start-up), so the workers of an embedded cluster never see
    the terminal's Ctrl-C, which goes to the whole foreground process group: only the main process
    handles it and closes the cluster, instead of every worker dying with its own traceback. The
    disposition is process-wide, so it also covers processes that Dask spawns from its own
    threads. A Ctrl-C pressed while the workers start (about a second) is therefore ignored:
    press it again once they run.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        signal.signal(signal.SIGINT, handler)


def local_cluster(workers: int):
    """An embedded ``LocalCluster``: ``workers`` processes with one thread each, no dashboard,
    glibc's default allocator settings and Dask's background monitors turned down
    (:data:`LEAN_LOCAL_CONFIG`). SIGINT is blocked here while the cluster is built and its
    worker processes are spawned (see :func:`_sigint_deferred`): the worker processes inherit an
    ignored SIGINT and never see the terminal's Ctrl-C."""
    import dask
    from dask.distributed import LocalCluster

    cluster = None
    with dask.config.set(LEAN_LOCAL_CONFIG), _without_dask_malloc_trim(), warnings.catch_warnings():
        # the scheduler's HTTP endpoint (health, metrics) moves to a free port when another
        # cluster holds 8787: not worth a line on the user's terminal
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        try:
            with _sigint_deferred():
                before = {p.pid for p in _worker_processes()}
                cluster = LocalCluster(
                    n_workers=0,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                spawned = []
                cluster._plkg_worker_processes = spawned  # killed by close_quietly if they linger
                cluster.scale(int(workers))
                deadline = time.monotonic() + SPAWN_TIMEOUT_S
                while len(spawned) < int(workers) and time.monotonic() < deadline:
                    time.sleep(0.01)
                    spawned[:] = [p for p in _worker_processes() if p.pid not in before]
            cluster.wait_for_workers(int(workers))
        except BaseException:
            if cluster is not None:
                close_quietly(None, cluster, timeout=INTERRUPTED_CLOSE_TIMEOUT_S, abandon=True)
            raise
    return cluster


def _is_embedded(cluster) -> bool:
    """Whether ``cluster`` is an embedded cluster of :func:`local_cluster` (whose worker processes
    this process kills itself), not one that owns outside resources (SLURM jobs)."""
    return hasattr(cluster, "_plkg_worker_processes")


def close_quietly(client, cluster, timeout: float = CLOSE_TIMEOUT_S, abandon: bool = False) -> None:
    """Close ``client`` and ``cluster`` (either may be None) with Dask's loggers silenced and a
    bounded wait; worker processes :func:`local_cluster` spawned that are still alive afterwards
    are killed. Never raises.

    ``abandon`` (after Ctrl-C, SIGTERM or an error; meant for the embedded cluster, see
    :func:`open_client`): the running tasks are not wanted, so those worker processes are killed as soon as their nannies are closing (a nanny restarts a worker
    that dies while it runs) instead of being left to finish: a task inside LAPACK would
    otherwise hold the shutdown for seconds.
    """
    spawned = list(getattr(cluster, "_plkg_worker_processes", ()))
    killer = None
    if abandon and spawned:
        killer = threading.Thread(
            target=_kill_once_closing,
            args=(cluster, spawned),
            name="plkg cluster stop",
            daemon=True,
        )
        killer.start()
    with quiet_dask(restore=not (abandon and cluster is not None)):
        for closable in (client, cluster):
            if closable is None:
                continue
            try:
                closable.close(timeout=timeout)
            except BaseException:  # noqa: BLE001 - shutting down: nothing left to report to
                pass
        if killer is not None:
            killer.join(timeout)
        _kill(spawned)
        if abandon and _is_embedded(cluster) and getattr(cluster, "status", None) != _closed():
            # a cluster interrupted while starting does not close within the timeout; without
            # this, Dask's exit handler would wait another 10 s for it. Only the embedded
            # cluster: a SLURMCluster's close at exit still cancels its jobs (scancel)
            cluster.shutdown_on_close = False


def _closed():
    from distributed.core import Status

    return Status.closed


def _kill_once_closing(cluster, processes, wait_s: float = 2.0) -> None:
    """Kill ``processes`` once every nanny of ``cluster`` is closing (or after ``wait_s``)."""
    from distributed.core import Status

    done = {Status.closing, Status.closed, Status.closing_gracefully, Status.failed}
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        # nannies still starting are only in _created (SpecCluster's private set)
        nannies = list(getattr(cluster, "workers", {}).values())
        nannies += list(getattr(cluster, "_created", ()))
        if all(getattr(n, "status", None) in done for n in nannies):
            break
        time.sleep(0.02)
    _kill(processes)


def _kill(processes) -> None:
    for process in processes:
        with contextlib.suppress(Exception):
            if process.is_alive():
                process.kill()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(1.0)


@contextlib.contextmanager
def open_client(settings: EngineSettings, slurm: tuple[dict, dict] | None = None):
    """Yield a ``dask.distributed.Client`` for ``settings`` (None when serial); close on exit.

    However the block ends (normally, on an error, on Ctrl-C or SIGTERM), the client and the
    cluster it started are closed with Dask's loggers silenced (:func:`close_quietly`). After an
    error or an interrupt the embedded cluster gets a short timeout before its workers are
    killed; a SLURM cluster is closed with the normal timeout, so that its jobs are cancelled.
    ``slurm``: :func:`plkg.parallel.slurm.slurm_settings` of ``settings.slurm`` when the caller
    has read it already.
    """
    if settings.serial:
        yield None
        return
    from dask.distributed import Client

    client = cluster = None
    try:
        if settings.scheduler:
            try:
                client = Client(settings.scheduler, timeout=SCHEDULER_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as exc:
                raise OSError(
                    f"--scheduler {settings.scheduler!r}: no Dask scheduler answered within "
                    f"{SCHEDULER_TIMEOUT} ({type(exc).__name__})"
                ) from exc
        elif settings.slurm:
            cluster, scale = slurm_cluster(settings.slurm, slurm)
            if "jobs" in scale:
                cluster.scale(jobs=scale["jobs"])
            else:  # slurm_settings fills both
                cluster.adapt(
                    minimum_jobs=scale["minimum_jobs"], maximum_jobs=scale["maximum_jobs"]
                )
            client = Client(cluster)
        else:
            cluster = local_cluster(settings.workers)
            client = Client(cluster)
        yield client
    except BaseException:
        # Ctrl-C, SIGTERM or an error: the running tasks are abandoned, so the embedded workers
        # get little time to finish them before they are killed; a SLURM cluster closes as usual
        # (its close cancels the jobs, which a short timeout could leave queued)
        if cluster is None or _is_embedded(cluster):
            close_quietly(client, cluster, timeout=INTERRUPTED_CLOSE_TIMEOUT_S, abandon=True)
        else:
            close_quietly(client, cluster)
        raise
    else:
        close_quietly(client, cluster)


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
