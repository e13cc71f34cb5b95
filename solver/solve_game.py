"""The solver's front door: ``solve(game, concepts=..., method="auto", ...)``.

One call computes every requested solution concept of a normal-form game and returns
one :class:`~equilibria.solver.results.SolutionSet`:

====================  =====================================================================
concept               what the set then holds
====================  =====================================================================
``nash``              the Nash equilibria (:mod:`equilibria.solver.normal_form.nash` picks the method)
``pure_nash``         the pure equilibria
``pareto_nash``       ``pareto_indices``: the Pareto-optimal equilibria of the set
``welfare_nash``      ``welfare_optima``: the welfare-maximising equilibria per function
                      (2-player utilitarian/egalitarian by MILP when enumeration is not
                      complete or not affordable)
``correlated``        ``correlated_equilibria`` and ``welfare_ranges`` over the CE polytope
``coarse_correlated`` the same over the CCE polytope
``zero_sum_value``    ``zero_sum``: the value and optimal strategies (constant-sum games)
``selection``         ``selections``: payoff dominance, risk dominance, logit limit
``alpha_rank``        ``alpha_rank``: the pure profiles ranked by α-Rank (any number of players)
``max_entropy_*``     ``max_entropy_equilibria``: the (coarse) correlated equilibrium of
``max_gini_*``        largest entropy or Gini impurity (``*``: ``correlated``,
                      ``coarse_correlated``), unique, with its dual bound
``replicator_dynamics`` ``dynamics``: the rest points a replicator, logit or best-response
                      dynamic reaches from many starts, and their basins' shares
``ess``               ``ess``: the evolutionarily stable strategies (a symmetric game's
                      Maynard Smith ESS, or the strict equilibria of one population per player)
``credit_assignment`` ``credit_assignment``: each agent's difference reward and Shapley value of
                      the team return under a given joint policy (``credit=``)
``noisy_equilibria``  ``noise``: how the sampling noise of the payoffs (``standard_errors=``)
                      bears on the equilibria: regret intervals, the probability of an
                      epsilon-equilibrium, distinguishable equilibria, significant pure ones
====================  =====================================================================

Examples
--------
>>> from equilibria.solver import NormalFormGame, solve
>>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
>>> result = solve(chicken, ["nash", "welfare_nash", "correlated"])
>>> round(result.welfare_optima[0].value, 4), round(result.correlated_equilibria[0].welfare, 4)
(9.3333, 10.5)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from equilibria.solver.concepts.alpha_rank import AlphaRankOptions
from equilibria.solver.concepts.credit import CreditOptions
from equilibria.solver.concepts.dynamics import DynamicsOptions
from equilibria.solver.concepts.ess import EssOptions
from equilibria.solver.concepts.noisy import NoiseOptions
from equilibria.solver.concepts.selection import SELECTION_CRITERIA
from equilibria.solver.concepts.welfare import WELFARE_FUNCTIONS
from equilibria.solver.errors import (
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
    check_time_limit,
    check_tolerance,
    quoted,
)
from equilibria.solver.game import NormalFormGame
from equilibria.solver.normal_form.nash import DEFAULT_TOLERANCE, nash_set
from equilibria.solver.regret import recertified
from equilibria.solver.results import (
    AlphaRank,
    ConceptStatus,
    CreditAssignment,
    Equilibrium,
    EvolutionarilyStableSet,
    EvolutionaryDynamics,
    MaxEntropyEquilibrium,
    NoisyMetaGame,
    SolutionSet,
    StochasticCreditAssignment,
    WelfareOptimum,
)

__all__ = [
    "solve",
    "credit_status",
    "CONCEPTS",
    "DEFAULT_CONCEPTS",
    "WELFARE_FUNCTIONS",
    "SELECTION_CRITERIA",
    "WELFARE_ENUMERATION_SECONDS",
]

#: Every solution concept :func:`solve` answers.
CONCEPTS = (
    "nash",
    "pure_nash",
    "pareto_nash",
    "welfare_nash",
    "correlated",
    "coarse_correlated",
    "zero_sum_value",
    "selection",
    "alpha_rank",
    "max_entropy_correlated",
    "max_entropy_coarse_correlated",
    "max_gini_correlated",
    "max_gini_coarse_correlated",
    "replicator_dynamics",
    "ess",
    "credit_assignment",
    "noisy_equilibria",
)
#: The concepts of a solve that names none.
DEFAULT_CONCEPTS = ("nash",)
#: Concepts answered from the set of Nash equilibria.
_NEEDS_NASH_SET = {"nash", "pure_nash", "pareto_nash", "selection", "noisy_equilibria"}
_LINEAR_WELFARE = ("utilitarian", "egalitarian")
#: ``welfare_nash`` (utilitarian, egalitarian) on a 2-player game enumerates every equilibrium
#: when ``enumeration_seconds`` estimates at most this, and solves the welfare MILP otherwise:
#: up to about 13 x 13 on random games, where enumeration is the faster (12 x 12: 0.05-0.07 s
#: against the MILP's 0.05-0.95 s); the MILP from 14 x 14 (0.14-1.5 s, where a degenerate
#: game's enumeration can take tens of seconds).
WELFARE_ENUMERATION_SECONDS = 0.5


def choices(
    values: Iterable[str], allowed: Sequence[str], field: str, default: tuple[str, ...], caller: str = "solve"
) -> tuple[str, ...]:
    """Lower-cased, de-duplicated option names (``default`` when empty), each checked against ``allowed``.

    Raises
    ------
    InvalidOptionError
        Naming ``field`` and the caller.
    """
    chosen = tuple(dict.fromkeys(str(v).lower() for v in values)) or default
    for value in chosen:
        if value not in allowed:
            raise InvalidOptionError(
                field, f"{caller}(): unknown {field} {quoted(value)}; expected one of {', '.join(allowed)}"
            )
    return chosen


def solve(
    game: NormalFormGame,
    concepts: Iterable[str] = DEFAULT_CONCEPTS,
    *,
    method: str = "auto",
    tol: float = DEFAULT_TOLERANCE,
    exact: bool = False,
    max_equilibria: int = 0,
    welfare: Iterable[str] = ("utilitarian",),
    disagreement: npt.ArrayLike | None = None,
    selection: Iterable[str] = (),
    time_limit: float | None = None,
    alpha_rank: AlphaRankOptions | None = None,
    dynamics: DynamicsOptions | None = None,
    ess: EssOptions | None = None,
    credit: CreditOptions | None = None,
    standard_errors: npt.ArrayLike | None = None,
    noise: NoiseOptions | None = None,
) -> SolutionSet:
    """Solve a game for the requested solution concepts.

    Parameters
    ----------
    game : NormalFormGame
    concepts : iterable of str, optional(default=("nash",))
        Any of :data:`CONCEPTS`.
    method : str, optional(default="auto")
        The Nash method (a key of :data:`equilibria.solver.normal_form.nash.METHODS`) or ``"auto"``.
    tol : float, optional(default=1e-9)
        Tolerance for best responses, tightness and comparisons (relative to the payoff scale).
    exact : bool, optional(default=False)
        Exact rational certification (``vertex_enumeration`` only).
    max_equilibria : int, optional(default=0)
        Stop after this many equilibria (0: no limit); a truncated set is incomplete.
    welfare : iterable of str, optional(default=("utilitarian",))
        Welfare functions for ``welfare_nash`` and the correlated concepts.
    disagreement : array_like, optional
        Disagreement point of the Nash product (default: the maximin values).
    selection : iterable of str, optional
        Selection criteria for ``selection`` (default: all of :data:`SELECTION_CRITERIA`).
    time_limit : float, optional
        Seconds the equilibrium search may take (see
        :func:`~equilibria.solver.normal_form.nash.nash_set`): ``"auto"`` enumerates a
        2-player game whose estimated enumeration time fits it, and an enumeration or
        n-player search past it returns what it found, incomplete. α-Rank's sweep stops
        between two values of α past it.
    alpha_rank : AlphaRankOptions, optional
        Options of ``alpha_rank`` (default: α swept to the large-α limit, populations of
        50, one population for a symmetric 2-player game).
    dynamics : DynamicsOptions, optional
        Options of ``replicator_dynamics`` (default: the replicator dynamic from 256
        sampled starts, horizon 200, one population for a symmetric 2-player game).
    ess : EssOptions, optional
        Options of ``ess`` (default: one population for a symmetric 2-player game, else
        one per player).
    credit : CreditOptions, optional
        The joint policy ``credit_assignment`` credits (``policy``: one mixed strategy per
        agent, or a joint distribution), the team return, the counterfactual and the
        default actions.
    standard_errors : array_like, optional
        The payoffs' standard errors (the payoffs' shape) when they are sample means: what
        ``noisy_equilibria`` needs.
    noise : NoiseOptions, optional
        Options of ``noisy_equilibria``: epsilon per unit of payoff range, the confidence,
        the bootstrap draws and their seed.

    Returns
    -------
    SolutionSet

    Raises
    ------
    InvalidOptionError
        Unknown method, concept, welfare function or criterion; bad tolerance.
    UnsupportedError
        A method or concept that does not apply to this game.
    """
    started = time.perf_counter()
    if not isinstance(game, NormalFormGame):
        raise InvalidOptionError("game", f"solve(): expected a NormalFormGame, got {type(game).__name__}")
    check_tolerance(tol, "solve")
    check_time_limit(time_limit, "solve")
    wanted = choices(concepts, CONCEPTS, "concepts", DEFAULT_CONCEPTS)
    functions = choices(welfare, WELFARE_FUNCTIONS, "welfare", ("utilitarian",))
    criteria = choices(selection, SELECTION_CRITERIA, "selection", SELECTION_CRITERIA)
    point = _disagreement(game, disagreement)
    ranking_options = _options(alpha_rank, AlphaRankOptions, "alpha_rank")
    dynamics_options = _options(dynamics, DynamicsOptions, "dynamics")
    ess_options = _options(ess, EssOptions, "ess")
    credit_options = _options(credit, CreditOptions, "credit")
    noise_options = _options(noise, NoiseOptions, "noise")
    if "noisy_equilibria" in wanted and standard_errors is None:
        raise InvalidOptionError(
            "standard_errors",
            "solve(): noisy_equilibria needs the payoffs' standard errors (standard_errors=)",
        )
    if "zero_sum_value" in wanted and not game.is_zero_sum(tol):  # relative to the payoff ranges
        raise UnsupportedError("concepts", "solve(): zero_sum_value needs a 2-player constant-sum game")
    correlated_kinds = [k for k in ("correlated", "coarse_correlated") if k in wanted]
    if correlated_kinds and "nash_product" in functions:
        raise UnsupportedError(
            "welfare",
            "solve(): the Nash product is not linear; correlated equilibria are optimised for "
            "utilitarian and egalitarian welfare",
        )

    needs_set = bool(_NEEDS_NASH_SET & set(wanted)) or (
        "welfare_nash" in wanted and _welfare_needs_set(game, functions, method)
    )
    if needs_set:
        # Welfare is maximised over every Nash equilibrium, so it needs the mixed ones too.
        asked = ("nash",) if "welfare_nash" in wanted else ()
        nash_concepts = tuple(c for c in ("nash", "pure_nash") if c in wanted or c in asked) or ("nash",)
        result = nash_set(
            game,
            nash_concepts,
            method=method,
            tol=tol,
            exact=exact,
            max_equilibria=max_equilibria,
            time_limit=time_limit,
        )
    else:
        result = SolutionSet(
            game_id=game.id,
            equilibria=(),
            components=(),
            complete=False,
            method="none",
            method_reason="no Nash equilibrium set was requested",
            tolerance=tol,
        )
    extras: dict[str, object] = {}
    statuses = {status.concept: status for status in result.concept_status}
    if "pareto_nash" in wanted:
        from equilibria.solver.concepts.pareto import pareto_optimal

        extras["pareto_indices"] = pareto_optimal(_relative_payoffs(game, result), tol=tol)
        statuses["pareto_nash"] = _over_set_status("pareto_nash", result, "Pareto-optimal")
    if "welfare_nash" in wanted:
        result, optima = _welfare_optima(game, result, functions, point, tol, needs_set)
        extras["welfare_optima"] = optima
        statuses["welfare_nash"] = _welfare_status(optima, result)
    if correlated_kinds:
        from equilibria.solver.concepts.correlated import correlated_equilibrium, welfare_range

        extras["correlated_equilibria"] = tuple(
            correlated_equilibrium(game, kind=kind, objective=f, tol=tol)
            for kind in correlated_kinds
            for f in functions
        )
        extras["welfare_ranges"] = tuple(
            welfare_range(game, kind=kind, objective=f, tol=tol)
            for kind in correlated_kinds
            for f in functions
        )
        for kind in correlated_kinds:
            statuses[kind] = ConceptStatus(
                kind, "answered", f"{', '.join(functions)} optimum and welfare range by linear programming"
            )
    if "zero_sum_value" in wanted or (result.method == "zero_sum_lp" and result.zero_sum is not None):
        from equilibria.solver.normal_form.nash import in_user_units
        from equilibria.solver.normal_form.zero_sum import zero_sum_value

        zero_sum = result.zero_sum or in_user_units(zero_sum_value(game.unit_game, tol=tol), game, tol)
        extras["zero_sum"] = zero_sum
        if "zero_sum_value" in wanted:
            statuses["zero_sum_value"] = ConceptStatus(
                "zero_sum_value", "answered", "the value and one optimal strategy pair by linear programming"
            )
    if "selection" in wanted:
        from equilibria.solver.concepts.selection import select

        unit_set = recertified(result, game.unit_game)  # criteria compare payoffs in each player's units
        extras["selections"] = tuple(
            select(game.unit_game, unit_set, c, tol=tol, units=(game, result)) for c in criteria
        )
        statuses["selection"] = _over_set_status("selection", result, "selected")
    notes: list[str] = []
    if "alpha_rank" in wanted:
        from equilibria.solver.concepts.alpha_rank import alpha_rank as rank

        try:
            extras["alpha_rank"] = ranked = rank(
                game, ranking_options, tol=tol, time_limit=_left(started, time_limit)
            )
        except ProblemTooLargeError as exc:  # refused, the other concepts answered
            statuses["alpha_rank"] = ConceptStatus("alpha_rank", "refused", exc.message)
        else:
            statuses["alpha_rank"] = _alpha_rank_status(ranked)
            if ranked.ended_by == "time_limit":  # the answer depends on the clock: say so
                notes.append(
                    f"alpha_rank: the sweep was stopped by the time limit at alpha = {ranked.alpha:g}"
                )
    spread = [c for c in wanted if c.startswith(("max_entropy_", "max_gini_"))]
    if spread:
        from equilibria.solver.concepts.max_entropy import max_entropy_equilibrium

        left = _left(started, time_limit, floor=1e-3)  # Clarabel's smallest useful limit
        answers = []
        for concept in spread:
            try:
                answers.append(max_entropy_equilibrium(game, concept, time_limit=left))
            except ProblemTooLargeError as exc:  # refused, the other concepts answered
                statuses[concept] = ConceptStatus(concept, "refused", exc.message)
                if "time limit" in exc.message:  # the answer depends on the clock: say so
                    notes.append(f"{concept}: refused, not solved within the time limit")
            else:
                statuses[concept] = _spread_status(answers[-1], tol)
        extras["max_entropy_equilibria"] = tuple(answers)
    if "replicator_dynamics" in wanted:
        from equilibria.solver.concepts.dynamics import evolutionary_dynamics

        try:
            extras["dynamics"] = reached = evolutionary_dynamics(
                game,
                dynamics_options,
                equilibria=result.equilibria,
                tol=tol,
                time_limit=_left(started, time_limit),
            )
        except ProblemTooLargeError as exc:  # refused, the other concepts answered
            statuses["replicator_dynamics"] = ConceptStatus("replicator_dynamics", "refused", exc.message)
        else:
            statuses["replicator_dynamics"] = _dynamics_status(reached)
            if reached.ended_by == "time_limit":
                notes.append("replicator_dynamics: the integration was stopped by the time limit")
    if "ess" in wanted:
        from equilibria.solver.concepts.ess import evolutionarily_stable

        try:
            stable = evolutionarily_stable(game, ess_options, tol=tol, time_limit=_left(started, time_limit))
        except ProblemTooLargeError as exc:
            statuses["ess"] = ConceptStatus("ess", "refused", exc.message)
        else:
            extras["ess"] = stable = _linked_ess(stable, result.equilibria)
            statuses["ess"] = _ess_status(stable)
            if not stable.complete and "time limit" in stable.method:
                notes.append("ess: the search was stopped by the time limit")
    if "credit_assignment" in wanted:
        from equilibria.solver.concepts.credit import credit_assignment

        try:
            extras["credit_assignment"] = credit_assignment(game, options=credit_options, tol=tol)
        except ProblemTooLargeError as exc:
            statuses["credit_assignment"] = ConceptStatus("credit_assignment", "refused", exc.message)
        else:
            statuses["credit_assignment"] = credit_status(extras["credit_assignment"])  # type: ignore[arg-type]
    if "noisy_equilibria" in wanted:
        from equilibria.solver.concepts.noisy import noisy_equilibria

        try:
            extras["noise"] = noisy = noisy_equilibria(
                game, standard_errors, result.equilibria, noise_options, tol=tol
            )
        except ProblemTooLargeError as exc:
            statuses["noisy_equilibria"] = ConceptStatus("noisy_equilibria", "refused", exc.message)
        else:
            statuses["noisy_equilibria"] = _noise_status(noisy, result)
    if notes:
        extras["warnings"] = (*result.warnings, *notes)
    return dataclasses.replace(
        result,
        concepts=wanted,
        elapsed_seconds=time.perf_counter() - started,
        concept_status=tuple(statuses[c] for c in wanted),
        **extras,  # type: ignore[arg-type]
    )


OptionsT = TypeVar("OptionsT", AlphaRankOptions, DynamicsOptions, EssOptions, CreditOptions, NoiseOptions)


def _options(given: object, kind: type[OptionsT], field: str) -> OptionsT:
    """A concept's options, validated (the defaults when None)."""
    if given is None:
        return kind().checked("solve")
    if not isinstance(given, kind):
        raise InvalidOptionError(
            field, f"solve(): {field} must be {kind.__name__}, got {type(given).__name__}"
        )
    return given.checked("solve")


