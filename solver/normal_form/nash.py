"""Nash equilibrium sets: a registry of named methods and ``"auto"``.

:func:`nash_set` computes the Nash (or pure Nash) equilibria of a game with one of the
methods below, or picks one by game class and size (``"auto"``) and says why. Every
method returns a :class:`~equilibria.solver.results.SolutionSet` whose equilibria carry
their regrets. The public front door, :func:`equilibria.solver.solve`, calls it for
every concept that needs the equilibrium set.

============================  =========  ===========================================
method                        players    result
============================  =========  ===========================================
``vertex_enumeration``        2          every extreme equilibrium and the maximal
                                         Nash subsets (complete)
``lemke_howson``              2          one equilibrium (degeneracy-safe pivoting)
``zero_sum_lp``               2          one optimal strategy pair of a constant-sum
                                         game by linear programming (any size)
``gambit``                    n >= 2     mixed equilibria by pygambit's methods, each
                                         refined and re-certified (partial)
``pure_enumeration``          n >= 2     every pure equilibrium (complete for pure)
============================  =========  ===========================================

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.normal_form.nash import nash_set
>>> bos = NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
>>> [eq.payoffs.round(3).tolist() for eq in nash_set(bos).equilibria]
[[2.0, 1.0], [0.667, 0.667], [1.0, 2.0]]
>>> nash_set(bos, method="lemke_howson").complete
False
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from equilibria.solver.errors import (
    InvalidOptionError,
    UnsupportedError,
    check_time_limit,
    check_tolerance,
    quoted,
)
from equilibria.solver.game import NormalFormGame
from equilibria.solver.normal_form.bases import use_search
from equilibria.solver.normal_form.lemke_howson import lemke_howson
from equilibria.solver.normal_form.pure import pure_enumeration
from equilibria.solver.normal_form.vertex_enumeration import (
    MAX_BASES,
    count_bases,
    enumeration_seconds,
    vertex_enumeration,
)
from equilibria.solver.regret import certify, recertified
from equilibria.solver.results import Component, ConceptStatus, Equilibrium, SolutionSet, ZeroSumSolution

__all__ = ["nash_set", "METHODS", "MethodSpec", "DEFAULT_TOLERANCE", "AUTO_ENUMERATION_SECONDS"]

DEFAULT_TOLERANCE = 1e-9
#: The time budget "auto" plans a 2-player enumeration against when no time limit is given.
AUTO_ENUMERATION_SECONDS = 10.0
#: Without a time limit, an enumeration "auto" chose (estimated within the budget) stops at
#: this multiple of the budget: the estimate is a rough one, and a complete set is worth it.
AUTO_STOP_FACTOR = 3.0


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A registered Nash method.

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
    own_units : bool
        Whether it rescales each player's payoffs itself (so it runs on the user's
        game, its tolerances already in each player's own units); other methods run on
        :attr:`NormalFormGame.unit_game`.
    run : callable
        ``run(game, tol=..., exact=..., max_equilibria=..., time_limit=...) -> SolutionSet``
        (``time_limit`` in seconds or None: methods that can stop early and say so honour it).
    """

    name: str
    description: str
    complete: bool
    min_players: int
    max_players: int
    own_units: bool
    run: Callable[..., SolutionSet] = dataclasses.field(repr=False)


def _no_exact(name: str, exact: bool) -> None:
    if exact:
        raise InvalidOptionError(
            "exact", f"nash_set(): exact output is offered by vertex_enumeration, not {name}"
        )


def _run_vertex_enumeration(
    game: NormalFormGame, *, tol: float, exact: bool, max_equilibria: int, time_limit: float | None
) -> SolutionSet:
    return vertex_enumeration(
        game, tol=tol, exact=exact, max_equilibria=max_equilibria, time_limit=time_limit
    )


def _run_lemke_howson(
    game: NormalFormGame, *, tol: float, exact: bool, max_equilibria: int, time_limit: float | None
) -> SolutionSet:
    _no_exact("lemke_howson", exact)
    return lemke_howson(game, tol=tol)


def _run_pure(
    game: NormalFormGame, *, tol: float, exact: bool, max_equilibria: int, time_limit: float | None
) -> SolutionSet:
    _no_exact("pure_enumeration", exact)
    return pure_enumeration(game, tol=tol, max_equilibria=max_equilibria)


