#!/usr/bin/env bash
# End-to-end tests of dae-runtime in the namespace lab (tools/netlab): LAN and WAN,
# IPv4 and IPv6, TCP and UDP, direct / proxied (dante socks5 node) / blocked, pname
# and mac rules, and the lifecycle (SIGTERM leaves nothing, a start after SIGKILL
# works). Needs root. Ends with "N passed, M failed".
#
#   tests/e2e/run.sh BUILD_DIR
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
daec=$build/bin/daec
runtime=$build/bin/dae-runtime
netlab=$root/tools/netlab/netlab.sh
P=daee2e-$$
C=$P-c R=$P-r S=$P-s
work=/tmp/$P
cg=$work/cgroup
passed=0 failed=0
rt_pid=

if [ "$(id -u)" != 0 ]; then echo "e2e: needs root"; echo "0 passed, 1 failed"; exit 1; fi
for tool in danted curl wget socat python3; do
  command -v $tool >/dev/null || { echo "e2e: missing $tool"; echo "0 passed, 1 failed"; exit 1; }
done

cleanup() {
  [ -n "$rt_pid" ] && kill "$rt_pid" 2>/dev/null
  bash "$netlab" down "$P" 2>/dev/null
  [ -d "$cg/test" ] && rmdir "$cg/test" 2>/dev/null
  mountpoint -q "$cg" 2>/dev/null && umount "$cg"
  rm -rf "$work"
}
trap cleanup EXIT

