#!/usr/bin/env bash
# tests/dns-lab/run.sh [BUILD_DIR]: the DNS module against real upstreams, in network
# namespaces of its own.
#
#   daedns-PID-c  198.18.0.1 fd00:dae:1::1   dns_lab serve (DnsModule, dns.bind 198.18.0.1:53)
#                                            and the test clients
#        | veth (created inside the namespaces)
#   daedns-PID-s  198.18.0.2 fd00:dae:1::2   upstreams:
#                 198.18.1.53 fd00:dae:2::53 dnsmasq "a" (query log a.log)
#                 198.18.1.54                dnsmasq "b" (query log b.log)
#                 198.18.1.55:853            stunnel4 DoT in front of dnsmasq a (TCP)
#                 198.18.1.56:443            tests/dns-lab/doh_server.py (DoH, python3 + ssl)
#
# The config is tests/dns-lab/lab.dae, compiled with BUILD_DIR/bin/daec. Each check
# prints PASS/FAIL; the last line is "N passed, M failed". Exit 0 only when all passed.
# Everything is removed on exit (trap); only PIDs started here are killed. Needs root.
# Environment: DAE_SKIP_INSTALL=1 (no apt-get), KEEP=1 (keep the work directory).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# The build directory: the argument, else $BUILD_DIR (tools/run-tests.sh), else build/.
[ $# -le 1 ] || { echo "usage: $0 [BUILD_DIR]" >&2; exit 2; }
build_arg=${1:-${BUILD_DIR:-$here/../../build}}
BUILD=$(cd "$build_arg" 2>/dev/null && pwd) || { echo "dns-lab: no build directory $build_arg" >&2; exit 2; }
DAEC=$BUILD/bin/daec
LAB=$BUILD/bin/dns_lab
pass=0
fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; }

if [ "$(id -u)" != 0 ]; then bad "needs root"; finish; exit 1; fi
for b in "$DAEC" "$LAB"; do
  [ -x "$b" ] || { bad "missing $b (ninja -C $BUILD daec dns_lab)"; finish; exit 1; }
done
need=()
for t in dnsmasq:dnsmasq-base stunnel4:stunnel4 openssl:openssl python3:python3 ip:iproute2; do
  command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t#*:}")