def _run_gambit(
    game: NormalFormGame, *, tol: float, exact: bool, max_equilibria: int, time_limit: float | None
) -> SolutionSet:
    _no_exact("gambit", exact)
    from equilibria.solver.normal_form.nplayer import gambit_equilibria  # pygambit loads only when used

    return gambit_equilibria(game, tol=tol, max_equilibria=max_equilibria, time_limit=time_limit)


def _run_zero_sum_lp(
    game: NormalFormGame, *, tol: float, exact: bool, max_equilibria: int, time_limit: float | None
) -> SolutionSet:
    _no_exact("zero_sum_lp", exact)
    from equilibria.solver.normal_form.zero_sum import zero_sum_value

    if not game.is_zero_sum(tol):
        raise UnsupportedError("method", "nash_set(): zero_sum_lp needs a 2-player constant-sum game")
    solution = zero_sum_value(game, tol=tol, vertices=False)
    cert = certify(game, solution.strategies)
    eq = Equilibrium(solution.strategies, cert.payoffs, cert.regrets, cert.nash_conv, components=(0,))
    return SolutionSet(
        game_id=game.id,
        equilibria=(eq,),
        components=(Component((0,), tuple(s[None, :] for s in eq.strategies)),),
        complete=False,
        method="zero_sum_lp",
        method_reason=(
            "one optimal strategy pair; the equilibrium set is the product of the two optimal-strategy "
            "polytopes"
        ),
        tolerance=tol,
        zero_sum=solution,
    )


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "vertex_enumeration",
            "every extreme Nash equilibrium of a 2-player game and the maximal Nash subsets",
            True,
            2,
            2,
            True,
            _run_vertex_enumeration,
        ),
        MethodSpec(
            "lemke_howson",
            "one Nash equilibrium of a 2-player game by lexicographic Lemke-Howson pivoting",
            False,
            2,
            2,
            True,
            _run_lemke_howson,
        ),
        MethodSpec(
            "zero_sum_lp",
            "one optimal strategy pair of a 2-player constant-sum game by linear programming",
            False,
            2,
            2,
            False,
            _run_zero_sum_lp,
        ),
        MethodSpec(
            "gambit",
            "mixed Nash equilibria of an n-player game by pygambit's methods, refined and re-certified",
            False,
            2,
            0,
            False,
            _run_gambit,
        ),
        MethodSpec(
            "pure_enumeration",
            "every pure-strategy Nash equilibrium of an n-player game",
            True,
            2,
            0,
            True,
            _run_pure,
        ),
    )
}


def _auto(
    game: NormalFormGame, concepts: tuple[str, ...], tol: float, time_limit: float | None
) -> tuple[str, str]:
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
        budget = AUTO_ENUMERATION_SECONDS if time_limit is None else time_limit
        estimate = enumeration_seconds(m, n)
        if use_search(m, n) and estimate <= budget:
            stop = _auto_enumeration_stop(time_limit)
            return (
                "vertex_enumeration",
                f"2-player {m}x{n} game: enumeration estimated at {estimate:.2g} s, within the {budget:g} s "
                f"budget (stopped at {stop:g} s if it runs over)",
            )
        if game.is_zero_sum(tol):
            return (
                "zero_sum_lp",
                f"2-player {m}x{n} constant-sum game: enumeration estimated at {estimate:.2g} s, over the "
                f"{budget:g} s budget; linear programming",
            )
        return (
            "lemke_howson",
            f"2-player {m}x{n} game: enumeration estimated at {estimate:.2g} s, over the {budget:g} s budget; "
            "one equilibrium by Lemke-Howson",
        )
    return "gambit", f"{game.n_players}-player game: pygambit's methods plus every pure equilibrium"


def _auto_enumeration_stop(time_limit: float | None) -> float:
    """Where an enumeration "auto" chose stops: the time limit, or without one
    :data:`AUTO_STOP_FACTOR` times :data:`AUTO_ENUMERATION_SECONDS`."""
    return AUTO_STOP_FACTOR * AUTO_ENUMERATION_SECONDS if time_limit is None else time_limit


