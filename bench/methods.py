"""Every benchmarked method, project and anchor, behind one small interface.

A :class:`Method` turns a payoff tensor into its library's input (``prepare``, not
timed), solves (``run``, timed) and reduces the answer to an :class:`Outcome`: the
equilibria as float arrays, or a scalar value (welfare, game value). Methods are looked
up by name so that the subprocess worker (``bench.worker``) can run the same code.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Method", "Outcome", "METHODS", "get"]

FloatArray = npt.NDArray[np.float64]
Profile = tuple[FloatArray, ...]


@dataclasses.dataclass
class Outcome:
    """What a method returned, in library-neutral form."""

    equilibria: list[Profile] | None = None
    value: float | None = None
    info: str = ""

    @property
    def count(self) -> int | None:
        return None if self.equilibria is None else len(self.equilibria)


@dataclasses.dataclass(frozen=True)
class Method:
    """A named method: ``run(prepare(payoffs))`` is timed; ``extract`` reads its answer."""

    name: str
    library: str
    prepare: Callable[[FloatArray], Any]
    run: Callable[[Any], Any]
    extract: Callable[[Any, Any], Outcome]


# --------------------------------------------------------------------------- project


def _ours_game(payoffs: FloatArray) -> Any:
    from equilibria.solver import NormalFormGame

    return NormalFormGame(payoffs)


def _ours_set(result: Any, state: Any) -> Outcome:
    return Outcome(
        equilibria=[
            tuple(np.asarray(s, dtype=np.float64) for s in eq.strategies) for eq in result.equilibria
        ],
        info=f"{result.method}{'' if result.complete else ' (incomplete)'}",
    )


def _ours_solve(game: Any) -> Any:
    from equilibria.solver import solve

    return solve(game)


def _ours_vertex_enumeration(game: Any) -> Any:
    from equilibria.solver.normal_form.vertex_enumeration import vertex_enumeration

    return vertex_enumeration(game)


def _ours_lemke_howson(game: Any) -> Any:
    from equilibria.solver.normal_form.lemke_howson import lemke_howson

    return lemke_howson(game)


def _ours_lemke_howson_fresh(payoffs: FloatArray) -> Any:
    """Lemke-Howson on a game built in the timed call: a game solved once."""
    from equilibria.solver import NormalFormGame
    from equilibria.solver.normal_form.lemke_howson import lemke_howson

    return lemke_howson(NormalFormGame(payoffs))


def _ours_lh_extract(result: Any, state: Any) -> Outcome:
    out = _ours_set(result, state)
    out.info = result.method_reason + ("; " + "; ".join(result.warnings) if result.warnings else "")
    return out


def _ours_welfare_milp(game: Any) -> Any:
    from equilibria.solver.concepts.welfare_milp import welfare_milp

    return welfare_milp(game)


def _ours_solve_welfare(game: Any) -> Any:
    from equilibria.solver import solve

    return solve(game, ("welfare_nash",))


def _ours_solve_welfare_extract(result: Any, state: Any) -> Outcome:
    (optimum,) = [o for o in result.welfare_optima if o.function == "utilitarian"]
    eq = result.equilibria[optimum.equilibrium_indices[0]]
    return Outcome(
        equilibria=[tuple(eq.strategies)],
        value=float(optimum.value),
        info=f"certified={optimum.certified}; {optimum.method}",
    )


def _ours_welfare_extract(result: Any, state: Any) -> Outcome:
    eq, optimum = result
    return Outcome(
        equilibria=[tuple(eq.strategies)],
        value=float(optimum.value),
        info=f"certified={optimum.certified}",
    )


def _ours_zero_sum(game: Any) -> Any:
    from equilibria.solver.normal_form.zero_sum import zero_sum_value

    return zero_sum_value(game, vertices=False)


def _ours_zero_sum_extract(result: Any, state: Any) -> Outcome:
    return Outcome(value=float(result.value), info=f"NashConv {result.nash_conv:.1e}")


def _ours_pure(game: Any) -> Any:
    from equilibria.solver.normal_form.pure import pure_enumeration

    return pure_enumeration(game)


# --------------------------------------------------------------------------- pygambit


def _gambit_game(payoffs: FloatArray) -> Any:
    import pygambit as gbt

    return gbt.Game.from_arrays(*payoffs)


def _gambit_integer_game(payoffs: FloatArray) -> Any:
    """The game scaled to integers (exact arithmetic is much faster on small integers).

    Payoffs with at most 3 decimals are multiplied by 1000; scaling a player's payoffs
    by a positive constant leaves the equilibria unchanged.
    """
    import pygambit as gbt

    for scale in (1, 1000):
        scaled = payoffs * scale
        if np.allclose(scaled, np.round(scaled), atol=1e-9):
            return gbt.Game.from_arrays(*np.round(scaled).astype(np.int64))
    return gbt.Game.from_arrays(*payoffs)


def _gambit_profiles(result: Any, game: Any) -> Outcome:
    profiles = [
        tuple(np.array([float(eq[s]) for s in player.strategies]) for player in game.players)
        for eq in result.equilibria
    ]
    return Outcome(equilibria=profiles)


def _gambit_welfare(result: Any, game: Any) -> Outcome:
    out = _gambit_profiles(result, game)
    best = max(
        (sum(float(eq.payoff(player)) for player in game.players) for eq in result.equilibria),
        default=float("nan"),
    )
    out.value = best
    return out


def _gambit_lp_extract(result: Any, game: Any) -> Outcome:
    out = _gambit_profiles(result, game)
    players = list(game.players)
    out.value = float(result.equilibria[0].payoff(players[0])) if result.equilibria else None
    return out


def _gbt() -> Any:
    import pygambit as gbt

    return gbt.nash


def _enummixed_float(game: Any) -> Any:
    return _gbt().enummixed_solve(game, rational=False)


def _enummixed_rational(game: Any) -> Any:
    return _gbt().enummixed_solve(game, rational=True)


def _lcp_one(game: Any) -> Any:
    return _gbt().lcp_solve(game, rational=False, stop_after=1)


def _lp_float(game: Any) -> Any:
    return _gbt().lp_solve(game, rational=False)


def _enumpoly(game: Any) -> Any:
    return _gbt().enumpoly_solve(game)


def _gnm(game: Any) -> Any:
    return _gbt().gnm_solve(game)


def _simpdiv(game: Any) -> Any:
    return _gbt().simpdiv_solve(game.mixed_strategy_profile(rational=True))


def _logit(game: Any) -> Any:
    return _gbt().logit_solve(game)


# --------------------------------------------------------------------------- nashpy


def _nashpy_game(payoffs: FloatArray) -> Any:
    import nashpy

    return nashpy.Game(payoffs[0], payoffs[1])


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nashpy warns on degenerate games
        return fn()


def _nashpy_support(game: Any) -> Any:
    return _quiet(lambda: list(game.support_enumeration()))


def _nashpy_vertex(game: Any) -> Any:
    return _quiet(lambda: list(game.vertex_enumeration()))


def _nashpy_lh(game: Any) -> Any:
    return _quiet(lambda: [game.lemke_howson(initial_dropped_label=0)])


def _pairs(result: Any, game: Any) -> Outcome:
    return Outcome(equilibria=[tuple(np.asarray(s, dtype=np.float64) for s in eq) for eq in result])


# --------------------------------------------------------------------------- QuantEcon


def _quantecon_game(payoffs: FloatArray) -> Any:
    from quantecon.game_theory import NormalFormGame, Player

    return NormalFormGame((Player(payoffs[0]), Player(payoffs[1].T)))


def _quantecon_lh(game: Any) -> Any:
    from quantecon.game_theory import lemke_howson

    return lemke_howson(game, full_output=True)


def _quantecon_matrices(payoffs: FloatArray) -> tuple[FloatArray, FloatArray]:
    return payoffs[0], payoffs[1].T


def _quantecon_lh_fresh(matrices: tuple[FloatArray, FloatArray]) -> Any:
    """QuantEcon's lemke_howson on a game built in the timed call (its Players too)."""
    from quantecon.game_theory import NormalFormGame, Player, lemke_howson

    return lemke_howson(NormalFormGame((Player(matrices[0]), Player(matrices[1]))), full_output=True)


