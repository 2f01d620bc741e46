#!/usr/bin/env python3
"""Start the Rust kernel (evcxr_jupyter) for head-ct's notebooks: its own build folder, release-like
settings, nothing else changed.

Jupyter runs this for the kernel "Rust (head-ct)" that scripts/setup-notebooks.sh registers in
the repository's .venv (argv: this script, then the connection file). It

1. takes the first free *slot*, target/notebook-kernels/slot-N (N = 0, 1, ...), and holds its
   lock for the kernel's whole life: two notebooks open at once build in two folders and never
   overwrite each other's build. A new slot starts as a copy of an idle slot's build, so only
   the very first kernel on a machine compiles the dependencies from scratch;
2. gives evcxr that folder (EVCXR_TMPDIR; notebooks/evcxr.toml must not set `tmpdir`);
3. overrides, for the kernel's builds only, the `[profile.dev]` that evcxr 0.22 writes into its
   generated Cargo.toml (opt-level 2, debug assertions and overflow checks on, incremental): the
   CARGO_PROFILE_DEV_* variables below are cargo configuration, which wins over a manifest's
   profile. `cargo test` in the repository never sees them and keeps its checks;
4. replaces itself with evcxr_jupyter.

Environment: EVCXR_JUPYTER (the kernel binary; default: evcxr_jupyter on PATH, then
~/.cargo/bin), HEAD_CT_KERNEL_SLOTS (default 8), HEAD_CT_KERNEL_DIR (the folder of the slots;
default target/notebook-kernels; benches/notebook_speed.sh points it to an empty folder to time
a cold first cell), HEAD_CT_KERNEL_PROFILE=evcxr (for benchmarks only: keep evcxr's own profile,
to measure what step 3 gains).
"""

import fcntl
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SLOTS = Path(os.environ.get("HEAD_CT_KERNEL_DIR", REPO / "target" / "notebook-kernels"))

# What the command line's release build has (opt-level 3, no debug assertions, no overflow
# checks, no incremental compilation), for every crate the kernel builds: the library, dfdx,
# gemm and the rest. Incremental compilation splits a crate into many small units and costs the
# kernels their inlining.
PROFILE = {
    "CARGO_PROFILE_DEV_OPT_LEVEL": "3",
    "CARGO_PROFILE_DEV_DEBUG_ASSERTIONS": "false",
    "CARGO_PROFILE_DEV_OVERFLOW_CHECKS": "false",
    "CARGO_PROFILE_DEV_INCREMENTAL": "false",
}


def kernel_binary():
    """The evcxr_jupyter to run, or exit with a sentence."""
    named = os.environ.get("EVCXR_JUPYTER")
    if named:
        return named
    found = shutil.which("evcxr_jupyter")
    if found:
        return found
    cargo_bin = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin" / "evcxr_jupyter"
    if cargo_bin.exists():
        return str(cargo_bin)
    sys.exit("evcxr_jupyter not found: run scripts/setup-notebooks.sh first")


def take_slot(count):
    """Locks the first free slot; returns (slot folder, lock file descriptor)."""
    SLOTS.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        fd = os.open(SLOTS / f"slot-{n}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return SLOTS / f"slot-{n}", fd
    sys.exit(
        f"all {count} notebook kernel slots are in use: shut down a kernel you no longer need "
        "(Kernel > Shut Down Kernel), or set HEAD_CT_KERNEL_SLOTS higher"
    )


def seed_from_idle_slot(slot, count):
    """A slot without a build starts as a copy of an idle slot's build (one whose lock is free,
    so no kernel is building in it while it is copied)."""
    if (slot / "target").exists():
        return
    for n in range(count):
        other = SLOTS / f"slot-{n}"
        if other == slot or not (other / "target").is_dir():
            continue
        fd = os.open(SLOTS / f"slot-{n}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            partial = slot / "target.partial"
            shutil.rmtree(partial, ignore_errors=True)
            slot.mkdir(parents=True, exist_ok=True)
            shutil.copytree(other / "target", partial, symlinks=True)
            partial.rename(slot / "target")
            print(f"head-ct kernel: {slot.name} starts from the build of {other.name}",
                  file=sys.stderr)
            return
        except OSError as e:  # a copy that fails only costs a cold build
            print(f"head-ct kernel: could not copy {other.name}'s build ({e})", file=sys.stderr)
            return
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: notebook-kernel.py CONNECTION_FILE (Jupyter runs this)")
    count = int(os.environ.get("HEAD_CT_KERNEL_SLOTS", "8"))
    binary = kernel_binary()
    slot, fd = take_slot(count)
    seed_from_idle_slot(slot, count)
    slot.mkdir(parents=True, exist_ok=True)
    # The lock stays held by evcxr_jupyter, which inherits the descriptor, until it exits.
    os.set_inheritable(fd, True)
    profile = {} if os.environ.get("HEAD_CT_KERNEL_PROFILE") == "evcxr" else PROFILE
    env = dict(os.environ, EVCXR_TMPDIR=str(slot), **profile)
    os.execve(binary, [binary, "--control_file", sys.argv[1]], env)


if __name__ == "__main__":
    main()
