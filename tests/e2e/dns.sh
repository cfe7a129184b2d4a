#!/usr/bin/env bash
# DNS end to end: dae-runtime in the netlab router answers the LAN's and the host's
# DNS (hijacked port 53, UDP and TCP, and dns.bind) with its DNS module, writes the
# answers to dae_domain_map, and the first connection to a resolved address follows
# the domain() rule. Needs root. Ends with "N passed, M failed".
#
#   tests/e2e/dns.sh [BUILD_DIR]     (default: $BUILD_DIR, else build/)
#
# Lab (tools/netlab/netlab.sh) plus, in the server namespace:
#   198.18.1.53        netlab's dnsmasq (*.lab.test), reached by `asis`
#   198.18.1.54/.55/.57 dnsmasq "ex" of this test (query log ex.log):
#                      *.example.test -> .10, *.other.test -> .11, host.example.test -> .12
#   198.18.1.12        a second target (for the host's own lookups)
# and in the router namespace a second socks5 node (dante) on 198.18.0.1:1081, group
# `local`: the DNS upstream 198.18.1.56 is routed through it, and its traffic comes
# back into dae (a loop the module must report with the rule to add).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-${BUILD_DIR:-$root/build}}" && pwd)
daec=$build/bin/daec
runtime=$build/bin/dae-runtime
geodat=$build/bin/geodat
netlab=$root/tools/netlab/netlab.sh
P=daednse-$$
C=$P-c R=$P-r S=$P-s
work=/tmp/$P-work
run=/tmp/$P
cg=$work/cgroup
passed=0 failed=0
rt_pid=

if [ "$(id -u)" != 0 ]; then echo "dns e2e: needs root"; echo "0 passed, 1 failed"; exit 1; fi
for tool in danted dnsmasq curl dig python3; do
  command -v $tool >/dev/null || { echo "dns e2e: missing $tool"; echo "0 passed, 1 failed"; exit 1; }
done

cleanup() {
  [ -n "$rt_pid" ] && kill "$rt_pid" 2>/dev/null
  bash "$netlab" down "$P" 2>/dev/null
  [ -d "$cg/test" ] && rmdir "$cg/test" 2>/dev/null
  mountpoint -q "$cg" 2>/dev/null && umount "$cg"
  if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work $run"; else rm -rf "$work" "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
inc() { ip netns exec "$C" "$@"; }
inr() { ip netns exec "$R" "$@"; }
ins() { ip netns exec "$S" "$@"; }
# The client's programs resolve through 198.18.1.53 (any address would do: port 53
# is hijacked), with a resolv.conf bind-mounted in the private mount namespace that
# `ip netns exec` creates (the host's /etc is not touched).
client_resolving() { inc bash -c "mount --bind $work/resolv.conf /etc/resolv.conf && $*"; }
# "count NAME FILE": how many times dnsmasq logged a query for NAME.
count_queries() { grep -c "query\[A\] $1 from" "$2" 2>/dev/null; }

mkdir -p "$work" "$cg"
mount -t cgroup2 none "$cg" && mkdir "$cg/test"
bash "$netlab" up "$P" && bash "$netlab" servers "$P" || { echo "dns e2e: lab setup failed"; echo "0 passed, 1 failed"; exit 1; }

# ---- this test's servers -----------------------------------------------------------------
for a in 54 55 56 57 12; do ip -n "$S" addr add 198.18.1.$a/32 dev eth0; done
# Connections the node makes to .12 leave from the node's address (as netlab does for .10).
ip -n "$S" route replace local 198.18.1.12 dev eth0 table local proto kernel scope host src 198.18.1.2
ins python3 "$root/tools/netlab/target.py" 198.18.1.12 >"$work/target12.log" 2>&1 &
cat >"$work/ex.conf" <<EOF
listen-address=198.18.1.54
listen-address=198.18.1.55
listen-address=198.18.1.57
bind-interfaces
port=53
no-resolv
no-poll
no-hosts
no-negcache
local=/test/
local-ttl=300
user=root
pid-file=
log-queries
log-facility=$work/ex.log
address=/example.test/198.18.1.10
address=/example.test/fd00:dae:2::10
address=/host.example.test/198.18.1.12
address=/other.test/198.18.1.11
address=/other.test/fd00:dae:2::11
address=/node.test/198.18.1.11
address=/nodetcp.test/198.18.1.11
address=/geosite.test/198.18.1.11
EOF
ins dnsmasq --conf-file="$work/ex.conf" --keep-in-foreground >"$work/ex.out" 2>&1 &
cat >"$work/danted-router.conf" <<EOF
logoutput: $work/danted-router.out
internal: 198.18.0.1 port = 1081
external: 198.18.1.1
external: fd00:dae:2::1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 0/0 to: 0/0 }
socks pass { from: 0/0 to: 0/0 command: connect udpassociate udpreply }
EOF
inr danted -f "$work/danted-router.conf" -p "$work/danted-router.pid" -N 1 >"$work/danted-router.log" 2>&1 &
printf 'nameserver 198.18.1.53\noptions timeout:2 attempts:1\n' >"$work/resolv.conf"
for _ in $(seq 50); do
  if ins ss -lun | grep -q '198.18.1.54:53 ' && inr ss -ltn | grep -q '198.18.0.1:1081 ' &&
     ins ss -ltn | grep -q '198.18.1.12:80 '; then break; fi
  sleep 0.1
