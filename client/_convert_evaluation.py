"""Wire conversion of the evaluation concepts beyond Nash (issue 22): α-Rank, the maximum-entropy
(and maximum-Gini) correlated equilibria, the evolutionary dynamics, the evolutionarily
stable strategies and credit assignment.

Kept beside :mod:`equilibria.client._convert` (which calls these functions) so each concept's
wire form reads in one place; these two modules alone import the generated messages.

Examples
--------
>>> from equilibria.client._evaluation import DynamicsOptions
>>> dynamics_options_to_proto(DynamicsOptions(rule="logit", grid=10)).grid
10
"""

from __future__ import annotations

import numpy as np
from equilibria.client._errors import InvalidArgumentError
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
from equilibria.v1 import solution_pb2
from equilibria.v1.codec import (
    ALPHA_RANK_POPULATIONS,
    CONCEPTS,
    CREDIT_COUNTERFACTUALS,
    CREDIT_TEAMS,
    DYNAMICS_RULES,
    POPULATION_MODELS,
    EnumNames,
    decode_tensor,
    encode_tensor,
)

__all__ = [
    "alpha_rank_options_to_proto",
    "alpha_rank_from_proto",
    "max_entropy_from_proto",
    "dynamics_options_to_proto",
    "dynamics_from_proto",
    "ess_options_to_proto",
    "ess_from_proto",
    "credit_options_to_proto",
    "credit_from_proto",
    "stochastic_credit_from_proto",
    "noise_options_to_proto",
    "noise_from_proto",
]


def _refuse(function: str, field: str, message: str) -> InvalidArgumentError:
    text = f"{function}: {message}"
    return InvalidArgumentError(text, "INVALID_ARGUMENT", ((field, text),))


def _enum(value: str, names: EnumNames, function: str, field: str, what: str) -> int:
    if value not in names.values:
        raise _refuse(function, field, f"unknown {what} {value!r}; expected one of {', '.join(names.names)}")
    return names.value(value)


def alpha_rank_options_to_proto(
    options: AlphaRankOptions, function: str = "solve()"
) -> solution_pb2.AlphaRankOptions:
    """The wire form of α-Rank's options (``alpha=None`` sweeps: 0 on the wire).

    Raises
    ------
    InvalidArgumentError
        For options that are not :class:`AlphaRankOptions`, or an unknown ``populations``.
    """
    if not isinstance(options, AlphaRankOptions):
        raise _refuse(
            function, "alpha_rank", f"alpha_rank must be AlphaRankOptions, got {type(options).__name__}"
        )
    return solution_pb2.AlphaRankOptions(
        alpha=0.0 if options.alpha is None else float(options.alpha),
        population_size=int(options.population_size),
        populations=_enum(
            options.populations,
            ALPHA_RANK_POPULATIONS,
            function,
            "alpha_rank.populations",
            "alpha_rank populations",
        ),
    )


def alpha_rank_from_proto(message: solution_pb2.AlphaRank) -> AlphaRank:
    """Decode an α-Rank."""
    return AlphaRank(
        profiles=tuple(tuple(r.profile.actions) for r in message.ranking),
        masses=np.array([r.mass for r in message.ranking], dtype=np.float64),
        alpha=message.alpha,
        population_size=message.population_size,
        single_population=message.single_population,
        sink_components=tuple(tuple(tuple(p.actions) for p in c.profiles) for c in message.sink_components),
        sweep=tuple((step.alpha, step.change) for step in message.sweep),
        ended_by=message.ended_by,
        residual=message.residual,
    )


def max_entropy_from_proto(message: solution_pb2.MaxEntropyEquilibrium) -> MaxEntropyEquilibrium:
    """Decode a maximum-entropy (or maximum-Gini) (coarse) correlated equilibrium."""
    return MaxEntropyEquilibrium(
        concept=CONCEPTS.by_value.get(message.concept, ""),
        distribution=decode_tensor(message.distribution),
        payoffs=np.array(message.payoffs, dtype=np.float64),
        value=message.value,
        bound=message.bound,
        max_violation=message.max_violation,
        relative_violation=message.relative_violation,
        method=message.method,
    )


