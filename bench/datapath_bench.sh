#!/usr/bin/env bash
# iperf3 TCP throughput from the lab's client to its target through the router:
# with no runtime (baseline), with dae-runtime routing the flow direct (real direct:
# the kernel forwards it), and with the flow proxied through the dante socks5 node.
# Prints throughput, the ratio to the baseline, and the runtime's CPU time.
# Bounded: SECONDS per run (default 5). Needs root. Prints; never fails on targets.
#   bench/datapath_bench.sh [BUILD_DIR] [SECONDS]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
secs=${2:-5}
P=daebench-$$
C=$P-c R=$P-r
work=/tmp/$P
cg=$work/cgroup
rt_pid=
cleanup() {
  [ -n "$rt_pid" ] && kill "$rt_pid" 2>/dev/null && wait "$rt_pid" 2>/dev/null
  bash "$root/tools/netlab/netlab.sh" down "$P" 2>/dev/null
  [ -d "$cg/b" ] && rmdir "$cg/b"
  mountpoint -q "$cg" && umount "$cg"
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$cg" && mount -t cgroup2 none "$cg" && mkdir "$cg/b"
bash "$root/tools/netlab/netlab.sh" up "$P" && bash "$root/tools/netlab/netlab.sh" servers "$P" || exit 1
ip netns exec "$P-s" iperf3 -s -D -B 198.18.1.10 -p 5201 --logfile "$work/iperf-direct.log"
ip netns exec "$P-s" iperf3 -s -D -B 198.18.1.11 -p 5201 --logfile "$work/iperf-proxied.log"
sleep 0.5
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
  dip(198.18.1.11) -> proxy
  fallback: direct
}
CONF
"$build/bin/daec" "$work/bench.dae" -o "$work/bench.o" || exit 1

gbits() {  # gbits TARGET -> Gbit/s received
  ip netns exec "$C" iperf3 -c "$1" -p 5201 -t "$secs" -J 2>/dev/null |
    python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

baseline=$(gbits 198.18.1.10)
ip netns exec "$R" "$build/bin/dae-runtime" --program "$work/bench.o" --cgroup "$cg/b" >"$work/runtime.log" 2>&1 &
rt_pid=$!
for _ in $(seq 50); do grep -q "dae-runtime running" "$work/runtime.log" 2>/dev/null && break; sleep 0.1; done
sleep 2  # first health checks
hz=$(getconf CLK_TCK)
c0=$(cpu "$rt_pid"); direct=$(gbits 198.18.1.10); c1=$(cpu "$rt_pid")
proxied=$(gbits 198.18.1.11); c2=$(cpu "$rt_pid")
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
echo "iperf3 TCP, ${secs}s per run, client -> target through the router (veth, one flow)"
printf '  %-34s %8s Gbit/s\n' "baseline (no dae-runtime)" "$baseline"
printf '  %-34s %8s Gbit/s  %s of baseline  runtime CPU %.2f s\n' "dae-runtime, flow routed direct" "$direct" "$(ratio "$direct" "$baseline")" "$(python3 -c "print(($c1-$c0)/$hz)")"
printf '  %-34s %8s Gbit/s  %s of baseline  runtime CPU %.2f s\n' "dae-runtime, flow proxied (socks5)" "$proxied" "$(ratio "$proxied" "$baseline")" "$(python3 -c "print(($c2-$c1)/$hz)")"
r=$(ratio "$direct" "$baseline")
python3 -c "import sys; print('target: direct >= 0.95 x baseline:', 'PASS' if $r >= 0.95 else 'MISS')"
