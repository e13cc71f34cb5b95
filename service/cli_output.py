"""What ``equilibria solve`` and ``equilibria score`` print: a readable table, or one JSON object.

The table of a solve shows, per equilibrium, the players' strategies (fractions when the
server certified them exactly), payoffs and NashConv; whether the set is complete and
why (method, method reason, warnings); each requested concept's status (answered,
partial or refused, and why); then each concept's answer, from :data:`CONCEPT_SECTIONS`
(one entry per solution concept of the API). The table of a score has one row per
criterion with its verdict and the evidence the :class:`~equilibria.client.TraceScore`
carries. ``--json`` gives the whole answer as one compact JSON object instead.

Only the client's result types are read here: no solver, no protobuf.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "CONCEPT_SECTIONS",
    "MARKOV_CONCEPT_SECTIONS",
    "dumps",
    "markov_json",
    "markov_table",
    "score_json",
    "score_table",
    "solution_json",
    "solution_table",
]

#: Significant digits of a probability in a table (``--json`` keeps full precision).
_PROBABILITY_DIGITS = 4
#: Significant digits of a payoff, value or welfare in a table.
_VALUE_DIGITS = 6
#: Most (stage, state) rows of one Markov equilibrium's policy table; larger ones are in ``--json``.
_MAX_POLICY_ROWS = 12


# =========================================================================== JSON


def dumps(document: dict[str, Any]) -> str:
    """One compact line of strict JSON; non-finite numbers (an infinite radius) become ``null``."""
    return json.dumps(_finite(document), separators=(",", ":"), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _fractions(values: Iterable[Fraction] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


def _status_json(result: Any) -> list[dict[str, str]]:
    return [{"concept": c.concept, "status": c.status, "reason": c.reason} for c in result.concept_status]


def _welfare_json(optimum: Any) -> dict[str, Any]:
    return {
        "function": optimum.function,
        "value": optimum.value,
        "equilibria": list(optimum.equilibrium_indices),
        "method": optimum.method,
        "certified": optimum.certified,
        "disagreement": None if optimum.disagreement is None else optimum.disagreement.tolist(),
    }


def _correlated_json(ce: Any) -> dict[str, Any]:
    return {
        "kind": ce.kind,
        "objective": ce.objective,
        "maximized": ce.maximized,
        "welfare": ce.welfare,
        "payoffs": ce.payoffs.tolist(),
        "max_violation": ce.max_violation,
        "distribution": ce.distribution.tolist(),
    }


def _selection_json(selection: Any) -> dict[str, Any]:
    return {
        "criterion": selection.criterion,
        "decided": selection.decided,
        "equilibrium": selection.equilibrium_index,
        "reason": selection.reason,
    }


def _set_header_json(result: Any) -> dict[str, Any]:
    """What every solution set says of itself: the game, the method, completeness, concepts."""
    return {
        "game_id": result.game_id,
        "method": result.method,
        "method_reason": result.method_reason,
        "complete": result.complete,
        "tolerance": result.tolerance,
        "warnings": list(result.warnings),
        "concepts": list(result.concepts),
        "concept_status": _status_json(result),
    }


def solution_json(result: Any) -> dict[str, Any]:
    """Every field of a :class:`~equilibria.client.SolutionSet` as JSON values (exact numbers as "1/3")."""
    zero_sum = result.zero_sum
    return {
        **_set_header_json(result),
        "exact": result.exact,
        "equilibria": [
            {
                "strategies": [s.tolist() for s in eq.strategies],
                "exact_strategies": None
                if eq.exact_strategies is None
                else [_fractions(s) for s in eq.exact_strategies],
                "payoffs": eq.payoffs.tolist(),
                "exact_payoffs": _fractions(eq.exact_payoffs),
                "regrets": eq.regrets.tolist(),
                "nash_conv": eq.nash_conv,
                "supports": [list(s) for s in eq.supports],
                "components": list(eq.components),
                "found_by": list(eq.found_by),
            }
            for eq in result.equilibria
        ],
        "components": [
            {"equilibria": list(c.equilibrium_indices), "vertices": [v.tolist() for v in c.vertices]}
            for c in result.components
        ],
        "pareto_indices": list(result.pareto_indices),
        "welfare_optima": [_welfare_json(w) for w in result.welfare_optima],
        "correlated_equilibria": [_correlated_json(c) for c in result.correlated_equilibria],
        "welfare_ranges": [
            {
                "kind": r.kind,
                "objective": r.objective,
                "minimum": _correlated_json(r.minimum),
                "maximum": _correlated_json(r.maximum),
            }
            for r in result.welfare_ranges
        ],
        "zero_sum": None
        if zero_sum is None
        else {
            "value": zero_sum.value,
            "constant": zero_sum.constant,
            "strategies": [s.tolist() for s in zero_sum.strategies],
            "nash_conv": zero_sum.nash_conv,
            "optimal_vertices": [v.tolist() for v in zero_sum.optimal_vertices],
        },
        "selections": [_selection_json(s) for s in result.selections],
        "alpha_rank": None if result.alpha_rank is None else _alpha_rank_json(result.alpha_rank),
        "dynamics": None if result.dynamics is None else _dynamics_json(result.dynamics),
        "ess": None if result.ess is None else _ess_json(result.ess),
        "credit_assignment": None
        if result.credit_assignment is None
        else _fields_json(result.credit_assignment),
        "max_entropy_equilibria": [
            {
                "concept": a.concept,
                "distribution": a.distribution.tolist(),
                "payoffs": a.payoffs.tolist(),
                "value": a.value,
                "bound": a.bound,
                "max_violation": a.max_violation,
                "relative_violation": a.relative_violation,
                "method": a.method,
            }
            for a in result.max_entropy_equilibria
        ],
    }


def _alpha_rank_json(ranked: Any) -> dict[str, Any]:
    return {
        "profiles": [list(p) for p in ranked.profiles],
        "masses": ranked.masses.tolist(),
        "alpha": ranked.alpha,
        "population_size": ranked.population_size,
        "single_population": ranked.single_population,
        "sink_components": [[list(p) for p in component] for component in ranked.sink_components],
        "sweep": [
            {"alpha": a, "change": None if math.isnan(change) else change} for a, change in ranked.sweep
        ],
        "ended_by": ranked.ended_by,
        "residual": ranked.residual,
    }


def _dynamics_json(reached: Any) -> dict[str, Any]:
    return {
        "rule": reached.rule,
        "single_population": reached.single_population,
        "temperature": reached.temperature,
        "starts": reached.starts,
        "seed": reached.seed,
        "horizon": reached.horizon,
        "step": reached.step,
        "settle_radius": reached.settle_radius,
        "basins": [
            {
                "strategies": [s.tolist() for s in b.strategies],
                "payoffs": b.payoffs.tolist(),
                "nash_conv": b.nash_conv,
                "count": b.count,
                "share": b.share,
                "low": b.low,
                "high": b.high,
                "certified": b.certified,
                "equilibrium_index": b.equilibrium_index,
            }
            for b in reached.basins
        ],
        "outcomes": reached.outcomes.tolist(),
        "unsettled": reached.unsettled,
        "ended_by": reached.ended_by,
    }


def _ess_json(stable: Any) -> dict[str, Any]:
    return {
        "strategies": [
            {
                "strategies": [s.tolist() for s in c.strategies],
                "payoffs": c.payoffs.tolist(),
                "nash_conv": c.nash_conv,
                "margin": c.margin,
                "decided": c.decided,
                "equilibrium_index": c.equilibrium_index,
            }
            for c in stable.strategies
        ],
        "single_population": stable.single_population,
        "complete": stable.complete,
        "method": stable.method,
    }


def _noise_json(noisy: Any) -> dict[str, Any]:
    out = _fields_json(noisy)
    out["equilibria"] = [_fields_json(e) for e in noisy.equilibria]
    out["pure_equilibria"] = [list(p) for p in noisy.pure_equilibria]
    return out


def _fields_json(result: Any) -> dict[str, Any]:
    """Every field of a result dataclass (a credit assignment, the noise analysis): numbers, lists, nested lists."""
    return {
        field.name: value.tolist()
        if isinstance(value, np.ndarray)
        else list(value)
        if isinstance(value, tuple)
        else value
        for field in dataclasses.fields(result)
        for value in (getattr(result, field.name),)
    }


def markov_json(result: Any) -> dict[str, Any]:
    """Every field of a :class:`~equilibria.client.MarkovSolutionSet` as JSON values."""
    zero_sum = result.zero_sum
    return {
        **_set_header_json(result),
        "equilibria": [
            {
                "policies": [p.tolist() for p in eq.policies],
                "values": eq.values.tolist(),
                "payoffs": eq.payoffs.tolist(),
                "regrets": eq.regrets.tolist(),
                "nash_conv": eq.nash_conv,
                "state_gaps": eq.state_gaps.tolist(),
                "max_state_gap": eq.max_state_gap,
                "found_by": list(eq.found_by),
            }
            for eq in result.equilibria
        ],
        "pareto_indices": list(result.pareto_indices),
        "welfare_optima": [_welfare_json(w) for w in result.welfare_optima],
        "zero_sum": None
        if zero_sum is None
        else {
            "values": zero_sum.values.tolist(),
            "policies": [p.tolist() for p in zero_sum.policies],
            "nash_conv": zero_sum.nash_conv,
            "max_state_gap": zero_sum.max_state_gap,
            "method": zero_sum.method,
            "iterations": zero_sum.iterations,
            "error_bound": zero_sum.error_bound,
        },
        "stage_selections": [_selection_json(s) for s in result.stage_selections],
        "credit_assignment": None
        if result.credit_assignment is None
        else _fields_json(result.credit_assignment),
    }


def _ref_json(ref: tuple[str, int] | None) -> dict[str, Any] | None:
    return None if ref is None else {"kind": ref[0], "index": ref[1]}


def score_json(score: Any) -> dict[str, Any]:
    """Every field of a :class:`~equilibria.client.TraceScore`, with the solution set it was measured against."""
    solution = score.solution_set
    return {
        "z_seen": score.z_seen,
        "n_policies": score.n_policies,
        "n_samples": score.n_samples,
        "n_returns": score.n_returns,
        "selected": _ref_json(score.selected),
        "selected_by": score.selected_by,
        "switched": score.switched,
        "metric": score.metric,
        "aggregate": score.aggregate,
        "epsilons": list(score.epsilons),
        "warnings": list(score.warnings),
        "partial_set": score.partial_set,
        "criteria": {
            c.name: {
                "verdict": c.verdict,
                "epsilon": c.epsilon,
                "evidence": c.evidence,
                "final_value": c.final_value,
                "fitted_rate": c.fitted_rate,
                "rate_r2": c.rate_r2,
                "z": c.z,
                "scale": c.scale,
                "z0": {str(eps): z0 for eps, z0 in c.z0.items()},
                "z0_exact": c.z0_exact,
                "confidence_radius": c.confidence_radius,
                "nearest_solution": _ref_json(c.nearest_solution),
                "switched": c.switched,
                "switch_count": c.switch_count,
                "checkpoints_z": c.checkpoints_z.tolist(),
                "values": c.values.tolist(),
                "checkpoint_radii": None if c.checkpoint_radii is None else c.checkpoint_radii.tolist(),
                "outside_profile": None
                if c.outside_profile is None
                else [p.tolist() for p in c.outside_profile],
                "outside_regret": c.outside_regret,
            }
            for c in score.criteria
        },
        "credit": None if score.credit is None else _fields_json(score.credit),
        "solution_set": None
        if solution is None
        else (solution_json(solution) if hasattr(solution, "components") else markov_json(solution)),
    }


# =========================================================================== table pieces


def _number(value: float, digits: int = _VALUE_DIGITS) -> str:
    """A float in ``digits`` significant digits; -0 prints as 0."""
    return f"{float(value) + 0.0:.{digits}g}"


def _numbers(values: Iterable[float], digits: int = _VALUE_DIGITS) -> str:
    return ", ".join(_number(v, digits) for v in values)


def _vector(values: Iterable[Any]) -> str:
    """A probability vector: ``(1/3, 2/3)`` from fractions, ``(0.3333, 0.6667)`` from floats."""
    return (
        "("
        + ", ".join(str(v) if isinstance(v, Fraction) else _number(v, _PROBABILITY_DIGITS) for v in values)
        + ")"
    )


def _indices(indices: Sequence[int]) -> str:
    return ", ".join(f"#{i}" for i in indices) if indices else "none"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "  ") -> list[str]:
    """Columns padded to their widest cell, two spaces apart; the last column is not padded."""
    body = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[k]) for row in body) for k in range(len(header))]
    return [
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in body
    ]


def _set_summary(result: Any, what: str) -> list[str]:
    completeness = (
        "complete: every equilibrium of the game"
        if result.complete
        else "partial: the game may have equilibria this set misses"
    )
    lines = [
        f"{len(result.equilibria)} {what} ({completeness})",
        f"method: {result.method}: {result.method_reason}"
        if result.method_reason
        else f"method: {result.method}",
        f"tolerance {_number(result.tolerance)}; game id {result.game_id}",
    ]
    lines += [f"warning: {w}" for w in result.warnings]
    return lines


def _status_lines(result: Any) -> list[str]:
    if not result.concept_status:
        return []
    rows = [(c.concept, c.status, c.reason) for c in result.concept_status]
    return ["", "concepts:", *_table(("concept", "status", "why"), rows)]


# =========================================================================== normal-form sections


def _strategies(eq: Any) -> tuple[str, ...]:
    exact = eq.exact_strategies
    return tuple(_vector(s) for s in (exact if exact is not None else eq.strategies))


def _equilibria_lines(result: Any) -> list[str]:
    if not result.equilibria:
        return ["", "no equilibrium found"]
    players = len(result.equilibria[0].strategies)
    header = ("#", *(f"player {i}" for i in range(players)), "payoffs", "NashConv")
    rows = []
    for k, eq in enumerate(result.equilibria):
        payoffs = (
            ", ".join(str(p) for p in eq.exact_payoffs)
            if eq.exact_payoffs is not None
            else _numbers(eq.payoffs)
        )
        rows.append((str(k), *_strategies(eq), payoffs, _number(eq.nash_conv, 3)))
    lines = ["", *_table(header, rows)]
    if result.exact and any(eq.exact_strategies is None for eq in result.equilibria):
        lines.append("  (rows in decimals: the server could not certify them in exact arithmetic)")
    return lines


def _nash_section(result: Any) -> list[str]:
    """How the equilibria group into components (maximal convex sets), naming the continua."""
    if not result.components:
        return []
    continua = [
        (k, component)
        for k, component in enumerate(result.components)
        if any(len(vertices) > 1 for vertices in component.vertices)
    ]
    count = len(result.components)
    lines = [
        f"nash: {count} component{'s' if count != 1 else ''}"
        + ("" if continua else (", each a single equilibrium" if count != 1 else ": a single equilibrium"))
    ]
    lines += [
        f"  component {k} is a continuum spanned by equilibria {_indices(component.equilibrium_indices)}"
        for k, component in continua
    ]
    return lines


def _pure_nash_section(result: Any) -> list[str]:
    pure = [k for k, eq in enumerate(result.equilibria) if eq.is_pure]
    return [f"pure_nash: pure equilibria: {_indices(pure)}"]


def _pareto_section(result: Any) -> list[str]:
    return [f"pareto_nash: Pareto-optimal equilibria: {_indices(result.pareto_indices)}"]


def _welfare_section(result: Any) -> list[str]:
    if not result.welfare_optima:
        return []
    rows = [
        (
            w.function,
            _number(w.value),
            _indices(w.equilibrium_indices),
            w.method,
            "yes" if w.certified else "no",
            "" if w.disagreement is None else f"disagreement point ({_numbers(w.disagreement)})",
        )
        for w in result.welfare_optima
    ]
    return [
        "welfare_nash: welfare-maximising equilibria",
        *_table(("welfare", "maximum", "at", "method", "certified", ""), rows),
    ]


def _distribution_rows(distribution: Any) -> list[tuple[str, str]]:
    """The joint actions with positive probability, in index order."""
    return [
        ("(" + ", ".join(str(int(a)) for a in index) + ")", _number(distribution[index], _PROBABILITY_DIGITS))
        for index in zip(*np.nonzero(distribution > 0), strict=True)
    ]


def _correlated_lines(result: Any, kind: str) -> list[str]:
    lines = []
    for ce in (c for c in result.correlated_equilibria if c.kind == kind):
        sense = "maximising" if ce.maximized else "minimising"
        lines += [
            f"{kind}: the {kind.replace('_', ' ')} equilibrium {sense} {ce.objective} welfare: welfare "
            f"{_number(ce.welfare)}, payoffs ({_numbers(ce.payoffs)}), largest incentive violation "
            f"{_number(ce.max_violation, 3)}",
            *_table(("joint action", "probability"), _distribution_rows(ce.distribution)),
        ]
    for r in (r for r in result.welfare_ranges if r.kind == kind):
        lines.append(
            f"{kind}: {r.objective} welfare over the polytope ranges from {_number(r.minimum.welfare)} "
            f"to {_number(r.maximum.welfare)}"
        )
    return lines


def _zero_sum_section(result: Any) -> list[str]:
    zs = result.zero_sum
    if zs is None:
        return []
    strategies = "; ".join(f"player {i} {_vector(s)}" for i, s in enumerate(zs.strategies))
    lines = [
        f"zero_sum_value: value {_number(zs.value)} to player 0 (payoffs sum to {_number(zs.constant)}), "
        f"NashConv {_number(zs.nash_conv, 3)}",
        f"  optimal strategies: {strategies}",
    ]
    if zs.optimal_vertices:
        counts = ", ".join(f"player {i} {len(v)}" for i, v in enumerate(zs.optimal_vertices))
        lines.append(f"  extreme optimal strategies: {counts}")
    return lines


#: Profiles of an α-Rank listed in the table (the rest are counted).
ALPHA_RANK_ROWS = 10


def _alpha_rank_section(result: Any) -> list[str]:
    ranked = result.alpha_rank
    if ranked is None:
        return []
    populations = "one population" if ranked.single_population else "one population per player"
    rows = [
        ("(" + ", ".join(map(str, p)) + ")", _number(m))
        for p, m in zip(ranked.profiles[:ALPHA_RANK_ROWS], ranked.masses, strict=False)
    ]
    sinks = "; ".join(" ".join("(" + ", ".join(map(str, p)) + ")" for p in c) for c in ranked.sink_components)
    lines = [
        f"alpha_rank: alpha {_number(ranked.alpha)} ({ranked.limit}), {populations} of {ranked.population_size}, "
        f"residual {ranked.residual:.1e}",
        f"  sink components of the response graph: {sinks}",
        *_table(("profile", "mass"), rows),
    ]
    if len(ranked.profiles) > ALPHA_RANK_ROWS:
        lines.append(f"  ... {len(ranked.profiles) - ALPHA_RANK_ROWS} more profiles")
    return lines


def _profile_cell(strategies: Sequence[Any]) -> str:
    """A mixed profile in one cell: each player's strategy in parentheses."""
    return " ".join("(" + _numbers(s) + ")" for s in strategies)