def nash_set(
    game: NormalFormGame,
    concepts: tuple[str, ...] = ("nash",),
    *,
    method: str = "auto",
    tol: float = DEFAULT_TOLERANCE,
    exact: bool = False,
    max_equilibria: int = 0,
    time_limit: float | None = None,
) -> SolutionSet:
    """Nash (or pure Nash) equilibria of a game with a named method or ``"auto"``.

    Parameters
    ----------
    game : NormalFormGame
    concepts : tuple of str
        ``("nash",)``, ``("pure_nash",)`` or both.
    method : str, optional(default="auto")
        A key of :data:`METHODS`, or ``"auto"``.
    tol : float, optional(default=1e-9)
    exact : bool, optional(default=False)
        Exact rational certification (``vertex_enumeration`` only).
    max_equilibria : int, optional(default=0)
        Stop after this many equilibria (0: no limit); a truncated set is incomplete.
    time_limit : float, optional
        Seconds the methods that can stop early (vertex enumeration, ``gambit``) may
        take; past it they return what they found, incomplete. ``"auto"`` enumerates a
        2-player game when :func:`~equilibria.solver.normal_form.vertex_enumeration.enumeration_seconds`
        fits this budget (:data:`AUTO_ENUMERATION_SECONDS` without one, and the
        enumeration then stops at 3 times that); an enumeration stopped before it found
        any equilibrium is followed by Lemke-Howson for one.

    Returns
    -------
    SolutionSet
        ``method`` names the method that ran and ``method_reason`` why.

    Raises
    ------
    InvalidOptionError
        Unknown method.
    UnsupportedError
        The method does not apply to the game.
    """
    check_tolerance(tol, "nash_set")
    check_time_limit(time_limit, "nash_set")
    auto = method in ("auto", "")
    if auto:
        name, reason = _auto(game.unit_game, concepts, tol, time_limit)
    elif method in METHODS:
        name, reason = method, "requested by the caller"
    else:
        raise InvalidOptionError(
            "method",
            f"solve(): unknown method {quoted(method)}; expected 'auto' or one of {', '.join(METHODS)}",
        )
    spec = METHODS[name]
    if game.n_players < spec.min_players or (spec.max_players and game.n_players > spec.max_players):
        raise UnsupportedError(
            "method", f"solve(): method {name!r} does not accept {game.n_players}-player games"
        )
    # A method that does not rescale each player's payoffs itself works on the unit game
    # (each player's payoffs mapped onto [0, 1]: the same equilibria, tolerances in each
    # player's own units, no overflow); exact mode works on the user's numbers themselves.
    solved_on = game if exact or spec.own_units else game.unit_game
    limit = time_limit
    if auto and name == "vertex_enumeration":
        limit = _auto_enumeration_stop(time_limit)
    result = spec.run(solved_on, tol=tol, exact=exact, max_equilibria=max_equilibria, time_limit=limit)
    if name == "vertex_enumeration" and not result.equilibria and not result.complete and not exact:
        result = _one_by_lemke_howson(solved_on, result, tol)
    only_pure = "nash" not in concepts
    if only_pure and name != "pure_enumeration":
        result = _only_pure(result)
    pure_status = None
    if "pure_nash" in concepts:
        result, pure_status = _with_every_pure(solved_on, result, name, tol, max_equilibria)
    complete = result.complete  # each method claims completeness only when it proved it
    if only_pure and pure_status is not None:
        complete = pure_status.status == "answered"
    if name == "pure_enumeration" and not only_pure:
        complete = False  # mixed equilibria were not searched
    if solved_on is not game:
        result = recertified(result, game)
        if result.zero_sum is not None:
            result = dataclasses.replace(result, zero_sum=in_user_units(result.zero_sum, game, tol))
    result = dataclasses.replace(
        result,
        complete=complete,
        method_reason="; ".join(r for r in (reason, result.method_reason) if r),
        concepts=concepts,
    )
    statuses = []
    if "nash" in concepts:
        statuses.append(_nash_status(result, name))
    if pure_status is not None:
        statuses.append(pure_status)
    return dataclasses.replace(result, concept_status=tuple(statuses))


