"""Mistakes in the caller's input fail in the client with one clear ``EquilibriaError`` (#20, item 4).

Ragged lists, mismatched ``(A, B)`` shapes and non-numbers raise ``InvalidGameError``
naming the entry at fault; an unknown name raises ``InvalidArgumentError`` naming the
argument and listing the valid names; one string is one name wherever a list of names
is expected. The client used here points at a port where nothing listens: whatever
reached the network would fail ``UNAVAILABLE`` instead, so each error below was raised
before anything was sent.
"""

from __future__ import annotations

import asyncio
import re
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from equilibria.client import (
    AsyncClient,
    Client,
    EquilibriaError,
    InvalidArgumentError,
    InvalidGameError,
    RetryConfig,
    ServerError,
    TraceRecorder,
)
from equilibria.client._convert import (
    BatchPlan,
    batch_item_from_proto,
    batch_items_from_proto,
    batch_requests,
    game_to_proto,
    score_options,
    solve_request,
    stochastic_game_to_proto,
)
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1.codec import (
    CONCEPTS,
    SELECTION_CRITERIA,
    STAGE_SELECTION,
    WELFARE_FUNCTIONS,
    EnumNames,
    decode_tensor,
)
from google.rpc import status_pb2

from tests.client.options import solve_options

STAG_HUNT = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
#: A stochastic game of two states and two actions each: every transition row uniform.
STOCHASTIC = {
    "rewards": np.zeros((2, 2, 2, 2)),
    "transitions": np.full((2, 2, 2, 2), 0.5),
    "discount": 0.9,
}


@pytest.fixture(scope="module")
def offline() -> Iterator[Client]:
    """A client of 127.0.0.1:9 (nothing listens): a call that reaches the network fails UNAVAILABLE."""
    with Client.connect("127.0.0.1:9", timeout=5, retry=RetryConfig(max_attempts=1)) as client:
        yield client


# -- games: the entry at fault is named -------------------------------------------------------------

BAD_GAMES = [
    pytest.param(
        ([[1, 2], [3, 4]], [[1, 2, 3], [4, 5, 6]]),
        "B: shape (2, 3) differs from A's (2, 2); a pair (A, B) needs one shape",
        id="pair-shapes",
    ),
    pytest.param(
        (np.eye(2), np.ones((3, 2))),
        "B: shape (3, 2) differs from A's (2, 2); a pair (A, B) needs one shape",
        id="pair-arrays",
    ),
    pytest.param(
        ([[1, 2], [3]], [[1, 2], [3, 4]]),
        "A: row 1 has 1 entry, row 0 has 2",
        id="pair-ragged-A",
    ),
    pytest.param(
        [[[1, 2], [3, 4], [5, 6]], [[1, 2], [3, 4], [5, 6, 7]]],
        "B: row 2 has 3 entries, row 0 has 2",
        id="list-of-two-ragged-B",
    ),
    pytest.param(
        [[1, 2, 3], [4, 5]],
        "payoffs: row 1 has 2 entries, row 0 has 3",
        id="matrix-ragged",
    ),
    pytest.param(
        [np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), [[[0, 0], [0, 0]], [[0, 0], [0, 0, 0]]]],
        "payoffs[2][1]: row 1 has 3 entries, row 0 has 2",
        id="three-players-ragged",
    ),
    pytest.param(
        [[1, "x"], [3, 4]],
        "payoffs[0][1] is 'x', not a number",
        id="not-a-number",
    ),
    pytest.param(
        np.array([[1, "x"], [3, 4]], dtype=object),
        "payoffs[0][1] is 'x', not a number",
        id="object-array",
    ),
    pytest.param(
        [[1, {}], [3, 4]],
        "payoffs[0][1] is {}, not a number",
        id="a-dict-for-a-number",
    ),
    pytest.param(
        [[1, "z" * 38], [3, 4]],
        "payoffs[0][1] is '" + "z" * 38 + "', not a number",
        id="an-entry-of-40-characters-shown-whole",
    ),
    pytest.param(
        [[1, "y" * 50], [3, 4]],
        "payoffs[0][1] is '" + "y" * 36 + "..., not a number",
        id="a-long-entry-shown-cut",
    ),
    pytest.param(
        ([[1, 2], [3, 4]], [[1, 2], 5]),
        "B[1] is a number, B[0] is a list of 2",
        id="number-for-a-row",
    ),
    pytest.param(
        types.SimpleNamespace(payoffs=[[[1, 2]], [[1]]]),
        "payoffs[1] has shape (1, 1), payoffs[0] has shape (1, 2)",
        id="object-ragged",
    ),
    pytest.param(
        {"pay_offs": np.zeros((2, 2, 2))},
        "a dict game needs 'payoffs' (normal form) or 'rewards', 'transitions', 'discount' (stochastic); "
        "got keys ['pay_offs']",
        id="dict-without-payoffs",
    ),
]


