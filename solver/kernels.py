"""The one place the solver's numba kernels are registered and warmed.

A module with numba kernels registers a warm-up (a function that calls each kernel once
on tiny inputs) with :func:`warm_up`; :func:`compile_all` imports :data:`KERNEL_MODULES`
and runs every registered warm-up, so the first call of a kernel does not pay numba's
compiler (seconds; tens on a loaded machine with a cold cache) or its cache load. The
server calls it in the forkserver's preload (:mod:`equilibria.service.worker_preload`),
so every worker starts with the kernels compiled, and in a thread of the server process
(where trace scoring runs) while its health is NOT_SERVING; the benchmarks call it
before timing anything. A second call in the same process returns at once.

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

import dataclasses
import importlib
import time
from collections.abc import Callable, Mapping
from types import ModuleType

__all__ = ["KERNEL_MODULES", "ModuleWarmed", "compile_all", "warm_up"]

#: Modules of ``equilibria.solver`` whose import registers a warm-up with :func:`warm_up`.
KERNEL_MODULES = (
    "regret",
    "normal_form.lemke_howson",
    "normal_form.bases",
    "normal_form.square_systems",
    "traces.metrics",
    "traces.options",
    "traces.checkpoints",
    "traces.target",
    "traces.scorer",
    "concepts.alpha_rank",
)

_WARM_UPS: dict[str, Callable[[], None]] = {}


def warm_up(function: Callable[[], None]) -> Callable[[], None]:
    """Register ``function`` (it calls a module's kernels once) to run in :func:`compile_all`."""
    _WARM_UPS[f"{function.__module__}.{function.__qualname__}"] = function
    return function


@dataclasses.dataclass(frozen=True)
class ModuleWarmed:
    """One module's kernels made ready by :func:`compile_all`."""

    #: ``"equilibria.solver.regret"``.
    module: str
    #: Seconds the module's import and warm-up took.
    seconds: float
    #: Kernel signatures numba compiled (not found in its cache) and loaded from its cache.
    compiled: int
    loaded: int
    #: The ``index``-th module (from 1) of ``total``.
    index: int
    total: int


def compile_all(progress: Callable[[ModuleWarmed], None] | None = None) -> float:
    """Compile or load every registered kernel; the seconds it took.

    Parameters
    ----------
    progress : callable, optional
        Called with a :class:`ModuleWarmed` after each module's kernels are ready.
    """
    started = time.perf_counter()
    for k, name in enumerate(KERNEL_MODULES, start=1):
        module_started = time.perf_counter()
        module = importlib.import_module(f"equilibria.solver.{name}")
        for key, function in list(_WARM_UPS.items()):
            if key.startswith(module.__name__ + ".") and key not in _WARMED:
                function()
                _WARMED.add(key)
        if progress is not None:
            compiled, loaded = _cache_counts(module)
            seconds = time.perf_counter() - module_started
            progress(ModuleWarmed(module.__name__, seconds, compiled, loaded, k, len(KERNEL_MODULES)))
    for key, function in _WARM_UPS.items():  # warm-ups registered outside KERNEL_MODULES
        if key not in _WARMED:
            function()
            _WARMED.add(key)
    return time.perf_counter() - started


def _cache_counts(module: ModuleType) -> tuple[int, int]:
    """Signatures of the module's cached kernels numba compiled, and loaded from its cache."""
    compiled = loaded = 0
    for value in vars(module).values():
        misses, hits = getattr(value, "_cache_misses", None), getattr(value, "_cache_hits", None)
        if isinstance(misses, Mapping) and isinstance(hits, Mapping):
            compiled += sum(misses.values())
            loaded += sum(hits.values())
    return compiled, loaded


#: Warm-ups already run in this process (a second compile_all returns at once).
_WARMED: set[str] = set()