def _dynamics_section(result: Any) -> list[str]:
    reached = result.dynamics
    if reached is None:
        return []
    rows = [
        (
            _profile_cell(b.strategies),
            str(b.count),
            f"{_number(b.share)} [{_number(b.low)}, {_number(b.high)}]",
            str(b.certified),
            _number(b.nash_conv, 3),
            "" if b.equilibrium_index is None else f"#{b.equilibrium_index}",
        )
        for b in reached.basins
    ]
    populations = "one population" if reached.single_population else "one population per player"
    return [
        f"replicator_dynamics: {reached.rule} dynamic, {reached.n_starts} {reached.starts} starts, {populations}, "
        f"horizon {_number(reached.horizon)}; {reached.unsettled} did not settle",
        *_table(("reached", "starts", "share [95 %]", "proved", "NashConv", "equilibrium"), rows),
    ]


def _ess_section(result: Any) -> list[str]:
    stable = result.ess
    if stable is None:
        return []
    rows = [
        (
            _profile_cell(c.strategies),
            _number(c.margin, 3),
            "yes" if c.decided else "undecided",
            "" if c.equilibrium_index is None else f"#{c.equilibrium_index}",
        )
        for c in stable.strategies
    ]
    kind = "Maynard Smith ESS (one population)" if stable.single_population else "strict equilibria"
    return [
        f"ess: {kind}, {'complete' if stable.complete else 'partial'}",
        *_table(("profile", "margin", "decided", "equilibrium"), rows),
    ]


