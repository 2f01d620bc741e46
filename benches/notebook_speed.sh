#!/usr/bin/env bash
# The notebooks against the command line, on this machine, in one run:
#
#   benches/notebook_speed.sh
#
# 1. the command line's 10-epoch fit (seed 1) on phantoms written as PNGs;
# 2. notebook 03's training cell on the same files (HEAD_CT_DATA names them), warm kernel;
# 3. every notebook, warm (on the phantoms);
# 4. the first cell of notebook 01 cold: a kernel build folder that is empty;
# 5. with BEFORE=1, notebook 03 again on a kernel with evcxr's own profile (opt-level 2, debug
#    assertions and overflow checks; HEAD_CT_KERNEL_PROFILE=evcxr), in a build folder of its
#    own: what the kernel's settings gain. Adds about 5 minutes.
#
# It prints a table of the notebooks' times, then (scripts/notebook-matches-cli.py) the median
# seconds per epoch of the command line and of notebook 03, whether every epoch's losses are the
# same, and as its last line `notebook/cli epoch ratio R` (notebook 03's median epoch time over
# the command line's). Needs the notebook set-up (scripts/setup-notebooks.sh). Takes 10-20 minutes on 2
# cores.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
[ -x "$py" ] || { echo "run scripts/setup-notebooks.sh first" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
  "AVX-512: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== 1. command line: head-ct train, seed 1, phantoms as PNGs"
cargo build --release --quiet --bin head-ct
bin="${CARGO_TARGET_DIR:-target}/release/head-ct"
"$bin" phantoms --out "$work/ph" >/dev/null
"$bin" train --data "$work/ph" --seed 1 --out "$work/cli-run" > "$work/cli.log"
grep '^Epoch' "$work/cli.log" | tail -2

echo "== 2. notebook 03 on the same files (a warm-up run first, then the timed one)"
HEAD_CT_DATA="$work/ph" "$py" scripts/run-notebooks.py notebooks/03-train.ipynb --out "$work/warm" >/dev/null
HEAD_CT_DATA="$work/ph" "$py" scripts/run-notebooks.py notebooks/03-train.ipynb --out "$work/nb03" | tail -3

echo "== 3. every notebook, warm, on the phantoms"
HEAD_CT_DATA=phantoms "$py" scripts/run-notebooks.py --out "$work/all" | tee "$work/all.log" | tail -9

echo "== 4. notebook 01's first cell, cold (an empty kernel build folder)"
HEAD_CT_KERNEL_DIR="$work/cold-kernels" HEAD_CT_DATA=phantoms \
  "$py" scripts/run-notebooks.py notebooks/01-explore-data.ipynb --out "$work/cold" | tee "$work/cold.log" | tail -3

if [ "${BEFORE:-0}" = 1 ]; then
  echo "== 5. notebook 03 with evcxr's own profile (before issue 16)"
  HEAD_CT_KERNEL_PROFILE=evcxr HEAD_CT_KERNEL_DIR="$work/evcxr-kernels" HEAD_CT_DATA="$work/ph" \
    "$py" scripts/run-notebooks.py notebooks/03-train.ipynb --out "$work/before" | tail -3
fi

"$py" - "$work" <<'PY'
import re, sys
from pathlib import Path
work = Path(sys.argv[1])

def table(log):
    rows = {}
    for l in (work / log).read_text().splitlines():
        m = re.match(r"(\S+\.ipynb)\s+([0-9.]+)s\s+([0-9.]+) s", l)
        if m:
            rows[m[1]] = (float(m[2]), float(m[3]))
    return rows

print()
print("| notebook | seconds: whole notebook (first cell) |")
print("|---|---:|")
for name, (total, first) in sorted(table("all.log").items()):
    print(f"| {name}, warm | {total:.1f} ({first:.1f}) |")
for name, (total, first) in table("cold.log").items():
    print(f"| {name}, cold first cell (empty build folder) | {first:.1f} |")
print()
PY

if [ -d "$work/before" ]; then
  echo "== before: notebook 03 with evcxr's own profile against the command line"
  "$py" scripts/notebook-matches-cli.py "$work/cli.log" "$work/before/03-train.ipynb" || true
  echo
fi
echo "== notebook 03 on the head-ct kernel against the command line"
"$py" scripts/notebook-matches-cli.py "$work/cli.log" "$work/nb03/03-train.ipynb"
