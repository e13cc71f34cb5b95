"""The deployment files (deploy/): Kubernetes manifests, compose file and Dockerfile.

Every manifest is parsed; the server arguments they carry are parsed by the real
``equilibria`` argument parser, so a renamed or removed flag fails here rather than in
a cluster. The Dockerfile is read line by line (continuations joined).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import shlex
import subprocess
from typing import Any

import pytest
import yaml
from equilibria.service.cli import build_parser

DEPLOY = pathlib.Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))
GRPC_PORT = 50051


def _documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _only(kind: str) -> dict[str, Any]:
    found = [doc for doc in _documents() if doc.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _serve_args(argv: list[str]) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    assert args.command == "serve"
    return args


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _seconds(duration: str) -> float:
    """A compose duration such as ``20s``, ``1m30s`` or ``500ms``."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def _cpus(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


# -- Kubernetes -------------------------------------------------------------------------


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_every_manifest_parses_and_names_its_kind(path: pathlib.Path) -> None:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    if path.name == "kustomization.yaml":
        listed = set(docs[0]["resources"])
        assert listed == {p.name for p in MANIFESTS} - {"kustomization.yaml"}
        return
    assert docs
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"] == "equilibria"


def test_deployment_runs_replicas_with_grpc_probes_on_the_served_port() -> None:
    deployment = _only("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    (container,) = pod["containers"]
    (container_port,) = container["ports"]
    assert container_port["containerPort"] == GRPC_PORT and container_port["name"] == "grpc"

    args = _serve_args(container["args"])
    assert _port(args.address) == GRPC_PORT
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["grpc"]["port"] == GRPC_PORT, probe
        assert "service" not in container[probe]["grpc"]  # "": the server as a whole


def test_deployment_server_args_drain_and_rebalance() -> None:
    pod = _only("Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = _serve_args(container["args"])
    assert args.max_connection_age > 0, "clients only rebalance if connections age out"
    assert args.max_connection_age_grace >= args.max_time_budget, "an aged-out connection cuts solves short"
    assert pod["terminationGracePeriodSeconds"] > args.grace
    limits = container["resources"]["limits"]
    assert 1 <= args.workers <= _cpus(limits["cpu"]), "workers default to the node's cores, not the limit"


def test_deployment_resources_and_security_context() -> None:
    pod = _only("Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    resources = container["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= resources[kind].keys(), kind
    assert _cpus(resources["requests"]["cpu"]) <= _cpus(resources["limits"]["cpu"])

    security = container["securityContext"]
    assert security["runAsNonRoot"] is True or pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]

    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    (tmp,) = [name for name, path in mounts.items() if path == "/tmp"]
    assert "emptyDir" in volumes[tmp]


def test_headless_service_selects_the_pods_on_the_grpc_port() -> None:
    service = _only("Service")["spec"]
    deployment = _only("Deployment")["spec"]
    assert service["clusterIP"] == "None"
    assert service["selector"].items() <= deployment["template"]["metadata"]["labels"].items()
    (port,) = service["ports"]
    (container,) = deployment["template"]["spec"]["containers"]
    assert port["port"] == GRPC_PORT
    assert port["targetPort"] in (GRPC_PORT, container["ports"][0]["name"])


def test_disruption_budget_keeps_replicas_up() -> None:
    budget = _only("PodDisruptionBudget")["spec"]
    deployment = _only("Deployment")["spec"]
    assert budget["selector"]["matchLabels"] == deployment["selector"]["matchLabels"]
    assert budget["maxUnavailable"] < deployment["replicas"]


# -- compose ----------------------------------------------------------------------------


def test_compose_serves_loopback_read_only_and_stops_after_the_grace() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    (service,) = compose["services"].values()
    assert service["network_mode"] == "host"
    assert service["read_only"] is True
    assert "/tmp" in service["tmpfs"]
    args = _serve_args(service["command"])
    assert args.address.startswith("127.0.0.1:")
    health = build_parser().parse_args(service["healthcheck"]["test"][2:])
    assert service["healthcheck"]["test"][:2] == ["CMD", "equilibria"]
    assert health.command == "health" and health.target == args.address
    assert service["environment"]["EQUILIBRIA_HEALTH_TARGET"] == args.address
    assert _seconds(service["stop_grace_period"]) > args.grace


def test_nothing_run_here_binds_beyond_loopback() -> None:
    for name in ("compose.yaml", "build-and-smoke.sh"):
        assert "0.0.0.0" not in (DEPLOY / name).read_text(), name
    script = (DEPLOY / "build-and-smoke.sh").read_text()
    assert 'target="127.0.0.1:$port"' in script and '--address "$target"' in script
    assert "--network host" in script and "--network none" in script


# -- Dockerfile -------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, "a continuation runs off the end of the Dockerfile"
    return instructions


def _last(instructions: list[tuple[str, str]], keyword: str) -> str:
    found = [rest for kw, rest in instructions if kw == keyword]
    assert found, f"no {keyword}"
    return found[-1]


def test_dockerfile_base_is_a_build_argument_defaulting_to_python_slim() -> None:
    instructions = _dockerfile()
    assert instructions[0] == ("ARG", "BASE=python:3.11-slim")
    stages = [rest for kw, rest in instructions if kw == "FROM"]
    assert len(stages) == 2 and all(s.startswith("${BASE}") for s in stages)
    runs = " ".join(rest for kw, rest in instructions if kw == "RUN")
    assert "--no-index" in runs and "--find-links /wheelhouse" in runs
    assert "command -v tini" in runs  # installed only when the base lacks it
    assert ("COPY", "--from=build /opt/equilibria /opt/equilibria") in instructions


def test_dockerfile_runtime_is_non_root_tini_and_read_only_ready() -> None:
    instructions = _dockerfile()
    runtime = instructions[[i for i, (kw, _) in enumerate(instructions) if kw == "FROM"][-1] :]
    user = _last(runtime, "USER").split(":")[0]
    assert user.isdigit() and int(user) != 0, "numeric, so Kubernetes can check runAsNonRoot"
    env = " ".join(rest for kw, rest in runtime if kw == "ENV")
    for setting in (
        "PYTHONDONTWRITEBYTECODE=1",
        "HOME=/tmp",
        "TMPDIR=/tmp",
        "NUMBA_CACHE_DIR=/tmp/numba-cache",
    ):
        assert setting in env
    assert _last(runtime, "STOPSIGNAL") == "SIGTERM"
    assert _last(runtime, "EXPOSE") == str(GRPC_PORT)
    entrypoint = json.loads(_last(runtime, "ENTRYPOINT"))
    assert entrypoint == ["tini", "--", "equilibria-entrypoint"]
    args = _serve_args(json.loads(_last(runtime, "CMD")))
    assert _port(args.address) == GRPC_PORT
    assert f"EQUILIBRIA_HEALTH_TARGET=127.0.0.1:{GRPC_PORT}" in env


def test_dockerfile_healthcheck_runs_equilibria_health() -> None:
    healthcheck = _last(_dockerfile(), "HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD ")
    argv = json.loads(command) if command.startswith("[") else shlex.split(command)
    assert argv[0] == "equilibria"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "health"
    timeout = float(re.search(r"--timeout=(\d+)s", options).group(1))
    assert args.timeout < timeout, "the probe's own deadline must end before Docker's"


def _entrypoint_script() -> str:
    """The entrypoint the build stage writes with ``printf '%s\\n' LINE ... > FILE``."""
    runs = " ".join(rest for kw, rest in _dockerfile() if kw == "RUN")
    printed = runs.split("printf '%s\\n' ", 1)[1].split(" > /opt/equilibria/bin/equilibria-entrypoint", 1)[0]
    return "\n".join(shlex.split(printed)) + "\n"


def test_dockerfile_compiles_the_kernels_into_the_image_and_the_entrypoint_is_the_script() -> None:
    runs = " ".join(rest for kw, rest in _dockerfile() if kw == "RUN")
    assert "NUMBA_CACHE_DIR=/opt/equilibria/numba-cache" in runs and "compile_all()" in runs
    assert "chmod 0755 /opt/equilibria/bin/equilibria-entrypoint" in runs
    script = _entrypoint_script()
    assert script.startswith("#!/bin/sh\n") and script.endswith('exec equilibria "$@"\n')


def _run_entrypoint(tmp_path: pathlib.Path, cache: pathlib.Path, *args: str) -> str:
    script = tmp_path / "equilibria-entrypoint"
    script.write_text(_entrypoint_script())
    fake = tmp_path / "bin" / "equilibria"  # stands in for the CLI: prints its arguments
    fake.parent.mkdir(exist_ok=True)
    fake.write_text('#!/bin/sh\necho "args: $*"\n')
    fake.chmod(0o755)
    env = {
        "PATH": f"{fake.parent}:/usr/bin:/bin",
        "NUMBA_CACHE_DIR": str(cache),
        "EQUILIBRIA_NUMBA_SEED": str(tmp_path / "seed"),
    }
    done = subprocess.run(["sh", str(script), *args], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_entrypoint_seeds_a_missing_numba_cache_and_runs_the_cli_with_its_arguments(tmp_path) -> None:
    seed = tmp_path / "seed" / "solver_0123"
    seed.mkdir(parents=True)
    (seed / "kernel.nbi").write_bytes(b"index")
    cache = tmp_path / "tmpfs" / "numba-cache"
    cache.parent.mkdir()
    out = _run_entrypoint(tmp_path, cache, "serve", "--address", "127.0.0.1:0")
    assert out == "args: serve --address 127.0.0.1:0\n"
    assert (cache / "solver_0123" / "kernel.nbi").read_bytes() == b"index"


def test_entrypoint_leaves_an_existing_numba_cache_alone(tmp_path) -> None:
    (tmp_path / "seed" / "solver_0123").mkdir(parents=True)
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    (cache / "mine").write_text("kept")
    assert _run_entrypoint(tmp_path, cache, "health") == "args: health\n"
    assert sorted(p.name for p in cache.iterdir()) == ["mine"]
