"""The front door for stochastic games: ``solve_stochastic(game, concepts=..., method="auto")``.

One call returns one :class:`~equilibria.solver.results.MarkovSolutionSet`. The method is
chosen from the registry :data:`STOCHASTIC_METHODS` (Hoffman-Karp and Shapley iteration for
zero-sum games, policy iteration for team games, backward induction for a finite horizon,
the homotopies otherwise), or by ``"auto"``, which says why in ``method_reason``. The
methods work on the game with each player's rewards mapped onto [0, 1]; every answer is
certified again on the user's game by
:func:`equilibria.solver.stochastic.regret.certify_markov`, each player within ``tol`` of its
own value range, and what does not certify is dropped with a warning. Which answers are
complete sets, and what is certified: see docs/stochastic.md.

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
>>> STOCHASTIC_METHODS["shapley"].zero_sum
True

References
----------
.. [1] L. S. Shapley, "Stochastic games", PNAS 39 (1953) 1095-1100.
.. [2] J. Filar and K. Vrieze, *Competitive Markov Decision Processes*, Springer, 1997.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import Literal

import numpy as np
import numpy.typing as npt
from equilibria.solver.concepts.credit import CreditOptions, stochastic_credit_assignment
from equilibria.solver.concepts.pareto import pareto_optimal
from equilibria.solver.concepts.welfare import WELFARE_FUNCTIONS, welfare_values
from equilibria.solver.errors import InvalidOptionError, UnsupportedError, check_tolerance, quoted
from equilibria.solver.results import (
    ConceptStatus,
    MarkovEquilibrium,
    MarkovSolutionSet,
    MarkovZeroSum,
    Selection,
    WelfareOptimum,
)
from equilibria.solver.solve_game import CONCEPTS, DEFAULT_CONCEPTS, choices, credit_status
from equilibria.solver.stochastic.backward import backward_induction_set
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.homotopy import stationary_equilibria
from equilibria.solver.stochastic.regret import certificate_of, certified_equilibrium, failing_players
from equilibria.solver.stochastic.team import team_optimum
from equilibria.solver.stochastic.zero_sum import matrix_game_values, solve_zero_sum_markov

__all__ = [
    "DEFAULT_PRIORS",
    "STAGE_SELECTION_CRITERIA",
    "STOCHASTIC_CONCEPTS",
    "STOCHASTIC_METHODS",
    "STOCHASTIC_METHOD_DESCRIPTIONS",
    "StochasticMethodSpec",
    "solve_stochastic",
    "stochastic_maximin_values",
]

STOCHASTIC_CONCEPTS = ("nash", "pareto_nash", "welfare_nash", "zero_sum_value", "credit_assignment")
STAGE_SELECTION_CRITERIA = (
    "utilitarian",
    "egalitarian",
    "nash_product",
    "payoff_dominance",
    "risk_dominance",
)
_CALLER = "solve_stochastic"
#: Random priors of the homotopy when ``priors=0``.
DEFAULT_PRIORS = 8


@dataclasses.dataclass(frozen=True)
class StochasticMethodSpec:
    """A registered stochastic-game method.

    Attributes
    ----------
    name : str
        Name to pass as ``method``.
    description : str
        What it computes (also shown by GetServerInfo).
    zero_sum : bool
        Whether it needs a 2-player zero-sum game.
    team : bool
        Whether it needs a common-payoff (team) game.
    horizon : {"infinite", "finite", "any"}
        The horizons it accepts.
    run : callable
        ``run(request) -> MethodOutcome``, with the checked options of the call.
    """

    name: str
    description: str
    zero_sum: bool
    team: bool
    horizon: Literal["infinite", "finite", "any"]
    run: Callable[[_Request], _MethodOutcome] = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class _Request:
    """What a method may use: the game, the method's name, the checked options."""

    game: StochasticGame
    method: str
    tol: float
    criteria: tuple[str, ...]
    priors: int
    seed: int
    time_limit: float | None
    zero_sum: MarkovZeroSum | None


@dataclasses.dataclass(frozen=True)
class _MethodOutcome:
    """What a method found, and what it adds to ``method_reason``, the warnings and the flags."""

    equilibria: tuple[MarkovEquilibrium, ...]
    note: str
    welfare_certified: bool
    complete: bool = False
    selections: tuple[Selection, ...] = ()
    warnings: tuple[str, ...] = ()


