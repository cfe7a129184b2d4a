#!/usr/bin/env bash
# Configures and builds the project into build/ (or $DAE_BUILD_DIR) with Ninja.
# Extra arguments go to cmake, e.g. tools/build.sh -DDAE_SANITIZE=ON.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DAE_BUILD_DIR:-$root/build}
jobs=${DAE_JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/dae-ccache}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${DAE_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
ninja -C "$build" -j "$jobs" ${DAE_TARGETS:-}
