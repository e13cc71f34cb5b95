"""``print(result)`` and Jupyter show a short table, not a dataclass dump (#20, item 5).

The results are built here field by field with known values (the stag hunt's three
equilibria, a trace score of four criteria), so every number in the text is known.
"""

from __future__ import annotations

import dataclasses
import html.parser
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from equilibria.client import (
    ConceptStatus,
    CriterionScore,
    Equilibrium,
    MarkovEquilibrium,
    MarkovSolutionSet,
    MarkovZeroSum,
    MethodInfo,
    ServerInfo,
    ServerLimits,
    SolutionSet,
    TraceScore,
    WelfareOptimum,
)
from equilibria.client._display import MAX_ROWS, number, vector

F = Fraction
REASON = "2-player 2x2 game: small enough to enumerate"


def _equilibrium(x: Fraction, y: Fraction, payoffs: tuple[int, int]) -> Equilibrium:
    """An exact equilibrium: the row player plays (x, 1 - x), the column player (y, 1 - y)."""
    return Equilibrium(
        strategies=(np.array([float(x), float(1 - x)]), np.array([float(y), float(1 - y)])),
        payoffs=np.array(payoffs, dtype=float),
        regrets=np.zeros(2),
        nash_conv=0.0,
        supports=((0, 1), (0, 1)),
        exact_strategies=((x, 1 - x), (y, 1 - y)),
        exact_payoffs=(F(payoffs[0]), F(payoffs[1])),
    )


def stag_hunt_set(**changes: Any) -> SolutionSet:
    """The stag hunt's solution set as the server sends it (exact, complete, with welfare)."""
    result = SolutionSet(
        game_id="60b16b7445363a97aa",
        equilibria=(
            _equilibrium(F(1), F(1), (4, 4)),
            _equilibrium(F(3, 4), F(3, 4), (3, 3)),
            _equilibrium(F(0), F(0), (3, 3)),
        ),
        components=(),
        complete=True,
        method="vertex_enumeration",
        method_reason=REASON,
        warnings=(),
        tolerance=1e-9,
        concepts=("nash", "welfare_nash"),
        exact=True,
        solve_seconds=0.004,
        welfare_optima=(WelfareOptimum("utilitarian", 8.0, (0,), "enumeration", True, None),),
        concept_status=(
            ConceptStatus("nash", "answered", "every equilibrium: 3 equilibria"),
            ConceptStatus("welfare_nash", "answered", "each maximum is over every Nash equilibrium"),
        ),
    )
    return dataclasses.replace(result, **changes)


