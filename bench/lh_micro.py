"""Microbenchmark: our Lemke-Howson against QuantEcon's warm numba ``lemke_howson``.

Both run in this process on the same game with the same first label (0), interleaved
(ours, QuantEcon, ours, ...) so machine load hits both alike; the table shows the
minimum over the repeats, the ratio ours / QuantEcon and both pivot counts. Compile
time is excluded: both are warmed on the game first. The *fresh* columns time a game
solved once, the common case: each call builds its game object first (ours
``NormalFormGame(payoffs)``, QuantEcon's ``NormalFormGame((Player(A), Player(B.T)))``),
issue #21's measure for short paths (target: <= 0.9x).

Run from the repository root (needs the ``bench`` extra)::

    python -m bench.lh_micro                 # every row, ~1 min
    python -m bench.lh_micro --repeats 50    # more repeats
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench import games

#: (label, family, size): every case-2 game (full plan) plus 2x2 and 8x8 for the fixed per-call cost.
ROWS = [
    ("standard_normal 2", "standard_normal", 2),
    ("standard_normal 8", "standard_normal", 8),
    ("standard_normal 50", "standard_normal", 50),
    ("standard_normal 100", "standard_normal", 100),
    ("standard_normal 200", "standard_normal", 200),
    ("standard_normal 400", "standard_normal", 400),
    ("morris 8", "morris", 8),
    ("morris 10", "morris", 10),
    ("morris 12", "morris", 12),
    ("morris 14", "morris", 14),
    ("morris 16", "morris", 16),
    ("sgc 19", "sgc", 5),
    ("sgc 39", "sgc", 10),
    ("sgc 99", "sgc", 25),
    ("tournament 10", "tournament", 10),
    ("tournament 20", "tournament", 20),
    ("unit_vector 50", "unit_vector", 50),
    ("unit_vector 100", "unit_vector", 100),
    ("unit_vector 200", "unit_vector", 200),
]


def _once(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Print one row per game: min time of ours and QuantEcon's, ratio, pivots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="interleaved rounds (default 30)")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per game and method")
    args = parser.parse_args(argv)

    from equilibria.solver import NormalFormGame
    from equilibria.solver.normal_form.lemke_howson import lemke_howson
    from quantecon.game_theory import NormalFormGame as QeGame
    from quantecon.game_theory import Player
    from quantecon.game_theory import lemke_howson as qe_lemke_howson

    print(
        f"{'game':<22}{'ours':>12}{'quantecon':>12}{'ratio':>8}"
        f"{'fresh ours':>13}{'fresh qe':>12}{'ratio':>8}{'pivots ours/qe':>18}  same"
    )
    for label, family, size in ROWS:
        payoffs = games.BIMATRIX_FAMILIES[family](size)
        ours_game = NormalFormGame(payoffs)
        qe_game = QeGame((Player(payoffs[0]), Player(payoffs[1].T)))
        ours = lemke_howson(ours_game)
        qe_ne, qe_res = qe_lemke_howson(qe_game, full_output=True)
        pivots = ours.method_reason.split(", ")[-1].split()[0]
        same = all(
            np.allclose(a, b, atol=1e-9) for a, b in zip(ours.equilibria[0].strategies, qe_ne, strict=True)
        )
        a, b_transposed = payoffs[0], payoffs[1].T
        best_ours = best_qe = fresh_ours = fresh_qe = np.inf
        deadline = time.perf_counter() + 4 * args.budget
        for _ in range(max(1, args.repeats)):
            best_ours = min(best_ours, _once(lambda g=ours_game: lemke_howson(g)))
            best_qe = min(best_qe, _once(lambda g=qe_game: qe_lemke_howson(g)))
            fresh_ours = min(fresh_ours, _once(lambda p=payoffs: lemke_howson(NormalFormGame(p))))
            fresh_qe = min(
                fresh_qe,
                _once(lambda a=a, b=b_transposed: qe_lemke_howson(QeGame((Player(a), Player(b))))),
            )
            if time.perf_counter() > deadline:
                break
        print(
            f"{label:<22}{best_ours * 1e6:>10.1f}us{best_qe * 1e6:>10.1f}us{best_ours / best_qe:>8.2f}"
            f"{fresh_ours * 1e6:>11.1f}us{fresh_qe * 1e6:>10.1f}us{fresh_ours / fresh_qe:>8.2f}"
            f"{pivots + '/' + str(qe_res.num_iter):>18}  {same}"
        )


if __name__ == "__main__":
    main()