def _left(started: float, time_limit: float | None, floor: float = 1e-9) -> float | None:
    """The seconds of ``time_limit`` not yet spent, at least ``floor`` (None: no limit)."""
    return None if time_limit is None else max(time_limit - (time.perf_counter() - started), floor)


def _dynamics_status(reached: EvolutionaryDynamics) -> ConceptStatus:
    """Answered when every start ran its course; partial when the time limit stopped them."""
    certified = sum(b.certified for b in reached.basins)
    how = (
        f"{reached.n_starts} {reached.starts} starts of the {reached.rule.replace('_', '-')} dynamic "
        f"({'one population' if reached.single_population else 'one population per player'}, horizon "
        f"{reached.horizon:g}): {len(reached.basins)} rest point(s), {certified} start(s) proved to converge to "
        f"a strict equilibrium, {reached.unsettled} did not settle"
    )
    if reached.ended_by == "time_limit":
        return ConceptStatus("replicator_dynamics", "partial", f"{how}: stopped by the time limit")
    return ConceptStatus("replicator_dynamics", "answered", how)


def _linked_ess(
    stable: EvolutionarilyStableSet, equilibria: Sequence[Equilibrium]
) -> EvolutionarilyStableSet:
    """The ESS, each with the index of the same profile in the solution set (if there)."""
    linked = []
    for candidate in stable.strategies:
        index = next(
            (
                k
                for k, eq in enumerate(equilibria)
                if all(
                    float(np.abs(e - s).max()) <= 1e-6
                    for e, s in zip(eq.strategies, candidate.strategies, strict=True)
                )
            ),
            None,
        )
        linked.append(dataclasses.replace(candidate, equilibrium_index=index))
    return dataclasses.replace(stable, strategies=tuple(linked))


