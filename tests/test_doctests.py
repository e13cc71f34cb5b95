"""Every example in the solver's docstrings runs and prints what it says (STYLE section 2.4)."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import equilibria.solver
import pytest

MODULES = sorted(
    info.name.removeprefix("equilibria.solver.")
    for info in pkgutil.walk_packages(equilibria.solver.__path__, prefix="equilibria.solver.")
)


def test_the_solver_modules_are_discovered() -> None:
    assert {
        "game",
        "regret",
        "normal_form.nash",
        "normal_form.vertex_enumeration",
        "traces.scorer",
        "stochastic.solve",
    } <= set(MODULES)


@pytest.mark.parametrize("name", ["__init__", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = equilibria.solver if name == "__init__" else importlib.import_module(f"equilibria.solver.{name}")
    source = inspect.getsource(module)
    result = doctest.testmod(module, verbose=False, report=True, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module.__name__}"
    if ">>> " in source:
        assert result.attempted >= 1, f"{module.__name__} has examples but doctest ran none"
