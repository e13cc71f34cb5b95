"""Credit assignment (:mod:`equilibria.solver.concepts.credit`): known answers worked by hand,
the Shapley values against their permutation definition and the difference rewards against a
loop over joint actions (both written here, independently of the module), efficiency, scale
and shift, the refusals, and per-state credits of stochastic team games against value
iteration and backward induction written here."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, solve, solve_stochastic
from equilibria.solver.concepts import credit as module
from equilibria.solver.concepts.credit import CreditOptions, credit_assignment, stochastic_credit_assignment
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError
from equilibria.solver.stochastic.game import StochasticGame

CLIMBING = np.array([[11, -30, 0], [-30, 7, 6], [0, 0, 5]], dtype=float)


def _team_game(g: np.ndarray) -> NormalFormGame:
    """The common-payoff game whose every player's payoff is ``g``."""
    g = np.asarray(g, dtype=float)
    return NormalFormGame(np.stack([g] * g.ndim))


def _credit(g: np.ndarray, policy, **options):
    options.setdefault("counterfactual", "aristocrat")  # the cases below name "action" when they mean it
    return credit_assignment(_team_game(g), policy, CreditOptions(**options))


# -- oracles: plain loops over joint actions and over orderings of the agents ----------------------


def _joint_of(policy, shape) -> np.ndarray:
    if isinstance(policy, np.ndarray):
        return policy
    joint = np.zeros(shape)
    for a in itertools.product(*map(range, shape)):
        joint[a] = math.prod(policy[i][a[i]] for i in range(len(shape)))
    return joint


def _marginal(joint: np.ndarray, i: int) -> np.ndarray:
    out = np.zeros(joint.shape[i])
    for a in itertools.product(*map(range, joint.shape)):
        out[a[i]] += joint[a]
    return out


def _coalition_value(g: np.ndarray, joint: np.ndarray, defaults, members) -> float:
    """``v(C) = Σ_a p(a) G(a_C, c_{-C})``: the others clamped to their defaults."""
    total = 0.0
    for a in itertools.product(*map(range, g.shape)):
        clamped = tuple(a[i] if i in members else defaults[i] for i in range(g.ndim))
        total += joint[a] * g[clamped]
    return total


def _shapley_by_permutations(g: np.ndarray, joint: np.ndarray, defaults) -> np.ndarray:
    """Each agent's marginal contribution averaged over all n! orders of arrival."""
    n = g.ndim
    memo: dict[frozenset[int], float] = {}

    def v(members: frozenset[int]) -> float:
        if members not in memo:
            memo[members] = _coalition_value(g, joint, defaults, members)
        return memo[members]

    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        members: frozenset[int] = frozenset()
        for i in order:
            phi[i] += v(members | {i}) - v(members)
            members = members | {i}
    return phi / math.factorial(n)


def _differences_by_loop(g: np.ndarray, joint: np.ndarray, defaults, counterfactual: str):
    """``D_i(a)`` at every joint action and its expectation, by direct loops."""
    n = g.ndim
    tensors = np.zeros((n, *g.shape))
    for i in range(n):
        marginal = _marginal(joint, i)
        for a in itertools.product(*map(range, g.shape)):
            if counterfactual == "aristocrat":
                base = sum(marginal[c] * g[a[:i] + (c,) + a[i + 1 :]] for c in range(g.shape[i]))
            else:
                base = g[a[:i] + (defaults[i],) + a[i + 1 :]]
            tensors[(i, *a)] = g[a] - base
    expected = np.array([sum(joint[a] * tensors[(i, *a)] for a in np.ndindex(g.shape)) for i in range(n)])
    return tensors, expected


def _random_policy(rng: np.random.Generator, shape, kind: str):
    if kind == "product":
        return tuple(rng.dirichlet(np.ones(k)) for k in shape)
    joint = rng.dirichlet(np.ones(math.prod(shape))).reshape(shape)
    joint[(0,) * len(shape)] = 0.0  # a zero in the support too
    return joint / joint.sum()


# -- known answers, by hand -------------------------------------------------------------------------


@pytest.mark.parametrize("counterfactual", ["aristocrat", "action"])
@pytest.mark.parametrize("kind", ["product", "joint"])
def test_an_agent_whose_action_never_matters_gets_no_credit(counterfactual: str, kind: str) -> None:
    # G(a_0, a_1) = f(a_0): agent 1's action changes nothing.
    g = np.array([[1.0, 1.0, 1.0], [5.0, 5.0, 5.0]])
    policy = (
        (np.array([0.25, 0.75]), np.array([0.2, 0.3, 0.5]))
        if kind == "product"
        else np.array([[0.1, 0.0, 0.15], [0.3, 0.45, 0.0]])
    )
    credit = _credit(g, policy, counterfactual=counterfactual, default_actions=(0, 2))
    assert credit.correlated == (kind == "joint")
    np.testing.assert_array_equal(credit.difference_tensors[1], 0.0)
    assert credit.difference_rewards[1] == 0.0 and credit.shapley_values[1] == 0.0
    # E[G] = 1 + 4 p(a_0 = 1) = 4 for both policies (p(a_0 = 1) = 0.75); G(c) = f(0) = 1: agent 0 takes all 3.
    assert credit.team_return == pytest.approx(4.0, abs=1e-15)
    assert credit.coalition_baseline == 1.0
    assert credit.shapley_values[0] == pytest.approx(3.0, abs=1e-15)
    # Agent 0: D_0(a) = f(a_0) - f(0) (action) or f(a_0) - E f = f(a_0) - 4 (aristocrat).
    expected = (
        np.array([[0.0] * 3, [4.0] * 3]) if counterfactual == "action" else np.array([[-3.0] * 3, [1.0] * 3])
    )
    np.testing.assert_allclose(credit.difference_tensors[0], expected, atol=1e-15)
    assert credit.difference_rewards[0] == pytest.approx(
        3.0 if counterfactual == "action" else 0.0, abs=1e-15
    )


