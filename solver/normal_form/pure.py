"""Pure-strategy Nash equilibria of an n-player game, in one vectorised pass.

A joint action is a pure equilibrium when every player's action is a best response
to the others' actions: for each player ``i`` compare ``u_i`` with its maximum over
player ``i``'s own axis, and keep the joint actions where every comparison holds.
There is no Python loop over joint actions, so any number of players and actions fits
in memory as long as the payoff tensor does.

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.normal_form.pure import pure_equilibria
>>> pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
>>> pure_equilibria(pd).tolist()
[[1, 1]]
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidOptionError, check_tolerance
from equilibria.solver.game import NormalFormGame
from equilibria.solver.regret import certify
from equilibria.solver.results import Component, Equilibrium, SolutionSet

__all__ = ["pure_equilibria", "pure_enumeration"]


def pure_equilibria(game: NormalFormGame, *, tol: float = 1e-9) -> npt.NDArray[np.intp]:
    """Joint actions that are pure Nash equilibria, as rows of action indices (sorted).

    Parameters
    ----------
    game : NormalFormGame
    tol : float, optional(default=1e-9)
        An action is a best response of player ``i`` when within
        ``game.regret_tolerances(tol)[i]`` of the best: ``tol`` times the player's own
        payoff range.
    """
    check_tolerance(tol, "pure_equilibria")
    slack = game.regret_tolerances(tol)
    is_eq = np.ones(game.num_actions, dtype=bool)
    for i in range(game.n_players):
        u = game.payoffs[i]
        is_eq &= u >= u.max(axis=i, keepdims=True) - slack[i]
    return np.argwhere(is_eq)


def pure_enumeration(game: NormalFormGame, *, tol: float = 1e-9, max_equilibria: int = 0) -> SolutionSet:
    """All pure Nash equilibria as a certified solution set (complete for pure equilibria).

    Parameters
    ----------
    game : NormalFormGame
    tol : float, optional(default=1e-9)
    max_equilibria : int, optional(default=0)
        Keep at most this many (0: all); a truncated set is incomplete.
    """
    started = time.perf_counter()
    check_tolerance(tol, "pure_enumeration")
    if max_equilibria < 0:
        raise InvalidOptionError("max_equilibria", "pure_enumeration(): max_equilibria must be >= 0")
    joint = pure_equilibria(game, tol=tol)
    truncated = bool(max_equilibria) and len(joint) > max_equilibria
    if truncated:
        joint = joint[:max_equilibria]
    equilibria = []
    for k, actions in enumerate(joint):
        strategies = tuple(np.eye(n_i)[a] for n_i, a in zip(game.num_actions, actions, strict=True))
        cert = certify(game, strategies)
        equilibria.append(
            Equilibrium(strategies, cert.payoffs, cert.regrets, cert.nash_conv, components=(k,))
        )
    components = tuple(
        Component((k,), tuple(s[None, :] for s in eq.strategies)) for k, eq in enumerate(equilibria)
    )
    return SolutionSet(
        game_id=game.id,
        equilibria=tuple(equilibria),
        components=components,
        complete=not truncated,
        method="pure_enumeration",
        method_reason=f"checked all {int(np.prod(game.num_actions)):,} joint actions",
        warnings=(f"truncated to max_equilibria={max_equilibria}",) if truncated else (),
        tolerance=tol,
        concepts=("pure_nash",),
        elapsed_seconds=time.perf_counter() - started,
    )
