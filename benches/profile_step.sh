#!/usr/bin/env bash
# Where the CLI's vanilla training step spends its time (issue 17): a profile
# of `gan-tutorial train vanilla --steps N`, split into GEMM, the other ATen
# kernels, autograd, dispatch, the allocator, Adam and the crate's own code.
#
#     make bench-profile                 # or: benches/profile_step.sh [--steps N] [--tool perf|callgrind]
#
# --tool perf (default): `perf record -e cpu-clock` (software clock samples:
#   this works in VMs without hardware counters) over the whole process,
#   start-up included; every thread counts. Needs Debian's linux-perf.
# --tool callgrind: instruction counts (load-independent), collected only
#   inside update_d and update_g (the step itself, no start-up or data
#   loading); valgrind is slow here (libtorch's start-up alone takes minutes:
#   24 steps in 10 minutes on the loaded 2-core VM), so use a few dozen steps. Under
#   valgrind the CPU has no AVX-512, so MKL and ATen take their AVX2 paths.
# Both run with OMP_WAIT_POLICY=passive: an OpenMP worker then sleeps
# instead of spinning while it waits, so the samples count work, not
# waiting (on a loaded machine the spinning alone was over 80% of samples).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=2000
TOOL=perf
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS=$2; shift 2 ;;
    --tool) TOOL=$2; shift 2 ;;
    *) echo "usage: $0 [--steps N] [--tool perf|callgrind]" >&2; exit 2 ;;
  esac
done
BIN=target/release/gan-tutorial
[ -x "$BIN" ] || { echo "no $BIN: run make setup (or cargo build --release) first" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
RUN=("$BIN" train vanilla --steps "$STEPS" --out "$TMP/run" --force)
echo "profile of \`gan-tutorial train vanilla --steps $STEPS\` ($TOOL), $(nproc) cores, $(OMP_WAIT_POLICY=passive "$BIN" info | sed -n 's/.*"threads": *\([0-9]*\).*/\1/p') threads, load $(cut -d' ' -f1-3 /proc/loadavg)"
case "$TOOL" in
  perf)
    command -v perf >/dev/null || { echo "needs perf: apt-get install linux-perf" >&2; exit 1; }
    OMP_WAIT_POLICY=passive perf record -q -e cpu-clock -F 1999 -o "$TMP/perf.data" -- "${RUN[@]}" >/dev/null 2>"$TMP/err" \
      || { cat "$TMP/err" >&2; exit 1; }
    # "  27.25%  libtorch_cpu.so  [.] mkl_blas_def_sgemm_kernel_0_zen"
    perf report -i "$TMP/perf.data" --stdio --no-children --sort dso,sym -q --percent-limit 0 2>/dev/null \
      | awk '{ pct = $1; sub("%", "", pct); dso = $2; kind = $3; $1 = $2 = $3 = ""; print pct "\t" dso "\t" kind "\t" substr($0, 4) }' > "$TMP/rows"
    ;;
  callgrind)
    command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
    OMP_WAIT_POLICY=passive valgrind -q --tool=callgrind --callgrind-out-file="$TMP/cg.out" \
      --collect-atstart=no --toggle-collect='*gan_tutorial*step*update_d*' --toggle-collect='*gan_tutorial*step*update_g*' \
      "${RUN[@]}" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; exit 1; }
    # "  1,234,567 (12.34%)  ???:mkl_blas_def_sgemm_kernel_0 [/path/libtorch_cpu.so]"
    callgrind_annotate --threshold=100 "$TMP/cg.out" 2>/dev/null \
      | awk 'match($0, /^ *[0-9,]+ \( *[0-9.]+%\) +/) {
               head = substr($0, 1, RLENGTH); rest = substr($0, RLENGTH + 1);
               pct = head; sub(/^[^(]*\( */, "", pct); sub(/%.*/, "", pct);
               obj = "?"; if (match(rest, / \[[^]]*\]$/)) { obj = substr(rest, RSTART + 2, RLENGTH - 3); rest = substr(rest, 1, RSTART - 1) }
               n = split(obj, p, "/"); sub(/^[^:]*:/, "", rest);
               print pct "\t" p[n] "\t[.]\t" rest }' > "$TMP/rows"
    grep -m1 -E '^ *[0-9,]+ .*PROGRAM TOTALS' <(callgrind_annotate "$TMP/cg.out" 2>/dev/null) | awk '{ print "instructions in update_d + update_g: " $1 }'
    ;;
  *) echo "--tool perf or callgrind" >&2; exit 2 ;;
