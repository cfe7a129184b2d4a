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
echo "Running it on interfaces (the namespace lab) comes with the runtime; see docs/."
