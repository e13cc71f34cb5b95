"""The one place the solver's numba kernels are registered and warmed.

A module with numba kernels registers a warm-up (a function that calls each kernel once
on tiny inputs) with :func:`warm_up`; :func:`compile_all` imports :data:`KERNEL_MODULES`
and runs every registered warm-up, so the first call of a kernel does not pay numba's
compiler (seconds; tens on a loaded machine with a cold cache) or its cache load. The
server calls it once in the forkserver's preload (:mod:`equilibria.service.worker`, also
imported by the server process, where trace scoring runs); the benchmarks call it
before timing anything.

numba's cache is keyed by the source file of each kernel only: a kernel that calls a
kernel of another module (Lemke-Howson's path calls :mod:`~equilibria.solver.regret`'s
certificate) keeps a stale cached copy when only the callee's file changes. A fresh
install rewrites every file; when developing, touch the caller too.

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
from collections.abc import Callable

__all__ = ["KERNEL_MODULES", "compile_all", "warm_up"]

#: Modules of ``equilibria.solver`` whose import registers a warm-up with :func:`warm_up`.
KERNEL_MODULES = (
    "regret",
    "normal_form.lemke_howson",
    "normal_form.bases",
    "traces.metrics",
    "traces.options",
    "traces.checkpoints",
    "traces.target",
    "traces.scorer",
)

_WARM_UPS: dict[str, Callable[[], None]] = {}


def warm_up(function: Callable[[], None]) -> Callable[[], None]:
    """Register ``function`` (it calls a module's kernels once) to run in :func:`compile_all`."""
    _WARM_UPS[f"{function.__module__}.{function.__qualname__}"] = function
    return function


def compile_all() -> float:
    """Compile or load every registered kernel; the seconds it took."""
    started = time.perf_counter()
    for name in KERNEL_MODULES:
        importlib.import_module(f"equilibria.solver.{name}")
    for function in _WARM_UPS.values():
        function()
    return time.perf_counter() - started
