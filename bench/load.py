"""Hostile load on a real server (issue 19): kills that free their worker, fair admission.

Run on demand (minutes; a loopback server with 2 workers, started and stopped here)::

    python -m bench.load [--scenario NAME ...]

Scenarios and their targets:

``timeout``
    A correlated equilibrium of a 60 x 60 game (inside HiGHS at 2 s) with a 2 s budget:
    the answer arrives within 0.5 s of the budget, its worker is gone by then, and a
    small solve sent meanwhile to the other worker is answered at once.
``timeouts``
    Ten such solves with 2 s budgets on 2 workers, sent together to a fresh server and
    no cheap work beside them: about 10 s in all (five rounds).
``mix``
    40 slow solves (correlated 60 x 60, budget 5 s) and 160 small ones (Nash and pure
    Nash equilibria of random 3 x 3 games: about a millisecond each) from 200 concurrent
    calls with 60 s deadlines, on a server that has answered a few calls before: at least 95 % of the small calls answered within 1 s; the slow ones
    answered, timed out or refused at once with "server busy ... retry after".
``shutdown``
    SIGTERM with ``--grace 8`` while both workers run slow solves: the server exits
    within the grace (plus a second).

Prints one line per measurement with the target beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

import grpc
import numpy as np
from equilibria.client import AsyncClient, Client, EquilibriaError

__all__ = ["main"]

SLOW = np.random.default_rng(60).standard_normal((2, 60, 60))
MEDIUM = [np.random.default_rng(100 + k).standard_normal((2, 60, 60)) for k in range(40)]
SMALL = [np.random.default_rng(1000 + k).standard_normal((2, 3, 3)) for k in range(164)]
_LISTENING = re.compile(r"listening on (\S+)")


class Server:
    """``equilibria serve`` on 127.0.0.1, port 0."""

    def __init__(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "equilibria.service.cli", "serve", "--address", "127.0.0.1:0", *args]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.process.stdout is not None
        self.target = ""
        for line in self.process.stdout:
            match = _LISTENING.search(line)
            if match:
                self.target = match.group(1)
                break
        if not self.target:
            raise RuntimeError("the server did not start")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def stop(self) -> float:
        """SIGTERM; seconds until the process exited."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        return time.monotonic() - started

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _line(name: str, value: str, target: str) -> None:
    print(f"{name:<58} {value:>14}   target {target}", flush=True)


def scenario_timeout() -> None:
    with Server("--workers", "2") as srv, Client.connect(srv.target, timeout=60) as client:
        _warm(srv.target)
        small_latency: list[float] = []

        def small_meanwhile() -> None:
            time.sleep(0.5)
            started = time.monotonic()
            client.solve(SMALL[1], concepts=["nash"])
            small_latency.append(time.monotonic() - started)

        helper = threading.Thread(target=small_meanwhile)
        helper.start()
        started = time.monotonic()
        try:
            client.solve(SLOW, concepts=["correlated"], time_budget=2.0)
        except EquilibriaError as exc:
            code = exc.code
        answered = time.monotonic() - started
        helper.join()
        # the next small solve right after the kill
        started = time.monotonic()
        client.solve(SMALL[2], concepts=["nash"])
        after = time.monotonic() - started
        srv.stop()
    _line(f"2 s budget answered after ({code})", f"{answered:.2f} s", "<= 2.5 s")
    _line("small solve on the other worker meanwhile", f"{small_latency[0] * 1e3:.0f} ms", "< 100 ms")
    _line("small solve right after the kill", f"{after * 1e3:.0f} ms", "< 500 ms")


def scenario_timeouts() -> None:
    with Server("--workers", "2") as srv:

        async def run() -> list[str]:
            async with AsyncClient.connect(srv.target, timeout=120) as client:

                async def one(k: int) -> str:
                    try:
                        await client.solve(SLOW * (1 + k), concepts=["correlated"], time_budget=2.0)
                    except EquilibriaError as exc:
                        return exc.code
                    return "OK"

                return await asyncio.gather(*(one(k) for k in range(10)))

        started = time.monotonic()
        codes = asyncio.run(run())
        elapsed = time.monotonic() - started
        srv.stop()
    _line(
        f"10 solves with 2 s budgets on 2 workers ({codes.count('DEADLINE_EXCEEDED')} timed out)",
        f"{elapsed:.1f} s",
        "about 10 s",
    )


