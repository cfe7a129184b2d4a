#!/usr/bin/env bash
# What a hot reload costs: a proxied download (through the lab's dante socks5 node)
# is read by a client that records the longest pause between two reads; once with
# no reload (baseline) and once while `dae-runtime reload` runs back to back. Prints
# throughput and longest pause of both runs with their ratios, and how long a reload
# takes with -c (compile + verify + swap) and with --program (verify + swap).
# Bounded: BYTES per download (default 1 GB), RELOADS timed reloads (default 5).
# Needs root. Prints figures; never fails on targets.
#   bench/reload_bench.sh [BUILD_DIR] [BYTES] [RELOADS]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
bytes=${2:-1000000000}
reloads=${3:-5}
P=daerb-$$
C=$P-c R=$P-r
work=/tmp/$P
cg=$work/cgroup
rt_pid=
cleanup() {
  [ -n "$rt_pid" ] && kill "$rt_pid" 2>/dev/null && wait "$rt_pid" 2>/dev/null
  bash "$root/tools/netlab/netlab.sh" down "$P" 2>/dev/null
  [ -d "$cg/$P" ] && rmdir "$cg/$P"
  mountpoint -q "$cg" && umount "$cg"
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$cg" && mount -t cgroup2 none "$cg" && mkdir "$cg/$P"
bash "$root/tools/netlab/netlab.sh" up "$P" && bash "$root/tools/netlab/netlab.sh" servers "$P" || exit 1
cat >"$work/bench.dae" <<'CONF'
global {
  lan_interface: lan0
  wan_interface: wan0
  tcp_check_url: 'http://target.lab.test/,198.18.1.10,fd00:dae:2::10'
  udp_check_dns: 'target.lab.test:53,198.18.1.53,fd00:dae:2::53'
  log_level: warn
}
node { dante: 'socks5://198.18.1.2:1080' }
group { proxy { policy: fixed(0) } }
routing {
  dip(198.18.1.10) -> proxy
  dip(198.18.1.11) -> direct
  fallback: direct
}
CONF
"$build/bin/daec" "$work/bench.dae" -o "$work/bench.o" || exit 1

start() {  # start ARGS...
  ip netns exec "$R" "$build/bin/dae-runtime" "$@" --cgroup "$cg/$P" >"$work/runtime.log" 2>&1 &
  rt_pid=$!
  for _ in $(seq 100); do
    ip netns exec "$R" "$build/bin/dae-runtime" status >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "dae-runtime did not start"; tail -5 "$work/runtime.log"; exit 1
}
stop() { kill "$rt_pid"; wait "$rt_pid" 2>/dev/null; rt_pid=; }

# Prints "SECONDS MAX_PAUSE_SECONDS BYTES" for one download through the proxy.
download() {
  ip netns exec "$C" python3 - "$bytes" <<'PY'
import socket, sys, time
n = int(sys.argv[1])
s = socket.create_connection(("198.18.1.10", 80))
s.sendall(f"GET /bytes/{n} HTTP/1.0\r\nHost: t\r\n\r\n".encode())
got, worst, start = 0, 0.0, time.monotonic()
last = start
while True:
    b = s.recv(1 << 16)
    now = time.monotonic()
    if not b:
        break
    worst = max(worst, now - last)
    last = now
    got += len(b)
print(f"{last - start:.3f} {worst:.4f} {got}")
PY
}

# Reload latency: wall time of `dae-runtime reload`, which answers when the swap is done.
time_reloads() {
  local total=0 t0 t1
  for _ in $(seq "$reloads"); do
    t0=$(date +%s.%N)
    ip netns exec "$R" "$build/bin/dae-runtime" reload >/dev/null || echo "reload failed"
    t1=$(date +%s.%N)
    total=$(echo "$total + $t1 - $t0" | bc -l)
  done
  echo "scale=3; $total / $reloads" | bc -l
}

start -c "$work/bench.dae"
read -r base_s base_pause base_bytes < <(download)
download >"$work/with-reloads" &
dl=$!
n=0
while kill -0 "$dl" 2>/dev/null; do
  ip netns exec "$R" "$build/bin/dae-runtime" reload >/dev/null 2>&1 && n=$((n + 1))
done
wait "$dl"
read -r rl_s rl_pause rl_bytes <"$work/with-reloads"
compile_reload=$(time_reloads)
stop
start --program "$work/bench.o"
program_reload=$(time_reloads)
stop

mb() { echo "scale=1; $1 / $2 / 1000000" | bc -l; }
echo "reload bench: $((bytes / 1000000)) MB proxied download (socks5 node), machine load $(cut -d' ' -f1 /proc/loadavg)"
printf '  %-34s %8s MB/s  longest pause %7ss  (%s bytes)\n' "no reload (baseline)" "$(mb "$base_bytes" "$base_s")" "$base_pause" "$base_bytes"
printf '  %-34s %8s MB/s  longest pause %7ss  (%s bytes)\n' "$n reloads (-c) during the download" "$(mb "$rl_bytes" "$rl_s")" "$rl_pause" "$rl_bytes"
echo "  throughput ratio (reloads / baseline): $(echo "scale=2; ($rl_bytes / $rl_s) / ($base_bytes / $base_s)" | bc -l)"
echo "  longest pause ratio (reloads / baseline): $(echo "scale=1; $rl_pause / $base_pause" | bc -l)"
echo "  reload -c CONFIG (compile, verify, swap): ${compile_reload}s mean of $reloads"
echo "  reload --program rules.o (verify, swap): ${program_reload}s mean of $reloads"
