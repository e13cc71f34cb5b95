"""Subgame-perfect Markov equilibria of finite-horizon stochastic games by backward induction.

For each stage from the last back and every state, the Nash equilibria of the stage game
with continuation values are computed (:func:`equilibria.solver.solve`), one is selected by
a criterion (:data:`CRITERIA`: welfare, payoff dominance or risk dominance), and its
payoffs become the continuation values of the stage before (Fudenberg & Tirole 1991,
ch. 13). The stage games are solved with each player's rewards mapped onto [0, 1], so no
tolerance depends on the units of the rewards; utilitarian and egalitarian welfare compare
the user's payoffs, the other criteria do not depend on units. The result is one
subgame-perfect Markov equilibrium per criterion, certified afresh on the user's game by
:func:`~equilibria.solver.stochastic.regret.certify_markov`. Which equilibrium is
selected, how ties count and when the answer is unique: see docs/stochastic.md.

Examples
--------
The stag hunt played once (horizon 1): the utilitarian criterion picks (stag, stag)
with payoffs (4, 4), risk dominance (hare, hare) with (3, 3).

>>> import numpy as np
>>> from equilibria.solver.stochastic.game import StochasticGame
>>> from equilibria.solver.stochastic.backward import backward_induction
>>> stag = np.array([[[4.0, 0.0], [3.0, 3.0]], [[4.0, 3.0], [0.0, 3.0]]])
>>> game = StochasticGame(stag[None], np.ones((1, 2, 2, 1)), discount=1.0, horizon=1)
>>> eq, (summary,) = backward_induction(game, criterion="utilitarian")
>>> eq.payoffs.tolist(), eq.policies[0].tolist()
([4.0, 4.0], [[[1.0, 0.0]]])
>>> eq, (summary,) = backward_induction(game, criterion="risk_dominance")
>>> eq.payoffs.tolist(), summary.decided, summary.reason
([3.0, 3.0], True, 'risk_dominance decided in 1 of 1 stage games')

References
----------
.. [1] J. Filar and K. Vrieze, *Competitive Markov Decision Processes*, Springer, 1997.
.. [2] D. Fudenberg and J. Tirole, *Game Theory*, MIT Press, 1991, ch. 13 (Markov
   perfect equilibrium) and section 4.2 (one-shot deviation principle).
.. [3] J. C. Harsanyi and R. Selten, *A General Theory of Equilibrium Selection in
   Games*, MIT Press, 1988.
.. [4] E. Maskin and J. Tirole, "Markov perfect equilibrium I: observable actions",
   Journal of Economic Theory 100 (2001) 191-219.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable

import numpy as np
from equilibria.solver._typing import FloatArray
from equilibria.solver.concepts.selection import payoff_dominance, risk_dominance
from equilibria.solver.concepts.welfare import WELFARE_FUNCTIONS, welfare_optimum, welfare_values
from equilibria.solver.errors import (
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
    check_time_limit,
    check_tolerance,
)
from equilibria.solver.game import NormalFormGame
from equilibria.solver.results import MarkovEquilibrium, MarkovSolutionSet, Selection, SolutionSet
from equilibria.solver.solve_game import solve
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import certificate_of, certified_equilibrium, failing_players

__all__ = ["CRITERIA", "FALLBACK_CRITERION", "backward_induction", "backward_induction_set"]


#: Stage-game selection criteria understood by :func:`backward_induction`.
CRITERIA = ("utilitarian", "egalitarian", "nash_product", "payoff_dominance", "risk_dominance")
#: The criterion used in a stage game where the requested one does not decide.
FALLBACK_CRITERION = "utilitarian"
#: Policies closer than this (largest probability difference) are one equilibrium.
_SAME_POLICY = 1e-9
#: Stage games listed by name in a summary's reason before "and k more".
_LISTED = 5


@dataclasses.dataclass(frozen=True)
class _Choice:
    """The equilibrium selected in one stage game (index into its solution set)."""

    index: int
    outcome: str  # "decided", "tie" (broken by lowest index) or "fallback" (to utilitarian)
    reason: str


@dataclasses.dataclass(frozen=True)
class _StageRecord:
    stage: int
    state: int
    choice: _Choice
    n_equilibria: int
    complete: bool
    method: str


@dataclasses.dataclass
class _Cache:
    """Stage-game solutions and choices shared between runs (keyed by the stage game's id)."""

    solutions: dict[str, SolutionSet] = dataclasses.field(default_factory=dict)
    choices: dict[tuple[str, str], _Choice] = dataclasses.field(default_factory=dict)


def backward_induction(
    game: StochasticGame,
    *,
    criterion: str = "utilitarian",
    tol: float = 1e-9,
    time_limit: float | None = None,
) -> tuple[MarkovEquilibrium, tuple[Selection, ...]]:
    """One subgame-perfect Markov equilibrium of a finite-horizon game, selected stage by stage.

    Parameters
    ----------
    game : StochasticGame
        A game with a finite ``horizon`` (any number of players, ragged action sets).
    criterion : str, optional(default="utilitarian")
        One of :data:`CRITERIA`: how an equilibrium of each stage game is chosen.
    tol : float, optional(default=1e-9)
        Tolerance relative to each stage game's payoff scale, passed to
        :func:`equilibria.solver.solve` and the selection criteria; in (0, 1e-3]. The
        stage games are those of :attr:`~StochasticGame.unit_game` (each player's
        rewards mapped onto [0, 1]); the utilitarian and egalitarian criteria compare
        the user's payoffs (a sum or minimum over players depends on their units), the
        others are decided on the unit game, where they give the same answer.
    time_limit : float, optional
        Wall-time budget in seconds. The clock is checked before every stage game (a
        stage game already being solved is not interrupted; 3-player stage games get
        the time left as pygambit's budget).

    Returns
    -------
    equilibrium : MarkovEquilibrium
        Per-stage policies ``(T, S, a_i)`` (zero on actions that do not exist) with the
        certificate of :func:`certify_markov`; ``found_by`` is
        ``("backward_induction:<criterion>",)``.
    selections : tuple of Selection
        One summary: ``decided`` is whether the criterion decided in every stage game,
        ``equilibrium_index`` is 0 (the equilibrium returned) and ``reason`` says in
        how many stage games it decided and where it fell back or broke a tie, whether
        the stage sets were complete, and whether the equilibrium is unique.

    Raises
    ------
    InvalidOptionError
        For a ``game`` that is not a :class:`StochasticGame` (field ``"game"``), an
        unknown criterion (``"criterion"``), a bad ``tol`` (``"tolerance"``) or
        ``time_limit`` (``"time_limit"``).
    UnsupportedError
        For an infinite-horizon game (field ``"horizon"``), or a stage game in which no
        equilibrium was found (``"game"``).
    ProblemTooLargeError
        When the time limit runs out (field ``"time_limit"``).

    Examples
    --------
    The prisoner's dilemma repeated 3 times: defection in every stage is the unique
    subgame-perfect equilibrium, worth 1 per stage.

    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> pd = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])
    >>> game = StochasticGame(pd[None], np.ones((1, 2, 2, 1)), discount=1.0, horizon=3)
    >>> eq, (summary,) = backward_induction(game)
    >>> eq.policies[0][:, 0].tolist(), eq.payoffs.tolist()
    ([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]], [3.0, 3.0])
    >>> summary.reason
    'utilitarian decided in 3 of 3 stage games; every stage game has exactly one equilibrium: this is the unique subgame-perfect Markov equilibrium'
    """
    caller = "backward_induction"
    name = _check_criterion(criterion, caller)
    _check_inputs(game, tol, time_limit, caller)
    deadline = _deadline(time_limit)
    policies, records = _backward(game, name, tol, deadline, time_limit, _Cache())
    equilibrium = certified_equilibrium(game, policies, (f"backward_induction:{name}",))
    return equilibrium, (_summary(name, records, 0),)


def backward_induction_set(
    game: StochasticGame,
    *,
    criteria: Iterable[str] = ("utilitarian",),
    tol: float = 1e-9,
    time_limit: float | None = None,
) -> MarkovSolutionSet:
    """One subgame-perfect Markov equilibrium per criterion, identical ones merged.

    Stage games met again (the last stage is the same for every criterion, and equal
    continuation values give equal stage games) are solved once.

    Parameters
    ----------
    game : StochasticGame
        A game with a finite ``horizon``.
    criteria : iterable of str, optional(default=("utilitarian",))
        Criteria of :data:`CRITERIA` (duplicates ignored; empty means utilitarian).
    tol : float, optional(default=1e-9)
        As for :func:`backward_induction`.
    time_limit : float, optional
        Wall-time budget in seconds for all criteria together.

    Returns
    -------
    MarkovSolutionSet
        ``equilibria``: the distinct equilibria, each with ``found_by`` naming every
        criterion that reached it; ``selections``: one summary per criterion, whose
        ``equilibrium_index`` points into ``equilibria``; ``complete`` is True only
        when every stage game had exactly one equilibrium in a complete stage set (the
        equilibrium is then unique) and it certifies: every player's state gaps within
        ``tol`` of its own value range (:meth:`StochasticGame.value_tolerances`);
        ``method`` is ``"backward_induction"``.

    Raises
    ------
    InvalidOptionError, UnsupportedError, ProblemTooLargeError
        As for :func:`backward_induction` (an unknown criterion: field ``"criteria"``).

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> stag = np.array([[[4.0, 0.0], [3.0, 3.0]], [[4.0, 3.0], [0.0, 3.0]]])
    >>> game = StochasticGame(stag[None], np.ones((1, 2, 2, 1)), discount=1.0, horizon=2)
    >>> result = backward_induction_set(game, criteria=["utilitarian", "payoff_dominance", "risk_dominance"])
    >>> [eq.payoffs.tolist() for eq in result.equilibria]
    [[8.0, 8.0], [6.0, 6.0]]
    >>> [(s.criterion, s.equilibrium_index) for s in result.selections]
    [('utilitarian', 0), ('payoff_dominance', 0), ('risk_dominance', 1)]
    >>> result.equilibria[0].found_by
    ('backward_induction:utilitarian', 'backward_induction:payoff_dominance')
    """
    started = time.perf_counter()
    caller = "backward_induction_set"
    names = tuple(dict.fromkeys(_check_criterion(c, caller, "criteria") for c in criteria)) or (
        FALLBACK_CRITERION,
    )
    _check_inputs(game, tol, time_limit, caller)
    deadline = _deadline(time_limit)
    cache = _Cache()
    equilibria: list[MarkovEquilibrium] = []
    selections: list[Selection] = []
    unique = True
    partial = 0
    for name in names:
        policies, records = _backward(game, name, tol, deadline, time_limit, cache)
        unique = unique and _is_unique(records)
        partial = max(partial, sum(not r.complete for r in records))
        tag = f"backward_induction:{name}"
        index = next(
            (
                k
                for k, eq in enumerate(equilibria)
                if all(
                    np.abs(p - q).max() <= _SAME_POLICY for p, q in zip(policies, eq.policies, strict=True)
                )
            ),
            None,
        )
        if index is None:
            equilibria.append(certified_equilibrium(game, policies, (tag,)))
            index = len(equilibria) - 1
        else:
            merged = equilibria[index]
            equilibria[index] = dataclasses.replace(merged, found_by=(*merged.found_by, tag))
        selections.append(_summary(name, records, index))
    warnings = []
    if partial:
        warnings.append(
            f"the stage-game equilibrium sets were partial in up to {partial} of {game.horizon * game.n_states} "
            "stage games: each criterion chose among the equilibria found"
        )
    for k, eq in enumerate(equilibria):
        failing = failing_players(game, certificate_of(game, eq), tol)
        if failing:
            unique = False
            warnings.append(f"equilibrium {k} does not certify within tolerance {tol:g}: {failing}")
    reason = (
        f"backward induction over {game.horizon} stages x {game.n_states} states, one subgame-perfect Markov "
        f"equilibrium per criterion ({', '.join(names)}); "
        + (
            "every stage game has exactly one equilibrium, so it is the unique one"
            if unique
            else "the set of all of them grows exponentially with the horizon and is not enumerated"
        )
    )
    return MarkovSolutionSet(
        game_id=game.id,
        equilibria=tuple(equilibria),
        complete=unique,
        method="backward_induction",
        method_reason=reason,
        warnings=tuple(warnings),
        tolerance=tol,
        elapsed_seconds=time.perf_counter() - started,
        selections=tuple(selections),
    )


# --------------------------------------------------------------------------- validation


def _check_criterion(criterion: object, caller: str, field: str = "criterion") -> str:
    name = str(criterion).strip().lower()
    if name not in CRITERIA:
        raise InvalidOptionError(
            field, f"{caller}(): unknown criterion {criterion!r}; expected one of {', '.join(CRITERIA)}"
        )
    return name


def _check_inputs(game: StochasticGame, tol: float, time_limit: float | None, caller: str) -> None:
    if not isinstance(game, StochasticGame):
        raise InvalidOptionError("game", f"{caller}(): expected a StochasticGame, got {type(game).__name__}")
    if game.horizon is None:
        raise UnsupportedError(
            "horizon",
            f"{caller}(): the game has an infinite horizon (discount {game.discount:g}); backward induction "
            "needs a finite horizon (StochasticGame(..., horizon=T))",
        )
    check_tolerance(tol, caller)
    check_time_limit(time_limit, caller)


def _deadline(time_limit: float | None) -> float | None:
    return None if time_limit is None else time.perf_counter() + float(time_limit)


# --------------------------------------------------------------------------- kernel


def _backward(
    game: StochasticGame,
    criterion: str,
    tol: float,
    deadline: float | None,
    time_limit: float | None,
    cache: _Cache,
) -> tuple[tuple[FloatArray, ...], list[_StageRecord]]:
    """Per-stage policies ``(T, S, a_i)`` and the record of every stage game's choice.

    The stage games are those of the unit game (every player's payoffs span at most the
    remaining horizon, whatever the units of the rewards); welfare is compared in the
    user's units (:class:`_UserUnits`).
    """
    unit = game.unit_game
    horizon, n_states = int(game.horizon or 0), game.n_states
    total = horizon * n_states
    policies = tuple(np.zeros((horizon, n_states, k)) for k in game.num_actions)
    values = np.zeros((n_states, game.n_players))
    records: list[_StageRecord] = []
    for t in range(horizon - 1, -1, -1):
        q = unit.q_values(values)  # (S, n, a_1..a_n): stage payoffs with continuation V_{t+1}
        user = _UserUnits.of(game, t)
        stage_values = np.empty_like(values)
        for s in range(n_states):
            left = _time_left(deadline, time_limit, len(records), total, t, s)
            counts = unit.action_counts[s]
            stage = NormalFormGame(q[s][(slice(None), *(slice(0, int(k)) for k in counts))])
            solution = cache.solutions.get(stage.id)
            if solution is None:
                solution = cache.solutions[stage.id] = _stage_equilibria(stage, tol, left, t, s)
            key = (stage.id, criterion, user.stages)
            choice = cache.choices.get(key)
            if choice is None:
                choice = cache.choices[key] = _select(stage, solution, criterion, tol, user)
            eq = solution.equilibria[choice.index]
            for i, x in enumerate(eq.strategies):
                x = np.clip(x, 0.0, None)
                policies[i][t, s, : x.size] = x / x.sum()
            stage_values[s] = eq.payoffs
            records.append(
                _StageRecord(t, s, choice, len(solution.equilibria), _complete(solution), solution.method)
            )
        values = stage_values
    records.sort(key=lambda r: (r.stage, r.state))  # stage 0 first
    return policies, records


@dataclasses.dataclass(frozen=True)
class _UserUnits:
    """How the unit game's stage payoffs at one stage map to the user's: per player
    ``min r_i * stages + range_i * u`` (``stages``: the discounted rewards left)."""

    game: StochasticGame
    stages: float

    @classmethod
    def of(cls, game: StochasticGame, stage: int) -> _UserUnits:
        left = int(game.horizon or 0) - stage
        return cls(game, float(sum(game.discount**k for k in range(left))))

    def payoffs(self, unit_payoffs: FloatArray) -> FloatArray:
        """The payoff table ``(k, n)`` in the user's units (infinite where it overflows)."""
        return self.game.values_from_unit(unit_payoffs, stages=self.stages)

    def slack(self, function: str, tol: float) -> float:
        """Welfare values within this of the best tie: ``tol`` of the players' payoff ranges."""
        ranges = self.game.reward_scales * max(self.stages, 1.0)
        return float(tol * (ranges.max() if function == "egalitarian" else ranges.sum()))


def _time_left(
    deadline: float | None, time_limit: float | None, done: int, total: int, stage: int, state: int
) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.perf_counter()
    if left <= 0.0:
        raise ProblemTooLargeError(
            "time_limit",
            f"backward_induction(): time limit of {time_limit:g} s exceeded after {done} of {total} stage "
            f"games (next: stage {stage}, state {state})",
        )
    return left


def _stage_equilibria(stage: NormalFormGame, tol: float, left: float | None, t: int, s: int) -> SolutionSet:
    """The stage game's Nash equilibria: complete for 2 players (vertex enumeration), partial beyond."""
    if stage.n_players >= 3 and left is not None:
        from equilibria.solver.normal_form.nplayer import gambit_equilibria

        solution = gambit_equilibria(stage, tol=tol, time_limit=left)
    else:
        solution = solve(stage, tol=tol)
    if not solution.equilibria:
        raise UnsupportedError(
            "game",
            f"backward_induction(): no equilibrium of the stage game at stage {t}, state {s} was found "
            f"({solution.method}: {solution.method_reason})",
        )
    return solution


def _complete(solution: SolutionSet) -> bool:
    return bool(solution.complete) and "nash" in solution.concepts


def _select(
    stage: NormalFormGame, solution: SolutionSet, criterion: str, tol: float, user: _UserUnits
) -> _Choice:
    """The criterion's choice in one stage game, or the utilitarian one when it does not decide.

    ``stage`` and ``solution`` are in the units of the unit game. Payoff dominance, risk
    dominance and the Nash product (with maximin disagreement) do not change under a
    positive affine map of any player's payoffs and are decided there; utilitarian and
    egalitarian welfare are sums and minima of the user's payoffs (``user``).
    """
    if criterion in WELFARE_FUNCTIONS:
        choice = _welfare_choice(stage, solution, criterion, tol, user)
        if choice is not None:
            return choice
        why = "no individually rational equilibrium for the Nash product"
    else:
        try:
            if criterion == "payoff_dominance":
                selection = payoff_dominance(solution, tol)
            else:
                selection = risk_dominance(stage, solution, tol)
        except (UnsupportedError, ProblemTooLargeError) as exc:
            selection = Selection(criterion, False, None, exc.message)
        if selection.decided and selection.equilibrium_index is not None:
            return _Choice(selection.equilibrium_index, "decided", selection.reason)
        why = selection.reason
    fallback = _welfare_choice(stage, solution, FALLBACK_CRITERION, tol, user)
    if fallback is None:  # pragma: no cover - utilitarian welfare is finite on a non-empty set
        raise RuntimeError("backward_induction(): no utilitarian choice in a non-empty stage set")
    return _Choice(fallback.index, "fallback", f"{why}; fell back to {FALLBACK_CRITERION}: {fallback.reason}")


def _welfare_choice(
    stage: NormalFormGame, solution: SolutionSet, function: str, tol: float, user: _UserUnits
) -> _Choice | None:
    """The lowest-index welfare maximiser (``None`` when no equilibrium has finite welfare)."""
    if function == "nash_product":
        optimum = welfare_optimum(solution, function, game=stage, tol=tol)
        ties, value = optimum.equilibrium_indices, optimum.value
        if not ties:
            return None
        where = " (with every player's rewards mapped onto [0, 1])"
    else:
        table = np.array([eq.payoffs for eq in solution.equilibria])
        welfare = welfare_values(user.payoffs(table), function)
        slack = user.slack(function, tol)
        where = ""
        if not np.isfinite(welfare).all():  # user payoffs beyond the largest float: compare the unit game's
            welfare, slack = welfare_values(table, function), tol * table.shape[1] * stage.payoff_scale
            where = " (with every player's rewards mapped onto [0, 1]: the user's overflow)"
        value = float(welfare.max())
        ties = tuple(int(k) for k in np.flatnonzero(welfare >= value - slack))
    best = ties[0]
    payoffs = np.array([solution.equilibria[k].payoffs for k in ties])
    spread = float(np.ptp(payoffs, axis=0).max())
    text = f"equilibrium {best} maximises {function} welfare ({value:.6g}){where}"
    if spread <= 10.0 * tol * stage.payoff_scale:
        return _Choice(best, "decided", text)
    listed = ", ".join(map(str, ties))
    return _Choice(
        best, "tie", f"{text}; equilibria {listed} with different payoffs tie, the lowest index is taken"
    )


# --------------------------------------------------------------------------- results


def _is_unique(records: list[_StageRecord]) -> bool:
    return all(r.n_equilibria == 1 and r.complete for r in records)


def _where(records: list[_StageRecord]) -> str:
    places = [f"state {r.state} at stage {r.stage}" for r in records[:_LISTED]]
    more = f" and {len(records) - _LISTED} more" if len(records) > _LISTED else ""
    return ", ".join(places) + more


def _summary(criterion: str, records: list[_StageRecord], index: int) -> Selection:
    """How the criterion decided over all stage games, as one :class:`Selection`."""
    total = len(records)
    decided = [r for r in records if r.choice.outcome == "decided"]
    fallbacks = [r for r in records if r.choice.outcome == "fallback"]
    ties = [r for r in records if r.choice.outcome == "tie"]
    parts = [f"{criterion} decided in {len(decided)} of {total} stage games"]
    if fallbacks:
        parts.append(f"fell back to {FALLBACK_CRITERION} in {_where(fallbacks)}")
    if ties:
        parts.append(
            f"broke a tie between equilibria with different payoffs by lowest index in {_where(ties)}"
        )
    undecided = [r for r in records if r.choice.outcome != "decided"]
    if undecided:
        first = undecided[0]
        parts.append(f"first at state {first.state}, stage {first.stage}: {first.choice.reason}")
    partial = [r for r in records if not r.complete]
    if partial:
        methods = ", ".join(sorted({r.method for r in partial}))
        parts.append(
            f"the stage-game equilibrium sets are partial in {len(partial)} of {total} stage games "
            f"(found by {methods}, which need not find every equilibrium; for 3 or more players no "
            "method is complete), so the criterion chose among the equilibria found"
        )
    if _is_unique(records):
        parts.append(
            "every stage game has exactly one equilibrium: this is the unique subgame-perfect Markov equilibrium"
        )
    return Selection(criterion, len(decided) == total, index, "; ".join(parts))