def _noise_section(result: Any) -> list[str]:
    noisy = result.noise
    if noisy is None:
        return []
    rows = [
        (
            f"#{e.index}",
            _number(e.nash_conv, 3),
            f"[{_number(e.nash_conv_low, 3)}, {_number(e.nash_conv_high, 3)}]",
            _number(e.probability_epsilon),
        )
        for e in noisy.equilibria
    ]
    return [
        f"noisy_equilibria: {noisy.draws} draws, confidence {_number(noisy.confidence)}, epsilon "
        f"{_number(noisy.epsilon)}; pure profiles: {noisy.pure_equilibrium_count} significant equilibria, "
        f"{noisy.pure_not_equilibrium_count} significantly not, {noisy.pure_undecided_count} undecided",
        *_table(("equilibrium", "NashConv", "interval", "P(epsilon)"), rows),
    ]


def _credit_section(result: Any) -> list[str]:
    credit = result.credit_assignment
    if credit is None:
        return []
    shapley = np.asarray(credit.shapley_values)
    n = shapley.shape[-1]
    by_row = shapley.reshape(-1, n)
    differences = np.asarray(credit.difference_rewards).reshape(-1, n)
    states = by_row.shape[0] > 1 or shapley.ndim > 1
    rows = [
        ((f"state {k}, " if states else "") + f"agent {i}", _number(by_row[k, i]), _number(differences[k, i]))
        for k in range(by_row.shape[0])
        for i in range(n)
    ]
    return [
        f"credit_assignment: {credit.team} team return {_number(credit.team_return)}, {credit.counterfactual} "
        f"counterfactual, default actions ({', '.join(map(str, credit.default_actions))})",
        *_table(("agent", "Shapley value", "difference reward"), rows),
    ]


