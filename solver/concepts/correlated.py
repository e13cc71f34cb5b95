"""Correlated and coarse correlated equilibria of n-player games, by linear programming.

A correlated (Aumann 1974) or coarse correlated equilibrium (Moulin and Vial 1978) that
optimises a linear welfare, or the welfare range over either polytope: one LP each over
the distributions on joint actions (Papadimitriou and Roughgarden 2008), solved by HiGHS
and certified afresh by :func:`ce_violation`. See docs/solution-concepts.md (section
"Correlated and coarse correlated equilibria").

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.concepts.correlated import correlated_equilibrium, ce_violation
>>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
>>> ce = correlated_equilibrium(chicken)
>>> ce.distribution.round(6).tolist(), round(ce.welfare, 6)
([[0.5, 0.25], [0.25, 0.0]], 10.5)
>>> aumann = [[1 / 3, 1 / 3], [1 / 3, 0.0]]
>>> ce_violation(chicken, aumann) <= 1e-12
True

References
----------
.. [1] R. J. Aumann, "Subjectivity and correlation in randomized strategies", Journal
   of Mathematical Economics 1 (1974) 67-96.
.. [2] H. Moulin and J.-P. Vial, "Strategically zero-sum games: the class of games whose
   completely mixed equilibria cannot be improved upon", International Journal of
   Game Theory 7 (1978) 201-221.
.. [3] C. H. Papadimitriou and T. Roughgarden, "Computing correlated equilibria in
   multi-player games", Journal of the ACM 55 (2008) 14.
.. [4] S. Hart and A. Mas-Colell, "A simple adaptive procedure leading to correlated
   equilibrium", Econometrica 68 (2000) 1127-1150.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import (
    InvalidGameError,
    InvalidOptionError,
    ProblemTooLargeError,
    check_tolerance,
)
from equilibria.solver.game import NormalFormGame
from equilibria.solver.results import CorrelatedEquilibrium, WelfareRange
from scipy.optimize import linprog

__all__ = [
    "correlated_equilibrium",
    "welfare_range",
    "ce_violation",
    "incentive_constraints",
    "KINDS",
    "OBJECTIVES",
    "SENSES",
    "MAX_LP_ENTRIES",
]


#: Equilibrium concepts: ``"correlated"`` (CE) and ``"coarse_correlated"`` (CCE).
KINDS = ("correlated", "coarse_correlated")
#: Welfare functions optimised over the polytope.
OBJECTIVES = ("utilitarian", "egalitarian")
#: Optimisation directions.
SENSES = ("max", "min")
#: Largest number of non-zero entries of the incentive-constraint matrix (bounds memory).
MAX_LP_ENTRIES = 10_000_000
#: Slack allowed on a distribution given to :func:`ce_violation` (negativity, sum).
_DISTRIBUTION_TOL = 1e-6


def correlated_equilibrium(
    game: NormalFormGame,
    *,
    kind: str = "correlated",
    objective: str = "utilitarian",
    sense: str = "max",
    tol: float = 1e-9,
) -> CorrelatedEquilibrium:
    """The correlated (or coarse correlated) equilibrium optimising a welfare function.

    Parameters
    ----------
    game : NormalFormGame
        Any number of players (n >= 2).
    kind : str, optional(default="correlated")
        ``"correlated"`` (CE) or ``"coarse_correlated"`` (CCE).
    objective : str, optional(default="utilitarian")
        ``"utilitarian"`` (sum of the expected payoffs) or ``"egalitarian"`` (the
        smallest expected payoff, through an epigraph variable).
    sense : str, optional(default="max")
        ``"max"`` or ``"min"``: the best or the worst equilibrium for the objective.
    tol : float, optional(default=1e-9)
        Feasibility and optimality tolerance of HiGHS on the rescaled LP (clamped to
        HiGHS's range [1e-10, 1e-7]).

    Returns
    -------
    CorrelatedEquilibrium
        An optimal distribution (one of them if the optimum is not unique), its payoffs
        and welfare in the user's units and ``max_violation``, the largest violation of
        an incentive constraint measured from the user's payoffs.

    Raises
    ------
    InvalidOptionError
        If ``kind`` (field ``"concepts"``), ``objective`` (field ``"welfare"``), ``sense``
        or ``tol`` is not allowed.
    ProblemTooLargeError
        If the constraint matrix would have more than :data:`MAX_LP_ENTRIES` entries.

    Notes
    -----
    Maximising the egalitarian welfare ``min_i U_i`` is one LP with an epigraph variable
    ``t <= U_i``. Minimising it is not convex, but ``min_p min_i U_i(p) = min_i min_p
    U_i(p)``: one LP per player, keeping the lowest.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    >>> worst = correlated_equilibrium(chicken, sense="min")
    >>> worst.distribution.round(6).tolist(), round(worst.welfare, 6)
    ([[0.0, 0.4], [0.4, 0.2]], 7.2)
    """
    _check_options("correlated_equilibrium", kind, objective, sense, tol)
    return _optimise(game, kind, objective, sense, tol)


def welfare_range(
    game: NormalFormGame,
    *,
    kind: str = "correlated",
    objective: str = "utilitarian",
    tol: float = 1e-9,
) -> WelfareRange:
    """The lowest and highest welfare over the CE (or CCE) polytope.

    Every Nash equilibrium's welfare lies in this range (NE ⊆ CE ⊆ CCE).

    Parameters
    ----------
    game : NormalFormGame
    kind : str, optional(default="correlated")
        ``"correlated"`` or ``"coarse_correlated"``.
    objective : str, optional(default="utilitarian")
        ``"utilitarian"`` or ``"egalitarian"``.
    tol : float, optional(default=1e-9)
        As in :func:`correlated_equilibrium`.

    Returns
    -------
    WelfareRange
        ``minimum`` and ``maximum``: distributions attaining the two bounds.

    Raises
    ------
    InvalidOptionError, ProblemTooLargeError
        As :func:`correlated_equilibrium`.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    >>> r = welfare_range(chicken)
    >>> round(r.minimum.welfare, 6), round(r.maximum.welfare, 6)
    (7.2, 10.5)
    """
    _check_options("welfare_range", kind, objective, "max", tol)
    return WelfareRange(
        kind=kind,
        objective=objective,
        minimum=_optimise(game, kind, objective, "min", tol),
        maximum=_optimise(game, kind, objective, "max", tol),
    )


def ce_violation(game: NormalFormGame, distribution: npt.ArrayLike, kind: str = "correlated") -> float:
    """Largest violation of an incentive constraint of the CE (or CCE) polytope.

    For a CE this is ``max_{i, a_i, a_i'} sum_{a_-i} p(a_i, a_-i) [u_i(a_i', a_-i) -
    u_i(a_i, a_-i)]``; for a CCE ``max_{i, a_i'} sum_a p(a) [u_i(a_i', a_-i) -
    u_i(a)]``; clipped below at 0. It is 0 exactly on the polytope, in the user's payoff
    units, and for the product distribution of a profile it is at most the profile's
    largest regret.

    Parameters
    ----------
    game : NormalFormGame
    distribution : array_like, shape game.num_actions
        Probabilities of the joint actions (non-negative, summing to 1 within 1e-6).
    kind : str, optional(default="correlated")
        ``"correlated"`` or ``"coarse_correlated"``.

    Returns
    -------
    float

    Raises
    ------
    InvalidGameError
        If the distribution does not fit the game or is not a probability distribution
        (field ``"distribution"``).
    InvalidOptionError
        If ``kind`` is unknown (field ``"concepts"``).

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    >>> ce_violation(chicken, [[1.0, 0.0], [0.0, 0.0]])  # (C, C): D pays 7 instead of 6
    1.0
    """
    _check_kind("ce_violation", kind)
    p = _checked_distribution(game, distribution)
    worst = 0.0
    for i, k in enumerate(game.num_actions):
        u = np.moveaxis(game.payoffs[i], i, 0).reshape(k, -1)
        q = np.moveaxis(p, i, 0).reshape(k, -1)
        if kind == "correlated":
            # m[a, b] = sum_r q[a, r] u[b, r]: the payoff of playing b when told a.
            m = q @ u.T
            gain = m - np.diag(m)[:, None]
        else:
            gain = u @ q.sum(axis=0) - float(np.sum(q * u))
        worst = max(worst, float(gain.max()))
    return worst


# --------------------------------------------------------------------------- validation


def _check_kind(function: str, kind: str) -> None:
    if kind not in KINDS:
        raise InvalidOptionError(
            "concepts", f"{function}(): unknown kind {kind!r}; expected one of {', '.join(KINDS)}"
        )


def _check_options(function: str, kind: str, objective: str, sense: str, tol: float) -> None:
    _check_kind(function, kind)
    if objective not in OBJECTIVES:
        raise InvalidOptionError(
            "welfare",
            f"{function}(): unknown welfare function {objective!r}; expected one of {', '.join(OBJECTIVES)}",
        )
    if sense not in SENSES:
        raise InvalidOptionError(
            "sense", f"{function}(): unknown sense {sense!r}; expected one of {', '.join(SENSES)}"
        )
    check_tolerance(tol, function)


def _checked_distribution(game: NormalFormGame, distribution: npt.ArrayLike) -> FloatArray:
    try:
        p = np.asarray(distribution, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError(
            "distribution", f"ce_violation(): distribution is not a numeric array ({exc})"
        ) from exc
    if p.shape != game.num_actions:
        raise InvalidGameError(
            "distribution",
            f"ce_violation(): distribution of shape {p.shape} does not fit actions {game.num_actions}",
        )
    if not np.isfinite(p).all():
        raise InvalidGameError("distribution", "ce_violation(): distribution has a non-finite entry")
    if p.min() < -_DISTRIBUTION_TOL or abs(float(p.sum()) - 1.0) > _DISTRIBUTION_TOL:
        raise InvalidGameError(
            "distribution",
            f"ce_violation(): not a probability distribution (min {p.min():.3g}, sum {p.sum():.12g})",
        )
    return p


# --------------------------------------------------------------------------- kernel


def _lp_entries(num_actions: tuple[int, ...], kind: str) -> int:
    joint = math.prod(num_actions)
    per_row = (lambda k: k - 1) if kind == "correlated" else (lambda k: k)
    return joint * sum(per_row(k) for k in num_actions)


def incentive_constraints(game: NormalFormGame, kind: str) -> sp.csr_array:
    """The incentive constraints of the CE (or CCE) polytope as rows ``g`` with ``g @ p >= 0``.

    ``p`` is the joint distribution flattened in C order. Each player's rows are in
    that player's payoffs divided by their range (1 if constant), so the rows are
    unit-free; per player, the CE rows run over (recommended ``a``, deviation ``b != a``)
    row-major and the CCE rows over deviations ``b``.
    """
    _check_kind("incentive_constraints", kind)
    return _incentive_matrix(game.unit_game.payoffs, kind)


def _incentive_matrix(payoffs: FloatArray, kind: str) -> sp.csr_array:
    """Rows ``g`` with ``g @ p >= 0`` the incentive constraints (payoffs already rescaled).

    Built per player and not per joint action: for player ``i`` the payoff tensor is
    viewed as ``u[a_i, r]`` with ``r`` the others' joint action, and ``idx[a_i, r]`` is
    the flat (C-order) index of the joint action.
    """
    shape = payoffs.shape[1:]
    joint = math.prod(shape)
    flat = np.arange(joint).reshape(shape)
    rows: list[npt.NDArray[np.intp]] = []
    cols: list[npt.NDArray[np.intp]] = []
    data: list[FloatArray] = []
    offset = 0
    for i, k in enumerate(shape):
        u = np.moveaxis(payoffs[i], i, 0).reshape(k, -1)
        idx = np.moveaxis(flat, i, 0).reshape(k, -1)
        if kind == "correlated":
            # One row per (recommended a, deviation b != a): sum_r p[a, r] (u[a, r] - u[b, r]).
            told, dev = np.nonzero(~np.eye(k, dtype=bool))
            d = u[told] - u[dev]  # (k (k - 1), R)
            c = idx[told]
        else:
            # One row per deviation b: sum_{a, r} p[a, r] (u[a, r] - u[b, r]).
            d = (u[None, :, :] - u[:, None, :]).reshape(k, -1)  # (k, k R)
            c = np.broadcast_to(idx.reshape(1, -1), d.shape)
        n_rows = d.shape[0]
        rows.append(np.broadcast_to(offset + np.arange(n_rows)[:, None], d.shape).ravel())
        cols.append(c.ravel())
        data.append(d.ravel())
        offset += n_rows
    matrix = sp.coo_array(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(offset, joint)
    ).tocsr()
    matrix.eliminate_zeros()
    return matrix


def _optimise(
    game: NormalFormGame, kind: str, objective: str, sense: str, tol: float
) -> CorrelatedEquilibrium:
    function = "correlated_equilibrium"
    entries = _lp_entries(game.num_actions, kind)
    if entries > MAX_LP_ENTRIES:
        raise ProblemTooLargeError(
            "concepts",
            f"{function}(): the {kind} LP of a {'x'.join(map(str, game.num_actions))} game has "
            f"{entries:,} constraint entries, over the limit of {MAX_LP_ENTRIES:,}",
        )
    n = game.n_players
    joint = math.prod(game.num_actions)
    u = game.payoffs
    incentive = incentive_constraints(game, kind)
    # Objective: one affine map for every player keeps the sum's and the minimum's optimisers.
    low = float(u.min())
    half = float(u.max()) / 2.0 - low / 2.0 or 1.0  # halves: no overflow near the largest float
    values = ((u / 2.0 - low / 2.0) / half).reshape(n, joint)  # in [0, 1]
    options = {
        "primal_feasibility_tolerance": min(max(tol, 1e-10), 1e-7),
        "dual_feasibility_tolerance": min(max(tol, 1e-10), 1e-7),
    }
    candidates: list[FloatArray] = []
    if objective == "utilitarian":
        cost = values.sum(axis=0)
        candidates.append(_solve(-cost if sense == "max" else cost, incentive, None, options, sense))
    elif sense == "max":
        # Epigraph: maximise t subject to t <= U_i(p) for every player.
        candidates.append(_solve(np.zeros(joint), incentive, values, options, sense))
    else:
        candidates.extend(_solve(values[i], incentive, None, options, sense) for i in range(n))
    results = [_result(game, kind, objective, sense, p) for p in candidates]
    # The first of equally good ones: max and min keep the earliest of ties.
    return (max if sense == "max" else min)(results, key=lambda result: result.welfare)


def _solve(
    cost: FloatArray,
    incentive: sp.csr_array,
    epigraph: FloatArray | None,
    options: dict[str, float],
    sense: str,
) -> FloatArray:
    """Minimise ``cost @ p`` over the polytope; with ``epigraph`` maximise ``min_i epigraph[i] @ p``.

    Returns the distribution with negatives clipped and renormalised. Welfare-minimising
    LPs go to HiGHS's interior-point solver (with crossover): on a seeded 40 x 40 game
    dual simplex took 45 s there against 5 s, while for maximising it is the other way
    round (0.3 s against 2.6 s).
    """
    joint = incentive.shape[1]
    if epigraph is None:
        c = cost
        a_ub = -incentive
        a_eq = sp.csr_array(np.ones((1, joint)))
        bounds: list[tuple[float | None, float | None]] = [(0.0, None)]
    else:
        n = epigraph.shape[0]
        c = np.concatenate([cost, [-1.0]])
        a_ub = sp.vstack(
            [
                sp.hstack([-incentive, sp.csr_array((incentive.shape[0], 1))]),
                sp.hstack([sp.csr_array(-epigraph), sp.csr_array(np.ones((n, 1)))]),
            ],
            format="csr",
        )
        a_eq = sp.csr_array(np.concatenate([np.ones(joint), [0.0]])[None, :])
        bounds = [(0.0, None)] * joint + [(None, None)]
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=np.zeros(a_ub.shape[0]),
        A_eq=a_eq,
        b_eq=np.ones(1),
        bounds=bounds,
        method="highs-ipm" if sense == "min" else "highs",
        options=options,
    )
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"correlated_equilibrium(): HiGHS failed: {res.message}")
    p = np.maximum(np.asarray(res.x[:joint], dtype=np.float64), 0.0)
    return p / p.sum()


def _result(
    game: NormalFormGame, kind: str, objective: str, sense: str, p: FloatArray
) -> CorrelatedEquilibrium:
    """The distribution with payoffs, welfare and certificate from the user's payoffs."""
    distribution = p.reshape(game.num_actions)
    payoffs = game.payoffs.reshape(game.n_players, -1) @ p
    welfare = float(payoffs.sum()) if objective == "utilitarian" else float(payoffs.min())
    return CorrelatedEquilibrium(
        kind=kind,
        distribution=distribution,
        payoffs=payoffs,
        objective=objective,
        sense=sense,
        welfare=welfare,
        max_violation=ce_violation(game, distribution, kind),
    )