def _ess_status(stable: EvolutionarilyStableSet) -> ConceptStatus:
    """Answered when every candidate was checked and decided; partial otherwise."""
    decided = sum(c.decided for c in stable.strategies)
    undecided = len(stable.strategies) - decided
    how = f"{stable.method}: {decided} ESS" + (
        f", {undecided} candidate(s) too close to call" if undecided else ""
    )
    return ConceptStatus("ess", "answered" if stable.complete else "partial", how)


def credit_status(credit: CreditAssignment | StochasticCreditAssignment) -> ConceptStatus:
    """Credit assignment is exact arithmetic on the game and the policy: always answered."""
    policy = "a correlated policy" if getattr(credit, "correlated", False) else "a product policy"
    return ConceptStatus(
        "credit_assignment",
        "answered",
        f"difference rewards ({credit.counterfactual} counterfactual) and exact Shapley values over every "
        f"coalition of the {credit.team} team return under {policy}, default actions {list(credit.default_actions)}",
    )


def _noise_status(noisy: NoisyMetaGame, result: SolutionSet) -> ConceptStatus:
    """Answered over every equilibrium when the Nash set is complete, else partial."""
    how = (
        f"{noisy.draws} parametric-bootstrap draws of the payoffs at {noisy.confidence:g} confidence, "
        f"epsilon {noisy.epsilon:g} of each player's range: {len(noisy.equilibria)} equilibri"
        f"{'um' if len(noisy.equilibria) == 1 else 'a'}, {noisy.pure_equilibrium_count} significant pure "
        f"equilibri{'um' if noisy.pure_equilibrium_count == 1 else 'a'}"
    )
    if result.complete:
        return ConceptStatus("noisy_equilibria", "answered", f"{how}; every equilibrium of the means")
    return ConceptStatus(
        "noisy_equilibria", "partial", f"{how}; over the equilibria found (the set is not complete)"
    )


