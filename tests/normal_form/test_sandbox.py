"""Tests of :mod:`equilibria.solver.normal_form.sandbox`: runs in a forked child, killed past a limit."""

from __future__ import annotations

import os
import time

import pytest
from equilibria.solver.normal_form.sandbox import SandboxFailure, SandboxTimeout, run_isolated


def test_the_answer_comes_back_from_the_child() -> None:
    parent = os.getpid()
    assert run_isolated(lambda: ("pid", os.getpid() != parent), 30.0) == ("pid", True)


def test_an_exception_in_the_child_becomes_a_failure_naming_it() -> None:
    def broken() -> None:
        raise ValueError("bad perturbation")

    with pytest.raises(SandboxFailure, match=r"^ValueError: bad perturbation$"):
        run_isolated(broken, 30.0)


def test_a_child_that_dies_is_a_failure_with_its_exit_code() -> None:
    with pytest.raises(SandboxFailure, match=r"died \(exit code 3\)"):
        run_isolated(lambda: os._exit(3), 30.0)


def test_a_run_past_its_limit_is_killed() -> None:
    started = time.perf_counter()
    with pytest.raises(SandboxTimeout):
        run_isolated(lambda: time.sleep(60), 0.2)
    assert time.perf_counter() - started < 30.0
