"""Server-side conversion of the evaluation concepts beyond Nash (issue 22): α-Rank, the
maximum-entropy (and maximum-Gini) correlated equilibria, the evolutionary dynamics, the
evolutionarily stable strategies and credit assignment.

The options and results of the concepts MARL researchers rank and select with, kept out of
:mod:`equilibria.service.convert` (which calls these functions) so that each concept's wire
form reads in one place. Like that module, this one is where protobuf stops: the solver
gets :class:`~equilibria.solver.AlphaRankOptions` (and the other options), the response gets
messages.

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
from collections.abc import Callable

import numpy as np
from equilibria.service.errors import invalid, request_field
from equilibria.solver import (
    AlphaRank,
    AlphaRankOptions,
    Basin,
    CreditAssignment,
    CreditOptions,
    DynamicsOptions,
    EssOptions,
    EvolutionarilyStableSet,
    EvolutionaryDynamics,
    MaxEntropyEquilibrium,
    NoiseOptions,
    NoisyMetaGame,
    StochasticCreditAssignment,
)
from equilibria.solver._typing import FloatArray
from equilibria.solver.concepts.alpha_rank import DEFAULT_POPULATION_SIZE, MAX_POPULATION_SIZE
from equilibria.solver.concepts.dynamics import DEFAULT_HORIZON, DEFAULT_SAMPLES, DEFAULT_TEMPERATURE
from equilibria.solver.errors import InvalidOptionError
from equilibria.v1 import codec, game_pb2, solution_pb2
from equilibria.v1.codec import encode_tensor

__all__ = [
    "alpha_rank_options_from_proto",
    "alpha_rank_to_proto",
    "max_entropy_to_proto",
    "dynamics_options_from_proto",
    "dynamics_to_proto",
    "ess_options_from_proto",
    "ess_to_proto",
    "credit_options_from_proto",
    "credit_to_proto",
    "stochastic_credit_to_proto",
    "noise_options_from_proto",
    "noise_to_proto",
]


def _enum_name(value: int, names: codec.EnumNames, unset: str, field: str) -> str:
    """The solver name of an enum option (``unset`` for 0, the unspecified value).

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` naming ``field`` for a value the enum does not have.
    """
    if value == 0:
        return unset
    if value not in names.by_value:
        raise invalid(field, f"{field}: unknown value {value}; expected one of {', '.join(names.names)}")
    return names.name(value)


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
    populations = _enum_name(
        message.populations, codec.ALPHA_RANK_POPULATIONS, "auto", "alpha_rank.populations"
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


def dynamics_options_from_proto(message: solution_pb2.DynamicsOptions, max_entries: int) -> DynamicsOptions:
    """Decode and check ``SolveGameRequest.dynamics`` (the starts' fit to the game is the
    solver's to check: it knows the populations).

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` naming ``dynamics.<field>``.
    """
    entries = sum(len(s.probabilities) for start in message.starts for s in start.strategies)
    if entries > max_entries:
        raise invalid(
            "dynamics.starts",
            f"dynamics.starts: {entries:,} probabilities, over the limit of {max_entries:,}",
        )
    options = DynamicsOptions(
        rule=_enum_name(message.rule, codec.DYNAMICS_RULES, "replicator", "dynamics.rule"),
        temperature=message.temperature or DEFAULT_TEMPERATURE,
        samples=message.samples or DEFAULT_SAMPLES,
        grid=message.grid,
        starts=tuple(tuple(tuple(s.probabilities) for s in start.strategies) for start in message.starts),
        seed=message.seed,
        horizon=message.horizon or DEFAULT_HORIZON,
        populations=_enum_name(message.populations, codec.POPULATION_MODELS, "auto", "dynamics.populations"),
    )
    try:
        return options.checked("SolveGame")
    except InvalidOptionError as exc:
        raise invalid(request_field(exc.field), exc.message) from None


def ess_options_from_proto(message: solution_pb2.EssOptions) -> EssOptions:
    """Decode and check ``SolveGameRequest.ess``.

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` naming ``ess.populations``.
    """
    return EssOptions(
        populations=_enum_name(message.populations, codec.POPULATION_MODELS, "auto", "ess.populations")
    )


def _strategies(strategies: tuple[FloatArray, ...]) -> list[solution_pb2.Strategy]:
    return [
        solution_pb2.Strategy(probabilities=s.tolist(), support=[int(k) for k in np.flatnonzero(s > 0.0)])
        for s in strategies
    ]


def _basin_to_proto(basin: Basin) -> solution_pb2.Basin:
    return solution_pb2.Basin(
        strategies=_strategies(basin.strategies),
        payoffs=np.asarray(basin.payoffs, dtype=np.float64).tolist(),
        nash_conv=basin.nash_conv,
        count=basin.count,
        share=basin.share,
        low=basin.low,
        high=basin.high,
        certified=basin.certified,
        equilibrium_index=basin.equilibrium_index,
    )


def dynamics_to_proto(reached: EvolutionaryDynamics) -> solution_pb2.EvolutionaryDynamics:
    """Encode the basins of an evolutionary dynamic."""
    return solution_pb2.EvolutionaryDynamics(
        rule=codec.DYNAMICS_RULES.value(reached.rule),
        single_population=reached.single_population,
        temperature=reached.temperature,
        starts=reached.starts,
        seed=reached.seed,
        horizon=reached.horizon,
        step=reached.step,
        settle_radius=reached.settle_radius,
        basins=[_basin_to_proto(b) for b in reached.basins],
        outcomes=reached.outcomes.tolist(),
        unsettled=reached.unsettled,
        ended_by=reached.ended_by,
    )


def ess_to_proto(stable: EvolutionarilyStableSet) -> solution_pb2.EvolutionarilyStableSet:
    """Encode the evolutionarily stable strategies."""
    return solution_pb2.EvolutionarilyStableSet(
        strategies=[
            solution_pb2.EvolutionarilyStableStrategy(
                strategies=_strategies(c.strategies),
                payoffs=np.asarray(c.payoffs, dtype=np.float64).tolist(),
                nash_conv=c.nash_conv,
                margin=c.margin,
                decided=c.decided,
                equilibrium_index=c.equilibrium_index,
            )
            for c in stable.strategies
        ],
        single_population=stable.single_population,
        complete=stable.complete,
        method=stable.method,
    )


def credit_options_from_proto(
    message: solution_pb2.CreditAssignmentOptions,
    decode: Callable[[game_pb2.Tensor, str], FloatArray],
    max_players: int,
) -> CreditOptions:
    """Decode ``SolveGameRequest.credit_assignment``; ``decode(tensor, field)`` reads a tensor
    within the server's limits. The policy's fit to the game is the solver's to check.

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` naming ``credit_assignment.<field>``.
    """
    if len(message.policies) > max_players or len(message.default_actions) > max_players:
        field = "policies" if len(message.policies) > max_players else "default_actions"
        raise invalid(
            f"credit_assignment.{field}",
            f"credit_assignment.{field}: more entries than the {max_players} players allowed",
        )
    if message.policies and message.HasField("joint_policy"):
        raise invalid(
            "credit_assignment.joint_policy", "credit_assignment: give policies or joint_policy, not both"
        )
    policy: object = None
    if message.HasField("joint_policy"):
        policy = np.array(decode(message.joint_policy, "credit_assignment.joint_policy"))
    elif message.policies:
        policy = tuple(
            np.array(decode(tensor, f"credit_assignment.policies[{i}]"))
            for i, tensor in enumerate(message.policies)
        )
    return CreditOptions(
        team=_enum_name(message.team, codec.CREDIT_TEAMS, "auto", "credit_assignment.team"),
        counterfactual=_enum_name(
            message.counterfactual, codec.CREDIT_COUNTERFACTUALS, "action", "credit_assignment.counterfactual"
        ),
        default_actions=tuple(message.default_actions) or None,
        policy=policy,
    )


def credit_to_proto(credit: CreditAssignment) -> solution_pb2.CreditAssignment:
    """Encode the credits of a normal-form team game."""
    return solution_pb2.CreditAssignment(
        team=codec.CREDIT_TEAMS.value(credit.team),
        counterfactual=codec.CREDIT_COUNTERFACTUALS.value(credit.counterfactual),
        default_actions=credit.default_actions,
        correlated=credit.correlated,
        team_return=credit.team_return,
        difference_rewards=credit.difference_rewards.tolist(),
        difference_tensors=encode_tensor(credit.difference_tensors),
        shapley_values=credit.shapley_values.tolist(),
        coalition_values=credit.coalition_values.tolist(),
        coalition_baseline=credit.coalition_baseline,
    )


def stochastic_credit_to_proto(credit: StochasticCreditAssignment) -> solution_pb2.StochasticCreditAssignment:
    """Encode the per-state credits of a stochastic team game."""
    return solution_pb2.StochasticCreditAssignment(
        team=codec.CREDIT_TEAMS.value(credit.team),
        counterfactual=codec.CREDIT_COUNTERFACTUALS.value(credit.counterfactual),
        default_actions=credit.default_actions,
        team_return=credit.team_return,
        values=encode_tensor(credit.values),
        q_values=encode_tensor(credit.q_values),
        difference_rewards=encode_tensor(credit.difference_rewards),
        difference_tensors=encode_tensor(credit.difference_tensors),
        shapley_values=encode_tensor(credit.shapley_values),
        coalition_values=encode_tensor(credit.coalition_values),
        coalition_baselines=encode_tensor(credit.coalition_baselines),
    )


def noise_options_from_proto(message: solution_pb2.NoiseOptions) -> NoiseOptions:
    """Decode and check ``SolveGameRequest.noise`` (unset fields: the defaults).

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` naming ``noise.<field>``.
    """
    defaults = NoiseOptions()
    options = NoiseOptions(
        epsilon=message.epsilon if message.HasField("epsilon") else defaults.epsilon,
        confidence=message.confidence or defaults.confidence,
        draws=message.draws or defaults.draws,
        seed=message.seed,
    )
    try:
        return options.checked("SolveGame")
    except InvalidOptionError as exc:
        raise invalid(request_field(exc.field), exc.message) from None


def noise_to_proto(noisy: NoisyMetaGame) -> solution_pb2.NoisyMetaGame:
    """Encode how the sampling noise bears on the equilibria."""
    return solution_pb2.NoisyMetaGame(
        epsilon=noisy.epsilon,
        confidence=noisy.confidence,
        draws=noisy.draws,
        seed=noisy.seed,
        regret_thresholds=np.asarray(noisy.regret_thresholds, dtype=np.float64).tolist(),
        equilibria=[
            solution_pb2.EquilibriumUnderNoise(
                index=e.index,
                strategies=_strategies(e.strategies),
                payoffs=e.payoffs.tolist(),
                payoff_errors=e.payoff_errors.tolist(),
                regrets=e.regrets.tolist(),
                nash_conv=e.nash_conv,
                regrets_low=e.regrets_low.tolist(),
                regrets_high=e.regrets_high.tolist(),
                nash_conv_low=e.nash_conv_low,
                nash_conv_high=e.nash_conv_high,
                regret_upper=e.regret_upper.tolist(),
                probability_epsilon=e.probability_epsilon,
                probability_error=e.probability_error,
            )
            for e in noisy.equilibria
        ],
        distinguishable=np.asarray(noisy.distinguishable, dtype=bool).ravel().tolist(),
        pure_equilibria=[solution_pb2.PureProfile(actions=p) for p in noisy.pure_equilibria],
        pure_equilibrium_count=noisy.pure_equilibrium_count,
        pure_not_equilibrium_count=noisy.pure_not_equilibrium_count,
        pure_undecided_count=noisy.pure_undecided_count,
        method=noisy.method,
    )