def test_climbing_game_at_a_pure_profile() -> None:
    first = np.array([1.0, 0.0, 0.0])
    credit = _credit(CLIMBING, (first, first), default_actions=(1, 2))
    assert credit.team == "common" and credit.team_return == 11.0
    # Aristocrat at a pure policy: the counterfactual is the policy's own action 0.
    # D_0(a) = G(a) - G(0, a_1); D_1(a) = G(a) - G(a_0, 0).
    np.testing.assert_array_equal(credit.difference_tensors[0], [[0, 0, 0], [-41, 37, 6], [-11, 30, 5]])
    np.testing.assert_array_equal(credit.difference_tensors[1], [[0, -41, -11], [0, 37, 36], [0, 0, 5]])
    np.testing.assert_array_equal(credit.difference_rewards, [0.0, 0.0])
    # Shapley with c = (1, 2): v(∅) = G(1, 2) = 6, v({0}) = G(0, 2) = 0, v({1}) = G(1, 0) = -30,
    # v(N) = G(0, 0) = 11. φ_0 = ½(0 - 6) + ½(11 + 30) = 17.5; φ_1 = ½(-30 - 6) + ½(11 - 0) = -12.5.
    np.testing.assert_array_equal(credit.coalition_values, [6.0, 0.0, -30.0, 11.0])
    np.testing.assert_array_equal(credit.shapley_values, [17.5, -12.5])
    # c = (2, 2): v(∅) = 5, v({0}) = G(0, 2) = 0, v({1}) = G(2, 0) = 0: φ = ½(-5) + ½(11) = 3 each.
    clamped = _credit(CLIMBING, (first, first), counterfactual="action", default_actions=(2, 2))
    np.testing.assert_array_equal(clamped.shapley_values, [3.0, 3.0])
    # Clamped difference rewards at (0, 0): 11 - G(2, 0) = 11 and 11 - G(0, 2) = 11.
    np.testing.assert_array_equal(clamped.difference_rewards, [11.0, 11.0])
    assert (
        clamped.difference_tensors[0, 1, 1] == 7.0 - 0.0 and clamped.difference_tensors[1, 1, 1] == 7.0 - 6.0
    )


def test_climbing_game_at_a_mixed_product_policy() -> None:
    x0, x1 = np.array([0.5, 0.25, 0.25]), np.array([0.5, 0.5, 0.0])
    credit = _credit(CLIMBING, (x0, x1))
    # Row expectations under x1: -9.5, -11.5, 0; column expectations under x0: -2, -13.25, 2.75.
    # E[G] = ½(-9.5) + ¼(-11.5) + ¼(0) = -7.625.
    assert credit.team_return == pytest.approx(-7.625, abs=1e-14)
    # Aristocrat: D_0(a) = G(a) - column expectation, D_1(a) = G(a) - row expectation.
    assert credit.difference_tensors[0, 0, 0] == pytest.approx(11 + 2, abs=1e-14)
    assert credit.difference_tensors[0, 1, 1] == pytest.approx(7 + 13.25, abs=1e-14)
    assert credit.difference_tensors[1, 0, 0] == pytest.approx(11 + 9.5, abs=1e-14)
    assert credit.difference_tensors[1, 2, 2] == pytest.approx(5 - 0, abs=1e-14)
    # ... whose expectation under a product policy is zero (COMA's baseline).
    np.testing.assert_allclose(credit.difference_rewards, 0.0, atol=1e-14)
    # c = (0, 0): v(∅) = 11, v({0}) = column 0's expectation -2, v({1}) = row 0's -9.5, v(N) = -7.625.
    # φ_0 = ½(-2 - 11) + ½(-7.625 + 9.5) = -5.5625; φ_1 = ½(-9.5 - 11) + ½(-7.625 + 2) = -13.0625.
    np.testing.assert_allclose(credit.coalition_values, [11.0, -2.0, -9.5, -7.625], atol=1e-14)
    np.testing.assert_allclose(credit.shapley_values, [-5.5625, -13.0625], atol=1e-14)
    # Clamped at c = (0, 0): E[D_0] = E[G] - E[G(0, a_1)] = -7.625 + 9.5; E[D_1] = -7.625 + 2.
    clamped = _credit(CLIMBING, (x0, x1), counterfactual="action")
    np.testing.assert_allclose(clamped.difference_rewards, [1.875, -5.625], atol=1e-14)


