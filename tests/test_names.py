"""One name table per layer, and the layers agree: the proto enums, the client and the solver.

The wire names come from the generated enum descriptors (:mod:`equilibria.v1.codec`);
the solver defines its own tables (``CONCEPTS``, ``WELFARE_FUNCTIONS``, ...). For every
enum the names the proto declares, the names the client accepts and reports, the names
the service decodes and the names the solver accepts must be the same set: a concept
added to one layer and not the others fails here.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from equilibria.client import _client as client_module
from equilibria.client._convert import (
    solution_set_from_proto,
    solve_request,
    trace_score_from_proto,
)
from equilibria.service import convert as service_convert
from equilibria.service.limits import Limits
from equilibria.service.options import DEFAULT_CONCEPTS as SERVICE_DEFAULT_CONCEPTS
from equilibria.solver import solve_game
from equilibria.solver.concepts import selection as solver_selection
from equilibria.solver.concepts import welfare as solver_welfare
from equilibria.solver.stochastic import solve as solver_stochastic
from equilibria.solver.traces import options as solver_traces
from equilibria.v1 import codec, solution_pb2, trace_pb2
from equilibria.v1 import equilibria_service_pb2 as service_pb2

#: enum table -> (solve_request keyword, SolveGameRequest field, the solver's names).
REQUEST_ENUMS = {
    "concepts": (codec.CONCEPTS, "concepts", solve_game.CONCEPTS),
    "welfare": (codec.WELFARE_FUNCTIONS, "welfare_functions", solver_welfare.WELFARE_FUNCTIONS),
    "selection": (codec.SELECTION_CRITERIA, "selection_criteria", solver_selection.SELECTION_CRITERIA),
    "stage_selection": (
        codec.STAGE_SELECTION,
        "stage_selection",
        (*solver_welfare.WELFARE_FUNCTIONS, *solver_stochastic.STAGE_SELECTION_CRITERIA),
    ),
}


@pytest.mark.parametrize(
    ("table", "enum", "prefix"),
    [
        (codec.CONCEPTS, solution_pb2.SolutionConcept, "SOLUTION_CONCEPT_"),
        (codec.WELFARE_FUNCTIONS, solution_pb2.WelfareFunction, "WELFARE_FUNCTION_"),
        (codec.STAGE_SELECTION, solution_pb2.StageSelection, "STAGE_SELECTION_"),
        (codec.SELECTION_CRITERIA, solution_pb2.SelectionCriterion, "SELECTION_CRITERION_"),
        (codec.VERDICTS, trace_pb2.Verdict, "VERDICT_"),
        (codec.CONCEPT_ANSWERS, solution_pb2.ConceptAnswer, "CONCEPT_ANSWER_"),
    ],
)
def test_codec_names_are_the_enum_names_without_prefix_and_unspecified(table, enum, prefix) -> None:
    expected = {name.removeprefix(prefix).lower(): value for name, value in enum.items() if value != 0}
    assert dict(table.values) == expected and len(expected) >= 3
    assert {table.value(name): name for name in table.names} == dict(table.by_value)
    assert table.enum == enum.DESCRIPTOR.full_name


def _request(**names: object) -> service_pb2.SolveGameRequest:
    """The client's SolveGameRequest for a one-action game with the given names."""
    options: dict[str, object] = {"concepts": (), "method": "auto", "tolerance": 0.0, "exact": False}
    return solve_request([[1.0]], **{**options, "max_equilibria": 0, "time_budget": None, **names})


@pytest.mark.parametrize("keyword", list(REQUEST_ENUMS))
def test_proto_client_service_and_solver_names_are_one_set(keyword: str) -> None:
    table, field, solver_names = REQUEST_ENUMS[keyword]
    assert set(table.names) == set(solver_names)
    # The client: every name becomes its enum value on the wire...
    request = _request(**{keyword: table.names})
    assert list(getattr(request, field)) == [table.value(name) for name in table.names]
    # ...and an unknown name is refused with the list of the names it knows.
    with pytest.raises(ValueError, match="expected one of") as refused:
        _request(**{keyword: ["no_such_name"]})
    listed = re.search(r"expected one of (.*)$", str(refused.value)).group(1)  # type: ignore[union-attr]
    assert set(listed.split(", ")) == set(solver_names)
    # The service decodes the values to the solver's names.
    _, options = service_convert.solve_request_from_proto(request, Limits())
    decoded = {
        "concepts": options.concepts,
        "welfare": options.welfare,
        "selection": options.selection,
        "stage_selection": options.stage_selection,
    }[keyword]
    assert decoded == table.names


def test_stochastic_concepts_are_wire_concepts() -> None:
    assert set(solver_stochastic.STOCHASTIC_CONCEPTS) <= set(codec.CONCEPTS.names)


def test_the_client_reads_every_concept_welfare_function_and_criterion_back() -> None:
    message = solution_pb2.SolutionSet(
        concepts=list(codec.CONCEPTS.by_value),
        welfare_optima=[solution_pb2.WelfareOptimum(function=v) for v in codec.WELFARE_FUNCTIONS.by_value],
        selections=[solution_pb2.Selection(criterion=v) for v in codec.SELECTION_CRITERIA.by_value],
    )
    result = solution_set_from_proto(message)
    assert result.concepts == tuple(solve_game.CONCEPTS)
    assert {w.function for w in result.welfare_optima} == set(solver_welfare.WELFARE_FUNCTIONS)
    assert {s.criterion for s in result.selections} == set(solver_selection.SELECTION_CRITERIA)


def test_verdict_names_are_one_set() -> None:
    assert set(codec.VERDICTS.names) == set(solver_traces.VERDICTS)
    message = trace_pb2.TraceScore(
        criteria=[trace_pb2.CriterionScore(name="c", verdict=v) for v in codec.VERDICTS.by_value]
    )
    client_verdicts = {c.verdict for c in trace_score_from_proto(message).criteria}
    assert client_verdicts == set(solver_traces.VERDICTS)


def test_one_default_concept_set_per_layer_and_they_agree() -> None:
    assert client_module.DEFAULT_CONCEPTS == solve_game.DEFAULT_CONCEPTS == ("nash",)
    assert SERVICE_DEFAULT_CONCEPTS is solve_game.DEFAULT_CONCEPTS
    # A request naming no concept is solved for the default set.
    request = service_pb2.SolveGameRequest()
    request.normal_form_game.payoffs.CopyFrom(codec.encode_tensor(np.zeros((2, 2, 2))))
    assert service_convert.solve_request_from_proto(request, Limits())[1].concepts == ("nash",)


def test_the_solver_defines_each_table_once() -> None:
    assert solve_game.SELECTION_CRITERIA is solver_selection.SELECTION_CRITERIA
    assert solve_game.WELFARE_FUNCTIONS is solver_welfare.WELFARE_FUNCTIONS


def test_concept_statuses_are_wire_answers_and_read_back() -> None:
    from equilibria.solver.results import CONCEPT_STATUSES, ConceptStatus

    assert codec.CONCEPT_ANSWERS.names == CONCEPT_STATUSES
    statuses = tuple(ConceptStatus("nash", s, f"because {s}") for s in CONCEPT_STATUSES)
    message = solution_pb2.SolutionSet(concept_status=service_convert.concept_status_to_proto(statuses))
    read = solution_set_from_proto(message).concept_status
    assert [(c.concept, c.status, c.reason) for c in read] == [
        (c.concept, c.status, c.reason) for c in statuses
    ]
