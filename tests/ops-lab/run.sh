#!/usr/bin/env bash
# Hot reload, status, metrics and logging of dae-runtime in the namespace lab
# (tools/netlab: client, router with dae-runtime, server with the dante socks5 node
# and the target):
#   1. a 100 MB download through the socks5 node continues across a reload (the
#      control socket's `dae-runtime reload`) that sends its destination direct; a
#      new connection afterwards goes direct; SIGHUP reloads too;
#   3. `dae-runtime status` after K flows per rule matches tests/ops-lab/status.golden
#      (volatile fields normalised) and every rule counted exactly K new flows; the
#      Prometheus endpoint serves the same counters;
#   4. a reload with a broken config (or one changing what a reload cannot change)
#      exits non-zero with the diagnostics, and the attached program and its rules
#      stay as they were.
# Needs root. Ends with "N passed, M failed".
#
#   tests/ops-lab/run.sh BUILD_DIR        (UPDATE_GOLDEN=1 rewrites status.golden)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-${BUILD_DIR:-$root/build}}" && pwd)
runtime=$build/bin/dae-runtime
netlab=$root/tools/netlab/netlab.sh
P=daeops-$$
C=$P-c R=$P-r S=$P-s
work=/tmp/$P
cg=$work/cgroup
K=3
passed=0 failed=0
rt_pid= dl_pid=

