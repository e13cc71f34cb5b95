"""Mutation testing of the modules that produce certificates and verdicts (issue 23).

Usage::

    nice -n 19 python -m tools.mutation [--fast] [--module NAME ...] [--list]

Each module is mutated in place, one realistic single-line bug at a time (comparison,
arithmetic, boolean and number replacement, removed statements and guard returns), and
only the small set of test files that exercise it runs against each mutant (``TARGETS``).
A mutant is *killed* when those tests fail, *timed out* when they outlive the module's
timeout, and *survived* when they pass: a bug the tests would not notice.

``--fast`` mutates the certificate checks only (``solver/regret.py`` and the tolerance
methods of ``solver/game.py``) and exits 1 when one of their mutants survives. Mutants
shown to be equivalent (no input can tell them from the original) are listed in
``EQUIVALENT`` with the reason. See docs/contributing.md, "Mutation testing".

Needs the ``mutation`` extra (cosmic-ray provides the parser and the operators)::

    pip install -e '.[mutation]'

The original file is written back after every mutant, also on Ctrl-C or SIGTERM; numba's
and Python's caches and Hypothesis's database go to a temporary directory, so no mutant
leaves compiled code behind.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

import cosmic_ray.operators.number_replacer
import cosmic_ray.plugins
import parso
import parso.python.tree
from cosmic_ray.ast import ast_nodes
from cosmic_ray.mutating import MutationVisitor
from cosmic_ray.operators.operator import Example, Operator

ROOT = pathlib.Path(__file__).resolve().parent.parent


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


def _doctest(module: str) -> str:
    return f"tests/test_doctests.py::test_docstring_examples[{module}]"


TARGETS: dict[str, Target] = {
    "regret": Target(
        "solver/regret.py",
        (
            _doctest("regret"),
            "tests/normal_form/test_known_answers.py",
            "tests/normal_form/test_nplayer.py",
        ),
        timeout=120,
        certificate_scopes=(
            "deviation_payoffs",
            "certify",
            "certify_many",
            "bimatrix_certificate_into",
        ),
        fast_tests=(
            _doctest("regret"),
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
        (_doctest("game"), "tests/test_game_validation.py", "tests/normal_form/test_payoff_units.py"),
        timeout=90,
        certificate_scopes=(
            "ROUNDOFF_RANGE",
            "NormalFormGame.player_scales",
            "NormalFormGame._largest_payoffs",
            "NormalFormGame.regret_tolerances",
            "NormalFormGame.within_tolerance",
            "player_ranges",
        ),
        fast_tests=(_doctest("game"), "tests/normal_form/test_payoff_units.py"),
    ),
    "vertex_enumeration": Target(
        "solver/normal_form/vertex_enumeration.py",
        (
            _doctest("normal_form.vertex_enumeration"),
            "tests/normal_form/test_known_answers.py",
            "tests/normal_form/test_vertex_search.py",
        ),
        timeout=120,
    ),
    "bases": Target(
        "solver/normal_form/bases.py",
        ("tests/normal_form/test_vertex_search.py", "tests/normal_form/test_zero_sum.py"),
        timeout=120,
    ),
    "lemke_howson": Target(
        "solver/normal_form/lemke_howson.py",
        (_doctest("normal_form.lemke_howson"), "tests/normal_form/test_lemke_howson.py"),
        timeout=180,
    ),
    "pure": Target(
        "solver/normal_form/pure.py",
        (_doctest("normal_form.pure"), "tests/normal_form/test_known_answers.py"),
        timeout=90,
    ),
    "zero_sum": Target(
        "solver/normal_form/zero_sum.py",
        (_doctest("normal_form.zero_sum"), "tests/normal_form/test_zero_sum.py"),
        timeout=120,
    ),
    "nplayer": Target(
        "solver/normal_form/nplayer.py",
        (_doctest("normal_form.nplayer"), "tests/normal_form/test_nplayer.py"),
        timeout=180,
    ),
    "exact": Target(
        "solver/normal_form/exact.py",
        (
            _doctest("normal_form.exact"),
            "tests/normal_form/test_known_answers.py",
            "tests/normal_form/test_vertex_search.py",
        ),
        timeout=120,
    ),
    "exact_search": Target(
        "solver/normal_form/exact_search.py",
        (_doctest("normal_form.exact_search"), "tests/normal_form/test_vertex_search.py"),
        timeout=120,
    ),
    "correlated": Target(
        "solver/concepts/correlated.py",
        (_doctest("concepts.correlated"), "tests/concepts/test_correlated.py"),
        timeout=90,
    ),
    "stochastic_regret": Target(
        "solver/stochastic/regret.py",
        (
            _doctest("stochastic.regret"),
            "tests/stochastic/test_stochastic_game.py",
            "tests/stochastic/test_discount_near_one.py",
        ),
        timeout=180,
    ),
    "stochastic_zero_sum": Target(
        "solver/stochastic/zero_sum.py",
        (
            _doctest("stochastic.zero_sum"),
            "tests/stochastic/test_markov_zero_sum.py",
            "tests/stochastic/test_discount_near_one.py",
        ),
        timeout=180,
    ),
    "distances": Target(
        "solver/traces/distances.py",
        (_doctest("traces.distances"), "tests/traces/test_distances.py"),
        timeout=120,
    ),
    "verdicts": Target(
        "solver/traces/verdicts.py",
        (
            _doctest("traces.verdicts"),
            "tests/traces/test_verdict_definitions.py",
            "tests/traces/test_trace_scoring.py",
        ),
        timeout=180,
    ),
    "service_convert": Target("service/convert.py", ("tests/service/test_convert.py",), timeout=90),
    "client_convert": Target(
        "client/_convert.py",
        ("tests/client/test_client_unit.py", "tests/traces/test_trace_input.py"),
        timeout=90,
    ),
}

FAST = ("regret", "game")


@dataclasses.dataclass(frozen=True)
class Equivalent:
    """A mutant no input can tell from the original: excluded, with the reason."""

    module: str
    operator: str
    #: The original source line and the mutated one, stripped.
    line: str
    mutated: str
    reason: str


EQUIVALENT: tuple[Equivalent, ...] = (
    *(
        Equivalent(
            "game",
            "NumberReplacer",
            line,
            line.replace("-1", "- 2"),
            "numpy reads any negative size in reshape as 'the rest', like -1",
        )
        for line in (
            "return player_ranges(self.payoffs.reshape(self.n_players, -1))",
            "return np.abs(self.payoffs.reshape(self.n_players, -1)).max(axis=1)",
        )
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
)


class RemoveStatement(Operator):
    """Replace a bare call, an augmented assignment or a ``raise`` with ``pass``."""

    def mutation_positions(self, node):
        if _removable(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        return parso.python.tree.Keyword("pass", node.start_pos, prefix=node.get_first_leaf().prefix)

    @classmethod
    def examples(cls):
        return (Example("x += 1", "pass"), Example("f(x)", "pass"), Example("raise E", "pass"))


class RemoveGuardReturn(Operator):
    """Replace a ``return`` inside an ``if`` branch (an early exit) with ``pass``."""

    def mutation_positions(self, node):
        if node.type == "return_stmt" and _in_if_branch(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        return parso.python.tree.Keyword("pass", node.start_pos, prefix=node.get_first_leaf().prefix)

    @classmethod
    def examples(cls):
        return (Example("if x:\n    return 1\n", "if x:\n    pass\n"),)


class NumberReplacer(cosmic_ray.operators.number_replacer.NumberReplacer):
    """A number in arithmetic, a comparison or an assignment, plus or minus one.

    Not an index or slice bound (``out[2]``) nor a keyword argument (``axis=1``): a
    wrong one almost always crashes, and they are most of a module's numbers.
    """

    def mutation_positions(self, node):
        parent = node.parent
        while parent is not None and parent.type not in ("simple_stmt", "suite", "file_input"):
            if parent.type == "argument" or (parent.type == "trailer" and parent.children[0] == "["):
                return
            parent = parent.parent
        yield from super().mutation_positions(node)


def _removable(node) -> bool:
    if node.parent is None or node.parent.type != "simple_stmt":
        return False
    if node.type == "raise_stmt":
        return True
    if node.type == "expr_stmt":  # augmented assignment: x += y
        return node.children[1].type == "operator" and node.children[1].value not in ("=", ":")
    return (
        node.type == "atom_expr"
        and node.children[-1].type == "trailer"
        and node.children[-1].children[0] == "("
    )


def _in_if_branch(node) -> bool:
    parent = node.parent
    while parent is not None and parent.type not in ("funcdef", "file_input"):
        if parent.type == "if_stmt":
            return True
        parent = parent.parent
    return False


#: The realistic operators: a boundary or direction flip in a comparison, a swapped
#: arithmetic operator, a flipped boolean, a number off by one, a removed statement.
_COSMIC_OPERATORS = (
    r"core/ReplaceComparisonOperator_(Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Lt_Gt|Gt_Lt|LtE_GtE|GtE_LtE)",
    r"core/ReplaceComparisonOperator_(Eq_NotEq|NotEq_Eq|Is_IsNot|IsNot_Is)",
    r"core/ReplaceBinaryOperator_(Add_Sub|Sub_Add|Mul_Div|Div_Mul|FloorDiv_Div|Pow_Mul|Mod_FloorDiv)",
    r"core/ReplaceUnaryOperator_(Delete_USub|Delete_Not)",
    r"core/(AddNot|ReplaceTrueWithFalse|ReplaceFalseWithTrue|ReplaceAndWithOr|ReplaceOrWithAnd)",
)
_CUSTOM_OPERATORS: dict[str, type[Operator]] = {
    "NumberReplacer": NumberReplacer,
    "RemoveStatement": RemoveStatement,
    "RemoveGuardReturn": RemoveGuardReturn,
}


def operators() -> dict[str, type[Operator]]:
    """The operators in use, by name."""
    pattern = re.compile("|".join(f"(?:{p})" for p in _COSMIC_OPERATORS))
    chosen = {
        name: cosmic_ray.plugins.get_operator(name)
        for name in sorted(cosmic_ray.plugins.operator_names())
        if pattern.fullmatch(name)
    }
    return {**chosen, **_CUSTOM_OPERATORS}


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One planted bug: the ``occurrence``-th place ``operator`` applies in the module."""

    module: str
    operator: str
    occurrence: int
    line: int
    scope: str

    def source(self) -> str | None:
        """The mutated module, or None when the mutant does not compile or changes nothing."""
        path = ROOT / TARGETS[self.module].path
        original = path.read_text(encoding="utf-8")
        operator = operators()[
            f"core/{self.operator}" if self.operator not in _CUSTOM_OPERATORS else self.operator
        ]
        mutated = MutationVisitor.mutate_code(original, operator(), self.occurrence)
        if mutated is None or mutated == original:
            return None
        try:
            compile(mutated, str(path), "exec")
        except SyntaxError:
            return None
        return mutated

    def diff(self, mutated: str) -> str:
        original = (ROOT / TARGETS[self.module].path).read_text(encoding="utf-8")
        changed = difflib.unified_diff(original.splitlines(), mutated.splitlines(), lineterm="", n=0)
        return "\n".join(d for d in changed if d[:1] in "+-" and d[:3] not in ("+++", "---"))


