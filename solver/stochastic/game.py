"""Stochastic (Markov) games.

A stochastic game has states :math:`S`, in each state ``s`` a stage game in which
player ``i`` chooses among its actions :math:`A_i(s)`, rewards :math:`r_i(s, a)` for
the joint action ``a``, and transitions :math:`P(s' | s, a)` to the next state. Play
is discounted by :math:`\\gamma \\in [0, 1)` over an infinite horizon, or lasts ``T``
stages (finite horizon, :math:`\\gamma \\in [0, 1]`); it starts from the initial
distribution :math:`\\mu_0`.

Storage. Rewards are a tensor of shape ``(S, n, a_1, ..., a_n)`` where ``a_i`` is the
largest number of actions player ``i`` has in any state; per-state action sets may be
ragged, given by ``action_counts[s, i]``: actions ``k >= action_counts[s, i]`` do not
exist in state ``s``, their rewards are ignored and stored as zero. Transitions are a
``scipy.sparse`` CSR matrix of shape ``(S * A, S)`` with ``A = a_1 * ... * a_n``: row
``s * A + ravel_multi_index(a, (a_1..a_n))`` is the distribution of the next state
after joint action ``a`` in state ``s`` (rows of joint actions that do not exist are
empty). Dense transition tensors ``(S, a_1, ..., a_n, S)`` are accepted and stored
sparse, so games with few successors per state cost memory in proportion to their
successors.

A stationary policy of player ``i`` is an array of shape ``(S, a_i)`` whose rows are
probability vectors over the actions that exist in each state; a finite-horizon
policy has shape ``(T, S, a_i)``, one stationary slice per stage.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.stochastic.game import StochasticGame
>>> pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
>>> game = StochasticGame(pennies[None], np.ones((1, 2, 2, 1)), discount=0.9)
>>> game.n_states, game.n_players, game.num_actions
(1, 2, (2, 2))
>>> game.is_zero_sum()
True

References
----------
.. [1] L. S. Shapley, "Stochastic games", PNAS 39 (1953) 1095-1100.
.. [2] J. Filar and K. Vrieze, *Competitive Markov Decision Processes*, Springer, 1997.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import InvalidGameError
from equilibria.solver.game import ROUNDOFF_RANGE, NormalFormGame, player_ranges

__all__ = ["ROW_TOLERANCE", "StochasticGame", "validate_policy"]


#: How far a transition row or the initial distribution may be from the simplex
#: (negative entries, sum off 1) before it is rejected; rows within it are renormalised.
ROW_TOLERANCE = 1e-9


@dataclasses.dataclass(frozen=True, eq=False)
class StochasticGame:
    """A finite stochastic game, validated on construction.

    Parameters
    ----------
    rewards : array_like of float, shape (S, n_players, a_1, ..., a_n)
        ``rewards[s, i, a_1, ..., a_n]``: player ``i``'s reward for joint action ``a``
        in state ``s``.
    transitions : array_like, shape (S, a_1, ..., a_n, S), or sparse matrix (S*A, S), or tuple
        Dense transition tensor, a ``scipy.sparse`` matrix in the row layout of the
        module docstring, or a coordinate triple ``(rows, next_states, probabilities)``
        in that layout (duplicates are summed).
    discount : float
        :math:`\\gamma`: in ``[0, 1)`` for an infinite horizon, ``[0, 1]`` with a horizon.
    horizon : int, optional
        Number of stages ``T >= 1``; ``None`` (default) for an infinite horizon.
    initial_distribution : array_like of float, shape (S,), optional
        :math:`\\mu_0`; default uniform over states.
    action_counts : array_like of int, shape (S, n_players), optional
        Number of actions of each player in each state; default all ``a_i``.
    title : str, optional
        Display name.
    player_names : tuple of str, optional
        Empty, or one name per player.

    Raises
    ------
    InvalidGameError
        Naming the field (``rewards``, ``transitions``, ``discount``, ``horizon``,
        ``initial_distribution``, ``action_counts``) and, for a transition row off the
        simplex, the state and joint action.

    Examples
    --------
    >>> import numpy as np
    >>> g = StochasticGame(np.zeros((2, 2, 1, 1)), np.full((2, 1, 1, 2), 0.5), discount=0.5)
    >>> g.transition_matrix.shape, g.initial_distribution.tolist()
    ((2, 2), [0.5, 0.5])
    """

    rewards: FloatArray
    transitions: Any
    discount: float = 0.0
    horizon: int | None = None
    initial_distribution: Any = None
    action_counts: Any = None
    title: str = ""
    player_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        rewards = _validated_rewards(self.rewards)
        n_states, n = rewards.shape[0], rewards.shape[1]
        shape = rewards.shape[2:]
        counts = _validated_counts(self.action_counts, n_states, shape)
        mask = _joint_mask(counts, shape)
        rewards = np.where(mask[:, None], rewards, 0.0)
        rewards.setflags(write=False)
        horizon = _validated_horizon(self.horizon)
        discount = _validated_discount(self.discount, horizon)
        matrix = _validated_transitions(self.transitions, n_states, shape, mask)
        mu0 = _validated_initial(self.initial_distribution, n_states)
        player_names = tuple(str(p) for p in self.player_names)
        if player_names and len(player_names) != n:
            raise InvalidGameError(
                "player_names", f"StochasticGame(): {len(player_names)} player names given for {n} players"
            )
        for name, value in (
            ("rewards", rewards),
            ("transitions", matrix),
            ("discount", discount),
            ("horizon", horizon),
            ("initial_distribution", mu0),
            ("action_counts", counts),
            ("player_names", player_names),
        ):
            object.__setattr__(self, name, value)

    # -- shape ---------------------------------------------------------------------------

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return int(self.rewards.shape[0])

    @property
    def n_players(self) -> int:
        """Number of players."""
        return int(self.rewards.shape[1])

    @property
    def num_actions(self) -> tuple[int, ...]:
        """Largest number of actions of each player over the states (the padded shape)."""
        return tuple(int(k) for k in self.rewards.shape[2:])

    @property
    def n_joint_actions(self) -> int:
        """``A = a_1 * ... * a_n``: joint actions per state in the padded layout."""
        return int(np.prod(self.num_actions))

    @property
    def transition_matrix(self) -> sp.csr_array:
        """Transitions as a CSR matrix of shape ``(S * A, S)`` (see the module docstring)."""
        return self.transitions  # type: ignore[no-any-return]

    @property
    def is_finite_horizon(self) -> bool:
        """Whether play lasts ``horizon`` stages."""
        return self.horizon is not None

    @functools.cached_property
    def action_mask(self) -> tuple[npt.NDArray[np.bool_], ...]:
        """Per player, a boolean ``(S, a_i)`` array: which actions exist in which state."""
        counts = self.action_counts
        return tuple(np.arange(k)[None, :] < counts[:, i, None] for i, k in enumerate(self.num_actions))

    @functools.cached_property
    def joint_mask(self) -> npt.NDArray[np.bool_]:
        """Boolean ``(S, a_1, ..., a_n)``: which joint actions exist in which state."""
        return _joint_mask(self.action_counts, self.num_actions)

    @functools.cached_property
    def id(self) -> str:
        """Content address: blake2b-128 of every defining array and scalar."""
        h = hashlib.blake2b(digest_size=16)
        h.update(b"stochastic-v1")
        h.update(np.asarray(self.rewards.shape, dtype="<u8").tobytes())
        h.update(self.rewards.astype("<f8", copy=False).tobytes())
        h.update(self.action_counts.astype("<u8").tobytes())
        m = self.transition_matrix
        h.update(m.indptr.astype("<u8").tobytes())
        h.update(m.indices.astype("<u8").tobytes())
        h.update(m.data.astype("<f8").tobytes())
        h.update(
            np.array([self.discount, -1 if self.horizon is None else self.horizon], dtype="<f8").tobytes()
        )
        h.update(self.initial_distribution.astype("<f8").tobytes())
        return h.hexdigest()

    # -- scales: each player's regret is measured in its own reward range ----------------

    @functools.cached_property
    def _reward_table(self) -> FloatArray:
        """Per player, its rewards at the joint actions that exist: ``(n_players, k)``."""
        return np.moveaxis(self.rewards, 1, 0)[:, self.joint_mask]

    @functools.cached_property
    def reward_minima(self) -> FloatArray:
        """Each player's smallest reward over the joint actions that exist, ``(n_players,)``."""
        return np.asarray(self._reward_table.min(axis=1), dtype=np.float64)

    @functools.cached_property
    def reward_scales(self) -> FloatArray:
        """Each player's reward range over the joint actions that exist: the unit of its tolerances.

        Computed without overflow (capped at the largest float). See :meth:`value_tolerances`.

        Examples
        --------
        >>> import numpy as np
        >>> r = np.stack([np.array([[0.0, 1e-9]]), np.array([[5.0, 1.0]])])[None]
        >>> g = StochasticGame(r, np.ones((1, 1, 2, 1)), discount=0.5)
        >>> g.reward_scales.tolist(), g.reward_scale
        ([1e-09, 4.0], 4.0)
        """
        return player_ranges(self._reward_table)

    @functools.cached_property
    def reward_scale(self) -> float:
        """Largest reward range over players (1.0 when every player's rewards are constant).

        One number for the whole game, for display and for quantities that mix players;
        tolerances are per player (:meth:`value_tolerances`).
        """
        largest = float(self.reward_scales.max())
        return largest if largest > 0.0 else 1.0

    @functools.cached_property
    def _largest_rewards(self) -> FloatArray:
        return np.asarray(np.abs(self._reward_table).max(axis=1), dtype=np.float64)

    @property
    def effective_horizon(self) -> float:
        """How many rewards a value can hold: ``sum_t gamma^t`` over the stages, ``1 / (1 - gamma)``."""
        gamma = self.discount
        if self.horizon is None:
            return 1.0 / (1.0 - gamma)
        return float(self.horizon) if gamma == 1.0 else (1.0 - gamma**self.horizon) / (1.0 - gamma)

    def value_tolerances(self, tol: float) -> FloatArray:
        """Per player, the largest state gap (best-response gain) of an equilibrium within ``tol``.

        ``max(tol * reward_scales[i], ROUNDOFF_RANGE * max |r_i|) * effective_horizon``: a
        fraction of the player's own value range, floored only at float round-off.
        Multiplying one player's rewards by a positive number scales its tolerance alike,
        and adding a constant to them changes nothing but the round-off floor, so neither
        changes an answer.

        Examples
        --------
        >>> import numpy as np
        >>> r = np.stack([np.array([[0.0, 1e-9]]), np.array([[5.0, 1.0]])])[None]
        >>> g = StochasticGame(r, np.ones((1, 1, 2, 1)), discount=0.5)
        >>> g.value_tolerances(1e-9).tolist()
        [2e-18, 8e-09]
        """
        with np.errstate(over="ignore"):
            per_stage = np.maximum(tol * self.reward_scales, ROUNDOFF_RANGE * self._largest_rewards)
            return np.minimum(per_stage * self.effective_horizon, np.finfo(np.float64).max)

    def unit_value_tolerances(self, tol: float) -> FloatArray:
        """:meth:`value_tolerances` in the units of :attr:`unit_game` (divided by each player's range).

        ``tol * effective_horizon`` for a player whose rewards are constant.

        Examples
        --------
        >>> import numpy as np
        >>> r = np.stack([np.array([[0.0, 1e-9]]), np.array([[5.0, 5.0]])])[None]
        >>> g = StochasticGame(r, np.ones((1, 1, 2, 1)), discount=0.5)
        >>> g.unit_value_tolerances(1e-9).tolist()
        [2e-09, 2e-09]
        """
        scales = self.reward_scales
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = self.value_tolerances(tol) / scales
        return np.where(scales > 0.0, relative, tol * self.effective_horizon)

    def within_tolerance(self, gaps: npt.ArrayLike, tol: float) -> bool:
        """Whether every player's gap (shape ``(..., n_players)``) is within :meth:`value_tolerances`."""
        values = np.asarray(gaps, dtype=np.float64)
        return bool(np.all(values <= self.value_tolerances(tol)))

    @functools.cached_property
    def unit_game(self) -> StochasticGame:
        """The strategically equivalent game with each player's rewards mapped onto ``[0, 1]``.

        Player ``i``'s rewards become ``(r_i - min r_i) / range_i`` over the joint actions
        that exist (zeros for a player whose rewards are constant). Every transition row
        of an existing joint action sums to 1, so every path collects exactly one reward
        per stage: the shift adds ``min r_i`` times the same discounted sum to each of the
        player's values, the scale multiplies them, and no best response changes. Solvers
        work on this game, so that no tolerance depends on the units of the rewards and no
        arithmetic overflows (rewards of magnitude 1e308 included). Map values back with
        :meth:`values_from_unit`.

        Examples
        --------
        >>> import numpy as np
        >>> r0 = np.array([[[1e308, -1e308]]])
        >>> g = StochasticGame(np.stack([r0, -r0 * 1e-300], axis=1), np.ones((1, 1, 2, 1)), discount=0.5)
        >>> g.unit_game.rewards[0].tolist()
        [[[1.0, 0.0]], [[0.0, 1.0]]]
        """
        table = self._reward_table
        low = table.min(axis=1)
        half = table.max(axis=1) / 2.0 - low / 2.0
        shape = (1, -1) + (1,) * self.n_players
        out = (self.rewards / 2.0 - low.reshape(shape) / 2.0) / np.where(half > 0.0, half, 1.0).reshape(shape)
        out = np.where((half.reshape(shape) > 0.0) & self.joint_mask[:, None], np.clip(out, 0.0, 1.0), 0.0)
        if np.array_equal(out, self.rewards):
            return self
        return StochasticGame(
            out,
            self.transition_matrix,
            discount=self.discount,
            horizon=self.horizon,
            initial_distribution=self.initial_distribution,
            action_counts=self.action_counts,
            title=self.title,
            player_names=self.player_names,
        )

    def values_from_unit(
        self, values: npt.ArrayLike, stages: float | None = None, player: int | None = None
    ) -> FloatArray:
        """Values of :attr:`unit_game` in the units of this game.

        ``min r_i * stages + range_i * values[..., i]``, with ``stages`` the discounted
        number of rewards the values hold (default :attr:`effective_horizon`). Computed in
        halves; a value beyond the largest float is infinite.

        Parameters
        ----------
        values : array_like, shape (..., n_players), or any shape with ``player``
        stages : float, optional
        player : int, optional
            Map the values of this player only.

        Examples
        --------
        >>> import numpy as np
        >>> r = np.stack([np.array([[2.0, 4.0]]), np.array([[3.0, 3.0]])])[None]
        >>> g = StochasticGame(r, np.ones((1, 1, 2, 1)), discount=0.5)
        >>> g.values_from_unit(np.array([[0.5, 0.0]])).tolist(), g.values_from_unit([1.0], player=0).tolist()
        ([[5.0, 6.0]], [6.0])
        """
        steps = self.effective_horizon if stages is None else float(stages)
        table = self._reward_table if player is None else self._reward_table[player]
        low = table.min(axis=-1)
        half = table.max(axis=-1) / 2.0 - low / 2.0
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(
                2.0 * (low / 2.0 * steps + half * np.asarray(values, dtype=np.float64)), dtype=np.float64
            )

    def is_zero_sum(self, tol: float = 1e-9) -> bool:
        """Whether the game has 2 players whose rewards, each mapped onto ``[0, 1]``, sum to a constant.

        Relative to each player's own range, so a positive affine map of either player's
        rewards (``r_1 = -1e6 r_0 + 3``, say) keeps a game zero-sum, and a general-sum game
        with tiny rewards is not. Overflow-safe.
        """
        if self.n_players != 2:
            return False
        unit = self.unit_game
        total = (unit.rewards[:, 0] + unit.rewards[:, 1])[self.joint_mask]
        return bool(np.ptp(total) <= tol)

    def is_team(self, tol: float = 1e-9) -> bool:
        """Whether the players' rewards, each mapped onto ``[0, 1]``, are equal (a common-payoff game).

        Relative to each player's own range, so a positive affine map of any player's
        rewards keeps a team game a team game.
        """
        spread = np.ptp(self.unit_game.rewards, axis=1)[self.joint_mask]
        return bool(spread.size == 0 or spread.max() <= tol)

    # -- values and stage games ------------------------------------------------------------

    def continuation(self, values: FloatArray) -> FloatArray:
        """Expected next-state values ``sum_s' P(s'|s,a) V(s')``, shape ``(S, n, a_1..a_n)``.

        Parameters
        ----------
        values : ndarray, shape (S, n_players)
            A value per state and player.
        """
        values = np.asarray(values, dtype=np.float64).reshape(self.n_states, -1)
        nxt = self.transition_matrix @ values  # (S*A, k)
        nxt = nxt.reshape((self.n_states, *self.num_actions, values.shape[1]))
        return np.moveaxis(nxt, -1, 1)

    def q_values(self, values: FloatArray, discount: float | None = None) -> FloatArray:
        """Stage payoffs ``r(s, a) + gamma * sum_s' P(s'|s,a) V(s')``, shape ``(S, n, a_1..a_n)``.

        Entries of joint actions that do not exist are zero.
        """
        gamma = self.discount if discount is None else discount
        q = self.rewards + gamma * self.continuation(values)
        return np.where(self.joint_mask[:, None], q, 0.0)

    def stage_game(self, state: int, values: FloatArray | None = None) -> NormalFormGame:
        """The normal-form game played in ``state`` over its existing actions.

        Its payoffs are the rewards plus the discounted continuation values ``values``
        (shape ``(S, n_players)``; default zero: the one-shot stage game).

        Examples
        --------
        >>> import numpy as np
        >>> g = StochasticGame(np.ones((1, 2, 2, 2)), np.ones((1, 2, 2, 1)), discount=0.5)
        >>> g.stage_game(0, np.array([[2.0, 4.0]])).payoffs[:, 0, 0].tolist()
        [2.0, 3.0]
        """
        if not 0 <= state < self.n_states:
            raise InvalidGameError(
                "state", f"stage_game(): state {state} out of range 0..{self.n_states - 1}"
            )
        payoffs = self.rewards[state]
        if values is not None:
            values = np.asarray(values, dtype=np.float64).reshape(self.n_states, -1)
            rows = slice(state * self.n_joint_actions, (state + 1) * self.n_joint_actions)
            nxt = (self.transition_matrix[rows] @ values).reshape((*self.num_actions, values.shape[1]))
            payoffs = payoffs + self.discount * np.moveaxis(nxt, -1, 0)
        index = (slice(None), *(slice(0, int(k)) for k in self.action_counts[state]))
        return NormalFormGame(payoffs[index])

    def __repr__(self) -> str:
        title = f" {self.title!r}" if self.title else ""
        horizon = f"horizon={self.horizon}, " if self.horizon is not None else ""
        return (
            f"StochasticGame{title}(n_states={self.n_states}, n_players={self.n_players}, "
            f"num_actions={self.num_actions}, {horizon}discount={self.discount})"
        )


