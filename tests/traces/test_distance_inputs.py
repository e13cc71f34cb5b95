"""Every refusal of the trace distances, one case per condition (issue 23).

Each check of :mod:`equilibria.solver.traces.distances` is a disjunction of conditions
(``a.ndim != 2 or a.shape[1] != k``); a case here makes exactly one of them true, and the
test matches the message of the check that must refuse it, so a condition dropped or
joined with ``and`` instead of ``or`` is caught even when a later check would refuse the
same input in other words. Also: a target's arrays are frozen copies, the caller's stay
theirs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from equilibria.solver import InvalidGameError, InvalidOptionError, NormalFormGame
from equilibria.solver.results import MarkovEquilibrium, MarkovSolutionSet, SolutionSet
from equilibria.solver.traces import (
    SolutionTarget,
    correlated_polytope,
    distance,
    distance_to_component,
    distance_to_points,
    distance_to_polyhedron,
    distance_to_set,
    profile_distance,
)
from equilibria.solver.traces.distances import _is_target_point

_E0, _HALF = np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])
_MARKOV = np.full((1, 3, 2), 0.5)  # K = 1 profile, S = 3 states, 2 actions
_RANKS = "points must be (K, a_i) or (K, S, a_i) arrays of one rank"
_DISAGREE = "point arrays disagree in K or S"
_VERTICES = "component 0 has vertex arrays"
_VECTORS = "are not vectors over one action set"
_PLAYERS_XY = "need the same number >= 2"
_AXIS = "has no action (and state) axis"
_XY_SHAPES = "but y has shape"
_A_SHAPE = "does not fit 2 joint actions"
_COMPONENT = "a component is one non-empty (V_i, a_i) vertex array per player"


def _target(*points: object, components: object = ()) -> Callable[[], object]:
    return lambda: SolutionTarget(
        points=tuple(np.asarray(p, dtype=float) for p in points), components=components
    )


_CASES = [
    # SolutionTarget
    (_target(_E0), "target", "1 players given, need >= 2"),
    (_target([1.0, 0.0], [1.0, 0.0]), "target", _RANKS),  # one rank, but 1
    (_target(np.full((1, 1, 1, 2), 0.5), np.full((1, 1, 1, 2), 0.5)), "target", _RANKS),  # one rank, but 4
    (_target(_E0, _MARKOV), "target", _RANKS),  # ranks 2 and 3
    (_target(_E0, np.vstack([_E0, _E0])), "target", _DISAGREE),  # K
    (_target(_MARKOV, np.full((1, 2, 2), 0.5)), "target", _DISAGREE),  # S
    (_target(np.zeros((1, 0)), np.zeros((1, 0))), "target", _DISAGREE),  # no action
    (_target(np.zeros((1, 3, 0)), np.zeros((1, 3, 0))), "target", _DISAGREE),  # no action, Markov
    (_target(_E0, [[0.5, 0.6]]), "target", "points[1][0] is not a probability vector"),
    (_target(_MARKOV, _MARKOV, components=((_E0, _E0),)), "target", "normal-form targets only"),
    (_target(_E0, _E0, components=((_E0,),)), "target", _VERTICES),  # one player's vertices
    (_target(_E0, _E0, components=((_E0, [1.0, 0.0]),)), "target", _VERTICES),  # a vector
    (_target(_E0, _E0, components=((_E0, np.zeros((0, 2))),)), "target", _VERTICES),  # no vertex
    (_target(_E0, _E0, components=((_E0, [[1.0, 0.0, 0.0]]),)), "target", _VERTICES),  # 3 actions
    (_target(_E0, _E0, components=((_E0, [[0.5, 0.6]]),)), "target", "components[0][1][0] is not a"),
    (_target(np.zeros((0, 2)), np.zeros((0, 2))), "target", "the set is empty"),
    (lambda: SolutionTarget.from_points([]), "target", "no profiles and no components"),
    (lambda: SolutionTarget.from_points([], components=[([1.0, 0.0], [1.0, 0.0])]), "target", _VERTICES),
    (
        lambda: SolutionTarget.from_points([(_E0[0], _E0[0]), (_E0[0],)]),
        "target",
        "different numbers of players",
    ),
    (
        lambda: SolutionTarget.from_points([(_E0[0], _E0[0]), (_E0[0], _MARKOV[0])]),
        "target",
        "inconsistent shapes",
    ),
    # distance
    (lambda: distance(0.5, [0.5, 0.5]), "q", _VECTORS),
    (lambda: distance([0.5, 0.5], 0.5), "q", _VECTORS),
    (lambda: distance([0.5, 0.5], [1.0, 0.0, 0.0]), "q", _VECTORS),
    (lambda: distance(np.zeros(0), np.zeros(0)), "q", _VECTORS),
    (lambda: distance([[0.5, 0.5]] * 2, [[0.5, 0.5]] * 3), "q", "do not broadcast"),
    (lambda: distance([0.5, 0.6], [0.5, 0.5]), "p", "p is not a probability vector"),
    (lambda: distance([0.5, 0.5], [0.5, 0.6]), "q", "q is not a probability vector"),
    # profile_distance
    (lambda: profile_distance([_HALF[0]], [_HALF[0]]), "y", _PLAYERS_XY),
    (lambda: profile_distance([_HALF[0]] * 2, [_HALF[0]] * 3), "y", _PLAYERS_XY),
    (lambda: profile_distance([0.5, _HALF[0]], [_HALF[0]] * 2), "x", _AXIS),
    (lambda: profile_distance([_HALF[0]] * 2, [_HALF[0], 0.5]), "y", _AXIS),
    (lambda: profile_distance([np.zeros(0)] * 2, [np.zeros(0)] * 2), "x", _AXIS),
    (
        lambda: profile_distance([_HALF[0]] * 2, [_HALF[0]] * 2, state_weights=[1.0]),
        "x",
        _AXIS,
    ),  # no state axis
    (lambda: profile_distance([_HALF[0]] * 2, [_HALF[0], [0.2, 0.3, 0.5]]), "y", _XY_SHAPES),
    (
        lambda: profile_distance(
            [_MARKOV[0]] * 2, [_MARKOV[0], np.full((2, 2), 0.5)], state_weights=[1.0] * 3
        ),
        "y",
        _XY_SHAPES,
    ),
    (lambda: profile_distance([_HALF[0]] * 2, [_HALF[0], [0.5, 0.7]]), "y", "y[1] is not a probability"),
    (
        lambda: profile_distance([np.vstack([_HALF] * 2)] * 2, [np.vstack([_HALF] * 3)] * 2),
        "y",
        "do not broadcast",
    ),
    (
        lambda: profile_distance([_MARKOV[0]] * 2, [_MARKOV[0]] * 2, state_weights=[1.0, 1.0]),
        "state_weights",
        "do not fit",
    ),
    # the others
    (
        lambda: distance_to_points(
            ([[0.5, 0.5]],) * 2, SolutionTarget.from_points([], components=[(_E0, np.vstack([_E0, _HALF]))])
        ),
        "points",
        "the target has no points",
    ),
    (
        lambda: distance_to_set(([[0.5, 0.5]],) * 2, "chicken"),
        "target",
        "must be a SolutionTarget or a solution set",
    ),
    (lambda: distance_to_polyhedron([0.5, 0.5], [[1.0, 0.0]], [0.0]), "joint", "joint must be (Z, A)"),
    (
        lambda: distance_to_polyhedron(np.zeros((1, 0)), np.zeros((1, 0)), [0.0]),
        "joint",
        "joint must be (Z, A)",
    ),
    (lambda: distance_to_polyhedron([[0.5, 0.5]], [1.0, 0.0], [0.0]), "A_ub", _A_SHAPE),
    (lambda: distance_to_polyhedron([[0.5, 0.5]], [[1.0, 0.0, 0.0]], [0.0]), "A_ub", _A_SHAPE),
    (lambda: distance_to_polyhedron([[0.5, 0.5]], [[1.0, 0.0]], [[0.0]]), "b_ub", "does not fit A_ub"),
    (lambda: distance_to_polyhedron([[0.5, 0.5]], [[np.inf, 0.0]], [0.0]), "A_ub", "non-finite entry"),
    (lambda: distance_to_polyhedron([[0.5, 0.5]], [[1.0, 0.0]], [np.nan]), "A_ub", "non-finite entry"),
    (lambda: correlated_polytope("chicken"), "game", "expected a NormalFormGame"),
    (lambda: distance_to_component(([[0.5, 0.5]],) * 2, (_E0,)), "component", _COMPONENT),  # one player
    (lambda: distance_to_component(([[0.5, 0.5]],) * 2, (_E0, [1.0, 0.0])), "component", _COMPONENT),
    (lambda: distance_to_component(([[0.5, 0.5]],) * 2, (_E0, np.zeros((0, 2)))), "component", _COMPONENT),
    (lambda: distance_to_component(([[0.5, 0.5]],) * 2, (_E0, np.zeros((1, 0)))), "component", _COMPONENT),
    (
        lambda: distance_to_component(([[0.5, 0.5]],) * 2, (_E0, [[0.5, 0.6]])),
        "component",
        "component[1][0] is not",
    ),
    (lambda: distance_to_component(([[0.5, 0.5]],) * 2, 3), "component", "component must be vertex arrays"),
]


@pytest.mark.parametrize(("call", "field", "message"), _CASES)
def test_each_condition_is_refused_by_its_own_check(
    call: Callable[[], object], field: str, message: str
) -> None:
    with pytest.raises(InvalidGameError) as info:
        call()
    assert info.value.field == field
    assert message in info.value.message, info.value.message


def test_an_unknown_correlated_kind_is_an_option_error() -> None:
    game = NormalFormGame.from_bimatrix([[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(InvalidOptionError, match="unknown kind 'nash'") as info:
        correlated_polytope(game, "nash")
    assert info.value.field == "concepts" and info.value.message.startswith("correlated_polytope()")


def test_solution_sets_without_equilibria_or_with_per_stage_policies_are_refused() -> None:
    empty = SolutionSet(game_id="g", equilibria=(), components=(), complete=False, method="m")
    with pytest.raises(InvalidGameError, match="has no equilibria"):
        SolutionTarget.from_solution_set(empty)
    with pytest.raises(InvalidGameError, match="expected a SolutionSet, got str"):
        SolutionTarget.from_solution_set("chicken")  # type: ignore[arg-type]
    markov_empty = MarkovSolutionSet(game_id="g", equilibria=(), complete=False, method="m")
    with pytest.raises(InvalidGameError, match="has no equilibria"):
        SolutionTarget.from_solution_set(markov_empty)
    per_stage = MarkovEquilibrium(
        policies=(np.full((4, 3, 2), 0.5), np.full((4, 3, 2), 0.5)),  # (T, S, a_i)
        values=np.zeros((3, 2)),
        payoffs=np.zeros(2),
        regrets=np.zeros(2),
        nash_conv=0.0,
        state_gaps=np.zeros(3),
    )
    finite = MarkovSolutionSet(game_id="g", equilibria=(per_stage,), complete=True, method="m")
    with pytest.raises(InvalidGameError, match="policies are not stationary") as info:
        SolutionTarget.from_solution_set(finite)
    assert info.value.field == "target"


def test_one_action_is_a_distribution_too() -> None:
    """A player (or a joint distribution) with a single action is at distance 0."""
    assert float(distance([1.0], [1.0], "kl")) == 0.0
    assert distance_to_polyhedron([[1.0]], [[0.0]], [0.0]).tolist() == [0.0]
    assert profile_distance([[1.0], [0.5, 0.5]], [[1.0], [0.5, 0.5]]).tolist() == 0.0


def test_a_target_freezes_its_own_copies_and_leaves_the_callers_arrays_alone() -> None:
    mine = [np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])]
    vertex = np.array([[1.0, 0.0], [0.0, 1.0]])
    target = SolutionTarget(points=tuple(mine), components=((mine[0], vertex),))
    for arr in (*target.points, *target.components[0]):
        assert not arr.flags.writeable
    mine[0][0, 0], vertex[0, 0] = 0.25, 0.25  # the caller's arrays stay writeable ...
    assert target.points[0][0, 0] == 1.0 and target.components[0][1][0, 0] == 1.0  # ... and apart
    assert target.complete is True
    partial = SolutionTarget(points=target.points, complete=np.bool_(False))
    assert partial.complete is False  # a plain bool, whatever the caller passed


def test_a_markov_targets_shape_is_read_from_the_right_axes() -> None:
    target = SolutionTarget(points=(np.full((2, 3, 4), 0.25), np.full((2, 3, 5), 0.2)))
    assert (target.n_points, target.n_states, target.num_actions) == (2, 3, (4, 5))


def test_a_one_vertex_component_is_recognised_as_a_target_point_only_when_it_is_one() -> None:
    """Trace scoring and :func:`distance_to_set` cost such components once, as the point."""
    e0, e1 = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    target = SolutionTarget(points=(np.vstack([e0, e1]), np.vstack([e1, e1])))
    assert _is_target_point(target, (e0, e1)) and _is_target_point(target, (e1, e1))  # first, second
    assert not _is_target_point(target, (e0, e0))  # player 0 of the first, player 1 of neither
    assert not _is_target_point(target, (e1, e0))
    single = SolutionTarget(points=(e0, e1))
    assert _is_target_point(single, (e0, e1)) and not _is_target_point(single, (e1, e1))
    components_only = SolutionTarget(points=(np.zeros((0, 2)), np.zeros((0, 2))), components=((e0, e1),))
    assert not _is_target_point(components_only, (e0, e1))


_GOOD = (np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
_OPTION_CALLS = {
    "distance()": lambda metric, aggregate: distance(_HALF[0], _E0[0], metric),
    "profile_distance()": lambda metric, aggregate: profile_distance(_GOOD, _GOOD, metric, aggregate),
    "distance_to_points()": lambda metric, aggregate: distance_to_points(_GOOD, _GOOD, metric, aggregate)[0],
    "distance_to_component()": lambda metric, aggregate: distance_to_component(
        _GOOD, (_E0, np.eye(2)), metric, aggregate
    ),
    "distance_to_set()": lambda metric, aggregate: (
        distance_to_set(_GOOD, SolutionTarget(points=_GOOD), metric, aggregate).distances
    ),
    "distance_to_polyhedron()": lambda metric, aggregate: distance_to_polyhedron(
        [[0.25] * 4], [[1.0, 0.0, 0.0, 0.0]], [1.0], metric
    ),
}


@pytest.mark.parametrize("function", sorted(_OPTION_CALLS))
def test_unknown_metrics_and_aggregates_are_option_errors_naming_the_function(function: str) -> None:
    call = _OPTION_CALLS[function]
    assert np.all(np.asarray(call("tv", "max")) >= 0.0)  # the call is well-formed otherwise
    with pytest.raises(InvalidOptionError, match="unknown metric 'cosine'") as info:
        call("cosine", "max")
    assert info.value.field == "metric" and info.value.message.startswith(function)
    if function not in ("distance()", "distance_to_polyhedron()"):
        with pytest.raises(InvalidOptionError, match="unknown aggregate 'mean'") as info:
            call("tv", "mean")
        assert info.value.field == "aggregate" and info.value.message.startswith(function)
