"""Map one task function over many tasks: in-process, or on a Dask client, results as they finish.

The function must be importable by name on the workers (a module-level function of plkg) and take
and return plain data. With ``pin_threads`` each call runs with one BLAS (threadpoolctl) and one
torch thread, in-process and on workers alike: every task then does the same floating-point
operations in the same order wherever it runs, so a sweep gives bit-identical numbers on 1 worker
and on N, and worker processes do not oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator

# Futures kept in flight per worker thread: enough to hide scheduling latency, few enough that an
# interrupted sweep loses little and a 10^5-task sweep does not hold 10^5 futures.
IN_FLIGHT_PER_THREAD = 4
LIMIT_REFRESH_S = 2.0  # how often the in-flight bound follows the cluster's size


@contextlib.contextmanager
def one_thread():
    """One BLAS thread and (if torch is loaded) one torch intra-op thread inside the block."""
    from threadpoolctl import threadpool_limits

    with contextlib.ExitStack() as stack:
        stack.enter_context(threadpool_limits(limits=1))
        if "torch" in sys.modules:
            from plkg.parallel.torch_threads import torch_threads

            stack.enter_context(torch_threads(1))
        yield


def call_task(fn: Callable, task, pin_threads: bool = True):
    """``fn(task)``, with one thread per library when ``pin_threads`` (runs on the workers)."""
    if not pin_threads:
        return fn(task)
    with one_thread():
        return fn(task)


def call_interruptibly(fn: Callable, task, pin_threads: bool = True):
    """``call_task(fn, task)`` in a daemon thread while this thread waits in short steps.

    A task spends minutes inside LAPACK (an N = 4096 eigendecomposition), where Python runs no
    signal handler: called directly, Ctrl-C and SIGTERM would wait for it. Here the waiting thread
    handles them at once; the abandoned task thread ends with the process.
    """
    box: dict = {}

    def target():
        try:
            box["result"] = call_task(fn, task, pin_threads)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="plkg task", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.2)
    if "error" in box:
        raise box["error"]
    return box["result"]


def iter_results(
    fn: Callable,
    tasks: Iterable,
    client=None,
    pin_threads: bool = True,
    in_flight: int | None = None,
    interruptible: bool = False,
) -> Iterator[tuple[object, object, BaseException | None]]:
    """Yield ``(task, result, None)`` or ``(task, None, exception)`` as tasks finish.

    ``client=None`` runs the tasks in order, in-process (``interruptible``: each in a daemon thread,
    so that Ctrl-C and SIGTERM are handled during a long task, :func:`call_interruptibly`). With a
    Dask client a bounded number of tasks is in flight (:data:`IN_FLIGHT_PER_THREAD` per worker
    thread); leaving the loop early (Ctrl-C, ``break``) cancels the rest. ``in_flight`` overrides
    that bound.
    """
    if client is None:
        call = call_interruptibly if interruptible else call_task
        for task in tasks:
            try:
                yield task, call(fn, task, pin_threads), None
            except Exception as exc:
                yield task, None, exc
        return
    yield from _iter_dask(fn, iter(tasks), client, pin_threads, in_flight)


def _in_flight_limit(client) -> int:
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # scheduler briefly unreachable: keep a small window
        threads = 1
    return max(4, IN_FLIGHT_PER_THREAD * threads)


def _iter_dask(fn, pending, client, pin_threads, in_flight):
    from dask.distributed import as_completed

    owner = {}
    done = as_completed()
    window = {"limit": 0, "checked": -LIMIT_REFRESH_S}

    def submit_more():
        # the worker count changes on adaptive clusters; ask the scheduler now and then only
        if in_flight is None and time.monotonic() - window["checked"] >= LIMIT_REFRESH_S:
            window["limit"], window["checked"] = _in_flight_limit(client), time.monotonic()
        limit = in_flight or window["limit"]
        while len(owner) < limit:
            task = next(pending, None)
            if task is None:
                return
            future = client.submit(call_task, fn, task, pin_threads, pure=False)
            owner[future] = task
            done.add(future)

    submit_more()
    try:
        for future in done:
            task = owner.pop(future)
            try:
                result, error = future.result(), None
            except Exception as exc:  # a task that raised, or a worker that died
                result, error = None, exc
            future.release()
            yield task, result, error
            submit_more()
    finally:
        if owner:  # left early (Ctrl-C, SIGTERM, break): the rest is not wanted
            from plkg.parallel.engine import quiet_dask

            with quiet_dask(), contextlib.suppress(Exception):
                client.cancel(list(owner))


def map_tasks(fn: Callable, tasks: list, client=None, pin_threads: bool | None = None) -> list:
    """``[fn(t) for t in tasks]`` on the client of the enclosing :func:`plkg.parallel.engine.session`
    (or ``client``); results in task order. The first task error is raised.

    ``pin_threads`` defaults to True on a cluster and False in-process, so serial runs (the
    default of ``plkg reproduce``) behave exactly as a plain loop.
    """
    if client is None:
        from plkg.parallel.engine import session_client

        client = session_client()
    if pin_threads is None:
        pin_threads = client is not None
    tasks = list(tasks)
    results: list = [None] * len(tasks)
    slots: dict[int, list[int]] = {}  # the same object may be listed twice: same result
    for i, t in enumerate(tasks):
        slots.setdefault(id(t), []).append(i)
    for task, result, error in iter_results(fn, tasks, client, pin_threads):
        if error is not None:
            raise error
        results[slots[id(task)].pop()] = result
    return results