check() {  # check NAME EXPECTED_REGEX COMMAND...
  local name=$1 want=$2; shift 2
  local out
  out=$("$@" 2>&1)
  if [[ "$out" =~ $want ]]; then
    passed=$((passed + 1)); echo "PASS $name"
  else
    failed=$((failed + 1)); echo "FAIL $name: wanted /$want/, got: $(echo "$out" | head -3 | tr '\n' ' ')"
  fi
}
expect() {  # expect NAME CONDITION-COMMAND...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "PASS $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}

mkdir -p "$work" "$cg"
mount -t cgroup2 none "$cg" && mkdir "$cg/test"
bash "$netlab" up "$P" && bash "$netlab" servers "$P" || { echo "e2e: lab setup failed"; echo "0 passed, 1 failed"; exit 1; }
client_mac=$(ip netns exec "$C" cat /sys/class/net/eth0/address)

cat >"$work/e2e.dae" <<CONF
global {
  lan_interface: lan0
  wan_interface: wan0
  log_level: info
  auto_config_kernel_parameter: true
  tcp_check_url: 'http://target.lab.test/,198.18.1.10,fd00:dae:2::10'
  udp_check_dns: 'target.lab.test:53,198.18.1.53,fd00:dae:2::53'
  check_interval: 5s
}
node { dante: 'socks5://198.18.1.2:1080' }
group { proxy { policy: fixed(0) } }
routing {
  pname(curl) -> direct
  pname(wget) -> proxy
  dport(8080) -> block
  dip(198.18.1.11, 'fd00:dae:2::11') -> direct
  mac('$client_mac') && l4proto(tcp) && dport(80) -> proxy
  l4proto(udp) && dport(7) -> proxy
  fallback: direct
}
CONF
"$daec" "$work/e2e.dae" -o "$work/e2e.o" || { echo "e2e: daec failed"; echo "0 passed, 1 failed"; exit 1; }

starts=0
start_runtime() {
  starts=$((starts + 1))
  local log=$work/runtime.$starts.log
  ip netns exec "$R" "$runtime" --program "$work/e2e.o" --cgroup "$cg/test" >"$log" 2>&1 &
  rt_pid=$!
  for _ in $(seq 50); do
    if grep -q "dae-runtime running" "$log" 2>/dev/null; then
      cat "$log" >>"$work/runtime.log"
      return 0
    fi
    kill -0 "$rt_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "e2e: dae-runtime did not start:"; tail -5 "$log"
  return 1
}
in_cgroup() { ip netns exec "$R" bash -c "echo \$\$ > $cg/test/cgroup.procs; exec $*"; }

start_runtime
# --- LAN, TCP ---
check "lan tcp4 direct sees the client's address" "^src=198\.18\.0\.2 " ip netns exec "$C" curl -sS -m 5 http://198.18.1.11/
check "lan tcp6 direct sees the client's address" "^src=fd00:dae:1::2 " ip netns exec "$C" curl -sS -m 5 "http://[fd00:dae:2::11]/"
check "lan tcp4 proxied (mac rule) sees the socks node" "^src=198\.18\.1\.2 " ip netns exec "$C" curl -sS -m 5 http://198.18.1.10/
check "lan tcp6 proxied (mac rule) sees the socks node" "^src=fd00:dae:2::2 " ip netns exec "$C" curl -sS -m 5 "http://[fd00:dae:2::10]/"
check "lan tcp4 blocked gets nothing through" "timed out" ip netns exec "$C" curl -sS -m 2 http://198.18.1.10:8080/
check "lan tcp6 blocked gets nothing through" "timed out" ip netns exec "$C" curl -sS -m 2 "http://[fd00:dae:2::10]:8080/"
check "lan tcp4 proxied 10 MB download intact" "^10485760$" bash -c "ip netns exec $C curl -sS -m 20 http://198.18.1.10/bytes/10485760 | wc -c"
# --- LAN, UDP ---
check "lan udp4 proxied sees the socks node" "src=198\.18\.1\.2 " bash -c "printf hi | ip netns exec $C timeout 3 socat -T2 - UDP:198.18.1.10:7"
check "lan udp6 proxied sees the socks node" "src=fd00:dae:2::2 " bash -c "printf hi | ip netns exec $C timeout 3 socat -T2 - UDP:[fd00:dae:2::10]:7"
check "lan udp4 direct (dip rule) sees the client" "src=198\.18\.0\.2 " bash -c "printf hi | ip netns exec $C timeout 3 socat -T2 - UDP:198.18.1.11:7"
check "lan udp6 direct (dip rule) sees the client" "src=fd00:dae:1::2 " bash -c "printf hi | ip netns exec $C timeout 3 socat -T2 - UDP:[fd00:dae:2::11]:7"
# --- WAN (the router's own processes, pname from the cgroup hooks) ---
check "wan tcp4 pname(curl) direct" "^src=198\.18\.1\.1 " in_cgroup curl -sS -m 5 http://198.18.1.10/
check "wan tcp4 pname(wget) proxied" "^src=198\.18\.1\.2 " in_cgroup wget -qO- -T 5 http://198.18.1.10/
check "wan tcp6 pname(curl) direct" "^src=fd00:dae:2::1 " in_cgroup curl -sS -m 5 "http://[fd00:dae:2::10]/"
check "wan tcp6 pname(wget) proxied" "^src=fd00:dae:2::2 " in_cgroup wget -qO- -T 5 "http://[fd00:dae:2::10]/"
# Direct flows never reach userspace: no connection line for them in the log.
expect "direct flows made no userspace connection" bash -c "! grep -E -- '-> (198\.18\.1\.11|\[fd00:dae:2::11\]):80 ' $work/runtime.1.log"

# --- lifecycle ---
kill -TERM "$rt_pid"; wait "$rt_pid" 2>/dev/null; rt_pid=
expect "after SIGTERM no tcx/tc attachment remains" bash -c "! ip netns exec $R bpftool net show 2>/dev/null | grep -E 'dae_|tcx'"
expect "after SIGTERM no policy rule remains" bash -c "! ip netns exec $R ip rule | grep -q 'lookup 2023'"
expect "after SIGTERM no cgroup hook remains" bash -c "[ -z \"\$(bpftool cgroup show $cg/test 2>/dev/null | tail -n +2)\" ]"
check "after SIGTERM the lab routes plainly" "^src=198\.18\.0\.2 " ip netns exec "$C" curl -sS -m 5 http://198.18.1.10/
start_runtime
kill -KILL "$rt_pid"; wait "$rt_pid" 2>/dev/null; rt_pid=
start_runtime
check "after SIGKILL a new start works (proxied)" "^src=198\.18\.1\.2 " ip netns exec "$C" curl -sS -m 5 http://198.18.1.10/
kill -TERM "$rt_pid"; wait "$rt_pid" 2>/dev/null; rt_pid=

echo "runtime logs: $(cat "$work"/runtime.*.log | wc -l) lines"
if [ "$failed" -ne 0 ]; then
  echo "runtime warnings and errors:"
  grep -h -E "\[(warning|error)\]" "$work"/runtime.*.log | head -n 20
fi
echo "e2e: $passed passed, $failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
