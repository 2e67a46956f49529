"""Where a sweep's tasks run: this process, a local process pool, or a Dask cluster.

Every executor calls :func:`~v2b.experiments.task.execute` on each task and hands each
outcome back as soon as it is known, in completion order: a finished task's record or
the error it raised (with its traceback). Results are not kept here: the caller stores
each one and drops it. A task's numbers do not depend on where it ran (each run draws
only from its own seeded generators).
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from v2b.errors import UserError
from v2b.experiments.runner import RunSpec
from v2b.experiments.task import execute

EXECUTORS: tuple[str, ...] = ("local", "dask")

#: Thread-count variables of the BLAS and OpenMP libraries numpy and scipy may use.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class WorkerLost(UserError):
    """A worker process died (killed, or out of memory); finished tasks are kept."""


@dataclass(frozen=True)
class Outcome:
    """What became of one task: ``record`` if it finished, else ``error`` and ``traceback``."""

    key: str
    record: dict[str, Any] | None = None
    error: str = ""
    traceback: str = ""


def _failed(key: str, exc: BaseException, tb: TracebackType | None = None) -> Outcome:
    """The outcome of a task that raised ``exc`` (``tb``: its traceback where the executor
    keeps it apart from the exception, as dask does)."""
    text = "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))
    return Outcome(key, error=f"{type(exc).__name__}: {exc}", traceback=text)


@contextmanager
def _one_thread_each() -> Iterator[None]:
    """BLAS and OpenMP capped at one thread in the worker processes started meanwhile."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update({name: "1" for name in _THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_local(tasks: dict[str, RunSpec], workers: int) -> Iterator[Outcome]:
    """The tasks on ``workers`` fresh processes (spawned, one BLAS thread each; one
    worker too, so a task that raises or crashes never takes the sweep with it).

    A worker that dies ends the sweep with :class:`WorkerLost` (the tasks that
    finished are already stored; the same command resumes).
    """
    context = multiprocessing.get_context("spawn")
    with _one_thread_each(), ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(execute, spec): key for key, spec in tasks.items()}
        try:
            for future in as_completed(futures):
                key = futures.pop(future)
                exc = future.exception()
                if isinstance(exc, BrokenProcessPool):
                    raise WorkerLost("a worker process died (killed or out of memory); the finished "
                                     "tasks are kept: run the same command again to resume") from exc
                yield Outcome(key, record=future.result()) if exc is None else _failed(key, exc)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def run_dask(tasks: dict[str, RunSpec], scheduler: str | None, workers: int) -> Iterator[Outcome]:
    """The tasks on a ``dask.distributed`` cluster at ``scheduler`` (``tcp://host:port``),
    or, without one, on a local cluster of ``workers`` single-threaded processes."""
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError as exc:
        raise UserError("--executor dask needs dask.distributed: pip install 'v2b[dask]'") from exc
    cluster = None
    if scheduler is None:
        with _one_thread_each():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            futures = {client.submit(execute, spec, key=f"v2b-task-{key}", pure=False): key
                       for key, spec in tasks.items()}
            for future in dask_completed(list(futures)):
                key = futures.pop(future)
                if future.status == "error":
                    outcome = _failed(key, future.exception(), future.traceback())
                else:
                    outcome = Outcome(key, record=future.result())
                future.release()
                yield outcome
    finally:
        if cluster is not None:
            cluster.close()


def run_tasks(tasks: dict[str, RunSpec], executor: str = "local", workers: int = 1,
              scheduler: str | None = None) -> Iterator[Outcome]:
    """The outcome of every task, in completion order, on the chosen executor."""
    if executor == "local":
        return run_local(tasks, workers)
    if executor == "dask":
        return run_dask(tasks, scheduler, workers)
    raise UserError(f"--executor {executor!r} must be one of {', '.join(EXECUTORS)}")
