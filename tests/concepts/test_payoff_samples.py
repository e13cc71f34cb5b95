"""PayoffSamples.grow: a meta-game that grows with a PSRO population keeps every sample.

The oracle is numpy on each entry's samples (tests/concepts/test_noisy.py's
``_numpy_statistics``), with the old joint actions' samples placed in the grown game by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from equilibria.solver.concepts.payoff_samples import MAX_SAMPLE_ENTRIES, PayoffSamples
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError

from tests.concepts.test_noisy import _numpy_statistics


@pytest.mark.parametrize(
    ("old", "new"), [((2, 3), (3, 3)), ((1, 1), (2, 4)), ((2, 1, 2), (2, 3, 3)), ((3, 2), (3, 2))]
)
@pytest.mark.parametrize("seed", range(3))
def test_growing_keeps_every_sample_at_its_joint_action(old, new, seed: int) -> None:
    """Samples before the growth (at old joint actions, which keep their indices) and after
    it (anywhere in the grown game), in random batches, give numpy's statistics of all of them."""
    rng = np.random.default_rng(seed)
    n = len(old)
    before = np.stack([rng.integers(0, k, size=40) for k in old], axis=1)
    after = np.stack([rng.integers(0, k, size=40) for k in new], axis=1)
    returns = 1e3 + rng.normal(size=(80, n)) * 2.0
    samples = PayoffSamples(old)
    for part in np.array_split(np.arange(40), 3):
        samples.add(before[part], returns[part])
    samples.grow(new)
    assert samples.num_actions == new
    for part in np.array_split(np.arange(40, 80), 4):
        samples.add(after[part - 40], returns[part])
    counts, means, variances, errors = _numpy_statistics(new, np.vstack([before, after]), returns)
    np.testing.assert_array_equal(samples.counts, counts)
    np.testing.assert_allclose(samples.means, means, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(samples.variances, variances, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(samples.standard_errors, errors, rtol=1e-9)


def test_new_actions_start_without_samples() -> None:
    samples = PayoffSamples((2, 2))
    samples.add([[1, 1], [1, 1], [0, 1]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    samples.grow((3, 2))
    assert samples.counts.tolist() == [[0, 1], [0, 2], [0, 0]]
    assert samples.means[:, 1, 1].tolist() == [2.0, 3.0]
    assert np.isnan(samples.means[:, 2]).all() and np.isinf(samples.standard_errors[:, 2]).all()


@pytest.mark.parametrize(
    ("num_actions", "match"),
    [
        ((2, 1), "no fewer actions"),
        ((2, 2, 2), "keep 2 players"),
        ((2,), "at least 2 action counts"),
        ("22", "at least 2 action counts"),
        ((2, 2.5), "at least 2 action counts"),
    ],
)
def test_a_shrinking_or_malformed_growth_is_refused_and_changes_nothing(num_actions, match: str) -> None:
    samples = PayoffSamples((2, 2))
    samples.add([[0, 0], [1, 1]], [[1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(InvalidOptionError, match=match) as error:
        samples.grow(num_actions)
    assert error.value.field == "samples.num_actions"
    assert samples.num_actions == (2, 2) and samples.counts.tolist() == [[1, 0], [0, 1]]


def test_growth_past_the_entry_limit_is_refused() -> None:
    samples = PayoffSamples((2, 2))
    side = int(np.sqrt(MAX_SAMPLE_ENTRIES / 2)) + 1
    with pytest.raises(ProblemTooLargeError) as error:
        samples.grow((side, side))
    assert error.value.field == "samples.num_actions" and samples.num_actions == (2, 2)


def test_a_return_of_the_largest_magnitude_is_accepted_and_a_larger_one_refused() -> None:
    """The documented bound is inclusive: returns of magnitude MAX_RETURN are recorded (their
    squared deviations stay finite), the next float up is refused naming the returns."""
    from equilibria.solver.concepts.payoff_samples import MAX_RETURN

    samples = PayoffSamples((1, 2))
    samples.add([[0, 0], [0, 0]], [[MAX_RETURN, -MAX_RETURN], [-MAX_RETURN, MAX_RETURN]])
    assert samples.counts.tolist() == [[2, 0]]
    assert np.isfinite(samples.variances[:, 0, 0]).all() and samples.means[:, 0, 0].tolist() == [0.0, 0.0]
    with pytest.raises(InvalidOptionError) as error:
        samples.add([[0, 1]], [[np.nextafter(MAX_RETURN, np.inf), 0.0]])
    assert error.value.field == "samples.returns" and samples.counts.tolist() == [[2, 0]]
