"""Smoke test of a wheel installed WITHOUT extras (``pip install equilibria-*.whl``): .ci/run's step 3.

Starts ``equilibria serve`` on 127.0.0.1 port 0 from the installation running this script,
solves a 3-player game (pygambit's methods: a runtime dependency, not a test extra) and a
2-player one through the client, checks the answers against known ones and stops the
server. Exits non-zero with the reason on any failure. Not collected by pytest (its name):
the test suite runs with the ``test`` extra, which would hide a dependency missing from the
plain install.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

import numpy as np
from equilibria.client import Client


def coordination3() -> np.ndarray:
    """Three players, two actions, everyone paid 1 when all three match: 2 pure equilibria and
    the uniform mixed one."""
    same = np.zeros((2, 2, 2))
    for a in itertools.product(range(2), repeat=3):
        same[a] = float(a[0] == a[1] == a[2])
    return np.stack([same, same, same])


def main() -> int:
    cmd = [
        sys.executable,
        "-m",
        "equilibria.service.cli",
        "serve",
        "--address",
        "127.0.0.1:0",
        "--workers",
        "1",
    ]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert server.stdout is not None
    target, seen = "", []
    for line in server.stdout:
        seen.append(line)
        match = re.search(r"listening on (\S+)", line)
        if match:
            target = match.group(1)
            break
    if not target:
        server.wait(timeout=30)
        sys.exit("the server did not start:\n" + "".join(seen))
    try:
        with Client.connect(target, timeout=120) as client:
            three = client.solve(coordination3(), concepts=["nash"])
            found = sorted(tuple(np.round(eq.strategies[0], 9)) for eq in three.equilibria)
            assert found == [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)], (found, three.method)
            assert all(eq.nash_conv <= 1e-6 for eq in three.equilibria), three
            assert three.method.startswith("gambit"), three.method
            pennies = client.solve(([[1, -1], [-1, 1]], [[-1, 1], [1, -1]]), concepts=["nash"], exact=True)
            assert [[str(p) for p in s] for s in pennies.equilibria[0].exact_strategies] == [
                ["1/2", "1/2"],
                ["1/2", "1/2"],
            ], pennies
            assert pennies.complete
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(
        f"plain install: 3-player solve by {three.method}, {len(three.equilibria)} equilibria; 2-player exact: ok"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
