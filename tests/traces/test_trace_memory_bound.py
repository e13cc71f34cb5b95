"""The memory bound of a trace scorer against the bytes it allocates (``tracemalloc``).

:func:`trace_memory_bound` is what a server reserves for a trace stream before it
allocates anything, so it must never be below what the scorer takes: here it is
compared with the peak of Python and numpy allocations while a scorer is built, fed
its chunks and scored after each. Where large arrays dominate (count tables, joint
distributions, CE constraints, per-state tables) it must also stay within 4x of it.
"""

from __future__ import annotations

import dataclasses
import gc
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, StochasticGame, solve, solve_stochastic
from equilibria.solver.traces import ScoreOptions, SolutionTarget, TraceChunk, TraceScorer
from equilibria.solver.traces.memory import count_capacity, trace_memory_bound


def _random_game(rng: np.random.Generator, a: int, b: int) -> NormalFormGame:
    return NormalFormGame.from_bimatrix(
        rng.integers(0, 9, (a, b)).astype(float), rng.integers(0, 9, (a, b)).astype(float)
    )


def _samples(rng: np.random.Generator, game, rows: int, keys: int, chunks: int = 3) -> list[TraceChunk]:
    out = []
    for _ in range(chunks):
        actions = np.stack([rng.integers(0, a, rows) for a in game.num_actions], axis=1)
        out.append(TraceChunk(joint_actions=actions, history=rng.integers(0, keys, rows)))
    return out


def _policies(rng: np.random.Generator, game, rows: int, chunks: int = 2) -> list[TraceChunk]:
    return [
        TraceChunk(
            policies=tuple(rng.dirichlet(np.ones(a), rows) for a in game.num_actions),
            returns=rng.normal(size=(rows, game.n_players)),
        )
        for _ in range(chunks)
    ]


@dataclasses.dataclass(frozen=True)
class Case:
    """A game, the set it is scored against, options and the chunks fed."""

    build: Callable[[np.random.Generator], tuple[object, object, ScoreOptions, list[TraceChunk]]]
    tight: bool  # large arrays dominate (not a chunk's working arrays): the bound is within 4x of the peak


def _count_table(rng):
    game = _random_game(rng, 150, 150)
    # a partial set (one equilibrium): the correlation of the joint play is scored too
    return game, solve(game, method="lemke_howson"), ScoreOptions(), _samples(rng, game, 8000, 40)


def _many_histories(rng):
    game = _random_game(rng, 40, 40)
    return game, solve(game, method="lemke_howson"), ScoreOptions(), _samples(rng, game, 30_000, 1500)


def _many_targets(rng):
    game = _random_game(rng, 40, 40)
    points = SolutionTarget.from_points(
        [[rng.dirichlet(np.ones(a)) for a in game.num_actions] for _ in range(100)]
    )
    options = ScoreOptions(metric="kl", criteria=("averaged_joint_policy",), n_checkpoints=8)
    return game, points, options, _samples(rng, game, 1000, 20, chunks=2)


def _correlated(rng):
    game = _random_game(rng, 12, 12)
    options = ScoreOptions(joint_concept="correlated", n_checkpoints=8)
    return game, solve(game, method="lemke_howson"), options, _samples(rng, game, 300, 2, chunks=2)


def _stochastic(rng):
    states, actions = 20, 4
    game = StochasticGame(
        rng.normal(size=(states, 2, actions, actions)),
        rng.dirichlet(np.ones(states), size=(states, actions, actions)),
        discount=0.9,
    )
    chunks = [
        TraceChunk(joint_actions=rng.integers(0, actions, (2000, 2)), history=rng.integers(0, states, 2000)),
        TraceChunk(policies=tuple(rng.dirichlet(np.ones(actions), (60, states)) for _ in range(2))),
    ]
    return game, solve_stochastic(game), ScoreOptions(n_checkpoints=8), chunks


def _small(rng):
    game = _random_game(rng, 3, 3)
    return game, solve(game), ScoreOptions(), _policies(rng, game, 3000) + _samples(rng, game, 3000, 50)


def _degenerate(rng):
    game = NormalFormGame.from_bimatrix([[1, 1], [1, 1], [0, 2]], [[1, 1], [1, 1], [2, 0]])  # a component
    return (
        game,
        solve(game),
        ScoreOptions(metric="js"),
        _policies(rng, game, 4000) + _samples(rng, game, 4000, 20),
    )


