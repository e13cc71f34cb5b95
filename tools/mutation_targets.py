"""What ``tools.mutation`` mutates, and what it leaves alone (issue 23).

``TARGETS``: each module that produces certificates and verdicts, with its own tests and a
timeout; ``FAST``: the certificate checks' modules (``--fast``). Not mutated: ``NOT_MUTATED``
functions, the definitions of ``LIMIT`` constants and of each module's ``TUNING`` knobs.
``EQUIVALENT``: mutants no input can tell from the original, each with the reason.
"""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class Target:
    """One module under mutation and the tests that run against its mutants."""

    #: Path from the repository root.
    path: str
    #: pytest arguments (files or node ids): the few tests that exercise the module.
    tests: tuple[str, ...]
    #: Seconds one test run may take before the mutant counts as timed out.
    timeout: float
    #: The scopes (function, ``Class.method`` or module-level name) that are certificate
    #: checks: the ``--fast`` subset. Empty: the module is not in the fast subset.
    certificate_scopes: tuple[str, ...] = ()
    #: The tests of ``--fast`` (fewer: seconds per mutant); default ``tests``.
    fast_tests: tuple[str, ...] = ()


def _docstrings(module: str) -> tuple[str, str]:
    """The test ids of one module's docstring examples and documented defaults:
    ``_docstrings("client._convert")``."""
    return (
        f"tests/test_doctests.py::test_docstring_examples[{module}]",
        f"tests/test_doctests.py::test_documented_defaults_are_the_signatures[{module}]",
    )


TARGETS: dict[str, Target] = {
    "regret": Target(
        "solver/regret.py",
        (
            *_docstrings("solver.regret"),
            "tests/normal_form/test_known_answers.py",
            "tests/normal_form/test_nplayer.py",
            *(
                f"tests/normal_form/test_lemke_howson.py::{test}"
                for test in (
                    "test_fast_certify_matches_the_tensordot_oracle",
                    "test_fast_certify_of_one_row_or_column_equals_numpys_products_bit_for_bit",
                    "test_fast_certify_takes_lists_read_only_and_strided_vectors",
                    "test_fast_certify_still_rejects_a_profile_that_does_not_fit",
                    "test_certify_many_equals_certify_profile_by_profile",
                    "test_certify_many_rejects_what_does_not_fit",
                )
            ),
        ),
        timeout=120,
        certificate_scopes=(
            "deviation_payoffs",
            "certify",
            "certify_many",
            "bimatrix_certificate_into",
        ),
        fast_tests=(
            *_docstrings("solver.regret"),
            *(
                f"tests/normal_form/test_known_answers.py::{test}"
                for test in (
                    "test_certificates_of_known_profiles",
                    "test_deviation_payoffs_of_known_profiles",
                    "test_deviation_payoffs_of_three_players_contract_both_opponents",
                    "test_certify_refuses_a_profile_that_does_not_fit_the_game",
                    "test_an_indifferent_player_never_has_a_negative_regret",
                )
            ),
            *(
                f"tests/normal_form/test_lemke_howson.py::{test}"
                for test in (
                    "test_fast_certify_matches_the_tensordot_oracle",
                    "test_fast_certify_of_one_row_or_column_equals_numpys_products_bit_for_bit",
                    "test_fast_certify_takes_lists_read_only_and_strided_vectors",
                    "test_fast_certify_still_rejects_a_profile_that_does_not_fit",
                    "test_certify_many_equals_certify_profile_by_profile",
                    "test_certify_many_rejects_what_does_not_fit",
                )
            ),
        ),
    ),
    "game": Target(
        "solver/game.py",
        (
            *_docstrings("solver.game"),
            "tests/test_game_validation.py",
            "tests/normal_form/test_payoff_units.py",
        ),
        timeout=90,
        certificate_scopes=(
            "ROUNDOFF_RANGE",
            "NormalFormGame.player_scales",
            "NormalFormGame._largest_payoffs",
            "NormalFormGame.regret_tolerances",
            "NormalFormGame.within_tolerance",
            "player_ranges",
        ),
        fast_tests=(*_docstrings("solver.game"), "tests/normal_form/test_payoff_units.py"),
    ),
    "vertex_enumeration": Target(
        "solver/normal_form/vertex_enumeration.py",
        (
            *_docstrings("solver.normal_form.vertex_enumeration"),
            "tests/normal_form/test_known_answers.py",
            "tests/normal_form/test_vertex_search.py",
            "tests/normal_form/test_rational_polytope.py",
            "tests/normal_form/test_every_answer_certifies.py",
            "tests/test_properties.py",
        ),
        timeout=120,
    ),
    "labelled_pairs": Target(
        "solver/normal_form/labelled_pairs.py",
        (
            *_docstrings("solver.normal_form.labelled_pairs"),
            "tests/normal_form/test_labelled_pairs.py",
            "tests/normal_form/test_vertex_search.py::test_the_covering_pairs_do_not_depend_on_the_block_size",
            "tests/normal_form/test_vertex_search.py::test_covering_in_small_blocks_pairs_the_same_vertices",
        ),
        timeout=120,
    ),
    "labelled_vertices": Target(
        "solver/normal_form/labelled_vertices.py",
        (
            *_docstrings("solver.normal_form.labelled_vertices"),
            "tests/normal_form/test_known_answers.py",
            "tests/normal_form/test_vertex_search.py",
            "tests/normal_form/test_rational_polytope.py",
            "tests/normal_form/test_complementary_faces.py",
            "tests/normal_form/test_every_answer_certifies.py",
        ),
        timeout=120,
    ),
    "bases": Target(
        "solver/normal_form/bases.py",
        (
            "tests/normal_form/test_bases_kernels.py",
            "tests/normal_form/test_vertex_search.py",
            "tests/normal_form/test_zero_sum.py",
            "tests/normal_form/test_oracle_lrsnash.py",
        ),
        timeout=120,
    ),
    "square_systems": Target(
        "solver/normal_form/square_systems.py",
        (
            *_docstrings("solver.normal_form.square_systems"),
            "tests/normal_form/test_square_systems.py",
            "tests/normal_form/test_vertex_search.py",
        ),
        timeout=120,
    ),
    "lexicographic": Target(
        "solver/normal_form/lexicographic.py",
        (
            *_docstrings("solver.normal_form.lexicographic"),
            "tests/normal_form/test_lexicographic.py",
            "tests/normal_form/test_vertex_search.py",
        ),
        timeout=120,
    ),
    "lemke_howson": Target(
        "solver/normal_form/lemke_howson.py",
        (
            *_docstrings("solver.normal_form.lemke_howson"),
            "tests/normal_form/test_lemke_howson_kernels.py",
            "tests/normal_form/test_lemke_howson.py",
        ),
        timeout=180,
    ),
    "pure": Target(
        "solver/normal_form/pure.py",
        (
            *_docstrings("solver.normal_form.pure"),
            "tests/normal_form/test_known_answers.py",
            "tests/test_elapsed_and_options.py",
            "tests/test_game_validation.py",
        ),
        timeout=90,
    ),
    "zero_sum": Target(
        "solver/normal_form/zero_sum.py",
        (*_docstrings("solver.normal_form.zero_sum"), "tests/normal_form/test_zero_sum.py"),
        timeout=120,
    ),
    "nplayer": Target(
        "solver/normal_form/nplayer.py",
        (
            *_docstrings("solver.normal_form.nplayer"),
            "tests/normal_form/test_nplayer.py",
            "tests/normal_form/test_gambit_expectations.py",
            "tests/normal_form/test_every_answer_certifies.py",
        ),
        timeout=180,
    ),
    "exact": Target(
        "solver/normal_form/exact.py",
        (
            *_docstrings("solver.normal_form.exact"),
            "tests/normal_form/test_known_answers.py",
            "tests/normal_form/test_vertex_search.py",
            "tests/test_game_validation.py",
        ),
        timeout=120,
    ),
    "exact_search": Target(
        "solver/normal_form/exact_search.py",
        (
            *_docstrings("solver.normal_form.exact_search"),
            "tests/normal_form/test_exact_search.py",
            "tests/normal_form/test_vertex_search.py",
        ),
        timeout=120,
    ),
    "integer_search": Target(
        "solver/normal_form/integer_search.py",
        (
            *_docstrings("solver.normal_form.integer_search"),
            "tests/normal_form/test_integer_search.py",
            "tests/normal_form/test_vertex_search.py",
        ),
        timeout=120,
    ),
    "integer_faces": Target(
        "solver/normal_form/integer_faces.py",
        (
            *_docstrings("solver.normal_form.integer_faces"),
            "tests/normal_form/test_integer_faces.py",
            "tests/normal_form/test_integer_search.py",
        ),
        timeout=120,
    ),
    "alpha_rank": Target(
        "solver/concepts/alpha_rank.py",
        (*_docstrings("solver.concepts.alpha_rank"), "tests/concepts/test_alpha_rank.py"),
        timeout=120,
    ),
    "max_entropy": Target(
        "solver/concepts/max_entropy.py",
        (*_docstrings("solver.concepts.max_entropy"), "tests/concepts/test_max_entropy.py"),
        timeout=120,
    ),
    "dynamics": Target(
        "solver/concepts/dynamics.py",
        (*_docstrings("solver.concepts.dynamics"), "tests/concepts/test_dynamics.py"),
        timeout=120,
    ),
    "ess": Target(
        "solver/concepts/ess.py",
        (*_docstrings("solver.concepts.ess"), "tests/concepts/test_ess.py"),
        timeout=120,
    ),
    "credit": Target(
        "solver/concepts/credit.py",
        (*_docstrings("solver.concepts.credit"), "tests/concepts/test_credit.py"),
        timeout=120,
    ),
    "noisy": Target(
        "solver/concepts/noisy.py",
        (*_docstrings("solver.concepts.noisy"), "tests/concepts/test_noisy.py"),
        timeout=120,
    ),
    "payoff_samples": Target(
        "solver/concepts/payoff_samples.py",
        (
            *_docstrings("solver.concepts.payoff_samples"),
            "tests/concepts/test_payoff_samples.py",
            "tests/concepts/test_noisy.py",
        ),
        timeout=120,
    ),
    "credit_curves": Target(
        "solver/traces/credit_curves.py",
        (
            *_docstrings("solver.traces.credit_curves"),
            "tests/traces/test_credit_trace.py",
            "tests/traces/test_trace_memory_bound.py",  # the row blocks bound the working memory
        ),
        timeout=120,
    ),
    "complementary_faces": Target(
        "solver/normal_form/complementary_faces.py",
        (
            *_docstrings("solver.normal_form.complementary_faces"),
            "tests/normal_form/test_complementary_faces.py",
            "tests/normal_form/test_vertex_search.py",
        ),
        timeout=180,
    ),
    "rational_polytope": Target(
        "solver/normal_form/rational_polytope.py",
        (
            *_docstrings("solver.normal_form.rational_polytope"),
            "tests/normal_form/test_rational_polytope.py",
        ),
        timeout=120,
    ),
    "correlated": Target(
        "solver/concepts/correlated.py",
        (*_docstrings("solver.concepts.correlated"), "tests/concepts/test_correlated.py"),
        timeout=90,
    ),
    "stochastic_regret": Target(
        "solver/stochastic/regret.py",
        (
            *_docstrings("solver.stochastic.regret"),
            "tests/stochastic/test_stochastic_game.py",
            "tests/stochastic/test_discount_near_one.py",
        ),
        timeout=180,
    ),
    "stochastic_zero_sum": Target(
        "solver/stochastic/zero_sum.py",
        (
            *_docstrings("solver.stochastic.zero_sum"),
            "tests/stochastic/test_markov_zero_sum.py",
            "tests/stochastic/test_discount_near_one.py",
            "tests/stochastic/test_reward_scales.py",
        ),
        timeout=180,
    ),
    "distances": Target(
        "solver/traces/distances.py",
        (
            *_docstrings("solver.traces.distances"),
            "tests/traces/test_distance_inputs.py",
            "tests/traces/test_distances.py",
        ),
        timeout=120,
    ),
    "verdicts": Target(
        "solver/traces/verdicts.py",
        (
            *_docstrings("solver.traces.verdicts"),
            "tests/traces/test_verdict_definitions.py",
            "tests/traces/test_trace_scoring.py",
        ),
        timeout=180,
    ),
    # The converter runs in the server's process in end-to-end tests, where the coverage map
    # cannot see it: its own tests include the end-to-end refusals (fuzzed and oversized input).
    "service_convert": Target(
        "service/convert.py",
        (
            *_docstrings("service.convert"),
            "tests/service/test_convert.py",
            "tests/service/test_string_caps.py",
            "tests/service/test_fuzz_e2e.py",
        ),
        timeout=180,
    ),
    "client_convert": Target(
        "client/_convert.py",
        (
            *_docstrings("client._convert"),
            "tests/client/test_client_unit.py",
            "tests/client/test_client_errors.py",
            "tests/client/test_readable_e2e.py",
            "tests/traces/test_trace_input.py",
            "tests/service/test_convert.py",
        ),
        timeout=90,
    ),
}

