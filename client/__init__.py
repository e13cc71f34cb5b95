"""equilibria.client: the Python SDK of the equilibria service.

Light by design: it needs numpy, grpcio and the generated ``equilibria.v1`` API, never
the solver, scipy or pygambit, so it imports fast inside a training loop.

Examples
--------
>>> from equilibria.client import Client
>>> with Client.connect("localhost:50051") as client:  # doctest: +SKIP
...     stag_hunt = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
...     for eq in client.solve(stag_hunt).equilibria:
...         print(eq.strategies, eq.payoffs, eq.nash_conv)
"""

from equilibria.client._batch import BatchItem
from equilibria.client._client import DEFAULT_TARGET, AsyncClient, Client
from equilibria.client._convert import stochastic_game_to_proto as encode_stochastic_game
from equilibria.client._errors import (
    AuthenticationError,
    EquilibriaError,
    InvalidArgumentError,
    InvalidGameError,
    ResourceExhaustedError,
    ServerError,
    ServiceUnavailableError,
    SolveCancelledError,
    SolveTimeoutError,
)
from equilibria.client._evaluation import (
    AlphaRank,
    AlphaRankOptions,
    Basin,
    CreditAssignment,
    CreditOptions,
    DynamicsOptions,
    EquilibriumUnderNoise,
    EssOptions,
    EvolutionarilyStableSet,
    EvolutionarilyStableStrategy,
    EvolutionaryDynamics,
    MaxEntropyEquilibrium,
    NoiseOptions,
    NoisyMetaGame,
    StochasticCreditAssignment,
)
from equilibria.client._recorder import TraceRecorder
from equilibria.client._retry import RetryConfig
from equilibria.client._samples import AsyncPayoffSampler, PayoffSampler, SampledPayoffs
from equilibria.client._security import TlsConfig
from equilibria.client._trace import CreditCurves, CriterionScore, TraceScore
from equilibria.client._types import (
    Component,
    ConceptStatus,
    CorrelatedEquilibrium,
    Equilibrium,
    MarkovEquilibrium,
    MarkovSolutionSet,
    MarkovZeroSum,
    MethodInfo,
    Selection,
    ServerInfo,
    ServerLimits,
    SolutionSet,
    StochasticGame,
    WelfareOptimum,
    WelfareRange,
    ZeroSumSolution,
)

__all__ = [
    "DEFAULT_TARGET",
    "AlphaRank",
    "AlphaRankOptions",
    "AsyncClient",
    "AuthenticationError",
    "BatchItem",
    "Client",
    "Component",
    "ConceptStatus",
    "CorrelatedEquilibrium",
    "CreditCurves",
    "CriterionScore",
    "EquilibriaError",
    "Equilibrium",
    "InvalidArgumentError",
    "InvalidGameError",
    "MarkovEquilibrium",
    "MarkovSolutionSet",
    "MarkovZeroSum",
    "MaxEntropyEquilibrium",
    "Basin",
    "DynamicsOptions",
    "EssOptions",
    "EvolutionarilyStableSet",
    "EvolutionarilyStableStrategy",
    "EvolutionaryDynamics",
    "CreditOptions",
    "CreditAssignment",
    "StochasticCreditAssignment",
    "NoiseOptions",
    "NoisyMetaGame",
    "EquilibriumUnderNoise",
    "PayoffSampler",
    "AsyncPayoffSampler",
    "SampledPayoffs",
    "MethodInfo",
    "ResourceExhaustedError",
    "RetryConfig",
    "Selection",
    "ServerError",
    "ServerInfo",
    "ServerLimits",
    "ServiceUnavailableError",
    "SolutionSet",
    "SolveCancelledError",
    "SolveTimeoutError",
    "StochasticGame",
    "TlsConfig",
    "TraceRecorder",
    "TraceScore",
    "WelfareOptimum",
    "WelfareRange",
    "ZeroSumSolution",
    "encode_stochastic_game",
]
