#!/usr/bin/env bash
# Group lab: a GroupManager (tests/group-lab/group_lab.cpp) with real
# shadowsocks servers (ss-server from shadowsocks-libev) behind delays of
# 20 ms and 80 ms, in network namespaces.
#
#   PREFIX-c  client: group_lab             198.18.10.2   fd00:dae:10::2
#   PREFIX-r  router                        .10.1 .11.1 .12.1 .13.1 (and ::1 of each /64)
#   PREFIX-a  node "fast": ss-server :8388  198.18.11.2   fd00:dae:11::2   20 ms
#   PREFIX-b  node "slow": ss-server :8389  198.18.12.2   fd00:dae:12::2   80 ms
#   PREFIX-t  target (HTTP :80, UDP echo :7), dnsmasq :53,
#             node "noudp": ss-server :8390 without UDP    198.18.13.2   fd00:dae:13::2
#
# Delays: `tc qdisc ... netem delay` on the router's links to a and b when the
# kernel has sch_netem; otherwise (e.g. CONFIG_NET_SCH_NETEM unset) a userspace
# delay line (delayline.py) in front of each ss-server, which delays what the
# server sends back. The test prints which one it used.
#
# Usage: run.sh [BUILD_DIR]   (default: the project's build/; needs root)
# Safety: unique namespace names (daegrp-$$-*), veth pairs created inside
# them, addresses from 198.18.0.0/15 and fd00:dae::/32 only, teardown on every
# exit (trap), only the processes this script started are killed, by PID.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
lab_bin=$build/bin/group_lab
PY=${LAB_PYTHON:-/usr/bin/python3}
INTERVAL_MS=1000

if [ "$(id -u)" != 0 ]; then echo "run.sh: needs root (network namespaces)"; exit 2; fi
if [ ! -x "$lab_bin" ]; then echo "run.sh: $lab_bin missing: ninja -C $build group_lab"; exit 2; fi
for tool in ss-server dnsmasq ip tc "$PY"; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found"; exit 2; }
done

P=daegrp-$$
C=$P-c R=$P-r A=$P-a B=$P-b T=$P-t
NSES="$C $R $A $B $T"
run=$(mktemp -d "/tmp/$P.XXXXXX")
pids=()
passed=0
failed=0
DRIVER_PID=

n() { ip netns exec "$@"; }
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check NAME REPLY REGEX
  if [[ "$2" =~ $3 ]]; then pass "$1 ($2)"; else fail "$1 (got: $2)"; fi
}

