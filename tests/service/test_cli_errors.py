"""Mistakes at the command line: one line on stderr naming the problem, never a traceback.

Usage errors (a bad flag value, an unknown name, an unusable file, a request the server
refuses as invalid) exit with status 2; runtime errors (no server, a failed call, a
report that cannot be written) with 1. Files are checked before the server is dialled,
so the cases without a server use a target nothing listens on.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest
from equilibria.service import server as server_module
from equilibria.service.limits import Limits
from equilibria.service.server import AddressUnavailable, start_server
from equilibria.v1.codec import CONCEPTS

from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e

#: Never dialled by the cases that fail before connecting (port 9, "discard").
NOWHERE = "127.0.0.1:9"
STAG_HUNT = {"A": [[4, 0], [3, 3]], "B": [[4, 3], [0, 3]]}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "equilibria.service.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _error_line(done: subprocess.CompletedProcess[str], status: int, command: str = "solve") -> str:
    """The single stderr line of a command that failed with ``status``, without its prefix."""
    assert done.returncode == status, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    prefix = f"equilibria {command}: "
    assert line.startswith(prefix), line
    return line.removeprefix(prefix)


def _file(tmp_path: pathlib.Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_ragged_json_game_names_the_ragged_entry(tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, "ragged.json", json.dumps({"payoffs": [[[1, 2], [3]], [[0, 1], [1, 0]]]}))
    line = _error_line(_run("solve", path, "--target", NOWHERE), 2)
    assert line == (
        f"{path}: payoffs[0] is ragged: payoffs[0][1] has shape (1,) but payoffs[0][0] has shape (2,)"
    )


def test_a_non_numeric_payoff_is_named(tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, "words.json", json.dumps({"A": [[1, "two"], [3, 4]], "B": [[1, 2], [3, 4]]}))
    assert (
        _error_line(_run("solve", path, "--target", NOWHERE), 2) == f'{path}: A[0][1] is "two", not a number'
    )


def test_mismatched_a_and_b_shapes_are_named(tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, "shapes.json", json.dumps({"A": [[1, 2], [3, 4]], "B": [[1, 2, 3], [4, 5, 6]]}))
    line = _error_line(_run("solve", path, "--target", NOWHERE), 2)
    assert line.startswith(f"{path}: 'A' and 'B' must be matrices of one shape")
    assert line.endswith("got shapes (2, 2) and (2, 3)")


def test_an_unknown_concept_lists_the_valid_names(tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, "stag.json", json.dumps(STAG_HUNT))
    line = _error_line(_run("solve", path, "--target", NOWHERE, "--concepts", "nash, bogus"), 2)
    assert (
        "argument --concepts: unknown concept 'bogus'; expected one of " + ", ".join(CONCEPTS.names) in line
    )


def test_concepts_with_spaces_simply_work(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, "stag.json", json.dumps(STAG_HUNT))
    done = _run("solve", path, "--target", server.target, "--json", "--concepts", " nash,  welfare_nash ,")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["concepts"] == ["nash", "welfare_nash"]


def test_a_bad_nfg_file_names_line_and_column(tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, "bad.nfg", 'NFG 1 R "x" { "a" "b" } { 2 2 }\n1 2 3\n')
    line = _error_line(_run("solve", path, "--target", NOWHERE), 2)
    assert (
        line
        == f"{path}: unreadable: read_nfg(): line 3, column 1: expected 8 payoffs, found only 3 more tokens"
    )


def test_a_missing_file_is_named(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "nowhere.json")
    assert _error_line(_run("solve", path, "--target", NOWHERE), 2) == f"{path}: no such file"


def test_a_missing_trace_is_named(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "nowhere.npz")
    assert _error_line(_run("score", path, "--target", NOWHERE), 2, "score") == f"{path}: no such file"


def test_a_trace_that_is_not_an_npz_is_named(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "trace.npy"
    np.save(path, np.ones((3, 2)))
    line = _error_line(_run("score", str(path), "--target", NOWHERE), 2, "score")
    assert line == f"{path}: not an .npz archive of named arrays (np.savez writes one)"


@pytest.mark.parametrize(
    ("flag", "value", "reason"),
    [
        ("--tol", "-1", "argument --tol/--tolerance: -1 is not a tolerance (a number >= 0)"),
        ("--max-equilibria", "many", "argument --max-equilibria: 'many' is not an integer"),
        ("--time-budget", "0", "argument --time-budget: 0 is not a positive number of seconds"),
        ("--welfare", "happiness", "argument --welfare: unknown welfare function 'happiness'"),
        ("--alpha", "0", "argument --alpha: 0 is not a positive number"),
        ("--populations", "two", "argument --populations: invalid choice: 'two'"),
        ("--rule", "fictitious", "argument --rule: invalid choice: 'fictitious'"),
        ("--grid", "0", "argument --grid: 0 is not a positive integer"),
        ("--horizon", "-2", "argument --horizon: -2 is not a positive number"),
    ],
)
def test_a_bad_flag_value_is_a_usage_error(
    tmp_path: pathlib.Path, flag: str, value: str, reason: str
) -> None:
    path = _file(tmp_path, "stag.json", json.dumps(STAG_HUNT))
    assert reason in _error_line(_run("solve", path, "--target", NOWHERE, flag, value), 2)


def test_a_flag_of_the_other_kind_of_game_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, "stag.json", json.dumps(STAG_HUNT))
    line = _error_line(_run("solve", path, "--target", NOWHERE, "--stage-selection", "utilitarian"), 2)
    assert line == f"--stage-selection does not apply to {path}: it is a normal-form game"
    stochastic = _file(
        tmp_path, "chain.json", json.dumps({"rewards": [[[[1.0]], [[1.0]]]], "transitions": [[[[1.0]]]]})
    )
    line = _error_line(_run("solve", stochastic, "--target", NOWHERE, "--alpha", "3"), 2)
    assert line == f"--alpha does not apply to {stochastic}: it is a stochastic game"
    line = _error_line(_run("solve", stochastic, "--target", NOWHERE, "--sample-seed", "3"), 2)
    assert line == f"--sample-seed does not apply to {stochastic}: it is a stochastic game"


def test_an_unwritable_report_keeps_the_answer(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    """The answer is printed first; the report's failure follows in one line, status 1."""
    path = _file(tmp_path, "stag.json", json.dumps(STAG_HUNT))
    report = tmp_path / "no-such-folder" / "stag.html"
    done = _run("solve", path, "--target", server.target, "--json", "--report", str(report))
    line = _error_line(done, 1)
    assert line == f"--report: cannot write {report}: No such file or directory"
    assert len(json.loads(done.stdout)["equilibria"]) == 3


