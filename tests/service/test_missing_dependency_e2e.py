"""A dependency missing from the server's installation is named, never an INTERNAL error (issue 20).

The server runs with a ``pygambit`` package first on its path that refuses to import, as on an
installation that lost pygambit: a 3-player solve (pygambit's methods) then fails with
``FAILED_PRECONDITION`` saying how to reinstall, 2-player solves (no pygambit) still work, and the
server stays up. Ray's extra is named when Ray is missing.
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np
import pytest
from equilibria.client import Client, EquilibriaError
from equilibria.solver.errors import MissingDependencyError
from equilibria.solver.game import NormalFormGame
from equilibria.solver.normal_form.nplayer import gambit_equilibria

from ..conftest import running_server

pytestmark = pytest.mark.e2e


def coordination3() -> np.ndarray:
    same = np.zeros((2, 2, 2))
    for a in itertools.product(range(2), repeat=3):
        same[a] = float(a[0] == a[1] == a[2])
    return np.stack([same, same, same])


@pytest.fixture()
def without_pygambit(tmp_path) -> dict[str, str]:
    """An environment whose ``import pygambit`` raises ImportError."""
    blocked = tmp_path / "blocked" / "pygambit"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text('raise ImportError("pygambit blocked by the test")\n')
    path = os.pathsep.join([str(blocked.parent), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {"PYTHONPATH": path}


def test_a_server_without_pygambit_names_it_and_keeps_serving(without_pygambit) -> None:
    with running_server("--workers", "1", env=without_pygambit) as server:
        with Client.connect(server.target, timeout=120) as client:
            with pytest.raises(EquilibriaError) as info:
                client.solve(coordination3(), concepts=["nash"])
            assert info.value.code == "FAILED_PRECONDITION"
            assert "pygambit is not installed" in info.value.message
            assert "pip install equilibria" in info.value.message
            two = client.solve(([[1, -1], [-1, 1]], [[-1, 1], [1, -1]]), concepts=["nash"])
            np.testing.assert_allclose(two.equilibria[0].strategies[0], [0.5, 0.5], atol=1e-9)
        assert server.process.poll() is None


def test_gambit_equilibria_without_pygambit_raises_a_named_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pygambit", None)  # `import pygambit` raises ImportError
    with pytest.raises(MissingDependencyError) as info:
        gambit_equilibria(NormalFormGame(coordination3()))
    assert info.value.field == "method"
    assert isinstance(info.value, ImportError)
    assert "pip install equilibria" in str(info.value)


def test_ray_missing_names_the_extra(monkeypatch) -> None:
    from equilibria.service import ray_backend

    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setenv(ray_backend._CLUSTER_SETTING, os.environ.get(ray_backend._CLUSTER_SETTING, "0"))
    with pytest.raises(ImportError, match=r"pip install 'equilibria\[ray\]'"):
        ray_backend.init_ray(None, num_cpus=1)
