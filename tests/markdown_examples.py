"""The code blocks of the Markdown pages, and running their Python examples as scripts.

Shared by ``tests/test_readme_examples.py`` and ``tests/test_docs_examples.py``. A page's
fenced blocks are parsed as CommonMark does (a closing fence has no info string and at
least the opening fence's length); every fence must name a known language, so no example
hides in a block the tests do not run, and a fence left open is an error. A ```python
block runs as a script in a subprocess, in a fresh folder, with ``EQUILIBRIA_TARGET``
naming the server it needs; when a ```text block follows it directly, that block is its
expected output, compared line by line.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Mapping

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: Languages a fence may name. Only ``python`` blocks run; ``text`` after a python block is its output.
LANGUAGES = frozenset({"python", "sh", "text", "yaml", "json", "dockerfile"})
#: Environment variable the examples read their server address from.
TARGET_ENV = "EQUILIBRIA_TARGET"
#: Environment variable the TLS example reads its bearer token from.
TOKEN_ENV = "EQUILIBRIA_TOKEN"
#: Longest an example may run, in seconds (a stuck example fails instead of hanging the suite).
TIMEOUT = 240.0

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclasses.dataclass(frozen=True)
class CodeBlock:
    """A fenced code block of a page."""

    page: str  # the page's path relative to the repository root
    line: int  # the line of the opening fence, from 1
    end: int  # the line of the closing fence
    language: str
    code: str
    output: str | None = None  # the text block right after a python block

    @property
    def name(self) -> str:
        """``page:line``: the block's test id."""
        return f"{self.page}:{self.line}"

    @property
    def server(self) -> str:
        """The server the example talks to: "none", "plain", "tls" or "replicas"."""
        if TARGET_ENV not in self.code:
            return "none"
        if "TlsConfig(" in self.code:
            return "tls"
        if 'load_balancing="round_robin"' in self.code:
            return "replicas"
        return "plain"

    @property
    def uses_ray(self) -> bool:
        """Whether the example starts a local Ray."""
        return 'backend="ray"' in self.code


def code_blocks(path: pathlib.Path) -> list[CodeBlock]:
    """Every fenced block of the Markdown file ``path``, in order.

    Raises
    ------
    ValueError
        A fence without a language or with an unknown one, a fence line inside a block
        (the sign of a block closed too late), or a block never closed; naming the line.
    """
    page = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[CodeBlock] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        start = index + 1
        fence, info = opening.group("fence"), opening.group("info").strip()
        language = info.split()[0] if info else ""
        if language not in LANGUAGES:
            raise ValueError(f"{page}:{start}: fence language {language!r} is not one of {sorted(LANGUAGES)}")
        body: list[str] = []
        index += 1
        while True:
            if index == len(lines):
                raise ValueError(f"{page}:{start}: the {fence}{language} block is never closed")
            closing = _FENCE.match(lines[index])
            if (
                closing
                and closing.group("fence")[0] == fence[0]
                and len(closing.group("fence")) >= len(fence)
            ):
                if closing.group("info").strip():
                    raise ValueError(
                        f"{page}:{index + 1}: a fence opens inside the {language} block of line {start}: "
                        "that block is not closed where it should be"
                    )
                break
            body.append(lines[index])
            index += 1
        blocks.append(CodeBlock(page, start, index + 1, language, "\n".join(body) + "\n"))
        index += 1
    return _with_outputs(blocks, lines)


def _with_outputs(blocks: list[CodeBlock], lines: list[str]) -> list[CodeBlock]:
    """Attach to each python block the text block that follows it with only blank lines between."""
    result: list[CodeBlock] = []
    for k, block in enumerate(blocks):
        if block.language == "text" and k > 0 and blocks[k - 1].language == "python":
            previous = blocks[k - 1]
            if all(not line.strip() for line in lines[previous.end : block.line - 1]):
                result[-1] = dataclasses.replace(previous, output=block.code)
        result.append(block)
    return result


def python_blocks(path: pathlib.Path) -> list[CodeBlock]:
    """The ```python blocks of ``path``."""
    return [b for b in code_blocks(path) if b.language == "python"]


def run_example(block: CodeBlock, folder: pathlib.Path, env: Mapping[str, str]) -> str:
    """Run ``block`` as a script in ``folder`` with ``env`` added; return its standard output.

    Fails the test with the script's output when it exits non-zero, and when its output
    differs from the text block that follows it.
    """
    script = folder / f"example_line_{block.line}.py"
    script.write_text(block.code, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, script.name],
        cwd=folder,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, (
        f"{block.name} exited {completed.returncode}\n--- stdout\n{completed.stdout[-3000:]}"
        f"\n--- stderr\n{completed.stderr[-6000:]}"
    )
    if block.output is not None:
        expected = [line.rstrip() for line in block.output.strip().splitlines()]
        actual = [line.rstrip() for line in completed.stdout.strip().splitlines()]
        assert actual == expected, (
            f"{block.name} printed\n" + "\n".join(actual) + "\nbut the page shows\n" + ("\n".join(expected))
        )
    return completed.stdout
