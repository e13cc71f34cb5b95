"""Run a method in a child process so that a slow call can be stopped at a time cap.

The parent (:class:`Worker`) sends ``(method name, payoffs, budget, max_repeats)``; the
child (``python -m bench.worker``) prepares the input, reports ``prepared``, reports
each run's seconds, and finally the :class:`~bench.timing.Timing` and
:class:`~bench.methods.Outcome`. If a single run takes longer than ``cap`` seconds the
parent kills the child (by its pid) and records a time-out; the next job starts a fresh
child. Timings are measured inside the child, so process start-up and imports are not
counted. Messages are length-prefixed pickles on the child's stdin/stdout.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import time
from typing import Any, BinaryIO

from bench.methods import Outcome, get
from bench.timing import Timing, measure

__all__ = ["Worker", "WorkerResult"]

_HEADER = struct.Struct("!I")
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _recv_blocking(stream: BinaryIO) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


class WorkerResult:
    """Timing, outcome and error text of one job (``outcome`` is None on time-out or error)."""

    def __init__(self, timing: Timing, outcome: Outcome | None, error: str = "") -> None:
        self.timing = timing
        self.outcome = outcome
        self.error = error


class Worker:
    """A reusable child process that runs jobs with a per-run time cap."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = _REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_REPO_ROOT,
            env=env,
        )
        self._proc, self._buffer = proc, b""
        message = self._recv(time.monotonic() + 120.0)
        if message != ("ready",):
            self.kill()
            raise RuntimeError(f"bench.worker did not start: {message!r}")
        return proc

    def _read_exact(self, size: int, deadline: float) -> bytes | None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while len(self._buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EOFError("bench.worker exited")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _recv(self, deadline: float) -> Any:
        header = self._read_exact(_HEADER.size, deadline)
        if header is None:
            return None
        (size,) = _HEADER.unpack(header)
        body = self._read_exact(size, deadline + 60.0)  # the body follows its header at once
        return None if body is None else pickle.loads(body)

    def run(
        self, method: str, payoffs: Any, *, budget: float, cap: float, max_repeats: int = 25
    ) -> WorkerResult:
        """Time ``method`` on ``payoffs`` in the child; stop it if one run exceeds ``cap``."""
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        assert proc.stdin is not None
        _send(proc.stdin, (method, payoffs, budget, max_repeats))
        runs: list[float] = []
        deadline = time.monotonic() + max(cap, 60.0)  # preparing (imports, conversion)
        try:
            while True:
                message = self._recv(deadline)
                if message is None:
                    self.kill()
                    first = runs[0] if runs else float("nan")
                    return WorkerResult(
                        Timing(samples=tuple(runs[1:]), first=first, timed_out=True, cap=cap), None
                    )
                kind = message[0]
                if kind == "prepared":
                    deadline = time.monotonic() + cap
                elif kind == "run":
                    runs.append(message[1])
                    deadline = time.monotonic() + cap
                elif kind == "done":
                    return WorkerResult(message[1], message[2])
                else:  # "error"
                    return WorkerResult(Timing(), None, message[1])
        except EOFError as exc:
            self.kill()
            return WorkerResult(Timing(), None, f"worker died: {exc}")

    def kill(self) -> None:
        """Stop the child process (the next job starts a new one)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream is not None:
                    stream.close()
            self._proc = None

    def close(self) -> None:
        """Ask the child to exit, then make sure it has."""
        if self._proc is not None and self._proc.poll() is None and self._proc.stdin is not None:
            try:
                _send(self._proc.stdin, None)
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    """Child loop: serve jobs from stdin until ``None`` or EOF."""
    import warnings

    warnings.simplefilter("ignore")
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints of libraries go to stderr, not into the protocol
    _send(out, ("ready",))
    while True:
        job = _recv_blocking(inp)
        if job is None:
            break
        name, payoffs, budget, max_repeats = job
        try:
            method = get(name)
            state = method.prepare(payoffs)
            _send(out, ("prepared",))
            timing, raw = measure(
                lambda m=method, s=state: m.run(s),
                budget=budget,
                max_repeats=max_repeats,
                on_run=lambda seconds: _send(out, ("run", seconds)),
            )
            _send(out, ("done", timing, method.extract(raw, state)))
        except Exception as exc:  # report, keep serving
            _send(out, ("error", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    main()
