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
# It prints a table, whether the notebook's final losses equal the command line's, and as its
# last line `notebook/cli epoch ratio R` (median epoch time of notebook 03 over the command
# line's). Needs the notebook set-up (scripts/setup-notebooks.sh). Takes 10-20 minutes on 2
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
import json, re, statistics, sys
from pathlib import Path
work = Path(sys.argv[1])
line = re.compile(r"Epoch (\d+)/(\d+) - ([0-9.]+)s - loss: ([0-9.]+) .* val_loss: ([0-9.]+)")

def epochs(texts):
    return [(int(m[1]), float(m[3]), m[4], m[5]) for t in texts for m in line.finditer(t)]

cli = epochs([(work / "cli.log").read_text()])
def notebook_epochs(folder):
    nb = json.loads((work / folder / "03-train.ipynb").read_text())
    return epochs("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                  for o in c.get("outputs", []))

notebook = notebook_epochs("nb03")
assert len(cli) == len(notebook) == 10, (len(cli), len(notebook))
cli_median = statistics.median(e[1] for e in cli)
nb_median = statistics.median(e[1] for e in notebook)
same = [(e[2], e[3]) for e in cli] == [(e[2], e[3]) for e in notebook]

def table(log):
    rows = {}
    for l in (work / log).read_text().splitlines():
        m = re.match(r"(\S+\.ipynb)\s+([0-9.]+)s\s+([0-9.]+) s", l)
        if m:
            rows[m[1]] = (float(m[2]), float(m[3]))
    return rows

warm = table("all.log")
cold = table("cold.log")
print()
print("| measure | seconds |")
print("|---|---:|")
print(f"| command line, 10-epoch fit, median epoch | {cli_median:.2f} |")
print(f"| notebook 03, 10-epoch fit, median epoch | {nb_median:.2f} |")
if (work / "before").exists():
    before = notebook_epochs("before")
    print(f"| notebook 03 with evcxr's own profile, median epoch | "
          f"{statistics.median(e[1] for e in before):.2f} |")
for name, (total, first) in sorted(warm.items()):
    print(f"| {name}, warm: whole notebook (first cell) | {total:.1f} ({first:.1f}) |")
for name, (total, first) in cold.items():
    print(f"| {name}, cold first cell (empty build folder) | {first:.1f} |")
print()
print(f"same losses in every epoch as the command line: {'yes' if same else 'NO'}")
print(f"notebook/cli epoch ratio {nb_median / cli_median:.2f}")
PY
