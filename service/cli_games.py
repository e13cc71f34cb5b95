"""The files of the command line: game files and ``.npz`` traces, read and checked before anything is sent.

A game file is a Gambit ``.nfg`` (payoff or outcome format) or a JSON object holding
``{"payoffs": tensor}`` (shape ``(n_players, a_1, ..., a_n)``), ``{"A": matrix, "B":
matrix}`` (a bimatrix game) or a stochastic game ``{"rewards", "transitions", ...}``
(the fields of :class:`equilibria.client.StochasticGame`; ``transitions`` dense or as
``{"rows", "next_states", "probabilities"}``). A trace is an ``.npz`` archive of arrays.

Whatever is wrong with a file (missing, not JSON, ragged, mismatched shapes, a malformed
``.nfg``) raises :class:`GameFileError`, whose message names the file and the problem in
one line; the command prints it and exits with status 2.
"""

from __future__ import annotations

import io
import json
import pathlib
import zipfile
from typing import Any

import numpy as np

__all__ = ["GAME_SUFFIXES", "GameFileError", "read_game", "read_trace"]

#: Suffixes of the game files ``solve --batch`` reads from its folder.
GAME_SUFFIXES = (".nfg", ".json")
#: Keys of a stochastic game's transitions in coordinate form, in the client's triple order.
_COORDINATE_KEYS = ("rows", "next_states", "probabilities")


class GameFileError(ValueError):
    """A game or trace file that cannot be used; the message names the file and why."""


def _text(path: pathlib.Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GameFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise GameFileError(f"{path}: is a folder, not a game file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GameFileError(f"{path}: unreadable: {exc}") from None


def _shape(value: Any, where: str) -> tuple[int, ...]:
    """The shape of nested JSON lists of numbers; a ragged or non-numeric entry is named by its index path."""
    if isinstance(value, list):
        shapes = [_shape(item, f"{where}[{k}]") for k, item in enumerate(value)]
        for k, shape in enumerate(shapes):
            if shape != shapes[0]:
                raise GameFileError(
                    f"{where} is ragged: {where}[{k}] has shape {shape} but {where}[0] has shape {shapes[0]}"
                )
        return (len(value), *(shapes[0] if shapes else ()))
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return ()  # null is sent as NaN: the server names the non-finite payoff
    raise GameFileError(f"{where} is {json.dumps(value)}, not a number")


def _array(data: dict[str, Any], key: str, path: pathlib.Path) -> np.ndarray:
    try:
        _shape(data[key], key)
    except GameFileError as exc:
        raise GameFileError(f"{path}: {exc}") from None
    return np.array(data[key], dtype=np.float64)


def _normal_form(data: dict[str, Any], path: pathlib.Path) -> Any:
    if "standard_errors" in data:  # an empirical game: its sample means and their standard errors
        return {
            "payoffs": _array(data, "payoffs", path),
            "standard_errors": _array(data, "standard_errors", path),
        }
    if "payoffs" in data:
        return _array(data, "payoffs", path)
    a, b = _array(data, "A", path), _array(data, "B", path)
    if a.ndim != 2 or a.shape != b.shape:
        raise GameFileError(
            f"{path}: 'A' and 'B' must be matrices of one shape (rows: player 0's actions, columns: "
            f"player 1's), got shapes {a.shape} and {b.shape}"
        )
    return (a, b)


def _stochastic(data: dict[str, Any], path: pathlib.Path) -> Any:
    from equilibria.client import InvalidGameError, StochasticGame

    fields = {"discount": 0.0, **data}
    transitions = fields["transitions"]
    if isinstance(transitions, dict):  # coordinate form
        missing = [key for key in _COORDINATE_KEYS if key not in transitions]
        if missing:
            raise GameFileError(
                f"{path}: 'transitions' in coordinate form needs {', '.join(map(repr, _COORDINATE_KEYS))}; "
                f"missing {', '.join(map(repr, missing))}"
            )
        fields["transitions"] = tuple(np.asarray(transitions[key]) for key in _COORDINATE_KEYS)
    try:
        return StochasticGame.from_any(fields)
    except InvalidGameError as exc:
        raise GameFileError(f"{path}: {exc.message}") from None


def read_game(path: str | pathlib.Path) -> Any:
    """The game of a file, in a form :class:`~equilibria.client.Client` sends.

    Returns
    -------
    NormalFormGame, ndarray, tuple of ndarray, or StochasticGame
        The solver's ``NormalFormGame`` of an ``.nfg`` file (with its names); a payoff
        tensor; a pair ``(A, B)``; or a checked :class:`equilibria.client.StochasticGame`.

    Raises
    ------
    GameFileError
        Naming the file and what is wrong with it.
    """
    path = pathlib.Path(path)
    text = _text(path)
    if path.suffix.lower() == ".nfg":
        from equilibria.solver.normal_form.nfg import read_nfg

        try:
            return read_nfg(io.StringIO(text))
        except ValueError as exc:  # the solver's InvalidGameError, with line and column
            raise GameFileError(f"{path}: unreadable: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GameFileError(f"{path}: unreadable: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise GameFileError(f"{path}: unreadable: a game file holds a JSON object")
    if "rewards" in data and "transitions" in data:
        return _stochastic(data, path)
    if "payoffs" in data or ("A" in data and "B" in data):
        return _normal_form(data, path)
    raise GameFileError(f"{path}: holds none of 'payoffs', both 'A' and 'B', or 'rewards' and 'transitions'")


def read_trace(path: str | pathlib.Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` trace, by name.

    Raises
    ------
    GameFileError
        When the file is missing or not an ``.npz`` archive.
    """
    path = pathlib.Path(path)
    if path.is_file() and not zipfile.is_zipfile(path):
        raise GameFileError(f"{path}: not an .npz archive of named arrays (np.savez writes one)")
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise GameFileError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise GameFileError(f"{path}: unreadable as .npz: {exc}") from None
    with data:
        try:
            return {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise GameFileError(f"{path}: unreadable as .npz: {exc}") from None