def _spread_lines(result: Any, concept: str) -> list[str]:
    lines = []
    for answer in (a for a in result.max_entropy_equilibria if a.concept == concept):
        lines += [
            f"{concept}: {answer.measure} {_number(answer.value)} (at most {_number(answer.bound)} over the "
            f"polytope), payoffs ({_numbers(answer.payoffs)}), largest incentive violation "
            f"{_number(answer.max_violation, 3)}",
            *_table(("joint action", "probability"), _distribution_rows(answer.distribution)),
        ]
    return lines


def _selections_lines(name: str, selections: Sequence[Any]) -> list[str]:
    if not selections:
        return []
    rows = [
        (
            s.criterion,
            f"#{s.equilibrium_index}" if s.decided and s.equilibrium_index is not None else "undecided",
            s.reason,
        )
        for s in selections
    ]
    return [f"{name}:", *_table(("criterion", "selects", "why"), rows)]


#: Per solution concept of the API, the lines of its answer in a normal-form solve's table
#: (empty when the server sent nothing for it; its status line says why). A test checks
#: that every concept the client knows has an entry.
CONCEPT_SECTIONS: dict[str, Callable[[Any], list[str]]] = {
    "nash": _nash_section,
    "pure_nash": _pure_nash_section,
    "pareto_nash": _pareto_section,
    "welfare_nash": _welfare_section,
    "correlated": lambda result: _correlated_lines(result, "correlated"),
    "coarse_correlated": lambda result: _correlated_lines(result, "coarse_correlated"),
    "zero_sum_value": _zero_sum_section,
    "selection": lambda result: _selections_lines("selection", result.selections),
    "alpha_rank": _alpha_rank_section,
    "replicator_dynamics": _dynamics_section,
    "ess": _ess_section,
    "credit_assignment": _credit_section,
    "noisy_equilibria": _noise_section,
    **{
        concept: (lambda result, concept=concept: _spread_lines(result, concept))
        for concept in (
            "max_entropy_correlated",
            "max_entropy_coarse_correlated",
            "max_gini_correlated",
            "max_gini_coarse_correlated",
        )
    },
}


