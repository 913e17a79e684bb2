"""What this machine offers (usable cores, available memory) and refusals of work that exceeds it.

Used wherever an option sizes the work (``plkg sweep --workers``, ``plkg ris --starts``): a
request the machine cannot serve is refused before any work starts, with one line that names the
option, the estimate and the override, instead of a hang or a multi-GB allocation.
"""

from __future__ import annotations

import os

from plkg.errors import PlkgInputError

_CGROUP = "/sys/fs/cgroup"  # cgroup v2: containers (Docker, Kubernetes, SLURM) set limits here


def usable_cores() -> int:
    """CPU cores this process may run on: its affinity mask where the OS has one, capped by a
    cgroup v2 CPU quota (``cpu.max``) where one is set."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        cores = max(1, os.cpu_count() or 1)
    quota = _cgroup_cpu_quota()
    return cores if quota is None else max(1, min(cores, int(quota)))


def _cgroup_cpu_quota() -> float | None:
    """Cores granted by ``cpu.max`` ("QUOTA PERIOD"; "max" = no limit), None without a limit."""
    fields = _read_cgroup("cpu.max").split()
    try:
        if len(fields) == 2 and fields[0] != "max":
            return int(fields[0]) / int(fields[1])
    except (ValueError, ZeroDivisionError):
        pass
    return None


def _cgroup_memory_left() -> int | None:
    """Bytes left below ``memory.max`` (``memory.max - memory.current``), None without a limit."""
    try:
        limit = int(_read_cgroup("memory.max"))
        used = int(_read_cgroup("memory.current") or 0)
    except ValueError:  # "max" (no limit) or not present
        return None
    return max(0, limit - used)


def _read_cgroup(name: str) -> str:
    try:
        with open(os.path.join(_CGROUP, name), encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def available_memory_bytes() -> int | None:
    """Memory available to new allocations without swapping, in bytes (None when unknown).

    Linux: ``MemAvailable`` of ``/proc/meminfo``, capped by what a cgroup v2 limit
    (``memory.max``, set by containers) leaves; elsewhere psutil (installed with Dask's
    ``distributed``) when importable.
    """
    host = _meminfo_available()
    if host is None:
        try:
            import psutil
        except ImportError:
            return None
        host = int(psutil.virtual_memory().available)
    cgroup = _cgroup_memory_left()
    return host if cgroup is None else min(host, cgroup)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(need_bytes: float, what: str, override: str | None = None) -> None:
    """Refuse work whose memory estimate exceeds the available memory.

    Parameters
    ----------
    need_bytes : float
        Estimated peak memory of the work, in bytes.
    what : str
        The option or request that sizes it, for the message (``"--starts 1000000"``).
    override : str, optional
        How to run it anyway (an option such as ``--force``), named in the message.

    Raises
    ------
    PlkgInputError
        One line with the estimate, the available memory and the override.
    """
    available = available_memory_bytes()
    if available is None or need_bytes <= available:
        return
    hint = f"; reduce it, or pass {override} to run anyway" if override else "; reduce it"
    raise PlkgInputError(
        f"{what} needs about {_gib(need_bytes)} of memory, but this machine has "
        f"{_gib(available)} available{hint}"
    )


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**28 else f"{n_bytes / 2**20:.0f} MiB"
