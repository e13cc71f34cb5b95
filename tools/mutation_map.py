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
        if not found:
            return None
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


def fingerprint(root: pathlib.Path) -> str:
    """A hash of every Python file and the project file: the map is valid while it is unchanged."""
    digest = hashlib.blake2b(digest_size=16)
    files = sorted(
        p
        for p in root.rglob("*.py")
        if not any(part.startswith(".") or part in ("build", "site") for part in p.relative_to(root).parts)
    )
    for path in [*files, root / "pyproject.toml"]:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def split_suite(root: pathlib.Path, parts: int) -> list[list[str]]:
    """The suite's test files in ``parts`` groups of about equal size (bytes of test code)."""
    files = sorted((root / "tests").rglob("test_*.py"), key=lambda p: -p.stat().st_size)
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
    run_part: Callable[[int, Sequence[str]], list[dict]],
    parts: int,
) -> CoverageMap:
    """The coverage map of the suite at ``root``: from ``cache`` when nothing changed since,
    else by running the suite's parts with ``run_part(k, files)`` (one per tree, in parallel;
    each returns the plugin's output per file)."""
    path = cache / f"coverage-{fingerprint(root)}.json"
    if path.exists():
        return CoverageMap.from_json(path.read_text(encoding="utf-8"))
    import concurrent.futures

    groups = split_suite(root, parts)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(groups)) as pool:
        outputs = list(pool.map(run_part, range(len(groups)), groups))
    found = merge(root, [out for part in outputs for out in part])
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(found.to_json(), encoding="utf-8")
    return found