def _alpha_rank_status(ranked: AlphaRank) -> ConceptStatus:
    """Answered at the large-α limit or a given α; partial when the sweep stopped short."""
    how = (
        f"the stationary distribution of the {'single' if ranked.single_population else 'multi'}-population "
        f"chain (m = {ranked.population_size}) at alpha = {ranked.alpha:g} by GTH elimination, "
        f"residual {ranked.residual:.1e}"
    )
    if ranked.ended_by == "converged":
        return ConceptStatus("alpha_rank", "answered", f"{how}: the large-alpha limit (the sweep converged)")
    if ranked.ended_by == "alpha_given":
        return ConceptStatus("alpha_rank", "answered", f"{how}: the alpha requested")
    stopped = {
        "underflow": "at the next alpha the chain falls apart in floating point",
        "time_limit": "the sweep was stopped by the time limit",
        "max_steps": f"the sweep reached its last step ({len(ranked.sweep)} values of alpha)",
    }[ranked.ended_by]
    return ConceptStatus("alpha_rank", "partial", f"{how}: not shown to be the large-alpha limit ({stopped})")


#: Largest ``bound - value`` of an answered maximum-entropy (or -Gini) equilibrium.
SPREAD_GAP = 1e-6


def _spread_status(answer: MaxEntropyEquilibrium, tol: float) -> ConceptStatus:
    """Answered when the incentive constraints hold within ``tol`` (per unit of payoff range)
    and the dual bound is within :data:`SPREAD_GAP` of the value."""
    gap = max(answer.bound - answer.value, 0.0)
    how = (
        f"{answer.method}; the constraints hold within {answer.relative_violation:.1e} of each player's "
        f"payoff range, and no equilibrium of the polytope has a {answer.measure} above {answer.bound:.12g} "
        f"(within {gap:.1e} of this one's)"
    )
    if answer.relative_violation <= tol and gap <= SPREAD_GAP:
        return ConceptStatus(answer.concept, "answered", how)
    return ConceptStatus(answer.concept, "partial", f"{how}: not certified to the tolerance")