FAST = ("regret", "game")

#: Functions not mutated: the kernels' warm-ups only make numba compile (or load) each
#: kernel at start-up, with arguments whose values no answer depends on.
NOT_MUTATED = frozenset({"_warm_up"})

#: Module-level resource limits (``MAX_LP_ENTRIES = 10_000_000``): any value is correct, so
#: their definitions are not mutated (``10**7`` is a number however written); tests pin the
#: comparisons against them with patched values.
#: Likewise the safety factors of proven error bounds (``_ERROR_SAFETY = 16.0``): any value
#: at least the proof's is correct, and the tests pin the decisions the bounds make at their
#: thresholds instead.
LIMIT = re.compile(r"_?(MAX|MIN)_[A-Z0-9_]+|_?[A-Z0-9_]*_SAFETY")

#: The knobs of search heuristics, per module: how many starts, where a refinement reads a
#: support, how far a path runs, at what noise an iteration gives up early. Every candidate
#: they yield is certified (its NashConv measured, or its error bound computed where it
#: stops) and no ``complete`` claim rests on them, so their definitions are not mutated: a
#: changed knob finds the same certified equilibria or fewer, which the tests of the
#: certificates and of completeness already judge.
TUNING: dict[str, frozenset[str]] = {
    # Which way a class of label sets is paired (every pair checked, or candidates looked up
    # from either side): each way finds exactly the completely labelled pairs (tested with
    # the knob forced to 0 and to 10**9); the knob only prices them.
    "labelled_pairs": frozenset({"LOOKUP_COST"}),
    "nplayer": frozenset(
        {
            "_AUTO_ENUMPOLY_SHARE",
            "_RESTART_FACTOR",
            "_RESTART_FLOOR",
            "_PERTURBATIONS",
            "_SIMPDIV_STARTS",
            "_SIMPDIV_GRID",
            "_SIMPDIV_MAXREGRET",
            "_SUPPORT_THRESHOLDS",
            "_NEWTON_ITERATIONS",
            "_SEED",
        }
    ),
    # Which path solves a stage game or a policy's values (kernels or LP, dense LU or
    # GMRES) and how many candidates a chunk holds: each path's answer is bracketed or
    # checked (the tests force every path by patching these).
    "stochastic_zero_sum": frozenset({"_NOISE_ULPS", "KERNEL_MAX_PAIRS", "_DIRECT_STATES", "_CHUNK"}),
}


@dataclasses.dataclass(frozen=True)
class Equivalent:
    """A mutant no input can tell from the original: excluded, with the reason."""

    module: str
    operator: str
    #: The original source line and the mutated one, stripped.
    line: str
    mutated: str
    reason: str


_DIGEST_LINE = (
    'h.update(self.payoffs.data if sys.byteorder == "little" else self.payoffs.astype("<f8").tobytes())'
)
_WITNESS_LINE = "if values[col, i] > 2.0 * error[col, i] and max(values[0, i], 0.0) / values[col, i] < low:"
_SLACK_LINE = "slack_err = err[:, None] * np.abs(mat).sum(axis=0) + (d + 1) * _EPS * (1.0 + np.abs(points) @ np.abs(mat))"
_ZERO_LINE = "zero = abs(v_r) <= e_r and abs(v_s) <= e_s"
_PRUNE_LINE = "and values[col, s] > 2.0 * error[col, s]  # a pivot element that may be zero: kept"
_LEX_BOUND_LINE = (
    "bound = 2.0 * (abs(v_r) * e_as + e_r * (abs(a_s) + e_as) + abs(v_s) * e_ar + e_s * (abs(a_r) + e_ar))"
)
_MINIMISER_LINE = "(np.repeat(x.reshape(-1), n), (mdp_rows.reshape(-1), np.arange(n_states * m * n))),"
_HASH_LINE = (
    "i = ((key * np.int64(-0x61C8864680B583EB)) >> np.int64(29)) & mask  # Fibonacci hashing, wrapping"
)

_DECIMAL_LINE = "and MAX_DENOMINATOR * decimal.denominator * math.ulp(value) < 1.0"
_DECIMAL_REASON = (
    "the decimal fast path returns what the closest-fraction search after it returns whenever it"
    " is taken: taking it less often (or never) gives the same fractions, only slower"
)