def _concept_lines(result: Any, sections: dict[str, Callable[[Any], list[str]]]) -> list[str]:
    lines = []
    for status in result.concept_status:
        section = sections.get(status.concept)
        if section is not None and status.status != "refused":
            body = section(result)
            if body:
                lines += ["", *body]
    return lines


def solution_table(result: Any) -> str:
    """The readable answer of a normal-form solve (see the module docstring)."""
    lines = [
        *_set_summary(result, "equilibria" if len(result.equilibria) != 1 else "equilibrium"),
        *_equilibria_lines(result),
        *_status_lines(result),
        *_concept_lines(result, CONCEPT_SECTIONS),
    ]
    return "\n".join(lines)


# =========================================================================== stochastic games


def _policy_lines(k: int, eq: Any) -> list[str]:
    policies = eq.policies
    if not policies:
        return []
    per_stage = policies[0].ndim == 3
    stages, states = (policies[0].shape[0], policies[0].shape[1]) if per_stage else (1, policies[0].shape[0])
    if stages * states > _MAX_POLICY_ROWS:
        shape = f"{stages} stages x {states} states" if per_stage else f"{states} states"
        return [f"policies of #{k}: {shape} (see --json)"]
    players = tuple(f"player {i}" for i in range(len(policies)))
    if per_stage:
        rows = [
            (str(t), str(s), *(_vector(p[t, s]) for p in policies))
            for t in range(stages)
            for s in range(states)
        ]
        return [f"policies of #{k}:", *_table(("stage", "state", *players), rows)]
    rows = [(str(s), *(_vector(p[s]) for p in policies), _numbers(eq.values[s])) for s in range(states)]
    return [f"policies of #{k}:", *_table(("state", *players, "values"), rows)]


