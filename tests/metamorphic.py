"""Metamorphic testing (issue 17): seeded games, transforms that must not change an answer,
and an independent numpy certificate in each player's own scale.

A positive affine map of one player's payoffs (``u_i -> a_i u_i + b_i``, ``a_i > 0``), a
relabelling of a player's actions and a relabelling of the players change no equilibrium:
they only rename it. So the answer for a transformed game, mapped back through the
transform's inverse (:meth:`Transform.profile_back` and friends), must be the answer for the
original game. This module builds

* the games: seeded generators (:func:`bimatrix_game`, :func:`zero_sum_bimatrix`,
  :func:`n_player_game`, :func:`stochastic_game`), each drawn from
  ``numpy.random.default_rng([17, family, k])``;
* the transforms (:class:`Transform`, :func:`normal_form_transforms`,
  :func:`stochastic_transforms`) and their inverse maps on profiles, joint distributions,
  policies, payoffs, values and welfare;
* the independent certificate: each player's payoffs are mapped onto ``[0, 1]`` here
  (:func:`unit_scale`, in halves, so payoffs of 1e308 do not overflow), and the expected
  payoffs, regrets, (C)CE incentive gains and Markov state gaps are recomputed with numpy in
  those units. A regret in them is a regret relative to the player's own payoff range, the
  unit issue 17 prescribes: player ``i`` passes when it is at most :data:`TOL_REL` plus
  :data:`ROUNDOFF` times ``max |u_i| / range_i`` (float round-off, the only absolute floor);
* the checks, each returning a list of violations (strings) so that one failing game
  reports every law it breaks: of one answer about its own game
  (:func:`answer_violations`, :func:`markov_answer_violations`) and of a game's answer
  against its transforms' answers (:func:`normal_form_laws`, :func:`markov_laws`).

Nothing here imports the solver: the laws take a ``solve`` function (in process, or the
client's) and read the results by attribute, the same names in both.
"""

from __future__ import annotations

import dataclasses
import math
import string
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FloatArray",
    "TOL_REL",
    "ROUNDOFF",
    "MATCH",
    "AGREE_REL",
    "VALUE_REL",
    "CE_TOL_REL",
    "bimatrix_game",
    "zero_sum_bimatrix",
    "n_player_game",
    "is_integer_game",
    "StochasticSpec",
    "stochastic_game",
    "Transform",
    "normal_form_transforms",
    "stochastic_transforms",
    "Scaled",
    "unit_scale",
    "RelativeCertificate",
    "relative_certificate",
    "certificate_violations",
    "PureSet",
    "pure_equilibria",
    "pure_profiles",
    "pure_violations",
    "unmatched",
    "set_violations",
    "empty_complete_violation",
    "correlated_violations",
    "LINEAR_WELFARE",
    "welfare",
    "MarkovCheck",
    "markov_certificate",
    "markov_violations",
    "split_budget",
    "NormalSolve",
    "MarkovSolve",
    "answer_violations",
    "transformed_violations",
    "normal_form_laws",
    "markov_answer_violations",
    "markov_laws",
]

FloatArray = npt.NDArray[np.float64]

#: A returned equilibrium's regret may be at most this fraction of its player's own payoff
#: range: ten times the solver's default tolerance (1e-9), its widest documented tie
#: tolerance (n-player refinements), never scaled by another player's range or by 1.
TOL_REL = 1e-8
#: Float round-off: a regret below this times ``max |u_i|`` is not a payoff difference.
ROUNDOFF = 1e-12
#: Two profiles are the same equilibrium when no probability differs by more (issue 17).
MATCH = 1e-6
#: A result's own payoffs and regrets must agree with the recomputation to this fraction of
#: the player's range (plus :data:`ROUNDOFF`).
AGREE_REL = 1e-9
#: Welfare, zero-sum and Markov values mapped back must agree to this fraction of the
#: players' ranges (the LPs of (C)CE welfare run at HiGHS tolerances, about 1e-9).
VALUE_REL = 1e-7
#: A (coarse) correlated equilibrium's incentive gain may be at most this fraction of the
#: player's range: HiGHS's feasibility tolerance on the rescaled LP is at most 1e-7.
CE_TOL_REL = 1e-7


# ---------------------------------------------------------------------------------- games


def bimatrix_game(k: int) -> FloatArray:
    """2-player game ``k``, shape ``(2, m, n)``, ``m, n`` up to 8, of five kinds (``k % 5``).

    0: integers in [-3, 3] (ties, often degenerate); 1: {0, 1} payoffs up to 6 x 6 (very
    degenerate: many pure equilibria and continua); 2: standard normal (generic); 3: integers
    with a duplicated row and a duplicated column (degenerate by construction); 4: standard
    normal with each player's payoffs already scaled by ``10**U(-6, 6)`` and shifted.
    """
    rng = np.random.default_rng([17, 1, k])
    kind = k % 5
    if kind == 1:
        m, n = (int(v) for v in rng.integers(2, 7, 2))
        return rng.integers(0, 2, (2, m, n)).astype(np.float64)
    m, n = (int(v) for v in rng.integers(1 if kind == 2 else 2, 9, 2))
    if kind in (0, 3):
        payoffs = rng.integers(-3, 4, (2, m, n)).astype(np.float64)
        if kind == 3:
            payoffs[:, -1, :] = payoffs[:, 0, :]
            payoffs[:, :, -1] = payoffs[:, :, 0]
        return payoffs
    payoffs = rng.standard_normal((2, m, n))
    if kind == 4:
        scales = 10.0 ** rng.uniform(-6, 6, 2)
        payoffs = payoffs * scales[:, None, None] + scales[:, None, None] * rng.uniform(-5, 5, (2, 1, 1))
    return payoffs


def zero_sum_bimatrix(k: int) -> FloatArray:
    """Constant-sum game ``k``: ``u_1 = c - u_0``, ``m, n`` up to 8, integer or normal payoffs."""
    rng = np.random.default_rng([17, 2, k])
    m, n = (int(v) for v in rng.integers(1, 9, 2))
    a = rng.integers(-4, 5, (m, n)).astype(np.float64) if k % 2 else rng.standard_normal((m, n))
    constant = float(rng.integers(-3, 4))
    return np.stack([a, constant - a])


def n_player_game(k: int) -> FloatArray:
    """3- or 4-player game ``k`` (every third one has 4 players): 2 or 3 actions each for 3
    players, 2 each for 4; integer payoffs in [0, 3] (many ties) or standard normal."""
    rng = np.random.default_rng([17, 3, k])
    players = 4 if k % 3 == 2 else 3
    actions = (2,) * 4 if players == 4 else tuple(int(v) for v in rng.integers(2, 4, 3))
    if k % 2:
        return rng.integers(0, 4, (players, *actions)).astype(np.float64)
    return rng.standard_normal((players, *actions))


def is_integer_game(payoffs: FloatArray) -> bool:
    """Whether every payoff is an integer (the degenerate kinds of the generators)."""
    return bool(np.all(payoffs == np.round(payoffs)))


@dataclasses.dataclass(frozen=True)
class StochasticSpec:
    """A small 2-player stochastic game: dense arrays, all actions in every state.

    Attributes
    ----------
    rewards : ndarray, shape (S, 2, a_0, a_1)
    transitions : ndarray, shape (S, a_0, a_1, S)
    discount : float
    """

    rewards: FloatArray
    transitions: FloatArray
    discount: float

    @property
    def value_horizon(self) -> float:
        """``1 / (1 - discount)``: a per-stage shift ``b`` shifts every value by ``b`` times it."""
        return 1.0 / (1.0 - self.discount)