@dataclasses.dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, timeout, excluded, invalid (does not compile)
    seconds: float
    diff: str = ""


def _scopes(source: str) -> dict[int, str]:
    """Line -> innermost enclosing def (``Class.method``) or module-level assigned name."""
    scopes: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                for line in range(child.lineno, (child.end_lineno or child.lineno) + 1):
                    scopes[line] = name
                visit(child, f"{name}.")
            elif not prefix and isinstance(child, ast.Assign | ast.AnnAssign):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                for line in range(child.lineno, (child.end_lineno or child.lineno) + 1):
                    scopes[line] = names[0] if names else "<module>"

    visit(ast.parse(source), "")
    return scopes


def mutants(name: str, *, fast: bool = False) -> list[Mutant]:
    """The mutants of one module (of its certificate checks only when ``fast``)."""
    target = TARGETS[name]
    source = (ROOT / target.path).read_text(encoding="utf-8")
    scopes = _scopes(source)
    tree = parso.parse(source)
    nodes = list(ast_nodes(tree))
    found = []
    for op_name, op_class in operators().items():
        operator = op_class()
        positions = [start for node in nodes for start, _ in operator.mutation_positions(node)]
        for occurrence, (line, _) in enumerate(positions):
            scope = scopes.get(line, "<module>")
            if fast and scope not in target.certificate_scopes:
                continue
            found.append(Mutant(name, op_name.removeprefix("core/"), occurrence, line, scope))
    return found