def in_user_units(solution: ZeroSumSolution, game: NormalFormGame, tol: float) -> ZeroSumSolution | None:
    """A zero-sum solution of ``game.unit_game`` in the user's units (None unless ``game`` is constant-sum).

    The optimal strategies are the same; the value is player 0's payoff at the optimal
    pair and the certificate is measured afresh, both from the user's payoffs.
    """
    if not game.is_zero_sum(tol):
        return None
    cert = certify(game, solution.strategies)
    constant = 2.0 * float(np.mean(game.payoffs[0] / 2.0 + game.payoffs[1] / 2.0))
    return dataclasses.replace(
        solution, value=float(cert.payoffs[0]), constant=constant, nash_conv=cert.nash_conv
    )


def _one_by_lemke_howson(game: NormalFormGame, stopped: SolutionSet, tol: float) -> SolutionSet:
    """Lemke-Howson's equilibrium after an enumeration that stopped before finding any."""
    found = lemke_howson(game, tol=tol)
    return dataclasses.replace(
        found,
        method="vertex_enumeration+lemke_howson",
        method_reason=f"enumeration {stopped.method_reason}, no equilibrium found; then {found.method_reason}",
        warnings=stopped.warnings + found.warnings,
    )


def _nash_status(result: SolutionSet, name: str) -> ConceptStatus:
    count = len(result.equilibria)
    found = f"{count} equilibri{'um' if count == 1 else 'a'}"
    if result.complete:
        return ConceptStatus(
            "nash",
            "answered",
            f"every equilibrium: {found} and {len(result.components)} component(s), by {name}",
        )
    return ConceptStatus("nash", "partial", f"{found}, not proved complete: {result.method_reason}")


def _with_every_pure(
    game: NormalFormGame, result: SolutionSet, name: str, tol: float, max_equilibria: int
) -> tuple[SolutionSet, ConceptStatus]:
    """Every pure equilibrium in the set (added by one pass over the joint actions when the
    method may have missed some), and the ``pure_nash`` status."""
    if name == "pure_enumeration" or (name == "vertex_enumeration" and result.complete):
        count = sum(eq.is_pure for eq in result.equilibria)
        how = "every joint action checked" if name == "pure_enumeration" else "the complete enumeration"
        if result.complete:
            return result, ConceptStatus("pure_nash", "answered", f"all {count} pure equilibria ({how})")
        return result, ConceptStatus(
            "pure_nash", "partial", f"{count} pure equilibria: {result.method_reason}"
        )
    pure = pure_enumeration(game, tol=tol)
    have = {_pure_actions(eq) for eq in result.equilibria if eq.is_pure}
    equilibria, components = list(result.equilibria), list(result.components)
    added = 0
    truncated = False
    for eq in pure.equilibria:
        if _pure_actions(eq) in have:
            continue
        if max_equilibria and len(equilibria) >= max_equilibria:
            truncated = True
            break
        k = len(equilibria)
        equilibria.append(
            dataclasses.replace(eq, components=(len(components),), found_by=("pure_enumeration",))
        )
        components.append(Component((k,), tuple(s[None, :] for s in eq.strategies)))
        added += 1
    total = len(pure.equilibria)
    result = dataclasses.replace(result, equilibria=tuple(equilibria), components=tuple(components))
    if truncated:
        status = ConceptStatus(
            "pure_nash", "partial", f"{total - added} of {total} pure equilibria left out by max_equilibria"
        )
    else:
        status = ConceptStatus(
            "pure_nash",
            "answered",
            f"all {total} pure equilibria (every joint action checked; {added} added to what {name} found)",
        )
    return result, status


def _pure_actions(eq: Equilibrium) -> tuple[int, ...]:
    return tuple(int(np.argmax(s)) for s in eq.strategies)


def _only_pure(result: SolutionSet) -> SolutionSet:
    """Restrict a solution set to its pure equilibria (each its own component)."""
    pure = [
        dataclasses.replace(eq, components=(k,))
        for k, eq in enumerate(e for e in result.equilibria if e.is_pure)
    ]
    comps = tuple(Component((k,), tuple(s[None, :] for s in eq.strategies)) for k, eq in enumerate(pure))
    return dataclasses.replace(result, equilibria=tuple(pure), components=comps, concepts=("pure_nash",))
