"""MkDocs hook: the wire API reference, rendered from ``proto/equilibria/v1/*.proto``.

The page ``reference/proto.md`` holds the marker ``<!-- proto-reference -->``; at build
time it is replaced by the service's RPCs and every message and enum with its fields and
their comments, read from the ``.proto`` files themselves, so the page cannot drift from
the API. The parser knows the constructs these files use (services, messages, enums,
oneofs, ``repeated``/``optional``/``map`` fields, ``reserved``) and refuses anything
else with the file and line, so a new construct fails the strict build instead of
vanishing from the page. Importable without MkDocs (``tests/test_docs_examples.py``
checks the rendering against the generated descriptors).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any

#: The page whose marker is replaced, and the marker.
PAGE = "reference/proto.md"
MARKER = "<!-- proto-reference -->"
#: The API's folder, relative to the repository root (the folder above ``docs/``).
PROTO_DIR = pathlib.Path("proto/equilibria/v1")
#: The files in the order the page shows them: the service first.
FILES = ("equilibria_service.proto", "game.proto", "solution.proto", "trace.proto")


@dataclasses.dataclass
class Field:
    """One field of a message."""

    name: str
    type: str
    number: int
    label: str  # "repeated", "optional", "map" or ""
    oneof: str | None
    doc: str


@dataclasses.dataclass
class Message:
    """A message: its fields in declaration order and the comments of its oneofs."""

    name: str
    doc: str
    fields: list[Field] = dataclasses.field(default_factory=list)
    oneofs: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class EnumValue:
    """One value of an enum."""

    name: str
    number: int
    doc: str


@dataclasses.dataclass
class Enum:
    """An enum and its values."""

    name: str
    doc: str
    values: list[EnumValue] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Rpc:
    """One method of a service."""

    name: str
    request: str
    response: str
    client_streaming: bool
    server_streaming: bool
    doc: str


@dataclasses.dataclass
class Service:
    """A service and its methods."""

    name: str
    doc: str
    rpcs: list[Rpc] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ProtoFile:
    """The declarations of one ``.proto`` file, in file order."""

    name: str
    doc: str
    declarations: list[Service | Message | Enum] = dataclasses.field(default_factory=list)


_COMMENT = re.compile(r"^//\s?(.*)$")
_OPEN = re.compile(r"^(service|message|enum|oneof) (\w+) \{(\})?$")
_RPC = re.compile(r"^rpc (\w+)\((stream )?([\w.]+)\) returns \((stream )?([\w.]+)\);$")
_FIELD = re.compile(r"^(repeated |optional )?([\w.]+) (\w+) = (\d+);$")
_MAP_FIELD = re.compile(r"^map<([\w.]+), ?([\w.]+)> (\w+) = (\d+);$")
_ENUM_VALUE = re.compile(r"^([A-Z][A-Z0-9_]*) = (-?\d+);$")
_IGNORED = re.compile(r"^(syntax|package|import|option|reserved) ")


def parse(path: pathlib.Path) -> ProtoFile:
    """The declarations of the ``.proto`` file at ``path`` with their comments.

    Raises
    ------
    ValueError
        A line this parser does not understand, naming the file and line.
    """
    result = ProtoFile(path.name, "")
    stack: list[Service | Message | Enum | tuple[Message, str]] = []
    comment: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        where = f"{path.name}:{number}"
        if not line:
            if comment and not result.doc and not result.declarations and not stack:
                result.doc = " ".join(comment)
            comment = []
            continue
        if match := _COMMENT.match(line):
            comment.append(match.group(1).strip())
            continue
        doc = " ".join(comment)
        comment = []
        if _IGNORED.match(line):
            if doc and not result.doc and not result.declarations:
                result.doc = doc  # a file comment right above `syntax`
            continue
        if line == "}":
            if not stack:
                raise ValueError(f"{where}: '}}' closes nothing")
            stack.pop()
            continue
        top = stack[-1] if stack else None
        if match := _OPEN.match(line):
            kind, name, closed = match.groups()
            if kind == "oneof":
                if not isinstance(top, Message):
                    raise ValueError(f"{where}: oneof {name} outside a message")
                top.oneofs[name] = doc
                opened: Any = (top, name)
            elif kind == "service":
                opened = Service(name, doc)
            elif kind == "message":
                opened = Message(name, doc)
            else:
                opened = Enum(name, doc)
            if not isinstance(opened, tuple):
                if top is not None:
                    raise ValueError(f"{where}: nested {kind} {name} is not supported by the docs renderer")
                result.declarations.append(opened)
            if not closed:
                stack.append(opened)
            continue
        if isinstance(top, Service) and (match := _RPC.match(line)):
            name, client_stream, request, server_stream, response = match.groups()
            top.rpcs.append(Rpc(name, request, response, bool(client_stream), bool(server_stream), doc))
            continue
        if isinstance(top, Enum) and (match := _ENUM_VALUE.match(line)):
            top.values.append(EnumValue(match.group(1), int(match.group(2)), doc))
            continue
        if isinstance(top, Message | tuple):
            message, oneof = (top, None) if isinstance(top, Message) else top
            if match := _FIELD.match(line):
                label, type_, name, tag = match.groups()
                message.fields.append(Field(name, type_, int(tag), (label or "").strip(), oneof, doc))
                continue
            if match := _MAP_FIELD.match(line):
                key, value, name, tag = match.groups()
                message.fields.append(Field(name, f"map<{key}, {value}>", int(tag), "map", oneof, doc))
                continue
        raise ValueError(f"{where}: the docs renderer cannot parse {line!r}")
    if stack:
        raise ValueError(f"{path.name}: {len(stack)} block(s) not closed at the end of the file")
    return result


def _cell(text: str) -> str:
    """Text for a Markdown table cell: pipes, asterisks and angle brackets escaped."""
    for raw, escaped in (("|", "\\|"), ("*", "\\*"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(raw, escaped)
    return text or " "


def _type(name: str, local: set[str]) -> str:
    """A type name, linked to its section when this package declares it."""
    short = name.removeprefix("equilibria.v1.")
    return f"[`{short}`](#{short.lower()})" if short in local else f"`{name}`"


def _rpc_type(name: str, streaming: bool, local: set[str]) -> str:
    return ("stream " if streaming else "") + _type(name, local)


def _field_type(field: Field, local: set[str]) -> str:
    if field.label == "map":
        return f"`{field.type}`"
    prefix = f"{field.label} " if field.label else ""
    return prefix + _type(field.type, local)


def _render_declaration(declaration: Service | Message | Enum, local: set[str]) -> list[str]:
    if isinstance(declaration, Service):
        lines = [f"### {declaration.name}", "", _cell(declaration.doc), ""]
        lines += ["| RPC | request | response | what it does |", "|---|---|---|---|"]
        for rpc in declaration.rpcs:
            lines.append(
                f"| `{rpc.name}` | {_rpc_type(rpc.request, rpc.client_streaming, local)} "
                f"| {_rpc_type(rpc.response, rpc.server_streaming, local)} | {_cell(rpc.doc)} |"
            )
        return [*lines, ""]
    if isinstance(declaration, Enum):
        lines = [f"### {declaration.name}", "", f"Enum. {_cell(declaration.doc)}", ""]
        lines += ["| value | number | meaning |", "|---|---|---|"]
        lines += [f"| `{v.name}` | {v.number} | {_cell(v.doc)} |" for v in declaration.values]
        return [*lines, ""]
    lines = [f"### {declaration.name}", "", _cell(declaration.doc), ""]
    if not declaration.fields:
        return [*lines, "No fields.", ""]
    lines += ["| field | type | number | meaning |", "|---|---|---|---|"]
    for field in declaration.fields:
        doc = field.doc
        if field.oneof is not None:
            oneof_doc = declaration.oneofs[field.oneof]
            doc = f"One of `{field.oneof}` ({oneof_doc.rstrip('.')}). {doc}" if oneof_doc else doc
        lines.append(f"| `{field.name}` | {_field_type(field, local)} | {field.number} | {_cell(doc)} |")
    return [*lines, ""]


def render(proto_dir: pathlib.Path, files: tuple[str, ...] = FILES) -> str:
    """The Markdown reference of the ``.proto`` files ``files`` in ``proto_dir``.

    Every file of ``proto_dir`` must be listed: a new file fails the build until it has
    its place on the page.
    """
    present = sorted(p.name for p in proto_dir.glob("*.proto"))
    if sorted(files) != present:
        raise ValueError(f"{proto_dir}: the page lists {sorted(files)}, the folder holds {present}")
    parsed = [parse(proto_dir / name) for name in files]
    local = {d.name for f in parsed for d in f.declarations}
    lines: list[str] = []
    for proto in parsed:
        lines += [f"## {proto.name}", "", _cell(proto.doc), ""]
        for declaration in proto.declarations:
            lines += _render_declaration(declaration, local)
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: replace the marker of :data:`PAGE` by the rendered reference."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its marker {MARKER}")
    root = pathlib.Path(config["config_file_path"]).parent
    return markdown.replace(MARKER, render(root / PROTO_DIR))
