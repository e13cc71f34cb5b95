"""lrsnash, the gold standard for all equilibria of a bimatrix game, as a test oracle.

lrsnash (lrslib, Avis et al.; Debian package ``lrslib``) enumerates the extreme equilibria
of a bimatrix game by reverse search over one best-response polyhedron, in exact (GMP)
arithmetic: Avis, Rosenberg, Savani & von Stengel (2010), "Enumeration of Nash equilibria
for two-player games", Economic Theory 42. Its answers are exact fractions, compared with
ours exactly. ``bench/case10.py`` times it with :func:`run`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

__all__ = ["LRSNASH", "ExactProfile", "run"]

#: The lrsnash executable, or None when lrslib is not installed (``apt-get install lrslib``).
LRSNASH = shutil.which("lrsnash")

#: One extreme equilibrium: the row player's mixed strategy, then the column player's.
ExactProfile = tuple[tuple[Fraction, ...], tuple[Fraction, ...]]


def run(
    a: Sequence[Sequence[int]], b: Sequence[Sequence[int]], timeout: float
) -> tuple[float, list[ExactProfile] | None]:
    """lrsnash on the integer bimatrix game (a, b): its wall time and its extreme equilibria.

    The equilibria are None when lrsnash ran past ``timeout`` seconds (it is killed).
    lrsnash prints blocks: lines ``2 y_1 .. y_n v`` then lines ``1 x_1 .. x_m u``; every
    ``x`` of a block pairs with every ``y`` of it (in a degenerate game a block is a
    product of vertex sets), and each pair (x, y) is an extreme equilibrium.
    """
    if LRSNASH is None:
        raise RuntimeError("lrsnash is not installed (apt-get install lrslib)")
    m, n = len(a), len(a[0])
    text = f"{m} {n}\n\n" + "\n".join(" ".join(str(int(v)) for v in row) for row in a)
    text += "\n\n" + "\n".join(" ".join(str(int(v)) for v in row) for row in b) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "game.txt"
        path.write_text(text, encoding="ascii")
        start = time.perf_counter()
        try:
            out = subprocess.run(
                [LRSNASH, str(path)], capture_output=True, text=True, timeout=timeout, check=True
            ).stdout
        except subprocess.TimeoutExpired:
            return time.perf_counter() - start, None
        seconds = time.perf_counter() - start
    found: list[ExactProfile] = []
    ys: list[tuple[Fraction, ...]] = []
    after_x = False
    for line in out.splitlines():
        parts = line.split()
        if not parts or parts[0] not in ("1", "2"):
            continue
        values = tuple(Fraction(p) for p in parts[1:-1])
        if parts[0] == "2":
            if len(values) != n:
                raise ValueError(f"lrsnash: a column strategy of {len(values)} entries, not {n}: {line!r}")
            if after_x:  # a new block
                ys, after_x = [], False
            ys.append(values)
        else:
            if not ys or len(values) != m:
                raise ValueError(f"lrsnash: a row strategy out of place: {line!r}")
            found += [(values, y) for y in ys]
            after_x = True
    return seconds, found
