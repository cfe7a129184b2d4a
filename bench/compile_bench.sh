#!/usr/bin/env bash
# Compile-time benchmark of daec and the size of what the verifier processes.
#
#   bench/compile_bench.sh BUILD_DIR
#
# Generates configs of 10, 100 and 1,000 routing rules (a realistic mix: runs of
# rules that differ in one set and merge into one rule with a set, rules that do
# not merge, negations, marks, must, every predicate) and, for each config and
# back end, prints:
#   * the compile time of `daec CONFIG -o rules.o` (hyperfine if installed, else
#     the median of 5 runs timed with date +%s%N);
#   * the rules left after optimisation and the verifier's processed
#     instructions: verified_insns of dae_lan_ingress + dae_wan_egress, from
#     dae-verify (needs root; "n/a" otherwise).
# Then the compile time of the newest upstream example config. It uses
# geoip:cn and geosite:cn, which need geodata files (geoip.dat, geosite.dat); when
# daec cannot find them, a copy without those rule lines is timed instead and the
# output says so.
# Targets (printed as PASS/MISS, never fatal): upstream example < 0.3 s,
# 1,000 rules < 1 s.
set -uo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
daec=$build/bin/daec
verify=$build/bin/dae-verify
upstream=${DAE_UPSTREAM_EXAMPLE:-$root/../shared/data/dae-upstream-configs/009-upstream-example-d93e5a7b.dae}
runs=5
[ -x "$daec" ] || { echo "compile_bench: $daec is missing; build first" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/dae-compile-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# gen N: a config with N routing rules, deterministic. Rules come in runs of 1-8
# of one template: a run of a mergeable template with one outbound folds into one
# IR rule whose set has the run's values; the other templates never merge.
gen() {
  awk -v n="$1" 'BEGIN {
    srand(20240501);
    print "global {\n  tproxy_port: 12345\n  lan_interface: eth0\n  wan_interface: eth1\n}";
    print "group {\n  proxy { policy: min }\n  alt { policy: random }\n  games { policy: fixed(0) }\n}";
    print "routing {";
    print "  pname(NetworkManager, systemd-resolve) -> must_direct";
    print "  dip(224.0.0.0/3, \x27ff00::/8\x27) -> direct";
    print "  dip(geoip:private) -> direct";
    print "  dport(53) && l4proto(udp) -> must_rules";
    emitted = 4; k = 0;
    while (emitted < n) {
      kind = int(rand() * 12);
      len = 1 + int(rand() * 8);
      if (len > n - emitted) len = n - emitted;
      for (j = 0; j < len; j++) {
        k++;
        a = int(k / 250) % 250; b = k % 250;
        if (kind == 0)       r = sprintf("dip(%d.%d.%d.0/24) -> direct", 20 + int(k / 62500), a, b);
        else if (kind == 1)  r = sprintf("domain(suffix: site%d.example) -> proxy", k);
        else if (kind == 2)  r = sprintf("dport(%d) && l4proto(udp) -> block", 1024 + k);
        else if (kind == 3)  r = sprintf("sip(192.168.%d.%d) && !dport(53) -> alt", a, b);
        else if (kind == 4)  r = sprintf("pname(proc%d) -> direct(mark: 0x800)", k);
        else if (kind == 5)  r = sprintf("dip(\x272001:db8:%x::/48\x27) && ipversion(6) -> proxy", k);
        else if (kind == 6)  r = sprintf("!dip(10.%d.%d.0/24) && sport(%d) -> alt", a, b, 2000 + k);
        else if (kind == 7)  r = sprintf("mac(\x2702:00:00:00:%02x:%02x\x27) -> block", a, b);
        else if (kind == 8)  r = sprintf("l4proto(tcp) && dport(%d) && dip(%d.%d.%d.1) -> %s", 3000 + k, 30 + a % 50, a, b, (k % 2) ? "alt" : "games");
        else if (kind == 9)  r = sprintf("dscp(%d) && sip(172.16.%d.%d) -> %s", k % 64, a, b, (k % 2) ? "direct" : "games(must)");
        else if (kind == 10) r = sprintf("domain(full: host%d.example, keyword: kw%d) && l4proto(tcp) -> %s", k, k, (k % 2) ? "proxy" : "alt");
        else                 r = sprintf("sport(%d-%d) && dip(\x272400:%x::/32\x27) -> games", 10000 + 10 * k, 10005 + 10 * k, k);
        print "  " r;
        emitted++;
      }
    }
    print "  fallback: proxy";
    print "}";
  }'
}

now() { date +%s%N; }

