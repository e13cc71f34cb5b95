"""Mutation testing of the modules that produce certificates and verdicts (issue 23).

Usage::

    nice -n 19 python -m tools.mutation [--fast] [--module NAME ...] [--sample N] [--jobs J] [--list]

Each module is mutated one realistic single-line bug at a time (comparison, arithmetic,
boolean and number replacement, removed statements and guard returns), and only the small
set of tests that can see it runs against each mutant: the suite's tests that run the mutated
line, from one coverage run of the suite (``tools.mutation_map``; a line no traced test runs,
such as a numba kernel's body, gets the module's own list and then every test that runs the
module), or the module's own list in ``TARGETS`` (``--own-tests``, ``--fast``). The mutants are
written into private copies of the source tree (one per job, imported ahead of the
installed package through ``PYTHONPATH``), so the working tree is never touched and ``J``
mutants are tested at once.
A mutant is *killed* when those tests fail, *timed out* when they outlive the module's
timeout, and *survived* when they pass: a bug the tests would not notice.

``--fast`` mutates the certificate checks only (``solver/regret.py`` and the tolerance
methods of ``solver/game.py``) and exits 1 when one of their mutants survives. Mutants
shown to be equivalent (no input can tell them from the original) are listed in
``EQUIVALENT`` (``tools/mutation_targets.py``) with the reason. ``--sample N`` tests N
mutants drawn at random from each module (seeded) and reports the kill score with its 95 %
Wilson interval: the whole set is hours. See docs/contributing.md, "Mutation testing".

Needs the ``mutation`` extra (cosmic-ray provides the parser and the operators)::

    pip install -e '.[mutation]'

numba's and Python's caches and Hypothesis's database go to the same temporary directory as
the copies, so no mutant leaves compiled code behind.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import dataclasses
import difflib
import itertools
import json
import math
import os
import pathlib
import queue
import random
import re
import shutil
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
import pytest
from cosmic_ray.ast import ast_nodes
from cosmic_ray.mutating import MutationVisitor
from cosmic_ray.operators.operator import Example, Operator

from tools import mutation_map
from tools.mutation_targets import (
    EQUIVALENT,
    FAST,
    LIMIT,
    NOT_MUTATED,
    TARGETS,
    TUNING,
    Equivalent,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent


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


def import_time_lines(source: str) -> frozenset[int]:
    """The lines that run when the module is imported: module-level statements, decorators,
    signatures (their default values) and class bodies, but not function bodies.

    Coverage credits such a line to whichever test happened to import the module first, so
    the map cannot say which tests see a change there.
    """
    lines: set[int] = set()

    def visit(body: Sequence[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in stmt.decorator_list:
                    lines.update(range(decorator.lineno, (decorator.end_lineno or decorator.lineno) + 1))
                lines.update(range(stmt.lineno, stmt.body[0].lineno))  # the signature
            elif isinstance(stmt, ast.ClassDef):
                for decorator in stmt.decorator_list:
                    lines.update(range(decorator.lineno, (decorator.end_lineno or decorator.lineno) + 1))
                lines.update(range(stmt.lineno, stmt.body[0].lineno))
                visit(stmt.body)
            else:
                lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))

    visit(ast.parse(source).body)
    return frozenset(lines)


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
        positions = [(start, node) for node in nodes for start, _ in operator.mutation_positions(node)]
        for occurrence, ((line, _), node) in enumerate(positions):
            if _signature_star(node) or _in_decorator(node):
                continue
            scope = scopes.get(line, "<module>")
            if fast and scope not in target.certificate_scopes:
                continue
            if scope.rsplit(".", 1)[-1] in NOT_MUTATED:
                continue
            if LIMIT.fullmatch(scope) or scope in TUNING.get(name, ()):  # a value, however written
                continue
            found.append(Mutant(name, op_name.removeprefix("core/"), occurrence, line, scope))
    return found


def _in_decorator(node) -> bool:
    """Whether ``node`` is part of a decorator (``@numba.njit(cache=True)``): how a function is
    compiled or cached, not what it computes."""
    while node is not None:
        if node.type == "decorator":
            return True
        node = node.parent
    return False


def _signature_star(node) -> bool:
    """Whether ``node`` is the ``*`` or ``/`` of a parameter list (not arithmetic: cosmic-ray's
    binary operator replacements would turn keyword-only markers into positional-only ones)."""
    return (
        node.type == "operator"
        and node.value in ("*", "/", "**")
        and node.parent is not None
        and (node.parent.type in ("parameters", "typedargslist", "varargslist", "lambdef"))
    )


def _equivalent(mutant: Mutant, original_lines: Sequence[str], mutated: str) -> Equivalent | None:
    text = original_lines[mutant.line - 1].strip()
    changed = mutated.splitlines()[mutant.line - 1].strip()
    for eq in EQUIVALENT:
        if (eq.module, eq.operator, eq.line, eq.mutated) == (mutant.module, mutant.operator, text, changed):
            return eq
    return None


def _stale_equivalents() -> list[Equivalent]:
    """The EQUIVALENT entries whose original line is no longer in their module (edited away)."""
    stale = []
    for eq in EQUIVALENT:
        text = (ROOT / TARGETS[eq.module].path).read_text(encoding="utf-8")
        if eq.line not in {line.strip() for line in text.splitlines()}:
            stale.append(eq)
    return stale


class _Interrupted(Exception):
    pass


def _raise_interrupted(signum, frame):  # a SIGTERM unwinds like Ctrl-C: the copies are removed
    raise _Interrupted(signum)


#: Where each sub-package of the ``equilibria`` namespace lives in the source tree.
_PACKAGES = {"solver": "solver", "service": "service", "client": "client", "v1": "proto/equilibria/v1"}
_NOT_COPIED = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".hypothesis", ".*_cache", "site")


@dataclasses.dataclass(frozen=True)
class Tree:
    """One job's private copy of the source tree and the environment that imports it."""

    root: pathlib.Path
    env: dict[str, str]