def test_aristocrat_difference_rewards_measure_correlation() -> None:
    # Coordination: G = 1 when the actions match. Half on (0, 0), half on (1, 1): E[G] = 1;
    # each marginal is uniform, so G(a_{-i}, c_i) averages ½: E[D_i] = 1 - ½ for both agents.
    joint = np.array([[0.5, 0.0], [0.0, 0.5]])
    credit = _credit(np.eye(2), joint)
    np.testing.assert_allclose(credit.difference_rewards, [0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(credit.difference_tensors[0], [[0.5, -0.5], [-0.5, 0.5]], atol=1e-15)
    # Its product of marginals: no correlation, zero expected difference rewards.
    half = np.array([0.5, 0.5])
    np.testing.assert_allclose(_credit(np.eye(2), (half, half)).difference_rewards, 0.0, atol=1e-15)
    # Shapley with c = (0, 0): v(∅) = 1, v({0}) = v({1}) = ½ (a marginal against the default),
    # v(N) = 1: φ_i = ½(½ - 1) + ½(1 - ½) = 0.
    np.testing.assert_allclose(credit.coalition_values, [1.0, 0.5, 0.5, 1.0], atol=1e-15)
    np.testing.assert_allclose(credit.shapley_values, [0.0, 0.0], atol=1e-15)


def test_a_symmetric_game_and_policy_give_equal_shapley_values() -> None:
    rng = np.random.default_rng(11)
    raw = rng.normal(size=(3, 3, 3))
    g = sum(raw.transpose(p) for p in itertools.permutations(range(3)))  # symmetric in the agents
    x = rng.dirichlet(np.ones(3))
    for defaults in ((0, 0, 0), (2, 2, 2)):
        credit = _credit(g, (x, x, x), counterfactual="action", default_actions=defaults)
        np.testing.assert_allclose(credit.shapley_values, credit.shapley_values[0], rtol=0, atol=1e-13)
        np.testing.assert_allclose(
            credit.difference_rewards, credit.difference_rewards[0], rtol=0, atol=1e-13
        )
        assert abs(credit.shapley_values[0]) > 1e-3  # not trivially equal


@pytest.mark.parametrize("kind", ["product", "joint"])
def test_an_additive_game_credits_each_agent_with_its_own_term(kind: str) -> None:
    # G(a) = f_0(a_0) + f_1(a_1) + f_2(a_2): everything separates, for any policy.
    f = [np.array([1.0, -2.0]), np.array([0.5, 3.0, 4.0]), np.array([-1.0, 7.0])]
    g = f[0][:, None, None] + f[1][None, :, None] + f[2][None, None, :]
    policy = _random_policy(np.random.default_rng(5), g.shape, kind)
    joint = _joint_of(policy, g.shape)
    marginals = [_marginal(joint, i) for i in range(3)]
    defaults = (1, 2, 0)
    aristocrat = _credit(g, policy, default_actions=defaults)
    clamped = _credit(g, policy, counterfactual="action", default_actions=defaults)
    for i in range(3):
        own = np.expand_dims(f[i], tuple(j for j in range(3) if j != i))
        np.testing.assert_allclose(
            aristocrat.difference_tensors[i], np.broadcast_to(own - f[i] @ marginals[i], g.shape), atol=1e-13
        )
        np.testing.assert_allclose(
            clamped.difference_tensors[i], np.broadcast_to(own - f[i][defaults[i]], g.shape), atol=1e-13
        )
    # φ_i = E f_i - f_i(c_i) = the clamped expected difference reward.
    phi = [f[i] @ marginals[i] - f[i][defaults[i]] for i in range(3)]
    np.testing.assert_allclose(aristocrat.shapley_values, phi, atol=1e-13)
    np.testing.assert_allclose(clamped.difference_rewards, phi, atol=1e-13)
    np.testing.assert_allclose(aristocrat.difference_rewards, 0.0, atol=1e-13)


# -- against the independent oracles -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["product", "joint"])
@pytest.mark.parametrize("shape", [(2, 3, 2), (2, 2, 3, 2)], ids=["3 agents", "4 agents"])
def test_shapley_values_and_difference_rewards_against_their_definitions(seed: int, kind: str, shape) -> None:
    rng = np.random.default_rng(seed)
    g = rng.normal(size=shape) * 10.0 ** rng.integers(-3, 4)
    policy = _random_policy(rng, shape, kind)
    defaults = tuple(int(rng.integers(k)) for k in shape)
    joint = _joint_of(policy, shape)
    scale = float(np.abs(g).max())
    for counterfactual in ("aristocrat", "action"):
        credit = _credit(g, policy, counterfactual=counterfactual, default_actions=defaults)
        tensors, expected = _differences_by_loop(g, joint, defaults, counterfactual)
        np.testing.assert_allclose(credit.difference_tensors, tensors, rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(credit.difference_rewards, expected, rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(
        credit.shapley_values, _shapley_by_permutations(g, joint, defaults), rtol=0, atol=1e-13 * scale
    )
    n = len(shape)
    for mask in range(1 << n):
        members = {i for i in range(n) if mask >> i & 1}
        assert credit.coalition_values[mask] == pytest.approx(
            _coalition_value(g, joint, defaults, members), rel=0, abs=1e-13 * scale
        )
    assert credit.team_return == pytest.approx(float((joint * g).sum()), rel=0, abs=1e-13 * scale)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2), (2, 2, 2, 2, 2, 2), (3,) * 7])
@pytest.mark.parametrize("kind", ["product", "joint"])
def test_shapley_values_are_efficient(shape, kind: str) -> None:
    rng = np.random.default_rng(len(shape))
    g = rng.normal(size=shape)
    policy = _random_policy(rng, shape, kind)
    defaults = tuple(int(rng.integers(k)) for k in shape)
    credit = _credit(g, policy, default_actions=defaults)
    assert credit.coalition_baseline == g[defaults]  # exactly: the defaults are picked, not summed
    assert credit.coalition_values[0] == credit.coalition_baseline
    assert credit.coalition_values[-1] == credit.team_return
    assert credit.shapley_values.sum() == pytest.approx(
        credit.team_return - credit.coalition_baseline, abs=1e-13
    )
    assert abs(credit.team_return - credit.coalition_baseline) > 1e-3


def test_sixteen_agents_within_the_cap_and_seventeen_refused() -> None:
    rng = np.random.default_rng(16)
    shape = (2,) * 16
    g = rng.normal(size=shape)
    joint = rng.dirichlet(np.ones(2**16)).reshape(shape)
    credit = _credit(g, joint, default_actions=(1,) * 16)
    assert credit.shapley_values.sum() == pytest.approx(credit.team_return - g[(1,) * 16], abs=1e-12)
    product = tuple(rng.dirichlet(np.ones(2)) for _ in range(16))
    credit = _credit(g, product)
    assert credit.shapley_values.sum() == pytest.approx(credit.team_return - g[(0,) * 16], abs=1e-12)
    with pytest.raises(ProblemTooLargeError, match="17 players, over the limit of 16") as error:
        _credit(np.zeros((1,) * 17), tuple(np.ones(1) for _ in range(17)))
    assert error.value.field == "payoffs"


def test_the_entry_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_ENTRIES", 2 * 3 * 4)
    x, y = np.ones(3) / 3, np.ones(4) / 4
    _credit(np.ones((3, 4)), (x, y))  # 24 entries: at the cap
    with pytest.raises(ProblemTooLargeError, match="30 entries") as error:
        _credit(np.ones((3, 5)), (x, np.ones(5) / 5))
    assert error.value.field == "payoffs"


# -- scale and shift ----------------------------------------------------------------------------------


_FIELDS = ("team_return", "difference_rewards", "difference_tensors", "shapley_values", "coalition_values")


@pytest.mark.parametrize("factor", [1e-9, 1e9, 1e-300, 1e300])
@pytest.mark.parametrize("kind", ["product", "joint"])
def test_credits_scale_with_the_payoffs(factor: float, kind: str) -> None:
    rng = np.random.default_rng(7)
    payoffs = rng.normal(size=(3, 2, 3, 2))  # general sum: team="sum"
    policy = _random_policy(rng, (2, 3, 2), kind)
    options = CreditOptions(team="sum", counterfactual="action", default_actions=(1, 0, 1))
    base = credit_assignment(NormalFormGame(payoffs), policy, options)
    scaled = credit_assignment(NormalFormGame(payoffs * factor), policy, options)
    unit = float(np.abs(payoffs.sum(axis=0)).max())
    for field in _FIELDS:
        np.testing.assert_allclose(
            np.asarray(getattr(scaled, field)) / factor, getattr(base, field), rtol=0, atol=1e-12 * unit
        )


@pytest.mark.parametrize("team", ["auto", "sum"])
def test_a_constant_added_to_the_return_changes_only_the_return(team: str) -> None:
    rng = np.random.default_rng(8)
    g = rng.normal(size=(3, 2, 2))
    policy = _random_policy(rng, g.shape, "joint")
    for counterfactual in ("aristocrat", "action"):
        options = CreditOptions(team=team, counterfactual=counterfactual, default_actions=(2, 1, 0))
        base = credit_assignment(_team_game(g), policy, options)
        shifted = credit_assignment(_team_game(g + 1000.0), policy, options)
        added = 1000.0 * (3 if team == "sum" else 1)
        for field in ("difference_rewards", "difference_tensors", "shapley_values"):
            np.testing.assert_allclose(getattr(shifted, field), getattr(base, field), rtol=0, atol=1e-11)
        assert shifted.team_return == pytest.approx(base.team_return + added, abs=1e-11)
        assert shifted.coalition_baseline == pytest.approx(base.coalition_baseline + added, abs=1e-11)


def test_payoffs_near_the_largest_float() -> None:
    # G = [[-1.2e308, 0], [0, 1.2e308]] at (1, 1) against c = (0, 0): v(N) - v(∅) = 2.4e308 is not a
    # float, but each agent's share, ½(1.2e308 - 0) + ½(1.2e308 - 0) = 1.2e308, is.
    g = np.array([[-1.2e308, 0.0], [0.0, 1.2e308]])
    second = np.array([0.0, 1.0])
    credit = _credit(g, (second, second))
    np.testing.assert_array_equal(credit.shapley_values, [1.2e308, 1.2e308])
    assert credit.team_return == 1.2e308 and credit.coalition_baseline == -1.2e308
    # The sum of two such players' payoffs, G = ±2.4e308, is not a float: refused, not inf.
    with pytest.raises(ProblemTooLargeError, match="beyond the largest float"):
        credit_assignment(NormalFormGame(np.stack([g, g])), (second, second), CreditOptions(team="sum"))


# -- refusals ------------------------------------------------------------------------------------------


def test_team_return_of_a_game_that_is_not_common() -> None:
    game = NormalFormGame.from_bimatrix(CLIMBING, CLIMBING.T)
    first = np.array([1.0, 0.0, 0.0])
    for team in ("auto", "common"):
        with pytest.raises(InvalidOptionError, match="team='sum'") as error:
            credit_assignment(game, (first, first), CreditOptions(team=team))
        assert error.value.field == "credit_assignment.team"
    summed = credit_assignment(game, (first, first), CreditOptions(team="sum"))
    assert summed.team == "sum" and summed.team_return == 22.0
    np.testing.assert_array_equal(
        summed.difference_tensors[0], (CLIMBING + CLIMBING.T) - (CLIMBING + CLIMBING.T)[0]
    )
    # Equal within tol times the payoff range is common; G is player 0's payoff.
    nearly = NormalFormGame(np.stack([CLIMBING, CLIMBING + 1e-12]))
    assert credit_assignment(nearly, (first, first)).team == "common"
    with pytest.raises(InvalidOptionError, match="not common"):
        credit_assignment(NormalFormGame(np.stack([CLIMBING, CLIMBING + 1e-6])), (first, first))


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        (CreditOptions(team="team"), "credit_assignment.team", "team must be one of auto, common, sum"),
        (
            CreditOptions(counterfactual="coma"),
            "credit_assignment.counterfactual",
            "must be one of action, aristocrat",
        ),
        (CreditOptions(default_actions=(0, -1)), "credit_assignment.default_actions", "action indices >= 0"),
        (
            CreditOptions(default_actions=(0, True)),
            "credit_assignment.default_actions",
            "action indices >= 0",
        ),
        (CreditOptions(default_actions=(0, 1.0)), "credit_assignment.default_actions", "action indices >= 0"),
        (CreditOptions(default_actions="01"), "credit_assignment.default_actions", "action indices >= 0"),
        (CreditOptions(default_actions=()), "credit_assignment.default_actions", "action indices >= 0"),
        (
            CreditOptions(default_actions=(0,)),
            "credit_assignment.default_actions",
            "1 default actions for 2 agents",
        ),
        (
            CreditOptions(default_actions=(0, 3)),
            "credit_assignment.default_actions",
            "agent 1's default action 3 does not exist",
        ),
    ],
)
def test_options_refused_by_field(options: CreditOptions, field: str, message: str) -> None:
    first = np.array([1.0, 0.0, 0.0])
    with pytest.raises(InvalidOptionError, match=message) as error:
        credit_assignment(_team_game(CLIMBING), (first, first), options)
    assert error.value.field == field
    assert error.value.message.startswith("credit_assignment(): ")


