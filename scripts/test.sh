#!/usr/bin/env bash
# `make test`: every test, on a machine in any state (a fresh one included).
#   1. scripts/setup.sh: the venv with libtorch and the release build (what
#      the Rust tests need);
#   2. the Rust tests (`cargo test --release --locked`).
#   On a machine with no copy of evcxr_jupyter yet, its build (11-15 minutes
#   of compiling on 2 cores) starts first and runs in the background beside 1
#   and 2: neither needs it, and pip's downloads, the single-threaded C++
#   wrapper, linking and the tests' process start-ups leave a core free;
#   3. scripts/setup.sh kernel: the notebook kernel (waits for that build);
#   4. the notebook tests (nbval, strict), then the rendered lecture's tests.
# Each stage says how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '==> %s\n' "$*"; }
stage() { say "$1 took $(( SECONDS - $2 )) s"; }

evcxr_pid=
if ! ./scripts/setup.sh evcxr-cached >/dev/null 2>&1; then
  mkdir -p build/setup
  say "building evcxr_jupyter in the background, beside the set-up and the Rust tests (log: build/setup/evcxr_jupyter.log)"
  setsid ./scripts/setup.sh evcxr >build/setup/evcxr_jupyter.log 2>&1 &
  evcxr_pid=$!
  trap '[ -n "$evcxr_pid" ] && kill -- -"$evcxr_pid" 2>/dev/null; true' EXIT
fi

t=$SECONDS
./scripts/setup.sh
stage "set-up for the Rust tests" "$t"

# libtorch's OpenMP threads spin while they wait for work by default. cargo
# test runs tests on parallel threads, each with libtorch's own threads, and
# here beside a compiler: spinning threads then take the cores from the ones
# with work. Measured on this 2-core VM beside the evcxr_jupyter build: the
# library's unit tests took 100-168 s spinning, 16-18 s passive (4.7 s quiet).
t=$SECONDS
OMP_WAIT_POLICY=passive cargo test --release --locked
stage "the Rust tests" "$t"

if [ -n "$evcxr_pid" ]; then
  t=$SECONDS
  wait "$evcxr_pid" || { evcxr_pid=; tail -n 30 build/setup/evcxr_jupyter.log >&2; echo "test: building evcxr_jupyter failed (build/setup/evcxr_jupyter.log)" >&2; exit 1; }
  evcxr_pid=
  tail -n 1 build/setup/evcxr_jupyter.log
  stage "waiting for evcxr_jupyter after the Rust tests" "$t"
fi

t=$SECONDS
./scripts/setup.sh kernel
stage "the notebook kernel's set-up" "$t"

t=$SECONDS
GAN_TUTORIAL_NOTEBOOK_MODE=quick .venv/bin/pytest
stage "the notebook and lecture tests" "$t"
