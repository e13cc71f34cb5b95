#!/usr/bin/env bash
# Build the equilibria image on this machine and smoke-test it, without a registry and
# with no network inside the build or the container beyond loopback.
#
#   bash deploy/build-and-smoke.sh
#
# 1. installs docker.io and debootstrap with apt-get if they are missing;
# 2. starts dockerd (--iptables=false --bridge=none) unless a daemon already answers;
# 3. builds a Debian bookworm base (debootstrap minbase + python3, python3-venv, tini,
#    ca-certificates; the rootfs tarball is cached) and imports it as equilibria-base:bookworm;
# 4. builds a wheelhouse on the host (the equilibria wheel + its dependencies for
#    CPython 3.11, checked by ABI tag) and the image from it with `--network none`;
# 5. runs the image read-only with a tmpfs /tmp on --network host, the server bound to
#    127.0.0.1 on a free port, waits for its HEALTHCHECK, solves matching pennies through
#    the Python client and checks the answer;
# 6. stops it with SIGTERM and checks it exited 0 within the grace period.
# It removes the container, and stops dockerd only if it started it. Re-runs reuse the
# cached rootfs, the imported base and Docker's layer cache.
#
# Environment: EQUILIBRIA_DEPLOY_CACHE (default ~/.cache/equilibria-deploy), PYTHON
# (host interpreter for the wheelhouse and the client, default python3.11), DEBIAN_MIRROR,
# IMAGE (default equilibria:local).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${EQUILIBRIA_DEPLOY_CACHE:-$HOME/.cache/equilibria-deploy}
PY=${PYTHON:-python3.11}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE=${IMAGE:-equilibria:local}
BASE_TAG=equilibria-base:bookworm
BASE_PACKAGES=python3,python3-venv,tini,ca-certificates
GRACE=5          # the server's --grace (seconds)
STOP_TIMEOUT=20  # docker stop's SIGKILL deadline: longer than GRACE
mkdir -p "$CACHE"
work=$(mktemp -d "${TMPDIR:-/tmp}/equilibria-deploy.XXXXXX")