done

# A geosite.dat of our own (tools/geodat): geosite:labsite routes geosite.test in the
# dns section. The runtime finds it through $DAE_LOCATION_ASSET.
mkdir -p "$work/geo/src" && echo "domain:geosite.test" >"$work/geo/src/labsite"
if ! "$geodat" site "$work/geo/src" -o "$work/geo/geosite.dat" >"$work/geodat.log" 2>&1; then
  echo "dns e2e: geodat failed (ninja -C $build geodat):"; tail -n 3 "$work/geodat.log"; echo "0 passed, 1 failed"; exit 1
fi

cat >"$work/dns.dae" <<'CONF'
global {
  lan_interface: lan0
  wan_interface: wan0
  log_level: info
  auto_config_kernel_parameter: true
  tcp_check_url: 'http://target.lab.test/,198.18.1.10,fd00:dae:2::10'
  udp_check_dns: 'target.lab.test:53,198.18.1.53,fd00:dae:2::53'
  check_interval: 5s
}
node {
  dante: 'socks5://198.18.1.2:1080'
  here: 'socks5://198.18.0.1:1081'
}
group {
  proxy {
    filter: name(dante)
    policy: fixed(0)
  }
  local {
    filter: name(here)
    policy: fixed(0)
  }
}
routing {
  domain(suffix: example.test) -> proxy
  dip(198.18.1.55) -> proxy
  dip(198.18.1.56) -> local
  dip(198.18.1.57) -> must_direct
  fallback: direct
}
dns {
  bind: 'tcp+udp://198.18.0.1:5353'
  upstream {
    ex: 'udp://198.18.1.54:53'
    vianode: 'udp://198.18.1.55:53'
    vianodetcp: 'tcp://198.18.1.55:53'
    looped: 'udp://198.18.1.56:53'
    self: 'udp://198.18.0.1:5353'
  }
  routing {
    request {
      qname(full: ads.example.test) -> reject
      qname(suffix: nodetcp.test) -> vianodetcp
      qname(suffix: node.test) -> vianode
      qname(suffix: loop.test) -> looped
      qname(suffix: self.test) -> self
      qname(geosite:labsite) -> ex
      qname(suffix: example.test, other.test) -> ex
      fallback: asis
    }
    response {
      fallback: accept
    }
  }
}
CONF
DAE_LOCATION_ASSET="$work/geo" "$daec" "$work/dns.dae" -o "$work/dns.o" || { echo "dns e2e: daec failed"; echo "0 passed, 1 failed"; exit 1; }

ip netns exec "$R" env DAE_LOCATION_ASSET="$work/geo" "$runtime" --program "$work/dns.o" --cgroup "$cg/test" >"$work/runtime.log" 2>&1 &
rt_pid=$!
for _ in $(seq 100); do
  grep -q "dae-runtime running" "$work/runtime.log" 2>/dev/null && break
  kill -0 "$rt_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "dae-runtime running" "$work/runtime.log"; then
  echo "dns e2e: dae-runtime did not start:"; tail -n 5 "$work/runtime.log"
  echo "0 passed, 1 failed"; exit 1
fi
ex=$work/ex.log lab=$run/dnsmasq.log

