#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS
#
# BUILD_DIR is a build configured with clang and -DDAE_FUZZ=ON, e.g.
#   CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DDAE_FUZZ=ON -DDAE_BUILD_TESTS=ON
#   ninja -C build-fuzz parse_check_fuzzer
# Each target NAME_fuzzer in BUILD_DIR/bin runs for SECONDS on a fresh COPY of
# tests/fuzz/corpus/NAME (the checked-in corpus is never written to), with
# tests/fuzz/NAME.dict or else tests/fuzz/dae.dict. Work corpora, logs and crash
# reproducers go to BUILD_DIR/fuzz/NAME/. One summary line per target:
#   fuzz parse_check: OK 12345 runs in 60s
#   fuzz parse_check: FAILED (crash) after 678 runs; reproducer BUILD_DIR/fuzz/parse_check/crash-...
# Exit status: 0 when every target ran clean, 1 on any crash, leak, timeout or
# out-of-memory, 2 on usage errors.
# Environment: FUZZ_TARGETS="a b" restricts the targets; FUZZ_ARGS adds libFuzzer flags
# (e.g. FUZZ_ARGS=-seed=1).
set -u

usage() {
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
}
[ $# -eq 2 ] || usage
build_dir=$(cd "$1" 2>/dev/null && pwd) || { echo "$0: no build directory '$1'" >&2; exit 2; }
seconds=$2
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then usage; fi
here=$(cd "$(dirname "$0")" && pwd)

targets=()
for bin in "$build_dir"/bin/*_fuzzer; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin" _fuzzer)
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  targets+=("$name")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "$0: no *_fuzzer executables in $build_dir/bin (configure with -DDAE_FUZZ=ON and build them)" >&2
  exit 2
fi

status=0
failed_targets=0
for name in "${targets[@]}"; do
  bin="$build_dir/bin/${name}_fuzzer"
  work="$build_dir/fuzz/$name"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  if [ -d "$here/corpus/$name" ]; then
    cp -R "$here/corpus/$name/." "$work/corpus/"
  fi
  dict=()
  if [ -f "$here/$name.dict" ]; then
    dict=(-dict="$here/$name.dict")
  elif [ -f "$here/dae.dict" ]; then
    dict=(-dict="$here/dae.dict")
  fi
  log="$work/fuzz.log"
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "${dict[@]}" ${FUZZ_ARGS:-} "$work/corpus" >"$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  [ -n "$runs" ] || runs=0
  artifact=$(find "$work/artifacts" -maxdepth 1 -type f -printf '%f\n' 2>/dev/null | head -n 1)
  if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
    echo "fuzz $name: OK $runs runs in ${elapsed}s"
  else
    kind=error
    case "$artifact" in
      crash-*) kind=crash ;;
      leak-*) kind=leak ;;
      timeout-*) kind=timeout ;;
      oom-*) kind=out-of-memory ;;
      slow-unit-*) kind=slow-unit ;;
    esac
    echo "fuzz $name: FAILED ($kind, exit $rc) after $runs runs in ${elapsed}s; reproducer ${artifact:+$work/artifacts/$artifact}; log $log"
    # The sanitizer's report, for the CI log.
    { grep -E '(==[0-9]+== ?ERROR|^SUMMARY|runtime error:|invariant broken|terminate called|what\(\):)' "$log" | head -n 10
      grep -E '^ +#[0-9]+ .*(/compiler/|/tests/|/grammar/)' "$log" | head -n 12; } | sed 's/^/    /'
    status=1
    failed_targets=$((failed_targets + 1))
  fi
done
ok_count=$(( ${#targets[@]} - failed_targets ))
echo "$ok_count passed, $failed_targets failed"
exit $status
