"""The mutation tool's coverage map picks the tests that can see a mutant (``tools.mutation_map``).

The map is built here from a fake suite (no pytest run): which tests a line reaches, the
fallback for a line no test traced, whole files, and the per-file cache; the coverage plugin
(``tools.mutation_coverage``) in a real pytest run of a tiny suite.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tools import mutation_map

_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _suite(root: pathlib.Path) -> None:
    (root / "tests").mkdir()
    (root / "pkg").mkdir()
    (root / "pkg" / "mod.py").write_text("X = 1\n", encoding="utf-8")
    (root / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    (root / "tests" / "test_a.py").write_text(
        "def test_one(): pass\ndef test_two(): pass\n", encoding="utf-8"
    )
    shared = "import pytest\n@pytest.fixture(scope='module')\ndef f(): pass\ndef test_three(f): pass\n"
    (root / "tests" / "test_b.py").write_text(shared, encoding="utf-8")


#: What the coverage plugin would write for each test file of the fake suite.
_OUTPUTS = {
    "tests/test_a.py": {
        "seconds": {"tests/test_a.py::test_one": 2.0, "tests/test_a.py::test_two": 0.5},
        "lines": {"pkg/mod.py": {"3": ["tests/test_a.py::test_one", "tests/test_a.py::test_two"], "7": []}},
        "failed": [],
    },
    "tests/test_b.py": {
        "seconds": {"tests/test_b.py::test_three": 1.0, "tests/test_b.py::test_four": 4.0},
        "lines": {"pkg/mod.py": {"9": ["tests/test_b.py::test_three"]}},
        "failed": [],
    },
}


def _build(root: pathlib.Path, runs: list[str]) -> mutation_map.CoverageMap:
    def run_part(k: int, files: list[str]) -> list[dict | None]:
        runs.extend(files)
        return [_OUTPUTS[f] for f in files]

    return mutation_map.build(root, root / ".cache", run_part, parts=2)


def test_a_line_reaches_the_tests_that_ran_it_fastest_first(tmp_path: pathlib.Path) -> None:
    _suite(tmp_path)
    found = _build(tmp_path, []).tests_for("pkg/mod.py", 3)
    assert found == (("tests/test_a.py::test_two", "tests/test_a.py::test_one"), 2.5)


def test_a_file_with_shared_state_is_taken_whole(tmp_path: pathlib.Path) -> None:
    _suite(tmp_path)
    assert _build(tmp_path, []).tests_for("pkg/mod.py", 9) == (("tests/test_b.py",), 5.0)


def test_an_untraced_line_has_no_tests_but_its_module_has_all_of_them(tmp_path: pathlib.Path) -> None:
    _suite(tmp_path)
    covered = _build(tmp_path, [])
    assert covered.tests_for("pkg/mod.py", 7) is None
    assert covered.tests_for("pkg/mod.py", 1) is None
    assert covered.module_tests("pkg/mod.py") == (
        ("tests/test_a.py::test_two", "tests/test_a.py::test_one", "tests/test_b.py"),
        7.5,
    )
    assert covered.module_tests("pkg/other.py") is None


def test_each_test_file_is_cached_until_it_or_a_source_changes(tmp_path: pathlib.Path) -> None:
    _suite(tmp_path)
    runs: list[str] = []
    first = _build(tmp_path, runs)
    assert sorted(runs) == ["tests/test_a.py", "tests/test_b.py"]
    runs.clear()
    assert _build(tmp_path, runs) == first and runs == []
    (tmp_path / "tests" / "test_a.py").write_text("def test_one(): assert True\n", encoding="utf-8")
    _build(tmp_path, runs)
    assert runs == ["tests/test_a.py"]
    runs.clear()
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "speed.py").write_text("pass\n", encoding="utf-8")  # not a source of the map
    _build(tmp_path, runs)
    assert runs == []
    (tmp_path / "tools").mkdir()
    targets = tmp_path / "tools" / "mutation_targets.py"  # the tool's lists: not run by the tests
    targets.write_text("EQUIVALENT = ()\n", encoding="utf-8")
    _build(tmp_path, runs)
    assert runs == []
    (tmp_path / "tools" / "mutation_coverage.py").write_text("pass\n", encoding="utf-8")  # a tool
    _build(tmp_path, runs)
    assert sorted(runs) == ["tests/test_a.py", "tests/test_b.py"]
    runs.clear()
    (tmp_path / "pkg" / "mod.py").write_text("X = 2\n", encoding="utf-8")
    _build(tmp_path, runs)
    assert sorted(runs) == ["tests/test_a.py", "tests/test_b.py"]


def test_a_file_done_before_an_interruption_stays_cached(tmp_path: pathlib.Path) -> None:
    _suite(tmp_path)

    def interrupted(k: int, files: list[str]) -> list[dict | None]:
        if files == ["tests/test_b.py"]:
            raise KeyboardInterrupt
        return [_OUTPUTS[f] for f in files]

    with pytest.raises(KeyboardInterrupt):
        mutation_map.build(tmp_path, tmp_path / ".cache", interrupted, parts=1)
    cached = list((tmp_path / ".cache").rglob("*.json"))
    assert [p.name.split("-")[0] for p in cached] == ["tests__test_a.py"]
    assert json.loads(cached[0].read_text(encoding="utf-8")) == _OUTPUTS["tests/test_a.py"]


def test_every_equivalent_mutant_entry_still_matches_its_module() -> None:
    # What tools.mutation._stale_equivalents() checks, without the mutation tool's own
    # dependencies (cosmic-ray: the dev extra): an edited line leaves its entry behind.
    # Each module is read where it is imported from (the source tree, or the wheel's copy).
    import importlib.util

    from tools.mutation_targets import EQUIVALENT, TARGETS

    def lines(module: str) -> set[str]:
        name = "equilibria." + TARGETS[module].path.removesuffix(".py").replace("/", ".")
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        return {line.strip() for line in pathlib.Path(spec.origin).read_text(encoding="utf-8").splitlines()}

    stale = [eq.line for eq in EQUIVALENT if eq.line not in lines(eq.module)]
    assert stale == [], f"EQUIVALENT entries whose line was edited away: {stale}"


def test_the_plugin_credits_a_line_to_the_tests_that_ran_it_even_if_collection_ran_it_too(
    tmp_path: pathlib.Path,
) -> None:
    """A real pytest run under ``tools.mutation_coverage``: a function called at collection (by
    a parametrize list) and by two tests is credited to both tests; a line only run at import
    (the ``def``) to none; a test that fails is left out."""
    (tmp_path / "mod.py").write_text(
        "def double(x):\n    return 2 * x\n\n\ndef never():\n    return 0\n", encoding="utf-8"
    )
    (tmp_path / "test_mod.py").write_text(
        "import pytest\nfrom mod import double\n\n\n"
        "@pytest.mark.parametrize('v', [double(1)])\ndef test_one(v):\n    assert double(v) == 4\n\n\n"
        "def test_two():\n    assert double(3) == 6\n\n\n"
        "def test_broken():\n    assert double(1) == 3\n",
        encoding="utf-8",
    )
    out = tmp_path / "coverage.json"
    env = {
        **os.environ,
        "MUTATION_COVERAGE_FILES": json.dumps({str(tmp_path / "mod.py"): "mod.py"}),
        "MUTATION_COVERAGE_OUT": str(out),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(_ROOT)]),
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tools.mutation_coverage",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "test_mod.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.exists(), run.stdout + run.stderr
    found = json.loads(out.read_text(encoding="utf-8"))
    assert found["lines"]["mod.py"] == {"2": ["test_mod.py::test_one[2]", "test_mod.py::test_two"]}
    assert found["failed"] == ["test_mod.py::test_broken"]
    assert set(found["seconds"]) == {"test_mod.py::test_one[2]", "test_mod.py::test_two"}
