"""Gambit's strategic-game file format (``.nfg``, version 1): read and write.

Both bodies are read (the payoff format and the outcome format); payoffs (integers,
decimals or rationals) are read exactly and rounded once to the nearest double. See
docs/normal-form.md (section "The .nfg file format") for the grammar.

Examples
--------
>>> from equilibria.solver.normal_form.nfg import read_nfg, write_nfg
>>> text = '''NFG 1 R "Selten (IJGT, 75), Figure 2, normal form"
... { "Player 1" "Player 2" } { 3 2 }
...
... 1 1 0 2 0 2 1 1 0 3 2 0
... '''
>>> game = read_nfg(text)
>>> game.payoffs[0].tolist(), game.payoffs[1].tolist()
([[1.0, 1.0], [0.0, 0.0], [0.0, 2.0]], [[1.0, 1.0], [2.0, 3.0], [2.0, 0.0]])
>>> print(write_nfg(game, style="payoff"))
NFG 1 R "Selten (IJGT, 75), Figure 2, normal form" { "Player 1" "Player 2" }
{ 3 2 }
<BLANKLINE>
1 1
0 2
0 2
1 1
0 3
2 0
<BLANKLINE>

References
----------
.. [1] The Gambit Project, "Game representation formats: the strategic game (.nfg)
   file format", Gambit documentation, version 16.7.0
   (https://gambitproject.readthedocs.io/en/latest/formats.html).
.. [2] R. Selten, "Reexamination of the perfectness concept for equilibrium points in
   extensive games", International Journal of Game Theory 4 (1975) 25-55 (the game
   of the example, Gambit's ``e02.nfg``).
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import re
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidGameError
from equilibria.solver.game import NormalFormGame

__all__ = ["read_nfg", "write_nfg", "NFG_STYLES"]

#: The bodies :func:`write_nfg` can write.
NFG_STYLES = ("auto", "payoff", "outcome")

_NUMBER = re.compile(r"-?(?:\d+/\d+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_INTEGER = re.compile(r"\d+")


def read_nfg(source: str | bytes | os.PathLike[str] | Any) -> NormalFormGame:
    """Parse a Gambit ``.nfg`` game (payoff or outcome format, version 1).

    Parameters
    ----------
    source : str, bytes, path-like or file-like
        The text of the file (a string that begins with ``NFG`` after white space, or
        contains a newline, a brace or a double quote), the path of a file, or an
        object with a ``read()`` method.

    Returns
    -------
    NormalFormGame
        With the file's title, player names and (outcome format) strategy names. The
        optional comment and the outcome names are not kept.

    Raises
    ------
    InvalidGameError
        With field ``"nfg"``: the file cannot be read, or the text is malformed (the
        message gives the line and column of the offending token), or the game has
        fewer than 2 players.
    """
    text = _source_text(source).removeprefix("\ufeff")  # a UTF-8 byte-order mark is not content
    return _Parser(text).game()


def write_nfg(game: NormalFormGame, *, style: str = "auto") -> str:
    """Serialise a game in Gambit's ``.nfg`` format, version 1.

    Parameters
    ----------
    game : NormalFormGame
    style : str, optional(default="auto")
        ``"payoff"`` (compact: the payoffs themselves, after the strategy names when the
        game has them, else after the strategy counts), ``"outcome"`` (one outcome per
        contingency; keeps the strategy names, ``"1"``, ``"2"``, ... when the game has
        none), or ``"auto"``: ``"outcome"`` when the game has action names, else
        ``"payoff"``. Gambit reads all of them.

    Returns
    -------
    str
        The file's text. Every payoff is written in the shortest decimal that reads
        back as the same double, so :func:`read_nfg` (and Gambit) recover the payoff
        tensor exactly.

    Raises
    ------
    InvalidGameError
        With field ``"style"``, if ``style`` is not one of :data:`NFG_STYLES`.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame
    >>> pennies = NormalFormGame.from_bimatrix(
    ...     [[1, -1], [-1, 1]], title="Matching pennies", action_names=(("H", "T"), ("H", "T"))
    ... )
    >>> print(write_nfg(pennies))
    NFG 1 R "Matching pennies" { "1" "2" }
    { { "H" "T" }
    { "H" "T" }
    }
    ""
    <BLANKLINE>
    {
    { "" 1, -1 }
    { "" -1, 1 }
    { "" -1, 1 }
    { "" 1, -1 }
    }
    1 2 3 4
    <BLANKLINE>
    """
    if style not in NFG_STYLES:
        raise InvalidGameError(
            "style",
            f"write_nfg(): unknown style {style!r}; expected one of {', '.join(map(repr, NFG_STYLES))}",
        )
    if style == "auto":
        style = "outcome" if game.action_names else "payoff"
    n = game.n_players
    players = game.player_names or tuple(str(i + 1) for i in range(n))
    lines = [f"NFG 1 R {_quote(game.title)} {{ {' '.join(_quote(p) for p in players)} }}"]
    # One row per contingency, first player's action varying fastest; players in order.
    rows = np.transpose(game.payoffs, (*range(n, 0, -1), 0)).reshape(-1, n)
    text_rows = [[_number(float(v)) for v in row] for row in rows]
    if style == "payoff" and not game.action_names:
        lines.append("{ " + " ".join(str(k) for k in game.num_actions) + " }")
        lines.append("")
        lines.extend(" ".join(row) for row in text_rows)
        return "\n".join(lines) + "\n"
    names = game.action_names or tuple(tuple(str(a + 1) for a in range(k)) for k in game.num_actions)
    strategy_lines = ["{ " + " ".join(_quote(a) for a in actions) + " }" for actions in names]
    lines.append("{ " + strategy_lines[0])
    lines.extend(strategy_lines[1:])
    lines.append("}")
    lines.append('""')
    lines.append("")
    if style == "payoff":  # strategy names, then the payoffs themselves (as Gambit's own files)
        lines.extend(" ".join(row) for row in text_rows)
    else:
        lines.append("{")
        lines.extend('{ "" ' + ", ".join(row) + " }" for row in text_rows)
        lines.append("}")
        lines.append(" ".join(str(k + 1) for k in range(len(text_rows))))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- writing helpers


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: float) -> str:
    """Shortest decimal that reads back as ``value`` (no exponent: Gambit rejects ``1E+2``)."""
    if value == 0.0:
        return "0"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return np.format_float_positional(value, unique=True, trim="-")


# --------------------------------------------------------------------------- reading


def _source_text(source: Any) -> str:
    if isinstance(source, bytes):
        return _decoded(source)
    if isinstance(source, str) and (source.lstrip().startswith("NFG") or any(c in source for c in '\n{"')):
        return source  # text (a path has no newline, brace or quote)
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if not os.path.isfile(path):
            shown = path if len(path) <= 80 else path[:77] + "..."
            raise InvalidGameError(
                "nfg", f"read_nfg(): {shown!r} is neither NFG text (which begins with 'NFG') nor a file"
            )
        try:
            with open(path, "rb") as handle:
                return _decoded(handle.read())
        except OSError as exc:
            raise InvalidGameError("nfg", f"read_nfg(): cannot read {path!r}: {exc}") from exc
    if isinstance(source, io.IOBase) or hasattr(source, "read"):
        data = source.read()
        return _decoded(data) if isinstance(data, bytes) else str(data)
    raise InvalidGameError(
        "nfg", f"read_nfg(): expected NFG text, a path or a file object, got {type(source).__name__}"
    )


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidGameError("nfg", f"read_nfg(): the file is not UTF-8 text ({exc})") from exc


_TOKEN = re.compile(
    r'(?P<space>\s+)|(?P<punct>[{},])|(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[^\s{},"]+)|(?P<open>")', re.S
)
_ESCAPE = re.compile(r"\\(.)", re.S)


@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str  # "{", "}", ",", "string", "word", "eof"
    text: str
    offset: int

    def shown(self) -> str:
        if self.kind == "eof":
            return "end of input"
        if self.kind == "string":
            return f"string {_quote(self.text)[:40]}"
        return repr(self.text[:40])


def _tokens(text: str) -> list[_Token]:
    """Split NFG text into braces, commas, (unescaped) strings and words."""
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            continue
        if kind == "open":
            line, column = _position(text, match.start())
            raise InvalidGameError("nfg", f"read_nfg(): line {line}, column {column}: unterminated string")
        if kind == "punct":
            tokens.append(_Token(match.group(), match.group(), match.start()))
        elif kind == "string":
            tokens.append(_Token("string", _ESCAPE.sub(r"\1", match.group()[1:-1]), match.start()))
        else:
            tokens.append(_Token("word", match.group(), match.start()))
    tokens.append(_Token("eof", "", len(text)))
    return tokens


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class _Parser:
    """Recursive-descent parser of one NFG file."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.k = 0

    # -- token helpers

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.k + ahead, len(self.tokens) - 1)]

    def error(self, token: _Token, message: str) -> InvalidGameError:
        line, column = _position(self.text, token.offset)
        return InvalidGameError("nfg", f"read_nfg(): line {line}, column {column}: {message}")

    def fail(self, token: _Token, expected: str) -> InvalidGameError:
        return self.error(token, f"expected {expected}, found {token.shown()}")

    def take(self, kind: str, expected: str) -> _Token:
        token = self.peek()
        if token.kind != kind:
            raise self.fail(token, expected)
        self.k += 1
        return token

    def keyword(self, word: str, expected: str) -> _Token:
        token = self.take("word", expected)
        if token.text != word:
            raise self.fail(token, expected)
        return token

    def strings(self, expected: str) -> list[str]:
        """``{ "a" "b" ... }`` (possibly empty)."""
        self.take("{", f"'{{' opening {expected}")
        names = []
        while self.peek().kind == "string":
            names.append(self.take("string", expected).text)
        self.take("}", f"a quoted name or '}}' closing {expected}")
        return names

    def number(self, expected: str) -> float:
        token = self.take("word", expected)
        if not _NUMBER.fullmatch(token.text):
            raise self.fail(token, expected)
        try:
            value = float(Fraction(token.text)) if "/" in token.text else float(token.text)
        except ZeroDivisionError:
            raise self.error(token, f"division by zero in {token.text!r}") from None
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise self.error(token, f"payoff {token.text!r} is too large for a double")
        return value

    def integer(self, expected: str) -> tuple[int, _Token]:
        token = self.take("word", expected)
        if not _INTEGER.fullmatch(token.text):
            raise self.fail(token, expected)
        return int(token.text), token

    def ensure_left(self, count: int, expected: str) -> None:
        """Fail early (before allocating) when fewer than ``count`` tokens remain."""
        left = len(self.tokens) - 1 - self.k
        if left < count:
            raise self.error(
                self.tokens[-1], f"expected {count:,} {expected}, found only {left:,} more tokens"
            )

    # -- grammar

    def game(self) -> NormalFormGame:
        self.keyword("NFG", "'NFG' at the start of the file")
        version = self.take("word", "the format version 1")
        if version.text != "1":
            raise self.error(version, f"only NFG version 1 is supported, found {version.shown()}")
        precision = self.take("word", "'R' or 'D' (the number representation)")
        if precision.text not in ("R", "D"):
            raise self.fail(precision, "'R' or 'D' (the number representation)")
        title = self.take("string", "the game's title as a quoted string").text
        first = self.peek()
        players = self.strings("the player names")
        n = len(players)
        if n < 2:
            raise self.error(first, f"the game has {n} player{'' if n == 1 else 's'}; at least 2 are needed")
        opening = self.peek()
        if opening.kind == "{" and self.peek(1).kind == "{":
            action_names = self.strategy_lists(n)
            dims = tuple(len(names) for names in action_names)
        elif opening.kind == "{":
            dims = self.dimensions(n)
            action_names = ()
        else:
            raise self.fail(opening, "'{' opening the strategy counts or the strategy names")
        if self.peek().kind == "string":
            self.k += 1  # the comment
        contingencies = math.prod(dims)
        # Either body may follow either header: Gambit writes strategy names with an outcome
        # list, and its "payoff" files with strategy names give the payoffs directly.
        if self.peek().kind == "{":
            table = self.outcome_body(n, contingencies)
        else:
            table = self.payoff_body(n, contingencies)
        self.take("eof", "the end of the file")
        return NormalFormGame(
            _tensor(table, dims), title=title, player_names=tuple(players), action_names=action_names
        )

    def strategy_lists(self, n: int) -> tuple[tuple[str, ...], ...]:
        self.take("{", "'{' opening the strategy names")
        lists = []
        while self.peek().kind == "{":
            token = self.peek()
            names = self.strings(f"the strategy names of player {len(lists) + 1}")
            if not names:
                raise self.error(token, f"player {len(lists) + 1} has no strategies")
            lists.append(tuple(names))
        closing = self.take("}", "'{' or '}' in the strategy names")
        if len(lists) != n:
            raise self.error(closing, f"{len(lists)} strategy lists for {n} players")
        return tuple(lists)

    def dimensions(self, n: int) -> tuple[int, ...]:
        self.take("{", "'{' opening the strategy counts")
        dims = []
        while self.peek().kind == "word":
            count, token = self.integer("a number of strategies")
            if count < 1:
                raise self.error(token, f"player {len(dims) + 1} has no strategies")
            dims.append(count)
        closing = self.take("}", "a number of strategies or '}'")
        if len(dims) != n:
            raise self.error(closing, f"{len(dims)} strategy counts for {n} players")
        return tuple(dims)

    def payoff_body(self, n: int, contingencies: int) -> npt.NDArray[np.float64]:
        """Each contingency's payoffs, one per player, first player's strategy fastest."""
        self.ensure_left(n * contingencies, "payoffs")
        payoffs = [self.number("a numerical payoff (or '{' opening a list of outcomes)")]
        payoffs += [self.number("a numerical payoff") for _ in range(n * contingencies - 1)]
        return np.array(payoffs).reshape(-1, n)

    def outcome_body(self, n: int, contingencies: int) -> npt.NDArray[np.float64]:
        self.take("{", "'{' opening the list of outcomes")
        outcomes = [np.zeros(n)]  # index 0: the null outcome
        while self.peek().kind == "{":
            self.k += 1
            self.take("string", "the outcome's name as a quoted string")
            payoffs = []
            for i in range(n):
                payoffs.append(self.number(f"the payoff of player {i + 1}"))
                if self.peek().kind == ",":
                    self.k += 1
            self.take("}", f"'}}' closing an outcome of {n} payoffs")
            outcomes.append(np.array(payoffs))
        self.take("}", "'{' opening an outcome or '}' closing the list")
        self.ensure_left(contingencies, "outcome indices")
        index = np.empty(contingencies, dtype=np.intp)
        for k in range(contingencies):
            value, token = self.integer("an outcome index")
            if value >= len(outcomes):
                raise self.error(
                    token, f"outcome index {value} but only {len(outcomes) - 1} outcomes are defined"
                )
            index[k] = value
        return np.stack(outcomes)[index]


def _tensor(table: npt.NDArray[np.float64], dims: tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Payoff tensor ``(n, a_1..a_n)`` from rows of per-player payoffs, first player fastest."""
    n = len(dims)
    stacked = table.reshape(*dims[::-1], n)  # axes: a_n, ..., a_1, player
    return np.transpose(stacked, (n, *range(n - 1, -1, -1)))