def _run_zero_sum(request: _Request) -> _MethodOutcome:
    assert request.zero_sum is not None  # solved by the front door for every zero-sum method
    return _MethodOutcome(
        equilibria=(certified_equilibrium(request.game, request.zero_sum.policies, (request.method,)),),
        note="the values are unique: every stationary equilibrium has them (the strategies may differ)",
        welfare_certified=True,
    )


def _run_team(request: _Request) -> _MethodOutcome:
    return _MethodOutcome(
        equilibria=(team_optimum(request.game, tol=request.tol),),
        note=(
            "the team optimum attains every player's largest value in every state, so it is the "
            "welfare-maximising equilibrium; miscoordinated equilibria are not searched"
        ),
        welfare_certified=True,
    )


def _run_backward(request: _Request) -> _MethodOutcome:
    staged = backward_induction_set(
        request.game, criteria=request.criteria, tol=request.tol, time_limit=request.time_limit
    )
    return _MethodOutcome(
        equilibria=tuple(staged.equilibria),
        note=staged.method_reason,
        welfare_certified=staged.complete,
        complete=staged.complete,
        selections=staged.selections,
        warnings=tuple(staged.warnings),
    )


def _run_homotopy(request: _Request) -> _MethodOutcome:
    found, searched = stationary_equilibria(
        request.game,
        n_priors=request.priors or DEFAULT_PRIORS,
        seed=request.seed,
        tol=request.tol,
        time_limit=request.time_limit,
    )
    empty = ("the homotopy found no certified equilibrium within the budget",)
    return _MethodOutcome(
        equilibria=tuple(found), note=searched, welfare_certified=False, warnings=() if found else empty
    )


#: Method name -> :class:`StochasticMethodSpec`.
STOCHASTIC_METHODS: dict[str, StochasticMethodSpec] = {
    spec.name: spec
    for spec in (
        StochasticMethodSpec(
            "hoffman_karp",
            "zero-sum stochastic games: Hoffman-Karp strategy iteration (values and optimal strategies)",
            zero_sum=True,
            team=False,
            horizon="infinite",
            run=_run_zero_sum,
        ),
        StochasticMethodSpec(
            "shapley",
            "zero-sum stochastic games: Shapley value iteration with a contraction stopping rule",
            zero_sum=True,
            team=False,
            horizon="infinite",
            run=_run_zero_sum,
        ),
        StochasticMethodSpec(
            "team_policy_iteration",
            "team (common-payoff) stochastic games: policy iteration over joint actions",
            zero_sum=False,
            team=True,
            horizon="any",
            run=_run_team,
        ),
        StochasticMethodSpec(
            "homotopy",
            "general-sum stochastic games: logit and tracing homotopies from several priors (partial)",
            zero_sum=False,
            team=False,
            horizon="infinite",
            run=_run_homotopy,
        ),
        StochasticMethodSpec(
            "backward_induction",
            "finite-horizon stochastic games: stage-game equilibria selected by a criterion",
            zero_sum=False,
            team=False,
            horizon="finite",
            run=_run_backward,
        ),
    )
}
#: Method name -> description (what GetServerInfo lists).
STOCHASTIC_METHOD_DESCRIPTIONS = {name: spec.description for name, spec in STOCHASTIC_METHODS.items()}


def _auto(game: StochasticGame) -> tuple[str, str]:
    if game.is_team():
        return "team_policy_iteration", "auto: every player has the same rewards (team game)"
    if game.horizon is not None:
        return "backward_induction", f"auto: finite horizon of {game.horizon} stages"
    if game.is_zero_sum():
        return "hoffman_karp", "auto: 2-player zero-sum game"
    return "homotopy", "auto: general-sum game with an infinite horizon"


