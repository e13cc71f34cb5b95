"""MkDocs hook: the package as Python imports it, for the API and command-line references.

``equilibria`` is a PEP 420 namespace whose sub-packages live in folders of other names
(``pyproject.toml``'s ``[tool.setuptools.package-dir]``: ``equilibria.solver`` is
``solver/``, ...). At start-up this hook links each mapped folder under
``build/docs-packages/equilibria/``, the search path ``mkdocs.yml`` gives mkdocstrings, and
puts that folder first on ``sys.path``: the reference documents this working tree whatever
is installed, and the docs build in any environment with the ``docs`` extra.

It also replaces each ``<!-- cli-help -->`` (``<!-- cli-help COMMAND -->``) marker of a page
by the output of ``equilibria --help`` (``equilibria COMMAND --help``) at 80 columns,
so the command-line reference is the parser's own help.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import sys
import tomllib
from typing import Any

#: Where the links go, relative to the repository root (``build/`` is ignored by git).
PACKAGES = pathlib.Path("build/docs-packages")
#: ``<!-- cli-help -->`` or ``<!-- cli-help serve -->``.
CLI_MARKER = re.compile(r"<!-- cli-help(?: (?P<command>[a-z-]+))? -->")
#: Width of the rendered help.
COLUMNS = "80"

_ROOT = pathlib.Path(__file__).resolve().parents[2]


def link_packages(root: pathlib.Path = _ROOT) -> pathlib.Path:
    """Link every package of ``root``'s ``package-dir`` under ``root / PACKAGES``; return that folder."""
    mapping = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-dir"
    ]
    base = root / PACKAGES
    for package, folder in mapping.items():
        link = base.joinpath(*package.split("."))
        target = (root / folder).resolve()
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and link.resolve() == target:
            continue
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    return base


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of ``parser`` by name."""
    for action in parser._actions:  # argparse keeps its subparsers action there
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_help(command: str | None) -> str:
    """``equilibria [COMMAND] --help``, as the command prints it at :data:`COLUMNS` columns."""
    from equilibria.service.cli import build_parser

    parser = build_parser()
    if command is not None:
        subcommands = commands(parser)
        if command not in subcommands:
            raise ValueError(f"cli-help marker names {command!r}; the commands are {sorted(subcommands)}")
        parser = subcommands[command]
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = COLUMNS
    try:
        return parser.format_help()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def replace_cli_markers(markdown: str) -> str:
    """``markdown`` with each cli-help marker replaced by a ``text`` block of that help."""
    return CLI_MARKER.sub(lambda m: f"```text\n{cli_help(m.group('command')).rstrip()}\n```", markdown)


def on_startup(command: str, dirty: bool) -> None:
    """MkDocs event: build the package links and import from them first."""
    packages = str(link_packages())
    if packages not in sys.path:
        sys.path.insert(0, packages)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: render the cli-help markers of a page."""
    return replace_cli_markers(markdown)