def stochastic_game(k: int, zero_sum: bool) -> StochasticSpec:
    """Stochastic game ``k``: 1 to 3 states, 2 or 3 actions per player, Dirichlet transitions,
    discount 0.5, 0.7 or 0.9; integer or normal rewards; ``zero_sum``: ``r_1 = c - r_0``."""
    rng = np.random.default_rng([17, 5 if zero_sum else 4, k])
    states = int(rng.integers(1, 4))
    actions = tuple(int(v) for v in rng.integers(2, 4, 2))
    if k % 2:
        rewards = rng.integers(-3, 4, (states, 2, *actions)).astype(np.float64)
    else:
        rewards = rng.standard_normal((states, 2, *actions))
    if zero_sum:
        rewards[:, 1] = float(rng.integers(-2, 3)) - rewards[:, 0]
    transitions = rng.dirichlet(np.ones(states), size=(states, *actions))
    return StochasticSpec(rewards, transitions, float((0.5, 0.7, 0.9)[k % 3]))


# ----------------------------------------------------------------------------- transforms


@dataclasses.dataclass(frozen=True)
class Transform:
    """Per-player positive affine maps, then action relabellings, then a player relabelling.

    Attributes
    ----------
    name : str
    scales, shifts : ndarray, shape (n,)
        ``a_i > 0`` and ``b_i`` of ORIGINAL player ``i``: its payoffs become ``a_i u_i + b_i``.
    players : tuple of int
        New player ``k`` is original player ``players[k]``.
    actions : tuple of ndarray
        Per ORIGINAL player ``i``: new action ``j`` is original action ``actions[i][j]``;
        shape ``(a_i,)``, or ``(S, a_i)`` for a stochastic game (one relabelling per state).
    """

    name: str
    scales: FloatArray
    shifts: FloatArray
    players: tuple[int, ...]
    actions: tuple[npt.NDArray[np.int64], ...]

    @property
    def inverse_players(self) -> tuple[int, ...]:
        """Original player ``i`` is new player ``inverse_players[i]``."""
        return tuple(int(v) for v in np.argsort(self.players))

    @property
    def relabels(self) -> bool:
        """Whether the transform renames actions or players (not affine maps only)."""
        identity = all(
            np.array_equal(p, np.broadcast_to(np.arange(p.shape[-1]), p.shape)) for p in self.actions
        )
        return not identity or self.players != tuple(range(len(self.players)))

    @property
    def new_actions(self) -> tuple[int, ...]:
        """Number of actions of each player of the transformed game."""
        return tuple(int(self.actions[i].shape[-1]) for i in self.players)

    def fits(self, strategies: Sequence[Any]) -> bool:
        """Whether a profile (or policies) has the transformed game's action counts."""
        return len(strategies) == len(self.players) and all(
            np.shape(s)[-1] == k for s, k in zip(strategies, self.new_actions, strict=True)
        )

    @property
    def common_scale(self) -> float | None:
        """The one ``a`` of every player, or None."""
        return float(self.scales[0]) if np.all(self.scales == self.scales[0]) else None

    def keeps_constant_sum(self) -> bool:
        """Whether a 2-player constant-sum game stays constant-sum (one scale for both)."""
        return self.common_scale is not None

    # -- games ----------------------------------------------------------------------------

    def apply(self, payoffs: FloatArray) -> FloatArray:
        """The transformed payoff tensor ``(n, a'_0, ..., a'_{n-1})``."""
        n = payoffs.shape[0]
        shape = (n,) + (1,) * n
        out = payoffs * self.scales.reshape(shape) + self.shifts.reshape(shape)
        for i, perm in enumerate(self.actions):
            out = np.take(out, perm, axis=1 + i)
        return np.ascontiguousarray(out[list(self.players)].transpose(0, *(1 + p for p in self.players)))

    def apply_stochastic(self, spec: StochasticSpec) -> StochasticSpec:
        """The transformed stochastic game (actions relabelled per state)."""
        states = spec.rewards.shape[0]
        shape = (1, 2, 1, 1)
        rewards = spec.rewards * self.scales.reshape(shape) + self.shifts.reshape(shape)
        new_rewards, new_transitions = np.empty_like(rewards), np.empty_like(spec.transitions)
        for s in range(states):
            r, p = rewards[s], spec.transitions[s]
            for i, perm in enumerate(self.actions):
                r, p = np.take(r, perm[s], axis=1 + i), np.take(p, perm[s], axis=i)
            new_rewards[s], new_transitions[s] = r, p
        if self.players != (0, 1):
            new_rewards = new_rewards[:, [1, 0]].transpose(0, 1, 3, 2)
            new_transitions = new_transitions.transpose(0, 2, 1, 3)
        return StochasticSpec(
            np.ascontiguousarray(new_rewards), np.ascontiguousarray(new_transitions), spec.discount
        )

    # -- answers --------------------------------------------------------------------------

    def profile_back(self, strategies: Sequence[Any]) -> tuple[FloatArray, ...]:
        """A profile of the transformed game as a profile of the original game."""
        out = []
        for i, perm in enumerate(self.actions):
            new = np.asarray(strategies[self.inverse_players[i]], dtype=np.float64)
            original = np.empty_like(new)
            original[perm] = new
            out.append(original)
        return tuple(out)

    def policies_back(self, policies: Sequence[Any]) -> tuple[FloatArray, ...]:
        """Stationary ``(S, a)`` or per-stage ``(T, S, a)`` policies mapped back."""
        out = []
        for i, perm in enumerate(self.actions):
            new = np.asarray(policies[self.inverse_players[i]], dtype=np.float64)
            original = np.empty_like(new)
            for s in range(perm.shape[0]):
                original[..., s, perm[s]] = new[..., s, :]
            out.append(original)
        return tuple(out)

    def distribution_back(self, distribution: Any) -> FloatArray:
        """A joint distribution over the transformed game's actions, over the original's."""
        dist = np.transpose(np.asarray(distribution, dtype=np.float64), self.inverse_players)
        for i, perm in enumerate(self.actions):
            dist = np.take(dist, np.argsort(perm), axis=i)
        return dist

    def payoffs_back(self, payoffs: Any, horizon: float = 1.0) -> FloatArray:
        """Per original player ``(W_k - b_i * horizon) / a_i``: payoffs (or values, with the
        shift's weight ``horizon``) of the transformed game in the original's units."""
        new = np.asarray(payoffs, dtype=np.float64)
        ordered = new[..., list(self.inverse_players)]
        return (ordered - self.shifts * horizon) / self.scales

    def welfare_map(self, function: str) -> Callable[[float], float] | None:
        """``W -> W'`` for a welfare value of the original game, when the transform maps
        welfare monotonically: utilitarian ``a W + sum b`` (one scale), egalitarian
        ``a W + b`` (one scale, one shift); None otherwise."""
        a = self.common_scale
        if a is None:
            return None
        if function == "utilitarian":
            total = float(self.shifts.sum())
            return lambda w: a * w + total
        if function == "egalitarian" and np.all(self.shifts == self.shifts[0]):
            shift = float(self.shifts[0])
            return lambda w: a * w + shift
        return None


