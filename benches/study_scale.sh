#!/usr/bin/env bash
# Whole studies at archive scale (issue 25): `head-ct study` beside a pydicom + PyTorch program
# doing the same work, on the same N synthetic 512x512 DICOM CT slices.
#
#   benches/study_scale.sh [N ...]        (default: 2000 20000; or SIZES="2000 20000")
#
# 1. Builds head-ct (release) and examples/synthetic_study.rs.
# 2. Trains a tiny model once (1 epoch: on the built-in phantoms unless data/head_ct_slices exists) into
#    $CARGO_TARGET_DIR/study-bench/run (MODEL=<run folder> uses another one): only throughput
#    matters here, not accuracy.
# 3. Writes N slices (series of 200, 10 series per study, PACS-like names without extension,
#    about 0.5 MB each) into $CARGO_TARGET_DIR/study-bench/slices-N, once per N.
# 4. Runs `head-ct study --model RUN DIR` (no --out: no CSVs or figures) and
#    benches/reference/study_torch.py on the same folder, ROUNDS times (default 2), alternating
#    the order every round, each under `/usr/bin/time -v` (wall seconds and peak RSS). Both read
#    the files from the page cache (they were just written, or read by the previous run).
# 5. Prints slices per second, peak RSS (MiB), the ratio head-ct / pydicom+PyTorch throughput
#    and the issue's targets; the raw lines are kept in
#    $CARGO_TARGET_DIR/study-bench/results-<time>.tsv.
# 6. Deletes the folders of more than 5,000 slices at the end (20,000 slices: about 10 GB),
#    unless KEEP=1.
#
# Environment: SIZES, ROUNDS (2), KEEP (0), MODEL, THREADS for PyTorch (2), WORKERS (0: the
# Python program decodes in its own process; N: a DataLoader with N worker processes),
# PYTHON (python3, to create benches/reference/.venv when it is missing).
set -euo pipefail

