"""A script that calls ``solve_many`` at its top level fails loudly, once (issue 20, item 7).

Each worker process imports the script again (multiprocessing's forkserver prepares its
children from the main module), so an unguarded call would start pools inside the workers.
The script exits non-zero with one message saying to guard the call, whatever the number of
games, instead of exiting 0 with an error per game and a traceback per worker; the same
script with the guard solves every game.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from equilibria.service.pool import MAX_BROKEN_POOLS

pytestmark = pytest.mark.e2e

BODY = """
import numpy as np
from equilibria.service.batch import solve_many

games = [np.random.default_rng(k).integers(0, 9, size=(2, 3, 3)).astype(float) for k in range(60)]
"""


def _run(tmp_path, source: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )


def test_an_unguarded_script_fails_loudly_once(tmp_path) -> None:
    done = _run(tmp_path, BODY + "results = solve_many(games, num_cpus=2)\nprint('solved', len(results))\n")
    assert done.returncode == 1
    assert "solved" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: solve_many(): worker processes die before they take a task")
    assert 'if __name__ == "__main__":' in last
    # One traceback per worker start of the MAX_BROKEN_POOLS pools (2 workers each), the
    # forkserver probe's (one process, before the first pool's workers) and the script's own:
    # not one per game.
    assert done.stderr.count("Traceback (most recent call last)") <= 2 * MAX_BROKEN_POOLS + 2


def test_the_guarded_script_solves_every_game(tmp_path) -> None:
    done = _run(
        tmp_path,
        BODY
        + "if __name__ == '__main__':\n"
        + "    results = solve_many(games, num_cpus=2)\n"
        + "    print('solved', sum(r.ok for r in results))\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "solved 60"
