"""Maximal Nash subsets as maximal bicliques.

The **maximal Nash subsets** of a 2-player game (Avis et al. 2010, sec. 4) are the
maximal bicliques of the bipartite graph of its extreme equilibria ``(x_i, y_j)``,
computed as the formal concepts of that graph (Ganter and Wille 1999). See
docs/normal-form.md (section "Maximal Nash subsets").

Examples
--------
>>> maximal_bicliques([(0, 0), (0, 1), (1, 1)])
[((0,), (0, 1)), ((0, 1), (1,))]
>>> maximal_bicliques([(1, 0), (0, 2)])  # a matching: each edge alone
[((0,), (2,)), ((1,), (0,))]

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

    Every biclique lies in one connected component of the graph, so each component is
    closed on its own (an identity game's ``2**n - 1`` isolated edges cost linear time),
    with neighbourhoods as integer bitmasks of columns.

    Parameters
    ----------
    edges : iterable of (int, int)
        Pairs ``(row, column)``.

    Returns
    -------
    list of (tuple of int, tuple of int)
        ``(rows, columns)`` of every maximal biclique with both sides non-empty, sorted.
    """
    pairs = set(edges)
    if len(pairs) == len({i for i, _ in pairs}) == len({j for _, j in pairs}):
        # A matching (no row or column in two edges; generic games, the identity game):
        # every edge is its own component and its own maximal biclique.
        return sorted(((i,), (j,)) for i, j in pairs)
    neighbours: dict[int, int] = {}
    for i, j in pairs:
        neighbours[i] = neighbours.get(i, 0) | (1 << j)
    result = []
    for rows in _connected_rows(neighbours):
        generators = {neighbours[i] for i in rows}
        intents: set[int] = set(generators)
        frontier = list(intents)
        while frontier:
            new: list[int] = []
            for intent in frontier:
                for gen in generators:
                    meet = intent & gen
                    if meet and meet not in intents:
                        intents.add(meet)
                        new.append(meet)
            frontier = new
        for intent in intents:
            covering = tuple(sorted(i for i in rows if neighbours[i] & intent == intent))
            result.append((covering, _bits(intent)))
    return sorted(result)


def _connected_rows(neighbours: dict[int, int]) -> list[list[int]]:
    """The rows of each connected component (rows sharing a column, transitively)."""
    parent: dict[int, int] = {}  # union-find over columns

    def find(j: int) -> int:
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    for mask in neighbours.values():
        cols = _bits(mask)
        for j in cols:
            parent.setdefault(j, j)
        root = find(cols[0])
        for j in cols[1:]:
            parent[find(j)] = root
    groups: dict[int, list[int]] = {}
    for i, mask in neighbours.items():
        groups.setdefault(find((mask & -mask).bit_length() - 1), []).append(i)
    return list(groups.values())


def _bits(mask: int) -> tuple[int, ...]:
    """The positions of the set bits of ``mask``, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return tuple(out)
