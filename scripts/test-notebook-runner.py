#!/usr/bin/env python3
"""Checks scripts/run-notebooks.py itself, on throwaway notebooks (no `:dep`, so they compile in
seconds) written into a temporary folder:

    .venv/bin/python scripts/test-notebook-runner.py

a. a notebook whose last cell panics fails, naming that cell: 20 runs out of 20 (evcxr reports
   a panicking cell as a success, and its panic message may reach the outputs too late);
b. a cell that hangs fails the notebook within about a minute with `--cell-timeout 20`, naming
   the cell, and leaves no kernel behind;
c. two ordinary notebooks pass with `--together`, and their executed copies hold only their own
   cells (not the runner's hidden one);
d. a panic inside a spawned thread, joined with `.join().unwrap()`, is caught;
e. a notebook that replaces the panic hook with its own fails: the runner's closing probe sees
   that the hook is gone;
f. a cell that shows `()` as its result (a trailing `for` block) fails, and the same cell
   ending in `};` passes.

Prints one line per check and the total time; exits with 0 only if every check passed. Needs
the kernel "head-ct" (scripts/setup-notebooks.sh).
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNNER = REPO / "scripts" / "run-notebooks.py"
PANIC_RUNS = 20


def write_notebook(folder, name, cells):
    """A notebook of code cells, with the metadata of the committed notebooks."""
    metadata = json.loads((REPO / "notebooks" / "01-explore-data.ipynb").read_text())["metadata"]
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {},
             "outputs": [], "source": source}
            for i, source in enumerate(cells)
        ],
        "metadata": metadata,
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = folder / name
    path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
    return path


KERNELS = Path(tempfile.gettempdir())  # set by main() to a folder of the test's own


def run_runner(args, limit=900):
    """Runs the runner; returns (exit code, stdout and stderr, seconds). After `limit` seconds
    it is interrupted (Ctrl-C, so that it kills its kernels), then killed."""
    started = time.monotonic()
    # The throwaway kernels build in slots of their own, not in the repository's
    # target/notebook-kernels, whose builds the real notebooks reuse.
    env = dict(os.environ, HEAD_CT_KERNEL_DIR=str(KERNELS))
    proc = subprocess.Popen([sys.executable, str(RUNNER), *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            # Ctrl-C must reach it even when this script runs in the background
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        out, _ = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        out += f"\n[test: the runner was stopped after {limit} s]"
    return proc.returncode, out, time.monotonic() - started


def processes_in(folder):
    """Processes (pid, command) whose working folder lies in `folder`: kernels started for the
    notebooks there (a kernel starts in its notebook's folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if cwd == str(folder) or cwd.startswith(str(folder) + os.sep):
            found.append((int(entry.name), cmd))
    return found


def label(index, source):
    """How the runner names a cell."""
    first_line = source.strip().splitlines()[0]
    return f"cell {index} ({first_line[:60]!r})"


def tail(text, lines=25):
    return "\n".join("      " + line for line in text.strip().splitlines()[-lines:])


class Checks:
    def __init__(self):
        self.results = []

    def report(self, name, ok, detail, output=None):
        self.results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if not ok and output:
            print(tail(output), flush=True)


def check_panics(checks, folder):
    cells = ['println!("before the panic");', 'panic!("on purpose");']
    path = write_notebook(folder, "panic-last-cell.ipynb", cells)
    out_dir = folder / "executed-panic"
    where = label(1, cells[1])
    caught, in_outputs, times, failures = 0, 0, [], []
    for _ in range(PANIC_RUNS):
        code, output, seconds = run_runner(["--out", out_dir, path])
        times.append(seconds)
        if code != 0 and f"FAIL {where} panicked" in output and "on purpose" in output:
            caught += 1
        else:
            failures.append(output)
        executed = out_dir / path.name
        if executed.exists():
            cell = json.loads(executed.read_text())["cells"][1]
            texts = json.dumps(cell.get("outputs", []))
            in_outputs += "panicked at" in texts
    checks.report(
        "a. last cell panics",
        caught == PANIC_RUNS,
        f"caught {caught} of {PANIC_RUNS} runs, naming {where} (the panic reached the cell's "
        f"outputs in {in_outputs} of them; {min(times):.1f}-{max(times):.1f} s per run)",
        failures[0] if failures else None,
    )


def check_timeout(checks, folder):
    cells = ['println!("before the hang");',
             "std::thread::sleep(std::time::Duration::from_secs(3600));",
             'println!("never");']
    path = write_notebook(folder, "hang.ipynb", cells)
    code, output, seconds = run_runner(["--out", folder / "executed-hang", "--cell-timeout", "20",
                                        path], limit=300)
    where = label(1, cells[1])
    named = f"FAIL {where} did not finish within 20 s" in output
    time.sleep(1)
    left = processes_in(folder)
    ok = code != 0 and named and seconds <= 75 and not left
    detail = (f"failed after {seconds:.1f} s (limit 75 s), "
              f"{'naming' if named else 'NOT naming'} {where} and the 20 s limit; "
              f"{len(left)} kernel process(es) left")
    if left:
        detail += ": " + "; ".join(f"{pid} {cmd[:80]}" for pid, cmd in left)
        for pid, _ in left:  # leave nothing behind either way
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    checks.report("b. hanging cell, --cell-timeout 20", ok, detail, output)


def check_together(checks, folder):
    sources = {
        "plain-one.ipynb": ['println!("hello from one");', "let answer = 6 * 7;",
                            'println!("one says {answer}");'],
        "plain-two.ipynb": ['println!("hello from two");', 'let word = "two";',
                            'println!("{word} is done");'],
    }
    paths = [write_notebook(folder, name, cells) for name, cells in sources.items()]
    out_dir = folder / "executed-together"
    code, output, seconds = run_runner(["--together", "--out", out_dir, *paths])
    problems = []
    if code != 0:
        problems.append(f"exit code {code}")
    if "notebooks: 2 passed, 0 failed" not in output:
        problems.append("no 'notebooks: 2 passed, 0 failed'")
    totals = [float(m.group(1)) for m in re.finditer(r"^plain-\w+\.ipynb\s+([\d.]+)s .* ok$",
                                                     output, re.M)]
    if len(totals) != 2:
        problems.append("the table does not show both as ok")
    for name, cells in sources.items():
        executed = out_dir / name
        if not executed.exists():
            problems.append(f"no executed copy of {name}")
            continue
        nb = json.loads(executed.read_text())
        counts = [c.get("execution_count") for c in nb["cells"]]
        if [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                for c in nb["cells"]] != cells or counts != list(range(1, len(cells) + 1)):
            problems.append(f"{name}: executed copy has cells {counts}, not just its own")
        text = json.dumps(nb["cells"])
        expected = "one says 42" if "one" in name else "two is done"
        if expected not in text:
            problems.append(f"{name}: {expected!r} not in the outputs")
    overlap = f"{seconds:.1f} s for both, {' + '.join(f'{t:.1f}' for t in totals)} s each"
    if len(totals) == 2 and seconds >= sum(totals):
        problems.append(f"they did not run at the same time ({overlap})")
    checks.report("c. two plain notebooks, --together", not problems,
                  "both passed, " + overlap if not problems else "; ".join(problems), output)


def check_thread_panic(checks, folder):
    cells = ['println!("before the thread");',
             'std::thread::spawn(|| panic!("in a thread")).join().unwrap();']
    path = write_notebook(folder, "thread-panic.ipynb", cells)
    code, output, seconds = run_runner(["--out", folder / "executed-thread", path])
    where = label(1, cells[1])
    ok = code != 0 and f"FAIL {where} panicked" in output and "in a thread" in output
    checks.report("d. panic in a joined thread", ok,
                  f"{'caught' if ok else 'NOT caught'}, naming {where} ({seconds:.1f} s)", output)


def check_hook_replaced(checks, folder):
    cells = ['println!("before");', "std::panic::set_hook(Box::new(|_| {}));",
             'panic!("unseen");']
    path = write_notebook(folder, "hook-replaced.ipynb", cells)
    code, output, seconds = run_runner(["--out", folder / "executed-hook", path])
    ok = code != 0 and "panic hook was gone" in output
    checks.report("e. notebook replaces the panic hook", ok,
                  f"{'failed' if ok else 'did NOT fail'} with 'the panic hook was gone' "
                  f"({seconds:.1f} s)", output)


def check_unit_result(checks, folder):
    block = 'for i in 0..2 {\n    println!("line {i}");\n}'
    noisy = write_notebook(folder, "unit-result.ipynb", ['println!("start");', block])
    quiet = write_notebook(folder, "unit-quiet.ipynb", ['println!("start");', block + ";"])
    code, output, seconds = run_runner(["--out", folder / "executed-unit", noisy])
    where = label(1, block)
    noisy_ok = code != 0 and f"{where} shows `()`" in output
    code_quiet, output_quiet, _ = run_runner(["--out", folder / "executed-unit", quiet])
    ok = noisy_ok and code_quiet == 0
    checks.report("f. a cell showing `()`", ok,
                  f"trailing block {'failed' if noisy_ok else 'did NOT fail'}, with `;` "
                  f"{'passed' if code_quiet == 0 else 'FAILED'} ({seconds:.1f} s)",
                  output if not noisy_ok else output_quiet)


def main():
    started = time.monotonic()
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="head-ct-runner-test-") as tmp:
        folder = Path(tmp).resolve()
        global KERNELS
        KERNELS = folder / "kernels"
        for check in (check_panics, check_timeout, check_together, check_thread_panic,
                      check_hook_replaced, check_unit_result):
            try:
                check(checks, folder)
            except Exception as e:  # a broken check fails, the others still run
                checks.report(check.__name__, False, f"{type(e).__name__}: {e}")
        left = processes_in(folder)
        checks.report("no kernel left running", not left,
                      f"{len(left)} process(es) started in the test folder still running"
                      + "".join(f"; {pid} {cmd[:80]}" for pid, cmd in left))
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    passed = sum(checks.results)
    failed = len(checks.results) - passed
    print(f"total time: {time.monotonic() - started:.0f} s")
    print(f"runner checks: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
