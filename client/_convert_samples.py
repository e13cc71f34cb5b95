"""The messages of a ``SamplePayoffs`` stream on the client: its header and chunks built, its answers read.

The sampler (:mod:`equilibria.client._samples`) sends and reads through these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from equilibria.client._convert import solution_set_from_response, solve_request
from equilibria.client._errors import error_from_status, input_error
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import game_pb2
from equilibria.v1.codec import decode_tensor, encode_tensor

__all__ = [
    "SAMPLE_CONCEPTS",
    "action_counts",
    "input_error",
    "sample_chunk",
    "sampled_fields",
    "sampler_header",
]

#: Concepts of the analysis when none are given: the Nash equilibria of the means and how
#: far the sampling noise lets them be trusted.
SAMPLE_CONCEPTS = ("nash", "noisy_equilibria")


def action_counts(num_actions: Any, field: str, function: str) -> tuple[int, ...]:
    """``num_actions`` as at least 2 action counts >= 1, or an error naming ``field``."""
    try:
        counts = tuple(int(k) for k in num_actions if int(k) == k)
        ok = len(counts) == len(num_actions) and len(counts) >= 2 and min(counts) >= 1
    except (TypeError, ValueError):
        ok = False
    if isinstance(num_actions, str) or not ok:
        raise input_error(
            field,
            f"{function}: {field} must be a sequence of at least 2 action counts >= 1, got {num_actions!r}",
        )
    return counts


def sampler_header(
    num_actions: Any,
    *,
    title: str = "",
    player_names: Sequence[str] = (),
    concepts: Any = SAMPLE_CONCEPTS,
    function: str = "sample_payoffs()",
    **options: Any,
) -> Any:
    """The first message of a SamplePayoffs stream; ``options`` are :meth:`Client.solve`'s."""
    counts = action_counts(num_actions, "num_actions", function)
    names = tuple(player_names)
    if names and len(names) != len(counts):
        raise input_error("player_names", f"{function}: {len(names)} player names for {len(counts)} players")
    # A placeholder game, cleared: the analysis carries none (the game is the means).
    analysis = solve_request(game_pb2.NormalFormGame(), concepts=concepts, function=function, **options)
    analysis.ClearField("normal_form_game")
    header = service_pb2.PayoffSamplesHeader(
        num_actions=counts, title=title, player_names=names, analysis=analysis
    )
    return service_pb2.SamplePayoffsRequest(header=header)


def sample_chunk(actions: Any = None, values: Any = None, **fields: Any) -> Any:
    """A chunk message: samples (``actions`` and their ``values``), and any other chunk field."""
    chunk = service_pb2.PayoffSamplesChunk(**fields)
    if actions is not None:
        chunk.joint_actions.CopyFrom(encode_tensor(actions))
        chunk.returns.CopyFrom(encode_tensor(values))
    return service_pb2.SamplePayoffsRequest(chunk=chunk)


def sampled_fields(response: Any, names: Sequence[str] = ()) -> dict[str, Any]:
    """The fields of the ``SampledPayoffs`` of a SamplePayoffs answer; ``names``: the players'."""
    analysis = solution_set_from_response(response.analysis, names) if response.HasField("analysis") else None
    status = response.analysis_status
    error = error_from_status(status) if response.HasField("analysis_status") and status.code else None
    return dict(
        chunk=int(response.chunk),
        final=response.final,
        num_actions=tuple(int(k) for k in response.num_actions),
        samples=int(response.samples),
        counts=decode_tensor(response.counts).astype(np.int64),
        means=decode_tensor(response.means),
        standard_errors=decode_tensor(response.standard_errors),
        analysis=analysis,
        analysis_error=error,
    )