def _make_tree(scratch: pathlib.Path, k: int) -> Tree:
    """Copy the sources to ``scratch/tree<k>`` and map ``equilibria.*`` onto the copy.

    ``equilibria`` is a PEP 420 namespace: a portion found on ``PYTHONPATH`` comes before the
    installed (editable) one, so the tests of this job import the copy and its mutant.
    """
    root = scratch / f"tree{k}"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(*_NOT_COPIED), symlinks=True)
    namespace = scratch / f"path{k}" / "equilibria"
    namespace.mkdir(parents=True)
    for name, source in _PACKAGES.items():
        (namespace / name).symlink_to(root / source, target_is_directory=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(namespace.parent), str(root), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPYCACHEPREFIX"] = str(scratch / f"pycache{k}")
    env["NUMBA_CACHE_DIR"] = str(scratch / f"numba{k}")
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(scratch / f"hypothesis{k}")
    # An index off by one in a kernel raises instead of reading a neighbour's memory.
    env["NUMBA_BOUNDSCHECK"] = "1"
    return Tree(root, env)


def _pytest(
    tree: Tree,
    tests: Sequence[str],
    timeout: float,
    *,
    stop_first: bool = True,
    allow_empty: bool = False,
    plugin: str | None = None,
    env: dict[str, str] | None = None,
    usage_status: bool = False,
) -> tuple[str, float]:
    """Run tests in one tree: ``passed``, ``failed`` or ``timeout``, and seconds.

    pytest's usage error (it could not load a conftest, or a node id is unknown) stops the
    tool, or with ``usage_status`` is the status ``usage``: a mutant can cause it.
    """
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        *(["-x"] if stop_first else []),
        *(["-p", plugin] if plugin else []),
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=--strict-markers --import-mode=importlib",
        "-m",
        "not browser and not ondemand",
        *tests,
    ]
    env = {**tree.env, **(env or {})}
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=tree.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _RUNNING.add(proc)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start
    finally:
        _kill(proc)
        _RUNNING.discard(proc)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED and allow_empty:  # a file of deselected tests
        return "passed", time.monotonic() - start
    if code == pytest.ExitCode.USAGE_ERROR and usage_status:
        return "usage", time.monotonic() - start
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        sys.exit(f"mutation: pytest could not run {' '.join(tests)} (exit code {code})")
    return ("passed" if code == 0 else "failed"), time.monotonic() - start


def _unknown_node_ids(tree: Tree, tests: Sequence[str]) -> tuple[set[str], str]:
    """The arguments pytest reports "not found" in ``tree``, and the end of its output."""
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    cmd += ["-o", "addopts=--strict-markers --import-mode=importlib", *tests]
    found = subprocess.run(cmd, cwd=tree.root, env=tree.env, capture_output=True, text=True, timeout=600)
    output = found.stdout + found.stderr
    # pytest names them by absolute path, and a parametrised one without its parameters.
    prefix = f"{tree.root}{os.sep}"
    reported = {
        line.split("not found: ", 1)[1].strip().removeprefix(prefix)
        for line in output.splitlines()
        if "not found: " in line
    }
    unknown = {t for t in tests if t in reported or t.split("[", 1)[0] in reported}
    return unknown, "\n".join(output.splitlines()[-20:])


