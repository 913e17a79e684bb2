"""SLURM workers: a ``dask_jobqueue.SLURMCluster`` from a checked jobqueue YAML file.

``plkg sweep --slurm jobqueue.yaml`` reads the file with :func:`slurm_settings` before anything
runs (unknown options, a missing ``cores``/``memory``, a bad scaling are refused in one line), and
:func:`plkg.parallel.engine.open_client` builds the cluster with :func:`slurm_cluster`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

from plkg.errors import PlkgInputError

# Keys of a jobqueue YAML that size the job array rather than one job.
SCALE_KEYS = ("jobs", "minimum_jobs", "maximum_jobs")


@contextlib.contextmanager
def _sigint_handler_kept():
    """Keep this process's SIGINT handler across the block: importing ``dask_jobqueue`` replaces
    it with ``sys.exit`` (its ``runner`` module does so at import), which would turn Ctrl-C into
    SystemExit instead of KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        if handler is not None:
            signal.signal(signal.SIGINT, handler)


def _slurm_option_names() -> set[str] | None:
    """Keyword arguments ``dask_jobqueue.SLURMCluster`` accepts (None without dask-jobqueue)."""
    import inspect

    try:
        with _sigint_handler_kept():
            from dask_jobqueue.core import Job, JobQueueCluster
            from dask_jobqueue.slurm import SLURMJob
    except ImportError:
        return None
    names = set()
    for fn in (SLURMJob.__init__, Job.__init__, JobQueueCluster.__init__):
        names.update(inspect.signature(fn).parameters)
    return names - {
        "self",
        "scheduler",
        "job_kwargs",
        "base_class_kwargs",
        "job_cls",
        "loop",
        "asynchronous",
        "n_workers",
    }


def slurm_settings(path) -> tuple[dict, dict]:
    """(SLURMCluster keyword arguments, scaling) from a jobqueue YAML file, all checked.

    The file maps ``dask_jobqueue.SLURMCluster`` arguments (``cores``, ``memory``, ``processes``,
    ``queue``, ``account``, ``walltime``, ``job_extra_directives``, ``python``, ...) plus ``jobs``
    (fixed number of jobs, default 1) or ``minimum_jobs`` / ``maximum_jobs`` (adaptive; the
    scaling returned then holds both, ``minimum_jobs`` 0 and ``maximum_jobs``
    ``max(1, minimum_jobs)`` unless given).
    ``cores`` and ``memory`` are required (SLURMCluster needs them). Read with duplicate keys
    refused; unknown argument names (when dask-jobqueue is installed), a ``cores``/``processes``
    that is not a positive integer and a ``memory`` that is not a size are refused, so a bad file
    stops the command before anything is written.

    Raises
    ------
    PlkgInputError
        One line naming the file and the key.
    FileNotFoundError
        No such file.
    """
    from plkg.io.yaml_file import read_yaml

    path = Path(path)
    where = f"--slurm settings {str(path)!r}"
    data = read_yaml(path, what="--slurm settings")
    if data is None:
        data = {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise PlkgInputError(f"{where} must hold a mapping of SLURMCluster options")
    missing = [k for k in ("cores", "memory") if k not in data]
    if missing:
        raise PlkgInputError(f"{where} lack {', '.join(missing)}")
    scale = {k: data.pop(k) for k in SCALE_KEYS if k in data}
    for key, value in scale.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PlkgInputError(f"{where}: {key} must be a non-negative integer, got {value!r}")
    if "jobs" in scale and ("minimum_jobs" in scale or "maximum_jobs" in scale):
        raise PlkgInputError(f"{where}: give jobs or minimum_jobs/maximum_jobs, not both")
    if "minimum_jobs" in scale or "maximum_jobs" in scale:
        scale.setdefault("minimum_jobs", 0)
        scale.setdefault("maximum_jobs", max(1, scale["minimum_jobs"]))
    if scale.get("minimum_jobs", 0) > scale.get("maximum_jobs", 1):
        raise PlkgInputError(f"{where}: minimum_jobs exceeds maximum_jobs")
    for key in ("cores", "processes"):
        value = data.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PlkgInputError(f"{where}: {key} must be a positive integer, got {value!r}")
    if slurm_worker_memory_bytes(data) is None:
        raise PlkgInputError(f"{where}: memory must be a size such as 64GB, got {data['memory']!r}")
    known = _slurm_option_names()
    if known is None:
        raise PlkgInputError(
            f"{where}: --slurm needs the dask-jobqueue package (pip install dask-jobqueue)"
        )
    unknown = sorted(set(data) - known)
    if unknown:
        raise PlkgInputError(
            f"{where}: unknown SLURMCluster option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}, {', '.join(SCALE_KEYS)}"
        )
    if not scale:
        scale = {"jobs": 1}
    return data, scale


def slurm_worker_memory_bytes(kwargs: dict) -> int | None:
    """Memory of one SLURM worker process: the job's ``memory`` over its ``processes`` (None if
    ``memory`` is not a size)."""
    from dask.utils import parse_bytes

    try:
        total = parse_bytes(kwargs["memory"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if isinstance(kwargs["memory"], bool) or total <= 0:
        return None
    return int(total // max(1, int(kwargs.get("processes", 1) or 1)))


def slurm_cluster(path, settings: tuple[dict, dict] | None = None):
    """A ``dask_jobqueue.SLURMCluster`` from :func:`slurm_settings` (no job submitted yet);
    ``settings``: what :func:`slurm_settings` returned for ``path`` (saves reading it again)."""
    with _sigint_handler_kept():
        from dask_jobqueue import SLURMCluster

    kwargs, scale = slurm_settings(path) if settings is None else settings
    return SLURMCluster(**dict(kwargs)), dict(scale)