class _Tree(html.parser.HTMLParser):
    """Parses a fragment, checks that every tag closes in order, and keeps the table's cells."""

    VOID = {"br", "hr", "img", "meta"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (tag, self.open)
        self.open.pop()
        if tag in ("td", "th"):
            assert self._cell is not None
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _parsed(fragment: str) -> _Tree:
    tree = _Tree(fragment)
    assert tree.open == [], f"unclosed tags {tree.open}"
    return tree


# -- SolutionSet ----------------------------------------------------------------------------------


def test_a_solution_set_prints_a_short_table_with_exact_strategies() -> None:
    text = str(stag_hunt_set(player_names=("Row", "Column")))
    lines = text.splitlines()
    assert lines[0] == "SolutionSet: 3 equilibria, complete (vertex_enumeration, exact)"
    assert lines[1].split() == ["#", "Row", "Column", "payoffs", "NashConv"]
    assert [line.split() for line in lines[2:5]] == [
        ["0", "(1,", "0)", "(1,", "0)", "(4,", "4)", "0"],
        ["1", "(3/4,", "1/4)", "(3/4,", "1/4)", "(3,", "3)", "0"],
        ["2", "(0,", "1)", "(0,", "1)", "(3,", "3)", "0"],
    ]
    assert f"  complete: {REASON}" in lines
    assert "  nash: answered - every equilibrium: 3 equilibria" in lines
    assert "  welfare_nash: answered - each maximum is over every Nash equilibrium" in lines
    assert "  utilitarian welfare: 8 at equilibrium 0 (certified)" in lines
    assert len(lines) <= 12


def test_a_partial_inexact_set_says_so_with_floats_and_players_numbered() -> None:
    approximate = tuple(
        dataclasses.replace(eq, exact_strategies=None, exact_payoffs=None, nash_conv=2.5e-10)
        for eq in stag_hunt_set().equilibria
    )
    result = stag_hunt_set(
        equilibria=approximate,
        complete=False,
        exact=False,
        method="lemke_howson",
        method_reason="one equilibrium per starting label",
        warnings=("degenerate game",),
    )
    lines = str(result).splitlines()
    assert lines[0] == "SolutionSet: 3 equilibria, partial (lemke_howson)"
    assert lines[1].split() == ["#", "player", "0", "player", "1", "payoffs", "NashConv"]
    assert "(0.75, 0.25)" in lines[3] and lines[3].endswith("2.5e-10")
    assert "  partial: one equilibrium per starting label" in lines
    assert "  warning: degenerate game" in lines


def test_a_long_set_shows_the_first_rows_and_counts_the_rest() -> None:
    many = stag_hunt_set().equilibria * 9  # 27 equilibria
    result = stag_hunt_set(equilibria=many)
    lines = str(result).splitlines()
    rows = [line for line in lines if line.startswith("  ") and line.split()[0].isdigit()]
    assert [int(row.split()[0]) for row in rows] == list(range(MAX_ROWS))
    assert f"  ... and {27 - MAX_ROWS} more equilibria (all in .equilibria)" in lines
    assert len(lines) <= MAX_ROWS + 12
    html_rows = _parsed(result._repr_html_()).rows
    assert len(html_rows) == 1 + MAX_ROWS


def test_an_empty_set_prints_its_title_and_why() -> None:
    lines = str(stag_hunt_set(equilibria=(), complete=False, method_reason="time budget spent")).splitlines()
    assert lines[0] == "SolutionSet: 0 equilibria, partial (vertex_enumeration, exact)"
    assert lines[1] == "  partial: time budget spent"  # no table without equilibria


def test_the_html_table_escapes_names_and_reasons_and_parses() -> None:
    result = stag_hunt_set(
        player_names=("<b>Alice</b>", "Bob & Co"),
        method_reason='found by <script>alert("x")</script>',
    )
    fragment = result._repr_html_()
    assert "<script>" not in fragment and "<b>Alice" not in fragment
    assert "&lt;b&gt;Alice&lt;/b&gt;" in fragment and "Bob &amp; Co" in fragment
    tree = _parsed(fragment)
    assert tree.rows[0] == ["#", "<b>Alice</b>", "Bob & Co", "payoffs", "NashConv"]
    assert tree.rows[1:] == [
        ["0", "(1, 0)", "(1, 0)", "(4, 4)", "0"],
        ["1", "(3/4, 1/4)", "(3/4, 1/4)", "(3, 3)", "0"],
        ["2", "(0, 1)", "(0, 1)", "(3, 3)", "0"],
    ]
    assert 'found by <script>alert("x")</script>' in "".join(tree.text)


def test_repr_stays_the_dataclass_repr() -> None:
    result = stag_hunt_set()
    assert repr(result).startswith("SolutionSet(game_id='60b16b7445363a97aa', equilibria=(Equilibrium(")
    assert str(result) != repr(result)


# -- MarkovSolutionSet ----------------------------------------------------------------------------


def test_a_markov_set_prints_small_policies_payoffs_and_the_zero_sum_values() -> None:
    policy = np.array([[1.0, 0.0], [0.25, 0.75]])
    eq = MarkovEquilibrium(
        policies=(policy, policy[::-1]),
        values=np.zeros((2, 2)),
        payoffs=np.array([1.5, -1.5]),
        regrets=np.zeros(2),
        nash_conv=1e-12,
        state_gaps=np.array([0.0, 3e-12]),
    )
    large = dataclasses.replace(eq, policies=(np.full((5, 2), 0.5), np.full((5, 2), 0.5)))
    result = MarkovSolutionSet(
        game_id="abc",
        equilibria=(eq, large),
        complete=True,
        method="hoffman_karp",
        method_reason="2-player zero-sum game: the values are unique",
        concepts=("zero_sum_value",),
        zero_sum=MarkovZeroSum(
            np.array([0.5, -0.5]), (policy, policy), 1e-12, 3e-12, "hoffman_karp", 4, 1e-9
        ),
        concept_status=(ConceptStatus("zero_sum_value", "answered", "the values within 1e-09"),),
        player_names=("max", "min"),
    )
    lines = str(result).splitlines()
    assert lines[0] == "MarkovSolutionSet: 2 equilibria, complete (hoffman_karp)"
    assert lines[1].split() == ["#", "max", "min", "payoffs", "NashConv", "max", "state", "gap"]
    assert "s0 (1, 0) s1 (0.25, 0.75)" in lines[2] and "s0 (0.25, 0.75) s1 (1, 0)" in lines[2]
    assert lines[2].split()[-3:] == ["-1.5)", "1e-12", "3e-12"]
    assert "shape (5, 2)" in lines[3]
    assert "  complete: 2-player zero-sum game: the values are unique" in lines
    assert "  zero_sum_value: answered - the values within 1e-09" in lines
    assert any(line.startswith("  zero-sum values: (0.5, -0.5) per state") for line in lines)
    assert len(_parsed(result._repr_html_()).rows) == 3


# -- TraceScore -----------------------------------------------------------------------------------


def _criterion(name: str, verdict: str, final: float, z0: int | None, evidence: str) -> CriterionScore:
    return CriterionScore(
        name=name,
        checkpoints_z=np.array([1, 10, 100]),
        values=np.array([1.0, 0.1, final]),
        final_value=final,
        verdict=verdict,
        epsilon=0.01,
        evidence=evidence,
        fitted_rate=None,
        rate_r2=None,
        z=100,
        scale=1.0,
        z0={0.1: 10, 0.05: z0, 0.01: z0},
        z0_exact=True,
        confidence_radius=None,
        nearest_solution=("point", 0),
        switched=False,
        switch_count=0,
    )


def trace_score() -> TraceScore:
    return TraceScore(
        criteria=(
            _criterion("last_iterate", "not_converged", 0.5, None, "cycles: period 3 in the tail window"),
            _criterion("empirical_distribution", "converged", 0.004, 40, "every value in the tail is below"),
            _criterion("nash_conv", "converged", 0.002, 35, "x" * 200),
            _criterion("set_convergence", "inconclusive", 0.02, None, "too few rows <z=100>"),
        ),
        n_policies=100,
        n_samples=0,
        n_returns=0,
        z_seen=100,
        selected=("point", 0),
        selected_by="set_convergence",
        switched=False,
        metric="tv",
        aggregate="max",
        epsilons=(0.1, 0.05, 0.01),
        warnings=("the solution set is partial",),
        partial_set=True,
        solution_set=stag_hunt_set(),
    )


def test_a_trace_score_prints_one_row_per_criterion_with_its_verdict() -> None:
    lines = str(trace_score()).splitlines()
    assert lines[0] == "TraceScore: 4 criteria over 100 rows (metric tv, aggregate max)"
    assert lines[1].split() == ["criterion", "verdict", "final", "epsilon", "z0", "evidence"]
    assert [line.split()[:5] for line in lines[2:6]] == [
        ["last_iterate", "not_converged", "0.5", "0.01", "cycles:"],
        ["empirical_distribution", "converged", "0.004", "0.01", "40"],
        ["nash_conv", "converged", "0.002", "0.01", "35"],
        ["set_convergence", "inconclusive", "0.02", "0.01", "too"],
    ]
    assert lines[4].endswith("x" * 57 + "...") and len(lines[4]) < 150  # long evidence is cut in text
    assert "  approached: point 0 (by set_convergence)" in lines
    assert "  against: 3 equilibria, complete (vertex_enumeration)" in lines
    assert "  warning: the solution set is partial" in lines
    assert len(lines) <= 12


def test_a_trace_score_in_html_keeps_the_whole_evidence_escaped() -> None:
    tree = _parsed(trace_score()._repr_html_())
    assert [row[:2] for row in tree.rows[1:]] == [
        ["last_iterate", "not_converged"],
        ["empirical_distribution", "converged"],
        ["nash_conv", "converged"],
        ["set_convergence", "inconclusive"],
    ]
    assert tree.rows[3][5] == "x" * 200 and tree.rows[4][5] == "too few rows <z=100>"


# -- ServerInfo -----------------------------------------------------------------------------------


def test_server_info_prints_its_methods_and_limits() -> None:
    info = ServerInfo(
        version="0.1.0",
        solver_version="0.2.0",
        limits=ServerLimits(64 << 20, 4_000_000, 16, 300.0, 2, cache_entries=1024, cache_bytes=256 << 20),
        methods=(
            MethodInfo("vertex_enumeration", "every extreme Nash equilibrium", True, 2, 2),
            MethodInfo("pure_enumeration", "every pure equilibrium of an n-player game", True, 2, 0),
            MethodInfo("homotopy", "general-sum stochastic games <partial>", False, 2, 16),
        ),
        instance_id="23cffa763c7145ceb5aad40c4b42fe53",
    )
    lines = str(info).splitlines()
    assert lines[0] == "ServerInfo: equilibria 0.1.0 (solver 0.2.0), instance 23cffa763c71"
    assert [line.split()[:3] for line in lines[2:5]] == [
        ["vertex_enumeration", "2", "yes"],
        ["pure_enumeration", "2+", "yes"],
        ["homotopy", "2-16", "no"],
    ]
    assert lines[5].startswith("  limits: 2 workers, 16 players, 4,000,000 payoff entries")
    assert "messages 64 MiB" in lines[6] and "cache 1,024 entries / 256 MiB" in lines[6]
    assert len(lines) == 7  # a server that does not report its request caps: no such lines
    reported = dataclasses.replace(
        info.limits,
        max_queue=256,
        max_list_entries=64,
        max_option_chars=64,
        max_name_chars=256,
        max_title_chars=4096,
        max_policy_entries=4_000_000,
        max_trace_streams=16,
        max_trace_memory_bytes=1 << 30,
        max_stream_memory_bytes=256 << 20,
        max_trace_chunks=1_000_000,
        max_trace_chunk_bytes=1 << 20,
        trace_idle_seconds=300.0,
    )
    full = dataclasses.replace(info, limits=reported)
    lines = str(full).splitlines()
    assert lines[7] == (
        "  requests: queue 256, lists 64 entries, strings: options 64, names 256, titles 4,096 characters, "
        "policies 4,000,000 entries"
    )
    assert lines[8] == (
        "  trace streams: 16 at once sharing 1 GiB, each 256 MiB of memory, 1,000,000 chunks of 1 MiB, idle 300 s"
    )
    tree = _parsed(info._repr_html_())
    assert tree.rows[3][3] == "general-sum stochastic games <partial>"


# -- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(F(3, 4), "3/4"), (F(2), "2"), (0.333333333, "0.3333"), (-0.0, "0"), (4.0, "4"), (1e-12, "1e-12")],
)
def test_numbers_are_short(value: Any, text: str) -> None:
    assert number(value) == text


def test_a_long_strategy_lists_its_support() -> None:
    assert vector([0.5, 0, 0, 0, 0, 0, 0.5]) == "a0 0.5, a6 0.5 (of 7)"
    assert vector(np.full(20, 0.05)) == "a0 0.05, a1 0.05, a2 0.05, a3 0.05, a4 0.05, ... (of 20)"
