#!/usr/bin/env python3
"""Execute the notebooks headless with the Rust kernel (evcxr) and check what they produced.

    .venv/bin/python scripts/run-notebooks.py              # check, then run every notebook
    .venv/bin/python scripts/run-notebooks.py --check-clean # only check the committed files
    .venv/bin/python scripts/run-notebooks.py notebooks/03-train.ipynb

A notebook fails when
- a cell reports an error, unless the cell is tagged `raises-exception` (a cell that shows a
  compile error on purpose); such a cell must then fail, with the text in its
  `metadata.head_ct.expect_error` if given;
- any output contains `panicked at`: evcxr catches a panic and reports the cell as a success, so
  the kernel's status alone would miss it;
- a cell tagged `figure` shows no PNG image.

Before running, every committed notebook must be clean: no outputs and no execution counts
(clean diffs, and no pixels of the data set in the repository).

The executed copies go to target/notebooks-executed/ (ignored by git), for a look at what a
learner sees. The data the notebooks use follows HEAD_CT_DATA (see notebooks/README.md).
"""

import argparse
import base64
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def output_texts(output):
    """Every piece of text in one cell output, for the panic search."""
    kind = output.get("output_type")
    if kind == "stream":
        yield "".join(output.get("text", ""))
    elif kind == "error":
        yield output.get("ename", "")
        yield output.get("evalue", "")
        yield "\n".join(output.get("traceback", []))
    elif kind in ("display_data", "execute_result"):
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/"):
                yield "".join(value) if isinstance(value, list) else str(value)


def check_clean(path):
    """Problems that make a committed notebook unclean (empty list when clean)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index} has an execution count")
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") != "rust":
        problems.append("the kernel is not 'rust' (evcxr)")
    return problems


def check_outputs(nb):
    """Problems in an executed notebook's outputs, and the number of figures it showed."""
    problems = []
    figures = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        outputs = cell.get("outputs", [])
        texts = [t for o in outputs for t in output_texts(o)]
        first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        where = f"cell {index} ({first_line[:60]!r})"
        if any("panicked at" in t for t in texts):
            panic = next(t for t in texts if "panicked at" in t)
            problems.append(f"{where} panicked:\n{panic.strip()[:2000]}")
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if "raises-exception" in tags:
            expected = cell.metadata.get("head_ct", {}).get("expect_error")
            if not errors:
                problems.append(f"{where} is tagged raises-exception but did not fail")
            elif expected and not any(expected in t for t in texts):
                problems.append(f"{where} failed, but its error does not contain {expected!r}")
        elif errors:
            detail = "\n".join(t for o in errors for t in output_texts(o))
            problems.append(f"{where} failed:\n{detail.strip()[:2000]}")
        pngs = [
            o["data"]["image/png"]
            for o in outputs
            if o.get("output_type") in ("display_data", "execute_result")
            and "image/png" in o.get("data", {})
        ]
        valid = [p for p in pngs if base64.b64decode(p).startswith(PNG_SIGNATURE)]
        figures += len(valid)
        if "figure" in tags and not valid:
            problems.append(f"{where} is tagged figure but showed no PNG image")
    return problems, figures


def run(path, out_dir, cell_timeout):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    timings = {}
    started = {}

    def on_start(cell, cell_index):
        started[cell_index] = time.monotonic()

    def on_done(cell, cell_index, execute_reply):
        timings[cell_index] = time.monotonic() - started.get(cell_index, time.monotonic())

    client = NotebookClient(
        nb,
        kernel_name="rust",
        timeout=cell_timeout,
        startup_timeout=600,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=on_start,
        on_cell_executed=on_done,
    )
    t0 = time.monotonic()
    crashed = None
    try:
        client.execute()
    except CellExecutionError as e:
        crashed = str(e)
    except Exception as e:  # the kernel died or timed out: say so, keep the other notebooks going
        crashed = f"{type(e).__name__}: {e}"
    total = time.monotonic() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    problems, figures = check_outputs(nb)
    if crashed and not problems:
        problems.append(crashed.strip()[:3000])
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    first = timings.get(code_cells[0]) if code_cells else None
    return problems, figures, total, first


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--check-clean", action="store_true", help="only check for outputs")
    parser.add_argument("--out", type=Path, default=REPO / "target" / "notebooks-executed")
    parser.add_argument("--cell-timeout", type=int, default=3600,
                        help="seconds one cell may take (the first compiles the library)")
    args = parser.parse_args()

    paths = [p.resolve() for p in args.notebooks] or sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks found in {NOTEBOOKS}", file=sys.stderr)
        return 1
    unclean = {p: check_clean(p) for p in sorted(NOTEBOOKS.glob("*.ipynb"))}
    unclean = {p: problems for p, problems in unclean.items() if problems}
    for p, problems in unclean.items():
        print(f"{p.relative_to(REPO)} is not clean: {'; '.join(problems)}", file=sys.stderr)
    if unclean:
        print("Clear the outputs before committing (JupyterLab: Edit > Clear Outputs of All "
              "Cells, then save).", file=sys.stderr)
        return 1
    print(f"== the {len(list(NOTEBOOKS.glob('*.ipynb')))} committed notebooks are clean (no outputs)")
    if args.check_clean:
        return 0

    passed, failed = 0, 0
    rows = []
    for path in paths:
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        print(f"== running {shown}", flush=True)
        problems, figures, total, first = run(path, args.out, args.cell_timeout)
        first_text = f"{first:.1f} s" if first is not None else "-"
        rows.append((path.name, total, first_text, figures, "ok" if not problems else "FAILED"))
        if problems:
            failed += 1
            for problem in problems:
                print(f"   FAIL {problem}", flush=True)
        else:
            passed += 1
        print(f"   {total:.1f} s in all, first cell {first_text}, {figures} figure(s)", flush=True)
    print(f"\nexecuted copies: {args.out}")
    print(f"{'notebook':32} {'total':>9} {'first cell':>11} {'figures':>8}  result")
    for name, total, first_text, figures, result in rows:
        print(f"{name:32} {total:8.1f}s {first_text:>11} {figures:>8}  {result}")
    print(f"notebooks: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
