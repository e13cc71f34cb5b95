"""Seeded game generators of the benchmark.

Every generator returns a payoff tensor of shape ``(n_players, a_1, ..., a_n)``
(float64), the layout of :class:`equilibria.solver.NormalFormGame`, so the same array
feeds the project and every anchor library. Each family is seeded from its name and
size, so a run is reproducible and independent of the order in which cases run.

Families
--------
``random_integer``   i.i.d. integers in ``[-10, 10]`` (often degenerate: ties)
``standard_normal``  i.i.d. N(0, 1) rounded to 3 decimals (generic, and the rounding
                     lets an exact-arithmetic reference run on the x1000 integer game)
``identity``         ``A = B = I_n``: ``2**n - 1`` equilibria, worst case for enumeration
``degenerate``       i.i.d. integers in ``{0, 1, 2}``: many ties and continua
``zero_sum``         ``A ~ N(0, 1)``, ``B = -A``
``morris``           the imitation game ``(I, B)`` of Morris's labelled dual cyclic
                     polytope: every Lemke-Howson path is exponentially long
``sgc``, ``tournament``, ``unit_vector``  QuantEcon's hard bimatrix generators
``nplayer_normal``   i.i.d. N(0, 1) n-player games

References
----------
.. [1] R. Savani and B. von Stengel, "Hard-to-solve bimatrix games", Econometrica 74(2),
   397-429, 2006.
.. [2] R. Savani and B. von Stengel, "Unit vector games", International Journal of
   Economic Theory 12, 7-27, 2016.
.. [3] W. D. Morris Jr., "Lemke paths on simple polytopes", Mathematics of Operations
   Research 19(4), 780-789, 1994.
.. [4] T. Sandholm, A. Gilpin and V. Conitzer, "Mixed-integer programming methods for
   finding Nash equilibria", AAAI 2005 (the SGC game).
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

__all__ = [
    "seed_for",
    "random_integer",
    "standard_normal",
    "identity",
    "degenerate",
    "zero_sum",
    "morris_labels",
    "morris",
    "sgc",
    "tournament",
    "unit_vector",
    "nplayer_normal",
    "BIMATRIX_FAMILIES",
]

FloatArray = npt.NDArray[np.float64]


def seed_for(*parts: object) -> int:
    """A stable 32-bit seed from a family name and size (independent of run order)."""
    return zlib.crc32(repr(parts).encode())


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(seed_for(*parts))


def random_integer(n: int, seed: int = 0) -> FloatArray:
    """Row and column payoffs i.i.d. uniform integers in [-10, 10]."""
    rng = _rng("random_integer", n, seed)
    return rng.integers(-10, 11, size=(2, n, n)).astype(np.float64)


def standard_normal(n: int, seed: int = 0) -> FloatArray:
    """Row and column payoffs i.i.d. N(0, 1), rounded to 3 decimals."""
    rng = _rng("standard_normal", n, seed)
    return np.round(rng.standard_normal((2, n, n)), 3)


def identity(n: int, seed: int = 0) -> FloatArray:
    """The coordination game ``A = B = I_n``; its extreme equilibria are the 2**n - 1
    uniform strategies on equal nonempty supports."""
    eye = np.eye(n)
    return np.stack([eye, eye])


def degenerate(n: int, seed: int = 0) -> FloatArray:
    """Payoffs i.i.d. uniform in {0, 1, 2}: heavily degenerate (ties, continua)."""
    rng = _rng("degenerate", n, seed)
    return rng.integers(0, 3, size=(2, n, n)).astype(np.float64)


def zero_sum(n: int, seed: int = 0) -> FloatArray:
    """``A`` i.i.d. N(0, 1) and ``B = -A``."""
    rng = _rng("zero_sum", n, seed)
    a = rng.standard_normal((n, n))
    return np.stack([a, -a])


def morris_labels(d: int) -> npt.NDArray[np.intp]:
    """Morris's labelling of the 2d facets of the dual cyclic polytope (0-based labels).

    Facets ``0..d-1`` carry labels ``0..d-1``; facets ``d..2d-1`` carry
    ``d-1, d-3, d-2, d-5, d-4, ..., 1, 2, 0``. With it every Lemke path from the vertex
    ``1^d 0^d`` (in Gale-string notation) is exponentially long in ``d`` [3].
    """
    if d < 4 or d % 2:
        raise ValueError(f"morris_labels(): d must be even and >= 4, got {d}")
    second = [d - 1]
    for a in range(d - 3, 0, -2):
        second += [a, a + 1]
    second.append(0)
    return np.array([*range(d), *second], dtype=np.intp)


def morris(d: int, seed: int = 0) -> FloatArray:
    """The d x d imitation game ``(I, B)`` of Morris's labelled dual cyclic polytope.

    ``P = {x >= 0 : B^T x <= 1}`` is the polar of the cyclic polytope on 2d points of
    the trigonometric moment curve ``(cos t, sin t, ..., cos(d/2 t), sin(d/2 t))`` at
    equally spaced ``t`` (a cyclic polytope for even d), moved by an affine map so that
    the vertex on facets ``0..d-1`` is the origin, with facet ``d + k`` becoming the
    best-response facet of column ``morris_labels(d)[d + k]``. In the imitation game the
    equilibria are the completely labelled vertices of ``P`` and Lemke-Howson follows
    Lemke paths on ``P`` (McLennan and Tourky), so its paths are exponentially long:
    2 x (Gale-string steps), e.g. 80 pivots at d = 8, 476 at d = 12, 2784 at d = 16
    from the first label. This is the simplified Savani-von Stengel construction of
    [2] (Section on Morris's construction); [1] builds square games from two dual cyclic
    polytopes instead. Floating point limits it to d <= 16: the constraint matrix has
    condition number ~10**(d/2.2) and paths deviate from d = 16 on.
    """
    labels = morris_labels(d)
    theta = np.pi * np.arange(2 * d) / d
    harmonics = np.arange(1, d // 2 + 1)
    points = np.empty((2 * d, d))
    points[:, 0::2] = np.cos(np.outer(theta, harmonics))
    points[:, 1::2] = np.sin(np.outer(theta, harmonics))
    inverse = np.linalg.inv(points[:d])  # z = inverse @ (1 - x): x = slacks of facets 0..d-1
    w = points[d:] @ inverse  # facet k >= d: -w_k . x <= 1 - sum(w_k)
    rhs = 1.0 - w.sum(axis=1)
    b = np.empty((d, d))
    b[:, labels[d:]] = (-w / rhs[:, None]).T
    return np.stack([np.eye(d), b])


def _quantecon_game(game: object) -> FloatArray:
    players = game.players  # type: ignore[attr-defined]
    return np.stack([players[0].payoff_array, players[1].payoff_array.T]).astype(np.float64)


def sgc(k: int, seed: int = 0) -> FloatArray:
    """QuantEcon's SGC game (size ``4k - 1``): unique equilibrium with half supports [4]."""
    from quantecon.game_theory.game_generators import sgc_game

    return _quantecon_game(sgc_game(k))


def tournament(n: int, seed: int = 0, k: int = 2) -> FloatArray:
    """QuantEcon's tournament game on n nodes (``n x C(n, k)``)."""
    from quantecon.game_theory.game_generators import tournament_game

    return _quantecon_game(tournament_game(n, k, random_state=seed_for("tournament", n, seed)))


def unit_vector(n: int, seed: int = 0) -> FloatArray:
    """QuantEcon's unit vector game, n x n, without pure equilibria [2]."""
    from quantecon.game_theory.game_generators import unit_vector_game

    return _quantecon_game(
        unit_vector_game(n, avoid_pure_nash=True, random_state=seed_for("unit_vector", n, seed))
    )


def nplayer_normal(n_players: int, n_actions: int, seed: int = 0) -> FloatArray:
    """An n-player game with i.i.d. N(0, 1) payoffs rounded to 3 decimals."""
    rng = _rng("nplayer_normal", n_players, n_actions, seed)
    return np.round(rng.standard_normal((n_players,) + (n_actions,) * n_players), 3)


BIMATRIX_FAMILIES = {
    "random_integer": random_integer,
    "standard_normal": standard_normal,
    "identity": identity,
    "degenerate": degenerate,
    "zero_sum": zero_sum,
    "morris": morris,
    "sgc": sgc,
    "tournament": tournament,
    "unit_vector": unit_vector,
}