def _quantecon_extract(result: Any, game: Any) -> Outcome:
    ne, res = result
    return Outcome(
        equilibria=[tuple(np.asarray(s, dtype=np.float64) for s in ne)],
        info=f"{res.num_iter} pivots{'' if res.converged else ' (not converged)'}",
    )


# --------------------------------------------------------------------------- scipy


def _linprog_problem(payoffs: FloatArray) -> Any:
    """The row player's maximin LP: max v s.t. x^T A >= v, sum x = 1, x >= 0."""
    a = payoffs[0]
    m, n = a.shape
    c = np.zeros(m + 1)
    c[-1] = -1.0
    a_ub = np.hstack([-a.T, np.ones((n, 1))])
    a_eq = np.hstack([np.ones((1, m)), np.zeros((1, 1))])
    bounds = [(0.0, None)] * m + [(None, None)]
    return c, a_ub, np.zeros(n), a_eq, np.ones(1), bounds


def _linprog(problem: Any, method: str = "highs") -> Any:
    from scipy.optimize import linprog

    c, a_ub, b_ub, a_eq, b_eq, bounds = problem
    return linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method=method)


def _linprog_ipm(problem: Any) -> Any:
    return _linprog(problem, "highs-ipm")


def _linprog_extract(result: Any, problem: Any) -> Outcome:
    return Outcome(value=-float(result.fun), info="" if result.status == 0 else result.message)