if [ "$(id -u)" != 0 ]; then echo "ops-lab: needs root"; echo "0 passed, 1 failed"; exit 1; fi
for tool in danted curl socat python3 sha256sum; do
  command -v $tool >/dev/null || { echo "ops-lab: missing $tool"; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$runtime" ] || { echo "ops-lab: missing $runtime"; echo "0 passed, 1 failed"; exit 1; }

cleanup() {
  [ -n "$dl_pid" ] && kill "$dl_pid" 2>/dev/null
  [ -n "$rt_pid" ] && kill "$rt_pid" 2>/dev/null && wait "$rt_pid" 2>/dev/null
  bash "$netlab" down "$P" 2>/dev/null
  [ -d "$cg/$P" ] && rmdir "$cg/$P" 2>/dev/null
  mountpoint -q "$cg" 2>/dev/null && umount "$cg"
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
check() {  # check NAME EXPECTED_REGEX COMMAND...
  local name=$1 want=$2; shift 2
  local out
  out=$("$@" 2>&1)
  if [[ "$out" =~ $want ]]; then pass "$name"; else fail "$name" "wanted /$want/, got: $(echo "$out" | head -3 | tr '\n' ' ')"; fi
}
expect() {  # expect NAME CONDITION-COMMAND...
  local name=$1; shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}
inr() { ip netns exec "$R" "$@"; }
inc() { ip netns exec "$C" "$@"; }
# Waits up to $1 tenths of a second for COMMAND to succeed.
wait_for() { local n=$1; shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }

mkdir -p "$work" "$cg"
chmod 755 "$work"
mount -t cgroup2 none "$cg" && mkdir "$cg/$P"
bash "$netlab" up "$P" && bash "$netlab" servers "$P" || { echo "ops-lab: lab setup failed"; echo "0 passed, 1 failed"; exit 1; }

# write_config FILE ROUTING-RULES [EXTRA-GLOBAL-LINES]
write_config() {
  cat >"$1" <<CONF
global {
  lan_interface: lan0
  wan_interface: wan0
  log_level: debug
  auto_config_kernel_parameter: true
  tcp_check_url: 'http://target.lab.test/,198.18.1.10,fd00:dae:2::10'
  udp_check_dns: 'target.lab.test:53,198.18.1.53,fd00:dae:2::53'
  check_interval: 5s
  metrics_listen: '127.0.0.1:9100'
${3:-}
}
node { dante: 'socks5://198.18.1.2:1080' }
group { proxy { policy: fixed(0) } }
routing {
$2
  fallback: direct
}
CONF
}

cfg=$work/ops.dae
starts=0
start_runtime() {  # start_runtime ARGS...: waits until it runs
  starts=$((starts + 1))
  local log=$work/runtime.$starts.log
  ip netns exec "$R" "$runtime" "$@" --cgroup "$cg/$P" >"$log" 2>&1 &
  rt_pid=$!
  if wait_for 100 grep -q "dae-runtime running" "$log"; then return 0; fi
  echo "ops-lab: dae-runtime did not start:"; tail -5 "$log"
  return 1
}
stop_runtime() {
  [ -n "$rt_pid" ] || return 0
  kill -TERM "$rt_pid"; wait "$rt_pid" 2>/dev/null; rt_pid=
}
log() { cat "$work/runtime.$starts.log"; }
seen() { local src; src=$(inc curl -sS -m 5 "$1" 2>&1); echo "${src%% *}"; }
# The kernel's view of lan0's tcx ingress: "prog ID link ID" (not the runtime's word).
lan_tcx() { inr python3 "$here/tcx_progs.py" lan0 ingress; }
prog_of() { echo "$1" | sed -n 's/^prog \([0-9]*\) .*/\1/p'; }
link_of() { echo "$1" | sed -n 's/.* link \([0-9]*\)$/\1/p'; }

# ---------------------------------------------------------------------------------
# 1. A 100 MB download through the socks5 node across a reload.
# ---------------------------------------------------------------------------------
write_config "$cfg" "  dip(198.18.1.10) -> proxy"
start_runtime -c "$cfg" || { echo "0 passed, 1 failed"; exit 1; }
check "before the reload the target is proxied" "^src=198\.18\.1\.2$" seen http://198.18.1.10/

size=104857600
want_sum=$(head -c $size /dev/zero | tr '\0' x | sha256sum | cut -d' ' -f1)
inc curl -sS -m 60 --limit-rate 20M -o "$work/download.bin" "http://198.18.1.10/bytes/$size" 2>"$work/download.err" &
dl_pid=$!
# Reload once a good part has arrived (at 20 MB/s the download takes ~5 s).
wait_for 100 bash -c "[ \$(stat -c %s $work/download.bin 2>/dev/null || echo 0) -gt 10000000 ]"
write_config "$cfg" "  dip(198.18.1.10) -> direct"
check "reload over the control socket succeeds" "reloaded: generation 1 -> 2" inr "$runtime" reload
expect "the download was still running during the reload" kill -0 "$dl_pid"
check "a new connection after the reload goes direct" "^src=198\.18\.0\.2$" seen http://198.18.1.10/
wait "$dl_pid"; dl_status=$?; dl_pid=
expect "the download completed (curl exit 0)" test "$dl_status" = 0
check "the download is complete: 100 MB with the right checksum" "^$size $want_sum$" \
  bash -c "echo \$(stat -c %s $work/download.bin) \$(sha256sum <$work/download.bin | cut -d' ' -f1)"
rm -f "$work/download.bin"
check "its connection was logged with rule, outbound and node" \
  "tcp 198\.18\.0\.2:[0-9]+ -> 198\.18\.1\.10:80 domain=- rule=ops.dae:[0-9]+ outbound=proxy node=dante latency=[0-9.]+ms" log
check "the kernel reported the new direct flow under generation 2's rule" \
  "kernel: new flow tcp 198\.18\.0\.2:[0-9]+ -> 198\.18\.1\.10:80 hook=lan rule=ops.dae:[0-9]+ outbound=direct mark=0x0 action=pass" log
# SIGHUP reloads the same way.
write_config "$cfg" "  dip(198.18.1.10) -> proxy"
kill -HUP "$rt_pid"
expect "SIGHUP reloads" wait_for 300 grep -q "reloaded: generation 2 -> 3" "$work/runtime.$starts.log"
check "after SIGHUP the target is proxied again" "^src=198\.18\.1\.2$" seen http://198.18.1.10/
stop_runtime

# ---------------------------------------------------------------------------------
# 3. Status after K flows per rule: golden file, hit counts, metrics.
# ---------------------------------------------------------------------------------
scfg=$work/status.dae
write_config "$scfg" "  dip(198.18.1.10) && l4proto(tcp) && dport(80) -> proxy
  dip(198.18.1.11) && l4proto(tcp) -> direct
  l4proto(udp) && dport(9) -> block
  l4proto(udp) && dport(7) -> proxy"
start_runtime -c "$scfg" || { echo "0 passed, 1 failed"; exit 1; }
status() { inr "$runtime" status; }
# Every kind of health check has a result (the golden file has no '?'), before the
# flows are sent (UDP sessions idle out after 60 s).
lat='\*[0-9.]+[mun]?s +'
expect "the node's health checks of all four kinds have results" \
  wait_for 200 bash -c "ip netns exec $R $runtime status | grep -Eq '^    dante +($lat){3}\*[0-9.]+[mun]?s\$'"
for _ in $(seq $K); do
  inc curl -sS -m 5 -o /dev/null http://198.18.1.10/
  inc curl -sS -m 5 -o /dev/null http://198.18.1.11/
  printf hi | inc timeout 3 socat -T2 - UDP:198.18.1.10:7 >/dev/null
done
# Blocked: one datagram per flow (a blocked TCP SYN would be retried and counted again).
inc python3 -c "
import socket
for _ in range($K):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('198.18.1.10', 9)); s.close()"
# The relays are done and the kernel's events read.
wait_for 50 bash -c "ip netns exec $R $runtime status | grep -q 'tcp: 0 active'"
wait_for 20 bash -c "ip netns exec $R $runtime status | grep -q 'kernel events: $((4 * K)) read'"
status >"$work/status.txt" 2>&1
# Volatile values out; runs of blanks to one (column widths follow the work path).
normalise() {
  sed -E -e "s#$work/#WORK/#g" -e "s#$P#P#g" \
    -e 's/pid [0-9]+, up [0-9hms]+/pid PID, up UPTIME/' \
    -e 's/prog [0-9]+$/prog ID/' \
    -e '/^    dante /s/[0-9.]+[mun]?s/LAT/g' \
    -e 's/ +/ /g'
}
normalise <"$work/status.txt" >"$work/status.normalised"
if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then cp "$work/status.normalised" "$here/status.golden"; fi
if diff -u "$here/status.golden" "$work/status.normalised" >"$work/status.diff"; then
  pass "status matches tests/ops-lab/status.golden"
else
  fail "status matches tests/ops-lab/status.golden" "$(head -c 1500 "$work/status.diff")"
fi
for rule in "#0" "#1" "#2" "#3"; do
  check "status: rule $rule counted $K new flows" "^  $rule +$K " bash -c "grep -F '  $rule ' $work/status.txt"
done
check "status: the fallback counted none" "^  fallback +0 " bash -c "grep -F '  fallback ' $work/status.txt"
tcx=$(lan_tcx)
check "status: lan0 attached in tcx mode, the program the kernel has there" \
  "(^|
)  lan0 +ingress +tcx +dae_lan_ingress +prog $(prog_of "$tcx")(
|$)" cat "$work/status.txt"
check "status: $K TCP connections accepted, none active" "tcp: 0 active, $K accepted, 0 failed" cat "$work/status.txt"
check "status: $K UDP sessions" "udp: $K active sessions, $K opened, $K packets" cat "$work/status.txt"
metrics=$(inr curl -sS -m 5 http://127.0.0.1:9100/metrics)
echo "$metrics" >"$work/metrics.txt"
check "metrics: per-rule counter of the proxy rule" \
  "dae_rule_hits_total\{rule=\"#0\",source=\"status.dae:[0-9]+\",outbound=\"proxy\"\} $K" echo "$metrics"
check "metrics: per-rule counter of the block rule" \
  "dae_rule_hits_total\{rule=\"#2\",source=\"status.dae:[0-9]+\",outbound=\"block\"\} $K" echo "$metrics"
check "metrics: TCP connections" "dae_tcp_connections_total $K" echo "$metrics"
check "metrics: the chosen node" "dae_node_chosen\{group=\"proxy\",node=\"dante\",kind=\"tcp4\"\} 1" echo "$metrics"
check "metrics: a node latency" "dae_node_latency_seconds\{group=\"proxy\",node=\"dante\",kind=\"tcp4\"\} [0-9.]+" echo "$metrics"
check "metrics: content type" "text/plain; version=0.0.4" inr curl -sS -m 5 -o /dev/null -w '%{content_type}' http://127.0.0.1:9100/metrics
check "metrics: other paths are 404" "^404$" inr curl -sS -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:9100/
check "the kernel reported the blocked flows" "kernel: new flow udp 198\.18\.0\.2:[0-9]+ -> 198\.18\.1\.10:9 hook=lan rule=status.dae:[0-9]+ outbound=block mark=0x0 action=drop" log

# ---------------------------------------------------------------------------------
# 4. A reload with errors changes nothing.
# ---------------------------------------------------------------------------------
before=$(lan_tcx)
expect "the kernel shows one program at lan0's tcx ingress" test "$(echo "$before" | grep -c '^prog ')" = 1
cp "$scfg" "$work/status.good"
write_config "$scfg" "  dip(198.18.1.10) -> nosuchgroup
  dport(80 -> direct"
inr "$runtime" reload >"$work/reload.out" 2>&1; rc=$?
expect "a broken config: reload exits 1" test "$rc" = 1
check "a broken config: the diagnostics name file, line and column" "$scfg:[0-9]+:[0-9]+: error: " cat "$work/reload.out"
check "a broken config: the caller is told nothing changed" "reload failed; the running program \(generation 1\) is unchanged" cat "$work/reload.out"
check "a broken config: the diagnostics are in the log" "\[error\] reload: $scfg:[0-9]+:[0-9]+: error: " log
expect "a broken config: the attached program is the same" test "$(lan_tcx)" = "$before"
check "a broken config: the old rules still decide (proxied)" "^src=198\.18\.1\.2$" seen http://198.18.1.10/
check "a broken config: status counts the failure" "reloads: 0 ok, 1 failed" status
# A config that compiles but changes what a reload cannot change.
write_config "$scfg" "  dip(198.18.1.10) -> direct" "  tproxy_port: 12399"
inr "$runtime" reload >"$work/reload.out" 2>&1; rc=$?
expect "a new tproxy_port: reload exits 1" test "$rc" = 1
check "a new tproxy_port: the reason is given" "a reload cannot change tproxy_port \(12345 -> 12399\)" cat "$work/reload.out"
expect "a new tproxy_port: the attached program is the same" test "$(lan_tcx)" = "$before"
check "a new tproxy_port: the old rules still decide (proxied)" "^src=198\.18\.1\.2$" seen http://198.18.1.10/
# And a good one afterwards is taken.
cp "$work/status.good" "$scfg"
sed -i 's/dip(198.18.1.10) \&\& l4proto(tcp) \&\& dport(80) -> proxy/dip(198.18.1.10) \&\& l4proto(tcp) \&\& dport(80) -> direct/' "$scfg"
check "a fixed config reloads" "reloaded: generation 1 -> 2" inr "$runtime" reload
after=$(lan_tcx)
expect "the fixed config swapped the program" test "$(prog_of "$after")" != "$(prog_of "$before")"
expect "the fixed config kept the tcx link (updated in place)" test "$(link_of "$after")" = "$(link_of "$before")"
check "the fixed config's rule decides" "^src=198\.18\.0\.2$" seen http://198.18.1.10/
check "status: the new program is the one attached" "(^|
)  lan0 +ingress +tcx +dae_lan_ingress +prog $(prog_of "$after")(
|$)" status
stop_runtime
expect "after SIGTERM nothing is attached" test -z "$(lan_tcx; inr python3 "$here/tcx_progs.py" wan0 egress; inr python3 "$here/tcx_progs.py" lo ingress)"

# --- reload of a rules.o (--program) ---
write_config "$cfg" "  dip(198.18.1.10) -> proxy"
"$build/bin/daec" "$cfg" -o "$work/ops.o" || fail "daec"
start_runtime --program "$work/ops.o" || { echo "0 passed, 1 failed"; exit 1; }
check "--program: proxied before" "^src=198\.18\.1\.2$" seen http://198.18.1.10/
write_config "$cfg" "  dip(198.18.1.10) -> direct"
"$build/bin/daec" "$cfg" -o "$work/ops.o" || fail "daec"
check "--program: reload re-reads the rules.o" "reloaded: generation 1 -> 2" inr "$runtime" reload
check "--program: direct after" "^src=198\.18\.0\.2$" seen http://198.18.1.10/
echo "garbage" >"$work/ops.o"
check "--program: a corrupt rules.o is refused" "not a rules.o|cannot|error" inr "$runtime" reload
check "--program: still direct after the refused reload" "^src=198\.18\.0\.2$" seen http://198.18.1.10/
stop_runtime

if [ "$failed" -ne 0 ]; then
  echo "runtime warnings and errors:"
  grep -h -E "\[(warning|error)\]" "$work"/runtime.*.log | head -n 20
fi
echo "ops-lab: $passed passed, $failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
