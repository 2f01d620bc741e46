"""Prints the comparison table (Markdown) from the JSON lines written by benches/compare.sh.

Usage: python3 table.py results.jsonl   (standard library only)
"""

import json
import os
import statistics
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: table.py results.jsonl")
    path = sys.argv[1]
    try:
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        sys.exit(f"table.py: cannot read {path}: {e}")
    by_stack = {}
    for row in rows:
        by_stack.setdefault(row["result"]["stack"], []).append(row)
    if not by_stack:
        sys.exit(f"table.py: no results in {path}")

    def med(stack, key):
        return statistics.median(r["result"][key] for r in by_stack[stack])

    def spread(stack, key, fmt):
        values = [r["result"][key] for r in by_stack[stack]]
        return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"

    loads = [r[k] for r in rows for k in ("load_before", "load_after")]
    seeds = sorted({r["seed"] for r in rows if "seed" in r})
    seed_note = f"; training seeds {', '.join(map(str, seeds))}, one per round" if seeds else ""
    print(f"{len(rows)} runs, load average {min(loads):.2f}–{max(loads):.2f} "
          f"(1-minute, sampled before and after each run), {os.cpu_count()} cores{seed_note}\n")
    print("| stack | rounds | fit s, median (min–max) | head-ct / stack | peak RSS MiB | "
          "train images/s | inference images/s | one image ms | val accuracy | val AUC |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ours = med("head-ct", "fit_s") if "head-ct" in by_stack else None
    for stack in ("head-ct", "pytorch", "keras", *sorted(set(by_stack) - {"head-ct", "pytorch", "keras"})):
        if stack not in by_stack:
            continue
        fit = med(stack, "fit_s")
        ratio = f"{ours / fit:.2f}" if ours is not None else "–"
        print(
            f"| {stack} | {len(by_stack[stack])} | {spread(stack, 'fit_s', '{:.2f}')} | {ratio} | "
            f"{med(stack, 'peak_rss_mib'):.0f} | {med(stack, 'train_images_per_s'):.1f} | "
            f"{med(stack, 'infer_images_per_s'):.1f} | {med(stack, 'single_image_ms'):.1f} | "
            f"{spread(stack, 'val_accuracy', '{:.2f}')} | {spread(stack, 'val_auc', '{:.3f}')} |"
        )
    references = [r["result"] for s in by_stack if s != "head-ct" for r in by_stack[s]]
    if ours is not None and references:
        print()
        for key, name, fmt in (("val_accuracy", "val accuracy", "{:.2f}"),
                               ("val_auc", "val AUC", "{:.3f}")):
            low, high = min(r[key] for r in references), max(r[key] for r in references)
            mine = med("head-ct", key)
            verdict = "within" if low <= mine <= high else ("above" if mine > high else "below")
            print(f"{name}: head-ct median {fmt.format(mine)}, {verdict} the references' runs "
                  f"({fmt.format(low)}–{fmt.format(high)}).")
    versions = sorted({r["result"].get("version", "") for r in rows} - {""})
    if versions:
        print(f"\nReferences: {', '.join(versions)}.")


if __name__ == "__main__":
    main()