def test_options_checked_normalise_the_default_actions() -> None:
    checked = CreditOptions(default_actions=np.array([2, 0])).checked()
    assert checked.default_actions == (2, 0) and all(type(c) is int for c in checked.default_actions)
    default = CreditOptions().checked()
    assert (default.team, default.counterfactual, default.default_actions, default.policy) == (
        "auto",
        "action",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("policy", "field", "message"),
    [
        ((np.ones(3) / 3,), "credit_assignment.policy", "1 mixed strategies for 2 agents"),
        ((np.ones(3) / 3, np.ones(2) / 2), "credit_assignment.policy[1]", r"shape \(2,\), expected \(3,\)"),
        ((np.array([1.1, -0.1, 0.0]), np.ones(3) / 3), "credit_assignment.policy[0]", "invalid probability"),
        (
            (np.array([np.nan, 0.5, 0.5]), np.ones(3) / 3),
            "credit_assignment.policy[0]",
            "invalid probability",
        ),
        ((np.array([0.5, 0.5, 1e-8]), np.ones(3) / 3), "credit_assignment.policy[0]", "sums to"),
        ((np.ones(3) / 3, ["a", "b", "c"]), "credit_assignment.policy[1]", "not a numeric array"),
        (np.ones((3, 2)) / 6, "credit_assignment.policy", r"shape \(3, 2\), expected \(3, 3\)"),
        # A product policy stacked into an array is read as a joint distribution: it sums to 2.
        (np.full((2, 3), 1 / 3), "credit_assignment.policy", r"shape \(2, 3\), expected \(3, 3\)"),
        (np.ones((3, 3)) / 3, "credit_assignment.policy", "sums to 3"),
        # A joint distribution in nested lists is read as one strategy per agent.
        (
            [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.0]],
            "credit_assignment.policy",
            "3 mixed strategies",
        ),
        ("uniform", "credit_assignment.policy", "must be a tuple of mixed strategies"),
    ],
)
def test_policies_refused_by_field(policy, field: str, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message) as error:
        credit_assignment(_team_game(CLIMBING), policy)
    assert error.value.field == field


