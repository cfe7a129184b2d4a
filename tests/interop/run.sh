#!/usr/bin/env bash
# Interop tests of dae_outbound (through tools/dae-dial) against real servers
# from Debian packages, in a lab of network namespaces (../shared/interop).
#
#   tests/interop/run.sh [GROUP...]     groups: baseline socks http ss vmess vless trojan
#                                        chain halfclose badpeers concurrency (default: all)
#
# Needs root. Environment: BUILD_DIR (default ./build, must contain bin/dae-dial),
# LAB_DIR (default ../shared/interop next to this repository).
# The lab gets unique namespace names (daeob-PID-c/-r/-s) and its own run
# directory for pid files and logs (/tmp/interop-lab/daeob-PID) so that tearing
# it down never touches another engineer's lab; the servers read their
# certificates from /tmp/interop-lab/certs, as their configs require.
# Everything is torn down on exit, also after a failure or Ctrl-C.
# Ends with "N passed, M failed"; exits 1 if any check failed, 2 if the lab
# could not be set up.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
LAB_DIR=${LAB_DIR:-$(cd "$ROOT/.." && pwd)/shared/interop}
[ -d "$LAB_DIR" ] || LAB_DIR=/work/shared/interop
DIAL=$BUILD_DIR/bin/dae-dial
PY=/usr/bin/python3

