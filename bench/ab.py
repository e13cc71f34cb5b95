"""A/B timing of the calls of cases 1 and 2: run it in two checkouts, one after the other.

The quick tables of ``bench.run`` swing by tens of percent between runs on a shared
machine; comparing two versions of the code needs the same calls timed the same way in
each. This times ``solve(game)`` on case 1's games and ``lemke_howson(game)`` on case 2's
small ones, each as the best of 7 batches (``timeit``), and prints one line per call::

    python -m bench.ab > new.txt            # in this checkout
    (cd ../old && python -m bench.ab > old.txt)
    python -m bench.ab --compare old.txt new.txt

Run the two (or, better, alternate them twice and keep each call's minimum) with nothing
else running.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable

import numpy as np
from equilibria.solver import NormalFormGame, solve
from equilibria.solver.normal_form.lemke_howson import lemke_howson

from bench import games as bg

__all__ = ["calls", "main"]

_CASE1 = [
    (family, n) for family in ("random_integer", "standard_normal", "identity", "degenerate") for n in (4, 8)
]
_CASE2 = [
    ("standard_normal", 50),
    ("morris", 4),
    ("morris", 6),
    ("sgc", 4),
    ("sgc", 8),
    ("unit_vector", 50),
    ("tournament", 10),
]


def _game(payoffs: object) -> NormalFormGame:
    array = np.asarray(payoffs)
    return NormalFormGame(array) if array.ndim == 3 else NormalFormGame.from_bimatrix(*array)


def calls() -> list[tuple[str, Callable[[], object], int]]:
    """``(name, call, batch size)`` for every timed call."""
    out: list[tuple[str, Callable[[], object], int]] = []
    for family, n in _CASE1:
        game = _game(getattr(bg, family)(n))
        out.append((f"case1 {family} {n}x{n} solve", lambda g=game: solve(g), 20 if n == 8 else 100))
    for family, n in _CASE2:
        game = _game(getattr(bg, family)(n))
        name = f"case2 {family}({n}) {game.num_actions[0]}x{game.num_actions[1]} lemke_howson"
        out.append((name, lambda g=game: lemke_howson(g), 200))
    return out


def _read(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as handle:
        return dict(line.rsplit("\t", 1) for line in handle.read().splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="print new/old per call")
    args = parser.parse_args(argv)
    if args.compare:
        old, new = (_read(path) for path in args.compare)
        for name, value in new.items():
            if name in old:
                print(
                    f"{name:48s} {float(old[name]):10.1f} us {float(value):10.1f} us  {float(value) / float(old[name]):.3f}"
                )
        return 0
    for name, call, batch in calls():
        call()  # warm: numba kernels, caches
        best = min(timeit.repeat(call, number=batch, repeat=7)) / batch
        print(f"{name}\t{best * 1e6:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