def test_policies_within_the_tolerance_are_renormalised() -> None:
    x = np.array([0.5, 0.5 + 5e-10, -5e-10])
    credit = _credit(CLIMBING, (x, x), counterfactual="action")
    exact = _credit(CLIMBING, (np.array([0.5, 0.5, 0.0]),) * 2, counterfactual="action")
    np.testing.assert_allclose(credit.shapley_values, exact.shapley_values, rtol=0, atol=1e-7)
    joint = np.zeros((3, 3))
    joint[1, 1] = 1.0 + 1e-10
    assert _credit(CLIMBING, joint).team_return == pytest.approx(7.0, abs=1e-14)


def test_tolerance_refused() -> None:
    first = np.array([1.0, 0.0, 0.0])
    with pytest.raises(InvalidOptionError) as error:
        credit_assignment(_team_game(CLIMBING), (first, first), tol=0.1)
    assert error.value.field == "tolerance"


# -- stochastic team games -------------------------------------------------------------------------------


def _two_state_game(discount: float = 0.5, horizon: int | None = None) -> StochasticGame:
    """State 0: G = [[1, 0], [0, 2]]; both playing action 1 moves to state 1, anything else stays.
    State 1: one action each, G = 4, back to state 0."""
    rewards = np.zeros((2, 2, 2, 2))
    rewards[0, :] = [[1.0, 0.0], [0.0, 2.0]]
    rewards[1, :, 0, 0] = 4.0
    transitions = np.zeros((2, 2, 2, 2))
    transitions[0, ..., 0] = 1.0
    transitions[0, 1, 1] = [0.0, 1.0]
    transitions[1, ..., 0] = 1.0
    return StochasticGame(
        rewards, transitions, discount=discount, horizon=horizon, action_counts=[[2, 2], [1, 1]]
    )


