#!/usr/bin/env bash
# netlab: a lab of three network namespaces for end-to-end tests and the demo.
#
#   PREFIX-c (client)             PREFIX-r (router: dae-runtime)        PREFIX-s (server)
#   eth0 198.18.0.2/24 ---------- lan0 198.18.0.1/24
#        fd00:dae:1::2/64              fd00:dae:1::1/64
#                                 wan0 198.18.1.1/24 ------------------ eth0 198.18.1.2/24  (socks5 node)
#                                      fd00:dae:2::1/64                      fd00:dae:2::2/64
#                                                                            198.18.1.10 fd00:dae:2::10 (target)
#                                                                            198.18.1.11 fd00:dae:2::11 (2nd target)
#                                                                            198.18.1.53 fd00:dae:2::53 (dnsmasq: *.lab.test)
#
# Safety: every namespace has the unique PREFIX; the veth pairs are created inside
# the lab namespaces, so nothing reaches the host namespace; `down` kills only the
# processes inside the lab namespaces, by PID, then deletes them.
#
# Usage: netlab.sh up|down|servers|status PREFIX
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: netlab.sh up|down|servers|status PREFIX}
prefix=${2:?usage: netlab.sh up|down|servers|status PREFIX}
C=$prefix-c R=$prefix-r S=$prefix-s
run=/tmp/$prefix
n() { ip netns exec "$@"; }

up() {
  for ns in "$C" "$R" "$S"; do
    ip netns add "$ns"
    n "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip -n "$ns" link set lo up
  done
  n "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n "$C" link add eth0 type veth peer name lan0 netns "$R"
  ip -n "$S" link add eth0 type veth peer name wan0 netns "$R"
  ip -n "$C" addr add 198.18.0.2/24 dev eth0
  ip -n "$C" addr add fd00:dae:1::2/64 dev eth0 nodad
  ip -n "$R" addr add 198.18.0.1/24 dev lan0
  ip -n "$R" addr add fd00:dae:1::1/64 dev lan0 nodad
  ip -n "$R" addr add 198.18.1.1/24 dev wan0
  ip -n "$R" addr add fd00:dae:2::1/64 dev wan0 nodad
  ip -n "$S" addr add 198.18.1.2/24 dev eth0
  ip -n "$S" addr add fd00:dae:2::2/64 dev eth0 nodad
  for a in 198.18.1.10/32 198.18.1.11/32 198.18.1.53/32; do ip -n "$S" addr add "$a" dev eth0; done
  for a in fd00:dae:2::10/128 fd00:dae:2::11/128 fd00:dae:2::53/128; do
    ip -n "$S" addr add "$a" dev eth0 nodad preferred_lft 0
  done
  ip -n "$C" link set eth0 up
  ip -n "$R" link set lan0 up
  ip -n "$R" link set wan0 up
  ip -n "$S" link set eth0 up
  ip -n "$C" route add default via 198.18.0.1
  ip -n "$C" -6 route add default via fd00:dae:1::1
  ip -n "$S" route add default via 198.18.1.1
  ip -n "$S" -6 route add default via fd00:dae:2::1
  # The router's own default route points at the server side: `wan_interface: auto`.
  ip -n "$R" route add default via 198.18.1.2
  ip -n "$R" -6 route add default via fd00:dae:2::2
  # Answers of the target to proxied connections must leave from the node's address
  # (so a test can tell proxied from direct by the source the target sees).
  for a in 198.18.1.10 198.18.1.11 198.18.1.53; do
    ip -n "$S" route replace local "$a" dev eth0 table local proto kernel scope host src 198.18.1.2
  done
  for a in fd00:dae:2::10 fd00:dae:2::11 fd00:dae:2::53; do
    ip -n "$S" -6 route add local "$a" dev eth0 table local proto kernel metric 1024 src fd00:dae:2::2
    ip -n "$S" -6 route del local "$a" dev eth0 table local proto kernel metric 0
  done
  mkdir -p "$run"
}

servers() {
  mkdir -p "$run"
  # The target: HTTP whoami, TCP echo and UDP echo on both addresses.
  n "$S" python3 "$here/target.py" 198.18.1.10 198.18.1.11 fd00:dae:2::10 fd00:dae:2::11 >"$run/target.log" 2>&1 &
  echo $! >"$run/target.pid"
  # A socks5 node (dante, no authentication) on 198.18.1.2:1080 and [fd00:dae:2::2]:1080.
  sed "s|@RUN@|$run|g" "$here/danted.conf" >"$run/danted.conf"
  n "$S" danted -f "$run/danted.conf" -p "$run/danted.pid" -N 1 >"$run/danted.log" 2>&1 &
  echo $! >"$run/danted.launcher.pid"
  # DNS for the lab's names (health checks use it): *.lab.test -> the target.
  n "$S" dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces --user=root \
    --listen-address=198.18.1.53 --listen-address=fd00:dae:2::53 --port=53 \
    --address=/lab.test/198.18.1.10 --address=/lab.test/fd00:dae:2::10 \
    --log-queries --log-facility="$run/dnsmasq.log" --pid-file="$run/dnsmasq.pid" &
  echo $! >"$run/dnsmasq.launcher.pid"
  for _ in $(seq 50); do
    if n "$S" ss -ltn | grep -q ':1080 ' && n "$S" ss -ltn | grep -q '198.18.1.10:80 ' &&
       n "$S" ss -lun | grep -q '198.18.1.53:53 '; then return 0; fi
    sleep 0.1
  done
  echo "netlab: servers did not come up; see $run/*.log" >&2
  return 1
}

down() {
  for ns in "$C" "$R" "$S"; do
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    fi
  done
  sleep 0.2
  for ns in "$C" "$R" "$S"; do
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns"
    fi
  done
}

case "$cmd" in
  up) up ;;
  servers) servers ;;
  down) down ;;
  status) for ns in "$C" "$R" "$S"; do echo "== $ns"; ip -n "$ns" -br addr 2>/dev/null || true; done ;;
  *) echo "usage: netlab.sh up|down|servers|status PREFIX" >&2; exit 2 ;;
esac
