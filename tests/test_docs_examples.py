"""The documentation site: every ```python example of docs/ runs, and the generated references are whole.

Each example runs unchanged as a script, with ``EQUILIBRIA_TARGET`` naming the server it
needs: the suite's server; a mutual-TLS server with a bearer token (the TLS example,
with ``ca.pem``, ``client.pem``, ``client.key`` in its folder and the token in
``EQUILIBRIA_TOKEN``); two replicas (the load-balancing example); or none. A ```text block
right after an example is what it prints. The number of examples per page is pinned.
The build itself (``mkdocs build --strict``) runs in ``.ci/run``; here the hooks it runs
are checked against the API they render: every RPC, message, enum and field of the
``.proto`` files, and every subcommand of the ``equilibria`` command.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import shutil
import sys
from collections.abc import Iterator
from types import ModuleType

import numpy as np
import pytest
import yaml
from equilibria.service.cli import build_parser

from .conftest import ServerProcess, running_server
from .markdown_examples import ROOT, TARGET_ENV, TOKEN_ENV, CodeBlock, code_blocks, python_blocks, run_example
from .service.test_security_e2e import pki  # noqa: F401 - the throw-away CA, server and client certificates

DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.relative_to(DOCS).parts)
#: Python examples per page; a page missing here has none.
EXAMPLES = {
    "docs/getting-started.md": 4,
    "docs/guide/normal-form-games.md": 11,
    "docs/guide/stochastic-games.md": 4,
    "docs/guide/trace-scoring.md": 2,
    "docs/guide/reports.md": 1,
    "docs/guide/batch.md": 4,
    "docs/guide/file-formats.md": 1,
    "docs/operations/kubernetes.md": 1,
    "docs/operations/security.md": 1,
    "docs/operations/limits.md": 1,
    "docs/traces.md": 1,
}
BLOCKS = [block for page in PAGES for block in python_blocks(page)]
TOKEN = "docs-example-token-3f9a"


def _hook(name: str) -> ModuleType:
    """A module of docs/hooks/, imported from its file."""
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", DOCS / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# -- the pages -----------------------------------------------------------------------------------


def test_every_python_example_is_collected() -> None:
    counts: dict[str, int] = {}
    for block in BLOCKS:
        counts[block.page] = counts.get(block.page, 0) + 1
    assert counts == EXAMPLES


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(node: object) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for child in node:
                yield from pages(child)
        elif isinstance(node, dict):
            for child in node.values():
                yield from pages(child)

    in_nav = list(pages(config["nav"]))
    assert len(in_nav) == len(set(in_nav))
    assert sorted(in_nav) == sorted(p.relative_to(DOCS).as_posix() for p in PAGES)
    assert config["exclude_docs"].split() == ["hooks/"]


def test_every_fence_names_a_known_language() -> None:
    languages = {block.language for page in PAGES for block in code_blocks(page)}
    assert {"python", "sh", "text"} <= languages  # code_blocks raises on an unknown or unclosed fence


def test_the_nfg_example_is_the_prisoners_dilemma(tmp_path: pathlib.Path) -> None:
    from equilibria.solver.normal_form.nfg import read_nfg

    blocks = code_blocks(DOCS / "guide" / "file-formats.md")
    nfg = next(b for b in blocks if b.language == "text" and b.code.startswith("NFG 1 R"))
    path = tmp_path / "pd.nfg"
    path.write_text(nfg.code, encoding="utf-8")
    game = read_nfg(path)
    np.testing.assert_array_equal(game.payoffs, [[[3, 0], [5, 1]], [[3, 5], [0, 1]]])


# -- the generated references --------------------------------------------------------------------


def test_the_proto_reference_names_every_rpc_message_enum_and_field() -> None:
    from equilibria.v1 import equilibria_service_pb2, game_pb2, solution_pb2, trace_pb2

    proto = _hook("proto_reference")
    proto_dir = pathlib.Path(equilibria_service_pb2.__file__).parent  # the .proto files ship beside it
    page = proto.render(proto_dir)
    headings = set(re.findall(r"^### (\w+)$", page, flags=re.MULTILINE))
    rows = set(re.findall(r"^\| `(\w+)` \|", page, flags=re.MULTILINE))
    expected_headings, expected_rows = set(), set()
    for module in (equilibria_service_pb2, game_pb2, solution_pb2, trace_pb2):
        file = module.DESCRIPTOR
        for service in file.services_by_name.values():
            expected_headings.add(service.name)
            expected_rows |= {method.name for method in service.methods}
        for message in file.message_types_by_name.values():
            expected_headings.add(message.name)
            expected_rows |= {field.name for field in message.fields}
        for enum in file.enum_types_by_name.values():
            expected_headings.add(enum.name)
            expected_rows |= {value.name for value in enum.values}
    assert headings == expected_headings
    assert rows == expected_rows
    parsed = [proto.parse(proto_dir / name) for name in proto.FILES]
    undocumented = [
        f"{d.name}.{item.name}"
        for f in parsed
        for d in f.declarations
        for item in getattr(d, "fields", getattr(d, "values", getattr(d, "rpcs", [])))
        if not item.doc
    ]
    assert undocumented == []
    assert "stream [`ScoreTraceRequest`](#scoretracerequest)" in page


def test_the_proto_renderer_refuses_what_it_cannot_parse(tmp_path: pathlib.Path) -> None:
    proto = _hook("proto_reference")
    path = tmp_path / "odd.proto"
    path.write_text('syntax = "proto3";\nmessage A {\n  extensions 100 to 199;\n}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"odd.proto:3: the docs renderer cannot parse"):
        proto.parse(path)


def test_the_cli_reference_shows_every_command() -> None:
    source_tree = _hook("source_tree")
    page = (DOCS / "guide" / "cli.md").read_text(encoding="utf-8")
    marked = [m.group("command") for m in source_tree.CLI_MARKER.finditer(page)]
    commands = source_tree.commands(build_parser())
    assert sorted(marked, key=str) == sorted([None, *commands], key=str)
    rendered = source_tree.replace_cli_markers(page)
    assert "<!-- cli-help" not in rendered
    for command in commands:
        assert f"usage: equilibria {command}" in rendered


def test_the_package_links_follow_pyproject(tmp_path: pathlib.Path) -> None:
    source_tree = _hook("source_tree")
    (tmp_path / "solver").mkdir()
    (tmp_path / "proto" / "v1").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools.package-dir]\n"pkg.solver" = "solver"\n"pkg.v1" = "proto/v1"\n', encoding="utf-8"
    )
    base = source_tree.link_packages(tmp_path)
    assert (base / "pkg" / "solver").resolve() == (tmp_path / "solver").resolve()
    assert (base / "pkg" / "v1").resolve() == (tmp_path / "proto" / "v1").resolve()
    assert sorted(p.name for p in (base / "pkg").iterdir()) == ["solver", "v1"]


# -- the examples --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(pki: pathlib.Path) -> Iterator[ServerProcess]:  # noqa: F811 - the imported fixture
    """A server requiring mutual TLS and a bearer token."""
    tokens = pki / "tokens.txt"
    tokens.write_text(TOKEN + "\n", encoding="utf-8")
    with running_server(
        "--workers",
        "1",
        "--tls-cert",
        str(pki / "server.pem"),
        "--tls-key",
        str(pki / "server.key"),
        "--tls-client-ca",
        str(pki / "ca.pem"),
        "--token-file",
        str(tokens),
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def replicas() -> Iterator[str]:
    """Two servers, as one ``ipv4:`` target of both addresses."""
    with running_server("--workers", "1") as first, running_server("--workers", "1") as second:
        yield f"ipv4:{first.target},{second.target}"


def _marks(block: CodeBlock) -> list[pytest.MarkDecorator]:
    return [pytest.mark.e2e] + ([pytest.mark.ray] if block.uses_ray else [])


@pytest.mark.parametrize("block", [pytest.param(b, id=b.name, marks=_marks(b)) for b in BLOCKS])
def test_docs_example(block: CodeBlock, request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> None:
    env: dict[str, str] = {}
    if block.server in ("none", "plain"):
        env[TARGET_ENV] = request.getfixturevalue("server").target
    elif block.server == "replicas":
        env[TARGET_ENV] = request.getfixturevalue("replicas")
    else:
        assert block.server == "tls"
        certificates = request.getfixturevalue("pki")
        for name in ("ca.pem", "client.pem", "client.key"):
            shutil.copy(certificates / name, tmp_path / name)
        env[TARGET_ENV] = request.getfixturevalue("tls_server").target
        env[TOKEN_ENV] = TOKEN
    stdout = run_example(block, tmp_path, env)
    assert stdout.strip(), f"{block.name} printed nothing"


@pytest.mark.e2e
def test_the_documented_files_work_with_the_command_line(
    server: ServerProcess, tmp_path: pathlib.Path
) -> None:
    """The file-formats example writes a game, a stochastic game and a trace; the CLI reads each."""
    import subprocess

    example = python_blocks(DOCS / "guide" / "file-formats.md")[0]
    run_example(example, tmp_path, {})
    cli = [sys.executable, "-m", "equilibria.service.cli"]
    for arguments in (
        ["solve", "rps.json"],
        ["solve", "alternating.json"],
        ["score", "trace.npz", "--game", "rps.json"],
    ):
        completed = subprocess.run(
            [*cli, *arguments, "--target", server.target],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert completed.returncode == 0, (arguments, completed.stderr[-3000:])
        assert completed.stdout.strip(), arguments
