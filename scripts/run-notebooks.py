#!/usr/bin/env python3
"""Execute the notebooks headless with the Rust kernel (evcxr) and check what they produced.

    .venv/bin/python scripts/run-notebooks.py              # check, then run every notebook
    .venv/bin/python scripts/run-notebooks.py --check-clean # only check the committed files
    .venv/bin/python scripts/run-notebooks.py notebooks/03-train.ipynb
    .venv/bin/python scripts/run-notebooks.py --together   # all at once, one kernel each

A notebook fails when
- a cell reports an error, unless the cell is tagged `raises-exception` (a cell that shows a
  compile error on purpose); such a cell must then fail, with the text in its
  `metadata.head_ct.expect_error` if given;
- a cell panics. evcxr catches a panic and reports the cell as a success, and the panic message
  reaches the outputs only through the kernel's stderr, which is forwarded asynchronously and
  can arrive after the cell has finished. So before the notebook's own cells (right after a
  first cell of `:dep` lines, which builds the library; otherwise first) the runner executes a
  hidden cell of its own, not saved in the executed copy, that installs a panic hook in the
  kernel's process: it appends the panic's message and location to a fresh temporary file, then
  calls the previous hook. It writes before evcxr's catch_unwind returns, so before the cell's
  reply: a cell after which the file has grown panicked. A probe panic right after installing,
  and another after the last cell, prove the hook works and was still in place at the end.
  Any output containing `panicked at` fails the notebook too;
- a cell tagged `figure` shows no PNG image;
- a cell shows `()` as its result (a cell ending in a `for` or `if` block without `;`): noise
  that a learner reads as output;
- a cell runs longer than its time limit: 1200 s for the first code cell (it compiles the
  library), 300 s for every other (`--first-cell-timeout`, `--cell-timeout`; 0: no limit). The
  kernel is then killed and the next notebook runs.

Before running, every committed notebook (notebooks/*.ipynb) must be clean: no outputs and no
execution counts (clean diffs, and no pixels of the data set in the repository). Notebooks given
on the command line may lie anywhere; only those in notebooks/ are checked for that.

The executed copies go to target/notebooks-executed/ (ignored by git), for a look at what a
learner sees. The data the notebooks use follows HEAD_CT_DATA (see notebooks/README.md).
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIRST_CELL_TIMEOUT = 1200
CELL_TIMEOUT = 300
# The payload of the runner's own probe panics: the hook records it, but prints nothing.
PROBE = "head-ct runner probe"


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
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") != "head-ct":
        problems.append("the kernel is not 'head-ct' (Rust (head-ct), scripts/notebook-kernel.py)")
    return problems


def cell_label(index, cell):
    """How the messages name a cell: its index and the start of its first line."""
    first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return f"cell {index} ({first_line[:60]!r})"


def check_outputs(nb, reported=()):
    """Problems in an executed notebook's outputs, and the number of figures it showed. The cells
    in `reported` already failed the notebook (a panic the hook caught, or a time limit): their
    outputs are not searched for panics and errors again."""
    problems = []
    figures = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        outputs = cell.get("outputs", [])
        texts = [t for o in outputs for t in output_texts(o)]
        where = cell_label(index, cell)
        if index not in reported and any("panicked at" in t for t in texts):
            panic = next(t for t in texts if "panicked at" in t)
            problems.append(f"{where} panicked:\n{panic.strip()[:2000]}")
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if "raises-exception" in tags:
            expected = cell.metadata.get("head_ct", {}).get("expect_error")
            if not errors:
                problems.append(f"{where} is tagged raises-exception but did not fail")
            elif expected and not any(expected in t for t in texts):
                problems.append(f"{where} failed, but its error does not contain {expected!r}")
        elif errors and index not in reported:
            detail = "\n".join(t for o in errors for t in output_texts(o))
            problems.append(f"{where} failed:\n{detail.strip()[:2000]}")
        if any(
            o.get("output_type") == "execute_result"
            and "".join(o.get("data", {}).get("text/plain", "")).strip() == "()"
            for o in outputs
        ):
            problems.append(f"{where} shows `()` as its result: end its last block with `;`")
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


def rust_string(text):
    """`text` as a Rust string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def panic_hook_source(log_path):
    """The hidden cell that installs the panic hook, then checks it with a probe panic."""
    return f"""// head-ct's notebook runner: record every panic in {log_path.name}
{{
    let log: &'static str = {rust_string(str(log_path))};
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {{
        use std::io::Write as _;
        let probe = info.payload().downcast_ref::<&str>()
            .filter(|message| message.starts_with({rust_string(PROBE)}));
        let line = match probe {{
            Some(message) => format!("{{message}}\\n"),
            None => {{
                let thread = std::thread::current();
                format!("thread '{{}}' {{info}}\\n", thread.name().unwrap_or("<unnamed>"))
            }}
        }};
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(log) {{
            let _ = file.write_all(line.as_bytes());
            let _ = file.flush();
        }}
        if probe.is_none() {{
            previous(info);
        }}
    }}));
}}
{probe_source("installed")}"""


