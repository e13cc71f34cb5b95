"""Service converters: every message round-trips between the solver and the client types."""

from __future__ import annotations

import numpy as np
from equilibria.client._convert import solution_set_from_proto
from equilibria.service.convert import (
    normal_form_game_from_proto,
    normal_form_game_to_proto,
    solution_set_to_proto,
)
from equilibria.service.limits import Limits
from equilibria.solver import NormalFormGame, solve


def test_normal_form_game_round_trip_keeps_payoffs_and_names() -> None:
    game = NormalFormGame(
        np.random.default_rng(0).standard_normal((2, 2, 3)),
        title="t",
        player_names=("row", "col"),
        action_names=(("u", "d"), ("l", "c", "r")),
    )
    back = normal_form_game_from_proto(normal_form_game_to_proto(game), Limits())
    assert back.id == game.id and back.title == "t"
    assert back.player_names == game.player_names and back.action_names == game.action_names


def test_solution_set_round_trip_through_the_wire() -> None:
    game = NormalFormGame.from_bimatrix([[1, 1], [0, 0]], [[1, 1], [0, 0]])
    result = solve(game, exact=True)
    client_view = solution_set_from_proto(solution_set_to_proto(result))
    assert client_view.game_id == result.game_id and client_view.complete == result.complete
    assert client_view.method == result.method and client_view.warnings == result.warnings
    assert client_view.concepts == ("nash",) and client_view.exact
    for mine, theirs in zip(client_view.equilibria, result.equilibria, strict=True):
        for s_mine, s_theirs in zip(mine.strategies, theirs.strategies, strict=True):
            np.testing.assert_array_equal(s_mine, s_theirs)
        assert mine.exact_strategies == theirs.exact_strategies
        assert mine.exact_payoffs == theirs.exact_payoffs
        assert mine.nash_conv == theirs.nash_conv and mine.components == theirs.components
        assert mine.supports == theirs.supports
    for mine_c, theirs_c in zip(client_view.components, result.components, strict=True):
        assert mine_c.equilibrium_indices == theirs_c.equilibrium_indices
        for v_mine, v_theirs in zip(mine_c.vertices, theirs_c.vertices, strict=True):
            np.testing.assert_array_equal(v_mine, v_theirs)
