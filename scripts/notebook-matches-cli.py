#!/usr/bin/env python3
"""Does notebook 03 train exactly as the command line does? Compares the epoch lines
(`Epoch i/n - <s>s - loss: ... - val_loss: ...`) of a `head-ct train` log with those in the
outputs of an executed copy of notebook 03, trained on the same files with the same seed:

    scripts/notebook-matches-cli.py <train.log> <executed 03-train.ipynb>

Prints the median seconds per epoch of each and the ratio, and exits with 1 unless both have the
same number of epochs and the same loss, accuracy, val_loss and val_accuracy in every one (the
seconds may differ). Used by .ci/run and benches/notebook_speed.sh.
"""

import json
import re
import statistics
import sys
from pathlib import Path

LINE = re.compile(
    r"Epoch (\d+)/(\d+) - ([0-9.]+)s - loss: ([0-9.]+) - accuracy: ([0-9.]+)"
    r" - val_loss: ([0-9.]+) - val_accuracy: ([0-9.]+)"
)


def epochs(text):
    """(epoch, seconds, the four metrics as printed) per epoch line in `text`."""
    return [(int(m[1]), float(m[3]), m.group(4, 5, 6, 7)) for m in LINE.finditer(text)]


def notebook_text(path):
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    return "".join(
        "".join(o.get("text", ""))
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for o in cell.get("outputs", [])
    )


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    cli = epochs(Path(sys.argv[1]).read_text(encoding="utf-8"))
    notebook = epochs(notebook_text(sys.argv[2]))
    if not cli or not notebook:
        sys.exit(f"no epoch lines: {len(cli)} in the command line's log, {len(notebook)} in the notebook")
    cli_median = statistics.median(e[1] for e in cli)
    nb_median = statistics.median(e[1] for e in notebook)
    print(f"command line: {len(cli)} epochs, median {cli_median:.2f} s per epoch")
    print(f"notebook 03:  {len(notebook)} epochs, median {nb_median:.2f} s per epoch")
    differ = [
        f"epoch {c[0]}: command line {c[2]}, notebook {n[2]}"
        for c, n in zip(cli, notebook)
        if c[2] != n[2]
    ]
    if len(cli) != len(notebook):
        differ.insert(0, f"{len(cli)} epochs on the command line, {len(notebook)} in the notebook")
    print(f"same losses in every epoch as the command line: {'no' if differ else 'yes'}")
    for d in differ:
        print("  " + d)
    print(f"notebook/cli epoch ratio {nb_median / cli_median:.2f}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
