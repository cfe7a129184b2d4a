#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the demo need.
# Run as root. Set DAE_SKIP_INSTALL=1 to skip (e.g. on a machine already set up).
set -euo pipefail
if [ "${DAE_SKIP_INSTALL:-0}" = 1 ]; then
  echo "install-deps: skipped (DAE_SKIP_INSTALL=1)"
  exit 0
fi
packages=(
  # build
  cmake ninja-build ccache g++ pkg-config python3
  antlr4 libantlr4-runtime-dev
  llvm-16-dev libclang-cpp16-dev libclang-16-dev clang-16 llvm-16-tools libclang-rt-16-dev
  libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev
  libboost-dev libboost-program-options-dev libssl-dev libspdlog-dev libfmt-dev
  libprotobuf-dev protobuf-compiler libre2-dev
  # tests
  libgtest-dev libgmock-dev strace iproute2
)
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