def _imported_path(tree: Tree, path: str) -> pathlib.Path:
    """Where the tests import ``path`` (from the repository root) from: through the namespace."""
    namespace = pathlib.Path(tree.env["PYTHONPATH"].split(os.pathsep)[0]) / "equilibria"
    for name, source in _PACKAGES.items():
        if path.startswith(source + "/"):
            return namespace / name / path.removeprefix(source + "/")
    return tree.root / path


#: Seconds one test file may take under coverage: past it the file's tests are left out of the
#: map (a mutant they reach is tested against its module's own test list instead), so one file
#: hung on a cold numba compile under the tracer does not hold up the whole measurement.
COVERAGE_FILE_TIMEOUT = 1200


def coverage_map(trees: Sequence[Tree]) -> mutation_map.CoverageMap:
    """Which test runs which line of every module in ``TARGETS`` (``tools.mutation_map``)."""
    paths = [t.path for t in TARGETS.values()]

    def run_part(k: int, files: Sequence[str]) -> list[dict | None]:
        """Each test file of one part in its own pytest run (no state carried between files)."""
        tree = trees[k]
        out = tree.root.parent / f"coverage-{tree.root.name}.json"
        names = {str(_imported_path(tree, p)): p for p in paths}
        env = {"MUTATION_COVERAGE_FILES": json.dumps(names), "MUTATION_COVERAGE_OUT": str(out)}
        found = []
        for file in files:
            out.unlink(missing_ok=True)
            status, seconds = _pytest(
                tree,
                [file],
                COVERAGE_FILE_TIMEOUT,
                stop_first=False,
                allow_empty=True,
                plugin="tools.mutation_coverage",
                env=env,
            )
            if not out.exists():  # the run ended without pytest's teardown (a timeout, os._exit)
                print(f"  coverage of {file}: none recorded ({status}, {seconds:.0f} s)", flush=True)
                found.append(None)
                continue
            found.append(json.loads(out.read_text(encoding="utf-8")))
            print(f"  coverage of {file}: {seconds:.0f} s ({status})", flush=True)
            for node in found[-1]["failed"]:  # left out of the map: they cannot kill a mutant
                print(f"    failed unmutated (left out): {node}", flush=True)
        return found

    print(
        "== which tests run which lines (a run of each test file not cached since the last edit)", flush=True
    )
    # The copies are what the tests run: their fingerprint keys the cache.
    return mutation_map.build(trees[0].root, ROOT / ".mutation_cache", run_part, parts=len(trees))


#: The test runs under way: killed (with their process groups) when the tool is interrupted.
_RUNNING: set[subprocess.Popen] = set()


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # also what a test run left behind (servers)
    proc.wait()


def _imports_the_copy(tree: Tree) -> None:
    """Refuse to run when the tests would import the installed package instead of the copy."""
    probe = "import equilibria.solver as s; print(s.__path__[0])"
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=tree.root, env=tree.env, capture_output=True, text=True
    )
    if not found.stdout.strip().startswith(str(tree.env["PYTHONPATH"].split(os.pathsep)[0])):
        sys.exit(f"mutation: equilibria.solver is not imported from the copy: {found.stdout or found.stderr}")


def select(name: str, *, fast: bool, lines: Sequence[int], sample: int | None, seed: int) -> list[Mutant]:
    """The mutants to test: all of them, those on ``lines``, or a seeded random sample."""
    chosen = [m for m in mutants(name, fast=fast) if not lines or m.line in lines]
    if sample is not None and sample < len(chosen):
        chosen = sorted(random.Random(f"{seed}:{name}").sample(chosen, sample), key=lambda m: m.line)
    return chosen