def probe_source(token):
    """A hidden cell whose caught panic must reach the log: the hook is (still) in place."""
    return (f"{{ let _ = std::panic::catch_unwind(|| "
            f"std::panic::panic_any({rust_string(f'{PROBE}: {token}')})); }}")


def is_dep_cell(cell):
    """A code cell of evcxr commands only (`:dep ...` and the like), with at least one `:dep`."""
    lines = [line.strip() for line in cell.source.splitlines()]
    lines = [line for line in lines if line and not line.startswith("//")]
    return (bool(lines) and all(line.startswith(":") for line in lines)
            and any(line.startswith(":dep") for line in lines))


class PanicLog:
    """The file the kernel's panic hook appends to, read from where the last look stopped."""

    def __init__(self):
        fd, name = tempfile.mkstemp(prefix="head-ct-panics-", suffix=".log")
        os.close(fd)
        self.path = Path(name)
        self.offset = 0

    def new_text(self):
        try:
            with open(self.path, "rb") as f:
                if os.fstat(f.fileno()).st_size < self.offset:
                    self.offset = 0  # deleted (a /tmp clean-up?), then created anew by the hook
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:  # deleted, and no panic since
            return ""
        self.offset += len(data)
        return data.decode("utf-8", errors="replace")

    def remove(self):
        self.path.unlink(missing_ok=True)


# Process groups of the running kernels (each kernel and evcxr's child process, which runs the
# cells, share one): killed on the way out, so that no kernel outlives the runner.
KERNEL_GROUPS = set()
KERNEL_GROUPS_LOCK = threading.Lock()
PANIC_LOGS = set()  # and their panic logs, removed then too


def kill_group(pgid):
    if not pgid or pgid <= 1 or pgid == os.getpgrp():
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_on_signal(signum, frame):
    """SIGTERM stops the runner as Ctrl-C does: it kills its kernels on the way out."""
    raise KeyboardInterrupt(f"signal {signum}")


def kill_all_kernels():
    with KERNEL_GROUPS_LOCK:
        groups = list(KERNEL_GROUPS)
        KERNEL_GROUPS.clear()
        logs = list(PANIC_LOGS)
        PANIC_LOGS.clear()
    for pgid in groups:
        kill_group(pgid)
    for log in logs:
        log.remove()


class HookFailed(Exception):
    """The runner's panic hook could not be installed or was lost."""


async def run_hidden(client, source, timeout):
    """Executes a cell of the runner's own, which is not left in the notebook; raises
    CellExecutionError when it fails."""
    import nbformat

    cell = nbformat.v4.new_code_cell(source)
    client.nb.cells.append(cell)
    client.timeout = timeout
    try:
        await client.async_execute_cell(cell, len(client.nb.cells) - 1, store_history=False)
    finally:
        client.nb.cells.remove(cell)


