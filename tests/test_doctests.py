"""Every example in a docstring runs and prints what it says (STYLE section 2.4).

All four packages: the solver, the service, the client and the wire codec (``v1``). A
module's examples run here and only here, so each test id names one module
(``test_docstring_examples[client._convert]``), which ``tools.mutation`` lists among a
module's own tests.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

PACKAGES = ("solver", "service", "client", "v1")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        root = importlib.import_module(f"equilibria.{package}")
        names.append(package)
        names.extend(
            info.name.removeprefix("equilibria.")
            for info in pkgutil.walk_packages(root.__path__, prefix=f"equilibria.{package}.")
        )
    return sorted(names)


MODULES = _modules()


def test_the_modules_of_every_package_are_discovered() -> None:
    assert {
        "solver",
        "solver.game",
        "solver.normal_form.vertex_enumeration",
        "solver.traces.scorer",
        "service.pool",
        "client._convert",
        "v1.codec",
    } <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"equilibria.{name}")
    source = inspect.getsource(module)
    result = doctest.testmod(module, verbose=False, report=True, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module.__name__}"
    # Examples that need a live server are marked ``+SKIP``; every other one must run.
    runnable = [line for line in source.splitlines() if ">>> " in line and "+SKIP" not in line]
    if runnable:
        assert result.attempted >= 1, f"{module.__name__} has examples but doctest ran none"