def run_module(
    name: str,
    selected: Sequence[Mutant],
    *,
    fast: bool,
    trees: Sequence[Tree],
    covered: mutation_map.CoverageMap | None = None,
) -> list[Outcome]:
    """Test each mutant of one module, ``len(trees)`` at a time.

    With a coverage map, a mutant is tested against the suite's tests that ran its line
    (``tools.mutation_map``); on lines no traced test ran (a numba kernel's body, a line run at
    import), against the module's own list in ``TARGETS`` and then every test that runs a line
    of the module; without a map, against the module's own list.
    """
    target = TARGETS[name]
    original = (ROOT / target.path).read_text(encoding="utf-8")
    original_lines = original.splitlines()
    import_lines = import_time_lines(original)
    tests = target.fast_tests if fast and target.fast_tests else target.tests
    status, baseline = _pytest(trees[0], tests, timeout=10 * target.timeout)
    if status != "passed":
        sys.exit(f"mutation: the tests of {name} do not pass unmutated ({status}): {' '.join(tests)}")
    timeout = max(target.timeout, 4 * baseline)
    print(f"== {name} ({target.path}): {len(selected)} mutants, its tests take {baseline:.0f} s", flush=True)
    free: queue.SimpleQueue[Tree] = queue.SimpleQueue()
    for tree in trees:
        free.put(tree)
    done = itertools.count(1)

    def test(mutant: Mutant) -> Outcome:
        mutated = mutant.source()
        if mutated is None:
            return Outcome(mutant, "invalid", 0.0)
        if _equivalent(mutant, original_lines, mutated) is not None:
            return Outcome(mutant, "excluded", 0.0)
        reaching, limit, note = tests, timeout, ""
        if covered is not None:
            found = None if mutant.line in import_lines else covered.tests_for(target.path, mutant.line)
            if found is not None:  # a test that never runs the line cannot see the change
                reaching, seconds = found
                limit = max(target.timeout, 4 * seconds + 60)
                note = f" ({len(reaching)} tests run the line)"
            elif (module := covered.module_tests(target.path)) is not None:
                # A kernel's body or a line run at import (whose coverage is credited to the
                # test that imported the module first): the module's own tests first (the
                # likely killers), then every test that runs the module's Python.
                reaching = (*tests, *(t for t in module[0] if t not in tests))
                limit = timeout + max(target.timeout, 4 * module[1] + 60)
                note = f" (line untraced: own tests, then {len(module[0])} that run the module)"
        tree = free.get()
        path = tree.root / target.path

        def run(tests: Sequence[str]) -> tuple[str, float]:
            path.write_text(mutated, encoding="utf-8")
            try:
                return _pytest(tree, tests, timeout=limit, usage_status=True)
            finally:
                path.write_text(original, encoding="utf-8")

        try:
            status, seconds = run(reaching)
            output = ""
            if status == "usage":
                # A node id the map holds may be gone (a parametrisation read from a file that
                # changed, such as the docs' examples): drop those and run again.
                unknown, output = _unknown_node_ids(tree, reaching)
                if unknown:
                    reaching = tuple(t for t in reaching if t not in unknown) or tests
                    note = f"{note} ({len(unknown)} unknown node ids dropped)"
                    status, seconds = run(reaching)
            if status == "usage":  # the mutant stopped pytest loading the tests (a conftest's imports)
                unmutated, _ = _pytest(tree, reaching, timeout=limit, usage_status=True)
                if unmutated == "usage":
                    sys.exit(f"mutation: pytest could not run {' '.join(reaching)}, unmutated too:\n{output}")
                status, note = "failed", f"{note} (pytest could not load the tests)"
        finally:
            free.put(tree)
        verdict = {"failed": "killed", "passed": "survived", "timeout": "timeout"}[status]
        mark = "SURVIVED " if verdict == "survived" else ""
        print(
            f"  [{next(done)}/{len(selected)}] {mark}{verdict} {seconds:.0f}s line {mutant.line} "
            f"{mutant.operator}{note}",
            flush=True,
        )
        return Outcome(mutant, verdict, seconds, mutant.diff(mutated))

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(trees))
    try:
        return list(pool.map(test, selected))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(_RUNNING):  # interrupted: stop the runs under way at once
            _kill(proc)