EQUIVALENT: tuple[Equivalent, ...] = (
    Equivalent(
        "credit_curves",
        "NumberReplacer",
        "rows = max(1, CREDIT_BLOCK // max(2 * math.prod(self.shape), 1 << self.n))",
        "rows = max(1, CREDIT_BLOCK // max( 3 * math.prod(self.shape), 1 << self.n))",
        "the block only splits a chunk's rows (working memory): each row's credits do not depend on it",
    ),
    Equivalent(
        "credit_curves",
        "ReplaceTrueWithFalse",
        "self.rows = [r for r, k in zip(self.rows, keep, strict=True) if k]",
        "self.rows = [r for r, k in zip(self.rows, keep, strict=False) if k]",
        "keep has one flag per checkpoint and rows one row per checkpoint: the lengths are always equal",
    ),
    Equivalent(
        "payoff_samples",
        "ReplaceComparisonOperator_Gt_GtE",
        "reference = np.where(self._counts[touched] > 0, self._means[:, touched], other._means[:, touched])",
        "reference = np.where(self._counts[touched] >= 0, self._means[:, touched], other._means[:, touched])",
        "as the NumberReplacer mutant of this line: an entry without samples here takes the other's"
        " statistics exactly whatever the reference (returns of at most 1e150: no square overflows)",
    ),
    Equivalent(
        "payoff_samples",
        "NumberReplacer",
        "reference = np.where(self._counts[touched] > 0, self._means[:, touched], other._means[:, touched])",
        "reference = np.where(self._counts[touched] > -1, self._means[:, touched], other._means[:, touched])",
        "at an entry without samples here the merge takes the other's statistics whole (share 1, no cross"
        " term): any reference, the stored 0 too, gives them exactly",
    ),
    Equivalent(
        "noisy",
        "ReplaceComparisonOperator_Gt_GtE",
        '" (an entry with fewer than 2 samples has no finite standard error)" if errors[index] > 0 else ""',
        '" (an entry with fewer than 2 samples has no finite standard error)" if errors[index] >= 0 else ""',
        "a refused entry is +inf (the hint), -inf, NaN or negative: none is 0",
    ),
    Equivalent(
        "noisy",
        "NumberReplacer",
        '" (an entry with fewer than 2 samples has no finite standard error)" if errors[index] > 0 else ""',
        '" (an entry with fewer than 2 samples has no finite standard error)" if errors[index] > 1 else ""',
        "a refused entry is +inf (the hint), -inf, NaN or negative: none lies in (0, 1]",
    ),
    Equivalent(
        "credit",
        "NumberReplacer",
        "team = _team(options.team, game.payoffs.reshape(n, -1), tol, function)",
        "team = _team(options.team, game.payoffs.reshape(n, - 2), tol, function)",
        "numpy (2.x) reads any negative length in reshape as the one unknown dimension",
    ),
    Equivalent(
        "credit",
        "NumberReplacer",
        "coalition_values = unscaled(credits.coalition_values).reshape(*lead, -1)",
        "coalition_values = unscaled(credits.coalition_values).reshape(*lead, - 2)",
        "numpy (2.x) reads any negative length in reshape as the one unknown dimension",
    ),
    Equivalent(
        "dynamics",
        "NumberReplacer",
        "if len(xs) == 2:",
        "if len(xs) == 1:",
        "the two-player matrix products are a fast path: the general contraction gives the same payoffs",
    ),
    Equivalent(
        "dynamics",
        "ReplaceTrueWithFalse",
        "for s, a, b, c, d in zip(state, k1, k2, k3, k4, strict=True)",
        "for s, a, b, c, d in zip(state, k1, k2, k3, k4, strict=False)",
        "the state and the four stages hold one array per population each: the lengths are always equal",
    ),
    Equivalent(
        "dynamics",
        "NumberReplacer",
        "trapped = np.full(count, -1, dtype=np.intp)",
        "trapped = np.full(count, - 2, dtype=np.intp)",
        "only trapped >= 0 is read: any negative value marks a start without a trapping profile",
    ),
    Equivalent(
        "alpha_rank",
        "NumberReplacer",
        "self.eta = 1.0 / moves if moves else 1.0",
        "self.eta = 1.0 / moves if moves else 2.0",
        "no moves means one profile: eta multiplies no move, and its chain is [[1]] either way",
    ),
    Equivalent(
        "alpha_rank",
        "NumberReplacer",
        "self.eta = 1.0 / (n - 1) if n > 1 else 1.0",
        "self.eta = 1.0 / (n - 1) if n > 1 else 2.0",
        "one strategy has no moves: eta multiplies no move, and its chain is [[1]] either way",
    ),
    Equivalent(
        "alpha_rank",
        "NumberReplacer",
        "self.eta = 1.0 / (n - 1) if n > 1 else 1.0",
        "self.eta = 1.0 / (n - 1) if n > 2 else 1.0",
        "at n = 2 both give 1 / (n - 1) = 1",
    ),
    Equivalent(
        "alpha_rank",
        "ReplaceComparisonOperator_LtE_Lt",
        "if change <= _CONVERGED:",
        "if change < _CONVERGED:",
        "a largest change of a mass equal to 1e-8 to the last bit is a coincidence no game is known"
        " to produce, and either ending would be right there (the threshold is a convention)",
    ),
    Equivalent(
        "integer_faces",
        "ReplaceComparisonOperator_LtE_Lt",
        "if allowed <= 0:",
        "if allowed < 0:",
        "an allowance of 0 lets the kernel process no vertex (it stops at spent >= allowed), and"
        " the count then stops the loop as the guard would have",
    ),
    Equivalent(
        "integer_faces",
        "NumberReplacer",
        "if allowed <= 0:",
        "if allowed <= -1:",
        "the allowance is an integer: <= -1 is < 0, and an allowance of 0 processes no vertex and"
        " the count then stops the loop as the guard would have",
    ),
    Equivalent(
        "integer_faces",
        "ReplaceComparisonOperator_Lt_LtE",
        "if p < 0:",
        "if p <= 0:",
        "a pivot entry is never 0 (every caller picks a non-zero entry: the install's, the ratio"
        " test's positive one, the slack swap's)",
    ),
    Equivalent(
        "integer_faces",
        "NumberReplacer",
        "if p < 0:",
        "if p < 1:",
        "a pivot entry is a non-zero integer: < 1 is < 0",
    ),
    Equivalent(
        "integer_faces",
        "ReplaceComparisonOperator_Lt_LtE",
        "if size < 4.0e18:  # every partial sum is exact in int64",
        "if size <= 4.0e18:  # every partial sum is exact in int64",
        "partial sums of at most 4e18 in absolute value are still far below 2^63 (9.2e18): exact",
    ),
    Equivalent(
        "integer_faces",
        "NumberReplacer",
        "if size < 4.0e18:  # every partial sum is exact in int64",
        "if size < 4e+18:  # every partial sum is exact in int64",
        "the same float written another way",
    ),
    Equivalent(
        "integer_faces",
        "ReplaceComparisonOperator_Lt_LtE",
        "while sign == 0 and t < c:",
        "while sign == 0 and t <= c:",
        "two rows never tie on all c lexicographic columns (those columns of the tableau are D B^-1"
        " B_0, non-singular: two rows proportional would make it singular), so the loop ends on a"
        " sign before t reaches c",
    ),
    Equivalent(
        "integer_faces",
        "ReplaceComparisonOperator_Lt_LtE",
        "if sign < 0:",
        "if sign <= 0:",
        "after the lexicographic columns sign is never 0 (no two rows tie on all of them, see the"
        " loop above)",
    ),
    Equivalent(
        "integer_faces",
        "NumberReplacer",
        "if sign < 0:",
        "if sign < 1:",
        "sign is -1, 0 or 1 and never 0 after the lexicographic columns: < 1 is < 0",
    ),
    Equivalent(
        "integer_faces",
        "NumberReplacer",
        "if (mask >> e) & 1 and not (key >> e) & 1 and e != parent:",
        "if (mask >> e) & 1 and not (key >> e) & 0 and e != parent:",
        "entering a basic variable pivots on its own row (its column's one positive entry) and"
        " leads back to the same basis, which the search has already seen: skipped either way",
    ),
    Equivalent(
        "exact",
        "ReplaceComparisonOperator_LtE_Lt",
        "decimal.denominator <= MAX_DENOMINATOR",
        "decimal.denominator < MAX_DENOMINATOR",
        _DECIMAL_REASON,
    ),
    Equivalent(
        "exact",
        "ReplaceComparisonOperator_Lt_LtE",
        _DECIMAL_LINE,
        _DECIMAL_LINE.replace("< 1.0", "<= 1.0"),
        "10^6 q ulp is never exactly 1: 10^6 q has the factor 5^6 and an ulp is a power of two",
    ),
    Equivalent(
        "exact", "NumberReplacer", _DECIMAL_LINE, _DECIMAL_LINE.replace("< 1.0", "< 0.0"), _DECIMAL_REASON
    ),
    Equivalent("exact", "RemoveGuardReturn", "return decimal", "pass", _DECIMAL_REASON),
    Equivalent(
        "integer_search",
        "ReplaceComparisonOperator_Lt_LtE",
        "if float(_row_max(tableau, i)) * scale + abs(float(a)) * reach < _SMALL_NUMERATOR:",
        "if float(_row_max(tableau, i)) * scale + abs(float(a)) * reach <= _SMALL_NUMERATOR:",
        "a row whose bound is exactly 4e18 is still below 2^62 (about 4.6e18) with room for the"
        " bound's rounding: either path divides it exactly",
    ),
    Equivalent(
        "labelled_pairs",
        "ReplaceComparisonOperator_Eq_NotEq",
        'elif how == "x":',
        'elif how != "x":',
        "looking a class up from the other side finds the same pairs (L_x = M_y + T as L_y = M_x +"
        " S), only at the other side's cost; with no check planned the two branches swap",
    ),
    Equivalent(
        "labelled_pairs",
        "ReplaceTrueWithFalse",
        "pairs.extend(zip(ia[a].tolist(), ib[order[at]].tolist(), strict=True))",
        "pairs.extend(zip(ia[a].tolist(), ib[order[at]].tolist(), strict=False))",
        "a and at are both repeated by the same counts: always one length",
    ),
    *(
        Equivalent(
            "labelled_pairs",
            "NumberReplacer",
            "rows = max(1, BLOCK_ENTRIES // (len(combos) * max(k, 1)))",
            mutated,
            "the rows per block of candidates: any positive number of rows builds and looks up the"
            " same candidates (tested down to blocks of one row)",
        )
        for mutated in (
            "rows = max( 2, BLOCK_ENTRIES // (len(combos) * max(k, 1)))",
            "rows = max(1, BLOCK_ENTRIES // (len(combos) * max(k, 2)))",
        )
    ),
    *(
        Equivalent(
            "exact",
            "ReplaceTrueWithFalse",
            line,
            line.replace("strict=True", "strict=False"),
            "every caller passes x, the matrix's rows and y of matching sizes (one rational game)",
        )
        for line in (
            "xi * sum((r * yj for r, yj in zip(row, y, strict=True) if yj), Fraction(0))",
            "for xi, row in zip(x, mat, strict=True)",
        )
    ),
    *(
        Equivalent(
            "lexicographic",
            operator,
            line,
            line.replace("log_h * (1 + 1e-9)", mutated),
            "the relative margin on log2 H (at most 124 bits with eight 31-bit primes) moves the"
            " threshold by under 5e-7 bits either way, inside the fixed 1e-6-bit margin after it:"
            " the primes taken exceed 4 H^2 (or 2 H) either way, and the count can differ only"
            " where that bound lies within 5e-7 bits of a product of the primes",
        )
        for line in (
            "need = 2.0 + 2.0 * (log_h * (1 + 1e-9) + 1e-6)  # log2 (4 H^2), rounded up",
            'zero_count = int(np.searchsorted(bits, 1.0 + log_h * (1 + 1e-9) + 1e-6, side="right")) + 1',
        )
        for operator, mutated in (
            ("ReplaceBinaryOperator_Add_Sub", "log_h * (1 - 1e-9)"),
            ("ReplaceBinaryOperator_Mul_Div", "log_h / (1 + 1e-9)"),
        )
    ),
    *(
        Equivalent(
            "stochastic_regret",
            "NumberReplacer",
            "DENSE_STATES = 2000",
            f"DENSE_STATES = {value}",
            "both solvers solve the same system (to round-off); the threshold only picks the"
            " faster, and a test pins the switch with the threshold patched",
        )
        for value in (2001, 1999)
    ),
    *(
        Equivalent(
            "stochastic_regret",
            "NumberReplacer",
            line,
            line.replace("(-1)", "(- 2)"),
            "numpy reads any negative size in a reshape as the one unknown dimension",
        )
        for line in (
            "rows = (np.arange(n_states).reshape([n_states] + [1] * game.n_players) * k + own).reshape(-1)",
            "(others.reshape(-1), (rows, np.arange(n_states * n_joint))), shape=(n_states * k, n_states * n_joint)",
            "rewards = (weights @ game.rewards[:, player].reshape(-1)).reshape(n_states, k)",
        )
    ),
    *(
        Equivalent(
            "stochastic_regret",
            "NumberReplacer",
            line,
            line.replace("horizon + 1", "horizon + 2"),
            "one more all-zero stage past the horizon: the recursion reads only the stage after"
            " the last, and the certificate compares the horizon's stages only",
        )
        for line in (
            "stages = np.zeros((game.horizon + 1, game.n_states, game.n_players))",
            "values = np.zeros((game.horizon + 1, n_states))",
        )
    ),
    *(
        Equivalent(
            "exact_search",
            operator,
            "for column in (len(rows[0]) - 1, *range(d, len(rows[0]) - 1)):",
            f"for column in (len(rows[0]) - 1, *range(d, len(rows[0]) {tail})):",
            "columns past the last slack column are never read: the rows of the basis inverse"
            " are linearly independent, so the slack columns break every tie and the loop stops"
            " at the last of them at the latest",
        )
        for operator, tail in (("ReplaceBinaryOperator_Sub_Add", "+ 1"), ("NumberReplacer", "- 0"))
    ),
    *(
        Equivalent(
            "exact_search",
            "NumberReplacer",
            "low_num, low_den = 0, 1",
            f"low_num, low_den = {value}",
            "never read: the first candidate of every column overwrites it (best is empty then)",
        )
        for value in ("0, 0", "0, 2", "1, 1")
    ),
    *(
        Equivalent(
            "exact_search",
            operator,
            "if len(best) <= 1:",
            mutated,
            "a single best row stays the single best on every later column: the loop returns"
            " the same row, after comparing it with itself",
        )
        for operator, mutated in (
            ("ReplaceComparisonOperator_LtE_Lt", "if len(best) < 1:"),
            ("NumberReplacer", "if len(best) <= 0:"),
        )
    ),
    Equivalent(
        "exact_search",
        "ReplaceTrueWithFalse",
        "new.append([(x * p - a * y) // det for x, y in zip(row, pivot_row, strict=True)])",
        "new.append([(x * p - a * y) // det for x, y in zip(row, pivot_row, strict=False)])",
        "every row of the tableau has the same length, the pivot row among them",
    ),
    Equivalent(
        "nplayer",
        "ReplaceTrueWithFalse",
        "for p, s in zip(profile, idx, strict=True):",
        "for p, s in zip(profile, idx, strict=False):",
        "the support has one entry per player, as the profile it was read from",
    ),
    *(
        Equivalent(
            "vertex_enumeration",
            "ReplaceTrueWithFalse",
            line,
            line.replace("strict=True", "strict=False"),
            "the rows of one payoff matrix all have its number of columns: transposing them with"
            " zip never meets rows of two lengths",
        )
        for line in ("tuple(zip(*exact_game.a_positive, strict=True)),",)
    ),
    Equivalent(
        "vertex_enumeration",
        "AddNot",
        "labels[k, label if coordinate_labels_first else (c + label if label < d else label - d)] = True",
        "labels[k, label if not coordinate_labels_first else (c + label if label < d else label - d)] = True",
        "both polytopes' exact labels are then numbered column actions first: one permutation"
        " of the global labels, under which a pair covers every label exactly when it did"
        " before; the labels serve only to pair vertices (by label sets) and the points are"
        " the same",
    ),
    *(
        Equivalent(
            "labelled_vertices",
            "NumberReplacer",
            _SLACK_LINE,
            mutated,
            "still a bound of the slack's rounding: 1 - x.y over d terms errs by at most"
            " (d u |x||y| + u (1 + |x||y|)) with u = eps / 2, which each of these bounds (d +"
            " 0, d + 2, 0.0 or 2.0 in place of d + 1 and 1.0) exceeds where a slack is near"
            " the tolerance (|x||y| >= x.y ~ 1); a larger bound only flags more decisions for"
            " exact arithmetic, whose answer is the same",
        )
        for mutated in (
            _SLACK_LINE.replace("(d + 1)", "(d + 2)"),
            _SLACK_LINE.replace("(d + 1)", "(d + 0)"),
            _SLACK_LINE.replace("(1.0 + np.abs", "( 2.0 + np.abs"),
            _SLACK_LINE.replace("(1.0 + np.abs", "( 0.0 + np.abs"),
        )
    ),
    Equivalent(
        "square_systems",
        "NumberReplacer",
        "for s in range(1, min(d, c) + 1):",
        "for s in range(1, min(d, c) + 2):",
        "a support or tight set larger than d or c does not exist: that size tries no system",
    ),
    Equivalent(
        "square_systems",
        "NumberReplacer",
        "if singular or norms == 0.0:",
        "if singular or norms == -1.0:",
        "a zero row stays zero under elimination (its factors are 0) and ends as an exact"
        " zero pivot: such a system is already singular",
    ),
    *(
        Equivalent(
            "square_systems",
            operator,
            "error = _ERROR_SAFETY * s * eps * (2.0 / rho) * size",
            mutated,
            "a larger first bound only sends more bases to the condition-number bound, which"
            " is at most it (cond <= 2 / rho) and alone decides ambiguity and the errors returned",
        )
        for operator, mutated in (
            ("ReplaceBinaryOperator_Mul_Div", "error = _ERROR_SAFETY * s / eps * (2.0 / rho) * size"),
            ("NumberReplacer", "error = _ERROR_SAFETY * s * eps * ( 3.0 / rho) * size"),
        )
    ),
    Equivalent(
        "square_systems",
        "RemoveGuardReturn",
        "return dataclasses.replace(empty, ambiguous=bool(len(unsure)), singular=singular, doubtful=unsure)",
        "pass",
        "with no regular basis the code after it builds the same empty block (no points, the"
        " same ambiguity and singular indices): the return only skips that work",
    ),
    Equivalent(
        "stochastic_regret",
        "ReplaceComparisonOperator_Gt_GtE",
        "improve = q[np.arange(n_states), best] > q[np.arange(n_states), actions] + 1e-12 * scale",
        "improve = q[np.arange(n_states), best] >= q[np.arange(n_states), actions] + 1e-12 * scale",
        "differs only for a gain equal to the round-off threshold to the last bit, a noise level"
        " where either decision is right",
    ),
    Equivalent(
        "correlated",
        "NumberReplacer",
        "a_eq = sp.csr_array(np.concatenate([np.ones(joint), [0.0]])[None, :])",
        "a_eq = sp.csr_array(np.concatenate([np.ones(joint), [ 1.0]])[None, :])",
        "with sum(p) = 1 - t, p = (1 - t) q for a distribution q and the LP maximises"
        " t / (1 - t) <= min_i U_i(q), increasing in t: the same optimal q, which the"
        " renormalisation of p returns",
    ),
    Equivalent(
        "correlated",
        "NumberReplacer",
        "c = np.concatenate([cost, [-1.0]])",
        "c = np.concatenate([cost, [- 2.0]])",
        "maximising 2t instead of t over the same polytope: the same optimal distributions",
    ),
    *(
        Equivalent(
            "correlated",
            "NumberReplacer",
            line,
            line.replace("-1)", "- 2)"),
            "numpy reads any negative size in a reshape as the one unknown dimension",
        )
        for line in (
            "c = np.broadcast_to(idx.reshape(1, -1), d.shape)",
            "payoffs = game.payoffs.reshape(game.n_players, -1) @ p",
        )
    ),
    Equivalent(
        "zero_sum",
        "NumberReplacer",
        "np.concatenate([np.zeros(m), [-1.0]]),",
        "np.concatenate([np.zeros(m), [- 2.0]]),",
        "maximising 2t instead of t: the same optimal points, and multipliers twice as large,"
        " which the return divides by their sum",
    ),
    Equivalent(
        "exact",
        "ReplaceTrueWithFalse",
        "rows[r] = [v - factor * h for v, h in zip(rows[r], head, strict=True)]",
        "rows[r] = [v - factor * h for v, h in zip(rows[r], head, strict=False)]",
        "the rows eliminated all have one length (a matrix's rows, or the augmented system's size + 1"
        " entries), the pivot row among them",
    ),
    Equivalent(
        "correlated",
        "RemoveStatement",
        "matrix.eliminate_zeros()",
        "pass",
        "an explicitly stored zero changes no constraint of the LP, only the matrix's storage",
    ),
    *(
        Equivalent(
            "correlated",
            operator,
            "values = ((u / 2.0 - low / 2.0) / half).reshape(n, joint)  # in [0, 1]",
            mutated,
            "one positive affine map of every player's payoffs, with no overflow (each term at most"
            " half the largest float): the distribution sums to 1, so the sum's and the minimum's"
            " optimisers are unchanged",
        )
        for operator, mutated in (
            (
                "ReplaceBinaryOperator_Sub_Add",
                "values = ((u / 2.0 + low / 2.0) / half).reshape(n, joint)  # in [0, 1]",
            ),
            ("NumberReplacer", "values = ((u / 3.0 - low / 2.0) / half).reshape(n, joint)  # in [0, 1]"),
            ("NumberReplacer", "values = ((u / 2.0 - low / 3.0) / half).reshape(n, joint)  # in [0, 1]"),
        )
    ),
    Equivalent(
        "correlated",
        "NumberReplacer",
        "half = float(u.max()) / 2.0 - low / 2.0 or 1.0  # halves: no overflow near the largest float",
        "half = float(u.max()) / 2.0 - low / 2.0 or 2.0  # halves: no overflow near the largest float",
        "the fallback is used only for a constant game, where every u / 2 - low / 2 is 0: any"
        " non-zero divisor gives the same zero objective",
    ),
    Equivalent(
        "correlated",
        "ReplaceComparisonOperator_Gt_GtE",
        "if p.min() < -_DISTRIBUTION_TOL or abs(float(p.sum()) - 1.0) > _DISTRIBUTION_TOL:",
        "if p.min() < -_DISTRIBUTION_TOL or abs(float(p.sum()) - 1.0) >= _DISTRIBUTION_TOL:",
        "|sum - 1| is a multiple of 2**-53 when the sum is in [0.5, 2] (Sterbenz: the subtraction"
        " is exact) and at least 0.5 otherwise; 1e-6 is not a dyadic fraction, so it is never equal",
    ),
    Equivalent(
        "pure",
        "ReplaceTrueWithFalse",
        "strategies = tuple(np.eye(n_i)[a] for n_i, a in zip(game.num_actions, actions, strict=True))",
        "strategies = tuple(np.eye(n_i)[a] for n_i, a in zip(game.num_actions, actions, strict=False))",
        "each row of np.argwhere over the payoff tensor has one index per player",
    ),
    Equivalent(
        "game",
        "ReplaceComparisonOperator_Gt_GtE",
        "return np.where(half.reshape(shape) > 0.0, np.clip(out, 0.0, 1.0), 0.0)",
        "return np.where(half.reshape(shape) >= 0.0, np.clip(out, 0.0, 1.0), 0.0)",
        "where a player's half span is 0 every payoff/2 equals low/2 (halving is monotone), so"
        " out is exactly 0 there and the clip gives the same 0",
    ),
    Equivalent(
        "vertex_enumeration",
        "RemoveStatement",
        'raise RuntimeError("vertex_enumeration(): exact vertices missing")',
        "pass",
        "unreachable: with an exact game both polytopes' vertices come from the exact search,"
        " which always sets them; the guard narrows the type (the next line would fail anyway)",
    ),
    Equivalent(
        "bases",
        "NumberReplacer",
        "queue_rho = np.empty(1024)",
        "queue_rho = np.empty( 1025)",
        "one spare slot of the queue's Hadamard ratios: they are read and written only below the"
        " queue's tail, and the queue (1024) grows first, taking them along (_grown_queue)",
    ),
    Equivalent(
        "bases",
        "NumberReplacer",
        "a_err_max, size_max = 0.0, 0.0",
        "a_err_max, size_max = -1.0, 0.0",
        "a running maximum of error bounds that are all positive (each includes the rounding"
        " term (c + 1) eps |u| of a non-zero right-hand side): a start below zero ends the same",
    ),
    Equivalent(
        "correlated",
        "NumberReplacer",
        "q = np.moveaxis(p, i, 0).reshape(k, -1)",
        "q = np.moveaxis(p, i, 0).reshape(k, - 2)",
        "numpy reads any negative size in reshape as the one inferred from the others",
    ),
    Equivalent(
        "stochastic_regret",
        "NumberReplacer",
        "(weights.reshape(-1), np.arange(n_states * n_joint), indptr), shape=(n_states, n_states * n_joint)",
        "(weights.reshape(- 2), np.arange(n_states * n_joint), indptr), shape=(n_states, n_states * n_joint)",
        "numpy reads any negative size in reshape as the one inferred from the others",
    ),
    *(
        Equivalent(
            "stochastic_zero_sum",
            "NumberReplacer",
            _MINIMISER_LINE,
            _MINIMISER_LINE.replace(old, old.replace("(-1)", "(- 2)"), 1),
            "numpy reads any negative size in reshape as the one inferred from the others",
        )
        for old in ("x.reshape(-1)", "mdp_rows.reshape(-1)")
    ),
    *(
        Equivalent(
            "stochastic_zero_sum",
            "NumberReplacer",
            "self.rewards = np.where(exists, rewards - self.offset, 0.0)",
            f"self.rewards = np.where(exists, rewards - self.offset, {value})",
            "the reward put on a joint action that does not exist (a masked row or column) is"
            " never read: _matrix_game_values masks the stage games again (exists), and the"
            " minimiser's MDP weighs it by x(s, a) = 0 off the row mask and gives masked columns"
            " the q-value inf",
        )
        for value in ("1.0", "-1.0")
    ),
    Equivalent(
        "stochastic_zero_sum",
        "NumberReplacer",
        "chunk = max(1, _CHUNK // (len(rows) * (k * k + m + n)))",
        "chunk = max( 2, _CHUNK // (len(rows) * (k * k + m + n)))",
        "a chunk of at least 2 games instead of 1: each game's kernels are computed on their"
        " own, so how many games share one call changes no answer (only memory per call)",
    ),
    *(
        Equivalent(
            "stochastic_zero_sum",
            "NumberReplacer",
            line,
            line.replace("1.0)", "2.0)"),
            "the denominator put in place of an invalid kernel's total: an invalid kernel's"
            " bracket is (-inf, inf), which _Best.update never keeps (inf < width is false), so"
            " its strategies, scaled by whatever placeholder, are never read",
        )
        for line in (
            "y_k = inv_col / np.where(valid, total_col, 1.0)[..., None]",
            "x_k = inv_row / np.where(valid, total_row, 1.0)[..., None]",
            "x_k /= np.where(valid, x_k.sum(axis=-1), 1.0)[..., None]",
            "y_k /= np.where(valid, y_k.sum(axis=-1), 1.0)[..., None]",
        )
    ),
    Equivalent(
        "stochastic_zero_sum",
        "ReplaceComparisonOperator_Gt_GtE",
        "square = (sizes > 0) & (sizes == hint_cols.sum(axis=1))",
        "square = (sizes >= 0) & (sizes == hint_cols.sum(axis=1))",
        "an empty hint gives 0 x 0 kernels whose 1^T M^-1 1 is an empty sum, 0: never valid, so"
        " _best_kernels updates no game with them",
    ),
    Equivalent(
        "stochastic_zero_sum",
        "NumberReplacer",
        "span = np.where(span > 0.0, span, 1.0)",
        "span = np.where(span > 0.0, span, 2.0)",
        "where the span is 0 every existing entry equals lo: (a - lo) / span is 0 for any non-zero"
        " span, and the value (mid - 1) * span + lo is lo since mid is 1",
    ),
    Equivalent(
        "regret",
        "NumberReplacer",
        "out = np.empty(5)",
        "out = np.empty( 6)",
        "a sixth slot that nothing reads",
    ),
    Equivalent(
        "exact_search",
        "NumberReplacer",
        "low_num, low_den = 0, 1",
        "low_num, low_den = -1, 1",
        "a placeholder: the first candidate of each column is taken whatever it holds (not best)",
    ),
    Equivalent(
        "zero_sum",
        "NumberReplacer",
        "y = np.full(n, 1.0)",
        "y = np.full(n, 2.0)",
        "any positive constant: the next line returns y / y.sum(), the uniform strategy either way",
    ),
    Equivalent(
        "regret",
        "NumberReplacer",
        "out = np.empty((xs.shape[0], 5))",
        "out = np.empty((xs.shape[0], 6))",
        "a sixth column that nothing reads (each row is written to [:5] and read as [0:2], [2:4], [4])",
    ),
    Equivalent(
        "vertex_enumeration",
        "NumberReplacer",
        "if len(row_set) == 1 and len(col_set) == 1:  # an isolated equilibrium (every one, generically)",
        "if len(row_set) == 1 and len(col_set) == 0:  # an isolated equilibrium (every one, generically)",
        "a biclique is never empty, so the shortcut is never taken and the general path builds the"
        " same one-vertex component (validated instead of constructed)",
    ),
    Equivalent(
        "labelled_pairs",
        "ReplaceTrueWithFalse",
        "pairs.extend(zip(ix[px + start].tolist(), iy[py].tolist(), strict=True))",
        "pairs.extend(zip(ix[px + start].tolist(), iy[py].tolist(), strict=False))",
        "px and py come from one np.nonzero call: always the same length",
    ),
    Equivalent(
        "vertex_enumeration",
        "NumberReplacer",
        "if len(row_set) == 1 and len(col_set) == 1:  # an isolated equilibrium (every one, generically)",
        "if len(row_set) == 0 and len(col_set) == 1:  # an isolated equilibrium (every one, generically)",
        "a biclique is never empty, so the shortcut is never taken and the general path builds the"
        " same one-vertex component (validated instead of constructed)",
    ),
    *(
        Equivalent(
            "game",
            "NumberReplacer",
            line,
            line.replace("-1", "- 2"),
            "numpy reads any negative size in reshape as 'the rest', like -1",
        )
        for line in ("flat = self.payoffs.reshape(self.n_players, -1)",)
    ),
    Equivalent(
        "regret",
        "ReplaceFalseWithTrue",
        "p.shape != (k,) for p, k in zip(profile, game.num_actions, strict=False)",
        "p.shape != (k,) for p, k in zip(profile, game.num_actions, strict=True)",
        "the zip runs only when `len(profile) == game.n_players` (the `or` before it), so"
        " `strict=True` never finds unequal lengths",
    ),
    Equivalent(
        "regret",
        "NumberReplacer",
        "if game.n_players == 2:  # a matrix-vector product: the hot case of 2-player solvers",
        "if game.n_players == 1:  # a matrix-vector product: the hot case of 2-player solvers",
        "a game has at least 2 players, so the shortcut is never taken and 2-player games use"
        " the general contraction, which computes the same A @ y and x @ B",
    ),
    Equivalent(
        "regret",
        "ReplaceOrWithAnd",
        "or y_rows.ndim != 2",
        "and y_rows.ndim != 2",
        "the shape tests after it refuse any array that is not 2-D: x_rows.shape[1:] != (m,)"
        " and y_rows.shape != (k, n)",
    ),
    Equivalent(
        "regret",
        "RemoveGuardReturn",
        "return tensor @ strategies[1] if player == 0 else strategies[0] @ tensor",
        "pass",
        "without the 2-player shortcut the general contraction computes the same A @ y and x @ B",
    ),
    Equivalent(
        "regret",
        "RemoveGuardReturn",
        "return Certificate(payoffs=payoffs, regrets=regrets, nash_conv=nash_conv)",
        "pass",
        "the generic loop after it recomputes the same certificate (bimatrix_certificate_into's"
        " docstring) and returns it",
    ),
    Equivalent(
        "regret",
        "NumberReplacer",
        "if game.n_players == 2 and len(strategies) == 2:",
        "if game.n_players == 1 and len(strategies) == 2:",
        "the compiled 2-player shortcut is never taken; the generic loop gives the same"
        " numbers (bimatrix_certificate_into's docstring) and the same refusals",
    ),
    *(
        Equivalent(
            "labelled_pairs",
            "NumberReplacer",
            "rows = max(1, BLOCK_ENTRIES // max(1, missing_y.size))",
            mutated,
            "rows is only the block height of the covering check: any positive height gives the"
            " same pairs in the same order (the blocks are consecutive and cover every row);"
            " missing_y.size is positive here (empty inputs return first). The 0 height, which"
            " would loop forever, is killed by test_the_covering_pairs_do_not_depend_on_the_block_size",
        )
        for mutated in (
            "rows = max( 2, BLOCK_ENTRIES // max(1, missing_y.size))",
            "rows = max(1, BLOCK_ENTRIES // max( 2, missing_y.size))",
            "rows = max(1, BLOCK_ENTRIES // max( 0, missing_y.size))",
        )
    ),
    Equivalent(
        "lemke_howson",
        "NumberReplacer",
        "pivots = 0",
        "pivots = -1",
        "0 (a zero end point) and -1 (past max_pivots) are both 'no end point': every caller"
        " tests pivots > 0 or pivots <= 0 and nothing else",
    ),
    *(
        Equivalent(
            "lemke_howson",
            "NumberReplacer",
            "if total_x <= 0.0 or total_y <= 0.0:",
            mutated,
            "the sums are of values clipped at 0, so the mutants differ only at a sum of exactly 0,"
            " which a path's end never has: it is not the artificial equilibrium, so some slack of"
            " each tableau is nonbasic, i.e. one rescaled payoff row (entries in [1, 2]) against the"
            " other player's strategy equals 1, and that strategy sums to at least 1/2",
        )
        for mutated in (
            "if total_x <= -1.0 or total_y <= 0.0:",
            "if total_x <= 0.0 or total_y <= -1.0:",
        )
    ),
    *(
        Equivalent(
            module,
            "ReplaceComparisonOperator_Gt_GtE",
            line,
            line.replace("rho > ", "rho >= ").replace("ratio > ", "ratio >= "),
            "differs only when a Hadamard ratio equals a singularity threshold (1e-12 or 1e-15) to"
            " the bit: the thresholds are conventions of working precision, and a basis at one is"
            " as far from deciding as its float neighbours on either side; the tests pin the"
            " classes on both sides (a regular basis evaluated, one too close to singular reported"
            " ambiguous, one beyond working precision dropped)",
        )
        for module, line in (
            ("square_systems", "regular = rho > SINGULAR_RHO"),
            ("square_systems", "unsure = singular[ratio > SINGULAR_RHO * 1e-3]"),
            (
                "bases",
                "if not new_rho > SINGULAR_RHO * 1e-3 and not certain:  # singular to working precision",
            ),
            ("bases", "if not new_rho > SINGULAR_RHO:"),
        )
    ),
    Equivalent(
        "nplayer",
        "ReplaceBinaryOperator_Add_Sub",
        "if j == (i + 1) % n:",
        "if j == (i - 1) % n:",
        "which opponent j (never i) is contracted last when Newton's residual u_i(a, x_-i) - v_i"
        " is read off the cross matrix of i and j: every opponent gives u_i(a, x_-i), the same"
        " number up to the order of the sums' round-off (with two players, the same j)",
    ),
    Equivalent(
        "nplayer",
        "NumberReplacer",
        "jacobian[size + i, rows] = 1.0",
        "jacobian[size + i, rows] = 2.0",
        "the rows of the equations sum(x_i) = 1, which fix only each strategy's scale: the"
        " indifference equations are homogeneous in each opponent's strategy and the result is"
        " normalised, so a wrong coefficient there (a halved step along the scale) leaves the"
        " fixed points (residual 0) and the normalised answer unchanged",
    ),
    Equivalent(
        "square_systems",
        "ReplaceComparisonOperator_LtE_Lt",
        "close = (np.abs(worst - tol) <= error) | feasible",
        "close = (np.abs(worst - tol) < error) | feasible",
        "which infeasible bases get their error bound refined by the exact condition number: the"
        " two differ only for a basis whose distance from the threshold equals its cheap bound"
        " (through 2 / rho) to the bit; it is infeasible either way, and unrefined it can only"
        " add doubt (ambiguous), never remove it: a decision at a threshold to the bit, as the"
        " singularity thresholds' >= mutants",
    ),
    Equivalent(
        "stochastic_regret",
        "ReplaceComparisonOperator_LtE_Lt",
        "if n_states <= DENSE_STATES:",
        "if n_states < DENSE_STATES:",
        "which solver (dense LAPACK or sparse LU) solves the same linear system at exactly"
        " DENSE_STATES states: a speed threshold; both answers are exact to round-off",
    ),
    Equivalent(
        "stochastic_zero_sum",
        "ReplaceComparisonOperator_LtE_Lt",
        "if iteration > 1 and float((guaranteed - values).max()) <= noise:",
        "if iteration > 1 and float((guaranteed - values).max()) < noise:",
        "differs only when the largest improvement equals the rounding threshold to the bit;"
        " the threshold is positive (the scale is at least the smallest float), so a converged"
        " run (improvement 0) stops either way",
    ),
    Equivalent(
        "verdicts",
        "NumberReplacer",
        "start = int(crossing[0]) + 1",
        "start = int(crossing[0]) + 0",
        "a window one lag earlier adds only the first non-positive autocorrelation as a peak"
        " candidate, which the positive min_strength (the scorer's PERIOD_STRENGTH) rejects; the"
        " other peaks and their lags are unchanged, and a first crossing at half the series leaves"
        " a one-element inner window holding that non-positive value: no period either way",
    ),
    Equivalent(
        "verdicts",
        "ReplaceComparisonOperator_GtE_Gt",
        "if start >= half:",
        "if start > half:",
        "at start == half the window is acf[half : half + 2], two values, so its inner part (the"
        " peak candidates) is empty: no period either way",
    ),
    *(
        Equivalent(
            "verdicts",
            "ReplaceComparisonOperator_GtE_Gt",
            line,
            mutated,
            "differs only where two autocorrelations computed by FFT are equal to the bit (or one"
            " equals min_strength or 0.8 of the highest peak to the bit): an accident of the FFT's"
            " round-off, not a property of the signal, which no test can pin",
        )
        for line, mutated in (
            *(
                (
                    "peaks = np.flatnonzero((inner >= window[:-2]) & (inner >= window[2:])"
                    " & (inner >= min_strength)) + 1",
                    f"peaks = np.flatnonzero((inner {a} window[:-2]) & (inner {b} window[2:])"
                    f" & (inner {c} min_strength)) + 1",
                )
                for a, b, c in ((">", ">=", ">="), (">=", ">", ">="), (">=", ">=", ">"))
            ),
            (
                "first = int(peaks[np.flatnonzero(heights >= 0.8 * heights.max())[0]])",
                "first = int(peaks[np.flatnonzero(heights > 0.8 * heights.max())[0]])",
            ),
        )
    ),
    Equivalent(
        "verdicts",
        "ReplaceComparisonOperator_LtE_Lt",
        "crossing = np.flatnonzero(acf[1 : half + 1] <= 0.0)",
        "crossing = np.flatnonzero(acf[1 : half + 1] < 0.0)",
        "differs only at an autocorrelation of exactly 0.0 from the FFT: an accident of its"
        " round-off, not a property of the signal",
    ),
    *(
        Equivalent(
            "verdicts",
            "NumberReplacer",
            f"{field}: int = 0",
            f"{field}: int = {value}",
            "placeholders of the switches' text, read only when recent_switches > 0; the scorer"
            " (the one constructor that sets recent_switches) sets both",
        )
        for field in ("last_switch", "switch_start")
        for value in (1, -1)
    ),
    Equivalent(
        "verdicts",
        "NumberReplacer",
        "def fit_rate(z: npt.ArrayLike, values: npt.ArrayLike, *, z_min: float = 0.0) -> RateFit | None:",
        "def fit_rate(z: npt.ArrayLike, values: npt.ArrayLike, *, z_min: float = -1.0) -> RateFit | None:",
        "only positive z are used (zz > 0) whatever z_min, so every z_min <= 0 selects the same points",
    ),
    *(
        Equivalent(
            "verdicts",
            "NumberReplacer",
            "size = 1 << int(math.ceil(math.log2(2 * m)))",
            mutated,
            "a longer zero padding of the FFT (a power of two at least 2 m, so no lag wraps"
            " round either way): the same linear autocorrelation, to round-off",
        )
        for mutated in (
            "size = 2 << int(math.ceil(math.log2(2 * m)))",
            "size = 1 << int(math.ceil(math.log2( 3 * m)))",
        )
    ),
    Equivalent(
        "verdicts",
        "NumberReplacer",
        "if spread <= 1e-9 * max(float(np.abs(x).max()), 1e-300):",
        "if spread <= 1e-9 * max(float(np.abs(x).max()), -1.0):",
        "the floor only matters for an all-zero series, whose spread 0 is at most 0 either way",
    ),
    Equivalent(
        "verdicts",
        "NumberReplacer",
        "tv = np.minimum(np.minimum(r_1, k * r_inf) / 2.0, 1.0)",
        "tv = np.minimum(np.minimum(r_1, k * r_inf) / 2.0, 2.0)",
        "every metric's radius is capped at its diameter afterwards, and each is non-decreasing"
        " in tv with the value at tv = 1 already at or past that diameter (KL's 4 k / smoothing"
        " is far past log(k / smoothing))",
    ),
    Equivalent(
        "verdicts",
        "ReplaceTrueWithFalse",
        'f"ε={x:g}: last at or above at z={k}" for x, k in zip(eps, e.last_above, strict=True) if k',
        'f"ε={x:g}: last at or above at z={k}" for x, k in zip(eps, e.last_above, strict=False) if k',
        "the scorer gives one last_above per threshold (TailEvidence's contract): equal lengths",
    ),
    Equivalent(
        "verdicts",
        "NumberReplacer",
        "r2 = 1.0 if ss_tot <= 1e-300 else max(0.0, 1.0 - ss_res / ss_tot)",
        "r2 = 1.0 if ss_tot <= 1e-300 else max( -1.0, 1.0 - ss_res / ss_tot)",
        "a least-squares line with an intercept leaves ss_res <= ss_tot: the clamp at 0 only"
        " catches round-off below it, never -1",
    ),
    *(
        Equivalent(
            "verdicts",
            "NumberReplacer",
            "acf = acf * (m / np.maximum(m - np.arange(m), 1))",
            f"acf = acf * (m / np.maximum(m - np.arange(m), {floor}))",
            "m - t >= 1 for every lag t < m, and a floor of 2 changes only lag m - 1, past the"
            " half of the series the period is looked for in",
        )
        for floor in (2, 0)
    ),
    Equivalent(
        "verdicts",
        "ReplaceComparisonOperator_LtE_Lt",
        "if spread <= 1e-9 * max(float(np.abs(x).max()), 1e-300):",
        "if spread < 1e-9 * max(float(np.abs(x).max()), 1e-300):",
        "differs only when the spread is 1e-9 of the largest magnitude to the bit: a noise guard"
        " whose bound is a choice (tests pin a cycle well below it and one well above)",
    ),
    Equivalent(
        "verdicts",
        "ReplaceComparisonOperator_LtE_Lt",
        "r2 = 1.0 if ss_tot <= 1e-300 else max(0.0, 1.0 - ss_res / ss_tot)",
        "r2 = 1.0 if ss_tot < 1e-300 else max(0.0, 1.0 - ss_res / ss_tot)",
        "a guard against 0 / 0: equal values give ss_tot = 0 and r2 = 1 either way; the two"
        " differ only at a sum of squares of exactly 1e-300",
    ),
    Equivalent(
        "lemke_howson",
        "RemoveGuardReturn",
        "return best",
        "pass",
        "a shortcut of the loop that follows: its first pass (the rhs key, k = -1) keeps the rows"
        " within the bound of the minimum ratio, which is ``best`` alone when the second smallest"
        " ratio is past it, and returns it",
    ),
    Equivalent(
        "lemke_howson",
        "NumberReplacer",
        "if second > low + eps * max(1.0, abs(low)):",
        "if second > low + eps * max( 2.0, abs(low)):",
        "the same shortcut with a wider bound: it is taken less often, and when it is not, the"
        " loop's first pass keeps the rows within the true bound (``best`` alone when the shortcut"
        " would have been right) and returns the same row",
    ),
    *(
        Equivalent(
            "bases",
            operator,
            _HASH_LINE,
            _HASH_LINE.replace(old, new),
            "the hash only says where the probe for a key starts: from any start the linear probe"
            " reaches the key or the empty slot where it goes (the table is never full), so another"
            " multiplier or shift changes how far probes go, not what the table holds",
        )
        for operator, old, new in (
            ("ReplaceUnaryOperator_Delete_USub", "-0x61C8864680B583EB", "0x61C8864680B583EB"),
            ("NumberReplacer", "-0x61C8864680B583EB", "- 7046029254386353132"),
            ("NumberReplacer", "-0x61C8864680B583EB", "- 7046029254386353130"),
            ("NumberReplacer", "np.int64(29)", "np.int64( 30)"),
            ("NumberReplacer", "np.int64(29)", "np.int64( 28)"),
        )
    ),
    *(
        Equivalent(
            "bases",
            operator,
            _WITNESS_LINE,
            _WITNESS_LINE.replace(old, new),
            "the row of the minimum ratio is only a cheap witness: the skip it allows (theta a_row -"
            " x_row > margin) is _spills' test of that row, sound for any row, and _spills then tests"
            " every row; another witness, or none, changes which test skips a pivot, not which pivots"
            " are skipped",
        )
        for operator, old, new in (
            ("ReplaceBinaryOperator_Div_Mul", "0.0) / values", "0.0) * values"),
            ("ReplaceComparisonOperator_Lt_Gt", "< low:", "> low:"),
            ("ReplaceComparisonOperator_Lt_LtE", "< low:", "<= low:"),
            ("NumberReplacer", "> 2.0 * error", "> 3.0 * error"),
            ("NumberReplacer", "> 2.0 * error", "> 1.0 * error"),
            ("NumberReplacer", "max(values[0, i], 0.0)", "max(values[0, i], 1.0)"),
            ("NumberReplacer", "max(values[0, i], 0.0)", "max(values[0, i], -1.0)"),
        )
    ),
    *(
        Equivalent(
            "bases",
            operator,
            "if old[k] != -1:",
            mutated,
            "rehashing also the empty marker -1 writes -1 into an empty slot (the probe for -1 stops"
            " at the first empty one): nothing changes; key 0 is no basis (a basis has c >= 1"
            " variables); key 1 is the basis {0} of a one-constraint polytope, whose at most 63"
            " bases never fill half of the first table (2,048 slots), so it is never rehashed",
        )
        for operator, mutated in (
            ("NumberReplacer", "if old[k] != - 2:"),
            ("NumberReplacer", "if old[k] != - 0:"),
            ("ReplaceUnaryOperator_Delete_USub", "if old[k] != 1:"),
        )
    ),
    Equivalent(
        "bases",
        "ReplaceComparisonOperator_GtE_Gt",
        "if self.deadline is not None and time.perf_counter() >= self.deadline:",
        "if self.deadline is not None and time.perf_counter() > self.deadline:",
        "the two differ only when the clock reads the deadline to the last bit; the search then"
        " looks again after the next chunk of bases (tens of milliseconds)",
    ),
    *(
        Equivalent(
            "game",
            operator,
            _DIGEST_LINE,
            _DIGEST_LINE.replace('if sys.byteorder == "little"', condition),
            "both branches hash the payoffs' little-endian float64 bytes: in place where the machine"
            " is little-endian, converted where it is not; on either machine the other branch gives"
            " the same bytes, only with a copy",
        )
        for operator, condition in (
            ("AddNot", 'if not sys.byteorder == "little"'),
            ("ReplaceComparisonOperator_Eq_NotEq", 'if sys.byteorder != "little"'),
        )
    ),
    Equivalent(
        "game",
        "ReplaceTrueWithFalse",
        "return np.array([span(high, low) for high, low in zip(highs, lows, strict=True)])",
        "return np.array([span(high, low) for high, low in zip(highs, lows, strict=False)])",
        "the highs and lows are the maxima and minima of the same rows: one list per player each",
    ),
    Equivalent(
        "game",
        "ReplaceTrueWithFalse",
        "return tuple(zip(flat.max(axis=1).tolist(), flat.min(axis=1).tolist(), strict=True))",
        "return tuple(zip(flat.max(axis=1).tolist(), flat.min(axis=1).tolist(), strict=False))",
        "the maxima and minima of the same rows: one list per player each",
    ),
    Equivalent(
        "distances",
        "NumberReplacer",
        "if target.n_points == 0:",
        "if target.n_points == -1:",
        "a guard for a target of components only: without it the comparison runs over no rows and"
        " finds no match, False either way",
    ),
    Equivalent(
        "distances",
        "RemoveGuardReturn",
        "return False",
        "pass",
        "the same guard (a target of components only): the comparison then runs over no rows and"
        " finds no match, False either way",
    ),
    *(
        Equivalent(
            "game",
            "NumberReplacer",
            line,
            line.replace("-1)", "- 2)").replace("(-1,)", "(- 2,)"),
            "numpy (2.x) reads any negative size in reshape as the one unknown dimension: -2 is -1",
        )
        for line in (
            "bottom, half = _half_spans(matrix.reshape(1, -1))",
            "low, half = _half_spans(payoffs.reshape(payoffs.shape[0], -1))",
            "shape = (-1,) + (1,) * (payoffs.ndim - 1)",
        )
    ),
    *(
        Equivalent(
            "game",
            "NumberReplacer",
            line,
            mutated,
            "unit_payoffs' guards against a constant player and rounding: for a constant player"
            " (half 0) out is (p / 2 - low / 2) / 1 = 0 exactly, whatever the divisor and the mask;"
            " and 0 <= out <= 1 already, since p / 2 - low / 2 <= half with rounding monotone, so"
            " the clip's bounds -1 and 2 cut nothing",
        )
        for line, mutated in (
            (
                "out = (payoffs / 2.0 - low.reshape(shape) / 2.0) / np.where(half > 0.0, half, 1.0).reshape(shape)",
                "out = (payoffs / 2.0 - low.reshape(shape) / 2.0) / np.where(half > 0.0, half, 2.0).reshape(shape)",
            ),
            (
                "return np.where(half.reshape(shape) > 0.0, np.clip(out, 0.0, 1.0), 0.0)",
                "return np.where(half.reshape(shape) > -1.0, np.clip(out, 0.0, 1.0), 0.0)",
            ),
            (
                "return np.where(half.reshape(shape) > 0.0, np.clip(out, 0.0, 1.0), 0.0)",
                "return np.where(half.reshape(shape) > 0.0, np.clip(out, -1.0, 1.0), 0.0)",
            ),
            (
                "return np.where(half.reshape(shape) > 0.0, np.clip(out, 0.0, 1.0), 0.0)",
                "return np.where(half.reshape(shape) > 0.0, np.clip(out, 0.0, 2.0), 0.0)",
            ),
        )
    ),
    *(
        Equivalent(
            "bases",
            "ReplaceAndWithOr",
            line,
            line.replace(" and ", " or "),
            "a skip of zero products in the triangular solves modulo p: subtracting a product with"
            " a zero factor leaves the total as it is, so skipping fewer of them changes nothing",
        )
        for line in ("if lu[i, t] != 0 and v[t] != 0:", "if lu[t, i] != 0 and work[t] != 0:")
    ),
    *(
        Equivalent(
            "bases",
            operator,
            _ZERO_LINE,
            mutated,
            "the float test that routes a lexicographic comparison to the 'both numerators are 0'"
            " check: that check is exact (both residues 0 modulo primes whose product exceeds 2 H;"
            " _search_kernel calls _lex_prune only with residues, and zero_primes >= 1), and"
            " otherwise the difference modulo every prime decides, which is 0 exactly when both"
            " numerators are; either test gives the same answer, a changed route only another"
            " of the two",
        )
        for operator, mutated in (
            ("ReplaceAndWithOr", "zero = abs(v_r) <= e_r or abs(v_s) <= e_s"),
            ("ReplaceComparisonOperator_LtE_GtE", "zero = abs(v_r) >= e_r and abs(v_s) <= e_s"),
            ("ReplaceComparisonOperator_LtE_GtE", "zero = abs(v_r) <= e_r and abs(v_s) >= e_s"),
            ("ReplaceComparisonOperator_LtE_Lt", "zero = abs(v_r) < e_r and abs(v_s) <= e_s"),
            ("ReplaceComparisonOperator_LtE_Lt", "zero = abs(v_r) <= e_r and abs(v_s) < e_s"),
        )
    ),
    *(
        Equivalent(
            "bases",
            operator,
            _PRUNE_LINE,
            _PRUNE_LINE.replace(old, new, 1),
            "the 'surely positive' test of a row's pivot element before it may be pruned: with"
            " error bound e > 0, a value >= 2 e (or > 3 e) is still surely positive (its exact"
            " value is at least e), and a value 0 with e = 0 is never a candidate row (its"
            " Hadamard ratio is 0 and it is not certain): the same rows are compared, or fewer"
            " (then more are kept, as the tournament keeps every row it cannot rank)",
        )
        for operator, old, new in (
            ("ReplaceComparisonOperator_Gt_GtE", "] > 2.0", "] >= 2.0"),
            ("NumberReplacer", "2.0 *", "3.0 *"),
        )
    ),
    Equivalent(
        "bases",
        "NumberReplacer",
        _LEX_BOUND_LINE,
        _LEX_BOUND_LINE.replace("bound = 2.0", "bound = 3.0", 1),
        "a larger error bound of the float lexicographic comparison: fewer comparisons are"
        " decided in floats, the rest by the exact residue test or left undecided (both rows"
        " kept: pivoting on a tied row reaches a basis of the same vertex), never decided"
        " otherwise; the vertices found are the same",
    ),
    *(
        Equivalent(
            "distances",
            "ReplaceTrueWithFalse",
            line,
            line.replace("strict=True", "strict=False"),
            "the two sequences were checked to be of one length just before (one array per player)",
        )
        for line in (
            "for v, k in zip(vertices, num_actions, strict=True)",
            "for i, (a, b) in enumerate(zip(xs, ys, strict=True)):",
            "per_player = [_vector_distance(a, b, metric) for a, b in zip(xs, ys, strict=True)]",
            "for p, v in zip(target.points, vertices, strict=True):",
        )
    ),
    Equivalent(
        "distances",
        "ReplaceUnaryOperator_Delete_USub",
        "num_actions = tuple(p.shape[-1] for p in points)",
        "num_actions = tuple(p.shape[1] for p in points)",
        "read only for the components of a normal-form target, whose points are (K, a_i): axis 1"
        " is the last; a stochastic target's components are refused before",
    ),
    *(
        Equivalent(
            "lemke_howson",
            "ReplaceBinaryOperator_FloorDiv_Div",
            line,
            line.replace("//", "/"),
            "the half is rounded down to a multiple of 8 on the next line: c / 2 - (c / 2) % 8 and"
            " c // 2 - (c // 2) % 8 are both 8 floor(c / 16), exactly (small integers in floats)",
        )
        for line in ("half = count // 2", "half = counts[parent] // 2")
    ),
    Equivalent(
        "lemke_howson",
        "NumberReplacer",
        "if count == 1:",
        "if count == 0:",
        "an early exit: a lone candidate's ratio is each later key's minimum, so it stays the only"
        " one, and the loop returns candidates[0] either way (the count never reaches 0: the row"
        " with the minimum is always kept)",
    ),
    Equivalent(
        "exact_search",
        "ReplaceTrueWithFalse",
        "values = {variable: Fraction(row[-1], det) for variable, row in zip(basis, rows, strict=True)}",
        "values = {variable: Fraction(row[-1], det) for variable, row in zip(basis, rows, strict=False)}",
        "a basis has one variable per tableau row (both of length c, from the same pivot)",
    ),
    *(
        Equivalent(
            "correlated",
            "NumberReplacer",
            line,
            line.replace("reshape(k, -1)", "reshape(k, - 2)"),
            "numpy (2.x) reads any negative size in reshape as the one unknown dimension: -2 is -1",
        )
        for line in (
            "u = np.moveaxis(game.payoffs[i], i, 0).reshape(k, -1)",
            "q = np.moveaxis(p, i, 0).reshape(k, -1)",
            "u = np.moveaxis(payoffs[i], i, 0).reshape(k, -1)",
            "idx = np.moveaxis(flat, i, 0).reshape(k, -1)",
            "d = (u[None, :, :] - u[:, None, :]).reshape(k, -1)  # (k, k R)",
        )
    ),
)