started_dockerd=""
container=""
declare -a timings=()
step_start=$SECONDS
step() {  # step NAME: close the previous step's timing, announce the next
    if [ -n "${current_step:-}" ]; then timings+=("$(printf '%-40s %4ds' "$current_step" $((SECONDS - step_start)))"); fi
    current_step=$1
    step_start=$SECONDS
    echo "== $1"
}
cleanup() {
    local rc=$?
    if [ -n "$container" ]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
    if [ -n "$started_dockerd" ] && kill -0 "$started_dockerd" 2>/dev/null; then
        echo "== stopping the dockerd this script started (pid $started_dockerd)"
        kill -TERM "$started_dockerd"
        for _ in $(seq 60); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

step "tools (docker.io, debootstrap)"
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" \
        || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; }
fi
command -v docker >/dev/null || { echo "no docker client on PATH" >&2; exit 1; }

step "docker daemon"
if docker info >/dev/null 2>&1; then
    echo "using the running docker daemon"
else
    mkdir -p "$CACHE/dockerd"
    dockerd --iptables=false --bridge=none --pidfile "$CACHE/dockerd/dockerd.pid" \
        >"$CACHE/dockerd/dockerd.log" 2>&1 &
    started_dockerd=$!
    echo "started dockerd (pid $started_dockerd, log $CACHE/dockerd/dockerd.log)"
    for _ in $(seq 120); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$started_dockerd" 2>/dev/null || { tail -20 "$CACHE/dockerd/dockerd.log" >&2; exit 1; }
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { echo "dockerd did not answer in 60 s" >&2; tail -20 "$CACHE/dockerd/dockerd.log" >&2; exit 1; }
fi
echo "docker server $(docker version --format '{{.Server.Version}}'), storage $(docker info --format '{{.Driver}}')"

step "base image ($BASE_TAG)"
rootfs_tar="$CACHE/bookworm-minbase-$(echo "$BASE_PACKAGES" | sha256sum | cut -c1-12).tar"
if [ ! -s "$rootfs_tar" ]; then
    echo "debootstrap bookworm (minbase + $BASE_PACKAGES) from $MIRROR"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$work/rootfs" "$MIRROR" \
        >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    tar -C "$work/rootfs" --numeric-owner -cf "$rootfs_tar.partial" .
    mv "$rootfs_tar.partial" "$rootfs_tar"
    rm -rf "$work/rootfs"
else
    echo "cached rootfs $rootfs_tar"
fi
rootfs_sum=$(sha256sum "$rootfs_tar" | cut -c1-12)
if [ "$(docker image inspect -f '{{index .Config.Labels "rootfs"}}' "$BASE_TAG" 2>/dev/null)" != "$rootfs_sum" ]; then
    docker import --change "LABEL rootfs=$rootfs_sum" --change 'CMD ["/bin/bash"]' "$rootfs_tar" "$BASE_TAG" >/dev/null
    echo "imported $BASE_TAG from $rootfs_tar"
else
    echo "$BASE_TAG is already imported"
fi
docker run --rm --network none "$BASE_TAG" sh -c 'python3 --version; command -v tini'

step "wheelhouse (CPython 3.11)"
arch=$(uname -m)
ctx="$work/context"
mkdir -p "$ctx/wheelhouse"
"$PY" -m pip wheel -q --no-deps . --wheel-dir "$ctx/wheelhouse"
project_wheel=$(ls "$ctx"/wheelhouse/equilibria-*.whl)
# pygambit publishes no wheels: build it here (a Debian 12 host, like the image: the same
# glibc 2.36 and libstdc++). The first build compiles Gambit (about 10 minutes on 2 cores);
# pip caches the wheel.
gambit=$("$PY" -c 'import tomllib; deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; print(next(d for d in deps if d.startswith("pygambit")))')
"$PY" -m pip wheel -q --no-deps --wheel-dir "$ctx/wheelhouse" "$gambit"
# The image's Python: Debian bookworm's python3 is CPython 3.11 on glibc 2.36, so it
# takes manylinux wheels for glibc 2.5 to 2.36 (pip does not expand --platform itself).
platforms=()
for glibc_minor in $(seq 5 36); do platforms+=(--platform "manylinux_2_${glibc_minor}_$arch"); done
platforms+=(--platform "manylinux2014_$arch" --platform "manylinux2010_$arch" --platform "manylinux1_$arch")
"$PY" -m pip download -q --dest "$ctx/wheelhouse" --only-binary=:all: \
    --implementation cp --python-version 3.11 --abi cp311 "${platforms[@]}" \
    --platform "linux_$arch" --find-links "$ctx/wheelhouse" \
    "$project_wheel"
bad=0
for wheel in "$ctx"/wheelhouse/*.whl; do
    IFS=- read -r -a parts <<<"$(basename "$wheel" .whl)"
    n=${#parts[@]}
    pytag=${parts[n - 3]} abitag=${parts[n - 2]} plattag=${parts[n - 1]}
    case "$pytag/$abitag" in
        *py3*/none | *cp311*/cp311 | *cp3*/abi3 | *cp311*/none) ;;
        *) echo "wrong Python/ABI tag: $(basename "$wheel")" >&2; bad=1 ;;
    esac
    case "$plattag" in
        any | *manylinux*"$arch"*) ;;
        "linux_$arch") [[ $(basename "$wheel") == pygambit-* ]] || { echo "unexpected local wheel: $(basename "$wheel")" >&2; bad=1; } ;;
        *) echo "wrong platform tag: $(basename "$wheel")" >&2; bad=1 ;;
    esac
done
[ "$bad" = 0 ] || exit 1
echo "$(ls "$ctx"/wheelhouse/*.whl | wc -l) wheels, $(du -sh "$ctx/wheelhouse" | cut -f1), tags cp311/abi3/none on manylinux $arch or any"

step "image build (--network none)"
docker build -q --network none --build-arg "BASE=$BASE_TAG" -f deploy/Dockerfile -t "$IMAGE" "$ctx" >/dev/null
image_id=$(docker image inspect -f '{{.Id}}' "$IMAGE")
image_size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "$IMAGE ${image_id:7:12} $((image_size / 1000000)) MB, user $(docker image inspect -f '{{.Config.User}}' "$IMAGE")"

step "client venv"
client_venv="$CACHE/client-venv"
[ -x "$client_venv/bin/python" ] || "$PY" -m venv "$client_venv"
"$client_venv/bin/pip" install -q --no-index --find-links "$ctx/wheelhouse" --force-reinstall --no-deps "$project_wheel"
"$client_venv/bin/pip" install -q --no-index --find-links "$ctx/wheelhouse" "$project_wheel"

