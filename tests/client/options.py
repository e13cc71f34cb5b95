"""Solve options as the client's request builders take them, shared by the client's unit tests."""

from __future__ import annotations

from typing import Any


def solve_options(*, exact: bool = False) -> dict[str, Any]:
    """The keyword arguments of ``solve_request`` and ``batch_requests`` for one Nash solve:
    ``method="auto"``, the default tolerance (0: the server's), no limits."""
    return {
        "concepts": "nash",
        "method": "auto",
        "tolerance": 0.0,
        "exact": exact,
        "max_equilibria": 0,
        "time_budget": None,
    }
