"""The wire encoding of dense arrays: ``equilibria.v1.Tensor``.

A tensor is its shape plus ``prod(shape)`` little-endian float64 values in C order,
as raw bytes: the cheapest encoding to produce and parse from numpy. This module is
the single codec; the service's converters use it too.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from equilibria.v1 import game_pb2

__all__ = ["encode_tensor", "decode_tensor", "TensorError", "TensorTooLargeError"]

_LE_F8 = np.dtype("<f8")


class TensorError(ValueError):
    """A Tensor message whose data does not match its shape."""


class TensorTooLargeError(TensorError):
    """A Tensor message with more entries than the receiver accepts."""


def encode_tensor(array: npt.ArrayLike) -> game_pb2.Tensor:
    """Encode an array as a ``Tensor`` (float64, little-endian, C order)."""
    arr = np.ascontiguousarray(array, dtype=_LE_F8)
    return game_pb2.Tensor(shape=arr.shape, data=arr.tobytes())


def decode_tensor(message: game_pb2.Tensor, *, max_entries: int | None = None) -> npt.NDArray[np.float64]:
    """Decode a ``Tensor`` into a read-only float64 array.

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
