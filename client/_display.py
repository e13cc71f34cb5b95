"""Readable summaries of the client's results: a short text table for ``print``, HTML for Jupyter.

A :class:`Summary` is a title, an optional :class:`Table` and labelled notes; one
function per result type builds it (:func:`solution_set_summary`,
:func:`markov_solution_set_summary`, :func:`trace_score_summary`,
:func:`server_info_summary`) and :func:`render_text` / :func:`render_html` draw it. The
result types call these from ``__str__`` and ``_repr_html_``; ``repr()`` stays the
dataclass's. Strings only: no solver import, no plotting.

Examples
--------
>>> table = Table(("#", "payoffs"), (("0", "(4, 4)"), ("1", "(3, 3)")))
>>> print(render_text(Summary("Two rows", table, (("note", "said once"),))))
Two rows
  #  payoffs
  0  (4, 4)
  1  (3, 3)
  note: said once
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from equilibria.client._trace import CreditCurves, TraceScore
    from equilibria.client._types import (
        ConceptStatus,
        MarkovSolutionSet,
        ServerInfo,
        SolutionSet,
        WelfareOptimum,
    )

__all__ = [
    "MAX_ROWS",
    "Summary",
    "Table",
    "markov_solution_set_summary",
    "render_html",
    "render_text",
    "server_info_summary",
    "solution_set_summary",
    "trace_score_summary",
]

#: Rows shown before a summary says how many more there are.
MAX_ROWS = 10
#: Widest cell of the text table (longer ones end with "..."); HTML cells are whole.
MAX_CELL = 60
#: Most entries of a strategy written out in full; larger ones list their support.
MAX_ENTRIES = 6


@dataclasses.dataclass(frozen=True)
class Table:
    """Columns and rows of strings; ``more`` says what was left out (empty: nothing)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    more: str = ""


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a result shows: a title line, a table (or None), ``(label, text)`` notes, and
    further ``(caption, table)`` pairs shown after the table (e.g. a trace's per-agent credits)."""

    title: str
    table: Table | None
    notes: tuple[tuple[str, str], ...] = ()
    extra: tuple[tuple[str, Table], ...] = ()


# -- rendering ------------------------------------------------------------------------------------


def _cut(text: str, width: int = MAX_CELL) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


def _text_table(table: Table) -> list[str]:
    cells = [table.columns, *((tuple(_cut(c) for c in row)) for row in table.rows)]
    widths = [max(len(row[k]) for row in cells) for k in range(len(table.columns))]
    lines = [
        ("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip() for row in cells
    ]
    if table.more:
        lines.append(f"  {table.more}")
    return lines


def render_text(summary: Summary) -> str:
    """The summary as plain text: the title, the table's aligned columns, the further tables
    under their captions, one line per note."""
    lines = [summary.title]
    if summary.table is not None:
        lines.extend(_text_table(summary.table))
    for caption, table in summary.extra:
        lines.append(f"  {caption}:")
        lines.extend(_text_table(table))
    lines.extend(f"  {label}: {text}" for label, text in summary.notes)
    return "\n".join(lines)


def render_html(summary: Summary) -> str:
    """The summary as an HTML fragment (every string escaped): a title, a ``<table>``, a note list."""
    esc = html.escape
    parts = ['<div class="equilibria-summary">', f"<p><strong>{esc(summary.title)}</strong></p>"]
    tables = [("", summary.table)] if summary.table is not None else []
    for caption, table in tables + list(summary.extra):
        if caption:
            parts.append(f"<p>{esc(caption)}</p>")
        head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in table.rows)
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        if table.more:
            parts.append(f"<p><em>{esc(table.more)}</em></p>")
    if summary.notes:
        items = "".join(f"<li><b>{esc(label)}</b>: {esc(text)}</li>" for label, text in summary.notes)
        parts.append(f"<ul>{items}</ul>")
    parts.append("</div>")
    return "\n".join(parts)


# -- numbers --------------------------------------------------------------------------------------


def number(value: Any) -> str:
    """A number in a few characters: a fraction as ``3/4``, a float to 4 significant digits.

    Examples
    --------
    >>> number(Fraction(3, 4)), number(0.333333333), number(-0.0), number(4.0), number(1e-12)
    ('3/4', '0.3333', '0', '4', '1e-12')
    """
    if isinstance(value, Fraction):
        return str(value)
    x = float(value)
    if x == 0.0:
        return "0"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


def vector(values: Sequence[Any]) -> str:
    """``(a, b, c)``; past :data:`MAX_ENTRIES` entries, the support: ``a0 1/2, a6 1/2 (of 7)``.

    Examples
    --------
    >>> vector([Fraction(1, 4), Fraction(3, 4)])
    '(1/4, 3/4)'
    >>> vector([0.5, 0, 0, 0, 0, 0, 0.5])
    'a0 0.5, a6 0.5 (of 7)'
    """
    if len(values) <= MAX_ENTRIES:
        return "(" + ", ".join(number(v) for v in values) + ")"
    support = [f"a{k} {number(v)}" for k, v in enumerate(values) if float(v) != 0.0]
    if len(support) > MAX_ENTRIES:
        support = [*support[: MAX_ENTRIES - 1], "..."]
    return ", ".join(support) + f" (of {len(values)})"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _players(names: Sequence[str], count: int) -> list[str]:
    return [names[i] if i < len(names) else f"player {i}" for i in range(count)]


def _more(shown: int, total: int, what: str, attribute: str) -> str:
    return f"... and {total - shown} more {what} (all in .{attribute})" if total > shown else ""


def _indices(indices: Sequence[int]) -> str:
    return ", ".join(str(k) for k in indices) or "none"


# -- the common notes of both solution sets ---------------------------------------------------------


def _statuses(statuses: Sequence[ConceptStatus]) -> list[tuple[str, str]]:
    return [(s.concept, f"{s.status} - {s.reason}" if s.reason else s.status) for s in statuses]


def _welfare(optima: Sequence[WelfareOptimum]) -> list[tuple[str, str]]:
    notes = []
    for w in optima:
        certified = "certified" if w.certified else "not certified: over the equilibria found"
        where = "equilibrium" if len(w.equilibrium_indices) == 1 else "equilibria"
        notes.append(
            (
                f"{w.function} welfare",
                f"{number(w.value)} at {where} {_indices(w.equilibrium_indices)} ({certified})",
            )
        )
    return notes


def _ending(result: Any) -> list[tuple[str, str]]:
    notes = [("warning", w) for w in result.warnings]
    notes.append(
        ("game", f"{result.game_id[:16]}, tolerance {number(result.tolerance)}, {result.solve_seconds:.3g} s")
    )
    return notes


# -- SolutionSet ----------------------------------------------------------------------------------


def solution_set_summary(result: SolutionSet) -> Summary:
    """Title, equilibria table (first :data:`MAX_ROWS`) and notes of a :class:`SolutionSet`.

    One row per equilibrium: each player's strategy (fractions when exact), the payoffs
    and NashConv. Notes: complete or partial and why (the method's reason), each
    requested concept's status, and the answers of the other concepts.
    """
    found = len(result.equilibria)
    kind = "complete" if result.complete else "partial"
    exact = ", exact" if result.exact else ""
    title = f"SolutionSet: {_plural(found, 'equilibrium', 'equilibria')}, {kind} ({result.method}{exact})"
    table = None
    if found:
        n_players = len(result.equilibria[0].strategies)
        rows = []
        for k, eq in enumerate(result.equilibria[:MAX_ROWS]):
            strategies = eq.exact_strategies or eq.strategies
            payoffs = eq.exact_payoffs or eq.payoffs
            rows.append((str(k), *(vector(s) for s in strategies), vector(payoffs), number(eq.nash_conv)))
        columns = ("#", *_players(result.player_names, n_players), "payoffs", "NashConv")
        table = Table(columns, tuple(rows), _more(MAX_ROWS, found, "equilibria", "equilibria"))
    notes = [(kind, result.method_reason or "no reason given")]
    notes += _statuses(result.concept_status)
    if "pareto_nash" in result.concepts:
        notes.append(("Pareto-optimal", f"equilibria {_indices(result.pareto_indices)}"))
    notes += _welfare(result.welfare_optima)
    for ce in result.correlated_equilibria:
        goal = "max" if ce.maximized else "min"
        notes.append(
            (
                f"{ce.kind} ({ce.objective} {goal})",
                f"welfare {number(ce.welfare)}, payoffs {vector(ce.payoffs)}, "
                f"largest violation {number(ce.max_violation)}",
            )
        )
    if result.zero_sum is not None:
        zs = result.zero_sum
        strategies = "; ".join(vector(s) for s in zs.strategies)
        notes.append(("zero-sum value", f"{number(zs.value)} to player 0, optimal strategies {strategies}"))
    for sel in result.selections:
        chosen = f"equilibrium {sel.equilibrium_index}" if sel.equilibrium_index is not None else "none"
        notes.append((sel.criterion, f"{chosen} ({'decided' if sel.decided else 'undecided'}): {sel.reason}"))
    if result.alpha_rank is not None:
        notes.append(("alpha-Rank", _alpha_rank(result.alpha_rank)))
    for answer in result.max_entropy_equilibria:
        notes.append(
            (
                answer.concept,
                f"{answer.measure} {number(answer.value)} (at most {number(answer.bound)} over the polytope), "
                f"payoffs {vector(answer.payoffs)}, largest violation {number(answer.max_violation)}",
            )
        )
    if result.dynamics is not None:
        notes.append((f"{result.dynamics.rule.replace('_', '-')} dynamics", _dynamics(result.dynamics)))
    if result.ess is not None:
        notes.append(("ESS", _ess(result.ess)))
    if result.credit_assignment is not None:
        notes.append(("credit assignment", _credit(result.credit_assignment)))
    if result.noise is not None:
        noisy = result.noise
        shown = ", ".join(
            f"equilibrium {e.index} P(eps) {number(e.probability_epsilon)}, NashConv [{number(e.nash_conv_low)}, "
            f"{number(e.nash_conv_high)}]"
            for e in noisy.equilibria[:MAX_ENTRIES]
        )
        notes.append(
            (
                "sampling noise",
                f"{shown or 'no equilibrium'}; {noisy.pure_equilibrium_count} significant pure equilibria "
                f"(epsilon {number(noisy.epsilon)}, confidence {number(noisy.confidence)})",
            )
        )
    return Summary(title, table, tuple(notes + _ending(result)))


def _alpha_rank(ranked: Any) -> str:
    """The top of an α-Rank: its first :data:`MAX_ENTRIES` profiles and masses, and its α."""
    shown = ", ".join(
        f"{'(' + ', '.join(map(str, p)) + ')'} {number(m)}"
        for p, m in zip(ranked.profiles[:MAX_ENTRIES], ranked.masses, strict=False)
    )
    more = f", ... ({len(ranked.profiles)} profiles)" if len(ranked.profiles) > MAX_ENTRIES else ""
    return f"{shown}{more} at alpha {number(ranked.alpha)} ({ranked.limit})"


def _profile(strategies: Any) -> str:
    return "; ".join(vector(s) for s in strategies)


def _dynamics(reached: Any) -> str:
    """The basins of an evolutionary dynamic: the first :data:`MAX_ENTRIES` rest points."""
    shown = ", ".join(
        f"{_profile(b.strategies)} {number(b.share)} [{number(b.low)}, {number(b.high)}]"
        + (f" (equilibrium {b.equilibrium_index})" if b.equilibrium_index is not None else "")
        for b in reached.basins[:MAX_ENTRIES]
    )
    more = f", ... ({len(reached.basins)} rest points)" if len(reached.basins) > MAX_ENTRIES else ""
    return f"{reached.n_starts} {reached.starts} starts: {shown or 'no rest point'}{more}; {reached.unsettled} unsettled"


def _credit(credit: Any) -> str:
    """The credits of a normal-form team game: its return and each agent's two credits."""
    return (
        f"team return {number(credit.team_return)} ({credit.team}); Shapley values {vector(credit.shapley_values)}, "
        f"expected difference rewards ({credit.counterfactual}) {vector(credit.difference_rewards)}"
    )


def _ess(stable: Any) -> str:
    shown = ", ".join(
        f"{vector(c.strategies[0]) if stable.single_population else _profile(c.strategies)} margin "
        f"{number(c.margin)}" + ("" if c.decided else " (undecided)")
        for c in stable.strategies[:MAX_ENTRIES]
    )
    return f"{shown or 'none'} ({'complete' if stable.complete else 'partial'})"


# -- MarkovSolutionSet ----------------------------------------------------------------------------

#: Largest stationary policy written out per player (states x actions).
_POLICY_STATES, _POLICY_ACTIONS = 3, MAX_ENTRIES


def _policy(policy: Any) -> str:
    array = np.asarray(policy)
    if array.ndim == 2 and array.shape[0] <= _POLICY_STATES and array.shape[1] <= _POLICY_ACTIONS:
        return " ".join(f"s{s} {vector(row)}" for s, row in enumerate(array))
    layout = "per stage, " if array.ndim == 3 else ""
    return f"{layout}shape {array.shape}"


def markov_solution_set_summary(result: MarkovSolutionSet) -> Summary:
    """Title, equilibria table (first :data:`MAX_ROWS`) and notes of a :class:`MarkovSolutionSet`.

    One row per equilibrium: each player's policy (written out for at most 3 states,
    otherwise its shape), the payoffs from the initial distribution, NashConv and the
    largest state gap.
    """
    found = len(result.equilibria)
    kind = "complete" if result.complete else "partial"
    title = f"MarkovSolutionSet: {_plural(found, 'equilibrium', 'equilibria')}, {kind} ({result.method})"
    table = None
    if found:
        n_players = len(result.equilibria[0].policies)
        rows = tuple(
            (
                str(k),
                *(_policy(p) for p in eq.policies),
                vector(eq.payoffs),
                number(eq.nash_conv),
                number(eq.max_state_gap),
            )
            for k, eq in enumerate(result.equilibria[:MAX_ROWS])
        )
        columns = ("#", *_players(result.player_names, n_players), "payoffs", "NashConv", "max state gap")
        table = Table(columns, rows, _more(MAX_ROWS, found, "equilibria", "equilibria"))
    notes = [(kind, result.method_reason or "no reason given")]
    notes += _statuses(result.concept_status)
    if "pareto_nash" in result.concepts:
        notes.append(("Pareto-optimal", f"equilibria {_indices(result.pareto_indices)}"))
    notes += _welfare(result.welfare_optima)
    if result.zero_sum is not None:
        zs = result.zero_sum
        notes.append(
            (
                "zero-sum values",
                f"{vector(zs.values)} per state to player 0 by {zs.method} "
                f"(error at most {number(zs.error_bound)}, NashConv {number(zs.nash_conv)})",
            )
        )
    for sel in result.stage_selections:
        notes.append(
            (f"stage selection {sel.criterion}", sel.reason or ("decided" if sel.decided else "undecided"))
        )
    if result.credit_assignment is not None:
        credit = result.credit_assignment
        shapley = np.asarray(credit.shapley_values).reshape(-1, credit.shapley_values.shape[-1])
        shown = "; ".join(f"s{k} {vector(row)}" for k, row in enumerate(shapley[:_POLICY_STATES]))
        more = f"; ... ({shapley.shape[0]} rows)" if shapley.shape[0] > _POLICY_STATES else ""
        notes.append(
            (
                "credit assignment",
                f"team return {number(credit.team_return)}, Shapley values per state {shown}{more}",
            )
        )
    return Summary(title, table, tuple(notes + _ending(result)))


# -- TraceScore -----------------------------------------------------------------------------------


def trace_score_summary(score: TraceScore) -> Summary:
    """Title, one row per criterion with its verdict, and notes of a :class:`TraceScore`.

    Columns: criterion, verdict, final value, the threshold ε the verdict refers to,
    ``z0`` at that ε (the first row from which every row is below it) and the evidence.
    """
    title = (
        f"TraceScore: {_plural(len(score.criteria), 'criterion', 'criteria')} over "
        f"{_plural(score.z_seen, 'row', 'rows')} (metric {score.metric or 'default'}, "
        f"aggregate {score.aggregate or 'default'})"
    )
    rows = []
    for c in score.criteria:
        z0 = c.z0.get(c.epsilon) if c.epsilon is not None else None
        rows.append(
            (
                c.name,
                c.verdict,
                number(c.final_value),
                "" if c.epsilon is None else number(c.epsilon),
                "" if z0 is None else str(z0),
                c.evidence,
            )
        )
    table = (
        Table(("criterion", "verdict", "final", "epsilon", "z0", "evidence"), tuple(rows)) if rows else None
    )
    notes = []
    if score.selected is not None:
        kind, index = score.selected
        switched = ", switched along the trace" if score.switched else ""
        notes.append(("approached", f"{kind} {index} (by {score.selected_by}{switched})"))
    solution = score.solution_set
    if solution is not None:
        found = _plural(len(solution.equilibria), "equilibrium", "equilibria")
        notes.append(
            ("against", f"{found}, {'complete' if solution.complete else 'partial'} ({solution.method})")
        )
    if score.partial_set:
        notes.append(("partial set", "the trace may converge to an equilibrium outside the set"))
    if score.epsilons:
        notes.append(("epsilons", ", ".join(number(e) for e in score.epsilons)))
    notes += [("warning", w) for w in score.warnings]
    extra = () if score.credit is None else (credit_table(score.credit),)
    return Summary(title, table, tuple(notes), extra)


def credit_table(credit: CreditCurves) -> tuple[str, Table]:
    """The per-agent table of a trace's credits: final Shapley value and difference reward,
    change over the tail, trend, and whether the agent is lazy."""
    lazy = set(credit.lazy_agents)
    rows = tuple(
        (
            str(i),
            number(float(credit.final_shapley_values[i])),
            number(float(credit.final_difference_rewards[i])),
            number(float(credit.tail_changes[i])),
            credit.trends[i],
            "lazy" if i in lazy else "",
        )
        for i in range(len(credit.trends))
    )
    caption = (
        f"credit per agent at z={credit.z} (team return {number(credit.final_team_return)}, baseline "
        f"{number(credit.final_coalition_baseline)}; tail from z={credit.tail_start}, "
        f"steady within {number(credit.epsilon)} x range {number(credit.payoff_range)})"
    )
    return caption, Table(("agent", "shapley", "difference", "tail change", "trend", ""), rows)


# -- ServerInfo -----------------------------------------------------------------------------------


def _bytes(count: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} B"


def _player_range(low: int, high: int) -> str:
    if not high:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


def server_info_summary(info: ServerInfo) -> Summary:
    """Title, one row per method (players, complete, description) and the limits of a :class:`ServerInfo`."""
    instance = f", instance {info.instance_id[:12]}" if info.instance_id else ""
    title = f"ServerInfo: equilibria {info.version} (solver {info.solver_version}){instance}"
    rows = tuple(
        (
            m.name,
            _player_range(m.min_players, m.max_players),
            "yes" if m.complete else "no",
            m.description,
        )
        for m in info.methods
    )
    table = Table(("method", "players", "complete", "description"), rows) if rows else None
    lim = info.limits
    notes = [
        (
            "limits",
            f"{_plural(lim.workers, 'worker', 'workers')}, {lim.max_players} players, "
            f"{lim.max_payoff_entries:,} payoff entries, {lim.max_transition_entries:,} transition entries, "
            f"time budget {number(lim.max_time_budget)} s",
        ),
        (
            "sizes",
            f"messages {_bytes(lim.max_message_bytes)}, traces {_bytes(lim.max_trace_bytes)}, "
            f"worker memory {_bytes(lim.worker_memory_bytes)}, "
            f"cache {lim.cache_entries:,} entries / {_bytes(lim.cache_bytes)}",
        ),
    ]
    if lim.max_trace_streams:  # servers before these were reported send zeros
        notes += [
            (
                "requests",
                f"queue {lim.max_queue:,}, lists {lim.max_list_entries:,} entries, strings: options "
                f"{lim.max_option_chars:,}, names {lim.max_name_chars:,}, titles {lim.max_title_chars:,} "
                f"characters, policies {lim.max_policy_entries:,} entries",
            ),
            (
                "trace streams",
                f"{lim.max_trace_streams:,} at once sharing {_bytes(lim.max_trace_memory_bytes)}, each "
                f"{_bytes(lim.max_stream_memory_bytes)} of memory, {lim.max_trace_chunks:,} chunks of "
                f"{_bytes(lim.max_trace_chunk_bytes)}, idle {number(lim.trace_idle_seconds)} s",
            ),
        ]
    return Summary(title, table, tuple(notes))