cleanup() {
  set +e
  if [ -n "$DRIVER_PID" ]; then kill "$DRIVER_PID" 2>/dev/null; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  sleep 0.3
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for ns in $NSES; do
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
      # Anything still in a namespace of this run was started by this run.
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
      ip netns del "$ns"
    fi
  done
  if [ "$failed" -gt 0 ] || [ "${KEEP_LOGS:-0}" = 1 ]; then
    echo "logs kept in $run"
  else
    rm -rf "$run"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- namespaces and links ----------------------------------------------------
for ns in $NSES; do
  ip netns add "$ns" || exit 1
  n "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$ns" link set lo up
done
n "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
i=10
for pair in "$C:c0" "$A:a0" "$B:b0" "$T:t0"; do
  ns=${pair%%:*} peer=${pair##*:}
  ip -n "$ns" link add eth0 type veth peer name "$peer" netns "$R"
  ip -n "$ns" addr add "198.18.$i.2/24" dev eth0
  ip -n "$ns" addr add "fd00:dae:$i::2/64" dev eth0 nodad
  ip -n "$R" addr add "198.18.$i.1/24" dev "$peer"
  ip -n "$R" addr add "fd00:dae:$i::1/64" dev "$peer" nodad
  ip -n "$ns" link set eth0 up
  ip -n "$R" link set "$peer" up
  ip -n "$ns" route add default via "198.18.$i.1"
  ip -n "$ns" -6 route add default via "fd00:dae:$i::1"
  i=$((i + 1))
done

# ---- delays --------------------------------------------------------------------
if n "$R" tc qdisc add dev a0 root netem delay 20ms 2>/dev/null; then
  MODE=netem
  n "$R" tc qdisc add dev b0 root netem delay 80ms
  set_delay_a() { n "$R" tc qdisc change dev a0 root netem delay "${1}ms"; }
  echo "delays: tc netem on the router's links to a (20 ms) and b (80 ms)"
else
  MODE=delayline
  echo 20 >"$run/a.delay"
  echo 80 >"$run/b.delay"
  set_delay_a() { echo "$1" >"$run/a.delay.new" && mv "$run/a.delay.new" "$run/a.delay"; }
  echo "delays: this kernel has no sch_netem ($(uname -r)); using delayline.py in front of the ss-servers (20 ms, 80 ms)"
fi

# ---- servers -------------------------------------------------------------------
start() {  # start NAME NS CMD...: in the background, PID recorded, output to $run/NAME.log
  local name=$1 ns=$2
  shift 2
  ip netns exec "$ns" "$@" >"$run/$name.log" 2>&1 &
  pids+=($!)
  eval "PID_$name=$!"
}
ss_config() {  # ss_config FILE METHOD PASSWORD PORT MODE ADDR...
  local file=$1 method=$2 password=$3 port=$4 mode=$5
  shift 5
  local servers
  servers=$(printf '"%s",' "$@")
  cat >"$file" <<EOF
{"server": [${servers%,}], "server_port": $port, "password": "$password", "method": "$method",
 "mode": "$mode", "timeout": 60, "no_delay": true, "fast_open": false}
EOF
}
if [ "$MODE" = netem ]; then
  ss_config "$run/fast.json" aes-128-gcm lab-fast 8388 tcp_and_udp 198.18.11.2 fd00:dae:11::2
  ss_config "$run/slow.json" aes-256-gcm lab-slow 8389 tcp_and_udp 198.18.12.2 fd00:dae:12::2
else
  ss_config "$run/fast.json" aes-128-gcm lab-fast 18388 tcp_and_udp 127.0.0.1
  ss_config "$run/slow.json" aes-256-gcm lab-slow 18389 tcp_and_udp 127.0.0.1
  start delay_fast "$A" "$PY" "$here/delayline.py" --listen 198.18.11.2:8388 --listen '[fd00:dae:11::2]:8388' \
    --upstream 127.0.0.1:18388 --delay-file "$run/a.delay"
  start delay_slow "$B" "$PY" "$here/delayline.py" --listen 198.18.12.2:8389 --listen '[fd00:dae:12::2]:8389' \
    --upstream 127.0.0.1:18389 --delay-file "$run/b.delay"
fi
ss_config "$run/noudp.json" chacha20-ietf-poly1305 lab-noudp 8390 tcp_only 198.18.13.2 fd00:dae:13::2
start ss_fast "$A" ss-server -c "$run/fast.json" -u
start ss_slow "$B" ss-server -c "$run/slow.json" -u
start ss_noudp "$T" ss-server -c "$run/noudp.json"  # no -u, mode tcp_only: TCP relay only
start target "$T" "$PY" "$root/tools/netlab/target.py" 198.18.13.2 fd00:dae:13::2
start dnsmasq "$T" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=198.18.13.2 --listen-address=fd00:dae:13::2 --except-interface=lo \
  --port=53 --pid-file= --user=nobody --group=nogroup \
  --host-record=dns.lab.test,198.18.13.2,fd00:dae:13::2 --host-record=target.lab.test,198.18.13.2,fd00:dae:13::2

listening() {  # listening NS tcp|udp ADDR:PORT
  n "$1" ss -H -ln --"$2" | awk '{print $4}' | grep -qxF "$3"
}
ready=0
for _ in $(seq 100); do
  if listening "$A" tcp 198.18.11.2:8388 && listening "$B" tcp 198.18.12.2:8389 && listening "$T" tcp 198.18.13.2:8390 &&
     listening "$T" tcp 198.18.13.2:80 && listening "$T" udp 198.18.13.2:53 && listening "$T" udp 198.18.13.2:7 &&
     listening "$A" udp 198.18.11.2:8388; then
    ready=1
    break
  fi
  sleep 0.1
done
if [ "$ready" = 1 ]; then pass "lab up: 3 ss-servers, target, dnsmasq ($MODE)"; else fail "servers did not come up (see $run/*.log)"; exit 1; fi

# ---- the GroupManager ------------------------------------------------------------
cat >"$run/config.txtpb" <<EOF
global { key: "tcp_check_url" value: "http://target.lab.test/,198.18.13.2,fd00:dae:13::2" }
global { key: "tcp_check_http_method" value: "GET" }
global { key: "udp_check_dns" value: "dns.lab.test:53,198.18.13.2,fd00:dae:13::2" }
global { key: "check_interval" value: "1s" }
global { key: "check_tolerance" value: "0s" }
nodes { name: "fast" link: "ss://aes-128-gcm:lab-fast@198.18.11.2:8388" }
nodes { name: "slow" link: "ss://aes-256-gcm:lab-slow@198.18.12.2:8389" }
nodes { name: "noudp" link: "ss://chacha20-ietf-poly1305:lab-noudp@198.18.13.2:8390" }
groups {
  name: "proxy" policy: "min"
  filters { calls { function: "name" args { key: "keyword" value: "fast" } args { key: "regex" value: "^sl" } } }
  options { key: "check_tolerance" value: "10ms" }
}
groups {
  name: "udptest" policy: "min"
  filters { calls { function: "name" args { value: "noudp" } args { value: "slow" } } }
}
EOF
coproc LAB { exec ip netns exec "$C" "$lab_bin" --config "$run/config.txtpb" --http4 198.18.13.2:80 \
  --http6 '[fd00:dae:13::2]:80' --echo4 198.18.13.2:7 --echo6 '[fd00:dae:13::2]:7' --check-timeout-ms 2000 \
  2>"$run/group_lab.log"; }
DRIVER_PID=$LAB_PID  # (bash unsets LAB_PID when the coprocess ends)
lab() {  # lab COMMAND...: one answer line
  local reply
  echo "$*" >&"${LAB[1]}"
  if ! IFS= read -r -t 60 reply <&"${LAB[0]}"; then reply="fail no answer from group_lab (see $run/group_lab.log)"; fi
  echo "$reply"
}
since_mark() { sed -n 's/.* since-mark=\([0-9]*\).*/\1/p' <<<"$1"; }
within() {  # within NAME REPLY LIMIT_MS: an "ok" reply whose since-mark is at most LIMIT_MS
  local ms
  ms=$(since_mark "$2")
  if [[ "$2" =~ ^ok ]] && [ -n "$ms" ] && [ "$ms" -le "$3" ]; then pass "$1 ($ms ms after the change)"; else fail "$1 (got: $2)"; fi
}

r=$(lab wait-checked 2 20000)
check "every node checked twice" "$r" '^ok'

# 1. min picks the fast node, for every kind.
for k in tcp4 tcp6 udp4 udp6; do check "proxy $k chooses fast" "$(lab chosen proxy $k)" '^ok fast$'; done
check "10 tcp4 flows through fast" "$(lab dial proxy tcp4 10)" '^ok dials=10 failed=0 nodes=fast:10 target-saw=.src=198\.18\.11\.2 '
check "5 tcp6 flows through fast" "$(lab dial proxy tcp6 5)" '^ok dials=5 failed=0 nodes=fast:5 target-saw=.src=fd00:dae:11::2 '
check "5 udp4 flows through fast" "$(lab dial proxy udp4 5)" '^ok dials=5 failed=0 nodes=fast:5 target-saw=.src=198\.18\.11\.2 '
check "5 udp6 flows through fast" "$(lab dial proxy udp6 5)" '^ok dials=5 failed=0 nodes=fast:5'

# 2. A node whose server does not relay UDP: never picked for UDP, TCP keeps working.
check "udptest tcp4 chooses noudp (no delay)" "$(lab chosen udptest tcp4)" '^ok noudp$'
check "udptest tcp6 chooses noudp" "$(lab chosen udptest tcp6)" '^ok noudp$'
check "udptest udp4 chooses slow" "$(lab chosen udptest udp4)" '^ok slow$'
check "udptest udp6 chooses slow" "$(lab chosen udptest udp6)" '^ok slow$'
check "500 udp4 picks never noudp" "$(lab picks udptest udp4 500)" '^ok slow:500$'
check "500 udp6 picks never noudp" "$(lab picks udptest udp6 500)" '^ok slow:500$'
check "TCP through noudp works" "$(lab dial udptest tcp4 10)" '^ok dials=10 failed=0 nodes=noudp:10'
check "UDP of udptest goes through slow" "$(lab dial udptest udp4 5)" '^ok dials=5 failed=0 nodes=slow:5'

# 3. fast gets 200 ms: the choice flips within two check intervals.
lab mark >/dev/null
set_delay_a 200
for k in tcp4 tcp6 udp4 udp6; do
  within "proxy $k flips to slow within 2 check intervals after fast got 200 ms" \
    "$(lab wait-chosen proxy $k slow $((2 * INTERVAL_MS)))" $((2 * INTERVAL_MS))
done
check "new tcp4 flows go through slow" "$(lab dial proxy tcp4 5)" '^ok dials=5 failed=0 nodes=slow:5'
set_delay_a 20
check "back to fast when its delay is 20 ms again" "$(lab wait-chosen proxy tcp4 fast $((3 * INTERVAL_MS)))" '^ok fast'
for k in tcp6 udp4 udp6; do check "proxy $k back to fast" "$(lab wait-chosen proxy $k fast $((3 * INTERVAL_MS)))" '^ok fast'; done

# 4. Kill the fast node's server: new picks move to slow; after detection no new flow fails.
kill "$PID_ss_fast"
echo "killed ss-server of fast (pid $PID_ss_fast)"
r=$(lab dial-until proxy tcp4 slow 10000)
check "tcp4 flows move to slow after the kill" "$r" '^ok through slow'
check "no tcp4 flow fails after detection" "$(lab dial proxy tcp4 20)" '^ok dials=20 failed=0 nodes=slow:20'
check "tcp6 moves to slow" "$(lab wait-chosen proxy tcp6 slow 4000)" '^ok slow'
check "no tcp6 flow fails after detection" "$(lab dial proxy tcp6 10)" '^ok dials=10 failed=0 nodes=slow:10'
check "udp4 moves to slow" "$(lab wait-chosen proxy udp4 slow 6000)" '^ok slow'
check "udp6 moves to slow" "$(lab wait-chosen proxy udp6 slow 6000)" '^ok slow'
check "no udp4 flow fails after detection" "$(lab dial proxy udp4 5)" '^ok dials=5 failed=0 nodes=slow:5'

lab describe >/dev/null
lab quit >/dev/null 2>&1
wait "$DRIVER_PID" 2>/dev/null
DRIVER_PID=
echo "--- group_lab's view at the end (from $run/group_lab.log):"
sed -n '/^pool:/,$p' "$run/group_lab.log" | head -40
echo "--- group switches logged:"
grep -E "selects|switches|no usable node" "$run/group_lab.log" | sed 's/^\[[^]]*\] //' | head -40
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