async def install_panic_hook(client, log, timeout):
    from nbclient.exceptions import CellExecutionError

    try:
        await run_hidden(client, panic_hook_source(log.path), timeout)
    except CellExecutionError as e:
        raise HookFailed(f"the runner's panic hook cell failed, so panics could go unnoticed; "
                         f"not running the notebook:\n{str(e).strip()[:2000]}") from None
    text = log.new_text()
    if f"{PROBE}: installed" not in text:
        raise HookFailed(f"the runner's panic hook did not record its probe panic in {log.path}, "
                         f"so panics could go unnoticed; not running the notebook")


async def execute(path, nb, first_cell_timeout, cell_timeout):
    """Runs the notebook `nb` in a kernel of its own. Returns (problems, the cells these already
    name, crash message or None, timings of the cells by index)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbclient.util import ensure_async

    client = NotebookClient(
        nb,
        kernel_name="head-ct",
        timeout=cell_timeout,
        startup_timeout=600,
        resources={"metadata": {"path": str(path.parent)}},
    )
    problems, reported, timings = [], set(), {}
    crashed = None
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    hook_after = code_cells[0] if code_cells and is_dep_cell(nb.cells[code_cells[0]]) else None
    log = PanicLog()
    with KERNEL_GROUPS_LOCK:
        PANIC_LOGS.add(log)
    graceful = False  # shut the kernel down politely, or kill it
    pgid = None
    where = "the kernel's start"
    try:
        client.km = client.create_kernel_manager()
        await client.async_start_new_kernel()
        pgid = getattr(client.km.provisioner, "pgid", None)
        if pgid:
            with KERNEL_GROUPS_LOCK:
                KERNEL_GROUPS.add(pgid)
        await client.async_start_new_kernel_client()
        client.timeout = first_cell_timeout
        info = await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
        if info is not None and "language_info" in info["content"]:
            nb.metadata["language_info"] = info["content"]["language_info"]

        if hook_after is None:
            where = "the runner's panic hook cell"
            await install_panic_hook(client, log, first_cell_timeout)
        count = 0
        finished, timed_out = True, False
        for index in code_cells:
            cell = nb.cells[index]
            where = cell_label(index, cell)
            limit = first_cell_timeout if index == code_cells[0] else cell_timeout
            count += 1
            started = time.monotonic()
            client.timeout = limit
            try:
                await client.async_execute_cell(cell, index, execution_count=count)
            except CellTimeoutError:
                problems.append(f"{where} did not finish within {limit} s")
                reported.add(index)  # killing the kernel adds an error to its outputs
                finished = False
                timed_out = True
            except CellExecutionError as e:  # check_outputs reports it from the outputs
                crashed = str(e)
                finished = False
            finally:
                timings[index] = time.monotonic() - started
            panic = log.new_text().strip()
            if panic:
                problems.append(f"{where} panicked:\n{panic[:2000]}")
                reported.add(index)
                finished = False
            if not finished:
                break
            if index == hook_after:
                where = "the runner's panic hook cell"
                await install_panic_hook(client, log, cell_timeout)
        if finished:
            where = "the runner's closing probe panic"
            await run_hidden(client, probe_source("still there"), cell_timeout)
            text = log.new_text()
            rest = "\n".join(line for line in text.splitlines() if not line.startswith(PROBE))
            if rest.strip():
                problems.append(f"a panic after the last cell:\n{rest.strip()[:2000]}")
            if f"{PROBE}: still there" not in text:
                raise HookFailed("the runner's panic hook was gone after the last cell (did the "
                                 "kernel restart its process?), so a panic may have gone unnoticed")
        graceful = not timed_out
    except HookFailed as e:
        problems.append(str(e))
    except CellTimeoutError:
        problems.append(f"{where} did not finish within {client.timeout} s")
    except DeadKernelError:
        problems.append(f"the kernel died during {where}")
    except Exception as e:  # the kernel did not start, or died: say so, keep the others going
        problems.append(f"{where}: {type(e).__name__}: {e}".strip()[:3000])
    finally:
        # A kernel that timed out or failed is killed (its process group, with the child process
        # evcxr runs the cells in), not asked to shut down; the group is killed in any case, in
        # case something of it outlived a polite shutdown.
        client.shutdown_kernel = "graceful" if graceful else "immediate"
        try:
            if client.km is not None:
                await client._async_cleanup_kernel()
        except Exception as e:
            print(f"   (shutting down the kernel of {path.name}: {type(e).__name__}: {e})",
                  file=sys.stderr)
        if pgid:
            kill_group(pgid)  # whatever of it is left
            with KERNEL_GROUPS_LOCK:
                KERNEL_GROUPS.discard(pgid)
        log.remove()
        with KERNEL_GROUPS_LOCK:
            PANIC_LOGS.discard(log)
    return problems, reported, crashed, timings


def run(path, out_dir, first_cell_timeout, cell_timeout):
    """Executes one notebook and checks it; returns (problems, figures, total s, first cell s)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    t0 = time.monotonic()
    problems, reported, crashed, timings = asyncio.run(
        execute(path, nb, first_cell_timeout, cell_timeout))
    total = time.monotonic() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    output_problems, figures = check_outputs(nb, reported)
    problems += output_problems
    if crashed and not problems:
        problems.append(crashed.strip()[:3000])
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    first = timings.get(code_cells[0]) if code_cells else None
    return problems, figures, total, first


