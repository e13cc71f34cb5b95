"""Compile (or load from numba's on-disk cache) every numba kernel of the solver at once.

The kernels live beside the algorithms that use them (:mod:`regret`, :mod:`lemke_howson`,
:mod:`vertex_enumeration`, :mod:`distances`, :mod:`trace_scoring`), each with its own
``compile_kernels()``. The first call of a kernel in a process otherwise pays numba's
compiler (seconds; tens of seconds on a loaded machine with a cold cache) or its cache
load. The server calls :func:`compile_all` once in the forkserver's preload
(:mod:`equilibria.service.worker`, also imported by the server process, where trace
scoring runs), so no solve's time budget pays for it; the benchmarks call it before
timing anything.

numba's cache is keyed by the source file of each kernel only: a kernel that calls a
kernel of another module (Lemke-Howson's path calls :mod:`regret`'s certificate) keeps
a stale cached copy when only the callee's file changes. A fresh install rewrites every
file; when developing, touch the caller too.

Examples
--------
>>> from equilibria.solver.kernels import compile_all
>>> seconds = compile_all()
>>> seconds >= 0.0
True
"""

from __future__ import annotations

import importlib
import time

__all__ = ["KERNEL_MODULES", "compile_all"]

#: Modules of ``equilibria.solver`` with numba kernels, each with a ``compile_kernels()``.
KERNEL_MODULES = ("regret", "lemke_howson", "vertex_enumeration", "distances", "trace_scoring")


def compile_all() -> float:
    """Compile or load every kernel of :data:`KERNEL_MODULES`; the seconds it took."""
    started = time.perf_counter()
    for name in KERNEL_MODULES:
        importlib.import_module(f"equilibria.solver.{name}").compile_kernels()
    return time.perf_counter() - started
