"""Every ```python block of README.md runs, unchanged, as a script against a real server.

The examples read the server's address from ``EQUILIBRIA_TARGET`` (default
``localhost:50051``); here it names the suite's server on a loopback port. A ```text
block right after an example is what it prints. The count of examples is pinned, so an
example that stops being collected (a fence renamed to ```py, a block merged into
another) fails instead of going untested; ```sh blocks are not run.
"""

from __future__ import annotations

import pathlib
import re

import pytest

from .conftest import ServerProcess
from .markdown_examples import ROOT, TARGET_ENV, code_blocks, python_blocks, run_example

README = ROOT / "README.md"
BLOCKS = python_blocks(README)
#: A first solve, a first trace score, the in-process solver.
EXAMPLES = 3
#: Relative links of the README: [text](path), path without a scheme.
_LINK = re.compile(r"\]\((?!https?://|#)([^)#\s]+)(?:#[^)]*)?\)")


def test_every_python_example_is_collected() -> None:
    assert len(BLOCKS) == EXAMPLES, [b.name for b in BLOCKS]
    assert all(b.output is not None for b in BLOCKS), "each README example shows what it prints"


def test_the_readme_fences_are_closed_and_named() -> None:
    blocks = code_blocks(README)
    assert {b.language for b in blocks} <= {"python", "sh", "text"}
    assert sum(b.language == "sh" for b in blocks) >= 2  # the two commands


def test_the_two_commands_are_the_ones_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    tests_command = re.search(r"# --- begin README test command ---\n(.*)\n# --- end", ci)
    assert tests_command is not None
    commands = [b.code.strip() for b in code_blocks(README) if b.language == "sh"]
    assert tests_command.group(1).strip().replace("$PY ", "python3.11 ") in commands
    assert any("pip install . && .venv/bin/equilibria serve" in c for c in commands)


def test_every_relative_link_resolves() -> None:
    links = _LINK.findall(README.read_text(encoding="utf-8"))
    assert len(links) >= 10, links  # the documentation index
    missing = [link for link in links if not (ROOT / link).is_file()]
    assert missing == []


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        ("```python\nprint(1)\n", "block is never closed"),
        ("```py\nprint(1)\n```\n", "fence language 'py' is not one of"),
        ("```\nprint(1)\n```\n", "fence language '' is not one of"),
        (
            "```python\nx = 1\n\n## Limits\n\n```sh\nls\n```\n",
            "a fence opens inside the python block of line 1",
        ),
    ],
    ids=["unclosed", "py", "bare", "closed-too-late"],
)
def test_the_fence_parser_refuses_broken_pages(page: str, problem: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(page, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(problem)):
        code_blocks(path)


def test_a_text_block_right_after_an_example_is_its_output(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(
        "```python\nprint(1)\n```\n\n```text\n1\n```\n\n```python\nprint(2)\n```\nProse.\n\n```text\n3\n```\n",
        encoding="utf-8",
    )
    first, second = python_blocks(path)
    assert (first.line, first.end, first.output) == (1, 3, "1\n")
    assert second.output is None  # prose between: the text block is not its output


def test_an_example_that_fails_or_prints_otherwise_fails_its_test(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(
        "```python\nprint(2)\n```\n\n```text\n1\n```\n\n```python\nraise SystemExit('no')\n```\n",
        encoding="utf-8",
    )
    wrong_output, failing = python_blocks(path)
    with pytest.raises(AssertionError, match="page.md:1 printed\n2\nbut the page shows\n1"):
        run_example(wrong_output, tmp_path, {})
    with pytest.raises(AssertionError, match="page.md:9 exited 1"):
        run_example(failing, tmp_path, {})


@pytest.mark.e2e
@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.name)
def test_readme_example(block, server: ServerProcess, tmp_path: pathlib.Path) -> None:
    assert block.server in ("none", "plain"), f"{block.name} needs a {block.server} server"
    stdout = run_example(block, tmp_path, {TARGET_ENV: server.target})
    assert stdout.strip(), f"{block.name} printed nothing"
