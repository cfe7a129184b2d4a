#!/usr/bin/env bash
# Runs every test of the project, as CI does: installs the Debian packages, builds,
# then runs each test runner and prints its summary. Ends with "N passed, N failed"
# (the sum over all runners) and exits non-zero when anything failed.
#
#   bash tools/run-tests.sh            # everything
#   DAE_SKIP_INSTALL=1 ...             # skip apt-get
#   DAE_FUZZ_SECONDS=60 ...            # time per fuzz target (default 30)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${DAE_JOBS:-$(nproc)}
lit=/usr/lib/llvm-16/build/utils/lit/lit.py
logdir=${DAE_TEST_LOGS:-$root/build/test-logs}
total_pass=0
total_fail=0
summary=()

record() {  # record NAME PASSED FAILED
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
  summary+=("$(printf '%-22s %5d passed, %3d failed' "$1" "$2" "$3")")
}

# "N passed, M failed" on the last such line of a log.
plain_counts() {
  local line
  line=$(grep -E '^[A-Za-z]*:? ?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
  if [ -z "$line" ]; then echo "0 1"; return; fi
  echo "$line" | sed -E 's/^[A-Za-z]*:? ?([0-9]+) passed, ([0-9]+) failed.*/\1 \2/'
}

step() { printf '\n==== %s ====\n' "$*"; }

# record_ctest NAME LOG: counts from ctest's "N% tests passed, F tests failed out of T".
record_ctest() {
  local line failed all
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$2" | tail -n 1)
  if [ -z "$line" ]; then
    tail -n 20 "$2"
    record "$1" 0 1
    return
  fi
  failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
  all=$(echo "$line" | sed -E 's/.* tests failed out of ([0-9]+).*/\1/')
  record "$1" $((all - failed)) "$failed"
}

step "install Debian packages"
bash tools/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }

