"""Server-side conversion of the evaluation concepts beyond Nash (issue 22): α-Rank and the
maximum-entropy (and maximum-Gini) correlated equilibria.

The options and results of the concepts MARL researchers rank and select with, kept out of
:mod:`equilibria.service.convert` (which calls these functions) so that each concept's wire
form reads in one place. Like that module, this one is where protobuf stops: the solver
gets :class:`~equilibria.solver.AlphaRankOptions`, the response gets messages.

Examples
--------
>>> from equilibria.v1 import solution_pb2
>>> options = alpha_rank_options_from_proto(solution_pb2.AlphaRankOptions(alpha=10.0))
>>> options.alpha, options.population_size, options.populations
(10.0, 50, 'auto')
>>> alpha_rank_options_from_proto(solution_pb2.AlphaRankOptions(alpha=-1.0))
Traceback (most recent call last):
...
equilibria.service.errors.RequestError: alpha_rank.alpha must be 0 (sweep) or positive and finite, got -1.0
"""

from __future__ import annotations

import math

from equilibria.service.errors import invalid
from equilibria.solver import AlphaRank, AlphaRankOptions, MaxEntropyEquilibrium
from equilibria.solver.concepts.alpha_rank import DEFAULT_POPULATION_SIZE, MAX_POPULATION_SIZE
from equilibria.v1 import codec, solution_pb2
from equilibria.v1.codec import encode_tensor

__all__ = ["alpha_rank_options_from_proto", "alpha_rank_to_proto", "max_entropy_to_proto"]


def alpha_rank_options_from_proto(message: solution_pb2.AlphaRankOptions) -> AlphaRankOptions:
    """Decode and check ``SolveGameRequest.alpha_rank``.

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` naming ``alpha_rank.alpha``, ``alpha_rank.population_size`` or
        ``alpha_rank.populations``.
    """
    alpha = message.alpha
    if not (alpha == 0.0 or (math.isfinite(alpha) and alpha > 0.0)):
        raise invalid(
            "alpha_rank.alpha", f"alpha_rank.alpha must be 0 (sweep) or positive and finite, got {alpha!r}"
        )
    size = message.population_size or DEFAULT_POPULATION_SIZE
    if not 2 <= size <= MAX_POPULATION_SIZE:
        raise invalid(
            "alpha_rank.population_size",
            f"alpha_rank.population_size must be 0 (50) or from 2 to {MAX_POPULATION_SIZE:,}, got {size}",
        )
    if message.populations == solution_pb2.ALPHA_RANK_POPULATIONS_UNSPECIFIED:
        populations = "auto"
    elif message.populations in codec.ALPHA_RANK_POPULATIONS.by_value:
        populations = codec.ALPHA_RANK_POPULATIONS.name(message.populations)
    else:
        raise invalid(
            "alpha_rank.populations",
            f"alpha_rank.populations: unknown value {message.populations}; expected one of "
            f"{', '.join(codec.ALPHA_RANK_POPULATIONS.names)}",
        )
    return AlphaRankOptions(alpha or None, size, populations)


def alpha_rank_to_proto(ranked: AlphaRank) -> solution_pb2.AlphaRank:
    """Encode an α-Rank."""
    return solution_pb2.AlphaRank(
        ranking=[
            solution_pb2.RankedProfile(profile=solution_pb2.PureProfile(actions=profile), mass=float(mass))
            for profile, mass in zip(ranked.profiles, ranked.masses, strict=True)
        ],
        alpha=ranked.alpha,
        population_size=ranked.population_size,
        single_population=ranked.single_population,
        sink_components=[
            solution_pb2.SinkComponent(profiles=[solution_pb2.PureProfile(actions=p) for p in component])
            for component in ranked.sink_components
        ],
        sweep=[solution_pb2.AlphaSweepStep(alpha=a, change=change) for a, change in ranked.sweep],
        ended_by=ranked.ended_by,
        residual=ranked.residual,
    )


def max_entropy_to_proto(answer: MaxEntropyEquilibrium) -> solution_pb2.MaxEntropyEquilibrium:
    """Encode a maximum-entropy (or maximum-Gini) (coarse) correlated equilibrium."""
    return solution_pb2.MaxEntropyEquilibrium(
        concept=codec.CONCEPTS.value(answer.concept),
        distribution=encode_tensor(answer.distribution),
        payoffs=answer.payoffs.tolist(),
        value=answer.value,
        bound=answer.bound,
        max_violation=answer.max_violation,
        relative_violation=answer.relative_violation,
        method=answer.method,
    )
