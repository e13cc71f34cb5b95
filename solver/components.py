"""Maximal Nash subsets as maximal bicliques.

In a 2-player game, extreme equilibria ``(x_i, y_j)`` form a bipartite graph. A set
``conv(X) x conv(Y)`` is a set of equilibria exactly when every ``(x, y)`` in ``X x Y``
is an extreme equilibrium (a biclique), and the maximal such sets are the **maximal
Nash subsets** whose union is the whole equilibrium set (Avis et al. 2010, sec. 4).

The maximal bicliques are the formal concepts of the graph: the column sides are the
non-empty intersections of neighbourhoods ``N(x)``, closed under intersection. They
are computed by closing the family of neighbourhoods under pairwise intersection,
which is linear in the number of bicliques times the number of rows.

Examples
--------
>>> maximal_bicliques([(0, 0), (0, 1), (1, 1)])
[((0,), (0, 1)), ((0, 1), (1,))]

References
----------
.. [1] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37.
.. [2] B. Ganter and R. Wille, "Formal Concept Analysis", Springer (1999).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["maximal_bicliques"]


def maximal_bicliques(edges: Iterable[tuple[int, int]]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """All maximal bicliques of a bipartite graph given by its edges.

    Parameters
    ----------
    edges : iterable of (int, int)
        Pairs ``(row, column)``.

    Returns
    -------
    list of (tuple of int, tuple of int)
        ``(rows, columns)`` of every maximal biclique with both sides non-empty, sorted.
    """
    neighbours: dict[int, set[int]] = {}
    for i, j in edges:
        neighbours.setdefault(i, set()).add(j)
    generators = {frozenset(cols) for cols in neighbours.values()}
    intents: set[frozenset[int]] = set(generators)
    frontier = list(intents)
    while frontier:
        new: list[frozenset[int]] = []
        for intent in frontier:
            for gen in generators:
                meet = intent & gen
                if meet and meet not in intents:
                    intents.add(meet)
                    new.append(meet)
        frontier = new
    result = []
    for intent in intents:
        rows = tuple(sorted(i for i, cols in neighbours.items() if intent <= cols))
        result.append((rows, tuple(sorted(intent))))
    return sorted(result)
