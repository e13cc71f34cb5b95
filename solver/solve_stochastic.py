"""The front door for stochastic games: ``solve_stochastic(game, concepts=..., method="auto")``.

One call returns one :class:`~equilibria.solver.results.MarkovSolutionSet`. The method
follows the game's class unless one is named:

=========================  =====================================================  ===========================
method                     games                                                  what it returns
=========================  =====================================================  ===========================
``hoffman_karp``           2-player zero-sum, infinite horizon                    values + optimal strategies
``shapley``                2-player zero-sum, infinite horizon                    values + optimal strategies
``team_policy_iteration``  common payoff (team) games                             the welfare-optimal MPE
``homotopy``               general-sum, infinite horizon                          stationary MPE from priors
``backward_induction``     finite horizon                                         one SPE per stage criterion
=========================  =====================================================  ===========================

``"auto"`` picks, in order: ``team_policy_iteration`` for team games,
``backward_induction`` for a finite horizon, ``hoffman_karp`` for zero-sum games and
``homotopy`` otherwise, and says so in ``method_reason``. Every equilibrium carries the
certificate of :func:`equilibria.solver.markov_regret.certify_markov`.

Which sets are complete. None of these methods enumerates every stationary equilibrium
(there can be exponentially many, and no finite procedure is known in general), so
``complete`` is ``False`` except for a zero-sum game with ``concepts=["zero_sum_value"]``
alone, whose answer — the value of every state — is unique, and for a finite horizon in
which every stage game has exactly one equilibrium (then so has the game). What *is* certified is
said where it holds: in a zero-sum game every equilibrium has the returned values; in a
team game the returned policy attains the largest value of every player in every state
over all policy profiles, so its welfare optimum is certified over all equilibria.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver import StochasticGame, solve_stochastic
>>> pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
>>> shifted = pennies + np.array([2.0, -2.0])[:, None, None]  # player 0 gets 2 more per stage
>>> game = StochasticGame(shifted[None], np.ones((1, 2, 2, 1)), discount=0.5)
>>> result = solve_stochastic(game, ["nash", "zero_sum_value"])
>>> result.method, round(float(result.zero_sum.values[0]), 6)
('hoffman_karp', 4.0)
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidOptionError, UnsupportedError
from equilibria.solver.markov_regret import certified_equilibrium
from equilibria.solver.pareto import pareto_optimal
from equilibria.solver.results import (
    MarkovEquilibrium,
    MarkovSolutionSet,
    MarkovZeroSum,
    Selection,
    WelfareOptimum,
)
from equilibria.solver.solve_game import choices
from equilibria.solver.stochastic_game import StochasticGame
from equilibria.solver.welfare import welfare_values

__all__ = [
    "STAGE_SELECTION_CRITERIA",
    "STOCHASTIC_CONCEPTS",
    "STOCHASTIC_METHODS",
    "solve_stochastic",
]

STOCHASTIC_CONCEPTS = ("nash", "pareto_nash", "welfare_nash", "zero_sum_value")
STAGE_SELECTION_CRITERIA = (
    "utilitarian",
    "egalitarian",
    "nash_product",
    "payoff_dominance",
    "risk_dominance",
)
#: Method name -> one-line description (also shown by GetServerInfo).
STOCHASTIC_METHODS = {
    "hoffman_karp": "zero-sum stochastic games: Hoffman-Karp strategy iteration (values and optimal strategies)",
    "shapley": "zero-sum stochastic games: Shapley value iteration with a contraction stopping rule",
    "team_policy_iteration": "team (common-payoff) stochastic games: policy iteration over joint actions",
    "homotopy": "general-sum stochastic games: logit and tracing homotopies from several priors (partial)",
    "backward_induction": "finite-horizon stochastic games: stage-game equilibria selected by a criterion",
}
_WELFARE_FUNCTIONS = ("utilitarian", "egalitarian", "nash_product")
_CALLER = "solve_stochastic"
DEFAULT_PRIORS = 8


def _auto(game: StochasticGame) -> tuple[str, str]:
    if game.is_team():
        return "team_policy_iteration", "auto: every player has the same rewards (team game)"
    if game.horizon is not None:
        return "backward_induction", f"auto: finite horizon of {game.horizon} stages"
    if game.is_zero_sum():
        return "hoffman_karp", "auto: 2-player zero-sum game"
    return "homotopy", "auto: general-sum game with an infinite horizon"


def _check_applicable(game: StochasticGame, method: str) -> None:
    zero_sum_method = method in ("hoffman_karp", "shapley")
    if zero_sum_method and not game.is_zero_sum():
        raise UnsupportedError("method", f"solve_stochastic(): {method} needs a 2-player zero-sum game")
    if (zero_sum_method or method == "homotopy") and game.horizon is not None:
        raise UnsupportedError(
            "method", f"solve_stochastic(): {method} needs an infinite horizon; use backward_induction"
        )
    if method == "backward_induction" and game.horizon is None:
        raise UnsupportedError("method", "solve_stochastic(): backward_induction needs a finite horizon")
    if method == "team_policy_iteration" and not game.is_team():
        raise UnsupportedError(
            "method", "solve_stochastic(): team_policy_iteration needs a common-payoff game"
        )


def solve_stochastic(
    game: StochasticGame,
    concepts: Iterable[str] = ("nash",),
    *,
    method: str = "auto",
    tol: float = 1e-9,
    max_equilibria: int = 0,
    welfare: Iterable[str] = ("utilitarian",),
    disagreement: npt.ArrayLike | None = None,
    stage_selection: Iterable[str] = ("utilitarian",),
    priors: int = 0,
    seed: int = 0,
    time_limit: float | None = None,
) -> MarkovSolutionSet:
    """Solve a stochastic game for the requested solution concepts.

    Parameters
    ----------
    game : StochasticGame
    concepts : iterable of str, optional(default=("nash",))
        Any of :data:`STOCHASTIC_CONCEPTS`.
    method : str, optional(default="auto")
        A key of :data:`STOCHASTIC_METHODS` or ``"auto"``.
    tol : float, optional(default=1e-9)
        Relative tolerance: a profile is an equilibrium when its largest state gap is at
        most ``tol`` times the largest possible value range (reward scale over
        ``1 - discount``, or times the horizon).
    max_equilibria : int, optional(default=0)
        Keep at most this many equilibria (0: all found).
    welfare : iterable of str, optional
        Welfare functions for ``welfare_nash``.
    disagreement : array_like, optional
        Disagreement point of the Nash product (default: each player's maximin value
        from the initial distribution, by a zero-sum solve against the others).
    stage_selection : iterable of str, optional(default=("utilitarian",))
        Criteria of :data:`STAGE_SELECTION_CRITERIA` for backward induction: one
        equilibrium per criterion.
    priors : int, optional(default=0)
        Random priors of the homotopy besides the logit path (0: 8).
    seed : int, optional(default=0)
        Seed of the priors.
    time_limit : float, optional
        Seconds; the homotopy stops starting new paths past it (the set says so).

    Returns
    -------
    MarkovSolutionSet

    Raises
    ------
    InvalidOptionError
        Unknown method, concept, welfare function or criterion; bad tolerance.
    UnsupportedError
        A method or concept that does not apply to this game.
    """
    started = time.perf_counter()
    if not isinstance(game, StochasticGame):
        raise InvalidOptionError(
            "game", f"solve_stochastic(): expected a StochasticGame, got {type(game).__name__}"
        )
    if not (0.0 < tol <= 1e-3):
        raise InvalidOptionError("tolerance", f"solve_stochastic(): tol must be in (0, 1e-3], got {tol}")
    if max_equilibria < 0 or priors < 0:
        field = "max_equilibria" if max_equilibria < 0 else "priors"
        raise InvalidOptionError(field, f"solve_stochastic(): {field} must be >= 0")
    unsupported = [
        c for c in concepts if str(c).lower() in ("pure_nash", "correlated", "coarse_correlated", "selection")
    ]
    if unsupported:
        raise UnsupportedError(
            "concepts",
            f"solve_stochastic(): concept {unsupported[0]!r} is not available for stochastic games; "
            f"expected any of {', '.join(STOCHASTIC_CONCEPTS)} (finite horizons select stage equilibria "
            "by stage_selection)",
        )
    wanted = choices(concepts, STOCHASTIC_CONCEPTS, "concepts", ("nash",), _CALLER)
    functions = choices(welfare, _WELFARE_FUNCTIONS, "welfare", ("utilitarian",), _CALLER)
    criteria = choices(
        stage_selection, STAGE_SELECTION_CRITERIA, "stage_selection", ("utilitarian",), _CALLER
    )
    point = _checked_disagreement(game, disagreement)
    if method in ("auto", ""):
        method, reason = _auto(game)
    elif method in STOCHASTIC_METHODS:
        reason = f"requested: {STOCHASTIC_METHODS[method]}"
    else:
        raise InvalidOptionError(
            "method",
            f"solve_stochastic(): unknown method {method!r}; expected auto or one of {', '.join(STOCHASTIC_METHODS)}",
        )
    _check_applicable(game, method)
    if "zero_sum_value" in wanted and not (game.is_zero_sum() and game.horizon is None):
        raise UnsupportedError(
            "concepts",
            "solve_stochastic(): zero_sum_value needs a 2-player zero-sum game with an infinite horizon",
        )
    scale = _value_scale(game)
    gap_tol = tol * scale

    zero_sum: MarkovZeroSum | None = None
    selections: tuple[Selection, ...] = ()
    warnings: list[str] = []
    welfare_certified = False
    complete = False  # only a unique answer is a complete set
    equilibria: list[MarkovEquilibrium] = []
    if method in ("hoffman_karp", "shapley") or "zero_sum_value" in wanted:
        from equilibria.solver.markov_zero_sum import solve_zero_sum_markov

        zs_method = method if method in ("hoffman_karp", "shapley") else "hoffman_karp"
        zero_sum = solve_zero_sum_markov(game, method=zs_method, tol=max(gap_tol, 1e-12 * scale))
        if zero_sum.error_bound > max(gap_tol, 1e-12 * scale):
            warnings.append(
                f"{zs_method} stopped with a value error bound of {zero_sum.error_bound:.3g}, above the "
                f"tolerance {gap_tol:.3g}"
            )
    if method in ("hoffman_karp", "shapley"):
        assert zero_sum is not None
        equilibria = [certified_equilibrium(game, zero_sum.policies, (method,))]
        reason += "; the values are unique: every stationary equilibrium has them (the strategies may differ)"
        welfare_certified = True
    elif method == "team_policy_iteration":
        from equilibria.solver.markov_team import team_optimum

        equilibria = [team_optimum(game, tol=gap_tol)]
        reason += (
            "; the team optimum attains every player's largest value in every state, so it is the "
            "welfare-maximising equilibrium; miscoordinated equilibria are not searched"
        )
        welfare_certified = True
    elif method == "backward_induction":
        from equilibria.solver.markov_backward import backward_induction_set

        staged = backward_induction_set(game, criteria=criteria, tol=tol, time_limit=time_limit)
        equilibria = list(staged.equilibria)
        selections = staged.selections
        warnings.extend(staged.warnings)
        reason += f"; {staged.method_reason}"
        complete = welfare_certified = staged.complete
    elif method == "homotopy":
        from equilibria.solver.markov_homotopy import stationary_equilibria

        found, searched = stationary_equilibria(
            game, n_priors=priors or DEFAULT_PRIORS, seed=seed, tol=tol, time_limit=time_limit
        )
        equilibria = list(found)
        reason += f"; {searched}"
        if not equilibria:
            warnings.append("the homotopy found no certified equilibrium within the budget")
    for k, eq in enumerate(equilibria):
        if eq.max_state_gap > gap_tol:
            warnings.append(
                f"equilibrium {k} has a state gap of {eq.max_state_gap:.3g}, above the tolerance {gap_tol:.3g}"
            )
    if max_equilibria and len(equilibria) > max_equilibria:
        equilibria = equilibria[:max_equilibria]
        warnings.append(f"kept the first {max_equilibria} equilibria found")
    table = np.array([eq.payoffs for eq in equilibria]).reshape(len(equilibria), game.n_players)
    pareto = pareto_optimal(table, tol=gap_tol) if "pareto_nash" in wanted else ()
    optima: tuple[WelfareOptimum, ...] = ()
    if "welfare_nash" in wanted:
        if point is None and "nash_product" in functions:
            point = maximin_values(game, tol=tol)
        optima = tuple(
            _welfare_optimum(
                table, function, point if function == "nash_product" else None, gap_tol, welfare_certified
            )
            for function in functions
        )
    complete = complete or (wanted == ("zero_sum_value",) and zero_sum is not None)
    return MarkovSolutionSet(
        game_id=game.id,
        equilibria=tuple(equilibria),
        complete=complete,
        method=method,
        method_reason=reason,
        warnings=tuple(warnings),
        tolerance=tol,
        concepts=wanted,
        elapsed_seconds=time.perf_counter() - started,
        pareto_indices=pareto,
        welfare_optima=optima,
        zero_sum=zero_sum,
        selections=selections,
    )


def _value_scale(game: StochasticGame) -> float:
    """Largest possible range of a value: reward scale times the effective horizon."""
    if game.horizon is not None:
        steps = sum(game.discount**t for t in range(game.horizon))
    else:
        steps = 1.0 / (1.0 - game.discount)
    return game.reward_scale * max(steps, 1.0)


def _welfare_optimum(
    table: npt.NDArray[np.float64],
    function: str,
    point: npt.NDArray[np.float64] | None,
    tol: float,
    certified: bool,
) -> WelfareOptimum:
    if len(table) == 0:
        return WelfareOptimum(function, float("-inf"), (), "enumeration", False, point)
    values = welfare_values(table, function, point)
    best = float(values.max())
    if not np.isfinite(best):
        return WelfareOptimum(function, best, (), "enumeration", False, point)
    ties = tol * table.shape[1] * max(1.0, abs(best)) if function == "nash_product" else tol * table.shape[1]
    indices = tuple(int(k) for k in np.flatnonzero(values >= best - ties))
    return WelfareOptimum(function, best, indices, "enumeration", certified, point)


def _checked_disagreement(
    game: StochasticGame, value: npt.ArrayLike | None
) -> npt.NDArray[np.float64] | None:
    if value is None or np.size(value) == 0:
        return None
    point = np.asarray(value, dtype=np.float64).ravel()
    if point.shape != (game.n_players,) or not np.isfinite(point).all():
        raise InvalidOptionError(
            "disagreement",
            f"solve_stochastic(): the disagreement point must be {game.n_players} finite numbers",
        )
    return point


def maximin_values(game: StochasticGame, *, tol: float = 1e-9) -> npt.NDArray[np.float64]:
    """Each player's security value from the initial distribution.

    Player ``i``'s maximin value is the value of the zero-sum stochastic game it plays
    against the coalition of the others (who may correlate their actions), computed by
    Hoffman-Karp strategy iteration; for a finite horizon by backward induction over
    the stage matrix games.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import StochasticGame
    >>> stag = np.array([[[4.0, 0.0], [3.0, 3.0]], [[4.0, 3.0], [0.0, 3.0]]])
    >>> g = StochasticGame(stag[None], np.ones((1, 2, 2, 1)), discount=0.5)
    >>> maximin_values(g).round(6).tolist()
    [6.0, 6.0]
    """
    from equilibria.solver.markov_zero_sum import matrix_game_values

    n_states, n = game.n_states, game.n_players
    out = np.empty(n)
    for i in range(n):
        # Player i's rewards with its own axis first and the others' joint actions flattened.
        own = np.moveaxis(game.rewards[:, i], i + 1, 1).reshape(n_states, game.num_actions[i], -1)
        mask = np.moveaxis(game.joint_mask, i + 1, 1).reshape(n_states, game.num_actions[i], -1)
        order = np.moveaxis(np.arange(game.n_joint_actions).reshape(game.num_actions), i, 0).reshape(-1)
        rows = (np.arange(n_states)[:, None] * game.n_joint_actions + order[None, :]).reshape(-1)
        transitions = game.transition_matrix[rows]
        # A joint action of the others exists when it exists for any own action (masks are products).
        row_mask, col_mask = mask.any(axis=2), mask.any(axis=1)
        values = np.zeros(n_states)
        for iteration in range(1, 1_000_000):
            continuation = (transitions @ values).reshape(own.shape)
            new, _, _ = matrix_game_values(
                np.where(mask, own + game.discount * continuation, 0.0), row_mask, col_mask
            )
            change = float(np.abs(new - values).max())
            values = new
            if game.horizon is not None:
                if iteration >= game.horizon:
                    break
            elif change * game.discount <= (1.0 - game.discount) * tol * _value_scale(game):
                break  # Shapley's contraction bound on the distance to the fixed point
        out[i] = game.initial_distribution @ values
    return out
