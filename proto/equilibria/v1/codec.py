"""The wire codec of ``equilibria.v1``, shared by the client and the service (hand-written).

Two things both sides of the wire must agree on, defined once here:

- the ``Tensor`` encoding of dense arrays: its shape plus ``prod(shape)`` little-endian
  float64 values in C order, as raw bytes (the cheapest encoding to produce and parse
  from numpy);
- the names of the enums (``SolutionConcept``, ``WelfareFunction``, ``StageSelection``,
  ``SelectionCriterion``, ``AlphaRankPopulations``, ``Verdict``): each value's generated name without the enum's
  prefix, lower-cased (``SOLUTION_CONCEPT_PURE_NASH`` is ``"pure_nash"``), read from the
  generated enum descriptors so that a value added to a ``.proto`` file is named here
  without an edit.

This module is not generated: ``tools/gen_protos.py`` replaces only the ``*_pb2*`` files.

Examples
--------
>>> import numpy as np
>>> decode_tensor(encode_tensor(np.eye(2))).tolist()
[[1.0, 0.0], [0.0, 1.0]]
>>> CONCEPTS.value("pure_nash") == solution_pb2.SOLUTION_CONCEPT_PURE_NASH
True
>>> VERDICTS.names
('converged', 'not_converged', 'inconclusive', 'converged_outside_set')
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from equilibria.v1 import game_pb2, solution_pb2, trace_pb2

__all__ = [
    "ALPHA_RANK_POPULATIONS",
    "POPULATION_MODELS",
    "DYNAMICS_RULES",
    "CREDIT_TEAMS",
    "CREDIT_COUNTERFACTUALS",
    "CONCEPTS",
    "CONCEPT_ANSWERS",
    "EnumNames",
    "SELECTION_CRITERIA",
    "STAGE_SELECTION",
    "TensorError",
    "TensorTooLargeError",
    "VERDICTS",
    "WELFARE_FUNCTIONS",
    "decode_tensor",
    "encode_tensor",
]

_LE_F8 = np.dtype("<f8")


class TensorError(ValueError):
    """A Tensor message whose data does not match its shape."""


class TensorTooLargeError(TensorError):
    """A Tensor message with more entries than the receiver accepts."""


def encode_tensor(array: npt.ArrayLike) -> game_pb2.Tensor:
    """Encode an array as a ``Tensor`` (float64, little-endian, C order).

    Parameters
    ----------
    array : array_like
        Any array numpy converts to float64.

    Returns
    -------
    equilibria.v1.Tensor
    """
    arr = np.ascontiguousarray(array, dtype=_LE_F8)
    return game_pb2.Tensor(shape=arr.shape, data=arr.tobytes())


def decode_tensor(message: game_pb2.Tensor, *, max_entries: int | None = None) -> npt.NDArray[np.float64]:
    """Decode a ``Tensor`` into a read-only float64 array.

    Parameters
    ----------
    message : equilibria.v1.Tensor
    max_entries : int, optional
        Largest ``prod(shape)`` accepted, checked before the data is read.

    Returns
    -------
    ndarray of float64
        Of the message's shape, a view of its data.

    Raises
    ------
    TensorTooLargeError
        If the tensor has more than ``max_entries`` entries.
    TensorError
        If the data length is not ``8 * prod(shape)``.
    """
    shape = tuple(int(k) for k in message.shape)
    entries = math.prod(shape)
    if max_entries is not None and entries > max_entries:
        raise TensorTooLargeError(
            f"tensor of shape {shape} has {entries:,} entries, over the limit of {max_entries:,}"
        )
    if len(message.data) != entries * _LE_F8.itemsize:
        raise TensorError(
            f"tensor data has {len(message.data):,} bytes but shape {shape} needs {entries * _LE_F8.itemsize:,}"
        )
    return np.frombuffer(message.data, dtype=_LE_F8).reshape(shape).astype(np.float64, copy=False)


@dataclasses.dataclass(frozen=True)
class EnumNames:
    """The wire names of one protobuf enum, both ways (the zero ``*_UNSPECIFIED`` value left out).

    Attributes
    ----------
    enum : str
        Full name of the enum (``"equilibria.v1.SolutionConcept"``).
    values : Mapping of str to int
        Name -> enum value, in the order the ``.proto`` file declares them.
    by_value : Mapping of int to str
        Enum value -> name.
    """

    enum: str
    values: Mapping[str, int]
    by_value: Mapping[int, str]

    @classmethod
    def of(cls, enum: Any) -> EnumNames:
        """The names of a generated enum (an ``EnumTypeWrapper`` such as ``solution_pb2.Verdict``).

        The prefix stripped is the name of the enum's zero value without ``UNSPECIFIED``
        (``SOLUTION_CONCEPT_`` for ``SOLUTION_CONCEPT_UNSPECIFIED``).
        """
        descriptor = enum.DESCRIPTOR
        prefix = descriptor.values_by_number[0].name.removesuffix("UNSPECIFIED")
        values = {
            value.name.removeprefix(prefix).lower(): value.number
            for value in descriptor.values
            if value.number != 0
        }
        return cls(
            enum=descriptor.full_name,
            values=types.MappingProxyType(values),
            by_value=types.MappingProxyType({number: name for name, number in values.items()}),
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Every name, in declaration order."""
        return tuple(self.values)

    def value(self, name: str) -> int:
        """The enum value of ``name`` (``KeyError`` if there is none)."""
        return self.values[name]

    def name(self, value: int) -> str:
        """The name of enum value ``value`` (``KeyError`` if there is none)."""
        return self.by_value[value]


