"""Array type aliases shared by the solver (one definition each)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "FloatArray", "Int64Array", "IntArray", "Profile"]

#: A float64 array: payoffs, strategies, values.
FloatArray = npt.NDArray[np.float64]
#: An index array of the platform's index type (``np.intp``): supports, action indices.
IntArray = npt.NDArray[np.intp]
#: A fixed-width 64-bit integer array: counts and the integer arguments of numba kernels.
Int64Array = npt.NDArray[np.int64]
#: A boolean mask.
BoolArray = npt.NDArray[np.bool_]
#: A mixed-strategy profile: one probability vector per player.
Profile = tuple[FloatArray, ...]
