"""The workers' forkserver: started once per process, as early as possible.

Every solve runs in a worker forked from multiprocessing's forkserver, which preloads
:mod:`equilibria.service.worker_preload` (the solver, its kernels compiled or loaded). This
module imports nothing heavy, so ``equilibria serve`` starts the forkserver first thing: its
imports and kernels then load on one core while the server process imports on the other.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os

__all__ = ["PRELOAD", "context", "start_forkserver"]

#: What the forkserver imports before it forks any worker.
PRELOAD = ["equilibria.service.worker_preload"]

#: Thread counts the forkserver (and so every worker) starts with, unless already set.
_SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def context() -> multiprocessing.context.ForkServerContext:
    """The forkserver context, its preload set."""
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(PRELOAD)
    return forkserver  # type: ignore[return-value]


def start_forkserver() -> multiprocessing.context.ForkServerContext:
    """Start the forkserver (once) with single-threaded BLAS, leaving this process's
    environment as it was; its context."""
    forkserver = context()
    saved = {name: os.environ.get(name) for name in _SINGLE_THREADED}
    try:
        for name, value in _SINGLE_THREADED.items():
            os.environ.setdefault(name, value)
        multiprocessing.forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return forkserver
