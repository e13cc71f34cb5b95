"""The solver's front door: ``solve(game, concepts=..., method="auto", ...)``.

One function for every Nash computation, a registry of named methods, and ``"auto"``,
which picks a method by game class and size and says why. Every method returns a
:class:`~equilibria.solver.results.SolutionSet` whose equilibria carry their regrets.

============================  =========  ===========================================
method                        players    result
============================  =========  ===========================================
``vertex_enumeration``        2          every extreme equilibrium and the maximal
                                         Nash subsets (complete)
``lemke_howson``              2          one equilibrium (degeneracy-safe pivoting)
``pure_enumeration``          n >= 2     every pure equilibrium (complete for pure)
============================  =========  ===========================================

Examples
--------
>>> from equilibria.solver import NormalFormGame, solve
>>> bos = NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
>>> [eq.payoffs.round(3).tolist() for eq in solve(bos).equilibria]
[[2.0, 1.0], [0.667, 0.667], [1.0, 2.0]]
>>> solve(bos, method="lemke_howson").complete
False
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable

from equilibria.solver.errors import InvalidOptionError, UnsupportedError
from equilibria.solver.game import NormalFormGame
from equilibria.solver.lemke_howson import lemke_howson
from equilibria.solver.pure import pure_enumeration
from equilibria.solver.results import Component, SolutionSet
from equilibria.solver.vertex_enumeration import MAX_BASES, count_bases, vertex_enumeration

__all__ = ["solve", "METHODS", "CONCEPTS", "MethodSpec", "DEFAULT_TOLERANCE"]

DEFAULT_TOLERANCE = 1e-9

#: Solution concepts the solver understands; those not yet computable raise UnsupportedError.
CONCEPTS = (
    "nash",
    "pure_nash",
    "pareto_nash",
    "welfare_nash",
    "correlated",
    "coarse_correlated",
    "zero_sum_value",
    "selection",
)
_COMPUTABLE = {"nash", "pure_nash"}


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A registered solver method.

    Attributes
    ----------
    name : str
        Name to pass as ``method``.
    description : str
        What it computes.
    complete : bool
        Whether it returns every equilibrium of its concept.
    min_players, max_players : int
        Player counts it accepts (``max_players=0``: no bound).
    run : callable
        ``run(game, tol=..., exact=..., max_equilibria=...) -> SolutionSet``.
    """

    name: str
    description: str
    complete: bool
    min_players: int
    max_players: int
    run: Callable[..., SolutionSet] = dataclasses.field(repr=False)


def _run_vertex_enumeration(
    game: NormalFormGame, *, tol: float, exact: bool, max_equilibria: int
) -> SolutionSet:
    return vertex_enumeration(game, tol=tol, exact=exact, max_equilibria=max_equilibria)


def _run_lemke_howson(game: NormalFormGame, *, tol: float, exact: bool, max_equilibria: int) -> SolutionSet:
    if exact:
        raise InvalidOptionError("exact", "solve(): exact output is offered by vertex_enumeration only")
    return lemke_howson(game, tol=tol)


def _run_pure(game: NormalFormGame, *, tol: float, exact: bool, max_equilibria: int) -> SolutionSet:
    return pure_enumeration(game, tol=tol, max_equilibria=max_equilibria)


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "vertex_enumeration",
            "every extreme Nash equilibrium of a 2-player game and the maximal Nash subsets",
            True,
            2,
            2,
            _run_vertex_enumeration,
        ),
        MethodSpec(
            "lemke_howson",
            "one Nash equilibrium of a 2-player game by lexicographic Lemke-Howson pivoting",
            False,
            2,
            2,
            _run_lemke_howson,
        ),
        MethodSpec(
            "pure_enumeration",
            "every pure-strategy Nash equilibrium of an n-player game",
            True,
            2,
            0,
            _run_pure,
        ),
    )
}


def _normalise_concepts(concepts: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(str(c).lower() for c in concepts)) or ("nash",)
    for concept in wanted:
        if concept not in CONCEPTS:
            raise InvalidOptionError(
                "concepts", f"solve(): unknown concept {concept!r}; expected one of {', '.join(CONCEPTS)}"
            )
        if concept not in _COMPUTABLE:
            raise UnsupportedError(
                "concepts",
                f"solve(): concept {concept!r} is not available yet; available: {', '.join(sorted(_COMPUTABLE))}",
            )
    return wanted


