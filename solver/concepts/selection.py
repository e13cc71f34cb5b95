"""Equilibrium selection: which equilibrium of a solution set a criterion picks.

Three criteria, each answering a :class:`~equilibria.solver.results.Selection`:
``payoff_dominance``, ``risk_dominance`` (Harsanyi and Selten 1988: their 2 x 2 rule,
else the tracing procedure from the uniform prior, :mod:`~equilibria.solver.concepts.tracing`)
and ``logit_limit`` (the limit of the principal logit QRE branch, McKelvey and Palfrey
1995, :mod:`~equilibria.solver.concepts.logit`). A path criterion decides only when its
answer is in the set and survives small perturbations. See docs/solution-concepts.md
(section "Equilibrium selection").

Examples
--------
>>> from equilibria.solver import NormalFormGame, solve
>>> from equilibria.solver.concepts.selection import select
>>> stag_hunt = NormalFormGame.from_bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]])
>>> equilibria = solve(stag_hunt)
>>> [eq.strategies[0].round(12).tolist() for eq in equilibria.equilibria]
[[1.0, 0.0], [0.75, 0.25], [0.0, 1.0]]
>>> select(stag_hunt, equilibria, "payoff_dominance").equilibrium_index
0
>>> select(stag_hunt, equilibria, "risk_dominance").equilibrium_index
2

References
----------
.. [1] J. C. Harsanyi and R. Selten, *A General Theory of Equilibrium Selection in
   Games*, MIT Press (1988), ch. 3 (risk dominance in 2 x 2 games), ch. 4 (tracing).
.. [2] R. D. McKelvey and T. R. Palfrey, "Quantal response equilibria for normal form
   games", Games and Economic Behavior 10 (1995) 6-38.
.. [3] T. L. Turocy, "A dynamic homotopy interpretation of the logistic quantal response
   equilibrium correspondence", Games and Economic Behavior 51 (2005) 243-263.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import scipy.optimize
from equilibria.solver._typing import FloatArray
from equilibria.solver.concepts import logit as logit_module
from equilibria.solver.concepts import tracing
from equilibria.solver.errors import (
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
    check_tolerance,
)
from equilibria.solver.game import NormalFormGame, max_abs_difference
from equilibria.solver.results import Selection, SolutionSet

__all__ = [
    "SELECTION_CRITERIA",
    "MATCH_TOLERANCE",
    "select",
    "payoff_dominance",
    "risk_dominance",
    "logit_limit",
]


#: The selection criteria :func:`select` understands.
SELECTION_CRITERIA = ("payoff_dominance", "risk_dominance", "logit_limit")
#: Largest max-norm distance between a computed equilibrium and a member of the set
#: for the two to be taken as the same equilibrium.
MATCH_TOLERANCE = 1e-6
#: Robustness checks: seeds of the perturbed priors (tracing) and perturbed games
#: (logit), the relative size of a prior perturbation, and of a payoff perturbation
#: (relative to each player's own payoff range).
_ROBUSTNESS_SEEDS = (1, 2)
_PRIOR_NOISE = 1e-3
_PAYOFF_NOISE = 1e-3


def select(
    game: NormalFormGame,
    solution_set: SolutionSet,
    criterion: str,
    *,
    tol: float = 1e-9,
    units: tuple[NormalFormGame, SolutionSet] | None = None,
) -> Selection:
    """Select an equilibrium of ``solution_set`` by a named criterion.

    Parameters
    ----------
    game : NormalFormGame
        The game the solution set belongs to.
    solution_set : SolutionSet
        Its equilibria (e.g. from :func:`equilibria.solver.solve`).
    criterion : str
        One of :data:`SELECTION_CRITERIA`.
    tol : float, optional(default=1e-9)
        Tolerance relative to the payoff scale (ties, strictness, certificates).
    units : (NormalFormGame, SolutionSet), optional
        The same game and set in the units the reason quotes payoffs in (a positive
        affine map of each player's payoffs, e.g. the caller's game when ``game`` is its
        :attr:`~equilibria.solver.game.NormalFormGame.unit_game`). Default: ``game``'s.

    Returns
    -------
    Selection
        ``equilibrium_index`` indexes ``solution_set.equilibria``.

    Raises
    ------
    InvalidOptionError
        For an unknown criterion (field ``"selection"``), a bad tolerance, or a
        solution set of another game.
    UnsupportedError
        When the criterion does not apply (field ``"selection"``): an empty solution
        set, or a tracing or logit path that fails to converge.
    ProblemTooLargeError
        When the game is too large for path following (field ``"selection"``).

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame, solve
    >>> bos = NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
    >>> s = select(bos, solve(bos), "payoff_dominance")
    >>> s.decided, s.reason
    (False, "no payoff-dominant equilibrium: no equilibrium has a payoff vector at least every other equilibrium's")
    """
    name = str(criterion).strip().lower()
    if name not in SELECTION_CRITERIA:
        raise InvalidOptionError(
            "selection",
            f"select(): unknown criterion {criterion!r}; expected one of {', '.join(SELECTION_CRITERIA)}",
        )
    if units is not None and len(units[1].equilibria) != len(solution_set.equilibria):
        raise InvalidOptionError("units", "select(): units must hold the same equilibria as solution_set")
    if name == "payoff_dominance":
        _check_inputs(game, solution_set, tol, "select")
        return payoff_dominance(solution_set, tol, quoted=None if units is None else units[1])
    if name == "risk_dominance":
        return risk_dominance(game, solution_set, tol, quoted=None if units is None else units[0])
    return logit_limit(game, solution_set, tol)


# --------------------------------------------------------------------------- payoff dominance


def payoff_dominance(
    solution_set: SolutionSet, tol: float = 1e-9, *, quoted: SolutionSet | None = None
) -> Selection:
    """The payoff-dominant equilibrium of a solution set, if there is one.

    An equilibrium is payoff dominant when its payoff vector is at least every other
    equilibrium's in every coordinate (within ``10 * tol`` times that player's largest
    absolute payoff among the equilibria: each player's own unit); it then
    Pareto-dominates every equilibrium with a different payoff vector.

    Several equilibria can share the payoff-dominant payoff vector. **Rule:** when they
    all lie in one common component of the set (a convex set of equilibria, e.g. a
    segment of equilibria with equal payoffs) or are the same profile, the criterion
    decides for the lowest index and says so; when they lie in different components
    (or the set has no component information) it does not decide, because payoff
    dominance cannot tell them apart.

    Parameters
    ----------
    solution_set : SolutionSet
    tol : float, optional(default=1e-9)
    quoted : SolutionSet, optional
        The same equilibria with payoffs in the units the reason quotes (default: the set's).

    Returns
    -------
    Selection
        Over the equilibria of the set only: for a partial set (``complete`` False)
        the reason says that an equilibrium not found could change the answer.

    Raises
    ------
    UnsupportedError
        For an empty solution set (field ``"selection"``).

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame, solve
    >>> pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    >>> payoff_dominance(solve(pd)).reason
    'the only equilibrium (0): ((0, 1), (0, 1)) with payoffs (1, 1)'
    """
    caller = "payoff_dominance"
    check_tolerance(tol, caller)
    if not isinstance(solution_set, SolutionSet):
        raise InvalidOptionError(
            "solution_set", f"{caller}(): expected a SolutionSet, got {type(solution_set).__name__}"
        )
    if not solution_set.equilibria:
        raise UnsupportedError(
            "selection", f"{caller}(): the solution set is empty; there is nothing to select"
        )
    equilibria = solution_set.equilibria
    shown = np.array([eq.payoffs for eq in (quoted or solution_set).equilibria])  # in the reason
    caveat = _partial_caveat(solution_set)
    if len(equilibria) == 1:
        eq = equilibria[0]
        return Selection(
            caller,
            True,
            0,
            f"the only equilibrium (0): {_fmt(eq.strategies)} with payoffs {_fmt_vector(shown[0])}{caveat}",
        )
    payoffs = np.array([eq.payoffs for eq in equilibria])
    # Each player's own unit: multiplying one player's payoffs by any c > 0 decides the same.
    delta = 10.0 * tol * np.abs(payoffs).max(axis=0)
    # weakly[k, j]: equilibrium k's payoffs are >= equilibrium j's in every coordinate.
    weakly = np.all(payoffs[:, None, :] >= payoffs[None, :, :] - delta, axis=2)
    candidates = [int(k) for k in np.flatnonzero(weakly.all(axis=1))]
    if not candidates:
        return Selection(
            caller,
            False,
            None,
            "no payoff-dominant equilibrium: no equilibrium has a payoff vector at least every other "
            f"equilibrium's{caveat}",
        )
    best = candidates[0]
    text = f"equilibrium {best}: {_fmt(equilibria[best].strategies)} with payoffs {_fmt_vector(shown[best])}"
    if len(candidates) == 1:
        return Selection(caller, True, best, f"{text} payoff-dominates every other equilibrium{caveat}")
    shared = set.intersection(*(set(equilibria[k].components) for k in candidates))
    same_profile = all(
        max_abs_difference(equilibria[k].strategies, equilibria[best].strategies) <= MATCH_TOLERANCE
        for k in candidates
    )
    listed = ", ".join(map(str, candidates))
    if shared or same_profile:
        where = f"component {min(shared)}" if shared else "one profile"
        return Selection(
            caller,
            True,
            best,
            f"{text} payoff-dominates every other equilibrium; equilibria {listed} share its payoff "
            f"vector and lie in {where}, so the lowest index is selected{caveat}",
        )
    return Selection(
        caller,
        False,
        None,
        f"no unique payoff-dominant equilibrium: equilibria {listed} in different components share the "
        f"payoff vector {_fmt_vector(shown[best])}, which is at least every other equilibrium's{caveat}",
    )


# --------------------------------------------------------------------------- risk dominance


def risk_dominance(
    game: NormalFormGame,
    solution_set: SolutionSet,
    tol: float = 1e-9,
    *,
    quoted: NormalFormGame | None = None,
) -> Selection:
    """The risk-dominant equilibrium (2 x 2 rule) or the tracing-procedure selection.

    In a 2 x 2 game with two strict pure equilibria, Harsanyi and Selten's exact rule
    compares the products of deviation losses (equal products within
    ``tol`` times the product of the two payoff ranges: not decided). In every other game the Harsanyi-Selten
    tracing procedure from the uniform prior (:func:`equilibria.solver.concepts.tracing.trace`)
    selects an equilibrium, which is matched to the set.

    Parameters
    ----------
    game : NormalFormGame
    solution_set : SolutionSet
        Equilibria of ``game``.
    tol : float, optional(default=1e-9)

    Returns
    -------
    Selection
        Not decided on ties, when the tracing path bifurcates (non-generic game), or
        when the selected equilibrium is not in the set (the reason says where it is).

    Raises
    ------
    UnsupportedError
        For an empty set, or when the tracing procedure cannot run to a certified end
        (field ``"selection"``).
    ProblemTooLargeError
        When the game is too large for path following (field ``"selection"``).

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame, solve
    >>> stag_hunt = NormalFormGame.from_bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]])
    >>> risk_dominance(stag_hunt, solve(stag_hunt)).reason
    '2x2 rule: (1, 1) risk-dominates (0, 0): products of deviation losses 9 > 1'
    """
    caller = "risk_dominance"
    _check_inputs(game, solution_set, tol, caller)
    if game.num_actions == (2, 2):
        strict = _strict_pure_2x2(game, tol)
        if len(strict) == 2:
            return _risk_dominance_2x2(game, solution_set, strict, tol, quoted or game)
    only = _only_equilibrium(solution_set, caller)
    if only is not None:
        return only
    try:
        result = tracing.trace(game, tol=tol)
    except ProblemTooLargeError as exc:
        raise ProblemTooLargeError(
            "selection", f"{caller}(): the tracing procedure cannot run: {exc.message}"
        ) from exc
    except UnsupportedError as exc:
        raise UnsupportedError(
            "selection", f"{caller}(): the tracing procedure failed: {exc.message}"
        ) from exc
    what = "the tracing procedure from the uniform prior"
    if result.bifurcations:
        where = ", ".join(f"{t:.3g}" for t in result.bifurcations)
        return Selection(
            caller,
            False,
            None,
            f"{what} crosses a bifurcation near t = {where} (a non-generic game, e.g. a symmetric one): "
            f"no unique selection (the branch followed ends at {_fmt(result.strategies)})",
        )
    for seed in _ROBUSTNESS_SEEDS:
        try:
            profile = tracing.trace(game, _perturbed_prior(game, seed), tol=tol).strategies
        except UnsupportedError as exc:
            return Selection(
                caller,
                False,
                None,
                f"{what} ends at {_fmt(result.strategies)}, but from a slightly perturbed prior the path "
                f"could not be followed ({exc.message}): the selection's robustness is not established",
            )
        if max_abs_difference(profile, result.strategies) > MATCH_TOLERANCE:
            return Selection(
                caller,
                False,
                None,
                f"{what} ends at {_fmt(result.strategies)}, but from a slightly perturbed prior at "
                f"{_fmt(profile)}: the selection is not robust (a non-generic game, e.g. a symmetric one)",
            )
    robust = f"; the same from {len(_ROBUSTNESS_SEEDS)} slightly perturbed priors"
    return _matched(caller, what, result.strategies, solution_set, robust)


def _perturbed_prior(game: NormalFormGame, seed: int) -> tuple[FloatArray, ...]:
    """The uniform prior, each probability multiplied by ``1 + e`` with ``|e| <= _PRIOR_NOISE``."""
    rng = np.random.default_rng(seed)
    prior = []
    for k in game.num_actions:
        p = 1.0 + _PRIOR_NOISE * rng.uniform(-1.0, 1.0, size=k)
        prior.append(p / p.sum())
    return tuple(prior)


def _strict_pure_2x2(game: NormalFormGame, tol: float) -> list[tuple[int, int]]:
    """The strict pure equilibria of a 2 x 2 game (each action the unique best reply)."""
    a, b = game.bimatrix()
    slack_a, slack_b = tol * game.player_scales  # each player in its own unit
    return [
        (r, c)
        for r, c in itertools.product(range(2), range(2))
        if a[r, c] > a[1 - r, c] + slack_a and b[r, c] > b[r, 1 - c] + slack_b
    ]


def _deviation_loss_products(game: NormalFormGame, strict: list[tuple[int, int]]) -> tuple[float, float]:
    a, b = game.bimatrix()
    (r1, c1), (r2, c2) = strict  # on a diagonal: r2 = 1 - r1, c2 = 1 - c1
    first = (a[r1, c1] - a[r2, c1]) * (b[r1, c1] - b[r1, c2])
    second = (a[r2, c2] - a[r1, c2]) * (b[r2, c2] - b[r2, c1])
    return float(first), float(second)


def _risk_dominance_2x2(
    game: NormalFormGame,
    solution_set: SolutionSet,
    strict: list[tuple[int, int]],
    tol: float,
    quoted: NormalFormGame,
) -> Selection:
    caller = "risk_dominance"
    (r1, c1), (r2, c2) = strict
    first, second = _deviation_loss_products(game, strict)
    shown = _deviation_loss_products(quoted, strict)  # the same order, in the quoted units
    products = f"{_num(shown[0])} vs {_num(shown[1])}"
    if abs(first - second) <= tol * float(np.prod(game.player_scales)):  # a product of both units
        return Selection(
            caller,
            False,
            None,
            f"2x2 rule: neither ({r1}, {c1}) nor ({r2}, {c2}) risk-dominates: equal products of deviation "
            f"losses ({products})",
        )
    (win, lose), (pw, pl) = (
        (((r1, c1), (r2, c2)), shown) if first > second else (((r2, c2), (r1, c1)), shown[::-1])
    )
    text = f"2x2 rule: {win} risk-dominates {lose}: products of deviation losses {_num(pw)} > {_num(pl)}"
    profile = (np.eye(2)[win[0]], np.eye(2)[win[1]])
    distances = [max_abs_difference(profile, eq.strategies) for eq in solution_set.equilibria]
    index = int(np.argmin(distances))
    if distances[index] <= MATCH_TOLERANCE:
        return Selection(caller, True, index, text)
    return Selection(
        caller,
        False,
        None,
        f"{text}, but that equilibrium is not in the solution set{_partial_caveat(solution_set)}",
    )


# --------------------------------------------------------------------------- logit limit


def logit_limit(game: NormalFormGame, solution_set: SolutionSet, tol: float = 1e-9) -> Selection:
    """The equilibrium the principal logit QRE branch converges to, matched to the set.

    Parameters
    ----------
    game : NormalFormGame
    solution_set : SolutionSet
        Equilibria of ``game``.
    tol : float, optional(default=1e-9)

    Returns
    -------
    Selection
        Not decided when the branch bifurcates (non-generic game) or its limit is not
        in the set.

    Raises
    ------
    UnsupportedError
        For an empty set, or when the branch cannot be followed to a certified limit
        (field ``"selection"``).
    ProblemTooLargeError
        When the game is too large for path following (field ``"selection"``).

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame, solve
    >>> stag_hunt = NormalFormGame.from_bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]])
    >>> logit_limit(stag_hunt, solve(stag_hunt)).equilibrium_index
    2
    """
    caller = "logit_limit"
    _check_inputs(game, solution_set, tol, caller)
    only = _only_equilibrium(solution_set, caller)
    if only is not None:
        return only
    try:
        branch = logit_module.logit_path(game, tol=tol)
    except ProblemTooLargeError as exc:
        raise ProblemTooLargeError(
            "selection", f"{caller}(): the logit branch cannot be followed: {exc.message}"
        ) from exc
    except UnsupportedError as exc:
        raise UnsupportedError("selection", f"{caller}(): the logit branch failed: {exc.message}") from exc
    what = "the principal logit QRE branch"
    if branch.bifurcations:
        where = ", ".join(f"{lam:.3g}" for lam in branch.bifurcations)
        return Selection(
            caller,
            False,
            None,
            f"{what} crosses a bifurcation near lambda = {where} (a non-generic game, e.g. a symmetric one): "
            f"its limit is not unique (the branch followed ends at {_fmt(branch.limit)})",
        )
    for seed in _ROBUSTNESS_SEEDS:
        try:
            profile = _perturbed_limit(game, seed, tol)
        except UnsupportedError as exc:
            return Selection(
                caller,
                False,
                None,
                f"{what} ends at {_fmt(branch.limit)}, but in a slightly perturbed game the branch could "
                f"not be followed ({exc.message}): the limit's robustness is not established",
            )
        if profile is None or max_abs_difference(profile, branch.limit) > MATCH_TOLERANCE:
            other = "a profile that is no equilibrium of the game" if profile is None else _fmt(profile)
            return Selection(
                caller,
                False,
                None,
                f"{what} ends at {_fmt(branch.limit)}, but in a slightly perturbed game at {other}: the "
                "limit is not robust (a non-generic game, e.g. a symmetric one)",
            )
    robust = f"; the same in {len(_ROBUSTNESS_SEEDS)} slightly perturbed games"
    return _matched(
        caller, f"{what} (followed to lambda = {branch.lambdas[-1]:.3g})", branch.limit, solution_set, robust
    )


def _perturbed_limit(game: NormalFormGame, seed: int, tol: float) -> tuple[FloatArray, ...] | None:
    """The logit limit of a slightly perturbed game, polished into an equilibrium of ``game``.

    None when the perturbed limit's support carries no equilibrium of ``game`` near it.
    """
    rng = np.random.default_rng(seed)
    scales = np.where(game.player_scales > 0.0, game.player_scales, 1.0)  # each player's own unit
    unit = scales.reshape((-1,) + (1,) * game.n_players)
    noise = _PAYOFF_NOISE * unit * rng.uniform(-1.0, 1.0, size=game.payoffs.shape)
    branch = logit_module.logit_path(NormalFormGame(game.payoffs + noise), tol=tol)
    return tracing.polish_on_support(game, branch.limit, tol=tol)


# --------------------------------------------------------------------------- helpers


def _check_inputs(game: NormalFormGame, solution_set: SolutionSet, tol: float, caller: str) -> None:
    check_tolerance(tol, caller)
    if not isinstance(game, NormalFormGame):
        raise InvalidOptionError("game", f"{caller}(): expected a NormalFormGame, got {type(game).__name__}")
    if not isinstance(solution_set, SolutionSet):
        raise InvalidOptionError(
            "solution_set", f"{caller}(): expected a SolutionSet, got {type(solution_set).__name__}"
        )
    if solution_set.game_id != game.id:
        raise InvalidOptionError(
            "solution_set",
            f"{caller}(): the solution set belongs to game {solution_set.game_id!r}, not to {game.id!r}",
        )
    if not solution_set.equilibria:
        raise UnsupportedError(
            "selection", f"{caller}(): the solution set is empty; there is nothing to select"
        )


def _complete_nash(solution_set: SolutionSet) -> bool:
    """Whether the set provably holds every Nash equilibrium (not only every pure one)."""
    return solution_set.complete and "nash" in solution_set.concepts


def _only_equilibrium(solution_set: SolutionSet, caller: str) -> Selection | None:
    """A complete set with one equilibrium: every criterion selects it."""
    if _complete_nash(solution_set) and len(solution_set.equilibria) == 1:
        eq = solution_set.equilibria[0]
        return Selection(caller, True, 0, f"the game's only equilibrium (0): {_fmt(eq.strategies)}")
    return None


def _matched(
    caller: str, what: str, profile: Sequence[FloatArray], solution_set: SolutionSet, robust: str
) -> Selection:
    """Selection of the member of the set a computed equilibrium coincides with."""
    distances = [max_abs_difference(profile, eq.strategies) for eq in solution_set.equilibria]
    index = int(np.argmin(distances))
    text = f"{what} ends at {_fmt(profile)}"
    if distances[index] <= MATCH_TOLERANCE:
        return Selection(caller, True, index, f"{text}: equilibrium {index}{robust}")
    inside = [k for k, comp in enumerate(solution_set.components) if _in_component(profile, comp.vertices)]
    if inside:
        where = f"it lies in component {inside[0]} but is not one of its extreme equilibria"
    else:
        where = "it is not in the solution set" + _partial_caveat(solution_set)
    return Selection(
        caller,
        False,
        None,
        f"{text}; {where} (nearest: equilibrium {index} at distance {distances[index]:.3g})",
    )


def _in_component(profile: Sequence[FloatArray], vertices: Sequence[FloatArray]) -> bool:
    """Whether each player's strategy is a convex combination of the component's vertices."""
    for x, v in zip(profile, vertices, strict=True):
        k, m = v.shape
        # min s subject to -s <= v^T w - x <= s, sum w = 1, w >= 0.
        c = np.zeros(k + 1)
        c[-1] = 1.0
        upper = np.hstack([v.T, -np.ones((m, 1))])
        lower = np.hstack([-v.T, -np.ones((m, 1))])
        res = scipy.optimize.linprog(
            c,
            A_ub=np.vstack([upper, lower]),
            b_ub=np.concatenate([x, -x]),
            A_eq=np.concatenate([np.ones(k), [0.0]])[None, :],
            b_eq=[1.0],
            bounds=[(0, None)] * (k + 1),
            method="highs",
        )
        if res.status != 0 or res.fun > MATCH_TOLERANCE:
            return False
    return True


def _partial_caveat(solution_set: SolutionSet) -> str:
    if _complete_nash(solution_set):
        return ""
    return (
        f" (over the {len(solution_set.equilibria)} equilibria found by {solution_set.method!r}; the set is "
        "not complete)"
    )


def _num(value: float) -> str:
    return f"{value:.6g}"


def _fmt_vector(values: Sequence[float] | FloatArray) -> str:
    return "(" + ", ".join(_num(float(v)) for v in values) + ")"


def _fmt(profile: Sequence[FloatArray]) -> str:
    return "(" + ", ".join(_fmt_vector(np.round(np.asarray(s, dtype=float), 4) + 0.0) for s in profile) + ")"
