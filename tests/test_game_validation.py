"""Malformed games and options fail loudly, with the right exception and ``field``."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import (
    InvalidGameError,
    InvalidOptionError,
    NormalFormGame,
    ProblemTooLargeError,
    SolverError,
    UnsupportedError,
    solve,
)
from equilibria.solver.game import ROUNDOFF_RANGE, max_abs_difference, positive_rescale, regret_tolerance
from equilibria.solver.normal_form import exact as exact_arith
from equilibria.solver.normal_form.lemke_howson import lemke_howson
from equilibria.solver.normal_form.vertex_enumeration import vertex_enumeration

BOS = ([[2, 0], [0, 1]], [[1, 0], [0, 2]])


def _bos() -> NormalFormGame:
    return NormalFormGame.from_bimatrix(*BOS)


def _three_players() -> NormalFormGame:
    return NormalFormGame(np.zeros((3, 2, 2, 2)))


# --------------------------------------------------------------------------- games


@pytest.mark.parametrize(
    ("make", "field"),
    [
        pytest.param(lambda: NormalFormGame(np.array([[[1.0, np.nan]], [[0.0, 0.0]]])), "payoffs", id="nan"),
        pytest.param(lambda: NormalFormGame(np.array([[[1.0, np.inf]], [[0.0, 0.0]]])), "payoffs", id="inf"),
        pytest.param(
            lambda: NormalFormGame(np.array([[[1.0, 0.0]], [[-np.inf, 0.0]]])), "payoffs", id="minus-inf"
        ),
        pytest.param(
            lambda: NormalFormGame.from_bimatrix([[1, math.nan]], [[0, 0]]), "payoffs", id="bimatrix-nan"
        ),
        pytest.param(lambda: NormalFormGame([[[1, 2], [3]], [[1, 2], [3, 4]]]), "payoffs", id="ragged"),
        pytest.param(
            lambda: NormalFormGame.from_bimatrix([[1, 2], [3]], [[1, 2], [3, 4]]),
            "payoffs",
            id="ragged-bimatrix",
        ),
        pytest.param(lambda: NormalFormGame([[["a", "b"]], [["c", "d"]]]), "payoffs", id="not-numeric"),
        pytest.param(lambda: NormalFormGame(np.zeros((2, 0, 3))), "payoffs", id="empty-actions-row"),
        pytest.param(lambda: NormalFormGame(np.zeros((2, 3, 0))), "payoffs", id="empty-actions-column"),
        pytest.param(lambda: NormalFormGame(np.zeros((1, 3))), "payoffs", id="single-player"),
        pytest.param(lambda: NormalFormGame(np.zeros((1,))), "payoffs", id="one-axis"),
        pytest.param(lambda: NormalFormGame(np.float64(1.0)), "payoffs", id="scalar"),
        pytest.param(lambda: NormalFormGame(np.zeros((3, 2, 2))), "payoffs", id="3-players-2-axes"),
        pytest.param(lambda: NormalFormGame(np.zeros((2, 2, 2, 2))), "payoffs", id="2-players-3-axes"),
        pytest.param(
            lambda: NormalFormGame.from_bimatrix([[1, 2]], [[1], [2]]), "payoffs", id="bimatrix-shapes"
        ),
        pytest.param(lambda: NormalFormGame.from_bimatrix([1, 2], [1, 2]), "payoffs", id="bimatrix-1d"),
        pytest.param(
            lambda: NormalFormGame(np.zeros((2, 2, 2)), player_names=("only one",)),
            "player_names",
            id="1-player-name",
        ),
        pytest.param(
            lambda: NormalFormGame(np.zeros((2, 2, 2)), player_names=("a", "b", "c")),
            "player_names",
            id="3-player-names",
        ),
        pytest.param(
            lambda: NormalFormGame(np.zeros((2, 2, 2)), action_names=(("u", "d"),)),
            "action_names",
            id="names-1-player",
        ),
        pytest.param(
            lambda: NormalFormGame(np.zeros((2, 2, 3)), action_names=(("u", "d"), ("l", "r"))),
            "action_names[1]",
            id="names-2-for-3-actions",
        ),
        pytest.param(
            lambda: NormalFormGame(np.zeros((2, 2, 3)), action_names=(("u", "m", "d"), ("l", "c", "r"))),
            "action_names[0]",
            id="names-3-for-2-actions",
        ),
    ],
)
def test_malformed_games_are_rejected(make, field: str) -> None:
    with pytest.raises(InvalidGameError) as info:
        make()
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SolverError)
    assert str(info.value) == info.value.message
    assert "()" in info.value.message  # names the function that raised it


def test_a_valid_game_keeps_its_names_and_is_read_only() -> None:
    source = np.array([[[2.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 2.0]]])
    game = NormalFormGame(
        source, title="bos", player_names=("row", "col"), action_names=(("O", "F"), ("O", "F"))
    )
    assert game.n_players == 2 and game.num_actions == (2, 2)
    assert game.player_names == ("row", "col")
    assert game.action_names == (("O", "F"), ("O", "F"))
    assert game.payoffs.dtype == np.float64
    with pytest.raises(ValueError):
        game.payoffs[0, 0, 0] = 5.0
    source[0, 0, 0] = 99.0  # the game holds its own copy
    assert game.payoffs[0, 0, 0] == 2.0
    assert game.id == NormalFormGame.from_bimatrix(*BOS).id


def test_bimatrix_of_a_three_player_game_is_refused() -> None:
    with pytest.raises(InvalidGameError) as info:
        _three_players().bimatrix()
    assert info.value.field == "payoffs"


# --------------------------------------------------------------------------- solve options


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        pytest.param({"method": "simplex"}, InvalidOptionError, "method", id="unknown-method"),
        pytest.param({"method": "Vertex_Enumeration"}, InvalidOptionError, "method", id="method-case"),
        pytest.param(
            {"concepts": ["nash", "evolutionary_stable"]},
            InvalidOptionError,
            "concepts",
            id="unknown-concept",
        ),
        pytest.param(
            {"concepts": ["NASH", "quantal"]}, InvalidOptionError, "concepts", id="unknown-concept-2"
        ),
        pytest.param(
            {"concepts": ["zero_sum_value"]}, UnsupportedError, "concepts", id="zero-sum-not-zero-sum"
        ),
        pytest.param(
            {"concepts": ["correlated"], "welfare": ["nash_product"]},
            UnsupportedError,
            "welfare",
            id="correlated-nash-product",
        ),
        pytest.param(
            {"concepts": ["welfare_nash"], "welfare": ["rawlsian"]},
            InvalidOptionError,
            "welfare",
            id="welfare",
        ),
        pytest.param(
            {"concepts": ["selection"], "selection": ["focal"]},
            InvalidOptionError,
            "selection",
            id="selection",
        ),
        pytest.param(
            {"concepts": ["welfare_nash"], "welfare": ["nash_product"], "disagreement": [0.0, 0.0, 0.0]},
            InvalidOptionError,
            "disagreement_point",
            id="disagreement-length",
        ),
        pytest.param(
            {"concepts": ["welfare_nash"], "disagreement": [0.0, math.inf]},
            InvalidOptionError,
            "disagreement_point",
            id="disagreement-inf",
        ),
        pytest.param({"tol": 0.0}, InvalidOptionError, "tolerance", id="tol-zero"),
        pytest.param({"tol": -1e-9}, InvalidOptionError, "tolerance", id="tol-negative"),
        pytest.param({"tol": 0.1}, InvalidOptionError, "tolerance", id="tol-too-loose"),
        pytest.param({"tol": math.nan}, InvalidOptionError, "tolerance", id="tol-nan"),
        pytest.param(
            {"method": "lemke_howson", "exact": True}, InvalidOptionError, "exact", id="exact-lemke-howson"
        ),
        pytest.param(
            {"max_equilibria": -1}, InvalidOptionError, "max_equilibria", id="max-equilibria-negative"
        ),
        pytest.param(
            {"method": "pure_enumeration", "max_equilibria": -1},
            InvalidOptionError,
            "max_equilibria",
            id="max-equilibria-negative-pure",
        ),
    ],
)
def test_bad_options_are_rejected(kwargs: dict, error: type[SolverError], field: str) -> None:
    with pytest.raises(error) as info:
        solve(_bos(), **kwargs)
    assert type(info.value) is error
    assert info.value.field == field
    assert "solve" in info.value.message or "()" in info.value.message


def test_solve_refuses_what_is_not_a_game() -> None:
    with pytest.raises(InvalidOptionError) as info:
        solve(np.zeros((2, 2, 2)))  # type: ignore[arg-type]
    assert info.value.field == "game"


@pytest.mark.parametrize("method", ["vertex_enumeration", "lemke_howson"])
def test_two_player_methods_refuse_three_players(method: str) -> None:
    with pytest.raises(UnsupportedError) as info:
        solve(_three_players(), method=method)
    assert info.value.field == "method"
    assert not isinstance(info.value, ValueError)


def test_direct_calls_refuse_three_players() -> None:
    for fn in (vertex_enumeration, lemke_howson):
        with pytest.raises(UnsupportedError) as info:
            fn(_three_players())
        assert info.value.field == "method"


@pytest.mark.parametrize("shape", [(40, 30), (32, 31)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_brute_force_enumeration_of_an_oversized_game_is_refused(shape: tuple[int, int]) -> None:
    """Over 62 actions in all the bases are enumerated by brute force: all of them, so a
    game with more than MAX_BASES is refused before any work."""
    game = NormalFormGame.from_bimatrix(np.ones(shape), np.ones(shape))
    with pytest.raises(ProblemTooLargeError) as info:
        solve(game, method="vertex_enumeration")
    assert info.value.field == "method"
    assert "brute force" in info.value.message and "lemke_howson" in info.value.message


@pytest.mark.parametrize("shape", [(20, 20), (13, 13), (30, 8)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_search_is_not_refused_for_its_worst_case(shape: tuple[int, int]) -> None:
    """The pivoting search visits the feasible bases only: a constant game's polytopes are
    simplices (m n + 1 bases), enumerated at once however many bases the worst case has."""
    game = NormalFormGame.from_bimatrix(np.ones(shape), np.ones(shape))
    result = solve(game, method="vertex_enumeration")
    assert result.complete and len(result.equilibria) == shape[0] * shape[1]


def test_the_basis_limit_is_where_the_docs_say() -> None:
    """MAX_BASES is documented as letting 13 x 12 through but not 13 x 13."""
    from equilibria.solver.normal_form.vertex_enumeration import MAX_BASES, count_bases

    assert count_bases(3, 2) == 2 * math.comb(5, 3)
    assert count_bases(13, 12) <= MAX_BASES < count_bases(13, 13)
    assert solve(
        NormalFormGame.from_bimatrix(np.eye(13, 12), np.eye(13, 12)), concepts=["pure_nash"]
    ).complete
    eye = NormalFormGame.from_bimatrix(np.eye(32, 31), np.eye(32, 31))  # 63 actions: brute force
    with pytest.raises(ProblemTooLargeError):
        vertex_enumeration(eye, max_bases=count_bases(32, 31) - 1)


IRRATIONAL_LOOKING = [
    pytest.param(np.pi, id="pi"),
    pytest.param(math.sqrt(2), id="sqrt2"),
    pytest.param(math.e / 7, id="e/7"),
]


@pytest.mark.parametrize("value", IRRATIONAL_LOOKING)
def test_exact_mode_reads_irrational_looking_payoffs_exactly(value: float) -> None:
    """A double that is no short fraction is read as its exact binary value (solver/normal_form/exact.py)
    and exact mode returns the exact equilibria of the game so read."""
    from fractions import Fraction

    game = NormalFormGame.from_bimatrix([[value, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 2.0]])
    result = solve(game, exact=True)
    assert len(result.equilibria) == 3 and result.complete
    assert {eq.exact_strategies for eq in result.equilibria if eq.is_pure} == {
        ((Fraction(1), Fraction(0)), (Fraction(1), Fraction(0))),
        ((Fraction(0), Fraction(1)), (Fraction(0), Fraction(1))),
    }
    for eq in result.equilibria:
        (x0, x1), (y0, y1) = eq.exact_strategies
        if x0 and x1:
            # Column indifference fixes x whatever a is; row indifference a * y0 = y1 fixes y
            # through the exact reading a of ``value``, which must round to ``value``.
            assert (x0, x1) == (Fraction(2, 3), Fraction(1, 3))
            assert float(y1 / y0) == value
        assert eq.nash_conv <= 1e-9 * game.payoff_scale


def test_exact_mode_reads_short_decimals_as_fractions() -> None:
    from fractions import Fraction

    game = NormalFormGame.from_bimatrix([[0.1, 0.0], [0.0, 0.2]], [[0.2, 0.0], [0.0, 0.1]])
    mixed = [eq for eq in solve(game, exact=True).equilibria if not eq.is_pure]
    assert len(mixed) == 1
    # Row mixes to make the column player indifferent: 0.2 x = 0.1 (1 - x) -> x = 1/3.
    assert mixed[0].exact_strategies == ((Fraction(1, 3), Fraction(2, 3)), (Fraction(2, 3), Fraction(1, 3)))
    assert mixed[0].exact_payoffs == (Fraction(1, 15), Fraction(1, 15))


def test_exact_mode_refuses_games_over_its_size_limit() -> None:
    game = NormalFormGame.from_bimatrix(np.ones((2, 201)), np.ones((2, 201)))
    with pytest.raises(InvalidOptionError) as info:
        solve(game, method="vertex_enumeration", exact=True, max_equilibria=1)
    assert info.value.field == "exact"


@pytest.mark.parametrize("label", [-1, 4, 100])
def test_lemke_howson_refuses_labels_out_of_range(label: int) -> None:
    with pytest.raises(InvalidOptionError) as info:
        lemke_howson(_bos(), init_label=label)
    assert info.value.field == "init_label"


@pytest.mark.parametrize(("shape", "player"), [((3, 0, 2, 2), 0), ((3, 2, 0, 2), 1), ((3, 2, 2, 0), 2)])
def test_an_empty_action_axis_names_its_player(shape: tuple[int, ...], player: int) -> None:
    with pytest.raises(InvalidGameError) as info:
        NormalFormGame(np.zeros(shape))
    assert info.value.message.endswith(f"player {player} has no actions")


@pytest.mark.parametrize(
    ("value", "read"),
    [
        (0.1, Fraction(1, 10)),
        (0.123456, Fraction(1929, 15625)),  # 123456 / 10**6
        (1 / 999_983, Fraction(1, 999_983)),  # a prime denominator just under 10**6
        (-2.5e-6, Fraction(-1, 400_000)),
        (1 / 3, Fraction(1, 3)),
    ],
)
def test_exact_mode_reads_a_double_as_the_simplest_fraction_up_to_a_millionth(
    value: float, read: Fraction
) -> None:
    assert exact_arith.read_fraction(value) == read


def test_the_shortest_decimal_is_read_exactly_when_it_is_the_closest_simple_fraction() -> None:
    """The decimal fast path answers what the closest-fraction search answers, on short and long
    decimals, tiny and huge values, and the boundary where a decimal's denominator times 10**6
    times the ulp reaches 1 (there the search runs)."""
    rng = np.random.default_rng(4)

    def searched(value: float) -> Fraction:
        simple = Fraction(value).limit_denominator(exact_arith.MAX_DENOMINATOR)
        return simple if float(simple) == value else Fraction(value)

    values = [round(float(v), k) for k in range(9) for v in rng.normal(0, 5, 300)]
    values += [float(v) * 10.0**e for e in range(-9, 10) for v in rng.random(60)]
    values += [0.0, -0.0, 1e-6, 123456.789, 2.0**52 + 0.5, 1e15 + 0.25, 5e-324, 1.7976931348623157e308]
    # Short decimals that are not the closest simple fraction (10**6 q ulp >= 1): searched.
    values += [1e10 + 0.123, 3e9 + 0.7, 12345678.901]
    assert all(Fraction(repr(v)) != searched(v) for v in values[-3:])
    for value in values:
        assert exact_arith.read_fraction(value) == searched(value), value


def test_exact_mode_reads_a_double_past_a_million_denominator_as_its_binary_value() -> None:
    value = 1 / 1_000_003  # the nearest simple fraction has a denominator over 10**6
    assert exact_arith.read_fraction(value) == Fraction(value)
    assert exact_arith.read_fraction(value).denominator == 2**71  # not 1/1_000_000, the closest within 10**6


def _tolerance_front_doors() -> dict[str, object]:
    """Every public function whose ``tol`` is relative to each player's range, on a small game."""
    from equilibria.solver import StochasticGame
    from equilibria.solver.concepts.correlated import correlated_equilibrium, welfare_range
    from equilibria.solver.concepts.logit import logit_limit_point
    from equilibria.solver.concepts.selection import logit_limit, payoff_dominance, risk_dominance
    from equilibria.solver.concepts.tracing import linear_tracing, trace
    from equilibria.solver.concepts.welfare_milp import welfare_milp
    from equilibria.solver.normal_form.nash import nash_set
    from equilibria.solver.normal_form.nplayer import gambit_equilibria
    from equilibria.solver.normal_form.pure import pure_enumeration, pure_equilibria
    from equilibria.solver.normal_form.zero_sum import zero_sum_value
    from equilibria.solver.stochastic.backward import backward_induction_set
    from equilibria.solver.stochastic.homotopy.qre import qre_homotopy
    from equilibria.solver.stochastic.solve import solve_stochastic, stochastic_maximin_values

    bos = _bos()
    found = solve(bos)
    stage = np.array([[[2.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 2.0]]])[None]
    markov = StochasticGame(stage, np.ones((1, 2, 2, 1)), discount=0.5)
    finite = StochasticGame(stage, np.ones((1, 2, 2, 1)), discount=1.0, horizon=2)
    return {
        "solve": lambda tol: solve(bos, tol=tol),
        "lemke_howson": lambda tol: lemke_howson(bos, tol=tol),
        "vertex_enumeration": lambda tol: vertex_enumeration(bos, tol=tol),
        "pure_enumeration": lambda tol: pure_enumeration(bos, tol=tol),
        "pure_equilibria": lambda tol: pure_equilibria(bos, tol=tol),
        "nash_set": lambda tol: nash_set(bos, tol=tol),
        "zero_sum_value": lambda tol: zero_sum_value(
            NormalFormGame.from_bimatrix([[1, -1], [-1, 1]]), tol=tol
        ),
        "gambit_equilibria": lambda tol: gambit_equilibria(_three_players(), tol=tol),
        "correlated_equilibrium": lambda tol: correlated_equilibrium(bos, tol=tol),
        "welfare_range": lambda tol: welfare_range(bos, tol=tol),
        "welfare_milp": lambda tol: welfare_milp(bos, tol=tol),
        "payoff_dominance": lambda tol: payoff_dominance(found, tol=tol),
        "risk_dominance": lambda tol: risk_dominance(bos, found, tol=tol),
        "logit_limit": lambda tol: logit_limit(bos, found, tol=tol),
        "logit_limit_point": lambda tol: logit_limit_point(bos, tol=tol),
        "trace": lambda tol: trace(bos, tol=tol),
        "linear_tracing": lambda tol: linear_tracing(bos, tol=tol),
        "solve_stochastic": lambda tol: solve_stochastic(markov, tol=tol),
        "stochastic_maximin_values": lambda tol: stochastic_maximin_values(markov, tol=tol),
        "backward_induction_set": lambda tol: backward_induction_set(finite, tol=tol),
        "qre_homotopy": lambda tol: qre_homotopy(markov, tol=tol),
    }