_HALF = np.array([[0.5, 0.5], [1.0, 0.0]])


def test_a_two_state_discounted_team_game_by_hand() -> None:
    credit = stochastic_credit_assignment(
        _two_state_game(), (_HALF, _HALF), CreditOptions(counterfactual="aristocrat")
    )
    assert credit.stationary and credit.team == "common"
    # r_π(0) = ¾, P(0 -> 1) = ¼: V0 = ¾ + ½(¾ V0 + ¼ V1), V1 = 4 + ½ V0, so V0 = 20/9, V1 = 46/9.
    np.testing.assert_allclose(credit.values, [20 / 9, 46 / 9], rtol=1e-14)
    assert credit.team_return == pytest.approx((20 / 9 + 46 / 9) / 2, rel=1e-14)  # uniform μ0
    # Q(0, a) = r(a) + ½ V(next): [[1 + 10/9, 10/9], [10/9, 2 + 23/9]]; state 1's single action 46/9.
    np.testing.assert_allclose(credit.q_values[0], np.array([[19, 10], [10, 41]]) / 9, rtol=1e-14)
    np.testing.assert_allclose(credit.q_values[1], [[46 / 9, 0.0], [0.0, 0.0]], rtol=1e-14)
    # Shapley in state 0, c = (0, 0): v(∅) = 19/9, v({i}) = 29/18, v(N) = 40/18: φ_i = ½(-9/18) + ½(11/18).
    np.testing.assert_allclose(credit.coalition_values[0], np.array([38, 29, 29, 40]) / 18, rtol=1e-14)
    np.testing.assert_allclose(credit.shapley_values, [[1 / 18, 1 / 18], [0.0, 0.0]], atol=1e-15)
    np.testing.assert_allclose(credit.coalition_baselines, [19 / 9, 46 / 9], rtol=1e-14)
    # Aristocrat: zero in expectation; D_0(0, (1, 1)) = 41/9 - ½(10/9 + 41/9) = 31/18.
    np.testing.assert_allclose(credit.difference_rewards, 0.0, atol=1e-14)
    assert credit.difference_tensors[0, 0, 1, 1] == pytest.approx(31 / 18, rel=1e-14)
    # Joint actions that do not exist (state 1 has one action each) hold zeros.
    np.testing.assert_array_equal(credit.difference_tensors[1], 0.0)
    # Clamped: E[D_0](0) = V0 - E[Q(0, (0, a_1))] = 40/18 - 29/18.
    clamped = stochastic_credit_assignment(
        _two_state_game(), (_HALF, _HALF), CreditOptions(counterfactual="action")
    )
    np.testing.assert_allclose(clamped.difference_rewards, [[11 / 18, 11 / 18], [0.0, 0.0]], atol=1e-14)


def test_a_two_stage_team_game_by_hand() -> None:
    credit = stochastic_credit_assignment(
        _two_state_game(discount=1.0, horizon=2), (_HALF, _HALF), CreditOptions(counterfactual="aristocrat")
    )
    assert not credit.stationary and credit.shapley_values.shape == (2, 2, 2)
    # Last stage: Q_1 = r, V_1 = (¾, 4). First stage: Q_0(0, a) = r(a) + V_1(next).
    np.testing.assert_allclose(credit.values, [[2.3125, 4.75], [0.75, 4.0]], rtol=1e-14)
    np.testing.assert_allclose(credit.q_values[0, 0], [[1.75, 0.75], [0.75, 6.0]], rtol=1e-14)
    np.testing.assert_allclose(credit.q_values[1, 0], [[1.0, 0.0], [0.0, 2.0]], rtol=1e-14)
    # First stage, state 0, c = (0, 0): v(∅) = 1.75, v({i}) = 1.25, v(N) = 2.3125:
    # φ_i = ½(1.25 - 1.75) + ½(2.3125 - 1.25) = 0.28125.
    np.testing.assert_allclose(credit.shapley_values[0, 0], [0.28125, 0.28125], rtol=1e-14)
    # Last stage, state 0: v(∅) = 1, v({i}) = ½, v(N) = ¾: φ_i = ½(-½) + ½(¼) = -0.125.
    np.testing.assert_allclose(credit.shapley_values[1, 0], [-0.125, -0.125], rtol=1e-14)
    assert credit.team_return == pytest.approx((2.3125 + 4.75) / 2, rel=1e-14)


def _random_team_game(rng: np.random.Generator, shape, n_states: int, **kwargs) -> StochasticGame:
    r = rng.normal(size=(n_states, *shape))
    rewards = np.stack([r] * len(shape), axis=1)
    transitions = rng.dirichlet(np.ones(n_states), size=(n_states, *shape))
    return StochasticGame(rewards, transitions, **kwargs)


