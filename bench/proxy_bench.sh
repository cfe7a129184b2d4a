#!/usr/bin/env bash
# Proxied TCP through a shadowsocks node (shadowsocks-libev ss-server, aes-128-gcm):
# dae-runtime against shadowsocks-libev's own client (ss-redir) and v2ray as the
# client, on the same path, in the same run:
#
#   client ns --lan0--> router ns (the proxy client under test) --wan0--> server ns
#                                                                  ss-server 198.18.1.2:8388
#                                                                  targets on 198.18.1.10
#
#   dae       dae-runtime on the router: lan0 hook, rule dip(198.18.1.10) -> group of the ss node
#   ss-libev  ss-redir on the router, nft REDIRECT of lan0 TCP to 198.18.1.10 (router ns only)
#   v2ray     v2ray on the router: dokodemo-door (followRedirect) inbound, shadowsocks outbound,
#             the same nft REDIRECT
#
# Only one of them runs at a time; each trial runs all three back to back (the order
# rotates from trial to trial) and restarts them, so that every proxy meets the same
# load of the (shared) machine. Figures per proxy and trial:
#   resident memory per idle proxied connection (bench_proxy_conn idle: N connections,
#     one request each so that every hop is set up; RSS delta of the fresh proxy / N),
#   iperf3 TCP upload with 1 and 4 streams and download with 1 stream (SECONDS each) on
#     the open path, with the CPU seconds per GB of the proxy and of ss-server,
#   the same with the proxy limited to CAP_PCT % of one CPU (cgroup cpu quota, the same
#     budget for each): ss-server's AES-GCM (mbedtls) bounds the open path for every
#     client, so only the capped runs show what the clients themselves can carry,
#   new connections per second (bench_proxy_conn rate: C workers, each connects, sends
#     a request line, reads a 64-byte reply and closes, for SECONDS) and the proxy's CPU
#     time per connection.
# Prints best and median over the trials and the ratios dae/ss-libev and dae/v2ray.
# Targets (printed, never failed on): throughput >= 1.0x ss-libev and >= 1.5x v2ray.
#
#   bench/proxy_bench.sh [BUILD_DIR] [SECONDS] [TRIALS]
# Environment: IDLE_CONNS (default 1000), RATE_CONCURRENCY (16), CAP_PCT (5; 0: no
# capped runs), PIN (0; 1: the proxy on CPU 0 and the rest of the path on CPU 1, which
# only helps on an otherwise idle machine), KEEP_LOGS=1.
# Needs root (network namespaces; the cap is a cgroup v1 cpu group it creates and
# removes). Bounded: about TRIALS x 3 x (7 x SECONDS + 10) s.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
secs=${2:-5}
trials=${3:-3}
idle_conns=${IDLE_CONNS:-1000}
rate_conc=${RATE_CONCURRENCY:-16}
pin=${PIN:-0}
cap_pct=${CAP_PCT:-5}