esac

python3 - "$TMP/rows" <<'EOF'
import re, sys
# First match wins. (name, dso regex, symbol regex)
CATS = [
    ("GEMM (MKL sgemm, oneDNN)", r"libtorch_cpu|^\[unknown\]|^\?$", r"gemm|mkl_blas|brgemm"),
    ("convolutions (oneDNN, its JIT-generated code included)", r"libtorch_cpu|\[JIT\]|^\[unknown\]|^\?$", r"dnnl|jit_|^\d+ \[\.\] 0x|^0x"),
    ("start-up: loader, op registration, static init", r"ld-linux", r""),
    ("start-up: loader, op registration, static init", r"libtorch|libc10", r"updateDispatchTable|registerDef|registerImpl|RegisterOperators|torch::Library|SharedParserData|FunctionSchema|parseSchema|SchemaParser|_GLOBAL__sub_I|__static_initialization|Lexer|registerKernel|OperatorEntry::registerKernel|c10::Dispatcher::(register|find|deregister)"),
    ("start-up: CUDA libraries' initialisers", r"cu|nv|nccl", r""),
    ("elementwise, pooling, reductions, copies (ATen and MKL VML kernels)", r"libtorch_cpu", r"mkl_vml|pool|softmax|nll_loss|im2col|col2im|cpu_kernel|VectorizedLoop|loop_2d|_kernel|reduce|outer_sum|at::vec::|Vectorized<|copy_|_impl<|apply_op|unary|binary|threshold|leaky|tanh|sigmoid|log_sigmoid|binary_cross|bernoulli|uniform|normal"),
    ("autograd (graph, engine, saved tensors)", r"libtorch|libc10", r"torch::autograd|VariableType|SavedVariable|AccumulateGrad|graph_task|InputBuffer|ADInplaceOrView|autograd|Engine::|torch::Node|collect_next_edges|gradient_edge"),
    ("dispatch, TensorIterator set-up, tensor bookkeeping", r"libtorch|libc10", r""),
    ("allocator (malloc/free, page faults)", r"libc\.so|kernel", r"malloc|free|_int_|unlink_chunk|consolidate|memalign|tcache|sysmalloc|brk|page_fault|clear_page|handle_mm_fault|do_anonymous|folio|lru|zap_|unmap|mmap|mm_|pte|__alloc_pages|get_page|rmqueue|charge"),
    ("memcpy/memset (libc)", r"libc\.so", r"mem(cpy|move|set)"),
    ("kernel: scheduling, futex wake-ups, syscalls", r"kernel", r""),
    ("OpenMP (libgomp)", r"libgomp", r""),
    ("Adam (the crate's fused update)", r"gan-tutorial", r"gan_tutorial::optim"),
    ("the crate's own Rust (dropout masks, batching, records)", r"gan-tutorial", r"^gan_tutorial::|<gan_tutorial::"),
    ("tch's C++ wrapper (libtch)", r"gan-tutorial", r"^at(g)?_|torch::|^at::|c10::"),
    ("Rust dependencies (tch glue, std, zlib/png, serde)", r"gan-tutorial", r""),
    ("other (libc, libstdc++)", r"", r""),
]
tot, by, top = 0.0, {}, {}
for line in open(sys.argv[1]):
    parts = line.rstrip("\n").split("\t")
    if len(parts) < 4:
        continue
    try:
        pct = float(parts[0])
    except ValueError:
        continue
    dso, sym = parts[1], parts[3].strip()
    for name, dre, sre in CATS:
        if re.search(dre, dso) and re.search(sre, sym):
            break
    by[name] = by.get(name, 0.0) + pct
    top.setdefault(name, []).append((pct, sym[:90]))
    tot += pct
SHOW = int(__import__("os").environ.get("PROFILE_TOP", "2"))
print(f"\n{'share':>7}  where (top symbols, % of all)")
for name, pct in sorted(by.items(), key=lambda kv: -kv[1]):
    syms = ", ".join(f"{s} {100 * p / tot:.1f}" for p, s in sorted(top[name], reverse=True)[:SHOW])
    print(f"{100 * pct / tot:6.1f}%  {name}\n{'':9}{syms}")
EOF
