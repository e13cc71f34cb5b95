"""The welfare-maximising Nash equilibrium of a 2-player game by mixed-integer programming.

The mixed-integer formulation of Sandholm, Gilpin and Conitzer (2005): "``(x, y)`` is a
Nash equilibrium" as linear constraints plus one binary per action, maximising a linear
(utilitarian or egalitarian) welfare without enumerating; HiGHS solves it and the answer
is polished by an LP and re-certified from the user's payoffs. See
docs/solution-concepts.md (section "The welfare-maximising equilibrium by MILP").

Examples
--------
>>> import numpy as np
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.concepts.welfare_milp import welfare_milp
>>> eq, best = welfare_milp(NormalFormGame.from_bimatrix(np.eye(16), np.eye(16)))
>>> best.value, best.certified, eq.is_pure, eq.nash_conv
(2.0, True, True, 0.0)
>>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
>>> eq, best = welfare_milp(chicken, function="egalitarian")
>>> round(best.value, 6), eq.strategies[0].round(6).tolist()
(4.666667, [0.666667, 0.333333])

References
----------
.. [1] T. Sandholm, A. Gilpin and V. Conitzer, "Mixed-integer programming methods for
   finding Nash equilibria", Proc. AAAI 2005, 495-501.
.. [2] V. Conitzer and T. Sandholm, "New complexity results about Nash equilibria",
   Games and Economic Behavior 63 (2008) 621-641 (the welfare-maximising equilibrium
   is NP-hard to find).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from equilibria.solver._typing import FloatArray
from equilibria.solver.concepts.welfare import WELFARE_FUNCTIONS, welfare_values
from equilibria.solver.errors import (
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
    check_time_limit,
    check_tolerance,
)
from equilibria.solver.game import NormalFormGame
from equilibria.solver.regret import certify
from equilibria.solver.results import Equilibrium, WelfareOptimum
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

__all__ = ["welfare_milp", "MILP_WELFARE_FUNCTIONS"]


#: The welfare functions the MILP can optimise (the linear ones).
MILP_WELFARE_FUNCTIONS = ("utilitarian", "egalitarian")
#: Relative optimality gap asked of HiGHS (its default, 1e-4, is too loose to compare).
_MIP_REL_GAP = 1e-9
#: Feasibility tolerances of the polishing LP (HiGHS' smallest allowed values).
_POLISH_TOL = 1e-10


@dataclasses.dataclass(frozen=True)
class _Program:
    """The MILP in matrix form; variables ``x, y, u1, u2, r1, r2, s1, s2[, t]``."""

    cost: FloatArray
    matrix: sp.csr_matrix
    lower: FloatArray
    upper: FloatArray
    var_lower: FloatArray
    var_upper: FloatArray
    integrality: FloatArray
    m: int
    n: int


def welfare_milp(
    game: NormalFormGame,
    *,
    function: str = "utilitarian",
    tol: float = 1e-9,
    time_limit: float | None = None,
) -> tuple[Equilibrium, WelfareOptimum]:
    """A welfare-maximising Nash equilibrium of a 2-player game, by MILP (HiGHS).

    Parameters
    ----------
    game : NormalFormGame
        A 2-player game.
    function : str, optional(default="utilitarian")
        ``"utilitarian"`` or ``"egalitarian"`` (:data:`MILP_WELFARE_FUNCTIONS`).
    tol : float, optional(default=1e-9)
        Threshold (on payoffs rescaled to ``[0, 1]`` and on probabilities) below which
        a strategy's probability is rounded to zero when polishing; in (0, 1e-3].
    time_limit : float, optional
        Wall-clock limit of the MILP in seconds (default: none). When it is hit with an
        equilibrium in hand, that equilibrium is returned uncertified.

    Returns
    -------
    equilibrium : Equilibrium
        The equilibrium found, ``found_by=("milp",)``, with its regrets and NashConv
        measured from the user's payoffs.
    optimum : WelfareOptimum
        ``method="milp"``, ``value`` = the welfare of ``equilibrium`` in the user's
        units, ``certified`` = HiGHS proved optimality (relative gap ``1e-9``; HiGHS
        also stops at its absolute gap ``1e-6``, which scipy does not expose, measured
        in units of the span of all payoffs of both players ``max(A, B) - min(A, B)``),
        ``equilibrium_indices=()`` (no solution set is involved).

    Raises
    ------
    UnsupportedError
        For a game without exactly 2 players (field ``"method"``), or the Nash product
        (field ``"welfare"``: not linear; use enumeration).
    InvalidOptionError
        For an unknown ``function`` (field ``"welfare"``), a bad ``tol`` or
        ``time_limit``.
    ProblemTooLargeError
        If the time limit passed before any equilibrium was found.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> bos = NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
    >>> eq, best = welfare_milp(bos)
    >>> best.value, best.method, eq.is_pure
    (3.0, 'milp', True)
    """
    if not isinstance(game, NormalFormGame):
        raise InvalidOptionError(
            "game", f"welfare_milp(): expected a NormalFormGame, got {type(game).__name__}"
        )
    if game.n_players != 2:
        raise UnsupportedError(
            "method", f"welfare_milp(): needs a 2-player game, got {game.n_players} players"
        )
    if function not in WELFARE_FUNCTIONS:
        raise InvalidOptionError(
            "welfare",
            f"welfare_milp(): unknown welfare function {function!r}; expected one of "
            f"{', '.join(WELFARE_FUNCTIONS)}",
        )
    if function not in MILP_WELFARE_FUNCTIONS:
        raise UnsupportedError(
            "welfare",
            f"welfare_milp(): the {function!r} welfare is not linear and has no MILP; use "
            "welfare_optimum(solve(game), 'nash_product') over the enumerated equilibria",
        )
    check_tolerance(tol, "welfare_milp")
    check_time_limit(time_limit, "welfare_milp")
    a, b = game.bimatrix()
    program = _program(a, b, function)
    options: dict[str, float] = {"mip_rel_gap": _MIP_REL_GAP}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(
        program.cost,
        constraints=LinearConstraint(program.matrix, program.lower, program.upper),
        integrality=program.integrality,
        bounds=Bounds(program.var_lower, program.var_upper),
        options=options,
    )
    if res.x is None:
        if res.status == 1:
            raise ProblemTooLargeError(
                "time_limit",
                f"welfare_milp(): no equilibrium found within time_limit={time_limit}s ({res.message})",
            )
        raise UnsupportedError(  # pragma: no cover - every finite game has an equilibrium
            "method", f"welfare_milp(): HiGHS failed ({res.message}); use enumeration"
        )
    strategies = _polished(game, program, np.asarray(res.x, dtype=np.float64), tol)
    cert = certify(game, strategies)
    equilibrium = Equilibrium(
        strategies=strategies,
        payoffs=cert.payoffs,
        regrets=cert.regrets,
        nash_conv=cert.nash_conv,
        found_by=("milp",),
    )
    value = float(welfare_values(cert.payoffs[None, :], function)[0])
    return equilibrium, WelfareOptimum(function, value, (), "milp", bool(res.status == 0))


def _program(a: FloatArray, b: FloatArray, function: str) -> _Program:
    """Build the Sandholm-Gilpin-Conitzer MILP on payoffs rescaled to [0, 1]."""
    m, n = a.shape
    # Halves throughout: payoffs near the largest float must not overflow.
    low_a, half_a = float(a.min()), float(a.max()) / 2.0 - float(a.min()) / 2.0
    low_b, half_b = float(b.min()), float(b.max()) / 2.0 - float(b.min()) / 2.0
    a01 = (a / 2.0 - low_a / 2.0) / half_a if half_a > 0 else np.zeros_like(a)
    b01 = (b / 2.0 - low_b / 2.0) / half_b if half_b > 0 else np.zeros_like(b)
    # Tight big-M: the largest regret each action can have against any pure opponent action.
    big_m1 = (a01.max(axis=0)[None, :] - a01).max(axis=1)
    big_m2 = (b01.max(axis=1)[:, None] - b01).max(axis=0)
    egalitarian = function == "egalitarian"
    # Column offsets of the variable blocks.
    ix, iy, iu1, iu2 = 0, m, m + n, m + n + 1
    ir1 = m + n + 2
    ir2, is1 = ir1 + m, ir1 + m + n
    is2 = is1 + m
    it = is2 + n
    nvar = it + (1 if egalitarian else 0)
    im, in_ = sp.identity(m, format="csr"), sp.identity(n, format="csr")

    def block(rows: int, parts: dict[int, sp.spmatrix | FloatArray]) -> sp.csr_matrix:
        """A block row of ``rows`` rows with the given sub-matrices at the given columns."""
        out = sp.lil_matrix((rows, nvar))
        for col, part in parts.items():
            dense = part.toarray() if sp.issparse(part) else np.asarray(part)
            out[:, col : col + dense.shape[1]] = dense
        return out.tocsr()

    ones_m, ones_n = np.ones((m, 1)), np.ones((n, 1))
    rows = [
        block(m, {iy: a01, iu1: -ones_m, ir1: im}),  # A y + r1 - u1 = 0
        block(n, {ix: b01.T, iu2: -ones_n, ir2: in_}),  # B^T x + r2 - u2 = 0
        block(1, {ix: np.ones((1, m))}),  # sum x = 1
        block(1, {iy: np.ones((1, n))}),  # sum y = 1
        block(m, {ix: im, is1: im}),  # x + s1 <= 1
        block(n, {iy: in_, is2: in_}),  # y + s2 <= 1
        block(m, {ir1: im, is1: -sp.diags(big_m1)}),  # r1 - M1 s1 <= 0
        block(n, {ir2: in_, is2: -sp.diags(big_m2)}),  # r2 - M2 s2 <= 0
    ]
    lower = [np.zeros(m + n), np.ones(2), np.full(2 * (m + n), -np.inf)]
    upper = [np.zeros(m + n), np.ones(2), np.ones(m + n), np.zeros(m + n)]
    # The objective in one unit for both players: U_p = low_p + span_p u_p, measured as
    # (U_p - common_low) / common_span so that coefficients lie in [0, 1].
    common_low = min(low_a, low_b)
    common_half = max(float(a.max()), float(b.max())) / 2.0 - common_low / 2.0
    common_half = common_half if common_half > 0 else 1.0
    weight1, weight2 = half_a / common_half, half_b / common_half
    cost = np.zeros(nvar)
    if egalitarian:
        # t - w_p u_p <= (low_p - common_low) / common_span, maximise t.
        rows.append(block(1, {it: np.ones((1, 1)), iu1: np.array([[-weight1]])}))
        rows.append(block(1, {it: np.ones((1, 1)), iu2: np.array([[-weight2]])}))
        lower.append(np.full(2, -np.inf))
        upper.append(np.array([low_a / 2.0 - common_low / 2.0, low_b / 2.0 - common_low / 2.0]) / common_half)
        cost[it] = -1.0
    else:
        cost[iu1], cost[iu2] = -weight1, -weight2
    var_lower = np.zeros(nvar)
    var_upper = np.ones(nvar)
    var_upper[ir1:ir2] = big_m1
    var_upper[ir2:is1] = big_m2
    if egalitarian:
        var_upper[it] = np.inf
    integrality = np.zeros(nvar)
    integrality[is1:it] = 1
    return _Program(
        cost=cost,
        matrix=sp.vstack(rows, format="csr"),
        lower=np.concatenate(lower),
        upper=np.concatenate(upper),
        var_lower=var_lower,
        var_upper=var_upper,
        integrality=integrality,
        m=m,
        n=n,
    )


def _polished(
    game: NormalFormGame, program: _Program, solution: FloatArray, tol: float
) -> tuple[FloatArray, FloatArray]:
    """Strategies from a MILP solution: re-solve the LP with the binaries fixed, then clean up.

    The polished LP solution is kept only when its profile has a smaller NashConv than
    the MILP's own.
    """
    m, n = program.m, program.n
    is1 = m + n + 2 + m + n
    unused = np.round(solution[is1 : is1 + m + n]) > 0.5
    fixed_lower, fixed_upper = program.var_lower.copy(), program.var_upper.copy()
    fixed_lower[is1 : is1 + m + n] = fixed_upper[is1 : is1 + m + n] = unused.astype(np.float64)
    # Every row is an equality (lower == upper) or a "<= upper" row (lower == -inf).
    eq_rows = program.lower == program.upper
    res = linprog(
        program.cost,
        A_ub=program.matrix[~eq_rows],
        b_ub=program.upper[~eq_rows],
        A_eq=program.matrix[eq_rows],
        b_eq=program.lower[eq_rows],
        bounds=np.column_stack([fixed_lower, fixed_upper]),
        method="highs-ds",
        options={"primal_feasibility_tolerance": _POLISH_TOL, "dual_feasibility_tolerance": _POLISH_TOL},
    )
    candidates = [solution]
    if res.status == 0 and res.x is not None:
        candidates.append(np.asarray(res.x, dtype=np.float64))
    profiles = [(_clean(c[:m], unused[:m], tol), _clean(c[m : m + n], unused[m:], tol)) for c in candidates]
    convs = [certify(game.unit_game, p).nash_conv for p in profiles]  # in each player's own units
    return profiles[int(np.argmin(convs))]


def _clean(strategy: FloatArray, unused: npt.NDArray[np.bool_], tol: float) -> FloatArray:
    """Clip at zero, zero the unused actions and probabilities below ``tol``, renormalise."""
    out = np.clip(strategy, 0.0, None)
    out[unused | (out < tol)] = 0.0
    total = float(out.sum())
    if total <= 0.0:  # pragma: no cover - HiGHS keeps the simplex constraint
        out = np.clip(strategy, 0.0, None)
        total = float(out.sum())
    return out / total
