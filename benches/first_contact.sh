#!/usr/bin/env bash
# A newcomer's first contact, timed: README's two commands on a fresh clone (issue 28).
#
#   benches/first_contact.sh [REV]        # REV defaults to HEAD of this repository
#
# Clones this repository (at REV) into a temporary folder, so that `target/` starts empty, and
# runs there, one after the other:
#   1. `cargo run --release`: to the first epoch line (what a newcomer waits for), and to the end;
#   2. `cargo test`.
# The crate registry is fetched first (`cargo fetch`, not timed): the figures are for a machine
# that has downloaded the crates once, as the issue's targets are. HEAD_CT_DATA is unset for both
# commands, so the run trains on the built-in phantoms, as on a fresh clone.
#
# Prints each command's wall and CPU seconds (user + system, children included) and, as its last
# line, `first contact: run S1 s, test S2 s` (wall seconds: run to the first epoch line, test to
# the end). Logs are kept in $KEEP (default target/first-contact/) of this repository. A benchmark,
# not a test: nothing is asserted; `cargo test` failing makes the script exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
rev="${1:-HEAD}"
keep="${KEEP:-$root/target/first-contact}"
mkdir -p "$keep"
rm -f "$keep/run.log"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-local "$root" "$work/head-ct"
git -C "$work/head-ct" checkout --quiet "$rev"
cd "$work/head-ct"
unset CARGO_TARGET_DIR HEAD_CT_DATA
cargo fetch --quiet

cpu_of() { # cpu_of <time -f output file>: user + system seconds
  awk '{print $1 + $2}' "$1"
}

echo "== cargo run --release (fresh clone of $(git rev-parse --short HEAD), empty target/)"
start=$(date +%s.%N)
first_epoch=""
# The run's output, line by line with its time: the first "Epoch 1/" line is the wait that counts.
while IFS= read -r line; do
  printf '%s\n' "$line" >> "$keep/run.log"
  if [ -z "$first_epoch" ] && [[ "$line" == Epoch\ 1/* ]]; then
    first_epoch=$(echo "$(date +%s.%N) - $start" | bc)
  fi
done < <(/usr/bin/time -f "%U %S" -o "$keep/run.time" cargo run --release 2>&1)
run_wall=$(echo "$(date +%s.%N) - $start" | bc)
run_cpu=$(cpu_of "$keep/run.time")
: "${first_epoch:=$run_wall}"
printf 'run: first epoch line after %.0f s, done after %.0f s wall, %.0f s CPU\n' \
  "$first_epoch" "$run_wall" "$run_cpu"

echo "== cargo test (same clone, after the run)"
start=$(date +%s.%N)
status=0
/usr/bin/time -f "%U %S" -o "$keep/test.time" cargo test > "$keep/test.log" 2>&1 || status=$?
test_wall=$(echo "$(date +%s.%N) - $start" | bc)
test_cpu=$(cpu_of "$keep/test.time")
passed=$(grep -o '[0-9]* passed' "$keep/test.log" | awk '{s += $1} END {print s + 0}')
printf 'test: %.0f s wall, %.0f s CPU, %s tests passed, exit status %s\n' \
  "$test_wall" "$test_cpu" "$passed" "$status"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), \
$(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo 'AVX2, no AVX-512'); logs in $keep"
printf 'first contact: run %.0f s, test %.0f s\n' "$first_epoch" "$test_wall"
[ "$status" -eq 0 ]