@pytest.mark.parametrize(
    ("call", "field", "detail"),
    [
        (lambda c: c.solve(None), "normal_form_game.payoffs", "payoffs is missing"),
        (lambda c: c.solve({"payoffs": None}), "normal_form_game.payoffs", "payoffs is missing"),
        (lambda c: c.solve(([[1, 2]], None)), "normal_form_game.payoffs", "B is missing"),
        (
            lambda c: c.solve_stochastic({**STOCHASTIC, "transitions": None}),
            "stochastic_game.transitions",
            "transitions is missing",
        ),
        (
            lambda c: c.solve_stochastic(types.SimpleNamespace(**{**STOCHASTIC, "rewards": None})),
            "stochastic_game.rewards",
            "rewards is missing",
        ),
        (
            lambda c: c.solve_stochastic({"rewards": STOCHASTIC["rewards"], "discount": 0.9}),
            "stochastic_game.transitions",
            "transitions is missing",
        ),
    ],
)
def test_a_game_field_not_given_is_refused_as_missing(
    offline: Client, call: Callable[[Client], Any], field: str, detail: str
) -> None:
    """``None`` where an array belongs is a field not given: refused before anything is
    sent, naming it (it was sent as the array ``nan`` and refused for its shape)."""
    with pytest.raises(InvalidGameError) as info:
        call(offline)
    assert info.value.field_violations == ((field, detail),)
    assert str(info.value).endswith(f"(): {detail}")


def test_payoffs_of_a_consistent_shape_that_are_no_numbers_say_so(offline: Client) -> None:
    """Arrays of words nest like numbers (no entry breaks the shape): numpy's own reason is
    quoted (its wording varies with numpy's version)."""
    with pytest.raises(InvalidGameError) as info:
        offline.solve([np.array(["a", "b"]), np.array(["c", "d"])])
    assert str(info.value).startswith(
        "solve(): payoffs is not a numeric array (could not convert string to float"
    )
    assert info.value.fields == ("normal_form_game.payoffs",)


@pytest.mark.parametrize(("game", "detail"), BAD_GAMES)
def test_a_malformed_game_is_an_invalid_game_error_naming_the_entry(
    offline: Client, game: Any, detail: str
) -> None:
    with pytest.raises(InvalidGameError) as info:
        offline.solve(game)
    err = info.value
    assert isinstance(err, EquilibriaError) and isinstance(err, ValueError)
    assert str(err) == f"solve(): {detail}"
    assert err.code == "INVALID_ARGUMENT"
    assert err.field_violations == (("normal_form_game.payoffs", detail),)


def test_every_door_names_its_own_function_and_field(offline: Client) -> None:
    ragged = ([[1, 2], [3, 4]], [[1, 2], [3]])
    with pytest.raises(InvalidGameError) as traced:
        offline.score_trace(ragged, policies=(np.full((4, 2), 0.5),) * 2)
    assert str(traced.value) == "score_trace(): B: row 1 has 1 entry, row 0 has 2"
    assert traced.value.fields == ("header.normal_form_game.payoffs",)
    with pytest.raises(InvalidGameError) as recorded:
        TraceRecorder(offline, ragged)
    assert recorded.value.fields == ("header.normal_form_game.payoffs",)
    with pytest.raises(InvalidGameError) as stochastic:
        offline.solve_stochastic(
            [[[[0, 0], [0, 0]]], [[[0, 0], [0]]]], np.full((2, 2, 2, 2), 0.5), discount=0.5
        )
    assert str(stochastic.value) == ("solve_stochastic(): rewards[1][0]: row 1 has 1 entry, row 0 has 2")
    assert stochastic.value.fields == ("stochastic_game.rewards",)

    async def solve_async() -> None:
        async with AsyncClient.connect("127.0.0.1:9", timeout=5) as client:
            await client.solve(ragged)

    with pytest.raises(InvalidGameError) as awaited:
        asyncio.run(solve_async())
    assert str(awaited.value) == "solve(): B: row 1 has 1 entry, row 0 has 2"