def test_an_unreachable_server_is_a_runtime_error(tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, "stag.json", json.dumps(STAG_HUNT))
    line = _error_line(_run("solve", path, "--target", NOWHERE), 1)
    assert line.startswith("UNAVAILABLE: ") and f"is a server running at {NOWHERE}?" in line


def test_a_failed_call_prints_the_status_name(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    """A call past its deadline: the gRPC status and its message. The game is new to the server
    (no cached answer) and its correlated equilibrium is an LP over 3,600 joint actions: seconds
    of work, against a deadline of 50 ms (a microsecond could be beaten by a cached answer)."""
    payoffs = np.random.default_rng(int.from_bytes(str(tmp_path).encode()[-8:], "little")).random((2, 60, 60))
    path = _file(tmp_path, "big.json", json.dumps({"payoffs": payoffs.tolist()}))
    done = _run("solve", path, "--target", server.target, "--concepts", "correlated", "--timeout", "0.05")
    line = _error_line(done, 1)
    # gRPC words the message by where the deadline struck ("Deadline Exceeded", "Stream
    # removed (Deadline Exceeded)"): the status name first, then its message.
    assert line.startswith("DEADLINE_EXCEEDED: ") and "Deadline Exceeded" in line, line


def test_a_request_the_server_refuses_is_a_usage_error(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, "stag.json", json.dumps(STAG_HUNT))
    line = _error_line(_run("solve", path, "--target", server.target, "--concepts", "zero_sum_value"), 2)
    assert (
        line.startswith("INVALID_ARGUMENT: ") and "zero_sum_value needs a 2-player constant-sum game" in line
    )


def test_a_busy_address_is_one_line_naming_it_and_the_flag() -> None:
    """A second server on a port in use stops at once, saying so, without a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        done = _run("serve", "--address", address, "--workers", "1")
    line = _error_line(done, 1, command="serve")
    assert line == (
        f"cannot listen on {address}: Address already in use; is another server running there? "
        "Pick another address with --address HOST:PORT (port 0: any free port)"
    )


def test_a_missing_command_is_one_line() -> None:
    done = _run()
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "equilibria: the following arguments are required: command (see 'equilibria --help')"
    ]


def test_an_address_that_is_not_this_machines_is_refused_before_any_process_starts() -> None:
    """192.0.2.1 is reserved for documentation (RFC 5737): no machine has it."""
    with pytest.raises(AddressUnavailable, match=r"^cannot listen on 192\.0\.2\.1:50051: Cannot assign"):
        asyncio.run(start_server("192.0.2.1:50051"))


def test_a_port_taken_after_the_check_is_still_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """gRPC's own bind fails (the port was taken between the check and the bind)."""
    monkeypatch.setattr(server_module, "_bind_error", lambda address: None)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(AddressUnavailable, match=f"^cannot listen on {address}: gRPC could not bind it;"):
            asyncio.run(start_server(address, Limits(workers=1)))