def _markov_equilibria_lines(result: Any) -> list[str]:
    if not result.equilibria:
        return ["", "no equilibrium found"]
    rows = [
        (
            str(k),
            _numbers(eq.payoffs),
            _number(eq.nash_conv, 3),
            _number(eq.max_state_gap, 3),
            ", ".join(eq.found_by),
        )
        for k, eq in enumerate(result.equilibria)
    ]
    lines = ["", *_table(("#", "payoffs", "NashConv", "max state gap", "found by"), rows)]
    for k, eq in enumerate(result.equilibria):
        lines += ["", *_policy_lines(k, eq)]
    return lines


def _markov_zero_sum_section(result: Any) -> list[str]:
    zs = result.zero_sum
    if zs is None:
        return []
    rows = [
        (str(s), _number(zs.values[s]), *(_vector(p[s]) for p in zs.policies)) for s in range(len(zs.values))
    ]
    players = tuple(f"player {i}" for i in range(len(zs.policies)))
    return [
        f"zero_sum_value: by {zs.method} in {zs.iterations} iterations, values within {_number(zs.error_bound, 3)}; "
        f"NashConv {_number(zs.nash_conv, 3)}, max state gap {_number(zs.max_state_gap, 3)}",
        *_table(("state", "value", *players), rows),
    ]


