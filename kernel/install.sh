#!/usr/bin/env bash
# Installs the `gan_tutorial` kernelspec into the project's own Jupyter
# (.venv/share/jupyter/kernels/gan_tutorial), so `.venv/bin/jupyter lab` lists
# "Rust (gan_tutorial)". Idempotent. Called by scripts/setup.sh.
#
# The spec is ours, not evcxr's `rust` one: evcxr rewrites its own spec
# whenever its version.txt differs from the binary, dropping any changes. We
# take evcxr's logos and CodeMirror mode from a throw-away `--install` and
# write our own kernel.json, whose argv runs kernel/launch.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
py="$root/.venv/bin/python"
evcxr="$root/.venv/bin/evcxr_jupyter"
[ -x "$py" ] && [ -x "$evcxr" ] || { echo "kernel/install.sh: run 'make setup' first" >&2; exit 1; }

spec="$root/.venv/share/jupyter/kernels/gan_tutorial"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
JUPYTER_PATH="$scratch" "$evcxr" --install >/dev/null
mkdir -p "$spec.partial"
cp "$scratch"/kernels/rust/* "$spec.partial"/
rm -f "$spec.partial/version.txt"   # ours is never "updated" by evcxr
"$py" - "$spec.partial/kernel.json" "$here/launch.sh" <<'PY'
import json, sys
path, launcher = sys.argv[1], sys.argv[2]
spec = {
    "argv": [launcher, "--control_file", "{connection_file}"],
    "display_name": "Rust (gan_tutorial)",
    "language": "rust",
    "interrupt_mode": "message",
}
with open(path, "w") as f:
    json.dump(spec, f, indent=1)
    f.write("\n")
PY
rm -rf "$spec.old"
[ -d "$spec" ] && mv "$spec" "$spec.old"
mv "$spec.partial" "$spec"
rm -rf "$spec.old"
echo "installed kernelspec gan_tutorial -> $spec"
