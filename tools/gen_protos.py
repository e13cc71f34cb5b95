"""Regenerate the committed protobuf and gRPC code of ``equilibria.v1``.

Usage::

    python tools/gen_protos.py

The toolchain is pinned (see ``TOOLCHAIN``): generated code refuses to import
into an older protobuf or grpcio runtime than the one that generated it, so
the pins here are the floors declared in ``pyproject.toml``. CI runs this
script and fails when ``git diff`` shows any change (the drift check).
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE_DIR = PROTO_ROOT / "equilibria" / "v1"
# Imported protos that are not ours (google/rpc/status.proto, whose generated module
# comes from the googleapis-common-protos dependency): on the include path only.
THIRD_PARTY = PROTO_ROOT / "third_party"

# Pinned generator versions; keep in step with the [gen] extra.
TOOLCHAIN = {"grpcio-tools": "1.85.1", "mypy-protobuf": "5.1.0"}


def check_toolchain() -> None:
    """Refuse to run with any other generator version than the pinned one."""
    for dist, wanted in TOOLCHAIN.items():
        have = importlib.metadata.version(dist)
        if have != wanted:
            sys.exit(f"gen_protos: {dist}=={wanted} required, found {have}; pip install -e '.[gen]'")


def generate() -> None:
    """Run protoc over every .proto file of the package."""
    from grpc_tools import protoc

    # protoc finds the mypy plugins on PATH: put this interpreter's scripts first.
    scripts = pathlib.Path(sys.executable).parent
    os.environ["PATH"] = f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"
    for old in PACKAGE_DIR.glob("*_pb2*.py*"):
        old.unlink()
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PACKAGE_DIR.glob("*.proto"))
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"-I{THIRD_PARTY}",
        f"--python_out={PROTO_ROOT}",
        f"--grpc_python_out={PROTO_ROOT}",
        f"--mypy_out={PROTO_ROOT}",
        f"--mypy_grpc_out={PROTO_ROOT}",
        *protos,
    ]
    if protoc.main(args) != 0:
        sys.exit("gen_protos: protoc failed")


if __name__ == "__main__":
    check_toolchain()
    generate()
