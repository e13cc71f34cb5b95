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
import re
from types import ModuleType
from typing import Any

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


#: A numpydoc parameter line with its default: ``tol : float, optional(default=1e-9)``.
_DOCUMENTED_DEFAULT = re.compile(r"^\s*(\w+) : .*\boptional\(default=(.*)\)\s*$")


def _documented_defaults(module: ModuleType) -> list[tuple[str, str, str, Any]]:
    """``(owner, parameter, documented text, signature default)`` of every parameter whose
    docstring names its default, in the functions, classes and methods ``module`` defines."""
    found = []
    owners = [v for v in vars(module).values() if getattr(v, "__module__", None) == module.__name__]
    owners += [
        getattr(cls, key)  # bound: a classmethod's signature without cls
        for cls in owners
        if inspect.isclass(cls)
        for key, member in vars(cls).items()
        if inspect.isfunction(member) or isinstance(member, classmethod | staticmethod)
    ]
    for owner in owners:
        if not (inspect.isroutine(owner) or inspect.isclass(owner)) or not owner.__doc__:
            continue
        for line in owner.__doc__.splitlines():
            match = _DOCUMENTED_DEFAULT.match(line)
            if match:
                name, text = match.groups()
                parameters = inspect.signature(owner).parameters
                default = parameters[name].default if name in parameters else inspect.Parameter.empty
                found.append((owner.__qualname__, name, text, default))
    return found


@pytest.mark.parametrize("name", MODULES)
def test_documented_defaults_are_the_signatures(name: str) -> None:
    """Every ``optional(default=...)`` of a docstring is the parameter's default: the text,
    evaluated in the module, equals the signature's value (a documented parameter the
    signature lacks, or one without a default, fails). Each such line of the module's source
    is checked: none hides where the search does not look (a nested function)."""
    module = importlib.import_module(f"equilibria.{name}")
    found = _documented_defaults(module)
    lines = [line for line in inspect.getsource(module).splitlines() if _DOCUMENTED_DEFAULT.match(line)]
    assert len(found) == len(lines), (found, lines)
    for owner, parameter, text, default in found:
        assert default is not inspect.Parameter.empty, (
            f"{owner}({parameter}): documented default, none in the signature"
        )
        documented = eval(text, vars(module))  # noqa: S307 - the project's own docstrings
        assert documented == default and type(documented) is type(default), (owner, parameter, text, default)


def test_documented_defaults_are_found() -> None:
    """The check above reads the defaults it should: a function's, a classmethod's."""
    module = importlib.import_module("equilibria.solver.stochastic.zero_sum")
    found = {(owner, p): (text, d) for owner, p, text, d in _documented_defaults(module)}
    assert found[("shapley_iteration", "max_iterations")] == ("100_000", 100_000)
    assert found[("shapley_iteration", "tol")] == ("1e-8", 1e-8)
    targets = _documented_defaults(importlib.import_module("equilibria.solver.traces.distances"))
    assert ("SolutionTarget.from_points", "complete", "True", True) in targets
