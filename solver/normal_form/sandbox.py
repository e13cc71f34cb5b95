"""A process sandbox for foreign solver code: each run in a forked child, killed past a time limit.

pygambit's methods have no time-based stopping rule, some of their paths never end, and
their C++ code can abort the whole process. :func:`run_isolated` guards against all three:
the call runs in a forked child that is killed past its time limit, whose crash becomes
a :class:`SandboxFailure` here, and that the kernel kills when its parent dies (Linux
``prctl(PR_SET_PDEATHSIG)``), so a solve whose worker is killed leaves no run behind.
Where fork is missing (Windows) or fails, the call runs inline, unprotected.

Examples
--------
>>> from equilibria.solver.normal_form.sandbox import run_isolated
>>> run_isolated(lambda: [1, 2, 3], 10.0)
[1, 2, 3]
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["SandboxFailure", "SandboxTimeout", "run_isolated"]

T = TypeVar("T")

#: ``prctl`` option: the signal a child receives when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


class SandboxTimeout(Exception):
    """A guarded run overran its time limit (its process was killed)."""


class SandboxFailure(Exception):
    """A guarded run raised, or its process died; the message says which."""


def run_isolated(thunk: Callable[[], T], limit: float | None) -> T:
    """Run ``thunk`` in a forked child, killed past ``limit`` seconds (inline where fork is missing).

    Parameters
    ----------
    thunk : callable
        Takes no argument; its return value must pickle (it comes back through a pipe).
    limit : float or None
        Seconds to wait for the answer (None: no limit).

    Returns
    -------
    object
        What ``thunk`` returned.

    Raises
    ------
    SandboxTimeout
        If no answer came within ``limit`` seconds.
    SandboxFailure
        If ``thunk`` raised (the message is ``"<type>: <message>"``) or its process died.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return _inline(thunk)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, thunk, os.getpid()), daemon=True)
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns that fork() in a multi-threaded process may deadlock; the
            # child only runs pygambit's C++ code and sends its answer back.
            warnings.simplefilter("ignore", DeprecationWarning)
            process.start()
    except OSError:  # cannot fork (process limits): run here, unprotected
        receiver.close()
        sender.close()
        return _inline(thunk)
    sender.close()
    died = False
    try:
        if not receiver.poll(limit):
            raise SandboxTimeout()
        try:
            status, payload = receiver.recv()
        except EOFError:
            died = True
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    if died:
        raise SandboxFailure(f"the process running it died (exit code {process.exitcode})")
    if status != "ok":
        raise SandboxFailure(payload)
    return payload  # type: ignore[no-any-return]


def _inline(thunk: Callable[[], T]) -> T:
    try:
        return thunk()
    except Exception as exc:  # pygambit rejects some inputs (e.g. a degenerate perturbation)
        raise SandboxFailure(f"{type(exc).__name__}: {exc}") from exc


def _child(conn: Any, thunk: Callable[[], Any], parent: int) -> None:
    _die_with_parent(parent)
    try:
        conn.send(("ok", thunk()))
    except Exception as exc:  # reported to the parent, which raises SandboxFailure
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this child when its parent dies (Linux), so no run is orphaned.

    A solve whose worker process is killed (the service's deadline) must not leave an
    endless ``enumpoly`` behind.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # pragma: no cover - no usable libc
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
