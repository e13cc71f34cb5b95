"""The forkserver's preload: the worker functions and every solver kernel, compiled once.

Every solve runs in a worker forked from the forkserver (:mod:`equilibria.service.pool`).
Importing this module there compiles (or loads from numba's cache) every kernel once, so each
worker starts with them ready and no solve's budget pays for the compiler. The server
process does not import it: it warms its own kernels in a thread while its health is
NOT_SERVING (:func:`equilibria.service.server.start_server`).
"""

from __future__ import annotations

from equilibria.service import worker  # noqa: F401  (the functions the workers run)
from equilibria.solver.kernels import compile_all

compile_all()