def wilson_interval(killed: int, tested: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion (Wilson 1927, JASA 22)."""
    if tested == 0:
        return 0.0, 1.0
    p = killed / tested
    denominator = 1 + z * z / tested
    centre = (p + z * z / (2 * tested)) / denominator
    half = z * math.sqrt(p * (1 - p) / tested + z * z / (4 * tested * tested)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def report(name: str, outcomes: Sequence[Outcome], *, of: int) -> None:
    """Per module: mutants, killed, survived, timeouts, kill score and the survivors.

    ``of`` is how many mutants the module has; when fewer were tested (a sample), the score
    is given with its 95 % Wilson interval.
    """
    counts = {
        s: sum(o.status == s for o in outcomes)
        for s in ("killed", "survived", "timeout", "excluded", "invalid")
    }
    tested = len(outcomes) - counts["excluded"] - counts["invalid"]
    killed = counts["killed"] + counts["timeout"]
    score = 100.0 * killed / tested if tested else 100.0
    sampled = ""
    if len(outcomes) < of:
        low, high = wilson_interval(killed, tested)
        sampled = f" (sample of {len(outcomes)} of {of}; 95 % interval {100 * low:.0f}-{100 * high:.0f} %)"
    print(
        f"{name}: {tested} mutants, {counts['killed']} killed, {counts['survived']} survived, "
        f"{counts['timeout']} timeouts, {counts['excluded']} excluded as equivalent; "
        f"score {score:.1f} %{sampled}"
    )
    for o in outcomes:
        if o.status == "survived":
            m = o.mutant
            print(f"  SURVIVED {TARGETS[name].path}:{m.line} [{m.scope}] {m.operator}")
            print("    " + o.diff.replace("\n", "\n    "))


def _kill_rate(outcomes: Sequence[Outcome]) -> tuple[int, int]:
    """(killed or timed out, tested) of one module's outcomes."""
    tested = [o for o in outcomes if o.status in ("killed", "timeout", "survived")]
    return sum(o.status != "survived" for o in tested), len(tested)


def pooled(results: dict[str, Sequence[Outcome]], totals: dict[str, int]) -> None:
    """One line for all the modules: the pooled kill score and, for a sample, the estimate of
    the whole set's score with each module weighted by its number of mutants."""
    rates = {name: _kill_rate(outcomes) for name, outcomes in results.items()}
    killed = sum(k for k, _ in rates.values())
    tested = sum(t for _, t in rates.values())
    low, high = wilson_interval(killed, tested)
    weights = {name: totals[name] for name, (_, t) in rates.items() if t}
    weighted = sum(weights[n] * rates[n][0] / rates[n][1] for n in weights) / max(1, sum(weights.values()))
    print(
        f"all modules: {tested} mutants tested, {killed} killed; score {100 * killed / max(1, tested):.1f} % "
        f"(95 % interval {100 * low:.0f}-{100 * high:.0f} %); weighted by module size {100 * weighted:.1f} %"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--fast", action="store_true", help="the certificate checks only; exit 1 on a survivor"
    )
    parser.add_argument("--module", action="append", choices=sorted(TARGETS), help="repeatable; default: all")
    parser.add_argument(
        "--line", type=int, action="append", default=[], help="only the mutants on this line (repeatable)"
    )
    parser.add_argument(
        "--sample", type=int, default=None, help="test this many random mutants per module (default: all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample (default: 0)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="mutants tested at once, one tree copy each (default: 1)"
    )
    parser.add_argument(
        "--own-tests",
        action="store_true",
        help="test each mutant against its module's own list in TARGETS, not the suite's tests that"
        " run its line (no coverage run)",
    )
    parser.add_argument("--list", action="store_true", help="count the mutants and exit without testing")
    args = parser.parse_args(argv)
    names = args.module or (list(FAST) if args.fast else list(TARGETS))
    if args.fast:
        names = [n for n in names if TARGETS[n].certificate_scopes]
    if args.list:
        for name in names:
            print(f"{name}: {len(mutants(name, fast=args.fast))} mutants")
        return 0
    for stale in _stale_equivalents():
        print(f"mutation: EQUIVALENT entry matches no line of {stale.module}: {stale.line}", file=sys.stderr)
    os.nice(max(0, 19 - os.nice(0)))  # background work on a shared machine
    signal.signal(signal.SIGTERM, _raise_interrupted)
    results, totals = {}, {}
    with tempfile.TemporaryDirectory(prefix="equilibria-mutation-") as scratch:
        trees = [_make_tree(pathlib.Path(scratch), k) for k in range(max(1, args.jobs))]
        _imports_the_copy(trees[0])
        covered = None if args.fast or args.own_tests else coverage_map(trees)
        for name in names:
            totals[name] = len(mutants(name, fast=args.fast))
            selected = select(name, fast=args.fast, lines=args.line, sample=args.sample, seed=args.seed)
            results[name] = run_module(name, selected, fast=args.fast, trees=trees, covered=covered)
            report(name, results[name], of=totals[name] if not args.line else len(selected))
    print("\n== summary")
    for name, outcomes in results.items():
        report(name, outcomes, of=totals[name] if not args.line else len(outcomes))
    if len(results) > 1:
        pooled(results, totals)
    survivors = [o for outcomes in results.values() for o in outcomes if o.status == "survived"]
    return 1 if args.fast and survivors else 0


if __name__ == "__main__":
    sys.exit(main())