#: Solution concepts: "nash", "pure_nash", "pareto_nash", ...
CONCEPTS = EnumNames.of(solution_pb2.SolutionConcept)
#: Welfare functions: "utilitarian", "egalitarian", "nash_product".
WELFARE_FUNCTIONS = EnumNames.of(solution_pb2.WelfareFunction)
#: Stage-selection criteria of backward induction: the welfare functions and two dominance rules.
STAGE_SELECTION = EnumNames.of(solution_pb2.StageSelection)
#: Equilibrium-selection criteria: "payoff_dominance", "risk_dominance", "logit_limit".
SELECTION_CRITERIA = EnumNames.of(solution_pb2.SelectionCriterion)
#: How alpha-Rank maps players onto populations: "auto", "multi", "single".
ALPHA_RANK_POPULATIONS = EnumNames.of(solution_pb2.AlphaRankPopulations)
#: How the evolutionary concepts map players onto populations: "auto", "multi", "single".
POPULATION_MODELS = EnumNames.of(solution_pb2.PopulationModel)
#: Evolutionary dynamics: "replicator", "logit", "best_response".
DYNAMICS_RULES = EnumNames.of(solution_pb2.DynamicsRule)
#: How credit assignment forms the team return: "auto", "common", "sum".
CREDIT_TEAMS = EnumNames.of(solution_pb2.CreditTeam)
#: The difference rewards' counterfactual: "action", "aristocrat".
CREDIT_COUNTERFACTUALS = EnumNames.of(solution_pb2.CreditCounterfactual)
#: Answers a requested concept gets: "answered", "partial", "refused".
CONCEPT_ANSWERS = EnumNames.of(solution_pb2.ConceptAnswer)
#: Verdicts of a trace criterion: "converged", "not_converged", "inconclusive".
VERDICTS = EnumNames.of(trace_pb2.Verdict)
#: The scoring options of a trace ("criteria", "metric", ...): the fields of ``ScoreOptions``,
#: which are also ``Client.score_trace``'s keyword names.
SCORE_OPTIONS = tuple(field.name for field in trace_pb2.ScoreOptions.DESCRIPTOR.fields)