def _relative_payoffs(game: NormalFormGame, result: SolutionSet) -> npt.NDArray[np.float64]:
    """The equilibria's payoffs in each player's own unit: ``(payoff - min u_i) / range_i``."""
    table = np.array([eq.payoffs for eq in result.equilibria]).reshape(len(result.equilibria), game.n_players)
    low = game.payoffs.reshape(game.n_players, -1).min(axis=1)
    half = game.player_scales / 2.0
    return (table / 2.0 - low / 2.0) / np.where(half > 0.0, half, 1.0)


def _over_set_status(concept: str, result: SolutionSet, what: str) -> ConceptStatus:
    """The status of a concept answered from the equilibrium set."""
    if result.complete:
        return ConceptStatus(concept, "answered", f"{what} among every equilibrium of the game")
    return ConceptStatus(
        concept,
        "partial",
        f"{what} among the {len(result.equilibria)} equilibria found; the Nash set is not proved complete",
    )


def _welfare_status(optima: tuple[WelfareOptimum, ...], result: SolutionSet) -> ConceptStatus:
    uncertified = [o.function for o in optima if not o.certified]
    if not uncertified:
        return ConceptStatus(
            "welfare_nash", "answered", "each maximum is over every Nash equilibrium of the game"
        )
    return ConceptStatus(
        "welfare_nash",
        "partial",
        f"{', '.join(uncertified)}: maximum over the {len(result.equilibria)} equilibria found, "
        "not proved to be the maximum over every Nash equilibrium",
    )