@dataclasses.dataclass
class _Tally:
    small: list[float] = dataclasses.field(default_factory=list)
    small_failed: list[str] = dataclasses.field(default_factory=list)
    slow: dict[str, int] = dataclasses.field(default_factory=dict)
    messages: set[str] = dataclasses.field(default_factory=set)


def scenario_mix() -> None:
    with Server("--workers", "2") as srv:
        _warm(srv.target)
        tally = _Tally()

        async def run() -> None:
            channels = [AsyncClient.connect(srv.target, timeout=60) for _ in range(8)]
            clients = [await c.__aenter__() for c in channels]

            async def slow(k: int) -> None:
                try:
                    await clients[k % 8].solve(MEDIUM[k], concepts=["correlated"], time_budget=5.0)
                    code = "OK"
                except EquilibriaError as exc:
                    code = exc.code
                    tally.messages.add(re.sub(r"[\d.]+", "N", exc.message))
                tally.slow[code] = tally.slow.get(code, 0) + 1

            async def small(k: int) -> None:
                started = time.monotonic()
                try:
                    await clients[k % 8].solve(SMALL[k], concepts=["nash", "pure_nash"])
                except EquilibriaError as exc:
                    tally.small_failed.append(exc.code)
                    return
                tally.small.append(time.monotonic() - started)

            order = np.random.default_rng(0).permutation(200)
            await asyncio.gather(*(slow(int(k)) if k < 40 else small(int(k) - 40) for k in order))
            for channel in channels:
                await channel.__aexit__(None, None, None)

        started = time.monotonic()
        asyncio.run(run())
        elapsed = time.monotonic() - started
        srv.stop()
    within = sum(t <= 1.0 for t in tally.small) / 160
    p50, p95 = np.percentile(tally.small, [50, 95]) if tally.small else (float("nan"),) * 2
    _line("small calls answered within 1 s", f"{100 * within:.1f} %", ">= 95 %")
    _line("small calls: p50 / p95 latency", f"{p50 * 1e3:.0f}/{p95 * 1e3:.0f} ms", "")
    _line("small calls failed", f"{len(tally.small_failed)}", "0")
    _line(f"slow calls: {tally.slow}", f"{elapsed:.1f} s", "none lost")
    for message in sorted(tally.messages):
        print(f"    {message}")


def scenario_shutdown() -> None:
    with Server("--workers", "2", "--grace", "8") as srv:
        client = Client.connect(srv.target, timeout=120)
        _warm(srv.target)
        callers = [
            threading.Thread(target=_swallow, args=(client, SLOW * (1 + k)), daemon=True) for k in range(2)
        ]
        for caller in callers:
            caller.start()
        time.sleep(2.0)
        seconds = srv.stop()
    _line("SIGTERM with --grace 8, both workers busy: exit after", f"{seconds:.1f} s", "<= 9 s")


def _warm(target: str) -> None:
    """Both workers started and have solved something: a server in use, not one booting."""

    async def run() -> None:
        async with AsyncClient.connect(target, timeout=120) as client:
            await asyncio.gather(*(client.solve(g, concepts=["nash"]) for g in SMALL[-4:]))

    asyncio.run(run())
    time.sleep(1.0)


def _swallow(client: Client, payoffs: np.ndarray) -> None:
    with contextlib.suppress(EquilibriaError, grpc.RpcError, ValueError):
        client.solve(payoffs, concepts=["correlated"])


SCENARIOS = {
    "timeout": scenario_timeout,
    "timeouts": scenario_timeouts,
    "mix": scenario_mix,
    "shutdown": scenario_shutdown,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: all")
    args = parser.parse_args(argv)
    print(
        f"bench.load: {os.cpu_count()} CPUs; equilibria from {sys.modules['equilibria.client'].__path__[0]}"
    )
    for name in args.scenario or SCENARIOS:
        SCENARIOS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
