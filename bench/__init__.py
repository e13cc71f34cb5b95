"""Benchmark harness of equilibria: the project against pygambit, nashpy and QuantEcon.

Run from the repository root (never part of the test suite)::

    python -m bench.run [--quick] [--out bench/results] [--cases 1,2,...]

See ``bench/README.md`` for what each case measures.
"""
