"""The partners of the vertices found, face by face (:mod:`equilibria.solver.normal_form.integer_faces`).

Oracles: the integer search of the whole other polytope (every basis, every label exact;
itself checked against the exact search in Python's integers in ``test_integer_search.py``)
and that exact search (``exact_search.polytope_vertices``) for the partners' points; end to
end, vertex enumeration with the other polytope searched whole, and lrsnash and pygambit in
the oracle tests. The games range from generic to all ties, with duplicated and dominated
actions: faces that are one point, empty, many-dimensional, and faces whose equations are
dependent (a row of the tableau that no variable of the face can enter).
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import NormalFormGame
from equilibria.solver.normal_form import exact_search, integer_faces, integer_search, lexicographic
from equilibria.solver.normal_form import vertex_enumeration as ve
from equilibria.solver.normal_form.bases import Budget
from equilibria.solver.normal_form.labelled_pairs import completely_labelled_pairs
from equilibria.solver.normal_form.labelled_vertices import first_of_each_label_set

from tests import games

_LOW = Fraction(1, 10)


def _global(labels: np.ndarray, d: int, coordinates_first: bool) -> np.ndarray:
    return labels if coordinates_first else np.hstack([labels[:, d:], labels[:, :d]])


def _point(found: integer_search.IntegerBases, k: int) -> tuple[Fraction, ...]:
    det = int(found.determinants[k])
    return tuple(Fraction(int(v), det) for v in found.numerators[k])


def _equilibria(
    a: np.ndarray, b: np.ndarray, *, search_p: bool, oracle: bool = False
) -> tuple[set, set, int]:
    """The completely labelled pairs (exact points) with the other polytope searched whole
    and with its faces searched, and the number of faces; with ``oracle``, each partner's
    point and labels checked against the exact search in Python's integers too."""
    m, n = a.shape
    kp, kq = lexicographic.integer_matrix(b, _LOW), lexicographic.integer_matrix(a.T, _LOW)
    (k_own, d_own, own_first), (k_other, d_other, other_first) = (
        ((kp, m, True), (kq, n, False)) if search_p else ((kq, n, False), (kp, m, True))
    )
    own = integer_search.integer_bases(k_own, Budget(10**8))
    whole = integer_search.integer_bases(k_other, Budget(10**8))
    assert own is not None and whole is not None
    own_labels = _global(own.labels, d_own, own_first)
    first = first_of_each_label_set(own_labels)
    budget = Budget(10**8)
    partners = integer_faces.integer_partners(
        k_other, own_labels[first], m=m, other_is_p=not search_p, budget=budget
    )
    assert partners is not None
    faces = partners.found
    assert faces is not None and not faces.stopped
    assert budget.visited == faces.visited >= 1
    # Each partner is a basis of the other polytope with that polytope's exact point and labels.
    exact = oracle and dict(
        exact_search.polytope_vertices([[Fraction(int(v)) for v in row] for row in k_other]).vertices
    )
    for k in range(len(faces.keys) if exact else 0):
        assert exact[_point(faces, k)] == frozenset(np.flatnonzero(faces.labels[k]).tolist())
    found = []
    for other in (whole, faces):
        other_labels = _global(other.labels, d_other, other_first)
        distinct = first_of_each_label_set(other_labels)
        sides = [(own, first, own_labels[first]), (other, distinct, other_labels[distinct])]
        (x, x_rows, x_labels), (y, y_rows, y_labels) = sides if search_p else sides[::-1]
        found.append(
            {
                (_point(x, x_rows[i]), _point(y, y_rows[j]))
                for i, j in completely_labelled_pairs(x_labels, y_labels, m)
            }
        )
    return found[0], found[1], len(first)