# time_compile ARGS...: prints "WALL CPU" in seconds: hyperfine's median wall time,
# or the median of $runs runs timed with date +%s%N; CPU (user + sys, median) from
# GNU time when it is installed ("-" otherwise). CPU time is printed because wall
# time on a busy machine says more about the machine than about daec.
time_compile() {
  local wall=
  if command -v hyperfine >/dev/null 2>&1 &&
    hyperfine --runs "$runs" --warmup 1 --export-json "$work/h.json" -N "$daec $*" >/dev/null 2>&1; then
    wall=$(python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/h.json")
  fi
  local walls=() cpus=() t0 t1
  "$daec" "$@" >/dev/null 2>&1  # warm the page cache
  for _ in $(seq "$runs"); do
    if [ -x /usr/bin/time ]; then
      t0=$(now)
      /usr/bin/time -f '%U %S' -o "$work/cpu" "$daec" "$@" >/dev/null 2>&1
      t1=$(now)
      cpus+=("$(awk '{ printf "%d", ($1 + $2) * 1e9 }' "$work/cpu")")
    else
      t0=$(now)
      "$daec" "$@" >/dev/null 2>&1
      t1=$(now)
    fi
    walls+=($((t1 - t0)))
  done
  median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] / 1e9 }'; }
  [ -n "$wall" ] || wall=$(median "${walls[@]}")
  if [ ${#cpus[@]} -gt 0 ]; then echo "$wall $(median "${cpus[@]}")"; else echo "$wall -"; fi
}

# verified OBJ: "LAN+WAN=TOTAL (N rules)" from dae-verify, or why not.
verified() {
  if [ "$(id -u)" -ne 0 ]; then echo "n/a (dae-verify needs root)"; return; fi
  local out
  out=$("$verify" "$1" 2>&1)
  if ! echo "$out" | grep -q ': OK ('; then
    echo "REFUSED by the verifier: $(echo "$out" | grep -m1 REFUSED | sed 's/^[^:]*: //')"
    echo "$out" | tail -n 5 | sed 's/^/      /'
    return
  fi
  local lan wan rules
  lan=$(echo "$out" | sed -n 's/.*: dae_lan_ingress: verified_insns=\([0-9]*\).*/\1/p')
  wan=$(echo "$out" | sed -n 's/.*: dae_wan_egress: verified_insns=\([0-9]*\).*/\1/p')
  rules=$(echo "$out" | sed -n 's/.*OK ([a-z]*, \([0-9]*\) rules.*/\1/p')
  echo "$((lan + wan)) (lan $lan + wan $wan; $rules rules after optimisation)"
}

target() {  # target SECONDS LIMIT
  awk -v t="$1" -v l="$2" 'BEGIN { print (t < l) ? "PASS" : "MISS" }'
}
cpu_target() {  # cpu_target SECONDS|- LIMIT
  if [ "$1" = "-" ]; then echo "n/a"; else target "$1" "$2"; fi
}

echo "daec compile benchmark ($(command -v hyperfine >/dev/null && echo "hyperfine, median of $runs" || echo "median of $runs runs, date +%s%N"))"
echo "build: $build"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (wall times include waiting for a CPU; cpu = user + sys)"
echo
printf '%-7s %-12s %-22s %s\n' rules backend "compile (wall / cpu)" "verifier processed insns (dae_lan_ingress + dae_wan_egress)"
declare -A compile_time compile_cpu
for n in 10 100 1000; do
  gen "$n" >"$work/rules-$n.dae"
  for backend in specialized table; do
    obj=$work/rules-$n-$backend.o
    if ! "$daec" --backend="$backend" "$work/rules-$n.dae" -o "$obj" 2>"$work/err"; then
      printf '%-7s %-12s %-22s %s\n' "$n" "$backend" "FAILED" "$(grep -m1 error "$work/err")"
      continue
    fi
    note=$(grep -o "the table back end was used instead" "$work/err" | head -1)
    read -r t cpu < <(time_compile --backend="$backend" "$work/rules-$n.dae" -o "$obj")
    compile_time[$n-$backend]=$t
    compile_cpu[$n-$backend]=$cpu
    printf '%-7s %-12s %-22s %s%s\n' "$n" "$backend" "${t} s / ${cpu} s" "$(verified "$obj")" "${note:+  [note: $note]}"
  done
done

echo
# The newest upstream example.
up_name=$(basename "$upstream")
up_time=
if [ ! -f "$upstream" ]; then
  echo "upstream example: $upstream not found"
else
  cfg=$upstream
  if ! "$daec" "$cfg" -o "$work/upstream.o" 2>"$work/err"; then
    # Lines with geoip:/geosite: tags this build cannot expand (no geodata files).
    geolines=$(grep -iE "geodata|geoip\.dat|geosite\.dat" "$work/err" | sed -n "s|^$cfg:\([0-9]*\):.*|\1|p" | sort -un)
    if [ -n "$geolines" ]; then
      cfg=$work/upstream-without-geodata.dae
      awk -v drop=" $(echo $geolines) " 'index(drop, " " NR " ") == 0' "$upstream" >"$cfg"
      echo "NOTE: $up_name uses geoip:/geosite: sets that this build cannot expand (no geodata"
      echo "      files found); timing a copy without these rule lines:"
      for l in $geolines; do echo "        removed line $l: $(sed -n "${l}p" "$upstream" | sed 's/^ *//')"; done
    fi
  fi
  if "$daec" "$cfg" -o "$work/upstream.o" 2>"$work/err"; then
    read -r up_time up_cpu < <(time_compile "$cfg" -o "$work/upstream.o")
    echo "upstream example $up_name$([ "$cfg" != "$upstream" ] && echo " (without the geodata rules)"):"
    echo "  compile ${up_time} s wall / ${up_cpu} s cpu (specialized); verifier $(verified "$work/upstream.o")"
  else
    echo "upstream example $up_name: daec failed: $(grep -m1 error "$work/err")"
  fi
fi

echo
echo "targets:"
if [ -n "$up_time" ]; then
  echo "  upstream example < 0.3 s: $(target "$up_time" 0.3) (${up_time} s wall; cpu ${up_cpu} s: $(cpu_target "$up_cpu" 0.3)$([ "${cfg:-}" != "$upstream" ] && echo "; without the geodata rules"))"
else
  echo "  upstream example < 0.3 s: MISS (not compiled)"
fi
for backend in specialized table; do
  t=${compile_time[1000-$backend]:-}
  if [ -n "$t" ]; then
    echo "  1,000 rules < 1 s ($backend): $(target "$t" 1.0) (${t} s wall; cpu ${compile_cpu[1000-$backend]} s: $(cpu_target "${compile_cpu[1000-$backend]}" 1.0))"
  else
    echo "  1,000 rules < 1 s ($backend): MISS (did not compile)"
  fi
done