def dynamics_options_to_proto(
    options: DynamicsOptions, function: str = "solve()"
) -> solution_pb2.DynamicsOptions:
    """The wire form of the evolutionary dynamics' options (the server checks the ranges).

    Raises
    ------
    InvalidArgumentError
        For options that are not :class:`DynamicsOptions`, an unknown ``rule`` or
        ``populations``, or starts that are not sequences of probability vectors.
    """
    if not isinstance(options, DynamicsOptions):
        raise _refuse(function, "dynamics", f"dynamics must be DynamicsOptions, got {type(options).__name__}")
    try:
        starts = [
            solution_pb2.StrategyList(
                strategies=[solution_pb2.Strategy(probabilities=[float(p) for p in s]) for s in start]
            )
            for start in options.starts
        ]
    except (TypeError, ValueError) as exc:
        raise _refuse(
            function,
            "dynamics.starts",
            f"each start must be a sequence of probability vectors ({exc})",
        ) from None
    return solution_pb2.DynamicsOptions(
        rule=_enum(options.rule, DYNAMICS_RULES, function, "dynamics.rule", "dynamics rule"),
        temperature=float(options.temperature),
        samples=int(options.samples),
        grid=int(options.grid),
        starts=starts,
        seed=int(options.seed),
        horizon=float(options.horizon),
        populations=_enum(
            options.populations, POPULATION_MODELS, function, "dynamics.populations", "populations"
        ),
    )


def ess_options_to_proto(options: EssOptions, function: str = "solve()") -> solution_pb2.EssOptions:
    """The wire form of the ESS options.

    Raises
    ------
    InvalidArgumentError
        For options that are not :class:`EssOptions`, or an unknown ``populations``.
    """
    if not isinstance(options, EssOptions):
        raise _refuse(function, "ess", f"ess must be EssOptions, got {type(options).__name__}")
    return solution_pb2.EssOptions(
        populations=_enum(options.populations, POPULATION_MODELS, function, "ess.populations", "populations")
    )


def _strategies(messages: object) -> tuple[np.ndarray, ...]:
    return tuple(np.array(s.probabilities, dtype=np.float64) for s in messages)  # type: ignore[attr-defined]


def dynamics_from_proto(message: solution_pb2.EvolutionaryDynamics) -> EvolutionaryDynamics:
    """Decode the basins of an evolutionary dynamic."""
    return EvolutionaryDynamics(
        rule=DYNAMICS_RULES.by_value.get(message.rule, ""),
        single_population=message.single_population,
        temperature=message.temperature,
        starts=message.starts,
        seed=message.seed,
        horizon=message.horizon,
        step=message.step,
        settle_radius=message.settle_radius,
        basins=tuple(
            Basin(
                strategies=_strategies(b.strategies),
                payoffs=np.array(b.payoffs, dtype=np.float64),
                nash_conv=b.nash_conv,
                count=b.count,
                share=b.share,
                low=b.low,
                high=b.high,
                certified=b.certified,
                equilibrium_index=b.equilibrium_index if b.HasField("equilibrium_index") else None,
            )
            for b in message.basins
        ),
        outcomes=np.array(message.outcomes, dtype=np.int64),
        unsettled=message.unsettled,
        ended_by=message.ended_by,
    )


def ess_from_proto(message: solution_pb2.EvolutionarilyStableSet) -> EvolutionarilyStableSet:
    """Decode the evolutionarily stable strategies."""
    return EvolutionarilyStableSet(
        strategies=tuple(
            EvolutionarilyStableStrategy(
                strategies=_strategies(c.strategies),
                payoffs=np.array(c.payoffs, dtype=np.float64),
                nash_conv=c.nash_conv,
                margin=c.margin,
                decided=c.decided,
                equilibrium_index=c.equilibrium_index if c.HasField("equilibrium_index") else None,
            )
            for c in message.strategies
        ),
        single_population=message.single_population,
        complete=message.complete,
        method=message.method,
    )


def credit_options_to_proto(
    options: CreditOptions, function: str = "solve()"
) -> solution_pb2.CreditAssignmentOptions:
    """The wire form of the policy credit assignment credits (a numpy array is a joint
    distribution; a sequence, one tensor per agent).

    Raises
    ------
    InvalidArgumentError
        For options that are not :class:`CreditOptions`, an unknown ``team`` or
        ``counterfactual``, default actions that are not indices, or a policy that is no
        numeric array.
    """
    if not isinstance(options, CreditOptions):
        raise _refuse(function, "credit", f"credit must be CreditOptions, got {type(options).__name__}")
    message = solution_pb2.CreditAssignmentOptions(
        team=_enum(options.team, CREDIT_TEAMS, function, "credit_assignment.team", "team"),
        counterfactual=_enum(
            options.counterfactual,
            CREDIT_COUNTERFACTUALS,
            function,
            "credit_assignment.counterfactual",
            "counterfactual",
        ),
    )
    try:
        defaults = [] if options.default_actions is None else [int(c) for c in options.default_actions]
        if any(c < 0 for c in defaults):
            raise ValueError("negative")
        message.default_actions.extend(defaults)
    except (TypeError, ValueError) as exc:
        raise _refuse(
            function,
            "credit_assignment.default_actions",
            f"default_actions must be action indices >= 0 ({exc})",
        ) from None
    policy = options.policy
    try:
        if isinstance(policy, np.ndarray):
            message.joint_policy.CopyFrom(encode_tensor(np.asarray(policy, dtype=np.float64)))
        elif policy is not None:
            message.policies.extend(encode_tensor(np.asarray(p, dtype=np.float64)) for p in policy)
    except (TypeError, ValueError) as exc:
        raise _refuse(
            function,
            "credit_assignment.policies",
            f"the policy must be numeric arrays, one per agent, or a joint array ({exc})",
        ) from None
    return message