@pytest.mark.parametrize("function", sorted(_tolerance_front_doors()))
@pytest.mark.parametrize(
    "tol",
    [math.nan, 0.0, -1e-9, 1.5e-3, math.inf, "1e-9", True],
    ids=["nan", "0", "neg", "loose", "inf", "str", "bool"],
)
def test_every_front_door_refuses_a_tolerance_outside_its_range(function: str, tol: object) -> None:
    """``tol`` in (0, 1e-3] or an INVALID_ARGUMENT-style refusal naming ``tolerance`` and the
    function: a NaN tolerance once made pure enumeration return an empty set marked complete,
    and the maximin value iteration run a million rounds."""
    with pytest.raises(InvalidOptionError) as info:
        _tolerance_front_doors()[function](tol)
    assert info.value.field == "tolerance"
    named = function
    assert info.value.message.startswith(f"{named}(): tol must be in (0, 1e-3], got ")


@pytest.mark.parametrize("tol", [1e-3, np.float32(1e-6), np.float64(1e-9), 1e-12])
def test_a_tolerance_in_range_is_accepted_whatever_its_real_type(tol: object) -> None:
    assert lemke_howson(_bos(), tol=tol).equilibria
    assert solve(_bos(), tol=tol).complete


def test_shape_errors_count_players_and_actions_right() -> None:
    """The messages name the numbers the user can check: action axes (not players + 1) and
    the actions of the player whose names do not fit (axis ``1 + i``)."""
    with pytest.raises(
        InvalidGameError, match="first axis has 2 players but there are 3 action axes"
    ) as info:
        NormalFormGame(np.zeros((2, 2, 2, 2)))
    assert info.value.field == "payoffs"
    with pytest.raises(InvalidGameError, match="player 1 has 3 actions but 2 action names") as info:
        NormalFormGame(np.zeros((2, 2, 3)), action_names=(("a", "b"), ("x", "y")))
    assert info.value.field == "action_names[1]"


