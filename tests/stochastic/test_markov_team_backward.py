"""Team stochastic games (``solver/stochastic/team.py``) and finite-horizon backward induction
(``solver/stochastic/backward.py``): known answers, independent oracles, certificates, errors.

Team games
* Known answers worked out by hand: a 2-state chain where the team gives up a reward
  now for a larger one later (it does exactly when ``5 gamma > 1 + gamma``), the same
  chain with horizons 1 and 2, a 3-player coordination game, a tie broken by index.
* Oracles written here in dense numpy: value iteration over joint actions to 1e-12
  (infinite horizon) and backward induction (finite horizon) on random team games with
  2 and 3 players and ragged action sets; exhaustive evaluation of every deterministic
  joint policy of small games (the optimum is the best in every state at once).

Backward induction
* Known answers: the stag hunt once (SPEC section 6: utilitarian / payoff dominance
  pick (S, S) with (4, 4), risk dominance (H, H)), the repeated prisoner's dilemma
  (unique SPE: defect in every stage), a 2-stage game in which the continuation makes
  cooperation at stage 0 an equilibrium of the stage game, battle of the sexes (no
  payoff dominance, equal deviation-loss products, utilitarian tie: all reported).
* Oracle: for T = 2, 2 states, 2 x 2 actions and rational data, backward induction in
  exact arithmetic with pygambit's ``enummixed_solve(rational=True)`` for the stage
  equilibria, branching over welfare ties; the values must be one of its branches.
* Every equilibrium returned has ``certify_markov`` state gaps <= 1e-7.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, UnsupportedError
from equilibria.solver.results import MarkovEquilibrium
from equilibria.solver.stochastic.backward import CRITERIA, backward_induction, backward_induction_set
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import certify_markov
from equilibria.solver.stochastic.team import team_optimum
from hypothesis import given, settings
from hypothesis import strategies as st

from ..games import team_chain

SETTINGS = settings(max_examples=20, deadline=None, database=None)
GAP = 1e-7


def assert_perfect(eq: MarkovEquilibrium, game: StochasticGame) -> None:
    """The returned certificate is Markov perfect, and it is the certificate of the policies."""
    assert eq.max_state_gap <= GAP, eq.state_gaps
    assert eq.nash_conv <= GAP
    fresh = certify_markov(game, eq.policies)
    np.testing.assert_allclose(fresh.values, eq.values, atol=1e-12)
    for policy, mask in zip(eq.policies, game.action_mask, strict=True):
        assert (policy[..., ~mask] == 0.0).all()
        np.testing.assert_allclose(policy.sum(axis=-1), 1.0, atol=1e-12)


# ===================================================================== team games


def chain_values(discount: float) -> tuple[int, list[float]]:
    """By hand: moving gives V0 = 5 g / (1 - g^2); waiting V0 = 1 / (1 - g); V1 = 5 + g V0."""
    move = 5 * discount / (1 - discount**2)
    wait = 1 / (1 - discount)
    v0 = max(move, wait)
    return (1 if move > wait else 0), [v0, 5 + discount * v0]


@pytest.mark.parametrize(
    "discount",
    [
        pytest.param(0.1, id="impatient-waits"),
        pytest.param(0.3, id="moves-above-1/4"),
        pytest.param(0.9, id="patient-moves"),
    ],
)
def test_team_goes_for_the_delayed_reward(discount: float) -> None:
    game = team_chain(discount)
    eq = team_optimum(game)
    action, values = chain_values(discount)
    for policy in eq.policies:
        np.testing.assert_array_equal(policy, [np.eye(2)[action], [1.0, 0.0]])
    np.testing.assert_allclose(eq.values, np.array([values, values]).T, rtol=1e-12)
    assert eq.found_by == ("team_policy_iteration",)
    assert_perfect(eq, game)


@pytest.mark.parametrize(
    ("horizon", "stage0", "stage1", "value"),
    [
        pytest.param(1, 0, None, [1.0, 5.0], id="T1-waits"),
        # t=0: move 0 + 0.9 * 5 = 4.5 beats wait 1 + 0.9 * 1 = 1.9; t=1: wait (1 > 0).
        pytest.param(2, 1, 0, [4.5, 5.9], id="T2-moves-first"),
    ],
)
def test_team_finite_horizon_known_answer(
    horizon: int, stage0: int, stage1: int | None, value: list[float]
) -> None:
    game = team_chain(0.9, horizon)
    eq = team_optimum(game)
    assert eq.policies[0].shape == (horizon, 2, 2)
    assert eq.policies[0][0, 0].tolist() == np.eye(2)[stage0].tolist()
    if stage1 is not None:
        assert eq.policies[1][1, 0].tolist() == np.eye(2)[stage1].tolist()
    np.testing.assert_allclose(eq.values[:, 0], value, rtol=1e-12)
    assert eq.found_by == ("team_backward_induction",)
    assert_perfect(eq, game)


def test_team_three_players_coordinate_on_the_best_joint_action() -> None:
    joint = np.indices((2, 2, 2))
    common = np.where((joint[0] == joint[1]) & (joint[1] == joint[2]), 1.0 + 2.0 * joint[0], 0.0)
    game = StochasticGame(np.stack([common] * 3)[None], np.ones((1, 2, 2, 2, 1)), discount=0.75)
    eq = team_optimum(game)
    assert [p.tolist() for p in eq.policies] == [[[0.0, 1.0]]] * 3
    np.testing.assert_allclose(eq.values, [[12.0, 12.0, 12.0]], rtol=1e-12)  # 3 / (1 - 0.75)
    assert_perfect(eq, game)


def test_team_ties_take_the_lowest_joint_action() -> None:
    game = StochasticGame(np.full((2, 2, 3, 2), 2.0), np.full((2, 3, 2, 2), 0.5), discount=0.5)
    eq = team_optimum(game)
    assert [p.tolist() for p in eq.policies] == [[[1.0, 0.0, 0.0]] * 2, [[1.0, 0.0]] * 2]
    np.testing.assert_allclose(eq.values, 4.0)


def random_team_game(
    rng: np.random.Generator, n: int, horizon: int | None, max_states: int = 4, max_actions: int = 3
) -> tuple[StochasticGame, np.ndarray, np.ndarray, np.ndarray]:
    """A random team game and, for the oracles, its dense reward (S, A), transitions (S, A, S), mask (S, A)."""
    n_states = int(rng.integers(1, max_states + 1))
    shape = tuple(int(k) for k in rng.integers(1, max_actions + 1, size=n))
    counts = np.stack([rng.integers(1, k + 1, size=n_states) for k in shape], axis=1)
    common = rng.normal(size=(n_states, *shape))
    weights = rng.random((n_states, *shape, n_states)) * (rng.random((n_states, *shape, n_states)) < 0.6)
    weights[..., 0] += 1e-3  # every row has mass
    transitions = weights / weights.sum(axis=-1, keepdims=True)
    discount = float(rng.uniform(0.0, 0.95)) if horizon is None else float(rng.uniform(0.0, 1.0))
    game = StochasticGame(
        np.stack([common] * n, axis=1), transitions, discount=discount, horizon=horizon, action_counts=counts
    )
    grids = np.indices(shape)
    mask = np.ones((n_states, *shape), dtype=bool)
    for i in range(n):
        mask &= grids[i][None] < counts[:, i].reshape((n_states,) + (1,) * n)
    n_joint = int(np.prod(shape))
    return (
        game,
        common.reshape(n_states, n_joint),
        transitions.reshape(n_states, n_joint, n_states),
        mask.reshape(n_states, n_joint),
    )


def value_iteration(
    reward: np.ndarray, transitions: np.ndarray, mask: np.ndarray, discount: float
) -> np.ndarray:
    """Independent oracle: V <- max_a [r + gamma P V] in dense numpy until the contraction bound is < 1e-12."""
    values = np.zeros(reward.shape[0])
    while True:
        new = np.where(mask, reward + discount * transitions @ values, -np.inf).max(axis=1)
        change = float(np.abs(new - values).max())
        values = new
        if change * discount <= 1e-12 * (1.0 - discount):
            return values


def finite_backward(
    reward: np.ndarray, transitions: np.ndarray, mask: np.ndarray, discount: float, horizon: int
) -> np.ndarray:
    values = np.zeros(reward.shape[0])
    for _ in range(horizon):
        values = np.where(mask, reward + discount * transitions @ values, -np.inf).max(axis=1)
    return values


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([2, 3]))
def test_team_matches_value_iteration(seed: int, n: int) -> None:
    game, reward, transitions, mask = random_team_game(np.random.default_rng(seed), n, None)
    eq = team_optimum(game)
    expected = value_iteration(reward, transitions, mask, game.discount)
    np.testing.assert_allclose(eq.values, np.repeat(expected[:, None], n, axis=1), atol=1e-9)
    assert_perfect(eq, game)
    assert all(set(np.unique(p)) <= {0.0, 1.0} for p in eq.policies)  # deterministic


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([2, 3]), horizon=st.integers(1, 4))
def test_team_finite_horizon_matches_dense_backward_induction(seed: int, n: int, horizon: int) -> None:
    game, reward, transitions, mask = random_team_game(np.random.default_rng(seed), n, horizon)
    eq = team_optimum(game)
    expected = finite_backward(reward, transitions, mask, game.discount, horizon)
    np.testing.assert_allclose(eq.values, np.repeat(expected[:, None], n, axis=1), atol=1e-9)
    assert eq.policies[0].shape == (horizon, game.n_states, game.num_actions[0])
    assert_perfect(eq, game)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_team_optimum_is_best_in_every_state_over_all_deterministic_policies(seed: int) -> None:
    """Exhaustive: evaluate each of the (at most 4**3) deterministic joint policies by a dense solve."""
    rng = np.random.default_rng(seed)
    game, reward, transitions, mask = random_team_game(rng, 2, None, max_states=3, max_actions=2)
    choices = [np.flatnonzero(row) for row in mask]
    eq = team_optimum(game)
    states = np.arange(game.n_states)
    best = np.full(game.n_states, -np.inf)
    for actions in itertools.product(*choices):
        a = np.array(actions)
        values = np.linalg.solve(
            np.eye(game.n_states) - game.discount * transitions[states, a], reward[states, a]
        )
        assert (eq.values[:, 0] >= values - 1e-9).all()
        best = np.maximum(best, values)
    np.testing.assert_allclose(eq.values[:, 0], best, atol=1e-9)


def test_team_optimum_rejects_bad_input() -> None:
    pd = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])
    game = StochasticGame(pd[None], np.ones((1, 2, 2, 1)), discount=0.5)
    with pytest.raises(UnsupportedError, match=r"^team_optimum\(\): rewards differ between players") as info:
        team_optimum(game)
    assert info.value.field == "game"
    with pytest.raises(InvalidOptionError) as bad_tol:
        team_optimum(team_chain(0.5), tol=0.0)
    assert bad_tol.value.field == "tolerance"
    with pytest.raises(InvalidOptionError) as bad_game:
        team_optimum(pd)  # type: ignore[arg-type]
    assert bad_game.value.field == "game"


# ===================================================================== backward induction

STAG = np.array([[[4.0, 0.0], [3.0, 3.0]], [[4.0, 3.0], [0.0, 3.0]]])
PD = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])
BOS = np.array([[[2.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 2.0]]])


def repeated(stage: np.ndarray, horizon: int, discount: float = 1.0) -> StochasticGame:
    return StochasticGame(stage[None], np.ones((1, *stage.shape[1:], 1)), discount=discount, horizon=horizon)


@pytest.mark.parametrize(
    ("criterion", "action", "payoff"),
    [
        pytest.param("utilitarian", 0, 4.0, id="utilitarian-stag"),
        pytest.param("payoff_dominance", 0, 4.0, id="payoff-dominance-stag"),
        pytest.param("egalitarian", 0, 4.0, id="egalitarian-stag"),
        pytest.param("nash_product", 0, 4.0, id="nash-product-stag"),  # (4-3)^2 = 1 > 0
        pytest.param("risk_dominance", 1, 3.0, id="risk-dominance-hare"),  # 9 > 1
    ],
)
def test_horizon_one_is_the_stage_game(criterion: str, action: int, payoff: float) -> None:
    game = repeated(STAG, 1)
    eq, (summary,) = backward_induction(game, criterion=criterion)
    assert [p.tolist() for p in eq.policies] == [[[np.eye(2)[action].tolist()]]] * 2
    np.testing.assert_allclose(eq.payoffs, [payoff, payoff], rtol=1e-12)
    assert (summary.criterion, summary.decided, summary.equilibrium_index) == (criterion, True, 0)
    assert summary.reason == f"{criterion} decided in 1 of 1 stage games"
    assert eq.found_by == (f"backward_induction:{criterion}",)
    assert_perfect(eq, game)


@pytest.mark.parametrize(
    "discount", [pytest.param(1.0, id="undiscounted"), pytest.param(0.5, id="discounted")]
)
def test_repeated_prisoners_dilemma_defects_in_every_stage(discount: float) -> None:
    game = repeated(PD, 4, discount)
    for criterion in CRITERIA:
        eq, (summary,) = backward_induction(game, criterion=criterion)
        for policy in eq.policies:
            np.testing.assert_array_equal(policy, np.tile([0.0, 1.0], (4, 1, 1)))
        total = sum(discount**t for t in range(4))
        np.testing.assert_allclose(eq.values, [[total, total]], rtol=1e-12)
        assert summary.decided
        assert "unique subgame-perfect Markov equilibrium" in summary.reason
        assert_perfect(eq, game)
    result = backward_induction_set(game, criteria=CRITERIA)
    assert result.complete and len(result.equilibria) == 1
    assert result.equilibria[0].found_by == tuple(f"backward_induction:{c}" for c in CRITERIA)


def promise_game(good: float) -> StochasticGame:
    """State 0: prisoner's dilemma; (C, C) leads to state 1 (one action each, pays ``good``),
    anything else to state 2 (pays 0). States 1 and 2 are absorbing. Starts in state 0."""
    rewards = np.zeros((3, 2, 2, 2))
    rewards[0] = PD
    rewards[1, :, 0, 0] = good
    transitions = np.zeros((3, 2, 2, 3))
    transitions[0, ..., 2] = 1.0
    transitions[0, 0, 0] = [0.0, 1.0, 0.0]
    transitions[1, ..., 1] = 1.0
    transitions[2, ..., 2] = 1.0
    return StochasticGame(
        rewards,
        transitions,
        discount=1.0,
        horizon=2,
        initial_distribution=[1.0, 0.0, 0.0],
        action_counts=[[2, 2], [1, 1], [1, 1]],
    )


@pytest.mark.parametrize(
    ("good", "criterion", "cooperate", "payoff"),
    [
        # Stage 0, state 0, with continuation: (C,C) 3 + 2.5 = 5.5, (C,D) 0, (D,C) 5, (D,D) 1:
        # a stag hunt. Both pure profiles are equilibria; (C,C) is utilitarian / payoff dominant,
        # (D,D) risk dominant: (1 - 0)^2 = 1 > (5.5 - 5)^2 = 0.25.
        pytest.param(2.5, "utilitarian", True, 5.5, id="utilitarian-cooperates"),
        pytest.param(2.5, "payoff_dominance", True, 5.5, id="payoff-dominance-cooperates"),
        pytest.param(2.5, "risk_dominance", False, 1.0, id="risk-dominance-defects"),
        # With good = 4, (C,C) 7 against 5: also risk dominant (2^2 = 4 > 1).
        pytest.param(4.0, "risk_dominance", True, 7.0, id="risk-dominance-cooperates"),
        # With good = 1, (C,C) 4 < 5: cooperation is not an equilibrium of the stage game.
        pytest.param(1.0, "utilitarian", False, 1.0, id="weak-promise-defects"),
    ],
)
def test_continuation_makes_cooperation_an_equilibrium(
    good: float, criterion: str, cooperate: bool, payoff: float
) -> None:
    game = promise_game(good)
    eq, (summary,) = backward_induction(game, criterion=criterion)
    first = 0 if cooperate else 1
    for policy in eq.policies:
        assert policy.shape == (2, 3, 2)
        assert policy[0, 0].tolist() == np.eye(2)[first].tolist()
        assert policy[1, 0].tolist() == [0.0, 1.0]  # last stage: the one-shot dilemma
        assert policy[:, 1:].tolist() == [[[1.0, 0.0]] * 2] * 2  # single-action states
    np.testing.assert_allclose(eq.payoffs, [payoff, payoff], rtol=1e-12)
    assert summary.decided
    assert_perfect(eq, game)
    # The stage game at stage 0, built from the stage-1 values of the answer, has it as an equilibrium.
    stage1 = np.array([[1.0, 1.0], [good, good], [0.0, 0.0]])
    table = game.stage_game(0, stage1).payoffs
    assert table[0, 0, 0] == pytest.approx(3.0 + good)
    assert table[0, first, first] == pytest.approx(payoff)


WHERE = "in state 1 at stage 0, state 2 at stage 0, state 1 at stage 1, state 2 at stage 1"
LAST = "in state 1 at stage 1, state 2 at stage 1"


@pytest.mark.parametrize(
    ("criterion", "decided", "fragment", "first", "value"),
    [
        # Stage 1: BoS has (2, 1), (2/3, 2/3), (1, 2); no criterion decides between the pure ones,
        # lowest index (0, 0) is taken: V_1 = (2, 1) in states 1 and 2, (1, 1) in state 0. Stage 0:
        # BoS plus the mean of V_1, (5/3, 1): (11/3, 2), (7/3, 5/3), (8/3, 3).
        pytest.param(
            "payoff_dominance",
            2,
            f"fell back to utilitarian {WHERE}",
            0,
            [11 / 3, 2.0],
            id="payoff-dominance",
        ),
        pytest.param(
            "risk_dominance", 2, f"fell back to utilitarian {WHERE}", 0, [11 / 3, 2.0], id="risk-dominance"
        ),
        pytest.param(
            "utilitarian",
            2,
            f"with different payoffs by lowest index {WHERE}",
            0,
            [11 / 3, 2.0],
            id="utilitarian-tie",
        ),
        # The egalitarian tie at stage 1 is broken at stage 0 by the continuation: min 8/3 > 2.
        pytest.param(
            "egalitarian",
            4,
            f"with different payoffs by lowest index {LAST}",
            1,
            [8 / 3, 3.0],
            id="egalitarian-tie-then-decides",
        ),
    ],
)
def test_undecided_stage_games_are_reported(
    criterion: str, decided: int, fragment: str, first: int, value: list[float]
) -> None:
    """State 0 plays the prisoner's dilemma, states 1 and 2 battle of the sexes, for two stages;
    every joint action moves to a uniformly random state, so continuations are constants."""
    rewards = np.stack([PD, BOS, BOS])
    game = StochasticGame(rewards, np.full((3, 2, 2, 3), 1 / 3), discount=1.0, horizon=2)
    eq, (summary,) = backward_induction(game, criterion=criterion)
    assert not summary.decided
    assert summary.reason.startswith(f"{criterion} decided in {decided} of 6 stage games; ")
    assert fragment in summary.reason
    for policy in eq.policies:
        np.testing.assert_array_equal(policy[1, 1:], [[1.0, 0.0]] * 2)
        np.testing.assert_array_equal(policy[0, 1:], [np.eye(2)[first]] * 2)
    np.testing.assert_allclose(eq.values[1:], [value] * 2)
    assert_perfect(eq, game)


def test_criteria_set_merges_identical_equilibria() -> None:
    game = repeated(STAG, 2)
    result = backward_induction_set(
        game, criteria=["risk_dominance", "utilitarian", "payoff_dominance", "utilitarian"]
    )
    assert [eq.payoffs.tolist() for eq in result.equilibria] == [[6.0, 6.0], [8.0, 8.0]]
    assert [(s.criterion, s.equilibrium_index, s.decided) for s in result.selections] == [
        ("risk_dominance", 0, True),
        ("utilitarian", 1, True),
        ("payoff_dominance", 1, True),
    ]
    assert result.equilibria[1].found_by == (
        "backward_induction:utilitarian",
        "backward_induction:payoff_dominance",
    )
    assert not result.complete and result.method == "backward_induction"
    for eq in result.equilibria:
        assert_perfect(eq, game)


def test_three_player_stage_games_are_partial_and_certified() -> None:
    """Three players get 1 + (3 if all pick action 1) when all pick the same action; state 1 has
    one action for player 3 (ragged). Stage sets come from pygambit: partial."""
    joint = np.indices((2, 2, 2))
    same = (joint[0] == joint[1]) & (joint[1] == joint[2])
    common = np.where(same, 1.0 + 3.0 * joint[0], 0.0)
    rewards = np.stack([np.stack([common] * 3)] * 2)
    transitions = np.zeros((2, 2, 2, 2, 2))
    transitions[..., 0] = 0.5
    transitions[..., 1] = 0.5
    game = StochasticGame(rewards, transitions, discount=0.9, horizon=2, action_counts=[[2, 2, 2], [2, 2, 1]])
    eq, (summary,) = backward_induction(game, criterion="utilitarian", time_limit=120.0)
    assert "partial" in summary.reason
    assert eq.policies[2].shape == (2, 2, 2)
    # State 0 coordinates on action 1 (4 each); in state 1 player 3 can only play 0, so (0, 0, 0).
    assert [p[:, 0].tolist() for p in eq.policies] == [[[0.0, 1.0]] * 2] * 3
    assert [p[:, 1].tolist() for p in eq.policies] == [[[1.0, 0.0]] * 2] * 3
    # V_1 = (4, 1); V_0 = (4 + 0.9 * 2.5, 1 + 0.9 * 2.5).
    np.testing.assert_allclose(eq.values[:, 0], [6.25, 3.25], rtol=1e-9)
    assert_perfect(eq, game)


# --------------------------------------------------------------------- brute-force oracle


def gambit_stage_payoffs(a: np.ndarray, b: np.ndarray) -> list[tuple[Fraction, Fraction]]:
    """Payoff vectors of every extreme equilibrium, in exact arithmetic (pygambit enummixed)."""
    game = gbt.Game.from_arrays(a, b)
    players = list(game.players)
    result = gbt.nash.enummixed_solve(game, rational=True)
    return [tuple(Fraction(str(profile.payoff(p))) for p in players) for profile in result.equilibria]


def oracle_values(
    rewards: np.ndarray, transitions: np.ndarray, discount: Fraction, horizon: int, welfare: str
) -> tuple[list[np.ndarray], bool, bool]:
    """Every value function (S, 2) backward induction can reach by breaking welfare ties; whether
    the last stage has a tie (between different payoff vectors), and whether any stage game has."""
    n_states = rewards.shape[0]
    score = sum if welfare == "utilitarian" else min
    branches = [np.full((n_states, 2), Fraction(0), dtype=object)]
    tied_last = tied_any = False
    for t in range(horizon):
        following = {}
        for values in branches:
            options = []
            for s in range(n_states):
                cont = np.dot(transitions[s], values)  # (a, b, player)
                a = rewards[s, 0] + discount * cont[..., 0]
                b = rewards[s, 1] + discount * cont[..., 1]
                payoffs = gambit_stage_payoffs(a, b)
                best = max(score(p) for p in payoffs)
                options.append(sorted({p for p in payoffs if score(p) == best}))
            tied = any(len(o) > 1 for o in options)
            tied_any |= tied
            tied_last |= tied and t == 0
            for combo in itertools.product(*options):
                following[combo] = np.array(combo, dtype=object)
        branches = list(following.values())
    return branches, tied_last, tied_any


@pytest.mark.oracle
@SETTINGS
@given(
    rewards=st.lists(st.integers(0, 6), min_size=16, max_size=16),
    weights=st.lists(st.integers(1, 3), min_size=16, max_size=16),
    discount=st.sampled_from([Fraction(1, 2), Fraction(1)]),
    welfare=st.sampled_from(["utilitarian", "egalitarian"]),
)
def test_backward_induction_matches_exact_oracle(
    rewards: list[int], weights: list[int], discount: Fraction, welfare: str
) -> None:
    r = np.array([Fraction(x) for x in rewards], dtype=object).reshape(2, 2, 2, 2)
    w = np.array([Fraction(x) for x in weights], dtype=object).reshape(2, 2, 2, 2)
    p = w / w.sum(axis=-1, keepdims=True)  # (S, a, b, S') exact
    game = StochasticGame(r.astype(float), p.astype(float), discount=float(discount), horizon=2)
    eq, (summary,) = backward_induction(game, criterion=welfare)
    branches, tied_last, tied_any = oracle_values(r, p, discount, 2, welfare)
    distances = [float(np.abs(eq.values - b.astype(float)).max()) for b in branches]
    assert min(distances) <= 1e-9, (distances, summary.reason)
    if tied_last:
        assert not summary.decided and "broke a tie" in summary.reason
    if not tied_any:
        assert summary.decided, summary.reason
    assert_perfect(eq, game)


# --------------------------------------------------------------------- errors and budget


def test_backward_induction_rejects_bad_input() -> None:
    with pytest.raises(
        UnsupportedError, match=r"^backward_induction\(\): the game has an infinite horizon"
    ) as inf:
        backward_induction(StochasticGame(PD[None], np.ones((1, 2, 2, 1)), discount=0.9))
    assert inf.value.field == "horizon"
    with pytest.raises(InvalidOptionError, match=r"unknown criterion 'logit_limit'; expected one of") as crit:
        backward_induction(repeated(PD, 2), criterion="logit_limit")
    assert crit.value.field == "criterion"
    with pytest.raises(InvalidOptionError) as crits:
        backward_induction_set(repeated(PD, 2), criteria=["utilitarian", "bogus"])
    assert crits.value.field == "criteria"
    for kwargs, field in [
        ({"tol": 0.0}, "tolerance"),
        ({"tol": 0.1}, "tolerance"),
        ({"time_limit": -1.0}, "time_limit"),
        ({"time_limit": True}, "time_limit"),
    ]:
        with pytest.raises(InvalidOptionError) as bad:
            backward_induction(repeated(PD, 2), **kwargs)  # type: ignore[arg-type]
        assert bad.value.field == field
    with pytest.raises(InvalidOptionError) as not_game:
        backward_induction(PD)  # type: ignore[arg-type]
    assert not_game.value.field == "game"


def test_time_limit_is_enforced_between_stage_games() -> None:
    with pytest.raises(
        ProblemTooLargeError, match=r"time limit of 1e-09 s exceeded after 0 of 200 stage games"
    ) as info:
        backward_induction(repeated(STAG, 200), time_limit=1e-9)
    assert info.value.field == "time_limit"
    eq, _ = backward_induction(repeated(STAG, 3), time_limit=60.0)
    np.testing.assert_allclose(eq.payoffs, [12.0, 12.0])
