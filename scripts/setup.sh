#!/usr/bin/env bash
# Sets up everything gan_tutorial needs on a fresh Debian/Ubuntu machine,
# idempotently (a second run takes seconds):
#   1. checks the toolchain (Rust, a C++ compiler, Python 3 with venv),
#   2. installs PyPI's torch==2.13.0 (libtorch with headers and CUDA libs)
#      into .venv from the pinned requirements.txt,
#   3. links .venv/libtorch -> that torch, which .cargo/config.toml points
#      LIBTORCH at, so plain `cargo build/test/run` work with nothing exported,
#   4. builds the crate (release).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

missing=()
command -v cargo >/dev/null || missing+=("Rust (cargo): curl https://sh.rustup.rs -sSf | sh")
command -v c++ >/dev/null || command -v g++ >/dev/null || missing+=("a C++ compiler: sudo apt-get install build-essential")
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || missing+=("Python 3.10+: sudo apt-get install python3 python3-venv")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'setup: missing:\n' >&2; printf '  - %s\n' "${missing[@]}" >&2; exit 1
fi
command -v readelf >/dev/null || say "note: readelf (binutils) is missing; the link test needs it: sudo apt-get install binutils"

stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $("$PY" --version)"
    "$PY" -m venv .venv || die "python venv failed: sudo apt-get install python3-venv"
  fi
  say "installing torch==2.13.0 and friends into .venv (about 3 minutes, ~5 GB, first time only)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
else
  say ".venv is up to date with requirements.txt"
fi

torch_dir=$(.venv/bin/python -c 'import os, torch; print(os.path.dirname(torch.__file__))')
version=$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])')
[ "$version" = "2.13.0" ] || die "tch 0.26 needs torch 2.13.0, .venv has $version"
[ -f "$torch_dir/lib/libtorch.so" ] && [ -d "$torch_dir/include/torch" ] || die "$torch_dir has no libtorch.so or C++ headers"
if [ "$(readlink .venv/libtorch 2>/dev/null)" != "$torch_dir" ]; then
  ln -sfn "$torch_dir" .venv/libtorch
  say "linked .venv/libtorch -> $torch_dir"
fi

say "building gan_tutorial (release; the first build compiles tch's C++ wrapper, several minutes on 2 cores)"
cargo build --release --locked --all-targets
say "setup done: ./target/release/gan-tutorial --help"