def _permutation(rng: np.random.Generator, k: int) -> npt.NDArray[np.int64]:
    """A random permutation of ``range(k)``, not the identity when ``k > 1``."""
    while True:
        perm = rng.permutation(k)
        if k == 1 or not np.array_equal(perm, np.arange(k)):
            return perm.astype(np.int64)


def _identity(actions: Sequence[int], states: int | None) -> tuple[npt.NDArray[np.int64], ...]:
    if states is None:
        return tuple(np.arange(k, dtype=np.int64) for k in actions)
    return tuple(np.tile(np.arange(k, dtype=np.int64), (states, 1)) for k in actions)


def _random_actions(
    rng: np.random.Generator, actions: Sequence[int], states: int | None
) -> tuple[npt.NDArray[np.int64], ...]:
    if states is None:
        return tuple(_permutation(rng, k) for k in actions)
    return tuple(np.stack([_permutation(rng, k) for _ in range(states)]) for k in actions)


def _player_ranges(flat: FloatArray) -> FloatArray:
    """Per player ``max - min`` (capped at the largest float); 1 for a constant player."""
    half = flat.max(axis=1) / 2.0 - flat.min(axis=1) / 2.0
    return np.where(half > 0.0, np.minimum(2.0 * half, np.finfo(np.float64).max), 1.0)


def _transforms(
    rng: np.random.Generator,
    ranges: FloatArray,
    actions: Sequence[int],
    states: int | None,
    extreme_first: int,
) -> list[Transform]:
    """The transforms of one game (see :func:`normal_form_transforms`)."""
    n = len(ranges)
    ident_players, ident_actions = tuple(range(n)), _identity(actions, states)
    ones, zeros = np.ones(n), np.zeros(n)
    scales = 10.0 ** rng.uniform(-12.0, 12.0, n)
    shifts = scales * ranges * rng.uniform(-5.0, 5.0, n)
    common = 10.0 ** rng.uniform(-12.0, 12.0)
    extreme = np.array([1e-12 if (i + extreme_first) % 2 == 0 else 1e12 for i in range(n)])
    one = int(rng.integers(n))
    constant = zeros.copy()
    constant[one] = ranges[one] * 10.0 ** rng.uniform(-1.0, 3.0) * rng.choice([-1.0, 1.0])
    perm = tuple(int(v) for v in _permutation(rng, n))
    composite_scales = 10.0 ** rng.uniform(-12.0, 12.0, n)
    return [
        Transform("scale_players", scales, shifts, ident_players, ident_actions),
        Transform(
            "scales_1e-12_1e12",
            extreme,
            extreme * ranges * rng.uniform(-1.0, 1.0, n),
            ident_players,
            ident_actions,
        ),
        Transform(
            "common_affine",
            np.full(n, common),
            np.full(n, common * float(ranges.min()) * rng.uniform(-5.0, 5.0)),
            ident_players,
            ident_actions,
        ),
        Transform("shift_one_player", ones, constant, ident_players, ident_actions),
        Transform("permute_actions", ones, zeros, ident_players, _random_actions(rng, actions, states)),
        Transform("transpose" if n == 2 else "permute_players", ones, zeros, perm, ident_actions),
        Transform(
            "composite",
            composite_scales,
            composite_scales * ranges * rng.uniform(-5.0, 5.0, n),
            perm,
            _random_actions(rng, actions, states),
        ),
    ]


def normal_form_transforms(payoffs: FloatArray, seed: Sequence[int]) -> list[Transform]:
    """Seven transforms of a normal-form game, drawn from ``default_rng(seed)``.

    ``scale_players`` (``a_i = 10**U(-12, 12)``, ``b_i`` up to 5 of the player's own transformed
    range), ``scales_1e-12_1e12`` (alternately 1e-12 and 1e12), ``common_affine`` (one ``a``,
    one ``b`` of the smallest player range: a shift far past a player's own range would round
    that player's payoffs away, a lossy transform), ``shift_one_player`` (up to 1000 times
    the player's range), ``permute_actions`` (every player), ``transpose`` (2
    players) or ``permute_players``, and ``composite`` (all at once).
    """
    rng = np.random.default_rng(list(seed))
    ranges = _player_ranges(payoffs.reshape(payoffs.shape[0], -1))
    return _transforms(rng, ranges, payoffs.shape[1:], None, int(seed[-1]) % 2)


def stochastic_transforms(spec: StochasticSpec, seed: Sequence[int]) -> list[Transform]:
    """The transforms of :func:`normal_form_transforms` for a stochastic game: the affine maps
    apply to every state's rewards, action relabellings differ from state to state."""
    rng = np.random.default_rng(list(seed))
    flat = np.moveaxis(spec.rewards, 1, 0).reshape(2, -1)
    return _transforms(
        rng, _player_ranges(flat), spec.rewards.shape[2:], spec.rewards.shape[0], int(seed[-1]) % 2
    )


# ------------------------------------------------------------------ independent certificate


@dataclasses.dataclass(frozen=True)
class Scaled:
    """Each player's payoffs mapped onto ``[0, 1]``, computed in halves (no overflow).

    Attributes
    ----------
    unit : ndarray
        ``(u_i - min u_i) / range_i``, the same shape as the payoffs (zeros for a constant player).
    low, half : ndarray, shape (n,)
        ``min u_i`` and ``range_i / 2``.
    floor : ndarray, shape (n,)
        ``ROUNDOFF * max |u_i| / range_i``: round-off in the unit scale (0 for a constant player).
    """

    unit: FloatArray
    low: FloatArray
    half: FloatArray
    floor: FloatArray

    @property
    def constant(self) -> npt.NDArray[np.bool_]:
        """Players whose payoffs are all equal (every profile is a best response for them)."""
        return self.half == 0.0

    def to_unit(self, values: Any, horizon: float = 1.0) -> FloatArray:
        """Per player, values in the user's units (payoffs, or values summing ``horizon``
        weights of rewards) expressed in the unit scale."""
        half = np.where(self.constant, 1.0, self.half)
        return (np.asarray(values, dtype=np.float64) / 2.0 - self.low * horizon / 2.0) / half