def _chosen(game: StochasticGame, method: str) -> tuple[StochasticMethodSpec, str]:
    """The method to run and the start of ``method_reason``; raises for an inapplicable one."""
    if method in ("auto", ""):
        name, reason = _auto(game)
    elif method in STOCHASTIC_METHODS:
        name, reason = method, f"requested: {STOCHASTIC_METHODS[method].description}"
    else:
        raise InvalidOptionError(
            "method",
            f"solve_stochastic(): unknown method {quoted(method)}; expected auto or one of {', '.join(STOCHASTIC_METHODS)}",
        )
    spec = STOCHASTIC_METHODS[name]
    if spec.zero_sum and not game.is_zero_sum():
        raise UnsupportedError("method", f"solve_stochastic(): {name} needs a 2-player zero-sum game")
    if spec.horizon == "infinite" and game.horizon is not None:
        raise UnsupportedError(
            "method", f"solve_stochastic(): {name} needs an infinite horizon; use backward_induction"
        )
    if spec.horizon == "finite" and game.horizon is None:
        raise UnsupportedError("method", f"solve_stochastic(): {name} needs a finite horizon")
    if spec.team and not game.is_team():
        raise UnsupportedError("method", f"solve_stochastic(): {name} needs a common-payoff game")
    return spec, reason


def _check_options(
    game: StochasticGame, concepts: Iterable[str], tol: float, max_equilibria: int, priors: int
) -> None:
    if not isinstance(game, StochasticGame):
        raise InvalidOptionError(
            "game", f"solve_stochastic(): expected a StochasticGame, got {type(game).__name__}"
        )
    check_tolerance(tol, "solve_stochastic")
    if max_equilibria < 0 or priors < 0:
        field = "max_equilibria" if max_equilibria < 0 else "priors"
        raise InvalidOptionError(field, f"solve_stochastic(): {field} must be >= 0")
    # The normal-form concepts a stochastic solve does not answer: refused by name.
    unsupported = [
        c for c in concepts if str(c).lower() in CONCEPTS and str(c).lower() not in STOCHASTIC_CONCEPTS
    ]
    if unsupported:
        raise UnsupportedError(
            "concepts",
            f"solve_stochastic(): concept {unsupported[0]!r} is not available for stochastic games; "
            f"expected any of {', '.join(STOCHASTIC_CONCEPTS)} (finite horizons select stage equilibria "
            "by stage_selection)",
        )


def _zero_sum_solution(
    game: StochasticGame, spec: StochasticMethodSpec, wanted: tuple[str, ...], tol: float
) -> tuple[MarkovZeroSum | None, list[str]]:
    """The zero-sum solution when the method or the concepts need it, and its warning."""
    if not (spec.zero_sum or "zero_sum_value" in wanted):
        return None, []
    zs_method = spec.name if spec.zero_sum else "hoffman_karp"
    zero_sum = solve_zero_sum_markov(game, method=zs_method, tol=tol)
    limit = float(game.value_tolerances(tol)[0])
    if not zero_sum.error_bound <= limit:
        return zero_sum, [
            f"{zs_method} stopped with a value error bound of {zero_sum.error_bound:.3g}, above the "
            f"tolerance {limit:.3g}"
        ]
    return zero_sum, []


@dataclasses.dataclass(frozen=True)
class _Certified:
    """The equilibria that certify on the user's game, the selections re-indexed to them, and why
    the others were dropped."""

    equilibria: tuple[MarkovEquilibrium, ...]
    selections: tuple[Selection, ...]
    dropped: tuple[str, ...]


def _certified(
    game: StochasticGame, found: tuple[MarkovEquilibrium, ...], selections: tuple[Selection, ...], tol: float
) -> _Certified:
    """Keep the equilibria whose every player's state gaps are within its own tolerance."""
    kept: list[MarkovEquilibrium] = []
    index: dict[int, int] = {}
    dropped: list[str] = []
    for k, eq in enumerate(found):
        failing = failing_players(game, certificate_of(game, eq), tol)
        if failing:
            dropped.append(
                f"dropped equilibrium {k} (found by {', '.join(eq.found_by) or 'the method'}): {failing}"
            )
            continue
        index[k] = len(kept)
        kept.append(eq)
    remapped = tuple(
        sel
        if sel.equilibrium_index is None or sel.equilibrium_index in index
        else dataclasses.replace(
            sel,
            decided=False,
            equilibrium_index=None,
            reason=f"{sel.reason}; its equilibrium did not certify",
        )
        for sel in selections
    )
    remapped = tuple(
        dataclasses.replace(sel, equilibrium_index=index[sel.equilibrium_index])
        if sel.equilibrium_index is not None
        else sel
        for sel in remapped
    )
    return _Certified(tuple(kept), remapped, tuple(dropped))