step "build (build/)"
mkdir -p "$logdir"
if ! DAE_JOBS=$jobs bash tools/build.sh 2>&1 | tail -n 30; then :; fi
if [ ! -x build/bin/daec ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
mkdir -p "$logdir"

step "unit tests (ctest)"
ctest --test-dir build -L unit -j "$jobs" --output-on-failure >"$logdir/ctest.log" 2>&1
grep -E "tests passed|The following tests FAILED|\*\*\*Failed|Not Run|Failed  " "$logdir/ctest.log" | head -n 40
record_ctest "unit (ctest)" "$logdir/ctest.log"

step "golden tests (lit + FileCheck)"
python3 "$lit" -s --param build="$root/build" tests/lit >"$logdir/lit.log" 2>&1
grep -E "^(FAIL|UNRESOLVED|XPASS|TIMEOUT):" "$logdir/lit.log" | head -n 40
sed -n '/^Testing Time/,$p' "$logdir/lit.log"
lit_count() { grep -E "^ *$1: *[0-9]+" "$logdir/lit.log" | sed -E 's/.*: *([0-9]+).*/\1/' | tail -n 1; }
p=$(lit_count Passed); f=$(lit_count Failed); u=$(lit_count Unresolved); x=$(lit_count "Unexpectedly Passed"); t=$(lit_count "Timed Out")
record "golden (lit)" "${p:-0}" $(( ${f:-0} + ${u:-0} + ${x:-0} + ${t:-0} ))

step "upstream corpus (daec --check vs upstream's verdicts)"
DAEC=build/bin/daec python3 tests/corpus/upstream_verdicts.py >"$logdir/corpus.log" 2>&1
grep -E "FAIL|SKIPPED" "$logdir/corpus.log" | head -n 20
tail -n 2 "$logdir/corpus.log"
read -r p f < <(plain_counts "$logdir/corpus.log")
record "upstream corpus" "$p" "$f"

step "differential (kernel program vs reference evaluator, both back ends)"
build/bin/dae-difftest --seed 1 --seed 2 --fresh >"$logdir/difftest.log" 2>&1
grep -E "^(FAIL|  DISAGREE)|fresh seed" "$logdir/difftest.log" | head -n 20
tail -n 2 "$logdir/difftest.log"
read -r p f < <(plain_counts "$logdir/difftest.log")
record "differential" "$p" "$f"

if [ -f tests/verifier/run.sh ]; then
  step "kernel verifier (every object of the lit corpus, both back ends)"
  bash tests/verifier/run.sh build >"$logdir/verifier.log" 2>&1
  grep -E "REFUSED|FAIL" "$logdir/verifier.log" | head -n 20
  tail -n 2 "$logdir/verifier.log"
  read -r p f < <(plain_counts "$logdir/verifier.log")
  record "verifier" "$p" "$f"
fi

# Lab tests: each builds its own namespaces (unique names), runs real servers and
# clients, tears everything down, and ends with "N passed, M failed".
for lab in e2e:tests/e2e/run.sh interop:tests/interop/run.sh groups:tests/group-lab/run.sh dns:tests/dns-lab/run.sh dns-e2e:tests/e2e/dns.sh \
           ops:tests/ops-lab/run.sh subscriptions:tests/subscription-lab/run.sh; do
  name=${lab%%:*} script=${lab#*:}
  [ -f "$script" ] || continue
  step "lab: $name ($script)"
  BUILD_DIR="$root/build" bash "$script" >"$logdir/lab-$name.log" 2>&1
  grep -E "^FAIL" "$logdir/lab-$name.log" | head -n 20
  tail -n 3 "$logdir/lab-$name.log"
  read -r p f < <(plain_counts "$logdir/lab-$name.log")
  record "lab $name" "$p" "$f"
done

if [ "${DAE_SKIP_SANITIZE:-0}" != 1 ]; then
  step "unit tests under AddressSanitizer + UBSan (build-asan/)"
  # Only the unit-test executables are built here: ctest -L unit runs nothing else.
  asan_targets=$(cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDAE_SANITIZE=ON >/dev/null 2>&1 &&
                 ninja -C "$root/build-asan" -t targets all 2>/dev/null | sed -n 's/^\([A-Za-z0-9_]*_test\): phony$/\1/p' | grep -v '^cmake_' | tr '\n' ' ')
  if DAE_BUILD_DIR="$root/build-asan" DAE_JOBS=$jobs DAE_BUILD_TYPE=Debug DAE_TARGETS="$asan_targets" \
       bash tools/build.sh -DDAE_SANITIZE=ON >"$logdir/asan-build.log" 2>&1; then
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan -L unit -j "$jobs" --output-on-failure >"$logdir/ctest-asan.log" 2>&1
    grep -E "tests passed|FAILED|ERROR: AddressSanitizer|runtime error" "$logdir/ctest-asan.log" | head -n 20
    record_ctest "unit (asan+ubsan)" "$logdir/ctest-asan.log"
  else
    tail -n 30 "$logdir/asan-build.log"
    record "unit (asan+ubsan)" 0 1
  fi
fi

if [ "${DAE_SKIP_FUZZ:-0}" != 1 ] && [ -f tests/fuzz/run.sh ]; then
  step "fuzzing (libFuzzer, bounded)"
  if CC=clang-16 CXX=clang++-16 DAE_BUILD_DIR="$root/build-fuzz" DAE_JOBS=$jobs DAE_BUILD_TYPE=RelWithDebInfo \
       DAE_TARGETS=fuzzers bash tools/build.sh -DDAE_FUZZ=ON >"$logdir/fuzz-build.log" 2>&1; then
    bash tests/fuzz/run.sh "$root/build-fuzz" "${DAE_FUZZ_SECONDS:-30}" >"$logdir/fuzz.log" 2>&1
    grep -E "^fuzz " "$logdir/fuzz.log"
    read -r p f < <(plain_counts "$logdir/fuzz.log")
    record "fuzz" "$p" "$f"
  else
    tail -n 30 "$logdir/fuzz-build.log"
    record "fuzz" 0 1
  fi
fi

step "summary"
for s in "${summary[@]}"; do echo "$s"; done
echo "logs: $logdir"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
