"""Which tests of the suite can see a mutant: the coverage map of ``tools.mutation``.

One unmutated run of the whole test suite (split across the job's tree copies) records, with
``tools.mutation_coverage``, which tests run each line of each module under mutation. A
mutant on line ``L`` is then tested against the tests that ran ``L`` only: a deterministic
test that never runs the changed line runs the same with and without it, so leaving it out
cannot turn a killed mutant into a survivor. The selection reaches tests far from the module's
own list (the service's end-to-end tests, the metamorphic and oracle tests) at a fraction of the
suite's cost, fastest first, so a killed mutant usually fails within seconds.

A test file that shares state between its tests (module- or session-scoped fixtures, caches)
is taken whole when one of its tests ran the line: the first test that built the shared state is
the one coverage saw, while the others read the result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import re
from collections.abc import Callable, Iterable, Sequence

#: A test file whose tests share state built by one of them.
SHARED_STATE = re.compile(r"scope=[\"'](module|session|package|class)[\"']|lru_cache|functools\.cache\b")


@dataclasses.dataclass(frozen=True)
class CoverageMap:
    """Per module path and line, the node ids of the (passed) tests that ran the line."""

    lines: dict[str, dict[int, tuple[str, ...]]]
    #: Seconds each test took in the unmutated run.
    seconds: dict[str, float]
    #: Test files taken whole (they share state between their tests).
    whole_files: frozenset[str]

    def tests_for(self, path: str, line: int) -> tuple[tuple[str, ...], float] | None:
        """The tests that can see a change on ``line`` of ``path``, fastest first, and their
        seconds in the unmutated run; None when no traced test ran the line."""
        found = self.lines.get(path, {}).get(line)
        return self._ordered(found) if found else None

    def module_tests(self, path: str) -> tuple[tuple[str, ...], float] | None:
        """The tests that ran any line of ``path``, fastest first, and their seconds; None when
        no traced test ran one.

        The reach of a line no traced test runs: a compiled (numba) kernel's body, which only
        its Python callers reveal, or a line run at import (a constant, a signature).
        """
        found = {node for by_test in self.lines.get(path, {}).values() for node in by_test}
        return self._ordered(found) if found else None

    def _ordered(self, found: Iterable[str]) -> tuple[tuple[str, ...], float]:
        chosen: dict[str, float] = {}
        for node in found:
            file = node.split("::", 1)[0]
            if file in self.whole_files:
                chosen[file] = sum(s for n, s in self.seconds.items() if n.split("::", 1)[0] == file)
            else:
                chosen[node] = self.seconds.get(node, 0.0)
        ordered = sorted(chosen, key=chosen.__getitem__)
        return tuple(ordered), sum(chosen.values())

    def to_json(self) -> str:
        lines = {p: {str(k): list(v) for k, v in by.items()} for p, by in self.lines.items()}
        return json.dumps({"lines": lines, "seconds": self.seconds, "whole_files": sorted(self.whole_files)})

    @classmethod
    def from_json(cls, text: str) -> CoverageMap:
        raw = json.loads(text)
        lines = {p: {int(k): tuple(v) for k, v in by.items()} for p, by in raw["lines"].items()}
        return cls(lines, raw["seconds"], frozenset(raw["whole_files"]))


def _digest(root: pathlib.Path, paths: Iterable[pathlib.Path]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _python_files(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(
        p
        for p in root.rglob("*.py")
        if not any(part.startswith(".") or part in ("build", "site") for part in p.relative_to(root).parts)
    )


#: Read by the tool, not run by the tests: what it mutates and which mutants are equivalent
#: (an entry added while a survivor is studied must not cost a new map).
_NOT_FINGERPRINTED = ("tools/mutation_targets.py",)


def source_fingerprint(root: pathlib.Path) -> str:
    """A hash of every Python file but the test files (``tests/**/test_*.py``), the
    benchmarks and the tool's own lists of targets, and of the project file: the sources, the
    tests' shared helpers (conftest.py, ...) and the tools."""
    files = [
        p
        for p in _python_files(root)
        if not _is_test_file(root, p)
        and p.relative_to(root).parts[0] != "bench"
        and p.relative_to(root).as_posix() not in _NOT_FINGERPRINTED
    ]
    return _digest(root, [*files, root / "pyproject.toml"])


def _is_test_file(root: pathlib.Path, path: pathlib.Path) -> bool:
    return path.relative_to(root).parts[0] == "tests" and path.name.startswith("test_")


def split_suite(root: pathlib.Path, parts: int, names: Sequence[str]) -> list[list[str]]:
    """The test files ``names`` in ``parts`` groups of about equal size (bytes of test code)."""
    files = sorted((root / name for name in names), key=lambda p: -p.stat().st_size)
    groups: list[list[str]] = [[] for _ in range(parts)]
    sizes = [0] * parts
    for path in files:
        k = sizes.index(min(sizes))
        groups[k].append(str(path.relative_to(root)))
        sizes[k] += path.stat().st_size
    return [sorted(g) for g in groups if g]


def shared_state_files(root: pathlib.Path) -> frozenset[str]:
    return frozenset(
        str(p.relative_to(root))
        for p in (root / "tests").rglob("test_*.py")
        if SHARED_STATE.search(p.read_text(encoding="utf-8"))
    )


def merge(root: pathlib.Path, outputs: Iterable[dict]) -> CoverageMap:
    """One map from the plugin's outputs of the suite's parts."""
    lines: dict[str, dict[int, set[str]]] = {}
    seconds: dict[str, float] = {}
    for out in outputs:
        seconds.update(out["seconds"])
        for path, by_line in out["lines"].items():
            for line, tests in by_line.items():
                lines.setdefault(path, {}).setdefault(int(line), set()).update(tests)
    frozen = {p: {k: tuple(sorted(v)) for k, v in by.items()} for p, by in lines.items()}
    return CoverageMap(frozen, seconds, shared_state_files(root))


def build(
    root: pathlib.Path,
    cache: pathlib.Path,
    run_part: Callable[[int, Sequence[str]], list[dict | None]],
    parts: int,
) -> CoverageMap:
    """The coverage map of the suite at ``root``.

    Each test file's part of the map is cached under the hash of the sources (everything but
    the test files) and of the test file itself: after an edit of tests only the edited and
    new test files run again; after an edit of the sources, all of them. The files to run are
    split into ``parts`` run in parallel (one per tree); each file runs with
    ``run_part(k, [file])``, which returns the plugin's output or None when the run recorded
    nothing (its tests are left out of the map), and is saved as soon as it is done.
    """
    import concurrent.futures

    folder = cache / source_fingerprint(root)
    files = sorted(str(p.relative_to(root)) for p in (root / "tests").rglob("test_*.py"))
    entries = {f: folder / f"{f.replace('/', '__')}-{_digest(root, [root / f])}.json" for f in files}
    missing = [f for f in files if not entries[f].exists()]
    if missing:
        folder.mkdir(parents=True, exist_ok=True)

        def run_group(k: int, group: Sequence[str]) -> None:
            """One file at a time, each saved as soon as it is done (an interrupted build keeps them)."""
            for file in group:
                (out,) = run_part(k, [file])
                if out is not None:  # nothing recorded: not cached, tried again next time
                    entries[file].write_text(json.dumps(out), encoding="utf-8")

        groups = split_suite(root, parts, missing)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(groups)) as pool:
            list(pool.map(run_group, range(len(groups)), groups))
    return merge(
        root, [json.loads(entries[f].read_text(encoding="utf-8")) for f in files if entries[f].exists()]
    )
