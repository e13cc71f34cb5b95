"""Client pieces that need no server: import isolation, the tensor codec, retries, errors."""

from __future__ import annotations

import random
import subprocess
import sys

import equilibria.client as client_pkg
import grpc
import numpy as np
import pytest
from equilibria.client import RetryConfig
from equilibria.client._convert import game_to_proto
from equilibria.client._tensor import TensorError, TensorTooLargeError, decode_tensor, encode_tensor
from equilibria.v1 import game_pb2


def test_importing_the_client_pulls_in_no_solver_dependencies() -> None:
    code = (
        "import sys, equilibria.client\n"
        "heavy = [m for m in ('scipy', 'pygambit', 'nashpy', 'matplotlib', 'equilibria.solver', 'equilibria.service')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_names_are_exactly_all() -> None:
    public = {name for name in dir(client_pkg) if not name.startswith("_")}
    assert public == set(client_pkg.__all__)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 2, 2, 2), (2, 1, 1)])
def test_tensor_round_trip_is_bit_exact(shape: tuple[int, ...]) -> None:
    array = np.random.default_rng(0).standard_normal(shape)
    array.flat[0] = -0.0
    decoded = decode_tensor(encode_tensor(array))
    assert decoded.shape == shape and decoded.tobytes() == array.astype("<f8").tobytes()


def test_tensor_errors() -> None:
    with pytest.raises(TensorError, match="needs"):
        decode_tensor(game_pb2.Tensor(shape=[2, 2], data=b"\0" * 24))
    with pytest.raises(TensorTooLargeError):
        decode_tensor(game_pb2.Tensor(shape=[10**6, 10**6], data=b""), max_entries=10**6)


def test_game_inputs_accepted_by_the_client() -> None:
    a, b = [[1, 2], [3, 4]], [[5, 6], [7, 8]]
    pair = decode_tensor(game_to_proto((a, b)).payoffs)
    assert pair.shape == (2, 2, 2) and pair[1, 1, 0] == 7
    zero_sum = decode_tensor(game_to_proto(np.array(a)).payoffs)
    np.testing.assert_array_equal(zero_sum[1], -np.array(a))
    tensor = np.zeros((3, 2, 2, 2))
    assert tuple(game_to_proto(tensor).payoffs.shape) == (3, 2, 2, 2)


def test_retry_backoff_is_bounded_jittered_and_only_for_unavailable() -> None:
    retry = RetryConfig(max_attempts=4, initial_backoff=0.1, max_backoff=0.3, multiplier=2.0)
    rng = random.Random(0)
    delays = [[retry.delay(k, rng) for _ in range(200)] for k in (1, 2, 3, 4)]
    assert max(delays[0]) <= 0.1 and max(delays[1]) <= 0.2 and max(delays[3]) <= 0.3
    assert min(delays[0]) >= 0.0 and len(set(delays[2])) > 100  # jittered, not constant
    assert retry.should_retry(grpc.StatusCode.UNAVAILABLE, 3)
    assert not retry.should_retry(grpc.StatusCode.UNAVAILABLE, 4)
    assert not retry.should_retry(grpc.StatusCode.INVALID_ARGUMENT, 1)
    with pytest.raises(ValueError):
        RetryConfig(max_attempts=0)
