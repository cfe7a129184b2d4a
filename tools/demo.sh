#!/usr/bin/env bash
# The README's demo: installs the packages, builds, compiles the example config,
# prints what the compiler understood and the program it generated, loads it into
# the kernel's verifier and shows how the real kernel program splits traffic
# (BPF_PROG_TEST_RUN: nothing is attached to any interface).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/install-deps.sh
bash tools/build.sh
config=stdlib/examples/demo.dae
out=$(mktemp -d /tmp/dae-demo.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo
echo "== 1. what daec understood of $config"
build/bin/daec --emit=model "$config" | sed -n '/^groups/,$p'
echo
echo "== 2. the rule IR after optimisation"
build/bin/daec --emit=ir "$config"
echo
echo "== 3. compile (in-process, no clang binary) and load into the kernel verifier"
/usr/bin/time -f "   compiled in %e s" build/bin/daec "$config" -o "$out/rules.o"
build/bin/dae-runtime --program "$out/rules.o" --check
echo
echo "== 4. where does each flow go? (the real kernel program decides)"
while read -r spec; do
  printf '  %-62s => %s\n' "$spec" "$(build/bin/dae-runtime --program "$out/rules.o" --verbose --route "$spec")"
done <<'SPECS'
tcp 198.18.0.2:40000 -> 198.18.1.10:80
tcp 198.18.0.2:40001 -> 198.18.1.10:7
udp 198.18.0.2:40002 -> 142.250.1.1:443
tcp 198.18.0.2:40003 -> 192.168.1.20:22
tcp 198.18.0.2:40004 -> 93.184.216.34:443 domain=www.example.test
tcp 198.18.0.2:40005 -> 93.184.216.34:443
tcp [fd00:dae:1::2]:40006 -> [ff02::1]:5353
tcp 10.0.0.1:40007 -> 1.1.1.1:443 pname=NetworkManager
SPECS
echo
echo "== 5. the same program on interfaces: a lab of three network namespaces"
echo "   client (198.18.0.2) -- router: dae-runtime on lan0/wan0 -- server (target 198.18.1.10/.11, socks5 node 198.18.1.2)"
prefix=daedemo-$$
cg=$out/cgroup
rt_pid=
teardown() {
  [ -n "$rt_pid" ] && kill "$rt_pid" 2>/dev/null && wait "$rt_pid" 2>/dev/null
  bash tools/netlab/netlab.sh down "$prefix" 2>/dev/null
  [ -d "$cg/demo" ] && rmdir "$cg/demo"
  mountpoint -q "$cg" && umount "$cg"
  rm -rf "$out"
}
trap teardown EXIT
bash tools/netlab/netlab.sh up "$prefix"
bash tools/netlab/netlab.sh servers "$prefix"
# The socket hooks go to a cgroup of the demo's own, never the machine's root.
mkdir -p "$cg" && mount -t cgroup2 none "$cg" && mkdir "$cg/demo"
ip netns exec "$prefix-r" build/bin/dae-runtime --program "$out/rules.o" --cgroup "$cg/demo" >"$out/runtime.log" 2>&1 &
rt_pid=$!
for _ in $(seq 50); do grep -q "dae-runtime running" "$out/runtime.log" && break; sleep 0.1; done
sleep 1
show() {  # show WHAT COMMAND...
  local what=$1; shift
  printf '  %-44s => %s\n' "$what" "$("$@" 2>&1 | head -1)"
}
C=$prefix-c
show "client -> 198.18.1.10:80 (proxy rule)" ip netns exec "$C" curl -sS -m 5 http://198.18.1.10/
show "client -> 198.18.1.11:80 (private: direct)" ip netns exec "$C" curl -sS -m 5 http://198.18.1.11/
show "client -> [fd00:dae:2::10]:80 (fallback: proxy)" ip netns exec "$C" curl -sS -m 5 "http://[fd00:dae:2::10]/"
show "client -> 198.18.1.10:8080 (block rule)" ip netns exec "$C" curl -sS -m 2 http://198.18.1.10:8080/
show "client udp -> 198.18.1.10:7 (direct rule)" bash -c "printf hi | ip netns exec $C timeout 3 socat -T2 - UDP:198.18.1.10:7"
echo "  (the target answers with the source address it saw: 198.18.0.2 = direct, 198.18.1.2 = through the socks5 node)"
echo
echo "== 6. what the runtime saw (direct flows never reach it)"
sed -n 's/^\[[^]]*\] //p' "$out/runtime.log" | grep -E "outbound=|attached" | head -n 12