def _none(result: Any, state: Any) -> Outcome:
    return Outcome()


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ours solve", "equilibria", _ours_game, _ours_solve, _ours_set),
        Method("ours vertex_enumeration", "equilibria", _ours_game, _ours_vertex_enumeration, _ours_set),
        Method("ours lemke_howson", "equilibria", _ours_game, _ours_lemke_howson, _ours_lh_extract),
        Method("ours lemke_howson fresh", "equilibria", np.array, _ours_lemke_howson_fresh, _ours_lh_extract),
        Method("ours welfare_milp", "equilibria", _ours_game, _ours_welfare_milp, _ours_welfare_extract),
        Method(
            "ours solve (welfare)", "equilibria", _ours_game, _ours_solve_welfare, _ours_solve_welfare_extract
        ),
        Method("ours zero_sum_value", "equilibria", _ours_game, _ours_zero_sum, _ours_zero_sum_extract),
        Method("ours pure_enumeration", "equilibria", _ours_game, _ours_pure, _ours_set),
        Method("gambit enummixed float", "pygambit", _gambit_game, _enummixed_float, _gambit_profiles),
        Method(
            "gambit enummixed rational",
            "pygambit",
            _gambit_integer_game,
            _enummixed_rational,
            _gambit_profiles,
        ),
        Method("gambit enummixed+max welfare", "pygambit", _gambit_game, _enummixed_float, _gambit_welfare),
        Method("gambit lcp", "pygambit", _gambit_game, _lcp_one, _gambit_profiles),
        Method("gambit lp", "pygambit", _gambit_game, _lp_float, _gambit_lp_extract),
        Method("gambit enumpoly", "pygambit", _gambit_game, _enumpoly, _gambit_profiles),
        Method("gambit gnm", "pygambit", _gambit_game, _gnm, _gambit_profiles),
        Method("gambit simpdiv", "pygambit", _gambit_game, _simpdiv, _gambit_profiles),
        Method("gambit logit", "pygambit", _gambit_game, _logit, _gambit_profiles),
        Method("nashpy support_enumeration", "nashpy", _nashpy_game, _nashpy_support, _pairs),
        Method("nashpy vertex_enumeration", "nashpy", _nashpy_game, _nashpy_vertex, _pairs),
        Method("nashpy lemke_howson", "nashpy", _nashpy_game, _nashpy_lh, _pairs),
        Method("quantecon lemke_howson", "quantecon", _quantecon_game, _quantecon_lh, _quantecon_extract),
        Method(
            "quantecon lemke_howson fresh",
            "quantecon",
            _quantecon_matrices,
            _quantecon_lh_fresh,
            _quantecon_extract,
        ),
        Method("scipy linprog highs", "scipy", _linprog_problem, _linprog, _linprog_extract),
        Method("scipy linprog highs-ipm", "scipy", _linprog_problem, _linprog_ipm, _linprog_extract),
    )
}


def get(name: str) -> Method:
    """The method registered under ``name``."""
    try:
        return METHODS[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}") from None