die() { echo "interop: $*" >&2; echo "0 passed, 1 failed"; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
[ -x "$DIAL" ] || die "no $DIAL: build it first (ninja -C $BUILD_DIR dae-dial)"
[ -x "$LAB_DIR/lab.sh" ] || die "no lab in $LAB_DIR (set LAB_DIR)"

export LAB_NS_CLIENT=daeob-$$-c LAB_NS_ROUTER=daeob-$$-r LAB_NS_SERVER=daeob-$$-s
export LAB_RUN=/tmp/interop-lab/daeob-$$
CERTS=/tmp/interop-lab/certs
export DAE_EXTRA_CA=$CERTS/ca.crt
FAKE_PIDS=()
WORK=$(mktemp -d /tmp/daeob-interop.XXXXXX)

cleanup() {
  local p
  for p in "${FAKE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  "$LAB_DIR/lab.sh" down >/dev/null 2>&1 || true
  rm -rf "$LAB_RUN" "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- lab --------------------------------------------------------------------
need_install=0
for b in ss-server v2ray trojan danted dnsmasq socat; do command -v "$b" >/dev/null || need_install=1; done
$PY -c 'import cryptography' 2>/dev/null || need_install=1
if [ $need_install = 1 ]; then
  "$LAB_DIR/install-packages.sh" >/dev/null || die "install-packages.sh failed"
  $PY -c 'import cryptography' 2>/dev/null ||
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-cryptography >/dev/null || die "no python3-cryptography"; }
fi
LAB_RUN=/tmp/interop-lab "$LAB_DIR/generate-certs.sh" "$CERTS" >/dev/null || die "cannot generate certificates"
mkdir -p "$LAB_RUN/certs" && cp -a "$CERTS/." "$LAB_RUN/certs/"   # servers.sh finds them and makes no new CA
"$LAB_DIR/lab.sh" up >/dev/null || die "lab.sh up failed"
"$LAB_DIR/servers.sh" start >"$WORK/servers.log" 2>&1 || { cat "$WORK/servers.log" >&2; die "servers.sh start failed"; }

S=$LAB_NS_SERVER
fake() {  # PORT MODE [ARGS...]: a misbehaving server on 198.18.1.2:PORT
  local port=$1 mode=$2
  shift 2
  ip netns exec "$S" $PY "$HERE/fake_server.py" --listen "198.18.1.2:$port" --mode "$mode" --lifetime 600 "$@" \
    >"$WORK/fake-$port.log" 2>&1 &
  FAKE_PIDS+=($!)
}
fake 20001 garbage
fake 20002 ss-truncated
fake 20003 tls-halfclose --cert "$CERTS/fullchain.crt" --key "$CERTS/server.key"
for _ in $(seq 1 50); do
  l=$(ip netns exec "$S" ss -Hltn)
  grep -q '198.18.1.2:20001' <<<"$l" && grep -q '198.18.1.2:20002' <<<"$l" && grep -q '198.18.1.2:20003' <<<"$l" && break
  sleep 0.1
done

# ---- helpers ----------------------------------------------------------------
pass=0 failed=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
dial() { ip netns exec "$LAB_NS_CLIENT" timeout 60 "$DIAL" --timeout "${TMO:-10}" "$@"; }
b64() { printf '%s' "$1" | base64 -w0; }
ss_link() { echo "ss://$(b64 "$1:$2")@$3#ss-$1"; }   # METHOD PASSWORD HOST:PORT
vmess_link() {  # PORT NET TLS SECURITY
  local sni=""
  [ "$3" = tls ] && sni=proxy.lab.test
  echo "vmess://$(b64 "{\"v\":\"2\",\"ps\":\"vmess-$1-$2-$3-$4\",\"add\":\"198.18.1.2\",\"port\":\"$1\",\"id\":\"$UUID\",\"aid\":\"0\",\"net\":\"$2\",\"type\":\"none\",\"path\":\"/vmess\",\"tls\":\"$3\",\"sni\":\"$sni\",\"scy\":\"$4\"}")"
}
UUID=6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90
BIG=10485760
EXPECTED=$(head -c $BIG /dev/zero | tr '\0' x | sha256sum | cut -d' ' -f1)

check_tcp() {  # NAME LINK [URL]: 10 MB download, checksum
  local url=${3:-http://198.18.1.10/bytes/$BIG} sum rc
  sum=$(dial "$2" http "$url" 2>"$WORK/err" | sha256sum | cut -d' ' -f1)
  rc=${PIPESTATUS[0]}
  if [ "$rc" = 0 ] && [ "$sum" = "$EXPECTED" ]; then ok "$1 tcp 10MB"; else ko "$1 tcp 10MB" "rc=$rc $(head -c 300 "$WORK/err")"; fi
}
check_dns() {  # NAME LINK [SERVER] [TYPE] [WANT]
  local out
  out=$(dial "$2" dns "${3:-198.18.1.53:53}" example.test "${4:-A}" 2>"$WORK/err")
  if [ $? = 0 ] && [ "$out" = "${5:-198.18.1.10}" ]; then ok "$1 udp dns ${4:-A}"; else ko "$1 udp dns ${4:-A}" "got '$out' $(head -c 300 "$WORK/err")"; fi
}
check_echo() {  # NAME LINK [TARGET] [SOURCE-REGEX]: the echo must see the proxy as source
  local out
  out=$(dial "$2" udp "${3:-198.18.1.10:7}" --payload "probe-$1" 2>"$WORK/err")
  if [ $? = 0 ] && grep -q "^src=\(${4:-198.18.1.2\|fd00:dae:2::2}\) " <<<"$out" && grep -qx "probe-$1" <<<"$out"; then
    ok "$1 udp echo"
  else ko "$1 udp echo" "got '$out' $(head -c 300 "$WORK/err")"; fi
}
check_fullcone() {  # NAME LINK: one session, echo and DNS
  local out
  out=$(dial "$2" fullcone 198.18.1.10:7 198.18.1.53:53 target.lab.test 2>"$WORK/err")
  if [ $? = 0 ] && grep -q '^full-cone' <<<"$out" && grep -q 'target.lab.test 198.18.1.10' <<<"$out"; then
    ok "$1 udp full-cone"
  else ko "$1 udp full-cone" "got '$out' $(head -c 300 "$WORK/err")"; fi
}
check_halfclose() {  # NAME LINK: echo over TCP, FIN after stdin EOF, answer still arrives
  local out
  out=$(printf 'half-close-%s' "$1" | dial "$2" tcp 198.18.1.10:7 2>"$WORK/err")
  if [ $? = 0 ] && [ "$out" = "half-close-$1" ]; then ok "$1 tcp half-close"; else ko "$1 tcp half-close" "got '$out' $(head -c 300 "$WORK/err")"; fi
}
check_fails() {  # NAME EXPECT_RC|any PATTERN LINK MODE ARGS...: one clear log line, no crash, no hang
  local name=$1 want=$2 pattern=$3 rc lines
  shift 3
  TMO=${TMO:-4} dial "$@" >/dev/null 2>"$WORK/err" </dev/null
  rc=$?
  lines=$(wc -l <"$WORK/err")
  if [ "$rc" = 0 ] || [ "$rc" -ge 124 ]; then ko "$name" "rc=$rc (want a clean failure) $(head -c 300 "$WORK/err")"
  elif [ "$want" != any ] && [ "$rc" != "$want" ]; then ko "$name" "rc=$rc want $want: $(cat "$WORK/err")"
  elif [ "$lines" != 1 ]; then ko "$name" "$lines log lines: $(cat "$WORK/err")"
  elif ! grep -qiE "$pattern" "$WORK/err"; then ko "$name" "message does not match /$pattern/: $(cat "$WORK/err")"
  else ok "$name (exit $rc: $(cut -c1-150 "$WORK/err"))"; fi
}
want() { [ $# = 0 ] || [[ " $* " == *" $GROUP "* ]]; }

SS128=$(ss_link aes-128-gcm lab-ss-aes-128-gcm 198.18.1.2:8388)
SS256=$(ss_link aes-256-gcm lab-ss-aes-256-gcm 198.18.1.2:8389)
SSCHA=$(ss_link chacha20-ietf-poly1305 lab-ss-chacha20-ietf-poly1305 198.18.1.2:8390)
DANTE=socks5://labuser:labpass@198.18.1.2:1080
VLESS="vless://$UUID@198.18.1.2:10005?encryption=none&security=tls&sni=proxy.lab.test#vless-tls"
TROJAN_V2="trojan://lab-v2ray-trojan@198.18.1.2:10006?sni=proxy.lab.test#trojan-v2ray"
TROJAN_GFW="trojan://lab-trojan-password@198.18.1.2:4443?sni=proxy.lab.test#trojan-gfw"

# ---- checks -----------------------------------------------------------------
GROUP=baseline; if want "$@"; then
  direct_sum=$(ip netns exec "$LAB_NS_CLIENT" curl -sS http://198.18.1.10/bytes/$BIG | sha256sum | cut -d' ' -f1)
  if [ "$direct_sum" = "$EXPECTED" ]; then ok "baseline curl 10MB matches the computed hash"; else ko "baseline" "curl got $direct_sum"; fi
  check_tcp direct direct://
  # SO_MARK: in the client namespace, marked packets are routed into a table without routes
  ip netns exec "$LAB_NS_CLIENT" ip rule add fwmark 0x1234 lookup 1234
  ip netns exec "$LAB_NS_CLIENT" ip route add unreachable default table 1234
  check_fails "direct with SO_MARK 0x1234 uses the marked route" 3 'No route|unreachable' direct:// --mark 0x1234 http http://198.18.1.10/
  check_fails "socks5 with SO_MARK 0x1234 (first hop marked)" 3 'No route|unreachable' "$DANTE" --mark 0x1234 http http://198.18.1.10/
  ip netns exec "$LAB_NS_CLIENT" ip rule del fwmark 0x1234 lookup 1234
  check_dns direct direct://
  check_echo direct direct:// 198.18.1.10:7 198.18.0.2
fi

GROUP=socks; if want "$@"; then
  for l in "socks5://198.18.1.2:10080#v2ray-socks" "socks5://labuser:labpass@198.18.1.2:10081#v2ray-socks-auth" "$DANTE#dante"; do
    n=${l##*#}
    check_tcp "$n" "$l"; check_dns "$n" "$l"; check_echo "$n" "$l"; check_fullcone "$n" "$l"
  done
  check_dns dante-v6 "socks5://labuser:labpass@[fd00:dae:2::2]:1080" "[fd00:dae:2::53]:53" AAAA fd00:dae:2::10
  check_echo dante-v6 "socks5://labuser:labpass@[fd00:dae:2::2]:1080" "[fd00:dae:2::10]:7"
  check_tcp socks4 "socks4://198.18.1.2:10080"
  check_tcp socks4a "socks4a://198.18.1.2:10080" "http://example.test/bytes/$BIG"
fi

GROUP=http; if want "$@"; then
  check_tcp http-proxy "http://198.18.1.2:10088"
  check_tcp http-proxy-auth "http://labuser:labpass@198.18.1.2:10089"
  check_tcp http-proxy-v6-target "http://198.18.1.2:10088" "http://[fd00:dae:2::10]/bytes/$BIG"
fi

GROUP=ss; if want "$@"; then
  for l in "$SS128" "$SS256" "$SSCHA"; do
    n=ss-libev-${l##*#ss-}
    check_tcp "$n" "$l"; check_dns "$n" "$l"; check_echo "$n" "$l"; check_fullcone "$n" "$l"
  done
  check_tcp ss-libev-v6-target "$SS128" "http://[fd00:dae:2::10]/bytes/$BIG"
  check_dns ss-libev-v6 "$(ss_link aes-128-gcm lab-ss-aes-128-gcm '[fd00:dae:2::2]:8388')" "[fd00:dae:2::53]:53" AAAA fd00:dae:2::10
  for m in "aes-128-gcm 10007" "aes-256-gcm 10008" "chacha20-ietf-poly1305 10009"; do
    read -r method port <<<"$m"
    l=$(ss_link "$method" "lab-ss-$method" "198.18.1.2:$port")
    check_tcp "v2ray-ss-$method" "$l"; check_dns "v2ray-ss-$method" "$l"; check_echo "v2ray-ss-$method" "$l"
  done
fi

GROUP=vmess; if want "$@"; then
  for sec in aes-128-gcm chacha20-poly1305 none zero; do check_tcp "vmess-tcp-$sec" "$(vmess_link 10001 tcp '' $sec)"; done
  for sec in aes-128-gcm chacha20-poly1305 none; do check_echo "vmess-tcp-$sec" "$(vmess_link 10001 tcp '' $sec)"; done
  check_dns vmess-tcp "$(vmess_link 10001 tcp '' auto)"
  check_fullcone vmess-tcp "$(vmess_link 10001 tcp '' auto)"
  for t in "10002 tcp tls" "10003 ws -" "10004 ws tls"; do
    read -r port net tls <<<"$t"
    [ "$tls" = - ] && tls=""
    l=$(vmess_link "$port" "$net" "$tls" auto)
    n="vmess-$net${tls:++$tls}"
    check_tcp "$n" "$l"; check_dns "$n" "$l"; check_echo "$n" "$l"; check_fullcone "$n" "$l"
  done
fi

GROUP=vless; if want "$@"; then
  check_tcp vless-tls "$VLESS"; check_dns vless-tls "$VLESS"; check_echo vless-tls "$VLESS"; check_fullcone vless-tls "$VLESS"
fi

GROUP=trojan; if want "$@"; then
  for l in "$TROJAN_V2" "$TROJAN_GFW"; do
    n=${l##*#}
    check_tcp "$n" "$l"; check_dns "$n" "$l"; check_echo "$n" "$l"; check_fullcone "$n" "$l"
  done
  check_tcp trojan-gfw-allow-insecure "trojan://lab-trojan-password@198.18.1.2:4443?sni=wrong.lab.test&allowInsecure=1"
fi

GROUP=chain; if want "$@"; then
  check_tcp "chain dante->ss" "$DANTE -> $SS128"
  check_echo "chain dante->ss" "$DANTE -> $SS128"       # ss UDP carried by the SOCKS5 UDP relay
  check_tcp "chain http->vmess-ws-tls" "http://198.18.1.2:10088 -> $(vmess_link 10004 ws tls auto)"
  check_dns "chain ss->trojan" "$SS256 -> $TROJAN_V2"
fi

GROUP=halfclose; if want "$@"; then
  check_halfclose direct direct://
  check_halfclose dante "$DANTE"
  check_halfclose v2ray-socks "socks5://198.18.1.2:10080"
  check_halfclose v2ray-ss "$(ss_link aes-128-gcm lab-ss-aes-128-gcm 198.18.1.2:10007)"
  check_halfclose vmess-ws-tls "$(vmess_link 10004 ws tls auto)"
  check_halfclose vmess-tcp-zero "$(vmess_link 10001 tcp '' zero)"
  check_halfclose vless-tls "$VLESS"
  check_halfclose trojan-v2ray "$TROJAN_V2"
  # Over TLS the half-close is a close_notify: this server answers only after
  # reading one (a bare FIN gets "no close_notify: ..."), so the check also
  # proves that reading goes on after our close_notify.
  check_halfclose tls-close_notify "https://198.18.1.2:20003?sni=proxy.lab.test"
fi

GROUP=badpeers; if want "$@"; then
  check_fails "wrong password ss-libev" any 'timeout|closed|password' "$(ss_link aes-128-gcm wrong 198.18.1.2:8388)" http http://198.18.1.10/
  check_fails "wrong password v2ray-ss" any 'timeout|closed|password' "$(ss_link aes-128-gcm wrong 198.18.1.2:10007)" http http://198.18.1.10/
  check_fails "wrong password trojan-gfw" 6 'not HTTP|trojan' "trojan://wrong@198.18.1.2:4443?sni=proxy.lab.test" http http://198.18.1.10/
  check_fails "wrong password trojan-v2ray" 6 'closed' "trojan://wrong@198.18.1.2:10006?sni=proxy.lab.test" http http://198.18.1.10/
  check_fails "wrong password socks5 dante" 5 'rejected' "socks5://labuser:wrong@198.18.1.2:1080" http http://198.18.1.10/
  check_fails "wrong password socks5 v2ray" 5 'rejected' "socks5://labuser:wrong@198.18.1.2:10081" dns 198.18.1.53:53 example.test
  check_fails "wrong password http proxy" 5 '407' "http://labuser:wrong@198.18.1.2:10089" http http://198.18.1.10/
  check_fails "wrong id vmess" any 'timeout|closed|id' "vmess://$(b64 '{"add":"198.18.1.2","port":"10001","id":"00000000-0000-4000-8000-000000000000"}')" http http://198.18.1.10/
  check_fails "garbage ss" 6 'authentication' "$(ss_link aes-256-gcm lab-fake 198.18.1.2:20001)" http http://198.18.1.10/
  check_fails "garbage vmess" 6 'response header' "vmess://$(b64 "{\"add\":\"198.18.1.2\",\"port\":\"20001\",\"id\":\"$UUID\"}")" http http://198.18.1.10/
  check_fails "garbage socks5" 6 'SOCKS5' "socks5://198.18.1.2:20001" http http://198.18.1.10/
  check_fails "garbage http proxy" 6 'HTTP proxy' "http://198.18.1.2:20001" http http://198.18.1.10/
  check_fails "garbage trojan (no TLS)" 4 'TLS' "trojan://pw@198.18.1.2:20001?sni=proxy.lab.test" http http://198.18.1.10/
  check_fails "truncated AEAD chunk ss" 6 'truncated|inside an AEAD chunk' "$(ss_link aes-128-gcm lab-fake 198.18.1.2:20002)" http http://198.18.1.10/
  check_fails "truncated AEAD chunk ss (tcp relay)" 6 'truncated|inside an AEAD chunk' "$(ss_link aes-128-gcm lab-fake 198.18.1.2:20002)" tcp 198.18.1.10:80
  check_fails "certificate name mismatch" 4 'hostname mismatch' "trojan://lab-trojan-password@198.18.1.2:4443?sni=wrong.lab.test" http http://198.18.1.10/
  DAE_EXTRA_CA= check_fails "certificate of an unknown CA" 4 'certificate verify failed' "$TROJAN_GFW" http http://198.18.1.10/
  check_fails "connection refused" 3 'refused' "socks5://198.18.1.2:1" http http://198.18.1.10/
  check_fails "udp through an http proxy" 9 'no UDP' "http://198.18.1.2:10088" dns 198.18.1.53:53 example.test
  check_fails "block" 9 'blocked' "block://" http http://198.18.1.10/
fi

GROUP=concurrency; if want "$@"; then
  out=$(dial "$SS128" parallel "http://198.18.1.10/bytes/$BIG" "$(vmess_link 10004 ws tls auto)" \
    "socks5://labuser:wrong@198.18.1.2:1080" "$TROJAN_GFW" "$VLESS" 2>"$WORK/err")
  rc=$?
  good=$(grep -c "^session [0-9]* ok $BIG bytes sha256=$EXPECTED" <<<"$out")
  bad=$(grep -c '^session 3 failed exit=5: .*rejected' <<<"$out")
  if [ "$rc" = 5 ] && [ "$good" = 4 ] && [ "$bad" = 1 ] && [ "$(wc -l <"$WORK/err")" = 1 ]; then
    ok "concurrency: 5 sessions in one process, the bad one fails (exit 5), 4 x 10MB complete"
  else ko "concurrency" "rc=$rc good=$good bad=$bad: $out $(cat "$WORK/err")"; fi
fi

echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