def _game(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """1 to 8 actions a side, payoffs from all ties ({0, 1}) to generic (0..29), and now and
    then a duplicated row or column (dependent equations in a face)."""
    rng = np.random.default_rng(seed)
    m, n = (int(v) for v in rng.integers(1, 9, size=2))
    high = int(rng.choice([2, 3, 4, 7, 30]))
    a, b = rng.integers(0, high, size=(2, m, n)).astype(float)
    if m > 1 and seed % 3 == 0:
        a[-1], b[-1] = a[0], b[0]
    if n > 1 and seed % 4 == 0:
        a[:, -1], b[:, -1] = a[:, 0], b[:, 0]
    return a, b


@pytest.mark.parametrize("seed", range(90))
@pytest.mark.parametrize("search_p", [True, False])
def test_the_faces_pair_as_the_whole_polytope_does(seed: int, search_p: bool) -> None:
    a, b = _game(seed)
    whole, faces, _ = _equilibria(a, b, search_p=search_p, oracle=True)
    assert faces == whole and whole


@pytest.mark.parametrize(
    "make",
    [
        lambda: games.random_degenerate_game(12, 12, 0),
        lambda: games.random_degenerate_game(9, 13, 5),
        lambda: games.identity_game(7),
        lambda: NormalFormGame.from_bimatrix(
            np.kron(np.eye(3), np.ones((2, 2))), np.kron(np.eye(3), np.ones((2, 2)))
        ),
    ],
)
def test_degenerate_games_with_many_dimensional_faces(make) -> None:
    """Vertices with many more labels than dimensions (faces searched, not solved), in
    games with thousands of vertices and with blocks of identical actions."""
    a, b = make().bimatrix()
    for search_p in (True, False):
        whole, faces, count = _equilibria(a, b, search_p=search_p)
        assert faces == whole and count > 0


def test_the_kinds_of_face_all_occur() -> None:
    """The 12 x 12 game above meets every kind of face: one point (solved), empty (no
    partner), singular (searched from the origin), many-dimensional (searched), and one
    with a dependent equation left in the basis."""
    a, b = games.random_degenerate_game(12, 12, 0).bimatrix()
    kp, kq = lexicographic.integer_matrix(b, _LOW), lexicographic.integer_matrix(a.T, _LOW)
    own = integer_search.integer_bases(kp, Budget(10**8))
    labels = own.labels[first_of_each_label_set(own.labels)]
    kinds = integer_faces.integer_partners(kq, labels, m=12, other_is_p=False, budget=Budget(10**8)).kinds
    assert all(kinds[name] > 0 for name in integer_faces.KINDS), kinds
    assert kinds["solved"] + kinds["empty"] + kinds["searched"] == len(labels)


def test_the_budget_stops_between_faces_and_chunks_do_not_change_the_answer(monkeypatch) -> None:
    a, b = games.random_degenerate_game(10, 10, 1).bimatrix()
    kp, kq = lexicographic.integer_matrix(b, _LOW), lexicographic.integer_matrix(a.T, _LOW)
    own = integer_search.integer_bases(kp, Budget(10**8))
    labels = own.labels[first_of_each_label_set(own.labels)]
    whole = integer_faces.integer_partners(kq, labels, m=10, other_is_p=False, budget=Budget(10**8)).found
    assert whole is not None and whole.visited > 50
    monkeypatch.setattr(integer_faces, "_VERTICES_PER_CALL", 7)
    chunked = integer_faces.integer_partners(
        kq, labels, m=10, other_is_p=False, budget=Budget(10**8, deadline=time.perf_counter() + 3600)
    ).found
    assert chunked is not None and chunked.visited == whole.visited
    assert np.array_equal(chunked.keys, whole.keys) and np.array_equal(chunked.numerators, whole.numerators)
    budget = Budget(40)
    budget.visited = 10
    part = integer_faces.integer_partners(kq, labels, m=10, other_is_p=False, budget=budget).found
    assert part is not None and part.stopped == budget.stopped == "max_visited"
    assert 30 <= part.visited < whole.visited and budget.visited == 10 + part.visited
    assert set(part.keys.tolist()) <= set(whole.keys.tolist())


def test_a_face_past_the_safe_range_gives_up_and_is_not_counted() -> None:
    """Entries near 2^40: the face's pivots would pass 2^62, so no answer (the caller
    searches the other polytope) and the budget is left as it was."""
    k = np.array([[2**40 + 1, 3], [5, 2**40 + 7]], dtype=np.int64)
    labels = np.array([[True, False, False, True], [False, True, True, False]])
    budget = Budget(100)
    budget.visited = 7
    assert integer_faces.integer_partners(k, labels, m=2, other_is_p=True, budget=budget) is None
    assert budget.visited == 7 and not budget.stopped
    too_large = np.full((1, 1), 2**62 + 1)
    assert (
        integer_faces.integer_partners(too_large, np.ones((1, 2), bool), m=1, other_is_p=True, budget=budget)
        is None
    )


def _summary(result) -> tuple:
    profiles = sorted(
        (tuple(np.round(np.concatenate(eq.strategies), 12)), eq.exact_strategies, eq.exact_payoffs)
        for eq in result.equilibria
    )
    return profiles, len(result.components), result.complete


@pytest.mark.parametrize(
    "make",
    [
        lambda: games.random_degenerate_game(8, 8, 3),
        lambda: games.random_degenerate_game(5, 9, 2),  # the row player's polytope searched
        lambda: games.random_degenerate_game(9, 5, 2),  # the column player's
        lambda: games.identity_game(5),
    ],
)
@pytest.mark.parametrize("exact", [False, True])
def test_vertex_enumeration_answers_as_with_the_other_polytope_searched_whole(
    make, exact, monkeypatch
) -> None:
    game = make()
    faces = ve.vertex_enumeration(game, exact=exact)
    assert "complementary faces of its" in faces.method_reason and faces.complete
    monkeypatch.setattr(ve, "integer_partners", lambda *args, **kwargs: None)
    whole = ve.vertex_enumeration(game, exact=exact)
    assert "complementary faces" not in whole.method_reason
    assert _summary(faces) == _summary(whole)


def test_every_partner_lies_in_its_vertex_face() -> None:
    """Each face is searched without leaving it: every basis found for one vertex has all
    the labels that vertex lacks (a search that entered a variable outside the face would
    also find vertices of the polytope off the face)."""
    a, b = games.random_degenerate_game(12, 12, 0).bimatrix()
    kp, kq = lexicographic.integer_matrix(b, _LOW), lexicographic.integer_matrix(a.T, _LOW)
    own = integer_search.integer_bases(kp, Budget(10**8))
    labels = own.labels[first_of_each_label_set(own.labels)]
    checked = 0
    for row in labels[labels.sum(axis=1) > 12]:  # the degenerate vertices: faces searched
        partners = integer_faces.integer_partners(kq, row[None], m=12, other_is_p=False, budget=Budget(10**8))
        found = _global(partners.found.labels, 12, False)
        assert (found | row[None]).all(), "a partner lacks a label of its face"
        checked += len(found)
    assert checked > 0


def test_a_past_deadline_stops_between_chunks_but_not_after_the_last(monkeypatch) -> None:
    """The clock is read while vertices are left: a deadline already past stops the faces
    after the first chunk (``time_limit``), yet a game whose faces fit one chunk ends
    complete (an enumeration that finished is never marked stopped)."""
    a, b = games.random_degenerate_game(10, 10, 1).bimatrix()
    kp, kq = lexicographic.integer_matrix(b, _LOW), lexicographic.integer_matrix(a.T, _LOW)
    own = integer_search.integer_bases(kp, Budget(10**8))
    labels = own.labels[first_of_each_label_set(own.labels)]
    monkeypatch.setattr(integer_faces, "_VERTICES_PER_CALL", 7)
    assert len(labels) > 7
    past = Budget(10**8, deadline=time.perf_counter() - 1.0)
    part = integer_faces.integer_partners(kq, labels, m=10, other_is_p=False, budget=past).found
    assert part.stopped == past.stopped == "time_limit"
    whole = integer_faces.integer_partners(kq, labels, m=10, other_is_p=False, budget=Budget(10**8)).found
    assert 0 < part.visited < whole.visited
    few = labels[:7]
    done = integer_faces.integer_partners(
        kq, few, m=10, other_is_p=False, budget=Budget(10**8, deadline=time.perf_counter() - 1.0)
    ).found
    assert not done.stopped


def test_the_last_visit_of_a_budget_still_solves_a_face() -> None:
    """One visit left: the one-point face of the module's example is solved, complete."""
    budget = Budget(5)
    budget.visited = 4
    k = np.array([[11, 1], [1, 11]])
    partners = integer_faces.integer_partners(
        k, np.array([[False, True, True, False]]), m=2, other_is_p=False, budget=budget
    )
    assert partners is not None and partners.found.numerators.tolist() == [[1, 0]]
    assert partners.found.stopped == "" == budget.stopped and budget.visited == 5


def test_ties_of_the_ratio_test_go_to_the_lexicographically_smaller_row() -> None:
    """Rows 0 and 1 tie on rhs / entry (2/1 = 4/2) for entering column 0; the lex columns
    decide: by (2, 3) row 0 reads (1, 0) and row 1 (0, 1/2), so row 1; by (3, 2), row 0."""
    tableau = np.array([[1, 0, 1, 0, 2], [2, 0, 0, 1, 4]], dtype=np.int64)
    assert integer_faces._lex_leaving_row(tableau, 0, np.array([2, 3])) == 1
    assert integer_faces._lex_leaving_row(tableau, 0, np.array([3, 2])) == 0
    assert integer_faces._lex_leaving_row(tableau, 1, np.array([2, 3])) == -1  # no positive entry


def test_a_solved_face_is_a_partner_only_with_every_value_non_negative() -> None:
    assert integer_faces._feasible(np.array([[3, 0, 0], [0, 3, 5]], dtype=np.int64))
    assert not integer_faces._feasible(np.array([[3, 0, -1], [0, 3, 5]], dtype=np.int64))
    assert not integer_faces._feasible(np.array([[3, 0, 2], [0, 3, -7]], dtype=np.int64))