# ---- before any lookup: the addresses are routed by their IP alone -------------------------
check "before the lookup: lan tcp4 to 198.18.1.10 goes direct" "^src=198\.18\.0\.2 " inc curl -sS -m 5 http://198.18.1.10/
check "before the lookup: wan tcp4 to 198.18.1.12 goes direct" "^src=198\.18\.1\.1 " inr curl -sS -m 5 http://198.18.1.12/

# ---- the LAN resolves through the router: domain() routes the first connection ---------------
check "lan: resolve www.example.test (hijacked udp) then the first connection goes through the proxy node" \
  "^src=198\.18\.1\.2 " client_resolving curl -4 -sS -m 8 http://www.example.test/
check "lan: resolve www6.example.test (AAAA) then the first tcp6 connection goes through the proxy node" \
  "^src=fd00:dae:2::2 " client_resolving curl -6 -sS -m 8 http://www6.example.test/
check "lan: another domain on another address goes direct" "^src=198\.18\.0\.2 " \
  client_resolving curl -4 -sS -m 8 http://www.other.test/
check "lan: the module asked its upstream directly (dnsmasq saw the router)" "^[1-9]" \
  bash -c "grep -c 'query\[A\] www.example.test from 198.18.1.1\$' $ex"

# ---- hijacked UDP and TCP, the cache, dns.bind ------------------------------------------------
check "lan: dig (udp, hijacked) answers from the module's routing" "^198\.18\.1\.10$" \
  inc dig +short +time=3 +tries=1 @198.18.1.53 cached.example.test
check "lan: the same question again is answered" "^198\.18\.1\.10$" \
  inc dig +short +time=3 +tries=1 @198.18.1.53 cached.example.test
check "lan: the cached answer did not reach dnsmasq again (query log: 1 query)" "^1$" count_queries cached.example.test "$ex"
check "lan: dig +tcp through the hijack" "^198\.18\.1\.10$" \
  inc dig +tcp +short +time=3 +tries=1 @198.18.1.53 tcp.example.test
check "lan: dig over IPv6 (udp6, hijacked)" "^198\.18\.1\.10$" \
  inc dig +short +time=3 +tries=1 @fd00:dae:2::53 v6udp.example.test
check "lan: dig +tcp over IPv6 (tcp6, hijacked)" "^198\.18\.1\.10$" \
  inc dig +tcp +short +time=3 +tries=1 @fd00:dae:2::53 v6tcp.example.test
check "lan: dig +tcp, two queries on one connection" "198\.18\.1\.10.*198\.18\.1\.11" \
  bash -c "ip netns exec $C dig +tcp +keepopen +short +time=3 +tries=1 @198.18.1.53 k1.example.test k2.other.test | tr '\n' ' '"
check "lan: a qname rule rejects (empty NOERROR, not dnsmasq's address)" "status: NOERROR.*ANSWER: 0" \
  bash -c "ip netns exec $C dig +time=3 +tries=1 @198.18.1.53 ads.example.test | tr '\n' ' '"
check "lan: tcp, the same reject" "status: NOERROR.*ANSWER: 0" \
  bash -c "ip netns exec $C dig +tcp +time=3 +tries=1 @198.18.1.53 ads.example.test | tr '\n' ' '"
check "lan: asis goes to the server the client asked, from the router" "^198\.18\.1\.10$" \
  inc dig +short +time=3 +tries=1 @198.18.1.53 asis.lab.test
check "lan: that server saw the router, not the client" "^[1-9]" \
  bash -c "grep -c 'query\[A\] asis.lab.test from 198.18.1.1\$' $lab"
check "lan: dns.bind udp 198.18.0.1:5353" "^198\.18\.1\.10$" \
  inc dig +short +time=3 +tries=1 -p 5353 @198.18.0.1 bind.example.test
check "lan: dns.bind tcp 198.18.0.1:5353" "^198\.18\.1\.10$" \
  inc dig +tcp +short +time=3 +tries=1 -p 5353 @198.18.0.1 bindtcp.example.test
check "lan: a must_direct rule leaves DNS alone (dnsmasq answers, no reject)" "^198\.18\.1\.10$" \
  inc dig +short +time=3 +tries=1 @198.18.1.57 ads.example.test
check "lan: ...and dnsmasq saw the client itself" "^[1-9]" \
  bash -c "grep -c 'query\[A\] ads.example.test from 198.18.0.2\$' $ex"

check "lan: a geosite: rule in the dns section (geodata from \$DAE_LOCATION_ASSET) picks the upstream" \
  "^198\.18\.1\.11$" inc dig +short +time=3 +tries=1 @198.18.1.53 www.geosite.test

