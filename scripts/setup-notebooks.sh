#!/usr/bin/env bash
# One-time set-up for the notebooks: the Rust Jupyter kernel (evcxr), JupyterLab in a virtual
# environment, and the kernel registered with Jupyter. Safe to run again: it skips what is there.
#
#   scripts/setup-notebooks.sh          # then: .venv/bin/jupyter lab notebooks/
#
# Environment: HEAD_CT_VENV (default .venv in the repository), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

evcxr_version="0.22.0"
venv="${HEAD_CT_VENV:-.venv}"
python="${PYTHON:-python3}"

# 1. The Rust kernel. Building it from source takes 20-35 minutes on a 2-core machine, once.
# (evcxr_jupyter has no --version flag: ask cargo which version it installed.)
if command -v evcxr_jupyter >/dev/null && cargo install --list 2>/dev/null | grep -q "^evcxr_jupyter v$evcxr_version:"; then
  echo "== evcxr_jupyter $evcxr_version is installed: $(command -v evcxr_jupyter)"
else
  command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs first" >&2; exit 1; }
  echo "== installing evcxr_jupyter $evcxr_version (cargo install --locked; 20-35 minutes on 2 cores, once)"
  cargo install evcxr_jupyter --version "$evcxr_version" --locked
fi
# cargo install puts it into ~/.cargo/bin, which a fresh shell may not have on PATH yet.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# 2. JupyterLab and the headless runner, in a virtual environment of the repository.
command -v "$python" >/dev/null || { echo "$python not found: install Python 3.9 or newer" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
  echo "== creating the virtual environment $venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r notebooks/requirements.txt
echo "== JupyterLab $("$venv/bin/jupyter-lab" --version) in $venv"

# 3. Register the kernel ("Rust") with Jupyter, for this user.
evcxr_jupyter --install >/dev/null
"$venv/bin/jupyter" kernelspec list | grep -q '^ *rust ' || {
  echo "the Rust kernel did not register: 'jupyter kernelspec list' does not show it" >&2; exit 1; }
echo "== the Rust kernel is registered"
echo
echo "Start JupyterLab on the notebooks with:"
echo "  $venv/bin/jupyter lab notebooks/"