def _equivalent(mutant: Mutant, original_lines: Sequence[str], mutated: str) -> Equivalent | None:
    text = original_lines[mutant.line - 1].strip()
    changed = mutated.splitlines()[mutant.line - 1].strip()
    for eq in EQUIVALENT:
        if (eq.module, eq.operator, eq.line, eq.mutated) == (mutant.module, mutant.operator, text, changed):
            return eq
    return None


class _Interrupted(Exception):
    pass


def _raise_interrupted(signum, frame):  # a SIGTERM unwinds like Ctrl-C: the file is restored
    raise _Interrupted(signum)


def _test_env(scratch: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    env["NUMBA_CACHE_DIR"] = str(scratch / "numba")
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(scratch / "hypothesis")
    return env


def _pytest(tests: Sequence[str], env: dict[str, str], timeout: float) -> tuple[str, float]:
    """Run the module's tests: ``passed``, ``failed`` or ``timeout``, and the seconds taken."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=--strict-markers --import-mode=importlib",
        "-m",
        "not browser and not ondemand",
        *tests,
    ]
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "timeout", time.monotonic() - start
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return ("passed" if code == 0 else "failed"), time.monotonic() - start


def run_module(name: str, *, fast: bool, scratch: pathlib.Path, lines: Sequence[int] = ()) -> list[Outcome]:
    """Mutate one module, mutant by mutant, and run its tests against each."""
    target = TARGETS[name]
    path = ROOT / target.path
    original = path.read_bytes()
    original_lines = original.decode("utf-8").splitlines()
    env = _test_env(scratch)
    selected = [m for m in mutants(name, fast=fast) if not lines or m.line in lines]
    tests = target.fast_tests if fast and target.fast_tests else target.tests
    status, seconds = _pytest(tests, env, timeout=10 * target.timeout)
    if status != "passed":
        sys.exit(f"mutation: the tests of {name} do not pass unmutated ({status}): {' '.join(tests)}")
    print(f"== {name} ({target.path}): {len(selected)} mutants, tests take {seconds:.0f} s", flush=True)
    outcomes = []
    for k, mutant in enumerate(selected, 1):
        mutated = mutant.source()
        if mutated is None:
            outcomes.append(Outcome(mutant, "invalid", 0.0))
            continue
        if _equivalent(mutant, original_lines, mutated) is not None:
            outcomes.append(Outcome(mutant, "excluded", 0.0))
            continue
        try:
            path.write_text(mutated, encoding="utf-8")
            status, seconds = _pytest(tests, env, timeout=target.timeout)
        finally:
            path.write_bytes(original)
        verdict = {"failed": "killed", "passed": "survived", "timeout": "timeout"}[status]
        outcomes.append(Outcome(mutant, verdict, seconds, mutant.diff(mutated)))
        mark = "SURVIVED " if verdict == "survived" else ""
        print(
            f"  [{k}/{len(selected)}] {mark}{verdict} {seconds:.0f}s line {mutant.line} {mutant.operator}",
            flush=True,
        )
    return outcomes


def report(name: str, outcomes: Sequence[Outcome]) -> None:
    """Per module: mutants, killed, survived, timeouts, kill score and the survivors."""
    counts = {
        s: sum(o.status == s for o in outcomes)
        for s in ("killed", "survived", "timeout", "excluded", "invalid")
    }
    tested = len(outcomes) - counts["excluded"] - counts["invalid"]
    score = 100.0 * (counts["killed"] + counts["timeout"]) / tested if tested else 100.0
    print(
        f"{name}: {tested} mutants, {counts['killed']} killed, {counts['survived']} survived, "
        f"{counts['timeout']} timeouts, {counts['excluded']} excluded as equivalent; score {score:.1f} %"
    )
    for o in outcomes:
        if o.status == "survived":
            m = o.mutant
            print(f"  SURVIVED {TARGETS[name].path}:{m.line} [{m.scope}] {m.operator}")
            print("    " + o.diff.replace("\n", "\n    "))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--fast", action="store_true", help="the certificate checks only; exit 1 on a survivor"
    )
    parser.add_argument("--module", action="append", choices=sorted(TARGETS), help="repeatable; default: all")
    parser.add_argument(
        "--line", type=int, action="append", default=[], help="only the mutants on this line (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="count the mutants and exit without testing")
    args = parser.parse_args(argv)
    names = args.module or (list(FAST) if args.fast else list(TARGETS))
    if args.fast:
        names = [n for n in names if TARGETS[n].certificate_scopes]
    if args.list:
        for name in names:
            selected = [
                m for m in mutants(name) if not args.fast or m.scope in TARGETS[name].certificate_scopes
            ]
            print(f"{name}: {len(selected)} mutants")
        return 0
    os.nice(max(0, 19 - os.nice(0)))  # background work on a shared machine
    signal.signal(signal.SIGTERM, _raise_interrupted)
    results = {}
    with tempfile.TemporaryDirectory(prefix="equilibria-mutation-") as scratch:
        for name in names:
            results[name] = run_module(name, fast=args.fast, scratch=pathlib.Path(scratch), lines=args.line)
            report(name, results[name])
    print("\n== summary")
    for name, outcomes in results.items():
        report(name, outcomes)
    survivors = [o for outcomes in results.values() for o in outcomes if o.status == "survived"]
    return 1 if args.fast and survivors else 0


if __name__ == "__main__":
    sys.exit(main())
