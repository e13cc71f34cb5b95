"""End-to-end security: TLS, mutual TLS and bearer tokens against real servers on loopback.

The certificates are made at test time by a throw-away CA (``cryptography``) in a
temporary directory; no key is ever committed.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import pathlib
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from equilibria.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    RetryConfig,
    ServiceUnavailableError,
    TlsConfig,
    TraceRecorder,
)
from equilibria.service.cli import main as cli_main
from equilibria.service.limits import Limits
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from ..conftest import ServerProcess, running_server

pytestmark = pytest.mark.e2e

STAG_HUNT = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
TOKENS = ("first-token-5f1d2a9c", "second-token-77e0b3aa")
NO_RETRY = RetryConfig(max_attempts=1)


# -- a throw-away PKI ---------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(signing_key, hashes.SHA256())


def _write(
    directory: pathlib.Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """ca, server (SAN 127.0.0.1 and localhost), client (signed by ca), and a rogue CA with its client."""
    directory = tmp_path_factory.mktemp("pki")
    for ca_name, client_name in (("ca", "client"), ("rogue-ca", "rogue-client")):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _certificate(f"equilibria test {ca_name}", ca_key, None, ca=True)
        _write(directory, ca_name, ca_cert, ca_key)
        client_key = ec.generate_private_key(ec.SECP256R1())
        _write(directory, client_name, _certificate(client_name, client_key, (ca_cert, ca_key)), client_key)
        if ca_name == "ca":
            server_key = ec.generate_private_key(ec.SECP256R1())
            _write(
                directory,
                "server",
                _certificate("localhost", server_key, (ca_cert, ca_key), server=True),
                server_key,
            )
    return directory


def _tls_args(pki: pathlib.Path) -> tuple[str, ...]:
    return ("--workers", "1", "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"))


# -- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(pki: pathlib.Path) -> Iterator[ServerProcess]:
    with running_server(*_tls_args(pki)) as server:
        yield server


def test_tls_handshake_with_the_test_ca(tls_server: ServerProcess, pki: pathlib.Path) -> None:
    assert "(TLS)" in tls_server.output
    tls = TlsConfig(root_certificates=pki / "ca.pem")  # a path; bytes work too
    with Client.connect(tls_server.target, tls=tls, timeout=30) as client:
        assert client.server_info().limits.workers == 1
        assert client.health() == "SERVING"
    localhost = tls_server.target.replace("127.0.0.1", "localhost")  # the DNS name in the SAN
    tls_bytes = TlsConfig(root_certificates=(pki / "ca.pem").read_bytes())
    with Client.connect(localhost, tls=tls_bytes, timeout=30) as client:
        assert client.health() == "SERVING"


def test_health_command_checks_a_tls_server(tls_server: ServerProcess, pki: pathlib.Path) -> None:
    target = ["health", "--target", tls_server.target, "--timeout", "10"]
    assert cli_main([*target, "--tls-ca", str(pki / "ca.pem")]) == 0
    assert cli_main(target) == 1  # plaintext against a TLS server
    assert cli_main([*target, "--tls-ca", str(pki / "rogue-ca.pem")]) == 1


def test_a_client_without_the_ca_or_without_tls_is_unavailable(
    tls_server: ServerProcess, pki: pathlib.Path
) -> None:
    with (
        Client.connect(tls_server.target, tls=True, retry=NO_RETRY, timeout=10) as client,
        pytest.raises(ServiceUnavailableError) as info,
    ):  # system CAs only
        client.solve(STAG_HUNT)
    assert info.value.code == "UNAVAILABLE"
    rogue = TlsConfig(root_certificates=pki / "rogue-ca.pem")
    with (
        Client.connect(tls_server.target, tls=rogue, retry=NO_RETRY, timeout=10) as client,
        pytest.raises(ServiceUnavailableError),
    ):
        client.health()
    with (
        Client.connect(tls_server.target, retry=NO_RETRY, timeout=10) as client,
        pytest.raises(ServiceUnavailableError),
    ):  # plaintext
        client.health()


def test_tls_config_checks_its_fields(pki: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="go together"):
        TlsConfig(root_certificates=pki / "ca.pem", certificate_chain=pki / "client.pem")
    assert "client.key" not in repr(TlsConfig(certificate_chain="c.pem", private_key="client.key"))


# -- mutual TLS -----------------------------------------------------------------------------------


def test_mutual_tls_requires_a_client_certificate_signed_by_the_ca(pki: pathlib.Path) -> None:
    with running_server(*_tls_args(pki), "--tls-client-ca", str(pki / "ca.pem")) as server:
        assert "(mTLS)" in server.output
        anonymous = TlsConfig(root_certificates=pki / "ca.pem")
        with (
            Client.connect(server.target, tls=anonymous, retry=NO_RETRY, timeout=10) as client,
            pytest.raises(ServiceUnavailableError),
        ):
            client.solve(STAG_HUNT)
        rogue = TlsConfig(pki / "ca.pem", pki / "rogue-client.pem", pki / "rogue-client.key")
        with (
            Client.connect(server.target, tls=rogue, retry=NO_RETRY, timeout=10) as client,
            pytest.raises(ServiceUnavailableError),
        ):
            client.solve(STAG_HUNT)
        trusted = TlsConfig(pki / "ca.pem", pki / "client.pem", pki / "client.key")
        with Client.connect(server.target, tls=trusted, timeout=30) as client:
            assert len(client.solve(STAG_HUNT)) == 3
        health = ["health", "--target", server.target, "--timeout", "10", "--tls-ca", str(pki / "ca.pem")]
        assert cli_main(health) == 1  # no client certificate
        assert (
            cli_main([*health, "--tls-cert", str(pki / "client.pem"), "--tls-key", str(pki / "client.key")])
            == 0
        )

        async def solve_async() -> int:
            async with AsyncClient.connect(server.target, tls=trusted, timeout=30) as aclient:
                return len(await aclient.solve(STAG_HUNT))

        assert asyncio.run(solve_async()) == 3


# -- bearer tokens --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    path = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    path.write_text(f"# API tokens\n{TOKENS[0]}\n\n{TOKENS[1]}\n")
    with running_server(
        "--workers", "1", "--token-file", str(path), global_args=("--log-level", "DEBUG")
    ) as srv:
        yield srv


def test_a_missing_token_is_unauthenticated(token_server: ServerProcess) -> None:
    with Client.connect(token_server.target, timeout=30) as client:
        with pytest.raises(AuthenticationError) as info:
            client.solve(STAG_HUNT)
        with pytest.raises(AuthenticationError):
            client.server_info()
    assert info.value.code == "UNAUTHENTICATED"
    assert "missing bearer token" in info.value.message and "authorization: Bearer" in info.value.message
    assert isinstance(info.value, PermissionError)


def test_a_wrong_token_is_unauthenticated(token_server: ServerProcess) -> None:
    for wrong in ("not-a-token", TOKENS[0][:-1], TOKENS[0] + "x"):
        with (
            Client.connect(token_server.target, token=wrong, timeout=30) as client,
            pytest.raises(AuthenticationError, match="invalid bearer token") as info,
        ):
            client.solve(STAG_HUNT)
        assert info.value.code == "UNAUTHENTICATED"
    channel = grpc.insecure_channel(token_server.target)  # a scheme other than Bearer
    with channel, pytest.raises(grpc.RpcError) as raw:
        service_grpc.EquilibriaServiceStub(channel).GetServerInfo(
            service_pb2.GetServerInfoRequest(),
            metadata=(("authorization", f"Basic {TOKENS[0]}"),),
            timeout=30,
        )
    assert raw.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_every_configured_token_is_accepted(token_server: ServerProcess) -> None:
    for token in TOKENS:
        with Client.connect(token_server.target, token=token, timeout=30) as client:
            assert len(client.solve(STAG_HUNT)) == 3
            assert client.server_info().limits.workers == 1

    async def solve_async(token: str | None) -> int:
        async with AsyncClient.connect(token_server.target, token=token, timeout=30) as aclient:
            return len(await aclient.solve(STAG_HUNT))

    assert asyncio.run(solve_async(TOKENS[1])) == 3
    with pytest.raises(AuthenticationError):
        asyncio.run(solve_async(None))


def test_health_is_open_without_a_token(token_server: ServerProcess) -> None:
    with Client.connect(token_server.target, timeout=30) as client:
        assert client.health() == "SERVING"
        assert client.health("equilibria.v1.EquilibriaService") == "SERVING"


def test_reflection_needs_a_token(token_server: ServerProcess) -> None:
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    with grpc.insecure_channel(token_server.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            list(stub.ServerReflectionInfo(iter([request]), timeout=30))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        responses = list(
            stub.ServerReflectionInfo(
                iter([request]), metadata=(("authorization", f"Bearer {TOKENS[0]}"),), timeout=30
            )
        )
    names = {s.name for s in responses[0].list_services_response.service}
    assert "equilibria.v1.EquilibriaService" in names


def test_streaming_trace_calls_are_protected(token_server: ServerProcess) -> None:
    rng = np.random.default_rng(0)
    xs = rng.dirichlet(np.ones(3), size=50)
    ys = rng.dirichlet(np.ones(3), size=50)
    with Client.connect(token_server.target, timeout=60) as anonymous:
        with pytest.raises(AuthenticationError):
            anonymous.score_trace((RPS, -RPS), policies=(xs, ys))  # ScoreTrace
        recorder = TraceRecorder(anonymous, (RPS, -RPS), monitor=True)  # MonitorTrace
        recorder.record(policies=(xs[0], ys[0]))
        with pytest.raises(AuthenticationError):
            recorder.close(timeout=30)
    with Client.connect(token_server.target, token=TOKENS[0], timeout=60) as client:
        assert client.score_trace((RPS, -RPS), policies=(xs, ys)).z_seen == 50
        with TraceRecorder(client, (RPS, -RPS), monitor=True) as recorder:
            for x, y in zip(xs, ys, strict=True):
                recorder.record(policies=(x, y))
        assert recorder.result is not None and recorder.result.z_seen == 50


#: Bytes that are no protobuf message: field 1, length-delimited, claiming 2**32 - 1 bytes.
NOT_A_MESSAGE = b"\x0a\xff\xff\xff\xff\x0f" + np.random.default_rng(19).bytes(4090)
_SERVICE = "/equilibria.v1.EquilibriaService/"
#: Every shape of client call, each on a method of the service (the server answers by method,
#: so a unary client call of SolveGames is as good a probe as a streaming one).
_RAW_CALLS = (
    ("unary_unary", "SolveGame"),
    ("unary_stream", "SolveGames"),
    ("stream_unary", "ScoreTrace"),
    ("stream_stream", "MonitorTrace"),
)


def _raw_call(channel: grpc.Channel, shape: str, method: str, metadata: tuple[tuple[str, str], ...]) -> None:
    """Send :data:`NOT_A_MESSAGE` (identity serializers: raw bytes) and read every answer."""
    call = getattr(channel, shape)(_SERVICE + method)  # no serializers: bytes in, bytes out
    body = NOT_A_MESSAGE if shape.startswith("unary") else iter([NOT_A_MESSAGE])
    answer = call(body, metadata=metadata, timeout=30)
    if shape.endswith("stream"):
        list(answer)


@pytest.mark.parametrize(("shape", "method"), _RAW_CALLS, ids=[shape for shape, _ in _RAW_CALLS])
def test_an_unauthenticated_body_is_never_parsed(
    token_server: ServerProcess, shape: str, method: str
) -> None:
    """Bytes that do not parse get UNAUTHENTICATED without a token, INVALID_ARGUMENT with one.

    The answer with a valid token shows the bytes are no message; the answers without one
    show that no parse failure reaches an unauthenticated caller, whatever the call's shape.
    """
    with grpc.insecure_channel(token_server.target) as channel:
        for metadata, message in (
            ((), "missing bearer token: send the metadata 'authorization: Bearer <token>'"),
            ((("authorization", "Bearer not-a-token"),), "invalid bearer token"),
        ):
            with pytest.raises(grpc.RpcError) as refused:
                _raw_call(channel, shape, method, metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert refused.value.details() == message
        with pytest.raises(grpc.RpcError) as parsed:
            _raw_call(channel, shape, method, (("authorization", f"Bearer {TOKENS[0]}"),))
        assert parsed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "does not parse" in parsed.value.details()


@pytest.mark.parametrize("method", ["SolveGame", "GetServerInfo"])
def test_an_unauthenticated_body_is_never_read(token_server: ServerProcess, method: str) -> None:
    """A body one byte over the message limit: UNAUTHENTICATED without a token.

    Reading it fails with RESOURCE_EXHAUSTED (as the call with a valid token shows), so the
    refusal of the call without one came before its body was read, though grpc reads the
    whole request of a unary method before its handler runs.
    """
    body = b"\x0a" + bytes(Limits().max_message_bytes)  # one byte over the limit
    options = (("grpc.max_send_message_length", -1),)
    with grpc.insecure_channel(token_server.target, options=options) as channel:
        call = channel.unary_unary(_SERVICE + method)
        with pytest.raises(grpc.RpcError) as refused:
            call(body, timeout=30)
        with pytest.raises(grpc.RpcError) as read:
            call(body, metadata=(("authorization", f"Bearer {TOKENS[0]}"),), timeout=30)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (
        refused.value.details() == "missing bearer token: send the metadata 'authorization: Bearer <token>'"
    )
    assert read.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in read.value.details()


def test_health_stays_open_to_raw_calls(token_server: ServerProcess) -> None:
    """The refusal of unauthenticated calls leaves the health service alone (raw channel, no token)."""
    with grpc.insecure_channel(token_server.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=30)
        watched = next(stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert watched.status == health_pb2.HealthCheckResponse.SERVING


# -- the CLI's solve over TLS and with a token -----------------------------------------------------


def test_cli_solve_over_tls(
    tls_server: ServerProcess, pki: pathlib.Path, tmp_path: pathlib.Path, capsys
) -> None:
    game = tmp_path / "pennies.json"
    game.write_text('{"A": [[1, -1], [-1, 1]], "B": [[-1, 1], [1, -1]]}')
    base = ["solve", str(game), "--target", tls_server.target, "--timeout", "30", "--json"]
    assert cli_main([*base, "--tls-ca", str(pki / "ca.pem")]) == 0
    assert '"complete":true' in capsys.readouterr().out.replace(" ", "")
    assert cli_main(base) == 1  # plaintext against a TLS server
    assert "UNAVAILABLE" in capsys.readouterr().err
    assert cli_main([*base, "--tls-cert", str(pki / "client.pem")]) == 2  # without --tls-key
    assert "--tls-cert and --tls-key go together" in capsys.readouterr().err


def test_cli_solve_and_score_send_the_token(
    token_server: ServerProcess, tmp_path: pathlib.Path, monkeypatch, capsys
) -> None:
    game = tmp_path / "pennies.json"
    game.write_text('{"A": [[1, -1], [-1, 1]], "B": [[-1, 1], [1, -1]]}')
    token = tmp_path / "token.txt"
    token.write_text(TOKENS[1] + "\n")
    base = ["solve", str(game), "--target", token_server.target, "--timeout", "30"]
    monkeypatch.delenv("EQUILIBRIA_TOKEN", raising=False)
    assert cli_main(base) == 1
    err = capsys.readouterr().err
    assert "UNAUTHENTICATED" in err and len(err.strip().splitlines()) == 1
    assert cli_main([*base, "--token-file", str(token)]) == 0
    assert capsys.readouterr().out.startswith("1 equilibrium (complete")
    monkeypatch.setenv("EQUILIBRIA_TOKEN", TOKENS[0])  # the environment's token
    assert cli_main(base) == 0
    assert cli_main([*base, "--token-file", str(tmp_path / "missing.txt")]) == 2
    assert "--token-file" in capsys.readouterr().err
    trace = tmp_path / "trace.npz"
    pennies = np.array([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]])
    np.savez(trace, policies_0=np.full((6, 2), 0.5), policies_1=np.full((6, 2), 0.5), payoffs=pennies)
    assert cli_main(["score", str(trace), "--target", token_server.target, "--timeout", "60"]) == 0
    assert "last_iterate" in capsys.readouterr().out


def test_tokens_never_reach_the_log(token_server: ServerProcess) -> None:
    """Runs last in this module: the server's DEBUG output holds every call made above."""
    with Client.connect(token_server.target, token=TOKENS[1], timeout=30) as client:
        client.solve(STAG_HUNT)
    with (
        Client.connect(token_server.target, token="wrong-" + TOKENS[0], timeout=30) as client,
        pytest.raises(AuthenticationError),
    ):
        client.solve(STAG_HUNT)
    token_server.terminate()
    output = token_server.output
    assert "SolveGame UNAUTHENTICATED" in output and "SolveGame OK" in output  # DEBUG/INFO records were on
    assert "DEBUG" in output or "INFO" in output
    for token in TOKENS:
        assert token not in output
    assert "Bearer" not in output


def test_the_tokens_file_can_come_from_the_environment(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("env-token-3c9e\n")
    with running_server("--workers", "1", env={"EQUILIBRIA_TOKENS_FILE": str(path)}) as server:
        assert "bearer tokens required" in server.output
        with Client.connect(server.target, timeout=30) as client, pytest.raises(AuthenticationError):
            client.server_info()
        with Client.connect(server.target, token="env-token-3c9e", timeout=30) as client:
            assert client.server_info().limits.workers == 1
