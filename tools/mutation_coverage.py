"""pytest plugin of ``tools.mutation``: which test runs which line of the modules under mutation.

Loaded with ``-p tools.mutation_coverage`` in an unmutated run of the test suite. It traces
the files named in ``MUTATION_COVERAGE_FILES`` (JSON: the path the tests import each file
from -> the file's name in the report) with coverage.py, switching the coverage context to
each test's node id (as pytest-cov's ``--cov-context=test`` does), and writes
``MUTATION_COVERAGE_OUT`` as JSON::

    {"seconds": {node id: duration of a passed test},
     "lines": {file name: {"<line>": [node ids that ran it]}},
     "failed": [node ids of the tests that failed]}

Only tests that passed are kept. Lines only run outside a test (at import or collection: the
empty context) and lines no traced test ran (numba kernels: compiled code is not traced; code
run in worker processes) are left out: a mutant there is tested against its module's own list
of tests. A line run both at collection and by tests is credited to those tests.
"""

from __future__ import annotations

import json
import os
import pathlib
import time
import warnings

import coverage
import coverage.exceptions
import pytest

_cov: coverage.Coverage | None = None
_seconds: dict[str, float] = {}
_failed: set[str] = set()


def _files() -> dict[str, str]:
    return json.loads(os.environ["MUTATION_COVERAGE_FILES"])


def pytest_configure(config: pytest.Config) -> None:
    global _cov
    _cov = coverage.Coverage(data_file=None, include=list(_files()), config_file=False)
    _cov.start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    assert _cov is not None
    _cov.switch_context(item.nodeid)
    start = time.perf_counter()
    yield
    _seconds[item.nodeid] = time.perf_counter() - start
    _cov.switch_context("")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        _failed.add(report.nodeid)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _cov is None:
        return
    with warnings.catch_warnings():  # "no data collected" (a file that never runs the modules)
        warnings.simplefilter("ignore", coverage.exceptions.CoverageWarning)
        _cov.stop()
        data = _cov.get_data()
    names = {str(pathlib.Path(path).resolve()): name for path, name in _files().items()}
    lines: dict[str, dict[str, list[str]]] = {}
    for measured in data.measured_files():
        name = names.get(str(pathlib.Path(measured).resolve()))
        if name is None:
            continue
        by_line = lines.setdefault(name, {})
        for line, contexts in data.contexts_by_lineno(measured).items():
            # A line also run outside any test (at import, or at collection by a parametrize
            # list that calls the module) is still credited to every test that ran it.
            tests = sorted({c for c in contexts if c and c not in _failed})
            if tests:
                by_line[str(line)] = tests
    seconds = {t: s for t, s in _seconds.items() if t not in _failed}
    out = {"seconds": seconds, "lines": lines, "failed": sorted(_failed)}
    pathlib.Path(os.environ["MUTATION_COVERAGE_OUT"]).write_text(json.dumps(out), encoding="utf-8")