def _auto(game: NormalFormGame, concepts: tuple[str, ...]) -> tuple[str, str]:
    """The method "auto" picks, and why."""
    if concepts == ("pure_nash",):
        return "pure_enumeration", "only pure equilibria were asked for: one vectorised pass"
    if game.n_players == 2:
        m, n = game.num_actions
        bases = count_bases(m, n)
        if bases <= MAX_BASES:
            return (
                "vertex_enumeration",
                f"2-player {m}x{n} game: {bases:,} bases is small enough to enumerate",
            )
        return (
            "lemke_howson",
            f"2-player {m}x{n} game: {bases:,} bases is too many to enumerate; one equilibrium by Lemke-Howson",
        )
    return (
        "pure_enumeration",
        f"{game.n_players}-player game: only pure equilibria are computed for n > 2 so far; "
        "mixed equilibria may exist and the set is partial",
    )


def solve(
    game: NormalFormGame,
    concepts: Iterable[str] = ("nash",),
    *,
    method: str = "auto",
    tol: float = DEFAULT_TOLERANCE,
    exact: bool = False,
    max_equilibria: int = 0,
) -> SolutionSet:
    """Solve a game for the requested solution concepts.

    Parameters
    ----------
    game : NormalFormGame
    concepts : iterable of str, optional(default=("nash",))
        Any of :data:`CONCEPTS`; today ``"nash"`` and ``"pure_nash"`` are computable.
    method : str, optional(default="auto")
        A key of :data:`METHODS`, or ``"auto"`` to choose by game class and size.
    tol : float, optional(default=1e-9)
        Tolerance for tightness, feasibility and best responses (relative to the
        payoff scale).
    exact : bool, optional(default=False)
        Exact rational certification (``vertex_enumeration`` only).
    max_equilibria : int, optional(default=0)
        Stop after this many equilibria (0: no limit); a truncated set is incomplete.

    Returns
    -------
    SolutionSet
        ``method`` names the method that ran and ``method_reason`` why.

    Raises
    ------
    InvalidOptionError
        For an unknown method or concept, or a bad tolerance.
    UnsupportedError
        When the method does not apply to the game or a concept is not available.
    """
    started = time.perf_counter()
    if not isinstance(game, NormalFormGame):
        raise InvalidOptionError("game", f"solve(): expected a NormalFormGame, got {type(game).__name__}")
    if not (0.0 < tol <= 1e-3):
        raise InvalidOptionError("tolerance", f"solve(): tol must be in (0, 1e-3], got {tol}")
    wanted = _normalise_concepts(concepts)
    if method in ("auto", ""):
        name, reason = _auto(game, wanted)
    elif method in METHODS:
        name, reason = method, "requested by the caller"
    else:
        raise InvalidOptionError(
            "method", f"solve(): unknown method {method!r}; expected 'auto' or one of {', '.join(METHODS)}"
        )
    spec = METHODS[name]
    if game.n_players < spec.min_players or (spec.max_players and game.n_players > spec.max_players):
        raise UnsupportedError(
            "method", f"solve(): method {name!r} does not accept {game.n_players}-player games"
        )
    result = spec.run(game, tol=tol, exact=exact, max_equilibria=max_equilibria)
    if wanted == ("pure_nash",) and name != "pure_enumeration":
        result = _only_pure(result)
    complete = result.complete and (spec.complete or wanted == ("pure_nash",))
    if name == "pure_enumeration" and "nash" in wanted:
        complete = False  # mixed equilibria were not searched
    return dataclasses.replace(
        result,
        complete=complete,
        method_reason="; ".join(r for r in (reason, result.method_reason) if r),
        concepts=wanted,
        elapsed_seconds=time.perf_counter() - started,
    )


def _only_pure(result: SolutionSet) -> SolutionSet:
    """Restrict a solution set to its pure equilibria (each its own component)."""
    pure = [
        dataclasses.replace(eq, components=(k,))
        for k, eq in enumerate(e for e in result.equilibria if e.is_pure)
    ]
    comps = tuple(Component((k,), tuple(s[None, :] for s in eq.strategies)) for k, eq in enumerate(pure))
    return dataclasses.replace(result, equilibria=tuple(pure), components=comps)
