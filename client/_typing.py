"""Array type aliases shared by the client (one definition each)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray"]

#: A float64 array: payoffs, strategies, values.
FloatArray = npt.NDArray[np.float64]
