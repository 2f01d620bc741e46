#!/usr/bin/env bash
# Does a change keep the numbers? Trains the same seeded run with two versions of head-ct and
# compares what they wrote, byte for byte: the weights, the history and the predictions.
#
#   scripts/compare-seeded-runs.sh OLD_REV [NEW_REV]       # NEW_REV defaults to the work tree
#   scripts/compare-seeded-runs.sh 9caba81                 # e.g. the commit before a refactor
#
# OLD_REV is checked out into a temporary git worktree and built in release mode (a few minutes
# the first time; the build folder is kept in target/compare-seeded-runs/). NEW_REV "worktree"
# (the default) means the files as they are now. The run uses the built-in phantoms and, when
# HEAD_CT_DATA names the unpacked Kaggle folder, also the real data (prepared with the default
# split). SEED (default 1), EPOCHS (default 10) and THRESHOLD (default 0.5: the epoch accuracy
# counts calls at this threshold) set the recipe. A change that is meant to move an image that
# sits exactly at the threshold will show as "DIFFERS" in history.csv: read the diff.
#
# Exits 0 when every file is identical, 1 when one differs (and says which). Bit-identical
# results need the same machine, thread count and CPU vector path for both runs, which this
# script gives by running both here, one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."

old_rev="${1:?usage: scripts/compare-seeded-runs.sh OLD_REV [NEW_REV]}"
new_rev="${2:-worktree}"
seed="${SEED:-1}"
epochs="${EPOCHS:-10}"
keep="target/compare-seeded-runs"
mkdir -p "$keep"
work="$(mktemp -d)"
cleanup() {
  git worktree remove --force "$work/old-src" >/dev/null 2>&1 || true
  [ -n "${new_src:-}" ] && [ "$new_src" != "." ] && git worktree remove --force "$new_src" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

build() { # build <source dir> <target dir>: prints the binary's path
  (cd "$1" && CARGO_TARGET_DIR="$2" cargo build --release --quiet --bin head-ct) >&2
  echo "$2/release/head-ct"
}

git worktree add --quiet --detach "$work/old-src" "$old_rev"
old_bin="$(build "$work/old-src" "$PWD/$keep/old")"
if [ "$new_rev" = "worktree" ]; then
  new_src="."
  new_bin="$(build . "$PWD/target")"
else
  new_src="$work/new-src"
  git worktree add --quiet --detach "$new_src" "$new_rev"
  new_bin="$(build "$new_src" "$PWD/$keep/new")"
fi

datasets=("phantoms")
if [ -n "${HEAD_CT_DATA:-}" ] && [ -f "$HEAD_CT_DATA/labels.csv" ]; then
  "$new_bin" prepare --source "$HEAD_CT_DATA" --target "$work/slices" >/dev/null
  datasets+=("real")
fi

status=0
for data in "${datasets[@]}"; do
  for side in old new; do
    bin="${side}_bin"
    args=(train --seed "$seed" --epochs "$epochs" --threshold "${THRESHOLD:-0.5}" --out "$work/$data-$side")
    [ "$data" = "real" ] && args+=(--data "$work/slices")
    # From an empty folder, so that `train` without --data takes the phantoms.
    (mkdir -p "$work/cwd-$side" && cd "$work/cwd-$side" && "${!bin}" "${args[@]}" >"$work/$data-$side.log" 2>&1) \
      || { echo "$side ($data) failed:"; tail -5 "$work/$data-$side.log"; exit 1; }
  done
  for file in model.safetensors history.csv predictions.csv; do
    if cmp -s "$work/$data-old/$file" "$work/$data-new/$file"; then
      echo "$data: $file identical"
    elif [ "$file" = predictions.csv ] &&
      cmp -s <(cut -d, -f1-5 "$work/$data-old/$file") <(cut -d, -f1-5 "$work/$data-new/$file"); then
      # predictions.csv gained a `note` column; its first five columns are what both versions write.
      echo "$data: $file identical in file, probability, call, truth and verdict (the columns differ)"
    else
      echo "$data: $file DIFFERS"
      status=1
    fi
  done
  echo "$data: final epoch, old: $(grep '^Epoch' "$work/$data-old.log" | tail -1)"
  echo "$data: final epoch, new: $(grep '^Epoch' "$work/$data-new.log" | tail -1)"
done
exit "$status"
