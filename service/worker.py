"""What runs inside a worker process: one solve, no gRPC, no protobuf.

Functions here are submitted to the process pool by the servicer; their arguments and
results are plain domain objects (pickled across the process boundary).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from equilibria.service.options import SolveOptions
from equilibria.solver import (
    MarkovSolutionSet,
    NormalFormGame,
    SolutionSet,
    StochasticGame,
    solve,
    solve_stochastic,
)

__all__ = ["cap_memory", "solve_game", "solve_games", "timed", "warm_up"]


#: Share of the time budget an anytime solver (the homotopy, vertex enumeration, the
#: n-player search) may use before it stops, so its partial answer is returned before the
#: pool kills it.
ANYTIME_SHARE = 0.8


def solve_game(
    game: NormalFormGame | StochasticGame, options: SolveOptions, budget: float | None = None
) -> SolutionSet | MarkovSolutionSet:
    """Solve one game with the request's options (``budget``: seconds before the pool kills the solve)."""
    if isinstance(game, StochasticGame):
        return solve_stochastic(
            game,
            options.concepts,
            method=options.method,
            tol=options.tol,
            max_equilibria=options.max_equilibria,
            welfare=options.welfare,
            disagreement=options.disagreement,
            stage_selection=options.stage_selection,
            priors=options.priors,
            seed=options.seed,
            time_limit=_anytime(budget),
            credit=options.credit,
        )
    return solve(
        game,
        options.concepts,
        method=options.method,
        tol=options.tol,
        exact=options.exact,
        max_equilibria=options.max_equilibria,
        welfare=options.welfare,
        disagreement=options.disagreement,
        selection=options.selection,
        time_limit=_anytime(budget),
        alpha_rank=options.alpha_rank,
        dynamics=options.dynamics,
        ess=options.ess,
        credit=options.credit,
        standard_errors=options.standard_errors,
        noise=options.noise,
    )


def _anytime(budget: float | None) -> float | None:
    """The time limit an anytime solver gets from the solve's budget (None: none, or spent:
    the pool's deadline alone then stops the solve)."""
    if budget is None or not ANYTIME_SHARE * budget > 0.0:
        return None
    return ANYTIME_SHARE * budget


def solve_games(
    games: list[NormalFormGame | StochasticGame], options: list[SolveOptions], budgets: list[float | None]
) -> list[tuple[bool, SolutionSet | MarkovSolutionSet | Exception]]:
    """Solve several small games in one task: ``(True, result)`` or ``(False, exception)`` each.

    A batch of games that each take milliseconds costs more in task dispatch than in
    solving; one task per chunk amortises it. A ``MemoryError`` is not caught: the whole
    chunk fails and its games are run one by one, each with its own budget and limits.
    """
    out: list[tuple[bool, SolutionSet | MarkovSolutionSet | Exception]] = []
    for game, item_options, budget in zip(games, options, budgets, strict=True):
        try:
            out.append((True, solve_game(game, item_options, budget)))
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is its game's outcome
            out.append((False, exc))
    return out


T = TypeVar("T")


def timed(function: Callable[..., T], *args: Any) -> tuple[float, T]:
    """``function(*args)`` and the seconds it ran in this worker (what admission learns costs from).

    Timed here, not by the caller: the wait for a worker, the pickling and a fresh worker's
    start-up are not the solve's cost.
    """
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def warm_up() -> bool:
    """A trivial task that makes a fresh worker ready; whether the forkserver preloaded the
    solver into it (False: the preload's import failed, and each new worker compiles or loads
    the kernels on its first solve)."""
    return "equilibria.service.worker_preload" in sys.modules


def cap_memory(limit_bytes: int) -> None:
    """Cap this process's address space (``RLIMIT_AS``) at ``limit_bytes``; 0 leaves it alone.

    The pool's worker initializer: past the cap an allocation fails, numpy raises
    ``MemoryError`` and the solve ends with ``RESOURCE_EXHAUSTED`` while the worker lives on.
    The hard limit is lowered too, so nothing the solve runs can lift the cap.
    """
    if limit_bytes <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