def test_a_game_shows_its_title_only_when_it_has_one() -> None:
    plain = NormalFormGame(np.zeros((2, 2, 3)))
    assert repr(plain) == "NormalFormGame(n_players=2, num_actions=(2, 3))"
    titled = NormalFormGame(np.zeros((2, 2, 3)), title="Chicken")
    assert repr(titled) == "NormalFormGame 'Chicken'(n_players=2, num_actions=(2, 3))"


def test_constant_sum_holds_at_exactly_the_tolerance() -> None:
    """``2 ptp(A/2 + B/2) <= tol * max range``: powers of two make both sides exact."""
    delta = 2.0**-20
    game = NormalFormGame.from_bimatrix([[0.0, 2.0]], [[0.0, -2.0 + delta]])  # A + B = (0, delta)
    assert game.player_scales.max() == 2.0
    assert game.is_zero_sum(delta / 2.0)
    assert not game.is_zero_sum(delta / 4.0)
    assert not NormalFormGame(np.zeros((3, 2, 2, 2))).is_zero_sum()  # 3 players: never


def test_the_round_off_floor_of_a_regret_tolerance_is_relative_to_the_largest_payoff() -> None:
    """With ``tol`` 0 only the floor ``ROUNDOFF_RANGE * max(|high|, |low|)`` is left."""
    assert regret_tolerance(0.0, 1e6, -3e6) == ROUNDOFF_RANGE * 3e6
    assert regret_tolerance(0.0, -5.0, -10.0) == ROUNDOFF_RANGE * 10.0
    assert regret_tolerance(0.0, 8.0, 2.0) == ROUNDOFF_RANGE * 8.0
    assert regret_tolerance(1e-3, 8.0, 2.0) == 1e-3 * 6.0
    game = NormalFormGame.from_bimatrix([[-3e6, 1e6]], [[-10.0, -5.0]])
    assert game.regret_tolerances(0.0).tolist() == [ROUNDOFF_RANGE * 3e6, ROUNDOFF_RANGE * 10.0]