# ---- upstreams routed to a group go through its node ------------------------------------------
check "udp upstream routed to group proxy: answered" "^198\.18\.1\.11$" \
  inc dig +short +time=4 +tries=1 @198.18.1.53 www.node.test
check "udp upstream routed to group proxy: dnsmasq saw the socks node" "^[1-9]" \
  bash -c "grep -c 'query\[A\] www.node.test from 198.18.1.2\$' $ex"
check "tcp upstream routed to group proxy: answered" "^198\.18\.1\.11$" \
  inc dig +short +time=4 +tries=1 @198.18.1.53 www.nodetcp.test
check "tcp upstream routed to group proxy: dnsmasq saw the socks node" "^[1-9]" \
  bash -c "grep -c 'query\[A\] www.nodetcp.test from 198.18.1.2\$' $ex"

# ---- the host's own DNS (WAN hook) ------------------------------------------------------------
check "wan: the host's own query is answered by the module (reject rule)" "status: NOERROR.*ANSWER: 0" \
  bash -c "ip netns exec $R dig +time=3 +tries=1 @198.18.1.54 ads.example.test | tr '\n' ' '"
check "wan: the host resolves host.example.test then its first connection goes through the proxy node" \
  "^src=198\.18\.1\.2 " inr bash -c "dig +short +time=3 +tries=1 @198.18.1.54 host.example.test >/dev/null && curl -sS -m 5 http://198.18.1.12/"
check "wan: dig +tcp from the host" "^198\.18\.1\.10$" inr dig +tcp +short +time=3 +tries=1 @198.18.1.54 wantcp.example.test

# ---- loops ------------------------------------------------------------------------------------
check "loop: an upstream whose node sends it back into dae gets SERVFAIL" "status: SERVFAIL" \
  bash -c "ip netns exec $C dig +time=8 +tries=1 @198.18.1.53 x.loop.test | tr '\n' ' '"
check "loop: ...and the log names the upstream and the rule to add" "must_local" \
  grep -E "DNS loop: the query x\.loop\.test A sent to DNS upstream 'looped'" "$work/runtime.log"
check "loop: an upstream that is dae's own dns.bind gets SERVFAIL" "status: SERVFAIL" \
  bash -c "ip netns exec $C dig +time=3 +tries=1 @198.18.1.53 x.self.test | tr '\n' ' '"
check "loop: ...reported at start and per query" "DNS loop: DNS upstream 'self'.*own dns.bind" cat "$work/runtime.log"

# ---- reload: the DNS module follows the new program -----------------------------------------
sed -i 's/^      qname(full: ads.example.test) -> reject$/&\n      qname(full: reloaded.example.test) -> reject/' "$work/dns.dae"
DAE_LOCATION_ASSET="$work/geo" "$daec" "$work/dns.dae" -o "$work/dns.o" >"$work/daec-reload.log" 2>&1
check "reload: dae-runtime reload takes the new program" "reloaded: generation 1 -> 2" \
  ip netns exec "$R" "$runtime" reload
check "reload: the new dns section applies (a new reject rule)" "status: NOERROR.*ANSWER: 0" \
  bash -c "ip netns exec $C dig +time=3 +tries=1 @198.18.1.53 reloaded.example.test | tr '\n' ' '"
check "reload: dns.bind answers again" "^198\.18\.1\.10$" \
  inc dig +short +time=3 +tries=1 -p 5353 @198.18.0.1 afterreload.example.test
check "reload: a lookup then the first connection still follow domain()" "^src=198\.18\.1\.2 " \
  client_resolving curl -4 -sS -m 8 http://after.example.test/

# ---- exit ---------------------------------------------------------------------------------------
kill -TERM "$rt_pid"; wait "$rt_pid" 2>/dev/null; rt_pid=
check "the runtime reports DNS figures on exit" "DNS: [0-9]+ queries" cat "$work/runtime.log"
expect "no DNS error other than the deliberate loops" \
  bash -c "! grep -E '\[(error)\]' $work/runtime.log | grep -v -E \"DNS loop|upstream 'self'\""

if [ "$failed" -ne 0 ]; then
  echo "runtime warnings and errors:"
  grep -E "\[(warning|error)\]" "$work/runtime.log" | head -n 20
fi
echo "dns e2e: $passed passed, $failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
