#!/usr/bin/env bash
# Subscriptions in the namespace lab (tools/netlab): dae-runtime on the router gets
# ALL its nodes from subscriptions (the config has no node section):
#
#   plain  http://198.18.1.2:8080/plain.txt          link list    -> dante socks5 :1080
#   b64    http-file://198.18.1.2:8080/b64.txt       base64 list  -> ss-server :8388 (aes-128-gcm)
#   sip    http://198.18.1.2:8080/sip008.json        SIP008 JSON  -> ss-server :8389 (chacha20)
#   tls    https-file://198.18.1.2:8443/tls.txt      base64url    -> ss-server :8390 (aes-256-gcm)
#          (python https with a certificate from a lab CA, trusted via DAE_EXTRA_CA)
#   local  file://subs/local.txt                     link list    -> ss-server :8391 (aes-128-gcm)
#
# One group per subscription (subtag() filter) and one by name keyword; a rule per
# client source port sends a curl through each group. A proxied connection is proven
# by the target seeing the node's address (198.18.1.2, not the client's 198.18.0.2)
# and by the runtime's connection line naming that node.
# `dae-runtime status` lists the subscriptions; a reload fetches them again and a
# changed node carries the next connection.
# Then: the persisted copies exist (0600 in a 0700 persist.d); with the HTTP servers
# stopped a fresh start falls back to them and still proxies through b64 and tls,
# while plain and sip (no -file) give no nodes; with the servers back but b64.txt
# gone (404) and the lab CA not trusted, b64 and tls fall back again and plain works.
#
#   tests/subscription-lab/run.sh [BUILD_DIR]     (root; ends with "N passed, M failed")
#   SUBLAB_KEEP=1 keeps the work directory (logs, persist.d) for a look afterwards.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-${BUILD_DIR:-$root/build}}" && pwd)
daec=$build/bin/daec
runtime=$build/bin/dae-runtime
netlab=$root/tools/netlab/netlab.sh
PY=${LAB_PYTHON:-/usr/bin/python3}
P=daesub-$$
C=$P-c R=$P-r S=$P-s
work=/tmp/$P
etc=$work/etc
www=$work/www
passed=0 failed=0
rt_pid=
pids=()

if [ "$(id -u)" != 0 ]; then echo "subscription-lab: needs root"; echo "0 passed, 1 failed"; exit 1; fi
for tool in ss-server danted dnsmasq curl openssl "$PY"; do
  command -v "$tool" >/dev/null || { echo "subscription-lab: missing $tool"; echo "0 passed, 1 failed"; exit 1; }
done
for bin in "$daec" "$runtime"; do
  [ -x "$bin" ] || { echo "subscription-lab: $bin missing"; echo "0 passed, 1 failed"; exit 1; }
done