die() { echo "proxy_bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for b in ss-server ss-redir v2ray iperf3 nft taskset python3; do
  command -v "$b" >/dev/null || die "$b is missing (tools/install-deps.sh installs it)"
done
for b in daec dae-runtime bench_proxy_conn; do
  [ -x "$build/bin/$b" ] || die "no $build/bin/$b: build it (DAE_TARGETS=\"daec dae-runtime bench_proxy_conn\")"
done
conn=$build/bin/bench_proxy_conn

P=daepb-$$
C=$P-c R=$P-r S=$P-s
work=/tmp/$P
cg=$work/cgroup
TARGET=198.18.1.10 NODE=198.18.1.2 SSPORT=8388 PASS=lab-ss-aes-128-gcm METHOD=aes-128-gcm
RATE_PORT=9000 IPERF_PORT=5201 REDIR_PORT=12346 V2_PORT=12347
proxy_pid= idle_pid= server_pids=()
capgroup=/sys/fs/cgroup/cpu/daepb-$$

stop_pid() {  # PID: TERM, then KILL after 3 s
  local p=$1
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || return 0
  for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  return 0
}
cleanup() {
  stop_pid "$idle_pid"
  stop_pid "$proxy_pid"
  for p in "${server_pids[@]}"; do stop_pid "$p"; done
  [ -d "$capgroup" ] && rmdir "$capgroup"
  ip netns exec "$R" nft delete table ip daepb 2>/dev/null
  bash "$root/tools/netlab/netlab.sh" down "$P" 2>/dev/null
  [ -d "$cg/b" ] && rmdir "$cg/b"
  mountpoint -q "$cg" && umount "$cg"
  if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$cg" && mount -t cgroup2 none "$cg" && mkdir "$cg/b" || die "cannot mount a private cgroup2"
bash "$root/tools/netlab/netlab.sh" up "$P" && bash "$root/tools/netlab/netlab.sh" servers "$P" ||
  die "lab setup failed"
for ns in "$C" "$R" "$S"; do
  # Tens of thousands of short connections per run: reuse TIME_WAIT ports; ephemeral
  # ports stay clear of the listeners (5201, 9000, 12345-12347).
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="20000 65000"
done
ulimit -n "$(ulimit -Hn)"

# CPU placement: the proxy under test on CPU 0, the rest of the path on CPU 1.
ncpu=$(nproc)
if [ "$pin" = 1 ] && [ "$ncpu" -ge 2 ]; then
  cpu_proxy=0 cpu_rest=1
  placement="proxy on CPU 0, iperf3/ss-server/targets on CPU 1"
else
  cpu_proxy=0-$((ncpu - 1)) cpu_rest=0-$((ncpu - 1))
  placement="not pinned ($ncpu CPUs)"
fi
in_ns() {  # NS CPUS COMMAND...: in the namespace, on those CPUs, with all the fds allowed
  local ns=$1 cpus=$2
  shift 2
  ip netns exec "$ns" bash -c 'ulimit -n "$(ulimit -Hn)"; exec taskset -c "$0" "$@"' "$cpus" "$@"
}
spawn_in_ns() {  # the same in the background; $! is then the command's own PID (it execs)
  local ns=$1 cpus=$2
  shift 2
  ip netns exec "$ns" bash -c 'ulimit -n "$(ulimit -Hn)"; exec taskset -c "$0" "$@"' "$cpus" "$@" &
}

# The CPU cap: a cgroup v1 cpu group with a CFS quota (1 ms slices, so that the
# pauses stay short next to TCP's timers).
cap_period= cap_quota=
if [ "$cap_pct" != 0 ]; then
  if [ -w /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && mkdir "$capgroup" 2>/dev/null; then
    cap_quota=1000
    cap_period=$((cap_quota * 100 / cap_pct))
    echo "$cap_period" >"$capgroup/cpu.cfs_period_us"
    echo -1 >"$capgroup/cpu.cfs_quota_us"
  else
    echo "proxy_bench: no cgroup v1 cpu controller to cap the proxies with: capped runs skipped" >&2
    cap_pct=0
  fi
fi
set_cap() {  # on|off: the proxy's CPU quota
  [ "$cap_pct" != 0 ] || return 0
  if [ "$1" = on ]; then echo "$cap_quota" >"$capgroup/cpu.cfs_quota_us"; else echo -1 >"$capgroup/cpu.cfs_quota_us"; fi
}

# ---- the server side: ss-server, iperf3, the connection target ---------------
cat >"$work/ss-server.json" <<JSON
{ "server": "$NODE", "server_port": $SSPORT, "password": "$PASS", "method": "$METHOD",
  "mode": "tcp_and_udp", "timeout": 300, "no_delay": true, "fast_open": false }
JSON
spawn_in_ns "$S" "$cpu_rest" ss-server -c "$work/ss-server.json" >"$work/ss-server.log" 2>&1
ss_server_pid=$!
server_pids+=($!)
spawn_in_ns "$S" "$cpu_rest" iperf3 -s -B $TARGET -p $IPERF_PORT >"$work/iperf3-server.log" 2>&1
server_pids+=($!)
spawn_in_ns "$S" "$cpu_rest" "$conn" serve $TARGET $RATE_PORT >"$work/conn-server.log" 2>&1
server_pids+=($!)
for _ in $(seq 50); do
  l=$(ip netns exec "$S" ss -Hltn)
  grep -q "$NODE:$SSPORT " <<<"$l" && grep -q "$TARGET:$IPERF_PORT " <<<"$l" && grep -q "$TARGET:$RATE_PORT " <<<"$l" && break
  sleep 0.1
done

# ---- the three proxy clients -------------------------------------------------
userinfo=$(printf '%s:%s' "$METHOD" "$PASS" | base64 -w0 | tr '+/' '-_' | tr -d '=')
cat >"$work/bench.dae" <<CONF
global {
  lan_interface: lan0
  tcp_check_url: 'http://target.lab.test/,198.18.1.10'
  udp_check_dns: 'target.lab.test:53,198.18.1.53'
  log_level: warn
}
node { ss: 'ss://$userinfo@$NODE:$SSPORT#ss' }
group { proxy { policy: fixed(0) } }
routing {
  dip($TARGET) && l4proto(tcp) -> proxy
  fallback: direct
}
CONF
"$build/bin/daec" "$work/bench.dae" -o "$work/bench.o" || die "daec failed"

cat >"$work/v2ray.json" <<JSON
{
  "log": { "loglevel": "none" },
  "inbounds": [ { "listen": "0.0.0.0", "port": $V2_PORT, "protocol": "dokodemo-door",
                  "settings": { "network": "tcp", "followRedirect": true },
                  "streamSettings": { "sockopt": { "tproxy": "redirect" } } } ],
  "outbounds": [ { "protocol": "shadowsocks",
                   "settings": { "servers": [ { "address": "$NODE", "port": $SSPORT,
                                               "method": "$METHOD", "password": "$PASS" } ] } } ]
}
JSON

redirect_to() {  # PORT: lan0 TCP to the target goes to the local port (router ns only)
  ip netns exec "$R" nft -f - <<NFT
table ip daepb {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "lan0" ip daddr $TARGET tcp dport { 80, $IPERF_PORT, $RATE_PORT } redirect to :$1
  }
}
NFT
}
no_redirect() { ip netns exec "$R" nft delete table ip daepb 2>/dev/null; return 0; }

start_proxy() {  # NAME: starts it in the router ns, sets proxy_pid
  local log=$work/$1.log
  case $1 in
    dae)
      spawn_in_ns "$R" "$cpu_proxy" "$build/bin/dae-runtime" --program "$work/bench.o" --cgroup "$cg/b" >>"$log" 2>&1
      proxy_pid=$! ;;
    ss-libev)
      redirect_to $REDIR_PORT
      spawn_in_ns "$R" "$cpu_proxy" ss-redir -s $NODE -p $SSPORT -k $PASS -m $METHOD -b 0.0.0.0 -l $REDIR_PORT -t 300 --no-delay \
        >>"$log" 2>&1
      proxy_pid=$! ;;
    v2ray)
      redirect_to $V2_PORT
      spawn_in_ns "$R" "$cpu_proxy" v2ray -config "$work/v2ray.json" >>"$log" 2>&1
      proxy_pid=$! ;;
  esac
  # Every thread of the proxy goes into the cap group (uncapped until set_cap on).
  [ "$cap_pct" = 0 ] || echo "$proxy_pid" >"$capgroup/cgroup.procs"
  # Ready when the target answers through the node (it sees the node's address).
  local out
  for _ in $(seq 100); do
    out=$(ip netns exec "$C" curl -s -m 1 "http://$TARGET/" 2>/dev/null)
    [[ $out == "src=$NODE "* ]] && return 0
    kill -0 "$proxy_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "proxy_bench: $1 did not come up (last answer: '$out'); log:" >&2
  tail -5 "$log" >&2
  return 1
}
stop_proxy() {
  stop_pid "$proxy_pid"
  proxy_pid=
  no_redirect
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
results=$work/results   # lines: PROXY METRIC VALUE

record() { echo "$1 $2 $3" >>"$results"; }

iperf() {  # PROXY LABEL ARGS...: Gbit/s received; proxy and ss-server CPU s per GB
  local name=$1 label=$2 c0 c1 n0 n1
  shift 2
  c0=$(cpu_ticks "$proxy_pid") n0=$(cpu_ticks "$ss_server_pid")
  in_ns "$C" "$cpu_rest" iperf3 -c $TARGET -p $IPERF_PORT -t "$secs" -J "$@" >"$work/iperf.json" 2>/dev/null
  c1=$(cpu_ticks "$proxy_pid") n1=$(cpu_ticks "$ss_server_pid")
  python3 - "$name" "$label" "$c0" "$c1" "$n0" "$n1" "$hz" "$work/iperf.json" >>"$results" <<'PY' ||
import json, sys
name, label = sys.argv[1], sys.argv[2]
c0, c1, n0, n1, hz = map(int, sys.argv[3:8])
rx = json.load(open(sys.argv[8]))["end"]["sum_received"]
gb = rx["bytes"] / 1e9
print(name, label, "%.3f" % (rx["bits_per_second"] / 1e9))
if gb > 0:
    print(name, label + "-cpu", "%.3f" % ((c1 - c0) / hz / gb))
    print(name, label + "-node", "%.3f" % ((n1 - n0) / hz / gb))
PY
    echo "proxy_bench: iperf3 $label through $name failed" >&2
}

conn_rate() {  # PROXY
  local out c0 c1
  c0=$(cpu_ticks "$proxy_pid")
  out=$(in_ns "$C" "$cpu_rest" "$conn" rate $TARGET $RATE_PORT --concurrency "$rate_conc" --seconds "$secs" 2>>"$work/rate-$1.err")
  c1=$(cpu_ticks "$proxy_pid")
  local rate errors done
  rate=$(sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$out")
  errors=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$out")
  done=$(sed -n 's/^connections=\([0-9]*\).*/\1/p' <<<"$out")
  [ -n "$rate" ] || { echo "proxy_bench: connection rate through $1 failed: $out" >&2; return; }
  record "$1" conn-rate "$rate"
  record "$1" conn-errors "$errors"
  python3 -c "print('$1 conn-cpu %.1f' % (($c1 - $c0) / $hz / max($done, 1) * 1e6))" >>"$results"
}

idle_mem() {  # PROXY: RSS delta per idle proxied connection (KiB)
  local fifo=$work/idle.fifo r0 r1 line
  # A few connections first, so that one-time allocations are not counted.
  ip netns exec "$C" "$conn" rate $TARGET $RATE_PORT --concurrency 4 --max 64 >/dev/null 2>&1
  sleep 0.5
  r0=$(rss_kib "$proxy_pid")
  rm -f "$fifo" && mkfifo "$fifo"
  exec 7<>"$fifo"   # the idle connections stay open until this is closed
  spawn_in_ns "$C" "$cpu_rest" "$conn" idle $TARGET $RATE_PORT --count "$idle_conns" --hold 120 \
    <"$fifo" >"$work/idle.out" 2>"$work/idle-$1.err" 7>&-
  idle_pid=$!
  for _ in $(seq 600); do
    grep -q '^ready' "$work/idle.out" && break
    kill -0 "$idle_pid" 2>/dev/null || break
    sleep 0.1
  done
  line=$(head -1 "$work/idle.out")
  sleep 1
  r1=$(rss_kib "$proxy_pid")
  exec 7>&-
  wait "$idle_pid" 2>/dev/null
  idle_pid=
  local open=${line#ready }
  open=${open%% *}
  if [ -z "$open" ] || [ "$open" -lt "$idle_conns" ]; then
    echo "proxy_bench: only '${line}' idle connections through $1" >&2
  fi
  [ -n "$open" ] && [ "$open" -gt 0 ] &&
    python3 -c "print('$1 idle-kib %.2f' % (($r1 - $r0) / $open))" >>"$results"
  sleep 1   # let the closes drain
}

# ---- trials -----------------------------------------------------------------
proxies=(dae ss-libev v2ray)
: >"$results"
echo "proxy_bench: $trials trials x ${#proxies[@]} proxies, ${secs}s per measurement; $placement" >&2
direct=$(ip netns exec "$C" iperf3 -c $TARGET -p $IPERF_PORT -t "$secs" -J 2>/dev/null |
  python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))')
for t in $(seq "$trials"); do
  for k in 0 1 2; do
    name=${proxies[$(((k + t - 1) % 3))]}
    echo "proxy_bench: trial $t: $name" >&2
    start_proxy "$name" || { stop_proxy; continue; }
    idle_mem "$name"
    iperf "$name" up1 -P 1
    iperf "$name" up4 -P 4
    iperf "$name" down1 -P 1 -R
    conn_rate "$name"
    if [ "$cap_pct" != 0 ]; then
      set_cap on
      iperf "$name" cap-up1 -P 1
      iperf "$name" cap-up4 -P 4
      iperf "$name" cap-down1 -P 1 -R
      set_cap off
    fi
    stop_proxy
  done
done

# ---- report -----------------------------------------------------------------
python3 - "$results" "$secs" "$trials" "$idle_conns" "$rate_conc" "$placement" "$direct" "$cap_pct" <<'PY'
import statistics, sys
from collections import defaultdict
path, secs, trials, idle, conc, placement, direct, cap = sys.argv[1:]
vals = defaultdict(list)
for line in open(path):
    p, m, v = line.split()
    vals[(p, m)].append(float(v))
proxies = ["dae", "ss-libev", "v2ray"]
def best(v, hi): return (max(v) if hi else min(v)) if v else None
def med(v): return statistics.median(v) if v else None
def fmt(x): return "-" if x is None else ("%.2f" % x if abs(x) < 100 else "%.0f" % x)
def ratio(a, b): return "-" if a is None or not b else "%.2fx" % (a / b)
def table(title, metrics):
    print(title)
    head = f"  {'metric':<34} {'unit':<7}" + "".join(f"{p + ' best':>14}{p + ' med':>13}" for p in proxies) + \
           f"{'dae/ss-libev':>14}{'dae/v2ray':>11}"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for key, label, unit, hi in metrics:
        if not any(vals.get((p, key)) for p in proxies):
            continue
        row = f"  {label:<34} {unit:<7}"
        meds = {}
        for p in proxies:
            v = vals.get((p, key), [])
            meds[p] = med(v)
            row += f"{fmt(best(v, hi)):>14}{fmt(meds[p]):>13}"
        row += f"{ratio(meds['dae'], meds['ss-libev']):>14}{ratio(meds['dae'], meds['v2ray']):>11}"
        print(row)
    print()

print("shadowsocks aes-128-gcm, node: shadowsocks-libev ss-server; client -> router (proxy) -> ss-server -> target")
print(f"{trials} trials, {secs}s per run, {idle} idle connections, {conc} connecting workers; {placement}")
print(f"reference: the same path without a proxy (kernel forwarding) {direct} Gbit/s, upload 1 stream")
print()
def flows(prefix, what):
    return [(prefix + "up1", f"TCP upload, 1 stream{what}", "Gbit/s", True),
            (prefix + "up4", f"TCP upload, 4 streams{what}", "Gbit/s", True),
            (prefix + "down1", f"TCP download, 1 stream{what}", "Gbit/s", True),
            (prefix + "up1-cpu", "  proxy CPU, upload 1 stream", "s/GB", False),
            (prefix + "up4-cpu", "  proxy CPU, upload 4 streams", "s/GB", False),
            (prefix + "down1-cpu", "  proxy CPU, download 1 stream", "s/GB", False),
            (prefix + "up1-node", "  ss-server CPU, upload 1 stream", "s/GB", False),
            (prefix + "down1-node", "  ss-server CPU, download 1 stream", "s/GB", False)]
table("open path (every process as the machine schedules it)", flows("", "") + [
    ("conn-rate", "new connections", "conn/s", True),
    ("conn-cpu", "  proxy CPU per connection", "us", False),
    ("idle-kib", "memory per idle connection", "KiB", False)])
if cap != "0":
    table(f"proxy capped to {cap}% of one CPU (the same budget for each client)", flows("cap-", ""))
print("ratios are of the medians; for CPU and memory lower is better")
for prefix, where in [("cap-", f"capped to {cap}% of a CPU"), ("", "open path")]:
    for key, label in [("up1", "upload 1 stream"), ("up4", "upload 4 streams"), ("down1", "download 1 stream")]:
        d, s, v = (med(vals.get((p, prefix + key), [])) for p in proxies)
        if None in (d, s, v):
            continue
        ok = d >= 1.0 * s and d >= 1.5 * v
        print(f"target, {where}, {label}: dae >= 1.0x ss-libev ({d / s:.2f}x) and >= 1.5x v2ray ({d / v:.2f}x): "
              + ("PASS" if ok else "MISS"))
errs = {p: sum(vals.get((p, "conn-errors"), [])) for p in proxies}
if any(errs.values()):
    print("connection errors:", ", ".join(f"{p} {int(e)}" for p, e in errs.items()))
PY