step "run until healthy"
port=$("$client_venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target="127.0.0.1:$port"
container=$(docker run -d --name "equilibria-smoke-$$" --network host --read-only --tmpfs /tmp \
    --cap-drop ALL --security-opt no-new-privileges --stop-timeout "$STOP_TIMEOUT" \
    --health-interval 2s --health-start-period 60s \
    -e "EQUILIBRIA_HEALTH_TARGET=$target" \
    "$IMAGE" serve --address "$target" --workers 2 --grace "$GRACE")
run_start=$SECONDS
status=starting
while [ "$status" != healthy ] && [ $((SECONDS - run_start)) -lt 120 ]; do
    sleep 1
    status=$(docker inspect -f '{{.State.Health.Status}}' "$container")
    if [ "$(docker inspect -f '{{.State.Running}}' "$container")" != true ]; then
        docker logs "$container" >&2
        echo "the container exited" >&2
        exit 1
    fi
done
if [ "$status" != healthy ]; then
    docker inspect -f '{{json .State.Health}}' "$container" >&2
    docker logs "$container" >&2
    exit 1
fi
healthy_after=$((SECONDS - run_start))
pid1=$(docker exec "$container" cat /proc/1/cmdline | tr '\0' ' ')
uid=$(docker exec "$container" id -u)
if docker exec "$container" sh -c 'touch /opt/equilibria/probe' 2>/dev/null; then
    echo "the root filesystem is writable" >&2
    exit 1
fi
echo "healthy after ${healthy_after}s on $target; PID 1: $pid1; uid $uid; root read-only"
[ "$uid" != 0 ] || { echo "the server runs as root" >&2; exit 1; }
case "$pid1" in tini*) ;; *) echo "PID 1 is not tini" >&2; exit 1 ;; esac

step "solve through the client"
"$client_venv/bin/python" - "$target" <<'EOF'
import sys
from fractions import Fraction

from equilibria.client import Client

pennies = ([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])
with Client.connect(sys.argv[1], timeout=60) as client:
    result = client.solve(pennies, exact=True)
half = (Fraction(1, 2), Fraction(1, 2))
found = [eq.exact_strategies for eq in result.equilibria]
assert result.complete and found == [(half, half)], (result.complete, found)
print(f"matching pennies: {len(found)} equilibrium, (1/2, 1/2) for both players, complete, method {result.method}")
# Three players: pygambit's methods, a runtime dependency the image must hold.
import itertools

import numpy as np

same = np.zeros((2, 2, 2))
for a in itertools.product(range(2), repeat=3):
    same[a] = float(a[0] == a[1] == a[2])
with Client.connect(sys.argv[1], timeout=120) as client:
    three = client.solve(np.stack([same, same, same]))
firsts = sorted(tuple(np.round(eq.strategies[0], 9)) for eq in three.equilibria)
assert firsts == [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)], (firsts, three.method)
print(f"3-player coordination: {len(firsts)} equilibria by {three.method}")
EOF

step "docker stop (SIGTERM)"
stop_start=$(date +%s%N)
docker stop -t "$STOP_TIMEOUT" "$container" >/dev/null
stop_ms=$((($(date +%s%N) - stop_start) / 1000000))
stop_seconds=$((stop_ms / 1000)).$(printf '%03d' $((stop_ms % 1000)))
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$container")
logs=$(docker logs "$container" 2>&1)
echo "stopped in ${stop_seconds}s, exit code $exit_code"
[ "$exit_code" = 0 ] || { echo "$logs" >&2; echo "not a graceful stop" >&2; exit 1; }
# Exit code 0 means no SIGKILL; the server's own drain is bounded by --grace, plus a
# few seconds to stop its worker processes.
[ "$stop_ms" -lt $(((GRACE + 5) * 1000)) ] || { echo "stop took longer than the grace ($GRACE s) + 5 s" >&2; exit 1; }
grep -q "equilibria: stopped" <<<"$logs" || { echo "$logs" >&2; echo "no 'equilibria: stopped' in the logs" >&2; exit 1; }
docker rm "$container" >/dev/null
container=""

step "done"
echo
echo "== summary"
echo "image      $IMAGE (${image_id:7:12}, $((image_size / 1000000)) MB) from $BASE_TAG"
echo "server     $target (--network host, --read-only, tmpfs /tmp, uid $uid, PID 1 tini)"
echo "health     healthy after ${healthy_after}s"
echo "solve      matching pennies -> one equilibrium (1/2,1/2), complete; 3-player coordination -> 3 (pygambit)"
echo "stop       SIGTERM -> exit 0 in ${stop_seconds}s (grace ${GRACE}s, docker stop timeout ${STOP_TIMEOUT}s)"
printf '%s\n' "${timings[@]}"
printf '%-40s %4ds\n' total "$SECONDS"
