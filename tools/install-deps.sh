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
  nlohmann-json3-dev libldns-dev
  # tests: the lab's real servers and clients
  libgtest-dev libgmock-dev strace iproute2 bpftool
  dante-server dante-client shadowsocks-libev v2ray trojan dnsmasq-base iperf3
  curl wget socat bind9-dnsutils openssl iputils-ping procps util-linux
  stunnel4 dnsperf python3-socks python3-protobuf hyperfine
  # bench/proxy_bench.sh: REDIRECT to ss-redir / v2ray inside the lab's router namespace
  nftables
)
export DEBIAN_FRONTEND=noninteractive
# Package services must not start on install: every server runs inside the lab's
# namespaces only, started by the tests themselves.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
