#!/usr/bin/env bash
# Side-by-side benchmark: head-ct against the Keras and PyTorch references (issue 6).
#
#   benches/compare.sh <unpacked Kaggle "Head CT - hemorrhage" folder>
#   (or HEAD_CT_DATA=<folder> benches/compare.sh)
#
# 1. Installs the Python references into benches/reference/.venv on first use (pinned in
#    benches/reference/requirements.txt; PyPI's Linux torch wheel pulls ~3 GB of CUDA wheels).
# 2. Prepares the real data once (head-ct prepare: 140/50/10, seed 42) into
#    $CARGO_TARGET_DIR/compare/data (default target/compare/data).
# 3. Runs head-ct (benches/fit_compare.rs), Keras and PyTorch in turn, ROUNDS times (default 3),
#    rotating the order every round, each in a fresh process on the same folders. Round r trains
#    every stack with seed SEED + r - 1, so that the rounds also show each stack's spread of
#    validation accuracy and AUC over seeds (a single seed per stack would compare luck).
# 4. Prints a table of medians (benches/reference/table.py); the raw JSON lines are kept in
#    $CARGO_TARGET_DIR/compare/results-<time>.jsonl.
#
# Environment: ROUNDS (3), EPOCHS (10), SEED (1: the first round's seed), THREADS for the Python
# stacks (2),
# PYTHON (python3, 3.9 or newer, used to create the virtual environment), STACKS (which stacks to
# run, default "head-ct keras pytorch").
set -euo pipefail

CALLER="$PWD"
cd "$(dirname "$0")/.."
ROOT="$PWD"
SOURCE="${1:-${HEAD_CT_DATA:-}}"
ROUNDS="${ROUNDS:-3}"
export EPOCHS="${EPOCHS:-10}" THREADS="${THREADS:-2}"
FIRST_SEED="${SEED:-1}"
STACKS="${STACKS:-head-ct keras pytorch}"
PYTHON="${PYTHON:-python3}"
# Every path handed on is absolute: the references run in benches/reference/, and a relative
# CARGO_TARGET_DIR or data folder would point elsewhere from there.
# The data folder and CARGO_TARGET_DIR are relative to where the script was started from, as
# cargo reads CARGO_TARGET_DIR; the default target/ is the repository's.
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$CALLER/$1" ;; esac; }
TARGET_DIR="$ROOT/target"
[[ -z "${CARGO_TARGET_DIR:-}" ]] || TARGET_DIR="$(absolute "$CARGO_TARGET_DIR")"
export CARGO_TARGET_DIR="$TARGET_DIR"
[[ -z "$SOURCE" ]] || SOURCE="$(absolute "$SOURCE")"
WORK="$TARGET_DIR/compare"
DATA="$WORK/data"
REF=benches/reference
VENV="$REF/.venv"

die() { echo "compare.sh: $*" >&2; exit 1; }

mkdir -p "$WORK"

# 1. Python references.
needs_python() { [[ " $STACKS " == *" keras "* || " $STACKS " == *" pytorch "* ]]; }
if needs_python; then
    if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s "$REF/requirements.txt" "$VENV/requirements.installed"; then
        command -v "$PYTHON" >/dev/null || die "no $PYTHON found: install Python 3 or set PYTHON"
        echo "Installing the Python references into $VENV (first use; large download)..." >&2
        "$PYTHON" -m venv "$VENV" || die "cannot create a virtual environment with $PYTHON (on Debian/Ubuntu: apt install python3-venv)"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -r "$REF/requirements.txt" \
            || die "pip could not install $REF/requirements.txt"
        cp "$REF/requirements.txt" "$VENV/requirements.installed"
    fi
fi

# 2. head-ct: build the comparison program and the CLI (for `prepare`).
cargo build --release --quiet
FIT_COMPARE="$(cargo bench --quiet --bench fit_compare --no-run --message-format=json \
    | "$PYTHON" -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "fit_compare":
        print(m["executable"])')"
[[ -x "$FIT_COMPARE" ]] || die "could not build benches/fit_compare.rs"

# 3. The real data, prepared once.
if [[ ! -f "$DATA/split.csv" ]]; then
    [[ -n "$SOURCE" ]] || die "give the unpacked Kaggle folder (labels.csv + images) as the first argument or in HEAD_CT_DATA"
    [[ -d "$SOURCE" ]] || die "data folder not found: $SOURCE"
    "$TARGET_DIR/release/head-ct" prepare --source "$SOURCE" --target "$DATA" >&2 \
        || die "head-ct prepare failed on $SOURCE"
fi
export HEAD_CT_PREPARED="$DATA"

run_stack() {
    case "$1" in
        head-ct) "$FIT_COMPARE" ;;
        keras) (cd "$REF" && .venv/bin/python keras_reference.py "$DATA") ;;
        pytorch) (cd "$REF" && .venv/bin/python torch_reference.py "$DATA") ;;
        *) die "unknown stack $1 (STACKS may hold head-ct, keras, pytorch)" ;;
    esac
}

# 4. Rounds, rotating the order so that no stack always runs first or last.
RESULTS="$WORK/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
read -r -a stacks <<<"$STACKS"
n=${#stacks[@]}
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "CPU flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512[a-z_0-9]*)$' | tr '\n' ' ')" >&2
for ((round = 1; round <= ROUNDS; round++)); do
    export SEED=$((FIRST_SEED + round - 1))
    for ((i = 0; i < n; i++)); do
        stack="${stacks[$(((i + round - 1) % n))]}"
        load="$(cut -d' ' -f1 /proc/loadavg)"
        echo "round $round/$ROUNDS: $stack, seed $SEED (load average $load)..." >&2
        line="$(run_stack "$stack" | tail -n 1)" || die "$stack failed in round $round"
        [[ "$line" == "{"* ]] || die "$stack printed no JSON line in round $round"
        echo "{\"round\": $round, \"seed\": $SEED, \"load_before\": $load, \"load_after\": $(cut -d' ' -f1 /proc/loadavg), \"result\": $line}" >>"$RESULTS"
        echo "  $line" >&2
    done
done
echo "Raw results: $RESULTS" >&2
"$PYTHON" "$REF/table.py" "$RESULTS"