def _credit(rng):
    g = rng.normal(size=(6, 5, 4))  # a team game of three agents: credit_assignment by default
    game = NormalFormGame(np.stack([g, g, g]))
    return game, solve(game), ScoreOptions(), _policies(rng, game, 3000)


def _credit_stochastic(rng):
    states, actions = 12, 3
    r = rng.normal(size=(states, actions, actions))
    game = StochasticGame(
        np.stack([r, r], axis=1),
        rng.dirichlet(np.ones(states), size=(states, actions, actions)),
        discount=0.9,
    )
    chunks = [TraceChunk(policies=tuple(rng.dirichlet(np.ones(actions), (400, states)) for _ in range(2)))]
    return (
        game,
        solve_stochastic(game),
        ScoreOptions(n_checkpoints=8, criteria=("credit_assignment",)),
        chunks,
    )


CASES = [
    pytest.param(Case(_credit, False), id="credit-3-agents"),
    pytest.param(Case(_credit_stochastic, False), id="credit-stochastic-12-states"),
    pytest.param(Case(_count_table, True), id="count-table-150x150-40-histories-partial"),
    pytest.param(Case(_many_histories, True), id="count-table-40x40-1500-histories"),
    pytest.param(Case(_many_targets, True), id="joint-distributions-100-points-kl"),
    pytest.param(Case(_correlated, True), id="correlated-polytope-12x12"),
    pytest.param(Case(_stochastic, False), id="stochastic-20-states"),
    pytest.param(Case(_small, False), id="small-3x3-all-streams"),
    pytest.param(Case(_degenerate, False), id="component-with-vertices-js"),
]


def _chunk_bytes(chunk: TraceChunk) -> int:
    arrays = [*(chunk.policies or ()), chunk.joint_actions, chunk.history, chunk.returns]
    return sum(a.nbytes for a in arrays if a is not None)


@pytest.fixture(scope="module", autouse=True)
def _compiled_kernels() -> None:
    """Load every compiled kernel once before anything is measured (their code is not the
    scorer's): each case's game once, so a cold numba cache compiles outside the measurement."""
    rng = np.random.default_rng(1)
    for case in CASES:
        game, target, options, chunks = case.values[0].build(rng)
        scorer = TraceScorer(game, target, options)
        for chunk in chunks[:2]:
            scorer.update(chunk)
            scorer.result()


@pytest.mark.parametrize("case", CASES)
def test_the_bound_covers_what_the_scorer_allocates(case: Case) -> None:
    game, target, options, chunks = case.build(np.random.default_rng(0))
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        scorer = TraceScorer(game, target, options)
        bounds = []
        for chunk in chunks:
            bounds.append(scorer.memory_bound(chunk, chunk_bytes=max(_chunk_bytes(c) for c in chunks)))
            scorer.update(chunk)
            scorer.result()
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    bound = max(b.total for b in bounds)
    assert scorer.state_nbytes < bound
    assert peak <= bound, f"peak {peak:,} over the bound {bound:,}"
    if case.tight:
        assert bound <= 4 * peak, f"bound {bound:,} is more than 4x the peak {peak:,}"


def test_the_bound_grows_with_the_histories_a_chunk_brings_before_they_are_counted() -> None:
    rng = np.random.default_rng(2)
    game = _random_game(rng, 30, 30)
    scorer = TraceScorer(game, solve(game))
    first = TraceChunk(joint_actions=np.zeros((5, 2), dtype=int), history=np.arange(5))
    more = TraceChunk(joint_actions=np.zeros((50, 2), dtype=int), history=np.arange(50))
    before = scorer.memory_bound(first)
    assert before.histories == 5
    scorer.update(first)
    after = scorer.memory_bound(more)
    assert scorer._counts.shape[0] == 5  # the bound is asked before the table grows
    assert after.histories == count_capacity(5, 50, 100_000) == 50
    assert after.total - before.total >= 45 * 900 * 8
    scorer.update(more)
    assert scorer._counts.shape[0] == after.histories


def test_the_issue_example_needs_a_count_table_of_392_mb() -> None:
    """700x700 joint actions and 100 history keys: 100 rows of 490,000 int64 counts."""
    game = NormalFormGame(np.zeros((2, 700, 700)))
    bound = trace_memory_bound(game, None, ScoreOptions(), histories=100)
    assert bound.largest.name == "count table"
    assert bound.largest.nbytes == 100 * (490_000 * 8 + 40)
    assert bound.total > 256 << 20  # over the default per-stream budget
    assert (
        trace_memory_bound(game, None, ScoreOptions(criteria=("last_iterate",)), histories=100).total
        < 64 << 20
    )
