#!/usr/bin/env bash
# Loads every config the project has into the kernel's verifier, with both back
# ends: every .dae file under tests/lit (recursively, the other suites' inputs
# included) and the upstream example configs that compile.
#
#   tests/verifier/run.sh BUILD_DIR
#
# For each config and back end: `daec --backend=B CONFIG -o OBJ`, then
# `dae-verify OBJ` (libbpf load into the real verifier, maps filled from the
# .dae.sets section; nothing is attached, everything is unloaded again).
# Configs daec rejects with exit status 1 (errors in the config, including
# geoip:/ext: sets that need geodata files this build cannot read) are skipped
# and listed; exit status 2 from daec (an internal error) counts as a failure.
#
# Prints one line per object (PASS/FAIL, back end, config, the verifier's
# processed instructions of the LAN and WAN programs), then the skipped configs,
# and ends with the line "N passed, M failed". Exit status 1 if anything failed
# (or when not run as root: loading BPF programs needs CAP_BPF/CAP_SYS_ADMIN).
# DAE_VERIFY_JOBS sets the parallelism (default: nproc).
set -uo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
daec=$build/bin/daec
verify=$build/bin/dae-verify
upstream=${DAE_UPSTREAM_CONFIGS:-$root/../shared/data/dae-upstream-configs}
[ -d "$upstream" ] && upstream=$(cd "$upstream" && pwd -P)

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/verifier: loading BPF programs into the kernel needs root (CAP_BPF and CAP_SYS_ADMIN);"
  echo "running as uid $(id -u). Run it as root (CI does)."
  exit 1
fi
for b in "$daec" "$verify"; do
  if [ ! -x "$b" ]; then
    echo "tests/verifier: $b is missing; build first (ninja -C $build)"
    exit 1
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/dae-verifier.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Run copies, so that a rebuild during the run cannot swap the binaries under it.
cp "$daec" "$work/daec" && cp "$verify" "$work/dae-verify" || exit 1
daec=$work/daec
verify=$work/dae-verify

# The configs, as paths relative to $root where possible.
configs=()
while IFS= read -r f; do configs+=("$f"); done < <(cd "$root" && find tests/lit -name '*.dae' -type f | LC_ALL=C sort)
if [ -d "$upstream" ]; then
  while IFS= read -r f; do configs+=("$f"); done < <(find "$upstream" -maxdepth 1 -name '0*.dae' -type f | LC_ALL=C sort)
else
  echo "note: $upstream not found; only tests/lit configs"
fi

# One job: compile and verify one config with one back end. Writes a result file
# "STATUS<TAB>line" that the summary prints in order.
job() {
  local index=$1 backend=$2 config=$3
  local path=$config
  case $path in /*) ;; *) path=$root/$path ;; esac
  local obj=$work/$index.$backend.o out=$work/$index.$backend.result
  local log=$work/$index.$backend.log
  (cd "$(dirname "$path")" && "$daec" --backend="$backend" "$path" -o "$obj") >"$log" 2>&1
  local rc=$?
  if [ $rc -eq 1 ]; then
    local why="errors in the config"
    grep -qiE "geodata|geoip\.dat|geosite\.dat" "$log" && why="needs geodata"
    printf 'SKIP\t%s (%s)\n' "$config" "$why" >"$out"
    return
  fi
  if [ $rc -ne 0 ]; then
    printf 'FAIL\t%-11s %s: daec exit %d: %s\n' "$backend" "$config" "$rc" "$(grep -m1 -E 'error' "$log" | cut -c1-200)" >"$out"
    return
  fi
  local vlog=$work/$index.$backend.verify
  "$verify" "$obj" >"$vlog" 2>&1
  rc=$?
  local lan wan
  lan=$(sed -n 's/.*: dae_lan_ingress: verified_insns=\([0-9]*\).*/\1/p' "$vlog")
  wan=$(sed -n 's/.*: dae_wan_egress: verified_insns=\([0-9]*\).*/\1/p' "$vlog")
  if [ $rc -eq 0 ] && grep -q ': OK (' "$vlog"; then
    printf 'PASS\t%-11s %s (verified_insns lan=%s wan=%s)\n' "$backend" "$config" "${lan:-?}" "${wan:-?}" >"$out"
  else
    printf 'FAIL\t%-11s %s: %s\n' "$backend" "$config" "$(grep -m1 -E 'REFUSED|error' "$vlog" | sed "s|$obj|rules.o|" | cut -c1-300)" >"$out"
    # Keep the verifier's log of a refused object for the reader.
    mkdir -p "$build/verifier-logs"
    cp "$vlog" "$build/verifier-logs/$(echo "$config" | tr '/' '_').$backend.log"
  fi
}
export -f job
export root work daec verify build

jobs=${DAE_VERIFY_JOBS:-$(nproc)}
for i in "${!configs[@]}"; do
  for backend in specialized table; do
    printf '%s\0%s\0%s\0' "$i" "$backend" "${configs[$i]}"
  done
done | xargs -0 -n 3 -P "$jobs" bash -c 'job "$@"' _

passed=0
failed=0
skipped=()
for i in "${!configs[@]}"; do
  skip_line=
  for backend in specialized table; do
    r=$work/$i.$backend.result
    if [ ! -f "$r" ]; then
      echo "FAIL ${backend} ${configs[$i]}: no result (the job died)"
      failed=$((failed + 1))
      continue
    fi
    IFS=$'\t' read -r status line <"$r"
    case $status in
      PASS) echo "PASS $line"; passed=$((passed + 1)) ;;
      FAIL) echo "FAIL $line"; failed=$((failed + 1)) ;;
      SKIP) skip_line=$line ;;
    esac
  done
  [ -n "$skip_line" ] && skipped+=("$skip_line")
done
echo "skipped ${#skipped[@]} configs that daec rejects (exit 1):"
for s in "${skipped[@]}"; do echo "  $s"; done
[ "$failed" -gt 0 ] && echo "verifier logs of refused objects: $build/verifier-logs/"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