def unit_scale(payoffs: Any, axis_players: int = 0) -> Scaled:
    """Map each player's payoffs (axis ``axis_players``) onto ``[0, 1]``."""
    u = np.moveaxis(np.asarray(payoffs, dtype=np.float64), axis_players, 0)
    flat = u.reshape(u.shape[0], -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    half = high / 2.0 - low / 2.0
    safe = np.where(half > 0.0, half, 1.0)
    shape = (-1,) + (1,) * (u.ndim - 1)
    unit = np.where(
        half.reshape(shape) > 0.0, (u / 2.0 - low.reshape(shape) / 2.0) / safe.reshape(shape), 0.0
    )
    largest = np.maximum(np.abs(low), np.abs(high))
    floor = np.where(half > 0.0, ROUNDOFF * (largest / 2.0) / safe, 0.0)
    return Scaled(np.moveaxis(unit, 0, axis_players), low, half, floor)


def _deviations(unit: FloatArray, strategies: Sequence[FloatArray], player: int) -> FloatArray:
    """Expected unit payoff of each pure action of ``player`` against the others' strategies."""
    n = len(strategies)
    axes = string.ascii_letters[:n]
    others = [k for k in range(n) if k != player]
    subscripts = axes + "," + ",".join(axes[k] for k in others) + "->" + axes[player]
    return np.asarray(np.einsum(subscripts, unit[player], *(strategies[k] for k in others)), dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class RelativeCertificate:
    """A profile's expected payoffs and regrets in each player's unit scale, and the bars."""

    payoffs: FloatArray
    regrets: FloatArray
    bars: FloatArray


def relative_certificate(
    scaled: Scaled, strategies: Sequence[Any], tol_rel: float = TOL_REL
) -> RelativeCertificate:
    """Recompute a profile's payoffs and regrets in the unit scale of each player."""
    profile = [np.asarray(s, dtype=np.float64) for s in strategies]
    values, regrets = [], []
    for i in range(len(profile)):
        dev = _deviations(scaled.unit, profile, i)
        value = float(dev @ profile[i])
        values.append(value)
        regrets.append(max(float(dev.max()) - value, 0.0))
    return RelativeCertificate(np.array(values), np.array(regrets), tol_rel + scaled.floor)


def _distribution_problem(strategy: FloatArray, actions: int) -> str | None:
    if strategy.shape != (actions,) or not np.isfinite(strategy).all():
        return f"shape {strategy.shape} for {actions} actions or not finite"
    if strategy.min() < -1e-12 or abs(float(strategy.sum()) - 1.0) > 1e-9:
        return f"not a probability vector: {strategy.tolist()}"
    return None


def certificate_violations(
    payoffs: FloatArray, scaled: Scaled, eq: Any, what: str, own: bool = True, tol_rel: float = TOL_REL
) -> list[str]:
    """Violations of ``eq`` (strategies, and with ``own`` its reported payoffs and regrets) as
    an equilibrium of ``payoffs``, each player in its own scale."""
    strategies = [np.asarray(s, dtype=np.float64) for s in eq.strategies]
    problems = [
        f"{what}: player {i} strategy {p}"
        for i, s in enumerate(strategies)
        if (p := _distribution_problem(s, payoffs.shape[1 + i])) is not None
    ]
    if problems:
        return problems
    cert = relative_certificate(scaled, strategies, tol_rel)
    over = np.flatnonzero(cert.regrets > cert.bars)
    if over.size:
        problems.append(
            f"{what}: relative regrets {_fmt(cert.regrets[over])} of players {over.tolist()} over "
            f"{_fmt(cert.bars[over])} at {_fmt_profile(strategies)}"
        )
    if own:
        live = ~scaled.constant
        reported = scaled.to_unit(eq.payoffs)
        gap = np.abs(reported - cert.payoffs)[live]
        if (gap > AGREE_REL + scaled.floor[live] + 1e-12).any():
            problems.append(
                f"{what}: reported payoffs {list(eq.payoffs)} disagree with recomputed (relative {_fmt(gap)})"
            )
        half = np.where(scaled.constant, 1.0, scaled.half)
        reported_regrets = np.asarray(eq.regrets, dtype=np.float64) / 2.0 / half
        gap = np.abs(reported_regrets - cert.regrets)[live]
        if (gap > AGREE_REL + scaled.floor[live] + 1e-12).any():
            problems.append(
                f"{what}: reported regrets {list(eq.regrets)} disagree with recomputed (relative {_fmt(gap)})"
            )
    return problems


def _fmt(values: Any) -> str:
    return "[" + ", ".join(f"{float(v):.3g}" for v in np.ravel(values)) + "]"


def _fmt_profile(strategies: Sequence[Any]) -> str:
    return "(" + "; ".join(_fmt(s) for s in strategies) + ")"


# ------------------------------------------------------------------------- pure equilibria


@dataclasses.dataclass(frozen=True)
class PureSet:
    """Pure equilibria by brute force: ``certain`` ones (every relative gap at round-off) and
    ``possible`` ones (every gap within ``1e-6``); an answer must hold all of the first and
    only members of the second."""

    certain: frozenset[tuple[int, ...]]
    possible: frozenset[tuple[int, ...]]


def pure_equilibria(scaled: Scaled, tol_rel: float = 1e-6) -> PureSet:
    """Joint actions at which each player's relative gain from deviating is at round-off
    (``certain``) or at most ``tol_rel`` (``possible``)."""
    unit = scaled.unit
    n = unit.shape[0]
    gaps = np.zeros((n, *unit.shape[1:]))
    for i in range(n):
        gaps[i] = unit[i].max(axis=i, keepdims=True) - unit[i]
    floor = scaled.floor.reshape((-1,) + (1,) * n)
    worst = (gaps - floor).max(axis=0)
    certain = frozenset(tuple(int(v) for v in a) for a in np.argwhere(worst <= 1e-12))
    possible = frozenset(tuple(int(v) for v in a) for a in np.argwhere(worst <= tol_rel))
    return PureSet(certain, possible)


def pure_profiles(equilibria: Sequence[Any]) -> set[tuple[int, ...]]:
    """The joint actions of the pure profiles among ``equilibria``."""
    out = set()
    for eq in equilibria:
        strategies = [np.asarray(s, dtype=np.float64) for s in eq.strategies]
        if all(float(s.max()) >= 1.0 - 1e-9 for s in strategies):
            out.add(tuple(int(np.argmax(s)) for s in strategies))
    return out


def pure_violations(
    scaled: Scaled, equilibria: Sequence[Any], what: str, tol_rel: float = 1e-6, truncated: bool = False
) -> list[str]:
    """The pure profiles of an answer against brute force (a profile whose relative regrets
    are within ``tol_rel`` may be counted either way; ``truncated``: the caller capped the
    number of equilibria, so some may be missing)."""
    truth, found = pure_equilibria(scaled, tol_rel), pure_profiles(equilibria)
    problems = []
    if not truncated and (missing := truth.certain - found):
        problems.append(
            f"{what}: {len(missing)} pure equilibria missing, e.g. {sorted(missing)[:3]} (of {len(truth.certain)})"
        )
    if spurious := found - truth.possible:
        problems.append(
            f"{what}: {len(spurious)} pure profiles that are not equilibria, e.g. {sorted(spurious)[:3]}"
        )
    return problems


# ---------------------------------------------------------------------------- set matching


def _same_profile(p: Sequence[FloatArray], q: Sequence[FloatArray], atol: float) -> bool:
    return all(a.shape == b.shape and float(np.abs(a - b).max()) <= atol for a, b in zip(p, q, strict=True))


def unmatched(
    found: Sequence[Sequence[FloatArray]], wanted: Sequence[Sequence[FloatArray]], atol: float = MATCH
) -> list[Sequence[FloatArray]]:
    """Members of ``wanted`` with no member of ``found`` within ``atol`` (any order)."""
    return [w for w in wanted if not any(_same_profile(f, w, atol) for f in found)]


def set_violations(
    original: Sequence[Sequence[FloatArray]], mapped: Sequence[Sequence[FloatArray]], what: str
) -> list[str]:
    """The two sets of profiles are equal within :data:`MATCH` (as sets)."""
    problems = []
    if lost := unmatched(mapped, original):
        problems.append(
            f"{what}: {len(lost)} of {len(original)} profiles of the original not found after the transform, "
            f"e.g. {_fmt_profile(lost[0])}"
        )
    if extra := unmatched(original, mapped):
        problems.append(
            f"{what}: {len(extra)} of {len(mapped)} profiles found only after the transform, e.g. {_fmt_profile(extra[0])}"
        )
    return problems


def empty_complete_violation(result: Any, what: str) -> list[str]:
    """Every finite game has a Nash equilibrium: an empty set answering ``nash`` is never complete."""
    if "nash" in tuple(result.concepts) and result.complete and len(result.equilibria) == 0:
        return [f"{what}: empty set of Nash equilibria marked complete"]
    return []


# ---------------------------------------------------------------- correlated equilibria


def correlated_violations(
    scaled: Scaled, ce: Any, what: str, distribution: Any = None, tol_rel: float = CE_TOL_REL
) -> list[str]:
    """Violations of a (coarse) correlated equilibrium's incentive constraints, each player's
    gain relative to its own range (at most ``tol_rel`` plus round-off)."""
    unit = scaled.unit
    n = unit.shape[0]
    dist = np.asarray(ce.distribution if distribution is None else distribution, dtype=np.float64)
    if dist.shape != unit.shape[1:] or not np.isfinite(dist).all() or dist.min() < -1e-9:
        return [f"{what}: distribution of shape {dist.shape} is not a distribution over {unit.shape[1:]}"]
    if abs(float(dist.sum()) - 1.0) > 1e-7:
        return [f"{what}: distribution sums to {float(dist.sum())}"]
    problems = []
    for i in range(n):
        k = unit.shape[1 + i]
        u = np.moveaxis(unit[i], i, 0).reshape(k, -1)
        q = np.moveaxis(dist, i, 0).reshape(k, -1)
        if ce.kind == "correlated":
            gain = float((q @ u.T - (q * u).sum(axis=1)[:, None]).max())  # told a, play b
        else:
            gain = float((u @ q.sum(axis=0)).max() - (q * u).sum())
        if gain > tol_rel + scaled.floor[i]:
            problems.append(f"{what}: {ce.kind} player {i} gains {gain:.3g} of its range by deviating")
    return problems


#: The welfare functions recomputed here (the Nash product depends on a disagreement point).
LINEAR_WELFARE = ("utilitarian", "egalitarian")


def welfare(payoffs: Any, function: str) -> float:
    """Utilitarian (sum) or egalitarian (min) welfare of a payoff vector (``inf`` past the
    largest float)."""
    if function not in LINEAR_WELFARE:
        raise ValueError(f"welfare(): {function!r} is not recomputed here")
    values = np.asarray(payoffs, dtype=np.float64)
    if function != "utilitarian":
        return float(values.min())
    with np.errstate(over="ignore"):
        return float(values.sum())


# ------------------------------------------------------------------- stochastic certificate


@dataclasses.dataclass(frozen=True)
class MarkovCheck:
    """A profile's values and state gaps in each player's unit reward scale.

    Attributes
    ----------
    values : ndarray, shape (S, n)
        First-stage values of the unit-reward game.
    gaps : ndarray, shape (S, n)
        Best-response gains per state and player (maximum over stages).
    first_gaps : ndarray, shape (S, n)
        The gains at the first stage (``gaps`` for a stationary profile): weighted by the
        initial distribution, each player's regret.
    value_scale : float
        ``1 / (1 - discount)``, or the sum of the stage weights for a finite horizon: the
        largest value range of a unit-reward player.
    """

    values: FloatArray
    gaps: FloatArray
    first_gaps: FloatArray
    value_scale: float


def _stage(
    unit: FloatArray, transitions: FloatArray, policy: Sequence[FloatArray], mask: Any
) -> tuple[FloatArray, FloatArray]:
    """Expected unit rewards ``(S, n)`` and the state chain ``(S, S)`` under a joint policy."""
    joint = np.ones(unit.shape[:1] + unit.shape[2:])
    for i, pol in enumerate(policy):
        shape = [unit.shape[0]] + [1] * (unit.ndim - 2)
        shape[1 + i] = pol.shape[-1]
        joint = joint * pol.reshape(shape)
    joint = np.where(mask, joint, 0.0)
    flat = joint.reshape(unit.shape[0], -1)
    rewards = np.einsum("sa,sna->sn", flat, unit.reshape(unit.shape[0], unit.shape[1], -1))
    chain = np.einsum("sa,sat->st", flat, transitions.reshape(unit.shape[0], flat.shape[1], -1))
    return rewards, chain


def _response_q(
    unit: FloatArray,
    transitions: FloatArray,
    policy: Sequence[FloatArray],
    player: int,
    mask: Any,
    discount: float,
    future: FloatArray,
) -> FloatArray:
    """``Q(s, a_i)`` of ``player`` against the others' policies, continuation ``future`` ``(S,)``."""
    others = [p if k != player else np.ones_like(p) for k, p in enumerate(policy)]
    joint = np.ones(unit.shape[:1] + unit.shape[2:])
    for i, pol in enumerate(others):
        shape = [unit.shape[0]] + [1] * (unit.ndim - 2)
        shape[1 + i] = pol.shape[-1]
        joint = joint * pol.reshape(shape)
    joint = np.where(mask, joint, 0.0)
    total = unit[:, player] + discount * np.tensordot(transitions, future, axes=([-1], [0]))
    q = np.moveaxis(joint * total, 1 + player, 1)
    q = q.reshape(q.shape[0], q.shape[1], -1).sum(axis=2)
    own = np.moveaxis(mask, 1 + player, 1).reshape(mask.shape[0], mask.shape[1 + player], -1).any(axis=2)
    return np.where(own, q, -np.inf)


def markov_certificate(
    rewards: Any,
    transitions: Any,
    discount: float,
    policies: Sequence[Any],
    horizon: int | None = None,
    mask: Any = None,
) -> MarkovCheck:
    """Values and best-response gaps of a stationary ``(S, a_i)`` or per-stage ``(T, S, a_i)``
    profile, recomputed in numpy in each player's unit reward scale (rewards of joint actions
    outside ``mask`` are ignored). Best responses by policy iteration (stationary) or
    backward induction (finite horizon)."""
    r = np.asarray(rewards, dtype=np.float64)
    states, n = r.shape[0], r.shape[1]
    mask = np.ones((states, *r.shape[2:]), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    unit = _masked_unit(r, mask)
    p = np.asarray(transitions, dtype=np.float64)
    pols = [np.asarray(x, dtype=np.float64) for x in policies]
    if horizon is None:
        rew, chain = _stage(unit, p, pols, mask)
        values = np.linalg.solve(np.eye(states) - discount * chain, rew)
        gaps = np.zeros((states, n))
        for i in range(n):
            best = _best_response_values(unit, p, pols, i, mask, discount, values[:, i])
            gaps[:, i] = np.maximum(best - values[:, i], 0.0)
        return MarkovCheck(values, gaps, gaps, 1.0 / (1.0 - discount))
    stage_values, best, gaps = np.zeros((states, n)), np.zeros((states, n)), np.zeros((states, n))
    for t in range(horizon - 1, -1, -1):
        stage_pols = [x[t] for x in pols]
        rew, chain = _stage(unit, p, stage_pols, mask)
        new_best = np.stack(
            [_response_q(unit, p, stage_pols, i, mask, discount, best[:, i]).max(axis=1) for i in range(n)],
            axis=1,
        )
        stage_values = rew + discount * chain @ stage_values
        best = new_best
        gaps = np.maximum(gaps, best - stage_values)
    first = np.maximum(best - stage_values, 0.0)
    return MarkovCheck(
        stage_values, np.maximum(gaps, 0.0), first, float(sum(discount**t for t in range(horizon)))
    )


def _masked_unit(rewards: FloatArray, mask: Any) -> FloatArray:
    """Per player, rewards of existing joint actions mapped onto [0, 1] (others 0)."""
    n = rewards.shape[1]
    moved = np.moveaxis(rewards, 1, 0)
    live = np.broadcast_to(mask, moved.shape[1:])
    lows = np.array([moved[i][live].min() for i in range(n)])
    highs = np.array([moved[i][live].max() for i in range(n)])
    half = highs / 2.0 - lows / 2.0
    safe = np.where(half > 0.0, half, 1.0)
    shape = (1, -1) + (1,) * (rewards.ndim - 2)
    unit = (rewards / 2.0 - lows.reshape(shape) / 2.0) / safe.reshape(shape)
    unit = np.where(half.reshape(shape) > 0.0, unit, 0.0)
    return np.where(np.expand_dims(mask, 1), unit, 0.0)


def _best_response_values(
    unit: FloatArray,
    transitions: FloatArray,
    policy: Sequence[FloatArray],
    player: int,
    mask: Any,
    discount: float,
    start: FloatArray,
) -> FloatArray:
    """Optimal values of ``player``'s MDP against the others, by policy iteration from ``start``."""
    values = start.copy()
    for _ in range(200):
        q = _response_q(unit, transitions, policy, player, mask, discount, values)
        choice = np.argmax(q, axis=1)
        pure = []
        for k, pol in enumerate(policy):
            if k == player:
                pure.append(np.eye(pol.shape[-1])[choice])
            else:
                pure.append(pol)
        rew, chain = _stage(unit, transitions, pure, mask)
        new = np.linalg.solve(np.eye(unit.shape[0]) - discount * chain, rew[:, player])
        if np.all(new <= values + 1e-15):
            return np.maximum(new, values)
        values = np.maximum(new, values)
    return values


def markov_violations(
    spec_rewards: Any,
    transitions: Any,
    discount: float,
    eq: Any,
    what: str,
    horizon: int | None = None,
    mask: Any = None,
    own: bool = True,
    tol_rel: float = TOL_REL,
    initial: Any = None,
) -> list[str]:
    """Violations of a Markov equilibrium: each player's state gaps at most ``tol_rel`` of its
    own largest value range (reward range times :attr:`MarkovCheck.value_scale`) plus
    round-off; with ``own``, its reported ``values`` and ``regrets`` (from ``initial``,
    default uniform) agree with the recomputation."""
    rewards = np.asarray(spec_rewards, dtype=np.float64)
    pols = [np.asarray(p, dtype=np.float64) for p in eq.policies]
    for i, pol in enumerate(pols):
        if not np.isfinite(pol).all() or pol.min() < -1e-12 or np.abs(pol.sum(axis=-1) - 1.0).max() > 1e-9:
            return [f"{what}: policy of player {i} is not a distribution in every state"]
    check = markov_certificate(rewards, transitions, discount, pols, horizon, mask)
    scaled = _markov_scale(rewards, mask)
    bars = (tol_rel + scaled.floor) * check.value_scale
    problems = []
    worst = check.gaps.max(axis=0)
    if (over := np.flatnonzero(worst > bars)).size:
        problems.append(
            f"{what}: relative state gaps {_fmt(worst[over] / check.value_scale)} of players "
            f"{over.tolist()} over {_fmt(bars[over] / check.value_scale)} (units of range/(1-discount))"
        )
    if own:
        problems += _reported_markov_violations(scaled, check, eq, what, initial)
    return problems


def _reported_markov_violations(
    scaled: Scaled, check: MarkovCheck, eq: Any, what: str, initial: Any
) -> list[str]:
    """An equilibrium's own ``values`` and ``regrets`` against the recomputation (unit scale)."""
    problems = []
    bar = (VALUE_REL + float(scaled.floor.max())) * check.value_scale
    live = ~scaled.constant
    reported = scaled.to_unit(np.asarray(eq.values, dtype=np.float64), horizon=check.value_scale)
    gap = np.abs(reported - check.values)[:, live]
    if gap.size and float(gap.max()) > bar:
        problems.append(
            f"{what}: reported values disagree with recomputed (relative {float(gap.max()) / check.value_scale:.3g})"
        )
    states = check.values.shape[0]
    mu0 = np.full(states, 1.0 / states) if initial is None else np.asarray(initial, dtype=np.float64)
    half = np.where(scaled.constant, 1.0, scaled.half)
    regrets = np.asarray(eq.regrets, dtype=np.float64) / 2.0 / half
    gap = np.abs(regrets - mu0 @ check.first_gaps)[live]
    if gap.size and float(gap.max()) > bar:
        problems.append(
            f"{what}: reported regrets {list(eq.regrets)} disagree with recomputed "
            f"(relative {float(gap.max()) / check.value_scale:.3g})"
        )
    return problems


def _markov_scale(rewards: FloatArray, mask: Any) -> Scaled:
    """:class:`Scaled` of the rewards of existing joint actions, players on axis 1."""
    n = rewards.shape[1]
    states = rewards.shape[0]
    mask = np.ones((states, *rewards.shape[2:]), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    moved = np.moveaxis(rewards, 1, 0)
    live = [moved[i][np.broadcast_to(mask, moved.shape[1:])] for i in range(n)]
    return unit_scale(np.stack(live))


def split_budget(total: int, shares: Sequence[float]) -> list[int]:
    """``total`` games over families by ``shares`` (at least one game each)."""
    return [max(1, math.floor(total * s + 0.5)) for s in shares]


# -------------------------------------------------------------------------------- the laws

#: ``solve(payoffs, concepts) -> SolutionSet`` (the solver's or the client's).
NormalSolve = Callable[[FloatArray, tuple[str, ...]], Any]
#: ``solve(spec, concepts) -> MarkovSolutionSet``.
MarkovSolve = Callable[[StochasticSpec, tuple[str, ...]], Any]


@dataclasses.dataclass(frozen=True)
class _Profile:
    """A bare profile, checked as an equilibrium without reported payoffs."""

    strategies: tuple[Any, ...]


def _profiles(result: Any, indices: Sequence[int] | None = None) -> list[tuple[FloatArray, ...]]:
    chosen = range(len(result.equilibria)) if indices is None else indices
    return [tuple(np.asarray(s, dtype=np.float64) for s in result.equilibria[k].strategies) for k in chosen]


def _close(x: float, y: float, tol: float) -> bool:
    """``|x - y| <= tol``, or both the same infinity (the welfare of an empty set is -inf)."""
    return bool(x == y or abs(x - y) <= tol)


def _ranges_sum(scaled: Scaled) -> float:
    """The sum of the players' ranges, in halves (the unit of a utilitarian welfare tolerance)."""
    with np.errstate(over="ignore"):
        return float(2.0 * np.where(scaled.constant, 0.0, scaled.half).sum())


def answer_violations(
    payoffs: FloatArray, result: Any, what: str, tol_rel: float = TOL_REL, truncated: bool = False
) -> list[str]:
    """Laws of one answer about its own game: certificates in each player's own scale
    (regrets within ``tol_rel``), pure equilibria against brute force (all of them unless
    ``truncated`` by a cap on the number of equilibria), welfare and (C)CE values against
    recomputation."""
    scaled = unit_scale(payoffs)
    problems = empty_complete_violation(result, what)
    for k, eq in enumerate(result.equilibria):
        problems += certificate_violations(payoffs, scaled, eq, f"{what}: equilibrium {k}", tol_rel=tol_rel)
    if "pure_nash" in tuple(result.concepts):
        problems += pure_violations(scaled, result.equilibria, what, max(1e-6, tol_rel), truncated)
    welfare_tol = max(VALUE_REL, tol_rel) * _ranges_sum(scaled)  # ties within the tolerance are all kept
    for optimum in (o for o in result.welfare_optima if o.function in LINEAR_WELFARE):
        attained = [
            welfare(result.equilibria[k].payoffs, optimum.function) for k in optimum.equilibrium_indices
        ]
        if not all(_close(w, optimum.value, welfare_tol) for w in attained):
            problems.append(
                f"{what}: {optimum.function} optimum {optimum.value} is not its equilibria's welfare {attained}"
            )
        if optimum.certified and result.complete and "nash" in tuple(result.concepts) and result.equilibria:
            best = max(welfare(eq.payoffs, optimum.function) for eq in result.equilibria)
            if not _close(best, optimum.value, welfare_tol):
                problems.append(
                    f"{what}: certified {optimum.function} {optimum.value} but the complete set reaches {best}"
                )
    correlated = list(result.correlated_equilibria)
    for r in result.welfare_ranges:
        correlated += [r.minimum, r.maximum]
    for ce in correlated:
        label = f"{what}: {ce.kind} {ce.objective}"
        problems += correlated_violations(scaled, ce, label, tol_rel=max(CE_TOL_REL, tol_rel))
        if np.shape(ce.distribution) != payoffs.shape[1:]:
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            recomputed = [
                float((np.asarray(ce.distribution) * payoffs[i]).sum()) for i in range(payoffs.shape[0])
            ]
        if abs(welfare(recomputed, ce.objective) - ce.welfare) > welfare_tol:
            problems.append(
                f"{label}: welfare {ce.welfare} but its distribution gives {welfare(recomputed, ce.objective)}"
            )
    if result.zero_sum is not None:
        zs = result.zero_sum
        problems += certificate_violations(
            payoffs,
            scaled,
            _Profile(tuple(zs.strategies)),
            f"{what}: zero-sum strategies",
            own=False,
            tol_rel=tol_rel,
        )
    return problems


def _comparable(original: Any, new: Any, t: Transform, generic: bool) -> bool:
    """Whether the two answers must be the same set: both complete, or only affine maps apart
    in a generic game (a solver working in each player's unit scale sees the same game, up to
    round-off, and a generic game's equilibria are isolated: a partial search reaches the
    same ones; in a degenerate game round-off may tip an LP or a path to another optimal
    vertex, so there a partial set need not repeat)."""
    return bool(original.complete and new.complete) or (generic and not t.relabels)


def transformed_violations(payoffs: FloatArray, original: Any, new: Any, t: Transform) -> list[str]:
    """Laws linking the answer for ``t.apply(payoffs)`` to the answer for ``payoffs``."""
    what = t.name
    scaled = unit_scale(payoffs)
    problems = []
    if original.complete != new.complete:
        problems.append(f"{what}: complete={new.complete}, the original's is {original.complete}")
    if misfits := [k for k, p in enumerate(_profiles(new)) if not t.fits(p)]:
        return [
            *problems,
            f"{what}: equilibria {misfits} do not fit the transformed game's actions {t.new_actions}",
        ]
    mapped = [t.profile_back(p) for p in _profiles(new)]
    for k, profile in enumerate(mapped):
        problems += certificate_violations(
            payoffs, scaled, _Profile(profile), f"{what}: equilibrium {k} mapped back", own=False
        )
    comparable = _comparable(original, new, t, not is_integer_game(payoffs))
    if comparable:
        problems += set_violations(_profiles(original), mapped, f"{what}: Nash set")
    if "pure_nash" in tuple(new.concepts) and pure_profiles(original.equilibria) != pure_profiles(
        [_Profile(p) for p in mapped]
    ):
        problems.append(
            f"{what}: pure equilibria {sorted(pure_profiles([_Profile(p) for p in mapped]))} mapped back, "
            f"the original's {sorted(pure_profiles(original.equilibria))}"
        )
    if comparable and "pareto_nash" in tuple(new.concepts):
        back = [t.profile_back(p) for p in _profiles(new, new.pareto_indices)]
        problems += set_violations(
            _profiles(original, original.pareto_indices), back, f"{what}: Pareto-optimal set"
        )
    problems += _welfare_laws(scaled, original, new, t, comparable)
    problems += _correlated_laws(scaled, original, new, t)
    problems += _zero_sum_laws(scaled, original, new, t)
    return problems


def _welfare_laws(scaled: Scaled, original: Any, new: Any, t: Transform, comparable: bool) -> list[str]:
    problems = []
    before = {o.function: o for o in original.welfare_optima}
    for optimum in new.welfare_optima:
        old = before.get(optimum.function)
        if old is None:
            continue
        label = f"{t.name}: {optimum.function} welfare"
        if old.certified != optimum.certified:
            problems.append(f"{label}: certified={optimum.certified}, the original's is {old.certified}")
        mapping = t.welfare_map(optimum.function)
        if mapping is not None and (comparable or (old.certified and optimum.certified)):
            expected = mapping(old.value)
            tol = VALUE_REL * float(t.scales[0]) * _ranges_sum(scaled) + ROUNDOFF * abs(expected)
            if not _close(optimum.value, expected, tol):
                problems.append(f"{label}: value {optimum.value}, the original's mapped is {expected}")
        if comparable and mapping is not None:
            back = [t.profile_back(p) for p in _profiles(new, optimum.equilibrium_indices)]
            problems += set_violations(_profiles(original, old.equilibrium_indices), back, f"{label} optima")
    return problems


def _correlated_laws(scaled: Scaled, original: Any, new: Any, t: Transform) -> list[str]:
    problems = []
    pairs_new = [(ce, "optimum") for ce in new.correlated_equilibria]
    for r in new.welfare_ranges:
        pairs_new += [(r.minimum, "minimum"), (r.maximum, "maximum")]
    before: dict[tuple[str, str, str], Any] = {
        (ce.kind, ce.objective, "optimum"): ce for ce in original.correlated_equilibria
    }
    for r in original.welfare_ranges:
        before[(r.kind, r.objective, "minimum")] = r.minimum
        before[(r.kind, r.objective, "maximum")] = r.maximum
    for ce, role in pairs_new:
        label = f"{t.name}: {ce.kind} {ce.objective} {role}"
        problems += correlated_violations(
            scaled, ce, f"{label} mapped back", distribution=t.distribution_back(ce.distribution)
        )
        old = before.get((ce.kind, ce.objective, role))
        mapping = t.welfare_map(ce.objective)
        if old is not None and mapping is not None:
            expected = mapping(old.welfare)
            tol = VALUE_REL * float(t.scales[0]) * _ranges_sum(scaled) + ROUNDOFF * abs(expected)
            if not _close(ce.welfare, expected, tol):
                problems.append(f"{label}: welfare {ce.welfare}, the original's mapped is {expected}")
    return problems


def _zero_sum_laws(scaled: Scaled, original: Any, new: Any, t: Transform) -> list[str]:
    if original.zero_sum is None or new.zero_sum is None or t.common_scale is None:
        return []
    a, (b0, b1) = t.common_scale, (float(t.shifts[0]), float(t.shifts[1]))
    value, constant = float(original.zero_sum.value), float(original.zero_sum.constant)
    expected = a * (constant - value) + b1 if t.players == (1, 0) else a * value + b0
    tol = VALUE_REL * a * 2.0 * float(scaled.half[0]) + ROUNDOFF * abs(expected)
    problems = []
    if not abs(float(new.zero_sum.value) - expected) <= tol:
        problems.append(f"{t.name}: zero-sum value {new.zero_sum.value}, the original's mapped is {expected}")
    if not abs(float(new.zero_sum.constant) - (a * constant + b0 + b1)) <= tol:
        problems.append(
            f"{t.name}: zero-sum constant {new.zero_sum.constant}, expected {a * constant + b0 + b1}"
        )
    return problems


def normal_form_laws(
    payoffs: FloatArray,
    seed: Sequence[int],
    concepts: tuple[str, ...],
    solve: NormalSolve,
    zero_sum: bool = False,
    transforms: Sequence[Transform] | None = None,
) -> list[str]:
    """Every law for one normal-form game and each of its transforms (all violations).

    ``zero_sum``: the game is constant-sum; ``zero_sum_value`` is asked for the original and
    for each transform that keeps it constant-sum.
    """
    wanted = (*concepts, "zero_sum_value") if zero_sum else concepts
    original = solve(payoffs, wanted)
    problems = answer_violations(payoffs, original, "original")
    for t in normal_form_transforms(payoffs, seed) if transforms is None else transforms:
        new_payoffs = t.apply(payoffs)
        asked = wanted if (not zero_sum or t.keeps_constant_sum()) else concepts
        try:
            new = solve(new_payoffs, asked)
        except Exception as exc:  # a refusal of a valid game is a violation, reported with the others
            problems.append(f"{t.name}: solve raised {type(exc).__name__}: {exc}")
            continue
        problems += answer_violations(new_payoffs, new, f"{t.name} (own game)")
        problems += transformed_violations(payoffs, original, new, t)
    return problems


# --------------------------------------------------------------------- stochastic laws


def _policies(result: Any) -> list[tuple[FloatArray, ...]]:
    return [tuple(np.asarray(p, dtype=np.float64) for p in eq.policies) for eq in result.equilibria]


def markov_answer_violations(spec: StochasticSpec, result: Any, what: str) -> list[str]:
    """Laws of one stochastic answer about its own game."""
    problems = empty_complete_violation(result, what)
    for k, eq in enumerate(result.equilibria):
        problems += markov_violations(
            spec.rewards, spec.transitions, spec.discount, eq, f"{what}: equilibrium {k}"
        )
    if result.zero_sum is not None:
        zs = result.zero_sum
        problems += markov_violations(
            spec.rewards,
            spec.transitions,
            spec.discount,
            _Policies(tuple(zs.policies), None),
            f"{what}: zero-sum policies",
            own=False,
        )
        check = markov_certificate(spec.rewards, spec.transitions, spec.discount, zs.policies)
        scaled = _markov_scale(spec.rewards, None)
        reported = scaled.to_unit(
            np.asarray(zs.values, dtype=np.float64)[:, None], horizon=check.value_scale
        )[:, 0]
        if float(np.abs(reported - check.values[:, 0]).max()) > VALUE_REL * check.value_scale:
            problems.append(f"{what}: zero-sum values {list(zs.values)} are not its policies' values")
    return problems


@dataclasses.dataclass(frozen=True)
class _Policies:
    """Bare policies (and values, when reported), checked as a Markov equilibrium."""

    policies: tuple[Any, ...]
    values: Any


def _markov_value_laws(spec: StochasticSpec, original: Any, new: Any, t: Transform) -> list[str]:
    """Zero-sum values: unique, so every answer's values map back onto the original's."""
    if original.zero_sum is None:
        return []
    h = spec.value_horizon
    constant = float(spec.rewards[0, 0].flat[0] + spec.rewards[0, 1].flat[0])
    v0 = np.asarray(original.zero_sum.values, dtype=np.float64)
    truth = np.stack([v0, constant * h - v0], axis=1)  # (S, 2), original players
    tol = VALUE_REL * h * 2.0 * float(_markov_scale(spec.rewards, None).half.max())
    problems = []
    if new.zero_sum is not None and t.common_scale is not None:
        w = np.asarray(new.zero_sum.values, dtype=np.float64)
        k = t.players[0]  # new player 0 is original player k
        back = (w - float(t.shifts[k]) * h) / t.common_scale
        if float(np.abs(back - truth[:, k]).max()) > tol:
            problems.append(
                f"{t.name}: zero-sum values {list(w)} map back to {list(back)}, the original's {list(truth[:, k])}"
            )
    for j, eq in enumerate(new.equilibria):
        back = t.payoffs_back(eq.values, horizon=h)
        if float(np.abs(back - truth).max()) > tol:
            problems.append(
                f"{t.name}: equilibrium {j}'s values map back {back.tolist()}, the unique values {truth.tolist()}"
            )
    return problems


def markov_laws(
    spec: StochasticSpec,
    seed: Sequence[int],
    solve: MarkovSolve,
    zero_sum: bool,
    transforms: Sequence[Transform] | None = None,
) -> list[str]:
    """Every law for one stochastic game and each of its transforms (all violations)."""
    concepts = ("nash", "zero_sum_value") if zero_sum else ("nash", "pareto_nash")
    original = solve(spec, concepts)
    problems = markov_answer_violations(spec, original, "original")
    for t in stochastic_transforms(spec, seed) if transforms is None else transforms:
        new_spec = t.apply_stochastic(spec)
        asked = concepts if (not zero_sum or t.keeps_constant_sum()) else ("nash",)
        try:
            new = solve(new_spec, asked)
        except Exception as exc:  # a refusal of a valid game is a violation, reported with the others
            problems.append(f"{t.name}: solve raised {type(exc).__name__}: {exc}")
            continue
        problems += markov_answer_violations(new_spec, new, f"{t.name} (own game)")
        if asked == concepts and new.complete != original.complete:
            problems.append(f"{t.name}: complete={new.complete}, the original's is {original.complete}")
        if misfits := [k for k, p in enumerate(_policies(new)) if not t.fits(p)]:
            problems.append(f"{t.name}: equilibria {misfits} do not fit the transformed game's actions")
            continue
        mapped = [t.policies_back(p) for p in _policies(new)]
        for k, policies in enumerate(mapped):
            problems += markov_violations(
                spec.rewards,
                spec.transitions,
                spec.discount,
                _Policies(policies, None),
                f"{t.name}: equilibrium {k} mapped back",
                own=False,
            )
        comparable = _comparable(original, new, t, not is_integer_game(spec.rewards)) and asked == concepts
        if comparable:
            problems += set_violations(_policies(original), mapped, f"{t.name}: Markov set")
        if comparable and "pareto_nash" in concepts:
            back = [mapped[k] for k in new.pareto_indices]
            problems += set_violations(
                [_policies(original)[k] for k in original.pareto_indices], back, f"{t.name}: Pareto set"
            )
        problems += _markov_value_laws(spec, original, new, t)
    return problems