def _disagreement(game: NormalFormGame, value: npt.ArrayLike | None) -> npt.NDArray[np.float64] | None:
    if value is None:
        return None
    point = np.asarray(value, dtype=np.float64).reshape(-1)
    if point.size == 0:
        return None
    if point.shape != (game.n_players,) or not np.isfinite(point).all():
        raise InvalidOptionError(
            "disagreement_point",
            f"solve(): the disagreement point needs {game.n_players} finite values, got {point.tolist()}",
        )
    return point


def _welfare_needs_set(game: NormalFormGame, functions: tuple[str, ...], method: str) -> bool:
    """Whether welfare maximisation must enumerate (otherwise a 2-player MILP suffices)."""
    if game.n_players != 2 or "nash_product" in functions:
        return True
    from equilibria.solver.normal_form.vertex_enumeration import enumeration_seconds

    # Enumerate when it is estimated to beat the MILP or was asked for; the measured
    # trade-off is in docs/normal-form.md ("When solve enumerates for welfare").
    return method not in ("auto", "") or enumeration_seconds(*game.num_actions) <= WELFARE_ENUMERATION_SECONDS


def _welfare_optima(
    game: NormalFormGame,
    result: SolutionSet,
    functions: tuple[str, ...],
    point: npt.NDArray[np.float64] | None,
    tol: float,
    have_set: bool,
) -> tuple[SolutionSet, tuple[WelfareOptimum, ...]]:
    """Welfare optima per function; 2-player linear welfare by MILP when enumeration cannot certify it."""
    from equilibria.solver.concepts.welfare import welfare_optimum

    optima = []
    equilibria = list(result.equilibria)
    for function in functions:
        # Over a complete 2-player set the extreme equilibria suffice for every welfare
        # function (payoffs on a component form a box; see equilibria.solver.concepts.welfare).
        use_milp = game.n_players == 2 and function in _LINEAR_WELFARE and not (have_set and result.complete)
        if not use_milp:
            optima.append(welfare_optimum(result, function, disagreement=point, game=game, tol=tol))
            continue
        from equilibria.solver.concepts.welfare_milp import welfare_milp

        eq, optimum = welfare_milp(game, function=function, tol=tol)
        index = _find_or_append(equilibria, eq, tol)
        optima.append(dataclasses.replace(optimum, equilibrium_indices=(index,)))
    if len(equilibria) != len(result.equilibria):
        result = dataclasses.replace(
            result,
            equilibria=tuple(equilibria),
            method=result.method if have_set else "welfare_milp",
            method_reason=(
                result.method_reason
                if have_set
                else "welfare-maximising equilibria by mixed-integer programming, without enumerating"
            ),
        )
    return result, tuple(optima)


def _find_or_append(equilibria: list[Equilibrium], eq: Equilibrium, tol: float) -> int:
    for k, other in enumerate(equilibria):
        if all(np.allclose(a, b, atol=1e-7) for a, b in zip(eq.strategies, other.strategies, strict=True)):
            return k
    equilibria.append(eq)
    return len(equilibria) - 1