def credit_from_proto(message: solution_pb2.CreditAssignment) -> CreditAssignment:
    """Decode the credits of a normal-form team game."""
    return CreditAssignment(
        team=CREDIT_TEAMS.by_value.get(message.team, ""),
        counterfactual=CREDIT_COUNTERFACTUALS.by_value.get(message.counterfactual, ""),
        default_actions=tuple(message.default_actions),
        correlated=message.correlated,
        team_return=message.team_return,
        difference_rewards=np.array(message.difference_rewards, dtype=np.float64),
        difference_tensors=decode_tensor(message.difference_tensors),
        shapley_values=np.array(message.shapley_values, dtype=np.float64),
        coalition_values=np.array(message.coalition_values, dtype=np.float64),
        coalition_baseline=message.coalition_baseline,
    )


def stochastic_credit_from_proto(
    message: solution_pb2.StochasticCreditAssignment,
) -> StochasticCreditAssignment:
    """Decode the per-state credits of a stochastic team game."""
    return StochasticCreditAssignment(
        team=CREDIT_TEAMS.by_value.get(message.team, ""),
        counterfactual=CREDIT_COUNTERFACTUALS.by_value.get(message.counterfactual, ""),
        default_actions=tuple(message.default_actions),
        team_return=message.team_return,
        values=decode_tensor(message.values),
        q_values=decode_tensor(message.q_values),
        difference_rewards=decode_tensor(message.difference_rewards),
        difference_tensors=decode_tensor(message.difference_tensors),
        shapley_values=decode_tensor(message.shapley_values),
        coalition_values=decode_tensor(message.coalition_values),
        coalition_baselines=decode_tensor(message.coalition_baselines),
    )


def noise_options_to_proto(options: NoiseOptions, function: str = "solve()") -> solution_pb2.NoiseOptions:
    """The wire form of the noisy-equilibria options (the server checks the ranges).

    Raises
    ------
    InvalidArgumentError
        For options that are not :class:`NoiseOptions`.
    """
    if not isinstance(options, NoiseOptions):
        raise _refuse(function, "noise", f"noise must be NoiseOptions, got {type(options).__name__}")
    try:
        return solution_pb2.NoiseOptions(
            epsilon=float(options.epsilon),
            confidence=float(options.confidence),
            draws=int(options.draws),
            seed=int(options.seed),
        )
    except (TypeError, ValueError) as exc:
        raise _refuse(function, "noise", f"noise options must be numbers ({exc})") from None


def noise_from_proto(message: solution_pb2.NoisyMetaGame) -> NoisyMetaGame:
    """Decode how the sampling noise bears on the equilibria."""
    k = len(message.equilibria)
    return NoisyMetaGame(
        epsilon=message.epsilon,
        confidence=message.confidence,
        draws=message.draws,
        seed=message.seed,
        regret_thresholds=np.array(message.regret_thresholds, dtype=np.float64),
        equilibria=tuple(
            EquilibriumUnderNoise(
                index=e.index,
                strategies=_strategies(e.strategies),
                payoffs=np.array(e.payoffs, dtype=np.float64),
                payoff_errors=np.array(e.payoff_errors, dtype=np.float64),
                regrets=np.array(e.regrets, dtype=np.float64),
                nash_conv=e.nash_conv,
                regrets_low=np.array(e.regrets_low, dtype=np.float64),
                regrets_high=np.array(e.regrets_high, dtype=np.float64),
                nash_conv_low=e.nash_conv_low,
                nash_conv_high=e.nash_conv_high,
                regret_upper=np.array(e.regret_upper, dtype=np.float64),
                probability_epsilon=e.probability_epsilon,
                probability_error=e.probability_error,
            )
            for e in message.equilibria
        ),
        distinguishable=np.array(message.distinguishable, dtype=bool).reshape(k, k),
        pure_equilibria=tuple(tuple(p.actions) for p in message.pure_equilibria),
        pure_equilibrium_count=message.pure_equilibrium_count,
        pure_not_equilibrium_count=message.pure_not_equilibrium_count,
        pure_undecided_count=message.pure_undecided_count,
        method=message.method,
    )
