"""What runs inside a worker process: one solve, no gRPC, no protobuf.

Functions here are submitted to the process pool by the servicer; their arguments and
results are plain domain objects (pickled across the process boundary).
"""

from __future__ import annotations

from equilibria.service.convert import SolveOptions
from equilibria.solver import NormalFormGame, SolutionSet, solve

__all__ = ["solve_game", "warm_up"]


def solve_game(game: NormalFormGame, options: SolveOptions) -> SolutionSet:
    """Solve one game with the request's options."""
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
    )


def warm_up() -> bool:
    """A trivial task that makes a fresh worker import the solver before real work arrives."""
    return True