def test_well_formed_games_in_every_form_still_convert() -> None:
    """The checks refuse nothing the client accepted before (pair, matrix, tensor, object); a dict works too."""
    pair = decode_tensor(game_to_proto(STAG_HUNT).payoffs)
    np.testing.assert_array_equal(pair, np.array(STAG_HUNT, dtype=float))
    matrix = decode_tensor(game_to_proto([[1, -1], [-1, 1]]).payoffs)
    np.testing.assert_array_equal(matrix[1], -matrix[0])
    assert tuple(game_to_proto(np.zeros((3, 2, 2, 2))).payoffs.shape) == (3, 2, 2, 2)
    named = game_to_proto({"payoffs": STAG_HUNT, "player_names": ["row", "column"], "title": "stag"})
    assert list(named.player_names) == ["row", "column"] and named.title == "stag"
    tensor = types.SimpleNamespace(payoffs=np.ones((2, 1, 3)), player_names=("a", "b"))
    assert tuple(game_to_proto(tensor).payoffs.shape) == (2, 1, 3)
    # A numeric tensor of a wrong shape is the server's to refuse, with the solver's message.
    assert tuple(game_to_proto(np.zeros((3, 2, 2))).payoffs.shape) == (3, 2, 2)


# -- names: unknown ones are named with the valid ones; one string is one name -------------------------

NAME_ARGUMENTS = [
    pytest.param("concepts", CONCEPTS, "concept", "concepts", id="concepts"),
    pytest.param("welfare", WELFARE_FUNCTIONS, "welfare function", "welfare_functions", id="welfare"),
    pytest.param(
        "selection", SELECTION_CRITERIA, "selection criterion", "selection_criteria", id="selection"
    ),
    pytest.param(
        "stage_selection",
        STAGE_SELECTION,
        "stage-selection criterion",
        "stage_selection",
        id="stage_selection",
    ),
]


def _request(**names: Any) -> Any:
    options: dict[str, Any] = {"concepts": (), "method": "auto", "tolerance": 0.0, "exact": False}
    return solve_request(STAG_HUNT, **{**options, "max_equilibria": 0, "time_budget": None, **names})