def test_profiles_of_different_numbers_of_players_have_no_difference() -> None:
    assert max_abs_difference([[0.5, 0.5], [1.0]], [[0.25, 0.75], [1.0]]) == 0.25
    with pytest.raises(ValueError, match="shorter"):
        max_abs_difference([[0.5, 0.5], [1.0]], [[0.5, 0.5]])


def test_names_are_kept_as_tuples_of_strings() -> None:
    game = NormalFormGame(np.zeros((2, 2, 1)), player_names=["row", 2], action_names=[["u", 1], ["x"]])
    assert game.player_names == ("row", "2") and game.action_names == (("u", "1"), ("x",))


def test_the_content_address_reads_the_shape_and_every_payoff() -> None:
    base = NormalFormGame(np.arange(8.0).reshape(2, 2, 2))
    assert base.id == NormalFormGame(np.arange(8.0).reshape(2, 2, 2)).id
    assert base.id != NormalFormGame(np.arange(8.0).reshape(2, 1, 4)).id  # same bytes, other shape
    changed = np.arange(8.0).reshape(2, 2, 2)
    changed[1, 1, 1] = 7.5
    assert base.id != NormalFormGame(changed).id


def test_positive_rescale_maps_a_matrix_onto_low_to_low_plus_one() -> None:
    got = positive_rescale(np.array([[-4.0, 0.0], [2.0, -1.0]]))
    np.testing.assert_allclose(got, [[0.1, 0.1 + 4.0 / 6.0], [1.1, 0.6]], rtol=1e-15)
    assert positive_rescale(np.array([[3.0, 5.0]]), low=2.0).tolist() == [[2.0, 3.0]]
    assert positive_rescale(np.full((2, 2), 7.0)).tolist() == [[1.0, 1.0], [1.0, 1.0]]