def validate_policy(
    game: StochasticGame, policy: Sequence[Any], field: str = "policy"
) -> tuple[FloatArray, ...]:
    """Check and normalise a stationary (or, with a horizon, per-stage) policy profile.

    Parameters
    ----------
    game : StochasticGame
    policy : sequence of array_like
        Per player, shape ``(S, a_i)`` — or ``(T, S, a_i)`` for a finite-horizon game
        (a stationary ``(S, a_i)`` policy is then repeated over the stages).
    field : str
        Name used in error messages.

    Returns
    -------
    tuple of ndarray
        Per player, float64 ``(S, a_i)`` (infinite horizon) or ``(T, S, a_i)``, rows
        renormalised, zero on actions that do not exist.

    Raises
    ------
    InvalidGameError
        For a wrong shape, a negative or non-finite entry, probability on an action that
        does not exist, or a row that does not sum to 1 within 1e-6; the message names
        the player and state.
    """
    if len(policy) != game.n_players:
        raise InvalidGameError(
            field, f"validate_policy(): {len(policy)} policies for {game.n_players} players"
        )
    out = []
    for i, (raw, k) in enumerate(zip(policy, game.num_actions, strict=True)):
        arr = np.array(raw, dtype=np.float64)
        stationary_shape = (game.n_states, k)
        if game.horizon is not None and arr.shape == stationary_shape:
            arr = np.broadcast_to(arr, (game.horizon, *stationary_shape)).copy()
        wanted = stationary_shape if game.horizon is None else (game.horizon, *stationary_shape)
        if arr.shape != wanted:
            raise InvalidGameError(
                f"{field}[{i}]",
                f"validate_policy(): player {i} policy has shape {arr.shape}, expected {wanted}",
            )
        if not np.isfinite(arr).all() or (arr < -1e-9).any():
            bad = np.argwhere(~np.isfinite(arr) | (arr < -1e-9))[0]
            raise InvalidGameError(
                f"{field}[{i}]",
                f"validate_policy(): player {i} has an invalid probability at index {tuple(int(b) for b in bad)}",
            )
        mask = np.broadcast_to(game.action_mask[i], arr.shape)
        if (np.abs(arr[~mask]) > 1e-9).any():
            bad = np.argwhere(~mask & (np.abs(arr) > 1e-9))[0]
            raise InvalidGameError(
                f"{field}[{i}]",
                f"validate_policy(): player {i} puts probability on an action that does not exist at index {tuple(int(b) for b in bad)}",
            )
        arr = np.where(mask, np.clip(arr, 0.0, None), 0.0)
        sums = arr.sum(axis=-1)
        if (np.abs(sums - 1.0) > 1e-6).any():
            bad = np.argwhere(np.abs(sums - 1.0) > 1e-6)[0]
            raise InvalidGameError(
                f"{field}[{i}]",
                f"validate_policy(): player {i} row {tuple(int(b) for b in bad)} sums to {float(sums[tuple(bad)]):.9g}, not 1",
            )
        out.append(arr / sums[..., None])
    return tuple(out)