@pytest.mark.parametrize(("argument", "table", "what", "field"), NAME_ARGUMENTS)
def test_an_unknown_name_is_an_invalid_argument_listing_the_valid_names(
    argument: str, table: EnumNames, what: str, field: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _request(**{argument: [table.names[0], "no_such_name"]})
    err = info.value
    assert isinstance(err, EquilibriaError) and not isinstance(err, InvalidGameError)
    assert str(err).startswith(f"solve(): unknown {what} 'no_such_name' in {argument}; expected one of ")
    listed = re.search(r"expected one of (.*)$", str(err)).group(1)  # type: ignore[union-attr]
    assert listed.split(", ") == list(table.names)
    assert err.fields == (f"{field}[1]",)


@pytest.mark.parametrize(("argument", "table", "what", "field"), NAME_ARGUMENTS)
def test_one_string_is_one_name(argument: str, table: EnumNames, what: str, field: str) -> None:
    name = table.names[-1]
    assert list(getattr(_request(**{argument: name}), field)) == [table.value(name)]
    # Several names still work, and case and surrounding blanks do not matter.
    both = [table.names[0], f" {name.upper()}"]
    assert list(getattr(_request(**{argument: both}), field)) == [
        table.value(table.names[0]),
        table.value(name),
    ]


def test_a_name_argument_that_is_no_list_names_the_argument() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _request(selection=3)
    assert str(info.value) == "solve(): selection must be a name or a list of names, got 3"
    assert info.value.fields == ("selection_criteria",)


def test_the_client_doors_refuse_unknown_names_before_sending(offline: Client) -> None:
    doors = {
        "solve()": lambda: offline.solve(STAG_HUNT, concepts="nsh"),
        "solve_stochastic()": lambda: offline.solve_stochastic(STOCHASTIC, stage_selection=["nope"]),
        "solve_many()": lambda: list(offline.solve_many([STAG_HUNT], welfare="utilitarain")),
    }
    for function, call in doors.items():
        with pytest.raises(
            InvalidArgumentError, match="^" + re.escape(function) + ": unknown .* expected one of "
        ):
            call()


def test_trace_criteria_may_be_one_name() -> None:
    assert list(score_options(criteria="nash_conv").criteria) == ["nash_conv"]
    assert list(score_options(criteria=("last_iterate", "nash_conv")).criteria) == [
        "last_iterate",
        "nash_conv",
    ]
    with pytest.raises(InvalidArgumentError, match=r"^TraceRecorder\(\): criteria must be a name or a list"):
        score_options(criteria=7, function="TraceRecorder()")  # type: ignore[arg-type]


# -- batches: a game the client cannot read is that item's error, never the stream's ------------------


def test_a_batch_game_the_client_cannot_read_keeps_its_place_and_gets_its_error() -> None:
    options: dict[str, Any] = {"concepts": "nash", "method": "auto", "tolerance": 0.0, "exact": False}
    options |= {"max_equilibria": 0, "time_budget": None}
    named = {"payoffs": STAG_HUNT, "player_names": ["Row", "Column"]}
    plan = BatchPlan()
    requests = list(batch_requests([named, [[1, 2], [3]], STAG_HUNT], options, plan))
    # Item 1 is sent without a game, so the server's indices stay the games' indices.
    assert [r.request.WhichOneof("game") for r in requests] == ["normal_form_game", None, "normal_form_game"]
    refused = service_pb2.SolveGamesResponse(
        index=1, status=status_pb2.Status(code=3, message="game required")
    )
    item = batch_item_from_proto(refused, 1, plan)
    assert item.index == 1 and item.result is None and isinstance(item.error, InvalidGameError)
    assert str(item.error) == "solve_many(): games[1]: payoffs: row 1 has 1 entry, row 0 has 2"
    echoed = BatchPlan()  # an entry that quotes the prefix: only the prefix gets the index
    assert list(batch_requests([[[1, "solve_many(): "], [3, 4]]], options, echoed))[0].request.ByteSize() == 0
    assert str(echoed.refused[0]) == "solve_many(): games[0]: payoffs[0][1] is 'solve_many(): ', not a number"
    assert item.error.fields == ("requests[1].normal_form_game.payoffs",)
    answered = service_pb2.SolveGamesResponse(index=0)
    answered.response.solution_set.method = "vertex_enumeration"
    solved = batch_item_from_proto(answered, 0, plan)
    assert solved.ok and solved.result is not None and solved.result.player_names == ("Row", "Column")


def test_a_batch_sends_a_stochastic_game_in_every_form_alike() -> None:
    """A stochastic game (an object, a dict of its fields) is converted once, a
    ``StochasticGame`` message is sent as it is; exact mode, which stochastic solves refuse,
    is dropped for them."""
    game = types.SimpleNamespace(**STOCHASTIC)
    message = stochastic_game_to_proto(game)
    options = solve_options(exact=True)
    plan = BatchPlan()
    requests = list(batch_requests([game, STOCHASTIC, message, STAG_HUNT], options, plan))
    assert not plan.refused
    assert [r.request.WhichOneof("game") for r in requests] == ["stochastic_game"] * 3 + ["normal_form_game"]
    assert all(r.request.stochastic_game == message for r in requests[:3])
    assert [r.request.exact for r in requests] == [False, False, False, True]


def test_a_packed_batch_keeps_the_order_and_caps_each_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pack=True`` sends consecutive games together, at most PACK_GAMES and PACK_BYTES a
    message (a larger game alone); the items keep their order and their refusals; answers
    packed in ``answers`` become one BatchItem each, in order."""
    from equilibria.client import _convert

    monkeypatch.setattr(_convert, "PACK_GAMES", 3)
    monkeypatch.setattr(_convert, "PACK_BYTES", 400)
    rng = np.random.default_rng(2)
    big = rng.standard_normal((2, 6, 6))  # 576 bytes of payoffs: over PACK_BYTES, alone
    games: list[Any] = [rng.standard_normal((2, 2, 2)) for _ in range(4)]
    games[2:2] = [big, [[1, 2], [3]]]
    plan = BatchPlan()
    one_each = [m.request for m in batch_requests(games, solve_options())]
    messages = list(batch_requests(games, solve_options(), plan, pack=True))
    assert all(not m.HasField("request") for m in messages)
    assert [len(m.requests) for m in messages] == [2, 1, 3]
    assert [r for m in messages for r in m.requests] == one_each
    assert all(m.ByteSize() <= 400 for m in messages if len(m.requests) > 1)
    assert list(plan.refused) == [3]
    packed = service_pb2.SolveGamesResponse(
        answers=[service_pb2.SolveGamesResponse(index=k) for k in (2, 3, 4)]
    )
    items = batch_items_from_proto(packed, 2, plan)
    assert [item.index for item in items] == [2, 3, 4]
    assert isinstance(items[1].error, InvalidGameError) and items[0].ok and items[2].ok
    with pytest.raises(ServerError, match="answered item 3 where item 2 was due"):
        batch_items_from_proto(service_pb2.SolveGamesResponse(index=3), 2)
