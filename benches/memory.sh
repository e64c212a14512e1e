#!/usr/bin/env bash
# Peak memory of the CLI's vanilla training, and how much of it is libtorch's
# CUDA libraries (issue 17).
#
#     make bench-memory        # or: benches/memory.sh [--epochs N] [--rounds R]
#
# Three figures, each the median of R runs of
# `gan-tutorial train vanilla --epochs N` (peak RSS = VmHWM, from /usr/bin/time):
#   as built       the binary as `cargo build --release` links it: NEEDED
#                  libtorch.so, whose own NEEDED list pulls in libtorch_cuda.so
#                  and the CUDA libraries (cuBLAS, cuDNN, NCCL, ...), GPU or not;
#   CPU libraries  the same binary with a stand-in libtorch.so (built here, in
#                  a temporary directory) that needs libtorch_cpu.so only:
#                  what a `--as-needed` link would load. libtorch_cpu.so itself
#                  still needs libcudart and libcupti, so those stay;
#   per library    the resident memory of each mapped file in the middle of an
#                  as-built run (/proc/PID/smaps), largest first.
# The runs train for real (the CPU libraries run gives the same numbers); only
# what is loaded differs.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=1
ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) EPOCHS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "usage: $0 [--epochs N] [--rounds R]" >&2; exit 2 ;;
  esac
done
BIN=target/release/gan-tutorial
[ -x "$BIN" ] || { echo "no $BIN: run make setup (or cargo build --release) first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
LIB=$("$BIN" info | sed -n 's/.*"built_against": *"\([^"]*\)".*/\1/p')
[ -f "$LIB/libtorch_cpu.so" ] || { echo "cannot find libtorch_cpu.so under '$LIB'" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/stub"
echo 'int gan_tutorial_cpu_only_stub;' > "$TMP/stub/s.c"
cc -shared -fPIC -o "$TMP/stub/libtorch.so" "$TMP/stub/s.c" -Wl,--no-as-needed -L"$LIB" -ltorch_cpu -Wl,-rpath,"$LIB"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# peak_kib MODE: one run's VmHWM in KiB (MODE: built | cpu)
peak_kib() {
  local pre=()
  [ "$1" = cpu ] && pre=(env LD_LIBRARY_PATH="$TMP/stub")
  "${pre[@]}" /usr/bin/time -f '%M' -o "$TMP/time" "$BIN" train vanilla --epochs "$EPOCHS" --out "$TMP/run" --force >/dev/null 2>"$TMP/err" \
    || { cat "$TMP/err" >&2; exit 1; }
  tail -1 "$TMP/time"
}

echo "peak memory of \`gan-tutorial train vanilla --epochs $EPOCHS\`, $ROUNDS rounds (interleaved), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
cuda_loaded() { env "$@" ldd "$BIN" | grep -c 'libtorch_cuda.so' || true; }
echo "libtorch_cuda.so loaded: as built $(cuda_loaded), CPU libraries $(cuda_loaded LD_LIBRARY_PATH="$TMP/stub")"
: > "$TMP/built"; : > "$TMP/cpu"
for _ in $(seq "$ROUNDS"); do
  peak_kib built >> "$TMP/built"
  peak_kib cpu >> "$TMP/cpu"
done
B=$(median < "$TMP/built"); C=$(median < "$TMP/cpu")
awk -v b="$B" -v c="$C" -v bs="$(tr '\n' ' ' < "$TMP/built")" -v cs="$(tr '\n' ' ' < "$TMP/cpu")" 'BEGIN {
  printf "%-30s %9.0f MiB   (each round, KiB: %s)\n", "as built (libtorch_cuda too)", b / 1024, bs
  printf "%-30s %9.0f MiB   (each round, KiB: %s)\n", "CPU libraries only", c / 1024, cs
  printf "%-30s %9.0f MiB   (%.0f%% of the peak)\n", "the CUDA libraries cost", (b - c) / 1024, 100 * (b - c) / b
}'

# Resident memory per mapped file, in the middle of a run of each kind.
maps() {
  local pre=() label="as-built"
  [ "$1" = cpu ] && { pre=(env LD_LIBRARY_PATH="$TMP/stub"); label="CPU-libraries-only"; }
  "${pre[@]}" "$BIN" train vanilla --epochs "$EPOCHS" --out "$TMP/run2" --force >/dev/null 2>&1 &
  local pid=$!
  sleep 3
  if [ -r "/proc/$pid/smaps" ]; then
    echo
    echo "resident memory by mapping, 3 s into the $label run (MiB):"
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anonymous]"; n = split(name, p, "/"); name = p[n] }
         /^Rss:/ { rss[name] += $2 }
         END { for (k in rss) printf "%10.1f  %s\n", rss[k] / 1024, k }' "/proc/$pid/smaps" | sort -rn > "$TMP/maps"
    head -8 "$TMP/maps"
    awk '$2 ~ /cuda|cublas|cudnn|nccl|cufft|curand|cusparse|cufile|nvrtc|nvshmem|nvJitLink|cupti|c10_cuda/ { s += $1 } END { printf "%10.1f  all CUDA-named libraries together\n", s }' "$TMP/maps"
    awk '$2 == "[anonymous]" || $2 ~ /^\[heap\]/ { s += $1 } END { printf "%10.1f  heap and anonymous memory\n", s }' "$TMP/maps"
    awk '{ s += $1 } END { printf "%10.1f  in all\n", s }' "$TMP/maps"
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
maps built
maps cpu