#: Per concept a stochastic solve answers, the lines of its answer.
MARKOV_CONCEPT_SECTIONS: dict[str, Callable[[Any], list[str]]] = {
    "pareto_nash": _pareto_section,
    "welfare_nash": _welfare_section,
    "zero_sum_value": _markov_zero_sum_section,
    "credit_assignment": _credit_section,
}


def markov_table(result: Any) -> str:
    """The readable answer of a stochastic solve: equilibria, policies, concepts, stage selections."""
    lines = [
        *_set_summary(result, "Markov equilibria" if len(result.equilibria) != 1 else "Markov equilibrium"),
        *_markov_equilibria_lines(result),
        *_status_lines(result),
        *_concept_lines(result, MARKOV_CONCEPT_SECTIONS),
    ]
    stage = _selections_lines("stage selection (backward induction)", result.stage_selections)
    if stage:
        lines += ["", *stage]
    return "\n".join(lines)


# =========================================================================== trace scores


def _ref(ref: tuple[str, int] | None) -> str:
    return "-" if ref is None else f"{ref[0]} {ref[1]}"


def _optional(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else _number(value, digits)


def _z0(criterion: Any) -> str:
    """The first row from which the curve stays below the verdict's epsilon ("<=" when a bound)."""
    if criterion.epsilon is None or criterion.z0.get(criterion.epsilon) is None:
        return "-"
    return ("" if criterion.z0_exact else "<=") + str(criterion.z0[criterion.epsilon])


def _rate(criterion: Any) -> str:
    if criterion.fitted_rate is None:
        return "-"
    r2 = "" if criterion.rate_r2 is None else f" (R2 {_number(criterion.rate_r2, 2)})"
    return _number(criterion.fitted_rate, 3) + r2


def score_table(score: Any) -> str:
    """The readable answer of a trace score: the trace, the set, then one row per criterion."""
    lines = [
        f"trace: {score.z_seen} rows ({score.n_policies} policies, {score.n_samples} sampled joint actions, "
        f"{score.n_returns} returns); metric {score.metric}, aggregate {score.aggregate}, "
        f"epsilons {_numbers(score.epsilons)}",
    ]
    solution = score.solution_set
    if solution is not None:
        state = "complete" if solution.complete else "partial"
        count = len(solution.equilibria)
        noun = "equilibrium" if count == 1 else "equilibria"
        lines.append(f"measured against {count} {noun} ({state}, by {solution.method})")
    if score.selected is not None:
        switched = "; it switched along the trace" if score.switched else ""
        lines.append(f"selected: {_ref(score.selected)} (by {score.selected_by}){switched}")
    rows = [
        (
            c.name,
            c.verdict,
            _optional(c.epsilon),
            _number(c.final_value, 4),
            _rate(c),
            _z0(c),
            _optional(c.confidence_radius),
            _ref(c.nearest_solution),
            c.evidence,
        )
        for c in score.criteria
    ]
    header = ("criterion", "verdict", "epsilon", "final", "rate", "z0", "radius", "nearest", "evidence")
    lines += ["", *_table(header, rows)]
    for c in score.criteria:
        if c.outside_profile is not None:
            profile = "; ".join(f"player {i} {_vector(p.ravel())}" for i, p in enumerate(c.outside_profile))
            lines.append(
                f"{c.name}: converges outside the set to {profile} (regret {_optional(c.outside_regret)})"
            )
    credit = score.credit
    if credit is not None:
        lines += [
            "",
            f"credit per agent at z={credit.z}: team return {_number(credit.final_team_return, 4)}, baseline "
            f"{_number(credit.final_coalition_baseline, 4)}; trends over rows {credit.tail_start}..{credit.z} "
            f"(steady within {_number(credit.epsilon, 4)} x range {_number(credit.payoff_range, 4)})",
            *_table(
                ("agent", "shapley", "difference", "tail change", "trend", "lazy"),
                [
                    (
                        str(i),
                        _number(float(credit.final_shapley_values[i]), 4),
                        _number(float(credit.final_difference_rewards[i]), 4),
                        _number(float(credit.tail_changes[i]), 4),
                        trend,
                        "yes" if i in credit.lazy_agents else "",
                    )
                    for i, trend in enumerate(credit.trends)
                ],
            ),
        ]
    lines += [f"warning: {w}" for w in score.warnings]
    return "\n".join(lines)