done
if [ ${#need[@]} -gt 0 ] && [ "${DAE_SKIP_INSTALL:-0}" != 1 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}") >/dev/null 2>&1
fi
for t in dnsmasq stunnel4 openssl python3 ip; do
  command -v "$t" >/dev/null 2>&1 || { bad "missing tool $t"; finish; exit 1; }
done

P=daedns-$$
NC=$P-c
NS=$P-s
WORK=$(mktemp -d /tmp/daedns.XXXXXX)
chmod 755 "$WORK"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  # Anything else still running in our own namespaces was started by this script too.
  for ns in "$NC" "$NS"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  done
  ip netns del "$NC" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
inc() { ip netns exec "$NC" "$@"; }
ins() { ip netns exec "$NS" "$@"; }

# ---- namespaces and links -------------------------------------------------------------
ip netns add "$NC" && ip netns add "$NS" || { bad "cannot create namespaces"; finish; exit 1; }
ip -n "$NC" link set lo up
ip -n "$NS" link set lo up
ip -n "$NC" link add veth0 type veth peer name veth1 netns "$NS"
ip -n "$NC" addr add 198.18.0.1/24 dev veth0
ip -n "$NC" addr add fd00:dae:1::1/64 dev veth0 nodad
ip -n "$NS" addr add 198.18.0.2/24 dev veth1
ip -n "$NS" addr add fd00:dae:1::2/64 dev veth1 nodad
for a in 53 54 55 56 57; do ip -n "$NS" addr add 198.18.1.$a/32 dev veth1; done
ip -n "$NS" addr add fd00:dae:2::53/128 dev veth1 nodad
ip -n "$NC" link set veth0 up
ip -n "$NS" link set veth1 up
ip -n "$NC" route add 198.18.1.0/24 via 198.18.0.2
ip -n "$NC" -6 route add fd00:dae:2::/64 via fd00:dae:1::2

# ---- certificates (lab CA; the server certificate names doh.lab.test and the DoT IP) ---
(
  cd "$WORK" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 \
    -subj "/CN=dae dns lab CA" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
    -subj "/CN=doh.lab.test" &&
  printf 'subjectAltName=DNS:doh.lab.test,IP:198.18.1.55,IP:198.18.1.56\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext.cnf &&
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf
) >"$WORK/openssl.log" 2>&1 || { bad "certificates" "$(tail -n 3 "$WORK/openssl.log")"; finish; exit 1; }

# ---- upstreams --------------------------------------------------------------------------
common="bind-interfaces
port=53
no-resolv
no-poll
no-hosts
no-negcache
local=/test/
local-ttl=60
user=root
pid-file=
log-queries"
cat >"$WORK/a.conf" <<EOF
listen-address=198.18.1.53
listen-address=fd00:dae:2::53
$common
log-facility=$WORK/a.log
address=/example.test/198.18.1.10
address=/example.test/fd00:dae:2::10
address=/fresh.example.test/198.18.1.12
address=/tcp.example.test/198.18.1.13
address=/shared.example.test/198.18.1.40
host-record=shared.lab.test,198.18.1.40
host-record=target.lab.test,198.18.1.20
host-record=doh.lab.test,198.18.1.56
host-record=bad.test,198.18.1.201
host-record=www.dot.test,198.18.1.31
host-record=www.doh.test,198.18.1.32
host-record=www.dohget.test,198.18.1.33
host-record=www.six.test,198.18.1.34
host-record=other.test,198.18.1.35
EOF
cat >"$WORK/b.conf" <<EOF
listen-address=198.18.1.54
$common
log-facility=$WORK/b.log
address=/two.test/198.18.1.77
host-record=bad.test,198.18.1.99
EOF
cat >"$WORK/stunnel.conf" <<EOF
foreground = yes
pid =
output = $WORK/stunnel.log
debug = info
[dot]
accept = 198.18.1.55:853
connect = 198.18.1.53:53
cert = $WORK/server.crt
key = $WORK/server.key
EOF
# Started with `ip netns exec` directly (it execs the program), so that $! is the
# server's own PID.
ip netns exec "$NS" dnsmasq --conf-file="$WORK/a.conf" --keep-in-foreground >"$WORK/a.out" 2>&1 &
pids+=($!)
ip netns exec "$NS" dnsmasq --conf-file="$WORK/b.conf" --keep-in-foreground >"$WORK/b.out" 2>&1 &
pids+=($!)
ip netns exec "$NS" stunnel4 "$WORK/stunnel.conf" >"$WORK/stunnel.out" 2>&1 &
pids+=($!)
ip netns exec "$NS" python3 "$here/doh_server.py" --listen 198.18.1.56 --port 443 --cert "$WORK/server.crt" --key "$WORK/server.key" \
  --upstream 198.18.1.53:53 >"$WORK/doh.log" 2>&1 &
pids+=($!)

# ---- the module -------------------------------------------------------------------------
if ! "$DAEC" "$here/lab.dae" -o "$WORK/rules.o" >"$WORK/daec.log" 2>&1; then
  bad "daec lab.dae" "$(head -n 5 "$WORK/daec.log")"; finish; exit 1
fi
ip netns exec "$NC" "$LAB" serve --program "$WORK/rules.o" --bootstrap 198.18.1.53:53 --ca "$WORK/ca.crt" --so-mark 0x2dae \
  >"$WORK/module.log" 2>&1 &
module=$!
pids+=($module)
for _ in $(seq 1 100); do
  grep -q '^ready' "$WORK/module.log" && break
  kill -0 $module 2>/dev/null || break
  sleep 0.1
done
map_id=$(sed -n 's/^ready map_id=\([0-9]*\).*/\1/p' "$WORK/module.log")
if [ -z "$map_id" ]; then bad "module started" "$(tail -n 5 "$WORK/module.log")"; finish; exit 1; fi
ok "module started (dae_domain_map id $map_id)"
for _ in $(seq 1 50); do  # upstream servers listening
  ins ss -lnt 2>/dev/null | grep -q '198.18.1.55:853' && ins ss -lnt | grep -q '198.18.1.56:443' && break
  sleep 0.1
done

q() { inc "$LAB" query --server 198.18.0.1:53 "$@" 2>&1; }
count() { grep -c "$1" "$2" 2>/dev/null || true; }
expect() {  # expect NAME WANT-REGEX OUTPUT
  if echo "$3" | grep -qE "$2"; then ok "$1"; else bad "$1" "got: $(echo "$3" | tr '\n' ' ')"; fi
}

# 1. UDP answer, then from the cache: dnsmasq's query log sees the name once.
out=$(q --name www.example.test)
expect "udp query answered" '^addr=198\.18\.1\.10 ' "$out"
out=$(q --name www.example.test)
n=$(count 'query\[A\] www.example.test from' "$WORK/a.log")
if echo "$out" | grep -q '^addr=198\.18\.1\.10 ' && [ "$n" = 1 ]; then ok "cached answer does not reach the upstream (a.log: $n query)"
else bad "cached answer does not reach the upstream" "a.log has $n queries; $out"; fi

# 2. TCP DNS (the module's TCP listener; the upstream asked over UDP).
out=$(q --name tcp.example.test --tcp)
expect "tcp query answered" '^addr=198\.18\.1\.13 ' "$out"
if command -v dig >/dev/null 2>&1; then
  out=$(inc dig +tcp +short @198.18.0.1 tcp.example.test 2>&1)
  expect "tcp query from dig (from the cache)" '^198\.18\.1\.13$' "$out"
fi

# 3. Request routing: two suffixes, two dnsmasq instances.
out=$(q --name x.two.test)
if echo "$out" | grep -q '^addr=198\.18\.1\.77 ' && [ "$(count 'query\[A\] x.two.test' "$WORK/b.log")" = 1 ] &&
   [ "$(count 'x.two.test' "$WORK/a.log")" = 0 ] && [ "$(count 'www.example.test' "$WORK/b.log")" = 0 ]; then
  ok "request routing: two.test -> b, example.test -> a"
else bad "request routing" "$out"; fi

# 4. Response routing: a's answer for bad.test is in ip(198.18.1.200/29), so b is asked.
out=$(q --name bad.test)
if echo "$out" | grep -q '^addr=198\.18\.1\.99 ' && [ "$(count 'query\[A\] bad.test' "$WORK/a.log")" = 1 ] &&
   [ "$(count 'query\[A\] bad.test' "$WORK/b.log")" = 1 ]; then
  ok "response routing re-asks b when a's answer is in the listed range"
else bad "response routing" "$out"; fi

# 5. dae_domain_map: read by a separate process the moment the answer arrives.
out=$(q --name fresh.example.test --map-id "$map_id")
expect "domain map: example.test bit set before the client saw the answer" '^addr=198\.18\.1\.12 .*bits=0x1$' "$out"
out=$(q --name target.lab.test --map-id "$map_id")
expect "domain map: lab.test bit" '^addr=198\.18\.1\.20 .*bits=0x2$' "$out"
out=$(q --name other.test --map-id "$map_id")
expect "domain map: no entry for a name no domain() rule matches" '^addr=198\.18\.1\.35 .*bits=0x0$' "$out"
q --name shared.example.test >/dev/null
out=$(q --name shared.lab.test --map-id "$map_id")
expect "domain map: bits of two names on one address are OR-ed" '^addr=198\.18\.1\.40 .*bits=0x3$' "$out"
out=$(q --name www.example.test --type AAAA --map-id "$map_id")
expect "domain map: AAAA answers too" '^addr=fd00:dae:2::10 .*bits=0x1$' "$out"

# 6. IPv6 upstream, fixed_domain_ttl, reject.
out=$(q --name www.six.test)
if echo "$out" | grep -q '^addr=198\.18\.1\.34 ' && grep -q 'query\[A\] www.six.test from fd00:dae:1::1' "$WORK/a.log"; then
  ok "IPv6 upstream"; else bad "IPv6 upstream" "$out"; fi
out=$(q --name fixed.example.test)
expect "fixed_domain_ttl" '^addr=198\.18\.1\.10 ttl=7$' "$out"
out=$(q --name ads.example.test)
if echo "$out" | grep -q '^rcode=NOERROR' && ! echo "$out" | grep -q '^addr=' && [ "$(count 'ads.example.test' "$WORK/a.log")" = 0 ]; then
  ok "request reject: empty answer, upstream not asked"; else bad "request reject" "$out"; fi

# 7. DoT (stunnel4 -> dnsmasq a) and DoH (doh_server.py; POST and GET; upstream named
#    doh.lab.test, resolved through the bootstrap resolver, certificate checked).
out=$(q --name www.dot.test)
if echo "$out" | grep -q '^addr=198\.18\.1\.31 ' && grep -q 'accepted connection from 198.18.0.1' "$WORK/stunnel.log" &&
   grep -q 'query\[A\] www.dot.test from 198.18.1.53' "$WORK/a.log"; then
  ok "DoT upstream (stunnel4)"; else bad "DoT upstream" "$out $(tail -n 3 "$WORK/stunnel.log" 2>/dev/null)"; fi
out=$(q --name www.doh.test)
if echo "$out" | grep -q '^addr=198\.18\.1\.32 ' && grep -q '^doh POST /dns-query' "$WORK/doh.log"; then
  ok "DoH upstream, POST"; else bad "DoH POST" "$out $(tail -n 3 "$WORK/doh.log")"; fi
out=$(q --name www.dohget.test)
if echo "$out" | grep -q '^addr=198\.18\.1\.33 ' && grep -q '^doh GET /dns-query' "$WORK/doh.log"; then
  ok "DoH upstream, GET"; else bad "DoH GET" "$out $(tail -n 3 "$WORK/doh.log")"; fi

# 8. Upstream routing by the kernel program: viagroup's traffic matches dip() -> proxy.
line=$(grep -n 'dip(198.18.1.57) -> proxy' "$here/lab.dae" | cut -d: -f1)
out=$(q --name www.group.test)
if echo "$out" | grep -q '^rcode=SERVFAIL' && grep -q "udp 198.18.1.57:53: routed to proxy by lab.dae:$line" "$WORK/module.log"; then
  ok "upstream routed by the kernel program (lab.dae:$line -> group proxy)"
else bad "upstream routed by the kernel program" "$out $(grep 198.18.1.57 "$WORK/module.log" | head -n 2)"; fi
if grep -q 'udp 198.18.1.53:53: routed to direct by fallback' "$WORK/module.log"; then
  ok "upstream a routed direct by the fallback"; else bad "upstream a route" "$(grep 'routed to' "$WORK/module.log" | head -n 3)"; fi

# 9. Loops: an upstream that is the module's own listener.
out=$(q --name www.loop.test)
if echo "$out" | grep -q '^rcode=SERVFAIL' && grep -q "DNS loop: DNS upstream 'self'.*own dns.bind listener" "$WORK/module.log"; then
  ok "loop detected: upstream 'self' is the bind listener"; else bad "loop detection" "$out"; fi

# 10. Malformed queries: answered FORMERR or dropped; the module keeps answering.
inc python3 - <<'EOF' 2>>"$WORK/malformed.log"
import os, random, socket
random.seed(1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
for i in range(300):
    n = random.randrange(0, 80)
    s.sendto(os.urandom(n), ("198.18.0.1", 53))
    try: s.recv(4096)
    except socket.timeout: pass
EOF
out=$(q --name www.example.test)
expect "survives 300 random datagrams" '^addr=198\.18\.1\.10 ' "$out"

# ---- stop, stats ----------------------------------------------------------------------
kill -TERM $module 2>/dev/null
for _ in $(seq 1 50); do kill -0 $module 2>/dev/null || break; sleep 0.1; done
stats=$(grep '^stats ' "$WORK/module.log")
echo "module: $stats"
hits=$(echo "$stats" | sed -n 's/.* cache_hits=\([0-9]*\).*/\1/p')
malformed=$(echo "$stats" | sed -n 's/.* malformed=\([0-9]*\).*/\1/p')
if [ "${hits:-0}" -ge 2 ] && [ "${malformed:-0}" -ge 1 ]; then ok "stats (cache_hits=$hits malformed=$malformed)"
else bad "stats" "$stats"; fi
if [ $fail -gt 0 ]; then
  echo "---- module log (tail) ----"; tail -n 30 "$WORK/module.log"
fi
finish
[ $fail -eq 0 ]
