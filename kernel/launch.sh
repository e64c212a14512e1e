#!/usr/bin/env bash
# The gan_tutorial Jupyter kernel: evcxr_jupyter with the project's libtorch.
#
# Jupyter starts this script through the kernelspec that kernel/install.sh
# writes (argv: launch.sh --control_file {connection_file}). It
#   - points builds at the project's libtorch (LIBTORCH, LIBRARY_PATH so that
#     the notebooks' `-Clink-arg=-ltorch` resolves) and lets cells load it
#     (LD_LIBRARY_PATH);
#   - gives the kernel its own persistent evcxr build directory (a "slot"),
#     held with flock for the kernel's lifetime: a new kernel reuses a warm
#     slot (`:dep gan_tutorial` in seconds), two kernels running at once never
#     share one. A new slot starts as a copy of a warm one when one exists;
#   - reads kernel/config (or kernel/config-strict when GAN_TUTORIAL_STRICT=1,
#     as the notebook tests set: a panic then fails its cell).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
die() { printf 'gan_tutorial kernel: %s\n' "$*" >&2; exit 1; }

torch="$root/.venv/libtorch"
evcxr="$root/.venv/bin/evcxr_jupyter"
[ -d "$torch/lib" ] || die "$torch is missing: run 'make setup' in $root"
[ -x "$evcxr" ] || die "$evcxr is missing: run 'make setup' in $root"

export LIBTORCH="$torch"
export LIBRARY_PATH="$torch/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$torch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GAN_TUTORIAL_ROOT="$root"

if [ "${GAN_TUTORIAL_STRICT:-0}" = 1 ]; then
  export EVCXR_CONFIG_DIR="$here/config-strict"
else
  export EVCXR_CONFIG_DIR="$here/config"
fi

slots="${GAN_TUTORIAL_EVCXR_SLOTS:-$root/target/evcxr}"
mkdir -p "$slots"
slot=
for i in $(seq 0 31); do
  exec 9>"$slots/slot-$i.lock"
  if flock -n 9; then slot="$slots/slot-$i"; break; fi
  exec 9>&-
done
[ -n "$slot" ] || die "all 32 build slots in $slots are in use: close a notebook's kernel"

# A new slot starts as a copy of the most recently used warm one, so that a
# second kernel does not rebuild tch and libtorch's wrapper (minutes). A slot
# never built starts from the project's Cargo.lock: the kernel compiles the
# same dependency versions as `cargo build --locked`.
if [ ! -d "$slot" ]; then
  warm=$(ls -1td "$slots"/slot-*/target 2>/dev/null | grep -v '\.partial/target$' | head -n 1 || true)
  if [ -n "$warm" ]; then
    rm -rf "$slot.partial"
    if cp -a "$(dirname "$warm")" "$slot.partial"; then
      mv "$slot.partial" "$slot"
    else
      rm -rf "$slot.partial"
      echo "gan_tutorial kernel: could not copy $warm; this kernel builds its dependencies afresh" >&2
    fi
  fi
fi
mkdir -p "$slot"
[ -f "$slot/Cargo.lock" ] || cp "$root/Cargo.lock" "$slot/Cargo.lock"
export EVCXR_TMPDIR="$slot"
exec "$evcxr" "$@"