def solve_stochastic(
    game: StochasticGame,
    concepts: Iterable[str] = DEFAULT_CONCEPTS,
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
    credit: CreditOptions | None = None,
) -> MarkovSolutionSet:
    """Solve a stochastic game for the requested solution concepts.

    Parameters
    ----------
    game : StochasticGame
    concepts : iterable of str, optional(default=("nash",))
        Any of :data:`STOCHASTIC_CONCEPTS`.
    method : str, optional(default="auto")
        A key of :data:`STOCHASTIC_METHODS` or ``"auto"``: ``team_policy_iteration`` for
        team games, ``backward_induction`` for a finite horizon, ``hoffman_karp`` for
        zero-sum games and ``homotopy`` otherwise.
    tol : float, optional(default=1e-9)
        Relative tolerance: a profile is an equilibrium when every player's largest
        state gap is at most ``tol`` times that player's own value range (its reward
        range times the effective horizon, ``1 / (1 - discount)`` or
        ``sum_t discount^t``), floored at float round-off
        (:meth:`StochasticGame.value_tolerances`). The units of each player's rewards
        change no answer.
    max_equilibria : int, optional(default=0)
        Keep at most this many equilibria (0: all found).
    welfare : iterable of str, optional
        Welfare functions for ``welfare_nash``.
    disagreement : array_like, optional
        Disagreement point of the Nash product (default: each player's maximin value
        from the initial distribution, :func:`stochastic_maximin_values`).
    stage_selection : iterable of str, optional(default=("utilitarian",))
        Criteria of :data:`STAGE_SELECTION_CRITERIA` for backward induction: one
        equilibrium per criterion.
    priors : int, optional(default=0)
        Random priors of the homotopy besides the logit path (0: :data:`DEFAULT_PRIORS`).
    seed : int, optional(default=0)
        Seed of the priors.
    time_limit : float, optional
        Seconds; the homotopy stops starting new paths past it (the set says so).
    credit : CreditOptions, optional
        The policy ``credit_assignment`` credits (``policy``: per agent, ``(S, a_i)`` or
        ``(T, S, a_i)``), the team return, the counterfactual and the default actions.
        Alone, that concept searches no equilibrium (``method="none"``).

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
    _check_options(game, concepts, tol, max_equilibria, priors)
    wanted = choices(concepts, STOCHASTIC_CONCEPTS, "concepts", DEFAULT_CONCEPTS, _CALLER)
    functions = choices(welfare, WELFARE_FUNCTIONS, "welfare", ("utilitarian",), _CALLER)
    criteria = choices(
        stage_selection, STAGE_SELECTION_CRITERIA, "stage_selection", ("utilitarian",), _CALLER
    )
    point = _checked_disagreement(game, disagreement)
    credit_answer = None
    if "credit_assignment" in wanted:
        if credit is not None and not isinstance(credit, CreditOptions):
            raise InvalidOptionError(
                "credit", f"solve_stochastic(): credit must be CreditOptions, got {type(credit).__name__}"
            )
        credit_answer = stochastic_credit_assignment(game, options=credit or CreditOptions(), tol=tol)
        if wanted == ("credit_assignment",):  # no equilibrium asked for: none searched
            return MarkovSolutionSet(
                game_id=game.id,
                equilibria=(),
                complete=False,
                method="none",
                method_reason="no Nash equilibrium set was requested",
                tolerance=tol,
                concepts=wanted,
                elapsed_seconds=time.perf_counter() - started,
                concept_status=(credit_status(credit_answer),),
                credit_assignment=credit_answer,
            )
    spec, reason = _chosen(game, method)
    if "zero_sum_value" in wanted and not (game.is_zero_sum() and game.horizon is None):
        raise UnsupportedError(
            "concepts",
            "solve_stochastic(): zero_sum_value needs a 2-player zero-sum game with an infinite horizon",
        )
    zero_sum, warnings = _zero_sum_solution(game, spec, wanted, tol)
    request = _Request(game, spec.name, tol, criteria, priors, seed, time_limit, zero_sum)
    outcome = spec.run(request)
    reason += f"; {outcome.note}"
    warnings.extend(outcome.warnings)
    checked = _certified(game, outcome.equilibria, outcome.selections, tol)
    warnings.extend(checked.dropped)
    equilibria = list(checked.equilibria)
    truncated = bool(max_equilibria) and len(equilibria) > max_equilibria
    if truncated:
        equilibria = equilibria[:max_equilibria]
        warnings.append(f"kept the first {max_equilibria} equilibria found")
    all_certified = bool(equilibria) and not checked.dropped
    limits = game.value_tolerances(tol)
    values_certified = zero_sum is not None and zero_sum.error_bound <= limits[0]
    table = np.array([eq.payoffs for eq in equilibria]).reshape(len(equilibria), game.n_players)
    pareto = _pareto(table, limits) if "pareto_nash" in wanted else ()
    optima: tuple[WelfareOptimum, ...] = ()
    if "welfare_nash" in wanted:
        if point is None and "nash_product" in functions:
            point = stochastic_maximin_values(game, tol=tol)
        certified = outcome.welfare_certified and all_certified
        optima = tuple(_welfare_optimum(game, table, f, point, limits, certified) for f in functions)
    complete = (
        all_certified
        and not truncated
        and (outcome.complete or (wanted == ("zero_sum_value",) and values_certified))
    )
    statuses = _statuses(
        tuple(c for c in wanted if c != "credit_assignment"),
        len(equilibria),
        complete,
        reason,
        optima,
        zero_sum,
        values_certified,
    )
    if credit_answer is not None:  # in request order
        by_concept = {status.concept: status for status in statuses} | {
            "credit_assignment": credit_status(credit_answer)
        }
        statuses = tuple(by_concept[c] for c in wanted)
    return MarkovSolutionSet(
        game_id=game.id,
        equilibria=tuple(equilibria),
        complete=complete,
        method=spec.name,
        method_reason=reason,
        warnings=tuple(warnings),
        tolerance=tol,
        concepts=wanted,
        elapsed_seconds=time.perf_counter() - started,
        pareto_indices=pareto,
        welfare_optima=optima,
        zero_sum=zero_sum,
        selections=checked.selections,
        concept_status=statuses,
        credit_assignment=credit_answer,
    )


def _statuses(
    wanted: tuple[str, ...],
    found: int,
    complete: bool,
    reason: str,
    optima: tuple[WelfareOptimum, ...],
    zero_sum: MarkovZeroSum | None,
    values_certified: bool,
) -> tuple[ConceptStatus, ...]:
    """One status per requested concept, in request order."""
    among = f"among the {found} equilibri{'um' if found == 1 else 'a'} found; the set is not proved complete"
    out = []
    for concept in wanted:
        if concept == "nash":
            status = (
                ConceptStatus(concept, "answered", f"every equilibrium ({found}): {reason}")
                if complete
                else ConceptStatus(
                    concept, "partial", f"{found} certified equilibri{'um' if found == 1 else 'a'}: {reason}"
                )
            )
        elif concept == "pareto_nash":
            status = ConceptStatus(
                concept, *(("answered", "among every equilibrium") if complete else ("partial", among))
            )
        elif concept == "welfare_nash":
            uncertified = [o.function for o in optima if not o.certified]
            status = (
                ConceptStatus(concept, "partial", f"{', '.join(uncertified)}: maximum {among}")
                if uncertified
                else ConceptStatus(concept, "answered", "each maximum is over every equilibrium")
            )
        elif zero_sum is not None and values_certified:
            status = ConceptStatus(
                concept, "answered", f"the values within {zero_sum.error_bound:.3g} by {zero_sum.method}"
            )
        else:
            bound = "no values" if zero_sum is None else f"values within {zero_sum.error_bound:.3g} only"
            status = ConceptStatus(concept, "partial", f"{bound}: not within the tolerance")
        out.append(status)
    return tuple(out)


def _pareto(table: npt.NDArray[np.float64], limits: npt.NDArray[np.float64]) -> tuple[int, ...]:
    """Pareto-optimal rows, each player's payoffs compared within its own tolerance.

    Dominance compares each player's payoffs separately, so dividing player ``i``'s
    column by its tolerance makes every tolerance 1.
    """
    return pareto_optimal(table / np.where(limits > 0.0, limits, 1.0), tol=1.0)


def _welfare_optimum(
    game: StochasticGame,
    table: npt.NDArray[np.float64],
    function: str,
    point: npt.NDArray[np.float64] | None,
    limits: npt.NDArray[np.float64],
    certified: bool,
) -> WelfareOptimum:
    """The welfare maximisers; welfare values within the players' tolerances of the best tie."""
    point = point if function == "nash_product" else None
    if len(table) == 0:
        return WelfareOptimum(function, float("-inf"), (), "enumeration", False, point)
    if function == "nash_product":
        return _nash_product_optimum(table, point, limits, certified, game.reward_scales)
    values = welfare_values(table, function, point)
    best = float(values.max())
    if not np.isfinite(best):
        return WelfareOptimum(function, best, (), "enumeration", False, point)
    ties = float(limits.max()) if function == "egalitarian" else float(limits.sum())
    indices = tuple(int(k) for k in np.flatnonzero(values >= best - ties))
    return WelfareOptimum(function, best, indices, "enumeration", certified, point)