cleanup() {
  set +e
  [ -n "$rt_pid" ] && kill "$rt_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  bash "$netlab" down "$P" 2>/dev/null
  if [ "${SUBLAB_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
expect() {  # expect NAME COMMAND...: passes when COMMAND succeeds
  local name=$1; shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}
n() { ip netns exec "$@"; }
start() {  # start NAME NS CMD...: background, PID recorded in PID_NAME
  local name=$1 ns=$2; shift 2
  # ip itself, not a shell function: `ip netns exec` execs CMD, so $! is CMD's PID.
  ip netns exec "$ns" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  eval "PID_$name=$!"
}
stop() {  # stop NAME: the process start() recorded
  local var="PID_$1"
  kill "${!var}" 2>/dev/null
  wait "${!var}" 2>/dev/null
}
listening() { n "$S" ss -H -ltn | awk '{print $4}' | grep -qxF "$1"; }
wait_listening() {  # up to 15 s: python starts slowly on a loaded machine
  for _ in $(seq 150); do
    local all=1
    for ep in "$@"; do listening "$ep" || all=0; done
    [ "$all" = 1 ] && return 0
    sleep 0.1
  done
  return 1
}

mkdir -p "$work" "$www" "$etc/subs"
bash "$netlab" up "$P" && bash "$netlab" servers "$P" || { echo "subscription-lab: lab setup failed"; echo "0 passed, 1 failed"; exit 1; }

# ---- nodes: dante (from netlab) and four ss-servers, each only in a subscription ----
ss_conf() {  # ss_conf NAME PORT METHOD PASSWORD
  cat >"$work/$1.json" <<EOF
{"server": "198.18.1.2", "server_port": $2, "password": "$4", "method": "$3", "mode": "tcp_only", "timeout": 60}
EOF
}
ss_conf ss_b64 8388 aes-128-gcm lab-b64-pass
ss_conf ss_sip 8389 chacha20-ietf-poly1305 lab-sip-pass
ss_conf ss_tls 8390 aes-256-gcm lab-tls-pass
ss_conf ss_local 8391 aes-128-gcm lab-local-pass
for s in ss_b64 ss_sip ss_tls ss_local; do start "$s" "$S" ss-server -c "$work/$s.json"; done

# ---- a lab CA and the HTTPS server's certificate (IP SAN 198.18.1.2) ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=dae subscription lab CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=198.18.1.2" \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:198.18.1.2\n' >"$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile "$work/san.ext" -out "$work/server.pem" 2>/dev/null

# ---- the subscription bodies ----
b64() { "$PY" -c 'import base64,sys; d=sys.stdin.buffer.read(); print(base64.b64encode(d).decode())'; }
b64url() { "$PY" -c 'import base64,sys; d=sys.stdin.buffer.read(); print(base64.urlsafe_b64encode(d).decode().rstrip("="))'; }
ss_link() {  # ss_link METHOD PASSWORD PORT NAME (SIP002, userinfo base64url)
  printf 'ss://%s@198.18.1.2:%s#%s' "$(printf '%s:%s' "$1" "$2" | b64url)" "$3" "$4"
}
printf 'socks5://198.18.1.2:1080#plain-socks\nnot a link at all\n' >"$www/plain.txt"
printf '%s\r\nvmess://not-base64-json\r\n' "$(ss_link aes-128-gcm lab-b64-pass 8388 b64-ss)" | b64 >"$www/b64.txt"
cat >"$www/sip008.json" <<EOF
{"version": 1, "servers": [
  {"id": "1", "remarks": "sip-ss", "server": "198.18.1.2", "server_port": 8389,
   "password": "lab-sip-pass", "method": "chacha20-ietf-poly1305"},
  {"id": "2", "remarks": "sip-plugin", "server": "198.18.1.2", "server_port": 8389,
   "password": "x", "method": "aes-128-gcm", "plugin": "obfs-local", "plugin_opts": "obfs=http"}]}
EOF
ss_link aes-256-gcm lab-tls-pass 8390 tls-ss | b64url >"$www/tls.txt"
ss_link aes-128-gcm lab-local-pass 8391 local-ss >"$etc/subs/local.txt"
chmod 600 "$etc/subs/local.txt"

start http "$S" "$PY" "$here/serve.py" "$www" 198.18.1.2 8080
start https "$S" "$PY" "$here/serve.py" "$www" 198.18.1.2 8443 --cert "$work/server.pem" --key "$work/server.key"
expect "lab up: dante, 4 ss-servers, http and https subscription servers" \
  wait_listening 198.18.1.2:1080 198.18.1.2:8388 198.18.1.2:8389 198.18.1.2:8390 198.18.1.2:8391 \
  198.18.1.2:8080 198.18.1.2:8443

cat >"$etc/lab.dae" <<'CONF'
global {
  lan_interface: lan0
  log_level: info
  auto_config_kernel_parameter: true
  tcp_check_url: 'http://198.18.1.10/,198.18.1.10'
  udp_check_dns: '198.18.1.53:53,198.18.1.53'
  check_interval: 30s
}
subscription {
  plain: 'http://198.18.1.2:8080/plain.txt'
  b64: 'http-file://198.18.1.2:8080/b64.txt'
  sip: 'http://198.18.1.2:8080/sip008.json'
  tls: 'https-file://198.18.1.2:8443/tls.txt'
  local: 'file://subs/local.txt'
}
group {
  g_plain { filter: subtag(plain)  policy: fixed(0) }
  g_b64   { filter: subtag(b64)    policy: fixed(0) }
  g_sip   { filter: subtag(sip)    policy: fixed(0) }
  g_tls   { filter: subtag(tls)    policy: fixed(0) }
  g_local { filter: subtag(local)  policy: fixed(0) }
  g_kw    { filter: name(keyword: 'local-') && subtag(regex: '^lo') policy: fixed(0) }
}
routing {
  l4proto(tcp) && sport(40001, 41001, 42001, 43001) -> g_plain
  l4proto(tcp) && sport(40002, 41002, 42002) -> g_b64
  l4proto(tcp) && sport(40003, 41003, 42003) -> g_sip
  l4proto(tcp) && sport(40004, 41004, 42004) -> g_tls
  l4proto(tcp) && sport(40005, 41005, 42005) -> g_local
  l4proto(tcp) && sport(40006, 41006, 42006) -> g_kw
  fallback: direct
}
CONF
"$daec" "$etc/lab.dae" -o "$etc/lab.o" || { echo "subscription-lab: daec failed"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

starts=0
# Each phase uses its own client source ports (4000x, 4100x, 4200x): a port of an
# earlier phase may still be in TIME_WAIT with the same addresses.
start_runtime() {  # start_runtime [env(1) arguments]: the config directory is that of lab.o
  starts=$((starts + 1))
  log=$work/runtime.$starts.log
  env "$@" ip netns exec "$R" "$runtime" --program "$etc/lab.o" >"$log" 2>&1 &
  rt_pid=$!
  for _ in $(seq 300); do
    grep -q "dae-runtime running" "$log" 2>/dev/null && return 0
    kill -0 "$rt_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "dae-runtime did not start:"; tail -n 20 "$log"
  return 1
}
stop_runtime() {
  [ -n "$rt_pid" ] || return 0
  kill -TERM "$rt_pid" 2>/dev/null
  wait "$rt_pid" 2>/dev/null
  rt_pid=
}
# proxied NAME SPORT NODE_NAME NODE_PORT: a curl from the client with source port
# SPORT is seen by the target from the node's address, and the runtime's connection
# line names the node (by its name, or its server address).
proxied() {
  local name=$1 sport=$2 nodeName=$3 node=$4 out
  out=$(n "$C" curl -sS -m 5 --local-port "$sport" http://198.18.1.10/ 2>&1)
  if ! [[ "$out" =~ ^src=198\.18\.1\.2\  ]]; then
    fail "$name: the target saw: $(echo "$out" | head -n 1)"
    return
  fi
  for _ in $(seq 20); do
    if grep -E "198\.18\.0\.2:$sport -> 198\.18\.1\.10:80 .*($nodeName|198\.18\.1\.2:$node)" "$log" >/dev/null; then
      pass "$name (target sees 198.18.1.2; runtime: node $nodeName, 198.18.1.2:$node)"
      return
    fi
    sleep 0.1
  done
  fail "$name: no connection line naming $nodeName or 198.18.1.2:$node in $log"
}
# not_proxied NAME SPORT: the group has no node, so the connection fails.
not_proxied() {
  local out
  out=$(n "$C" curl -sS -m 5 --local-port "$2" http://198.18.1.10/ 2>&1)
  if [[ "$out" =~ src= ]]; then fail "$1: got through: $out"; else pass "$1"; fi
}
logged() {  # logged NAME REGEX: a line of the current runtime log matches
  if grep -E -- "$2" "$log" >/dev/null; then pass "$1"; else fail "$1: no /$2/ in $log"; fi
}

# ---- 1: every source fetched; every format populates the pool ----
start_runtime DAE_EXTRA_CA="$work/ca.pem" || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
logged "plain link list fetched (1 node, the bad line skipped)" \
  "subscription 'plain' \(http://198\.18\.1\.2:8080/plain\.txt\): 1 node \(fetched, link list, 1 skipped\)"
logged "base64 list fetched and persisted" \
  "subscription 'b64' .*: 1 node \(fetched, base64 link list, 1 skipped, saved to .*persist\.d/b64\.sub\)"
logged "SIP008 fetched (the plugin server skipped)" "subscription 'sip' .*: 1 node \(fetched, SIP008 JSON, 1 skipped\)"
logged "https (lab CA) fetched and persisted" \
  "subscription 'tls' \(https-file://198\.18\.1\.2:8443/tls\.txt\): 1 node \(fetched, base64 link list, saved to"
logged "file:// read" "subscription 'local' \(file://subs/local\.txt\): 1 node \(file, link list\)"
logged "skipped lines are named" "subscription 'sip' .*: skipped servers\[1\] 'sip-plugin': plugin 'obfs-local'"
expect "the bad line's credentials are not logged" bash -c "! grep -q 'lab-sip-pass\|lab-b64-pass\|lab-tls-pass' '$log'"
proxied "plain list node (socks5) carries a connection" 40001 plain-socks 1080
proxied "base64 list node (ss) carries a connection" 40002 b64-ss 8388
proxied "SIP008 node (ss chacha20) carries a connection" 40003 sip-ss 8389
proxied "https node (ss aes-256-gcm) carries a connection" 40004 tls-ss 8390
proxied "file:// node carries a connection" 40005 local-ss 8391
proxied "name(keyword) && subtag(regex) picks the file:// node" 40006 local-ss 8391
check_direct=$(n "$C" curl -sS -m 5 --local-port 40010 http://198.18.1.10/ 2>&1)
if [[ "$check_direct" =~ ^src=198\.18\.0\.2\  ]]; then pass "other ports go direct (the target sees the client)"; else fail "direct: $check_direct"; fi
status=$(n "$R" "$runtime" status 2>&1)
if [[ "$status" == *"subscription 'b64' (http-file://198.18.1.2:8080/b64.txt): 1 node (fetched, base64 link list"* ]]; then
  pass "dae-runtime status lists the subscriptions"
else
  fail "dae-runtime status lists the subscriptions: $(echo "$status" | grep -A6 subscriptions)"
fi

# ---- 1b: a reload fetches the subscriptions again; the new node carries new flows ----
cp "$www/plain.txt" "$work/plain.txt.orig"
printf 'socks5://198.18.1.2:1080#plain-socks-v2\n' >"$www/plain.txt"
reload_out=$(n "$R" "$runtime" reload 2>&1)
reload_rc=$?
if [ "$reload_rc" -eq 0 ]; then pass "dae-runtime reload succeeds"; else fail "dae-runtime reload: $reload_out"; fi
logged "the reload fetched the changed subscription" \
  "subscription 'plain' \(http://198\.18\.1\.2:8080/plain\.txt\): 1 node \(fetched, link list\)$"
proxied "after the reload the refreshed node carries the connection" 43001 plain-socks-v2 1080
cp "$work/plain.txt.orig" "$www/plain.txt"
stop_runtime

expect "persisted copies are 0600 in a 0700 persist.d" bash -c \
  "[ \"\$(stat -c %a '$etc/persist.d')\" = 700 ] && [ \"\$(stat -c %a '$etc/persist.d/b64.sub')\" = 600 ] &&
   [ \"\$(stat -c %a '$etc/persist.d/tls.sub')\" = 600 ] && [ \"\$(ls -A '$etc/persist.d' | wc -l)\" = 2 ]"
expect "the persisted copy is the body as served" cmp -s "$www/b64.txt" "$etc/persist.d/b64.sub"

# ---- 2: the subscription servers are down: -file sources fall back to their copies ----
stop http
stop https
expect "subscription servers stopped" bash -c "! ip netns exec '$S' ss -H -ltn | grep -qE '198\.18\.1\.2:(8080|8443) '"
start_runtime DAE_EXTRA_CA="$work/ca.pem" || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
logged "b64: fetch failed, persisted copy used (logged)" \
  "subscription 'b64' .*: fetch failed: .*; using the persisted copy .*persist\.d/b64\.sub \(saved .*\): 1 node"
logged "tls: fetch failed, persisted copy used (logged)" \
  "subscription 'tls' .*: fetch failed: .*; using the persisted copy .*persist\.d/tls\.sub"
logged "plain (no -file): no nodes, a warning" "subscription 'plain' .*: fetch failed: .*; no nodes from it"
proxied "server down: base64 node from the persisted copy still proxies" 41002 b64-ss 8388
proxied "server down: https node from the persisted copy still proxies" 41004 tls-ss 8390
proxied "server down: the file:// node still proxies" 41005 local-ss 8391
not_proxied "server down: the plain subscription (no copy) gives no node" 41001
stop_runtime

# ---- 3: servers back, but b64.txt is gone (404) and the lab CA is not trusted ----
mv "$www/b64.txt" "$work/b64.txt.away"
start http "$S" "$PY" "$here/serve.py" "$www" 198.18.1.2 8080
start https "$S" "$PY" "$here/serve.py" "$www" 198.18.1.2 8443 --cert "$work/server.pem" --key "$work/server.key"
wait_listening 198.18.1.2:8080 198.18.1.2:8443 || fail "subscription servers did not restart"
start_runtime -u DAE_EXTRA_CA || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
logged "404: the status is logged and the copy used" \
  "subscription 'b64' .*: fetch failed: HTTP 404 .*; using the persisted copy"
logged "untrusted certificate: refused, the copy used" \
  "subscription 'tls' .*: fetch failed: .*certificate verify failed.*; using the persisted copy"
proxied "404: base64 node from the persisted copy proxies" 42002 b64-ss 8388
proxied "untrusted certificate: https node from the persisted copy proxies" 42004 tls-ss 8390
proxied "server back: the plain subscription's node proxies again" 42001 plain-socks 1080
expect "a failed fetch leaves the persisted copy unchanged" cmp -s "$work/b64.txt.away" "$etc/persist.d/b64.sub"
stop_runtime

if [ "$failed" -ne 0 ]; then
  echo "runtime warnings and errors:"
  grep -h -E "\[(warning|error)\]" "$work"/runtime.*.log | head -n 20
fi
echo "subscription-lab: $passed passed, $failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
