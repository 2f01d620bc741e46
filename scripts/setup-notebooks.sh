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
# evcxr 0.22 declares rust-version 1.95: an older compiler fails deep inside `cargo install`.
rust_needed="1.95"
venv="${HEAD_CT_VENV:-.venv}"
python="${PYTHON:-python3}"

# 1. The Rust kernel. Building it from source takes 11-35 minutes on a 2-core machine, once.
# (evcxr_jupyter has no --version flag: ask cargo which version it installed.)
# (No `cargo install --list | grep -q`: under pipefail, grep leaving at its first match can kill
# the writer with a closed pipe and fail the test exactly when the answer is yes. Capture first.)
installed="$(cargo install --list 2>/dev/null || true)"
if command -v evcxr_jupyter >/dev/null && [[ $'\n'"$installed" == *$'\n'"evcxr_jupyter v$evcxr_version:"* ]]; then
  echo "== evcxr_jupyter $evcxr_version is installed: $(command -v evcxr_jupyter)"
else
  command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs first" >&2; exit 1; }
  rust_have="$(rustc --version | awk '{print $2}')"
  oldest="$(printf '%s\n%s\n' "$rust_needed" "$rust_have" | sort -V)"
  if [ "${oldest%%$'\n'*}" != "$rust_needed" ]; then
    echo "the notebook kernel (evcxr_jupyter $evcxr_version) needs Rust $rust_needed or newer; this is Rust $rust_have." >&2
    echo "Update it with:  rustup update stable   (then run this script again)" >&2
    exit 1
  fi
  echo "== installing evcxr_jupyter $evcxr_version (cargo install --locked; 11-35 minutes on 2 cores, once)"
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

# 3. Register the kernel "Rust (head-ct)" in the virtual environment: scripts/notebook-kernel.py
# gives each running notebook its own build folder and the release settings (see its docs).
kernel_dir="$venv/share/jupyter/kernels/head-ct"
mkdir -p "$kernel_dir"
venv_abs="$(cd "$venv" && pwd)"
cat > "$kernel_dir/kernel.json" <<JSON
{
  "argv": ["$venv_abs/bin/python", "$(pwd)/scripts/notebook-kernel.py", "{connection_file}"],
  "display_name": "Rust (head-ct)",
  "language": "rust",
  "interrupt_mode": "message"
}
JSON
# Ask Jupyter for the kernel by name (its own query; no `kernelspec list | grep -q`).
found="$("$venv/bin/python" -c 'from jupyter_client.kernelspec import KernelSpecManager as M
print(M().get_kernel_spec("head-ct").resource_dir)' 2>/dev/null || true)"
[ "$found" = "$(cd "$kernel_dir" && pwd)" ] || {
  echo "the kernel did not register: Jupyter finds head-ct at '${found:-nowhere}', not $kernel_dir" >&2; exit 1; }
echo "== the kernel \"Rust (head-ct)\" is registered in $venv"
echo
echo "Start JupyterLab on the notebooks with:"
echo "  $venv/bin/jupyter lab notebooks/"
