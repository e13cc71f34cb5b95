"""Exceptions raised by the solver.

Hierarchy::

    SolverError
    ├── InvalidGameError (also ValueError)       the game is malformed
    ├── InvalidOptionError (also ValueError)     a solve option is malformed or unknown
    ├── UnsupportedError                          a method or concept does not apply to this game
    └── ProblemTooLargeError                      the requested computation exceeds a size limit

Every exception carries ``field``: the name of the offending input (``"payoffs"``,
``"method"``, ...), which the service turns into a ``google.rpc.BadRequest`` field
violation. A message quotes a caller's string through :func:`quoted`, which shows a
short prefix only: an error about a 60 MB method name stays a short message.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "SolverError",
    "InvalidGameError",
    "InvalidOptionError",
    "UnsupportedError",
    "ProblemTooLargeError",
    "QUOTED_CHARS",
    "quoted",
    "check_tolerance",
    "check_time_limit",
]

#: Most characters of a caller's string that an error message quotes.
QUOTED_CHARS = 40


def quoted(value: object, limit: int = QUOTED_CHARS) -> str:
    """``repr`` of a caller's value for an error message, cut to its first ``limit`` characters.

    A longer value shows its prefix and its length, never the rest.

    Examples
    --------
    >>> quoted("nash")
    "'nash'"
    >>> quoted("x" * 100, limit=4)
    "'xxxx'... (100 characters)"
    """
    text = value if isinstance(value, str) else repr(value)
    shown = repr(text[:limit]) if isinstance(value, str) else text[:limit]
    if len(text) <= limit:
        return shown
    return f"{shown}... ({len(text)} characters)"


class SolverError(Exception):
    """Base class of every error the solver raises on purpose.

    Parameters
    ----------
    field : str
        The input at fault, as a dotted path (``"payoffs"``, ``"method"``).
    message : str
        What is wrong, naming the function that raised it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[SolverError], tuple[str, str]]:
        # Keep (field, message) when the error crosses a process boundary (worker pool).
        return (type(self), (self.field, self.message))


class InvalidGameError(SolverError, ValueError):
    """The game is malformed: wrong shape, non-finite payoffs, bad names."""


class InvalidOptionError(SolverError, ValueError):
    """A solve option (method, concept, tolerance, ...) is malformed or unknown."""


class UnsupportedError(SolverError):
    """The requested method or concept does not apply to this game."""


class ProblemTooLargeError(SolverError):
    """The computation asked for exceeds a size limit of the chosen method."""


class MissingDependencyError(SolverError, ImportError):
    """A package the computation needs is not installed; the message says how to install it."""


def check_tolerance(tol: object, function: str) -> None:
    """Refuse a relative tolerance outside ``(0, 1e-3]`` (NaN, a non-number and a bool too).

    Every solver's ``tol`` is relative to each player's own payoff range; zero, a negative
    or NaN tolerance would make its certificates meaningless, and one past 1e-3 certifies
    nothing a user would call an equilibrium.

    Raises
    ------
    InvalidOptionError
        Field ``"tolerance"``, naming ``function``.

    Examples
    --------
    >>> check_tolerance(1e-9, "solve")
    >>> check_tolerance(float("nan"), "solve")
    Traceback (most recent call last):
    ...
    equilibria.solver.errors.InvalidOptionError: solve(): tol must be in (0, 1e-3], got nan
    """
    if type(tol) is float and 0.0 < tol <= 1e-3:  # the common case, fast (Lemke-Howson's hot path)
        return
    real = isinstance(tol, numbers.Real) and not isinstance(tol, bool)
    if not real or not (0.0 < tol <= 1e-3):
        shown = tol if real else quoted(tol)  # a number as it prints (np.float64(0.1) as 0.1)
        raise InvalidOptionError("tolerance", f"{function}(): tol must be in (0, 1e-3], got {shown}")


def check_time_limit(value: object, function: str) -> float | None:
    """None, or a positive and finite number of seconds (returned as a float).

    Raises
    ------
    InvalidOptionError
        Field ``"time_limit"``, naming ``function``.

    Examples
    --------
    >>> check_time_limit(2, "solve"), check_time_limit(None, "solve")
    (2.0, None)
    >>> check_time_limit(0, "solve")
    Traceback (most recent call last):
    ...
    equilibria.solver.errors.InvalidOptionError: solve(): time_limit must be None or a positive number of seconds, got 0
    """
    if value is None:
        return None
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not real or not (0.0 < value < math.inf):  # type: ignore[operator]
        shown = value if real else quoted(value)
        raise InvalidOptionError(
            "time_limit",
            f"{function}(): time_limit must be None or a positive number of seconds, got {shown}",
        )
    return float(value)  # type: ignore[arg-type]