def _stage_credits(q: np.ndarray, policy_at_state, defaults) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    joint = _joint_of(policy_at_state, q.shape)
    tensors, _ = _differences_by_loop(q, joint, defaults, "aristocrat")
    _, expected = _differences_by_loop(q, joint, defaults, "action")
    return _shapley_by_permutations(q, joint, defaults), tensors, expected


@pytest.mark.parametrize("seed", range(3))
def test_per_state_credits_against_value_iteration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape, n_states, gamma = (2, 3, 2), 3, 0.8
    game = _random_team_game(rng, shape, n_states, discount=gamma)
    policies = tuple(rng.dirichlet(np.ones(k), size=n_states) for k in shape)
    defaults = (1, 2, 0)
    # Value iteration over the dense arrays, to convergence (contraction 0.8: 200 sweeps to 1e-19).
    r = game.rewards[:, 0]
    p = game.transition_matrix.toarray().reshape(n_states, *shape, n_states)
    joint = np.stack([_joint_of(tuple(pol[s] for pol in policies), shape) for s in range(n_states)])
    v = np.zeros(n_states)
    for _ in range(300):
        q = r + gamma * p @ v
        v = (joint * q).reshape(n_states, -1).sum(axis=1)
    q = r + gamma * p @ v
    credit = stochastic_credit_assignment(
        game, policies, CreditOptions(counterfactual="aristocrat", default_actions=defaults)
    )
    clamped = stochastic_credit_assignment(
        game, policies, CreditOptions(counterfactual="action", default_actions=defaults)
    )
    np.testing.assert_allclose(credit.values, v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(credit.q_values, q, rtol=0, atol=1e-12)
    for s in range(n_states):
        phi, tensors, expected = _stage_credits(q[s], tuple(pol[s] for pol in policies), defaults)
        np.testing.assert_allclose(credit.shapley_values[s], phi, rtol=0, atol=1e-12)
        np.testing.assert_allclose(credit.difference_tensors[s], tensors, rtol=0, atol=1e-12)
        np.testing.assert_allclose(clamped.difference_rewards[s], expected, rtol=0, atol=1e-12)
        # One-step view: the shares add up to V(s) - Q(s, c).
        assert credit.shapley_values[s].sum() == pytest.approx(v[s] - q[s][defaults], abs=1e-12)


def test_per_stage_credits_against_backward_induction() -> None:
    rng = np.random.default_rng(21)
    shape, n_states, horizon, gamma = (3, 2), 2, 3, 0.9
    game = _random_team_game(rng, shape, n_states, discount=gamma, horizon=horizon)
    policies = tuple(rng.dirichlet(np.ones(k), size=(horizon, n_states)) for k in shape)  # per stage
    r = game.rewards[:, 0]
    p = game.transition_matrix.toarray().reshape(n_states, *shape, n_states)
    v_next = np.zeros(n_states)
    qs = [None] * horizon
    for t in reversed(range(horizon)):
        qs[t] = r + gamma * p @ v_next
        joint = np.stack([_joint_of(tuple(pol[t, s] for pol in policies), shape) for s in range(n_states)])
        v_next = (joint * qs[t]).reshape(n_states, -1).sum(axis=1)
    credit = stochastic_credit_assignment(
        game, policies, CreditOptions(counterfactual="aristocrat", default_actions=(2, 1))
    )
    assert credit.values.shape == (horizon, n_states) and credit.difference_tensors.shape == (
        horizon,
        n_states,
        2,
        3,
        2,
    )
    np.testing.assert_allclose(credit.values[0], v_next, rtol=0, atol=1e-13)
    assert credit.team_return == pytest.approx(game.initial_distribution @ v_next, abs=1e-13)
    for t in range(horizon):
        np.testing.assert_allclose(credit.q_values[t], qs[t], rtol=0, atol=1e-13)
        for s in range(n_states):
            phi, tensors, _ = _stage_credits(qs[t][s], tuple(pol[t, s] for pol in policies), (2, 1))
            np.testing.assert_allclose(credit.shapley_values[t, s], phi, rtol=0, atol=1e-13)
            np.testing.assert_allclose(credit.difference_tensors[t, s], tensors, rtol=0, atol=1e-13)


def test_stochastic_team_return_scale_and_sum() -> None:
    rng = np.random.default_rng(4)
    game = _random_team_game(rng, (2, 2), 3, discount=0.9)
    policies = tuple(rng.dirichlet(np.ones(2), size=3) for _ in range(2))
    options = CreditOptions(counterfactual="action", default_actions=(1, 0))
    base = stochastic_credit_assignment(game, policies, options)
    unit = float(np.abs(base.q_values).max())
    for factor in (1e-9, 1e9):
        scaled_game = StochasticGame(game.rewards * factor, game.transition_matrix, discount=0.9)
        scaled = stochastic_credit_assignment(scaled_game, policies, options)
        for field in ("values", "q_values", "difference_rewards", "shapley_values", "coalition_baselines"):
            np.testing.assert_allclose(
                getattr(scaled, field) / factor, getattr(base, field), rtol=0, atol=1e-12 * unit
            )
    # Different rewards: refused by "auto", summed by "sum".
    rewards = np.array(game.rewards)
    rewards[:, 1] *= 2.0
    general = StochasticGame(rewards, game.transition_matrix, discount=0.9)
    with pytest.raises(InvalidOptionError, match="team='sum'") as error:
        stochastic_credit_assignment(general, policies)
    assert error.value.field == "credit_assignment.team"
    assert error.value.message.startswith("stochastic_credit_assignment(): ")
    summed = stochastic_credit_assignment(general, policies, dataclasses.replace(options, team="sum"))
    np.testing.assert_allclose(summed.values, 3.0 * base.values, rtol=1e-12)
    np.testing.assert_allclose(summed.shapley_values, 3.0 * base.shapley_values, rtol=1e-12)


def test_stochastic_refusals() -> None:
    game = _two_state_game()
    # Action 1 does not exist in state 1.
    with pytest.raises(InvalidOptionError, match="does not exist .*in every state") as error:
        stochastic_credit_assignment(game, (_HALF, _HALF), CreditOptions(default_actions=(0, 1)))
    assert error.value.field == "credit_assignment.default_actions"
    with pytest.raises(InvalidOptionError, match="action that does not exist") as error:
        stochastic_credit_assignment(game, (_HALF, np.full((2, 2), 0.5)))
    assert error.value.field == "credit_assignment.policy[1]"
    with pytest.raises(InvalidOptionError, match="1 policies for 2 players") as error:
        stochastic_credit_assignment(game, (_HALF,))
    assert error.value.field == "credit_assignment.policy"
    with pytest.raises(InvalidOptionError) as error:
        stochastic_credit_assignment(game, (_HALF, [["a", "b"], ["c", "d"]]))
    assert error.value.field == "credit_assignment.policy"
    with pytest.raises(InvalidOptionError) as error:
        stochastic_credit_assignment(game, (_HALF, _HALF), CreditOptions(counterfactual="x"))
    assert error.value.field == "credit_assignment.counterfactual"


def test_stochastic_entry_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    game = _two_state_game(discount=1.0, horizon=2)  # 2 stages x 2 states x 2 agents x 4 joint actions
    monkeypatch.setattr(module, "MAX_ENTRIES", 32)
    stochastic_credit_assignment(game, (_HALF, _HALF))
    monkeypatch.setattr(module, "MAX_ENTRIES", 31)
    with pytest.raises(ProblemTooLargeError, match="32 entries") as error:
        stochastic_credit_assignment(game, (_HALF, _HALF))
    assert error.value.field == "rewards"


def test_solve_answers_the_concept_from_the_policy_in_its_options() -> None:
    climbing = np.array([[11, -30, 0], [-30, 7, 6], [0, 0, 5]], dtype=float)
    game = NormalFormGame(np.stack([climbing, climbing]))
    first = np.array([1.0, 0.0, 0.0])
    result = solve(
        game,
        ["nash", "credit_assignment"],
        credit=CreditOptions(policy=(first, first), default_actions=(1, 2)),
    )
    assert result.credit_assignment is not None and result.credit_assignment.shapley_values.tolist() == [
        17.5,
        -12.5,
    ]
    assert [s.status for s in result.concept_status] == ["answered", "answered"]
    assert "action counterfactual" in result.concept_status[1].reason and result.equilibria
    with pytest.raises(InvalidOptionError) as refused:
        solve(game, ["credit_assignment"])
    assert refused.value.field == "credit_assignment.policy"
    with pytest.raises(InvalidOptionError) as refused:
        solve(game, ["credit_assignment"], credit={"policy": (first, first)})  # type: ignore[arg-type]
    assert refused.value.field == "credit"
    assert solve(game).credit_assignment is None  # not requested: not computed


def test_solve_stochastic_answers_the_concept_alone_or_beside_nash() -> None:
    game = _two_state_game()
    options = CreditOptions(policy=(_HALF, _HALF))
    alone = solve_stochastic(game, ["credit_assignment"], credit=options)
    assert alone.method == "none" and alone.equilibria == () and not alone.complete
    direct = stochastic_credit_assignment(game, (_HALF, _HALF))
    np.testing.assert_array_equal(alone.credit_assignment.shapley_values, direct.shapley_values)
    both = solve_stochastic(game, ["credit_assignment", "nash"], credit=options)
    assert [s.concept for s in both.concept_status] == ["credit_assignment", "nash"]
    assert both.equilibria and both.credit_assignment is not None
    with pytest.raises(InvalidOptionError) as refused:
        solve_stochastic(game, ["credit_assignment"])
    assert refused.value.field == "credit_assignment.policy"


def test_payoffs_common_within_the_tolerance_credit_player_zeros_return() -> None:
    """Players whose payoffs differ by less than the tolerance are one team, paid player 0's
    payoff exactly; the stochastic credits check the tolerance as the normal-form ones do."""
    rng = np.random.default_rng(12)
    payoff = rng.integers(0, 10, size=(3, 3)).astype(float)
    game = NormalFormGame(np.stack([payoff, payoff + 1e-10]))
    policy = (np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.4, 0.0]))
    credit = credit_assignment(game, policy)
    assert credit.team == "common"
    assert credit.team_return == pytest.approx(float(policy[0] @ payoff @ policy[1]), rel=1e-14, abs=0.0)
    with pytest.raises(InvalidOptionError) as refused:
        stochastic_credit_assignment(_two_state_game(), (_HALF, _HALF), tol=0.5)
    assert refused.value.field == "tolerance"