def _nash_product_optimum(
    table: npt.NDArray[np.float64],
    point: npt.NDArray[np.float64] | None,
    limits: npt.NDArray[np.float64],
    certified: bool,
    scales: npt.NDArray[np.float64],
) -> WelfareOptimum:
    """The Nash product's maximisers, compared with each player's payoffs over its range.

    Dividing player ``i``'s payoffs and disagreement value by its range divides every
    product by the same number (the argmax is unchanged, nothing overflows); the value is
    reported in the user's units, infinite beyond the largest float.
    """
    unit = np.where(scales > 0.0, scales, 1.0)
    values = welfare_values(table / unit, "nash_product", None if point is None else point / unit)
    best = float(values.max())
    if not np.isfinite(best):
        return WelfareOptimum("nash_product", best, (), "enumeration", False, point)
    # A product moves by |best| times the sum of each factor's relative error.
    factors = np.abs(table[int(values.argmax())] - (0.0 if point is None else point))
    relative = np.where(limits > 0.0, limits / np.maximum(factors, np.where(limits > 0.0, limits, 1.0)), 0.0)
    indices = tuple(int(k) for k in np.flatnonzero(values >= best - abs(best) * float(relative.sum())))
    with np.errstate(over="ignore"):
        value = float(best * np.prod(unit))
    return WelfareOptimum("nash_product", value, indices, "enumeration", certified, point)


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