def report(result):
    """The lines for one notebook: its problems, then its times."""
    problems, figures, total, first = result
    first_text = f"{first:.1f} s" if first is not None else "-"
    for problem in problems:
        print(f"   FAIL {problem}", flush=True)
    print(f"   {total:.1f} s in all, first cell {first_text}, {figures} figure(s)", flush=True)


def run_together(paths, shown, run_one):
    """Runs every notebook at once, one thread (and kernel) each; reports each as it finishes."""
    results = {}
    print_lock = threading.Lock()

    def work(path):
        try:
            result = run_one(path)
        except Exception as e:  # a bug here must not hang the others
            result = ([f"the runner failed: {type(e).__name__}: {e}"], 0, 0.0, None)
        results[path] = result
        with print_lock:
            print(f"== {shown(path)} finished", flush=True)
            report(result)

    threads = [threading.Thread(target=work, args=(p,), daemon=True) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)
    return [results[p] for p in paths]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--check-clean", action="store_true", help="only check for outputs")
    parser.add_argument("--out", type=Path, default=REPO / "target" / "notebooks-executed")
    parser.add_argument("--first-cell-timeout", type=int, default=FIRST_CELL_TIMEOUT,
                        help="seconds the first code cell (it compiles the library) may take "
                        f"(default {FIRST_CELL_TIMEOUT}; 0: no limit)")
    parser.add_argument("--cell-timeout", type=int, default=CELL_TIMEOUT,
                        help=f"seconds every other cell may take (default {CELL_TIMEOUT}; "
                        "0: no limit)")
    parser.add_argument("--together", action="store_true",
                        help="run the notebooks at the same time, one kernel each")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_signal)

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

    def shown(path):
        return path.relative_to(REPO) if path.is_relative_to(REPO) else path

    def run_one(path):
        return run(path, args.out, args.first_cell_timeout, args.cell_timeout)

    try:
        if args.together:
            names = ", ".join(str(shown(p)) for p in paths)
            print(f"== running {len(paths)} notebook(s) together: {names}", flush=True)
            results = run_together(paths, shown, run_one)
        else:
            results = []
            for path in paths:
                print(f"== running {shown(path)}", flush=True)
                results.append(run_one(path))
                report(results[-1])
    except KeyboardInterrupt:
        kill_all_kernels()  # no kernel may outlive the runner
        print("interrupted: the kernels were stopped", file=sys.stderr)
        return 130

    passed = sum(1 for problems, *_ in results if not problems)
    failed = len(results) - passed
    print(f"\nexecuted copies: {args.out}")
    print(f"{'notebook':32} {'total':>9} {'first cell':>11} {'figures':>8}  result")
    for path, (problems, figures, total, first) in zip(paths, results):
        first_text = f"{first:.1f} s" if first is not None else "-"
        result = "ok" if not problems else "FAILED"
        print(f"{path.name:32} {total:8.1f}s {first_text:>11} {figures:>8}  {result}")
    print(f"notebooks: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
