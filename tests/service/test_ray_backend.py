"""The Ray backend: one loopback-only local Ray (2 CPUs) shared by this module.

Answers are compared with the in-process solver (``equilibria.solver.solve``), never
with themselves; a task past its limit is force-cancelled while the rest finish; a dead
worker fails its item only; and every socket Ray listens on is on loopback.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import time
from collections.abc import Iterator

import numpy as np
import pytest
from equilibria.service import batch, ray_backend
from equilibria.service.errors import RequestError
from equilibria.service.options import SolveOptions
from equilibria.solver import NormalFormGame, solve

from ..games import assert_same_solution

pytestmark = pytest.mark.ray

# The welfare-optimal correlated equilibrium of a 160 x 160 game: minutes of LP.
SLOW_GAME = NormalFormGame(np.random.default_rng(7).standard_normal((2, 160, 160)))
SLOW = SolveOptions(
    concepts=("correlated",), method="auto", tol=1e-9, exact=False, max_equilibria=0, time_budget=1.0
)


def seeded_games(count: int, seed: int = 2026) -> list[np.ndarray]:
    """Random N(0,1) games, alternately 3x3 and 6x6."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((2, 3, 3) if k % 2 == 0 else (2, 6, 6)) for k in range(count)]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    started = ray_backend.init_ray("local", num_cpus=2)
    assert started, "Ray was already running in the test process"
    try:
        yield
    finally:
        ray_backend.shutdown_ray()


def _listening_inodes(path: str) -> dict[str, str]:
    """inode -> local address (hex, as in /proc/net/tcp*) of the sockets in LISTEN state."""
    inodes = {}
    for line in pathlib.Path(path).read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A":  # TCP_LISTEN
            inodes[fields[9]] = fields[1].rsplit(":", 1)[0]
    return inodes


LOOPBACK_HEX = {
    "0100007F",  # 127.0.0.1 in /proc/net/tcp
    "00000000000000000000000001000000",  # ::1 in /proc/net/tcp6
    "0000000000000000FFFF00000100007F",  # ::ffff:127.0.0.1 (an IPv4-mapped bind)
}


def _process_tree(root: int) -> set[int]:
    """``root`` and every process descended from it (Ray's GCS, raylet, workers, agents)."""
    parents: dict[int, int] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, grew = {root}, True
    while grew:
        new = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= new
        grew = bool(new)
    return tree


def test_local_ray_binds_loopback_only(local_ray: None) -> None:
    import ray

    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    ray.get(ray_backend._remote().remote(os.getpid))  # a worker is up and listening
    listening = {**_listening_inodes("/proc/net/tcp"), **_listening_inodes("/proc/net/tcp6")}
    owned: dict[int, list[str]] = {}
    for pid in _process_tree(os.getpid()):
        try:
            links = [os.readlink(fd) for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and link[8:-1] in listening:
                owned.setdefault(pid, []).append(listening[link[8:-1]])
    commands = {pid: pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] for pid in owned}
    assert any(b"gcs_server" in c for c in commands.values()), commands
    assert any(b"raylet" in c for c in commands.values()), commands
    outside = {pid: addrs for pid, addrs in owned.items() if set(addrs) - LOOPBACK_HEX}
    assert not outside, {pid: (commands[pid], addrs) for pid, addrs in outside.items()}


def test_ray_batch_matches_the_in_process_solver(local_ray: None) -> None:
    games = seeded_games(200)
    results = batch.solve_many(games, backend="ray")
    assert [r.index for r in results] == list(range(200))
    for game, item in zip(games, results, strict=True):
        assert item.ok, item.error
        assert_same_solution(item.result, solve(NormalFormGame(game)))


def test_task_over_its_limit_is_cancelled_while_the_rest_finish(local_ray: None) -> None:
    games = [*seeded_games(6, seed=5), SLOW_GAME, *seeded_games(3, seed=6)]
    options = [batch.DEFAULT_OPTIONS] * len(games)
    options[6] = SLOW
    start = time.perf_counter()
    results = batch.solve_many(games, options, backend="ray")
    assert time.perf_counter() - start < 30
    slow = results[6]
    assert slow.result is None and slow.error is not None
    assert slow.error.code.name == "DEADLINE_EXCEEDED"
    for k, item in enumerate(results):
        if k != 6:
            assert_same_solution(item.result, solve(NormalFormGame(games[k])))


def test_dead_worker_fails_its_task_only(local_ray: None) -> None:
    runner = ray_backend.RayRunner()

    async def run() -> tuple[BaseException | int, ...]:
        return tuple(
            await asyncio.gather(
                runner.run(os._exit, 3, timeout=60),
                runner.run(abs, -4, timeout=60),
                return_exceptions=True,
            )
        )

    died, fine = asyncio.run(run())
    assert isinstance(died, RequestError) and died.code.name == "INTERNAL"
    assert fine == 4
    assert asyncio.run(runner.run(abs, -5, timeout=60)) == 5


def test_invalid_game_is_reported_by_field(local_ray: None) -> None:
    games = [*seeded_games(2), [[[1.0, np.nan], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]]]
    results = batch.solve_many(games, backend="ray")
    assert results[0].ok and results[1].ok
    assert results[2].error is not None and results[2].error.code.name == "INVALID_ARGUMENT"
    assert results[2].error.field == "games[2].payoffs"