# -- validation -------------------------------------------------------------------------------


def _validated_rewards(value: Any) -> FloatArray:
    try:
        rewards = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError(
            "rewards", f"StochasticGame(): rewards is not a numeric array ({exc})"
        ) from exc
    if rewards.ndim < 4 or rewards.shape[1] != rewards.ndim - 2 or rewards.shape[1] < 2:
        raise InvalidGameError(
            "rewards",
            "StochasticGame(): rewards must have shape (S, n_players, a_1, ..., a_n) with n_players >= 2, "
            f"got {rewards.shape}",
        )
    if any(k == 0 for k in rewards.shape):
        raise InvalidGameError(
            "rewards", f"StochasticGame(): rewards has an empty axis (shape {rewards.shape})"
        )
    if not np.isfinite(rewards).all():
        bad = tuple(int(k) for k in np.argwhere(~np.isfinite(rewards))[0])
        raise InvalidGameError("rewards", f"StochasticGame(): reward at index {bad} is not finite")
    return np.ascontiguousarray(rewards)


def _validated_counts(value: Any, n_states: int, shape: tuple[int, ...]) -> npt.NDArray[np.int64]:
    full = np.broadcast_to(np.asarray(shape, dtype=np.int64), (n_states, len(shape)))
    if value is None or (hasattr(value, "__len__") and len(value) == 0):
        counts = full.copy()
    else:
        try:
            counts = np.array(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidGameError(
                "action_counts", f"StochasticGame(): action_counts is not numeric ({exc})"
            ) from exc
        if counts.size == n_states * len(shape):
            counts = counts.reshape(n_states, len(shape))
        if counts.shape != full.shape:
            raise InvalidGameError(
                "action_counts",
                f"StochasticGame(): action_counts must have shape {full.shape}, got {counts.shape}",
            )
        if not np.isfinite(counts).all() or (counts != np.round(counts)).any():
            raise InvalidGameError("action_counts", "StochasticGame(): action_counts must be integers")
        counts = counts.astype(np.int64)
        bad = np.argwhere((counts < 1) | (counts > full))
        if bad.size:
            s, i = (int(k) for k in bad[0])
            raise InvalidGameError(
                "action_counts",
                f"StochasticGame(): player {i} has {counts[s, i]} actions in state {s}; expected 1..{shape[i]}",
            )
    counts = np.ascontiguousarray(counts)
    counts.setflags(write=False)
    return counts


def _joint_mask(counts: npt.NDArray[np.int64], shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    n_states, n = counts.shape
    mask = np.ones((n_states, *shape), dtype=bool)
    for i, k in enumerate(shape):
        axis_shape = [1] * (n + 1)
        axis_shape[i + 1] = k
        mask &= np.arange(k).reshape(axis_shape) < counts[:, i].reshape([n_states] + [1] * n)
    return mask


def _validated_horizon(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not float(value).is_integer() or int(value) < 1:
        raise InvalidGameError(
            "horizon", f"StochasticGame(): horizon must be an integer >= 1 or None, got {value!r}"
        )
    return int(value)


def _validated_discount(value: Any, horizon: int | None) -> float:
    try:
        gamma = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError("discount", f"StochasticGame(): discount is not a number ({value!r})") from exc
    upper_ok = gamma <= 1.0 if horizon is not None else gamma < 1.0
    if not (np.isfinite(gamma) and gamma >= 0.0 and upper_ok):
        wanted = "[0, 1] with a finite horizon" if horizon is not None else "[0, 1) for an infinite horizon"
        raise InvalidGameError("discount", f"StochasticGame(): discount {gamma!r} not in {wanted}")
    return gamma


def _validated_transitions(
    value: Any, n_states: int, shape: tuple[int, ...], mask: npt.NDArray[np.bool_]
) -> sp.csr_array:
    n_joint = int(np.prod(shape))
    rows_total = n_states * n_joint
    if sp.issparse(value):
        matrix = sp.csr_array(value, dtype=np.float64)
    elif isinstance(value, tuple) and len(value) == 3:
        try:
            rows, cols, probs = (np.asarray(v).ravel() for v in value)
            rows_i, cols_i = rows.astype(np.int64), cols.astype(np.int64)
            probs_f = probs.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidGameError(
                "transitions", f"StochasticGame(): sparse transitions are not numeric ({exc})"
            ) from exc
        if not (len(rows_i) == len(cols_i) == len(probs_f)):
            raise InvalidGameError(
                "transitions",
                f"StochasticGame(): sparse transitions have {len(rows_i)} rows, {len(cols_i)} next states "
                f"and {len(probs_f)} probabilities",
            )
        if len(rows_i) and (rows_i.min() < 0 or rows_i.max() >= rows_total or (rows_i != rows).any()):
            raise InvalidGameError(
                "transitions.rows",
                f"StochasticGame(): transition rows must be integers in 0..{rows_total - 1}",
            )
        if len(cols_i) and (cols_i.min() < 0 or cols_i.max() >= n_states or (cols_i != cols).any()):
            raise InvalidGameError(
                "transitions.next_states",
                f"StochasticGame(): next states must be integers in 0..{n_states - 1}",
            )
        matrix = sp.csr_array((probs_f, (rows_i, cols_i)), shape=(rows_total, n_states))
    else:
        try:
            dense = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidGameError(
                "transitions", f"StochasticGame(): transitions is not a numeric array ({exc})"
            ) from exc
        wanted = (n_states, *shape, n_states)
        if dense.shape != wanted:
            raise InvalidGameError(
                "transitions", f"StochasticGame(): transitions must have shape {wanted}, got {dense.shape}"
            )
        matrix = sp.csr_array(dense.reshape(rows_total, n_states))
    if matrix.shape != (rows_total, n_states):
        raise InvalidGameError(
            "transitions",
            f"StochasticGame(): transition matrix must have shape {(rows_total, n_states)}, got {matrix.shape}",
        )
    matrix.sum_duplicates()
    data = matrix.data
    if not np.isfinite(data).all():
        raise InvalidGameError("transitions", "StochasticGame(): a transition probability is not finite")
    exists = mask.reshape(rows_total)
    row_of = np.repeat(np.arange(rows_total), np.diff(matrix.indptr))
    bad_entry = (data < -ROW_TOLERANCE) & exists[row_of]
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    bad_rows = exists & (np.abs(sums - 1.0) > ROW_TOLERANCE)
    if bad_entry.any() or bad_rows.any():
        row = int(row_of[np.argmax(bad_entry)]) if bad_entry.any() else int(np.argmax(bad_rows))
        state, joint = divmod(row, n_joint)
        action = tuple(int(k) for k in np.unravel_index(joint, shape))
        what = "has a negative probability" if bad_entry.any() else f"sums to {sums[row]:.12g}"
        raise InvalidGameError(
            "transitions",
            f"StochasticGame(): the transition row of state {state}, joint action {action} {what}; "
            f"rows must be probability vectors within {ROW_TOLERANCE:g}",
        )
    data = np.where(exists[row_of], np.clip(data, 0.0, None), 0.0)
    matrix = sp.csr_array((data, matrix.indices, matrix.indptr), shape=matrix.shape)
    matrix.eliminate_zeros()
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.where(sums > 0, 1.0 / np.where(sums > 0, sums, 1.0), 0.0)
    matrix = sp.csr_array(sp.diags_array(scale) @ matrix)
    matrix.sort_indices()
    return matrix


def _validated_initial(value: Any, n_states: int) -> FloatArray:
    if value is None or (hasattr(value, "__len__") and len(value) == 0):
        mu0 = np.full(n_states, 1.0 / n_states)
    else:
        try:
            mu0 = np.array(value, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise InvalidGameError(
                "initial_distribution", f"StochasticGame(): initial_distribution is not numeric ({exc})"
            ) from exc
        if mu0.shape != (n_states,):
            raise InvalidGameError(
                "initial_distribution",
                f"StochasticGame(): initial_distribution must have {n_states} entries, got {mu0.size}",
            )
        if not np.isfinite(mu0).all() or (mu0 < -ROW_TOLERANCE).any() or abs(mu0.sum() - 1.0) > ROW_TOLERANCE:
            raise InvalidGameError(
                "initial_distribution",
                f"StochasticGame(): initial_distribution must be a probability vector within {ROW_TOLERANCE:g} "
                f"(sum {mu0.sum():.12g})",
            )
        mu0 = np.clip(mu0, 0.0, None)
        mu0 = mu0 / mu0.sum()
    mu0.setflags(write=False)
    return mu0