def stochastic_maximin_values(game: StochasticGame, *, tol: float = 1e-9) -> npt.NDArray[np.float64]:
    """Each player's security value in a stochastic game, from the initial distribution.

    Player ``i``'s maximin value is the value of the zero-sum stochastic game it plays
    against the coalition of the others (who may correlate their actions), computed by
    Shapley value iteration with its contraction stopping rule; for a finite horizon by
    backward induction over the stage matrix games.
    :func:`equilibria.solver.concepts.welfare.maximin_values` is the normal-form
    counterpart (security values in mixed strategies of one matrix game).

    Parameters
    ----------
    game : StochasticGame
    tol : float, optional(default=1e-9)
        Relative tolerance of the value iteration (of each player's value range, as in
        :func:`solve_stochastic`). The iteration runs on :attr:`StochasticGame.unit_game`
        and the values are mapped back to each player's units.

    Returns
    -------
    ndarray, shape (n_players,)

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import StochasticGame
    >>> stag = np.array([[[4.0, 0.0], [3.0, 3.0]], [[4.0, 3.0], [0.0, 3.0]]])
    >>> g = StochasticGame(stag[None], np.ones((1, 2, 2, 1)), discount=0.5)
    >>> stochastic_maximin_values(g).round(6).tolist()
    [6.0, 6.0]
    """
    check_tolerance(tol, "stochastic_maximin_values")
    n_states, n = game.n_states, game.n_players
    out = np.empty(n)
    # On the unit game (each player's rewards mapped onto [0, 1]); values mapped back per player.
    unit = game.unit_game
    limits = game.unit_value_tolerances(tol)
    for i in range(n):
        # Player i's rewards with its own axis first and the others' joint actions flattened.
        own = np.moveaxis(unit.rewards[:, i], i + 1, 1).reshape(n_states, game.num_actions[i], -1)
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
            elif change * game.discount <= (1.0 - game.discount) * limits[i]:
                break  # Shapley's contraction bound on the distance to the fixed point
        out[i] = game.values_from_unit(game.initial_distribution @ values, player=i)
    return out