CALLER="$PWD"
cd "$(dirname "$0")/.."
ROOT="$PWD"
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$CALLER/$1" ;; esac; }
TARGET_DIR="$ROOT/target"
[[ -z "${CARGO_TARGET_DIR:-}" ]] || TARGET_DIR="$(absolute "$CARGO_TARGET_DIR")"
export CARGO_TARGET_DIR="$TARGET_DIR"
if [[ $# -gt 0 ]]; then SIZES="$*"; else SIZES="${SIZES:-2000 20000}"; fi
ROUNDS="${ROUNDS:-2}"
KEEP="${KEEP:-0}"
export THREADS="${THREADS:-2}" WORKERS="${WORKERS:-0}" PYTHONUNBUFFERED=1
PYTHON="${PYTHON:-python3}"
WORK="$TARGET_DIR/study-bench"
REF=benches/reference
VENV="$REF/.venv"
BIG=5000

die() { echo "study_scale.sh: $*" >&2; exit 1; }
for n in $SIZES; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number, not '$n'"; done
mkdir -p "$WORK"

# /usr/bin/time (GNU time, for the peak RSS): apt-get it when missing.
if [[ ! -x /usr/bin/time ]]; then
    command -v apt-get >/dev/null || die "no /usr/bin/time: install GNU time"
    echo "Installing GNU time (apt-get install time)..." >&2
    SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO="sudo"
    $SUDO apt-get install -y -qq time >/dev/null || die "apt-get install time failed"
fi

# The Python reference: numpy, torch and pydicom at the versions pinned in requirements.txt
# (only those: the Keras stack of compare.sh is not needed here).
pins="$(grep -E '^(numpy|torch|pydicom)==' "$REF/requirements.txt")"
pinned_ok() {
    [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" - "$pins" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
for line in sys.argv[1].split():
    name, want = line.split("==")
    if version(name).split("+")[0] != want:
        sys.exit(1)
EOF
}
if ! pinned_ok; then
    command -v "$PYTHON" >/dev/null || die "no $PYTHON found: install Python 3 or set PYTHON"
    echo "Installing numpy, torch and pydicom into $VENV (first use; torch pulls ~3 GB)..." >&2
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV" \
        || die "cannot create a virtual environment with $PYTHON (Debian/Ubuntu: apt install python3-venv)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # shellcheck disable=SC2086
    "$VENV/bin/python" -m pip install --quiet $pins || die "pip could not install: $pins"
fi

# 1. head-ct and the slice writer.
cargo build --release --quiet
cargo build --release --quiet --example synthetic_study
HEAD_CT="$TARGET_DIR/release/head-ct"
WRITER="$TARGET_DIR/release/examples/synthetic_study"

# 2. A tiny model, once.
MODEL="${MODEL:-$WORK/run}"
if [[ ! -f "$MODEL/model.json" ]]; then
    echo "Training a tiny model (1 epoch on the phantoms) into $MODEL..." >&2
    "$HEAD_CT" train --epochs 1 --out "$MODEL" >"$WORK/train.log" 2>&1 \
        || die "head-ct train failed (see $WORK/train.log)"
fi

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
if grep -q avx512f /proc/cpuinfo; then vec="AVX-512"; elif grep -q avx2 /proc/cpuinfo; then vec="AVX2"; else vec="no AVX2"; fi
echo "Machine: $(nproc) cores, $cpu ($vec), $(free -g | awk '/^Mem:/ {print $2}') GiB" >&2
echo "Start: $(uptime)" >&2

RESULTS="$WORK/results-$(date -u +%Y%m%dT%H%M%SZ).tsv"
printf 'n\tround\ttool\twall_s\tslices\tslices_per_s\tpeak_rss_mib\tload_before\tload_after\n' >"$RESULTS"

# One timed run: tool name, slice count, then the command. Appends a line to $RESULTS.
timed() {
    local tool="$1" n="$2" round="$3"
    shift 3
    local log="$WORK/$tool-$n-$round.log" tv="$WORK/$tool-$n-$round.time"
    local load0 load1 t0 t1 rss wall
    load0="$(cut -d' ' -f1 /proc/loadavg)"
    t0="$(date +%s%N)"
    /usr/bin/time -v -o "$tv" "$@" >"$log" 2>&1 || die "$tool failed on $n slices (see $log)"
    t1="$(date +%s%N)"
    load1="$(cut -d' ' -f1 /proc/loadavg)"
    rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$tv")"
    wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9}')"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$round" "$tool" "$wall" "$n" \
        "$(awk -v n="$n" -v w="$wall" 'BEGIN {printf "%.1f", n / w}')" "$rss" "$load0" "$load1" \
        >>"$RESULTS"
    echo "  $tool: $wall s, $(awk -v n="$n" -v w="$wall" 'BEGIN {printf "%.1f", n / w}') slices/s, peak RSS $rss MiB (load $load0 -> $load1)" >&2
}

for n in $SIZES; do
    dir="$WORK/slices-$n"
    if [[ ! -f "$dir/.complete" ]]; then
        rm -rf "$dir"
        echo "Writing $n synthetic slices into $dir..." >&2
        "$WRITER" "$dir" "$n"
        sync
        touch "$dir/.complete"
    fi
    for ((round = 1; round <= ROUNDS; round++)); do
        echo "N = $n, round $round/$ROUNDS:" >&2
        run_head_ct() { timed head-ct "$n" "$round" "$HEAD_CT" study --model "$MODEL" "$dir"; }
        run_torch() { timed pydicom+pytorch "$n" "$round" "$VENV/bin/python" "$REF/study_torch.py" "$dir"; }
        if ((round % 2 == 1)); then run_head_ct; run_torch; else run_torch; run_head_ct; fi
        # Both must have read every slice (.complete is hidden: skipped by both).
        grep -q "Read $n DICOM images" "$WORK/head-ct-$n-$round.log" \
            || die "head-ct did not read $n images (see $WORK/head-ct-$n-$round.log)"
        grep -q "\"slices\": $n," "$WORK/pydicom+pytorch-$n-$round.log" \
            || die "study_torch.py did not read $n slices (see $WORK/pydicom+pytorch-$n-$round.log)"
    done
    if ((n > BIG)) && [[ "$KEEP" != 1 ]]; then
        echo "Deleting $dir (KEEP=1 keeps it)" >&2
        rm -rf "$dir"
    fi
done
echo "End: $(uptime)" >&2
echo "Raw results: $RESULTS" >&2

# The table: medians over rounds, the ratio and the targets.
"$PYTHON" - "$RESULTS" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = lambda xs: statistics.median(float(x) for x in xs)
sizes = sorted({int(r["n"]) for r in rows})
print("| N | tool | rounds | wall s (median) | slices/s | peak RSS MiB (max) | head-ct / pydicom+PyTorch |")
print("|---:|---|---:|---:|---:|---:|---:|")
rss = {}
ratios = {}
for n in sizes:
    by = {t: [r for r in rows if int(r["n"]) == n and r["tool"] == t] for t in ("head-ct", "pydicom+pytorch")}
    rate = {t: med(r["slices_per_s"] for r in rs) for t, rs in by.items()}
    ratios[n] = rate["head-ct"] / rate["pydicom+pytorch"]
    for t, rs in by.items():
        peak = max(float(r["peak_rss_mib"]) for r in rs)
        rss[(n, t)] = peak
        ratio = f"**{ratios[n]:.2f}x**" if t == "head-ct" else ""
        print(f"| {n} | {t} | {len(rs)} | {med(r['wall_s'] for r in rs):.2f} | {rate[t]:.1f} | {peak:.0f} | {ratio} |")
print()
ok = lambda b: "met" if b else "MISSED"
for n in sizes:
    print(f"Throughput at N = {n}: {ratios[n]:.2f}x (target >= 3x): {ok(ratios[n] >= 3)}")
lo, hi = sizes[0], sizes[-1]
print(f"head-ct peak RSS at N = {hi}: {rss[(hi, 'head-ct')]:.0f} MiB (target <= 400): {ok(rss[(hi, 'head-ct')] <= 400)}")
if lo != hi:
    growth = rss[(hi, "head-ct")] / rss[(lo, "head-ct")] - 1
    print(f"head-ct peak RSS growth N = {lo} -> {hi}: {growth:+.1%} (target within 10%): {ok(abs(growth) <= 0.10)}")
EOF
